/* Tests for protocols/detect.c: every registered protocol's traffic, built with its own
 * encoder, is recognised from either direction, whole or byte by byte; random bytes and
 * silence are recognised as nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

/* One exchange of p: a purchase request (ECR) and an approved result (PT). */
struct lane {
    uint8_t ecr[512], pt[512];
    size_t n_ecr, n_pt;
};

static void build(const struct pb_protocol *p, struct lane *l)
{
    struct pos_msg m;
    pb_msg_init(&m);
    m.proto = p;
    m.kind = PB_KIND_REQUEST;
    m.dir = PB_DIR_ECR;
    m.txn = PB_TXN_PURCHASE;
    m.amount = 1250;
    m.flags = PB_F_AMOUNT | PB_F_CURRENCY;
    m.currency = strcmp(p->name, "mispos") == 0 ? 156 : 978;
    if (strcmp(p->name, "pax") == 0)
        m.flags &= ~(uint32_t)PB_F_CURRENCY;
    snprintf(m.pos_id, sizeof m.pos_id, "01");
    int n = p->encode(&m, l->ecr, sizeof l->ecr);
    assert_true(n > 0);
    l->n_ecr = (size_t)n;
    m.kind = PB_KIND_RESULT;
    m.dir = PB_DIR_PT;
    m.result = PB_RESULT_APPROVED;
    snprintf(m.result_text, sizeof m.result_text, "%s",
             strcmp(p->name, "pax") == 0      ? "000000"
             : strcmp(p->name, "mispos") == 0 ? "00"
                                              : "");
    n = p->encode(&m, l->pt, sizeof l->pt);
    if (n == PB_ERR_UNSUPPORTED && strcmp(p->name, "zvt") == 0) {
        /* ZVT's result is a status information; fall back to a completion */
        m.kind = PB_KIND_COMPLETION;
        n = p->encode(&m, l->pt, sizeof l->pt);
    }
    assert_true(n > 0);
    l->n_pt = (size_t)n;
}

static uint64_t rng_state;
static uint8_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

static void test_each_protocol_whole(void **state)
{
    (void)state;
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++) {
        struct lane l;
        build(*p, &l);
        const struct pb_protocol *got;
        int conf;
        /* register side alone, terminal side alone */
        assert_int_equal(pb_detect(l.ecr, l.n_ecr, &got, &conf), PB_OK);
        assert_ptr_equal(got, *p);
        assert_true(conf >= PB_DETECT_DECIDE_AT);
        assert_int_equal(pb_detect(l.pt, l.n_pt, &got, &conf), PB_OK);
        assert_ptr_equal(got, *p);
        /* behind a banner and with an ACK */
        uint8_t buf[1024];
        size_t n = 0;
        memcpy(buf, "READY\r\n\x06", 8);
        n = 8;
        memcpy(buf + n, l.ecr, l.n_ecr);
        n += l.n_ecr;
        assert_int_equal(pb_detect(buf, n, &got, &conf), PB_OK);
        assert_ptr_equal(got, *p);
    }
}

static void test_each_protocol_streaming(void **state)
{
    (void)state;
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++) {
        struct lane l;
        build(*p, &l);
        struct pb_detector *d;
        assert_int_equal(pb_detector_new(NULL, &d), PB_OK);
        /* byte at a time, the ECR request, then the PT answer */
        enum pb_detect_state st = PB_DETECT_PENDING;
        size_t fed = 0;
        for (size_t i = 0; i < l.n_ecr && st == PB_DETECT_PENDING; i++, fed++)
            st = pb_detector_feed(d, PB_DIR_ECR, l.ecr + i, 1);
        for (size_t i = 0; i < l.n_pt && st == PB_DETECT_PENDING; i++)
            st = pb_detector_feed(d, PB_DIR_PT, l.pt + i, 1);
        if (st == PB_DETECT_PENDING)
            st = pb_detector_finish(d);
        assert_int_equal(st, PB_DETECT_FOUND);
        int conf;
        assert_ptr_equal(pb_detector_result(d, &conf), *p);
        assert_true(conf >= PB_DETECT_THRESHOLD);
        /* what it saw is the stream's beginning, to replay */
        const uint8_t *seen;
        size_t k = pb_detector_seen(d, PB_DIR_ECR, &seen);
        assert_int_equal(k, fed);
        assert_memory_equal(seen, l.ecr, k);
        assert_int_equal(pb_detector_total(d, PB_DIR_ECR), fed);
        /* decided: more bytes change nothing */
        assert_int_equal(pb_detector_feed(d, PB_DIR_PT, (const uint8_t *)"xyz", 3),
                         PB_DETECT_FOUND);
        pb_detector_free(d);
    }
}

