/* Card numbers in free text: pb_mask_digit_runs, pb_msg_scrub, and every decoder and
 * redactor applying them (a ZVT receipt line, a PAX message), so no text field of a
 * decoded message and no captured frame carries a clear PAN. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

static size_t mask(char *s)
{
    return pb_mask_digit_runs((uint8_t *)s, strlen(s), NULL);
}

static void test_runs(void **state)
{
    (void)state;
    char twelve[] = "ref 123456789012 ok";
    assert_int_equal(mask(twelve), 0); /* 12 digits failing Luhn: a reference, not a card */
    assert_string_equal(twelve, "ref 123456789012 ok");
    char maestro[] = "card 501800000009 ok"; /* 12 digits passing Luhn: a Maestro number */
    assert_int_equal(mask(maestro), 8); /* only its last 4 shown: 6 + 4 would hide 2 */
    assert_string_equal(maestro, "card ********0009 ok");
    char thirteen[] = "4111111111119";
    assert_int_equal(mask(thirteen), 3);
    assert_string_equal(thirteen, "411111***1119");
    char two[] = "CARD 4111111111111111 / 5500005555555559";
    assert_int_equal(mask(two), 12);
    assert_string_equal(two, "CARD 411111******1111 / 550000******5559");
    assert_int_equal(mask(two), 0); /* idempotent */
    char nineteen_more[] = "12345678901234567890123";
    assert_int_equal(mask(nineteen_more), 13);
    assert_string_equal(nineteen_more, "123456*************0123");
    char edge[] = "1234567890123";
    assert_int_equal(pb_mask_digit_runs((uint8_t *)edge, 12, NULL), 0); /* the run is cut at n */
    assert_int_equal(pb_mask_digit_runs(NULL, 0, NULL), 0);
}

/* Card numbers as receipts print them: in groups, or already partly masked. */
static void test_runs_grouped(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"CARD 4111 1111 1111 1111 OK", "CARD 4111 11** **** 1111 OK"},
        {"4111-1111-1111-1111", "4111-11**-****-1111"},
        {"AMEX 3782 822463 10005", "AMEX 3782 82**** *0005"},
        {"6011 1111 1111 1111 117", "6011 11** **** ***1 117"},
        /* A partly masked number still has its middle masked. */
        {"41111111*1111111", "411111******1111"},
        /* A long group is a number of its own: the expiry beside it stays. */
        {"4111111111111111 1225", "411111******1111 1225"},
        {"12 4111111111111111", "12 411111******1111"},
        /* Short groups beside a grouped number join it: more masked, nothing shown. */
        {"4111 1111 1111 1111 1225", "4111 11** **** **** 1225"},
        /* Other separators, doubled ones, tabs: still one number (issue 18). */
        {"4111.1111.1111.1111", "4111.11**.****.1111"},
        {"4111  1111  1111  1111", "4111  11**  ****  1111"},
        {"4111\t1111\t1111\t1111", "4111\t11**\t****\t1111"},
        {"4111/1111_1111 1111", "4111/11**_**** 1111"},
        {"5018 0000 0009", "**** **** 0009"},
        /* Not card numbers: 12 characters failing Luhn, dates and times. */
        {"ref 1234 5678 9012", "ref 1234 5678 9012"},
        {"22.11.2026 10:52:00 1234", "22.11.2026 10:52:00 1234"},
        {"4111 1111 1111 1111 -", "4111 11** **** 1111 -"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        strcpy(buf, cases[i].in);
        mask(buf);
        assert_string_equal(buf, cases[i].out);
        assert_int_equal(mask(buf), 0); /* idempotent */
    }
}

/* A text field filled to its end was cut from something longer: a card number cut there
 * keeps too few digits for a run, so the digits at the very end are all masked (issue 18:
 * PAX's message "APPROVED 5222221234565 5222-2212-3456-5" cut to 64 bytes showed 10 of
 * them). A field that is not full keeps its short runs. */
static void test_scrub_cut_tail(void **state)
{
    (void)state;
    struct pos_msg m;
    pb_msg_init(&m);
    const char *full = "type=01 v=1.28 status=0 msg=APPROVED 522222***4565 5222-2212-34";
    assert_int_equal(strlen(full), sizeof m.text - 1);
    strcpy(m.text, full);
    pb_msg_scrub(&m);
    assert_null(strpbrk(m.text + 36, "0123456789"));
    assert_int_equal(strncmp(m.text, full, 36), 0); /* what comes before stays */
    pb_msg_init(&m);
    strcpy(m.text, "ref 5222-2212-34");
    pb_msg_scrub(&m);
    assert_string_equal(m.text, "ref 5222-2212-34");
}

/* Bytes that never became a frame: every digit masked; with bcd, every decimal byte too
 * but the transport bytes. */
static void test_unframed(void **state)
{
    (void)state;
    uint8_t text[] = "\x02" "PAN 4111 1111 1111 1111 ref 12\x03";
    assert_int_equal(pb_mask_unframed(text, sizeof text - 1, false), 18);
    assert_memory_equal(text, "\x02" "PAN **** **** **** **** ref **\x03", sizeof text);
    assert_int_equal(pb_mask_unframed(text, sizeof text - 1, false), 0);

    uint8_t bin[] = {0x10, 0x02, 0x04, 0x0F, 0x22, 0xF0, 0xF8, 0x41, 0x11, 0x10, 0x10, 0x06,
                     0x15, 0x99, 0x03, 0x1A, 0xA1, '7', 0x10, 0x03};
    const uint8_t want[] = {0x10, 0x02, 0xEE, 0x0F, 0xEE, 0xF0, 0xF8, 0xEE, 0xEE, 0x10, 0x10,
                            0x06, 0x15, 0xEE, 0x03, 0x1A, 0xA1, '*', 0x10, 0x03};
    assert_int_equal(pb_mask_unframed(bin, sizeof bin, true), 6);
    assert_memory_equal(bin, want, sizeof bin);
    assert_int_equal(pb_mask_unframed(bin, sizeof bin, true), 0);
    assert_int_equal(pb_mask_unframed(NULL, 5, true), 0);
}

