/* Scenario parser. A line is words separated by blanks; '#' starts a comment; a line
 * that begins with a blank continues the transaction above it (a block). Settings come
 * before the first transaction so every amount is read with the right currency. */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "pb_error.h"
#include "discipline.h"
#include "protocol.h"

#define LINE_MAX_CHARS 1024
#define WORDS_MAX 64
#define STEPS_MAX 100000
#define FILE_MAX (16u << 20)

struct sim_scenario {
    struct sim_settings settings;
    struct sim_step *steps;
    size_t n_steps, cap_steps;
    struct sim_fault faults[SIM_SCENARIO_FAULTS_MAX];
    size_t n_faults;
};

static const char *const action_names[SIM_ACT__COUNT] = {
    "sale",   "refund",       "void",    "status",           "end-of-day",
    "registration", "logoff", "preauth", "partial-reversal", "book-total",
};

void sim_settings_tracker(const struct sim_settings *s, struct pb_tracker_config *out)
{
    uint32_t give_up = s->timeout_ms ? s->timeout_ms : 10000;
    *out = (struct pb_tracker_config){
        .response_timeout_ms = give_up,
        .register_timeout_ms = give_up,
        .undercharge_is_partial = s->partial_approval,
    };
}

const char *sim_action_name(enum sim_action a)
{
    return (unsigned)a < SIM_ACT__COUNT ? action_names[a] : "?";
}

enum pb_txn_type sim_action_txn(enum sim_action a)
{
    static const enum pb_txn_type map[SIM_ACT__COUNT] = {
        PB_TXN_PURCHASE,   PB_TXN_REFUND,       PB_TXN_VOID,    PB_TXN_STATUS,
        PB_TXN_END_OF_DAY, PB_TXN_REGISTRATION, PB_TXN_LOGOFF,  PB_TXN_PREAUTH,
        PB_TXN_VOID,       PB_TXN_PURCHASE,
    };
    return (unsigned)a < SIM_ACT__COUNT ? map[a] : PB_TXN_NONE;
}

bool sim_protocol_played(const char *name)
{
    const struct pb_protocol *p = name ? pb_protocol_find(name) : NULL;
    return p && p->discipline && p->encode;
}

const char *sim_protocol_names(void)
{
    static char names[128];
    if (!names[0]) {
        size_t n = 0;
        for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++) {
            size_t l = strlen((*p)->name);
            if (!sim_protocol_played((*p)->name) || n + l + 2 >= sizeof names)
                continue;
            if (n)
                names[n++] = '|';
            memcpy(names + n, (*p)->name, l);
            n += l;
        }
        names[n] = '\0';
    }
    return names;
}

bool sim_action_supported(const struct pb_protocol *p, enum sim_action a)
{
    if ((unsigned)a >= SIM_ACT__COUNT)
        return false;
    if (!p || !p->discipline)
        return true;
    const struct pb_discipline *d = p->discipline;
    if (!(d->plays & PB_PLAYS(sim_action_txn(a))))
        return false;
    if (a == SIM_ACT_PARTIAL_REVERSAL)
        return (d->plays & PB_PLAYS(PB_TXN_PREAUTH)) &&
               (d->preauth_ops & PB_PREAUTH_PARTIAL_REVERSAL);
    if (a == SIM_ACT_BOOK_TOTAL)
        return (d->plays & PB_PLAYS(PB_TXN_PREAUTH)) && (d->preauth_ops & PB_PREAUTH_BOOK_TOTAL);
    return true;
}

static int action_from_word(const char *w)
{
    for (int i = 0; i < SIM_ACT__COUNT; i++)
        if (strcmp(action_names[i], w) == 0)
            return i;
    /* Friendly synonyms a QA engineer may reach for. */
    if (strcmp(w, "purchase") == 0 || strcmp(w, "pay") == 0)
        return SIM_ACT_SALE;
    if (strcmp(w, "reversal") == 0)
        return SIM_ACT_VOID;
    if (strcmp(w, "eod") == 0 || strcmp(w, "end_of_day") == 0)
        return SIM_ACT_END_OF_DAY;
    if (strcmp(w, "log-off") == 0)
        return SIM_ACT_LOGOFF;
    if (strcmp(w, "pre-auth") == 0 || strcmp(w, "reservation") == 0)
        return SIM_ACT_PREAUTH;
    return -1;
}

/* ---- parser state --------------------------------------------------------------------- */

