#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal_impl.h"
#include "log.h"
#include "pb_error.h"
#include "safefile.h"

/* ---- names ---------------------------------------------------------------------------
 * Classes and severities are stored by the tracker's stable names (pb_class_name,
 * pb_severity_name), so the journal reads the same as JSON output and docs/DISCREPANCIES.md. */

static const char *severity_str(enum pb_class c)
{
    return pb_severity_name(pb_class_severity(c));
}

/* ---- the queue ----------------------------------------------------------------------- */

enum rec_type { REC_TXN, REC_EVENT };

struct rec {
    struct rec *next;
    enum rec_type type;
    bool poison; /* a data error (constraint) that no retry can fix: skipped */
    union {
        struct {
            enum pb_txn_event ev;
            char protocol[PB_JOURNAL_NAME_MAX];
            struct pb_txn txn; /* txn.protocol is NULL in the copy: use protocol[] */
        } t;
        struct {
            int64_t utc_us;
            char kind[PB_JOURNAL_NAME_MAX];
            char text[PB_JOURNAL_TEXT_MAX];
        } e;
    } u;
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_UPSERT] =
        "INSERT INTO transactions (run_id, txn_seq, protocol, type, state, class, severity,"
        " requested, requested_currency, charged, currency, amount_due, result, result_code,"
        " result_text, pos_id, terminal_id, trace, receipt, reference, auth_code, pan_masked,"
        " started_utc, ended_utc, latency_us, naks, repeats, checksum_errors, intermediates,"
        " related_seq, detail, related)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31,"
        " (SELECT id FROM transactions WHERE run_id = ?1 AND txn_seq = ?30))"
        " ON CONFLICT (run_id, txn_seq) DO UPDATE SET protocol = excluded.protocol,"
        " type = excluded.type, state = excluded.state, class = excluded.class,"
        " severity = excluded.severity, requested = excluded.requested,"
        " requested_currency = excluded.requested_currency, charged = excluded.charged,"
        " currency = excluded.currency, amount_due = excluded.amount_due,"
        " result = excluded.result, result_code = excluded.result_code,"
        " result_text = excluded.result_text, pos_id = excluded.pos_id,"
        " terminal_id = excluded.terminal_id, trace = excluded.trace,"
        " receipt = excluded.receipt, reference = excluded.reference,"
        " auth_code = excluded.auth_code, pan_masked = excluded.pan_masked,"
        " started_utc = excluded.started_utc, ended_utc = excluded.ended_utc,"
        " latency_us = excluded.latency_us, naks = excluded.naks, repeats = excluded.repeats,"
        " checksum_errors = excluded.checksum_errors, intermediates = excluded.intermediates,"
        " related_seq = excluded.related_seq, detail = excluded.detail,"
        " related = excluded.related"
        /* An OPENED arriving after its CLOSED must not reopen the row. */
        " WHERE NOT (excluded.state = 'pending' AND transactions.state = 'closed')",
    [ST_ROWID] = "SELECT id FROM transactions WHERE run_id = ?1 AND txn_seq = ?2",
    [ST_EV_DELETE] = "DELETE FROM evidence WHERE txn_id = ?1",
    [ST_EV_INSERT] = "INSERT INTO evidence (txn_id, seq, dir, stream_offset, length, kind)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_EVENT] = "INSERT INTO events (at_utc, run_id, kind, text) VALUES (?1, ?2, ?3, ?4)",
};

static int64_t now_us(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- file and directory -------------------------------------------------------------- */

/* mkdir -p of path's parent with 0700 for what it creates (chmod: umask-independent). */
static int make_parent_dirs(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return PB_ERR_NOMEM;
    int rc = PB_OK;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        goto out; /* relative name in cwd, or a file in / */
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        bool end = (*p == '\0');
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(dir, 0700) == 0) {
                if (chmod(dir, 0700) != 0) {
                    pb_error("journal: chmod %s: %s", dir, strerror(errno));
                    rc = PB_ERR_IO;
                    goto out;
                }
            } else if (errno != EEXIST) {
                pb_error("journal: cannot create directory %s: %s", dir, strerror(errno));
                rc = PB_ERR_IO;
                goto out;
            }
            if (end)
                break;
            *p = '/';
        }
    }
out:
    free(dir);
    return rc;
}

/* Creates the file 0600 before SQLite sees it (SQLite would apply the umask, and gives
 * -wal and -shm the database file's mode), through lane/safefile.h: a symlink, FIFO,
 * device, another user's file or a mode wider than 0600 is refused, at the database and
 * at the -wal, -shm and -journal files SQLite opens beside it. SQLite is then told not to
 * follow a symlink either (SQLITE_OPEN_NOFOLLOW). Returns an open fd or a negative pb_err
 * (PB_ERR_UNSAFE, PB_ERR_IO), the reason logged. */
static int open_db_file(const char *path)
{
    static const char *const sidecar[] = {"-wal", "-shm", "-journal"};
    char why[PATH_MAX + 200], side[PATH_MAX];
    for (size_t i = 0; i < sizeof sidecar / sizeof sidecar[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, sidecar[i]);
        int rc = pb_safefile_check(side, why, sizeof why);
        if (rc != PB_OK) {
            pb_error("journal: %s", why);
            return rc;
        }
    }
    int fd = pb_safefile_open(path, O_RDWR, why, sizeof why);
    if (fd < 0)
        pb_error("journal: %s", why);
    return fd;
}

/* ---- SQLite helpers ------------------------------------------------------------------ */

