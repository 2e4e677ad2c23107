"""Shared helpers for the reliability tests and soaks (tests/soak/*.py).

A test lane here is: two pseudo-terminals this process owns (the "terminal device" and
the "register device"), a posbridge that opens both slaves by path like real serial
ports, and this process playing register and terminal on the masters with frames built
from the docs/PROTOCOLS.md rules (ZVT: DLE stuffing + CRC-16/KERMIT; Concert: LRC). Owning
the masters lets a test pull a "cable" (close the pty), plug it back (new pty, same
path), and compare bytes at both ends exactly.
"""
import atexit
import ctypes
import os
import struct
import random
import select
import signal
import sqlite3
import subprocess
import sys
import termios
import time
import tty

# ---- frames (docs/PROTOCOLS.md) --------------------------------------------------------

DLE, STX, ETX, ACK, ENQ, EOT = 0x10, 0x02, 0x03, 0x06, 0x05, 0x04


def crc_kermit(data):
    """CRC-16/KERMIT: poly 0x1021 reflected (0x8408), init 0, no final xor."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def zvt_frame(apdu):
    """DLE STX | APDU with 0x10 doubled | DLE ETX | CRC lo hi (CRC over APDU + 0x03)."""
    apdu = bytes(apdu)
    crc = crc_kermit(apdu + b"\x03")
    return (b"\x10\x02" + apdu.replace(b"\x10", b"\x10\x10") + b"\x10\x03"
            + bytes([crc & 0xFF, crc >> 8]))


def bcd(digits):
    if len(digits) % 2:
        digits = "0" + digits
    return bytes(int(digits[i:i + 2], 16) for i in range(0, len(digits), 2))


def zvt_apdu(cls, ins, data):
    data = bytes(data)
    if len(data) < 0xFF:
        return bytes([cls, ins, len(data)]) + data
    return bytes([cls, ins, 0xFF, len(data) & 0xFF, len(data) >> 8]) + data


def llvar(raw, lll=False):
    n = len(raw)
    if lll:
        return bytes([0xF0 | (n // 100), 0xF0 | (n // 10 % 10), 0xF0 | (n % 10)]) + raw
    return bytes([0xF0 | (n // 10), 0xF0 | (n % 10)]) + raw


def zvt_purchase(cents):
    # 06 01 authorisation, BMP 04 amount (6 BCD), BMP 49 currency 978.
    return zvt_frame(zvt_apdu(0x06, 0x01, b"\x04" + bcd("%012d" % cents) + b"\x49\x09\x78"))


def zvt_status(cents, trace, pan=None, track2=None, track1=None, track3=None, tlv=None):
    """04 0F status information: result 00, amount, trace, currency, optional card data,
    and an optional BMP 06 TLV container (its value bytes, the length is added)."""
    d = b"\x27\x00\x04" + bcd("%012d" % cents) + b"\x0B" + bcd("%06d" % (trace % 1000000))
    d += b"\x49\x09\x78"
    if pan:
        d += b"\x22" + llvar(bcd_pan(pan))
    if track2:
        d += b"\x23" + llvar(bcd_pan(track2.replace("=", "D")))
    if track3:
        d += b"\x24" + llvar(bcd_pan(track3.replace("=", "D")), lll=True)
    if track1:
        d += b"\x2D" + llvar(track1.encode())
    if tlv:
        n = len(tlv)
        d += b"\x06" + (bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100
                        else bytes([0x82, n >> 8, n & 0xFF])) + tlv
    return zvt_frame(zvt_apdu(0x04, 0x0F, d))


def bcd_pan(s):
    """Digits (and D separators) packed two per byte, F padded (BMP 22/23 style)."""
    if len(s) % 2:
        s += "F"
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))


ZVT_ACCEPTED = zvt_frame(b"\x80\x00\x00")
ZVT_COMPLETION = zvt_frame(b"\x06\x0F\x00")
ZVT_INTERMEDIATE = zvt_frame(b"\x04\xFF\x01\x0A")


def lrc(data):
    x = 0
    for b in data:
        x ^= b
    return x


def concert_frame(body):
    body = bytes(body) + b"\x03"
    return b"\x02" + body + bytes([lrc(body)])


def concert_request(cents, pos="01", full=True):
    body = (pos + "%08d" % cents + ("1" if full else "0") + "1" + "0" + "978"
            + " " * 10 + "A010" + "B010")
    return concert_frame(body.encode())


def concert_answer(cents, pos="01", report=None, private="0000000000"):
    """Short answer (25 bytes) or, with report (55 chars), the full 80-byte answer."""
    body = pos + "0" + "%08d" % cents + "1"
    if report is not None:
        body += report.ljust(55)[:55]
    body += "978" + private
    return concert_frame(body.encode())


def pax_frame(fields):
    """PAX POSLink: STX, fields separated by FS (sub-fields by US), ETX, LRC of the bytes
    after STX through ETX (docs/PROTOCOLS.md 3)."""
    body = b"\x1c".join(fields) + b"\x03"
    return b"\x02" + body + bytes([lrc(body)])


def pax_request(cents, ref, pan=None, ext=b""):
    """T00 sale; pan: a manually keyed card (number, expiry, CVV in the account group)."""
    account = b"" if pan is None else pan.encode() + b"\x1f1225\x1f123"
    return pax_frame([b"T00", b"1.28", b"01", b"%d" % cents, account, ref.encode(),
                      b"", b"", b"", b"", ext])


def pax_response(cents, ref, pan_field=b"1111", message=b"APPROVED"):
    """T01 approved: host group (auth code, trace), type 01, approved amount, account
    group (the terminal sends the last 4; a test may put more there), trace group
    (terminal transaction number, the echoed reference)."""
    return pax_frame([b"0", b"T01", b"1.28", b"000000", message, b"\x1f\x1fA12345\x1f\x1f000001",
                      b"01", b"%d" % cents, pan_field + b"\x1f\x1f1225", b"1\x1f" + ref.encode()])


def mispos_frame(tlvs):
    """MIS-POS (allinpay): STX, LEN as 2 BCD bytes, TLV data (2-byte tag, 2-byte
    big-endian length), ETX, LRC from LEN through ETX (docs/PROTOCOLS.md 4)."""
    data = b"".join(struct.pack(">HH", t, len(v)) + v for t, v in tlvs)
    n = "%04d" % len(data)
    ln = bytes([int(n[0:2], 16), int(n[2:4], 16)])
    body = ln + data + b"\x03"
    return b"\x02" + body + bytes([lrc(body)])


def mispos_request(cents):
    return mispos_frame([(0x9F01, b"\x02"), (0x9F02, b"%012d" % cents), (0x9F1F, b"01")])


def mispos_response(cents, pan=None, extra=()):
    tlvs = [(0x9F14, b"00"), (0x9F01, b"\x02"), (0x9F02, b"%012d" % cents),
            (0x9F05, b"52500001"), (0x9F0E, b"000001"), (0x9F0F, b"A12345"), (0x9F1F, b"01")]
    if pan is not None:
        tlvs.append((0x9F0B, pan.encode()))
    return mispos_frame(tlvs + list(extra))


# ---- ptys ------------------------------------------------------------------------------

def raw_pty():
    """A new pty pair, both ends raw, the master non-blocking: (master, slave)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    os.set_blocking(master, False)
    return master, slave


