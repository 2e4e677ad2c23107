#!/usr/bin/env bash
# usage: fuzz-merge.sh HARNESS...   (e.g. fuzz-merge.sh fuzz_pax fuzz_mispos)
#
# Moves what long libFuzzer runs found (build-fuzz/corpus/<harness>) into the seed corpus
# that is committed (tests/fuzz/corpus/<name>), so that `make check` replays it and the
# next session's run of the same campaign starts where this one stopped
# (tests/soak/fuzz.sh explains campaigns and code ids). libFuzzer's -merge=1 keeps only
# the inputs that reach an edge the seeds do not (-use_counters=0: edges, not hit counts,
# which keeps each seed directory to a few hundred small files). Seeds are never removed.
# Prints per harness how many files were added. Needs `make fuzz` to have built the
# harness. Exit 64 on bad arguments, 1 when a merge fails.
set -uo pipefail

usage() {
    echo "usage: fuzz-merge.sh HARNESS...   (harnesses: build-fuzz/bin/fuzz_*)" >&2
    exit 64
}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
[ $# -ge 1 ] || usage
for h in "$@"; do
    case $h in fuzz_[a-z_]*) ;; *) usage ;; esac
    [ -x "build-fuzz/bin/$h" ] || { echo "fuzz-merge.sh: build-fuzz/bin/$h: not built (make fuzz)" >&2; exit 64; }
done

# The same -max_len as fuzz.sh gives the harness, or longer inputs would be cut.
max_len=$(sed -n '/^max_len() {/,/^}/p' "$here/fuzz.sh")
eval "$max_len"

fail=0
for h in "$@"; do
    seeds=tests/fuzz/corpus/${h#fuzz_}
    found=build-fuzz/corpus/$h
    mkdir -p "$seeds" "$found"
    tmp=$(mktemp -d)
    cp "$seeds"/* "$tmp"/ 2>/dev/null
    before=$(find "$tmp" -type f | wc -l)
    if ! "build-fuzz/bin/$h" -merge=1 -use_counters=0 -max_len="$(max_len "$h")" \
        -rss_limit_mb=2560 "$tmp" "$found" >"$tmp.log" 2>&1; then
        echo "fuzz-merge.sh: $h: merge failed, see $tmp.log" >&2
        fail=1
        rm -rf "$tmp"
        continue
    fi
    after=$(find "$tmp" -type f | wc -l)
    cp -n "$tmp"/* "$seeds"/
    echo "fuzz-merge.sh: $h: $before seeds, $((after - before)) added from $found ($(find "$found" -type f | wc -l) files)"
    rm -rf "$tmp" "$tmp.log"
done
exit $fail
