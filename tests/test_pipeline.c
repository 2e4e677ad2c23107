/* Tests for the transaction formatting (lane/txn_json.c): the amounts people read in
 * alerts, `posbridge decode` and `posbridge monitor`, and the JSON of events.jsonl and
 * the alert program; and the events file when the disk refuses it. (The pipeline's
 * forwarding and capture are tested end to end.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pb_error.h"

#include "money.h"
#include "pipeline.h"
#include "protocol.h"
#include "txn_json.h"

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

/* One Concert sale through a pipeline: 12.50 EUR asked, 13.50 approved (overcharge). */
static void concert_sale(struct pb_pipeline *l, int64_t at_s)
{
    static const struct {
        enum pb_dir dir;
        const char *bytes;
    } wire[] = {
        {PB_DIR_ECR, "\x05"},
        {PB_DIR_PT, "\x06"},
        {PB_DIR_ECR, "\x02" "0100001250110978          A010B010\x03" "C"},
        {PB_DIR_PT, "\x06"},
        {PB_DIR_ECR, "\x04"},
        {PB_DIR_PT, "\x05"},
        {PB_DIR_ECR, "\x06"},
        {PB_DIR_PT, "\x02" "0100000135019780000000000\x03" "L"},
        {PB_DIR_ECR, "\x06"},
        {PB_DIR_PT, "\x04"},
    };
    for (size_t i = 0; i < sizeof wire / sizeof wire[0]; i++) {
        uint8_t buf[64];
        size_t n = strlen(wire[i].bytes);
        memcpy(buf, wire[i].bytes, n);
        if (buf[0] == 0x02) { /* the LRC: XOR of everything after STX, ETX included */
            uint8_t x = 0;
            for (size_t k = 1; k < n - 1; k++)
                x ^= buf[k];
            buf[n - 1] = x;
        }
        struct pb_time t = {(at_s * 1000 + (int64_t)i * 20) * 1000,
                            1798000000LL * 1000000 + (at_s * 1000 + (int64_t)i * 20) * 1000};
        pb_pipeline_chunk(l, wire[i].dir, &t, buf, n);
    }
}

static int events_errors, events_again;

static void count_events_log(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == PB_LOG_ERROR && strstr(msg, "events: cannot write"))
        events_errors++;
    if (strstr(msg, "events: writing again"))
        events_again++;
}

/* A full disk under the events file: each lost line is counted and the failure said
 * once, then said to be over when the file takes lines again (here: the descriptor
 * swapped for a good file, as SIGHUP's reopen does), and the line written then is whole. */
static void test_events_write_failure(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    pb_log_set_sink(PB_LOG_CALLBACK, "test", count_events_log, NULL);
    struct pb_pipeline_opts o = {.proto = pb_protocol_find("concert"), .events = f};
    struct pb_pipeline *l = NULL;
    assert_int_equal(pb_pipeline_new(&o, &l), PB_OK);
    concert_sale(l, 1);
    concert_sale(l, 2);
    const struct pb_pipeline_stats *st = pb_pipeline_stats(l);
    assert_int_equal(st->txns, 2);
    assert_int_equal(st->by_class[PB_CLASS_OVERCHARGE], 2);
    assert_int_equal(st->events_failed, 2);
    assert_int_equal(events_errors, 1);
    assert_int_equal(events_again, 0);

    FILE *good = tmpfile();
    assert_non_null(good);
    assert_true(dup2(fileno(good), fileno(f)) >= 0);
    concert_sale(l, 3);
    assert_int_equal(st->txns, 3);
    assert_int_equal(st->events_failed, 2);
    assert_int_equal(events_errors, 1);
    assert_int_equal(events_again, 1);
    pb_pipeline_free(l);
    fclose(f);
    rewind(good);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, good));
    assert_int_equal(line[0], '{');
    assert_non_null(strstr(line, "\"class\":\"overcharge\""));
    assert_non_null(strstr(line, "\"id\":3"));
    assert_null(fgets(line, sizeof line, good));
    fclose(good);
    pb_log_set_sink(PB_LOG_STDERR, "test", NULL, NULL);
}

static int bursts_logged;
static char burst_text[512];

static void count_bursts(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == PB_LOG_ERROR && strstr(msg, "ALERT burst: ")) {
        bursts_logged++;
        snprintf(burst_text, sizeof burst_text, "%s", msg);
    }
}

