#!/usr/bin/env bash
# bench/run.sh: the benchmarks of issue 8, run by `make bench` (never by `make check`).
# Every figure in docs/BENCHMARKS.md comes from one run of this script; each section
# prints the exact command it ran before its output. Results also go to
# $BENCH_OUT/results.txt (default build/bench/results.txt).
#
#   make bench                 the documented run (~10 minutes on 2 cores)
#   BENCH_QUICK=1 make bench   a smoke run of every section (~1 minute)
#
# Knobs (environment): BENCH_QUICK, BENCH_IDLE_S (idle window, default 60),
# BENCH_RTT (round trips per variant, payload and repetition, default 5000), BENCH_TXNS (lane
# transactions, default 10000), BENCH_CAP_MB (offline capture size, default 110),
# BENCH_LANES (lab scale steps, default "10 25 50 100"), BENCH_ONLY (space-separated
# section numbers to run, e.g. "1 3"), BENCH_PROFILE=1 (perf profiles of the hot paths).
#
# The machine is shared: variants that are compared run in the same invocation and take
# turns (interleaved rounds), so other load hits them alike; ratios are the figure that
# carries over to another machine, not the absolute microseconds.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
PB=$ROOT/$BUILD/posbridge
PS=$ROOT/$BUILD/possim
BB=$ROOT/$BUILD/bench
OUT=${BENCH_OUT:-$BB}
mkdir -p "$BB" "$OUT"
RESULTS=$OUT/results.txt
WORK=$(mktemp -d /tmp/posbridge-bench.XXXXXX)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    IDLE_S=${BENCH_IDLE_S:-5}; RTT=${BENCH_RTT:-1000}; TXNS=${BENCH_TXNS:-500}
    CAP_MB=${BENCH_CAP_MB:-10}; LANES=${BENCH_LANES:-"10"}; TPUT_MB=10; REPS=1
    JTXNS=2000
else
    IDLE_S=${BENCH_IDLE_S:-60}; RTT=${BENCH_RTT:-5000}; TXNS=${BENCH_TXNS:-10000}
    CAP_MB=${BENCH_CAP_MB:-110}; LANES=${BENCH_LANES:-"10 25 50 100"}; TPUT_MB=100; REPS=3
    JTXNS=20000
fi
ONLY=${BENCH_ONLY:-"1 2 3 4 5 6 7 8 9"}