class Port:
    """A pseudo-terminal standing in for a serial device at `path` (a symlink to the
    slave). The master is ours; we keep a slave fd open too so the master never sees a
    hang-up when the bridge closes its end (the bridge is the only reader)."""

    def __init__(self, path):
        self.path = path
        self.master = self.slave = -1
        self.plug()

    def plug(self):
        self.master, self.slave = raw_pty()
        tmp = self.path + ".new"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(os.ttyname(self.slave), tmp)
        os.rename(tmp, self.path)  # atomic: the path never dangles half-made

    def unplug(self):
        """The cable is pulled: the device node vanishes and the pty is destroyed."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def write(self, data):
        view = memoryview(data)
        deadline = time.monotonic() + 5
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("pty %s not draining" % self.path)
                select.select([], [self.master], [], 0.05)

    def read_exact(self, n, timeout):
        """Reads n bytes or returns what arrived within timeout."""
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.master], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.master, n - len(buf))
            except (BlockingIOError, OSError):
                continue
            buf += chunk
        return buf

    def drain(self, settle=0.02):
        """Discards whatever is waiting (bytes of an abandoned exchange)."""
        got = b""
        while True:
            r, _, _ = select.select([self.master], [], [], settle)
            if not r:
                return got
            try:
                got += os.read(self.master, 65536)
            except (BlockingIOError, OSError):
                return got

    def flush_input_to_bridge(self):
        """Drops bytes we wrote that the (dead) bridge never read."""
        termios.tcflush(self.slave, termios.TCIFLUSH)


# ---- the bridge ------------------------------------------------------------------------

class Bridge:
    def __init__(self, exe, args, log_path, env=None, preexec=None):
        self.exe, self.args, self.log_path = exe, list(args), log_path
        self.env, self.preexec = env, preexec
        self.proc = None
        self.starts = 0

    def start(self, wait_for="bridging", timeout=10):
        logf = open(self.log_path, "ab")
        before = self.log_count(wait_for)
        self.proc = subprocess.Popen([self.exe, "run"] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, env=self.env,
                                     preexec_fn=self._child_setup)
        logf.close()
        self.starts += 1
        BRIDGES.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_count(wait_for) > before:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("posbridge exited %d at start; log %s:\n%s"
                                   % (self.proc.returncode, self.log_path, self.log_tail()))
            time.sleep(0.005)
        raise RuntimeError("posbridge did not start in %s s" % timeout)

    def _child_setup(self):
        # The bridge dies with this test: an orphaned bridge keeps reopening its port
        # paths, and once the pty number behind a stale symlink is reused by another
        # program, it opens that program's pty and steals its bytes.
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if self.preexec:
            self.preexec()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_count(self, needle):
        return self.log_text().count(needle)

    def wait_log(self, needle, timeout):
        """Waits for a new log line containing needle, reading the log incrementally
        from where the last call stopped. Returns the line or None."""
        deadline = time.monotonic() + timeout
        if not hasattr(self, "_off"):
            self._off, self._pending = 0, ""
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(self._off)
                data = f.read()
            self._off += len(data)
            self._pending += data.decode("utf-8", "replace")
            lines = self._pending.split("\n")
            self._pending = lines.pop()
            for i, line in enumerate(lines):
                if needle in line:
                    rest = lines[i + 1:]
                    self._pending = "\n".join(rest + [self._pending]) if rest else self._pending
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.001)

    def log_tail(self, n=20):
        return "\n".join(self.log_text().splitlines()[-n:])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("posbridge ignored SIGTERM for %s s" % timeout)
        return self.proc.returncode if self.proc else None

    @property
    def pid(self):
        return self.proc.pid

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1


def journal_rows(path):
    """(integrity_check result, list of transaction rows as dicts)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        ic = con.execute("PRAGMA integrity_check").fetchall()
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM transactions ORDER BY id")]
    finally:
        con.close()
    return [r[0] for r in ic], rows


