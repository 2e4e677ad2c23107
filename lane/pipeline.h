/* pipeline: the one pipeline behind `posbridge run` and `posbridge decode` (docs/DESIGN.md,
 * "One pipeline, live and offline"): chunks in, per-direction deframers, decoder,
 * tracker, and the consumers of its results (capture, journal, events, alert hook).
 *
 *   pb_pipeline_new/free  borrow the consumers given in the options (may be NULL)
 *   pb_pipeline_chunk()   bytes read from one side, with the time they were read; call
 *                         it AFTER forwarding them (docs/DESIGN.md decision 1)
 *   pb_pipeline_tick()    run timers, reap finished alert programs and start waiting
 *                         ones; pb_pipeline_next_deadline() says when (-1: idle)
 *   pb_pipeline_link()    a port went or came back: logged, captured as a comment,
 *                         journalled, and the tracker puts the transaction in doubt
 *   pb_pipeline_gap()     bytes of one side are missing: drop what cannot complete
 *   pb_pipeline_finish()  end of stream: open transaction in doubt, capture flushed
 *
 * Captures: a chunk is written whole, as read, but only once every frame it touches is
 * complete, so the protocol's redact() can mask card data before it reaches disk
 * (docs/DESIGN.md decision 8). Unless capture_clear is set.
 *
 * Behind it: hold.h keeps chunks until they are masked, rules.h watches closed
 * transactions for bursts and terminal batches, alert.h runs the alert program; their
 * counters are part of pb_pipeline_stats. */
#ifndef PB_PIPELINE_H
#define PB_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msg.h"
#include "protocol.h"
#include "tracker.h"

struct pb_capture;
struct pb_journal;
struct pb_pipeline;

/* Called for every decoded message (before the tracker sees it), and for garbage runs
 * (msg == NULL, frame->type == PB_FRAME_GARBAGE). */
typedef void (*pb_pipeline_msg_cb)(enum pb_dir dir, const struct pb_frame *frame,
                               const struct pos_msg *msg, const struct pb_time *t, void *ctx);
/* Called for every transaction event, after the journal got it. */
typedef void (*pb_pipeline_txn_cb)(enum pb_txn_event ev, const struct pb_txn *t, void *ctx);

struct pb_pipeline_opts {
    const struct pb_protocol *proto; /* NULL: relay and capture only (--protocol none) */
    struct pb_tracker_config tracker;
    struct pb_capture *capture;      /* borrowed; NULL: no capture */
    bool capture_clear;              /* write card data unmasked (explicit option only) */
    struct pb_journal *journal;      /* borrowed; NULL: no journal */
    FILE *events;                    /* borrowed; JSON Lines of closed transactions */
    const char *alert_program;       /* run on each discrepancy, no shell; NULL: none */
    uint32_t alert_timeout_ms;       /* time limit for the alert program; default 10000 */
    unsigned alert_max;              /* alert programs running at once; 0: 4 */
    unsigned alert_queue;            /* alerts waiting for a free slot at most; 0: 256 */
    unsigned alert_burst;            /* this many discrepancies within an hour raise one
                                        burst alert (log, journal, program); 0: never */
    pb_pipeline_msg_cb on_msg;
    pb_pipeline_txn_cb on_txn;
    void *ctx;
};

struct pb_pipeline_stats {
    uint64_t bytes[2];       /* by pb_dir */
    uint64_t frames[2];
    uint64_t controls[2];    /* single control bytes (ACK, NAK, ENQ, EOT) */
    uint64_t garbage[2];
    uint64_t checksum_errors[2];
    uint64_t naks[2];
    uint64_t txns;           /* closed transactions */
    uint64_t by_class[PB_CLASS__COUNT];
    uint64_t capture_errors;
    uint64_t alerts_run, alerts_failed;
    uint64_t alerts_dropped; /* refused by a full alert queue (docs/ALERTS.md) */
    uint64_t alerts_pending; /* alert programs running plus alerts waiting, now */
    uint64_t events_failed;  /* events-file lines not written */
    uint64_t bursts;         /* burst alerts raised */
    bool protocol_mismatch;  /* the line speaks another protocol than the configured one */
    const struct pb_protocol *detected; /* which, when protocol_mismatch */
};

int pb_pipeline_new(const struct pb_pipeline_opts *opts, struct pb_pipeline **out);
void pb_pipeline_free(struct pb_pipeline *l);
void pb_pipeline_chunk(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *t, const uint8_t *buf,
                   size_t len);
/* Bytes of one direction are missing (a capture packet cut short): what is buffered
 * cannot complete, so it is reported as garbage and the deframer starts afresh. */
void pb_pipeline_gap(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *now);
void pb_pipeline_tick(struct pb_pipeline *l, const struct pb_time *now);
/* The tracker's next deadline on the tick clock; while alert programs run or wait, at
 * most ALERT_POLL_MS after the last tick. That clock must then be CLOCK_MONOTONIC, as
 * `posbridge run` ticks it: only a live lane has an alert program. */
int64_t pb_pipeline_next_deadline(const struct pb_pipeline *l);
void pb_pipeline_link(struct pb_pipeline *l, enum pb_dir side, bool up, const struct pb_time *now,
                  const char *text);
void pb_pipeline_finish(struct pb_pipeline *l, const struct pb_time *now);
/* An alert about the lane that comes from outside the tracker (the journal recreated
 * under the bridge): the alert program with POSBRIDGE_CLASS=cls, _SEVERITY, _PROTOCOL,
 * POSBRIDGE_ID=0 and POSBRIDGE_TEXT=text; on its stdin {"class", "text"}
 * (docs/ALERTS.md). Logging and journalling it are the caller's. Nothing without an
 * alert program. */
void pb_pipeline_lane_alert(struct pb_pipeline *l, const char *cls, const char *severity,
                            const char *text);
/* Writes a comment into the capture (bridge start, SIGHUP...). */
void pb_pipeline_comment(struct pb_pipeline *l, const struct pb_time *now, const char *text);
/* Writes the tracker settings into the capture as a comment (pb_tracker_config_format),
 * so `posbridge decode` of the capture judges with them. */
void pb_pipeline_comment_settings(struct pb_pipeline *l, const struct pb_time *now);
const struct pb_pipeline_stats *pb_pipeline_stats(const struct pb_pipeline *l);
const struct pb_txn *pb_pipeline_current(const struct pb_pipeline *l);

#endif
