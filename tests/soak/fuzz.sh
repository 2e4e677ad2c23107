#!/usr/bin/env bash
# Promise 4: long libFuzzer runs (ASan+UBSan) of every tests/fuzz/fuzz_*.c harness.
# Builds them through `make fuzz` (1 s each), then runs each until FUZZ_RUNS executions
# (default 10 000 000) or FUZZ_MAX_SECONDS (default 900), FUZZ_PAR harnesses at a time
# (default 2). New corpus entries go to build-fuzz/corpus/<harness>; the seeds stay in
# tests/fuzz/corpus/. Prints per harness: executions, seconds, exec/s, crash or not.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
runs=${FUZZ_RUNS:-10000000}
secs=${FUZZ_MAX_SECONDS:-900}
par=${FUZZ_PAR:-2}
out=${FUZZ_LOGS:-build-fuzz/logs}
make fuzz FUZZ_SECONDS=1 >/dev/null 2>&1 || { echo "fuzz.sh: make fuzz failed"; exit 1; }
mkdir -p "$out"
one() {
    local n=$1
    local seeds=tests/fuzz/corpus/${n#fuzz_}
    mkdir -p "build-fuzz/corpus/$n"
    local t0=$SECONDS rc=0
    "build-fuzz/bin/$n" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
        -rss_limit_mb=1024 -artifact_prefix="$out/$n-" "build-fuzz/corpus/$n" "$seeds" \
        >"$out/$n.log" 2>&1 || rc=$?
    local ex
    ex=$(grep -h "stat::number_of_executed_units" "$out/$n.log" | tail -1 | awk '{print $2}')
    local dt=$((SECONDS - t0))
    echo "fuzz $n: ${ex:-?} executions in ${dt} s ($(( ${ex:-0} / (dt > 0 ? dt : 1) )) exec/s), exit $rc$([ "$rc" -ne 0 ] && echo ' CRASH: see '"$out/$n.log")"
    return "$rc"
}
fail=0
pids=()
for h in build-fuzz/bin/fuzz_*; do
    one "$(basename "$h")" &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n || fail=1; done
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
wait
exit $fail
