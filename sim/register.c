/* The simulated register: one step loop over the three line disciplines of
 * protocols/line.h, each played from the protocol's description:
 *
 * Handshake: ENQ, wait ACK (ENQ up to max_tries); request, wait ACK (repeated on NAK or
 * silence); EOT. Then wait for the terminal's ENQ until the give-up time, ACK it, take
 * the answer (NAK a bad checksum), ACK, and the terminal's EOT ends it. An ENQ from the
 * terminal at any other time is answered too: a late or duplicate answer.
 *
 * Frame-ACK: request, wait ACK (repeated on NAK or silence; some protocols then send
 * EOT); then wait for the answer until the give-up time, ACK it (NAK a bad checksum).
 * There is no abort message: giving up is silence, and an answer that still comes is
 * ACKed and reported as late. An answer that comes before the ACK of the request proves
 * the request taken.
 *
 * Master: command, wait ACK, wait for the terminal's application-level acceptance; then
 * ACK every terminal frame and acknowledge each of its messages at application level
 * until the completion or abort. At the give-up time (or an ecr-abort fault) send an
 * abort and stop waiting; messages that still come are acknowledged and reported as
 * late. */
#include "register.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"

#define FRAME_MAX 1200

enum state {
    R_GAP, /* between steps */
    R_DONE,
    RH_ENQ_SENT,
    RH_REQ_SENT,
    RH_STATUS_EOT, /* status probe: ACK came, EOT sent */
    RH_WAIT_PT_ENQ,
    RH_WAIT_ANSWER,
    RH_WAIT_PT_EOT,
    RM_CMD_SENT,
    RM_WAIT_ACCEPT,
    RM_MASTER,
    RA_REQ_SENT,    /* frame-ACK: request sent, ACK awaited */
    RA_WAIT_ANSWER, /* request ACKed, answer awaited until the give-up time */
};

struct sim_register {
    struct sim_register_config cfg;
    const struct pb_discipline *disc; /* how the protocol behaves on the line */
    struct sim_rng *rng;
    struct sim_wire *wire;
    sim_outcome_cb cb;
    void *cb_ctx;
    const struct sim_settings *set;
    uint16_t currency;

    enum state state;
    int64_t deadline;   /* state timer, -1 none */
    int64_t give_up_at; /* -1 none */
    int64_t abort_at;   /* ecr-abort fault, -1 none */
    unsigned tries;
    bool started;

    size_t next_step;
    const struct sim_step *step;
    struct sim_plan plan;
    unsigned tx_frames, rx_frames, rx_attempt;
    bool rx_last_ok;
    /* ecr-lose-ack: the frame acted on whose ACK was lost, and how many of its arrivals
     * lose their ACK; its copies are ACKed (or not) but never acted on again */
    uint8_t lost[FRAME_MAX];
    size_t lost_len;
    unsigned lost_k, lost_seen;
    void *joiner; /* the protocol's, for answers in several frames; NULL: none */
    /* ecr-goods: the issue of goods in the current step */
    unsigned goods_waits; /* "please wait" answers sent */
    bool goods_again;     /* the terminal's status is due again after a "please wait" */
    bool goods_done;      /* the partial or not-issued verdict was sent */
    bool goods_none;      /* it was "not issued": a reversal is owed */
    bool goods_reversed;  /* and a status that is no approval came */
    int64_t sent_at;

    struct sim_outcome cur; /* the step being played */
    bool has_cur;
    struct sim_outcome prev; /* played, not yet reported (late answers still count) */
    bool has_prev;
    bool gave_up_last;

    /* handshake: an answer the PT pushes outside our own exchange */
    bool unsolicited;
    enum state resume;
    int64_t resume_deadline;

    uint8_t tx[FRAME_MAX];
    size_t tx_len;
    unsigned tx_nth;

    /* receipts of approved sales and pre-authorisations by step, for "void of N" and
     * what is done with a pre-authorisation */
    struct {
        unsigned step;
        enum sim_action action; /* SALE or PREAUTH */
        char receipt[PB_REF_MAX];
        char trace[PB_REF_MAX];
        int64_t amount; /* a pre-authorisation: what it still holds */
    } sales[256];
    unsigned n_sales;
    int target; /* the sales[] entry the current step names, or -1 */
};

/* ---- small helpers -------------------------------------------------------------------- */

static void set_timer(struct sim_register *r, enum state s, int64_t now, uint32_t ms)
{
    r->state = s;
    r->deadline = now + (int64_t)ms * 1000;
}

static uint32_t step_timeout(const struct sim_register *r)
{
    return r->step && r->step->timeout_ms ? r->step->timeout_ms : r->cfg.timeout_ms;
}

/* The class the register believes, from what it saw of this step. */
static enum pb_class believe(const struct sim_outcome *o)
{
    if (o->transport_failed && o->answers == 0)
        return PB_CLASS_PROTOCOL_ERROR;
    if (o->answers == 0)
        return PB_CLASS_IN_DOUBT;
    if (o->result != PB_RESULT_APPROVED)
        return o->late ? PB_CLASS_IN_DOUBT : PB_CLASS_DECLINED;
    if (o->late)
        return PB_CLASS_LATE_APPROVAL;
    if (o->answers > 1)
        return PB_CLASS_DUPLICATE;
    return o->belief; /* set from the answer's content when it came */
}