struct parser {
    const char *name;
    char *err;
    size_t errcap;
    unsigned line;
    struct sim_scenario *s;
    struct sim_step *cur; /* the step an indented line continues, or NULL */
    bool expect_seen;     /* current step already has "expect" */
    char buf[LINE_MAX_CHARS + 1];
    int argc;
    char *argv[WORDS_MAX];
    int col[WORDS_MAX]; /* 1-based column of each word */
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, int word, const char *fmt,
                                                      ...)
{
    int col = word >= 0 && word < p->argc ? p->col[word] : 1;
    if (word >= p->argc && p->argc > 0) /* "missing X": point just past the last word */
        col = p->col[p->argc - 1] + (int)strlen(p->argv[p->argc - 1]) + 1;
    int n = snprintf(p->err, p->errcap, "%s:%u:%d: ", p->name, p->line, col);
    if (n >= 0 && (size_t)n < p->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return PB_ERR_SYNTAX;
}

static int parse_amount(struct parser *p, int w, int64_t *out)
{
    uint16_t cur = p->s->settings.currency;
    int r = pb_money_parse(p->argv[w], cur, out);
    if (r == PB_OK && *out > 0 && *out <= 999999999999ll)
        return PB_OK;
    const struct pb_currency *c = pb_currency_by_numeric(cur);
    if (r == PB_OK)
        return fail(p, w, "amount '%s' must be more than 0 and at most 12 digits", p->argv[w]);
    return fail(p, w,
                "bad amount '%s': expected a number such as 12.50 with at most %u "
                "decimals for %s",
                p->argv[w], pb_currency_exponent(cur), c ? c->alpha : "this currency");
}

static int parse_duration_word(struct parser *p, int w, uint32_t *ms)
{
    if (w >= p->argc)
        return fail(p, w, "'%s' needs a time such as 5s or 500ms", p->argv[w - 1]);
    if (sim_duration_parse(p->argv[w], ms) != PB_OK)
        return fail(p, w, "bad time '%s': use a unit, such as 5s, 1.5s or 500ms", p->argv[w]);
    return PB_OK;
}

static int parse_uint_word(struct parser *p, int w, uint64_t max, uint64_t *out)
{
    if (w >= p->argc)
        return fail(p, w, "'%s' needs a number", p->argv[w - 1]);
    const char *s = p->argv[w];
    if (!*s)
        return fail(p, w, "expected a number");
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return fail(p, w, "expected a whole number, got '%s'", p->argv[w]);
        if (v > (UINT64_MAX - 9) / 10)
            return fail(p, w, "number '%s' too large", p->argv[w]);
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return fail(p, w, "number '%s' too large (at most %llu)", p->argv[w],
                    (unsigned long long)max);
    *out = v;
    return PB_OK;
}

/* Splits p->buf into words. Returns PB_OK or a syntax error for a control byte. */
static int split(struct parser *p)
{
    p->argc = 0;
    char *c = p->buf;
    for (char *q = p->buf; *q; q++) {
        if (*q == '#') {
            *q = '\0';
            break;
        }
        unsigned char u = (unsigned char)*q;
        if (u == '\r' && q[1] == '\0') {
            *q = '\0';
            break;
        }
        if ((u < 0x20 && u != '\t') || u == 0x7F) {
            p->argc = 0;
            p->col[0] = (int)(q - p->buf) + 1;
            p->argc = 0;
            int n = snprintf(p->err, p->errcap, "%s:%u:%d: unexpected control byte 0x%02X", p->name,
                             p->line, (int)(q - p->buf) + 1, u);
            (void)n;
            return PB_ERR_SYNTAX;
        }
    }
    while (*c) {
        while (*c == ' ' || *c == '\t')
            c++;
        if (!*c)
            break;
        if (p->argc == WORDS_MAX) {
            snprintf(p->err, p->errcap, "%s:%u:%d: too many words on one line (at most %d)",
                     p->name, p->line, (int)(c - p->buf) + 1, WORDS_MAX);
            return PB_ERR_SYNTAX;
        }
        p->col[p->argc] = (int)(c - p->buf) + 1;
        p->argv[p->argc++] = c;
        while (*c && *c != ' ' && *c != '\t')
            c++;
        if (*c)
            *c++ = '\0';
    }
    return PB_OK;
}

/* ---- settings ------------------------------------------------------------------------- */

static int parse_setting(struct parser *p, bool *handled)
{
    struct sim_settings *st = &p->s->settings;
    const char *k = p->argv[0];
    *handled = true;
    bool takes_one = true;
    int r = PB_OK;
    if (strcmp(k, "fault") == 0) {
        takes_one = false;
        if (p->argc < 2)
            return fail(p, 1, "'fault' needs a fault, such as: fault every 3 latency 50ms");
        if (p->s->n_faults >= SIM_SCENARIO_FAULTS_MAX)
            return fail(p, 0, "too many fault lines (at most %d)", SIM_SCENARIO_FAULTS_MAX);
        /* A trigger may come first ("fault every 3 nak") or last ("fault nak every 3"). */
        struct sim_fault f;
        struct sim_parse_error e = {0, NULL};
        int w = 1;
        struct sim_fault trig;
        memset(&trig, 0, sizeof trig);
        int t = sim_trigger_parse(p->argc - w, p->argv + w, &trig, &e);
        if (t < 0)
            return fail(p, w + e.word, "%s", e.msg);
        w += t;
        if (w >= p->argc)
            return fail(p, w, "a fault must follow the trigger");
        int n = sim_fault_parse(p->argc - w, p->argv + w, st->currency, &f, &e);
        if (n < 0)
            return fail(p, w + e.word, "%s", e.msg);
        if (n == 0)
            return fail(p, w, "unknown fault '%s' (see docs/SCENARIOS.md for the list)",
                        p->argv[w]);
        if (t > 0) {
            if (f.trigger != SIM_TRIG_ALWAYS)
                return fail(p, w + n - 2, "a fault takes one trigger");
            f.trigger = trig.trigger;
            f.trigger_n = trig.trigger_n;
            f.ppm = trig.ppm;
        }
        w += n;
        if (w < p->argc)
            return fail(p, w, "unexpected '%s' after the fault (one fault per line)", p->argv[w]);
        p->s->faults[p->s->n_faults++] = f;
        return PB_OK;
    }
    if (strcmp(k, "protocol") == 0) {
        if (p->argc < 2)
            return fail(p, 1, "'protocol' needs a name: %s", sim_protocol_names());
        if (!sim_protocol_played(p->argv[1]))
            return fail(p, 1, "unknown protocol '%s': possim plays %s", p->argv[1],
                        sim_protocol_names());
        snprintf(st->protocol, sizeof st->protocol, "%s", p->argv[1]);
    } else if (strcmp(k, "currency") == 0) {
        if (p->argc < 2)
            return fail(p, 1, "'currency' needs a code such as EUR or 978");
        const struct pb_currency *c = pb_currency_by_alpha(p->argv[1]);
        uint64_t v;
        if (c)
            st->currency = c->numeric;
        else if (strlen(p->argv[1]) == 3 && isdigit((unsigned char)p->argv[1][0]) &&
                 parse_uint_word(p, 1, 999, &v) == PB_OK && v > 0)
            st->currency = (uint16_t)v;
        else
            return fail(p, 1,
                        "unknown currency '%s': use ISO 4217 letters (EUR) or "
                        "3 digits (978)",
                        p->argv[1]);
    } else if (strcmp(k, "seed") == 0) {
        if ((r = parse_uint_word(p, 1, UINT64_MAX, &st->seed)) < 0)
            return r;
        st->has_seed = true;
    } else if (strcmp(k, "timeout") == 0) {
        r = parse_duration_word(p, 1, &st->timeout_ms);
    } else if (strcmp(k, "ack-timeout") == 0) {
        r = parse_duration_word(p, 1, &st->ack_timeout_ms);
    } else if (strcmp(k, "think") == 0) {
        r = parse_duration_word(p, 1, &st->think_ms);
    } else if (strcmp(k, "gap") == 0) {
        r = parse_duration_word(p, 1, &st->gap_ms);
    } else if (strcmp(k, "pos") == 0) {
        if (p->argc < 2)
            return fail(p, 1, "'pos' needs a POS number such as 01");
        const char *v = p->argv[1];
        if (strlen(v) != 2 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]))
            return fail(p, 1, "POS number is two digits, such as 01");
        memcpy(st->pos_id, v, 3);
    } else if (strcmp(k, "receipt") == 0) {
        static const char *const forms[] = {"off", "on", "lines", "block"};
        size_t f = 0;
        while (p->argc >= 2 && f < 4 && strcmp(p->argv[1], forms[f]) != 0)
            f++;
        if (p->argc < 2 || f == 4)
            return fail(p, 1, "'receipt' is on (print lines), lines, block (one text block) "
                              "or off");
        st->receipt = f != 0;
        st->receipt_block = f == 3;
    } else if (strcmp(k, "partial-approval") == 0) {
        if (p->argc < 2 || (strcmp(p->argv[1], "on") != 0 && strcmp(p->argv[1], "off") != 0))
            return fail(p, 1, "'partial-approval' is on or off");
        st->partial_approval = p->argv[1][1] == 'n';
    } else if (strcmp(k, "terminal-id") == 0) {
        if (p->argc < 2)
            return fail(p, 1, "'terminal-id' needs 8 digits");
        const char *v = p->argv[1];
        size_t n = strlen(v);
        bool ok = n == 8;
        for (size_t i = 0; ok && i < n; i++)
            ok = isdigit((unsigned char)v[i]);
        if (!ok)
            return fail(p, 1, "terminal id is 8 digits, such as 52500001");
        memcpy(st->terminal_id, v, 9);
    } else {
        *handled = false;
        return PB_OK;
    }
    if (r < 0)
        return r;
    if (takes_one && p->argc > 2)
        return fail(p, 2, "unexpected '%s': '%s' takes one value", p->argv[2], k);
    return PB_OK;
}

