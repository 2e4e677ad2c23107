/* ZVT-700 over a serial line: framing, APDU decoding, encoding, redaction, probing.
 *
 * Sources for every fact below (facts only, no code taken): docs/PROTOCOLS.md section 2
 * ([P]), Wireshark epan/dissectors/packet-zvt.c ([W]), Portalum.Zvt ZvtClient.cs and its
 * intermediate status repository ([Z]). Where they are silent the choice is ours and the
 * comment says so. */
#include "zvt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "pb_error.h"

/* ---- wire constants ------------------------------------------------------------------- */

/* Transport layer [P][W]: DLE STX | APDU, each 0x10 doubled | DLE ETX | CRC lo | CRC hi. */
#define ZVT_BODY_WIRE_MAX (2u * PB_ZVT_APDU_MAX)

/* Control fields [P][W]. CLASS<<8 | INSTR. */
#define ZVT_CLASS_ACK 0x80 /* 80 00 00: positive completion (CCRC) */
#define ZVT_CLASS_NEG 0x84 /* 84 xx 00: negative completion, xx = result code */

#define ZVT_CMD_REGISTRATION 0x0600
#define ZVT_CMD_AUTHORISATION 0x0601
#define ZVT_CMD_LOGOFF 0x0602
#define ZVT_CMD_PREAUTH 0x0622
#define ZVT_CMD_PARTIAL_REVERSAL 0x0623
#define ZVT_CMD_BOOK_TOTAL 0x0624
#define ZVT_CMD_PREAUTH_REVERSAL 0x0625
#define ZVT_CMD_REVERSAL 0x0630
#define ZVT_CMD_REFUND 0x0631
#define ZVT_CMD_END_OF_DAY 0x0650
#define ZVT_CMD_ABORT_ECR 0x06B0
#define ZVT_CMD_STATUS_ENQUIRY 0x0501
#define ZVT_CMD_STATUS_INFO 0x040F
#define ZVT_CMD_INTERMEDIATE 0x04FF
#define ZVT_CMD_COMPLETION 0x060F
#define ZVT_CMD_ABORT_PT 0x061E
#define ZVT_CMD_PRINT_LINE 0x06D1
#define ZVT_CMD_PRINT_TEXT 0x06D3

/* BMP tags [P][W]. */
#define ZVT_BMP_AMOUNT 0x04
#define ZVT_BMP_TLV 0x06
#define ZVT_BMP_TRACE 0x0B
#define ZVT_BMP_PAN 0x22
#define ZVT_BMP_RESULT 0x27
#define ZVT_BMP_TID 0x29
#define ZVT_BMP_AUTH_ATTR 0x3B
#define ZVT_BMP_TEXT 0x3C
#define ZVT_BMP_CURRENCY 0x49
#define ZVT_BMP_RECEIPT 0x87

/* Result codes [P]. */
#define ZVT_RC_APPROVED 0x00
#define ZVT_RC_ABORT 0x6C

/* The password ECR commands such as reversal and refund start with; pos_msg has no place
 * for it, so encode sends 00 00 00 (Portalum.Zvt's default password is 000000 [Z]). */
static const uint8_t zvt_default_password[3] = {0x00, 0x00, 0x00};

/* ---- scanner -------------------------------------------------------------------------- */

/* Where a frame that turned out broken ends as garbage: at the first DLE STX after the
 * opening one, so a frame that starts inside a broken one is never lost, else at `stop`.
 * Returning the whole run (instead of PB_ERR_FRAMING and a one-byte skip) keeps the body
 * bytes of a broken frame from being rescanned outside a frame, where every 06 or 15 in an
 * amount would turn into a phantom ACK or NAK. */
static int broken_frame(const uint8_t *buf, size_t len, size_t stop, struct pb_frame *out)
{
    size_t j = 2;
    while (j < stop && !(j + 1 < len && buf[j] == PB_DLE && buf[j + 1] == PB_STX))
        j++;
    out->type = PB_FRAME_GARBAGE;
    return (int)j;
}

/* Reads the two CRC bytes after DLE ETX, low byte first; `stuffed`: a 0x10 is doubled.
 * Returns 1 and sets *crc, *used; 0 when more bytes are needed; -1 when the bytes are no
 * stuffed CRC (a single 0x10 followed by something else). */
static int read_crc(const uint8_t *p, size_t n, bool stuffed, uint16_t *crc, size_t *used)
{
    uint8_t v[2];
    size_t o = 0;
    for (int k = 0; k < 2; k++) {
        if (o >= n)
            return 0;
        v[k] = p[o++];
        if (stuffed && v[k] == PB_DLE) {
            if (o >= n)
                return 0;
            if (p[o++] != PB_DLE)
                return -1;
        }
    }
    *crc = (uint16_t)(v[0] | v[1] << 8);
    *used = o;
    return 1;
}

static int zvt_scan(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out)
{
    if (len == 0)
        return 0;
    uint8_t b = buf[0];
    /* Outside a frame the transport acknowledges with one ACK or NAK byte [P]. */
    if (b == PB_ACK || b == PB_NAK) {
        out->type = PB_FRAME_CONTROL;
        out->control = b;
        return 1;
    }
    if (b != PB_DLE) {
        size_t n = 1;
        while (n < len && buf[n] != PB_DLE && buf[n] != PB_ACK && buf[n] != PB_NAK)
            n++;
        out->type = PB_FRAME_GARBAGE;
        return (int)n;
    }
    if (len < 2)
        return 0;
    if (buf[1] != PB_STX) {
        out->type = PB_FRAME_GARBAGE; /* a DLE that opens nothing */
        return 1;
    }
    /* *resume: wire index of the next body byte to examine; never inside a DLE pair. */
    size_t i = (*resume >= 2 && *resume <= len) ? *resume : 2;
    for (;;) {
        if (i - 2 > ZVT_BODY_WIRE_MAX)
            return broken_frame(buf, len, i, out);
        if (i >= len) {
            *resume = i;
            return 0;
        }
        if (buf[i] != PB_DLE) {
            /* Jump to the next DLE, but not past the longest body a frame may have. */
            size_t lim = 2 + ZVT_BODY_WIRE_MAX + 1;
            size_t end = len < lim ? len : lim;
            const uint8_t *d = i < end ? memchr(buf + i, PB_DLE, end - i) : NULL;
            i = d ? (size_t)(d - buf) : end;
            continue;
        }
        if (i + 1 >= len) {
            *resume = i;
            return 0;
        }
        uint8_t c = buf[i + 1];
        if (c == PB_DLE) { /* a doubled 0x10 is one data byte [P] */
            i += 2;
            continue;
        }
        if (c == PB_ETX)
            break;
        /* DLE and anything else inside a frame: not ZVT. */
        return broken_frame(buf, len, i, out);
    }
    size_t etx = i; /* buf[etx] = DLE, buf[etx+1] = ETX */
    if (etx + 4 > len) {
        *resume = etx;
        return 0;
    }
    /* Unstuff: copy the runs between DLE pairs whole, one byte of each pair. */
    size_t n = 0;
    for (size_t k = 2; k < etx;) {
        const uint8_t *d = memchr(buf + k, PB_DLE, etx - k);
        size_t run = d ? (size_t)(d - buf) - k + 1 : etx - k; /* the run and one DLE */
        if (n + run > PB_ZVT_APDU_MAX)
            return broken_frame(buf, len, etx, out);
        memcpy(out->payload + n, buf + k, run);
        n += run;
        k += d ? run + 1 : run; /* past the doubled DLE */
    }
    /* CRC-16/KERMIT over the unstuffed APDU and one ETX byte, low byte first; the CRC
     * bytes themselves are not stuffed [P]. */
    static const uint8_t etx_byte = PB_ETX;
    uint16_t crc = pb_crc16_kermit(0, out->payload, n);
    crc = pb_crc16_kermit(crc, &etx_byte, 1);
    uint16_t wire = (uint16_t)(buf[etx + 2] | (buf[etx + 3] << 8));
    size_t end = etx + 4;
    bool ok = crc == wire;
    if (!ok && (buf[etx + 2] == PB_DLE || buf[etx + 3] == PB_DLE)) {
        /* docs/PROTOCOLS.md marks "CRC not stuffed" [?]: a peer that doubles a 0x10 in the CRC
         * too is accepted when that reading, and only that one, matches. */
        uint16_t v;
        size_t used;
        int r = read_crc(buf + etx + 2, len - etx - 2, true, &v, &used);
        if (r == 0) {
            *resume = etx;
            return 0;
        }
        if (r > 0 && v == crc) {
            ok = true;
            end = etx + 2 + used;
        }
    }
    out->type = PB_FRAME_DATA;
    out->payload_len = n;
    out->checksum_ok = ok;
    return (int)end;
}

