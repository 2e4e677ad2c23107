/* Tests for sim/fault.c: parsing every fault family, triggers (one / every Nth /
 * probability), amount arithmetic and byte mangling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fault.h"
#include "pb_error.h"

#define EUR 978

/* Splits a spec into words (in place) and parses one fault. */
static int parse(const char *spec, struct sim_fault *f, struct sim_parse_error *e)
{
    static char buf[256];
    char *argv[32];
    int argc = 0;
    strncpy(buf, spec, sizeof buf - 1);
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
        argv[argc++] = t;
    return sim_fault_parse(argc, argv, EUR, f, e);
}

static void test_parse_amount_faults(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    assert_int_equal(parse("charge +1.00", &f, &e), 2);
    assert_int_equal(f.kind, SIM_FAULT_CHARGE);
    assert_int_equal(f.mode, SIM_CHARGE_DELTA);
    assert_int_equal(f.amount, 100);
    assert_int_equal(parse("charge -0.50", &f, &e), 2);
    assert_int_equal(f.amount, -50);
    assert_int_equal(parse("charge 21.00", &f, &e), 2);
    assert_int_equal(f.mode, SIM_CHARGE_SET);
    assert_int_equal(f.amount, 2100);
    assert_int_equal(parse("charge +10%", &f, &e), 2);
    assert_int_equal(f.mode, SIM_CHARGE_PERCENT);
    assert_int_equal(f.basis_points, 1000);
    assert_int_equal(parse("charge -2.5%", &f, &e), 2);
    assert_int_equal(f.basis_points, -250);
    assert_int_equal(parse("partial", &f, &e), 1);
    assert_int_equal(f.basis_points, 5000);
    assert_int_equal(parse("partial 4.00", &f, &e), 2);
    assert_int_equal(f.mode, SIM_CHARGE_SET);
    assert_int_equal(f.amount, 400);
}

static void test_parse_outcome_faults(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    assert_int_equal(parse("decline", &f, &e), 1);
    assert_int_equal(f.code, 0x05);
    assert_int_equal(parse("decline 6f", &f, &e), 2);
    assert_int_equal(f.code, 0x6F);
    assert_int_equal(parse("abort", &f, &e), 1);
    assert_int_equal(f.code, 0x6C);
    assert_int_equal(parse("delay 1.5s", &f, &e), 2);
    assert_int_equal(f.ms, 1500);
    assert_int_equal(parse("power-cycle 2s late", &f, &e), 3);
    assert_true(f.late);
    assert_int_equal(f.ms, 2000);
    assert_int_equal(parse("currency USD", &f, &e), 2);
    assert_int_equal(f.code, 840);
    assert_int_equal(parse("currency 826", &f, &e), 2);
    assert_int_equal(f.code, 826);
    assert_int_equal(parse("pos 07", &f, &e), 2);
    assert_string_equal(f.text, "07");
    assert_int_equal(parse("type refund", &f, &e), 2);
    assert_int_equal(f.txn_type, PB_TXN_REFUND);
    assert_int_equal(parse("no-answer", &f, &e), 1);
    assert_int_equal(f.kind, SIM_FAULT_NO_ANSWER);
}

static void test_parse_transport_and_sides(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    assert_int_equal(parse("nak 2 times 3", &f, &e), 4);
    assert_int_equal(f.kind, SIM_FAULT_NAK);
    assert_int_equal(f.side, SIM_SIDE_PT);
    assert_int_equal(f.nth, 2);
    assert_int_equal(f.times, 3);
    assert_int_equal(parse("ecr-nak", &f, &e), 1);
    assert_int_equal(f.side, SIM_SIDE_ECR);
    assert_int_equal(f.nth, 1);
    assert_int_equal(parse("slice 4 20ms", &f, &e), 3);
    assert_int_equal(f.bytes, 4);
    assert_int_equal(f.ms, 20);
    assert_int_equal(parse("latency 50ms 10ms", &f, &e), 3);
    assert_int_equal(f.jitter_ms, 10);
    assert_int_equal(parse("ecr-abort 3s", &f, &e), 2);
    assert_int_equal(f.kind, SIM_FAULT_ECR_ABORT);
    assert_int_equal(f.ms, 3000);
    /* the word after a fault that is no argument is left for the caller */
    assert_int_equal(parse("duplicate expect duplicate", &f, &e), 1);
    /* not a fault at all */
    assert_int_equal(parse("expect ok", &f, &e), 0);
}

