/* Ingenico Telium Concert (protocol E). Facts: docs/PROTOCOLS.md section 1, from the public
 * register-side implementations pyTeliumManager, pypostelium and OCA hw_telium, and the
 * Concert V3.20 specification PayXpert publishes for its terminals
 * (payxpert-docs.atlassian.net, "Concert" pages, page 699924481: the CD action type, whose
 * values are those of protocol E's transaction type byte). Read for facts, no code taken. */
#include "concert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "pb_error.h"

/* Field positions inside the payload (bytes between STX and ETX). */
struct concert_field {
    size_t off, len;
};

/* Request, 34 bytes: POS number, amount, answer flag, payment mode, transaction type,
 * currency, private, delay, authorisation. */
static const struct concert_field REQ_POS = {0, 2}, REQ_AMOUNT = {2, 8}, REQ_ANSWER = {10, 1},
                                  REQ_MODE = {11, 1}, REQ_TYPE = {12, 1}, REQ_CURRENCY = {13, 3},
                                  REQ_PRIVATE = {16, 10}, REQ_DELAY = {26, 4}, REQ_AUTH = {30, 4};

/* Answers: POS number, status, amount, payment mode, [report, full answer only],
 * currency, private. The short answer is the full one without the report. */
static const struct concert_field ANS_POS = {0, 2}, ANS_STATUS = {2, 1}, ANS_AMOUNT = {3, 8},
                                  ANS_MODE = {11, 1}, ANS_REPORT = {12, 55};
/* Currency and private follow the mode (short) or the report (full). */
static struct concert_field ans_currency(bool full)
{
    return (struct concert_field){full ? 67 : 12, 3};
}
static struct concert_field ans_private(bool full)
{
    return (struct concert_field){full ? 70 : 15, 10};
}

/* Transaction type byte of the request. '2' is a cancellation (void): the Concert
 * specification as PayXpert publishes it (V3.20, tag CD) says '0' debit (purchase), '1'
 * credit (refund, "not linked to the original transaction"), '2' cancellation ("linked to
 * the original debit, only for its original amount"), '3' duplicate (a receipt reprint),
 * '7' deferred debit; docs/PROTOCOLS.md's V3 note agrees (CD 0 debit, 1 refund, 2 cancel).
 * pyTeliumManager (telium/constant.py) names '1' "credit" and '2' "refund": in French
 * card terms the credit is the refund, so its two names cover one thing and its '2' is the
 * specification's cancellation. The specification is followed. '3', '4' (pyTeliumManager:
 * "auto") and '7' decode as OTHER with the byte kept in text. */
static const struct {
    char wire;
    enum pb_txn_type txn;
} TYPE_TABLE[] = {
    {'0', PB_TXN_PURCHASE}, /* debit */
    {'1', PB_TXN_REFUND},   /* credit */
    {'2', PB_TXN_VOID},     /* cancellation (annulation) */
};

/* Status byte of the answers. */
static const struct {
    char wire;
    enum pb_result result;
} STATUS_TABLE[] = {
    {'0', PB_RESULT_APPROVED},
    {'7', PB_RESULT_DECLINED}, /* rejected */
    {'9', PB_RESULT_NOT_PROCESSED},
};

/* Defaults encode() uses for the request fields pos_msg has no slot for: full answer,
 * card payment, answer at end of transaction, terminal decides on authorisation. */
#define DEFAULT_ANSWER '1'
#define DEFAULT_MODE '1'
#define DEFAULT_DELAY "A010"
#define DEFAULT_AUTH "B010"

#define PAN_MIN 13
#define PAN_MAX 19

static bool is_control(uint8_t c)
{
    return c == PB_ENQ || c == PB_ACK || c == PB_NAK || c == PB_EOT;
}

