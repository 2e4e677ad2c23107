/* capture: pcapng writer and reader (docs/DESIGN.md decision 7, docs/CAPTURE.md).
 *
 * Writer
 *   pb_capture_open()      create PATH (an existing capture there is rotated away first),
 *                          write the Section Header and one Interface Description Block
 *   pb_capture_chunk()     one Enhanced Packet Block per chunk as read, with its direction
 *   pb_capture_comment()   an event (port lost, port back, bridge restart) as a zero-length
 *                          packet carrying an opt_comment
 *   pb_capture_flush()     write what is buffered
 *   pb_capture_reopen()    after logrotate moved PATH away (SIGHUP): start PATH again
 *   pb_capture_close()     flush and close; NULL is fine
 *   pb_capture_holder()    who holds a capture pb_capture_open() found busy
 *
 * Reader
 *   pb_capture_reader_open()       open a file; format errors surface at the first read
 *   pb_capture_read()              next packet or event: 1, 0 at end, negative on error
 *   pb_capture_reader_error()      what went wrong, naming the byte offset of the block
 *   pb_capture_reader_link_type()  link type of the current section's first interface
 *   pb_capture_reader_close()      NULL is fine
 *   pb_capture_reader_refresh()    follow a file still being written: pick up what grew
 *   pb_capture_reader_moved()      has PATH been rotated away from the file being read?
 *   pb_capture_reader_offset()     file offset of the next block (progress bars)
 *
 * Ownership: the caller owns the buffers it passes in; record data and comment pointers
 * belong to the reader and stay valid until the next pb_capture_read() or close.
 * The writer does not mask card data: callers hand over chunks already redacted. */
#ifndef PB_CAPTURE_H
#define PB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "msg.h"

/* Link types for the Interface Description Block (tcpdump.org LINKTYPE_USERn). Wireshark
 * maps user DLTs to dissectors through its "user_dlts" table; see docs/CAPTURE.md. */
#define PB_CAPTURE_LINKTYPE_ZVT 147     /* LINKTYPE_USER0 */
#define PB_CAPTURE_LINKTYPE_CONCERT 148 /* LINKTYPE_USER1 */
#define PB_CAPTURE_LINKTYPE_NONE 149    /* LINKTYPE_USER2: protocol not known */

/* One EPB carries at most this much data; a longer chunk is split over several. */
#define PB_CAPTURE_MAX_CHUNK (256u * 1024u)

struct pb_capture_opts {
    uint64_t max_size;   /* rotate when the file would grow past this many bytes; 0 = never */
    unsigned max_files;  /* rotated files kept as PATH.1 .. PATH.max_files (0: none kept) */
    bool locked;         /* the caller holds pb_lanelock_take(PATH) already (a bridge takes
                            it at start, before its ports); else the capture takes it */
    const char *if_name; /* interface name shown by Wireshark; NULL: "register<->terminal" */
};

/* What pb_capture_open(path, type, NULL, &c) uses. */
#define PB_CAPTURE_OPTS_DEFAULT \
    { .max_size = 0, .max_files = 5, .locked = false, .if_name = NULL }

struct pb_capture;

/* *out = NULL on failure. Returns PB_OK, PB_ERR_INVAL, PB_ERR_NOMEM, PB_ERR_UNSAFE (what is
 * at PATH is not a private regular file: a symlink, FIFO, device, another user's file, a
 * mode wider than 0600; lane/safefile.h; the reason is logged), PB_ERR_IO (PATH cannot be
 * created; errno kept). Files are created 0600 whatever the umask, at rotation and reopen
 * too, and refused there the same way (then logged, and retried at the next flush). A
 * failure to write the headers is not fatal here: it is logged and retried at the next
 * flush, like any later write error. One writer per PATH: PATH.lock is held from open to
 * close (lane/lanelock.h), unless opts->locked; PB_ERR_BUSY when another process holds
 * it, and pb_capture_holder() names it. */
int pb_capture_open(const char *path, uint16_t link_type, const struct pb_capture_opts *opts,
                    struct pb_capture **out);
