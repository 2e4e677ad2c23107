/* usbids: vendor and product ids of payment terminals; see usbids.h. */
#include "usbids.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pb_error.h"

#define NAME_MAX_LEN 96
#define LINE_MAX_LEN 512

struct entry {
    uint16_t vid, pid;
    bool any_pid; /* "VVVV:*" */
    char name[NAME_MAX_LEN];
};

struct pb_usbids {
    struct entry *e; /* newest last; lookups walk from the end */
    size_t n, cap;
};

/* docs/PROTOCOLS.md, "USB identities seen on terminals". Entries marked [?] there are kept:
 * a wrong guess only names a device, it never changes what the bridge does. */
static const struct entry builtin[] = {
    {0x0B00, 0, true, "Ingenico terminal"},
    {0x0B00, 0x3070, false, "Ingenico iPP3xx (CP210x bridge)"},
    {0x0F14, 0, true, "Ingenico terminal (second vendor id)"},
    {0x079B, 0x0028, false, "Ingenico iPP320 (Sagem id)"},
    {0x11CA, 0, true, "Verifone terminal"},
    {0x11CA, 0x0201, false, "Verifone MX8xx (CDC-ACM)"},
    {0x11CA, 0x0207, false, "Verifone VX810"},
    {0x11CA, 0x0220, false, "Verifone VX805"},
    {0x11CA, 0x0212, false, "Verifone (CP2102 bridge)"},
    {0x2FB8, 0, true, "PAX Android terminal"},
    {0x0780, 0, true, "Sagem Monetel terminal"},
    {0x0AB1, 0, true, "FEIG terminal (ZVT)"},
    {0x0CA6, 0, true, "Castles terminal"},
    {0x1EAB, 0, true, "Newland terminal"},
};

static int add(struct pb_usbids *t, const struct entry *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        struct entry *ne = realloc(t->e, cap * sizeof *ne);
        if (!ne)
            return PB_ERR_NOMEM;
        t->e = ne;
        t->cap = cap;
    }
    t->e[t->n++] = *e;
    return PB_OK;
}

int pb_usbids_new(struct pb_usbids **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    struct pb_usbids *t = calloc(1, sizeof *t);
    if (!t)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (add(t, &builtin[i]) != PB_OK) {
            pb_usbids_free(t);
            return PB_ERR_NOMEM;
        }
    *out = t;
    return PB_OK;
}

/* Exactly four hex digits. */
static bool parse_id(const char *s, size_t n, uint16_t *v)
{
    if (n != 4)
        return false;
    unsigned x = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        x = x << 4 | (unsigned)d;
    }
    *v = (uint16_t)x;
    return true;
}

/* One line without its newline: 1 for an entry in *e, 0 for blank or comment, or -1
 * with why[] filled. */
static int parse_line(const char *line, struct entry *e, char *why, size_t why_cap)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '#' || *p == '\r')
        return 0;
    const char *colon = strchr(p, ':');
    const char *end = p;
    while (*end && !isspace((unsigned char)*end))
        end++;
    if (!colon || colon > end) {
        snprintf(why, why_cap, "expected VVVV:PPPP or VVVV:* then a name");
        return -1;
    }
    memset(e, 0, sizeof *e);
    if (!parse_id(p, (size_t)(colon - p), &e->vid)) {
        snprintf(why, why_cap, "vendor id '%.*s' is not four hex digits", (int)(colon - p > 16 ? 16 : colon - p), p);
        return -1;
    }
    const char *pp = colon + 1;
    if (end - pp == 1 && *pp == '*') {
        e->any_pid = true;
    } else if (!parse_id(pp, (size_t)(end - pp), &e->pid)) {
        snprintf(why, why_cap, "product id '%.*s' is not four hex digits or *",
                 (int)(end - pp > 16 ? 16 : end - pp), pp);
        return -1;
    }
    const char *name = end;
    while (*name == ' ' || *name == '\t')
        name++;
    size_t nl = strlen(name);
    while (nl > 0 && isspace((unsigned char)name[nl - 1]))
        nl--;
    if (nl == 0) {
        snprintf(why, why_cap, "%04X:%s has no name", e->vid, e->any_pid ? "*" : "PPPP");
        return -1;
    }
    if (nl >= sizeof e->name)
        nl = sizeof e->name - 1; /* long names are cut, not refused */
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)name[i];
        e->name[i] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    e->name[nl] = '\0';
    return 1;
}

int pb_usbids_load(struct pb_usbids *t, const char *path, FILE *errs)
{
    if (!t || !path)
        return PB_ERR_INVAL;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
    char line[LINE_MAX_LEN];
    unsigned lineno = 0;
    int bad = 0, rc = PB_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        bool whole = n > 0 && line[n - 1] == '\n';
        if (!whole && !feof(f)) {
            /* Longer than any sane entry: report it and skip to its end. */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            if (errs)
                fprintf(errs, "%s:%u: line longer than %d bytes\n", path, lineno, LINE_MAX_LEN - 2);
            bad++;
            continue;
        }
        if (whole)
            line[n - 1] = '\0';
        struct entry e;
        char why[128];
        int r = parse_line(line, &e, why, sizeof why);
        if (r < 0) {
            if (errs)
                fprintf(errs, "%s:%u: %s\n", path, lineno, why);
            bad++;
        } else if (r > 0 && (rc = add(t, &e)) != PB_OK) {
            break;
        }
    }
    if (rc == PB_OK && ferror(f))
        rc = PB_ERR_IO;
    fclose(f);
    return rc != PB_OK ? rc : bad;
}

const char *pb_usbids_lookup(const struct pb_usbids *t, uint16_t vid, uint16_t pid)
{
    if (!t)
        return NULL;
    for (size_t i = t->n; i-- > 0;)
        if (!t->e[i].any_pid && t->e[i].vid == vid && t->e[i].pid == pid)
            return t->e[i].name;
    for (size_t i = t->n; i-- > 0;)
        if (t->e[i].any_pid && t->e[i].vid == vid)
            return t->e[i].name;
    return NULL;
}

size_t pb_usbids_count(const struct pb_usbids *t)
{
    return t ? t->n : 0;
}

void pb_usbids_free(struct pb_usbids *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}
