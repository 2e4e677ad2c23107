/* `posbridge decode`: recorded protocol bytes (a pcapng capture, hex on the command
 * line, a raw file, or stdin) through the same deframer and decoder the live bridge
 * uses, printed one line per frame, control byte, garbage run or capture event, for
 * people or as JSON Lines.
 *
 * A capture keeps one deframer per direction, as the live bridge does, so offsets are
 * stream offsets within that direction.
 *
 * Card data: only decoded (masked) fields are printed; garbage runs are reported by
 * offset and length, never by content, since a cut frame may hold a PAN. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "detect.h"
#include "journal.h"
#include "log.h"
#include "pipeline.h"
#include "money.h"
#include "msg.h"
#include "pb_error.h"
#include "progress.h"
#include "protocol.h"
#include "txn_json.h"

struct decode_opts {
    const struct pb_protocol *proto; /* --protocol; NULL: from the capture's link type */
    enum pb_dir dir;                 /* --dir; for bytes whose direction is not recorded */
    const char *hex;                 /* --hex TEXT */
    const char *raw;                 /* --raw FILE */
    const char *capture;             /* CAPTURE.pcapng */
    bool json;
    bool autodetect;                 /* --protocol auto: from the first bytes (detect.h) */
};

struct decode_run {
    const struct decode_opts *opts;
    const struct pb_protocol *proto;
    struct pb_deframer *d[3]; /* per direction: ECR, PT, unknown */
    enum pb_dir dir;          /* direction of the bytes being fed */
    bool have_time;           /* reading a capture: utc_us is the current packet's time */
    int64_t utc_us;
    uint64_t malformed, events, cut_packets;
    bool warned_link; /* said once that --protocol overrides the link type */
    struct pb_pipeline *lane; /* captures: the live bridge's pipeline, tracker included */
    struct pb_tracker_config tracker; /* from the capture's settings comment, else 0s */
    struct pb_journal *journal;
    uint64_t txns, discrepancies;
    uint64_t lane_bytes, lane_frames, lane_controls, lane_garbage, lane_checksum;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge decode [--protocol NAME] [--dir ecr|pt] [--json] CAPTURE.pcapng\n"
            "       posbridge decode --protocol NAME [--dir ecr|pt] [--json]\n"
            "                        [--hex \"HEX\" | --raw FILE]   (default: read stdin)\n"
            "\n"
            "Decodes recorded protocol bytes, one line per frame, control byte or garbage run\n"
            "(and per event of a capture).\n"
            "\n"
            "  -p, --protocol NAME  protocol on the line: %s;\n"
            "                       required but for a capture, whose link type names it;\n"
            "                       auto: recognised from the first bytes (stderr says which)\n"
            "  -d, --dir ecr|pt     who sent the bytes: ecr (register) or pt (terminal);\n"
            "                       unknown when absent, the decoder then infers it. A\n"
            "                       capture records the direction of each packet itself\n"
            "  -x, --hex HEX        bytes as hex digits; spaces and colons between bytes\n"
            "  -r, --raw FILE       bytes from a binary file\n"
            "  -j, --json           JSON Lines: one object per frame, keys absent when the\n"
            "                       field is absent; amounts in integer minor units\n"
            "  -h, --help           this text\n"
            "\n"
            "A summary (frames, control bytes, garbage bytes, checksum errors) goes to stderr.\n"
            "Bad checksums are data: they are printed and the exit status stays 0, as it does\n"
            "for a capture cut short by a crash or power loss (a warning says so).\n"
            "Exit status: 0 decoded, 64 usage, 65 bad hex or malformed capture, 66 unreadable\n"
            "input, 74 I/O error.\n"
            "\n"
            "examples:\n"
            "  posbridge decode lane3.pcapng\n"
            "  posbridge decode --protocol concert --hex \\\n"
            "    \"02 30 31 30 30 30 30 31 32 35 30 31 31 30 39 37 38 20 20 20 20 20 20 20 20 20\n"
            "     20 41 30 31 30 42 30 31 30 03 01\"\n"
            "         0   37  ecr request      purchase     12.50 EUR pos=01 ... checksum=ok\n",
            pb_protocol_names());
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_separator(char c)
{
    return c == ' ' || c == ':' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses hex digit pairs separated (or not) by spaces, tabs, newlines or colons.
 * Positions in messages are 1-based character columns of text. */
static int parse_hex(const char *text, uint8_t **out, size_t *out_len)
{
    size_t cap = strlen(text) / 2 + 1;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fprintf(stderr, "posbridge decode: out of memory\n");
        return EX_OSERR;
    }
    size_t n = 0;
    int hi = -1;       /* first digit of a byte in progress */
    size_t hi_pos = 0; /* its position */
    for (size_t i = 0; text[i]; i++) {
        char c = text[i];
        if (is_separator(c)) {
            if (hi >= 0) {
                fprintf(stderr,
                        "posbridge decode: --hex: position %zu: byte '%c' has one hex digit "
                        "(each byte needs two)\n",
                        hi_pos, text[hi_pos - 1]);
                goto bad;
            }
            continue;
        }
        int v = hex_value(c);
        if (v < 0) {
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F)
                fprintf(stderr, "posbridge decode: --hex: position %zu: '%c' is not a hex digit\n",
                        i + 1, c);
            else
                fprintf(stderr,
                        "posbridge decode: --hex: position %zu: byte 0x%02x is not a hex digit\n",
                        i + 1, (unsigned char)c);
            goto bad;
        }
        if (hi < 0) {
            hi = v;
            hi_pos = i + 1;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fprintf(stderr,
                "posbridge decode: --hex: position %zu: odd number of hex digits, '%c' has no "
                "partner\n",
                hi_pos, text[hi_pos - 1]);
        goto bad;
    }
    *out = buf;
    *out_len = n;
    return 0;
bad:
    free(buf);
    return EX_DATAERR;
}

