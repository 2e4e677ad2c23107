/* judge: which recorded transaction belongs to which scenario step, and whether the step's
 * expectation holds. The one matcher behind `possim play` (rows from the watching
 * pipeline) and `possim run` (rows from the real bridge's journal).
 *
 *   sim_judge()   match rows to steps by content; fill one verdict per step
 *
 * Matching (docs/DISCREPANCIES.md: "a scenario runner matches transactions by content"):
 * a step the protocol does not play, or whose request puts no frame on the line (a status
 * that is a bare liveness probe), expects no row and is skipped. Every other step takes
 * the next row, in order, that the tracker opened on a register request of the step's
 * transaction type (and, for a sale or refund, of the step's amount). A row the tracker
 * opened on an answer with no request (a duplicate's second approval) belongs to the row
 * it names. Rows nobody claims are strays: reported, never charged to some step. */
#ifndef SIM_JUDGE_H
#define SIM_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "scenario.h"
#include "tracker.h"

/* One recorded transaction, as the judge needs it. */
struct sim_row {
    uint64_t seq;         /* the tracker's id */
    uint64_t related_seq; /* the row a duplicate repeats, 0 none */
    enum pb_txn_type type;
    bool on_request;      /* opened on a register request (its first evidence) */
    bool has_requested;
    int64_t requested;
    enum pb_class cls;
    bool has_charged;
    int64_t charged;
    bool has_due;
    int64_t due;
    int64_t duration_us;  /* from its request to its end, -1 unknown */
    char detail[160];
};

struct sim_verdict {
    bool on_wire;              /* the step leaves a row (played, not a bare probe) */
    bool has_row;
    size_t row;                /* index into rows, with has_row */
    enum pb_class cls;         /* its class; PB_CLASS_NONE without a row */
    enum pb_class related_cls; /* class of a row attached to it (a duplicate), or NONE */
    bool has_charged;
    int64_t charged;
    int64_t duration_us;       /* the row's, 0 without one */
    bool ok;                   /* the expectation holds (true when there is none) */
    char why[320];             /* why not, in the currency's units */
};

/* v has sim_scenario_count(sc) entries. Returns the number of stray rows; when stray is
 * not NULL it gets a line naming them ("" when none). */
size_t sim_judge(const struct pb_protocol *p, const struct sim_scenario *sc,
                 const struct sim_row *rows, size_t n, struct sim_verdict *v, char *stray,
                 size_t cap);

#endif
