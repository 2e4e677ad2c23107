#!/usr/bin/env bash
# A lane set to the wrong protocol records nothing; the bridge must say so, with what
# the line really speaks, within the first exchange (issue 19): a real posbridge between
# possim's ZVT register and terminal, once told concert (warns, journals the event) and
# once told zvt (no warning, sales recorded).
set -u
: "${POSBRIDGE:?}" "${POSSIM:?}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "test_field_protocol: FAIL: $*" >&2; exit 1; }
checks=0

# lane PROTO-TOLD-TO-THE-BRIDGE DIR: a ZVT lane with two sales
lane() {
    local told=$1 d=$2
    mkdir -p "$d"
    "$POSSIM" terminal --port "pty:$d/pt" --protocol zvt --quiet 2>"$d/terminal.err" &
    local tpid=$!
    pids+=("$tpid")
    for _ in $(seq 200); do [ -e "$d/pt" ] && break; sleep 0.02; done
    "$POSBRIDGE" run --protocol "$told" --register "pty:$d/ecr" --terminal "$d/pt" \
        --journal "$d/journal.db" --shutdown-wait 1 2>"$d/bridge.err" &
    local bpid=$!
    pids+=("$bpid")
    for _ in $(seq 200); do [ -e "$d/ecr" ] && break; sleep 0.02; done
    [ -e "$d/ecr" ] || die "the bridge made no register pty"
    timeout 30 "$POSSIM" register --port "$d/ecr" --protocol zvt --sale 1.00 --sale 2.00 \
        --timeout 2 --quiet >"$d/register.out" 2>"$d/register.err"
    kill "$bpid" "$tpid"
    wait "$bpid" "$tpid" 2>/dev/null
}

lane concert "$tmp/wrong"
grep -q "ALERT protocol: the line speaks zvt" "$tmp/wrong/bridge.err" ||
    { cat "$tmp/wrong/bridge.err" >&2; die "no protocol alert for a ZVT line set to concert"; }
checks=$((checks + 1))
[ "$(grep -c 'ALERT protocol' "$tmp/wrong/bridge.err")" = 1 ] || die "the protocol alert is said more than once"
checks=$((checks + 1))
"$POSBRIDGE" report --journal "$tmp/wrong/journal.db" --lane-events >"$tmp/wrong/events" ||
    die "report --lane-events failed"
grep -q "protocol_mismatch" "$tmp/wrong/events" ||
    { cat "$tmp/wrong/events" >&2; die "no protocol_mismatch lane event in the journal"; }
checks=$((checks + 1))

lane zvt "$tmp/right"
if grep -q "ALERT protocol" "$tmp/right/bridge.err"; then
    cat "$tmp/right/bridge.err" >&2
    die "a protocol alert on a lane set right"
fi
checks=$((checks + 1))
n=$("$POSBRIDGE" report --journal "$tmp/right/journal.db" --all --csv | tail -n +2 | grep -c ',ok,')
[ "$n" = 2 ] || die "the right lane recorded $n ok sales, not 2"
checks=$((checks + 1))
echo "test_field_protocol: $checks checks passed"