/* Data bytes are 0x20..0x7F; anything else inside a frame but ETX is a framing error. */
static bool is_data(uint8_t c)
{
    return c >= 0x20 && c <= 0x7F;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---- framing -------------------------------------------------------------------------- */

static int concert_scan(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out)
{
    if (len == 0 || buf[0] != PB_STX)
        return pb_scan_outside_stx(buf, len, is_control, out);
    size_t i = *resume > 1 ? *resume : 1;
    for (; i < len && buf[i] != PB_ETX; i++) {
        if (!is_data(buf[i]))
            return PB_ERR_FRAMING; /* e.g. a new STX: this one was a false start */
        if (i > CONCERT_PAYLOAD_MAX)
            return PB_ERR_FRAMING; /* payload buf[1..i] would exceed the maximum */
    }
    *resume = i;
    if (i + 1 >= len)
        return 0; /* need the ETX, or the LRC after it */
    size_t plen = i - 1;
    memcpy(out->payload, buf + 1, plen);
    out->payload_len = plen;
    out->type = PB_FRAME_DATA;
    /* LRC: XOR of every byte after STX up to and including ETX; it may be any value,
     * control bytes included, so it is taken without looking at it. */
    out->checksum_ok = pb_lrc(buf + 1, i) == buf[i + 1];
    return (int)(i + 2);
}

/* ---- decoding ------------------------------------------------------------------------- */

/* Parses an all-digit field; false when any byte is not a digit. */
static bool parse_digits(const uint8_t *p, struct concert_field f, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < f.len; i++) {
        if (!is_digit(p[f.off + i]))
            return false;
        v = v * 10 + (p[f.off + i] - '0');
    }
    *out = v;
    return true;
}

static void copy_field(char *dst, size_t cap, const uint8_t *p, struct concert_field f)
{
    pb_copy_printable(dst, cap, p + f.off, f.len);
}

static char printable(uint8_t c)
{
    return (c >= 0x20 && c < 0x7F) ? (char)c : '.';
}

static bool pan_char(uint8_t c)
{
    return is_digit(c) || c == '*';
}

/* Steps to the next maximal run of PAN characters in p[*i..len): its start and length
 * in *start and *n. False when there is none left. */
static bool next_pan_run(const uint8_t *p, size_t len, size_t *i, size_t *start, size_t *n)
{
    while (*i < len && !pan_char(p[*i]))
        (*i)++;
    if (*i >= len)
        return false;
    *start = *i;
    while (*i < len && pan_char(p[*i]))
        (*i)++;
    *n = *i - *start;
    return true;
}

/* How many leading characters of a run longer than a PAN are the PAN: the report may hold
 * the card number followed at once by more digits (pyTeliumManager's README shows
 * "4711690463168807" then 39 zeros). In clear, the first length whose Luhn check digit
 * holds, the common lengths first; once masked (stars inside), up to the last digit within
 * the first 19 characters, where the masking left the PAN's last 4. 0 when neither gives a
 * PAN length. */
static size_t long_run_pan_len(const uint8_t *p, size_t n)
{
    static const size_t lengths[] = {16, 15, 19, 14, 13, 18, 17};
    bool clear = true;
    for (size_t i = 0; i < n; i++)
        clear = clear && is_digit(p[i]);
    if (clear) {
        if (n == 0 || p[0] == '0')
            return 0; /* major industry identifier 0 is no card issuer's (ISO/IEC 7812) */
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
            if (lengths[i] < n && pb_luhn_valid(p, lengths[i]))
                return lengths[i];
        return 0;
    }
    size_t last = 0;
    for (size_t i = 0; i < n && i < PAN_MAX; i++)
        if (is_digit(p[i]))
            last = i + 1;
    return last >= PAN_MIN ? last : 0;
}

/* Finds the first run of digits (or '*' of an earlier masking) of PAN length whose
 * first 6 and last 4 are digits, or a longer run of digits that starts with a Luhn-valid
 * PAN, and stores it masked. Nothing else of the report is kept: it is card data. */
static void find_pan_in(const uint8_t *p, size_t len, char *pan, size_t cap)
{
    pan[0] = '\0';
    size_t i = 0, start, n;
    while (next_pan_run(p, len, &i, &start, &n)) {
        if (n > PAN_MAX)
            n = long_run_pan_len(p + start, n);
        if (n < PAN_MIN || n > PAN_MAX)
            continue;
        bool ends = true;
        for (size_t k = 0; k < 6; k++)
            ends = ends && is_digit(p[start + k]);
        for (size_t k = n - 4; k < n; k++)
            ends = ends && is_digit(p[start + k]);
        if (!ends)
            continue;
        char digits[PAN_MAX + 1];
        memcpy(digits, p + start, n);
        digits[n] = '\0';
        pb_mask_pan(digits, n, pan, cap);
        memset(digits, 0, sizeof digits);
        return;
    }
}

static size_t mask_card_text(uint8_t *p, size_t n, uint8_t *x);

/* The PAN as redact() leaves it: found in a copy masked the same way, so a capture decodes
 * to the same pan as the live line did (no PAN is taken from track data that redaction
 * stars whole). */
