/* report_html: `posbridge report --html FILE`, one self-contained page (inline CSS and
 * inline SVG, no script, nothing fetched) for the back office: discrepancies over time
 * and by class, open against resolved, the per-day reconciliation, and the list.
 *
 *   pb_html_report_new()    start a page for a journal
 *   pb_html_report_row()    one journal row (the rows the report selected)
 *   pb_html_report_day()    one reconciliation line (day and currency)
 *   pb_html_report_event()  one lane event (link lost, restart, burst, ...)
 *   pb_html_report_batch()  one terminal batch against the bridge's approvals
 *   pb_html_report_zone()   whose days the chart counts (default UTC)
 *   pb_html_report_write()  the page
 *   pb_html_report_free()   NULL is fine
 *
 * The chart elements carry their figures as attributes (class "bar", data-day,
 * data-class, data-open, data-resolved) so a test can read them from a rendered page.
 * Ownership: strings passed in are copied. */
#ifndef PB_REPORT_HTML_H
#define PB_REPORT_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "journal.h"

struct pb_html_report;

/* *out = NULL on failure. PB_OK, PB_ERR_INVAL, PB_ERR_NOMEM. */
int pb_html_report_new(const char *journal_path, struct pb_html_report **out);
/* PB_OK or PB_ERR_NOMEM. */
int pb_html_report_row(struct pb_html_report *h, const struct pb_journal_row *row);
int pb_html_report_day(struct pb_html_report *h, const char *date, uint16_t currency,
                       uint64_t count, uint64_t discrepancies, int64_t requested,
                       int64_t charged);
int pb_html_report_event(struct pb_html_report *h, const struct pb_journal_event_row *ev);
/* One terminal batch (cmd_report.c's comparison): verdict is copied. */
struct pb_html_batch {
    int64_t at_utc_us, eod_id;
    uint16_t currency;
    bool has_total, match;
    int64_t terminal, bridge;
    const char *verdict;
};
int pb_html_report_batch(struct pb_html_report *h, const struct pb_html_batch *b);
/* label: the zone's name for the page (copied, at most 63 bytes); local: days by
 * localtime() (the caller has set TZ), else by gmtime(). */
void pb_html_report_zone(struct pb_html_report *h, const char *label, bool local);
/* PB_OK or PB_ERR_IO (errno kept). */
int pb_html_report_write(struct pb_html_report *h, FILE *out);
void pb_html_report_free(struct pb_html_report *h);

#endif
