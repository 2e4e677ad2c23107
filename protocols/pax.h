/* pax: PAX POSLink over a serial or USB line (North America), docs/PROTOCOLS.md section 3.
 *
 *   pb_proto_pax   the protocol vtable (also listed in the registry, protocol.c)
 *
 * Wire: STX | fields separated by FS (sub-fields by US) | ETX | LRC (XOR of the bytes
 * after STX through ETX), no stuffing; ACK, NAK and EOT single bytes outside frames (the
 * receiver ACKs a good frame, NAKs a bad LRC, sends EOT after the third NAK).
 *
 * Mapping onto struct pos_msg (what decode() fills and encode() reads):
 *
 *   T00 credit request   kind REQUEST, dir ECR, cmd 'T'<<8|0, txn from the type field
 *   (ECR)                (01 purchase, 02 refund, 03 preauth, 16 and 99 void, others
 *                        OTHER), amount = amount sub-field (ASCII cents; an empty amount,
 *                        as in a void, leaves PB_F_AMOUNT off), pan = masked account
 *                        number of a manual entry (pb_mask_pan), reference = ECR
 *                        reference number (trace sub-field 0), auth_code = trace
 *                        sub-field 2, receipt = original transaction number (trace
 *                        sub-field 3: the transaction a void names),
 *                        text = "type=TT v=VER".
 *   T01 credit response  kind RESULT, dir PT, cmd 'T'<<8|1, result from the response
 *   (PT)                 code (result_text as on the wire, result_code its value):
 *                          000000 approved; 000100 declined; 100011 duplicate ->
 *                          declined (the terminal refused a repeat, nothing charged);
 *                          100001 timeout -> not_processed (the terminal gave up: card
 *                          not presented or host not reached, and POSLink reverses a
 *                          host timeout itself, so nothing is charged; an answer that
 *                          never comes is the tracker's in_doubt, not this code);
 *                          100002 aborted -> aborted; other 1xxxxx -> not_processed;
 *                          anything else unknown.
 *                        amount = approved amount, amount_due = amount due with
 *                        PB_F_AMOUNT_DUE when > 0 (partial approval: the tracker then
 *                        classifies partial_approval), auth_code = host sub-field 2,
 *                        trace = host trace number (host sub-field 4), receipt =
 *                        terminal transaction number (trace sub-field 0), reference =
 *                        ECR reference number (trace sub-field 1), pan = the account
 *                        sub-field, which POSLink fills with the last 4 digits only:
 *                        every digit before the last 4 is starred, so never more than
 *                        4 digits are kept. text = "type=TT v=VER status=S msg=MESSAGE".
 *   control bytes        kind ACK, NAK, EOT.
 *   other commands       kind OTHER (A00/A01 init, B00 batch, ...), cmd set, direction
 *                        from the shape (requests start with the command, responses with
 *                        the status field); any PAN-like digit run goes to pan, masked.
 *
 * Not kept: host code and message, host reference, batch number, invoice number, the
 * tip/cashback/fee/tax sub-amounts, AVS, cashier, commercial, e-commerce and extended
 * data; encode() writes them empty. A non-digit or over-long amount gives kind OTHER with
 * PB_F_MALFORMED (decode returns PB_ERR_SYNTAX). There is no currency on the wire.
 *
 * encode() writes canonical frames: a request as 10 fields (command through e-commerce,
 * as docs/PROTOCOLS.md's vector), a response as 10 fields (status through trace group), empty
 * trailing sub-fields dropped; version from "v=" in text (default "1.28"), the type from
 * "type=" when it maps to m->txn (so a reversal 99 stays 99), else the first table entry;
 * the response code from result_text when it holds 6 digits, else from result. */
#ifndef PB_PAX_H
#define PB_PAX_H

#include "protocol.h"

enum {
    PAX_PAYLOAD_MAX = 4096, /* bytes between STX and ETX the scanner accepts */
    PAX_FIELDS_MAX = 32,    /* FS-separated fields looked at */
    PAX_AMOUNT_DIGITS = 15, /* longest amount decoded; more is malformed */
};

extern const struct pb_protocol pb_proto_pax;

#endif
