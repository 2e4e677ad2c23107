/* Tests for sim/replay.c: a lane is recorded to a pcapng capture, then its terminal side
 * is replayed against a live register (and its register side against a live terminal);
 * the live side must see the same outcomes as in the recording. Timing: closed loop
 * follows the peer, open loop keeps recorded offsets, a silent peer stalls and the chunk
 * still goes after the wait. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "play.h"
#include "log.h"
#include "pb_error.h"
#include "register.h"
#include "replay.h"
#include "scenario.h"
#include "terminal.h"

#define UTC0 1767225600000000ll

static char path[64];

static void quiet(enum pb_log_level l, const char *m, void *c)
{
    (void)l;
    (void)m;
    (void)c;
}

static void cap_tap(void *ctx, enum pb_dir from, const uint8_t *b, size_t n, int64_t now)
{
    pb_capture_chunk(ctx, from, UTC0 + now, b, n);
}

static struct sim_scenario *scenario(const char *text)
{
    struct sim_scenario *s = NULL;
    char err[256];
    if (sim_scenario_parse("replay", text, strlen(text), &s, err, sizeof err) != PB_OK)
        fail_msg("%s", err);
    return s;
}

static const char *const SCN = "timeout 2s\n"
                               "sale 12.50 expect ok\n"
                               "sale 20.00 charge +1.00 expect overcharge\n"
                               "sale 9.99 decline expect declined\n"
                               "sale 5.00 no-answer expect in_doubt\n"
                               "sale 1.00 expect ok\n";

/* Records the lane of SCN to `path`; returns the lane's register beliefs. */
static void record(const struct pb_protocol *p, struct sim_scenario *s, enum pb_class *cls,
                   size_t *n)
{
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(path, p->link_type, NULL, &c), PB_OK);
    struct sim_lane_config cfg = {
        .proto = p, .scenario = s, .seed = 9, .tap = cap_tap, .tap_ctx = c};
    struct sim_lane_result *res = NULL;
    assert_int_equal(sim_lane_play(&cfg, &res), PB_OK);
    assert_int_equal(pb_capture_close(c), PB_OK);
    *n = res->n_steps;
    for (size_t i = 0; i < res->n_steps; i++)
        cls[i] = res->steps[i].reg.belief;
    sim_lane_result_free(res);
}

struct live {
    struct sim_replay *rp;
    struct sim_register *reg;
    struct sim_terminal *term;
    uint8_t to_live[1 << 16], to_rp[1 << 16];
    size_t n_live, n_rp;
    enum pb_class got[16];
    size_t n_got;
    int64_t now;
};

static ssize_t rp_write(void *ctx, const uint8_t *b, size_t n)
{
    struct live *l = ctx;
    memcpy(l->to_live + l->n_live, b, n);
    l->n_live += n;
    return (ssize_t)n;
}

static ssize_t live_write(void *ctx, const uint8_t *b, size_t n)
{
    struct live *l = ctx;
    memcpy(l->to_rp + l->n_rp, b, n);
    l->n_rp += n;
    return (ssize_t)n;
}

static void on_outcome(const struct sim_outcome *o, void *ctx)
{
    struct live *l = ctx;
    if (l->n_got < 16)
        l->got[l->n_got++] = o->belief;
}

static bool live_done(struct live *l)
{
    return l->reg ? sim_register_done(l->reg) : sim_replay_done(l->rp);
}

