/* Tests for lane/tracker.c: every class of docs/DISCREPANCIES.md from message sequences,
 * for a protocol whose answer is final (Concert-like) and one with acceptance and
 * completion (ZVT-like). Fake protocols keep this independent of the codecs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tracker.h"
#include "pb_error.h"

static const struct pb_protocol answer_final = {
    .name = "answerfinal",
    .rules = {.has_accept = false, .result_ends_txn = true, .accept_timeout_ms = 3000,
              .response_timeout_ms = 120000, .max_repeats = 2},
};
static const struct pb_protocol with_completion = {
    .name = "withcompletion",
    .rules = {.has_accept = true, .result_ends_txn = false, .accept_timeout_ms = 5000,
              .response_timeout_ms = 180000, .completion_timeout_ms = 30000, .max_repeats = 2},
};

#define MAX_EVENTS 40
struct recorder {
    unsigned n;
    enum pb_txn_event ev[MAX_EVENTS];
    struct pb_txn t[MAX_EVENTS];
};

static void record(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct recorder *r = ctx;
    if (r->n < MAX_EVENTS) {
        r->ev[r->n] = ev;
        r->t[r->n] = *t;
        r->n++;
    }
}

/* The last CLOSED or RECLASSIFIED event for transaction id. */
static const struct pb_txn *final_of(const struct recorder *r, uint64_t id)
{
    const struct pb_txn *found = NULL;
    for (unsigned i = 0; i < r->n; i++)
        if (r->t[i].id == id && r->ev[i] != PB_TXN_OPENED)
            found = &r->t[i];
    return found;
}

static unsigned count_closed(const struct recorder *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n; i++)
        n += r->ev[i] == PB_TXN_CLOSED;
    return n;
}

struct lane {
    struct pb_tracker *tr;
    struct recorder rec;
    struct pb_time now;
    uint64_t off[2];
};

static void lane_init(struct lane *l, const struct pb_protocol *p, const struct pb_tracker_config *c)
{
    memset(l, 0, sizeof *l);
    l->now.mono_us = 1000000;
    l->now.utc_us = 1700000000000000;
    assert_int_equal(pb_tracker_new(p, c, record, &l->rec, &l->tr), 0);
}

static void advance(struct lane *l, int64_t ms)
{
    l->now.mono_us += ms * 1000;
    l->now.utc_us += ms * 1000;
    pb_tracker_tick(l->tr, &l->now);
}

static struct pos_msg msg(enum pb_dir dir, enum pb_kind kind)
{
    struct pos_msg m;
    pb_msg_init(&m);
    m.dir = dir;
    m.kind = kind;
    return m;
}

static void send(struct lane *l, struct pos_msg m)
{
    m.offset = l->off[m.dir];
    m.length = 10;
    l->off[m.dir] += 10;
    pb_tracker_msg(l->tr, &m, &l->now);
}

static void request(struct lane *l, enum pb_txn_type type, int64_t amount)
{
    struct pos_msg m = msg(PB_DIR_ECR, PB_KIND_REQUEST);
    m.txn = type;
    m.cmd = 0x0601;
    m.amount = amount;
    m.flags |= PB_F_AMOUNT | PB_F_CURRENCY;
    m.currency = 978;
    strcpy(m.pos_id, "01");
    send(l, m);
}

static struct pos_msg result(enum pb_result res, int64_t amount)
{
    struct pos_msg m = msg(PB_DIR_PT, PB_KIND_RESULT);
    m.result = res;
    m.amount = amount;
    m.flags |= PB_F_AMOUNT | PB_F_CURRENCY | PB_F_RESULT_CODE;
    m.currency = 978;
    m.result_code = res == PB_RESULT_APPROVED ? 0 : 5;
    strcpy(m.result_text, res == PB_RESULT_APPROVED ? "00" : "05");
    strcpy(m.pos_id, "01");
    return m;
}

/* Concert-like: request, ACK, answer. */
static enum pb_class run_answer_final(struct pos_msg answer, int64_t requested)
{
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, requested);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    advance(&l, 2000);
    send(&l, answer);
    assert_int_equal(count_closed(&l.rec), 1);
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_non_null(t);
    assert_true(t->n_evidence >= 2);
    assert_int_equal(t->requested, requested);
    assert_int_equal(t->latency_us, 2000000);
    assert_null(pb_tracker_current(l.tr));
    assert_int_equal(pb_tracker_next_deadline(l.tr), -1);
    enum pb_class c = t->cls;
    pb_tracker_free(l.tr);
    return c;
}