/* ---- steps ---------------------------------------------------------------------------- */

static int parse_expect_kv(struct parser *p, int w, struct sim_step *st)
{
    char *eq = strchr(p->argv[w], '=');
    size_t klen = (size_t)(eq - p->argv[w]);
    int64_t v;
    char *val = eq + 1;
    /* Point errors at the value, not the key. */
    char *saved = p->argv[w];
    int savedcol = p->col[w];
    p->argv[w] = val;
    p->col[w] += (int)klen + 1;
    int r = PB_OK;
    if (klen == 7 && strncmp(saved, "charged", 7) == 0) {
        int64_t cur = p->s->settings.currency;
        if (pb_money_parse(val, (uint16_t)cur, &v) != PB_OK || v < 0)
            r = fail(p, w, "bad amount '%s' for charged=", val);
        else {
            st->expect.has_charged = true;
            st->expect.charged = v;
        }
    } else if (klen == 3 && strncmp(saved, "due", 3) == 0) {
        if (pb_money_parse(val, p->s->settings.currency, &v) != PB_OK || v < 0)
            r = fail(p, w, "bad amount '%s' for due=", val);
        else {
            st->expect.has_due = true;
            st->expect.due = v;
        }
    } else {
        p->argv[w] = saved;
        p->col[w] = savedcol;
        *eq = '\0';
        r = fail(p, w, "unknown expectation '%s=': use charged= or due=", saved);
        *eq = '=';
    }
    p->argv[w] = saved;
    p->col[w] = savedcol;
    return r;
}

