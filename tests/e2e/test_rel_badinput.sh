#!/usr/bin/env bash
# Promise 4 (docs/RELIABILITY.md), the table part: malformed command lines, config files,
# captures, journals and scenarios given to the real binaries. Each must end with the
# sysexits code of its kind (64 usage, 65 data, 66 no input, 78 config), a message that
# names the problem, and never a signal (a crash would be 128+N).
set -euo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
: "${POSSIM:?set POSSIM to the possim binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# Inputs.
printf '[bridge]\nbogus = 1\n' >unknown-key.ini
printf '[lane]\nprotocol = zvt\n' >bad-section.ini
printf '[bridge]\nthis is not ini\n' >syntax.ini
printf '[bridge]\nalert-timeout = -3\n' >bad-value.ini
printf '[bridge]\nno-journal = maybe\n' >bad-bool.ini
printf '[bridge]\ncapture-max-size = 12Q\n' >bad-size.ini
printf '[bridge]\ncapture-files = 99999999999999999999\n' >overflow.ini
head -c 3000 /dev/urandom >binary.ini
python3 -c "print('[bridge]\nprotocol = ' + 'z' * 20000)" >long-line.ini
printf '[bridge\nprotocol = zvt\n' >open-section.ini
printf '\xef\xbb\xbf[bridge]\n=zvt\n' >empty-key.ini
head -c 500 /dev/urandom >garbage.bin
printf '\x0a\x0d\x0d\x0a\x1c\x00\x00\x00' >truncated.pcapng
printf 'garbage line\n' >bad.scn
printf 'protocol zvt\nsale 10.00 EUR then\n' >bad2.scn
printf 'protocol zvt\nsale 99999999999999999999999.00\n' >huge.scn
: >empty.scn

