/* Tests for the generic streaming deframer in protocols/protocol.c, driven by the
 * Concert scanner: stream offsets, statistics, flush, reset and resynchronisation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "concert.h"
#include "mispos.h"
#include "concert_vectors.h"
#include "pb_error.h"
#include "protocol.h"

static int setup(void **state)
{
    struct pb_deframer *d = NULL;
    if (pb_deframer_new(&pb_proto_concert, &d) != PB_OK)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    pb_deframer_free(*state);
    return 0;
}

static void test_new_rejects_bad_arguments(void **state)
{
    (void)state;
    struct pb_deframer *d = (struct pb_deframer *)1;
    assert_int_equal(pb_deframer_new(NULL, &d), PB_ERR_INVAL);
    assert_null(d);
    assert_int_equal(pb_deframer_new(&pb_proto_concert, NULL), PB_ERR_INVAL);
    struct pb_protocol no_scan = pb_proto_concert;
    no_scan.scan = NULL;
    d = (struct pb_deframer *)1;
    assert_int_equal(pb_deframer_new(&no_scan, &d), PB_ERR_INVAL);
    assert_null(d);
    pb_deframer_free(NULL); /* does nothing */
}

static void test_offsets_across_chunks(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    /* Three feeds: garbage + half a frame; the rest + ACK; a second frame. */
    pb_deframer_feed(d, (const uint8_t *)"abc", 3, rec_cb, &r);
    pb_deframer_feed(d, VEC_REQUEST, 10, rec_cb, &r);
    pb_deframer_feed(d, VEC_REQUEST + 10, sizeof VEC_REQUEST - 10, rec_cb, &r);
    static const uint8_t ack = PB_ACK;
    pb_deframer_feed(d, &ack, 1, rec_cb, &r);
    pb_deframer_feed(d, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER, rec_cb, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.ev[0].type, PB_FRAME_GARBAGE);
    assert_int_equal(r.ev[0].offset, 0);
    assert_int_equal(r.ev[0].length, 3);
    assert_int_equal(r.ev[1].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[1].offset, 3);
    assert_int_equal(r.ev[1].length, sizeof VEC_REQUEST);
    assert_int_equal(r.ev[1].payload_len, sizeof VEC_REQUEST - 3);
    assert_memory_equal(r.ev[1].payload, VEC_REQUEST + 1, sizeof VEC_REQUEST - 3);
    assert_int_equal(r.ev[2].type, PB_FRAME_CONTROL);
    assert_int_equal(r.ev[2].control, PB_ACK);
    assert_int_equal(r.ev[2].offset, 3 + sizeof VEC_REQUEST);
    assert_int_equal(r.ev[2].length, 1);
    assert_int_equal(r.ev[3].offset, 4 + sizeof VEC_REQUEST);
}

