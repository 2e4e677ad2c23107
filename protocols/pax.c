/* PAX POSLink over serial/USB. Facts: docs/PROTOCOLS.md section 3, from the public
 * globalpayments SDKs and published device traces (read for facts, no code taken). */
#include "pax.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "pb_error.h"

#define DEFAULT_VERSION "1.28" /* the version field of docs/PROTOCOLS.md's vector */
#define PAN_MIN 13
#define PAN_MAX 19

/* Credit transaction types (the T00 type field). 16 and 99 both undo an earlier
 * transaction; encode() picks 16 unless text says "type=99". */
static const struct {
    const char *wire;
    enum pb_txn_type txn;
} TYPE_TABLE[] = {
    {"01", PB_TXN_PURCHASE}, /* sale */
    {"02", PB_TXN_REFUND},   /* return */
    {"03", PB_TXN_PREAUTH},  /* auth */
    {"16", PB_TXN_VOID},     /* void */
    {"99", PB_TXN_VOID},     /* reversal */
};

/* Response codes with a known outcome. */
#define CODE_OK "000000"
#define CODE_DECLINE "000100"
#define CODE_TIMEOUT "100001"
#define CODE_ABORTED "100002"
#define CODE_DUPLICATE "100011"

static const struct {
    const char *wire;
    enum pb_result result;
} CODE_TABLE[] = {
    {CODE_OK, PB_RESULT_APPROVED},
    {CODE_DECLINE, PB_RESULT_DECLINED},
    {CODE_DUPLICATE, PB_RESULT_DECLINED},     /* duplicate refused: nothing charged */
    {CODE_TIMEOUT, PB_RESULT_NOT_PROCESSED},  /* terminal gave up; reversed if it had sent */
    {CODE_ABORTED, PB_RESULT_ABORTED},
};

/* Request fields (FS separated): command, version, type, amount group, account group,
 * trace group, AVS, cashier, commercial, e-commerce, [extended data]. */
enum { RQ_CMD, RQ_VERSION, RQ_TYPE, RQ_AMOUNT, RQ_ACCOUNT, RQ_TRACE, RQ_FIELDS = 10 };
/* Response fields: status, command, version, response code, message, host group, type,
 * amount group, account group, trace group, AVS, commercial, e-commerce, extended. */
enum {
    RS_STATUS, RS_CMD, RS_VERSION, RS_CODE, RS_MESSAGE, RS_HOST, RS_TYPE, RS_AMOUNT,
    RS_ACCOUNT, RS_TRACE, RS_FIELDS = 10
};
/* Sub-fields (US separated) pos_msg has a slot for. */
enum { RQ_TRACE_REF = 0, RQ_TRACE_AUTH = 2, RQ_TRACE_ORIG = 3 };
enum { RQ_ACCOUNT_NUMBER = 0, RQ_ACCOUNT_EXPIRY = 1, RQ_ACCOUNT_CVV = 2 };
enum { RS_HOST_AUTH = 2, RS_HOST_TRACE = 4 };
enum { RS_AMOUNT_APPROVED = 0, RS_AMOUNT_DUE = 1 };
enum { RS_ACCOUNT_LAST4 = 0, RS_ACCOUNT_EXPIRY = 2 };
enum { RS_TRACE_TXN = 0, RS_TRACE_REF = 1 };

static bool is_control(uint8_t c)
{
    return c == PB_ACK || c == PB_NAK || c == PB_EOT;
}

