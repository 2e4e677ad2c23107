/* report_html: the self-contained HTML report; see report_html.h.
 *
 * Self-contained because the page is mailed around and opened on office machines
 * without network: inline CSS, inline SVG, no script. Every text from the journal is
 * escaped (a terminal's result text is wire data). */
#include "report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "money.h"
#include "pb_error.h"
#include "tracker.h"
#include "txn_json.h"

struct hrow {
    int64_t id;
    int64_t started;
    enum pb_txn_type type;
    char cls[32];
    bool disc, resolved;
    enum pb_class cls_id;
    enum pb_severity severity;
    bool has_req, has_chg;
    int64_t req, chg;
    uint16_t req_ccy, ccy;
    char resolution[32];
    char *resolution_note; /* malloc'd, only on resolved rows: a report holds every row */
    char resolved_by[32];
    int64_t resolved_at;
    unsigned n_resolutions;
    char detail[160];
};

struct hday {
    char date[11];
    uint16_t currency;
    uint64_t count, disc;
    int64_t requested, charged;
};

struct pb_html_report {
    char *journal;
    struct hrow *rows;
    size_t n_rows, cap_rows;
    struct hday *days;
    size_t n_days, cap_days;
    struct pb_journal_event_row *events;
    size_t n_events, cap_events;
    struct hbatch {
        struct pb_html_batch b;
        char verdict[200];
    } *batches;
    size_t n_batches, cap_batches;
    char zone[64]; /* whose days */
    bool local;    /* days by localtime (TZ set by the caller) */
};

int pb_html_report_new(const char *journal_path, struct pb_html_report **out)
{
    if (!out || !journal_path)
        return PB_ERR_INVAL;
    *out = NULL;
    struct pb_html_report *h = calloc(1, sizeof *h);
    if (!h || !(h->journal = strdup(journal_path))) {
        free(h);
        return PB_ERR_NOMEM;
    }
    snprintf(h->zone, sizeof h->zone, "UTC");
    *out = h;
    return PB_OK;
}

int pb_html_report_row(struct pb_html_report *h, const struct pb_journal_row *row)
{
    if (!h || !row)
        return PB_ERR_INVAL;
    if (!pb_grow((void **)&h->rows, &h->cap_rows, h->n_rows, sizeof *h->rows))
        return PB_ERR_NOMEM;
    struct hrow *r = &h->rows[h->n_rows++];
    memset(r, 0, sizeof *r);
    r->id = row->id;
    r->started = row->started_utc_us;
    r->type = row->type;
    snprintf(r->cls, sizeof r->cls, "%s", row->pending ? "pending" : row->class_name);
    r->cls_id = row->cls;
    /* A pending row is an outcome nobody knows yet: counted as a discrepancy, as the
     * text report does. */
    r->disc = row->pending || pb_class_is_discrepancy(row->cls);
    r->resolved = row->resolved;
    r->severity = row->severity;
    r->has_req = row->has_requested;
    r->has_chg = row->has_charged;
    r->req = row->requested;
    r->chg = row->charged;
    pb_journal_row_currencies(row, &r->req_ccy, &r->ccy);
    snprintf(r->resolution, sizeof r->resolution, "%s", row->resolution);
    if (row->resolution_note[0] && !(r->resolution_note = strdup(row->resolution_note)))
        return PB_ERR_NOMEM;
    snprintf(r->resolved_by, sizeof r->resolved_by, "%s", row->resolved_by);
    r->resolved_at = row->resolved_utc_us;
    r->n_resolutions = row->n_resolutions;
    snprintf(r->detail, sizeof r->detail, "%s", row->detail);
    return PB_OK;
}

int pb_html_report_day(struct pb_html_report *h, const char *date, uint16_t currency,
                       uint64_t count, uint64_t discrepancies, int64_t requested,
                       int64_t charged)
{
    if (!h || !date)
        return PB_ERR_INVAL;
    if (!pb_grow((void **)&h->days, &h->cap_days, h->n_days, sizeof *h->days))
        return PB_ERR_NOMEM;
    struct hday *d = &h->days[h->n_days++];
    snprintf(d->date, sizeof d->date, "%s", date);
    d->currency = currency;
    d->count = count;
    d->disc = discrepancies;
    d->requested = requested;
    d->charged = charged;
    return PB_OK;
}

void pb_html_report_zone(struct pb_html_report *h, const char *label, bool local)
{
    if (!h)
        return;
    snprintf(h->zone, sizeof h->zone, "%s", label ? label : "UTC");
    h->local = local;
}

