#!/usr/bin/env python3
"""Promise 2, port loss: the terminal's and the register's serial device disappear (pty
destroyed, device node removed) in the middle of a purchase and come back (new pty at
the same path) after 0 to 50 ms, alternately, CYCLES times.

Each cycle checks: the bridge logs "<side> link back" (time from the node reappearing
to that line is the reconnect time; the maximum must stay under 1 s); a whole purchase
then crosses byte-exact; the purchase that was in flight ends in_doubt in the journal.
File descriptors (/proc/PID/fd) and VmRSS are sampled: after a warm-up both must stay
flat (fds exactly equal, RSS within 1 MiB).

usage: portloss.py WORKDIR CYCLES
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402

RECONNECT_LIMIT_S = 1.0


def main():
    work, cycles = sys.argv[1], int(sys.argv[2])
    exe = os.environ.get("POSBRIDGE", os.path.join(os.path.dirname(__file__), "../../build/posbridge"))
    rnd, _ = L.rng()
    os.makedirs(work, exist_ok=True)
    journal = os.path.join(work, "journal.db")
    term = L.Port(os.path.join(work, "term"))
    reg = L.Port(os.path.join(work, "reg"))
    bridge = L.Bridge(exe, ["--protocol", "zvt", "--register", reg.path, "--terminal", term.path,
                            "--journal", journal, "--capture", os.path.join(work, "lane.pcapng")],
                      os.path.join(work, "bridge.log"))
    bridge.start()
    in_flight, completed = [], []
    reconnect = []
    warm = None
    fds_max = rss_max = 0
    rss_trace = []  # (cycle, kB) at every tenth of the run: does growth level off?
    t0 = time.monotonic()
    n = 0
    try:
        for c in range(cycles):
            # A purchase in flight: the request crossed, the terminal accepted it.
            n += 1
            cents = 200000 + n
            L.zvt_exchange(reg, term, cents, n, on_step=lambda step: step == 2)
            in_flight.append(cents)
            side, name = (term, "terminal") if c % 2 == 0 else (reg, "register")
            side.unplug()
            if not bridge.wait_log("%s link lost" % name, 5):
                L.fail("cycle %d: no '%s link lost' line" % (c, name))
            time.sleep(rnd.random() * 0.05)
            side.plug()
            t_plug = time.monotonic()
            if not bridge.wait_log("%s link back" % name, 10):
                L.fail("cycle %d: %s not reconnected within 10 s" % (c, name))
            reconnect.append(time.monotonic() - t_plug)
            # The survivor may hold bytes of the abandoned exchange: none expected, but
            # drop anything so the next purchase is compared alone.
            reg.drain(0.001)
            term.drain(0.001)
            n += 1
            cents = 200000 + n
            L.zvt_exchange(reg, term, cents, n)
            completed.append(cents)
            fds, rss = bridge.fd_count(), bridge.rss_kb()
            if c == min(20, cycles - 1):
                warm = (fds, rss)
            fds_max, rss_max = max(fds_max, fds), max(rss_max, rss)
            if cycles >= 10 and (c + 1) % (cycles // 10) == 0:
                rss_trace.append((c + 1, rss))
        fds_end, rss_end = bridge.fd_count(), bridge.rss_kb()
    finally:
        rc = bridge.stop()
    if rc != 0:
        L.fail("clean stop exited %s" % rc)
    if rss_trace:
        print("portloss: VmRSS kB by cycle: " + " ".join("%d:%d" % t for t in rss_trace),
              flush=True)
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
    if warm and cycles > 20:
        if fds_end != warm[0]:
            L.fail("fd count grew: %d after warm-up, %d at the end" % (warm[0], fds_end))
        # Under valgrind (PORTLOSS_RSS=0) RSS is valgrind's own bookkeeping.
        if rss_end - warm[1] > 1024 and os.environ.get("PORTLOSS_RSS", "1") != "0":
            L.fail("VmRSS grew: %d kB after warm-up, %d kB at the end" % (warm[1], rss_end))
    reconnect.sort()
    print("portloss: %d port losses (%d terminal, %d register), reconnect median %.1f ms "
          "p99 %.1f ms max %.1f ms; fds %s -> %d (max %d); VmRSS %s -> %d kB (max %d); "
          "%d in-flight purchases all in_doubt, %d later purchases all ok; %.1f s"
          % (cycles, (cycles + 1) // 2, cycles // 2, 1000 * reconnect[len(reconnect) // 2],
             1000 * reconnect[min(len(reconnect) - 1, int(len(reconnect) * 0.99))],
             1000 * worst, warm[0] if warm else "-", fds_end, fds_max,
             warm[1] if warm else "-", rss_end, rss_max, len(in_flight), len(completed),
             time.monotonic() - t0))


if __name__ == "__main__":
    main()
