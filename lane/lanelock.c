/* lanelock: flock-based ownership of a lane's ports and capture. See lanelock.h.
 *
 * A lock file is removed by its owner when it lets go, so a taker must make sure the file
 * it locked is still the one the path names: otherwise it would hold a lock on a removed
 * file while the next bridge creates and locks a new one at the path. The owner removes
 * the file before it unlocks, so a taker that got the lock and still sees its inode at
 * the path is the only owner. */
#include "lanelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pb_error.h"
#include "safefile.h"

#define TRIES 5 /* lock files removed under us this often: give up */

struct pb_lanelock {
    char *path; /* PATH.lock */
    int fd;
};

static char *lock_name(const char *path)
{
    size_t n = strlen(path) + sizeof ".lock";
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s.lock", path);
    return s;
}

/* The pid of a FLOCK on (dev, ino) in /proc/locks, 0 when none. Lines look like
 * "1: FLOCK  ADVISORY  WRITE 16860 fe:00:10952719 0 EOF"; waiters ("1: -> FLOCK ...")
 * are skipped. */
static pid_t proc_locks_holder(dev_t dev, ino_t ino)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    char line[256], type[16];
    long pid;
    unsigned maj, min;
    unsigned long long in;
    pid_t found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", type, &pid, &maj, &min, &in) == 5 &&
            strcmp(type, "FLOCK") == 0 && maj == major(dev) && min == minor(dev) &&
            in == (unsigned long long)ino && pid > 0)
            found = (pid_t)pid;
    }
    fclose(f);
    return found;
}

/* The pid a lock file's owner wrote in it; else who /proc/locks says holds it. */
static pid_t fd_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    long pid = strtol(buf, NULL, 10);
    if (pid > 0)
        return (pid_t)pid;
    struct stat st;
    return fstat(fd, &st) == 0 ? proc_locks_holder(st.st_dev, st.st_ino) : 0;
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int pb_lanelock_take(const char *path, struct pb_lanelock **out, pid_t *holder, char *why,
                     size_t cap)
{
    if (holder)
        *holder = 0;
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    if (!path || !*path)
        return PB_ERR_INVAL;
    struct pb_lanelock *l = calloc(1, sizeof *l);
    if (!l || !(l->path = lock_name(path))) {
        free(l);
        return PB_ERR_NOMEM;
    }
    int rc = PB_ERR_IO;
    for (int i = 0; i < TRIES; i++) {
        int fd = pb_safefile_open(l->path, O_RDWR, why, cap);
        if (fd < 0) {
            rc = fd;
            goto fail;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            if (e == EWOULDBLOCK && holder)
                *holder = fd_holder(fd);
            close(fd);
            if (e == EWOULDBLOCK) {
                rc = PB_ERR_BUSY;
                if (why && cap)
                    snprintf(why, cap, "%s is held by another process", l->path);
            } else if (why && cap) {
                snprintf(why, cap, "cannot lock %s: %s", l->path, strerror(e));
            }
            errno = e;
            goto fail;
        }
        if (!same_file(fd, l->path)) {
            close(fd); /* its owner removed it after we opened it: lock what is there now */
            continue;
        }
        char pid[24];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            /* The lock holds without the pid; the message then asks /proc/locks. */
        }
        l->fd = fd;
        *out = l;
        return PB_OK;
    }
    if (why && cap)
        snprintf(why, cap, "cannot lock %s: removed under us %d times", l->path, TRIES);
fail:
    free(l->path);
    free(l);
    return rc;
}

void pb_lanelock_release(struct pb_lanelock *l)
{
    if (!l)
        return;
    /* Remove before unlocking (see the top of the file); never a file that replaced ours. */
    if (same_file(l->fd, l->path))
        (void)unlink(l->path);
    close(l->fd);
    free(l->path);
    free(l);
}

int pb_lanelock_fd(int fd, pid_t *holder)
{
    if (holder)
        *holder = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
        return PB_OK;
    struct stat st;
    if (holder && fstat(fd, &st) == 0)
        *holder = proc_locks_holder(st.st_dev, st.st_ino);
    return PB_ERR_BUSY;
}

pid_t pb_lanelock_holder(const char *path)
{
    if (!path)
        return 0;
    char *name = lock_name(path);
    if (!name)
        return 0;
    pid_t pid = 0;
    int fd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd >= 0) {
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            pid = fd_holder(fd);
        close(fd);
    } else if (errno == ENOENT && stat(path, &st) == 0) {
        pid = proc_locks_holder(st.st_dev, st.st_ino);
    }
    free(name);
    return pid;
}
