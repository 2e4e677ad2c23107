#include "pb_error.h"

const char *pb_strerror(int err)
{
    switch (err) {
    case PB_OK: return "success";
    case PB_ERR_NOMEM: return "out of memory";
    case PB_ERR_INVAL: return "invalid argument";
    case PB_ERR_IO: return "input/output error";
    case PB_ERR_FRAMING: return "framing error";
    case PB_ERR_CHECKSUM: return "checksum mismatch";
    case PB_ERR_TRUNCATED: return "truncated data";
    case PB_ERR_RANGE: return "value out of range";
    case PB_ERR_UNSUPPORTED: return "unsupported";
    case PB_ERR_NOTFOUND: return "not found";
    case PB_ERR_DB: return "journal database error";
    case PB_ERR_AGAIN: return "temporarily unavailable";
    case PB_ERR_SYNTAX: return "syntax error";
    case PB_ERR_CLOSED: return "peer closed";
    case PB_ERR_UNSAFE: return "refused: not a private regular file";
    case PB_ERR_BUSY: return "in use by another process";
    }
    return err > 0 ? "success (count)" : "unknown error";
}