static void test_terminal_side_only(void **state)
{
    (void)state;
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++) {
        struct lane l;
        build(*p, &l);
        struct pb_detector *d;
        assert_int_equal(pb_detector_new(NULL, &d), PB_OK);
        pb_detector_feed(d, PB_DIR_PT, l.pt, l.n_pt);
        assert_int_equal(pb_detector_finish(d), PB_DETECT_FOUND);
        assert_ptr_equal(pb_detector_result(d, NULL), *p);
        pb_detector_free(d);
    }
}

static void test_random_bytes_are_none(void **state)
{
    (void)state;
    uint8_t buf[PB_DETECT_WINDOW];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        rng_state = seed * 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = rnd();
        const struct pb_protocol *got = (const void *)1;
        int conf;
        assert_int_equal(pb_detect(buf, sizeof buf, &got, &conf), PB_ERR_NOTFOUND);
        assert_null(got);
        assert_true(conf < PB_DETECT_THRESHOLD);
        /* streaming: the window fills and it says none, in chunks of 100 */
        struct pb_detector *d;
        assert_int_equal(pb_detector_new(NULL, &d), PB_OK);
        enum pb_detect_state st = PB_DETECT_PENDING;
        for (size_t i = 0; i < sizeof buf && st == PB_DETECT_PENDING; i += 100)
            st = pb_detector_feed(d, PB_DIR_ECR, buf + i,
                                  sizeof buf - i < 100 ? sizeof buf - i : 100);
        assert_int_equal(st, PB_DETECT_NONE);
        assert_null(pb_detector_result(d, NULL));
        pb_detector_free(d);
    }
}

static void test_silence_and_edges(void **state)
{
    (void)state;
    const struct pb_protocol *got;
    int conf = -1;
    assert_int_equal(pb_detect(NULL, 0, &got, &conf), PB_ERR_NOTFOUND);
    assert_int_equal(conf, 0);
    assert_int_equal(pb_detect((const uint8_t *)"", 0, NULL, NULL), PB_ERR_INVAL);
    /* a lone ACK names nothing */
    assert_int_equal(pb_detect((const uint8_t *)"\x06", 1, &got, &conf), PB_ERR_NOTFOUND);
    struct pb_detector *d;
    assert_int_equal(pb_detector_new(NULL, &d), PB_OK);
    assert_int_equal(pb_detector_state(d), PB_DETECT_PENDING);
    assert_int_equal(pb_detector_feed(d, PB_DIR_ECR, NULL, 0), PB_DETECT_PENDING);
    assert_int_equal(pb_detector_finish(d), PB_DETECT_NONE);
    pb_detector_free(d);
    pb_detector_free(NULL);
    assert_int_equal(pb_detector_new(NULL, NULL), PB_ERR_INVAL);
}

/* The chunk that fills the window is kept only up to the window; total says how much. */
static void test_window_overflow(void **state)
{
    (void)state;
    struct pb_detect_opts o = {.window = 64};
    struct pb_detector *d;
    assert_int_equal(pb_detector_new(&o, &d), PB_OK);
    uint8_t junk[100];
    memset(junk, 'z', sizeof junk);
    assert_int_equal(pb_detector_feed(d, PB_DIR_PT, junk, 40), PB_DETECT_PENDING);
    assert_int_equal(pb_detector_feed(d, PB_DIR_PT, junk, 60), PB_DETECT_NONE);
    const uint8_t *seen;
    assert_int_equal(pb_detector_seen(d, PB_DIR_PT, &seen), 64);
    assert_int_equal(pb_detector_total(d, PB_DIR_PT), 100);
    assert_int_equal(pb_detector_seen(d, PB_DIR_ECR, &seen), 0);
    pb_detector_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_protocol_whole),
        cmocka_unit_test(test_each_protocol_streaming),
        cmocka_unit_test(test_terminal_side_only),
        cmocka_unit_test(test_random_bytes_are_none),
        cmocka_unit_test(test_silence_and_edges),
        cmocka_unit_test(test_window_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
