/* zvt: the ZVT-700 serial protocol (Germany, Austria) behind the protocol vtable.
 *
 *   pb_proto_zvt   the const descriptor: scan, decode, encode, redact, probe, rules
 *
 * Everything is reached through struct pb_protocol (protocol.h); this header only names the
 * descriptor and the few wire limits tests need. Protocol facts: docs/PROTOCOLS.md
 * section 2, Wireshark packet-zvt.c, Portalum.Zvt.
 *
 * Decisions a caller may need to know:
 *  - 80 00 00 is ACCEPTED only when the caller says the PT sent it; from the ECR or from an
 *    unknown direction it decodes as APP_ACK and dir stays as given (it cannot be inferred).
 *  - 84 xx decodes as REFUSED, result NOT_PROCESSED, result_code xx.
 *  - 04 FF intermediate status: the status byte goes to result_code/result_text (result
 *    stays NONE) and a known status gets a text.
 *  - Fields pos_msg has no place for (password, BMP 02, 19, 0C, 0D, 2A, 88, 8A, ...) are
 *    parsed and skipped; encode writes password 00 00 00 where a command needs one.
 *  - scan: a frame broken by a bad DLE pair (or longer than any APDU) is returned as one
 *    garbage run up to the next DLE STX, never as PB_ERR_FRAMING, so its body bytes are
 *    not rescanned as ACK/NAK. A CRC byte 0x10 is read plain (the rule) or doubled (when
 *    only that reading matches); a frame with a bad CRC containing 0x10 therefore ends
 *    only when the next byte is seen (or as garbage at pb_deframer_flush).
 *  - redact: keeps the number of 0x10 bytes in every rewritten field so the stuffed frame
 *    keeps its length; the masked region may thus show how many of its bytes were 0x10,
 *    not where. Unparsed bytes after an unknown BMP are blanked; a bad CRC stays bad. */
#ifndef PB_ZVT_H
#define PB_ZVT_H

#include "protocol.h"

/* Largest APDU: CLASS INSTR FF LL LL plus 65535 data bytes. */
#define PB_ZVT_APDU_MAX (5u + 65535u)
/* Largest wire frame: DLE STX, every APDU byte doubled, DLE ETX, two CRC bytes. */
#define PB_ZVT_FRAME_MAX (2u + 2u * PB_ZVT_APDU_MAX + 4u)

extern const struct pb_protocol pb_proto_zvt;

#endif