static void find_pan(const uint8_t *p, size_t len, char *pan, size_t cap)
{
    uint8_t copy[CONCERT_PAYLOAD_MAX], x = 0;
    size_t n = len < sizeof copy ? len : sizeof copy;
    memcpy(copy, p, n);
    mask_card_text(copy, n, &x);
    find_pan_in(copy, n, pan, cap);
    memset(copy, 0, n);
}

/* The fields request and answers share: POS number, private, amount, currency. A
 * non-digit amount or currency leaves the message malformed (kind OTHER, text says which
 * of `what`); otherwise it gets `kind`. */
static int decode_common(const uint8_t *p, struct concert_field pos, struct concert_field amount_f,
                         struct concert_field currency_f, struct concert_field priv,
                         const char *what, enum pb_kind kind, struct pos_msg *out)
{
    copy_field(out->pos_id, sizeof out->pos_id, p, pos);
    copy_field(out->reference, sizeof out->reference, p, priv);
    int64_t amount, currency;
    bool amount_ok = parse_digits(p, amount_f, &amount);
    bool currency_ok = parse_digits(p, currency_f, &currency);
    if (amount_ok) {
        out->amount = amount;
        out->flags |= PB_F_AMOUNT;
    }
    if (currency_ok) {
        out->currency = (uint16_t)currency;
        out->flags |= PB_F_CURRENCY;
    }
    if (!amount_ok || !currency_ok) {
        out->flags |= PB_F_MALFORMED;
        snprintf(out->text, sizeof out->text, "%s: %s not digits", what,
                 !amount_ok ? "amount" : "currency");
        return PB_ERR_SYNTAX;
    }
    out->kind = kind;
    return PB_OK;
}

static int decode_request(const uint8_t *p, struct pos_msg *out)
{
    char type = (char)p[REQ_TYPE.off];
    out->txn = PB_TXN_OTHER;
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (TYPE_TABLE[i].wire == type)
            out->txn = TYPE_TABLE[i].txn;
    const uint8_t *d = p + REQ_DELAY.off, *a = p + REQ_AUTH.off;
    snprintf(out->text, sizeof out->text, "answer=%c mode=%c type=%c delay=%c%c%c%c auth=%c%c%c%c",
             printable(p[REQ_ANSWER.off]), printable(p[REQ_MODE.off]), printable((uint8_t)type),
             printable(d[0]), printable(d[1]), printable(d[2]), printable(d[3]), printable(a[0]),
             printable(a[1]), printable(a[2]), printable(a[3]));
    return decode_common(p, REQ_POS, REQ_AMOUNT, REQ_CURRENCY, REQ_PRIVATE, "request",
                         PB_KIND_REQUEST, out);
}

static int decode_answer(const uint8_t *p, bool full, struct pos_msg *out)
{
    uint8_t status = p[ANS_STATUS.off];
    out->result = PB_RESULT_UNKNOWN;
    for (size_t i = 0; i < sizeof STATUS_TABLE / sizeof STATUS_TABLE[0]; i++)
        if ((uint8_t)STATUS_TABLE[i].wire == status)
            out->result = STATUS_TABLE[i].result;
    out->result_text[0] = printable(status);
    out->result_text[1] = '\0';
    if (is_digit(status)) {
        out->result_code = status - '0';
        out->flags |= PB_F_RESULT_CODE;
    }
    if (full)
        find_pan(p + ANS_REPORT.off, ANS_REPORT.len, out->pan, sizeof out->pan);
    snprintf(out->text, sizeof out->text, "format=%s mode=%c", full ? "full" : "short",
             printable(p[ANS_MODE.off]));
    return decode_common(p, ANS_POS, ANS_AMOUNT, ans_currency(full), ans_private(full),
                         full ? "full answer" : "short answer", PB_KIND_RESULT, out);
}

