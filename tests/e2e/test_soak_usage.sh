#!/usr/bin/env bash
# The soak scripts are command lines too (QA labs run them by hand and in CI): each one,
# given too few arguments, a count that is not a positive whole number, or a word it
# does not know, prints its usage and exits 64 (EX_USAGE), as posbridge does, and starts
# nothing. None of these rows reaches the point where a script needs $POSBRIDGE.
set -euo pipefail
here=$(cd "$(dirname "$0")/../soak" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checks=0
# row SCRIPT ARGS...: exit 64, "usage: SCRIPT" on stderr, nothing on stdout, no workdir
row() {
    local script=$1
    shift
    local rc=0 run=(python3 "$here/$script")
    [ "${script##*.}" = sh ] && run=(bash "$here/$script")
    timeout 20 "${run[@]}" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    if [ "$rc" -ne 64 ] || ! grep -q "^usage: $script" "$tmp/err" || [ -s "$tmp/out" ] ||
        [ -e "$tmp/work" ]; then
        echo "FAIL: $script $*: exit $rc, stderr: $(head -c 300 "$tmp/err")" >&2
        exit 1
    fi
    checks=$((checks + 1))
}

for s in portloss.py usbloss.py usbloss.sh crash.py; do
    row "$s"
    row "$s" "$tmp/work"
    row "$s" "$tmp/work" 0
    row "$s" "$tmp/work" -3
    row "$s" "$tmp/work" 12x
    row "$s" "$tmp/work" 5 extra
done
row diskfull.py
row diskfull.py fsize "$tmp/work"
row diskfull.py fsize "$tmp/work" none
row diskfull.py floppy "$tmp/work" 5
for s in privilege.py carddata.py; do
    row "$s"
    row "$s" ""
    row "$s" "$tmp/work" extra
done
row fuzz-merge.sh
row fuzz-merge.sh ../../etc
row codeid.sh
row codeid.sh a b
echo "test_soak_usage: $checks checks passed"
