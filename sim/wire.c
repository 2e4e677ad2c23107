/* One end of a simulated line: deframing what arrives, and a time-ordered queue of what
 * leaves, so latency, jitter, slicing and baud pacing are all "write these bytes at that
 * time". Output order is never changed: a chunk is never due before the one ahead of it
 * (a UART sends bytes in order, however late). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "pb_error.h"

struct chunk {
    struct chunk *next;
    int64_t at;
    size_t len, off;
    uint8_t data[];
};

struct sim_wire {
    const struct pb_protocol *proto;
    struct sim_rng *rng;
    sim_write_fn write;
    void *ctx;
    struct pb_deframer *deframer;
    const struct sim_plan *plan;
    unsigned baud, bits;
    struct chunk *head, *tail;
    int64_t last_at;   /* due time of the last queued chunk */
    int64_t line_free; /* pacing: when the line has sent everything queued */
    int64_t cut_until; /* line dead before this time */
    uint64_t bytes_out;
    bool feeding; /* inside pb_deframer_feed: a reset must wait until it returns */
    bool reset_pending;
};

int sim_wire_new(const struct pb_protocol *p, struct sim_rng *rng, sim_write_fn write, void *ctx,
                 struct sim_wire **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!p || !rng || !write)
        return PB_ERR_INVAL;
    struct sim_wire *w = calloc(1, sizeof *w);
    if (!w)
        return PB_ERR_NOMEM;
    int r = pb_deframer_new(p, &w->deframer);
    if (r < 0) {
        free(w);
        return r;
    }
    w->proto = p;
    w->rng = rng;
    w->write = write;
    w->ctx = ctx;
    w->cut_until = INT64_MIN;
    w->last_at = INT64_MIN;
    w->line_free = INT64_MIN;
    *out = w;
    return PB_OK;
}

static void drop_queue(struct sim_wire *w)
{
    struct chunk *c = w->head;
    while (c) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
    w->head = w->tail = NULL;
}

void sim_wire_free(struct sim_wire *w)
{
    if (!w)
        return;
    drop_queue(w);
    pb_deframer_free(w->deframer);
    free(w);
}

void sim_wire_set_plan(struct sim_wire *w, const struct sim_plan *plan)
{
    w->plan = plan;
}

void sim_wire_set_pace(struct sim_wire *w, unsigned baud, unsigned bits_per_byte)
{
    w->baud = baud;
    w->bits = bits_per_byte ? bits_per_byte : 10;
}

void sim_wire_feed(struct sim_wire *w, const uint8_t *buf, size_t len, pb_frame_cb cb, void *ctx,
                   int64_t now)
{
    if (sim_wire_is_cut(w, now))
        return;
    w->feeding = true;
    pb_deframer_feed_at(w->deframer, buf, len, now, cb, ctx);
    w->feeding = false;
    if (w->reset_pending) {
        w->reset_pending = false;
        pb_deframer_reset(w->deframer);
    }
}

static const struct sim_fault *plan_find(const struct sim_wire *w, enum sim_fault_kind k)
{
    return w->plan ? sim_plan_find(w->plan, k) : NULL;
}

static void push(struct sim_wire *w, const uint8_t *buf, size_t len, int64_t at)
{
    if (len == 0)
        return;
    if (at < w->last_at)
        at = w->last_at;
    struct chunk *c = malloc(sizeof *c + len);
    if (!c)
        return; /* out of memory: the bytes are lost, as on a broken line */
    c->next = NULL;
    c->at = at;
    c->len = len;
    c->off = 0;
    memcpy(c->data, buf, len);
    if (w->tail)
        w->tail->next = c;
    else
        w->head = c;
    w->tail = c;
    w->last_at = at;
}

/* Queues bytes leaving at `at`, one chunk per slice, or per byte when pacing. */
static void schedule(struct sim_wire *w, const uint8_t *buf, size_t len, int64_t at)
{
    const struct sim_fault *sl = plan_find(w, SIM_FAULT_SLICE);
    size_t piece = sl ? sl->bytes : len;
    int64_t gap = sl ? (int64_t)sl->ms * 1000 : 0;
    int64_t byte_us = w->baud ? ((int64_t)w->bits * 1000000 + w->baud - 1) / w->baud : 0;
    if (byte_us)
        piece = 1;
    if (piece == 0)
        piece = 1;
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        if (byte_us) {
            if (at < w->line_free)
                at = w->line_free;
            w->line_free = at + byte_us;
        }
        push(w, buf + off, n, at);
        at += byte_us + (sl && off + n < len ? gap : 0);
    }
}

