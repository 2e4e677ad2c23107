/* `posbridge capture export|import`: a pcapng capture as text a person can read, diff,
 * mail or edit, and back.
 *
 * The dump, one record per line (continuation lines start with a space):
 *
 *     # posbridge capture dump; link type 147 (zvt)
 *     2026-11-22T02:35:08.828123Z ecr 02 30 31 ...      up to 32 bytes a line
 *                                     41 42 ...         the rest, indented
 *     2026-11-22T02:35:08.900000Z pt  06
 *     2026-11-22T02:35:09.000000Z event posbridge started
 *
 * Directions are ecr, pt, or ? (not recorded). Import turns a dump back into raw bytes
 * per direction (what each side sent, in order) and/or a pcapng file. The capture is
 * masked by the bridge; the dump holds what the capture holds, nothing more. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"
#include "safefile.h"
#include "txn_json.h"

#define BYTES_PER_LINE 32

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge capture export CAPTURE.pcapng [--hex] [-o DUMP]\n"
            "       posbridge capture import DUMP [--ecr FILE] [--pt FILE]\n"
            "                                     [--pcapng FILE [--protocol NAME]]\n"
            "\n"
            "export: one line per packet: UTC time, direction (ecr, pt, ?), the bytes in hex\n"
            "        (32 a line, longer packets go on indented lines), and capture events.\n"
            "  --hex            the hex dump (the default and only format)\n"
            "  -o, --output F   write the dump to F instead of stdout\n"
            "import: reads a dump (- for stdin) back.\n"
            "  --ecr FILE       the bytes the register sent, in order, raw\n"
            "  --pt FILE        the bytes the terminal sent, in order, raw\n"
            "  --pcapng FILE    a new capture (FILE must not exist) with the same packets,\n"
            "                   times, directions and events\n"
            "  --protocol NAME  its link type (%s); default: the dump's header line\n"
            "  -h, --help       this text\n"
            "\n"
            "Exit status: 0, 64 usage, 65 a malformed dump line (named as DUMP:LINE) or\n"
            "capture, 66 unreadable input, 73 output exists, cannot be created or is refused\n"
            "(a symlink, FIFO, another user's file, wider than 0600), 74 I/O.\n"
            "\n"
            "examples:\n"
            "  posbridge capture export lane3.pcapng -o lane3.txt\n"
            "  2026-11-22T02:35:08.828123Z ecr 05\n"
            "  2026-11-22T02:35:08.828456Z pt  06\n"
            "  posbridge capture import lane3.txt --ecr ecr.bin --pt pt.bin --pcapng again.pcapng\n",
            pb_protocol_names());
}

static const char *link_name(int lt)
{
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++)
        if ((int)(*p)->link_type == lt)
            return (*p)->name;
    return "none";
}

/* ---- export ----------------------------------------------------------------------------- */

