#!/usr/bin/env bash
# A TCP lane byte by byte (issue 20), with peers written here rather than possim's: a ZVT
# terminal on loopback that answers what it is sent, the real bridge between, and a
# register that (1) sends its request one byte per segment, (2) puts two frames in one
# segment, (3) connects once per transaction, and (4) drops its connection after the
# terminal accepted a sale. The bridge must forward every byte unchanged and in order,
# record the sales, and put the dropped one in doubt (late, when the approval comes after).
set -u
: "${POSBRIDGE:?}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "test_tcp_lane: FAIL: $*" >&2; exit 1; }

# two free ports below the ephemeral range (32768+), where no outgoing connection lands
read -r pt ecr < <(python3 -c 'import socket, random
out = []
while len(out) < 2:
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); out.append(p)
    except OSError:
        pass
    s.close()
print(*out)')

cat >"$tmp/peers.py" <<'PY'
import socket, sys, time, threading

def crc16_kermit(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc

def frame(apdu):  # docs/PROTOCOLS.md section 2: DLE STX, 0x10 doubled, DLE ETX, CRC lo hi
    c = crc16_kermit(apdu + b"\x03")
    return b"\x10\x02" + apdu.replace(b"\x10", b"\x10\x10") + b"\x10\x03" + bytes([c & 0xFF, c >> 8])

def bcd_amount(cents):
    s = "%012d" % cents
    return bytes(int(s[i:i + 2], 16) for i in range(0, 12, 2))

def read_frame(conn, buf):
    while True:
        i = buf.find(b"\x10\x03")
        while i >= 0 and i > 0 and buf[i - 1] == 0x10 and buf.count(b"\x10", 0, i) % 2 == 0:
            i = buf.find(b"\x10\x03", i + 1)
        if i >= 0 and len(buf) >= i + 4:
            return buf[:i + 4], buf[i + 4:]
        d = conn.recv(4096)
        if not d:
            return None, buf
        buf += d

def terminal(port, log):
    # Answers every command: ACK, 80 00 00, 04 0F approved with the amount, 06 0F.
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port)); ls.listen(4)
    while True:
        conn, _ = ls.accept()
        buf = b""
        while True:
            f, buf = read_frame(conn, buf)
            if f is None:
                break
            log.append(f)
            apdu = f[2:-4].replace(b"\x10\x10", b"\x10")
            conn.sendall(b"\x06")
            if apdu[:2] == b"\x06\x01":
                amount = apdu[4:10]
                conn.sendall(frame(b"\x80\x00\x00"))
                time.sleep(0.05)
                conn.sendall(frame(b"\x04\x0f\x09\x27\x00\x04" + amount))
                time.sleep(0.05)
                conn.sendall(frame(b"\x06\x0f\x00"))
        conn.close()

def sale(cents):
    return frame(b"\x06\x01\x07\x04" + bcd_amount(cents))

def register(port, mode):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def send_app_acks(n):
        got = b""
        end = time.time() + 3
        while got.count(b"\x10\x03") < n and time.time() < end:
            s.settimeout(0.5)
            try:
                got += s.recv(4096)
            except socket.timeout:
                pass
        return got
    if mode == "bytes":   # one byte per TCP segment
        for b in sale(1234):
            s.send(bytes([b])); time.sleep(0.002)
    elif mode == "two":   # two frames (the app ACK of nothing, then a sale) in one segment
        s.sendall(frame(b"\x80\x00\x00") + sale(2345))
    elif mode == "drop":  # the cable goes after the terminal's acceptance
        s.sendall(sale(999))
        s.settimeout(2)
        got = b""
        while b"\x80\x00\x00" not in got:
            got += s.recv(4096)
        s.close()
        return
    got = send_app_acks(3)  # 80 00 00, 04 0F, 06 0F
    s.sendall(b"\x06" + frame(b"\x80\x00\x00") + b"\x06" + frame(b"\x80\x00\x00"))
    time.sleep(0.2)
    s.close()

if sys.argv[1] == "terminal":
    log = []
    threading.Thread(target=terminal, args=(int(sys.argv[2]), log), daemon=True).start()
    while True:
        time.sleep(0.1)
        open(sys.argv[3], "wb").write(b"".join(log))
else:
    register(int(sys.argv[2]), sys.argv[3])
PY

python3 "$tmp/peers.py" terminal "$pt" "$tmp/terminal.got" &
pids+=($!)
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $pt)).close()" 2>/dev/null && break; sleep 0.05; done
"$POSBRIDGE" run --protocol zvt --register "tcp-listen:127.0.0.1:$ecr" --terminal "tcp:127.0.0.1:$pt" \
    --journal "$tmp/j.db" --capture "$tmp/c.pcapng" --response-timeout 2000 --shutdown-wait 1 \
    2>"$tmp/bridge.err" &
bp=$!
pids+=("$bp")
for _ in $(seq 100); do grep -q "0100007F:$(printf %04X "$ecr") .* 0A" /proc/net/tcp 2>/dev/null && break; sleep 0.05; done

python3 "$tmp/peers.py" register "$ecr" bytes || die "register (one byte per segment)"
python3 "$tmp/peers.py" register "$ecr" two || die "register (two frames per segment)"
python3 "$tmp/peers.py" register "$ecr" drop || die "register (drop)"
sleep 3
kill "$bp"; wait "$bp" 2>/dev/null

# Every byte the registers sent reached the terminal unchanged and in order.
python3 - "$tmp/terminal.got" <<'PY' || die "the terminal did not get the requests byte for byte"
import sys
got = open(sys.argv[1], "rb").read()
assert got.count(b"\x06\x01\x07\x04\x00\x00\x00\x00\x12\x34") == 1, got
assert got.count(b"\x06\x01\x07\x04\x00\x00\x00\x00\x23\x45") == 1, got
assert got.count(b"\x06\x01\x07\x04\x00\x00\x00\x00\x09\x99") == 1, got
PY
"$POSBRIDGE" report --journal "$tmp/j.db" --all --csv >"$tmp/rows.csv"
python3 - "$tmp/rows.csv" <<'PY' || { cat "$tmp/rows.csv" "$tmp/bridge.err" >&2; die "journal"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["requested"]): r for r in rows if r["type"] == "purchase"}
assert by["1234"]["class"] == "ok" and by["1234"]["charged"] == "1234", by
assert by["2345"]["class"] == "ok" and by["2345"]["charged"] == "2345", by
# the terminal approved after the register had gone: in doubt at the drop, then late
assert by["999"]["class"] == "late_approval" and "link lost" in by["999"]["detail"], by
assert len([r for r in rows if r["type"] == "purchase"]) == 3, rows
PY
grep -q "register link lost" "$tmp/bridge.err" || die "no link event for the register's connection"
"$POSBRIDGE" decode "$tmp/c.pcapng" >"$tmp/decode.txt" 2>&1 || die "decode of the TCP lane's capture"
[ "$(grep -c '== transaction' "$tmp/decode.txt")" -ge 3 ] || { cat "$tmp/decode.txt"; die "decode"; }
echo "test_tcp_lane: ok (byte segments, two frames per segment, a connection per transaction, a drop mid-transaction in doubt)"
