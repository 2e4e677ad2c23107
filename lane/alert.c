#include "alert.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "money.h"
#include "pb_error.h"
#include "txn_json.h"

/* One alert waiting for a free slot: its variables and its JSON, copied. */
struct job {
    struct job *next;
    int n_env;
    char *env[PB_ALERT_ENV_MAX]; /* point into the same allocation */
    char *json;
};

struct pb_alerter {
    char *program;
    uint32_t timeout_ms;
    unsigned max_running, queue_max;
    pid_t *running; /* max_running slots; 0: free */
    unsigned n_running;
    struct job *head, *tail;
    unsigned waiting;
    uint64_t run, failed, dropped;
    bool overflow;               /* a drop was logged; ends when the queue is empty */
    uint64_t dropped_at_overflow; /* dropped when the overflow began */
};

static void reap(struct pb_alerter *a);

int pb_alerter_new(const struct pb_alerter_opts *opts, struct pb_alerter **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!opts || !opts->program)
        return PB_ERR_INVAL;
    struct pb_alerter *a = calloc(1, sizeof *a);
    if (!a)
        return PB_ERR_NOMEM;
    a->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
    a->max_running = opts->max_running ? opts->max_running : PB_ALERT_MAX_RUNNING;
    a->queue_max = opts->queue_max ? opts->queue_max : PB_ALERT_QUEUE_MAX;
    a->program = strdup(opts->program);
    a->running = calloc(a->max_running, sizeof *a->running);
    if (!a->program || !a->running) {
        pb_alerter_free(a);
        return PB_ERR_NOMEM;
    }
    *out = a;
    return PB_OK;
}

uint64_t pb_alerter_stop(struct pb_alerter *a)
{
    if (!a)
        return 0;
    reap(a);
    uint64_t lost = a->overflow ? a->dropped - a->dropped_at_overflow : 0;
    if (a->waiting) {
        a->dropped += a->waiting;
        lost += a->waiting;
        pb_error("alert: %u alert(s) still waiting for a free slot were not run (%u program(s) "
                 "running at shutdown)",
                 a->waiting, a->n_running);
    }
    while (a->head) {
        struct job *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->tail = NULL;
    a->waiting = 0;
    a->overflow = false;
    return lost;
}

void pb_alerter_free(struct pb_alerter *a)
{
    if (!a)
        return;
    pb_alerter_stop(a);
    free(a->running);
    free(a->program);
    free(a);
}

void pb_alerter_stats(const struct pb_alerter *a, struct pb_alerter_stats *out)
{
    *out = (struct pb_alerter_stats){0};
    if (a) {
        out->run = a->run;
        out->failed = a->failed;
        out->dropped = a->dropped;
        out->running = a->n_running;
        out->waiting = a->waiting;
    }
}

bool pb_alerter_busy(const struct pb_alerter *a)
{
    return a && (a->n_running || a->waiting);
}

/* The supervisor's side of the time limit: waits for the program until the deadline,
 * then kills its whole process group (a shell script's children too, and a program
 * that ignores SIGALRM), and reaps it. */
static void supervise_alert(pid_t prog, uint32_t timeout_ms)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    for (uint64_t waited = 0; waited < timeout_ms; waited += 20) {
        int st;
        pid_t r = waitpid(prog, &st, WNOHANG);
        if (r == prog || (r < 0 && errno != EINTR))
            return;
        nanosleep(&tick, NULL);
    }
    kill(-prog, SIGKILL);
    kill(prog, SIGKILL);
    while (waitpid(prog, NULL, 0) < 0 && errno == EINTR)
        ;
}

void pb_alert_env_set(struct pb_alert_env *e, const char *fmt, ...)
{
    if (e->n >= PB_ALERT_ENV_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->var[e->n++], sizeof e->var[0], fmt, ap);
    va_end(ap);
}

/* The program's environment: the alert's variables, then the bridge's own minus those
 * they replace. Built before fork, so the child allocates nothing. malloc'd array of
 * borrowed strings; NULL when out of memory. */
