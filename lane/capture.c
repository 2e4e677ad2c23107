/* capture: the pcapng writer (the reader is capture_read.c). Block and option layouts
 * follow the IETF draft draft-ietf-opsawg-pcapng ("PCAP Now Generic"); the section
 * numbers below are its. See capture.h for the contract and docs/CAPTURE.md for the
 * conventions posbridge adds. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_impl.h"
#include "lanelock.h"
#include "log.h"
#include "pb_error.h"
#include "safefile.h"

#define COMMENT_MAX 65532u /* option length is 16 bits; keep the padded value under it */
#define WBUF_INITIAL (64u * 1024u)
#define DEFAULT_IF_NAME "register<->terminal"
#define USERAPPL "posbridge"
#define IF_NAME_MAX 255 /* longer names are cut: an option holds at most 65535 bytes */

struct pb_capture {
    char *path;
    char *if_name;
    uint16_t link_type;
    uint64_t max_size;
    unsigned max_files;
    struct pb_lanelock *lock; /* PATH.lock, unless the caller holds it (opts.locked) */

    int fd;             /* -1 when the file could not be (re)opened: retried at flush */
    dev_t dev;          /* identity of the open file, for pb_capture_reopen() */
    ino_t ino;
    uint64_t committed; /* bytes of the current file known to be on disk, whole blocks */
    uint64_t rotate_at; /* rotate when the file would pass this (max_size, or later after a
                           failed rename) */
    uint64_t file_blocks; /* caller blocks in the current file, written or buffered */
    bool need_headers;  /* the next buffered block must be preceded by SHB + IDB */
    bool failing;       /* in a run of write errors: log once */
    bool open_said;     /* file_open() logged why it failed: not again until it works */

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
 * (pcapng files may hold several sections, section 3.1). Through safefile.h: captures hold
 * payment traffic, so new files are 0600 whatever the umask, and a symlink, FIFO, device
 * or someone else's file at PATH is refused, at start, rotation and reopen alike. The
 * reason is logged once until an open works again (wflush() retries it at every flush);
 * errno is EPERM for a refusal. */
static int file_open(struct pb_capture *c, bool trunc)
{
    char why[PATH_MAX + 200];
    int fd = pb_safefile_open(c->path, O_WRONLY | (trunc ? O_TRUNC : 0), why, sizeof why);
    if (fd < 0) {
        int e = fd == PB_ERR_UNSAFE ? EPERM : errno;
        if (!c->open_said)
            pb_error("capture: %s", why);
        c->open_said = true;
        errno = e;
        return fd == PB_ERR_UNSAFE ? fd : PB_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
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
    c->open_said = false;
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
    c->path = strdup(path);
    c->if_name = strndup(opts->if_name ? opts->if_name : DEFAULT_IF_NAME, IF_NAME_MAX);
    int rc = PB_ERR_NOMEM;
    if (!c->path || !c->if_name)
        goto fail;
    /* One writer per capture, before anything at PATH is rotated: a second one would
     * rename the first one's open file away (docs/TOOLS.md "One bridge per lane"). */
    char why[PATH_MAX + 200];
    if (!opts->locked) {
        rc = pb_lanelock_take(path, &c->lock, NULL, why, sizeof why);
        if (rc == PB_ERR_BUSY)
            goto fail; /* the caller names the holder: pb_capture_holder() */
        if (rc != PB_OK) {
            pb_error("capture: %s", why);
            goto fail;
        }
    }
    /* What is at PATH is judged before it is rotated away: a symlink or a FIFO planted
     * there is refused, not renamed to PATH.1 and replaced as if it were a capture. */
    rc = pb_safefile_check(path, why, sizeof why);
    if (rc != PB_OK) {
        pb_error("capture: %s", why);
        errno = EPERM;
        goto fail;
    }
    /* A capture left by an earlier run is kept, as if it had been rotated. */
    /* If it cannot be moved away, a new section is appended to it rather than lose it.
     * rename() moves names and never follows one: a symlink planted at PATH.1 is replaced,
     * not written through. */
    struct stat st;
    bool fresh = !(lstat(path, &st) == 0 && st.st_size > 0) || shift_files(c) == PB_OK;
    rc = file_open(c, fresh);
    if (rc != PB_OK)
        goto fail; /* file_open() logged why */
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
    if (c->fd >= 0 && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        return rc; /* nobody moved it: carry on */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->need_headers = true;
    c->file_blocks = 0;
    if (file_open(c, false) != PB_OK) {
        c->committed = 0; /* file_open() logged why */
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
    pb_lanelock_release(c->lock);
    free(c->buf);
    free(c->path);
    free(c->if_name);
    free(c);
    return rc;
}

pid_t pb_capture_holder(const char *path)
{
    return pb_lanelock_holder(path);
}

uint64_t pb_capture_lost(const struct pb_capture *c)
{
    return c ? c->lost : 0;
}
