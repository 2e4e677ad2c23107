/* posbridge report: discrepancies with evidence and suggested action, and the per-day
 * reconciliation of what was asked against what was charged (docs/DISCREPANCIES.md,
 * "Resolution and reconciliation"). Reads the journal read-only, so it can run while
 * the bridge writes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "grow.h"
#include "commands.h"
#include "journal.h"
#include "money.h"
#include "pb_error.h"
#include "report_html.h"
#include "safefile.h"
#include "tracker.h"
#include "txn_json.h"

enum format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_HTML };
static const char *const fmt_option[] = {"", "--json", "--csv", "--html"};

struct day {
    char date[11]; /* YYYY-MM-DD, in the report's zone */
    uint16_t currency;
    uint64_t count, discrepancies;
    int64_t requested, charged; /* approved financial transactions only */
    uint64_t by_class[PB_CLASS__COUNT];
};


struct report {
    enum format fmt;
    bool all; /* every transaction, not only discrepancies */
    FILE *out;
    json_t *json_rows;
    size_t n_days, cap_days;
    struct day *days; /* one per day (in the report's zone) and currency, as first met */
    uint64_t open_disc, resolved_disc;
    struct pb_html_report *html; /* --html */
    bool nomem;                  /* a row or day could not be kept: the report fails */
    const char *zone;            /* whose days: "UTC" or the --tz zone */
    /* terminal batches (batch.h) */
    bool batches_off;            /* only some rows are read: a batch's sum would be wrong */
    struct pb_batch *acc;
    struct pb_batch_result *batches;
    size_t n_batches, cap_batches;
    uint64_t eods;               /* end of day rows seen */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge report [--journal FILE] [OPTIONS]\n"
            "\n"
            "Lists discrepancies with their evidence and suggested action, then reconciles\n"
            "each day: count, sum requested, sum charged, difference, and counts by class.\n"
            "\n"
            "options:\n"
            "  --journal FILE   the journal (default: the bridge's default journal)\n"
            "  --all            list every transaction, not only discrepancies\n"
            "  --open           only unresolved discrepancies\n"
            "  --resolved       only resolved discrepancies\n"
            "  --class NAME     only this class (ok, overcharge, in_doubt, ...)\n"
            "  --since DATE     from this day (YYYY-MM-DD)\n"
            "  --until DATE     up to this day, which is left out\n"
            "  --tz ZONE        days in ZONE: UTC (default), local (this machine's, or $TZ)\n"
            "                   or a tzdata name such as Europe/Berlin: the shop's days\n"
            "  --run N          only bridge run N\n"
            "  --lane-events    list what happened on the lane instead (link lost and back,\n"
            "                   restarts, journal errors, burst alerts); --since, --until\n"
            "                   and --run apply\n"
            "  -h, --help       this text\n"
            "output (one of these; text without any):\n"
            "  --json           JSON: {\"transactions\": [...], \"days\": [...]}\n"
            "  --csv            CSV of the transactions\n"
            "  --html FILE      a self-contained page (inline CSS and SVG, no script): charts\n"
            "                   of discrepancies per day and per class, open and resolved,\n"
            "                   the reconciliation and the transactions; - for stdout\n"
            "\n"
            "example:\n"
            "  posbridge report --journal /var/lib/posbridge/lane1/journal.db --open\n"
            "  posbridge report --journal lane1.db --since 2026-11-01 --html november.html\n"
            "  posbridge report --journal lane1.db --lane-events --since 2026-12-01\n");
}

static int exclusive(const char *a, const char *b)
{
    fprintf(stderr, "posbridge report: %s and %s exclude each other\n", a, b);
    return EX_USAGE;
}

/* Which days the report counts in: UTC (the default), or a zone's (--tz; the zone is
 * then the process's TZ, so localtime and mktime speak it). */
static bool days_local;

/* --tz ZONE: "UTC", "local" (this machine's zone, or $TZ), or a zone name that tzdata
 * has (/usr/share/zoneinfo/Europe/Berlin). glibc takes any other name silently as UTC,
 * so it is refused here. The label for headers is set in *label. */
