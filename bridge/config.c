/* config: the options of `posbridge run` and their INI file (see config.h).
 *
 * inih does the INI syntax; this file feeds it lines and checks the keys. Debian's inih
 * gives the handler no line number, and with a FILE it splits a line longer than its
 * buffer into several "lines", so that the numbers it reports drift. The reader below
 * hands inih one real line at a time, counts them, and calls a longer line an error. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pb_error.h"
#include "protocol.h"

enum kind {
    K_STRING,
    K_FLAG,     /* bool; true/yes/1 or false/no/0 */
    K_PROTOCOL, /* char *: a registered protocol, auto or none */
    K_SIZE,     /* uint64_t bytes, K/M/G suffixes */
    K_FILES,    /* unsigned 1..1000 */
    K_COUNT,    /* unsigned 0..1000 */
    K_COUNT1,   /* unsigned 1..1000 */
    K_SECONDS,  /* uint32_t ms, given in whole seconds */
    K_SECONDS1, /* the same, never 0 */
    K_MS,       /* uint32_t ms */
    K_LEVEL,    /* enum pb_log_level */
};

struct key {
    const char *name;
    enum kind kind;
    size_t off;
};

#define F(field) offsetof(struct pb_config, field)

static const struct key KEYS[] = {
    {"register", K_STRING, F(register_spec)},
    {"terminal", K_STRING, F(terminal_spec)},
    {"register-line", K_STRING, F(register_line)},
    {"terminal-line", K_STRING, F(terminal_line)},
    {"protocol", K_PROTOCOL, F(protocol)},
    {"journal", K_STRING, F(journal)},
    {"no-journal", K_FLAG, F(no_journal)},
    {"capture", K_STRING, F(capture)},
    {"capture-max-size", K_SIZE, F(capture_max_size)},
    {"capture-files", K_FILES, F(capture_files)},
    {"capture-clear", K_FLAG, F(capture_clear)},
    {"events", K_STRING, F(events)},
    {"on-discrepancy", K_STRING, F(on_discrepancy)},
    {"alert-timeout", K_SECONDS1, F(alert_timeout_ms)},
    {"alert-burst", K_COUNT, F(alert_burst)},
    {"alert-max", K_COUNT1, F(alert_max)},
    {"shutdown-wait", K_SECONDS, F(shutdown_wait_ms)},
    {"accept-timeout", K_MS, F(tracker.accept_timeout_ms)},
    {"response-timeout", K_MS, F(tracker.response_timeout_ms)},
    {"completion-timeout", K_MS, F(tracker.completion_timeout_ms)},
    {"register-timeout", K_MS, F(tracker.register_timeout_ms)},
    {"duplicate-window", K_MS, F(tracker.duplicate_window_ms)},
    {"undercharge-is-partial", K_FLAG, F(tracker.undercharge_is_partial)},
    {"log-level", K_LEVEL, F(log_level)},
    {"syslog", K_FLAG, F(syslog)},
    {"quiet", K_FLAG, F(quiet)},
};

#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(KEYS[i].name, name) == 0)
            return &KEYS[i];
    return NULL;
}

void pb_config_init(struct pb_config *c)
{
    *c = (struct pb_config){.capture_files = 5, .alert_timeout_ms = 10000, .alert_burst = 10,
                            .alert_max = 4,
                            .shutdown_wait_ms = 10000, .log_level = PB_LOG_INFO};
}

void pb_config_free(struct pb_config *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (KEYS[i].kind == K_STRING || KEYS[i].kind == K_PROTOCOL) {
            char **s = (char **)((char *)c + KEYS[i].off);
            free(*s);
            *s = NULL;
        }
    }
}

bool pb_config_is_flag(const char *key)
{
    const struct key *k = find_key(key);
    return k && k->kind == K_FLAG;
}

