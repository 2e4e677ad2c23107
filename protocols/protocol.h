/* protocol: the const vtable every wire protocol exports, the registry of them, and the
 * streaming deframer that drives a protocol's scanner over arbitrarily chunked bytes.
 *
 *   pb_protocol_find()     protocol by name ("concert", "zvt"), NULL when unknown
 *   pb_protocol_list()     NULL-terminated array of every registered protocol
 *   pb_protocol_names()    "concert|zvt|..." for help and error messages
 *   pb_deframer_new/free   one per direction per link
 *   pb_deframer_feed()     push bytes; a callback gets each frame, control byte or garbage run
 *   pb_deframer_flush()    report what is left in the buffer as garbage (end of stream)
 *
 * Adding a protocol touches protocols/ and the registry array in protocol.c only
 * (docs/DESIGN.md decision 3). Protocols never print and never do I/O. */
#ifndef PB_PROTOCOL_H
#define PB_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Largest unstuffed frame payload any protocol may deliver (ZVT: 3-byte APDU length). */
#define PB_FRAME_PAYLOAD_MAX (65535u + 8u)

enum pb_frame_type {
    PB_FRAME_DATA,    /* a delimited frame; payload holds its unstuffed contents */
    PB_FRAME_CONTROL, /* a single control byte outside a frame (ACK, NAK, ENQ, EOT) */
    PB_FRAME_GARBAGE, /* bytes that are no frame; skipped and counted */
};

struct pb_discipline;

struct pb_frame {
    enum pb_frame_type type;
    uint8_t control;    /* the byte, for PB_FRAME_CONTROL */
    bool checksum_ok;   /* for PB_FRAME_DATA */
    uint64_t offset;    /* stream offset of the first byte (set by the deframer) */
    uint32_t length;    /* bytes on the wire, framing and checksum included */
    size_t payload_len; /* for PB_FRAME_DATA */
    /* Concert/PAX: bytes between STX and ETX. ZVT: the APDU with DLE doubling undone.
     * MIS-POS: the TLV data. Owned by the deframer; valid during the callback only. */
    uint8_t payload[PB_FRAME_PAYLOAD_MAX];
};

/* Scanner contract (docs/STYLE.md 5), called on the deframer's buffer:
 *   > 0  that many bytes were consumed; *out says what they were (type, length,
 *        payload, checksum_ok, control). A run of bytes that cannot start anything is
 *        returned as one PB_FRAME_GARBAGE.
 *   0    need more bytes.
 *   < 0  PB_ERR_FRAMING: what starts here is no frame (too long, bad byte inside); the
 *        deframer skips one byte as garbage and scans again, so garbage before a frame
 *        never loses the frame.
 * *resume is scanner-private progress for the frame at buf[0] (0 on a fresh start), so a
 * frame fed one byte at a time is not rescanned from its start on every byte. */
typedef int (*pb_scan_fn)(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out);

/* Messages a protocol sends as several frames (PAX's multi-packet answers). Optional; the
 * pipeline keeps one joiner per direction and shows it every data frame with a good
 * checksum, before decoding:
 *   PB_JOIN_PASS  the frame is no part of such a message: decode it as usual;
 *   PB_JOIN_HELD  a part with more to follow: decode it (proof of life, no final answer);
 *   PB_JOIN_DONE  it ended the message: decode *whole instead (owned by the joiner,
 *                 valid until the next call; its offset and length span every part). */
enum { PB_JOIN_PASS = 0, PB_JOIN_HELD = 1, PB_JOIN_DONE = 2 };
struct pb_joiner_ops {
    int (*create)(void **out); /* PB_OK, *out set; or a negative code, *out NULL */
    void (*destroy)(void *j);  /* NULL is fine */
    int (*join)(void *j, const struct pb_frame *f, const struct pb_frame **whole);
};

