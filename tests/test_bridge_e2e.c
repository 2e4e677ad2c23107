/* End-to-end: a real `posbridge run` between two pseudo-terminals, with this test
 * playing a scripted register and terminal. For Concert and ZVT, each discrepancy class
 * the bridge must see on the wire: the bytes must arrive unchanged on the far side, the
 * journal must hold the right class, and the capture must hold every byte.
 *
 * The binary comes from $POSBRIDGE (the Makefile sets it). The bridge is stopped by its
 * saved PID. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "journal.h"
#include "pb_error.h"
#include "protocol.h"
#include "tracker.h"

/* ---- a scripted step --------------------------------------------------------------- */

enum who { ECR, PT, WAIT, DROP_PT, RESTORE_PT, END };

struct step {
    enum who who;
    enum pb_kind kind; /* what to encode */
    enum pb_txn_type txn;
    int64_t amount;    /* -1: none */
    enum pb_result result;
    uint16_t currency;
    const char *pos_id;
    int ms; /* WAIT */
};

#define REQ(t, a) {ECR, PB_KIND_REQUEST, t, a, PB_RESULT_NONE, 978, "01", 0}
#define RES(r, a) {PT, PB_KIND_RESULT, PB_TXN_NONE, a, r, 978, "01", 0}
#define CTL(w, k) {w, k, PB_TXN_NONE, -1, PB_RESULT_NONE, 0, NULL, 0}
#define WAITMS(n) {WAIT, PB_KIND_OTHER, PB_TXN_NONE, -1, PB_RESULT_NONE, 0, NULL, n}
#define DONE {END, PB_KIND_OTHER, PB_TXN_NONE, -1, PB_RESULT_NONE, 0, NULL, 0}

struct lane_case {
    const char *name;
    const char *protocol;
    const char *extra_args; /* space separated, may be NULL */
    struct step steps[24];
    enum pb_class expect[4]; /* classes of the journal rows in order, NONE-terminated */
};

/* ---- process and pty plumbing -------------------------------------------------------- */

struct bridge {
    pid_t pid;
    char dir[64];
    char ecr_path[128], pt_path[128], journal[128], capture[128];
    int ecr, pt;          /* our ends: the register and the terminal */
    int pt_master;        /* for the DROP cases: we own the terminal's pty */
    char pt_slave[64];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_raw(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios tio;
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(fd, TCSANOW, &tio);
    }
    return fd;
}

static int wait_for_path(const char *path, int ms)
{
    int64_t end = now_ms() + ms;
    struct stat st;
    while (stat(path, &st) != 0) {
        if (now_ms() > end)
            return -1;
        usleep(5000);
    }
    return 0;
}

/* A pty pair we own (the terminal side in the port-loss case): the bridge opens the
 * slave through a symlink, we write as the terminal on the master. */
