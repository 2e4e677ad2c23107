/* mispos: UnionPay-style "MIS-POS" cash register links (China), docs/PROTOCOLS.md section 4.
 * Acquirers vary the framing, so the framing is a named profile; the registry holds one
 * protocol, "mispos", on the built-in profile "allinpay" (docs/PROTOCOLS.md's layout).
 *
 *   pb_proto_mispos          the protocol vtable on the allinpay profile (protocol.c)
 *   pb_mispos_allinpay       the built-in profile
 *   pb_mispos_profile_find() profile by name, NULL when unknown
 *   pb_mispos_scan/decode/encode/redact()   the vtable's functions for any profile (a
 *                            variant lane defines its own struct pb_protocol calling them)
 *   pb_mispos_frame()        wraps TLV data into STX LEN DATA ETX LRC for a profile
 *
 * Wire: STX | LEN (2 bytes: BCD, 00 30 = 30 bytes, or big-endian binary) | DATA | ETX |
 * LRC (XOR over the profile's span; allinpay: LEN through ETX [checked]). DATA is TLV:
 * 2-byte tag, 2-byte big-endian length, value. ACK and NAK single bytes outside frames
 * are taken as control bytes ([?]: the public client is silent; a terminal that never
 * sends them loses nothing).
 *
 * Mapping onto struct pos_msg (allinpay tags; a profile may renumber them):
 *
 *   9F14 present          kind RESULT, dir PT: result "00" approved, any other value
 *                         declined (result_text as on the wire, result_code its value when
 *                         all digits), an empty one unknown.
 *   else 9F01 present     kind REQUEST, dir ECR.
 *   else                  kind OTHER, direction unknown (not malformed).
 *   9F01 type, 1 byte     2 purchase, 3 void, 4 refund, 6 preauth, 14 end_of_day
 *                         (settlement), 15 status ("query last"), other values OTHER with
 *                         "type=N" in text.
 *   9F02 amount           ASCII digits (12 on the wire), fen: amount. Currency: MIS-POS
 *                         names none, so requests and results get the profile's currency
 *                         (156 CNY); encode refuses another currency (PB_ERR_UNSUPPORTED).
 *   9F1F POS number       pos_id.
 *   9F20 original trace   receipt (the transaction a void or query names).
 *   9F05 terminal id      terminal_id.
 *   9F0B card number      pan, masked with pb_mask_pan; redact() masks it on the wire.
 *                         ASCII digits, or packed BCD (F-padded, E nibbles masked).
 *   9F0E trace            trace; in a result also receipt (when no 9F20), so a later
 *                         void naming it finds its sale.
 *   9F0F auth code        auth_code.
 *   9F00 (allinpay app)   text "app=VALUE" (the vector's "APP01"), written back first.
 *   9F1B expiry           not kept; redact() masks it.
 *   EMV 5A (PAN)          when the profile's card tag is absent, pan from it, masked.
 *   other tags            skipped; encode() does not write them.
 *
 * Result codes (9F14) [gsccs/mispos-client config/allinpay-rejcode.properties, ISO 8583
 * response codes]: "00" approved, "10" approved for part of the amount (approved and
 * PB_F_PARTIAL), any other declined.
 *
 * Redaction, by what a tag means: the profile's card tag keeps a PAN's first 6 and last 4
 * digits, its expiry tag none; tags outside the profile that EMV gives to card data (5A
 * PAN, 57 and 9F6B track 2, 56 track 1, 9F1F/9F20 track discretionary data unless the
 * profile uses them, 5F24 expiry; a 1-byte EMV tag as 00xx or xx00) likewise, in ASCII or
 * packed BCD (masked nibbles become E). Any other tag's value, and an unparsable tail, is
 * scanned: ASCII track data and PAN-long digit runs, 12-digit Luhn-valid runs, EMV card
 * data elements embedded as BER-TLV, and packed-BCD runs of 12 to 19 Luhn-valid digits
 * (with what follows a D separator). The profile's other tags are left as they are.
 *
 * A TLV length running past the data, a type of other than 1 byte or an amount that is
 * not 1 to 18 digits gives kind OTHER with PB_F_MALFORMED (PB_ERR_TRUNCATED or
 * PB_ERR_SYNTAX). encode() writes tags in the order 9F00 9F14 9F01 9F02 9F05 9F0B 9F0E
 * 9F0F 9F1F 9F20, absent fields left out, the amount as 12 digits; a RESULT's code from
 * result_text, else "00" for approved and "05" for declined. */
#ifndef PB_MISPOS_H
#define PB_MISPOS_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

enum {
    MISPOS_DATA_MAX_BCD = 9999,     /* 4 BCD digits */
    MISPOS_DATA_MAX_BINARY = 65535, /* 2 binary bytes */
};

/* Which bytes the LRC covers (XOR). */
enum pb_mispos_lrc_span {
    PB_MISPOS_LRC_LEN_TO_ETX = 0, /* LEN, DATA and ETX: allinpay */
    PB_MISPOS_LRC_DATA_TO_ETX,    /* DATA and ETX */
    PB_MISPOS_LRC_STX_TO_ETX,     /* everything before the LRC */
    PB_MISPOS_LRC_LEN_TO_DATA,    /* LEN and DATA, not the ETX */
};

struct pb_mispos_tags {
    uint16_t app, type, amount, pos, orig_trace;        /* request */
    uint16_t result, terminal, card, trace, auth;       /* response */
    uint16_t expiry;                                    /* card expiry: masked, not kept */
};

struct pb_mispos_profile {
    const char *name;
    bool len_bcd; /* LEN as BCD digits (allinpay), else big-endian binary */
    enum pb_mispos_lrc_span lrc_span;
    uint16_t currency; /* ISO 4217 numeric given to amounts: 156 (CNY) */
    struct pb_mispos_tags tags;
};

extern const struct pb_mispos_profile pb_mispos_allinpay;
extern const struct pb_protocol pb_proto_mispos;

const struct pb_mispos_profile *pb_mispos_profile_find(const char *name);

int pb_mispos_scan(const struct pb_mispos_profile *pr, const uint8_t *buf, size_t len,
                   size_t *resume, struct pb_frame *out);
int pb_mispos_decode(const struct pb_mispos_profile *pr, const struct pb_frame *f,
                     enum pb_dir dir, struct pos_msg *out);
int pb_mispos_encode(const struct pb_mispos_profile *pr, const struct pos_msg *m, uint8_t *buf,
                     size_t cap);
size_t pb_mispos_redact(const struct pb_mispos_profile *pr, uint8_t *wire, size_t len);
/* STX LEN data ETX LRC into buf. Returns the length, PB_ERR_RANGE when cap is too small
 * or n exceeds what LEN can say. */
int pb_mispos_frame(const struct pb_mispos_profile *pr, const uint8_t *data, size_t n,
                    uint8_t *buf, size_t cap);

#endif
