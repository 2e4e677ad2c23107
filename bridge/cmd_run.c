/* posbridge run: the relay loop.
 *
 * Event-driven on poll(2): the two ports, a signalfd, and one timeout that is the
 * earliest of the tracker's deadline and the reopen time of a lost port; with no
 * transaction open and both ports up the timeout is infinite, so an idle lane costs no
 * wake-ups. Bytes read from one side are written to the other before any other work
 * (docs/DESIGN.md decision 1); what cannot be written at once waits in a bounded queue
 * drained on POLLOUT, in order. Decoding, capture, journal and alerts come after. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "detect.h"
#include "journal.h"
#include "lanelock.h"
#include "pipeline.h"
#include "link.h"
#include "log.h"
#include "pb_error.h"
#include "protocol.h"
#include "safefile.h"

#define OUTQ_MAX (1u << 20) /* bytes waiting for a slow port before we must drop */
#define READ_CHUNK 65536

#ifndef PB_VERSION_STRING
#define PB_VERSION_STRING "0.1.0"
#endif

/* The command line's own options; every other long option is a config key (config.h),
 * reported by getopt_long as O_KEY with its name at long_opts[index]. */
enum opt_id { O_CONFIG = 256, O_KEY };

static const struct option long_opts[] = {
    {"config", required_argument, NULL, O_CONFIG},
    {"register", required_argument, NULL, O_KEY},
    {"terminal", required_argument, NULL, O_KEY},
    {"register-line", required_argument, NULL, O_KEY},
    {"terminal-line", required_argument, NULL, O_KEY},
    {"protocol", required_argument, NULL, O_KEY},
    {"journal", required_argument, NULL, O_KEY},
    {"no-journal", no_argument, NULL, O_KEY},
    {"capture", required_argument, NULL, O_KEY},
    {"capture-max-size", required_argument, NULL, O_KEY},
    {"capture-files", required_argument, NULL, O_KEY},
    {"capture-clear", no_argument, NULL, O_KEY},
    {"events", required_argument, NULL, O_KEY},
    {"on-discrepancy", required_argument, NULL, O_KEY},
    {"alert-timeout", required_argument, NULL, O_KEY},
    {"alert-burst", required_argument, NULL, O_KEY},
    {"alert-max", required_argument, NULL, O_KEY},
    {"shutdown-wait", required_argument, NULL, O_KEY},
    {"accept-timeout", required_argument, NULL, O_KEY},
    {"response-timeout", required_argument, NULL, O_KEY},
    {"completion-timeout", required_argument, NULL, O_KEY},
    {"register-timeout", required_argument, NULL, O_KEY},
    {"duplicate-window", required_argument, NULL, O_KEY},
    {"undercharge-is-partial", no_argument, NULL, O_KEY},
    {"log-level", required_argument, NULL, O_KEY},
    {"syslog", no_argument, NULL, O_KEY},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: posbridge run --register PORT --terminal PORT --protocol NAME [OPTIONS]\n"
        "\n"
        "Relays every byte between a cash register and a card terminal unchanged, decodes\n"
        "the payment protocol, and records each transaction and its discrepancies.\n"
        "\n"
        "ports (PORT):\n"
        "  /dev/ttyUSB0, /dev/ttyACM0   a serial device (libserialport)\n"
        "  /dev/pts/7                   an existing pseudo-terminal\n"
        "  pty:PATH                     create a pty and symlink PATH to it, for register\n"
        "                               software on this PC (it opens PATH)\n"
        "  PORT@9600,7E1                line settings inside the spec\n"
        "\n"
        "options:\n"
        "  --protocol NAME          %s|auto|none\n"
        "                           auto: named from the first bytes, which are forwarded\n"
        "                           at once; none: relay and capture only, every digit\n"
        "                           masked in the capture\n"
        "  --register-line L        register side line, e.g. 9600,7E1 (default: protocol's)\n"
        "  --terminal-line L        terminal side line, e.g. 9600,8N2\n"
        "  --journal FILE           SQLite journal (default $XDG_STATE_HOME/posbridge/journal.db,\n"
        "                           /var/lib/posbridge/journal.db as root)\n"
        "  --no-journal             keep no journal\n"
        "  --capture FILE           pcapng capture of every chunk (card data masked)\n"
        "  --capture-max-size N     rotate the capture at N bytes (K, M, G suffixes)\n"
        "  --capture-files N        rotated captures to keep (default 5)\n"
        "  --capture-clear          do NOT mask card data in the capture (PCI scope!)\n"
        "  --events FILE|-          one JSON object per closed transaction\n"
        "  --on-discrepancy PROG    run PROG (no shell) per discrepancy; details in POSBRIDGE_*\n"
        "                           environment variables and as JSON on its stdin\n"
        "                           (docs/ALERTS.md)\n"
        "  --alert-timeout S        time limit for PROG in seconds (default 10)\n"
        "  --alert-burst N          N discrepancies within an hour also raise one burst\n"
        "                           alert (log, journal, PROG with POSBRIDGE_CLASS=burst);\n"
        "                           at most one an hour (default 10, 0: none)\n"
        "  --alert-max N            at most N alert programs at once (default 4); up to 256\n"
        "                           more alerts wait their turn, beyond that they are\n"
        "                           dropped, counted and logged\n"
        "  --shutdown-wait S        on SIGTERM, wait up to S seconds for the transaction in\n"
        "                           flight (default 10)\n"
        "  --accept-timeout MS, --response-timeout MS, --completion-timeout MS\n"
        "                           override the protocol's timers\n"
        "  --register-timeout MS    when the register gives up: approvals after it are late\n"
        "  --duplicate-window MS    equal approvals inside it with no new request are\n"
        "                           duplicates (default 120000)\n"
        "  --undercharge-is-partial a smaller approval counts as a partial approval\n"
        "  --config FILE            INI file with the same keys as the long options\n"
        "                           (section [bridge]); options given here override it\n"
        "  --log-level LEVEL        debug|info|warning|error (default info)\n"
        "  --syslog                 log to syslog instead of stderr\n"
        "  -q, --quiet              log warnings and errors only\n"
        "  -h, --help               this text\n"
        "\n"
        "signals: SIGHUP reopens the capture and the events file (after logrotate);\n"
        "SIGTERM/SIGINT finish the transaction in flight (bounded by --shutdown-wait),\n"
        "flush, and exit 0.\n"
        "\n"
        "Exit status: 0, 64 usage, 66 config file unreadable, 69 a port unusable, 73 an\n"
        "output file that cannot be created or is refused (a symlink, FIFO or device,\n"
        "another user's, or wider than 0600: the message says how to fix it), 75 a port,\n"
        "capture or journal in use by another bridge (its pid is named), 78 bad config.\n"
        "\n"
        "example:\n"
        "  posbridge run --protocol zvt --register pty:/run/posbridge/ecr \\\n"
        "      --terminal /dev/ttyUSB0 --capture /var/log/posbridge/lane1.pcapng\n",
        pb_protocol_names());
}

