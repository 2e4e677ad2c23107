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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402


def main():
    work, cycles = L.args("portloss.py WORKDIR CYCLES   (CYCLES: a positive whole number)",
                          "dir", "count")
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
    run = L.LossCycles(bridge, reg, term, 200000, rnd, cycles)
    try:
        for c in range(cycles):
            side, name = (term, "terminal") if c % 2 == 0 else (reg, "register")
            run.cycle(c, name, side.unplug, side.plug)
        run.finish()
    finally:
        rc = bridge.stop()
    if rc != 0:
        L.fail("clean stop exited %s" % rc)
    if run.rss_trace:
        print("portloss: VmRSS kB by cycle: " + run.rss_levels(), flush=True)
    run.check(journal)
    print("portloss: %d port losses (%d terminal, %d register), %s"
          % (cycles, (cycles + 1) // 2, cycles // 2, run.figures()))


if __name__ == "__main__":
    main()