static int do_export(const char *path, const char *out_path)
{
    struct pb_capture_reader *r = NULL;
    int err = pb_capture_reader_open(path, &r);
    if (err != PB_OK) {
        fprintf(stderr, "posbridge capture: cannot open '%s': %s\n", path,
                err == PB_ERR_NOTFOUND ? "no such file" : strerror(errno));
        return EX_NOINPUT;
    }
    FILE *out = stdout;
    char why[PATH_MAX + 200];
    if (out_path &&
        pb_safefile_fopen(out_path, O_WRONLY | O_TRUNC, &out, why, sizeof why) != PB_OK) {
        fprintf(stderr, "posbridge capture: %s\n", why);
        pb_capture_reader_close(r);
        return EX_CANTCREAT;
    }
    int rc = 0, lt_said = -2;
    uint64_t packets = 0, events = 0;
    struct pb_capture_record rec;
    while ((err = pb_capture_read(r, &rec)) == 1) {
        if ((int)rec.link_type != lt_said) {
            fprintf(out, "# posbridge capture dump; link type %u (%s)\n", rec.link_type,
                    link_name(rec.link_type));
            lt_said = rec.link_type;
        }
        char when[40];
        pb_format_utc(rec.utc_us, when, sizeof when);
        if (rec.is_event || (rec.len == 0 && rec.comment)) {
            char text[512];
            pb_copy_printable(text, sizeof text, (const uint8_t *)rec.comment,
                              strlen(rec.comment));
            fprintf(out, "%s event %s\n", when, text);
            events++;
            continue;
        }
        if (rec.len < rec.orig_len)
            fprintf(out, "# the next packet was cut: %zu of %zu bytes kept\n", rec.len,
                    rec.orig_len);
        const char *dir = rec.dir == PB_DIR_ECR ? "ecr" : rec.dir == PB_DIR_PT ? "pt " : "?  ";
        int indent = fprintf(out, "%s %s", when, dir);
        for (size_t i = 0; i < rec.len; i++) {
            if (i && i % BYTES_PER_LINE == 0)
                fprintf(out, "\n%*s", indent, "");
            fprintf(out, " %02x", rec.data[i]);
        }
        fputc('\n', out);
        packets++;
    }
    if (err < 0) {
        fprintf(stderr, "posbridge capture: %s: %s\n", path, pb_capture_reader_error(r));
        rc = err == PB_ERR_TRUNCATED ? 0 : err == PB_ERR_IO ? EX_IOERR : EX_DATAERR;
        if (err == PB_ERR_TRUNCATED)
            fprintf(stderr, "posbridge capture: warning: exported what came before\n");
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "posbridge capture: writing the dump: %s\n", strerror(errno));
        rc = EX_IOERR;
    }
    if (out != stdout && fclose(out) != 0 && rc == 0)
        rc = EX_IOERR;
    pb_capture_reader_close(r);
    if (rc == 0)
        fprintf(stderr, "posbridge capture: %" PRIu64 " packet%s, %" PRIu64 " event%s\n",
                packets, packets == 1 ? "" : "s", events, events == 1 ? "" : "s");
    return rc;
}

/* ---- import ----------------------------------------------------------------------------- */

struct importer {
    const char *path;
    unsigned lineno;
    FILE *ecr, *pt;
    struct pb_capture *cap;
    const char *cap_path;
    int link_type; /* -1 until known */
    /* the packet being assembled */
    bool have;
    enum pb_dir dir;
    int64_t utc_us;
    uint8_t *buf;
    size_t len, cap_len;
    uint64_t packets, events;
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

__attribute__((format(printf, 2, 3))) static int bad(struct importer *im, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "posbridge capture: %s:%u: ", im->path, im->lineno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EX_DATAERR;
}

static int open_capture(struct importer *im)
{
    if (im->cap || !im->cap_path)
        return 0;
    uint16_t lt = im->link_type >= 0 ? (uint16_t)im->link_type : PB_CAPTURE_LINKTYPE_NONE;
    int rc = pb_capture_open(im->cap_path, lt, NULL, &im->cap);
    if (rc == PB_ERR_BUSY) {
        fprintf(stderr, "posbridge capture: '%s' is being written by pid %ld\n", im->cap_path,
                (long)pb_capture_holder(im->cap_path));
        return EX_CANTCREAT;
    }
    if (rc != PB_OK) {
        fprintf(stderr, "posbridge capture: cannot create '%s': %s\n", im->cap_path,
                rc == PB_ERR_IO ? strerror(errno) : pb_strerror(rc));
        return EX_CANTCREAT;
    }
    return 0;
}

static int flush_packet(struct importer *im)
{
    if (!im->have)
        return 0;
    im->have = false;
    im->packets++;
    FILE *f = im->dir == PB_DIR_ECR ? im->ecr : im->dir == PB_DIR_PT ? im->pt : NULL;
    if (f && im->len && fwrite(im->buf, 1, im->len, f) != im->len) {
        fprintf(stderr, "posbridge capture: writing raw bytes: %s\n", strerror(errno));
        return EX_IOERR;
    }
    int rc = open_capture(im);
    if (rc)
        return rc;
    if (im->cap && pb_capture_chunk(im->cap, im->dir, im->utc_us, im->buf, im->len) != PB_OK) {
        fprintf(stderr, "posbridge capture: writing '%s' failed\n", im->cap_path);
        return EX_IOERR;
    }
    return 0;
}

/* Appends the hex bytes of s to the packet. */
static int add_hex(struct importer *im, const char *s)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if (!*s)
            return 0;
        int hi = hexval((unsigned char)s[0]), lo = s[0] ? hexval((unsigned char)s[1]) : -1;
        if (hi < 0 || lo < 0 || (s[2] && s[2] != ' ' && s[2] != '\t' && s[2] != '\r' &&
                                 s[2] != '\n'))
        {
            size_t w = strcspn(s, " \t\r\n");
            return bad(im, "'%.*s' is not a byte in hex", (int)(w > 8 ? 8 : w), s);
        }
        if (im->len == PB_CAPTURE_MAX_CHUNK)
            return bad(im, "packet longer than %u bytes", PB_CAPTURE_MAX_CHUNK);
        if (im->len == im->cap_len) {
            size_t nc = im->cap_len ? im->cap_len * 2 : 256;
            uint8_t *nb = realloc(im->buf, nc);
            if (!nb)
                return EX_OSERR;
            im->buf = nb;
            im->cap_len = nc;
        }
        im->buf[im->len++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
}

/* "2026-11-22T02:35:08.828123Z": microseconds since 1970, or -1. */
static int64_t parse_time(const char *s, const char **end)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    int64_t us = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 6) {
                us = us * 10 + (*p - '0');
                digits++;
            }
        for (; digits < 6; digits++)
            us *= 10;
    }
    if (*p != 'Z')
        return -1;
    *end = p + 1;
    return (int64_t)timegm(&tm) * 1000000 + us;
}

