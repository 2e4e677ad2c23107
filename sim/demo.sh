#!/usr/bin/env bash
# make demo: a complete virtual checkout lane, in well under a minute.
#
#   possim register  --pty-->  posbridge run  --pty-->  possim terminal (with faults)
#
# `possim run` builds the lane from captures/scenarios/demo-concert.scn (one
# transaction per discrepancy class), prints each transaction as posbridge closes it,
# and checks every class against the scenario. Then posbridge's own report reads the
# journal. Everything stays in demo-run/ (journal, capture, events, logs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
: "${POSSIM:=$root/build/possim}"
: "${POSBRIDGE:=$root/build/posbridge}"
scenario="${DEMO_SCENARIO:-$root/captures/scenarios/demo-concert.scn}"
run="$root/demo-run"
rm -rf "$run"

echo "== a virtual lane: possim register -> posbridge run -> possim terminal"
echo "   scenario: ${scenario#"$root"/}"
echo
echo "-- transactions, as posbridge closes them (** = discrepancy):"
rc=0
"$POSSIM" run --posbridge "$POSBRIDGE" --follow --keep --run-dir "$run" "$scenario" \
    | tee "$run.table" || rc=$?
lane=$(ls -d "$run"/*/ | head -1)
lane=${lane%/}
mv "$run.table" "$lane/table.txt"

echo
echo "-- posbridge report (the discrepancies, with evidence and the action to take):"
"$POSBRIDGE" report --journal "$lane/journal.db"

echo
echo "demo: the lane's files are in ${lane#"$root"/}/:"
echo "      journal.db (posbridge report --journal ...), lane.pcapng (Wireshark, or"
echo "      posbridge decode), events.jsonl, posbridge.log, terminal.log, register.log"
if [ "$rc" -ne 0 ]; then
    echo "demo: some transactions were not classified as the scenario expects (see above)"
fi
exit "$rc"
