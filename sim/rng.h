/* rng: the one seeded random generator of possim (docs/DESIGN.md decision 9).
 *
 *   sim_rng_seed()       seed a generator (splitmix64 expands the 64-bit seed)
 *   sim_rng_next()       next 64 random bits (xoshiro256**)
 *   sim_rng_below()      uniform integer in [0, n), unbiased; 0 when n is 0
 *   sim_rng_range()      uniform integer in [lo, hi] (inclusive)
 *   sim_rng_chance()     true with probability ppm / 1000000
 *   sim_rng_seed_auto()  a seed from the clock and pid, for runs without --seed
 *
 * Every random choice of the simulator goes through one struct sim_rng so that a run
 * with the same seed and the same scenario writes the same bytes. The struct is a plain
 * value (embed it, copy it); treat its state as private. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct sim_rng {
    uint64_t s[4]; /* private */
};

#define SIM_PPM 1000000u /* probabilities are parts per million: no floats in choices */

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
bool sim_rng_chance(struct sim_rng *r, uint32_t ppm);
uint64_t sim_rng_seed_auto(void);

#endif
