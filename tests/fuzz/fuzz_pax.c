/* Fuzz harness for PAX POSLink: the deframer in chunk sizes taken from the data,
 * then decode -> encode -> decode -> redact on every frame, aborting on a broken invariant:
 *  - the deframer's: every byte accounted for, byte-at-a-time feeding gives the same
 *    frames as chunked feeding (fuzz_codec.h, which runs check_frame() on each frame);
 *  - a decoded T00/T01 re-encodes (a T01 with an unknown non-numeric code may be
 *    refused), the re-encoding decodes to the same fields, and encoding that again gives
 *    the same bytes (canonical frames are a fixed point);
 *  - redact keeps the length, never breaks a good LRC nor mends a bad one, is idempotent,
 *    and the redacted frame decodes to the same kind;
 *  - no decoded pan holds more than 10 digits, a T01's no more than 4;
 *  - every frame also goes through a multi-packet joiner (pb_pax_join, reset per input):
 *    a message it assembles is no larger than PAX_JOIN_MAX, decodes without PB_F_MORE, and
 *    keeps the pan limits above. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pax.h"
#include "pb_error.h"
#include "protocol.h"

#define FUZZ_NAME "fuzz_pax"
#define FUZZ_PROTO pb_proto_pax
#include "fuzz_codec.h"

static bool same_fields(const struct pos_msg *a, const struct pos_msg *b)
{
    return a->kind == b->kind && a->dir == b->dir && a->txn == b->txn && a->result == b->result &&
           a->flags == b->flags && a->cmd == b->cmd && a->amount == b->amount &&
           a->amount_due == b->amount_due && a->result_code == b->result_code &&
           strcmp(a->reference, b->reference) == 0 && strcmp(a->receipt, b->receipt) == 0 &&
           strcmp(a->trace, b->trace) == 0 && strcmp(a->auth_code, b->auth_code) == 0 &&
           strcmp(a->text, b->text) == 0 && strcmp(a->result_text, b->result_text) == 0 &&
           strcmp(a->pan, b->pan) == 0;
}

static int decode_wire(const uint8_t *w, size_t n, enum pb_dir dir, struct pos_msg *m)
{
    static struct pb_frame f;
    CHECK(n >= 3 && n - 3 <= PAX_PAYLOAD_MAX);
    fuzz_data_frame(&f, w + 1, n - 3);
    f.checksum_ok = w[n - 1] == pb_lrc(w + 1, n - 2);
    f.length = (uint32_t)n;
    return pb_proto_pax.decode(&f, dir, m);
}

static struct pb_pax_joiner *joiner;

static void check_join(const struct pb_frame *f)
{
    if (!joiner)
        CHECK(pb_pax_joiner_new(&joiner) == PB_OK);
    const struct pb_frame *whole = NULL;
    int j = pb_pax_join(joiner, f, &whole);
    CHECK(j == PB_PAX_JOIN_PASS || j == PB_PAX_JOIN_HELD || j == PB_PAX_JOIN_DONE ||
          j == PB_ERR_RANGE);
    CHECK((j == PB_PAX_JOIN_DONE) == (whole != NULL));
    if (!whole)
        return;
    CHECK(whole->payload_len <= PAX_JOIN_MAX && whole->checksum_ok);
    struct pos_msg m;
    int r = pb_proto_pax.decode(whole, PB_DIR_UNKNOWN, &m);
    CHECK(r == PB_OK || (r < 0 && (m.flags & PB_F_MALFORMED) && m.kind == PB_KIND_OTHER));
    CHECK(!(m.flags & PB_F_MORE));
    CHECK(digits(m.pan) <= 10);
    CHECK(m.kind != PB_KIND_RESULT || digits(m.pan) <= 4);
}

static void check_frame(const struct pb_frame *f)
{
    const struct pb_protocol *p = &pb_proto_pax;
    struct pos_msg m;
    check_join(f);
    int r = p->decode(f, PB_DIR_UNKNOWN, &m);
    CHECK(r == PB_OK || (r < 0 && (m.flags & PB_F_MALFORMED) && m.kind == PB_KIND_OTHER));
    CHECK(m.offset == f->offset && m.length == f->length);
    CHECK(digits(m.pan) <= 10);
    CHECK(m.kind != PB_KIND_RESULT || digits(m.pan) <= 4);
    if (f->type == PB_FRAME_CONTROL) {
        uint8_t b;
        CHECK(p->encode(&m, &b, 1) == 1 && b == f->control);
        return;
    }
    static uint8_t wire[PAX_PAYLOAD_MAX + 3], again[PAX_PAYLOAD_MAX + 3],
        third[PAX_PAYLOAD_MAX + 3], red[PAX_PAYLOAD_MAX + 3];
    CHECK(f->payload_len <= PAX_PAYLOAD_MAX);
    CHECK(f->length == f->payload_len + 3);
    wire[0] = PB_STX;
    memcpy(wire + 1, f->payload, f->payload_len);
    wire[f->payload_len + 1] = PB_ETX;
    uint8_t good = pb_lrc(wire + 1, f->payload_len + 1);
    wire[f->payload_len + 2] = f->checksum_ok ? good : (uint8_t)(good ^ 0x5A);
    size_t len = f->payload_len + 3;

    if (r == PB_OK && (m.kind == PB_KIND_REQUEST || m.kind == PB_KIND_RESULT)) {
        int n = p->encode(&m, again, sizeof again);
        if (n == PB_ERR_UNSUPPORTED) {
            CHECK(m.kind == PB_KIND_RESULT && m.result == PB_RESULT_UNKNOWN);
        } else {
            CHECK(n >= 3);
            struct pos_msg m2;
            CHECK(decode_wire(again, (size_t)n, m.dir, &m2) == PB_OK);
            m2.flags |= m.flags & PB_F_CHECKSUM_BAD;
            CHECK(same_fields(&m, &m2));
            int n3 = p->encode(&m2, third, sizeof third);
            CHECK(n3 == n && memcmp(third, again, (size_t)n) == 0);
        }
    }

    memcpy(red, wire, len);
    size_t changed = p->redact(red, len);
    CHECK(changed <= len);
    CHECK(red[0] == PB_STX && red[len - 2] == PB_ETX);
    bool was_ok = wire[len - 1] == good;
    CHECK((red[len - 1] == pb_lrc(red + 1, len - 2)) == was_ok);
    CHECK(p->redact(red, len) == 0);
    struct pos_msg mr;
    int rr = decode_wire(red, len, PB_DIR_UNKNOWN, &mr);
    CHECK(rr == r && mr.kind == m.kind);
    CHECK(digits(mr.pan) <= digits(m.pan));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pb_pax_joiner_reset(joiner); /* each input starts with no message under way */
    fuzz_codec_input(data, size);
    return 0;
}
