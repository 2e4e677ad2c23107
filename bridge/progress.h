/* progress: a progress bar on standard error for long inputs (posbridge decode), shown
 * only when stderr is a terminal and stdout is not (the decoded lines would otherwise
 * tear it), and only for inputs of at least PB_PROGRESS_MIN_BYTES.
 *
 *   pb_progress_start()   decide whether to show one; NULL when not (all calls accept it)
 *   pb_progress_update()  bytes done so far; redrawn at most every 100 ms
 *   pb_progress_end()     erase the bar and free; NULL is fine */
#ifndef PB_PROGRESS_H
#define PB_PROGRESS_H

#include <stdint.h>

#define PB_PROGRESS_MIN_BYTES (1024u * 1024u)

struct pb_progress;

/* label: shown before the bar (copied). total: bytes expected. */
struct pb_progress *pb_progress_start(const char *label, uint64_t total);
void pb_progress_update(struct pb_progress *p, uint64_t done);
void pb_progress_end(struct pb_progress *p);

#endif
