/* possim terminal and possim register: one side of a line on a port (pty:PATH creates a
 * pseudo-terminal; any other spec opens an existing pty or a serial device, lane/link.h),
 * played from a scenario file or from --sale/--fault options, on the real clock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "possim.h"
#include "cli.h"
#include "clock.h"
#include "capture.h"
#include "register.h"
#include "scenario.h"
#include "terminal.h"
#include "link.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"
#include "safefile.h"

#define MAX_FAULTS 32
#define MAX_TEXT (64 * 1024)

struct opts {
    const char *port;
    const char *protocol;
    const char *scenario;
    const char *line;
    const char *currency;
    const char *record;
    const char *capture;
    bool has_seed;
    uint64_t seed;
    bool pace;
    bool json;
    bool check;
    bool verbose, quiet;
    uint32_t timeout_ms, ack_timeout_ms, think_ms, linger_ms;
    char *text; /* scenario text built from --sale/--refund/--fault */
    size_t text_len;
    unsigned n_actions;
    unsigned n_fault_args;
};

static void usage_terminal(FILE *out)
{
    fprintf(out,
            "usage: possim terminal --port PORT --protocol NAME [OPTIONS]\n\n"
            "  -p, --port PORT        pty:PATH creates a pty and links PATH to it; a device\n"
            "                         or existing pty path is opened as it is\n"
            "  -P, --protocol NAME    %s (or `protocol` in the scenario)\n"
            "  -s, --scenario FILE    play the terminal's part of a scenario (step N = the Nth\n"
            "                         request)\n"
            "  -f, --fault SPEC       a fault for every transaction, or with a trigger:\n"
            "                         'charge +1.00', 'decline 05 every 3', 'nak chance 10%%'\n"
            "                         (repeatable; added to a scenario's own; docs/SCENARIOS.md)\n"
            "      --seed N           seed of the random generator (printed at start)\n"
            "      --pace             pace output at the line's baud rate (ptys are instant)\n"
            "  -l, --line SETTINGS    line settings, default the protocol's (9600,8N1 ...)\n"
            "      --currency CODE    default currency of answers (EUR)\n"
            "      --think DUR        card-and-PIN time before the result (50ms)\n"
            "      --ack-timeout DUR  ACK / T3 timer (2s)\n"
            "  -r, --record FILE      write every byte the terminal sends to FILE (raw)\n"
            "  -c, --capture FILE     record both directions of the line as pcapng\n"
            "  -v, --verbose / -q, --quiet\n"
            "  -h, --help / -V, --version\n\n"
            "Runs until SIGINT or SIGTERM, then prints the terminal's batch totals.\n"
            "SIGHUP reads the scenario file again: edit a 'fault' line to flip a fault on a\n"
            "live lane; it applies from the next transaction.\n\n"
            "example:\n"
            "  possim terminal --port pty:/tmp/pt --protocol concert --fault 'no-answer at 2'\n",
            sim_protocol_names());
}

static void usage_register(FILE *out)
{
    fprintf(out,
            "usage: possim register --port PORT --protocol NAME\n"
            "                       (--sale AMOUNT... | --scenario FILE) [OPTIONS]\n\n"
            "  -p, --port PORT        the terminal's port (a pty path, a device, or pty:PATH)\n"
            "  -P, --protocol NAME    %s (or `protocol` in the scenario)\n"
            "  -s, --scenario FILE    play the register's part of a scenario\n"
            "      --sale AMOUNT      a sale (repeatable, in order)\n"
            "      --refund AMOUNT    a refund\n"
            "      --void             void the last approved sale\n"
            "      --status           a status enquiry\n"
            "  -f, --fault SPEC       a register fault: 'ecr-nak', 'ecr-abort 2s', ...\n"
            "  -t, --timeout DUR      give up waiting for a result after DUR (10s; a bare\n"
            "                         number is seconds)\n"
            "      --ack-timeout DUR  ACK / T3 timer (2s)\n"
            "      --linger DUR       listen this long after the last transaction\n"
            "      --seed N           seed of the random generator (printed at start)\n"
            "      --pace             pace output at the line's baud rate\n"
            "  -l, --line SETTINGS    line settings\n"
            "      --currency CODE    currency of --sale amounts (EUR)\n"
            "  -j, --json             one JSON object per transaction on stdout\n"
            "  -r, --record FILE      write every byte the register sends to FILE (raw)\n"
            "  -c, --capture FILE     record both directions of the line as pcapng\n"
            "      --check            exit 1 when a believed class differs from the scenario's\n"
            "                         expectation\n"
            "  -v, --verbose / -q, --quiet\n"
            "  -h, --help / -V, --version\n\n"
            "Prints one line per transaction: requested, charged, result, and the class the\n"
            "register believes.\n\n"
            "examples:\n"
            "  possim register --port /tmp/pt --protocol zvt --sale 12.50 --timeout 5\n"
            "  possim register --port /tmp/pt --scenario captures/scenarios/zvt-overcharge.scn\n",
            sim_protocol_names());
}

