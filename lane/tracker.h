/* tracker: turns decoded messages into transactions and gives each closed transaction
 * exactly one class from docs/DISCREPANCIES.md.
 *
 *   pb_tracker_new/free      one tracker per lane (both directions of one protocol)
 *   pb_tracker_msg()         feed one decoded message with the time of its chunk
 *   pb_tracker_tick()        advance timers to `now` (the event loop calls it at the
 *                            deadline pb_tracker_next_deadline() gave)
 *   pb_tracker_link()        a port went away or came back
 *   pb_tracker_finish()      end of stream / shutdown: whatever is open becomes in_doubt
 *   pb_class_name() ...      stable names for output, JSON and the journal
 *
 * Pure logic: no I/O, never reads a clock (docs/DESIGN.md decision 2). Time comes in with
 * every call. Events go to the callback given at creation; the pb_txn pointer is valid
 * during the callback only (copy what you keep). */
#ifndef PB_TRACKER_H
#define PB_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "protocol.h"

/* Outcome classes, docs/DISCREPANCIES.md. Order is stable: the journal stores the name. */
enum pb_class {
    PB_CLASS_NONE = 0, /* still open */
    PB_CLASS_OK,
    PB_CLASS_DECLINED,
    PB_CLASS_OVERCHARGE,
    PB_CLASS_UNDERCHARGE,
    PB_CLASS_PARTIAL_APPROVAL,
    PB_CLASS_DUPLICATE,
    PB_CLASS_IN_DOUBT,
    PB_CLASS_LATE_APPROVAL,
    PB_CLASS_CURRENCY_MISMATCH,
    PB_CLASS_REFERENCE_MISMATCH,
    PB_CLASS_TYPE_MISMATCH,
    PB_CLASS_PROTOCOL_ERROR,
    PB_CLASS_VOIDED, /* an approved sale later voided: not a discrepancy */
    PB_CLASS__COUNT
};

enum pb_severity { PB_SEV_NONE, PB_SEV_INFO, PB_SEV_LOW, PB_SEV_MEDIUM, PB_SEV_HIGH, PB_SEV_CRITICAL };

/* Timestamps that came with a chunk: monotonic and UTC, microseconds. */
struct pb_time {
    int64_t mono_us;
    int64_t utc_us;
};

#define PB_EVIDENCE_MAX 16

struct pb_evidence {
    enum pb_dir dir;  /* which stream the offset is in */
    uint64_t offset;  /* stream offset of the frame (per direction) */
    uint32_t length;
    enum pb_kind kind;
};

struct pb_txn {
    uint64_t id;                 /* per tracker, from 1; the journal keys on it with a run id */
    const char *protocol;        /* static protocol name */
    enum pb_txn_type type;
    enum pb_class cls;           /* PB_CLASS_NONE while open */
    bool has_requested;
    int64_t requested;           /* register's amount, minor units */
    uint16_t requested_currency; /* 0 when the request named none */
    bool has_charged;
    int64_t charged;             /* terminal's amount, minor units (0 when declined) */
    uint16_t currency;           /* response currency, 0 when none */
    bool has_amount_due;
    int64_t amount_due;
    bool partial_marker;         /* the protocol's own partial-approval marker was set */
    enum pb_result result;
    int32_t result_code;         /* -1 when none */
    char result_text[PB_REF_MAX];
    char pos_id[PB_REF_MAX];
    char terminal_id[PB_REF_MAX];
    char trace[PB_REF_MAX];
    char receipt[PB_REF_MAX];
    char reference[PB_REF_MAX];
    char auth_code[PB_REF_MAX];
    char pan[PB_REF_MAX];        /* masked */
    struct pb_time started;      /* time of the register's request */
    struct pb_time ended;        /* time of the closing event */
    int64_t latency_us;          /* request -> final result, -1 when none */
    unsigned naks, repeats, checksum_errors, intermediates;
    uint64_t related_id;         /* the sale a void refers to / the first of a duplicate */
    char detail[160];            /* why this class, for people */
    unsigned n_evidence;
    struct pb_evidence evidence[PB_EVIDENCE_MAX];
};

enum pb_txn_event {
    PB_TXN_OPENED,       /* request seen: the journal writes it as pending */
    PB_TXN_CLOSED,       /* class decided */
    PB_TXN_RECLASSIFIED, /* an earlier closed transaction changed class (a void closed a
                            sale as voided, a late duplicate found its twin) */
};

typedef void (*pb_txn_cb)(enum pb_txn_event ev, const struct pb_txn *t, void *ctx);

struct pb_tracker_config {
    /* 0 means "the protocol's default" (struct pb_track_rules). */
    uint32_t accept_timeout_ms;
    uint32_t response_timeout_ms;
    uint32_t completion_timeout_ms;
    /* Two approvals of equal amount inside this window with no new request between are
     * a duplicate. Default 120000. */
    uint32_t duplicate_window_ms;
    /* Register's own give-up time: an approval after it is late. 0 = response timeout. */
    uint32_t register_timeout_ms;
    /* A smaller approval without the protocol's partial marker counts as partial
     * approval instead of undercharge (for protocols with no marker). Default false. */
    bool undercharge_is_partial;
};

/* The settings as one line of text, and back, so a capture can carry the settings its
 * bridge judged with and `posbridge decode` judges it the same way:
 * "tracker settings: accept-timeout=0ms response-timeout=10000ms completion-timeout=0ms
 * register-timeout=10000ms duplicate-window=0ms undercharge-is-partial=no" (0: the
 * protocol's default). The names are posbridge run's options.
 * pb_tracker_config_format() returns the snprintf length. pb_tracker_config_parse()
 * returns 1 and fills *out (fields it does not name stay 0) when text is such a line,
 * 0 when text is some other comment, PB_ERR_SYNTAX when it is a damaged one (out
 * untouched). */
#define PB_TRACKER_SETTINGS_PREFIX "tracker settings:"
int pb_tracker_config_format(const struct pb_tracker_config *cfg, char *buf, size_t cap);
int pb_tracker_config_parse(const char *text, struct pb_tracker_config *out);

struct pb_tracker;

int pb_tracker_new(const struct pb_protocol *p, const struct pb_tracker_config *cfg,
                   pb_txn_cb cb, void *ctx, struct pb_tracker **out);
void pb_tracker_free(struct pb_tracker *t);
void pb_tracker_msg(struct pb_tracker *t, const struct pos_msg *m, const struct pb_time *now);
void pb_tracker_tick(struct pb_tracker *t, const struct pb_time *now);
/* side: the link that went (up=false) or came back (up=true). */
void pb_tracker_link(struct pb_tracker *t, enum pb_dir side, bool up, const struct pb_time *now);
void pb_tracker_finish(struct pb_tracker *t, const struct pb_time *now);
/* Monotonic time (us) of the next timer, or -1 when nothing is pending (idle: no wake-ups). */
int64_t pb_tracker_next_deadline(const struct pb_tracker *t);
/* The transaction in flight, or NULL. */
const struct pb_txn *pb_tracker_current(const struct pb_tracker *t);

const char *pb_class_name(enum pb_class c);
int pb_class_from_name(const char *name); /* -1 when unknown */
enum pb_severity pb_class_severity(enum pb_class c);
const char *pb_severity_name(enum pb_severity s);
const char *pb_class_action(enum pb_class c); /* suggested action, docs/DISCREPANCIES.md */
bool pb_class_is_discrepancy(enum pb_class c);

#endif
