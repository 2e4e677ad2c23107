/* capture: pcapng writer and reader. Block and option layouts follow the IETF draft
 * draft-ietf-opsawg-pcapng ("PCAP Now Generic"); the section numbers below are its. See
 * capture.h for the contract and docs/CAPTURE.md for the conventions posbridge adds. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pb_error.h"

/* Block types (section 4 and the block-type registry). */
#define BT_SHB 0x0A0D0D0Au /* Section Header Block: palindromic, same in both byte orders */
#define BT_IDB 0x00000001u /* Interface Description Block */
#define BT_EPB 0x00000006u /* Enhanced Packet Block */
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define BYTE_ORDER_MAGIC_SWAPPED 0x4D3C2B1Au

/* Option codes (section 3.5 common options, 4.1 SHB, 4.2 IDB, 4.3 EPB). */
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14
#define OPT_EPB_FLAGS 2

/* epb_flags bits 0-1: inbound/outbound (section 4.3.1). posbridge: ECR->PT is inbound. */
#define EPB_DIR_MASK 0x3u
#define EPB_DIR_INBOUND 0x1u
#define EPB_DIR_OUTBOUND 0x2u

#define TSRESOL_US 6 /* if_tsresol: 10^-6 s */
#define COMMENT_MAX 65532u /* option length is 16 bits; keep the padded value under it */
#define WBUF_INITIAL (64u * 1024u)
#define DEFAULT_IF_NAME "register<->terminal"
#define USERAPPL "posbridge"
#define IF_NAME_MAX 255 /* longer names are cut: an option holds at most 65535 bytes */

static size_t pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

/* ======================================================================================
 * Writer
 * ====================================================================================== */

struct pb_capture {
    char *path;
    char *if_name;
    uint16_t link_type;
    uint64_t max_size;
    unsigned max_files;
    unsigned mode;

    int fd;             /* -1 when the file could not be (re)opened: retried at flush */
    dev_t dev;          /* identity of the open file, for pb_capture_reopen() */
    ino_t ino;
    uint64_t committed; /* bytes of the current file known to be on disk, whole blocks */
    uint64_t rotate_at; /* rotate when the file would pass this (max_size, or later after a
                           failed rename) */
    uint64_t file_blocks; /* caller blocks in the current file, written or buffered */
    bool need_headers;  /* the next buffered block must be preceded by SHB + IDB */
    bool failing;       /* in a run of write errors: log once */

    uint8_t *buf;       /* whole blocks waiting for write(2) */
    size_t len, cap;
    uint64_t buf_blocks; /* caller blocks in buf */
    uint64_t buf_note;   /* the loss count a note in buf reports (0: no note in buf) */
    uint64_t lost;       /* caller blocks dropped and not yet noted in the file */
};

static int wbuf_reserve(struct pb_capture *c, size_t n)
{
    if (c->cap - c->len >= n)
        return PB_OK;
    size_t want = c->cap ? c->cap : WBUF_INITIAL;
    while (want - c->len < n)
        want *= 2;
    uint8_t *b = realloc(c->buf, want);
    if (!b)
        return PB_ERR_NOMEM;
    c->buf = b;
    c->cap = want;
    return PB_OK;
}

/* Host byte order throughout: the SHB's byte-order magic tells readers which it is. */
static void w16(struct pb_capture *c, uint16_t v)
{
    memcpy(c->buf + c->len, &v, 2);
    c->len += 2;
}

static void w32(struct pb_capture *c, uint32_t v)
{
    memcpy(c->buf + c->len, &v, 4);
    c->len += 4;
}

static void wbytes(struct pb_capture *c, const void *p, size_t n)
{
    if (n)
        memcpy(c->buf + c->len, p, n);
    memset(c->buf + c->len + n, 0, pad4(n) - n); /* pad to 32 bits with zeros */
    c->len += pad4(n);
}

static void wopt(struct pb_capture *c, uint16_t code, const void *val, size_t n)
{
    w16(c, code);
    w16(c, (uint16_t)n);
    wbytes(c, val, n);
}

/* Block head: type and a length patched by block_end() (which also writes the trailer). */
static size_t block_begin(struct pb_capture *c, uint32_t type)
{
    size_t start = c->len;
    w32(c, type);
    w32(c, 0);
    return start;
}