/* Inside a frame: FS, GS, RS, US separators and printable ASCII. */
static bool is_data(uint8_t c)
{
    return (c >= PB_FS && c <= PB_US) || (c >= 0x20 && c <= 0x7F);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---- framing -------------------------------------------------------------------------- */

static int pax_scan(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out)
{
    if (len == 0 || buf[0] != PB_STX)
        return pb_scan_outside_stx(buf, len, is_control, out);
    size_t i = *resume > 1 ? *resume : 1;
    for (; i < len && buf[i] != PB_ETX; i++) {
        if (!is_data(buf[i]))
            return PB_ERR_FRAMING; /* a new STX or a stray control: a false start */
        if (i > PAX_PAYLOAD_MAX)
            return PB_ERR_FRAMING;
    }
    *resume = i;
    if (i + 1 >= len)
        return 0; /* need the ETX, or the LRC after it */
    size_t plen = i - 1;
    memcpy(out->payload, buf + 1, plen);
    out->payload_len = plen;
    out->type = PB_FRAME_DATA;
    /* LRC: XOR of the bytes after STX through ETX; any value, taken unexamined. */
    out->checksum_ok = pb_lrc(buf + 1, i) == buf[i + 1];
    return (int)(i + 2);
}

/* ---- field access --------------------------------------------------------------------- */

struct span {
    const uint8_t *p;
    size_t n;
};

/* Splits p at sep into at most max spans (the last one keeps any further separators).
 * Returns the count, at least 1. */
static size_t split(const uint8_t *p, size_t n, uint8_t sep, struct span *out, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i < n && k + 1 < max; i++) {
        if (p[i] == sep) {
            out[k++] = (struct span){p + start, i - start};
            start = i + 1;
        }
    }
    out[k++] = (struct span){p + start, n - start};
    return k;
}

/* Sub-field idx of a group (US separated); empty when absent. */
static struct span sub(struct span group, size_t idx)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= group.n; i++) {
        if (i == group.n || group.p[i] == PB_US) {
            if (k == idx)
                return (struct span){group.p + start, i - start};
            k++;
            start = i + 1;
        }
    }
    return (struct span){group.p, 0};
}

static struct span field(const struct span *f, size_t nf, size_t idx)
{
    static const uint8_t none[1];
    return idx < nf ? f[idx] : (struct span){none, 0};
}

static bool eq(struct span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n == l && memcmp(s.p, lit, l) == 0;
}

/* "T00", "A01", "B00": a letter and two digits. */
static bool is_command(struct span s)
{
    return s.n == 3 && s.p[0] >= 'A' && s.p[0] <= 'Z' && is_digit(s.p[1]) && is_digit(s.p[2]);
}

static uint32_t command_code(struct span s)
{
    return (uint32_t)s.p[0] << 8 | (uint32_t)((s.p[1] - '0') * 10 + (s.p[2] - '0'));
}

static bool all_digits(struct span s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!is_digit(s.p[i]))
            return false;
    return true;
}

/* An amount sub-field: 0 absent (empty), 1 parsed, -1 malformed. */
static int parse_amount(struct span s, int64_t *out)
{
    if (s.n == 0)
        return 0;
    if (s.n > PAX_AMOUNT_DIGITS || !all_digits(s))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++)
        v = v * 10 + (s.p[i] - '0');
    *out = v;
    return 1;
}

static void copy_span(char *dst, size_t cap, struct span s)
{
    if (s.n == 0 || !s.p) {
        dst[0] = '\0';
        return;
    }
    pb_copy_printable(dst, cap, s.p, s.n);
}

/* Stores an account sub-field masked. last4_only: every digit but the last 4 becomes
 * '*' (T01 account groups carry the last 4 digits; more is never kept); otherwise
 * pb_mask_pan (first 6 and last 4 of a manually keyed PAN). Only the last cap-1 bytes
 * are looked at, so the last 4 digits survive truncation. */
static void store_account(struct span s, char *out, size_t cap, bool last4_only)
{
    out[0] = '\0';
    if (s.n == 0 || !s.p)
        return;
    char tmp[PB_REF_MAX];
    size_t n = s.n < sizeof tmp - 1 ? s.n : sizeof tmp - 1;
    const uint8_t *p = s.p + (s.n - n);
    for (size_t i = 0; i < n; i++)
        tmp[i] = is_digit(p[i]) ? (char)p[i] : '*';
    tmp[n] = '\0';
    if (last4_only) {
        size_t keep = 0;
        for (size_t i = n; i-- > 0;) {
            if (tmp[i] >= '0' && tmp[i] <= '9' && keep++ >= 4)
                tmp[i] = '*';
        }
        snprintf(out, cap, "%s", tmp);
    } else {
        pb_mask_pan(tmp, n, out, cap);
    }
    memset(tmp, 0, sizeof tmp);
}