static void test_stats_counters(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    uint8_t buf[256];
    size_t n = 0;
    buf[n++] = PB_ENQ;
    buf[n++] = 'g';
    buf[n++] = 'g';
    memcpy(buf + n, VEC_REQUEST, sizeof VEC_REQUEST);
    n += sizeof VEC_REQUEST;
    buf[n++] = PB_NAK;
    memcpy(buf + n, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
    buf[n + sizeof VEC_SHORT_ANSWER - 1] ^= 0xFF; /* bad LRC */
    n += sizeof VEC_SHORT_ANSWER;
    buf[n++] = PB_EOT;
    for (size_t i = 0; i < n; i++)
        pb_deframer_feed(d, buf + i, 1, rec_cb, &r);
    const struct pb_deframer_stats *s = pb_deframer_stats(d);
    assert_int_equal(s->bytes, n);
    assert_int_equal(s->frames, 2);
    assert_int_equal(s->controls, 3);
    assert_int_equal(s->garbage_bytes, 2);
    assert_int_equal(s->checksum_errors, 1);
    /* Everything fed is accounted for: frames + controls + garbage = bytes. */
    uint64_t seen = 0;
    for (size_t i = 0; i < r.n; i++)
        seen += r.ev[i].length;
    assert_int_equal(seen, n);
}

static void test_flush_reports_partial_frame(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    pb_deframer_feed(d, VEC_REQUEST, sizeof VEC_REQUEST, rec_cb, &r);
    pb_deframer_feed(d, VEC_SHORT_ANSWER, 12, rec_cb, &r);
    assert_int_equal(r.n, 1); /* the partial answer waits */
    pb_deframer_flush(d, rec_cb, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[1].type, PB_FRAME_GARBAGE);
    assert_int_equal(r.ev[1].offset, sizeof VEC_REQUEST);
    assert_int_equal(r.ev[1].length, 12);
    assert_int_equal(pb_deframer_stats(d)->garbage_bytes, 12);
    /* Flushing an empty buffer reports nothing; the stream goes on after a flush. */
    pb_deframer_flush(d, rec_cb, &r);
    assert_int_equal(r.n, 2);
    pb_deframer_feed(d, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER, rec_cb, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ev[2].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[2].offset, sizeof VEC_REQUEST + 12);
    assert_true(r.ev[2].checksum_ok);
}

static void test_reset_forgets_but_keeps_counting(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    pb_deframer_feed(d, VEC_REQUEST, 20, rec_cb, &r);
    pb_deframer_reset(d); /* link lost mid-frame */
    assert_int_equal(r.n, 0);
    /* The tail of the old frame is no frame; the new one is found at its real offset. */
    pb_deframer_feed(d, VEC_REQUEST + 20, sizeof VEC_REQUEST - 20, rec_cb, &r);
    pb_deframer_feed(d, VEC_REQUEST, sizeof VEC_REQUEST, rec_cb, &r);
    struct recorder g;
    rec_without_garbage(&r, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0].type, PB_FRAME_DATA);
    assert_int_equal(g.ev[0].offset, sizeof VEC_REQUEST);
    assert_true(g.ev[0].checksum_ok);
    assert_int_equal(pb_deframer_stats(d)->bytes, 2 * sizeof VEC_REQUEST);
    /* Nothing left to flush after a reset. */
    pb_deframer_reset(d);
    struct recorder after = {0};
    pb_deframer_flush(d, rec_cb, &after);
    assert_int_equal(after.n, 0);
}

static void test_resync_after_false_stx(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    /* A stray STX and two ASCII bytes, then the real frame. */
    static const uint8_t noise[] = {PB_STX, '1', '2'};
    pb_deframer_feed(d, noise, sizeof noise, rec_cb, &r);
    assert_int_equal(r.n, 0); /* could still be a frame */
    pb_deframer_feed(d, VEC_REQUEST, sizeof VEC_REQUEST, rec_cb, &r);
    struct recorder g;
    rec_without_garbage(&r, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0].offset, 3);
    assert_true(g.ev[0].checksum_ok);
    assert_int_equal(pb_deframer_stats(d)->garbage_bytes, 3);
    assert_int_equal(pb_deframer_stats(d)->frames, 1);
    /* A stray STX right before the LRC-bearing ETX of another frame. */
    static const uint8_t stx = PB_STX;
    pb_deframer_feed(d, &stx, 1, rec_cb, &r);
    pb_deframer_feed(d, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER, rec_cb, &r);
    rec_without_garbage(&r, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.ev[1].offset, 3 + sizeof VEC_REQUEST + 1);
    assert_int_equal(pb_deframer_stats(d)->garbage_bytes, 4);
}

/* MIS-POS sale of 1.00 (docs/PROTOCOLS.md 4). */
static const uint8_t MISPOS_SALE[] = {0x02, 0x00, 0x30, 0x9F, 0x00, 0x00, 0x05, 0x41, 0x50, 0x50,
                                      0x30, 0x31, 0x9F, 0x01, 0x00, 0x01, 0x02, 0x9F, 0x02, 0x00,
                                      0x0C, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
                                      0x31, 0x30, 0x30, 0x03, 0xE4};

