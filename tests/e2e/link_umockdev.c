/* Drives the bridge's real libserialport path (lane/link.c, sp_kind_open) on a
 * CDC-ACM port emulated by umockdev (docs/TESTING.md): pb_link_open("/dev/ttyACM0") must
 * take the serial kind, and bytes must pass both ways between the link and the pty
 * behind the emulated node, which this program holds as the "terminal".
 *
 * Built and run by test_link_umockdev.sh (it needs umockdev-1.0, i.e. glib, which the
 * cmocka tests do not link), under LD_PRELOAD=libumockdev-preload.so.0, and linked with
 * tests/soak/usb_tiocm.c: umockdev answers sp_open's modem-line ioctls with ENOTTY, and
 * that file's ioctl() answers them as a CDC-ACM port would. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <umockdev.h>

#include "link.h"
#include "pb_error.h"

static const char desc[] =
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
    "E: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\n"
    "A: busnum=1\\n\nA: devnum=2\\n\nA: idVendor=0b00\\n\nA: idProduct=0080\\n\n"
    "A: manufacturer=Ingenico\\n\nA: product=Lane/3000\\n\nA: serial=SN123\\n\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0\n"
    "E: DEVTYPE=usb_interface\nE: DRIVER=cdc_acm\nE: SUBSYSTEM=usb\n"
    "A: bInterfaceClass=02\\n\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/tty/ttyACM0\n"
    "N: ttyACM0\nE: DEVNAME=/dev/ttyACM0\nE: SUBSYSTEM=tty\nE: MAJOR=166\nE: MINOR=0\n"
    "L: device=../..\n";

#define FAIL(...)                                                                              \
    do {                                                                                       \
        fprintf(stderr, "link_umockdev: FAIL: " __VA_ARGS__);                                  \
        fputc('\n', stderr);                                                                   \
        exit(1);                                                                               \
    } while (0)

/* Reads exactly n bytes from the link within 2 s. */
static void link_read_all(struct pb_link *l, unsigned char *buf, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 200; tries++) {
        struct pollfd p = {.fd = pb_link_fd(l), .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t r = pb_link_read(l, buf + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else if (r != PB_ERR_AGAIN)
            FAIL("pb_link_read: %s", pb_strerror((int)r));
    }
    if (got != n)
        FAIL("link read %zu of %zu bytes", got, n);
}

static void fd_read_all(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 200; tries++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t r = read(fd, buf + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno != EAGAIN && errno != EINTR)
            FAIL("terminal side read: %s", strerror(errno));
    }
    if (got != n)
        FAIL("terminal side read %zu of %zu bytes", got, n);
}

int main(void)
{
    UMockdevTestbed *tb = umockdev_testbed_new();
    GError *err = NULL;
    if (!umockdev_in_mock_environment())
        FAIL("not in a mock environment: run with LD_PRELOAD=libumockdev-preload.so.0");
    if (!umockdev_testbed_add_from_string(tb, desc, &err))
        FAIL("device description: %s", err ? err->message : "?");
    int term = umockdev_testbed_get_dev_fd(tb, "/dev/ttyACM0");
    if (term < 0)
        FAIL("no pty behind /dev/ttyACM0");
    /* The terminal's end raw, so bytes pass unchanged. */
    struct termios t;
    if (tcgetattr(term, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(term, TCSANOW, &t);
    }

    struct pb_line line;
    if (pb_line_parse("9600,8N1", &line, NULL) != PB_OK)
        FAIL("pb_line_parse");
    struct pb_link *l = NULL;
    int rc = pb_link_open("/dev/ttyACM0@19200,8N2", &line, &l);
    if (rc != PB_OK)
        FAIL("pb_link_open: %s", pb_strerror(rc));
    if (pb_link_kind(l) != PB_LINK_SERIAL)
        FAIL("the link took kind %d, not the libserialport path", (int)pb_link_kind(l));

    /* Terminal -> bridge: every byte value, STX/ETX/DLE included. */
    unsigned char out[256], in[256];
    for (int i = 0; i < 256; i++)
        out[i] = (unsigned char)i;
    if (write(term, out, sizeof out) != (ssize_t)sizeof out)
        FAIL("terminal side write: %s", strerror(errno));
    link_read_all(l, in, sizeof in);
    if (memcmp(in, out, sizeof out) != 0)
        FAIL("terminal -> bridge bytes differ");

    /* Bridge -> terminal. */
    for (int i = 0; i < 256; i++)
        out[i] = (unsigned char)(255 - i);
    size_t put = 0;
    for (int tries = 0; put < sizeof out && tries < 200; tries++) {
        ssize_t w = pb_link_write(l, out + put, sizeof out - put);
        if (w > 0)
            put += (size_t)w;
        else if (w != PB_ERR_AGAIN)
            FAIL("pb_link_write: %s", pb_strerror((int)w));
        else
            usleep(1000);
    }
    fd_read_all(term, in, sizeof in);
    if (memcmp(in, out, sizeof out) != 0)
        FAIL("bridge -> terminal bytes differ");

    pb_link_close(l);
    g_object_unref(tb);
    printf("link_umockdev: ok: /dev/ttyACM0 opened by libserialport, 512 bytes both ways\n");
    return 0;
}