int journal_db_fail(struct pb_journal *j, const char *what)
{
    pb_error("journal %s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
    return PB_ERR_DB;
}

int journal_exec(struct pb_journal *j, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(j->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        pb_error("journal %s: %s", j->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return PB_ERR_DB;
    }
    return PB_OK;
}

void journal_rollback_if_open(struct pb_journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- the connection ------------------------------------------------------------------ */

/* Opens j->db on path with its settings: WAL and synchronous=FULL unless read-only. */
static int connect_db(struct pb_journal *j, const char *path, int flags)
{
    if (sqlite3_open_v2(path, &j->db, flags, j->o.vfs) != SQLITE_OK)
        return j->db ? journal_db_fail(j, "open") : PB_ERR_NOMEM;
    sqlite3_extended_result_codes(j->db, 1);
    sqlite3_busy_timeout(j->db, (int)(j->o.busy_timeout_ms > INT32_MAX ? INT32_MAX
                                                                       : j->o.busy_timeout_ms));
    int rc = journal_exec(j, "PRAGMA foreign_keys = ON");
    if (rc != PB_OK || j->o.read_only)
        return rc;
    sqlite3_stmt *s = NULL;
    bool wal = sqlite3_prepare_v2(j->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) == SQLITE_OK &&
               sqlite3_step(s) == SQLITE_ROW &&
               sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal)
        return journal_db_fail(j, "cannot switch to WAL mode");
    /* FULL: a commit is on disk (WAL fsync) before the batch counts as written; the
     * journal is evidence in money disputes. */
    rc = journal_exec(j, j->o.sync_normal ? "PRAGMA synchronous = NORMAL"
                                           : "PRAGMA synchronous = FULL");
    if (rc != PB_OK)
        return rc;
    /* The bridge appends and looks up recent rows by index: SQLite's default 2 MiB
     * page cache only made its memory creep for years as the file grew (a port-loss
     * soak saw ~0.75 kB per transaction until the cache was full). 256 KiB bounds it. */
    return journal_exec(j, "PRAGMA cache_size = -256");
}

static int prepare_stmts(struct pb_journal *j)
{
    for (int i = 0; i < ST__COUNT; i++)
        if (sqlite3_prepare_v3(j->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &j->st[i],
                               NULL) != SQLITE_OK)
            return journal_db_fail(j, "prepare");
    return PB_OK;
}

/* Closes the connection (NULL afterwards). Closing any fd of the file drops SQLite's
 * POSIX locks, so the lock fd is closed after this, never before. */
static void disconnect_db(struct pb_journal *j)
{
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(j->st[i]);
        j->st[i] = NULL;
    }
    journal_chain_finalize(j);
    if (j->db)
        sqlite3_close(j->db);
    j->db = NULL;
}

/* ---- run start ----------------------------------------------------------------------- */

/* The runs row of this run (sets run_id). SQLITE_OK or SQLite's code. */
static int insert_run_row(struct pb_journal *j, int64_t started)
{
    char host[256] = "";
    const char *h = j->o.host;
    if (!h && gethostname(host, sizeof host - 1) == 0)
        h = host;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(j->db,
                                "INSERT INTO runs (started_utc, host, version, protocol,"
                                " register_port, terminal_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(s, 1, started);
    bind_text(s, 2, h);
    bind_text(s, 3, j->o.version);
    bind_text(s, 4, j->o.protocol);
    bind_text(s, 5, j->o.register_port);
    bind_text(s, 6, j->o.terminal_port);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return rc;
    j->run_id = sqlite3_last_insert_rowid(j->db);
    return SQLITE_OK;
}

/* One transaction: pending rows of earlier runs become in_doubt (docs/DESIGN.md decision 6:
 * the bridge cannot know their outcome), the run row, a restart event. */
static int start_run(struct pb_journal *j)
{
    int rc = journal_exec(j, "BEGIN IMMEDIATE");
    if (rc != PB_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    int64_t *swept = NULL;
    size_t n_swept = 0;
    if (sqlite3_prepare_v2(j->db,
                           "UPDATE transactions SET state = 'closed', class = ?1, severity = ?2,"
                           " detail = ?3 WHERE state = 'pending' RETURNING id",
                           -1, &s, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(s, 1, pb_class_name(PB_CLASS_IN_DOUBT), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, severity_str(PB_CLASS_IN_DOUBT), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, "bridge restarted before the outcome was known", -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t *more = realloc(swept, (n_swept + 1) * sizeof *swept);
        if (!more)
            goto fail;
        swept = more;
        swept[n_swept++] = sqlite3_column_int64(s, 0);
    }
    if (step != SQLITE_DONE)
        goto fail;
    j->in_doubt_at_open = (unsigned)n_swept;
    sqlite3_finalize(s);
    s = NULL;
    /* Each swept row took a new state: chained like any other. */
    for (size_t i = 0; i < n_swept; i++)
        if (journal_chain_append(j, "transactions", swept[i]) != SQLITE_OK)
            goto fail;
    free(swept);
    swept = NULL;

    /* The previous run: did it record a clean shutdown? */
    int64_t prev_id = 0, prev_end = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT id, ended_utc FROM runs ORDER BY id DESC LIMIT 1", -1,
                           &s, NULL) != SQLITE_OK)
        goto fail;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        prev_id = sqlite3_column_int64(s, 0);
        prev_end = sqlite3_column_int64(s, 1);
    } else if (step != SQLITE_DONE) {
        goto fail;
    }
    sqlite3_finalize(s);

    int64_t started = j->o.started_utc_us ? j->o.started_utc_us : now_us(CLOCK_REALTIME);
    if (insert_run_row(j, started) != SQLITE_OK)
        goto fail;

    if (prev_id) {
        char text[PB_JOURNAL_TEXT_MAX];
        snprintf(text, sizeof text, "run %lld %s; %u pending transaction(s) marked in_doubt",
                 (long long)prev_id,
                 prev_end ? "ended cleanly" : "did not record a shutdown (crash or power loss?)",
                 j->in_doubt_at_open);
        if (sqlite3_prepare_v2(j->db, stmt_sql[ST_EVENT], -1, &s, NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_int64(s, 1, started);
        sqlite3_bind_int64(s, 2, j->run_id);
        sqlite3_bind_text(s, 3, "restart", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE)
            goto fail;
        sqlite3_finalize(s);
        s = NULL;
        if (journal_chain_append(j, "events", sqlite3_last_insert_rowid(j->db)) != SQLITE_OK)
            goto fail;
    }
    rc = journal_exec(j, "COMMIT");
    if (rc != PB_OK)
        journal_rollback_if_open(j);
    else if (j->in_doubt_at_open)
        pb_warn("journal %s: %u transaction(s) left pending by run %lld are now in_doubt",
                j->path, j->in_doubt_at_open, (long long)prev_id);
    return rc;
fail:
    rc = journal_db_fail(j, "starting the run");
    sqlite3_finalize(s);
    free(swept);
    journal_rollback_if_open(j);
    return rc;
}

/* ---- writing one record (writer thread, under db_mu) --------------------------------- */

/* SQLite codes that no retry can fix: the record itself is bad. Everything else (FULL,
 * IOERR, READONLY, BUSY, CANTOPEN, NOMEM...) is the environment and is retried. */
static bool is_data_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
        return true;
    }
    return false;
}

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Replaces the evidence of t's row; *rowid gets the row's transactions.id. */
static int write_evidence(struct pb_journal *j, const struct pb_txn *t, int64_t *rowid_out)
{
    sqlite3_stmt *s = j->st[ST_ROWID];
    sqlite3_bind_int64(s, 1, j->run_id);
    sqlite3_bind_int64(s, 2, (int64_t)t->id);
    int rc = sqlite3_step(s);
    int64_t rowid = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SQLITE_INTERNAL : rc;
    *rowid_out = rowid;

    s = j->st[ST_EV_DELETE];
    sqlite3_bind_int64(s, 1, rowid);
    if ((rc = step_done(s)) != SQLITE_OK)
        return rc;
    unsigned n = t->n_evidence < PB_EVIDENCE_MAX ? t->n_evidence : PB_EVIDENCE_MAX;
    s = j->st[ST_EV_INSERT];
    for (unsigned i = 0; i < n; i++) {
        const struct pb_evidence *e = &t->evidence[i];
        sqlite3_bind_int64(s, 1, rowid);
        sqlite3_bind_int(s, 2, (int)i);
        sqlite3_bind_text(s, 3, pb_dir_name(e->dir), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, (int64_t)e->offset);
        sqlite3_bind_int64(s, 5, e->length);
        sqlite3_bind_text(s, 6, pb_kind_name(e->kind), -1, SQLITE_STATIC);
        if ((rc = step_done(s)) != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int write_upsert(struct pb_journal *j, const struct rec *r, bool closed)
{
    const struct pb_txn *t = &r->u.t.txn;
    sqlite3_stmt *s = j->st[ST_UPSERT];
    sqlite3_bind_int64(s, 1, j->run_id);
    sqlite3_bind_int64(s, 2, (int64_t)t->id);
    sqlite3_bind_text(s, 3, r->u.t.protocol, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, pb_txn_name(t->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, closed ? "closed" : "pending", -1, SQLITE_STATIC);
    if (closed && t->cls != PB_CLASS_NONE) {
        sqlite3_bind_text(s, 6, pb_class_name(t->cls), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, severity_str(t->cls), -1, SQLITE_STATIC);
    }
    bind_i64_if(s, 8, t->has_requested, t->requested);
    bind_i64_if(s, 9, t->requested_currency != 0, t->requested_currency);
    bind_i64_if(s, 10, t->has_charged, t->charged);
    bind_i64_if(s, 11, t->currency != 0, t->currency);
    bind_i64_if(s, 12, t->has_amount_due, t->amount_due);
    if (t->result != PB_RESULT_NONE)
        sqlite3_bind_text(s, 13, pb_result_name(t->result), -1, SQLITE_STATIC);
    bind_i64_if(s, 14, t->result_code >= 0, t->result_code);
    bind_text(s, 15, t->result_text);
    bind_text(s, 16, t->pos_id);
    bind_text(s, 17, t->terminal_id);
    bind_text(s, 18, t->trace);
    bind_text(s, 19, t->receipt);
    bind_text(s, 20, t->reference);
    bind_text(s, 21, t->auth_code);
    bind_text(s, 22, t->pan);
    bind_i64_if(s, 23, t->started.utc_us != 0, t->started.utc_us);
    bind_i64_if(s, 24, closed && t->ended.utc_us != 0, t->ended.utc_us);
    bind_i64_if(s, 25, t->latency_us >= 0, t->latency_us);
    sqlite3_bind_int64(s, 26, t->naks);
    sqlite3_bind_int64(s, 27, t->repeats);
    sqlite3_bind_int64(s, 28, t->checksum_errors);
    sqlite3_bind_int64(s, 29, t->intermediates);
    bind_i64_if(s, 30, t->related_id != 0, (int64_t)t->related_id);
    bind_text(s, 31, t->detail);
    int rc = step_done(s);
    if (rc != SQLITE_OK)
        return rc;
    if (sqlite3_changes(j->db) == 0)
        return SQLITE_OK; /* OPENED after CLOSED: nothing changed, keep the evidence */
    /* Each state the row takes is chained, with its evidence (journal_chain.c). */
    int64_t rowid = 0;
    if ((rc = write_evidence(j, t, &rowid)) != SQLITE_OK)
        return rc;
    return journal_chain_append(j, "transactions", rowid);
}

static int write_event_row(struct pb_journal *j, int64_t utc_us, const char *kind, const char *text)
{
    sqlite3_stmt *s = j->st[ST_EVENT];
    sqlite3_bind_int64(s, 1, utc_us);
    bind_i64_if(s, 2, j->run_id != 0, j->run_id);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    bind_text(s, 4, text);
    int rc = step_done(s);
    return rc == SQLITE_OK ? journal_chain_append(j, "events", sqlite3_last_insert_rowid(j->db))
                           : rc;
}

/* An event row in a transaction of its own (outside the writer's batches), chained. */
static int write_event_now(struct pb_journal *j, int64_t utc_us, const char *kind,
                           const char *text)
{
    int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = write_event_row(j, utc_us, kind, text);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        journal_rollback_if_open(j);
    return rc;
}

static int write_rec(struct pb_journal *j, const struct rec *r)
{
    if (r->type == REC_EVENT)
        return write_event_row(j, r->u.e.utc_us, r->u.e.kind, r->u.e.text);
    switch (r->u.t.ev) {
    case PB_TXN_OPENED: return write_upsert(j, r, false);
    case PB_TXN_CLOSED: return write_upsert(j, r, true);
    /* The tracker hands over the whole transaction: a late approval brings the
     * charged amount and result with its new class, so the row is rewritten whole. */
    case PB_TXN_RECLASSIFIED: return write_upsert(j, r, true);
    }
    return SQLITE_MISUSE;
}

/* Writes the batch in one transaction. A record failing with a data error is marked
 * poison and the batch is redone without it; any other failure leaves every record
 * queued. Returns SQLITE_OK or the failing code (message in msg). */
static int write_batch(struct pb_journal *j, struct rec **batch, size_t n, char *msg, size_t cap)
{
    for (;;) {
        int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        struct rec *bad = NULL;
        j->chain_batch = rc == SQLITE_OK;
        j->chain_cached = false;
        for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
            if (batch[i]->poison)
                continue;
            rc = write_rec(j, batch[i]);
            if (rc != SQLITE_OK)
                bad = batch[i];
        }
        j->chain_batch = j->chain_cached = false;
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return SQLITE_OK;
        snprintf(msg, cap, "%s", sqlite3_errmsg(j->db));
        journal_rollback_if_open(j);
        if (bad && is_data_error(rc)) {
            bad->poison = true;
            pb_error("journal %s: dropping a record SQLite refuses (%s)", j->path, msg);
            continue;
        }
        return rc;
    }
}

/* ---- the file removed or replaced under a running bridge ------------------------------
 * Before each batch the writer stats the path (about a microsecond) and compares device
 * and inode with the file it writes to. SQLite itself notices nothing in WAL mode: the
 * descriptors stay valid, commits succeed, and every record lands in a file that no
 * longer has a name and vanishes when the bridge stops. The connection still open on
 * that file is the one complete copy, so the new file is made from it. */

/* Copies the open journal into the (empty) file at tmp with SQLite's backup API, which
 * reads through j->db: pending rows, the chain and the WAL's content included. */
static int copy_open_journal(struct pb_journal *j, const char *tmp, char *why, size_t cap)
{
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, j->o.vfs);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", j->db, "main");
        if (!b) {
            rc = sqlite3_errcode(dst);
        } else {
            int step = sqlite3_backup_step(b, -1);
            rc = sqlite3_backup_finish(b);
            if (step != SQLITE_DONE && rc == SQLITE_OK)
                rc = step;
        }
    }
    if (rc != SQLITE_OK)
        snprintf(why, cap, "%s", dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
    sqlite3_close(dst);
    return rc;
}

/* Phase one, with the old connection still open: the copy in PATH.recreate (locked, our
 * file from now on), then the old connection closed. SQLite removes the old -wal and
 * -shm names as it closes, so nothing of the old file is left for the new one to pick
 * up. PB_OK or PB_ERR_IO (msg says why; the old connection is kept for a retry). */
static int recreate_copy(struct pb_journal *j, const char *tmp, char *msg, size_t cap)
{
    char journal_tmp[PATH_MAX + 16];
    snprintf(journal_tmp, sizeof journal_tmp, "%s-journal", tmp);
    unlink(tmp); /* a leftover of an earlier attempt */
    unlink(journal_tmp);
    if (make_parent_dirs(j->path) != PB_OK) {
        snprintf(msg, cap, "cannot create the directory of %s", j->path);
        return PB_ERR_IO;
    }
    int fd = open_db_file(tmp);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(msg, cap, "cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return PB_ERR_IO;
    }
    char why[200] = "";
    j->recreate_copied = j->db && copy_open_journal(j, tmp, why, sizeof why) == SQLITE_OK;
    if (!j->recreate_copied) {
        pb_error("journal %s: the open journal cannot be copied (%s): starting a new one; the "
                 "queued records go into it",
                 j->path, why[0] ? why : "no connection");
        if (ftruncate(fd, 0) != 0)
            pb_warn("journal %s: truncate: %s", tmp, strerror(errno));
    }
    disconnect_db(j);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    j->lock_fd = fd;
    j->file_dev = st.st_dev;
    j->file_ino = st.st_ino;
    return PB_OK;
}

/* Remembers which -wal and -shm files are this connection's: SQLite keeps both open,
 * same inode, as long as the connection lives. */
static void note_side_files(struct pb_journal *j)
{
    static const char *const suffix[2] = {"-wal", "-shm"};
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX + 8];
        struct stat st;
        snprintf(p, sizeof p, "%s%s", j->path, suffix[i]);
        bool ok = stat(p, &st) == 0;
        j->side_dev[i] = ok ? st.st_dev : 0;
        j->side_ino[i] = ok ? st.st_ino : 0;
    }
}

/* Moves whatever now has the journal's names (a file that replaced it, -wal or -shm not
 * ours) aside to PATH.replaced-STAMP[-wal|-shm]; aside gets the main file's new name, ""
 * when there was none. PB_OK or PB_ERR_IO. */
static int move_aside(struct pb_journal *j, char *aside, size_t aside_cap, char *msg, size_t cap)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    aside[0] = '\0';
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char from[PATH_MAX + 8], to[PATH_MAX + 64];
        struct stat st;
        snprintf(from, sizeof from, "%s%s", j->path, suffix[i]);
        if (lstat(from, &st) != 0)
            continue;
        if (i > 0 && st.st_dev == j->side_dev[i - 1] && st.st_ino == j->side_ino[i - 1]) {
            /* The old connection's own, left behind when it closed (its checkpoint into
             * a moved file fails). Already in the copy; beside another database it would
             * be replayed into that one. */
            unlink(from);
            continue;
        }
        snprintf(to, sizeof to, "%s.replaced-%s%s", j->path, stamp, suffix[i]);
        if (rename(from, to) != 0) {
            snprintf(msg, cap, "cannot move %.160s aside: %s", from, strerror(errno));
            return PB_ERR_IO;
        }
        pb_warn("journal: %s is not this bridge's journal file: kept as %s", from, to);
        if (i == 0)
            snprintf(aside, aside_cap, "%s", to);
    }
    return PB_OK;
}

