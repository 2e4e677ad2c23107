/* lanelock: one owner per lane resource (issue 18, docs/TOOLS.md "One bridge per lane"):
 * a register pty path, a capture path, a terminal or register device.
 *
 *   pb_lanelock_take()     lock PATH.lock (created 0600 through safefile.h) for the life
 *                          of the handle, with this process's pid written in it
 *   pb_lanelock_release()  remove PATH.lock if it is still this handle's file, unlock;
 *                          NULL is fine
 *   pb_lanelock_fd()       lock an open descriptor itself (a serial device)
 *   pb_lanelock_holder()   the pid holding PATH's lock, for the "in use by pid N" message
 *
 * flock(2), not TIOCEXCL: TIOCEXCL does not bind root, flock does. The kernel drops a
 * flock when its holder dies, so the file of a dead bridge is simply taken over. flock is
 * independent of SQLite's fcntl() locks. Descriptors are O_CLOEXEC.
 *
 * Ownership: the handle owns its descriptor and its copy of the path. */
#ifndef PB_LANELOCK_H
#define PB_LANELOCK_H

#include <stddef.h>
#include <sys/types.h>

struct pb_lanelock;

/* Locks "PATH.lock". *out = NULL on failure. Returns PB_OK; PB_ERR_BUSY when another
 * process holds it (*holder, if not NULL, its pid or 0 when unknown); PB_ERR_UNSAFE or
 * PB_ERR_IO with the reason in why[cap] (safefile.h); PB_ERR_NOMEM; PB_ERR_INVAL. */
int pb_lanelock_take(const char *path, struct pb_lanelock **out, pid_t *holder, char *why,
                     size_t cap);
void pb_lanelock_release(struct pb_lanelock *l);

/* flock(fd, LOCK_EX | LOCK_NB). PB_OK (also when the file cannot be locked at all, such
 * as ENOLCK: a lane is not refused for that), or PB_ERR_BUSY with *holder as above. */
int pb_lanelock_fd(int fd, pid_t *holder);

/* Who holds the lock of PATH: the pid written in PATH.lock, or the holder /proc/locks
 * names for PATH.lock or, when there is no PATH.lock, for PATH itself (a device locked by
 * pb_lanelock_fd()). 0 when nobody or not known. Follows no symlink at PATH.lock. */
pid_t pb_lanelock_holder(const char *path);

#endif
