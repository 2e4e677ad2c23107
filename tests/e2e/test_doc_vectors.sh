#!/usr/bin/env bash
# The wire vectors quoted in docs/PROTOCOLS.md are right twice over: their checksums
# recomputed by an independent script (tests/doc_vectors.py, the rule of each section),
# and each decoded by posbridge with a good checksum under the section's protocol.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POSBRIDGE:=$root/build/posbridge}"
fail=0
out=$(python3 "$root/tests/doc_vectors.py" "$root/docs/PROTOCOLS.md") || fail=1
echo "$out" | tail -1
n=0
while read -r status _ section rest; do
    [ "$status" = ok ] || continue
    proto=
    case "$section" in
    1:) proto=concert ;; 2:) proto=zvt ;; 3:) proto=pax ;; 4:) proto=mispos ;;
    esac
    [ -n "$proto" ] || continue
    hex=${rest##*: }
    n=$((n + 1))
    if ! "$POSBRIDGE" decode --protocol "$proto" --json --hex "$hex" 2>/dev/null |
        grep -q '"checksum_ok":true'; then
        echo "test_doc_vectors: FAIL: posbridge decode --protocol $proto: $hex"
        fail=1
    fi
done <<<"$out"
[ "$n" -ge 10 ] || { echo "test_doc_vectors: FAIL: only $n vectors found"; fail=1; }
[ "$fail" = 0 ] && echo "test_doc_vectors: $n vectors, checksums and decodes ok"
exit "$fail"