char *pb_default_journal_path(void)
{
    char buf[PATH_MAX];
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (geteuid() == 0 && !state)
        snprintf(buf, sizeof buf, "/var/lib/posbridge/journal.db");
    else if (state && state[0])
        snprintf(buf, sizeof buf, "%s/posbridge/journal.db", state);
    else if (home && home[0])
        snprintf(buf, sizeof buf, "%s/.local/state/posbridge/journal.db", home);
    else
        snprintf(buf, sizeof buf, "posbridge-journal.db");
    return strdup(buf);
}

/* ---- the relay ------------------------------------------------------------------------ */

struct port {
    struct pb_link *link;
    const char *who; /* "register" / "terminal" */
    enum pb_dir dir; /* the direction of bytes read from this port */
    int64_t reopen_at; /* mono us, -1 when up */
    int why_logged;    /* pb_link_down_errno() last written to the log, -1: none */
    uint8_t *outq;     /* bytes waiting to be written to this port */
    size_t outq_len;
    uint64_t dropped;  /* bytes that could not be forwarded (port down or stuck) */
};

/* What the pumps feed: the pipeline, and while --protocol auto has not decided yet,
 * the detector that watches the first bytes (forwarding never waits for it). */
struct relay {
    const struct pb_config *o;
    struct pb_pipeline *lane;
    struct pb_lanelock *capture_lock; /* held from start to exit: one bridge per capture */
    struct pb_capture *capture;
    struct pb_journal *journal;
    FILE *events;
    struct pb_detector *det; /* NULL once decided, or when the protocol was given */
    int64_t det_deadline;    /* mono us: decide on what was seen by then; -1 before bytes */
};

#define DETECT_PATIENCE_US (5 * 1000000) /* a quiet line decides after this much */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct pb_time now_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct pb_time t = {mono_us(), (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000};
    return t;
}

/* Writes as much of the queue as the port takes now. */
static void drain_outq(struct port *p)
{
    while (p->outq_len > 0 && pb_link_is_up(p->link)) {
        ssize_t n = pb_link_write(p->link, p->outq, p->outq_len);
        if (n <= 0)
            return; /* PB_ERR_AGAIN: POLLOUT will call again; CLOSED: read side notices */
        memmove(p->outq, p->outq + n, p->outq_len - (size_t)n);
        p->outq_len -= (size_t)n;
    }
}

