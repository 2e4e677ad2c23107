/* Tests for protocols/concert.c: framing, decoding, encoding, redaction and probing of
 * Ingenico Concert (protocol E), one edge per test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concert.h"
#include "concert_vectors.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

static const struct pb_protocol *P = &pb_proto_concert;

/* Feeds buf to a fresh deframer in chunks of `chunk` bytes (0: all at once), flushes. */
static void run(const uint8_t *buf, size_t len, size_t chunk, struct recorder *r)
{
    struct pb_deframer *d = NULL;
    assert_int_equal(pb_deframer_new(P, &d), PB_OK);
    memset(r, 0, sizeof *r);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk)
        pb_deframer_feed(d, buf + i, len - i < chunk ? len - i : chunk, rec_cb, r);
    pb_deframer_flush(d, rec_cb, r);
    pb_deframer_free(d);
}

/* Deframes a single complete frame and decodes it. */
static int decode_one(const uint8_t *wire, size_t len, enum pb_dir dir, struct pos_msg *m)
{
    struct recorder r;
    run(wire, len, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[0].length, len);
    static struct pb_frame f;
    memset(&f, 0, sizeof f);
    f.type = PB_FRAME_DATA;
    f.offset = r.ev[0].offset;
    f.length = r.ev[0].length;
    f.checksum_ok = r.ev[0].checksum_ok;
    f.payload_len = r.ev[0].payload_len;
    memcpy(f.payload, r.ev[0].payload, f.payload_len);
    return P->decode(&f, dir, m);
}

/* A full answer (80 bytes) with the given status, amount and 55-byte report. */
static size_t full_answer(char status, const char *amount8, const char *report, uint8_t *wire)
{
    char p[81];
    char rep[56];
    snprintf(rep, sizeof rep, "%-55s", report);
    int n = snprintf(p, sizeof p, "01%c%s1%s978%-10s", status, amount8, rep, "PRIV1");
    assert_int_equal(n, 80);
    return concert_wrap(p, 80, wire);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_ptr_equal(pb_protocol_find("concert"), P);
    assert_string_equal(P->name, "concert");
    assert_string_equal(P->default_line, "9600,7E1");
    assert_int_equal(P->link_type, 148);
    assert_true(P->max_frame >= 1024);
    assert_false(P->rules.has_accept);
    assert_true(P->rules.result_ends_txn);
    assert_false(P->rules.has_partial_marker);
    assert_int_equal(P->rules.accept_timeout_ms, 3000);
    assert_int_equal(P->rules.response_timeout_ms, 120000);
    assert_int_equal(P->rules.completion_timeout_ms, 0);
    assert_int_equal(P->rules.max_repeats, 2);
    assert_non_null(strstr(pb_protocol_names(), "concert"));
}

