/* batch: the terminal's batch against the bridge's approvals (see batch.h). */
#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "money.h"
#include "pb_error.h"

struct entry {
    uint64_t key;
    int64_t id;
    int64_t contrib; /* what it adds to the bridge's total, in ccy */
    uint16_t ccy;
    bool approved;   /* an approved charge */
    bool doubt;      /* in_doubt: amount is what was asked */
    int64_t asked;
};

struct pb_batch {
    size_t max;
    bool open;       /* an end of day was seen: the next one closes a batch */
    bool overflow;   /* more transactions than max: this batch is not compared */
    struct entry *e;
    size_t n, cap;
};

struct pb_batch *pb_batch_new(size_t max_txns)
{
    struct pb_batch *b = calloc(1, sizeof *b);
    if (b)
        b->max = max_txns ? max_txns : 1;
    return b;
}

void pb_batch_free(struct pb_batch *b)
{
    if (!b)
        return;
    free(b->e);
    free(b);
}

static int close_batch(struct pb_batch *b, const struct pb_batch_fact *f,
                       struct pb_batch_result *res)
{
    int said = 0;
    if (b->open && !b->overflow) {
        memset(res, 0, sizeof *res);
        res->at_utc_us = f->at_utc_us;
        res->eod_id = f->id;
        res->currency = f->currency;
        res->has_total = f->has_charged;
        res->terminal = f->charged;
        for (size_t i = 0; i < b->n; i++) {
            const struct entry *x = &b->e[i];
            if (x->ccy == f->currency)
                res->bridge += x->contrib;
            res->approvals += x->approved;
            if (x->doubt) {
                if (res->n_doubt < PB_BATCH_DOUBT_MAX) {
                    res->doubt_id[res->n_doubt] = x->id;
                    res->doubt_amount[res->n_doubt] = x->asked;
                }
                res->n_doubt++;
                res->doubt_sum += x->asked;
            }
        }
        said = 1;
    }
    b->n = 0;
    b->open = true;
    b->overflow = false;
    return said;
}

int pb_batch_add(struct pb_batch *b, const struct pb_batch_fact *f, struct pb_batch_result *res)
{
    if (!b || !f || f->pending)
        return 0;
    if (f->type == PB_TXN_END_OF_DAY)
        return f->result == PB_RESULT_APPROVED ? close_batch(b, f, res) : 0;
    int sign = pb_money_sign(f->type);
    if (!b->open || !sign)
        return 0;
    struct entry *x = NULL;
    for (size_t i = b->n; i-- > 0;) {
        if (b->e[i].key == f->key) {
            x = &b->e[i];
            break;
        }
    }
    if (!x) {
        if (b->overflow)
            return 0;
        if (b->n >= b->max) {
            b->overflow = true;
            return 0;
        }
        if (!pb_grow((void **)&b->e, &b->cap, b->n, sizeof *b->e))
            return PB_ERR_NOMEM;
        x = &b->e[b->n++];
    }
    bool counted = f->cls != PB_CLASS_VOIDED;
    *x = (struct entry){.key = f->key, .id = f->id};
    x->approved = counted && f->has_charged && f->result == PB_RESULT_APPROVED;
    x->contrib = x->approved ? sign * f->charged : 0;
    x->ccy = f->currency ? f->currency : f->requested_currency;
    x->doubt = f->cls == PB_CLASS_IN_DOUBT && f->has_requested;
    x->asked = sign * f->requested;
    return 0;
}

void pb_batch_verdict(const struct pb_batch_result *b, char *out, size_t cap)
{
    char ids[160] = "";
    size_t used = 0;
    for (unsigned i = 0; i < b->n_doubt && i < PB_BATCH_DOUBT_MAX; i++) {
        char a[PB_MONEY_FMT_MAX];
        pb_money_format(a, sizeof a, b->doubt_amount[i], b->currency);
        int w = snprintf(ids + used, sizeof ids - used, "%s#%" PRId64 " %s", i ? ", " : "",
                         b->doubt_id[i], a);
        if (w > 0 && (size_t)w < sizeof ids - used)
            used += (size_t)w;
    }
    const char *more = b->n_doubt > PB_BATCH_DOUBT_MAX ? ", ..." : "";
    int64_t diff = b->terminal - b->bridge;
    if (!b->has_total)
        snprintf(out, cap, "not compared: the terminal reported no total");
    else if (diff == 0 && b->n_doubt)
        snprintf(out, cap, "ok; the in_doubt sale(s) %s%s were not charged", ids, more);
    else if (diff == 0)
        snprintf(out, cap, "ok");
    else if (b->n_doubt && diff == b->doubt_sum)
        snprintf(out, cap, "MISMATCH: the terminal charged the in_doubt sale(s) %s%s", ids, more);
    else if (b->n_doubt)
        snprintf(out, cap, "MISMATCH: charges the bridge did not see approved; in_doubt here: %s%s",
                 ids, more);
    else
        snprintf(out, cap, "MISMATCH: %s", diff > 0 ? "charges the bridge did not see approved"
                                                    : "approvals the terminal did not count");
}