/* Phase two, the old connection closed: the copy takes the journal's name and is opened
 * as the journal, with a journal_recreated event. A fresh file (no copy) gets the schema
 * and a new run row. PB_OK, or an error with msg (retried: the writer stays failing). */
static int recreate_open(struct pb_journal *j, const char *tmp, bool removed, size_t queued,
                         char *msg, size_t cap, char *note, size_t note_cap)
{
    struct stat st;
    if (stat(tmp, &st) != 0 || st.st_dev != j->file_dev || st.st_ino != j->file_ino) {
        /* The copy went too (someone cleaned the directory): a fresh file, then. */
        int rc = recreate_copy(j, tmp, msg, cap);
        if (rc != PB_OK)
            return rc;
    }
    char aside[PATH_MAX + 64];
    int rc = move_aside(j, aside, sizeof aside, msg, cap);
    if (rc != PB_OK)
        return rc;
    if (rename(tmp, j->path) != 0) {
        snprintf(msg, cap, "cannot rename %.100s to %.100s: %s", tmp, j->path, strerror(errno));
        return PB_ERR_IO;
    }
    if ((rc = connect_db(j, j->path, SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_READWRITE)) != PB_OK ||
        (rc = journal_migrate(j)) != PB_OK ||
        (!j->recreate_copied && insert_run_row(j, now_us(CLOCK_REALTIME)) != SQLITE_OK) ||
        (rc = prepare_stmts(j)) != PB_OK) {
        snprintf(msg, cap, "cannot open the recreated journal: %s",
                 j->db ? sqlite3_errmsg(j->db) : "out of memory");
        disconnect_db(j);
        return PB_ERR_DB;
    }
    char what[128];
    const char *base = strrchr(aside, '/');
    if (removed)
        snprintf(what, sizeof what, "journal file removed while the bridge ran");
    else
        snprintf(what, sizeof what,
                 "journal file replaced by another file while the bridge ran (kept as %.44s)",
                 base ? base + 1 : aside);
    char kept[64];
    if (j->recreate_copied)
        snprintf(kept, sizeof kept, "recreated from the copy still open: every row kept");
    else
        snprintf(kept, sizeof kept, "open copy unreadable: a new journal, run %lld",
                 (long long)j->run_id);
    snprintf(note, note_cap, "%s; %s; %zu queued record(s) follow", what, kept, queued);
    if (write_event_now(j, now_us(CLOCK_REALTIME), "journal_recreated", note) != SQLITE_OK)
        pb_error("journal %s: cannot record the journal_recreated event: %s", j->path,
                 sqlite3_errmsg(j->db));
    note_side_files(j);
    pb_error("ALERT journal %s: %s", j->path, note);
    return PB_OK;
}

