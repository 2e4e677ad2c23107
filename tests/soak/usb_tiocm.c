/* ioctl() shim for running on a umockdev-emulated tty: an LD_PRELOAD library placed
 * before libumockdev-preload.so.0 for the real posbridge (tests/soak/usbloss.py), and
 * linked into tests/e2e/link_umockdev.c, where the executable's ioctl() comes first.
 *
 * umockdev 0.17 sends every ioctl on an emulated node to the testbed process, which
 * answers the modem-line requests with ENOTTY; libserialport's sp_open() then fails
 * (docs/TESTING.md). Retry such an ioctl with the real syscall (the node is a pty), and
 * answer what a pty refuses (TIOCMGET/TIOCMSET/TIOCMBIS/TIOCMBIC) from a stored bit
 * mask, as a USB CDC-ACM port with no modem lines wired would.
 *
 * With PB_TIOCM_LOG=FILE set, each TIOCMGET answered from the mask appends "TIOCMGET"
 * to FILE, and each TIOCEXCL "TIOCEXCL": in posbridge only libserialport's sp_open()
 * asks for the modem lines, and only the termios fallback (lane/link.c,
 * termios_kind_open) sets TIOCEXCL, so the log tells which path opened the port. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int modem_bits = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_CD;

static void note(const char *msg, size_t len)
{
    const char *path = getenv("PB_TIOCM_LOG");
    if (!path)
        return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0600);
    if (fd < 0)
        return;
    (void)syscall(SYS_write, fd, msg, len);
    (void)syscall(SYS_close, fd);
}

int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    static int (*next)(int, unsigned long, ...);
    if (!next)
        next = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    if (req == TIOCEXCL)
        note("TIOCEXCL\n", 9);
    int rc = next ? next(fd, req, arg) : (int)syscall(SYS_ioctl, fd, req, arg);
    if (rc != -1 || errno != ENOTTY)
        return rc;
    rc = (int)syscall(SYS_ioctl, fd, req, arg);
    if (rc != -1 || errno != ENOTTY)
        return rc;
    switch (req) {
    case TIOCMGET:
        *(int *)arg = modem_bits;
        note("TIOCMGET\n", 9);
        return 0;
    case TIOCMSET: modem_bits = *(int *)arg; return 0;
    case TIOCMBIS: modem_bits |= *(int *)arg; return 0;
    case TIOCMBIC: modem_bits &= ~*(int *)arg; return 0;
    default: errno = ENOTTY; return -1;
    }
}
