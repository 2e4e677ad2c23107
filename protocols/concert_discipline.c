/* Concert on the line (docs/PROTOCOLS.md section 1): ENQ/ACK, frame, ACK, EOT in each
 * direction; the answer repeats the POS number and the private field; status '0'
 * approved, '7' rejected, '9' not processed (there is no "aborted"). */
#include <stdio.h>
#include <string.h>

#include "discipline.h"

static void concert_shape_request(struct pos_msg *m, const struct pb_request_facts *f)
{
    snprintf(m->pos_id, sizeof m->pos_id, "%s", f->pos_id);
    snprintf(m->text, sizeof m->text, "answer=1 mode=1"); /* full answer, card */
    if (m->txn == PB_TXN_VOID) {
        /* A cancellation carries the amount of the sale it cancels, not a receipt; with
         * no sale known, an amount of zero. */
        m->receipt[0] = '\0';
        m->flags |= PB_F_AMOUNT;
        m->amount = f->has_void_target ? f->void_amount : 0;
    }
}

static void concert_shape_answer(struct pos_msg *m, const struct pb_answer_facts *f)
{
    memcpy(m->pos_id, f->req->pos_id, sizeof m->pos_id);
    memcpy(m->reference, f->req->reference, sizeof m->reference);
    /* The register asked for a full answer ('1'), which carries the card number in its
     * report field, or a short one. */
    bool full = strstr(f->req->text, "answer=0") == NULL;
    snprintf(m->text, sizeof m->text, "format=%s mode=1", full ? "full" : "short");
    if (full)
        snprintf(m->pan, sizeof m->pan, "%s", f->pan);
}

const struct pb_discipline pb_concert_discipline = {
    .kind = PB_LINE_HANDSHAKE,
    .max_tries = 3,
    .currency_on_wire = true,
    .aborted_is_not_processed = true,
    .void_by_amount = true,
    .echoes = PB_ECHO_POS_ID,
    /* Protocol E has no end of day, registration or log-off; its status is the
     * liveness probe. */
    .plays = PB_PLAYS(PB_TXN_PURCHASE) | PB_PLAYS(PB_TXN_REFUND) | PB_PLAYS(PB_TXN_VOID) |
             PB_PLAYS(PB_TXN_STATUS),
    .status_is_probe = true,
    .shape_request = concert_shape_request,
    .shape_answer = concert_shape_answer,
};
