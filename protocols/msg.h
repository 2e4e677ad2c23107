/* msg: the normalised message every protocol decodes to and encodes from.
 *
 *   pb_msg_init()        zero a message and mark every optional field absent
 *   pb_kind_name() ...   stable lower-case names used in output, JSON and the journal
 *   pb_msg_format()      one human line: kind, type, amount, result, references
 *   pb_mask_pan()        keep the first 6 and last 4 digits, star the rest
 *
 * A struct pos_msg is plain data owned by whoever declared it; it holds no pointers
 * except `proto`, which points at a static const protocol descriptor.
 *
 * Card data: decoders store only masked PANs (pb_mask_pan) and never track data; the
 * `pan` field is written in clear only by callers building a frame to encode (possim),
 * and encoders send it as given. */
#ifndef PB_MSG_H
#define PB_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_protocol;

/* Which side spoke. ECR = the cash register, PT = the payment terminal. */
enum pb_dir {
    PB_DIR_ECR = 0, /* register -> terminal */
    PB_DIR_PT = 1,  /* terminal -> register */
    PB_DIR_UNKNOWN = 2,
};

enum pb_kind {
    PB_KIND_OTHER = 0,
    PB_KIND_REQUEST,      /* register asks for a transaction */
    PB_KIND_ACCEPTED,     /* terminal took the request (ZVT 80 00 00 from the PT) */
    PB_KIND_REFUSED,      /* terminal refused the request outright (ZVT 84 xx) */
    PB_KIND_INTERMEDIATE, /* "insert card", "please wait": proves the PT is alive */
    PB_KIND_RESULT,       /* the outcome with the charged amount (ZVT 04 0F, Concert answer) */
    PB_KIND_COMPLETION,   /* end of the transaction (ZVT 06 0F) */
    PB_KIND_ABORT,        /* transaction aborted (ZVT 06 1E from PT, 06 B0 from ECR) */
    PB_KIND_PRINT,        /* receipt print line or block */
    PB_KIND_APP_ACK,      /* application-level acknowledgement (ZVT 80 00 00 from the ECR) */
    PB_KIND_ACK,          /* single control byte */
    PB_KIND_NAK,
    PB_KIND_ENQ,
    PB_KIND_EOT,
    PB_KIND__COUNT
};

enum pb_txn_type {
    PB_TXN_NONE = 0, /* message carries no transaction type */
    PB_TXN_PURCHASE,
    PB_TXN_REFUND,
    PB_TXN_VOID, /* void / reversal of an earlier transaction */
    PB_TXN_PREAUTH,
    PB_TXN_STATUS, /* status enquiry */
    PB_TXN_END_OF_DAY,
    PB_TXN_REGISTRATION,
    PB_TXN_LOGOFF,
    PB_TXN_OTHER,
    PB_TXN__COUNT
};

enum pb_result {
    PB_RESULT_NONE = 0, /* the message carries no result */
    PB_RESULT_APPROVED,
    PB_RESULT_DECLINED,
    PB_RESULT_ABORTED,
    PB_RESULT_NOT_PROCESSED,
    PB_RESULT_UNKNOWN, /* a result code we cannot map */
    PB_RESULT__COUNT
};

