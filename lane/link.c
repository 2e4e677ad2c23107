/* link: one port behind one handle (docs/DESIGN.md decision 5). See link.h for the contract.
 *
 * Three kinds, one descriptor each that the relay polls:
 *   serial   libserialport opens a real UART / USB-serial / CDC-ACM device
 *   termios  any path libserialport refuses (an existing pty, /dev/pts/N): plain termios
 *   pty      we create a pseudo-terminal, hold its master and symlink PATH to the slave
 *
 * Every descriptor is non-blocking with VMIN=1/VTIME=0, so that read() returning 0 can
 * only mean hang-up (with VMIN=0 a tty read returns 0 when it simply has nothing). */
#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lanelock.h"
#include "link_tcp.h"
#include "log.h"
#include "pb_error.h"

#define PTY_PREFIX "pty:"
#define TCP_PREFIX "tcp:"
#define TCP_LISTEN_PREFIX "tcp-listen:"
#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 5000u

struct pb_link {
    char *spec;             /* as given, for logs */
    char *path;             /* device path, or for a pty the symlink path */
    enum pb_link_kind kind; /* PTY fixed by the spec; SERIAL/TERMIOS decided per open */
    struct pb_line line;
    bool up;
    int fd;                 /* polled descriptor: device fd or pty master; -1 while down */
    int slave_fd;           /* pty only: our own slave fd, so the master never sees hang-up */
    struct sp_port *sp;     /* serial only, while up */
    char slave_name[64];    /* pty only: ptsname of the current slave */
    struct pb_lanelock *lock; /* pty only: PATH.lock, held from open to close */
    int lock_fd;            /* serial/termios: our own flock()ed descriptor of the device,
                               while up (one bridge per device, root included) */
    unsigned backoff_ms;
    int down_errno;         /* why the last open found the device absent; 0: unknown */
    char *host, *port;      /* tcp kinds */
    int listen_fd;          /* tcp-listen: kept across connections; -1 otherwise */
};

/* ---- line settings ------------------------------------------------------------------- */

static const struct {
    unsigned baud;
    speed_t speed;
} bauds[] = {
    {300, B300},       {600, B600},       {1200, B1200},     {1800, B1800},
    {2400, B2400},     {4800, B4800},     {9600, B9600},     {19200, B19200},
    {38400, B38400},   {57600, B57600},   {115200, B115200}, {230400, B230400},
    {460800, B460800}, {500000, B500000}, {576000, B576000}, {921600, B921600},
};

static bool baud_speed(unsigned baud, speed_t *out)
{
    for (size_t i = 0; i < sizeof bauds / sizeof bauds[0]; i++) {
        if (bauds[i].baud == baud) {
            if (out)
                *out = bauds[i].speed;
            return true;
        }
    }
    return false;
}

static int line_fail(const char **err, const char *msg)
{
    if (err)
        *err = msg;
    return PB_ERR_SYNTAX;
}

int pb_line_parse(const char *text, struct pb_line *out, const char **err)
{
    if (err)
        *err = NULL;
    if (!text || !out)
        return line_fail(err, "no line settings given");
    const char *p = text;
    if (*p < '0' || *p > '9')
        return line_fail(err, "baud rate: expected a number, e.g. 9600");
    unsigned long baud = 0;
    while (*p >= '0' && *p <= '9') {
        baud = baud * 10 + (unsigned long)(*p - '0');
        if (baud > 10000000ul)
            return line_fail(err, "baud rate: not a standard rate (300..921600)");
        p++;
    }
    if (!baud_speed((unsigned)baud, NULL))
        return line_fail(err, "baud rate: not a standard rate (300..921600)");
    struct pb_line l = {.baud = (unsigned)baud, .data_bits = 8, .parity = 'N', .stop_bits = 1};
    if (*p == '\0') {
        *out = l; /* "9600" alone means 8N1, the usual default of both protocols */
        return PB_OK;
    }
    if (*p != ',')
        return line_fail(err, "baud rate: expected ',' after it, as in 9600,8N1");
    p++;
    if (*p < '5' || *p > '8')
        return line_fail(err, "data bits: must be 5, 6, 7 or 8");
    l.data_bits = (unsigned)(*p++ - '0');
    switch (*p) {
    case 'N': case 'n': l.parity = 'N'; break;
    case 'E': case 'e': l.parity = 'E'; break;
    case 'O': case 'o': l.parity = 'O'; break;
    default: return line_fail(err, "parity: must be N, E or O");
    }
    p++;
    if (*p != '1' && *p != '2')
        return line_fail(err, "stop bits: must be 1 or 2");
    l.stop_bits = (unsigned)(*p++ - '0');
    if (*p != '\0')
        return line_fail(err, "trailing characters after the stop bits");
    *out = l;
    return PB_OK;
}

