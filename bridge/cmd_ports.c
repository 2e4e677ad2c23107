/* `posbridge ports`: what a technician plugged in. Every serial port libserialport
 * sees, every USB device libusb sees, and which of them are payment terminals by their
 * USB ids (usbids.h). A terminal with no serial port bound to it is flagged: it is a
 * vendor-class device (or its driver is not loaded) and the bridge cannot open it as a
 * serial link.
 *
 * Strings of a USB device come from its string descriptors when the device can be
 * opened, else from sysfs (the kernel's cached copy, readable without permission). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>
#include <libserialport.h>
#include <libusb.h>

#include "cli.h"
#include "commands.h"
#include "msg.h"
#include "pb_error.h"
#include "usbids.h"

#ifndef PB_SYSCONFDIR
#define PB_SYSCONFDIR "/etc/posbridge"
#endif

#define STR_MAX 128
#define MAX_IDS_FILES 16
#define MAX_BOUND 8

struct port_info {
    char name[STR_MAX];
    char description[STR_MAX];
    const char *transport;
    bool usb;
    int vid, pid, bus, addr; /* -1 when unknown */
    char manufacturer[STR_MAX], product[STR_MAX], serial[STR_MAX];
    const char *terminal;
};

struct usb_info {
    int bus, addr;
    uint16_t vid, pid;
    uint8_t dev_class;
    uint8_t if_class[32];
    size_t n_if;
    bool vendor_class;
    char manufacturer[STR_MAX], product[STR_MAX], serial[STR_MAX];
    const char *terminal;
    const char *bound[MAX_BOUND]; /* names of serial ports on this device */
    size_t n_bound;
};

struct ports_opts {
    bool json;
    bool udev;
    const char *ids[MAX_IDS_FILES];
    size_t n_ids;
    bool no_system_ids;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge ports [--json | --udev-rules] [--ids FILE]... [--no-system-ids]\n"
            "\n"
            "Lists every serial port (name, description, transport, USB VID:PID,\n"
            "manufacturer, product, serial number) and every USB device (bus, address,\n"
            "VID:PID, class, strings where readable), names the payment terminals among them\n"
            "by their USB ids, and flags terminals that have no serial port bound (vendor-class\n"
            "devices: the bridge cannot open them as a serial link).\n"
            "\n"
            "  -j, --json        one JSON object: serial_ports, usb_devices, warnings\n"
            "  -i, --ids FILE    more terminal ids, one 'VVVV:PPPP name' or 'VVVV:* name' a\n"
            "                    line (see data/terminals.txt); may be repeated; these win\n"
            "                    over " PB_SYSCONFDIR "/terminals.txt, read when present,\n"
            "                    which wins over the built-in table\n"
            "      --no-system-ids  do not read " PB_SYSCONFDIR "/terminals.txt\n"
            "      --udev-rules     instead of the listing, udev rules for the terminals found:\n"
            "                    ModemManager keeps off them (docs/PROTOCOLS.md: it may probe\n"
            "                    CDC-ACM terminals) and each gets a stable name\n"
            "                    /dev/posbridge/terminal-VVVV-PPPP[-SERIAL]; for a file in\n"
            "                    /etc/udev/rules.d/\n"
            "  -h, --help        this text\n"
            "\n"
            "Bad lines of an ids file are reported as FILE:LINE on stderr (and in the JSON\n"
            "warnings) and skipped; the listing is still printed.\n"
            "Exit status: 0 listed, 64 usage, 66 an --ids file is missing, 71 no serial\n"
            "port list could be read.\n"
            "\n"
            "example:\n"
            "  $ posbridge ports\n"
            "  serial ports:\n"
            "    /dev/ttyACM0  usb  0B00:0080  bus 1 address 2  Ingenico / Lane/3000 / SN123\n"
            "                  terminal: Ingenico terminal\n"
            "  usb devices:\n"
            "    bus 001 address 002  0B00:0080  class 02 communications  Ingenico / Lane/3000\n"
            "                  terminal: Ingenico terminal; serial port /dev/ttyACM0\n"
            "    bus 001 address 004  11CA:0207  class ff vendor-specific  VeriFone / VX810\n"
            "                  terminal: Verifone VX810; NO SERIAL PORT (vendor-class device)\n");
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    dst[0] = '\0';
    if (src)
        pb_copy_printable(dst, cap, (const uint8_t *)src, strlen(src));
}

