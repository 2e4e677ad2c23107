#!/usr/bin/env bash
# The Wireshark dissectors (contrib/wireshark/posbridge.lua) against `posbridge decode`:
#  - for every scenario in captures/scenarios/, possim plays the lane and writes its
#    capture; tshark, given nothing but the Lua file, decodes it, and packet by packet
#    every item must agree with `posbridge decode --json` (direction, stream offset,
#    length, type), and so must every data frame's checksum verdict, amount, amount due,
#    transaction type, result and result code (tests/e2e/wireshark_compare.py). For ZVT
#    the amounts and result codes are those of Wireshark's own zvt dissector, fed the
#    frames posbridge.lua puts together and unstuffs;
#  - frames spread over several packets (the line_trouble scenarios slice them) are put
#    together, in one pass and in two (-2);
#  - a capture opens decoded with no -o option, each link type by its dissector;
#  - the comparison is not blind: a copy of the dissectors with an amount off by one
#    (Concert, PAX, MIS-POS) or that hands Wireshark's zvt dissector the frames
#    still stuffed (ZVT) must fail it.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"
: "${POSSIM:?set by make check}"
root=$(cd "$(dirname "$0")/../.." && pwd)
lua=$root/contrib/wireshark/posbridge.lua
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() {
    echo "test_wireshark: FAIL: $*" >&2
    exit 1
}
checks=0

if ! command -v tshark >/dev/null 2>&1; then
    echo "test_wireshark: tshark not installed: SKIP (make check installs it)"
    exit 0
fi
# tshark writes a profile under $HOME: keep it in the test's own directory.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config
mkdir -p "$HOME"

# Lua plugins run as root only when init.lua allows it (Debian's does:
# run_user_scripts_when_superuser = true). Where it does not, tshark runs as nobody.
tshark_cmd=(tshark)
lua_loaded() { "${tshark_cmd[@]}" -G protocols -X "lua_script:$1" 2>/dev/null | grep -q "	concert$"; }
if ! lua_loaded "$lua"; then
    [ "$(id -u)" -eq 0 ] ||
        die "tshark does not load $lua: $(tshark -G protocols -X "lua_script:$lua" 2>&1 | tail -3)"
    chmod 0755 "$tmp"
    chown -R nobody "$HOME"
    tshark_cmd=(setpriv --reuid=nobody --regid=nogroup --clear-groups env "HOME=$HOME"
        "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" tshark)
    lua_loaded "$lua" || die "tshark loads $lua neither as root nor as nobody"
    echo "test_wireshark: this init.lua keeps Lua plugins from root: tshark runs as nobody"
fi
checks=$((checks + 1))
"${tshark_cmd[@]}" -G fields -X "lua_script:$lua" >"$tmp/fields" 2>/dev/null
for p in concert pax mispos pbzvt; do
    grep -q "	$p\.kind	" "$tmp/fields" || die "no field $p.kind registered"
    checks=$((checks + 1))
done

fields() { # the -e options for protocol $1
    local p=$1 x f=(direction offset length kind checksum_ok)
    case $1 in
    concert) f+=(amount result status txn_type) ;;
    pax) f+=(amount amount_due result result_code txn_type) ;;
    mispos) f+=(amount result result_code txn_type) ;;
    zvt) p=pbzvt ;;
    esac
    for x in "${f[@]}"; do printf -- '-e\n%s.%s\n' "$p" "$x"; done
    [ "$1" != zvt ] || printf -- '-e\nzvt.amount\n-e\nzvt.result_code\n-e\nzvt.control_field\n'
}

