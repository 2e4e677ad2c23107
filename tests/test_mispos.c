/* Tests for protocols/mispos.c: framing, TLV decoding, encoding, redaction, probing of
 * MIS-POS (allinpay profile and its variants), and the tracker's classes on MIS-POS
 * messages, one edge per test. The vector is docs/PROTOCOLS.md section 4 ([checked] there).
 * Frames are built here from TLV lists, independently of encode(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mispos.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"
#include "tracker.h"

static const struct pb_protocol *P = &pb_proto_mispos;
#define CODEC_TEST_PROTO P
#include "codec_test.h"
static const struct pb_mispos_profile *A = &pb_mispos_allinpay;

/* Appends one TLV with a string value. */
static size_t tlv(uint8_t *d, size_t n, uint16_t tag, const void *v, size_t len)
{
    d[n] = (uint8_t)(tag >> 8);
    d[n + 1] = (uint8_t)tag;
    d[n + 2] = (uint8_t)(len >> 8);
    d[n + 3] = (uint8_t)len;
    memcpy(d + n + 4, v, len);
    return n + 4 + len;
}

static size_t tlvs(uint8_t *d, size_t n, uint16_t tag, const char *s)
{
    return tlv(d, n, tag, s, strlen(s));
}

/* allinpay framing: BCD LEN, LRC from LEN through ETX. */
static size_t wrap(const uint8_t *data, size_t n, uint8_t *out)
{
    out[0] = 0x02;
    out[1] = (uint8_t)((n / 1000 % 10) << 4 | (n / 100 % 10));
    out[2] = (uint8_t)((n / 10 % 10) << 4 | (n % 10));
    if (n)
        memcpy(out + 3, data, n);
    out[3 + n] = 0x03;
    uint8_t x = 0;
    for (size_t i = 1; i < n + 4; i++)
        x ^= out[i];
    out[4 + n] = x;
    return n + 5;
}

static int decode_data(const uint8_t *data, size_t n, enum pb_dir dir, struct pos_msg *m)
{
    uint8_t w[1024];
    size_t k = wrap(data, n, w);
    return decode_wire(w, k, dir, m);
}

static void exact_data(const uint8_t *data, size_t n, struct pos_msg *m)
{
    uint8_t w[1024], e[1024];
    size_t k = wrap(data, n, w);
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, m), PB_OK);
    assert_int_equal(P->encode(m, e, sizeof e), (int)k);
    assert_memory_equal(e, w, k);
}

static const char *const V_SALE = "02 00 30 9F 00 00 05 41 50 50 30 31 9F 01 00 01 02 9F 02 00 0C "
                                  "30 30 30 30 30 30 30 30 30 31 30 30 03 E4";

/* An approved answer: result, type, amount, terminal, card, trace, auth. */
static size_t answer(uint8_t *d, const char *code, const char *amount, const char *card)
{
    size_t n = 0;
    n = tlvs(d, n, 0x9F14, code);
    n = tlv(d, n, 0x9F01, "\x02", 1);
    if (amount)
        n = tlvs(d, n, 0x9F02, amount);
    n = tlvs(d, n, 0x9F05, "T0001");
    if (card)
        n = tlvs(d, n, 0x9F0B, card);
    n = tlvs(d, n, 0x9F0E, "000123");
    n = tlvs(d, n, 0x9F0F, "AB12CD");
    return n;
}

static void test_registry_and_rules(void **state)
{
    (void)state;
    assert_ptr_equal(pb_protocol_find("mispos"), P);
    assert_ptr_equal(pb_mispos_profile_find("allinpay"), A);
    assert_null(pb_mispos_profile_find("nope"));
    assert_string_equal(P->default_line, "9600,8N1");
    assert_int_equal(P->link_type, 151);
    assert_false(P->rules.has_accept);
    assert_true(P->rules.result_ends_txn);
    assert_true(P->rules.response_timeout_ms >= 60000);
}