checks=0
# row CODE "TEXT IN STDERR" CMD...
row() {
    local want=$1 text=$2
    shift 2
    local rc=0
    timeout 20 "$@" >out 2>err </dev/null || rc=$?
    cat out >>err # monitor --plain reports on stdout
    if [ "$rc" -ne "$want" ] || ! grep -qiF -- "$text" err; then
        echo "test_rel_badinput: FAIL: exit $rc (want $want), stderr (want '$text'):" >&2
        head -c 600 err >&2
        echo "  command: $*" >&2
        exit 1
    fi
    checks=$((checks + 1))
}
B=$POSBRIDGE
S=$POSSIM
# command lines
row 64 "usage" "$B"
row 64 "unknown command" "$B" nosuch
row 64 "--register and --terminal are required" "$B" run
row 64 "unknown protocol 'nosuch'" "$B" run --register pty:x --terminal y --protocol nosuch
row 64 "--alert-timeout: invalid value 'abc'" "$B" run --alert-timeout abc
row 64 "--alert-timeout: invalid value '0'" "$B" run --alert-timeout 0
row 64 "--capture-files: invalid value '0'" "$B" run --capture-files 0
row 64 "--capture-max-size: invalid value" "$B" run --capture-max-size 5T
row 64 "--response-timeout: invalid value" "$B" run --response-timeout -1
row 64 "--log-level: invalid value 'loud'" "$B" run --log-level loud
row 64 "posbridge run: unknown option '--bogus'" "$B" run --bogus
# Every subcommand names the option at fault, also inside a cluster or after an argument.
row 64 "posbridge decode: unknown option '-Z'" "$B" decode -jZ
row 64 "posbridge monitor: unknown option '-Z'" "$B" monitor x.pcapng --plain -ZP
row 64 "posbridge decode: option '-p' needs a value" "$B" decode -jp
row 64 "posbridge report: option '--journal' needs a value" "$B" report --journal
row 64 "posbridge ports: option '--json' takes no value" "$B" ports --json=yes
row 64 "option '--ecr' belongs to the other direction" "$B" capture export --ecr e.bin x.pcapng
row 64 "see \`posbridge resolve --help\`" "$B" resolve --bogus
row 64 "see \`posbridge verify --help\`" "$B" verify --bogus
row 64 "--head '12zz': expected the 64 hex digits" "$B" verify --head 12zz --journal none.db
row 64 "--alert-max: invalid value '0'" "$B" run --alert-max 0
row 64 "possim play: option '--seed' needs a value" "$S" play --seed
row 64 "possim terminal: unknown option '-Z'" "$S" terminal -Z
row 64 "possim run: unknown option '--bogus'" "$S" run --bogus
row 64 "unexpected argument 'extra'" "$B" run --register a --terminal b --protocol zvt extra
row 64 "invalid port spec" "$B" run --register pty: --terminal y --protocol zvt --no-journal
row 64 "bad line settings" "$B" run --register pty:"$tmp/r" --terminal "$tmp/t@9600,9Z9" --protocol zvt --no-journal
row 64 "not an executable" "$B" run --register pty:"$tmp/r" --terminal "$tmp/t" --protocol zvt --no-journal --on-discrepancy "$tmp/none;rm -rf /"
row 64 "unknown protocol" "$B" decode --protocol nosuch --hex 00
row 65 "not a hex digit" "$B" decode --protocol zvt --hex zz
row 64 "is not a YYYY-MM-DD day" "$B" report --since notadate --journal none.db
row 64 "'2026-02-30' is not a YYYY-MM-DD day" "$B" report --since 2026-02-30 --journal none.db
row 64 "--until must be a later day than --since" "$B" report --since 2026-12-03 --until 2026-12-03 --journal none.db
row 64 "--json and --csv exclude each other" "$B" report --json --csv --journal none.db
row 64 "--open and --resolved exclude each other" "$B" report --resolved --open --journal none.db
row 64 "--lane-events and --class exclude each other" "$B" report --lane-events --class ok --journal none.db
row 64 "--tz: unknown time zone 'Mars/Olympus'" "$B" report --tz Mars/Olympus --journal none.db
row 64 "--tz: unknown time zone '../../etc/passwd'" "$B" report --tz ../../etc/passwd --journal none.db
row 64 "usage" "$S"
row 64 "unknown command" "$S" nosuch
# config files
row 66 "cannot read config" "$B" run --config /nonexistent/lane.ini
row 78 "unknown-key.ini:2: unknown key 'bogus'" "$B" run --config unknown-key.ini
row 78 "bad-section.ini:2: unknown section [lane]" "$B" run --config bad-section.ini
row 78 "syntax.ini:2: syntax error" "$B" run --config syntax.ini
row 78 "bad-value.ini:2: invalid value '-3' for alert-timeout" "$B" run --config bad-value.ini
row 78 "bad-bool.ini:2: no-journal takes true or false" "$B" run --config bad-bool.ini
row 78 "bad-size.ini:2: invalid value '12Q'" "$B" run --config bad-size.ini
row 78 "overflow.ini:2: invalid value" "$B" run --config overflow.ini
row 78 "binary.ini:" "$B" run --config binary.ini
row 78 "long-line.ini:" "$B" run --config long-line.ini
row 78 "open-section.ini:1:" "$B" run --config open-section.ini
row 78 "empty-key.ini:2:" "$B" run --config empty-key.ini
# captures and journals
row 66 "cannot open capture" "$B" decode /nonexistent.pcapng
row 65 "not a pcapng file" "$B" decode garbage.bin
# A capture cut short (a crash, a full disk) is decoded up to the cut, with a warning.
row 0 "truncated block" "$B" decode truncated.pcapng
row 65 "pcapng" "$B" monitor garbage.bin --once --plain
row 66 "cannot read journal" "$B" report --journal /nonexistent.db
row 65 "is it a posbridge journal" "$B" report --journal garbage.bin
row 66 "cannot read journal" "$B" verify --journal /nonexistent.db
row 66 "cannot read journal" "$B" verify --journal garbage.bin
# scenarios (possim lint is the parser's front door; possim run reports the same line)
row 66 "No such file" "$S" lint /nonexistent.scn
row 65 "bad.scn:1:1: unknown action 'garbage'" "$S" lint bad.scn
row 65 "bad2.scn:2:" "$S" lint bad2.scn
row 65 "huge.scn:2:" "$S" lint huge.scn
row 65 "garbage.bin:1:" "$S" lint garbage.bin
row 65 "truncated.pcapng:2:1: unexpected control byte" "$S" lint truncated.pcapng
echo "test_rel_badinput: $checks malformed inputs, each with its message and exit code"
