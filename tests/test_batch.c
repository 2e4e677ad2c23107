/* Tests for lane/batch.c: the terminal's batch between two ends of day against the
 * approvals seen, as the live pipeline and `posbridge report` both use it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "batch.h"
#include "pb_error.h"

static struct pb_batch_fact fact(uint64_t key, enum pb_txn_type type, enum pb_class cls,
                                 int64_t requested, bool approved, int64_t charged)
{
    return (struct pb_batch_fact){.key = key, .id = (int64_t)key, .type = type, .cls = cls,
                                  .result = approved ? PB_RESULT_APPROVED : PB_RESULT_NONE,
                                  .has_charged = approved, .charged = charged,
                                  .currency = 978, .has_requested = requested > 0,
                                  .requested = requested, .requested_currency = 978};
}

static struct pb_batch_fact eod(uint64_t key, bool approved, int64_t total)
{
    return fact(key, PB_TXN_END_OF_DAY, PB_CLASS_OK, 0, approved, total);
}

/* Sales, a refund, an in_doubt, a sale voided later (its second fact replaces the first):
 * only what stayed approved counts; the in_doubt is listed with what was asked. */
static void test_batch_sums_and_replacements(void **state)
{
    (void)state;
    struct pb_batch *b = pb_batch_new(100);
    assert_non_null(b);
    struct pb_batch_result r;
    struct pb_batch_fact f = fact(1, PB_TXN_PURCHASE, PB_CLASS_OK, 300, true, 300);
    assert_int_equal(pb_batch_add(b, &f, &r), 0); /* before any end of day: not counted */
    f = eod(2, true, 999);
    assert_int_equal(pb_batch_add(b, &f, &r), 0); /* the first end of day only opens */
    f = fact(3, PB_TXN_PURCHASE, PB_CLASS_OK, 1000, true, 1000);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = fact(4, PB_TXN_PURCHASE, PB_CLASS_IN_DOUBT, 700, false, 0);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = fact(5, PB_TXN_REFUND, PB_CLASS_OK, 200, true, 200);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = fact(6, PB_TXN_PURCHASE, PB_CLASS_OK, 500, true, 500);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f.cls = PB_CLASS_VOIDED; /* the void's reclassification of sale 6 */
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = fact(7, PB_TXN_PURCHASE, PB_CLASS_DECLINED, 900, false, 0);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = eod(8, false, 0); /* a failed end of day closes nothing */
    assert_int_equal(pb_batch_add(b, &f, &r), 0);

    f = eod(9, true, 1500);
    assert_int_equal(pb_batch_add(b, &f, &r), 1);
    assert_int_equal(r.eod_id, 9);
    assert_int_equal(r.terminal, 1500);
    assert_int_equal(r.bridge, 800); /* 10.00 - 2.00 */
    assert_int_equal(r.approvals, 2);
    assert_int_equal(r.n_doubt, 1);
    assert_int_equal(r.doubt_id[0], 4);
    assert_int_equal(r.doubt_sum, 700);
    assert_false(pb_batch_matches(&r));
    char v[300];
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "MISMATCH: the terminal charged the in_doubt sale(s) #4 7.00 EUR");

    /* the next batch starts empty */
    f = eod(10, true, 0);
    assert_int_equal(pb_batch_add(b, &f, &r), 1);
    assert_int_equal(r.bridge, 0);
    assert_int_equal(r.n_doubt, 0);
    assert_true(pb_batch_matches(&r));
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "ok");
    pb_batch_free(b);
}

/* More transactions than the accumulator may keep: that batch is not compared, the next
 * one is. */
static void test_batch_overflow(void **state)
{
    (void)state;
    struct pb_batch *b = pb_batch_new(2);
    struct pb_batch_result r;
    struct pb_batch_fact f = eod(1, true, 0);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    for (uint64_t k = 2; k < 5; k++) {
        f = fact(k, PB_TXN_PURCHASE, PB_CLASS_OK, 100, true, 100);
        assert_int_equal(pb_batch_add(b, &f, &r), 0);
    }
    f = eod(5, true, 300);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = fact(6, PB_TXN_PURCHASE, PB_CLASS_OK, 100, true, 100);
    assert_int_equal(pb_batch_add(b, &f, &r), 0);
    f = eod(7, true, 100);
    assert_int_equal(pb_batch_add(b, &f, &r), 1);
    assert_true(pb_batch_matches(&r));
    pb_batch_free(b);
    pb_batch_free(NULL);
    assert_int_equal(pb_batch_add(NULL, &f, &r), 0);
}

/* The verdict's other sentences. */
static void test_batch_verdicts(void **state)
{
    (void)state;
    char v[300];
    struct pb_batch_result r = {.currency = 978, .has_total = true, .terminal = 500, .bridge = 800};
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "MISMATCH: approvals the terminal did not count");
    r.terminal = 1100;
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "MISMATCH: charges the bridge did not see approved");
    r.n_doubt = 1;
    r.doubt_id[0] = 3;
    r.doubt_amount[0] = r.doubt_sum = 600;
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "MISMATCH: charges the bridge did not see approved; in_doubt here: #3 6.00 EUR");
    r.terminal = 800;
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "ok; the in_doubt sale(s) #3 6.00 EUR were not charged");
    r.has_total = false;
    pb_batch_verdict(&r, v, sizeof v);
    assert_string_equal(v, "not compared: the terminal reported no total");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_sums_and_replacements),
        cmocka_unit_test(test_batch_overflow),
        cmocka_unit_test(test_batch_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
