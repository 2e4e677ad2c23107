#!/usr/bin/env python3
"""Concert sales through a live bridge's two ptys, for the end-to-end tests.

usage: concert_sales.py ECR_PTY PT_PTY [N]

Plays both sides of N sales (default 1): each a request for 12.50 EUR that the
"terminal" approves at 13.50 EUR, an overcharge (docs/PROTOCOLS.md section 1). Every
write to one pty must come out of the other within 5 s, or it fails: the bridge did not
forward it."""
import os
import select
import sys
import time
import tty


def frame(body):
    b = body + b"\x03"
    x = 0
    for c in b:
        x ^= c
    return b"\x02" + b + bytes([x])


def raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    return fd


def send(src, dst, data):
    os.write(src, data)
    got = b""
    end = time.time() + 5
    while len(got) < len(data) and time.time() < end:
        r, _, _ = select.select([dst], [], [], 0.5)
        if r:
            got += os.read(dst, 4096)
    assert got == data, (got, data)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    ecr, pt = raw(sys.argv[1]), raw(sys.argv[2])
    for _ in range(int(sys.argv[3]) if len(sys.argv) == 4 else 1):
        send(ecr, pt, b"\x05")
        send(pt, ecr, b"\x06")
        send(ecr, pt, frame(b"0100001250110978          A010B010"))
        send(pt, ecr, b"\x06")
        send(ecr, pt, b"\x04")
        send(pt, ecr, b"\x05")
        send(ecr, pt, b"\x06")
        send(pt, ecr, frame(b"0100000135019780000000000"))
        send(ecr, pt, b"\x06")
        send(pt, ecr, b"\x04")


main()
