#include "journal.h"

#include <stdio.h>
#include <string.h>

#include "journal_impl.h"
#include "log.h"
#include "pb_error.h"

/* ---- schema --------------------------------------------------------------------------
 * Migration N (index N-1) takes a journal from user_version N-1 to N; each runs in its
 * own transaction together with the user_version bump. Adding v2 = appending one entry.
 * Never edit an entry once released: journals in the field already ran it. */

/* 'PBJN': lets `file` and this code tell a posbridge journal from another SQLite file. */
#define JOURNAL_APPLICATION_ID 1346521678

/* A migration: its SQL, then (optionally) a step in C, in the same transaction. */
struct migration {
    const char *sql;
    int (*then)(struct pb_journal *j); /* PB_OK or an error; NULL: none */
};

static const struct migration migrations[] = {
    /* v1 */
    {"PRAGMA application_id = 1346521678;"
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " started_utc INTEGER NOT NULL,"
    " ended_utc INTEGER,"
    " host TEXT, version TEXT, protocol TEXT, register_port TEXT, terminal_port TEXT);"
    "CREATE TABLE transactions ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " txn_seq INTEGER NOT NULL,"
    " protocol TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'closed')),"
    " class TEXT, severity TEXT,"
    " requested INTEGER, requested_currency INTEGER,"
    " charged INTEGER, currency INTEGER, amount_due INTEGER,"
    " result TEXT, result_code INTEGER, result_text TEXT,"
    " pos_id TEXT, terminal_id TEXT, trace TEXT, receipt TEXT, reference TEXT,"
    " auth_code TEXT, pan_masked TEXT,"
    " started_utc INTEGER, ended_utc INTEGER, latency_us INTEGER,"
    " naks INTEGER NOT NULL DEFAULT 0, repeats INTEGER NOT NULL DEFAULT 0,"
    " checksum_errors INTEGER NOT NULL DEFAULT 0, intermediates INTEGER NOT NULL DEFAULT 0,"
    " related INTEGER REFERENCES transactions(id), related_seq INTEGER,"
    " detail TEXT,"
    " UNIQUE (run_id, txn_seq));"
    "CREATE INDEX transactions_pending ON transactions(state) WHERE state = 'pending';"
    "CREATE INDEX transactions_class ON transactions(class);"
    "CREATE INDEX transactions_started ON transactions(started_utc);"
    "CREATE TABLE evidence ("
    " id INTEGER PRIMARY KEY,"
    " txn_id INTEGER NOT NULL REFERENCES transactions(id),"
    " seq INTEGER NOT NULL,"
    " dir TEXT NOT NULL, stream_offset INTEGER NOT NULL, length INTEGER NOT NULL,"
    " kind TEXT NOT NULL);"
    "CREATE INDEX evidence_txn ON evidence(txn_id);"
    "CREATE TABLE resolutions ("
    " id INTEGER PRIMARY KEY,"
    " txn_id INTEGER NOT NULL REFERENCES transactions(id),"
    " action TEXT NOT NULL CHECK (action IN ('refund', 'void', 'recharge', 'none')),"
    " note TEXT, who TEXT,"
    " at_utc INTEGER NOT NULL);"
    "CREATE INDEX resolutions_txn ON resolutions(txn_id);"
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " at_utc INTEGER NOT NULL,"
    " run_id INTEGER REFERENCES runs(id),"
    " kind TEXT NOT NULL, text TEXT);"
    /* The audit trail: a transaction is evidence in a money dispute, a resolution is
     * who-did-what. Neither may silently disappear or change. */
    "CREATE TRIGGER transactions_keep BEFORE DELETE ON transactions"
    " BEGIN SELECT RAISE(ABORT, 'journal transactions are never deleted'); END;"
    "CREATE TRIGGER resolutions_keep_update BEFORE UPDATE ON resolutions"
    " BEGIN SELECT RAISE(ABORT, 'resolutions are never changed'); END;"
    "CREATE TRIGGER resolutions_keep_delete BEFORE DELETE ON resolutions"
    " BEGIN SELECT RAISE(ABORT, 'resolutions are never deleted'); END;"
    /* For people with the sqlite3 shell: the same rows with readable UTC times. */
    "CREATE VIEW transactions_utc AS SELECT *,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', started_utc / 1e6, 'unixepoch') AS started_iso,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', ended_utc / 1e6, 'unixepoch') AS ended_iso"
    " FROM transactions;", NULL},
    /* v2: the hash chain over the records (journal_chain.c, docs/JOURNAL.md "Tamper
     * evidence"). The rows written before it are chained, as they are at migration
     * time, after a genesis row whose row_id says how many they were. Events become
     * append-only like resolutions: a chained record is never changed. */
    {"CREATE TABLE chain ("
     " seq INTEGER PRIMARY KEY,"
     " tbl TEXT NOT NULL CHECK (tbl IN ('genesis', 'transactions', 'events', 'resolutions')),"
     " row_id INTEGER NOT NULL,"
     " at_utc INTEGER NOT NULL,"
     " row_hash BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
     "CREATE INDEX chain_row ON chain(tbl, row_id, seq);"
     "CREATE TRIGGER chain_keep_update BEFORE UPDATE ON chain"
     " BEGIN SELECT RAISE(ABORT, 'the journal chain is never changed'); END;"
     "CREATE TRIGGER chain_keep_delete BEFORE DELETE ON chain"
     " BEGIN SELECT RAISE(ABORT, 'the journal chain is never shortened'); END;"
     "CREATE TRIGGER events_keep_update BEFORE UPDATE ON events"
     " BEGIN SELECT RAISE(ABORT, 'events are never changed'); END;"
     "CREATE TRIGGER events_keep_delete BEFORE DELETE ON events"
     " BEGIN SELECT RAISE(ABORT, 'events are never deleted'); END;",
     journal_chain_genesis},
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int pb_journal_schema_version(void)
{
    return SCHEMA_VERSION;
}

/* The resolutions.action values the schema's CHECK accepts (v1). */
static const char *const actions[] = {"refund", "void", "recharge", "none"};

bool pb_journal_action_valid(const char *action)
{
    for (size_t i = 0; action && i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i], action) == 0)
            return true;
    return false;
}

