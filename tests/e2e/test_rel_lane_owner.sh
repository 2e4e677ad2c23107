#!/usr/bin/env bash
# Issue 18, "Lane ownership": a second bridge given the register pty path, the capture
# path, the terminal pty path or the terminal device of a running bridge is refused at
# start with the first one's pid and exit 75 (EX_TEMPFAIL), and takes nothing over: the
# running lane keeps its symlink, its capture (not rotated away) and its bytes flowing.
# A bridge that exits removes only what it owns; the lock of a dead bridge is taken over.
set -euo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
checks=0
die() { echo "test_rel_lane_owner: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "test_rel_lane_owner: $*"; }

start() { # NAME READY-PATH posbridge-run-options...: starts a bridge, sets $pid
    local name=$1 ready=$2
    shift 2
    "$POSBRIDGE" run --protocol zvt "$@" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 200); do [ -e "$ready" ] && return 0; sleep 0.02; done
    cat "$tmp/$name.err" >&2
    die "$name did not start"
}
stop() { # PID: SIGTERM by saved PID, exit 0 expected
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || die "bridge $1 exited $rc on SIGTERM"
}
refused() { # NAME MESSAGE posbridge-run-options...: must exit 75 by itself, quickly
    local name=$1 want=$2
    shift 2
    local rc=0
    timeout -k 1 5 "$POSBRIDGE" run --protocol zvt "$@" >/dev/null 2>"$tmp/$name.err" || rc=$?
    [ "$rc" -eq 75 ] || { cat "$tmp/$name.err" >&2; die "$name: exit $rc, wanted 75 (refused)"; }
    grep -qF -- "$want" "$tmp/$name.err" ||
        { cat "$tmp/$name.err" >&2; die "$name: message lacks '$want'"; }
}
# relay A B: bytes written at pty A arrive at pty B, byte for byte.
relay() {
    python3 - "$1" "$2" <<'EOF'
import os, select, sys, time, tty
a = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
b = os.open(sys.argv[2], os.O_RDWR | os.O_NOCTTY)
tty.setraw(a)
tty.setraw(b)
data = bytes(range(256)) * 4
os.write(a, data)
got, end = b"", time.time() + 5
while len(got) < len(data) and time.time() < end:
    if select.select([b], [], [], 0.2)[0]:
        got += os.read(b, 4096)
sys.exit(0 if got == data else 1)
EOF
}

# ---- the running lane --------------------------------------------------------------------
start lane1 "$tmp/c.pcapng" --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt" \
    --capture "$tmp/c.pcapng" --journal "$tmp/j1.db"
pid1=$pid
for _ in $(seq 100); do [ -e "$tmp/ecr" ] && [ -e "$tmp/pt" ] && break; sleep 0.02; done
link_ecr=$(readlink "$tmp/ecr")
link_pt=$(readlink "$tmp/pt")
cap_ino=$(stat -c %i "$tmp/c.pcapng")
ok "lane 1 (pid $pid1): ecr -> $link_ecr, pt -> $link_pt"

# The same register pty path, everything else different.
refused same-register "posbridge run: pty:$tmp/ecr is in use by pid $pid1 (another bridge on this lane?)" \
    --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt2" --capture "$tmp/c2.pcapng" \
    --journal "$tmp/j2.db"
[ ! -e "$tmp/pt2" ] && [ ! -e "$tmp/pt2.lock" ] && [ ! -e "$tmp/c2.pcapng.lock" ] ||
    die "same-register: the refused bridge left files behind"
ok "same register path: refused, exit 75, pid $pid1 named"

# The same capture, other ptys.
refused same-capture "posbridge run: capture $tmp/c.pcapng is in use by pid $pid1 (another bridge on this lane?)" \
    --register "pty:$tmp/ecr3" --terminal "pty:$tmp/pt3" --capture "$tmp/c.pcapng" \
    --journal "$tmp/j3.db"
[ ! -e "$tmp/ecr3" ] || die "same-capture: the refused bridge touched its ports"
ok "same capture path: refused, exit 75, pid $pid1 named"

