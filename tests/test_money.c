/* Tests for protocols/money.c: exponents, formatting, parsing, edges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "money.h"
#include "pb_error.h"

static void test_exponents(void **state)
{
    (void)state;
    assert_int_equal(pb_currency_exponent(978), 2);
    assert_int_equal(pb_currency_exponent(392), 0);
    assert_int_equal(pb_currency_exponent(414), 3);
    assert_int_equal(pb_currency_exponent(999), 2); /* unknown: assume 2 */
    assert_non_null(pb_currency_by_alpha("eur"));
    assert_int_equal(pb_currency_by_alpha("EUR")->numeric, 978);
    assert_null(pb_currency_by_alpha("XXQ"));
    assert_null(pb_currency_by_numeric(1));
}

static void test_format(void **state)
{
    (void)state;
    char b[PB_MONEY_FMT_MAX];
    pb_money_format(b, sizeof b, 1250, 978);
    assert_string_equal(b, "12.50 EUR");
    pb_money_format(b, sizeof b, 1250, 392);
    assert_string_equal(b, "1250 JPY");
    pb_money_format(b, sizeof b, 1250, 414);
    assert_string_equal(b, "1.250 KWD");
    pb_money_format(b, sizeof b, -5, 978);
    assert_string_equal(b, "-0.05 EUR");
    pb_money_format(b, sizeof b, 7, 0);
    assert_string_equal(b, "0.07");
    pb_money_format(b, sizeof b, 100, 999);
    assert_string_equal(b, "1.00 #999");
    pb_money_format(b, sizeof b, INT64_MIN, 978);
    assert_string_equal(b, "-92233720368547758.08 EUR");
    char small[4];
    assert_int_equal(pb_money_format(small, sizeof small, 1250, 978), PB_ERR_RANGE);
}

static void test_parse(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(pb_money_parse("12.50", 978, &v), PB_OK);
    assert_int_equal(v, 1250);
    assert_int_equal(pb_money_parse("12.5", 978, &v), PB_OK);
    assert_int_equal(v, 1250);
    assert_int_equal(pb_money_parse("12", 978, &v), PB_OK);
    assert_int_equal(v, 1200);
    assert_int_equal(pb_money_parse("1250", 392, &v), PB_OK);
    assert_int_equal(v, 1250);
    assert_int_equal(pb_money_parse("1.5", 392, &v), PB_ERR_SYNTAX);
    assert_int_equal(pb_money_parse("1.234", 414, &v), PB_OK);
    assert_int_equal(v, 1234);
    assert_int_equal(pb_money_parse("-0,05", 978, &v), PB_OK);
    assert_int_equal(v, -5);
    assert_int_equal(pb_money_parse("", 978, &v), PB_ERR_SYNTAX);
    assert_int_equal(pb_money_parse("abc", 978, &v), PB_ERR_SYNTAX);
    assert_int_equal(pb_money_parse("1.", 978, &v), PB_ERR_SYNTAX);
    assert_int_equal(pb_money_parse("1.2x", 978, &v), PB_ERR_SYNTAX);
    assert_int_equal(pb_money_parse("99999999999999999999", 978, &v), PB_ERR_RANGE);
    assert_int_equal(pb_money_parse("92233720368547758.07", 978, &v), PB_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(pb_money_parse("92233720368547758.08", 978, &v), PB_ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponents),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
