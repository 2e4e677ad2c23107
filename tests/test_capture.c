/* Tests for lane/capture.c and capture_read.c: pcapng round trip, rotation, reopen,
 * file mode, write errors (RLIMIT_FSIZE in a child), hostile files, both byte orders,
 * and tshark's view. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"
#include "pb_error.h"

#define T0 1763776000000000LL /* 2025-11-22 01:46:40 UTC in microseconds */

struct fx {
    char dir[64];
    char path[128];
};

static void quiet_log(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)level;
    (void)msg;
    (void)ctx;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-cap-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/lane.pcapng", f->dir);
    pb_log_set_sink(PB_LOG_CALLBACK, "test", quiet_log, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Reads every record of a file; returns the count, asserts a clean end. Optionally
 * collects the first 4 data bytes of each data record as a big-endian sequence number. */
static int read_all(const char *path, uint32_t *seqs, int max_seqs, int *n_seqs)
{
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(path, &r), PB_OK);
    struct pb_capture_record rec;
    int n = 0, rc;
    if (n_seqs)
        *n_seqs = 0;
    while ((rc = pb_capture_read(r, &rec)) == 1) {
        n++;
        if (seqs && rec.len >= 4 && *n_seqs < max_seqs)
            seqs[(*n_seqs)++] = (uint32_t)rec.data[0] << 24 | (uint32_t)rec.data[1] << 16 |
                                (uint32_t)rec.data[2] << 8 | rec.data[3];
    }
    if (rc != 0)
        fail_msg("%s: %s", path, pb_capture_reader_error(r));
    pb_capture_reader_close(r);
    return n;
}

/* ---- writer and round trip ----------------------------------------------------------- */

static const uint8_t zvt_auth[] = {0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x12, 0x50, 0x49, 0x09, 0x78};
static const uint8_t zvt_ack[] = {0x80, 0x00, 0x00};

static void write_sample(const char *path)
{
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(path, PB_CAPTURE_LINKTYPE_ZVT, NULL, &c), PB_OK);
    assert_int_equal(pb_capture_chunk(c, PB_DIR_ECR, T0, zvt_auth, sizeof zvt_auth), PB_OK);
    assert_int_equal(pb_capture_chunk(c, PB_DIR_PT, T0 + 1234, zvt_ack, sizeof zvt_ack), PB_OK);
    assert_int_equal(pb_capture_comment(c, T0 + 2000, "port lost: /dev/ttyUSB0"), PB_OK);
    assert_int_equal(pb_capture_chunk(c, PB_DIR_UNKNOWN, T0 + 3000, zvt_ack, 1), PB_OK);
    assert_int_equal(pb_capture_close(c), PB_OK);
}

static void test_roundtrip(void **state)
{
    struct fx *f = *state;
    write_sample(f->path);
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_OK);
    assert_int_equal(pb_capture_reader_link_type(r), 147); /* known before the first read */
    struct pb_capture_record rec;

    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.dir, PB_DIR_ECR);
    assert_int_equal(rec.utc_us, T0);
    assert_int_equal(rec.len, sizeof zvt_auth);
    assert_int_equal(rec.orig_len, sizeof zvt_auth);
    assert_memory_equal(rec.data, zvt_auth, sizeof zvt_auth);
    assert_null(rec.comment);
    assert_false(rec.is_event);
    assert_int_equal(rec.link_type, 147);

    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.dir, PB_DIR_PT);
    assert_int_equal(rec.utc_us, T0 + 1234);
    assert_int_equal(rec.len, 3);
    assert_memory_equal(rec.data, zvt_ack, 3);

    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_true(rec.is_event);
    assert_int_equal(rec.len, 0);
    assert_int_equal(rec.dir, PB_DIR_UNKNOWN);
    assert_int_equal(rec.utc_us, T0 + 2000);
    assert_string_equal(rec.comment, "port lost: /dev/ttyUSB0");

    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.dir, PB_DIR_UNKNOWN);
    assert_false(rec.is_event);
    assert_int_equal(rec.len, 1);

    assert_int_equal(pb_capture_read(r, &rec), 0);
    assert_int_equal(pb_capture_read(r, &rec), 0); /* end stays end */
    assert_string_equal(pb_capture_reader_error(r), "");
    pb_capture_reader_close(r);
}

