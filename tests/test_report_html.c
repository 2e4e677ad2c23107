/* report_html: the page's chart figures per day and per class, open against resolved,
 * and escaping of journal text (a terminal's result text is wire data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "journal.h"
#include "pb_error.h"
#include "report_html.h"
#include "tracker.h"

#define DAY_US (86400LL * 1000000LL)
#define T0 (1795000000LL * 1000000LL) /* 2026-11-18T... */

static void row(struct pb_html_report *h, int64_t id, int64_t t, enum pb_class cls, bool resolved,
                const char *detail)
{
    struct pb_journal_row r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.type = PB_TXN_PURCHASE;
    r.cls = cls;
    snprintf(r.class_name, sizeof r.class_name, "%s", pb_class_name(cls));
    r.severity = pb_class_severity(cls);
    r.has_requested = true;
    r.requested = 1250;
    r.requested_currency = 978;
    r.has_charged = true;
    r.charged = 1350;
    r.currency = 978;
    r.started_utc_us = t;
    r.resolved = resolved;
    if (resolved)
        snprintf(r.resolution, sizeof r.resolution, "refund");
    snprintf(r.detail, sizeof r.detail, "%s", detail);
    assert_int_equal(pb_html_report_row(h, &r), PB_OK);
}

static char *render(struct pb_html_report *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(pb_html_report_write(h, f), PB_OK);
    fclose(f);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_days_and_classes(void **state)
{
    (void)state;
    struct pb_html_report *h = NULL;
    assert_int_equal(pb_html_report_new("lane1.db", &h), PB_OK);
    /* Day 3 before day 1 in journal order: the chart sorts days. */
    row(h, 1, T0 + 2 * DAY_US, PB_CLASS_OVERCHARGE, false, "a");
    row(h, 2, T0, PB_CLASS_OVERCHARGE, true, "b");
    row(h, 3, T0, PB_CLASS_IN_DOUBT, false, "c");
    row(h, 4, T0 + DAY_US, PB_CLASS_OK, false, "not a discrepancy");
    row(h, 5, T0 + 2 * DAY_US, PB_CLASS_IN_DOUBT, false, "d");
    assert_int_equal(pb_html_report_day(h, "2026-11-18", 978, 3, 2, 2500, 2700), PB_OK);
    char *html = render(h);
    assert_non_null(strstr(html, "<span id=\"open-count\">3 open</span>"));
    assert_non_null(strstr(html, "<span id=\"resolved-count\">1 resolved</span>"));
    /* Two days with discrepancies (the ok-only day has none), in date order. */
    const char *d1 = strstr(html, "data-day=\"2026-11-18\" data-open=\"1\" data-resolved=\"1\"");
    const char *d3 = strstr(html, "data-day=\"2026-11-20\" data-open=\"2\" data-resolved=\"0\"");
    assert_non_null(d1);
    assert_non_null(d3);
    assert_true(d1 < d3);
    assert_null(strstr(html, "data-day=\"2026-11-19\""));
    assert_non_null(strstr(html, "data-class=\"overcharge\" data-open=\"1\" data-resolved=\"1\""));
    assert_non_null(strstr(html, "data-class=\"in_doubt\" data-open=\"2\" data-resolved=\"0\""));
    assert_int_equal(count(html, "<g class=\"bar\""), 4);
    /* Bar heights: the tallest stack (2) is the 200 px plot; 1 is half. */
    assert_non_null(strstr(html, "<rect class=\"open\" x=\"42\" y=\"120\" width=\"56\" height=\"100\"/>"));
    assert_int_equal(count(html, "<tr class=\"disc-open\""), 3);
    assert_int_equal(count(html, "<tr class=\"disc-resolved\""), 1);
    assert_int_equal(count(html, "<tr class=\"txn\""), 1);
    assert_non_null(strstr(html, "<td>2026-11-18</td><td class=\"n\">3</td>"));
    assert_null(strstr(html, "<script"));
    free(html);
    pb_html_report_free(h);
}

static void test_text_is_escaped(void **state)
{
    (void)state;
    struct pb_html_report *h = NULL;
    assert_int_equal(pb_html_report_new("/tmp/<lane>&\"x\".db", &h), PB_OK);
    row(h, 1, T0, PB_CLASS_OVERCHARGE, false, "<script>alert('x')</script> & \x01more");
    char *html = render(h);
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
    assert_non_null(strstr(html, "/tmp/&lt;lane&gt;&amp;&quot;x&quot;.db"));
    free(html);
    pb_html_report_free(h);
}

static void test_empty_journal_and_bad_args(void **state)
{
    (void)state;
    struct pb_html_report *h = NULL;
    assert_int_equal(pb_html_report_new(NULL, &h), PB_ERR_INVAL);
    assert_null(h);
    assert_int_equal(pb_html_report_new("j.db", &h), PB_OK);
    char *html = render(h);
    assert_non_null(strstr(html, "0 open"));
    assert_int_equal(count(html, "<g class=\"bar\""), 0);
    assert_non_null(strstr(html, "</html>"));
    free(html);
    assert_int_equal(pb_html_report_row(h, NULL), PB_ERR_INVAL);
    assert_int_equal(pb_html_report_write(h, NULL), PB_ERR_INVAL);
    pb_html_report_free(h);
    pb_html_report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_and_classes),
        cmocka_unit_test(test_text_is_escaped),
        cmocka_unit_test(test_empty_journal_and_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