static void test_ok_and_amount_classes(void **state)
{
    (void)state;
    assert_int_equal(run_answer_final(result(PB_RESULT_APPROVED, 1250), 1250), PB_CLASS_OK);
    assert_int_equal(run_answer_final(result(PB_RESULT_APPROVED, 1350), 1250),
                     PB_CLASS_OVERCHARGE);
    assert_int_equal(run_answer_final(result(PB_RESULT_APPROVED, 1150), 1250),
                     PB_CLASS_UNDERCHARGE);
    assert_int_equal(run_answer_final(result(PB_RESULT_DECLINED, 1250), 1250),
                     PB_CLASS_DECLINED);
    assert_int_equal(run_answer_final(result(PB_RESULT_NOT_PROCESSED, 0), 1250),
                     PB_CLASS_DECLINED);
    struct pos_msg partial = result(PB_RESULT_APPROVED, 1000);
    partial.flags |= PB_F_AMOUNT_DUE;
    partial.amount_due = 250;
    assert_int_equal(run_answer_final(partial, 1250), PB_CLASS_PARTIAL_APPROVAL);
    struct pos_msg marker = result(PB_RESULT_APPROVED, 1000);
    marker.flags |= PB_F_PARTIAL;
    assert_int_equal(run_answer_final(marker, 1250), PB_CLASS_PARTIAL_APPROVAL);
}

static void test_mismatches(void **state)
{
    (void)state;
    struct pos_msg ccy = result(PB_RESULT_APPROVED, 1250);
    ccy.currency = 840;
    assert_int_equal(run_answer_final(ccy, 1250), PB_CLASS_CURRENCY_MISMATCH);
    struct pos_msg pos = result(PB_RESULT_APPROVED, 1250);
    strcpy(pos.pos_id, "02");
    assert_int_equal(run_answer_final(pos, 1250), PB_CLASS_REFERENCE_MISMATCH);
    struct pos_msg type = result(PB_RESULT_APPROVED, 1250);
    type.txn = PB_TXN_REFUND;
    assert_int_equal(run_answer_final(type, 1250), PB_CLASS_TYPE_MISMATCH);
    /* a declined answer with a wrong currency is still just a decline */
    struct pos_msg dccy = result(PB_RESULT_DECLINED, 1250);
    dccy.currency = 840;
    assert_int_equal(run_answer_final(dccy, 1250), PB_CLASS_DECLINED);
}

/* The register's reference (PAX T00 reference number, Concert private field) echoed
 * back: another one is a misrouted answer; none at all is no evidence either way. */
static enum pb_class run_reference(const char *asked, const char *answered)
{
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    struct pos_msg req = msg(PB_DIR_ECR, PB_KIND_REQUEST);
    req.txn = PB_TXN_PURCHASE;
    req.amount = 1250;
    req.flags |= PB_F_AMOUNT;
    strcpy(req.reference, asked);
    send(&l, req);
    struct pos_msg ans = result(PB_RESULT_APPROVED, 1250);
    ans.flags &= ~(uint32_t)PB_F_CURRENCY;
    ans.pos_id[0] = '\0';
    strcpy(ans.reference, answered);
    send(&l, ans);
    enum pb_class c = final_of(&l.rec, 1)->cls;
    pb_tracker_free(l.tr);
    return c;
}

static void test_reference_echo(void **state)
{
    (void)state;
    assert_int_equal(run_reference("17", "17"), PB_CLASS_OK);
    assert_int_equal(run_reference("17", "999"), PB_CLASS_REFERENCE_MISMATCH);
    assert_int_equal(run_reference("17", ""), PB_CLASS_OK);
    assert_int_equal(run_reference("", "999"), PB_CLASS_OK);
}

static void test_undercharge_as_partial_by_config(void **state)
{
    (void)state;
    struct lane l;
    struct pb_tracker_config c = {.undercharge_is_partial = true};
    lane_init(&l, &answer_final, &c);
    request(&l, PB_TXN_PURCHASE, 1250);
    send(&l, result(PB_RESULT_APPROVED, 1000));
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_PARTIAL_APPROVAL);
    pb_tracker_free(l.tr);
}

