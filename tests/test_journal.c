/* Tests for the journal (lane/journal*.c): schema and file modes, the pending -> in_doubt sweep,
 * idempotent upserts, reclassification, evidence, resolutions, filters, migrations,
 * and write failures (a fault-injecting SQLite VFS, and a real EFBIG from
 * RLIMIT_FSIZE in a child) with nothing lost. Files live under a mkdtemp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <nettle/sha2.h>
#include <glob.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "pb_error.h"

#define T0 1700000000000000LL /* 2023-11-14T22:13:20Z in microseconds */

/* ---- fixture: a temporary directory ---------------------------------------------------- */

struct fx {
    char dir[64];
    char db[128];
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void quiet_log(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)level, (void)msg, (void)ctx;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/pbjournal.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/journal.db", f->dir);
    pb_log_set_sink(PB_LOG_CALLBACK, "test", quiet_log, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct pb_txn mk(uint64_t id, enum pb_class cls, int64_t requested, int64_t charged)
{
    struct pb_txn t;
    memset(&t, 0, sizeof t);
    t.id = id;
    t.protocol = "zvt";
    t.type = PB_TXN_PURCHASE;
    t.cls = cls;
    t.has_requested = true;
    t.requested = requested;
    t.requested_currency = 978;
    t.has_charged = cls != PB_CLASS_NONE;
    t.charged = charged;
    t.currency = cls != PB_CLASS_NONE ? 978 : 0;
    t.result = cls != PB_CLASS_NONE ? PB_RESULT_APPROVED : PB_RESULT_NONE;
    t.result_code = cls != PB_CLASS_NONE ? 0 : -1;
    snprintf(t.trace, sizeof t.trace, "%06u", (unsigned)id);
    snprintf(t.pan, sizeof t.pan, "476173******0119");
    t.started.utc_us = T0 + (int64_t)id * 1000000;
    t.ended.utc_us = cls != PB_CLASS_NONE ? t.started.utc_us + 2500000 : 0;
    t.latency_us = cls != PB_CLASS_NONE ? 2500000 : -1;
    t.n_evidence = 1;
    t.evidence[0] = (struct pb_evidence){PB_DIR_ECR, id * 100, 20, PB_KIND_REQUEST};
    return t;
}

static struct pb_journal *open_ok(const char *path, const struct pb_journal_opts *o)
{
    struct pb_journal *j = NULL;
    int rc = pb_journal_open(path, o, &j);
    assert_int_equal(rc, PB_OK);
    assert_non_null(j);
    return j;
}

static int64_t q_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -999;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void q_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

#define MAX_ROWS 64
struct rows {
    int n;
    struct pb_journal_row r[MAX_ROWS];
};

static int collect(const struct pb_journal_row *row, void *ctx)
{
    struct rows *rs = ctx;
    if (rs->n < MAX_ROWS)
        rs->r[rs->n++] = *row;
    return 0;
}

static struct rows *read_rows(struct pb_journal *j, const struct pb_journal_filter *f)
{
    struct rows *rs = calloc(1, sizeof *rs);
    assert_non_null(rs);
    int n = pb_journal_foreach(j, f, collect, rs);
    assert_int_equal(n, rs->n);
    return rs;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- schema, files, modes ------------------------------------------------------------- */

static void test_open_creates_schema_and_modes(void **state)
{
    struct fx *f = *state;
    char path[192], sub[160];
    snprintf(sub, sizeof sub, "%s/var/lib", f->dir);
    snprintf(path, sizeof path, "%s/journal.db", sub);
    mode_t old = umask(0); /* the modes must not depend on the umask */
    struct pb_journal *j = open_ok(path, &(struct pb_journal_opts){
                                             .host = "lane-7", .version = "0.1.0",
                                             .protocol = "zvt", .register_port = "/dev/ttyV0",
                                             .terminal_port = "/dev/ttyUSB0",
                                             .started_utc_us = T0});
    umask(old);
    assert_true(pb_journal_run_id(j) > 0);
    assert_int_equal(pb_journal_in_doubt_at_open(j), 0);
    struct pb_txn t = mk(1, PB_CLASS_OK, 1250, 1250);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char wal[200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(stat(wal, &st), 0); /* WAL mode: the -wal file exists while open */
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(wal, sizeof wal, "%s-shm", path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(sub, sizeof sub, "%s/var", f->dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(q_int(path, "PRAGMA user_version"), pb_journal_schema_version());
    assert_int_equal(pb_journal_schema_version(), 2);
    assert_int_equal(q_int(path, "PRAGMA application_id"), 1346521678);
    char txt[64];
    q_text(path, "PRAGMA journal_mode", txt, sizeof txt);
    assert_string_equal(txt, "wal");
    assert_int_equal(q_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                 " name IN ('runs', 'transactions', 'evidence', 'resolutions',"
                                 " 'events', 'chain')"),
                     6);
    q_text(path, "SELECT host || '|' || version || '|' || protocol || '|' || register_port"
                 " || '|' || terminal_port FROM runs",
           txt, sizeof txt);
    assert_string_equal(txt, "lane-7|0.1.0|zvt|/dev/ttyV0|/dev/ttyUSB0");
    assert_int_equal(q_int(path, "SELECT started_utc FROM runs"), T0);
    assert_int_equal(q_int(path, "SELECT count(*) FROM runs WHERE ended_utc IS NULL"), 1);
    assert_int_equal(pb_journal_close(j), PB_OK);
    /* A clean close records the end of the run. */
    assert_int_equal(q_int(path, "SELECT count(*) FROM runs WHERE ended_utc IS NOT NULL"), 1);
}

static void test_connection_settings(void **state)
{
    struct fx *f = *state;
    /* synchronous and foreign_keys are per connection: read them through a row the
     * journal itself wrote, i.e. check their effect. FK: an evidence row pointing at no
     * transaction must be refused on a connection with foreign keys on. */
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    assert_int_equal(st.written, 0);
    assert_false(st.failing);
    assert_int_equal(pb_journal_close(j), PB_OK);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO evidence (txn_id, seq, dir, stream_offset,"
                                      " length, kind) VALUES (4242, 0, 'ecr', 0, 1, 'request')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    /* The state column only takes pending/closed. */
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO transactions (run_id, txn_seq, protocol, type,"
                                      " state) VALUES (1, 99, 'zvt', 'purchase', 'weird')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(db);
}

static void test_read_only_and_bad_args(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(f->db, &(struct pb_journal_opts){.read_only = true}, &j),
                     PB_ERR_NOTFOUND);
    assert_null(j);
    assert_int_equal(access(f->db, F_OK), -1); /* read-only never creates */
    assert_int_equal(pb_journal_open(NULL, NULL, &j), PB_ERR_INVAL);
    assert_int_equal(pb_journal_open("", NULL, &j), PB_ERR_INVAL);

    j = open_ok(f->db, NULL);
    struct pb_txn t = mk(1, PB_CLASS_OVERCHARGE, 1000, 1100);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_submit(j, (enum pb_txn_event)7, &t), PB_ERR_INVAL);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, NULL), PB_ERR_INVAL);
    assert_int_equal(pb_journal_event(j, NULL, "x", T0), PB_ERR_INVAL);
    assert_int_equal(pb_journal_close(j), PB_OK);

    j = open_ok(f->db, &(struct pb_journal_opts){.read_only = true});
    assert_int_equal(pb_journal_run_id(j), 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_ERR_INVAL);
    assert_int_equal(pb_journal_event(j, "link_lost", "x", T0), PB_ERR_INVAL);
    assert_int_equal(pb_journal_resolve(j, 1, "refund", "n", "me", T0), PB_ERR_INVAL);
    assert_int_equal(pb_journal_sync(j, 0), PB_OK);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 1);
    assert_string_equal(rs->r[0].class_name, "overcharge");
    free(rs);
    assert_int_equal(pb_journal_close(j), PB_OK);
    /* The read-only open added no run. */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM runs"), 1);
}

/* ---- transactions --------------------------------------------------------------------- */

static void test_opened_then_closed_is_one_row(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(5, PB_CLASS_NONE, 1250, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 1);
    assert_true(rs->r[0].pending);
    assert_string_equal(rs->r[0].class_name, "");
    assert_false(rs->r[0].has_charged);
    assert_int_equal(rs->r[0].ended_utc_us, 0);
    assert_int_equal(rs->r[0].latency_us, -1);
    free(rs);

    t = mk(5, PB_CLASS_OVERCHARGE, 1250, 1350);
    snprintf(t.detail, sizeof t.detail, "charged 13.50 for 12.50");
    t.naks = 2;
    t.repeats = 1;
    t.checksum_errors = 3;
    t.intermediates = 4;
    snprintf(t.terminal_id, sizeof t.terminal_id, "52500001");
    snprintf(t.auth_code, sizeof t.auth_code, "A1B2C3");
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    /* Re-submitting the CLOSED, then a stray OPENED, changes nothing. */
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    struct pb_txn again = mk(5, PB_CLASS_NONE, 999, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &again), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);

    rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 1);
    const struct pb_journal_row *r = &rs->r[0];
    assert_false(r->pending);
    assert_int_equal(r->run_id, pb_journal_run_id(j));
    assert_int_equal(r->txn_seq, 5);
    assert_string_equal(r->protocol, "zvt");
    assert_int_equal(r->type, PB_TXN_PURCHASE);
    assert_int_equal(r->cls, PB_CLASS_OVERCHARGE);
    assert_string_equal(r->class_name, "overcharge");
    assert_int_equal(r->severity, PB_SEV_HIGH);
    assert_true(r->has_requested);
    assert_int_equal(r->requested, 1250); /* the stray OPENED's 999 did not land */
    assert_int_equal(r->requested_currency, 978);
    assert_true(r->has_charged);
    assert_int_equal(r->charged, 1350);
    assert_int_equal(r->currency, 978);
    assert_false(r->has_amount_due);
    assert_int_equal(r->result, PB_RESULT_APPROVED);
    assert_int_equal(r->result_code, 0);
    assert_string_equal(r->trace, "000005");
    assert_string_equal(r->terminal_id, "52500001");
    assert_string_equal(r->auth_code, "A1B2C3");
    assert_string_equal(r->pan_masked, "476173******0119");
    assert_int_equal(r->started_utc_us, T0 + 5000000);
    assert_int_equal(r->ended_utc_us, T0 + 7500000);
    assert_int_equal(r->latency_us, 2500000);
    assert_int_equal(r->naks, 2);
    assert_int_equal(r->repeats, 1);
    assert_int_equal(r->checksum_errors, 3);
    assert_int_equal(r->intermediates, 4);
    assert_string_equal(r->detail, "charged 13.50 for 12.50");
    assert_false(r->resolved);
    free(rs);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 1);
}

