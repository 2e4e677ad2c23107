/* The transaction tracker: docs/DISCREPANCIES.md as a state machine.
 *
 * One lane is half duplex at the application level (Concert and ZVT both let one
 * transaction run at a time), so the tracker keeps one open transaction, plus a short
 * history of closed ones for the rules that look back: a late approval for a
 * transaction already given up, a second approval inside the duplicate window, a void
 * that closes an earlier sale. Time only arrives with the calls (docs/DESIGN.md decision 2). */
#include "tracker.h"

#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "pb_error.h"

#define HISTORY 32 /* closed transactions remembered for look-back rules */

enum phase {
    PH_IDLE,
    PH_REQUESTED, /* request seen, not yet accepted */
    PH_ACCEPTED,  /* terminal took it; waiting for the result */
    PH_RESULT,    /* result seen; waiting for completion (ZVT) */
};

/* Why an open transaction was closed without a final answer; kept in history so a late
 * answer can be told from an unsolicited one. */
enum gave_up { GAVE_UP_NO, GAVE_UP_TIMEOUT, GAVE_UP_REGISTER, GAVE_UP_LINK };

struct hist {
    struct pb_txn t;
    enum gave_up gave_up;
    int64_t closed_mono;
};

struct pb_tracker {
    const struct pb_protocol *proto;
    struct pb_tracker_config cfg;
    struct pb_track_rules rules;
    pb_txn_cb cb;
    void *ctx;
    uint64_t next_id;

    /* the open transaction */
    enum phase phase;
    struct pb_txn cur;
    struct pos_msg req; /* the request as first seen, to spot retransmissions */
    bool req_acked;     /* transport ACK seen after the request (Concert acceptance) */
    bool has_result;
    bool register_gave_up;
    int64_t register_deadline;
    int64_t deadline; /* mono us of the phase timer, -1 none */
    unsigned consecutive_naks;
    /* The frame a transport ACK/NAK answers: the last frame of the other side. */
    enum pb_kind last_frame[2];

    /* The last answer the terminal sent, until the register acknowledged it: a copy
     * sent again after a NAK or a missing ACK is a repeat, not a second charge. */
    struct pos_msg last_result;
    bool last_result_unacked;
    uint64_t last_result_txn;
    int64_t last_result_mono;

    /* Issue of goods (vending, fuel, EV charging; ZVT's register answers the approved
     * status information with its verdict, msg.h PB_F_GOODS): what it said last. */
    enum goods {
        GOODS_NONE,       /* no verdict, or goods issued */
        GOODS_WAIT,       /* not finished: the terminal sends the status information again */
        GOODS_PARTIAL,    /* only part issued: book goods_amount */
        GOODS_NOT_ISSUED, /* nothing issued: the terminal must reverse the payment */
        GOODS_REVERSED,   /* and it did (a status information that is no approval) */
    } goods;
    int64_t goods_authorised; /* the approved amount before a partial issue */
    struct pb_txn *release;   /* the pre-authorisation the open partial reversal releases */

    /* requests seen since the last closed approval (for the duplicate window rule) */
    uint64_t requests_seen;
    uint64_t requests_at_last_close;

    struct hist hist[HISTORY];
    unsigned n_hist, hist_head; /* ring */
};

/* ---- names and tables ---------------------------------------------------------------- */

struct class_info {
    const char *name;
    enum pb_severity severity;
    const char *action;
};

/* docs/DISCREPANCIES.md, "Classes". */
static const struct class_info classes[PB_CLASS__COUNT] = {
    [PB_CLASS_NONE] = {"open", PB_SEV_NONE, "none: still in flight"},
    [PB_CLASS_OK] = {"ok", PB_SEV_NONE, "none"},
    [PB_CLASS_DECLINED] = {"declined", PB_SEV_INFO,
                           "none (the register must not record a sale)"},
    [PB_CLASS_OVERCHARGE] = {"overcharge", PB_SEV_HIGH,
                             "refund the difference to the customer"},
    [PB_CLASS_UNDERCHARGE] = {"undercharge", PB_SEV_HIGH,
                              "collect the difference (second charge)"},
    [PB_CLASS_PARTIAL_APPROVAL] = {"partial_approval", PB_SEV_MEDIUM,
                                   "collect the remainder by another tender"},
    [PB_CLASS_DUPLICATE] = {"duplicate", PB_SEV_HIGH, "void or refund the extra charge"},
    [PB_CLASS_IN_DOUBT] = {"in_doubt", PB_SEV_CRITICAL,
                           "query the terminal's last transaction status before anything "
                           "else; never re-charge blindly"},
    [PB_CLASS_LATE_APPROVAL] = {"late_approval", PB_SEV_CRITICAL,
                                "void it, or record the sale"},
    [PB_CLASS_CURRENCY_MISMATCH] = {"currency_mismatch", PB_SEV_HIGH, "void and redo"},
    [PB_CLASS_REFERENCE_MISMATCH] = {"reference_mismatch", PB_SEV_HIGH,
                                     "investigate: crossed lanes or misrouted response"},
    [PB_CLASS_TYPE_MISMATCH] = {"type_mismatch", PB_SEV_HIGH, "void and redo"},
    [PB_CLASS_PROTOCOL_ERROR] = {"protocol_error", PB_SEV_MEDIUM,
                                 "check cable, baud/parity, terminal configuration"},
    [PB_CLASS_VOIDED] = {"voided", PB_SEV_NONE, "none: the sale was voided"},
};

const char *pb_class_name(enum pb_class c)
{
    return (unsigned)c < PB_CLASS__COUNT ? classes[c].name : "?";
}

int pb_class_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < PB_CLASS__COUNT; i++)
        if (strcmp(classes[i].name, name) == 0)
            return i;
    return -1;
}

enum pb_severity pb_class_severity(enum pb_class c)
{
    return (unsigned)c < PB_CLASS__COUNT ? classes[c].severity : PB_SEV_NONE;
}

