#!/usr/bin/env bash
# `posbridge capture export|import`: a hand-written dump of a Concert exchange becomes a
# capture that decode reads as one transaction, exports back to the same text, and to
# raw bytes per direction; a real lane's capture (possim terminal + posbridge run +
# possim register) survives export -> import -> export unchanged. Bad dumps are named
# by FILE:LINE.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"
: "${POSSIM:?set by make check}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "test_capture_export: FAIL: $*" >&2; exit 1; }
pb() { "$POSBRIDGE" capture "$@"; }

# docs/PROTOCOLS.md Concert vectors: the 12.50 EUR request and its approval; the request
# is 37 bytes, so it continues on an indented line.
cat > "$tmp/a.txt" <<'DUMP'
# posbridge capture dump; link type 148 (concert)
2026-11-22T10:00:00.000000Z event posbridge started
2026-11-22T10:00:01.000000Z ecr 05
2026-11-22T10:00:01.001000Z pt  06
2026-11-22T10:00:01.002000Z ecr 02 30 31 30 30 30 30 31 32 35 30 31 31 30 39 37 38 20 20 20 20 20 20 20 20 20 20 41 30 31 30 42
                                30 31 30 03 01
2026-11-22T10:00:01.003000Z pt  06
2026-11-22T10:00:01.004000Z ecr 04
2026-11-22T10:00:02.000000Z pt  05
2026-11-22T10:00:02.001000Z ecr 06
2026-11-22T10:00:02.002000Z pt  02 30 31 30 30 30 30 30 31 32 35 30 31 39 37 38 30 30 30 30 30 30 30 30 30 30 03 33
2026-11-22T10:00:02.003000Z ecr 06
2026-11-22T10:00:02.004000Z pt  04
DUMP
pb import "$tmp/a.txt" --ecr "$tmp/a.ecr" --pt "$tmp/a.pt" --pcapng "$tmp/a.pcapng" 2> "$tmp/err" \
    || { cat "$tmp/err"; die "import"; }
grep -qF "10 packets, 1 event" "$tmp/err" || { cat "$tmp/err"; die "import counts"; }
[ "$(stat -c %s "$tmp/a.ecr")" = $((1 + 37 + 1 + 1 + 1)) ] || die "ecr raw size"
[ "$(stat -c %s "$tmp/a.pt")" = $((1 + 1 + 1 + 28 + 1)) ] || die "pt raw size"
[ "$(od -An -tx1 -j1 -N3 "$tmp/a.ecr" | tr -d ' \n')" = 023031 ] || die "ecr raw bytes"
pb export "$tmp/a.pcapng" > "$tmp/a2.txt" 2>/dev/null
diff "$tmp/a.txt" "$tmp/a2.txt" || die "export of the imported capture differs from the dump"
"$POSBRIDGE" decode "$tmp/a.pcapng" > "$tmp/dec" 2>&1
grep -qF "== transaction 1: purchase requested 12.50 EUR charged 12.50 EUR -> ok" "$tmp/dec" \
    || { cat "$tmp/dec"; die "decode of the imported capture"; }
# The raw bytes decode on their own too.
"$POSBRIDGE" decode --protocol concert --dir ecr --raw "$tmp/a.ecr" > "$tmp/dec2" 2>&1
grep -qF "12.50 EUR" "$tmp/dec2" || die "raw ecr bytes"

# Import never overwrites a capture; a bad line is named FILE:LINE.
set +e
pb import "$tmp/a.txt" --pcapng "$tmp/a.pcapng" 2> "$tmp/err"; rc1=$?
printf '2026-11-22T10:00:00Z ecr 02 3g\n' > "$tmp/bad1.txt"
pb import "$tmp/bad1.txt" --ecr "$tmp/x1" 2> "$tmp/err1"; rc2=$?
printf '# x\n2026-11-22T10:00:00Z ecr 02\nnot a time ecr 03\n' > "$tmp/bad2.txt"
pb import "$tmp/bad2.txt" --ecr "$tmp/x2" 2> "$tmp/err2"; rc3=$?
printf '2026-11-22T10:00:00Z sideways 02\n' > "$tmp/bad3.txt"
pb import "$tmp/bad3.txt" --ecr "$tmp/x3" 2> "$tmp/err3"; rc4=$?
pb import "$tmp/a.txt" 2> /dev/null; rc5=$?
pb export "$tmp/none.pcapng" 2> /dev/null; rc6=$?
set -e
[ "$rc1" = 73 ] || die "overwrite: exit $rc1"
[ "$rc2" = 65 ] && grep -qF "bad1.txt:1: '3g' is not a byte" "$tmp/err1" || { cat "$tmp/err1"; die "bad hex: $rc2"; }
[ "$rc3" = 65 ] && grep -qF "bad2.txt:3: expected a UTC time" "$tmp/err2" || { cat "$tmp/err2"; die "bad time: $rc3"; }
[ "$rc4" = 65 ] && grep -qF "bad3.txt:1: direction 'sideways'" "$tmp/err3" || { cat "$tmp/err3"; die "bad dir: $rc4"; }
[ "$rc5" = 64 ] || die "import with no output: exit $rc5"
[ "$rc6" = 66 ] || die "export of a missing capture: exit $rc6"

# A real lane's capture: ZVT, an overcharge, port events.
"$POSSIM" terminal --port "pty:$tmp/pt" --protocol zvt --fault 'charge +1.00' -q \
    > "$tmp/terminal.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -e "$tmp/pt" ] && break; sleep 0.1; done
"$POSBRIDGE" run --register "pty:$tmp/ecr" --terminal "$tmp/pt" --protocol zvt \
    --capture "$tmp/lane.pcapng" --no-journal -q > "$tmp/run.log" 2>&1 &
pids+=($!)
run_pid=$!
for _ in $(seq 100); do [ -e "$tmp/ecr" ] && break; sleep 0.1; done
"$POSSIM" register --port "$tmp/ecr" --protocol zvt --sale 12.50 --timeout 10 > "$tmp/reg.log" 2>&1 \
    || { cat "$tmp/reg.log"; die "register"; }
kill "$run_pid"
wait "$run_pid" || true
pb export "$tmp/lane.pcapng" -o "$tmp/lane.txt" 2> /dev/null
grep -q "^# posbridge capture dump; link type 147 (zvt)" "$tmp/lane.txt" || die "lane dump header"
grep -q "Z ecr 10 02 06 01 " "$tmp/lane.txt" || { head -20 "$tmp/lane.txt"; die "no ZVT authorisation (06 01) from the register"; }
pb import "$tmp/lane.txt" --pcapng "$tmp/lane2.pcapng" 2> /dev/null
pb export "$tmp/lane2.pcapng" > "$tmp/lane2.txt" 2> /dev/null
diff "$tmp/lane.txt" "$tmp/lane2.txt" > /dev/null || die "lane round trip differs"
"$POSBRIDGE" decode "$tmp/lane.pcapng" 2>/dev/null | grep "== transaction" > "$tmp/t1"
"$POSBRIDGE" decode "$tmp/lane2.pcapng" 2>/dev/null | grep "== transaction" > "$tmp/t2"
grep -q "overcharge" "$tmp/t1" || die "the lane had no overcharge"
diff "$tmp/t1" "$tmp/t2" || die "decode differs after the round trip"
pb --help | grep -q example || die "--help has no example"
echo "test_capture_export: ok"
