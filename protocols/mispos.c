/* UnionPay-style MIS-POS. Facts: docs/PROTOCOLS.md section 4, from the public Allinpay client
 * gsccs/mispos-client (read for facts, no code taken). */
#include "mispos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "pb_error.h"

#define PAN_MIN 13
#define PAN_MAX 19 /* ISO/IEC 7812: 12 to 19 digits */
#define AMOUNT_DIGITS 12     /* 9F02 on the wire: 12 ASCII digits, fen */
#define AMOUNT_DIGITS_MAX 18 /* longest amount decoded */
#define APP_MAX 16           /* longest 9F00 value kept in text */

const struct pb_mispos_profile pb_mispos_allinpay = {
    .name = "allinpay",
    .len_bcd = true,                       /* 00 30 = 30 bytes [checked on the vector] */
    .lrc_span = PB_MISPOS_LRC_LEN_TO_ETX,  /* [checked] */
    .currency = 156,                       /* CNY: amounts are in fen */
    .tags =
        {
            .app = 0x9F00,
            .type = 0x9F01,
            .amount = 0x9F02,
            .pos = 0x9F1F,
            .orig_trace = 0x9F20,
            .result = 0x9F14,
            .terminal = 0x9F05,
            .card = 0x9F0B,
            .trace = 0x9F0E,
            .auth = 0x9F0F,
            .expiry = 0x9F1B, /* ExpireDate [gsccs CacheUtil BANKCARD_TAG_EXPIREDATE] */
        },
};

static const struct pb_mispos_profile *const PROFILES[] = {&pb_mispos_allinpay};

const struct pb_mispos_profile *pb_mispos_profile_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof PROFILES / sizeof PROFILES[0]; i++)
        if (strcmp(PROFILES[i]->name, name) == 0)
            return PROFILES[i];
    return NULL;
}