/* Content checks on one approved answer (docs/DISCREPANCIES.md order). */
static enum pb_class content_class(const struct sim_register *r, const struct pos_msg *a,
                                   const struct sim_outcome *o, enum pb_txn_type asked)
{
    if (a->txn != PB_TXN_NONE && asked != PB_TXN_NONE && a->txn != asked &&
        o->action != SIM_ACT_STATUS && o->action != SIM_ACT_END_OF_DAY)
        return PB_CLASS_TYPE_MISMATCH;
    if (r->disc->currency_on_wire && (a->flags & PB_F_CURRENCY) && a->currency &&
        a->currency != r->currency)
        return PB_CLASS_CURRENCY_MISMATCH;
    if ((r->disc->echoes & PB_ECHO_POS_ID) && a->pos_id[0] &&
        strcmp(a->pos_id, r->set->pos_id) != 0)
        return PB_CLASS_REFERENCE_MISMATCH;
    if ((r->disc->echoes & PB_ECHO_REFERENCE) && a->reference[0]) {
        char ours[16]; /* the request's reference: the step's number */
        snprintf(ours, sizeof ours, "%u", o->index);
        if (strcmp(a->reference, ours) != 0)
            return PB_CLASS_REFERENCE_MISMATCH;
    }
    if (!o->has_requested || !o->has_charged || o->action == SIM_ACT_VOID)
        return PB_CLASS_OK;
    if (o->charged > o->requested)
        return PB_CLASS_OVERCHARGE;
    if (o->charged < o->requested)
        return o->partial ? PB_CLASS_PARTIAL_APPROVAL : PB_CLASS_UNDERCHARGE;
    return PB_CLASS_OK;
}

/* Remembers an approved sale or pre-authorisation so that a later step can name it; a
 * partial reversal leaves its pre-authorisation holding what the terminal says it
 * still books. */
static void remember_sale(struct sim_register *r, const struct sim_outcome *o)
{
    if (o->result != PB_RESULT_APPROVED || o->answers == 0)
        return;
    if (o->action == SIM_ACT_PARTIAL_REVERSAL && r->target >= 0 && o->has_charged)
        r->sales[r->target].amount = o->charged;
    if ((o->action == SIM_ACT_SALE || o->action == SIM_ACT_PREAUTH) &&
        r->n_sales < sizeof r->sales / sizeof r->sales[0]) {
        r->sales[r->n_sales].step = o->index;
        r->sales[r->n_sales].action = o->action;
        memcpy(r->sales[r->n_sales].receipt, o->receipt, PB_REF_MAX);
        memcpy(r->sales[r->n_sales].trace, o->trace, PB_REF_MAX);
        r->sales[r->n_sales].amount = o->has_charged ? o->charged : o->requested;
        r->n_sales++;
    }
}

static void report(struct sim_register *r, struct sim_outcome *o)
{
    o->belief = believe(o);
    if (r->cb)
        r->cb(o, r->cb_ctx);
}

static void flush_prev(struct sim_register *r)
{
    if (r->has_prev) {
        r->has_prev = false;
        report(r, &r->prev);
    }
}

/* The terminal took this step's request: answers from now on are this step's, so the
 * step before can be reported. */
static void mark_accepted(struct sim_register *r)
{
    r->cur.accepted = true;
    flush_prev(r);
}

/* The outcome a late or unsolicited answer belongs to. */
static struct sim_outcome *answer_owner(struct sim_register *r)
{
    if (r->has_cur && (r->cur.accepted || r->cur.answers > 0))
        return &r->cur;
    if (r->has_prev)
        return &r->prev;
    return r->has_cur ? &r->cur : NULL;
}

static void record_answer(struct sim_register *r, struct sim_outcome *o, const struct pos_msg *a,
                          int64_t now)
{
    bool after_give_up = o->gave_up;
    o->answers++;
    if (o->answers == 1) {
        o->result = a->result;
        o->code = (a->flags & PB_F_RESULT_CODE) ? a->result_code : -1;
        if (a->flags & PB_F_AMOUNT) {
            o->has_charged = true;
            o->charged = a->result == PB_RESULT_APPROVED ? a->amount : 0;
        }
        o->answer_currency = (a->flags & PB_F_CURRENCY) ? a->currency : 0;
        o->partial =
            (a->flags & PB_F_PARTIAL) || ((a->flags & PB_F_AMOUNT_DUE) && a->amount_due > 0);
        /* Where the answer has no receipt, its trace names the transaction for a void. */
        memcpy(o->receipt, a->receipt[0] ? a->receipt : a->trace, PB_REF_MAX);
        memcpy(o->trace, a->trace, PB_REF_MAX);
        o->latency_us = r->sent_at ? now - r->sent_at : -1;
        o->late = after_give_up;
        if (a->result == PB_RESULT_APPROVED)
            o->belief = content_class(r, a, o, sim_action_txn(o->action));
    } else if (after_give_up) {
        o->late = true;
    }
}

/* ---- step loop ------------------------------------------------------------------------ */

static void start_step(struct sim_register *r, int64_t now);

static void end_step(struct sim_register *r, int64_t now)
{
    r->give_up_at = -1;
    r->abort_at = -1;
    if (r->has_cur) {
        flush_prev(r);
        r->prev = r->cur;
        r->has_prev = true;
        remember_sale(r, &r->prev);
        r->has_cur = false;
        r->gave_up_last = r->prev.gave_up;
    }
    sim_wire_set_plan(r->wire, NULL);
    const struct sim_step *next = sim_scenario_step(r->cfg.scenario, r->next_step);
    uint32_t wait = r->set->gap_ms + (next ? next->pause_ms : 0);
    if (!next) {
        uint32_t linger =
            r->cfg.linger_ms ? r->cfg.linger_ms : (r->gave_up_last ? r->cfg.ack_timeout_ms : 300);
        wait = linger;
    }
    set_timer(r, R_GAP, now, wait);
}