static void test_vector_sale(void **state)
{
    (void)state;
    uint8_t w[64], e[64];
    size_t n = hex(V_SALE, w, sizeof w);
    assert_int_equal(pb_lrc(w + 1, n - 2), w[n - 1]); /* LEN through ETX [checked] */
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.dir, PB_DIR_ECR);
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_int_equal(m.amount, 100);
    assert_true(m.flags & PB_F_CURRENCY);
    assert_int_equal(m.currency, 156);
    assert_string_equal(m.text, "app=APP01");
    assert_int_equal(P->encode(&m, e, sizeof e), (int)n);
    assert_memory_equal(e, w, n);
    assert_int_equal(P->encode(&m, e, n - 1), PB_ERR_RANGE);
    /* the frame helper gives the same bytes */
    assert_int_equal(pb_mispos_frame(A, w + 3, 30, e, sizeof e), (int)n);
    assert_memory_equal(e, w, n);
}

static void test_answers(void **state)
{
    (void)state;
    uint8_t d[256];
    struct pos_msg m;
    size_t n = answer(d, "00", "000000000100", NULL);
    exact_data(d, n, &m);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_int_equal(m.result_code, 0);
    assert_int_equal(m.amount, 100);
    assert_int_equal(m.currency, 156);
    assert_string_equal(m.terminal_id, "T0001");
    assert_string_equal(m.trace, "000123");
    assert_string_equal(m.receipt, "000123"); /* what a later void names */
    assert_string_equal(m.auth_code, "AB12CD");
    n = answer(d, "51", "000000000100", NULL);
    exact_data(d, n, &m);
    assert_int_equal(m.result, PB_RESULT_DECLINED);
    assert_int_equal(m.result_code, 51);
    assert_string_equal(m.result_text, "51");
    n = answer(d, "", NULL, NULL);
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_UNKNOWN);
    assert_int_equal(P->encode(&m, d, sizeof d), PB_ERR_UNSUPPORTED);
}

