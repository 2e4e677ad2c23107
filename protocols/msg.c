#include "msg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "protocol.h"

void pb_msg_init(struct pos_msg *m)
{
    memset(m, 0, sizeof *m);
    m->dir = PB_DIR_UNKNOWN;
    m->checksum_ok = true;
    m->result_code = -1;
}

static const char *const dir_names[] = {"ecr", "pt", "?"};
static const char *const kind_names[PB_KIND__COUNT] = {
    "other", "request", "accepted", "refused", "intermediate", "result", "completion",
    "abort", "print", "app_ack", "ack", "nak", "enq", "eot",
};
static const char *const txn_names[PB_TXN__COUNT] = {
    "none", "purchase", "refund", "void", "preauth", "status", "end_of_day",
    "registration", "logoff", "other",
};
static const char *const result_names[PB_RESULT__COUNT] = {
    "none", "approved", "declined", "aborted", "not_processed", "unknown",
};

#define NAME_OF(table, i, count) ((unsigned)(i) < (count) ? (table)[i] : "?")

const char *pb_dir_name(enum pb_dir d)
{
    return NAME_OF(dir_names, d, 3u);
}
const char *pb_kind_name(enum pb_kind k)
{
    return NAME_OF(kind_names, k, (unsigned)PB_KIND__COUNT);
}
const char *pb_txn_name(enum pb_txn_type t)
{
    return NAME_OF(txn_names, t, (unsigned)PB_TXN__COUNT);
}
const char *pb_result_name(enum pb_result r)
{
    return NAME_OF(result_names, r, (unsigned)PB_RESULT__COUNT);
}

static int index_of(const char *const *table, int count, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < count; i++)
        if (strcmp(table[i], name) == 0)
            return i;
    return -1;
}

int pb_kind_from_name(const char *name)
{
    return index_of(kind_names, PB_KIND__COUNT, name);
}
int pb_txn_from_name(const char *name)
{
    return index_of(txn_names, PB_TXN__COUNT, name);
}
int pb_result_from_name(const char *name)
{
    return index_of(result_names, PB_RESULT__COUNT, name);
}

int pb_msg_format(const struct pos_msg *m, char *buf, size_t cap)
{
    char amount[PB_MONEY_FMT_MAX] = "";
    if (m->flags & PB_F_AMOUNT)
        pb_money_format(amount, sizeof amount, m->amount,
                        (m->flags & PB_F_CURRENCY) ? m->currency : PB_CURRENCY_NONE);
    char extra[256];
    size_t n = 0;
    extra[0] = '\0';
#define ADD(...)                                                                               \
    do {                                                                                       \
        if (n < sizeof extra) {                                                                \
            int w_ = snprintf(extra + n, sizeof extra - n, __VA_ARGS__);                       \
            if (w_ > 0)                                                                        \
                n += (size_t)w_;                                                               \
        }                                                                                      \
    } while (0)
    if (m->flags & PB_F_AMOUNT_DUE)
        ADD(" due=%lld", (long long)m->amount_due);
    if (m->flags & PB_F_PARTIAL)
        ADD(" partial");
    if (m->flags & PB_F_MORE)
        ADD(" more");
    if (m->pos_id[0])
        ADD(" pos=%s", m->pos_id);
    if (m->terminal_id[0])
        ADD(" tid=%s", m->terminal_id);
    if (m->trace[0])
        ADD(" trace=%s", m->trace);
    if (m->receipt[0])
        ADD(" receipt=%s", m->receipt);
    if (m->reference[0])
        ADD(" ref=%s", m->reference);
    if (m->auth_code[0])
        ADD(" auth=%s", m->auth_code);
    if (m->pan[0])
        ADD(" pan=%s", m->pan);
    if (m->flags & PB_F_TRACK_DATA)
        ADD(" track=masked");
    if (m->text[0])
        ADD(" text=\"%s\"", m->text);
    if (m->flags & PB_F_MALFORMED)
        ADD(" MALFORMED");
#undef ADD
    char result[48] = "";
    if (m->result != PB_RESULT_NONE)
        snprintf(result, sizeof result, " %s(%s)", pb_result_name(m->result),
                 m->result_text[0] ? m->result_text : "-");
    return snprintf(buf, cap, "%-3s %-12s %-12s%s%s%s%s%s", pb_dir_name(m->dir),
                    pb_kind_name(m->kind), m->txn ? pb_txn_name(m->txn) : "-",
                    amount[0] ? " " : "", amount, result, extra,
                    m->checksum_ok ? "" : " CHECKSUM-BAD");
}