static void build_request(struct sim_register *r, struct pos_msg *m)
{
    const struct sim_step *s = r->step;
    pb_msg_init(m);
    m->proto = r->cfg.proto;
    m->dir = PB_DIR_ECR;
    m->kind = PB_KIND_REQUEST;
    m->txn = sim_action_txn(s->action);
    if (s->has_amount) {
        m->flags |= PB_F_AMOUNT;
        m->amount = s->amount;
    }
    if (r->disc->currency_on_wire) {
        m->flags |= PB_F_CURRENCY;
        m->currency = r->currency;
    }
    struct pb_request_facts f = {.pos_id = r->set->pos_id, .seq = s->index};
    r->target = -1;
    bool on_preauth = s->action == SIM_ACT_PARTIAL_REVERSAL || s->action == SIM_ACT_BOOK_TOTAL;
    if (s->action == SIM_ACT_VOID || on_preauth) {
        /* what it names: step N's sale or pre-authorisation, or the last approved sale
         * (a void) or pre-authorisation */
        for (unsigned i = r->n_sales; i-- > 0;) {
            if (s->void_of ? r->sales[i].step != s->void_of
                           : r->sales[i].action != (on_preauth ? SIM_ACT_PREAUTH : SIM_ACT_SALE))
                continue;
            r->target = (int)i;
            f.has_void_target = true;
            f.target_type = r->sales[i].action == SIM_ACT_PREAUTH ? PB_TXN_PREAUTH
                                                                   : PB_TXN_PURCHASE;
            memcpy(f.void_receipt, r->sales[i].receipt, PB_REF_MAX);
            memcpy(f.target_trace, r->sales[i].trace, PB_REF_MAX);
            f.void_amount = r->sales[i].amount;
            break;
        }
    }
    if (r->target >= 0 && s->action != SIM_ACT_BOOK_TOTAL) {
        /* A void takes back what the sale charged; a partial reversal leaves the
         * pre-authorisation holding the rest, which its answer names. */
        int64_t held = r->sales[r->target].amount;
        r->cur.requested = s->action == SIM_ACT_PARTIAL_REVERSAL ? held - s->amount : held;
        r->cur.has_requested = true;
    }
    r->disc->shape_request(m, &f);
}

static void transmit(struct sim_register *r, int64_t now, bool first)
{
    if (first) {
        r->tx_nth = ++r->tx_frames;
        r->tries = 0;
    }
    r->tries++;
    if (!r->tx_len)
        return;
    /* ecr-drop-link: the register's cable is pulled halfway through its request. */
    const struct sim_fault *d = sim_plan_find(&r->plan, SIM_FAULT_DROP_LINK);
    size_t cut = 0;
    if (d && r->tx_nth == 1 && r->tries == 1)
        cut = d->bytes ? d->bytes : (r->tx_len / 2 ? r->tx_len / 2 : 1);
    sim_wire_send_frame(r->wire, r->tx, r->tx_len, r->tx_nth, r->tries, cut, now);
    if (cut) {
        sim_wire_flush(r->wire, INT64_MAX);
        sim_wire_cut(r->wire, now + (int64_t)d->ms * 1000);
        pb_info("register: transaction %u: link dropped after %zu bytes of the request",
                r->cur.index, cut);
    }
}

static int encode(struct sim_register *r, const struct pos_msg *m)
{
    int n = r->cfg.proto->encode(m, r->tx, sizeof r->tx);
    if (n < 0) {
        pb_error("register: cannot encode %s %s: %s", pb_kind_name(m->kind), pb_txn_name(m->txn),
                 pb_strerror(n));
        r->tx_len = 0;
        return n;
    }
    r->tx_len = (size_t)n;
    return n;
}

/* Acknowledges a terminal message at application level (unless the ecr-no-app-ack fault
 * says not). */
static void app_ack(struct sim_register *r, int64_t now)
{
    if (sim_plan_find(&r->plan, SIM_FAULT_NO_APP_ACK))
        return;
    struct pos_msg m;
    pb_msg_init(&m);
    m.proto = r->cfg.proto;
    m.dir = PB_DIR_ECR;
    m.kind = PB_KIND_APP_ACK;
    if (encode(r, &m) > 0)
        transmit(r, now, true);
}

static void send_request(struct sim_register *r, int64_t now)
{
    struct pos_msg m;
    build_request(r, &m);
    if (encode(r, &m) < 0) {
        r->cur.transport_failed = true;
        end_step(r, now);
        return;
    }
    r->sent_at = now;
    transmit(r, now, true);
    static const enum state sent[] = {
        [PB_LINE_HANDSHAKE] = RH_REQ_SENT,
        [PB_LINE_MASTER] = RM_CMD_SENT,
        [PB_LINE_FRAME_ACK] = RA_REQ_SENT,
    };
    set_timer(r, sent[r->disc->kind], now, r->cfg.ack_timeout_ms);
    const struct sim_fault *ab = sim_plan_find(&r->plan, SIM_FAULT_ECR_ABORT);
    if (ab)
        r->abort_at = now + (int64_t)ab->ms * 1000;
}

static void hs_enq(struct sim_register *r, int64_t now, bool first)
{
    if (first)
        r->tries = 0;
    r->tries++;
    sim_wire_send_control(r->wire, PB_ENQ, now);
    set_timer(r, RH_ENQ_SENT, now, r->cfg.ack_timeout_ms);
}

