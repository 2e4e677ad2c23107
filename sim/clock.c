#include "clock.h"

#include <time.h>

static sim_clock_fn override_fn;
static void *override_ctx;

int64_t sim_clock_now_us(void)
{
    if (override_fn)
        return override_fn(override_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sim_clock_override(sim_clock_fn fn, void *ctx)
{
    override_fn = fn;
    override_ctx = ctx;
}
