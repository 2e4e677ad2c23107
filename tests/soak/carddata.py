#!/usr/bin/env python3
"""Promise 6, card data: PANs and track data pushed through real bridge lanes of all
four protocols (ZVT 04 0F with BMP 22 PAN, 23 track 2, 24 track 3, 2D track 1, and a
receipt line 06 D1 printing the PAN whole and in groups; Concert full answers with the
grouped PAN and a track-2 image in the 55-byte report field; PAX T00 with a keyed card
(number, expiry, CVV) and a track-2 image in the extended data, T01 with the whole PAN
where the last 4 belong and, whole and grouped, in its message; MIS-POS answers with
the PAN in 9F0B, a track-2 image and a grouped PAN in unknown tags; then per protocol
a card frame broken by noise and one cut short by the end of the run; and a lane with
--protocol none, relay and capture only, carrying card frames of all four), then every file
the lane and the tools produce is scanned: capture, journal, -wal, -shm, events, bridge
log, `report` (text, JSON, CSV), `decode` (text, JSON) and `monitor --once` output.

Scanner: ASCII digit runs of 13 to 19 digits, first digit 2-6 (card networks), Luhn
valid, also when written in groups of up to 6 digits joined by single spaces or
dashes; ASCII track patterns (PAN=YYMM, %B...^); in the capture's packet data also
BCD-packed runs (decimal nibbles, same rules) and BCD track 2 (digits D digits), as
stored and with ZVT's doubled 0x10 read as one byte; and each injected PAN literally,
ASCII and BCD at either nibble alignment.
Expected: zero findings; with --capture-clear the capture DOES contain them (the
scanner works) and every other file still holds none.

usage: carddata.py WORKDIR
"""
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lanelib as L  # noqa: E402

# 4111111010101114: every masked BCD byte is 0x10, which a ZVT redaction that keeps the
# 0x10 bytes among the masked digits would leave whole in the capture.
FIXED_PANS = ["4111111111111111", "5500005555555559", "378282246310005", "6011111111111117",
              "4012888888881881", "5105105105105100", "4111111010101114"]


def with_check_digit(body):
    """body and the Luhn check digit that makes it a valid card number."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return body + str((10 - total % 10) % 10)


def generated_pans():
    """Every length ISO/IEC 7812 allows, 12 (Maestro) to 19, under several IINs."""
    out = []
    for k, iin in enumerate(["501800", "676770", "401288", "522222", "360000", "621700"]):
        for length in range(12, 20):
            if (k + length) % 2:  # half of the lengths per IIN: 24 numbers in all
                continue
            body = (iin + "1234567890123")[:length - 1]
            out.append(with_check_digit(body))
    return out


PANS = FIXED_PANS + generated_pans()

# How receipts and screens separate the groups: one space, a dash, a dot, two spaces (as
# columns align them), a tab, a slash (issue 18: every separator).
SEPARATORS = [" ", "-", ".", "  ", "\t", "/"]


def grouped(pan, i=0):
    """As receipts print a card number: 4-6-5 for 15 digits, else groups of 4."""
    cuts = [4, 10] if len(pan) == 15 else list(range(4, len(pan), 4))
    return SEPARATORS[i % len(SEPARATORS)].join(
        pan[a:b] for a, b in zip([0] + cuts, cuts + [len(pan)]))


def amount(i):
    """The i-th sale's amount in cents: 1000 + i, skipping amounts whose ZVT status
    information reads, nibble by nibble, as a Luhn-valid 13-19 digit run ("27 00 04" then
    the amount in BCD): an amount can look like a card number in packed BCD, and neither
    the redactor nor this scanner can tell them apart without the field's meaning."""
    cents = 1000
    for _ in range(i + 1):
        while any(luhn_ok(f % cents) for f in ("270004%012d", "270004%012d0", "0004%012d")):
            cents += 1
        cents += 1
    return cents - 1


def printable(i):
    """The separator index for protocols whose fields are printable ASCII only (Concert,
    PAX): a space where the tab would be."""
    return i if SEPARATORS[i % len(SEPARATORS)] != "\t" else 0


def emv_tlv(pan):
    """EMV tags in packed BCD, as a ZVT BMP 06 or a MIS-POS message carries them: 5A the
    PAN (F-padded), 57 the track 2 equivalent (PAN D YYMM service code ...), 5F24 the
    expiry."""
    t2 = pan + "D2512101123456"
    v5a, v57 = L.bcd_pan(pan), L.bcd_pan(t2)
    return (b"\x5A" + bytes([len(v5a)]) + v5a + b"\x57" + bytes([len(v57)]) + v57 +
            b"\x5F\x24\x03\x25\x12\x31")


