#!/usr/bin/env python3
"""Recomputes the checksum of every wire vector quoted in docs/PROTOCOLS.md.

A vector is a backquoted run of hex bytes that starts a frame: `02 ...` in sections 1
(Concert), 3 (PAX) and 4 (MIS-POS), `10 02 ...` in section 2 (ZVT). Rules:
  Concert, PAX   LRC = XOR of the bytes after STX through ETX
  MIS-POS        LRC = XOR of the bytes from LEN through ETX; LEN (BCD) = data length
  ZVT            CRC-16/KERMIT over the unstuffed APDU plus one 0x03, low byte first;
                 LEN (or FF + 2-byte little-endian length) = data length
Exit status 0 when every vector passes. Usage: python3 tests/doc_vectors.py [FILE] (tests/e2e/test_doc_vectors.sh runs it)"""
import os
import re
import sys


def xor(data):
    r = 0
    for b in data:
        r ^= b
    return r


def kermit(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def check_stx(b):
    if len(b) < 4 or b[-2] != 0x03:
        return False, "no ETX before the last byte"
    c = xor(b[1:-1])
    return c == b[-1], f"LRC {c:02X}, on the wire {b[-1]:02X}"


def check_mispos(b):
    ok, why = check_stx(b)
    length = int(f"{b[1]:02X}{b[2]:02X}")
    data = len(b) - 5
    return ok and length == data, f"{why}; LEN {length}, data {data} bytes"


def check_zvt(b):
    i, apdu = 2, bytearray()
    while i + 1 < len(b):
        if b[i] == 0x10:
            if b[i + 1] == 0x10:
                apdu.append(0x10)
                i += 2
                continue
            if b[i + 1] == 0x03:
                break
            return False, "DLE followed by neither DLE nor ETX"
        apdu.append(b[i])
        i += 1
    if i + 4 != len(b):
        return False, "not exactly two CRC bytes after DLE ETX"
    if len(apdu) >= 3 and apdu[2] == 0xFF:
        length, head = apdu[3] | apdu[4] << 8, 5
    else:
        length, head = apdu[2], 3
    c = kermit(bytes(apdu) + b"\x03")
    wire = b[i + 2] | b[i + 3] << 8
    return (c == wire and length == len(apdu) - head,
            f"CRC {c & 0xFF:02X} {c >> 8:02X}, on the wire {b[i + 2]:02X} {b[i + 3]:02X}; "
            f"LEN {length}, data {len(apdu) - head} bytes")


RULES = {"1": ("02", check_stx), "2": ("10 02", check_zvt), "3": ("02", check_stx),
         "4": ("02", check_mispos)}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "docs", "PROTOCOLS.md")
    section, checked, failed = None, 0, 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"## (\d+)\.", line)
            if m:
                section = m.group(1)
            if section not in RULES:
                continue
            start, rule = RULES[section]
            for v in re.findall(r"`((?:[0-9A-F]{2} )+[0-9A-F]{2})`", line):
                if not v.startswith(start + " ") or len(v.split()) < 6:
                    continue
                ok, why = rule(bytes.fromhex(v.replace(" ", "")))
                checked += 1
                failed += not ok
                print(f"{'ok ' if ok else 'BAD'} section {section}: {why}: {v}")
    print(f"{checked} vectors, {failed} bad")
    return 1 if failed or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