static void test_closed_without_opened_inserts(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(9, PB_CLASS_DECLINED, 500, 0);
    t.has_charged = true;
    t.result = PB_RESULT_DECLINED;
    t.result_code = 5;
    snprintf(t.result_text, sizeof t.result_text, "05");
    /* Unterminated text fields from a buggy producer are cut to their size. */
    memset(t.reference, 'R', sizeof t.reference);
    memset(t.detail, 'D', sizeof t.detail);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 1);
    assert_false(rs->r[0].pending);
    assert_int_equal(rs->r[0].cls, PB_CLASS_DECLINED);
    assert_int_equal(rs->r[0].severity, PB_SEV_INFO);
    assert_int_equal(rs->r[0].result, PB_RESULT_DECLINED);
    assert_int_equal(rs->r[0].result_code, 5);
    assert_string_equal(rs->r[0].result_text, "05");
    assert_int_equal(strlen(rs->r[0].reference), PB_REF_MAX - 1);
    assert_int_equal(strlen(rs->r[0].detail), sizeof rs->r[0].detail - 1);
    assert_string_equal(rs->r[0].auth_code, "");
    free(rs);
    pb_journal_close(j);
    assert_int_equal(q_int(f->db, "SELECT length(reference) FROM transactions"), PB_REF_MAX - 1);
    assert_int_equal(q_int(f->db, "SELECT length(detail) FROM transactions"),
                     sizeof t.detail - 1);
}

static void test_reclassified(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn sale = mk(1, PB_CLASS_OK, 2000, 2000);
    struct pb_txn voidt = mk(2, PB_CLASS_OK, 2000, 2000);
    voidt.type = PB_TXN_VOID;
    voidt.related_id = 1;
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &sale), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &sale), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &voidt), PB_OK);
    sale.cls = PB_CLASS_VOIDED;
    sale.related_id = 2;
    snprintf(sale.detail, sizeof sale.detail, "voided by transaction 2");
    sale.charged = 777; /* RECLASSIFIED carries the whole transaction: a late approval
                           brings the amount charged with its new class */
    assert_int_equal(pb_journal_submit(j, PB_TXN_RECLASSIFIED, &sale), PB_OK);
    /* A RECLASSIFIED for a transaction never seen is written whole. */
    struct pb_txn lone = mk(3, PB_CLASS_DUPLICATE, 100, 100);
    lone.related_id = 1;
    assert_int_equal(pb_journal_submit(j, PB_TXN_RECLASSIFIED, &lone), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);

    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 3);
    assert_int_equal(rs->r[0].txn_seq, 1);
    assert_int_equal(rs->r[0].cls, PB_CLASS_VOIDED);
    assert_int_equal(rs->r[0].severity, PB_SEV_NONE);
    assert_string_equal(rs->r[0].detail, "voided by transaction 2");
    assert_int_equal(rs->r[0].charged, 777);
    assert_int_equal(rs->r[0].related_seq, 2);
    assert_int_equal(rs->r[0].related, rs->r[1].id); /* FK to the void's row */
    assert_int_equal(rs->r[1].type, PB_TXN_VOID);
    assert_int_equal(rs->r[1].related, rs->r[0].id);
    assert_int_equal(rs->r[2].cls, PB_CLASS_DUPLICATE);
    assert_false(rs->r[2].pending);
    assert_int_equal(rs->r[2].related, rs->r[0].id);
    free(rs);
    pb_journal_close(j);
}

static void test_evidence_replaced_on_close(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(4, PB_CLASS_NONE, 100, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->r[0].n_evidence, 1);
    free(rs);

    t = mk(4, PB_CLASS_UNDERCHARGE, 100, 90);
    t.n_evidence = 3;
    t.evidence[1] = (struct pb_evidence){PB_DIR_PT, 77, 3, PB_KIND_ACCEPTED};
    t.evidence[2] = (struct pb_evidence){PB_DIR_PT, 4000000000ULL, 42, PB_KIND_RESULT};
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    /* A second CLOSED carrying a bogus count writes at most PB_EVIDENCE_MAX rows. */
    t.n_evidence = 1000;
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    t.n_evidence = 3;
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 1);
    const struct pb_journal_row *r = &rs->r[0];
    assert_int_equal(r->n_evidence, 3);
    assert_int_equal(r->evidence[0].dir, PB_DIR_ECR);
    assert_int_equal(r->evidence[0].offset, 400);
    assert_int_equal(r->evidence[0].kind, PB_KIND_REQUEST);
    assert_int_equal(r->evidence[1].dir, PB_DIR_PT);
    assert_int_equal(r->evidence[1].offset, 77);
    assert_int_equal(r->evidence[1].length, 3);
    assert_int_equal(r->evidence[1].kind, PB_KIND_ACCEPTED);
    assert_int_equal(r->evidence[2].offset, 4000000000ULL);
    assert_int_equal(r->evidence[2].length, 42);
    assert_int_equal(r->evidence[2].kind, PB_KIND_RESULT);
    free(rs);
    pb_journal_close(j);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM evidence"), 3);
}

