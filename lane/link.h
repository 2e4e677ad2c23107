/* link: one port, whatever its kind (docs/DESIGN.md decision 5), non-blocking, pollable.
 *
 *   pb_line_parse()      "9600,8N1" / "9600,7E1" / "115200,8N2" into struct pb_line
 *   pb_link_open()       open a port spec; the link may start down (port absent) and
 *                        comes up through pb_link_reopen()
 *   pb_link_fd()         descriptor to poll for input, -1 while down
 *   pb_link_read/write   non-blocking; PB_ERR_AGAIN, PB_ERR_CLOSED (port lost)
 *   pb_link_reopen()     try to bring a lost port back; PB_ERR_AGAIN while absent
 *   pb_link_close()      NULL is fine
 *   pb_link_backoff_ms() how long the caller should wait before the next reopen
 *   pb_link_holder()     who holds a port pb_link_open() found busy
 *
 * Port specs:
 *   /dev/ttyUSB0, /dev/ttyACM0, /dev/serial/by-id/...  libserialport (real serial)
 *   /dev/pts/N, or any path libserialport cannot open   termios on the path (existing pty)
 *   pty:PATH     create a pseudo-terminal, symlink PATH to its slave; we hold the master
 *   PATH@9600,7E1   line settings inside the spec (override the separate option)
 *   tcp:HOST:PORT          connect to a terminal (or bridge) on the LAN; the link is down
 *                          while nobody answers and comes back with pb_link_reopen()
 *   tcp-listen:ADDR:PORT   listen (ADDR * for every address); the link is up while one
 *                          peer is connected, down between connections (a register that
 *                          connects per transaction); a second peer waits its turn
 * A TCP link has no line settings and no modem lines; the peer closing its connection is
 * the port lost, as an unplugged cable.
 *
 * One owner per port (docs/TOOLS.md "One bridge per lane"): a device is flock()ed while
 * open, and pty:PATH holds PATH.lock (0600, the pid in it) from open to close, so a
 * second bridge cannot replace the symlink of a running one. Closing removes only what
 * the link owns: its symlink if it still points at its pty, its own lock file.
 */
#ifndef PB_LINK_H
#define PB_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pb_line {
    unsigned baud;      /* a standard rate, 300 .. 921600 */
    unsigned data_bits; /* 5..8 */
    char parity;        /* 'N', 'E', 'O' */
    unsigned stop_bits; /* 1 or 2 */
};

enum pb_link_kind { PB_LINK_SERIAL, PB_LINK_TERMIOS, PB_LINK_PTY, PB_LINK_TCP, PB_LINK_TCP_LISTEN };

struct pb_link;

/* Returns PB_OK or PB_ERR_SYNTAX; *err (if not NULL) points at a static message. */
int pb_line_parse(const char *text, struct pb_line *out, const char **err);
/* "9600,8N1" into buf. */
void pb_line_format(const struct pb_line *l, char *buf, size_t cap);

/* spec as above; line used unless the spec carries its own. *out = NULL on failure.
 * Returns PB_OK (link up), PB_ERR_AGAIN (link created but port absent: retry later),
 * PB_ERR_SYNTAX (bad spec), PB_ERR_BUSY (another process owns the port or the pty path:
 * pb_link_holder() names it), PB_ERR_UNSAFE (PATH.lock is not a private regular file),
 * PB_ERR_IO (cannot create a pty / symlink). A device found busy by a later
 * pb_link_reopen() is PB_ERR_AGAIN there, like an absent one. */
int pb_link_open(const char *spec, const struct pb_line *line, struct pb_link **out);
/* The pid holding spec's port or pty path, 0 when nobody or not known. */
pid_t pb_link_holder(const char *spec);
void pb_link_close(struct pb_link *l);
int pb_link_fd(const struct pb_link *l);
bool pb_link_is_up(const struct pb_link *l);
enum pb_link_kind pb_link_kind(const struct pb_link *l);
const char *pb_link_name(const struct pb_link *l); /* the spec as given */
/* For pty: the path register software opens (the symlink), else the device path. */
const char *pb_link_path(const struct pb_link *l);
/* > 0 bytes read; PB_ERR_AGAIN nothing now; PB_ERR_CLOSED the port went away (the link
 * is then down and its fd closed). */
ssize_t pb_link_read(struct pb_link *l, void *buf, size_t cap);
/* >= 0 bytes written (may be fewer than len); PB_ERR_AGAIN; PB_ERR_CLOSED. */
ssize_t pb_link_write(struct pb_link *l, const void *buf, size_t len);
/* PB_OK when up again, PB_ERR_AGAIN while the port is still absent. */
int pb_link_reopen(struct pb_link *l);
/* Marks the link down (closes the fd) as if the port had gone: for tests and faults. */
void pb_link_drop(struct pb_link *l);
/* Delay before the next pb_link_reopen() attempt: 100 ms, doubling after each failed
 * reopen up to 5000 ms, back to 100 ms once the port is up. The caller owns the timer. */
int pb_link_backoff_ms(const struct pb_link *l);
/* Why the last open or reopen found a serial device absent (the errno: ENOENT, EACCES,
 * EBUSY, EIO...; 0 when up, for other kinds, or not known), and that reason in words for a
 * technician's log ("permission denied (...)"; "not there yet" for 0 and ENOENT). */
int pb_link_down_errno(const struct pb_link *l);
const char *pb_link_absent_text(int e);

#endif