/* 9F01 transaction types. */
static const struct {
    uint8_t wire;
    enum pb_txn_type txn;
} TYPE_TABLE[] = {
    {2, PB_TXN_PURCHASE}, /* sale */
    {3, PB_TXN_VOID},     /* void */
    {4, PB_TXN_REFUND},   /* refund */
    {6, PB_TXN_PREAUTH},  /* pre-authorisation */
    {14, PB_TXN_END_OF_DAY}, /* settlement [gsccs CacheUtil BANKCARD_TRANSTYPE_SETTLE] */
    {15, PB_TXN_STATUS},  /* query the last transaction */
};

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* 9F14 codes [gsccs/mispos-client config/allinpay-rejcode.properties: bankcard.00 success,
 * bankcard.10 "承兑部分金额", approved for part of the amount, as ISO 8583's 10]. */
#define RESULT_OK "00"
#define RESULT_PARTIAL "10"

/* EMV data elements that hold card data [EMV 4.3 Book 3 Annex A; EMV Contactless Book C-2
 * for 56 and 9F6B]. */
enum {
    EMV_PAN = 0x5A,          /* Application PAN, cn: packed BCD, F-padded */
    EMV_TRACK2_EQ = 0x57,    /* Track 2 Equivalent Data: PAN, D, YYMM, service code, ... */
    EMV_TRACK1 = 0x56,       /* Track 1 Data, ans */
    EMV_TRACK2 = 0x9F6B,     /* Track 2 Data, b: as 57 */
    EMV_TRACK1_DISC = 0x9F1F, /* Track 1 Discretionary Data, ans */
    EMV_TRACK2_DISC = 0x9F20, /* Track 2 Discretionary Data, cn */
    EMV_EXPIRY = 0x5F24,     /* Application Expiration Date, n6 YYMMDD */
};

/* A 2-byte MIS-POS tag that is the EMV tag emv: a 1-byte EMV tag may come as 00xx or
 * xx00 ([?]: no public MIS-POS source carries one). */
static bool emv_tag(uint16_t tag, uint16_t emv)
{
    return emv <= 0xFF ? tag == emv || tag == (uint16_t)(emv << 8) : tag == emv;
}

static bool is_control(uint8_t c)
{
    return c == PB_ACK || c == PB_NAK;
}

static size_t data_max(const struct pb_mispos_profile *pr)
{
    return pr->len_bcd ? MISPOS_DATA_MAX_BCD : MISPOS_DATA_MAX_BINARY;
}

/* LEN from its two bytes; -1 when a BCD nibble is over 9. */
static long read_len(const struct pb_mispos_profile *pr, const uint8_t *p)
{
    if (!pr->len_bcd)
        return (long)p[0] << 8 | p[1];
    long v = 0;
    for (int i = 0; i < 2; i++) {
        unsigned hi = p[i] >> 4, lo = p[i] & 15;
        if (hi > 9 || lo > 9)
            return -1;
        v = v * 100 + hi * 10 + lo;
    }
    return v;
}

static void write_len(const struct pb_mispos_profile *pr, size_t n, uint8_t *p)
{
    if (pr->len_bcd) {
        unsigned d = (unsigned)n;
        p[0] = (uint8_t)(((d / 1000) % 10) << 4 | ((d / 100) % 10));
        p[1] = (uint8_t)(((d / 10) % 10) << 4 | (d % 10));
    } else {
        p[0] = (uint8_t)(n >> 8);
        p[1] = (uint8_t)n;
    }
}

/* LRC of a whole frame w (STX LEN data ETX, n data bytes) over the profile's span. */
static uint8_t frame_lrc(const struct pb_mispos_profile *pr, const uint8_t *w, size_t n)
{
    switch (pr->lrc_span) {
    case PB_MISPOS_LRC_DATA_TO_ETX:
        return pb_lrc(w + 3, n + 1);
    case PB_MISPOS_LRC_STX_TO_ETX:
        return pb_lrc(w, n + 4);
    case PB_MISPOS_LRC_LEN_TO_DATA:
        return pb_lrc(w + 1, n + 2);
    case PB_MISPOS_LRC_LEN_TO_ETX:
    default:
        return pb_lrc(w + 1, n + 3);
    }
}

/* ---- framing -------------------------------------------------------------------------- */

int pb_mispos_scan(const struct pb_mispos_profile *pr, const uint8_t *buf, size_t len,
                   size_t *resume, struct pb_frame *out)
{
    (void)resume; /* LEN says where the frame ends: nothing to resume */
    if (len == 0 || buf[0] != PB_STX)
        return pb_scan_outside_stx(buf, len, is_control, out);
    if (len < 3)
        return 0;
    long l = read_len(pr, buf + 1);
    if (l < 0 || (size_t)l > data_max(pr))
        return PB_ERR_FRAMING; /* no LEN: this STX was data or noise */
    size_t n = (size_t)l, total = n + 5;
    if (len < total)
        return 0;
    if (buf[3 + n] != PB_ETX)
        return PB_ERR_FRAMING; /* LEN lies: resynchronise at the next byte */
    memcpy(out->payload, buf + 3, n);
    out->payload_len = n;
    out->type = PB_FRAME_DATA;
    out->checksum_ok = frame_lrc(pr, buf, n) == buf[total - 1];
    return (int)total;
}

int pb_mispos_frame(const struct pb_mispos_profile *pr, const uint8_t *data, size_t n,
                    uint8_t *buf, size_t cap)
{
    if (!pr || (!data && n) || !buf)
        return PB_ERR_INVAL;
    if (n > data_max(pr) || cap < n + 5)
        return PB_ERR_RANGE;
    buf[0] = PB_STX;
    write_len(pr, n, buf + 1);
    if (n)
        memmove(buf + 3, data, n);
    buf[3 + n] = PB_ETX;
    buf[4 + n] = frame_lrc(pr, buf, n);
    return (int)(n + 5);
}

/* ---- TLV ------------------------------------------------------------------------------ */

struct tlv {
    uint16_t tag;
    size_t off, len; /* value position inside the data */
};

/* Next TLV at *pos: 1 found, 0 end of data, PB_ERR_TRUNCATED when it runs past. */
static int next_tlv(const uint8_t *p, size_t n, size_t *pos, struct tlv *t)
{
    if (*pos >= n)
        return 0;
    if (n - *pos < 4)
        return PB_ERR_TRUNCATED;
    t->tag = (uint16_t)(p[*pos] << 8 | p[*pos + 1]);
    t->len = (size_t)p[*pos + 2] << 8 | p[*pos + 3];
    t->off = *pos + 4;
    if (t->len > n - t->off)
        return PB_ERR_TRUNCATED;
    *pos = t->off + t->len;
    return 1;
}

/* ---- decoding ------------------------------------------------------------------------- */

static void copy_value(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    if (n == 0) {
        dst[0] = '\0';
        return;
    }
    pb_copy_printable(dst, cap, p, n);
}

static bool printable_value(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7E)
            return false;
    return true;
}

/* Card data written as ASCII digits: digits, '*' of a masking, and the separators track
 * data and dates use. A value with any other byte is packed BCD. */
static bool digit_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(p[i]) && (p[i] == 0 || !strchr("*= Dd/-?;", p[i])))
            return false;
    return n > 0;
}

/* A card number value into digits (up to cap-1): ASCII as it is (other bytes '*'), packed
 * BCD nibble by nibble (E, an earlier masking, becomes '*'; F padding ends it). */
static size_t card_digits(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    if (digit_text(p, n)) {
        for (size_t i = 0; i < n && k + 1 < cap; i++)
            out[k++] = is_digit(p[i]) ? (char)p[i] : '*';
    } else {
        for (size_t i = 0; i < 2 * n && k + 1 < cap; i++) {
            unsigned v = i & 1 ? p[i / 2] & 15u : p[i / 2] >> 4;
            if (v == 0xF)
                break;
            out[k++] = v <= 9 ? (char)('0' + v) : '*';
        }
    }
    out[k] = '\0';
    return k;
}

