/* Replay of one side of a capture. Every record of the capture is kept in order with the
 * peer's byte count before it and the time since the record before it, which is all the
 * closed-loop timing needs. */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "log.h"
#include "pb_error.h"

#define MAX_BYTES (64u << 20) /* a replay larger than this is refused */

struct item {
    uint8_t *data;
    size_t len;
    uint64_t peer_before; /* bytes the recorded peer had sent before this chunk */
    int64_t gap_us;       /* recorded time since the previous record, either side */
    int64_t offset_us;    /* recorded time since the first record */
};

struct sim_replay {
    struct sim_replay_opts o;
    sim_write_fn write;
    void *ctx;
    struct item *items;
    size_t n, cap, next;
    int64_t start;         /* time of the first tick */
    int64_t ready_at;      /* closed loop: when the next chunk's peer condition held */
    int64_t waiting_since; /* closed loop: when we began waiting for the peer */
    uint8_t *pending;      /* unwritten tail of the chunk being written */
    size_t pending_len, pending_off;
    struct sim_replay_stats st;
};

static int fail(char *err, size_t cap, const char *path, const char *why, int code)
{
    if (err && cap)
        snprintf(err, cap, "%s: %s", path, why);
    return code;
}

static int64_t scale(const struct sim_replay *r, int64_t us)
{
    return us * 1000 / (int64_t)r->o.speed_milli;
}

int sim_replay_load(const char *path, const struct sim_replay_opts *opts, sim_write_fn write,
                    void *ctx, struct sim_replay **out, char *err, size_t errcap)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!path || !opts || !write || (opts->side != PB_DIR_PT && opts->side != PB_DIR_ECR))
        return PB_ERR_INVAL;
    struct pb_capture_reader *rd = NULL;
    int r = pb_capture_reader_open(path, &rd);
    if (r < 0)
        return fail(err, errcap, path, r == PB_ERR_NOTFOUND ? "no such file" : pb_strerror(r), r);
    struct sim_replay *rp = calloc(1, sizeof *rp);
    if (!rp) {
        pb_capture_reader_close(rd);
        return PB_ERR_NOMEM;
    }
    rp->o = *opts;
    if (!rp->o.speed_milli)
        rp->o.speed_milli = 1000;
    if (!rp->o.wait_ms)
        rp->o.wait_ms = 10000;
    rp->write = write;
    rp->ctx = ctx;
    rp->start = -1;
    rp->ready_at = -1;
    rp->waiting_since = -1;
    struct pb_capture_record rec;
    uint64_t peer = 0, total = 0;
    int64_t first = INT64_MIN, prev = INT64_MIN;
    bool any_dir = false;
    while ((r = pb_capture_read(rd, &rec)) == 1) {
        if (first == INT64_MIN)
            first = prev = rec.utc_us;
        int64_t gap = rec.utc_us - prev;
        if (gap < 0)
            gap = 0; /* a clock step in the capture: no negative waits */
        prev = rec.utc_us;
        if (rec.is_event || rec.len == 0) {
            rp->st.events++;
            continue;
        }
        if (rec.dir == PB_DIR_UNKNOWN)
            continue;
        any_dir = true;
        if (rec.dir != opts->side) {
            peer += rec.len;
            continue;
        }
        total += rec.len;
        if (total > MAX_BYTES) {
            r = PB_ERR_RANGE;
            break;
        }
        if (rp->n == rp->cap) {
            size_t cap = rp->cap ? rp->cap * 2 : 64;
            struct item *ni = realloc(rp->items, cap * sizeof *ni);
            if (!ni) {
                r = PB_ERR_NOMEM;
                break;
            }
            rp->items = ni;
            rp->cap = cap;
        }
        struct item *it = &rp->items[rp->n];
        it->data = malloc(rec.len);
        if (!it->data) {
            r = PB_ERR_NOMEM;
            break;
        }
        memcpy(it->data, rec.data, rec.len);
        it->len = rec.len;
        it->peer_before = peer;
        it->gap_us = gap;
        it->offset_us = rec.utc_us - first;
        rp->n++;
    }
    if (r < 0) {
        const char *why =
            r == PB_ERR_RANGE ? "more than 64 MiB to replay" : pb_capture_reader_error(rd);
        fail(err, errcap, path, why && *why ? why : pb_strerror(r), r);
        pb_capture_reader_close(rd);
        sim_replay_free(rp);
        return r;
    }
    pb_capture_reader_close(rd);
    if (!any_dir) {
        sim_replay_free(rp);
        return fail(err, errcap, path, "no packet in this capture says its direction",
                    PB_ERR_UNSUPPORTED);
    }
    rp->st.chunks_total = (unsigned)rp->n;
    *out = rp;
    return PB_OK;
}