static int make_own_pty(struct bridge *b)
{
    /* Close-on-exec: a bridge that inherited our master would keep the pty alive. */
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return -1;
    snprintf(b->pt_slave, sizeof b->pt_slave, "%s", ptsname(m));
    struct termios tio;
    int s = open(b->pt_slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s >= 0 && tcgetattr(s, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(s, TCSANOW, &tio);
    }
    if (s >= 0)
        close(s);
    unlink(b->pt_path);
    if (symlink(b->pt_slave, b->pt_path) < 0)
        return -1;
    b->pt_master = m;
    return m;
}

/* The bridge of the case in progress, so a failed assertion does not leave it running. */
static pid_t live_bridge = -1;

static int kill_live_bridge(void **state)
{
    (void)state;
    if (live_bridge > 0) {
        kill(live_bridge, SIGKILL);
        waitpid(live_bridge, NULL, 0);
        live_bridge = -1;
    }
    return 0;
}

static void start_bridge(struct bridge *b, const struct lane_case *c, bool own_terminal)
{
    memset(b, 0, sizeof *b);
    b->pt_master = -1;
    snprintf(b->dir, sizeof b->dir, "/tmp/pb-e2e-XXXXXX");
    assert_non_null(mkdtemp(b->dir));
    snprintf(b->ecr_path, sizeof b->ecr_path, "%s/ecr", b->dir);
    snprintf(b->pt_path, sizeof b->pt_path, "%s/pt", b->dir);
    snprintf(b->journal, sizeof b->journal, "%s/journal.db", b->dir);
    snprintf(b->capture, sizeof b->capture, "%s/lane.pcapng", b->dir);
    if (own_terminal)
        assert_true(make_own_pty(b) >= 0);
    const char *exe = getenv("POSBRIDGE");
    if (!exe)
        exe = "build/posbridge";
    char reg[160], term[160];
    snprintf(reg, sizeof reg, "pty:%s", b->ecr_path);
    snprintf(term, sizeof term, "%s%s", own_terminal ? "" : "pty:", b->pt_path);
    char *argv[40];
    int n = 0;
    char extra[256] = "";
    argv[n++] = (char *)exe;
    argv[n++] = "run";
    argv[n++] = "--protocol";
    argv[n++] = (char *)c->protocol;
    argv[n++] = "--register";
    argv[n++] = reg;
    argv[n++] = "--terminal";
    argv[n++] = term;
    argv[n++] = "--journal";
    argv[n++] = b->journal;
    argv[n++] = "--capture";
    argv[n++] = b->capture;
    argv[n++] = getenv("E2E_DEBUG") ? "--log-level=debug" : "--quiet";
    if (c->extra_args) {
        snprintf(extra, sizeof extra, "%s", c->extra_args);
        for (char *tok = strtok(extra, " "); tok && n < 38; tok = strtok(NULL, " "))
            argv[n++] = tok;
    }
    argv[n] = NULL;
    b->pid = fork();
    assert_true(b->pid >= 0);
    if (b->pid == 0) {
        execv(exe, argv);
        _exit(127);
    }
    live_bridge = b->pid;
    assert_int_equal(wait_for_path(b->ecr_path, 3000), 0);
    if (!own_terminal)
        assert_int_equal(wait_for_path(b->pt_path, 3000), 0);
    usleep(50000); /* the bridge finishes opening the other port */
    b->ecr = open_raw(b->ecr_path);
    assert_true(b->ecr >= 0);
    b->pt = own_terminal ? b->pt_master : open_raw(b->pt_path);
    assert_true(b->pt >= 0);
}

static int stop_bridge(struct bridge *b)
{
    live_bridge = -1;
    kill(b->pid, SIGTERM);
    int st = 0;
    int64_t end = now_ms() + 5000;
    while (waitpid(b->pid, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &st, 0);
            return -1;
        }
        usleep(5000);
    }
    close(b->ecr);
    if (b->pt != b->pt_master)
        close(b->pt);
    if (b->pt_master >= 0)
        close(b->pt_master);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void cleanup_dir(struct bridge *b)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", b->dir);
}

/* Reads exactly len bytes from fd within ms; returns the count read. */
static size_t read_exact(int fd, uint8_t *buf, size_t len, int ms)
{
    size_t got = 0;
    int64_t end = now_ms() + ms;
    while (got < len) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            break;
    }
    return got;
}

/* ---- scripted exchange ------------------------------------------------------------- */

struct sent {
    uint8_t bytes[2][8192]; /* by pb_dir */
    size_t len[2];
};

