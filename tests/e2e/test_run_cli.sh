#!/usr/bin/env bash
# posbridge run as an operator meets it: bad options and config files get a clear
# message and the sysexits code; the config file is read and options override it; a
# discrepancy reaches the events file and the alert program (no shell, time limit);
# SIGHUP reopens a capture and an events file moved away by logrotate; SIGTERM exits 0.
set -euo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
bridge_pid=
cleanup() {
    if [ -n "$bridge_pid" ]; then kill "$bridge_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
checks=0
die() { echo "test_run_cli: FAIL: $*" >&2; exit 1; }
expect_rc() {
    local want=$1; shift
    local rc=0
    "$POSBRIDGE" run "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$tmp/err" >&2; die "run $*: exit $rc, wanted $want"; }
    checks=$((checks + 1))
}
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; die "'$2' not in $1"; }; checks=$((checks + 1)); }

# ---- the command line -------------------------------------------------------------------
expect_rc 0 --help
has "$tmp/out" "example"
has "$tmp/out" "--on-discrepancy"
expect_rc 64 --protocol zvt --terminal /dev/null
has "$tmp/err" "--register and --terminal are required"
expect_rc 64 --register pty:$tmp/a --terminal pty:$tmp/b
has "$tmp/err" "--protocol is required"
expect_rc 64 --protocol visa --register pty:$tmp/a --terminal pty:$tmp/b
has "$tmp/err" "unknown protocol 'visa'"
has "$tmp/err" "concert"
expect_rc 64 --protocol zvt --register pty:$tmp/a --terminal pty:$tmp/b --terminal-line 9600,9X1
has "$tmp/err" "terminal line '9600,9X1'"
expect_rc 64 --protocol zvt --register pty:$tmp/a --terminal pty:$tmp/b --duplicate-window soon
has "$tmp/err" "--duplicate-window: invalid value 'soon'"
expect_rc 64 --protocol zvt --register pty:$tmp/a --terminal pty:$tmp/b --on-discrepancy $tmp/none
has "$tmp/err" "not an executable file"
expect_rc 64 --protocol zvt --register pty:$tmp/a --terminal pty:$tmp/b stray
has "$tmp/err" "unexpected argument 'stray'"

# ---- the config file --------------------------------------------------------------------
expect_rc 66 --config "$tmp/missing.ini"
has "$tmp/err" "cannot read config"
printf '[bridge]\nprotocol = zvt\n\ncolour = blue\n' >"$tmp/bad.ini"
expect_rc 78 --config "$tmp/bad.ini"
has "$tmp/err" "$tmp/bad.ini:4: unknown key 'colour'"
printf '[bridge]\nresponse-timeout = forever\n' >"$tmp/bad2.ini"
expect_rc 78 --config "$tmp/bad2.ini"
has "$tmp/err" "$tmp/bad2.ini:2: invalid value 'forever' for response-timeout"
printf '[lane]\nprotocol = zvt\n' >"$tmp/bad3.ini"
expect_rc 78 --config "$tmp/bad3.ini"
has "$tmp/err" "bad3.ini:2: unknown section [lane]"
printf '[bridge]\nsyslog = maybe\n' >"$tmp/bad4.ini"
expect_rc 78 --config "$tmp/bad4.ini"
has "$tmp/err" "bad4.ini:2: syslog takes true or false"
printf '[bridge]\nthis is not ini\n' >"$tmp/bad5.ini"
expect_rc 78 --config "$tmp/bad5.ini"
has "$tmp/err" "bad5.ini:2:"

# ---- a lane: config, events, alert program ------------------------------------------------
cat >"$tmp/alert" <<EOF
#!/bin/sh
[ "\$POSBRIDGE_CLASS" = burst ] && echo "\$POSBRIDGE_COUNT|\$POSBRIDGE_TEXT|\$POSBRIDGE_SEVERITY" >>"$tmp/bursts.txt"
echo "\$POSBRIDGE_CLASS \$POSBRIDGE_REQUESTED \$POSBRIDGE_CHARGED \$POSBRIDGE_CURRENCY \$POSBRIDGE_REQUESTED_CURRENCY|\$POSBRIDGE_REQUESTED_TEXT|\$POSBRIDGE_CHARGED_TEXT|\$POSBRIDGE_SEVERITY|\$POSBRIDGE_PROTOCOL" >>"$tmp/alerts.txt"
cat >>"$tmp/alerts.json"
echo \$\$ >"$tmp/alert.pid"
exec sleep 30
EOF
chmod +x "$tmp/alert"
cat >"$tmp/lane.ini" <<EOF
[bridge]
protocol = zvt
register = pty:$tmp/ecr
terminal = pty:$tmp/pt
journal = $tmp/journal.db
capture = $tmp/lane.pcapng
events = $tmp/lane.events.jsonl
on-discrepancy = $tmp/alert
alert-timeout = 1
alert-burst = 2
quiet = true
EOF
# the command line overrides the config's protocol
"$POSBRIDGE" run --config "$tmp/lane.ini" --protocol concert 2>"$tmp/bridge.err" &
bridge_pid=$!
for _ in $(seq 200); do [ -e "$tmp/ecr" ] && [ -e "$tmp/pt" ] && break; sleep 0.02; done
[ -e "$tmp/pt" ] || die "the bridge made no ptys"

