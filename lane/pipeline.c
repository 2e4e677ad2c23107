#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "capture.h"
#include "detect.h"
#include "hold.h"
#include "journal.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"
#include "rules.h"
#include "txn_json.h"

struct side {
    struct pb_deframer *df;
    void *joiner; /* the protocol's, for messages in several frames; NULL: none */
    uint64_t consumed; /* stream offset up to which the deframer has decided */
};

struct pb_pipeline {
    struct pb_pipeline_opts o;
    struct pb_tracker *tracker;
    struct side side[2];
    struct pb_hold *hold;     /* chunks on their way to the capture; NULL: no capture */
    struct pb_pipeline_stats stats;
    enum pb_dir cur_dir;      /* for the frame callback */
    const struct pb_time *cur_t;
    bool events_failing;      /* the last event could not be written (said once) */
    struct pb_rules *rules;   /* bursts and terminal batches; NULL without a protocol */
    struct pb_alerter *alerter; /* NULL: no alert program */
    /* The protocol check: a detector on a copy of the first bytes of the line, to say
     * when the configured protocol is not what the line speaks. Freed once it decides. */
    struct pb_detector *check;
    int64_t last_tick_mono;     /* the last tick's times */
    int64_t last_tick_utc;
};

/* While alert programs run or wait, ticks come at least this often to reap and start
 * them (posbridge run also wakes on SIGCHLD, so this is a backstop). */
#define ALERT_POLL_MS 250

/* ---- transaction events --------------------------------------------------------------- */

/* One line of the events file. A write that fails (full disk, file size limit) is said
 * once, counted, and said again when writing works again; the journal keeps the
 * transaction either way. */
static void write_event(struct pb_pipeline *l, const char *json)
{
    FILE *f = l->o.events;
    if (fputs(json, f) == EOF || fputc('\n', f) == EOF || fflush(f) != 0) {
        int e = errno;
        l->stats.events_failed++;
        if (!l->events_failing)
            pb_error("events: cannot write transaction events: %s (the journal still "
                     "records every transaction)",
                     strerror(e));
        l->events_failing = true;
        clearerr(f);
    } else if (l->events_failing) {
        pb_info("events: writing again (%" PRIu64 " events not written)", l->stats.events_failed);
        l->events_failing = false;
    }
}

/* Counters the pipeline's modules keep, copied where pb_pipeline_stats() is read (callers
 * hold on to that pointer), before anyone outside sees the transaction. */
static void collect_stats(struct pb_pipeline *l)
{
    struct pb_alerter_stats as;
    pb_alerter_stats(l->alerter, &as);
    l->stats.alerts_run = as.run;
    l->stats.alerts_failed = as.failed;
    l->stats.alerts_dropped = as.dropped;
    l->stats.alerts_pending = (uint64_t)as.running + as.waiting;
    l->stats.bursts = pb_rules_bursts(l->rules);
}

static void on_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct pb_pipeline *l = ctx;
    if (l->o.journal && pb_journal_submit(l->o.journal, ev, t) < 0)
        pb_warn("journal: transaction %" PRIu64 " not queued", t->id);
    if (ev != PB_TXN_OPENED) {
        if (ev == PB_TXN_CLOSED)
            l->stats.txns++;
        if ((unsigned)t->cls < PB_CLASS__COUNT)
            l->stats.by_class[t->cls]++;
        /* Only when someone reads it: the JSON was 42% of `posbridge decode` (bench). */
        char *json = NULL;
        if (l->o.events || (l->alerter && pb_class_is_discrepancy(t->cls)))
            json = pb_txn_to_json(t);
        if (l->o.events && json)
            write_event(l, json);
        if (pb_class_is_discrepancy(t->cls)) {
            char req[PB_MONEY_FMT_MAX], chg[PB_MONEY_FMT_MAX];
            pb_txn_format_amounts(t, req, chg);
            pb_warn("DISCREPANCY %s txn %" PRIu64 ": requested %s, charged %s: %s; action: %s",
                    pb_class_name(t->cls), t->id, req, chg, t->detail, pb_class_action(t->cls));
            if (l->alerter && json)
                pb_alerter_txn(l->alerter, t, json);
        }
        free(json);
    }
    pb_rules_txn(l->rules, ev, t);
    collect_stats(l);
    if (l->o.on_txn)
        l->o.on_txn(ev, t, l->o.ctx);
}