static void start_step(struct sim_register *r, int64_t now)
{
    const struct sim_scenario *sc = r->cfg.scenario;
    for (;;) {
        r->step = sim_scenario_step(sc, r->next_step);
        if (!r->step) {
            flush_prev(r);
            r->state = R_DONE;
            r->deadline = -1;
            return;
        }
        r->next_step++;
        if (sim_action_supported(r->cfg.proto, r->step->action))
            break;
        struct sim_outcome o;
        memset(&o, 0, sizeof o);
        o.index = r->step->index;
        o.line = r->step->line;
        o.action = r->step->action;
        o.skipped = true;
        o.code = -1;
        o.latency_us = -1;
        o.expect = r->step->expect;
        flush_prev(r);
        if (r->cb)
            r->cb(&o, r->cb_ctx);
    }
    const struct sim_step *s = r->step;
    memset(&r->cur, 0, sizeof r->cur);
    r->has_cur = true;
    r->cur.index = s->index;
    r->cur.line = s->line;
    r->cur.action = s->action;
    r->cur.has_requested = s->has_amount;
    r->cur.requested = s->amount;
    r->cur.currency = r->currency;
    r->cur.code = -1;
    r->cur.latency_us = -1;
    r->cur.expect = s->expect;
    r->cur.belief = PB_CLASS_OK;
    sim_plan_clear(&r->plan);
    for (size_t i = 0; i < s->n_faults; i++)
        if (s->faults[i].side == SIM_SIDE_ECR && sim_fault_fires(&s->faults[i], s->index, r->rng))
            sim_plan_add(&r->plan, &s->faults[i]);
    size_t ng = 0;
    const struct sim_fault *g = sim_scenario_faults(sc, &ng);
    sim_plan_select(&r->plan, g, ng, SIM_SIDE_ECR, s->index, r->rng);
    sim_plan_select(&r->plan, r->cfg.faults, r->cfg.n_faults, SIM_SIDE_ECR, s->index, r->rng);
    sim_wire_set_plan(r->wire, &r->plan);
    r->tx_frames = r->rx_frames = r->rx_attempt = 0;
    r->rx_last_ok = true;
    r->sent_at = 0;
    r->goods_waits = 0;
    r->goods_again = r->goods_done = r->goods_none = r->goods_reversed = false;
    r->give_up_at = -1;
    r->abort_at = -1;
    pb_debug("register: step %u: %s", s->index, sim_action_name(s->action));
    if (r->disc->kind == PB_LINE_HANDSHAKE)
        hs_enq(r, now, true);
    else
        send_request(r, now);
}

/* ---- giving up ------------------------------------------------------------------------ */

static void give_up(struct sim_register *r, int64_t now, const char *why)
{
    pb_info("register: transaction %u: %s", r->cur.index, why);
    r->cur.gave_up = true;
    r->give_up_at = -1;
    r->abort_at = -1;
    if (r->disc->kind == PB_LINE_MASTER && r->cur.accepted) {
        /* Tell the master terminal to stop; what still comes is late. */
        struct pos_msg m;
        pb_msg_init(&m);
        m.proto = r->cfg.proto;
        m.dir = PB_DIR_ECR;
        m.kind = PB_KIND_ABORT;
        if (encode(r, &m) > 0)
            transmit(r, now, true);
    }
    end_step(r, now);
}

/* ---- handshake discipline ---------------------------------------------------------- */

static void hs_unsolicited_enq(struct sim_register *r, int64_t now)
{
    /* The PT wants the line outside our exchange: a late or duplicate answer. */
    r->unsolicited = true;
    r->resume = r->state;
    r->resume_deadline = r->deadline;
    sim_wire_send_control(r->wire, PB_ACK, now);
    r->rx_attempt = 0;
    set_timer(r, RH_WAIT_ANSWER, now, r->cfg.ack_timeout_ms);
}

static void hs_after_answer(struct sim_register *r, int64_t now)
{
    if (r->unsolicited) {
        r->unsolicited = false;
        if (r->resume == RH_ENQ_SENT && r->has_cur && !r->cur.accepted) {
            hs_enq(r, now, true); /* our own step starts over */
        } else if (r->resume == RH_WAIT_PT_ENQ) {
            r->state = RH_WAIT_PT_ENQ;
            r->deadline = r->give_up_at;
        } else {
            r->state = r->resume;
            r->deadline = r->resume_deadline < now ? now : r->resume_deadline;
        }
        return;
    }
    end_step(r, now);
}

static void hs_control(struct sim_register *r, uint8_t b, int64_t now)
{
    switch (r->state) {
    case RH_ENQ_SENT:
        if (b == PB_ACK) {
            if (r->step->action == SIM_ACT_STATUS) {
                /* liveness probe: ENQ, ACK, EOT */
                sim_wire_send_control(r->wire, PB_EOT, now);
                mark_accepted(r);
                r->cur.answers = 1;
                r->cur.result = PB_RESULT_APPROVED;
                end_step(r, now);
            } else {
                send_request(r, now);
            }
        } else if (b == PB_ENQ) {
            hs_unsolicited_enq(r, now);
        } else if (b == PB_NAK) {
            if (r->tries >= r->disc->max_tries) {
                r->cur.transport_failed = true;
                end_step(r, now);
            } else {
                hs_enq(r, now, false);
            }
        }
        break;
    case RH_REQ_SENT:
        if (b == PB_ACK) {
            sim_wire_send_control(r->wire, PB_EOT, now);
            mark_accepted(r);
            r->give_up_at = now + (int64_t)step_timeout(r) * 1000;
            r->state = RH_WAIT_PT_ENQ;
            r->deadline = r->give_up_at;
        } else if (b == PB_NAK) {
            if (r->tries >= r->disc->max_tries) {
                sim_wire_send_control(r->wire, PB_EOT, now);
                r->cur.transport_failed = true;
                end_step(r, now);
            } else {
                transmit(r, now, false);
                set_timer(r, RH_REQ_SENT, now, r->cfg.ack_timeout_ms);
            }
        }
        break;
    case RH_WAIT_PT_ENQ:
        if (b == PB_ENQ) {
            sim_wire_send_control(r->wire, PB_ACK, now);
            r->rx_attempt = 0;
            set_timer(r, RH_WAIT_ANSWER, now, r->cfg.ack_timeout_ms);
        }
        break;
    case RH_WAIT_PT_EOT:
        if (b == PB_EOT)
            hs_after_answer(r, now);
        else if (b == PB_ENQ) /* EOT lost and a new answer starts */
            hs_unsolicited_enq(r, now);
        break;
    case RH_WAIT_ANSWER:
        if (b == PB_EOT) /* the PT gave up sending */
            hs_after_answer(r, now);
        break;
    case R_GAP:
    case R_DONE:
        if (b == PB_ENQ)
            hs_unsolicited_enq(r, now);
        break;
    default:
        break;
    }
}

