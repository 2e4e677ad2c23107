/* `posbridge monitor`: a live view of a running bridge for a person at the lane. It
 * follows the bridge's capture file (flushed after each exchange, possibly rotated) and
 * runs it through the same pipeline as the bridge (docs/DESIGN.md, "One pipeline"), so what
 * it shows is what the bridge decides: frames as they pass, the transaction in flight,
 * counters, and discrepancies highlighted.
 *
 * Full screen (ncurses) when stdout is a terminal, one plain line per frame, event and
 * transaction otherwise (--plain). The capture is masked by the bridge, so nothing shown
 * here holds card data in clear. */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "log.h"
#include "commands.h"
#include "money.h"
#include "msg.h"
#include "pb_error.h"
#include "pipeline.h"
#include "protocol.h"
#include "tracker.h"
#include "txn_json.h"

#define LINES_KEPT 1000
#define LINE_LEN 240

enum line_kind { LK_FRAME, LK_EVENT, LK_TXN_OK, LK_TXN_BAD, LK_NOTE };

struct line {
    enum line_kind kind;
    char text[LINE_LEN];
};

struct monitor_opts {
    const char *path;
    const struct pb_protocol *proto; /* --protocol; NULL: the capture's link type */
    bool plain;
    bool once;             /* read what is there, finish, exit */
    unsigned interval_ms;  /* polling period */
};

struct monitor {
    const struct monitor_opts *o;
    struct pb_capture_reader *r;
    struct pb_pipeline *pl;
    const struct pb_protocol *proto;
    bool ui;
    struct line *lines; /* ring */
    size_t head, count;
    int64_t last_utc;   /* time of the last record read */
    uint64_t retries;   /* repeats of closed transactions */
    uint64_t records, rotations;
    char state[64];     /* last message kind of the transaction in flight */
    char status[200];   /* waiting / error / following */
    bool failed;        /* capture unreadable until it rotates */
    bool warned_link;
    int exit_code;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge monitor CAPTURE [--protocol NAME] [--plain] [--once]\n"
            "\n"
            "Follows the capture file of a running bridge (posbridge run --capture CAPTURE)\n"
            "and shows, as they pass: decoded frames (time, direction, kind, amount,\n"
            "result), the transaction in flight and its state, counters (transactions,\n"
            "discrepancies by class, NAKs, checksum errors, retries, bytes each way), and\n"
            "each closed transaction with its class, discrepancies highlighted. It waits\n"
            "for a capture that does not exist yet and follows it across rotations.\n"
            "\n"
            "  -p, --protocol NAME  decode as %s (default: the capture's link type)\n"
            "      --plain          plain lines on stdout, even on a terminal (the default\n"
            "                       when stdout is not a terminal)\n"
            "      --once           read the capture to its end, show it, and exit\n"
            "      --interval MS    how often to look for new data (default 200)\n"
            "  -h, --help           this text\n"
            "\n"
            "Full screen: q quits. Plain: stops on SIGINT or SIGTERM.\n"
            "Exit status: 0, 64 usage, 65 the capture is not a readable pcapng (--once).\n"
            "\n"
            "example:\n"
            "  posbridge run --register /dev/ttyS0 --terminal /dev/ttyACM0 --protocol zvt \\\n"
            "                --capture /var/lib/posbridge/lane3.pcapng &\n"
            "  posbridge monitor /var/lib/posbridge/lane3.pcapng --plain\n"
            "  02:33:01.120 ecr request      purchase     12.50 EUR ...\n"
            "  02:33:03.981 pt  result       purchase     13.50 EUR approved ...\n"
            "  02:33:04.002 == txn 1 purchase requested 12.50 EUR charged 13.50 EUR -> "
            "overcharge  DISCREPANCY\n",
            pb_protocol_names());
}

/* ---- lines ------------------------------------------------------------------------------ */

static void fmt_time(int64_t utc_us, char *buf, size_t cap)
{
    if (utc_us < 0)
        utc_us = 0;
    time_t sec = (time_t)(utc_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(buf, cap, "--:--:--.---");
        return;
    }
    snprintf(buf, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(utc_us % 1000000 / 1000));
}

