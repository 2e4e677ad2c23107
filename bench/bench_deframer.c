/* bench_deframer: what hostile byte patterns cost each protocol's deframer, in ns per
 * byte, next to random bytes measured in the same run (docs/BENCHMARKS.md section 8).
 *
 * A deframer holds a partial frame until it completes or proves impossible, then drops
 * one byte and rescans (the resync rule). A pattern that made every byte rescan a held
 * frame would cost max_frame steps per byte; these patterns aim at that: frame starts
 * with no end, length fields that promise the longest frame, starts packed densely.
 * Each pattern is fed in 64-byte chunks, as a USB adapter delivers them; the figure is
 * the best of REPS runs (the machine is shared: the minimum is the least disturbed).
 *
 *   usage: bench_deframer [MIB [REPS]]     (default 4 MiB per pattern, 3 runs) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb_error.h"
#include "protocol.h"

struct pattern {
    const char *name;
    uint8_t (*byte)(size_t i);
};

static uint32_t rnd_state;
static uint8_t p_random(size_t i)
{
    (void)i;
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (uint8_t)(rnd_state >> 16);
}
static uint8_t p_text(size_t i) { (void)i; return 'A'; }
static uint8_t p_stx(size_t i) { (void)i; return PB_STX; }
static uint8_t p_stx_a(size_t i) { return i % 2 ? PB_STX : 'A'; }
static uint8_t p_dle_stx(size_t i) { return i % 2 ? PB_STX : PB_DLE; }
/* An STX every 1100 bytes: one frame start that never ends, the longest Concert frame
 * plus a little, again and again. */
static uint8_t p_long_start(size_t i) { return i % 1100 ? 'A' : PB_STX; }
/* MIS-POS BCD length 9999 (the longest frame) after every third byte. */
static uint8_t p_stx_9999(size_t i) { return i % 3 ? 0x99 : PB_STX; }
/* A promised 9999-byte frame every 50 bytes, text between. */
static uint8_t p_sparse_9999(size_t i) { return i % 50 == 0 ? PB_STX : i % 50 < 3 ? 0x99 : 'A'; }

static const struct pattern patterns[] = {
    {"random bytes (baseline)", p_random},
    {"'A' only", p_text},
    {"STX only", p_stx},
    {"STX 'A' alternating", p_stx_a},
    {"DLE STX alternating", p_dle_stx},
    {"STX + 1099 'A', repeated", p_long_start},
    {"STX 99 99, repeated", p_stx_9999},
    {"STX 99 99 + 47 'A', repeated", p_sparse_9999},
};

static void count(const struct pb_frame *f, void *ctx)
{
    (void)f;
    (*(size_t *)ctx)++;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds to deframe buf; *events gets the frames, controls and garbage runs. */
static double feed_all(const struct pb_protocol *p, const uint8_t *buf, size_t n, size_t *events)
{
    struct pb_deframer *d;
    if (pb_deframer_new(p, &d) != PB_OK) {
        fprintf(stderr, "bench_deframer: cannot make a %s deframer\n", p->name);
        exit(1);
    }
    *events = 0;
    double t = now_s();
    for (size_t i = 0; i < n; i += 64)
        pb_deframer_feed(d, buf + i, n - i < 64 ? n - i : 64, count, events);
    pb_deframer_flush(d, count, events);
    t = now_s() - t;
    pb_deframer_free(d);
    return t;
}

static long arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi) {
        fprintf(stderr, "bench_deframer: %s '%s': expected %ld to %ld\n", what, s, lo, hi);
        exit(64);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 3 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
        fprintf(argc > 3 ? stderr : stdout, "usage: bench_deframer [MIB [REPS]]\n");
        return argc > 3 ? 64 : 0;
    }
    size_t n = (size_t)(argc > 1 ? arg(argv[1], 1, 1024, "MIB") : 4) << 20;
    int reps = (int)(argc > 2 ? arg(argv[2], 1, 100, "REPS") : 3);
    uint8_t *buf = malloc(n);
    if (!buf) {
        fprintf(stderr, "bench_deframer: out of memory\n");
        return 1;
    }
    printf("%-10s %-30s %10s %8s %10s\n", "protocol", "pattern", "ns/byte", "x random", "events");
    for (const struct pb_protocol *const *p = pb_protocol_list(); *p; p++) {
        double base = 0;
        for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
            rnd_state = 1;
            for (size_t i = 0; i < n; i++)
                buf[i] = patterns[k].byte(i);
            double best = 0;
            size_t events = 0;
            for (int r = 0; r < reps; r++) {
                double t = feed_all(*p, buf, n, &events);
                if (r == 0 || t < best)
                    best = t;
            }
            double ns = best * 1e9 / (double)n;
            if (k == 0)
                base = ns;
            printf("%-10s %-30s %10.1f %8.1f %10zu\n", (*p)->name, patterns[k].name, ns,
                   ns / base, events);
        }
    }
    free(buf);
    return 0;
}
