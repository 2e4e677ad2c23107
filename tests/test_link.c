/* Tests for lane/link.c: line parsing, pty links with a symlink, termios on an existing
 * pty, port loss and return, drop, and no descriptor leaks. Everything runs over ptys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "link.h"
#include "log.h"
#include "pb_error.h"

/* ---- helpers ------------------------------------------------------------------------- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

struct fx {
    char dir[64];
    char path[128]; /* a symlink path inside dir */
    int fds_before;
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
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-link-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/port", f->dir);
    pb_log_set_sink(PB_LOG_CALLBACK, "test", quiet_log, NULL);
    f->fds_before = count_fds();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    /* A leaked descriptor anywhere in the test fails it here. */
    int after = count_fds();
    (void)unlink(f->path);
    (void)rmdir(f->dir);
    int ok = after == f->fds_before;
    if (!ok)
        fprintf(stderr, "fd leak: %d before, %d after\n", f->fds_before, after);
    free(f);
    return ok ? 0 : -1;
}

/* Reads exactly n bytes from a raw fd within 2 s. */
static void fd_read_exact(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        assert_true(r > 0);
        got += (size_t)r;
    }
}

/* Reads exactly n bytes from a link within 2 s. */
static void link_read_exact(struct pb_link *l, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = pb_link_fd(l), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t r = pb_link_read(l, buf + got, n - got);
        if (r == PB_ERR_AGAIN)
            continue;
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static int raw_open(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
    return fd;
}

/* A pty made by the test: master fd returned, slave name in name. */
static int make_pty(char *name, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    assert_int_equal(ptsname_r(m, name, cap), 0);
    return m;
}

static void both_ways(struct pb_link *l, int peer)
{
    const uint8_t ecr[] = {0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x12, 0x50, 0x10, 0x03};
    const uint8_t pt[] = {0x80, 0x00, 0x00, 0x10, 0x03};
    uint8_t buf[32];
    assert_int_equal(write(peer, ecr, sizeof ecr), (ssize_t)sizeof ecr);
    link_read_exact(l, buf, sizeof ecr);
    assert_memory_equal(buf, ecr, sizeof ecr);
    assert_int_equal(pb_link_write(l, pt, sizeof pt), (ssize_t)sizeof pt);
    fd_read_exact(peer, buf, sizeof pt);
    assert_memory_equal(buf, pt, sizeof pt);
}

/* ---- line settings ------------------------------------------------------------------- */

static void test_line_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        struct pb_line want;
    } ok[] = {
        {"9600,8N1", {9600, 8, 'N', 1}},    {"9600,7E1", {9600, 7, 'E', 1}},
        {"115200,8N2", {115200, 8, 'N', 2}}, {"9600", {9600, 8, 'N', 1}},
        {"300,5O2", {300, 5, 'O', 2}},       {"921600,8n1", {921600, 8, 'N', 1}},
        {"19200,7o1", {19200, 7, 'O', 1}},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct pb_line l = {0};
        const char *err = "unset";
        assert_int_equal(pb_line_parse(ok[i].text, &l, &err), PB_OK);
        assert_null(err);
        assert_int_equal(l.baud, ok[i].want.baud);
        assert_int_equal(l.data_bits, ok[i].want.data_bits);
        assert_int_equal(l.parity, ok[i].want.parity);
        assert_int_equal(l.stop_bits, ok[i].want.stop_bits);
    }
}

static void test_line_parse_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *names; /* the error must name this part */
    } bad[] = {
        {"", "baud"},           {"fast", "baud"},          {"9601,8N1", "baud"},
        {"100,8N1", "baud"},    {"99999999999999", "baud"}, {"9600;8N1", "baud"},
        {"9600,9N1", "data"},   {"9600,4N1", "data"},      {"9600,", "data"},
        {"9600,8X1", "parity"}, {"9600,8M1", "parity"},    {"9600,8", "parity"},
        {"9600,8N3", "stop"},   {"9600,8N", "stop"},       {"9600,8N1x", "trailing"},
        {"9600,8N1 ", "trailing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pb_line l = {1, 2, 'Q', 3};
        const char *err = NULL;
        assert_int_equal(pb_line_parse(bad[i].text, &l, &err), PB_ERR_SYNTAX);
        assert_non_null(err);
        if (!strstr(err, bad[i].names))
            fail_msg("'%s': error '%s' does not name '%s'", bad[i].text, err, bad[i].names);
        assert_int_equal(l.baud, 1); /* output untouched on error */
    }
    assert_int_equal(pb_line_parse(NULL, &(struct pb_line){0}, NULL), PB_ERR_SYNTAX);
}

