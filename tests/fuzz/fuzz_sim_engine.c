/* Fuzz harness for possim's engines: arbitrary bytes from the line, in arbitrary chunks
 * at arbitrary times, into a terminal or a register of Concert or ZVT. Nothing may crash
 * and every timer must stay in the future of the clock that set it.
 *   data[0] bit 0: protocol (0 concert, 1 zvt); bit 1: side (0 terminal, 1 register)
 *   data[1]: chunk size (1..32); the rest is the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pb_error.h"
#include "protocol.h"
#include "register.h"
#include "scenario.h"
#include "terminal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t sink(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    (void)b;
    return (ssize_t)n;
}

static void quiet(enum pb_log_level l, const char *m, void *c)
{
    (void)l;
    (void)m;
    (void)c;
}

static const char SCENARIO[] = "timeout 1s\nack-timeout 200ms\n"
                               "sale 1.00 duplicate\n"
                               "sale 2.00 nak 1 approve-repeat\n"
                               "sale 3.00 power-cycle 100ms late\n"
                               "refund 1.00 drop-link 5 100ms\n"
                               "void\nstatus\nend-of-day\nregistration\nlogoff\n"
                               "sale 4.00 delay 2s ecr-nak 2 ecr-abort 500ms\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sim_scenario *sc;
    if (!sc) {
        char err[128];
        pb_log_set_sink(PB_LOG_CALLBACK, "fuzz", quiet, NULL);
        if (sim_scenario_parse("fuzz", SCENARIO, sizeof SCENARIO - 1, &sc, err, sizeof err))
            abort();
    }
    if (size < 2)
        return 0;
    const struct pb_protocol *p = pb_protocol_find((data[0] & 1) ? "zvt" : "concert");
    if (!p)
        return 0;
    bool reg = data[0] & 2;
    size_t chunk = 1 + data[1] % 32;
    data += 2;
    size_t len = size - 2;
    struct sim_rng rng;
    sim_rng_seed(&rng, 1);
    struct sim_terminal *t = NULL;
    struct sim_register *r = NULL;
    if (reg) {
        struct sim_register_config c = {.proto = p, .scenario = sc};
        if (sim_register_new(&c, &rng, sink, NULL, NULL, NULL, &r))
            abort();
    } else {
        struct sim_terminal_config c = {.proto = p, .scenario = sc};
        if (sim_terminal_new(&c, &rng, sink, NULL, &t))
            abort();
    }
    int64_t now = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (reg) {
            sim_register_tick(r, now);
            sim_register_input(r, data + off, n, now);
        } else {
            sim_terminal_tick(t, now);
            sim_terminal_input(t, data + off, n, now);
        }
        now += 1000 * (int64_t)(data[off] % 64); /* 0..63 ms between chunks */
    }
    /* let every timer run out */
    for (int i = 0; i < 200; i++) {
        int64_t d = reg ? sim_register_next_deadline(r) : sim_terminal_next_deadline(t);
        if (d < 0)
            break;
        if (d > now)
            now = d;
        if (reg)
            sim_register_tick(r, now);
        else
            sim_terminal_tick(t, now);
    }
    sim_terminal_free(t);
    sim_register_free(r);
    return 0;
}