# ---- exchanges -------------------------------------------------------------------------

def zvt_exchange(reg, term, cents, trace, extra=None, think=0.0, on_step=None, timeout=10,
                 charged=None):
    """One ZVT purchase through the bridge: register -> request, terminal -> 80 00 00,
    04 0F, 06 0F, register acknowledging each. Checks each frame arrives byte-exact at
    the other end. on_step(i) is called before each of the steps (for fault injection);
    when it returns True the exchange is abandoned. Returns the number of steps done and
    whether the 04 0F reached the register."""
    status = zvt_status(cents if charged is None else charged, trace, **(extra or {}))
    steps = [
        (reg, term, zvt_purchase(cents)),
        (term, reg, ZVT_ACCEPTED),
        (term, reg, status),
        (reg, term, ZVT_ACCEPTED),
        (term, reg, ZVT_COMPLETION),
        (reg, term, ZVT_ACCEPTED),
    ]
    answered = False
    for i, (src, dst, frame) in enumerate(steps):
        if on_step and on_step(i):
            return i, answered
        if i == 2 and think:
            time.sleep(think)
        src.write(frame)
        got = dst.read_exact(len(frame), timeout)
        if got != frame:
            diagnose()
            raise AssertionError("step %d: sent %s, other end got %s" % (i, frame.hex(), got.hex()))
        if i == 2:
            answered = True
    return len(steps), answered


def concert_exchange(reg, term, cents, report=None, timeout=10):
    """One Concert purchase: ENQ/ACK, request, ACK, EOT; then the terminal's ENQ/ACK,
    answer, ACK, EOT. Every byte checked at the other end."""
    steps = [
        (reg, term, bytes([ENQ])), (term, reg, bytes([ACK])),
        (reg, term, concert_request(cents)), (term, reg, bytes([ACK])), (reg, term, bytes([EOT])),
        (term, reg, bytes([ENQ])), (reg, term, bytes([ACK])),
        (term, reg, concert_answer(cents, report=report)), (reg, term, bytes([ACK])),
        (term, reg, bytes([EOT])),
    ]
    for i, (src, dst, frame) in enumerate(steps):
        src.write(frame)
        got = dst.read_exact(len(frame), timeout)
        if got != frame:
            raise AssertionError("concert step %d: sent %s, got %s" % (i, frame.hex(), got.hex()))