static void test_line_format(void **state)
{
    (void)state;
    char buf[32];
    struct pb_line l;
    assert_int_equal(pb_line_parse("115200,7E2", &l, NULL), PB_OK);
    pb_line_format(&l, buf, sizeof buf);
    assert_string_equal(buf, "115200,7E2");
    pb_line_format(&l, buf, 4); /* truncated, still terminated */
    assert_string_equal(buf, "115");
}

/* ---- pty links ----------------------------------------------------------------------- */

static void test_pty_symlink_both_ways(void **state)
{
    struct fx *f = *state;
    char spec[160];
    snprintf(spec, sizeof spec, "pty:%s", f->path);
    struct pb_link *l = NULL;
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_OK);
    assert_non_null(l);
    assert_true(pb_link_is_up(l));
    assert_int_equal(pb_link_kind(l), PB_LINK_PTY);
    assert_string_equal(pb_link_name(l), spec);
    assert_string_equal(pb_link_path(l), f->path);
    assert_true(pb_link_fd(l) >= 0);

    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char target[64];
    ssize_t n = readlink(f->path, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_true(strncmp(target, "/dev/pts/", 9) == 0);

    /* Nothing to read yet: AGAIN, not a hang-up. */
    uint8_t b;
    assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_AGAIN);

    int peer = raw_open(f->path);
    both_ways(l, peer);
    close(peer);
    pb_link_close(l);
    /* The symlink goes with the link. */
    assert_int_equal(lstat(f->path, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_pty_peer_reopens(void **state)
{
    struct fx *f = *state;
    char spec[160];
    snprintf(spec, sizeof spec, "pty:%s@115200,8N1", f->path);
    struct pb_link *l = NULL;
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_OK);
    assert_string_equal(pb_link_path(l), f->path);
    for (int round = 0; round < 3; round++) {
        int peer = raw_open(f->path);
        both_ways(l, peer);
        close(peer);
        /* The peer closing must neither hang the link up nor make it readable forever. */
        struct pollfd p = {.fd = pb_link_fd(l), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 20), 0);
        uint8_t b;
        assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_AGAIN);
        assert_true(pb_link_is_up(l));
    }
    pb_link_close(l);
}

static void test_pty_replaces_stale_symlink_not_file(void **state)
{
    struct fx *f = *state;
    char spec[160];
    snprintf(spec, sizeof spec, "pty:%s", f->path);
    struct pb_link *l = NULL;

    /* A stale symlink (left by a crash) is replaced. */
    assert_int_equal(symlink("/dev/pts/nonexistent", f->path), 0);
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_OK);
    char target[64];
    ssize_t n = readlink(f->path, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_not_equal(target, "/dev/pts/nonexistent");
    pb_link_close(l);

    /* A regular file is someone's data: refused, left alone. */
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    l = (struct pb_link *)1;
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_ERR_IO);
    assert_null(l);
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 4);
    assert_int_equal(unlink(f->path), 0);

    /* So is a directory. */
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_ERR_IO);
    assert_null(l);
    assert_int_equal(rmdir(f->path), 0);
}

static void test_pty_drop_and_reopen(void **state)
{
    struct fx *f = *state;
    char spec[160];
    snprintf(spec, sizeof spec, "pty:%s", f->path);
    struct pb_link *l = NULL;
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_OK);
    pb_link_drop(l);
    assert_false(pb_link_is_up(l));
    assert_int_equal(pb_link_fd(l), -1);
    uint8_t b = 0;
    assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_CLOSED);
    assert_int_equal(pb_link_write(l, &b, 1), PB_ERR_CLOSED);
    pb_link_drop(l); /* twice is harmless */
    assert_int_equal(pb_link_reopen(l), PB_OK);
    assert_true(pb_link_is_up(l));
    int peer = raw_open(f->path); /* the symlink points at the new pty */
    both_ways(l, peer);
    close(peer);
    assert_int_equal(pb_link_reopen(l), PB_OK); /* already up: nothing to do */
    pb_link_close(l);
}

/* ---- termios on an existing pty ------------------------------------------------------ */