static const char *class_name(uint8_t c)
{
    /* USB-IF base class codes. */
    switch (c) {
    case 0x00: return "per-interface";
    case 0x01: return "audio";
    case 0x02: return "communications";
    case 0x03: return "hid";
    case 0x07: return "printer";
    case 0x08: return "mass-storage";
    case 0x09: return "hub";
    case 0x0A: return "cdc-data";
    case 0x0B: return "smart-card";
    case 0x0E: return "video";
    case 0xE0: return "wireless";
    case 0xEF: return "miscellaneous";
    case 0xFE: return "application-specific";
    case 0xFF: return "vendor-specific";
    default: return "other";
    }
}

/* ---- serial ports ----------------------------------------------------------------- */

static int list_serial(const struct pb_usbids *ids, struct port_info **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    struct sp_port **list = NULL;
    if (sp_list_ports(&list) != SP_OK) {
        char *m = sp_last_error_message();
        fprintf(stderr, "posbridge ports: cannot list serial ports: %s\n", m ? m : "unknown error");
        sp_free_error_message(m);
        return EX_OSERR;
    }
    size_t n = 0;
    while (list[n])
        n++;
    struct port_info *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        sp_free_port_list(list);
        return EX_OSERR;
    }
    for (size_t i = 0; i < n; i++) {
        struct port_info *pi = &p[i];
        copy_str(pi->name, sizeof pi->name, sp_get_port_name(list[i]));
        copy_str(pi->description, sizeof pi->description, sp_get_port_description(list[i]));
        enum sp_transport tr = sp_get_port_transport(list[i]);
        pi->transport = tr == SP_TRANSPORT_USB ? "usb" : tr == SP_TRANSPORT_BLUETOOTH ? "bluetooth"
                                                                                     : "native";
        pi->vid = pi->pid = pi->bus = pi->addr = -1;
        if (tr == SP_TRANSPORT_USB) {
            pi->usb = true;
            int v, d;
            if (sp_get_port_usb_vid_pid(list[i], &v, &d) == SP_OK) {
                pi->vid = v;
                pi->pid = d;
                pi->terminal = pb_usbids_lookup(ids, (uint16_t)v, (uint16_t)d);
            }
            if (sp_get_port_usb_bus_address(list[i], &v, &d) == SP_OK) {
                pi->bus = v;
                pi->addr = d;
            }
            copy_str(pi->manufacturer, STR_MAX, sp_get_port_usb_manufacturer(list[i]));
            copy_str(pi->product, STR_MAX, sp_get_port_usb_product(list[i]));
            copy_str(pi->serial, STR_MAX, sp_get_port_usb_serial(list[i]));
        }
    }
    sp_free_port_list(list);
    *out = p;
    *n_out = n;
    return 0;
}

/* ---- usb devices -------------------------------------------------------------------- */

/* /sys/bus/usb/devices/B-P.P.P/<attr>: the kernel's copy of a string descriptor. */
static void sysfs_string(libusb_device *dev, const char *attr, char *dst, size_t cap)
{
    uint8_t ports[8];
    int np = libusb_get_port_numbers(dev, ports, (int)sizeof ports);
    if (np <= 0)
        return;
    char path[160];
    int len = snprintf(path, sizeof path, "/sys/bus/usb/devices/%u-", libusb_get_bus_number(dev));
    for (int i = 0; i < np && len > 0 && (size_t)len < sizeof path; i++)
        len += snprintf(path + len, sizeof path - (size_t)len, i ? ".%u" : "%u", ports[i]);
    if (len <= 0 || (size_t)len >= sizeof path)
        return;
    snprintf(path + len, sizeof path - (size_t)len, "/%s", attr);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char buf[STR_MAX];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        got--;
    pb_copy_printable(dst, cap, (const uint8_t *)buf, got);
}

