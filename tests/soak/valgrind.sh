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
# The real binaries on real lanes: posbridge run (port losses, card data, alerts) and
# report/decode/monitor, each under memcheck through a wrapper. The wrapper's exit
# status 99 on an error fails the lane's clean-stop check.
if [ "${VALGRIND_LANES:-1}" != 0 ]; then
    mkdir -p "$logs/lanes"
    cat >"$logs/posbridge-vg" <<EOW
#!/bin/sh
exec ${vg[*]} --log-file=$logs/lanes/%p.vg $POSBRIDGE "\$@"
EOW
    chmod +x "$logs/posbridge-vg"
    lanes=$(mktemp -d)
    for lane in "carddata.py $lanes/card" "portloss.py $lanes/loss ${VALGRIND_PORTLOSS:-60}" \
                "privilege.py $lanes/priv"; do
        # shellcheck disable=SC2086
        if PORTLOSS_RSS=0 POSBRIDGE=$logs/posbridge-vg python3 "$here"/$lane >"$logs/lane.out" 2>&1; then
            pass=$((pass + 1))
            echo "valgrind ok   posbridge lane ${lane%% *}: $(tail -1 "$logs/lane.out" | cut -c1-120)"
        else
            fail=$((fail + 1))
            failed+=("lane ${lane%% *}")
            echo "valgrind FAIL posbridge lane ${lane%% *}"
            tail -20 "$logs/lane.out"
        fi
    done
    rm -rf "$lanes"
    bad=$(grep -l "definitely lost\|Invalid \|uninitialised\|Mismatched" "$logs"/lanes/*.vg 2>/dev/null || true)
    if [ -n "$bad" ]; then
        fail=$((fail + 1))
        failed+=("lane logs")
        echo "valgrind FAIL: reports in $bad"
        head -40 $bad
    fi
    echo "valgrind: $(ls "$logs"/lanes/*.vg | wc -l) posbridge processes under memcheck"
fi
echo "valgrind: $pass clean, $fail failed${failed:+: ${failed[*]}}"
[ "$fail" -eq 0 ]
