/* The judge: rows to steps by content (sim/judge.h). */
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "money.h"

/* Does the step put a request on the line, hence a row in the journal? */
static bool leaves_row(const struct pb_protocol *p, const struct sim_step *st)
{
    if (!sim_action_supported(p, st->action))
        return false;
    return !(st->action == SIM_ACT_STATUS && p->discipline && p->discipline->status_is_probe);
}

/* exact: the amount must be the step's too (a void's amount is the voided sale's, and a
 * register may amend its amount, e.g. a partial issue of goods: a second pass takes the
 * type alone). */
static bool fits(const struct sim_step *st, const struct sim_row *r, bool exact)
{
    if (!r->on_request || r->type != sim_action_txn(st->action))
        return false;
    if (exact && st->has_amount && st->action != SIM_ACT_VOID)
        return r->has_requested && r->requested == st->amount;
    return true;
}

static void expect(const struct sim_step *st, const struct sim_row *row, struct sim_verdict *out,
                   uint16_t ccy)
{
    const struct sim_expect *e = &st->expect;
    char want[PB_MONEY_FMT_MAX], got[PB_MONEY_FMT_MAX];
    out->ok = true;
    if (e->cls == PB_CLASS_NONE)
        return;
    if (!out->has_row) {
        out->ok = false;
        snprintf(out->why, sizeof out->why, "expected %s, but the bridge recorded no %s",
                 pb_class_name(e->cls), pb_txn_name(sim_action_txn(st->action)));
        return;
    }
    if (out->cls != e->cls && out->related_cls != e->cls) {
        out->ok = false;
        snprintf(out->why, sizeof out->why, "expected %s, recorded %s: %s", pb_class_name(e->cls),
                 pb_class_name(out->cls), row->detail);
        return;
    }
    /* The charged amount of a voided sale is the sale's; a void's own expectation is
     * about the class. */
    if (e->has_charged && out->cls != PB_CLASS_VOIDED &&
        (!row->has_charged || row->charged != e->charged)) {
        out->ok = false;
        pb_money_format(want, sizeof want, e->charged, ccy);
        if (row->has_charged)
            pb_money_format(got, sizeof got, row->charged, ccy);
        else
            snprintf(got, sizeof got, "nothing");
        snprintf(out->why, sizeof out->why, "expected charged %s, recorded %s: %s", want, got,
                 row->detail);
        return;
    }
    if (e->has_due && (!row->has_due || row->due != e->due)) {
        out->ok = false;
        pb_money_format(want, sizeof want, e->due, ccy);
        if (row->has_due)
            pb_money_format(got, sizeof got, row->due, ccy);
        else
            snprintf(got, sizeof got, "none");
        snprintf(out->why, sizeof out->why, "expected amount due %s, recorded %s", want, got);
    }
}

size_t sim_judge(const struct pb_protocol *p, const struct sim_scenario *sc,
                 const struct sim_row *rows, size_t n, struct sim_verdict *v, char *stray,
                 size_t cap)
{
    size_t nsteps = sim_scenario_count(sc);
    uint16_t ccy = sim_scenario_settings(sc)->currency;
    unsigned char *claimed = n ? calloc(n, 1) : NULL;
    if (n && !claimed) {
        if (stray && cap)
            snprintf(stray, cap, "out of memory judging %zu rows", n);
        for (size_t i = 0; i < nsteps; i++)
            v[i] = (struct sim_verdict){.why = "out of memory"};
        return n;
    }
    size_t cursor = 0;
    for (size_t i = 0; i < nsteps; i++) {
        const struct sim_step *st = sim_scenario_step(sc, i);
        struct sim_verdict *out = &v[i];
        memset(out, 0, sizeof *out);
        out->on_wire = leaves_row(p, st);
        if (!out->on_wire) {
            out->ok = true;
            continue;
        }
        size_t k = cursor;
        while (k < n && (claimed[k] || !fits(st, &rows[k], true)))
            k++;
        if (k == n)
            for (k = cursor; k < n && (claimed[k] || !fits(st, &rows[k], false));)
                k++;
        if (k < n) {
            claimed[k] = 1;
            cursor = k + 1;
            out->has_row = true;
            out->row = k;
            out->cls = rows[k].cls;
            out->has_charged = rows[k].has_charged;
            out->charged = rows[k].charged;
            out->duration_us = rows[k].duration_us > 0 ? rows[k].duration_us : 0;
            /* what the tracker opened on its answers alone belongs to it */
            for (size_t d = 0; d < n; d++) {
                if (!claimed[d] && !rows[d].on_request && rows[d].related_seq == rows[k].seq) {
                    claimed[d] = 1;
                    out->related_cls = rows[d].cls;
                }
            }
        }
        expect(st, out->has_row ? &rows[out->row] : NULL, out, ccy);
    }
    size_t strays = 0, used = 0;
    if (stray && cap)
        stray[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (claimed[k])
            continue;
        strays++;
        if (stray && used < cap) {
            int w = snprintf(stray + used, cap - used, "%s#%llu %s %s (%s)",
                             strays > 1 ? "; " : "unexpected transaction(s): ",
                             (unsigned long long)rows[k].seq, pb_txn_name(rows[k].type),
                             pb_class_name(rows[k].cls), rows[k].detail);
            if (w > 0)
                used += (size_t)w;
        }
    }
    free(claimed);
    return strays;
}
