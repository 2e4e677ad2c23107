/* capgen: builds a large capture for the offline-analysis benchmark (docs/BENCHMARKS.md
 * item 5) out of a real lane's capture, with the project's own pcapng writer
 * (lane/capture.h): the records of IN are written again and again, each copy shifted
 * in time past the end of the previous one plus an hour (longer than every protocol
 * timer and the duplicate window), until OUT holds at least MIN_MB megabytes.
 *
 * Build (after `make`): cc -O2 -std=c11 -D_GNU_SOURCE -Iprotocols -Ilane \
 *     bench/capgen.c build/liblane.a -o build/bench/capgen
 * Run:   build/bench/capgen IN.pcapng OUT.pcapng MIN_MB
 * Prints the copies made, records and bytes written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "capture.h"
#include "pb_error.h"

#define HOUR_US (3600LL * 1000000LL)

static int copy_once(const char *in, struct pb_capture **out, const char *out_path,
                     int64_t shift, int64_t *first, int64_t *last, uint64_t *records)
{
    struct pb_capture_reader *r = NULL;
    int rc = pb_capture_reader_open(in, &r);
    if (rc != PB_OK) {
        fprintf(stderr, "capgen: cannot open %s: %s\n", in, pb_strerror(rc));
        return -1;
    }
    struct pb_capture_record rec;
    while ((rc = pb_capture_read(r, &rec)) == 1) {
        if (*out == NULL) {
            int lt = pb_capture_reader_link_type(r);
            if (lt < 0 || pb_capture_open(out_path, (uint16_t)lt, NULL, out) != PB_OK) {
                fprintf(stderr, "capgen: cannot create %s\n", out_path);
                pb_capture_reader_close(r);
                return -1;
            }
        }
        if (*first == INT64_MIN)
            *first = rec.utc_us;
        int64_t t = rec.utc_us + shift;
        if (t > *last)
            *last = t;
        if (rec.is_event)
            rc = pb_capture_comment(*out, t, rec.comment ? rec.comment : "");
        else
            rc = pb_capture_chunk(*out, rec.dir, t, rec.data, rec.len);
        if (rc != PB_OK) {
            fprintf(stderr, "capgen: write failed: %s\n", pb_strerror(rc));
            pb_capture_reader_close(r);
            return -1;
        }
        (*records)++;
    }
    pb_capture_reader_close(r);
    if (rc < 0) {
        fprintf(stderr, "capgen: %s: %s\n", in, pb_strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: capgen IN.pcapng OUT.pcapng MIN_MB\n");
        return 2;
    }
    long long min_bytes = atoll(argv[3]) * 1000000LL;
    struct pb_capture *out = NULL;
    int64_t first = INT64_MIN, last = INT64_MIN, shift = 0;
    uint64_t records = 0;
    unsigned copies = 0;
    struct stat st = {0};
    do {
        if (copy_once(argv[1], &out, argv[2], shift, &first, &last, &records) != 0)
            return 1;
        copies++;
        shift = last - first + HOUR_US;
        pb_capture_flush(out);
        stat(argv[2], &st);
    } while (st.st_size < min_bytes);
    if (pb_capture_close(out) != PB_OK)
        return 1;
    stat(argv[2], &st);
    printf("capgen: %u copies of %s, %llu records, %lld bytes\n", copies, argv[1],
           (unsigned long long)records, (long long)st.st_size);
    return 0;
}
