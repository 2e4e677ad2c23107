/* ZVT-700 over a serial line: framing, APDU decoding, encoding, redaction, probing.
 *
 * Sources for every fact below (facts only, no code or prose taken):
 *   [P]  docs/PROTOCOLS.md section 2
 *   [S]  ZVT specification "ECR-Interface ZVT-Protocol, Commands, Bitmaps, Error Messages"
 *        PA00P015 revision 13.08 (2018-05-25), by chapter: [S 13] is its BMP summary,
 *        [S 14] its command summary, [S 9] the TLV container, [S 10] the result codes
 *   [S2] "Transportprotokoll, Anwendungsprotokoll" PA00P016 issue 03 (2008), by chapter
 *   [W]  Wireshark epan/dissectors/packet-zvt.c
 *   [Z]  Portalum/Portalum.Zvt (BmpParser.cs, ZvtCommunication.cs, status repositories)
 *   [E]  wirelane/ecrterm (packets/bitmaps.py, packets/base_packets.py, its tests)
 * Where they are silent the choice is ours and the comment says so. */
#include "zvt.h"

#include <stdarg.h>
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
#define ZVT_BMP_TOTALS 0x60
#define ZVT_BMP_RECEIPT 0x87

/* Result codes [P]. */
#define ZVT_RC_APPROVED 0x00
#define ZVT_RC_ABORT 0x6C
#define ZVT_RC_PLEASE_WAIT 0x9C    /* [S 10]; from the ECR: goods not issued yet [S 2.2.6] */
#define ZVT_RC_PARTIAL_GOODS 0x9D  /* [S 11]; from the ECR: partial issue of goods [S 2.2.6] */

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

static bool is_bcd(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] >> 4) > 9 || (p[i] & 0x0F) > 9)
            return false;
    return true;
}

