/* Tests for sim/wire.c: output timing (latency, jitter keeps order, slicing, baud
 * pacing), noise bytes, drop-link cut, and input dropped while the line is cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pb_error.h"
#include "protocol.h"
#include "wire.h"

struct sink {
    uint8_t buf[4096];
    size_t len;
    int64_t at[4096]; /* time each byte was written */
    int64_t now;
    int writes;
};

static ssize_t sink_write(void *ctx, const uint8_t *b, size_t n)
{
    struct sink *s = ctx;
    for (size_t i = 0; i < n && s->len < sizeof s->buf; i++) {
        s->at[s->len] = s->now;
        s->buf[s->len++] = b[i];
    }
    s->writes++;
    return (ssize_t)n;
}

/* Runs the wire's queue to the end, jumping from deadline to deadline. */
static void drain(struct sim_wire *w, struct sink *s)
{
    for (int i = 0; i < 10000; i++) {
        int64_t d = sim_wire_next_deadline(w);
        if (d < 0)
            return;
        if (d > s->now)
            s->now = d;
        sim_wire_flush(w, s->now);
    }
    fail_msg("queue never drained");
}

static const uint8_t FRAME[] = {0x10, 0x02, 0x06, 0x0F, 0x00, 0x10, 0x03, 0xC6, 0x33};

static struct sim_plan plan_of(const char *spec)
{
    static char buf[128];
    char *argv[16];
    int argc = 0;
    strncpy(buf, spec, sizeof buf - 1);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        argv[argc++] = t;
    struct sim_plan p;
    sim_plan_clear(&p);
    struct sim_fault f;
    struct sim_parse_error e;
    for (int i = 0; i < argc;) {
        int n = sim_fault_parse(argc - i, argv + i, 978, &f, &e);
        assert_true(n > 0);
        sim_plan_add(&p, &f);
        i += n;
    }
    return p;
}

static const struct pb_protocol *zvt(void)
{
    const struct pb_protocol *p = pb_protocol_find("zvt");
    if (!p)
        skip();
    return p;
}

static void test_plain_and_latency(void **state)
{
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    static struct sink s;
    memset(&s, 0, sizeof s);
    struct sim_wire *w;
    assert_int_equal(sim_wire_new(zvt(), &r, sink_write, &s, &w), PB_OK);
    sim_wire_send_frame(w, FRAME, sizeof FRAME, 1, 1, 0, 0);
    assert_int_equal(sim_wire_next_deadline(w), 0);
    drain(w, &s);
    assert_int_equal(s.len, sizeof FRAME);
    assert_memory_equal(s.buf, FRAME, sizeof FRAME);
    assert_int_equal(s.writes, 1);
    assert_true(sim_wire_idle(w));

    struct sim_plan p = plan_of("latency 50ms 40ms");
    sim_wire_set_plan(w, &p);
    s.len = 0;
    s.now = 1000000;
    for (int i = 0; i < 50; i++)
        sim_wire_send_control(w, (uint8_t)i, 1000000 + i * 1000);
    drain(w, &s);
    assert_int_equal(s.len, 50);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(s.buf[i], i); /* jitter never reorders bytes */
        assert_true(s.at[i] >= 1000000 + 10000 + i * 1000);
        if (i)
            assert_true(s.at[i] >= s.at[i - 1]);
    }
    assert_true(s.at[0] <= 1000000 + 90000);
    sim_wire_free(w);
}

static void test_slice_and_pace(void **state)
{
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    static struct sink s;
    memset(&s, 0, sizeof s);
    struct sim_wire *w;
    assert_int_equal(sim_wire_new(zvt(), &r, sink_write, &s, &w), PB_OK);
    struct sim_plan p = plan_of("slice 4 20ms");
    sim_wire_set_plan(w, &p);
    sim_wire_send_frame(w, FRAME, sizeof FRAME, 1, 1, 0, 0);
    drain(w, &s);
    assert_int_equal(s.writes, 3); /* 4 + 4 + 1 bytes */
    assert_int_equal(s.at[0], 0);
    assert_int_equal(s.at[4], 20000);
    assert_int_equal(s.at[8], 40000);
    assert_memory_equal(s.buf, FRAME, sizeof FRAME);

    /* 9600 baud, 8N1: 10 bits a byte, 1042 us each */
    memset(&s, 0, sizeof s);
    s.now = 100000;
    sim_wire_set_plan(w, NULL);
    sim_wire_set_pace(w, 9600, 10);
    sim_wire_send_frame(w, FRAME, sizeof FRAME, 1, 1, 0, 100000);
    /* queued behind the frame: waits for the line */
    sim_wire_send_control(w, PB_ACK, 100000);
    drain(w, &s);
    assert_int_equal(s.len, sizeof FRAME + 1);
    assert_int_equal(s.writes, (int)sizeof FRAME + 1);
    assert_int_equal(s.at[0], 100000);
    for (size_t i = 1; i < s.len; i++)
        assert_int_equal(s.at[i] - s.at[i - 1], 1042);
    sim_wire_free(w);
}

static void test_noise_and_cut(void **state)
{
    struct sim_rng r;
    sim_rng_seed(&r, 2);
    static struct sink s;
    memset(&s, 0, sizeof s);
    struct sim_wire *w;
    assert_int_equal(sim_wire_new(zvt(), &r, sink_write, &s, &w), PB_OK);
    struct sim_plan p = plan_of("noise 5");
    sim_wire_set_plan(w, &p);
    sim_wire_send_frame(w, FRAME, sizeof FRAME, 1, 1, 0, 0);
    drain(w, &s);
    assert_int_equal(s.len, 5 + sizeof FRAME);
    for (int i = 0; i < 5; i++)
        assert_true(s.buf[i] >= 0x80 && s.buf[i] <= 0xFE);
    assert_memory_equal(s.buf + 5, FRAME, sizeof FRAME);

    /* drop-link: only the first bytes leave, then the line is dead both ways */
    memset(&s, 0, sizeof s);
    sim_wire_set_plan(w, NULL);
    sim_wire_send_frame(w, FRAME, sizeof FRAME, 1, 1, 4, 0);
    sim_wire_flush(w, 0);
    sim_wire_cut(w, 500000);
    assert_int_equal(s.len, 4);
    assert_true(sim_wire_is_cut(w, 499999));
    assert_false(sim_wire_is_cut(w, 500000));
    sim_wire_send_control(w, PB_ACK, 1000);
    assert_true(sim_wire_idle(w)); /* mute while cut */
    sim_wire_send_control(w, PB_ACK, 500000);
    assert_false(sim_wire_idle(w));
    sim_wire_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_latency),
        cmocka_unit_test(test_slice_and_pace),
        cmocka_unit_test(test_noise_and_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