static void block_end(struct pb_capture *c, size_t start)
{
    uint32_t total = (uint32_t)(c->len - start + 4);
    memcpy(c->buf + start + 4, &total, 4);
    w32(c, total); /* block total length, repeated at the end (section 3.1) */
}

static size_t headers_size(const struct pb_capture *c)
{
    size_t shb = 28 + 4 + pad4(strlen(USERAPPL)) + 4;
    size_t idb = 20 + 4 + pad4(strlen(c->if_name)) + 4 + 4 + 4;
    return shb + idb;
}

static int put_headers(struct pb_capture *c)
{
    int rc = wbuf_reserve(c, headers_size(c));
    if (rc != PB_OK)
        return rc;
    /* SHB (section 4.1): magic, version 1.0, section length -1 (not known). */
    size_t s = block_begin(c, BT_SHB);
    w32(c, BYTE_ORDER_MAGIC);
    w16(c, 1);
    w16(c, 0);
    w32(c, 0xFFFFFFFFu);
    w32(c, 0xFFFFFFFFu);
    wopt(c, OPT_SHB_USERAPPL, USERAPPL, strlen(USERAPPL));
    wopt(c, OPT_ENDOFOPT, NULL, 0);
    block_end(c, s);
    /* IDB (section 4.2): snaplen 0 = no limit; microsecond timestamps. */
    s = block_begin(c, BT_IDB);
    w16(c, c->link_type);
    w16(c, 0);
    w32(c, 0);
    wopt(c, OPT_IF_NAME, c->if_name, strlen(c->if_name));
    uint8_t resol = TSRESOL_US;
    wopt(c, OPT_IF_TSRESOL, &resol, 1);
    wopt(c, OPT_ENDOFOPT, NULL, 0);
    block_end(c, s);
    c->need_headers = false;
    return PB_OK;
}

static size_t epb_size(size_t len, bool flags, size_t clen)
{
    size_t opts = (flags ? 8 : 0) + (clen ? 4 + pad4(clen) : 0);
    return 32 + pad4(len) + (opts ? opts + 4 : 0);
}

/* One EPB (section 4.3) into the buffer, which has room (see append()). */
static void put_epb(struct pb_capture *c, enum pb_dir dir, int64_t utc_us, const uint8_t *data,
                    size_t len, const char *comment, size_t clen)
{
    uint64_t ts = utc_us < 0 ? 0 : (uint64_t)utc_us;
    size_t s = block_begin(c, BT_EPB);
    w32(c, 0); /* interface 0, the only one */
    w32(c, (uint32_t)(ts >> 32));
    w32(c, (uint32_t)ts);
    w32(c, (uint32_t)len); /* captured length */
    w32(c, (uint32_t)len); /* original length: nothing is cut */
    wbytes(c, data, len);
    bool any = false;
    if (dir == PB_DIR_ECR || dir == PB_DIR_PT) {
        uint32_t flags = dir == PB_DIR_ECR ? EPB_DIR_INBOUND : EPB_DIR_OUTBOUND;
        wopt(c, OPT_EPB_FLAGS, &flags, 4);
        any = true;
    }
    if (clen) {
        wopt(c, OPT_COMMENT, comment, clen);
        any = true;
    }
    if (any)
        wopt(c, OPT_ENDOFOPT, NULL, 0);
    block_end(c, s);
}

/* Opens c->path. trunc: start an empty file; else append a new section to what is there
 * (pcapng files may hold several sections, section 3.1). New files get c->mode exactly,
 * whatever the umask: captures hold payment traffic. */
static int file_open(struct pb_capture *c, bool trunc)
{
    bool created = true;
    int fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)c->mode);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(c->path, O_WRONLY | O_CLOEXEC | (trunc ? O_TRUNC : 0));
    }
    if (fd < 0)
        return PB_ERR_IO;
    struct stat st;
    if ((created && fchmod(fd, (mode_t)c->mode) < 0) || fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return PB_ERR_IO;
    }
    off_t end = trunc ? 0 : lseek(fd, 0, SEEK_END);
    if (end < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return PB_ERR_IO;
    }
    c->fd = fd;
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->committed = (uint64_t)end;
    c->rotate_at = c->max_size;
    return PB_OK;
}

/* Writes the buffer. On failure the file is cut back to its last whole block, the
 * buffered blocks are dropped and counted in c->lost, and the capture stays usable. */