/* With x, every change is XORed in: a frame's LRC follows the masking exactly. */
static void test_runs_xor(void **state)
{
    (void)state;
    uint8_t text[] = "PAN 4111 1111 1111 1111 / 5500005555555559";
    uint8_t before[sizeof text];
    memcpy(before, text, sizeof text);
    uint8_t x = 0x5A;
    size_t changed = pb_mask_digit_runs(text, sizeof text - 1, &x);
    assert_int_equal(changed, 12);
    uint8_t expect = 0x5A;
    for (size_t i = 0; i < sizeof text; i++)
        expect ^= (uint8_t)(before[i] ^ text[i]);
    assert_int_equal(x, expect);
    assert_int_equal(pb_mask_digit_runs(text, sizeof text - 1, &x), 0);
    assert_int_equal(x, expect);
}

static void test_scrub_every_text_field(void **state)
{
    (void)state;
    struct pos_msg m;
    pb_msg_init(&m);
    const char *pan = "4111111111111111";
    strcpy(m.text, "msg=APPROVED 4111111111111111");
    strcpy(m.reference, pan);
    strcpy(m.trace, pan);
    strcpy(m.receipt, pan);
    strcpy(m.auth_code, pan);
    strcpy(m.terminal_id, pan);
    strcpy(m.pos_id, pan);
    strcpy(m.result_text, pan);
    strcpy(m.pan, pan);
    pb_msg_scrub(&m);
    const char *fields[] = {m.reference, m.trace, m.receipt, m.auth_code, m.terminal_id,
                            m.pos_id, m.result_text, m.pan};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_string_equal(fields[i], "411111******1111");
    assert_string_equal(m.text, "msg=APPROVED 411111******1111");
    pb_msg_scrub(NULL); /* does nothing */
}

struct one {
    const struct pb_protocol *p;
    struct pos_msg m;
    int frames;
};

static void take(const struct pb_frame *f, void *ctx)
{
    struct one *o = ctx;
    if (f->type != PB_FRAME_DATA)
        return;
    o->frames++;
    o->p->decode(f, PB_DIR_PT, &o->m);
}

/* The one frame in wire, decoded as the terminal's. */
static struct one decode_one(const struct pb_protocol *p, const uint8_t *wire, size_t len)
{
    struct pb_deframer *d;
    assert_int_equal(pb_deframer_new(p, &d), PB_OK);
    struct one o = {p, {0}, 0};
    pb_deframer_feed(d, wire, len, take, &o);
    pb_deframer_free(d);
    assert_int_equal(o.frames, 1);
    assert_true(o.m.checksum_ok);
    return o;
}

/* Decodes wire, then redacts it: no 16-digit run is left and the frame still decodes
 * with a good checksum. */
static void decode_and_redact(const char *proto, uint8_t *wire, size_t len, struct pos_msg *out)
{
    const struct pb_protocol *p = pb_protocol_find(proto);
    assert_non_null(p);
    *out = decode_one(p, wire, len).m;
    assert_true(p->redact(wire, len) > 0);
    assert_null(memmem(wire, len, "4111111111111111", 16));
    decode_one(p, wire, len);
}

static void test_zvt_receipt_line(void **state)
{
    (void)state;
    /* 06 D1 print line, attribute 00, "CARD 4111111111111111" (CRC-16/KERMIT) */
    uint8_t w[] = {0x10, 0x02, 0x06, 0xD1, 0x16, 0x00, 'C', 'A', 'R', 'D', ' ', '4', '1', '1',
                   '1', '1', '1', '1', '1', '1', '1', '1', '1', '1', '1', '1', '1', 0x10, 0x03,
                   0xB1, 0xC0};
    struct pos_msg m;
    decode_and_redact("zvt", w, sizeof w, &m);
    assert_int_equal(m.kind, PB_KIND_PRINT);
    assert_string_equal(m.text, "CARD 411111******1111");
}

static void test_pax_message(void **state)
{
    (void)state;
    static const char body[] = "0\x1cT01\x1c" "1.28\x1c" "000000\x1c" "APPROVED 4111111111111111\x1c"
                               "\x1f\x1f" "A1\x1f\x1f" "000001\x1c" "01\x1c" "1000\x1c"
                               "1111\x1c" "1\x1f" "1\x03";
    uint8_t w[sizeof body + 2];
    w[0] = PB_STX;
    memcpy(w + 1, body, sizeof body - 1);
    w[sizeof body] = pb_lrc(w + 1, sizeof body - 1);
    struct pos_msg m;
    decode_and_redact("pax", w, sizeof body + 1, &m);
    assert_int_equal(m.kind, PB_KIND_RESULT);
    assert_int_equal(m.amount, 1000); /* amounts are left alone */
    assert_non_null(strstr(m.text, "msg=APPROVED 411111******1111"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_runs_grouped),
        cmocka_unit_test(test_scrub_cut_tail),
        cmocka_unit_test(test_runs_xor),
        cmocka_unit_test(test_unframed),
        cmocka_unit_test(test_scrub_every_text_field),
        cmocka_unit_test(test_zvt_receipt_line),
        cmocka_unit_test(test_pax_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