void pb_line_format(const struct pb_line *l, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (!l) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, cap, "%u,%u%c%u", l->baud, l->data_bits, l->parity, l->stop_bits);
}

/* ---- termios helpers ----------------------------------------------------------------- */

/* Raw 8-bit-clean mode with the given line; VMIN=1/VTIME=0 (see the top of the file). */
static int termios_apply(int fd, const struct pb_line *line)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -1;
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD; /* ignore modem lines: the ECR/PT cable may not wire them */
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    switch (line->data_bits) {
    case 5: t.c_cflag |= CS5; break;
    case 6: t.c_cflag |= CS6; break;
    case 7: t.c_cflag |= CS7; break;
    default: t.c_cflag |= CS8; break;
    }
    if (line->parity == 'E')
        t.c_cflag |= PARENB;
    else if (line->parity == 'O')
        t.c_cflag |= PARENB | PARODD;
    if (line->stop_bits == 2)
        t.c_cflag |= CSTOPB;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    speed_t sp = B9600;
    (void)baud_speed(line->baud, &sp);
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    /* A pty ignores the speed and forces CS8 without parity (docs/TESTING.md): still success. */
    return tcsetattr(fd, TCSANOW, &t);
}

static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* errno values that mean "the port is not there (yet)": retry later. EIO covers a pts
 * node whose master has gone; EACCES a hot-plugged node udev has not chmod-ed yet. */
static bool errno_absent(int e)
{
    return e == ENOENT || e == ENXIO || e == ENODEV || e == EIO || e == EACCES || e == EBUSY;
}

/* errno values of read/write that mean the port went away (USB-serial unplugged, pty
 * master closed). */
static bool errno_gone(int e)
{
    return e == EIO || e == ENXIO || e == ENODEV || e == EPIPE || e == ECONNRESET ||
           e == ECONNREFUSED || e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH ||
           e == ENOTCONN;
}

/* ---- opening each kind --------------------------------------------------------------- */

static int sp_kind_open(struct pb_link *l)
{
    struct sp_port *sp = NULL;
    if (sp_get_port_by_name(l->path, &sp) != SP_OK)
        return -1;
    if (sp_open(sp, SP_MODE_READ_WRITE) != SP_OK) {
        sp_free_port(sp);
        return -1;
    }
    enum sp_parity par = l->line.parity == 'E'   ? SP_PARITY_EVEN
                         : l->line.parity == 'O' ? SP_PARITY_ODD
                                                 : SP_PARITY_NONE;
    int fd = -1;
    if (sp_set_baudrate(sp, (int)l->line.baud) != SP_OK ||
        sp_set_bits(sp, (int)l->line.data_bits) != SP_OK || sp_set_parity(sp, par) != SP_OK ||
        sp_set_stopbits(sp, (int)l->line.stop_bits) != SP_OK ||
        sp_set_flowcontrol(sp, SP_FLOWCONTROL_NONE) != SP_OK ||
        sp_get_port_handle(sp, &fd) != SP_OK || fd < 0) {
        char *msg = sp_last_error_message();
        pb_warn("link %s: libserialport cannot configure the port: %s", l->spec,
                msg ? msg : "?");
        sp_free_error_message(msg);
        sp_close(sp);
        sp_free_port(sp);
        return -1;
    }
    /* libserialport leaves VMIN=0, where read() returns 0 for "no data": make 0 mean
     * hang-up only. */
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        (void)tcsetattr(fd, TCSANOW, &t);
    }
    if (set_nonblock_cloexec(fd) < 0) {
        sp_close(sp);
        sp_free_port(sp);
        return -1;
    }
    l->sp = sp;
    l->fd = fd;
    l->kind = PB_LINK_SERIAL;
    return 0;
}

