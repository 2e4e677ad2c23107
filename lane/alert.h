/* alert: runs the alert program (`posbridge run --on-discrepancy PROG`) for a lane.
 * docs/ALERTS.md is the contract: the POSBRIDGE_* environment and the JSON on stdin.
 *
 *   pb_alerter_new/free  one alerter per lane: the program and its time limit
 *   pb_alerter_txn()     a discrepancy: the transaction's variables, its JSON on stdin
 *   pb_alerter_lane()    an alert about the lane rather than one transaction (burst,
 *                        batch_mismatch): its class and severity, the transaction that
 *                        raised it, and variables of its own (pb_alert_env_set)
 *   pb_alerter_stats()   alerts handed to a program, alerts that could not be
 *
 * A program runs without a shell, is never waited for (a supervisor process holds it to
 * the time limit and then kills its process group) and inherits no descriptor of the
 * bridge. Raising an alert never blocks on the program.
 *
 * Ownership: the alerter copies the program path. pb_alerter_txn() and pb_alerter_lane()
 * keep nothing of what they are given (transaction, JSON, variables) after they return,
 * and read their counters only through pb_alerter_stats(), so that alerts may later wait
 * in a queue for a bounded number of running programs without callers changing.
 * pb_alerter_txn(NULL, ...) and pb_alerter_lane(NULL, ...) run nothing (no program);
 * the latter still takes its JSON. */
#ifndef PB_ALERT_H
#define PB_ALERT_H

#include <jansson.h>
#include <stdint.h>

#include "tracker.h"

struct pb_alerter;

struct pb_alerter_stats {
    uint64_t run;    /* alerts handed to a supervisor that runs the program */
    uint64_t failed; /* alerts lost before that (pipe or fork failed; logged) */
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

/* program: the path to execv (no arguments); timeout_ms: its time limit, 0 for the
 * default 10000. *out = NULL on failure. PB_OK, PB_ERR_INVAL, PB_ERR_NOMEM. */
int pb_alerter_new(const char *program, uint32_t timeout_ms, struct pb_alerter **out);
/* Programs already started run on under their supervisors. NULL is fine. */
void pb_alerter_free(struct pb_alerter *a);

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