/* ---- migration ----------------------------------------------------------------------- */

static int pragma_int(struct pb_journal *j, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(j->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? PB_OK : journal_db_fail(j, sql);
}

int journal_migrate(struct pb_journal *j)
{
    int64_t version = 0, app = 0, objects = 0;
    int rc = pragma_int(j, "PRAGMA user_version", &version);
    if (rc == PB_OK)
        rc = pragma_int(j, "PRAGMA application_id", &app);
    if (rc == PB_OK)
        rc = pragma_int(j, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc != PB_OK)
        return rc;
    if ((version > 0 || objects > 0) && app != JOURNAL_APPLICATION_ID) {
        pb_error("journal %s: not a posbridge journal (application_id %lld, %lld objects)",
                 j->path, (long long)app, (long long)objects);
        return PB_ERR_UNSUPPORTED;
    }
    if (version > SCHEMA_VERSION) {
        pb_error("journal %s: schema version %lld is newer than this posbridge (%d)", j->path,
                 (long long)version, SCHEMA_VERSION);
        return PB_ERR_UNSUPPORTED;
    }
    if (version < SCHEMA_VERSION && j->o.read_only) {
        pb_error("journal %s: schema version %lld needs an upgrade to %d; open it writable once",
                 j->path, (long long)version, SCHEMA_VERSION);
        return PB_ERR_UNSUPPORTED;
    }
    for (int v = (int)version + 1; v <= SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v);
        if ((rc = journal_exec(j, "BEGIN IMMEDIATE")) != PB_OK)
            return rc;
        const struct migration *m = &migrations[v - 1];
        if ((rc = journal_exec(j, m->sql)) != PB_OK || (m->then && (rc = m->then(j)) != PB_OK) ||
            (rc = journal_exec(j, bump)) != PB_OK || (rc = journal_exec(j, "COMMIT")) != PB_OK) {
            journal_rollback_if_open(j);
            return rc;
        }
        pb_info("journal %s: schema migrated to version %d", j->path, v);
    }
    return PB_OK;
}
