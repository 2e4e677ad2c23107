#!/usr/bin/env bash
# End-to-end checks of `posbridge decode --protocol auto`: each protocol's bytes are
# recognised (hex, stdin, raw file, capture) and said on stderr; noise is refused (65).
set -euo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
: "${POSSIM:?set POSSIM to the possim binary}"
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checks=0
die() {
    echo "test_detect_cli: FAIL: $*" >&2
    exit 1
}
expect_rc() {
    local want=$1
    shift
    local rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || {
        cat "$tmp/out" "$tmp/err" >&2
        die "exit $rc, wanted $want: $*"
    }
    checks=$((checks + 1))
}
has() {
    grep -qF -- "$2" "$1" || {
        cat "$1" >&2
        die "'$2' not in $(basename "$1")"
    }
    checks=$((checks + 1))
}

pax="02 54 30 30 1C 31 2E 32 38 1C 30 31 1C 31 30 30 1C 1C 31 1C 1C 1C 1C 03 5F"
mispos="02 00 30 9F 00 00 05 41 50 50 30 31 9F 01 00 01 02 9F 02 00 0C 30 30 30 30 30 30 30 30 30 31 30 30 03 E4"
zvt="10 02 06 01 07 04 00 00 00 00 10 10 00 10 03 62 91"
concert="02 30 31 30 30 30 30 31 32 35 30 31 31 30 39 37 38 20 20 20 20 20 20 20 20 20 20 41 30 31 30 42 30 31 30 03 01"

expect_rc 0 "$POSBRIDGE" decode --protocol auto --hex "$pax"
has "$tmp/err" "detected pax (confidence"
has "$tmp/out" "purchase     1.00"
expect_rc 0 "$POSBRIDGE" decode --protocol auto --hex "$mispos"
has "$tmp/err" "detected mispos (confidence"
has "$tmp/out" "1.00 CNY"
expect_rc 0 "$POSBRIDGE" decode --protocol auto --hex "$zvt"
has "$tmp/err" "detected zvt (confidence"
expect_rc 0 "$POSBRIDGE" decode --protocol auto --hex "$concert"
has "$tmp/err" "detected concert (confidence"
has "$tmp/out" "12.50 EUR"

# raw bytes from stdin and from a file: detection reads ahead, every byte still decoded
cp "$root/tests/fuzz/corpus/pax/exchange" "$tmp/pax.bin"
expect_rc 0 "$POSBRIDGE" decode --protocol auto --raw "$tmp/pax.bin"
has "$tmp/err" "detected pax"
has "$tmp/err" "$(wc -c <"$tmp/pax.bin" | tr -d ' ') bytes: 2 frames, 2 control bytes"
expect_rc 0 sh -c "\"$POSBRIDGE\" decode --protocol auto --dir pt <\"$root/tests/fuzz/corpus/mispos/approved-card\""
has "$tmp/err" "detected mispos"

# captures written by possim: both directions, the tracker's transactions as usual
for p in concert zvt pax mispos; do
    "$POSSIM" play -q --capture "$tmp/$p.pcapng" "$root/captures/scenarios/$p-ok.scn" \
        >/dev/null 2>&1 || true
    [ -s "$tmp/$p.pcapng" ] || die "possim wrote no $p capture"
    expect_rc 0 "$POSBRIDGE" decode --protocol auto "$tmp/$p.pcapng"
    has "$tmp/err" "detected $p (confidence"
    has "$tmp/out" "-> ok"
done

# noise: refused, nothing decoded
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' \
    >"$tmp/noise.bin"
expect_rc 65 "$POSBRIDGE" decode --protocol auto --raw "$tmp/noise.bin"
has "$tmp/err" "no protocol recognised"
expect_rc 64 "$POSBRIDGE" decode --protocol autox --hex "$pax"
has "$tmp/err" "|auto"

echo "test_detect_cli: $checks checks passed"