/* ---- output ---------------------------------------------------------------------------- */

static void json_set_str(json_t *o, const char *key, const char *value)
{
    if (value && value[0])
        json_object_set_new(o, key, json_string(value));
}

static void json_emit(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);
}

/* "2026-11-22T01:57:18.123456Z " for capture input, "" otherwise. */
static void time_prefix(const struct decode_run *run, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!run->have_time)
        return;
    int64_t us = run->utc_us < 0 ? 0 : run->utc_us;
    time_t sec = (time_t)(us / 1000000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm))
        return;
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%06dZ ", date, (int)(us % 1000000));
}

static void print_json(const struct decode_run *run, const struct pb_frame *f,
                       const struct pos_msg *m)
{
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "offset", json_integer((json_int_t)f->offset));
    json_object_set_new(o, "length", json_integer(f->length));
    json_object_set_new(o, "protocol", json_string(run->proto->name));
    if (run->have_time)
        json_object_set_new(o, "utc_us", json_integer(run->utc_us));
    if (!m) {
        if (run->dir != PB_DIR_UNKNOWN)
            json_set_str(o, "dir", pb_dir_name(run->dir));
        json_object_set_new(o, "kind", json_string("garbage"));
        json_emit(o);
        return;
    }
    if (m->dir != PB_DIR_UNKNOWN)
        json_set_str(o, "dir", pb_dir_name(m->dir));
    json_set_str(o, "kind", pb_kind_name(m->kind));
    if (m->txn != PB_TXN_NONE)
        json_set_str(o, "txn_type", pb_txn_name(m->txn));
    if (m->flags & PB_F_AMOUNT)
        json_object_set_new(o, "amount", json_integer(m->amount));
    if (m->flags & PB_F_CURRENCY)
        json_object_set_new(o, "currency", json_integer(m->currency));
    if (m->flags & PB_F_AMOUNT_DUE)
        json_object_set_new(o, "amount_due", json_integer(m->amount_due));
    if (m->flags & PB_F_PARTIAL)
        json_object_set_new(o, "partial", json_true());
    if (m->result != PB_RESULT_NONE)
        json_set_str(o, "result", pb_result_name(m->result));
    if (m->flags & PB_F_RESULT_CODE)
        json_object_set_new(o, "result_code", json_integer(m->result_code));
    json_set_str(o, "result_text", m->result_text);
    if (f->type == PB_FRAME_DATA)
        json_object_set_new(o, "checksum_ok", json_boolean(m->checksum_ok));
    json_set_str(o, "pos_id", m->pos_id);
    json_set_str(o, "terminal_id", m->terminal_id);
    json_set_str(o, "trace", m->trace);
    json_set_str(o, "receipt", m->receipt);
    json_set_str(o, "reference", m->reference);
    json_set_str(o, "auth_code", m->auth_code);
    json_set_str(o, "pan", m->pan); /* masked by the decoder */
    if (m->flags & PB_F_TRACK_DATA)
        json_object_set_new(o, "track_data", json_string("masked"));
    json_set_str(o, "text", m->text);
    if (m->flags & PB_F_MALFORMED)
        json_object_set_new(o, "malformed", json_true());
    json_emit(o);
}

