/* fuzz_codec.h: what the harnesses of the STX-framed codecs (Concert, PAX, MIS-POS) share:
 * the input fed through the protocol's deframer twice, in chunk sizes taken from the data
 * and one byte at a time, with these invariants:
 *  - every byte fed is accounted for (frames + controls + garbage), offsets contiguous,
 *    and the deframer's counters agree;
 *  - byte-at-a-time feeding delivers the same frames (offset, type, control byte, length,
 *    checksum state, payload) as the chunked feeding;
 *  - probe() answers 0..100.
 * Every frame of the chunked pass goes to the harness's check_frame(). The byte-at-a-time
 * pass delivers the same frames (checked above), so they are not checked a second time.
 * The timed pass (below) checks only the frames the chunked pass did not deliver: a frame
 * with the same place and length in the input holds the same bytes, and checking it again
 * was a quarter of fuzz_pax's time.
 *
 * One deframer serves every input: after pb_deframer_flush() it holds no byte, and
 * pb_deframer_reset() keeps only the stream offset and the counters, which run() takes
 * as its origin. A fresh one per input cost a 64 KiB frame and a 2 * max_frame buffer,
 * allocated and cleared twice per input, most of the harness's time.
 *
 * The including file defines FUZZ_NAME ("fuzz_pax") and FUZZ_PROTO (pb_proto_pax), then
 * includes this, defines check_frame(), and calls fuzz_codec_input() from
 * LLVMFuzzerTestOneInput(). */
#ifndef FUZZ_CODEC_H
#define FUZZ_CODEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_error.h"
#include "protocol.h"

/* ASan under clang (__has_feature) or gcc (__SANITIZE_ADDRESS__); no-ops without it. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FUZZ_ASAN)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, FUZZ_NAME ": invariant broken at %s:%d: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void check_frame(const struct pb_frame *f);

struct summary {
    uint64_t start;       /* stream offset of this input's first byte */
    uint64_t next_offset; /* where the next event must start */
    uint64_t bytes;
    uint64_t frames;      /* data frames and control bytes */
    uint64_t garbage;
    uint64_t hash;        /* over every field of every frame and control byte */
    bool check;           /* hand each frame to check_frame() */
    bool record;          /* note each frame's place and length in `delivered` */
    bool skip_delivered;  /* check only frames `delivered` does not hold */
};

/* The frames of this input's chunked pass, by offset in the input: length and type,
 * valid where stamp[] equals the input's number (so nothing is cleared per input). Past
 * FUZZ_DELIVERED_MAX nothing is recorded, and the timed pass checks every frame there. */
#define FUZZ_DELIVERED_MAX 16384
static struct {
    uint32_t input;
    uint32_t stamp[FUZZ_DELIVERED_MAX];
    uint32_t key[FUZZ_DELIVERED_MAX];
} delivered;

static inline uint32_t delivered_key(const struct pb_frame *f)
{
    return f->length << 2 | (uint32_t)f->type;
}

/* FNV-1a, 64 bits. */
static inline uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static inline size_t digits(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s >= '0' && *s <= '9';
    return n;
}

/* Makes f a data frame holding payload[0..n), as a decoder gets it: offset and length 0,
 * checksum good (the caller may change them). Under ASan the unused tail of f->payload
 * is poisoned, so a decoder reading past payload_len is caught; clearing the 64 KiB frame
 * on every call, as before, cost more than the decode and hid such a read. */
static inline void fuzz_data_frame(struct pb_frame *f, const uint8_t *payload, size_t n)
{
    CHECK(n <= sizeof f->payload);
    f->type = PB_FRAME_DATA;
    f->control = 0;
    f->checksum_ok = true;
    f->offset = 0;
    f->length = 0;
    FUZZ_UNPOISON(f->payload, sizeof f->payload);
    memcpy(f->payload, payload, n);
    f->payload_len = n;
    FUZZ_POISON(f->payload + n, sizeof f->payload - n);
}

