/* The fault model: parsing fault words, deciding which fire, and applying them to
 * amounts and to the bytes of outgoing frames. Which fault produces which class is
 * docs/DISCREPANCIES.md's table; the terminal and register act on the plan built here. */
#include "fault.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "pb_error.h"

struct kind_row {
    const char *name;
    enum sim_fault_kind kind;
    bool transport; /* may be given to the register with an "ecr-" prefix */
};

static const struct kind_row kinds[] = {
    {"charge", SIM_FAULT_CHARGE, false},
    {"partial", SIM_FAULT_PARTIAL, false},
    {"duplicate", SIM_FAULT_DUPLICATE, false},
    {"approve-repeat", SIM_FAULT_APPROVE_REPEAT, false},
    {"decline", SIM_FAULT_DECLINE, false},
    {"abort", SIM_FAULT_ABORT, false},
    {"no-answer", SIM_FAULT_NO_ANSWER, false},
    {"delay", SIM_FAULT_DELAY, false},
    {"drop-link", SIM_FAULT_DROP_LINK, true},
    {"power-cycle", SIM_FAULT_POWER_CYCLE, false},
    {"currency", SIM_FAULT_CURRENCY, false},
    {"pos", SIM_FAULT_POS_ID, false},
    {"reference", SIM_FAULT_REFERENCE, false},
    {"type", SIM_FAULT_TYPE, false},
    {"nak", SIM_FAULT_NAK, true},
    {"withhold-ack", SIM_FAULT_WITHHOLD_ACK, true},
    {"lose-ack", SIM_FAULT_LOSE_ACK, true},
    {"bad-checksum", SIM_FAULT_BAD_CHECKSUM, true},
    {"drop-byte", SIM_FAULT_DROP_BYTE, true},
    {"insert-byte", SIM_FAULT_INSERT_BYTE, true},
    {"flip-bit", SIM_FAULT_FLIP_BIT, true},
    {"slice", SIM_FAULT_SLICE, true},
    {"latency", SIM_FAULT_LATENCY, true},
    {"noise", SIM_FAULT_NOISE, true},
    {"no-reversal", SIM_FAULT_NO_REVERSAL, false},
    {"multi-packet", SIM_FAULT_MULTI_PACKET, false},
};

const char *sim_fault_kind_name(enum sim_fault_kind k)
{
    if (k == SIM_FAULT_ECR_ABORT)
        return "ecr-abort";
    if (k == SIM_FAULT_NO_APP_ACK)
        return "ecr-no-app-ack";
    if (k == SIM_FAULT_GOODS)
        return "ecr-goods";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == k)
            return kinds[i].name;
    return "none";
}

/* ---- small parsers -------------------------------------------------------------------- */

static bool parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool is_uint(const char *s)
{
    uint32_t v;
    return parse_uint(s, UINT32_MAX, &v);
}

/* Decimal with up to `decimals` fraction digits into an integer scaled by 10^decimals. */
static int parse_fixed(const char *s, unsigned decimals, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return PB_ERR_SYNTAX;
    uint64_t whole = 0, frac = 0;
    unsigned nf = 0;
    for (; isdigit((unsigned char)*s); s++) {
        whole = whole * 10 + (uint64_t)(*s - '0');
        if (whole > max)
            return PB_ERR_RANGE;
    }
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return PB_ERR_SYNTAX;
        for (; isdigit((unsigned char)*s); s++) {
            if (++nf > decimals)
                return PB_ERR_SYNTAX;
            frac = frac * 10 + (uint64_t)(*s - '0');
        }
    }
    for (; nf < decimals; nf++)
        frac *= 10;
    uint64_t scale = 1;
    for (unsigned i = 0; i < decimals; i++)
        scale *= 10;
    uint64_t v = whole * scale + frac;
    if (v > max * scale)
        return PB_ERR_RANGE;
    *out = v;
    return *s == '\0' ? PB_OK : PB_ERR_SYNTAX;
}