void pb_mask_pan(const char *pan, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    size_t keep_head = len >= 13 ? 6 : 0;
    size_t keep_tail = len > 4 ? 4 : 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = i < keep_head || i >= len - keep_tail;
        out[i] = keep && isdigit((unsigned char)pan[i]) ? pan[i] : '*';
    }
    out[n] = '\0';
}

static bool pan_char(uint8_t c)
{
    return (c >= '0' && c <= '9') || c == '*';
}

/* The end of the group of PAN characters starting at i. */
static size_t group_end(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && pan_char(p[i]))
        i++;
    return i;
}

/* Between groups of a printed card number: a space, dash, dot, slash or underscore,
 * up to three of the same in a row ("4111  1111", "4111.1111"), or a tab. */
static size_t separator_len(const uint8_t *p, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    uint8_t c = p[i];
    if (c == '\t')
        return 1;
    if (c != ' ' && c != '-' && c != '.' && c != '/' && c != '_')
        return 0;
    size_t k = 1;
    while (k < 3 && i + k < n && p[i + k] == c)
        k++;
    return k;
}

/* Luhn over the digits of p[start..end), separators skipped (pb_luhn_valid); false when
 * a '*' is in it (an earlier masking). */
static bool luhn_ok(const uint8_t *p, size_t start, size_t end)
{
    uint8_t digits[32];
    size_t k = 0;
    for (size_t j = start; j < end; j++) {
        if (p[j] == '*' || k == sizeof digits)
            return false;
        if (p[j] >= '0' && p[j] <= '9')
            digits[k++] = p[j];
    }
    return pb_luhn_valid(digits, k);
}

size_t pb_mask_digit_runs(uint8_t *p, size_t n, uint8_t *x)
{
    /* 13 to 19 digits is a card number whatever it is; 12 (Maestro) when it passes Luhn,
     * which a 12-digit reference does only one time in ten. */
    enum { GROUP_MAX = 6, RUN_MIN = 13, RUN_SHORT = 12 };
    size_t changed = 0, i = 0;
    while (p && i < n) {
        if (!pan_char(p[i])) {
            i++;
            continue;
        }
        size_t start = i, end = group_end(p, n, i), chars = end - start;
        /* Join the next group across a separator while both are short. */
        for (size_t sep; (sep = separator_len(p, n, end)) && end + sep < n &&
                         pan_char(p[end + sep]);) {
            size_t next = group_end(p, n, end + sep);
            if (end - i > GROUP_MAX || next - (end + sep) > GROUP_MAX)
                break;
            i = end + sep;
            chars += next - i;
            end = next;
        }
        bool short_pan = chars == RUN_SHORT && luhn_ok(p, start, end);
        if (chars >= RUN_MIN || short_pan) {
            /* First 6 and last 4 shown (pb_mask_pan); of a 12-digit number, whose first 6
             * and last 4 would leave 2 hidden, only the last 4. */
            size_t keep_head = short_pan ? 0 : 6;
            size_t k = 0; /* index among the run's PAN characters */
            for (size_t j = start; j < end; j++) {
                if (!pan_char(p[j]))
                    continue;
                if (k >= keep_head && k < chars - 4 && p[j] != '*') {
                    if (x)
                        *x ^= (uint8_t)(p[j] ^ '*');
                    p[j] = '*';
                    changed++;
                }
                k++;
            }
        }
        i = end;
    }
    return changed;
}