static void print_human(const struct decode_run *run, const struct pb_frame *f,
                        const struct pos_msg *m)
{
    char when[64];
    time_prefix(run, when, sizeof when);
    if (!m) {
        printf("%s%10" PRIu64 " %4" PRIu32 "  %-3s garbage, %" PRIu32 " byte%s skipped\n", when,
               f->offset, f->length, pb_dir_name(run->dir), f->length, f->length == 1 ? "" : "s");
        return;
    }
    char line[512];
    pb_msg_format(m, line, sizeof line);
    size_t n = strnlen(line, sizeof line);
    while (n > 0 && line[n - 1] == ' ')
        line[--n] = '\0'; /* the format pads its columns */
    /* pb_msg_format flags a bad checksum itself; say so for good ones too. */
    printf("%s%10" PRIu64 " %4" PRIu32 "  %s%s\n", when, f->offset, f->length, line,
           f->type == PB_FRAME_DATA && m->checksum_ok ? " checksum=ok" : "");
}

static void on_frame(const struct pb_frame *f, void *ctx)
{
    struct decode_run *run = ctx;
    struct pos_msg m;
    const struct pos_msg *mp = NULL;
    if (f->type != PB_FRAME_GARBAGE) {
        run->proto->decode(f, run->dir, &m);
        if (m.flags & PB_F_MALFORMED)
            run->malformed++;
        mp = &m;
    }
    if (run->opts->json)
        print_json(run, f, mp);
    else
        print_human(run, f, mp);
}

/* A capture event (port lost, port back, bridge restart): its comment, printable only. */
static void print_event(struct decode_run *run, const char *comment)
{
    char text[256];
    pb_copy_printable(text, sizeof text, (const uint8_t *)comment, strlen(comment));
    run->events++;
    if (run->opts->json) {
        json_t *o = json_object();
        if (!o)
            return;
        if (run->proto)
            json_object_set_new(o, "protocol", json_string(run->proto->name));
        json_object_set_new(o, "utc_us", json_integer(run->utc_us));
        json_object_set_new(o, "kind", json_string("event"));
        json_set_str(o, "text", text);
        json_emit(o);
        return;
    }
    char when[64];
    time_prefix(run, when, sizeof when);
    printf("%s%10s %4s  event: %s\n", when, "-", "-", text);
}

/* ---- input ----------------------------------------------------------------------------- */

static int dir_index(enum pb_dir dir)
{
    return dir == PB_DIR_ECR ? 0 : dir == PB_DIR_PT ? 1 : 2;
}

/* Feeds bytes spoken by dir to that direction's deframer, made on first use. */
static int feed(struct decode_run *run, enum pb_dir dir, const uint8_t *buf, size_t len)
{
    struct pb_deframer **d = &run->d[dir_index(dir)];
    if (!*d) {
        int err = pb_deframer_new(run->proto, d);
        if (err != PB_OK) {
            fprintf(stderr, "posbridge decode: %s\n", pb_strerror(err));
            return EX_SOFTWARE;
        }
    }
    run->dir = dir;
    pb_deframer_feed(*d, buf, len, on_frame, run);
    return 0;
}

static void flush_dir(struct decode_run *run, enum pb_dir dir)
{
    struct pb_deframer *d = run->d[dir_index(dir)];
    if (!d)
        return;
    run->dir = dir;
    pb_deframer_flush(d, on_frame, run);
}

static int decode_stream(struct decode_run *run, FILE *in, const char *name)
{
    uint8_t buf[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = feed(run, run->opts->dir, buf, n);
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "posbridge decode: reading %s: %s\n", name, strerror(errno));
        rc = EX_IOERR;
    }
    return rc;
}

