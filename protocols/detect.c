/* Protocol auto-detection over the registry's probe() functions. */
#include "detect.h"

#include <stdlib.h>
#include <string.h>

#include "pb_error.h"

#define MAX_PROTOCOLS 16

/* Scores every registered protocol on buf into score[] (registry order); returns count. */
static size_t score_all(const uint8_t *buf, size_t len, int *score)
{
    const struct pb_protocol *const *list = pb_protocol_list();
    size_t n = 0;
    for (; list[n] && n < MAX_PROTOCOLS; n++) {
        int s = list[n]->probe ? list[n]->probe(buf, len) : 0;
        score[n] = s < 0 ? 0 : s > 100 ? 100 : s;
    }
    return n;
}

/* Index of the unique best score, -1 on a tie; *best gets the score. */
static int pick(const int *score, size_t n, int *best)
{
    int b = -1, top = 0;
    bool tie = false;
    for (size_t i = 0; i < n; i++) {
        if (score[i] > top) {
            top = score[i];
            b = (int)i;
            tie = false;
        } else if (score[i] == top && top > 0) {
            tie = true;
        }
    }
    *best = top;
    return tie ? -1 : b;
}

int pb_detect(const uint8_t *buf, size_t len, const struct pb_protocol **out, int *confidence)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (confidence)
        *confidence = 0;
    if (!buf || len == 0)
        return PB_ERR_NOTFOUND;
    int score[MAX_PROTOCOLS], best;
    size_t n = score_all(buf, len, score);
    int i = pick(score, n, &best);
    if (confidence)
        *confidence = best;
    if (i < 0 || best < PB_DETECT_THRESHOLD)
        return PB_ERR_NOTFOUND;
    *out = pb_protocol_list()[i];
    return PB_OK;
}

/* ---- streaming detector --------------------------------------------------------------- */

struct pb_detector {
    struct pb_detect_opts o;
    enum pb_detect_state state;
    const struct pb_protocol *found;
    int confidence;
    uint8_t *buf[2];
    size_t len[2];
    uint64_t total[2];
    int score[2][MAX_PROTOCOLS]; /* last probe scores per direction */
    bool stale[2];               /* bytes kept since those scores */
    size_t n_proto;
};

int pb_detector_new(const struct pb_detect_opts *o, struct pb_detector **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    struct pb_detector *d = calloc(1, sizeof *d);
    if (!d)
        return PB_ERR_NOMEM;
    if (o)
        d->o = *o;
    if (d->o.window == 0)
        d->o.window = PB_DETECT_WINDOW;
    if (d->o.threshold <= 0)
        d->o.threshold = PB_DETECT_THRESHOLD;
    if (d->o.decide_at <= 0)
        d->o.decide_at = PB_DETECT_DECIDE_AT;
    for (int i = 0; i < 2; i++) {
        d->buf[i] = malloc(d->o.window);
        if (!d->buf[i]) {
            pb_detector_free(d);
            return PB_ERR_NOMEM;
        }
    }
    *out = d;
    return PB_OK;
}

void pb_detector_free(struct pb_detector *d)
{
    if (!d)
        return;
    free(d->buf[0]);
    free(d->buf[1]);
    free(d);
}

static int side(enum pb_dir dir)
{
    return dir == PB_DIR_PT ? 1 : 0;
}

/* Best per protocol over both directions; decides when allowed to. */
static void decide(struct pb_detector *d, bool final)
{
    int combined[MAX_PROTOCOLS], best;
    for (size_t i = 0; i < d->n_proto; i++)
        combined[i] = d->score[0][i] > d->score[1][i] ? d->score[0][i] : d->score[1][i];
    int i = pick(combined, d->n_proto, &best);
    d->confidence = best;
    if (i >= 0 && best >= d->o.decide_at) {
        d->state = PB_DETECT_FOUND;
    } else if (final) {
        d->state = (i >= 0 && best >= d->o.threshold) ? PB_DETECT_FOUND : PB_DETECT_NONE;
    }
    if (d->state == PB_DETECT_FOUND)
        d->found = pb_protocol_list()[i];
}

enum pb_detect_state pb_detector_feed(struct pb_detector *d, enum pb_dir dir,
                                      const uint8_t *buf, size_t len)
{
    if (!d)
        return PB_DETECT_NONE;
    if (d->state != PB_DETECT_PENDING || !buf || len == 0)
        return d->state;
    int s = side(dir);
    d->total[s] += len;
    size_t room = d->o.window - d->len[s];
    size_t n = len < room ? len : room;
    size_t from = d->len[s] > 3 ? d->len[s] - 3 : 0;
    memcpy(d->buf[s] + d->len[s], buf, n);
    d->len[s] += n;
    d->stale[s] = true;
    /* Every frame of every protocol here ends with ETX and at most two check bytes: a
     * frame can only have completed if an ETX is among the new bytes or just before
     * them. Probing only then keeps byte-at-a-time feeding linear in practice. */
    bool full = d->len[s] >= d->o.window;
    if (full || memchr(d->buf[s] + from, PB_ETX, d->len[s] - from)) {
        d->n_proto = score_all(d->buf[s], d->len[s], d->score[s]);
        d->stale[s] = false;
    }
    decide(d, full);
    return d->state;
}

enum pb_detect_state pb_detector_finish(struct pb_detector *d)
{
    if (!d)
        return PB_DETECT_NONE;
    if (d->state == PB_DETECT_PENDING) {
        for (int s = 0; s < 2; s++) {
            if (d->stale[s] || d->n_proto == 0) {
                d->n_proto = score_all(d->buf[s], d->len[s], d->score[s]);
                d->stale[s] = false;
            }
        }
        decide(d, true);
    }
    return d->state;
}

enum pb_detect_state pb_detector_state(const struct pb_detector *d)
{
    return d ? d->state : PB_DETECT_NONE;
}

const struct pb_protocol *pb_detector_result(const struct pb_detector *d, int *confidence)
{
    if (confidence)
        *confidence = d ? d->confidence : 0;
    return d ? d->found : NULL;
}

size_t pb_detector_seen(const struct pb_detector *d, enum pb_dir dir, const uint8_t **buf)
{
    if (!d) {
        if (buf)
            *buf = NULL;
        return 0;
    }
    if (buf)
        *buf = d->buf[side(dir)];
    return d->len[side(dir)];
}

uint64_t pb_detector_total(const struct pb_detector *d, enum pb_dir dir)
{
    return d ? d->total[side(dir)] : 0;
}
