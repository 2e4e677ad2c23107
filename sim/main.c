/* possim: the simulator CLI. `possim terminal` plays a card terminal, `possim register`
 * a cash register, on a port; `play` and `run` build whole lanes from scenario files.
 * The commands live in sim/cmd_*.c and sim/lane_run.c (sim/possim.h). */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "lane_run.h"
#include "possim.h"
#include "scenario.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"terminal", sim_cmd_terminal, "play a payment terminal on a port"},
    {"register", sim_cmd_register, "play a cash register that drives transactions on a port"},
    {"run", sim_cmd_run, "a whole virtual lane per scenario: register -> posbridge -> terminal\n"
                         "             as processes on ptys, judged against the bridge's journal"},
    {"lint", sim_cmd_lint, "check scenario files and summarise them (exit 65 on an error)"},
    {"play", sim_cmd_play, "play scenarios offline: register and terminal in one process on a\n"
                           "             virtual clock, posbridge's pipeline watching; compare "
                           "expectations"},
    {"replay", sim_cmd_replay, "play one side of a recorded capture (pcapng) back on a port"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: possim COMMAND [OPTIONS]\n\n"
                 "Simulates a card payment terminal or a cash register on a serial line or pty,\n"
                 "with injected faults, so discrepancy handling can be tested without hardware.\n"
                 "It plays %s.\n\ncommands:\n",
            sim_protocol_names());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nexamples:\n"
            "  possim terminal --port pty:/tmp/pt --protocol zvt --fault 'charge +1.00 every 3'\n"
            "  possim register --port /tmp/pt --protocol zvt --sale 12.50 --sale 3.00\n"
            "  possim terminal --port pty:/tmp/pt --scenario lane.scn &\n"
            "  possim register --port /tmp/pt --scenario lane.scn --json\n\n"
            "`possim COMMAND --help` lists each command's options; docs/SCENARIOS.md the\n"
            "scenario format and every fault.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(c, "--version") == 0 || strcmp(c, "-V") == 0) {
        printf("possim %s\n", PB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(c, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "possim: unknown command '%s' (", c);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", commands[i].name);
    fprintf(stderr, ")\n");
    usage(stderr);
    return EX_USAGE;
}