/* alert_burst 3: the third discrepancy within an hour raises a burst; a fourth soon after
 * does not (one an hour); three spread over more than an hour do not; three close
 * together an hour after the last burst do. */
static void test_burst_alert(void **state)
{
    (void)state;
    pb_log_set_sink(PB_LOG_CALLBACK, "test", count_bursts, NULL);
    struct pb_pipeline_opts o = {.proto = pb_protocol_find("concert"), .alert_burst = 3};
    struct pb_pipeline *l = NULL;
    assert_int_equal(pb_pipeline_new(&o, &l), PB_OK);
    const struct pb_pipeline_stats *st = pb_pipeline_stats(l);
    concert_sale(l, 1);
    concert_sale(l, 2);
    assert_int_equal(bursts_logged, 0);
    concert_sale(l, 3);
    assert_int_equal(bursts_logged, 1);
    assert_int_equal(st->bursts, 1);
    assert_non_null(strstr(burst_text, "3 discrepancies in 0 min on this lane (overcharge=3), "
                                       "transactions 1 to 3"));
    concert_sale(l, 4);
    concert_sale(l, 3700);
    concert_sale(l, 3701);
    assert_int_equal(bursts_logged, 1); /* 4 s, 3700 s, 3701 s: not within an hour */
    concert_sale(l, 3702);
    assert_int_equal(bursts_logged, 2);
    assert_non_null(strstr(burst_text, "transactions 5 to 7"));
    assert_int_equal(st->by_class[PB_CLASS_OVERCHARGE], 7);
    pb_pipeline_free(l);

    /* 0: never */
    o.alert_burst = 0;
    assert_int_equal(pb_pipeline_new(&o, &l), PB_OK);
    for (int i = 1; i <= 20; i++)
        concert_sale(l, i);
    assert_int_equal(pb_pipeline_stats(l)->bursts, 0);
    assert_int_equal(bursts_logged, 2);
    pb_pipeline_free(l);
    pb_log_set_sink(PB_LOG_STDERR, "test", NULL, NULL);
}

/* A PAX answer in two packets (status "1", then "0"; tests/test_pax.c) is one answer: the
 * pipeline joins the packets before the tracker sees a result, so the sale closes ok
 * with the amount the joined answer names, split across the packets ("10" + "00"). */
static struct pb_txn last_txn;
static unsigned closed_txns;

static void keep_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    (void)ctx;
    if (ev != PB_TXN_OPENED) {
        last_txn = *t;
        closed_txns += ev == PB_TXN_CLOSED;
    }
}

static void pax_wire(struct pb_pipeline *l, enum pb_dir dir, const char *text, int64_t ms)
{
    uint8_t buf[256];
    size_t n = strlen(text);
    buf[0] = 0x02;
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = text[i] == '|' ? 0x1C : text[i] == '^' ? 0x1F : (uint8_t)text[i];
    buf[n + 1] = 0x03;
    uint8_t x = 0;
    for (size_t i = 1; i <= n + 1; i++)
        x ^= buf[i];
    buf[n + 2] = x;
    struct pb_time t = {ms * 1000, 1798000000LL * 1000000 + ms * 1000};
    pb_pipeline_chunk(l, dir, &t, buf, n + 3);
    pb_pipeline_chunk(l, dir == PB_DIR_PT ? PB_DIR_ECR : PB_DIR_PT, &t, (const uint8_t *)"\x06", 1);
}

static void test_multi_packet_answer_joined(void **state)
{
    (void)state;
    struct pb_pipeline_opts o = {.proto = pb_protocol_find("pax"), .on_txn = keep_txn};
    struct pb_pipeline *l = NULL;
    assert_non_null(o.proto);
    assert_int_equal(pb_pipeline_new(&o, &l), PB_OK);
    closed_txns = 0;
    pax_wire(l, PB_DIR_ECR, "T00|1.28|01|1000||1||||", 0);
    pax_wire(l, PB_DIR_PT, "1|T01|1.28|000000|OK|^^123456^^TRC9|01|10", 500);
    assert_int_equal(closed_txns, 0); /* the first packet is no answer */
    pax_wire(l, PB_DIR_PT, "0|00^0|1234|5^1", 520);
    struct pb_time end = {10000 * 1000, 1798000000LL * 1000000 + 10000 * 1000};
    pb_pipeline_finish(l, &end);
    assert_int_equal(closed_txns, 1);
    assert_int_equal(last_txn.cls, PB_CLASS_OK);
    assert_true(last_txn.has_charged);
    assert_int_equal(last_txn.charged, 1000);
    pb_pipeline_free(l);
}