static inline void on_frame(const struct pb_frame *f, void *ctx)
{
    struct summary *s = ctx;
    CHECK(f->offset == s->next_offset);
    CHECK(f->length > 0);
    s->next_offset += f->length;
    s->bytes += f->length;
    if (f->type == PB_FRAME_GARBAGE) {
        s->garbage += f->length; /* runs may split differently between the two passes */
        return;
    }
    s->frames++;
    uint64_t at = f->offset - s->start;
    uint8_t head[3] = {(uint8_t)f->type, f->control, f->checksum_ok};
    s->hash = mix(s->hash, &at, sizeof at);
    s->hash = mix(s->hash, head, sizeof head);
    s->hash = mix(s->hash, &f->length, sizeof f->length);
    s->hash = mix(s->hash, &f->payload_len, sizeof f->payload_len);
    s->hash = mix(s->hash, f->payload, f->payload_len);
    if (!s->check)
        return;
    bool in_table = at < FUZZ_DELIVERED_MAX;
    if (s->record && in_table) {
        delivered.stamp[at] = delivered.input;
        delivered.key[at] = delivered_key(f);
    }
    if (s->skip_delivered && in_table && delivered.stamp[at] == delivered.input &&
        delivered.key[at] == delivered_key(f))
        return;
    check_frame(f);
}

/* timed: feed as the bridge does (pb_deframer_feed_at), with a silence longer than
 * PB_FRAME_GAP_US before every chunk whose first data byte has its top bit set, so held
 * frames are given up and rescanned (pb_deframer_expire). Framing then differs from the
 * untimed passes: only the accounting is compared, and every frame the chunked pass did
 * not deliver is checked. */
static inline void run(struct pb_deframer *d, const uint8_t *data, size_t size,
                       bool byte_at_a_time, bool timed, struct summary *s)
{
    static int64_t clock_us; /* monotonic across inputs, as a live line's */
    clock_us += 10 * (int64_t)PB_FRAME_GAP_US;
    pb_deframer_reset(d);
    const struct pb_deframer_stats *st = pb_deframer_stats(d);
    const struct pb_deframer_stats before = *st;
    *s = (struct summary){.start = before.bytes, .next_offset = before.bytes,
                          .hash = 14695981039346656037ull, .check = !byte_at_a_time,
                          .record = !byte_at_a_time && !timed, .skip_delivered = timed};
    size_t i = 0, k = 0;
    while (i < size) {
        /* Chunk sizes from the data itself: 1..16 bytes, cycling through the input. */
        size_t n = byte_at_a_time ? 1 : 1 + (data[k++ % size] & 15);
        if (n > size - i)
            n = size - i;
        if (timed) {
            clock_us += (data[i] & 0x80) ? PB_FRAME_GAP_US + 1 : 1000;
            pb_deframer_feed_at(d, data + i, n, clock_us, on_frame, s);
        } else {
            pb_deframer_feed(d, data + i, n, on_frame, s);
        }
        i += n;
    }
    pb_deframer_flush(d, on_frame, s);
    CHECK(st->bytes - before.bytes == size);
    CHECK(s->bytes == size);
    CHECK((st->frames - before.frames) + (st->controls - before.controls) == s->frames);
    CHECK(st->garbage_bytes - before.garbage_bytes == s->garbage);
}

static inline void fuzz_codec_input(const uint8_t *data, size_t size)
{
    static struct pb_deframer *d;
    if (!d)
        CHECK(pb_deframer_new(&FUZZ_PROTO, &d) == PB_OK);
    delivered.input++; /* after 2^32 inputs a stale stamp could match: only a skipped check */
    struct summary a, b, t;
    run(d, data, size, false, false, &a);
    run(d, data, size, true, false, &b);
    CHECK(a.frames == b.frames && a.hash == b.hash);
    run(d, data, size, false, true, &t);
    int c = FUZZ_PROTO.probe(data, size);
    CHECK(c >= 0 && c <= 100);
}

#endif
