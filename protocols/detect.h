/* detect: which registered protocol a line speaks, from the first bytes seen on it.
 *
 *   pb_detect()              one buffer: the best probe() over every registered protocol
 *   pb_detector_new/free     a streaming detector for one lane (both directions)
 *   pb_detector_feed()       show it a copy of bytes just forwarded; returns its state
 *   pb_detector_finish()     end of input (or patience): decide on what was seen
 *   pb_detector_result()     the protocol found (NULL while pending or when none)
 *   pb_detector_seen()       the bytes it kept per direction, to replay into a deframer
 *
 * The detector only observes: it copies at most `window` bytes per direction into its own
 * buffers and never holds back the caller's bytes, so forwarding goes on unchanged while
 * it decides (docs/DESIGN.md: the bridge never delays traffic).
 *
 * Decision: a protocol's score is the best of its probe() over either direction's bytes.
 * FOUND as soon as the best score reaches decide_at and no other protocol has the same
 * score; otherwise, when a direction's window fills or at finish(), FOUND when the best
 * score reaches threshold and is unique, else NONE. Once decided, feeding changes nothing.
 *
 * Use in `posbridge run --protocol auto` (the relay loop, owned by bridge/cmd_run.c):
 *   1. create one detector per lane; forward every chunk as always, then call
 *      pb_detector_feed(d, dir, chunk, n) while the state is PB_DETECT_PENDING;
 *   2. when it turns FOUND: build the pipeline for pb_detector_result(), then for each
 *      direction replay pb_detector_seen(d, dir, &buf) into it (those are the first bytes
 *      of that direction, in order); if pb_detector_total(d, dir) is larger than what
 *      seen returned, the difference is the tail of the chunk just fed for that direction
 *      (only the deciding chunk can overflow the window): feed that tail too;
 *   3. when it turns NONE: log "no protocol recognised" and keep relaying undecoded
 *      (or give up, as the operator chose); call pb_detector_finish() on a timer (a few
 *      seconds of traffic) so a quiet line still decides;
 *   4. pb_detector_free() once the bytes are replayed. */
#ifndef PB_DETECT_H
#define PB_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "protocol.h"

#define PB_DETECT_THRESHOLD 60 /* below this no protocol is named */
#define PB_DETECT_DECIDE_AT 90 /* at or above this the detector decides at once */
#define PB_DETECT_WINDOW 4096  /* bytes per direction the detector looks at */

/* Best protocol for buf. Returns PB_OK with *out set when its confidence reaches
 * PB_DETECT_THRESHOLD and no other protocol scores as high; PB_ERR_NOTFOUND with *out
 * NULL otherwise; PB_ERR_INVAL for NULL out. *confidence (may be NULL) gets the best
 * score, 0..100, either way. */
int pb_detect(const uint8_t *buf, size_t len, const struct pb_protocol **out, int *confidence);

enum pb_detect_state {
    PB_DETECT_PENDING = 0,
    PB_DETECT_FOUND,
    PB_DETECT_NONE,
};

struct pb_detect_opts {
    size_t window;  /* bytes kept per direction; 0: PB_DETECT_WINDOW */
    int threshold;  /* 0: PB_DETECT_THRESHOLD */
    int decide_at;  /* 0: PB_DETECT_DECIDE_AT */
};

struct pb_detector;

/* o may be NULL for the defaults. *out = NULL on failure; PB_ERR_NOMEM, PB_ERR_INVAL. */
int pb_detector_new(const struct pb_detect_opts *o, struct pb_detector **out);
void pb_detector_free(struct pb_detector *d); /* NULL is fine */
/* dir PB_DIR_ECR or PB_DIR_PT (PB_DIR_UNKNOWN counts as ECR: one-sided input). */
enum pb_detect_state pb_detector_feed(struct pb_detector *d, enum pb_dir dir,
                                      const uint8_t *buf, size_t len);
enum pb_detect_state pb_detector_finish(struct pb_detector *d);
enum pb_detect_state pb_detector_state(const struct pb_detector *d);
/* The protocol once FOUND, else NULL; *confidence (may be NULL) the best score so far. */
const struct pb_protocol *pb_detector_result(const struct pb_detector *d, int *confidence);
/* Bytes kept for dir (owned by the detector, valid until the next feed or free). */
size_t pb_detector_seen(const struct pb_detector *d, enum pb_dir dir, const uint8_t **buf);
/* Every byte fed for dir, kept or not. */
uint64_t pb_detector_total(const struct pb_detector *d, enum pb_dir dir);

#endif