/* Any run of 13 to 19 digits in p goes to pan, masked (unknown commands). */
static void find_pan(const uint8_t *p, size_t n, char *pan, size_t cap)
{
    pan[0] = '\0';
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_digit(p[i]))
            i++;
        size_t start = i;
        while (i < n && is_digit(p[i]))
            i++;
        size_t run = i - start;
        if (run >= PAN_MIN && run <= PAN_MAX) {
            char digits[PAN_MAX + 1];
            memcpy(digits, p + start, run);
            digits[run] = '\0';
            pb_mask_pan(digits, run, pan, cap);
            memset(digits, 0, sizeof digits);
            return;
        }
    }
}

static enum pb_txn_type txn_of(struct span s)
{
    if (s.n == 0)
        return PB_TXN_NONE;
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (eq(s, TYPE_TABLE[i].wire))
            return TYPE_TABLE[i].txn;
    return PB_TXN_OTHER;
}

/* Appends " key=value" (printable, at most vmax bytes of value) to text. */
static void text_add(char *text, size_t cap, const char *key, struct span v, size_t vmax)
{
    char val[PB_TEXT_MAX];
    size_t n = v.n < vmax ? v.n : vmax;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof val; i++)
        val[k++] = (v.p[i] > 0x20 && v.p[i] < 0x7F) ? (char)v.p[i] : '.';
    val[k] = '\0';
    size_t l = strnlen(text, cap);
    snprintf(text + l, cap - l, "%s%s=%s", l ? " " : "", key, val);
}

/* ---- decoding ------------------------------------------------------------------------- */

static int malformed(struct pos_msg *out, const char *what)
{
    out->kind = PB_KIND_OTHER;
    out->flags |= PB_F_MALFORMED;
    snprintf(out->text, sizeof out->text, "%s", what);
    return PB_ERR_SYNTAX;
}

static int decode_request(const struct span *f, size_t nf, struct pos_msg *out)
{
    struct span type = field(f, nf, RQ_TYPE), amount = sub(field(f, nf, RQ_AMOUNT), 0);
    struct span account = field(f, nf, RQ_ACCOUNT), trace = field(f, nf, RQ_TRACE);
    out->txn = txn_of(type);
    text_add(out->text, sizeof out->text, "type", type, 4);
    text_add(out->text, sizeof out->text, "v", field(f, nf, RQ_VERSION), 8);
    store_account(sub(account, RQ_ACCOUNT_NUMBER), out->pan, sizeof out->pan, false);
    copy_span(out->reference, sizeof out->reference, sub(trace, RQ_TRACE_REF));
    copy_span(out->auth_code, sizeof out->auth_code, sub(trace, RQ_TRACE_AUTH));
    copy_span(out->receipt, sizeof out->receipt, sub(trace, RQ_TRACE_ORIG));
    int64_t v;
    int a = parse_amount(amount, &v);
    if (a < 0)
        return malformed(out, "T00: amount not digits");
    if (a > 0) {
        out->amount = v;
        out->flags |= PB_F_AMOUNT;
    }
    out->kind = PB_KIND_REQUEST;
    return PB_OK;
}

/* The outcome is read from result_text (trailing spaces trimmed), so what encode()
 * writes back from it maps to the same result. */
static void map_code(struct span code, struct pos_msg *out)
{
    copy_span(out->result_text, sizeof out->result_text, code);
    out->result = PB_RESULT_UNKNOWN;
    const char *t = out->result_text;
    struct span c = {(const uint8_t *)t, strlen(t)};
    if (c.n != 6 || !all_digits(c))
        return;
    int32_t v = 0;
    for (size_t i = 0; i < 6; i++)
        v = v * 10 + (t[i] - '0');
    out->result_code = v;
    out->flags |= PB_F_RESULT_CODE;
    for (size_t i = 0; i < sizeof CODE_TABLE / sizeof CODE_TABLE[0]; i++)
        if (eq(c, CODE_TABLE[i].wire)) {
            out->result = CODE_TABLE[i].result;
            return;
        }
    if (t[0] == '1')
        out->result = PB_RESULT_NOT_PROCESSED; /* 1xxxxx: the terminal's own errors */
}

