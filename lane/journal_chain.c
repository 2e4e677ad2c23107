/* journal_chain: the journal's hash chain, tamper evidence for the records (PCI DSS
 * 10.5: audit trails protected from unauthorised modification). docs/JOURNAL.md,
 * "Tamper evidence: the hash chain", is the format's reference.
 *
 * Table chain holds one row per record written: each state a transaction row takes
 * (opened, closed, reclassified, swept to in_doubt; its evidence with it), each events
 * row, each resolutions row, in the order they were written. A chain row carries the
 * SHA-256 of its record's canonical content (row_hash) and the hash of the chain row
 * before it (prev_hash); its own hash covers both, so editing, deleting or reordering
 * any of them breaks the links from there on. Transactions rows are rewritten in place
 * as they close, hence a chain row per state rather than a hash in the row itself.
 *
 * Canonical content: what SQLite stores, read back column by column in the fixed order
 * of the SELECTs below (part of the format: never reorder them), each value as its
 * SQLite type tag (1 integer, 2 float, 3 text, 4 blob, 5 null) followed by an integer
 * as 8 bytes big-endian, a float as its IEEE 754 bits likewise, text and blobs as a
 * 4-byte big-endian length and the bytes. The writer hashes the row it has just
 * written by reading it back with the same statement the verifier uses, so the two can
 * never disagree about what was stored. SHA-256 is libnettle's (docs/STYLE.md 16). */
#include "journal.h"

#include <ctype.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "journal_impl.h"
#include "log.h"
#include "pb_error.h"

#define HASH_LEN SHA256_DIGEST_SIZE

/* The genesis row's row_hash: SHA-256 of this text. */
static const char genesis_text[] = "posbridge journal chain genesis";

static const char *const chain_sql[CH__COUNT] = {
    [CH_ROW_TRANSACTION] =
        "SELECT id, run_id, txn_seq, protocol, type, state, class, severity, requested,"
        " requested_currency, charged, currency, amount_due, result, result_code, result_text,"
        " pos_id, terminal_id, trace, receipt, reference, auth_code, pan_masked, started_utc,"
        " ended_utc, latency_us, naks, repeats, checksum_errors, intermediates, related,"
        " related_seq, detail FROM transactions WHERE id = ?1",
    [CH_ROW_EVIDENCE] = "SELECT seq, dir, stream_offset, length, kind FROM evidence"
                        " WHERE txn_id = ?1 ORDER BY seq, id",
    [CH_ROW_EVENT] = "SELECT id, at_utc, run_id, kind, text FROM events WHERE id = ?1",
    [CH_ROW_RESOLUTION] =
        "SELECT id, txn_id, action, note, who, at_utc FROM resolutions WHERE id = ?1",
    [CH_HEAD] = "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1",
    [CH_INSERT] = "INSERT INTO chain (seq, tbl, row_id, at_utc, row_hash, prev_hash, hash)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [CH_LATEST] = "SELECT max(seq) FROM chain WHERE tbl = 'transactions' AND row_id = ?1",
};

/* ---- canonical content ----------------------------------------------------------------- */

static void put_u32(struct sha256_ctx *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sha256_update(c, sizeof b, b);
}

static void put_u64(struct sha256_ctx *c, uint64_t v)
{
    put_u32(c, (uint32_t)(v >> 32));
    put_u32(c, (uint32_t)v);
}

static void put_tag(struct sha256_ctx *c, int type)
{
    uint8_t t = (uint8_t)type;
    sha256_update(c, 1, &t);
}

static void put_int(struct sha256_ctx *c, int64_t v)
{
    put_tag(c, SQLITE_INTEGER);
    put_u64(c, (uint64_t)v);
}

static void put_bytes(struct sha256_ctx *c, int type, const void *p, size_t n)
{
    put_tag(c, type);
    put_u32(c, (uint32_t)n);
    if (n)
        sha256_update(c, n, p);
}

static void put_text(struct sha256_ctx *c, const char *s)
{
    put_bytes(c, SQLITE_TEXT, s, strlen(s));
}