int sim_duration_parse(const char *text, uint32_t *ms)
{
    if (!text || !ms)
        return PB_ERR_INVAL;
    size_t n = strlen(text);
    char num[32];
    unsigned mult;
    size_t unit;
    if (n > 2 && strcmp(text + n - 2, "ms") == 0) {
        mult = 1;
        unit = 2;
    } else if (n > 1 && text[n - 1] == 's') {
        mult = 1000;
        unit = 1;
    } else if (n > 1 && text[n - 1] == 'm') {
        mult = 60000;
        unit = 1;
    } else {
        return PB_ERR_SYNTAX;
    }
    if (n - unit >= sizeof num)
        return PB_ERR_RANGE;
    memcpy(num, text, n - unit);
    num[n - unit] = '\0';
    uint64_t v;
    /* Milliseconds are whole; seconds and minutes take up to 3 decimals. */
    unsigned dec = mult == 1 ? 0 : 3;
    int r = parse_fixed(num, dec, 24u * 3600u * 1000u, &v);
    if (r < 0)
        return r;
    if (dec)
        v = v * mult / 1000;
    if (v > 24ull * 3600 * 1000)
        return PB_ERR_RANGE;
    *ms = (uint32_t)v;
    return PB_OK;
}

int sim_percent_parse(const char *text, uint32_t *ppm)
{
    if (!text || !ppm)
        return PB_ERR_INVAL;
    size_t n = strlen(text);
    if (n < 2 || text[n - 1] != '%' || n > 16)
        return PB_ERR_SYNTAX;
    char num[16];
    memcpy(num, text, n - 1);
    num[n - 1] = '\0';
    uint64_t v; /* percent with 4 decimals = ppm */
    int r = parse_fixed(num, 4, 100, &v);
    if (r < 0)
        return r;
    if (v > SIM_PPM)
        return PB_ERR_RANGE;
    *ppm = (uint32_t)v;
    return PB_OK;
}

/* "+10%", "-2.5%": signed basis points, at most +-1000%. */
static int parse_signed_percent(const char *s, int32_t *bp)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != '%' || n > 16)
        return PB_ERR_SYNTAX;
    char num[16];
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    uint64_t v;
    int r = parse_fixed(num, 2, 1000, &v);
    if (r < 0)
        return r;
    *bp = sign * (int32_t)v;
    return PB_OK;
}

static bool parse_hex_code(const char *s, int32_t *out)
{
    size_t n = strlen(s);
    if (n < 1 || n > 2)
        return false;
    int32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        v = v * 16 +
            (isdigit((unsigned char)s[i]) ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10);
    }
    *out = v;
    return true;
}

#define FAIL(w, m)                                                                                 \
    do {                                                                                           \
        err->word = (w);                                                                           \
        err->msg = (m);                                                                            \
        return PB_ERR_SYNTAX;                                                                      \
    } while (0)

int sim_trigger_parse(int argc, char *const *argv, struct sim_fault *f, struct sim_parse_error *err)
{
    if (argc < 1)
        return 0;
    const char *w = argv[0];
    if (strcmp(w, "at") == 0 || strcmp(w, "every") == 0) {
        bool at = w[0] == 'a';
        uint32_t n;
        if (argc < 2)
            FAIL(0, at ? "'at' needs a transaction number" : "'every' needs a count");
        if (!parse_uint(argv[1], 1000000, &n) || n == 0)
            FAIL(1, "expected a whole number from 1");
        f->trigger = at ? SIM_TRIG_AT : SIM_TRIG_EVERY;
        f->trigger_n = n;
        return 2;
    }
    if (strcmp(w, "chance") == 0) {
        if (argc < 2)
            FAIL(0, "'chance' needs a percentage such as 25%");
        if (sim_percent_parse(argv[1], &f->ppm) != PB_OK)
            FAIL(1, "expected a percentage from 0% to 100%, such as 25% or 0.5%");
        f->trigger = SIM_TRIG_CHANCE;
        return 2;
    }
    return 0;
}

/* Optional "[N] [times K]" after a transport fault. Returns words used. */
static int parse_nth_times(int argc, char *const *argv, int i, struct sim_fault *f,
                           struct sim_parse_error *err)
{
    int start = i;
    if (i < argc && is_uint(argv[i])) {
        if (!parse_uint(argv[i], 1000, &f->nth) || f->nth == 0)
            FAIL(i, "frame number must be from 1 to 1000");
        i++;
    }
    if (i < argc && strcmp(argv[i], "times") == 0) {
        if (i + 1 >= argc)
            FAIL(i, "'times' needs a count");
        if (!parse_uint(argv[i + 1], 1000, &f->times) || f->times == 0)
            FAIL(i + 1, "count must be from 1 to 1000");
        i += 2;
    }
    return i - start;
}

