/* Fuzz harness for protocols/detect.c: pb_detect and the streaming detector over the
 * data, split between the two directions and chunked by the data itself, aborting on a
 * broken invariant:
 *  - confidences stay in 0..100, a named protocol is a registered one and reaches the
 *    threshold, none is named below it;
 *  - the detector keeps exactly the first bytes of each direction, in order, never more
 *    than its window, and counts every byte fed until it decides;
 *  - once decided, its verdict never changes (chunked and byte-by-byte feeding both). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "pb_error.h"
#include "protocol.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_detect: invariant broken at %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool registered(const struct pb_protocol *p)
{
    for (const struct pb_protocol *const *l = pb_protocol_list(); *l; l++)
        if (*l == p)
            return true;
    return false;
}

/* Feeds data: each chunk is a length byte (top bit: direction) and the bytes after it.
 * Returns the protocol found after finish, *state the final state. */
static const struct pb_protocol *run(const uint8_t *data, size_t size, bool bytewise,
                                     enum pb_detect_state *state)
{
    struct pb_detect_opts o = {.window = 512};
    struct pb_detector *d = NULL;
    CHECK(pb_detector_new(&o, &d) == PB_OK);
    uint8_t copy[2][512];
    size_t kept[2] = {0, 0};
    uint64_t fed[2] = {0, 0};
    size_t i = 0;
    enum pb_detect_state st = PB_DETECT_PENDING;
    while (i < size && st == PB_DETECT_PENDING) {
        uint8_t c = data[i++];
        int side = c >> 7;
        size_t n = bytewise ? 1 : 1 + (c & 63);
        if (n > size - i)
            n = size - i;
        for (size_t k = 0; k < n && kept[side] < sizeof copy[0]; k++)
            copy[side][kept[side]++] = data[i + k];
        fed[side] += n;
        st = pb_detector_feed(d, side ? PB_DIR_PT : PB_DIR_ECR, data + i, n);
        i += n;
    }
    for (int s = 0; s < 2; s++) {
        const uint8_t *seen;
        size_t k = pb_detector_seen(d, s ? PB_DIR_PT : PB_DIR_ECR, &seen);
        CHECK(k == kept[s] && k <= 512);
        CHECK(k == 0 || memcmp(seen, copy[s], k) == 0);
        CHECK(pb_detector_total(d, s ? PB_DIR_PT : PB_DIR_ECR) == fed[s]);
    }
    st = pb_detector_finish(d);
    CHECK(st == PB_DETECT_FOUND || st == PB_DETECT_NONE);
    int conf;
    const struct pb_protocol *p = pb_detector_result(d, &conf);
    CHECK(conf >= 0 && conf <= 100);
    CHECK((p != NULL) == (st == PB_DETECT_FOUND));
    CHECK(!p || (registered(p) && conf >= PB_DETECT_THRESHOLD));
    CHECK(pb_detector_feed(d, PB_DIR_ECR, data, size) == st);
    CHECK(pb_detector_finish(d) == st && pb_detector_result(d, NULL) == p);
    pb_detector_free(d);
    *state = st;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct pb_protocol *p = NULL;
    int conf = -1;
    int r = pb_detect(data, size, &p, &conf);
    CHECK(conf >= 0 && conf <= 100);
    CHECK(r == PB_OK ? (p && registered(p) && conf >= PB_DETECT_THRESHOLD)
                     : (r == PB_ERR_NOTFOUND && !p));
    enum pb_detect_state st;
    run(data, size, false, &st);
    run(data, size, true, &st);
    return 0;
}
