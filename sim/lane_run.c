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
#include <pthread.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
#include "judge.h"
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
    unsigned jobs;     /* lanes at once (-j); 1: one after another */
    bool tcp;          /* --link tcp: the lane's two links on loopback TCP, not ptys */
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
            "  --follow           print each transaction as the bridge closes it (-j 1)\n"
            "  --link pty|tcp     the lane's links: pseudo-terminals (default), or loopback\n"
            "                     TCP (the terminal listens, posbridge connects to it and\n"
            "                     listens for the register, as a LAN terminal's lane)\n"
            "  -j, --jobs N       run N lanes at once (1..16, default 1); results are\n"
            "                     printed in the order given once all are done\n"
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

/* A free loopback TCP port below Linux's ephemeral range (32768 and up): a port the
 * kernel hands out for outgoing connections, as bind(0) does, can be taken by another
 * lane's connection before our listener binds it. Tried, then released; lanes run in
 * parallel draw from one counter. */
static int free_port(void)
{
    static unsigned next;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    for (int tries = 0; tries < 200; tries++) {
        pthread_mutex_lock(&mu);
        if (!next)
            next = 20000 + (unsigned)(getpid() * 7919u + (unsigned)time(NULL)) % 12000u;
        int port = (int)(20000 + (next++ - 20000) % 12000);
        pthread_mutex_unlock(&mu);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            return -1;
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                .sin_port = htons((uint16_t)port)};
        int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return port;
    }
    return -1;
}

/* Waits until something listens on 127.0.0.1:port (/proc/net/tcp, state 0A), without
 * connecting: a test connection would be a register to the listener. */
