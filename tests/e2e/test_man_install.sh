#!/usr/bin/env bash
# Man pages and `make install`, as an integrator installs on a checkout PC:
#  - docs/man.sh makes each program's page from its --help texts: one section per
#    command the top --help lists, each with that command's usage line; groff reads it
#    without a warning;
#  - `make install DESTDIR=...` puts programs, pages, the systemd unit (naming the
#    installed program) and the examples where they belong, with the right modes.
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
for f in bin/posbridge:755 bin/possim:755 share/man/man1/posbridge.1:644 share/man/man1/possim.1:644 \
    lib/systemd/system/posbridge@.service:644 share/doc/posbridge/README.md:644 \
    share/doc/posbridge/ALERTS.md:644 share/doc/posbridge/examples/lane1.ini.example:644 \
    share/doc/posbridge/examples/60-posbridge.rules:644 share/doc/posbridge/examples/posbridge.logrotate:644; do
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
checks=$((checks + 3))
echo "test_man_install: $checks checks passed"
