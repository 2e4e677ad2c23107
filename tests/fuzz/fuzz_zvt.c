/* Fuzz harness for protocols/zvt.c. The first input byte picks the chunk size the stream
 * is fed in and the direction given to decode; every frame is decoded, re-encoded where
 * encode supports it, and redacted in a copy. abort() on a broken invariant. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pb_error.h"
#include "protocol.h"
#include "zvt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

struct ctx {
    const uint8_t *data;
    size_t size;
    uint64_t base;      /* stream offset of data[0]: the deframer serves every input */
    enum pb_dir dir;
    uint64_t accounted; /* bytes delivered as frames, controls or garbage */
    uint8_t *scratch;   /* PB_ZVT_FRAME_MAX bytes */
    struct pb_frame *frame;
};

static const struct pb_protocol *Z = &pb_proto_zvt;

static void check_msg(const struct pos_msg *m)
{
    size_t digits = 0;
    for (size_t i = 0; i < sizeof m->pan && m->pan[i]; i++) {
        CHECK((m->pan[i] >= '0' && m->pan[i] <= '9') || m->pan[i] == '*');
        digits += m->pan[i] != '*';
    }
    CHECK(digits <= 10); /* never more than the first 6 and last 4 */
    CHECK(memchr(m->pan, 0, sizeof m->pan));
    CHECK(memchr(m->text, 0, sizeof m->text));
    for (size_t i = 0; m->text[i]; i++)
        CHECK(m->text[i] >= 0x20 && m->text[i] < 0x7F);
    CHECK((unsigned)m->kind < PB_KIND__COUNT);
    CHECK((unsigned)m->result < PB_RESULT__COUNT);
    char line[512];
    pb_msg_format(m, line, sizeof line);
}

/* A card number the redactor masked whole (a 0x10 byte among its masked digits): its 0x10
 * bytes, then E nibbles only, so each digit shown is the 1 or 0 of a 0x10 at its place
 * (pb_mask_pan then stars what a short number does not show). */
static bool whole_masked(const char *pan)
{
    size_t i = 0;
    while (pan[i] == '*' || pan[i] == "10"[i & 1])
        i++;
    return i > 0 && pan[i] == '\0';
}

/* Scans exactly one frame from w and decodes it. w has room for one byte more: a frame
 * with a bad CRC ending in 10 10 needs to see the next byte before it ends, because the
 * scanner also accepts a doubled 0x10 in the CRC and 10 10 X may be that CRC. No byte is
 * neutral (for one X the CRC matches), but at most one X is, so of 0x00 and 0xFF one
 * must end the frame where it ended. */
static int rescan(struct ctx *c, uint8_t *w, size_t n, struct pos_msg *m)
{
    int r = -1;
    for (int k = 0; k < 2 && r != (int)n; k++) {
        size_t resume = 0;
        memset(c->frame, 0, offsetof(struct pb_frame, payload));
        w[n] = k == 0 ? 0x00 : 0xFF;
        r = Z->scan(w, n + 1, &resume, c->frame);
    }
    CHECK(r == (int)n);
    CHECK(c->frame->type != PB_FRAME_GARBAGE);
    c->frame->length = (uint32_t)n;
    return Z->decode(c->frame, c->dir, m);
}

