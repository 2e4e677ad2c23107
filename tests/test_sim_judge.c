/* The judge (sim/judge.h): rows matched to steps by content, the rows no step claims
 * named as strays, and failures said in the scenario's currency. Rows are built here by
 * hand, as the journal or the pipeline would give them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "judge.h"
#include "pb_error.h"
#include "protocol.h"

static struct sim_scenario *scenario(const char *text)
{
    struct sim_scenario *s = NULL;
    char err[256];
    if (sim_scenario_parse("judge", text, strlen(text), &s, err, sizeof err) != PB_OK)
        fail_msg("scenario: %s", err);
    return s;
}

static struct sim_row row(uint64_t seq, enum pb_txn_type type, int64_t req, enum pb_class cls,
                          int64_t charged)
{
    struct sim_row r = {.seq = seq, .type = type, .on_request = true, .has_requested = req >= 0,
                        .requested = req, .cls = cls, .has_charged = charged >= 0,
                        .charged = charged, .duration_us = 1000};
    snprintf(r.detail, sizeof r.detail, "row %llu", (unsigned long long)seq);
    return r;
}

static void test_content_not_position(void **state)
{
    (void)state;
    const struct pb_protocol *p = pb_protocol_find("concert");
    struct sim_scenario *s = scenario("protocol concert\n"
                                      "sale 5.00 expect ok\n"
                                      "status\n"             /* a bare probe: no row */
                                      "end-of-day\n"         /* not played: no row */
                                      "refund 2.00 expect ok charged=2.00\n"
                                      "sale 7.00 expect overcharge charged=8.00\n");
    /* a stray answer before the refund's row; the duplicate of the first sale */
    struct sim_row rows[5] = {
        row(1, PB_TXN_PURCHASE, 500, PB_CLASS_OK, 500),
        row(2, PB_TXN_PURCHASE, -1, PB_CLASS_DUPLICATE, 500),
        row(3, PB_TXN_OTHER, -1, PB_CLASS_PROTOCOL_ERROR, 100),
        row(4, PB_TXN_REFUND, 200, PB_CLASS_OK, 200),
        row(5, PB_TXN_PURCHASE, 700, PB_CLASS_OVERCHARGE, 900),
    };
    rows[1].on_request = false;
    rows[1].related_seq = 1;
    rows[2].on_request = false;
    struct sim_verdict v[5];
    char stray[256];
    size_t n = sim_judge(p, s, rows, 5, v, stray, sizeof stray);
    assert_true(v[0].ok && v[0].has_row && v[0].row == 0);
    assert_int_equal(v[0].related_cls, PB_CLASS_DUPLICATE);
    assert_true(v[1].ok && !v[1].on_wire);
    assert_true(v[2].ok && !v[2].on_wire);
    assert_true(v[3].ok && v[3].row == 3);
    assert_false(v[4].ok);
    assert_non_null(strstr(v[4].why, "expected charged 8.00 EUR, recorded 9.00 EUR"));
    assert_int_equal(n, 1);
    assert_non_null(strstr(stray, "#3"));
    sim_scenario_free(s);
}

static void test_missing_row_and_amended_amount(void **state)
{
    (void)state;
    const struct pb_protocol *p = pb_protocol_find("zvt");
    struct sim_scenario *s = scenario("protocol zvt\n"
                                      "sale 50.00 expect ok charged=32.10\n"
                                      "sale 9.00 expect declined\n");
    /* the first row's amount was amended by the register (a partial issue of goods) */
    struct sim_row rows[1] = {row(1, PB_TXN_PURCHASE, 3210, PB_CLASS_OK, 3210)};
    struct sim_verdict v[2];
    size_t n = sim_judge(p, s, rows, 1, v, NULL, 0);
    assert_int_equal(n, 0);
    assert_true(v[0].ok);
    assert_false(v[1].ok);
    assert_non_null(strstr(v[1].why, "recorded no purchase"));
    sim_scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_not_position),
        cmocka_unit_test(test_missing_row_and_amended_amount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
