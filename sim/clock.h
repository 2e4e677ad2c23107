/* clock: the simulator's only source of time.
 *
 *   sim_clock_now_us()    CLOCK_MONOTONIC in microseconds (or the test override)
 *   sim_clock_override()  tests install a function returning their own time; NULL restores
 *
 * The terminal, the register and the fault engine read time only through here. */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

#include <stdint.h>

typedef int64_t (*sim_clock_fn)(void *ctx);

int64_t sim_clock_now_us(void);
void sim_clock_override(sim_clock_fn fn, void *ctx);

#endif
