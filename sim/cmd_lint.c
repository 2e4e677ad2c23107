/* possim lint: scenario files checked and summarised without playing them. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "possim.h"
#include "scenario.h"
#include "pb_error.h"

int sim_cmd_lint(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: possim lint SCENARIO...\n\n"
                "Checks scenario files without playing them: prints one summary line per\n"
                "file, or the first error as file:line:col: message (exit 65).\n\n"
                "example:\n"
                "  possim lint captures/scenarios/*.scn\n");
        return argc < 2 ? EX_USAGE : 0;
    }
    int ret = 0;
    for (int i = 1; i < argc; i++) {
        struct sim_scenario *sc = NULL;
        char err[512];
        int r = sim_scenario_load(argv[i], &sc, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err);
            if (r == PB_ERR_SYNTAX)
                ret = EX_DATAERR;
            else if (!ret)
                ret = EX_NOINPUT;
            continue;
        }
        const struct sim_settings *st = sim_scenario_settings(sc);
        size_t nf = 0, expects = 0, faults = 0;
        sim_scenario_faults(sc, &nf);
        for (size_t k = 0; k < sim_scenario_count(sc); k++) {
            const struct sim_step *stp = sim_scenario_step(sc, k);
            expects += stp->expect.cls != PB_CLASS_NONE;
            faults += stp->n_faults;
        }
        printf("%s: protocol %s, %zu transactions (%zu with expectations), %zu faults on "
               "transactions, %zu fault lines\n",
               argv[i], st->protocol[0] ? st->protocol : "(from --protocol)",
               sim_scenario_count(sc), expects, faults, nf);
        sim_scenario_free(sc);
    }
    return ret;
}

/* The virtual lane's bytes into a capture: UTC is a fixed base plus the virtual time. */
