#!/usr/bin/env bash
# Issue 18, "Paths": every output file of every command, tried as an attacker and a
# careless installer would. For each output path and each case:
#   symlink   a symlink to a victim file          refused, victim unchanged, non-zero exit
#   dangling  a symlink to a file not yet there   refused, nothing created through it
#   fifo      a FIFO                              refused, no hang (timeout), still a FIFO
#   mode644   an existing file with mode 0644     refused, file unchanged
#   owner     an existing file owned by nobody    refused, file unchanged (root only)
#   fresh     nothing there, umask 000            created, mode 0600, exit 0
# The message must name the problem (docs/TOOLS.md "Output files"). Each row prints its
# result; the run fails if any row does.
set -uo pipefail

: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
: "${POSSIM:?set POSSIM to the possim binary}"
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
rows=0
fail() { echo "test_rel_paths: FAIL: $*" >&2; fails=$((fails + 1)); }

# ---- fixtures: a capture dump and a small journal -----------------------------------------
cat >"$tmp/dump.txt" <<'EOF'
# posbridge capture dump; link type 147 (zvt)
2026-11-22T02:35:08.828123Z ecr 06 0f 00
2026-11-22T02:35:08.900000Z pt  80 00 00
EOF
"$POSBRIDGE" capture import "$tmp/dump.txt" --pcapng "$tmp/fixture.pcapng" 2>/dev/null ||
    { echo "test_rel_paths: cannot make the fixture capture" >&2; exit 1; }
"$POSBRIDGE" run --protocol zvt --register "pty:$tmp/fx-ecr" --terminal "pty:$tmp/fx-pt" \
    --journal "$tmp/fixture.db" -q 2>/dev/null &
fx=$!
pids+=("$fx")
for _ in $(seq 100); do [ -e "$tmp/fx-pt" ] && break; sleep 0.02; done
kill -TERM "$fx"
wait "$fx" 2>/dev/null
[ -s "$tmp/fixture.db" ] || { echo "test_rel_paths: cannot make the fixture journal" >&2; exit 1; }

# ---- how each output is written -----------------------------------------------------------
# out_KIND DIR PATH: runs the command writing PATH (DIR is the row's own directory). A
# "daemon" (bridge, possim terminal) is started in the background; in a refusal row it
# must exit by itself within 3 s, in the "fresh" row it is stopped with SIGTERM by its
# saved PID once PATH and its pty ($DIR/ready) exist (and its signal handlers, a moment
# later).
daemon() { # READY_FILE CMD...
    local ready=$1
    shift
    "$@" &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        [ "$case" = fresh ] && [ -e "$ready" ] && [ -e "$dir/ready" ] && sleep 0.2 && break
        sleep 0.02
    done
    # Still running: SIGTERM, and SIGKILL if that is not enough (hung in open(2)).
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    local rc=0
    wait "$pid" || rc=$?
    return "$rc"
}
bridge() { # PATH-READY then posbridge run options
    local ready=$1
    shift
    daemon "$ready" "$POSBRIDGE" run --protocol zvt --register "pty:$dir/ecr" \
        --terminal "pty:$dir/ready" "$@"
}
out_capture() { bridge "$2" --no-journal --capture "$2"; }
out_events() { bridge "$2" --no-journal --events "$2"; }
out_journal() { bridge "$2" --journal "$2"; }
out_html() { timeout -k 1 10 "$POSBRIDGE" report --journal "$tmp/fixture.db" --html "$2"; }
out_export() { timeout -k 1 10 "$POSBRIDGE" capture export "$tmp/fixture.pcapng" -o "$2"; }
out_import_pcapng() { timeout -k 1 10 "$POSBRIDGE" capture import "$tmp/dump.txt" --pcapng "$2"; }
out_import_raw() { timeout -k 1 10 "$POSBRIDGE" capture import "$tmp/dump.txt" --ecr "$2"; }
out_possim_capture() {
    daemon "$2" "$POSSIM" terminal --protocol zvt --port "pty:$dir/ready" --capture "$2"
}
out_possim_record() {
    daemon "$2" "$POSSIM" terminal --protocol zvt --port "pty:$dir/ready" --record "$2"
}
out_play_capture() {
    timeout -k 1 10 "$POSSIM" play --capture "$2" "$root/captures/scenarios/zvt-overcharge.scn" \
        >/dev/null
}

# What a refusal must say; import never overwrites anything, so it says "exists".
want_msg() { # KIND CASE
    case "$1" in import_*) echo "exists"; return ;; esac
    case "$2" in
    symlink | dangling) echo "a symbolic link" ;;
    fifo) echo "a FIFO, not a regular file" ;;
    mode644) echo "mode 0644, wider than 0600; chmod 600 it or remove it" ;;
    owner) echo "owned by uid 65534" ;;
    esac
}

# state PATH: what a file is, to compare before and after (type, mode, owner, content).
state() {
    if [ -L "$1" ]; then
        echo "link -> $(readlink "$1")"
    elif [ -p "$1" ]; then
        echo "fifo $(stat -c '%a %u' "$1")"
    elif [ -e "$1" ]; then
        echo "file $(stat -c '%a %u %s' "$1") $(md5sum <"$1")"
    else
        echo "none"
    fi
}

