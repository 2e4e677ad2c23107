#!/usr/bin/env bash
# usage: codeid.sh BINARY
#
# Prints the code id of BINARY: what its fuzz execution counts are a count of (fuzz.sh
# records it per run; docs/RELIABILITY.md section 4 explains campaigns). It is the first
# 12 hex digits of a SHA-256 over the repository files compiled into BINARY: its compile
# units, read from the binary's debug information (DW_AT_name, a path relative to the
# repository root, as the Makefile compiles from there), and the repository headers each
# one includes, as the compiler itself lists them (`cc -MM`, so a header the binary does
# not include leaves the id alone, and one included through another header does not).
# Files are hashed by content in path order, so two checkouts of the same sources agree
# wherever they are. Exit 64 on bad arguments, 66 when BINARY does not exist, 1 when it
# names no file of this repository (no debug information, or built elsewhere), with a
# message. Tested by tests/e2e/test_soak_codeid.sh.
set -uo pipefail

usage() {
    echo "usage: codeid.sh BINARY   (a fuzz harness built with -g, e.g. build-fuzz/bin/fuzz_pax)" >&2
    exit 64
}
[ $# -eq 1 ] && [ -n "$1" ] || usage
bin=$(realpath -e -- "$1" 2>/dev/null) || { echo "codeid.sh: $1: no such file" >&2; exit 66; }
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1

mapfile -t srcs < <(readelf --debug-dump=info "$bin" 2>/dev/null |
    awk '/DW_TAG_compile_unit/ { cu = 1; next } cu && /DW_AT_name/ { print $NF; cu = 0 }' |
    while read -r f; do case $f in /*) ;; *) [ -f "$f" ] && echo "$f" ;; esac; done | sort -u)
if [ ${#srcs[@]} -eq 0 ]; then
    echo "codeid.sh: $1: names no source file of $(pwd) (built without -g, or elsewhere)" >&2
    exit 1
fi
mapfile -t files < <(for f in "${srcs[@]}"; do
    cc -MM -D_GNU_SOURCE -Iprotocols -Ilane -Ibridge -Isim "$f" 2>/dev/null || echo "$f"
done | tr ' ' '\n' | grep -v -e ':$' -e '^\\$' -e '^$' | sort -u)
cat -- "${files[@]}" | sha256sum | cut -c1-12