/* A copy of the frame whose ACK was lost (ecr-lose-ack): the terminal repeats it, perhaps
 * after this register has moved on to its next request. It was acted on already. */
static bool lost_ack_copy(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    if (!r->lost_len || f->payload_len != r->lost_len || !f->checksum_ok ||
        memcmp(f->payload, r->lost, r->lost_len) != 0)
        return false;
    if (++r->lost_seen >= r->lost_k) {
        sim_wire_send_control(r->wire, PB_ACK, now);
        r->lost_len = 0;
    }
    pb_debug("register: a repeat of a frame already taken (its ACK was lost)");
    return true;
}

/* ACKs a frame the register acts on; on ecr-lose-ack the ACK is lost on the line instead,
 * and the frame remembered so that the terminal's repeats of it are not acted on. */
static void send_ack(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    unsigned k = 0;
    while (k < 8 && sim_plan_loses_ack(&r->plan, r->rx_frames, r->rx_attempt + k))
        k++;
    if (k && f->payload_len <= sizeof r->lost) {
        memcpy(r->lost, f->payload, f->payload_len);
        r->lost_len = f->payload_len;
        r->lost_k = k;
        r->lost_seen = 1;
        pb_info("register: transaction %u: the ACK of frame %u is lost on the line",
                r->cur.index, r->rx_frames);
        return;
    }
    sim_wire_send_control(r->wire, PB_ACK, now);
}

static void hs_frame(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    if (lost_ack_copy(r, f, now))
        return;
    if (r->state != RH_WAIT_ANSWER) {
        pb_debug("register: frame outside an answer exchange ignored");
        return;
    }
    if (r->rx_attempt == 0 || r->rx_last_ok)
        r->rx_frames++;
    r->rx_attempt++;
    if (!f->checksum_ok || sim_plan_naks(&r->plan, r->rx_frames, r->rx_attempt)) {
        r->rx_last_ok = false;
        sim_wire_send_control(r->wire, PB_NAK, now);
        set_timer(r, RH_WAIT_ANSWER, now, r->cfg.ack_timeout_ms);
        return;
    }
    r->rx_last_ok = true;
    if (sim_plan_withholds_ack(&r->plan, r->rx_frames, r->rx_attempt)) {
        r->rx_last_ok = false;
        set_timer(r, RH_WAIT_ANSWER, now, r->cfg.ack_timeout_ms);
        return;
    }
    struct pos_msg m;
    int d = r->cfg.proto->decode(f, PB_DIR_PT, &m);
    send_ack(r, f, now);
    if (d >= 0 && m.kind == PB_KIND_RESULT) {
        struct sim_outcome *o = r->unsolicited ? answer_owner(r) : &r->cur;
        if (o)
            record_answer(r, o, &m, now);
    }
    set_timer(r, RH_WAIT_PT_EOT, now, r->cfg.ack_timeout_ms);
}

static void hs_timer(struct sim_register *r, int64_t now)
{
    switch (r->state) {
    case RH_ENQ_SENT:
        if (r->tries >= r->disc->max_tries) {
            pb_warn("register: transaction %u: terminal does not answer ENQ", r->cur.index);
            r->cur.transport_failed = true;
            end_step(r, now);
        } else {
            hs_enq(r, now, false);
        }
        break;
    case RH_REQ_SENT:
        if (r->tries >= r->disc->max_tries) {
            sim_wire_send_control(r->wire, PB_EOT, now);
            r->cur.transport_failed = true;
            end_step(r, now);
        } else {
            transmit(r, now, false);
            set_timer(r, RH_REQ_SENT, now, r->cfg.ack_timeout_ms);
        }
        break;
    case RH_WAIT_PT_ENQ:
        give_up(r, now, "no answer from the terminal; giving up");
        break;
    case RH_WAIT_ANSWER:
    case RH_WAIT_PT_EOT:
        if (r->unsolicited) {
            hs_after_answer(r, now);
        } else if (r->cur.answers > 0) {
            end_step(r, now);
        } else if (r->give_up_at >= 0 && now < r->give_up_at) {
            r->state = RH_WAIT_PT_ENQ; /* the PT may try again */
            r->deadline = r->give_up_at;
        } else {
            give_up(r, now, "answer never completed; giving up");
        }
        break;
    default:
        break;
    }
}

/* ---- master discipline -------------------------------------------------------------- */

static void master_control(struct sim_register *r, uint8_t b, int64_t now)
{
    if (b == PB_NAK) {
        /* NAK of our last frame: repeat it, up to max_tries transmissions */
        if (r->tx_len && r->tries < r->disc->max_tries) {
            transmit(r, now, false);
            if (r->state == RM_CMD_SENT)
                set_timer(r, RM_CMD_SENT, now, r->cfg.ack_timeout_ms);
        } else if (r->state == RM_CMD_SENT) {
            r->cur.transport_failed = true;
            end_step(r, now);
        }
        return;
    }
    if (b == PB_ACK && r->state == RM_CMD_SENT) {
        /* the terminal's acceptance must follow within the ACK time (ZVT's T3) */
        set_timer(r, RM_WAIT_ACCEPT, now, r->cfg.ack_timeout_ms);
    }
}

/* Transport rule of the master and frame-ACK lines for a frame from the PT: NAK a bad checksum (or
 * on an ecr-nak fault), say nothing on ecr-withhold-ack, else ACK (an ecr-lose-ack ACK is
 * lost on the way). A frame after one not ACKed is its repeat. Returns true when the frame
 * is to be acted on. */
