/* Fuzz harness for the config parser (bridge/config.c): any bytes either parse into a
 * config whose values are all in range, or fail with exactly one line "fuzz.ini:LINE: ..."
 * where LINE is a line of the input. abort() on a broken invariant. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pb_error.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: invariant broken at %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_string(const char *s)
{
    /* A value is one line's text after inih's trimming: no line end, short. */
    CHECK(!s || (strlen(s) <= PB_CONFIG_LINE_MAX && !strchr(s, '\n')));
}

static void check_values(const struct pb_config *c)
{
    check_string(c->register_spec);
    check_string(c->terminal_spec);
    check_string(c->register_line);
    check_string(c->terminal_line);
    check_string(c->journal);
    check_string(c->capture);
    check_string(c->events);
    check_string(c->on_discrepancy);
    check_string(c->protocol);
    CHECK(!c->protocol || strcmp(c->protocol, "auto") == 0 || strcmp(c->protocol, "none") == 0 ||
          pb_protocol_find(c->protocol));
    CHECK(c->capture_files >= 1 && c->capture_files <= 1000);
    CHECK(c->alert_timeout_ms >= 1000 && c->alert_timeout_ms % 1000 == 0);
    CHECK(c->shutdown_wait_ms % 1000 == 0);
    CHECK(c->log_level == PB_LOG_DEBUG || c->log_level == PB_LOG_INFO ||
          c->log_level == PB_LOG_WARN || c->log_level == PB_LOG_ERROR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pb_config c;
    pb_config_init(&c);
    char err[512];
    memset(err, 0x55, sizeof err);
    int r = pb_config_parse(&c, "fuzz.ini", (const char *)data, size, err, sizeof err);
    if (r == PB_OK) {
        check_values(&c);
    } else {
        CHECK(r == PB_ERR_SYNTAX);
        CHECK(memchr(err, '\0', sizeof err));
        CHECK(strncmp(err, "fuzz.ini:", 9) == 0);
        char *end;
        unsigned long line = strtoul(err + 9, &end, 10);
        CHECK(end > err + 9 && *end == ':' && end[1] == ' ' && end[2] != '\0');
        /* The line named exists: the input has at least line - 1 line ends before it. */
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n' && i + 1 < size;
        CHECK(line >= 1 && line <= lines);
        for (const char *p = err; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7F); /* one line of printable text */
    }
    pb_config_free(&c);
    return 0;
}