static void store_pan(const uint8_t *p, size_t n, char *out, size_t cap)
{
    char tmp[PB_REF_MAX];
    size_t k = card_digits(p, n, tmp, sizeof tmp);
    pb_mask_pan(tmp, k, out, cap);
    memset(tmp, 0, sizeof tmp);
}

static int malformed(struct pos_msg *out, int err, const char *what, uint16_t tag)
{
    out->kind = PB_KIND_OTHER;
    out->flags |= PB_F_MALFORMED;
    out->flags &= ~(uint32_t)PB_F_CURRENCY;
    snprintf(out->text, sizeof out->text, "%s %04X", what, tag);
    return err;
}

static void text_add(char *text, size_t cap, const char *tok)
{
    size_t l = strnlen(text, cap);
    snprintf(text + l, cap - l, "%s%s", l ? " " : "", tok);
}

static int decode_fields(const struct pb_mispos_profile *pr, const struct pb_frame *f,
                         enum pb_dir dir, struct pos_msg *out)
{
    pb_msg_init(out);
    out->proto = &pb_proto_mispos;
    out->dir = dir;
    if (!f || !pr) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    out->offset = f->offset;
    out->length = f->length;
    out->checksum_ok = f->checksum_ok;
    if (f->type == PB_FRAME_CONTROL) {
        out->control = f->control;
        if (f->control == PB_ACK || f->control == PB_NAK) {
            out->kind = f->control == PB_ACK ? PB_KIND_ACK : PB_KIND_NAK;
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
    size_t n = f->payload_len, pos = 0;
    const struct pb_mispos_tags *tg = &pr->tags;
    bool has_type = false, has_result = false, has_receipt = false, has_card = false;
    struct tlv t = {0};
    int r;
    char app[APP_MAX + 8] = "", type_tok[16] = "";
    while ((r = next_tlv(p, n, &pos, &t)) > 0) {
        const uint8_t *v = p + t.off;
        if (t.tag == tg->type) {
            if (t.len != 1)
                return malformed(out, PB_ERR_SYNTAX, "type not 1 byte in", t.tag);
            has_type = true;
            out->txn = PB_TXN_OTHER;
            type_tok[0] = '\0';
            for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
                if (TYPE_TABLE[i].wire == v[0])
                    out->txn = TYPE_TABLE[i].txn;
            if (out->txn == PB_TXN_OTHER)
                snprintf(type_tok, sizeof type_tok, "type=%u", v[0]);
        } else if (t.tag == tg->amount) {
            int64_t a = 0;
            bool ok = t.len >= 1 && t.len <= AMOUNT_DIGITS_MAX;
            for (size_t i = 0; ok && i < t.len; i++) {
                ok = is_digit(v[i]);
                a = a * 10 + (v[i] - '0');
            }
            if (!ok)
                return malformed(out, PB_ERR_SYNTAX, "amount not digits in", t.tag);
            out->amount = a;
            out->flags |= PB_F_AMOUNT;
        } else if (t.tag == tg->result) {
            has_result = true;
            copy_value(out->result_text, sizeof out->result_text, v, t.len);
        } else if (t.tag == tg->pos) {
            copy_value(out->pos_id, sizeof out->pos_id, v, t.len);
        } else if (t.tag == tg->orig_trace) {
            has_receipt = t.len > 0;
            copy_value(out->receipt, sizeof out->receipt, v, t.len);
        } else if (t.tag == tg->terminal) {
            copy_value(out->terminal_id, sizeof out->terminal_id, v, t.len);
        } else if (t.tag == tg->card) {
            has_card = true;
            store_pan(v, t.len, out->pan, sizeof out->pan);
        } else if (emv_tag(t.tag, EMV_PAN) && !has_card) {
            store_pan(v, t.len, out->pan, sizeof out->pan); /* the profile's card tag wins */
        } else if (t.tag == tg->trace) {
            copy_value(out->trace, sizeof out->trace, v, t.len);
        } else if (t.tag == tg->auth) {
            copy_value(out->auth_code, sizeof out->auth_code, v, t.len);
        } else if (t.tag == tg->app && tg->app && t.len > 0) {
            char val[APP_MAX + 1];
            size_t k = t.len < APP_MAX ? t.len : APP_MAX;
            for (size_t i = 0; i < k; i++)
                val[i] = (v[i] > 0x20 && v[i] < 0x7F) ? (char)v[i] : '.';
            val[k] = '\0';
            snprintf(app, sizeof app, "app=%s", val);
        }
        /* other tags: skipped */
    }
    if (r < 0) {
        malformed(out, r, "TLV", 0);
        snprintf(out->text, sizeof out->text, "TLV at byte %zu runs past the data", pos);
        return r;
    }
    if (app[0])
        text_add(out->text, sizeof out->text, app);
    if (type_tok[0])
        text_add(out->text, sizeof out->text, type_tok);
    enum pb_dir expect = has_result ? PB_DIR_PT : has_type ? PB_DIR_ECR : PB_DIR_UNKNOWN;
    if (expect == PB_DIR_UNKNOWN)
        return PB_OK; /* no 9F14, no 9F01: some other message (sign-in, settlement) */
    if (dir != PB_DIR_UNKNOWN && dir != expect) {
        text_add(out->text, sizeof out->text,
                 expect == PB_DIR_PT ? "result from ecr" : "request from pt");
        return PB_OK;
    }
    out->dir = expect;
    out->currency = pr->currency; /* MIS-POS names no currency */
    out->flags |= PB_F_CURRENCY;
    if (expect == PB_DIR_ECR) {
        out->kind = PB_KIND_REQUEST;
        return PB_OK;
    }
    out->kind = PB_KIND_RESULT;
    const char *rt = out->result_text;
    size_t rl = strlen(rt);
    out->result = rl == 0 ? PB_RESULT_UNKNOWN
                  : strcmp(rt, RESULT_OK) == 0 || strcmp(rt, RESULT_PARTIAL) == 0
                      ? PB_RESULT_APPROVED
                      : PB_RESULT_DECLINED;
    if (strcmp(rt, RESULT_PARTIAL) == 0)
        out->flags |= PB_F_PARTIAL; /* approved for part of the amount */
    bool digits = rl > 0 && rl <= 9;
    for (size_t i = 0; i < rl; i++)
        digits = digits && is_digit((uint8_t)rt[i]);
    if (digits) {
        out->result_code = (int32_t)strtol(rt, NULL, 10);
        out->flags |= PB_F_RESULT_CODE;
    }
    /* The trace names this transaction: a later void's 9F20 carries it. */
    if (!has_receipt)
        memcpy(out->receipt, out->trace, sizeof out->receipt);
    return PB_OK;
}

/* ---- encoding ------------------------------------------------------------------------- */

struct writer {
    uint8_t *p;
    size_t n, cap;
    int err;
};

static void put_tlv(struct writer *w, uint16_t tag, const void *v, size_t len)
{
    if (w->err < 0)
        return;
    if (len > 0xFFFF || w->cap - w->n < len + 4 || w->n > w->cap) {
        w->err = PB_ERR_RANGE;
        return;
    }
    uint8_t *o = w->p + w->n;
    o[0] = (uint8_t)(tag >> 8);
    o[1] = (uint8_t)tag;
    o[2] = (uint8_t)(len >> 8);
    o[3] = (uint8_t)len;
    if (len)
        memcpy(o + 4, v, len);
    w->n += len + 4;
}

static void put_str(struct writer *w, uint16_t tag, const char *s, size_t cap)
{
    size_t l = strnlen(s, cap);
    if (l)
        put_tlv(w, tag, s, l);
}

/* Value after "key=" in text up to the next space; empty when absent. */
static void token(const char *text, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    size_t kl = strlen(key);
    for (const char *t = text; (t = strstr(t, key)) != NULL; t += kl) {
        if ((t == text || t[-1] == ' ') && t[kl] == '=') {
            t += kl + 1;
            size_t n = strcspn(t, " ");
            if (n >= cap)
                n = cap - 1;
            memcpy(out, t, n);
            out[n] = '\0';
            return;
        }
    }
}

int pb_mispos_encode(const struct pb_mispos_profile *pr, const struct pos_msg *m, uint8_t *buf,
                     size_t cap)
{
    if (!pr || !m || (!buf && cap))
        return PB_ERR_INVAL;
    if (m->kind == PB_KIND_ACK || m->kind == PB_KIND_NAK) {
        if (cap < 1)
            return PB_ERR_RANGE;
        buf[0] = m->kind == PB_KIND_ACK ? PB_ACK : PB_NAK;
        return 1;
    }
    if ((m->kind != PB_KIND_REQUEST && m->kind != PB_KIND_RESULT) || (m->flags & PB_F_MALFORMED))
        return PB_ERR_UNSUPPORTED;
    if ((m->flags & PB_F_CURRENCY) && m->currency != pr->currency)
        return PB_ERR_UNSUPPORTED; /* no currency on the wire */
    char text[PB_TEXT_MAX + 1];
    memcpy(text, m->text, PB_TEXT_MAX);
    text[PB_TEXT_MAX] = '\0';
    const struct pb_mispos_tags *tg = &pr->tags;
    uint8_t local[512]; /* ten fields of at most PB_REF_MAX bytes and their headers */
    struct writer w = {local, 0, sizeof local, 0};
    char app[APP_MAX + 1], tok[8];
    token(text, "app", app, sizeof app);
    if (app[0] && tg->app)
        put_tlv(&w, tg->app, app, strlen(app));
    if (m->kind == PB_KIND_RESULT) {
        char code[PB_REF_MAX];
        snprintf(code, sizeof code, "%.*s", (int)strnlen(m->result_text, sizeof code - 1),
                 m->result_text);
        if (!code[0]) {
            if (m->result == PB_RESULT_APPROVED)
                snprintf(code, sizeof code, "00");
            else if (m->result == PB_RESULT_DECLINED)
                snprintf(code, sizeof code, "05");
            else
                return PB_ERR_UNSUPPORTED;
        }
        put_str(&w, tg->result, code, sizeof code);
    }
    if (m->txn != PB_TXN_NONE) {
        int type = -1;
        for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
            if (TYPE_TABLE[i].txn == m->txn && type < 0)
                type = TYPE_TABLE[i].wire;
        if (m->txn == PB_TXN_OTHER) {
            token(text, "type", tok, sizeof tok);
            char *end = NULL;
            long v = tok[0] ? strtol(tok, &end, 10) : -1;
            type = (end && *end == '\0' && v >= 0 && v <= 255) ? (int)v : -1;
        }
        if (type < 0)
            return PB_ERR_UNSUPPORTED;
        uint8_t b = (uint8_t)type;
        put_tlv(&w, tg->type, &b, 1);
    } else if (m->kind == PB_KIND_REQUEST) {
        return PB_ERR_UNSUPPORTED; /* a request is known by its type */
    }
    if (m->flags & PB_F_AMOUNT) {
        if (m->amount < 0 || m->amount > 999999999999LL)
            return PB_ERR_RANGE;
        char a[AMOUNT_DIGITS + 1];
        snprintf(a, sizeof a, "%012lld", (long long)m->amount);
        put_tlv(&w, tg->amount, a, AMOUNT_DIGITS);
    }
    put_str(&w, tg->terminal, m->terminal_id, sizeof m->terminal_id);
    put_str(&w, tg->card, m->pan, sizeof m->pan); /* as given: possim's business */
    put_str(&w, tg->trace, m->trace, sizeof m->trace);
    put_str(&w, tg->auth, m->auth_code, sizeof m->auth_code);
    put_str(&w, tg->pos, m->pos_id, sizeof m->pos_id);
    if (m->kind == PB_KIND_REQUEST || strncmp(m->receipt, m->trace, sizeof m->receipt) != 0)
        put_str(&w, tg->orig_trace, m->receipt, sizeof m->receipt);
    if (w.err < 0)
        return w.err;
    return pb_mispos_frame(pr, local, w.n, buf, cap);
}

/* ---- redaction ------------------------------------------------------------------------ */

/* Stars the ASCII digits of v[0, n) but the first head and last tail. */
static size_t star(uint8_t *v, size_t n, size_t head, size_t tail, uint8_t *x)
{
    size_t digits = 0, seen = 0, changed = 0;
    for (size_t i = 0; i < n; i++)
        digits += is_digit(v[i]);
    for (size_t i = 0; i < n; i++) {
        uint8_t *c = &v[i];
        if (!is_digit(*c))
            continue;
        seen++;
        if (seen <= head || seen > digits - (tail < digits ? tail : digits))
            continue;
        *x ^= (uint8_t)(*c ^ '*');
        *c = '*';
        changed++;
    }
    return changed;
}

/* An ASCII card number: first 6 and last 4 kept when it is PAN-long, else the last 4. */
static size_t star_card(uint8_t *v, size_t n, uint8_t *x)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += is_digit(v[i]) || v[i] == '*';
    return star(v, n, chars >= PAN_MIN ? 6 : 0, 4, x);
}

/* Packed BCD, nibble k of v: high nibble first. */
static unsigned nib(const uint8_t *v, size_t k)
{
    return k & 1 ? v[k / 2] & 15u : v[k / 2] >> 4;
}

/* Masks nibble k (E, as ZVT's masked PAN digits) when it is a decimal digit. */
static size_t nib_mask(uint8_t *v, size_t k, uint8_t *x)
{
    if (nib(v, k) > 9)
        return 0;
    uint8_t old = v[k / 2];
    uint8_t now = k & 1 ? (uint8_t)((old & 0xF0) | 0x0E) : (uint8_t)((old & 0x0F) | 0xE0);
    *x ^= (uint8_t)(old ^ now);
    v[k / 2] = now;
    return 1;
}

/* A BCD PAN starting at nibble s: its digits (decimal or E) run to the first other nibble;
 * all but the first 6 (13 or more) and the last 4 masked. Returns the nibble after it. */
static size_t bcd_pan(uint8_t *v, size_t n, size_t s, size_t *changed, uint8_t *x)
{
    size_t e = s;
    while (e < 2 * n && (nib(v, e) <= 9 || nib(v, e) == 0xE))
        e++;
    size_t len = e - s, head = len >= PAN_MIN ? 6 : 0;
    for (size_t k = s + head; k + 4 < e; k++)
        *changed += nib_mask(v, k, x);
    return e;
}

/* Every decimal nibble from k to the end of v masked. */
static size_t bcd_all_from(uint8_t *v, size_t n, size_t k, uint8_t *x)
{
    size_t changed = 0;
    for (; k < 2 * n; k++)
        changed += nib_mask(v, k, x);
    return changed;
}

/* Track 2 in BCD (EMV 57, 9F6B): the PAN, then after the D separator everything. */
static size_t bcd_track2(uint8_t *v, size_t n, uint8_t *x)
{
    size_t changed = 0, e = bcd_pan(v, n, 0, &changed, x);
    if (e < 2 * n && nib(v, e) == 0xD)
        changed += bcd_all_from(v, n, e + 1, x);
    return changed;
}

/* Track 2 in ASCII: PAN, then '=' (ISO/IEC 7813) or 'D' (EMV's separator written out),
 * then every digit starred. Without a separator the value is one card number. */
static size_t ascii_track2(uint8_t *v, size_t n, uint8_t *x)
{
    size_t e = 0;
    while (e < n && (is_digit(v[e]) || v[e] == '*'))
        e++;
    if (e >= n || (v[e] != '=' && v[e] != 'D' && v[e] != 'd'))
        return star_card(v, n, x);
    size_t changed = star_card(v, e, x);
    return changed + star(v + e + 1, n - e - 1, 0, 0, x);
}

/* Track 1 as ISO/IEC 7813 writes it: ['%'] 'B' PAN '^' name (up to 26) '^' data. */
static bool track1_form(const uint8_t *v, size_t n)
{
    size_t i = n > 0 && v[0] == '%' ? 1 : 0;
    if (i >= n || v[i] != 'B')
        return false;
    size_t s = ++i;
    while (i < n && (is_digit(v[i]) || v[i] == '*'))
        i++;
    if (i - s < 12 || i - s > PAN_MAX || i >= n || v[i] != '^')
        return false;
    size_t k = ++i;
    while (i < n && v[i] != '^' && i - k <= 26)
        i++;
    return i < n && v[i] == '^';
}

/* The value of a tag known to hold a card number, track data or an expiry, in ASCII or
 * packed BCD. */
enum card_meaning { CARD_PAN, CARD_TRACK2, CARD_TRACK1, CARD_ALL };
static size_t mask_meaning(uint8_t *v, size_t n, enum card_meaning what, uint8_t *x)
{
    bool ascii = digit_text(v, n);
    switch (what) {
    case CARD_PAN:
        if (ascii)
            return star_card(v, n, x);
        {
            size_t changed = 0;
            bcd_pan(v, n, 0, &changed, x);
            return changed;
        }
    case CARD_TRACK2:
        return ascii ? ascii_track2(v, n, x) : bcd_track2(v, n, x);
    case CARD_TRACK1:
        /* 'B' PAN '^' name '^' data; failing that form, every digit but the first 6 */
        if (!printable_value(v, n))
            return bcd_all_from(v, n, 0, x); /* track 1 is text: this is no track 1 */
        return track1_form(v, n) ? pb_mask_track_ascii(v, n, x) : star(v, n, 6, 0, x);
    case CARD_ALL:
    default:
        return ascii ? star(v, n, 0, 0, x) : bcd_all_from(v, n, 0, x);
    }
}

/* ASCII runs of exactly 12 digits whose Luhn digit holds (the shortest PANs, ISO/IEC
 * 7812): the last 4 kept, as pb_mask_pan keeps them. Longer runs are
 * pb_mask_digit_runs's. */
static size_t mask_luhn12(uint8_t *v, size_t n, uint8_t *x)
{
    size_t changed = 0, i = 0;
    while (i < n) {
        if (!is_digit(v[i]) && v[i] != '*') {
            i++;
            continue;
        }
        size_t s = i;
        bool clear = true;
        for (; i < n && (is_digit(v[i]) || v[i] == '*'); i++)
            clear = clear && is_digit(v[i]);
        if (i - s == 12 && clear && pb_luhn_valid(v + s, 12))
            changed += star(v + s, 8, 0, 0, x);
    }
    return changed;
}

/* EMV card data elements embedded as BER-TLV in a binary value (an IC data field): tag,
 * one length byte, value. Only a value that reads as what the tag holds is masked. */
static size_t mask_embedded_emv(uint8_t *v, size_t n, uint8_t *x)
{
    static const struct {
        uint16_t tag;
        enum card_meaning what;
        uint8_t max;
    } ELEMENTS[] = {
        {EMV_PAN, CARD_PAN, 10},        {EMV_TRACK2_EQ, CARD_TRACK2, 19},
        {EMV_TRACK2, CARD_TRACK2, 19},  {EMV_TRACK1, CARD_TRACK1, 76},
        {EMV_TRACK2_DISC, CARD_ALL, 16}, {EMV_EXPIRY, CARD_ALL, 3},
    };
    size_t changed = 0;
    for (size_t i = 0; i + 2 < n; i++) {
        for (size_t e = 0; e < sizeof ELEMENTS / sizeof ELEMENTS[0]; e++) {
            uint16_t tag = ELEMENTS[e].tag;
            size_t tl = tag > 0xFF ? 2 : 1;
            if (i + tl + 1 > n || (tl == 2 ? (v[i] << 8 | v[i + 1]) != tag : v[i] != tag))
                continue;
            size_t len = v[i + tl];
            size_t at = i + tl + 1;
            if (len == 0 || len > ELEMENTS[e].max || len > n - at)
                continue;
            /* BCD elements: digits, E (masked), D (separator), F (padding) only */
            bool fits = ELEMENTS[e].what == CARD_TRACK1 ? printable_value(v + at, len) : true;
            for (size_t k = 0; fits && ELEMENTS[e].what != CARD_TRACK1 && k < 2 * len; k++)
                fits = nib(v + at, k) <= 9 || nib(v + at, k) >= 0xD;
            if (fits)
                changed += mask_meaning(v + at, len, ELEMENTS[e].what, x);
        }
    }
    return changed;
}

/* Packed-BCD runs of 12 to 19 decimal digits whose Luhn digit holds: a PAN (first 6 and
 * last 4 kept); with a D nibble after it, track 2, whose data after D goes too. */
static size_t mask_bcd_runs(uint8_t *v, size_t n, uint8_t *x)
{
    size_t changed = 0, k = 0;
    while (k < 2 * n) {
        if (nib(v, k) > 9) {
            k++;
            continue;
        }
        size_t s = k;
        char d[40]; /* a PAN and up to 21 leading zeros; longer runs are no PAN */
        while (k < 2 * n && nib(v, k) <= 9) {
            if (k - s < sizeof d)
                d[k - s] = (char)('0' + nib(v, k));
            k++;
        }
        /* a right-justified (n format) number's leading zeros: no digit of the PAN, and
         * nothing to its Luhn sum */
        if (k - s > sizeof d)
            continue;
        size_t z = 0;
        while (s + z < k && d[z] == '0')
            z++;
        size_t len = k - s - z;
        if (len < 12 || len > PAN_MAX || !pb_luhn_valid((const uint8_t *)d + z, len))
            continue;
        bcd_pan(v, n, s + z, &changed, x);
        if (k < 2 * n && nib(v, k) == 0xD) {
            size_t e = k + 1;
            while (e < 2 * n && nib(v, e) <= 9)
                changed += nib_mask(v, e++, x);
            k = e;
        }
    }
    return changed;
}

static size_t mask_unknown_once(uint8_t *v, size_t n, uint8_t *x)
{
    size_t changed = pb_mask_track_ascii(v, n, x);
    changed += pb_mask_digit_runs(v, n, x);
    changed += mask_luhn12(v, n, x);
    if (!printable_value(v, n)) {
        changed += mask_embedded_emv(v, n, x);
        changed += mask_bcd_runs(v, n, x);
    }
    return changed;
}

/* A value no tag of the profile explains: any card data it may hold. A BCD pass may split
 * an ASCII run (a digit byte whose nibble became E), leaving a shorter run an ASCII pass
 * would now take for a PAN: the passes are repeated until they change nothing, so a
 * second redaction has nothing left to do. Every pass only masks, so this ends. */
static size_t mask_unknown(uint8_t *v, size_t n, uint8_t *x)
{
    size_t changed = 0, c;
    do {
        c = mask_unknown_once(v, n, x);
        changed += c;
    } while (c);
    return changed;
}

size_t pb_mispos_redact(const struct pb_mispos_profile *pr, uint8_t *wire, size_t len)
{
    if (!pr || !wire || len < 5 || wire[0] != PB_STX)
        return 0;
    long l = read_len(pr, wire + 1);
    if (l < 0 || (size_t)l != len - 5 || wire[len - 2] != PB_ETX)
        return 0;
    size_t n = (size_t)l, pos = 0;
    const uint8_t *data = wire + 3;
    uint8_t x = 0; /* XOR of the changes: every LRC span covers the data */
    size_t changed = 0;
    struct tlv t;
    int r;
    const struct pb_mispos_tags *tg = &pr->tags;
    /* The maskers count what they change, a BCD byte's two nibbles apart and a byte an
     * ASCII and a BCD pass both touch twice: the bytes that differ are counted instead. */
    uint8_t *before = malloc(n ? n : 1);
    if (before)
        memcpy(before, data, n);
    while ((r = next_tlv(data, n, &pos, &t)) > 0) {
        uint8_t *v = wire + 3 + t.off;
        uint16_t g = t.tag;
        if (g == tg->card)
            changed += mask_meaning(v, t.len, CARD_PAN, &x);
        else if (tg->expiry && g == tg->expiry)
            changed += mask_meaning(v, t.len, CARD_ALL, &x);
        else if (g == tg->amount || g == tg->type || g == tg->result || g == tg->terminal ||
                 g == tg->trace || g == tg->auth || g == tg->pos || g == tg->orig_trace ||
                 (tg->app && g == tg->app))
            continue; /* the profile says what these are: no card data */
        else if (emv_tag(g, EMV_PAN))
            changed += mask_meaning(v, t.len, CARD_PAN, &x);
        else if (emv_tag(g, EMV_TRACK2_EQ) || g == EMV_TRACK2)
            changed += mask_meaning(v, t.len, CARD_TRACK2, &x);
        else if (emv_tag(g, EMV_TRACK1))
            changed += mask_meaning(v, t.len, CARD_TRACK1, &x);
        else if (g == EMV_TRACK1_DISC || g == EMV_TRACK2_DISC || g == EMV_EXPIRY)
            changed += mask_meaning(v, t.len, CARD_ALL, &x);
        else
            changed += mask_unknown(v, t.len, &x);
    }
    if (r < 0)
        changed += mask_unknown(wire + 3 + pos, n - pos, &x); /* unparsed tail */
    if (before) {
        changed = 0;
        for (size_t i = 0; i < n; i++)
            changed += before[i] != data[i];
        free(before);
    } else if (changed > n) {
        changed = n;
    }
    if (x) {
        wire[len - 1] ^= x;
        changed++;
    }
    return changed;
}

/* ---- probing -------------------------------------------------------------------------- */

static int probe_with(const struct pb_mispos_profile *pr, const uint8_t *buf, size_t len)
{
    if (!buf)
        return 0;
    struct pb_frame *f = pb_probe_frame();
    if (!f)
        return 0;
    unsigned known = 0, framed = 0, bad = 0, controls = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t resume = 0;
        f->type = PB_FRAME_GARBAGE;
        int r = pb_mispos_scan(pr, buf + pos, len - pos, &resume, f);
        if (r <= 0) {
            pos++;
            continue;
        }
        if (f->type == PB_FRAME_DATA) {
            size_t tp = 0;
            struct tlv t;
            int k;
            bool ours = false;
            while ((k = next_tlv(f->payload, f->payload_len, &tp, &t)) > 0)
                ours = ours || t.tag == pr->tags.type || t.tag == pr->tags.result;
            bool parses = k == 0 && f->payload_len > 0;
            if (f->checksum_ok && parses && ours)
                known++;
            else if (f->checksum_ok && parses)
                framed++;
            else if (parses && ours)
                bad++;
        } else if (f->type == PB_FRAME_CONTROL) {
            controls++;
        }
        pos += (size_t)r;
    }
    if (known)
        return 95;
    if (framed)
        return 70;
    if (bad)
        return 50;
    return controls ? 5 : 0;
}