static int append_text(struct opts *o, const char *a, const char *b)
{
    size_t need = strlen(a) + strlen(b) + 3;
    if (o->text_len + need > MAX_TEXT)
        return -1;
    char *n = realloc(o->text, o->text_len + need + 1);
    if (!n)
        return -1;
    o->text = n;
    o->text_len += (size_t)snprintf(o->text + o->text_len, need + 1, "%s %s\n", a, b);
    return 0;
}

/* ---- the event loop ------------------------------------------------------------------- */

struct side {
    struct pb_link *link;
    FILE *rec;                 /* --record: every byte this side writes */
    struct pb_capture *cap;    /* --capture: both directions as pcapng */
    const char *scenario_path; /* for SIGHUP reload (terminal) */
    struct sim_scenario **sc;
    bool is_terminal;
    struct sim_terminal *term;
    struct sim_register *reg;
};

static int64_t utc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static ssize_t link_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct side *s = ctx;
    if (!pb_link_is_up(s->link))
        return PB_ERR_CLOSED;
    ssize_t n = pb_link_write(s->link, buf, len);
    if (n > 0 && s->rec) {
        fwrite(buf, 1, (size_t)n, s->rec);
        fflush(s->rec);
    }
    if (n > 0 && s->cap)
        pb_capture_chunk(s->cap, s->is_terminal ? PB_DIR_PT : PB_DIR_ECR, utc_now_us(), buf,
                         (size_t)n);
    return n;
}

/* SIGHUP: read the scenario again and hand it to the live terminal; a file with errors
 * leaves the running scenario in place. */
static void reload(struct side *s)
{
    sim_reload_requested = 0;
    if (!s->is_terminal || !s->scenario_path) {
        pb_warn("SIGHUP: nothing to reload (no --scenario)");
        return;
    }
    struct sim_scenario *n = NULL;
    char err[512];
    if (sim_scenario_load(s->scenario_path, &n, err, sizeof err) != PB_OK) {
        pb_error("reload refused, keeping the running scenario: %s", err);
        return;
    }
    sim_terminal_set_scenario(s->term, n);
    sim_scenario_free(*s->sc);
    *s->sc = n;
    size_t nf = 0;
    sim_scenario_faults(n, &nf);
    pb_info("reloaded %s: %zu steps, %zu global faults, from the next transaction",
            s->scenario_path, sim_scenario_count(n), nf);
}

static int run_loop(struct side *s)
{
    uint8_t buf[4096];
    int64_t next_reopen = 0;
    while (!sim_stop_requested) {
        if (sim_reload_requested)
            reload(s);
        int64_t now = sim_clock_now_us();
        if (s->is_terminal)
            sim_terminal_tick(s->term, now);
        else
            sim_register_tick(s->reg, now);
        if (!s->is_terminal && sim_register_done(s->reg))
            return 0;
        int64_t dl = s->is_terminal ? sim_terminal_next_deadline(s->term)
                                    : sim_register_next_deadline(s->reg);
        now = sim_clock_now_us();
        int timeout = -1;
        if (dl >= 0)
            timeout = dl <= now ? 0 : (int)((dl - now + 999) / 1000);
        int fd = pb_link_fd(s->link);
        if (fd < 0) {
            if (now >= next_reopen) {
                if (pb_link_reopen(s->link) == PB_OK) {
                    pb_info("port %s is back", pb_link_name(s->link));
                    continue;
                }
                next_reopen = now + (int64_t)pb_link_backoff_ms(s->link) * 1000;
            }
            int w = (int)((next_reopen - now) / 1000) + 1;
            if (timeout < 0 || w < timeout)
                timeout = w;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("possim: poll");
            return EX_OSERR;
        }
        if (r == 0 || fd < 0)
            continue;
        for (;;) {
            ssize_t n = pb_link_read(s->link, buf, sizeof buf);
            if (n <= 0) {
                if (n == PB_ERR_CLOSED)
                    pb_warn("port %s went away; waiting for it", pb_link_name(s->link));
                break;
            }
            int64_t t = sim_clock_now_us();
            if (s->cap)
                pb_capture_chunk(s->cap, s->is_terminal ? PB_DIR_ECR : PB_DIR_PT, utc_now_us(), buf,
                                 (size_t)n);
            if (s->is_terminal)
                sim_terminal_input(s->term, buf, (size_t)n, t);
            else
                sim_register_input(s->reg, buf, (size_t)n, t);
        }
    }
    return 0;
}

