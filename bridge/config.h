/* config: the options of `posbridge run`, from an INI file or one key at a time.
 *
 *   pb_config_init()    the defaults (no ports, no protocol, 5 captures, 10 s timers)
 *   pb_config_free()    free the strings; the struct may be init'ed again
 *   pb_config_set()     one key = value, the key being a long option's name
 *   pb_config_is_flag() does this key take true/false (a no_argument option)?
 *   pb_config_parse()   an INI text (section [bridge]) onto a config
 *   pb_config_load()    read a file and pb_config_parse() it
 *
 * Keys are the long options of `posbridge run` but config and help. The file is read
 * with inih: `key = value` lines, `;` and `#` comments, an optional UTF-8 BOM, keys
 * outside any section count as [bridge]. A later key overrides an earlier one.
 *
 * parse and load stop at the first error and write one line, "NAME:LINE: what", into
 * err (control and non-ASCII bytes of the input shown as \xNN); the keys before the
 * error stay applied. Neither prints, exits nor logs; load is the only I/O.
 *
 * Ownership: the string fields are the config's (heap), freed by pb_config_free(). */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "tracker.h"

/* Longest line the INI reader takes, '\n' excluded (inih's INI_MAX_LINE is 200, with
 * its terminating NUL). A longer line is an error, not split in two. */
#define PB_CONFIG_LINE_MAX 199

struct pb_config {
    char *register_spec, *terminal_spec;  /* register, terminal */
    char *register_line, *terminal_line;  /* register-line, terminal-line */
    char *protocol;                       /* a registered name, "auto" or "none" */
    char *journal;
    bool no_journal;
    char *capture;
    uint64_t capture_max_size;            /* bytes; 0: never rotate */
    unsigned capture_files;               /* 1..1000 */
    bool capture_clear;
    char *events;
    char *on_discrepancy;
    uint32_t alert_timeout_ms;            /* given in seconds; never 0 */
    unsigned alert_burst;                 /* 0..1000, 0: no burst alerts */
    unsigned alert_max;                   /* alert programs at once, 1..1000 */
    uint32_t shutdown_wait_ms;            /* given in seconds */
    struct pb_tracker_config tracker;     /* the *-timeout keys, duplicate-window, ... */
    enum pb_log_level log_level;
    bool syslog;
    bool quiet;
};

void pb_config_init(struct pb_config *c);
void pb_config_free(struct pb_config *c);

/* PB_OK; PB_ERR_NOTFOUND for an unknown key; PB_ERR_SYNTAX for a value the key does not
 * take (a flag takes true/yes/1 or false/no/0); PB_ERR_NOMEM. On error c is unchanged. */
int pb_config_set(struct pb_config *c, const char *key, const char *value);
bool pb_config_is_flag(const char *key);

/* text: len bytes, NUL bytes included (inih ends a line's text at one). name: for the
 * messages. Returns PB_OK, PB_ERR_SYNTAX (err says where and what) or PB_ERR_NOMEM. */
int pb_config_parse(struct pb_config *c, const char *name, const char *text, size_t len,
                    char *err, size_t errlen);

/* As parse, on the file at path. PB_ERR_IO when it cannot be read (err: "cannot read
 * config PATH: reason", errno kept). */
int pb_config_load(struct pb_config *c, const char *path, char *err, size_t errlen);

#endif
