#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_impl.h"
#include "pb_error.h"

static const char foreach_sql[] =
    "SELECT t.id, t.run_id, t.txn_seq, t.protocol, t.type, t.state, t.class, t.severity,"
    " t.requested, t.requested_currency, t.charged, t.currency, t.amount_due, t.result,"
    " t.result_code, t.result_text, t.pos_id, t.terminal_id, t.trace, t.receipt, t.reference,"
    " t.auth_code, t.pan_masked, t.started_utc, t.ended_utc, t.latency_us, t.naks, t.repeats,"
    " t.checksum_errors, t.intermediates, t.related, t.related_seq, t.detail,"
    " r.action, r.note, r.who, r.at_utc,"
    " (SELECT count(*) FROM resolutions c WHERE c.txn_id = t.id)"
    " FROM transactions t"
    " LEFT JOIN resolutions r ON r.id ="
    "  (SELECT max(l.id) FROM resolutions l WHERE l.txn_id = t.id)"
    " WHERE (?1 IS NULL OR t.run_id = ?1)"
    " AND (?2 = 0 OR t.class IS ?3)"
    " AND (?5 IS NULL OR t.started_utc >= ?5)"
    " AND (?6 IS NULL OR t.started_utc < ?6)"
    " AND (?7 = 0"
    "  OR (?7 = 1 AND NOT EXISTS (SELECT 1 FROM resolutions r WHERE r.txn_id = t.id))"
    "  OR (?7 = 2 AND EXISTS (SELECT 1 FROM resolutions r WHERE r.txn_id = t.id)))"
    " AND (?8 IS NULL OR t.id = ?8)"
    " ORDER BY t.id";

static void col_str(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    copy_str(dst, cap, (const char *)sqlite3_column_text(s, i));
}

static int64_t col_i64(sqlite3_stmt *s, int i, bool *has, int64_t dflt)
{
    bool present = sqlite3_column_type(s, i) != SQLITE_NULL;
    if (has)
        *has = present;
    return present ? sqlite3_column_int64(s, i) : dflt;
}

