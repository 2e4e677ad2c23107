#!/usr/bin/env bash
# The layers' arrows are compile errors (docs/DESIGN.md, "Layers"): with the include paths
# the Makefile gives each layer, a header of a layer above or beside it is not found, and
# every header of its own layer and the ones below is; possim's link line names no bridge/
# object. (That lane/ and sim/ name no protocol is a separate matter, not checked here.)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
ok=0
inc() { make -s --no-print-directory print-INC_"$1"; }
# try LAYER DIR/HEADER WANT: preprocess '#include "HEADER"' with LAYER's paths; ok when it
# compiles and the header found is DIR/HEADER (not a system header of the same name, such
# as glibc's <link.h>); WANT ok|fail
try() {
    local flags
    flags=$(inc "$1")
    # shellcheck disable=SC2086
    if printf '#include "%s"\n' "${2#*/}" | cc -std=c11 -D_GNU_SOURCE $flags \
        $(pkg-config --cflags jansson 2>/dev/null) -MM -x c - >"$tmp/deps" 2>"$tmp/err" \
        && tr ' \\' '\n\n' <"$tmp/deps" | grep -qx "$2"; then
        got=ok
    else
        got=fail
    fi
    if [ "$got" = "$3" ]; then
        ok=$((ok + 1))
    else
        echo "test_layers: FAIL: $1 including $2: expected $3, got $got"
        sed 's/^/    /' "$tmp/err" | head -3
        fail=$((fail + 1))
    fi
}
hdrs() { ls "$1"/*.h 2>/dev/null; }

for h in $(hdrs protocols); do
    for l in protocols lane bridge sim; do try "$l" "$h" ok; done
done
for h in $(hdrs lane); do
    try protocols "$h" fail
    for l in lane bridge sim; do try "$l" "$h" ok; done
done
for h in $(hdrs bridge); do
    for l in protocols lane sim; do try "$l" "$h" fail; done
    try bridge "$h" ok
done
for h in $(hdrs sim); do
    for l in protocols lane bridge; do try "$l" "$h" fail; done
    try sim "$h" ok
done

# A header name used in two layers would make the arrow depend on -I order.
dups=$(for d in protocols lane bridge sim; do hdrs "$d"; done | sed 's|.*/||' | sort | uniq -d)
if [ -n "$dups" ]; then
    echo "test_layers: FAIL: header names in more than one layer: $dups"
    fail=$((fail + 1))
else
    ok=$((ok + 1))
fi

# possim links no bridge/ object: its link line in a dry run.
if make -n -B --no-print-directory "$(make -s --no-print-directory print-POSSIM)" 2>/dev/null \
    | grep -E '(^| )cc .*-o [^ ]*possim ' | grep -q 'libposbridge\|/bridge/'; then
    echo "test_layers: FAIL: possim links bridge/ code"
    fail=$((fail + 1))
else
    ok=$((ok + 1))
fi

echo "test_layers: $ok ok, $fail failed"
[ "$fail" = 0 ]