/* ---- field helpers -------------------------------------------------------------------- */

/* Packed BCD to digits; false on a nibble above 9. */
static bool bcd_digits(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (cap < 2 * n + 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t hi = p[i] >> 4, lo = p[i] & 0x0F;
        if (hi > 9 || lo > 9)
            return false;
        out[2 * i] = (char)('0' + hi);
        out[2 * i + 1] = (char)('0' + lo);
    }
    out[2 * n] = '\0';
    return true;
}

static bool bcd_value(const uint8_t *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t hi = p[i] >> 4, lo = p[i] & 0x0F;
        if (hi > 9 || lo > 9)
            return false;
        v = v * 100 + hi * 10 + lo;
    }
    *out = v;
    return true;
}

static const char hexdig[] = "0123456789ABCDEF";

static void set_result_code(struct pos_msg *m, uint8_t rc)
{
    m->result_code = rc;
    m->result_text[0] = hexdig[rc >> 4];
    m->result_text[1] = hexdig[rc & 0x0F];
    m->result_text[2] = '\0';
    m->flags |= PB_F_RESULT_CODE;
}

/* BMP 27 result code [P]: 00 approved, 6C aborted (timeout or abort key), any other code
 * is a refusal by the terminal or the host. */
static enum pb_result map_result(uint8_t rc)
{
    if (rc == ZVT_RC_APPROVED)
        return PB_RESULT_APPROVED;
    if (rc == ZVT_RC_ABORT)
        return PB_RESULT_ABORTED;
    return PB_RESULT_DECLINED;
}

/* Something the decoder skipped, said in text when nothing else is there. */
static void note_extra(struct pos_msg *m, size_t extra)
{
    if (m->text[0] == '\0')
        snprintf(m->text, sizeof m->text, "%zu bytes after the APDU length", extra);
}

static void note_unknown_bmp(struct pos_msg *m, unsigned tag, size_t at)
{
    if (m->text[0] == '\0')
        snprintf(m->text, sizeof m->text, "unknown BMP %02X at %zu, rest not parsed", tag, at);
}

/* ---- BMP handlers: value bytes of one field into the message -------------------------- */

typedef int (*bmp_fn)(struct pos_msg *m, const uint8_t *v, size_t n);

static int bmp_amount(struct pos_msg *m, const uint8_t *v, size_t n)
{
    int64_t a;
    if (!bcd_value(v, n, &a))
        return PB_ERR_RANGE;
    m->amount = a;
    m->flags |= PB_F_AMOUNT;
    return PB_OK;
}

static int bmp_trace(struct pos_msg *m, const uint8_t *v, size_t n)
{
    return bcd_digits(v, n, m->trace, sizeof m->trace) ? PB_OK : PB_ERR_RANGE;
}

static int bmp_receipt(struct pos_msg *m, const uint8_t *v, size_t n)
{
    return bcd_digits(v, n, m->receipt, sizeof m->receipt) ? PB_OK : PB_ERR_RANGE;
}

static int bmp_tid(struct pos_msg *m, const uint8_t *v, size_t n)
{
    return bcd_digits(v, n, m->terminal_id, sizeof m->terminal_id) ? PB_OK : PB_ERR_RANGE;
}

static int bmp_currency(struct pos_msg *m, const uint8_t *v, size_t n)
{
    int64_t c;
    if (!bcd_value(v, n, &c))
        return PB_ERR_RANGE;
    m->currency = (uint16_t)c; /* 2 BCD bytes: at most 9999 */
    m->flags |= PB_F_CURRENCY;
    return PB_OK;
}

static int bmp_result(struct pos_msg *m, const uint8_t *v, size_t n)
{
    set_result_code(m, v[0]);
    m->result = map_result(v[0]);
    return PB_OK;
}

/* BMP 22: BCD digits, F nibbles pad, E nibbles are digits the terminal already masked [P].
 * Only the masked form is stored (pb_mask_pan); A..D nibbles are not digits either and are
 * shown as masked rather than guessed. */
static int bmp_pan(struct pos_msg *m, const uint8_t *v, size_t n)
{
    char digits[2 * 99 + 1];
    size_t d = 0;
    for (size_t i = 0; i < n && d < sizeof digits - 1; i++) {
        uint8_t nib[2] = {(uint8_t)(v[i] >> 4), (uint8_t)(v[i] & 0x0F)};
        for (int k = 0; k < 2; k++) {
            if (nib[k] == 0x0F)
                goto done;
            digits[d++] = nib[k] <= 9 ? (char)('0' + nib[k]) : '*';
        }
    }
done:
    pb_mask_pan(digits, d, m->pan, sizeof m->pan);
    memset(digits, 0, sizeof digits);
    return PB_OK;
}

/* Track 1/2/3: never stored, only noted [P]. */
static int bmp_track(struct pos_msg *m, const uint8_t *v, size_t n)
{
    m->flags |= PB_F_TRACK_DATA;
    return PB_OK;
}

/* BMP 3B: 8 bytes, the authorisation code the host gave [W] "Authorization attribute". */
static int bmp_auth_attr(struct pos_msg *m, const uint8_t *v, size_t n)
{
    size_t len = 0;
    while (len < n && v[len] != 0)
        len++;
    pb_copy_printable(m->auth_code, sizeof m->auth_code, v, len);
    return PB_OK;
}

/* BMP 3C: additional text, LLLVAR [W]. */
static int bmp_text(struct pos_msg *m, const uint8_t *v, size_t n)
{
    pb_copy_printable(m->text, sizeof m->text, v, n);
    return PB_OK;
}

/* ---- the BMP table -------------------------------------------------------------------- */

enum zvt_len_kind {
    ZVT_FIXED,  /* `len` bytes */
    ZVT_LLVAR,  /* 2 length bytes F0..F9 F0..F9, value length in bytes [W] */
    ZVT_LLLVAR, /* 3 length bytes */
    ZVT_TLV,    /* BMP 06: BER length: < 80 one byte, 81 xx, 82 xx xx big-endian [W] */
};

enum zvt_sensitivity {
    ZVT_CLEAR = 0,
    ZVT_SENS_PAN,   /* card number: keep first 6 and last 4 digits, E nibbles between */
    ZVT_SENS_BLANK, /* track data, expiry, CVV: every value byte blanked */
    ZVT_SENS_TEXT,  /* free text (receipt lines, display texts): PAN-long digit runs masked */
};