/* ---- commands ------------------------------------------------------------------------- */

struct report_ctx {
    bool json;
    const char *protocol;
    unsigned mismatches, count;
};

static void on_outcome(const struct sim_outcome *o, void *ctx)
{
    struct report_ctx *rc = ctx;
    char line[512];
    rc->count++;
    /* The register never learns that a later void closed a sale as voided. */
    bool voided_ok = o->expect.cls == PB_CLASS_VOIDED && o->belief == PB_CLASS_OK;
    if (!o->skipped && o->expect.cls != PB_CLASS_NONE && o->expect.cls != o->belief && !voided_ok)
        rc->mismatches++;
    if (rc->json)
        sim_outcome_json(o, rc->protocol, line, sizeof line);
    else
        sim_outcome_format(o, line, sizeof line);
    printf("%s\n", line);
    fflush(stdout);
}

static int load_scenario(struct opts *o, struct sim_scenario **out)
{
    char err[512];
    struct sim_scenario *file = NULL;
    *out = NULL;
    if (o->scenario) {
        int r = sim_scenario_load(o->scenario, &file, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err);
            return r == PB_ERR_SYNTAX ? EX_DATAERR : EX_NOINPUT;
        }
        if (o->n_actions) {
            sim_scenario_free(file);
            fprintf(stderr, "possim: give transactions either in --scenario or as "
                            "--sale/--refund, not both\n");
            return EX_USAGE;
        }
        *out = file;
        return 0;
    }
    /* Settings first, then --fault lines, then the transactions: a scenario in text. */
    char head[256];
    int n = snprintf(head, sizeof head, "currency %s\n", o->currency ? o->currency : "EUR");
    size_t hl = (size_t)n;
    char *text = malloc(hl + o->text_len + 1);
    if (!text)
        return EX_OSERR;
    memcpy(text, head, hl);
    /* fault lines were stored first in o->text by main (see there) */
    if (o->text_len)
        memcpy(text + hl, o->text, o->text_len);
    text[hl + o->text_len] = '\0';
    int r = sim_scenario_parse("<command line>", text, hl + o->text_len, out, err, sizeof err);
    free(text);
    if (r < 0) {
        fprintf(stderr, "%s\n", err);
        return EX_USAGE;
    }
    return 0;
}