static void test_edges_and_args(void **state)
{
    struct fx *f = *state;
    struct pb_capture *c = (struct pb_capture *)1;
    assert_int_equal(pb_capture_open(NULL, 147, NULL, &c), PB_ERR_INVAL);
    assert_null(c);
    assert_int_equal(pb_capture_open("/nonexistent-dir/x.pcapng", 147, NULL, &c), PB_ERR_IO);
    assert_null(c);

    struct pb_capture_opts o = PB_CAPTURE_OPTS_DEFAULT;
    o.if_name = "ecr<->pt lane 3";
    assert_int_equal(pb_capture_open(f->path, PB_CAPTURE_LINKTYPE_CONCERT, &o, &c), PB_OK);
    assert_int_equal(pb_capture_chunk(c, PB_DIR_ECR, T0, NULL, 1), PB_ERR_INVAL);
    assert_int_equal(pb_capture_chunk(c, (enum pb_dir)7, T0, zvt_ack, 1), PB_ERR_INVAL);
    assert_int_equal(pb_capture_comment(c, T0, NULL), PB_ERR_INVAL);
    /* Before 1970 is clamped, an empty comment still makes an event. */
    assert_int_equal(pb_capture_chunk(c, PB_DIR_PT, -5, zvt_ack, 3), PB_OK);
    assert_int_equal(pb_capture_comment(c, T0, ""), PB_OK);
    /* A chunk over the per-block limit is split, not refused. */
    size_t big = PB_CAPTURE_MAX_CHUNK + 10;
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    buf[big - 1] = 0xAB;
    assert_int_equal(pb_capture_chunk(c, PB_DIR_ECR, T0, buf, big), PB_OK);
    /* A very long comment is cut to what one option can hold. */
    char *longc = malloc(70000);
    assert_non_null(longc);
    memset(longc, 'x', 69999);
    longc[69999] = '\0';
    assert_int_equal(pb_capture_comment(c, T0, longc), PB_OK);
    assert_int_equal(pb_capture_close(c), PB_OK);
    free(longc);

    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_OK);
    assert_int_equal(pb_capture_reader_link_type(r), 148);
    struct pb_capture_record rec;
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.utc_us, 0);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_true(rec.is_event);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.len, PB_CAPTURE_MAX_CHUNK);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.len, 10);
    assert_int_equal(rec.data[9], 0xAB);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(strlen(rec.comment), 65532);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    pb_capture_reader_close(r);
    free(buf);

    assert_int_equal(pb_capture_reader_open(f->dir, &r), PB_OK); /* a directory */
    assert_true(pb_capture_read(r, &rec) < 0);
    pb_capture_reader_close(r);
    snprintf(f->path + strlen(f->path), 8, ".none");
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_ERR_NOTFOUND);
    assert_null(r);
    assert_int_equal(pb_capture_close(NULL), PB_OK);
    pb_capture_reader_close(NULL);
}

static void test_file_mode(void **state)
{
    struct fx *f = *state;
    mode_t old = umask(0); /* even a permissive umask must not widen a capture's mode */
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &c), PB_OK);
    assert_int_equal(file_size(f->path) > 0, 1); /* headers already on disk */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(pb_capture_close(c), PB_OK);

    umask(0277); /* and a strict one cannot narrow it */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &c), PB_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(pb_capture_close(c), PB_OK);
    umask(old);

    /* An existing file wider than 0600 is refused before it is rotated, and kept as it
     * was (lane/safefile.h); so is a symlink, and the file it points to. */
    char p1[160];
    snprintf(p1, sizeof p1, "%s.1", f->path);
    unlink(p1);
    assert_int_equal(chmod(f->path, 0644), 0);
    off_t size = file_size(f->path);
    c = (struct pb_capture *)1;
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &c), PB_ERR_UNSAFE);
    assert_null(c);
    assert_int_equal(file_size(f->path), size);
    assert_false(exists(p1));
    assert_int_equal(rename(f->path, p1), 0);
    assert_int_equal(symlink(p1, f->path), 0);
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &c), PB_ERR_UNSAFE);
    assert_int_equal(file_size(p1), size);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(unlink(p1), 0);
}