static int decode_fields(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    pb_msg_init(out);
    out->proto = &pb_proto_concert;
    out->dir = dir;
    if (!f) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    out->offset = f->offset;
    out->length = f->length;
    out->checksum_ok = f->checksum_ok;
    if (f->type == PB_FRAME_CONTROL) {
        out->control = f->control;
        switch (f->control) {
        case PB_ACK:
            out->kind = PB_KIND_ACK;
            return PB_OK;
        case PB_NAK:
            out->kind = PB_KIND_NAK;
            return PB_OK;
        case PB_ENQ:
            out->kind = PB_KIND_ENQ;
            return PB_OK;
        case PB_EOT:
            out->kind = PB_KIND_EOT;
            return PB_OK;
        }
        out->flags |= PB_F_MALFORMED;
        snprintf(out->text, sizeof out->text, "control byte 0x%02x", f->control);
        return PB_ERR_SYNTAX;
    }
    if (f->type != PB_FRAME_DATA || f->payload_len > sizeof f->payload) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    if (!f->checksum_ok)
        out->flags |= PB_F_CHECKSUM_BAD;
    const uint8_t *p = f->payload;
    size_t n = f->payload_len;
    /* The length tells the message; the request comes from the register, answers
     * from the terminal. */
    enum pb_dir expect = n == CONCERT_LEN_REQUEST ? PB_DIR_ECR
                         : (n == CONCERT_LEN_SHORT_ANSWER || n == CONCERT_LEN_FULL_ANSWER)
                             ? PB_DIR_PT
                             : PB_DIR_UNKNOWN;
    if (expect == PB_DIR_UNKNOWN) {
        find_pan(p, n, out->pan, sizeof out->pan);
        snprintf(out->text, sizeof out->text, "unknown %zu-byte frame", n);
        return PB_OK;
    }
    if (dir != PB_DIR_UNKNOWN && dir != expect) {
        snprintf(out->text, sizeof out->text, "unexpected %zu-byte %s from %s", n,
                 expect == PB_DIR_ECR ? "request" : "answer", pb_dir_name(dir));
        return PB_OK;
    }
    out->dir = expect;
    if (n == CONCERT_LEN_REQUEST)
        return decode_request(p, out);
    return decode_answer(p, n == CONCERT_LEN_FULL_ANSWER, out);
}

/* ---- encoding ------------------------------------------------------------------------- */

/* Copies the width bytes after "key" in text into out; the default when absent. Bytes
 * past the end of text are spaces (decode's text had its trailing spaces trimmed). */
static void text_token(const char *text, const char *key, size_t width, char *out, const char *dflt)
{
    const char *t = strstr(text, key);
    if (!t) {
        memcpy(out, dflt, width);
        return;
    }
    t += strlen(key);
    size_t avail = strnlen(t, width);
    memcpy(out, t, avail);
    memset(out + avail, ' ', width - avail);
}

/* Writes s into the field, space padded; PB_ERR_RANGE when too long, PB_ERR_INVAL for a
 * byte that is no Concert data byte. */
static int put_text(uint8_t *p, struct concert_field f, const char *s, size_t slen)
{
    if (slen > f.len)
        return PB_ERR_RANGE;
    for (size_t i = 0; i < slen; i++)
        if (!is_data((uint8_t)s[i]))
            return PB_ERR_INVAL;
    memcpy(p + f.off, s, slen);
    memset(p + f.off + slen, ' ', f.len - slen);
    return PB_OK;
}

static int put_digits(uint8_t *p, struct concert_field f, int64_t v)
{
    if (v < 0)
        return PB_ERR_RANGE;
    for (size_t i = f.len; i-- > 0;) {
        p[f.off + i] = (uint8_t)('0' + v % 10);
        v /= 10;
    }
    return v == 0 ? PB_OK : PB_ERR_RANGE;
}

static int put_common(uint8_t *p, const struct pos_msg *m, struct concert_field pos,
                      struct concert_field amount, struct concert_field currency,
                      struct concert_field priv)
{
    if (!(m->flags & PB_F_AMOUNT) || !(m->flags & PB_F_CURRENCY))
        return PB_ERR_INVAL;
    int r;
    if ((r = put_text(p, pos, m->pos_id, strnlen(m->pos_id, sizeof m->pos_id))) < 0 ||
        (r = put_text(p, priv, m->reference, strnlen(m->reference, sizeof m->reference))) < 0 ||
        (r = put_digits(p, amount, m->amount)) < 0 ||
        (r = put_digits(p, currency, m->currency)) < 0)
        return r;
    return PB_OK;
}