/* Forwards bytes to port p: straight to the port when nothing waits, else queued. */
static void forward(struct port *p, const uint8_t *buf, size_t len)
{
    if (!pb_link_is_up(p->link)) {
        p->dropped += len;
        return;
    }
    if (p->outq_len == 0) {
        ssize_t n = pb_link_write(p->link, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        }
    }
    if (len == 0)
        return;
    if (p->outq_len + len > OUTQ_MAX) {
        size_t room = OUTQ_MAX - p->outq_len;
        p->dropped += len - room;
        pb_error("%s port is not taking bytes: %zu bytes could not be forwarded", p->who,
                 len - room);
        len = room;
    }
    memcpy(p->outq + p->outq_len, buf, len);
    p->outq_len += len;
}

static void port_lost(struct port *p, struct pb_pipeline *lane, const char *why)
{
    struct pb_time t = now_time();
    if (pb_link_is_up(p->link))
        pb_link_drop(p->link); /* an I/O error that left the port open: start afresh */
    p->outq_len = 0;
    p->reopen_at = t.mono_us + (int64_t)pb_link_backoff_ms(p->link) * 1000;
    pb_pipeline_link(lane, p->dir, false, &t, why);
}

static void try_reopen(struct port *p, struct pb_pipeline *lane, int64_t now)
{
    if (p->reopen_at < 0 || now < p->reopen_at)
        return;
    if (pb_link_reopen(p->link) == PB_OK) {
        p->reopen_at = -1;
        p->why_logged = -1;
        struct pb_time t = now_time();
        pb_pipeline_link(lane, p->dir, true, &t, pb_link_name(p->link));
    } else {
        p->reopen_at = now + (int64_t)pb_link_backoff_ms(p->link) * 1000;
        int e = pb_link_down_errno(p->link);
        if (e && e != p->why_logged) { /* said once per reason, not every retry */
            pb_warn("%s port %s: %s; retrying", p->who, pb_link_name(p->link),
                    pb_link_absent_text(e));
            p->why_logged = e;
        }
    }
}

/* A lane's port or capture that another process holds (docs/TOOLS.md "One bridge per
 * lane"). Returns the exit code. */
static int in_use(const char *what, pid_t pid)
{
    if (pid > 0)
        fprintf(stderr, "posbridge run: %s is in use by pid %ld (another bridge on this lane?)\n",
                what, (long)pid);
    else
        fprintf(stderr,
                "posbridge run: %s is in use by another process (another bridge on this lane?)\n",
                what);
    return EX_TEMPFAIL;
}

static int open_port(struct port *p, const char *spec, const char *line_text,
                     const struct pb_protocol *proto)
{
    struct pb_line line = {9600, 8, 'N', 1};
    const char *text = line_text ? line_text : (proto ? proto->default_line : "9600,8N1");
    const char *err = NULL;
    if (pb_line_parse(text, &line, &err) != PB_OK) {
        fprintf(stderr, "posbridge run: %s line '%s': %s\n", p->who, text, err ? err : "invalid");
        return EX_USAGE;
    }
    int rc = pb_link_open(spec, &line, &p->link);
    if (rc == PB_ERR_SYNTAX) {
        fprintf(stderr, "posbridge run: %s port '%s': invalid port spec\n", p->who, spec);
        return EX_USAGE;
    }
    if (rc == PB_ERR_BUSY)
        return in_use(spec, pb_link_holder(spec));
    if (rc != PB_OK && rc != PB_ERR_AGAIN) {
        fprintf(stderr, "posbridge run: %s port '%s': %s\n", p->who, spec, pb_strerror(rc));
        return rc == PB_ERR_UNSAFE ? EX_CANTCREAT : EX_UNAVAILABLE;
    }
    p->outq = malloc(OUTQ_MAX);
    if (!p->outq)
        return EX_OSERR;
    if (rc == PB_ERR_AGAIN) {
        p->why_logged = pb_link_down_errno(p->link);
        pb_warn("%s port %s: %s; retrying", p->who, spec, pb_link_absent_text(p->why_logged));
        p->reopen_at = mono_us() + (int64_t)pb_link_backoff_ms(p->link) * 1000;
    } else {
        p->reopen_at = -1;
        if (pb_link_kind(p->link) == PB_LINK_PTY)
            pb_info("%s side: pseudo-terminal at %s", p->who, pb_link_path(p->link));
    }
    return 0;
}