static void test_pending_becomes_in_doubt_on_reopen(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    int64_t run1 = pb_journal_run_id(j);
    struct pb_txn a = mk(1, PB_CLASS_NONE, 100, 0), b = mk(2, PB_CLASS_NONE, 200, 0);
    struct pb_txn c = mk(3, PB_CLASS_NONE, 300, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &a), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &b), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &c), PB_OK);
    b = mk(2, PB_CLASS_OK, 200, 200);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &b), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);

    j = open_ok(f->db, NULL);
    assert_int_equal(pb_journal_in_doubt_at_open(j), 2);
    assert_true(pb_journal_run_id(j) > run1);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 3);
    assert_int_equal(rs->r[0].cls, PB_CLASS_IN_DOUBT);
    assert_false(rs->r[0].pending);
    assert_int_equal(rs->r[0].severity, PB_SEV_CRITICAL);
    assert_string_equal(rs->r[0].detail, "bridge restarted before the outcome was known");
    assert_int_equal(rs->r[0].requested, 100); /* the rest of the row is kept */
    assert_int_equal(rs->r[1].cls, PB_CLASS_OK);
    assert_int_equal(rs->r[2].cls, PB_CLASS_IN_DOUBT);
    free(rs);
    assert_int_equal(pb_journal_close(j), PB_OK);
    char txt[PB_JOURNAL_TEXT_MAX];
    q_text(f->db, "SELECT text FROM events WHERE kind = 'restart'", txt, sizeof txt);
    assert_non_null(strstr(txt, "ended cleanly"));
    assert_non_null(strstr(txt, "2 pending"));

    /* Nothing pending now: the next open sweeps nothing. */
    j = open_ok(f->db, NULL);
    assert_int_equal(pb_journal_in_doubt_at_open(j), 0);
    pb_journal_close(j);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM runs"), 3);
}

static void test_second_bridge_is_refused(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(1, PB_CLASS_NONE, 100, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct pb_journal *j2 = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(f->db, NULL, &j2), PB_ERR_AGAIN);
    assert_null(j2);
    /* An administrative (no_run) open works beside the bridge and sweeps nothing. */
    j2 = open_ok(f->db, &(struct pb_journal_opts){.no_run = true});
    assert_int_equal(pb_journal_in_doubt_at_open(j2), 0);
    assert_int_equal(pb_journal_submit(j2, PB_TXN_OPENED, &t), PB_ERR_INVAL);
    struct rows *rs = read_rows(j2, NULL);
    assert_int_equal(rs->n, 1);
    assert_true(rs->r[0].pending);
    assert_int_equal(pb_journal_event(j2, "note", "maintenance", T0), PB_OK);
    free(rs);
    assert_int_equal(pb_journal_close(j2), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'note'"
                                  " AND run_id IS NULL"),
                     1);
}

static void test_events(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    assert_int_equal(pb_journal_event(j, "link_lost", "terminal port gone", T0 + 1), PB_OK);
    assert_int_equal(pb_journal_event(j, "link_back", NULL, T0 + 2), PB_OK);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(pb_journal_event(j, big, big, T0 + 3), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK); /* close drains */
    assert_int_equal(q_int(f->db, "SELECT at_utc FROM events WHERE kind = 'link_lost'"), T0 + 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'link_back'"
                                  " AND text IS NULL AND run_id = 1"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT length(kind) FROM events WHERE at_utc = "
                                  "1700000000000003"),
                     PB_JOURNAL_NAME_MAX - 1);
    assert_int_equal(q_int(f->db, "SELECT length(text) FROM events WHERE at_utc = "
                                  "1700000000000003"),
                     PB_JOURNAL_TEXT_MAX - 1);
}

struct seen_events {
    int n;
    struct pb_journal_event_row ev[8];
};

static int collect_event(const struct pb_journal_event_row *ev, void *ctx)
{
    struct seen_events *s = ctx;
    if (s->n < 8)
        s->ev[s->n] = *ev;
    s->n++;
    return 0;
}

/* Reading the events back (report --lane-events): in order, each field, filtered by run
 * and by time (since inclusive, until exclusive). */
static void test_events_read_back(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    assert_int_equal(pb_journal_event(j, "link_lost", "terminal port gone", T0 + 10), PB_OK);
    assert_int_equal(pb_journal_event(j, "burst", "10 discrepancies", T0 + 20), PB_OK);
    assert_int_equal(pb_journal_event(j, "link_back", NULL, T0 + 30), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);
    j = open_ok(f->db, NULL); /* run 2: its restart event */
    assert_int_equal(pb_journal_event(j, "note", "run two", T0 + 40), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);

    struct seen_events s = {0};
    int n = pb_journal_foreach_event_path(f->db, NULL, collect_event, &s);
    assert_int_equal(n, s.n);
    assert_true(n >= 4);
    assert_string_equal(s.ev[0].kind, "link_lost");
    assert_string_equal(s.ev[0].text, "terminal port gone");
    assert_int_equal(s.ev[0].at_utc_us, T0 + 10);
    assert_int_equal(s.ev[0].run_id, 1);
    assert_string_equal(s.ev[2].kind, "link_back");
    assert_string_equal(s.ev[2].text, "");
    for (int i = 1; i < s.n && i < 8; i++)
        assert_true(s.ev[i].id > s.ev[i - 1].id);

    memset(&s, 0, sizeof s);
    struct pb_journal_filter by_time = {.since_utc_us = T0 + 20, .until_utc_us = T0 + 30};
    assert_int_equal(pb_journal_foreach_event_path(f->db, &by_time, collect_event, &s), 1);
    assert_string_equal(s.ev[0].kind, "burst");

    memset(&s, 0, sizeof s);
    struct pb_journal_filter run2 = {.run_id = 2};
    n = pb_journal_foreach_event_path(f->db, &run2, collect_event, &s);
    assert_int_equal(n, s.n);
    assert_true(n >= 1);
    for (int i = 0; i < s.n && i < 8; i++)
        assert_int_equal(s.ev[i].run_id, 2);
    assert_string_equal(s.ev[s.n - 1].kind, "note");

    assert_int_equal(pb_journal_foreach_event_path(f->db, NULL, NULL, NULL), PB_ERR_INVAL);
}

/* ---- resolutions and reading ---------------------------------------------------------- */

