/* lane_run: `possim run SCENARIO...`, a complete virtual lane per scenario
 * (register -> posbridge -> terminal over ptys), judged against the journal.
 * Returns 0 when every expectation held, 1 when one did not, a sysexits code when a
 * scenario could not be run at all. */
#ifndef SIM_LANE_RUN_H
#define SIM_LANE_RUN_H

int sim_cmd_run(int argc, char **argv);

#endif