/* The pid holding PATH's capture lock, 0 when nobody or not known. */
pid_t pb_capture_holder(const char *path);
/* dir: PB_DIR_ECR is written as inbound (epb_flags 01), PB_DIR_PT as outbound (10),
 * PB_DIR_UNKNOWN without a direction. utc_us: microseconds since 1970 (negative: 0).
 * Returns PB_OK, PB_ERR_INVAL, PB_ERR_NOMEM, or PB_ERR_IO when a flush it triggered failed:
 * the blocks that could not be written are dropped and counted, the file is cut back to
 * its last whole block, and the capture stays usable (a later write notes the loss). */
int pb_capture_chunk(struct pb_capture *c, enum pb_dir dir, int64_t utc_us, const uint8_t *buf,
                     size_t len);
/* text: UTF-8, NUL-terminated; more than 65532 bytes are cut. Returns as pb_capture_chunk. */
int pb_capture_comment(struct pb_capture *c, int64_t utc_us, const char *text);
/* PB_OK or PB_ERR_IO (as above). */
int pb_capture_flush(struct pb_capture *c);
/* Flushes, then if PATH no longer names the open file, closes it and starts a new file at
 * PATH (a new section appended if something non-empty is there). PB_OK or PB_ERR_IO. */
int pb_capture_reopen(struct pb_capture *c);
/* Flushes and closes. Returns the result of the last flush; NULL gives PB_OK. */
int pb_capture_close(struct pb_capture *c);
/* Blocks dropped by write errors and not yet noted in the file (0 when all is well). */
uint64_t pb_capture_lost(const struct pb_capture *c);

/* ---- reader ------------------------------------------------------------------------- */

struct pb_capture_record {
    enum pb_dir dir;       /* from epb_flags; PB_DIR_UNKNOWN when absent or 00/11 */
    int64_t utc_us;        /* microseconds since 1970, whatever the file's resolution */
    const uint8_t *data;   /* captured bytes; len 0 for an event */
    size_t len;
    size_t orig_len;       /* original length stated by the file (>= len when cut) */
    const char *comment;   /* opt_comment, NUL-terminated, or NULL */
    bool is_event;         /* no data, a comment: written by pb_capture_comment() */
    uint16_t link_type;    /* of the packet's interface */
};

struct pb_capture_reader;

/* *out = NULL on failure. PB_OK, PB_ERR_NOTFOUND (no such file), PB_ERR_IO, PB_ERR_NOMEM. */
int pb_capture_reader_open(const char *path, struct pb_capture_reader **out);
/* 1: *rec filled; 0: clean end of file; negative (PB_ERR_TRUNCATED for a file that ends
 * inside a block, PB_ERR_FRAMING for a malformed block, PB_ERR_UNSUPPORTED for another
 * format or version, PB_ERR_IO, PB_ERR_NOMEM): pb_capture_reader_error() says where.
 * After an error every later call returns the same error. */
int pb_capture_read(struct pb_capture_reader *r, struct pb_capture_record *rec);
/* Message for the last error ("" when none). Owned by the reader. */
const char *pb_capture_reader_error(const struct pb_capture_reader *r);
/* Link type of interface 0 of the current section; -1 before one has been read. */
int pb_capture_reader_link_type(const struct pb_capture_reader *r);
void pb_capture_reader_close(struct pb_capture_reader *r);

/* Following a capture the bridge is still writing (posbridge monitor). After
 * pb_capture_read() returned 0, or PB_ERR_TRUNCATED because the writer was part way
 * through a block, this forgets that end, looks at the file's size again, and the next
 * pb_capture_read() resumes at the first block not yet read whole. Returns 1 when the
 * file has grown since it was opened or last refreshed (new bytes past that point), 0
 * when not, or the reader's error when it failed in any other way (which stays). A block
 * cut short that nothing is appending to (a crashed writer) thus gives 0: the caller
 * waits before asking again, never spins. Readers that never call it behave as before. */
int pb_capture_reader_refresh(struct pb_capture_reader *r);
/* True when path no longer names the file being read (renamed by a rotation, removed,
 * or replaced by a new file), false when it does or cannot be checked. */
bool pb_capture_reader_moved(const struct pb_capture_reader *r, const char *path);
/* File offset of the first block not yet read whole; 0 for NULL. */
uint64_t pb_capture_reader_offset(const struct pb_capture_reader *r);

#endif