static void test_resolve_keeps_original(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(1, PB_CLASS_OVERCHARGE, 1000, 1100);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct rows *before = read_rows(j, NULL);
    assert_int_equal(before->n, 1);
    int64_t id = before->r[0].id;

    assert_true(pb_journal_action_valid("refund"));
    assert_false(pb_journal_action_valid("delete"));
    assert_false(pb_journal_action_valid(NULL));
    assert_int_equal(pb_journal_resolve(j, id, "delete", "x", "eve", T0), PB_ERR_INVAL);
    assert_int_equal(pb_journal_resolve(j, id + 100, "refund", "x", "eve", T0), PB_ERR_NOTFOUND);
    assert_int_equal(pb_journal_resolve(j, id, "refund", "refunded 1.00 at till 2", "anna", T0 + 9),
                     PB_OK);
    assert_int_equal(pb_journal_resolve(j, id, "none", NULL, NULL, T0 + 10), PB_OK);

    struct rows *after = read_rows(j, NULL);
    assert_int_equal(after->n, 1);
    assert_true(after->r[0].resolved);
    assert_string_equal(after->r[0].resolution, "none"); /* the latest one */
    assert_int_equal(after->r[0].n_resolutions, 2);
    assert_int_equal(after->r[0].resolved_utc_us, T0 + 10);
    assert_string_equal(after->r[0].resolved_by, "");
    assert_string_equal(after->r[0].resolution_note, "");
    struct pb_journal_filter one = {.txn_id = id};
    struct rows *only = read_rows(j, &one);
    assert_int_equal(only->n, 1);
    free(only);
    one.txn_id = id + 1;
    only = read_rows(j, &one);
    assert_int_equal(only->n, 0);
    free(only);
    after->r[0].resolved = false;
    memset(after->r[0].resolution, 0, sizeof after->r[0].resolution);
    after->r[0].n_resolutions = 0;
    after->r[0].resolved_utc_us = 0;
    /* Apart from the resolution fields, the row is exactly what it was. */
    assert_memory_equal(&before->r[0], &after->r[0], sizeof before->r[0]);
    free(before);
    free(after);
    assert_int_equal(pb_journal_close(j), PB_OK);

    char txt[128];
    q_text(f->db, "SELECT action || '|' || note || '|' || who || '|' || at_utc FROM resolutions"
                  " ORDER BY id LIMIT 1",
           txt, sizeof txt);
    assert_string_equal(txt, "refund|refunded 1.00 at till 2|anna|1700000000000009");
    /* The schema refuses to delete the evidence or to rewrite the audit trail. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM transactions", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE resolutions SET who = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM resolutions", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM resolutions"), 2);
}

static int stop_at_second(const struct pb_journal_row *row, void *ctx)
{
    int *n = ctx;
    return ++*n == 2 ? 42 : 0;
}

static void test_foreach_filters(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    int64_t run1 = pb_journal_run_id(j);
    struct pb_txn t = mk(1, PB_CLASS_OK, 100, 100);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    t = mk(2, PB_CLASS_OVERCHARGE, 100, 200);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    t = mk(3, PB_CLASS_DECLINED, 100, 0);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    assert_int_equal(pb_journal_close(j), PB_OK);
    j = open_ok(f->db, NULL);
    int64_t run2 = pb_journal_run_id(j);
    t = mk(4, PB_CLASS_OVERCHARGE, 100, 300);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    t = mk(5, PB_CLASS_VOIDED, 100, 100);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    t = mk(6, PB_CLASS_NONE, 100, 0);
    pb_journal_submit(j, PB_TXN_OPENED, &t);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);

    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 6);
    for (int i = 1; i < rs->n; i++)
        assert_true(rs->r[i].id > rs->r[i - 1].id);
    int64_t id2 = rs->r[1].id;
    /* Only a closed discrepancy can be resolved: not an ok, declined or voided row (a
     * wrong id typed at the till), not one still pending. */
    assert_int_equal(pb_journal_resolve(j, rs->r[0].id, "refund", "typo", "anna", T0),
                     PB_ERR_UNSUPPORTED);
    assert_int_equal(pb_journal_resolve(j, rs->r[2].id, "refund", "typo", "anna", T0),
                     PB_ERR_UNSUPPORTED);
    assert_int_equal(pb_journal_resolve(j, rs->r[4].id, "none", "typo", "anna", T0),
                     PB_ERR_UNSUPPORTED);
    assert_int_equal(pb_journal_resolve(j, rs->r[5].id, "refund", "early", "anna", T0),
                     PB_ERR_AGAIN);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM resolutions"), 0);
    free(rs);
    assert_int_equal(pb_journal_resolve(j, id2, "refund", "done", "anna", T0), PB_OK);

    rs = read_rows(j, &(struct pb_journal_filter){.run_id = run1});
    assert_int_equal(rs->n, 3);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.run_id = run2});
    assert_int_equal(rs->n, 3);
    assert_int_equal(rs->r[0].txn_seq, 4);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.by_class = true, .cls = PB_CLASS_OVERCHARGE});
    assert_int_equal(rs->n, 2);
    assert_int_equal(rs->r[0].txn_seq, 2);
    assert_int_equal(rs->r[1].txn_seq, 4);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.by_class = true, .cls = PB_CLASS_NONE});
    assert_int_equal(rs->n, 1);
    assert_true(rs->r[0].pending);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.discrepancies_only = true});
    assert_int_equal(rs->n, 2);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.discrepancies_only = true,
                                                  .resolved = PB_JOURNAL_UNRESOLVED});
    assert_int_equal(rs->n, 1);
    assert_int_equal(rs->r[0].txn_seq, 4);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.resolved = PB_JOURNAL_RESOLVED});
    assert_int_equal(rs->n, 1);
    assert_int_equal(rs->r[0].txn_seq, 2);
    assert_true(rs->r[0].resolved);
    free(rs);
    /* started_utc of txn k is T0 + k s: [T0+2s, T0+5s) selects 2, 3, 4. */
    rs = read_rows(j, &(struct pb_journal_filter){.since_utc_us = T0 + 2000000,
                                                  .until_utc_us = T0 + 5000000});
    assert_int_equal(rs->n, 3);
    assert_int_equal(rs->r[0].txn_seq, 2);
    assert_int_equal(rs->r[2].txn_seq, 4);
    free(rs);
    rs = read_rows(j, &(struct pb_journal_filter){.since_utc_us = T0 + 99000000});
    assert_int_equal(rs->n, 0);
    free(rs);
    assert_int_equal(pb_journal_foreach(j, &(struct pb_journal_filter){.by_class = true,
                                                                       .cls = PB_CLASS__COUNT},
                                        collect, NULL),
                     PB_ERR_INVAL);
    int n = 0;
    assert_int_equal(pb_journal_foreach(j, NULL, stop_at_second, &n), 42);
    assert_int_equal(n, 2);
    assert_int_equal(pb_journal_close(j), PB_OK);

    /* The path form opens the file read-only for the call. */
    rs = calloc(1, sizeof *rs);
    assert_int_equal(pb_journal_foreach_path(f->db,
                                             &(struct pb_journal_filter){.by_class = true,
                                                                         .cls = PB_CLASS_VOIDED},
                                             collect, rs),
                     1);
    assert_int_equal(rs->r[0].txn_seq, 5);
    free(rs);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    assert_int_equal(pb_journal_foreach_path(missing, NULL, collect, NULL), PB_ERR_NOTFOUND);
}

/* ---- migrations ----------------------------------------------------------------------- */

static void make_db(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* sqlite3_open() applied the umask; a journal wider than 0600 is refused on open. */
    assert_int_equal(chmod(path, 0600), 0);
}