static unsigned col_count(sqlite3_stmt *s, int i)
{
    int64_t v = sqlite3_column_int64(s, i);
    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

/* Severities are stored by pb_severity_name() (journal.c). */
static enum pb_severity severity_from_name(const char *name)
{
    for (int s = PB_SEV_NONE; s <= PB_SEV_CRITICAL; s++)
        if (strcmp(pb_severity_name((enum pb_severity)s), name) == 0)
            return (enum pb_severity)s;
    return PB_SEV_NONE;
}

/* A journal file is read back as untrusted: every name maps through a table, every
 * string is bounded, every number is range-checked before it lands in a narrower type. */
static void read_row(sqlite3_stmt *s, struct pb_journal_row *r)
{
    char name[PB_JOURNAL_NAME_MAX];
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    r->run_id = sqlite3_column_int64(s, 1);
    r->txn_seq = (uint64_t)sqlite3_column_int64(s, 2);
    col_str(s, 3, r->protocol, sizeof r->protocol);
    col_str(s, 4, name, sizeof name);
    int v = pb_txn_from_name(name);
    r->type = v < 0 ? PB_TXN_OTHER : (enum pb_txn_type)v;
    col_str(s, 5, name, sizeof name);
    r->pending = strcmp(name, "pending") == 0;
    col_str(s, 6, r->class_name, sizeof r->class_name);
    v = pb_class_from_name(r->class_name);
    r->cls = v < 0 ? PB_CLASS_NONE : (enum pb_class)v;
    col_str(s, 7, name, sizeof name);
    r->severity = severity_from_name(name);
    r->requested = col_i64(s, 8, &r->has_requested, 0);
    int64_t c = col_i64(s, 9, NULL, 0);
    r->requested_currency = c > 0 && c <= 999 ? (uint16_t)c : 0;
    r->charged = col_i64(s, 10, &r->has_charged, 0);
    c = col_i64(s, 11, NULL, 0);
    r->currency = c > 0 && c <= 999 ? (uint16_t)c : 0;
    r->amount_due = col_i64(s, 12, &r->has_amount_due, 0);
    col_str(s, 13, name, sizeof name);
    v = pb_result_from_name(name);
    r->result = v < 0 ? PB_RESULT_NONE : (enum pb_result)v;
    c = col_i64(s, 14, NULL, -1);
    r->result_code = c >= 0 && c <= INT32_MAX ? (int32_t)c : -1;
    col_str(s, 15, r->result_text, sizeof r->result_text);
    col_str(s, 16, r->pos_id, sizeof r->pos_id);
    col_str(s, 17, r->terminal_id, sizeof r->terminal_id);
    col_str(s, 18, r->trace, sizeof r->trace);
    col_str(s, 19, r->receipt, sizeof r->receipt);
    col_str(s, 20, r->reference, sizeof r->reference);
    col_str(s, 21, r->auth_code, sizeof r->auth_code);
    col_str(s, 22, r->pan_masked, sizeof r->pan_masked);
    r->started_utc_us = col_i64(s, 23, NULL, 0);
    r->ended_utc_us = col_i64(s, 24, NULL, 0);
    r->latency_us = col_i64(s, 25, NULL, -1);
    r->naks = col_count(s, 26);
    r->repeats = col_count(s, 27);
    r->checksum_errors = col_count(s, 28);
    r->intermediates = col_count(s, 29);
    r->related = col_i64(s, 30, NULL, 0);
    r->related_seq = (uint64_t)col_i64(s, 31, NULL, 0);
    col_str(s, 32, r->detail, sizeof r->detail);
    col_str(s, 33, r->resolution, sizeof r->resolution);
    r->resolved = r->resolution[0] != '\0';
    col_str(s, 34, r->resolution_note, sizeof r->resolution_note);
    col_str(s, 35, r->resolved_by, sizeof r->resolved_by);
    r->resolved_utc_us = col_i64(s, 36, NULL, 0);
    r->n_resolutions = col_count(s, 37);
}

static void read_evidence(sqlite3_stmt *s, struct pb_journal_row *r)
{
    sqlite3_bind_int64(s, 1, r->id);
    while (r->n_evidence < PB_EVIDENCE_MAX && sqlite3_step(s) == SQLITE_ROW) {
        struct pb_evidence *e = &r->evidence[r->n_evidence++];
        const char *dir = (const char *)sqlite3_column_text(s, 0);
        e->dir = dir && strcmp(dir, "ecr") == 0  ? PB_DIR_ECR
                 : dir && strcmp(dir, "pt") == 0 ? PB_DIR_PT
                                                 : PB_DIR_UNKNOWN;
        int64_t off = sqlite3_column_int64(s, 1), len = sqlite3_column_int64(s, 2);
        e->offset = off < 0 ? 0 : (uint64_t)off;
        e->length = len < 0 ? 0 : len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        int k = pb_kind_from_name((const char *)sqlite3_column_text(s, 3));
        e->kind = k < 0 ? PB_KIND_OTHER : (enum pb_kind)k;
    }
    sqlite3_reset(s);
}

int pb_journal_foreach(struct pb_journal *j, const struct pb_journal_filter *f,
                       pb_journal_row_cb cb, void *ctx)
{
    if (!j || !cb)
        return PB_ERR_INVAL;
    static const struct pb_journal_filter all;
    if (!f)
        f = &all;
    if (f->by_class && (unsigned)f->cls >= PB_CLASS__COUNT)
        return PB_ERR_INVAL;
    struct pb_journal_row *row = malloc(sizeof *row);
    if (!row)
        return PB_ERR_NOMEM;
    int rc = PB_OK, n = 0;
    sqlite3_stmt *s = NULL, *ev = NULL;
    pthread_mutex_lock(&j->db_mu);
    if (!j->db) { /* between the two halves of a failed recreation (journal.c) */
        rc = PB_ERR_DB;
        goto out;
    }
    if (sqlite3_prepare_v2(j->db, foreach_sql, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db,
                           "SELECT dir, stream_offset, length, kind FROM evidence"
                           " WHERE txn_id = ?1 ORDER BY seq",
                           -1, &ev, NULL) != SQLITE_OK) {
        rc = journal_db_fail(j, "foreach");
        goto out;
    }
    bind_i64_if(s, 1, f->run_id != 0, f->run_id);
    sqlite3_bind_int(s, 2, f->by_class);
    if (f->by_class && f->cls != PB_CLASS_NONE)
        sqlite3_bind_text(s, 3, pb_class_name(f->cls), -1, SQLITE_STATIC);
    bind_i64_if(s, 5, f->since_utc_us != 0, f->since_utc_us);
    bind_i64_if(s, 6, f->until_utc_us != 0, f->until_utc_us);
    sqlite3_bind_int(s, 7, (int)f->resolved);
    bind_i64_if(s, 8, f->txn_id != 0, f->txn_id);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_row(s, row);
        /* Discrepancy or not is the tracker's rule (pb_class_is_discrepancy), not SQL's. */
        if (f->discrepancies_only && (row->pending || !pb_class_is_discrepancy(row->cls)))
            continue;
        read_evidence(ev, row);
        n++;
        int stop = cb(row, ctx);
        if (stop) {
            rc = stop;
            goto out;
        }
    }
    rc = step == SQLITE_DONE ? n : journal_db_fail(j, "foreach");
out:
    sqlite3_finalize(s);
    sqlite3_finalize(ev);
    pthread_mutex_unlock(&j->db_mu);
    free(row);
    return rc;
}