/* --protocol auto: the detector's verdict, said on stderr. */
static int auto_protocol(struct decode_run *run, struct pb_detector *det)
{
    pb_detector_finish(det);
    int conf;
    const struct pb_protocol *p = pb_detector_result(det, &conf);
    if (!p) {
        fprintf(stderr,
                "posbridge decode: no protocol recognised (best confidence %d%%); give "
                "--protocol (one of: %s)\n",
                conf, pb_protocol_names());
        return EX_DATAERR;
    }
    fprintf(stderr, "detected %s (confidence %d%%)\n", p->name, conf);
    run->proto = p;
    return 0;
}

/* Detects from a capture's first packets, both directions; decode_capture reopens it. */
static int detect_capture(struct decode_run *run, const char *path)
{
    struct pb_capture_reader *r = NULL;
    struct pb_detector *det = NULL;
    if (pb_capture_reader_open(path, &r) != PB_OK)
        return 0; /* decode_capture says why */
    if (pb_detector_new(NULL, &det) != PB_OK) {
        pb_capture_reader_close(r);
        return EX_OSERR;
    }
    struct pb_capture_record rec;
    while (pb_detector_state(det) == PB_DETECT_PENDING && pb_capture_read(r, &rec) == 1) {
        if (rec.is_event || rec.len == 0)
            continue;
        pb_detector_feed(det, rec.dir != PB_DIR_UNKNOWN ? rec.dir : run->opts->dir, rec.data,
                         rec.len);
    }
    int rc = auto_protocol(run, det);
    pb_detector_free(det);
    pb_capture_reader_close(r);
    return rc;
}

/* Detects from a stream's first PB_DETECT_WINDOW bytes, then decodes them and the rest. */
static int detect_stream(struct decode_run *run, FILE *in, const char *name)
{
    struct pb_detector *det = NULL;
    uint8_t *head = malloc(PB_DETECT_WINDOW);
    if (!head || pb_detector_new(NULL, &det) != PB_OK) {
        free(head);
        return EX_OSERR;
    }
    size_t n = fread(head, 1, PB_DETECT_WINDOW, in);
    pb_detector_feed(det, run->opts->dir, head, n);
    int rc = auto_protocol(run, det);
    if (rc == 0)
        rc = feed(run, run->opts->dir, head, n);
    if (rc == 0)
        rc = decode_stream(run, in, name);
    pb_detector_free(det);
    free(head);
    return rc;
}

/* Picks the protocol of a capture's packet by its link type, unless --protocol said. */
static int capture_protocol(struct decode_run *run, uint16_t link_type)
{
    if (run->proto) {
        if (link_type != run->proto->link_type && link_type != PB_CAPTURE_LINKTYPE_NONE &&
            !run->warned_link) {
            fprintf(stderr, "posbridge decode: warning: capture link type %u, decoding it as %s\n",
                    (unsigned)link_type, run->proto->name);
            run->warned_link = true;
        }
        return 0;
    }
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++)
        if ((*p)->link_type == link_type) {
            run->proto = *p;
            return 0;
        }
    fprintf(stderr,
            "posbridge decode: the capture's link type %u names no protocol; give --protocol "
            "(one of: %s)\n",
            (unsigned)link_type, pb_protocol_names());
    return EX_USAGE;
}

/* Frames of a capture come from the lane, which decodes them for its tracker. */
static void on_lane_msg(enum pb_dir dir, const struct pb_frame *f, const struct pos_msg *m,
                        const struct pb_time *t, void *ctx)
{
    struct decode_run *run = ctx;
    run->dir = dir;
    if (m && (m->flags & PB_F_MALFORMED))
        run->malformed++;
    if (run->opts->json)
        print_json(run, f, m);
    else
        print_human(run, f, m);
}