static void usb_string(libusb_device_handle *h, libusb_device *dev, uint8_t index,
                       const char *attr, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (h && index) {
        unsigned char buf[STR_MAX];
        int n = libusb_get_string_descriptor_ascii(h, index, buf, sizeof buf);
        if (n > 0) {
            pb_copy_printable(dst, cap, buf, (size_t)n);
            return;
        }
    }
    if (index)
        sysfs_string(dev, attr, dst, cap);
}

static void usb_interfaces(libusb_device *dev, struct usb_info *u)
{
    struct libusb_config_descriptor *cfg = NULL;
    if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
        libusb_get_config_descriptor(dev, 0, &cfg) != 0)
        return;
    for (uint8_t i = 0; i < cfg->bNumInterfaces; i++) {
        const struct libusb_interface *itf = &cfg->interface[i];
        if (itf->num_altsetting < 1 || u->n_if >= sizeof u->if_class)
            continue;
        uint8_t c = itf->altsetting[0].bInterfaceClass;
        u->if_class[u->n_if++] = c;
        if (c == LIBUSB_CLASS_VENDOR_SPEC)
            u->vendor_class = true;
    }
    libusb_free_config_descriptor(cfg);
}

static int usb_cmp(const void *a, const void *b)
{
    const struct usb_info *x = a, *y = b;
    if (x->bus != y->bus)
        return x->bus < y->bus ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Fills *out; a libusb that cannot start (no /dev/bus/usb in a container) is a warning. */
static int list_usb(const struct pb_usbids *ids, struct usb_info **out, size_t *n_out,
                    json_t *warnings)
{
    *out = NULL;
    *n_out = 0;
    libusb_context *ctx = NULL;
    int err = libusb_init(&ctx);
    if (err != 0) {
        fprintf(stderr, "posbridge ports: warning: cannot list USB devices: %s\n",
                libusb_strerror(err));
        json_array_append_new(warnings, json_sprintf("cannot list USB devices: %s",
                                                     libusb_strerror(err)));
        return 0;
    }
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    if (n < 0) {
        fprintf(stderr, "posbridge ports: warning: cannot list USB devices: %s\n",
                libusb_strerror((int)n));
        json_array_append_new(warnings, json_sprintf("cannot list USB devices: %s",
                                                     libusb_strerror((int)n)));
        libusb_exit(ctx);
        return 0;
    }
    struct usb_info *u = calloc(n ? (size_t)n : 1, sizeof *u);
    if (!u) {
        libusb_free_device_list(list, 1);
        libusb_exit(ctx);
        return EX_OSERR;
    }
    size_t k = 0;
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) != 0)
            continue;
        struct usb_info *ui = &u[k++];
        ui->bus = libusb_get_bus_number(list[i]);
        ui->addr = libusb_get_device_address(list[i]);
        ui->vid = dd.idVendor;
        ui->pid = dd.idProduct;
        ui->dev_class = dd.bDeviceClass;
        ui->vendor_class = dd.bDeviceClass == LIBUSB_CLASS_VENDOR_SPEC;
        usb_interfaces(list[i], ui);
        ui->terminal = pb_usbids_lookup(ids, dd.idVendor, dd.idProduct);
        libusb_device_handle *h = NULL;
        if (libusb_open(list[i], &h) != 0)
            h = NULL; /* no permission: sysfs has the strings */
        usb_string(h, list[i], dd.iManufacturer, "manufacturer", ui->manufacturer, STR_MAX);
        usb_string(h, list[i], dd.iProduct, "product", ui->product, STR_MAX);
        usb_string(h, list[i], dd.iSerialNumber, "serial", ui->serial, STR_MAX);
        if (h)
            libusb_close(h);
    }
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    qsort(u, k, sizeof *u, usb_cmp);
    *out = u;
    *n_out = k;
    return 0;
}