static int decode_response(const struct span *f, size_t nf, struct pos_msg *out)
{
    struct span type = field(f, nf, RS_TYPE), host = field(f, nf, RS_HOST);
    struct span amounts = field(f, nf, RS_AMOUNT), trace = field(f, nf, RS_TRACE);
    out->txn = txn_of(type);
    map_code(field(f, nf, RS_CODE), out);
    text_add(out->text, sizeof out->text, "type", type, 4);
    text_add(out->text, sizeof out->text, "v", field(f, nf, RS_VERSION), 8);
    text_add(out->text, sizeof out->text, "status", field(f, nf, RS_STATUS), 4);
    /* The message is the last token and may hold spaces. */
    struct span msg = field(f, nf, RS_MESSAGE);
    size_t l = strnlen(out->text, sizeof out->text);
    snprintf(out->text + l, sizeof out->text - l, " msg=");
    l = strnlen(out->text, sizeof out->text);
    if (msg.n)
        pb_copy_printable(out->text + l, sizeof out->text - l, msg.p, msg.n);
    copy_span(out->auth_code, sizeof out->auth_code, sub(host, RS_HOST_AUTH));
    copy_span(out->trace, sizeof out->trace, sub(host, RS_HOST_TRACE));
    copy_span(out->receipt, sizeof out->receipt, sub(trace, RS_TRACE_TXN));
    copy_span(out->reference, sizeof out->reference, sub(trace, RS_TRACE_REF));
    store_account(sub(field(f, nf, RS_ACCOUNT), RS_ACCOUNT_LAST4), out->pan, sizeof out->pan,
                  true);
    int64_t approved = 0, due = 0;
    int a = parse_amount(sub(amounts, RS_AMOUNT_APPROVED), &approved);
    int d = parse_amount(sub(amounts, RS_AMOUNT_DUE), &due);
    if (a < 0 || d < 0)
        return malformed(out, a < 0 ? "T01: approved amount not digits"
                                    : "T01: amount due not digits");
    if (a > 0) {
        out->amount = approved;
        out->flags |= PB_F_AMOUNT;
    }
    if (d > 0 && due > 0) {
        /* Amount still owed after a partial approval: the tracker's partial marker. */
        out->amount_due = due;
        out->flags |= PB_F_AMOUNT_DUE;
    }
    out->kind = PB_KIND_RESULT;
    return PB_OK;
}

