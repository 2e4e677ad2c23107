/* zvt: the ZVT-700 serial protocol (Germany, Austria) behind the protocol vtable.
 *
 *   pb_proto_zvt   the const descriptor: scan, decode, encode, redact, probe, rules
 *
 * Everything is reached through struct pb_protocol (protocol.h); this header only names the
 * descriptor and the few wire limits tests need. Protocol facts: the ZVT specification
 * PA00P015 rev. 13.08 (its BMP and command summaries), docs/PROTOCOLS.md section 2,
 * Wireshark packet-zvt.c, Portalum.Zvt, wirelane/ecrterm; zvt.c names the source of each.
 *
 * Decisions a caller may need to know:
 *  - 80 00 00 and 84 00 00 (both positive acknowledgements, spec ch. 14) are ACCEPTED only
 *    when the caller says the PT sent them; from the ECR or from an unknown direction they
 *    decode as APP_ACK and dir stays as given (it cannot be inferred).
 *  - 84 xx (xx not 00) from the PT, or from an unknown direction, decodes as REFUSED,
 *    result NOT_PROCESSED, result_code xx. From the ECR it is the register's answer to the
 *    PT's last message: APP_ACK with PB_F_GOODS and result_code xx; after a status
 *    information that is the issue of goods verdict (msg.h PB_F_GOODS). 84 9D 07 04<amount>
 *    is sent by the ECR only and is placed there even from an unknown direction.
 *  - 04 FF intermediate status: the status byte goes to result_code/result_text (result
 *    stays NONE) and a known status gets a text. 06 0F after a status enquiry: the terminal
 *    status byte likewise, the software version in text.
 *  - Every BMP of the specification has its length; fields pos_msg has no place for are
 *    parsed and skipped. An unknown BMP is skipped when exactly one length for it leaves a
 *    well-formed tail of known BMPs, else the rest of the sequence is kept raw; a BCD field
 *    with a non-BCD digit is kept raw. Both set PB_F_RAW and a note in text, not
 *    PB_F_MALFORMED: every field that could be read is there, none is guessed.
 *  - Every command of the specification is named (zvt.c zvt_cmds): one the PT ends with a
 *    completion or abort decodes as REQUEST (txn OTHER when it moves no money); one answered
 *    by 80 00 00 alone, and the PT's own non-transaction commands, as OTHER with their
 *    direction. 06 23 03 87 FF FF is a pre-authorisation enquiry: REQUEST, txn STATUS.
 *  - BMP 60 (end of day) in the spec's 53-byte layout decodes into pos_msg.totals
 *    (PB_F_TOTALS) and is kept whole by redaction: its digit runs are counts and amounts.
 *    Any other BMP 60 is kept raw (PB_F_RAW) and scanned for card numbers.
 *  - encode writes password 00 00 00 where a command needs one, and a request's trace
 *    (BMP 0B) when it has one (06 23 and 06 24 name the pre-authorisation's). A
 *    COMPLETION with txn STATUS and a result_code is a status enquiry's: [LLL-Var
 *    software version from text] and the status byte; any other COMPLETION has no data.
 *    A RESULT with PB_F_TOTALS carries BMP 60.
 *  - encode_text_block writes 06 D3: BMP 06 with 1F07 (the receipt type, when given) and
 *    25, a 07 per line and 09 01 81 after the last; it decodes as PRINT, its first line
 *    the text.
 *  - scan: a frame broken by a bad DLE pair (or longer than any APDU) is returned as one
 *    garbage run up to the next DLE STX, never as PB_ERR_FRAMING, so its body bytes are
 *    not rescanned as ACK/NAK. A CRC byte 0x10 is read plain (the rule) or doubled (when
 *    only that reading matches); a frame with a bad CRC containing 0x10 therefore ends
 *    only when the next byte is seen (or as garbage at pb_deframer_flush).
 *  - redact: by what each field means, in BMPs and in TLV data objects: a card number keeps
 *    its first 6 and last 4 digits (E nibbles, '*' in text), track and chip data, expiry
 *    and CVV are blanked with EE (no ASCII or BCD digit); bytes no layout names (a command
 *    no table knows, an unparsed rest, a TLV that does not parse) are blanked. It keeps
 *    the number of 0x10 bytes in every rewritten field so the stuffed frame keeps its
 *    length; the masked region may thus show how many of its bytes were 0x10, not where.
 *    A bad CRC stays bad. Known limit: in a field of unknown meaning (a TLV tag the spec
 *    does not name) a BCD card number all of whose bytes are printable ASCII is read as
 *    text and masked only as text would be. */
#ifndef PB_ZVT_H
#define PB_ZVT_H

#include "protocol.h"

/* Largest APDU: CLASS INSTR FF LL LL plus 65535 data bytes. */
#define PB_ZVT_APDU_MAX (5u + 65535u)
/* Largest wire frame: DLE STX, every APDU byte doubled, DLE ETX, two CRC bytes. */
#define PB_ZVT_FRAME_MAX (2u + 2u * PB_ZVT_APDU_MAX + 4u)

extern const struct pb_protocol pb_proto_zvt;

#endif