/* Before a batch (writer thread, under db_mu): is the path still our file? If not, the
 * journal is recreated there. Returns SQLITE_OK (note set when it was recreated), or a
 * failure the writer treats like a failing disk: records stay queued, retried. */
static int check_file(struct pb_journal *j, size_t queued, char *msg, size_t cap, char *note,
                      size_t note_cap)
{
    note[0] = '\0';
    if (!j->watch_file)
        return SQLITE_OK;
    if (j->db) {
        struct stat st;
        if (stat(j->path, &st) == 0) {
            if (st.st_dev == j->file_dev && st.st_ino == j->file_ino)
                return SQLITE_OK;
            j->recreate_removed = false;
        } else if (errno == ENOENT || errno == ENOTDIR) {
            j->recreate_removed = true;
        } else {
            return SQLITE_OK; /* cannot tell (EACCES on the directory...): carry on */
        }
        pb_error("ALERT journal %s was %s while the bridge ran: recreating it", j->path,
                 j->recreate_removed ? "removed" : "replaced by another file");
    }
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.recreate", j->path);
    int rc = j->db ? recreate_copy(j, tmp, msg, cap) : PB_OK;
    if (rc == PB_OK)
        rc = recreate_open(j, tmp, j->recreate_removed, queued, msg, cap, note, note_cap);
    return rc == PB_OK ? SQLITE_OK : SQLITE_CANTOPEN;
}