# compare LUA PROTO NAME [TSHARK-OPTION...]: decodes $tmp/NAME.pcapng with posbridge (once)
# and with tshark, and prints "frames amounts results skipped" compared.
compare() {
    local l=$1 proto=$2 name=$3 ef
    shift 3
    [ -s "$tmp/$name.jsonl" ] ||
        "$POSBRIDGE" decode --json "$tmp/$name.pcapng" >"$tmp/$name.jsonl" 2>"$tmp/$name.decode.err" ||
        die "$name: posbridge decode failed: $(tail -3 "$tmp/$name.decode.err")"
    mapfile -t ef < <(fields "$proto")
    "${tshark_cmd[@]}" -X "lua_script:$l" -r "$tmp/$name.pcapng" "$@" -T fields -E header=y \
        -E separator=/t -E occurrence=a -E aggregator=';' -e frame.number "${ef[@]}" \
        >"$tmp/$name.tsv" 2>"$tmp/$name.tshark.err" ||
        die "$name: tshark failed: $(tail -3 "$tmp/$name.tshark.err")"
    # a Lua error is reported on stderr and the packet shows as malformed
    ! grep -v '^Running as user' "$tmp/$name.tshark.err" | grep -q . ||
        die "$name: tshark says: $(grep -v '^Running as user' "$tmp/$name.tshark.err" | head -3)"
    python3 "$root/tests/e2e/wireshark_compare.py" "$proto" "$tmp/$name.tsv" "$tmp/$name.jsonl"
}