static size_t encode_step(const struct pb_protocol *p, const struct step *s, uint8_t *out,
                          size_t cap)
{
    struct pos_msg m;
    pb_msg_init(&m);
    m.proto = p;
    m.dir = s->who == ECR ? PB_DIR_ECR : PB_DIR_PT;
    m.kind = s->kind;
    m.txn = s->txn;
    m.result = s->result;
    if (s->amount >= 0) {
        m.amount = s->amount;
        m.flags |= PB_F_AMOUNT;
    }
    /* PAX and MIS-POS name no currency on the wire; their answers name their type. */
    bool ack_line = strcmp(p->name, "pax") == 0 || strcmp(p->name, "mispos") == 0;
    if (s->currency && !ack_line) {
        m.currency = s->currency;
        m.flags |= PB_F_CURRENCY;
    }
    if (ack_line && m.kind == PB_KIND_RESULT && m.txn == PB_TXN_NONE)
        m.txn = PB_TXN_PURCHASE;
    if (s->result != PB_RESULT_NONE) {
        m.flags |= PB_F_RESULT_CODE;
        m.result_code = s->result == PB_RESULT_APPROVED ? 0 : 5;
        snprintf(m.result_text, sizeof m.result_text, "%s",
                 strcmp(p->name, "concert") == 0 ? (s->result == PB_RESULT_APPROVED ? "0" : "7")
                                                 : (s->result == PB_RESULT_APPROVED ? "00" : "05"));
    }
    if (s->pos_id)
        snprintf(m.pos_id, sizeof m.pos_id, "%s", s->pos_id);
    if (strcmp(p->name, "concert") == 0 && m.kind == PB_KIND_RESULT)
        snprintf(m.reference, sizeof m.reference, "0000000000");
    int n = p->encode(&m, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void play(struct bridge *b, const struct lane_case *c, struct sent *sent)
{
    const struct pb_protocol *p = pb_protocol_find(c->protocol);
    assert_non_null(p);
    for (const struct step *s = c->steps; s->who != END; s++) {
        if (s->who == WAIT) {
            usleep((useconds_t)s->ms * 1000);
            continue;
        }
        if (s->who == DROP_PT) {
            /* The terminal's port goes away: its name first (as a device node goes with
             * its device), so the bridge cannot reopen the old pts number once another
             * process on this machine is given it; then the bridge sees hang-up. */
            unlink(b->pt_path);
            close(b->pt_master);
            b->pt_master = b->pt = -1;
            usleep(200000);
            continue;
        }
        if (s->who == RESTORE_PT) {
            assert_true(make_own_pty(b) >= 0);
            b->pt = b->pt_master;
            /* The bridge retries with a doubling backoff (100 ms, 200, 400, ...): give it
             * time for the retry after the new pty appeared, even on a loaded machine. */
            usleep(1600000);
            continue;
        }
        uint8_t frame[1024], echo[1024];
        size_t n = encode_step(p, s, frame, sizeof frame);
        int from = s->who == ECR ? b->ecr : b->pt;
        int to = s->who == ECR ? b->pt : b->ecr;
        enum pb_dir d = s->who == ECR ? PB_DIR_ECR : PB_DIR_PT;
        assert_int_equal(write(from, frame, n), (ssize_t)n);
        memcpy(sent->bytes[d] + sent->len[d], frame, n);
        sent->len[d] += n;
        /* Forwarded unchanged and in order. */
        size_t got = read_exact(to, echo, n, 5000);
        assert_int_equal(got, n);
        assert_memory_equal(echo, frame, n);
    }
}

struct rows {
    unsigned n;
    enum pb_class cls[8];
    int64_t charged[8];
};

static int collect(const struct pb_journal_row *r, void *ctx)
{
    struct rows *rs = ctx;
    if (rs->n < 8) {
        rs->cls[rs->n] = r->cls;
        rs->charged[rs->n] = r->charged;
        rs->n++;
    }
    return 0;
}

static void check_capture(const struct bridge *b, const struct sent *sent)
{
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(b->capture, &r), PB_OK);
    static uint8_t got[2][8192];
    size_t len[2] = {0, 0};
    struct pb_capture_record rec;
    int rc;
    while ((rc = pb_capture_read(r, &rec)) == 1) {
        if (rec.is_event || rec.len == 0)
            continue;
        assert_true(rec.dir == PB_DIR_ECR || rec.dir == PB_DIR_PT);
        assert_true(len[rec.dir] + rec.len <= sizeof got[0]);
        memcpy(got[rec.dir] + len[rec.dir], rec.data, rec.len);
        len[rec.dir] += rec.len;
    }
    assert_int_equal(rc, 0);
    pb_capture_reader_close(r);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(len[d], sent->len[d]);
        assert_memory_equal(got[d], sent->bytes[d], len[d]);
    }
}

