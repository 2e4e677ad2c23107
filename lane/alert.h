/* alert: runs the alert program (`posbridge run --on-discrepancy PROG`) for a lane.
 * docs/ALERTS.md is the contract: the POSBRIDGE_* environment and the JSON on stdin.
 *
 *   pb_alerter_new/free  one alerter per lane: the program, its time limit, the pool
 *   pb_alerter_stop()    at shutdown: what waits is dropped, and counted
 *   pb_alerter_txn()     a discrepancy: the transaction's variables, its JSON on stdin
 *   pb_alerter_lane()    an alert about the lane rather than one transaction (burst,
 *                        batch_mismatch, journal_recreated): its class and severity, the
 *                        transaction that raised it, and variables of its own
 *                        (pb_alert_env_set)
 *   pb_alerter_tick()    reap programs that ended, start waiting alerts; never blocks
 *   pb_alerter_busy()    programs running or alerts waiting (call tick again soon)
 *   pb_alerter_stats()   run, failed, dropped, running, waiting
 *
 * A bounded pool: at most max_running programs at once; further alerts wait in a FIFO
 * of at most queue_max, in order, and start as programs end. When the FIFO is full an
 * alert is dropped and counted; the first drop of an overflow is logged (an ALERT),
 * and when the FIFO has emptied again tick reports how many the overflow cost, so the
 * caller can journal it. Nothing is dropped without a count and a log line.
 *
 * A program runs without a shell under a supervisor process (a child of the caller)
 * that holds it to the time limit and kills its process group. The caller never waits
 * for either: supervisors are reaped with waitpid(WNOHANG) in txn, lane and tick, so
 * the caller must call tick while pb_alerter_busy() (posbridge run also wakes on
 * SIGCHLD). The program inherits no descriptor of the caller.
 *
 * Ownership: the alerter copies the program path. pb_alerter_txn() and pb_alerter_lane()
 * keep copies of what they queue and nothing of what they are given.
 * pb_alerter_txn(NULL, ...) and pb_alerter_lane(NULL, ...) run nothing (no program);
 * the latter still takes its JSON. Not thread-safe: one thread (the relay's) uses it. */
#ifndef PB_ALERT_H
#define PB_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tracker.h"

struct pb_alerter;

struct pb_alerter_stats {
    uint64_t run;     /* alerts handed to a supervisor that runs the program */
    uint64_t failed;  /* alerts lost before that (pipe or fork failed; logged) */
    uint64_t dropped; /* alerts refused because the queue was full, or still waiting at free */
    unsigned running; /* supervisors not yet reaped */
    unsigned waiting; /* alerts in the queue */
};

#define PB_ALERT_MAX_RUNNING 4 /* default: programs at once */
#define PB_ALERT_QUEUE_MAX 256 /* default: alerts waiting for a free slot */

struct pb_alerter_opts {
    const char *program;  /* the path to execv (no arguments) */
    uint32_t timeout_ms;  /* each program's time limit; 0: 10000 */
    unsigned max_running; /* 0: PB_ALERT_MAX_RUNNING */
    unsigned queue_max;   /* 0: PB_ALERT_QUEUE_MAX */
};

/* Variables of a lane alert besides the four every lane alert has (POSBRIDGE_CLASS,
 * _SEVERITY, _PROTOCOL, _ID): each "NAME=value", at most PB_ALERT_ENV_MAX, each cut to
 * PB_ALERT_VAR_MAX - 1 bytes. Start from {.n = 0}. */
#define PB_ALERT_ENV_MAX 12
#define PB_ALERT_VAR_MAX 832 /* the longest: POSBRIDGE_TEXT, up to 800 bytes */
struct pb_alert_env {
    char var[PB_ALERT_ENV_MAX][PB_ALERT_VAR_MAX];
    int n;
};
/* Adds one "NAME=value" (printf format); beyond PB_ALERT_ENV_MAX it is dropped. */
void pb_alert_env_set(struct pb_alert_env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* *out = NULL on failure. PB_OK, PB_ERR_INVAL (no program), PB_ERR_NOMEM. */
int pb_alerter_new(const struct pb_alerter_opts *opts, struct pb_alerter **out);
/* Shutdown: alerts still waiting are not run (counted as dropped and logged). Returns
 * the dropped alerts no tick has reported yet (an overflow in progress plus those), for
 * the caller's journal. Programs already started run on under their supervisors. */
uint64_t pb_alerter_stop(struct pb_alerter *a);
/* pb_alerter_stop(), then frees; programs are not waited for. NULL is fine. */
void pb_alerter_free(struct pb_alerter *a);
/* Reaps the supervisors that ended and starts waiting alerts in their place. Returns the
 * number of alerts an overflow dropped when the queue has just emptied after it (once
 * per overflow), else 0. Never blocks. NULL is fine. */
uint64_t pb_alerter_tick(struct pb_alerter *a);
/* True while programs run or alerts wait: the caller should tick within a few hundred ms
 * (or on SIGCHLD). False for NULL. */
bool pb_alerter_busy(const struct pb_alerter *a);

/* t closed (or was reclassified) as a discrepancy; json is pb_txn_to_json(t), which the
 * caller already has for the events file. */
void pb_alerter_txn(struct pb_alerter *a, const struct pb_txn *t, const char *json);
/* cls and severity as POSBRIDGE_CLASS and _SEVERITY; t gives _PROTOCOL and _ID; o is the
 * JSON for stdin without "class", which is put first (o is taken: decref'd here); more
 * holds the alert's own variables. */
void pb_alerter_lane(struct pb_alerter *a, const char *cls, const char *severity,
                     const struct pb_txn *t, json_t *o, const struct pb_alert_env *more);
/* *out all zero for NULL. */
void pb_alerter_stats(const struct pb_alerter *a, struct pb_alerter_stats *out);

#endif
