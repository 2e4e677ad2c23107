/* Fuzz harness for the pcapng reader (lane/capture_read.c): the input becomes a file (a
 * memfd, opened by path like any capture) read record by record until end or error.
 * Seeds in tests/fuzz/corpus/capture/: small captures written by pb_capture_*. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(enum pb_log_level level, const char *msg, void *ctx)
{
    (void)level;
    (void)msg;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        pb_log_set_sink(PB_LOG_CALLBACK, "fuzz", quiet, NULL);
        init = 1;
    }
    int fd = memfd_create("fuzz_capture", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct pb_capture_reader *r = NULL;
    if (pb_capture_reader_open(path, &r) == 0) {
        struct pb_capture_record rec;
        int rc;
        volatile unsigned sink = 0;
        (void)pb_capture_reader_link_type(r);
        while ((rc = pb_capture_read(r, &rec)) == 1) {
            /* Touch everything the record points at: out-of-bounds shows under ASan. */
            for (size_t i = 0; i < rec.len; i++)
                sink += rec.data[i];
            if (rec.comment)
                sink += (unsigned)strlen(rec.comment);
        }
        if (rc < 0 && pb_capture_reader_error(r)[0] == '\0')
            abort(); /* every error must say what and where */
        (void)sink;
        pb_capture_reader_close(r);
    }
    close(fd);
    return 0;
}
