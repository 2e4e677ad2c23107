/* discipline: how a protocol behaves on the line, beyond what its codec shows. Who speaks
 * when, what answers a frame, how often a frame is tried, which codes a terminal uses
 * for which reason, and which fields each side fills in or echoes.
 *
 *   struct pb_discipline         one per protocol, reached as pb_protocol.discipline
 *   shape_request()              a register's request in this protocol's terms
 *   shape_answer()               a terminal's result in this protocol's terms
 *
 * possim's terminal and register play either side of any protocol from this description
 * and nothing else; the tracker watches with its other half, struct pb_track_rules. So a
 * fifth protocol is its codec, its line description and a row in the registry.
 * Facts: docs/PROTOCOLS.md, section per protocol, and the sources each codec names. */
#ifndef PB_DISCIPLINE_H
#define PB_DISCIPLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

enum pb_discipline_kind {
    /* The sender takes the line with ENQ (answered ACK), sends its frame (ACK or NAK),
     * and hands the line back with EOT; the terminal answers the same way, with its own
     * ENQ. A bare ENQ/ACK/EOT is a liveness probe. (Concert) */
    PB_LINE_HANDSHAKE,
    /* Every frame is answered ACK or NAK. The terminal accepts a command at application
     * level (its own frame), then is master: it sends intermediate status, results,
     * print lines and finally a completion or an abort, and the register acknowledges
     * each at application level. (ZVT) */
    PB_LINE_MASTER,
    /* Every frame is answered ACK or NAK; the terminal's answer is one frame. (PAX,
     * MIS-POS) */
    PB_LINE_FRAME_ACK,
};

/* Why a terminal refuses, declines or reports something; codes[] gives the protocol's
 * code for each (0 where it has none). */
enum pb_line_reason {
    PB_REASON_ABORT = 0,           /* aborted: timeout or abort key */
    PB_REASON_NOT_POSSIBLE,        /* a command this terminal does not perform */
    PB_REASON_ALREADY_REVERSED,    /* a void of a sale already voided */
    PB_REASON_REVERSAL_IMPOSSIBLE, /* a void of nothing voidable */
    PB_REASON_DECLINED,            /* a decline that names no code of its own */
    PB_REASON_INSERT_CARD,         /* intermediate status: insert card */
    /* Issue of goods: the register's verdict on an approved result (0: not played). */
    PB_REASON_GOODS_WAIT,          /* not finished yet: ask again */
    PB_REASON_GOODS_PARTIAL,       /* only part issued: book this amount */
    PB_REASON_GOODS_NOT_ISSUED,    /* nothing issued: reverse the payment */
    /* Pre-authorisations (0: not played). */
    PB_REASON_PREAUTH_AMOUNT,      /* more released or booked than was reserved */
    PB_REASON_PREAUTH_UNKNOWN,     /* no open pre-authorisation with that receipt */
    PB_REASON__COUNT
};

/* Fields of a request that the terminal echoes in its answer, and a register checks. */
enum {
    PB_ECHO_POS_ID = 1u << 0,
    PB_ECHO_REFERENCE = 1u << 1,
};

/* What a register knows when it asks. */
struct pb_request_facts {
    const char *pos_id;      /* the register's POS number setting ("01") */
    unsigned seq;            /* the register's own number for this request (from 1) */
    /* The request names an earlier transaction: a void names a sale; a booking (a
     * purchase) or a release (a void) names a pre-authorisation. */
    bool has_void_target;
    char void_receipt[PB_REF_MAX]; /* its receipt (or trace) as the terminal gave it */
    int64_t void_amount;     /* and its amount */
    enum pb_txn_type target_type;  /* its type: PURCHASE, PREAUTH (NONE: a sale) */
    char target_trace[PB_REF_MAX]; /* its trace as the terminal gave it */
};

/* What a terminal knows when it answers. */
struct pb_answer_facts {
    const struct pos_msg *req; /* the request answered */
    int32_t code;              /* the result code decided; 0: none */
    unsigned trace, receipt;   /* the numbers it gave this transaction; 0: none */
    const char *terminal_id;   /* its terminal id setting */
    const char *pan;           /* a masked card number ("497010******0014") */
    const char *software;      /* PB_MSG_STATUS: its software version, or NULL */
    const struct pb_totals *totals; /* PB_MSG_TOTALS: its batch's totals, or NULL */
};

/* ---- a master terminal's answer to each request (PB_LINE_MASTER) ----------------------- */

/* The outcomes one message of an answer is sent for. */
enum {
    PB_ON_APPROVED = 1u << 0,
    PB_ON_DECLINED = 1u << 1, /* refused by the terminal or the host */
    PB_ON_ABORTED = 1u << 2,  /* aborted: timeout or the abort key */
    PB_ON_ANY = PB_ON_APPROVED | PB_ON_DECLINED | PB_ON_ABORTED,
};

