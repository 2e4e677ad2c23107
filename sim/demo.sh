#!/usr/bin/env bash
# make demo: a virtual checkout lane, start to finish, in well under a minute.
#
# possim's terminal and register talk over a pty, playing captures/scenarios/demo-concert.scn
# (one transaction per discrepancy class); the register prints each transaction as it
# happens, the terminal records the line as a pcapng capture, and then posbridge's own
# decoder and tracker say what they make of it. Until `posbridge run` can sit in the
# middle of the lane (issue 3), posbridge's classes come from its tracker watching the
# same scenario on possim's virtual lane (`possim play`). Processes are stopped by PID.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
: "${POSSIM:=$root/build/possim}"
: "${POSBRIDGE:=$root/build/posbridge}"
scenario="$root/captures/scenarios/demo-concert.scn"
run="$root/demo-run"
rm -rf "$run"
mkdir -p "$run"
tpid=
cleanup() {
    if [ -n "$tpid" ]; then
        kill "$tpid" 2>/dev/null || true
        wait "$tpid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "== a Concert lane: possim register -> pty -> possim terminal ($scenario)"
"$POSSIM" terminal --port "pty:$run/terminal" --scenario "$scenario" \
    --capture "$run/lane.pcapng" 2>"$run/terminal.log" &
tpid=$!
for _ in $(seq 100); do [ -e "$run/terminal" ] && break; sleep 0.05; done
[ -e "$run/terminal" ] || { echo "demo: the terminal did not start (see $run/terminal.log)"; exit 1; }

echo
echo "-- the register, transaction by transaction (what it believes happened):"
"$POSSIM" register --port "$run/terminal" --scenario "$scenario" -q | tee "$run/register.txt"
kill "$tpid"
wait "$tpid" 2>/dev/null || true
tpid=
tail -1 "$run/terminal.log"

echo
echo "-- posbridge decodes the recorded line ($run/lane.pcapng):"
"$POSBRIDGE" decode "$run/lane.pcapng" >"$run/decode.txt" 2>"$run/decode.err" || true
grep -E ' (request|result) ' "$run/decode.txt" | head -8
echo "   ... $(wc -l <"$run/decode.txt") lines in $run/decode.txt; $(tail -1 "$run/decode.err")"

echo
echo "-- posbridge's tracker: the class of every transaction against the scenario:"
rc=0
"$POSSIM" play "$scenario" | tee "$run/classes.txt" || rc=$?

echo
echo "demo: files in $run: lane.pcapng (open it in Wireshark), decode.txt, register.txt,"
echo "      classes.txt, terminal.log"
exit "$rc"