bool pb_luhn_valid(const uint8_t *digits, size_t n)
{
    if (!digits || n == 0)
        return false;
    unsigned sum = 0;
    /* From the check digit leftwards, every second digit doubled (ISO/IEC 7812-1). */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = digits[n - 1 - i];
        if (c < '0' || c > '9')
            return false;
        unsigned d = (unsigned)(c - '0');
        if (i & 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* Stars a digit in place, XOR-ing the change into *x. */
static size_t star_at(uint8_t *c, uint8_t *x)
{
    if (*c < '0' || *c > '9')
        return 0;
    if (x)
        *x ^= (uint8_t)(*c ^ '*');
    *c = '*';
    return 1;
}

/* The PAN run p[s, e): its first 6 and last 4 characters kept (only the last 4 under 13),
 * the rest starred, as pb_mask_pan keeps them. */
static size_t star_pan(uint8_t *p, size_t s, size_t e, uint8_t *x)
{
    size_t len = e - s, head = len >= 13 ? 6 : 0, changed = 0;
    for (size_t i = s + head; i + 4 < e; i++)
        changed += star_at(&p[i], x);
    return changed;
}

/* Every digit from i up to the next byte that is no digit (or '*') starred. */
static size_t star_digits_from(uint8_t *p, size_t n, size_t i, uint8_t *x)
{
    size_t changed = 0;
    for (; i < n && pan_char(p[i]); i++)
        changed += star_at(&p[i], x);
    return changed;
}

size_t pb_mask_track_ascii(uint8_t *p, size_t n, uint8_t *x)
{
    enum { PAN_SHORT = 12, PAN_LONG = 19, NAME_MAX_LEN = 26 }; /* ISO/IEC 7813 */
    size_t changed = 0, i = 0;
    while (p && i < n) {
        if (!pan_char(p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && pan_char(p[i]))
            i++;
        size_t len = i - s;
        if (len < PAN_SHORT || len > PAN_LONG || i >= n)
            continue;
        if (p[i] == '=') {
            /* Track 2: PAN '=' expiry, service code, discretionary data. */
            changed += star_pan(p, s, i, x);
            changed += star_digits_from(p, n, i + 1, x);
            i++;
        } else if (p[i] == '^' && s > 0 && p[s - 1] == 'B') {
            /* Track 1: 'B' PAN '^' name '^' expiry, service code, discretionary data. */
            size_t k = i + 1;
            while (k < n && k - (i + 1) <= NAME_MAX_LEN && p[k] != '^')
                k++;
            if (k < n && p[k] == '^') {
                changed += star_pan(p, s, i, x);
                changed += star_digits_from(p, n, k + 1, x);
                i = k + 1;
            }
        }
    }
    return changed;
}

size_t pb_mask_unframed(uint8_t *p, size_t n, bool bcd)
{
    size_t changed = 0;
    for (size_t i = 0; p && i < n; i++) {
        uint8_t b = p[i];
        if (b >= '0' && b <= '9') {
            p[i] = '*';
            changed++;
        } else if (bcd && (b >> 4) <= 9 && (b & 0x0F) <= 9 && b != PB_STX && b != PB_ETX &&
                   b != PB_ACK && b != PB_DLE && b != PB_NAK) {
            p[i] = 0xEE;
            changed++;
        }
    }
    return changed;
}

/* A field filled to its last byte was probably cut from something longer: a card number
 * cut there keeps too few digits to be masked as one (10 of 16 shown: "5222-2212-34").
 * So the digits of a run of 6 or more at the very end of a full field are all masked. */
static void mask_cut_tail(uint8_t *p, size_t n)
{
    size_t i = n, digits = 0;
    while (i > 0 && (pan_char(p[i - 1]) || separator_len(p, n, i - 1))) {
        digits += p[i - 1] >= '0' && p[i - 1] <= '9';
        i--;
    }
    if (digits < 6)
        return;
    for (; i < n; i++)
        if (p[i] >= '0' && p[i] <= '9')
            p[i] = '*';
}

static void scrub(char *s, size_t cap)
{
    pb_mask_digit_runs((uint8_t *)s, strnlen(s, cap), NULL);
}

void pb_msg_scrub(struct pos_msg *m)
{
    if (!m)
        return;
    scrub(m->result_text, sizeof m->result_text);
    scrub(m->pos_id, sizeof m->pos_id);
    scrub(m->terminal_id, sizeof m->terminal_id);
    scrub(m->trace, sizeof m->trace);
    scrub(m->receipt, sizeof m->receipt);
    scrub(m->reference, sizeof m->reference);
    scrub(m->auth_code, sizeof m->auth_code);
    scrub(m->pan, sizeof m->pan);
    scrub(m->text, sizeof m->text);
    /* Free text is what decoders cut to fit; the fields above are values, not cut. */
    size_t n = strnlen(m->text, sizeof m->text);
    if (n + 1 == sizeof m->text)
        mask_cut_tail((uint8_t *)m->text, n);
}

void pb_copy_printable(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    if (!dst || cap == 0)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7F) ? (char)src[i] : '.';
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}