/* Returns 0, or -1 with errno set. */
static int termios_kind_open(struct pb_link *l)
{
    int fd = open(l->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (termios_apply(fd, &l->line) < 0) {
        /* A pty carries 8 bits and refuses some 7-bit or parity settings (EINVAL);
         * bytes still pass unchanged, so take 8N1 rather than lose the port. */
        const struct pb_line eight = {l->line.baud, 8, 'N', l->line.stop_bits};
        if (errno != EINVAL || termios_apply(fd, &eight) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        pb_warn("link %s: the port refuses %u%c%u (a pty?); using 8 bits, no parity", l->spec,
                l->line.data_bits, l->line.parity, l->line.stop_bits);
    }
    (void)ioctl(fd, TIOCEXCL); /* keep a second program off the port; optional */
    l->fd = fd;
    l->kind = PB_LINK_TERMIOS;
    return 0;
}

/* The device's lock comes first, on a descriptor of its own: a port another bridge holds
 * is then left exactly as it is, never reconfigured by libserialport or termios. TIOCEXCL
 * (below) keeps other users off, but not root; flock() binds root too. */
static int device_lock(struct pb_link *l)
{
    int fd = open(l->path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    pid_t holder = 0;
    if (pb_lanelock_fd(fd, &holder) == PB_ERR_BUSY) {
        pb_warn("link %s: %s is in use by pid %ld (another bridge on this lane?)", l->spec,
                l->path, (long)holder);
        close(fd);
        errno = EBUSY;
        return -2;
    }
    l->lock_fd = fd;
    return 0;
}

/* Serial or termios: PB_OK, PB_ERR_AGAIN (absent), PB_ERR_BUSY (another process holds
 * it), PB_ERR_IO (there but unusable). */
static int device_open(struct pb_link *l)
{
    int lk = device_lock(l);
    if (lk == -2)
        return PB_ERR_BUSY;
    if (lk == 0 && (sp_kind_open(l) == 0 || termios_kind_open(l) == 0))
        return PB_OK;
    int e = errno;
    if (l->lock_fd >= 0) {
        close(l->lock_fd);
        l->lock_fd = -1;
    }
    /* EBUSY: TIOCEXCL of another program, or of another bridge (then it holds the lock
     * and says so). */
    if (e == EBUSY && pb_lanelock_holder(l->path) > 0)
        return PB_ERR_BUSY;
    if (errno_absent(e)) {
        l->down_errno = e;
        return PB_ERR_AGAIN;
    }
    pb_error("link %s: cannot open %s: %s", l->spec, l->path, strerror(e));
    return PB_ERR_IO;
}

/* Point PATH at target atomically (a temporary link renamed over it), replacing a stale
 * symlink but never a regular file, directory or device someone put there. */
static int symlink_replace(const char *target, const char *path, const char *spec)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
        pb_error("link %s: %s exists and is not a symlink; refusing to replace it", spec, path);
        return PB_ERR_IO;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return PB_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    (void)unlink(tmp);
    int rc = PB_OK;
    if (symlink(target, tmp) < 0) {
        pb_error("link %s: cannot create symlink %s: %s", spec, tmp, strerror(errno));
        rc = PB_ERR_IO;
    } else if (rename(tmp, path) < 0) {
        pb_error("link %s: cannot rename %s to %s: %s", spec, tmp, path, strerror(errno));
        (void)unlink(tmp);
        rc = PB_ERR_IO;
    }
    free(tmp);
    return rc;
}

/* Remove PATH only if it still points at our slave (another instance may own it now). */
static void symlink_remove(const struct pb_link *l)
{
    char buf[sizeof l->slave_name];
    ssize_t n = readlink(l->path, buf, sizeof buf - 1);
    if (n <= 0)
        return;
    buf[n] = '\0';
    if (strcmp(buf, l->slave_name) == 0)
        (void)unlink(l->path);
}

static int pty_open(struct pb_link *l)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    int s = -1;
    int rc = PB_ERR_IO;
    if (m < 0) {
        pb_error("link %s: posix_openpt: %s", l->spec, strerror(errno));
        goto out;
    }
    if (grantpt(m) < 0 || unlockpt(m) < 0 ||
        ptsname_r(m, l->slave_name, sizeof l->slave_name) != 0) {
        pb_error("link %s: cannot set up the pty: %s", l->spec, strerror(errno));
        goto out;
    }
    s = open(l->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0 || termios_apply(s, &l->line) < 0) {
        pb_error("link %s: cannot open %s raw: %s", l->spec, l->slave_name, strerror(errno));
        goto out;
    }
    rc = symlink_replace(l->slave_name, l->path, l->spec);
    if (rc != PB_OK)
        goto out;
    l->fd = m;
    l->slave_fd = s;
    return PB_OK;
out:
    if (s >= 0)
        close(s);
    if (m >= 0)
        close(m);
    l->slave_name[0] = '\0';
    return rc;
}

static int tcp_open(struct pb_link *l)
{
    int rc;
    if (l->kind == PB_LINK_TCP) {
        rc = pb_tcp_connect(l->host, l->port, &l->fd);
    } else {
        if (l->listen_fd < 0) {
            rc = pb_tcp_listen(l->host, l->port, &l->listen_fd);
            if (rc != PB_OK) {
                pb_error("link %s: cannot listen on %s:%s: %s", l->spec, l->host, l->port,
                         strerror(errno));
                return rc;
            }
        }
        rc = pb_tcp_accept(l->listen_fd, &l->fd);
    }
    if (rc == PB_ERR_IO)
        pb_error("link %s: %s", l->spec, strerror(errno));
    return rc;
}

static int do_open(struct pb_link *l)
{
    int rc = l->kind == PB_LINK_PTY                                       ? pty_open(l)
             : l->kind == PB_LINK_TCP || l->kind == PB_LINK_TCP_LISTEN ? tcp_open(l)
                                                                        : device_open(l);
    if (rc == PB_OK) {
        l->up = true;
        l->backoff_ms = BACKOFF_FIRST_MS;
    }
    return rc;
}

static void do_close(struct pb_link *l)
{
    if (l->sp) {
        sp_close(l->sp); /* closes l->fd too */
        sp_free_port(l->sp);
        l->sp = NULL;
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = -1;
    if (l->slave_fd >= 0) {
        close(l->slave_fd);
        l->slave_fd = -1;
    }
    if (l->lock_fd >= 0) {
        close(l->lock_fd);
        l->lock_fd = -1;
    }
    if (l->kind == PB_LINK_PTY && l->slave_name[0]) {
        symlink_remove(l);
        l->slave_name[0] = '\0';
    }
    l->up = false;
}

/* ---- public -------------------------------------------------------------------------- */

/* Splits "PATH@LINE": a suffix after the last '@' that starts with a digit is a line. */
static int spec_split(const char *spec, char **path, struct pb_line *line, bool *has_line)
{
    *has_line = false;
    const char *body = spec;
    if (strncmp(body, PTY_PREFIX, strlen(PTY_PREFIX)) == 0)
        body += strlen(PTY_PREFIX);
    const char *at = strrchr(body, '@');
    size_t len = strlen(body);
    if (at && at[1] >= '0' && at[1] <= '9') {
        const char *err = NULL;
        if (pb_line_parse(at + 1, line, &err) != PB_OK) {
            pb_error("link %s: bad line settings after '@': %s", spec, err);
            return PB_ERR_SYNTAX;
        }
        *has_line = true;
        len = (size_t)(at - body);
    }
    if (len == 0) {
        pb_error("link %s: no path in the port spec", spec);
        return PB_ERR_SYNTAX;
    }
    *path = strndup(body, len);
    return *path ? PB_OK : PB_ERR_NOMEM;
}

/* tcp:HOST:PORT and tcp-listen:ADDR:PORT: no line settings, no path. */
static int tcp_link_open(struct pb_link *l, const char *spec, enum pb_link_kind kind)
{
    l->kind = kind;
    const char *body = spec + strlen(kind == PB_LINK_TCP ? TCP_PREFIX : TCP_LISTEN_PREFIX);
    int rc = pb_tcp_split(body, &l->host, &l->port);
    if (rc == PB_ERR_SYNTAX)
        pb_error("link %s: expected %sHOST:PORT (port 1..65535)", spec,
                 kind == PB_LINK_TCP ? TCP_PREFIX : TCP_LISTEN_PREFIX);
    if (rc == PB_OK && !(l->path = strdup(body)))
        rc = PB_ERR_NOMEM;
    if (rc == PB_OK)
        rc = do_open(l);
    return rc;
}

int pb_link_open(const char *spec, const struct pb_line *line, struct pb_link **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!spec || !*spec)
        return PB_ERR_SYNTAX;
    struct pb_link *l = calloc(1, sizeof *l);
    if (!l)
        return PB_ERR_NOMEM;
    l->fd = -1;
    l->slave_fd = -1;
    l->listen_fd = -1;
    l->lock_fd = -1;
    bool tcp = strncmp(spec, TCP_PREFIX, strlen(TCP_PREFIX)) == 0,
         tcp_listen = strncmp(spec, TCP_LISTEN_PREFIX, strlen(TCP_LISTEN_PREFIX)) == 0;
    if (tcp || tcp_listen) {
        int rc = PB_ERR_NOMEM;
        l->backoff_ms = BACKOFF_FIRST_MS;
        if ((l->spec = strdup(spec)) != NULL)
            rc = tcp_link_open(l, spec, tcp ? PB_LINK_TCP : PB_LINK_TCP_LISTEN);
        if (rc == PB_OK || rc == PB_ERR_AGAIN) {
            *out = l;
            return rc;
        }
        pb_link_close(l);
        return rc;
    }
    l->backoff_ms = BACKOFF_FIRST_MS;
    l->kind = strncmp(spec, PTY_PREFIX, strlen(PTY_PREFIX)) == 0 ? PB_LINK_PTY : PB_LINK_SERIAL;
    l->line = line ? *line
                   : (struct pb_line){.baud = 9600, .data_bits = 8, .parity = 'N', .stop_bits = 1};
    bool has_line = false;
    struct pb_line spec_line;
    int rc = PB_ERR_NOMEM;
    l->spec = strdup(spec);
    if (!l->spec)
        goto fail;
    rc = spec_split(spec, &l->path, &spec_line, &has_line);
    if (rc != PB_OK)
        goto fail;
    if (has_line)
        l->line = spec_line;
    else if (!baud_speed(l->line.baud, NULL) || l->line.data_bits < 5 ||
             l->line.data_bits > 8 || l->line.stop_bits < 1 || l->line.stop_bits > 2 ||
             (l->line.parity != 'N' && l->line.parity != 'E' && l->line.parity != 'O')) {
        rc = PB_ERR_INVAL;
        goto fail;
    }
    if (l->kind == PB_LINK_PTY) {
        /* One owner per link path, before its symlink is touched: a second bridge must not
         * take over a running lane's register (docs/TOOLS.md "One bridge per lane"). */
        char why[PATH_MAX + 200];
        rc = pb_lanelock_take(l->path, &l->lock, NULL, why, sizeof why);
        if (rc != PB_OK && rc != PB_ERR_BUSY) /* busy: the caller names the holder */
            pb_error("link %s: %s", spec, why);
        if (rc != PB_OK)
            goto fail;
    }
    rc = do_open(l);
    if (rc == PB_OK || rc == PB_ERR_AGAIN) {
        *out = l; /* AGAIN: created and down, pb_link_reopen() brings it up */
        return rc;
    }
fail:
    pb_link_close(l);
    return rc;
}

void pb_link_close(struct pb_link *l)
{
    if (!l)
        return;
    do_close(l);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    pb_lanelock_release(l->lock); /* after the symlink is gone */
    free(l->spec);
    free(l->path);
    free(l->host);
    free(l->port);
    free(l);
}

pid_t pb_link_holder(const char *spec)
{
    char *path = NULL;
    struct pb_line line;
    bool has_line;
    if (!spec || spec_split(spec, &path, &line, &has_line) != PB_OK)
        return 0;
    pid_t pid = pb_lanelock_holder(path);
    free(path);
    return pid;
}

int pb_link_fd(const struct pb_link *l)
{
    return l && l->up ? l->fd : -1;
}

bool pb_link_is_up(const struct pb_link *l)
{
    return l && l->up;
}

enum pb_link_kind pb_link_kind(const struct pb_link *l)
{
    return l ? l->kind : PB_LINK_SERIAL;
}

const char *pb_link_name(const struct pb_link *l)
{
    return l ? l->spec : "";
}

const char *pb_link_path(const struct pb_link *l)
{
    return l ? l->path : "";
}

/* Maps a failed read/write (errno e, or e == 0 for a read of 0 bytes) to the link's
 * codes; a port that went away closes the link. */
static ssize_t io_failed(struct pb_link *l, const char *what, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return PB_ERR_AGAIN;
    if (e == 0 || errno_gone(e)) {
        pb_warn("link %s: port lost (%s: %s)", l->spec, what, e ? strerror(e) : "end of file");
        do_close(l);
        return PB_ERR_CLOSED;
    }
    pb_warn("link %s: %s: %s", l->spec, what, strerror(e));
    return PB_ERR_IO;
}

ssize_t pb_link_read(struct pb_link *l, void *buf, size_t cap)
{
    if (!l || !buf || cap == 0)
        return PB_ERR_INVAL;
    if (!l->up)
        return PB_ERR_CLOSED;
    ssize_t n;
    while ((n = read(l->fd, buf, cap)) < 0 && errno == EINTR)
        ;
    if (n > 0)
        return n;
    return io_failed(l, "read", n == 0 ? 0 : errno); /* VMIN=1: 0 bytes is hang-up */
}

ssize_t pb_link_write(struct pb_link *l, const void *buf, size_t len)
{
    if (!l || (!buf && len))
        return PB_ERR_INVAL;
    if (!l->up)
        return PB_ERR_CLOSED;
    if (len == 0)
        return 0;
    ssize_t n;
    while ((n = write(l->fd, buf, len)) < 0 && errno == EINTR)
        ;
    return n >= 0 ? n : io_failed(l, "write", errno);
}

int pb_link_reopen(struct pb_link *l)
{
    if (!l)
        return PB_ERR_INVAL;
    if (l->up)
        return PB_OK;
    int rc = do_open(l);
    if (rc == PB_OK) {
        pb_info("link %s: port back (%s)", l->spec, l->path);
        return PB_OK;
    }
    /* A listening link waits for the register's next connection: look often. */
    if (l->kind != PB_LINK_TCP_LISTEN)
        l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
    /* Down stays down until the port comes back: to the caller every failure is "later". */
    return PB_ERR_AGAIN;
}

void pb_link_drop(struct pb_link *l)
{
    if (l && l->up)
        do_close(l);
}

const char *pb_link_absent_text(int e)
{
    switch (e) {
    case EACCES:
        return "permission denied (the bridge's user needs the port's group, often dialout)";
    case EBUSY:
        return "busy (another program holds it exclusively)";
    case EIO:
        return "not answering (I/O error: the other side of a pty gone?)";
    default:
        return "not there yet";
    }
}

int pb_link_down_errno(const struct pb_link *l)
{
    return l && !l->up ? l->down_errno : 0;
}

int pb_link_backoff_ms(const struct pb_link *l)
{
    return (int)(l ? l->backoff_ms : BACKOFF_FIRST_MS);
}