static int64_t latency_at(struct sim_wire *w, int64_t now)
{
    const struct sim_fault *lat = plan_find(w, SIM_FAULT_LATENCY);
    if (!lat)
        return now;
    int64_t d = (int64_t)lat->ms * 1000;
    if (lat->jitter_ms)
        d += sim_rng_range(w->rng, -(int64_t)lat->jitter_ms * 1000, (int64_t)lat->jitter_ms * 1000);
    return now + (d > 0 ? d : 0);
}

void sim_wire_send_frame(struct sim_wire *w, const uint8_t *frame, size_t len, unsigned nth,
                         unsigned attempt, size_t cut_after, int64_t now)
{
    if (sim_wire_is_cut(w, now))
        return;
    int64_t at = latency_at(w, now);
    const struct sim_fault *noise = plan_find(w, SIM_FAULT_NOISE);
    if (noise) {
        uint8_t junk[256];
        size_t n = noise->bytes <= sizeof junk ? noise->bytes : sizeof junk;
        /* 0x80..0xFE: never STX, DLE or a control byte, so noise cannot fake a frame
         * start or an ACK; it is garbage the peer must skip. */
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)(0x80 + sim_rng_below(w->rng, 0x7F));
        schedule(w, junk, n, at);
    }
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return;
    size_t n = len;
    if (w->plan)
        n = sim_plan_mangle(w->plan, w->rng, nth, attempt, frame, len, buf, len + 1);
    else
        memcpy(buf, frame, len);
    if (cut_after > 0 && cut_after < n)
        n = cut_after;
    schedule(w, buf, n, at);
    free(buf);
}

void sim_wire_send_control(struct sim_wire *w, uint8_t byte, int64_t now)
{
    if (sim_wire_is_cut(w, now))
        return;
    schedule(w, &byte, 1, latency_at(w, now));
}

void sim_wire_send_raw(struct sim_wire *w, const uint8_t *buf, size_t len, int64_t now)
{
    if (sim_wire_is_cut(w, now))
        return;
    schedule(w, buf, len, now);
}

void sim_wire_cut(struct sim_wire *w, int64_t until_us)
{
    drop_queue(w);
    w->cut_until = until_us;
    w->last_at = INT64_MIN;
    w->line_free = INT64_MIN;
    /* The deframer may be mid-callback (a frame made us cut the line): never reset it
     * under its own feet. */
    if (w->feeding)
        w->reset_pending = true;
    else
        pb_deframer_reset(w->deframer);
}

bool sim_wire_is_cut(const struct sim_wire *w, int64_t now)
{
    return now < w->cut_until;
}

int64_t sim_wire_next_deadline(const struct sim_wire *w)
{
    return w->head ? w->head->at : -1;
}

bool sim_wire_idle(const struct sim_wire *w)
{
    return w->head == NULL;
}

uint64_t sim_wire_bytes_out(const struct sim_wire *w)
{
    return w->bytes_out;
}

int sim_wire_flush(struct sim_wire *w, int64_t now)
{
    while (w->head && w->head->at <= now) {
        struct chunk *c = w->head;
        ssize_t r = w->write(w->ctx, c->data + c->off, c->len - c->off);
        if (r == PB_ERR_AGAIN || r == 0) {
            c->at = now + 1000; /* port full: try again in a millisecond */
            return PB_OK;
        }
        if (r < 0) {
            drop_queue(w);
            return PB_ERR_CLOSED;
        }
        w->bytes_out += (uint64_t)r;
        c->off += (size_t)r;
        if (c->off < c->len) {
            c->at = now + 1000;
            return PB_OK;
        }
        w->head = c->next;
        if (!w->head)
            w->tail = NULL;
        free(c);
    }
    return PB_OK;
}