static bool rx_acknowledge(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    if (lost_ack_copy(r, f, now))
        return false;
    if (r->rx_attempt == 0 || r->rx_last_ok) {
        r->rx_frames++;
        r->rx_attempt = 0;
    }
    r->rx_attempt++;
    if (!f->checksum_ok || sim_plan_naks(&r->plan, r->rx_frames, r->rx_attempt)) {
        r->rx_last_ok = false;
        sim_wire_send_control(r->wire, PB_NAK, now);
        return false;
    }
    if (sim_plan_withholds_ack(&r->plan, r->rx_frames, r->rx_attempt)) {
        r->rx_last_ok = false;
        return false;
    }
    r->rx_last_ok = true;
    send_ack(r, f, now);
    return true;
}

/* ecr-goods: instead of its application ACK of an approved result, the register says
 * how the issue of goods went (the discipline's goods codes). Returns true when it did. */
static bool goods_verdict(struct sim_register *r, const struct pos_msg *m, struct sim_outcome *o,
                          int64_t now)
{
    const struct sim_fault *g = sim_plan_find(&r->plan, SIM_FAULT_GOODS);
    const int32_t *codes = r->disc->codes;
    if (!g || m->result != PB_RESULT_APPROVED || r->goods_done || !codes[PB_REASON_GOODS_PARTIAL])
        return false;
    struct pos_msg v;
    pb_msg_init(&v);
    v.proto = r->cfg.proto;
    v.dir = PB_DIR_ECR;
    v.kind = PB_KIND_APP_ACK;
    v.flags = PB_F_GOODS | PB_F_RESULT_CODE;
    switch (g->code) {
    case SIM_GOODS_WAIT:
        if (r->goods_waits >= g->times)
            return false; /* issued at last: the plain acknowledgement */
        r->goods_waits++;
        r->goods_again = true;
        v.result = PB_RESULT_NONE;
        v.result_code = codes[PB_REASON_GOODS_WAIT];
        break;
    case SIM_GOODS_PARTIAL:
        v.result = PB_RESULT_APPROVED;
        v.result_code = codes[PB_REASON_GOODS_PARTIAL];
        v.flags |= PB_F_AMOUNT | PB_F_PARTIAL;
        v.amount = g->amount;
        /* what the register books: its request now, and what it expects charged */
        o->has_requested = o->has_charged = true;
        o->requested = o->charged = g->amount;
        r->goods_done = true;
        break;
    default:
        v.result = PB_RESULT_DECLINED;
        v.result_code = codes[PB_REASON_GOODS_NOT_ISSUED];
        r->goods_done = r->goods_none = true;
        break;
    }
    pb_info("register: transaction %u: issue of goods: %s", r->cur.index,
            g->code == SIM_GOODS_WAIT      ? "please wait"
            : g->code == SIM_GOODS_PARTIAL ? "partial"
                                           : "not issued");
    if (encode(r, &v) > 0)
        transmit(r, now, true);
    return true;
}

static void master_frame(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    if (!rx_acknowledge(r, f, now))
        return;
    struct pos_msg m;
    if (r->cfg.proto->decode(f, PB_DIR_PT, &m) < 0)
        return;
    bool ours = r->state == RM_WAIT_ACCEPT || r->state == RM_MASTER || r->state == RM_CMD_SENT;
    struct sim_outcome *o = ours ? &r->cur : answer_owner(r);
    switch (m.kind) {
    case PB_KIND_ACCEPTED:
        if (ours) {
            mark_accepted(r);
            r->state = RM_MASTER;
            r->give_up_at = now + (int64_t)step_timeout(r) * 1000;
            r->deadline = r->give_up_at;
        }
        break;
    case PB_KIND_REFUSED:
        if (ours) {
            r->cur.answers = 1;
            r->cur.result = m.result != PB_RESULT_NONE ? m.result : PB_RESULT_NOT_PROCESSED;
            r->cur.code = (m.flags & PB_F_RESULT_CODE) ? m.result_code : -1;
            end_step(r, now);
        }
        break;
    case PB_KIND_INTERMEDIATE:
        app_ack(r, now);
        if (ours && r->state == RM_MASTER) {
            /* an intermediate status proves the PT alive: the wait starts again */
            r->give_up_at = now + (int64_t)step_timeout(r) * 1000;
            r->deadline = r->give_up_at;
        }
        break;
    case PB_KIND_RESULT:
        if (ours && r->goods_none && m.result != PB_RESULT_APPROVED) {
            r->goods_reversed = true; /* the reversal owed: not a second answer */
        } else if (ours && r->goods_again) {
            r->goods_again = false; /* the status asked again after "please wait" */
        } else if (o) {
            record_answer(r, o, &m, now);
        }
        if (!(ours && o && goods_verdict(r, &m, o, now)))
            app_ack(r, now);
        break;
    case PB_KIND_COMPLETION:
    case PB_KIND_ABORT:
        app_ack(r, now);
        if (ours && o && r->goods_none)
            o->belief = m.kind == PB_KIND_ABORT || r->goods_reversed ? PB_CLASS_VOIDED
                                                                      : PB_CLASS_OVERCHARGE;
        if (m.kind == PB_KIND_ABORT && o && o->answers == 0) {
            o->answers = 1;
            o->result = m.result != PB_RESULT_NONE && m.result != PB_RESULT_APPROVED
                            ? m.result
                            : PB_RESULT_ABORTED;
            o->code = (m.flags & PB_F_RESULT_CODE) ? m.result_code : -1;
            o->late = o->gave_up;
        } else if (o && o->answers == 0 && !pb_txn_financial(sim_action_txn(o->action))) {
            /* registration, log-off, status, end of day: completion is the answer */
            o->answers = 1;
            o->result = PB_RESULT_APPROVED;
        }
        if (ours)
            end_step(r, now);
        break;
    case PB_KIND_PRINT:
        app_ack(r, now); /* every PT message is acknowledged, late ones too */
        break;
    default:
        if (ours && r->state == RM_MASTER)
            app_ack(r, now);
        break;
    }
    /* Log-off: the acceptance is the whole answer. */
    if (ours && m.kind == PB_KIND_ACCEPTED && r->step->action == SIM_ACT_LOGOFF) {
        r->cur.answers = 1;
        r->cur.result = PB_RESULT_APPROVED;
        end_step(r, now);
    }
}