static int decode_fields(const struct pb_frame *fr, enum pb_dir dir, struct pos_msg *out)
{
    pb_msg_init(out);
    out->proto = &pb_proto_pax;
    out->dir = dir;
    if (!fr) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    out->offset = fr->offset;
    out->length = fr->length;
    out->checksum_ok = fr->checksum_ok;
    if (fr->type == PB_FRAME_CONTROL) {
        out->control = fr->control;
        switch (fr->control) {
        case PB_ACK:
            out->kind = PB_KIND_ACK;
            return PB_OK;
        case PB_NAK:
            out->kind = PB_KIND_NAK;
            return PB_OK;
        case PB_EOT:
            out->kind = PB_KIND_EOT;
            return PB_OK;
        }
        out->flags |= PB_F_MALFORMED;
        snprintf(out->text, sizeof out->text, "control byte 0x%02x", fr->control);
        return PB_ERR_SYNTAX;
    }
    if (fr->type != PB_FRAME_DATA || fr->payload_len > sizeof fr->payload) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    if (!fr->checksum_ok)
        out->flags |= PB_F_CHECKSUM_BAD;
    struct span f[PAX_FIELDS_MAX];
    size_t nf = split(fr->payload, fr->payload_len, PB_FS, f, PAX_FIELDS_MAX);
    /* Requests start with the command; responses with a status digit, then it. */
    enum pb_dir expect = PB_DIR_UNKNOWN;
    struct span cmd = {NULL, 0};
    if (nf >= 2 && is_command(f[0])) {
        expect = PB_DIR_ECR;
        cmd = f[0];
    } else if (nf >= 2 && f[0].n >= 1 && f[0].n <= 2 && all_digits(f[0]) && is_command(f[1])) {
        expect = PB_DIR_PT;
        cmd = f[1];
    }
    if (expect == PB_DIR_UNKNOWN) {
        find_pan(fr->payload, fr->payload_len, out->pan, sizeof out->pan);
        snprintf(out->text, sizeof out->text, "unknown %zu-byte frame", fr->payload_len);
        return PB_OK;
    }
    out->cmd = command_code(cmd);
    if (dir != PB_DIR_UNKNOWN && dir != expect) {
        snprintf(out->text, sizeof out->text, "unexpected %c%c%c from %s", cmd.p[0], cmd.p[1],
                 cmd.p[2], pb_dir_name(dir));
        return PB_OK;
    }
    out->dir = expect;
    if (expect == PB_DIR_ECR && eq(cmd, "T00"))
        return decode_request(f, nf, out);
    if (expect == PB_DIR_PT && eq(cmd, "T01"))
        return decode_response(f, nf, out);
    find_pan(fr->payload, fr->payload_len, out->pan, sizeof out->pan);
    snprintf(out->text, sizeof out->text, "command %c%c%c", cmd.p[0], cmd.p[1], cmd.p[2]);
    return PB_OK;
}

/* ---- encoding ------------------------------------------------------------------------- */

struct writer {
    uint8_t *p;
    size_t n, cap;
    int err;
};

static void put_byte(struct writer *w, uint8_t b)
{
    if (w->n >= w->cap) {
        w->err = PB_ERR_RANGE;
        return;
    }
    w->p[w->n++] = b;
}

/* Field text: printable ASCII only (a separator inside would shift every field). */
static void put_str(struct writer *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c > 0x7F) {
            w->err = PB_ERR_INVAL;
            return;
        }
        put_byte(w, c);
    }
}

static void put_cstr(struct writer *w, const char *s, size_t cap)
{
    put_str(w, s, strnlen(s, cap));
}

/* Writes the sub-fields of a group, dropping empty trailing ones. */
static void put_group(struct writer *w, const char *const *subs, size_t n, size_t cap)
{
    while (n > 0 && (!subs[n - 1] || !subs[n - 1][0]))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (i)
            put_byte(w, PB_US);
        if (subs[i])
            put_cstr(w, subs[i], cap);
    }
}

/* The value after "key=" in text up to the next space (or to the end when rest). */
static void token(const char *text, const char *key, bool rest, char *out, size_t cap,
                  const char *dflt)
{
    const char *t = text;
    size_t kl = strlen(key);
    for (;;) {
        t = strstr(t, key);
        if (!t || t == text || t[-1] == ' ')
            break;
        t += kl;
    }
    if (!t || t[kl] != '=') {
        snprintf(out, cap, "%s", dflt);
        return;
    }
    t += kl + 1;
    size_t n = rest ? strlen(t) : strcspn(t, " ");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, t, n);
    out[n] = '\0';
}

static int type_wire(const struct pos_msg *m, const char *text, char *type, size_t cap)
{
    char tok[8];
    token(text, "type", false, tok, sizeof tok, "");
    if (m->txn == PB_TXN_NONE) {
        type[0] = '\0';
        return PB_OK;
    }
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (strcmp(tok, TYPE_TABLE[i].wire) == 0 && TYPE_TABLE[i].txn == m->txn) {
            snprintf(type, cap, "%s", tok);
            return PB_OK;
        }
    if (m->txn == PB_TXN_OTHER && tok[0] && txn_of((struct span){(const uint8_t *)tok,
                                                                 strlen(tok)}) == PB_TXN_OTHER) {
        snprintf(type, cap, "%s", tok);
        return PB_OK;
    }
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (TYPE_TABLE[i].txn == m->txn) {
            snprintf(type, cap, "%s", TYPE_TABLE[i].wire);
            return PB_OK;
        }
    return PB_ERR_UNSUPPORTED;
}