static void test_unsafe_files_refused(void **state)
{
    struct fx *f = *state;
    struct pb_journal *j = open_ok(f->db, NULL);
    assert_int_equal(pb_journal_close(j), PB_OK);
    /* Wider than 0600: refused, not opened, for writing; a reader may still read it. */
    assert_int_equal(chmod(f->db, 0644), 0);
    j = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(f->db, NULL, &j), PB_ERR_UNSAFE);
    assert_null(j);
    assert_int_equal(pb_journal_open(f->db, &(struct pb_journal_opts){.no_run = true}, &j),
                     PB_ERR_UNSAFE);
    j = open_ok(f->db, &(struct pb_journal_opts){.read_only = true});
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(chmod(f->db, 0600), 0);
    /* A symlink planted where SQLite puts the WAL: refused, its target untouched. */
    char wal[160], victim[160];
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    snprintf(victim, sizeof victim, "%s/victim", f->dir);
    int fd = open(victim, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "precious", 8), 8);
    close(fd);
    unlink(wal);
    assert_int_equal(symlink(victim, wal), 0);
    assert_int_equal(pb_journal_open(f->db, NULL, &j), PB_ERR_UNSAFE);
    struct stat st;
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(unlink(wal), 0);
    /* The database itself a symlink: refused too. */
    char real[160];
    snprintf(real, sizeof real, "%s/real.db", f->dir);
    assert_int_equal(rename(f->db, real), 0);
    assert_int_equal(symlink(real, f->db), 0);
    assert_int_equal(pb_journal_open(f->db, NULL, &j), PB_ERR_UNSAFE);
    j = open_ok(f->db, &(struct pb_journal_opts){.read_only = true}); /* may follow */
    assert_int_equal(pb_journal_close(j), PB_OK);
}

static void test_migration_from_v0(void **state)
{
    struct fx *f = *state;
    /* v0: an existing, empty database (user_version 0, no tables). */
    make_db(f->db, "PRAGMA user_version = 0; VACUUM;");
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 0);
    struct pb_journal *ro = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(f->db, &(struct pb_journal_opts){.read_only = true}, &ro),
                     PB_ERR_UNSUPPORTED);
    assert_null(ro);
    struct pb_journal *j = open_ok(f->db, NULL);
    struct pb_txn t = mk(1, PB_CLASS_OK, 100, 100);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 2);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 1);
    /* Re-opening a current journal migrates nothing and keeps the data. */
    j = open_ok(f->db, NULL);
    pb_journal_close(j);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 1);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 2);
    /* A new journal's chain starts at a genesis row that chained nothing older. */
    assert_int_equal(q_int(f->db, "SELECT row_id FROM chain WHERE seq = 1 AND tbl = 'genesis'"),
                     0);
}

static void test_migration_refusals(void **state)
{
    struct fx *f = *state;
    char other[160], newer[160];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    snprintf(newer, sizeof newer, "%s/newer.db", f->dir);
    /* Someone else's database: never written into. */
    make_db(other, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);");
    struct pb_journal *j = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(other, NULL, &j), PB_ERR_UNSUPPORTED);
    assert_null(j);
    assert_int_equal(q_int(other, "SELECT count(*) FROM sqlite_master"), 1);
    /* A journal from a newer posbridge. */
    make_db(newer, "PRAGMA application_id = 1346521678; PRAGMA user_version = 99;"
                   " CREATE TABLE runs (id INTEGER PRIMARY KEY);");
    assert_int_equal(pb_journal_open(newer, NULL, &j), PB_ERR_UNSUPPORTED);
    assert_int_equal(q_int(newer, "PRAGMA user_version"), 99);
}

/* ---- write failures ------------------------------------------------------------------- */

/* A VFS shim over the default one: while fail_writes is set, every xWrite answers
 * SQLITE_FULL, which is what SQLite's unix VFS returns on ENOSPC. */
static atomic_int fail_writes;
static sqlite3_vfs *real_vfs;

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real;
};
#define REAL(f) (((struct shim_file *)(f))->real)

static int sh_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int sh_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int sh_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    if (atomic_load(&fail_writes))
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int sh_truncate(sqlite3_file *f, sqlite3_int64 s)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), s);
}
static int sh_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int sh_size(sqlite3_file *f, sqlite3_int64 *s)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), s);
}
static int sh_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int sh_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int sh_check(sqlite3_file *f, int *o)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o);
}
static int sh_fcntl(sqlite3_file *f, int op, void *a)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int sh_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int sh_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int sh_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int sh_shmlock(sqlite3_file *f, int off, int n, int fl)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl);
}
static void sh_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int sh_shmunmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int sh_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int sh_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods shim_io = {
    3,          sh_close,    sh_read,     sh_write,     sh_truncate,   sh_sync,
    sh_size,    sh_lock,     sh_unlock,   sh_check,     sh_fcntl,      sh_sector,
    sh_devchar, sh_shmmap,   sh_shmlock,  sh_shmbarrier, sh_shmunmap,  sh_fetch,
    sh_unfetch,
};

static int sh_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct shim_file *p = (struct shim_file *)f;
    p->real = (sqlite3_file *)&p[1];
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
    p->base.pMethods = (rc == SQLITE_OK && p->real->pMethods) ? &shim_io : NULL;
    return rc;
}

static sqlite3_vfs shim_vfs;

static void register_shim(void)
{
    if (real_vfs)
        return;
    real_vfs = sqlite3_vfs_find(NULL);
    shim_vfs = *real_vfs;
    shim_vfs.zName = "pbfail";
    shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
    shim_vfs.xOpen = sh_open;
    shim_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&shim_vfs, 0), SQLITE_OK);
}

struct state_log {
    atomic_int failing, ok;
    char first_msg[128];
};

static void on_state(enum pb_journal_state st, const char *msg, void *ctx)
{
    struct state_log *s = ctx;
    if (st == PB_JOURNAL_FAILING) {
        /* Only the writer thread calls this; the increment publishes first_msg. */
        if (atomic_load(&s->failing) == 0)
            snprintf(s->first_msg, sizeof s->first_msg, "%s", msg);
        atomic_fetch_add(&s->failing, 1);
    } else {
        atomic_fetch_add(&s->ok, 1);
    }
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 500 && atomic_load(v) < want; i++)
        sleep_ms(10);
}

static void test_disk_full_keeps_everything_in_order(void **state)
{
    struct fx *f = *state;
    register_shim();
    struct state_log sl = {0};
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){
                                             .vfs = "pbfail", .on_state = on_state, .ctx = &sl,
                                             .retry_min_ms = 5, .retry_max_ms = 20,
                                             .batch_max = 7});
    struct pb_txn t = mk(1, PB_CLASS_OK, 10, 10);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);

    atomic_store(&fail_writes, 1);
    for (uint64_t id = 2; id <= 40; id++) {
        t = mk(id, PB_CLASS_NONE, (int64_t)id * 10, 0);
        assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t), PB_OK);
        t = mk(id, id % 2 ? PB_CLASS_OK : PB_CLASS_OVERCHARGE, (int64_t)id * 10,
               (int64_t)id * 10 + (id % 2 ? 0 : 1));
        assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
        if (id == 20)
            assert_int_equal(pb_journal_event(j, "link_lost", "mid-failure", T0), PB_OK);
    }
    wait_for(&sl.failing, 1);
    assert_int_equal(atomic_load(&sl.failing), 1);
    assert_non_null(strstr(sl.first_msg, "full"));
    assert_int_equal(pb_journal_sync(j, 100), PB_ERR_AGAIN);
    sleep_ms(100); /* several retries, still one episode, one callback */
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    assert_true(st.failing);
    assert_int_equal(st.written, 1);
    assert_int_equal(st.queued, 79);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.episodes, 1);
    assert_true(st.failures >= 2);
    assert_int_equal(atomic_load(&sl.failing), 1);
    assert_int_equal(atomic_load(&sl.ok), 0);

    atomic_store(&fail_writes, 0);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    wait_for(&sl.ok, 1);
    assert_int_equal(atomic_load(&sl.ok), 1);
    assert_int_equal(atomic_load(&sl.failing), 1);
    pb_journal_stats(j, &st);
    assert_false(st.failing);
    assert_int_equal(st.written, 80);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.dropped, 0);

    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 40);
    for (int i = 0; i < rs->n; i++) {
        uint64_t id = (uint64_t)i + 1;
        assert_int_equal(rs->r[i].txn_seq, id); /* written in submission order */
        assert_false(rs->r[i].pending);
        assert_int_equal(rs->r[i].cls, id % 2 ? PB_CLASS_OK : PB_CLASS_OVERCHARGE);
        assert_int_equal(rs->r[i].charged, (int64_t)id * 10 + (id % 2 ? 0 : 1));
    }
    free(rs);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'link_lost'"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'journal_error'"), 1);
}