# One Concert sale through the bridge's ptys (run again after SIGHUP below): 12.50 asked,
# 13.50 approved.
python3 "$root/tests/e2e/concert_sales.py" "$tmp/ecr" "$tmp/pt"
checks=$((checks + 1))
for _ in $(seq 100); do [ -s "$tmp/alert.pid" ] && break; sleep 0.05; done
[ -s "$tmp/alert.pid" ] || die "the alert program did not run"
has "$tmp/alerts.txt" "overcharge 1250 1350 978 978|12.50 EUR|13.50 EUR|high|concert"
python3 - "$tmp/lane.events.jsonl" "$tmp/alerts.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert len(ev) == 1, ev
e = ev[0]
for k in ("id", "protocol", "class", "requested_amount", "charged_amount", "currency",
          "result", "result_code", "started", "ended", "evidence"):
    assert k in e, (k, e)
assert e["protocol"] == "concert" and e["class"] == "overcharge", e
assert e["requested_amount"] == 1250 and e["charged_amount"] == 1350 and e["currency"] == 978, e
assert e["started"].endswith("Z") and "T" in e["started"], e
assert {x["dir"] for x in e["evidence"]} == {"ecr", "pt"}, e
a = json.loads(open(sys.argv[2]).read())
assert a["class"] == "overcharge" and a["id"] == e["id"], a
EOF
checks=$((checks + 1))
# the alert program's time limit: it sleeps 30 s, alert-timeout is 1 s
apid=$(cat "$tmp/alert.pid")
sleep 2.5
# (a zombie waiting for its new parent to reap it counts as gone)
state=$(ps -o stat= -p "$apid" 2>/dev/null || true)
case "$state" in
"" | Z*) ;;
*) die "the alert program outlived its time limit (state $state)" ;;
esac
checks=$((checks + 1))

# SIGHUP: logrotate moved the capture and the events file away; the bridge starts new
# ones, and the next sale's event goes to the new file (0600 like the first).
mv "$tmp/lane.pcapng" "$tmp/lane.pcapng.1"
mv "$tmp/lane.events.jsonl" "$tmp/lane.events.jsonl.old"
kill -HUP "$bridge_pid"
for _ in $(seq 100); do [ -e "$tmp/lane.pcapng" ] && [ -e "$tmp/lane.events.jsonl" ] && break; sleep 0.02; done
[ -e "$tmp/lane.pcapng" ] || die "SIGHUP did not reopen the capture"
[ -e "$tmp/lane.events.jsonl" ] || die "SIGHUP did not reopen the events file"
python3 "$root/tests/e2e/concert_sales.py" "$tmp/ecr" "$tmp/pt"
for _ in $(seq 100); do [ -s "$tmp/lane.events.jsonl" ] && break; sleep 0.05; done
[ "$(wc -l <"$tmp/lane.events.jsonl.old")" -eq 1 ] || die "the moved events file changed after SIGHUP"
[ "$(wc -l <"$tmp/lane.events.jsonl")" -eq 1 ] && grep -q '"class": *"overcharge"' "$tmp/lane.events.jsonl" ||
    die "the sale after SIGHUP is not in the new events file: $(cat "$tmp/lane.events.jsonl")"
checks=$((checks + 3))
sales=2
# The second discrepancy within the hour (alert-burst = 2) raised a burst alert.
for _ in $(seq 100); do [ -s "$tmp/bursts.txt" ] && break; sleep 0.05; done
has "$tmp/bursts.txt" "2|2 discrepancies in 0 min on this lane (overcharge=2), transactions 1 to 2|critical"

