#include "log.h"

#include <stdio.h>
#include <syslog.h>
#include <time.h>

static enum pb_log_level min_level = PB_LOG_INFO;
static enum pb_log_sink sink = PB_LOG_STDERR;
static const char *ident = "posbridge";
static pb_log_cb sink_cb;
static void *sink_ctx;

void pb_log_set_level(enum pb_log_level level)
{
    min_level = level;
}

enum pb_log_level pb_log_get_level(void)
{
    return min_level;
}

void pb_log_set_sink(enum pb_log_sink s, const char *id, pb_log_cb cb, void *ctx)
{
    if (id)
        ident = id;
    sink = s;
    sink_cb = cb;
    sink_ctx = ctx;
    if (s == PB_LOG_SYSLOG)
        openlog(ident, LOG_PID, LOG_DAEMON);
}

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void pb_vlog(enum pb_log_level level, const char *fmt, va_list ap)
{
    if (level < min_level)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    switch (sink) {
    case PB_LOG_CALLBACK:
        if (sink_cb)
            sink_cb(level, msg, sink_ctx);
        break;
    case PB_LOG_SYSLOG: {
        static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
        syslog(prio[level], "%s", msg);
        break;
    }
    case PB_LOG_STDERR:
    default: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s: %s\n", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, ident, level_names[level], msg);
        break;
    }
    }
}

void pb_log(enum pb_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_vlog(level, fmt, ap);
    va_end(ap);
}