static void master_timer(struct sim_register *r, int64_t now)
{
    switch (r->state) {
    case RM_CMD_SENT:
        if (r->tries >= r->disc->max_tries) {
            r->cur.transport_failed = true;
            end_step(r, now);
        } else {
            transmit(r, now, false);
            set_timer(r, RM_CMD_SENT, now, r->cfg.ack_timeout_ms);
        }
        break;
    case RM_WAIT_ACCEPT:
        mark_accepted(r); /* ACKed at transport level: it may be running */
        give_up(r, now, "the command was not accepted in time; giving up");
        break;
    case RM_MASTER:
        give_up(r, now, "no result from the terminal; aborting");
        break;
    default:
        break;
    }
}

/* ---- frame-ACK discipline ---------------------------------------------------------- */

/* Tries of the request exhausted: some protocols close the exchange with EOT. */
static void fa_request_failed(struct sim_register *r, int64_t now)
{
    if (r->disc->eot_on_give_up)
        sim_wire_send_control(r->wire, PB_EOT, now);
    r->cur.transport_failed = true;
    end_step(r, now);
}

static void fa_control(struct sim_register *r, uint8_t b, int64_t now)
{
    if (r->state != RA_REQ_SENT)
        return;
    if (b == PB_ACK) {
        mark_accepted(r);
        r->give_up_at = now + (int64_t)step_timeout(r) * 1000;
        r->state = RA_WAIT_ANSWER;
        r->deadline = r->give_up_at;
    } else if (b == PB_NAK) {
        if (r->tries >= r->disc->max_tries) {
            fa_request_failed(r, now);
        } else {
            transmit(r, now, false);
            set_timer(r, RA_REQ_SENT, now, r->cfg.ack_timeout_ms);
        }
    }
}

static void fa_frame(struct sim_register *r, const struct pb_frame *f, int64_t now)
{
    if (!rx_acknowledge(r, f, now))
        return;
    /* an answer in several packets is read once its last came (pb_protocol.joiner) */
    const struct pb_frame *df = f;
    if (r->joiner && f->type == PB_FRAME_DATA && f->checksum_ok) {
        const struct pb_frame *whole = NULL;
        if (r->cfg.proto->joiner->join(r->joiner, f, &whole) == PB_JOIN_DONE && whole)
            df = whole;
    }
    struct pos_msg m;
    if (r->cfg.proto->decode(df, PB_DIR_PT, &m) < 0 || m.kind != PB_KIND_RESULT)
        return;
    bool ours = r->state == RA_REQ_SENT || r->state == RA_WAIT_ANSWER;
    if (ours && !r->cur.accepted)
        mark_accepted(r); /* the answer proves the request taken, ACK lost or not */
    struct sim_outcome *o = ours ? &r->cur : answer_owner(r);
    if (o)
        record_answer(r, o, &m, now);
    if (ours)
        end_step(r, now);
}

static void fa_timer(struct sim_register *r, int64_t now)
{
    switch (r->state) {
    case RA_REQ_SENT:
        if (r->tries >= r->disc->max_tries) {
            pb_warn("register: transaction %u: request never acknowledged", r->cur.index);
            fa_request_failed(r, now);
        } else {
            transmit(r, now, false);
            set_timer(r, RA_REQ_SENT, now, r->cfg.ack_timeout_ms);
        }
        break;
    case RA_WAIT_ANSWER:
        give_up(r, now, "no answer from the terminal; giving up");
        break;
    default:
        break;
    }
}

/* ---- public --------------------------------------------------------------------------- */

int sim_register_new(const struct sim_register_config *cfg, struct sim_rng *rng, sim_write_fn write,
                     void *ctx, sim_outcome_cb cb, void *cb_ctx, struct sim_register **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!cfg || !cfg->proto || !cfg->scenario || !rng || !write)
        return PB_ERR_INVAL;
    if (!cfg->proto->discipline || !cfg->proto->encode)
        return PB_ERR_UNSUPPORTED; /* a protocol possim cannot play */
    struct sim_register *r = calloc(1, sizeof *r);
    if (!r)
        return PB_ERR_NOMEM;
    r->cfg = *cfg;
    r->disc = cfg->proto->discipline;
    if (cfg->proto->joiner && cfg->proto->joiner->create(&r->joiner) != PB_OK) {
        free(r);
        return PB_ERR_NOMEM;
    }
    r->rng = rng;
    r->cb = cb;
    r->cb_ctx = cb_ctx;
    r->set = sim_scenario_settings(cfg->scenario);
    r->currency = r->set->currency;
    if (!r->cfg.timeout_ms)
        r->cfg.timeout_ms = r->set->timeout_ms;
    if (!r->cfg.ack_timeout_ms)
        r->cfg.ack_timeout_ms = r->set->ack_timeout_ms;
    int e = sim_wire_new(cfg->proto, rng, write, ctx, &r->wire);
    if (e < 0) {
        sim_register_free(r);
        return e;
    }
    if (cfg->pace_baud)
        sim_wire_set_pace(r->wire, cfg->pace_baud, cfg->pace_bits);
    r->state = R_GAP;
    r->deadline = -1;
    r->give_up_at = -1;
    r->abort_at = -1;
    r->target = -1;
    *out = r;
    return PB_OK;
}

void sim_register_free(struct sim_register *r)
{
    if (!r)
        return;
    if (r->joiner)
        r->cfg.proto->joiner->destroy(r->joiner);
    sim_wire_free(r->wire);
    free(r);
}

bool sim_register_done(const struct sim_register *r)
{
    return r->state == R_DONE && sim_wire_idle(r->wire);
}

