/* journal: the SQLite journal of transactions, runs, resolutions and events
 * (docs/DESIGN.md decision 6; tables and columns in docs/JOURNAL.md).
 *
 *   pb_journal_open()         open or create a journal; run mode starts a run
 *   pb_journal_close()        drain the queue (bounded wait), end the run, close
 *   pb_journal_submit()       queue one tracker event (OPENED / CLOSED / RECLASSIFIED)
 *   pb_journal_event()        queue one lane event (link_lost, link_back, ...)
 *   pb_journal_sync()         wait until everything queued is on disk
 *   pb_journal_stats()        written / queued / failures / dropped counters
 *   pb_journal_run_id()       this run's id in the runs table (0 when not a run)
 *   pb_journal_in_doubt_at_open()  how many pending rows open() turned into in_doubt
 *   pb_journal_foreach()      read transaction rows through a filter, ordered by id
 *   pb_journal_foreach_path() the same on a journal file, opened read-only for the call
 *   pb_journal_row_currencies() the currency of a row's requested and charged amount
 *   pb_journal_resolve()      add an audit row (refund|void|recharge|none) to a transaction
 *   pb_journal_action_valid() is this a resolution action the journal accepts
 *   pb_journal_schema_version() the PRAGMA user_version this code migrates to
 *   pb_journal_verify()       check the hash chain over the records (tamper evidence)
 *   pb_journal_verify_path()  the same on a file, opened read-only for the call
 *
 * Writes never happen on the caller's thread: submit/event copy the data into a bounded
 * in-memory queue and return at once (they never block on I/O and never fail the
 * caller's flow; docs/DESIGN.md decision 1). A writer thread drains the queue in batches, one
 * SQLite transaction per batch. When writing fails (disk full, read-only, I/O error) the
 * records stay queued in order, the writer retries with backoff, and on_state() reports
 * the episode once when it starts and once when it ends.
 *
 * Run mode watches the file: before each batch the writer compares the path's device and
 * inode with the file it writes to. A journal removed (with or without -wal and -shm) or
 * replaced under a running bridge is recreated at its path from the connection still
 * open on the old file (SQLite's backup API: every row, pending ones included), with a
 * `journal_recreated` event; a replacing file is kept beside it, renamed
 * PATH.replaced-<UTC time>. Then the queue is written as usual, and on_state() is called
 * with PB_JOURNAL_RECREATED. docs/JOURNAL.md, "Removed under a running bridge".
 *
 * Threads: submit, event, sync and stats may be called from any thread. foreach and
 * resolve share the connection with the writer under a lock (a slow foreach callback
 * delays writes, never the caller of submit). on_state runs on the writer thread.
 *
 * Card data: the journal stores pb_txn.pan as given; the tracker gives masked PANs
 * only. No raw frames are stored, only their stream offsets (table evidence). */
#ifndef PB_JOURNAL_H
#define PB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "tracker.h"

#define PB_JOURNAL_NAME_MAX 32      /* protocol, class, action, event kind names */
#define PB_JOURNAL_TEXT_MAX 256     /* event text, resolution note */

struct pb_journal;

enum pb_journal_state {
    PB_JOURNAL_OK,        /* writes succeed again (sent only after a failing episode) */
    PB_JOURNAL_FAILING,   /* a write failed; records are kept queued and retried */
    PB_JOURNAL_RECREATED, /* run mode: the file was removed or replaced under the bridge
                             and has been recreated at its path; msg says what happened */
};

/* Called on the writer thread once per transition; msg is valid during the call. */
typedef void (*pb_journal_state_cb)(enum pb_journal_state st, const char *msg, void *ctx);