kinds="capture events journal html export import_pcapng import_raw possim_capture possim_record play_capture"
cases="symlink dangling fifo mode644 owner fresh"
printf '%-15s' "output"
for c in $cases; do printf ' %-9s' "$c"; done
echo
for kind in $kinds; do
    printf '%-15s' "$kind"
    for case in $cases; do
        dir="$tmp/$kind-$case"
        mkdir -p "$dir"
        path="$dir/out"
        victim="$dir/victim"
        case "$case" in
        symlink)
            printf 'precious\n' >"$victim"
            chmod 600 "$victim"
            ln -s "$victim" "$path"
            ;;
        dangling) ln -s "$victim" "$path" ;;
        fifo) mkfifo -m 600 "$path" ;;
        mode644)
            printf 'keep\n' >"$path"
            chmod 644 "$path"
            ;;
        owner)
            if [ "$(id -u)" != 0 ]; then
                printf ' %-9s' "skip"
                continue
            fi
            printf 'theirs\n' >"$path"
            chmod 600 "$path"
            chown 65534:65534 "$path"
            ;;
        fresh) ;;
        esac
        before_path=$(state "$path")
        before_victim=$(state "$victim")
        rc=0
        (umask 000 && "out_$kind" "$dir" "$path") >"$dir/stdout" 2>"$dir/stderr" || rc=$?
        rows=$((rows + 1))
        ok=1
        if [ "$case" = fresh ]; then
            if [ "$rc" -ne 0 ]; then
                fail "$kind/$case: exit $rc: $(head -c 400 "$dir/stderr")"
                ok=0
            elif [ ! -f "$path" ] || [ -L "$path" ]; then
                fail "$kind/$case: $path not created"
                ok=0
            elif [ "$(stat -c %a "$path")" != 600 ]; then
                fail "$kind/$case: created with mode $(stat -c %a "$path") under umask 000"
                ok=0
            fi
        else
            want=$(want_msg "$kind" "$case")
            if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$rc" -eq 143 ]; then
                fail "$kind/$case: not refused (exit $rc$([ "$rc" -ge 124 ] && echo ': hung or ran until stopped'))"
                ok=0
            elif ! grep -qF -- "$want" "$dir/stderr"; then
                fail "$kind/$case: exit $rc, but the message lacks '$want': $(head -c 400 "$dir/stderr")"
                ok=0
            fi
            if [ "$(state "$path")" != "$before_path" ]; then
                fail "$kind/$case: $path changed: '$before_path' -> '$(state "$path")'"
                ok=0
            fi
            if [ "$(state "$victim")" != "$before_victim" ]; then
                fail "$kind/$case: the victim changed: '$before_victim' -> '$(state "$victim")'"
                ok=0
            fi
        fi
        if [ "$ok" = 1 ]; then printf ' %-9s' "ok ($rc)"; else printf ' %-9s' "FAIL"; fi
    done
    echo
done
if [ "$(id -u)" != 0 ]; then
    echo "test_rel_paths: SKIP: the 'owner' column needs root (chown to nobody)"
fi

# Capture rotation: a symlink planted at PATH.1 is replaced by the rotated capture, never
# written through.
dir="$tmp/rotation"
case=fresh
mkdir -p "$dir"
cp "$tmp/fixture.pcapng" "$dir/out"
chmod 600 "$dir/out"
printf 'precious\n' >"$dir/victim"
ln -s "$dir/victim" "$dir/out.1"
rc=0
bridge "$dir/out" --no-journal --capture "$dir/out" 2>"$dir/stderr" || rc=$?
rows=$((rows + 1))
if [ "$rc" -ne 0 ]; then
    fail "rotation: exit $rc: $(cat "$dir/stderr")"
elif [ "$(cat "$dir/victim")" != precious ] || [ -L "$dir/out.1" ] ||
    ! cmp -s "$dir/out.1" "$tmp/fixture.pcapng"; then
    fail "rotation: the symlink at PATH.1 was followed or the old capture lost"
else
    echo "capture rotation with a symlink at PATH.1: replaced, victim unchanged"
fi

# SIGHUP reopen: the events file and the capture moved away by logrotate and a symlink
# planted in their place; the bridge refuses both and goes on writing where it was.
dir="$tmp/reopen"
mkdir -p "$dir"
printf 'precious\n' >"$dir/victim"
chmod 600 "$dir/victim"
"$POSBRIDGE" run --protocol zvt --register "pty:$dir/ecr" --terminal "pty:$dir/pt" \
    --no-journal --capture "$dir/c.pcapng" --events "$dir/e.jsonl" 2>"$dir/stderr" &
bp=$!
pids+=("$bp")
for _ in $(seq 150); do [ -e "$dir/pt" ] && [ -e "$dir/e.jsonl" ] && break; sleep 0.02; done
mv "$dir/c.pcapng" "$dir/c.pcapng.old"
mv "$dir/e.jsonl" "$dir/e.jsonl.old"
ln -s "$dir/victim" "$dir/c.pcapng"
ln -s "$dir/victim" "$dir/e.jsonl"
kill -HUP "$bp"
for _ in $(seq 100); do
    [ "$(grep -c refusing "$dir/stderr")" -ge 2 ] && break
    sleep 0.02
done
kill -TERM "$bp"
rc=0
wait "$bp" || rc=$?
rows=$((rows + 1))
if [ "$(cat "$dir/victim")" != precious ]; then
    fail "SIGHUP: the victim was written through a planted symlink"
elif [ "$rc" -ne 0 ]; then
    fail "SIGHUP: the bridge exited $rc"
elif ! grep -q "events: refusing $dir/e.jsonl: a symbolic link" "$dir/stderr" ||
    ! grep -q "capture: refusing $dir/c.pcapng: a symbolic link" "$dir/stderr"; then
    fail "SIGHUP: no refusal logged: $(cat "$dir/stderr")"
else
    echo "SIGHUP reopen with symlinks planted at the capture and events paths: refused, logged"
fi

if [ "$fails" -ne 0 ]; then
    echo "test_rel_paths: $fails of $rows rows failed" >&2
    exit 1
fi
echo "test_rel_paths: $rows rows passed"
