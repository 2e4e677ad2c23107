/* posbridge: the command dispatcher. Each subcommand lives in bridge/cmd_<name>.c. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "commands.h"

#ifndef PB_VERSION
#define PB_VERSION "0.1.0"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "bridge a register and a terminal, record transactions and discrepancies"},
    {"decode", cmd_decode, "decode protocol bytes (hex, raw file, stdin) into messages"},
    {"report", cmd_report, "discrepancies with evidence and action; daily reconciliation"},
    {"resolve", cmd_resolve, "mark a discrepancy resolved (the original record is kept)"},
    {"verify", cmd_verify, "check the journal's hash chain: nothing changed, deleted or reordered"},
    {"ports", cmd_ports, "list serial ports and USB devices, name the payment terminals"},
    {"monitor", cmd_monitor, "live view of a running bridge (follows its capture)"},
    {"capture", cmd_capture, "export a capture as a hex dump, import a dump back"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: posbridge COMMAND [OPTIONS]\n\n"
                 "Sits between a cash register and a card terminal, forwards every byte,\n"
                 "and records what was asked and what was charged.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`posbridge COMMAND --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("posbridge %s\n", PB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "posbridge: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EX_USAGE;
}