static char **build_envp(const struct job *jb)
{
    extern char **environ;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **envp = malloc((n + (size_t)jb->n_env + 1) * sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < jb->n_env; i++)
        envp[k++] = jb->env[i];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
        bool replaced = false;
        for (int v = 0; v < jb->n_env && !replaced; v++)
            replaced = strncmp(jb->env[v], environ[i], name) == 0;
        if (!replaced)
            envp[k++] = environ[i];
    }
    envp[k] = NULL;
    return envp;
}

/* Starts one alert's program under a supervisor, a child of the bridge that is reaped
 * later (tick), never waited for here. The supervisor drops every descriptor of the
 * bridge (ports, journal and its lock) and forks the program in a process group of its
 * own, which it kills at the time limit. Returns false when nothing could be started. */
static bool start_job(struct pb_alerter *a, const struct job *jb, pid_t *out)
{
    char **envp = build_envp(jb);
    if (!envp) {
        pb_warn("alert: out of memory");
        return false;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        pb_warn("alert: pipe: %s", strerror(errno));
        free(envp);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        pb_warn("alert: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        free(envp);
        return false;
    }
    if (pid == 0) {
        /* supervisor: stdin becomes the JSON pipe, nothing of the bridge stays open */
        if (dup2(pfd[0], STDIN_FILENO) < 0)
            _exit(126);
        int maxfd = (int)sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++)
            close(fd);
        pid_t prog = fork();
        if (prog < 0)
            _exit(126);
        if (prog == 0) {
            setpgid(0, 0);
            /* The bridge blocks its signals for its signalfd; the program must not
             * inherit that, or SIGTERM could not stop it. */
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            char *argv[] = {a->program, NULL};
            execve(a->program, argv, envp);
            _exit(127);
        }
        setpgid(prog, prog); /* both sides, so the kill below finds the group */
        close(STDIN_FILENO);
        supervise_alert(prog, a->timeout_ms);
        _exit(0);
    }
    free(envp);
    close(pfd[0]);
    /* The JSON is far smaller than a pipe buffer: this write does not block. */
    size_t n = strlen(jb->json);
    if (write(pfd[1], jb->json, n) != (ssize_t)n || write(pfd[1], "\n", 1) != 1)
        pb_warn("alert: could not hand the details to %s", a->program);
    close(pfd[1]);
    *out = pid;
    return true;
}

/* Reaps supervisors that ended (WNOHANG: never waits). */
static void reap(struct pb_alerter *a)
{
    for (unsigned i = 0; i < a->max_running && a->n_running; i++) {
        if (!a->running[i])
            continue;
        pid_t r = waitpid(a->running[i], NULL, WNOHANG);
        /* ECHILD: reaped elsewhere (SIGCHLD ignored by an embedder); the slot is free. */
        if (r == a->running[i] || (r < 0 && errno == ECHILD)) {
            a->running[i] = 0;
            a->n_running--;
        }
    }
}

/* Starts waiting alerts, oldest first, while slots are free. */
static void start_waiting(struct pb_alerter *a)
{
    for (unsigned i = 0; i < a->max_running && a->head; i++) {
        if (a->running[i])
            continue;
        struct job *jb = a->head;
        a->head = jb->next;
        if (!a->head)
            a->tail = NULL;
        a->waiting--;
        pid_t pid;
        if (start_job(a, jb, &pid)) {
            a->running[i] = pid;
            a->n_running++;
            a->run++;
        } else {
            a->failed++;
        }
        free(jb);
    }
}

uint64_t pb_alerter_tick(struct pb_alerter *a)
{
    if (!a)
        return 0;
    reap(a);
    start_waiting(a);
    if (a->overflow && a->waiting == 0) {
        a->overflow = false;
        uint64_t lost = a->dropped - a->dropped_at_overflow;
        pb_warn("alert: the queue has room again; %" PRIu64 " alert(s) were dropped while it "
                "was full",
                lost);
        return lost;
    }
    return 0;
}