static void run_case(const struct lane_case *c)
{
    bool own = false;
    for (const struct step *s = c->steps; s->who != END; s++)
        own |= s->who == DROP_PT;
    struct bridge b;
    static struct sent sent;
    memset(&sent, 0, sizeof sent);
    start_bridge(&b, c, own);
    play(&b, c, &sent);
    usleep(100000);
    assert_int_equal(stop_bridge(&b), 0);
    struct rows rs = {0};
    assert_true(pb_journal_foreach_path(b.journal, NULL, collect, &rs) >= 0);
    unsigned want = 0;
    while (want < 4 && c->expect[want] != PB_CLASS_NONE)
        want++;
    if (rs.n != want)
        fprintf(stderr, "%s: %u rows, expected %u\n", c->name, rs.n, want);
    for (unsigned i = 0; i < rs.n && i < want; i++)
        if (rs.cls[i] != c->expect[i])
            fprintf(stderr, "%s: row %u is %s, expected %s\n", c->name, i,
                    pb_class_name(rs.cls[i]), pb_class_name(c->expect[i]));
    assert_int_equal(rs.n, want);
    for (unsigned i = 0; i < want; i++)
        assert_int_equal(rs.cls[i], c->expect[i]);
    check_capture(&b, &sent);
    struct stat st;
    assert_int_equal(stat(b.journal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(b.capture, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cleanup_dir(&b);
}

/* ---- the cases ----------------------------------------------------------------------- */

#define C_ENQ CTL(ECR, PB_KIND_ENQ)
#define C_PT_ACK CTL(PT, PB_KIND_ACK)
#define C_ECR_ACK CTL(ECR, PB_KIND_ACK)
#define C_PT_ENQ CTL(PT, PB_KIND_ENQ)
#define C_ECR_EOT CTL(ECR, PB_KIND_EOT)
#define C_PT_EOT CTL(PT, PB_KIND_EOT)
/* Concert: the register's half, then the terminal's answer half (docs/PROTOCOLS.md 1). */
#define CONCERT_SALE(a) C_ENQ, C_PT_ACK, REQ(PB_TXN_PURCHASE, a), C_PT_ACK, C_ECR_EOT
#define CONCERT_ANSWER(r, a) C_PT_ENQ, C_ECR_ACK, RES(r, a), C_ECR_ACK, C_PT_EOT

static const struct lane_case concert_cases[] = {
    {"concert ok", "concert", NULL,
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_APPROVED, 1250), DONE},
     {PB_CLASS_OK}},
    {"concert declined", "concert", NULL,
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_DECLINED, 1250), DONE},
     {PB_CLASS_DECLINED}},
    {"concert overcharge", "concert", NULL,
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_APPROVED, 1350), DONE},
     {PB_CLASS_OVERCHARGE}},
    {"concert undercharge", "concert", NULL,
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_APPROVED, 1000), DONE},
     {PB_CLASS_UNDERCHARGE}},
    {"concert duplicate", "concert", NULL,
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_APPROVED, 1250),
      CONCERT_ANSWER(PB_RESULT_APPROVED, 1250), DONE},
     {PB_CLASS_OK, PB_CLASS_DUPLICATE}},
    {"concert in_doubt by silence", "concert", "--response-timeout 300",
     {CONCERT_SALE(1250), WAITMS(600), DONE},
     {PB_CLASS_IN_DOUBT}},
    {"concert late approval", "concert", "--response-timeout 300",
     {CONCERT_SALE(1250), WAITMS(600), CONCERT_ANSWER(PB_RESULT_APPROVED, 1250), DONE},
     {PB_CLASS_LATE_APPROVAL}},
    {"concert NAK and repeat is one sale", "concert", NULL,
     {C_ENQ, C_PT_ACK, REQ(PB_TXN_PURCHASE, 1250), CTL(PT, PB_KIND_NAK),
      REQ(PB_TXN_PURCHASE, 1250), C_PT_ACK, C_ECR_EOT, CONCERT_ANSWER(PB_RESULT_APPROVED, 1250),
      DONE},
     {PB_CLASS_OK}},
    {"concert auto-detected", "concert", "--protocol auto",
     {CONCERT_SALE(1250), CONCERT_ANSWER(PB_RESULT_APPROVED, 1350),
      CONCERT_SALE(700), CONCERT_ANSWER(PB_RESULT_APPROVED, 700), DONE},
     {PB_CLASS_OVERCHARGE, PB_CLASS_OK}},
    {"concert in_doubt by port loss, port back", "concert", NULL,
     {CONCERT_SALE(1250), {DROP_PT, 0, 0, -1, 0, 0, NULL, 0}, {RESTORE_PT, 0, 0, -1, 0, 0, NULL, 0},
      CONCERT_SALE(500), CONCERT_ANSWER(PB_RESULT_APPROVED, 500), DONE},
     {PB_CLASS_IN_DOUBT, PB_CLASS_OK}},
};

/* ZVT: ECR command, PT ACK + 80 00 00, status information, completion; every PT
 * message acknowledged by the ECR with 80 00 00 (docs/PROTOCOLS.md 2). */