int pb_html_report_batch(struct pb_html_report *h, const struct pb_html_batch *b)
{
    if (!h || !b)
        return PB_ERR_INVAL;
    if (!pb_grow((void **)&h->batches, &h->cap_batches, h->n_batches, sizeof *h->batches))
        return PB_ERR_NOMEM;
    struct hbatch *x = &h->batches[h->n_batches++];
    x->b = *b;
    snprintf(x->verdict, sizeof x->verdict, "%s", b->verdict ? b->verdict : "");
    x->b.verdict = NULL;
    return PB_OK;
}

int pb_html_report_event(struct pb_html_report *h, const struct pb_journal_event_row *ev)
{
    if (!h || !ev)
        return PB_ERR_INVAL;
    if (!pb_grow((void **)&h->events, &h->cap_events, h->n_events, sizeof *h->events))
        return PB_ERR_NOMEM;
    h->events[h->n_events++] = *ev;
    return PB_OK;
}

/* ---- writing ------------------------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 && *s != 0x7F)
                fputc(*s, f);
        }
    }
}

static void day_of(int64_t utc_us, bool local, char out[11])
{
    time_t s = (time_t)(utc_us / 1000000);
    struct tm tm;
    if (utc_us <= 0 || !(local ? localtime_r(&s, &tm) : gmtime_r(&s, &tm))) {
        snprintf(out, 11, "unknown");
        return;
    }
    strftime(out, 11, "%Y-%m-%d", &tm);
}

struct bucket {
    char key[32];
    uint64_t open, resolved;
};

/* The bucket named key in the growing array *b, added when new; NULL when out of memory.
 * Rows come in journal order, so the bucket sought is usually the last one: the search
 * runs backwards. */
static struct bucket *bucket_for(struct bucket **b, size_t *n, size_t *cap, const char *key)
{
    for (size_t i = *n; i-- > 0;)
        if (strcmp((*b)[i].key, key) == 0)
            return &(*b)[i];
    if (!pb_grow((void **)b, cap, *n, sizeof **b))
        return NULL;
    struct bucket *nb = &(*b)[(*n)++];
    memset(nb, 0, sizeof *nb);
    snprintf(nb->key, sizeof nb->key, "%s", key);
    return nb;
}

static int bucket_cmp(const void *a, const void *b)
{
    return strcmp(((const struct bucket *)a)->key, ((const struct bucket *)b)->key);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".open{fill:#c0392b}.resolved{fill:#95a5a6}.axis{stroke:#444}"
    "svg text{font:11px sans-serif;fill:#333}"
    "tr.disc-open td{background:#fdecea}tr.disc-resolved td{color:#666}"
    "tr.batch-mismatch td{background:#fdecea}"
    ".summary span{display:inline-block;margin-right:2em;font-size:1.1em}"
    ".key{display:inline-block;width:1em;height:1em;vertical-align:middle}"
    ".key.open{background:#c0392b}.key.resolved{background:#95a5a6}";

/* A stacked bar chart, open at the bottom, resolved above. vertical: bars by day. */
static void chart(FILE *f, const char *id, const char *title, const char *attr,
                  const struct bucket *b, size_t n)
{
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (b[i].open + b[i].resolved > max)
            max = b[i].open + b[i].resolved;
    const int plot_h = 200, left = 40, top = 20, bottom = 120;
    int bw = n ? 600 / (int)n : 40;
    if (bw > 60)
        bw = 60;
    if (bw < 6)
        bw = 6;
    int width = left + (int)n * bw + 20, height = top + plot_h + bottom;
    fprintf(f, "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "role=\"img\" aria-label=\"",
            id, width, height);
    esc(f, title);
    fprintf(f, "\">\n<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", left,
            top + plot_h, width - 10, top + plot_h);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", left, top, left,
            top + plot_h);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" PRIu64 "</text>\n", left - 4,
            top + 4, max);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", left - 4, top + plot_h);
    for (size_t i = 0; i < n; i++) {
        int x = left + (int)i * bw + 2;
        int ho = (int)((double)b[i].open * plot_h / (double)max + 0.5);
        int hr = (int)((double)b[i].resolved * plot_h / (double)max + 0.5);
        int y = top + plot_h;
        fprintf(f, "<g class=\"bar\" %s=\"", attr);
        esc(f, b[i].key);
        fprintf(f, "\" data-open=\"%" PRIu64 "\" data-resolved=\"%" PRIu64 "\">", b[i].open,
                b[i].resolved);
        fprintf(f, "<title>");
        esc(f, b[i].key);
        fprintf(f, ": %" PRIu64 " open, %" PRIu64 " resolved</title>", b[i].open, b[i].resolved);
        fprintf(f, "<rect class=\"open\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", x, y - ho,
                bw - 4, ho);
        fprintf(f, "<rect class=\"resolved\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", x,
                y - ho - hr, bw - 4, hr);
        fprintf(f, "<text x=\"%d\" y=\"%d\" transform=\"rotate(60 %d %d)\">", x + 2, y + 12, x + 2,
                y + 12);
        esc(f, b[i].key);
        fprintf(f, "</text></g>\n");
    }
    fprintf(f, "</svg>\n");
}

