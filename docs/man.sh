#!/usr/bin/env bash
# usage: man.sh PROGRAM "WHAT IT IS" OUT.1
#
# A man page made from PROGRAM's own help: `PROGRAM --help` and each command's
# `PROGRAM COMMAND --help` (the commands are the ones the first lists), so that the page
# and --help cannot disagree. `make man` runs it; `make install` installs the pages.
# The date is the last commit's (or SOURCE_DATE_EPOCH), so that a rebuild gives the
# same page. Exit 64 on bad arguments, 1 when PROGRAM does not run.
set -euo pipefail
[ $# -eq 3 ] && [ -x "$1" ] || { echo "usage: man.sh PROGRAM \"WHAT IT IS\" OUT.1" >&2; exit 64; }
prog=$1 what=$2 out=$3
name=$(basename "$prog")
here=$(cd "$(dirname "$0")" && pwd)
version=$("$prog" --version | awk '{print $2; exit}')
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)}
day=$(date -u -d "@$epoch" +%Y-%m-%d)
top=$("$prog" --help)
mapfile -t commands < <(printf '%s\n' "$top" |
    awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ ${#commands[@]} -gt 0 ] || { echo "man.sh: $prog --help lists no commands" >&2; exit 1; }

# Help text as it is, in no-fill mode: backslashes escaped, a line that starts with a
# dot or a quote kept from being read as a request.
text() {
    printf '.nf\n'
    sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n'
}

{
    printf '.TH %s 1 "%s" "%s %s" "User Commands"\n' "${name^^}" "$day" "$name" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$what"
    printf '.SH SYNOPSIS\n.B %s\n.I COMMAND\n[\\fIOPTIONS\\fR]\n' "$name"
    printf '.SH DESCRIPTION\n'
    printf '%s\n' "$top" | text
    printf '.SH COMMANDS\n'
    for c in "${commands[@]}"; do
        printf '.SS %s %s\n' "$name" "$c"
        "$prog" "$c" --help | text
    done
    printf '.SH SEE ALSO\n'
    printf 'README.md and docs/*.md (scenarios, journal, captures, alerts, tools, reliability,\n'
    printf 'benchmarks), installed in share/doc/posbridge/ with the example configuration, udev\n'
    printf 'rule and logrotate file; the systemd unit posbridge@.service.\n'
} >"$out"