/* Zero-initialised fields take the default named in the comment. */
struct pb_journal_opts {
    /* Reports: no writes at all, no run, no writer thread, the file must exist with the
     * current schema. submit/event/resolve then return PB_ERR_INVAL. */
    bool read_only;
    /* Writable but not a bridge run (e.g. `posbridge resolve` while the bridge runs):
     * no run row, no pending -> in_doubt sweep, no exclusive lock. */
    bool no_run;
    /* synchronous=NORMAL instead of FULL: faster, but the last commits may be lost on
     * power failure. Only for benchmarks and throwaway journals. */
    bool sync_normal;
    uint32_t busy_timeout_ms; /* SQLite busy_timeout; default 5000 */
    size_t queue_max;         /* records held in memory at most; default 100000 */
    unsigned batch_max;       /* records per SQLite transaction at most; default 512 */
    uint32_t retry_min_ms;    /* first retry delay after a failed write; default 100 */
    uint32_t retry_max_ms;    /* backoff ceiling; default 30000 */
    uint32_t close_timeout_ms; /* how long close() keeps retrying a failing disk; default 5000 */
    pb_journal_state_cb on_state;
    void *ctx;
    /* The run row (run mode only); NULL strings are stored as NULL, host defaults to
     * gethostname(), started_utc_us 0 means now. */
    const char *host;
    const char *version;
    const char *protocol;
    const char *register_port;
    const char *terminal_port;
    int64_t started_utc_us;
    /* SQLite VFS name, NULL for the default. Lets tests inject disk faults. */
    const char *vfs;
};

struct pb_journal_stats {
    uint64_t written;  /* records committed to disk */
    uint64_t queued;   /* records waiting (including the batch being written) */
    uint64_t failures; /* failed write attempts (each batch retry counts) */
    uint64_t episodes; /* failing episodes so far */
    uint64_t dropped;  /* records lost: queue full, out of memory, or close() gave up */
    uint64_t recreated; /* times the file was found removed or replaced and recreated */
    bool failing;      /* inside a failing episode now */
};

/* Opens (creating when missing, unless read_only) the journal at path. The file is
 * created with mode 0600 whatever the umask, missing parent directories with 0700.
 * Unless read_only, the file and its -wal, -shm and -journal files must be private
 * regular files (lane/safefile.h: no symlink, FIFO, device, other owner, mode wider than
 * 0600; PB_ERR_UNSAFE, the reason logged). A read-only open follows symlinks.
 * Run mode (neither read_only nor no_run): takes an exclusive lock on the file (a second
 * bridge on the same journal gets PB_ERR_AGAIN), migrates the schema, turns every row
 * still `pending` into class in_doubt, inserts the run row and a `restart` event.
 * opts may be NULL (all defaults). *out = NULL on failure. Returns PB_OK, PB_ERR_INVAL,
 * PB_ERR_NOMEM, PB_ERR_IO (file or directory), PB_ERR_UNSAFE, PB_ERR_AGAIN (locked),
 * PB_ERR_DB, or PB_ERR_UNSUPPORTED (a newer schema, or not a posbridge journal). */
int pb_journal_open(const char *path, const struct pb_journal_opts *opts, struct pb_journal **out);

/* Drains the queue (giving up after close_timeout_ms of failing writes; what is left is
 * counted as dropped and logged), records the run's end, closes. NULL is fine.
 * Returns PB_OK, or PB_ERR_DB when records were lost. */
int pb_journal_close(struct pb_journal *j);

/* Queue one tracker event; the txn is copied. OPENED writes a pending row, CLOSED
 * writes the outcome and replaces the row's evidence, RECLASSIFIED rewrites the closed
 * row whole (a late approval brings its charged amount and result with the class). Keyed on (run, t->id): resubmitting is harmless, an
 * OPENED after its CLOSED changes nothing. Never blocks. Returns PB_OK, PB_ERR_AGAIN
 * (queue full: record dropped and counted), PB_ERR_NOMEM, PB_ERR_INVAL. */
int pb_journal_submit(struct pb_journal *j, enum pb_txn_event ev, const struct pb_txn *t);

/* Queue one event row; kind e.g. "link_lost", "link_back", "journal_error", "restart".
 * Strings are truncated to PB_JOURNAL_NAME_MAX / PB_JOURNAL_TEXT_MAX. Same returns. */
int pb_journal_event(struct pb_journal *j, const char *kind, const char *text, int64_t utc_us);

/* Waits until the queue is empty and written. timeout_ms < 0 waits forever. Returns
 * PB_OK, or PB_ERR_AGAIN on timeout (e.g. while the disk is failing). */
int pb_journal_sync(struct pb_journal *j, int timeout_ms);