/* Presence flags for the optional fields. */
enum {
    PB_F_AMOUNT = 1u << 0,
    PB_F_CURRENCY = 1u << 1,
    PB_F_AMOUNT_DUE = 1u << 2,  /* remaining due after a partial approval */
    PB_F_PARTIAL = 1u << 3,     /* the protocol's own partial-approval marker */
    PB_F_TRACK_DATA = 1u << 4,  /* frame carried track data (never stored) */
    PB_F_RESULT_CODE = 1u << 5, /* result_code is valid */
    PB_F_CHECKSUM_BAD = 1u << 6,
    PB_F_MALFORMED = 1u << 7,   /* frame delimited but its contents did not parse */
    /* Part of the frame was kept raw, not decoded: a field of unknown length (and what
     * follows it when that cannot be told apart), or a field whose content is not what
     * its type says (ZVT: non-BCD digits). Every field that could be read is set; the
     * text says which bytes are raw when it has room. Not a parse failure. */
    PB_F_RAW = 1u << 8,
    /* ZVT: the register's negative answer (84 xx from the ECR), which after a status
     * information (04 0F) is its verdict on the issue of goods: result_code 9C = not done
     * yet, the terminal asks again; 9D = only part issued, `amount` (PB_F_AMOUNT) is what
     * to book, with PB_F_PARTIAL; any other code = goods not issued, the terminal reverses
     * the payment. Kind is PB_KIND_APP_ACK, dir PB_DIR_ECR. */
    PB_F_GOODS = 1u << 9,
    PB_F_MORE = 1u << 10,       /* one packet of a multi-packet message, more follow (PAX
                                   POSLink status "1"): not the final answer */
    /* An end of day's totals by card brand are in `totals` (ZVT BMP 60). */
    PB_F_TOTALS = 1u << 11,
};

/* The card brands an end-of-day report counts separately: ZVT's individual totals
 * (PA00P015 13.08, 3.1.3, BMP 60), in its order; everything else is OTHER. */
enum pb_brand {
    PB_BRAND_GIROCARD = 0,
    PB_BRAND_JCB,
    PB_BRAND_EUROCARD, /* Mastercard */
    PB_BRAND_AMEX,
    PB_BRAND_VISA,
    PB_BRAND_DINERS,
    PB_BRAND_OTHER,
    PB_BRAND__COUNT
};

/* An end of day's totals: the receipt numbers the closed batch spans, and per brand the
 * number of transactions and their turnover in minor units. */
struct pb_totals {
    uint16_t first_receipt, last_receipt;
    uint32_t count[PB_BRAND__COUNT];
    int64_t amount[PB_BRAND__COUNT];
};

#define PB_REF_MAX 24
#define PB_TEXT_MAX 64

struct pos_msg {
    const struct pb_protocol *proto;
    enum pb_dir dir;
    enum pb_kind kind;
    enum pb_txn_type txn;
    enum pb_result result;
    uint32_t flags;        /* PB_F_* */
    uint32_t cmd;          /* protocol's command code (ZVT CLASS<<8|INSTR), 0 if none */
    int64_t amount;        /* minor units, valid with PB_F_AMOUNT */
    int64_t amount_due;    /* minor units, valid with PB_F_AMOUNT_DUE */
    uint16_t currency;     /* ISO 4217 numeric, valid with PB_F_CURRENCY */
    int32_t result_code;   /* raw numeric result code, valid with PB_F_RESULT_CODE */
    char result_text[PB_REF_MAX];  /* raw result code as on the wire ("00", "000000") */
    char pos_id[PB_REF_MAX];       /* POS number (Concert, MIS-POS) */
    char terminal_id[PB_REF_MAX];  /* terminal id (ZVT BMP 29, MIS-POS 9F05) */
    char trace[PB_REF_MAX];        /* trace number */
    char receipt[PB_REF_MAX];      /* receipt number; for a void: the receipt to void */
    char reference[PB_REF_MAX];    /* private field / host reference */
    char auth_code[PB_REF_MAX];
    char pan[PB_REF_MAX];          /* masked by decoders; see the header comment */
    char text[PB_TEXT_MAX];        /* display or print text, printable ASCII only */
    struct pb_totals totals;       /* valid with PB_F_TOTALS */
    uint8_t control;               /* the byte, for ACK/NAK/ENQ/EOT */
    bool checksum_ok;
    uint64_t offset;               /* stream offset of the frame's first byte */
    uint32_t length;               /* frame length on the wire */
};

void pb_msg_init(struct pos_msg *m);

