#!/usr/bin/env bash
# tests/soak/codeid.sh decides which fuzz runs add up to one campaign's 10 million
# executions (docs/RELIABILITY.md section 4), so what it must notice is checked here on a
# small tree of its own: a program built from protocols/a.c (which includes a.h, which
# includes b.h) and bridge/m.c, beside files the program does not use. The id must change
# when any file compiled into the program changes, directly or through a header, and only
# then; two copies of the same sources in different places must agree; a binary without
# debug information or no binary at all is an error, not an id.
set -euo pipefail
here=$(cd "$(dirname "$0")/../soak" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checks=0
fail() {
    echo "FAIL: test_soak_codeid: $*" >&2
    exit 1
}

# tree DIR: the small repository, built with -g from its root as the Makefile builds
tree() {
    mkdir -p "$1/tests/soak" "$1/protocols" "$1/bridge"
    cp "$here/codeid.sh" "$1/tests/soak/"
    printf '#include "b.h"\nint a(void);\n' >"$1/protocols/a.h"
    printf '#define B 2\n' >"$1/protocols/b.h"
    printf '#define C 3\n' >"$1/protocols/c.h"
    printf '#include "a.h"\nint a(void) { return B; }\n' >"$1/protocols/a.c"
    printf '#include "a.h"\nint main(void) { return a(); }\n' >"$1/bridge/m.c"
    printf 'int unused(void);\nint unused(void) { return 0; }\n' >"$1/bridge/u.c"
}
build() {
    (cd "$1" && cc -g -O0 -Iprotocols -Ibridge protocols/a.c bridge/m.c -o prog)
}
id() {
    "$1/tests/soak/codeid.sh" "$1/prog"
}
# expect same|differs WHAT BEFORE AFTER
expect() {
    case $1 in
    same) [ "$3" = "$4" ] || fail "$2 changed the id ($3 -> $4)" ;;
    differs) [ "$3" != "$4" ] || fail "$2 left the id at $3" ;;
    esac
    checks=$((checks + 1))
}

tree "$tmp/r"
build "$tmp/r"
base=$(id "$tmp/r")
[[ $base =~ ^[0-9a-f]{12}$ ]] || fail "id is '$base', not 12 hex digits"
expect same "asking twice" "$base" "$(id "$tmp/r")"

# Another checkout at another path, built there: the same id.
tree "$tmp/elsewhere/r2"
build "$tmp/elsewhere/r2"
expect same "another checkout" "$base" "$(id "$tmp/elsewhere/r2")"

# Files the program does not compile or include: no change.
echo '/* edited */' >>"$tmp/r/protocols/c.h"
expect same "a header nothing includes" "$base" "$(id "$tmp/r")"
echo '/* edited */' >>"$tmp/r/bridge/u.c"
expect same "a source not linked in" "$base" "$(id "$tmp/r")"

# Each file that is compiled in: a new id, and the old one back when it is undone.
for f in protocols/a.c bridge/m.c protocols/a.h protocols/b.h; do
    cp "$tmp/r/$f" "$tmp/saved"
    echo '/* edited */' >>"$tmp/r/$f"
    expect differs "$f edited" "$base" "$(id "$tmp/r")"
    cp "$tmp/saved" "$tmp/r/$f"
    expect same "$f restored" "$base" "$(id "$tmp/r")"
done

# No debug information: exit 1 and a message, never an id.
strip -g -o "$tmp/r/prog.stripped" "$tmp/r/prog"
rc=0
"$tmp/r/tests/soak/codeid.sh" "$tmp/r/prog.stripped" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "names no source file" "$tmp/err" ||
    fail "stripped binary: exit $rc, stdout '$(cat "$tmp/out")', stderr '$(cat "$tmp/err")'"
checks=$((checks + 1))
rc=0
"$tmp/r/tests/soak/codeid.sh" "$tmp/r/no-such-prog" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 66 ] && [ ! -s "$tmp/out" ] && grep -q "no-such-prog: no such file" "$tmp/err" ||
    fail "missing binary: exit $rc, stdout '$(cat "$tmp/out")', stderr '$(cat "$tmp/err")'"
checks=$((checks + 1))

echo "test_soak_codeid: $checks checks passed"
