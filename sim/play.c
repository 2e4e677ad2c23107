/* The virtual lane: two in-memory pipes and a clock that jumps from one deadline to the
 * next. Bytes written at time t are read by the other side at time t (the virtual line
 * is instant; latency and pacing faults still delay them inside the writer's queue).
 *
 * The watch is the bridge's own pipeline (lane/pipeline.h), fed every byte as the relay
 * feeds it, with the tracker settings `possim run` gives posbridge: play, run and
 * `posbridge decode` of a lane's capture judge the same bytes the same way. */
#include "play.h"

#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "judge.h"
#include "pb_error.h"
#include "pipeline.h"
#include "terminal.h"

#define PIPE_MAX (1u << 16)
#define GUARD_STEPS 2000000

struct pipe {
    uint8_t buf[PIPE_MAX];
    size_t len;
};

struct tracked {
    uint64_t id;
    enum pb_class cls;
    uint64_t related;
    bool synthetic;
    bool has_charged;
    int64_t charged;
    struct sim_row row; /* what the judge reads */
};

struct lane {
    const struct sim_lane_config *cfg;
    struct pipe to_pt, to_ecr;
    int64_t now;
    struct sim_lane_result *res;
    /* register outcomes arrive in step order, skipped steps included */
    size_t n_out;
    /* the watch */
    struct pb_pipeline *pl;
    bool last_was_request;
    struct tracked *txn;
    size_t n_txn, cap_txn;
};

static struct pb_time ptime(int64_t us)
{
    /* UTC is a fixed base plus the virtual time: replays stay identical. */
    struct pb_time t = {us, 1767225600000000ll + us};
    return t;
}

static void watch_msg(enum pb_dir dir, const struct pb_frame *frame, const struct pos_msg *m,
                      const struct pb_time *t, void *ctx)
{
    struct lane *l = ctx;
    if (m)
        l->last_was_request = m->kind == PB_KIND_REQUEST;
}

static void on_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct lane *l = ctx;
    size_t i;
    for (i = 0; i < l->n_txn; i++)
        if (l->txn[i].id == t->id)
            break;
    if (i == l->n_txn) {
        if (l->n_txn == l->cap_txn) {
            size_t cap = l->cap_txn ? l->cap_txn * 2 : 64;
            struct tracked *n = realloc(l->txn, cap * sizeof *n);
            if (!n)
                return;
            l->txn = n;
            l->cap_txn = cap;
        }
        l->n_txn++;
        memset(&l->txn[i], 0, sizeof l->txn[i]);
        l->txn[i].id = t->id;
        /* A transaction the tracker opened on anything but a request is an answer with no
         * request: a duplicate's second approval, an unsolicited answer. */
        l->txn[i].synthetic = ev == PB_TXN_OPENED && !l->last_was_request;
    }
    l->txn[i].cls = t->cls;
    l->txn[i].related = t->related_id;
    l->txn[i].has_charged = t->has_charged;
    l->txn[i].charged = t->charged;
    struct sim_row *r = &l->txn[i].row;
    *r = (struct sim_row){
        .seq = t->id,
        .related_seq = t->related_id,
        .type = t->type,
        .on_request = t->n_evidence > 0 && t->evidence[0].kind == PB_KIND_REQUEST,
        .has_requested = t->has_requested,
        .requested = t->requested,
        .cls = t->cls,
        .has_charged = t->has_charged,
        .charged = t->charged,
        .has_due = t->has_amount_due,
        .due = t->amount_due,
        .duration_us = t->ended.mono_us ? t->ended.mono_us - t->started.mono_us : -1,
    };
    snprintf(r->detail, sizeof r->detail, "%s", t->detail);
}