/* How it is sent, and what it carries beyond the generic fields. */
enum {
    PB_MSG_APP_ACK = 1u << 0, /* the register acknowledges it at application level */
    PB_MSG_THINK = 1u << 1,   /* the card-and-PIN (or host) time passes first; once per
                                 answer: a later THINK message of the same answer goes
                                 at once. Without one, the answer's outcome goes at once */
    PB_MSG_EACH = 1u << 2,    /* sent once per answer given (a duplicate: twice) */
    PB_MSG_RECEIPT = 1u << 3, /* the receipt: sent only by a terminal that prints to the
                                 register, as print lines or one print text block */
    PB_MSG_TOTALS = 1u << 4,  /* carries the batch's totals (pb_answer_facts.totals) */
    PB_MSG_STATUS = 1u << 5,  /* carries the terminal's software version and status */
    PB_MSG_ADMIN = 1u << 6,   /* with RECEIPT: an administration receipt (end of day) */
};

struct pb_answer_msg {
    uint8_t kind; /* enum pb_kind: ACCEPTED, INTERMEDIATE, RESULT, PRINT, COMPLETION, ABORT */
    uint8_t on;   /* PB_ON_*: the outcomes it is sent for */
    uint8_t how;  /* PB_MSG_* */
};

#define PB_ANSWER_MSGS 8
/* The terminal's messages for one request, in order, up to the first of kind
 * PB_KIND_OTHER. An approved request ends with its completion, a refused one with its
 * abort, as the rows say. */
struct pb_answer {
    struct pb_answer_msg msg[PB_ANSWER_MSGS];
    const char *spec; /* where the sequence is specified */
};

/* What a register may do with an approved pre-authorisation (pb_discipline.preauth_ops). */
enum {
    PB_PREAUTH_PARTIAL_REVERSAL = 1u << 0, /* release the unused part: a void naming it,
                                              with the amount released */
    PB_PREAUTH_BOOK_TOTAL = 1u << 1,       /* book what was used: a purchase naming it */
    PB_PREAUTH_REVERSAL = 1u << 2,         /* release it whole: a void naming it, no amount */
};

#define PB_PLAYS(t) (1u << (t))

struct pb_discipline {
    enum pb_discipline_kind kind;
    unsigned max_tries;        /* transmissions of one frame (or ENQ), the first included */
    bool eot_on_give_up;       /* a side that gives up on a frame says so with EOT */
    bool currency_on_wire;     /* requests and answers name a currency */
    bool aborted_is_not_processed; /* no "aborted" status: report it as not processed */
    bool void_by_amount;       /* a void names the sale's amount, not its receipt */
    unsigned echoes;           /* PB_ECHO_*: request fields the answer repeats */
    bool ref_in_receipt;       /* the answer's receipt (or trace) is what names the
                                  transaction: a wrong reference shows there */
    int32_t codes[PB_REASON__COUNT];
    uint32_t plays;            /* bit 1u << pb_txn_type for each request a register may
                                  send and a terminal answers */
    bool status_is_probe;      /* a status request is a bare ENQ, ACK, EOT: no frame */
    /* m holds a generic request (kind, txn, amount, currency); adds this protocol's
     * fields and drops the ones it cannot carry. */
    void (*shape_request)(struct pos_msg *m, const struct pb_request_facts *f);
    /* m holds a generic result (kind, txn, result, amount, currency, partial marker and
     * amount due); adds the fields this protocol's terminal fills in and drops the ones
     * it has no room for. */
    void (*shape_answer)(struct pos_msg *m, const struct pb_answer_facts *f);
    /* Optional (NULL: answers are one frame): the encoded answer frame[0..n) as `parts`
     * packets of a multi-packet message, written back to back into out, each length in
     * lens[]. Returns the number of packets (parts), or 0 when it cannot. */
    unsigned (*split_answer)(const uint8_t *frame, size_t n, unsigned parts, uint8_t *out,
                             size_t cap, size_t *lens);

    /* Master line only. The terminal's messages for a request it plays (the protocol's
     * table, by command or transaction type); NULL, or a row with no messages: accepted,
     * then completed. shape_answer also gets each RESULT, and each COMPLETION whose row
     * says PB_MSG_STATUS, to fill in what the row says it carries. */
    const struct pb_answer *(*answer)(const struct pos_msg *req);
    /* Master line only. The terminal's answer, at once, to a frame from the register
     * that opens no transaction while it is idle (a display text, an abort, a command it
     * does not perform): PB_KIND_ACCEPTED, PB_KIND_REFUSED with *code, or PB_KIND_OTHER
     * for none but the transport ACK. NULL: none. */
    enum pb_kind (*answer_other)(const struct pos_msg *m, int32_t *code);
    unsigned preauth_ops; /* PB_PREAUTH_*: 0 when pre-authorisations are not played */
};

extern const struct pb_discipline pb_concert_discipline;
extern const struct pb_discipline pb_zvt_discipline;
extern const struct pb_discipline pb_pax_discipline;
extern const struct pb_discipline pb_mispos_discipline;

#endif