static void on_lane_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct decode_run *run = ctx;
    if (ev == PB_TXN_OPENED)
        return;
    if (ev == PB_TXN_CLOSED)
        run->txns++;
    if (pb_class_is_discrepancy(t->cls))
        run->discrepancies++;
    if (run->opts->json) {
        char *js = pb_txn_to_json(t);
        if (js) {
            /* One line like the frames: kind "transaction" and the --events keys. */
            printf("{\"kind\":\"transaction\",\"event\":\"%s\",%s\n",
                   ev == PB_TXN_CLOSED ? "closed" : "reclassified", js + 1);
            free(js);
        }
        return;
    }
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    pb_txn_format_amounts(t, req, chg);
    printf("== transaction %" PRIu64 "%s: %s requested %s charged %s -> %s%s\n   %s\n", t->id,
           ev == PB_TXN_RECLASSIFIED ? " (reclassified)" : "", pb_txn_name(t->type), req, chg,
           pb_class_name(t->cls), pb_class_is_discrepancy(t->cls) ? " (DISCREPANCY)" : "",
           t->detail);
    if (pb_class_is_discrepancy(t->cls))
        printf("   action: %s\n", pb_class_action(t->cls));
}

/* The capture's own event comments, as the bridge wrote them, become link events again. */
static void replay_event(struct decode_run *run, const char *comment, const struct pb_time *t)
{
    if (!run->lane)
        return;
    bool reg = strncmp(comment, "register link ", 14) == 0;
    bool term = strncmp(comment, "terminal link ", 14) == 0;
    if (!reg && !term)
        return;
    bool up = strncmp(comment + 14, "back", 4) == 0;
    if (!up && strncmp(comment + 14, "lost", 4) != 0)
        return;
    pb_pipeline_link(run->lane, term ? PB_DIR_PT : PB_DIR_ECR, up, t, NULL);
}

/* The bridge that recorded the capture wrote the settings it judged with; the same
 * settings give the same classes offline. Only settings seen before the first frame
 * count: a tracker's settings do not change under a transaction. */
static void settings_event(struct decode_run *run, const char *comment, uint64_t offset)
{
    struct pb_tracker_config c;
    int r = pb_tracker_config_parse(comment, &c);
    if (r == 0)
        return;
    if (r < 0) {
        fprintf(stderr,
                "posbridge decode: a damaged settings comment before byte %" PRIu64
                " of the capture; judging with the defaults\n",
                offset);
        return;
    }
    if (run->lane) {
        fprintf(stderr,
                "posbridge decode: the settings comment before byte %" PRIu64
                " came after the first frame; kept the earlier ones\n",
                offset);
        return;
    }
    run->tracker = c;
}

static int decode_capture(struct decode_run *run, const char *path)
{
    struct pb_capture_reader *r = NULL;
    int err = pb_capture_reader_open(path, &r);
    if (err != PB_OK) {
        fprintf(stderr, "posbridge decode: cannot open capture '%s': %s\n", path,
                err == PB_ERR_NOMEM ? pb_strerror(err) : strerror(errno));
        return err == PB_ERR_NOMEM ? EX_OSERR : EX_NOINPUT;
    }
    int rc = 0;
    struct pb_capture_record rec;
    struct pb_time t = {0, 0};
    /* A bar on stderr for big captures read from a terminal (progress.h). */
    struct stat fst;
    struct pb_progress *bar = stat(path, &fst) == 0 && S_ISREG(fst.st_mode)
                                  ? pb_progress_start(path, (uint64_t)fst.st_size)
                                  : NULL;
    while (rc == 0 && (err = pb_capture_read(r, &rec)) == 1) {
        pb_progress_update(bar, pb_capture_reader_offset(r));
        run->have_time = true;
        run->utc_us = rec.utc_us;
        /* Offline, the capture's clock is the tracker's clock (docs/DESIGN.md decision 2). */
        t.mono_us = t.utc_us = rec.utc_us;
        if (run->lane)
            pb_pipeline_tick(run->lane, &t);
        if (rec.comment) {
            print_event(run, rec.comment);
            replay_event(run, rec.comment, &t);
            settings_event(run, rec.comment, pb_capture_reader_offset(r));
        }
        if (rec.is_event || rec.len == 0)
            continue;
        if ((rc = capture_protocol(run, rec.link_type)) != 0)
            break;
        enum pb_dir dir = rec.dir != PB_DIR_UNKNOWN ? rec.dir : run->opts->dir;
        if (!run->lane && (dir == PB_DIR_ECR || dir == PB_DIR_PT)) {
            struct pb_pipeline_opts lo = {.proto = run->proto,
                                      .tracker = run->tracker,
                                      .journal = run->journal,
                                      .on_msg = on_lane_msg,
                                      .on_txn = on_lane_txn,
                                      .ctx = run};
            if (pb_pipeline_new(&lo, &run->lane) != PB_OK) {
                rc = EX_OSERR;
                break;
            }
        }
        if (run->lane && (dir == PB_DIR_ECR || dir == PB_DIR_PT)) {
            run->dir = dir;
            pb_pipeline_chunk(run->lane, dir, &t, rec.data, rec.len);
        } else {
            rc = feed(run, dir, rec.data, rec.len);
        }
        if (rec.len < rec.orig_len) {
            /* The capture kept only part of this packet: no frame can span the gap. */
            run->cut_packets++;
            if (run->lane)
                pb_pipeline_gap(run->lane, dir, &t);
            else
                flush_dir(run, dir);
        }
    }
    pb_progress_end(bar);
    if (rc == 0 && err == PB_ERR_TRUNCATED) {
        fprintf(stderr, "posbridge decode: warning: %s: %s (decoded what came before)\n", path,
                pb_capture_reader_error(r));
    } else if (rc == 0 && err < 0) {
        fprintf(stderr, "posbridge decode: %s: %s\n", path, pb_capture_reader_error(r));
        rc = err == PB_ERR_IO ? EX_IOERR : err == PB_ERR_NOMEM ? EX_OSERR : EX_DATAERR;
    }
    if (run->lane) {
        pb_pipeline_finish(run->lane, &t);
        const struct pb_pipeline_stats *st = pb_pipeline_stats(run->lane);
        for (int d = 0; d < 2; d++) {
            run->lane_bytes += st->bytes[d];
            run->lane_frames += st->frames[d];
            run->lane_controls += st->controls[d];
            run->lane_garbage += st->garbage[d];
            run->lane_checksum += st->checksum_errors[d];
        }
    }
    pb_capture_reader_close(r);
    return rc;
}