/* ---- writer thread ------------------------------------------------------------------- */

static void free_recs(struct rec *r)
{
    while (r) {
        struct rec *next = r->next;
        free(r);
        r = next;
    }
}

/* Reports transitions noted under mu; called with mu released (logging and the callback
 * may block; submitters must never wait for them). */
static void report(struct pb_journal *j, bool fail, bool ok, const char *msg, uint64_t dropped,
                   bool overflow_start, bool overflow_end, uint64_t queued)
{
    if (fail) {
        pb_error("journal %s: writing failed (%s); %llu record(s) kept queued, retrying",
                 j->path, msg, (unsigned long long)queued);
        if (j->o.on_state)
            j->o.on_state(PB_JOURNAL_FAILING, msg, j->o.ctx);
    }
    if (ok) {
        pb_warn("journal %s: writing works again (%s)", j->path, msg);
        pthread_mutex_lock(&j->db_mu);
        if (j->db)
            write_event_now(j, now_us(CLOCK_REALTIME), "journal_error", msg);
        pthread_mutex_unlock(&j->db_mu);
        if (j->o.on_state)
            j->o.on_state(PB_JOURNAL_OK, msg, j->o.ctx);
    }
    if (overflow_start)
        pb_error("journal %s: QUEUE FULL (%zu records): dropping journal records; %llu dropped so "
                 "far",
                 j->path, j->o.queue_max, (unsigned long long)dropped);
    if (overflow_end) {
        char text[PB_JOURNAL_TEXT_MAX];
        snprintf(text, sizeof text, "journal queue overflowed: %llu record(s) dropped in total",
                 (unsigned long long)dropped);
        pb_error("journal %s: %s", j->path, text);
        pthread_mutex_lock(&j->db_mu);
        if (j->db)
            write_event_now(j, now_us(CLOCK_REALTIME), "journal_error", text);
        pthread_mutex_unlock(&j->db_mu);
    }
}

