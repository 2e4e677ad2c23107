/* Fuzz harness for protocols/zvt.c. The first input byte picks the chunk size the stream
 * is fed in and the direction given to decode; every frame is decoded, re-encoded where
 * encode supports it, and redacted in a copy. Then the input is read once more as the
 * recipe of two frames of known layout: a status information with an unknown BMP before
 * known ones (nothing after it lost or guessed), and a card number planted where ZVT
 * carries one (gone after redaction). abort() on a broken invariant. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
 * bytes and E nibbles only, so each digit shown is the 1 or 0 of a 0x10 at its place
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

/* ---- invariants on frames built from the input ---------------------------------------- */

/* A byte reader over the input that never runs out (zeros past the end). */
struct src {
    const uint8_t *p;
    size_t n, i;
};

static uint8_t take(struct src *s)
{
    return s->i < s->n ? s->p[s->i++] : 0;
}

static uint8_t take_bcd(struct src *s)
{
    uint8_t b = take(s);
    return (uint8_t)(((b >> 4) % 10) << 4 | (b & 0x0F) % 10);
}

struct apdu_buf {
    uint8_t b[1024];
    size_t n;
};

static void add(struct apdu_buf *a, const uint8_t *p, size_t n)
{
    CHECK(a->n + n <= sizeof a->b);
    memcpy(a->b + a->n, p, n);
    a->n += n;
}

static void add1(struct apdu_buf *a, uint8_t b)
{
    add(a, &b, 1);
}

/* CLASS INSTR LEN (one byte: every APDU built here is short) and the data. */
static void apdu_start(struct apdu_buf *a, uint16_t cmd)
{
    a->n = 0;
    add1(a, (uint8_t)(cmd >> 8));
    add1(a, (uint8_t)cmd);
    add1(a, 0);
}

static void apdu_end(struct apdu_buf *a)
{
    CHECK(a->n - 3 < 0xFF);
    a->b[2] = (uint8_t)(a->n - 3);
}

/* DLE STX, 0x10 doubled, DLE ETX, CRC (docs/PROTOCOLS.md 2), scanned back into c->frame. */
static size_t frame_up(struct ctx *c, const struct apdu_buf *a)
{
    size_t o = 0;
    uint8_t *w = c->scratch;
    w[o++] = PB_DLE;
    w[o++] = PB_STX;
    for (size_t i = 0; i < a->n; i++) {
        w[o++] = a->b[i];
        if (a->b[i] == PB_DLE)
            w[o++] = PB_DLE;
    }
    w[o++] = PB_DLE;
    w[o++] = PB_ETX;
    static const uint8_t etx = PB_ETX;
    uint16_t crc = pb_crc16_kermit(pb_crc16_kermit(0, a->b, a->n), &etx, 1);
    w[o++] = (uint8_t)crc;
    w[o++] = (uint8_t)(crc >> 8);
    return o;
}

static int decode_built(struct ctx *c, size_t n, enum pb_dir dir, struct pos_msg *m)
{
    size_t resume = 0;
    memset(c->frame, 0, offsetof(struct pb_frame, payload));
    CHECK(Z->scan(c->scratch, n, &resume, c->frame) == (int)n);
    CHECK(c->frame->type == PB_FRAME_DATA && c->frame->checksum_ok);
    c->frame->length = (uint32_t)n;
    return Z->decode(c->frame, dir, m);
}

/* Tags the BMP table does not know (PA00P015 13.08 chapter 13 has none of them). */
static const uint8_t unknown_tags[] = {0x00, 0x07, 0x10, 0x1A, 0x30, 0x44, 0x5A, 0x6C,
                                       0x80, 0x99, 0xB7, 0xC3, 0xDE, 0xFE, 0xFF};

/* Invariant 1: a field after an unknown BMP is never lost silently nor guessed. A status
 * information is built as 27 <rc>, an unknown BMP with 0..12 value bytes (any bytes, an
 * LL prefix or not), then known BMPs (amount, trace, receipt, TID, currency, card name)
 * in an order the input picks. Decoded, the result code is always there and the frame is
 * flagged PB_F_RAW; each field after the unknown BMP is either exactly what was built, or
 * absent with the text saying bytes were kept raw. */