/* ---- rotation and reopen ------------------------------------------------------------- */

static void put_seq(struct pb_capture *c, uint32_t seq, size_t len)
{
    uint8_t buf[64] = {0};
    assert_true(len >= 4 && len <= sizeof buf);
    buf[0] = (uint8_t)(seq >> 24);
    buf[1] = (uint8_t)(seq >> 16);
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    assert_int_equal(pb_capture_chunk(c, seq % 2 ? PB_DIR_PT : PB_DIR_ECR, T0 + seq, buf, len),
                     PB_OK);
}

static void test_second_writer_refused(void **state)
{
    struct fx *f = *state;
    struct pb_capture *a = NULL, *b = (struct pb_capture *)1;
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &a), PB_OK);
    put_seq(a, 1, 8);
    /* A second writer would rotate the first one's open file away: refused, named. */
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &b), PB_ERR_BUSY);
    assert_null(b);
    assert_int_equal(pb_capture_holder(f->path), getpid());
    char p1[160];
    snprintf(p1, sizeof p1, "%s.1", f->path);
    assert_false(exists(p1));
    assert_int_equal(pb_capture_close(a), PB_OK);
    assert_int_equal(pb_capture_holder(f->path), 0);
    /* Closed, its lock file is gone and the path is free again. */
    char lock[160];
    snprintf(lock, sizeof lock, "%s.lock", f->path);
    assert_false(exists(lock));
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &b), PB_OK);
    assert_int_equal(pb_capture_close(b), PB_OK);
}

