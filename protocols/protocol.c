/* The protocol registry and the streaming deframer shared by every protocol. */
#include "protocol.h"

#include <stdlib.h>
#include <string.h>

#include "pb_error.h"

/* The registry (docs/DESIGN.md decision 3): one line per protocol. */
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

int pb_scan_outside_stx(const uint8_t *buf, size_t len, bool (*is_control)(uint8_t),
                        struct pb_frame *out)
{
    if (len == 0)
        return 0;
    if (is_control(buf[0])) {
        out->type = PB_FRAME_CONTROL;
        out->control = buf[0];
        return 1;
    }
    /* One garbage run up to the next byte that may start something. */
    size_t n = 1;
    while (n < len && buf[n] != PB_STX && !is_control(buf[n]))
        n++;
    out->type = PB_FRAME_GARBAGE;
    return (int)n;
}

struct pb_frame *pb_probe_frame(void)
{
    static _Thread_local struct pb_frame *frame;
    if (!frame)
        frame = malloc(sizeof *frame);
    return frame;
}

uint8_t pb_lrc(const uint8_t *buf, size_t len)
{
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= buf[i];
    return x;
}

/* CRC-16/KERMIT (reflected polynomial 0x8408) one byte at a time: entry i is the bitwise
 * algorithm's 8 shift/xor steps applied to i. Table-driven because the ZVT scanner,
 * decoder and redactor checksum every frame on the relay path (docs/BENCHMARKS.md: the
 * bitwise loop was 46 percent of posbridge's CPU on a stream of ZVT frames). */
static const uint16_t crc16_kermit_table[256] = {
    0x0000, 0x1189, 0x2312, 0x329b, 0x4624, 0x57ad, 0x6536, 0x74bf,
    0x8c48, 0x9dc1, 0xaf5a, 0xbed3, 0xca6c, 0xdbe5, 0xe97e, 0xf8f7,
    0x1081, 0x0108, 0x3393, 0x221a, 0x56a5, 0x472c, 0x75b7, 0x643e,
    0x9cc9, 0x8d40, 0xbfdb, 0xae52, 0xdaed, 0xcb64, 0xf9ff, 0xe876,
    0x2102, 0x308b, 0x0210, 0x1399, 0x6726, 0x76af, 0x4434, 0x55bd,
    0xad4a, 0xbcc3, 0x8e58, 0x9fd1, 0xeb6e, 0xfae7, 0xc87c, 0xd9f5,
    0x3183, 0x200a, 0x1291, 0x0318, 0x77a7, 0x662e, 0x54b5, 0x453c,
    0xbdcb, 0xac42, 0x9ed9, 0x8f50, 0xfbef, 0xea66, 0xd8fd, 0xc974,
    0x4204, 0x538d, 0x6116, 0x709f, 0x0420, 0x15a9, 0x2732, 0x36bb,
    0xce4c, 0xdfc5, 0xed5e, 0xfcd7, 0x8868, 0x99e1, 0xab7a, 0xbaf3,
    0x5285, 0x430c, 0x7197, 0x601e, 0x14a1, 0x0528, 0x37b3, 0x263a,
    0xdecd, 0xcf44, 0xfddf, 0xec56, 0x98e9, 0x8960, 0xbbfb, 0xaa72,
    0x6306, 0x728f, 0x4014, 0x519d, 0x2522, 0x34ab, 0x0630, 0x17b9,
    0xef4e, 0xfec7, 0xcc5c, 0xddd5, 0xa96a, 0xb8e3, 0x8a78, 0x9bf1,
    0x7387, 0x620e, 0x5095, 0x411c, 0x35a3, 0x242a, 0x16b1, 0x0738,
    0xffcf, 0xee46, 0xdcdd, 0xcd54, 0xb9eb, 0xa862, 0x9af9, 0x8b70,
    0x8408, 0x9581, 0xa71a, 0xb693, 0xc22c, 0xd3a5, 0xe13e, 0xf0b7,
    0x0840, 0x19c9, 0x2b52, 0x3adb, 0x4e64, 0x5fed, 0x6d76, 0x7cff,
    0x9489, 0x8500, 0xb79b, 0xa612, 0xd2ad, 0xc324, 0xf1bf, 0xe036,
    0x18c1, 0x0948, 0x3bd3, 0x2a5a, 0x5ee5, 0x4f6c, 0x7df7, 0x6c7e,
    0xa50a, 0xb483, 0x8618, 0x9791, 0xe32e, 0xf2a7, 0xc03c, 0xd1b5,
    0x2942, 0x38cb, 0x0a50, 0x1bd9, 0x6f66, 0x7eef, 0x4c74, 0x5dfd,
    0xb58b, 0xa402, 0x9699, 0x8710, 0xf3af, 0xe226, 0xd0bd, 0xc134,
    0x39c3, 0x284a, 0x1ad1, 0x0b58, 0x7fe7, 0x6e6e, 0x5cf5, 0x4d7c,
    0xc60c, 0xd785, 0xe51e, 0xf497, 0x8028, 0x91a1, 0xa33a, 0xb2b3,
    0x4a44, 0x5bcd, 0x6956, 0x78df, 0x0c60, 0x1de9, 0x2f72, 0x3efb,
    0xd68d, 0xc704, 0xf59f, 0xe416, 0x90a9, 0x8120, 0xb3bb, 0xa232,
    0x5ac5, 0x4b4c, 0x79d7, 0x685e, 0x1ce1, 0x0d68, 0x3ff3, 0x2e7a,
    0xe70e, 0xf687, 0xc41c, 0xd595, 0xa12a, 0xb0a3, 0x8238, 0x93b1,
    0x6b46, 0x7acf, 0x4854, 0x59dd, 0x2d62, 0x3ceb, 0x0e70, 0x1ff9,
    0xf78f, 0xe606, 0xd49d, 0xc514, 0xb1ab, 0xa022, 0x92b9, 0x8330,
    0x7bc7, 0x6a4e, 0x58d5, 0x495c, 0x3de3, 0x2c6a, 0x1ef1, 0x0f78,
};