# The same terminal pty path.
refused same-terminal "posbridge run: pty:$tmp/pt is in use by pid $pid1 (another bridge on this lane?)" \
    --register "pty:$tmp/ecr4" --terminal "pty:$tmp/pt" --no-journal
[ ! -e "$tmp/ecr4" ] && [ ! -e "$tmp/ecr4.lock" ] ||
    die "same-terminal: the refused bridge did not remove its own register link"
ok "same terminal pty path: refused, exit 75, pid $pid1 named; its own link removed"

# Nothing of lane 1 was taken over: symlinks, capture, locks, and it still relays.
[ "$(readlink "$tmp/ecr")" = "$link_ecr" ] || die "ecr now points to $(readlink "$tmp/ecr")"
[ "$(readlink "$tmp/pt")" = "$link_pt" ] || die "pt now points to $(readlink "$tmp/pt")"
[ "$(stat -c %i "$tmp/c.pcapng")" = "$cap_ino" ] || die "lane 1's capture was replaced"
[ ! -e "$tmp/c.pcapng.1" ] || die "lane 1's capture was rotated away"
for f in ecr.lock pt.lock c.pcapng.lock; do
    [ "$(cat "$tmp/$f")" = "$pid1" ] || die "$f does not hold lane 1's pid $pid1"
    [ "$(stat -c %a "$tmp/$f")" = 600 ] || die "$f has mode $(stat -c %a "$tmp/$f")"
done
relay "$tmp/ecr" "$tmp/pt" || die "lane 1 no longer relays register -> terminal"
relay "$tmp/pt" "$tmp/ecr" || die "lane 1 no longer relays terminal -> register"
ok "lane 1 untouched: same links, same capture (not rotated), its locks (0600, its pid), relays both ways"

# ---- one terminal device, two bridges (flock on the device: TIOCEXCL does not bind root)
python3 - "$tmp/dev" <<'EOF' &
import os, pty, signal, sys, time
m, s = pty.openpty()
os.symlink(os.ttyname(s), sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(1)
EOF
devpid=$!
pids+=("$devpid")
for _ in $(seq 100); do [ -e "$tmp/dev" ] && break; sleep 0.02; done
start lane5 "$tmp/ecr5" --register "pty:$tmp/ecr5" --terminal "$tmp/dev" --no-journal
pid5=$pid
refused same-device "posbridge run: $tmp/dev is in use by pid $pid5 (another bridge on this lane?)" \
    --register "pty:$tmp/ecr6" --terminal "$tmp/dev" --no-journal
[ ! -e "$tmp/ecr6" ] || die "same-device: the refused bridge left its register link"
stop "$pid5"
ok "same terminal device ($([ "$(id -u)" = 0 ] && echo root) flock): refused, exit 75, pid $pid5 named"
# Once the first has gone, the device is free.
start lane6 "$tmp/ecr6" --register "pty:$tmp/ecr6" --terminal "$tmp/dev" --no-journal
stop "$pid"
kill -TERM "$devpid"
ok "device free again once its bridge stopped"

# ---- exit: lane 1 removes what it owns, nothing else -------------------------------------
stop "$pid1"
for f in ecr ecr.lock pt pt.lock c.pcapng.lock; do
    [ ! -e "$tmp/$f" ] && [ ! -L "$tmp/$f" ] || die "lane 1 left $f behind"
done
[ -s "$tmp/c.pcapng" ] || die "lane 1's capture is gone"
ok "lane 1 stopped: its links and locks removed, its capture kept"

# A dead bridge's lock file (pid of a process that has exited) is taken over.
dead=$(sh -c 'echo $$')
printf '%s\n' "$dead" >"$tmp/ecr.lock"
chmod 600 "$tmp/ecr.lock"
start lane7 "$tmp/ecr" --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt" --no-journal
[ "$(cat "$tmp/ecr.lock")" = "$pid" ] || die "the stale lock was not taken over"
stop "$pid"
ok "stale lock of dead pid $dead taken over"
echo "test_rel_lane_owner: $checks checks passed"
