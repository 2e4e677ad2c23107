/* rules: what a lane's closed transactions say together, beyond each one's class
 * (docs/DISCREPANCIES.md: alerts on patterns, reconciliation with the terminal's totals).
 *
 *   pb_rules_new/free   one per lane; the journal and alerter it reports to are borrowed
 *   pb_rules_txn()      one transaction event from the tracker
 *   pb_rules_bursts()   burst alerts raised so far
 *
 * Bursts: opts.burst discrepancies within an hour raise one burst alert, at most one an
 * hour. Batches: at each end of day that closes the terminal's batch, its total against
 * the approvals seen since the previous one (batch.h). Each is said in the log, as a
 * journal event (burst, batch_ok, batch_mismatch) and, for a burst or a mismatch,
 * through the alerter (docs/ALERTS.md). Time comes with the transactions (their ended
 * time); the rules read no clock. */
#ifndef PB_RULES_H
#define PB_RULES_H

#include <stdint.h>

#include "tracker.h"

struct pb_alerter;
struct pb_journal;
struct pb_rules;

struct pb_rules_opts {
    unsigned burst;             /* discrepancies within an hour that make a burst; 0: never */
    struct pb_journal *journal; /* borrowed; NULL: no journal events */
    struct pb_alerter *alerter; /* borrowed; NULL: no alert program */
};

/* *out = NULL on failure. PB_OK, PB_ERR_INVAL, PB_ERR_NOMEM. */
int pb_rules_new(const struct pb_rules_opts *opts, struct pb_rules **out);
void pb_rules_free(struct pb_rules *r); /* NULL is fine */
/* ev and t as the tracker's callback gives them; OPENED changes nothing. */
void pb_rules_txn(struct pb_rules *r, enum pb_txn_event ev, const struct pb_txn *t);
uint64_t pb_rules_bursts(const struct pb_rules *r); /* 0 for NULL */

#endif
