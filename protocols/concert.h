/* concert: Ingenico Telium "Concert" (protocol E), the cash register link of Ingenico
 * terminals in France and beyond (docs/PROTOCOLS.md section 1).
 *
 *   pb_proto_concert   the protocol vtable (also listed in the registry, protocol.c)
 *
 * Wire: STX | fixed-width ASCII fields | ETX | LRC (XOR of the bytes after STX through
 * ETX), no stuffing; ENQ/ACK/NAK/EOT single bytes outside frames.
 *
 * Mapping onto struct pos_msg (what decode() fills and encode() reads):
 *
 *   34-byte request (ECR)  kind REQUEST, pos_id, amount, currency, reference = the
 *                          10-byte private field, txn from the type byte ('0' purchase,
 *                          '1' refund, '2' void: the specification's cancellation, which
 *                          pyTeliumManager calls "refund", see concert.c; anything else
 *                          OTHER), and
 *                          text = "answer=A mode=M type=T delay=DDDD auth=UUUU"
 *                          (the answer flag, payment mode, raw type byte, delay and
 *                          authorisation fields as on the wire).
 *   25-byte short answer   kind RESULT, pos_id, result from the status byte ('0'
 *   80-byte full answer    approved, '7' declined, '9' not processed, other UNKNOWN),
 *         (PT)             result_text = the status byte, result_code = its digit value,
 *                          amount (charged), currency, reference = private field,
 *                          text = "format=short mode=M" or "format=full mode=M".
 *                          A full answer's 55-byte report is never stored: only a
 *                          masked PAN (pb_mask_pan) found in it goes to `pan` (a PAN
 *                          followed at once by more digits is told by its Luhn digit).
 *                          redact() masks the report's track data (pb_mask_track_ascii)
 *                          and card numbers, keeping a PAN's first 6 and last 4.
 *   control bytes          kind ACK, NAK, ENQ, EOT.
 *   other lengths          kind OTHER, text says the length (Concert V3 TLV and the
 *                          like); not malformed. A PAN-like digit run goes to `pan`,
 *                          masked.
 *
 * A non-digit amount or currency gives kind OTHER with PB_F_MALFORMED (decode returns
 * PB_ERR_SYNTAX). With dir PB_DIR_UNKNOWN the direction is inferred from the length;
 * a length that contradicts a given direction decodes as kind OTHER.
 *
 * encode() reads the same fields. Text tokens it does not find take defaults (answer
 * '1', mode '1', delay "A010", auth "B010"); txn OTHER needs a "type=" token. A RESULT
 * becomes a full answer when text says "format=full" or pan is set (the report is then
 * pan as given, space padded: possim's business to pass a clear or masked one), else a
 * short answer. pos_id (2) and reference (10) are space padded on the right. Amount and
 * currency are required (PB_ERR_INVAL without them); values that do not fit the fixed
 * widths give PB_ERR_RANGE. */
#ifndef PB_CONCERT_H
#define PB_CONCERT_H

#include "protocol.h"

/* Payload lengths (bytes between STX and ETX) of the Concert E messages. */
enum {
    CONCERT_LEN_REQUEST = 34,
    CONCERT_LEN_SHORT_ANSWER = 25,
    CONCERT_LEN_FULL_ANSWER = 80,
    CONCERT_PAYLOAD_MAX = 1024, /* room for Concert V3 TLV frames */
};

extern const struct pb_protocol pb_proto_concert;

#endif