static void run_live(struct live *l)
{
    for (int guard = 0; guard < 100000; guard++) {
        sim_replay_tick(l->rp, l->now);
        if (l->reg)
            sim_register_tick(l->reg, l->now);
        else
            sim_terminal_tick(l->term, l->now);
        if (l->n_live) {
            size_t n = l->n_live;
            l->n_live = 0;
            if (l->reg)
                sim_register_input(l->reg, l->to_live, n, l->now);
            else
                sim_terminal_input(l->term, l->to_live, n, l->now);
            continue;
        }
        if (l->n_rp) {
            size_t n = l->n_rp;
            l->n_rp = 0;
            sim_replay_input(l->rp, l->to_rp, n, l->now);
            continue;
        }
        if (live_done(l) && sim_replay_done(l->rp))
            return;
        int64_t a = sim_replay_next_deadline(l->rp);
        int64_t b =
            l->reg ? sim_register_next_deadline(l->reg) : sim_terminal_next_deadline(l->term);
        int64_t next = a < 0 ? b : b < 0 ? a : (a < b ? a : b);
        if (next < 0)
            return;
        if (next > l->now)
            l->now = next;
    }
    fail_msg("replay lane never settled");
}

static void replay_terminal_side(const char *name)
{
    const struct pb_protocol *p = pb_protocol_find(name);
    if (!p)
        skip();
    struct sim_scenario *s = scenario(SCN);
    enum pb_class want[16];
    size_t n;
    record(p, s, want, &n);
    assert_int_equal(n, 5);

    static struct live l;
    memset(&l, 0, sizeof l);
    char err[256];
    struct sim_replay_opts o = {.side = PB_DIR_PT};
    assert_int_equal(sim_replay_load(path, &o, rp_write, &l, &l.rp, err, sizeof err), PB_OK);
    struct sim_rng rng;
    sim_rng_seed(&rng, 1);
    struct sim_register_config rc = {.proto = p, .scenario = s};
    assert_int_equal(sim_register_new(&rc, &rng, live_write, &l, on_outcome, &l, &l.reg), PB_OK);
    run_live(&l);
    const struct sim_replay_stats *st = sim_replay_stats(l.rp);
    assert_int_equal(st->chunks_sent, st->chunks_total);
    assert_int_equal(st->stalls, 0);
    assert_int_equal(l.n_got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(l.got[i], want[i]); /* the same outcome, transaction by transaction */
    sim_register_free(l.reg);
    sim_replay_free(l.rp);
    sim_scenario_free(s);
    unlink(path);
}

static void test_replay_terminal_concert(void **state)
{
    replay_terminal_side("concert");
}

static void test_replay_terminal_zvt(void **state)
{
    replay_terminal_side("zvt");
}

/* The register's side against a live terminal: the terminal books the same batch. */
static void test_replay_register_side(void **state)
{
    const struct pb_protocol *p = pb_protocol_find("zvt");
    if (!p)
        skip();
    struct sim_scenario *s = scenario(SCN);
    enum pb_class want[16];
    size_t n;
    record(p, s, want, &n);
    static struct live l;
    memset(&l, 0, sizeof l);
    char err[256];
    struct sim_replay_opts o = {.side = PB_DIR_ECR};
    assert_int_equal(sim_replay_load(path, &o, rp_write, &l, &l.rp, err, sizeof err), PB_OK);
    struct sim_rng rng;
    sim_rng_seed(&rng, 9);
    struct sim_terminal_config tc = {.proto = p, .scenario = s};
    assert_int_equal(sim_terminal_new(&tc, &rng, live_write, &l, &l.term), PB_OK);
    run_live(&l);
    const struct sim_terminal_stats *ts = sim_terminal_stats(l.term);
    assert_int_equal(ts->transactions, 5);
    assert_int_equal(ts->approved, 3);
    assert_int_equal(ts->declined, 1);
    assert_int_equal(ts->total, 1250 + 2100 + 100);
    sim_terminal_free(l.term);
    sim_replay_free(l.rp);
    sim_scenario_free(s);
    unlink(path);
}

static ssize_t sink(void *ctx, const uint8_t *b, size_t n)
{
    int64_t *count = ctx;
    *count += (int64_t)n;
    return (ssize_t)n;
}

/* A hand-made capture: open loop keeps offsets and speed divides them; closed loop waits
 * for the peer, and after `wait` sends anyway. */
static void test_timing(void **state)
{
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(path, PB_CAPTURE_LINKTYPE_NONE, NULL, &c), PB_OK);
    const uint8_t q[] = {1, 2, 3}, a[] = {4, 5};
    pb_capture_chunk(c, PB_DIR_ECR, UTC0, q, sizeof q);         /* peer asks at 0 */
    pb_capture_chunk(c, PB_DIR_PT, UTC0 + 100000, a, sizeof a); /* we answer at 100 ms */
    pb_capture_comment(c, UTC0 + 150000, "port lost");
    pb_capture_chunk(c, PB_DIR_PT, UTC0 + 300000, a, sizeof a); /* and again at 300 ms */
    assert_int_equal(pb_capture_close(c), PB_OK);

    int64_t out = 0;
    char err[256];
    struct sim_replay *r;
    struct sim_replay_opts o = {.side = PB_DIR_PT, .open_loop = true, .speed_milli = 2000};
    assert_int_equal(sim_replay_load(path, &o, sink, &out, &r, err, sizeof err), PB_OK);
    assert_int_equal(sim_replay_stats(r)->chunks_total, 2);
    assert_int_equal(sim_replay_stats(r)->events, 1);
    sim_replay_tick(r, 1000000);                                    /* start */
    assert_int_equal(sim_replay_next_deadline(r), 1000000 + 50000); /* 100 ms at 2x */
    sim_replay_tick(r, 1000000 + 50000);
    assert_int_equal(out, 2);
    assert_int_equal(sim_replay_next_deadline(r), 1000000 + 150000);
    sim_replay_tick(r, 1000000 + 150000);
    assert_true(sim_replay_done(r));
    sim_replay_free(r);

    /* closed loop: nothing before the peer's 3 bytes, then the 100 ms gap */
    out = 0;
    o = (struct sim_replay_opts){.side = PB_DIR_PT, .wait_ms = 500};
    assert_int_equal(sim_replay_load(path, &o, sink, &out, &r, err, sizeof err), PB_OK);
    sim_replay_tick(r, 0);
    assert_int_equal(out, 0);
    assert_int_equal(sim_replay_next_deadline(r), 500000); /* only the stall limit */
    sim_replay_input(r, q, 2, 10000);
    sim_replay_tick(r, 10000);
    assert_int_equal(out, 0); /* 2 of 3 bytes: still waiting */
    sim_replay_input(r, q, 1, 20000);
    sim_replay_tick(r, 20000);
    assert_int_equal(sim_replay_next_deadline(r), 120000);
    sim_replay_tick(r, 120000);
    assert_int_equal(out, 2);
    sim_replay_tick(r, 320000); /* the second answer: 200 ms after the first */
    assert_int_equal(out, 4);
    assert_int_equal(sim_replay_stats(r)->stalls, 0);
    sim_replay_free(r);

    /* a silent peer: the answer goes after the wait, counted as a stall */
    out = 0;
    assert_int_equal(sim_replay_load(path, &o, sink, &out, &r, err, sizeof err), PB_OK);
    sim_replay_tick(r, 0);
    sim_replay_tick(r, 500000);
    sim_replay_tick(r, 600000);
    assert_int_equal(out, 2);
    assert_int_equal(sim_replay_stats(r)->stalls, 1);
    sim_replay_free(r);
    unlink(path);

    assert_int_equal(sim_replay_load("/nonexistent.pcapng", &o, sink, &out, &r, err, sizeof err),
                     PB_ERR_NOTFOUND);
    assert_null(r);
    assert_non_null(strstr(err, "no such file"));
}

static int setup(void **state)
{
    pb_log_set_sink(PB_LOG_CALLBACK, "test", quiet, NULL);
    snprintf(path, sizeof path, "/tmp/test_sim_replay_%d.pcapng", (int)getpid());
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_terminal_concert),
        cmocka_unit_test(test_replay_terminal_zvt),
        cmocka_unit_test(test_replay_register_side),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
