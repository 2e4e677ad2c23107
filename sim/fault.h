/* fault: the fault model of possim (docs/DISCREPANCIES.md, "Faults possim injects").
 *
 *   sim_fault_parse()      one fault from words ("charge +1.00", "nak 2 times 3 every 4")
 *   sim_fault_fires()      does a fault apply to transaction n? (once / every Nth / chance)
 *   sim_plan_select()      the faults of one side that fire for one transaction
 *   sim_plan_add/find()    build and query the faults active in a transaction
 *   sim_plan_charged()     the amount the terminal reports, after amount faults
 *   sim_plan_mangle()      byte faults on one outgoing frame (checksum, drop/insert/flip)
 *   sim_fault_kind_name()  the scenario word of a kind
 *   sim_duration_parse()   "250ms", "1.5s" into milliseconds
 *
 * Faults are plain values; nothing here allocates. Randomness comes only from the
 * struct sim_rng passed in, in a fixed order, so equal seeds give equal choices. */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "rng.h"

enum sim_fault_kind {
    SIM_FAULT_NONE = 0,
    /* outcome and content faults: the terminal's answer */
    SIM_FAULT_CHARGE,         /* charge +1.00 | -1.00 | +10% | -5% | 21.00 (set value) */
    SIM_FAULT_PARTIAL,        /* partial [5.00 | 50%]: approve less, with the partial marker */
    SIM_FAULT_DUPLICATE,      /* duplicate: send the answer twice */
    SIM_FAULT_APPROVE_REPEAT, /* approve-repeat: treat a repeated request frame as new */
    SIM_FAULT_DECLINE,        /* decline [CODE]: result code in hex, default 05 */
    SIM_FAULT_ABORT,          /* abort [CODE]: default 6C */
    SIM_FAULT_NO_ANSWER,      /* no-answer: take the request, never give the result */
    SIM_FAULT_DELAY,          /* delay DUR: hold the result back */
    SIM_FAULT_DROP_LINK,      /* drop-link [BYTES]: the line goes dead after BYTES of the result */
    SIM_FAULT_POWER_CYCLE,    /* power-cycle [DUR] [banner|late]: deaf and mute, then reboot */
    SIM_FAULT_CURRENCY,       /* currency USD|840: answer in another currency */
    SIM_FAULT_POS_ID,         /* pos NN: answer with another POS number */
    SIM_FAULT_REFERENCE,      /* reference TEXT: answer with a foreign reference/receipt */
    SIM_FAULT_TYPE,           /* type refund|purchase|...: answer with another type */
    /* transport faults: either side (prefix ecr- for the register) */
    SIM_FAULT_NAK,          /* nak [N] [times K]: NAK the Nth frame received, K times */
    SIM_FAULT_WITHHOLD_ACK, /* withhold-ack [N] [times K]: stay silent instead of ACK */
    SIM_FAULT_LOSE_ACK,     /* ecr-lose-ack [N] [times K]: act on the Nth frame, but its
                               ACK is lost on the line (the sender repeats it) */
    SIM_FAULT_BAD_CHECKSUM, /* bad-checksum [N] [times K]: corrupt the Nth frame sent */
    SIM_FAULT_DROP_BYTE,    /* drop-byte [N]: lose one byte of the Nth frame sent */
    SIM_FAULT_INSERT_BYTE,  /* insert-byte [N]: one stray byte inside the Nth frame */
    SIM_FAULT_FLIP_BIT,     /* flip-bit [N]: one bit of the Nth frame sent */
    SIM_FAULT_SLICE,        /* slice SIZE [DUR]: write in SIZE-byte pieces, DUR apart */
    SIM_FAULT_LATENCY,      /* latency DUR [JITTER]: every write is late by DUR +- JITTER */
    SIM_FAULT_NOISE,        /* noise [BYTES]: stray bytes (0x80..0xFE) before each frame */
    /* register only */
    SIM_FAULT_ECR_ABORT,  /* ecr-abort DUR: the register aborts DUR after its request */
    /* ecr-goods wait [N] | partial AMOUNT | none: the register's verdict on the issue of
     * goods after the approval (vending, fuel, charging; protocols whose discipline has
     * the goods codes) */
    SIM_FAULT_GOODS,
    SIM_FAULT_MULTI_PACKET, /* multi-packet [N]: the answer in N packets (default 2), for
                               protocols whose discipline can split one (PAX) */
    SIM_FAULT_NO_REVERSAL, /* no-reversal: the terminal completes after "goods not
                              issued" instead of reversing the payment */
    SIM_FAULT_NO_APP_ACK, /* ecr-no-app-ack: ZVT register never sends 80 00 00 */
    SIM_FAULT__COUNT
};

enum sim_side { SIM_SIDE_PT = 0, SIM_SIDE_ECR = 1 };

enum sim_trigger {
    SIM_TRIG_ALWAYS = 0, /* every transaction (a fault written on a scenario step: that one) */
    SIM_TRIG_AT,         /* "at N": transaction N only */
    SIM_TRIG_EVERY,      /* "every N": transactions N, 2N, 3N, ... */
    SIM_TRIG_CHANCE,     /* "chance P%": each transaction with probability P */
};

enum sim_charge_mode { SIM_CHARGE_SET, SIM_CHARGE_DELTA, SIM_CHARGE_PERCENT };
/* SIM_FAULT_GOODS: what the register says (in sim_fault.code). */
enum sim_goods { SIM_GOODS_WAIT = 1, SIM_GOODS_PARTIAL, SIM_GOODS_NONE };