static int alert_overflows, alert_room_again;

static void count_alert_log(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == PB_LOG_ERROR && strstr(msg, "ALERT alerts: 2 program(s) running and 4 alert(s) "
                                             "waiting"))
        alert_overflows++;
    if (strstr(msg, "queue has room again; 6 alert(s) were dropped"))
        alert_room_again++;
}

/* The alert pool: 12 discrepancies at once, at most 2 programs running (each 0.3 s) and
 * 4 waiting. 6 run, in turn, and 6 are dropped, counted and logged once; the programs
 * themselves count who runs beside them (one directory each). Never more than 2. */
static void test_alert_pool(void **state)
{
    (void)state;
    char dir[] = "/tmp/pb-alertpool-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char prog[128], path[160];
    snprintf(prog, sizeof prog, "%s/alert", dir);
    FILE *f = fopen(prog, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "mkdir \"%s/run.$$\"\n"
            "ls -d \"%s\"/run.* | wc -l >>\"%s/counts\"\n"
            "cat >/dev/null\n"
            "sleep 0.3\n"
            "echo \"$POSBRIDGE_ID\" >>\"%s/done\"\n"
            "rmdir \"%s/run.$$\"\n",
            dir, dir, dir, dir, dir);
    fclose(f);
    assert_int_equal(chmod(prog, 0700), 0);
    pb_log_set_sink(PB_LOG_CALLBACK, "test", count_alert_log, NULL);

    struct pb_pipeline_opts o = {.proto = pb_protocol_find("concert"),
                                 .alert_program = prog,
                                 .alert_max = 2,
                                 .alert_queue = 4};
    struct pb_pipeline *l = NULL;
    assert_int_equal(pb_pipeline_new(&o, &l), PB_OK);
    const struct pb_pipeline_stats *st = pb_pipeline_stats(l);
    for (int i = 1; i <= 12; i++)
        concert_sale(l, i);
    assert_int_equal(st->by_class[PB_CLASS_OVERCHARGE], 12);
    assert_int_equal(st->alerts_run, 2);
    assert_int_equal(st->alerts_dropped, 6);
    assert_int_equal(st->alerts_pending, 6);
    assert_int_equal(alert_overflows, 1);
    /* Ticks reap and start the waiting ones; the deadline asks for them meanwhile. */
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 500 && st->alerts_pending; i++) {
        assert_true(pb_pipeline_next_deadline(l) >= 0);
        nanosleep(&pause, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        struct pb_time t = {(int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000,
                            1798000000LL * 1000000 + 20 * 1000000};
        pb_pipeline_tick(l, &t);
    }
    assert_int_equal(st->alerts_pending, 0);
    assert_int_equal(st->alerts_run, 6);
    assert_int_equal(st->alerts_dropped, 6);
    assert_int_equal(st->alerts_failed, 0);
    assert_int_equal(alert_room_again, 1);
    pb_pipeline_free(l);

    /* Every one ran to its end (the last is reaped only after its last line), in order. */
    snprintf(path, sizeof path, "%s/done", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    int ids[8], n = 0;
    while (n < 8 && fscanf(f, "%d", &ids[n]) == 1)
        n++;
    fclose(f);
    assert_int_equal(n, 6);
    int sorted = 1;
    for (int i = 0; i < 6; i++)
        sorted &= ids[i] >= 1 && ids[i] <= 6;
    assert_true(sorted); /* the first six discrepancies, the rest dropped */
    snprintf(path, sizeof path, "%s/counts", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    int c, most = 0, lines = 0;
    while (fscanf(f, "%d", &c) == 1) {
        most = c > most ? c : most;
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 6);
    assert_true(most >= 1 && most <= 2);
    unlink(path);
    snprintf(path, sizeof path, "%s/done", dir);
    unlink(path);
    unlink(prog);
    assert_int_equal(rmdir(dir), 0);
    pb_log_set_sink(PB_LOG_STDERR, "test", NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts_each_in_own_currency),
        cmocka_unit_test(test_amounts_borrow_missing_currency),
        cmocka_unit_test(test_amounts_absent),
        cmocka_unit_test(test_json_currencies),
        cmocka_unit_test(test_events_write_failure),
        cmocka_unit_test(test_burst_alert),
        cmocka_unit_test(test_multi_packet_answer_joined),
        cmocka_unit_test(test_alert_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