def card_frame(proto, pan):
    """One terminal frame carrying pan, as the lanes below send it."""
    if proto == "zvt":
        return L.zvt_status(1000, 99, pan=pan)
    if proto == "pax":
        return L.pax_response(1000, "99", pan_field=pan.encode(), message=b"APPROVED " + pan.encode())
    if proto == "mispos":
        return L.mispos_response(1000, pan=pan)
    return L.concert_answer(1000, report=pan + " 1225")


def broken(proto, frame):
    """The frame as line noise leaves it: ZVT's DLE ETX hit (DLE 07, so the scanner gives
    the frame up at the break), the others with a 0x00 before the end (outside every
    ASCII protocol's data bytes)."""
    if proto == "zvt":
        return frame[:-4] + b"\x10\x07" + frame[-2:]
    return frame[:-2] + b"\x00" + frame[-2:]


def luhn_ok(d):
    s = 0
    for i, ch in enumerate(reversed(d)):
        v = ord(ch) - 48
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        s += v
    return s % 10 == 0


def pan_like(run):
    return 13 <= len(run) <= 19 and run[0] in "23456" and luhn_ok(run)


# Not after a '.': the fraction digits of a JSON real (latency_ms 0.23100000000000001).
ASCII_RUN = re.compile(rb"(?<![0-9.])[0-9]{13,}")
ASCII_TRACK = [re.compile(rb"[0-9]{13,19}=[0-9]{4}"), re.compile(rb"%B[0-9]{13,19}\^")]


# Groups of digits joined by any separator the masker knows, up to three in a row:
# "4111 1111", "4111.1111", "4111  1111". The first and last group may be glued to other
# digits (a Concert field after a digit field).
ASCII_GROUPS = re.compile(rb"[0-9]+(?:(?: {1,3}|-{1,3}|\.{1,3}|/{1,3}|_{1,3}|\t)[0-9]+)+")
ASCII_SEP = re.compile(rb" {1,3}|-{1,3}|\.{1,3}|/{1,3}|_{1,3}|\t")


def scan_ascii(data):
    found = []
    for m in ASCII_RUN.finditer(data):
        if pan_like(m.group().decode()):
            found.append("ASCII PAN-like run %s at %d" % (m.group().decode(), m.start()))
    for m in ASCII_GROUPS.finditer(data):
        groups = ASCII_SEP.split(m.group())
        for a in range(len(groups)):
            for b in range(a + 2, len(groups) + 1):
                digits = b"".join(groups[a:b]).decode()
                if pan_like(digits):
                    found.append("ASCII grouped PAN-like run %s at %d" % (digits, m.start()))
        joined = b"".join(groups).decode()
        for p in PANS:
            if p in joined:
                found.append("injected PAN %s in ASCII groups at %d" % (p, m.start()))
    for rx in ASCII_TRACK:
        for m in rx.finditer(data):
            found.append("ASCII track pattern %r at %d" % (m.group()[:24], m.start()))
    for p in PANS:
        if p.encode() in data:
            found.append("injected PAN %s in ASCII" % p)
    return found


def nibbles(data):
    return "".join("%02x" % b for b in data)