static void test_rotation_keeps_max_files(void **state)
{
    struct fx *f = *state;
    struct pb_capture_opts o = {.max_size = 1000, .max_files = 2};
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(f->path, 147, &o, &c), PB_OK);
    const uint32_t total = 200;
    for (uint32_t i = 0; i < total; i++)
        put_seq(c, i, 40);
    assert_int_equal(pb_capture_close(c), PB_OK);

    char p1[160], p2[160], p3[160];
    snprintf(p1, sizeof p1, "%s.1", f->path);
    snprintf(p2, sizeof p2, "%s.2", f->path);
    snprintf(p3, sizeof p3, "%s.3", f->path);
    assert_true(exists(f->path));
    assert_true(exists(p1));
    assert_true(exists(p2));
    assert_false(exists(p3)); /* max_files = 2: older ones are gone */

    /* Every file is a complete capture within the size cap, and the three together hold
     * the newest chunks in order, with no gap. */
    uint32_t seqs[3][64];
    int ns[3];
    const char *order[3] = {p2, p1, f->path};
    for (int k = 0; k < 3; k++) {
        assert_true(file_size(order[k]) <= 1000);
        assert_true(read_all(order[k], seqs[k], 64, &ns[k]) > 0);
        assert_int_equal(ns[k] > 0, 1);
        struct stat st;
        assert_int_equal(stat(order[k], &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    uint32_t expect = seqs[0][0];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < ns[k]; i++)
            assert_int_equal(seqs[k][i], expect++);
    assert_int_equal(expect, total);
    assert_true(seqs[0][0] > 0); /* the oldest really rotated away */
}

static void test_restart_keeps_previous(void **state)
{
    struct fx *f = *state;
    write_sample(f->path);
    off_t first = file_size(f->path);
    struct pb_capture *c = NULL;
    struct pb_capture_opts o = {.max_files = 3};
    assert_int_equal(pb_capture_open(f->path, 147, &o, &c), PB_OK);
    assert_int_equal(pb_capture_comment(c, T0, "bridge restart"), PB_OK);
    assert_int_equal(pb_capture_close(c), PB_OK);
    char p1[160];
    snprintf(p1, sizeof p1, "%s.1", f->path);
    assert_int_equal(file_size(p1), first);
    assert_int_equal(read_all(p1, NULL, 0, NULL), 4);
    assert_int_equal(read_all(f->path, NULL, 0, NULL), 1);

    /* max_files 0 keeps nothing: the old capture is replaced. */
    o.max_files = 0;
    assert_int_equal(pb_capture_open(f->path, 147, &o, &c), PB_OK);
    assert_int_equal(pb_capture_close(c), PB_OK);
    assert_int_equal(read_all(f->path, NULL, 0, NULL), 0);
    assert_int_equal(file_size(p1), first);
}

static void test_reopen_after_logrotate(void **state)
{
    struct fx *f = *state;
    struct pb_capture *c = NULL;
    assert_int_equal(pb_capture_open(f->path, 147, NULL, &c), PB_OK);
    put_seq(c, 1, 8);
    /* Not moved: reopen carries on in the same file, no second section header. */
    assert_int_equal(pb_capture_reopen(c), PB_OK);
    off_t before = file_size(f->path);
    put_seq(c, 2, 8);
    assert_int_equal(pb_capture_flush(c), PB_OK);
    assert_int_equal(file_size(f->path) - before, 32 + 8 + 8 + 4);

    char old[160];
    snprintf(old, sizeof old, "%s.old", f->path);
    assert_int_equal(rename(f->path, old), 0); /* what logrotate does */
    put_seq(c, 3, 8);                          /* buffered: belongs to the old file */
    assert_int_equal(pb_capture_reopen(c), PB_OK);
    put_seq(c, 4, 8);
    assert_int_equal(pb_capture_close(c), PB_OK);
    uint32_t s[8];
    int n;
    assert_int_equal(read_all(old, s, 8, &n), 3);
    assert_int_equal(s[2], 3);
    assert_int_equal(read_all(f->path, s, 8, &n), 1);
    assert_int_equal(s[0], 4);
}

/* ---- write errors -------------------------------------------------------------------- */

/* In a child: the file size limit makes writes fail with EFBIG (SIGXFSZ ignored). The
 * writer must report PB_ERR_IO, keep the file readable, and resume once space returns.
 * Exit code: 0 all good, else the number of the failed check. */
static int disk_full_child(const char *path)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 1;
    struct rlimit small = {.rlim_cur = 2048, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_FSIZE, &small) != 0)
        return 2;
    struct pb_capture *c = NULL;
    if (pb_capture_open(path, 147, NULL, &c) != PB_OK)
        return 3;
    int io_errors = 0;
    for (uint32_t i = 0; i < 200; i++) {
        uint8_t buf[40] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        int rc = pb_capture_chunk(c, PB_DIR_ECR, T0 + i, buf, sizeof buf);
        if (rc == PB_ERR_IO)
            io_errors++;
        else if (rc != PB_OK)
            return 4;
        rc = pb_capture_flush(c);
        if (rc == PB_ERR_IO)
            io_errors++;
        else if (rc != PB_OK)
            return 5;
    }
    if (io_errors == 0 || pb_capture_lost(c) == 0)
        return 6;
    small.rlim_cur = rl.rlim_cur; /* space comes back */
    if (setrlimit(RLIMIT_FSIZE, &small) != 0)
        return 7;
    uint8_t last[8] = {0xFF, 0xFF, 0xFF, 0xFF};
    if (pb_capture_chunk(c, PB_DIR_PT, T0 + 999, last, sizeof last) != PB_OK)
        return 8;
    if (pb_capture_flush(c) != PB_OK || pb_capture_lost(c) != 0)
        return 9;
    if (pb_capture_close(c) != PB_OK)
        return 10;
    return 0;
}

static void test_disk_full(void **state)
{
    struct fx *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child(f->path));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st)); /* no crash, no SIGXFSZ */
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The file is whole: the first chunks, a note about the loss, the last chunk. */
    assert_true(file_size(f->path) > 2048);
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_OK);
    struct pb_capture_record rec;
    int rc, data = 0;
    bool note = false, last = false;
    while ((rc = pb_capture_read(r, &rec)) == 1) {
        if (rec.is_event && strstr(rec.comment, "packets lost to capture write errors"))
            note = true;
        else if (rec.len == 8 && rec.data[0] == 0xFF)
            last = note; /* the note comes before the chunk that follows the loss */
        else
            data++;
    }
    assert_int_equal(rc, 0);
    assert_true(data > 10 && data < 200);
    assert_true(note);
    assert_true(last);
    pb_capture_reader_close(r);
}

