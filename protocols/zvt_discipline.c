/* ZVT on the line (docs/PROTOCOLS.md section 2; result codes from the same table):
 * the terminal accepts each command with 80 00 00, is master until 06 0F or 06 1E, and
 * the register answers each of its messages with 80 00 00. Which messages a terminal
 * sends for which command is the table zvt_answers, from the specification PA00P015
 * rev. 13.08 cited as [S n] (as in zvt.c); commands that open no transaction are
 * answered at once by zvt_answer_other. */
#include <stdio.h>
#include <string.h>

#include "discipline.h"

/* Commands possim's register sends for a request that names a pre-authorisation
 * [S 2.10, 2.13, 2.14]; zvt.c decodes them as a void, a purchase and a void. */
#define ZVT_PARTIAL_REVERSAL 0x0623
#define ZVT_BOOK_TOTAL 0x0624
#define ZVT_PREAUTH_REVERSAL 0x0625

static void zvt_shape_request(struct pos_msg *m, const struct pb_request_facts *f)
{
    bool names_preauth = f->has_void_target && f->target_type == PB_TXN_PREAUTH;
    /* Authorisation, refund and pre-authorisation carry BMP 04 and 49 [S 2.2, 2.15, 2.8];
     * a booking or partial reversal of a pre-authorisation does too [S 2.10, 2.13];
     * registration names its currency in its config block. */
    bool money = m->txn == PB_TXN_PURCHASE || m->txn == PB_TXN_REFUND ||
                 m->txn == PB_TXN_PREAUTH || m->txn == PB_TXN_REGISTRATION ||
                 (names_preauth && (m->flags & PB_F_AMOUNT));
    if (!money)
        m->flags &= ~(uint32_t)(PB_F_AMOUNT | PB_F_CURRENCY);
    if (m->txn == PB_TXN_REGISTRATION)
        m->flags &= ~(uint32_t)PB_F_AMOUNT;
    if (!f->has_void_target)
        return;
    /* A reversal (06 30) names the receipt (BMP 87) of the sale it reverses [S 2.9]. */
    if (m->txn == PB_TXN_VOID || names_preauth)
        memcpy(m->receipt, f->void_receipt, sizeof m->receipt);
    if (!names_preauth)
        return;
    /* A pre-authorisation is released in part with 06 23 and the unused amount, released
     * whole with 06 25, or booked with 06 24 and the amount used; 06 23 and 06 24 carry
     * its trace too [S 2.10, 2.13, 2.14]. */
    if (m->txn == PB_TXN_PURCHASE)
        m->cmd = ZVT_BOOK_TOTAL;
    else if (m->flags & PB_F_AMOUNT)
        m->cmd = ZVT_PARTIAL_REVERSAL;
    else
        m->cmd = ZVT_PREAUTH_REVERSAL;
    if (m->cmd != ZVT_PREAUTH_REVERSAL)
        memcpy(m->trace, f->target_trace, sizeof m->trace);
}

/* 04 0F: result code (BMP 27), terminal id (29), trace (0B), receipt (87), the card number
 * (22) of an approved payment, and at end of day the individual totals (60) [S 3.1.1,
 * 3.1.3]. 06 0F after a status enquiry: the software version and the terminal status
 * code, 00 "PT ready" [S 2.56.5, 11]. */
static void zvt_shape_answer(struct pos_msg *m, const struct pb_answer_facts *f)
{
    if (m->kind == PB_KIND_COMPLETION) {
        if (m->txn == PB_TXN_STATUS && f->software) {
            m->flags |= PB_F_RESULT_CODE;
            m->result_code = 0x00;
            snprintf(m->text, sizeof m->text, "%s", f->software);
        }
        return;
    }
    if (m->kind != PB_KIND_RESULT)
        return;
    m->flags |= PB_F_RESULT_CODE;
    m->result_code = f->code;
    snprintf(m->result_text, sizeof m->result_text, "%02X", (unsigned)f->code & 0xFF);
    snprintf(m->terminal_id, sizeof m->terminal_id, "%s", f->terminal_id);
    if (f->trace)
        snprintf(m->trace, sizeof m->trace, "%06u", f->trace % 1000000);
    if (f->receipt)
        snprintf(m->receipt, sizeof m->receipt, "%04u", f->receipt % 10000);
    if (m->result == PB_RESULT_APPROVED &&
        (m->txn == PB_TXN_PURCHASE || m->txn == PB_TXN_PREAUTH))
        snprintf(m->pan, sizeof m->pan, "%s", f->pan);
    if (f->totals) {
        m->totals = *f->totals;
        m->flags |= PB_F_TOTALS;
    }
}

/* ---- which messages answer which command ---------------------------------------------- */

#define MSG(k, on, how) {PB_KIND_##k, (on), (how)}
#define ACK PB_MSG_APP_ACK
#define OK PB_ON_APPROVED
#define NO (PB_ON_DECLINED | PB_ON_ABORTED)
#define ACCEPT MSG(ACCEPTED, PB_ON_ANY, 0)

