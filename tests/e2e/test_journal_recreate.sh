#!/usr/bin/env bash
# The journal deleted under a live bridge (the file, -wal and -shm, between two sales):
# the bridge notices at its next write, recreates the journal at its path from the copy
# it still has open, and says so (ALERT in the log, a journal_recreated event, the alert
# program with POSBRIDGE_CLASS=journal_recreated). Both sales are in the new file, and
# its hash chain is whole.
# Before, the second sale and everything after it went into the deleted file.
set -euo pipefail
: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
bridge_pid=
cleanup() {
    if [ -n "$bridge_pid" ]; then kill -9 "$bridge_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "test_journal_recreate: FAIL: $*" >&2
    [ -f "$tmp/bridge.err" ] && { echo "--- bridge:"; tail -20 "$tmp/bridge.err"; } >&2
    exit 1
}

cat >"$tmp/alert" <<EOF
#!/bin/sh
echo "\$POSBRIDGE_CLASS|\$POSBRIDGE_SEVERITY|\$POSBRIDGE_TEXT" >>"$tmp/alerts.txt"
cat >>"$tmp/alerts.json"
EOF
chmod +x "$tmp/alert"
j="$tmp/state/journal.db"
"$POSBRIDGE" run --protocol concert --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt" \
    --journal "$j" --on-discrepancy "$tmp/alert" --alert-burst 0 2>"$tmp/bridge.err" &
bridge_pid=$!
for _ in $(seq 200); do [ -e "$tmp/ecr" ] && [ -e "$tmp/pt" ] && break; sleep 0.02; done
[ -e "$tmp/pt" ] || die "the bridge made no ptys"

count() { python3 -c "
import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
print(db.execute(sys.argv[2]).fetchone()[0])" "$j" "$1"; }

python3 "$here/concert_sales.py" "$tmp/ecr" "$tmp/pt"
for _ in $(seq 100); do [ "$(count 'SELECT count(*) FROM transactions' 2>/dev/null)" = 1 ] && break; sleep 0.05; done
[ "$(count 'SELECT count(*) FROM transactions')" = 1 ] || die "the first sale is not in the journal"

rm -f "$j" "$j-wal" "$j-shm"
python3 "$here/concert_sales.py" "$tmp/ecr" "$tmp/pt"
for _ in $(seq 100); do grep -q '^journal_recreated' "$tmp/alerts.txt" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$bridge_pid"
rc=0
wait "$bridge_pid" || rc=$?
bridge_pid=
[ "$rc" = 0 ] || die "bridge exit $rc"

[ -f "$j" ] || die "no journal at $j after the bridge stopped"
[ "$(stat -c %a "$j")" = 600 ] || die "recreated journal mode $(stat -c %a "$j")"
[ "$(count "SELECT count(*) FROM transactions WHERE class = 'overcharge' AND state = 'closed'")" = 2 ] ||
    die "not both sales in the recreated journal"
[ "$(count "SELECT count(*) FROM events WHERE kind = 'journal_recreated' AND text LIKE 'journal file removed while the bridge ran; recreated from the copy still open%'")" = 1 ] ||
    die "no journal_recreated event"
[ "$(count 'SELECT count(*) FROM runs WHERE ended_utc IS NOT NULL')" = 1 ] || die "the run's end is not recorded"
grep -q "ALERT journal $j was removed while the bridge ran" "$tmp/bridge.err" || die "no ALERT in the log"
grep -q "^journal_recreated|critical|journal file removed while the bridge ran" "$tmp/alerts.txt" ||
    die "the alert program was not told: $(cat "$tmp/alerts.txt")"
[ "$(grep -c '^overcharge|' "$tmp/alerts.txt")" = 2 ] || die "the two overcharges were not both alerted"
grep -q '"class":"journal_recreated"' "$tmp/alerts.json" || die "no journal_recreated JSON on stdin"
"$POSBRIDGE" report --journal "$j" --lane-events | grep -q "journal_recreated" ||
    die "report --lane-events does not list it"
ls "$tmp/state" | grep -qv '^journal.db' && die "leftovers beside the journal: $(ls "$tmp/state")"
# The copy carries the hash chain on: the recreated journal verifies whole.
"$POSBRIDGE" verify --journal "$j" >/dev/null || die "posbridge verify: the recreated journal is not intact"
echo "test_journal_recreate: ok"