static void test_request_types(void **state)
{
    (void)state;
    const struct {
        uint8_t wire;
        enum pb_txn_type txn;
    } t[] = {{2, PB_TXN_PURCHASE}, {3, PB_TXN_VOID},    {4, PB_TXN_REFUND},
             {6, PB_TXN_PREAUTH},  {15, PB_TXN_STATUS}, {9, PB_TXN_OTHER}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t d[128];
        size_t n = tlv(d, 0, 0x9F01, &t[i].wire, 1);
        if (t[i].wire != 3)
            n = tlvs(d, n, 0x9F02, "000000001000");
        n = tlvs(d, n, 0x9F1F, "01");
        if (t[i].wire == 3)
            n = tlvs(d, n, 0x9F20, "000123");
        struct pos_msg m;
        exact_data(d, n, &m);
        assert_int_equal(m.txn, t[i].txn);
        assert_string_equal(m.pos_id, "01");
        if (t[i].wire == 3)
            assert_string_equal(m.receipt, "000123");
        if (t[i].wire == 9)
            assert_string_equal(m.text, "type=9");
    }
    /* neither 9F01 nor 9F14: OTHER, direction unknown */
    uint8_t d[32];
    size_t n = tlvs(d, 0, 0x9F05, "T0001");
    struct pos_msg m;
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(m.dir, PB_DIR_UNKNOWN);
    /* a request from the terminal's side: OTHER */
    n = tlv(d, 0, 0x9F01, "\x02", 1);
    assert_int_equal(decode_data(d, n, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
}

static void test_empty_input(void **state)
{
    (void)state;
    struct pb_frame *f = new_frame();
    size_t resume = 0;
    assert_int_equal(P->scan((const uint8_t *)"", 0, &resume, f), 0);
    struct sink s;
    struct pb_deframer_stats st;
    deframe(NULL, 0, 0, &s, &st);
    assert_int_equal(s.n, 0);
    /* STX 00 00 ETX LRC: an empty frame, OTHER */
    struct pos_msg m;
    assert_int_equal(decode_data(NULL, 0, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(P->decode(NULL, PB_DIR_UNKNOWN, &m), PB_ERR_INVAL);
    free(f);
    assert_int_equal(P->probe((const uint8_t *)"", 0), 0);
    assert_int_equal(P->redact(NULL, 0), 0);
}

static void test_every_truncation(void **state)
{
    (void)state;
    uint8_t w[64];
    check_every_truncation(w, hex(V_SALE, w, sizeof w));
}

static void test_bad_lrc(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = hex(V_SALE, w, sizeof w);
    w[n - 1] ^= 0x40;
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_false(s.it[0].checksum_ok);
    assert_int_equal(st.checksum_errors, 1);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_true(m.flags & PB_F_CHECKSUM_BAD);
    assert_int_equal(m.amount, 100);
    /* an LRC byte that looks like STX/ACK/ETX is taken as the LRC */
    for (unsigned b = 0; b < 8; b++) {
        w[n - 1] = (uint8_t)b;
        deframe(w, n, 1, &s, &st);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.it[0].length, n);
    }
}

static void test_garbage_before_and_between(void **state)
{
    (void)state;
    uint8_t w[256];
    size_t n = 0;
    memcpy(w, "MISPOS v1\r\n", 11);
    n = 11;
    n += hex(V_SALE, w + n, sizeof w - n);
    w[n++] = 0x06;
    w[n++] = 0x02; /* STX with a non-BCD LEN: noise */
    w[n++] = 0xAB;
    w[n++] = 0xCD;
    uint8_t d[128];
    size_t k = answer(d, "00", "000000000100", NULL);
    n += wrap(d, k, w + n);
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.it[0].offset, 11);
    assert_int_equal(s.it[1].type, PB_FRAME_CONTROL);
    assert_int_equal(s.it[2].type, PB_FRAME_DATA);
    assert_true(s.it[2].checksum_ok);
    assert_int_equal(st.garbage_bytes, 11 + 3);
}

static void test_byte_at_a_time_equals_whole(void **state)
{
    (void)state;
    uint8_t w[512], d[128];
    size_t n = 0;
    w[n++] = 0x99;
    n += hex(V_SALE, w + n, sizeof w - n);
    w[n++] = 0x06;
    n += wrap(d, answer(d, "00", "000000000100", NULL), w + n);
    w[n++] = 0x15;
    n += wrap(d, answer(d, "00", "000000000100", NULL), w + n);
    struct sink whole, bytes, fives;
    deframe(w, n, 0, &whole, NULL);
    deframe(w, n, 1, &bytes, NULL);
    deframe(w, n, 5, &fives, NULL);
    assert_int_equal(whole.n, 5);
    assert_int_equal(bytes.n, whole.n);
    assert_int_equal(fives.n, whole.n);
    assert_memory_equal(bytes.it, whole.it, sizeof whole.it[0] * whole.n);
    assert_memory_equal(fives.it, whole.it, sizeof whole.it[0] * whole.n);
}

static void test_lengths_that_lie(void **state)
{
    (void)state;
    uint8_t w[256], good[64];
    size_t g = hex(V_SALE, good, sizeof good);
    /* LEN says 29 for 30 bytes: no ETX where LEN puts it; the next frame is found */
    memcpy(w, good, g);
    w[2] = 0x29;
    memcpy(w + g, good, g);
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, 2 * g, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.it[0].offset, g);
    assert_int_equal(st.garbage_bytes, g);
    /* LEN says 40: the frame after it still comes out once enough bytes are there */
    w[2] = 0x40;
    deframe(w, 2 * g, 1, &s, &st);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.it[0].offset, g);
    /* TLV lengths that run past the data: malformed, PB_ERR_TRUNCATED */
    uint8_t d[64];
    size_t n = tlvs(d, 0, 0x9F01, "\x02");
    d[n - 2] = 0x00;
    d[n - 1 - 1 - 0] = 0x00;
    n = tlv(d, 0, 0x9F02, "0000000001", 10);
    d[3] = 20; /* says 20, has 10 */
    struct pos_msg m;
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_ERR_TRUNCATED);
    assert_true(m.flags & PB_F_MALFORMED);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    /* a TLV header cut short */
    assert_int_equal(decode_data((const uint8_t *)"\x9F\x01\x00", 3, PB_DIR_UNKNOWN, &m),
                     PB_ERR_TRUNCATED);
    /* type of 2 bytes, amount with a letter, amount of 19 digits */
    n = tlv(d, 0, 0x9F01, "\x00\x02", 2);
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_ERR_SYNTAX);
    n = tlv(d, 0, 0x9F01, "\x02", 1);
    n = tlvs(d, n, 0x9F02, "00000000010A");
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_ERR_SYNTAX);
    assert_false(m.flags & PB_F_AMOUNT);
    n = tlv(d, 0, 0x9F01, "\x02", 1);
    n = tlvs(d, n, 0x9F02, "1234567890123456789");
    assert_int_equal(decode_data(d, n, PB_DIR_UNKNOWN, &m), PB_ERR_SYNTAX);
    /* a BCD LEN nibble over 9 is no frame */
    struct pb_frame *f = new_frame();
    size_t resume = 0;
    assert_true(P->scan((const uint8_t *)"\x02\x0A\x00\x03\x0A", 5, &resume, f) < 0);
    free(f);
}