/* ---- frames ---------------------------------------------------------------------------- */

static void on_frame(const struct pb_frame *f, void *ctx)
{
    struct pb_pipeline *l = ctx;
    enum pb_dir dir = l->cur_dir;
    struct side *s = &l->side[dir];
    s->consumed = f->offset + f->length;
    if (f->type == PB_FRAME_GARBAGE) {
        pb_hold_redact(l->hold, dir, false, f->offset, f->length);
        l->stats.garbage[dir] += f->length;
        if (l->o.on_msg)
            l->o.on_msg(dir, f, NULL, l->cur_t, l->o.ctx);
        return;
    }
    pb_hold_redact(l->hold, dir, true, f->offset, f->length);
    /* A message in several frames (PAX's multi-packet answer) is decoded whole, once its
     * last part came; the parts before it are proof of life. */
    const struct pb_frame *df = f;
    if (s->joiner && f->type == PB_FRAME_DATA && f->checksum_ok) {
        const struct pb_frame *whole = NULL;
        if (l->o.proto->joiner->join(s->joiner, f, &whole) == PB_JOIN_DONE && whole)
            df = whole;
    }
    struct pos_msg m;
    pb_msg_init(&m);
    l->o.proto->decode(df, dir, &m);
    m.dir = dir; /* the bridge knows which side spoke */
    m.offset = df->offset;
    m.length = df->length;
    m.checksum_ok = f->type == PB_FRAME_CONTROL || f->checksum_ok;
    if (f->type == PB_FRAME_DATA) {
        l->stats.frames[dir]++;
        if (!f->checksum_ok)
            l->stats.checksum_errors[dir]++;
    }
    else
        l->stats.controls[dir]++;
    if (m.kind == PB_KIND_NAK)
        l->stats.naks[dir]++;
    /* The frame first, then what it did to the transaction. */
    if (l->o.on_msg)
        l->o.on_msg(dir, f, &m, l->cur_t, l->o.ctx);
    pb_tracker_msg(l->tracker, &m, l->cur_t);
}

/* A wrong --protocol records nothing and says nothing otherwise: every frame is garbage
 * to the wrong deframer. When the detector names another protocol while not one frame
 * of the configured protocol decoded with a good checksum, it is said loudly, once. */
static void protocol_check(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *t,
                           const uint8_t *buf, size_t len)
{
    enum pb_detect_state st = pb_detector_feed(l->check, dir, buf, len);
    if (st == PB_DETECT_PENDING)
        return;
    int conf = 0;
    const struct pb_protocol *seen = pb_detector_result(l->check, &conf);
    uint64_t good = l->stats.frames[0] + l->stats.frames[1] - l->stats.checksum_errors[0] -
                    l->stats.checksum_errors[1];
    if (st == PB_DETECT_FOUND && seen && seen != l->o.proto && good == 0) {
        char text[256];
        snprintf(text, sizeof text,
                 "the line speaks %s (confidence %d%%), not %s as configured: no transaction "
                 "is recorded; set the protocol to %s (or auto)",
                 seen->name, conf, l->o.proto->name, seen->name);
        pb_error("ALERT protocol: %s", text);
        l->stats.protocol_mismatch = true;
        l->stats.detected = seen;
        if (l->o.journal)
            pb_journal_event(l->o.journal, "protocol_mismatch", text, t->utc_us);
    }
    pb_detector_free(l->check);
    l->check = NULL;
}