def ack_line_exchange(reg, term, request, answer, timeout=10):
    """PAX or MIS-POS: request, the terminal's ACK, answer, the register's ACK; every
    byte checked at the other end."""
    steps = [(reg, term, request), (term, reg, bytes([ACK])), (term, reg, answer),
             (reg, term, bytes([ACK]))]
    for i, (src, dst, frame) in enumerate(steps):
        src.write(frame)
        got = dst.read_exact(len(frame), timeout)
        if got != frame:
            raise AssertionError("step %d: sent %s, got %s" % (i, frame.hex(), got.hex()))


BRIDGES = []  # every Bridge started, for diagnose()


def diagnose():
    """Prints what each live bridge is doing (threads' wait channels, fds, log tail)."""
    for b in BRIDGES:
        if not b.proc or b.proc.poll() is not None:
            continue
        print("-- bridge pid %d" % b.pid, file=sys.stderr)
        try:
            for tid in os.listdir("/proc/%d/task" % b.pid):
                with open("/proc/%d/task/%s/wchan" % (b.pid, tid)) as f:
                    w = f.read()
                with open("/proc/%d/task/%s/stat" % (b.pid, tid)) as f:
                    st = f.read().split(") ")[1][0]
                print("   thread %s state %s wchan %s" % (tid, st, w), file=sys.stderr)
            for fd in sorted(os.listdir("/proc/%d/fd" % b.pid), key=int):
                print("   fd %s -> %s" % (fd, os.readlink("/proc/%d/fd/%s" % (b.pid, fd))),
                      file=sys.stderr)
        except OSError as e:
            print("   (%s)" % e, file=sys.stderr)
        print(b.log_tail(10), file=sys.stderr)


# ---- port-loss cycles (portloss.py, usbloss.py) ----------------------------------------

