/* Concert test vectors (docs/PROTOCOLS.md section 1, LRC checked) and a frame recorder
 * shared by tests/test_concert.c and tests/test_deframer.c. Header-only, test use only. */
#ifndef PB_TEST_CONCERT_VECTORS_H
#define PB_TEST_CONCERT_VECTORS_H

#include <stdint.h>
#include <string.h>

#include "protocol.h"

/* Purchase 12.50 EUR, POS 01, full answer wanted, card, debit. */
static const uint8_t VEC_REQUEST[] = {
    0x02, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x31, 0x32, 0x35, 0x30, 0x31, 0x31,
    0x30, 0x39, 0x37, 0x38, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x41, 0x30, 0x31, 0x30, 0x42, 0x30, 0x31, 0x30, 0x03, 0x01,
};

/* Approved short answer, 12.50, mode '1', 978, private "0000000000". */
static const uint8_t VEC_SHORT_ANSWER[] = {
    0x02, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x32, 0x35, 0x30, 0x31, 0x39,
    0x37, 0x38, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x03, 0x33,
};

/* Wraps an ASCII payload into STX payload ETX LRC; returns the wire length. */
static inline size_t concert_wrap(const char *payload, size_t plen, uint8_t *wire)
{
    wire[0] = PB_STX;
    memcpy(wire + 1, payload, plen);
    wire[plen + 1] = PB_ETX;
    wire[plen + 2] = pb_lrc(wire + 1, plen + 1);
    return plen + 3;
}

/* Records what a deframer delivers. */
#define REC_MAX 64
struct rec_event {
    enum pb_frame_type type;
    uint64_t offset;
    uint32_t length;
    bool checksum_ok;
    uint8_t control;
    size_t payload_len;
    uint8_t payload[128];
};
struct recorder {
    size_t n;
    uint64_t garbage; /* total garbage bytes, however split into runs */
    struct rec_event ev[REC_MAX];
};

static inline void rec_cb(const struct pb_frame *f, void *ctx)
{
    struct recorder *r = ctx;
    if (f->type == PB_FRAME_GARBAGE)
        r->garbage += f->length;
    if (r->n >= REC_MAX)
        return;
    struct rec_event *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->type = f->type;
    e->offset = f->offset;
    e->length = f->length;
    e->checksum_ok = f->checksum_ok;
    e->control = f->control;
    e->payload_len = f->payload_len;
    memcpy(e->payload, f->payload, f->payload_len < 128 ? f->payload_len : 128);
}

/* Drops garbage events so streams split differently compare equal. */
static inline void rec_without_garbage(const struct recorder *in, struct recorder *out)
{
    memset(out, 0, sizeof *out);
    out->garbage = in->garbage;
    for (size_t i = 0; i < in->n; i++)
        if (in->ev[i].type != PB_FRAME_GARBAGE)
            out->ev[out->n++] = in->ev[i];
}

#endif