/* ---- the registered protocol: allinpay ------------------------------------------------ */

static int allinpay_scan(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out)
{
    return pb_mispos_scan(&pb_mispos_allinpay, buf, len, resume, out);
}

int pb_mispos_decode(const struct pb_mispos_profile *pr, const struct pb_frame *f,
                     enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(pr, f, dir, out);
    pb_msg_scrub(out); /* any card number in free text */
    return r;
}

static int allinpay_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    return pb_mispos_decode(&pb_mispos_allinpay, f, dir, out);
}

static int allinpay_encode(const struct pos_msg *m, uint8_t *buf, size_t cap)
{
    return pb_mispos_encode(&pb_mispos_allinpay, m, buf, cap);
}

static size_t allinpay_redact(uint8_t *wire, size_t len)
{
    return pb_mispos_redact(&pb_mispos_allinpay, wire, len);
}

static int allinpay_probe(const uint8_t *buf, size_t len)
{
    return probe_with(&pb_mispos_allinpay, buf, len);
}

const struct pb_protocol pb_proto_mispos = {
    .name = "mispos",
    .description = "UnionPay-style MIS-POS (allinpay profile): STX BCD-LEN TLV ETX LRC",
    .default_line = "9600,8N1", /* 9600 [docs/PROTOCOLS.md]; 8N1 is [?] there */
    .link_type = 151,           /* LINKTYPE_USER4 */
    .max_frame = 5 + MISPOS_DATA_MAX_BCD,
    .scan = allinpay_scan,
    .decode = allinpay_decode,
    .encode = allinpay_encode,
    .redact = allinpay_redact,
    .probe = allinpay_probe,
    .rules =
        {
            .has_accept = false,       /* no application acceptance */
            .result_ends_txn = true,   /* the 9F14 answer is final */
            .has_partial_marker = false,
            .accept_timeout_ms = 3000,
            .response_timeout_ms = 90000, /* "around 60 s" [docs/PROTOCOLS.md] plus margin */
            .completion_timeout_ms = 0,
            .max_repeats = 2,
        },
    .discipline = &pb_mispos_discipline,
};
