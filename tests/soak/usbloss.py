#!/usr/bin/env python3
"""Promise 2, port loss, USB half: the terminal is a USB CDC-ACM device emulated by
umockdev (/dev/ttyACM0, VID:PID 0b00:0080) that is unplugged in the middle of a
purchase and plugged back, CYCLES times, while the real posbridge binary bridges it
through libserialport.

The testbed lives in a helper process (usb_testbed.c); posbridge runs with that
testbed's UMOCKDEV_DIR and LD_PRELOAD="usb_tiocm.so libumockdev-preload.so.0", so it
sees the testbed's /sys and /dev. This process holds the pty master behind the
emulated node (it plays the terminal) and the slave of posbridge's own register pty
(--register pty:PATH, it plays the register).

An unplug is what the kernel and udev do on a USB disconnect: the tty, the interface
and the USB device leave sysfs, the /dev/ttyACM0 node goes, and the tty is hung up
(the pty master is closed, so posbridge's read returns 0, as on a hung-up tty). A
replug adds the three devices back and a new pty appears behind /dev/ttyACM0.
umockdev's own remove_device() does not hang the tty up (it keeps the pty master
open, so a reader notices nothing) and cannot add a tty of the same name again, hence
usb_testbed.c.

Each cycle checks: posbridge logs "terminal link lost"; after the replug it logs
"terminal link back" (the time from the node reappearing to that line is the reconnect
time, which must stay under 1 s), then a whole purchase crosses byte-exact; the
purchase that was in flight ends in_doubt in the journal. Every reopen must have gone
through libserialport's sp_open() (counted by usb_tiocm.so). File descriptors and VmRSS
of posbridge are sampled every cycle: after a warm-up the fd count must not change and
RSS must grow less than 1 MiB.

usage: usbloss.py WORKDIR CYCLES   (USB_TESTBED and USB_TIOCM: the two built helpers)
"""
import os
import select
import subprocess
import sys
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402

RECONNECT_LIMIT_S = 1.0
WARMUP = 20


