/* hold: the pipeline's way into the capture, with card data masked before it reaches
 * disk (docs/DESIGN.md decision 8). A chunk is written whole, as read, but only once every
 * frame it touches is complete, so the protocol's redact() can mask card data in it
 * first: chunks wait here, per direction, until the deframer has decided their bytes.
 *
 *   pb_hold_new/free    one per pipeline with a capture
 *   pb_hold_chunk()     bytes read from one side, in order: held, or written at once when
 *                       no redactor will see them (see below)
 *   pb_hold_redact()    the deframer decided [off, off + len) of that side's stream: a
 *                       frame (the protocol's redact()) or garbage (pb_mask_unframed())
 *   pb_hold_release()   write the held chunks that lie wholly before `upto`
 *   pb_hold_flush()     write every held chunk of that side (end of stream, gap, port lost)
 *
 * Held only with a protocol that has a redactor and unless clear is set. Without a
 * protocol every byte is masked as unframed before it is written; with clear, or a
 * protocol without card data, chunks are written as they came.
 *
 * Stream offsets count every byte given to pb_hold_chunk() for a side, from 0, as the
 * deframer's do. Functions that write return how many chunks the capture did not take
 * (the pipeline's capture_errors); NULL is fine everywhere and does nothing.
 * Ownership: the capture and the protocol are borrowed; chunks are copied. */
#ifndef PB_HOLD_H
#define PB_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct pb_capture;
struct pb_hold;
struct pb_protocol;
struct pb_time; /* tracker.h */

/* proto NULL: none known (relay and capture only). *out = NULL on failure. PB_OK,
 * PB_ERR_INVAL, PB_ERR_NOMEM. */
int pb_hold_new(struct pb_capture *capture, const struct pb_protocol *proto, bool clear,
                struct pb_hold **out);
/* Chunks still held are dropped, not written (pb_hold_flush() first to keep them). */
void pb_hold_free(struct pb_hold *h);

/* dir: PB_DIR_ECR or PB_DIR_PT. */
unsigned pb_hold_chunk(struct pb_hold *h, enum pb_dir dir, const struct pb_time *t,
                       const uint8_t *buf, size_t len);
void pb_hold_redact(struct pb_hold *h, enum pb_dir dir, bool frame, uint64_t off, uint32_t len);
unsigned pb_hold_release(struct pb_hold *h, enum pb_dir dir, uint64_t upto);
unsigned pb_hold_flush(struct pb_hold *h, enum pb_dir dir);

#endif