static void test_vector_request(void **state)
{
    (void)state;
    struct pos_msg m;
    assert_int_equal(decode_one(VEC_REQUEST, sizeof VEC_REQUEST, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_ptr_equal(m.proto, P);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.dir, PB_DIR_ECR); /* inferred from the length */
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_true(m.flags & PB_F_AMOUNT);
    assert_int_equal(m.amount, 1250);
    assert_true(m.flags & PB_F_CURRENCY);
    assert_int_equal(m.currency, 978);
    assert_string_equal(m.pos_id, "01");
    assert_string_equal(m.reference, ""); /* private: ten spaces */
    assert_string_equal(m.text, "answer=1 mode=1 type=0 delay=A010 auth=B010");
    assert_true(m.checksum_ok);
    assert_false(m.flags & (PB_F_MALFORMED | PB_F_CHECKSUM_BAD));
    assert_int_equal(m.length, sizeof VEC_REQUEST);
    assert_int_equal(m.result, PB_RESULT_NONE);

    uint8_t out[128];
    assert_int_equal(P->encode(&m, out, sizeof out), sizeof VEC_REQUEST);
    assert_memory_equal(out, VEC_REQUEST, sizeof VEC_REQUEST);
}

static void test_vector_short_answer(void **state)
{
    (void)state;
    struct pos_msg m;
    assert_int_equal(decode_one(VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_string_equal(m.result_text, "0");
    assert_true(m.flags & PB_F_RESULT_CODE);
    assert_int_equal(m.result_code, 0);
    assert_int_equal(m.amount, 1250);
    assert_int_equal(m.currency, 978);
    assert_string_equal(m.pos_id, "01");
    assert_string_equal(m.reference, "0000000000");
    assert_string_equal(m.text, "format=short mode=1");
    assert_string_equal(m.pan, "");
    assert_int_equal(m.txn, PB_TXN_NONE);

    uint8_t out[128];
    assert_int_equal(P->encode(&m, out, sizeof out), sizeof VEC_SHORT_ANSWER);
    assert_memory_equal(out, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
}

static void test_full_answer_pan_masked(void **state)
{
    (void)state;
    uint8_t wire[96];
    size_t len = full_answer('0', "00001250", "CB 4970105432101234 12/25 AUTH 123456", wire);
    struct pos_msg m;
    assert_int_equal(decode_one(wire, len, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_string_equal(m.pan, "497010******1234");
    assert_string_equal(m.text, "format=full mode=1");
    assert_int_equal(m.currency, 978);
    assert_string_equal(m.reference, "PRIV1");
    /* The clear PAN is nowhere in the decoded message. */
    assert_null(memmem(&m, sizeof m, "4970105432101234", 16));
    assert_null(memmem(&m, sizeof m, "543210", 6));

    /* Redaction: six middle digits starred, LRC still right, length unchanged. */
    uint8_t red[96];
    memcpy(red, wire, len);
    size_t changed = P->redact(red, len);
    assert_int_equal(changed, 6 + 1); /* six digits and the LRC */
    assert_null(memmem(red, len, "4970105432101234", 16));
    assert_non_null(memmem(red, len, "497010******1234", 16));
    assert_int_equal(red[len - 1], pb_lrc(red + 1, len - 2));
    assert_memory_equal(red, wire, 17);                 /* before the PAN */
    assert_memory_equal(red + 33, wire + 33, len - 34); /* after it, but the LRC */
    struct pos_msg m2;
    assert_int_equal(decode_one(red, len, PB_DIR_PT, &m2), PB_OK);
    assert_true(m2.checksum_ok);
    assert_string_equal(m2.pan, "497010******1234");
    assert_int_equal(m2.amount, 1250);
    /* Idempotent. */
    assert_int_equal(P->redact(red, len), 0);
}

static void test_redact_keeps_bad_lrc_bad(void **state)
{
    (void)state;
    uint8_t wire[96];
    size_t len = full_answer('0', "00001250", "4970100000001234", wire);
    wire[len - 1] ^= 0x55; /* corrupted on the line */
    uint8_t red[96];
    memcpy(red, wire, len);
    assert_true(P->redact(red, len) > 0);
    /* Still wrong, and by exactly the same amount. */
    assert_int_equal(red[len - 1] ^ pb_lrc(red + 1, len - 2), 0x55);
    /* Frames without card data, and non-frames, are left alone. */
    uint8_t req[sizeof VEC_REQUEST];
    memcpy(req, VEC_REQUEST, sizeof req);
    assert_int_equal(P->redact(req, sizeof req), 0);
    assert_memory_equal(req, VEC_REQUEST, sizeof req);
    uint8_t junk[] = {'4', '9', '7', '0', '1', '0', '0', '0', '0', '0', '0', '0', '1', '2'};
    assert_int_equal(P->redact(junk, sizeof junk), 0);
    assert_int_equal(P->redact(NULL, 0), 0);
}

static void test_redact_unknown_length_frame(void **state)
{
    (void)state;
    /* A Concert V3 style frame of another length carrying a PAN. */
    const char *p = "CB0051250AF0164970100000001234";
    uint8_t wire[64];
    size_t len = concert_wrap(p, strlen(p), wire);
    assert_true(P->redact(wire, len) > 0);
    assert_null(memmem(wire, len, "4970100000001234", 16));
    assert_int_equal(wire[len - 1], pb_lrc(wire + 1, len - 2));
}

/* Every field goes through encode then decode and comes back. */
static void roundtrip(const struct pos_msg *in, struct pos_msg *out, size_t expect_len)
{
    uint8_t wire[128];
    int n = P->encode(in, wire, sizeof wire);
    assert_int_equal(n, (int)expect_len);
    assert_int_equal(decode_one(wire, (size_t)n, in->dir, out), PB_OK);
    assert_int_equal(out->kind, in->kind);
    assert_int_equal(out->dir, in->dir);
    assert_int_equal(out->txn, in->txn);
    assert_int_equal(out->result, in->result);
    assert_int_equal(out->amount, in->amount);
    assert_int_equal(out->currency, in->currency);
    assert_string_equal(out->pos_id, in->pos_id);
    assert_string_equal(out->reference, in->reference);
    assert_int_equal(out->flags & (PB_F_AMOUNT | PB_F_CURRENCY), PB_F_AMOUNT | PB_F_CURRENCY);
}

static void test_encode_decode_every_field(void **state)
{
    (void)state;
    struct pos_msg m, back;
    static const enum pb_txn_type txns[] = {PB_TXN_PURCHASE, PB_TXN_REFUND, PB_TXN_VOID};
    for (size_t i = 0; i < 3; i++) {
        pb_msg_init(&m);
        m.kind = PB_KIND_REQUEST;
        m.dir = PB_DIR_ECR;
        m.txn = txns[i];
        m.amount = 99999999;
        m.currency = 826;
        m.flags = PB_F_AMOUNT | PB_F_CURRENCY;
        strcpy(m.pos_id, "42");
        strcpy(m.reference, "REF 7");
        roundtrip(&m, &back, 37);
        char want[PB_TEXT_MAX];
        snprintf(want, sizeof want, "answer=1 mode=1 type=%c delay=A010 auth=B010",
                 (char)('0' + i));
        assert_string_equal(back.text, want); /* the defaults, and the type byte */
    }
}

static void test_encode_request_tokens(void **state)
{
    (void)state;
    struct pos_msg m, back;
    pb_msg_init(&m);
    m.kind = PB_KIND_REQUEST;
    m.dir = PB_DIR_ECR;
    m.txn = PB_TXN_OTHER;
    m.amount = 0;
    m.currency = 392;
    m.flags = PB_F_AMOUNT | PB_F_CURRENCY;
    strcpy(m.pos_id, "9");
    strcpy(m.text, "answer=0 mode=C type=4 delay=A011 auth=B011");
    roundtrip(&m, &back, 37);
    assert_string_equal(back.text, m.text);
    /* txn OTHER without a type token cannot be expressed. */
    strcpy(m.text, "answer=0");
    uint8_t wire[64];
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_UNSUPPORTED);
    /* Nor a type Concert E has no byte for. */
    m.txn = PB_TXN_PREAUTH;
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_UNSUPPORTED);
}

static void test_encode_answers(void **state)
{
    (void)state;
    static const struct {
        enum pb_result result;
        const char *text;
    } cases[] = {
        {PB_RESULT_APPROVED, "0"},
        {PB_RESULT_DECLINED, "7"},
        {PB_RESULT_NOT_PROCESSED, "9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pos_msg m, back;
        pb_msg_init(&m);
        m.kind = PB_KIND_RESULT;
        m.dir = PB_DIR_PT;
        m.result = cases[i].result;
        m.amount = 1;
        m.currency = 978;
        m.flags = PB_F_AMOUNT | PB_F_CURRENCY;
        strcpy(m.pos_id, "01");
        strcpy(m.reference, "0123456789");
        roundtrip(&m, &back, 28);
        assert_string_equal(back.result_text, cases[i].text);
        assert_string_equal(back.text, "format=short mode=1");
        /* With a PAN: a full answer; the decoder gives it back masked only. */
        strcpy(m.pan, "5132830000001111");
        roundtrip(&m, &back, 83);
        assert_string_equal(back.pan, "513283******1111");
        assert_string_equal(back.text, "format=full mode=1");
    }
    /* A status byte we have no name for travels through unchanged. */
    struct pos_msg m, back;
    pb_msg_init(&m);
    m.kind = PB_KIND_RESULT;
    m.dir = PB_DIR_PT;
    m.result = PB_RESULT_UNKNOWN;
    strcpy(m.result_text, "5");
    m.amount = 100;
    m.currency = 978;
    m.flags = PB_F_AMOUNT | PB_F_CURRENCY;
    strcpy(m.text, "format=full mode=U");
    roundtrip(&m, &back, 83);
    assert_string_equal(back.result_text, "5");
    assert_int_equal(back.result_code, 5);
    assert_string_equal(back.text, "format=full mode=U");
    assert_string_equal(back.pan, "");
}

static void test_encode_errors(void **state)
{
    (void)state;
    struct pos_msg m;
    uint8_t wire[128];
    pb_msg_init(&m);
    m.kind = PB_KIND_REQUEST;
    m.txn = PB_TXN_PURCHASE;
    m.currency = 978;
    m.flags = PB_F_CURRENCY;
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_INVAL); /* no amount */
    m.flags |= PB_F_AMOUNT;
    m.amount = 100000000; /* nine digits */
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_RANGE);
    m.amount = -1;
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_RANGE);
    m.amount = 5;
    m.currency = 1000;
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_RANGE);
    m.currency = 978;
    strcpy(m.pos_id, "123");
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_RANGE);
    strcpy(m.pos_id, "0\x01");
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_INVAL);
    strcpy(m.pos_id, "01");
    assert_int_equal(P->encode(&m, wire, 36), PB_ERR_RANGE); /* needs 37 */
    assert_int_equal(P->encode(&m, wire, 37), 37);
    m.kind = PB_KIND_INTERMEDIATE;
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_UNSUPPORTED);
    m.kind = PB_KIND_ACK;
    assert_int_equal(P->encode(&m, wire, 0), PB_ERR_RANGE);
    m.kind = PB_KIND_RESULT;
    m.result = PB_RESULT_ABORTED; /* Concert has no status byte for it */
    assert_int_equal(P->encode(&m, wire, sizeof wire), PB_ERR_UNSUPPORTED);
}