static void test_repeat_after_nak_is_not_a_request(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1250);
    send(&l, msg(PB_DIR_PT, PB_KIND_NAK));
    request(&l, PB_TXN_PURCHASE, 1250);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    send(&l, result(PB_RESULT_APPROVED, 1250));
    assert_int_equal(count_closed(&l.rec), 1);
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_OK);
    assert_int_equal(t->repeats, 1);
    assert_int_equal(t->naks, 1);
    pb_tracker_free(l.tr);
}

static void test_duplicate_second_approval(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1250);
    request(&l, PB_TXN_PURCHASE, 1250); /* repeated because the ACK was withheld */
    send(&l, result(PB_RESULT_APPROVED, 1250));
    send(&l, msg(PB_DIR_ECR, PB_KIND_ACK)); /* the register took the answer */
    advance(&l, 5000);
    send(&l, result(PB_RESULT_APPROVED, 1250)); /* the terminal charged it again */
    assert_int_equal(count_closed(&l.rec), 2);
    assert_non_null(final_of(&l.rec, 1));
    assert_non_null(final_of(&l.rec, 2));
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_OK);
    const struct pb_txn *d = final_of(&l.rec, 2);
    assert_int_equal(d->cls, PB_CLASS_DUPLICATE);
    assert_int_equal(d->related_id, 1);
    assert_int_equal(d->charged, 1250);
    assert_int_equal(d->requested, 1250);
    pb_tracker_free(l.tr);
}

static void test_answer_repeated_after_nak_is_not_a_duplicate(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1250);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    send(&l, result(PB_RESULT_APPROVED, 1250));
    send(&l, msg(PB_DIR_ECR, PB_KIND_NAK)); /* the register did not get it right */
    send(&l, result(PB_RESULT_APPROVED, 1250));
    advance(&l, 3000); /* the register's ACK got lost: the terminal tries once more */
    send(&l, result(PB_RESULT_APPROVED, 1250));
    send(&l, msg(PB_DIR_ECR, PB_KIND_ACK));
    assert_int_equal(count_closed(&l.rec), 1);
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_OK);
    /* a different answer is no repeat */
    send(&l, result(PB_RESULT_APPROVED, 999));
    assert_int_equal(count_closed(&l.rec), 2);
    pb_tracker_free(l.tr);
}

static void test_duplicate_window_and_new_request(void **state)
{
    (void)state;
    struct lane l;
    struct pb_tracker_config c = {.duplicate_window_ms = 10000};
    lane_init(&l, &answer_final, &c);
    request(&l, PB_TXN_PURCHASE, 1250);
    send(&l, result(PB_RESULT_APPROVED, 1250));
    send(&l, msg(PB_DIR_ECR, PB_KIND_ACK));
    advance(&l, 20000); /* outside the window: not a duplicate but still unsolicited */
    send(&l, result(PB_RESULT_APPROVED, 1250));
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_PROTOCOL_ERROR);
    /* two sales of equal amount, each with its own request the terminal took (its ACK):
     * both ok, the second answer is no repeat of the first */
    request(&l, PB_TXN_PURCHASE, 500);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    send(&l, result(PB_RESULT_APPROVED, 500));
    request(&l, PB_TXN_PURCHASE, 500);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    send(&l, result(PB_RESULT_APPROVED, 500));
    assert_int_equal(final_of(&l.rec, 3)->cls, PB_CLASS_OK);
    assert_int_equal(final_of(&l.rec, 4)->cls, PB_CLASS_OK);
    assert_int_equal(count_closed(&l.rec), 4);
    pb_tracker_free(l.tr);
}

/* A stale repeat (issue 18, "money counted twice"): the register read answer N but its
 * ACK was lost, so the terminal repeats answer N while the register already sends request
 * N+1, and then repeats N+1 itself because the busy terminal did not ACK it. The repeats
 * are repeats: N+1 is not answered by N's answer, and its own repeat opens nothing. */