/* Digits only: strtoull alone would take leading blanks, a sign, and wrap "-1". */
static int parse_uint(const char *v, unsigned long long *n, const char **end)
{
    if (v[0] < '0' || v[0] > '9')
        return -1;
    char *e;
    errno = 0;
    *n = strtoull(v, &e, 10);
    if (errno)
        return -1;
    *end = e;
    return 0;
}

/* n * scale, refused when it does not fit in 32 bits (checked before multiplying). */
static int parse_u32(const char *v, uint64_t scale, uint32_t *out)
{
    unsigned long long n;
    const char *end;
    if (parse_uint(v, &n, &end) < 0 || *end || n > UINT32_MAX / scale)
        return -1;
    *out = (uint32_t)(n * scale);
    return 0;
}

static int parse_size(const char *v, uint64_t *out)
{
    unsigned long long n;
    const char *end;
    if (parse_uint(v, &n, &end) < 0)
        return -1;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end || n > UINT64_MAX / mul)
        return -1;
    *out = n * mul;
    return 0;
}

static int parse_flag(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

static int parse_level(const char *v, enum pb_log_level *out)
{
    static const struct {
        const char *name;
        enum pb_log_level level;
    } levels[] = {{"debug", PB_LOG_DEBUG}, {"info", PB_LOG_INFO}, {"warning", PB_LOG_WARN},
                  {"error", PB_LOG_ERROR}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(v, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -1;
}

int pb_config_set(struct pb_config *c, const char *key, const char *value)
{
    const struct key *k = find_key(key);
    if (!k)
        return PB_ERR_NOTFOUND;
    void *field = (char *)c + k->off;
    uint32_t u = 0;
    switch (k->kind) {
    case K_PROTOCOL:
        if (strcmp(value, "auto") != 0 && strcmp(value, "none") != 0 &&
            !pb_protocol_find(value))
            return PB_ERR_SYNTAX;
        /* fall through */
    case K_STRING: {
        char *s = strdup(value);
        if (!s)
            return PB_ERR_NOMEM;
        free(*(char **)field);
        *(char **)field = s;
        return PB_OK;
    }
    case K_FLAG:
        return parse_flag(value, field) < 0 ? PB_ERR_SYNTAX : PB_OK;
    case K_SIZE:
        return parse_size(value, field) < 0 ? PB_ERR_SYNTAX : PB_OK;
    case K_FILES:
    case K_COUNT:
    case K_COUNT1:
        if (parse_u32(value, 1, &u) < 0 || (k->kind != K_COUNT && u == 0) || u > 1000)
            return PB_ERR_SYNTAX;
        *(unsigned *)field = u;
        return PB_OK;
    case K_SECONDS:
    case K_SECONDS1:
        if (parse_u32(value, 1000, &u) < 0 || (k->kind == K_SECONDS1 && u == 0))
            return PB_ERR_SYNTAX;
        *(uint32_t *)field = u;
        return PB_OK;
    case K_MS:
        return parse_u32(value, 1, field) < 0 ? PB_ERR_SYNTAX : PB_OK;
    case K_LEVEL:
        return parse_level(value, field) < 0 ? PB_ERR_SYNTAX : PB_OK;
    }
    return PB_ERR_SYNTAX;
}

/* ---- the INI file ------------------------------------------------------------------- */

struct ini_ctx {
    struct pb_config *cfg;
    const char *text; /* the input: a buffer ... */
    size_t left;
    FILE *f;          /* ... or a file */
    unsigned line;    /* the line inih is working on, from 1 */
    unsigned err_line; /* the first error this file found, 0 for none */
    bool nomem;
    char msg[200];
};

static void fail(struct ini_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct ini_ctx *c, const char *fmt, ...)
{
    if (c->err_line)
        return;
    c->err_line = c->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

/* s for a one-line message: bytes outside printable ASCII as \xNN, at most 48 bytes of
 * it then "...". out must hold 48 * 4 + 4 bytes. */
#define SHOW_MAX 48
static const char *show(const char *s, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; s[i] && i < SHOW_MAX; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b >= 0x20 && b < 0x7F) {
            *o++ = (char)b;
        } else {
            static const char hex[] = "0123456789abcdef";
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[b >> 4];
            *o++ = hex[b & 15];
        }
    }
    if (s[i]) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

static int next_byte(struct ini_ctx *c)
{
    if (c->f)
        return getc(c->f);
    if (c->left == 0)
        return EOF;
    c->left--;
    return (unsigned char)*c->text++;
}

/* inih's ini_reader: one line without its '\n' (fgets keeps it; inih strips it either
 * way). NUL bytes are copied like fgets does, and inih's line ends at the first. */
static char *read_line(char *str, int num, void *stream)
{
    struct ini_ctx *c = stream;
    int b = next_byte(c);
    if (b == EOF)
        return NULL;
    c->line++;
    size_t n = 0, cap = num > 1 ? (size_t)num - 1 : 0;
    for (; b != EOF && b != '\n'; b = next_byte(c)) {
        if (n == cap) {
            fail(c, "line too long (more than %zu characters)", cap);
            return NULL; /* inih stops here; its earlier errors, if any, come first */
        }
        str[n++] = (char)b;
    }
    str[n] = '\0';
    return str;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    char a[SHOW_MAX * 4 + 4];
    if (c->err_line)
        return 0;
    /* Keys before any [section] count as [bridge]. */
    if (section[0] && strcmp(section, "bridge") != 0) {
        fail(c, "unknown section [%s] (expected [bridge])", show(section, a));
        return 0;
    }
    if (name[0] == '\0') {
        fail(c, "no key before '='");
        return 0;
    }
    switch (pb_config_set(c->cfg, name, value)) {
    case PB_OK:
        return 1;
    case PB_ERR_NOTFOUND:
        fail(c, "unknown key '%s'", show(name, a));
        break;
    case PB_ERR_NOMEM:
        c->nomem = true;
        fail(c, "out of memory");
        break;
    default:
        if (pb_config_is_flag(name))
            fail(c, "%s takes true or false, not '%s'", name, show(value, a));
        else if (strcmp(name, "protocol") == 0)
            fail(c, "invalid value '%s' for protocol (valid: %s|auto|none)", show(value, a),
                 pb_protocol_names());
        else
            fail(c, "invalid value '%s' for %s", show(value, a), name);
        break;
    }
    return 0;
}

static int parse(struct ini_ctx *c, const char *name, char *err, size_t errlen)
{
    int line = ini_parse_stream(read_line, c, on_ini, c);
    if (c->f && ferror(c->f)) {
        snprintf(err, errlen, "cannot read config %s: %s", name, strerror(errno));
        return PB_ERR_IO;
    }
    if (line < 0 || c->nomem) {
        snprintf(err, errlen, "%s: cannot parse (out of memory)", name);
        return PB_ERR_NOMEM;
    }
    /* inih returns its first error's line; ours is the same line or a later one, or the
     * line it never saw (too long). */
    unsigned at = line > 0 ? (unsigned)line : c->err_line;
    if (at == 0)
        return PB_OK;
    snprintf(err, errlen, "%s:%u: %s", name, at,
             at == c->err_line ? c->msg : "syntax error (expected key = value or [section])");
    return PB_ERR_SYNTAX;
}

int pb_config_parse(struct pb_config *c, const char *name, const char *text, size_t len,
                    char *err, size_t errlen)
{
    struct ini_ctx x = {.cfg = c, .text = text, .left = len};
    return parse(&x, name, err, errlen);
}

int pb_config_load(struct pb_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
        return PB_ERR_IO;
    }
    struct ini_ctx x = {.cfg = c, .f = f};
    int rc = parse(&x, path, err, errlen);
    int saved = errno;
    fclose(f);
    errno = saved;
    return rc;
}
