#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (from the repository root, with $POSBRIDGE and $POSSIM
# set by `make check-e2e`), each under a time limit, and prints "N passed, N failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POSBRIDGE:=$root/build/posbridge}"
: "${POSSIM:=$root/build/possim}"
: "${E2E_TIMEOUT:=300}"
export POSBRIDGE POSSIM

pass=0
fail=0
failed=()
for t in "$here"/test_*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t")
    echo "== e2e $name"
    if timeout "$E2E_TIMEOUT" bash "$t"; then
        pass=$((pass + 1))
    else
        echo "FAILED: e2e $name"
        fail=$((fail + 1))
        failed+=("$name")
    fi
done
echo "$pass passed, $fail failed"
if [ "$fail" -ne 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
exit 0