/* An authorisation [S 2.2]: 80 00 00 at once (2.2.1); intermediate status "insert card"
 * (2.2.4); status information with the result after card, PIN and host (2.2.6); the
 * receipt, "also for failed Authorisations" (2.2.7); completion, or abort with the result
 * code when the payment failed (2.2.9). An abort (6C: timeout, abort key) comes with no
 * status information. */
#define PAYMENT(receipt_on)                                                                    \
    {                                                                                          \
        ACCEPT, MSG(INTERMEDIATE, PB_ON_ANY, ACK),                                             \
            MSG(RESULT, OK | PB_ON_DECLINED, ACK | PB_MSG_THINK | PB_MSG_EACH),                \
            MSG(PRINT, (receipt_on), ACK | PB_MSG_RECEIPT), MSG(COMPLETION, OK, ACK),          \
            MSG(ABORT, NO, ACK | PB_MSG_THINK),                                                \
    }

#define RELEASE                                                                                \
    {                                                                                          \
        ACCEPT, MSG(RESULT, OK | PB_ON_DECLINED, ACK | PB_MSG_THINK | PB_MSG_EACH),            \
            MSG(PRINT, OK | PB_ON_DECLINED, ACK | PB_MSG_RECEIPT), MSG(COMPLETION, OK, ACK),   \
            MSG(ABORT, NO, ACK | PB_MSG_THINK),                                                \
    }

static const struct pb_answer zvt_answers[PB_TXN__COUNT] = {
    [PB_TXN_PURCHASE] = {PAYMENT(OK | PB_ON_DECLINED), "PA00P015 2.2"},
    /* "The further sequence ... identical to Authorization" [S 2.15]. */
    [PB_TXN_REFUND] = {PAYMENT(OK | PB_ON_DECLINED), "PA00P015 2.15, 2.2"},
    /* As an authorisation, but "there is no receipt printout for a successful
     * pre-authorisation" [S 2.8, 2.2.7]. */
    [PB_TXN_PREAUTH] = {PAYMENT(PB_ON_DECLINED), "PA00P015 2.8, 2.2.7"},
    /* Reversal, partial reversal, pre-authorisation reversal: as an authorisation apart
     * from the issue of goods [S 2.9, 2.10, 2.14]; the receipt number names the card, so
     * no card is asked for. */
    [PB_TXN_VOID] = {RELEASE, "PA00P015 2.9, 2.10, 2.14"},
    /* Status enquiry: 80 00 00, then, with no event to start, the completion with the
     * software version and the terminal status code; no status information, and no card
     * or host to wait for [S 2.56]. */
    [PB_TXN_STATUS] = {{ACCEPT, MSG(COMPLETION, OK, ACK | PB_MSG_STATUS), MSG(ABORT, NO, ACK)},
                       "PA00P015 2.56"},
    /* End of day: status information with the total (BMP 04) and the individual totals
     * (BMP 60), the receipt, the completion; "in error-case ... an Abort" [S 2.16, 3.1.3]. */
    [PB_TXN_END_OF_DAY] = {{ACCEPT,
                            MSG(RESULT, OK, ACK | PB_MSG_THINK | PB_MSG_EACH | PB_MSG_TOTALS),
                            MSG(PRINT, OK, ACK | PB_MSG_RECEIPT | PB_MSG_ADMIN),
                            MSG(COMPLETION, OK, ACK), MSG(ABORT, NO, ACK | PB_MSG_THINK)},
                           "PA00P015 2.16, 3.1.3"},
    /* Registration: 80 00 00, then the completion [S 2.1]. */
    [PB_TXN_REGISTRATION] = {{ACCEPT, MSG(COMPLETION, OK, ACK), MSG(ABORT, NO, ACK)},
                             "PA00P015 2.1"},
    /* Log-off: "the PT always responds with 80 00 00", nothing follows [S 2.24]. */
    [PB_TXN_LOGOFF] = {{ACCEPT}, "PA00P015 2.24"},
    /* The other commands that end with a completion or an abort (diagnosis, set date and
     * time, reset, initialisation, ...) [S 2.17, 2.18, 2.25, 2.44]. */
    [PB_TXN_OTHER] = {{ACCEPT, MSG(COMPLETION, OK, ACK | PB_MSG_THINK),
                       MSG(ABORT, NO, ACK | PB_MSG_THINK)},
                      "PA00P015 2.17, 2.18, 2.25, 2.44"},
};

/* Book total: a purchase by its decoding, but "the further sequence of events is
 * identical to the Partial-Reversal" [S 2.13]: the pre-authorisation's receipt names the
 * card. */
static const struct pb_answer zvt_book_total = {RELEASE, "PA00P015 2.13, 2.10"};