static int encode_request(const struct pos_msg *m, uint8_t *p)
{
    char text[PB_TEXT_MAX + 1];
    memcpy(text, m->text, PB_TEXT_MAX);
    text[PB_TEXT_MAX] = '\0';
    int r = put_common(p, m, REQ_POS, REQ_AMOUNT, REQ_CURRENCY, REQ_PRIVATE);
    if (r < 0)
        return r;
    char type = 0;
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (TYPE_TABLE[i].txn == m->txn)
            type = TYPE_TABLE[i].wire;
    if (m->txn == PB_TXN_OTHER && strstr(text, "type="))
        text_token(text, "type=", 1, &type, "?");
    if (!type)
        return PB_ERR_UNSUPPORTED;
    char answer, mode, delay[4], auth[4];
    text_token(text, "answer=", 1, &answer, (char[]){DEFAULT_ANSWER});
    text_token(text, "mode=", 1, &mode, (char[]){DEFAULT_MODE});
    text_token(text, "delay=", 4, delay, DEFAULT_DELAY);
    text_token(text, "auth=", 4, auth, DEFAULT_AUTH);
    if ((r = put_text(p, REQ_ANSWER, &answer, 1)) < 0 ||
        (r = put_text(p, REQ_MODE, &mode, 1)) < 0 || (r = put_text(p, REQ_TYPE, &type, 1)) < 0 ||
        (r = put_text(p, REQ_DELAY, delay, 4)) < 0 || (r = put_text(p, REQ_AUTH, auth, 4)) < 0)
        return r;
    return CONCERT_LEN_REQUEST;
}

static int encode_answer(const struct pos_msg *m, uint8_t *p)
{
    char text[PB_TEXT_MAX + 1];
    memcpy(text, m->text, PB_TEXT_MAX);
    text[PB_TEXT_MAX] = '\0';
    bool full = strstr(text, "format=full") != NULL ||
                (m->pan[0] != '\0' && strstr(text, "format=short") == NULL);
    int r = put_common(p, m, ANS_POS, ANS_AMOUNT, ans_currency(full), ans_private(full));
    if (r < 0)
        return r;
    char status = 0;
    for (size_t i = 0; i < sizeof STATUS_TABLE / sizeof STATUS_TABLE[0]; i++)
        if (STATUS_TABLE[i].result == m->result)
            status = STATUS_TABLE[i].wire;
    if (m->result == PB_RESULT_UNKNOWN && m->result_text[0] && !m->result_text[1])
        status = m->result_text[0]; /* a status byte we had no name for, as received */
    if (!status)
        return PB_ERR_UNSUPPORTED;
    char mode;
    text_token(text, "mode=", 1, &mode, (char[]){DEFAULT_MODE});
    if ((r = put_text(p, ANS_STATUS, &status, 1)) < 0 || (r = put_text(p, ANS_MODE, &mode, 1)) < 0)
        return r;
    if (full && (r = put_text(p, ANS_REPORT, m->pan, strnlen(m->pan, sizeof m->pan))) < 0)
        return r;
    return full ? CONCERT_LEN_FULL_ANSWER : CONCERT_LEN_SHORT_ANSWER;
}

static int concert_encode(const struct pos_msg *m, uint8_t *buf, size_t cap)
{
    if (!m || (!buf && cap))
        return PB_ERR_INVAL;
    uint8_t control = 0;
    switch (m->kind) {
    case PB_KIND_ACK:
        control = PB_ACK;
        break;
    case PB_KIND_NAK:
        control = PB_NAK;
        break;
    case PB_KIND_ENQ:
        control = PB_ENQ;
        break;
    case PB_KIND_EOT:
        control = PB_EOT;
        break;
    case PB_KIND_REQUEST:
    case PB_KIND_RESULT:
        break;
    default:
        return PB_ERR_UNSUPPORTED;
    }
    if (control) {
        if (cap < 1)
            return PB_ERR_RANGE;
        buf[0] = control;
        return 1;
    }
    if (m->flags & PB_F_MALFORMED)
        return PB_ERR_UNSUPPORTED;
    uint8_t payload[CONCERT_LEN_FULL_ANSWER];
    int n = m->kind == PB_KIND_REQUEST ? encode_request(m, payload) : encode_answer(m, payload);
    if (n < 0)
        return n;
    if (cap < (size_t)n + 3)
        return PB_ERR_RANGE;
    buf[0] = PB_STX;
    memcpy(buf + 1, payload, (size_t)n);
    buf[n + 1] = PB_ETX;
    buf[n + 2] = pb_lrc(buf + 1, (size_t)n + 1);
    return n + 3;
}

/* ---- redaction ------------------------------------------------------------------------ */

/* A run longer than any PAN: its first 6 characters and the last 4 of the PAN it starts
 * with (long_run_pan_len) kept, every other digit starred. */