static void test_parse_errors_name_the_word(void **state)
{
    static const struct {
        const char *spec;
        int word;
    } bad[] = {
        {"charge", 0},
        {"charge 1.234", 1},
        {"charge +5", -1},
        {"charge 10%", 1},
        {"delay 5", 1},
        {"delay", 0},
        {"decline zz", -1},
        {"currency XYZ", 1},
        {"pos 7", 1},
        {"nak 0", 1},
        {"nak times", 1},
        {"slice 0", 1},
        {"ecr-decline", 0},
        {"type nothing", 1},
        {"noise 1000", 1},
        {"latency 5ms every 0", 3},
        {"abort chance 200%", 2},
        {"nak at", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sim_fault f;
        struct sim_parse_error e = {-1, NULL};
        int r = parse(bad[i].spec, &f, &e);
        if (bad[i].word < 0) {
            /* "charge +5" is valid (5.00); "decline zz" leaves zz unparsed: neither fails */
            assert_true(r > 0);
            continue;
        }
        if (r != PB_ERR_SYNTAX)
            fail_msg("'%s' gave %d", bad[i].spec, r);
        assert_int_equal(e.word, bad[i].word);
        assert_non_null(e.msg);
    }
}

static void test_triggers(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    struct sim_rng r;
    sim_rng_seed(&r, 5);
    assert_int_equal(parse("no-answer at 3", &f, &e), 3);
    for (unsigned t = 1; t <= 6; t++)
        assert_int_equal(sim_fault_fires(&f, t, &r), t == 3);
    assert_int_equal(parse("no-answer every 2", &f, &e), 3);
    for (unsigned t = 1; t <= 6; t++)
        assert_int_equal(sim_fault_fires(&f, t, &r), t % 2 == 0);
    assert_int_equal(parse("no-answer", &f, &e), 1);
    assert_true(sim_fault_fires(&f, 99, &r));
    assert_int_equal(parse("no-answer chance 30%", &f, &e), 3);
    assert_int_equal(f.ppm, 300000);
    int hits = 0;
    for (unsigned t = 1; t <= 10000; t++)
        hits += sim_fault_fires(&f, t, &r);
    assert_true(hits > 2800 && hits < 3200);
    /* the same seed picks the same transactions */
    struct sim_rng a, b;
    sim_rng_seed(&a, 77);
    sim_rng_seed(&b, 77);
    for (unsigned t = 1; t <= 200; t++)
        assert_int_equal(sim_fault_fires(&f, t, &a), sim_fault_fires(&f, t, &b));
}

static void test_plan_select_by_side(void **state)
{
    struct sim_fault list[3];
    struct sim_parse_error e;
    assert_true(parse("charge +1.00 every 2", &list[0], &e) > 0);
    assert_true(parse("ecr-nak at 1", &list[1], &e) > 0);
    assert_true(parse("decline at 3", &list[2], &e) > 0);
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    struct sim_plan p;
    sim_plan_clear(&p);
    sim_plan_select(&p, list, 3, SIM_SIDE_PT, 1, &r);
    assert_int_equal(p.n, 0);
    sim_plan_select(&p, list, 3, SIM_SIDE_ECR, 1, &r);
    assert_int_equal(p.n, 1);
    assert_non_null(sim_plan_find(&p, SIM_FAULT_NAK));
    sim_plan_clear(&p);
    sim_plan_select(&p, list, 3, SIM_SIDE_PT, 2, &r);
    assert_int_equal(p.n, 1);
    assert_int_equal(sim_plan_charged(&p, 2000, NULL), 2100);
}

static void test_charged_arithmetic(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    struct sim_plan p;
    bool partial;
    sim_plan_clear(&p);
    assert_int_equal(sim_plan_charged(&p, 1250, &partial), 1250);
    assert_false(partial);
    parse("charge +10%", &f, &e);
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_charged(&p, 999, NULL), 1099); /* 1098.9 rounds up */
    sim_plan_clear(&p);
    parse("charge -20.00", &f, &e);
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_charged(&p, 500, NULL), 0); /* never negative */
    sim_plan_clear(&p);
    parse("partial", &f, &e);
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_charged(&p, 1001, &partial), 501);
    assert_true(partial);
    sim_plan_clear(&p);
    parse("partial 30.00", &f, &e); /* more than requested: stays the requested amount */
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_charged(&p, 1000, &partial), 1000);
}

