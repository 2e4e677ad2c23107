#!/usr/bin/env python3
"""Promise 1, crash durability: SIGKILL posbridge at random moments of a ZVT lane and
restart it on the same journal and ports.

After every kill (journal closed by death, before the restart):
  - PRAGMA integrity_check is "ok";
  - every purchase whose 04 0F result reached the register is in the journal, closed
    with class ok, or pending (the kill fell between forwarding and recording: it must
    be in_doubt after the restart);
  - no purchase appears twice (each purchase has a unique amount).
At the end (clean stop) no row is pending and every pending-at-kill row is in_doubt.

usage: crash.py WORKDIR KILLS   (SOAK_SEED=N repeats a run)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402


def main():
    work, kills_wanted = L.args("crash.py WORKDIR KILLS   (KILLS: a positive whole number)",
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
    answered = set()     # amounts whose result reached the register
    fast_amounts = set()  # answered within 20 ms of the request
    lost_fast = set()
    must_be_in_doubt = set()
    kills = txns = pending_at_kill = missing = 0
    ic_checks = 0
    t0 = time.monotonic()
    rc = None
    i = 0
    try:
        while kills < kills_wanted:
            i += 1
            cents = 100000 + i
            kill_step = rnd.randrange(7) if rnd.random() < 0.45 else None
            state = {"killed": False}

            def on_step(step):
                if step != kill_step:
                    return False
                time.sleep(rnd.random() * 0.02)  # anywhere in the bridge's processing
                bridge.kill()
                state["killed"] = True
                return True

            # Terminals take seconds (card, PIN, host); 100-200 ms here keeps the soak short
            # and is still far more than one journal commit. One purchase in five answers
            # within 20 ms: inside the documented window (JOURNAL.md "Writing: off the
            # forwarding path") a kill may lose its record; those are counted, not failed.
            fast = rnd.random() < 0.2
            think = rnd.random() * 0.02 if fast else 0.1 + rnd.random() * 0.1
            if fast:
                fast_amounts.add(cents)
            _, got_answer = L.zvt_exchange(reg, term, cents, i, think=think,
                                           on_step=on_step if kill_step is not None else None)
            txns += 1
            if got_answer:
                answered.add(cents)
            if kill_step == 6 and not state["killed"]:
                pass
            if not state["killed"]:
                continue
            kills += 1
            reg.drain()
            term.drain()
            reg.flush_input_to_bridge()
            term.flush_input_to_bridge()
            ic, rows = L.journal_rows(journal)
            ic_checks += 1
            if ic != ["ok"]:
                L.fail("kill %d: integrity_check says %s" % (kills, ic))
            seen = {}
            for r in rows:
                seen.setdefault(r["requested"], []).append(r)
            for amount, rs in seen.items():
                if len(rs) > 1:
                    L.fail("kill %d: amount %s recorded %d times: %s" % (kills, amount, len(rs), rs))
            for amount in answered:
                rs = seen.get(amount)
                if not rs and amount in fast_amounts:
                    lost_fast.add(amount)
                    continue
                if not rs:
                    missing += 1
                    L.fail("kill %d: purchase %d answered to the register but not in the journal"
                           % (kills, amount))
                r = rs[0]
                if r["state"] == "pending":
                    if amount not in must_be_in_doubt:
                        pending_at_kill += 1
                    must_be_in_doubt.add(amount)
                elif r["class"] not in ("ok", "in_doubt"):
                    L.fail("kill %d: purchase %d has class %s" % (kills, amount, r["class"]))
                elif amount in must_be_in_doubt and r["class"] != "in_doubt":
                    L.fail("purchase %d was pending at a kill, now %s" % (amount, r["class"]))
            bridge.start()
    finally:
        if bridge.proc and bridge.proc.poll() is None:
            rc = bridge.stop()
    if rc != 0:
        L.fail("clean stop exited %s" % rc)
    ic, rows = L.journal_rows(journal)
    if ic != ["ok"]:
        L.fail("final integrity_check says %s" % ic)
    by_amount = {}
    for r in rows:
        by_amount.setdefault(r["requested"], []).append(r)
    for amount in answered:
        rs = by_amount.get(amount, [])
        if not rs and amount in lost_fast:
            continue
        if len(rs) != 1:
            L.fail("final: purchase %d recorded %d times" % (amount, len(rs)))
        if amount in must_be_in_doubt and rs[0]["class"] != "in_doubt":
            L.fail("final: purchase %d pending at a kill is %s, not in_doubt" % (amount, rs[0]["class"]))
        if rs[0]["class"] not in ("ok", "in_doubt"):
            L.fail("final: purchase %d has class %s" % (amount, rs[0]["class"]))
    if any(r["state"] == "pending" for r in rows):
        L.fail("final: pending rows left after a clean stop")
    classes = {}
    for r in rows:
        classes[r["class"]] = classes.get(r["class"], 0) + 1
    print("crash: %d SIGKILLs, %d purchases (%d answered), %d integrity checks ok, "
          "%d answered-but-pending at a kill (became in_doubt), %d missing, %d duplicated, "
          "%d of %d fast (<20 ms) purchases lost by a kill inside the commit window, "
          "journal rows by class %s, %.1f s"
          % (kills, txns, len(answered), ic_checks + 1, pending_at_kill, missing, 0,
             len(lost_fast), len(fast_amounts & answered),
             dict(sorted(classes.items(), key=lambda kv: str(kv[0]))), time.monotonic() - t0))


if __name__ == "__main__":
    main()