static void stale_repeat(const struct pb_protocol *p, bool accept)
{
    struct lane l;
    lane_init(&l, p, NULL);
    request(&l, PB_TXN_PURCHASE, 4999);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    if (accept)
        send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, result(PB_RESULT_APPROVED, 4999));
    if (accept) /* its completion, acknowledged at application level only */
        send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    advance(&l, 20);
    request(&l, PB_TXN_PURCHASE, 1000); /* N+1, while answer N waits for its ACK */
    advance(&l, 2000);
    send(&l, result(PB_RESULT_APPROVED, 4999)); /* the terminal's 2nd try of answer N */
    send(&l, msg(PB_DIR_ECR, PB_KIND_ACK));
    advance(&l, 2000);
    request(&l, PB_TXN_PURCHASE, 1000); /* the register's repeat of N+1 */
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    if (accept)
        send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, result(PB_RESULT_APPROVED, 1000));
    if (accept)
        send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    send(&l, msg(PB_DIR_ECR, PB_KIND_ACK));
    pb_tracker_finish(l.tr, &l.now);
    assert_int_equal(count_closed(&l.rec), 2);
    assert_non_null(final_of(&l.rec, 1));
    assert_non_null(final_of(&l.rec, 2));
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_OK);
    assert_int_equal(final_of(&l.rec, 1)->charged, 4999);
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_OK);
    assert_int_equal(final_of(&l.rec, 2)->charged, 1000);
    assert_int_equal(final_of(&l.rec, 2)->repeats, 1);
    pb_tracker_free(l.tr);
}

static void test_stale_repeat_answer_final(void **state)
{
    (void)state;
    stale_repeat(&answer_final, false);
}

static void test_stale_repeat_with_completion(void **state)
{
    (void)state;
    stale_repeat(&with_completion, true);
}

static void test_in_doubt_by_silence_then_late(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    assert_true(pb_tracker_next_deadline(l.tr) > 0);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    advance(&l, 100000);
    struct pos_msg inter = msg(PB_DIR_PT, PB_KIND_INTERMEDIATE);
    send(&l, inter); /* extends the response timer */
    advance(&l, 170000);
    assert_non_null(pb_tracker_current(l.tr));
    advance(&l, 11000);
    assert_null(pb_tracker_current(l.tr));
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_IN_DOUBT);
    assert_int_equal(t->intermediates, 1);
    /* the approval turns up after all */
    send(&l, result(PB_RESULT_APPROVED, 1000));
    t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_LATE_APPROVAL);
    assert_int_equal(t->charged, 1000);
    assert_int_equal(l.rec.ev[l.rec.n - 1], PB_TXN_RECLASSIFIED);
    pb_tracker_free(l.tr);
}

static void test_zvt_like_flow_and_completion(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, msg(PB_DIR_PT, PB_KIND_INTERMEDIATE));
    struct pos_msg r = result(PB_RESULT_APPROVED, 1100);
    r.pos_id[0] = '\0';
    send(&l, r);
    assert_non_null(pb_tracker_current(l.tr)); /* waits for the completion */
    send(&l, msg(PB_DIR_ECR, PB_KIND_APP_ACK));
    send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_OVERCHARGE);
    /* a refused request is a decline */
    request(&l, PB_TXN_PURCHASE, 1000);
    struct pos_msg refused = msg(PB_DIR_PT, PB_KIND_REFUSED);
    refused.result = PB_RESULT_DECLINED;
    send(&l, refused);
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_DECLINED);
    /* no acceptance in time: protocol error, nothing can have been charged */
    request(&l, PB_TXN_PURCHASE, 1000);
    advance(&l, 6000);
    assert_int_equal(final_of(&l.rec, 3)->cls, PB_CLASS_PROTOCOL_ERROR);
    /* completion with no status information for a sale: unknown outcome */
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    assert_int_equal(final_of(&l.rec, 4)->cls, PB_CLASS_IN_DOUBT);
    /* approval, then no completion in time */
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, result(PB_RESULT_APPROVED, 1000));
    advance(&l, 31000);
    assert_int_equal(final_of(&l.rec, 5)->cls, PB_CLASS_IN_DOUBT);
    pb_tracker_free(l.tr);
}

static void test_abort_paths(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    /* terminal aborts (customer pressed stop): declined/aborted */
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    struct pos_msg ab = msg(PB_DIR_PT, PB_KIND_ABORT);
    ab.result = PB_RESULT_ABORTED;
    send(&l, ab);
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_DECLINED);
    assert_int_equal(t->result, PB_RESULT_ABORTED);
    /* register aborts, then the approval arrives: late */
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, msg(PB_DIR_ECR, PB_KIND_ABORT));
    send(&l, result(PB_RESULT_APPROVED, 1000));
    send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_LATE_APPROVAL);
    pb_tracker_free(l.tr);
}

