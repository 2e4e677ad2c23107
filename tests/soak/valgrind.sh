#!/usr/bin/env bash
# Promise 5: every unit test binary (build/tests/test_*) and a short posbridge decode
# under valgrind memcheck: no errors and no definite leaks (exit 1 otherwise).
# Prints one line per binary and a summary. Needs `make all` and the test binaries.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
: "${POSBRIDGE:=$build/posbridge}"
: "${POSSIM:=$build/possim}"
export POSBRIDGE POSSIM
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed (apt-get install -y valgrind)"; exit 1; }
logs=${VALGRIND_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no)
pass=0
fail=0
failed=()
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in *.o | *.d) continue ;; esac
    n=$(basename "$t")
    start=$(date +%s)
    rc=0
    (cd "$root" && "${vg[@]}" --log-file="$logs/$n.vg" "$t" >"$logs/$n.out" 2>&1) || rc=$?
    errs=$(grep -c "ERROR SUMMARY\|definitely lost\|Invalid\|uninitialised" "$logs/$n.vg" 2>/dev/null || true)
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        echo "valgrind ok   $n ($(( $(date +%s) - start )) s)"
    else
        fail=$((fail + 1))
        failed+=("$n")
        echo "valgrind FAIL $n (exit $rc; $errs report lines; log $logs/$n.vg)"
        head -40 "$logs/$n.vg"
    fi
done
echo "valgrind: $pass clean, $fail failed${failed:+: ${failed[*]}}"
[ "$fail" -eq 0 ]
