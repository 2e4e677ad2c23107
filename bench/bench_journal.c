/* bench_journal: how many transactions per second the journal sustains (one OPENED plus
 * one CLOSED per transaction), with synchronous=FULL and NORMAL, batched as the bridge
 * runs it and with one commit per record (the worst case: one fsync per record), and
 * what pb_journal_submit() costs the caller (the forwarding path).
 *
 * The batched FULL run's journal is then checked by pb_journal_verify (posbridge
 * verify), and the time that took is printed too.
 *
 * Build and run (after `make`, from the top of the tree):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iprotocols -Ilane bench/bench_journal.c \
 *      build/liblane.a -lsqlite3 -lnettle -o build/bench_journal && build/bench_journal [DIR] [N]
 * DIR must be on the disk the journal will live on (default: a fresh directory in /tmp);
 * N is the number of transactions for the batched runs (default 20000). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "pb_error.h"

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void fill(struct pb_txn *t, uint64_t id, bool closed)
{
    memset(t, 0, sizeof *t);
    t->id = id;
    t->protocol = "zvt";
    t->type = PB_TXN_PURCHASE;
    t->cls = closed ? PB_CLASS_OK : PB_CLASS_NONE;
    t->has_requested = true;
    t->requested = 1250;
    t->requested_currency = 978;
    t->has_charged = closed;
    t->charged = 1250;
    t->currency = closed ? 978 : 0;
    t->result = closed ? PB_RESULT_APPROVED : PB_RESULT_NONE;
    t->result_code = closed ? 0 : -1;
    snprintf(t->trace, sizeof t->trace, "%06llu", (unsigned long long)id);
    snprintf(t->terminal_id, sizeof t->terminal_id, "52500001");
    snprintf(t->pan, sizeof t->pan, "476173******0119");
    t->started.utc_us = 1700000000000000LL + (int64_t)id * 1000;
    t->ended.utc_us = closed ? t->started.utc_us + 2000000 : 0;
    t->latency_us = closed ? 2000000 : -1;
    t->n_evidence = closed ? 4 : 1;
    for (unsigned i = 0; i < t->n_evidence; i++)
        t->evidence[i] = (struct pb_evidence){i % 2 ? PB_DIR_PT : PB_DIR_ECR, id * 64 + i, 16,
                                              i ? PB_KIND_RESULT : PB_KIND_REQUEST};
}

static int run(const char *dir, const char *label, bool normal, unsigned batch, unsigned n,
               bool verify)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench-%s.db", dir, label);
    unlink(path);
    struct pb_journal *j;
    int rc = pb_journal_open(path,
                             &(struct pb_journal_opts){.sync_normal = normal, .batch_max = batch,
                                                       .queue_max = 2 * (size_t)n + 16},
                             &j);
    if (rc != PB_OK) {
        fprintf(stderr, "open %s: %s\n", path, pb_strerror(rc));
        return 1;
    }
    int64_t *lat = malloc(sizeof *lat * 2 * n);
    if (!lat)
        return 1;
    struct pb_txn t;
    int64_t t0 = mono_us();
    for (unsigned i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            fill(&t, i + 1, k == 1);
            int64_t s = mono_us();
            pb_journal_submit(j, k ? PB_TXN_CLOSED : PB_TXN_OPENED, &t);
            lat[2 * i + (unsigned)k] = mono_us() - s;
        }
    }
    int64_t t_submit = mono_us() - t0;
    pb_journal_sync(j, -1);
    int64_t t_all = mono_us() - t0;
    struct pb_journal_stats st;
    pb_journal_stats(j, &st);
    pb_journal_close(j);
    qsort(lat, 2 * (size_t)n, sizeof *lat, cmp_i64);
    printf("%-14s sync=%-6s batch=%-4u txns=%-6u %8.0f txn/s  (written %llu, dropped %llu; "
           "submit: all in %.1f ms, median %lld us, p99 %lld us, max %lld us)\n",
           label, normal ? "NORMAL" : "FULL", batch, n, n / (t_all / 1e6),
           (unsigned long long)st.written, (unsigned long long)st.dropped, t_submit / 1e3,
           (long long)lat[n], (long long)lat[(size_t)(2 * n * 0.99)], (long long)lat[2 * n - 1]);
    free(lat);
    if (verify) {
        struct pb_journal_verify v;
        int64_t v0 = mono_us();
        rc = pb_journal_verify_path(path, NULL, &v);
        printf("%-14s %llu chain rows, %llu records: %s in %.2f s\n", "verify",
               (unsigned long long)v.entries, (unsigned long long)v.rows,
               rc != PB_OK ? "UNREADABLE" : v.intact ? "intact" : "BROKEN",
               (mono_us() - v0) / 1e6);
    }
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return rc == PB_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/pbbench.XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000;
    if (!dir || n == 0) {
        fprintf(stderr, "usage: bench_journal [DIR] [N]\n");
        return 64;
    }
    pb_log_set_level(PB_LOG_WARN);
    printf("journal bench in %s\n", dir);
    int rc = 0;
    rc |= run(dir, "batched-full", false, 512, n, true);
    rc |= run(dir, "batched-normal", true, 512, n, false);
    /* One commit per record: what a journal without batching would sustain. */
    unsigned n1 = n / 10 ? n / 10 : 1;
    rc |= run(dir, "single-full", false, 1, n1, false);
    rc |= run(dir, "single-normal", true, 1, n1, false);
    if (dir == tmp)
        rmdir(tmp);
    return rc;
}