__attribute__((format(printf, 3, 4))) static void add_line(struct monitor *m,
                                                           enum line_kind kind,
                                                           const char *fmt, ...)
{
    struct line *l = &m->lines[(m->head + m->count) % LINES_KEPT];
    if (m->count == LINES_KEPT)
        m->head = (m->head + 1) % LINES_KEPT;
    else
        m->count++;
    l->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->text, sizeof l->text, fmt, ap);
    va_end(ap);
    if (!m->ui) {
        fputs(l->text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
}

static void on_msg(enum pb_dir dir, const struct pb_frame *f, const struct pos_msg *msg,
                   const struct pb_time *t, void *ctx)
{
    struct monitor *m = ctx;
    char when[32];
    fmt_time(t->utc_us, when, sizeof when);
    if (!msg) {
        add_line(m, LK_FRAME, "%s %-3s garbage, %" PRIu32 " byte%s skipped", when,
                 pb_dir_name(dir), f->length, f->length == 1 ? "" : "s");
        return;
    }
    char text[LINE_LEN];
    pb_msg_format(msg, text, sizeof text);
    size_t n = strnlen(text, sizeof text);
    while (n > 0 && text[n - 1] == ' ')
        text[--n] = '\0';
    add_line(m, LK_FRAME, "%s %s", when, text);
    if (msg->kind != PB_KIND_ACK && msg->kind != PB_KIND_ENQ && msg->kind != PB_KIND_EOT)
        snprintf(m->state, sizeof m->state, "%s %s%s%s", pb_dir_name(dir), pb_kind_name(msg->kind),
                 msg->result != PB_RESULT_NONE ? " " : "",
                 msg->result != PB_RESULT_NONE ? pb_result_name(msg->result) : "");
}

static void on_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct monitor *m = ctx;
    if (ev == PB_TXN_OPENED)
        return;
    if (ev == PB_TXN_CLOSED)
        m->retries += t->repeats;
    char when[32], req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    fmt_time(t->ended.utc_us, when, sizeof when);
    pb_txn_format_amounts(t, req, chg);
    bool bad = pb_class_is_discrepancy(t->cls);
    add_line(m, bad ? LK_TXN_BAD : LK_TXN_OK,
             "%s == txn %" PRIu64 "%s %s requested %s charged %s -> %s%s%s%s", when, t->id,
             ev == PB_TXN_RECLASSIFIED ? " (reclassified)" : "", pb_txn_name(t->type), req, chg,
             pb_class_name(t->cls), bad ? "  DISCREPANCY: " : "", bad ? t->detail : "",
             bad ? "" : "");
    if (bad)
        add_line(m, LK_TXN_BAD, "%*s    action: %s", 12, "", pb_class_action(t->cls));
    m->state[0] = '\0';
}

/* The pipeline logs what the bridge would log; discrepancies are lines here already,
 * and anything on stderr would tear the full screen. Errors become notes. */
static void on_log(enum pb_log_level level, const char *msg, void *ctx)
{
    if (level >= PB_LOG_ERROR)
        add_line(ctx, LK_NOTE, "posbridge: %s", msg);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* The bridge writes port events as comments; they become link events again (as decode). */
static void replay_event(struct monitor *m, const char *comment, const struct pb_time *t)
{
    char when[32], text[160];
    fmt_time(t->utc_us, when, sizeof when);
    pb_copy_printable(text, sizeof text, (const uint8_t *)comment, strlen(comment));
    add_line(m, LK_EVENT, "%s -- %s", when, text);
    if (!m->pl)
        return;
    bool reg = strncmp(comment, "register link ", 14) == 0;
    bool term = strncmp(comment, "terminal link ", 14) == 0;
    if (!reg && !term)
        return;
    bool up = strncmp(comment + 14, "back", 4) == 0;
    if (!up && strncmp(comment + 14, "lost", 4) != 0)
        return;
    pb_pipeline_link(m->pl, term ? PB_DIR_PT : PB_DIR_ECR, up, t, NULL);
}

static int ensure_pipeline(struct monitor *m, uint16_t link_type)
{
    if (m->pl)
        return 0;
    if (!m->proto) {
        for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++)
            if ((*p)->link_type == link_type)
                m->proto = *p;
        if (!m->proto) {
            if (!m->warned_link)
                add_line(m, LK_NOTE,
                         "the capture's link type %u names no protocol; give --protocol (%s)",
                         (unsigned)link_type, pb_protocol_names());
            m->warned_link = true;
            return -1;
        }
    }
    struct pb_pipeline_opts po = {.proto = m->proto, .on_msg = on_msg, .on_txn = on_txn, .ctx = m};
    if (pb_pipeline_new(&po, &m->pl) != PB_OK) {
        add_line(m, LK_NOTE, "out of memory");
        return -1;
    }
    return 0;
}

