/* Holds a umockdev testbed with one USB CDC-ACM terminal (VID:PID 0b00:0080, its tty
 * at /dev/ttyACM0) and plugs/unplugs it on command, for tests/soak/usbloss.py.
 *
 * stdin, one command a line; each answered on stdout by "ok" or "err MESSAGE":
 *   plug PTYNAME   add the USB device, its interface and its tty to sysfs, and point
 *                  the testbed's /dev/ttyACM0 at PTYNAME (a pty slave the caller holds
 *                  the master of, as umockdev itself does for an emulated tty)
 *   unplug         remove the tty, the interface and the USB device from sysfs
 *                  (children first, as the kernel does) and the /dev/ttyACM0 node
 *   quit
 * At start it prints "dir UMOCKDEV_DIR": processes run with that UMOCKDEV_DIR and
 * LD_PRELOAD=libumockdev-preload.so.0 see this testbed's /sys and /dev. The testbed's
 * worker thread (in this process) answers their ioctls on the emulated node.
 *
 * Why the node is made here and not by umockdev (an "N:" line): umockdev 0.17's
 * remove_device() leaves the removed tty's pty master in its table of device fds, so
 * adding a tty of the same name again fails an assertion (create_node_for_device:
 * !dev_fd.contains(devname)). Making the node ourselves the same way (a symlink from
 * the testbed's dev/ttyACM0 to a pty slave) allows any number of plug cycles. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umockdev.h>

#define USB_DEV "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
#define USB_IFACE USB_DEV "/1-1:1.0"
#define USB_TTY USB_IFACE "/tty/ttyACM0"

/* No "N:" (see above) and no "A: dev=" (without it umockdev keeps no major:minor map
 * for the pty, so isatty() stays true on it: docs/TESTING.md). */
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
    "E: DEVNAME=/dev/ttyACM0\nE: SUBSYSTEM=tty\nE: MAJOR=166\nE: MINOR=0\n"
    "L: device=../..\n";

static void reply(const char *fmt, const char *arg)
{
    printf(fmt, arg);
    putchar('\n');
    fflush(stdout);
}

int main(void)
{
    UMockdevTestbed *tb = umockdev_testbed_new();
    const char *root = umockdev_testbed_get_root_dir(tb);
    char node[4096], tmp[4200], devdir[4096];
    snprintf(devdir, sizeof devdir, "%s/dev", root);
    snprintf(node, sizeof node, "%s/dev/ttyACM0", root);
    snprintf(tmp, sizeof tmp, "%s.new", node);
    if (mkdir(devdir, 0755) < 0 && errno != EEXIST) {
        reply("err mkdir %s", devdir);
        return 1;
    }
    reply("dir %s", root);
    bool plugged = false;
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "plug ", 5) == 0) {
            if (plugged) {
                reply("err %s", "already plugged");
                continue;
            }
            GError *err = NULL;
            if (!umockdev_testbed_add_from_string(tb, desc, &err)) {
                reply("err add_from_string: %s", err ? err->message : "?");
                g_clear_error(&err);
                continue;
            }
            /* sysfs first, then the node, as udev makes the node after the kernel's
             * "add"; the rename makes the node appear whole. */
            (void)unlink(tmp);
            if (symlink(line + 5, tmp) < 0 || rename(tmp, node) < 0) {
                reply("err symlink: %s", strerror(errno));
                continue;
            }
            plugged = true;
            reply("%s", "ok");
        } else if (strcmp(line, "unplug") == 0) {
            if (!plugged) {
                reply("err %s", "not plugged");
                continue;
            }
            umockdev_testbed_remove_device(tb, USB_TTY);
            umockdev_testbed_remove_device(tb, USB_IFACE);
            umockdev_testbed_remove_device(tb, USB_DEV);
            if (unlink(node) < 0) {
                reply("err unlink node: %s", strerror(errno));
                continue;
            }
            char cls[4200];
            snprintf(cls, sizeof cls, "%s/sys/class/tty/ttyACM0", root);
            struct stat st;
            if (lstat(cls, &st) == 0) {
                reply("err %s", "the tty's sysfs class link survived remove_device");
                continue;
            }
            plugged = false;
            reply("%s", "ok");
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            reply("err unknown command: %s", line);
        }
    }
    g_object_unref(tb);
    return 0;
}
