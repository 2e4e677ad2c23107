/* pb_error: the one project-wide error enum.
 *
 *   pb_strerror()   text for a code; never NULL, never to be freed.
 *
 * Convention (docs/STYLE.md 2): 0 success, positive a count, negative one of these codes.
 * A decline, a NAK or an abort on the wire is data, never one of these. */
#ifndef PB_ERROR_H
#define PB_ERROR_H

enum pb_err {
    PB_OK = 0,
    PB_ERR_NOMEM = -1,       /* allocation failed */
    PB_ERR_INVAL = -2,       /* bad argument from the caller */
    PB_ERR_IO = -3,          /* system call failed; errno kept by the caller for the log */
    PB_ERR_FRAMING = -4,     /* bytes are not a frame here: resync by skipping one byte */
    PB_ERR_CHECKSUM = -5,    /* frame delimited, checksum wrong */
    PB_ERR_TRUNCATED = -6,   /* a length inside the frame runs past its end */
    PB_ERR_RANGE = -7,       /* value out of range, buffer too small */
    PB_ERR_UNSUPPORTED = -8, /* well-formed but not something we handle */
    PB_ERR_NOTFOUND = -9,    /* no such port, protocol, record, file */
    PB_ERR_DB = -10,         /* SQLite failed; its message is logged where it happened */
    PB_ERR_AGAIN = -11,      /* try later: would block, port not back yet */
    PB_ERR_SYNTAX = -12,     /* text input (hex, scenario, config) does not parse */
    PB_ERR_CLOSED = -13,     /* the peer went away (hang-up, EOF, device removed) */
    PB_ERR_UNSAFE = -14,     /* an output path refused: a link, not a regular file, another
                                owner, or a mode wider than 0600 (lane/safefile.h) */
    PB_ERR_BUSY = -15,       /* held by another process: a lane's port, capture, journal */
};

const char *pb_strerror(int err);

#endif
