#!/usr/bin/env bash
# Short versions of the lane reliability soaks (docs/RELIABILITY.md promises 1 to 3):
# 5 SIGKILLs with restarts on the same journal, 20 port losses (terminal and register
# alternately), and a full file system under the journal and capture (a tmpfs when
# mount(8) is permitted, else RLIMIT_FSIZE). The long runs are `make soak`.
set -euo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)
soak=$here/../soak
tmp=$(mktemp -d)
cleanup() {
    mountpoint -q "$tmp/disk/disk" 2>/dev/null && umount -l "$tmp/disk/disk"
    rm -rf "$tmp"
}
trap cleanup EXIT
export SOAK_SEED=${SOAK_SEED:-7}

python3 "$soak/crash.py" "$tmp/crash" 5
python3 "$soak/portloss.py" "$tmp/portloss" 20
rc=0
python3 "$soak/diskfull.py" tmpfs "$tmp/disk" 5 || rc=$?
if [ "$rc" -eq 77 ]; then
    rc=0
    python3 "$soak/diskfull.py" fsize "$tmp/disk" 5 || rc=$?
fi
[ "$rc" -eq 0 ] || { echo "test_rel_lane: diskfull failed" >&2; exit 1; }
python3 "$soak/diskfull.py" fsize "$tmp/fsize" 5
echo "test_rel_lane: ok"
