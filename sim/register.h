/* register: possim's cash register (ECR) for Concert, ZVT, PAX and MIS-POS.
 *
 *   sim_register_new/free       one register on one line, playing a scenario's steps
 *   sim_register_input()        bytes the terminal sent
 *   sim_register_tick()         run timers (start steps, retries, give-up) and write
 *   sim_register_next_deadline()
 *   sim_register_done()         every step played and reported
 *   sim_outcome_format()        one line for people; sim_outcome_json() one JSON object
 *
 * The register follows the protocol's own retry and timeout rules (Concert: ENQ, ACK,
 * request repeated on NAK up to 3 tries, EOT, then the PT's ENQ and answer; ZVT: command,
 * ACK and 80 00 00 within T3, 80 00 00 for every PT message until 06 0F / 06 1E, and
 * abort 06 B0 when it gives up). It reports, per step, what it believes happened; the
 * report of step N is made when the terminal takes step N+1's request (or at the end),
 * so an answer that arrives after the register gave up is part of it (late). */
#ifndef SIM_REGISTER_H
#define SIM_REGISTER_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"
#include "rng.h"
#include "scenario.h"
#include "tracker.h"
#include "wire.h"

struct sim_register_config {
    const struct pb_protocol *proto;
    const struct sim_scenario *scenario; /* the steps to play (required) */
    const struct sim_fault *faults;      /* extra global faults (ecr- side), may be NULL */
    size_t n_faults;
    uint32_t timeout_ms;     /* 0: the scenario's */
    uint32_t ack_timeout_ms; /* 0: the scenario's */
    uint32_t linger_ms;      /* listen this long after the last step for late
                                answers; 0: ack timeout when the last step gave
                                up, else none */
    unsigned pace_baud, pace_bits;
};

struct sim_outcome {
    unsigned index; /* step number (transaction N) */
    unsigned line;  /* scenario line */
    enum sim_action action;
    bool skipped; /* not played on this protocol */
    bool has_requested;
    int64_t requested;
    uint16_t currency; /* the register's currency */
    bool has_charged;
    int64_t charged;
    uint16_t answer_currency;
    enum pb_result result; /* NONE: no answer */
    int32_t code;          /* result code, -1 none */
    unsigned answers;      /* results received (2 = duplicate) */
    bool accepted;         /* the terminal took the request (ACK / 80 00 00) */
    bool gave_up;          /* the register stopped waiting (timeout or ecr-abort) */
    bool late;             /* a result came after the register gave up */
    bool partial;          /* the answer carried a partial marker or amount due */
    bool transport_failed; /* retries exhausted before the request was taken */
    enum pb_class belief;  /* the class the register believes */
    char receipt[PB_REF_MAX];
    char trace[PB_REF_MAX];
    int64_t latency_us;       /* request -> first result, -1 none */
    struct sim_expect expect; /* the scenario's expectation, copied */
};

typedef void (*sim_outcome_cb)(const struct sim_outcome *o, void *ctx);

struct sim_register;

int sim_register_new(const struct sim_register_config *cfg, struct sim_rng *rng, sim_write_fn write,
                     void *ctx, sim_outcome_cb cb, void *cb_ctx, struct sim_register **out);
void sim_register_free(struct sim_register *r);
void sim_register_input(struct sim_register *r, const uint8_t *buf, size_t len, int64_t now);
int sim_register_tick(struct sim_register *r, int64_t now);
int64_t sim_register_next_deadline(const struct sim_register *r);
bool sim_register_done(const struct sim_register *r);

int sim_outcome_format(const struct sim_outcome *o, char *buf, size_t cap);
int sim_outcome_json(const struct sim_outcome *o, const char *protocol, char *buf, size_t cap);

#endif