#define Z_ECR_ACK CTL(ECR, PB_KIND_ACK)
#define Z_PT_ACK CTL(PT, PB_KIND_ACK)
#define ZVT_SALE(a) REQ(PB_TXN_PURCHASE, a), Z_PT_ACK, CTL(PT, PB_KIND_ACCEPTED), Z_ECR_ACK
#define ZVT_ACKS Z_ECR_ACK, CTL(ECR, PB_KIND_APP_ACK), Z_PT_ACK
#define ZVT_RESULT(r, a) {PT, PB_KIND_RESULT, PB_TXN_NONE, a, r, 978, NULL, 0}, ZVT_ACKS
#define ZVT_COMPLETE CTL(PT, PB_KIND_COMPLETION), ZVT_ACKS

static const struct lane_case zvt_cases[] = {
    {"zvt ok", "zvt", NULL,
     {ZVT_SALE(1000), CTL(PT, PB_KIND_INTERMEDIATE), ZVT_ACKS,
      ZVT_RESULT(PB_RESULT_APPROVED, 1000), ZVT_COMPLETE, DONE},
     {PB_CLASS_OK}},
    {"zvt declined", "zvt", NULL,
     {ZVT_SALE(1000), ZVT_RESULT(PB_RESULT_DECLINED, 1000), ZVT_COMPLETE, DONE},
     {PB_CLASS_DECLINED}},
    {"zvt overcharge", "zvt", NULL,
     {ZVT_SALE(1000), ZVT_RESULT(PB_RESULT_APPROVED, 1010), ZVT_COMPLETE, DONE},
     {PB_CLASS_OVERCHARGE}},
    {"zvt undercharge", "zvt", NULL,
     {ZVT_SALE(1000), ZVT_RESULT(PB_RESULT_APPROVED, 990), ZVT_COMPLETE, DONE},
     {PB_CLASS_UNDERCHARGE}},
    {"zvt duplicate", "zvt", NULL,
     {ZVT_SALE(1000), ZVT_RESULT(PB_RESULT_APPROVED, 1000), ZVT_COMPLETE,
      ZVT_RESULT(PB_RESULT_APPROVED, 1000), ZVT_COMPLETE, DONE},
     {PB_CLASS_OK, PB_CLASS_DUPLICATE}},
    {"zvt in_doubt by silence", "zvt", "--response-timeout 300",
     {ZVT_SALE(1000), WAITMS(600), DONE},
     {PB_CLASS_IN_DOUBT}},
    {"zvt late approval", "zvt", "--response-timeout 300",
     {ZVT_SALE(1000), WAITMS(600), ZVT_RESULT(PB_RESULT_APPROVED, 1000), ZVT_COMPLETE, DONE},
     {PB_CLASS_LATE_APPROVAL}},
    {"zvt NAK and repeat is one sale", "zvt", NULL,
     {REQ(PB_TXN_PURCHASE, 1000), CTL(PT, PB_KIND_NAK), REQ(PB_TXN_PURCHASE, 1000), Z_PT_ACK,
      CTL(PT, PB_KIND_ACCEPTED), Z_ECR_ACK, ZVT_RESULT(PB_RESULT_APPROVED, 1000), ZVT_COMPLETE,
      DONE},
     {PB_CLASS_OK}},
    {"zvt auto-detected", "zvt", "--protocol auto",
     {ZVT_SALE(1000), ZVT_RESULT(PB_RESULT_APPROVED, 990), ZVT_COMPLETE, DONE},
     {PB_CLASS_UNDERCHARGE}},
    {"zvt in_doubt by port loss, port back", "zvt", NULL,
     {ZVT_SALE(1000), {DROP_PT, 0, 0, -1, 0, 0, NULL, 0}, {RESTORE_PT, 0, 0, -1, 0, 0, NULL, 0},
      ZVT_SALE(500), ZVT_RESULT(PB_RESULT_APPROVED, 500), ZVT_COMPLETE, DONE},
     {PB_CLASS_IN_DOUBT, PB_CLASS_OK}},
};

/* PAX POSLink and MIS-POS: every frame ACKed by the other side, no ENQ/EOT handshake,
 * no acceptance message (docs/PROTOCOLS.md 3, 4). */