static void check_unknown_bmp(struct ctx *c, struct src *s)
{
    struct apdu_buf a;
    apdu_start(&a, 0x040F);
    uint8_t rc = take(s);
    add1(&a, 0x27);
    add1(&a, rc);
    add1(&a, unknown_tags[take(s) % sizeof unknown_tags]);
    size_t vlen = take(s) % 13;
    for (size_t i = 0; i < vlen; i++)
        add1(&a, take(s));
    uint8_t amount[6], trace[3], receipt[2], tid[4], ccy[2];
    for (size_t i = 0; i < sizeof amount; i++)
        amount[i] = take_bcd(s);
    for (size_t i = 0; i < sizeof trace; i++)
        trace[i] = take_bcd(s);
    for (size_t i = 0; i < sizeof receipt; i++)
        receipt[i] = take_bcd(s);
    for (size_t i = 0; i < sizeof tid; i++)
        tid[i] = take_bcd(s);
    for (size_t i = 0; i < sizeof ccy; i++)
        ccy[i] = take_bcd(s);
    uint8_t order = take(s);
    static const uint8_t tags[] = {0x04, 0x0B, 0x87, 0x29, 0x49, 0x8B};
    for (size_t k = 0; k < sizeof tags; k++) {
        uint8_t t = tags[(k + order) % sizeof tags];
        add1(&a, t);
        switch (t) {
        case 0x04: add(&a, amount, sizeof amount); break;
        case 0x0B: add(&a, trace, sizeof trace); break;
        case 0x87: add(&a, receipt, sizeof receipt); break;
        case 0x29: add(&a, tid, sizeof tid); break;
        case 0x49: add(&a, ccy, sizeof ccy); break;
        default: add(&a, (const uint8_t *)"\xF0\xF4VISA", 6); break;
        }
    }
    apdu_end(&a);
    struct pos_msg m;
    CHECK(decode_built(c, frame_up(c, &a), c->dir, &m) == PB_OK);
    check_msg(&m);
    CHECK(m.kind == PB_KIND_RESULT && (m.flags & PB_F_RESULT_CODE) && m.result_code == rc);
    CHECK(m.flags & PB_F_RAW);
    CHECK(!(m.flags & PB_F_MALFORMED));
    bool raw_rest = strstr(m.text, "kept raw") != NULL;
    int64_t want_amount = 0;
    for (size_t i = 0; i < sizeof amount; i++)
        want_amount = want_amount * 100 + (amount[i] >> 4) * 10 + (amount[i] & 0x0F);
    char want[16];
    if (m.flags & PB_F_AMOUNT)
        CHECK(m.amount == want_amount);
    else
        CHECK(raw_rest);
    snprintf(want, sizeof want, "%02X%02X%02X", trace[0], trace[1], trace[2]);
    CHECK(strcmp(m.trace, want) == 0 || (raw_rest && m.trace[0] == '\0'));
    snprintf(want, sizeof want, "%02X%02X", receipt[0], receipt[1]);
    CHECK(strcmp(m.receipt, want) == 0 || (raw_rest && m.receipt[0] == '\0'));
    snprintf(want, sizeof want, "%02X%02X%02X%02X", tid[0], tid[1], tid[2], tid[3]);
    CHECK(strcmp(m.terminal_id, want) == 0 || (raw_rest && m.terminal_id[0] == '\0'));
    if (m.flags & PB_F_CURRENCY)
        CHECK(m.currency == (ccy[0] >> 4) * 1000 + (ccy[0] & 0x0F) * 100 + (ccy[1] >> 4) * 10 +
                                (ccy[1] & 0x0F));
    else
        CHECK(raw_rest);
    /* All or nothing: with the rest raw no field after the unknown BMP is set. */
    if (raw_rest)
        CHECK(!(m.flags & (PB_F_AMOUNT | PB_F_CURRENCY)) && !m.trace[0] && !m.receipt[0]);
}