static void test_termios_existing_pty(void **state)
{
    (void)state;
    char name[64];
    int m = make_pty(name, sizeof name);
    struct pb_link *l = NULL;
    struct pb_line line = {9600, 8, 'N', 1};
    assert_int_equal(pb_link_open(name, &line, &l), PB_OK);
    assert_int_equal(pb_link_kind(l), PB_LINK_TERMIOS);
    assert_string_equal(pb_link_path(l), name);
    /* The link put the slave in raw mode: no echo, no CR/LF mangling. */
    struct termios t;
    assert_int_equal(tcgetattr(pb_link_fd(l), &t), 0);
    assert_int_equal(t.c_lflag & (ECHO | ICANON), 0);
    assert_int_equal(t.c_cc[VMIN], 1);
    both_ways(l, m);
    const uint8_t crlf[] = {'\r', '\n', 0x11, 0x13}; /* CR, LF, XON, XOFF pass untouched */
    uint8_t buf[4];
    assert_int_equal(write(m, crlf, sizeof crlf), 4);
    link_read_exact(l, buf, sizeof buf);
    assert_memory_equal(buf, crlf, sizeof crlf);
    pb_link_close(l);
    close(m);
}

/* One owner per port (docs/TOOLS.md "One bridge per lane"): a second open of the same
 * pty path or device is refused, names the first, and takes nothing over. */
static void test_second_owner_refused(void **state)
{
    struct fx *f = *state;
    char spec[160], target[64], again[64];
    snprintf(spec, sizeof spec, "pty:%s", f->path);
    struct pb_link *a = NULL, *b = (struct pb_link *)1;
    assert_int_equal(pb_link_open(spec, NULL, &a), PB_OK);
    ssize_t n = readlink(f->path, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_int_equal(pb_link_open(spec, NULL, &b), PB_ERR_BUSY);
    assert_null(b);
    assert_int_equal(pb_link_holder(spec), getpid());
    n = readlink(f->path, again, sizeof again - 1);
    assert_true(n > 0);
    again[n] = '\0';
    assert_string_equal(again, target); /* the symlink still points at the first pty */

    /* The first one's pty, opened as a device by two: the second is refused. */
    struct pb_link *d1 = NULL, *d2 = (struct pb_link *)1;
    assert_int_equal(pb_link_open(target, NULL, &d1), PB_OK);
    assert_int_equal(pb_link_open(target, NULL, &d2), PB_ERR_BUSY);
    assert_null(d2);
    assert_int_equal(pb_link_holder(target), getpid());
    pb_link_close(d1);
    assert_int_equal(pb_link_open(target, NULL, &d2), PB_OK); /* free again */
    pb_link_close(d2);
    pb_link_close(a);
    char lock[160];
    snprintf(lock, sizeof lock, "%s.lock", f->path);
    assert_int_equal(access(lock, F_OK), -1); /* the owner removed its lock file */
}

static void test_termios_peer_master_closed(void **state)
{
    (void)state;
    char name[64];
    int m = make_pty(name, sizeof name);
    struct pb_link *l = NULL;
    assert_int_equal(pb_link_open(name, NULL, &l), PB_OK);
    both_ways(l, m);
    close(m); /* the "terminal" goes away */
    uint8_t b;
    assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_CLOSED);
    assert_false(pb_link_is_up(l));
    assert_int_equal(pb_link_fd(l), -1);
    assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_CLOSED);
    /* The pts node went with its master: still absent. */
    assert_int_equal(pb_link_reopen(l), PB_ERR_AGAIN);
    pb_link_close(l);
}

static void test_missing_path_then_appears(void **state)
{
    struct fx *f = *state;
    struct pb_link *l = NULL;
    char spec[160];
    snprintf(spec, sizeof spec, "%s@19200,8N1", f->path);
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_ERR_AGAIN);
    assert_non_null(l);
    assert_false(pb_link_is_up(l));
    assert_int_equal(pb_link_fd(l), -1);
    assert_int_equal(pb_link_backoff_ms(l), 100);
    /* The reason is kept for the log: absent, not refused. */
    assert_int_equal(pb_link_down_errno(l), ENOENT);
    assert_string_equal(pb_link_absent_text(pb_link_down_errno(l)), "not there yet");
    assert_int_equal(pb_link_reopen(l), PB_ERR_AGAIN);
    assert_int_equal(pb_link_backoff_ms(l), 200);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pb_link_reopen(l), PB_ERR_AGAIN);
    assert_int_equal(pb_link_backoff_ms(l), 5000); /* bounded */

    char name[64];
    int m = make_pty(name, sizeof name);
    assert_int_equal(symlink(name, f->path), 0);
    assert_int_equal(pb_link_reopen(l), PB_OK);
    assert_true(pb_link_is_up(l));
    assert_int_equal(pb_link_backoff_ms(l), 100); /* reset on success */
    assert_int_equal(pb_link_down_errno(l), 0);
    assert_int_equal(pb_link_kind(l), PB_LINK_TERMIOS);
    both_ways(l, m);

    /* Lost again, then back on a new pty behind the same symlink. */
    close(m);
    uint8_t b;
    assert_int_equal(pb_link_read(l, &b, 1), PB_ERR_CLOSED);
    assert_int_equal(pb_link_reopen(l), PB_ERR_AGAIN);
    assert_int_not_equal(pb_link_down_errno(l), 0);
    m = make_pty(name, sizeof name);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(symlink(name, f->path), 0);
    assert_int_equal(pb_link_reopen(l), PB_OK);
    both_ways(l, m);
    pb_link_close(l);
    close(m);
}