static void test_mangle(void **state)
{
    const uint8_t frame[] = {0x10, 0x02, 0x06, 0x0F, 0x00, 0x10, 0x03, 0xC6, 0x33};
    uint8_t out[32];
    struct sim_fault f;
    struct sim_parse_error e;
    struct sim_plan p;
    struct sim_rng r;
    sim_rng_seed(&r, 9);

    sim_plan_clear(&p);
    assert_int_equal(sim_plan_mangle(&p, &r, 1, 1, frame, sizeof frame, out, sizeof out),
                     sizeof frame);
    assert_memory_equal(out, frame, sizeof frame);

    parse("bad-checksum 2 times 2", &f, &e);
    sim_plan_add(&p, &f);
    sim_plan_mangle(&p, &r, 1, 1, frame, sizeof frame, out, sizeof out);
    assert_memory_equal(out, frame, sizeof frame); /* frame 1: untouched */
    sim_plan_mangle(&p, &r, 2, 2, frame, sizeof frame, out, sizeof out);
    assert_int_equal(out[8], 0x33 ^ 0x5A);
    assert_memory_equal(out, frame, sizeof frame - 1);
    sim_plan_mangle(&p, &r, 2, 3, frame, sizeof frame, out, sizeof out);
    assert_memory_equal(out, frame, sizeof frame); /* third try gets through */

    sim_plan_clear(&p);
    parse("drop-byte", &f, &e);
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_mangle(&p, &r, 1, 1, frame, sizeof frame, out, sizeof out),
                     sizeof frame - 1);
    assert_int_equal(sim_plan_mangle(&p, &r, 1, 2, frame, sizeof frame, out, sizeof out),
                     sizeof frame);

    sim_plan_clear(&p);
    parse("insert-byte", &f, &e);
    sim_plan_add(&p, &f);
    assert_int_equal(sim_plan_mangle(&p, &r, 1, 1, frame, sizeof frame, out, sizeof out),
                     sizeof frame + 1);
    assert_int_equal(out[0], 0x10);

    sim_plan_clear(&p);
    parse("flip-bit", &f, &e);
    sim_plan_add(&p, &f);
    sim_plan_mangle(&p, &r, 1, 1, frame, sizeof frame, out, sizeof out);
    int bits = 0;
    for (size_t i = 0; i < sizeof frame; i++)
        bits += __builtin_popcount(out[i] ^ frame[i]);
    assert_int_equal(bits, 1);
}

static void test_nak_and_withhold(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    struct sim_plan p;
    sim_plan_clear(&p);
    parse("nak 1 times 2", &f, &e);
    sim_plan_add(&p, &f);
    assert_true(sim_plan_naks(&p, 1, 1));
    assert_true(sim_plan_naks(&p, 1, 2));
    assert_false(sim_plan_naks(&p, 1, 3));
    assert_false(sim_plan_naks(&p, 2, 1));
    assert_false(sim_plan_withholds_ack(&p, 1, 1));
}