static int wflush(struct pb_capture *c)
{
    if (c->len == 0)
        return PB_OK;
    int e = 0;
    /* fd < 0: a rotation or reopen could not create the file; the buffer then starts with
     * the headers. Append, so that whatever appeared at PATH meanwhile is kept. */
    if (c->fd < 0 && file_open(c, false) != PB_OK) {
        e = errno;
    } else {
        size_t done = 0;
        while (done < c->len) {
            ssize_t n = write(c->fd, c->buf + done, c->len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                e = n < 0 ? errno : ENOSPC;
                break;
            }
            done += (size_t)n;
        }
    }
    if (e == 0) {
        c->committed += c->len;
        c->lost -= c->buf_note;
        c->failing = false;
    } else {
        /* A partial block would end every reader at this point: cut it off. */
        if (c->fd >= 0 && (ftruncate(c->fd, (off_t)c->committed) < 0 ||
                           lseek(c->fd, (off_t)c->committed, SEEK_SET) < 0)) {
            pb_warn("capture %s: cannot cut back to %" PRIu64 " bytes: %s", c->path,
                    c->committed, strerror(errno));
        }
        c->lost += c->buf_blocks;
        c->file_blocks -= c->buf_blocks;
        if (c->committed == 0)
            c->need_headers = true;
        if (!c->failing)
            pb_warn("capture %s: write failed, %" PRIu64 " packets dropped so far: %s", c->path,
                    c->lost, strerror(e));
        c->failing = true;
    }
    c->len = 0;
    c->buf_blocks = 0;
    c->buf_note = 0;
    if (e) {
        errno = e;
        return PB_ERR_IO;
    }
    return PB_OK;
}

/* "PATH.n" into a fresh string. */
static char *numbered(const char *path, unsigned n)
{
    size_t cap = strlen(path) + 16;
    char *s = malloc(cap);
    if (s)
        snprintf(s, cap, "%s.%u", path, n);
    return s;
}

/* PATH.(k-1) -> PATH.k for k = max_files..2, then PATH -> PATH.1; the oldest falls off.
 * With max_files 0 nothing is kept. Returns PB_OK or PB_ERR_IO (PATH left in place). */
static int shift_files(struct pb_capture *c)
{
    if (c->max_files == 0)
        return unlink(c->path) == 0 || errno == ENOENT ? PB_OK : PB_ERR_IO;
    for (unsigned k = c->max_files; k >= 2; k--) {
        char *from = numbered(c->path, k - 1), *to = numbered(c->path, k);
        if (from && to && rename(from, to) < 0 && errno != ENOENT)
            pb_warn("capture %s: cannot rename %s to %s: %s", c->path, from, to,
                    strerror(errno));
        free(from);
        free(to);
    }
    char *first = numbered(c->path, 1);
    int rc = first && rename(c->path, first) == 0 ? PB_OK : PB_ERR_IO;
    if (rc != PB_OK)
        pb_warn("capture %s: cannot rotate to %s.1: %s", c->path, c->path,
                first ? strerror(errno) : "out of memory");
    free(first);
    return rc;
}