def fd_map(pid):
    """fd -> what it points to, for a failure message that says which fd leaked."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


class LossCycles:
    """The cycle both port-loss soaks run (promise 2). Each cycle leaves a ZVT purchase in
    flight (the request crossed, the terminal accepted it), takes a port away, waits for
    the bridge's "<name> link lost", waits 0 to 50 ms, brings the port back and times
    the bridge's "<name> link back" (the reconnect time), then runs a whole purchase
    byte-exact. The bridge's fds and VmRSS are sampled after every cycle. check() holds
    the run to the promise: in-flight purchases in_doubt, the others ok, reconnects under
    RECONNECT_LIMIT_S, and after WARMUP cycles the fd count unchanged and RSS within
    1 MiB (not under valgrind, PORTLOSS_RSS=0, where RSS is valgrind's own)."""

    RECONNECT_LIMIT_S = 1.0
    WARMUP = 20

    def __init__(self, bridge, reg, term, cents0, rnd, cycles):
        self.bridge, self.reg, self.term, self.rnd = bridge, reg, term, rnd
        self.cycles, self.n, self.cents0 = cycles, 0, cents0
        self.in_flight, self.completed, self.reconnect = [], [], []
        self.fds0, self.rss0 = bridge.fd_count(), bridge.rss_kb()
        self.warm = self.warm_map = self.end = self.end_map = None
        self.fds_max = self.rss_max = 0
        self.rss_trace = []  # (cycle, kB) at every tenth of the run: does growth level off?
        self.t0 = time.monotonic()

    def _purchase(self, in_flight):
        self.n += 1
        cents = self.cents0 + self.n
        if in_flight:
            zvt_exchange(self.reg, self.term, cents, self.n, on_step=lambda step: step == 2)
            self.in_flight.append(cents)
        else:
            zvt_exchange(self.reg, self.term, cents, self.n)
            self.completed.append(cents)

    def cycle(self, c, name, unplug, plug, after_back=None):
        """Cycle c: unplug() and plug() take the port named `name` away and back;
        after_back(c), if given, checks the reconnect further."""
        self._purchase(in_flight=True)
        unplug()
        if not self.bridge.wait_log("%s link lost" % name, 10):
            fail("cycle %d: no '%s link lost' line" % (c, name))
        time.sleep(self.rnd.random() * 0.05)
        plug()
        t_plug = time.monotonic()
        if not self.bridge.wait_log("%s link back" % name, 10):
            fail("cycle %d: the %s was not reconnected within 10 s" % (c, name))
        self.reconnect.append(time.monotonic() - t_plug)
        if after_back:
            after_back(c)
        # The survivor may hold bytes of the abandoned exchange: none expected, but drop
        # anything so the next purchase is compared alone.
        self.reg.drain(0.001)
        self.term.drain(0.001)
        self._purchase(in_flight=False)
        fds, rss = self.bridge.fd_count(), self.bridge.rss_kb()
        if c == min(self.WARMUP, self.cycles - 1):
            self.warm, self.warm_map = (fds, rss), fd_map(self.bridge.pid)
        self.fds_max, self.rss_max = max(self.fds_max, fds), max(self.rss_max, rss)
        if self.cycles >= 100 and (c + 1) % (self.cycles // 10) == 0:
            self.rss_trace.append((c + 1, rss))

    def finish(self):
        """Takes the last samples; call before stopping the bridge."""
        self.end = (self.bridge.fd_count(), self.bridge.rss_kb())
        self.end_map = fd_map(self.bridge.pid)

    def check(self, journal):
        ic, rows = journal_rows(journal)
        if ic != ["ok"]:
            fail("integrity_check says %s" % ic)
        cls = {r["requested"]: r["class"] for r in rows}
        bad = [(a, cls.get(a)) for a in self.in_flight if cls.get(a) != "in_doubt"]
        if bad:
            fail("in-flight purchases not in_doubt: %s" % bad[:10])
        bad = [(a, cls.get(a)) for a in self.completed if cls.get(a) != "ok"]
        if bad:
            fail("completed purchases not ok: %s" % bad[:10])
        worst = max(self.reconnect)
        if worst > self.RECONNECT_LIMIT_S:
            fail("reconnect took %.3f s (limit %.1f s)" % (worst, self.RECONNECT_LIMIT_S))
        fds_end, rss_end = self.end
        if self.cycles > self.WARMUP:
            if fds_end != self.warm[0]:
                fail("fd count grew: %d after warm-up, %d at the end; after warm-up %s; at "
                     "the end %s" % (self.warm[0], fds_end, sorted(self.warm_map.items()),
                                     sorted(self.end_map.items())))
            if rss_end - self.warm[1] > 1024 and os.environ.get("PORTLOSS_RSS", "1") != "0":
                fail("VmRSS grew: %d kB after warm-up, %d kB at the end" % (self.warm[1], rss_end))
        elif fds_end != self.fds0:
            fail("fd count changed: %d at start, %d at the end" % (self.fds0, fds_end))

    def figures(self):
        """The run's figures, as one line's worth of text after the soak's own opening."""
        r = sorted(self.reconnect)
        warm = self.warm if self.warm and self.cycles > self.WARMUP else ("-", "-")
        return ("reconnect median %.1f ms p99 %.1f ms max %.1f ms; fds %d at start, %s after "
                "warm-up, %d at end (max %d); VmRSS %d kB at start, %s after warm-up, %d at end "
                "(max %d); %d in-flight purchases all in_doubt, %d later purchases all ok; %.1f s"
                % (1000 * r[len(r) // 2], 1000 * r[min(len(r) - 1, int(len(r) * 0.99))],
                   1000 * r[-1], self.fds0, warm[0], self.end[0], self.fds_max, self.rss0,
                   warm[1], self.end[1], self.rss_max, len(self.in_flight),
                   len(self.completed), time.monotonic() - self.t0))

    def rss_levels(self):
        return " ".join("%d:%d" % t for t in self.rss_trace)


@atexit.register
def _kill_bridges():
    for b in BRIDGES:
        if b.proc and b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait()


def args(usage, *kinds):
    """sys.argv[1:] as kinds says, one each: "dir" a non-empty path, "count" a positive
    whole number (returned as int), a tuple the words allowed. Anything else prints
    "usage: " + usage and exits 64 (EX_USAGE), as posbridge does."""
    a = sys.argv[1:]
    ok = len(a) == len(kinds)
    out = []
    for v, k in zip(a, kinds):
        if k == "count":
            ok = ok and v.isdigit() and int(v) >= 1
            out.append(int(v) if v.isdigit() else 0)
        elif isinstance(k, tuple):
            ok = ok and v in k
            out.append(v)
        else:
            ok = ok and v != ""
            out.append(v)
    if not ok:
        print("usage: " + usage, file=sys.stderr)
        sys.exit(64)
    return out if len(out) != 1 else out[0]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def rng(seed=None):
    seed = int(os.environ.get("SOAK_SEED", seed if seed is not None else time.time_ns() % 100000))
    print("seed %d (SOAK_SEED=%d to repeat)" % (seed, seed))
    return random.Random(seed), seed