/* Serial ports are bound to the USB device with their bus and address; a USB device
 * whose strings could not be read takes the port's (libserialport reads sysfs). */
static void bind_ports(struct port_info *p, size_t np, struct usb_info *u, size_t nu)
{
    for (size_t i = 0; i < np; i++) {
        if (!p[i].usb || p[i].bus < 0)
            continue;
        for (size_t j = 0; j < nu; j++) {
            if (u[j].bus != p[i].bus || u[j].addr != p[i].addr)
                continue;
            if (u[j].n_bound < MAX_BOUND)
                u[j].bound[u[j].n_bound++] = p[i].name;
            if (!u[j].manufacturer[0])
                copy_str(u[j].manufacturer, STR_MAX, p[i].manufacturer);
            if (!u[j].product[0])
                copy_str(u[j].product, STR_MAX, p[i].product);
            if (!u[j].serial[0])
                copy_str(u[j].serial, STR_MAX, p[i].serial);
        }
    }
}

/* ---- output ------------------------------------------------------------------------- */

static void json_str_or_null(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v && v[0] ? json_string(v) : json_null());
}

static void json_hex4(json_t *o, const char *key, int v)
{
    if (v < 0)
        json_object_set_new(o, key, json_null());
    else
        json_object_set_new(o, key, json_sprintf("%04x", (unsigned)v));
}

static int print_json(const struct port_info *p, size_t np, const struct usb_info *u, size_t nu,
                      json_t *warnings)
{
    json_t *root = json_object();
    json_t *jp = json_array(), *ju = json_array();
    if (!root || !jp || !ju) {
        json_decref(root);
        json_decref(jp);
        json_decref(ju);
        return EX_OSERR;
    }
    for (size_t i = 0; i < np; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(p[i].name));
        json_str_or_null(o, "description", p[i].description);
        json_object_set_new(o, "transport", json_string(p[i].transport));
        json_hex4(o, "vid", p[i].vid);
        json_hex4(o, "pid", p[i].pid);
        json_object_set_new(o, "usb_bus", p[i].bus < 0 ? json_null() : json_integer(p[i].bus));
        json_object_set_new(o, "usb_address",
                            p[i].addr < 0 ? json_null() : json_integer(p[i].addr));
        json_str_or_null(o, "manufacturer", p[i].manufacturer);
        json_str_or_null(o, "product", p[i].product);
        json_str_or_null(o, "serial", p[i].serial);
        json_str_or_null(o, "terminal", p[i].terminal);
        json_array_append_new(jp, o);
    }
    for (size_t i = 0; i < nu; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "bus", json_integer(u[i].bus));
        json_object_set_new(o, "address", json_integer(u[i].addr));
        json_hex4(o, "vid", u[i].vid);
        json_hex4(o, "pid", u[i].pid);
        json_object_set_new(o, "class", json_sprintf("%02x", u[i].dev_class));
        json_object_set_new(o, "class_name", json_string(class_name(u[i].dev_class)));
        json_t *ifs = json_array();
        for (size_t k = 0; k < u[i].n_if; k++)
            json_array_append_new(ifs, json_sprintf("%02x", u[i].if_class[k]));
        json_object_set_new(o, "interface_classes", ifs);
        json_object_set_new(o, "vendor_class", json_boolean(u[i].vendor_class));
        json_str_or_null(o, "manufacturer", u[i].manufacturer);
        json_str_or_null(o, "product", u[i].product);
        json_str_or_null(o, "serial", u[i].serial);
        json_str_or_null(o, "terminal", u[i].terminal);
        json_t *b = json_array();
        for (size_t k = 0; k < u[i].n_bound; k++)
            json_array_append_new(b, json_string(u[i].bound[k]));
        json_object_set_new(o, "serial_ports", b);
        json_object_set_new(o, "no_serial_port",
                            json_boolean(u[i].terminal && u[i].n_bound == 0));
        json_array_append_new(ju, o);
    }
    json_object_set_new(root, "serial_ports", jp);
    json_object_set_new(root, "usb_devices", ju);
    json_object_set(root, "warnings", warnings);
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : EX_IOERR;
    fputc('\n', stdout);
    json_decref(root);
    return rc;
}

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