static int import_line(struct importer *im, char *line)
{
    if (line[0] == '#') {
        unsigned lt;
        if (sscanf(line, "# posbridge capture dump; link type %u", &lt) == 1 &&
            im->link_type < 0 && lt <= 0xFFFF)
            im->link_type = (int)lt;
        return 0;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            return 0; /* blank */
        if (!im->have)
            return bad(im, "continuation line without a packet before it");
        return add_hex(im, p);
    }
    if (line[0] == '\n' || line[0] == '\r' || line[0] == '\0')
        return 0;
    int rc = flush_packet(im);
    if (rc)
        return rc;
    const char *p;
    int64_t t = parse_time(line, &p);
    if (t < 0)
        return bad(im, "expected a UTC time like 2026-11-22T02:35:08.828123Z");
    if (*p != ' ')
        return bad(im, "expected a space after the time");
    p++;
    if (strncmp(p, "event ", 6) == 0 || strncmp(p, "event\n", 6) == 0) {
        char *text = (char *)p + 5;
        if (*text == ' ')
            text++;
        text[strcspn(text, "\r\n")] = '\0';
        if ((rc = open_capture(im)) != 0)
            return rc;
        if (im->cap && pb_capture_comment(im->cap, t, text) != PB_OK) {
            fprintf(stderr, "posbridge capture: writing '%s' failed\n", im->cap_path);
            return EX_IOERR;
        }
        im->events++;
        return 0;
    }
    size_t n = strcspn(p, " \t\r\n");
    if (n == 3 && strncmp(p, "ecr", 3) == 0)
        im->dir = PB_DIR_ECR;
    else if (n == 2 && strncmp(p, "pt", 2) == 0)
        im->dir = PB_DIR_PT;
    else if (n == 1 && p[0] == '?')
        im->dir = PB_DIR_UNKNOWN;
    else
        return bad(im, "direction '%.*s': expected ecr, pt, ? or event", (int)(n > 16 ? 16 : n),
                   p);
    im->have = true;
    im->utc_us = t;
    im->len = 0;
    return add_hex(im, p + n);
}

/* Never overwrites, never through a link, 0600 whatever the umask. */
static FILE *create_new(const char *path, const char *what)
{
    FILE *f = NULL;
    char why[PATH_MAX + 200];
    if (pb_safefile_fopen(path, O_WRONLY | O_EXCL, &f, why, sizeof why) != PB_OK)
        fprintf(stderr, "posbridge capture: %s: %s\n", what, why);
    return f;
}