uint16_t pb_crc16_kermit(uint16_t crc, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc >> 8) ^ crc16_kermit_table[(crc ^ buf[i]) & 0xff]);
    return crc;
}

/* ---- deframer ------------------------------------------------------------------------ */

struct pb_deframer {
    const struct pb_protocol *proto;
    uint8_t *buf;       /* bytes not yet consumed are buf[head..head+len) */
    size_t head, len, cap;
    size_t resume;      /* scanner progress for the frame starting at buf[head] */
    uint64_t base;      /* stream offset of buf[head] */
    int64_t last_us; /* arrival of the last bytes fed by pb_deframer_feed_at */
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
    d->head = d->len = 0;
    d->resume = 0;
}

const struct pb_deframer_stats *pb_deframer_stats(const struct pb_deframer *d)
{
    return &d->stats;
}

/* Gives up the first n held bytes. Nothing moves: the held bytes go down to buf[0] only
 * when a chunk would not fit after them (pb_deframer_feed), once per cap - max_frame bytes
 * at least. Moving them here cost a held frame's length per skipped byte: MIS-POS at 77
 * ns/byte on 02 99 99 repeated (docs/BENCHMARKS.md section 8). */
static void consume(struct pb_deframer *d, size_t n)
{
    d->head = d->len == n ? 0 : d->head + n;
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
        int r = d->proto->scan(d->buf + d->head, d->len, &d->resume, f);
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
        if (d->head > 0 && d->cap - d->head - d->len < len) {
            memmove(d->buf, d->buf + d->head, d->len);
            d->head = 0;
        }
        size_t room = d->cap - d->head - d->len;
        size_t n = len < room ? len : room;
        memcpy(d->buf + d->head + d->len, buf, n);
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

/* Rescans after each skipped frame start; a held buffer of hostile bytes full of frame
 * starts would make that quadratic, so after this many the rest goes as one run. */
#define EXPIRE_RESCANS 64

void pb_deframer_expire(struct pb_deframer *d, pb_frame_cb cb, void *ctx)
{
    for (int i = 0; d->len > 0 && i < EXPIRE_RESCANS; i++) {
        emit_garbage(d, 1, cb, ctx);
        drain(d, cb, ctx);
    }
    pb_deframer_flush(d, cb, ctx);
}

void pb_deframer_feed_at(struct pb_deframer *d, const uint8_t *buf, size_t len, int64_t now_us,
                         pb_frame_cb cb, void *ctx)
{
    if (d->len > 0 && now_us - d->last_us > PB_FRAME_GAP_US)
        pb_deframer_expire(d, cb, ctx);
    d->last_us = now_us;
    pb_deframer_feed(d, buf, len, cb, ctx);
}