static void carry(struct lane *l, enum pb_dir from, const uint8_t *b, size_t n)
{
    if (l->cfg->tap)
        l->cfg->tap(l->cfg->tap_ctx, from, b, n, l->now);
    if (l->pl) {
        struct pb_time t = ptime(l->now);
        pb_pipeline_tick(l->pl, &t);
        pb_pipeline_chunk(l->pl, from, &t, b, n);
    }
}

static ssize_t term_write(void *ctx, const uint8_t *b, size_t n)
{
    struct lane *l = ctx;
    if (l->to_ecr.len + n > PIPE_MAX)
        return PB_ERR_AGAIN;
    memcpy(l->to_ecr.buf + l->to_ecr.len, b, n);
    l->to_ecr.len += n;
    l->res->bytes_pt += n;
    carry(l, PB_DIR_PT, b, n);
    return (ssize_t)n;
}

static ssize_t reg_write(void *ctx, const uint8_t *b, size_t n)
{
    struct lane *l = ctx;
    if (l->to_pt.len + n > PIPE_MAX)
        return PB_ERR_AGAIN;
    memcpy(l->to_pt.buf + l->to_pt.len, b, n);
    l->to_pt.len += n;
    l->res->bytes_ecr += n;
    carry(l, PB_DIR_ECR, b, n);
    return (ssize_t)n;
}

static void on_outcome(const struct sim_outcome *o, void *ctx)
{
    struct lane *l = ctx;
    /* outcomes come in step order; find the step by number to be safe */
    for (size_t i = 0; i < l->res->n_steps; i++) {
        struct sim_lane_step *s = &l->res->steps[i];
        if (s->step->index == o->index) {
            s->reg = *o;
            s->has_reg = true;
            return;
        }
    }
}

static int export_txns(struct lane *l)
{
    struct sim_lane_txn *v = calloc(l->n_txn ? l->n_txn : 1, sizeof *v);
    if (!v)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < l->n_txn; i++)
        v[i] = (struct sim_lane_txn){l->txn[i].id, l->txn[i].cls, l->txn[i].synthetic,
                                     l->txn[i].has_charged, l->txn[i].charged};
    l->res->txns = v;
    return PB_OK;
}

/* Steps to the pipeline's transactions: the judge possim run uses too (sim/judge.h). */
static int match_steps(struct lane *l)
{
    struct sim_row *rows = calloc(l->n_txn ? l->n_txn : 1, sizeof *rows);
    struct sim_verdict *v = calloc(l->res->n_steps ? l->res->n_steps : 1, sizeof *v);
    if (!rows || !v) {
        free(rows);
        free(v);
        return PB_ERR_NOMEM;
    }
    for (size_t i = 0; i < l->n_txn; i++)
        rows[i] = l->txn[i].row;
    l->res->strays = (unsigned)sim_judge(l->cfg->proto, l->cfg->scenario, rows, l->n_txn, v,
                                         l->res->stray, sizeof l->res->stray);
    for (size_t i = 0; i < l->res->n_steps; i++) {
        struct sim_lane_step *s = &l->res->steps[i];
        s->on_wire = v[i].on_wire;
        s->has_txn = v[i].has_row;
        s->cls = v[i].cls;
        s->related_cls = v[i].related_cls;
        s->has_charged = v[i].has_charged;
        s->charged = v[i].charged;
        s->matches = v[i].ok;
        snprintf(s->why, sizeof s->why, "%s", v[i].why);
        if (!s->matches)
            l->res->mismatches++;
    }
    l->res->mismatches += l->res->strays;
    l->res->tracker_txns = (unsigned)l->n_txn;
    free(rows);
    free(v);
    return PB_OK;
}