void pb_journal_stats(struct pb_journal *j, struct pb_journal_stats *out);
int64_t pb_journal_run_id(const struct pb_journal *j);
unsigned pb_journal_in_doubt_at_open(const struct pb_journal *j);

/* ---- reading ------------------------------------------------------------------------ */

/* One transactions row as read back. Strings are terminated (and truncated to fit);
 * absent values have their has_ flag false or the value named in the comment. */
struct pb_journal_row {
    int64_t id;      /* transactions.id */
    int64_t run_id;
    uint64_t txn_seq; /* the tracker's pb_txn.id within the run */
    char protocol[PB_JOURNAL_NAME_MAX];
    enum pb_txn_type type;
    bool pending;             /* state 'pending' (else 'closed') */
    enum pb_class cls;        /* PB_CLASS_NONE while pending or for an unknown name */
    char class_name[PB_JOURNAL_NAME_MAX]; /* as stored, "" when NULL */
    enum pb_severity severity;
    bool has_requested;
    int64_t requested;
    uint16_t requested_currency; /* 0 when none */
    bool has_charged;
    int64_t charged;
    uint16_t currency;
    bool has_amount_due;
    int64_t amount_due;
    enum pb_result result;
    int32_t result_code; /* -1 when none */
    char result_text[PB_REF_MAX];
    char pos_id[PB_REF_MAX];
    char terminal_id[PB_REF_MAX];
    char trace[PB_REF_MAX];
    char receipt[PB_REF_MAX];
    char reference[PB_REF_MAX];
    char auth_code[PB_REF_MAX];
    char pan_masked[PB_REF_MAX];
    int64_t started_utc_us; /* 0 when none */
    int64_t ended_utc_us;   /* 0 when none */
    int64_t latency_us;     /* -1 when none */
    unsigned naks, repeats, checksum_errors, intermediates;
    int64_t related;      /* transactions.id of the related row, 0 when none */
    uint64_t related_seq; /* the tracker's related_id, 0 when none */
    char detail[160];
    bool resolved; /* at least one resolutions row */
    /* The latest resolution: its action ("" when none), note, who and when; and how many
     * resolutions the row has (an earlier one is kept, never replaced). */
    char resolution[PB_JOURNAL_NAME_MAX];
    char resolution_note[PB_JOURNAL_TEXT_MAX];
    char resolved_by[PB_JOURNAL_NAME_MAX];
    int64_t resolved_utc_us; /* 0 when none */
    unsigned n_resolutions;
    unsigned n_evidence;
    struct pb_evidence evidence[PB_EVIDENCE_MAX];
};

enum pb_journal_resolved_filter {
    PB_JOURNAL_ANY = 0,
    PB_JOURNAL_UNRESOLVED, /* no resolutions row */
    PB_JOURNAL_RESOLVED,   /* at least one */
};

/* All zero (or a NULL filter pointer) selects every row. */
struct pb_journal_filter {
    int64_t run_id;          /* 0: every run */
    bool by_class;           /* only rows of class cls (PB_CLASS_NONE: pending rows) */
    enum pb_class cls;
    bool discrepancies_only; /* closed rows whose class is not ok, declined or voided */
    int64_t since_utc_us;    /* started_utc >= since, 0: no bound */
    int64_t until_utc_us;    /* started_utc < until, 0: no bound */
    enum pb_journal_resolved_filter resolved;
    int64_t txn_id;          /* 0: every row; else only transactions.id txn_id */
};

/* Return non-zero to stop; foreach then returns that value. row is valid during the call. */
typedef int (*pb_journal_row_cb)(const struct pb_journal_row *row, void *ctx);

/* Rows written so far (call pb_journal_sync first to include the queue), ordered by id.
 * Returns the number of rows delivered (>= 0), the callback's non-zero value, or
 * PB_ERR_DB / PB_ERR_INVAL. */
int pb_journal_foreach(struct pb_journal *j, const struct pb_journal_filter *f,
                       pb_journal_row_cb cb, void *ctx);
/* The same on a file: opens it read-only for the duration of the call. */
int pb_journal_foreach_path(const char *path, const struct pb_journal_filter *f,
                            pb_journal_row_cb cb, void *ctx);