/* ---- hostile files, built by hand ---------------------------------------------------- */

struct bld {
    uint8_t b[2048];
    size_t len;
    bool be; /* write big-endian */
    size_t start;
};

static void b16(struct bld *x, uint16_t v)
{
    x->b[x->len++] = (uint8_t)(x->be ? v >> 8 : v);
    x->b[x->len++] = (uint8_t)(x->be ? v : v >> 8);
}

static void b32(struct bld *x, uint32_t v)
{
    if (x->be) {
        b16(x, (uint16_t)(v >> 16));
        b16(x, (uint16_t)v);
    } else {
        b16(x, (uint16_t)v);
        b16(x, (uint16_t)(v >> 16));
    }
}

static void bbytes(struct bld *x, const void *p, size_t n)
{
    memcpy(x->b + x->len, p, n);
    x->len += n;
    while (x->len % 4)
        x->b[x->len++] = 0;
}

static void bopt(struct bld *x, uint16_t code, const void *p, size_t n)
{
    b16(x, code);
    b16(x, (uint16_t)n);
    bbytes(x, p, n);
}

static size_t bbegin(struct bld *x, uint32_t type)
{
    x->start = x->len;
    b32(x, type);
    b32(x, 0);
    return x->start;
}

static void bend(struct bld *x)
{
    uint32_t total = (uint32_t)(x->len - x->start + 4);
    size_t save = x->len;
    x->len = x->start + 4;
    b32(x, total);
    x->len = save;
    b32(x, total);
}

static size_t bshb(struct bld *x, uint16_t major)
{
    size_t at = bbegin(x, 0x0A0D0D0A);
    b32(x, 0x1A2B3C4D);
    b16(x, major);
    b16(x, 0);
    b32(x, 0xFFFFFFFF);
    b32(x, 0xFFFFFFFF);
    bend(x);
    return at;
}

static size_t bidb(struct bld *x, uint16_t linktype, int tsresol)
{
    size_t at = bbegin(x, 1);
    b16(x, linktype);
    b16(x, 0);
    b32(x, 0);
    if (tsresol >= 0) {
        uint8_t v = (uint8_t)tsresol;
        bopt(x, 9, &v, 1);
        b32(x, 0);
    }
    bend(x);
    return at;
}

static size_t bepb(struct bld *x, uint32_t ifid, uint64_t ts, const void *data, uint32_t n,
                   int flags)
{
    size_t at = bbegin(x, 6);
    b32(x, ifid);
    b32(x, (uint32_t)(ts >> 32));
    b32(x, (uint32_t)ts);
    b32(x, n);
    b32(x, n);
    bbytes(x, data, n);
    if (flags >= 0) {
        b16(x, 2);
        b16(x, 4);
        b32(x, (uint32_t)flags);
        b32(x, 0);
    }
    bend(x);
    return at;
}

/* Writes x to the fixture path and expects the first read error: code and offset text. */
static void expect_error(struct fx *f, const struct bld *x, int want, const char *offset_text)
{
    write_file(f->path, x->b, x->len);
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_OK);
    struct pb_capture_record rec;
    int rc;
    while ((rc = pb_capture_read(r, &rec)) == 1)
        ;
    const char *msg = pb_capture_reader_error(r);
    if (rc != want || !strstr(msg, offset_text))
        fail_msg("got %d '%s', want %d naming '%s'", rc, msg, want, offset_text);
    assert_int_equal(pb_capture_read(r, &rec), want); /* errors are sticky */
    pb_capture_reader_close(r);
}

