#!/usr/bin/env bash
# Man pages and `make install`, as an integrator installs on a checkout PC:
#  - docs/man.sh makes each program's page from its --help texts: one section per
#    command the top --help lists, each with that command's usage line; groff reads it
#    without a warning;
#  - `make install DESTDIR=...` puts programs, pages, the systemd unit (naming the
#    installed program), the examples and the Wireshark dissectors where they belong,
#    with the right modes; the installed dissectors, copied into a personal Wireshark
#    plugin folder as docs/CAPTURE.md says, open a capture decoded with no option, and
#    loaded a second time (-X lua_script) they stay quiet.
set -euo pipefail
: "${POSBRIDGE:?set by make check}"
: "${POSSIM:?set by make check}"
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() { echo "test_man_install: FAIL: $*" >&2; exit 1; }
checks=0

for prog in "$POSBRIDGE" "$POSSIM"; do
    name=$(basename "$prog")
    "$root/docs/man.sh" "$prog" "test page" "$tmp/$name.1"
    groff -man -Tutf8 -ww -z "$tmp/$name.1" 2>"$tmp/groff.err" || die "groff failed on $name.1"
    [ ! -s "$tmp/groff.err" ] || die "groff warns on $name.1: $(head -3 "$tmp/groff.err")"
    groff -man -Tutf8 "$tmp/$name.1" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' >"$tmp/$name.txt"
    mapfile -t cmds < <("$prog" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
    [ ${#cmds[@]} -ge 6 ] || die "$name --help lists ${#cmds[@]} commands"
    for c in "${cmds[@]}"; do
        grep -q "^\.SS $name $c\$" "$tmp/$name.1" || die "$name.1 has no section for $c"
        usage=$("$prog" "$c" --help | head -1)
        grep -qF -- "$usage" "$tmp/$name.txt" || die "$name.1: '$usage' not in the rendered page"
        checks=$((checks + 1))
    done
done
rc=0
"$root/docs/man.sh" "$POSBRIDGE" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || die "man.sh with too few arguments: exit $rc"
checks=$((checks + 1))

# make install into a staging root, with the programs this suite was given.
build=$(cd "$(dirname "$POSBRIDGE")" && pwd)
build=${build#"$root"/}
# (the sanitizer and coverage builds need their flags again, or make would relink
# their objects without the runtime)
flavour=(BUILD="$build")
case $build in
build-san) flavour=(SANITIZE=1) ;;
build-cov) flavour=(COVERAGE=1) ;;
esac
make -s -C "$root" install "${flavour[@]}" DESTDIR="$tmp/root" PREFIX=/usr/local >"$tmp/install.log" 2>&1 ||
    die "make install: $(tail -5 "$tmp/install.log")"
r=$tmp/root/usr/local
plugins=$(make -s -C "$root" print-WIRESHARK_PLUGIN_DIR PREFIX=/usr/local)
case $plugins in
/usr/local/lib/*/wireshark/plugins | /usr/local/lib/wireshark/plugins) ;;
*) die "WIRESHARK_PLUGIN_DIR for PREFIX=/usr/local is '$plugins'" ;;
esac
for f in bin/posbridge:755 bin/possim:755 share/man/man1/posbridge.1:644 share/man/man1/possim.1:644 \
    lib/systemd/system/posbridge@.service:644 share/doc/posbridge/README.md:644 \
    share/doc/posbridge/ALERTS.md:644 share/doc/posbridge/examples/lane1.ini.example:644 \
    share/doc/posbridge/examples/60-posbridge.rules:644 share/doc/posbridge/examples/posbridge.logrotate:644 \
    share/posbridge/wireshark/posbridge.lua:644 "${plugins#/usr/local/}/posbridge.lua:644"; do
    path=$r/${f%:*}
    [ -f "$path" ] || die "make install: no $path"
    [ "$(stat -c %a "$path")" = "${f#*:}" ] || die "make install: $path has mode $(stat -c %a "$path")"
    checks=$((checks + 1))
done
grep -q '^ExecStart=/usr/local/bin/posbridge run ' "$r/lib/systemd/system/posbridge@.service" ||
    die "the installed unit does not name the installed program"
grep -q '^Documentation=man:posbridge(1)' "$r/lib/systemd/system/posbridge@.service" ||
    die "the unit does not point at the man page"
cmp -s "$r/bin/posbridge" "$POSBRIDGE" || die "the installed posbridge is not the one tested"
cmp -s "$r/share/posbridge/wireshark/posbridge.lua" "$root/contrib/wireshark/posbridge.lua" ||
    die "the installed dissectors are not contrib/wireshark/posbridge.lua"
checks=$((checks + 4))
make -s -C "$root" install "${flavour[@]}" DESTDIR="$tmp/root2" PREFIX=/usr WIRESHARK_PLUGIN_DIR= \
    >"$tmp/install2.log" 2>&1 || die "make install WIRESHARK_PLUGIN_DIR=: $(tail -5 "$tmp/install2.log")"
[ -f "$tmp/root2/usr/share/posbridge/wireshark/posbridge.lua" ] ||
    die "WIRESHARK_PLUGIN_DIR= does not install share/posbridge/wireshark/posbridge.lua"
if find "$tmp/root2/usr/lib" -path '*wireshark*' | grep -q .; then
    die "WIRESHARK_PLUGIN_DIR= still installs into a plugin folder"
fi
checks=$((checks + 1))

# The documented copy into a personal plugin folder: a ZVT and a Concert capture open
# decoded with no option (tshark writes its profile under $HOME: a temporary one).
if command -v tshark >/dev/null 2>&1; then
    home=$tmp/home
    mkdir -p "$home/.local/lib/wireshark/plugins"
    cp "$r/share/posbridge/wireshark/posbridge.lua" "$home/.local/lib/wireshark/plugins/"
    for p in concert zvt; do
        "$POSSIM" play -q --capture "$tmp/$p.pcapng" "$root/captures/scenarios/$p-ok.scn" >/dev/null 2>&1 ||
            die "possim play $p-ok failed"
        HOME=$home XDG_CONFIG_HOME=$home/.config tshark -r "$tmp/$p.pcapng" -T fields -e _ws.col.Protocol \
            >"$tmp/$p.cols" 2>"$tmp/$p.err" || die "tshark on $p: $(tail -3 "$tmp/$p.err")"
        if [ ! -s "$tmp/$p.cols" ] || grep -qv '^\(Concert\|ZVT\)$' "$tmp/$p.cols"; then
            # Where init.lua keeps personal Lua plugins from root, tshark shows raw data
            grep -q 'run_user_scripts_when_superuser = true' /usr/share/wireshark/init.lua 2>/dev/null ||
                [ "$(id -u)" -ne 0 ] || continue
            die "$p capture not decoded by the installed plugin: $(sort -u "$tmp/$p.cols" | tr '\n' ' ')"
        fi
        HOME=$home XDG_CONFIG_HOME=$home/.config tshark -X "lua_script:$root/contrib/wireshark/posbridge.lua" \
            -r "$tmp/$p.pcapng" -c 1 >/dev/null 2>"$tmp/$p.err2" || die "tshark with the plugin twice failed"
        ! grep -q 'Lua' "$tmp/$p.err2" || die "the plugin loaded twice complains: $(head -3 "$tmp/$p.err2")"
        checks=$((checks + 2))
    done
fi
echo "test_man_install: $checks checks passed"
