/* capture_read: the pcapng reader of the capture module (the writer is capture.c).
 * Every length from the file is checked before it is used. Block and option layouts
 * follow draft-ietf-opsawg-pcapng; the section numbers below are its. */
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture_impl.h"
#include "pb_error.h"

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
    int64_t seen_size;  /* file size at open or at the last refresh: reads stop there */
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
    r->seen_size = r->file_size;
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
    /* New bytes only: a block cut short (what a crash leaves) stays cut until the file
     * grows, and a follower that asked again at once would spin on it forever. */
    bool grew = (int64_t)st.st_size > r->seen_size;
    r->file_size = r->seen_size = (int64_t)st.st_size;
    return grew && (uint64_t)st.st_size > r->off ? 1 : 0;
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