void pb_pipeline_chunk(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *t, const uint8_t *buf,
                   size_t len)
{
    if (!l || len == 0 || (dir != PB_DIR_ECR && dir != PB_DIR_PT))
        return;
    struct side *s = &l->side[dir];
    l->stats.bytes[dir] += len;
    l->stats.capture_errors += pb_hold_chunk(l->hold, dir, t, buf, len);
    if (!l->o.proto)
        return;
    /* Decoding work happens here, after the caller forwarded the bytes. */
    l->cur_dir = dir;
    l->cur_t = t;
    pb_deframer_feed_at(s->df, buf, len, t->mono_us, on_frame, l);
    l->stats.capture_errors += pb_hold_release(l->hold, dir, s->consumed);
    if (l->check)
        protocol_check(l, dir, t, buf, len);
}

static void flush_side(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *t)
{
    struct side *s = &l->side[dir];
    if (!l->o.proto)
        return;
    l->cur_dir = dir;
    l->cur_t = t;
    /* What never completed comes back as garbage, masked like any other (on_frame). */
    pb_deframer_flush(s->df, on_frame, l);
    l->stats.capture_errors += pb_hold_flush(l->hold, dir);
}

void pb_pipeline_gap(struct pb_pipeline *l, enum pb_dir dir, const struct pb_time *now)
{
    if (l && (dir == PB_DIR_ECR || dir == PB_DIR_PT))
        flush_side(l, dir, now);
}

/* Alerts the pool dropped are logged by the alerter; once it has room again (or at the
 * end) their number goes into the journal too: nothing is dropped silently. */
static void journal_dropped_alerts(struct pb_pipeline *l, uint64_t lost, const char *why)
{
    if (!lost || !l->o.journal)
        return;
    char text[PB_JOURNAL_TEXT_MAX];
    snprintf(text, sizeof text, "%" PRIu64 " alert(s) not run: %s (alert programs at once: %u)",
             lost, why, l->o.alert_max ? l->o.alert_max : PB_ALERT_MAX_RUNNING);
    pb_journal_event(l->o.journal, "alerts_dropped", text, l->last_tick_utc);
}

void pb_pipeline_tick(struct pb_pipeline *l, const struct pb_time *now)
{
    if (!l)
        return;
    l->last_tick_mono = now->mono_us;
    l->last_tick_utc = now->utc_us;
    if (l->tracker)
        pb_tracker_tick(l->tracker, now);
    if (!l->alerter)
        return;
    journal_dropped_alerts(l, pb_alerter_tick(l->alerter), "the alert queue was full");
    collect_stats(l);
}

int64_t pb_pipeline_next_deadline(const struct pb_pipeline *l)
{
    int64_t d = l && l->tracker ? pb_tracker_next_deadline(l->tracker) : -1;
    if (l && pb_alerter_busy(l->alerter)) {
        int64_t a = l->last_tick_mono + ALERT_POLL_MS * 1000;
        if (d < 0 || a < d)
            d = a;
    }
    return d;
}

void pb_pipeline_lane_alert(struct pb_pipeline *l, const char *cls, const char *severity,
                            const char *text)
{
    if (!l || !l->alerter)
        return;
    struct pb_txn t = {.protocol = l->o.proto ? l->o.proto->name : "", .id = 0};
    json_t *o = json_object();
    json_object_set_new(o, "text", json_string(text));
    struct pb_alert_env e = {.n = 0};
    pb_alert_env_set(&e, "POSBRIDGE_TEXT=%s", text);
    pb_alerter_lane(l->alerter, cls, severity, &t, o, &e);
    collect_stats(l);
}

void pb_pipeline_comment(struct pb_pipeline *l, const struct pb_time *now, const char *text)
{
    if (l->o.capture && pb_capture_comment(l->o.capture, now->utc_us, text) < 0)
        l->stats.capture_errors++;
}

void pb_pipeline_comment_settings(struct pb_pipeline *l, const struct pb_time *now)
{
    char text[256];
    pb_tracker_config_format(&l->o.tracker, text, sizeof text);
    pb_pipeline_comment(l, now, text);
}