/* Transaction rules the tracker applies per protocol (docs/DISCREPANCIES.md). */
struct pb_track_rules {
    bool has_accept;              /* PT acknowledges the request at application level first */
    bool result_ends_txn;         /* the RESULT closes the transaction (Concert), else the
                                     COMPLETION/ABORT does (ZVT) */
    bool has_partial_marker;      /* protocol reports partial approvals itself */
    uint32_t accept_timeout_ms;   /* request -> accepted (ZVT T3) */
    uint32_t response_timeout_ms; /* accepted/request -> final result; intermediates extend it */
    uint32_t completion_timeout_ms; /* result -> completion, for protocols with one */
    unsigned max_repeats;         /* transport repeats of one frame after NAK (not requests) */
};

struct pb_protocol {
    const char *name;         /* "concert", "zvt": CLI and JSON name */
    const char *description;  /* one line for --help */
    const char *default_line; /* "9600,7E1" */
    uint32_t link_type;       /* pcapng link type for captures: 147 (USER0) for ZVT, ... */
    size_t max_frame;         /* longest frame on the wire the scanner accepts */
    pb_scan_fn scan;
    /* Decodes a PB_FRAME_DATA or PB_FRAME_CONTROL frame. dir is PB_DIR_UNKNOWN when the
     * caller does not know; the decoder then infers it where the protocol allows and
     * writes it to out->dir. Returns PB_OK, or a negative code when the frame did not
     * parse: out is then still valid with kind OTHER and PB_F_MALFORMED set. The frame's
     * offset, length and checksum state are copied into out. */
    int (*decode)(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out);
    /* Encodes a complete wire frame (or control byte) for m into buf. Returns the length,
     * PB_ERR_RANGE when cap is too small, PB_ERR_UNSUPPORTED for a message this protocol
     * cannot express. encode(decode(frame)) gives back the frame's bytes. */
    int (*encode)(const struct pos_msg *m, uint8_t *buf, size_t cap);
    /* Encodes a receipt of n text lines as one print text block (ZVT 06 D3), where the
     * protocol has such a message; NULL where a terminal prints line by line only (encode
     * of a PB_KIND_PRINT message). type: 0, or enum pb_receipt_type. Returns as encode;
     * the frame decodes as PB_KIND_PRINT with the first line as its text. */
    int (*encode_text_block)(const char *const *lines, size_t n, unsigned type, uint8_t *buf,
                             size_t cap);
    /* Overwrites card data (PAN digits but the first 6 and last 4, track data, expiry)
     * inside one complete wire frame, in place, length unchanged, and recomputes the
     * checksum so a capture still decodes. Returns how many bytes changed. May be NULL
     * for a protocol that carries no card data. Used before captures reach disk. */
    size_t (*redact)(uint8_t *wire, size_t len);
    /* Card numbers travel as packed BCD (ZVT BMP 22 and 23), not only as ASCII digits:
     * bytes that never became a frame are masked for both (pb_mask_unframed). */
    bool bcd_card_data;
    /* Confidence 0..100 that buf (the first bytes seen on a line) speaks this protocol. */
    int (*probe)(const uint8_t *buf, size_t len);
    struct pb_track_rules rules;
    /* How the protocol behaves on the line, for whoever plays a side (discipline.h). */
    const struct pb_discipline *discipline;
    /* Messages in several frames; NULL when the protocol has none. */
    const struct pb_joiner_ops *joiner;
};

/* Whose receipt a print text block holds (ZVT TLV tag 1F07). */
enum pb_receipt_type {
    PB_RECEIPT_MERCHANT = 1,
    PB_RECEIPT_CUSTOMER = 2,
    PB_RECEIPT_ADMIN = 3, /* an administration receipt: end of day, diagnosis */
};

const struct pb_protocol *pb_protocol_find(const char *name);
const struct pb_protocol *const *pb_protocol_list(void);
const char *pb_protocol_names(void);

/* ---- streaming deframer --------------------------------------------------------------- */

struct pb_deframer;

struct pb_deframer_stats {
    uint64_t bytes;           /* every byte fed */
    uint64_t frames;          /* PB_FRAME_DATA delivered */
    uint64_t controls;        /* PB_FRAME_CONTROL delivered */
    uint64_t garbage_bytes;   /* bytes skipped as garbage */
    uint64_t checksum_errors; /* frames delivered with checksum_ok false */
};

