/* The simulated terminal: one transaction core (decide, book, answer) over the three line
 * disciplines of protocols/discipline.h, each played from the protocol's description:
 *
 * Handshake: the register's ENQ is ACKed; the request frame is ACKed (NAKed on a bad
 * checksum); the register's EOT ends its turn. With the result ready the terminal sends
 * ENQ, waits for ACK (ENQ repeated up to max_tries times), sends the answer, waits for
 * ACK (repeated on NAK or silence), and ends with EOT. ENQ then EOT with no frame is a
 * liveness probe: it is the `status` step.
 *
 * Master: every frame is acknowledged with ACK (NAK on a bad checksum). The command is
 * accepted at application level; then the terminal is master and sends the messages the
 * protocol's description lists for that command and outcome (discipline.answer:
 * intermediate status, the result, the receipt as print lines or one text block, a
 * completion or abort), each repeated on NAK or a missing ACK, each answered by the
 * register at application level before the next. A frame that opens no transaction
 * (a display text, an abort while idle, a command it does not perform) is answered at
 * once as the description says (discipline.answer_other).
 *
 * Frame-ACK: no line handshake. Every frame is answered with ACK (NAK on a bad checksum)
 * and repeated by its sender on NAK or silence; a protocol may end a failed exchange with
 * EOT. The request is ACKed, the answer follows after the card-and-PIN time and waits for
 * the register's ACK. A request frame that arrives again while its answer is being
 * prepared is the register's repeat (our ACK was lost): it is ACKed again, not taken as a
 * new transaction.
 *
 * Transaction N takes its faults from scenario step N (and the global faults that fire
 * for N); the plan is built when the request first arrives, before it is ACKed, so a
 * NAK fault can hit the request itself. */
#include "terminal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"
#include "possim.h"

#define FRAME_MAX 1200 /* largest frame this terminal sends or remembers */
#define BATCH_MAX 512  /* receipts remembered for voids */
#define SCRIPT_MAX 16  /* messages of one master-discipline transaction */
#define RECEIPT_LINES 4
#define SOFTWARE "possim " PB_VERSION

/* The card number every answer that carries one gets: masked, never a clear PAN. Its
 * BIN, 497010, is a Visa one: the brand its turnover counts under at end of day. */
static const char SIM_PAN[] = "497010******0014";
#define SIM_BRAND PB_BRAND_VISA

enum state {
    T_IDLE,
    H_ENQ_ACKED,    /* ECR owns the line; its request or EOT comes next */
    H_WAIT_EOT,     /* request ACKed; the ECR's EOT comes next */
    H_PROCESS,      /* card, PIN, authorisation: timer until the answer */
    H_ENQ_SENT,     /* we want the line: ENQ sent, ACK awaited */
    H_ANSWER_SENT,  /* answer sent, ACK awaited */
    M_PROCESS,      /* timer until the next PT message */
    M_MSG_SENT,     /* PT message sent, transport ACK awaited */
    M_WAIT_APP_ACK, /* ACKed; the ECR's application ACK awaited */
    A_NAKED,        /* request NAKed: its repeat comes next */
    A_PROCESS,      /* request taken: timer until the answer */
    A_ANSWER_SENT,  /* answer sent, ACK awaited */
    T_DEAD,         /* power cycle: deaf and mute until the deadline */
};

/* One message of the master's script. */
struct pt_msg {
    enum pb_kind kind; /* ACCEPTED, INTERMEDIATE, RESULT, PRINT, COMPLETION, ABORT, REFUSED */
    bool app_ack;      /* the ECR acknowledges it at application level */
    uint32_t wait_ms;  /* time before it is sent */
    uint8_t how;       /* PB_MSG_*: what it carries */
    bool block;        /* PRINT: the whole receipt as one text block */
};

struct batch_entry {
    unsigned receipt;
    enum pb_txn_type type;
    int64_t amount; /* a pre-authorisation: what it still holds */
    bool voided;    /* reversed, released whole, or booked */
};

/* An end of day's report, kept for its repeats and its receipt. */
struct eod_report {
    int64_t total;
    struct pb_totals totals;
};

struct sim_terminal {
    struct sim_terminal_config cfg;
    const struct pb_discipline *disc; /* how the protocol behaves on the line */
    struct sim_rng *rng;
    struct sim_wire *wire;
    struct sim_terminal_stats st;

    enum state state;
    int64_t deadline; /* -1 none */
    unsigned tries;   /* transmissions of the current outgoing frame / ENQ */

    /* transaction in progress */
    unsigned txn_no;  /* number of the current/last transaction */
    size_t next_step; /* scenario step index the next transaction takes */
    bool in_txn;
    const struct sim_step *step;
    struct sim_plan plan;
    struct pos_msg req;
    enum pb_txn_type type;
    int64_t charged;
    bool partial;
    enum pb_result result;
    int32_t code;
    unsigned answers_left; /* answers still to send (duplicate: 2) */
    unsigned req_arrivals; /* arrivals of the request frame (approve-repeat) */
    unsigned rx_frames, tx_frames;
    unsigned rx_attempt; /* arrivals of the current rx frame */
    bool rx_last_accepted;
    bool power_cycled;
    bool ignore_abort;
    bool booked;           /* this transaction went into the batch */
    bool books_preauth;    /* a purchase that books a pre-authorisation (void_amount) */
    unsigned receipt_no, trace_no;
    int64_t void_amount;   /* what a void took back, or a booking released */
    struct eod_report eod; /* the last end of day */

    /* frame-ACK, multi-packet fault: the answer split into packets, sent one per ACK */
    uint8_t packets[2 * FRAME_MAX];
    size_t packet_len[8];
    unsigned n_packets, packet_at;
    /* frame-ACK: the request frame taken, to know its repeat */
    uint8_t rx_copy[FRAME_MAX];
    size_t rx_copy_len;

    /* outgoing frame kept for repeats */
    uint8_t tx[FRAME_MAX];
    size_t tx_len;
    unsigned tx_nth;
    enum pb_kind tx_kind; /* what the frame in tx is */

    /* master: the messages of the transaction */
    struct pt_msg script[SCRIPT_MAX];
    unsigned script_len, script_pos;

    struct batch_entry batch[BATCH_MAX];
    unsigned n_batch;
    unsigned batch_from; /* first receipt number since the last end of day */
};

/* ---- configuration -------------------------------------------------------------------- */

static bool master(const struct sim_terminal *t)
{
    return t->disc->kind == PB_LINE_MASTER;
}

static const struct sim_settings *settings(const struct sim_terminal *t)
{
    return t->cfg.scenario ? sim_scenario_settings(t->cfg.scenario) : NULL;
}

static uint32_t ack_ms(const struct sim_terminal *t)
{
    return t->cfg.ack_timeout_ms;
}