static void test_big_endian_sections_unknown_blocks(void **state)
{
    struct fx *f = *state;
    struct bld x = {.be = true};
    bshb(&x, 1);
    bbegin(&x, 0x0000000B); /* some block type we do not know: skipped by its length */
    b32(&x, 0xDEADBEEF);
    bend(&x);
    bidb(&x, 147, -1); /* no if_tsresol: microseconds by default */
    bepb(&x, 0, (uint64_t)T0, "\x06\x01", 2, 1);
    bbegin(&x, 0x40000BAD); /* a custom block, also skipped */
    b32(&x, 32473);
    bend(&x);
    /* A second section, little-endian, nanoseconds, and a 2^-20 s interface. */
    struct bld y = {.be = false};
    bshb(&y, 1);
    bidb(&y, 149, 9);
    bidb(&y, 148, 0x80 | 20);
    bepb(&y, 0, (uint64_t)T0 * 1000 + 999, "\x80\x00\x00", 3, 2);
    bepb(&y, 1, (uint64_t)3 << 20, "x", 1, 3); /* 3 s; direction 11 is no direction */
    memcpy(x.b + x.len, y.b, y.len);
    x.len += y.len;
    write_file(f->path, x.b, x.len);

    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(f->path, &r), PB_OK);
    assert_int_equal(pb_capture_reader_link_type(r), 147);
    struct pb_capture_record rec;
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.dir, PB_DIR_ECR);
    assert_int_equal(rec.utc_us, T0);
    assert_int_equal(rec.len, 2);
    assert_memory_equal(rec.data, "\x06\x01", 2);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(pb_capture_reader_link_type(r), 149); /* the new section's */
    assert_int_equal(rec.link_type, 149);
    assert_int_equal(rec.dir, PB_DIR_PT);
    assert_int_equal(rec.utc_us, T0); /* nanoseconds cut to microseconds */
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.link_type, 148);
    assert_int_equal(rec.utc_us, 3000000);
    assert_int_equal(rec.dir, PB_DIR_UNKNOWN);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    pb_capture_reader_close(r);
}

static void test_truncated_everywhere(void **state)
{
    struct fx *f = *state;
    struct bld x = {0};
    size_t starts[4];
    starts[0] = bshb(&x, 1);
    starts[1] = bidb(&x, 147, 6);
    starts[2] = bepb(&x, 0, 1, "abcde", 5, 1);
    starts[3] = bepb(&x, 0, 2, "xy", 2, 2);
    size_t full = x.len;
    /* Cut at every byte: at a block boundary the file ends cleanly, inside a block the
     * error names that block's offset. */
    for (size_t cut = 0; cut < full; cut++) {
        struct bld y = x;
        y.len = cut;
        size_t k = 0;
        while (k + 1 < 4 && starts[k + 1] <= cut)
            k++;
        if (cut == starts[k]) {
            write_file(f->path, y.b, y.len);
            int n = read_all(f->path, NULL, 0, NULL);
            assert_int_equal(n, k >= 3 ? 1 : 0);
            continue;
        }
        char want[48];
        snprintf(want, sizeof want, "offset %zu", starts[k]);
        expect_error(f, &y, PB_ERR_TRUNCATED, want);
    }
}

static void test_malformed_blocks(void **state)
{
    struct fx *f = *state;
    struct bld base = {0};
    bshb(&base, 1);
    bidb(&base, 147, 6);
    size_t epb = bepb(&base, 0, 1, "abcd", 4, 1);
    char want[48];
    snprintf(want, sizeof want, "offset %zu", epb);

    /* Lying block length: longer than the file. */
    struct bld x = base;
    x.b[epb + 4] = 0xF0;
    expect_error(f, &x, PB_ERR_TRUNCATED, want);
    /* ...beyond any sane size. */
    x = base;
    memset(x.b + epb + 4, 0xFF, 4);
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* ...not a multiple of 4, or under the 12-byte minimum. */
    x = base;
    x.b[epb + 4] += 1;
    expect_error(f, &x, PB_ERR_FRAMING, want);
    x = base;
    x.b[epb + 4] = 8;
    x.b[epb + 5] = 0;
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* ...shorter than the EPB needs but consistent with its trailer. */
    x = base;
    x.len = epb;
    bbegin(&x, 6);
    b32(&x, 0);
    bend(&x);
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* Trailing length differs from the leading one. */
    x = base;
    x.b[x.len - 4] ^= 0x04;
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* Captured length past the block. */
    x = base;
    x.b[epb + 20] = 200;
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* Option length past the block: names the option's own offset too. */
    x = base;
    x.b[epb + 8 + 24 + 2] = 200; /* epb_flags option length */
    expect_error(f, &x, PB_ERR_FRAMING, want);
    char optw[48];
    snprintf(optw, sizeof optw, "option 2 at offset %zu", epb + 8 + 24);
    expect_error(f, &x, PB_ERR_FRAMING, optw);
    /* Interface not described. */
    x = base;
    x.b[epb + 8] = 1;
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* Unusable timestamp resolution in the IDB (10^-25 s). */
    x = base;
    x.len = 0;
    bshb(&x, 1);
    size_t idb = bidb(&x, 147, 25);
    snprintf(want, sizeof want, "offset %zu", idb);
    expect_error(f, &x, PB_ERR_UNSUPPORTED, want);
}

