#include "rules.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "batch.h"
#include "journal.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"
#include "txn_json.h"

struct pb_rules {
    struct pb_rules_opts o;
    struct burst_mark {       /* the last opts.burst discrepancies, a ring */
        int64_t at_us;        /* mono */
        uint64_t id;
        enum pb_class cls;
    } *burst;
    unsigned burst_head, burst_len;
    bool burst_fired;
    int64_t burst_last_us;    /* mono time of the last burst alert */
    uint64_t bursts;          /* burst alerts raised */
    struct pb_batch *batch;   /* the terminal's batch since its last end of day */
};

/* A burst: opts.burst discrepancies within BURST_WINDOW_US of each other on this
 * lane (a loose cable, a misconfigured terminal, a register retrying) raise one alert of
 * their own, besides each discrepancy's: an ALERT line in the log, a journal event
 * "burst", and the alert program with POSBRIDGE_CLASS=burst. At most one per window. */
#define BURST_WINDOW_US (3600LL * 1000000)

static void note_burst(struct pb_rules *r, const struct pb_txn *t)
{
    unsigned n = r->o.burst;
    if (!n || !r->burst)
        return;
    /* A transaction reclassified from one discrepancy into another (in_doubt, then a late
     * approval) is one discrepancy: its mark takes the new class. */
    for (unsigned i = 0; i < r->burst_len; i++) {
        if (r->burst[i].id == t->id) {
            r->burst[i].cls = t->cls;
            return;
        }
    }
    /* A reclassified transaction (a late duplicate) ended before the ones now in the
     * ring: the ring's times never go backwards. */
    int64_t at = t->ended.mono_us;
    if (r->burst_len && r->burst[(r->burst_head + n - 1) % n].at_us > at)
        at = r->burst[(r->burst_head + n - 1) % n].at_us;
    struct burst_mark *m = &r->burst[r->burst_head];
    *m = (struct burst_mark){at, t->id, t->cls};
    r->burst_head = (r->burst_head + 1) % n;
    if (r->burst_len < n)
        r->burst_len++;
    const struct burst_mark *first = &r->burst[r->burst_head % n];
    if (r->burst_len < n || at - first->at_us > BURST_WINDOW_US)
        return;
    if (r->burst_fired && at - r->burst_last_us < BURST_WINDOW_US)
        return;
    r->burst_fired = true;
    r->burst_last_us = at;
    r->bursts++;

    uint64_t by_class[PB_CLASS__COUNT] = {0};
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < n; i++) {
        if ((unsigned)r->burst[i].cls < PB_CLASS__COUNT)
            by_class[r->burst[i].cls]++;
        lo = r->burst[i].id < lo ? r->burst[i].id : lo;
        hi = r->burst[i].id > hi ? r->burst[i].id : hi;
    }
    char classes[256] = "";
    size_t used = 0;
    json_t *jc = json_object();
    for (int k = 0; k < PB_CLASS__COUNT; k++) {
        if (!by_class[k])
            continue;
        int w = snprintf(classes + used, sizeof classes - used, "%s%s=%" PRIu64,
                         used ? ", " : "", pb_class_name((enum pb_class)k), by_class[k]);
        if (w > 0 && (size_t)w < sizeof classes - used)
            used += (size_t)w;
        json_object_set_new(jc, pb_class_name((enum pb_class)k),
                            json_integer((json_int_t)by_class[k]));
    }
    int64_t span_s = (at - first->at_us) / 1000000;
    char text[400];
    snprintf(text, sizeof text,
             "%u discrepancies in %" PRId64 " min on this lane (%s), transactions %" PRIu64
             " to %" PRIu64,
             n, span_s / 60, classes, lo, hi);
    pb_error("ALERT burst: %s; check the cable, the line settings and the terminal", text);
    if (r->o.journal)
        pb_journal_event(r->o.journal, "burst", text, t->ended.utc_us);
    if (r->o.alerter) {
        json_t *o = json_object();
        json_object_set_new(o, "discrepancies", json_integer(n));
        json_object_set_new(o, "seconds", json_integer(span_s));
        json_object_set_new(o, "first_id", json_integer((json_int_t)lo));
        json_object_set_new(o, "last_id", json_integer((json_int_t)hi));
        json_object_set_new(o, "by_class", jc);
        json_object_set_new(o, "text", json_string(text));
        struct pb_alert_env e = {.n = 0};
        pb_alert_env_set(&e, "POSBRIDGE_COUNT=%u", n);
        pb_alert_env_set(&e, "POSBRIDGE_TEXT=%s", text);
        pb_alerter_lane(r->o.alerter, "burst", "critical", t, o, &e);
    } else {
        json_decref(jc);
    }
}