/* Words from w on: options, faults and the expectation of step st. */
static int parse_step_words(struct parser *p, int w, struct sim_step *st)
{
    while (w < p->argc) {
        const char *k = p->argv[w];
        if (strcmp(k, "expect") == 0) {
            if (p->expect_seen)
                return fail(p, w, "this transaction already has an 'expect'");
            p->expect_seen = true;
            if (w + 1 >= p->argc)
                return fail(p, w + 1,
                            "'expect' needs a class: ok, declined, overcharge, "
                            "undercharge, partial_approval, duplicate, in_doubt, "
                            "late_approval, currency_mismatch, reference_mismatch, "
                            "type_mismatch, protocol_error, voided");
            int c = pb_class_from_name(p->argv[w + 1]);
            if (c <= PB_CLASS_NONE)
                return fail(p, w + 1,
                            "unknown class '%s': expected ok, declined, overcharge, "
                            "undercharge, partial_approval, duplicate, in_doubt, "
                            "late_approval, currency_mismatch, reference_mismatch, "
                            "type_mismatch, protocol_error or voided",
                            p->argv[w + 1]);
            st->expect.cls = (enum pb_class)c;
            w += 2;
            while (w < p->argc && strchr(p->argv[w], '=')) {
                int r = parse_expect_kv(p, w, st);
                if (r < 0)
                    return r;
                w++;
            }
            continue;
        }
        if (strchr(k, '=')) {
            if (!p->expect_seen)
                return fail(p, w, "'%s' belongs after 'expect CLASS'", k);
            int r = parse_expect_kv(p, w, st);
            if (r < 0)
                return r;
            w++;
            continue;
        }
        if (strcmp(k, "timeout") == 0 || strcmp(k, "pause") == 0) {
            int r = parse_duration_word(p, w + 1, k[0] == 't' ? &st->timeout_ms : &st->pause_ms);
            if (r < 0)
                return r;
            w += 2;
            continue;
        }
        struct sim_fault f;
        struct sim_parse_error e = {0, NULL};
        int n = sim_fault_parse(p->argc - w, p->argv + w, p->s->settings.currency, &f, &e);
        if (n < 0)
            return fail(p, w + e.word, "%s", e.msg);
        if (n == 0)
            return fail(p, w,
                        "unknown word '%s': expected a fault (charge, decline, "
                        "no-answer, ...), timeout, pause or expect",
                        k);
        if (f.trigger == SIM_TRIG_AT || f.trigger == SIM_TRIG_EVERY)
            return fail(p, w + n - 2,
                        "'at' and 'every' belong on 'fault' lines; a fault "
                        "written on a transaction applies to it");
        if (st->n_faults >= SIM_STEP_FAULTS_MAX)
            return fail(p, w, "too many faults on one transaction (at most %d)",
                        SIM_STEP_FAULTS_MAX);
        st->faults[st->n_faults++] = f;
        w += n;
    }
    return PB_OK;
}

