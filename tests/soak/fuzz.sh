#!/usr/bin/env bash
# Promise 4: long libFuzzer runs (ASan+UBSan) of every tests/fuzz/fuzz_*.c harness.
# Builds them through `make fuzz` (1 s each), then runs each until FUZZ_RUNS executions
# (default 10 000 000) or FUZZ_MAX_SECONDS (default 900), FUZZ_PAR harnesses at a time
# (default 2). New corpus entries go to build-fuzz/corpus/<harness>; the seeds stay in
# tests/fuzz/corpus/. Prints per harness: executions, seconds, exec/s, crash or not, and
# the code id of what was fuzzed (below), also appended to $FUZZ_LOGS/ledger.tsv.
# FUZZ_ONLY="fuzz_config fuzz_zvt" runs just those, in that order. FUZZ_FORK=N runs each
# harness as one libFuzzer campaign of N worker processes sharing the corpus (-fork=N):
# its executions are the workers' together, so N cores bring one harness to FUZZ_RUNS
# N times sooner. Each running fuzzer's PID is in $FUZZ_LOGS/<harness>.pid (kill -STOP
# / -CONT it to pause for other work; to end a -fork campaign early send SIGTERM, as
# its parent process does not stop on SIGINT).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
runs=${FUZZ_RUNS:-10000000}
secs=${FUZZ_MAX_SECONDS:-900}
par=${FUZZ_PAR:-2}
fork=()
[ -n "${FUZZ_FORK:-}" ] && fork=(-fork="$FUZZ_FORK")
out=${FUZZ_LOGS:-build-fuzz/logs}
make fuzz FUZZ_SECONDS=1 >/dev/null 2>&1 || { echo "fuzz.sh: make fuzz failed"; exit 1; }
mkdir -p "$out"

# Longest input per harness (-max_len). libFuzzer's default is 4096 whatever the
# protocol; an input needs room for the longest frame and for the path where a frame
# start is followed by more bytes than any frame may have (the deframer's resync).
max_len() {
    case $1 in
    # Concert: STX + 1024 payload + ETX + LRC = 1027 bytes: one longest frame, or an STX
    # and more than 1027 bytes. Not more: an execution costs about its length (three
    # passes), and at 2100 the harness fell from 6 400 to 1 900 exec/s. (The deframer is
    # linear on hostile input: bench section 8.)
    fuzz_concert) echo 1100 ;;
    # PAX: STX + 4096 payload + ETX + LRC = 4099, over the default: one longest frame, or
    # an STX followed by more than 4099 bytes.
    fuzz_pax) echo 4200 ;;
    # MIS-POS: STX + 2-byte BCD length + 9999 data + ETX + LRC = 10004.
    fuzz_mispos) echo 10100 ;;
    # ZVT: a frame may reach 131 KiB (3-byte APDU length, every byte DLE-doubled); past a
    # few KiB the scanner runs the same paths, so the default stays. Frames over 4 KiB are
    # not fuzzed.
    fuzz_zvt) echo 4096 ;;
    # The detector keeps 512 bytes per direction; byte-at-a-time its input spends two
    # bytes (a chunk header and the byte) per byte kept: 2 * 2 * 512, and a few more.
    fuzz_detect) echo 2100 ;;
    *) echo 4096 ;;
    esac
}

# Memory: a harness's RSS is libFuzzer's corpus and features plus ASan's 256 MiB
# quarantine, and it creeps up all run long (zvt: 440 MiB at 0.5 M executions, then
# +15 MiB per 200 k), so the 1 GiB limit used before would end a 10 M run as a false
# out-of-memory crash. The RSS limit is 2.5 GiB; one allocation over 1 GiB
# (-malloc_limit_mb) is still reported at once, as nothing in posbridge asks for that much.
one() {
    local n=$1
    local seeds=tests/fuzz/corpus/${n#fuzz_}
    mkdir -p "build-fuzz/corpus/$n"
    local t0=$SECONDS rc=0
    "build-fuzz/bin/$n" "${fork[@]}" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
        -max_len="$(max_len "$n")" -rss_limit_mb=2560 -malloc_limit_mb=1024 \
        -artifact_prefix="$out/$n-" \
        "build-fuzz/corpus/$n" "$seeds" >"$out/$n.log" 2>&1 &
    echo $! >"$out/$n.pid"
    wait $! || rc=$?
    rm -f "$out/$n.pid"
    local ex
    # In fork mode the parent's own final stats say 0; the campaign's total is the count
    # on its last status line, "#N: cov: ...".
    if [ ${#fork[@]} -gt 0 ]; then
        ex=$(grep -ho '^#[0-9]*:' "$out/$n.log" | tail -1 | tr -d '#:')
    else
        ex=$(grep -h "stat::number_of_executed_units" "$out/$n.log" | tail -1 | awk '{print $2}')
    fi
    local dt=$((SECONDS - t0))
    local what=""
    [ "$rc" -eq 72 ] && what=" (interrupted: libFuzzer's exit code for SIGINT and SIGTERM)"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 72 ] && what=" CRASH: see $out/$n.log"
    local id
    id=$(code_id "$n")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$n" "$id" \
        "$(git rev-parse --short HEAD 2>/dev/null || echo -)" "${ex:-0}" "$dt" "$rc" >>"$out/ledger.tsv"
    echo "fuzz $n: ${ex:-?} executions in ${dt} s ($(( ${ex:-0} / (dt > 0 ? dt : 1) )) exec/s), exit $rc$what, code $id"
    [ "$rc" -eq 72 ] && rc=0
    return "$rc"
}
# A run is one segment of a campaign: libFuzzer carries nothing from one run to the next
# but its corpus, so runs of the same code (tests/soak/codeid.sh: a hash of the repository
# files compiled into the harness) that each start from the corpus the last one left
# (build-fuzz/corpus/<harness>, or tests/fuzz/corpus/ once merged there by
# tests/soak/fuzz-merge.sh) add up, as continuous fuzzing services count them. Every run
# appends a line to $out/ledger.tsv: date, harness, code id, commit, executions, seconds,
# exit code.
code_id() {
    "$here/codeid.sh" "build-fuzz/bin/$1" || echo unknown
}

fail=0
pids=()
for h in ${FUZZ_ONLY:-build-fuzz/bin/fuzz_*}; do
    one "$(basename "$h")" &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n || fail=1; done
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
wait
exit $fail
