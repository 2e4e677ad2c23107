/* Tests for protocols/pax.c: framing, decoding, encoding, redaction, probing of PAX
 * POSLink and the tracker's classes fed with decoded PAX messages, one edge per test.
 * The wire vector is docs/PROTOCOLS.md section 3 ([checked] there). Frames are written in
 * test text with '|' for FS and '^' for US and framed here, independently of encode(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pax.h"
#include "pb_error.h"
#include "protocol.h"
#include "tracker.h"

static const struct pb_protocol *P = &pb_proto_pax;
#define CODEC_TEST_PROTO P
#include "codec_test.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* STX text ETX LRC, with '|' -> FS and '^' -> US. */
static size_t frame(const char *text, uint8_t *out, size_t cap)
{
    size_t n = strlen(text);
    assert_true(cap >= n + 3);
    out[0] = 0x02;
    for (size_t i = 0; i < n; i++)
        out[1 + i] = text[i] == '|' ? 0x1C : text[i] == '^' ? 0x1F : (uint8_t)text[i];
    out[n + 1] = 0x03;
    uint8_t x = 0;
    for (size_t i = 1; i <= n + 1; i++)
        x ^= out[i];
    out[n + 2] = x;
    return n + 3;
}

static int decode_text(const char *text, enum pb_dir dir, struct pos_msg *m)
{
    uint8_t w[1024];
    size_t n = frame(text, w, sizeof w);
    return decode_wire(w, n, dir, m);
}

/* Decodes text's frame and checks encode() gives its bytes back exactly. */
static void exact(const char *text, struct pos_msg *m)
{
    uint8_t w[1024], e[1024];
    size_t n = frame(text, w, sizeof w);
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, m), PB_OK);
    int k = P->encode(m, e, sizeof e);
    assert_int_equal(k, (int)n);
    assert_memory_equal(e, w, n);
}

/* ---- docs/PROTOCOLS.md vector and the responses --------------------------------------- */

static const char *const V_SALE =
    "02 54 30 30 1C 31 2E 32 38 1C 30 31 1C 31 30 30 1C 1C 31 1C 1C 1C 1C 03 5F";

/* T01 responses, status through trace group. */
static const char *const R_APPROVED = "0|T01|1.28|000000|OK|^^123456^^TRC9|01|100|1234|77^1";
/* with the fields pos_msg has no slot for: decoded, not re-encoded */
static const char *const R_APPROVED_FULL =
    "0|T01|1.28|000000|OK|00^APPROVAL^123456^HREF^TRC9^B1|01|100|1234^01^1228|77^1";
static const char *const R_PARTIAL = "0|T01|1.28|000000|PARTIAL|^^654321|01|600^400||8^1";
static const char *const R_DECLINED = "0|T01|1.28|000100|DECLINE||01|0||9^1";
static const char *const R_DUPLICATE = "0|T01|1.28|100011|DUP TRANSACTION||01|||^1";
static const char *const R_TIMEOUT = "0|T01|1.28|100001|TIMEOUT||01|||^1";

static void test_registry_and_rules(void **state)
{
    (void)state;
    assert_ptr_equal(pb_protocol_find("pax"), P);
    assert_non_null(strstr(pb_protocol_names(), "pax"));
    assert_string_equal(P->default_line, "9600,8N1");
    assert_int_equal(P->link_type, 150);
    assert_false(P->rules.has_accept);
    assert_true(P->rules.result_ends_txn);
    assert_true(P->rules.has_partial_marker);
    assert_true(P->rules.response_timeout_ms >= 60000);
    assert_int_equal(P->rules.max_repeats, 2);
}

static void test_vector_sale(void **state)
{
    (void)state;
    uint8_t w[64], e[64];
    size_t n = hex(V_SALE, w, sizeof w);
    assert_int_equal(pb_lrc(w + 1, n - 2), w[n - 1]); /* [checked] */
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.dir, PB_DIR_ECR);
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_int_equal(m.cmd, 'T' << 8 | 0);
    assert_true(m.flags & PB_F_AMOUNT);
    assert_int_equal(m.amount, 100);
    assert_false(m.flags & PB_F_CURRENCY);
    assert_string_equal(m.reference, "1");
    assert_string_equal(m.text, "type=01 v=1.28");
    assert_true(m.checksum_ok);
    assert_int_equal(P->encode(&m, e, sizeof e), (int)n);
    assert_memory_equal(e, w, n);
    /* too small a buffer */
    assert_int_equal(P->encode(&m, e, n - 1), PB_ERR_RANGE);
}

static void test_response_approved(void **state)
{
    (void)state;
    struct pos_msg m;
    exact(R_APPROVED, &m);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_int_equal(m.cmd, 'T' << 8 | 1);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_string_equal(m.result_text, "000000");
    assert_int_equal(m.result_code, 0);
    assert_true(m.flags & PB_F_RESULT_CODE);
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_int_equal(m.amount, 100);
    assert_false(m.flags & PB_F_AMOUNT_DUE);
    assert_string_equal(m.auth_code, "123456");
    assert_string_equal(m.trace, "TRC9");
    assert_string_equal(m.receipt, "77");
    assert_string_equal(m.reference, "1");
    assert_string_equal(m.pan, "1234");
    assert_string_equal(m.text, "type=01 v=1.28 status=0 msg=OK");
    struct pos_msg full;
    assert_int_equal(decode_text(R_APPROVED_FULL, PB_DIR_UNKNOWN, &full), PB_OK);
    assert_string_equal(full.auth_code, m.auth_code);
    assert_string_equal(full.trace, m.trace);
    assert_string_equal(full.receipt, m.receipt);
    assert_string_equal(full.pan, "1234");
    assert_int_equal(full.amount, 100);
}