static int cmd(int argc, char **argv, bool terminal)
{
    struct opts o = {0};
    enum {
        O_SEED = 256,
        O_PACE,
        O_CURRENCY,
        O_THINK,
        O_ACK,
        O_SALE,
        O_REFUND,
        O_VOID,
        O_STATUS,
        O_LINGER,
        O_CHECK
    };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"protocol", required_argument, NULL, 'P'},
        {"scenario", required_argument, NULL, 's'},
        {"fault", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, O_SEED},
        {"pace", no_argument, NULL, O_PACE},
        {"line", required_argument, NULL, 'l'},
        {"currency", required_argument, NULL, O_CURRENCY},
        {"think", required_argument, NULL, O_THINK},
        {"ack-timeout", required_argument, NULL, O_ACK},
        {"timeout", required_argument, NULL, 't'},
        {"linger", required_argument, NULL, O_LINGER},
        {"sale", required_argument, NULL, O_SALE},
        {"refund", required_argument, NULL, O_REFUND},
        {"void", no_argument, NULL, O_VOID},
        {"status", no_argument, NULL, O_STATUS},
        {"json", no_argument, NULL, 'j'},
        {"record", required_argument, NULL, 'r'},
        {"capture", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, O_CHECK},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* Faults go before transactions in the built scenario text: collect separately. */
    char *faults = NULL;
    size_t faults_len = 0;
    int before, c, ret = EX_USAGE;
    optind = 1;
    opterr = 0;
    while ((before = optind,
            c = getopt_long(argc, argv, ":p:P:s:f:l:t:r:c:jvqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o.port = optarg;
            break;
        case 'P':
            o.protocol = optarg;
            break;
        case 's':
            o.scenario = optarg;
            break;
        case 'l':
            o.line = optarg;
            break;
        case 'f': {
            size_t need = strlen(optarg) + 8;
            char *n = realloc(faults, faults_len + need + 1);
            if (!n)
                goto out;
            faults = n;
            faults_len += (size_t)snprintf(faults + faults_len, need + 1, "fault %s\n", optarg);
            o.n_fault_args++;
            break;
        }
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "possim: --seed: '%s' is not a whole number\n", optarg);
                goto out;
            }
            o.has_seed = true;
            o.seed = v;
            break;
        }
        case O_PACE:
            o.pace = true;
            break;
        case O_CURRENCY:
            o.currency = optarg;
            break;
        case O_THINK:
            if (sim_cli_duration("--think", optarg, &o.think_ms, false) < 0)
                goto out;
            break;
        case O_ACK:
            if (sim_cli_duration("--ack-timeout", optarg, &o.ack_timeout_ms, true) < 0)
                goto out;
            break;
        case 't':
            if (sim_cli_duration("--timeout", optarg, &o.timeout_ms, true) < 0)
                goto out;
            break;
        case O_LINGER:
            if (sim_cli_duration("--linger", optarg, &o.linger_ms, true) < 0)
                goto out;
            break;
        case O_SALE:
        case O_REFUND:
        case O_VOID:
        case O_STATUS:
            if (terminal) {
                fprintf(stderr, "possim terminal: transactions come from the register; "
                                "--sale and the like belong to `possim register`\n");
                goto out;
            }
            if (append_text(&o,
                            c == O_SALE     ? "sale"
                            : c == O_REFUND ? "refund"
                            : c == O_VOID   ? "void"
                                            : "status",
                            (c == O_SALE || c == O_REFUND) ? optarg : "") < 0)
                goto out;
            o.n_actions++;
            break;
        case 'j':
            o.json = true;
            break;
        case 'r':
            o.record = optarg;
            break;
        case 'c':
            o.capture = optarg;
            break;
        case O_CHECK:
            o.check = true;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            (terminal ? usage_terminal : usage_register)(stdout);
            ret = 0;
            goto out;
        case 'V':
            printf("possim %s\n", PB_VERSION);
            ret = 0;
            goto out;
        default:
            pb_cli_bad_option(terminal ? "possim terminal" : "possim register", c, before, argv);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "possim: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (!o.port) {
        fprintf(stderr, "possim: --port is required (pty:PATH, a pty path or a device)\n");
        goto out;
    }
    if (!terminal && !o.scenario && o.n_actions == 0) {
        fprintf(stderr, "possim register: nothing to do: give --sale AMOUNT or --scenario "
                        "FILE\n");
        goto out;
    }
    pb_log_set_sink(PB_LOG_STDERR, terminal ? "possim terminal" : "possim register", NULL, NULL);
    pb_log_set_level(o.verbose ? PB_LOG_DEBUG : o.quiet ? PB_LOG_WARN : PB_LOG_INFO);

    /* The scenario: a file, or one built from --fault and --sale (faults first). */
    if (!o.scenario) {
        char *all = malloc(faults_len + o.text_len + 1);
        if (!all) {
            ret = EX_OSERR;
            goto out;
        }
        if (faults_len)
            memcpy(all, faults, faults_len);
        if (o.text_len)
            memcpy(all + faults_len, o.text, o.text_len);
        free(o.text);
        o.text = all;
        o.text_len += faults_len;
    }
    struct sim_scenario *sc = NULL, *cli_faults = NULL;
    ret = load_scenario(&o, &sc);
    if (ret)
        goto out;
    const struct sim_settings *st = sim_scenario_settings(sc);
    if (o.scenario && faults_len) {
        /* --fault on top of a scenario file: read in the file's currency, added to the
         * file's own fault lines for every transaction they fire on. */
        char head[32], err[512];
        int hn = snprintf(head, sizeof head, "currency %03u\n", (unsigned)st->currency);
        char *text = malloc((size_t)hn + faults_len + 1);
        if (!text) {
            ret = EX_OSERR;
            goto out_sc;
        }
        memcpy(text, head, (size_t)hn);
        memcpy(text + hn, faults, faults_len);
        int pr = sim_scenario_parse("<command line>", text, (size_t)hn + faults_len, &cli_faults,
                                    err, sizeof err);
        free(text);
        if (pr < 0) {
            fprintf(stderr, "%s\n", err);
            ret = EX_USAGE;
            goto out_sc;
        }
    }
    size_t n_cli_faults = 0;
    const struct sim_fault *cli_fault_list =
        cli_faults ? sim_scenario_faults(cli_faults, &n_cli_faults) : NULL;
    const char *pname = o.protocol ? o.protocol : st->protocol[0] ? st->protocol : NULL;
    if (!pname) {
        fprintf(stderr, "possim: --protocol is required (%s) unless the scenario names one\n",
                sim_protocol_names());
        ret = EX_USAGE;
        goto out_sc;
    }
    if (o.protocol && st->protocol[0] && strcmp(o.protocol, st->protocol) != 0)
        pb_warn("--protocol %s overrides the scenario's protocol %s", o.protocol, st->protocol);
    const struct pb_protocol *proto = pb_protocol_find(pname);
    if (!proto || !sim_protocol_played(pname)) {
        fprintf(stderr, "possim: %s protocol '%s': possim plays %s\n",
                proto ? "posbridge decodes but possim does not play" : "unknown", pname,
                sim_protocol_names());
        ret = EX_USAGE;
        goto out_sc;
    }
    struct pb_line line;
    const char *lerr = NULL;
    const char *ltext = o.line ? o.line : proto->default_line ? proto->default_line : "9600,8N1";
    if (pb_line_parse(ltext, &line, &lerr) != PB_OK) {
        fprintf(stderr, "possim: --line '%s': %s\n", ltext, lerr ? lerr : "bad line settings");
        ret = EX_USAGE;
        goto out_sc;
    }
    uint16_t currency = 0;
    if (o.currency) {
        const struct pb_currency *cur = pb_currency_by_alpha(o.currency);
        if (!cur) {
            fprintf(stderr, "possim: --currency: unknown currency '%s' (use EUR, USD, ...)\n",
                    o.currency);
            ret = EX_USAGE;
            goto out_sc;
        }
        currency = cur->numeric;
    }

    uint64_t seed = o.has_seed ? o.seed : st->has_seed ? st->seed : sim_rng_seed_auto();
    fprintf(stderr, "possim %s: seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n",
            terminal ? "terminal" : "register", seed, seed);
    struct sim_rng rng;
    sim_rng_seed(&rng, seed);

    struct side side = {.is_terminal = terminal, .scenario_path = o.scenario, .sc = &sc};
    if (o.capture &&
        (ret = sim_cli_capture("possim", o.capture, (uint16_t)proto->link_type, &side.cap)) != 0)
        goto out_sc;
    char why[PATH_MAX + 200];
    if (o.record &&
        pb_safefile_fopen(o.record, O_WRONLY | O_TRUNC, &side.rec, why, sizeof why) != PB_OK) {
        fprintf(stderr, "possim: --record: %s\n", why);
        ret = EX_CANTCREAT;
        goto out_sc;
    }
    char real[4096];
    if (!o.line && (line.data_bits != 8 || line.parity != 'N') && realpath(o.port, real) &&
        strncmp(real, "/dev/pts/", 9) == 0) {
        /* An existing pty: 7 bits and parity mean nothing there (docs/TESTING.md). */
        pb_debug("port %s is a pty: using 8N1 instead of %s", o.port, ltext);
        line.data_bits = 8;
        line.parity = 'N';
    }
    int lr = pb_link_open(o.port, &line, &side.link);
    if (lr == PB_ERR_IO && !o.line && (line.data_bits != 8 || line.parity != 'N')) {
        /* A pty refuses some 7-bit/parity settings (docs/TESTING.md: ptys are 8N1 anyway):
         * retry with 8N1 rather than fail on a setting the pty cannot honour. */
        struct pb_line l8 = line;
        l8.data_bits = 8;
        l8.parity = 'N';
        if (pb_link_open(o.port, &l8, &side.link) == PB_OK) {
            pb_warn("port %s refused %s; using 8N1", o.port, ltext);
            line = l8;
            lr = PB_OK;
        }
    }
    if (lr == PB_ERR_BUSY) {
        fprintf(stderr, "possim: port '%s' is in use by pid %ld\n", o.port,
                (long)pb_link_holder(o.port));
        ret = EX_TEMPFAIL;
        goto out_sc;
    }
    if (lr != PB_OK && lr != PB_ERR_AGAIN) {
        fprintf(stderr, "possim: cannot open port '%s': %s\n", o.port, pb_strerror(lr));
        ret = lr == PB_ERR_SYNTAX ? EX_USAGE : EX_UNAVAILABLE;
        goto out_sc;
    }
    if (lr == PB_ERR_AGAIN && !terminal) {
        /* A register with no terminal to talk to would only time out step after step. */
        fprintf(stderr, "possim register: port '%s' is not there (start the terminal first)\n",
                o.port);
        ret = EX_UNAVAILABLE;
        goto out_link;
    }
    if (lr == PB_ERR_AGAIN)
        pb_warn("port %s is not there yet; waiting for it", o.port);
    if (terminal)
        fprintf(stderr, "possim terminal: %s on %s\n", proto->name, pb_link_path(side.link));
    unsigned bits = 1 + line.data_bits + (line.parity != 'N') + line.stop_bits;

    sim_signals_install(true);

    struct report_ctx rc = {.json = o.json, .protocol = proto->name};
    if (terminal) {
        struct sim_terminal_config cfg = {
            .proto = proto,
            .scenario = sc,
            .faults = cli_fault_list,
            .n_faults = n_cli_faults,
            .currency = currency,
            .ack_timeout_ms = o.ack_timeout_ms,
            .think_ms = o.think_ms,
            .pace_baud = o.pace ? line.baud : 0,
            .pace_bits = bits,
        };
        int r = sim_terminal_new(&cfg, &rng, link_write, &side, &side.term);
        if (r < 0) {
            fprintf(stderr, "possim: %s\n", pb_strerror(r));
            ret = EX_SOFTWARE;
            goto out_link;
        }
        ret = run_loop(&side);
        const struct sim_terminal_stats *ts = sim_terminal_stats(side.term);
        char tot[PB_MONEY_FMT_MAX];
        pb_money_format(tot, sizeof tot, ts->total, currency ? currency : st->currency);
        fprintf(stderr,
                "possim terminal: %u transactions: %u approved, %u declined, %u aborted, "
                "%u unanswered, %u voided; batch total %s; NAKs sent %u received %u\n",
                ts->transactions, ts->approved, ts->declined, ts->aborted, ts->unanswered,
                ts->voided, tot, ts->naks_sent, ts->naks_received);
        sim_terminal_free(side.term);
    } else {
        struct sim_register_config cfg = {
            .proto = proto,
            .scenario = sc,
            .faults = cli_fault_list,
            .n_faults = n_cli_faults,
            .timeout_ms = o.timeout_ms,
            .ack_timeout_ms = o.ack_timeout_ms,
            .linger_ms = o.linger_ms,
            .pace_baud = o.pace ? line.baud : 0,
            .pace_bits = bits,
        };
        int r = sim_register_new(&cfg, &rng, link_write, &side, on_outcome, &rc, &side.reg);
        if (r < 0) {
            fprintf(stderr, "possim: %s\n", pb_strerror(r));
            ret = EX_SOFTWARE;
            goto out_link;
        }
        ret = run_loop(&side);
        sim_register_free(side.reg);
        if (ret == 0 && sim_stop_requested)
            ret = EX_TEMPFAIL;
        if (ret == 0 && o.check && rc.mismatches) {
            fprintf(stderr,
                    "possim register: %u of %u transactions differ from the "
                    "scenario's expectation\n",
                    rc.mismatches, rc.count);
            ret = 1;
        }
    }
out_link:
    pb_link_close(side.link);
    if (side.rec)
        fclose(side.rec);
    if (side.cap && pb_capture_close(side.cap) < 0 && !ret)
        ret = EX_IOERR;
out_sc:
    sim_scenario_free(sc);
    sim_scenario_free(cli_faults);
out:
    free(faults);
    free(o.text);
    return ret;
}

/* possim lint FILE...: parse each scenario, print a summary or the first error. */

int sim_cmd_terminal(int argc, char **argv)
{
    return cmd(argc, argv, true);
}

int sim_cmd_register(int argc, char **argv)
{
    return cmd(argc, argv, false);
}