/* Days drawn in the chart: at most this many, the most recent (about 13 months; 6 px a
 * bar). Every day stays in the reconciliation table. */
#define CHART_DAYS 400

int pb_html_report_write(struct pb_html_report *h, FILE *f)
{
    if (!h || !f)
        return PB_ERR_INVAL;
    struct bucket *by_day = NULL, *by_class = NULL;
    size_t nd = 0, nc = 0, cap_d = 0, cap_c = 0;
    uint64_t open = 0, resolved = 0;
    for (size_t i = 0; i < h->n_rows; i++) {
        const struct hrow *r = &h->rows[i];
        if (!r->disc)
            continue;
        char day[11];
        day_of(r->started, h->local, day);
        struct bucket *bd = bucket_for(&by_day, &nd, &cap_d, day);
        struct bucket *bc = bucket_for(&by_class, &nc, &cap_c, r->cls);
        if (!bd || !bc) {
            free(by_day);
            free(by_class);
            return PB_ERR_NOMEM;
        }
        if (r->resolved) {
            resolved++;
            bd->resolved++;
            bc->resolved++;
        } else {
            open++;
            bd->open++;
            bc->open++;
        }
    }
    if (nd) /* NULL when there is nothing to sort, which qsort may not be given */
        qsort(by_day, nd, sizeof *by_day, bucket_cmp);
    if (nc)
        qsort(by_class, nc, sizeof *by_class, bucket_cmp);

    char now[40];
    pb_format_utc((int64_t)time(NULL) * 1000000, now, sizeof now);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>posbridge report</title>\n<style>",
          f);
    fputs(css, f);
    fputs("</style></head><body>\n<h1>posbridge report</h1>\n<p>journal <code>", f);
    esc(f, h->journal);
    fprintf(f, "</code>, made %s</p>\n", now);
    fprintf(f,
            "<p class=\"summary\"><span id=\"open-count\">%" PRIu64 " open</span>"
            "<span id=\"resolved-count\">%" PRIu64 " resolved</span>"
            "<span><i class=\"key open\"></i> open <i class=\"key resolved\"></i> resolved"
            "</span></p>\n",
            open, resolved);
    fputs("<h2>Discrepancies over time (days in ", f);
    esc(f, h->zone);
    fputs(")</h2>\n", f);
    size_t skip = nd > CHART_DAYS ? nd - CHART_DAYS : 0;
    chart(f, "chart-days", "discrepancies per day, open and resolved", "data-day", nd ? by_day + skip : NULL,
          nd - skip);
    if (skip)
        fprintf(f, "<p id=\"days-not-drawn\">The %zu most recent of %zu days with discrepancies "
                   "are drawn; every day is in the reconciliation below (or narrow the report "
                   "with --since and --until).</p>\n",
                nd - skip, nd);
    fputs("<h2>Discrepancies by class</h2>\n", f);
    chart(f, "chart-classes", "discrepancies per class, open and resolved", "data-class",
          by_class, nc);
    free(by_day);
    free(by_class);

    fputs("<h2>Reconciliation</h2>\n<table id=\"days\"><tr><th>day</th><th>transactions</th>"
          "<th>discrepancies</th><th>requested</th><th>charged</th><th>difference</th></tr>\n",
          f);
    for (size_t i = 0; i < h->n_days; i++) {
        const struct hday *d = &h->days[i];
        char a[PB_MONEY_FMT_MAX], b[PB_MONEY_FMT_MAX], c[PB_MONEY_FMT_MAX];
        pb_money_format(a, sizeof a, d->requested, d->currency);
        pb_money_format(b, sizeof b, d->charged, d->currency);
        pb_money_format(c, sizeof c, d->charged - d->requested, d->currency);
        fprintf(f, "<tr><td>");
        esc(f, d->date);
        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
                   "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                   "</tr>\n",
                d->count, d->disc, a, b, c);
    }
    fputs("</table>\n", f);
    if (h->n_batches) {
        fputs("<h2>Terminal batches</h2>\n<p>Each end of day's total against the approvals the "
              "bridge saw since the previous end of day.</p>\n<table id=\"batches\"><tr>"
              "<th>end of day (UTC)</th><th>row</th><th>terminal</th><th>bridge</th>"
              "<th>difference</th><th></th></tr>\n",
              f);
        for (size_t i = 0; i < h->n_batches; i++) {
            const struct hbatch *x = &h->batches[i];
            char when[40], t[PB_MONEY_FMT_MAX] = "-", br[PB_MONEY_FMT_MAX], d[PB_MONEY_FMT_MAX] = "-";
            pb_format_utc(x->b.at_utc_us, when, sizeof when);
            pb_money_format(br, sizeof br, x->b.bridge, x->b.currency);
            if (x->b.has_total) {
                pb_money_format(t, sizeof t, x->b.terminal, x->b.currency);
                pb_money_format(d, sizeof d, x->b.terminal - x->b.bridge, x->b.currency);
            }
            fprintf(f, "<tr class=\"%s\"><td>%s</td><td class=\"n\">%" PRId64 "</td>"
                       "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>",
                    x->b.match ? "batch-ok" : "batch-mismatch", when, x->b.eod_id, t, br, d);
            esc(f, x->verdict);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    if (h->n_events) {
        fputs("<h2>Lane events</h2>\n<table id=\"lane-events\"><tr><th>at (UTC)</th><th>run</th>"
              "<th>event</th><th>details</th></tr>\n",
              f);
        for (size_t i = 0; i < h->n_events; i++) {
            const struct pb_journal_event_row *e = &h->events[i];
            char when[40];
            pb_format_utc(e->at_utc_us, when, sizeof when);
            fprintf(f, "<tr class=\"event\"><td>%s</td><td class=\"n\">%" PRId64 "</td><td>",
                    when, e->run_id);
            esc(f, e->kind);
            fputs("</td><td>", f);
            esc(f, e->text);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("<h2>Transactions</h2>\n<table id=\"transactions\"><tr><th>#</th>"
          "<th>started (UTC)</th><th>type</th><th>class</th><th>severity</th>"
          "<th>requested</th><th>charged</th><th>status</th><th>why / action</th></tr>\n",
          f);
    for (size_t i = 0; i < h->n_rows; i++) {
        const struct hrow *r = &h->rows[i];
        char when[40] = "-", req[PB_MONEY_FMT_MAX] = "-", chg[PB_MONEY_FMT_MAX] = "-";
        if (r->started)
            pb_format_utc(r->started, when, sizeof when);
        if (r->has_req)
            pb_money_format(req, sizeof req, r->req, r->req_ccy);
        if (r->has_chg)
            pb_money_format(chg, sizeof chg, r->chg, r->ccy);
        fprintf(f, "<tr class=\"%s\" data-id=\"%" PRId64 "\"><td>%" PRId64 "</td><td>%s</td><td>%s"
                   "</td><td>",
                !r->disc ? "txn" : r->resolved ? "disc-resolved" : "disc-open", r->id, r->id,
                when, pb_txn_name(r->type));
        esc(f, r->cls);
        fprintf(f, "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>",
                r->disc ? pb_severity_name(r->severity) : "", req, chg);
        if (r->disc && r->resolved) {
            char at[40] = "-";
            if (r->resolved_at)
                pb_format_utc(r->resolved_at, at, sizeof at);
            fputs("resolved: ", f);
            esc(f, r->resolution);
            fputs(" by ", f);
            esc(f, r->resolved_by[0] ? r->resolved_by : "?");
            fprintf(f, " at %s", at);
            if (r->resolution_note) {
                fputs(": ", f);
                esc(f, r->resolution_note);
            }
            if (r->n_resolutions > 1)
                fprintf(f, " (latest of %u)", r->n_resolutions);
        } else if (r->disc) {
            fputs("open", f);
        }
        fputs("</td><td>", f);
        esc(f, r->detail);
        if (r->disc && !r->resolved && r->cls_id != PB_CLASS_NONE) {
            fputs("<br><b>action:</b> ", f);
            esc(f, pb_class_action(r->cls_id));
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
    if (fflush(f) != 0 || ferror(f))
        return PB_ERR_IO;
    return PB_OK;
}

void pb_html_report_free(struct pb_html_report *h)
{
    if (!h)
        return;
    free(h->journal);
    for (size_t i = 0; i < h->n_rows; i++)
        free(h->rows[i].resolution_note);
    free(h->rows);
    free(h->days);
    free(h->events);
    free(h->batches);
    free(h);
}