static void test_response_partial(void **state)
{
    (void)state;
    struct pos_msg m;
    exact(R_PARTIAL, &m);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_int_equal(m.amount, 600);
    assert_true(m.flags & PB_F_AMOUNT_DUE);
    assert_int_equal(m.amount_due, 400);
    assert_string_equal(m.auth_code, "654321");
    /* an amount due of 0 is no partial approval */
    assert_int_equal(decode_text("0|T01|1.28|000000|OK||01|100^0", PB_DIR_PT, &m), PB_OK);
    assert_false(m.flags & PB_F_AMOUNT_DUE);
    assert_int_equal(m.amount, 100);
}

static void test_response_codes(void **state)
{
    (void)state;
    struct pos_msg m;
    exact(R_DECLINED, &m);
    assert_int_equal(m.result, PB_RESULT_DECLINED);
    assert_int_equal(m.result_code, 100);
    assert_int_equal(m.amount, 0);
    exact(R_DUPLICATE, &m);
    assert_int_equal(m.result, PB_RESULT_DECLINED);
    assert_int_equal(m.result_code, 100011);
    assert_string_equal(m.result_text, "100011");
    assert_false(m.flags & PB_F_AMOUNT);
    exact(R_TIMEOUT, &m);
    assert_int_equal(m.result, PB_RESULT_NOT_PROCESSED);
    assert_int_equal(m.result_code, 100001);
    assert_int_equal(decode_text("0|T01|1.28|100002|ABORTED", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_ABORTED);
    assert_int_equal(decode_text("0|T01|1.28|100023|NOT FOUND", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_NOT_PROCESSED);
    assert_int_equal(decode_text("0|T01|1.28|000777|?", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_UNKNOWN);
    assert_int_equal(m.result_code, 777);
    assert_int_equal(decode_text("0|T01|1.28|OK|?", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_UNKNOWN);
    assert_false(m.flags & PB_F_RESULT_CODE);
    /* a short response: the fields that are there */
    assert_int_equal(decode_text("0|T01", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.result, PB_RESULT_UNKNOWN);
    /* status 1: more packets follow, this one is no final answer */
    assert_int_equal(decode_text("1|T01", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_INTERMEDIATE);
    assert_true(m.flags & PB_F_MORE);
}

static void test_request_types(void **state)
{
    (void)state;
    struct pos_msg m;
    exact("T00|1.28|02|250||3||||", &m);
    assert_int_equal(m.txn, PB_TXN_REFUND);
    exact("T00|1.28|03|999||4||||", &m);
    assert_int_equal(m.txn, PB_TXN_PREAUTH);
    /* void names the original transaction number; no amount */
    exact("T00|1.28|16|||5^^^77||||", &m);
    assert_int_equal(m.txn, PB_TXN_VOID);
    assert_false(m.flags & PB_F_AMOUNT);
    assert_string_equal(m.receipt, "77");
    assert_string_equal(m.reference, "5");
    /* reversal stays 99 through encode */
    exact("T00|1.28|99|||6^^^78||||", &m);
    assert_int_equal(m.txn, PB_TXN_VOID);
    assert_string_equal(m.text, "type=99 v=1.28");
    /* a post-auth captures an auth: a purchase that keeps its code */
    exact("T00|1.28|04|100||7||||", &m);
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_string_equal(m.text, "type=04 v=1.28");
    /* other types keep their code */
    exact("T00|1.28|06|100||7||||", &m);
    assert_int_equal(m.txn, PB_TXN_OTHER);
    /* other commands: OTHER, direction from the shape */
    assert_int_equal(decode_text("A00|1.28", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(m.dir, PB_DIR_ECR);
    assert_int_equal(m.cmd, 'A' << 8 | 0);
    assert_int_equal(decode_text("0|A01|1.28|000000|OK", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_int_equal(P->encode(&m, (uint8_t[8]){0}, 8), PB_ERR_UNSUPPORTED);
    /* direction that contradicts the shape */
    assert_int_equal(decode_text("T00|1.28|01|100", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(m.dir, PB_DIR_PT);
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
    assert_int_equal(st.garbage_bytes, 0);
    /* STX ETX LRC: an empty frame decodes as OTHER, not a crash */
    struct pos_msg m;
    assert_int_equal(decode_text("", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    f->type = PB_FRAME_DATA;
    f->checksum_ok = true;
    assert_int_equal(P->decode(f, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(P->decode(NULL, PB_DIR_UNKNOWN, &m), PB_ERR_INVAL);
    free(f);
    assert_int_equal(P->probe((const uint8_t *)"", 0), 0);
    assert_int_equal(P->redact(NULL, 0), 0);
}

static void test_every_truncation(void **state)
{
    (void)state;
    uint8_t w[256];
    check_every_truncation(w, frame(R_APPROVED, w, sizeof w));
}

static void test_bad_lrc(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = hex(V_SALE, w, sizeof w);
    w[n - 1] ^= 0xFF;
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_false(s.it[0].checksum_ok);
    assert_int_equal(st.checksum_errors, 1);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_true(m.flags & PB_F_CHECKSUM_BAD);
    assert_false(m.checksum_ok);
    assert_int_equal(m.amount, 100); /* still read: the tracker decides what it is worth */
    /* an LRC that is itself a control byte value is taken, not seen as ACK */
    uint8_t v[64];
    size_t k = frame("T00|1.28|01|100||1||||", v, sizeof v);
    for (uint8_t b = 0; b < 0x20; b++) {
        v[k - 1] = b;
        deframe(v, k, 1, &s, &st);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.it[0].length, k);
    }
}

static void test_garbage_before_and_between(void **state)
{
    (void)state;
    uint8_t w[512];
    size_t n = 0;
    memcpy(w, "PAX A920 READY\r\n", 16);
    n += 16;
    n += hex(V_SALE, w + n, sizeof w - n);
    w[n++] = 0x06;
    memcpy(w + n, "\x02zz", 3); /* a false start: STX then a stray STX */
    n += 3;
    n += frame(R_APPROVED, w + n, sizeof w - n);
    w[n++] = 0x06;
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.it[0].type, PB_FRAME_DATA);
    assert_int_equal(s.it[0].offset, 16);
    assert_int_equal(s.it[1].type, PB_FRAME_CONTROL);
    assert_int_equal(s.it[1].control, 0x06);
    assert_int_equal(s.it[2].type, PB_FRAME_DATA);
    assert_true(s.it[2].checksum_ok);
    assert_int_equal(s.it[3].control, 0x06);
    assert_int_equal(st.garbage_bytes, 16 + 3);
    assert_int_equal(st.bytes, n);
}

static void test_byte_at_a_time_equals_whole(void **state)
{
    (void)state;
    uint8_t w[512];
    size_t n = 0;
    w[n++] = 0x55;
    n += hex(V_SALE, w + n, sizeof w - n);
    w[n++] = 0x06;
    n += frame(R_PARTIAL, w + n, sizeof w - n);
    w[n++] = 0x15;
    n += frame(R_PARTIAL, w + n, sizeof w - n);
    w[n++] = 0x04;
    struct sink whole, bytes, sevens;
    deframe(w, n, 0, &whole, NULL);
    deframe(w, n, 1, &bytes, NULL);
    deframe(w, n, 7, &sevens, NULL);
    assert_int_equal(whole.n, 6);
    assert_int_equal(bytes.n, whole.n);
    assert_int_equal(sevens.n, whole.n);
    assert_memory_equal(bytes.it, whole.it, sizeof whole.it[0] * whole.n);
    assert_memory_equal(sevens.it, whole.it, sizeof whole.it[0] * whole.n);
    assert_int_equal(bytes.garbage, whole.garbage);
}

static void test_maximum_length(void **state)
{
    (void)state;
    size_t cap = PAX_PAYLOAD_MAX + 16;
    char *text = malloc(cap);
    uint8_t *w = malloc(cap + 128);
    assert_non_null(text);
    assert_non_null(w);
    /* exactly PAX_PAYLOAD_MAX payload bytes: one frame */
    memcpy(text, "B00|1.28|", 9);
    memset(text + 9, 'x', PAX_PAYLOAD_MAX - 9);
    text[PAX_PAYLOAD_MAX] = '\0';
    size_t n = frame(text, w, cap + 128);
    struct sink s;
    struct pb_deframer_stats st;
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.it[0].payload_len, PAX_PAYLOAD_MAX);
    assert_int_equal(st.garbage_bytes, 0);
    /* one more: no frame, all garbage, and a frame after it still found */
    text[PAX_PAYLOAD_MAX] = 'x';
    text[PAX_PAYLOAD_MAX + 1] = '\0';
    n = frame(text, w, cap + 128);
    n += hex(V_SALE, w + n, 64);
    deframe(w, n, 0, &s, &st);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.it[0].payload_len, 22);
    assert_int_equal(st.garbage_bytes, PAX_PAYLOAD_MAX + 4);
    free(text);
    free(w);
}

/* POSLink frames carry no length: what lies is the field structure. */
static void test_fields_that_lie(void **state)
{
    (void)state;
    struct pos_msg m;
    /* only the command */
    assert_int_equal(decode_text("T00|1.28", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.txn, PB_TXN_NONE);
    assert_false(m.flags & PB_F_AMOUNT);
    /* a non-digit amount: malformed, not guessed */
    assert_int_equal(decode_text("T00|1.28|01|1.00||1||||", PB_DIR_UNKNOWN, &m), PB_ERR_SYNTAX);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_true(m.flags & PB_F_MALFORMED);
    assert_false(m.flags & PB_F_AMOUNT);
    assert_int_equal(P->encode(&m, (uint8_t[64]){0}, 64), PB_ERR_UNSUPPORTED);
    /* an amount of more digits than fit */
    assert_int_equal(decode_text("T00|1.28|01|1234567890123456||1", PB_DIR_UNKNOWN, &m),
                     PB_ERR_SYNTAX);
    assert_int_equal(decode_text("T00|1.28|01|123456789012345||1", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.amount, 123456789012345LL);
    /* approved amount or amount due not digits */
    assert_int_equal(decode_text("0|T01|1.28|000000|OK||01|1x^0", PB_DIR_PT, &m), PB_ERR_SYNTAX);
    assert_int_equal(decode_text("0|T01|1.28|000000|OK||01|100^-5", PB_DIR_PT, &m),
                     PB_ERR_SYNTAX);
    assert_true(m.flags & PB_F_MALFORMED);
    /* more fields than any command has: read, rest ignored */
    assert_int_equal(decode_text("T00|1.28|01|100||1||||||||||||||||||||||||||||||||||||||",
                                 PB_DIR_UNKNOWN, &m),
                     PB_OK);
    assert_int_equal(m.amount, 100);
    /* a status field of three digits is no response */
    assert_int_equal(decode_text("000|T01|1.28|000000", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_int_equal(m.dir, PB_DIR_UNKNOWN);
}

static bool pan_run(const char *s)
{
    size_t run = 0;
    for (; *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run > 10)
            return true;
    }
    return false;
}

static void test_pan_masked_in_decode(void **state)
{
    (void)state;
    struct pos_msg m;
    /* manual entry: account, expiry, CVV in the request */
    assert_int_equal(decode_text("T00|1.28|01|100|4761739001010119^1228^123|1||||",
                                 PB_DIR_UNKNOWN, &m),
                     PB_OK);
    assert_string_equal(m.pan, "476173******0119");
    assert_null(strstr(m.text, "1228"));
    /* a response that (wrongly) carries more than the last 4: only 4 kept */
    assert_int_equal(decode_text("0|T01|1.28|000000|OK||01|100|4761739001010119^01^1228",
                                 PB_DIR_PT, &m),
                     PB_OK);
    assert_string_equal(m.pan, "************0119");
    assert_false(pan_run(m.pan));
    /* a very long account field: the last 4 digits survive */
    assert_int_equal(
        decode_text("0|T01|1.28|000000|OK||01|100|12345678901234567890123456789876", PB_DIR_PT,
                    &m),
        PB_OK);
    assert_string_equal(m.pan + strlen(m.pan) - 4, "9876");
    assert_false(pan_run(m.pan));
    /* an unknown command with a PAN in it */
    assert_int_equal(decode_text("0|X99|4761739001010119", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "476173******0119");
}

static void test_redact(void **state)
{
    (void)state;
    uint8_t w[256], want[256];
    /* request: PAN first 6 / last 4, expiry and CVV starred, LRC recomputed */
    size_t n = frame("T00|1.28|01|100|4761739001010119^1228^123|1||||", w, sizeof w);
    size_t k = frame("T00|1.28|01|100|476173******0119^****^***|1||||", want, sizeof want);
    assert_int_equal(n, k);
    assert_int_equal(P->redact(w, n), 6 + 4 + 3 + 1);
    assert_memory_equal(w, want, n);
    assert_int_equal(P->redact(w, n), 0); /* idempotent */
    /* response: only the last 4 digits and no expiry */
    n = frame("0|T01|1.28|000000|OK||01|100|4761739001010119^01^1228|77^1", w, sizeof w);
    k = frame("0|T01|1.28|000000|OK||01|100|************0119^01^****|77^1", want, sizeof want);
    assert_true(P->redact(w, n) > 0);
    assert_memory_equal(w, want, n);
    /* the normal response: last 4 only already, expiry starred */
    n = frame(R_APPROVED_FULL, w, sizeof w);
    assert_int_equal(P->redact(w, n), 4 + 1);
    struct pos_msg m;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_string_equal(m.pan, "1234");
    assert_string_equal(m.auth_code, "123456"); /* not card data */
    /* a bad LRC stays exactly as bad */
    n = frame("T00|1.28|01|100|4761739001010119|1||||", w, sizeof w);
    w[n - 1] ^= 0x21;
    P->redact(w, n);
    assert_int_equal(w[n - 1] ^ pb_lrc(w + 1, n - 2), 0x21);
    /* unknown command: any PAN run masked */
    n = frame("0|X99|4761739001010119", w, sizeof w);
    k = frame("0|X99|476173******0119", want, sizeof want);
    P->redact(w, n);
    assert_memory_equal(w, want, n);
    /* not a frame: untouched */
    assert_int_equal(P->redact((uint8_t *)"\x02\x01\x03\x00", 4), 0);
}

static void test_control_bytes(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x06, 0x15, 0x04};
    const enum pb_kind kinds[] = {PB_KIND_ACK, PB_KIND_NAK, PB_KIND_EOT};
    struct sink s;
    deframe(bytes, 3, 1, &s, NULL);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < 3; i++) {
        struct pb_frame *f = new_frame();
        f->type = PB_FRAME_CONTROL;
        f->control = bytes[i];
        struct pos_msg m;
        assert_int_equal(P->decode(f, PB_DIR_PT, &m), PB_OK);
        assert_int_equal(m.kind, kinds[i]);
        uint8_t b = 0;
        assert_int_equal(P->encode(&m, &b, 1), 1);
        assert_int_equal(b, bytes[i]);
        free(f);
    }
    /* ENQ is no POSLink byte: garbage */
    struct pb_deframer_stats st;
    deframe((const uint8_t *)"\x05", 1, 0, &s, &st);
    assert_int_equal(s.n, 0);
    assert_int_equal(st.garbage_bytes, 1);
}

/* What possim would build from scratch. */
static void test_encode_from_fields(void **state)
{
    (void)state;
    struct pos_msg m, d;
    uint8_t w[256];
    pb_msg_init(&m);
    m.kind = PB_KIND_RESULT;
    m.result = PB_RESULT_APPROVED;
    m.txn = PB_TXN_PURCHASE;
    m.amount = 600;
    m.amount_due = 400;
    m.flags = PB_F_AMOUNT | PB_F_AMOUNT_DUE;
    snprintf(m.pan, sizeof m.pan, "0119");
    snprintf(m.auth_code, sizeof m.auth_code, "A1B2C3");
    int n = P->encode(&m, w, sizeof w);
    assert_true(n > 0);
    assert_int_equal(decode_wire(w, (size_t)n, PB_DIR_UNKNOWN, &d), PB_OK);
    assert_int_equal(d.result, PB_RESULT_APPROVED);
    assert_string_equal(d.result_text, "000000");
    assert_int_equal(d.amount_due, 400);
    assert_string_equal(d.pan, "0119");
    assert_string_equal(d.auth_code, "A1B2C3");
    /* a separator in a field would shift every field: refused */
    snprintf(m.auth_code, sizeof m.auth_code, "A\x1c");
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_INVAL);
    m.auth_code[0] = '\0';
    m.amount = -1;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_RANGE);
    m.amount = 1;
    m.result = PB_RESULT_UNKNOWN;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_UNSUPPORTED);
    m.kind = PB_KIND_INTERMEDIATE;
    assert_int_equal(P->encode(&m, w, sizeof w), PB_ERR_UNSUPPORTED);
}

static void test_probe(void **state)
{
    (void)state;
    uint8_t w[256];
    size_t n = hex(V_SALE, w, sizeof w);
    assert_true(P->probe(w, n) >= 90);
    assert_true(P->probe(w, n - 1) < 50); /* cut: no frame yet */
    n = frame(R_APPROVED, w, sizeof w);
    assert_true(P->probe(w, n) >= 90);
    /* a Concert request (no separators) is not PAX */
    n = frame("011000000010100978          A010B010", w, sizeof w);
    assert_true(P->probe(w, n) <= 20);
    assert_true(P->probe((const uint8_t *)"\x06", 1) <= 10);
}

/* ---- the tracker on PAX --------------------------------------------------------------- */

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

static enum pb_class run_lane(const char *request, const char *response)
{
    struct classes c = {0};
    struct pb_tracker *tr;
    assert_int_equal(pb_tracker_new(P, NULL, on_txn, &c, &tr), 0);
    struct pb_time now = {1000000, 1700000000000000};
    struct pos_msg m;
    assert_int_equal(decode_text(request, PB_DIR_ECR, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    now.mono_us += 1000;
    struct pb_frame *f = new_frame();
    f->type = PB_FRAME_CONTROL;
    f->control = PB_ACK;
    P->decode(f, PB_DIR_PT, &m);
    pb_tracker_msg(tr, &m, &now);
    now.mono_us += 5000000;
    assert_int_equal(decode_text(response, PB_DIR_PT, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    now.mono_us += 1000;
    P->decode(f, PB_DIR_ECR, &m);
    pb_tracker_msg(tr, &m, &now);
    free(f);
    pb_tracker_finish(tr, &now);
    pb_tracker_free(tr);
    assert_int_equal(c.n, 1);
    return c.cls[0];
}

static enum pb_class run_lane_cmd(const char *request, const char *response)
{
    return run_lane(request, response);
}

static void test_tracker_classes(void **state)
{
    (void)state;
    const char *sale = "T00|1.28|01|1000||1||||";
    assert_int_equal(run_lane(sale, "0|T01|1.28|000000|OK||01|1000|1234|5^1"), PB_CLASS_OK);
    assert_int_equal(run_lane(sale, "0|T01|1.28|000100|DECLINE||01|0|1234|5^1"),
                     PB_CLASS_DECLINED);
    assert_int_equal(run_lane(sale, "0|T01|1.28|100011|DUP TRANSACTION||01|||5^1"),
                     PB_CLASS_DECLINED);
    assert_int_equal(run_lane(sale, "0|T01|1.28|100001|TIMEOUT||01|||5^1"), PB_CLASS_DECLINED);
    assert_int_equal(run_lane(sale, "0|T01|1.28|000000|PARTIAL||01|600^400|1234|5^1"),
                     PB_CLASS_PARTIAL_APPROVAL);
    /* smaller approval without an amount due: undercharge */
    assert_int_equal(run_lane(sale, "0|T01|1.28|000000|OK||01|600|1234|5^1"),
                     PB_CLASS_UNDERCHARGE);
    assert_int_equal(run_lane(sale, "0|T01|1.28|000000|OK||01|1100|1234|5^1"),
                     PB_CLASS_OVERCHARGE);
    /* a return answered as a sale */
    assert_int_equal(run_lane("T00|1.28|02|1000||1||||", "0|T01|1.28|000000|OK||01|1000"),
                     PB_CLASS_TYPE_MISMATCH);
}

/* Every documented response code is named, and its outcome is the one its meaning gives
 * (pax.c CODE_TABLE, from PAX's POSLink SDK ResponseCode). */
static void test_response_code_table(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        enum pb_result result;
    } cases[] = {
        {"000000", PB_RESULT_APPROVED},      {"000001", PB_RESULT_APPROVED},
        {"000002", PB_RESULT_APPROVED},      {"000003", PB_RESULT_APPROVED},
        {"000029", PB_RESULT_APPROVED},      {"000100", PB_RESULT_DECLINED},
        {"000200", PB_RESULT_NOT_PROCESSED}, {"000300", PB_RESULT_APPROVED},
        {"000301", PB_RESULT_NOT_PROCESSED}, {"100001", PB_RESULT_NOT_PROCESSED},
        {"100002", PB_RESULT_ABORTED},       {"100003", PB_RESULT_NOT_PROCESSED},
        {"100009", PB_RESULT_NOT_PROCESSED}, {"100011", PB_RESULT_DECLINED},
        {"100015", PB_RESULT_DECLINED},      {"100017", PB_RESULT_DECLINED},
        {"100021", PB_RESULT_DECLINED},      {"100023", PB_RESULT_NOT_PROCESSED},
        {"100040", PB_RESULT_ABORTED},       {"100500", PB_RESULT_ABORTED},
        {"100512", PB_RESULT_DECLINED},      {"101001", PB_RESULT_APPROVED},
        {"101000", PB_RESULT_NOT_PROCESSED}, {"101401", PB_RESULT_NOT_PROCESSED},
        {"103000", PB_RESULT_DECLINED},      {"104000", PB_RESULT_NOT_PROCESSED},
        {"199999", PB_RESULT_NOT_PROCESSED},
    };
    struct pos_msg m;
    char text[96];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "0|T01|1.28|%s|X", cases[i].code);
        assert_int_equal(decode_text(text, PB_DIR_PT, &m), PB_OK);
        assert_int_equal(m.kind, PB_KIND_RESULT);
        assert_int_equal(m.result, cases[i].result);
        assert_non_null(pb_pax_code_name(cases[i].code));
    }
    assert_string_equal(pb_pax_code_name("000001"), "APPROVED_OFFLINE");
    assert_string_equal(pb_pax_code_name("000002"), "PARTIALLY_APPROVED");
    assert_null(pb_pax_code_name("000777"));
    /* partial approval: the protocol's own marker, and the amount due */
    exact("0|T01|1.28|000002|PARTIAL APPROVED||01|600^400||", &m);
    assert_true(m.flags & PB_F_PARTIAL);
    assert_int_equal(m.amount_due, 400);
    /* one code for several errors: its message tells the user's abort */
    assert_int_equal(decode_text("0|T01|1.28|100023|USER ABORTED", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_ABORTED);
    assert_int_equal(decode_text("0|T01|1.28|100023|NOT FOUND", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.result, PB_RESULT_NOT_PROCESSED);
    /* a duplicate carries the original's amounts: no charge of this answer */
    assert_int_equal(decode_text("0|T01|1.28|100011|DUP TRANSACTION||01|1000|1234|5^1",
                                 PB_DIR_PT, &m),
                     PB_OK);
    assert_false(m.flags & PB_F_AMOUNT);
    assert_int_equal(m.result, PB_RESULT_DECLINED);
}

static void test_types_and_commands_named(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        enum pb_txn_type txn;
    } cases[] = {
        {"01", PB_TXN_PURCHASE}, {"02", PB_TXN_REFUND}, {"03", PB_TXN_PREAUTH},
        {"04", PB_TXN_PURCHASE}, {"05", PB_TXN_PURCHASE}, {"06", PB_TXN_OTHER},
        {"16", PB_TXN_VOID},     {"17", PB_TXN_VOID},     {"22", PB_TXN_VOID},
        {"23", PB_TXN_OTHER},    {"24", PB_TXN_OTHER},    {"32", PB_TXN_OTHER},
        {"33", PB_TXN_PREAUTH},  {"42", PB_TXN_OTHER},    {"99", PB_TXN_VOID},
    };
    struct pos_msg m;
    char text[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "T00|1.28|%s|100||1||||", cases[i].type);
        exact(text, &m);
        assert_int_equal(m.txn, cases[i].txn);
        assert_non_null(pb_pax_type_name(cases[i].type));
    }
    assert_string_equal(pb_pax_type_name("04"), "postauth");
    assert_string_equal(pb_pax_type_name("24"), "verify");
    assert_null(pb_pax_type_name("77"));
    assert_string_equal(pb_pax_command_name("A14"), "cancel");
    assert_string_equal(pb_pax_command_name("A15"), "cancel"); /* its response */
    assert_string_equal(pb_pax_command_name("A39"), "check file");
    assert_string_equal(pb_pax_command_name("R03"), "local detail report");
    assert_null(pb_pax_command_name("X99"));
    assert_int_equal(decode_text("A14|1.35", PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_string_equal(m.text, "command A14 (cancel)");
}

/* T02/T03 debit: the credit layouts up to the trace group; T02 has 8 fields. */
static void test_debit(void **state)
{
    (void)state;
    struct pos_msg m;
    exact("T02|1.35|01|1000||5||", &m);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.cmd, 'T' << 8 | 2);
    assert_int_equal(m.txn, PB_TXN_PURCHASE);
    assert_int_equal(m.amount, 1000);
    assert_string_equal(m.reference, "5");
    exact("T02|1.35|02|1000||6||", &m);
    assert_int_equal(m.txn, PB_TXN_REFUND);
    exact("0|T03|1.35|000000|OK|^^654321^^TR7|01|1000|6789|9^5", &m);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.cmd, 'T' << 8 | 3);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_int_equal(m.amount, 1000);
    assert_string_equal(m.pan, "6789");
    assert_int_equal(run_lane_cmd("T02|1.35|01|1000||5||",
                                  "0|T03|1.35|000000|OK||01|1000|6789|9^5"),
                     PB_CLASS_OK);
}

/* B00/B01 batch close: the end of day and the terminal's totals. */
static void test_batch_close(void **state)
{
    (void)state;
    struct pos_msg m, d;
    exact("B00|1.35|", &m);
    assert_int_equal(m.kind, PB_KIND_REQUEST);
    assert_int_equal(m.txn, PB_TXN_END_OF_DAY);
    assert_int_equal(m.cmd, 'B' << 8 | 0);
    assert_string_equal(m.text, "v=1.35");
    /* the SDKs' timestamp is read, not kept (its 14 digits would be scrubbed as a PAN) */
    assert_int_equal(decode_text("B00|1.35|20240417141959", PB_DIR_ECR, &m), PB_OK);
    assert_int_equal(m.txn, PB_TXN_END_OF_DAY);
    /* totals per EDC type: credit + debit are the card payments the bridge sees */
    assert_int_equal(decode_text("0|B01|1.35|000000|OK|00^OK^^^TR1^12|3=1=2=0=0=0=0=0|"
                                 "1500=500=700=0=0=0=0=0|20240417141959|TID9|MID9",
                                 PB_DIR_UNKNOWN, &m),
                     PB_OK);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.txn, PB_TXN_END_OF_DAY);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_int_equal(m.amount, 2000);
    assert_string_equal(m.terminal_id, "TID9");
    assert_string_equal(m.trace, "TR1");
    assert_string_equal(m.text, "v=1.35 status=0 count=4 msg=OK");
    uint8_t w[256];
    int n = P->encode(&m, w, sizeof w);
    assert_true(n > 0);
    assert_int_equal(decode_wire(w, (size_t)n, PB_DIR_UNKNOWN, &d), PB_OK);
    assert_int_equal(d.amount, 2000);
    assert_string_equal(d.text, m.text);
    assert_string_equal(d.terminal_id, "TID9");
    /* a net total may be negative; unreadable totals are no total */
    assert_int_equal(decode_text("0|B01|1.35|000000|OK||1|-250", PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.amount, -250);
    assert_int_equal(decode_text("0|B01|1.35|000000|OK||1|12.50", PB_DIR_PT, &m), PB_OK);
    assert_false(m.flags & PB_F_AMOUNT);
    /* the end of day encoded from fields */
    pb_msg_init(&m);
    m.kind = PB_KIND_REQUEST;
    m.txn = PB_TXN_END_OF_DAY;
    n = P->encode(&m, w, sizeof w);
    assert_true(n > 0);
    assert_int_equal(decode_wire(w, (size_t)n, PB_DIR_UNKNOWN, &d), PB_OK);
    assert_int_equal(d.cmd, 'B' << 8 | 0);
    assert_int_equal(d.txn, PB_TXN_END_OF_DAY);
}

/* Multi-packet responses: status "1" while more packets follow, bodies joined. */
static const char *const MP_FIRST = "1|T01|1.28|000000|OK|^^123456^^TRC9|01|10";
static const char *const MP_LAST = "0|00^0|1234|5^1";

static void test_multi_packet_decode(void **state)
{
    (void)state;
    struct pos_msg m;
    assert_int_equal(decode_text(MP_FIRST, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_INTERMEDIATE);
    assert_int_equal(m.dir, PB_DIR_PT);
    assert_true(m.flags & PB_F_MORE);
    assert_int_equal(m.result, PB_RESULT_APPROVED); /* what it says so far */
    assert_false(m.flags & PB_F_AMOUNT);            /* "10" may go on: not read */
    assert_string_equal(m.auth_code, "123456");
    assert_int_equal(P->encode(&m, (uint8_t[64]){0}, 64), PB_ERR_UNSUPPORTED);
    assert_int_equal(decode_text(MP_LAST, PB_DIR_PT, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_OTHER);
    assert_false(m.flags & PB_F_MORE);
    assert_non_null(strstr(m.text, "packet status=0"));
    assert_int_equal(decode_text("1|rest of a report", PB_DIR_PT, &m), PB_OK);
    assert_true(m.flags & PB_F_MORE);
}

static void feed_join(struct pb_pax_joiner *j, const char *text, int want,
                      const struct pb_frame **whole)
{
    uint8_t w[512];
    size_t n = frame(text, w, sizeof w);
    struct pb_frame *f = new_frame();
    size_t resume = 0;
    assert_int_equal(P->scan(w, n, &resume, f), (int)n);
    f->offset = 100;
    f->length = (uint32_t)n;
    assert_int_equal(pb_pax_join(j, f, whole), want);
    free(f);
}

static void test_multi_packet_join(void **state)
{
    (void)state;
    struct pb_pax_joiner *j;
    assert_int_equal(pb_pax_joiner_new(&j), PB_OK);
    const struct pb_frame *whole = NULL;
    feed_join(j, "0|T01|1.28|000000|OK", PB_PAX_JOIN_PASS, &whole); /* one packet */
    assert_null(whole);
    feed_join(j, MP_FIRST, PB_PAX_JOIN_HELD, &whole);
    feed_join(j, MP_FIRST, PB_PAX_JOIN_HELD, &whole); /* repeated after a lost ACK */
    feed_join(j, MP_LAST, PB_PAX_JOIN_DONE, &whole);
    assert_non_null(whole);
    struct pos_msg m;
    assert_int_equal(P->decode(whole, PB_DIR_UNKNOWN, &m), PB_OK);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_false(m.flags & PB_F_MORE);
    assert_int_equal(m.result, PB_RESULT_APPROVED);
    assert_int_equal(m.amount, 1000); /* "10" + "00": the amount split across packets */
    assert_string_equal(m.pan, "1234");
    assert_string_equal(m.receipt, "5");
    assert_int_equal(m.offset, 100);
    /* a request resets an unfinished message; a bad LRC passes untouched */
    feed_join(j, MP_FIRST, PB_PAX_JOIN_HELD, &whole);
    feed_join(j, "T00|1.28|01|100||1||||", PB_PAX_JOIN_PASS, &whole);
    feed_join(j, MP_LAST, PB_PAX_JOIN_PASS, &whole);
    struct pb_frame *bad = new_frame();
    bad->type = PB_FRAME_DATA;
    bad->checksum_ok = false;
    assert_int_equal(pb_pax_join(j, bad, &whole), PB_PAX_JOIN_PASS);
    bad->type = PB_FRAME_CONTROL;
    bad->control = PB_ACK;
    assert_int_equal(pb_pax_join(j, bad, &whole), PB_PAX_JOIN_PASS);
    /* larger than PAX_JOIN_MAX: given up */
    bad->type = PB_FRAME_DATA;
    bad->checksum_ok = true;
    bad->payload[0] = '1';
    bad->payload[1] = PB_FS;
    memset(bad->payload + 2, 'x', PAX_PAYLOAD_MAX - 2);
    bad->payload_len = PAX_PAYLOAD_MAX;
    int r = PB_PAX_JOIN_HELD;
    for (int i = 0; i < 40 && r == PB_PAX_JOIN_HELD; i++) {
        bad->payload[2] = (uint8_t)('a' + i % 26); /* no repeat */
        bad->payload[3] = (uint8_t)('a' + i / 26);
        r = pb_pax_join(j, bad, &whole);
    }
    assert_int_equal(r, PB_ERR_RANGE);
    free(bad);
    assert_int_equal(pb_pax_join(NULL, NULL, NULL), PB_ERR_INVAL);
    pb_pax_joiner_free(j);
    pb_pax_joiner_free(NULL);
}

static void test_redact_new_account_and_tracks(void **state)
{
    (void)state;
    uint8_t w[256], want[256];
    /* a replaced gift card's new number (account sub-field 5) is a whole card number */
    size_t n = frame("0|T01|1.28|000000|OK||13|0|1234^01^^^^5022440000000000098|5^1", w,
                     sizeof w);
    size_t k = frame("0|T01|1.28|000000|OK||13|0|1234^01^^^^502244*********0098|5^1", want,
                     sizeof want);
    assert_int_equal(n, k);
    assert_true(P->redact(w, n) > 0);
    assert_memory_equal(w, want, n);
    assert_int_equal(P->redact(w, n), 0);
    /* track 2 in extended data: the PAN's middle and all after '=' */
    n = frame("T00|1.28|01|100||1||||TRACK2=4761739001010119=25122011234567890", w, sizeof w);
    k = frame("T00|1.28|01|100||1||||TRACK2=476173******0119=*****************", want,
              sizeof want);
    assert_true(P->redact(w, n) > 0);
    assert_memory_equal(w, want, n);
    assert_int_equal(pb_lrc(w + 1, n - 2), w[n - 1]);
    /* a batch's totals are numbers, not card data */
    n = frame("0|B01|1.35|000000|OK||3=0|1234567890123456", w, sizeof w);
    assert_int_equal(P->redact(w, n), 0);
}

/* The tracker, unchanged, waits through a packet with more to follow: it is proof of life,
 * and the joined message closes the sale. */
static void test_tracker_multi_packet(void **state)
{
    (void)state;
    struct classes c = {0};
    struct pb_tracker *tr;
    assert_int_equal(pb_tracker_new(P, NULL, on_txn, &c, &tr), 0);
    struct pb_time now = {1000000, 1700000000000000};
    struct pos_msg m;
    assert_int_equal(decode_text("T00|1.28|01|1000||1||||", PB_DIR_ECR, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    now.mono_us += 1000000;
    assert_int_equal(decode_text(MP_FIRST, PB_DIR_PT, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    assert_int_equal(c.n, 0); /* not closed on a packet with more to follow */
    struct pb_pax_joiner *j;
    assert_int_equal(pb_pax_joiner_new(&j), PB_OK);
    const struct pb_frame *whole;
    feed_join(j, MP_FIRST, PB_PAX_JOIN_HELD, &whole);
    feed_join(j, MP_LAST, PB_PAX_JOIN_DONE, &whole);
    now.mono_us += 1000000;
    assert_int_equal(P->decode(whole, PB_DIR_PT, &m), PB_OK);
    pb_tracker_msg(tr, &m, &now);
    pb_tracker_finish(tr, &now);
    pb_tracker_free(tr);
    pb_pax_joiner_free(j);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cls[0], PB_CLASS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_and_rules),
        cmocka_unit_test(test_vector_sale),
        cmocka_unit_test(test_response_approved),
        cmocka_unit_test(test_response_partial),
        cmocka_unit_test(test_response_codes),
        cmocka_unit_test(test_request_types),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_lrc),
        cmocka_unit_test(test_garbage_before_and_between),
        cmocka_unit_test(test_byte_at_a_time_equals_whole),
        cmocka_unit_test(test_maximum_length),
        cmocka_unit_test(test_fields_that_lie),
        cmocka_unit_test(test_pan_masked_in_decode),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_encode_from_fields),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_tracker_classes),
        cmocka_unit_test(test_response_code_table),
        cmocka_unit_test(test_types_and_commands_named),
        cmocka_unit_test(test_debit),
        cmocka_unit_test(test_batch_close),
        cmocka_unit_test(test_multi_packet_decode),
        cmocka_unit_test(test_multi_packet_join),
        cmocka_unit_test(test_redact_new_account_and_tracks),
        cmocka_unit_test(test_tracker_multi_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