static void test_maximum_length(void **state)
{
    (void)state;
    size_t cap = MISPOS_DATA_MAX_BCD + 64;
    uint8_t *d = calloc(1, cap), *w = calloc(1, cap + 64);
    assert_non_null(d);
    assert_non_null(w);
    /* one unknown TLV filling 9999 bytes */
    memset(d, 'x', MISPOS_DATA_MAX_BCD);
    d[0] = 0xDF;
    d[1] = 0x01;
    d[2] = (uint8_t)((MISPOS_DATA_MAX_BCD - 4) >> 8);
    d[3] = (uint8_t)(MISPOS_DATA_MAX_BCD - 4);
    size_t n = wrap(d, MISPOS_DATA_MAX_BCD, w);
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.it[0].payload_len, MISPOS_DATA_MAX_BCD);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(pb_mispos_frame(A, d, MISPOS_DATA_MAX_BCD + 1, w, cap + 64), PB_ERR_RANGE);
    /* binary LEN profile: 10000 bytes fit */
    struct pb_mispos_profile bin = *A;
    bin.len_bcd = false;
    uint8_t *big = calloc(1, 10010);
    assert_non_null(big);
    assert_int_equal(pb_mispos_frame(&bin, big + 3, 10000, big, 10010), 10005);
    assert_int_equal(big[1], 10000 >> 8);
    assert_int_equal(big[2], 10000 & 0xFF);
    free(big);
    free(d);
    free(w);
}