static int parse_step(struct parser *p, int action)
{
    struct sim_scenario *s = p->s;
    if (s->n_steps >= STEPS_MAX)
        return fail(p, 0, "too many transactions (at most %d)", STEPS_MAX);
    if (s->n_steps == s->cap_steps) {
        size_t cap = s->cap_steps ? s->cap_steps * 2 : 16;
        struct sim_step *n = realloc(s->steps, cap * sizeof *n);
        if (!n) {
            snprintf(p->err, p->errcap, "%s: out of memory", p->name);
            return PB_ERR_NOMEM;
        }
        s->steps = n;
        s->cap_steps = cap;
    }
    struct sim_step *st = &s->steps[s->n_steps];
    memset(st, 0, sizeof *st);
    st->index = (unsigned)s->n_steps + 1;
    st->line = p->line;
    st->action = (enum sim_action)action;
    p->expect_seen = false;
    int w = 1;
    bool names = action == SIM_ACT_VOID || action == SIM_ACT_PARTIAL_REVERSAL ||
                 action == SIM_ACT_BOOK_TOTAL;
    if (action == SIM_ACT_SALE || action == SIM_ACT_REFUND || action == SIM_ACT_PREAUTH ||
        action == SIM_ACT_PARTIAL_REVERSAL || action == SIM_ACT_BOOK_TOTAL) {
        if (w >= p->argc)
            return fail(p, w, "'%s' needs an amount, such as %s 12.50", p->argv[0], p->argv[0]);
        int r = parse_amount(p, w, &st->amount);
        if (r < 0)
            return r;
        st->has_amount = true;
        w++;
    }
    if (names && w < p->argc && strcmp(p->argv[w], "of") == 0) {
        uint64_t n;
        int r = parse_uint_word(p, w + 1, STEPS_MAX, &n);
        if (r < 0)
            return r;
        if (n == 0 || n >= st->index)
            return fail(p, w + 1, "'%s of %llu': name an earlier transaction (1 to %u)",
                        p->argv[0], (unsigned long long)n, st->index - 1);
        /* A void names a sale (or a pre-authorisation, released whole); a partial
         * reversal and a book total name a pre-authorisation. */
        enum sim_action named = s->steps[n - 1].action;
        bool fits = named == SIM_ACT_PREAUTH || (action == SIM_ACT_VOID && named == SIM_ACT_SALE);
        if (!fits)
            return fail(p, w + 1, "'%s of %llu': transaction %llu is a %s, not a %s", p->argv[0],
                        (unsigned long long)n, (unsigned long long)n, sim_action_name(named),
                        action == SIM_ACT_VOID ? "sale or preauth" : "preauth");
        st->void_of = (unsigned)n;
        w += 2;
    }
    int r = parse_step_words(p, w, st);
    if (r < 0)
        return r;
    s->n_steps++;
    p->cur = st;
    return PB_OK;
}