static void timed_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t until_mono_us)
{
    struct timespec ts = {.tv_sec = until_mono_us / 1000000,
                          .tv_nsec = (long)(until_mono_us % 1000000) * 1000};
    pthread_cond_timedwait(c, m, &ts);
}

static void *writer_main(void *arg)
{
    struct pb_journal *j = arg;
    char msg[256], note[PB_JOURNAL_TEXT_MAX];
    pthread_mutex_lock(&j->mu);
    for (;;) {
        bool fail = j->note_fail, ok = j->note_ok, ostart = false, oend = false;
        if (!j->overflow_active && j->stats.dropped > j->dropped_at_overflow) {
            j->overflow_active = ostart = true;
        } else if (j->overflow_active && j->count == 0) {
            j->overflow_active = false;
            j->dropped_at_overflow = j->stats.dropped;
            oend = true;
        }
        if (fail || ok || ostart || oend) {
            j->note_fail = j->note_ok = false;
            uint64_t dropped = j->stats.dropped, queued = j->count;
            snprintf(msg, sizeof msg, "%s", j->fail_msg);
            pthread_mutex_unlock(&j->mu);
            report(j, fail, ok, msg, dropped, ostart, oend, queued);
            pthread_mutex_lock(&j->mu);
            continue;
        }
        if (j->abort || (!j->head && j->stopping))
            break;
        if (!j->head) {
            pthread_cond_wait(&j->work, &j->mu);
            continue;
        }
        if (j->failing && now_us(CLOCK_MONOTONIC) < j->retry_at_mono_us) {
            timed_wait(&j->work, &j->mu, j->retry_at_mono_us);
            continue;
        }
        /* Only the writer removes records, so these stay valid with mu released. */
        size_t n = 0, queued = j->count;
        for (struct rec *r = j->head; r && n < j->o.batch_max; r = r->next)
            j->batch[n++] = r;
        pthread_mutex_unlock(&j->mu);

        pthread_mutex_lock(&j->db_mu);
        int rc = check_file(j, queued, msg, sizeof msg, note, sizeof note);
        if (rc == SQLITE_OK)
            rc = write_batch(j, j->batch, n, msg, sizeof msg);
        pthread_mutex_unlock(&j->db_mu);
        if (note[0] && j->o.on_state)
            j->o.on_state(PB_JOURNAL_RECREATED, note, j->o.ctx);

        pthread_mutex_lock(&j->mu);
        if (note[0])
            j->stats.recreated++;
        size_t to_free = 0;
        if (rc == SQLITE_OK) {
            for (size_t i = 0; i < n; i++) {
                if (j->batch[i]->poison)
                    j->stats.dropped++;
                else
                    j->stats.written++;
            }
            j->head = j->batch[n - 1]->next;
            if (!j->head)
                j->tail = NULL;
            j->count -= n;
            to_free = n;
            if (j->failing) {
                j->failing = false;
                j->note_ok = true;
                snprintf(j->fail_msg, sizeof j->fail_msg,
                         "writes failed from %.3f s epoch for %.1f s, %llu failed attempt(s); "
                         "nothing queued was lost",
                         j->episode_start_utc_us / 1e6,
                         (now_us(CLOCK_REALTIME) - j->episode_start_utc_us) / 1e6,
                         (unsigned long long)j->episode_failures);
            }
            pthread_cond_broadcast(&j->drained);
        } else {
            j->stats.failures++;
            if (!j->failing) {
                j->failing = true;
                j->stats.episodes++;
                j->episode_failures = 0;
                j->episode_start_utc_us = now_us(CLOCK_REALTIME);
                j->delay_ms = j->o.retry_min_ms;
                j->note_fail = true;
                snprintf(j->fail_msg, sizeof j->fail_msg, "%s", msg);
            } else {
                j->delay_ms = j->delay_ms > j->o.retry_max_ms / 2 ? j->o.retry_max_ms
                                                                   : j->delay_ms * 2;
            }
            j->episode_failures++;
            j->retry_at_mono_us = now_us(CLOCK_MONOTONIC) + (int64_t)j->delay_ms * 1000;
            pthread_cond_broadcast(&j->drained); /* let close() notice the failing state */
        }
        if (to_free) { /* detached: free them without holding up submitters */
            pthread_mutex_unlock(&j->mu);
            for (size_t i = 0; i < to_free; i++)
                free(j->batch[i]);
            pthread_mutex_lock(&j->mu);
        }
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- open / close -------------------------------------------------------------------- */

static void apply_defaults(struct pb_journal_opts *o)
{
    if (!o->busy_timeout_ms)
        o->busy_timeout_ms = 5000;
    if (!o->queue_max)
        o->queue_max = 100000;
    if (!o->batch_max)
        o->batch_max = 512;
    if (!o->retry_min_ms)
        o->retry_min_ms = 100;
    if (!o->retry_max_ms)
        o->retry_max_ms = 30000;
    if (o->retry_max_ms < o->retry_min_ms)
        o->retry_max_ms = o->retry_min_ms;
    if (!o->close_timeout_ms)
        o->close_timeout_ms = 5000;
}

static void free_journal(struct pb_journal *j)
{
    disconnect_db(j);
    /* After sqlite3_close: closing any fd of the file drops SQLite's POSIX locks. */
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    free_recs(j->head);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->drained);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->db_mu);
    free(j->batch);
    free(j->path);
    free(j);
}