/* Column i of the current row, as stored. Read through its sqlite3_value: one call
 * that takes the connection's mutex instead of three (measured: the mutex was a sixth
 * of the writer's time). */
static void put_column(struct sha256_ctx *c, sqlite3_stmt *s, int i)
{
    sqlite3_value *v = sqlite3_column_value(s, i);
    int type = sqlite3_value_type(v);
    switch (type) {
    case SQLITE_INTEGER:
        put_int(c, sqlite3_value_int64(v));
        return;
    case SQLITE_FLOAT: {
        double d = sqlite3_value_double(v);
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        put_tag(c, SQLITE_FLOAT);
        put_u64(c, u);
        return;
    }
    case SQLITE_TEXT: {
        const unsigned char *p = sqlite3_value_text(v);
        put_bytes(c, SQLITE_TEXT, p, (size_t)sqlite3_value_bytes(v));
        return;
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_value_blob(v);
        put_bytes(c, SQLITE_BLOB, p, (size_t)sqlite3_value_bytes(v));
        return;
    }
    default:
        put_tag(c, SQLITE_NULL);
    }
}

static void put_row(struct sha256_ctx *c, sqlite3_stmt *s)
{
    int n = sqlite3_column_count(s);
    put_u32(c, (uint32_t)n);
    for (int i = 0; i < n; i++)
        put_column(c, s, i);
}

static sqlite3_stmt *stmt(struct pb_journal *j, int which)
{
    if (!j->chain_st[which] &&
        sqlite3_prepare_v3(j->db, chain_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &j->chain_st[which], NULL) != SQLITE_OK)
        return NULL;
    return j->chain_st[which];
}

void journal_chain_finalize(struct pb_journal *j)
{
    for (int i = 0; i < CH__COUNT; i++) {
        sqlite3_finalize(j->chain_st[i]);
        j->chain_st[i] = NULL;
    }
}

static int table_stmt(const char *tbl)
{
    if (strcmp(tbl, "transactions") == 0)
        return CH_ROW_TRANSACTION;
    if (strcmp(tbl, "events") == 0)
        return CH_ROW_EVENT;
    if (strcmp(tbl, "resolutions") == 0)
        return CH_ROW_RESOLUTION;
    return -1;
}

/* The digest of row `id` of tbl as stored now (a transaction with its evidence).
 * SQLITE_OK, SQLITE_NOTFOUND when there is no such row, or SQLite's error. */
