#!/usr/bin/env bash
# `posbridge monitor` on a real lane: possim terminal <- posbridge run (ptys, --capture)
# <- possim register. The full-screen view runs in tmux (capture-pane shows what a
# person sees, send-keys q quits it); a plain monitor and a --once run check the lines.
# The capture is rotated at 1 KiB, so following across rotations is exercised too.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"
: "${POSSIM:?set by make check}"
command -v tmux >/dev/null || { echo "test_monitor: FAIL: tmux missing (make installs it)"; exit 1; }

tmp=$(mktemp -d)
sock="pb-mon-$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    tmux -L "$sock" kill-server 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "test_monitor: FAIL: $*" >&2
    [ -f "$tmp/screen" ] && { echo "--- screen:"; cat "$tmp/screen"; } >&2
    for f in "$tmp"/*.log "$tmp"/plain.out; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; } >&2; done
    exit 1
}
screen() { tmux -L "$sock" capture-pane -p -t mon > "$tmp/screen"; }
# wait_screen TEXT [TENTHS]: until the monitor's screen shows TEXT.
wait_screen() {
    local n=${2:-100}
    for _ in $(seq "$n"); do
        screen
        grep -qF -- "$1" "$tmp/screen" && return 0
        sleep 0.1
    done
    die "screen never showed '$1'"
}
wait_file() {
    for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
    die "$1 never appeared"
}

cap="$tmp/lane.pcapng"

# Monitors first: the capture does not exist yet, they must wait for it.
tmux -L "$sock" new-session -d -s mon -x 180 -y 50 "TERM=xterm $POSBRIDGE monitor $cap"
wait_screen "waiting for $cap"
"$POSBRIDGE" monitor "$cap" --plain --interval 50 > "$tmp/plain.out" 2>&1 &
pids+=($!)
plain_pid=$!
for _ in $(seq 100); do grep -qF "waiting for $cap" "$tmp/plain.out" && break; sleep 0.1; done

# The lane. Transaction 2 is overcharged by 1.00; the terminal thinks 1.5 s so the
# transaction in flight can be seen.
"$POSSIM" terminal --port "pty:$tmp/pt" --protocol concert --fault 'charge +1.00 at 2' \
    --think 1500ms -q > "$tmp/terminal.log" 2>&1 &
pids+=($!)
wait_file "$tmp/pt"
"$POSBRIDGE" run --register "pty:$tmp/ecr" --terminal "$tmp/pt" --protocol concert \
    --capture "$cap" --capture-max-size 1K --no-journal > "$tmp/run.log" 2>&1 &
pids+=($!)
run_pid=$!
wait_file "$tmp/ecr"
"$POSSIM" register --port "$tmp/ecr" --protocol concert --sale 12.50 --sale 3.00 \
    --timeout 10 > "$tmp/register.log" 2>&1 &
pids+=($!)
reg_pid=$!

wait_screen "in flight: txn 1 purchase 12.50 EUR"
wait_screen "== txn 1 purchase requested 12.50 EUR charged 12.50 EUR -> ok"
wait_screen "in flight: txn 2 purchase 3.00 EUR"
wait_screen "-> overcharge  DISCREPANCY"
wait "$reg_pid" || die "register failed"
wait_screen "transactions 2  discrepancies 1"
grep -qF "by class: overcharge 1" "$tmp/screen" || die "no class counter"
grep -qF "in flight: none" "$tmp/screen" || die "a transaction still in flight"
grep -qE "bytes ecr [1-9][0-9]* pt [1-9]" "$tmp/screen" || die "no byte counters"
grep -qF "pt  result" "$tmp/screen" || die "no decoded result frame"
grep -qF "capture rotated" "$tmp/screen" || die "the 1 KiB capture never rotated"
ls "$cap".1 > /dev/null || die "no rotated capture"

# q quits the full-screen view.
tmux -L "$sock" send-keys -t mon q
for _ in $(seq 50); do
    tmux -L "$sock" has-session -t mon 2>/dev/null || break
    sleep 0.1
done
if tmux -L "$sock" has-session -t mon 2>/dev/null; then die "q did not quit"; fi

# Plain lines: the same two transactions, frames with direction, time, kind, amount.
sleep 0.3
kill "$plain_pid"
wait "$plain_pid" || true
p="$tmp/plain.out"
grep -qF "waiting for $cap" "$p" || die "plain: no waiting line"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} ecr request +purchase +12\.50 EUR' "$p" || die "plain: no request"
grep -qE '^[0-9:.]+ pt  result .*4\.00 EUR approved' "$p" || die "plain: no result"
grep -qF "== txn 1 purchase requested 12.50 EUR charged 12.50 EUR -> ok" "$p" || die "plain: txn 1"
grep -qF "== txn 2 purchase requested 3.00 EUR charged 4.00 EUR -> overcharge  DISCREPANCY" "$p" || die "plain: txn 2"
grep -qF "action: refund" "$p" || die "plain: no action"
grep -qF -- "-- transactions 2  discrepancies 1" "$p" || die "plain: no summary"
[ "$(grep -c '== txn' "$p")" = 2 ] || die "plain: transactions counted twice across rotations"

kill "$run_pid"
wait "$run_pid" || true

# --once over the rotated file and the current one: what each holds, then exit.
"$POSBRIDGE" monitor --once "$cap.1" > "$tmp/once.out" || die "--once failed"
grep -q "^-- transactions" "$tmp/once.out" || die "--once: no summary"
set +e
"$POSBRIDGE" monitor --once "$tmp/none.pcapng" > /dev/null 2>&1; rc=$?
"$POSBRIDGE" monitor > /dev/null 2>&1; rc2=$?
set -e
[ "$rc" = 66 ] || die "--once on a missing file: exit $rc, wanted 66"
[ "$rc2" = 64 ] || die "no capture given: exit $rc2, wanted 64"
"$POSBRIDGE" monitor --help | grep -q "example" || die "--help has no example"
echo "test_monitor: ok"
