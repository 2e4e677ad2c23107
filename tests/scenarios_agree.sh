#!/usr/bin/env bash
# One judgement, three ways (issue 16): for every scenario that `possim run` played into
# RUN_DIR (kept with --keep), the transactions that
#   1. posbridge journalled live on the real lane (report --all --csv of its journal),
#   2. `posbridge decode` of that lane's own capture finds, and
#   3. `possim play` of the same scenario on its virtual clock closes
# must be the same list: the same classes and charged amounts in the same order.
#
# usage: tests/scenarios_agree.sh RUN_DIR SCENARIO...   (POSBRIDGE and POSSIM set)
set -u
run_dir=$1
shift
: "${POSBRIDGE:?}" "${POSSIM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each source as lines "class charged" in the order the transactions were opened; for a
# transaction closed twice (in doubt, then a late approval) its last word counts.
from_journal() {
    "$POSBRIDGE" report --journal "$1" --all --csv |
        awk -F, 'NR > 1 { print $5, ($9 == "" ? "-" : $9) }'
}
from_decode() {
    "$POSBRIDGE" decode --json "$1" 2>/dev/null | python3 -c '
import json, sys
last = {}
for line in sys.stdin:
    o = json.loads(line)
    if o.get("kind") == "transaction":
        last[o["id"]] = (o["class"], o.get("charged_amount", "-"))
for i in sorted(last):
    print(*last[i])'
}
from_play() {
    "$POSSIM" play --transactions "$1" | awk -F'\t' '{ print $3, $4 }'
}

pass=0
fail=0
k=0
for scn in "$@"; do
    k=$((k + 1))
    dir=$(printf '%s/%02u-%s' "$run_dir" "$k" "$(basename "$scn")")
    name=$(basename "$scn")
    if [ ! -f "$dir/journal.db" ] || [ ! -f "$dir/lane.pcapng" ]; then
        echo "not ok $k $name: no kept run in $dir"
        fail=$((fail + 1))
        continue
    fi
    from_journal "$dir/journal.db" >"$tmp/journal"
    from_decode "$dir/lane.pcapng" >"$tmp/decode"
    from_play "$scn" >"$tmp/play"
    if [ ! -s "$tmp/journal" ]; then
        echo "not ok $k $name: the journal holds no transaction"
        fail=$((fail + 1))
    elif cmp -s "$tmp/journal" "$tmp/decode" && cmp -s "$tmp/journal" "$tmp/play"; then
        echo "ok $k $name: $(wc -l <"$tmp/journal") transactions agree"
        pass=$((pass + 1))
    else
        echo "not ok $k $name: journal, decode and play disagree"
        paste "$tmp/journal" "$tmp/decode" "$tmp/play" |
            awk -F'\t' 'BEGIN { printf "    %-26s %-26s %-26s\n", "journal (run)", "decode", "play" }
                        { printf "    %-26s %-26s %-26s\n", $1, $2, $3 }'
        fail=$((fail + 1))
    fi
done
echo "scenarios agree: $pass passed, $fail failed"
[ "$fail" = 0 ]
