/* MIS-POS on the line (docs/PROTOCOLS.md section 4): each frame ACKed or NAKed; the
 * answer repeats the POS number (9F1F); its trace (9F0E) names a transaction for a later
 * void (9F20); no currency on the wire (the acquirer profile's). */
#include <stdio.h>
#include <string.h>

#include "discipline.h"

static void mispos_shape_request(struct pos_msg *m, const struct pb_request_facts *f)
{
    snprintf(m->pos_id, sizeof m->pos_id, "%s", f->pos_id); /* 9F1F */
    if (m->txn == PB_TXN_VOID && f->has_void_target)
        memcpy(m->receipt, f->void_receipt, sizeof m->receipt); /* 9F20 */
}

/* 9F14 "00" approved, else the code; 9F0E trace, 9F05 terminal id, 9F0B card number. */
static void mispos_shape_answer(struct pos_msg *m, const struct pb_answer_facts *f)
{
    snprintf(m->trace, sizeof m->trace, "%06u", f->trace % 1000000);
    if (m->result == PB_RESULT_APPROVED)
        snprintf(m->auth_code, sizeof m->auth_code, "A%05u", f->trace % 100000);
    memcpy(m->reference, f->req->reference, sizeof m->reference);
    memcpy(m->pos_id, f->req->pos_id, sizeof m->pos_id);
    if (m->result == PB_RESULT_APPROVED)
        snprintf(m->result_text, sizeof m->result_text, "00");
    else
        snprintf(m->result_text, sizeof m->result_text, "%02X",
                 (unsigned)(f->code ? f->code : pb_mispos_discipline.codes[PB_REASON_DECLINED]) & 0xFF);
    memcpy(m->receipt, m->trace, sizeof m->receipt);
    snprintf(m->terminal_id, sizeof m->terminal_id, "%s", f->terminal_id);
    if (m->result == PB_RESULT_APPROVED && m->txn == PB_TXN_PURCHASE)
        snprintf(m->pan, sizeof m->pan, "%s", f->pan);
}

const struct pb_discipline pb_mispos_discipline = {
    .kind = PB_LINE_FRAME_ACK,
    .max_tries = 3,
    .echoes = PB_ECHO_POS_ID,
    .ref_in_receipt = true,
    /* Sale, refund, void as profiled; sign-in and queries are not played. */
    .plays = PB_PLAYS(PB_TXN_PURCHASE) | PB_PLAYS(PB_TXN_REFUND) | PB_PLAYS(PB_TXN_VOID),
    .codes = {[PB_REASON_DECLINED] = 0x05},
    .shape_request = mispos_shape_request,
    .shape_answer = mispos_shape_answer,
};