PIDS=()
cleanup() {
    # by PID only; no bare `wait`: it would wait for the tee below, which waits for us
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec > >(tee "$RESULTS") 2>&1

want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
say() { printf '\n## %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_path() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "bench: $1 never appeared"; return 1; }
# Stop a process we started, by its PID, and reap it.
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# ---- build the measuring tools: libc only for pingpong ------------------------------
CC=${CC:-cc}
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$BB/pingpong" bench/pingpong.c || exit 1
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iprotocols -Ilane bench/capgen.c \
    "$BUILD/liblane.a" -o "$BB/capgen" || exit 1
$CC -O2 -std=c11 -D_GNU_SOURCE -Iprotocols -Ilane bench/bench_journal.c \
    "$BUILD/liblane.a" -lsqlite3 -lnettle -o "$BB/bench_journal" || exit 1
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iprotocols -Ilane bench/bench_deframer.c \
    "$BUILD/liblane.a" -o "$BB/bench_deframer" || exit 1

echo "# posbridge bench $(date -u +%Y-%m-%dT%H:%M:%SZ) quick=${BENCH_QUICK:-0}"
echo "# $(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD 2>/dev/null)"

# Frames (docs/PROTOCOLS.md; bytes as a real lane puts them on the wire):
# Concert purchase request of 12.50 EUR, 37 bytes (STX .. ETX LRC).
CONCERT_REQ="02 30 31 30 30 30 30 31 32 35 30 31 31 30 39 37 38 20 20 20 20 20 20 20 20 20 20 41 30 31 30 42 30 31 30 03 01"
# ZVT status information 04 0F (approved 12.50 EUR, trace, BMP 22 PAN masked as possim
# sends it, currency, receipt), 45 bytes DLE-framed with CRC, taken from a possim lane.
ZVT_STATUS="10 02 04 0f 23 27 00 04 00 00 00 00 12 50 0b 00 00 01 22 f0 f8 49 70 10 10 ee ee ee 00 14 29 52 50 00 01 49 09 78 87 00 01 10 03 e9 23"
ACK="06"

# A socat relay and a posbridge on two fresh pty pairs in $1 (a directory):
# $1/sa,$1/sb socat's ends; $1/<proto>a,<proto>b posbridge's.
start_socat() {
    socat pty,raw,echo=0,link="$1/sa" pty,raw,echo=0,link="$1/sb" & PIDS+=($!); SOCAT_PID=$!
    wait_path "$1/sa" && wait_path "$1/sb"
}
# start_pb DIR NAME PROTO [extra options]: decoding (PROTO), capture, journal, events on.
start_pb() {
    local d=$1 n=$2 proto=$3; shift 3
    "$PB" run --protocol "$proto" --register "pty:$d/${n}a" --terminal "pty:$d/${n}b" \
        --capture "$d/$n.pcapng" --journal "$d/$n.db" --events "$d/$n.jsonl" -q "$@" \
        2>>"$d/$n.log" & PIDS+=($!); PB_PID=$!
    wait_path "$d/${n}a" && wait_path "$d/${n}b"
}

# ---- 1. added latency -----------------------------------------------------------------
if want 1; then
    say "1. Added latency: ping-pong round trips (us), $RTT per variant, 50 interleaved rounds"
    D=$WORK/lat; mkdir -p "$D"
    start_socat "$D"
    start_pb "$D" zvt zvt
    start_pb "$D" concert concert
    start_pb "$D" none none --no-journal
    for spec in "1-byte:zvt:$ACK" "concert-request:concert:$CONCERT_REQ" "zvt-status-info:zvt:$ZVT_STATUS"; do
        IFS=: read -r label proto hex <<<"$spec"
        echo "### $label (posbridge --protocol $proto, capture+journal+events on; pb-none: --protocol none --no-journal, capture on)"
        for r in $(seq "$REPS"); do
            echo "repetition $r of $REPS:"
            run "$BB/pingpong" lat "$RTT" 50 "$hex" direct direct direct socat "$D/sa" "$D/sb" \
                posbridge "$D/${proto}a" "$D/${proto}b" pb-none "$D/nonea" "$D/noneb"
        done
    done
    for n in zvt concert none; do grep -h 'error' "$D/$n.log"; done
    for p in "${PIDS[@]}"; do stop "$p"; done; PIDS=()
fi

# ---- 9. added latency over loopback TCP (issue 20) ---------------------------------------
# free ports below the ephemeral range (32768+), where no outgoing connection takes them
free_ports() { python3 -c 'import socket, random
out = []
while len(out) < '"$1"':
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); out.append(p)
    except OSError:
        pass
    s.close()
print(*out)'; }
if want 9; then
    say "9. Added latency over loopback TCP: ping-pong round trips (us), $RTT per variant, 50 interleaved rounds"
    D=$WORK/tcp; mkdir -p "$D"
    read -r s1 s2 p1 p2 < <(free_ports 4)
    # socat: the register side connects to s1, socat connects on to s2 (pingpong listens)
    socat "TCP-LISTEN:$s1,bind=127.0.0.1,reuseaddr,nodelay" "TCP:127.0.0.1:$s2,nodelay" \
        2>"$D/socat.log" & PIDS+=($!)
    "$PB" run --protocol zvt --register "tcp-listen:127.0.0.1:$p1" --terminal "tcp:127.0.0.1:$p2" \
        --capture "$D/zvt.pcapng" --journal "$D/zvt.db" --events "$D/zvt.jsonl" -q \
        2>>"$D/zvt.log" & PIDS+=($!)
    sleep 0.5
    for spec in "1-byte:$ACK" "zvt-status-info:$ZVT_STATUS"; do
        IFS=: read -r label hex <<<"$spec"
        echo "### $label (posbridge --protocol zvt over tcp, capture+journal+events on)"
        run "$BB/pingpong" lat "$RTT" 50 "$hex" socat "tcp:127.0.0.1:$s1" "tcp-listen:127.0.0.1:$s2" \
            posbridge "tcp:127.0.0.1:$p1" "tcp-listen:127.0.0.1:$p2"
        # each pingpong run ends its connections; the next one makes new ones
        read -r s1 s2 < <(free_ports 2)
        for p in "${PIDS[@]:0:1}"; do stop "$p"; done
        PIDS=("${PIDS[@]:1}")
        socat "TCP-LISTEN:$s1,bind=127.0.0.1,reuseaddr,nodelay" "TCP:127.0.0.1:$s2,nodelay" \
            2>>"$D/socat.log" & PIDS=("$!" "${PIDS[@]}")
        sleep 0.3
    done
    grep -h 'error' "$D/zvt.log"
    for p in "${PIDS[@]}"; do stop "$p"; done; PIDS=()
fi

# ---- 2. idle cost ---------------------------------------------------------------------
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
proc_ctxt() { awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary_ctxt_switches/ {n=$2} END {print v + n}' "/proc/$1/status"; }
if want 2; then
    say "2. Idle cost over ${IDLE_S}s, ports open, no traffic"
    D=$WORK/idle; mkdir -p "$D"
    start_socat "$D"
    start_pb "$D" zvt zvt
    exec 7<>"$D/zvta" 8<>"$D/zvtb" 5<>"$D/sa" 6<>"$D/sb"
    sleep 1
    HZ=$(getconf CLK_TCK)
    c0=$(proc_cpu_ticks "$PB_PID"); w0=$(proc_ctxt "$PB_PID")
    s0=$(proc_cpu_ticks "$SOCAT_PID"); sw0=$(proc_ctxt "$SOCAT_PID")
    echo "\$ sleep $IDLE_S   # reading /proc/PID/stat utime+stime and /proc/PID/status ctxt switches before and after"
    sleep "$IDLE_S"
    c1=$(proc_cpu_ticks "$PB_PID"); w1=$(proc_ctxt "$PB_PID")
    s1=$(proc_cpu_ticks "$SOCAT_PID"); sw1=$(proc_ctxt "$SOCAT_PID")
    awk -v c=$((c1 - c0)) -v w=$((w1 - w0)) -v hz="$HZ" -v s="$IDLE_S" -v n=posbridge \
        'BEGIN {printf "%-10s cpu %d ticks (%.3f s, %.4f%% of one core), %d context switches (wake-ups) in %d s\n", n, c, c/hz, 100*c/hz/s, w, s}'
    awk -v c=$((s1 - s0)) -v w=$((sw1 - sw0)) -v hz="$HZ" -v s="$IDLE_S" -v n=socat \
        'BEGIN {printf "%-10s cpu %d ticks (%.3f s, %.4f%% of one core), %d context switches (wake-ups) in %d s\n", n, c, c/hz, 100*c/hz/s, w, s}'
    if command -v strace >/dev/null; then
        ST=$(( IDLE_S < 10 ? IDLE_S : 10 ))
        echo "\$ timeout -s INT $ST strace -c -f -p \$POSBRIDGE_PID"
        timeout -s INT "$ST" strace -c -f -p "$PB_PID" -o "$D/strace.txt" 2>/dev/null
        if grep -q total "$D/strace.txt"; then cat "$D/strace.txt"
        else echo "strace -c: no syscall at all in ${ST}s"; fi
    fi
    exec 7>&- 8>&- 5>&- 6>&-
    for p in "${PIDS[@]}"; do stop "$p"; done; PIDS=()
fi

# ---- 3. throughput --------------------------------------------------------------------
if want 3; then
    say "3. Throughput: ${TPUT_MB} MB one way through the relay, count and FNV-1a checked; $REPS interleaved repetitions"
    D=$WORK/tput; mkdir -p "$D"
    start_socat "$D"
    start_pb "$D" concert concert
    start_pb "$D" zvt zvt
    start_pb "$D" none none --no-journal
    for w in 37 4096; do
        # 37-byte writes cost a syscall per frame on every side: a fifth of the volume
        BYTES=$((TPUT_MB * 1000000)); [ "$w" = 37 ] && BYTES=$((BYTES / 5))
        for r in $(seq "$REPS"); do
            for v in socat:s concert:concert zvt:zvt pb-none:none; do
                IFS=: read -r label ends <<<"$v"
                hex=$CONCERT_REQ; [ "$label" = zvt ] && hex=$ZVT_STATUS
                printf '%-8s rep %d: ' "$label" "$r"
                "$BB/pingpong" tput "$BYTES" "$w" "$hex" "$D/${ends}a" "$D/${ends}b" || echo "FAILED"
            done
        done
    done
    echo "(commands: $BB/pingpong tput BYTES WRITE HEX A B; socat A,B = its ptys; concert/zvt ="
    echo " posbridge --protocol concert|zvt with capture, journal, events on, the stream is the"
    echo " 37-byte Concert request resp. the 45-byte ZVT status information back to back;"
    echo " pb-none = posbridge --protocol none --no-journal, capture on)"
    ls -l "$D"/*.pcapng
    for p in "${PIDS[@]}"; do stop "$p"; done; PIDS=()
fi

# ---- 4 + 6b. footprint over a lane of TXNS transactions (also: a day end to end) --------
# possim run's register, posbridge and terminal on ptys; the scenario: TXNS sales,
# think 0 and gap 0 (an accelerated day), every 10th an overcharge. A wrapper records
# posbridge's PID so its RSS can be sampled every 0.5 s.
LANE_CAP=""
if want 4 || want 5 || want 6; then
    D=$WORK/lane; mkdir -p "$D"
    {
        echo "# generated by bench/run.sh: $TXNS transactions, accelerated"
        echo "protocol zvt"; echo "seed 8"; echo "think 0ms"; echo "gap 0ms"
        for i in $(seq "$TXNS"); do
            if [ $((i % 10)) = 0 ]; then echo "sale 20.00 charge +1.00 expect overcharge charged=21.00"
            else echo "sale 12.50 expect ok charged=12.50"; fi
        done
    } >"$D/day.scn"
    cat >"$D/pb-wrap.sh" <<EOF
#!/bin/sh
echo \$\$ > "$D/pb.pid"
exec "$PB" "\$@"
EOF
    chmod +x "$D/pb-wrap.sh"
    say "4. Footprint and 6b. an accelerated day: $TXNS ZVT transactions through possim run"
    echo "\$ possim run --posbridge pb-wrap.sh --run-dir DIR --keep -q day.scn   # day.scn: $TXNS sales, think 0ms, gap 0ms"
    t0=$(date +%s.%N)
    "$PS" run --posbridge "$D/pb-wrap.sh" --run-dir "$D/run" --keep -q "$D/day.scn" >"$D/possim.out" 2>&1 &
    PR=$!; PIDS+=($PR)
    wait_path "$D/pb.pid"; P=$(cat "$D/pb.pid")
    : >"$D/rss.txt"
    while kill -0 "$P" 2>/dev/null; do
        t=$(date +%s.%N)
        awk -v t="$t" -v t0="$t0" '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {if (r) printf "%.1f %d %d\n", t-t0, r, h}' "/proc/$P/status" 2>/dev/null >>"$D/rss.txt"
        sleep 0.2
    done
    wait "$PR"; rc=$?; PIDS=()
    t1=$(date +%s.%N)
    tail -2 "$D/possim.out"
    LANEDIR=$(ls -d "$D"/run/*/ | head -1)
    LANE_CAP=$LANEDIR/lane.pcapng
    closed=$(grep -c . "$LANEDIR/events.jsonl")
    awk -v a="$t0" -v b="$t1" -v n="$TXNS" -v rc="$rc" -v c="$closed" 'BEGIN {printf "day end to end: %d transactions in %.1f s = %.0f txn/s (possim run exit %d; %d closed events)\n", n, b-a, n/(b-a), rc, c}'
    ls -l "$LANEDIR"
    # The classes, counted in the journal itself too (possim run's own verdict is above).
    echo "journal classes (expected: ok $((TXNS - TXNS / 10)), overcharge $((TXNS / 10))):"
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$LANEDIR/journal.db" "SELECT state, class, count(*) FROM transactions GROUP BY 1, 2"
    else echo "(sqlite3 shell not installed: classes not checked)"; fi
    echo "RSS samples every 0.2 s (s, VmRSS KiB, VmHWM KiB), every 10th:"
    awk 'NR % 10 == 1' "$D/rss.txt"
    awk 'NR==1 {f=$2} {if ($2>m) m=$2; if ($3>h) h=$3; l=$2; n=NR} END {printf "samples %d; VmRSS first %d KiB, last %d KiB, max %d KiB; VmHWM %d KiB (%.2f MiB)\n", n, f, l, m, h, h/1024}' "$D/rss.txt"
fi

# ---- 5. offline analysis --------------------------------------------------------------
if want 5 && [ -n "$LANE_CAP" ]; then
    say "5. Offline analysis: posbridge decode vs tshark on a ${CAP_MB} MB capture"
    BIG=$WORK/big.pcapng
    run "$BB/capgen" "$LANE_CAP" "$BIG" "$CAP_MB"
    size=$(stat -c %s "$BIG")
    UAT='uat:user_dlts:"User 0 (DLT=147)","zvt","0","","0",""'
    for r in $(seq "$REPS"); do
        t0=$(date +%s.%N); "$PB" decode "$BIG" >/dev/null 2>"$WORK/decode.err"; t1=$(date +%s.%N)
        echo "rep $r: posbridge decode BIG.pcapng >/dev/null: $(awk -v a="$t0" -v b="$t1" -v s="$size" 'BEGIN {printf "%.2f s, %.1f MB/s", b-a, s/(b-a)/1e6}')"
        tail -1 "$WORK/decode.err"
        command -v tshark >/dev/null || { echo "(tshark not installed)"; continue; }
        t0=$(date +%s.%N); tshark -r "$BIG" -o "$UAT" >/dev/null 2>&1; t1=$(date +%s.%N)
        echo "rep $r: tshark -r BIG.pcapng -o '$UAT' >/dev/null: $(awk -v a="$t0" -v b="$t1" -v s="$size" 'BEGIN {printf "%.2f s, %.1f MB/s", b-a, s/(b-a)/1e6}')"
    done
    txns=$(grep -o '[0-9]* transactions' "$WORK/decode.err" | cut -d' ' -f1)
    echo "transactions in the capture: $txns"
    rm -f "$BIG"
fi

# ---- 6. journal -----------------------------------------------------------------------
if want 6; then
    say "6. Journal: transactions per second (bench/bench_journal.c, docs/JOURNAL.md)"
    mkdir -p "$WORK/journal"
    run "$BB/bench_journal" "$WORK/journal" "$JTXNS"
    echo "(6b, a day end to end, is in section 4)"
fi

# ---- 7. lab scale ---------------------------------------------------------------------
if want 7; then
    say "7. Lab scale: N lanes at once (possim run of a small scenario, one run dir each)"
    D=$WORK/lab; mkdir -p "$D"
    {
        echo "protocol zvt"; echo "seed 7"
        echo "sale 12.50 expect ok charged=12.50"
        echo "sale 20.00 charge +1.00 expect overcharge charged=21.00"
        echo "sale 9.99 decline 05 expect declined"
        echo "sale 5.00 expect ok charged=5.00"
        echo "refund 3.00 expect ok"
        echo "sale 7.00 charge -1.00 expect undercharge charged=6.00"
    } >"$D/lab.scn"
    echo "\$ for i in 1..N: possim run --run-dir DIR/i -q lab.scn &   (6 transactions: ok, overcharge, declined, ok, refund ok, undercharge)"
    for n in $LANES; do
        rm -rf "$D/n$n"; mkdir -p "$D/n$n"
        t0=$(date +%s.%N)
        lp=()
        for i in $(seq "$n"); do
            "$PS" run --run-dir "$D/n$n/$i" -q "$D/lab.scn" >"$D/n$n/$i.out" 2>&1 & lp+=($!)
        done
        fail=0
        for p in "${lp[@]}"; do wait "$p" || fail=$((fail + 1)); done
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" -v n="$n" -v f="$fail" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
            'BEGIN {printf "%3d lanes: %3d passed, %3d failed, wall %.1f s, load %s\n", n, n-f, f, b-a, l}'
        if [ "$fail" -gt 0 ]; then
            echo "  first failures:"
            grep -L '^[0-9]* passed, 0 failed' "$D/n$n"/*.out | head -3 | while read -r f; do echo "  $f:"; grep -v PASS "$f" | head -6 | sed 's/^/    /'; done
        fi
        [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$D/n$n"
    done
fi

# ---- 8. hostile byte patterns through the deframers ----------------------------------
if want 8; then
    say "8. Hostile input: deframer cost per byte of adversarial patterns vs random bytes"
    if [ "${BENCH_QUICK:-0}" = 1 ]; then run "$BB/bench_deframer" 1 1; else run "$BB/bench_deframer" 16 5; fi
fi

# ---- profiles (optional) --------------------------------------------------------------
if [ "${BENCH_PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
    say "Profile: posbridge run under the 4096-byte Concert throughput stream (perf, cpu-clock)"
    D=$WORK/prof; mkdir -p "$D"
    start_pb "$D" concert concert
    perf record -q -e cpu-clock -F 1000 --call-graph dwarf,16384 -o "$D/perf.data" -p "$PB_PID" 2>/dev/null & PR=$!
    sleep 0.3
    "$BB/pingpong" tput 30000000 4096 "$CONCERT_REQ" "$D/concerta" "$D/concertb"
    kill -INT "$PR"; wait "$PR"
    perf report -i "$D/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25
    for p in "${PIDS[@]}"; do stop "$p"; done; PIDS=()
fi

echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); results in $RESULTS"
