#!/usr/bin/env bash
# A resolution is shown in full wherever a discrepancy is (issue 19): who settled it,
# when, how and with what note, in the text, JSON, CSV and HTML reports; and resolving
# a resolved discrepancy again is refused (naming the first resolution) unless forced.
set -u
: "${POSBRIDGE:?}" "${POSSIM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() { echo "test_field_resolve: FAIL: $*" >&2; exit 1; }
checks=0
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; die "'$2' not in $1"; }; checks=$((checks + 1)); }

"$POSSIM" run --quiet --keep --run-dir "$tmp/run" --posbridge "$POSBRIDGE" \
    captures/scenarios/concert-overcharge.scn >"$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; die "the lane failed"; }
j=$(ls "$tmp"/run/*/journal.db)
id=$("$POSBRIDGE" report --journal "$j" --csv | awk -F, 'NR > 1 && $5 == "overcharge" { print $1; exit }')
[ -n "$id" ] || die "no overcharge in the lane's journal"

"$POSBRIDGE" resolve "$id" --journal "$j" --action refund --who anna \
    --note "refunded 1.00, receipt 0042" >"$tmp/r1" 2>&1 || { cat "$tmp/r1"; die "first resolve failed"; }
rc=0
"$POSBRIDGE" resolve "$id" --journal "$j" --action refund --who ben --note "again" \
    >"$tmp/r2" 2>&1 || rc=$?
[ "$rc" = 65 ] || { cat "$tmp/r2"; die "a second resolve exited $rc, not 65"; }
checks=$((checks + 1))
has "$tmp/r2" "already resolved: refund by anna at 20"
has "$tmp/r2" "refunded 1.00, receipt 0042"
has "$tmp/r2" "--force"

"$POSBRIDGE" report --journal "$j" >"$tmp/text"
has "$tmp/text" "resolved: refund by anna at 20"
has "$tmp/text" ": refunded 1.00, receipt 0042"
"$POSBRIDGE" report --journal "$j" --json >"$tmp/json"
python3 - "$tmp/json" "$id" <<'PY' || die "JSON resolution"
import json, sys
rows = [t for t in json.load(open(sys.argv[1]))["transactions"] if t["id"] == int(sys.argv[2])]
r = rows[0]["resolved_detail"]
assert r["action"] == "refund" and r["who"] == "anna" and r["note"] == "refunded 1.00, receipt 0042", r
assert r["at"].startswith("20") and r["count"] == 1, r
PY
checks=$((checks + 1))
"$POSBRIDGE" report --journal "$j" --csv >"$tmp/csv"
has "$tmp/csv" "resolution,resolution_note,resolved_by,resolved_at,resolutions"
has "$tmp/csv" ",refund,\"refunded 1.00, receipt 0042\",\"anna\",20"
"$POSBRIDGE" report --journal "$j" --html "$tmp/r.html"
has "$tmp/r.html" "resolved: refund by anna at 20"
has "$tmp/r.html" "refunded 1.00, receipt 0042"

"$POSBRIDGE" resolve "$id" --journal "$j" --action none --who ben --note "checked" --force \
    >"$tmp/r3" 2>&1 || { cat "$tmp/r3"; die "--force resolve failed"; }
"$POSBRIDGE" report --journal "$j" >"$tmp/text2"
has "$tmp/text2" "resolved: none by ben at 20"
has "$tmp/text2" "(the latest of 2 resolutions)"
echo "test_field_resolve: $checks checks passed"