static int parse_amount(const char *s, uint16_t currency, int64_t *out)
{
    return pb_money_parse(s, currency, out);
}

int sim_fault_parse(int argc, char *const *argv, uint16_t currency, struct sim_fault *out,
                    struct sim_parse_error *err)
{
    if (argc < 1 || !argv || !out || !err)
        return 0;
    memset(out, 0, sizeof *out);
    out->nth = 1;
    out->times = 1;
    out->code = -1;
    const char *name = argv[0];
    enum sim_side side = SIM_SIDE_PT;
    if (strncmp(name, "ecr-", 4) == 0) {
        side = SIM_SIDE_ECR;
        name += 4;
    }
    out->side = side;
    int i = 1;
    if (side == SIM_SIDE_ECR && strcmp(name, "abort") == 0) {
        out->kind = SIM_FAULT_ECR_ABORT;
        if (i >= argc || sim_duration_parse(argv[i], &out->ms) != PB_OK)
            FAIL(i < argc ? i : 0, "'ecr-abort' needs a time such as 3s or 500ms");
        i++;
        goto trigger;
    }
    if (side == SIM_SIDE_ECR && strcmp(name, "no-app-ack") == 0) {
        out->kind = SIM_FAULT_NO_APP_ACK;
        goto trigger;
    }
    if (side == SIM_SIDE_ECR && strcmp(name, "goods") == 0) {
        out->kind = SIM_FAULT_GOODS;
        const char *how = i < argc ? argv[i] : "";
        if (strcmp(how, "wait") == 0) {
            out->code = SIM_GOODS_WAIT;
            i++;
            out->times = 1;
            if (i < argc && isdigit((unsigned char)argv[i][0])) {
                if (!parse_uint(argv[i], 10, &out->times) || out->times == 0)
                    FAIL(i, "'ecr-goods wait' takes how many times, 1 to 10");
                i++;
            }
        } else if (strcmp(how, "partial") == 0) {
            out->code = SIM_GOODS_PARTIAL;
            i++;
            if (i >= argc || parse_amount(argv[i], currency, &out->amount) != PB_OK ||
                out->amount <= 0)
                FAIL(i < argc ? i : 0, "'ecr-goods partial' needs the amount issued, such as 32.10");
            i++;
        } else if (strcmp(how, "none") == 0) {
            out->code = SIM_GOODS_NONE;
            i++;
        } else {
            FAIL(i < argc ? i : 0, "'ecr-goods' needs wait [N], partial AMOUNT or none");
        }
        goto trigger;
    }
    const struct kind_row *row = NULL;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(kinds[k].name, name) == 0)
            row = &kinds[k];
    if (!row)
        return 0;
    if (side == SIM_SIDE_ECR && !row->transport)
        FAIL(0, "only line faults (nak, withhold-ack, bad-checksum, drop-byte, insert-byte, "
                "flip-bit, slice, latency, noise, drop-link) take the ecr- prefix");
    out->kind = row->kind;
    if (row->kind == SIM_FAULT_LOSE_ACK && side != SIM_SIDE_ECR)
        FAIL(0, "'lose-ack' is a register fault: write 'ecr-lose-ack' (the terminal's side "
                "of a lost ACK is 'withhold-ack')");

    switch (row->kind) {
    case SIM_FAULT_CHARGE: {
        if (i >= argc)
            FAIL(0, "'charge' needs an amount: +1.00, -1.00, +10%, or a set value 21.00");
        const char *a = argv[i];
        if (strchr(a, '%')) {
            out->mode = SIM_CHARGE_PERCENT;
            if (a[0] != '+' && a[0] != '-')
                FAIL(i, "a percentage change needs a sign: +10% or -5%");
            if (parse_signed_percent(a, &out->basis_points) != PB_OK)
                FAIL(i, "bad percentage: expected +10%, -2.5% (at most 2 decimals, 1000%)");
        } else {
            out->mode = (a[0] == '+' || a[0] == '-') ? SIM_CHARGE_DELTA : SIM_CHARGE_SET;
            if (parse_amount(a, currency, &out->amount) != PB_OK)
                FAIL(i, "bad amount for the currency (too many decimals or not a number)");
        }
        i++;
        break;
    }
    case SIM_FAULT_PARTIAL:
        out->mode = SIM_CHARGE_PERCENT;
        out->basis_points = 5000; /* half, unless told */
        if (i < argc && (isdigit((unsigned char)argv[i][0]))) {
            if (strchr(argv[i], '%')) {
                uint32_t ppm;
                if (sim_percent_parse(argv[i], &ppm) != PB_OK)
                    FAIL(i, "bad percentage: expected 1% to 100%");
                out->basis_points = (int32_t)(ppm / 100);
            } else {
                out->mode = SIM_CHARGE_SET;
                if (parse_amount(argv[i], currency, &out->amount) != PB_OK)
                    FAIL(i, "bad amount for the currency");
            }
            i++;
        }
        break;
    case SIM_FAULT_MULTI_PACKET: {
        out->code = 2;
        uint32_t parts;
        if (i < argc && isdigit((unsigned char)argv[i][0])) {
            if (!parse_uint(argv[i], 8, &parts) || parts < 2)
                FAIL(i, "'multi-packet' takes how many packets, 2 to 8");
            out->code = (int32_t)parts;
            i++;
        }
        break;
    }
    case SIM_FAULT_DECLINE:
    case SIM_FAULT_ABORT:
        out->code = row->kind == SIM_FAULT_DECLINE ? 0x05 : 0x6C;
        /* A following word that is no hex code ("at", "expect") is not ours. */
        if (i < argc && parse_hex_code(argv[i], &out->code))
            i++;
        break;
    case SIM_FAULT_DELAY:
        if (i >= argc || sim_duration_parse(argv[i], &out->ms) != PB_OK)
            FAIL(i < argc ? i : 0, "'delay' needs a time with a unit, such as 8s or 500ms");
        i++;
        break;
    case SIM_FAULT_DROP_LINK:
        out->ms = 2000;
        if (i < argc && is_uint(argv[i])) {
            if (!parse_uint(argv[i], 65535, &out->bytes))
                FAIL(i, "byte count must be from 0 to 65535");
            i++;
        }
        if (i < argc && isdigit((unsigned char)argv[i][0])) {
            if (sim_duration_parse(argv[i], &out->ms) != PB_OK)
                FAIL(i, "bad time: use a unit, such as 2s or 500ms");
            i++;
        }
        break;
    case SIM_FAULT_POWER_CYCLE:
        out->ms = 3000;
        if (i < argc && isdigit((unsigned char)argv[i][0])) {
            if (sim_duration_parse(argv[i], &out->ms) != PB_OK)
                FAIL(i, "bad time: use a unit, such as 3s or 500ms");
            i++;
        }
        if (i < argc && (strcmp(argv[i], "banner") == 0 || strcmp(argv[i], "late") == 0)) {
            out->late = argv[i][0] == 'l';
            i++;
        }
        break;
    case SIM_FAULT_CURRENCY: {
        if (i >= argc)
            FAIL(0, "'currency' needs a code such as USD or 840");
        const struct pb_currency *c = pb_currency_by_alpha(argv[i]);
        uint32_t num;
        if (c)
            out->code = c->numeric;
        else if (parse_uint(argv[i], 999, &num) && strlen(argv[i]) == 3)
            out->code = (int32_t)num;
        else
            FAIL(i, "unknown currency: use ISO 4217 letters (EUR, USD) or 3 digits (840)");
        i++;
        break;
    }
    case SIM_FAULT_POS_ID:
    case SIM_FAULT_REFERENCE:
        if (i >= argc)
            FAIL(0, row->kind == SIM_FAULT_POS_ID ? "'pos' needs a POS number such as 07"
                                                  : "'reference' needs a text");
        if (strlen(argv[i]) >= sizeof out->text)
            FAIL(i, "text too long (at most 23 characters)");
        if (row->kind == SIM_FAULT_POS_ID &&
            (strlen(argv[i]) != 2 || !isdigit((unsigned char)argv[i][0]) ||
             !isdigit((unsigned char)argv[i][1])))
            FAIL(i, "POS number is two digits, such as 07");
        snprintf(out->text, sizeof out->text, "%s", argv[i]);
        i++;
        break;
    case SIM_FAULT_TYPE: {
        if (i >= argc)
            FAIL(0, "'type' needs a transaction type: purchase, refund, void");
        int t = pb_txn_from_name(argv[i]);
        if (strcmp(argv[i], "sale") == 0)
            t = PB_TXN_PURCHASE;
        if (t <= PB_TXN_NONE)
            FAIL(i, "unknown transaction type: use purchase, refund or void");
        out->txn_type = t;
        i++;
        break;
    }
    case SIM_FAULT_NAK:
    case SIM_FAULT_WITHHOLD_ACK:
    case SIM_FAULT_LOSE_ACK:
    case SIM_FAULT_BAD_CHECKSUM: {
        int r = parse_nth_times(argc, argv, i, out, err);
        if (r < 0)
            return r;
        i += r;
        break;
    }
    case SIM_FAULT_DROP_BYTE:
    case SIM_FAULT_INSERT_BYTE:
    case SIM_FAULT_FLIP_BIT:
        if (i < argc && is_uint(argv[i])) {
            if (!parse_uint(argv[i], 1000, &out->nth) || out->nth == 0)
                FAIL(i, "frame number must be from 1 to 1000");
            i++;
        }
        break;
    case SIM_FAULT_SLICE:
        out->bytes = 1;
        if (i < argc && is_uint(argv[i])) {
            if (!parse_uint(argv[i], 4096, &out->bytes) || out->bytes == 0)
                FAIL(i, "slice size must be from 1 to 4096 bytes");
            i++;
        }
        out->ms = 5;
        if (i < argc && isdigit((unsigned char)argv[i][0])) {
            if (sim_duration_parse(argv[i], &out->ms) != PB_OK)
                FAIL(i, "bad time: use a unit, such as 20ms");
            i++;
        }
        break;
    case SIM_FAULT_LATENCY:
        if (i >= argc || sim_duration_parse(argv[i], &out->ms) != PB_OK)
            FAIL(i < argc ? i : 0, "'latency' needs a time with a unit, such as 50ms");
        i++;
        if (i < argc && isdigit((unsigned char)argv[i][0])) {
            if (sim_duration_parse(argv[i], &out->jitter_ms) != PB_OK)
                FAIL(i, "bad jitter: use a unit, such as 20ms");
            i++;
        }
        break;
    case SIM_FAULT_NOISE:
        out->bytes = 3;
        if (i < argc && is_uint(argv[i])) {
            if (!parse_uint(argv[i], 256, &out->bytes) || out->bytes == 0)
                FAIL(i, "noise byte count must be from 1 to 256");
            i++;
        }
        break;
    default:
        break;
    }