const char *pb_severity_name(enum pb_severity s)
{
    static const char *const names[] = {"none", "info", "low", "medium", "high", "critical"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *pb_class_action(enum pb_class c)
{
    return (unsigned)c < PB_CLASS__COUNT ? classes[c].action : "";
}

bool pb_class_is_discrepancy(enum pb_class c)
{
    return c != PB_CLASS_NONE && c != PB_CLASS_OK && c != PB_CLASS_DECLINED &&
           c != PB_CLASS_VOIDED;
}

/* ---- helpers -------------------------------------------------------------------------- */

static bool is_financial(enum pb_txn_type t)
{
    return t == PB_TXN_PURCHASE || t == PB_TXN_REFUND || t == PB_TXN_VOID ||
           t == PB_TXN_PREAUTH;
}

static int64_t ms_to_us(uint32_t ms)
{
    return (int64_t)ms * 1000;
}

static void set_detail(struct pb_txn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(struct pb_txn *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->detail, sizeof t->detail, fmt, ap);
    va_end(ap);
}

static void add_evidence(struct pb_txn *t, const struct pos_msg *m)
{
    if (t->n_evidence >= PB_EVIDENCE_MAX) {
        /* Keep the first frames (the request) and the latest one (the outcome). */
        memmove(&t->evidence[PB_EVIDENCE_MAX / 2], &t->evidence[PB_EVIDENCE_MAX / 2 + 1],
                (PB_EVIDENCE_MAX / 2 - 1) * sizeof t->evidence[0]);
        t->n_evidence = PB_EVIDENCE_MAX - 1;
    }
    struct pb_evidence *e = &t->evidence[t->n_evidence++];
    e->dir = m->dir;
    e->offset = m->offset;
    e->length = m->length;
    e->kind = m->kind;
}

#define COPY_REF(dst, src)                                                                     \
    do {                                                                                       \
        if ((src)[0])                                                                          \
            memcpy((dst), (src), sizeof(dst));                                                 \
    } while (0)

/* Copies the outcome fields of a result message into the transaction. */
static void take_result(struct pb_txn *t, const struct pos_msg *m)
{
    t->result = m->result;
    t->result_code = (m->flags & PB_F_RESULT_CODE) ? m->result_code : -1;
    memcpy(t->result_text, m->result_text, sizeof t->result_text);
    if (m->flags & PB_F_AMOUNT) {
        t->has_charged = true;
        t->charged = m->amount;
    }
    if (m->flags & PB_F_CURRENCY)
        t->currency = m->currency;
    if (m->flags & PB_F_AMOUNT_DUE) {
        t->has_amount_due = true;
        t->amount_due = m->amount_due;
    }
    if (m->flags & PB_F_PARTIAL)
        t->partial_marker = true;
    COPY_REF(t->terminal_id, m->terminal_id);
    COPY_REF(t->trace, m->trace);
    COPY_REF(t->receipt, m->receipt);
    COPY_REF(t->reference, m->reference);
    COPY_REF(t->auth_code, m->auth_code);
    COPY_REF(t->pan, m->pan);
}

static void fmt_money(char *buf, size_t cap, int64_t v, uint16_t ccy)
{
    pb_money_format(buf, cap, v, ccy);
}

static struct hist *hist_push(struct pb_tracker *tr, const struct pb_txn *t, enum gave_up g,
                              int64_t now)
{
    struct hist *h = &tr->hist[tr->hist_head];
    tr->hist_head = (tr->hist_head + 1) % HISTORY;
    if (tr->n_hist < HISTORY)
        tr->n_hist++;
    h->t = *t;
    h->gave_up = g;
    h->closed_mono = now;
    return h;
}

/* i = 0 is the most recent. */
static struct hist *hist_get(struct pb_tracker *tr, unsigned i)
{
    if (i >= tr->n_hist)
        return NULL;
    return &tr->hist[(tr->hist_head + HISTORY - 1 - i) % HISTORY];
}

/* ---- classification ------------------------------------------------------------------- */

/* Decides the class of a transaction whose result is known. */
static enum pb_class classify(struct pb_tracker *tr, struct pb_txn *t, bool result_msg_type_set,
                              enum pb_txn_type result_type)
{
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    if (t->result != PB_RESULT_APPROVED) {
        /* Nothing charged on a decline, whatever amount the answer echoes. */
        t->has_charged = true;
        t->charged = 0;
        set_detail(t, "terminal answered %s (code %s)", pb_result_name(t->result),
                   t->result_text[0] ? t->result_text : "-");
        return PB_CLASS_DECLINED;
    }
    if (tr->register_gave_up) {
        set_detail(t, "approval arrived after the register gave up");
        return PB_CLASS_LATE_APPROVAL;
    }
    if (result_msg_type_set && result_type != PB_TXN_NONE && t->type != PB_TXN_NONE &&
        result_type != t->type) {
        set_detail(t, "register asked for %s, terminal answered %s", pb_txn_name(t->type),
                   pb_txn_name(result_type));
        return PB_CLASS_TYPE_MISMATCH;
    }
    if (t->requested_currency && t->currency && t->requested_currency != t->currency) {
        set_detail(t, "register asked in currency %03u, terminal answered in %03u",
                   t->requested_currency, t->currency);
        return PB_CLASS_CURRENCY_MISMATCH;
    }
    if (tr->req.pos_id[0] && t->pos_id[0] && strcmp(tr->req.pos_id, t->pos_id) != 0) {
        set_detail(t, "answer for POS %s, request from POS %s", t->pos_id, tr->req.pos_id);
        return PB_CLASS_REFERENCE_MISMATCH;
    }
    /* The register's own reference (PAX trace group, Concert private field) comes back
     * in the answer; another one means the answer is for some other request. */
    if (tr->req.reference[0] && t->reference[0] && strcmp(tr->req.reference, t->reference) != 0) {
        set_detail(t, "answer for reference %s, request with reference %s", t->reference,
                   tr->req.reference);
        return PB_CLASS_REFERENCE_MISMATCH;
    }
    if (!t->has_charged) {
        /* ZVT status information may omit BMP 04: the terminal approved what was asked. */
        t->has_charged = t->has_requested;
        t->charged = t->requested;
        set_detail(t, "approved; the answer names no amount, taken as requested");
        return PB_CLASS_OK;
    }
    uint16_t ccy = t->currency ? t->currency : t->requested_currency;
    fmt_money(req, sizeof req, t->requested, ccy);
    fmt_money(chg, sizeof chg, t->charged, ccy);
    if (!t->has_requested) {
        set_detail(t, "approved %s; the request named no amount", chg);
        return PB_CLASS_OK;
    }
    if (t->charged > t->requested) {
        set_detail(t, "charged %s for a request of %s", chg, req);
        return PB_CLASS_OVERCHARGE;
    }
    if (t->charged < t->requested) {
        bool partial = (t->has_amount_due && t->amount_due > 0) || t->partial_marker ||
                       tr->cfg.undercharge_is_partial;
        if (partial) {
            set_detail(t, "partially approved %s of %s", chg, req);
            return PB_CLASS_PARTIAL_APPROVAL;
        }
        set_detail(t, "charged %s for a request of %s, no partial-approval marker", chg, req);
        return PB_CLASS_UNDERCHARGE;
    }
    set_detail(t, "approved %s as requested", chg);
    return PB_CLASS_OK;
}

/* ---- closing ------------------------------------------------------------------------- */

static void emit(struct pb_tracker *tr, enum pb_txn_event ev, const struct pb_txn *t)
{
    if (tr->cb)
        tr->cb(ev, t, tr->ctx);
}

static void reset_open(struct pb_tracker *tr)
{
    tr->phase = PH_IDLE;
    tr->deadline = -1;
    tr->register_deadline = -1;
    tr->has_result = false;
    tr->register_gave_up = false;
    tr->req_acked = false;
    tr->consecutive_naks = 0;
    tr->goods = GOODS_NONE;
    tr->goods_authorised = 0;
    tr->release = NULL;
    memset(&tr->cur, 0, sizeof tr->cur);
    pb_msg_init(&tr->req);
}

/* The sale or pre-authorisation a request names by its receipt, if the bridge saw it
 * and it still holds money (a void, a release or a booking of it). */
static struct pb_txn *named_txn(struct pb_tracker *tr, bool preauth_only)
{
    if (!tr->req.receipt[0])
        return NULL;
    for (unsigned i = 0; i < tr->n_hist; i++) {
        struct pb_txn *s = &hist_get(tr, i)->t;
        bool kind = s->type == PB_TXN_PREAUTH || (!preauth_only && s->type == PB_TXN_PURCHASE);
        if (kind && s->cls != PB_CLASS_VOIDED && s->cls != PB_CLASS_DECLINED &&
            strcmp(tr->req.receipt, s->receipt) == 0)
            return s;
    }
    return NULL;
}

/* A partial reversal (a void that names a pre-authorisation and the amount it releases,
 * ZVT 06 23): its answer names what the pre-authorisation still books (docs/
 * DISCREPANCIES.md), which must be what was held less what was released. */
static enum pb_class classify_release(struct pb_txn *t, const struct pb_txn *pre)
{
    char rel[PB_MONEY_FMT_MAX], held[PB_MONEY_FMT_MAX], want[PB_MONEY_FMT_MAX],
        got[PB_MONEY_FMT_MAX];
    uint16_t ccy = t->currency ? t->currency : t->requested_currency;
    int64_t expected = pre->charged - t->requested;
    if (!t->has_charged) {
        t->has_charged = true;
        t->charged = expected;
    }
    fmt_money(rel, sizeof rel, t->requested, ccy);
    fmt_money(held, sizeof held, pre->charged, ccy);
    fmt_money(want, sizeof want, expected, ccy);
    fmt_money(got, sizeof got, t->charged, ccy);
    if (t->charged == expected) {
        set_detail(t, "released %s of the %s pre-authorisation %" PRIu64 ": %s still booked",
                   rel, held, pre->id, got);
        return PB_CLASS_OK;
    }
    set_detail(t, "released %s of the %s pre-authorisation %" PRIu64 ": %s booked, not %s", rel,
               held, pre->id, got, want);
    return t->charged > expected ? PB_CLASS_OVERCHARGE : PB_CLASS_UNDERCHARGE;
}

/* A purchase that names an approved pre-authorisation books it (ZVT 06 24): the
 * reservation no longer asks or charges anything of its own, the purchase charges what
 * was booked (docs/DISCREPANCIES.md). */
static void apply_booking(struct pb_tracker *tr, struct pb_txn *b)
{
    struct pb_txn *s = named_txn(tr, true);
    if (!s)
        return;
    char chg[PB_MONEY_FMT_MAX];
    fmt_money(chg, sizeof chg, b->charged, b->currency ? b->currency : b->requested_currency);
    s->has_requested = s->has_charged = true;
    s->requested = s->charged = 0;
    s->related_id = b->id;
    set_detail(s, "booked by transaction %" PRIu64 " for %s", b->id, chg);
    b->related_id = s->id;
    emit(tr, PB_TXN_RECLASSIFIED, s);
}

/* The partial reversal v released part of the pre-authorisation s: s now stands at what
 * v's answer says it still books, and the register asks for what it held less what was
 * released (its request, as for a partial issue of goods). Released whole, it is voided. */
static void apply_release(struct pb_tracker *tr, struct pb_txn *v, struct pb_txn *s)
{
    int64_t asked = s->charged - v->requested;
    s->has_requested = s->has_charged = true;
    s->requested = asked > 0 ? asked : 0;
    s->charged = v->charged;
    s->related_id = v->id;
    v->related_id = s->id;
    if (s->charged == 0 && s->requested == 0) {
        s->cls = PB_CLASS_VOIDED;
        set_detail(s, "released whole by transaction %" PRIu64, v->id);
    } else {
        char left[PB_MONEY_FMT_MAX];
        fmt_money(left, sizeof left, s->charged, v->currency ? v->currency : v->requested_currency);
        set_detail(s, "partly released by transaction %" PRIu64 ": %s still booked", v->id, left);
    }
    emit(tr, PB_TXN_RECLASSIFIED, s);
}

/* A void that was approved closes the sale it names (by receipt, else the latest
 * approved or in-doubt sale of the same amount) as voided. */
static void apply_void(struct pb_tracker *tr, struct pb_txn *v)
{
    for (unsigned i = 0; i < tr->n_hist; i++) {
        struct hist *h = hist_get(tr, i);
        struct pb_txn *s = &h->t;
        if (s->type != PB_TXN_PURCHASE && s->type != PB_TXN_PREAUTH)
            continue;
        if (s->cls == PB_CLASS_VOIDED || s->cls == PB_CLASS_DECLINED)
            continue;
        bool match;
        /* The void names the sale's receipt in its request; its own answer brings a
         * new receipt number of its own. */
        if (tr->req.receipt[0] && s->receipt[0])
            match = strcmp(tr->req.receipt, s->receipt) == 0;
        else
            match = v->has_requested && s->has_charged && s->charged == v->requested;
        if (!match)
            continue;
        enum pb_class was = s->cls;
        s->cls = PB_CLASS_VOIDED;
        s->related_id = v->id;
        set_detail(s, "voided by transaction %" PRIu64 " (was %s)", v->id, pb_class_name(was));
        v->related_id = s->id;
        emit(tr, PB_TXN_RECLASSIFIED, s);
        return;
    }
}

static void close_cur(struct pb_tracker *tr, enum pb_class cls, enum gave_up g,
                      const struct pb_time *now)
{
    struct pb_txn *t = &tr->cur;
    t->cls = cls;
    t->ended = *now;
    /* before reset_open(): these read the request */
    if (tr->release)
        apply_release(tr, t, tr->release);
    else if (t->type == PB_TXN_VOID && cls == PB_CLASS_OK)
        apply_void(tr, t);
    else if (t->type == PB_TXN_PURCHASE && t->result == PB_RESULT_APPROVED &&
             cls != PB_CLASS_DECLINED)
        apply_booking(tr, t);
    emit(tr, PB_TXN_CLOSED, t);
    hist_push(tr, t, g, now->mono_us);
    if (t->result == PB_RESULT_APPROVED)
        tr->requests_at_last_close = tr->requests_seen;
    reset_open(tr);
}

static void close_in_doubt(struct pb_tracker *tr, enum gave_up g, const struct pb_time *now,
                           const char *why)
{
    if (tr->phase == PH_IDLE)
        return;
    struct pb_txn *t = &tr->cur;
    if (tr->has_result && t->result != PB_RESULT_APPROVED) {
        /* A decline is final even without its completion. */
        classify(tr, t, false, PB_TXN_NONE);
        close_cur(tr, PB_CLASS_DECLINED, g, now);
        return;
    }
    if (tr->phase == PH_REQUESTED && !tr->req_acked && tr->rules.has_accept) {
        set_detail(t, "%s before the terminal accepted the request", why);
        close_cur(tr, PB_CLASS_PROTOCOL_ERROR, g, now);
        return;
    }
    if (tr->phase == PH_REQUESTED && !tr->req_acked && t->naks > 0) {
        set_detail(t, "%s; the request was refused on the line (%u NAK)", why, t->naks);
        close_cur(tr, PB_CLASS_PROTOCOL_ERROR, g, now);
        return;
    }
    if (!is_financial(t->type)) {
        set_detail(t, "%s (%s)", why, pb_txn_name(t->type));
        close_cur(tr, tr->has_result ? PB_CLASS_OK : PB_CLASS_PROTOCOL_ERROR, g, now);
        return;
    }
    if (tr->has_result)
        set_detail(t, "%s after an approval, before the completion", why);
    else
        set_detail(t, "%s: outcome unknown", why);
    close_cur(tr, PB_CLASS_IN_DOUBT, g, now);
}

/* Closes the open transaction on its final answer. */
static void close_on_result(struct pb_tracker *tr, const struct pb_time *now,
                            bool result_type_set, enum pb_txn_type result_type)
{
    struct pb_txn *t = &tr->cur;
    if (!is_financial(t->type)) {
        set_detail(t, "%s %s", pb_txn_name(t->type), pb_result_name(t->result));
        close_cur(tr, t->result == PB_RESULT_APPROVED || t->result == PB_RESULT_NONE
                          ? PB_CLASS_OK
                          : PB_CLASS_DECLINED,
                  GAVE_UP_NO, now);
        return;
    }
    if (tr->goods == GOODS_REVERSED || tr->goods == GOODS_NOT_ISSUED) {
        char chg[PB_MONEY_FMT_MAX];
        fmt_money(chg, sizeof chg, t->charged, t->currency ? t->currency : t->requested_currency);
        if (tr->goods == GOODS_REVERSED) {
            set_detail(t, "goods not issued: the terminal reversed the payment of %s", chg);
            close_cur(tr, PB_CLASS_VOIDED, GAVE_UP_NO, now);
            return;
        }
        /* The register said nothing was issued, so it now asks for nothing; the
         * terminal completed without the reversal it owed. */
        t->has_requested = true;
        t->requested = 0;
        set_detail(t, "goods not issued, but the terminal completed without reversing: %s "
                      "charged for nothing",
                   chg);
        close_cur(tr, PB_CLASS_OVERCHARGE, GAVE_UP_NO, now);
        return;
    }
    /* A void that names a receipt and an amount: a reversal checked against that amount,
     * or a partial reversal of a pre-authorisation. When the bridge never saw what it
     * names (it started later), the answer cannot be told from a discrepancy. */
    bool named = t->type == PB_TXN_VOID && t->has_requested && tr->req.receipt[0] &&
                 t->result == PB_RESULT_APPROVED && !tr->register_gave_up;
    struct pb_txn *pre = named ? named_txn(tr, true) : NULL;
    enum pb_class c;
    if (pre) {
        c = classify_release(t, pre);
        tr->release = pre; /* close_cur() moves it to what stays booked */
    } else if (named && !named_txn(tr, false) && t->has_charged && t->charged != t->requested) {
        set_detail(t, "void of receipt %s, which the bridge did not see: amounts not compared",
                   tr->req.receipt);
        c = PB_CLASS_OK;
    } else {
        c = classify(tr, t, result_type_set, result_type);
    }
    if (tr->goods == GOODS_PARTIAL && c == PB_CLASS_OK) {
        char bk[PB_MONEY_FMT_MAX], au[PB_MONEY_FMT_MAX];
        uint16_t ccy = t->currency ? t->currency : t->requested_currency;
        fmt_money(bk, sizeof bk, t->charged, ccy);
        fmt_money(au, sizeof au, tr->goods_authorised, ccy);
        set_detail(t, "partial issue of goods: the register booked %s of the %s approved", bk,
                   au);
    }
    close_cur(tr, c, GAVE_UP_NO, now);
}

/* The register's verdict on the issue of goods, after an approved status information
 * (docs/PROTOCOLS.md, ZVT issue of goods). */
static void on_goods(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    struct pb_txn *t = &tr->cur;
    if (tr->phase != PH_RESULT || t->result != PB_RESULT_APPROVED)
        return;
    add_evidence(t, m);
    if (tr->cfg.completion_timeout_ms)
        tr->deadline = now->mono_us + ms_to_us(tr->cfg.completion_timeout_ms);
    if (m->result == PB_RESULT_NONE) {
        tr->goods = GOODS_WAIT;
    } else if (m->result == PB_RESULT_APPROVED && (m->flags & PB_F_AMOUNT)) {
        /* Book only this: what the register asks for now, and what is charged. */
        tr->goods = GOODS_PARTIAL;
        tr->goods_authorised = t->has_charged ? t->charged : t->requested;
        t->has_requested = t->has_charged = true;
        t->requested = t->charged = m->amount;
    } else if (m->result != PB_RESULT_APPROVED) {
        tr->goods = GOODS_NOT_ISSUED;
    }
}

/* ---- answers with no open transaction -------------------------------------------------- */

static void open_synthetic(struct pb_tracker *tr, const struct pos_msg *m,
                           const struct pb_time *now, const struct pb_txn *like)
{
    reset_open(tr);
    struct pb_txn *t = &tr->cur;
    t->id = tr->next_id++;
    t->protocol = tr->proto->name;
    t->started = *now;
    t->latency_us = -1;
    t->result_code = -1;
    if (like) {
        t->type = like->type;
        t->has_requested = like->has_requested;
        t->requested = like->requested;
        t->requested_currency = like->requested_currency;
        memcpy(t->pos_id, like->pos_id, sizeof t->pos_id);
        t->related_id = like->id;
    } else {
        t->type = m->txn != PB_TXN_NONE ? m->txn : PB_TXN_OTHER;
    }
    add_evidence(t, m);
    take_result(t, m);
    emit(tr, PB_TXN_OPENED, t);
}

/* A result arrived while nothing was open: a late answer to a transaction given up, a
 * duplicate approval, or an unsolicited answer. */
static void orphan_result(struct pb_tracker *tr, const struct pos_msg *m,
                          const struct pb_time *now)
{
    struct hist *last = hist_get(tr, 0);
    if (last && m->result == PB_RESULT_APPROVED && last->gave_up != GAVE_UP_NO &&
        (last->t.cls == PB_CLASS_IN_DOUBT || last->t.cls == PB_CLASS_PROTOCOL_ERROR)) {
        struct pb_txn *t = &last->t;
        take_result(t, m);
        add_evidence(t, m);
        if (!t->has_charged) {
            t->has_charged = t->has_requested;
            t->charged = t->requested;
        }
        char chg[PB_MONEY_FMT_MAX];
        fmt_money(chg, sizeof chg, t->charged, t->currency ? t->currency : t->requested_currency);
        set_detail(t, "approval of %s arrived after the transaction was given up (%s)", chg,
                   last->gave_up == GAVE_UP_REGISTER ? "register moved on"
                   : last->gave_up == GAVE_UP_LINK   ? "link lost"
                                                     : "timeout");
        t->cls = PB_CLASS_LATE_APPROVAL;
        t->ended = *now;
        last->gave_up = GAVE_UP_NO; /* a second late answer is then a duplicate */
        tr->requests_at_last_close = tr->requests_seen;
        emit(tr, PB_TXN_RECLASSIFIED, t);
        return;
    }
    if (m->result == PB_RESULT_APPROVED) {
        /* Duplicate: equal approval inside the window with no new request between. */
        for (unsigned i = 0; i < tr->n_hist; i++) {
            struct hist *h = hist_get(tr, i);
            if (now->mono_us - h->closed_mono > ms_to_us(tr->cfg.duplicate_window_ms))
                break;
            if (h->t.result != PB_RESULT_APPROVED)
                continue;
            if (tr->requests_seen != tr->requests_at_last_close)
                break;
            bool same_amount = !(m->flags & PB_F_AMOUNT) || !h->t.has_charged ||
                               h->t.charged == m->amount;
            if (!same_amount)
                break;
            open_synthetic(tr, m, now, &h->t);
            struct pb_txn *t = &tr->cur;
            if (!t->has_charged) {
                t->has_charged = true;
                t->charged = h->t.charged;
            }
            char chg[PB_MONEY_FMT_MAX];
            fmt_money(chg, sizeof chg, t->charged, t->currency);
            set_detail(t, "second approval of %s for transaction %" PRIu64
                          " with no new register request",
                       chg, h->t.id);
            tr->has_result = true;
            close_cur(tr, PB_CLASS_DUPLICATE, GAVE_UP_NO, now);
            return;
        }
    }
    open_synthetic(tr, m, now, NULL);
    set_detail(&tr->cur, "%s answer with no open request", pb_result_name(m->result));
    close_cur(tr, m->result == PB_RESULT_APPROVED ? PB_CLASS_PROTOCOL_ERROR : PB_CLASS_DECLINED,
              GAVE_UP_NO, now);
}

/* ---- message handling ------------------------------------------------------------------ */

static bool same_request(const struct pos_msg *a, const struct pos_msg *b)
{
    return a->cmd == b->cmd && a->txn == b->txn && a->amount == b->amount &&
           (a->flags & PB_F_AMOUNT) == (b->flags & PB_F_AMOUNT) && a->currency == b->currency &&
           strcmp(a->pos_id, b->pos_id) == 0 && strcmp(a->receipt, b->receipt) == 0;
}

static void on_request(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (tr->phase != PH_IDLE) {
        /* Same frame again before any answer: a transport repeat (after NAK or a lost
         * ACK), not a second request. */
        if (!tr->has_result && same_request(&tr->req, m) &&
            (tr->phase == PH_REQUESTED || tr->phase == PH_ACCEPTED)) {
            tr->cur.repeats++;
            add_evidence(&tr->cur, m);
            return;
        }
        if (tr->has_result && tr->rules.result_ends_txn == false &&
            tr->cur.result == PB_RESULT_APPROVED) {
            /* A new request after the result but before the completion: the register
             * took the result; close on it. */
            close_on_result(tr, now, false, PB_TXN_NONE);
        } else {
            close_in_doubt(tr, GAVE_UP_REGISTER, now, "register sent a new request");
        }
    }
    tr->requests_seen++;
    /* The last answer stays a candidate for repeats: a register that read it but whose
     * ACK was lost sends its next request while the terminal still repeats the old
     * answer (is_result_repeat). */
    reset_open(tr);
    struct pb_txn *t = &tr->cur;
    t->id = tr->next_id++;
    t->protocol = tr->proto->name;
    t->type = m->txn != PB_TXN_NONE ? m->txn : PB_TXN_OTHER;
    t->started = *now;
    t->latency_us = -1;
    t->result_code = -1;
    if (m->flags & PB_F_AMOUNT) {
        t->has_requested = true;
        t->requested = m->amount;
    }
    if (m->flags & PB_F_CURRENCY)
        t->requested_currency = m->currency;
    COPY_REF(t->pos_id, m->pos_id);
    COPY_REF(t->receipt, m->receipt); /* for a void: the receipt it names */
    COPY_REF(t->reference, m->reference);
    add_evidence(t, m);
    tr->req = *m;
    tr->phase = PH_REQUESTED;
    uint32_t first = tr->rules.has_accept ? tr->cfg.accept_timeout_ms : tr->cfg.response_timeout_ms;
    tr->deadline = now->mono_us + ms_to_us(first);
    uint32_t reg = tr->cfg.register_timeout_ms;
    tr->register_deadline = reg ? now->mono_us + ms_to_us(reg) : -1;
    emit(tr, PB_TXN_OPENED, t);
}

static bool same_result(const struct pos_msg *a, const struct pos_msg *b)
{
    return a->result == b->result && a->amount == b->amount &&
           (a->flags & PB_F_AMOUNT) == (b->flags & PB_F_AMOUNT) && a->currency == b->currency &&
           strcmp(a->result_text, b->result_text) == 0 && strcmp(a->trace, b->trace) == 0 &&
           strcmp(a->receipt, b->receipt) == 0 && strcmp(a->pos_id, b->pos_id) == 0 &&
           strcmp(a->reference, b->reference) == 0;
}

/* The terminal sent the answer the register has not acknowledged yet, again: a repeat,
 * matched by content (docs/DISCREPANCIES.md, "a repeat stays a repeat whatever comes
 * between"). After the register's next request, an equal answer is still the old one's
 * repeat until the terminal has taken that request: a terminal that never saw the ACK
 * of its answer does not take a new request before it gives the answer up. Once it has
 * taken it (ACK, acceptance), an equal answer is the new request's own. */
static bool is_result_repeat(struct pb_tracker *tr, const struct pos_msg *m, int64_t now)
{
    int64_t window = ms_to_us(tr->cfg.accept_timeout_ms) * (tr->rules.max_repeats + 2);
    if (!tr->last_result_unacked || now - tr->last_result_mono > window ||
        !same_result(&tr->last_result, m))
        return false;
    bool newer = tr->phase != PH_IDLE && tr->cur.id != tr->last_result_txn;
    return !(newer && (tr->req_acked || tr->phase != PH_REQUESTED));
}

static void on_result(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (is_result_repeat(tr, m, now->mono_us)) {
        if (tr->phase != PH_IDLE && tr->cur.id == tr->last_result_txn) {
            tr->cur.repeats++;
            add_evidence(&tr->cur, m);
        }
        tr->last_result_mono = now->mono_us;
        return;
    }
    tr->last_result = *m;
    tr->last_result_unacked = true;
    tr->last_result_mono = now->mono_us;
    tr->last_result_txn = tr->phase != PH_IDLE ? tr->cur.id : tr->next_id;
    if (tr->phase == PH_IDLE) {
        orphan_result(tr, m, now);
        return;
    }
    struct pb_txn *t = &tr->cur;
    if (tr->has_result && tr->goods != GOODS_NONE && tr->goods != GOODS_PARTIAL) {
        /* The terminal's status again during an issue of goods: after "please wait" it
         * asks the register again; after "not issued", anything but an approval is the
         * reversal it owed. */
        add_evidence(t, m);
        if (tr->goods == GOODS_WAIT && m->result == PB_RESULT_APPROVED) {
            tr->goods = GOODS_NONE;
        } else if (tr->goods == GOODS_NOT_ISSUED && m->result != PB_RESULT_APPROVED) {
            tr->goods = GOODS_REVERSED;
        }
        return;
    }
    if (tr->has_result) {
        /* A second status information before the completion. */
        add_evidence(t, m);
        if (m->result == PB_RESULT_APPROVED && t->result == PB_RESULT_APPROVED) {
            close_on_result(tr, now, false, PB_TXN_NONE);
            /* the closed one is now the latest in history: this is its duplicate */
            orphan_result(tr, m, now);
        }
        return;
    }
    add_evidence(t, m);
    take_result(t, m);
    /* A result with the PT's own POS number may name another lane's POS. */
    COPY_REF(t->pos_id, m->pos_id);
    t->latency_us = now->mono_us - t->started.mono_us;
    tr->has_result = true;
    if (tr->register_deadline >= 0 && now->mono_us > tr->register_deadline)
        tr->register_gave_up = true;
    if (tr->rules.result_ends_txn || t->result != PB_RESULT_APPROVED) {
        /* Concert: the answer is final. ZVT: a decline is final too; its completion or
         * abort only ends the exchange. */
        close_on_result(tr, now, m->txn != PB_TXN_NONE, m->txn);
        return;
    }
    tr->phase = PH_RESULT;
    tr->deadline = tr->cfg.completion_timeout_ms
                       ? now->mono_us + ms_to_us(tr->cfg.completion_timeout_ms)
                       : -1;
    /* A result of the wrong type is final whatever the completion says. */
    if (m->txn != PB_TXN_NONE && t->type != PB_TXN_NONE && m->txn != t->type)
        close_on_result(tr, now, true, m->txn);
}

static void on_completion(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (tr->phase == PH_IDLE)
        return; /* the tail of an exchange already closed (a duplicate, a late answer) */
    struct pb_txn *t = &tr->cur;
    add_evidence(t, m);
    if (!tr->has_result) {
        if (m->result != PB_RESULT_NONE || (m->flags & PB_F_AMOUNT)) {
            /* Some terminals put the result into the completion itself. */
            take_result(t, m);
            if (t->result == PB_RESULT_NONE)
                t->result = PB_RESULT_APPROVED;
            t->latency_us = now->mono_us - t->started.mono_us;
            tr->has_result = true;
        } else if (!is_financial(t->type)) {
            t->result = PB_RESULT_APPROVED;
            tr->has_result = true;
        } else {
            set_detail(t, "completion without status information: outcome unknown");
            close_cur(tr, PB_CLASS_IN_DOUBT, GAVE_UP_NO, now);
            return;
        }
    }
    close_on_result(tr, now, false, PB_TXN_NONE);
}

static void on_abort(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (m->dir == PB_DIR_ECR) {
        /* The register gives up (ZVT 06 B0): an approval after this is late. */
        if (tr->phase != PH_IDLE) {
            add_evidence(&tr->cur, m);
            tr->register_gave_up = true;
        }
        return;
    }
    if (tr->phase == PH_IDLE)
        return;
    struct pb_txn *t = &tr->cur;
    add_evidence(t, m);
    if (tr->has_result && t->result == PB_RESULT_APPROVED &&
        (tr->goods == GOODS_NOT_ISSUED || tr->goods == GOODS_REVERSED)) {
        tr->goods = GOODS_REVERSED; /* the abort ends the payment it reversed */
        close_on_result(tr, now, false, PB_TXN_NONE);
        return;
    }
    if (tr->has_result && t->result == PB_RESULT_APPROVED) {
        set_detail(t, "terminal aborted after approving: outcome unknown");
        close_cur(tr, PB_CLASS_IN_DOUBT, GAVE_UP_NO, now);
        return;
    }
    if (!tr->has_result) {
        t->result = PB_RESULT_ABORTED;
        t->result_code = (m->flags & PB_F_RESULT_CODE) ? m->result_code : -1;
        memcpy(t->result_text, m->result_text, sizeof t->result_text);
        t->latency_us = now->mono_us - t->started.mono_us;
        tr->has_result = true;
    }
    close_on_result(tr, now, false, PB_TXN_NONE);
}

static void on_refused(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (tr->phase == PH_IDLE)
        return;
    struct pb_txn *t = &tr->cur;
    add_evidence(t, m);
    t->result = m->result != PB_RESULT_NONE ? m->result : PB_RESULT_DECLINED;
    if (t->result == PB_RESULT_APPROVED)
        t->result = PB_RESULT_DECLINED;
    t->result_code = (m->flags & PB_F_RESULT_CODE) ? m->result_code : -1;
    memcpy(t->result_text, m->result_text, sizeof t->result_text);
    t->latency_us = now->mono_us - t->started.mono_us;
    tr->has_result = true;
    close_on_result(tr, now, false, PB_TXN_NONE);
}

static void extend_response_timer(struct pb_tracker *tr, const struct pb_time *now)
{
    if (tr->phase == PH_REQUESTED || tr->phase == PH_ACCEPTED)
        tr->deadline = now->mono_us + ms_to_us(tr->cfg.response_timeout_ms);
}

void pb_tracker_msg(struct pb_tracker *tr, const struct pos_msg *m, const struct pb_time *now)
{
    if (!tr || !m || !now)
        return;
    /* A frame with a bad checksum cannot be trusted; the sender will repeat it, or the
     * transaction ends without it (in_doubt by timeout). */
    if (!m->checksum_ok || (m->flags & PB_F_CHECKSUM_BAD)) {
        if (tr->phase != PH_IDLE) {
            tr->cur.checksum_errors++;
            add_evidence(&tr->cur, m);
        }
        return;
    }
    if (m->flags & PB_F_MALFORMED) {
        if (tr->phase != PH_IDLE)
            add_evidence(&tr->cur, m);
        return;
    }
    if (m->kind != PB_KIND_ACK && m->kind != PB_KIND_NAK && m->dir <= PB_DIR_PT)
        tr->last_frame[m->dir] = m->kind;
    switch (m->kind) {
    case PB_KIND_REQUEST:
        if (m->dir != PB_DIR_PT)
            on_request(tr, m, now);
        break;
    case PB_KIND_ACCEPTED:
        if (tr->phase == PH_REQUESTED) {
            tr->phase = PH_ACCEPTED;
            tr->req_acked = true;
            tr->deadline = now->mono_us + ms_to_us(tr->cfg.response_timeout_ms);
            add_evidence(&tr->cur, m);
            /* ZVT log-off (06 02) is answered by the acceptance alone. */
            if (tr->cur.type == PB_TXN_LOGOFF) {
                tr->cur.result = PB_RESULT_APPROVED;
                tr->has_result = true;
                close_on_result(tr, now, false, PB_TXN_NONE);
            }
        }
        break;
    case PB_KIND_REFUSED:
        on_refused(tr, m, now);
        break;
    case PB_KIND_INTERMEDIATE:
    case PB_KIND_PRINT:
        /* Proof of life: the terminal is working on it (docs/DISCREPANCIES.md). */
        if (tr->phase != PH_IDLE) {
            if (m->kind == PB_KIND_INTERMEDIATE)
                tr->cur.intermediates++;
            extend_response_timer(tr, now);
        }
        break;
    case PB_KIND_RESULT:
        on_result(tr, m, now);
        break;
    case PB_KIND_COMPLETION:
        on_completion(tr, m, now);
        break;
    case PB_KIND_ABORT:
        on_abort(tr, m, now);
        break;
    case PB_KIND_NAK:
        if (tr->phase != PH_IDLE) {
            tr->cur.naks++;
            tr->consecutive_naks++;
            add_evidence(&tr->cur, m);
            /* The first try and max_repeats repeats all refused. */
            if (tr->consecutive_naks >= tr->rules.max_repeats + 1 && !tr->has_result &&
                m->dir == PB_DIR_PT) {
                set_detail(&tr->cur, "%u NAKs in a row: retries exhausted",
                           tr->consecutive_naks);
                close_cur(tr, PB_CLASS_PROTOCOL_ERROR, GAVE_UP_TIMEOUT, now);
            }
        }
        break;
    case PB_KIND_ACK:
        tr->consecutive_naks = 0;
        /* Concert has no application acceptance: the terminal's ACK of the request
         * frame is it (not its ACK of an ENQ, which comes before any request). */
        if (tr->phase == PH_REQUESTED && m->dir == PB_DIR_PT && !tr->rules.has_accept &&
            tr->last_frame[PB_DIR_ECR] == PB_KIND_REQUEST) {
            tr->req_acked = true;
            tr->phase = PH_ACCEPTED;
        }
        if (m->dir == PB_DIR_ECR && tr->last_frame[PB_DIR_PT] == PB_KIND_RESULT)
            tr->last_result_unacked = false;
        break;
    case PB_KIND_APP_ACK:
        if (m->dir == PB_DIR_ECR)
            tr->last_result_unacked = false;
        if (m->dir == PB_DIR_ECR && (m->flags & PB_F_GOODS))
            on_goods(tr, m, now);
        break;
    case PB_KIND_ENQ:
    case PB_KIND_EOT:
    case PB_KIND_OTHER:
    default:
        break;
    }
}

void pb_tracker_tick(struct pb_tracker *tr, const struct pb_time *now)
{
    if (!tr || tr->phase == PH_IDLE)
        return;
    if (tr->register_deadline >= 0 && now->mono_us >= tr->register_deadline &&
        !tr->has_result)
        tr->register_gave_up = true;
    if (tr->deadline < 0 || now->mono_us < tr->deadline)
        return;
    switch (tr->phase) {
    case PH_REQUESTED:
        close_in_doubt(tr, GAVE_UP_TIMEOUT, now,
                       tr->rules.has_accept ? "no acceptance in time" : "no answer in time");
        break;
    case PH_ACCEPTED:
        close_in_doubt(tr, GAVE_UP_TIMEOUT, now, "no result in time");
        break;
    case PH_RESULT:
        close_in_doubt(tr, GAVE_UP_TIMEOUT, now, "no completion in time");
        break;
    case PH_IDLE:
        break;
    }
}

void pb_tracker_link(struct pb_tracker *tr, enum pb_dir side, bool up, const struct pb_time *now)
{
    if (!tr || up || tr->phase == PH_IDLE)
        return;
    close_in_doubt(tr, GAVE_UP_LINK, now,
                   side == PB_DIR_PT ? "terminal link lost" : "register link lost");
}

void pb_tracker_finish(struct pb_tracker *tr, const struct pb_time *now)
{
    if (!tr || tr->phase == PH_IDLE)
        return;
    close_in_doubt(tr, GAVE_UP_LINK, now, "stream ended");
}

int64_t pb_tracker_next_deadline(const struct pb_tracker *tr)
{
    if (!tr || tr->phase == PH_IDLE)
        return -1;
    int64_t d = tr->deadline;
    if (tr->register_deadline >= 0 && !tr->register_gave_up &&
        (d < 0 || tr->register_deadline < d))
        d = tr->register_deadline;
    return d;
}

const struct pb_txn *pb_tracker_current(const struct pb_tracker *tr)
{
    return tr && tr->phase != PH_IDLE ? &tr->cur : NULL;
}

int pb_tracker_config_format(const struct pb_tracker_config *c, char *buf, size_t cap)
{
    return snprintf(buf, cap,
                    PB_TRACKER_SETTINGS_PREFIX " accept-timeout=%" PRIu32 "ms response-timeout=%" PRIu32
                    "ms completion-timeout=%" PRIu32 "ms register-timeout=%" PRIu32
                    "ms duplicate-window=%" PRIu32 "ms undercharge-is-partial=%s",
                    c->accept_timeout_ms, c->response_timeout_ms, c->completion_timeout_ms,
                    c->register_timeout_ms, c->duplicate_window_ms,
                    c->undercharge_is_partial ? "yes" : "no");
}

/* The comment comes from a capture file: hostile. Every word must be KEY=VALUE with a
 * known key and a value in range, or the whole line is refused. */
int pb_tracker_config_parse(const char *text, struct pb_tracker_config *out)
{
    static const struct {
        const char *key;
        size_t off;
    } ms_keys[] = {
        {"accept-timeout", offsetof(struct pb_tracker_config, accept_timeout_ms)},
        {"response-timeout", offsetof(struct pb_tracker_config, response_timeout_ms)},
        {"completion-timeout", offsetof(struct pb_tracker_config, completion_timeout_ms)},
        {"register-timeout", offsetof(struct pb_tracker_config, register_timeout_ms)},
        {"duplicate-window", offsetof(struct pb_tracker_config, duplicate_window_ms)},
    };
    size_t plen = strlen(PB_TRACKER_SETTINGS_PREFIX);
    if (!text || strncmp(text, PB_TRACKER_SETTINGS_PREFIX, plen) != 0)
        return 0;
    struct pb_tracker_config c = {0};
    const char *p = text + plen;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ' ');
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end)
            return PB_ERR_SYNTAX;
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vlen = (size_t)(end - v);
        bool known = false;
        for (size_t k = 0; k < sizeof ms_keys / sizeof ms_keys[0]; k++) {
            if (strlen(ms_keys[k].key) != klen || strncmp(p, ms_keys[k].key, klen) != 0)
                continue;
            uint64_t n = 0;
            size_t j = 0;
            for (; j < vlen && v[j] >= '0' && v[j] <= '9'; j++) {
                n = n * 10 + (uint64_t)(v[j] - '0');
                if (n > UINT32_MAX)
                    return PB_ERR_SYNTAX;
            }
            if (j == 0 || vlen - j != 2 || strncmp(v + j, "ms", 2) != 0)
                return PB_ERR_SYNTAX;
            *(uint32_t *)((char *)&c + ms_keys[k].off) = (uint32_t)n;
            known = true;
        }
        if (klen == strlen("undercharge-is-partial") &&
            strncmp(p, "undercharge-is-partial", klen) == 0) {
            if (vlen == 3 && strncmp(v, "yes", 3) == 0)
                c.undercharge_is_partial = true;
            else if (!(vlen == 2 && strncmp(v, "no", 2) == 0))
                return PB_ERR_SYNTAX;
            known = true;
        }
        if (!known)
            return PB_ERR_SYNTAX;
        p = end;
    }
    *out = c;
    return 1;
}