/* The journal's writer thread tells the relay thread that the journal was recreated:
 * the alert program is the relay thread's (lane/alert.h is single-threaded), so the
 * message waits here and an eventfd wakes the relay loop to raise it. */
struct journal_note {
    pthread_mutex_t mu;
    int efd;                       /* -1: none */
    char text[PB_JOURNAL_TEXT_MAX]; /* "" when nothing waits */
};

static void on_journal_state(enum pb_journal_state st, const char *msg, void *ctx)
{
    struct journal_note *jn = ctx;
    if (st == PB_JOURNAL_RECREATED) {
        /* The journal logged the ALERT itself; the program is told from the relay loop. */
        pthread_mutex_lock(&jn->mu);
        snprintf(jn->text, sizeof jn->text, "%s", msg);
        pthread_mutex_unlock(&jn->mu);
        uint64_t one = 1;
        if (jn->efd >= 0 && write(jn->efd, &one, sizeof one) < 0)
            pb_warn("journal: cannot wake the relay loop: %s", strerror(errno));
        return;
    }
    if (st == PB_JOURNAL_FAILING)
        pb_error("ALERT journal cannot be written (%s); forwarding continues, records are kept "
                 "in memory and retried",
                 msg);
    else
        pb_info("journal writable again: %s", msg);
}

/* SIGHUP after logrotate moved the events file away: later events go to a new file at
 * the path. The new descriptor takes the old one's number, so the FILE the pipeline
 * holds stays valid; what was buffered goes to the moved file first. A file that cannot
 * be created, or is refused (lane/safefile.h: what is at the path now may have been put
 * there by anyone), leaves the old one in use (nothing is dropped). */
static void reopen_events(struct relay *r)
{
    const char *path = r->o->events;
    if (!r->events || r->events == stdout)
        return;
    fflush(r->events);
    char why[PATH_MAX + 200] = "";
    int fd = pb_safefile_open(path, O_WRONLY | O_APPEND, why, sizeof why);
    if (fd < 0) {
        pb_error("events: %s; still writing to the file it was", why);
        return;
    }
    if (dup3(fd, fileno(r->events), O_CLOEXEC) < 0)
        pb_error("events: cannot reopen %s: %s; still writing to the file it was", path,
                 strerror(errno));
    close(fd);
}

/* Every output file is judged before a port is touched (lane/safefile.h), so a refused
 * one stops the bridge before it creates or replaces a pty link; each is judged again as
 * it is opened. Returns 0 or EX_CANTCREAT. */
static int judge_outputs(const char *events, const char *journal, const char *capture)
{
    const char *const what[] = {"events file", "journal", "capture"};
    const char *const path[] = {events && strcmp(events, "-") != 0 ? events : NULL, journal,
                                capture};
    for (int i = 0; i < 3; i++) {
        char why[PATH_MAX + 200];
        if (path[i] && pb_safefile_check(path[i], why, sizeof why) != PB_OK) {
            fprintf(stderr, "posbridge run: %s: %s\n", what[i], why);
            return EX_CANTCREAT;
        }
    }
    return 0;
}

/* One bridge per capture: its lock is taken before any port is touched, even when
 * --protocol auto creates the file only once the protocol is known. Returns 0 or an exit
 * code. */
static int claim_capture(struct relay *r)
{
    const char *path = r->o->capture;
    char why[PATH_MAX + 200], what[PATH_MAX + 16];
    pid_t holder = 0;
    int rc = pb_lanelock_take(path, &r->capture_lock, &holder, why, sizeof why);
    if (rc == PB_OK)
        return 0;
    if (rc == PB_ERR_BUSY) {
        snprintf(what, sizeof what, "capture %s", path);
        return in_use(what, holder);
    }
    fprintf(stderr, "posbridge run: capture: %s\n", rc == PB_ERR_NOMEM ? "out of memory" : why);
    return rc == PB_ERR_NOMEM ? EX_OSERR : EX_CANTCREAT;
}