static size_t mask_long_run(uint8_t *p, size_t n, uint8_t *x)
{
    size_t pan = long_run_pan_len(p, n), changed = 0;
    for (size_t i = 6; i < n; i++) {
        if (!is_digit(p[i]) || (pan && i + 4 >= pan && i < pan))
            continue;
        *x ^= (uint8_t)(p[i] ^ '*');
        p[i] = '*';
        changed++;
    }
    return changed;
}

/* Card data in free ASCII text (the full answer's report, an unknown layout): track data,
 * then PAN-long runs, a run longer than a PAN as the PAN it starts with. */
static size_t mask_card_text(uint8_t *p, size_t n, uint8_t *x)
{
    size_t changed = pb_mask_track_ascii(p, n, x), i = 0, seg = 0;
    while (i < n) {
        if (!pan_char(p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && pan_char(p[i]))
            i++;
        if (i - s <= PAN_MAX)
            continue;
        changed += pb_mask_digit_runs(p + seg, s - seg, x);
        changed += mask_long_run(p + s, i - s, x);
        seg = i;
    }
    return changed + pb_mask_digit_runs(p + seg, n - seg, x);
}

static size_t concert_redact(uint8_t *wire, size_t len)
{
    /* One complete frame: STX payload ETX LRC. */
    if (!wire || len < 3 || wire[0] != PB_STX || wire[len - 2] != PB_ETX)
        return 0;
    size_t plen = len - 3;
    for (size_t i = 1; i <= plen; i++)
        if (!is_data(wire[i]))
            return 0;
    uint8_t lrc = wire[len - 1];
    size_t changed;
    if (plen == CONCERT_LEN_REQUEST || plen == CONCERT_LEN_SHORT_ANSWER)
        return 0; /* no card data; their digit fields would look like a PAN */
    /* The report, or an unknown layout: any card number or track data. */
    uint8_t *from = plen == CONCERT_LEN_FULL_ANSWER ? wire + 1 + ANS_REPORT.off : wire + 1;
    size_t n = plen == CONCERT_LEN_FULL_ANSWER ? ANS_REPORT.len : plen;
    changed = mask_card_text(from, n, &lrc);
    if (lrc != wire[len - 1]) {
        wire[len - 1] = lrc;
        changed++;
    }
    return changed;
}

/* ---- probing -------------------------------------------------------------------------- */

static int concert_probe(const uint8_t *buf, size_t len)
{
    if (!buf)
        return 0;
    struct pb_frame *f = pb_probe_frame();
    if (!f)
        return 0;
    unsigned known = 0, other = 0, bad = 0, enq = 0, controls = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t resume = 0;
        f->type = PB_FRAME_GARBAGE;
        int r = concert_scan(buf + pos, len - pos, &resume, f);
        if (r <= 0) {
            pos++; /* framing error, or a frame cut by the end of the sample */
            continue;
        }
        if (f->type == PB_FRAME_DATA) {
            size_t n = f->payload_len;
            bool is_known = n == CONCERT_LEN_REQUEST || n == CONCERT_LEN_SHORT_ANSWER ||
                            n == CONCERT_LEN_FULL_ANSWER;
            if (!f->checksum_ok)
                bad++;
            else if (is_known)
                known++;
            else
                other++;
        } else if (f->type == PB_FRAME_CONTROL) {
            controls++;
            enq += f->control == PB_ENQ;
        }
        pos += (size_t)r;
    }
    if (known)
        return 95;
    if (other)
        return 70;
    if (bad)
        return 50;
    if (enq)
        return 30; /* ENQ opens every Concert exchange; ZVT never sends it */
    return controls ? 10 : 0;
}

/* Every field decoded, then any card number in free text masked (pb_msg_scrub). */
static int concert_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(f, dir, out);
    pb_msg_scrub(out);
    return r;
}

const struct pb_protocol pb_proto_concert = {
    .name = "concert",
    .description = "Ingenico Telium Concert (protocol E): STX ASCII fields ETX LRC",
    .default_line = "9600,7E1",
    .link_type = 148, /* LINKTYPE_USER1 */
    .max_frame = 1 + CONCERT_PAYLOAD_MAX + 2,
    .scan = concert_scan,
    .decode = concert_decode,
    .encode = concert_encode,
    .redact = concert_redact,
    .probe = concert_probe,
    .rules =
        {
            .has_accept = false,
            .result_ends_txn = true,
            .has_partial_marker = false,
            .accept_timeout_ms = 3000,
            .response_timeout_ms = 120000,
            .completion_timeout_ms = 0,
            .max_repeats = 2,
        },
    .discipline = &pb_concert_discipline,
};