def ascii_text(data, m):
    """Most bytes under the nibble match m are ASCII digits, space or punctuation: text
    that scan_ascii reads, whose nibbles are decimal too (" 1225 ;" is 2031323235203)."""
    chunk = data[m.start() // 2:(m.end() + 1) // 2]
    return 2 * sum(0x20 <= b <= 0x3F for b in chunk) >= len(chunk)


def scan_bcd(data):
    found = []
    nib = nibbles(data)
    for m in re.finditer(r"[0-9]{13,}", nib):
        if pan_like(m.group()) and not ascii_text(data, m):
            found.append("BCD PAN-like run %s at nibble %d" % (m.group(), m.start()))
    for m in re.finditer(r"[0-9]{13,19}d[0-9]{4}", nib):
        if not ascii_text(data, m):  # "...5500-00" is 2d in hex: text, not BCD
            found.append("BCD track 2 pattern %s at nibble %d" % (m.group(), m.start()))
    for p in PANS:
        if p in nib:
            found.append("injected PAN %s in BCD" % p)
    return found


def pcapng_packets(data):
    """Packet data of each Enhanced Packet Block (type 6), little-endian sections."""
    out, off = [], 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            break
        if btype == 6 and blen >= 32:
            caplen = struct.unpack_from("<I", data, off + 20)[0]
            out.append(data[off + 28: off + 28 + min(caplen, blen - 32)])
        off += blen
    return out


def scan_file(path):
    with open(path, "rb") as f:
        data = f.read()
    found = scan_ascii(data)
    if path.endswith(".pcapng") or ".pcapng." in path:
        for pkt in pcapng_packets(data):
            found += scan_bcd(pkt)
            # ZVT sends a data byte 0x10 twice: read the BCD as the frame means it too.
            if b"\x10\x10" in pkt:
                found += ["unstuffed: " + f for f in scan_bcd(pkt.replace(b"\x10\x10", b"\x10"))]
    return found


FRAMES = {"count": 0}  # card-carrying frames sent, for the summary


def run_lanes(work, exe, clear):
    os.makedirs(work, exist_ok=True)
    extra = ["--capture-clear"] if clear else []
    outputs = []
    for proto in ("zvt", "concert", "pax", "mispos"):
        d = os.path.join(work, proto)
        os.makedirs(d, exist_ok=True)
        term, reg = L.Port(os.path.join(d, "term")), L.Port(os.path.join(d, "reg"))
        j, cap, ev = (os.path.join(d, "journal.db"), os.path.join(d, "lane.pcapng"),
                      os.path.join(d, "events.jsonl"))
        b = L.Bridge(exe, ["--protocol", proto, "--register", reg.path, "--terminal", term.path,
                           "--journal", j, "--capture", cap, "--events", ev,
                           "--log-level", "debug"] + extra, os.path.join(d, "bridge.log"))
        b.start()
        for i, pan in enumerate(PANS):
            cents = amount(i)
            if proto == "zvt":
                L.zvt_exchange(reg, term, cents, i + 1, extra={
                    "pan": pan, "track2": pan + "=2512101123456789",
                    "track3": "01" + pan + "=2512", "track1": "%B" + pan + "^TEST/CARD^2512101?",
                    "tlv": emv_tlv(pan)})
                # the merchant receipt, printed through the register: 06 D1 with the PAN
                line = L.zvt_frame(L.zvt_apdu(0x06, 0xD1, b"\x00CARD " + pan.encode() + b" / " +
                                             grouped(pan, i).encode()))
                term.write(line)
                if reg.read_exact(len(line), 10) != line:
                    L.fail("zvt: receipt line not forwarded byte-exact")
                reg.write(bytes([L.ACK]))
                term.read_exact(1, 10)
                # a command the decoder does not model, with a PAN in BMP 22 (06 93)
                cmd = L.zvt_frame(L.zvt_apdu(0x06, 0x93, b"\x22" + L.llvar(L.bcd_pan(pan))))
                reg.write(cmd)
                if term.read_exact(len(cmd), 10) != cmd:
                    L.fail("zvt: 06 93 not forwarded byte-exact")
                term.write(bytes([L.ACK]))
                reg.read_exact(1, 10)
                FRAMES["count"] += 3
            elif proto == "pax":
                ref = str(i + 1)
                L.ack_line_exchange(reg, term,
                                    L.pax_request(cents, ref, pan=pan,
                                                  ext=b"TRACK2=" + pan.encode() + b"=2512101"),
                                    L.pax_response(cents, ref, pan_field=pan.encode(),
                                                   message=b"APPROVED " + pan.encode() + b" " +
                                                   grouped(pan, printable(i)).encode()))
                FRAMES["count"] += 2
            elif proto == "mispos":
                L.ack_line_exchange(reg, term, L.mispos_request(cents),
                                    L.mispos_response(cents, pan=pan, extra=[
                                        (0xDF01, (pan + "=2512101").encode()),
                                        (0xDF02, ("CARD " + grouped(pan, i)).encode()),
                                        (0x005A, L.bcd_pan(pan)),
                                        (0x0057, L.bcd_pan(pan + "D2512101"))]))
                FRAMES["count"] += 1
            else:
                report = (grouped(pan, printable(i)) + " 1225 ;" + pan + "=2512101")[:55]
                L.concert_exchange(reg, term, cents, report=report)
                FRAMES["count"] += 1
        # Frames that never became frames: one broken by noise mid-stream, one cut short
        # by the end of the run. Their bytes reach the capture as garbage.
        for raw in (broken(proto, card_frame(proto, PANS[0])), card_frame(proto, PANS[1])[:-3]):
            term.write(raw)
            if reg.read_exact(len(raw), 10) != raw:
                L.fail("%s: broken frame not forwarded byte-exact" % proto)
        time.sleep(0.3)
        # Scan the WAL while the bridge runs: it disappears at a clean stop.
        live = [(p + " (live)", scan_file(p)) for p in (j + "-wal", j + "-shm") if os.path.exists(p)]
        if b.stop() != 0:
            L.fail("%s lane: bridge exit status not 0" % proto)
        for name, args in [("report.txt", ["report", "--journal", j, "--all"]),
                           ("report.json", ["report", "--journal", j, "--all", "--json"]),
                           ("report.csv", ["report", "--journal", j, "--all", "--csv"]),
                           ("decode.txt", ["decode", cap]),
                           ("decode.jsonl", ["decode", "--json", cap]),
                           ("monitor.txt", ["monitor", cap, "--once", "--plain"])]:
            r = subprocess.run([exe] + args, capture_output=True, timeout=60)
            with open(os.path.join(d, name), "wb") as f:
                f.write(r.stdout + r.stderr)
            if r.returncode != 0:
                L.fail("%s: posbridge %s exited %d: %s" % (proto, " ".join(args), r.returncode,
                                                          r.stderr[-300:]))
        outputs += live
        with open(ev, "rb") as f:
            if f.read().count(b"\n") < len(PANS):
                L.fail("%s: fewer events than transactions" % proto)
        rows = [r for r in L.journal_rows(j)[1] if r["type"] == "purchase"]
        if len(rows) != len(PANS) or any(r["class"] != "ok" for r in rows):
            L.fail("%s: journal rows %s" % (proto, [(r["requested"], r["class"]) for r in rows]))
        masked = [r["pan_masked"] for r in rows]
        # Every decoded card number is masked. A 12-digit one in a free-text field (the
        # Concert report) is not taken as the card number, only masked where it stands.
        if any((not m or "*" not in m) and (len(p) >= 13 or proto != "concert")
               for m, p in zip(masked, PANS)):
            L.fail("%s: journal pan_masked not masked: %s" % (proto, masked))
        outputs += scan_dir(d)
    outputs += run_none_lane(os.path.join(work, "none"), exe, extra)
    return outputs


def scan_dir(d):
    found = []
    for root, _, files in os.walk(d):
        for fn in files:
            p = os.path.join(root, fn)
            if os.path.islink(p) or fn in ("term", "reg"):
                continue
            found.append((p, scan_file(p)))
    return found


def run_none_lane(d, exe, extra):
    """--protocol none: relay and capture only. No frame is known, so every byte of the
    capture is unframed: card frames of all four protocols go through it."""
    os.makedirs(d, exist_ok=True)
    term, reg = L.Port(os.path.join(d, "term")), L.Port(os.path.join(d, "reg"))
    b = L.Bridge(exe, ["--protocol", "none", "--register", reg.path, "--terminal", term.path,
                       "--capture", os.path.join(d, "lane.pcapng"), "--log-level", "debug"]
                 + extra, os.path.join(d, "bridge.log"))
    b.start()
    for i, proto in enumerate(("zvt", "concert", "pax", "mispos")):
        raw = card_frame(proto, PANS[i])
        term.write(raw)
        if reg.read_exact(len(raw), 10) != raw:
            L.fail("none: %s frame not forwarded byte-exact" % proto)
    time.sleep(0.3)
    if b.stop() != 0:
        L.fail("none lane: bridge exit status not 0")
    return scan_dir(d)


def main():
    work = L.args("carddata.py WORKDIR", "dir")
    exe = os.environ.get("POSBRIDGE", os.path.join(os.path.dirname(__file__), "../../build/posbridge"))
    masked = run_lanes(os.path.join(work, "masked"), exe, clear=False)
    frames = FRAMES["count"]
    if frames < 200:
        L.fail("only %d card-carrying frames generated; the suite promises 200" % frames)
    bad = [(p, f) for p, f in masked if f]
    if bad:
        for p, f in bad:
            print("card data in %s: %s" % (p, f[:5]), file=sys.stderr)
        L.fail("card data found in %d file(s)" % len(bad))
    clear = run_lanes(os.path.join(work, "clear"), exe, clear=True)
    caps = [(p, f) for p, f in clear if p.endswith(".pcapng")]
    others = [(p, f) for p, f in clear if not p.endswith(".pcapng") and f]
    if not caps or any(not f for _, f in caps):
        L.fail("--capture-clear capture without card data: the scanner would miss it")
    if others:
        for p, f in others:
            print("card data in %s: %s" % (p, f[:5]), file=sys.stderr)
        L.fail("--capture-clear leaked card data outside the capture")
    nclear = sum(len(f) for _, f in caps)
    total = sum(os.path.getsize(p.replace(" (live)", "")) for p, _ in masked
                if os.path.exists(p.replace(" (live)", "")))
    print("carddata: %d PANs of 12 to 19 digits x 4 protocols, %d card-carrying frames (ZVT "
          "BMP 22/23/24/2D, BMP 06 TLV 5A/57/5F24 in BCD, a 06 D1 receipt line, 06 93 with BMP "
          "22; Concert report; PAX keyed account, extended data, T01 account and message; "
          "MIS-POS 9F0B, EMV 5A/57 in BCD and unknown tags; groups separated by space, dash, "
          "dot, two spaces, tab, slash; broken and cut frames; a --protocol none lane); %d "
          "files (%d bytes) scanned: 0 findings; with --capture-clear the scanner finds %d in "
          "the captures and 0 in the %d other files" % (len(PANS), frames, len(masked), total,
                                                        nclear, len(clear) - len(caps)))


if __name__ == "__main__":
    main()