/* The relay loop's half of journal_note: the alert program hears of it. */
static void raise_journal_note(struct journal_note *jn, struct pb_pipeline *lane)
{
    uint64_t n;
    if (read(jn->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        pb_warn("journal: eventfd: %s", strerror(errno));
    char text[PB_JOURNAL_TEXT_MAX];
    pthread_mutex_lock(&jn->mu);
    snprintf(text, sizeof text, "%s", jn->text);
    jn->text[0] = '\0';
    pthread_mutex_unlock(&jn->mu);
    if (text[0])
        pb_pipeline_lane_alert(lane, "journal_recreated", "critical", text);
}

static int open_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    /* An alert program's supervisor ended: wake up so the pipeline's tick reaps it and
     * starts the next waiting alert (docs/ALERTS.md). */
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    /* Under RLIMIT_FSIZE (LimitFSIZE=, ulimit -f) a write past the limit raises SIGXFSZ,
     * whose default action kills the bridge and the lane with it; ignored, the write
     * fails with EFBIG and the capture and the journal handle it like a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Opens the capture (once the protocol, hence the link type, is known) and builds the
 * pipeline. Returns 0 or an exit code. */
static int start_pipeline(struct relay *r, const struct pb_protocol *proto, bool with_capture)
{
    const struct pb_config *o = r->o;
    if (with_capture && o->capture && !r->capture) {
        struct pb_capture_opts co = PB_CAPTURE_OPTS_DEFAULT;
        co.max_size = o->capture_max_size;
        co.max_files = o->capture_files;
        co.locked = true; /* claim_capture() */
        uint16_t lt = proto ? (uint16_t)proto->link_type : PB_CAPTURE_LINKTYPE_NONE;
        int rc = pb_capture_open(o->capture, lt, &co, &r->capture);
        if (rc != PB_OK) {
            fprintf(stderr, "posbridge run: cannot create capture %s: %s\n", o->capture,
                    pb_strerror(rc));
            return EX_CANTCREAT;
        }
        if (o->capture_clear)
            pb_warn("--capture-clear: card data is written to %s IN CLEAR; this file is now in "
                    "PCI DSS scope",
                    o->capture);
    }
    struct pb_pipeline_opts lo = {
        .proto = proto,
        .tracker = o->tracker,
        .capture = r->capture,
        .capture_clear = o->capture_clear,
        .journal = r->journal,
        .events = r->events,
        .alert_program = o->on_discrepancy,
        .alert_timeout_ms = o->alert_timeout_ms,
        .alert_max = o->alert_max,
        .alert_burst = o->alert_burst,
    };
    return pb_pipeline_new(&lo, &r->lane) == PB_OK ? 0 : EX_OSERR;
}

/* The detector decided (or gave up): the real pipeline replaces the placeholder and
 * gets the bytes seen so far, each direction in order. tail/tail_dir: the part of the
 * deciding chunk past the detector's window. */
static void detected(struct relay *r, enum pb_dir tail_dir, const uint8_t *tail, size_t tail_len)
{
    int conf = 0;
    const struct pb_protocol *proto = pb_detector_result(r->det, &conf);
    if (proto)
        pb_info("protocol detected: %s (confidence %d%%)", proto->name, conf);
    else
        pb_warn("no protocol recognised in the first bytes (best confidence %d%%); relaying "
                "and capturing without decoding",
                conf);
    pb_pipeline_free(r->lane);
    r->lane = NULL;
    if (start_pipeline(r, proto, true) != 0) {
        pb_error("cannot build the pipeline for %s: relaying without recording",
                 proto ? proto->name : "none");
        pb_detector_free(r->det);
        r->det = NULL;
        return;
    }
    /* The bytes came earlier; their own times are not kept by the detector. */
    struct pb_time t = now_time();
    pb_pipeline_comment(r->lane, &t, proto ? "protocol detected" : "no protocol detected");
    pb_pipeline_comment_settings(r->lane, &t);
    for (int d = PB_DIR_ECR; d <= PB_DIR_PT; d++) {
        const uint8_t *seen = NULL;
        size_t n = pb_detector_seen(r->det, (enum pb_dir)d, &seen);
        pb_pipeline_chunk(r->lane, (enum pb_dir)d, &t, seen, n);
        if ((enum pb_dir)d == tail_dir && tail_len)
            pb_pipeline_chunk(r->lane, (enum pb_dir)d, &t, tail, tail_len);
    }
    pb_detector_free(r->det);
    r->det = NULL;
}

/* Bytes forwarded from one side go to the detector while it decides, else the pipeline. */
static void record(struct relay *r, enum pb_dir dir, const struct pb_time *t, const uint8_t *buf,
                   size_t n)
{
    if (!r->det) {
        pb_pipeline_chunk(r->lane, dir, t, buf, n);
        return;
    }
    const uint8_t *seen = NULL;
    size_t kept_before = pb_detector_seen(r->det, dir, &seen);
    if (r->det_deadline < 0)
        r->det_deadline = t->mono_us + DETECT_PATIENCE_US;
    if (pb_detector_feed(r->det, dir, buf, n) == PB_DETECT_PENDING)
        return;
    size_t kept = pb_detector_seen(r->det, dir, &seen) - kept_before;
    detected(r, dir, buf + kept, n - kept);
}

/* Reads what one port has and forwards it. Returns false when the port was lost. */
static bool pump(struct port *from, struct port *to, struct relay *rl, uint8_t *buf)
{
    for (;;) {
        ssize_t n = pb_link_read(from->link, buf, READ_CHUNK);
        if (n == PB_ERR_AGAIN)
            return true;
        if (n < 0) {
            port_lost(from, rl->lane, "port closed or removed");
            return false;
        }
        /* Stamp, forward, then everything else. */
        struct pb_time t = now_time();
        forward(to, buf, (size_t)n);
        record(rl, from->dir, &t, buf, (size_t)n);
        if ((size_t)n < READ_CHUNK)
            return true;
    }
}

static int run_bridge(const struct pb_config *o, const struct pb_protocol *proto, bool autodetect)
{
    int rc = 0;
    struct port reg = {.who = "register", .dir = PB_DIR_ECR, .reopen_at = -1, .why_logged = -1};
    struct port term = {.who = "terminal", .dir = PB_DIR_PT, .reopen_at = -1, .why_logged = -1};
    struct relay rl = {.o = o, .det_deadline = -1};
    struct journal_note jnote = {.mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1};
    char *journal_path = NULL;
    uint8_t *buf = NULL;
    int sfd = -1;

    /* Block the signals before any thread exists (the journal's writer), so they all
     * arrive through the signalfd and none kills a thread that did not expect it. */
    sfd = open_signals();
    if (sfd < 0) {
        fprintf(stderr, "posbridge run: signalfd: %s\n", strerror(errno));
        rc = EX_OSERR;
        goto out;
    }
    if (o->on_discrepancy && access(o->on_discrepancy, X_OK) != 0) {
        fprintf(stderr, "posbridge run: --on-discrepancy %s: not an executable file: %s\n",
                o->on_discrepancy, strerror(errno));
        rc = EX_USAGE;
        goto out;
    }
    if (!o->no_journal) {
        journal_path = o->journal ? strdup(o->journal) : pb_default_journal_path();
        if (!journal_path) {
            rc = EX_OSERR;
            goto out;
        }
    }
    if ((rc = judge_outputs(o->events, journal_path, o->capture)) != 0)
        goto out;
    if (o->capture && (rc = claim_capture(&rl)) != 0)
        goto out;
    if ((rc = open_port(&reg, o->register_spec, o->register_line, proto)) != 0)
        goto out;
    if ((rc = open_port(&term, o->terminal_spec, o->terminal_line, proto)) != 0)
        goto out;
    if (o->events && strcmp(o->events, "-") == 0) {
        rl.events = stdout;
    } else if (o->events) {
        /* 0600 like the journal and the capture: it names amounts and masked cards. */
        char why[PATH_MAX + 200];
        if (pb_safefile_fopen(o->events, O_WRONLY | O_APPEND, &rl.events, why, sizeof why) !=
            PB_OK) {
            fprintf(stderr, "posbridge run: events file: %s\n", why);
            rc = EX_CANTCREAT;
            goto out;
        }
    }
    if (!o->no_journal) {
        jnote.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (jnote.efd < 0) {
            fprintf(stderr, "posbridge run: eventfd: %s\n", strerror(errno));
            rc = EX_OSERR;
            goto out;
        }
        struct pb_journal_opts jo = {
            .on_state = on_journal_state,
            .ctx = &jnote,
            .version = "posbridge " PB_VERSION_STRING,
            .protocol = proto ? proto->name : autodetect ? "auto" : "none",
            .register_port = o->register_spec,
            .terminal_port = o->terminal_spec,
        };
        int r = pb_journal_open(journal_path, &jo, &rl.journal);
        if (r == PB_ERR_AGAIN) {
            fprintf(stderr, "posbridge run: journal %s is in use by another bridge\n",
                    journal_path);
            rc = EX_TEMPFAIL;
            goto out;
        }
        if (r != PB_OK) {
            fprintf(stderr, "posbridge run: cannot open journal %s: %s\n", journal_path,
                    pb_strerror(r));
            rc = EX_CANTCREAT;
            goto out;
        }
        unsigned n = pb_journal_in_doubt_at_open(rl.journal);
        if (n)
            pb_warn("%u transaction(s) were open when the bridge last stopped: now in_doubt", n);
        pb_info("journal: %s", journal_path);
    }
    /* With --protocol auto, a placeholder pipeline (no decoding, no capture yet) takes
     * link events until the detector has named the protocol. */
    if (autodetect && pb_detector_new(NULL, &rl.det) != PB_OK) {
        rc = EX_OSERR;
        goto out;
    }
    if ((rc = start_pipeline(&rl, proto, !autodetect)) != 0)
        goto out;
    buf = malloc(READ_CHUNK);
    if (!buf) {
        rc = EX_OSERR;
        goto out;
    }
    struct pb_time t0 = now_time();
    pb_pipeline_comment(rl.lane, &t0, "posbridge started");
    pb_pipeline_comment_settings(rl.lane, &t0);
    pb_info("bridging %s <-> %s (%s)", o->register_spec, o->terminal_spec,
            proto ? proto->name : autodetect ? "detecting the protocol" : "no decoding");

    int64_t stop_by = -1; /* set by SIGTERM: leave once idle or at this time */
    for (;;) {
        /* A write can be the first to find a port gone; the read side then never
         * wakes for it, so notice it here. */
        if (!pb_link_is_up(reg.link) && reg.reopen_at < 0)
            port_lost(&reg, rl.lane, "write failed: port gone");
        if (!pb_link_is_up(term.link) && term.reopen_at < 0)
            port_lost(&term, rl.lane, "write failed: port gone");
        int64_t now = mono_us();
        try_reopen(&reg, rl.lane, now);
        try_reopen(&term, rl.lane, now);
        if (stop_by >= 0 && (!pb_pipeline_current(rl.lane) || now >= stop_by))
            break;

        struct pollfd pfd[4];
        struct port *ports[2] = {&reg, &term};
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        int jidx = -1;
        if (jnote.efd >= 0) {
            jidx = (int)n;
            pfd[n++] = (struct pollfd){.fd = jnote.efd, .events = POLLIN};
        }
        int idx[2] = {-1, -1};
        for (int i = 0; i < 2; i++) {
            int fd = pb_link_fd(ports[i]->link);
            if (fd < 0)
                continue;
            short ev = POLLIN;
            if (ports[i]->outq_len)
                ev |= POLLOUT;
            idx[i] = (int)n;
            pfd[n++] = (struct pollfd){.fd = fd, .events = ev};
        }
        if (rl.det && rl.det_deadline >= 0 && now >= rl.det_deadline) {
            pb_detector_finish(rl.det);
            detected(&rl, PB_DIR_ECR, NULL, 0);
        }
        int64_t deadline = pb_pipeline_next_deadline(rl.lane);
        if (rl.det && rl.det_deadline >= 0 && (deadline < 0 || rl.det_deadline < deadline))
            deadline = rl.det_deadline;
        for (int i = 0; i < 2; i++)
            if (ports[i]->reopen_at >= 0 && (deadline < 0 || ports[i]->reopen_at < deadline))
                deadline = ports[i]->reopen_at;
        if (stop_by >= 0 && (deadline < 0 || stop_by < deadline))
            deadline = stop_by;
        int timeout = -1; /* idle: sleep until something happens */
        if (deadline >= 0) {
            int64_t ms = (deadline - now + 999) / 1000;
            timeout = ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
        }
        int r = poll(pfd, n, timeout);
        if (r < 0 && errno != EINTR) {
            pb_error("poll: %s", strerror(errno));
            rc = EX_OSERR;
            break;
        }
        for (int i = 0; i < 2 && r > 0; i++) {
            if (idx[i] < 0)
                continue;
            short re = pfd[idx[i]].revents;
            struct port *p = ports[i], *other = ports[1 - i];
            if (re & POLLOUT)
                drain_outq(p);
            if (re & (POLLIN | POLLHUP | POLLERR))
                pump(p, other, &rl, buf);
        }
        if (r > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    continue; /* the tick below reaps */
                if (si.ssi_signo == SIGHUP) {
                    pb_info("SIGHUP: reopening the capture and the events file");
                    if (rl.capture && pb_capture_reopen(rl.capture) != PB_OK)
                        pb_error("capture: reopen failed");
                    reopen_events(&rl);
                } else if (stop_by < 0) {
                    int64_t wait = (int64_t)o->shutdown_wait_ms * 1000;
                    stop_by = mono_us() + wait;
                    if (pb_pipeline_current(rl.lane))
                        pb_info("%s: finishing the transaction in flight (up to %u s)",
                                strsignal((int)si.ssi_signo), o->shutdown_wait_ms / 1000);
                } else {
                    stop_by = 0; /* a second signal: leave now */
                }
            }
        }
        if (r > 0 && jidx >= 0 && (pfd[jidx].revents & POLLIN))
            raise_journal_note(&jnote, rl.lane);
        struct pb_time t = now_time();
        pb_pipeline_tick(rl.lane, &t);
        /* One write per wake-up at most: readers following the capture (monitor) see
         * each exchange at once, and an idle lane writes nothing. */
        if (rl.capture && r > 0)
            pb_capture_flush(rl.capture);
    }
    struct pb_time tend = now_time();
    if (rl.det) {
        pb_detector_finish(rl.det);
        detected(&rl, PB_DIR_ECR, NULL, 0);
    }
    pb_pipeline_finish(rl.lane, &tend);
    pb_pipeline_comment(rl.lane, &tend, "posbridge stopped");
    const struct pb_pipeline_stats *st = pb_pipeline_stats(rl.lane);
    pb_info("stopping: %" PRIu64 " transactions, %" PRIu64 " bytes register->terminal, %" PRIu64
            " bytes terminal->register, %" PRIu64 " bytes not forwardable",
            st->txns, st->bytes[PB_DIR_ECR], st->bytes[PB_DIR_PT], reg.dropped + term.dropped);
out:
    pb_pipeline_free(rl.lane);
    pb_detector_free(rl.det);
    if (rl.capture)
        pb_capture_close(rl.capture);
    pb_lanelock_release(rl.capture_lock);
    if (rl.journal && pb_journal_close(rl.journal) != PB_OK)
        pb_error("journal: some records could not be written before exit");
    if (jnote.efd >= 0)
        close(jnote.efd);
    if (rl.events && rl.events != stdout)
        fclose(rl.events);
    else if (rl.events)
        fflush(rl.events);
    pb_link_close(reg.link);
    pb_link_close(term.link);
    free(reg.outq);
    free(term.outq);
    free(buf);
    free(journal_path);
    if (sfd >= 0)
        close(sfd);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    struct pb_config o;
    pb_config_init(&o);
    int rc = 0;
    /* The config file first, so the command line overrides it. */
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
    }
    if (config) {
        char err[512];
        int r = pb_config_load(&o, config, err, sizeof err);
        if (r != PB_OK) {
            fprintf(stderr, "posbridge run: %s\n", err);
            rc = r == PB_ERR_IO ? EX_NOINPUT : EX_CONFIG;
            goto out;
        }
    }
    optind = 1;
    opterr = 0;
    int before, c;
    int li = -1;
    while ((before = optind, c = getopt_long(argc, argv, ":qh", long_opts, &li)) != -1) {
        if (c == 'h') {
            usage(stdout);
            goto out;
        }
        if (c == '?' || c == ':') {
            rc = pb_cli_bad_option("posbridge run", c, before, argv);
            goto out;
        }
        const char *key = c == 'q' ? "quiet" : long_opts[li].name;
        li = -1; /* getopt_long sets it for long options only */
        if (c == O_CONFIG)
            continue; /* read before the loop */
        /* A flag on the command line is the config file's "key = true". */
        int r = pb_config_set(&o, key, optarg ? optarg : "true");
        if (r == PB_ERR_NOMEM) {
            fprintf(stderr, "posbridge run: out of memory\n");
            rc = EX_OSERR;
            goto out;
        }
        if (r != PB_OK) {
            if (strcmp(key, "protocol") == 0)
                fprintf(stderr, "posbridge run: unknown protocol '%s' (valid: %s|auto|none)\n",
                        optarg, pb_protocol_names());
            else
                fprintf(stderr, "posbridge run: --%s: invalid value '%s'\n", key, optarg);
            rc = EX_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "posbridge run: unexpected argument '%s'\n", argv[optind]);
        rc = EX_USAGE;
        goto out;
    }
    if (!o.register_spec || !o.terminal_spec) {
        fprintf(stderr, "posbridge run: --register and --terminal are required\n");
        usage(stderr);
        rc = EX_USAGE;
        goto out;
    }
    if (!o.protocol) {
        fprintf(stderr, "posbridge run: --protocol is required (%s|auto|none)\n",
                pb_protocol_names());
        rc = EX_USAGE;
        goto out;
    }
    const struct pb_protocol *proto = NULL;
    bool autodetect = strcmp(o.protocol, "auto") == 0;
    if (!autodetect && strcmp(o.protocol, "none") != 0 && !(proto = pb_protocol_find(o.protocol))) {
        fprintf(stderr, "posbridge run: unknown protocol '%s' (valid: %s|auto|none)\n", o.protocol,
                pb_protocol_names());
        rc = EX_USAGE;
        goto out;
    }
    rc = 0;
    pb_log_set_level(o.quiet ? PB_LOG_WARN : o.log_level);
    pb_log_set_sink(o.syslog ? PB_LOG_SYSLOG : PB_LOG_STDERR, "posbridge", NULL, NULL);
    rc = run_bridge(&o, proto, autodetect);
out:
    pb_config_free(&o);
    return rc;
}
