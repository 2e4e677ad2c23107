/* possim run: a complete virtual checkout lane per scenario.
 *
 *   possim register  --pty-->  posbridge run  --pty-->  possim terminal
 *
 * Each process is a child started with its PID saved and stopped by that PID. The
 * bridge keeps its journal, capture and events in the run directory; when the register
 * has played every step, the bridge is stopped (SIGTERM: it finishes and flushes) and
 * the journal is compared with the scenario's expectations, step by step. */
#include "lane_run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "grow.h"
#include "journal.h"
#include "money.h"
#include "pb_error.h"
#include "protocol.h"
#include "safefile.h"
#include "scenario.h"
#include "tracker.h"


struct run_opts {
    const char *posbridge;
    const char *possim;
    const char *run_dir;
    const char *junit;
    const char *protocol;
    bool tap;
    bool keep;
    bool quiet;
    bool follow;       /* print each transaction as the bridge closes it */
    uint32_t limit_ms; /* whole-scenario time limit; 0: from the scenario */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: possim run [OPTIONS] SCENARIO...\n"
            "\n"
            "Builds a virtual checkout lane for each scenario: possim's register, posbridge\n"
            "in the middle, possim's terminal, all on pseudo-terminals. Plays the scenario,\n"
            "then compares every expected class and amount with what posbridge recorded.\n"
            "Exits 0 when every expectation holds, 1 otherwise.\n"
            "\n"
            "options:\n"
            "  --protocol NAME    protocol when the scenario names none\n"
            "  --run-dir DIR      where run directories go (default: a new /tmp/possim-run-*)\n"
            "  --keep             keep run directories of passing scenarios too\n"
            "                     (failing ones are always kept)\n"
            "  --posbridge PATH   the posbridge binary (default $POSBRIDGE, else next to possim)\n"
            "  --tap              TAP output on stdout\n"
            "  --junit FILE       JUnit XML report\n"
            "  --time-limit S     stop a scenario after S seconds (default: from its timers)\n"
            "  --follow           print each transaction as the bridge closes it\n"
            "  -q, --quiet        only the summary\n"
            "  -h, --help         this text\n"
            "\n"
            "example:\n"
            "  possim run captures/scenarios/zvt-*.scn --junit results.xml\n");
}

/* ---- child processes ----------------------------------------------------------------- */

static pid_t spawn(char *const argv[], const char *log_path, const char *out_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* A --run-dir given again holds the last run's files: replaced, never followed. */
    int fd = pb_safefile_open(log_path, O_WRONLY | O_TRUNC, NULL, 0);
    if (fd >= 0)
        dup2(fd, STDERR_FILENO);
    int ofd = out_path ? pb_safefile_open(out_path, O_WRONLY | O_TRUNC, NULL, 0) : fd;
    if (ofd >= 0)
        dup2(ofd, STDOUT_FILENO);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0)
        dup2(nul, STDIN_FILENO);
    /* Our own SIGTERM handling must not leak into the children. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execv(argv[0], argv);
    fprintf(stderr, "possim run: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for pid up to ms; returns its wait status, or -1 if it is still running. */
static int wait_pid(pid_t pid, int ms)
{
    int64_t end = now_ms() + ms;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return 0;
        if (now_ms() >= end)
            return -1;
        usleep(5000);
    }
}

/* SIGTERM by saved PID, then SIGKILL if it does not go within ms. */
static int stop_pid(pid_t pid, int ms)
{
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    int st = wait_pid(pid, ms);
    if (st < 0) {
        kill(pid, SIGKILL);
        st = wait_pid(pid, 2000);
    }
    return st;
}

static int wait_path(const char *path, int ms, pid_t owner)
{
    int64_t end = now_ms() + ms;
    struct stat st;
    while (lstat(path, &st) != 0) {
        if (now_ms() >= end)
            return -1;
        if (owner > 0 && waitpid(owner, NULL, WNOHANG) == owner)
            return -1; /* it died before making the port */
        usleep(5000);
    }
    return 0;
}

