/* replay: play one side of a recorded capture (pcapng, lane/capture.h) back on a port,
 * so a field problem can be replayed in the lab against a real register or terminal.
 *
 *   sim_replay_load()      read a capture; keep the chunks of one side
 *   sim_replay_free()      NULL is fine
 *   sim_replay_input()     bytes the live peer sent (they drive the timing, see below)
 *   sim_replay_tick()      write what is due at `now`
 *   sim_replay_next_deadline()
 *   sim_replay_done()      every chunk sent
 *   sim_replay_stats()
 *
 * Timing. Closed loop (default): a recorded chunk waits until the live peer has sent at
 * least as many bytes as the recorded peer had sent before it, then keeps its recorded
 * gap to the event before it (divided by the speed). So a replayed terminal answers when
 * the live register has asked, not at a wall-clock time that no longer fits. When the
 * peer stays short for `wait_ms`, the chunk goes anyway (counted as a stall). Open loop:
 * every chunk at its recorded offset from the first, divided by the speed. */
#ifndef SIM_REPLAY_H
#define SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "wire.h"

struct sim_replay_opts {
    enum pb_dir side;     /* PB_DIR_PT: play the terminal's bytes; PB_DIR_ECR: the register's */
    uint32_t speed_milli; /* 1000 = recorded speed, 2000 = twice as fast; 0 = 1000 */
    bool open_loop;
    uint32_t wait_ms; /* closed loop: give up waiting for the peer after this; 0 = 10 s */
};

struct sim_replay_stats {
    unsigned chunks_total, chunks_sent;
    uint64_t bytes_sent, bytes_received;
    unsigned stalls; /* chunks sent without the peer having caught up */
    unsigned events; /* capture comments (port lost, ...) passed by */
};

struct sim_replay;

/* Returns PB_OK, or a negative code with err holding "path: why". */
int sim_replay_load(const char *path, const struct sim_replay_opts *opts, sim_write_fn write,
                    void *ctx, struct sim_replay **out, char *err, size_t errcap);
void sim_replay_free(struct sim_replay *r);
void sim_replay_input(struct sim_replay *r, const uint8_t *buf, size_t len, int64_t now);
int sim_replay_tick(struct sim_replay *r, int64_t now);
int64_t sim_replay_next_deadline(const struct sim_replay *r);
bool sim_replay_done(const struct sim_replay *r);
const struct sim_replay_stats *sim_replay_stats(const struct sim_replay *r);

#endif
