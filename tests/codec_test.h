/* Helpers shared by the codec tests (test_zvt.c, test_pax.c, test_mispos.c): hex text to
 * bytes, a sink that collects what a deframer delivers, deframing in chunks, decoding one
 * whole wire frame, and the check that no prefix of a frame is a frame. The including
 * file names the protocol under test by defining CODEC_TEST_PROTO (a const struct
 * pb_protocol *) before it includes this, after cmocka.h. */
#ifndef PB_CODEC_TEST_H
#define PB_CODEC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

/* "02 0A ff" (spaces optional) into out; fails the test on anything else. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(s, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

#define MAX_ITEMS 64
struct item {
    enum pb_frame_type type;
    uint8_t control;
    bool checksum_ok;
    uint64_t offset;
    uint32_t length;
    size_t payload_len;
    uint8_t payload[300]; /* the first bytes of the payload */
};

struct sink {
    size_t n;
    struct item it[MAX_ITEMS];
    uint64_t garbage;
};

static void collect(const struct pb_frame *f, void *ctx)
{
    struct sink *s = ctx;
    if (f->type == PB_FRAME_GARBAGE) {
        s->garbage += f->length;
        return;
    }
    assert_true(s->n < MAX_ITEMS);
    struct item *it = &s->it[s->n++];
    it->type = f->type;
    it->control = f->control;
    it->checksum_ok = f->checksum_ok;
    it->offset = f->offset;
    it->length = f->length;
    it->payload_len = f->payload_len;
    memcpy(it->payload, f->payload,
           f->payload_len < sizeof it->payload ? f->payload_len : sizeof it->payload);
}

/* Feeds buf in chunks of `chunk` bytes (0: all at once), then flushes. */
static void deframe(const uint8_t *buf, size_t len, size_t chunk, struct sink *s,
                    struct pb_deframer_stats *st)
{
    struct pb_deframer *d;
    assert_int_equal(pb_deframer_new(CODEC_TEST_PROTO, &d), PB_OK);
    memset(s, 0, sizeof *s);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t off = 0; off < len; off += chunk)
        pb_deframer_feed(d, buf + off, len - off < chunk ? len - off : chunk, collect, s);
    pb_deframer_flush(d, collect, s);
    if (st)
        *st = *pb_deframer_stats(d);
    pb_deframer_free(d);
}

static struct pb_frame *new_frame(void)
{
    struct pb_frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    return f;
}

/* w is exactly one frame: scanned whole, then decoded. */
static int decode_wire(const uint8_t *w, size_t n, enum pb_dir dir, struct pos_msg *m)
{
    struct pb_frame *f = new_frame();
    size_t resume = 0;
    int r = CODEC_TEST_PROTO->scan(w, n, &resume, f);
    assert_int_equal(r, (int)n);
    f->offset = 0;
    f->length = (uint32_t)n;
    int d = CODEC_TEST_PROTO->decode(f, dir, m);
    free(f);
    return d;
}

/* Every proper prefix of the frame w is "need more" to scan (whatever the resume point)
 * and, deframed byte by byte then flushed at the end of the stream, all garbage. */
static void check_every_truncation(const uint8_t *w, size_t n)
{
    struct pb_frame *f = new_frame();
    for (size_t cut = 1; cut < n; cut++) {
        size_t resume = 0;
        assert_int_equal(CODEC_TEST_PROTO->scan(w, cut, &resume, f), 0);
        struct sink s;
        struct pb_deframer_stats st;
        deframe(w, cut, 1, &s, &st);
        assert_int_equal(s.n, 0);
        assert_int_equal(st.frames, 0);
        assert_int_equal(st.garbage_bytes, cut);
    }
    free(f);
}

#endif
