/* batch: a terminal's batch, from one end of day to the next, against the approvals the
 * bridge saw in between (docs/DISCREPANCIES.md: reconciliation with the terminal's own
 * totals). The end of day's answer carries the terminal's total (ZVT 06 50: BMP 04 of
 * its status information; the tracker makes it the end_of_day transaction's charged
 * amount). Used live by the pipeline (an alert at closing time) and by `posbridge
 * report` over the journal, so both say the same.
 *
 *   pb_batch_new()      an accumulator; max_txns bounds what one batch remembers
 *   pb_batch_add()      one transaction, closed or reclassified (a later fact about the
 *                       same key replaces the earlier one); returns 1 when it was an end
 *                       of day that closed a batch whose start was seen
 *   pb_batch_verdict()  what a compared batch's difference means, for people
 *   pb_batch_free()     NULL is fine
 *
 * The first end of day only opens a batch: what the terminal counted before it is
 * unknown. Purchases and pre-authorisations add their approved amount, refunds subtract
 * theirs, voided sales count nothing (as the daily reconciliation counts them). */
#ifndef PB_BATCH_H
#define PB_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "tracker.h"

struct pb_batch_fact {
    uint64_t key;          /* one transaction: later facts with this key replace it */
    int64_t id;            /* its number for people (journal id, or the tracker's) */
    enum pb_txn_type type;
    enum pb_class cls;
    bool pending;
    enum pb_result result;
    bool has_charged;
    int64_t charged;
    uint16_t currency;     /* the charged amount's */
    bool has_requested;
    int64_t requested;
    uint16_t requested_currency;
    int64_t at_utc_us;
};

#define PB_BATCH_DOUBT_MAX 8
struct pb_batch_result {
    int64_t at_utc_us;     /* the closing end of day */
    int64_t eod_id;
    uint16_t currency;     /* the terminal total's */
    bool has_total;        /* the end of day named a total */
    int64_t terminal, bridge;
    uint64_t approvals;    /* approved charges in the batch (any currency) */
    unsigned n_doubt;      /* in_doubt sales in the batch */
    int64_t doubt_id[PB_BATCH_DOUBT_MAX]; /* the first few */
    int64_t doubt_amount[PB_BATCH_DOUBT_MAX];
    int64_t doubt_sum;
};

struct pb_batch;
struct pb_batch *pb_batch_new(size_t max_txns);
void pb_batch_free(struct pb_batch *b);
/* 1: res is a compared batch; 0: nothing to say; PB_ERR_NOMEM. */
int pb_batch_add(struct pb_batch *b, const struct pb_batch_fact *f, struct pb_batch_result *res);
/* "ok", "MISMATCH: the terminal charged the in_doubt sale(s) #3 7.00 EUR", ... */
void pb_batch_verdict(const struct pb_batch_result *r, char *out, size_t cap);
/* How a transaction of type t moves the shop's money, in the reconciliation and in a
 * batch alike: +1 purchases and pre-authorisations, -1 refunds, 0 everything else
 * (voids act through the class of the sale they void). */
static inline int pb_money_sign(enum pb_txn_type t)
{
    return t == PB_TXN_PURCHASE || t == PB_TXN_PREAUTH ? 1 : t == PB_TXN_REFUND ? -1 : 0;
}

static inline bool pb_batch_matches(const struct pb_batch_result *r)
{
    return r->has_total && r->terminal == r->bridge;
}

#endif
