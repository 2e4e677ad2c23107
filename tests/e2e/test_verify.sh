#!/usr/bin/env bash
# `posbridge verify` on the journal of a live lane (docs/JOURNAL.md, "Tamper evidence"):
# intact while the bridge runs and after; an amount edited, a row deleted, two rows
# swapped or a row slipped in with the sqlite3 module are each found (exit 65, the first
# broken row and why); a missing or foreign file is exit 66. An independent reader in
# Python recomputes the whole chain from the format as docs/JOURNAL.md states it.
set -euo pipefail
: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
bridge_pid=
cleanup() {
    if [ -n "$bridge_pid" ]; then kill -9 "$bridge_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "test_verify: FAIL: $*" >&2
    for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -5 "$f"; } >&2; done
    exit 1
}
j="$tmp/journal.db"

"$POSBRIDGE" run --protocol concert --register "pty:$tmp/ecr" --terminal "pty:$tmp/pt" \
    --journal "$j" --alert-burst 0 -q 2>"$tmp/bridge.err" &
bridge_pid=$!
for _ in $(seq 200); do [ -e "$tmp/ecr" ] && [ -e "$tmp/pt" ] && break; sleep 0.02; done
[ -e "$tmp/pt" ] || die "the bridge made no ptys"
python3 "$here/concert_sales.py" "$tmp/ecr" "$tmp/pt" 3
sleep 0.3
# Beside the running bridge: read-only, one consistent view.
"$POSBRIDGE" verify --journal "$j" >"$tmp/live.out" 2>"$tmp/live.err" || die "verify beside the bridge: exit $?"
grep -q "^journal $j: intact" "$tmp/live.out" || die "no intact line: $(cat "$tmp/live.out")"
"$POSBRIDGE" resolve 1 --action refund --note "1.00 back" --who test --journal "$j" >/dev/null
python3 "$here/concert_sales.py" "$tmp/ecr" "$tmp/pt" 1
kill -TERM "$bridge_pid"
wait "$bridge_pid" || die "bridge exit $?"
bridge_pid=

