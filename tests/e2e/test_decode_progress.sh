#!/usr/bin/env bash
# posbridge decode's progress bar: on a terminal stderr (a pty here) for a capture of
# 1 MiB or more, erased before the summary; never in a file or for small captures.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/big.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("# posbridge capture dump; link type 148 (concert)\n")
    for i in range(50000):  # ACK bytes, 48 bytes of pcapng each: 2.3 MiB
        f.write("2026-11-22T10:%02d:%02d.%06dZ %s 06\n"
                % (i // 3600 % 60, i // 60 % 60, i, "ecr" if i % 2 else "pt "))
PY
"$POSBRIDGE" capture import "$tmp/big.txt" --pcapng "$tmp/big.pcapng" 2> /dev/null
printf '# posbridge capture dump; link type 148 (concert)\n2026-11-22T10:00:00Z ecr 06\n' > "$tmp/small.txt"
"$POSBRIDGE" capture import "$tmp/small.txt" --pcapng "$tmp/small.pcapng" 2> /dev/null

python3 - "$POSBRIDGE" "$tmp" <<'PY'
import os, pty, subprocess, sys
pb, tmp = sys.argv[1], sys.argv[2]
def on_pty(capture):
    m, s = pty.openpty()
    with open(os.path.join(tmp, "out"), "w") as out:
        rc = subprocess.run([pb, "decode", capture], stdout=out, stderr=s).returncode
    os.close(s)
    err = b""
    while True:
        try:
            d = os.read(m, 65536)
        except OSError:
            break
        if not d:
            break
        err += d
    os.close(m)
    return rc, err
rc, err = on_pty(os.path.join(tmp, "big.pcapng"))
assert rc == 0, rc
assert b"[##############################] 100% 2.3 of 2.3 MiB" in err, err[-300:]
assert b"\r\x1b[Kposbridge decode: 50000 bytes" in err, err[-300:]
rc, err = on_pty(os.path.join(tmp, "small.pcapng"))
assert rc == 0 and b"%" not in err and b"\x1b[K" not in err, err
r = subprocess.run([pb, "decode", os.path.join(tmp, "big.pcapng")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
assert r.returncode == 0 and b"%" not in r.stderr and b"\r" not in r.stderr, r.stderr[-200:]
PY
echo "test_decode_progress: ok"