trigger:;
    int r = sim_trigger_parse(argc - i, argv + i, out, err);
    if (r < 0) {
        err->word += i;
        return r;
    }
    return i + r;
}

bool sim_fault_fires(const struct sim_fault *f, unsigned txn, struct sim_rng *rng)
{
    switch (f->trigger) {
    case SIM_TRIG_ALWAYS:
        return true;
    case SIM_TRIG_AT:
        return txn == f->trigger_n;
    case SIM_TRIG_EVERY:
        return f->trigger_n > 0 && txn > 0 && txn % f->trigger_n == 0;
    case SIM_TRIG_CHANCE:
        return sim_rng_chance(rng, f->ppm);
    }
    return false;
}

int sim_fault_format(const struct sim_fault *f, uint16_t currency, char *buf, size_t cap)
{
    char arg[64] = "";
    char m[PB_MONEY_FMT_MAX];
    switch (f->kind) {
    case SIM_FAULT_CHARGE:
    case SIM_FAULT_PARTIAL:
        if (f->mode == SIM_CHARGE_PERCENT)
            snprintf(arg, sizeof arg, " %+d.%02d%%", f->basis_points / 100,
                     abs(f->basis_points % 100));
        else {
            pb_money_format(m, sizeof m, f->amount, PB_CURRENCY_NONE);
            snprintf(arg, sizeof arg, " %s%s",
                     f->mode == SIM_CHARGE_DELTA && f->amount >= 0 ? "+" : "", m);
        }
        (void)currency;
        break;
    case SIM_FAULT_DECLINE:
    case SIM_FAULT_ABORT:
        snprintf(arg, sizeof arg, " %02X", (unsigned)f->code & 0xFF);
        break;
    case SIM_FAULT_CURRENCY:
        snprintf(arg, sizeof arg, " %03d", f->code);
        break;
    case SIM_FAULT_MULTI_PACKET:
        snprintf(arg, sizeof arg, " %d", f->code);
        break;
    case SIM_FAULT_POS_ID:
    case SIM_FAULT_REFERENCE:
        snprintf(arg, sizeof arg, " %s", f->text);
        break;
    case SIM_FAULT_TYPE:
        snprintf(arg, sizeof arg, " %s", pb_txn_name((enum pb_txn_type)f->txn_type));
        break;
    case SIM_FAULT_NAK:
    case SIM_FAULT_WITHHOLD_ACK:
    case SIM_FAULT_LOSE_ACK:
    case SIM_FAULT_BAD_CHECKSUM:
        snprintf(arg, sizeof arg, " %u times %u", f->nth, f->times);
        break;
    case SIM_FAULT_DROP_BYTE:
    case SIM_FAULT_INSERT_BYTE:
    case SIM_FAULT_FLIP_BIT:
        snprintf(arg, sizeof arg, " %u", f->nth);
        break;
    case SIM_FAULT_SLICE:
        snprintf(arg, sizeof arg, " %u %ums", f->bytes, f->ms);
        break;
    case SIM_FAULT_LATENCY:
        snprintf(arg, sizeof arg, " %ums %ums", f->ms, f->jitter_ms);
        break;
    case SIM_FAULT_NOISE:
        snprintf(arg, sizeof arg, " %u", f->bytes);
        break;
    case SIM_FAULT_DELAY:
    case SIM_FAULT_ECR_ABORT:
        snprintf(arg, sizeof arg, " %ums", f->ms);
        break;
    case SIM_FAULT_GOODS:
        if (f->code == SIM_GOODS_WAIT) {
            snprintf(arg, sizeof arg, " wait %u", f->times);
        } else if (f->code == SIM_GOODS_PARTIAL) {
            char a[PB_MONEY_FMT_MAX];
            pb_money_format(a, sizeof a, f->amount, PB_CURRENCY_NONE);
            snprintf(arg, sizeof arg, " partial %s", a);
        } else {
            snprintf(arg, sizeof arg, " none");
        }
        break;
    case SIM_FAULT_DROP_LINK:
        snprintf(arg, sizeof arg, " %u %ums", f->bytes, f->ms);
        break;
    case SIM_FAULT_POWER_CYCLE:
        snprintf(arg, sizeof arg, " %ums %s", f->ms, f->late ? "late" : "banner");
        break;
    default:
        break;
    }
    char trig[48] = "";
    if (f->trigger == SIM_TRIG_AT)
        snprintf(trig, sizeof trig, " at %u", f->trigger_n);
    else if (f->trigger == SIM_TRIG_EVERY)
        snprintf(trig, sizeof trig, " every %u", f->trigger_n);
    else if (f->trigger == SIM_TRIG_CHANCE)
        snprintf(trig, sizeof trig, " chance %u.%04u%%", f->ppm / 10000, f->ppm % 10000);
    const char *name = sim_fault_kind_name(f->kind);
    bool prefix = f->side == SIM_SIDE_ECR && strncmp(name, "ecr-", 4) != 0;
    return snprintf(buf, cap, "%s%s%s%s", prefix ? "ecr-" : "", name, arg, trig);
}