void pb_pipeline_link(struct pb_pipeline *l, enum pb_dir side, bool up, const struct pb_time *now,
                  const char *text)
{
    const char *who = side == PB_DIR_PT ? "terminal" : "register";
    char msg[256];
    snprintf(msg, sizeof msg, "%s link %s%s%s", who, up ? "back" : "lost", text ? ": " : "",
             text ? text : "");
    pb_log(up ? PB_LOG_INFO : PB_LOG_WARN, "%s", msg);
    if (!up) {
        /* What was half-read from the lost port will never complete. */
        flush_side(l, side, now);
        if (l->side[side].df)
            pb_deframer_reset(l->side[side].df);
    }
    pb_pipeline_comment(l, now, msg);
    if (l->o.journal)
        pb_journal_event(l->o.journal, up ? "link_back" : "link_lost", msg, now->utc_us);
    if (l->tracker)
        pb_tracker_link(l->tracker, side, up, now);
}

void pb_pipeline_finish(struct pb_pipeline *l, const struct pb_time *now)
{
    if (!l)
        return;
    flush_side(l, PB_DIR_ECR, now);
    flush_side(l, PB_DIR_PT, now);
    if (l->tracker)
        pb_tracker_finish(l->tracker, now);
}

const struct pb_pipeline_stats *pb_pipeline_stats(const struct pb_pipeline *l)
{
    return &l->stats;
}

const struct pb_txn *pb_pipeline_current(const struct pb_pipeline *l)
{
    return l && l->tracker ? pb_tracker_current(l->tracker) : NULL;
}

int pb_pipeline_new(const struct pb_pipeline_opts *opts, struct pb_pipeline **out)
{
    if (!out || !opts)
        return PB_ERR_INVAL;
    *out = NULL;
    struct pb_pipeline *l = calloc(1, sizeof *l);
    if (!l)
        return PB_ERR_NOMEM;
    l->o = *opts;
    int rc = PB_OK;
    if (l->o.capture)
        rc = pb_hold_new(l->o.capture, l->o.proto, l->o.capture_clear, &l->hold);
    if (rc == PB_OK && l->o.alert_program) {
        struct pb_alerter_opts ao = {.program = l->o.alert_program,
                                     .timeout_ms = l->o.alert_timeout_ms,
                                     .max_running = l->o.alert_max,
                                     .queue_max = l->o.alert_queue};
        rc = pb_alerter_new(&ao, &l->alerter);
    }
    if (l->o.proto && rc == PB_OK) {
        struct pb_rules_opts ro = {
            .burst = l->o.alert_burst, .journal = l->o.journal, .alerter = l->alerter};
        rc = pb_rules_new(&ro, &l->rules);
        for (int d = 0; d < 2 && rc == PB_OK; d++) {
            rc = pb_deframer_new(l->o.proto, &l->side[d].df);
            if (rc == PB_OK && l->o.proto->joiner)
                rc = l->o.proto->joiner->create(&l->side[d].joiner);
        }
        if (rc == PB_OK)
            rc = pb_tracker_new(l->o.proto, &l->o.tracker, on_txn, l, &l->tracker);
        if (rc == PB_OK && pb_detector_new(NULL, &l->check) != PB_OK)
            l->check = NULL; /* no check, not a reason to stop recording */
    }
    if (rc != PB_OK) {
        pb_pipeline_free(l);
        return rc;
    }
    *out = l;
    return PB_OK;
}

void pb_pipeline_free(struct pb_pipeline *l)
{
    if (!l)
        return;
    for (int d = 0; d < 2; d++) {
        pb_deframer_free(l->side[d].df);
        if (l->o.proto && l->o.proto->joiner)
            l->o.proto->joiner->destroy(l->side[d].joiner);
    }
    pb_hold_free(l->hold);
    pb_tracker_free(l->tracker);
    pb_rules_free(l->rules);
    journal_dropped_alerts(l, pb_alerter_stop(l->alerter), "the bridge stopped with alerts waiting");
    pb_alerter_free(l->alerter);
    pb_detector_free(l->check);
    free(l);
}