static int set_days_zone(const char *z, const char **label)
{
    if (strcmp(z, "UTC") == 0) {
        days_local = false;
        *label = "UTC";
        return 0;
    }
    if (strcmp(z, "local") != 0) {
        char path[256];
        struct stat st;
        if (!z[0] || z[0] == '/' || strstr(z, "..") ||
            snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", z) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            return -1;
        setenv("TZ", z, 1);
    }
    tzset();
    days_local = true;
    const char *tz = getenv("TZ");
    *label = tz && tz[0] ? tz : "local";
    return 0;
}

/* A calendar day, at its midnight in the report's zone: strptime takes 2026-02-30 (any
 * day 1..31), which timegm would turn into March 2 without a word; a day that does not
 * come back as itself is refused. */
static int parse_day(const char *s, int64_t *utc_us)
{
    struct tm tm = {0};
    char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end)
        return -1;
    struct tm want = tm;
    tm.tm_isdst = -1;
    time_t t = days_local ? mktime(&tm) : timegm(&tm);
    if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon || tm.tm_year != want.tm_year)
        return -1;
    *utc_us = (int64_t)t * 1000000;
    return 0;
}

static void day_of(int64_t utc_us, char out[11])
{
    time_t s = (time_t)(utc_us / 1000000);
    struct tm tm;
    if (days_local)
        localtime_r(&s, &tm);
    else
        gmtime_r(&s, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The reconciliation row of one day in one currency, added when new (a journal may
 * hold years of days: no limit but memory); NULL, and the report failed, when memory
 * runs out. Rows come in journal order, so the day sought is nearly always among the
 * last few: the search runs backwards. */
static struct day *day_row(struct report *r, const char *date, uint16_t ccy)
{
    for (size_t i = r->n_days; i-- > 0;)
        if (r->days[i].currency == ccy && strcmp(r->days[i].date, date) == 0)
            return &r->days[i];
    if (!pb_grow((void **)&r->days, &r->cap_days, r->n_days, sizeof *r->days)) {
        r->nomem = true;
        return NULL;
    }
    struct day *d = &r->days[r->n_days++];
    memset(d, 0, sizeof *d);
    memcpy(d->date, date, sizeof d->date);
    d->currency = ccy;
    return d;
}

/* Every row goes to the batch accumulator; a batch it closes is kept for the output. */
static void batch_row(struct report *r, const struct pb_journal_row *row)
{
    if (row->type == PB_TXN_END_OF_DAY)
        r->eods++;
    if (r->batches_off || !r->acc)
        return;
    struct pb_batch_fact fact = {
        .key = (uint64_t)row->id,         .id = row->id,
        .type = row->type,                .cls = row->cls,
        .pending = row->pending,          .result = row->result,
        .has_charged = row->has_charged,  .charged = row->charged,
        .currency = row->currency,        .has_requested = row->has_requested,
        .requested = row->requested,      .requested_currency = row->requested_currency,
        .at_utc_us = row->started_utc_us,
    };
    struct pb_batch_result res;
    int rc = pb_batch_add(r->acc, &fact, &res);
    if (rc < 0 ||
        (rc == 1 && !pb_grow((void **)&r->batches, &r->cap_batches, r->n_batches, sizeof res)))
        r->nomem = true;
    else if (rc == 1)
        r->batches[r->n_batches++] = res;
}

static void account(struct report *r, const struct pb_journal_row *row)
{
    char date[11];
    day_of(row->started_utc_us, date);
    /* A transaction counts in its answer's currency. Its amounts each go to their own
     * currency's row: a sale asked in EUR and charged in USD (currency_mismatch) leaves
     * the EUR row short and the USD row over, which is what the till and the bank
     * statement will show. */
    uint16_t req_ccy, ccy;
    pb_journal_row_currencies(row, &req_ccy, &ccy);
    struct day *d = day_row(r, date, ccy);
    if (!d)
        return;
    d->count++;
    if ((unsigned)row->cls < PB_CLASS__COUNT)
        d->by_class[row->cls]++;
    if (pb_class_is_discrepancy(row->cls))
        d->discrepancies++;
    batch_row(r, row);
    int sign = pb_money_sign(row->type);
    if (!sign || row->cls == PB_CLASS_VOIDED)
        return;
    /* What the register expected to be paid: not a declined sale, not the extra row of
     * a duplicate charge (its request is the first row's). */
    if (row->has_requested && row->cls != PB_CLASS_DUPLICATE && row->cls != PB_CLASS_DECLINED) {
        struct day *q = req_ccy == ccy ? d : day_row(r, date, req_ccy);
        if (q)
            q->requested += sign * row->requested;
    }
    if (row->has_charged && row->result == PB_RESULT_APPROVED)
        d->charged += sign * row->charged;
}

static const char *dir_word(enum pb_dir d)
{
    return d == PB_DIR_ECR ? "register->terminal" : d == PB_DIR_PT ? "terminal->register" : "?";
}

static void text_row(struct report *r, const struct pb_journal_row *row)
{
    char when[40], req[PB_MONEY_FMT_MAX] = "-", chg[PB_MONEY_FMT_MAX] = "-";
    uint16_t req_ccy, ccy;
    pb_journal_row_currencies(row, &req_ccy, &ccy);
    pb_format_utc(row->started_utc_us, when, sizeof when);
    if (row->has_requested)
        pb_money_format(req, sizeof req, row->requested, req_ccy);
    if (row->has_charged)
        pb_money_format(chg, sizeof chg, row->charged, ccy);
    bool disc = pb_class_is_discrepancy(row->cls);
    fprintf(r->out, "#%-5" PRId64 " %s  %-9s %-18s requested %-14s charged %-14s%s\n", row->id,
            when, pb_txn_name(row->type), row->pending ? "pending" : row->class_name, req, chg,
            row->resolved ? "  [resolved]" : "");
    if (!disc && !r->all)
        return;
    if (row->detail[0])
        fprintf(r->out, "        why: %s\n", row->detail);
    if (disc)
        fprintf(r->out, "        severity %s; action: %s\n", pb_severity_name(row->severity),
                pb_class_action(row->cls));
    if (row->resolved) {
        char at[40] = "-";
        if (row->resolved_utc_us)
            pb_format_utc(row->resolved_utc_us, at, sizeof at);
        fprintf(r->out, "        resolved: %s by %s at %s", row->resolution,
                row->resolved_by[0] ? row->resolved_by : "?", at);
        if (row->resolution_note[0])
            fprintf(r->out, ": %s", row->resolution_note);
        if (row->n_resolutions > 1)
            fprintf(r->out, " (the latest of %u resolutions)", row->n_resolutions);
        fputc('\n', r->out);
    }
    char refs[256] = "";
    size_t n = 0;
#define REF(label, v)                                                                          \
    if ((v)[0] && n < sizeof refs)                                                             \
        n += (size_t)snprintf(refs + n, sizeof refs - n, " %s=%s", label, v);
    REF("pos", row->pos_id);
    REF("tid", row->terminal_id);
    REF("trace", row->trace);
    REF("receipt", row->receipt);
    REF("ref", row->reference);
    REF("auth", row->auth_code);
    REF("result", row->result_text);
    REF("pan", row->pan_masked);
#undef REF
    if (refs[0])
        fprintf(r->out, "        refs:%s\n", refs);
    if (row->n_evidence) {
        fprintf(r->out, "        evidence (capture stream offsets):");
        for (unsigned i = 0; i < row->n_evidence; i++)
            fprintf(r->out, "%s %s@%" PRIu64 "+%u %s", i ? "," : "",
                    dir_word(row->evidence[i].dir), row->evidence[i].offset,
                    row->evidence[i].length, pb_kind_name(row->evidence[i].kind));
        fputc('\n', r->out);
    }
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(struct report *r, const struct pb_journal_row *row)
{
    char when[40], end[40] = "";
    pb_format_utc(row->started_utc_us, when, sizeof when);
    if (row->ended_utc_us)
        pb_format_utc(row->ended_utc_us, end, sizeof end);
    /* Each amount with its own currency: a currency_mismatch row must not read as two
     * amounts in one currency. */
    uint16_t req_ccy, ccy;
    pb_journal_row_currencies(row, &req_ccy, &ccy);
    fprintf(r->out, "%" PRId64 ",%" PRId64 ",%s,%s,%s,%s,", row->id, row->run_id, row->protocol,
            pb_txn_name(row->type), row->pending ? "pending" : row->class_name,
            pb_severity_name(row->severity));
    if (row->has_requested)
        fprintf(r->out, "%" PRId64 ",%u", row->requested, req_ccy);
    else
        fputc(',', r->out);
    fputc(',', r->out);
    if (row->has_charged)
        fprintf(r->out, "%" PRId64 ",%u", row->charged, ccy);
    else
        fputc(',', r->out);
    fprintf(r->out, ",%s,%s,%s,", pb_result_name(row->result), when, end);
    csv_field(r->out, row->detail);
    fprintf(r->out, ",%s,", row->resolved ? row->resolution : "");
    csv_field(r->out, row->resolution_note);
    fputc(',', r->out);
    csv_field(r->out, row->resolved_by);
    char at[40] = "";
    if (row->resolved_utc_us)
        pb_format_utc(row->resolved_utc_us, at, sizeof at);
    fprintf(r->out, ",%s,%u\n", at, row->n_resolutions);
}

/* One row of --lane-events, in the report's format. */
static int on_event(const struct pb_journal_event_row *ev, void *ctx)
{
    struct report *r = ctx;
    char when[40];
    pb_format_utc(ev->at_utc_us, when, sizeof when);
    switch (r->fmt) {
    case FMT_JSON: {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(ev->id));
        if (ev->run_id)
            json_object_set_new(o, "run_id", json_integer(ev->run_id));
        json_object_set_new(o, "at", json_string(when));
        json_object_set_new(o, "kind", json_string(ev->kind));
        json_object_set_new(o, "text", json_string(ev->text));
        json_array_append_new(r->json_rows, o);
        break;
    }
    case FMT_CSV:
        fprintf(r->out, "%" PRId64 ",%" PRId64 ",%s,%s,", ev->id, ev->run_id, when, ev->kind);
        csv_field(r->out, ev->text);
        fputc('\n', r->out);
        break;
    default:
        fprintf(r->out, "%s  run %-4" PRId64 " %-14s %s\n", when, ev->run_id, ev->kind, ev->text);
        break;
    }
    return 0;
}

/* --lane-events: the journal's events table in the report's format. */
static int lane_events(struct report *r, const char *journal, const struct pb_journal_filter *f)
{
    if (r->fmt == FMT_JSON)
        r->json_rows = json_array();
    if (r->fmt == FMT_CSV)
        fprintf(r->out, "id,run_id,at,kind,text\n");
    int rc = pb_journal_foreach_event_path(journal, f, on_event, r);
    if (rc < 0) {
        json_decref(r->json_rows);
        fprintf(stderr, "posbridge report: %s: %s (is it a posbridge journal?)\n", journal,
                pb_strerror(rc));
        return EX_DATAERR;
    }
    if (r->fmt == FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "journal", json_string(journal));
        json_object_set_new(o, "events", r->json_rows);
        json_dumpf(o, r->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', r->out);
        json_decref(o);
    } else if (r->fmt == FMT_TEXT && rc == 0) {
        fprintf(r->out, "no lane events\n");
    }
    return 0;
}

/* The journal row as the tracker's transaction, so one function writes the JSON of
 * both (--events, decode --json and report --json share their keys). */
static void row_to_txn(const struct pb_journal_row *row, struct pb_txn *t)
{
    memset(t, 0, sizeof *t);
    t->id = row->txn_seq;
    t->protocol = row->protocol;
    t->type = row->type;
    t->cls = row->cls;
    t->has_requested = row->has_requested;
    t->requested = row->requested;
    t->requested_currency = row->requested_currency;
    t->has_charged = row->has_charged;
    t->charged = row->charged;
    t->currency = row->currency;
    t->has_amount_due = row->has_amount_due;
    t->amount_due = row->amount_due;
    t->result = row->result;
    t->result_code = row->result_code;
    memcpy(t->result_text, row->result_text, sizeof t->result_text);
    memcpy(t->pos_id, row->pos_id, sizeof t->pos_id);
    memcpy(t->terminal_id, row->terminal_id, sizeof t->terminal_id);
    memcpy(t->trace, row->trace, sizeof t->trace);
    memcpy(t->receipt, row->receipt, sizeof t->receipt);
    memcpy(t->reference, row->reference, sizeof t->reference);
    memcpy(t->auth_code, row->auth_code, sizeof t->auth_code);
    memcpy(t->pan, row->pan_masked, sizeof t->pan);
    t->started.utc_us = row->started_utc_us;
    t->ended.utc_us = row->ended_utc_us;
    t->latency_us = row->latency_us;
    t->naks = row->naks;
    t->repeats = row->repeats;
    t->checksum_errors = row->checksum_errors;
    t->intermediates = row->intermediates;
    t->related_id = row->related_seq;
    memcpy(t->detail, row->detail, sizeof t->detail);
    t->n_evidence = row->n_evidence;
    memcpy(t->evidence, row->evidence, sizeof t->evidence);
}

static json_t *json_row(const struct pb_journal_row *row)
{
    struct pb_txn t;
    row_to_txn(row, &t);
    json_t *o = pb_txn_json(&t);
    if (!o)
        return NULL;
    /* The journal's own id is what `posbridge resolve` takes; the tracker's stays. */
    json_object_set_new(o, "id", json_integer(row->id));
    json_object_set_new(o, "txn_seq", json_integer((json_int_t)row->txn_seq));
    json_object_set_new(o, "run_id", json_integer(row->run_id));
    if (row->pending)
        json_object_set_new(o, "class", json_string("pending"));
    if (row->related)
        json_object_set_new(o, "related_id", json_integer(row->related));
    json_object_set_new(o, "resolved", json_boolean(row->resolved));
    if (row->resolved) {
        char at[40];
        json_object_set_new(o, "resolution", json_string(row->resolution));
        json_t *res = json_object();
        json_object_set_new(res, "action", json_string(row->resolution));
        json_object_set_new(res, "note", json_string(row->resolution_note));
        json_object_set_new(res, "who", json_string(row->resolved_by));
        pb_format_utc(row->resolved_utc_us, at, sizeof at);
        json_object_set_new(res, "at", json_string(at));
        json_object_set_new(res, "count", json_integer(row->n_resolutions));
        json_object_set_new(o, "resolved_detail", res);
    }
    return o;
}

static int on_row(const struct pb_journal_row *row, void *ctx)
{
    struct report *r = ctx;
    account(r, row);
    bool disc = pb_class_is_discrepancy(row->cls) || row->pending;
    if (disc && row->resolved)
        r->resolved_disc++;
    else if (disc)
        r->open_disc++;
    if (!r->all && !disc)
        return 0;
    switch (r->fmt) {
    case FMT_TEXT: text_row(r, row); break;
    case FMT_CSV: csv_row(r, row); break;
    case FMT_JSON: json_array_append_new(r->json_rows, json_row(row)); break;
    case FMT_HTML:
        if (pb_html_report_row(r->html, row) != PB_OK)
            r->nomem = true;
        break;
    }
    return 0;
}

static void text_batches(struct report *r)
{
    if (r->batches_off) {
        if (r->eods)
            fprintf(r->out, "\nterminal batches: not compared when --run, --class, --open or "
                            "--resolved leave rows out\n");
        return;
    }
    if (!r->n_batches)
        return;
    fprintf(r->out, "\nterminal batches (each end of day's total against the approvals the "
                    "bridge saw since\nthe previous end of day; the first one in the range only "
                    "opens a batch)\n");
    fprintf(r->out, "  %-27s %-7s %16s %16s %16s\n", "end of day (UTC)", "row", "terminal",
            "bridge", "difference");
    for (size_t i = 0; i < r->n_batches; i++) {
        const struct pb_batch_result *b = &r->batches[i];
        char when[40], t[PB_MONEY_FMT_MAX] = "-", br[PB_MONEY_FMT_MAX], d[PB_MONEY_FMT_MAX] = "-";
        char verdict[400];
        pb_format_utc(b->at_utc_us, when, sizeof when);
        pb_money_format(br, sizeof br, b->bridge, b->currency);
        if (b->has_total) {
            pb_money_format(t, sizeof t, b->terminal, b->currency);
            pb_money_format(d, sizeof d, b->terminal - b->bridge, b->currency);
        }
        pb_batch_verdict(b, verdict, sizeof verdict);
        fprintf(r->out, "  %-27s #%-6" PRId64 " %16s %16s %16s  %s\n", when, b->eod_id, t, br, d,
                verdict);
    }
}

static json_t *json_batches(struct report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_batches && !r->batches_off; i++) {
        const struct pb_batch_result *b = &r->batches[i];
        char when[40], verdict[400];
        pb_format_utc(b->at_utc_us, when, sizeof when);
        pb_batch_verdict(b, verdict, sizeof verdict);
        json_t *o = json_object();
        json_object_set_new(o, "end_of_day_id", json_integer(b->eod_id));
        json_object_set_new(o, "at", json_string(when));
        json_object_set_new(o, "currency", json_integer(b->currency));
        if (b->has_total) {
            json_object_set_new(o, "terminal_total", json_integer(b->terminal));
            json_object_set_new(o, "difference", json_integer(b->terminal - b->bridge));
        }
        json_object_set_new(o, "bridge_total", json_integer(b->bridge));
        json_object_set_new(o, "approvals", json_integer((json_int_t)b->approvals));
        json_object_set_new(o, "match", json_boolean(pb_batch_matches(b)));
        json_t *d = json_array();
        for (unsigned k = 0; k < b->n_doubt && k < PB_BATCH_DOUBT_MAX; k++) {
            json_t *x = json_object();
            json_object_set_new(x, "id", json_integer(b->doubt_id[k]));
            json_object_set_new(x, "requested", json_integer(b->doubt_amount[k]));
            json_array_append_new(d, x);
        }
        json_object_set_new(o, "in_doubt", d);
        json_object_set_new(o, "verdict", json_string(verdict));
        json_array_append_new(a, o);
    }
    return a;
}

static void text_days(struct report *r)
{
    fprintf(r->out, "\nreconciliation (%s days, per currency; purchases minus refunds; requested "
                    "leaves out declines,\nvoided sales and the extra row of a duplicate; charged "
                    "counts approvals; each amount\nin its own currency: a sale asked in EUR and "
                    "charged in USD leaves EUR short, USD over)\n",
            r->zone);
    fprintf(r->out, "  %-10s %6s %6s %16s %16s %16s\n", "day", "txns", "disc", "requested",
            "charged", "difference");
    for (size_t i = 0; i < r->n_days; i++) {
        struct day *d = &r->days[i];
        char a[PB_MONEY_FMT_MAX], b[PB_MONEY_FMT_MAX], c[PB_MONEY_FMT_MAX];
        pb_money_format(a, sizeof a, d->requested, d->currency);
        pb_money_format(b, sizeof b, d->charged, d->currency);
        pb_money_format(c, sizeof c, d->charged - d->requested, d->currency);
        fprintf(r->out, "  %-10s %6" PRIu64 " %6" PRIu64 " %16s %16s %16s\n", d->date, d->count,
                d->discrepancies, a, b, c);
        fprintf(r->out, "             by class:");
        for (int k = 1; k < PB_CLASS__COUNT; k++)
            if (d->by_class[k])
                fprintf(r->out, " %s=%" PRIu64, pb_class_name((enum pb_class)k), d->by_class[k]);
        fputc('\n', r->out);
    }
    text_batches(r);
    fprintf(r->out, "\ndiscrepancies: %" PRIu64 " open, %" PRIu64 " resolved\n", r->open_disc,
            r->resolved_disc);
}

static json_t *json_days(struct report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_days; i++) {
        struct day *d = &r->days[i];
        json_t *o = json_object();
        json_object_set_new(o, "day", json_string(d->date));
        json_object_set_new(o, "currency", json_integer(d->currency));
        json_object_set_new(o, "transactions", json_integer((json_int_t)d->count));
        json_object_set_new(o, "discrepancies", json_integer((json_int_t)d->discrepancies));
        json_object_set_new(o, "requested", json_integer(d->requested));
        json_object_set_new(o, "charged", json_integer(d->charged));
        json_object_set_new(o, "difference", json_integer(d->charged - d->requested));
        json_t *bc = json_object();
        for (int k = 1; k < PB_CLASS__COUNT; k++)
            if (d->by_class[k])
                json_object_set_new(bc, pb_class_name((enum pb_class)k),
                                    json_integer((json_int_t)d->by_class[k]));
        json_object_set_new(o, "by_class", bc);
        json_array_append_new(a, o);
    }
    return a;
}