static void test_profile_variants(void **state)
{
    (void)state;
    uint8_t d[64], w[128], e[128];
    size_t n = tlv(d, 0, 0x9F01, "\x02", 1);
    n = tlvs(d, n, 0x9F02, "000000000100");
    const enum pb_mispos_lrc_span spans[] = {PB_MISPOS_LRC_LEN_TO_ETX, PB_MISPOS_LRC_DATA_TO_ETX,
                                             PB_MISPOS_LRC_STX_TO_ETX, PB_MISPOS_LRC_LEN_TO_DATA};
    const size_t from[] = {1, 3, 0, 1}, to_minus[] = {1, 1, 1, 2}; /* [from, len - to_minus) */
    for (int bcd = 0; bcd < 2; bcd++) {
        for (size_t i = 0; i < 4; i++) {
            struct pb_mispos_profile pr = *A;
            pr.len_bcd = bcd;
            pr.lrc_span = spans[i];
            int k = pb_mispos_frame(&pr, d, n, w, sizeof w);
            assert_int_equal(k, (int)n + 5);
            assert_int_equal(w[k - 1], pb_lrc(w + from[i], (size_t)k - to_minus[i] - from[i]));
            if (!bcd)
                assert_int_equal(w[2], n);
            else
                assert_int_equal(w[2], 0x21); /* 21 bytes in BCD */
            struct pb_frame *f = new_frame();
            size_t resume = 0;
            assert_int_equal(pb_mispos_scan(&pr, w, (size_t)k, &resume, f), k);
            assert_true(f->checksum_ok);
            struct pos_msg m;
            assert_int_equal(pb_mispos_decode(&pr, f, PB_DIR_UNKNOWN, &m), PB_OK);
            assert_int_equal(m.amount, 100);
            assert_int_equal(pb_mispos_encode(&pr, &m, e, sizeof e), k);
            assert_memory_equal(e, w, (size_t)k);
            free(f);
        }
    }
    /* renumbered tags */
    struct pb_mispos_profile pr = *A;
    pr.tags.amount = 0xDF02;
    n = tlv(d, 0, 0x9F01, "\x02", 1);
    n = tlvs(d, n, 0xDF02, "000000000700");
    int k = pb_mispos_frame(&pr, d, n, w, sizeof w);
    struct pb_frame *f = new_frame();
    size_t resume = 0;
    assert_int_equal(pb_mispos_scan(&pr, w, (size_t)k, &resume, f), k);
    struct pos_msg m;
    assert_int_equal(pb_mispos_decode(&pr, f, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.amount, 700);
    free(f);
}

static void test_pan_masked_in_decode_and_redact(void **state)
{
    (void)state;
    uint8_t d[256], w[300], copy[300];
    size_t n = answer(d, "00", "000000000100", "6222021234567890123");
    size_t k = wrap(d, n, w);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "622202*********0123");
    memcpy(copy, w, k);
    size_t changed = P->redact(w, k);
    assert_int_equal(changed, 9 + 1);
    assert_int_equal(pb_lrc(w + 1, k - 2), w[k - 1]); /* LRC kept good */
    assert_non_null(memmem(w, k, "622202*********0123", 19));
    assert_int_equal(P->redact(w, k), 0); /* idempotent */
    struct pos_msg r;
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &r), PB_OK);
    assert_string_equal(r.pan, m.pan);
    assert_string_equal(r.auth_code, "AB12CD");
    assert_int_equal(r.amount, 100);
    /* a bad LRC stays exactly as bad */
    memcpy(w, copy, k);
    w[k - 1] ^= 0x11;
    P->redact(w, k);
    assert_int_equal(w[k - 1] ^ pb_lrc(w + 1, k - 2), 0x11);
    /* a short card number keeps only its last 4 */
    n = answer(d, "00", "000000000100", "12345678");
    k = wrap(d, n, w);
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "****5678");
    P->redact(w, k);
    assert_non_null(memmem(w, k, "****5678", 8));
    /* a PAN in an unknown tag and in an unparsable tail */
    n = tlvs(d, 0, 0xDF55, "x6222021234567890123");
    n = tlvs(d, n, 0x9F02, "000000000100");
    d[n++] = 0xDF;
    memcpy(d + n, "6222021234567890", 16);
    n += 16;
    k = wrap(d, n, w);
    assert_true(P->redact(w, k) > 0);
    assert_null(memmem(w, k, "1234567890", 10));
    assert_non_null(memmem(w, k, "000000000100", 12)); /* the amount is no PAN */
    /* not a frame of this profile: untouched */
    assert_int_equal(P->redact((uint8_t *)"\x02\x00\x05\x03\x06", 5), 0);
}

static void test_control_bytes(void **state)
{
    (void)state;
    struct sink s;
    deframe((const uint8_t *)"\x06\x15", 2, 1, &s, NULL);
    assert_int_equal(s.n, 2);
    struct pb_frame *f = new_frame();
    f->type = PB_FRAME_CONTROL;
    f->control = 0x15;
    struct pos_msg m;
    assert_int_equal(P->decode(f, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_NAK);
    uint8_t b;
    assert_int_equal(P->encode(&m, &b, 1), 1);
    assert_int_equal(b, 0x15);
    f->control = 0x05;
    assert_int_equal(P->decode(f, PB_DIR_PT, &m), PB_ERR_SYNTAX);
    free(f);
}

static void test_encode_from_fields(void **state)
{
    (void)state;
    struct pos_msg m, d;
    uint8_t w[256];
    pb_msg_init(&m);
    m.kind = PB_KIND_RESULT;
    m.result = PB_RESULT_DECLINED;
    m.txn = PB_TXN_PURCHASE;
    m.amount = 100;
    m.flags = PB_F_AMOUNT;
    int n = P->encode(&m, w, sizeof w);
    assert_true(n > 0);
    assert_int_equal(decode_wire(w, (size_t)n, PB_DIR_UNKNOWN, &d), PB_OK);
    assert_int_equal(d.result, PB_RESULT_DECLINED);
    assert_string_equal(d.result_text, "05");
    m.currency = 978;
    m.flags |= PB_F_CURRENCY;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_UNSUPPORTED);
    m.currency = 156;
    m.amount = 1000000000000LL;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_RANGE);
    m.kind = PB_KIND_REQUEST;
    m.amount = 1;
    m.txn = PB_TXN_NONE;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_UNSUPPORTED);
}