void sim_replay_free(struct sim_replay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i].data);
    free(r->items);
    free(r);
}

void sim_replay_input(struct sim_replay *r, const uint8_t *buf, size_t len, int64_t now)
{
    (void)buf;
    (void)now;
    r->st.bytes_received += len;
}

bool sim_replay_done(const struct sim_replay *r)
{
    return r->next >= r->n && !r->pending;
}

const struct sim_replay_stats *sim_replay_stats(const struct sim_replay *r)
{
    return &r->st;
}

/* When the next chunk may go, or -1 while it waits for the peer. */
static int64_t due(const struct sim_replay *r)
{
    if (r->next >= r->n || r->start < 0)
        return r->start < 0 ? 0 : -1;
    const struct item *it = &r->items[r->next];
    if (r->o.open_loop)
        return r->start + scale(r, it->offset_us);
    if (r->ready_at >= 0)
        return r->ready_at + scale(r, it->gap_us);
    return -1;
}

int64_t sim_replay_next_deadline(const struct sim_replay *r)
{
    if (r->pending)
        return 0;
    int64_t d = due(r);
    if (d >= 0)
        return d;
    if (r->next < r->n && r->waiting_since >= 0)
        return r->waiting_since + (int64_t)r->o.wait_ms * 1000; /* the stall limit */
    return -1;
}

static int write_pending(struct sim_replay *r)
{
    while (r->pending) {
        ssize_t w = r->write(r->ctx, r->pending + r->pending_off, r->pending_len - r->pending_off);
        if (w == PB_ERR_AGAIN || w == 0)
            return PB_OK;
        if (w < 0)
            return PB_ERR_CLOSED;
        r->st.bytes_sent += (uint64_t)w;
        r->pending_off += (size_t)w;
        if (r->pending_off == r->pending_len)
            r->pending = NULL;
    }
    return PB_OK;
}

int sim_replay_tick(struct sim_replay *r, int64_t now)
{
    if (r->start < 0)
        r->start = now;
    int rc = write_pending(r);
    if (rc < 0 || r->pending)
        return rc;
    while (r->next < r->n) {
        struct item *it = &r->items[r->next];
        if (!r->o.open_loop && r->ready_at < 0) {
            if (r->st.bytes_received >= it->peer_before) {
                r->ready_at = now;
                r->waiting_since = -1;
            } else {
                if (r->waiting_since < 0)
                    r->waiting_since = now;
                if (now - r->waiting_since < (int64_t)r->o.wait_ms * 1000)
                    return PB_OK;
                pb_warn("replay: chunk %zu: the peer sent %llu bytes where the capture had "
                        "%llu; sending anyway",
                        r->next + 1, (unsigned long long)r->st.bytes_received,
                        (unsigned long long)it->peer_before);
                r->st.stalls++;
                r->ready_at = now;
                r->waiting_since = -1;
            }
        }
        int64_t d = due(r);
        if (d > now)
            return PB_OK;
        r->pending = it->data;
        r->pending_len = it->len;
        r->pending_off = 0;
        r->next++;
        r->st.chunks_sent++;
        /* the next chunk's gap counts from this one, once its peer bytes are in */
        r->ready_at = -1;
        if (!r->o.open_loop && r->next < r->n &&
            r->st.bytes_received >= r->items[r->next].peer_before)
            r->ready_at = now;
        rc = write_pending(r);
        if (rc < 0 || r->pending)
            return rc;
    }
    return PB_OK;
}
