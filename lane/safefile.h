/* safefile: how posbridge and possim open every file they write (issue 18, docs/TOOLS.md
 * "Output files").
 *
 *   pb_safefile_open()    open or create an output file, as open(2) with O_CREAT would,
 *                         but never through a symlink, only a regular file, created 0600
 *                         whatever the umask, and an existing file only when it is ours
 *   pb_safefile_fopen()   the same as a stdio stream
 *   pb_safefile_check()   the checks alone, for a file another library opens (SQLite)
 *
 * What is refused, with the fix in the message (PB_ERR_UNSAFE):
 *   - a symbolic link as the last component (a planted link would make a root bridge
 *     write wherever it points);
 *   - anything but a regular file: FIFO (would also hang the opener), device, directory,
 *     socket;
 *   - a file owned by another user than the effective one;
 *   - a mode wider than 0600 ("chmod 600 it or remove it");
 *   - a file with more than one hard link (another name reads or changes it).
 * A file that is refused is not modified: O_TRUNC is applied after the checks.
 * Directories above the last component are followed as usual.
 *
 * Messages go into why[cap] (may be NULL), one line without a trailing newline:
 *   "refusing /x/lane.pcapng: mode 0644, wider than 0600; chmod 600 it or remove it"
 *   "cannot create /x/lane.pcapng: No such file or directory" */
#ifndef PB_SAFEFILE_H
#define PB_SAFEFILE_H

#include <stddef.h>
#include <stdio.h>

/* flags: O_WRONLY or O_RDWR, plus any of O_APPEND, O_TRUNC (empty the file once it passed
 * the checks) and O_EXCL (the file must not exist: errno EEXIST). O_CREAT, O_NOFOLLOW,
 * O_CLOEXEC and O_NOCTTY are always added; other flags are PB_ERR_INVAL.
 * Returns a blocking descriptor (>= 0) the caller closes, or PB_ERR_UNSAFE (refused),
 * PB_ERR_IO (errno kept), PB_ERR_INVAL. */
int pb_safefile_open(const char *path, int flags, char *why, size_t cap);

/* pb_safefile_open() then fdopen(): "a" with O_APPEND, else "w" (or "w+"/"a+" with
 * O_RDWR). *out = NULL on failure; returns as pb_safefile_open(), or PB_ERR_NOMEM. */
int pb_safefile_fopen(const char *path, int flags, FILE **out, char *why, size_t cap);

/* PB_OK when nothing is at path, or when what is there would be accepted by
 * pb_safefile_open(); else PB_ERR_UNSAFE, or PB_ERR_IO when lstat() fails otherwise. */
int pb_safefile_check(const char *path, char *why, size_t cap);

#endif
