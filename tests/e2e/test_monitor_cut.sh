#!/usr/bin/env bash
# `posbridge monitor` on a capture whose last block is cut short, as a crash of the
# bridge leaves it: the monitor shows what is whole, then waits for more without
# spinning (under 10% of a core over 3 s), reads the block once its rest arrives, and
# stops within 1 s of SIGTERM and of SIGINT.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "test_monitor_cut: FAIL: $*" >&2
    [ -f "$tmp/plain.out" ] && { echo "--- monitor:"; cat "$tmp/plain.out"; } >&2
    exit 1
}

# One Concert sale, 12.50 asked and 13.50 approved (docs/PROTOCOLS.md), as a dump.
python3 - "$tmp/sale.txt" <<'EOF'
import sys
def frame(body):
    b = body + b"\x03"
    x = 0
    for c in b: x ^= c
    return b"\x02" + b + bytes([x])
wire = [("ecr", b"\x05"), ("pt", b"\x06"),
        ("ecr", frame(b"0100001250110978          A010B010")), ("pt", b"\x06"),
        ("ecr", b"\x04"), ("pt", b"\x05"), ("ecr", b"\x06"),
        ("pt", frame(b"0100000135019780000000000")), ("ecr", b"\x06"), ("pt", b"\x04")]
with open(sys.argv[1], "w") as f:
    f.write("# posbridge capture dump; link type 148 (concert)\n")
    for i, (d, b) in enumerate(wire):
        f.write("2026-11-22T02:35:%02d.000000Z %-3s %s\n" % (8 + i, d, " ".join("%02x" % c for c in b)))
EOF
"$POSBRIDGE" capture import "$tmp/sale.txt" --pcapng "$tmp/whole.pcapng" 2>/dev/null
size=$(stat -c %s "$tmp/whole.pcapng")
# The last block (the terminal's EOT) loses its last 10 bytes.
head -c $((size - 10)) "$tmp/whole.pcapng" >"$tmp/cut.pcapng"
tail -c 10 "$tmp/whole.pcapng" >"$tmp/rest"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

"$POSBRIDGE" monitor "$tmp/cut.pcapng" --plain >"$tmp/plain.out" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 50); do grep -qF "== txn 1" "$tmp/plain.out" && break; sleep 0.1; done
grep -qF "== txn 1 purchase requested 12.50 EUR charged 13.50 EUR -> overcharge" "$tmp/plain.out" ||
    die "the whole blocks before the cut were not shown"
t0=$(cpu_ticks "$pid")
sleep 3
t1=$(cpu_ticks "$pid")
used=$((t1 - t0))
# 10% of 3 s
[ "$used" -lt $((hz * 3 / 10)) ] || die "monitor used $used of $((hz * 3)) clock ticks in 3 s on a cut block"
kill -0 "$pid" || die "monitor exited on a cut block instead of waiting"

# The rest of the block arrives (the writer was only part way through it): read once.
cat "$tmp/rest" >>"$tmp/cut.pcapng"
for _ in $(seq 30); do grep -q " pt  eot" "$tmp/plain.out" && break; sleep 0.1; done
[ "$(grep -c ' pt  eot' "$tmp/plain.out")" = 1 ] || die "the completed block was not read exactly once"

# SIGTERM: gone within a second, with its summary line.
start=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && die "monitor still running 1 s after SIGTERM"
wait "$pid" || true
ms=$((($(date +%s%N) - start) / 1000000))
grep -q "^-- transactions 1  discrepancies 1" "$tmp/plain.out" || die "no summary after SIGTERM"

# SIGINT, on a capture cut again and never completed.
head -c $((size - 10)) "$tmp/whole.pcapng" >"$tmp/cut2.pcapng"
"$POSBRIDGE" monitor "$tmp/cut2.pcapng" --plain >"$tmp/plain2.out" 2>&1 &
pid=$!
pids+=("$pid")
sleep 1
kill -INT "$pid"
for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && die "monitor still running 1 s after SIGINT"
wait "$pid" || true
echo "test_monitor_cut: ok ($used ticks of $((hz * 3)) in 3 s; exit ${ms} ms after SIGTERM)"