static void test_register_timeout_late(void **state)
{
    (void)state;
    struct lane l;
    struct pb_tracker_config c = {.register_timeout_ms = 60000};
    lane_init(&l, &answer_final, &c);
    request(&l, PB_TXN_PURCHASE, 1000);
    assert_int_equal(pb_tracker_next_deadline(l.tr), l.now.mono_us + 60000000);
    advance(&l, 61000);
    send(&l, result(PB_RESULT_APPROVED, 1000));
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_LATE_APPROVAL);
    pb_tracker_free(l.tr);
}

static void test_link_loss_and_finish(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    pb_tracker_link(l.tr, PB_DIR_PT, false, &l.now);
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_IN_DOUBT);
    assert_non_null(strstr(t->detail, "terminal link lost"));
    request(&l, PB_TXN_PURCHASE, 2000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    pb_tracker_finish(l.tr, &l.now);
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_IN_DOUBT);
    /* idle lane: link events and finish do nothing */
    unsigned n = l.rec.n;
    pb_tracker_link(l.tr, PB_DIR_ECR, false, &l.now);
    pb_tracker_finish(l.tr, &l.now);
    assert_int_equal(l.rec.n, n);
    pb_tracker_free(l.tr);
}

static void test_nak_storm_and_bad_checksum(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    for (int i = 0; i < 2; i++)
        send(&l, msg(PB_DIR_PT, PB_KIND_NAK));
    assert_non_null(pb_tracker_current(l.tr)); /* two repeats are still allowed */
    send(&l, msg(PB_DIR_PT, PB_KIND_NAK));
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_non_null(t);
    assert_int_equal(t->cls, PB_CLASS_PROTOCOL_ERROR);
    assert_int_equal(t->naks, 3);
    /* an answer with a bad checksum is not believed; the repeat is */
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    struct pos_msg bad = result(PB_RESULT_APPROVED, 9999);
    bad.checksum_ok = false;
    send(&l, bad);
    assert_non_null(pb_tracker_current(l.tr));
    send(&l, result(PB_RESULT_APPROVED, 1000));
    t = final_of(&l.rec, 2);
    assert_int_equal(t->cls, PB_CLASS_OK);
    assert_int_equal(t->checksum_errors, 1);
    pb_tracker_free(l.tr);
}

static void test_new_request_while_open(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACK));
    request(&l, PB_TXN_PURCHASE, 3000); /* different: the register moved on */
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_IN_DOUBT);
    send(&l, result(PB_RESULT_APPROVED, 3000));
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_OK);
    pb_tracker_free(l.tr);
}

static void test_void_closes_sale(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &answer_final, NULL);
    request(&l, PB_TXN_PURCHASE, 1000);
    struct pos_msg r = result(PB_RESULT_APPROVED, 1200);
    strcpy(r.receipt, "0042");
    send(&l, r);
    assert_int_equal(final_of(&l.rec, 1)->cls, PB_CLASS_OVERCHARGE);
    struct pos_msg v = msg(PB_DIR_ECR, PB_KIND_REQUEST);
    v.txn = PB_TXN_VOID;
    strcpy(v.receipt, "0042");
    send(&l, v);
    struct pos_msg vr = result(PB_RESULT_APPROVED, 1200);
    vr.flags &= ~(unsigned)PB_F_AMOUNT;
    send(&l, vr);
    const struct pb_txn *sale = final_of(&l.rec, 1);
    assert_int_equal(sale->cls, PB_CLASS_VOIDED);
    assert_int_equal(sale->related_id, 2);
    assert_int_equal(final_of(&l.rec, 2)->cls, PB_CLASS_OK);
    assert_int_equal(final_of(&l.rec, 2)->related_id, 1);
    pb_tracker_free(l.tr);
}

/* A pre-authorisation and what follows it on a line with completion (ZVT 06 22, 06 23,
 * 06 24): one of its own, approved and completed; receipt names it. */
