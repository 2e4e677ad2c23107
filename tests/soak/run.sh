#!/usr/bin/env bash
# `make soak`: the long reliability runs behind docs/RELIABILITY.md. Each prints one
# summary line; the figures in RELIABILITY.md are copied from these lines.
#   SOAK_KILLS (200) SIGKILLs, SOAK_PORTLOSS (600) port losses, SOAK_USBLOSS (500)
#   unplugs of a umockdev-emulated USB terminal, SOAK_FULL_TXNS (100) purchases on a
#   full disk, then the card-data scan, privilege checks, malformed
#   input table, and valgrind over every unit test binary (SOAK_VALGRIND=0 skips it).
#   SOAK_SEED=N repeats the random choices of a run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POSBRIDGE:=$root/build/posbridge}"
: "${POSSIM:=$root/build/possim}"
export POSBRIDGE POSSIM
tmp=$(mktemp -d)
cleanup() {
    for m in "$tmp"/*/disk; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== soak: crash durability"
python3 "$here/crash.py" "$tmp/crash" "${SOAK_KILLS:-200}"
echo "== soak: port loss"
python3 "$here/portloss.py" "$tmp/portloss" "${SOAK_PORTLOSS:-600}"
echo "== soak: USB port loss (umockdev)"
rc=0
"$here/usbloss.sh" "$tmp/usbloss" "${SOAK_USBLOSS:-500}" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit 1
echo "== soak: disk full (tmpfs, then RLIMIT_FSIZE)"
rc=0
python3 "$here/diskfull.py" tmpfs "$tmp/tmpfs" "${SOAK_FULL_TXNS:-100}" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit 1
python3 "$here/diskfull.py" fsize "$tmp/fsize" "${SOAK_FULL_TXNS:-100}"
for t in "$root"/tests/e2e/test_rel_*.sh; do
    case $t in *test_rel_lane.sh | *test_rel_usbloss.sh) continue ;; esac
    echo "== soak: $(basename "$t")"
    bash "$t"
done
if [ "${SOAK_VALGRIND:-1}" != 0 ]; then
    echo "== soak: valgrind memcheck"
    "$here/valgrind.sh"
fi
echo "soak: all passed"
