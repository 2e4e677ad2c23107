#include "hold.h"

#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "pb_error.h"
#include "protocol.h"
#include "tracker.h"

/* A chunk read but not yet written to the capture: it waits until every frame it
 * touches is complete and redacted. */
struct held {
    struct held *next;
    struct pb_time t;
    uint64_t offset; /* stream offset of data[0] */
    size_t len;
    uint8_t data[];
};

struct pb_hold {
    struct pb_capture *capture;
    const struct pb_protocol *proto;
    bool clear;
    bool holding; /* proto has a redactor and clear is not set */
    struct hold_side {
        struct held *head, *tail;
        uint64_t offset; /* stream offset after the last byte given */
    } side[2];
};

int pb_hold_new(struct pb_capture *capture, const struct pb_protocol *proto, bool clear,
                struct pb_hold **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!capture)
        return PB_ERR_INVAL;
    struct pb_hold *hold = calloc(1, sizeof *hold);
    if (!hold)
        return PB_ERR_NOMEM;
    hold->capture = capture;
    hold->proto = proto;
    hold->clear = clear;
    hold->holding = proto && !clear && proto->redact;
    *out = hold;
    return PB_OK;
}

void pb_hold_free(struct pb_hold *hold)
{
    if (!hold)
        return;
    for (int d = 0; d < 2; d++) {
        struct held *h = hold->side[d].head;
        while (h) {
            struct held *n = h->next;
            free(h);
            h = n;
        }
    }
    free(hold);
}

static unsigned write_held(struct pb_hold *hold, struct held *h, enum pb_dir dir)
{
    return pb_capture_chunk(hold->capture, dir, h->t.utc_us, h->data, h->len) < 0 ? 1 : 0;
}

/* Writes out held chunks that lie wholly before `upto`. */
static unsigned release_held(struct pb_hold *hold, enum pb_dir dir, uint64_t upto, bool all)
{
    if (!hold)
        return 0;
    struct hold_side *s = &hold->side[dir];
    unsigned errors = 0;
    while (s->head && (all || s->head->offset + s->head->len <= upto)) {
        struct held *h = s->head;
        s->head = h->next;
        if (!s->head)
            s->tail = NULL;
        errors += write_held(hold, h, dir);
        free(h);
    }
    return errors;
}

/* A frame's bytes go through the protocol's redactor; bytes that never became a frame
 * through pb_mask_unframed(), as there is no layout to say where card data would be. */
static size_t redact(const struct pb_protocol *p, bool frame, uint8_t *b, size_t n)
{
    return frame ? p->redact(b, n) : pb_mask_unframed(b, n, p->bcd_card_data);
}

/* Masks card data in [off, off+len), a frame or not, across the held chunks that hold
 * it. */
void pb_hold_redact(struct pb_hold *hold, enum pb_dir dir, bool frame, uint64_t off, uint32_t len)
{
    if (!hold || !hold->holding || len == 0)
        return;
    const struct pb_protocol *p = hold->proto;
    /* The span inside one held chunk (the usual case): redact it where it lies. */
    for (struct held *h = hold->side[dir].head; h; h = h->next)
        if (off >= h->offset && off + len <= h->offset + h->len) {
            redact(p, frame, h->data + (off - h->offset), len);
            return;
        }
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    size_t got = 0;
    for (struct held *h = hold->side[dir].head; h; h = h->next) {
        uint64_t a = off > h->offset ? off : h->offset;
        uint64_t b = off + len < h->offset + h->len ? off + len : h->offset + h->len;
        if (a < b) {
            memcpy(copy + (a - off), h->data + (a - h->offset), (size_t)(b - a));
            got += (size_t)(b - a);
        }
    }
    if (got == len && redact(p, frame, copy, len) > 0) {
        for (struct held *h = hold->side[dir].head; h; h = h->next) {
            uint64_t a = off > h->offset ? off : h->offset;
            uint64_t b = off + len < h->offset + h->len ? off + len : h->offset + h->len;
            if (a < b)
                memcpy(h->data + (a - h->offset), copy + (a - off), (size_t)(b - a));
        }
    }
    free(copy);
}

/* A chunk no redactor will see. Without a protocol (none, or none detected) nothing can
 * be framed, so every byte is unframed and masked as such (pb_mask_unframed, BCD too, as
 * any protocol may be on the line); --capture-clear and a protocol without card data
 * (no redactor) write the bytes as they came. */
static unsigned capture_unheld(struct pb_hold *hold, enum pb_dir dir, const struct pb_time *t,
                               const uint8_t *buf, size_t len)
{
    uint8_t *masked = NULL;
    if (!hold->clear && !hold->proto) {
        masked = malloc(len);
        if (!masked)
            return 1; /* never write them unmasked */
        memcpy(masked, buf, len);
        pb_mask_unframed(masked, len, true);
        buf = masked;
    }
    unsigned errors = pb_capture_chunk(hold->capture, dir, t->utc_us, buf, len) < 0 ? 1 : 0;
    free(masked);
    return errors;
}

unsigned pb_hold_chunk(struct pb_hold *hold, enum pb_dir dir, const struct pb_time *t,
                       const uint8_t *buf, size_t len)
{
    if (!hold || (dir != PB_DIR_ECR && dir != PB_DIR_PT))
        return 0;
    struct hold_side *s = &hold->side[dir];
    uint64_t start = s->offset;
    s->offset += len;
    if (!hold->holding)
        return capture_unheld(hold, dir, t, buf, len);
    struct held *h = malloc(sizeof *h + len);
    if (!h)
        return 1;
    h->next = NULL;
    h->t = *t;
    h->offset = start;
    h->len = len;
    memcpy(h->data, buf, len);
    if (s->tail)
        s->tail->next = h;
    else
        s->head = h;
    s->tail = h;
    return 0;
}

unsigned pb_hold_release(struct pb_hold *hold, enum pb_dir dir, uint64_t upto)
{
    return release_held(hold, dir, upto, false);
}

unsigned pb_hold_flush(struct pb_hold *hold, enum pb_dir dir)
{
    return release_held(hold, dir, 0, true);
}
