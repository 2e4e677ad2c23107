/* wire: one simulated end of a serial line, shared by the terminal and the register.
 *
 *   sim_wire_new/free        around a protocol, a generator and a write callback
 *   sim_wire_feed()          bytes read from the port -> deframed items to a callback
 *   sim_wire_send_frame()    queue a data frame, with the transaction's line faults
 *                            (checksum, byte damage, noise, slicing, latency) applied
 *   sim_wire_send_control()  queue one control byte (ACK, NAK, ENQ, EOT), with latency
 *   sim_wire_send_raw()      queue bytes as they are (a boot banner)
 *   sim_wire_set_plan()      the faults of the current transaction (NULL: none)
 *   sim_wire_set_pace()      pace output at a baud rate (0 = as fast as the port goes)
 *   sim_wire_cut()           the line goes dead: queued output is discarded; output
 *                            and input are dropped until `until_us`
 *   sim_wire_next_deadline() when sim_wire_flush() has something due; -1 when idle
 *   sim_wire_flush()         write everything due at `now`
 *
 * Writes go through the callback only, so a test can record every byte a side sends. */
#ifndef SIM_WIRE_H
#define SIM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fault.h"
#include "protocol.h"
#include "rng.h"

/* Returns bytes written (may be fewer), PB_ERR_AGAIN or PB_ERR_CLOSED. */
typedef ssize_t (*sim_write_fn)(void *ctx, const uint8_t *buf, size_t len);

struct sim_wire;

int sim_wire_new(const struct pb_protocol *p, struct sim_rng *rng, sim_write_fn write, void *ctx,
                 struct sim_wire **out);
void sim_wire_free(struct sim_wire *w);

void sim_wire_set_plan(struct sim_wire *w, const struct sim_plan *plan);
/* bits_per_byte: start + data + parity + stop bits (10 for 8N1, 11 for 8N2 and 7E1+2). */
void sim_wire_set_pace(struct sim_wire *w, unsigned baud, unsigned bits_per_byte);

/* Bytes read while the line is cut are dropped and not fed. */
void sim_wire_feed(struct sim_wire *w, const uint8_t *buf, size_t len, pb_frame_cb cb, void *ctx,
                   int64_t now);

/* nth: frame number in the transaction (from 1); attempt: transmission (from 1).
 * cut_after: when > 0, only the first cut_after bytes leave (drop-link); 0 = all. */
void sim_wire_send_frame(struct sim_wire *w, const uint8_t *frame, size_t len, unsigned nth,
                         unsigned attempt, size_t cut_after, int64_t now);
void sim_wire_send_control(struct sim_wire *w, uint8_t byte, int64_t now);
void sim_wire_send_raw(struct sim_wire *w, const uint8_t *buf, size_t len, int64_t now);

void sim_wire_cut(struct sim_wire *w, int64_t until_us);
bool sim_wire_is_cut(const struct sim_wire *w, int64_t now);

int64_t sim_wire_next_deadline(const struct sim_wire *w);
/* Returns PB_OK, or PB_ERR_CLOSED when the write callback reported the port gone. */
int sim_wire_flush(struct sim_wire *w, int64_t now);
/* True when nothing is queued. */
bool sim_wire_idle(const struct sim_wire *w);
/* Total bytes handed to the write callback. */
uint64_t sim_wire_bytes_out(const struct sim_wire *w);

#endif