static char *amount_str(char *buf, size_t cap, bool present, int64_t v)
{
    buf[0] = '\0';
    if (present)
        snprintf(buf, cap, "%lld", (long long)v);
    return buf;
}

static void encode_request(const struct pos_msg *m, const char *text, struct writer *w)
{
    char version[16], type[8], amount[24];
    token(text, "v", false, version, sizeof version, DEFAULT_VERSION);
    if ((w->err = type_wire(m, text, type, sizeof type)) < 0)
        return;
    if ((m->flags & PB_F_AMOUNT) && (m->amount < 0 || m->amount > 999999999999999LL)) {
        w->err = PB_ERR_RANGE;
        return;
    }
    amount_str(amount, sizeof amount, m->flags & PB_F_AMOUNT, m->amount);
    const char *amounts[] = {amount};
    const char *account[] = {m->pan};
    const char *trace[] = {m->reference, "", m->auth_code, m->receipt};
    put_str(w, "T00", 3);
    put_byte(w, PB_FS);
    put_cstr(w, version, sizeof version);
    put_byte(w, PB_FS);
    put_cstr(w, type, sizeof type);
    put_byte(w, PB_FS);
    put_group(w, amounts, 1, sizeof amount);
    put_byte(w, PB_FS);
    put_group(w, account, 1, sizeof m->pan);
    put_byte(w, PB_FS);
    put_group(w, trace, 4, PB_REF_MAX);
    for (size_t i = RQ_TRACE + 1; i < RQ_FIELDS; i++)
        put_byte(w, PB_FS); /* AVS, cashier, commercial, e-commerce: empty */
}

static void encode_response(const struct pos_msg *m, const char *text, struct writer *w)
{
    char version[16], type[8], status[8], msg[PB_TEXT_MAX], code[PB_REF_MAX];
    char approved[24], due[24];
    token(text, "v", false, version, sizeof version, DEFAULT_VERSION);
    token(text, "status", false, status, sizeof status, "0");
    token(text, "msg", true, msg, sizeof msg, "");
    if ((w->err = type_wire(m, text, type, sizeof type)) < 0)
        return;
    size_t cl = strnlen(m->result_text, sizeof m->result_text);
    bool raw = cl == 6;
    for (size_t i = 0; i < cl; i++)
        raw = raw && is_digit((uint8_t)m->result_text[i]);
    code[0] = '\0';
    if (raw) {
        memcpy(code, m->result_text, 7);
    } else {
        for (size_t i = 0; i < sizeof CODE_TABLE / sizeof CODE_TABLE[0]; i++)
            if (CODE_TABLE[i].result == m->result) {
                snprintf(code, sizeof code, "%s", CODE_TABLE[i].wire);
                break;
            }
        if (!code[0]) {
            w->err = PB_ERR_UNSUPPORTED;
            return;
        }
    }
    if (((m->flags & PB_F_AMOUNT) && (m->amount < 0 || m->amount > 999999999999999LL)) ||
        ((m->flags & PB_F_AMOUNT_DUE) &&
         (m->amount_due < 0 || m->amount_due > 999999999999999LL))) {
        w->err = PB_ERR_RANGE;
        return;
    }
    amount_str(approved, sizeof approved, m->flags & PB_F_AMOUNT, m->amount);
    amount_str(due, sizeof due, (m->flags & PB_F_AMOUNT_DUE) && m->amount_due > 0,
               m->amount_due);
    const char *host[] = {"", "", m->auth_code, "", m->trace};
    const char *amounts[] = {approved, due};
    const char *account[] = {m->pan};
    const char *trace[] = {m->receipt, m->reference};
    put_cstr(w, status, sizeof status);
    put_byte(w, PB_FS);
    put_str(w, "T01", 3);
    put_byte(w, PB_FS);
    put_cstr(w, version, sizeof version);
    put_byte(w, PB_FS);
    put_cstr(w, code, sizeof code);
    put_byte(w, PB_FS);
    put_cstr(w, msg, sizeof msg);
    put_byte(w, PB_FS);
    put_group(w, host, 5, PB_REF_MAX);
    put_byte(w, PB_FS);
    put_cstr(w, type, sizeof type);
    put_byte(w, PB_FS);
    put_group(w, amounts, 2, sizeof approved);
    put_byte(w, PB_FS);
    put_group(w, account, 1, sizeof m->pan);
    put_byte(w, PB_FS);
    put_group(w, trace, 2, PB_REF_MAX);
}

