/* progress: see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct pb_progress {
    char label[64];
    uint64_t total;
    int64_t last_ms;
    int last_pct;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pb_progress *pb_progress_start(const char *label, uint64_t total)
{
    if (total < PB_PROGRESS_MIN_BYTES || !isatty(STDERR_FILENO) || isatty(STDOUT_FILENO))
        return NULL;
    struct pb_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->last_ms = -1000;
    p->last_pct = -1;
    pb_progress_update(p, 0);
    return p;
}

void pb_progress_update(struct pb_progress *p, uint64_t done)
{
    if (!p)
        return;
    if (done > p->total)
        done = p->total;
    int pct = (int)(done * 100 / p->total);
    int64_t t = now_ms();
    if (pct == p->last_pct || (t - p->last_ms < 100 && pct < 100))
        return;
    p->last_ms = t;
    p->last_pct = pct;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = pct * WIDTH / 100;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(WIDTH - fill));
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %.1f of %.1f MiB", p->label, bar, pct,
            (double)done / 1048576.0, (double)p->total / 1048576.0);
    fflush(stderr);
}

void pb_progress_end(struct pb_progress *p)
{
    if (!p)
        return;
    fputs("\r\033[K", stderr); /* erase the bar: the summary line follows */
    fflush(stderr);
    free(p);
}