/* ecr-lose-ack: the register's fault only; the plan says which arrivals lose their ACK. */
static void test_lose_ack(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    struct sim_plan p;
    assert_int_equal(parse("ecr-lose-ack 2 times 3", &f, &e), 4);
    assert_int_equal(f.kind, SIM_FAULT_LOSE_ACK);
    assert_int_equal(f.side, SIM_SIDE_ECR);
    char text[96];
    sim_fault_format(&f, EUR, text, sizeof text);
    assert_string_equal(text, "ecr-lose-ack 2 times 3");
    sim_plan_clear(&p);
    sim_plan_add(&p, &f);
    assert_false(sim_plan_loses_ack(&p, 1, 1));
    assert_true(sim_plan_loses_ack(&p, 2, 1));
    assert_true(sim_plan_loses_ack(&p, 2, 3));
    assert_false(sim_plan_loses_ack(&p, 2, 4));
    assert_false(sim_plan_withholds_ack(&p, 2, 1));
    /* the terminal has no such fault: its lost ACK is withhold-ack; said so */
    assert_true(parse("lose-ack", &f, &e) < 0);
    assert_non_null(strstr(e.msg, "ecr-lose-ack"));
}

/* ecr-goods: the register's issue-of-goods verdicts, with their arguments. */
static void test_goods(void **state)
{
    struct sim_fault f;
    struct sim_parse_error e;
    char text[96];
    assert_int_equal(parse("ecr-goods partial 32.10", &f, &e), 3);
    assert_int_equal(f.kind, SIM_FAULT_GOODS);
    assert_int_equal(f.code, SIM_GOODS_PARTIAL);
    assert_int_equal(f.amount, 3210);
    sim_fault_format(&f, EUR, text, sizeof text);
    assert_string_equal(text, "ecr-goods partial 32.10");
    assert_int_equal(parse("ecr-goods wait 3", &f, &e), 3);
    assert_int_equal(f.code, SIM_GOODS_WAIT);
    assert_int_equal(f.times, 3);
    assert_int_equal(parse("ecr-goods wait expect ok", &f, &e), 2);
    assert_int_equal(f.times, 1);
    assert_int_equal(parse("ecr-goods none", &f, &e), 2);
    assert_int_equal(f.code, SIM_GOODS_NONE);
    assert_int_equal(parse("no-reversal", &f, &e), 1);
    assert_int_equal(f.kind, SIM_FAULT_NO_REVERSAL);
    assert_true(parse("ecr-goods", &f, &e) < 0);
    assert_true(parse("ecr-goods partial", &f, &e) < 0);
    assert_true(parse("ecr-goods partial -1.00", &f, &e) < 0);
    assert_true(parse("ecr-goods wait 0", &f, &e) < 0);
    assert_true(parse("ecr-goods maybe", &f, &e) < 0);
    assert_non_null(strstr(e.msg, "partial AMOUNT"));
}

static void test_durations_and_format(void **state)
{
    uint32_t ms;
    assert_int_equal(sim_duration_parse("250ms", &ms), PB_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(sim_duration_parse("2m", &ms), PB_OK);
    assert_int_equal(ms, 120000);
    assert_int_equal(sim_duration_parse("0.25s", &ms), PB_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(sim_duration_parse("5", &ms), PB_ERR_SYNTAX);
    assert_int_equal(sim_duration_parse("1.5ms", &ms), PB_ERR_SYNTAX);
    assert_true(sim_duration_parse("999999s", &ms) < 0);
    struct sim_fault f;
    struct sim_parse_error e;
    char buf[80];
    parse("ecr-nak 2 times 3 every 4", &f, &e);
    sim_fault_format(&f, EUR, buf, sizeof buf);
    assert_string_equal(buf, "ecr-nak 2 times 3 every 4");
    parse("charge +1.00", &f, &e);
    sim_fault_format(&f, EUR, buf, sizeof buf);
    assert_string_equal(buf, "charge +1.00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_amount_faults),
        cmocka_unit_test(test_parse_outcome_faults),
        cmocka_unit_test(test_parse_transport_and_sides),
        cmocka_unit_test(test_parse_errors_name_the_word),
        cmocka_unit_test(test_triggers),
        cmocka_unit_test(test_plan_select_by_side),
        cmocka_unit_test(test_charged_arithmetic),
        cmocka_unit_test(test_mangle),
        cmocka_unit_test(test_nak_and_withhold),
        cmocka_unit_test(test_lose_ack),
        cmocka_unit_test(test_goods),
        cmocka_unit_test(test_durations_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