static void handle_record(struct monitor *m, const struct pb_capture_record *rec)
{
    m->records++;
    m->last_utc = rec->utc_us;
    /* The capture's clock is the tracker's clock, as in decode (docs/DESIGN.md decision 2). */
    struct pb_time t = {rec->utc_us, rec->utc_us};
    if (m->pl)
        pb_pipeline_tick(m->pl, &t);
    if (rec->comment)
        replay_event(m, rec->comment, &t);
    if (rec->is_event || rec->len == 0)
        return;
    if (rec->dir != PB_DIR_ECR && rec->dir != PB_DIR_PT)
        return; /* the bridge always records the direction */
    if (ensure_pipeline(m, rec->link_type) != 0)
        return;
    pb_pipeline_chunk(m->pl, rec->dir, &t, rec->data, rec->len);
    if (rec->len < rec->orig_len)
        pb_pipeline_gap(m->pl, rec->dir, &t);
}

/* Reads every whole record there is now. Returns true when something was read. A block
 * cut short ends the round until the file grows (pb_capture_reader_refresh); a signal
 * ends it at once, however much is left to read. */
static bool drain(struct monitor *m)
{
    if (!m->r || m->failed)
        return false;
    bool any = false;
    while (!stop_requested) {
        struct pb_capture_record rec;
        int rc = pb_capture_read(m->r, &rec);
        if (rc == 1) {
            handle_record(m, &rec);
            any = true;
            continue;
        }
        if (rc == 0 || rc == PB_ERR_TRUNCATED) {
            /* End for now: the bridge may be writing the next block. */
            if (pb_capture_reader_refresh(m->r) == 1)
                continue;
            break;
        }
        snprintf(m->status, sizeof m->status, "capture unreadable: %s",
                 pb_capture_reader_error(m->r));
        add_line(m, LK_NOTE, "%s", m->status);
        m->failed = true;
        m->exit_code = EX_DATAERR;
        break;
    }
    return any;
}

/* Opens the capture when it appears, and the new file after a rotation. */
static void poll_capture(struct monitor *m)
{
    if (m->r && pb_capture_reader_moved(m->r, m->o->path)) {
        /* Rotated: what the bridge wrote before moving it is read first. */
        drain(m);
        pb_capture_reader_close(m->r);
        m->r = NULL;
        m->failed = false;
        m->rotations++;
        add_line(m, LK_NOTE, "capture rotated; following the new %s", m->o->path);
    }
    if (!m->r) {
        int err = pb_capture_reader_open(m->o->path, &m->r);
        if (err != PB_OK) {
            m->r = NULL;
            snprintf(m->status, sizeof m->status, "waiting for %s (%s)", m->o->path,
                     err == PB_ERR_NOTFOUND ? "not there yet" : strerror(errno));
            return;
        }
        snprintf(m->status, sizeof m->status, "following %s", m->o->path);
    }
    drain(m);
}

/* Timers run on the capture's clock; between records, wall time moves them on, kept
 * a little behind so that a response the bridge is about to flush is not timed out. */
static void tick_idle(struct monitor *m)
{
    if (!m->pl || m->o->once)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - 1000000;
    if (now <= m->last_utc)
        return;
    struct pb_time t = {now, now};
    pb_pipeline_tick(m->pl, &t);
}

/* ---- screen ----------------------------------------------------------------------------- */