int sim_terminal_new(const struct sim_terminal_config *cfg, struct sim_rng *rng, sim_write_fn write,
                     void *ctx, struct sim_terminal **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!cfg || !cfg->proto || !rng || !write)
        return PB_ERR_INVAL;
    if (!cfg->proto->discipline || !cfg->proto->encode)
        return PB_ERR_UNSUPPORTED; /* a protocol possim cannot play */
    struct sim_terminal *t = calloc(1, sizeof *t);
    if (!t)
        return PB_ERR_NOMEM;
    t->cfg = *cfg;
    t->disc = cfg->proto->discipline;
    t->rng = rng;
    const struct sim_settings *s = settings(t);
    if (!t->cfg.currency)
        t->cfg.currency = s ? s->currency : 978;
    if (!t->cfg.ack_timeout_ms)
        t->cfg.ack_timeout_ms = s ? s->ack_timeout_ms : 2000;
    if (!t->cfg.think_ms)
        t->cfg.think_ms = s ? s->think_ms : 50;
    int r = sim_wire_new(cfg->proto, rng, write, ctx, &t->wire);
    if (r < 0) {
        free(t);
        return r;
    }
    if (cfg->pace_baud)
        sim_wire_set_pace(t->wire, cfg->pace_baud, cfg->pace_bits);
    t->state = T_IDLE;
    t->deadline = -1;
    t->batch_from = 1;
    *out = t;
    return PB_OK;
}

void sim_terminal_free(struct sim_terminal *t)
{
    if (!t)
        return;
    sim_wire_free(t->wire);
    free(t);
}

const struct sim_terminal_stats *sim_terminal_stats(const struct sim_terminal *t)
{
    return &t->st;
}

void sim_terminal_set_scenario(struct sim_terminal *t, const struct sim_scenario *s)
{
    t->cfg.scenario = s;
    /* t->plan is a copy: the transaction in flight is not affected. t->step pointed into
     * the old scenario; only the current transaction used it, and it is not read after
     * the plan is built. */
    t->step = NULL;
}