static void print_text(const struct port_info *p, size_t np, const struct usb_info *u, size_t nu)
{
    printf("serial ports:%s\n", np ? "" : " none");
    for (size_t i = 0; i < np; i++) {
        printf("  %-14s %-9s", p[i].name, p[i].transport);
        if (p[i].vid >= 0)
            printf(" %04X:%04X", (unsigned)p[i].vid, (unsigned)p[i].pid);
        if (p[i].bus >= 0)
            printf("  bus %d address %d", p[i].bus, p[i].addr);
        if (p[i].usb)
            printf("  %s / %s / %s", or_dash(p[i].manufacturer), or_dash(p[i].product),
                   or_dash(p[i].serial));
        else
            printf("  %s", or_dash(p[i].description));
        printf("\n");
        if (p[i].terminal)
            printf("  %-14s terminal: %s\n", "", p[i].terminal);
    }
    printf("usb devices:%s\n", nu ? "" : " none");
    for (size_t i = 0; i < nu; i++) {
        printf("  bus %03d address %03d  %04X:%04X  class %02x %s%s", u[i].bus, u[i].addr,
               u[i].vid, u[i].pid, u[i].dev_class, class_name(u[i].dev_class),
               u[i].vendor_class && u[i].dev_class != LIBUSB_CLASS_VENDOR_SPEC
                   ? " (vendor-specific interface)"
                   : "");
        if (u[i].manufacturer[0] || u[i].product[0])
            printf("  %s / %s", or_dash(u[i].manufacturer), or_dash(u[i].product));
        if (u[i].serial[0])
            printf(" / %s", u[i].serial);
        printf("\n");
        if (!u[i].terminal && !u[i].n_bound)
            continue;
        printf("  %-14s ", "");
        if (u[i].terminal)
            printf("terminal: %s; ", u[i].terminal);
        if (u[i].n_bound) {
            printf("serial port");
            for (size_t k = 0; k < u[i].n_bound; k++)
                printf(" %s", u[i].bound[k]);
        } else {
            printf("NO SERIAL PORT (%s)",
                   u[i].vendor_class ? "vendor-class device: not a serial link"
                                     : "no serial driver bound");
        }
        printf("\n");
    }
}