/* ---- plans ---------------------------------------------------------------------------- */

void sim_plan_clear(struct sim_plan *p)
{
    p->n = 0;
}

int sim_plan_add(struct sim_plan *p, const struct sim_fault *f)
{
    if (p->n >= SIM_PLAN_MAX)
        return PB_ERR_RANGE;
    p->f[p->n++] = *f;
    return PB_OK;
}

void sim_plan_select(struct sim_plan *p, const struct sim_fault *list, size_t n, enum sim_side side,
                     unsigned txn, struct sim_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].side != side)
            continue;
        if (sim_fault_fires(&list[i], txn, rng))
            sim_plan_add(p, &list[i]);
    }
}

const struct sim_fault *sim_plan_find(const struct sim_plan *p, enum sim_fault_kind k)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->f[i].kind == k)
            return &p->f[i];
    return NULL;
}

static int64_t clamp64(__int128 q)
{
    return q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (int64_t)q;
}

/* requested * (10000 + bp) / 10000, rounded half away from zero, saturating. */
static int64_t scale_bp(int64_t v, int32_t bp)
{
    __int128 x = (__int128)v * (10000 + bp);
    __int128 q = (x + (x >= 0 ? 5000 : -5000)) / 10000;
    if (q > INT64_MAX)
        return INT64_MAX;
    if (q < INT64_MIN)
        return INT64_MIN;
    return (int64_t)q;
}