static int on_html_event(const struct pb_journal_event_row *ev, void *ctx)
{
    return pb_html_report_event(ctx, ev) == PB_OK ? 0 : PB_ERR_NOMEM;
}

/* The page: the rows and days gathered, and the lane's events in the same time range. */
static int write_html(struct report *r, const char *path, const char *journal,
                      const struct pb_journal_filter *f)
{
    int rc = pb_journal_foreach_event_path(journal, f, on_html_event, r->html);
    if (rc < 0) {
        fprintf(stderr, "posbridge report: %s: %s\n", journal,
                rc == PB_ERR_NOMEM ? "out of memory" : pb_strerror(rc));
        return rc == PB_ERR_NOMEM ? EX_OSERR : EX_DATAERR;
    }
    for (size_t i = 0; i < r->n_batches && !r->batches_off; i++) {
        const struct pb_batch_result *b = &r->batches[i];
        char verdict[400];
        pb_batch_verdict(b, verdict, sizeof verdict);
        struct pb_html_batch hb = {b->at_utc_us, b->eod_id,   b->currency, b->has_total,
                                   pb_batch_matches(b), b->terminal, b->bridge,  verdict};
        if (pb_html_report_batch(r->html, &hb) != PB_OK) {
            fprintf(stderr, "posbridge report: out of memory\n");
            return EX_OSERR;
        }
    }
    for (size_t i = 0; i < r->n_days; i++) {
        const struct day *d = &r->days[i];
        if (pb_html_report_day(r->html, d->date, d->currency, d->count, d->discrepancies,
                               d->requested, d->charged) != PB_OK) {
            fprintf(stderr, "posbridge report: out of memory\n");
            return EX_OSERR;
        }
    }
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *out = stdout;
    char why[PATH_MAX + 200];
    /* The page names amounts and masked cards: 0600, and never through a planted link. */
    if (!to_stdout && pb_safefile_fopen(path, O_WRONLY | O_TRUNC, &out, why, sizeof why) != PB_OK) {
        fprintf(stderr, "posbridge report: %s\n", why);
        return EX_CANTCREAT;
    }
    int err = pb_html_report_write(r->html, out);
    if (!to_stdout && fclose(out) != 0)
        err = PB_ERR_IO;
    if (err != PB_OK) {
        fprintf(stderr, "posbridge report: writing '%s': %s\n", path, strerror(errno));
        return EX_IOERR;
    }
    if (!to_stdout)
        fprintf(stderr, "posbridge report: wrote %s: %" PRIu64 " open, %" PRIu64
                        " resolved discrepancies\n",
                path, r->open_disc, r->resolved_disc);
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'}, {"all", no_argument, NULL, 'a'},
        {"open", no_argument, NULL, 'o'},          {"resolved", no_argument, NULL, 'r'},
        {"class", required_argument, NULL, 'c'},   {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},   {"run", required_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'J'},          {"csv", no_argument, NULL, 'C'},
        {"html", required_argument, NULL, 'H'},    {"lane-events", no_argument, NULL, 'E'},
        {"tz", required_argument, NULL, 'Z'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct report r = {.out = stdout, .zone = "UTC"};
    struct pb_journal_filter f = {0};
    const char *journal = NULL;
    const char *html_path = NULL;
    const char *txn_only = NULL; /* an option about transactions, for --lane-events */
    const char *since = NULL, *until = NULL;
    days_local = false;
    bool events = false;
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': journal = optarg; break;
        case 'a':
            r.all = true;
            txn_only = "--all";
            break;
        case 'E': events = true; break;
        case 'o':
        case 'r': {
            enum pb_journal_resolved_filter want =
                c == 'o' ? PB_JOURNAL_UNRESOLVED : PB_JOURNAL_RESOLVED;
            if (f.resolved != PB_JOURNAL_ANY && f.resolved != want)
                return exclusive("--open", "--resolved");
            f.resolved = want;
            txn_only = c == 'o' ? "--open" : "--resolved";
            break;
        }
        case 'J':
        case 'C':
        case 'H': {
            enum format want = c == 'J' ? FMT_JSON : c == 'C' ? FMT_CSV : FMT_HTML;
            if (r.fmt != FMT_TEXT && r.fmt != want)
                return exclusive(fmt_option[r.fmt], fmt_option[want]);
            r.fmt = want;
            if (c == 'H')
                html_path = optarg;
            break;
        }
        case 'c': {
            int k = pb_class_from_name(optarg);
            if (k < 0) {
                fprintf(stderr, "posbridge report: unknown class '%s'\n", optarg);
                return EX_USAGE;
            }
            f.by_class = true;
            f.cls = (enum pb_class)k;
            r.all = true;
            txn_only = "--class";
            break;
        }
        case 's': since = optarg; break;
        case 'u': until = optarg; break;
        case 'Z':
            if (set_days_zone(optarg, &r.zone) < 0) {
                fprintf(stderr, "posbridge report: --tz: unknown time zone '%s' (UTC, local, or a "
                                "name under /usr/share/zoneinfo such as Europe/Berlin)\n",
                        optarg);
                return EX_USAGE;
            }
            break;
        case 'R': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v <= 0) {
                fprintf(stderr, "posbridge report: --run: '%s' is not a run number\n", optarg);
                return EX_USAGE;
            }
            f.run_id = v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option("posbridge report", c, before, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "posbridge report: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    /* Days are read once the zone is known, whatever the order of the options. */
    for (int i = 0; i < 2; i++) {
        const char *day = i ? until : since;
        if (day && parse_day(day, i ? &f.until_utc_us : &f.since_utc_us) < 0) {
            fprintf(stderr, "posbridge report: --%s: '%s' is not a YYYY-MM-DD day\n",
                    i ? "until" : "since", day);
            return EX_USAGE;
        }
    }
    r.batches_off = f.run_id || f.by_class || f.resolved != PB_JOURNAL_ANY;
    if (f.since_utc_us && f.until_utc_us && f.until_utc_us <= f.since_utc_us) {
        fprintf(stderr, "posbridge report: --until must be a later day than --since (--until "
                        "is the first day left out)\n");
        return EX_USAGE;
    }
    if (events && (txn_only || r.fmt == FMT_HTML))
        return exclusive("--lane-events", txn_only ? txn_only : "--html");
    char *def = NULL;
    if (!journal)
        journal = def = pb_default_journal_path();
    if (!journal || access(journal, R_OK) != 0) {
        fprintf(stderr, "posbridge report: cannot read journal %s: %s\n",
                journal ? journal : "?", strerror(errno));
        free(def);
        return EX_NOINPUT;
    }
    if (events) {
        int rc = lane_events(&r, journal, &f);
        free(def);
        return rc;
    }
    if (r.fmt == FMT_JSON)
        r.json_rows = json_array();
    if (r.fmt == FMT_CSV)
        fprintf(r.out, "id,run_id,protocol,type,class,severity,requested,requested_currency,"
                       "charged,currency,result,started,ended,detail,resolution,"
                       "resolution_note,resolved_by,resolved_at,resolutions\n");
    if (r.fmt == FMT_HTML && pb_html_report_new(journal, &r.html) != PB_OK) {
        free(def);
        return EX_OSERR;
    }
    if (r.html)
        pb_html_report_zone(r.html, r.zone, days_local);
    if (!r.batches_off)
        r.acc = pb_batch_new(SIZE_MAX / 2); /* NULL: nomem below */
    r.nomem = !r.batches_off && !r.acc;
    int rc = r.nomem ? 0 : pb_journal_foreach_path(journal, &f, on_row, &r);
    if (rc < 0 || r.nomem) {
        if (rc < 0)
            fprintf(stderr, "posbridge report: %s: %s (is it a posbridge journal?)\n", journal,
                    pb_strerror(rc));
        else
            fprintf(stderr, "posbridge report: out of memory\n");
        pb_html_report_free(r.html);
        json_decref(r.json_rows);
        free(r.days);
        free(r.batches);
        pb_batch_free(r.acc);
        free(def);
        return rc < 0 ? EX_DATAERR : EX_OSERR;
    }
    if (r.fmt == FMT_TEXT) {
        if (!r.open_disc && !r.resolved_disc && !r.all)
            fprintf(r.out, "no discrepancies\n");
        text_days(&r);
    } else if (r.fmt == FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "journal", json_string(journal));
        json_object_set_new(o, "transactions", r.json_rows);
        json_object_set_new(o, "days_zone", json_string(r.zone));
        json_object_set_new(o, "days", json_days(&r));
        json_object_set_new(o, "batches", json_batches(&r));
        json_object_set_new(o, "open_discrepancies", json_integer((json_int_t)r.open_disc));
        json_object_set_new(o, "resolved_discrepancies",
                            json_integer((json_int_t)r.resolved_disc));
        json_dumpf(o, r.out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', r.out);
        json_decref(o);
    } else if (r.fmt == FMT_HTML) {
        rc = write_html(&r, html_path, journal, &f);
        pb_html_report_free(r.html);
        free(r.days);
        free(r.batches);
        pb_batch_free(r.acc);
        free(def);
        return rc;
    }
    free(r.days);
    free(r.batches);
    pb_batch_free(r.acc);
    free(def);
    return 0;
}