int64_t sim_terminal_next_deadline(const struct sim_terminal *t)
{
    int64_t a = t->deadline, b = sim_wire_next_deadline(t->wire);
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void set_timer(struct sim_terminal *t, enum state s, int64_t now, uint32_t ms)
{
    t->state = s;
    t->deadline = now + (int64_t)ms * 1000;
}

static void go_idle(struct sim_terminal *t)
{
    t->n_packets = 0;
    t->state = T_IDLE;
    t->deadline = -1;
    t->in_txn = false;
    sim_wire_set_plan(t->wire, NULL);
}

/* ---- transactions --------------------------------------------------------------------- */

static const struct sim_fault *fault(const struct sim_terminal *t, enum sim_fault_kind k)
{
    return sim_plan_find(&t->plan, k);
}

/* Takes the next scenario step that this protocol plays, and builds the fault plan of
 * transaction txn_no + 1. Called once per transaction, when its request first arrives. */
static void begin_txn(struct sim_terminal *t)
{
    t->txn_no++;
    t->st.transactions++;
    t->in_txn = true;
    t->step = NULL;
    const struct sim_scenario *sc = t->cfg.scenario;
    while (sc && t->next_step < sim_scenario_count(sc)) {
        const struct sim_step *s = sim_scenario_step(sc, t->next_step++);
        if (sim_action_supported(t->cfg.proto, s->action)) {
            t->step = s;
            break;
        }
    }
    /* The step's number is the transaction number both sides agree on. */
    unsigned n = t->step ? t->step->index : t->txn_no;
    sim_plan_clear(&t->plan);
    if (t->step)
        for (size_t i = 0; i < t->step->n_faults; i++)
            if (t->step->faults[i].side == SIM_SIDE_PT &&
                sim_fault_fires(&t->step->faults[i], n, t->rng))
                sim_plan_add(&t->plan, &t->step->faults[i]);
    size_t ng = 0;
    const struct sim_fault *g = sc ? sim_scenario_faults(sc, &ng) : NULL;
    sim_plan_select(&t->plan, g, ng, SIM_SIDE_PT, n, t->rng);
    sim_plan_select(&t->plan, t->cfg.faults, t->cfg.n_faults, SIM_SIDE_PT, n, t->rng);
    sim_wire_set_plan(t->wire, &t->plan);
    t->rx_frames = 0;
    t->tx_frames = 0;
    t->rx_attempt = 0;
    t->rx_last_accepted = false;
    t->req_arrivals = 0;
    t->power_cycled = false;
    pb_msg_init(&t->req);
    if (t->plan.n) {
        char buf[96];
        for (unsigned i = 0; i < t->plan.n; i++) {
            sim_fault_format(&t->plan.f[i], t->cfg.currency, buf, sizeof buf);
            pb_info("terminal: transaction %u: fault %s", n, buf);
        }
    }
}

static struct batch_entry *find_receipt(struct sim_terminal *t, unsigned receipt)
{
    for (unsigned i = t->n_batch; i-- > 0;)
        if (t->batch[i].receipt == receipt)
            return &t->batch[i];
    return NULL;
}

static void refuse(struct sim_terminal *t, enum pb_line_reason why)
{
    t->result = PB_RESULT_DECLINED;
    t->code = t->disc->codes[why];
}

/* An entry of this batch a request can name: one the last end of day did not close. */
static struct batch_entry *open_receipt(struct sim_terminal *t, const char *receipt)
{
    unsigned n = (unsigned)strtoul(receipt, NULL, 10);
    return n >= t->batch_from ? find_receipt(t, n) : NULL;
}

/* A void names a receipt, or (void_by_amount) an amount. A sale's void takes back what
 * it charged and answers with that amount. A void naming a pre-authorisation releases
 * it: with an amount, that much of it (a partial reversal), else all of it; the answer
 * then names what the pre-authorisation still books, as a terminal's status information
 * after a pre-authorisation reversal does (EVerest/zvt zvt/data/1680728215.659492000_
 * pt_ecr.blob: "Decreed amount EUR 0,00", BMP 04 zero). */
static void decide_void(struct sim_terminal *t, int64_t requested)
{
    struct batch_entry *e = NULL;
    if (t->req.receipt[0])
        e = open_receipt(t, t->req.receipt);
    else
        for (unsigned i = t->n_batch; i-- > 0 && !e;)
            if (t->batch[i].type == PB_TXN_PURCHASE && !t->batch[i].voided &&
                t->batch[i].receipt >= t->batch_from &&
                (!requested || t->batch[i].amount == requested))
                e = &t->batch[i];
    if (!e || (e->type != PB_TXN_PURCHASE && e->type != PB_TXN_PREAUTH)) {
        refuse(t, PB_REASON_REVERSAL_IMPOSSIBLE);
    } else if (e->voided) {
        refuse(t, PB_REASON_ALREADY_REVERSED);
    } else if (e->type == PB_TXN_PREAUTH && requested > e->amount) {
        refuse(t, PB_REASON_PREAUTH_AMOUNT);
    } else if (e->type == PB_TXN_PREAUTH && requested && t->req.receipt[0]) {
        t->void_amount = requested;
        e->amount -= requested;
        t->charged = e->amount;
        e->voided = e->amount == 0;
    } else {
        t->void_amount = e->amount;
        t->charged = e->type == PB_TXN_PREAUTH ? 0 : e->amount;
        e->voided = true;
    }
}

/* A purchase that names a receipt books a pre-authorisation (what was used of it): the
 * reservation is replaced by the purchase. */
static void decide_booking(struct sim_terminal *t)
{
    struct batch_entry *e = open_receipt(t, t->req.receipt);
    if (!e || e->type != PB_TXN_PREAUTH || e->voided) {
        refuse(t, PB_REASON_PREAUTH_UNKNOWN);
    } else if (t->charged > e->amount) {
        refuse(t, PB_REASON_PREAUTH_AMOUNT);
    } else {
        t->books_preauth = true;
        t->void_amount = e->amount;
        e->voided = true;
    }
}

/* Decides the outcome of the request in t->req: result, code and charged amount. */
static void decide(struct sim_terminal *t)
{
    const struct sim_fault *f;
    t->booked = false;
    t->type = t->req.txn;
    t->result = PB_RESULT_APPROVED;
    t->code = 0;
    t->partial = false;
    int64_t requested = (t->req.flags & PB_F_AMOUNT) ? t->req.amount : 0;
    t->charged = requested;
    if (t->type == PB_TXN_PURCHASE || t->type == PB_TXN_REFUND || t->type == PB_TXN_PREAUTH)
        t->charged = sim_plan_charged(&t->plan, requested, &t->partial);
    t->books_preauth = false;
    t->void_amount = 0;
    if (t->type == PB_TXN_VOID)
        decide_void(t, requested);
    else if (t->type == PB_TXN_PURCHASE && t->req.receipt[0])
        decide_booking(t);
    if ((f = fault(t, SIM_FAULT_DECLINE)) != NULL) {
        t->result = PB_RESULT_DECLINED;
        t->code = f->code;
    }
    if ((f = fault(t, SIM_FAULT_ABORT)) != NULL) {
        t->result = PB_RESULT_ABORTED;
        t->code = f->code;
    }
    t->answers_left = fault(t, SIM_FAULT_DUPLICATE) ? 2 : 1;
    if (fault(t, SIM_FAULT_APPROVE_REPEAT) && t->req_arrivals > 1)
        t->answers_left += t->req_arrivals - 1;
    t->ignore_abort = fault(t, SIM_FAULT_DELAY) || fault(t, SIM_FAULT_POWER_CYCLE);
}

/* An approved end of day: its report, then a new batch. What it closed can no longer be
 * reversed or booked. */
static void close_batch(struct sim_terminal *t)
{
    struct eod_report *r = &t->eod;
    memset(r, 0, sizeof *r);
    r->total = t->st.total;
    unsigned first = 0, last = 0, count = 0;
    for (unsigned i = 0; i < t->n_batch; i++) {
        const struct batch_entry *e = &t->batch[i];
        if (e->receipt < t->batch_from)
            continue;
        if (!first)
            first = e->receipt;
        last = e->receipt;
        count += !e->voided && e->type != PB_TXN_VOID;
    }
    r->totals.first_receipt = (uint16_t)(first % 10000);
    r->totals.last_receipt = (uint16_t)(last % 10000);
    r->totals.count[SIM_BRAND] = count;
    r->totals.amount[SIM_BRAND] = r->total < 0 ? -r->total : r->total;
    t->st.total = 0;
    t->st.batch_count = 0;
    t->batch_from = t->st.receipt + 1;
}

/* Books the outcome into the batch: trace and receipt numbers, totals. Pre-authorisations
 * count as booked in full until released or booked otherwise, as the bridge's batch
 * counts them (lane/batch.h). */
static void book(struct sim_terminal *t)
{
    if (t->booked)
        return;
    t->booked = true;
    if (t->type == PB_TXN_END_OF_DAY && t->result == PB_RESULT_APPROVED)
        close_batch(t);
    if (!pb_txn_financial(t->type))
        return;
    t->trace_no = ++t->st.trace;
    t->receipt_no = ++t->st.receipt;
    if (t->result == PB_RESULT_APPROVED) {
        t->st.approved++;
        t->st.batch_count++;
        if (t->type == PB_TXN_PURCHASE || t->type == PB_TXN_PREAUTH)
            t->st.total += t->charged - (t->books_preauth ? t->void_amount : 0);
        else if (t->type == PB_TXN_REFUND)
            t->st.total -= t->charged;
        else if (t->type == PB_TXN_VOID) {
            t->st.total -= t->void_amount;
            t->st.voided++;
        }
        if (t->n_batch == BATCH_MAX) {
            memmove(t->batch, t->batch + 1, (BATCH_MAX - 1) * sizeof t->batch[0]);
            t->n_batch--;
        }
        t->batch[t->n_batch++] = (struct batch_entry){t->receipt_no, t->type, t->charged, false};
    } else if (t->result == PB_RESULT_DECLINED) {
        t->st.declined++;
    } else {
        t->st.aborted++;
    }
}

/* The facts a protocol shapes a result or a status completion from. */
static struct pb_answer_facts answer_facts(struct sim_terminal *t, uint8_t how)
{
    return (struct pb_answer_facts){
        .req = &t->req,
        .code = t->code,
        .trace = t->trace_no,
        .receipt = t->receipt_no,
        .terminal_id = settings(t) ? settings(t)->terminal_id : "52500001",
        .pan = SIM_PAN,
        .software = (how & PB_MSG_STATUS) ? SOFTWARE : NULL,
        .totals = (how & PB_MSG_TOTALS) && t->type == PB_TXN_END_OF_DAY ? &t->eod.totals : NULL,
    };
}

/* The result message for the current transaction, with content faults applied. how:
 * what the protocol's answer says it carries (PB_MSG_*; 0 off the master line). */
static void build_result(struct sim_terminal *t, struct pos_msg *m, uint8_t how)
{
    const struct sim_fault *f;
    pb_msg_init(m);
    m->proto = t->cfg.proto;
    m->dir = PB_DIR_PT;
    m->kind = PB_KIND_RESULT;
    m->txn = t->type;
    m->result = t->result;
    if (t->disc->aborted_is_not_processed && m->result == PB_RESULT_ABORTED)
        m->result = PB_RESULT_NOT_PROCESSED;
    m->flags |= PB_F_AMOUNT;
    m->amount = t->type == PB_TXN_END_OF_DAY ? (t->eod.total < 0 ? -t->eod.total : t->eod.total)
                                             : t->charged;
    if (t->disc->currency_on_wire) {
        m->flags |= PB_F_CURRENCY;
        m->currency =
            (t->req.flags & PB_F_CURRENCY) && t->req.currency ? t->req.currency : t->cfg.currency;
    }
    if (t->partial) {
        m->flags |= PB_F_PARTIAL | PB_F_AMOUNT_DUE;
        int64_t req = (t->req.flags & PB_F_AMOUNT) ? t->req.amount : 0;
        m->amount_due = req > t->charged ? req - t->charged : 0;
    }
    struct pb_answer_facts facts = answer_facts(t, how);
    t->disc->shape_answer(m, &facts);
    /* Content faults come last: they are what the terminal gets wrong. */
    if ((f = fault(t, SIM_FAULT_TYPE)) != NULL)
        m->txn = (enum pb_txn_type)f->txn_type;
    if ((f = fault(t, SIM_FAULT_CURRENCY)) != NULL && t->disc->currency_on_wire)
        m->currency = (uint16_t)f->code;
    if ((f = fault(t, SIM_FAULT_POS_ID)) != NULL)
        snprintf(m->pos_id, sizeof m->pos_id, "%s", f->text);
    if ((f = fault(t, SIM_FAULT_REFERENCE)) != NULL) {
        snprintf(m->reference, sizeof m->reference, "%s", f->text);
        if (t->disc->ref_in_receipt)
            snprintf(m->receipt, sizeof m->receipt, "%.4s", f->text);
    }
}

/* ---- sending -------------------------------------------------------------------------- */

static int encode(struct sim_terminal *t, const struct pos_msg *m)
{
    int n = t->cfg.proto->encode(m, t->tx, sizeof t->tx);
    if (n < 0) {
        pb_error("terminal: cannot encode %s %s: %s", pb_kind_name(m->kind), pb_txn_name(m->txn),
                 pb_strerror(n));
        t->tx_len = 0;
        return n;
    }
    t->tx_len = (size_t)n;
    t->tx_kind = m->kind;
    return n;
}

/* Sends the frame in t->tx (first transmission or a repeat). cut: drop-link. */
static void transmit(struct sim_terminal *t, int64_t now, bool first)
{
    if (first) {
        t->tx_nth = ++t->tx_frames;
        t->tries = 0;
    } else {
        t->st.repeats_sent++;
    }
    t->tries++;
    if (t->tx_len == 0)
        return;
    size_t cut = 0;
    const struct sim_fault *d = fault(t, SIM_FAULT_DROP_LINK);
    if (d && t->tx_kind == PB_KIND_RESULT) {
        cut = d->bytes ? d->bytes : t->tx_len / 2;
        if (cut == 0)
            cut = 1;
    }
    sim_wire_send_frame(t->wire, t->tx, t->tx_len, t->tx_nth, t->tries, cut, now);
    if (cut) {
        /* The line dies mid-frame: what was queued still leaves (it is on the wire), then
         * nothing in either direction until the line is back. */
        sim_wire_flush(t->wire, INT64_MAX);
        sim_wire_cut(t->wire, now + (int64_t)d->ms * 1000);
        pb_info("terminal: transaction %u: link dropped after %zu bytes of the result", t->txn_no,
                cut);
        t->st.unanswered++;
        go_idle(t);
    }
}

/* The frame in t->tx was NAKed or not ACKed in time: sends it again and waits in state
 * `waiting`, or returns false when its max_tries transmissions are used up. */
static bool repeat_tx(struct sim_terminal *t, int64_t now, enum state waiting)
{
    if (t->tries >= t->disc->max_tries)
        return false;
    transmit(t, now, false);
    set_timer(t, waiting, now, ack_ms(t));
    return true;
}

static void send_control(struct sim_terminal *t, uint8_t b, int64_t now)
{
    if (b == PB_NAK)
        t->st.naks_sent++;
    sim_wire_send_control(t->wire, b, now);
}

/* ---- power cycle ---------------------------------------------------------------------- */

/* After taking the request: deaf and mute for the fault's time. */
static bool maybe_power_cycle(struct sim_terminal *t, int64_t now)
{
    const struct sim_fault *f = fault(t, SIM_FAULT_POWER_CYCLE);
    if (!f || t->power_cycled)
        return false;
    t->power_cycled = true;
    sim_wire_cut(t->wire, now + (int64_t)f->ms * 1000);
    set_timer(t, T_DEAD, now, f->ms);
    pb_info("terminal: transaction %u: power cycle for %u ms", t->txn_no, f->ms);
    return true;
}

static void start_answer(struct sim_terminal *t, int64_t now);
static void master_next(struct sim_terminal *t, int64_t now);

static void after_reboot(struct sim_terminal *t, int64_t now)
{
    const struct sim_fault *f = fault(t, SIM_FAULT_POWER_CYCLE);
    if (f && f->late) {
        /* It had the result before the power went: it reports it now. */
        if (master(t)) {
            /* skip the remaining intermediates: straight to the result */
            while (t->script_pos < t->script_len &&
                   t->script[t->script_pos].kind == PB_KIND_INTERMEDIATE)
                t->script_pos++;
            master_next(t, now);
        } else {
            start_answer(t, now);
        }
        return;
    }
    static const char banner[] = "\r\nSIMULATED TERMINAL BOOT v1.0\r\nREADY\r\n";
    sim_wire_send_raw(t->wire, (const uint8_t *)banner, sizeof banner - 1, now);
    t->st.unanswered++;
    go_idle(t);
}

/* ---- handshake discipline ---------------------------------------------------------- */

static void hs_send_enq(struct sim_terminal *t, int64_t now, bool first)
{
    if (first)
        t->tries = 0;
    t->tries++;
    send_control(t, PB_ENQ, now);
    set_timer(t, H_ENQ_SENT, now, ack_ms(t));
}

static void fa_send_answer(struct sim_terminal *t, int64_t now);

static void start_answer(struct sim_terminal *t, int64_t now)
{
    switch (t->disc->kind) {
    case PB_LINE_MASTER:
        master_next(t, now);
        break;
    case PB_LINE_FRAME_ACK:
        fa_send_answer(t, now);
        break;
    case PB_LINE_HANDSHAKE:
        hs_send_enq(t, now, true);
        break;
    }
}

/* The request in t->req was taken: decide, book and encode the answer, and wait in state
 * `process` for the card-and-PIN time (plus any delay fault). False on a no-answer fault. */
static bool process_request(struct sim_terminal *t, int64_t now, enum state process)
{
    decide(t);
    if (fault(t, SIM_FAULT_NO_ANSWER)) {
        pb_info("terminal: transaction %u: no answer", t->txn_no);
        t->st.unanswered++;
        go_idle(t);
        return false;
    }
    const struct sim_fault *d = fault(t, SIM_FAULT_DELAY);
    set_timer(t, process, now, t->cfg.think_ms + (d ? d->ms : 0));
    book(t);
    struct pos_msg m;
    build_result(t, &m, 0);
    encode(t, &m);
    return true;
}

static void hs_processing(struct sim_terminal *t, int64_t now)
{
    if (process_request(t, now, H_PROCESS))
        maybe_power_cycle(t, now);
}

/* A data frame from the register while the terminal is idle or owns nothing. */
static void hs_frame(struct sim_terminal *t, const struct pb_frame *f, int64_t now)
{
    if (t->state != H_ENQ_ACKED && t->state != T_IDLE) {
        pb_debug("terminal: frame ignored while busy");
        return;
    }
    bool repeat = t->in_txn && t->rx_frames > 0 && t->state == H_ENQ_ACKED;
    if (!repeat)
        begin_txn(t);
    if (!repeat) {
        t->rx_frames = 1;
        t->rx_attempt = 0;
    }
    t->rx_attempt++;
    t->req_arrivals++;
    if (!f->checksum_ok || sim_plan_naks(&t->plan, 1, t->rx_attempt)) {
        send_control(t, PB_NAK, now);
        t->rx_last_accepted = false;
        set_timer(t, H_ENQ_ACKED, now, ack_ms(t));
        if (t->rx_attempt >= t->disc->max_tries) {
            /* The ECR gives up after its last try; so do we. */
            go_idle(t);
        }
        return;
    }
    struct pos_msg m;
    if (t->cfg.proto->decode(f, PB_DIR_ECR, &m) < 0 || m.kind != PB_KIND_REQUEST) {
        send_control(t, PB_NAK, now);
        set_timer(t, H_ENQ_ACKED, now, ack_ms(t));
        return;
    }
    t->req = m;
    if (sim_plan_withholds_ack(&t->plan, 1, t->rx_attempt)) {
        t->rx_last_accepted = true;
        set_timer(t, H_ENQ_ACKED, now, ack_ms(t) * 2);
        return;
    }
    send_control(t, PB_ACK, now);
    t->rx_last_accepted = true;
    set_timer(t, H_WAIT_EOT, now, ack_ms(t));
}

static void hs_control(struct sim_terminal *t, uint8_t b, int64_t now)
{
    switch (t->state) {
    case T_IDLE:
        if (b == PB_ENQ) {
            send_control(t, PB_ACK, now);
            set_timer(t, H_ENQ_ACKED, now, ack_ms(t));
        }
        break;
    case H_ENQ_ACKED:
        if (b == PB_EOT) {
            if (t->in_txn && t->rx_last_accepted) {
                /* withheld ACK, then the ECR ended: take the request as it stands */
                hs_processing(t, now);
            } else if (t->in_txn) {
                go_idle(t); /* NAKed to the end: nothing was taken */
            } else {
                /* ENQ, ACK, EOT with no frame: liveness probe, the `status` step */
                begin_txn(t);
                go_idle(t);
            }
        } else if (b == PB_ENQ) {
            send_control(t, PB_ACK, now);
            set_timer(t, H_ENQ_ACKED, now, ack_ms(t));
        }
        break;
    case H_WAIT_EOT:
        if (b == PB_EOT)
            hs_processing(t, now);
        else if (b == PB_ENQ) { /* the ECR missed our ACK and starts over */
            send_control(t, PB_ACK, now);
            set_timer(t, H_ENQ_ACKED, now, ack_ms(t));
        }
        break;
    case H_ENQ_SENT:
        if (b == PB_ACK) {
            transmit(t, now, true);
            if (t->state == H_ENQ_SENT)
                set_timer(t, H_ANSWER_SENT, now, ack_ms(t));
        } else if (b == PB_NAK || b == PB_EOT) {
            hs_send_enq(t, now, false);
        }
        break;
    case H_ANSWER_SENT:
        if (b == PB_ACK) {
            send_control(t, PB_EOT, now);
            if (--t->answers_left > 0) {
                /* duplicate: the same answer once more, a fresh exchange */
                set_timer(t, H_PROCESS, now, t->cfg.think_ms);
            } else {
                go_idle(t);
            }
        } else if (b == PB_NAK && !repeat_tx(t, now, H_ANSWER_SENT)) {
            send_control(t, PB_EOT, now);
            go_idle(t);
        }
        break;
    default:
        break;
    }
}

static void hs_timer(struct sim_terminal *t, int64_t now)
{
    switch (t->state) {
    case H_ENQ_ACKED:
        if (t->in_txn && t->rx_last_accepted)
            hs_processing(t, now); /* EOT lost: proceed with the request taken */
        else
            go_idle(t);
        break;
    case H_WAIT_EOT:
        hs_processing(t, now); /* EOT lost: the request was taken anyway */
        break;
    case H_PROCESS:
        start_answer(t, now);
        break;
    case H_ENQ_SENT:
        if (t->tries >= t->disc->max_tries) {
            pb_warn("terminal: transaction %u: register never took the answer", t->txn_no);
            go_idle(t);
        } else {
            hs_send_enq(t, now, false);
        }
        break;
    case H_ANSWER_SENT:
        if (!repeat_tx(t, now, H_ANSWER_SENT)) {
            send_control(t, PB_EOT, now);
            go_idle(t);
        }
        break;
    default:
        go_idle(t);
        break;
    }
}

/* ---- master discipline -------------------------------------------------------------- */

static void script_add(struct sim_terminal *t, enum pb_kind kind, uint8_t how, uint32_t wait_ms)
{
    if (t->script_len < SCRIPT_MAX)
        t->script[t->script_len++] =
            (struct pt_msg){kind, (how & PB_MSG_APP_ACK) != 0, wait_ms, how, false};
}

/* The receipt the terminal prints to the register (setting `receipt`): print lines, or
 * the whole receipt as one text block (`receipt block`) where the protocol has one. */
static void script_receipt(struct sim_terminal *t, uint8_t how, uint32_t wait_ms)
{
    const struct sim_settings *s = settings(t);
    if (!s || !s->receipt)
        return;
    if (s->receipt_block && t->cfg.proto->encode_text_block) {
        script_add(t, PB_KIND_PRINT, how, wait_ms);
        t->script[t->script_len - 1].block = true;
        return;
    }
    for (unsigned i = 0; i < RECEIPT_LINES; i++)
        script_add(t, PB_KIND_PRINT, how, i == 0 ? wait_ms : 0);
}

static uint8_t outcome_bit(enum pb_result r)
{
    return r == PB_RESULT_APPROVED  ? PB_ON_APPROVED
           : r == PB_RESULT_ABORTED ? PB_ON_ABORTED
                                    : PB_ON_DECLINED;
}

/* The terminal's messages for the command in t->req: the protocol's answer to it
 * (discipline.answer) for the outcome decided. The card-and-PIN time, and a delay
 * fault, go before the first message that waits for them (an answer with none, such as
 * a status enquiry's, goes at once, and a delay fault before its outcome); a duplicate
 * repeats each message sent per answer; no-answer stops before the outcome. */
static void master_script(struct sim_terminal *t)
{
    t->script_len = t->script_pos = 0;
    const struct sim_fault *d = fault(t, SIM_FAULT_DELAY);
    uint32_t think = t->cfg.think_ms + (d ? d->ms : 0);
    const struct pb_answer *a = t->disc->answer ? t->disc->answer(&t->req) : NULL;
    if (!a || a->msg[0].kind == PB_KIND_OTHER) {
        script_add(t, PB_KIND_ACCEPTED, 0, 0);
        script_add(t, PB_KIND_COMPLETION, PB_MSG_APP_ACK, 0);
        return;
    }
    uint8_t outcome = outcome_bit(t->result);
    bool no_answer = fault(t, SIM_FAULT_NO_ANSWER) != NULL;
    bool thought = false;
    for (unsigned i = 0; i < PB_ANSWER_MSGS && a->msg[i].kind != PB_KIND_OTHER; i++) {
        const struct pb_answer_msg *z = &a->msg[i];
        if (!(z->on & outcome))
            continue;
        if (no_answer && z->kind != PB_KIND_ACCEPTED && z->kind != PB_KIND_INTERMEDIATE)
            return;
        uint32_t wait = 0;
        bool outcome_msg = z->kind == PB_KIND_RESULT || z->kind == PB_KIND_COMPLETION ||
                           z->kind == PB_KIND_ABORT;
        if (!thought && ((z->how & PB_MSG_THINK) || outcome_msg)) {
            wait = (z->how & PB_MSG_THINK) ? think : (d ? d->ms : 0);
            thought = true;
        }
        if (z->how & PB_MSG_RECEIPT) {
            script_receipt(t, z->how, wait);
            continue;
        }
        unsigned n = (z->how & PB_MSG_EACH) ? t->answers_left : 1;
        for (unsigned k = 0; k < n; k++)
            script_add(t, (enum pb_kind)z->kind, z->how, k == 0 ? wait : 0);
    }
}

/* A receipt's lines: who printed it, what, its numbers, and its outcome with the card
 * number as receipts show it, all but the last four digits starred. */
static unsigned receipt_lines(struct sim_terminal *t, char lines[][PB_TEXT_MAX])
{
    char amount[PB_MONEY_FMT_MAX];
    bool eod = t->type == PB_TXN_END_OF_DAY;
    int64_t shown = eod ? (t->eod.total < 0 ? -t->eod.total : t->eod.total) : t->charged;
    pb_money_format(amount, sizeof amount, shown, t->cfg.currency);
    snprintf(lines[0], PB_TEXT_MAX, "POSSIM TERMINAL %s",
             settings(t) ? settings(t)->terminal_id : "");
    snprintf(lines[1], PB_TEXT_MAX, "%s %s", pb_txn_name(t->type), amount);
    if (eod)
        snprintf(lines[2], PB_TEXT_MAX, "RECEIPTS %04u-%04u COUNT %u",
                 t->eod.totals.first_receipt, t->eod.totals.last_receipt,
                 t->eod.totals.count[SIM_BRAND]);
    else
        snprintf(lines[2], PB_TEXT_MAX, "TRACE %06u RECEIPT %04u", t->trace_no % 1000000,
                 t->receipt_no % 10000);
    const char *verdict = t->result == PB_RESULT_APPROVED ? "APPROVED" : "DECLINED";
    bool card = !eod && t->type != PB_TXN_VOID;
    if (card) {
        char pan[sizeof SIM_PAN];
        size_t n = strlen(SIM_PAN);
        for (size_t i = 0; i < n; i++)
            pan[i] = i + 4 < n ? '*' : SIM_PAN[i];
        pan[n] = '\0';
        snprintf(lines[3], PB_TEXT_MAX, "%s CARD %s", verdict, pan);
    } else {
        snprintf(lines[3], PB_TEXT_MAX, "%s", verdict);
    }
    return RECEIPT_LINES;
}

static void master_build(struct sim_terminal *t, const struct pt_msg *z, struct pos_msg *m)
{
    pb_msg_init(m);
    m->proto = t->cfg.proto;
    m->dir = PB_DIR_PT;
    m->kind = z->kind;
    switch (z->kind) {
    case PB_KIND_ACCEPTED:
        break;
    case PB_KIND_INTERMEDIATE:
        m->flags |= PB_F_RESULT_CODE;
        m->result_code = t->disc->codes[PB_REASON_INSERT_CARD];
        break;
    case PB_KIND_RESULT:
        build_result(t, m, z->how);
        break;
    case PB_KIND_PRINT: {
        /* which line of the receipt: the position in the script after the result */
        unsigned line = 0;
        for (unsigned i = 0; i < t->script_pos; i++)
            line += t->script[i].kind == PB_KIND_PRINT;
        char lines[RECEIPT_LINES][PB_TEXT_MAX];
        unsigned n = receipt_lines(t, lines);
        snprintf(m->text, sizeof m->text, "%s", lines[line < n ? line : n - 1]);
        break;
    }
    case PB_KIND_COMPLETION: {
        m->txn = t->type;
        struct pb_answer_facts facts = answer_facts(t, z->how);
        if (t->disc->shape_answer && (z->how & PB_MSG_STATUS))
            t->disc->shape_answer(m, &facts);
        break;
    }
    case PB_KIND_ABORT:
        m->txn = t->type;
        m->result = t->result == PB_RESULT_APPROVED ? PB_RESULT_ABORTED : t->result;
        m->flags |= PB_F_RESULT_CODE;
        m->result_code = t->code ? t->code : t->disc->codes[PB_REASON_ABORT];
        snprintf(m->result_text, sizeof m->result_text, "%02X", (unsigned)m->result_code);
        break;
    default:
        m->kind = PB_KIND_OTHER;
        break;
    }
}

/* The whole receipt as one print text block, encoded into t->tx. */
static int encode_block(struct sim_terminal *t)
{
    char lines[RECEIPT_LINES][PB_TEXT_MAX];
    unsigned n = receipt_lines(t, lines);
    const char *v[RECEIPT_LINES];
    for (unsigned i = 0; i < n; i++)
        v[i] = lines[i];
    unsigned type = t->type == PB_TXN_END_OF_DAY ? PB_RECEIPT_ADMIN : PB_RECEIPT_CUSTOMER;
    int r = t->cfg.proto->encode_text_block(v, n, type, t->tx, sizeof t->tx);
    if (r < 0) {
        pb_error("terminal: cannot encode a text block: %s", pb_strerror(r));
        t->tx_len = 0;
        return r;
    }
    t->tx_len = (size_t)r;
    t->tx_kind = PB_KIND_PRINT;
    return r;
}

/* Sends the next message of the script, after its wait, or ends the transaction. */
static void master_next(struct sim_terminal *t, int64_t now)
{
    if (t->script_pos >= t->script_len) {
        if (fault(t, SIM_FAULT_NO_ANSWER)) {
            pb_info("terminal: transaction %u: no answer", t->txn_no);
            t->st.unanswered++;
        }
        go_idle(t);
        return;
    }
    struct pt_msg *z = &t->script[t->script_pos];
    if (z->wait_ms) {
        uint32_t w = z->wait_ms;
        z->wait_ms = 0;
        set_timer(t, M_PROCESS, now, w);
        return;
    }
    if (z->kind == PB_KIND_RESULT)
        book(t);
    struct pos_msg m;
    master_build(t, z, &m);
    if ((z->block ? encode_block(t) : encode(t, &m)) < 0) {
        t->script_pos++;
        master_next(t, now);
        return;
    }
    transmit(t, now, true);
    if (t->in_txn)
        set_timer(t, M_MSG_SENT, now, ack_ms(t));
}

static void master_sent_ok(struct sim_terminal *t, int64_t now)
{
    struct pt_msg *z = &t->script[t->script_pos];
    if (z->app_ack) {
        set_timer(t, M_WAIT_APP_ACK, now, ack_ms(t));
        return;
    }
    t->script_pos++;
    if (z->kind == PB_KIND_ACCEPTED && maybe_power_cycle(t, now))
        return;
    master_next(t, now);
}

/* The register's verdict on the issue of goods, instead of its acknowledgement of the
 * approved result: ask again later, book a part, or reverse the payment (unless the
 * no-reversal fault says this terminal completes anyway). */
static void master_goods(struct sim_terminal *t, const struct pos_msg *m, int64_t now)
{
    if (m->result == PB_RESULT_NONE) {
        /* "please wait": the same status information again after a while */
        set_timer(t, M_PROCESS, now, t->cfg.think_ms);
        return;
    }
    struct batch_entry *e = find_receipt(t, t->receipt_no);
    if (m->result == PB_RESULT_APPROVED && (m->flags & PB_F_AMOUNT) && m->amount >= 0 &&
        m->amount <= t->charged) {
        pb_info("terminal: transaction %u: partial issue of goods, booking %lld", t->txn_no,
                (long long)m->amount);
        if (t->type == PB_TXN_PURCHASE)
            t->st.total -= t->charged - m->amount;
        t->charged = m->amount;
        if (e)
            e->amount = m->amount;
    } else if (m->result != PB_RESULT_APPROVED && !fault(t, SIM_FAULT_NO_REVERSAL)) {
        pb_info("terminal: transaction %u: goods not issued, reversing", t->txn_no);
        if (t->type == PB_TXN_PURCHASE)
            t->st.total -= t->charged;
        if (e)
            e->voided = true;
        t->st.voided++;
        t->code = t->disc->codes[PB_REASON_ABORT];
        t->script_len = t->script_pos = 0;
        script_add(t, PB_KIND_ABORT, PB_MSG_APP_ACK, 0);
        master_next(t, now);
        return;
    }
    t->script_pos++;
    master_next(t, now);
}

/* The terminal's acceptance (80 00 00), or its refusal of a command with code. */
static void accept_or_refuse(struct sim_terminal *t, enum pb_kind k, int32_t code,
                             struct pos_msg *a)
{
    pb_msg_init(a);
    a->proto = t->cfg.proto;
    a->dir = PB_DIR_PT;
    a->kind = k;
    if (k == PB_KIND_REFUSED) {
        a->flags |= PB_F_RESULT_CODE;
        a->result_code = code;
        a->result = PB_RESULT_NOT_PROCESSED;
    }
}

/* The answer at once to a frame that opens no transaction (discipline.answer_other):
 * sent, repeated on NAK or a missing ACK like any PT message, and no step of the
 * scenario is taken for it. */
static void master_answer_other(struct sim_terminal *t, const struct pos_msg *m, int64_t now)
{
    int32_t code = 0;
    enum pb_kind k = t->disc->answer_other ? t->disc->answer_other(m, &code) : PB_KIND_OTHER;
    if (k != PB_KIND_ACCEPTED && k != PB_KIND_REFUSED) {
        pb_debug("terminal: %s outside a transaction: no answer", pb_kind_name(m->kind));
        return;
    }
    struct pos_msg a;
    accept_or_refuse(t, k, code, &a);
    pb_debug("terminal: %s outside a transaction: %s", pb_kind_name(m->kind), pb_kind_name(k));
    sim_plan_clear(&t->plan);
    sim_wire_set_plan(t->wire, NULL);
    t->script_len = t->script_pos = 0;
    script_add(t, k, 0, 0);
    if (encode(t, &a) < 0) {
        t->script_len = 0;
        return;
    }
    t->tx_frames = 0;
    transmit(t, now, true);
    set_timer(t, M_MSG_SENT, now, ack_ms(t));
}

static void master_take_command(struct sim_terminal *t, const struct pos_msg *m, int64_t now)
{
    t->req = *m;
    t->receipt_no = 0;
    decide(t);
    if (m->kind != PB_KIND_REQUEST) {
        /* A command this terminal does not know: refused, function not possible. */
        struct pos_msg r;
        accept_or_refuse(t, PB_KIND_REFUSED, t->disc->codes[PB_REASON_NOT_POSSIBLE], &r);
        t->script_len = t->script_pos = 0;
        if (encode(t, &r) >= 0)
            transmit(t, now, true);
        go_idle(t);
        return;
    }
    master_script(t);
    master_next(t, now);
}

static void master_frame(struct sim_terminal *t, const struct pb_frame *f, int64_t now)
{
    bool idle = t->state == T_IDLE;
    /* A frame after one we did not take (NAK, or no ACK) is its transport repeat. */
    bool repeat = t->in_txn && t->rx_frames > 0 && !t->rx_last_accepted;
    if (idle && !t->in_txn) {
        /* Only a command opens a transaction. Any other frame is acknowledged, and
         * answered at once as the protocol says (a display text, an abort with nothing
         * to abort, a command this terminal does not perform); an application ACK
         * arriving after we finished is dropped. */
        struct pos_msg pre;
        if (f->checksum_ok && t->cfg.proto->decode(f, PB_DIR_ECR, &pre) >= 0 &&
            pre.kind != PB_KIND_REQUEST) {
            send_control(t, PB_ACK, now);
            master_answer_other(t, &pre, now);
            return;
        }
        begin_txn(t);
    }
    if (!repeat) {
        t->rx_frames++;
        t->rx_attempt = 0;
    }
    t->rx_attempt++;
    if (idle)
        t->req_arrivals++;
    bool nak = !f->checksum_ok || sim_plan_naks(&t->plan, t->rx_frames, t->rx_attempt);
    if (nak || sim_plan_withholds_ack(&t->plan, t->rx_frames, t->rx_attempt)) {
        t->rx_last_accepted = false;
        if (nak)
            send_control(t, PB_NAK, now);
        if (idle && t->rx_attempt >= t->disc->max_tries)
            go_idle(t); /* the ECR's last try: it gives up, and so do we */
        return;
    }
    send_control(t, PB_ACK, now);
    t->rx_last_accepted = true;
    struct pos_msg m;
    t->cfg.proto->decode(f, PB_DIR_ECR, &m);
    if (idle) {
        master_take_command(t, &m, now);
        return;
    }
    if (m.kind == PB_KIND_APP_ACK && (m.flags & PB_F_GOODS) && t->state == M_WAIT_APP_ACK &&
        t->script_pos < t->script_len && t->script[t->script_pos].kind == PB_KIND_RESULT) {
        master_goods(t, &m, now);
        return;
    }
    if (m.kind == PB_KIND_APP_ACK || m.kind == PB_KIND_ACCEPTED) {
        if (t->state == M_WAIT_APP_ACK) {
            t->script_pos++;
            master_next(t, now);
        }
        return;
    }
    if (m.kind == PB_KIND_ABORT && m.dir != PB_DIR_PT) {
        if (t->ignore_abort) {
            pb_info("terminal: transaction %u: register aborted; the late result still "
                    "comes",
                    t->txn_no);
            return;
        }
        t->result = PB_RESULT_ABORTED;
        t->code = t->disc->codes[PB_REASON_ABORT];
        t->script_len = t->script_pos = 0;
        script_add(t, PB_KIND_ABORT, PB_MSG_APP_ACK, 0);
        t->st.aborted++;
        master_next(t, now);
        return;
    }
    pb_debug("terminal: %s ignored while busy", pb_kind_name(m.kind));
}

static void master_control(struct sim_terminal *t, uint8_t b, int64_t now)
{
    if (t->state != M_MSG_SENT)
        return;
    if (b == PB_ACK) {
        master_sent_ok(t, now);
    } else if (b == PB_NAK) {
        t->st.naks_received++;
        if (!repeat_tx(t, now, M_MSG_SENT)) {
            pb_warn("terminal: transaction %u: frame NAKed %u times, giving up", t->txn_no,
                    t->tries);
            go_idle(t);
        }
    }
}

static void master_timer(struct sim_terminal *t, int64_t now)
{
    switch (t->state) {
    case M_PROCESS:
        master_next(t, now);
        break;
    case M_MSG_SENT:
        if (!repeat_tx(t, now, M_MSG_SENT))
            go_idle(t);
        break;
    case M_WAIT_APP_ACK:
        /* No application ACK from the ECR in time: carry on with the script. */
        t->script_pos++;
        master_next(t, now);
        break;
    default:
        go_idle(t);
        break;
    }
}

/* ---- frame-ACK discipline ---------------------------------------------------------- */

/* Some protocols close an exchange they give up on with EOT; others just stop. */
static void fa_give_up(struct sim_terminal *t, int64_t now)
{
    if (t->disc->eot_on_give_up)
        send_control(t, PB_EOT, now);
    go_idle(t);
}

/* Puts packet k of a split answer into t->tx. */
static void fa_load_packet(struct sim_terminal *t, unsigned k)
{
    size_t at = 0;
    for (unsigned i = 0; i < k; i++)
        at += t->packet_len[i];
    memcpy(t->tx, t->packets + at, t->packet_len[k]);
    t->tx_len = t->packet_len[k];
    t->packet_at = k;
}

static void fa_send_answer(struct sim_terminal *t, int64_t now)
{
    /* multi-packet: the discipline splits the encoded answer; the packets go one per ACK
     * (fa_control). Only the first is the result's head; the last ends the message. */
    const struct sim_fault *mp = fault(t, SIM_FAULT_MULTI_PACKET);
    if (mp && t->disc->split_answer && t->n_packets == 0 && t->tx_kind == PB_KIND_RESULT) {
        unsigned parts = mp->code > 1 && mp->code <= 8 ? (unsigned)mp->code : 2;
        t->n_packets = t->disc->split_answer(t->tx, t->tx_len, parts, t->packets,
                                             sizeof t->packets, t->packet_len);
        if (t->n_packets)
            fa_load_packet(t, 0);
    }
    transmit(t, now, true);
    if (t->in_txn) /* not after drop-link */
        set_timer(t, A_ANSWER_SENT, now, ack_ms(t));
}

static bool is_taken_request(const struct sim_terminal *t, const struct pb_frame *f)
{
    return t->in_txn && f->checksum_ok && f->payload_len == t->rx_copy_len &&
           memcmp(f->payload, t->rx_copy, f->payload_len) == 0;
}

static void fa_frame(struct sim_terminal *t, const struct pb_frame *f, int64_t now)
{
    if (t->state == A_PROCESS || t->state == A_ANSWER_SENT) {
        if (!is_taken_request(t, f)) {
            pb_debug("terminal: frame ignored while busy");
            return;
        }
        /* The register did not see our ACK and repeats the request we took. */
        t->rx_attempt++;
        t->req_arrivals++;
        if (fault(t, SIM_FAULT_APPROVE_REPEAT)) {
            pb_info("terminal: transaction %u: repeat taken as a new request", t->txn_no);
            t->answers_left++;
        }
        if (!sim_plan_withholds_ack(&t->plan, 1, t->rx_attempt))
            send_control(t, PB_ACK, now);
        return;
    }
    struct pos_msg m;
    bool good = f->checksum_ok && t->cfg.proto->decode(f, PB_DIR_ECR, &m) >= 0;
    if (good && m.kind != PB_KIND_REQUEST) {
        send_control(t, PB_ACK, now); /* intact, but nothing this terminal acts on */
        pb_debug("terminal: %s ignored", pb_kind_name(m.kind));
        return;
    }
    if (t->state != A_NAKED) {
        begin_txn(t);
        t->rx_frames = 1;
        t->rx_attempt = 0;
    }
    t->rx_attempt++;
    t->req_arrivals++;
    if (!good || sim_plan_naks(&t->plan, 1, t->rx_attempt)) {
        send_control(t, PB_NAK, now);
        if (t->rx_attempt >= t->disc->max_tries)
            go_idle(t); /* the register's last try: it gives up, and so do we */
        else
            set_timer(t, A_NAKED, now, ack_ms(t) * 2);
        return;
    }
    t->req = m;
    t->rx_copy_len = f->payload_len <= sizeof t->rx_copy ? f->payload_len : 0;
    memcpy(t->rx_copy, f->payload, t->rx_copy_len);
    if (!sim_plan_withholds_ack(&t->plan, 1, t->rx_attempt))
        send_control(t, PB_ACK, now);
    process_request(t, now, A_PROCESS);
}

static void fa_control(struct sim_terminal *t, uint8_t b, int64_t now)
{
    if (t->state != A_ANSWER_SENT)
        return;
    if (b == PB_ACK) {
        if (t->n_packets && t->packet_at + 1 < t->n_packets) {
            fa_load_packet(t, t->packet_at + 1); /* the next packet of the answer */
            transmit(t, now, true);
            set_timer(t, A_ANSWER_SENT, now, ack_ms(t));
            return;
        }
        t->n_packets = 0;
        if (--t->answers_left > 0)
            fa_send_answer(t, now); /* duplicate: the same answer once more */
        else
            go_idle(t);
    } else if (b == PB_NAK) {
        t->st.naks_received++;
        if (!repeat_tx(t, now, A_ANSWER_SENT)) {
            pb_warn("terminal: transaction %u: answer NAKed %u times, giving up", t->txn_no,
                    t->tries);
            fa_give_up(t, now);
        }
    }
}

static void fa_timer(struct sim_terminal *t, int64_t now)
{
    switch (t->state) {
    case A_PROCESS:
        /* A power cycle strikes while the card is read: the request's ACK has left. */
        if (!maybe_power_cycle(t, now))
            fa_send_answer(t, now);
        break;
    case A_ANSWER_SENT:
        if (!repeat_tx(t, now, A_ANSWER_SENT)) {
            pb_warn("terminal: transaction %u: register never took the answer", t->txn_no);
            fa_give_up(t, now);
        }
        break;
    default: /* A_NAKED: the repeat never came */
        go_idle(t);
        break;
    }
}

/* ---- input and timers ----------------------------------------------------------------- */

/* The line discipline: who answers control bytes, frames and timers. */
struct line_ops {
    void (*control)(struct sim_terminal *t, uint8_t b, int64_t now);
    void (*frame)(struct sim_terminal *t, const struct pb_frame *f, int64_t now);
    void (*timer)(struct sim_terminal *t, int64_t now);
};

static const struct line_ops LINE_OPS[] = {
    [PB_LINE_HANDSHAKE] = {hs_control, hs_frame, hs_timer},
    [PB_LINE_MASTER] = {master_control, master_frame, master_timer},
    [PB_LINE_FRAME_ACK] = {fa_control, fa_frame, fa_timer},
};

static const struct line_ops *line_of(const struct sim_terminal *t)
{
    return &LINE_OPS[t->disc->kind];
}

struct feed_ctx {
    struct sim_terminal *t;
    int64_t now;
};

static void on_frame(const struct pb_frame *f, void *ctx)
{
    struct feed_ctx *c = ctx;
    struct sim_terminal *t = c->t;
    if (t->state == T_DEAD)
        return;
    if (f->type == PB_FRAME_GARBAGE)
        return;
    if (f->type == PB_FRAME_CONTROL) {
        if (f->control == PB_NAK && t->disc->kind == PB_LINE_HANDSHAKE)
            t->st.naks_received++;
        line_of(t)->control(t, f->control, c->now);
        return;
    }
    line_of(t)->frame(t, f, c->now);
}

void sim_terminal_input(struct sim_terminal *t, const uint8_t *buf, size_t len, int64_t now)
{
    if (t->state == T_DEAD)
        return;
    struct feed_ctx c = {t, now};
    sim_wire_feed(t->wire, buf, len, on_frame, &c, now);
}

int sim_terminal_tick(struct sim_terminal *t, int64_t now)
{
    for (int guard = 0; guard < 16 && t->deadline >= 0 && t->deadline <= now; guard++) {
        t->deadline = -1;
        if (t->state == T_DEAD)
            after_reboot(t, now);
        else
            line_of(t)->timer(t, now);
    }
    return sim_wire_flush(t->wire, now);
}