/* Transactions one batch remembers: a terminal whose ends of day the bridge never sees
 * (closed on its own keypad) must not make the bridge grow for years. */
#define BATCH_TXNS_MAX 100000

/* The end of day just closed the terminal's batch: its total against the approvals seen
 * since the previous one. A match is logged; a mismatch is an ALERT, a journal event
 * "batch_mismatch" and the alert program with POSBRIDGE_CLASS=batch_mismatch. */
static void batch_closed(struct pb_rules *r, const struct pb_txn *t,
                         const struct pb_batch_result *b)
{
    char verdict[400], term[PB_MONEY_FMT_MAX] = "-", br[PB_MONEY_FMT_MAX], diff[PB_MONEY_FMT_MAX] = "-";
    pb_batch_verdict(b, verdict, sizeof verdict);
    pb_money_format(br, sizeof br, b->bridge, b->currency);
    if (b->has_total) {
        pb_money_format(term, sizeof term, b->terminal, b->currency);
        pb_money_format(diff, sizeof diff, b->terminal - b->bridge, b->currency);
    }
    char text[800];
    snprintf(text, sizeof text,
             "end of day (txn %" PRIu64 "): terminal batch %s, bridge saw %s approved since the "
             "last end of day (difference %s): %s",
             t->id, term, br, diff, verdict);
    bool ok = pb_batch_matches(b);
    if (ok)
        pb_info("%s", text);
    else
        pb_error("ALERT batch: %s", text);
    if (r->o.journal)
        pb_journal_event(r->o.journal, ok ? "batch_ok" : "batch_mismatch", text, t->ended.utc_us);
    if (ok || !r->o.alerter)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)t->id));
    json_object_set_new(o, "currency", json_integer(b->currency));
    if (b->has_total)
        json_object_set_new(o, "terminal_total", json_integer(b->terminal));
    json_object_set_new(o, "bridge_total", json_integer(b->bridge));
    json_object_set_new(o, "text", json_string(text));
    struct pb_alert_env e = {.n = 0};
    pb_alert_env_set(&e, "POSBRIDGE_CURRENCY=%u", b->currency);
    pb_alert_env_set(&e, "POSBRIDGE_TERMINAL_TOTAL=%" PRId64, b->has_total ? b->terminal : 0);
    pb_alert_env_set(&e, "POSBRIDGE_BRIDGE_TOTAL=%" PRId64, b->bridge);
    pb_alert_env_set(&e, "POSBRIDGE_TEXT=%s", text);
    pb_alerter_lane(r->o.alerter, "batch_mismatch", "high", t, o, &e);
}

static void batch_txn(struct pb_rules *r, const struct pb_txn *t)
{
    if (!r->batch)
        return;
    struct pb_batch_fact f = {
        .key = t->id,
        .id = (int64_t)t->id,
        .type = t->type,
        .cls = t->cls,
        .result = t->result,
        .has_charged = t->has_charged,
        .charged = t->charged,
        .currency = pb_txn_charged_currency(t),
        .has_requested = t->has_requested,
        .requested = t->requested,
        .requested_currency = pb_txn_requested_currency(t),
        .at_utc_us = t->ended.utc_us,
    };
    struct pb_batch_result res;
    int rc = pb_batch_add(r->batch, &f, &res);
    if (rc == 1)
        batch_closed(r, t, &res);
    else if (rc < 0)
        pb_warn("batch: out of memory; this batch is not compared");
}

int pb_rules_new(const struct pb_rules_opts *opts, struct pb_rules **out)
{
    if (!out || !opts)
        return PB_ERR_INVAL;
    *out = NULL;
    struct pb_rules *r = calloc(1, sizeof *r);
    if (!r)
        return PB_ERR_NOMEM;
    r->o = *opts;
    if ((r->o.burst && !(r->burst = calloc(r->o.burst, sizeof *r->burst))) ||
        !(r->batch = pb_batch_new(BATCH_TXNS_MAX))) {
        pb_rules_free(r);
        return PB_ERR_NOMEM;
    }
    *out = r;
    return PB_OK;
}

void pb_rules_free(struct pb_rules *r)
{
    if (!r)
        return;
    free(r->burst);
    pb_batch_free(r->batch);
    free(r);
}

void pb_rules_txn(struct pb_rules *r, enum pb_txn_event ev, const struct pb_txn *t)
{
    if (!r || ev == PB_TXN_OPENED)
        return;
    if (pb_class_is_discrepancy(t->cls))
        note_burst(r, t);
    batch_txn(r, t);
}

uint64_t pb_rules_bursts(const struct pb_rules *r)
{
    return r ? r->bursts : 0;
}