/* Luhn over digit values d[0..n). */
static bool luhn(const uint8_t *d, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = d[n - 1 - i];
        if (i & 1)
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    return sum % 10 == 0;
}

/* A maximal run of digits d[0..n) holds a card number: a window of 12 to 19 passes Luhn. */
static bool holds_card_number(const uint8_t *d, size_t n)
{
    for (size_t len = 12; len <= 19 && len <= n; len++)
        for (size_t s0 = 0; s0 + len <= n; s0++)
            if (luhn(d + s0, len))
                return true;
    return false;
}

/* Digit runs of p[0..n) as ASCII (bcd false) or as BCD nibbles at either alignment. */
struct runs {
    const uint8_t *p;
    size_t n;
    bool bcd;
    size_t i;        /* next position: a byte, or a nibble for BCD */
    uint8_t d[2048]; /* the run's digits */
    size_t k, first, last; /* its length, and the bytes it spans */
};

static uint8_t digit_at(const struct runs *r, size_t i)
{
    if (!r->bcd)
        return r->p[i] >= '0' && r->p[i] <= '9' ? (uint8_t)(r->p[i] - '0') : 0xFF;
    uint8_t v = (i & 1) ? r->p[i / 2] & 0x0F : r->p[i / 2] >> 4;
    return v <= 9 ? v : 0xFF;
}

static bool next_run(struct runs *r)
{
    size_t end = r->bcd ? 2 * r->n : r->n;
    while (r->i < end && digit_at(r, r->i) == 0xFF)
        r->i++;
    if (r->i >= end)
        return false;
    size_t s0 = r->i;
    r->k = 0;
    while (r->i < end && digit_at(r, r->i) != 0xFF && r->k < sizeof r->d)
        r->d[r->k++] = digit_at(r, r->i++);
    r->first = r->bcd ? s0 / 2 : s0;
    r->last = r->bcd ? (r->i - 1) / 2 : r->i - 1;
    return true;
}

/* The number was planted at bytes [lo, hi) as ASCII digits or as BCD. Leaked when a digit
 * run, in the form it was planted in, that reaches into those bytes holds a Luhn-valid 12
 * to 19 digits; or when the number's own digits appear, in either form, anywhere. */
static bool leaks_card_number(const uint8_t *p, size_t n, size_t lo, size_t hi, bool ascii,
                              const uint8_t *pan, size_t len)
{
    static struct runs r;
    for (int form = 0; form < 2; form++) {
        memset(&r, 0, offsetof(struct runs, d));
        r.p = p;
        r.n = n;
        r.bcd = form == 1;
        while (next_run(&r)) {
            if (r.bcd != ascii && r.last >= lo && r.first < hi && r.k >= 12 &&
                holds_card_number(r.d, r.k))
                return true;
            for (size_t s0 = 0; s0 + len <= r.k; s0++)
                if (memcmp(r.d + s0, pan, len) == 0)
                    return true;
        }
    }
    return false;
}

/* Invariant 2: a card number, planted by the input in any place ZVT carries one (BMP 22,
 * track data 23/24/2D, the TLV tags 5A, 57, 1F1A, 1F09, 5F24 nested or not, a text in 3C,
 * a print line, a print text block, a command the decoder does not model, a BMP after an
 * unknown BMP, the ECR's manual card entry), is gone from the redacted frame: no run of
 * digits where it was, in the form it was written in (ASCII or BCD), holds a Luhn-valid
 * 12 to 19 digits, and its digits appear nowhere in either form. The redacted frame still
 * scans whole with a good CRC, and the decode never shows it. */