static int pax_encode(const struct pos_msg *m, uint8_t *buf, size_t cap)
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
    char text[PB_TEXT_MAX + 1];
    memcpy(text, m->text, PB_TEXT_MAX);
    text[PB_TEXT_MAX] = '\0';
    if (cap < 3)
        return PB_ERR_RANGE;
    struct writer w = {buf + 1, 0, cap - 3 < PAX_PAYLOAD_MAX ? cap - 3 : PAX_PAYLOAD_MAX, 0};
    if (m->kind == PB_KIND_REQUEST)
        encode_request(m, text, &w);
    else
        encode_response(m, text, &w);
    if (w.err < 0)
        return w.err;
    buf[0] = PB_STX;
    buf[w.n + 1] = PB_ETX;
    buf[w.n + 2] = pb_lrc(buf + 1, w.n + 1);
    return (int)w.n + 3;
}

/* ---- redaction ------------------------------------------------------------------------ */

/* Stars digits of s (a sub-field inside wire) except the first `head` and last `tail`
 * digits, keeping the LRC in step by XOR. */
static size_t star_digits(uint8_t *wire, struct span s, size_t head, size_t tail, uint8_t *lrc)
{
    size_t digits = 0, changed = 0;
    for (size_t i = 0; i < s.n; i++)
        digits += is_digit(s.p[i]);
    size_t seen = 0;
    for (size_t i = 0; i < s.n; i++) {
        uint8_t *c = wire + (s.p + i - wire);
        if (!is_digit(*c))
            continue;
        seen++;
        if (seen <= head || seen > digits - (tail < digits ? tail : digits))
            continue;
        *lrc ^= (uint8_t)(*c ^ '*');
        *c = '*';
        changed++;
    }
    return changed;
}

static size_t pax_redact(uint8_t *wire, size_t len)
{
    if (!wire || len < 3 || wire[0] != PB_STX || wire[len - 2] != PB_ETX)
        return 0;
    size_t plen = len - 3;
    if (plen > PAX_PAYLOAD_MAX)
        return 0;
    for (size_t i = 1; i <= plen; i++)
        if (!is_data(wire[i]))
            return 0;
    uint8_t lrc = wire[len - 1];
    size_t changed = 0;
    struct span f[PAX_FIELDS_MAX];
    size_t nf = split(wire + 1, plen, PB_FS, f, PAX_FIELDS_MAX);
    size_t amounts = SIZE_MAX; /* the amount group: numbers, not card data */
    if (nf >= 2 && eq(f[0], "T00")) {
        amounts = RQ_AMOUNT;
        /* Manual entry: account number (first 6, last 4 kept), expiry, CVV. */
        struct span acc = field(f, nf, RQ_ACCOUNT);
        struct span number = sub(acc, RQ_ACCOUNT_NUMBER);
        size_t digits = 0;
        for (size_t i = 0; i < number.n; i++)
            digits += is_digit(number.p[i]) || number.p[i] == '*';
        /* as pb_mask_pan: a short number keeps its last 4 only (stars of an earlier
         * masking count, so a second redaction changes nothing) */
        changed += star_digits(wire, number, digits >= PAN_MIN ? 6 : 0, 4, &lrc);
        changed += star_digits(wire, sub(acc, RQ_ACCOUNT_EXPIRY), 0, 0, &lrc);
        changed += star_digits(wire, sub(acc, RQ_ACCOUNT_CVV), 0, 0, &lrc);
    } else if (nf >= 2 && f[0].n >= 1 && f[0].n <= 2 && all_digits(f[0]) && eq(f[1], "T01")) {
        amounts = RS_AMOUNT;
        /* Last 4 digits only, and the expiry. */
        struct span acc = field(f, nf, RS_ACCOUNT);
        changed += star_digits(wire, sub(acc, RS_ACCOUNT_LAST4), 0, 4, &lrc);
        changed += star_digits(wire, sub(acc, RS_ACCOUNT_EXPIRY), 0, 0, &lrc);
    }
    /* Any other place (a message, extended data, an unknown layout): any PAN-long run. */
    if (amounts < nf) {
        size_t from = (size_t)(f[amounts].p - wire), to = from + f[amounts].n;
        changed += pb_mask_digit_runs(wire + 1, from - 1, &lrc);
        changed += pb_mask_digit_runs(wire + to, 1 + plen - to, &lrc);
    } else {
        changed += pb_mask_digit_runs(wire + 1, plen, &lrc);
    }
    if (lrc != wire[len - 1]) {
        wire[len - 1] = lrc;
        changed++;
    }
    return changed;
}

