/* Fuzz harness for the scenario parser: any bytes either parse into a scenario whose
 * steps are self-consistent, or fail with one "name:line:col: message" line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pb_error.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_scenario *s = NULL;
    char err[256];
    int r = sim_scenario_parse("fuzz", (const char *)data, size, &s, err, sizeof err);
    if (r == PB_OK) {
        if (!s)
            abort();
        for (size_t i = 0; i < sim_scenario_count(s); i++) {
            const struct sim_step *st = sim_scenario_step(s, i);
            if (st->index != i + 1 || st->n_faults > SIM_STEP_FAULTS_MAX ||
                (unsigned)st->action >= SIM_ACT__COUNT || (st->has_amount && st->amount <= 0) ||
                st->void_of >= st->index)
                abort();
            char buf[128];
            for (size_t k = 0; k < st->n_faults; k++)
                sim_fault_format(&st->faults[k], 978, buf, sizeof buf);
        }
        sim_scenario_free(s);
    } else {
        if (s || strncmp(err, "fuzz:", 5) != 0 || !memchr(err, '\0', sizeof err))
            abort();
    }
    return 0;
}