# compare_one LUA SCENARIO [TSHARK-OPTION...]: the same for a scenario's capture, played
# by possim (once).
compare_one() {
    local l=$1 scn=$2 name proto
    shift 2
    name=$(basename "$scn" .scn)
    proto=${name%%-*}
    [ "$proto" != demo ] || proto=${name#demo-}
    if [ ! -s "$tmp/$name.pcapng" ]; then
        "$POSSIM" play -q --capture "$tmp/$name.pcapng" "$scn" >"$tmp/$name.play" 2>&1 ||
            die "$name: possim play failed: $(tail -3 "$tmp/$name.play")"
        chmod a+r "$tmp/$name.pcapng"
    fi
    compare "$l" "$proto" "$name" "$@"
}

scenarios=("$root"/captures/scenarios/*.scn)
total_frames=0 total_amounts=0 total_results=0 total_skipped=0 n=0
declare -A per_proto
for scn in "${scenarios[@]}"; do
    name=$(basename "$scn" .scn)
    out=$(compare_one "$lua" "$scn") || die "$name: tshark and posbridge decode disagree:
$out"
    read -r fr am re sk <<<"$out"
    total_frames=$((total_frames + fr)) total_amounts=$((total_amounts + am))
    total_results=$((total_results + re)) total_skipped=$((total_skipped + sk))
    n=$((n + 1))
    proto=${name%%-*}
    per_proto[$proto]=$((${per_proto[$proto]:-0} + 1))
    checks=$((checks + 1))
done
for p in concert zvt pax mispos; do
    [ "${per_proto[$p]:-0}" -ge 3 ] || die "fewer than 3 $p scenarios compared"
    for s in declined partial_approval overcharge undercharge line_trouble; do
        [ -s "$tmp/$p-$s.tsv" ] || die "$p-$s was not compared"
    done
done

# Two passes (-2) give the same fields; then held bytes name the packet that completed
# them, and frames put together name the packet they began in.
for p in concert zvt pax mispos; do
    out=$(compare_one "$lua" "$root/captures/scenarios/$p-line_trouble.scn" -2) ||
        die "$p-line_trouble with -2: $out"
    pf=$p
    [ "$p" != zvt ] || pf=pbzvt
    "${tshark_cmd[@]}" -X "lua_script:$lua" -r "$tmp/$p-line_trouble.pcapng" -2 -T fields \
        -e "$pf.held_offset" -e "$pf.continued_in" -e "$pf.first_packet" >"$tmp/cont.tsv" 2>/dev/null
    awk -F'\t' '$1 != "" && $2 == ""' "$tmp/cont.tsv" | grep -q . &&
        die "$p-line_trouble: held bytes that name no packet completing them"
    awk -F'\t' '$2 != ""' "$tmp/cont.tsv" | grep -q . || die "$p-line_trouble: no held bytes"
    awk -F'\t' '$3 != ""' "$tmp/cont.tsv" | grep -q . ||
        die "$p-line_trouble: no frame put together from several packets"
    checks=$((checks + 4))
done

# What possim's captures never hold: a port lost in the middle of a frame (the bridge
# writes an event; what was half read is given up), a frame whose bytes stop for more
# than 500 ms (given up, its bytes scanned again), a frame over three packets with the
# other side speaking in between, and a packet that ends one frame and starts the next.
# Made from each protocol's first request through `posbridge capture import`.
for p in concert zvt pax mispos; do
    "$POSBRIDGE" capture export "$tmp/$p-ok.pcapng" >"$tmp/$p-ok.dump" 2>/dev/null
    python3 - "$tmp/$p-ok.dump" >"$tmp/$p-edges.dump" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
head, frame = lines[0], None
for i, l in enumerate(lines[1:], 1):
    f = l.split()
    if len(f) > 3 and f[1] == "ecr":
        for more in lines[i + 1:]:
            if not more.startswith(" "):
                break
            f += more.split()
        frame = f[2:]
        break
h, t = len(frame) // 2, len(frame) // 3
def at(s, what):
    print(f"2026-01-02T00:00:{s}Z {what}")
print(head)
at("00.000000", "ecr " + " ".join(frame[:h]))
at("00.100000", "event register link lost: /dev/ttyUSB0")
at("01.000000", "event register link back: /dev/ttyUSB0")
at("01.000000", "ecr " + " ".join(frame))
at("02.000000", "ecr " + " ".join(frame[:h]))
at("02.600000", "ecr " + " ".join(frame))
at("03.000000", "ecr " + " ".join(frame[:t]))
at("03.100000", "pt  06")
at("03.200000", "ecr " + " ".join(frame[t:2 * t]))
at("03.300000", "ecr " + " ".join(frame[2 * t:] + frame[:t]))
at("03.400000", "ecr " + " ".join(frame[t:]))
PY
    "$POSBRIDGE" capture import "$tmp/$p-edges.dump" --pcapng "$tmp/$p-edges.pcapng" >/dev/null 2>&1 ||
        die "$p-edges: capture import failed"
    chmod a+r "$tmp/$p-edges.pcapng"
    out=$(compare "$lua" "$p" "$p-edges") || die "$p-edges: tshark and posbridge decode disagree:
$out"
    read -r fr _ <<<"$out"
    [ "$fr" -eq 4 ] || die "$p-edges: $fr data frames, wanted 4"
    grep -q '"kind":"garbage"' "$tmp/$p-edges.jsonl" || die "$p-edges: nothing given up"
    checks=$((checks + 2))
done

# No field shows a card number, even in a capture taken with --capture-clear: frames
# with a whole card number where each protocol carries one (Concert's report, PAX's
# account and message, MIS-POS's 9F0B and an unknown tag), imported as they are.
python3 - "$tmp" <<'PY'
import sys
tmp, pan = sys.argv[1], b"4970101234567890014"
def lrc(b):
    x = 0
    for c in b:
        x ^= c
    return x
def stx(payload):
    return b"\x02" + payload + b"\x03" + bytes([lrc(payload + b"\x03")])
def mis(data):
    n = "%04d" % len(data)
    body = bytes([int(n[:2], 16), int(n[2:], 16)]) + data + b"\x03"
    return b"\x02" + body + bytes([lrc(body)])
def tlv(tag, v):
    return bytes([tag >> 8, tag & 255, len(v) >> 8, len(v) & 255]) + v
frames = {
    "concert": [("pt", stx(b"01000001250" + b"1" + (b"CARD " + pan).ljust(55) + b"978" + b" " * 10))],
    "pax": [("ecr", stx(b"T00\x1c1.28\x1c01\x1c100\x1c" + pan + b"\x1f1229\x1f123\x1c1\x1c\x1c\x1c\x1c")),
            ("pt", stx(b"0\x1cT01\x1c1.28\x1c000000\x1cOK " + pan + b"\x1c\x1c01\x1c100\x1c" + pan + b"\x1c1"))],
    "mispos": [("pt", mis(tlv(0x9F14, b"00") + tlv(0x9F0B, pan) + tlv(0x9F99, b"X" + pan)))],
}
link = {"concert": 148, "pax": 150, "mispos": 151}
for p, fs in frames.items():
    with open(f"{tmp}/{p}-clear.dump", "w") as out:
        out.write(f"# posbridge capture dump; link type {link[p]} ({p})\n")
        for i, (d, f) in enumerate(fs):
            out.write(f"2026-01-02T00:00:0{i}.000000Z {d:3} " + " ".join("%02x" % b for b in f) + "\n")
PY
for p in concert pax mispos; do
    "$POSBRIDGE" capture import "$tmp/$p-clear.dump" --pcapng "$tmp/$p-clear.pcapng" >/dev/null 2>&1 ||
        die "$p-clear: capture import failed"
    chmod a+r "$tmp/$p-clear.pcapng"
    "${tshark_cmd[@]}" -X "lua_script:$lua" -r "$tmp/$p-clear.pcapng" -V >"$tmp/$p-clear.txt" 2>&1 ||
        die "$p-clear: tshark failed"
    grep -q "$p\|Concert\|PAX\|MIS-POS" "$tmp/$p-clear.txt" || die "$p-clear: not decoded"
    grep -q "0101234567890" "$tmp/$p-clear.txt" && die "$p-clear: a field shows the card number: \
$(grep -n "0101234567890" "$tmp/$p-clear.txt" | head -3)"
    checks=$((checks + 1))
done

# Opened with nothing but the Lua file: every packet in its protocol's column.
for p in concert zvt pax mispos; do
    case $p in
    concert) want=Concert ;; zvt) want=ZVT ;; pax) want=PAX ;; mispos) want=MIS-POS ;;
    esac
    "${tshark_cmd[@]}" -X "lua_script:$lua" -r "$tmp/$p-ok.pcapng" -T fields -e _ws.col.Protocol \
        2>/dev/null | sort -u >"$tmp/cols"
    [ "$(cat "$tmp/cols")" = "$want" ] || die "$p-ok: protocol column '$(tr '\n' ' ' <"$tmp/cols")', wanted $want"
    checks=$((checks + 1))
done

# Not blind: a dissector with an amount off by one, or one that hands the zvt dissector
# frames with their DLE doubling, fails (zvt-partial_approval charges 10.00: 00 00 00 00 10 00).
sed 's/u64_digits(\([av]\))/(u64_digits(\1) + 1)/' "$lua" >"$tmp/broken-amount.lua"
sed 's/if plain == item.wire then/if true then/' "$lua" >"$tmp/broken-zvt.lua"
cmp -s "$lua" "$tmp/broken-amount.lua" && die "could not break the amounts"
cmp -s "$lua" "$tmp/broken-zvt.lua" && die "could not break the unstuffing"
chmod a+r "$tmp"/broken-*.lua
for p in concert pax mispos zvt; do
    b=$tmp/broken-amount.lua
    [ "$p" != zvt ] || b=$tmp/broken-zvt.lua
    if out=$(compare_one "$b" "$root/captures/scenarios/$p-partial_approval.scn"); then
        die "$p: a broken dissector passed the comparison ($out)"
    fi
    grep -q "amount: tshark" <<<"$out" || die "$p: a broken dissector failed, but not on an amount: $out"
    checks=$((checks + 1))
done

echo "test_wireshark: $n scenarios, $total_frames data frames compared ($total_amounts amounts," \
    "$total_results results; of them $total_skipped ZVT frames with a bad CRC: CRC verdict only);" \
    "$checks checks passed"