int pb_journal_foreach_event(struct pb_journal *j, const struct pb_journal_filter *f,
                             pb_journal_event_cb cb, void *ctx)
{
    if (!j || !cb)
        return PB_ERR_INVAL;
    static const struct pb_journal_filter all;
    if (!f)
        f = &all;
    struct pb_journal_event_row ev;
    int rc = PB_OK, n = 0;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&j->db_mu);
    if (!j->db) {
        rc = PB_ERR_DB;
        goto out;
    }
    if (sqlite3_prepare_v2(j->db,
                           "SELECT id, at_utc, run_id, kind, text FROM events"
                           " WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR at_utc >= ?2)"
                           " AND (?3 IS NULL OR at_utc < ?3) ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = journal_db_fail(j, "events");
        goto out;
    }
    bind_i64_if(s, 1, f->run_id != 0, f->run_id);
    bind_i64_if(s, 2, f->since_utc_us != 0, f->since_utc_us);
    bind_i64_if(s, 3, f->until_utc_us != 0, f->until_utc_us);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 3);
        const char *text = (const char *)sqlite3_column_text(s, 4);
        ev.id = sqlite3_column_int64(s, 0);
        ev.at_utc_us = sqlite3_column_int64(s, 1);
        ev.run_id = sqlite3_column_int64(s, 2);
        snprintf(ev.kind, sizeof ev.kind, "%s", kind ? kind : "");
        snprintf(ev.text, sizeof ev.text, "%s", text ? text : "");
        n++;
        int stop = cb(&ev, ctx);
        if (stop) {
            rc = stop;
            goto out;
        }
    }
    rc = step == SQLITE_DONE ? n : journal_db_fail(j, "events");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&j->db_mu);
    return rc;
}

/* Opens path read-only for one foreach call (of rows when row_cb, else of events). */
static int foreach_on_file(const char *path, const struct pb_journal_filter *f,
                           pb_journal_row_cb row_cb, pb_journal_event_cb ev_cb, void *ctx)
{
    struct pb_journal *j;
    int rc = pb_journal_open(path, &(struct pb_journal_opts){.read_only = true}, &j);
    if (rc != PB_OK)
        return rc;
    rc = row_cb ? pb_journal_foreach(j, f, row_cb, ctx) : pb_journal_foreach_event(j, f, ev_cb, ctx);
    pb_journal_close(j);
    return rc;
}

int pb_journal_foreach_path(const char *path, const struct pb_journal_filter *f,
                            pb_journal_row_cb cb, void *ctx)
{
    return cb ? foreach_on_file(path, f, cb, NULL, ctx) : PB_ERR_INVAL;
}

int pb_journal_foreach_event_path(const char *path, const struct pb_journal_filter *f,
                                  pb_journal_event_cb cb, void *ctx)
{
    return cb ? foreach_on_file(path, f, NULL, cb, ctx) : PB_ERR_INVAL;
}

void pb_journal_row_currencies(const struct pb_journal_row *row, uint16_t *req, uint16_t *chg)
{
    *req = row->requested_currency ? row->requested_currency : row->currency;
    *chg = row->currency ? row->currency : row->requested_currency;
}