static void test_queue_overflow_is_counted(void **state)
{
    struct fx *f = *state;
    register_shim();
    struct state_log sl = {0};
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){
                                             .vfs = "pbfail", .on_state = on_state, .ctx = &sl,
                                             .queue_max = 10, .retry_min_ms = 5,
                                             .retry_max_ms = 10});
    atomic_store(&fail_writes, 1);
    int ok = 0, again = 0;
    for (uint64_t id = 1; id <= 15; id++) {
        struct pb_txn t = mk(id, PB_CLASS_OK, 100, 100);
        int rc = pb_journal_submit(j, PB_TXN_CLOSED, &t);
        if (rc == PB_OK)
            ok++;
        else if (rc == PB_ERR_AGAIN)
            again++;
    }
    assert_int_equal(ok, 10);
    assert_int_equal(again, 5);
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    assert_int_equal(st.dropped, 5);
    assert_int_equal(st.queued, 10);
    atomic_store(&fail_writes, 0);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    pb_journal_stats(j, &st);
    assert_int_equal(st.written, 10);
    assert_int_equal(st.dropped, 5);
    assert_int_equal(pb_journal_close(j), PB_OK);
    /* The first ten made it; the overflow left a journal_error event behind. */
    assert_int_equal(q_int(f->db, "SELECT max(txn_seq) FROM transactions"), 10);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'journal_error'"
                                  " AND text LIKE '%5 record(s) dropped%'"),
                     1);
}

static void test_close_gives_up_on_a_dead_disk(void **state)
{
    struct fx *f = *state;
    register_shim();
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){
                                             .vfs = "pbfail", .retry_min_ms = 5,
                                             .retry_max_ms = 10, .close_timeout_ms = 50});
    atomic_store(&fail_writes, 1);
    struct pb_txn t = mk(1, PB_CLASS_OK, 100, 100);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_ERR_DB); /* returns, does not hang */
    atomic_store(&fail_writes, 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 0);
}

static void test_refused_record_is_skipped_not_retried_forever(void **state)
{
    struct fx *f = *state;
    struct state_log sl = {0};
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){.on_state = on_state,
                                                                     .ctx = &sl});
    /* A record SQLite itself refuses (a constraint: a bug, not the disk) must not block
     * the queue: a trigger stands in for such a bug. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER poison BEFORE INSERT ON transactions"
                                  " WHEN NEW.txn_seq = 3 BEGIN SELECT RAISE(ABORT, 'bad'); END;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    for (uint64_t id = 1; id <= 5; id++) {
        struct pb_txn t = mk(id, PB_CLASS_OK, 100, 100);
        assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    }
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    assert_int_equal(st.written, 4);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.episodes, 0);
    assert_int_equal(atomic_load(&sl.failing), 0);
    struct rows *rs = read_rows(j, NULL);
    assert_int_equal(rs->n, 4);
    assert_int_equal(rs->r[2].txn_seq, 4);
    free(rs);
    assert_int_equal(pb_journal_close(j), PB_OK);
}

/* The same with a real kernel error: RLIMIT_FSIZE makes write() fail with EFBIG (SQLite:
 * SQLITE_IOERR_WRITE), in a child so the limit touches nothing else. */
static int child_rlimit(const char *path)
{
    signal(SIGXFSZ, SIG_IGN);
    struct state_log sl = {0};
    struct pb_journal *j;
    if (pb_journal_open(path, &(struct pb_journal_opts){.on_state = on_state, .ctx = &sl,
                                                         .retry_min_ms = 5, .retry_max_ms = 20},
                        &j) != PB_OK)
        return 10;
    struct pb_txn t = mk(1, PB_CLASS_OK, 100, 100);
    pb_journal_submit(j, PB_TXN_CLOSED, &t);
    if (pb_journal_sync(j, 5000) != PB_OK)
        return 11;
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit tight = {0, rl.rlim_max};
    if (setrlimit(RLIMIT_FSIZE, &tight) != 0)
        return 12;
    for (uint64_t id = 2; id <= 30; id++) {
        t = mk(id, PB_CLASS_OVERCHARGE, 100, (int64_t)id);
        if (pb_journal_submit(j, PB_TXN_CLOSED, &t) != PB_OK)
            return 13;
    }
    wait_for(&sl.failing, 1);
    if (atomic_load(&sl.failing) != 1)
        return 14;
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    if (st.written != 1 || st.queued != 29)
        return 15;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 16;
    if (pb_journal_sync(j, 5000) != PB_OK)
        return 17;
    wait_for(&sl.ok, 1);
    if (atomic_load(&sl.ok) != 1 || atomic_load(&sl.failing) != 1)
        return 18;
    return pb_journal_close(j) == PB_OK ? 0 : 19;
}

static void test_real_write_error_rlimit(void **state)
{
    struct fx *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_rlimit(f->db));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 30);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions t1 JOIN transactions t2"
                                  " ON t2.id = t1.id + 1 WHERE t2.txn_seq <> t1.txn_seq + 1"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT charged FROM transactions WHERE txn_seq = 30"), 30);
}

/* ---- the file removed or replaced under a running bridge ---------------------------------- */

struct recreate_log {
    atomic_int recreated, other;
    char msg[PB_JOURNAL_TEXT_MAX];
};

static void on_recreated(enum pb_journal_state st, const char *msg, void *ctx)
{
    struct recreate_log *l = ctx;
    if (st == PB_JOURNAL_RECREATED) {
        snprintf(l->msg, sizeof l->msg, "%s", msg);
        atomic_fetch_add(&l->recreated, 1);
    } else {
        atomic_fetch_add(&l->other, 1);
    }
}

static void unlink_journal(const char *db)
{
    char p[200];
    assert_int_equal(unlink(db), 0);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

/* A run on f->db that reports recreations to rl, with sale 1 (12.50, ok) written. */
static struct pb_journal *open_watched(struct fx *f, struct recreate_log *rl)
{
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){.on_state = on_recreated,
                                                                    .ctx = rl});
    struct pb_txn t1 = mk(1, PB_CLASS_OK, 1250, 1250);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t1), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    return j;
}

/* Deleted with its -wal and -shm between two sales, a transaction open: the journal is
 * back at its path with every row (the closed sale, the pending one, the next sale), a
 * journal_recreated event, one callback, mode 0600, and still locked against a second
 * bridge. Before, every later record went into the deleted file and was lost. */