static int row_digest(struct pb_journal *j, const char *tbl, int64_t id, uint8_t out[HASH_LEN])
{
    int which = table_stmt(tbl);
    if (which < 0)
        return SQLITE_MISUSE;
    sqlite3_stmt *s = stmt(j, which);
    if (!s)
        return sqlite3_errcode(j->db);
    struct sha256_ctx c;
    sha256_init(&c);
    put_text(&c, tbl);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        put_row(&c, s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return SQLITE_NOTFOUND;
    if (rc != SQLITE_ROW)
        return rc;
    if (which == CH_ROW_TRANSACTION) {
        sqlite3_stmt *e = stmt(j, CH_ROW_EVIDENCE);
        if (!e)
            return sqlite3_errcode(j->db);
        sqlite3_bind_int64(e, 1, id);
        uint32_t n = 0;
        while ((rc = sqlite3_step(e)) == SQLITE_ROW) {
            put_row(&c, e);
            n++;
        }
        sqlite3_reset(e);
        if (rc != SQLITE_DONE)
            return rc;
        put_u32(&c, n); /* how many evidence rows: none may go missing unnoticed */
    }
    sha256_digest(&c, HASH_LEN, out);
    return SQLITE_OK;
}

static void genesis_digest(uint8_t out[HASH_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, sizeof genesis_text - 1, (const uint8_t *)genesis_text);
    sha256_digest(&c, HASH_LEN, out);
}

/* A chain row's own hash: SHA-256(prev_hash || seq, tbl, row_id, at_utc, row_hash). */
static void entry_hash(const uint8_t prev[HASH_LEN], int64_t seq, const char *tbl, int64_t row_id,
                       int64_t at_utc, const uint8_t row_hash[HASH_LEN], uint8_t out[HASH_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, HASH_LEN, prev);
    put_int(&c, seq);
    put_text(&c, tbl);
    put_int(&c, row_id);
    put_int(&c, at_utc);
    put_bytes(&c, SQLITE_BLOB, row_hash, HASH_LEN);
    sha256_digest(&c, HASH_LEN, out);
}

static int64_t now_utc_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- writing --------------------------------------------------------------------------- */

/* Appends a chain row for row_id of tbl ("genesis": row_id is the number of rows
 * chained by the migration). Must run inside the write transaction that wrote the row:
 * the head read here is then the head, whoever else (a `posbridge resolve` beside the
 * bridge) appends. Returns SQLITE_OK or SQLite's code. */
static int append(struct pb_journal *j, const char *tbl, int64_t row_id)
{
    uint8_t prev[HASH_LEN] = {0}, rh[HASH_LEN], h[HASH_LEN];
    int64_t seq = 1;
    sqlite3_stmt *s;
    int rc;
    if (j->chain_batch && j->chain_cached) {
        seq = j->chain_seq + 1;
        memcpy(prev, j->chain_hash, HASH_LEN);
    } else {
        if (!(s = stmt(j, CH_HEAD)))
            return sqlite3_errcode(j->db);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            seq = sqlite3_column_int64(s, 0) + 1;
            if (sqlite3_column_bytes(s, 1) == HASH_LEN)
                memcpy(prev, sqlite3_column_blob(s, 1), HASH_LEN);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return rc;
    }
    if (strcmp(tbl, "genesis") == 0)
        genesis_digest(rh);
    else if ((rc = row_digest(j, tbl, row_id, rh)) != SQLITE_OK)
        return rc == SQLITE_NOTFOUND ? SQLITE_INTERNAL : rc;
    int64_t at = now_utc_us();
    entry_hash(prev, seq, tbl, row_id, at, rh, h);
    if (!(s = stmt(j, CH_INSERT)))
        return sqlite3_errcode(j->db);
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, tbl, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, row_id);
    sqlite3_bind_int64(s, 4, at);
    sqlite3_bind_blob(s, 5, rh, HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, prev, HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 7, h, HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return rc;
    if (j->chain_batch) {
        j->chain_cached = true;
        j->chain_seq = seq;
        memcpy(j->chain_hash, h, HASH_LEN);
    }
    return SQLITE_OK;
}

int journal_chain_append(struct pb_journal *j, const char *tbl, int64_t row_id)
{
    return append(j, tbl, row_id);
}

/* Schema v2: the genesis row, then every row written before the chain existed, each
 * as it is now: transactions, resolutions, events, each in id order. Inside the
 * migration's transaction. */
int journal_chain_genesis(struct pb_journal *j)
{
    static const char *const tables[] = {"transactions", "resolutions", "events"};
    int64_t before = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[t]);
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            before += sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    int rc = append(j, "genesis", before);
    for (size_t t = 0; rc == SQLITE_OK && t < sizeof tables / sizeof tables[0]; t++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT id FROM %s ORDER BY id", tables[t]);
        sqlite3_stmt *s = NULL;
        rc = sqlite3_prepare_v2(j->db, sql, -1, &s, NULL);
        int step;
        while (rc == SQLITE_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
            rc = append(j, tables[t], sqlite3_column_int64(s, 0));
        if (rc == SQLITE_OK && step != SQLITE_DONE)
            rc = step;
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_OK)
        return journal_db_fail(j, "chaining the rows written before the chain");
    if (before)
        pb_info("journal %s: %lld row(s) written before the hash chain are chained from its "
                "genesis row",
                j->path, (long long)before);
    return PB_OK;
}

/* ---- verifying ------------------------------------------------------------------------- */

static void to_hex(const uint8_t *h, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < HASH_LEN; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * HASH_LEN] = '\0';
}

