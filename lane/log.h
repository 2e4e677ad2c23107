/* log: the one logging module (docs/STYLE.md 10). Leveled, printf-checked, one sink.
 *
 *   pb_log_set_level()   messages below it are dropped (default PB_LOG_INFO)
 *   pb_log_set_sink()    stderr (default), syslog, or a callback (tests)
 *   pb_log()             one message; a newline is added
 *
 * Never log card data in clear: log pos_msg fields (already masked), never raw frames. */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stdarg.h>

enum pb_log_level { PB_LOG_DEBUG = 0, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR };

enum pb_log_sink { PB_LOG_STDERR, PB_LOG_SYSLOG, PB_LOG_CALLBACK };

typedef void (*pb_log_cb)(enum pb_log_level level, const char *msg, void *ctx);

void pb_log_set_level(enum pb_log_level level);
enum pb_log_level pb_log_get_level(void);
/* ident: program name for the stderr prefix and syslog. cb/ctx only for PB_LOG_CALLBACK. */
void pb_log_set_sink(enum pb_log_sink sink, const char *ident, pb_log_cb cb, void *ctx);
void pb_log(enum pb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pb_vlog(enum pb_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)
#define pb_info(...) pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_warn(...) pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_error(...) pb_log(PB_LOG_ERROR, __VA_ARGS__)

#endif