/* Queues one alert (copies env and json) and starts what the slots allow. */
static void submit(struct pb_alerter *a, const struct pb_alert_env *env, const char *json)
{
    reap(a);
    if (a->waiting >= a->queue_max) {
        if (!a->overflow) {
            a->overflow = true;
            a->dropped_at_overflow = a->dropped;
            pb_error("ALERT alerts: %u program(s) running and %u alert(s) waiting, the most "
                     "allowed: dropping alerts until the queue has room (each is counted)",
                     a->n_running, a->waiting);
        }
        a->dropped++;
        return;
    }
    size_t size = sizeof(struct job) + strlen(json) + 1;
    for (int i = 0; i < env->n; i++)
        size += strlen(env->var[i]) + 1;
    struct job *jb = malloc(size);
    if (!jb) {
        a->failed++;
        pb_warn("alert: out of memory");
        return;
    }
    char *p = (char *)(jb + 1);
    jb->next = NULL;
    jb->n_env = env->n;
    for (int i = 0; i < env->n; i++) {
        size_t n = strlen(env->var[i]) + 1;
        jb->env[i] = memcpy(p, env->var[i], n);
        p += n;
    }
    jb->json = strcpy(p, json);
    if (a->tail)
        a->tail->next = jb;
    else
        a->head = jb;
    a->tail = jb;
    a->waiting++;
    start_waiting(a);
}

/* An alert about the lane rather than one transaction (a burst, a terminal batch): o is
 * its JSON for stdin (taken), more its variables after the four every such alert has. */
void pb_alerter_lane(struct pb_alerter *a, const char *cls, const char *severity,
                     const struct pb_txn *t, json_t *o, const struct pb_alert_env *more)
{
    if (!a) {
        json_decref(o);
        return;
    }
    json_t *all = json_object(); /* "class" first, as in a transaction's JSON */
    json_object_set_new(all, "class", json_string(cls));
    json_object_update(all, o);
    json_decref(o);
    char *json = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(all);
    struct pb_alert_env e = {.n = 0};
    pb_alert_env_set(&e, "POSBRIDGE_CLASS=%s", cls);
    pb_alert_env_set(&e, "POSBRIDGE_SEVERITY=%s", severity);
    pb_alert_env_set(&e, "POSBRIDGE_PROTOCOL=%s", t->protocol ? t->protocol : "");
    pb_alert_env_set(&e, "POSBRIDGE_ID=%" PRIu64, t->id);
    for (int i = 0; i < more->n; i++)
        pb_alert_env_set(&e, "%s", more->var[i]);
    if (json)
        submit(a, &e, json);
    free(json);
}

/* The alert for one discrepancy. docs/ALERTS.md lists these variables; keep it in step. */
void pb_alerter_txn(struct pb_alerter *a, const struct pb_txn *t, const char *json)
{
    if (!a)
        return;
    struct pb_alert_env e = {.n = 0};
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    pb_txn_format_amounts(t, req, chg);
    pb_alert_env_set(&e, "POSBRIDGE_CLASS=%s", pb_class_name(t->cls));
    pb_alert_env_set(&e, "POSBRIDGE_ID=%" PRIu64, t->id);
    pb_alert_env_set(&e, "POSBRIDGE_PROTOCOL=%s", t->protocol ? t->protocol : "");
    pb_alert_env_set(&e, "POSBRIDGE_REQUESTED=%" PRId64, t->has_requested ? t->requested : 0);
    pb_alert_env_set(&e, "POSBRIDGE_CHARGED=%" PRId64, t->has_charged ? t->charged : 0);
    pb_alert_env_set(&e, "POSBRIDGE_CURRENCY=%u", pb_txn_charged_currency(t));
    pb_alert_env_set(&e, "POSBRIDGE_SEVERITY=%s", pb_severity_name(pb_class_severity(t->cls)));
    pb_alert_env_set(&e, "POSBRIDGE_CHARGED_TEXT=%s", chg);
    pb_alert_env_set(&e, "POSBRIDGE_REQUESTED_CURRENCY=%u", pb_txn_requested_currency(t));
    pb_alert_env_set(&e, "POSBRIDGE_REQUESTED_TEXT=%s", req);
    submit(a, &e, json);
}
