#!/usr/bin/env python3
"""Promise 3, disk trouble: the journal and the capture live on a file system that
fills up (mode tmpfs: a 1 MiB tmpfs (256 KiB is full before the journal's first commit) filled by a filler file; mode fsize: RLIMIT_FSIZE
of the running bridge lowered to the current file sizes with prlimit(2)).

While the disk is full: TXNS purchases and a 32 KiB burst of random bytes each way
must cross byte-exact (every frame compared at the other end), and the bridge must log
"ALERT journal". Then space returns (filler removed and the tmpfs grown, or the limit
lifted): the bridge must log "journal writable again", and after a clean stop every
purchase, including those made while full, must be in the journal, class ok.

usage: diskfull.py tmpfs|fsize WORKDIR TXNS   (tmpfs needs root: mount(8))
"""
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402


def burst(src, dst, rnd, size=32768):
    data = bytes(rnd.getrandbits(8) for _ in range(size))
    src.write(data)
    got = dst.read_exact(size, 10)
    if got != data:
        L.fail("burst of %d bytes: %d arrived, first difference at %d" % (
            size, len(got), next((i for i in range(len(got)) if got[i] != data[i]), len(got))))


def main():
    mode, work, ntx = L.args("diskfull.py tmpfs|fsize WORKDIR TXNS   (TXNS: a positive whole "
                             "number)", ("tmpfs", "fsize"), "dir", "count")
    exe = os.environ.get("POSBRIDGE", os.path.join(os.path.dirname(__file__), "../../build/posbridge"))
    rnd, _ = L.rng()
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "disk")
    os.makedirs(disk, exist_ok=True)
    mounted = False
    if mode == "tmpfs":
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", disk],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("SKIP: cannot mount a tmpfs (%s); use mode fsize" % r.stderr.strip())
            sys.exit(77)
        mounted = True
    journal, capture = os.path.join(disk, "journal.db"), os.path.join(disk, "lane.pcapng")
    term = L.Port(os.path.join(work, "term"))
    reg = L.Port(os.path.join(work, "reg"))
    bridge = L.Bridge(exe, ["--protocol", "zvt", "--register", reg.path, "--terminal", term.path,
                            "--journal", journal, "--capture", capture],
                      os.path.join(work, "bridge.log"))
    n = 0
    t_full = t_back = None
    try:
        bridge.start()
        for _ in range(3):  # a few before trouble
            n += 1
            L.zvt_exchange(reg, term, 300000 + n, n)
        time.sleep(0.2)
        filler = os.path.join(disk, "filler")
        if mode == "tmpfs":
            try:
                with open(filler, "wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:
                pass
        else:
            sizes = [os.path.getsize(p) for p in (journal, journal + "-wal", capture)
                     if os.path.exists(p)]
            lim = max(sizes)
            resource.prlimit(bridge.pid, resource.RLIMIT_FSIZE, (lim, resource.RLIM_INFINITY))
        t_full = time.monotonic()
        for _ in range(ntx):  # 0.1 s apart: the journal retries while they queue
            n += 1
            L.zvt_exchange(reg, term, 300000 + n, n)
            time.sleep(0.1)
        burst(reg, term, rnd)
        burst(term, reg, rnd)
        for _ in range(2):
            n += 1
            L.zvt_exchange(reg, term, 300000 + n, n)
        if not bridge.wait_log("ALERT journal", 15):
            L.fail("no 'ALERT journal' line while the disk was full")
        if bridge.proc.poll() is not None:
            L.fail("bridge died with the disk full (exit %s)" % bridge.proc.returncode)
        alert = bridge.wait_log("", 0)
        # Space returns.
        if mode == "tmpfs":
            os.unlink(filler)
            subprocess.run(["mount", "-o", "remount,size=8m", disk], check=True)
        else:
            resource.prlimit(bridge.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        t_space = time.monotonic()
        if not bridge.wait_log("journal writable again", 60):
            L.fail("journal did not recover within 60 s of space returning")
        t_back = time.monotonic() - t_space
        n += 1
        L.zvt_exchange(reg, term, 300000 + n, n)
        rc = bridge.stop()
        if rc != 0:
            L.fail("clean stop exited %s" % rc)
        ic, rows = L.journal_rows(journal)
        if ic != ["ok"]:
            L.fail("integrity_check says %s" % ic)
        cls = {r["requested"]: r["class"] for r in rows}
        bad = [(300000 + i, cls.get(300000 + i)) for i in range(1, n + 1)
               if cls.get(300000 + i) != "ok"]
        if bad:
            L.fail("purchases missing or not ok after space returned: %s" % bad[:10])
        alerts = bridge.log_count("ALERT journal")
        dec = subprocess.run([exe, "decode", capture], capture_output=True, text=True)
        results = dec.stdout.count(" result ")
        print("diskfull[%s]: %d purchases (%d while full) + 2 x 32 KiB bursts byte-exact; "
              "%d 'ALERT journal' line(s); journal writable again %.2f s after space returned; "
              "all %d purchases in the journal, class ok; capture decode: %d results "
              "(exit %d)" % (mode, n, ntx + 2, alerts, t_back, n, results, dec.returncode))
        del alert
    finally:
        if bridge.proc and bridge.proc.poll() is None:
            bridge.proc.kill()
            bridge.proc.wait()
        if mounted:
            subprocess.run(["umount", "-l", disk])


if __name__ == "__main__":
    main()