/* Packed BCD to digits; false on a nibble above 9. */
static bool bcd_digits(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (cap < 2 * n + 1 || !is_bcd(p, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (char)('0' + (p[i] >> 4));
        out[2 * i + 1] = (char)('0' + (p[i] & 0x0F));
    }
    out[2 * n] = '\0';
    return true;
}

static bool bcd_value(const uint8_t *p, size_t n, int64_t *out)
{
    if (n > 9 || !is_bcd(p, n))
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 100 + (p[i] >> 4) * 10 + (p[i] & 0x0F);
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

/* BMP 27 result code [P][S 10]: 00 approved, 6C aborted (timeout or abort key), any other
 * code is a refusal by the terminal or the host. */
static enum pb_result map_result(uint8_t rc)
{
    if (rc == ZVT_RC_APPROVED)
        return PB_RESULT_APPROVED;
    if (rc == ZVT_RC_ABORT)
        return PB_RESULT_ABORTED;
    return PB_RESULT_DECLINED;
}

/* A note in text, only when nothing else is there: what the decoder skipped or kept raw. */
static void note(struct pos_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct pos_msg *m, const char *fmt, ...)
{
    if (m->text[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
}

/* A field whose content is not what its type says: kept raw, never guessed. */
static void raw_field(struct pos_msg *m, uint8_t tag)
{
    m->flags |= PB_F_RAW;
    note(m, "BMP %02X not BCD: kept raw", tag);
}

/* ---- BMP handlers: value bytes of one field into the message -------------------------- */

typedef void (*bmp_fn)(struct pos_msg *m, const uint8_t *v, size_t n);

static void bmp_amount(struct pos_msg *m, const uint8_t *v, size_t n)
{
    int64_t a;
    if (!bcd_value(v, n, &a)) {
        raw_field(m, ZVT_BMP_AMOUNT);
        return;
    }
    m->amount = a;
    m->flags |= PB_F_AMOUNT;
}

static void bmp_trace(struct pos_msg *m, const uint8_t *v, size_t n)
{
    if (!bcd_digits(v, n, m->trace, sizeof m->trace))
        raw_field(m, ZVT_BMP_TRACE);
}

/* BMP 87: 2 BCD digits pairs; FF FF stands for "no receipt" in a pre-authorisation enquiry
 * (06 23 03 87 FF FF) and its answer (06 1E B8 87 FF FF: none open) [S 2.10.1], [E]
 * test_parsing_open_reservation_responses. */
static void bmp_receipt(struct pos_msg *m, const uint8_t *v, size_t n)
{
    if (n == 2 && v[0] == 0xFF && v[1] == 0xFF) {
        note(m, "receipt FFFF: none");
        return;
    }
    if (!bcd_digits(v, n, m->receipt, sizeof m->receipt))
        raw_field(m, ZVT_BMP_RECEIPT);
}

static void bmp_tid(struct pos_msg *m, const uint8_t *v, size_t n)
{
    if (!bcd_digits(v, n, m->terminal_id, sizeof m->terminal_id))
        raw_field(m, ZVT_BMP_TID);
}

static void bmp_currency(struct pos_msg *m, const uint8_t *v, size_t n)
{
    int64_t c;
    if (!bcd_value(v, n, &c)) {
        raw_field(m, ZVT_BMP_CURRENCY);
        return;
    }
    m->currency = (uint16_t)c; /* 2 BCD bytes: at most 9999 */
    m->flags |= PB_F_CURRENCY;
}

static void bmp_result(struct pos_msg *m, const uint8_t *v, size_t n)
{
    set_result_code(m, v[0]);
    m->result = map_result(v[0]);
}

/* BMP 22 (and TLV 5A, 1F1A): BCD digits, F nibbles pad, E nibbles are digits the terminal
 * already masked [S 13]. Only the masked form is stored (pb_mask_pan); A..D nibbles are not
 * digits either and are shown as masked rather than guessed. */
static void bmp_pan(struct pos_msg *m, const uint8_t *v, size_t n)
{
    char digits[2 * 99 + 1];
    size_t d = 0;
    for (size_t i = 0; i < n && d < sizeof digits - 1; i++) {
        uint8_t nib[2] = {(uint8_t)(v[i] >> 4), (uint8_t)(v[i] & 0x0F)};
        for (int k = 0; k < 2 && d < sizeof digits - 1; k++) {
            if (nib[k] == 0x0F)
                goto done;
            digits[d++] = nib[k] <= 9 ? (char)('0' + nib[k]) : '*';
        }
    }
done:
    pb_mask_pan(digits, d, m->pan, sizeof m->pan);
    memset(digits, 0, sizeof digits);
}

/* Track 1/2/3, chip data: never stored, only noted [P]. */
static void bmp_track(struct pos_msg *m, const uint8_t *v, size_t n)
{
    m->flags |= PB_F_TRACK_DATA;
}

/* BMP 3B: 8 bytes, the authorisation attribute, 00-padded [S 0 rev. 04], [W]. */
static void bmp_auth_attr(struct pos_msg *m, const uint8_t *v, size_t n)
{
    size_t len = 0;
    while (len < n && v[len] != 0)
        len++;
    pb_copy_printable(m->auth_code, sizeof m->auth_code, v, len);
}

/* BMP 3C: additional text, LLLVAR [S 13]. */
static void bmp_text(struct pos_msg *m, const uint8_t *v, size_t n)
{
    pb_copy_printable(m->text, sizeof m->text, v, n);
}

/* BMP 60, individual totals of an end of day [S 3.1.3]: receipt numbers from and to (2 BCD
 * bytes each), then for girocard, JCB, Eurocard, Amex, VISA, Diners and the remaining cards
 * (pb_brand order) a binary count byte and a 6-byte BCD turnover: 53 bytes, as a Feig
 * terminal sends them (EVerest/zvt zvt/data/1680761828.489701000_pt_ecr.blob). */
#define ZVT_TOTALS_LEN (4u + 7u * PB_BRAND__COUNT)

static bool totals_layout(const uint8_t *v, size_t n)
{
    if (n != ZVT_TOTALS_LEN || !is_bcd(v, 4))
        return false;
    for (size_t b = 0; b < PB_BRAND__COUNT; b++)
        if (!is_bcd(v + 4 + 7 * b + 1, 6))
            return false;
    return true;
}

static void bmp_totals(struct pos_msg *m, const uint8_t *v, size_t n)
{
    if (!totals_layout(v, n)) {
        m->flags |= PB_F_RAW;
        note(m, "BMP 60 not the 53-byte totals layout: kept raw");
        return;
    }
    int64_t x;
    bcd_value(v, 2, &x);
    m->totals.first_receipt = (uint16_t)x;
    bcd_value(v + 2, 2, &x);
    m->totals.last_receipt = (uint16_t)x;
    for (size_t b = 0; b < PB_BRAND__COUNT; b++) {
        m->totals.count[b] = v[4 + 7 * b];
        bcd_value(v + 4 + 7 * b + 1, 6, &m->totals.amount[b]);
    }
    m->flags |= PB_F_TOTALS;
}

static void bmp_tlv(struct pos_msg *m, const uint8_t *v, size_t n);

/* ---- the BMP table -------------------------------------------------------------------- */

enum zvt_len_kind {
    ZVT_FIXED,  /* `len` bytes */
    ZVT_LLVAR,  /* 2 length bytes F0..F9 F0..F9, value length in bytes [S2 5.2.8] */
    ZVT_LLLVAR, /* 3 length bytes [S2 5.2.8] */
    ZVT_TLV,    /* BMP 06: BER length: < 80 one byte, 81 xx, 82 xx xx big-endian [S 9.3.2] */
};

/* How redaction treats a value, by what the field means. */
enum zvt_sensitivity {
    ZVT_CLEAR = 0,
    ZVT_SENS_PAN,   /* card number, BCD: keep first 6 and last 4 digits, E nibbles between */
    ZVT_SENS_BLANK, /* track or chip data, expiry, CVV, PIN data: every byte becomes EE */
    ZVT_SENS_TEXT,  /* free text: ASCII digit runs that could be a card number masked */
    ZVT_SENS_SCAN,  /* opaque: ASCII and BCD digit runs that could be a card number masked */
    ZVT_SENS_TLV,   /* BMP 06: each data object by its tag, see tlv_sensitivity() */
    ZVT_SENS_TOTALS, /* BMP 60: counts and amounts when it has the totals layout, else SCAN */
};

struct zvt_bmp {
    uint8_t tag;
    uint8_t len_kind;  /* enum zvt_len_kind */
    uint8_t len;       /* for ZVT_FIXED */
    uint8_t sensitive; /* enum zvt_sensitivity */
    bmp_fn handle;     /* NULL: parsed and skipped */
    const char *name;  /* ZVT term */
};

/* Every BMP of the specification's summary [S 13] (rev. 13.08), with 92 from [E] bitmaps.py
 * (not in 13.08's summary). Lengths where the sources disagree: 2D track 1 is LL-Var in [S]
 * and [E] (fixed 2 in [Z] BmpParser, taken as a slip); 2E is LLL-Var in [S] and [E] ([Z]
 * gives 3 length bytes read as LL). E1..E8 and F1..F8 are the spec's two ranges of text
 * lines, all LL-Var. A tag not here has no known length: see walk_bmps(). */
static const struct zvt_bmp zvt_bmps[] = {
    {0x01, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "timeout"},
    {0x02, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "max. status infos"},
    {0x03, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "service byte"},
    {0x04, ZVT_FIXED, 6, ZVT_CLEAR, bmp_amount, "amount"},
    {0x05, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "pump number"},
    {0x06, ZVT_TLV, 0, ZVT_SENS_TLV, bmp_tlv, "TLV container"},
    {0x0B, ZVT_FIXED, 3, ZVT_CLEAR, bmp_trace, "trace number"},
    {0x0C, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "time"},
    {0x0D, ZVT_FIXED, 2, ZVT_CLEAR, NULL, "date MMDD"},
    {0x0E, ZVT_FIXED, 2, ZVT_SENS_BLANK, NULL, "expiry date"},
    {0x17, ZVT_FIXED, 2, ZVT_CLEAR, NULL, "card sequence number"},
    {0x19, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "status byte / payment type / card type"},
    {0x22, ZVT_LLVAR, 0, ZVT_SENS_PAN, bmp_pan, "PAN / EF_ID"},
    {0x23, ZVT_LLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 2 data"},
    {0x24, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 3 data"},
    {0x27, ZVT_FIXED, 1, ZVT_CLEAR, bmp_result, "result code"},
    {0x29, ZVT_FIXED, 4, ZVT_CLEAR, bmp_tid, "terminal id"},
    {0x2A, ZVT_FIXED, 15, ZVT_CLEAR, NULL, "VU number"},
    {0x2D, ZVT_LLVAR, 0, ZVT_SENS_BLANK, bmp_track, "track 1 data"},
    {0x2E, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, bmp_track, "synchronous chip data"},
    {0x37, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "original trace number"},
    {0x3A, ZVT_FIXED, 2, ZVT_SENS_BLANK, NULL, "CVV/CVC"},
    {0x3B, ZVT_FIXED, 8, ZVT_CLEAR, bmp_auth_attr, "AID authorisation attribute"},
    {0x3C, ZVT_LLLVAR, 0, ZVT_SENS_SCAN, bmp_text, "additional data / text"},
    {0x3D, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "password"},
    {0x49, ZVT_FIXED, 2, ZVT_CLEAR, bmp_currency, "currency code"},
    {0x60, ZVT_LLLVAR, 0, ZVT_SENS_TOTALS, bmp_totals, "individual totals"},
    {0x70, ZVT_FIXED, 4, ZVT_CLEAR, NULL, "display image request id"},
    {0x71, ZVT_FIXED, 4, ZVT_CLEAR, NULL, "image size"},
    {0x72, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "image MIME type"},
    {0x73, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "image encoding"},
    {0x74, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "image chunk count"},
    {0x75, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "image chunk index"},
    {0x87, ZVT_FIXED, 2, ZVT_CLEAR, bmp_receipt, "receipt number"},
    {0x88, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "turnover record number"},
    {0x8A, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "card type"},
    {0x8B, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "card name"},
    {0x8C, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "card type id of the network operator"},
    {0x92, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, bmp_track, "additional data ec-cash chip offline"},
    {0x9A, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, NULL, "GeldKarte records"},
    {0xA0, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "result code AS"},
    {0xA7, ZVT_LLVAR, 0, ZVT_SENS_BLANK, bmp_track, "chip data, EF_ID"},
    {0xAA, ZVT_FIXED, 3, ZVT_CLEAR, NULL, "date YYMMDD"},
    {0xAF, ZVT_LLLVAR, 0, ZVT_SENS_BLANK, NULL, "EF_Info"},
    {0xBA, ZVT_FIXED, 5, ZVT_CLEAR, NULL, "AID parameter"},
    {0xD0, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "algorithm key"},
    {0xD1, ZVT_LLVAR, 0, ZVT_SENS_BLANK, NULL, "card offset / PIN data"},
    {0xD2, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "card output direction"},
    {0xD3, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "DUKPT key identifier"},
    {0xE0, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "min. input length"},
    {0xE1, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 1"},
    {0xE2, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 2"},
    {0xE3, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 3"},
    {0xE4, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 4"},
    {0xE5, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 5"},
    {0xE6, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 6"},
    {0xE7, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 7"},
    {0xE8, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text2 line 8"},
    {0xE9, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "max. input length"},
    {0xEA, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "echo the input"},
    {0xEB, ZVT_FIXED, 8, ZVT_CLEAR, NULL, "MAC over text 1 and text 2"},
    {0xF0, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "display duration"},
    {0xF1, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 1"},
    {0xF2, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 2"},
    {0xF3, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 3"},
    {0xF4, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 4"},
    {0xF5, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 5"},
    {0xF6, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 6"},
    {0xF7, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 7"},
    {0xF8, ZVT_LLVAR, 0, ZVT_SENS_TEXT, NULL, "text1 line 8"},
    {0xF9, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "number of beep tones"},
    {0xFA, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "card reader activation"},
    {0xFB, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "confirm the input with OK"},
    {0xFC, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "dialog control"},
    {0xFD, ZVT_FIXED, 1, ZVT_CLEAR, NULL, "display device"},
};

/* Index by tag, built once (the table is sorted by nothing a reader should rely on). */
static const struct zvt_bmp *bmp_find(uint8_t tag)
{
    for (size_t i = 0; i < sizeof zvt_bmps / sizeof zvt_bmps[0]; i++)
        if (zvt_bmps[i].tag == tag)
            return &zvt_bmps[i];
    return NULL;
}

/* Reads an LL or LLL prefix (k bytes Fx): -1 when it is no such prefix. */
static long fx_length(const uint8_t *p, size_t avail, size_t k)
{
    if (avail < k)
        return -1;
    long v = 0;
    for (size_t i = 0; i < k; i++) {
        /* F-nibble coding: F1 F2 means 12 [S2 5.2.8]. */
        if ((p[i] & 0xF0) != 0xF0 || (p[i] & 0x0F) > 9)
            return -1;
        v = v * 10 + (p[i] & 0x0F);
    }
    return v;
}

/* BER length of a TLV object [S 9.3.2]: < 80 one byte, 81 xx, 82 hi lo; 80 and 83..FF are
 * invalid. Returns the number of length bytes, 0 when they run past or are invalid. */
static size_t ber_length(const uint8_t *p, size_t avail, size_t *len)
{
    if (avail < 1)
        return 0;
    if (p[0] < 0x80) {
        *len = p[0];
        return 1;
    }
    if (p[0] == 0x81 && avail >= 2) {
        *len = p[1];
        return 2;
    }
    if (p[0] == 0x82 && avail >= 3) {
        *len = (size_t)p[1] << 8 | p[2];
        return 3;
    }
    return 0;
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
        long v = fx_length(p, avail, k);
        if (v < 0)
            return PB_ERR_RANGE;
        *hdr = k;
        *vlen = (size_t)v;
        return PB_OK;
    }
    case ZVT_TLV:
        if (avail < 1 || (p[0] == 0x81 && avail < 2) || (p[0] == 0x82 && avail < 3))
            return PB_ERR_TRUNCATED;
        *hdr = ber_length(p, avail, vlen);
        return *hdr ? PB_OK : PB_ERR_RANGE;
    }
    return PB_ERR_RANGE;
}

/* One known BMP at p[0..n): its whole size, 0 when unknown, runs past or does not parse. */
static size_t bmp_size(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    const struct zvt_bmp *row = bmp_find(p[0]);
    size_t hdr, vlen;
    if (!row || bmp_length(row, p + 1, n - 1, &hdr, &vlen) != PB_OK || vlen > n - 1 - hdr)
        return 0;
    return 1 + hdr + vlen;
}

#define TAGSET_BYTES 32 /* one bit per BMP tag */

/* p[0..n) is a non-empty sequence of known BMPs ending exactly at n, with no tag twice and
 * none in `seen` (the tags before it). */
static bool seq_fits(const uint8_t *p, size_t n, const uint8_t *seen)
{
    uint8_t mine[TAGSET_BYTES];
    memcpy(mine, seen, sizeof mine);
    size_t off = 0;
    while (off < n) {
        uint8_t t = p[off];
        if (mine[t >> 3] & (1u << (t & 7)))
            return false;
        mine[t >> 3] |= (uint8_t)(1u << (t & 7));
        size_t s = bmp_size(p + off, n - off);
        if (s == 0)
            return false;
        off += s;
    }
    return n > 0;
}

/* How many value bytes an unknown BMP at p[-1] may have so that what follows it is a
 * well-formed tail of known BMPs (seq_fits). Candidates: 0..32 bytes (every fixed length
 * of the spec is at most 15), and the length an LL or LLL prefix would give. The tail
 * "nothing follows" is not counted: it always fits. Returns the number of candidates that
 * fit, *fit the last one. */
static int count_fits(const uint8_t *p, size_t rest, const uint8_t *seen, size_t *fit)
{
    enum { SHORT_MAX = 32 };
    size_t cand[SHORT_MAX + 3];
    size_t nc = 0;
    for (size_t l = 0; l <= SHORT_MAX && l < rest; l++)
        cand[nc++] = l;
    for (size_t k = 2; k <= 3; k++) {
        long v = fx_length(p, rest, k);
        if (v >= 0 && k + (size_t)v > SHORT_MAX && k + (size_t)v < rest)
            cand[nc++] = k + (size_t)v;
    }
    int fits = 0;
    for (size_t i = 0; i < nc; i++) {
        if (seq_fits(p + cand[i], rest - cand[i], seen)) {
            fits++;
            *fit = cand[i];
        }
    }
    return fits;
}

/* One pass over a BMP sequence. Calls the handlers when m is set, and redacts every
 * sensitive value in place when w is set (w and p are then the same bytes).
 *
 * A BMP the table does not know has no known length, but what follows it need not be
 * lost: when exactly one length for it leaves a well-formed tail of known BMPs (no tag
 * twice, none seen before it), that length is taken, the unknown value is skipped and the
 * tail decoded (resynced). When no length or more than one does, everything from the
 * unknown BMP on is kept raw (raw_at). Either way the message gets PB_F_RAW; a field is
 * thus either decoded from where the spec puts it, or absent with the frame flagged; never
 * guessed from a reading that another reading contradicts.
 *
 * Returns PB_OK, or a negative code for a known field that runs past the data or whose
 * length prefix does not parse (raw_at then says where). */
struct bmp_walk {
    struct pos_msg *m;
    uint8_t *w;
    size_t raw_at;    /* first byte not parsed; n when all were */
    int unknown_tag;  /* the first BMP the table does not know, or -1 */
    size_t unknown_at;
    bool resynced;    /* ... and it was skipped by its unique fit */
    size_t skipped;   /* its value bytes */
};

static void redact_value(const struct zvt_bmp *row, uint8_t *v, size_t n);
static void blank(uint8_t *v, size_t n, uint8_t fill);

static int walk_bmps(struct bmp_walk *w, const uint8_t *p, size_t n)
{
    uint8_t seen[TAGSET_BYTES] = {0};
    size_t off = 0;
    w->unknown_tag = -1;
    w->resynced = false;
    w->raw_at = n;
    while (off < n) {
        uint8_t tag = p[off];
        const struct zvt_bmp *row = bmp_find(tag);
        if (!row) {
            size_t fit = 0;
            if (w->unknown_tag < 0) {
                w->unknown_tag = tag;
                w->unknown_at = off;
                if (count_fits(p + off + 1, n - off - 1, seen, &fit) == 1) {
                    w->resynced = true;
                    w->skipped = fit;
                    /* Unknown meaning: blanked. EE is no tag, so no length the walk
                     * tried for it fits anew: a second pass finds the same fit. */
                    if (w->w)
                        blank(w->w + off + 1, fit, 0xEE);
                    off += 1 + fit;
                    continue;
                }
            }
            w->raw_at = off;
            return PB_OK;
        }
        seen[tag >> 3] |= (uint8_t)(1u << (tag & 7));
        size_t hdr, vlen;
        int r = bmp_length(row, p + off + 1, n - off - 1, &hdr, &vlen);
        if (r == PB_OK && vlen > n - off - 1 - hdr)
            r = PB_ERR_TRUNCATED;
        if (r != PB_OK) {
            w->raw_at = off;
            return r;
        }
        const uint8_t *v = p + off + 1 + hdr;
        if (w->m && row->handle)
            row->handle(w->m, v, vlen);
        if (w->w && row->sensitive != ZVT_CLEAR)
            redact_value(row, w->w + off + 1 + hdr, vlen);
        off += 1 + hdr + vlen;
    }
    return PB_OK;
}

/* What a walk left raw, said on the message. */
static void note_walk(struct pos_msg *m, const struct bmp_walk *w, size_t n, size_t base)
{
    if (w->unknown_tag < 0)
        return;
    m->flags |= PB_F_RAW;
    if (w->resynced && w->raw_at == n)
        note(m, "unknown BMP %02X skipped, %zu value bytes", (unsigned)w->unknown_tag,
             w->skipped);
    else
        note(m, "unknown BMP %02X at %zu: %zu bytes kept raw", (unsigned)w->unknown_tag,
             base + w->raw_at, n - w->raw_at);
}

/* ---- TLV container (BMP 06) ----------------------------------------------------------- */

/* Data objects [S 9.3]: tag (class b8b7, constructed b6, number; 1F in b5..b1 means more
 * tag bytes follow while b8 is set), BER length, value. Tags that carry card data, by
 * meaning: ZVT 1F1A PAN (BMP 22 coding) [S 9.4.2], 1F08/1F09/1F0A magnet-stripe tracks,
 * 4D EF_ID GeldKarte/girogo (holds the card number), 1F31 encrypted PIN, 1F5D plaintext
 * key [S 9.4.1]; EMV 5A PAN, 57 track 2 equivalent, 56 and 9F6B track data, 9F1F/9F20
 * track discretionary data, 5F20 cardholder name, 5F24 expiry (EMV Book 3 annex A, and
 * the sources' own dumps). Text objects [S 9.4.1] have their digit runs masked; every
 * other primitive object is scanned for card numbers as text and as BCD. */
#define TLV_DEPTH_MAX 8

static enum zvt_sensitivity tlv_sensitivity(uint32_t tag)
{
    switch (tag) {
    case 0x5A:
    case 0x1F1A:
        return ZVT_SENS_PAN;
    case 0x56:
    case 0x57:
    case 0x5F20:
    case 0x5F24:
    case 0x9F1F:
    case 0x9F20:
    case 0x9F6B:
    case 0x1F08:
    case 0x1F09:
    case 0x1F0A:
    case 0x4D:
    case 0x1F31:
    case 0x1F5D:
        return ZVT_SENS_BLANK;
    case 0x07: /* text lines */
    case 0x0B: /* info field */
    case 0x0C: /* info field 2 */
    case 0x0F: /* assignment number */
    case 0x42: /* application name */
    case 0x44: /* application preferred name */
    case 0x46: /* EMV print data, customer */
    case 0x47: /* EMV print data, merchant */
    case 0x82: /* top-up text */
    case 0x1F17: /* extended error text */
    case 0x1F1C: /* card name */
    case 0x1F27: /* extended product name */
    case 0x1F2A: /* additional card holder information */
    case 0x1F2C: /* profile name */
    case 0x1F3D: /* alphanumeric data */
    case 0x1F40: /* device name */
    case 0x1F41: /* software version */
    case 0x1F5E: /* IBAN */
    case 0x1F5F: /* BIC */
    case 0x1F80: /* file name */
    case 0x1F81: /* MIME type */
        return ZVT_SENS_TEXT;
    default:
        return ZVT_SENS_SCAN;
    }
}

/* Tags the decoder reads [S 9.4.2]: 07 text lines, 08 receipt number (in 23, the list of
 * open pre-authorisations), 1F17 extended error text, 1F2B trace number (long format);
 * and the card data ones above, masked or only noted. */
static void tlv_decode_object(struct pos_msg *m, uint32_t tag, const uint8_t *v, size_t n)
{
    switch (tag) {
    case 0x5A:
    case 0x1F1A:
        if (!m->pan[0])
            bmp_pan(m, v, n);
        return;
    case 0x07:
    case 0x1F17:
        if (!m->text[0])
            pb_copy_printable(m->text, sizeof m->text, v, n);
        return;
    case 0x08:
        if (!m->receipt[0] && n == 2 && !(v[0] == 0xFF && v[1] == 0xFF))
            bcd_digits(v, n, m->receipt, sizeof m->receipt);
        return;
    case 0x1F2B:
        if (!m->trace[0])
            bcd_digits(v, n, m->trace, sizeof m->trace);
        return;
    default:
        if (tlv_sensitivity(tag) == ZVT_SENS_BLANK && tag != 0x1F31 && tag != 0x1F5D &&
            tag != 0x5F20)
            m->flags |= PB_F_TRACK_DATA;
        return;
    }
}

/* Walks data objects in p[0..n): decodes into m when set, redacts in place when w is set
 * (same bytes as p). False when the objects do not tile p exactly. */
static bool tlv_walk(struct pos_msg *m, const uint8_t *p, uint8_t *w, size_t n, int depth)
{
    size_t o = 0;
    while (o < n) {
        uint32_t tag = p[o];
        bool constructed = (p[o] & 0x20) != 0;
        bool more = (p[o] & 0x1F) == 0x1F;
        o++;
        for (int k = 0; more; k++) {
            if (o >= n || k == 3)
                return false;
            tag = tag << 8 | p[o];
            more = (p[o] & 0x80) != 0;
            o++;
        }
        size_t len;
        size_t h = ber_length(p + o, n - o, &len);
        if (h == 0 || len > n - o - h)
            return false;
        o += h;
        if (constructed) {
            if (depth >= TLV_DEPTH_MAX || !tlv_walk(m, p + o, w ? w + o : NULL, len, depth + 1))
                return false;
        } else {
            if (m)
                tlv_decode_object(m, tag, p + o, len);
            if (w) {
                struct zvt_bmp as = {.sensitive = (uint8_t)tlv_sensitivity(tag)};
                redact_value(&as, w + o, len);
            }
        }
        o += len;
    }
    return true;
}

/* A container that does not parse is kept raw whole: nothing is taken from its first
 * objects either (redaction blanks it whole, so a capture could not show them). */
static void bmp_tlv(struct pos_msg *m, const uint8_t *v, size_t n)
{
    if (!tlv_walk(NULL, v, NULL, n, 0)) {
        m->flags |= PB_F_RAW;
        note(m, "TLV container not well formed: kept raw");
        return;
    }
    tlv_walk(m, v, NULL, n, 0);
}

/* ---- the command table ---------------------------------------------------------------- */

/* How a command's data block is laid out [S 2, 3]. */
enum zvt_body {
    ZVT_BODY_BMPS,         /* a BMP sequence */
    ZVT_BODY_PASSWORD,     /* 3-byte password, then BMPs */
    ZVT_BODY_OPT_PASSWORD, /* [password [BMPs]] (05 01, 08 01) */
    ZVT_BODY_REGISTRATION, /* password, config byte, [currency 2 BCD, [BMPs]] */
    ZVT_BODY_INTERMEDIATE, /* status byte, [timeout byte], [BMPs] */
    ZVT_BODY_ABORT,        /* result code byte, BMPs */
    ZVT_BODY_PRINT_LINE,   /* attribute byte, text, [BMP 06] */
    ZVT_BODY_COMPLETION,   /* BMPs, or after a status enquiry [LLL SW version] status [06] */
    ZVT_BODY_OPT_BYTE,     /* [one byte [BMPs]] (06 C0 timeout, 08 30 language, ...) */
    ZVT_BODY_PASSWORD_RAW, /* password, then bytes no BMP names (06 12 from/to, 06 95) */
    ZVT_BODY_RAW,          /* bytes no BMP names (display data, parameter lists) */
    ZVT_BODY_SECRET,       /* bytes no BMP names that carry host or card data: blanked */
};

struct zvt_cmd {
    uint16_t code; /* CLASS<<8 | INSTR */
    uint8_t dir;   /* enum pb_dir: who sends it, PB_DIR_UNKNOWN when both may */
    uint8_t kind;  /* enum pb_kind */
    uint8_t txn;   /* enum pb_txn_type */
    uint8_t body;  /* enum zvt_body */
    const char *name;
};

#define ECR PB_DIR_ECR
#define PT PB_DIR_PT
#define REQ PB_KIND_REQUEST
#define OTH PB_KIND_OTHER

/* Every command of the summary [S 14] (rev. 13.08), plus 0F 10 from [E] base_packets.py
 * ("Kassenbericht", proprietary) and 04 0C from [E] (request file, part of 08 14 [S 2.41]).
 * Kind: an ECR command the PT ends with a completion or abort is a REQUEST (a transaction
 * the tracker follows, of txn OTHER when it moves no money); one the PT answers with
 * 80 00 00 alone, or with its data (display texts, card reader, read card: "no Completion
 * command" [S 2.21, 2.26]), and every PT command that is no step of a transaction, is
 * OTHER with its direction. Choices: partial reversal (06 23) and pre-auth reversal (06 25)
 * release a reservation, so they count as voids, except the enquiry 06 23 03 87 FF FF
 * (decode); book total (06 24), procurement (06 05), tip (06 0C), telephonic
 * authorisation (06 21), top-up (06 09) and card poll with authorisation (06 E6) take
 * money, so they count as purchases; send turnover totals (06 10) reports without closing
 * the batch, so it is OTHER, not END_OF_DAY. */
static const struct zvt_cmd zvt_cmds[] = {
    /* PT -> ECR [S 3] */
    {0x0401, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "set date and time in ECR"},
    {0x040C, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "request file"},
    {0x040D, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "input request"},
    {0x040E, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "menu request"},
    {ZVT_CMD_STATUS_INFO, PT, PB_KIND_RESULT, PB_TXN_NONE, ZVT_BODY_BMPS, "status information"},
    {ZVT_CMD_INTERMEDIATE, PT, PB_KIND_INTERMEDIATE, PB_TXN_NONE, ZVT_BODY_INTERMEDIATE,
     "intermediate status information"},
    {ZVT_CMD_COMPLETION, PT, PB_KIND_COMPLETION, PB_TXN_NONE, ZVT_BODY_COMPLETION, "completion"},
    {ZVT_CMD_ABORT_PT, PT, PB_KIND_ABORT, PB_TXN_NONE, ZVT_BODY_ABORT, "abort"},
    {0x06D0, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "menu selection with graphic display"},
    {ZVT_CMD_PRINT_LINE, PT, PB_KIND_PRINT, PB_TXN_NONE, ZVT_BODY_PRINT_LINE, "print line"},
    {ZVT_CMD_PRINT_TEXT, PT, PB_KIND_PRINT, PB_TXN_NONE, ZVT_BODY_BMPS, "print text block"},
    {0x06D8, PT, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "dial-up"},
    {0x06D9, PT, OTH, PB_TXN_NONE, ZVT_BODY_SECRET, "transmit data via dial-up"},
    {0x06DA, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "receive data via dial-up"},
    {0x06DB, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "hang-up"},
    {0x06DD, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "transparent mode"},
    {0x06E4, PT, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "blocked-list query to ECR"},
    /* ECR -> PT [S 2] */
    {ZVT_CMD_STATUS_ENQUIRY, ECR, REQ, PB_TXN_STATUS, ZVT_BODY_OPT_PASSWORD, "status enquiry"},
    {ZVT_CMD_REGISTRATION, ECR, REQ, PB_TXN_REGISTRATION, ZVT_BODY_REGISTRATION,
     "registration"},
    {ZVT_CMD_AUTHORISATION, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_BMPS, "authorisation"},
    {ZVT_CMD_LOGOFF, ECR, REQ, PB_TXN_LOGOFF, ZVT_BODY_BMPS, "log-off"},
    {0x0603, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "account balance request"},
    {0x0604, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "activate card"},
    {0x0605, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_BMPS, "procurement"},
    {0x0609, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_RAW, "prepaid top-up"},
    {0x060A, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "tax free"},
    {0x060C, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_BMPS, "book tip"},
    {0x060D, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "menu selection with graphic display"},
    {0x0610, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "send turnover totals"},
    {0x0612, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD_RAW, "print turnover receipts"},
    {0x0618, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "reset terminal"},
    {0x061A, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "print system configuration"},
    {0x061B, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "set/reset terminal id"},
    {0x0620, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "repeat receipt"},
    {0x0621, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_PASSWORD, "telephonic authorisation"},
    {ZVT_CMD_PREAUTH, ECR, REQ, PB_TXN_PREAUTH, ZVT_BODY_BMPS, "pre-authorisation"},
    {ZVT_CMD_PARTIAL_REVERSAL, ECR, REQ, PB_TXN_VOID, ZVT_BODY_BMPS, "partial reversal"},
    {ZVT_CMD_BOOK_TOTAL, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_BMPS, "book total"},
    {ZVT_CMD_PREAUTH_REVERSAL, ECR, REQ, PB_TXN_VOID, ZVT_BODY_BMPS,
     "pre-authorisation reversal"},
    {0x0626, ECR, REQ, PB_TXN_VOID, ZVT_BODY_BMPS, "reversal of external transaction"},
    {ZVT_CMD_REVERSAL, ECR, REQ, PB_TXN_VOID, ZVT_BODY_PASSWORD, "reversal"},
    {ZVT_CMD_REFUND, ECR, REQ, PB_TXN_REFUND, ZVT_BODY_PASSWORD, "refund"},
    {ZVT_CMD_END_OF_DAY, ECR, REQ, PB_TXN_END_OF_DAY, ZVT_BODY_PASSWORD, "end of day"},
    {0x0651, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "send offline transactions"},
    {0x0670, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "diagnosis"},
    {0x0679, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "selftest"},
    {0x0685, ECR, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "display text (old)"},
    {0x0686, ECR, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "display text with numerical input (old)"},
    {0x0687, ECR, OTH, PB_TXN_NONE, ZVT_BODY_SECRET, "PIN verification (old)"},
    {0x0688, ECR, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "display text with function-key input (old)"},
    {0x0691, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "set date and time in PT"},
    {0x0693, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "initialisation"},
    {0x0695, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD_RAW, "change password"},
    {ZVT_CMD_ABORT_ECR, ECR, PB_KIND_ABORT, PB_TXN_NONE, ZVT_BODY_BMPS, "abort"},
    {0x06C0, ECR, OTH, PB_TXN_NONE, ZVT_BODY_OPT_BYTE, "read card"},
    {0x06C5, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "close card session"},
    {0x06C6, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "send APDUs"},
    {0x06E0, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "display text"},
    {0x06E1, ECR, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "display text with function-key input"},
    {0x06E2, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "display text with numerical input"},
    {0x06E3, ECR, OTH, PB_TXN_NONE, ZVT_BODY_SECRET, "PIN verification for customer card"},
    {0x06E5, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "MAC calculation"},
    {0x06E6, ECR, REQ, PB_TXN_PURCHASE, ZVT_BODY_BMPS, "card poll with authorisation"},
    {0x06E7, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "display text with numerical input, DUKPT"},
    {0x06F0, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "display image"},
    {0x0801, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_OPT_PASSWORD, "activate service mode"},
    {0x0802, ECR, OTH, PB_TXN_NONE, ZVT_BODY_OPT_BYTE, "switch protocol"},
    {0x0810, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "software update"},
    {0x0811, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "read file"},
    {0x0812, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "delete file"},
    {0x0813, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "change configuration"},
    {0x0814, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "write file"},
    {0x0820, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "start OPT action"},
    {0x0821, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "set OPT point-in-time"},
    {0x0822, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "start OPT pre-initialisation"},
    {0x0823, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "output OPT data"},
    {0x0824, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_BMPS, "OPT out-of-order"},
    {0x0830, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_OPT_BYTE, "select language"},
    {0x0840, ECR, OTH, PB_TXN_NONE, ZVT_BODY_OPT_BYTE, "change baudrate"},
    {0x0850, ECR, OTH, PB_TXN_NONE, ZVT_BODY_BMPS, "activate card reader"},
    {0x0F10, ECR, REQ, PB_TXN_OTHER, ZVT_BODY_PASSWORD, "cash report (proprietary)"},
    {0x0FCA, PB_DIR_UNKNOWN, OTH, PB_TXN_NONE, ZVT_BODY_RAW, "ChipActivator (proprietary)"},
};

#undef ECR
#undef PT
#undef REQ
#undef OTH

static const struct zvt_cmd *cmd_find(uint16_t code)
{
    for (size_t i = 0; i < sizeof zvt_cmds / sizeof zvt_cmds[0]; i++)
        if (zvt_cmds[i].code == code)
            return &zvt_cmds[i];
    return NULL;
}

/* Intermediate status codes with a display text [Z] (English status repository), [S 3.7]. */
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

/* Where the parts of a command's data block are. Every range is inside d[0..n); an empty
 * range has at == end. */
struct layout {
    size_t bmp_at, bmp_end;   /* a BMP sequence */
    size_t text_at, text_end; /* free text: a print line, a software version */
    size_t raw_at, raw_end;   /* bytes no BMP names */
    bool secret;              /* ... and they carry host or card data */
    int status;               /* completion after a status enquiry: its status byte, or -1 */
};

/* d[0..n) is a well-formed sequence of known BMPs (possibly empty), tags not repeated. */
static bool whole_bmps(const uint8_t *d, size_t n)
{
    static const uint8_t none[TAGSET_BYTES];
    return n == 0 || seq_fits(d, n, none);
}

/* A 06 D1 print line is an attribute byte and text [S 3.5]; terminals may add a TLV
 * container after the text (the issue trace). It is taken as one when a byte 06 starts a
 * BMP 06 that ends exactly at the end of the data: text bytes are printable, an 06 (ACK)
 * is none. Returns where the container starts, n when there is none. */
static size_t print_line_tlv(const uint8_t *d, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (d[i] != ZVT_BMP_TLV)
            continue;
        size_t len, h = ber_length(d + i + 1, n - i - 1, &len);
        if (h && len == n - i - 1 - h && tlv_walk(NULL, d + i + 1 + h, NULL, len, 0))
            return i;
    }
    return n;
}

/* Completion (06 0F) [S 3.2]: [27 result] [0C time] [AA date] [19 status] [29 TID] [49 CC]
 * [06 TLV]; after a status enquiry [S 2.56.5]: [LLL-Var SW version] <terminal status byte>
 * [06 TLV]. Told apart as [E] base_packets.py Completion does: a leading Fx Fy Fz is the
 * version (no completion BMP starts with F); else the BMP form when the whole block reads
 * as BMPs; else the first byte is the status. */
static void completion_layout(const uint8_t *d, size_t n, struct layout *L)
{
    long v = fx_length(d, n, 3);
    if (v >= 0 && 3 + (size_t)v < n && whole_bmps(d + 4 + v, n - 4 - (size_t)v)) {
        L->text_at = 3;
        L->text_end = 3 + (size_t)v;
        L->status = d[3 + v];
        L->bmp_at = 4 + (size_t)v;
        L->bmp_end = n;
        return;
    }
    if (whole_bmps(d, n)) {
        L->bmp_at = 0;
        L->bmp_end = n;
        return;
    }
    L->status = d[0];
    L->bmp_at = 1;
    L->bmp_end = n;
}

/* The layout of command c's data d[0..n). PB_ERR_TRUNCATED when a mandatory fixed part is
 * missing. */
static int layout(const struct zvt_cmd *c, const uint8_t *d, size_t n, struct layout *L)
{
    memset(L, 0, sizeof *L);
    L->status = -1;
    size_t fixed = 0;
    switch ((enum zvt_body)c->body) {
    case ZVT_BODY_BMPS:
        break;
    case ZVT_BODY_PASSWORD:
        if (n < 3)
            return PB_ERR_TRUNCATED;
        fixed = 3;
        break;
    case ZVT_BODY_OPT_PASSWORD:
        /* [<password>[03<service-byte>][06<TLV>]] [S 2.56.1]: none at all is valid. */
        if (n > 0 && n < 3) {
            L->raw_at = 0;
            L->raw_end = n;
            return PB_OK;
        }
        fixed = n ? 3 : 0;
        break;
    case ZVT_BODY_REGISTRATION:
        if (n < 4)
            return PB_ERR_TRUNCATED;
        /* An untagged 2-byte currency follows when at least 2 bytes remain [S 2.1]. */
        fixed = n >= 6 ? 6 : 4;
        break;
    case ZVT_BODY_INTERMEDIATE:
        if (n < 1)
            return PB_ERR_TRUNCATED;
        fixed = n > 1 ? 2 : 1; /* status byte, then a timeout byte before any TLV [S 3.7] */
        break;
    case ZVT_BODY_ABORT:
    case ZVT_BODY_OPT_BYTE:
        fixed = n >= 1 ? 1 : 0;
        break;
    case ZVT_BODY_PRINT_LINE:
        if (n >= 1) {
            size_t t = print_line_tlv(d, n);
            L->text_at = 1;
            L->text_end = t;
            L->bmp_at = t;
            L->bmp_end = n;
        }
        return PB_OK;
    case ZVT_BODY_COMPLETION:
        completion_layout(d, n, L);
        return PB_OK;
    case ZVT_BODY_PASSWORD_RAW:
        if (n < 3)
            return PB_ERR_TRUNCATED;
        L->raw_at = 3;
        L->raw_end = n;
        return PB_OK;
    case ZVT_BODY_RAW:
    case ZVT_BODY_SECRET:
        L->raw_end = n;
        L->secret = c->body == ZVT_BODY_SECRET;
        return PB_OK;
    }
    L->bmp_at = fixed;
    L->bmp_end = n;
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

/* Negative completion 84 xx [S 2.2.6, 14]. From the PT it refuses the ECR's command. From
 * the ECR it answers the PT's last message; after a status information that is the issue
 * of goods verdict of a vending machine, filling station or charger [S 2.2.6]: 84 9C "not
 * done yet, send the status information again in 2 s", 84 9D 07 04<amount> "only this
 * much was issued: book it" (the only 84 with data, so it tells its sender itself; [Z]
 * ZvtCommunication sends it), any other 84 yy "goods not issued: reverse" ([Z] uses
 * 84 66). 84 00 is a positive acknowledgement from either side [S 14], like 80 00. */
static int decode_negative(struct pos_msg *out, const struct apdu *a, const uint8_t *d)
{
    uint8_t rc = (uint8_t)(a->cmd & 0xFF);
    bool has_amount = false;
    if (rc == ZVT_RC_PARTIAL_GOODS && a->avail > 0) {
        struct pos_msg probe;
        pb_msg_init(&probe);
        struct bmp_walk w = {.m = &probe};
        has_amount = walk_bmps(&w, d, a->avail) == PB_OK && w.unknown_tag < 0 &&
                     (probe.flags & PB_F_AMOUNT);
    }
    if (out->dir == PB_DIR_UNKNOWN && has_amount)
        out->dir = PB_DIR_ECR;
    if (rc == 0x00) {
        out->kind = out->dir == PB_DIR_PT ? PB_KIND_ACCEPTED : PB_KIND_APP_ACK;
        return PB_OK;
    }
    if (out->dir == PB_DIR_UNKNOWN)
        out->dir = PB_DIR_PT; /* the PT's refusal is the common case; see zvt.h */
    set_result_code(out, rc);
    if (out->dir != PB_DIR_ECR) {
        out->kind = PB_KIND_REFUSED;
        out->result = PB_RESULT_NOT_PROCESSED;
        return PB_OK;
    }
    out->kind = PB_KIND_APP_ACK;
    out->flags |= PB_F_GOODS;
    if (rc == ZVT_RC_PLEASE_WAIT) {
        out->result = PB_RESULT_NONE;
        note(out, "issue of goods not finished: status information again");
    } else if (rc == ZVT_RC_PARTIAL_GOODS) {
        struct bmp_walk w = {.m = out};
        if (a->avail && walk_bmps(&w, d, a->avail) != PB_OK)
            out->flags |= PB_F_RAW;
        note_walk(out, &w, a->avail, a->hdr);
        out->result = PB_RESULT_APPROVED;
        out->flags |= PB_F_PARTIAL;
        note(out, "partial issue of goods: book the amount");
    } else {
        out->result = PB_RESULT_DECLINED;
        note(out, "goods not issued: payment to be reversed");
    }
    return PB_OK;
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
     * cannot be placed, 84 xx see decode_negative(), any 04 xx comes from the PT [S 3]. */
    if (out->dir == PB_DIR_UNKNOWN) {
        if (c && c->dir != PB_DIR_UNKNOWN)
            out->dir = (enum pb_dir)c->dir;
        else if (n >= 2 && cls == 0x04)
            out->dir = PB_DIR_PT;
        else if (n >= 2 && cls == ZVT_CLASS_NEG && r != PB_OK && (a.cmd & 0xFF) != 0)
            out->dir = PB_DIR_PT;
    }
    if (r != PB_OK)
        return malformed(out, r);
    if (a.extra)
        note(out, "%zu bytes after the APDU length", a.extra);

    const uint8_t *d = p + a.hdr;
    if (cls == ZVT_CLASS_ACK) {
        /* Positive completion: the PT accepting a command, or either side acknowledging
         * the other's message. Only a known PT sender makes it ACCEPTED. */
        out->kind = out->dir == PB_DIR_PT ? PB_KIND_ACCEPTED : PB_KIND_APP_ACK;
        return PB_OK;
    }
    if (cls == ZVT_CLASS_NEG)
        return decode_negative(out, &a, d);
    if (!c) {
        out->kind = PB_KIND_OTHER; /* a ZVT command we do not model: data, not an error */
        return PB_OK;
    }
    out->kind = (enum pb_kind)c->kind;
    out->txn = (enum pb_txn_type)c->txn;

    struct layout L;
    r = layout(c, d, a.avail, &L);
    if (r != PB_OK)
        return malformed(out, r);
    switch ((enum zvt_body)c->body) {
    case ZVT_BODY_REGISTRATION:
        if (L.bmp_at == 6)
            bmp_currency(out, d + 4, 2);
        break;
    case ZVT_BODY_INTERMEDIATE:
        set_result_code(out, d[0]);
        out->result = PB_RESULT_NONE; /* a status, not an outcome */
        if (status_text(d[0]))
            snprintf(out->text, sizeof out->text, "%s", status_text(d[0]));
        break;
    case ZVT_BODY_ABORT:
        if (a.avail >= 1) {
            set_result_code(out, d[0]);
            /* An abort never approves: 6C is an abort proper, anything else a refusal. */
            out->result = d[0] == ZVT_RC_APPROVED ? PB_RESULT_ABORTED : map_result(d[0]);
        }
        break;
    default:
        break;
    }
    if (L.text_end > L.text_at)
        pb_copy_printable(out->text, sizeof out->text, d + L.text_at, L.text_end - L.text_at);
    if (L.status >= 0) {
        /* Terminal status code [S 11]: what the PT reports, not an outcome. */
        set_result_code(out, (uint8_t)L.status);
        out->result = PB_RESULT_NONE;
    }
    if (L.raw_end > L.raw_at) {
        out->flags |= PB_F_RAW;
        note(out, "%zu bytes no BMP names", L.raw_end - L.raw_at);
    }
    if (L.bmp_end > L.bmp_at) {
        struct bmp_walk w = {.m = out};
        r = walk_bmps(&w, d + L.bmp_at, L.bmp_end - L.bmp_at);
        if (r != PB_OK)
            return malformed(out, r);
        note_walk(out, &w, L.bmp_end - L.bmp_at, a.hdr + L.bmp_at);
    }
    /* The status or abort byte is what these messages are about; a BMP 27 inside them
     * must not turn an abort into an approval. */
    if (c->body == ZVT_BODY_INTERMEDIATE) {
        set_result_code(out, d[0]);
        out->result = PB_RESULT_NONE;
    } else if (c->body == ZVT_BODY_ABORT && a.avail >= 1) {
        set_result_code(out, d[0]);
        out->result = d[0] == ZVT_RC_APPROVED ? PB_RESULT_ABORTED : map_result(d[0]);
    }
    /* Pre-authorisation enquiry: 06 23 03 87 FF FF [S 2.10.1], [E] OpenReservationsEnquiry;
     * it moves no money, unlike every other 06 23. */
    if (a.cmd == ZVT_CMD_PARTIAL_REVERSAL && a.avail == 3 && d[0] == ZVT_BMP_RECEIPT &&
        d[1] == 0xFF && d[2] == 0xFF) {
        out->txn = PB_TXN_STATUS;
        snprintf(out->text, sizeof out->text, "enquiry: open pre-authorisations");
    }
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
    if (c->body == ZVT_BODY_PASSWORD || c->body == ZVT_BODY_OPT_PASSWORD ||
        c->body == ZVT_BODY_PASSWORD_RAW)
        put(w, zvt_default_password, 3);
    if (c->code == ZVT_CMD_PARTIAL_REVERSAL && m->txn == PB_TXN_STATUS) {
        /* The pre-authorisation enquiry: 87 FF FF and nothing else [S 2.10.1]. */
        static const uint8_t enquiry[3] = {ZVT_BMP_RECEIPT, 0xFF, 0xFF};
        put(w, enquiry, sizeof enquiry);
        return PB_OK;
    }
    if (r == PB_OK && m->receipt[0])
        r = put_tag_bcd_str(w, ZVT_BMP_RECEIPT, m->receipt, 2);
    if (r == PB_OK && (m->flags & PB_F_AMOUNT))
        r = put_tag_bcd_num(w, ZVT_BMP_AMOUNT, m->amount, 6);
    if (r == PB_OK && (m->flags & PB_F_CURRENCY))
        r = put_tag_bcd_num(w, ZVT_BMP_CURRENCY, m->currency, 2);
    /* The pre-authorisation's trace: "must be sent for a reservation booking ... or
     * partial reversal" [S 2.10, 2.13]. */
    if (r == PB_OK && m->trace[0])
        r = put_tag_bcd_str(w, ZVT_BMP_TRACE, m->trace, 3);
    return r;
}

/* BMP 60 [S 3.1.3]: LLL 053, receipt numbers from and to, count and turnover per brand. */
static int put_totals(struct wbuf *w, const struct pb_totals *t)
{
    static const uint8_t head[4] = {ZVT_BMP_TOTALS, 0xF0, 0xF5, 0xF3};
    put(w, head, sizeof head);
    int r = put_bcd_num(w, t->first_receipt, 2);
    if (r == PB_OK)
        r = put_bcd_num(w, t->last_receipt, 2);
    for (size_t b = 0; r == PB_OK && b < PB_BRAND__COUNT; b++) {
        if (t->count[b] > 0xFF)
            return PB_ERR_RANGE; /* one binary byte */
        put1(w, (uint8_t)t->count[b]);
        r = put_bcd_num(w, t->amount[b], 6);
    }
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
    if (r == PB_OK && (m->flags & PB_F_TOTALS))
        r = put_totals(w, &m->totals);
    if (r == PB_OK && m->receipt[0])
        r = put_tag_bcd_str(w, ZVT_BMP_RECEIPT, m->receipt, 2);
    return r;
}

/* Completion (06 0F) [S 3.2]: no data; after a status enquiry (txn STATUS with the
 * terminal status code in result_code) [S 2.56.5]: the software version as LLL-Var
 * 7-bit text, when there is one, and the status byte. */
static int build_completion(const struct pos_msg *m, struct wbuf *w)
{
    if (m->txn != PB_TXN_STATUS || !(m->flags & PB_F_RESULT_CODE))
        return PB_OK;
    if (m->result_code < 0 || m->result_code > 0xFF)
        return PB_ERR_RANGE;
    size_t len = strlen(m->text);
    if (len) {
        put1(w, (uint8_t)(0xF0 | len / 100));
        put1(w, (uint8_t)(0xF0 | (len / 10) % 10));
        put1(w, (uint8_t)(0xF0 | len % 10));
        put(w, (const uint8_t *)m->text, len);
    }
    put1(w, (uint8_t)m->result_code);
    return PB_OK;
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
        if (m->kind == PB_KIND_APP_ACK && (m->flags & PB_F_GOODS) &&
            (m->flags & PB_F_RESULT_CODE)) {
            /* The register's issue of goods verdict [S 2.2.6]: 84 yy 00, or 84 9D 07
             * 04<amount> for a partial issue. */
            if (m->result_code <= 0 || m->result_code > 0xFF)
                return PB_ERR_RANGE;
            code = (uint16_t)(ZVT_CLASS_NEG << 8 | m->result_code);
            if (m->result_code == ZVT_RC_PARTIAL_GOODS && (m->flags & PB_F_AMOUNT))
                r = put_tag_bcd_num(&data, ZVT_BMP_AMOUNT, m->amount, 6);
        }
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
        r = build_completion(m, &data);
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

/* A BER length [S 9.3.2] into p; returns its size. */
static size_t ber_put(uint8_t *p, size_t len)
{
    if (len < 0x80) {
        p[0] = (uint8_t)len;
        return 1;
    }
    if (len <= 0xFF) {
        p[0] = 0x81;
        p[1] = (uint8_t)len;
        return 2;
    }
    p[0] = 0x82;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    return 3;
}

/* Print text block (06 D3) [S 3.6]: one BMP 06 holding 1F07 receipt type [S 9.4] and
 * 25 print texts, a 07 text line each, closed by 09 attribute 81, "the last line of a
 * receipt" [S 3.5, 9.4.3], as the blocks in Portalum.Zvt's PrintTextBlockTest are. */
#define ZVT_BLOCK_MAX 2048

static int zvt_encode_text_block(const char *const *lines, size_t n, unsigned type, uint8_t *buf,
                                 size_t cap)
{
    if ((!lines && n) || (!buf && cap) || type > 0xFF)
        return PB_ERR_INVAL;
    uint8_t texts[ZVT_BLOCK_MAX]; /* the value of tag 25 */
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(lines[i]);
        if (t + 4 + len + 3 > sizeof texts)
            return PB_ERR_RANGE;
        texts[t++] = 0x07;
        t += ber_put(texts + t, len);
        memcpy(texts + t, lines[i], len);
        t += len;
    }
    static const uint8_t last_line[3] = {0x09, 0x01, 0x81};
    memcpy(texts + t, last_line, sizeof last_line);
    t += sizeof last_line;

    uint8_t apdu[ZVT_BLOCK_MAX + 32];
    size_t a = 5; /* CLASS INSTR FF LL LL, shortened below when LEN fits one byte */
    uint8_t inner[8];
    size_t k = 0;
    if (type) {
        inner[k++] = 0x1F; /* receipt type */
        inner[k++] = 0x07;
        inner[k++] = 0x01;
        inner[k++] = (uint8_t)type;
    }
    inner[k++] = 0x25;
    k += ber_put(inner + k, t);
    apdu[a++] = ZVT_BMP_TLV;
    a += ber_put(apdu + a, k + t);
    memcpy(apdu + a, inner, k);
    a += k;
    memcpy(apdu + a, texts, t);
    a += t;
    size_t data = a - 5;
    uint8_t *start = apdu;
    if (data < 0xFF) {
        start = apdu + 2;
        start[2] = (uint8_t)data;
    } else {
        apdu[2] = 0xFF; /* FF LL LL, little-endian [P] */
        apdu[3] = (uint8_t)data;
        apdu[4] = (uint8_t)(data >> 8);
    }
    start[0] = (uint8_t)(ZVT_CMD_PRINT_TEXT >> 8);
    start[1] = (uint8_t)(ZVT_CMD_PRINT_TEXT & 0xFF);
    return frame_out(start, (size_t)(apdu + a - start), buf, cap);
}

/* ---- redact --------------------------------------------------------------------------- */

/* A wire byte 0x10 is sent twice, so replacing a data byte 0x10 by anything else would
 * shorten the frame. Every redaction below therefore keeps the number of 0x10 bytes in
 * the field it rewrites, at places fixed by the field's length and that count alone
 * (blank()). A redacted capture can thus tell how many bytes of a blanked field were
 * 0x10, never where they were; frame length, APDU LEN and BMP lengths stay intact and the
 * frame still decodes. */
static size_t count_dle(const uint8_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] == PB_DLE;
    return k;
}

/* The field's 0x10 bytes at every other place from the second on, the rest fill: where
 * they were is lost; two 0x10 bytes side by side (the BCD digits "1010") only when half
 * the field or more was 0x10, so no long digit run is made of them; and the first byte is
 * fill (EE: no BMP tag, no length of any class) unless every byte was 0x10, so a blanked
 * region never reads as a field the walk would follow. The places depend only on the
 * field's length and 0x10 count: a second pass changes nothing. */
static void blank(uint8_t *v, size_t n, uint8_t fill)
{
    size_t k = count_dle(v, n), placed = 0;
    for (size_t i = 0; i < n; i++) {
        bool dle = placed < k && (k - placed >= n - i || i % 2 == 1);
        v[i] = dle ? PB_DLE : fill;
        placed += dle;
    }
}

/* BMP 22 value: digits but the first 6 and last 4 (the pb_mask_pan rule: fewer kept for
 * short numbers) become E nibbles, ZVT's own masking [P].
 *
 * A masked byte that was 0x10 (digits "10") cannot simply become EE: the frame would lose
 * a wire byte. Putting the 0x10 back anywhere among the masked digits would tell how many
 * masked digit pairs were "10"; with the first 6 and last 4 beside it and the Luhn digit,
 * that narrows the card number to a handful of candidates, and to exactly one when every
 * masked byte was 0x10. So a number whose masked part held a 0x10 is masked whole, kept
 * digits too: its 0x10 bytes where blank() puts them, E nibbles elsewhere. The capture then shows only how
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
/* ---- card numbers in opaque bytes ----------------------------------------------------- */

/* Luhn over digit values d[0..n) (ISO/IEC 7812-1 annex B check digit). */
static bool luhn_ok(const uint8_t *d, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = d[n - 1 - i];
        if (i & 1)
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    return sum % 10 == 0;
}

/* A run of digits that holds a card number: 12 to 19 digits (ISO/IEC 7812-1) of which
 * some window passes Luhn. */
#define PAN_MIN 12
#define PAN_MAX 19
static bool run_holds_pan(const uint8_t *d, size_t n)
{
    for (size_t len = PAN_MIN; len <= PAN_MAX && len <= n; len++)
        for (size_t s = 0; s + len <= n; s++)
            if (luhn_ok(d + s, len))
                return true;
    return false;
}

/* ASCII: every run of 12 or more digits that holds a card number keeps its first 6 (none
 * under 13 digits) and last 4 digits, the rest become '*' (pb_mask_pan's rule). ASCII
 * digits are never 0x10, so the 0x10 count cannot change. */
static void mask_ascii_runs(uint8_t *v, size_t n)
{
    uint8_t dig[64];
    for (size_t i = 0; i < n;) {
        if (v[i] < '0' || v[i] > '9') {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && v[i] >= '0' && v[i] <= '9')
            i++;
        size_t len = i - s;
        if (len < PAN_MIN)
            continue;
        bool hit = false;
        for (size_t o = 0; o < len && !hit; o += sizeof dig - PAN_MAX) {
            size_t k = len - o < sizeof dig ? len - o : sizeof dig;
            for (size_t j = 0; j < k; j++)
                dig[j] = (uint8_t)(v[s + o + j] - '0');
            hit = run_holds_pan(dig, k);
        }
        if (!hit)
            continue;
        size_t head = len >= 13 ? 6 : 0;
        for (size_t j = s + head; j + 4 < i; j++)
            v[j] = '*';
    }
}

static uint8_t nibble_at(const uint8_t *v, size_t k)
{
    return (k & 1) ? (v[k / 2] & 0x0F) : (v[k / 2] >> 4);
}

/* Text whose bytes all happen to be BCD digit pairs ("CARD 4111..." is 43 41 52 44 20 34
 * 31 ...) is read as text: the ASCII pass masks a number in it, and reading it as BCD
 * would mask letters. A BCD card number all of whose bytes are printable ASCII (each
 * byte's first digit 2 to 7) is therefore left to the field's meaning: scanning is the
 * fallback for bytes that have none. */
static bool all_printable(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7E)
            return false;
    return true;
}

/* Packed BCD: every run of 12 or more decimal nibbles that holds a card number keeps its
 * first 6 (none under 13) and last 4 nibbles, the rest become E (ZVT's masked digit
 * [S 13]). A byte 0x10 among the masked ones cannot change alone (the frame would lose a
 * wire byte): then the bytes of the run are blanked as blank() does. */
static void mask_bcd_runs(uint8_t *v, size_t n)
{
    uint8_t dig[64];
    for (size_t k = 0; k < 2 * n;) {
        if (nibble_at(v, k) > 9) {
            k++;
            continue;
        }
        size_t s = k;
        while (k < 2 * n && nibble_at(v, k) <= 9)
            k++;
        size_t len = k - s;
        if (len < PAN_MIN)
            continue;
        bool hit = false;
        for (size_t o = 0; o < len && !hit; o += sizeof dig - PAN_MAX) {
            size_t c = len - o < sizeof dig ? len - o : sizeof dig;
            for (size_t j = 0; j < c; j++)
                dig[j] = nibble_at(v, s + o + j);
            hit = run_holds_pan(dig, c);
        }
        if (!hit || all_printable(v + s / 2, (k + 1) / 2 - s / 2))
            continue;
        size_t from = s + (len >= 13 ? 6 : 0), to = k - 4; /* nibbles [from, to) */
        bool dle = false;
        for (size_t b = from / 2; b <= (to - 1) / 2; b++)
            dle |= v[b] == PB_DLE;
        if (dle) {
            size_t b0 = s / 2, b1 = (k + 1) / 2;
            blank(v + b0, b1 - b0, 0xEE);
            continue;
        }
        for (size_t j = from; j < to; j++)
            v[j / 2] = (j & 1) ? (uint8_t)((v[j / 2] & 0xF0) | 0x0E)
                               : (uint8_t)((v[j / 2] & 0x0F) | 0xE0);
    }
}

/* Opaque bytes: card numbers as text, as ZVT prints them, and as BCD. */
static void scan_mask(uint8_t *v, size_t n)
{
    pb_mask_digit_runs(v, n, NULL);
    mask_ascii_runs(v, n);
    mask_bcd_runs(v, n);
}

/* One value by what its field means (row NULL: a field of unknown meaning). The fill EE
 * is neither an ASCII digit nor a BCD digit, so nothing blanked reads as a number. */
static void redact_value(const struct zvt_bmp *row, uint8_t *v, size_t n)
{
    switch (row ? (enum zvt_sensitivity)row->sensitive : ZVT_SENS_SCAN) {
    case ZVT_CLEAR:
        return;
    case ZVT_SENS_PAN:
        redact_pan(v, n);
        return;
    case ZVT_SENS_BLANK:
        blank(v, n, 0xEE);
        return;
    case ZVT_SENS_TEXT:
        pb_mask_digit_runs(v, n, NULL);
        mask_ascii_runs(v, n);
        return;
    case ZVT_SENS_SCAN:
        scan_mask(v, n);
        return;
    case ZVT_SENS_TOTALS:
        /* Receipt numbers, counts and turnovers [S 3.1.3] hold no card data; their runs
         * of zero digits pass Luhn, and scanning would blank a real end of day. */
        if (!totals_layout(v, n))
            scan_mask(v, n);
        return;
    case ZVT_SENS_TLV:
        /* Each data object by its tag; a container that does not parse may hold card
         * data in any form: blanked. */
        if (!tlv_walk(NULL, v, NULL, n, 0))
            blank(v, n, 0xEE);
        else
            tlv_walk(NULL, v, v, n, 0);
        return;
    }
}

/* A BMP sequence in place. What cannot be parsed (an unknown BMP with no unique fit, a
 * field that runs past) may hold card data in any form: blanked. */
static void redact_bmps(uint8_t *d, size_t n)
{
    struct bmp_walk w = {.w = d};
    int r = walk_bmps(&w, d, n);
    /* A known BMP whose length does not parse keeps its tag: the frame stays malformed
     * the way it was, rather than reading as an unknown BMP after redaction. */
    size_t from = r != PB_OK ? w.raw_at + 1 : w.raw_at;
    if (from < n)
        blank(d + from, n - from, 0xEE);
}

/* Data of 80 00 / 84 xx: a TLV container as the ECR answers 06 E4 or 04 0C [S 3.14,
 * 2.41], dial-up data as it answers 06 DA [S 3.11], 04 <amount> in 84 9D. Masked by
 * meaning when it reads as BMPs, else blanked: host messages carry card data in any
 * form. */
static void redact_opaque(uint8_t *d, size_t n)
{
    if (n == 0)
        return;
    if (whole_bmps(d, n))
        redact_bmps(d, n);
    else
        blank(d, n, 0xEE);
}

/* Redacts one unstuffed APDU in place; lengths and 0x10 count unchanged. */
static void redact_apdu(uint8_t *apdu, size_t n)
{
    struct apdu a;
    apdu_parse(apdu, n, &a);
    if (a.hdr == 0)
        return;
    uint8_t *d = apdu + a.hdr;
    uint8_t cls = (uint8_t)(a.cmd >> 8);
    const struct zvt_cmd *c = cmd_find(a.cmd);
    struct layout L;
    if (cls == ZVT_CLASS_ACK || cls == ZVT_CLASS_NEG) {
        /* 80 00 xx may carry dial-up data from the ECR [S 3.11]: host messages. */
        redact_opaque(d, a.avail);
    } else if (!c || layout(c, d, a.avail, &L) != PB_OK) {
        /* No layout (0F xx proprietary, a command the spec does not name) or its fixed
         * part missing: nothing says which bytes are which, and a reading as BMPs that
         * happens to fit could name a card number's bytes as a date. Blanked. */
        blank(d, a.avail, 0xEE);
    } else {
        if (L.text_end > L.text_at) {
            pb_mask_digit_runs(d + L.text_at, L.text_end - L.text_at, NULL);
            mask_ascii_runs(d + L.text_at, L.text_end - L.text_at);
        }
        if (L.raw_end > L.raw_at) {
            if (L.secret)
                blank(d + L.raw_at, L.raw_end - L.raw_at, 0xEE);
            else
                scan_mask(d + L.raw_at, L.raw_end - L.raw_at);
        }
        if (L.bmp_end > L.bmp_at)
            redact_bmps(d + L.bmp_at, L.bmp_end - L.bmp_at);
    }
    size_t end = a.hdr + a.avail; /* bytes past LEN were not parsed either */
    if (end < n)
        blank(apdu + end, n - end, 0xEE);
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

/* Every field decoded, then any card number in free text masked: pb_msg_scrub for runs
 * of 13 or more, and the 12-digit numbers ISO/IEC 7812 also allows when they pass Luhn. */
static int zvt_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(f, dir, out);
    pb_msg_scrub(out);
    if (out) {
        mask_ascii_runs((uint8_t *)out->text, strnlen(out->text, sizeof out->text));
        mask_ascii_runs((uint8_t *)out->auth_code, strnlen(out->auth_code, sizeof out->auth_code));
    }
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
    .encode_text_block = zvt_encode_text_block,
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
