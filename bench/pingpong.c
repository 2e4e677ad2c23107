/* pingpong: the measuring side of the latency and throughput benchmarks (bench/run.sh,
 * docs/BENCHMARKS.md). Plain C against libc only, so that the measuring side is never the
 * bottleneck and needs nothing from the project.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/pingpong bench/pingpong.c
 *
 *   pingpong lat  N ROUNDS HEX  NAME A B  [NAME A B ...]
 *       For every variant NAME, opens the two ends A (register side) and B (terminal
 *       side) and measures N round trips: write HEX on A, read it whole on B, write it on
 *       B, read it whole on A. The N round trips are cut into ROUNDS rounds, and the
 *       variants take turns round by round (interleaved), so that load from other
 *       processes on the machine hits every variant alike. A = "direct" makes a pty pair
 *       in this process (slave is A, master is B): the floor, no relay at all.
 *       Prints per variant: n, min, median, p90, p99, max round trip in microseconds, and
 *       the ratios of median and p99 to the variant named "socat" when there is one.
 *
 *   pingpong tput BYTES WRITE HEX A B
 *       Streams BYTES bytes made of HEX repeated (frames back to back) into A in writes
 *       of at most WRITE bytes, reads them on B, and checks count and FNV-1a checksum of
 *       the stream against what was written. Prints MB/s (10^6 bytes/s). Exit 1 on a
 *       lost, extra or changed byte, or on 10 s without progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_VARIANTS 8
#define MAX_FRAME 4096
#define STALL_MS 10000

struct variant {
    const char *name;
    int a, b;
    int64_t *rtt_ns;
    size_t n;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0)
        return; /* not a tty: nothing to set */
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(fd, TCSANOW, &t);
}

/* An end is a tty path, "tcp:HOST:PORT" (connect) or "tcp-listen:HOST:PORT" (listen, then
 * accept one peer: listen_end() first, accept_end() once the other end is open, so that
 * a relay that connects onwards only when it is connected to finds us listening). */
static int tcp_parse(const char *spec, struct sockaddr_in *sa)
{
    const char *p = strchr(spec, ':'), *c = strrchr(spec, ':');
    if (!p || !c || p == c)
        return -1;
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(c - p - 1), p + 1);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(c + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int listen_end(const char *spec)
{
    struct sockaddr_in sa;
    if (strncmp(spec, "tcp-listen:", 11) != 0 || tcp_parse(spec, &sa) != 0)
        return -1;
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 1) != 0)
        die(spec);
    return s;
}

static int accept_end(int ls)
{
    int fd = accept(ls, NULL, NULL), one = 1;
    if (fd < 0)
        die("accept");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(ls);
    return fd;
}

static int open_end(const char *path)
{
    if (strncmp(path, "tcp:", 4) == 0) {
        struct sockaddr_in sa;
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (s < 0 || tcp_parse(path, &sa) != 0)
            die(path);
        for (int tries = 0; connect(s, (struct sockaddr *)&sa, sizeof sa) != 0; tries++) {
            if (tries > 500)
                die(path);
            usleep(10000);
        }
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return s;
    }
    int fd = open(path, O_RDWR | O_NOCTTY);
    if (fd < 0)
        die(path);
    make_raw(fd);
    return fd;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex digits with optional spaces or colons between bytes. */
static size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == ':') {
            s++;
            continue;
        }
        int h = hexval(s[0]), l = s[1] ? hexval(s[1]) : -1;
        if (h < 0 || l < 0 || n == cap) {
            fprintf(stderr, "pingpong: bad hex near '%s'\n", s);
            exit(2);
        }
        out[n++] = (uint8_t)(h << 4 | l);
        s += 2;
    }
    if (n == 0) {
        fprintf(stderr, "pingpong: empty payload\n");
        exit(2);
    }
    return n;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("write");
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* Reads exactly len bytes; fails after STALL_MS without a byte (a relay lost data). */
static void read_all(int fd, uint8_t *buf, size_t len, const uint8_t *expect)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, STALL_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "pingpong: no answer after %d ms (%zu of %zu bytes)\n", STALL_MS,
                    got, len);
            exit(1);
        }
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("read");
        }
        if (n == 0) {
            fprintf(stderr, "pingpong: end of file\n");
            exit(1);
        }
        got += (size_t)n;
    }
    if (memcmp(buf, expect, len) != 0) {
        fprintf(stderr, "pingpong: payload changed in transit\n");
        exit(1);
    }
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Nearest-rank percentile of a sorted array. */
static double pct_us(const int64_t *s, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)s[k - 1] / 1000.0;
}