static int rotate(struct pb_capture *c)
{
    int rc = wflush(c);
    if (shift_files(c) != PB_OK) {
        /* Keep writing where we are rather than lose data; try again one size later. */
        c->rotate_at += c->max_size;
        return rc;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->need_headers = true;
    c->file_blocks = 0;
    if (file_open(c, true) != PB_OK) {
        pb_warn("capture %s: cannot create: %s", c->path, strerror(errno));
        c->committed = 0;
        rc = PB_ERR_IO; /* wflush() retries the open */
    }
    return rc;
}

#define NOTE_MAX 96

static int append(struct pb_capture *c, enum pb_dir dir, int64_t utc_us, const uint8_t *data,
                  size_t len, const char *comment, size_t clen)
{
    size_t size = epb_size(len, dir != PB_DIR_UNKNOWN, clen);
    size_t extra = headers_size(c) + epb_size(0, false, NOTE_MAX); /* headers, loss note */
    int rc = PB_OK;
    if (c->max_size && c->file_blocks > 0 && c->committed + c->len + size > c->rotate_at)
        rc = rotate(c);
    if (c->len && c->len + size + extra > c->cap) {
        int r = wflush(c);
        if (r != PB_OK)
            rc = r;
    }
    int r = wbuf_reserve(c, size + extra);
    if (r != PB_OK)
        return r;
    if (c->need_headers)
        (void)put_headers(c); /* room reserved above */
    if (c->lost && !c->buf_note) {
        /* Blocks were dropped by a write error: say so in the file, before this block. */
        char note[NOTE_MAX];
        int n = snprintf(note, sizeof note,
                         "posbridge: %" PRIu64 " packets lost to capture write errors", c->lost);
        put_epb(c, PB_DIR_UNKNOWN, utc_us, NULL, 0, note,
                n < 0 ? 0 : (size_t)n < sizeof note ? (size_t)n : sizeof note - 1);
        c->buf_note = c->lost;
    }
    put_epb(c, dir, utc_us, data, len, comment, clen);
    c->buf_blocks++;
    c->file_blocks++;
    return rc;
}

int pb_capture_open(const char *path, uint16_t link_type, const struct pb_capture_opts *opts,
                    struct pb_capture **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!path || !*path)
        return PB_ERR_INVAL;
    const struct pb_capture_opts defaults = PB_CAPTURE_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    struct pb_capture *c = calloc(1, sizeof *c);
    if (!c)
        return PB_ERR_NOMEM;
    c->fd = -1;
    c->link_type = link_type;
    c->max_size = opts->max_size;
    c->max_files = opts->max_files;
    c->mode = opts->mode ? opts->mode & 0777u : 0600u;
    c->path = strdup(path);
    c->if_name = strndup(opts->if_name ? opts->if_name : DEFAULT_IF_NAME, IF_NAME_MAX);
    int rc = PB_ERR_NOMEM;
    if (!c->path || !c->if_name)
        goto fail;
    /* A capture left by an earlier run is kept, as if it had been rotated. */
    /* If it cannot be moved away, a new section is appended to it rather than lose it. */
    struct stat st;
    bool fresh = !(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) ||
                 shift_files(c) == PB_OK;
    rc = file_open(c, fresh);
    if (rc != PB_OK) {
        int e = errno;
        pb_error("capture %s: cannot create: %s", path, strerror(e));
        errno = e;
        goto fail;
    }
    rc = put_headers(c);
    if (rc != PB_OK)
        goto fail;
    (void)wflush(c); /* a full disk now is logged and retried like any later error */
    *out = c;
    return PB_OK;
fail:
    pb_capture_close(c);
    return rc;
}

int pb_capture_chunk(struct pb_capture *c, enum pb_dir dir, int64_t utc_us, const uint8_t *buf,
                     size_t len)
{
    if (!c || (!buf && len) || (dir != PB_DIR_ECR && dir != PB_DIR_PT && dir != PB_DIR_UNKNOWN))
        return PB_ERR_INVAL;
    int rc = PB_OK;
    do { /* one EPB per chunk; only an oversized chunk becomes several */
        size_t n = len > PB_CAPTURE_MAX_CHUNK ? PB_CAPTURE_MAX_CHUNK : len;
        int r = append(c, dir, utc_us, buf, n, NULL, 0);
        if (r != PB_OK)
            rc = r;
        if (r == PB_ERR_NOMEM)
            break;
        buf += n;
        len -= n;
    } while (len > 0);
    return rc;
}

int pb_capture_comment(struct pb_capture *c, int64_t utc_us, const char *text)
{
    if (!c || !text)
        return PB_ERR_INVAL;
    size_t n = strlen(text);
    if (n > COMMENT_MAX)
        n = COMMENT_MAX;
    if (n == 0)
        text = " ", n = 1; /* an empty comment would make the event invisible */
    return append(c, PB_DIR_UNKNOWN, utc_us, NULL, 0, text, n);
}

int pb_capture_flush(struct pb_capture *c)
{
    return c ? wflush(c) : PB_ERR_INVAL;
}

int pb_capture_reopen(struct pb_capture *c)
{
    if (!c)
        return PB_ERR_INVAL;
    int rc = wflush(c);
    struct stat st;
    if (c->fd >= 0 && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        return rc; /* nobody moved it: carry on */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->need_headers = true;
    c->file_blocks = 0;
    if (file_open(c, false) != PB_OK) {
        pb_warn("capture %s: cannot reopen: %s", c->path, strerror(errno));
        c->committed = 0;
        return PB_ERR_IO; /* retried at the next flush */
    }
    int r = put_headers(c);
    if (r == PB_OK)
        r = wflush(c);
    return r != PB_OK ? r : rc;
}

int pb_capture_close(struct pb_capture *c)
{
    if (!c)
        return PB_OK;
    int rc = c->fd >= 0 || c->len ? wflush(c) : PB_OK;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c->path);
    free(c->if_name);
    free(c);
    return rc;
}