int pb_tracker_new(const struct pb_protocol *p, const struct pb_tracker_config *cfg,
                   pb_txn_cb cb, void *ctx, struct pb_tracker **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!p)
        return PB_ERR_INVAL;
    struct pb_tracker *tr = calloc(1, sizeof *tr);
    if (!tr)
        return PB_ERR_NOMEM;
    tr->proto = p;
    tr->rules = p->rules;
    if (cfg)
        tr->cfg = *cfg;
    if (!tr->cfg.accept_timeout_ms)
        tr->cfg.accept_timeout_ms = p->rules.accept_timeout_ms ? p->rules.accept_timeout_ms : 5000;
    if (!tr->cfg.response_timeout_ms)
        tr->cfg.response_timeout_ms =
            p->rules.response_timeout_ms ? p->rules.response_timeout_ms : 120000;
    if (!tr->cfg.completion_timeout_ms)
        tr->cfg.completion_timeout_ms = p->rules.completion_timeout_ms;
    if (!tr->cfg.duplicate_window_ms)
        tr->cfg.duplicate_window_ms = 120000;
    tr->cb = cb;
    tr->ctx = ctx;
    tr->next_id = 1;
    reset_open(tr);
    *out = tr;
    return PB_OK;
}

void pb_tracker_free(struct pb_tracker *tr)
{
    free(tr);
}
