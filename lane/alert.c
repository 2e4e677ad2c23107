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

struct pb_alerter {
    char *program;
    uint32_t timeout_ms;
    uint64_t run, failed;
};

int pb_alerter_new(const char *program, uint32_t timeout_ms, struct pb_alerter **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!program)
        return PB_ERR_INVAL;
    struct pb_alerter *a = calloc(1, sizeof *a);
    if (!a)
        return PB_ERR_NOMEM;
    a->program = strdup(program);
    if (!a->program) {
        free(a);
        return PB_ERR_NOMEM;
    }
    a->timeout_ms = timeout_ms ? timeout_ms : 10000;
    *out = a;
    return PB_OK;
}

void pb_alerter_free(struct pb_alerter *a)
{
    if (!a)
        return;
    free(a->program);
    free(a);
}

void pb_alerter_stats(const struct pb_alerter *a, struct pb_alerter_stats *out)
{
    *out = (struct pb_alerter_stats){0};
    if (a) {
        out->run = a->run;
        out->failed = a->failed;
    }
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

/* Runs the alert program without a shell: details in the environment and the JSON on
 * its stdin. The bridge forks a child that forks a supervisor and exits at once, so
 * the bridge never waits for the program and leaves no zombie. The supervisor drops
 * every descriptor of the bridge (ports, journal and its lock) and forks the program
 * in a process group of its own, which it kills at the time limit. */
static void run_alert(struct pb_alerter *a, struct pb_alert_env *env, const char *json)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        a->failed++;
        pb_warn("alert: pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        a->failed++;
        pb_warn("alert: fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        if (fork() != 0)
            _exit(0);
        /* supervisor: stdin becomes the JSON pipe, nothing of the bridge stays open */
        if (dup2(pfd[0], STDIN_FILENO) < 0)
            _exit(126);
        int maxfd = (int)sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++)
            close(fd);
        for (int i = 0; i < env->n; i++)
            putenv(env->var[i]);
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
            char *argv[] = {(char *)a->program, NULL};
            execv(a->program, argv);
            _exit(127);
        }
        setpgid(prog, prog); /* both sides, so the kill below finds the group */
        close(STDIN_FILENO);
        supervise_alert(prog, a->timeout_ms);
        _exit(0);
    }
    close(pfd[0]);
    /* The JSON is far smaller than a pipe buffer: this write does not block. */
    size_t n = strlen(json);
    if (write(pfd[1], json, n) != (ssize_t)n || write(pfd[1], "\n", 1) != 1)
        pb_warn("alert: could not hand the details to %s", a->program);
    close(pfd[1]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    a->run++;
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
        run_alert(a, &e, json);
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
    run_alert(a, &e, json);
}
