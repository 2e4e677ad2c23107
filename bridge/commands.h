/* commands: the posbridge subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns a sysexits.h exit code. */
#ifndef PB_COMMANDS_H
#define PB_COMMANDS_H

int cmd_decode(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_ports(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_capture(int argc, char **argv);

/* The journal used when --journal is not given: $XDG_STATE_HOME/posbridge/journal.db,
 * ~/.local/state/posbridge/journal.db, or /var/lib/posbridge/journal.db for root.
 * malloc'd; NULL when out of memory. */
char *pb_default_journal_path(void);

#endif
