/* The protocol registry and the streaming deframer shared by every protocol. */
#include "protocol.h"

#include <stdlib.h>
#include <string.h>

#include "pb_error.h"

/* The registry (DESIGN.md decision 3): one line per protocol. */
extern const struct pb_protocol pb_proto_concert;
extern const struct pb_protocol pb_proto_zvt;
extern const struct pb_protocol pb_proto_pax;
extern const struct pb_protocol pb_proto_mispos;
static const struct pb_protocol *const registry[] = {
    &pb_proto_concert,
    &pb_proto_zvt,
    &pb_proto_pax,
    &pb_proto_mispos,
    NULL,
};

const struct pb_protocol *const *pb_protocol_list(void)
{
    return registry;
}

const struct pb_protocol *pb_protocol_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const char *pb_protocol_names(void)
{
    static char names[128];
    if (!names[0]) {
        size_t n = 0;
        for (size_t i = 0; registry[i]; i++) {
            size_t l = strlen(registry[i]->name);
            if (n + l + 2 >= sizeof names)
                break;
            if (n)
                names[n++] = '|';
            memcpy(names + n, registry[i]->name, l);
            n += l;
        }
        names[n] = '\0';
    }
    return names;
}

uint8_t pb_lrc(const uint8_t *buf, size_t len)
{
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= buf[i];
    return x;
}

uint16_t pb_crc16_kermit(uint16_t crc, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
    }
    return crc;
}

/* ---- deframer ------------------------------------------------------------------------ */

struct pb_deframer {
    const struct pb_protocol *proto;
    uint8_t *buf;       /* bytes not yet consumed; buf[0] is at stream offset `base` */
    size_t len, cap;
    size_t resume;      /* scanner progress for the frame starting at buf[0] */
    uint64_t base;
    struct pb_deframer_stats stats;
    struct pb_frame frame; /* large: lives here, not on the stack */
};

int pb_deframer_new(const struct pb_protocol *p, struct pb_deframer **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!p || !p->scan || p->max_frame == 0 || p->max_frame > PB_FRAME_PAYLOAD_MAX * 2 + 16)
        return PB_ERR_INVAL;
    struct pb_deframer *d = calloc(1, sizeof *d);
    if (!d)
        return PB_ERR_NOMEM;
    d->proto = p;
    /* A frame can never be longer than max_frame, so twice that always leaves room to
     * append a chunk after the longest partial frame. */
    d->cap = p->max_frame * 2 + 4096;
    d->buf = malloc(d->cap);
    if (!d->buf) {
        free(d);
        return PB_ERR_NOMEM;
    }
    *out = d;
    return PB_OK;
}

void pb_deframer_free(struct pb_deframer *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d);
}

void pb_deframer_reset(struct pb_deframer *d)
{
    d->base += d->len;
    d->len = 0;
    d->resume = 0;
}

const struct pb_deframer_stats *pb_deframer_stats(const struct pb_deframer *d)
{
    return &d->stats;
}

static void consume(struct pb_deframer *d, size_t n)
{
    memmove(d->buf, d->buf + n, d->len - n);
    d->len -= n;
    d->base += n;
    d->resume = 0;
}

static void emit_garbage(struct pb_deframer *d, size_t n, pb_frame_cb cb, void *ctx)
{
    struct pb_frame *f = &d->frame;
    f->type = PB_FRAME_GARBAGE;
    f->offset = d->base;
    f->length = (uint32_t)n;
    f->payload_len = 0;
    f->checksum_ok = true;
    d->stats.garbage_bytes += n;
    cb(f, ctx);
    consume(d, n);
}

/* Runs the scanner over the buffer until it needs more bytes. */
static void drain(struct pb_deframer *d, pb_frame_cb cb, void *ctx)
{
    while (d->len > 0) {
        struct pb_frame *f = &d->frame;
        f->type = PB_FRAME_GARBAGE;
        f->payload_len = 0;
        f->checksum_ok = true;
        f->control = 0;
        int r = d->proto->scan(d->buf, d->len, &d->resume, f);
        if (r == 0) {
            if (d->len < d->proto->max_frame)
                return;
            r = PB_ERR_FRAMING; /* scanner wants more than any frame may be: resync */
        }
        if (r < 0) {
            emit_garbage(d, 1, cb, ctx);
            continue;
        }
        size_t n = (size_t)r > d->len ? d->len : (size_t)r;
        f->offset = d->base;
        f->length = (uint32_t)n;
        switch (f->type) {
        case PB_FRAME_DATA:
            d->stats.frames++;
            if (!f->checksum_ok)
                d->stats.checksum_errors++;
            break;
        case PB_FRAME_CONTROL:
            d->stats.controls++;
            break;
        case PB_FRAME_GARBAGE:
            d->stats.garbage_bytes += n;
            break;
        }
        cb(f, ctx);
        consume(d, n);
    }
}

void pb_deframer_feed(struct pb_deframer *d, const uint8_t *buf, size_t len, pb_frame_cb cb,
                      void *ctx)
{
    d->stats.bytes += len;
    while (len > 0) {
        size_t room = d->cap - d->len;
        size_t n = len < room ? len : room;
        memcpy(d->buf + d->len, buf, n);
        d->len += n;
        buf += n;
        len -= n;
        drain(d, cb, ctx);
        /* drain() leaves at most max_frame - 1 bytes, so room is never zero here. */
    }
}

void pb_deframer_flush(struct pb_deframer *d, pb_frame_cb cb, void *ctx)
{
    if (d->len > 0)
        emit_garbage(d, d->len, cb, ctx);
}