uint64_t pb_capture_lost(const struct pb_capture *c)
{
    return c ? c->lost : 0;
}

/* ======================================================================================
 * Reader: every length from the file is checked before it is used.
 * ====================================================================================== */

#define MAX_BLOCK (16u * 1024u * 1024u) /* larger blocks are refused, never allocated */
#define MAX_IFACES 4096u

struct iface {
    uint16_t link_type;
    uint8_t tsresol;
    int64_t tsoffset; /* seconds */
};

struct pb_capture_reader {
    FILE *f;
    uint64_t off;       /* file offset of the next block */
    int64_t file_size;  /* -1 when not a regular file */
    bool in_section;
    bool swap;          /* section written in the other byte order */
    struct iface *ifs;
    size_t n_ifs;
    uint8_t *blk;       /* current block after its first 8 bytes */
    size_t blk_cap;
    char *comment;
    int err;
    char msg[256];
};

__attribute__((format(printf, 3, 4))) static int rfail(struct pb_capture_reader *r, int err,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->err = err;
    return err;
}

static uint16_t r16(const struct pb_capture_reader *r, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return r->swap ? (uint16_t)((v >> 8) | (v << 8)) : v;
}

static uint32_t r32(const struct pb_capture_reader *r, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swap ? __builtin_bswap32(v) : v;
}

static uint64_t r64(const struct pb_capture_reader *r, const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return r->swap ? __builtin_bswap64(v) : v;
}

/* Reads n bytes found at file offset 'at' of the block at blk_off, or fails naming it. */
static int rread(struct pb_capture_reader *r, void *dst, size_t n, uint64_t at, uint64_t blk_off,
                 uint64_t blk_len)
{
    size_t got = fread(dst, 1, n, r->f);
    if (got == n)
        return PB_OK;
    if (ferror(r->f))
        return rfail(r, PB_ERR_IO, "pcapng: read error in the block at offset %" PRIu64 ": %s",
                     blk_off, strerror(errno));
    return rfail(r, PB_ERR_TRUNCATED,
                 "pcapng: truncated block at offset %" PRIu64 ": length %" PRIu64
                 " but the file ends at offset %" PRIu64,
                 blk_off, blk_len, at + got);
}

/* Option walk (section 3.5): 1 with code, value and length, 0 at opt_endofopt or the end, or an
 * error when an option's length runs past its block. */
struct opt_it {
    const uint8_t *p;
    size_t n, pos;
    uint64_t blk_off; /* offset of the block in the file */
    uint64_t p_off;   /* offset of p in the file */
};

static int opt_next(struct pb_capture_reader *r, struct opt_it *it, uint16_t *code,
                    const uint8_t **val, size_t *vlen)
{
    if (it->pos == it->n)
        return 0;
    if (it->n - it->pos < 4)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: block at offset %" PRIu64 ": %zu stray bytes where an option "
                     "header should be at offset %" PRIu64,
                     it->blk_off, it->n - it->pos, it->p_off + it->pos);
    *code = r16(r, it->p + it->pos);
    size_t len = r16(r, it->p + it->pos + 2);
    if (*code == OPT_ENDOFOPT)
        return 0;
    if (pad4(len) > it->n - it->pos - 4)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: block at offset %" PRIu64 ": option %u at offset %" PRIu64
                     " has length %zu, past the end of the block",
                     it->blk_off, *code, it->p_off + it->pos, len);
    *val = it->p + it->pos + 4;
    *vlen = len;
    it->pos += 4 + pad4(len);
    return 1;
}

/* Walks all options only to validate them (SHB options are not used). */
static int opt_skip_all(struct pb_capture_reader *r, struct opt_it *it)
{
    uint16_t code = 0;
    const uint8_t *v = NULL;
    size_t n = 0;
    int rc;
    while ((rc = opt_next(r, it, &code, &v, &n)) == 1)
        ;
    return rc;
}

/* Reads the next block: 1 with type, body (after type and length, without the trailer)
 * and its offset; 0 at a clean end of file; negative on error. */