/* One row of the events table: what happened on the lane (link_lost, link_back,
 * restart, journal_error, burst, ...). */
struct pb_journal_event_row {
    int64_t id;
    int64_t at_utc_us;
    int64_t run_id; /* 0: written outside a run */
    char kind[PB_JOURNAL_NAME_MAX];
    char text[PB_JOURNAL_TEXT_MAX];
};
typedef int (*pb_journal_event_cb)(const struct pb_journal_event_row *ev, void *ctx);

/* Event rows written so far, ordered by id. Of the filter only run_id, since_utc_us and
 * until_utc_us apply (to at_utc). Returns as pb_journal_foreach. */
int pb_journal_foreach_event(struct pb_journal *j, const struct pb_journal_filter *f,
                             pb_journal_event_cb cb, void *ctx);
int pb_journal_foreach_event_path(const char *path, const struct pb_journal_filter *f,
                                  pb_journal_event_cb cb, void *ctx);

/* The currency of a row's requested and of its charged amount, chosen as
 * pb_txn_requested_currency() and pb_txn_charged_currency() (txn_json.h) choose them
 * for a live transaction: each its own, the other's when none was named. */
void pb_journal_row_currencies(const struct pb_journal_row *row, uint16_t *req, uint16_t *chg);

/* Adds a resolutions row for transactions.id txn_id (the row itself is never changed;
 * the schema also forbids deleting it). Synchronous, on the caller's thread. Only a
 * closed discrepancy can be resolved: a wrong id typed at the till must not mark a
 * transaction nobody had to act on.
 * Returns PB_OK, PB_ERR_INVAL (unknown action, read-only journal), PB_ERR_NOTFOUND (no
 * such transaction), PB_ERR_AGAIN (still pending: in flight, or its bridge stopped and
 * has not been restarted to close it in_doubt), PB_ERR_UNSUPPORTED (closed as ok,
 * declined or voided: not a discrepancy) or PB_ERR_DB. note and who may be NULL. */
int pb_journal_resolve(struct pb_journal *j, int64_t txn_id, const char *action, const char *note,
                       const char *who, int64_t utc_us);
bool pb_journal_action_valid(const char *action); /* refund, void, recharge, none */

/* ---- tamper evidence: the hash chain (docs/JOURNAL.md) ------------------------------- */

/* What pb_journal_verify() found. */
struct pb_journal_verify {
    bool intact;         /* every chain row links and hashes, every record matches */
    uint64_t entries;    /* chain rows walked */
    uint64_t rows;       /* records compared with their chain row */
    uint64_t problems;   /* broken chain rows and records; the first is described below */
    int64_t head_seq;    /* the last chain row: its seq and hash (hex), to be noted */
    char head_hash[65];  /* elsewhere and given back as expect_head later */
    int64_t broken_seq;  /* the first problem's chain row; 0 when no chain row names it */
    char broken_table[PB_JOURNAL_NAME_MAX]; /* its record's table ("chain" for the chain) */
    int64_t broken_row;  /* and id in that table (0 for none) */
    char why[256];       /* what is wrong there, for people */
};

/* Walks the chain in one read transaction: each chain row must follow the one before
 * it and match its own hash, and each record its chain row (a transaction its latest
 * state); every transactions, events and resolutions row must be in the chain.
 * expect_head (64 hex digits, may be NULL): a head noted earlier, which must be in the
 * chain (catches rows cut off the end). Returns PB_OK with the findings in *out,
 * PB_ERR_INVAL (bad expect_head), or PB_ERR_DB when the file could not be read. */
int pb_journal_verify(struct pb_journal *j, const char *expect_head, struct pb_journal_verify *out);
/* Is hex a head as verify gives it: 64 hex digits (either case)? */
bool pb_journal_head_valid(const char *hex);
/* The same on a file, opened read-only for the call (an older schema is refused with
 * PB_ERR_UNSUPPORTED: open it writable once to migrate). */
int pb_journal_verify_path(const char *path, const char *expect_head,
                           struct pb_journal_verify *out);
int pb_journal_schema_version(void);

#endif