/* A serial number goes into a udev match and a device name only when it is plain. */
static bool udev_safe(const char *s)
{
    if (!s[0] || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static void print_udev(const struct port_info *p, size_t np, const struct usb_info *u, size_t nu)
{
    printf("# udev rules for payment terminals, written by posbridge ports --udev-rules.\n"
           "# ModemManager may probe CDC-ACM terminals and disturb the line (docs/PROTOCOLS.md);\n"
           "# ID_MM_DEVICE_IGNORE keeps it off. The symlink gives the bridge\n"
           "# a name that survives replugging: posbridge run --terminal /dev/posbridge/...\n");
    size_t n = 0;
    for (size_t i = 0; i < np; i++) {
        if (!p[i].terminal || p[i].vid < 0)
            continue;
        bool ser = udev_safe(p[i].serial);
        printf("\n# %s, now %s\n", p[i].terminal, p[i].name);
        printf("SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"%04x\", ATTRS{idProduct}==\"%04x\", ",
               (unsigned)p[i].vid, (unsigned)p[i].pid);
        if (ser)
            printf("ATTRS{serial}==\"%s\", ", p[i].serial);
        printf("ENV{ID_MM_DEVICE_IGNORE}=\"1\", SYMLINK+=\"posbridge/terminal-%04x-%04x%s%s\"\n",
               (unsigned)p[i].vid, (unsigned)p[i].pid, ser ? "-" : "", ser ? p[i].serial : "");
        n++;
    }
    for (size_t i = 0; i < nu; i++)
        if (u[i].terminal && u[i].n_bound == 0)
            printf("\n# %s (%04X:%04X, bus %d address %d) has no serial port: no rule; the\n"
                   "# bridge cannot use it as a serial link\n",
                   u[i].terminal, u[i].vid, u[i].pid, u[i].bus, u[i].addr);
    if (!n)
        printf("\n# no terminal with a serial port found\n");
}

/* ---- main ------------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct ports_opts *o)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"ids", required_argument, NULL, 'i'},
        {"no-system-ids", no_argument, NULL, 'N'},
        {"udev-rules", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int before, c;
    while ((before = optind, c = getopt_long(argc, argv, ":ji:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json = true;
            break;
        case 'i':
            if (o->n_ids == MAX_IDS_FILES) {
                fprintf(stderr, "posbridge ports: at most %d --ids files\n", MAX_IDS_FILES);
                return EX_USAGE;
            }
            o->ids[o->n_ids++] = optarg;
            break;
        case 'N':
            o->no_system_ids = true;
            break;
        case 'U':
            o->udev = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return pb_cli_bad_option("posbridge ports", c, before, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "posbridge ports: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    return 0;
}

/* Loads one ids file; bad lines become warnings. */
static int load_ids(struct pb_usbids *ids, const char *path, bool must_exist, json_t *warnings)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *errs = open_memstream(&buf, &len);
    int rc = pb_usbids_load(ids, path, errs);
    if (errs)
        fclose(errs);
    if (buf && len) {
        fputs("posbridge ports: warning: ", stderr);
        for (char *line = buf, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                nl = line + strlen(line) - 1;
            json_array_append_new(warnings, json_stringn(line, (size_t)(nl - line)));
            fprintf(stderr, "%s%.*s\n", line == buf ? "" : "posbridge ports: warning: ",
                    (int)(nl - line), line);
            if (!nl[1])
                break;
        }
    }
    free(buf);
    if (rc == PB_ERR_NOTFOUND && !must_exist)
        return 0;
    if (rc == PB_ERR_NOTFOUND) {
        fprintf(stderr, "posbridge ports: --ids '%s': no such file\n", path);
        return EX_NOINPUT;
    }
    if (rc == PB_ERR_IO) {
        fprintf(stderr, "posbridge ports: cannot read '%s': %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    if (rc < 0)
        return EX_OSERR;
    return 0;
}

int cmd_ports(int argc, char **argv)
{
    struct ports_opts opts = {0};
    int rc = parse_args(argc, argv, &opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    struct pb_usbids *ids = NULL;
    struct port_info *p = NULL;
    struct usb_info *u = NULL;
    size_t np = 0, nu = 0;
    json_t *warnings = json_array();
    if (!warnings || pb_usbids_new(&ids) != PB_OK) {
        rc = EX_OSERR;
        goto out;
    }
    if (!opts.no_system_ids &&
        (rc = load_ids(ids, PB_SYSCONFDIR "/terminals.txt", false, warnings)) != 0)
        goto out;
    for (size_t i = 0; i < opts.n_ids; i++)
        if ((rc = load_ids(ids, opts.ids[i], true, warnings)) != 0)
            goto out;
    if ((rc = list_serial(ids, &p, &np)) != 0)
        goto out;
    if ((rc = list_usb(ids, &u, &nu, warnings)) != 0)
        goto out;
    bind_ports(p, np, u, nu);
    if (opts.udev)
        print_udev(p, np, u, nu);
    else if (opts.json)
        rc = print_json(p, np, u, nu, warnings);
    else
        print_text(p, np, u, nu);
    if (fflush(stdout) != 0 && rc == 0)
        rc = EX_IOERR;
out:
    free(p);
    free(u);
    pb_usbids_free(ids);
    json_decref(warnings);
    return rc;
}