struct sim_fault {
    enum sim_fault_kind kind;
    enum sim_side side;
    enum sim_trigger trigger;
    uint32_t trigger_n;        /* AT / EVERY */
    uint32_t ppm;              /* CHANCE, parts per million */
    enum sim_charge_mode mode; /* CHARGE, PARTIAL */
    int64_t amount;            /* CHARGE/PARTIAL: minor units (SET or DELTA) */
    int32_t basis_points;      /* CHARGE/PARTIAL PERCENT: 1% = 100 */
    int32_t code;              /* DECLINE/ABORT result code; CURRENCY numeric */
    uint32_t nth;              /* transport faults: which frame in the transaction, from 1 */
    uint32_t times;            /* NAK/WITHHOLD/BAD_CHECKSUM: how many transmissions */
    uint32_t bytes;            /* DROP_LINK (0 = half the frame), SLICE size, NOISE count */
    uint32_t ms;               /* DELAY, POWER_CYCLE silence, SLICE gap, LATENCY, ECR_ABORT */
    uint32_t jitter_ms;        /* LATENCY */
    bool late;                 /* POWER_CYCLE: report the result after reboot (else a banner) */
    int txn_type;              /* TYPE: enum pb_txn_type */
    char text[PB_REF_MAX];     /* POS_ID, REFERENCE */
};

/* Parse error detail: which word (index into argv) and why. */
struct sim_parse_error {
    int word;
    const char *msg; /* static text */
};

/* Parses one fault starting at argv[0], with its arguments and an optional trigger
 * ("at N", "every N", "chance P%"). currency (ISO numeric) gives the exponent of amounts.
 * On success returns the number of words used (> 0). On failure returns PB_ERR_SYNTAX and
 * fills *err (word index relative to argv). Returns 0 when argv[0] names no fault. */
int sim_fault_parse(int argc, char *const *argv, uint16_t currency, struct sim_fault *out,
                    struct sim_parse_error *err);

/* Parses a trigger at argv[0] ("at 3", "every 2", "chance 25%") into f. Returns words
 * used, 0 when argv[0] is no trigger word, PB_ERR_SYNTAX with *err. */
int sim_trigger_parse(int argc, char *const *argv, struct sim_fault *f,
                      struct sim_parse_error *err);

/* Does f apply to transaction txn (from 1)? CHANCE draws exactly one number from rng;
 * the other triggers draw none. */
bool sim_fault_fires(const struct sim_fault *f, unsigned txn, struct sim_rng *rng);

const char *sim_fault_kind_name(enum sim_fault_kind k);
/* One line for logs: "charge +1.00 every 3". */
int sim_fault_format(const struct sim_fault *f, uint16_t currency, char *buf, size_t cap);

/* "250ms", "2s", "1.5s", "1m": milliseconds. PB_OK or PB_ERR_SYNTAX / PB_ERR_RANGE. */
int sim_duration_parse(const char *text, uint32_t *ms);
/* "25%", "0.5%", "100%": parts per million. */
int sim_percent_parse(const char *text, uint32_t *ppm);

/* ---- the faults active in one transaction --------------------------------------------- */

#define SIM_PLAN_MAX 24

struct sim_plan {
    unsigned n;
    struct sim_fault f[SIM_PLAN_MAX];
};

void sim_plan_clear(struct sim_plan *p);
/* PB_OK, or PB_ERR_RANGE when the plan is full (the fault is then ignored). */
int sim_plan_add(struct sim_plan *p, const struct sim_fault *f);
/* Adds, for transaction txn, every fault of list[0..n) that belongs to side and fires.
 * Faults are tried in list order (determinism). */
void sim_plan_select(struct sim_plan *p, const struct sim_fault *list, size_t n, enum sim_side side,
                     unsigned txn, struct sim_rng *rng);
/* First fault of kind k in the plan, or NULL. */
const struct sim_fault *sim_plan_find(const struct sim_plan *p, enum sim_fault_kind k);

/* The amount the terminal reports for `requested` after CHARGE and PARTIAL faults.
 * *partial (may be NULL) is set when PARTIAL applied. Never negative. */
int64_t sim_plan_charged(const struct sim_plan *p, int64_t requested, bool *partial);

/* Applies BAD_CHECKSUM, DROP_BYTE, INSERT_BYTE and FLIP_BIT to the nth data frame sent in
 * this transaction (from 1), on its attempt-th transmission (from 1). in/out may not
 * overlap; out needs len + 1 bytes. Returns the output length. The checksum sits in the
 * last byte(s) of every frame this simulator speaks (Concert LRC, ZVT CRC), so corrupting
 * the last byte breaks the checksum and nothing else. */
size_t sim_plan_mangle(const struct sim_plan *p, struct sim_rng *rng, unsigned nth,
                       unsigned attempt, const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Should the nth data frame received (from 1), on its attempt-th arrival, be NAKed /
 * left without ACK? */
bool sim_plan_naks(const struct sim_plan *p, unsigned nth, unsigned attempt);
bool sim_plan_withholds_ack(const struct sim_plan *p, unsigned nth, unsigned attempt);
bool sim_plan_loses_ack(const struct sim_plan *p, unsigned nth, unsigned attempt);

#endif