static int wait_listen(int port, int ms, pid_t owner)
{
    char want[32];
    snprintf(want, sizeof want, "0100007F:%04X", (unsigned)port);
    for (int64_t end = now_ms() + ms; now_ms() < end;) {
        FILE *f = fopen("/proc/net/tcp", "r");
        char line[256];
        bool found = false;
        while (f && !found && fgets(line, sizeof line, f)) {
            char local[64], remote[64], st[8];
            if (sscanf(line, " %*d: %63s %63s %7s", local, remote, st) == 3 &&
                strcmp(local, want) == 0 && strcmp(st, "0A") == 0)
                found = true;
        }
        if (f)
            fclose(f);
        if (found)
            return 0;
        if (owner > 0 && waitpid(owner, NULL, WNOHANG) == owner)
            return -1;
        usleep(5000);
    }
    return -1;
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

struct rows {
    size_t n, cap;
    struct sim_row *r;
};

/* A journal row as the judge reads it (sim/judge.h), the same fields play reads live. */
static int collect(const struct pb_journal_row *jr, void *ctx)
{
    struct rows *rs = ctx;
    if (!pb_grow((void **)&rs->r, &rs->cap, rs->n, sizeof *rs->r))
        return PB_ERR_NOMEM;
    struct sim_row *r = &rs->r[rs->n++];
    *r = (struct sim_row){
        .seq = jr->txn_seq,
        .related_seq = jr->related_seq,
        .type = jr->type,
        .on_request = jr->n_evidence > 0 && jr->evidence[0].kind == PB_KIND_REQUEST,
        .has_requested = jr->has_requested,
        .requested = jr->requested,
        .cls = jr->cls,
        .has_charged = jr->has_charged,
        .charged = jr->charged,
        .has_due = jr->has_amount_due,
        .due = jr->amount_due,
        .duration_us = jr->started_utc_us && jr->ended_utc_us
                           ? jr->ended_utc_us - jr->started_utc_us
                           : -1,
    };
    snprintf(r->detail, sizeof r->detail, "%s", jr->detail);
    return 0;
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
    struct sim_verdict *v;
    int rc;
    bool removed; /* its run directory was removed (passed, no --keep) */
    const struct pb_protocol *proto;
    struct sim_scenario *sc;
    size_t strays;
    char stray[512];
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
    res->proto = pb_protocol_find(proto);
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
    int port_pt = -1, port_ecr = -1;
    if (o->tcp) {
        /* The same lane on loopback TCP: the terminal listens, the bridge connects to it
         * and listens for the register, which connects to the bridge. */
        port_pt = free_port();
        port_ecr = free_port();
        if (port_pt < 0 || port_ecr < 0 || port_pt == port_ecr) {
            snprintf(res->error, sizeof res->error, "no free loopback TCP port");
            return EX_OSERR;
        }
        snprintf(pty_pt, sizeof pty_pt, "tcp-listen:127.0.0.1:%d", port_pt);
        snprintf(pt, sizeof pt, "tcp:127.0.0.1:%d", port_pt);
        snprintf(pty_ecr, sizeof pty_ecr, "tcp-listen:127.0.0.1:%d", port_ecr);
        snprintf(ecr, sizeof ecr, "tcp:127.0.0.1:%d", port_ecr);
    }
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
    if (term < 0 || (o->tcp ? wait_listen(port_pt, 5000, term) : wait_path(pt, 5000, term)) < 0) {
        snprintf(res->error, sizeof res->error, "possim terminal did not start (see %s)", log_t);
        rc = EX_SOFTWARE;
        goto stop;
    }
    bridge = spawn(bargv, log_b, NULL);
    if (bridge < 0 ||
        (o->tcp ? wait_listen(port_ecr, 5000, bridge) : wait_path(ecr, 5000, bridge)) < 0) {
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
    res->strays = sim_judge(res->proto, res->sc, rows.r, rows.n, res->v, res->stray,
                            sizeof res->stray);
    free(rows.r);
    for (size_t i = 0; i < res->steps; i++)
        res->passed += res->v[i].ok;
    return 0;
}

static void print_table(const struct result *res)
{
    printf("%s (%zu steps, %.1f s)\n", res->path, res->steps, res->seconds);
    printf("  %-4s %-5s %-16s %12s %-18s %-18s %12s  %s\n", "step", "line", "action", "amount",
           "expected", "recorded", "charged", "");
    for (size_t i = 0; i < res->steps; i++) {
        const struct sim_step *st = sim_scenario_step(res->sc, i);
        const struct sim_verdict *v = &res->v[i];
        char amount[PB_MONEY_FMT_MAX] = "-", charged[PB_MONEY_FMT_MAX] = "-", got[48];
        if (st->has_amount)
            pb_money_format(amount, sizeof amount, st->amount, PB_CURRENCY_NONE);
        if (v->has_charged)
            pb_money_format(charged, sizeof charged, v->charged, PB_CURRENCY_NONE);
        if (!v->on_wire)
            snprintf(got, sizeof got, "(not played)");
        else if (!v->has_row)
            snprintf(got, sizeof got, "(none)");
        else if (v->related_cls != PB_CLASS_NONE)
            snprintf(got, sizeof got, "%s+%s", pb_class_name(v->cls), pb_class_name(v->related_cls));
        else
            snprintf(got, sizeof got, "%s", pb_class_name(v->cls));
        printf("  %-4u %-5u %-16s %12s %-18s %-18s %12s  %s%s\n", st->index, st->line,
               sim_action_name(st->action), amount,
               st->expect.cls ? pb_class_name(st->expect.cls) : "(any)", got, charged,
               v->ok ? "PASS" : "FAIL ", v->ok ? "" : v->why);
    }
    if (res->strays)
        printf("  FAIL %s\n", res->stray);
}

/* ---- running many, reporting --------------------------------------------------------- */

#define RUN_JOBS_MAX 16

struct tally {
    size_t steps, pass, broken;
    unsigned tap_no;
    int input_rc;
};

struct pool {
    const struct run_opts *o;
    const char *base;
    struct result *res;
    size_t n, next;
    pthread_mutex_t mu;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        p->res[i].rc = run_one(p->o, p->base, (unsigned)i + 1, &p->res[i]);
    }
}

/* A scenario passes when the lane ran, every step's expectation holds and no transaction
 * is left unclaimed (a stray counts as one more failed case). */
static bool passed(const struct result *r)
{
    return r->rc == 0 && r->passed == r->steps && r->strays == 0;
}

static void report_one(const struct run_opts *o, struct result *r, struct tally *t)
{
    bool pass = passed(r);
    if (r->rc != 0)
        t->broken++;
    /* A scenario that cannot be read or parsed is bad input, not a failed lane. */
    if ((r->rc == EX_NOINPUT || r->rc == EX_DATAERR) && !t->input_rc)
        t->input_rc = r->rc;
    t->steps += r->steps + (r->strays ? 1 : 0);
    t->pass += r->passed;
    if (o->tap) {
        if (r->rc != 0) {
            printf("not ok %u - %s # %s\n", ++t->tap_no, r->path, r->error);
        } else {
            for (size_t s = 0; s < r->steps; s++) {
                const struct sim_step *st = sim_scenario_step(r->sc, s);
                printf("%s %u - %s:%u %s expect %s%s%s\n", r->v[s].ok ? "ok" : "not ok",
                       ++t->tap_no, r->path, st->line, sim_action_name(st->action),
                       st->expect.cls ? pb_class_name(st->expect.cls) : "(any)",
                       r->v[s].ok ? "" : " # ", r->v[s].why);
            }
            if (r->strays)
                printf("not ok %u - %s unexpected transactions # %s\n", ++t->tap_no, r->path,
                       r->stray);
        }
    } else if (r->rc != 0) {
        fprintf(stderr, "possim run: %s\n", r->error);
    } else if (!o->quiet || !pass) {
        print_table(r);
    }
    if (!pass && r->run_dir[0])
        fprintf(stderr, "possim run: %s FAILED; run directory kept: %s\n", r->path, r->run_dir);
    else if (!pass)
        fprintf(stderr, "possim run: %s FAILED\n", r->path);
    else if (!o->keep && r->run_dir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", r->run_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "possim run: could not remove %s\n", r->run_dir);
        else
            r->removed = true;
    }
}

/* JUnit XML as Jenkins and GitLab read it: one testsuite per scenario, one testcase per
 * step with classname PROTOCOL.SCENARIO, the step's own time (its transaction's, as the
 * bridge journalled it), failures with the reason in the currency's units, and the run
 * directory in system-out so a failed case points at its evidence. */
static void write_junit(const struct run_opts *o, const struct result *res, size_t n)
{
    FILE *f = NULL;
    char why[PATH_MAX + 200];
    if (pb_safefile_fopen(o->junit, O_WRONLY | O_TRUNC, &f, why, sizeof why) != PB_OK) {
        fprintf(stderr, "possim run: --junit: %s\n", why);
        return;
    }
    size_t all_tests = 0, all_fail = 0, all_err = 0;
    double all_time = 0;
    for (size_t i = 0; i < n; i++) {
        all_tests += res[i].error[0] ? 1 : res[i].steps + (res[i].strays ? 1 : 0);
        all_fail += res[i].steps - res[i].passed + (res[i].strays ? 1 : 0);
        all_err += res[i].error[0] ? 1 : 0;
        all_time += res[i].seconds;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"possim run\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "time=\"%.3f\">\n",
            all_tests, all_fail, all_err, all_time);
    for (size_t i = 0; i < n; i++) {
        const struct result *r = &res[i];
        const char *name = strrchr(r->path, '/');
        name = name ? name + 1 : r->path;
        char cls[256];
        snprintf(cls, sizeof cls, "%s.%.*s", r->proto ? r->proto->name : "unknown",
                 (int)(strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".scn") == 0
                           ? strlen(name) - 4
                           : strlen(name)),
                 name);
        size_t fails = r->error[0] ? 0 : r->steps - r->passed + (r->strays ? 1 : 0);
        size_t tests = r->error[0] ? 1 : r->steps + (r->strays ? 1 : 0);
        fprintf(f, "  <testsuite name=\"");
        xml_escape(f, cls);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n", tests,
                fails, r->error[0] ? 1 : 0, r->seconds);
        if (r->error[0]) {
            fprintf(f, "    <testcase classname=\"");
            xml_escape(f, cls);
            fprintf(f, "\" name=\"run\" time=\"%.3f\"><error message=\"", r->seconds);
            xml_escape(f, r->error);
            fprintf(f, "\"/></testcase>\n");
        }
        for (size_t s = 0; s < r->steps && !r->error[0]; s++) {
            const struct sim_step *st = sim_scenario_step(r->sc, s);
            fprintf(f, "    <testcase classname=\"");
            xml_escape(f, cls);
            fprintf(f, "\" name=\"%u line %u: %s expect %s\" time=\"%.3f\">", st->index,
                    st->line, sim_action_name(st->action),
                    st->expect.cls ? pb_class_name(st->expect.cls) : "any",
                    (double)r->v[s].duration_us / 1e6);
            if (!r->v[s].ok) {
                fprintf(f, "<failure message=\"");
                xml_escape(f, r->v[s].why);
                fprintf(f, "\" type=\"expectation\"/>");
            }
            fprintf(f, "</testcase>\n");
        }
        if (r->strays && !r->error[0]) {
            fprintf(f, "    <testcase classname=\"");
            xml_escape(f, cls);
            fprintf(f, "\" name=\"no unexpected transactions\" time=\"0\"><failure message=\"");
            xml_escape(f, r->stray);
            fprintf(f, "\" type=\"stray\"/></testcase>\n");
        }
        if (r->run_dir[0]) {
            fprintf(f, "    <system-out>run directory: ");
            xml_escape(f, r->run_dir);
            fprintf(f, "%s</system-out>\n", r->removed ? " (removed: the scenario passed)" : "");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    if (fclose(f) != 0)
        fprintf(stderr, "possim run: cannot write %s: %s\n", o->junit, strerror(errno));
}

int sim_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"posbridge", required_argument, NULL, 'b'},
        {"run-dir", required_argument, NULL, 'd'},
        {"junit", required_argument, NULL, 'U'},
        {"protocol", required_argument, NULL, 'p'},
        {"tap", no_argument, NULL, 't'},
        {"keep", no_argument, NULL, 'k'},
        {"time-limit", required_argument, NULL, 'l'},
        {"quiet", no_argument, NULL, 'q'},
        {"follow", no_argument, NULL, 'f'},
        {"jobs", required_argument, NULL, 'j'},
        {"link", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_opts o = {.jobs = 1};
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":qhj:", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.posbridge = optarg; break;
        case 'd': o.run_dir = optarg; break;
        case 'U': o.junit = optarg; break;
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
        case 'j': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (*end || j < 1 || j > RUN_JOBS_MAX) {
                fprintf(stderr, "possim run: -j: '%s' is not 1..%d lanes at once\n", optarg,
                        RUN_JOBS_MAX);
                return EX_USAGE;
            }
            o.jobs = (unsigned)j;
            break;
        }
        case 'L':
            if (strcmp(optarg, "tcp") == 0) {
                o.tcp = true;
            } else if (strcmp(optarg, "pty") != 0) {
                fprintf(stderr, "possim run: --link: '%s' is not pty or tcp\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option("possim run", c, before, argv);
        }
    }
    if (o.follow && o.jobs > 1) {
        fprintf(stderr, "possim run: --follow prints one lane as it runs: give it with -j 1\n");
        return EX_USAGE;
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
    for (size_t i = 0; i < n; i++)
        res[i].path = argv[optind + (int)i];
    struct tally t = {0};
    int64_t t0 = now_ms();
    if (o.tap)
        printf("TAP version 13\n");
    if (o.jobs <= 1) {
        for (size_t i = 0; i < n; i++) {
            res[i].rc = run_one(&o, base, (unsigned)i + 1, &res[i]);
            report_one(&o, &res[i], &t);
        }
    } else {
        /* Lanes in parallel: each is its own processes and ptys; results are printed
         * in the order given once all are done. */
        struct pool pool = {.o = &o, .base = base, .res = res, .n = n};
        pthread_mutex_init(&pool.mu, NULL);
        pthread_t th[RUN_JOBS_MAX];
        unsigned started = 0;
        for (unsigned k = 0; k < o.jobs && k < n; k++)
            if (pthread_create(&th[k], NULL, pool_worker, &pool) == 0)
                started++;
        if (!started)
            pool_worker(&pool);
        for (unsigned k = 0; k < started; k++)
            pthread_join(th[k], NULL);
        pthread_mutex_destroy(&pool.mu);
        for (size_t i = 0; i < n; i++)
            report_one(&o, &res[i], &t);
    }
    if (o.tap)
        printf("1..%u\n", t.tap_no);
    double secs = (double)(now_ms() - t0) / 1000.0;
    size_t total_steps = t.steps, total_pass = t.pass, broken = t.broken;
    int input_rc = t.input_rc;
    if (o.junit)
        write_junit(&o, res, n);
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