static void test_removed_journal_is_recreated(void **state)
{
    struct fx *f = *state;
    struct recreate_log rl = {0};
    struct pb_journal *j = open_watched(f, &rl);
    struct pb_txn t2 = mk(2, PB_CLASS_NONE, 300, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t2), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    unlink_journal(f->db);

    struct pb_txn t3 = mk(3, PB_CLASS_OVERCHARGE, 500, 600);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t3), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    assert_int_equal(atomic_load(&rl.recreated), 1);
    assert_int_equal(atomic_load(&rl.other), 0);
    assert_non_null(strstr(rl.msg, "journal file removed while the bridge ran; recreated from "
                                   "the copy still open: every row kept; 1 queued record(s) "
                                   "follow"));
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    assert_int_equal(st.recreated, 1);
    assert_int_equal(st.dropped, 0);
    struct stat sb;
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 3);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions WHERE state = 'pending'"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM evidence"), 3);
    char txt[PB_JOURNAL_TEXT_MAX];
    q_text(f->db, "SELECT text FROM events WHERE kind = 'journal_recreated'", txt, sizeof txt);
    assert_string_equal(txt, rl.msg);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE run_id = 1"), 1);

    struct pb_journal *j2 = (struct pb_journal *)1;
    assert_int_equal(pb_journal_open(f->db, NULL, &j2), PB_ERR_AGAIN);
    t2 = mk(2, PB_CLASS_OK, 300, 300);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t2), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions WHERE state = 'closed'"), 3);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM runs WHERE ended_utc IS NOT NULL"), 1);
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.recreate", f->db);
    assert_int_equal(access(tmp, F_OK), -1);
}

/* Another file moved over the journal's path: it is kept beside it, renamed
 * PATH.replaced-<time>, untouched; the journal is recreated at the path. */
static void test_replaced_journal_is_kept_aside(void **state)
{
    struct fx *f = *state;
    struct recreate_log rl = {0};
    struct pb_journal *j = open_watched(f, &rl);
    char other[160];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    make_db(other, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);");
    assert_int_equal(rename(other, f->db), 0);

    struct pb_txn t = mk(2, PB_CLASS_OK, 200, 200);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t), PB_OK);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(atomic_load(&rl.recreated), 1);
    assert_non_null(strstr(rl.msg, "journal file replaced by another file while the bridge ran "
                                   "(kept as journal.db.replaced-"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 2);
    char pattern[200];
    snprintf(pattern, sizeof pattern, "%s.replaced-*", f->db);
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    assert_int_equal(q_int(g.gl_pathv[0], "SELECT count(*) FROM sqlite_master WHERE name ="
                                          " 'customers'"),
                     1);
    globfree(&g);
}

/* Removed after the last batch, with nothing more to write: close() notices it before
 * the run's end is recorded, so the journal does not vanish with the process. */
static void test_removed_journal_is_recreated_at_close(void **state)
{
    struct fx *f = *state;
    struct recreate_log rl = {0};
    struct pb_journal *j = open_watched(f, &rl);
    unlink_journal(f->db);
    assert_int_equal(pb_journal_close(j), PB_OK);
    assert_int_equal(atomic_load(&rl.recreated), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM transactions"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM runs WHERE ended_utc IS NOT NULL"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'journal_recreated'"),
                     1);
}

/* ---- the hash chain --------------------------------------------------------------------- */

static void chained_journal(const char *path);

/* Runs SQL on the journal as someone with the sqlite3 shell would, triggers and all. */
static void tamper(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "tamper: %s\n", err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* A second chained journal beside the first, at DIR/other.db (its path in out). */
static void other_journal(const struct fx *f, char *out, size_t cap)
{
    snprintf(out, cap, "%s/other.db", f->dir);
    chained_journal(out);
}

static struct pb_journal_verify verify(const char *path, const char *head)
{
    struct pb_journal_verify v;
    assert_int_equal(pb_journal_verify_path(path, head, &v), PB_OK);
    return v;
}

/* A journal with every kind of record: opened, closed and reclassified states, a
 * resolution written beside the running bridge, events, a restart that sweeps a
 * pending row into in_doubt. Two runs. */
static void chained_journal(const char *path)
{
    struct pb_journal *j = open_ok(path, NULL);
    struct pb_txn t1 = mk(1, PB_CLASS_NONE, 1250, 0), t2 = mk(2, PB_CLASS_NONE, 300, 0);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t1), PB_OK);
    t1 = mk(1, PB_CLASS_OVERCHARGE, 1250, 1350);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t1), PB_OK);
    assert_int_equal(pb_journal_event(j, "link_lost", "terminal link lost", T0 + 5), PB_OK);
    assert_int_equal(pb_journal_event(j, "link_back", "terminal link back", T0 + 6), PB_OK);
    assert_int_equal(pb_journal_submit(j, PB_TXN_OPENED, &t2), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    struct pb_journal *admin = open_ok(path, &(struct pb_journal_opts){.no_run = true});
    assert_int_equal(pb_journal_resolve(admin, 1, "refund", "1.00 back", "ann", T0 + 7), PB_OK);
    assert_int_equal(pb_journal_close(admin), PB_OK);
    struct pb_txn t3 = mk(3, PB_CLASS_OK, 500, 500);
    assert_int_equal(pb_journal_submit(j, PB_TXN_CLOSED, &t3), PB_OK);
    t3.cls = PB_CLASS_VOIDED;
    assert_int_equal(pb_journal_submit(j, PB_TXN_RECLASSIFIED, &t3), PB_OK);
    assert_int_equal(pb_journal_sync(j, 5000), PB_OK);
    pb_journal_close(j); /* t2 stays pending: the next run sweeps it */
    j = open_ok(path, NULL);
    assert_int_equal(pb_journal_in_doubt_at_open(j), 1);
    pb_journal_close(j);
}

static void test_chain_intact(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    struct pb_journal_verify v = verify(f->db, NULL);
    assert_true(v.intact);
    assert_int_equal(v.problems, 0);
    /* genesis; t1 opened, closed; 2 events; t2 opened; resolution; t3 closed,
     * reclassified; restart event; t2 swept to in_doubt */
    assert_int_equal(v.entries, 11);
    assert_int_equal(v.head_seq, 11);
    assert_int_equal(strlen(v.head_hash), 64);
    /* 3 events, 1 resolution, 3 transactions (their last state) */
    assert_int_equal(v.rows, 7);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM chain WHERE tbl = 'transactions'"
                                  " AND row_id = 2"),
                     2);
    /* The head noted now is found later, however much the journal grew meanwhile. */
    char head[65];
    snprintf(head, sizeof head, "%s", v.head_hash);
    struct pb_journal *j = open_ok(f->db, NULL);
    pb_journal_close(j);
    v = verify(f->db, head);
    assert_true(v.intact);
    assert_int_equal(v.head_seq, 12); /* the third run's restart event */
    struct pb_journal_verify bad;
    assert_int_equal(pb_journal_verify_path(f->db, "00zz", &bad), PB_ERR_INVAL);
}

/* verify finds path broken: `problems` in all (0: any number), the first at chain row
 * seq, record tbl row `row` (-1 / NULL: not checked), its reason containing text. */
static void expect_broken(const char *path, const char *head, uint64_t problems, int64_t seq,
                          const char *tbl, int64_t row, const char *text)
{
    struct pb_journal_verify v = verify(path, head);
    assert_false(v.intact);
    if (problems)
        assert_int_equal(v.problems, problems);
    if (seq >= 0)
        assert_int_equal(v.broken_seq, seq);
    if (tbl)
        assert_string_equal(v.broken_table, tbl);
    if (row >= 0)
        assert_int_equal(v.broken_row, row);
    if (!strstr(v.why, text))
        fail_msg("'%s' not in '%s'", text, v.why);
}

/* An amount changed with the sqlite3 shell: the transaction's row no longer matches
 * its last chained state. */
static void test_chain_detects_an_edited_amount(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    tamper(f->db, "UPDATE transactions SET charged = 1250 WHERE id = 1");
    expect_broken(f->db, NULL, 1, 3, "transactions", 1, "changed after it was written");
    /* Its evidence is part of it too. */
    tamper(f->db, "UPDATE evidence SET stream_offset = 7 WHERE txn_id = 3");
    expect_broken(f->db, NULL, 2, 3, "transactions", 1, "changed after it was written");
}