/* What a technician reads when a port cannot be opened yet: the cause, not only "absent"
 * (EACCES and EBUSY cannot be produced here as root, so their words are checked alone). */
static void test_absent_reasons(void **state)
{
    (void)state;
    assert_non_null(strstr(pb_link_absent_text(EACCES), "permission denied"));
    assert_non_null(strstr(pb_link_absent_text(EACCES), "dialout"));
    assert_non_null(strstr(pb_link_absent_text(EBUSY), "busy"));
    assert_non_null(strstr(pb_link_absent_text(EIO), "I/O error"));
    assert_string_equal(pb_link_absent_text(ENOENT), "not there yet");
    assert_string_equal(pb_link_absent_text(0), "not there yet");
    assert_int_equal(pb_link_down_errno(NULL), 0);
}

static void test_bad_specs(void **state)
{
    struct fx *f = *state;
    struct pb_link *l = (struct pb_link *)1;
    assert_int_equal(pb_link_open("", NULL, &l), PB_ERR_SYNTAX);
    assert_null(l);
    assert_int_equal(pb_link_open("pty:", NULL, &l), PB_ERR_SYNTAX);
    assert_int_equal(pb_link_open("pty:@9600", NULL, &l), PB_ERR_SYNTAX);
    assert_int_equal(pb_link_open("/dev/ttyUSB9@9600,8Q1", NULL, &l), PB_ERR_SYNTAX);
    assert_null(l);
    struct pb_line bad = {9601, 8, 'N', 1};
    assert_int_equal(pb_link_open("/dev/ttyUSB9", &bad, &l), PB_ERR_INVAL);
    assert_null(l);
    /* A regular file is there but is no port: an error now, not an endless retry. */
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pb_link_open(f->path, NULL, &l), PB_ERR_IO);
    assert_null(l);
    /* Closing NULL is fine; queries on NULL are safe. */
    pb_link_close(NULL);
    assert_int_equal(pb_link_fd(NULL), -1);
    assert_false(pb_link_is_up(NULL));
}

static void test_write_backpressure(void **state)
{
    struct fx *f = *state;
    char spec[160];
    snprintf(spec, sizeof spec, "pty:%s", f->path);
    struct pb_link *l = NULL;
    assert_int_equal(pb_link_open(spec, NULL, &l), PB_OK);
    /* Nobody reads the slave: the queue fills and writes become AGAIN, never block. */
    uint8_t chunk[1024];
    memset(chunk, 0x55, sizeof chunk);
    size_t total = 0;
    ssize_t r = 0;
    for (int i = 0; i < 1000; i++) {
        r = pb_link_write(l, chunk, sizeof chunk);
        if (r < 0)
            break;
        total += (size_t)r;
    }
    assert_int_equal(r, PB_ERR_AGAIN);
    assert_true(total > 0);
    assert_true(pb_link_is_up(l));
    assert_int_equal(pb_link_write(l, chunk, 0), 0);
    pb_link_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_parse_valid),
        cmocka_unit_test(test_line_parse_invalid),
        cmocka_unit_test(test_line_format),
        cmocka_unit_test_setup_teardown(test_pty_symlink_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pty_peer_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pty_replaces_stale_symlink_not_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pty_drop_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_termios_existing_pty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_owner_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_termios_peer_master_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_path_then_appears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_specs, setup, teardown),
        cmocka_unit_test(test_absent_reasons),
        cmocka_unit_test_setup_teardown(test_write_backpressure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