static int parse_args(int argc, char **argv, struct decode_opts *o)
{
    static const struct option longopts[] = {
        {"protocol", required_argument, NULL, 'p'},
        {"dir", required_argument, NULL, 'd'},
        {"hex", required_argument, NULL, 'x'},
        {"raw", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *proto_name = NULL;
    optind = 1;
    opterr = 0; /* our own messages name the valid values */
    int before, c;
    while ((before = optind, c = getopt_long(argc, argv, ":p:d:x:r:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            proto_name = optarg;
            break;
        case 'd':
            if (strcmp(optarg, "ecr") == 0)
                o->dir = PB_DIR_ECR;
            else if (strcmp(optarg, "pt") == 0)
                o->dir = PB_DIR_PT;
            else {
                fprintf(stderr, "posbridge decode: --dir '%s': expected ecr or pt\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'x':
            o->hex = optarg;
            break;
        case 'r':
            o->raw = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return pb_cli_bad_option("posbridge decode", c, before, argv);
        }
    }
    if (optind < argc)
        o->capture = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "posbridge decode: unexpected argument '%s' (one capture at a time)\n",
                argv[optind]);
        return EX_USAGE;
    }
    if (!!o->hex + !!o->raw + !!o->capture > 1) {
        fprintf(stderr, "posbridge decode: give one input: a capture, --hex or --raw\n");
        return EX_USAGE;
    }
    if (!proto_name && o->capture)
        return 0; /* the capture's link type names it */
    if (proto_name && strcmp(proto_name, "auto") == 0) {
        o->autodetect = true;
        return 0;
    }
    if (!proto_name) {
        fprintf(stderr, "posbridge decode: --protocol is required (one of: %s)\n",
                pb_protocol_names());
        return EX_USAGE;
    }
    o->proto = pb_protocol_find(proto_name);
    if (!o->proto) {
        fprintf(stderr, "posbridge decode: unknown protocol '%s' (one of: %s|auto)\n", proto_name,
                pb_protocol_names());
        return EX_USAGE;
    }
    return 0;
}

int cmd_decode(int argc, char **argv)
{
    struct decode_opts opts = {.dir = PB_DIR_UNKNOWN};
    int rc = parse_args(argc, argv, &opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    /* The pipeline logs what a live bridge would: discrepancies and link events, stamped
     * with the time of logging. Here they are lines of the output already, stamped with
     * the capture's own time; on stderr they would repeat them under today's date. */
    pb_log_set_level(PB_LOG_ERROR);

    struct decode_run run = {.opts = &opts, .proto = opts.proto};
    uint8_t *bytes = NULL;
    FILE *in = NULL;
    if (opts.capture) {
        if (opts.autodetect)
            rc = detect_capture(&run, opts.capture);
        if (rc == 0)
            rc = decode_capture(&run, opts.capture);
    } else if (opts.hex) {
        size_t len = 0;
        if ((rc = parse_hex(opts.hex, &bytes, &len)) == 0 && opts.autodetect) {
            struct pb_detector *det = NULL;
            rc = pb_detector_new(NULL, &det) == PB_OK ? 0 : EX_OSERR;
            if (rc == 0) {
                pb_detector_feed(det, opts.dir, bytes, len);
                rc = auto_protocol(&run, det);
            }
            pb_detector_free(det);
        }
        if (rc == 0)
            rc = feed(&run, opts.dir, bytes, len);
    } else if (opts.raw) {
        in = fopen(opts.raw, "rb");
        if (!in) {
            fprintf(stderr, "posbridge decode: cannot open '%s': %s\n", opts.raw, strerror(errno));
            rc = EX_NOINPUT;
        } else {
            rc = opts.autodetect ? detect_stream(&run, in, opts.raw)
                                 : decode_stream(&run, in, opts.raw);
        }
    } else {
        rc = opts.autodetect ? detect_stream(&run, stdin, "stdin")
                             : decode_stream(&run, stdin, "stdin");
    }
    if (rc == EX_NOINPUT || rc == EX_USAGE || rc == EX_OSERR || rc == EX_SOFTWARE)
        goto out; /* nothing was decoded */

    /* Whatever is still buffered is reported, even after a read error part way. */
    struct pb_deframer_stats sum = {0};
    for (int i = 0; i < 3; i++) {
        static const enum pb_dir dirs[3] = {PB_DIR_ECR, PB_DIR_PT, PB_DIR_UNKNOWN};
        flush_dir(&run, dirs[i]);
        if (!run.d[i])
            continue;
        const struct pb_deframer_stats *s = pb_deframer_stats(run.d[i]);
        sum.bytes += s->bytes;
        sum.frames += s->frames;
        sum.controls += s->controls;
        sum.garbage_bytes += s->garbage_bytes;
        sum.checksum_errors += s->checksum_errors;
    }
    sum.bytes += run.lane_bytes;
    sum.frames += run.lane_frames;
    sum.controls += run.lane_controls;
    sum.garbage_bytes += run.lane_garbage;
    sum.checksum_errors += run.lane_checksum;
    fprintf(stderr,
            "posbridge decode: %" PRIu64 " bytes: %" PRIu64 " frame%s, %" PRIu64
            " control byte%s, %" PRIu64 " garbage byte%s, %" PRIu64 " checksum error%s, %" PRIu64
            " malformed",
            sum.bytes, sum.frames, sum.frames == 1 ? "" : "s", sum.controls,
            sum.controls == 1 ? "" : "s", sum.garbage_bytes, sum.garbage_bytes == 1 ? "" : "s",
            sum.checksum_errors, sum.checksum_errors == 1 ? "" : "s", run.malformed);
    if (opts.capture)
        fprintf(stderr,
                ", %" PRIu64 " event%s, %" PRIu64 " cut packet%s; %" PRIu64
                " transaction%s, %" PRIu64 " discrepanc%s",
                run.events, run.events == 1 ? "" : "s", run.cut_packets,
                run.cut_packets == 1 ? "" : "s", run.txns, run.txns == 1 ? "" : "s",
                run.discrepancies, run.discrepancies == 1 ? "y" : "ies");
    fputc('\n', stderr);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "posbridge decode: writing output: %s\n", strerror(errno));
        rc = EX_IOERR;
    }
out:
    if (in)
        fclose(in);
    free(bytes);
    for (int i = 0; i < 3; i++)
        pb_deframer_free(run.d[i]);
    pb_pipeline_free(run.lane);
    if (run.journal && pb_journal_close(run.journal) != PB_OK && rc == 0)
        rc = EX_IOERR;
    return rc;
}
