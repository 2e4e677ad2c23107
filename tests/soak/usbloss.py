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


def main():
    work, cycles = L.args("usbloss.py WORKDIR CYCLES   (CYCLES: a positive whole number)",
                          "dir", "count")
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
    opens = [0]

    def unplug():
        opens[0] = tiocm_count(tiocm_log)
        term.unplug()

    def reopened_by_sp_open(c):
        if tiocm_count(tiocm_log) <= opens[0]:
            L.fail("cycle %d: the reopen did not go through libserialport's sp_open" % c)

    try:
        bridge.start()
        reg = PtySlave(reg_path)
        if tiocm_count(tiocm_log) < 1:
            L.fail("posbridge did not open /dev/ttyACM0 through libserialport (no TIOCMGET)")
        run = L.LossCycles(bridge, reg, term, 300000, rnd, cycles)
        for c in range(cycles):
            run.cycle(c, "terminal", unplug, term.plug, after_back=reopened_by_sp_open)
        run.finish()
    finally:
        try:
            rc = bridge.stop()
        finally:
            tb.quit()
    if rc != 0:
        L.fail("clean stop exited %s; log %s" % (rc, bridge.log_path))
    if tiocm_count(tiocm_log, "TIOCEXCL"):
        L.fail("posbridge fell back to plain termios on /dev/ttyACM0 (TIOCEXCL seen)")
    run.check(journal)
    # Every cycle's reopen was counted by reopened_by_sp_open(), or the run failed.
    print("usbloss: %d USB unplugs of /dev/ttyACM0, %d reopens all by sp_open, %s"
          % (cycles, cycles, run.figures()))
    if run.rss_trace:
        print("usbloss: VmRSS kB by cycle: " + run.rss_levels())


if __name__ == "__main__":
    main()