static int cmd_lat(int argc, char **argv)
{
    if (argc < 7 || (argc - 4) % 3 != 0) {
        fprintf(stderr, "usage: pingpong lat N ROUNDS HEX NAME A B [NAME A B ...]\n");
        return 2;
    }
    size_t n = strtoul(argv[1], NULL, 10);
    size_t rounds = strtoul(argv[2], NULL, 10);
    static uint8_t msg[MAX_FRAME], buf[MAX_FRAME];
    size_t len = parse_hex(argv[3], msg, sizeof msg);
    size_t nv = (size_t)(argc - 4) / 3;
    if (n == 0 || rounds == 0 || rounds > n || nv > MAX_VARIANTS) {
        fprintf(stderr, "pingpong: bad N, ROUNDS or too many variants\n");
        return 2;
    }
    struct variant v[MAX_VARIANTS];
    for (size_t i = 0; i < nv; i++) {
        v[i].name = argv[4 + 3 * i];
        const char *a = argv[5 + 3 * i], *b = argv[6 + 3 * i];
        if (strcmp(a, "direct") == 0) {
            int m = posix_openpt(O_RDWR | O_NOCTTY);
            if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0)
                die("posix_openpt");
            v[i].a = open_end(ptsname(m));
            v[i].b = m;
            make_raw(m);
        } else {
            int lb = listen_end(b);
            v[i].a = open_end(a);
            v[i].b = lb >= 0 ? accept_end(lb) : open_end(b);
        }
        v[i].rtt_ns = calloc(n, sizeof *v[i].rtt_ns);
        if (!v[i].rtt_ns)
            die("calloc");
        v[i].n = 0;
        /* warm-up: caches, page faults, the relay's first wake-up */
        for (int w = 0; w < 50; w++) {
            write_all(v[i].a, msg, len);
            read_all(v[i].b, buf, len, msg);
            write_all(v[i].b, msg, len);
            read_all(v[i].a, buf, len, msg);
        }
    }
    for (size_t r = 0; r < rounds; r++) {
        size_t per = n / rounds + (r < n % rounds ? 1 : 0);
        for (size_t i = 0; i < nv; i++) {
            for (size_t k = 0; k < per; k++) {
                int64_t t0 = mono_ns();
                write_all(v[i].a, msg, len);
                read_all(v[i].b, buf, len, msg);
                write_all(v[i].b, msg, len);
                read_all(v[i].a, buf, len, msg);
                v[i].rtt_ns[v[i].n++] = mono_ns() - t0;
            }
        }
    }
    double socat_med = 0, socat_p99 = 0;
    for (size_t i = 0; i < nv; i++) {
        qsort(v[i].rtt_ns, v[i].n, sizeof *v[i].rtt_ns, cmp_i64);
        if (strcmp(v[i].name, "socat") == 0) {
            socat_med = pct_us(v[i].rtt_ns, v[i].n, 50);
            socat_p99 = pct_us(v[i].rtt_ns, v[i].n, 99);
        }
    }
    printf("%-12s %5s %6s %8s %8s %8s %8s %9s %9s %9s\n", "variant", "bytes", "n", "min_us",
           "med_us", "p90_us", "p99_us", "max_us", "med/socat", "p99/socat");
    for (size_t i = 0; i < nv; i++) {
        const int64_t *s = v[i].rtt_ns;
        double med = pct_us(s, v[i].n, 50), p99 = pct_us(s, v[i].n, 99);
        printf("%-12s %5zu %6zu %8.1f %8.1f %8.1f %8.1f %9.1f", v[i].name, len, v[i].n,
               (double)s[0] / 1000.0, med, pct_us(s, v[i].n, 90), p99,
               (double)s[v[i].n - 1] / 1000.0);
        if (socat_med > 0)
            printf(" %9.2f %9.2f\n", med / socat_med, p99 / socat_p99);
        else
            printf(" %9s %9s\n", "-", "-");
        free(v[i].rtt_ns);
        close(v[i].a);
        close(v[i].b);
    }
    return 0;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int cmd_tput(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: pingpong tput BYTES WRITE HEX A B\n");
        return 2;
    }
    uint64_t total = strtoull(argv[1], NULL, 10);
    size_t wsize = strtoul(argv[2], NULL, 10);
    static uint8_t frame[MAX_FRAME];
    size_t flen = parse_hex(argv[3], frame, sizeof frame);
    if (wsize == 0 || wsize > 65536 || total == 0) {
        fprintf(stderr, "pingpong: bad BYTES or WRITE (1..65536)\n");
        return 2;
    }
    int a = open_end(argv[4]), b = open_end(argv[5]);
    fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
    fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK);
    /* The stream is the frame repeated; a ring of whole frames at least WRITE long lets
     * every write start anywhere in it. */
    size_t ring_len = flen * ((wsize + 2 * flen) / flen + 1);
    uint8_t *ring = malloc(ring_len + wsize);
    static uint8_t rbuf[65536];
    if (!ring)
        die("malloc");
    for (size_t i = 0; i < ring_len + wsize; i++)
        ring[i] = frame[i % flen];
    uint64_t sent = 0, recvd = 0, hs = 0xcbf29ce484222325ULL, hr = hs;
    int64_t t0 = mono_ns(), last = t0;
    while (recvd < total) {
        struct pollfd p[2] = {{.fd = b, .events = POLLIN},
                              {.fd = a, .events = sent < total ? POLLOUT : 0}};
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR)
            die("poll");
        int64_t now = mono_ns();
        if (r <= 0) {
            if ((now - last) / 1000000 > STALL_MS) {
                fprintf(stderr, "pingpong: stalled: sent %llu, received %llu\n",
                        (unsigned long long)sent, (unsigned long long)recvd);
                return 1;
            }
            continue;
        }
        if (p[0].revents & POLLIN) {
            ssize_t got = read(b, rbuf, sizeof rbuf);
            if (got > 0) {
                if (recvd + (uint64_t)got > total) {
                    fprintf(stderr, "pingpong: %llu bytes more than sent\n",
                            (unsigned long long)(recvd + (uint64_t)got - total));
                    return 1;
                }
                hr = fnv1a(hr, rbuf, (size_t)got);
                recvd += (uint64_t)got;
                last = now;
            }
        }
        if (sent < total && (p[1].revents & POLLOUT)) {
            size_t off = (size_t)(sent % flen);
            size_t want = wsize;
            if (want > total - sent)
                want = (size_t)(total - sent);
            ssize_t w = write(a, ring + off, want);
            if (w > 0) {
                hs = fnv1a(hs, ring + off, (size_t)w);
                sent += (uint64_t)w;
            }
        }
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    /* anything beyond BYTES arriving late is a duplicate */
    usleep(200000);
    ssize_t extra = read(b, rbuf, sizeof rbuf);
    int ok = hs == hr && recvd == sent && extra <= 0;
    printf("bytes=%llu write=%zu seconds=%.3f MB/s=%.2f checksum=%s\n",
           (unsigned long long)recvd, wsize, secs, (double)recvd / secs / 1e6,
           ok ? "ok" : "MISMATCH");
    free(ring);
    close(a);
    close(b);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "lat") == 0)
        return cmd_lat(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "tput") == 0)
        return cmd_tput(argc - 1, argv + 1);
    fprintf(stderr, "usage: pingpong lat N ROUNDS HEX NAME A B [NAME A B ...]\n"
                    "       pingpong tput BYTES WRITE HEX A B\n");
    return 2;
}
