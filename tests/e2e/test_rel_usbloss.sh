#!/usr/bin/env bash
# Short version of the USB port-loss soak (docs/RELIABILITY.md promise 2): the real
# posbridge on a USB CDC-ACM terminal emulated by umockdev, unplugged in the middle of a
# purchase and plugged back 15 times (tests/soak/usbloss.sh; `make soak` does 500).
# SKIPs (exit 0) when umockdev is not installed.
set -euo pipefail
: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOAK_SEED=${SOAK_SEED:-7}
rc=0
"$here/../soak/usbloss.sh" "$tmp" "${USBLOSS_CYCLES:-15}" || rc=$?
if [ "$rc" -eq 77 ]; then
    echo "test_rel_usbloss: SKIP: umockdev not installed"
    exit 0
fi
[ "$rc" -eq 0 ] || { echo "test_rel_usbloss: FAIL (rc $rc)" >&2; exit 1; }
echo "test_rel_usbloss: ok"
