/* Fuzz harness for Concert: the deframer in chunk sizes taken from the data,
 * then decode -> encode -> decode -> redact on every frame, aborting on a broken invariant:
 *  - the deframer's: every byte accounted for, byte-at-a-time feeding gives the same
 *    frames as chunked feeding (fuzz_codec.h, which runs check_frame() on each frame);
 *  - a decoded request/answer re-encodes, and the re-encoding decodes to the same fields;
 *    a frame without card data and with canonical fields re-encodes byte for byte;
 *  - redact keeps the length, never breaks a good LRC, leaves no PAN-length digit run,
 *    and is idempotent;
 *  - no decoded message holds 13 or more consecutive digits in pan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concert.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

#define FUZZ_NAME "fuzz_concert"
#define FUZZ_PROTO pb_proto_concert
#include "fuzz_codec.h"

static bool has_pan_run(const char *s)
{
    size_t run = 0;
    for (; *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run >= 13)
            return true;
    }
    return false;
}

static bool same_fields(const struct pos_msg *a, const struct pos_msg *b)
{
    return a->kind == b->kind && a->dir == b->dir && a->txn == b->txn && a->result == b->result &&
           a->flags == b->flags && a->amount == b->amount && a->currency == b->currency &&
           strcmp(a->pos_id, b->pos_id) == 0 && strcmp(a->reference, b->reference) == 0 &&
           strcmp(a->text, b->text) == 0 && strcmp(a->result_text, b->result_text) == 0 &&
           strcmp(a->pan, b->pan) == 0;
}

static void check_frame(const struct pb_frame *f)
{
    const struct pb_protocol *p = &pb_proto_concert;
    struct pos_msg m;
    int r = p->decode(f, PB_DIR_UNKNOWN, &m);
    CHECK(r == PB_OK || (r < 0 && (m.flags & PB_F_MALFORMED) && m.kind == PB_KIND_OTHER));
    CHECK(m.offset == f->offset && m.length == f->length);
    CHECK(!has_pan_run(m.pan));
    if (f->type == PB_FRAME_CONTROL) {
        uint8_t b;
        CHECK(p->encode(&m, &b, 1) == 1 && b == f->control);
        return;
    }
    /* Rebuild the wire bytes of the frame for the encoder and redactor checks. */
    static uint8_t wire[CONCERT_PAYLOAD_MAX + 3], again[CONCERT_PAYLOAD_MAX + 3];
    CHECK(f->payload_len <= CONCERT_PAYLOAD_MAX);
    CHECK(f->length == f->payload_len + 3);
    wire[0] = PB_STX;
    memcpy(wire + 1, f->payload, f->payload_len);
    wire[f->payload_len + 1] = PB_ETX;
    uint8_t good = pb_lrc(wire + 1, f->payload_len + 1);
    wire[f->payload_len + 2] = f->checksum_ok ? good : (uint8_t)(good ^ 0x5A);
    size_t len = f->payload_len + 3;

    if (r == PB_OK && (m.kind == PB_KIND_REQUEST || m.kind == PB_KIND_RESULT)) {
        int n = p->encode(&m, again, sizeof again);
        CHECK(n == (int)len);
        static struct pb_frame f2;
        fuzz_data_frame(&f2, again + 1, (size_t)n - 3);
        f2.offset = f->offset;
        f2.length = (uint32_t)n;
        CHECK(again[n - 1] == pb_lrc(again + 1, (size_t)n - 2));
        struct pos_msg m2;
        CHECK(p->decode(&f2, m.dir, &m2) == PB_OK);
        m2.flags |= m.flags & PB_F_CHECKSUM_BAD;
        CHECK(same_fields(&m, &m2));
        /* Canonical frames (no DEL byte, no report content but the PAN) are exact. */
        bool canonical = memchr(f->payload, 0x7F, f->payload_len) == NULL &&
                         f->payload_len != CONCERT_LEN_FULL_ANSWER;
        /* Trailing spaces trimmed from the text fields come back as padding, so a
         * canonical frame is byte-identical. */
        if (canonical)
            CHECK(memcmp(again + 1, wire + 1, len - 3) == 0);
    }

    /* Redaction. */
    static uint8_t red[CONCERT_PAYLOAD_MAX + 3];
    memcpy(red, wire, len);
    size_t changed = p->redact(red, len);
    CHECK(changed <= len);
    CHECK(red[0] == PB_STX && red[len - 2] == PB_ETX);
    bool was_ok = wire[len - 1] == good;
    CHECK((red[len - 1] == pb_lrc(red + 1, len - 2)) == was_ok);
    CHECK(p->redact(red, len) == 0);
    if (f->payload_len != CONCERT_LEN_REQUEST && f->payload_len != CONCERT_LEN_SHORT_ANSWER) {
        /* No 13-digit run with more than 10 clear digits survives where card data may be. */
        size_t from = f->payload_len == CONCERT_LEN_FULL_ANSWER ? 13 : 1;
        size_t to = f->payload_len == CONCERT_LEN_FULL_ANSWER ? 13 + 55 : len - 2;
        size_t run = 0, digits = 0;
        for (size_t i = from; i < to; i++) {
            if ((red[i] >= '0' && red[i] <= '9') || red[i] == '*') {
                run++;
                digits += red[i] != '*';
            } else {
                run = digits = 0;
            }
            CHECK(run < 13 || digits <= 10);
        }
    }
    struct pos_msg mr;
    static struct pb_frame fr;
    fuzz_data_frame(&fr, red + 1, len - 3);
    int rr = p->decode(&fr, PB_DIR_UNKNOWN, &mr);
    CHECK(rr == r);
    CHECK(mr.kind == m.kind && strcmp(mr.pan, m.pan) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_codec_input(data, size);
    return 0;
}
