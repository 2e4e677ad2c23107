/* commands: the posbridge subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns a sysexits.h exit code. */
#ifndef PB_COMMANDS_H
#define PB_COMMANDS_H

int cmd_decode(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