static void counters(const struct monitor *m, char *buf, size_t cap, char *cls, size_t cls_cap)
{
    struct pb_pipeline_stats zero = {0};
    const struct pb_pipeline_stats *s = m->pl ? pb_pipeline_stats(m->pl) : &zero;
    uint64_t disc = 0;
    size_t n = 0;
    cls[0] = '\0';
    for (int c = 0; c < PB_CLASS__COUNT; c++) {
        if (!pb_class_is_discrepancy((enum pb_class)c) || !s->by_class[c])
            continue;
        disc += s->by_class[c];
        int w = snprintf(cls + n, cls_cap - n, "%s%s %" PRIu64, n ? ", " : "",
                         pb_class_name((enum pb_class)c), s->by_class[c]);
        if (w < 0 || (size_t)w >= cls_cap - n)
            break;
        n += (size_t)w;
    }
    snprintf(buf, cap,
             "transactions %" PRIu64 "  discrepancies %" PRIu64 "  NAKs %" PRIu64 "/%" PRIu64
             "  checksum errors %" PRIu64 "/%" PRIu64 "  retries %" PRIu64 "  bytes ecr %" PRIu64
             " pt %" PRIu64,
             s->txns, disc, s->naks[PB_DIR_ECR], s->naks[PB_DIR_PT], s->checksum_errors[PB_DIR_ECR],
             s->checksum_errors[PB_DIR_PT], m->retries, s->bytes[PB_DIR_ECR], s->bytes[PB_DIR_PT]);
}

static void in_flight(const struct monitor *m, char *buf, size_t cap)
{
    const struct pb_txn *t = m->pl ? pb_pipeline_current(m->pl) : NULL;
    if (!t) {
        snprintf(buf, cap, "in flight: none");
        return;
    }
    char when[32], req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    fmt_time(t->started.utc_us, when, sizeof when);
    pb_txn_format_amounts(t, req, chg);
    snprintf(buf, cap, "in flight: txn %" PRIu64 " %s %s since %s  state: %s", t->id,
             pb_txn_name(t->type), req, when, m->state[0] ? m->state : "requested");
}