static void preauth_step(struct lane *l, enum pb_txn_type type, int64_t amount,
                         const char *names, int64_t answered, const char *receipt)
{
    struct pos_msg m = msg(PB_DIR_ECR, PB_KIND_REQUEST);
    m.txn = type;
    m.amount = amount;
    m.flags |= PB_F_AMOUNT | PB_F_CURRENCY;
    m.currency = 978;
    if (names)
        strcpy(m.receipt, names);
    send(l, m);
    send(l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    struct pos_msg r = result(PB_RESULT_APPROVED, answered);
    strcpy(r.receipt, receipt);
    send(l, r);
    send(l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
}

/* A partial reversal's answer names what the pre-authorisation still books: it is ok
 * when that is what was held less what was released, and the pre-authorisation then
 * asks and charges that much; a wrong remainder is the reversal's discrepancy. A book
 * total replaces the reservation. A void with an amount of a receipt the bridge never
 * saw is not judged by its amounts. */
static void test_preauth_release_and_booking(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    preauth_step(&l, PB_TXN_PREAUTH, 5000, NULL, 5000, "0001");
    preauth_step(&l, PB_TXN_VOID, 2000, "0001", 3000, "0002");
    const struct pb_txn *v = final_of(&l.rec, 2), *pre = final_of(&l.rec, 1);
    assert_int_equal(v->cls, PB_CLASS_OK);
    assert_int_equal(v->related_id, 1);
    assert_int_equal(pre->cls, PB_CLASS_OK);
    assert_int_equal(pre->requested, 3000);
    assert_int_equal(pre->charged, 3000);
    assert_non_null(strstr(pre->detail, "partly released by transaction 2"));
    /* a second release that leaves more than it should */
    preauth_step(&l, PB_TXN_VOID, 1000, "0001", 2500, "0003");
    assert_int_equal(final_of(&l.rec, 3)->cls, PB_CLASS_OVERCHARGE);
    assert_non_null(strstr(final_of(&l.rec, 3)->detail, "25.00 EUR booked, not 20.00 EUR"));
    assert_int_equal(final_of(&l.rec, 1)->charged, 2500);
    assert_int_equal(final_of(&l.rec, 1)->requested, 2000);
    /* booking: the reservation asks and charges nothing of its own */
    preauth_step(&l, PB_TXN_PREAUTH, 4000, NULL, 4000, "0004");
    preauth_step(&l, PB_TXN_PURCHASE, 2500, "0004", 2500, "0005");
    assert_int_equal(final_of(&l.rec, 5)->cls, PB_CLASS_OK);
    pre = final_of(&l.rec, 4);
    assert_int_equal(pre->cls, PB_CLASS_OK);
    assert_int_equal(pre->charged, 0);
    assert_int_equal(pre->requested, 0);
    assert_int_equal(pre->related_id, 5);
    /* released whole: voided */
    preauth_step(&l, PB_TXN_PREAUTH, 1000, NULL, 1000, "0006");
    preauth_step(&l, PB_TXN_VOID, 1000, "0006", 0, "0007");
    assert_int_equal(final_of(&l.rec, 7)->cls, PB_CLASS_OK);
    assert_int_equal(final_of(&l.rec, 6)->cls, PB_CLASS_VOIDED);
    /* a receipt the bridge never saw */
    preauth_step(&l, PB_TXN_VOID, 500, "0999", 700, "0008");
    assert_int_equal(final_of(&l.rec, 8)->cls, PB_CLASS_OK);
    assert_non_null(strstr(final_of(&l.rec, 8)->detail, "did not see"));
    pb_tracker_free(l.tr);
}

static void test_status_enquiry_is_not_financial(void **state)
{
    (void)state;
    struct lane l;
    lane_init(&l, &with_completion, NULL);
    struct pos_msg s = msg(PB_DIR_ECR, PB_KIND_REQUEST);
    s.txn = PB_TXN_STATUS;
    send(&l, s);
    send(&l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(&l, msg(PB_DIR_PT, PB_KIND_COMPLETION));
    const struct pb_txn *t = final_of(&l.rec, 1);
    assert_int_equal(t->cls, PB_CLASS_OK);
    assert_false(pb_class_is_discrepancy(t->cls));
    pb_tracker_free(l.tr);
}

static void test_names(void **state)
{
    (void)state;
    for (int c = 0; c < PB_CLASS__COUNT; c++) {
        assert_int_equal(pb_class_from_name(pb_class_name((enum pb_class)c)), c);
        assert_true(strlen(pb_class_action((enum pb_class)c)) > 0);
    }
    assert_int_equal(pb_class_from_name("nonsense"), -1);
    assert_int_equal(pb_class_severity(PB_CLASS_IN_DOUBT), PB_SEV_CRITICAL);
    assert_true(pb_class_is_discrepancy(PB_CLASS_DUPLICATE));
    assert_false(pb_class_is_discrepancy(PB_CLASS_DECLINED));
}

/* The settings line a capture carries (lane/tracker.h): round trip, and every damaged
 * form refused whole, since it comes from a file. */
static void test_settings_text(void **state)
{
    (void)state;
    struct pb_tracker_config c = {.accept_timeout_ms = 300,
                                  .response_timeout_ms = 10000,
                                  .completion_timeout_ms = 0,
                                  .register_timeout_ms = 4294967295u,
                                  .duplicate_window_ms = 7,
                                  .undercharge_is_partial = true},
                             back;
    char text[256];
    int n = pb_tracker_config_format(&c, text, sizeof text);
    assert_true(n > 0 && (size_t)n < sizeof text);
    memset(&back, 0xAA, sizeof back);
    assert_int_equal(pb_tracker_config_parse(text, &back), 1);
    assert_int_equal(back.accept_timeout_ms, 300);
    assert_int_equal(back.response_timeout_ms, 10000);
    assert_int_equal(back.completion_timeout_ms, 0);
    assert_int_equal(back.register_timeout_ms, 4294967295u);
    assert_int_equal(back.duplicate_window_ms, 7);
    assert_true(back.undercharge_is_partial);
    assert_int_equal(pb_tracker_config_parse("tracker settings:", &back), 1);
    assert_int_equal(back.response_timeout_ms, 0);
    assert_false(back.undercharge_is_partial);

    assert_int_equal(pb_tracker_config_parse("posbridge started", &back), 0);
    assert_int_equal(pb_tracker_config_parse(NULL, &back), 0);
    static const char *const bad[] = {
        "tracker settings: response-timeout=10000",          /* no unit */
        "tracker settings: response-timeout=ms",             /* no number */
        "tracker settings: response-timeout=-5ms",           /* sign */
        "tracker settings: response-timeout=4294967296ms",   /* past 32 bits */
        "tracker settings: response-timeout=99999999999999999999999ms",
        "tracker settings: response-timeout=10s",
        "tracker settings: response-timeout=10msx",
        "tracker settings: colour=blue",                     /* unknown key */
        "tracker settings: undercharge-is-partial=maybe",
        "tracker settings: undercharge-is-partial",          /* no value */
        "tracker settings: =5ms",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        back.response_timeout_ms = 12345;
        if (pb_tracker_config_parse(bad[k], &back) != PB_ERR_SYNTAX)
            fail_msg("accepted: %s", bad[k]);
        assert_int_equal(back.response_timeout_ms, 12345); /* untouched */
    }
}

/* Issue of goods (ZVT, msg.h PB_F_GOODS): the register's verdict after the approved
 * status information. Its frames are the codec's to decode (tests/test_zvt.c); here,
 * what the tracker records for each verdict. */
static struct pos_msg goods(enum pb_result res, int rc, int64_t amount)
{
    struct pos_msg m = msg(PB_DIR_ECR, PB_KIND_APP_ACK);
    m.flags |= PB_F_GOODS | PB_F_RESULT_CODE;
    m.result = res;
    m.result_code = rc;
    if (amount >= 0) {
        m.flags |= PB_F_AMOUNT | PB_F_PARTIAL;
        m.amount = amount;
    }
    return m;
}

static const struct pb_txn *goods_flow(struct lane *l, struct pos_msg verdict,
                                       const struct pos_msg *after, size_t n_after)
{
    lane_init(l, &with_completion, NULL);
    request(l, PB_TXN_PURCHASE, 5000);
    send(l, msg(PB_DIR_PT, PB_KIND_ACCEPTED));
    send(l, result(PB_RESULT_APPROVED, 5000));
    send(l, verdict);
    for (size_t i = 0; i < n_after; i++)
        send(l, after[i]);
    pb_tracker_finish(l->tr, &l->now);
    assert_int_equal(count_closed(&l->rec), 1);
    const struct pb_txn *t = final_of(&l->rec, 1);
    assert_non_null(t);
    return t;
}

static void test_goods_partial_books_the_amount(void **state)
{
    (void)state;
    struct lane l;
    struct pos_msg after[] = {msg(PB_DIR_PT, PB_KIND_COMPLETION)};
    const struct pb_txn *t = goods_flow(&l, goods(PB_RESULT_APPROVED, 0x9D, 3210), after, 1);
    assert_int_equal(t->cls, PB_CLASS_OK);
    assert_int_equal(t->charged, 3210);
    assert_int_equal(t->requested, 3210);
    assert_non_null(strstr(t->detail, "partial issue of goods"));
    assert_non_null(strstr(t->detail, "50.00"));
    pb_tracker_free(l.tr);
}

static void test_goods_wait_then_issued(void **state)
{
    (void)state;
    struct lane l;
    /* please wait: the terminal asks again with the same status; then goods issued */
    struct pos_msg after[] = {result(PB_RESULT_APPROVED, 5000), msg(PB_DIR_ECR, PB_KIND_APP_ACK),
                              msg(PB_DIR_PT, PB_KIND_COMPLETION)};
    const struct pb_txn *t = goods_flow(&l, goods(PB_RESULT_NONE, 0x9C, -1), after, 3);
    assert_int_equal(t->cls, PB_CLASS_OK);
    assert_int_equal(t->charged, 5000);
    pb_tracker_free(l.tr);
}

static void test_goods_not_issued_reversed(void **state)
{
    (void)state;
    struct lane l;
    struct pos_msg rev = result(PB_RESULT_ABORTED, 5000);
    struct pos_msg after[] = {rev, msg(PB_DIR_PT, PB_KIND_ABORT)};
    const struct pb_txn *t = goods_flow(&l, goods(PB_RESULT_DECLINED, 0x66, -1), after, 2);
    assert_int_equal(t->cls, PB_CLASS_VOIDED);
    assert_false(pb_class_is_discrepancy(t->cls));
    pb_tracker_free(l.tr);
    /* the reversal as a bare abort */
    struct pos_msg after2[] = {msg(PB_DIR_PT, PB_KIND_ABORT)};
    t = goods_flow(&l, goods(PB_RESULT_DECLINED, 0x66, -1), after2, 1);
    assert_int_equal(t->cls, PB_CLASS_VOIDED);
    pb_tracker_free(l.tr);
}

static void test_goods_not_issued_but_completed(void **state)
{
    (void)state;
    struct lane l;
    struct pos_msg after[] = {msg(PB_DIR_PT, PB_KIND_COMPLETION)};
    const struct pb_txn *t = goods_flow(&l, goods(PB_RESULT_DECLINED, 0x66, -1), after, 1);
    assert_int_equal(t->cls, PB_CLASS_OVERCHARGE);
    assert_true(pb_class_is_discrepancy(t->cls));
    assert_int_equal(t->charged, 5000);
    assert_int_equal(t->requested, 0);
    assert_non_null(strstr(t->detail, "without reversing"));
    pb_tracker_free(l.tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_amount_classes),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_reference_echo),
        cmocka_unit_test(test_undercharge_as_partial_by_config),
        cmocka_unit_test(test_repeat_after_nak_is_not_a_request),
        cmocka_unit_test(test_duplicate_second_approval),
        cmocka_unit_test(test_answer_repeated_after_nak_is_not_a_duplicate),
        cmocka_unit_test(test_duplicate_window_and_new_request),
        cmocka_unit_test(test_in_doubt_by_silence_then_late),
        cmocka_unit_test(test_zvt_like_flow_and_completion),
        cmocka_unit_test(test_abort_paths),
        cmocka_unit_test(test_register_timeout_late),
        cmocka_unit_test(test_link_loss_and_finish),
        cmocka_unit_test(test_nak_storm_and_bad_checksum),
        cmocka_unit_test(test_new_request_while_open),
        cmocka_unit_test(test_void_closes_sale),
        cmocka_unit_test(test_preauth_release_and_booking),
        cmocka_unit_test(test_status_enquiry_is_not_financial),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_settings_text),
        cmocka_unit_test(test_stale_repeat_answer_final),
        cmocka_unit_test(test_stale_repeat_with_completion),
        cmocka_unit_test(test_goods_partial_books_the_amount),
        cmocka_unit_test(test_goods_wait_then_issued),
        cmocka_unit_test(test_goods_not_issued_reversed),
        cmocka_unit_test(test_goods_not_issued_but_completed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