class Testbed:
    """The umockdev testbed helper: plug/unplug the emulated USB terminal."""

    def __init__(self, exe):
        self.proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buf = b""
        first = self.answer("start")
        if not first.startswith("dir "):
            L.fail("usb_testbed: %r" % first)
        self.dir = first[4:]

    def answer(self, what, timeout=10):
        """One line from the helper, waiting at most timeout seconds."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(left, 0))
            if not r:
                L.fail("usb_testbed: no answer to %r within %d s" % (what, timeout))
            chunk = os.read(fd, 4096)
            if not chunk:
                L.fail("usb_testbed exited (%s) on %r" % (self.proc.poll(), what))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def cmd(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        ans = self.answer(line)
        if ans != "ok":
            L.fail("usb_testbed %r: %r" % (line, ans))

    def quit(self):
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class UsbTerminal(L.Port):
    """The terminal end: the master of the pty behind the emulated /dev/ttyACM0."""

    def __init__(self, testbed):
        self.tb = testbed
        self.path = "/dev/ttyACM0"
        self.master = self.slave = -1
        self.plug()

    def plug(self):
        # A slave fd stays open here, as in lanelib.Port, so our master never sees a
        # hang-up while posbridge has the port closed.
        self.master, self.slave = L.raw_pty()
        self.tb.cmd("plug " + os.ttyname(self.slave))

    def unplug(self):
        # The devices and the node go first, then the tty hangs up. On a real USB
        # disconnect the kernel hangs up the tty and removes the devices together and
        # udev removes the node a little later, so an open can meet a node whose device
        # is gone. Here that window is closed on purpose: umockdev 0.17's preload
        # library leaks one socket in the opening process for every failed open() of an
        # emulated node (ioctl_emulate_open() runs with fd -1), which would show up as
        # a file descriptor leak of posbridge that is not posbridge's.
        self.tb.cmd("unplug")
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


class PtySlave(L.Port):
    """The register end: the slave of the pty posbridge creates for --register pty:PATH."""

    def __init__(self, path):
        self.path = path
        self.slave = -1
        self.master = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.master)


def tiocm_count(path, what="TIOCMGET"):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.strip() == what)
    except FileNotFoundError:
        return 0


def fd_map(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def main():
    work, cycles = sys.argv[1], int(sys.argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    exe = os.environ.get("POSBRIDGE", os.path.join(here, "../../build/posbridge"))
    tb_exe, shim = os.environ["USB_TESTBED"], os.environ["USB_TIOCM"]
    rnd, _ = L.rng()
    os.makedirs(work, exist_ok=True)
    journal = os.path.join(work, "journal.db")
    reg_path = os.path.join(work, "reg")
    tiocm_log = os.path.join(work, "tiocm.log")
    tb = Testbed(tb_exe)
    term = UsbTerminal(tb)
    env = dict(os.environ)
    env.update(UMOCKDEV_DIR=tb.dir, PB_TIOCM_LOG=tiocm_log,
               LD_PRELOAD="%s libumockdev-preload.so.0" % shim)
    # An ASan build must accept libraries preloaded ahead of its runtime.
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    bridge = L.Bridge(exe, ["--protocol", "zvt", "--register", "pty:" + reg_path,
                            "--terminal", "/dev/ttyACM0", "--journal", journal,
                            "--capture", os.path.join(work, "lane.pcapng")],
                      os.path.join(work, "bridge.log"), env=env)
    in_flight, completed, reconnect = [], [], []
    warm = warm_map = end_map = None
    fds_max = rss_max = 0
    rss_trace = []  # (cycle, kB) at every tenth of the run: does growth level off?
    t0 = time.monotonic()
    n = sp_opens = 0
    try:
        bridge.start()
        reg = PtySlave(reg_path)
        if tiocm_count(tiocm_log) < 1:
            L.fail("posbridge did not open /dev/ttyACM0 through libserialport (no TIOCMGET)")
        fds0, rss0 = bridge.fd_count(), bridge.rss_kb()
        for c in range(cycles):
            # A purchase in flight: the request crossed, the terminal accepted it.
            n += 1
            cents = 300000 + n
            L.zvt_exchange(reg, term, cents, n, on_step=lambda step: step == 2)
            in_flight.append(cents)
            opens = tiocm_count(tiocm_log)
            term.unplug()
            if not bridge.wait_log("terminal link lost", 10):
                L.fail("cycle %d: no 'terminal link lost' line" % c)
            time.sleep(rnd.random() * 0.05)
            term.plug()
            t_plug = time.monotonic()
            if not bridge.wait_log("terminal link back", 10):
                L.fail("cycle %d: the terminal was not reconnected within 10 s" % c)
            reconnect.append(time.monotonic() - t_plug)
            if tiocm_count(tiocm_log) <= opens:
                L.fail("cycle %d: the reopen did not go through libserialport's sp_open" % c)
            sp_opens += 1
            reg.drain(0.001)
            term.drain(0.001)
            n += 1
            cents = 300000 + n
            L.zvt_exchange(reg, term, cents, n)
            completed.append(cents)
            fds, rss = bridge.fd_count(), bridge.rss_kb()
            if c == min(WARMUP, cycles - 1):
                warm = (fds, rss)
                warm_map = fd_map(bridge.pid)
            fds_max, rss_max = max(fds_max, fds), max(rss_max, rss)
            if cycles >= 100 and (c + 1) % (cycles // 10) == 0:
                rss_trace.append((c + 1, rss))
        fds_end, rss_end = bridge.fd_count(), bridge.rss_kb()
        end_map = fd_map(bridge.pid)
    finally:
        try:
            rc = bridge.stop()
        finally:
            tb.quit()
    if rc != 0:
        L.fail("clean stop exited %s; log %s" % (rc, bridge.log_path))
    if tiocm_count(tiocm_log, "TIOCEXCL"):
        L.fail("posbridge fell back to plain termios on /dev/ttyACM0 (TIOCEXCL seen)")
    ic, rows = L.journal_rows(journal)
    if ic != ["ok"]:
        L.fail("integrity_check says %s" % ic)
    cls = {r["requested"]: r["class"] for r in rows}
    bad = [(a, cls.get(a)) for a in in_flight if cls.get(a) != "in_doubt"]
    if bad:
        L.fail("in-flight purchases not in_doubt: %s" % bad[:10])
    bad = [(a, cls.get(a)) for a in completed if cls.get(a) != "ok"]
    if bad:
        L.fail("completed purchases not ok: %s" % bad[:10])
    worst = max(reconnect)
    if worst > RECONNECT_LIMIT_S:
        L.fail("reconnect took %.3f s (limit %.1f s)" % (worst, RECONNECT_LIMIT_S))
    if cycles > WARMUP:
        if fds_end != warm[0]:
            L.fail("fd count grew: %d after warm-up, %d at the end; after warm-up %s; at the "
                   "end %s" % (warm[0], fds_end, sorted(warm_map.items()),
                               sorted(end_map.items())))
        if rss_end - warm[1] > 1024 and os.environ.get("PORTLOSS_RSS", "1") != "0":
            L.fail("VmRSS grew: %d kB after warm-up, %d kB at the end" % (warm[1], rss_end))
    elif fds_end != fds0:
        L.fail("fd count changed: %d at start, %d at the end" % (fds0, fds_end))
    reconnect.sort()
    print("usbloss: %d USB unplugs of /dev/ttyACM0, reconnect median %.1f ms p99 %.1f ms "
          "max %.1f ms; fds %d at start, %s after warm-up, %d at end (max %d); VmRSS %d kB at "
          "start, %s after warm-up, %d at end (max %d); %d reopens all by sp_open; %d in-flight "
          "purchases all in_doubt, %d later purchases all ok; %.1f s"
          % (cycles, 1000 * reconnect[len(reconnect) // 2],
             1000 * reconnect[min(len(reconnect) - 1, int(len(reconnect) * 0.99))],
             1000 * worst, fds0, warm[0] if warm and cycles > WARMUP else "-", fds_end,
             fds_max, rss0, warm[1] if warm and cycles > WARMUP else "-", rss_end, rss_max,
             sp_opens, len(in_flight), len(completed), time.monotonic() - t0))
    if rss_trace:
        print("usbloss: VmRSS kB by cycle: " + " ".join("%d:%d" % t for t in rss_trace))


if __name__ == "__main__":
    main()