static int do_import(const char *path, const char *ecr, const char *pt, const char *pcapng,
                     const struct pb_protocol *proto)
{
    struct importer im = {.path = path, .link_type = proto ? (int)proto->link_type : -1,
                          .cap_path = pcapng};
    if (!ecr && !pt && !pcapng) {
        fprintf(stderr, "posbridge capture import: give --ecr, --pt and/or --pcapng\n");
        return EX_USAGE;
    }
    struct stat st;
    if (pcapng && lstat(pcapng, &st) == 0) { /* a symlink too, dangling or not */
        fprintf(stderr, "posbridge capture: '%s' exists; import never overwrites a capture\n",
                pcapng);
        return EX_CANTCREAT;
    }
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    if (!in) {
        fprintf(stderr, "posbridge capture: cannot open '%s': %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    int rc = 0;
    if (ecr && !(im.ecr = create_new(ecr, "raw file")))
        rc = EX_CANTCREAT;
    if (!rc && pt && !(im.pt = create_new(pt, "raw file")))
        rc = EX_CANTCREAT;
    char *line = NULL;
    size_t cap = 0;
    while (!rc && getline(&line, &cap, in) >= 0) {
        im.lineno++;
        rc = import_line(&im, line);
    }
    if (!rc && ferror(in)) {
        fprintf(stderr, "posbridge capture: reading '%s': %s\n", path, strerror(errno));
        rc = EX_IOERR;
    }
    if (!rc)
        rc = flush_packet(&im);
    if (!rc)
        rc = open_capture(&im); /* an empty dump still gives a valid capture */
    free(line);
    free(im.buf);
    if (in != stdin)
        fclose(in);
    if (im.ecr && fclose(im.ecr) != 0 && !rc)
        rc = EX_IOERR;
    if (im.pt && fclose(im.pt) != 0 && !rc)
        rc = EX_IOERR;
    if (im.cap && pb_capture_close(im.cap) != PB_OK && !rc)
        rc = EX_IOERR;
    if (!rc)
        fprintf(stderr, "posbridge capture: %" PRIu64 " packet%s, %" PRIu64 " event%s\n",
                im.packets, im.packets == 1 ? "" : "s", im.events, im.events == 1 ? "" : "s");
    return rc;
}

int cmd_capture(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hex", no_argument, NULL, 'x'},          {"output", required_argument, NULL, 'o'},
        {"ecr", required_argument, NULL, 'e'},    {"pt", required_argument, NULL, 't'},
        {"pcapng", required_argument, NULL, 'c'}, {"protocol", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : 0;
    }
    bool export = strcmp(argv[1], "export") == 0;
    if (!export && strcmp(argv[1], "import") != 0) {
        fprintf(stderr, "posbridge capture: '%s': expected export or import\n", argv[1]);
        return EX_USAGE;
    }
    const char *out = NULL, *ecr = NULL, *pt = NULL, *pcapng = NULL;
    const struct pb_protocol *proto = NULL;
    optind = 1;
    opterr = 0;
    char prog[32];
    snprintf(prog, sizeof prog, "posbridge capture %s", argv[1]);
    int before, c;
    while ((before = optind, c = getopt_long(argc - 1, argv + 1, ":xo:h", longopts, NULL)) != -1) {
        bool wrong = export ? (c == 'e' || c == 't' || c == 'c' || c == 'p') : (c == 'x' || c == 'o');
        if (wrong) {
            const struct option *w = longopts;
            while (w->name && w->val != c)
                w++;
            fprintf(stderr, "%s: option '--%s' belongs to the other direction\n", prog, w->name);
            return EX_USAGE;
        }
        switch (c) {
        case 'x': break;
        case 'o': out = optarg; break;
        case 'e': ecr = optarg; break;
        case 't': pt = optarg; break;
        case 'c': pcapng = optarg; break;
        case 'p':
            if (!(proto = pb_protocol_find(optarg))) {
                fprintf(stderr, "posbridge capture: unknown protocol '%s' (one of: %s)\n", optarg,
                        pb_protocol_names());
                return EX_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option(prog, c, before, argv + 1);
        }
    }
    int rest = argc - 1 - optind;
    if (rest != 1) {
        fprintf(stderr, "posbridge capture %s: give exactly one %s\n", argv[1],
                export ? "capture" : "dump");
        return EX_USAGE;
    }
    const char *input = argv[1 + optind];
    return export ? do_export(input, out) : do_import(input, ecr, pt, pcapng, proto);
}