struct zvt_bmp {
    uint8_t tag;
    uint8_t len_kind; /* enum zvt_len_kind */
    uint8_t len;      /* for ZVT_FIXED */
    uint8_t sensitive; /* enum zvt_sensitivity */
    bmp_fn handle;    /* NULL: parsed and skipped */
    const char *name; /* ZVT term */
};

/* Tags and lengths from Wireshark's bitmap table [W] and docs/PROTOCOLS.md [P]. A BMP that is
 * not here has no known length, so parsing stops at it. */
static const struct zvt_bmp zvt_bmps[] = {
    {0x01, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "timeout"},
    {0x02, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "max. status infos"},
    {0x03, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "service byte"},
    {0x04, ZVT_FIXED, 6, ZVT_CLEAR, bmp_amount, "amount"},
    {0x05, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "pump number"},
    {0x06, ZVT_TLV, 0, ZVT_SENS_TEXT, NULL, "TLV container"},
    {0x0B, ZVT_FIXED, 3, ZVT_CLEAR, bmp_trace, "trace number"},
    {0x0C, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "time"},
    {0x0D, ZVT_FIXED, 2, ZVT_CLEAR, NULL, "date"},
    {0x0E, ZVT_FIXED, 2, ZVT_SENS_BLANK, NULL, "expiry date"},
    {0x17, ZVT_FIXED, 2, ZVT_CLEAR, NULL, "card sequence number"},
    {0x19, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "payment type"},
    {0x22, ZVT_LLVAR, 0, ZVT_SENS_PAN, bmp_pan, "card number"},
    {0x23, ZVT_LLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 2 data"},
    {0x24, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 3 data"},
    {0x27, ZVT_FIXED, 1, ZVT_CLEAR, bmp_result, "result code"},
    {0x29, ZVT_FIXED, 4, ZVT_CLEAR, bmp_tid, "terminal id"},
    {0x2A, ZVT_FIXED, 15, ZVT_CLEAR, NULL, "VU number (merchant id)"},
    {0x2D, ZVT_LLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 1 data"},
    {0x37, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "original trace number"},
    {0x3A, ZVT_FIXED, 2, ZVT_SENS_BLANK, NULL, "CVV/CVC"},
    {0x3B, ZVT_FIXED, 8, ZVT_CLEAR, bmp_auth_attr, "AID (authorisation attribute)"},
    {0x3C, ZVT_LLLVAR, 0, ZVT_SENS_TEXT, bmp_text, "additional text"},
    {0x49, ZVT_FIXED, 2, ZVT_CLEAR, bmp_currency, "currency code"},
    {0x87, ZVT_FIXED, 2, ZVT_CLEAR, bmp_receipt, "receipt number"},
    {0x88, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "turnover number"},
    {0x8A, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "card type"},
    {0x8B, ZVT_LLVAR, 0, ZVT_CLEAR, NULL, "card name"},
    {0xA0, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "result code AS (host)"},
};

static const struct zvt_bmp *bmp_find(uint8_t tag)
{
    for (size_t i = 0; i < sizeof zvt_bmps / sizeof zvt_bmps[0]; i++)
        if (zvt_bmps[i].tag == tag)
            return &zvt_bmps[i];
    return NULL;
}

/* Reads the length prefix of one BMP at p[0..avail). Sets *hdr (prefix bytes) and *vlen.
 * PB_ERR_TRUNCATED when the prefix itself runs past, PB_ERR_RANGE when it is not a valid
 * length encoding. */
static int bmp_length(const struct zvt_bmp *row, const uint8_t *p, size_t avail, size_t *hdr,
                      size_t *vlen)
{
    switch (row->len_kind) {
    case ZVT_FIXED:
        *hdr = 0;
        *vlen = row->len;
        return PB_OK;
    case ZVT_LLVAR:
    case ZVT_LLLVAR: {
        size_t k = row->len_kind == ZVT_LLVAR ? 2 : 3;
        if (avail < k)
            return PB_ERR_TRUNCATED;
        size_t v = 0;
        for (size_t i = 0; i < k; i++) {
            /* F-nibble coding: F1 F2 means 12 [P]. */
            if ((p[i] & 0xF0) != 0xF0 || (p[i] & 0x0F) > 9)
                return PB_ERR_RANGE;
            v = v * 10 + (p[i] & 0x0F);
        }
        *hdr = k;
        *vlen = v;
        return PB_OK;
    }
    case ZVT_TLV:
        if (avail < 1)
            return PB_ERR_TRUNCATED;
        if (p[0] < 0x80) {
            *hdr = 1;
            *vlen = p[0];
        } else if (p[0] == 0x81) {
            if (avail < 2)
                return PB_ERR_TRUNCATED;
            *hdr = 2;
            *vlen = p[1];
        } else if (p[0] == 0x82) {
            if (avail < 3)
                return PB_ERR_TRUNCATED;
            *hdr = 3;
            *vlen = (size_t)p[1] << 8 | p[2];
        } else {
            return PB_ERR_RANGE;
        }
        return PB_OK;
    }
    return PB_ERR_RANGE;
}

/* One pass over a BMP sequence. Calls the handlers when m is set, and `sens` for every
 * sensitive value when set. *stop gets the offset where parsing ended (n when every BMP
 * was understood). Returns PB_OK (also when it stopped at an unknown BMP: its length is
 * unknown, so the rest cannot be skipped safely) or a negative code for a field that runs
 * past the data or does not parse. */
struct bmp_walk {
    struct pos_msg *m;
    void (*sens)(struct bmp_walk *w, const struct zvt_bmp *row, uint8_t *v, size_t n);
    uint8_t *mut;         /* writable view of the same bytes, for `sens` */
    size_t base;          /* offset of the sequence inside `mut` */
    size_t stop;          /* where parsing ended, relative to the sequence */
    int unknown_tag;      /* the BMP parsing stopped at, or -1 */
};

static int walk_bmps(struct bmp_walk *w, const uint8_t *p, size_t n)
{
    size_t off = 0;
    w->unknown_tag = -1;
    while (off < n) {
        const struct zvt_bmp *row = bmp_find(p[off]);
        if (!row) {
            w->unknown_tag = p[off];
            w->stop = off;
            return PB_OK;
        }
        size_t hdr, vlen;
        int r = bmp_length(row, p + off + 1, n - off - 1, &hdr, &vlen);
        if (r == PB_OK && vlen > n - off - 1 - hdr)
            r = PB_ERR_TRUNCATED;
        if (r != PB_OK) {
            w->stop = off;
            return r;
        }
        const uint8_t *v = p + off + 1 + hdr;
        if (w->m && row->handle) {
            r = row->handle(w->m, v, vlen);
            if (r != PB_OK) {
                w->stop = off;
                return r;
            }
        }
        if (w->sens && row->sensitive != ZVT_CLEAR)
            w->sens(w, row, w->mut + w->base + off + 1 + hdr, vlen);
        off += 1 + hdr + vlen;
    }
    w->stop = n;
    return PB_OK;
}

/* ---- the command table ---------------------------------------------------------------- */

enum zvt_body {
    ZVT_BODY_BMPS,         /* data is a BMP sequence */
    ZVT_BODY_PASSWORD,     /* 3-byte password, then BMPs [W][Z] */
    ZVT_BODY_REGISTRATION, /* password, config byte, [currency 2 BCD], BMPs [W][Z] */
    ZVT_BODY_INTERMEDIATE, /* status byte, [timeout byte], BMPs [W] */
    ZVT_BODY_ABORT,        /* result code byte, BMPs [W] */
    ZVT_BODY_PRINT_LINE,   /* attribute byte, text [W] */
};

struct zvt_cmd {
    uint16_t code; /* CLASS<<8 | INSTR */
    uint8_t dir;   /* enum pb_dir: who sends it */
    uint8_t kind;  /* enum pb_kind */
    uint8_t txn;   /* enum pb_txn_type */
    uint8_t body;  /* enum zvt_body */
    const char *name;
};

/* Commands [P] "Commands" and "Application flow"; directions as in [W] apdu_info. Choices:
 * partial reversal (06 23) and pre-auth reversal (06 25) release a reservation, so they
 * count as voids; book total (06 24) takes money from a reservation, so it counts as a
 * purchase. */
static const struct zvt_cmd zvt_cmds[] = {
    {ZVT_CMD_REGISTRATION, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_REGISTRATION,
     ZVT_BODY_REGISTRATION, "registration"},
    {ZVT_CMD_AUTHORISATION, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_PURCHASE, ZVT_BODY_BMPS,
     "authorisation"},
    {ZVT_CMD_LOGOFF, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_LOGOFF, ZVT_BODY_BMPS, "log-off"},
    {ZVT_CMD_PREAUTH, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_PREAUTH, ZVT_BODY_BMPS,
     "pre-authorisation"},
    {ZVT_CMD_PARTIAL_REVERSAL, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_VOID, ZVT_BODY_BMPS,
     "partial reversal"},
    {ZVT_CMD_BOOK_TOTAL, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_PURCHASE, ZVT_BODY_BMPS,
     "book total"},
    {ZVT_CMD_PREAUTH_REVERSAL, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_VOID, ZVT_BODY_BMPS,
     "pre-authorisation reversal"},
    {ZVT_CMD_REVERSAL, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_VOID, ZVT_BODY_PASSWORD, "reversal"},
    {ZVT_CMD_REFUND, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_REFUND, ZVT_BODY_PASSWORD, "refund"},
    {ZVT_CMD_END_OF_DAY, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_END_OF_DAY, ZVT_BODY_PASSWORD,
     "end of day"},
    {ZVT_CMD_STATUS_ENQUIRY, PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_STATUS, ZVT_BODY_PASSWORD,
     "status enquiry"},
    {ZVT_CMD_ABORT_ECR, PB_DIR_ECR, PB_KIND_ABORT, PB_TXN_NONE, ZVT_BODY_BMPS, "abort"},
    {ZVT_CMD_STATUS_INFO, PB_DIR_PT, PB_KIND_RESULT, PB_TXN_NONE, ZVT_BODY_BMPS,
     "status information"},
    {ZVT_CMD_INTERMEDIATE, PB_DIR_PT, PB_KIND_INTERMEDIATE, PB_TXN_NONE, ZVT_BODY_INTERMEDIATE,
     "intermediate status information"},
    {ZVT_CMD_COMPLETION, PB_DIR_PT, PB_KIND_COMPLETION, PB_TXN_NONE, ZVT_BODY_BMPS,
     "completion"},
    {ZVT_CMD_ABORT_PT, PB_DIR_PT, PB_KIND_ABORT, PB_TXN_NONE, ZVT_BODY_ABORT, "abort"},
    {ZVT_CMD_PRINT_LINE, PB_DIR_PT, PB_KIND_PRINT, PB_TXN_NONE, ZVT_BODY_PRINT_LINE,
     "print line"},
    {ZVT_CMD_PRINT_TEXT, PB_DIR_PT, PB_KIND_PRINT, PB_TXN_NONE, ZVT_BODY_BMPS,
     "print text block"},
};

static const struct zvt_cmd *cmd_find(uint16_t code)
{
    for (size_t i = 0; i < sizeof zvt_cmds / sizeof zvt_cmds[0]; i++)
        if (zvt_cmds[i].code == code)
            return &zvt_cmds[i];
    return NULL;
}

/* Intermediate status codes with a display text [Z] (English status repository). */
static const struct {
    uint8_t code;
    const char *text;
} zvt_status_texts[] = {
    {0x00, "waiting for amount confirmation"},
    {0x01, "please watch PIN pad"},
    {0x02, "please watch PIN pad"},
    {0x03, "not accepted"},
    {0x04, "waiting for response from host"},
    {0x05, "sending auto-reversal"},
    {0x06, "sending post-bookings"},
    {0x07, "card not admitted"},
    {0x08, "card unknown"},
    {0x09, "expired card"},
    {0x0A, "insert card"},
    {0x0B, "please remove card"},
    {0x0C, "card not readable"},
    {0x0D, "processing error"},
    {0x0E, "please wait"},
    {0x0F, "automatic end of day"},
    {0x10, "invalid card"},
    {0x11, "balance display"},
    {0x12, "system malfunction"},
    {0x13, "payment not possible"},
    {0x14, "credit not sufficient"},
    {0x15, "incorrect PIN"},
    {0x16, "limit not sufficient"},
    {0x17, "please wait"},
    {0x18, "PIN try limit exceeded"},
    {0x19, "card data incorrect"},
    {0x1A, "service mode"},
    {0x1B, "approved, please fill up"},
    {0x1C, "approved, please take goods"},
    {0x1D, "declined"},
    {0x68, "card inserted"},
    {0xC8, "waiting for cashier"},
    {0xE0, "waiting for application selection"},
    {0xF1, "offline"},
    {0xF2, "online"},
};

static const char *status_text(uint8_t code)
{
    for (size_t i = 0; i < sizeof zvt_status_texts / sizeof zvt_status_texts[0]; i++)
        if (zvt_status_texts[i].code == code)
            return zvt_status_texts[i].text;
    return NULL;
}

/* ---- APDU layout shared by decode and redact ------------------------------------------ */

struct apdu {
    uint16_t cmd;
    size_t hdr;   /* 3, or 5 with the FF LL LL length */
    size_t len;   /* LEN as on the wire */
    size_t avail; /* data bytes present: min(len, payload - hdr) */
    size_t extra; /* bytes after the APDU LEN announced */
};

static int apdu_parse(const uint8_t *p, size_t n, struct apdu *a)
{
    memset(a, 0, sizeof *a);
    if (n < 2)
        return PB_ERR_TRUNCATED;
    a->cmd = (uint16_t)(p[0] << 8 | p[1]);
    if (n < 3)
        return PB_ERR_TRUNCATED;
    a->hdr = 3;
    a->len = p[2];
    if (p[2] == 0xFF) { /* FF: a 2-byte little-endian length follows [P] */
        if (n < 5)
            return PB_ERR_TRUNCATED;
        a->hdr = 5;
        a->len = (size_t)p[3] | (size_t)p[4] << 8;
    }
    size_t have = n - a->hdr;
    a->avail = a->len < have ? a->len : have;
    a->extra = have > a->len ? have - a->len : 0;
    return a->len > have ? PB_ERR_TRUNCATED : PB_OK;
}

/* Where the BMP sequence starts inside a command's data, for the commands that carry one;
 * SIZE_MAX for none. When `m` is set, the fixed part before it is decoded into m. Returns
 * PB_ERR_TRUNCATED when the fixed part itself is missing. */
static int body_prefix(const struct zvt_cmd *c, const uint8_t *d, size_t n, struct pos_msg *m,
                       size_t *start)
{
    *start = 0;
    switch ((enum zvt_body)c->body) {
    case ZVT_BODY_BMPS:
        return PB_OK;
    case ZVT_BODY_PASSWORD:
        if (n < 3)
            return PB_ERR_TRUNCATED;
        *start = 3;
        return PB_OK;
    case ZVT_BODY_REGISTRATION:
        if (n < 4)
            return PB_ERR_TRUNCATED;
        *start = 4;
        /* An untagged 2-byte currency follows when at least 2 bytes remain [W]. */
        if (n >= 6) {
            *start = 6;
            if (m) {
                int r = bmp_currency(m, d + 4, 2);
                if (r != PB_OK)
                    return r;
            }
        }
        return PB_OK;
    case ZVT_BODY_INTERMEDIATE:
        if (n < 1)
            return PB_ERR_TRUNCATED;
        if (m) {
            set_result_code(m, d[0]);
            m->result = PB_RESULT_NONE; /* a status, not an outcome */
            const char *t = status_text(d[0]);
            if (t)
                snprintf(m->text, sizeof m->text, "%s", t);
        }
        *start = n > 1 ? 2 : 1; /* status byte, then an optional timeout byte [W] */
        return PB_OK;
    case ZVT_BODY_ABORT:
        if (n >= 1 && m) {
            set_result_code(m, d[0]);
            /* An abort never approves: 6C is an abort proper, anything else a refusal. */
            m->result = d[0] == ZVT_RC_APPROVED ? PB_RESULT_ABORTED : map_result(d[0]);
        }
        *start = n >= 1 ? 1 : 0;
        return PB_OK;
    case ZVT_BODY_PRINT_LINE:
        if (n >= 1 && m)
            pb_copy_printable(m->text, sizeof m->text, d + 1, n - 1);
        *start = SIZE_MAX;
        return PB_OK;
    }
    *start = SIZE_MAX;
    return PB_OK;
}

/* ---- decode --------------------------------------------------------------------------- */

static int malformed(struct pos_msg *m, int err)
{
    m->kind = PB_KIND_OTHER;
    m->txn = PB_TXN_NONE;
    m->result = PB_RESULT_NONE;
    m->flags |= PB_F_MALFORMED;
    return err;
}

static int decode_fields(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    if (!f || !out)
        return PB_ERR_INVAL;
    pb_msg_init(out);
    out->proto = &pb_proto_zvt;
    out->dir = dir;
    out->offset = f->offset;
    out->length = f->length;
    out->checksum_ok = f->type != PB_FRAME_DATA || f->checksum_ok;
    if (!out->checksum_ok)
        out->flags |= PB_F_CHECKSUM_BAD;

    if (f->type == PB_FRAME_CONTROL) {
        out->control = f->control;
        out->kind = f->control == PB_ACK   ? PB_KIND_ACK
                    : f->control == PB_NAK ? PB_KIND_NAK
                                           : PB_KIND_OTHER;
        return PB_OK;
    }
    if (f->type != PB_FRAME_DATA)
        return malformed(out, PB_ERR_INVAL);

    const uint8_t *p = f->payload;
    size_t n = f->payload_len > PB_FRAME_PAYLOAD_MAX ? PB_FRAME_PAYLOAD_MAX : f->payload_len;
    struct apdu a;
    int r = apdu_parse(p, n, &a);
    out->cmd = a.cmd;
    uint8_t cls = (uint8_t)(a.cmd >> 8);
    const struct zvt_cmd *c = cmd_find(a.cmd);

    /* Direction: as given, else from the command; 80 00 00 is sent by both sides and
     * cannot be placed, 84 xx and any 04 xx come from the PT [P][W]. */
    if (out->dir == PB_DIR_UNKNOWN) {
        if (c)
            out->dir = (enum pb_dir)c->dir;
        else if (n >= 2 && (cls == ZVT_CLASS_NEG || cls == 0x04))
            out->dir = PB_DIR_PT;
    }
    if (r != PB_OK)
        return malformed(out, r);
    if (a.extra)
        note_extra(out, a.extra);

    const uint8_t *d = p + a.hdr;
    if (cls == ZVT_CLASS_ACK) {
        /* Positive completion: the PT accepting a command, or either side acknowledging
         * the other's message. Only a known PT sender makes it ACCEPTED. */
        out->kind = out->dir == PB_DIR_PT ? PB_KIND_ACCEPTED : PB_KIND_APP_ACK;
        return PB_OK;
    }
    if (cls == ZVT_CLASS_NEG) {
        out->kind = PB_KIND_REFUSED;
        set_result_code(out, (uint8_t)(a.cmd & 0xFF));
        out->result = PB_RESULT_NOT_PROCESSED;
        return PB_OK;
    }
    if (!c) {
        out->kind = PB_KIND_OTHER; /* a ZVT command we do not model: data, not an error */
        return PB_OK;
    }
    out->kind = (enum pb_kind)c->kind;
    out->txn = (enum pb_txn_type)c->txn;

    size_t start;
    r = body_prefix(c, d, a.avail, out, &start);
    if (r != PB_OK)
        return malformed(out, r);
    if (start == SIZE_MAX || start >= a.avail)
        return PB_OK;
    struct bmp_walk w = {.m = out};
    r = walk_bmps(&w, d + start, a.avail - start);
    if (r != PB_OK)
        return malformed(out, r);
    /* The status or abort byte is what these messages are about; a BMP 27 inside them
     * must not turn an abort into an approval. */
    if (c->body == ZVT_BODY_INTERMEDIATE || c->body == ZVT_BODY_ABORT)
        body_prefix(c, d, a.avail, out, &start);
    if (w.unknown_tag >= 0)
        note_unknown_bmp(out, (unsigned)w.unknown_tag, a.hdr + start + w.stop);
    return PB_OK;
}

/* ---- encode --------------------------------------------------------------------------- */

struct wbuf {
    uint8_t b[512]; /* every APDU encode() builds is small: fixed fields and <= 63 text */
    size_t n;
    bool overflow;
};

static void put(struct wbuf *w, const uint8_t *p, size_t n)
{
    if (n > sizeof w->b - w->n) {
        w->overflow = true;
        return;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put1(struct wbuf *w, uint8_t b)
{
    put(w, &b, 1);
}

/* Digits (right-aligned, zero padded) as `nbytes` of packed BCD. */
static int put_bcd_str(struct wbuf *w, const char *s, size_t nbytes)
{
    size_t len = strlen(s);
    if (len > 2 * nbytes)
        return PB_ERR_RANGE;
    uint8_t out[8] = {0};
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PB_ERR_RANGE;
        size_t nib = 2 * nbytes - len + i;
        out[nib / 2] |= (uint8_t)((s[i] - '0') << ((nib & 1) ? 0 : 4));
    }
    put(w, out, nbytes);
    return PB_OK;
}

static int put_bcd_num(struct wbuf *w, int64_t v, size_t nbytes)
{
    if (v < 0)
        return PB_ERR_RANGE;
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return put_bcd_str(w, s, nbytes);
}

static int put_tag_bcd_str(struct wbuf *w, uint8_t tag, const char *s, size_t nbytes)
{
    put1(w, tag);
    return put_bcd_str(w, s, nbytes);
}

static int put_tag_bcd_num(struct wbuf *w, uint8_t tag, int64_t v, size_t nbytes)
{
    put1(w, tag);
    return put_bcd_num(w, v, nbytes);
}

/* BMP 22 from digits or '*' (an E nibble: masked [P]), F-padded, LLVAR. */
static int put_pan(struct wbuf *w, const char *pan)
{
    size_t len = strlen(pan);
    size_t bytes = (len + 1) / 2;
    if (bytes > 99)
        return PB_ERR_RANGE;
    uint8_t v[sizeof ((struct pos_msg *)0)->pan];
    memset(v, 0xFF, sizeof v);
    for (size_t i = 0; i < len; i++) {
        uint8_t nib;
        if (pan[i] >= '0' && pan[i] <= '9')
            nib = (uint8_t)(pan[i] - '0');
        else if (pan[i] == '*')
            nib = 0x0E;
        else
            return PB_ERR_RANGE;
        if (i & 1)
            v[i / 2] = (uint8_t)((v[i / 2] & 0xF0) | nib);
        else
            v[i / 2] = (uint8_t)((nib << 4) | 0x0F);
    }
    put1(w, ZVT_BMP_PAN);
    put1(w, (uint8_t)(0xF0 | bytes / 10));
    put1(w, (uint8_t)(0xF0 | bytes % 10));
    put(w, v, bytes);
    return PB_OK;
}

static int put_lllvar_text(struct wbuf *w, uint8_t tag, const char *s)
{
    size_t len = strlen(s);
    put1(w, tag);
    put1(w, (uint8_t)(0xF0 | len / 100));
    put1(w, (uint8_t)(0xF0 | (len / 10) % 10));
    put1(w, (uint8_t)(0xF0 | len % 10));
    put(w, (const uint8_t *)s, len);
    return PB_OK;
}

/* The request command for a message: its cmd when that is a known request, else the
 * command for its transaction type. */
static const struct zvt_cmd *request_cmd(const struct pos_msg *m)
{
    const struct zvt_cmd *c = cmd_find((uint16_t)m->cmd);
    if (m->cmd <= 0xFFFF && c && c->kind == PB_KIND_REQUEST)
        return c;
    static const uint16_t by_txn[PB_TXN__COUNT] = {
        [PB_TXN_PURCHASE] = ZVT_CMD_AUTHORISATION, [PB_TXN_REFUND] = ZVT_CMD_REFUND,
        [PB_TXN_VOID] = ZVT_CMD_REVERSAL,           [PB_TXN_PREAUTH] = ZVT_CMD_PREAUTH,
        [PB_TXN_STATUS] = ZVT_CMD_STATUS_ENQUIRY,   [PB_TXN_END_OF_DAY] = ZVT_CMD_END_OF_DAY,
        [PB_TXN_REGISTRATION] = ZVT_CMD_REGISTRATION, [PB_TXN_LOGOFF] = ZVT_CMD_LOGOFF,
    };
    if ((unsigned)m->txn >= PB_TXN__COUNT || by_txn[m->txn] == 0)
        return NULL;
    return cmd_find(by_txn[m->txn]);
}

/* Canonical order of request fields: [password], 87 receipt, 04 amount, 49 currency.
 * Registration carries its currency untagged after the config byte (00: no options). */
static int build_request(const struct pos_msg *m, const struct zvt_cmd *c, struct wbuf *w)
{
    int r = PB_OK;
    if (c->body == ZVT_BODY_REGISTRATION) {
        put(w, zvt_default_password, 3);
        put1(w, 0x00);
        if (m->flags & PB_F_CURRENCY)
            r = put_bcd_num(w, m->currency, 2);
        return r;
    }
    if (c->body == ZVT_BODY_PASSWORD)
        put(w, zvt_default_password, 3);
    if (r == PB_OK && m->receipt[0])
        r = put_tag_bcd_str(w, ZVT_BMP_RECEIPT, m->receipt, 2);
    if (r == PB_OK && (m->flags & PB_F_AMOUNT))
        r = put_tag_bcd_num(w, ZVT_BMP_AMOUNT, m->amount, 6);
    if (r == PB_OK && (m->flags & PB_F_CURRENCY))
        r = put_tag_bcd_num(w, ZVT_BMP_CURRENCY, m->currency, 2);
    return r;
}

/* Canonical order of status information fields: 27 first (as terminals send it), then
 * ascending tags: 04, 0B, 22, 29, 3B, 3C, 49, 87. */
static int build_result(const struct pos_msg *m, struct wbuf *w)
{
    int r = PB_OK;
    if (m->flags & PB_F_RESULT_CODE) {
        if (m->result_code < 0 || m->result_code > 0xFF)
            return PB_ERR_RANGE;
        put1(w, ZVT_BMP_RESULT);
        put1(w, (uint8_t)m->result_code);
    } else if (m->result == PB_RESULT_APPROVED || m->result == PB_RESULT_ABORTED) {
        put1(w, ZVT_BMP_RESULT);
        put1(w, m->result == PB_RESULT_APPROVED ? ZVT_RC_APPROVED : ZVT_RC_ABORT);
    } else if (m->result != PB_RESULT_NONE) {
        return PB_ERR_UNSUPPORTED; /* which refusal? the caller must give result_code */
    }
    if (m->flags & PB_F_AMOUNT)
        r = put_tag_bcd_num(w, ZVT_BMP_AMOUNT, m->amount, 6);
    if (r == PB_OK && m->trace[0])
        r = put_tag_bcd_str(w, ZVT_BMP_TRACE, m->trace, 3);
    if (r == PB_OK && m->pan[0])
        r = put_pan(w, m->pan);
    if (r == PB_OK && m->terminal_id[0])
        r = put_tag_bcd_str(w, ZVT_BMP_TID, m->terminal_id, 4);
    if (r == PB_OK && m->auth_code[0]) {
        uint8_t v[8] = {0};
        size_t len = strlen(m->auth_code);
        if (len > sizeof v)
            return PB_ERR_RANGE;
        memcpy(v, m->auth_code, len);
        put1(w, ZVT_BMP_AUTH_ATTR);
        put(w, v, sizeof v);
    }
    if (r == PB_OK && m->text[0])
        r = put_lllvar_text(w, ZVT_BMP_TEXT, m->text);
    if (r == PB_OK && (m->flags & PB_F_CURRENCY))
        r = put_tag_bcd_num(w, ZVT_BMP_CURRENCY, m->currency, 2);
    if (r == PB_OK && m->receipt[0])
        r = put_tag_bcd_str(w, ZVT_BMP_RECEIPT, m->receipt, 2);
    return r;
}

/* DLE STX | stuffed APDU | DLE ETX | CRC into buf. */
static int frame_out(const uint8_t *apdu, size_t n, uint8_t *buf, size_t cap)
{
    size_t o = 0;
#define OUT(b)                                                                                 \
    do {                                                                                       \
        if (o >= cap)                                                                          \
            return PB_ERR_RANGE;                                                               \
        buf[o++] = (b);                                                                        \
    } while (0)
    OUT(PB_DLE);
    OUT(PB_STX);
    for (size_t i = 0; i < n; i++) {
        OUT(apdu[i]);
        if (apdu[i] == PB_DLE)
            OUT(PB_DLE);
    }
    OUT(PB_DLE);
    OUT(PB_ETX);
    static const uint8_t etx_byte = PB_ETX;
    uint16_t crc = pb_crc16_kermit(pb_crc16_kermit(0, apdu, n), &etx_byte, 1);
    OUT((uint8_t)(crc & 0xFF));
    OUT((uint8_t)(crc >> 8));
#undef OUT
    return (int)o;
}

static int zvt_encode(const struct pos_msg *m, uint8_t *buf, size_t cap)
{
    if (!m || (!buf && cap))
        return PB_ERR_INVAL;
    if (m->kind == PB_KIND_ACK || m->kind == PB_KIND_NAK) {
        if (cap < 1)
            return PB_ERR_RANGE;
        buf[0] = m->kind == PB_KIND_ACK ? PB_ACK : PB_NAK;
        return 1;
    }
    struct wbuf w = {.n = 0};
    uint16_t code;
    int r = PB_OK;
    struct wbuf data = {.n = 0};
    switch (m->kind) {
    case PB_KIND_ACCEPTED:
    case PB_KIND_APP_ACK:
        code = ZVT_CLASS_ACK << 8; /* 80 00 00 */
        break;
    case PB_KIND_REFUSED: {
        int rc = (m->flags & PB_F_RESULT_CODE) ? m->result_code : 0;
        if (rc < 0 || rc > 0xFF)
            return PB_ERR_RANGE;
        code = (uint16_t)(ZVT_CLASS_NEG << 8 | rc); /* 84 xx 00 */
        break;
    }
    case PB_KIND_INTERMEDIATE: {
        /* 04 FF with the status byte; without one, 0E "please wait". */
        int st = (m->flags & PB_F_RESULT_CODE) ? m->result_code : 0x0E;
        if (st < 0 || st > 0xFF)
            return PB_ERR_RANGE;
        code = ZVT_CMD_INTERMEDIATE;
        put1(&data, (uint8_t)st);
        break;
    }
    case PB_KIND_RESULT:
        code = ZVT_CMD_STATUS_INFO;
        r = build_result(m, &data);
        break;
    case PB_KIND_COMPLETION:
        code = ZVT_CMD_COMPLETION;
        break;
    case PB_KIND_ABORT:
        if (m->cmd == ZVT_CMD_ABORT_ECR || (m->cmd != ZVT_CMD_ABORT_PT && m->dir == PB_DIR_ECR)) {
            code = ZVT_CMD_ABORT_ECR;
        } else {
            code = ZVT_CMD_ABORT_PT;
            if (m->flags & PB_F_RESULT_CODE) {
                if (m->result_code < 0 || m->result_code > 0xFF)
                    return PB_ERR_RANGE;
                put1(&data, (uint8_t)m->result_code);
            }
        }
        break;
    case PB_KIND_PRINT:
        code = ZVT_CMD_PRINT_LINE;
        put1(&data, 0x00); /* attribute: plain line */
        put(&data, (const uint8_t *)m->text, strlen(m->text));
        break;
    case PB_KIND_REQUEST: {
        const struct zvt_cmd *c = request_cmd(m);
        if (!c)
            return PB_ERR_UNSUPPORTED;
        code = c->code;
        r = build_request(m, c, &data);
        break;
    }
    default:
        return PB_ERR_UNSUPPORTED;
    }
    if (r != PB_OK)
        return r;
    if (data.overflow)
        return PB_ERR_RANGE;
    put1(&w, (uint8_t)(code >> 8));
    put1(&w, (uint8_t)(code & 0xFF));
    if (data.n < 0xFF) {
        put1(&w, (uint8_t)data.n);
    } else { /* FF LL LL, little-endian [P] */
        put1(&w, 0xFF);
        put1(&w, (uint8_t)(data.n & 0xFF));
        put1(&w, (uint8_t)(data.n >> 8));
    }
    put(&w, data.b, data.n);
    if (w.overflow)
        return PB_ERR_RANGE;
    return frame_out(w.b, w.n, buf, cap);
}

/* ---- redact --------------------------------------------------------------------------- */

/* A wire byte 0x10 is sent twice, so replacing a data byte 0x10 by anything else would
 * shorten the frame. Every redaction below therefore keeps the number of 0x10 bytes in
 * the field it rewrites: the 0x10 bytes it must keep are moved to the front of the
 * rewritten area. A redacted capture can thus tell how many bytes of a blanked field were
 * 0x10, never where they were; frame length, APDU LEN and BMP lengths stay intact and the
 * frame still decodes. */
static size_t count_dle(const uint8_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] == PB_DLE;
    return k;
}

/* The field's 0x10 bytes first, then fill. */
static void blank(uint8_t *v, size_t n, uint8_t fill)
{
    size_t k = count_dle(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = i < k ? PB_DLE : fill;
}

/* BMP 22 value: digits but the first 6 and last 4 (the pb_mask_pan rule: fewer kept for
 * short numbers) become E nibbles, ZVT's own masking [P].
 *
 * A masked byte that was 0x10 (digits "10") cannot simply become EE: the frame would lose
 * a wire byte. Putting the 0x10 back anywhere among the masked digits would tell how many
 * masked digit pairs were "10"; with the first 6 and last 4 beside it and the Luhn digit,
 * that narrows the card number to a handful of candidates, and to exactly one when every
 * masked byte was 0x10. So a number whose masked part held a 0x10 is masked whole, kept
 * digits too: its 0x10 bytes first, then E nibbles only. The capture then shows only how
 * many of its bytes were 0x10, and a second pass changes nothing. About 3 in 100
 * sixteen-digit numbers; the journal keeps their first 6 and last 4 from the decode. */
static void redact_pan(uint8_t *v, size_t n)
{
    size_t digits = 0;
    while (digits < 2 * n) {
        uint8_t nib = (digits & 1) ? (v[digits / 2] & 0x0F) : (v[digits / 2] >> 4);
        if (nib == 0x0F)
            break;
        digits++;
    }
    size_t head = digits >= 13 ? 6 : 0;
    size_t tail = digits > 4 ? 4 : 0;
    for (size_t b = 0; b < n; b++) {
        bool masked = 2 * b + 1 >= head && 2 * b + tail < digits;
        if (v[b] == PB_DLE && masked) {
            blank(v, n, 0xEE);
            return;
        }
    }
    /* Masking adds no 0x10 (a masked nibble is E) and, from here, removes none. */
    for (size_t i = head; i + tail < digits; i++) {
        if (i & 1)
            v[i / 2] = (uint8_t)((v[i / 2] & 0xF0) | 0x0E);
        else
            v[i / 2] = (uint8_t)((v[i / 2] & 0x0F) | 0xE0);
    }
}

static void redact_field(struct bmp_walk *w, const struct zvt_bmp *row, uint8_t *v, size_t n)
{
    if (row->sensitive == ZVT_SENS_PAN)
        redact_pan(v, n);
    else if (row->sensitive == ZVT_SENS_TEXT)
        pb_mask_digit_runs(v, n, NULL); /* opaque to the walk: its structure cannot change */
    else
        blank(v, n, 0x00);
}

/* Redacts one unstuffed APDU in place; lengths and 0x10 count unchanged. */
static void redact_apdu(uint8_t *apdu, size_t n)
{
    struct apdu a;
    apdu_parse(apdu, n, &a);
    const struct zvt_cmd *c = cmd_find(a.cmd);
    if (a.hdr == 0)
        return;
    if (!c) {
        /* 80/84 and commands we do not model: no known card data layout, but a text in
         * them may still print a card number. */
        pb_mask_digit_runs(apdu + a.hdr, a.avail, NULL);
        return;
    }
    uint8_t *d = apdu + a.hdr;
    size_t start;
    if (body_prefix(c, d, a.avail, NULL, &start) == PB_OK && start != SIZE_MAX &&
        start < a.avail) {
        struct bmp_walk w = {.sens = redact_field, .mut = d, .base = start};
        walk_bmps(&w, d + start, a.avail - start);
        /* What could not be parsed may hold card data: blank it. */
        if (w.stop < a.avail - start)
            blank(d + start + w.stop, a.avail - start - w.stop, 0x00);
    }
    /* A print line is an attribute byte and text: a receipt may print the card number. */
    if (c->body == ZVT_BODY_PRINT_LINE && a.avail > 1)
        pb_mask_digit_runs(d + 1, a.avail - 1, NULL);
    size_t end = a.hdr + a.avail; /* bytes past LEN were not parsed either */
    if (end < n)
        blank(apdu + end, n - end, 0x00);
}

static size_t zvt_redact(uint8_t *wire, size_t len)
{
    if (!wire || len < 6 || wire[0] != PB_DLE || wire[1] != PB_STX)
        return 0;
    /* Exactly one complete frame: a DLE ETX that leaves room for the CRC only. */
    size_t i = 2, n = 0;
    while (i < len) {
        if (wire[i] == PB_DLE) {
            if (i + 1 >= len)
                return 0;
            if (wire[i + 1] == PB_ETX)
                break;
            if (wire[i + 1] != PB_DLE)
                return 0;
            i++;
        }
        i++;
        n++;
    }
    if (i + 4 > len || n == 0)
        return 0;
    size_t etx = i;
    /* The CRC as the scanner accepts it: plain, or with a 0x10 doubled [?]. */
    uint16_t wire_crc;
    size_t crc_used;
    bool crc_stuffed = len - etx - 2 != 2;
    if (read_crc(wire + etx + 2, len - etx - 2, crc_stuffed, &wire_crc, &crc_used) != 1 ||
        crc_used != len - etx - 2)
        return 0;

    /* Most frames are short: no allocation for them on the forwarding path. */
    uint8_t local[1024];
    uint8_t *apdu = n <= sizeof local ? local : malloc(n);
    size_t dles = 0;
    if (apdu) {
        for (size_t k = 2, o = 0; k < etx; k++) {
            apdu[o++] = wire[k];
            if (wire[k] == PB_DLE)
                k++;
        }
        dles = count_dle(apdu, n);
        redact_apdu(apdu, n);
        /* Every rewrite keeps its 0x10 count (see above); should one ever not, the frame
         * would change length: fall back to blanking in place rather than risk it. */
        if (count_dle(apdu, n) != dles) {
            if (apdu != local)
                free(apdu);
            apdu = NULL;
        }
    }
    if (!apdu) {
        /* No memory to rebuild the frame: blank every body byte but the DLE pairs, so no
         * card data reaches disk; the frame stays delimited, its CRC no longer matches. */
        size_t changed = 0;
        for (size_t k = 2; k < etx; k++) {
            if (wire[k] == PB_DLE) {
                k++;
                continue;
            }
            changed += wire[k] != 0;
            wire[k] = 0;
        }
        return changed;
    }
    /* Nothing to mask (most frames): no CRC work at all. */
    bool same = true;
    for (size_t k = 0, o = 2; k < n && same; k++) {
        same = wire[o++] == apdu[k];
        if (apdu[k] == PB_DLE)
            o++;
    }
    if (same) {
        if (apdu != local)
            free(apdu);
        return 0;
    }
    /* The CRC the original contents had, to carry a wire CRC error over unchanged. */
    uint16_t old_crc = 0;
    for (size_t k = 2; k < etx; k++) {
        old_crc = pb_crc16_kermit(old_crc, &wire[k], 1);
        if (wire[k] == PB_DLE)
            k++;
    }
    static const uint8_t etx_byte = PB_ETX;
    old_crc = pb_crc16_kermit(old_crc, &etx_byte, 1);

    /* Rewrite the body; the 0x10 count is unchanged, so every byte lands in place. */
    size_t changed = 0;
    size_t o = 2;
    for (size_t k = 0; k < n; k++) {
        changed += wire[o] != apdu[k];
        wire[o++] = apdu[k];
        if (apdu[k] == PB_DLE)
            wire[o++] = PB_DLE;
    }
    /* A frame that arrived with a bad CRC keeps exactly the same error after redaction;
     * a good one stays good. */
    uint16_t crc = pb_crc16_kermit(pb_crc16_kermit(0, apdu, n), &etx_byte, 1);
    crc ^= (uint16_t)(old_crc ^ wire_crc);
    uint8_t out[4];
    size_t on = 0;
    for (int k = 0; k < 2; k++) {
        uint8_t v = k == 0 ? (uint8_t)(crc & 0xFF) : (uint8_t)(crc >> 8);
        out[on++] = v;
        if (crc_stuffed && v == PB_DLE)
            out[on++] = PB_DLE;
    }
    /* A doubled-CRC frame whose new CRC needs a different number of bytes keeps its old
     * CRC bytes: the length wins, the frame then reads as a checksum error. */
    if (on == crc_used) {
        for (size_t k = 0; k < on; k++) {
            changed += wire[etx + 2 + k] != out[k];
            wire[etx + 2 + k] = out[k];
        }
    }
    memset(apdu, 0, n);
    if (apdu != local)
        free(apdu);
    return changed;
}

/* ---- probe ---------------------------------------------------------------------------- */

/* DLE STX frames with a good CRC are near-certain ZVT; a bad CRC or an unfinished frame is
 * a hint; lone ACK/NAK bytes say little (every serial protocol uses them). */
static int zvt_probe(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return 0;
    struct pb_frame *f = pb_probe_frame();
    if (!f)
        return 0;
    size_t off = 0, good = 0, bad = 0, controls = 0, garbage = 0;
    bool partial = false;
    while (off < len) {
        size_t resume = 0;
        int r = zvt_scan(buf + off, len - off, &resume, f);
        if (r == 0) {
            partial = len - off >= 2 && buf[off] == PB_DLE && buf[off + 1] == PB_STX;
            break;
        }
        if (r < 0)
            r = 1;
        if (f->type == PB_FRAME_DATA) {
            if (f->checksum_ok && f->payload_len >= 3)
                good++;
            else
                bad++;
        } else if (f->type == PB_FRAME_CONTROL) {
            controls++;
        } else {
            garbage += (size_t)r;
        }
        off += (size_t)r;
    }
    int score;
    if (good > 0)
        score = 85 + (int)(good > 3 ? 15 : good * 5);
    else if (bad > 0)
        score = 40;
    else if (partial)
        score = 30;
    else if (controls > 0)
        score = 5;
    else
        score = 0;
    if (garbage > len / 2 && score > 10)
        score -= 20;
    return score > 100 ? 100 : score;
}

/* ---- the descriptor ------------------------------------------------------------------- */

/* Every field decoded, then any card number in free text masked (pb_msg_scrub). */
static int zvt_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(f, dir, out);
    pb_msg_scrub(out);
    return r;
}

const struct pb_protocol pb_proto_zvt = {
    .name = "zvt",
    .description = "ZVT-700 serial (DLE STX framing, CRC-16/KERMIT), Germany and Austria",
    .default_line = "9600,8N2", /* [P]: 8 data bits, no parity, 2 stop bits */
    .link_type = 147,           /* LINKTYPE_USER0: Wireshark's zvt dissector (docs/DESIGN.md 7) */
    .max_frame = PB_ZVT_FRAME_MAX,
    .scan = zvt_scan,
    .decode = zvt_decode,
    .encode = zvt_encode,
    .redact = zvt_redact,
    .probe = zvt_probe,
    .bcd_card_data = true,
    .rules =
        {
            .has_accept = true,            /* 80 00 00 after each command [P] */
            .result_ends_txn = false,      /* 06 0F / 06 1E end it [P] */
            .has_partial_marker = false,
            .accept_timeout_ms = 5000,     /* T3 [P] */
            .response_timeout_ms = 180000, /* PT master up to 180 s, extended [P] */
            .completion_timeout_ms = 180000, /* 04 0F -> 06 0F: receipts may print between */
            .max_repeats = 2,              /* a frame is repeated at most twice more [P] */
        },
    .discipline = &pb_zvt_discipline,
};