int64_t sim_plan_charged(const struct sim_plan *p, int64_t requested, bool *partial)
{
    int64_t v = requested;
    if (partial)
        *partial = false;
    const struct sim_fault *c = sim_plan_find(p, SIM_FAULT_CHARGE);
    if (c) {
        if (c->mode == SIM_CHARGE_SET)
            v = c->amount;
        else if (c->mode == SIM_CHARGE_DELTA)
            v = clamp64((__int128)requested + c->amount);
        else
            v = scale_bp(requested, c->basis_points);
    }
    const struct sim_fault *pa = sim_plan_find(p, SIM_FAULT_PARTIAL);
    if (pa) {
        int64_t part =
            pa->mode == SIM_CHARGE_SET ? pa->amount : scale_bp(v, pa->basis_points - 10000);
        if (part < v)
            v = part;
        if (partial)
            *partial = true;
    }
    return v < 0 ? 0 : v;
}

static const struct sim_fault *find_nth(const struct sim_plan *p, enum sim_fault_kind k,
                                        unsigned nth)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->f[i].kind == k && p->f[i].nth == nth)
            return &p->f[i];
    return NULL;
}

size_t sim_plan_mangle(const struct sim_plan *p, struct sim_rng *rng, unsigned nth,
                       unsigned attempt, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = len < cap ? len : cap;
    memcpy(out, in, n);
    if (n == 0)
        return 0;
    const struct sim_fault *f = find_nth(p, SIM_FAULT_BAD_CHECKSUM, nth);
    if (f && attempt <= f->times)
        out[n - 1] ^= 0x5A; /* the checksum's last byte; any non-zero xor breaks it */
    if (attempt != 1)
        return n; /* byte damage hits a frame once; its repeat crosses a clean line */
    if ((f = find_nth(p, SIM_FAULT_FLIP_BIT, nth)) != NULL) {
        size_t at = (size_t)sim_rng_below(rng, n);
        out[at] ^= (uint8_t)(1u << sim_rng_below(rng, 8));
    }
    if ((f = find_nth(p, SIM_FAULT_DROP_BYTE, nth)) != NULL && n > 1) {
        size_t at = (size_t)sim_rng_below(rng, n);
        memmove(out + at, out + at + 1, n - at - 1);
        n--;
    }
    if ((f = find_nth(p, SIM_FAULT_INSERT_BYTE, nth)) != NULL && n < cap) {
        size_t at = 1 + (size_t)sim_rng_below(rng, n); /* after the first byte: inside */
        if (at > n)
            at = n;
        memmove(out + at + 1, out + at, n - at);
        out[at] = (uint8_t)(0x80 + sim_rng_below(rng, 0x7F));
        n++;
    }
    return n;
}

bool sim_plan_naks(const struct sim_plan *p, unsigned nth, unsigned attempt)
{
    const struct sim_fault *f = find_nth(p, SIM_FAULT_NAK, nth);
    return f && attempt <= f->times;
}

bool sim_plan_withholds_ack(const struct sim_plan *p, unsigned nth, unsigned attempt)
{
    const struct sim_fault *f = find_nth(p, SIM_FAULT_WITHHOLD_ACK, nth);
    return f && attempt <= f->times;
}

bool sim_plan_loses_ack(const struct sim_plan *p, unsigned nth, unsigned attempt)
{
    const struct sim_fault *f = find_nth(p, SIM_FAULT_LOSE_ACK, nth);
    return f && attempt <= f->times;
}
