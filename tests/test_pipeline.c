/* Tests for bridge/pipeline.c's transaction formatting: the amounts people read in
 * alerts, `posbridge decode` and `posbridge monitor`, and the JSON of events.jsonl and
 * the alert program. (The pipeline's forwarding and capture are tested end to end.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "pipeline.h"

static struct pb_txn sale(int64_t requested, uint16_t req_ccy, int64_t charged, uint16_t ccy)
{
    struct pb_txn t = {.id = 9, .protocol = "concert", .type = PB_TXN_PURCHASE,
                       .cls = PB_CLASS_CURRENCY_MISMATCH, .result_code = -1};
    t.has_requested = true;
    t.requested = requested;
    t.requested_currency = req_ccy;
    t.has_charged = true;
    t.charged = charged;
    t.currency = ccy;
    return t;
}

/* A terminal answering in USD to a request in EUR: each amount keeps its currency. */
static void test_amounts_each_in_own_currency(void **state)
{
    (void)state;
    struct pb_txn t = sale(700, 978, 700, 840);
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    pb_txn_format_amounts(&t, req, chg);
    assert_string_equal(req, "7.00 EUR");
    assert_string_equal(chg, "7.00 USD");
}

/* A request without a currency (some protocols name none) reads in the answer's, and an
 * answer without one in the request's. */
static void test_amounts_borrow_missing_currency(void **state)
{
    (void)state;
    struct pb_txn t = sale(1250, 0, 1250, 978);
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    pb_txn_format_amounts(&t, req, chg);
    assert_string_equal(req, "12.50 EUR");
    assert_string_equal(chg, "12.50 EUR");
    t = sale(300, 826, 300, 0);
    pb_txn_format_amounts(&t, req, chg);
    assert_string_equal(req, "3.00 GBP");
    assert_string_equal(chg, "3.00 GBP");
}

/* No answer yet (in_doubt): the charged amount is "-", never 0.00. */
static void test_amounts_absent(void **state)
{
    (void)state;
    struct pb_txn t = sale(500, 978, 0, 0);
    t.has_charged = false;
    char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
    pb_txn_format_amounts(&t, req, chg);
    assert_string_equal(req, "5.00 EUR");
    assert_string_equal(chg, "-");
    t.has_requested = false;
    pb_txn_format_amounts(&t, req, chg);
    assert_string_equal(req, "-");
}

/* The JSON keeps both currencies apart too. */
static void test_json_currencies(void **state)
{
    (void)state;
    struct pb_txn t = sale(700, 978, 700, 840);
    json_t *o = pb_txn_json(&t);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "requested_currency")), 978);
    assert_int_equal(json_integer_value(json_object_get(o, "currency")), 840);
    assert_int_equal(json_integer_value(json_object_get(o, "requested_amount")), 700);
    assert_string_equal(json_string_value(json_object_get(o, "class")), "currency_mismatch");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts_each_in_own_currency),
        cmocka_unit_test(test_amounts_borrow_missing_currency),
        cmocka_unit_test(test_amounts_absent),
        cmocka_unit_test(test_json_currencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