# contrib/posbridge.logrotate, as logrotate runs it, with this lane's paths and PID: the
# third sale's event lands in the file the bridge made, the second's stays in .1.
logrotate=$(PATH=$PATH:/usr/sbin command -v logrotate || true)
if [ -n "$logrotate" ]; then
    sed -e "s|/var/log/posbridge/|$tmp/|" \
        -e "s|systemctl reload 'posbridge@\*.service'|kill -HUP $bridge_pid|" \
        "$root/contrib/posbridge.logrotate" >"$tmp/logrotate.conf"
    grep -q "kill -HUP $bridge_pid" "$tmp/logrotate.conf" || die "logrotate.conf: no postrotate"
    "$logrotate" -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" 2>"$tmp/logrotate.err" ||
        die "logrotate: $(cat "$tmp/logrotate.err")"
    for _ in $(seq 100); do [ -e "$tmp/lane.events.jsonl" ] && break; sleep 0.02; done
    python3 "$root/tests/e2e/concert_sales.py" "$tmp/ecr" "$tmp/pt"
    for _ in $(seq 100); do [ -s "$tmp/lane.events.jsonl" ] && break; sleep 0.05; done
    [ "$(wc -l <"$tmp/lane.events.jsonl.1")" -eq 1 ] || die "logrotate: .1 is not the second sale"
    [ "$(wc -l <"$tmp/lane.events.jsonl")" -eq 1 ] || die "logrotate: the third sale's event is not in the new file"
    checks=$((checks + 2))
    sales=3
else
    echo "test_run_cli: SKIP: contrib/posbridge.logrotate: logrotate not installed (Debian package logrotate)"
fi
kill -TERM "$bridge_pid"
rc=0
wait "$bridge_pid" || rc=$?
bridge_pid=
[ "$rc" -eq 0 ] || { cat "$tmp/bridge.err" >&2; die "SIGTERM: exit $rc"; }
checks=$((checks + 1))
[ "$(stat -c %a "$tmp/journal.db")" = 600 ] || die "journal mode $(stat -c %a "$tmp/journal.db")"
[ "$(stat -c %a "$tmp/lane.pcapng.1")" = 600 ] || die "capture mode"
[ "$(stat -c %a "$tmp/lane.events.jsonl")" = 600 ] || die "events mode $(stat -c %a "$tmp/lane.events.jsonl")"
checks=$((checks + 3))
"$POSBRIDGE" report --journal "$tmp/journal.db" --json >"$tmp/report.json"
python3 -c "
import json,sys
r=json.load(open('$tmp/report.json'))
t=r['transactions']
assert len(t)==$sales and all(x['class']=='overcharge' and x['charged_amount']==1350 for x in t), t
assert r['days'][0]['difference']==100 * $sales, r['days']
"
# One burst however many sales follow within the hour, in the alerts and in the journal.
[ "$(wc -l <"$tmp/bursts.txt")" -eq 1 ] || die "burst alerts: $(cat "$tmp/bursts.txt")"
python3 -c "
import sqlite3
db = sqlite3.connect('file:$tmp/journal.db?mode=ro', uri=True)
rows = db.execute(\"SELECT text FROM events WHERE kind = 'burst'\").fetchall()
assert len(rows) == 1 and rows[0][0].startswith('2 discrepancies in 0 min'), rows
"
checks=$((checks + 3))
# ... and `report --lane-events` shows it, in each format.
"$POSBRIDGE" report --journal "$tmp/journal.db" --lane-events >"$tmp/lane-events.txt"
grep -Eq '^20[0-9-]+T[0-9:.]+Z  run 1    burst +2 discrepancies in 0 min on this lane' \
    "$tmp/lane-events.txt" || die "report --lane-events: $(cat "$tmp/lane-events.txt")"
"$POSBRIDGE" report --journal "$tmp/journal.db" --lane-events --json | python3 -c "
import json, sys
ev = json.load(sys.stdin)['events']
assert [e['kind'] for e in ev] == ['burst'] and ev[0]['run_id'] == 1, ev
assert ev[0]['at'].endswith('Z') and 'overcharge=2' in ev[0]['text'], ev
" || die "report --lane-events --json"
"$POSBRIDGE" report --journal "$tmp/journal.db" --lane-events --csv --since 2000-01-01 |
    python3 -c "
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 1 and rows[0]['kind'] == 'burst' and rows[0]['run_id'] == '1', rows
" || die "report --lane-events --csv"
[ "$("$POSBRIDGE" report --journal "$tmp/journal.db" --lane-events --until 2000-01-01)" = "no lane events" ] ||
    die "report --lane-events --until 2000-01-01 is not empty"
checks=$((checks + 4))
# The HTML page lists them too, in the report's time range.
"$POSBRIDGE" report --journal "$tmp/journal.db" --html "$tmp/page.html" 2>/dev/null
grep -q '<table id="lane-events">' "$tmp/page.html" &&
    grep -q '<tr class="event"><td>[^<]*Z</td><td class="n">1</td><td>burst</td><td>2 discrepancies in 0 min' "$tmp/page.html" ||
    die "report --html: no lane events table with the burst"
"$POSBRIDGE" report --journal "$tmp/journal.db" --html "$tmp/page2.html" --until 2000-01-01 2>/dev/null
! grep -q 'lane-events' "$tmp/page2.html" || die "report --html --until 2000-01-01 lists lane events"
checks=$((checks + 2))
echo "test_run_cli: $checks checks passed"