static int read_block(struct pb_capture_reader *r, uint32_t *type, const uint8_t **body,
                      size_t *body_len, uint64_t *blk_off)
{
    uint64_t off = r->off;
    *blk_off = off;
    uint8_t hdr[12];
    size_t got = fread(hdr, 1, 8, r->f);
    if (got == 0 && !ferror(r->f))
        return 0;
    if (got < 8) {
        if (ferror(r->f))
            return rfail(r, PB_ERR_IO, "pcapng: read error at offset %" PRIu64 ": %s", off,
                         strerror(errno));
        return rfail(r, PB_ERR_TRUNCATED,
                     "pcapng: truncated block header at offset %" PRIu64 " (%zu of 8 bytes)",
                     off, got);
    }
    uint32_t raw_type;
    memcpy(&raw_type, hdr, 4);
    bool shb = raw_type == BT_SHB;
    if (shb) {
        int rc = rread(r, hdr + 8, 4, off + 8, off, 12);
        if (rc != PB_OK)
            return rc;
        uint32_t magic;
        memcpy(&magic, hdr + 8, 4);
        if (magic == BYTE_ORDER_MAGIC)
            r->swap = false;
        else if (magic == BYTE_ORDER_MAGIC_SWAPPED)
            r->swap = true;
        else
            return rfail(r, PB_ERR_FRAMING,
                         "pcapng: bad byte-order magic 0x%08x in the section header at offset "
                         "%" PRIu64,
                         magic, off);
    } else if (!r->in_section) {
        uint32_t m = r32(r, hdr);
        if (off == 0 && (m == 0xA1B2C3D4u || m == 0xD4C3B2A1u || m == 0xA1B23C4Du ||
                         m == 0x4D3CB2A1u))
            return rfail(r, PB_ERR_UNSUPPORTED,
                         "pcapng: the file at offset 0 is classic pcap, not pcapng");
        return rfail(r, PB_ERR_UNSUPPORTED,
                     "pcapng: not a pcapng file: block at offset %" PRIu64
                     " is not a Section Header Block (bad magic 0x%08x)",
                     off, r32(r, hdr));
    }
    *type = r32(r, hdr);
    uint32_t len = r32(r, hdr + 4);
    if (len < (shb ? 28u : 12u) || len % 4 != 0 || len > MAX_BLOCK)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: block at offset %" PRIu64 " (type 0x%08x) has an invalid length %u",
                     off, *type, len);
    if (r->file_size >= 0 && off + len > (uint64_t)r->file_size)
        return rfail(r, PB_ERR_TRUNCATED,
                     "pcapng: truncated block at offset %" PRIu64 ": length %u but the file "
                     "ends at offset %" PRId64,
                     off, len, r->file_size);
    if (r->blk_cap < len) {
        uint8_t *b = realloc(r->blk, len);
        if (!b)
            return rfail(r, PB_ERR_NOMEM, "pcapng: out of memory at offset %" PRIu64, off);
        r->blk = b;
        r->blk_cap = len;
    }
    /* blk = the block after type and length; for an SHB the magic is already read. */
    size_t have = 0;
    if (shb) {
        memcpy(r->blk, hdr + 8, 4);
        have = 4;
    }
    int rc = rread(r, r->blk + have, len - 8 - have, off + 8 + have, off, len);
    if (rc != PB_OK)
        return rc;
    r->off = off + len;
    if (r32(r, r->blk + len - 12) != len)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: block at offset %" PRIu64 ": trailing length %u differs from %u",
                     off, r32(r, r->blk + len - 12), len);
    *body = r->blk;
    *body_len = len - 12;
    return 1;
}

static int on_shb(struct pb_capture_reader *r, const uint8_t *b, size_t n, uint64_t off)
{
    /* n >= 16 (length >= 28 checked): magic, major, minor, section length. */
    uint16_t major = r16(r, b + 4), minor = r16(r, b + 6);
    if (major != 1)
        return rfail(r, PB_ERR_UNSUPPORTED,
                     "pcapng: section at offset %" PRIu64 " is version %u.%u; only 1.x is read",
                     off, major, minor);
    struct opt_it it = {b + 16, n - 16, 0, off, off + 8 + 16};
    int rc = opt_skip_all(r, &it);
    if (rc < 0)
        return rc;
    r->in_section = true;
    r->n_ifs = 0; /* interface numbers restart in every section */
    return PB_OK;
}

