/* play: a whole virtual checkout lane in one process, on a virtual clock: possim's
 * register and terminal play one scenario against each other, and (optionally)
 * posbridge's own tracker watches the line as the bridge would.
 *
 *   sim_lane_play()         play a scenario; results per step
 *   sim_lane_result_free()  NULL is fine
 *
 * No ports, no real time: a scenario with minutes of timeouts plays in milliseconds and
 * the same seed gives the same bytes. For `possim play`, tests, and anyone who wants to
 * know what a scenario yields before wiring a real lane. */
#ifndef SIM_PLAY_H
#define SIM_PLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "protocol.h"
#include "register.h"
#include "scenario.h"
#include "terminal.h"
#include "tracker.h"

/* Sees every byte either side writes, at its virtual time (microseconds from 0). */
typedef void (*sim_lane_tap_fn)(void *ctx, enum pb_dir from, const uint8_t *buf, size_t len,
                                int64_t now_us);

struct sim_lane_config {
    const struct pb_protocol *proto;
    const struct sim_scenario *scenario;
    uint64_t seed;       /* terminal's generator; the register's is derived from it */
    bool watch;          /* run posbridge's tracker on the line */
    sim_lane_tap_fn tap; /* may be NULL */
    void *tap_ctx;
};

struct sim_lane_step {
    const struct sim_step *step; /* points into the scenario */
    struct sim_outcome reg;      /* what the register believed (reg.skipped: not played) */
    bool has_reg;
    /* posbridge's record (watch only) */
    bool on_wire;              /* the step put a request on the line */
    bool has_txn;              /* the tracker recorded a transaction for it */
    enum pb_class cls;         /* its class (after any reclassification) */
    enum pb_class related_cls; /* class of an answer with no request tied to it
                                  (a duplicate's second approval), else NONE */
    bool has_charged;
    int64_t charged;
    bool matches; /* the expectation holds (true when there is none) */
    char why[320]; /* why not (judge.h) */
};

/* One transaction as the watching pipeline closed it, in the order it was opened. */
struct sim_lane_txn {
    uint64_t id;
    enum pb_class cls;
    bool synthetic; /* opened on an answer with no request (a duplicate's second approval) */
    bool has_charged;
    int64_t charged;
};

struct sim_lane_result {
    size_t n_steps;
    struct sim_lane_step *steps;
    unsigned mismatches;   /* steps whose expectation fails, plus strays (watch only) */
    unsigned strays;       /* transactions no step claims (judge.h) */
    char stray[512];       /* naming them */
    unsigned tracker_txns; /* transactions the tracker recorded, synthetic included */
    struct sim_lane_txn *txns; /* those transactions (watch only) */
    int64_t virtual_us;    /* line time the lane took */
    uint64_t bytes_pt, bytes_ecr;
    struct sim_terminal_stats terminal; /* the terminal's batch at the end */
};

/* Returns PB_OK with *out set (free it), or a negative code (*out NULL). */
int sim_lane_play(const struct sim_lane_config *cfg, struct sim_lane_result **out);
void sim_lane_result_free(struct sim_lane_result *r);

#endif
