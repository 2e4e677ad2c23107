/* terminal: possim's card payment terminal (PT) for Concert, ZVT, PAX and MIS-POS.
 *
 *   sim_terminal_new/free     one terminal on one line
 *   sim_terminal_input()      bytes the register sent (as read from the port)
 *   sim_terminal_tick()       run timers and write what is due at `now`
 *   sim_terminal_next_deadline()  when tick() next has work; -1 when idle
 *   sim_terminal_stats()      its batch: counts, trace/receipt numbers, totals
 *   sim_terminal_set_scenario()  reload faults and steps on a live terminal
 *
 * Event-driven and clock-free: every call takes `now` (sim_clock_now_us() in the CLI),
 * so a test can drive it with its own time. Bytes leave only through the write callback.
 *
 * Transaction N (the Nth request the terminal takes, repeats not counted) follows step N
 * of the scenario, if any: its terminal faults, plus every global fault that fires. */
#ifndef SIM_TERMINAL_H
#define SIM_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"
#include "rng.h"
#include "scenario.h"
#include "wire.h"

struct sim_terminal_config {
    const struct pb_protocol *proto;     /* concert, zvt, pax or mispos */
    const struct sim_scenario *scenario; /* NULL: no steps, only `faults` */
    const struct sim_fault *faults;      /* extra global faults (--fault), may be NULL */
    size_t n_faults;
    uint16_t currency;       /* 0: the scenario's (or EUR) */
    uint32_t ack_timeout_ms; /* 0: the scenario's (or 2 s) */
    uint32_t think_ms;       /* 0: the scenario's (or 50 ms) */
    unsigned pace_baud;      /* 0: no pacing */
    unsigned pace_bits;      /* bits per byte on the line (10 for 8N1) */
};

struct sim_terminal_stats {
    unsigned transactions; /* requests taken */
    unsigned approved, declined, aborted, unanswered, voided;
    unsigned naks_sent, naks_received, repeats_sent;
    unsigned trace;       /* last trace number used */
    unsigned receipt;     /* last receipt number used */
    int64_t total;        /* batch total since the last end of day, minor units */
    unsigned batch_count; /* approved financial transactions in the batch */
};

struct sim_terminal;

int sim_terminal_new(const struct sim_terminal_config *cfg, struct sim_rng *rng, sim_write_fn write,
                     void *ctx, struct sim_terminal **out);
void sim_terminal_free(struct sim_terminal *t);
void sim_terminal_input(struct sim_terminal *t, const uint8_t *buf, size_t len, int64_t now);
/* Returns PB_OK, or PB_ERR_CLOSED when a write found the port gone. */
int sim_terminal_tick(struct sim_terminal *t, int64_t now);
int64_t sim_terminal_next_deadline(const struct sim_terminal *t);
const struct sim_terminal_stats *sim_terminal_stats(const struct sim_terminal *t);
/* Swaps the scenario while running (a technician flips a fault on a live lane): the
 * transaction in progress keeps its faults; the next takes its step and global faults
 * from s, counting on from the same step number. The caller keeps s alive and frees the
 * old one after this returns. */
void sim_terminal_set_scenario(struct sim_terminal *t, const struct sim_scenario *s);

#endif