/* Called for every frame, control byte and garbage run, in stream order. */
typedef void (*pb_frame_cb)(const struct pb_frame *f, void *ctx);

/* *out = NULL on failure. Returns PB_OK or PB_ERR_NOMEM / PB_ERR_INVAL. */
int pb_deframer_new(const struct pb_protocol *p, struct pb_deframer **out);
void pb_deframer_free(struct pb_deframer *d); /* NULL is fine */
/* Forget buffered bytes (link lost); offsets keep counting. */
void pb_deframer_reset(struct pb_deframer *d);
/* Feeds len bytes. Every byte is taken; the callback runs for each complete item. */
void pb_deframer_feed(struct pb_deframer *d, const uint8_t *buf, size_t len, pb_frame_cb cb,
                      void *ctx);
/* End of stream: bytes still buffered are reported as one garbage run. */
void pb_deframer_flush(struct pb_deframer *d, pb_frame_cb cb, void *ctx);

/* Inter-character timeout: a frame whose bytes stop for longer than this is broken.
 * Length-prefixed framing (MIS-POS) needs it: one flipped bit in LEN makes the frame
 * "longer" and it would swallow every later frame until LEN bytes had passed. At 1200
 * baud a byte takes 8 ms and USB adapters hold bytes for up to ~16 ms, so 500 ms of
 * silence inside a frame is a broken frame, not a slow one. */
#define PB_FRAME_GAP_US 500000

/* pb_deframer_feed() for a caller that knows when the bytes arrived (monotonic us).
 * When bytes of an unfinished frame are held and nothing came for PB_FRAME_GAP_US, that
 * frame is given up first (pb_deframer_expire) so the new bytes start afresh. */
void pb_deframer_feed_at(struct pb_deframer *d, const uint8_t *buf, size_t len, int64_t now_us,
                         pb_frame_cb cb, void *ctx);
/* Gives up the unfinished frame held: its first byte is reported as garbage and the rest
 * scanned again, so complete frames inside the held bytes (a sender's repeat) are still
 * delivered. Nothing stays held. */
void pb_deframer_expire(struct pb_deframer *d, pb_frame_cb cb, void *ctx);
const struct pb_deframer_stats *pb_deframer_stats(const struct pb_deframer *d);

/* ---- helpers shared by the protocol implementations ----------------------------------- */

/* For STX-framed protocols (Concert, PAX, MIS-POS), what stands at buf[0] when it is
 * not STX: one control byte (is_control says which bytes are), or one garbage run up
 * to the next STX or control byte. Returns the bytes consumed, with out->type (and
 * out->control) set, or 0 for an empty buffer. Call it when len == 0 or
 * buf[0] != PB_STX; the frame itself is the protocol's to scan. */
int pb_scan_outside_stx(const uint8_t *buf, size_t len, bool (*is_control)(uint8_t),
                        struct pb_frame *out);

/* The frame a probe() scans into: one per thread, allocated on first use and kept, so
 * that probing, which the streaming detector repeats at every ETX of its window, does
 * not allocate and free a 64 KiB frame each time. NULL only when out of memory. The
 * frame is the caller's until its probe returns; probes do not call each other. */
struct pb_frame *pb_probe_frame(void);

/* XOR of len bytes (Concert, PAX, MIS-POS LRC). */
uint8_t pb_lrc(const uint8_t *buf, size_t len);
/* CRC-16/KERMIT update (poly 0x1021 reflected, init 0): ZVT. */
uint16_t pb_crc16_kermit(uint16_t crc, const uint8_t *buf, size_t len);

/* Control bytes. */
enum {
    PB_STX = 0x02, PB_ETX = 0x03, PB_EOT = 0x04, PB_ENQ = 0x05, PB_ACK = 0x06,
    PB_DLE = 0x10, PB_NAK = 0x15, PB_FS = 0x1C, PB_US = 0x1F,
};

#endif