static int init_sync(struct pb_journal *j)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init(&j->db_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc |= pthread_mutex_init(&j->mu, NULL);
    rc |= pthread_cond_init(&j->work, &ca);
    rc |= pthread_cond_init(&j->drained, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? PB_ERR_NOMEM : PB_OK;
}

int pb_journal_open(const char *path, const struct pb_journal_opts *opts, struct pb_journal **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!path || !*path)
        return PB_ERR_INVAL;
    struct pb_journal *j = calloc(1, sizeof *j);
    if (!j)
        return PB_ERR_NOMEM;
    j->lock_fd = -1;
    if (opts)
        j->o = *opts;
    apply_defaults(&j->o);
    bool run_mode = !j->o.read_only && !j->o.no_run;
    int rc = init_sync(j);
    if (rc != PB_OK) {
        free(j);
        return rc;
    }
    j->path = strdup(path);
    j->batch = calloc(j->o.batch_max, sizeof *j->batch);
    if (!j->path || !j->batch) {
        rc = PB_ERR_NOMEM;
        goto out;
    }

    int flags = SQLITE_OPEN_FULLMUTEX;
    if (j->o.read_only) {
        if (access(path, F_OK) != 0) {
            pb_error("journal: %s: %s", path, strerror(errno));
            rc = errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
            goto out;
        }
        flags |= SQLITE_OPEN_READONLY;
    } else {
        if ((rc = make_parent_dirs(path)) != PB_OK)
            goto out;
        int fd = open_db_file(path);
        if (fd < 0) {
            rc = fd;
            goto out;
        }
        struct stat st;
        if (run_mode && fstat(fd, &st) == 0) {
            j->watch_file = true;
            j->file_dev = st.st_dev;
            j->file_ino = st.st_ino;
        }
        if (run_mode) {
            /* One bridge per journal: a second one would sweep the first one's pending
             * rows to in_doubt. flock() is independent of SQLite's fcntl() locks. */
            if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
                pb_error("journal %s: in use by another posbridge run", path);
                close(fd);
                rc = PB_ERR_AGAIN;
                goto out;
            }
            j->lock_fd = fd;
        } else {
            close(fd);
        }
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW;
    }

    if ((rc = connect_db(j, j->path, flags)) != PB_OK)
        goto out;
    if ((rc = journal_migrate(j)) != PB_OK)
        goto out;
    if (run_mode && (rc = start_run(j)) != PB_OK)
        goto out;
    if (!j->o.read_only) {
        if ((rc = prepare_stmts(j)) != PB_OK)
            goto out;
        if (j->watch_file)
            note_side_files(j);
        if (pthread_create(&j->writer, NULL, writer_main, j) != 0) {
            rc = PB_ERR_NOMEM;
            goto out;
        }
        j->writer_started = true;
    }
    *out = j;
    return PB_OK;
out:
    free_journal(j);
    return rc;
}

int pb_journal_close(struct pb_journal *j)
{
    if (!j)
        return PB_OK;
    int rc = PB_OK;
    if (j->writer_started) {
        pthread_mutex_lock(&j->mu);
        j->stopping = true;
        pthread_cond_broadcast(&j->work);
        /* Drain. A working disk gets all the time it needs; a failing one gets
         * close_timeout_ms, after which the rest is counted as lost (shutdown must end). */
        int64_t fail_deadline = 0;
        while (j->count > 0) {
            if (j->failing) {
                int64_t now = now_us(CLOCK_MONOTONIC);
                if (!fail_deadline)
                    fail_deadline = now + (int64_t)j->o.close_timeout_ms * 1000;
                if (now >= fail_deadline)
                    break;
                timed_wait(&j->drained, &j->mu, fail_deadline);
            } else {
                fail_deadline = 0;
                pthread_cond_wait(&j->drained, &j->mu);
            }
        }
        j->abort = true;
        pthread_cond_broadcast(&j->work);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->writer, NULL);
        if (j->count > 0) {
            pb_error("journal %s: closing with the disk failing: %zu record(s) LOST", j->path,
                     j->count);
            j->stats.dropped += j->count;
            rc = PB_ERR_DB;
        }
    }
    if (j->watch_file) {
        /* Removed after the last batch: recreated now, or the whole journal goes with
         * this process. */
        char msg[256], note[PB_JOURNAL_TEXT_MAX];
        pthread_mutex_lock(&j->db_mu);
        if (check_file(j, 0, msg, sizeof msg, note, sizeof note) != SQLITE_OK)
            pb_error("journal %s: cannot recreate it at close: %s", j->path, msg);
        pthread_mutex_unlock(&j->db_mu);
        if (note[0]) {
            j->stats.recreated++;
            if (j->o.on_state)
                j->o.on_state(PB_JOURNAL_RECREATED, note, j->o.ctx);
        }
    }
    if (j->run_id && j->db) {
        /* The chain's head in the log (syslog, systemd's journal): a copy outside the
         * file, against which `posbridge verify --head` finds rows cut off its end. */
        int64_t seq;
        char hex[65];
        journal_chain_head(j, &seq, hex);
        if (seq)
            pb_info("journal %s: chain head %lld %s", j->path, (long long)seq, hex);
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(j->db, "UPDATE runs SET ended_utc = ?1 WHERE id = ?2", -1, &s,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, now_us(CLOCK_REALTIME));
            sqlite3_bind_int64(s, 2, j->run_id);
            if (sqlite3_step(s) != SQLITE_DONE)
                journal_db_fail(j, "recording the end of the run");
        }
        sqlite3_finalize(s);
    }
    free_journal(j);
    return rc;
}

/* ---- producers ----------------------------------------------------------------------- */

static int enqueue(struct pb_journal *j, struct rec *r)
{
    pthread_mutex_lock(&j->mu);
    if (j->count >= j->o.queue_max || j->stopping) {
        j->stats.dropped++;
        pthread_cond_signal(&j->work); /* the writer logs the overflow */
        pthread_mutex_unlock(&j->mu);
        free(r);
        return PB_ERR_AGAIN;
    }
    if (j->tail)
        j->tail->next = r;
    else
        j->head = r;
    j->tail = r;
    j->count++;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    return PB_OK;
}