static void test_bad_headers(void **state)
{
    struct fx *f = *state;
    struct bld x = {0};
    /* Not a section header first. */
    bidb(&x, 147, 6);
    expect_error(f, &x, PB_ERR_UNSUPPORTED, "offset 0");
    /* Classic pcap is recognised and named. */
    x.len = 0;
    b32(&x, 0xA1B2C3D4);
    b16(&x, 2);
    b16(&x, 4);
    for (int i = 0; i < 4; i++)
        b32(&x, 0);
    expect_error(f, &x, PB_ERR_UNSUPPORTED, "classic pcap");
    /* Bad byte-order magic. */
    x.len = 0;
    bshb(&x, 1);
    x.b[8] = 0x11;
    expect_error(f, &x, PB_ERR_FRAMING, "offset 0");
    /* A later section with a bad magic names its own offset. */
    x.len = 0;
    bshb(&x, 1);
    bidb(&x, 147, 6);
    size_t second = bshb(&x, 1);
    x.b[second + 9] = 0x99;
    char want[48];
    snprintf(want, sizeof want, "offset %zu", second);
    expect_error(f, &x, PB_ERR_FRAMING, want);
    /* Major version 2 is another format. */
    x.len = 0;
    bshb(&x, 2);
    expect_error(f, &x, PB_ERR_UNSUPPORTED, "version 2");
    /* Garbage shorter than a block header. */
    x.len = 0;
    b16(&x, 0x0D0A);
    expect_error(f, &x, PB_ERR_TRUNCATED, "offset 0");
    /* An empty file is an empty capture. */
    write_file(f->path, x.b, 0);
    assert_int_equal(read_all(f->path, NULL, 0, NULL), 0);
}

/* ---- tshark's view, when it is installed --------------------------------------------- */

static void test_tshark_reads_it(void **state)
{
    struct fx *f = *state;
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        print_message("tshark not installed: skipping the Wireshark cross-check\n");
        skip();
    }
    write_sample(f->path);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "tshark -o 'uat:user_dlts:\"User 0 (DLT=147)\",\"zvt\",\"0\",\"\",\"0\",\"\"' "
             "-r '%s' -T fields -E separator='|' -e frame.p2p_dir -e frame.len "
             "-e zvt.amount -e frame.comment 2>/dev/null",
             f->path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char lines[8][160];
    int n = 0;
    while (n < 8 && fgets(lines[n], sizeof lines[n], p)) {
        lines[n][strcspn(lines[n], "\n")] = '\0';
        n++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, 4);
    /* Inbound (ECR -> PT) shows as p2p_dir 1 "received", outbound as 0 "sent"; the ZVT
     * dissector decodes the amount of 06 01; the event is a 0-byte frame with a comment. */
    assert_string_equal(lines[0], "1|12|125049|");
    assert_string_equal(lines[1], "0|3||");
    assert_string_equal(lines[2], "|0||port lost: /dev/ttyUSB0");
    assert_string_equal(lines[3], "|1||");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges_and_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_max_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_logrotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_endian_sections_unknown_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tshark_reads_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