static void test_probe(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = hex(V_SALE, w, sizeof w);
    assert_true(P->probe(w, n) >= 90);
    assert_true(P->probe(w, n - 1) < 50);
    /* PAX and Concert frames are not MIS-POS */
    assert_true(P->probe((const uint8_t *)"\x02T00\x1c" "1.28\x1c" "01\x03\x00", 14) < 50);
    assert_true(P->probe((const uint8_t *)"\x06", 1) <= 5);
}

/* ---- the tracker on MIS-POS ----------------------------------------------------------- */

struct classes {
    unsigned n;
    enum pb_class cls[8];
};

static void on_txn(enum pb_txn_event ev, const struct pb_txn *t, void *ctx)
{
    struct classes *c = ctx;
    if (ev == PB_TXN_CLOSED && c->n < 8)
        c->cls[c->n++] = t->cls;
}

static enum pb_class lane(const char *code, const char *amount)
{
    struct classes c = {0};
    struct pb_tracker *tr;
    assert_int_equal(pb_tracker_new(P, NULL, on_txn, &c, &tr), 0);
    struct pb_time now = {1000000, 1700000000000000};
    struct pos_msg m;
    uint8_t w[64];
    size_t n = hex(V_SALE, w, sizeof w); /* 1.00 */
    assert_int_equal(decode_wire(w, n, PB_DIR_ECR, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    now.mono_us += 3000000;
    uint8_t d[256];
    assert_int_equal(decode_data(d, answer(d, code, amount, NULL), PB_DIR_PT, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    pb_tracker_finish(tr, &now);
    pb_tracker_free(tr);
    assert_int_equal(c.n, 1);
    return c.cls[0];
}

static void test_tracker_classes(void **state)
{
    (void)state;
    assert_int_equal(lane("00", "000000000100"), PB_CLASS_OK);
    assert_int_equal(lane("51", "000000000100"), PB_CLASS_DECLINED);
    assert_int_equal(lane("00", "000000000150"), PB_CLASS_OVERCHARGE);
    assert_int_equal(lane("00", "000000000050"), PB_CLASS_UNDERCHARGE);
}

/* "10": approved for part of the amount [gsccs/mispos-client allinpay-rejcode.properties]. */
static void test_partial_result(void **state)
{
    (void)state;
    uint8_t d[256];
    size_t n = answer(d, "10", "000000000600", NULL);
    struct pos_msg m;
    exact_data(d, n, &m);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_true(m.flags & PB_F_PARTIAL);
    assert_int_equal(m.amount, 600);
    n = answer(d, "05", "000000000000", NULL);
    assert_int_equal(decode_data(d, n, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_DECLINED);
    assert_false(m.flags & PB_F_PARTIAL);
}

/* Card data in tags outside the profile, masked by what EMV says they hold (EMV 4.3 Book 3
 * Annex A): 5A PAN and 57 track 2 in packed BCD, 56 track 1 and 9F6B track 2 in ASCII, and
 * the profile's own expiry (9F1B). */
static void test_card_tags_by_meaning(void **state)
{
    (void)state;
    static const uint8_t pan_bcd[] = {0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19};
    static const uint8_t trk2_bcd[] = {0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19,
                                       0xD2, 0x51, 0x22, 0x01, 0x12, 0x34, 0x56, 0x7F};
    uint8_t d[512], w[600];
    size_t n = 0;
    n = tlvs(d, n, 0x9F14, "00");
    n = tlv(d, n, 0x9F01, "\x02", 1);
    n = tlvs(d, n, 0x9F02, "000000000100");
    n = tlv(d, n, 0x5A00, pan_bcd, sizeof pan_bcd);
    n = tlv(d, n, 0x0057, trk2_bcd, sizeof trk2_bcd);
    n = tlvs(d, n, 0x0056, "B4761739001010119^DOE/JOHN^25122011234");
    n = tlvs(d, n, 0x9F6B, "4761739001010119D2512201123");
    n = tlvs(d, n, 0x9F1B, "2512");
    size_t k = wrap(d, n, w);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "476173******0119"); /* from 5A: no 9F0B here */
    assert_true(P->redact(w, k) > 0);
    assert_int_equal(pb_lrc(w + 1, k - 2), w[k - 1]);
    static const uint8_t pan_red[] = {0x47, 0x61, 0x73, 0xEE, 0xEE, 0xEE, 0x01, 0x19};
    static const uint8_t trk2_red[] = {0x47, 0x61, 0x73, 0xEE, 0xEE, 0xEE, 0x01, 0x19,
                                       0xDE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEF};
    assert_non_null(memmem(w, k, pan_red, sizeof pan_red));
    assert_non_null(memmem(w, k, trk2_red, sizeof trk2_red));
    assert_non_null(memmem(w, k, "B476173******0119^DOE/JOHN^***********", 38));
    assert_non_null(memmem(w, k, "476173******0119D**********", 27));
    assert_null(memmem(w, k, "2512", 4));
    assert_non_null(memmem(w, k, "000000000100", 12)); /* the amount is no card data */
    assert_int_equal(P->redact(w, k), 0);              /* idempotent */
    struct pos_msg r;
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &r), PB_OK);
    assert_string_equal(r.pan, m.pan);
    assert_int_equal(r.amount, 100);
}

/* A card number in packed BCD in the profile's own card tag. */
static void test_bcd_card_number(void **state)
{
    (void)state;
    static const uint8_t pan_bcd[] = {0x62, 0x22, 0x02, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F};
    uint8_t d[256], w[300];
    size_t n = 0;
    n = tlvs(d, n, 0x9F14, "00");
    n = tlv(d, n, 0x9F01, "\x02", 1);
    n = tlv(d, n, 0x9F0B, pan_bcd, sizeof pan_bcd);
    size_t k = wrap(d, n, w);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, k, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "622202*********0123");
    assert_true(P->redact(w, k) > 0);
    static const uint8_t red[] = {0x62, 0x22, 0x02, 0xEE, 0xEE, 0xEE, 0xEE, 0xE0, 0x12, 0x3F};
    assert_non_null(memmem(w, k, red, sizeof red));
    assert_int_equal(P->redact(w, k), 0);
}

/* Tags no profile or EMV meaning explains: scanned for Luhn-valid card numbers in ASCII
 * (12 digits too) and packed BCD, and for EMV data elements embedded in binary values. */
static void test_unknown_tags_scanned(void **state)
{
    (void)state;
    /* n format: right-justified, zero-padded */
    static const uint8_t bcd_pan[] = {0x00, 0x00, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19};
    static const uint8_t icc[] = {0x9F, 0x26, 0x02, 0xAB, 0xCD, 0x5A, 0x08, 0x41, 0x11, 0x11,
                                  0x11, 0x11, 0x11, 0x11, 0x11, 0x5F, 0x24, 0x03, 0x25, 0x12,
                                  0x31, 0x9F, 0x27, 0x01, 0x80};
    static const uint8_t stamp[] = {0x20, 0x24, 0x04, 0x17, 0x14, 0x19, 0x59, 0x00, 0xA1};
    uint8_t d[512], w[600];
    size_t n = 0;
    n = tlvs(d, n, 0x9F14, "00");
    n = tlv(d, n, 0xDF55, bcd_pan, sizeof bcd_pan);
    n = tlvs(d, n, 0xDF56, "card 500000000009 ok");
    n = tlv(d, n, 0xDF57, icc, sizeof icc);
    n = tlv(d, n, 0xDF58, stamp, sizeof stamp);
    size_t k = wrap(d, n, w);
    uint8_t copy[600];
    memcpy(copy, w, k);
    assert_true(P->redact(w, k) > 0);
    assert_int_equal(pb_lrc(w + 1, k - 2), w[k - 1]);
    static const uint8_t pan_red[] = {0x00, 0x00, 0x47, 0x61, 0x73, 0xEE, 0xEE, 0xEE, 0x01, 0x19};
    static const uint8_t icc_red[] = {0x5A, 0x08, 0x41, 0x11, 0x11, 0xEE,
                                      0xEE, 0xEE, 0x11, 0x11, 0x5F, 0x24,
                                      0x03, 0xEE, 0xEE, 0xEE, 0x9F, 0x27};
    assert_non_null(memmem(w, k, pan_red, sizeof pan_red));
    assert_non_null(memmem(w, k, "card ********0009 ok", 20));
    assert_non_null(memmem(w, k, icc_red, sizeof icc_red));
    assert_non_null(memmem(w, k, stamp, sizeof stamp)); /* no Luhn PAN: left as it was */
    assert_int_equal(P->redact(w, k), 0);
    /* a bad LRC stays exactly as bad */
    memcpy(w, copy, k);
    w[k - 1] ^= 0x42;
    P->redact(w, k);
    assert_int_equal(w[k - 1] ^ pb_lrc(w + 1, k - 2), 0x42);
}

/* The shared helpers these rely on (protocols/msg.c). */
static void test_luhn_and_track_helpers(void **state)
{
    (void)state;
    assert_true(pb_luhn_valid((const uint8_t *)"4761739001010119", 16));
    assert_false(pb_luhn_valid((const uint8_t *)"4761739001010118", 16));
    assert_true(pb_luhn_valid((const uint8_t *)"500000000009", 12));
    assert_false(pb_luhn_valid((const uint8_t *)"47617390010101x9", 16));
    assert_false(pb_luhn_valid((const uint8_t *)"", 0));
    uint8_t t[] = "x;4761739001010119=2512101123456?y B4761739001010119^DOE/J^2512101?";
    uint8_t x = 0, before = 0, after = 0;
    for (size_t i = 0; i < sizeof t - 1; i++)
        before ^= t[i];
    size_t c = pb_mask_track_ascii(t, sizeof t - 1, &x);
    assert_int_equal(c, 6 + 13 + 6 + 7);
    assert_string_equal((char *)t, "x;476173******0119=*************?y "
                                   "B476173******0119^DOE/J^*******?");
    for (size_t i = 0; i < sizeof t - 1; i++)
        after ^= t[i];
    assert_int_equal(before ^ x, after);
    assert_int_equal(pb_mask_track_ascii(t, sizeof t - 1, NULL), 0);
    /* a digit run that is no track stays */
    uint8_t u[] = "ref 1234567890123456 =5";
    assert_int_equal(pb_mask_track_ascii(u, sizeof u - 1, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_and_rules),
        cmocka_unit_test(test_vector_sale),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_request_types),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_lrc),
        cmocka_unit_test(test_garbage_before_and_between),
        cmocka_unit_test(test_byte_at_a_time_equals_whole),
        cmocka_unit_test(test_lengths_that_lie),
        cmocka_unit_test(test_maximum_length),
        cmocka_unit_test(test_profile_variants),
        cmocka_unit_test(test_pan_masked_in_decode_and_redact),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_encode_from_fields),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_tracker_classes),
        cmocka_unit_test(test_partial_result),
        cmocka_unit_test(test_card_tags_by_meaning),
        cmocka_unit_test(test_bcd_card_number),
        cmocka_unit_test(test_unknown_tags_scanned),
        cmocka_unit_test(test_luhn_and_track_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