int64_t sim_register_next_deadline(const struct sim_register *r)
{
    if (!r->started)
        return 0;
    int64_t d = r->deadline;
    if (r->abort_at >= 0 && (d < 0 || r->abort_at < d))
        d = r->abort_at;
    int64_t w = sim_wire_next_deadline(r->wire);
    if (w >= 0 && (d < 0 || w < d))
        d = w;
    return d;
}

/* The line discipline: who answers control bytes, frames and timers. */
struct line_ops {
    void (*control)(struct sim_register *r, uint8_t b, int64_t now);
    void (*frame)(struct sim_register *r, const struct pb_frame *f, int64_t now);
    void (*timer)(struct sim_register *r, int64_t now);
};

static const struct line_ops LINE_OPS[] = {
    [PB_LINE_HANDSHAKE] = {hs_control, hs_frame, hs_timer},
    [PB_LINE_MASTER] = {master_control, master_frame, master_timer},
    [PB_LINE_FRAME_ACK] = {fa_control, fa_frame, fa_timer},
};

static const struct line_ops *line_of(const struct sim_register *r)
{
    return &LINE_OPS[r->disc->kind];
}

struct feed_ctx {
    struct sim_register *r;
    int64_t now;
};

static void on_frame(const struct pb_frame *f, void *ctx)
{
    struct feed_ctx *c = ctx;
    struct sim_register *r = c->r;
    if (f->type == PB_FRAME_GARBAGE)
        return;
    if (f->type == PB_FRAME_CONTROL)
        line_of(r)->control(r, f->control, c->now);
    else
        line_of(r)->frame(r, f, c->now);
}

void sim_register_input(struct sim_register *r, const uint8_t *buf, size_t len, int64_t now)
{
    struct feed_ctx c = {r, now};
    sim_wire_feed(r->wire, buf, len, on_frame, &c, now);
}

int sim_register_tick(struct sim_register *r, int64_t now)
{
    if (!r->started) {
        r->started = true;
        start_step(r, now);
    }
    for (int guard = 0; guard < 16; guard++) {
        if (r->abort_at >= 0 && r->abort_at <= now && r->has_cur) {
            r->abort_at = -1;
            mark_accepted(r);
            give_up(r, now, "register aborts (ecr-abort)");
            continue;
        }
        if (r->deadline < 0 || r->deadline > now)
            break;
        r->deadline = -1;
        if (r->state == R_GAP)
            start_step(r, now);
        else
            line_of(r)->timer(r, now);
    }
    return sim_wire_flush(r->wire, now);
}

/* ---- reports -------------------------------------------------------------------------- */

int sim_outcome_format(const struct sim_outcome *o, char *buf, size_t cap)
{
    char req[PB_MONEY_FMT_MAX] = "-", chg[PB_MONEY_FMT_MAX] = "-";
    if (o->has_requested)
        pb_money_format(req, sizeof req, o->requested, o->currency);
    if (o->has_charged)
        pb_money_format(chg, sizeof chg, o->charged,
                        o->answer_currency ? o->answer_currency : o->currency);
    if (o->skipped)
        return snprintf(buf, cap, "#%-3u %-12s skipped (not in this protocol)", o->index,
                        sim_action_name(o->action));
    char code[16] = "";
    if (o->code >= 0)
        snprintf(code, sizeof code, " code=%02X", (unsigned)o->code & 0xFF);
    char exp[64] = "";
    if (o->expect.cls != PB_CLASS_NONE)
        snprintf(exp, sizeof exp, " expect=%s", pb_class_name(o->expect.cls));
    return snprintf(buf, cap,
                    "#%-3u %-12s requested=%-14s charged=%-14s result=%s%s%s%s%s "
                    "class=%s%s",
                    o->index, sim_action_name(o->action), req, chg,
                    o->answers ? pb_result_name(o->result) : "no_answer", code,
                    o->gave_up ? " gave_up" : "", o->late ? " late" : "",
                    o->answers > 1 ? " twice" : "", pb_class_name(o->belief), exp);
}

int sim_outcome_json(const struct sim_outcome *o, const char *protocol, char *buf, size_t cap)
{
    char req[32] = "null", chg[32] = "null";
    if (o->has_requested)
        snprintf(req, sizeof req, "%lld", (long long)o->requested);
    if (o->has_charged)
        snprintf(chg, sizeof chg, "%lld", (long long)o->charged);
    return snprintf(buf, cap,
                    "{\"transaction\":%u,\"line\":%u,\"protocol\":\"%s\",\"action\":\"%s\","
                    "\"skipped\":%s,\"requested\":%s,\"charged\":%s,\"currency\":%u,"
                    "\"answer_currency\":%u,\"result\":\"%s\",\"code\":%d,\"answers\":%u,"
                    "\"accepted\":%s,\"gave_up\":%s,\"late\":%s,\"partial\":%s,"
                    "\"receipt\":\"%s\",\"trace\":\"%s\",\"latency_us\":%lld,"
                    "\"class\":\"%s\",\"expect\":%s%s%s}",
                    o->index, o->line, protocol ? protocol : "", sim_action_name(o->action),
                    o->skipped ? "true" : "false", req, chg, o->currency, o->answer_currency,
                    o->answers ? pb_result_name(o->result) : "no_answer", (int)o->code, o->answers,
                    o->accepted ? "true" : "false", o->gave_up ? "true" : "false",
                    o->late ? "true" : "false", o->partial ? "true" : "false", o->receipt, o->trace,
                    (long long)o->latency_us, o->skipped ? "skipped" : pb_class_name(o->belief),
                    o->expect.cls != PB_CLASS_NONE ? "\"" : "",
                    o->expect.cls != PB_CLASS_NONE ? pb_class_name(o->expect.cls) : "null",
                    o->expect.cls != PB_CLASS_NONE ? "\"" : "");
}