/* Rows deleted, with the triggers that forbid it dropped first: an event, a chain row
 * (the event it chained is then outside the chain too), the genesis row. */
static void test_chain_detects_deleted_rows(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    tamper(f->db, "DROP TRIGGER events_keep_delete; DELETE FROM events WHERE id = 1");
    expect_broken(f->db, NULL, 1, 4, "events", 1, "is missing: deleted");
    char other[160];
    other_journal(f, other, sizeof other);
    tamper(other, "DROP TRIGGER chain_keep_delete; DELETE FROM chain WHERE seq = 5");
    expect_broken(other, NULL, 2, 6, NULL, -1, "chain rows 5 to 5 are missing: deleted");
    tamper(other, "DELETE FROM chain WHERE seq = 1");
    expect_broken(other, NULL, 0, 2, NULL, -1, "does not begin with its genesis row");
}

/* Rows swapped: two events' contents (their ids exchanged), and two chain rows. */
static void test_chain_detects_reordered_rows(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    tamper(f->db, "DROP TRIGGER events_keep_update;"
                  " UPDATE events SET id = -1 WHERE id = 1; UPDATE events SET id = 1 WHERE id = 2;"
                  " UPDATE events SET id = 2 WHERE id = -1");
    expect_broken(f->db, NULL, 2, 4, "events", 1, "changed after it was written");
    char other[160];
    other_journal(f, other, sizeof other);
    tamper(other, "DROP TRIGGER chain_keep_update;"
                  " UPDATE chain SET seq = -1 WHERE seq = 4; UPDATE chain SET seq = 4 WHERE seq = 5;"
                  " UPDATE chain SET seq = 5 WHERE seq = -1");
    expect_broken(other, NULL, 0, 4, NULL, -1, "does not follow chain row 3");
}

/* A row added behind the chain's back, and the end of the journal cut off: the latter
 * only a head noted earlier can tell (docs/JOURNAL.md). */
static void test_chain_detects_added_rows_and_a_cut_end(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    tamper(f->db, "INSERT INTO events (at_utc, kind, text) VALUES (1, 'note', 'forged')");
    expect_broken(f->db, NULL, 1, 0, "events", 4, "in no chain row");

    /* The second run cut off whole: its restart event and the in_doubt sweep, with the
     * chain rows that chained them, and t2 put back as it was. Every row left matches
     * its chain, so only the head noted before can tell. */
    char other[160], head[65];
    other_journal(f, other, sizeof other);
    struct pb_journal_verify v = verify(other, NULL);
    snprintf(head, sizeof head, "%s", v.head_hash);
    tamper(other, "DROP TRIGGER chain_keep_delete; DROP TRIGGER events_keep_delete;"
                  " DELETE FROM chain WHERE seq >= 10; DELETE FROM events WHERE id = 3;"
                  " UPDATE transactions SET state = 'pending', class = NULL, severity = NULL,"
                  " detail = NULL WHERE id = 2; DELETE FROM runs WHERE id = 2");
    v = verify(other, NULL);
    assert_true(v.intact);
    assert_int_equal(v.head_seq, 9);
    expect_broken(other, head, 1, 0, "chain", 0, "no chain row has the head");
}

/* A journal of schema version 1 with rows in it: the migration chains them, as they
 * are, after a genesis row that counts them; a v1 journal cannot be verified read-only
 * until then. */
static void test_chain_migration_from_v1(void **state)
{
    struct fx *f = *state;
    chained_journal(f->db);
    /* Back to v1: what this code's v1 wrote, with the v2 additions taken away. */
    tamper(f->db, "DROP TABLE chain; DROP TRIGGER events_keep_update;"
                  " DROP TRIGGER events_keep_delete; PRAGMA user_version = 1");
    struct pb_journal_verify v;
    assert_int_equal(pb_journal_verify_path(f->db, NULL, &v), PB_ERR_UNSUPPORTED);
    struct pb_journal *j = open_ok(f->db, &(struct pb_journal_opts){.no_run = true});
    pb_journal_close(j);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 2);
    /* 3 transactions, 1 resolution, 3 events */
    assert_int_equal(q_int(f->db, "SELECT row_id FROM chain WHERE seq = 1 AND tbl = 'genesis'"),
                     7);
    v = verify(f->db, NULL);
    assert_true(v.intact);
    assert_int_equal(v.entries, 8);
    char txt[128];
    q_text(f->db, "SELECT group_concat(tbl || row_id, ' ') FROM (SELECT * FROM chain ORDER BY seq)",
           txt, sizeof txt);
    assert_string_equal(txt, "genesis7 transactions1 transactions2 transactions3 resolutions1 "
                             "events1 events2 events3");
}

/* The format, pinned: genesis row_hash is SHA-256 of its text (FIPS 180-4's own vector
 * for "abc" checks the library), and the first chain row's hash is SHA-256 of 32 zero
 * bytes and the canonical encoding (docs/JOURNAL.md) of seq 1, 'genesis', row_id 0,
 * at_utc, row_hash, computed here independently of journal_chain.c. */
static void test_chain_format(void **state)
{
    struct fx *f = *state;
    uint8_t d[SHA256_DIGEST_SIZE];
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, 3, (const uint8_t *)"abc");
    sha256_digest(&c, sizeof d, d);
    static const uint8_t abc[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    assert_memory_equal(d, abc, sizeof abc);

    struct pb_journal *j = open_ok(f->db, NULL);
    pb_journal_close(j);
    char hex[80];
    q_text(f->db, "SELECT hex(row_hash) FROM chain WHERE seq = 1", hex, sizeof hex);
    /* printf 'posbridge journal chain genesis' | sha256sum */
    assert_string_equal(hex, "5B323D46890FE933211FA5E2E36AE3017DBF5B0EAE99EB9EC7CB7F38CF330328");

    int64_t at = q_int(f->db, "SELECT at_utc FROM chain WHERE seq = 1");
    uint8_t buf[256], *p = buf;
    memset(p, 0, 32), p += 32; /* prev_hash of the first row */
    *p++ = 1;                  /* integer: seq 1 */
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(1ull >> (8 * i));
    *p++ = 3;                  /* text: 'genesis' */
    *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 7;
    memcpy(p, "genesis", 7), p += 7;
    *p++ = 1;                  /* integer: row_id 0 */
    memset(p, 0, 8), p += 8;
    *p++ = 1;                  /* integer: at_utc */
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)((uint64_t)at >> (8 * i));
    *p++ = 4;                  /* blob: row_hash */
    *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 32;
    sha256_init(&c);
    sha256_update(&c, 31, (const uint8_t *)"posbridge journal chain genesis");
    sha256_digest(&c, 32, p), p += 32;
    sha256_init(&c);
    sha256_update(&c, (size_t)(p - buf), buf);
    sha256_digest(&c, sizeof d, d);
    char want[65];
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02X", d[i]);
    q_text(f->db, "SELECT hex(hash) FROM chain WHERE seq = 1", hex, sizeof hex);
    assert_string_equal(hex, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opened_then_closed_is_one_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_without_opened_inserts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclassified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_replaced_on_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_becomes_in_doubt_on_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_bridge_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_keeps_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreach_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_keeps_everything_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_overflow_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_gives_up_on_a_dead_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_record_is_skipped_not_retried_forever, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_real_write_error_rlimit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_journal_is_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_journal_is_kept_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_journal_is_recreated_at_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_chain_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_an_edited_amount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_deleted_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_reordered_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_added_rows_and_a_cut_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_chain_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