/* ---- probing -------------------------------------------------------------------------- */

static int pax_probe(const uint8_t *buf, size_t len)
{
    if (!buf)
        return 0;
    struct pb_frame *f = pb_probe_frame();
    if (!f)
        return 0;
    unsigned known = 0, shaped = 0, plain = 0, bad = 0, controls = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t resume = 0;
        f->type = PB_FRAME_GARBAGE;
        int r = pax_scan(buf + pos, len - pos, &resume, f);
        if (r <= 0) {
            pos++;
            continue;
        }
        if (f->type == PB_FRAME_DATA) {
            struct span fs[4];
            size_t nf = split(f->payload, f->payload_len, PB_FS, fs, 4);
            bool cmd = (nf >= 2 && is_command(fs[0])) ||
                       (nf >= 2 && fs[0].n >= 1 && fs[0].n <= 2 && all_digits(fs[0]) &&
                        is_command(fs[1]));
            if (!f->checksum_ok)
                bad += cmd;
            else if (cmd)
                known++;
            else if (nf >= 2)
                shaped++;
            else
                plain++;
        } else if (f->type == PB_FRAME_CONTROL) {
            controls++;
        }
        pos += (size_t)r;
    }
    if (known)
        return 95;
    if (shaped)
        return 70;
    if (bad)
        return 50;
    if (plain)
        return 20; /* STX text ETX LRC without a separator: Concert's shape too */
    return controls ? 10 : 0;
}

/* Every field decoded, then any card number in free text masked (pb_msg_scrub). */
static int pax_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(f, dir, out);
    pb_msg_scrub(out);
    return r;
}

const struct pb_protocol pb_proto_pax = {
    .name = "pax",
    .description = "PAX POSLink serial: STX FS/US-separated ASCII fields ETX LRC",
    .default_line = "9600,8N1", /* 9600 default; 8N1 is [?] in docs/PROTOCOLS.md */
    .link_type = 150,           /* LINKTYPE_USER3 */
    .max_frame = 1 + PAX_PAYLOAD_MAX + 2,
    .scan = pax_scan,
    .decode = pax_decode,
    .encode = pax_encode,
    .redact = pax_redact,
    .probe = pax_probe,
    .rules =
        {
            .has_accept = false,      /* the ACK of the T00 frame is all there is */
            .result_ends_txn = true,  /* the T01 is final */
            .has_partial_marker = true, /* amount due > 0 */
            .accept_timeout_ms = 3000,   /* ACK of a frame: the SDKs wait ~ seconds */
            .response_timeout_ms = 120000, /* card + host; SDK default timeouts ~ 60-120 s */
            .completion_timeout_ms = 0,
            .max_repeats = 2, /* 3 NAKs, then EOT: the first try and two repeats */
        },
    .discipline = &pb_pax_discipline,
};
