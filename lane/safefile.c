/* safefile: output files that cannot be turned against the program writing them. See
 * safefile.h for what is refused; docs/TOOLS.md "Output files" for the fixes.
 *
 * The order matters. An existing file is judged by lstat() before it is opened at all, so
 * a FIFO or a device is never opened (a FIFO with no reader blocks open(2) for ever; a
 * device may act on open). It is then opened with O_NOFOLLOW and O_NONBLOCK, and fstat()
 * must show the same inode, judged again: what was swapped in between is caught either by
 * O_NOFOLLOW (ELOOP) or by the inode. O_TRUNC is applied last, by ftruncate(), so a file
 * that is refused keeps every byte. */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb_error.h"

#define WIDEST 0600u
#define TRIES 3 /* a path that changes under us this often is refused */
#define CHANGED (-1000) /* open_existing(): the path changed under us, look again */

__attribute__((format(printf, 4, 5))) static int say(char *why, size_t cap, int rc,
                                                     const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *kind_name(mode_t m)
{
    return S_ISLNK(m)    ? "a symbolic link"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISDIR(m)  ? "a directory"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* "uid 65534 (nobody)" */
static void user_name(uid_t uid, char *buf, size_t cap)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, cap, "uid %lu (%s)", (unsigned long)uid, res->pw_name);
    else
        snprintf(buf, cap, "uid %lu", (unsigned long)uid);
}

/* PB_OK, or PB_ERR_UNSAFE with the reason and its fix. */
static int judge(const char *path, const struct stat *st, char *why, size_t cap)
{
    if (S_ISLNK(st->st_mode)) {
        char to[256];
        ssize_t n = readlink(path, to, sizeof to - 1);
        to[n > 0 ? n : 0] = '\0';
        return say(why, cap, PB_ERR_UNSAFE,
                   "refusing %s: a symbolic link%s%s; remove it, or give the path of a "
                   "regular file",
                   path, n > 0 ? " to " : "", to);
    }
    if (!S_ISREG(st->st_mode))
        return say(why, cap, PB_ERR_UNSAFE,
                   "refusing %s: %s, not a regular file; remove it or choose another path",
                   path, kind_name(st->st_mode));
    if (st->st_uid != geteuid()) {
        char owner[300], me[300];
        user_name(st->st_uid, owner, sizeof owner);
        user_name(geteuid(), me, sizeof me);
        return say(why, cap, PB_ERR_UNSAFE,
                   "refusing %s: owned by %s, not by %s who runs this; chown it or remove it",
                   path, owner, me);
    }
    if ((st->st_mode & 07777u) & ~WIDEST)
        return say(why, cap, PB_ERR_UNSAFE,
                   "refusing %s: mode %04o, wider than 0600; chmod 600 it or remove it", path,
                   (unsigned)(st->st_mode & 07777u));
    if (st->st_nlink > 1)
        return say(why, cap, PB_ERR_UNSAFE,
                   "refusing %s: %lu hard links, so another name can read or change it; "
                   "remove it",
                   path, (unsigned long)st->st_nlink);
    return PB_OK;
}

int pb_safefile_check(const char *path, char *why, size_t cap)
{
    if (!path || !*path)
        return PB_ERR_INVAL;
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? PB_OK
                               : say(why, cap, PB_ERR_IO, "cannot check %s: %s", path,
                                     strerror(errno));
    return judge(path, &st, why, cap);
}

static int fail_close(int fd, int rc)
{
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The file exists (EEXIST): judge it, open it without following or blocking, and make
 * sure the inode opened is the one judged. CHANGED: it went away or was replaced. */
static int open_existing(const char *path, int base, char *why, size_t cap)
{
    struct stat ls, fs;
    if (lstat(path, &ls) < 0)
        return errno == ENOENT ? CHANGED
                               : say(why, cap, PB_ERR_IO, "cannot open %s: %s", path,
                                     strerror(errno));
    int rc = judge(path, &ls, why, cap);
    if (rc != PB_OK)
        return rc;
    int fd = open(path, base | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return CHANGED;
        if (errno == ELOOP) { /* became a symlink after the lstat() */
            ls.st_mode = S_IFLNK;
            return judge(path, &ls, why, cap);
        }
        return say(why, cap, PB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &fs) < 0)
        return fail_close(fd, say(why, cap, PB_ERR_IO, "cannot open %s: %s", path,
                                  strerror(errno)));
    if (fs.st_dev != ls.st_dev || fs.st_ino != ls.st_ino) {
        close(fd);
        return CHANGED; /* replaced in between: judge the new one */
    }
    if ((rc = judge(path, &fs, why, cap)) != PB_OK) {
        close(fd);
        return rc;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return fail_close(fd, say(why, cap, PB_ERR_IO, "cannot open %s: %s", path,
                                  strerror(errno)));
    return fd;
}

int pb_safefile_open(const char *path, int flags, char *why, size_t cap)
{
    int acc = flags & O_ACCMODE;
    if (!path || !*path || (acc != O_WRONLY && acc != O_RDWR) ||
        (flags & ~(O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL)))
        return PB_ERR_INVAL;
    int base = acc | (flags & O_APPEND) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    for (int i = 0; i < TRIES; i++) {
        /* O_EXCL with O_CREAT never follows a symlink, dangling or not. */
        int fd = open(path, base | O_CREAT | O_EXCL, WIDEST);
        if (fd >= 0) {
            /* Exactly 0600 whatever the umask: these files hold payment traffic. */
            if (fchmod(fd, WIDEST) < 0)
                return fail_close(fd, say(why, cap, PB_ERR_IO, "cannot chmod %s: %s", path,
                                          strerror(errno)));
            return fd;
        }
        if (errno != EEXIST || (flags & O_EXCL))
            return say(why, cap, PB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        fd = open_existing(path, base, why, cap);
        if (fd == CHANGED)
            continue;
        if (fd >= 0 && (flags & O_TRUNC) && ftruncate(fd, 0) < 0)
            return fail_close(fd, say(why, cap, PB_ERR_IO, "cannot truncate %s: %s", path,
                                      strerror(errno)));
        return fd;
    }
    errno = EAGAIN;
    return say(why, cap, PB_ERR_IO, "cannot open %s: it changed %d times while being opened",
               path, TRIES);
}

int pb_safefile_fopen(const char *path, int flags, FILE **out, char *why, size_t cap)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = NULL;
    int fd = pb_safefile_open(path, flags, why, cap);
    if (fd < 0)
        return fd;
    bool rw = (flags & O_ACCMODE) == O_RDWR;
    const char *mode = (flags & O_APPEND) ? (rw ? "a+" : "a") : (rw ? "r+" : "w");
    *out = fdopen(fd, mode);
    if (!*out)
        return fail_close(fd, say(why, cap, PB_ERR_NOMEM, "cannot open %s: %s", path,
                                  strerror(errno)));
    return PB_OK;
}
