/* PAX POSLink on the line (docs/PROTOCOLS.md section 3): each frame ACKed or NAKed, EOT
 * after the third NAK; the T01 repeats the T00's reference number; no currency on the
 * wire. */
#include <stdio.h>
#include <string.h>

#include "discipline.h"
#include "protocol.h"

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

/* A T01 in packets, as POSLink sends a long answer (pax.h, multi-packet): the first packet
 * is the message with status "1" and only its first part; every later one is a status
 * ("1" while more follow, "0" for the last), FS, and the next part of the body. */
static size_t pax_packet(uint8_t *out, size_t cap, char status, bool fs, const uint8_t *part,
                         size_t n)
{
    size_t need = 1 + 1 + (fs ? 1 : 0) + n + 2;
    if (need > cap)
        return 0;
    size_t o = 0;
    out[o++] = PB_STX;
    out[o++] = (uint8_t)status;
    if (fs)
        out[o++] = PB_FS;
    memcpy(out + o, part, n);
    o += n;
    out[o++] = PB_ETX;
    out[o] = pb_lrc(out + 1, o - 1);
    return o + 1;
}

static unsigned pax_split_answer(const uint8_t *frame, size_t n, unsigned parts, uint8_t *out,
                                 size_t cap, size_t *lens)
{
    /* STX status ... ETX LRC: the body after the status byte is cut into parts */
    if (parts < 2 || n < 6 || frame[0] != PB_STX || frame[n - 2] != PB_ETX)
        return 0;
    const uint8_t *body = frame + 2;
    size_t blen = n - 4, per = blen / parts, at = 0, used = 0;
    if (per == 0)
        return 0;
    for (unsigned k = 0; k < parts; k++) {
        size_t len = k + 1 == parts ? blen - at : per;
        size_t w = pax_packet(out + used, cap - used, k + 1 == parts ? '0' : '1', k > 0,
                              body + at, len);
        if (!w)
            return 0;
        lens[k] = w;
        used += w;
        at += len;
    }
    return parts;
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
    .split_answer = pax_split_answer,
};
