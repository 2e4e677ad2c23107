#!/usr/bin/env bash
# Promise 7 (docs/RELIABILITY.md): file modes under umask 000, no sockets, the alert
# program run without a shell and killed at --alert-timeout, and the systemd unit.
set -euo pipefail
: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/../soak/privilege.py" "$tmp/lanes"

# The unit, with ExecStart pointing at the binary under test (verify checks that the
# command exists) and no man page lookup.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$tmp/unit"
    sed "s|/usr/local/bin/posbridge|$POSBRIDGE|" "$root/contrib/posbridge@.service" \
        >"$tmp/unit/posbridge@.service"
    ln -s "posbridge@.service" "$tmp/unit/posbridge@lane1.service"
    if ! out=$(systemd-analyze verify --man=no "$tmp/unit/posbridge@lane1.service" 2>&1); then
        echo "$out" >&2
        echo "test_rel_privilege: systemd-analyze verify failed" >&2
        exit 1
    fi
    [ -z "$out" ] || echo "$out"
    grep -q '^DynamicUser=yes' "$root/contrib/posbridge@.service"
    grep -q '^PrivateNetwork=yes' "$root/contrib/posbridge@.service"
    grep -q '^CapabilityBoundingSet=$' "$root/contrib/posbridge@.service"
    echo "test_rel_privilege: systemd-analyze verify posbridge@lane1.service: ok"
else
    echo "test_rel_privilege: systemd-analyze not installed; unit not verified"
fi
