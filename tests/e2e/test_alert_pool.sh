#!/usr/bin/env bash
# The alert programs of a live lane are a bounded pool (docs/ALERTS.md): 50 discrepancies
# in a few seconds, an alert program that takes 2 s, and never more than 4 programs at
# once (each counts the others by their directories); all 50 run, in turn, or are
# counted as dropped; forwarding never waits for them.
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
    echo "test_alert_pool: FAIL: $*" >&2
    [ -f "$tmp/bridge.err" ] && { echo "--- bridge:"; tail -20 "$tmp/bridge.err"; } >&2
    exit 1
}

mkdir "$tmp/running"
cat >"$tmp/alert" <<EOF
#!/bin/sh
mkdir "$tmp/running/\$\$"
ls "$tmp/running" | wc -l >>"$tmp/counts"
cat >/dev/null
sleep 2
echo "\$POSBRIDGE_ID" >>"$tmp/done"
rmdir "$tmp/running/\$\$"
EOF
chmod +x "$tmp/alert"

"$POSBRIDGE" run --protocol concert --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt" \
    --journal "$tmp/journal.db" --on-discrepancy "$tmp/alert" --alert-burst 0 \
    2>"$tmp/bridge.err" &
bridge_pid=$!
for _ in $(seq 200); do [ -e "$tmp/ecr" ] && [ -e "$tmp/pt" ] && break; sleep 0.02; done
[ -e "$tmp/pt" ] || die "the bridge made no ptys"

# 50 Concert sales, each 12.50 asked and 13.50 approved: 50 overcharges.
start=$(date +%s%N)
python3 "$here/concert_sales.py" "$tmp/ecr" "$tmp/pt" 50 || die "a sale was not forwarded"
sales_ms=$((($(date +%s%N) - start) / 1000000))
# 50 alerts of 2 s, 4 at a time: about 26 s.
for _ in $(seq 600); do
    [ -f "$tmp/done" ] && [ "$(wc -l <"$tmp/done")" -ge 50 ] && break
    sleep 0.1
done
all_ms=$((($(date +%s%N) - start) / 1000000))
kill -TERM "$bridge_pid"
rc=0
wait "$bridge_pid" || rc=$?
bridge_pid=
[ "$rc" = 0 ] || die "bridge exit $rc"

done_n=$(wc -l <"$tmp/done")
most=$(sort -n "$tmp/counts" | tail -1)
dropped=$(python3 -c "
import sqlite3
db = sqlite3.connect('file:$tmp/journal.db?mode=ro', uri=True)
print(sum(int(t.split()[0]) for (t,) in db.execute(\"SELECT text FROM events WHERE kind = 'alerts_dropped'\")))
")
[ "$most" -le 4 ] || die "$most alert programs ran at once (at most 4)"
[ $((done_n + dropped)) -eq 50 ] || die "$done_n alerts ran and $dropped were dropped, of 50"
[ "$done_n" -eq 50 ] || die "only $done_n of 50 ran with a queue of 256"
[ "$(sort -n "$tmp/done" | uniq | wc -l)" -eq 50 ] || die "an alert ran twice"
# Each program waits 2 s; with 4 at once the last can end no sooner than 13 rounds in.
[ "$all_ms" -ge 24000 ] || die "50 alerts of 2 s ended after $all_ms ms: more than 4 at once"
[ "$sales_ms" -lt 20000 ] || die "the 50 sales took $sales_ms ms: forwarding waited for alerts"
echo "test_alert_pool: ok (50 sales in $sales_ms ms; 50 alerts, at most $most at once, all done after $all_ms ms)"
