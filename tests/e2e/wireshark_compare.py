#!/usr/bin/env python3
"""wireshark_compare.py PROTO TSHARK.tsv DECODE.jsonl (for tests/e2e/test_wireshark.sh)

Compares what tshark shows with contrib/wireshark/posbridge.lua (-T fields, one row per
packet, several values of a field joined by ';', header line) with `posbridge decode
--json` of the same capture. Pairs them packet by packet: every item the dissector
shows in a packet (direction, stream offset, length, type) must be an item of decode at
the same place, every item decode has must be shown (but the bytes still held when the
capture ends, which decode gives up as garbage there), and the fields of
the data frames of each packet must be decode's values of those frames, in order.

Prints "frames amounts results skipped" (counts compared) or the differences, exit 1.
"""
import json
import sys

proto, tsv, jsonl = sys.argv[1:4]
p = "pbzvt" if proto == "zvt" else proto
if proto == "zvt":
    FIELDS = ["checksum_ok", "zvt.amount", "zvt.result_code"]
else:
    FIELDS = ["checksum_ok", "amount", "result", "txn_type"] + {
        "concert": ["status"],
        "pax": ["amount_due", "result_code"],
        "mispos": ["result_code"],
    }[proto]


def expected(o, f):
    """The value decode's JSON object o gives field f, or None when it has none."""
    if f == "checksum_ok":
        return "1" if o["checksum_ok"] else "0"
    if proto == "zvt":
        # Wireshark's zvt dissector reads an 80 or 84 APDU as a completion code and stops
        # there: the BMP 04 of the register's 84 9D (issue of goods) is not shown.
        if f == "zvt.amount" and "amount" in o and o["kind"] not in ("accepted", "refused", "app_ack"):
            return str(o["amount"])
        if f == "zvt.result_code" and o["kind"] in ("result", "abort") and "result_code" in o:
            return "0x%02x" % o["result_code"]
        return None
    if f in ("status", "result_code"):
        return o.get("result_text")
    v = o.get(f)
    return None if v is None else str(v)


def vals(row, name):
    v = row.get(name, "")
    return v.split(";") if v else []


with open(tsv) as fh:
    head = fh.readline().rstrip("\n").split("\t")
    rows = [dict(zip(head, line.rstrip("\n").split("\t"))) for line in fh]
with open(jsonl) as fh:
    objs = [json.loads(line) for line in fh if line.strip()]
dec = {(o["dir"], o["offset"]): o for o in objs
       if o.get("kind") not in ("transaction", None) and o.get("dir") in ("ecr", "pt")}

bad, seen, end = [], set(), {}
frames = amounts = results = skipped = 0
for row in rows:
    num = row["frame.number"]
    d, o, n, k = (vals(row, p + "." + x) for x in ("direction", "offset", "length", "kind"))
    if not len(d) == len(o) == len(n) == len(k):
        bad.append(f"packet {num}: direction, offset, length and kind not one per item")
        continue
    data = []
    for i in range(len(d)):
        key = (d[i], int(o[i]))
        seen.add(key)
        end[d[i]] = max(end.get(d[i], 0), key[1] + int(n[i]))
        x = dec.get(key)
        kind = x and ("frame" if proto == "zvt" and "checksum_ok" in x else x["kind"])
        if not x or x["length"] != int(n[i]) or kind != k[i]:
            bad.append(f"packet {num}: tshark has {d[i]} offset {o[i]} length {n[i]} {k[i]}, decode "
                       + (f"length {x['length']} {kind}" if x else "nothing there"))
            continue
        if "checksum_ok" in x:
            data.append(x)
    # A ZVT frame with a bad CRC: Wireshark's zvt dissector reads what it can of it where
    # posbridge decode may give it up as malformed; only the CRC verdict is compared.
    broken = proto == "zvt" and any(not x["checksum_ok"] for x in data)
    # Wireshark 4.0's zvt dissector has no layout for the pre-authorisation commands (06 22
    # pre-auth, 06 23 partial reversal, 06 24 book total, 06 25 pre-auth reversal): it names
    # them but shows none of their BMPs, so their amounts cannot be compared.
    undissected = proto == "zvt" and any(
        c.lower() in ("0x0622", "0x0623", "0x0624", "0x0625") for c in vals(row, "zvt.control_field"))
    for f in FIELDS:
        if broken and f != "checksum_ok":
            continue
        if undissected and f == "zvt.amount":
            continue
        want = [v for v in (expected(x, f) for x in data) if v is not None]
        got = vals(row, f if "." in f else p + "." + f)
        if got != want:
            bad.append(f"packet {num}: {f}: tshark {got}, decode {want}")
        if f in ("amount", "zvt.amount"):
            amounts += len(want)
        if f in ("result", "zvt.result_code"):
            results += len(want)
    frames += len(data)
    skipped += len(data) if broken else 0
# Bytes still held when the capture ends: decode gives them up at its end as garbage,
# tshark shows them held.
missing = sorted(key for key in dec if key not in seen
                 and not (dec[key]["kind"] == "garbage" and key[1] >= end.get(key[0], 0)))
if missing:
    bad.append(f"decode has items tshark does not show: {missing[:8]}")
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
print(frames, amounts, results, skipped)