static int run(struct lane *l, struct sim_terminal *t, struct sim_register *r)
{
    static uint8_t tmp[PIPE_MAX];
    for (long guard = 0; guard < GUARD_STEPS; guard++) {
        sim_register_tick(r, l->now);
        sim_terminal_tick(t, l->now);
        if (l->to_pt.len) {
            size_t n = l->to_pt.len;
            memcpy(tmp, l->to_pt.buf, n);
            l->to_pt.len = 0;
            sim_terminal_input(t, tmp, n, l->now);
            continue;
        }
        if (l->to_ecr.len) {
            size_t n = l->to_ecr.len;
            memcpy(tmp, l->to_ecr.buf, n);
            l->to_ecr.len = 0;
            sim_register_input(r, tmp, n, l->now);
            continue;
        }
        if (sim_register_done(r))
            return PB_OK;
        int64_t a = sim_register_next_deadline(r), b = sim_terminal_next_deadline(t);
        int64_t next = a < 0 ? b : b < 0 ? a : (a < b ? a : b);
        if (l->pl) {
            int64_t c = pb_pipeline_next_deadline(l->pl);
            if (c >= 0 && (next < 0 || c < next))
                next = c;
        }
        if (next < 0)
            return PB_OK;
        if (next > l->now)
            l->now = next;
        if (l->pl) {
            struct pb_time tm = ptime(l->now);
            pb_pipeline_tick(l->pl, &tm);
        }
    }
    return PB_ERR_RANGE; /* the lane never settled */
}

void sim_lane_result_free(struct sim_lane_result *r)
{
    if (!r)
        return;
    free(r->steps);
    free(r->txns);
    free(r);
}

int sim_lane_play(const struct sim_lane_config *cfg, struct sim_lane_result **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!cfg || !cfg->proto || !cfg->scenario)
        return PB_ERR_INVAL;
    int ret = PB_ERR_NOMEM;
    struct lane *l = calloc(1, sizeof *l);
    struct sim_lane_result *res = calloc(1, sizeof *res);
    struct sim_terminal *t = NULL;
    struct sim_register *r = NULL;
    if (!l || !res)
        goto out;
    size_t n = sim_scenario_count(cfg->scenario);
    res->n_steps = n;
    res->steps = calloc(n ? n : 1, sizeof *res->steps);
    if (!res->steps)
        goto out;
    for (size_t i = 0; i < n; i++)
        res->steps[i].step = sim_scenario_step(cfg->scenario, i);
    l->cfg = cfg;
    l->res = res;
    if (cfg->watch) {
        struct pb_pipeline_opts po = {
            .proto = cfg->proto,
            .on_msg = watch_msg,
            .on_txn = on_txn,
            .ctx = l,
        };
        sim_settings_tracker(sim_scenario_settings(cfg->scenario), &po.tracker);
        if ((ret = pb_pipeline_new(&po, &l->pl)) < 0)
            goto out;
    }
    struct sim_rng rng_t, rng_r;
    sim_rng_seed(&rng_t, cfg->seed);
    sim_rng_seed(&rng_r, cfg->seed ^ 0x5555);
    struct sim_terminal_config tcfg = {.proto = cfg->proto, .scenario = cfg->scenario};
    struct sim_register_config rcfg = {.proto = cfg->proto, .scenario = cfg->scenario};
    if ((ret = sim_terminal_new(&tcfg, &rng_t, term_write, l, &t)) < 0 ||
        (ret = sim_register_new(&rcfg, &rng_r, reg_write, l, on_outcome, l, &r)) < 0)
        goto out;
    ret = run(l, t, r);
    if (ret < 0)
        goto out;
    if (l->pl) {
        struct pb_time tm = ptime(l->now);
        pb_pipeline_finish(l->pl, &tm);
        if ((ret = match_steps(l)) < 0 || (ret = export_txns(l)) < 0)
            goto out;
    }
    res->virtual_us = l->now;
    res->terminal = *sim_terminal_stats(t);
    *out = res;
    res = NULL;
    ret = PB_OK;
out:
    sim_terminal_free(t);
    sim_register_free(r);
    if (l) {
        pb_pipeline_free(l->pl);
        free(l->txn);
        free(l);
    }
    sim_lane_result_free(res);
    return ret;
}
