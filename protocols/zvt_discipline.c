/* ZVT on the line (docs/PROTOCOLS.md section 2; result codes from the same table):
 * the terminal accepts each command with 80 00 00, is master until 06 0F or 06 1E, and
 * the register answers each of its messages with 80 00 00. */
#include <stdio.h>
#include <string.h>

#include "discipline.h"

static void zvt_shape_request(struct pos_msg *m, const struct pb_request_facts *f)
{
    /* Only authorisation and refund carry BMP 04 and 49; registration names its
     * currency in its config block. */
    if (m->txn != PB_TXN_PURCHASE && m->txn != PB_TXN_REFUND && m->txn != PB_TXN_REGISTRATION)
        m->flags &= ~(uint32_t)(PB_F_AMOUNT | PB_F_CURRENCY);
    if (m->txn == PB_TXN_REGISTRATION)
        m->flags &= ~(uint32_t)PB_F_AMOUNT;
    /* A reversal (06 30) names the receipt (BMP 87) of the sale it reverses. */
    if (m->txn == PB_TXN_VOID && f->has_void_target)
        memcpy(m->receipt, f->void_receipt, sizeof m->receipt);
}

/* 04 0F: result code (BMP 27), terminal id (29), trace (0B), receipt (87), and the card
 * number (22) of an approved purchase. */
static void zvt_shape_answer(struct pos_msg *m, const struct pb_answer_facts *f)
{
    m->flags |= PB_F_RESULT_CODE;
    m->result_code = f->code;
    snprintf(m->result_text, sizeof m->result_text, "%02X", (unsigned)f->code & 0xFF);
    snprintf(m->terminal_id, sizeof m->terminal_id, "%s", f->terminal_id);
    snprintf(m->trace, sizeof m->trace, "%06u", f->trace % 1000000);
    snprintf(m->receipt, sizeof m->receipt, "%04u", f->receipt % 10000);
    if (m->result == PB_RESULT_APPROVED && m->txn == PB_TXN_PURCHASE)
        snprintf(m->pan, sizeof m->pan, "%s", f->pan);
}

const struct pb_discipline pb_zvt_discipline = {
    .kind = PB_LINE_MASTER,
    .max_tries = 3, /* a frame and at most two repeats */
    .currency_on_wire = true,
    .ref_in_receipt = true,
    .plays = PB_PLAYS(PB_TXN_PURCHASE) | PB_PLAYS(PB_TXN_REFUND) | PB_PLAYS(PB_TXN_VOID) |
             PB_PLAYS(PB_TXN_STATUS) | PB_PLAYS(PB_TXN_END_OF_DAY) |
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
        },
    .shape_request = zvt_shape_request,
    .shape_answer = zvt_shape_answer,
};