static int on_idb(struct pb_capture_reader *r, const uint8_t *b, size_t n, uint64_t off)
{
    if (n < 8)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: interface block at offset %" PRIu64 " is too short", off);
    if (r->n_ifs >= MAX_IFACES)
        return rfail(r, PB_ERR_UNSUPPORTED,
                     "pcapng: interface block at offset %" PRIu64 ": more than %u interfaces",
                     off, MAX_IFACES);
    struct iface ifc = {.link_type = r16(r, b), .tsresol = TSRESOL_US, .tsoffset = 0};
    struct opt_it it = {b + 8, n - 8, 0, off, off + 8 + 8};
    uint16_t code = 0;
    const uint8_t *v = NULL;
    size_t vl = 0;
    int rc;
    while ((rc = opt_next(r, &it, &code, &v, &vl)) == 1) {
        if (code == OPT_IF_TSRESOL && vl >= 1) {
            /* high bit: negative power of 2, else of 10 (section 4.2) */
            uint8_t e = v[0] & 0x7f;
            if ((v[0] & 0x80) ? e > 63 : e > 19)
                return rfail(r, PB_ERR_UNSUPPORTED,
                             "pcapng: interface block at offset %" PRIu64
                             ": unusable if_tsresol 0x%02x",
                             off, v[0]);
            ifc.tsresol = v[0];
        } else if (code == OPT_IF_TSOFFSET && vl == 8) {
            ifc.tsoffset = (int64_t)r64(r, v);
        }
    }
    if (rc < 0)
        return rc;
    struct iface *a = realloc(r->ifs, (r->n_ifs + 1) * sizeof *a);
    if (!a)
        return rfail(r, PB_ERR_NOMEM, "pcapng: out of memory at offset %" PRIu64, off);
    r->ifs = a;
    r->ifs[r->n_ifs++] = ifc;
    return PB_OK;
}

static int64_t ts_to_us(uint64_t ts, const struct iface *ifc)
{
    __int128 us;
    uint8_t e = ifc->tsresol & 0x7f;
    if (ifc->tsresol & 0x80) {
        us = (__int128)(((unsigned __int128)ts * 1000000u) >> e);
    } else {
        unsigned __int128 p = 1;
        for (unsigned i = 0; i < (e > 6 ? e - 6u : 6u - e); i++)
            p *= 10;
        us = e <= 6 ? (__int128)(ts * p) : (__int128)(ts / p);
    }
    us += (__int128)ifc->tsoffset * 1000000;
    if (us > INT64_MAX)
        return INT64_MAX;
    if (us < INT64_MIN)
        return INT64_MIN;
    return (int64_t)us;
}

static int on_epb(struct pb_capture_reader *r, const uint8_t *b, size_t n, uint64_t off,
                  struct pb_capture_record *rec)
{
    if (n < 20)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: packet block at offset %" PRIu64 " is too short", off);
    uint32_t ifid = r32(r, b);
    if (ifid >= r->n_ifs)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: packet block at offset %" PRIu64
                     " names interface %u; the section describes %zu",
                     off, ifid, r->n_ifs);
    uint64_t ts = ((uint64_t)r32(r, b + 4) << 32) | r32(r, b + 8);
    uint32_t caplen = r32(r, b + 12), origlen = r32(r, b + 16);
    if ((uint64_t)pad4(caplen) > n - 20)
        return rfail(r, PB_ERR_FRAMING,
                     "pcapng: packet block at offset %" PRIu64
                     ": captured length %u runs past the block",
                     off, caplen);
    const struct iface *ifc = &r->ifs[ifid];
    *rec = (struct pb_capture_record){
        .dir = PB_DIR_UNKNOWN,
        .utc_us = ts_to_us(ts, ifc),
        .data = b + 20,
        .len = caplen,
        .orig_len = origlen < caplen ? caplen : origlen,
        .link_type = ifc->link_type,
    };
    struct opt_it it = {b + 20 + pad4(caplen), n - 20 - pad4(caplen), 0, off,
                        off + 8 + 20 + pad4(caplen)};
    uint16_t code = 0;
    const uint8_t *v = NULL;
    size_t vl = 0;
    int rc;
    bool have_comment = false;
    while ((rc = opt_next(r, &it, &code, &v, &vl)) == 1) {
        if (code == OPT_EPB_FLAGS && vl == 4) {
            uint32_t fl = r32(r, v) & EPB_DIR_MASK;
            rec->dir = fl == EPB_DIR_INBOUND    ? PB_DIR_ECR
                       : fl == EPB_DIR_OUTBOUND ? PB_DIR_PT
                                                : PB_DIR_UNKNOWN;
        } else if (code == OPT_COMMENT && !have_comment) {
            char *cm = realloc(r->comment, vl + 1); /* vl < 65536 */
            if (!cm)
                return rfail(r, PB_ERR_NOMEM, "pcapng: out of memory at offset %" PRIu64, off);
            memcpy(cm, v, vl);
            cm[vl] = '\0';
            r->comment = cm;
            have_comment = true;
        }
    }
    if (rc < 0)
        return rc;
    rec->comment = have_comment ? r->comment : NULL;
    rec->is_event = have_comment && caplen == 0;
    return 1;
}