static int parse_line(struct parser *p, bool indented)
{
    int r = split(p);
    if (r < 0 || p->argc == 0)
        return r;
    if (indented && p->cur)
        return parse_step_words(p, 0, p->cur);
    int a = action_from_word(p->argv[0]);
    if (a >= 0)
        return parse_step(p, a);
    static const char *const settings[] = {
        "protocol", "currency", "seed",        "timeout", "ack-timeout", "think",
        "gap",      "pos",      "terminal-id", "fault",   "receipt", "partial-approval",
    };
    for (size_t i = 0; p->s->n_steps > 0 && i < sizeof settings / sizeof settings[0]; i++)
        if (strcmp(settings[i], p->argv[0]) == 0)
            return fail(p, 0, "setting '%s' must come before the first transaction", p->argv[0]);
    bool handled = false;
    if (p->s->n_steps == 0) {
        r = parse_setting(p, &handled);
        if (r < 0 || handled)
            return r;
    }
    return fail(p, 0,
                "unknown action '%s': expected sale, refund, void, status, end-of-day, "
                "registration, logoff, preauth, partial-reversal, book-total, or a setting "
                "(protocol, currency, seed, timeout, "
                "ack-timeout, think, gap, pos, terminal-id, receipt, fault)",
                p->argv[0]);
}

int sim_scenario_parse(const char *name, const char *text, size_t len, struct sim_scenario **out,
                       char *err, size_t errcap)
{
    static char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!name)
        name = "<scenario>";
    struct parser *p = calloc(1, sizeof *p);
    struct sim_scenario *s = calloc(1, sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        snprintf(err, errcap, "%s: out of memory", name);
        return PB_ERR_NOMEM;
    }
    s->settings.currency = 978;
    s->settings.timeout_ms = 10000;
    s->settings.ack_timeout_ms = 2000;
    s->settings.think_ms = 50;
    s->settings.gap_ms = 20;
    memcpy(s->settings.pos_id, "01", 3);
    memcpy(s->settings.terminal_id, "52500001", 9);
    p->name = name;
    p->err = err;
    p->errcap = errcap;
    p->s = s;
    int r = PB_OK;
    size_t pos = 0;
    while (pos < len && r == PB_OK) {
        p->line++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n > LINE_MAX_CHARS) {
            snprintf(err, errcap, "%s:%u:%d: line too long (at most %d characters)", name, p->line,
                     LINE_MAX_CHARS + 1, LINE_MAX_CHARS);
            r = PB_ERR_SYNTAX;
            break;
        }
        if (memchr(text + pos, '\0', n)) {
            size_t at = (size_t)((const char *)memchr(text + pos, '\0', n) - (text + pos));
            snprintf(err, errcap, "%s:%u:%zu: unexpected control byte 0x00", name, p->line, at + 1);
            r = PB_ERR_SYNTAX;
            break;
        }
        memcpy(p->buf, text + pos, n);
        p->buf[n] = '\0';
        bool indented = n > 0 && (p->buf[0] == ' ' || p->buf[0] == '\t');
        r = parse_line(p, indented);
        pos = end + 1;
    }
    free(p);
    if (r < 0) {
        sim_scenario_free(s);
        return r;
    }
    *out = s;
    return PB_OK;
}

int sim_scenario_load(const char *path, struct sim_scenario **out, char *err, size_t errcap)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return PB_ERR_INVAL;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "%s: %s", path, strerror(e));
        return e == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int r = PB_OK;
    while (buf) {
        if (len == cap) {
            if (cap >= FILE_MAX) {
                snprintf(err, errcap, "%s: file larger than %u bytes", path, FILE_MAX);
                r = PB_ERR_RANGE;
                break;
            }
            char *n = realloc(buf, cap * 2);
            if (!n)
                break;
            buf = n;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errcap, "%s: read error", path);
                r = PB_ERR_IO;
            }
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (!buf) {
        snprintf(err, errcap, "%s: out of memory", path);
        return PB_ERR_NOMEM;
    }
    if (r == PB_OK)
        r = sim_scenario_parse(is_stdin ? "<stdin>" : path, buf, len, out, err, errcap);
    free(buf);
    return r;
}

void sim_scenario_free(struct sim_scenario *s)
{
    if (!s)
        return;
    free(s->steps);
    free(s);
}

const struct sim_settings *sim_scenario_settings(const struct sim_scenario *s)
{
    return &s->settings;
}

size_t sim_scenario_count(const struct sim_scenario *s)
{
    return s ? s->n_steps : 0;
}

const struct sim_step *sim_scenario_step(const struct sim_scenario *s, size_t i)
{
    return s && i < s->n_steps ? &s->steps[i] : NULL;
}

const struct sim_fault *sim_scenario_faults(const struct sim_scenario *s, size_t *n)
{
    if (n)
        *n = s ? s->n_faults : 0;
    return s ? s->faults : NULL;
}