static void on_frame(const struct pb_frame *f, void *arg)
{
    struct ctx *c = arg;
    c->accounted += f->length;
    CHECK(f->offset >= c->base && f->offset - c->base + f->length <= c->size);
    if (f->type == PB_FRAME_GARBAGE)
        return;
    CHECK(f->length <= Z->max_frame);

    struct pos_msg m;
    int r = Z->decode(f, c->dir, &m);
    check_msg(&m);
    CHECK(m.offset == f->offset && m.length == f->length);
    if (f->type == PB_FRAME_DATA)
        CHECK(m.checksum_ok == f->checksum_ok);
    if (r < 0)
        CHECK((m.flags & PB_F_MALFORMED) && m.kind == PB_KIND_OTHER);
    const uint8_t *wire = c->data + (f->offset - c->base);
    size_t n = f->length;

    /* Re-encode what decoded, and decode that again: same kind, same figures. */
    if (r == PB_OK && m.kind != PB_KIND_OTHER) {
        int e = Z->encode(&m, c->scratch, PB_ZVT_FRAME_MAX);
        CHECK(e != 0);
        if (e > 0) {
            struct pos_msg d;
            CHECK(rescan(c, c->scratch, (size_t)e, &d) == 0);
            check_msg(&d);
            CHECK(d.kind == m.kind);
            CHECK(d.checksum_ok);
            /* Fields each encoding carries (completion, print and 06 B0 carry none). */
            bool amount = m.kind == PB_KIND_RESULT || (m.kind == PB_KIND_REQUEST &&
                                                      m.txn != PB_TXN_REGISTRATION);
            bool rc = m.kind == PB_KIND_RESULT || m.kind == PB_KIND_REFUSED ||
                      m.kind == PB_KIND_INTERMEDIATE ||
                      (m.kind == PB_KIND_ABORT && m.cmd == 0x061E);
            if (amount) {
                CHECK((d.flags & PB_F_AMOUNT) == (m.flags & PB_F_AMOUNT));
                if (m.flags & PB_F_AMOUNT)
                    CHECK(d.amount == m.amount);
                CHECK((d.flags & PB_F_CURRENCY) == (m.flags & PB_F_CURRENCY));
            }
            if (rc && (m.flags & PB_F_RESULT_CODE))
                CHECK(d.result_code == m.result_code && d.result == m.result);
            if (m.kind == PB_KIND_RESULT)
                CHECK(strcmp(d.pan, m.pan) == 0 && strcmp(d.trace, m.trace) == 0 &&
                      strcmp(d.terminal_id, m.terminal_id) == 0);
        }
    }

    /* Redact a copy: length kept, still one frame, card data masked, idempotent. */
    memcpy(c->scratch, wire, n);
    Z->redact(c->scratch, n);
    if (f->type == PB_FRAME_CONTROL) {
        CHECK(c->scratch[0] == wire[0]);
        return;
    }
    struct pos_msg red;
    int rr = rescan(c, c->scratch, n, &red);
    check_msg(&red);
    CHECK(red.checksum_ok == m.checksum_ok);
    if (r == PB_OK) {
        CHECK(rr == PB_OK);
        CHECK(red.kind == m.kind);
        CHECK(strcmp(red.pan, m.pan) == 0 || whole_masked(red.pan));
        CHECK((red.flags & PB_F_AMOUNT) == (m.flags & PB_F_AMOUNT));
        if (m.flags & PB_F_AMOUNT)
            CHECK(red.amount == m.amount);
    }
    CHECK(Z->redact(c->scratch, n) == 0);
}

/* The timed pass checks each delivery's place and length: contiguous, every byte once. */
struct timed {
    uint64_t next;
};

static void on_timed(const struct pb_frame *f, void *arg)
{
    struct timed *t = arg;
    CHECK(f->offset == t->next && f->length > 0);
    CHECK(f->type == PB_FRAME_GARBAGE || f->length <= Z->max_frame);
    t->next += f->length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct ctx c = {.data = data + 1, .size = size - 1};
    c.dir = (enum pb_dir)((data[0] >> 5) % 3);
    size_t chunk = 1 + (data[0] & 0x1F);
    if ((data[0] & 0x1F) == 0x1F)
        chunk = size; /* whole buffer at once */
    /* Allocated once: a fresh deframer (a 64 KiB frame and a 2 * max_frame buffer), a
     * 128 KiB scratch and a frame per input were most of this harness's time. After
     * pb_deframer_flush() the deframer holds no byte; pb_deframer_reset() keeps only the
     * stream offset and the counters, taken here as this input's origin. */
    static uint8_t *scratch;
    static struct pb_frame *frame;
    static struct pb_deframer *d;
    if (!d) {
        scratch = malloc(PB_ZVT_FRAME_MAX + 1);
        frame = malloc(sizeof *frame);
        CHECK(scratch && frame);
        CHECK(pb_deframer_new(Z, &d) == 0);
    }
    c.scratch = scratch;
    c.frame = frame;
    pb_deframer_reset(d);
    const struct pb_deframer_stats *st = pb_deframer_stats(d);
    const uint64_t bytes0 = st->bytes;
    c.base = bytes0;
    for (size_t off = 0; off < c.size; off += chunk)
        pb_deframer_feed(d, c.data + off, c.size - off < chunk ? c.size - off : chunk, on_frame,
                         &c);
    pb_deframer_flush(d, on_frame, &c);
    CHECK(st->bytes - bytes0 == c.size);
    CHECK(c.accounted == c.size); /* every byte reported exactly once */

    /* Again as the bridge feeds, with arrival times (pb_deframer_feed_at): a silence over
     * PB_FRAME_GAP_US before every chunk whose first byte has its top bit set makes the
     * deframer give up what it holds and rescan it (pb_deframer_expire). Framing then
     * differs from the pass above, so only the accounting is checked; the decode, encode
     * and redact checks are the chunked pass's. */
    static int64_t clock_us; /* monotonic across inputs, as a live line's */
    clock_us += 10 * (int64_t)PB_FRAME_GAP_US;
    pb_deframer_reset(d);
    const uint64_t start = st->bytes;
    struct timed t = {.next = start};
    for (size_t off = 0; off < c.size; off += chunk) {
        clock_us += (c.data[off] & 0x80) ? PB_FRAME_GAP_US + 1 : 1000;
        pb_deframer_feed_at(d, c.data + off, c.size - off < chunk ? c.size - off : chunk,
                            clock_us, on_timed, &t);
    }
    pb_deframer_flush(d, on_timed, &t);
    CHECK(st->bytes - start == c.size && t.next - start == c.size);
    int conf = Z->probe(c.data, c.size);
    CHECK(conf >= 0 && conf <= 100);
    return 0;
}
