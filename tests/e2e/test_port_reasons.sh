#!/usr/bin/env bash
# A terminal port that cannot be opened yet: the bridge keeps retrying and says why in
# words a technician acts on (issue 19): "not there yet" for a missing device, "permission
# denied (... dialout)" for one the bridge's user may not open (run as nobody, so only when
# this runs as root with runuser), said once per reason, not once per retry.
set -u
: "${POSBRIDGE:?}"
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "test_port_reasons: FAIL: $*" >&2; exit 1; }
checks=0

# bridge DIR TERMINAL [RUNUSER-PREFIX...]: a bridge for 2.5 s; its log in DIR/bridge.err
bridge() {
    local d=$1 term=$2
    shift 2
    mkdir -p "$d"
    chmod 777 "$d"
    "$@" env HOME="$d" XDG_STATE_HOME="$d" "$POSBRIDGE" run --protocol pax --no-journal \
        --register "pty:$d/ecr" --terminal "$term" 2>"$d/bridge.err" &
    local bpid=$!
    pids+=("$bpid")
    sleep 2.5
    kill "$bpid"
    wait "$bpid" 2>/dev/null
}

bridge "$tmp/missing" "$tmp/missing/no-such-port"
grep -q "terminal port $tmp/missing/no-such-port: not there yet; retrying" "$tmp/missing/bridge.err" ||
    die "missing port: $(cat "$tmp/missing/bridge.err")"
n=$(grep -c "not there yet" "$tmp/missing/bridge.err")
[ "$n" = 1 ] || die "missing port: said $n times in 2.5 s of retries, want once"
checks=$((checks + 2))

if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1 &&
    runuser -u nobody -- test -x "$POSBRIDGE"; then
    # A pty slave of root's, mode 0600: nobody may not open it.
    python3 -c 'import os, pty, sys, time
m, s = pty.openpty(); os.fchmod(s, 0o600); print(os.ttyname(s), flush=True); time.sleep(30)' \
        >"$tmp/pts" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/pts" ] && break; sleep 0.05; done
    pts=$(cat "$tmp/pts")
    [ -c "$pts" ] || die "no pty for the permission check"
    bridge "$tmp/denied" "$pts" runuser -u nobody --
    grep -q "terminal port $pts: permission denied (.*dialout); retrying" "$tmp/denied/bridge.err" ||
        die "permission denied not named: $(cat "$tmp/denied/bridge.err")"
    ! grep -q "not there yet" "$tmp/denied/bridge.err" || die "a refused port called absent"
    checks=$((checks + 2))
    echo "test_port_reasons: $checks checks passed (missing port, permission denied as nobody)"
else
    echo "test_port_reasons: $checks checks passed (missing port; permission denied needs root, runuser and a build nobody may run)"
fi
