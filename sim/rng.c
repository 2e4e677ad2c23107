/* xoshiro256** seeded through splitmix64 (Blackman and Vigna's published algorithms;
 * written from their description). Small, fast, and its output is fixed for a seed on
 * every platform, which is what the same-seed replay promise needs. */
#include "rng.h"

#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* splitmix64 never yields four zero words from one seed, but be certain: an
     * all-zero state would make xoshiro return 0 forever. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Reject the top sliver so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = sim_rng_next(r);
    while (v >= limit);
    return v % n;
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span == UINT64_MAX)
        return (int64_t)sim_rng_next(r);
    return (int64_t)((uint64_t)lo + sim_rng_below(r, span + 1));
}

bool sim_rng_chance(struct sim_rng *r, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    if (ppm >= SIM_PPM)
        return true;
    return sim_rng_below(r, SIM_PPM) < ppm;
}

uint64_t sim_rng_seed_auto(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x =
        (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    /* Keep printed seeds short enough to retype: 32 bits. */
    return splitmix64(&x) & 0xFFFFFFFFull;
}