static void check_planted(struct ctx *c, struct src *s)
{
    size_t len = 12 + take(s) % 8; /* ISO/IEC 7812: 12 to 19 digits */
    uint8_t pan[19];
    for (size_t i = 0; i + 1 < len; i++)
        pan[i] = take(s) % 10;
    for (uint8_t x = 0; x < 10; x++) { /* the check digit */
        pan[len - 1] = x;
        if (luhn(pan, len))
            break;
    }
    uint8_t bcd[10], ascii[19];
    size_t nb = (len + 1) / 2;
    memset(bcd, 0xFF, sizeof bcd);
    for (size_t i = 0; i < len; i++) {
        bcd[i / 2] = (i & 1) ? (uint8_t)((bcd[i / 2] & 0xF0) | pan[i])
                             : (uint8_t)(pan[i] << 4 | 0x0F);
        ascii[i] = (uint8_t)('0' + pan[i]);
    }
    uint8_t ll[2] = {(uint8_t)(0xF0 | nb / 10), (uint8_t)(0xF0 | nb % 10)};
    struct apdu_buf a;
    size_t lo, hi; /* where the number sits in the APDU */
    uint8_t carrier = take(s) % 14;
    bool ascii_form = carrier == 2 || carrier == 5 || carrier == 6 || carrier == 7;
    enum pb_dir dir = PB_DIR_UNKNOWN;
#define PLANT(p, k)                                                                            \
    do {                                                                                       \
        lo = a.n;                                                                              \
        add(&a, (p), (k));                                                                     \
        hi = a.n;                                                                              \
    } while (0)
    switch (carrier) {
    case 0: /* 04 0F 27 00 22 LL <pan> */
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00\x22", 3);
        add(&a, ll, 2);
        PLANT(bcd, nb);
        break;
    case 1: { /* 23 track 2: <pan> D <expiry, service code> */
        uint8_t t2[16];
        size_t k = 0;
        for (size_t i = 0; i < len; i += 2)
            t2[k++] = (uint8_t)(pan[i] << 4 | (i + 1 < len ? pan[i + 1] : 0x0D));
        if (!(len & 1))
            t2[k++] = 0xD2;
        t2[k++] = 0x51;
        t2[k++] = 0x22;
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00\x23", 3);
        add1(&a, (uint8_t)(0xF0 | k / 10));
        add1(&a, (uint8_t)(0xF0 | k % 10));
        PLANT(t2, k);
        break;
    }
    case 2: { /* 2D track 1, ASCII: B<pan>^NAME^2512 */
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00\x2D", 3);
        size_t k = 1 + len + 10;
        add1(&a, (uint8_t)(0xF0 | k / 10));
        add1(&a, (uint8_t)(0xF0 | k % 10));
        lo = a.n;
        add1(&a, 'B');
        add(&a, ascii, len);
        add(&a, (const uint8_t *)"^DOE^2512", 9);
        hi = a.n;
        break;
    }
    case 3: { /* 06 TLV: 5A <pan>, 5F24 expiry, 57 track 2 equivalent */
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00\x06", 3);
        add1(&a, (uint8_t)(2 + nb + 6 + 2 + nb + 1));
        add1(&a, 0x5A);
        add1(&a, (uint8_t)nb);
        PLANT(bcd, nb);
        add(&a, (const uint8_t *)"\x5F\x24\x03\x25\x12\x31", 6);
        add1(&a, 0x57);
        add1(&a, (uint8_t)(nb + 1));
        add(&a, bcd, nb);
        add1(&a, 0xD2);
        break;
    }
    case 4: /* 06 TLV: 60 { 1F1A <pan> } , and 1F09 track 2 */
        apdu_start(&a, 0x040F);
        add1(&a, 0x06);
        add1(&a, (uint8_t)(2 + 3 + nb + 3 + nb));
        add1(&a, 0x60);
        add1(&a, (uint8_t)(3 + nb));
        add(&a, (const uint8_t *)"\x1F\x1A", 2);
        add1(&a, (uint8_t)nb);
        PLANT(bcd, nb);
        add(&a, (const uint8_t *)"\x1F\x09", 2);
        add1(&a, (uint8_t)nb);
        add(&a, bcd, nb);
        break;
    case 5: /* 3C additional text: "CARD <pan>" */
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00\x3C\xF0", 4);
        add1(&a, (uint8_t)(0xF0 | (5 + len) / 10));
        add1(&a, (uint8_t)(0xF0 | (5 + len) % 10));
        add(&a, (const uint8_t *)"CARD ", 5);
        PLANT(ascii, len);
        break;
    case 6: /* 06 D1 print line, then a TLV */
        apdu_start(&a, 0x06D1);
        add(&a, (const uint8_t *)"\x00Nr: ", 5);
        PLANT(ascii, len);
        add(&a, (const uint8_t *)"\x06\x04\x1F\x07\x01\x01", 6);
        break;
    case 7: /* 06 D3 print text block: 06 { 25 { 07 "Karte <pan>" } } */
        apdu_start(&a, 0x06D3);
        add1(&a, 0x06);
        add1(&a, (uint8_t)(2 + 2 + 6 + len));
        add1(&a, 0x25);
        add1(&a, (uint8_t)(2 + 6 + len));
        add1(&a, 0x07);
        add1(&a, (uint8_t)(6 + len));
        add(&a, (const uint8_t *)"Karte ", 6);
        PLANT(ascii, len);
        break;
    case 8: /* 06 93 initialisation: password, then 22 (issue 18's example) */
        apdu_start(&a, 0x0693);
        add(&a, (const uint8_t *)"\x00\x00\x00\x22", 4);
        add(&a, ll, 2);
        PLANT(bcd, nb);
        break;
    case 9: /* a command no table knows, its data a BMP 22 */
        apdu_start(&a, 0x0F99);
        add1(&a, 0x22);
        add(&a, ll, 2);
        PLANT(bcd, nb);
        break;
    case 10: /* a command no table knows, the number in no structure at all */
        apdu_start(&a, 0x0F98);
        add1(&a, 0xAB);
        PLANT(bcd, nb);
        add1(&a, 0xCD);
        break;
    case 11: /* after an unknown BMP */
        apdu_start(&a, 0x040F);
        add(&a, (const uint8_t *)"\x27\x00", 2);
        add1(&a, unknown_tags[take(s) % sizeof unknown_tags]);
        for (size_t i = take(s) % 4; i > 0; i--)
            add1(&a, take(s));
        add1(&a, 0x22);
        add(&a, ll, 2);
        PLANT(bcd, nb);
        break;
    case 12: /* the register's manual card entry: 06 01 04 <amount> 22 <pan> 0E <expiry> */
        apdu_start(&a, 0x0601);
        add(&a, (const uint8_t *)"\x04\x00\x00\x00\x00\x10\x00\x22", 8);
        add(&a, ll, 2);
        PLANT(bcd, nb);
        add(&a, (const uint8_t *)"\x0E\x25\x12", 3);
        dir = PB_DIR_ECR;
        break;
    default: /* 80 00 with a TLV (the ECR's answer to a blocked-list query) */
        apdu_start(&a, 0x8000);
        add1(&a, 0x06);
        add1(&a, (uint8_t)(2 + nb));
        add1(&a, 0x5A);
        add1(&a, (uint8_t)nb);
        PLANT(bcd, nb);
        break;
    }
#undef PLANT
    apdu_end(&a);
    size_t n = frame_up(c, &a);
    struct pos_msg m;
    decode_built(c, n, dir, &m);
    check_msg(&m);
    CHECK(Z->redact(c->scratch, n) > 0);
    CHECK(Z->redact(c->scratch, n) == 0);
    /* Still one frame with a good CRC; its payload is the redacted APDU. */
    struct pos_msg red;
    decode_built(c, n, dir, &red);
    check_msg(&red);
    CHECK(c->frame->payload_len == a.n);
    CHECK(!leaks_card_number(c->frame->payload, a.n, lo, hi, ascii_form, pan, len));
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

    /* The same bytes once more, as the recipe of two frames built to a known layout. */
    struct src s = {.p = data, .n = size};
    check_unknown_bmp(&c, &s);
    check_planted(&c, &s);
    return 0;
}