static struct rec *new_rec(struct pb_journal *j)
{
    struct rec *r = malloc(sizeof *r);
    if (!r) {
        pthread_mutex_lock(&j->mu);
        j->stats.dropped++;
        pthread_cond_signal(&j->work);
        pthread_mutex_unlock(&j->mu);
        return NULL;
    }
    r->next = NULL;
    r->poison = false;
    return r;
}

int pb_journal_submit(struct pb_journal *j, enum pb_txn_event ev, const struct pb_txn *t)
{
    if (!j || !t || !j->writer_started || !j->run_id ||
        (ev != PB_TXN_OPENED && ev != PB_TXN_CLOSED && ev != PB_TXN_RECLASSIFIED))
        return PB_ERR_INVAL;
    struct rec *r = new_rec(j);
    if (!r)
        return PB_ERR_NOMEM;
    r->type = REC_TXN;
    r->u.t.ev = ev;
    r->u.t.txn = *t;
    struct pb_txn *c = &r->u.t.txn;
    c->protocol = NULL;
    /* A producer bug must not make the writer read past a field: terminate them all. */
    char *const strs[] = {c->result_text, c->pos_id,    c->terminal_id, c->trace,
                          c->receipt,     c->reference, c->auth_code,   c->pan};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        strs[i][PB_REF_MAX - 1] = '\0';
    c->detail[sizeof c->detail - 1] = '\0';
    copy_str(r->u.t.protocol, sizeof r->u.t.protocol, t->protocol ? t->protocol : "?");
    return enqueue(j, r);
}

int pb_journal_event(struct pb_journal *j, const char *kind, const char *text, int64_t utc_us)
{
    if (!j || !kind || !*kind || !j->writer_started)
        return PB_ERR_INVAL;
    struct rec *r = new_rec(j);
    if (!r)
        return PB_ERR_NOMEM;
    r->type = REC_EVENT;
    r->u.e.utc_us = utc_us;
    copy_str(r->u.e.kind, sizeof r->u.e.kind, kind);
    copy_str(r->u.e.text, sizeof r->u.e.text, text);
    return enqueue(j, r);
}

int pb_journal_sync(struct pb_journal *j, int timeout_ms)
{
    if (!j)
        return PB_ERR_INVAL;
    if (!j->writer_started)
        return PB_OK;
    int64_t deadline = now_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
    int rc = PB_OK;
    pthread_mutex_lock(&j->mu);
    while (j->count > 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&j->drained, &j->mu);
        } else if (now_us(CLOCK_MONOTONIC) >= deadline) {
            rc = PB_ERR_AGAIN;
            break;
        } else {
            timed_wait(&j->drained, &j->mu, deadline);
        }
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void pb_journal_stats(struct pb_journal *j, struct pb_journal_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    *out = j->stats;
    out->queued = j->count;
    out->failing = j->failing;
    pthread_mutex_unlock(&j->mu);
}

int64_t pb_journal_run_id(const struct pb_journal *j)
{
    return j ? j->run_id : 0;
}

unsigned pb_journal_in_doubt_at_open(const struct pb_journal *j)
{
    return j ? j->in_doubt_at_open : 0;
}

int pb_journal_resolve(struct pb_journal *j, int64_t txn_id, const char *action, const char *note,
                       const char *who, int64_t utc_us)
{
    if (!j || j->o.read_only || !pb_journal_action_valid(action))
        return PB_ERR_INVAL;
    int rc;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&j->db_mu);
    if (!j->db) { /* between the two halves of a failed recreation */
        rc = PB_ERR_DB;
        goto out;
    }
    if (sqlite3_prepare_v2(j->db, "SELECT state, class FROM transactions WHERE id = ?1", -1, &s,
                           NULL) != SQLITE_OK) {
        rc = journal_db_fail(j, "resolve");
        goto out;
    }
    sqlite3_bind_int64(s, 1, txn_id);
    int step = sqlite3_step(s);
    bool pending = false, discrepancy = false;
    if (step == SQLITE_ROW) {
        const char *st = (const char *)sqlite3_column_text(s, 0);
        const char *cls = (const char *)sqlite3_column_text(s, 1);
        pending = st && strcmp(st, "pending") == 0;
        int k = cls ? pb_class_from_name(cls) : -1;
        discrepancy = k >= 0 && pb_class_is_discrepancy((enum pb_class)k);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (step == SQLITE_DONE) {
        rc = PB_ERR_NOTFOUND;
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = journal_db_fail(j, "resolve");
        goto out;
    }
    if (pending || !discrepancy) {
        rc = pending ? PB_ERR_AGAIN : PB_ERR_UNSUPPORTED;
        goto out;
    }
    /* The row and its chain row in one transaction: the chain's head is read under
     * SQLite's write lock, whoever else (the bridge) appends meanwhile. */
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO resolutions (txn_id, action, note, who, at_utc)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = journal_db_fail(j, "resolve");
        goto out;
    }
    char buf[PB_JOURNAL_TEXT_MAX];
    sqlite3_bind_int64(s, 1, txn_id);
    sqlite3_bind_text(s, 2, action, -1, SQLITE_STATIC);
    copy_str(buf, sizeof buf, note);
    bind_text(s, 3, buf);
    bind_text(s, 4, who);
    sqlite3_bind_int64(s, 5, utc_us ? utc_us : now_us(CLOCK_REALTIME));
    if (sqlite3_step(s) == SQLITE_DONE &&
        journal_chain_append(j, "resolutions", sqlite3_last_insert_rowid(j->db)) == SQLITE_OK &&
        sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        rc = PB_OK;
    } else {
        rc = journal_db_fail(j, "resolve");
        journal_rollback_if_open(j);
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&j->db_mu);
    return rc;
}