static void test_empty(void **state)
{
    (void)state;
    struct recorder r;
    run(NULL, 0, 0, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.garbage, 0);
    /* STX ETX LRC: a frame with no payload is a frame, of unknown kind. */
    const uint8_t empty_frame[] = {PB_STX, PB_ETX, PB_ETX};
    struct pos_msg m;
    assert_int_equal(decode_one(empty_frame, sizeof empty_frame, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_true(m.checksum_ok);
    assert_false(m.flags & PB_F_MALFORMED);
    assert_string_equal(m.text, "unknown 0-byte frame");
    assert_int_equal(P->probe(NULL, 0), 0);
    assert_int_equal(P->probe((const uint8_t *)"", 0), 0);
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof VEC_REQUEST; k++) {
        struct recorder r;
        run(VEC_REQUEST, k, 0, &r);
        for (size_t i = 0; i < r.n; i++)
            assert_int_equal(r.ev[i].type, PB_FRAME_GARBAGE);
        assert_int_equal(r.garbage, k); /* flushed as garbage, nothing invented */
    }
    for (size_t k = 0; k < sizeof VEC_SHORT_ANSWER; k++) {
        struct recorder r;
        run(VEC_SHORT_ANSWER, k, 1, &r);
        for (size_t i = 0; i < r.n; i++)
            assert_int_equal(r.ev[i].type, PB_FRAME_GARBAGE);
        assert_int_equal(r.garbage, k);
    }
}

static void test_bad_lrc(void **state)
{
    (void)state;
    uint8_t wire[sizeof VEC_SHORT_ANSWER];
    memcpy(wire, VEC_SHORT_ANSWER, sizeof wire);
    wire[sizeof wire - 1] ^= 0x01;
    struct pos_msg m;
    assert_int_equal(decode_one(wire, sizeof wire, PB_DIR_PT, &m), PB_OK);
    assert_false(m.checksum_ok);
    assert_true(m.flags & PB_F_CHECKSUM_BAD);
    assert_int_equal(m.kind, PB_KIND_RESULT); /* still decoded: data, not an error */
    assert_int_equal(m.amount, 1250);
    /* A flipped data byte is caught the same way. */
    memcpy(wire, VEC_SHORT_ANSWER, sizeof wire);
    wire[5] = '9';
    assert_int_equal(decode_one(wire, sizeof wire, PB_DIR_PT, &m), PB_OK);
    assert_false(m.checksum_ok);
}

static void test_garbage_before_and_between(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = 0;
    memcpy(buf + n, "BANNER v1\r\n", 11);
    n += 11;
    memcpy(buf + n, VEC_REQUEST, sizeof VEC_REQUEST);
    n += sizeof VEC_REQUEST;
    buf[n++] = 0xFF;
    buf[n++] = PB_ETX; /* an ETX outside a frame is garbage too */
    buf[n++] = 0x00;
    memcpy(buf + n, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
    n += sizeof VEC_SHORT_ANSWER;
    struct recorder r;
    run(buf, n, 0, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.ev[0].type, PB_FRAME_GARBAGE);
    assert_int_equal(r.ev[0].offset, 0);
    assert_int_equal(r.ev[0].length, 11);
    assert_int_equal(r.ev[1].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[1].offset, 11);
    assert_true(r.ev[1].checksum_ok);
    assert_int_equal(r.ev[2].type, PB_FRAME_GARBAGE);
    assert_int_equal(r.ev[2].offset, 11 + sizeof VEC_REQUEST);
    assert_int_equal(r.ev[2].length, 3);
    assert_int_equal(r.ev[3].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[3].offset, 14 + sizeof VEC_REQUEST);
    assert_int_equal(r.ev[3].payload_len, 25);
    assert_true(r.ev[3].checksum_ok);
}

static void test_false_stx_inside_frame(void **state)
{
    (void)state;
    /* A frame cut short by a new STX (the register gave up and repeated). */
    uint8_t buf[128];
    memcpy(buf, VEC_REQUEST, 10);
    memcpy(buf + 10, VEC_REQUEST, sizeof VEC_REQUEST);
    size_t n = 10 + sizeof VEC_REQUEST;
    for (size_t chunk = 0; chunk <= 3; chunk++) {
        struct recorder r, g;
        run(buf, n, chunk, &r);
        rec_without_garbage(&r, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.ev[0].offset, 10);
        assert_true(g.ev[0].checksum_ok);
        assert_int_equal(g.garbage, 10);
    }
}

static void test_byte_at_a_time_equals_whole(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = 0;
    static const uint8_t pre[] = {'x', PB_ENQ, PB_ACK, PB_STX, '1', PB_STX};
    memcpy(buf + n, pre, sizeof pre);
    n += sizeof pre;
    memcpy(buf + n, VEC_REQUEST, sizeof VEC_REQUEST);
    n += sizeof VEC_REQUEST;
    buf[n++] = PB_ACK;
    buf[n++] = PB_EOT;
    buf[n++] = 'z';
    memcpy(buf + n, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
    buf[n + sizeof VEC_SHORT_ANSWER - 1] ^= 0x40; /* bad LRC */
    n += sizeof VEC_SHORT_ANSWER;
    memcpy(buf + n, VEC_REQUEST, 20); /* cut at the end */
    n += 20;
    struct recorder whole, g_whole;
    run(buf, n, 0, &whole);
    rec_without_garbage(&whole, &g_whole);
    assert_int_equal(g_whole.n, 6); /* ENQ ACK frame ACK EOT frame(bad) */
    assert_int_equal(g_whole.garbage, 1 + 3 + 1 + 20);
    for (size_t chunk = 1; chunk <= 7; chunk++) {
        struct recorder r, g;
        run(buf, n, chunk, &r);
        rec_without_garbage(&r, &g);
        assert_int_equal(g.n, g_whole.n);
        assert_int_equal(g.garbage, g_whole.garbage);
        for (size_t i = 0; i < g.n; i++) {
            assert_int_equal(g.ev[i].type, g_whole.ev[i].type);
            assert_int_equal(g.ev[i].offset, g_whole.ev[i].offset);
            assert_int_equal(g.ev[i].length, g_whole.ev[i].length);
            assert_int_equal(g.ev[i].checksum_ok, g_whole.ev[i].checksum_ok);
            assert_int_equal(g.ev[i].control, g_whole.ev[i].control);
            assert_int_equal(g.ev[i].payload_len, g_whole.ev[i].payload_len);
            assert_memory_equal(g.ev[i].payload, g_whole.ev[i].payload, g.ev[i].payload_len);
        }
    }
}

/* Builds a request whose LRC is `want` by choosing the last private byte. */
static size_t request_with_lrc(uint8_t want, uint8_t *wire)
{
    char p[35];
    memcpy(p, "0100001250110978          A010B010", 35);
    for (int c1 = 0x20; c1 <= 0x7F; c1++) {
        for (int c = 0x20; c <= 0x7F; c++) {
            p[24] = (char)c1;
            p[25] = (char)c;
            size_t len = concert_wrap(p, 34, wire);
            if (wire[len - 1] == want)
                return len;
        }
    }
    fail_msg("no private byte gives LRC 0x%02x", want);
    return 0;
}

static void test_lrc_equals_control_byte(void **state)
{
    (void)state;
    static const uint8_t lrcs[] = {PB_ENQ, PB_ACK, PB_NAK, PB_EOT, PB_STX, PB_ETX};
    for (size_t i = 0; i < sizeof lrcs; i++) {
        uint8_t buf[128];
        size_t len = request_with_lrc(lrcs[i], buf);
        buf[len] = PB_EOT; /* the register's EOT right behind it */
        for (size_t chunk = 0; chunk <= 1; chunk++) {
            struct recorder r;
            run(buf, len + 1, chunk, &r);
            assert_int_equal(r.n, 2);
            assert_int_equal(r.ev[0].type, PB_FRAME_DATA);
            assert_int_equal(r.ev[0].length, len);
            assert_true(r.ev[0].checksum_ok);
            assert_int_equal(r.ev[1].type, PB_FRAME_CONTROL);
            assert_int_equal(r.ev[1].control, PB_EOT);
            assert_int_equal(r.ev[1].offset, len);
        }
    }
}

static void test_lengths_that_lie(void **state)
{
    (void)state;
    struct pos_msg m;
    uint8_t wire[2048];
    /* One byte short of a request, one byte long, and a short answer minus one. */
    static const size_t lens[] = {33, 35, 24, 26, 79, 81, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char p[128];
        memset(p, '0', sizeof p);
        size_t len = concert_wrap(p, lens[i], wire);
        assert_int_equal(decode_one(wire, len, PB_DIR_UNKNOWN, &m), PB_OK);
        assert_int_equal(m.kind, PB_KIND_OTHER);
        assert_int_equal(m.dir, PB_DIR_UNKNOWN);
        assert_false(m.flags & PB_F_MALFORMED);
        char want[PB_TEXT_MAX];
        snprintf(want, sizeof want, "unknown %zu-byte frame", lens[i]);
        assert_string_equal(m.text, want);
        uint8_t out[128];
        assert_int_equal(P->encode(&m, out, sizeof out), PB_ERR_UNSUPPORTED);
    }
    /* A request-sized frame from the terminal is not a request. */
    assert_int_equal(decode_one(VEC_REQUEST, sizeof VEC_REQUEST, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_string_equal(m.text, "unexpected 34-byte request from pt");
    assert_int_equal(decode_one(VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER, PB_DIR_ECR, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    /* Longer than any Concert frame: garbage, and the frame behind it still found. */
    char big[1100];
    memset(big, 'A', sizeof big);
    size_t blen = concert_wrap(big, sizeof big, wire);
    memcpy(wire + blen, VEC_REQUEST, sizeof VEC_REQUEST);
    for (size_t chunk = 0; chunk <= 64; chunk += 64) {
        struct recorder r, g;
        run(wire, blen + sizeof VEC_REQUEST, chunk, &r);
        rec_without_garbage(&r, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.ev[0].offset, blen);
        assert_int_equal(g.garbage, blen);
    }
    /* The longest accepted payload still is a frame. */
    size_t mlen = concert_wrap(big, CONCERT_PAYLOAD_MAX, wire);
    struct recorder r;
    run(wire, mlen, 0, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].type, PB_FRAME_DATA);
    assert_int_equal(r.ev[0].payload_len, CONCERT_PAYLOAD_MAX);
}

static void test_non_digit_amount(void **state)
{
    (void)state;
    uint8_t wire[64];
    size_t len = concert_wrap("01000012X0110978          A010B010", 34, wire);
    struct pos_msg m;
    assert_int_equal(decode_one(wire, len, PB_DIR_ECR, &m), PB_ERR_SYNTAX);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_true(m.flags & PB_F_MALFORMED);
    assert_false(m.flags & PB_F_AMOUNT);
    assert_true(m.checksum_ok);
    assert_string_equal(m.text, "request: amount not digits");
    uint8_t out[64];
    assert_int_equal(P->encode(&m, out, sizeof out), PB_ERR_UNSUPPORTED);
    /* Currency, and the same in answers. */
    len = concert_wrap("0100001250110EUR          A010B010", 34, wire);
    assert_int_equal(decode_one(wire, len, PB_DIR_ECR, &m), PB_ERR_SYNTAX);
    assert_string_equal(m.text, "request: currency not digits");
    assert_true(m.flags & PB_F_AMOUNT);
    len = concert_wrap("010 00012501978PRIVATE   ", 25, wire);
    assert_int_equal(decode_one(wire, len, PB_DIR_PT, &m), PB_ERR_SYNTAX);
    assert_true(m.flags & PB_F_MALFORMED);
    assert_string_equal(m.text, "short answer: amount not digits");
    assert_int_equal(m.result, PB_RESULT_APPROVED); /* what did parse is kept */
}

static void test_status_bytes(void **state)
{
    (void)state;
    static const struct {
        char status;
        enum pb_result result;
    } cases[] = {
        {'0', PB_RESULT_APPROVED}, {'7', PB_RESULT_DECLINED}, {'9', PB_RESULT_NOT_PROCESSED},
        {'1', PB_RESULT_UNKNOWN},  {'X', PB_RESULT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[26];
        snprintf(p, sizeof p, "01%c000012501978          ", cases[i].status);
        uint8_t wire[64];
        size_t len = concert_wrap(p, 25, wire);
        struct pos_msg m;
        assert_int_equal(decode_one(wire, len, PB_DIR_UNKNOWN, &m), PB_OK);
        assert_int_equal(m.result, cases[i].result);
        assert_int_equal(m.result_text[0], cases[i].status);
        assert_int_equal(!!(m.flags & PB_F_RESULT_CODE), cases[i].status != 'X');
        /* Re-encodes to the same bytes. */
        uint8_t out[64];
        assert_int_equal(P->encode(&m, out, sizeof out), (int)len);
        assert_memory_equal(out, wire, len);
    }
}

static void test_request_types(void **state)
{
    (void)state;
    static const struct {
        char type;
        enum pb_txn_type txn;
    } cases[] = {
        {'0', PB_TXN_PURCHASE},
        {'1', PB_TXN_REFUND},
        {'2', PB_TXN_VOID}, /* cancellation per the specification (concert.c) */
        {'3', PB_TXN_OTHER}, /* duplicate: a receipt reprint */
        {'4', PB_TXN_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[35];
        snprintf(p, sizeof p, "010000125011%c978          A010B010", cases[i].type);
        uint8_t wire[64], out[64];
        size_t len = concert_wrap(p, 34, wire);
        struct pos_msg m;
        assert_int_equal(decode_one(wire, len, PB_DIR_ECR, &m), PB_OK);
        assert_int_equal(m.kind, PB_KIND_REQUEST);
        assert_int_equal(m.txn, cases[i].txn);
        assert_int_equal(P->encode(&m, out, sizeof out), (int)len);
        assert_memory_equal(out, wire, len);
    }
}

static void test_handshake_controls(void **state)
{
    (void)state;
    /* ECR ENQ, PT ACK, request, PT ACK, ECR EOT; PT ENQ, ECR ACK, answer, ECR ACK, PT EOT. */
    uint8_t buf[256];
    size_t n = 0;
    buf[n++] = PB_ENQ;
    buf[n++] = PB_ACK;
    memcpy(buf + n, VEC_REQUEST, sizeof VEC_REQUEST);
    n += sizeof VEC_REQUEST;
    buf[n++] = PB_ACK;
    buf[n++] = PB_EOT;
    buf[n++] = PB_ENQ;
    buf[n++] = PB_ACK;
    memcpy(buf + n, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
    n += sizeof VEC_SHORT_ANSWER;
    buf[n++] = PB_ACK;
    buf[n++] = PB_EOT;
    buf[n++] = PB_NAK;
    static const enum pb_kind want[] = {
        PB_KIND_ENQ, PB_KIND_ACK,    PB_KIND_REQUEST, PB_KIND_ACK, PB_KIND_EOT, PB_KIND_ENQ,
        PB_KIND_ACK, PB_KIND_RESULT, PB_KIND_ACK,     PB_KIND_EOT, PB_KIND_NAK,
    };
    struct recorder r;
    run(buf, n, 1, &r);
    assert_int_equal(r.n, sizeof want / sizeof want[0]);
    static struct pb_frame f;
    for (size_t i = 0; i < r.n; i++) {
        memset(&f, 0, sizeof f);
        f.type = r.ev[i].type;
        f.control = r.ev[i].control;
        f.checksum_ok = r.ev[i].checksum_ok;
        f.offset = r.ev[i].offset;
        f.length = r.ev[i].length;
        f.payload_len = r.ev[i].payload_len;
        memcpy(f.payload, r.ev[i].payload, f.payload_len);
        struct pos_msg m;
        assert_int_equal(P->decode(&f, PB_DIR_UNKNOWN, &m), PB_OK);
        assert_int_equal(m.kind, want[i]);
        assert_int_equal(m.offset, r.ev[i].offset);
        if (f.type == PB_FRAME_CONTROL) {
            assert_int_equal(m.control, f.control);
            assert_int_equal(m.length, 1);
            uint8_t out[4];
            assert_int_equal(P->encode(&m, out, sizeof out), 1);
            assert_int_equal(out[0], f.control);
        }
    }
}

static void test_probe(void **state)
{
    (void)state;
    assert_int_equal(P->probe(VEC_REQUEST, sizeof VEC_REQUEST), 95);
    uint8_t buf[64];
    buf[0] = 'Q';
    memcpy(buf + 1, VEC_SHORT_ANSWER, sizeof VEC_SHORT_ANSWER);
    assert_int_equal(P->probe(buf, 1 + sizeof VEC_SHORT_ANSWER), 95);
    static const uint8_t zvt[] = {0x10, 0x02, 0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00,
                                  0x00, 0x10, 0x10, 0x00, 0x10, 0x03, 0x62, 0x91};
    assert_true(P->probe(zvt, sizeof zvt) < 30);
    static const uint8_t enq[] = {PB_ENQ};
    assert_int_equal(P->probe(enq, 1), 30);
    assert_int_equal(P->probe((const uint8_t *)"hello world", 11), 0);
    uint8_t bad[sizeof VEC_REQUEST];
    memcpy(bad, VEC_REQUEST, sizeof bad);
    bad[sizeof bad - 1] ^= 1;
    assert_int_equal(P->probe(bad, sizeof bad), 50);
}

static void test_decode_bad_arguments(void **state)
{
    (void)state;
    struct pos_msg m;
    assert_int_equal(P->decode(NULL, PB_DIR_ECR, &m), PB_ERR_INVAL);
    assert_true(m.flags & PB_F_MALFORMED);
    static struct pb_frame f;
    memset(&f, 0, sizeof f);
    f.type = PB_FRAME_GARBAGE;
    assert_int_equal(P->decode(&f, PB_DIR_ECR, &m), PB_ERR_INVAL);
    f.type = PB_FRAME_CONTROL;
    f.control = 0x41;
    assert_int_equal(P->decode(&f, PB_DIR_ECR, &m), PB_ERR_SYNTAX);
    assert_int_equal(m.kind, PB_KIND_OTHER);
}

/* A PAN followed at once by more digits, as pyTeliumManager's README shows a report
 * ("4711690463168807" then zeros): the Luhn digit tells where the PAN ends. */
static void test_full_answer_pan_then_digits(void **state)
{
    (void)state;
    char report[56];
    snprintf(report, sizeof report, "4711690463168807%039d", 0);
    uint8_t wire[96], red[96];
    size_t len = full_answer('0', "00001250", report, wire);
    struct pos_msg m;
    assert_int_equal(decode_one(wire, len, PB_DIR_PT, &m), PB_OK);
    assert_string_equal(m.pan, "471169******8807");
    memcpy(red, wire, len);
    assert_true(P->redact(red, len) > 0);
    assert_null(memmem(red, len, "0463168", 7));
    assert_non_null(memmem(red, len, "471169******8807*****", 21));
    assert_int_equal(red[len - 1], pb_lrc(red + 1, len - 2));
    assert_int_equal(P->redact(red, len), 0); /* idempotent */
    assert_int_equal(decode_one(red, len, PB_DIR_PT, &m), PB_OK);
    assert_string_equal(m.pan, "471169******8807"); /* the same PAN read back */
    /* digits that are no PAN at all: none kept but the first 6 */
    snprintf(report, sizeof report, "%055d", 0);
    len = full_answer('0', "00001250", report, wire);
    assert_int_equal(decode_one(wire, len, PB_DIR_PT, &m), PB_OK);
    assert_string_equal(m.pan, "");
    assert_true(P->redact(wire, len) > 0);
    assert_int_equal(P->redact(wire, len), 0);
}

/* Track data in the report: nothing after the separator stays in clear. */
static void test_full_answer_track_data(void **state)
{
    (void)state;
    uint8_t wire[96];
    size_t len = full_answer('0', "00001250", ";4970105432101234=25121011234?", wire);
    assert_true(P->redact(wire, len) > 0);
    assert_non_null(memmem(wire, len, ";497010******1234=***********?", 30));
    assert_int_equal(wire[len - 1], pb_lrc(wire + 1, len - 2));
    assert_int_equal(P->redact(wire, len), 0);
    len = full_answer('0', "00001250", "%B4970105432101234^DUPONT/JEAN^2512101?", wire);
    assert_true(P->redact(wire, len) > 0);
    assert_non_null(memmem(wire, len, "B497010******1234^DUPONT/JEAN^*******?", 38));
    struct pos_msg m;
    assert_int_equal(decode_one(wire, len, PB_DIR_PT, &m), PB_OK);
    assert_null(memmem(&m, sizeof m, "2512", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_vector_request),
        cmocka_unit_test(test_vector_short_answer),
        cmocka_unit_test(test_full_answer_pan_masked),
        cmocka_unit_test(test_full_answer_pan_then_digits),
        cmocka_unit_test(test_full_answer_track_data),
        cmocka_unit_test(test_redact_keeps_bad_lrc_bad),
        cmocka_unit_test(test_redact_unknown_length_frame),
        cmocka_unit_test(test_encode_decode_every_field),
        cmocka_unit_test(test_encode_request_tokens),
        cmocka_unit_test(test_encode_answers),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_lrc),
        cmocka_unit_test(test_garbage_before_and_between),
        cmocka_unit_test(test_false_stx_inside_frame),
        cmocka_unit_test(test_byte_at_a_time_equals_whole),
        cmocka_unit_test(test_lrc_equals_control_byte),
        cmocka_unit_test(test_lengths_that_lie),
        cmocka_unit_test(test_non_digit_amount),
        cmocka_unit_test(test_status_bytes),
        cmocka_unit_test(test_request_types),
        cmocka_unit_test(test_handshake_controls),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_decode_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