static const char *self_exe(void)
{
    static char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static const char *find_posbridge(const char *given)
{
    static char buf[PATH_MAX];
    if (given)
        return given;
    const char *env = getenv("POSBRIDGE");
    if (env && env[0])
        return env;
    const char *self = self_exe();
    if (self) {
        snprintf(buf, sizeof buf, "%s", self);
        char *slash = strrchr(buf, '/');
        if (slash) {
            snprintf(slash + 1, sizeof buf - (size_t)(slash + 1 - buf), "posbridge");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "/usr/local/bin/posbridge";
}

/* ---- journal rows and expectations ---------------------------------------------------- */

struct row {
    uint64_t seq, related_seq;
    enum pb_class cls;
    bool has_charged;
    int64_t charged, requested;
    bool has_due;
    int64_t due;
    char detail[160];
};

struct rows {
    size_t n, cap;
    struct row *r;
};

static int collect(const struct pb_journal_row *jr, void *ctx)
{
    struct rows *rs = ctx;
    if (!pb_grow((void **)&rs->r, &rs->cap, rs->n, sizeof *rs->r))
        return PB_ERR_NOMEM;
    struct row *r = &rs->r[rs->n++];
    r->seq = jr->txn_seq;
    r->related_seq = jr->related_seq;
    r->cls = jr->cls;
    r->has_charged = jr->has_charged;
    r->charged = jr->charged;
    r->requested = jr->requested;
    r->has_due = jr->has_amount_due;
    r->due = jr->amount_due;
    snprintf(r->detail, sizeof r->detail, "%s", jr->detail);
    return 0;
}

struct verdict {
    bool ok;
    enum pb_class got;
    bool has_charged;
    int64_t charged;
    char why[200];
};

/* Rows map to steps in order, except the extra rows the tracker makes on its own (a
 * duplicate charge, an unsolicited answer), which belong to the step they follow. */
static void judge(const struct sim_scenario *sc, const struct rows *rs, struct verdict *v)
{
    size_t nsteps = sim_scenario_count(sc);
    size_t ri = 0;
    for (size_t i = 0; i < nsteps; i++) {
        const struct sim_step *st = sim_scenario_step(sc, i);
        struct verdict *out = &v[i];
        memset(out, 0, sizeof *out);
        if (ri >= rs->n) {
            out->got = PB_CLASS_NONE;
            snprintf(out->why, sizeof out->why, "no transaction recorded");
            out->ok = st->expect.cls == PB_CLASS_NONE;
            continue;
        }
        const struct row *own = &rs->r[ri++];
        out->got = own->cls;
        out->has_charged = own->has_charged;
        out->charged = own->charged;
        /* A duplicate charge is a row of its own, made without a register request; it
         * belongs to the step whose approval it repeats. */
        while (ri < rs->n && rs->r[ri].cls == PB_CLASS_DUPLICATE &&
               rs->r[ri].related_seq == own->seq) {
            out->got = PB_CLASS_DUPLICATE;
            ri++;
        }
        const struct sim_expect *e = &st->expect;
        if (e->cls == PB_CLASS_NONE) {
            out->ok = true;
            continue;
        }
        if (out->got != e->cls) {
            snprintf(out->why, sizeof out->why, "expected %s, recorded %s (%s)",
                     pb_class_name(e->cls), pb_class_name(out->got), own->detail);
            continue;
        }
        if (e->has_charged && (!own->has_charged || own->charged != e->charged)) {
            snprintf(out->why, sizeof out->why, "expected charged %" PRId64 ", recorded %" PRId64,
                     e->charged, own->has_charged ? own->charged : 0);
            continue;
        }
        if (e->has_due && (!own->has_due || own->due != e->due)) {
            snprintf(out->why, sizeof out->why, "expected amount due %" PRId64 ", recorded %" PRId64,
                     e->due, own->has_due ? own->due : 0);
            continue;
        }
        out->ok = true;
    }
    /* Rows nobody expected are a failure of the last step. */
    if (ri < rs->n && nsteps > 0 && v[nsteps - 1].ok) {
        v[nsteps - 1].ok = false;
        snprintf(v[nsteps - 1].why, sizeof v[nsteps - 1].why,
                 "%zu unexpected extra transaction(s), first: %s", rs->n - ri,
                 pb_class_name(rs->r[ri].cls));
    }
}


/* Prints the transactions the bridge has closed since the last call (its --events
 * file, one JSON object per line), for people watching a lane run. */
static void follow_events(const char *path, long *pos)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fseek(f, *pos, SEEK_SET) != 0) {
        fclose(f);
        return;
    }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            break; /* a line still being written: read it next time */
        *pos += (long)len;
        json_t *o = json_loads(line, 0, NULL);
        if (!o)
            continue;
        const char *cls = json_string_value(json_object_get(o, "class"));
        const char *type = json_string_value(json_object_get(o, "type"));
        json_t *req = json_object_get(o, "requested_amount");
        json_t *chg = json_object_get(o, "charged_amount");
        json_t *ccy = json_object_get(o, "currency");
        json_t *rccy = json_object_get(o, "requested_currency");
        uint16_t c = ccy ? (uint16_t)json_integer_value(ccy) : 0;
        uint16_t rc = rccy ? (uint16_t)json_integer_value(rccy) : c; /* currency_mismatch */
        char rq[PB_MONEY_FMT_MAX] = "-", ch[PB_MONEY_FMT_MAX] = "-";
        if (req)
            pb_money_format(rq, sizeof rq, json_integer_value(req), rc);
        if (chg)
            pb_money_format(ch, sizeof ch, json_integer_value(chg), c);
        bool disc = json_is_true(json_object_get(o, "discrepancy"));
        printf("  txn %-3" JSON_INTEGER_FORMAT " %-9s requested %-12s charged %-12s %s%s\n",
               json_integer_value(json_object_get(o, "id")), type ? type : "?", rq, ch,
               disc ? "** " : "", cls ? cls : "?");
        fflush(stdout);
        json_decref(o);
    }
    fclose(f);
}

