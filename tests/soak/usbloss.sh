#!/usr/bin/env bash
# USB half of promise 2 (port loss): builds the umockdev testbed holder and the ioctl
# shim next to WORKDIR, then runs usbloss.py: the real posbridge on an emulated USB
# CDC-ACM terminal that is unplugged and plugged back CYCLES times.
# Exit 77 (after a SKIP line) when umockdev is not installed.
#   usage: usbloss.sh WORKDIR CYCLES     ($POSBRIDGE: the binary under test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: usbloss.sh WORKDIR CYCLES   (CYCLES: a positive whole number)" >&2
    exit 64
fi
work=$1
cycles=$2
# (No `ldconfig -p | grep -q` here: under pipefail grep's early exit makes ldconfig die
# of SIGPIPE now and then, which would turn into a false SKIP.)
libdir=$(pkg-config --variable=libdir umockdev-1.0 2>/dev/null || true)
if [ -z "$libdir" ] || [ ! -e "$libdir/libumockdev-preload.so.0" ]; then
    echo "usbloss: SKIP: umockdev not found (Debian packages umockdev, libumockdev-dev)"
    exit 77
fi
mkdir -p "$work"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror "$here/usb_testbed.c" \
    $(pkg-config --cflags --libs umockdev-1.0) -o "$work/usb_testbed"
cc -std=c11 -O1 -g -Wall -Wextra -Werror -shared -fPIC "$here/usb_tiocm.c" -ldl \
    -o "$work/usb_tiocm.so"
USB_TESTBED=$work/usb_testbed USB_TIOCM=$work/usb_tiocm.so \
    python3 "$here/usbloss.py" "$work/run" "$cycles"
