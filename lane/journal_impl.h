/* journal_impl: the journal's private parts, shared by its three files and by nothing
 * else (the API is journal.h):
 *
 *   journal.c         open and close, the run row, the queue and the writer thread,
 *                     resolutions
 *   journal_schema.c  the schema's migrations and the names its CHECKs accept
 *   journal_read.c    reading rows and events back (report, resolve, possim run)
 *   journal_chain.c   the hash chain over the records: appending, verifying
 *
 * They share struct pb_journal (the connection, its locks, the queue), the writer's
 * prepared statements and a few SQLite helpers. Locks as the struct says: db_mu around
 * every use of db, from any of the three files; mu around the queue (journal.c only). */
#ifndef PB_JOURNAL_IMPL_H
#define PB_JOURNAL_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "journal.h"

struct rec; /* one queued record (journal.c) */

/* The hash chain's statements (journal_chain.c, chain_sql), prepared on first use. */
enum {
    CH_ROW_TRANSACTION,
    CH_ROW_EVIDENCE,
    CH_ROW_EVENT,
    CH_ROW_RESOLUTION,
    CH_HEAD,
    CH_INSERT,
    CH_LATEST,
    CH__COUNT
};

/* The writer's prepared statements (journal.c, stmt_sql). */
enum {
    ST_UPSERT,
    ST_ROWID,
    ST_EV_DELETE,
    ST_EV_INSERT,
    ST_EVENT,
    ST__COUNT
};

struct pb_journal {
    sqlite3 *db;
    struct pb_journal_opts o;
    char *path;
    int lock_fd; /* run mode: holds the flock() until close; -1 otherwise */
    /* Run mode: the file the connection writes to. Before each batch the writer checks
     * that path still names it (journal.c, check_file): a journal removed or replaced
     * under a running bridge is recreated, not written into the void. */
    bool watch_file;
    dev_t file_dev;
    ino_t file_ino;
    dev_t side_dev[2];     /* our -wal and -shm (0: not seen), told apart from a */
    ino_t side_ino[2];     /* replacing file's when the journal is recreated */
    bool recreate_removed; /* during a recreation: removed (else replaced) */
    bool recreate_copied;  /* during a recreation: the new file is a copy of the old */
    int64_t run_id;
    unsigned in_doubt_at_open;
    sqlite3_stmt *st[ST__COUNT];
    sqlite3_stmt *chain_st[CH__COUNT];
    /* Inside one of the writer's batch transactions (and only there: SQLite's write lock
     * is held, nobody else appends) the chain's head is kept here instead of read back
     * for every record (journal_chain.c). */
    bool chain_batch, chain_cached;
    int64_t chain_seq;
    uint8_t chain_hash[32];
    /* db_mu serialises use of the connection: writer batches, foreach, resolve.
     * Recursive so a foreach callback may resolve what it reads. */
    pthread_mutex_t db_mu;

    /* Everything below is under mu. Never held across I/O or logging. */
    pthread_mutex_t mu;
    pthread_cond_t work;    /* writer: records queued, stop requested */
    pthread_cond_t drained; /* sync/close: the queue shrank */
    struct rec *head, *tail;
    size_t count;
    bool stopping, abort, writer_started;
    bool failing;
    int64_t retry_at_mono_us;
    uint32_t delay_ms;
    int64_t episode_start_utc_us;
    uint64_t episode_failures;
    char fail_msg[256];
    bool note_fail, note_ok; /* transitions for the writer to report outside mu */
    bool overflow_active;    /* a drop was logged; reset when the queue empties */
    uint64_t dropped_at_overflow;
    struct pb_journal_stats stats;
    pthread_t writer;
    struct rec **batch;
};

/* Logs SQLite's message for what failed; returns PB_ERR_DB. */
int journal_db_fail(struct pb_journal *j, const char *what);
/* sqlite3_exec, logging a failure; PB_OK or PB_ERR_DB. */
int journal_exec(struct pb_journal *j, const char *sql);
void journal_rollback_if_open(struct pb_journal *j);
/* Checks and upgrades the schema to pb_journal_schema_version() (journal_schema.c). */
int journal_migrate(struct pb_journal *j);

/* The hash chain (journal_chain.c). append: a chain row for row_id of tbl
 * ("transactions", "events", "resolutions"), inside the write transaction that wrote
 * it; SQLITE_OK or SQLite's code. genesis: schema v2's migration step; PB_OK or
 * PB_ERR_DB. head: the last chain row's seq and hash in hex (0 and "" when none).
 * finalize: the chain's statements, before the connection closes. */
int journal_chain_append(struct pb_journal *j, const char *tbl, int64_t row_id);
int journal_chain_genesis(struct pb_journal *j);
void journal_chain_head(struct pb_journal *j, int64_t *seq, char hex[65]);
void journal_chain_finalize(struct pb_journal *j);

/* Small and on the writer's hot path, so here to be inlined. */
static inline void copy_str(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static inline void bind_i64_if(sqlite3_stmt *s, int i, bool has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

#endif
