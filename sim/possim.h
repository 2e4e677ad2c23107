/* possim: the simulator's commands and what they share.
 *
 *   sim_cmd_terminal()    possim terminal: a card terminal on a port (cmd_line.c)
 *   sim_cmd_register()    possim register: a cash register on a port (cmd_line.c)
 *   sim_cmd_lint()        possim lint: check scenario files (cmd_lint.c)
 *   sim_cmd_play()        possim play: a virtual lane in one process (cmd_play.c)
 *   sim_cmd_replay()      possim replay: one side of a capture back on a port
 *   sim_cmd_run()         possim run: whole lanes with a real posbridge (lane_run.h)
 *   sim_cli_duration()    a time option ("5s", "500ms"; bare seconds where allowed)
 *   sim_cli_capture()     open a --capture file, saying on stderr why not
 *   sim_signals_install() SIGINT/SIGTERM set sim_stop_requested; with hup, SIGHUP sets
 *                         sim_reload_requested; SIGPIPE is ignored
 *
 * Each command takes the arguments after its own name (argv[0] is the command) and
 * returns a sysexits.h exit code. */
#ifndef SIM_POSSIM_H
#define SIM_POSSIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct pb_capture;

#ifndef PB_VERSION
#define PB_VERSION "0.1.0"
#endif

int sim_cmd_terminal(int argc, char **argv);
int sim_cmd_register(int argc, char **argv);
int sim_cmd_lint(int argc, char **argv);
int sim_cmd_play(int argc, char **argv);
int sim_cmd_replay(int argc, char **argv);

/* Returns 0, or -1 after saying on stderr what is wrong with v for option opt. */
int sim_cli_duration(const char *opt, const char *v, uint32_t *ms, bool bare_seconds);
/* pb_capture_open(path) with the default options. Returns 0, or EX_CANTCREAT after saying
 * on stderr, as "PROG: --capture PATH: ...", why (in use by pid N, a refused path...). */
int sim_cli_capture(const char *prog, const char *path, uint16_t link_type,
                    struct pb_capture **out);

extern volatile sig_atomic_t sim_stop_requested;
extern volatile sig_atomic_t sim_reload_requested;
void sim_signals_install(bool hup);

#endif