/* A transaction that moves money: purchase, refund, void, pre-authorisation. */
static inline bool pb_txn_financial(enum pb_txn_type t)
{
    return t == PB_TXN_PURCHASE || t == PB_TXN_REFUND || t == PB_TXN_VOID ||
           t == PB_TXN_PREAUTH;
}

const char *pb_dir_name(enum pb_dir d);      /* "ecr", "pt", "?" */
const char *pb_kind_name(enum pb_kind k);    /* "request", "accepted", ... */
const char *pb_txn_name(enum pb_txn_type t); /* "purchase", "refund", ... */
const char *pb_result_name(enum pb_result r);
/* Reverse lookups for scenario files and journals; -1 when the name is unknown. */
int pb_kind_from_name(const char *name);
int pb_txn_from_name(const char *name);
int pb_result_from_name(const char *name);

/* One line for people, no trailing newline. Returns the snprintf length. */
int pb_msg_format(const struct pos_msg *m, char *buf, size_t cap);

/* Masks a PAN of digits into out (cap >= len+1): first 6 and last 4 kept when the PAN
 * has 13 or more digits, otherwise only the last 4 (or none when 4 or fewer).
 * Non-digit characters (already-masked input) become '*'. Always terminates out. */
void pb_mask_pan(const char *pan, size_t len, char *out, size_t cap);

/* Copies printable ASCII from src into dst (terminated), replacing other bytes with
 * '.'. Trailing spaces are trimmed. */
void pb_copy_printable(char *dst, size_t cap, const uint8_t *src, size_t len);

/* Card numbers in free text (a receipt line, a terminal's message, a field no layout
 * names). A run is ASCII digits and '*' (an earlier masking), and groups of at most 6 of
 * them join across a single space or dash, as card numbers are printed ("4111 1111 1111
 * 1111", "3782 822463 10005"). In every run of 13 or more such characters in p[0..n),
 * the digits but the first 6 and last 4 characters become '*', in place, as pb_mask_pan
 * does. When x is not NULL, every change is XORed into *x (a frame's LRC stays as good or
 * as bad as it was). Returns how many bytes changed; a second call changes nothing. */
size_t pb_mask_digit_runs(uint8_t *p, size_t n, uint8_t *x);
/* Bytes that never became a frame (a frame broken by line noise, cut by a lost link or
 * given up after a silence) may hold card data the redactor never saw, and without a
 * frame there is no layout to say where. So every ASCII digit becomes '*' and, when bcd
 * is set, every other byte whose two nibbles are decimal becomes 0xEE, except the
 * transport bytes STX, ETX, ACK, DLE and NAK (02 03 06 10 15), which keep the stream's
 * framing as it was. Returns how many bytes changed; a second call changes nothing. */
size_t pb_mask_unframed(uint8_t *p, size_t n, bool bcd);
/* Luhn (ISO/IEC 7812-1 annex B) check digit test over n ASCII digits; false when n is 0
 * or any byte is not a digit. Tells a card number from other digit runs. */
bool pb_luhn_valid(const uint8_t *digits, size_t n);
/* Magnetic-stripe track data written in ASCII (ISO/IEC 7813): track 2 "PAN=YYMM SSS
 * discretionary" and track 1 "B PAN ^ NAME ^ YYMM SSS discretionary". Where a run of 12 to
 * 19 PAN characters (digits or '*') is followed by '=' (track 2), or starts after 'B' and is
 * followed by '^' NAME '^' (track 1), the PAN keeps its first 6 and last 4 digits (only the
 * last 4 when it has 12) and every digit after the separator(s) up to the next byte that is
 * no digit becomes '*', in place. x as for pb_mask_digit_runs. Returns how many bytes
 * changed; a second call changes nothing. */
size_t pb_mask_track_ascii(uint8_t *p, size_t n, uint8_t *x);
/* pb_mask_digit_runs over every text field of a decoded message. Every decoder calls it
 * last, so no field of any message carries a clear card number. */
void pb_msg_scrub(struct pos_msg *m);

#endif