"$POSBRIDGE" verify --journal "$j" >"$tmp/ok.out" 2>"$tmp/ok.err" || die "verify of the intact journal: exit $?"
# genesis, 4 sales opened and closed, the resolution
grep -q "^journal $j: intact, 10 chain rows, 5 records" "$tmp/ok.out" || die "$(cat "$tmp/ok.out")"
head=$(awk '/^head/ {print $3}' "$tmp/ok.out")
[ ${#head} = 64 ] || die "no head hash"
"$POSBRIDGE" verify --journal "$j" --head "$head" --quiet >"$tmp/q.out" || die "--head of the journal's own head"
[ -s "$tmp/q.out" ] && die "--quiet printed: $(cat "$tmp/q.out")"

# An independent reader of the format in docs/JOURNAL.md.
python3 - "$j" <<'EOF'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
def enc(v):
    if v is None: return b"\x05"
    if isinstance(v, int): return b"\x01" + struct.pack(">q", v)
    if isinstance(v, float): return b"\x02" + struct.pack(">d", v)
    if isinstance(v, str): v = v.encode(); return b"\x03" + struct.pack(">I", len(v)) + v
    return b"\x04" + struct.pack(">I", len(v)) + v
def row(cols): return struct.pack(">I", len(cols)) + b"".join(enc(c) for c in cols)
COLS = {
 "transactions": "id, run_id, txn_seq, protocol, type, state, class, severity, requested,"
   " requested_currency, charged, currency, amount_due, result, result_code, result_text,"
   " pos_id, terminal_id, trace, receipt, reference, auth_code, pan_masked, started_utc,"
   " ended_utc, latency_us, naks, repeats, checksum_errors, intermediates, related,"
   " related_seq, detail",
 "events": "id, at_utc, run_id, kind, text",
 "resolutions": "id, txn_id, action, note, who, at_utc",
}
def digest(tbl, rid):
    r = db.execute("SELECT %s FROM %s WHERE id = ?" % (COLS[tbl], tbl), (rid,)).fetchone()
    m = enc(tbl) + row(r)
    if tbl == "transactions":
        ev = db.execute("SELECT seq, dir, stream_offset, length, kind FROM evidence"
                        " WHERE txn_id = ? ORDER BY seq, id", (rid,)).fetchall()
        m += b"".join(row(e) for e in ev) + struct.pack(">I", len(ev))
    return hashlib.sha256(m).digest()
prev, n, latest = bytes(32), 0, {}
for seq, tbl, rid, at, rh, ph, h in db.execute("SELECT * FROM chain ORDER BY seq"):
    assert ph == prev, seq
    assert h == hashlib.sha256(prev + enc(seq) + enc(tbl) + enc(rid) + enc(at) + enc(rh)).digest(), seq
    if tbl == "genesis":
        assert rh == hashlib.sha256(b"posbridge journal chain genesis").digest()
    elif tbl == "transactions":
        latest[rid] = rh
    else:
        assert rh == digest(tbl, rid), (tbl, rid)
    prev, n = h, n + 1
for rid, rh in latest.items():
    assert rh == digest("transactions", rid), rid
assert n == 10, n
EOF

# Tampering, each on a copy, as someone with the sqlite3 shell would (triggers dropped).
tampered() { # NAME SQL: a copy of the journal with SQL applied
    cp "$j" "$tmp/$1.db"
    python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()" "$tmp/$1.db" "$2"
}
expect_broken() { # NAME TEXT...: verify exits 65 and stderr has each TEXT
    local name=$1 rc=0
    shift
    "$POSBRIDGE" verify --journal "$tmp/$name.db" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    [ "$rc" = 65 ] || die "$name: exit $rc, wanted 65"
    for t in "$@"; do grep -qF -- "$t" "$tmp/$name.err" || die "$name: '$t' not in: $(cat "$tmp/$name.err")"; done
}
tampered amount "UPDATE transactions SET charged = 1250 WHERE id = 2"
expect_broken amount "BROKEN: chain row 5, transactions row 2: transactions row 2 differs from what chain row 5 recorded: changed after it was written"
tampered deleted "DROP TRIGGER transactions_keep; DELETE FROM evidence WHERE txn_id = 3;
  DELETE FROM transactions WHERE id = 3"
expect_broken deleted "transactions row 3 chained by chain row 7 is missing: deleted"
tampered chaindel "DROP TRIGGER chain_keep_delete; DELETE FROM chain WHERE seq = 4"
expect_broken chaindel "BROKEN: chain row 5" "chain rows 4 to 4 are missing: deleted"
tampered swapped "UPDATE transactions SET txn_seq = -1 WHERE id = 1;
  UPDATE transactions SET txn_seq = 1 WHERE id = 2; UPDATE transactions SET txn_seq = 2 WHERE id = 1"
expect_broken swapped "transactions row 1 differs" "2 problems in all"
tampered reordered "DROP TRIGGER chain_keep_update; UPDATE chain SET seq = -1 WHERE seq = 6;
  UPDATE chain SET seq = 6 WHERE seq = 7; UPDATE chain SET seq = 7 WHERE seq = -1"
expect_broken reordered "chain row 6 does not follow chain row 5"
tampered added "INSERT INTO resolutions (txn_id, action, note, who, at_utc) VALUES (2, 'none', 'forged', 'x', 1)"
expect_broken added "resolutions row 2: resolutions row 2 is in no chain row"

# Unreadable: missing, not a journal, a journal of the old schema (66); usage (64).
rc=0; "$POSBRIDGE" verify --journal "$tmp/none.db" 2>"$tmp/none.err" || rc=$?
[ "$rc" = 66 ] || die "missing journal: exit $rc"
head -c 4096 /dev/urandom >"$tmp/garbage.db"
rc=0; "$POSBRIDGE" verify --journal "$tmp/garbage.db" 2>"$tmp/garbage.err" || rc=$?
[ "$rc" = 66 ] || die "garbage journal: exit $rc"
tampered v1 "DROP TABLE chain; DROP TRIGGER events_keep_update; DROP TRIGGER events_keep_delete;
  PRAGMA user_version = 1"
rc=0; "$POSBRIDGE" verify --journal "$tmp/v1.db" 2>"$tmp/v1.err" || rc=$?
[ "$rc" = 66 ] || die "v1 journal: exit $rc"
grep -q "needs an upgrade to 2" "$tmp/v1.err" || die "v1: $(cat "$tmp/v1.err")"
# ... migrated by a writable open (a resolve)
"$POSBRIDGE" resolve 2 --action none --journal "$tmp/v1.db" >/dev/null 2>"$tmp/v1-resolve.log"
"$POSBRIDGE" verify --journal "$tmp/v1.db" >"$tmp/v1.out" || die "the migrated v1 journal is not intact"
grep -q "intact, 7 chain rows" "$tmp/v1.out" || die "v1 migrated: $(cat "$tmp/v1.out")"
rc=0; "$POSBRIDGE" verify --journal "$j" --head 12zz 2>/dev/null || rc=$?
[ "$rc" = 64 ] || die "--head 12zz: exit $rc"
"$POSBRIDGE" verify --help | grep -q "Exit status: 0 intact; 65 broken" || die "--help"
echo "test_verify: ok"
