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
 *   T00 credit request   kind REQUEST, dir ECR, cmd 'T'<<8|0 (T02: 'T'<<8|2), txn from the
 *   T02 debit request    type field: 01 sale, 04 post-auth, 05 forced -> purchase; 02
 *   (ECR)                return -> refund; 03 auth, 33 incremental auth -> preauth; 16
 *                        void, 17-22 void sale/return/auth/post-auth/forced/withdrawal, 99
 *                        reversal -> void; every other type (00, 06-15, 23-32, 34-42:
 *                        named, see pb_pax_type_name) OTHER. amount = amount sub-field
 *                        (ASCII cents; an empty amount, as in a void, leaves PB_F_AMOUNT
 *                        off), pan = masked account number of a manual entry
 *                        (pb_mask_pan), reference = ECR reference number (trace sub-field
 *                        0), auth_code = trace sub-field 2, receipt = original transaction
 *                        number (trace sub-field 3: the transaction a void names),
 *                        text = "type=TT v=VER".
 *   T01 credit response  kind RESULT, dir PT, cmd 'T'<<8|1 (T03: 'T'<<8|3), result from the
 *   T03 debit response   response code (result_text as on the wire, result_code its value),
 *   (PT)                 every documented code named (pb_pax_code_name): approved 000000,
 *                        000001 offline, 000002 partial (also PB_F_PARTIAL), 000003,
 *                        000029, 000300, 101001; declined 000100, 100011 and 103000
 *                        (duplicates: the amounts they carry are the original's, not
 *                        kept), 100015-100017, 100021, 100512; aborted 100002, 100040,
 *                        100500 and 100023 with the message "USER ABORTED"; every other
 *                        documented 1xxxxx and 000200, 000301 not_processed (the terminal
 *                        gave up or refused the request; a host timeout it reverses itself;
 *                        an answer that never comes is the tracker's in_doubt); an
 *                        undocumented 1xxxxx not_processed, anything else unknown.
 *                        amount = approved amount, amount_due = amount due with
 *                        PB_F_AMOUNT_DUE when > 0 (partial approval), auth_code = host
 *                        sub-field 2, trace = host trace number (host sub-field 4), receipt
 *                        = terminal transaction number (trace sub-field 0), reference = ECR
 *                        reference number (trace sub-field 1), pan = the account sub-field,
 *                        which POSLink fills with the last 4 digits only: every digit
 *                        before the last 4 is starred. text = "type=TT v=VER status=S
 *                        msg=MESSAGE".
 *   B00 batch close      kind REQUEST, dir ECR, txn END_OF_DAY, text "v=VER" (the
 *                        timestamp is not kept).
 *   B01 batch close      kind RESULT, dir PT, txn END_OF_DAY, result as above, amount = the
 *   response             terminal's total: the credit plus the debit part of the
 *                        '='-separated total amount (the card payments the bridge sees as
 *                        T00/T02), terminal_id = TID, trace = host trace number, text =
 *                        "v=VER status=S count=N msg=MESSAGE" (N the same sum of counts).
 *   multi-packet         a response whose status field is "1" has more packets to follow:
 *                        PB_F_MORE is set, and a T01/T03/B01 packet is kind INTERMEDIATE
 *                        (not final) with the fields it holds whole (its last field may go
 *                        on in the next packet and is not read). A later packet ("0" or "1"
 *                        FS, then the rest of the message) has no command: kind OTHER, text
 *                        "packet status=S, N bytes", PB_F_MORE when S is 1. pb_pax_join()
 *                        assembles the message; its final packet alone is no answer.
 *   control bytes        kind ACK, NAK, EOT.
 *   other commands       kind OTHER, cmd set, direction from the shape (requests start with
 *                        the command, responses with the status field), text "command CCC
 *                        (name)" for the documented ones (pb_pax_command_name); any PAN-like
 *                        digit run goes to pan, masked.
 *
 * Not kept: host code and message, host reference, batch number, invoice number, the
 * tip/cashback/fee/tax sub-amounts, AVS, cashier, commercial, e-commerce and extended
 * data; encode() writes them empty. A non-digit or over-long amount gives kind OTHER with
 * PB_F_MALFORMED (decode returns PB_ERR_SYNTAX). There is no currency on the wire.
 *
 * encode() writes canonical frames: a T00 as 10 fields (command through e-commerce, as
 * docs/PROTOCOLS.md's vector), a T02 as 8, a response as 10 fields (status through trace group),
 * empty trailing sub-fields dropped; a B00 as command, version, an empty timestamp; a B01 as status
 * through TID with one total. The command is the message's cmd when it is one of these and
 * fits the kind and txn, else B00/B01 for txn END_OF_DAY, else T00/T01. Version from "v=" in
 * text (default "1.28"), the type from "type=" when it maps to m->txn (so a reversal 99
 * stays 99), else the first table entry; the response code from result_text when it holds
 * 6 digits, else 000000, 000100, 100002 or 100001 from result.
 *
 * Redaction: the account number of a request (first 6 and last 4 kept) with its expiry and
 * CVV; the account of a response (last 4 kept), its expiry and a new account number; in
 * every other field but the amounts, PAN-long digit runs (pb_mask_digit_runs) and track
 * data written in ASCII (pb_mask_track_ascii). */
#ifndef PB_PAX_H
#define PB_PAX_H

#include "protocol.h"

enum {
    PAX_PAYLOAD_MAX = 4096, /* bytes between STX and ETX the scanner accepts */
    PAX_FIELDS_MAX = 32,    /* FS-separated fields looked at */
    PAX_AMOUNT_DIGITS = 15, /* longest amount decoded; more is malformed */
    PAX_JOIN_MAX = 65535,   /* longest multi-packet message pb_pax_join assembles */
};

extern const struct pb_protocol pb_proto_pax;

/* Names for people (documentation and tests), NULL when the sources name none:
 * pb_pax_code_name("000002") is "PARTIALLY_APPROVED", pb_pax_type_name("04") "postauth",
 * pb_pax_command_name("A14") "cancel" (a response is named by its request). */
const char *pb_pax_code_name(const char *code);
const char *pb_pax_type_name(const char *type);
const char *pb_pax_command_name(const char *cmd);

/* Multi-packet messages. One joiner per direction (the terminal's); feed it every frame the
 * deframer delivers, in order, before decoding:
 *   PB_PAX_JOIN_PASS  f is no part of a multi-packet message: decode f as usual;
 *   PB_PAX_JOIN_HELD  f is a packet with more to follow (or a repeat of one): decode f too
 *                     (kind INTERMEDIATE or OTHER with PB_F_MORE: proof of life), but it is
 *                     no final answer;
 *   PB_PAX_JOIN_DONE  f ended the message: decode *whole (owned by the joiner, valid until
 *                     the next call) instead of f, whose body alone is only the tail; its
 *                     offset is the first packet's, its length the packets' total;
 *   PB_ERR_RANGE      the message outgrew PAX_JOIN_MAX: dropped, decode the packets alone.
 * A request, or a frame that is no response packet, resets the joiner; control bytes and
 * frames with a bad LRC pass without touching it. */
enum { PB_PAX_JOIN_PASS = 0, PB_PAX_JOIN_HELD = 1, PB_PAX_JOIN_DONE = 2 };
struct pb_pax_joiner;
int pb_pax_joiner_new(struct pb_pax_joiner **out); /* *out = NULL on failure */
void pb_pax_joiner_free(struct pb_pax_joiner *j);  /* NULL is fine */
void pb_pax_joiner_reset(struct pb_pax_joiner *j);
int pb_pax_join(struct pb_pax_joiner *j, const struct pb_frame *f, const struct pb_frame **whole);

#endif