/* A flipped bit in a MIS-POS length (30 -> 1030 bytes) makes a frame that would swallow
 * the sender's repeat; after a silence longer than PB_FRAME_GAP_US it is given up, and
 * the repeat decodes. Without the silence (or without times) it is still held. */
static void test_gap_expires_broken_length(void **state)
{
    (void)state;
    struct pb_deframer *d = NULL;
    assert_int_equal(pb_deframer_new(&pb_proto_mispos, &d), PB_OK);
    uint8_t broken[sizeof MISPOS_SALE];
    memcpy(broken, MISPOS_SALE, sizeof broken);
    broken[1] = 0x10;
    struct recorder r = {0};
    pb_deframer_feed_at(d, broken, sizeof broken, 1000000, rec_cb, &r);
    assert_int_equal(r.n, 0);
    /* The repeat right behind it (no silence): still inside the long frame. */
    pb_deframer_feed_at(d, MISPOS_SALE, 5, 1000000 + PB_FRAME_GAP_US / 2, rec_cb, &r);
    assert_int_equal(r.n, 0);
    /* A real repeat after the ACK timeout. */
    int64_t later = 1000000 + PB_FRAME_GAP_US / 2 + PB_FRAME_GAP_US + 1;
    pb_deframer_feed_at(d, MISPOS_SALE, sizeof MISPOS_SALE, later, rec_cb, &r);
    size_t garbage = 0, frames = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.ev[i].type == PB_FRAME_GARBAGE)
            garbage += r.ev[i].length;
        else if (r.ev[i].type == PB_FRAME_DATA) {
            frames++;
            assert_int_equal(r.ev[i].length, sizeof MISPOS_SALE);
            assert_true(r.ev[i].checksum_ok);
        }
    }
    /* The broken frame and the 5 bytes behind it are garbage; the repeat is a frame. The
     * vector's own bytes inside the broken frame may decode too (its body is intact). */
    assert_true(frames >= 1);
    assert_int_equal(garbage + frames * sizeof MISPOS_SALE, sizeof broken + 5 + sizeof MISPOS_SALE);
    assert_int_equal(pb_deframer_stats(d)->bytes, sizeof broken + 5 + sizeof MISPOS_SALE);
    pb_deframer_free(d);
}

/* Expiry with nothing held does nothing; after it nothing is held, and the stream goes on
 * with contiguous offsets. */
static void test_expire_leaves_nothing_held(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    pb_deframer_expire(d, rec_cb, &r);
    assert_int_equal(r.n, 0);
    pb_deframer_feed(d, VEC_REQUEST, 20, rec_cb, &r); /* a request cut short */
    assert_int_equal(r.n, 0);
    pb_deframer_expire(d, rec_cb, &r);
    assert_int_equal(r.garbage, 20);
    pb_deframer_expire(d, rec_cb, &r);
    assert_int_equal(r.garbage, 20);
    pb_deframer_feed(d, VEC_REQUEST, sizeof VEC_REQUEST, rec_cb, &r);
    assert_int_equal(r.ev[r.n - 1].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[r.n - 1].offset, 20);
}

static void test_long_garbage_streams_through(void **state)
{
    struct pb_deframer *d = *state;
    struct recorder r = {0};
    /* 10 kB of banner text fed in 100-byte chunks never blocks the frame behind it. */
    uint8_t chunk[100];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 100; i++) {
        r.n = 0; /* the recorder keeps only the last events */
        pb_deframer_feed(d, chunk, sizeof chunk, rec_cb, &r);
    }
    pb_deframer_feed(d, VEC_REQUEST, sizeof VEC_REQUEST, rec_cb, &r);
    assert_int_equal(r.garbage, 10000);
    assert_int_equal(r.ev[r.n - 1].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[r.n - 1].offset, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_arguments),
        cmocka_unit_test_setup_teardown(test_offsets_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_reports_partial_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_forgets_but_keeps_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resync_after_false_stx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_garbage_streams_through, setup, teardown),
        cmocka_unit_test(test_gap_expires_broken_length),
        cmocka_unit_test_setup_teardown(test_expire_leaves_nothing_held, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