/* ---- one scenario ------------------------------------------------------------------- */

struct result {
    const char *path;
    size_t steps, passed;
    double seconds;
    char run_dir[PATH_MAX];
    struct verdict *v;
    struct sim_scenario *sc;
    char error[2 * PATH_MAX]; /* a failure to run at all */
};

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n')
                fputc(*s, f);
        }
    }
}

static int run_one(const struct run_opts *o, const char *base, unsigned k, struct result *res)
{
    char err[512];
    int rc = sim_scenario_load(res->path, &res->sc, err, sizeof err);
    if (rc != PB_OK) {
        snprintf(res->error, sizeof res->error, "%s", err);
        return rc == PB_ERR_NOTFOUND || rc == PB_ERR_IO ? EX_NOINPUT : EX_DATAERR;
    }
    const struct sim_settings *set = sim_scenario_settings(res->sc);
    const char *proto = set->protocol[0] ? set->protocol : o->protocol;
    if (!proto || !pb_protocol_find(proto)) {
        snprintf(res->error, sizeof res->error,
                 "%s: no protocol (say `protocol NAME` in the file or --protocol; valid: %s)",
                 res->path, pb_protocol_names());
        return EX_DATAERR;
    }
    res->steps = sim_scenario_count(res->sc);
    res->v = calloc(res->steps ? res->steps : 1, sizeof *res->v);
    if (!res->v)
        return EX_OSERR;

    const char *name = strrchr(res->path, '/');
    name = name ? name + 1 : res->path;
    if (snprintf(res->run_dir, sizeof res->run_dir, "%s/%02u-%s", base, k, name) >=
        (int)sizeof res->run_dir) {
        snprintf(res->error, sizeof res->error, "run directory path too long");
        return EX_CANTCREAT;
    }
    if (mkdir(res->run_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(res->error, sizeof res->error, "cannot create %s: %s", res->run_dir,
                 strerror(errno));
        return EX_CANTCREAT;
    }
    char pt[PATH_MAX + 8], ecr[PATH_MAX + 8], journal[PATH_MAX + 16], capture[PATH_MAX + 16],
        events[PATH_MAX + 16], log_t[PATH_MAX + 16], log_b[PATH_MAX + 16], log_r[PATH_MAX + 16],
        out_r[PATH_MAX + 16], pty_pt[PATH_MAX + 16], pty_ecr[PATH_MAX + 16];
    snprintf(pt, sizeof pt, "%s/pt", res->run_dir);
    snprintf(ecr, sizeof ecr, "%s/ecr", res->run_dir);
    snprintf(pty_pt, sizeof pty_pt, "pty:%s", pt);
    snprintf(pty_ecr, sizeof pty_ecr, "pty:%s", ecr);
    snprintf(journal, sizeof journal, "%s/journal.db", res->run_dir);
    snprintf(capture, sizeof capture, "%s/lane.pcapng", res->run_dir);
    snprintf(events, sizeof events, "%s/events.jsonl", res->run_dir);
    snprintf(log_t, sizeof log_t, "%s/terminal.log", res->run_dir);
    snprintf(log_b, sizeof log_b, "%s/posbridge.log", res->run_dir);
    snprintf(log_r, sizeof log_r, "%s/register.log", res->run_dir);
    snprintf(out_r, sizeof out_r, "%s/register.out", res->run_dir);
    unlink(journal);

    /* The bridge judges with the register's own give-up time, so what the register
     * abandons is in doubt (or late) in the journal too. */
    char timeout[24], response[24];
    struct pb_tracker_config tc;
    sim_settings_tracker(set, &tc);
    snprintf(timeout, sizeof timeout, "%" PRIu32, tc.register_timeout_ms);
    snprintf(response, sizeof response, "%" PRIu32, tc.response_timeout_ms);

    char *targv[] = {(char *)o->possim, "terminal", "--port", pty_pt, "--protocol", (char *)proto,
                     "--scenario", (char *)res->path, NULL};
    char *bargv[] = {(char *)o->posbridge, "run", "--protocol", (char *)proto, "--register",
                     pty_ecr, "--terminal", pt, "--journal", journal, "--capture", capture,
                     "--events", events, "--response-timeout", response, "--register-timeout",
                     timeout, "--shutdown-wait", "1",
                     tc.undercharge_is_partial ? "--undercharge-is-partial" : NULL, NULL};
    char *rargv[] = {(char *)o->possim, "register", "--port", ecr, "--protocol", (char *)proto,
                     "--scenario", (char *)res->path, NULL};

    int64_t t0 = now_ms();
    pid_t term = -1, bridge = -1, reg = -1;
    long events_pos = 0;
    term = spawn(targv, log_t, NULL);
    if (term < 0 || wait_path(pt, 5000, term) < 0) {
        snprintf(res->error, sizeof res->error, "possim terminal did not start (see %s)", log_t);
        rc = EX_SOFTWARE;
        goto stop;
    }
    bridge = spawn(bargv, log_b, NULL);
    if (bridge < 0 || wait_path(ecr, 5000, bridge) < 0) {
        snprintf(res->error, sizeof res->error, "posbridge did not start (see %s)", log_b);
        rc = EX_SOFTWARE;
        goto stop;
    }
    reg = spawn(rargv, log_r, out_r);
    /* Every step may use its whole timeout, plus pauses and slack. */
    int64_t limit = o->limit_ms;
    if (!limit) {
        limit = 10000;
        for (size_t i = 0; i < res->steps; i++) {
            const struct sim_step *st = sim_scenario_step(res->sc, i);
            limit += (st->timeout_ms ? st->timeout_ms : tc.register_timeout_ms) + st->pause_ms + 2000;
        }
    }
    int st = -1;
    for (int64_t end = now_ms() + limit; reg > 0;) {
        st = wait_pid(reg, 100);
        if (o->follow)
            follow_events(events, &events_pos);
        if (st >= 0 || now_ms() >= end)
            break;
    }
    if (st < 0) {
        snprintf(res->error, sizeof res->error,
                 "the register did not finish within %" PRId64 " s (see %s)", limit / 1000, log_r);
        rc = EX_SOFTWARE;
        stop_pid(reg, 1000);
        reg = -1;
        goto stop;
    }
    reg = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) {
        snprintf(res->error, sizeof res->error, "possim register failed (status %d, see %s)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), log_r);
        rc = EX_SOFTWARE;
        goto stop;
    }
    usleep(200000); /* late bytes in flight reach the bridge */
stop:
    stop_pid(reg, 1000);
    int bst = stop_pid(bridge, 5000);
    stop_pid(term, 2000);
    if (o->follow && rc == 0)
        follow_events(events, &events_pos);
    res->seconds = (double)(now_ms() - t0) / 1000.0;
    if (rc != 0)
        return rc;
    if (bst < 0 || !WIFEXITED(bst) || WEXITSTATUS(bst) != 0) {
        snprintf(res->error, sizeof res->error, "posbridge exited badly (see %s)", log_b);
        return EX_SOFTWARE;
    }
    struct rows rows = {0};
    int r = pb_journal_foreach_path(journal, NULL, collect, &rows);
    if (r < 0) {
        snprintf(res->error, sizeof res->error, "cannot read the journal %s: %s", journal,
                 pb_strerror(r));
        free(rows.r);
        return EX_SOFTWARE;
    }
    judge(res->sc, &rows, res->v);
    free(rows.r);
    for (size_t i = 0; i < res->steps; i++)
        res->passed += res->v[i].ok;
    return 0;
}

static void print_table(const struct result *res)
{
    printf("%s (%zu steps, %.1f s)\n", res->path, res->steps, res->seconds);
    printf("  %-4s %-5s %-10s %12s %-18s %-18s %12s  %s\n", "step", "line", "action", "amount",
           "expected", "recorded", "charged", "");
    for (size_t i = 0; i < res->steps; i++) {
        const struct sim_step *st = sim_scenario_step(res->sc, i);
        const struct verdict *v = &res->v[i];
        char amount[PB_MONEY_FMT_MAX] = "-", charged[PB_MONEY_FMT_MAX] = "-";
        if (st->has_amount)
            pb_money_format(amount, sizeof amount, st->amount, PB_CURRENCY_NONE);
        if (v->has_charged)
            pb_money_format(charged, sizeof charged, v->charged, PB_CURRENCY_NONE);
        printf("  %-4u %-5u %-10s %12s %-18s %-18s %12s  %s%s\n", st->index, st->line,
               sim_action_name(st->action), amount,
               st->expect.cls ? pb_class_name(st->expect.cls) : "(any)", pb_class_name(v->got),
               charged, v->ok ? "PASS" : "FAIL ", v->ok ? "" : v->why);
    }
}

int sim_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"posbridge", required_argument, NULL, 'b'},
        {"run-dir", required_argument, NULL, 'd'},
        {"junit", required_argument, NULL, 'j'},
        {"protocol", required_argument, NULL, 'p'},
        {"tap", no_argument, NULL, 't'},
        {"keep", no_argument, NULL, 'k'},
        {"time-limit", required_argument, NULL, 'l'},
        {"quiet", no_argument, NULL, 'q'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_opts o = {0};
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.posbridge = optarg; break;
        case 'd': o.run_dir = optarg; break;
        case 'j': o.junit = optarg; break;
        case 'p': o.protocol = optarg; break;
        case 't': o.tap = true; break;
        case 'k': o.keep = true; break;
        case 'q': o.quiet = true; break;
        case 'f': o.follow = true; break;
        case 'l': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s <= 0 || s > 86400) {
                fprintf(stderr, "possim run: --time-limit: '%s' is not 1..86400 seconds\n",
                        optarg);
                return EX_USAGE;
            }
            o.limit_ms = (uint32_t)s * 1000;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option("possim run", c, before, argv);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "possim run: no scenario given\n");
        usage(stderr);
        return EX_USAGE;
    }
    if (o.protocol && !pb_protocol_find(o.protocol)) {
        fprintf(stderr, "possim run: unknown protocol '%s' (valid: %s)\n", o.protocol,
                pb_protocol_names());
        return EX_USAGE;
    }
    o.possim = self_exe();
    o.posbridge = find_posbridge(o.posbridge);
    if (!o.possim || access(o.posbridge, X_OK) != 0) {
        fprintf(stderr, "possim run: cannot find posbridge at %s (use --posbridge)\n",
                o.posbridge);
        return EX_UNAVAILABLE;
    }
    char base[PATH_MAX];
    if (o.run_dir) {
        snprintf(base, sizeof base, "%s", o.run_dir);
        if (mkdir(base, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "possim run: cannot create %s: %s\n", base, strerror(errno));
            return EX_CANTCREAT;
        }
    } else {
        snprintf(base, sizeof base, "/tmp/possim-run-XXXXXX");
        if (!mkdtemp(base)) {
            fprintf(stderr, "possim run: cannot create a run directory: %s\n", strerror(errno));
            return EX_CANTCREAT;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    size_t n = (size_t)(argc - optind);
    struct result *res = calloc(n, sizeof *res);
    if (!res)
        return EX_OSERR;
    size_t total_steps = 0, total_pass = 0, broken = 0;
    int input_rc = 0;
    int64_t t0 = now_ms();
    if (o.tap)
        printf("TAP version 13\n");
    unsigned tap_no = 0;
    for (size_t i = 0; i < n; i++) {
        res[i].path = argv[optind + (int)i];
        int rc = run_one(&o, base, (unsigned)i + 1, &res[i]);
        bool pass = rc == 0 && res[i].passed == res[i].steps;
        if (rc != 0)
            broken++;
        /* A scenario that cannot be read or parsed is bad input, not a failed lane. */
        if ((rc == EX_NOINPUT || rc == EX_DATAERR) && !input_rc)
            input_rc = rc;
        total_steps += res[i].steps;
        total_pass += res[i].passed;
        if (o.tap) {
            if (rc != 0) {
                printf("not ok %u - %s # %s\n", ++tap_no, res[i].path, res[i].error);
            } else {
                for (size_t s = 0; s < res[i].steps; s++) {
                    const struct sim_step *st = sim_scenario_step(res[i].sc, s);
                    printf("%s %u - %s:%u %s expect %s%s%s\n", res[i].v[s].ok ? "ok" : "not ok",
                           ++tap_no, res[i].path, st->line, sim_action_name(st->action),
                           st->expect.cls ? pb_class_name(st->expect.cls) : "(any)",
                           res[i].v[s].ok ? "" : " # ", res[i].v[s].why);
                }
            }
        } else if (rc != 0) {
            fprintf(stderr, "possim run: %s\n", res[i].error);
        } else if (!o.quiet || !pass) {
            print_table(&res[i]);
        }
        if (!pass && res[i].run_dir[0])
            fprintf(stderr, "possim run: %s FAILED; run directory kept: %s\n", res[i].path,
                    res[i].run_dir);
        else if (!pass)
            fprintf(stderr, "possim run: %s FAILED\n", res[i].path);
        else if (!o.keep && res[i].run_dir[0]) {
            char cmd[PATH_MAX + 16];
            snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", res[i].run_dir);
            if (system(cmd) != 0)
                fprintf(stderr, "possim run: could not remove %s\n", res[i].run_dir);
        }
    }
    if (o.tap)
        printf("1..%u\n", tap_no);
    double secs = (double)(now_ms() - t0) / 1000.0;
    FILE *f = NULL;
    char why[PATH_MAX + 200];
    if (o.junit) {
        if (pb_safefile_fopen(o.junit, O_WRONLY | O_TRUNC, &f, why, sizeof why) != PB_OK) {
            fprintf(stderr, "possim run: --junit: %s\n", why);
        } else {
            fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
            for (size_t i = 0; i < n; i++) {
                size_t fails = res[i].steps - res[i].passed;
                fprintf(f, "  <testsuite name=\"");
                xml_escape(f, res[i].path);
                fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n",
                        res[i].steps ? res[i].steps : 1, fails, res[i].error[0] ? 1 : 0,
                        res[i].seconds);
                if (res[i].error[0]) {
                    fprintf(f, "    <testcase name=\"run\"><error message=\"");
                    xml_escape(f, res[i].error);
                    fprintf(f, "\"/></testcase>\n");
                }
                for (size_t s = 0; s < res[i].steps && !res[i].error[0]; s++) {
                    const struct sim_step *st = sim_scenario_step(res[i].sc, s);
                    fprintf(f, "    <testcase name=\"line %u: %s expect %s\">", st->line,
                            sim_action_name(st->action),
                            st->expect.cls ? pb_class_name(st->expect.cls) : "any");
                    if (!res[i].v[s].ok) {
                        fprintf(f, "<failure message=\"");
                        xml_escape(f, res[i].v[s].why);
                        fprintf(f, "\"/>");
                    }
                    fprintf(f, "</testcase>\n");
                }
                fprintf(f, "  </testsuite>\n");
            }
            fprintf(f, "</testsuites>\n");
            fclose(f);
        }
    }
    printf("possim run: %zu scenario(s), %zu step(s) in %.1f s\n", n, total_steps, secs);
    printf("%zu passed, %zu failed\n", total_pass, total_steps - total_pass + broken);
    if (!o.run_dir && ((total_pass == total_steps && broken == 0 && !o.keep) || input_rc))
        rmdir(base); /* only when empty: a failed lane's directory stays */
    for (size_t i = 0; i < n; i++) {
        free(res[i].v);
        sim_scenario_free(res[i].sc);
    }
    free(res);
    if (input_rc)
        return input_rc;
    return total_pass == total_steps && broken == 0 ? 0 : 1;
}
