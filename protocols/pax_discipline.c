/* PAX POSLink on the line (docs/PROTOCOLS.md section 3): each frame ACKed or NAKed, EOT
 * after the third NAK; the T01 repeats the T00's reference number; no currency on the
 * wire. */
#include <stdio.h>
#include <string.h>

#include "discipline.h"

static void pax_shape_request(struct pos_msg *m, const struct pb_request_facts *f)
{
    /* T00 trace group: the register's reference number, echoed in the T01. */
    snprintf(m->reference, sizeof m->reference, "%u", f->seq);
    /* A void names the terminal's transaction number of the sale. */
    if (m->txn == PB_TXN_VOID && f->has_void_target)
        memcpy(m->receipt, f->void_receipt, sizeof m->receipt);
}

/* T01: host trace, auth code of an approval, the echoed reference; the terminal's
 * transaction number names it for a later void; the account group carries only the
 * last 4 digits of the card. The response code comes from the result. */
static void pax_shape_answer(struct pos_msg *m, const struct pb_answer_facts *f)
{
    snprintf(m->trace, sizeof m->trace, "%06u", f->trace % 1000000);
    if (m->result == PB_RESULT_APPROVED)
        snprintf(m->auth_code, sizeof m->auth_code, "A%05u", f->trace % 100000);
    memcpy(m->reference, f->req->reference, sizeof m->reference);
    memcpy(m->pos_id, f->req->pos_id, sizeof m->pos_id);
    snprintf(m->receipt, sizeof m->receipt, "%u", f->receipt);
    if (m->result == PB_RESULT_APPROVED && m->txn == PB_TXN_PURCHASE) {
        size_t n = strlen(f->pan);
        snprintf(m->pan, sizeof m->pan, "%s", n > 4 ? f->pan + n - 4 : f->pan);
    }
}

const struct pb_discipline pb_pax_discipline = {
    .kind = PB_LINE_FRAME_ACK,
    .max_tries = 3,
    .eot_on_give_up = true,
    .echoes = PB_ECHO_REFERENCE,
    /* T00 credit: sale, return, void. Batch close, sign-in and queries are other
     * commands this description does not play. */
    .plays = PB_PLAYS(PB_TXN_PURCHASE) | PB_PLAYS(PB_TXN_REFUND) | PB_PLAYS(PB_TXN_VOID),
    .shape_request = pax_shape_request,
    .shape_answer = pax_shape_answer,
};