/* Handles one block: 1 with a record, 0 at end, 2 for a block that yields no record. */
static int step(struct pb_capture_reader *r, struct pb_capture_record *rec)
{
    uint32_t type = 0;
    const uint8_t *b = NULL;
    size_t n = 0;
    uint64_t off = 0;
    int rc = read_block(r, &type, &b, &n, &off);
    if (rc <= 0)
        return rc;
    switch (type) {
    case BT_SHB: rc = on_shb(r, b, n, off); break;
    case BT_IDB: rc = on_idb(r, b, n, off); break;
    case BT_EPB: return on_epb(r, b, n, off, rec);
    default: rc = PB_OK; break; /* unknown or unused block: skipped by its length */
    }
    return rc < 0 ? rc : 2;
}

int pb_capture_reader_open(const char *path, struct pb_capture_reader **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!path)
        return PB_ERR_INVAL;
    struct pb_capture_reader *r = calloc(1, sizeof *r);
    if (!r)
        return PB_ERR_NOMEM;
    r->f = fopen(path, "rbe");
    if (!r->f) {
        int e = errno;
        free(r);
        errno = e;
        return e == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
    }
    struct stat st;
    r->file_size = fstat(fileno(r->f), &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size
                                                                        : -1;
    /* Read up to the first interface so that the link type is known before any packet
     * (an IDB precedes every packet that refers to it, section 4.2). */
    struct pb_capture_record rec;
    while (r->n_ifs == 0 && step(r, &rec) == 2)
        ;
    /* An EPB before any IDB is an error, so no record is lost here; errors are kept for
     * the first pb_capture_read(). */
    *out = r;
    return PB_OK;
}

int pb_capture_read(struct pb_capture_reader *r, struct pb_capture_record *rec)
{
    if (!r || !rec)
        return PB_ERR_INVAL;
    if (r->err)
        return r->err;
    int rc;
    while ((rc = step(r, rec)) == 2)
        ;
    return rc;
}

const char *pb_capture_reader_error(const struct pb_capture_reader *r)
{
    return r && r->err ? r->msg : "";
}

int pb_capture_reader_link_type(const struct pb_capture_reader *r)
{
    return r && r->n_ifs ? r->ifs[0].link_type : -1;
}

int pb_capture_reader_refresh(struct pb_capture_reader *r)
{
    if (!r)
        return PB_ERR_INVAL;
    if (r->err && r->err != PB_ERR_TRUNCATED)
        return r->err;
    /* A truncated block is the writer's next block in progress: not an error here. */
    r->err = 0;
    r->msg[0] = '\0';
    clearerr(r->f);
    if (fseeko(r->f, (off_t)r->off, SEEK_SET) != 0)
        return rfail(r, PB_ERR_IO, "pcapng: cannot seek to offset %" PRIu64 ": %s", r->off,
                     strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    r->file_size = (int64_t)st.st_size;
    return (uint64_t)st.st_size > r->off ? 1 : 0;
}

bool pb_capture_reader_moved(const struct pb_capture_reader *r, const char *path)
{
    struct stat open_st, path_st;
    if (!r || !path || fstat(fileno(r->f), &open_st) != 0)
        return false;
    if (stat(path, &path_st) != 0)
        return errno == ENOENT;
    return open_st.st_ino != path_st.st_ino || open_st.st_dev != path_st.st_dev;
}

uint64_t pb_capture_reader_offset(const struct pb_capture_reader *r)
{
    return r ? r->off : 0;
}

void pb_capture_reader_close(struct pb_capture_reader *r)
{
    if (!r)
        return;
    fclose(r->f);
    free(r->ifs);
    free(r->blk);
    free(r->comment);
    free(r);
}