#define A_SALE(a) REQ(PB_TXN_PURCHASE, a), CTL(PT, PB_KIND_ACK)
#define A_ANSWER(r, a) RES(r, a), CTL(ECR, PB_KIND_ACK)
#define DROP {DROP_PT, 0, 0, -1, 0, 0, NULL, 0}
#define RESTORE {RESTORE_PT, 0, 0, -1, 0, 0, NULL, 0}
#define ACK_LINE_CASES(P)                                                                          \
    {P " ok", P, NULL, {A_SALE(1250), A_ANSWER(PB_RESULT_APPROVED, 1250), DONE}, {PB_CLASS_OK}},  \
    {P " declined", P, NULL, {A_SALE(1250), A_ANSWER(PB_RESULT_DECLINED, 1250), DONE},            \
     {PB_CLASS_DECLINED}},                                                                         \
    {P " overcharge", P, NULL, {A_SALE(1250), A_ANSWER(PB_RESULT_APPROVED, 1350), DONE},          \
     {PB_CLASS_OVERCHARGE}},                                                                       \
    {P " undercharge", P, NULL, {A_SALE(1250), A_ANSWER(PB_RESULT_APPROVED, 1000), DONE},         \
     {PB_CLASS_UNDERCHARGE}},                                                                      \
    {P " duplicate", P, NULL,                                                                      \
     {A_SALE(1250), A_ANSWER(PB_RESULT_APPROVED, 1250), A_ANSWER(PB_RESULT_APPROVED, 1250), DONE}, \
     {PB_CLASS_OK, PB_CLASS_DUPLICATE}},                                                           \
    {P " in_doubt by silence", P, "--response-timeout 300", {A_SALE(1250), WAITMS(600), DONE},     \
     {PB_CLASS_IN_DOUBT}},                                                                         \
    {P " late approval", P, "--response-timeout 300",                                              \
     {A_SALE(1250), WAITMS(600), A_ANSWER(PB_RESULT_APPROVED, 1250), DONE},                        \
     {PB_CLASS_LATE_APPROVAL}},                                                                    \
    {P " NAK and repeat is one sale", P, NULL,                                                     \
     {REQ(PB_TXN_PURCHASE, 1250), CTL(PT, PB_KIND_NAK), A_SALE(1250),                              \
      A_ANSWER(PB_RESULT_APPROVED, 1250), DONE},                                                   \
     {PB_CLASS_OK}},                                                                               \
    {P " auto-detected", P, "--protocol auto",                                                     \
     {A_SALE(1250), A_ANSWER(PB_RESULT_APPROVED, 1350), A_SALE(700),                               \
      A_ANSWER(PB_RESULT_APPROVED, 700), DONE},                                                    \
     {PB_CLASS_OVERCHARGE, PB_CLASS_OK}},                                                          \
    {P " in_doubt by port loss, port back", P, NULL,                                               \
     {A_SALE(1250), DROP, RESTORE, A_SALE(500), A_ANSWER(PB_RESULT_APPROVED, 500), DONE},          \
     {PB_CLASS_IN_DOUBT, PB_CLASS_OK}}

static const struct lane_case pax_cases[] = {ACK_LINE_CASES("pax")};
static const struct lane_case mispos_cases[] = {ACK_LINE_CASES("mispos")};

static void run_cases(const struct lane_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "  lane: %s\n", cases[i].name);
        run_case(&cases[i]);
    }
}

static void test_pax_lanes(void **state)
{
    (void)state;
    run_cases(pax_cases, sizeof pax_cases / sizeof pax_cases[0]);
}

static void test_mispos_lanes(void **state)
{
    (void)state;
    run_cases(mispos_cases, sizeof mispos_cases / sizeof mispos_cases[0]);
}

static void test_concert_lanes(void **state)
{
    (void)state;
    run_cases(concert_cases, sizeof concert_cases / sizeof concert_cases[0]);
}

static void test_zvt_lanes(void **state)
{
    (void)state;
    run_cases(zvt_cases, sizeof zvt_cases / sizeof zvt_cases[0]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_concert_lanes, kill_live_bridge),
        cmocka_unit_test_teardown(test_zvt_lanes, kill_live_bridge),
        cmocka_unit_test_teardown(test_pax_lanes, kill_live_bridge),
        cmocka_unit_test_teardown(test_mispos_lanes, kill_live_bridge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