__attribute__((format(printf, 5, 6))) static void problem(struct pb_journal_verify *v,
                                                          int64_t seq, const char *tbl,
                                                          int64_t row, const char *fmt, ...)
{
    if (v->problems++)
        return;
    v->broken_seq = seq;
    snprintf(v->broken_table, sizeof v->broken_table, "%s", tbl);
    v->broken_row = row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

/* The record behind one chain row, compared with what it chained. */
static int check_record(struct pb_journal *j, struct pb_journal_verify *v, int64_t seq,
                        const char *tbl, int64_t row_id, const uint8_t *row_hash)
{
    if (strcmp(tbl, "genesis") == 0) {
        uint8_t g[HASH_LEN];
        genesis_digest(g);
        if (memcmp(g, row_hash, HASH_LEN) != 0)
            problem(v, seq, tbl, row_id, "the genesis row's content was changed");
        return SQLITE_OK;
    }
    if (strcmp(tbl, "transactions") == 0) {
        /* Earlier states of a transaction are only digests; its row is its last state. */
        sqlite3_stmt *s = stmt(j, CH_LATEST);
        if (!s)
            return sqlite3_errcode(j->db);
        sqlite3_bind_int64(s, 1, row_id);
        int rc = sqlite3_step(s);
        int64_t latest = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (rc != SQLITE_ROW)
            return rc;
        if (latest != seq)
            return SQLITE_OK;
    } else if (table_stmt(tbl) < 0) {
        problem(v, seq, tbl, row_id, "chain row %" PRId64 " names an unknown table '%s'", seq,
                tbl);
        return SQLITE_OK;
    }
    uint8_t now[HASH_LEN];
    int rc = row_digest(j, tbl, row_id, now);
    if (rc == SQLITE_NOTFOUND) {
        problem(v, seq, tbl, row_id, "%s row %" PRId64 " chained by chain row %" PRId64
                " is missing: deleted", tbl, row_id, seq);
        return SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        return rc;
    v->rows++;
    if (memcmp(now, row_hash, HASH_LEN) != 0)
        problem(v, seq, tbl, row_id, "%s row %" PRId64 " differs from what chain row %" PRId64
                " recorded: changed after it was written", tbl, row_id, seq);
    return SQLITE_OK;
}

/* Rows of tbl that no chain row names: written past the chain, or their chain rows were
 * deleted with them renumbered. */
static int check_unchained(struct pb_journal *j, struct pb_journal_verify *v, const char *tbl)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT id FROM %s WHERE id NOT IN (SELECT row_id FROM chain WHERE tbl = '%s')"
             " ORDER BY id",
             tbl, tbl);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(j->db, sql, -1, &s, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        problem(v, 0, tbl, id, "%s row %" PRId64 " is in no chain row: added behind the chain's back",
                tbl, id);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

bool pb_journal_head_valid(const char *hex)
{
    size_t n = 0;
    while (hex && isxdigit((unsigned char)hex[n]))
        n++;
    return hex && n == 2 * HASH_LEN && hex[n] == '\0';
}

int pb_journal_verify(struct pb_journal *j, const char *expect_head, struct pb_journal_verify *v)
{
    if (!j || !v)
        return PB_ERR_INVAL;
    memset(v, 0, sizeof *v);
    if (expect_head && !pb_journal_head_valid(expect_head))
        return PB_ERR_INVAL;
    bool found_head = false;
    pthread_mutex_lock(&j->db_mu);
    int rc = SQLITE_OK;
    sqlite3_stmt *s = NULL;
    /* One read transaction: a bridge writing meanwhile is not seen half-way. */
    if (!j->db || sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&j->db_mu);
        return j->db ? journal_db_fail(j, "verify") : PB_ERR_DB;
    }
    rc = sqlite3_prepare_v2(j->db,
                            "SELECT seq, tbl, row_id, at_utc, row_hash, prev_hash, hash"
                            " FROM chain ORDER BY seq",
                            -1, &s, NULL);
    uint8_t prev[HASH_LEN] = {0};
    int64_t prev_seq = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        int64_t seq = sqlite3_column_int64(s, 0);
        char tbl[PB_JOURNAL_NAME_MAX];
        copy_str(tbl, sizeof tbl, (const char *)sqlite3_column_text(s, 1));
        int64_t row_id = sqlite3_column_int64(s, 2), at = sqlite3_column_int64(s, 3);
        const uint8_t *rh = sqlite3_column_blob(s, 4);
        bool sized = sqlite3_column_bytes(s, 4) == HASH_LEN &&
                     sqlite3_column_bytes(s, 5) == HASH_LEN &&
                     sqlite3_column_bytes(s, 6) == HASH_LEN;
        uint8_t row_hash[HASH_LEN] = {0}, stored_prev[HASH_LEN] = {0}, stored[HASH_LEN] = {0};
        if (sized) {
            memcpy(row_hash, rh, HASH_LEN);
            memcpy(stored_prev, sqlite3_column_blob(s, 5), HASH_LEN);
            memcpy(stored, sqlite3_column_blob(s, 6), HASH_LEN);
        }
        v->entries++;
        if (!sized) {
            problem(v, seq, tbl, row_id, "chain row %" PRId64 " is malformed (a hash is not 32 bytes)",
                    seq);
        } else if (prev_seq == 0 && (seq != 1 || strcmp(tbl, "genesis") != 0)) {
            problem(v, seq, tbl, row_id, "the chain does not begin with its genesis row: chain "
                    "rows before %" PRId64 " were deleted", seq);
        } else if (prev_seq && seq != prev_seq + 1) {
            problem(v, seq, tbl, row_id, "chain rows %" PRId64 " to %" PRId64 " are missing: deleted",
                    prev_seq + 1, seq - 1);
        } else if (memcmp(stored_prev, prev, HASH_LEN) != 0) {
            problem(v, seq, tbl, row_id, "chain row %" PRId64 " does not follow chain row %" PRId64
                    ": rows reordered, or one replaced", seq, prev_seq);
        } else {
            uint8_t h[HASH_LEN];
            entry_hash(stored_prev, seq, tbl, row_id, at, row_hash, h);
            if (memcmp(h, stored, HASH_LEN) != 0)
                problem(v, seq, tbl, row_id, "chain row %" PRId64 " does not match its own hash: "
                        "changed after it was written", seq);
            else
                rc = check_record(j, v, seq, tbl, row_id, row_hash);
        }
        if (expect_head && !found_head) {
            char hex[2 * HASH_LEN + 1];
            to_hex(stored, hex);
            found_head = strcasecmp(hex, expect_head) == 0;
        }
        memcpy(prev, stored, HASH_LEN);
        prev_seq = seq;
        v->head_seq = seq;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(s);
    if (rc == SQLITE_OK && v->entries == 0)
        problem(v, 0, "chain", 0, "the chain is empty: its rows were deleted");
    if (rc == SQLITE_OK)
        rc = check_unchained(j, v, "transactions");
    if (rc == SQLITE_OK)
        rc = check_unchained(j, v, "resolutions");
    if (rc == SQLITE_OK)
        rc = check_unchained(j, v, "events");
    if (rc == SQLITE_OK && expect_head && !found_head)
        problem(v, 0, "chain", 0, "no chain row has the head %s that was recorded: rows at the "
                "end were removed, or this is another journal", expect_head);
    int ret = rc == SQLITE_OK ? PB_OK : journal_db_fail(j, "verify");
    sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&j->db_mu);
    to_hex(prev, v->head_hash);
    v->intact = ret == PB_OK && v->problems == 0;
    return ret;
}

int pb_journal_verify_path(const char *path, const char *expect_head, struct pb_journal_verify *v)
{
    struct pb_journal *j = NULL;
    struct pb_journal_opts o = {.read_only = true};
    int rc = pb_journal_open(path, &o, &j);
    if (rc != PB_OK)
        return rc;
    rc = pb_journal_verify(j, expect_head, v);
    pb_journal_close(j);
    return rc;
}

void journal_chain_head(struct pb_journal *j, int64_t *seq, char hex[2 * HASH_LEN + 1])
{
    *seq = 0;
    hex[0] = '\0';
    sqlite3_stmt *s = j->db ? stmt(j, CH_HEAD) : NULL;
    if (s && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == HASH_LEN) {
        *seq = sqlite3_column_int64(s, 0);
        to_hex(sqlite3_column_blob(s, 1), hex);
    }
    if (s)
        sqlite3_reset(s);
}