#undef RELEASE
#undef PAYMENT
#undef ACCEPT
#undef NO
#undef OK
#undef ACK
#undef MSG

static const struct pb_answer *zvt_answer(const struct pos_msg *req)
{
    if (req->cmd == ZVT_BOOK_TOTAL)
        return &zvt_book_total;
    return (unsigned)req->txn < PB_TXN__COUNT ? &zvt_answers[req->txn] : NULL;
}

/* Commands from the register that open no transaction, and what the PT answers at once.
 * Any other (one that needs card data or a key press the simulated terminal cannot give,
 * or one no table knows) is refused: 84 83, "function not possible" [S 10]. */
static const struct {
    uint16_t cmd;
    uint8_t kind;  /* ACCEPTED: 80 00 00; REFUSED: 84 code 00 */
    uint8_t code;
    const char *spec;
} zvt_at_once[] = {
    {0x06B0, PB_KIND_ACCEPTED, 0, "2.23 abort: 80 00 00"},
    {0x06E0, PB_KIND_ACCEPTED, 0, "2.26 display text: 80 00 00, no completion"},
    {0x0685, PB_KIND_ACCEPTED, 0, "2.27 display text (old): 80 00 00, no completion"},
    {0x06F0, PB_KIND_ACCEPTED, 0, "2.33.3 display image: 80 00 00"},
    {0x06C5, PB_KIND_ACCEPTED, 0, "2.64 close card session: 80 00 00"},
    {0x0850, PB_KIND_ACCEPTED, 0, "2.22 activate card reader: 80 00 00, no completion"},
    {0x0802, PB_KIND_ACCEPTED, 0, "2.61 switch protocol: always 80 00 00"},
    /* A simulated line cannot change its rate: "if the PT cannot change the baud rate
     * it responds ... 84 7D 00" [S 2.57.2]. */
    {0x0840, PB_KIND_REFUSED, 0x7D, "2.57.2 change baudrate: cannot"},
};

static enum pb_kind zvt_answer_other(const struct pos_msg *m, int32_t *code)
{
    /* The register's acknowledgements (80 00 00, 84 xx) answer nothing. */
    if (m->kind == PB_KIND_APP_ACK || m->kind == PB_KIND_ACK || m->kind == PB_KIND_NAK)
        return PB_KIND_OTHER;
    for (size_t i = 0; i < sizeof zvt_at_once / sizeof zvt_at_once[0]; i++) {
        if (m->cmd != zvt_at_once[i].cmd)
            continue;
        *code = zvt_at_once[i].code;
        return (enum pb_kind)zvt_at_once[i].kind;
    }
    *code = 0x83; /* function not possible */
    return PB_KIND_REFUSED;
}

const struct pb_discipline pb_zvt_discipline = {
    .kind = PB_LINE_MASTER,
    .max_tries = 3, /* a frame and at most two repeats */
    .currency_on_wire = true,
    .ref_in_receipt = true,
    .plays = PB_PLAYS(PB_TXN_PURCHASE) | PB_PLAYS(PB_TXN_REFUND) | PB_PLAYS(PB_TXN_VOID) |
             PB_PLAYS(PB_TXN_PREAUTH) | PB_PLAYS(PB_TXN_STATUS) | PB_PLAYS(PB_TXN_END_OF_DAY) |
             PB_PLAYS(PB_TXN_REGISTRATION) | PB_PLAYS(PB_TXN_LOGOFF),
    .codes =
        {
            [PB_REASON_ABORT] = 0x6C,               /* abort via timeout or abort key */
            [PB_REASON_NOT_POSSIBLE] = 0x83,        /* function not possible */
            [PB_REASON_ALREADY_REVERSED] = 0xB4,
            [PB_REASON_REVERSAL_IMPOSSIBLE] = 0xB5,
            [PB_REASON_INSERT_CARD] = 0x0A,         /* 04 FF status "insert card" */
            /* the register's 84 xx after a 04 0F (PA00P015 13.08, 2.2.6; Portalum.Zvt
             * uses 66 for "goods not issued") */
            [PB_REASON_GOODS_WAIT] = 0x9C,
            [PB_REASON_GOODS_PARTIAL] = 0x9D,
            [PB_REASON_GOODS_NOT_ISSUED] = 0x66,
            /* B7 "pre-authorisation incorrect (amount too high) or amount wrong", B8
             * "error pre-authorisation" [S 10] */
            [PB_REASON_PREAUTH_AMOUNT] = 0xB7,
            [PB_REASON_PREAUTH_UNKNOWN] = 0xB8,
        },
    .shape_request = zvt_shape_request,
    .shape_answer = zvt_shape_answer,
    .answer = zvt_answer,
    .answer_other = zvt_answer_other,
    .preauth_ops = PB_PREAUTH_PARTIAL_REVERSAL | PB_PREAUTH_BOOK_TOTAL | PB_PREAUTH_REVERSAL,
};
