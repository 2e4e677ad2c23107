#!/usr/bin/env bash
# End-to-end checks of possim: help, version, exit codes, scenario errors, and a terminal
# and a register as two processes over a pty for Concert and ZVT. Processes are stopped
# by their saved PID.
set -euo pipefail

: "${POSSIM:?set POSSIM to the possim binary}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

checks=0
die() {
    echo "test_possim_cli: FAIL: $*" >&2
    exit 1
}
expect_rc() { # expect_rc CODE CMD...: stdout/stderr kept in $tmp/out, $tmp/err
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
has() { # has FILE TEXT
    grep -qF -- "$2" "$1" || {
        cat "$1" >&2
        die "'$2' not in $(basename "$1")"
    }
    checks=$((checks + 1))
}

# ---- help, version, usage errors ------------------------------------------------------
expect_rc 0 "$POSSIM" --help
has "$tmp/out" "possim terminal --port pty:/tmp/pt"
expect_rc 0 "$POSSIM" --version
has "$tmp/out" "possim "
expect_rc 0 "$POSSIM" terminal --help
has "$tmp/out" "--fault SPEC"
expect_rc 0 "$POSSIM" register --help
has "$tmp/out" "--sale AMOUNT"
expect_rc 64 "$POSSIM"
expect_rc 64 "$POSSIM" fly
expect_rc 64 "$POSSIM" register --protocol zvt --sale 1.00
has "$tmp/err" "--port is required"
expect_rc 64 "$POSSIM" register --port /nonexistent --protocol zvt
has "$tmp/err" "nothing to do"
expect_rc 64 "$POSSIM" terminal --port pty:$tmp/x --protocol t00
has "$tmp/err" "unknown protocol 't00'"
expect_rc 64 "$POSSIM" terminal --port pty:$tmp/x --protocol zvt --fault 'chrage +1'
has "$tmp/err" "<command line>:2:7: unknown fault 'chrage'"
expect_rc 64 "$POSSIM" register --port pty:$tmp/x --protocol zvt --sale 1.234
has "$tmp/err" "bad amount '1.234'"
expect_rc 64 "$POSSIM" register --port pty:$tmp/x --protocol zvt --sale 1 --seed -3
has "$tmp/err" "--seed"

# ---- scenario errors: file:line:col and exit 65 ----------------------------------------
printf 'protocol zvt\n\nsale 12.50 chrage +1.00\n' >"$tmp/bad.scn"
expect_rc 65 "$POSSIM" register --port pty:$tmp/x --scenario "$tmp/bad.scn"
has "$tmp/err" "$tmp/bad.scn:3:12: unknown word 'chrage'"
expect_rc 66 "$POSSIM" register --port pty:$tmp/x --scenario "$tmp/missing.scn"
expect_rc 69 "$POSSIM" register --port "$tmp/no-such-port" --protocol zvt --sale 1.00
has "$tmp/err" "is not there"

# ---- lint: the library and every example in docs/SCENARIOS.md parse ------------------
expect_rc 0 "$POSSIM" lint captures/scenarios/*.scn
[ "$(grep -c ': protocol ' "$tmp/out")" -ge 20 ] || die "lint summarised too few files"
checks=$((checks + 1))
expect_rc 65 "$POSSIM" lint "$tmp/bad.scn"
has "$tmp/err" "bad.scn:3:12:"
# each fenced block of the doc that starts with a setting or a transaction is a scenario
awk -v dir="$tmp" '
    /^```/ { if (inb) { close(f); inb = 0 } else { inb = 1; n++; f = dir "/doc" n ".scn"; first = 1 } next }
    inb { print > f }
' docs/SCENARIOS.md
docs=0
for f in "$tmp"/doc*.scn; do
    head -1 "$f" | grep -Eq '^(#|protocol|sale|currency|lane|fault|  *sale)' || continue
    grep -q 'file:line:col\|^lane3.scn' "$f" && continue
    expect_rc 0 "$POSSIM" lint "$f"
    docs=$((docs + 1))
done
[ "$docs" -ge 5 ] || die "only $docs doc examples linted"
echo "test_possim_cli: $docs examples of docs/SCENARIOS.md lint clean"

# ---- play: offline lanes with posbridge's tracker watching ------------------------------
expect_rc 0 "$POSSIM" play captures/scenarios/concert-overcharge.scn captures/scenarios/zvt-in_doubt.scn
has "$tmp/out" "overcharge          overcharge          overcharge"
has "$tmp/out" "0 mismatches"
has "$tmp/err" "possim play: 9 expectations, 0 failed"
printf 'protocol zvt\nsale 5.00 charge +1.00 expect ok\n' >"$tmp/wrong.scn"
expect_rc 1 "$POSSIM" play "$tmp/wrong.scn"
has "$tmp/out" "MISMATCH"
expect_rc 1 "$POSSIM" play --json "$tmp/wrong.scn"
has "$tmp/out" '"expected":"ok","posbridge":"overcharge","register":"overcharge","pass":false'
expect_rc 65 "$POSSIM" play "$tmp/bad.scn"

# ---- play --capture, then replay the terminal's side to a live register ----------------
printf 'protocol zvt\ntimeout 1s\nsale 12.50 expect ok\nsale 20.00 charge +1.00 expect overcharge\nsale 9.99 decline expect declined\n' >"$tmp/rec.scn"
expect_rc 0 "$POSSIM" play --capture "$tmp/rec.pcapng" "$tmp/rec.scn"
[ -s "$tmp/rec.pcapng" ] || die "no capture written"
checks=$((checks + 1))
if [ -n "${POSBRIDGE:-}" ] && [ -x "${POSBRIDGE:-}" ]; then
    # posbridge's own decoder reads the capture possim wrote
    expect_rc 0 "$POSBRIDGE" decode "$tmp/rec.pcapng"
    has "$tmp/out" "21.00"
fi
if command -v tshark >/dev/null 2>&1; then
    # Wireshark's own ZVT dissector, an independent decoder, reads the terminal's answers
    tshark -o 'uat:user_dlts:"User 0 (DLT=147)","zvt","0","","0",""' -r "$tmp/rec.pcapng" \
        -T fields -e zvt.control_field -e zvt.amount -e zvt.result_code \
        >"$tmp/tshark.out" 2>/dev/null || die "tshark could not read the capture"
    has "$tmp/tshark.out" "0x040f	2100	0x00"
    has "$tmp/tshark.out" "0x0601	2000"
fi
port="$tmp/pt-replay"
"$POSSIM" replay "$tmp/rec.pcapng" --side terminal --port "pty:$port" 2>"$tmp/replay.err" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
expect_rc 0 "$POSSIM" register --port "$port" --scenario "$tmp/rec.scn" --check
has "$tmp/out" "class=overcharge expect=overcharge"
wait "$rpid" || die "possim replay failed"
has "$tmp/replay.err" "0 stalls"
expect_rc 64 "$POSSIM" replay "$tmp/rec.pcapng" --side middle --port "pty:$tmp/r2"
expect_rc 66 "$POSSIM" replay "$tmp/none.pcapng" --side terminal --port "pty:$tmp/r2"

# ---- a terminal and a register over a pty, per protocol --------------------------------
lane() { # lane PROTOCOL
    local proto=$1 port="$tmp/pt-$1"
    cat >"$tmp/$proto.scn" <<SCN
protocol $proto
seed 42
timeout 1s
ack-timeout 500ms
sale 12.50                  expect ok charged=12.50
sale 20.00 charge +1.00     expect overcharge charged=21.00
sale 9.99  decline 05       expect declined
sale 5.00  no-answer        expect in_doubt
sale 1.00                   expect voided
void                        expect ok
SCN
    "$POSSIM" terminal --port "pty:$port" --scenario "$tmp/$proto.scn" \
        >"$tmp/term-$proto.out" 2>"$tmp/term-$proto.err" &
    local tpid=$!
    pids+=("$tpid")
    for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
    [ -e "$port" ] || die "$proto terminal made no pty at $port"
    expect_rc 0 "$POSSIM" register --port "$port" --scenario "$tmp/$proto.scn" --json --check
    [ "$(grep -c '"transaction"' "$tmp/out")" -eq 6 ] || die "$proto: want 6 JSON lines"
    checks=$((checks + 1))
    has "$tmp/out" '"transaction":2,"line":6,"protocol":"'"$proto"'","action":"sale"'
    has "$tmp/out" '"charged":2100'
    has "$tmp/out" '"class":"in_doubt","expect":"in_doubt"'
    has "$tmp/err" "seed 42"
    kill "$tpid"
    wait "$tpid" || true
    has "$tmp/term-$proto.err" "seed 42"
    has "$tmp/term-$proto.err" "6 transactions: 4 approved, 1 declined"
    has "$tmp/term-$proto.err" "1 voided; batch total 33.50 EUR"
}
lane concert
lane zvt

# ---- --sale with a --fault terminal, human output --------------------------------------
port="$tmp/pt-sale"
"$POSSIM" terminal --port "pty:$port" --protocol zvt --fault 'charge +0.50 every 2' --seed 7 \
    2>"$tmp/term.err" &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
expect_rc 0 "$POSSIM" register --port "$port" --protocol zvt --sale 3.00 --sale 4.00 --timeout 2
has "$tmp/out" "#1   sale         requested=3.00 EUR"
has "$tmp/out" "charged=4.50 EUR"
has "$tmp/out" "class=overcharge"
kill "$tpid"
wait "$tpid" || true

# ---- same seed, same bytes: two process runs, the terminal's bytes recorded -------------
cat >"$tmp/rand.scn" <<'SCN'
protocol zvt
timeout 1s
fault chance 50% charge +5%
fault chance 50% noise 3
fault latency 5ms 4ms
sale 1.00
sale 2.00
sale 3.00 decline chance 50%
sale 4.00
sale 5.00
SCN
for run in 1 2 3; do
    seed=42
    [ "$run" = 3 ] && seed=43
    port="$tmp/pt-rand$run"
    "$POSSIM" terminal --port "pty:$port" --scenario "$tmp/rand.scn" --seed $seed \
        --record "$tmp/rec$run" 2>/dev/null &
    tpid=$!
    pids+=("$tpid")
    for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
    expect_rc 0 "$POSSIM" register --port "$port" --scenario "$tmp/rand.scn" --seed $seed
    kill "$tpid"
    wait "$tpid" || true
done
[ -s "$tmp/rec1" ] || die "nothing recorded"
cmp "$tmp/rec1" "$tmp/rec2" || die "same seed, different terminal bytes"
checks=$((checks + 1))
if cmp -s "$tmp/rec1" "$tmp/rec3"; then die "seeds 42 and 43 wrote the same bytes"; fi
checks=$((checks + 1))

# ---- --fault on top of a scenario file ----------------------------------------------------
printf 'protocol zvt\nsale 3.00\nsale 4.00\n' >"$tmp/two.scn"
port="$tmp/pt-two"
"$POSSIM" terminal --port "pty:$port" --scenario "$tmp/two.scn" --fault 'charge +0.25 at 2' \
    2>/dev/null &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
expect_rc 0 "$POSSIM" register --port "$port" --scenario "$tmp/two.scn" --timeout 2
has "$tmp/out" "charged=3.00 EUR"
has "$tmp/out" "charged=4.25 EUR"
kill "$tpid"
wait "$tpid" || true
expect_rc 64 "$POSSIM" register --port "$port" --scenario "$tmp/two.scn" --sale 1.00

# ---- SIGHUP: flip a fault on a live terminal -------------------------------------------
printf 'protocol concert\n' >"$tmp/live.scn"
port="$tmp/pt-live"
"$POSSIM" terminal --port "pty:$port" --scenario "$tmp/live.scn" 2>"$tmp/live.err" &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
expect_rc 0 "$POSSIM" register --port "$port" --protocol concert --sale 2.00 --timeout 2
has "$tmp/out" "class=ok"
printf 'protocol concert\nfault charge +1.00\n' >"$tmp/live.scn"
kill -HUP "$tpid"
for _ in $(seq 100); do grep -q reloaded "$tmp/live.err" && break; sleep 0.05; done
has "$tmp/live.err" "1 global faults"
expect_rc 0 "$POSSIM" register --port "$port" --protocol concert --sale 2.00 --timeout 2
has "$tmp/out" "charged=3.00 EUR"
has "$tmp/out" "class=overcharge"
printf 'protocol concert\nfault chrage\n' >"$tmp/live.scn"
kill -HUP "$tpid"
for _ in $(seq 100); do grep -q "reload refused" "$tmp/live.err" && break; sleep 0.05; done
has "$tmp/live.err" "live.scn:2:7: unknown fault 'chrage'"
expect_rc 0 "$POSSIM" register --port "$port" --protocol concert --sale 2.00 --timeout 2
has "$tmp/out" "class=overcharge"
kill "$tpid"
wait "$tpid" || true

# ---- terminal --capture: both directions of a live lane as pcapng ------------------------
port="$tmp/pt-cap"
"$POSSIM" terminal --port "pty:$port" --protocol concert --capture "$tmp/live.pcapng" \
    2>/dev/null &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do [ -e "$port" ] && break; sleep 0.05; done
expect_rc 0 "$POSSIM" register --port "$port" --protocol concert --sale 7.25 --timeout 2
kill "$tpid"
wait "$tpid" || true
if [ -n "${POSBRIDGE:-}" ] && [ -x "${POSBRIDGE:-}" ]; then
    expect_rc 0 "$POSBRIDGE" decode "$tmp/live.pcapng"
    has "$tmp/out" "ecr request      purchase     7.25 EUR"
    has "$tmp/out" "pt  result       -            7.25 EUR approved"
fi

# possim run --follow: the live table of a whole lane keeps each amount in its currency
# (a USD answer to a EUR request must not read as a USD request).
if [ -n "${POSBRIDGE:-}" ] && [ -x "${POSBRIDGE:-}" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    expect_rc 0 "$POSSIM" run --posbridge "$POSBRIDGE" --follow --run-dir "$tmp/follow" \
        "$here/../../captures/scenarios/concert-currency_mismatch.scn"
    grep -qE '^  txn 1 +purchase +requested 7.00 EUR +charged 7.00 USD +\*\* currency_mismatch$' \
        "$tmp/out" || { cat "$tmp/out" >&2; die "run --follow: the mismatch line"; }
    checks=$((checks + 1))
fi

echo "test_possim_cli: $checks checks passed"