static void draw(struct monitor *m)
{
    erase();
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    (void)cols;
    char buf[512], cls[256];
    attron(A_REVERSE);
    mvhline(0, 0, ' ', cols);
    mvprintw(0, 0, " posbridge monitor  %s  protocol %s   q: quit", m->o->path,
             m->proto ? m->proto->name : "?");
    attroff(A_REVERSE);
    mvprintw(1, 0, "%.*s", cols, m->status);
    in_flight(m, buf, sizeof buf);
    attron(A_BOLD);
    mvprintw(2, 0, "%.*s", cols, buf);
    attroff(A_BOLD);
    counters(m, buf, sizeof buf, cls, sizeof cls);
    mvprintw(3, 0, "%.*s", cols, buf);
    if (cls[0]) {
        if (has_colors())
            attron(COLOR_PAIR(1));
        attron(A_BOLD);
        mvprintw(4, 0, "by class: %.*s", cols > 10 ? cols - 10 : 0, cls);
        attroff(A_BOLD);
        if (has_colors())
            attroff(COLOR_PAIR(1));
    } else {
        mvprintw(4, 0, "by class: no discrepancies");
    }
    mvhline(5, 0, '-', cols); /* ACS lines read as 'q' through some terminals */
    int avail = rows - 6;
    if (avail > 0) {
        size_t show = m->count < (size_t)avail ? m->count : (size_t)avail;
        for (size_t i = 0; i < show; i++) {
            const struct line *l = &m->lines[(m->head + m->count - show + i) % LINES_KEPT];
            int attr = 0;
            if (l->kind == LK_TXN_BAD)
                attr = A_BOLD | (has_colors() ? COLOR_PAIR(1) : A_STANDOUT);
            else if (l->kind == LK_TXN_OK)
                attr = has_colors() ? COLOR_PAIR(2) : A_BOLD;
            else if (l->kind == LK_EVENT || l->kind == LK_NOTE)
                attr = has_colors() ? COLOR_PAIR(3) : A_DIM;
            attron(attr);
            mvprintw(6 + (int)i, 0, "%.*s", cols, l->text);
            attroff(attr);
        }
    }
    refresh();
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void print_summary(struct monitor *m)
{
    char buf[512], cls[256];
    counters(m, buf, sizeof buf, cls, sizeof cls);
    printf("-- %s%s%s\n", buf, cls[0] ? "; " : "", cls);
}

/* ---- main ------------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct monitor_opts *o)
{
    static const struct option longopts[] = {
        {"protocol", required_argument, NULL, 'p'},
        {"plain", no_argument, NULL, 'P'},
        {"once", no_argument, NULL, 'O'},
        {"interval", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int before, c;
    while ((before = optind, c = getopt_long(argc, argv, ":p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->proto = pb_protocol_find(optarg);
            if (!o->proto) {
                fprintf(stderr, "posbridge monitor: unknown protocol '%s' (one of: %s)\n",
                        optarg, pb_protocol_names());
                return EX_USAGE;
            }
            break;
        case 'P':
            o->plain = true;
            break;
        case 'O':
            o->once = true;
            break;
        case 'i': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 10 || v > 60000) {
                fprintf(stderr, "posbridge monitor: --interval '%s': expected 10 to 60000 ms\n",
                        optarg);
                return EX_USAGE;
            }
            o->interval_ms = (unsigned)v;
            break;
        }
        case 'h':
            usage(stdout);
            return -1;
        default:
            return pb_cli_bad_option("posbridge monitor", c, before, argv);
        }
    }
    if (optind < argc)
        o->path = argv[optind++];
    if (!o->path) {
        fprintf(stderr, "posbridge monitor: which capture? usage: posbridge monitor CAPTURE\n");
        return EX_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "posbridge monitor: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    return 0;
}

int cmd_monitor(int argc, char **argv)
{
    struct monitor_opts opts = {.interval_ms = 200};
    int rc = parse_args(argc, argv, &opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    struct monitor m = {.o = &opts, .proto = opts.proto, .last_utc = -1};
    m.lines = calloc(LINES_KEPT, sizeof *m.lines);
    if (!m.lines)
        return EX_OSERR;
    m.ui = !opts.plain && !opts.once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    pb_log_set_sink(PB_LOG_CALLBACK, "posbridge", on_log, &m);

    if (opts.once) {
        int err = pb_capture_reader_open(opts.path, &m.r);
        if (err != PB_OK) {
            fprintf(stderr, "posbridge monitor: cannot open '%s': %s\n", opts.path,
                    err == PB_ERR_NOTFOUND ? "no such file" : pb_strerror(err));
            free(m.lines);
            return EX_NOINPUT;
        }
        drain(&m);
        if (m.pl) {
            struct pb_time t = {m.last_utc, m.last_utc};
            pb_pipeline_finish(m.pl, &t);
        }
        print_summary(&m);
        rc = m.exit_code;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (m.ui) {
        initscr();
        cbreak();
        noecho();
        keypad(stdscr, TRUE);
        curs_set(0);
        timeout((int)opts.interval_ms);
        if (has_colors()) {
            start_color();
            use_default_colors();
            init_pair(1, COLOR_RED, -1);
            init_pair(2, COLOR_GREEN, -1);
            init_pair(3, COLOR_YELLOW, -1);
        }
    } else {
        setvbuf(stdout, NULL, _IOLBF, 0);
    }
    bool said_waiting = false;
    while (!stop_requested) {
        poll_capture(&m);
        if (!m.r && !m.ui && !said_waiting) {
            add_line(&m, LK_NOTE, "%s", m.status);
            said_waiting = true;
        }
        tick_idle(&m);
        if (m.ui) {
            draw(&m);
            int ch = getch(); /* waits up to the interval */
            if (ch == 'q' || ch == 'Q')
                break;
        } else {
            sleep_ms(opts.interval_ms);
        }
    }
    if (m.ui)
        endwin();
    else
        print_summary(&m);
out:
    pb_pipeline_free(m.pl);
    pb_capture_reader_close(m.r);
    free(m.lines);
    return rc;
}
