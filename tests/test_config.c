/* Tests for bridge/config.c: the [bridge] INI file of `posbridge run` and its keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "pb_error.h"

static char err[512];

/* Parses text (a string) into a fresh config; returns the code, the config in *c. */
static int parse(struct pb_config *c, const char *text)
{
    pb_config_init(c);
    err[0] = '\0';
    return pb_config_parse(c, "lane.ini", text, strlen(text), err, sizeof err);
}

/* Parses text, which must fail; err must be exactly want. */
static void fails(const char *text, const char *want)
{
    struct pb_config c;
    assert_int_equal(parse(&c, text), PB_ERR_SYNTAX);
    assert_string_equal(err, want);
    assert_null(strchr(err, '\n'));
    pb_config_free(&c);
}

static void test_defaults_and_empty(void **state)
{
    (void)state;
    struct pb_config c;
    assert_int_equal(parse(&c, ""), PB_OK);
    assert_string_equal(err, "");
    assert_null(c.protocol);
    assert_null(c.register_spec);
    assert_int_equal(c.capture_files, 5);
    assert_int_equal(c.alert_timeout_ms, 10000);
    assert_int_equal(c.alert_burst, 10);
    assert_int_equal(c.alert_max, 4);
    assert_int_equal(c.shutdown_wait_ms, 10000);
    assert_int_equal(c.log_level, PB_LOG_INFO);
    assert_false(c.no_journal);
    pb_config_free(&c);
    /* Comments, blank lines and a section with no keys set nothing. */
    assert_int_equal(parse(&c, "; a lane\n\n# nothing yet\n[bridge]\n\n"), PB_OK);
    assert_null(c.protocol);
    pb_config_free(&c);
}

static void test_every_key(void **state)
{
    (void)state;
    struct pb_config c;
    const char *text = "[bridge]\n"
                       "register = pty:/run/ecr\n"
                       "terminal = /dev/ttyUSB0\n"
                       "register-line = 9600,7E1\n"
                       "terminal-line = 9600,8N2\n"
                       "protocol = zvt\n"
                       "journal = /var/lib/j.db\n"
                       "no-journal = yes\n"
                       "capture = /var/log/l.pcapng\n"
                       "capture-max-size = 64M\n"
                       "capture-files = 1000\n"
                       "capture-clear = 1\n"
                       "events = -\n"
                       "on-discrepancy = /usr/local/bin/notify\n"
                       "alert-timeout = 3\n"
                       "alert-burst = 0\n"
                       "alert-max = 2\n"
                       "shutdown-wait = 0\n"
                       "accept-timeout = 1500\n"
                       "response-timeout = 90000\n"
                       "completion-timeout = 4294967295\n"
                       "register-timeout = 60000\n"
                       "duplicate-window = 0\n"
                       "undercharge-is-partial = true\n"
                       "log-level = debug\n"
                       "syslog = true\n"
                       "quiet = TRUE\n";
    /* The last line: flags are lower case; it is the one error. */
    assert_int_equal(parse(&c, text), PB_ERR_SYNTAX);
    assert_string_equal(err, "lane.ini:27: quiet takes true or false, not 'TRUE'");
    assert_string_equal(c.register_spec, "pty:/run/ecr");
    assert_string_equal(c.terminal_spec, "/dev/ttyUSB0");
    assert_string_equal(c.register_line, "9600,7E1");
    assert_string_equal(c.terminal_line, "9600,8N2");
    assert_string_equal(c.protocol, "zvt");
    assert_string_equal(c.journal, "/var/lib/j.db");
    assert_true(c.no_journal);
    assert_string_equal(c.capture, "/var/log/l.pcapng");
    assert_int_equal(c.capture_max_size, 64ull << 20);
    assert_int_equal(c.capture_files, 1000);
    assert_true(c.capture_clear);
    assert_string_equal(c.events, "-");
    assert_string_equal(c.on_discrepancy, "/usr/local/bin/notify");
    assert_int_equal(c.alert_timeout_ms, 3000);
    assert_int_equal(c.alert_burst, 0);
    assert_int_equal(c.alert_max, 2);
    assert_int_equal(c.shutdown_wait_ms, 0);
    assert_int_equal(c.tracker.accept_timeout_ms, 1500);
    assert_int_equal(c.tracker.response_timeout_ms, 90000);
    assert_int_equal(c.tracker.completion_timeout_ms, UINT32_MAX);
    assert_int_equal(c.tracker.register_timeout_ms, 60000);
    assert_int_equal(c.tracker.duplicate_window_ms, 0);
    assert_true(c.tracker.undercharge_is_partial);
    assert_int_equal(c.log_level, PB_LOG_DEBUG);
    assert_true(c.syslog);
    assert_false(c.quiet);
    pb_config_free(&c);
    assert_null(c.protocol); /* free leaves no dangling pointers */
}

static void test_example_file(void **state)
{
    (void)state;
    /* The example shipped in contrib/, as an integrator starts from it. */
    struct pb_config c;
    pb_config_init(&c);
    int r = pb_config_load(&c, "contrib/lane1.ini.example", err, sizeof err);
    assert_int_equal(r, PB_OK);
    assert_string_equal(c.protocol, "zvt");
    assert_string_equal(c.terminal_line, "9600,8N2");
    assert_int_equal(c.capture_max_size, 64ull << 20);
    assert_int_equal(c.capture_files, 10);
    assert_int_equal(c.tracker.duplicate_window_ms, 120000);
    assert_null(c.on_discrepancy); /* commented out */
    pb_config_free(&c);
}

static void test_syntax_of_lines(void **state)
{
    (void)state;
    struct pb_config c;
    /* Keys before any section count as [bridge]; blanks around = and inline ; comments
     * go; a UTF-8 BOM is skipped; CRLF line ends work; a later key overrides. */
    assert_int_equal(parse(&c, "\xef\xbb\xbfprotocol=concert\r\n[bridge]\r\n"
                               "  protocol   =   zvt   ; the lane's terminal\r\n"
                               "capture-files = 7\r\ncapture-files = 8\r\n"),
                     PB_OK);
    assert_string_equal(c.protocol, "zvt");
    assert_int_equal(c.capture_files, 8);
    pb_config_free(&c);
    /* A flag set then cleared. */
    assert_int_equal(parse(&c, "syslog = yes\nsyslog = no\nquiet = 1\nquiet = 0\n"), PB_OK);
    assert_false(c.syslog);
    assert_false(c.quiet);
    pb_config_free(&c);
    /* No final newline. */
    assert_int_equal(parse(&c, "[bridge]\nprotocol = pax"), PB_OK);
    assert_string_equal(c.protocol, "pax");
    pb_config_free(&c);
    /* An empty value for a string key is an empty string (as --journal= is). */
    assert_int_equal(parse(&c, "journal =\n"), PB_OK);
    assert_string_equal(c.journal, "");
    pb_config_free(&c);
}

static void test_unknown_key_and_section(void **state)
{
    (void)state;
    fails("[bridge]\nprotocol = zvt\n\ncolour = blue\n", "lane.ini:4: unknown key 'colour'");
    fails("[lane]\nprotocol = zvt\n", "lane.ini:2: unknown section [lane] (expected [bridge])");
    /* Options of the command line only are no keys. */
    fails("config = other.ini\n", "lane.ini:1: unknown key 'config'");
    fails("help = true\n", "lane.ini:1: unknown key 'help'");
    /* Key names are case sensitive, as the long options are. */
    fails("Protocol = zvt\n", "lane.ini:1: unknown key 'Protocol'");
    /* A section header alone names no key, so is not yet an error. */
    struct pb_config c;
    assert_int_equal(parse(&c, "[lane]\n"), PB_OK);
    pb_config_free(&c);
}

static void test_bad_values(void **state)
{
    (void)state;
    fails("[bridge]\nalert-timeout = -3\n", "lane.ini:2: invalid value '-3' for alert-timeout");
    fails("alert-timeout = 0\n", "lane.ini:1: invalid value '0' for alert-timeout");
    fails("capture-files = 0\n", "lane.ini:1: invalid value '0' for capture-files");
    fails("capture-files = 1001\n", "lane.ini:1: invalid value '1001' for capture-files");
    fails("alert-burst = 1001\n", "lane.ini:1: invalid value '1001' for alert-burst");
    fails("alert-burst = -1\n", "lane.ini:1: invalid value '-1' for alert-burst");
    fails("alert-max = 0\n", "lane.ini:1: invalid value '0' for alert-max");
    fails("alert-max = 1001\n", "lane.ini:1: invalid value '1001' for alert-max");
    fails("capture-files = 99999999999999999999\n",
          "lane.ini:1: invalid value '99999999999999999999' for capture-files");
    fails("capture-max-size = 12Q\n", "lane.ini:1: invalid value '12Q' for capture-max-size");
    fails("capture-max-size = 5T\n", "lane.ini:1: invalid value '5T' for capture-max-size");
    fails("capture-max-size = 17179869184G\n",
          "lane.ini:1: invalid value '17179869184G' for capture-max-size");
    fails("response-timeout = forever\n",
          "lane.ini:1: invalid value 'forever' for response-timeout");
    fails("response-timeout = 4294967296\n",
          "lane.ini:1: invalid value '4294967296' for response-timeout");
    fails("accept-timeout = +5\n", "lane.ini:1: invalid value '+5' for accept-timeout");
    fails("accept-timeout =\n", "lane.ini:1: invalid value '' for accept-timeout");
    fails("log-level = loud\n", "lane.ini:1: invalid value 'loud' for log-level");
    fails("no-journal = maybe\n", "lane.ini:1: no-journal takes true or false, not 'maybe'");
    fails("syslog =\n", "lane.ini:1: syslog takes true or false, not ''");
    fails("protocol = nosuch\n", "lane.ini:1: invalid value 'nosuch' for protocol (valid: "
                                 "concert|zvt|pax|mispos|auto|none)");
}

static void test_seconds_do_not_wrap(void **state)
{
    (void)state;
    /* 18446744073709552 * 1000 wraps 64 bits to 384: it must not pass as 384 ms. */
    fails("alert-timeout = 18446744073709552\n",
          "lane.ini:1: invalid value '18446744073709552' for alert-timeout");
    fails("shutdown-wait = 4294968\n", "lane.ini:1: invalid value '4294968' for shutdown-wait");
    struct pb_config c;
    assert_int_equal(parse(&c, "shutdown-wait = 4294967\n"), PB_OK);
    assert_int_equal(c.shutdown_wait_ms, 4294967000u);
    pb_config_free(&c);
}

static void test_first_error_wins(void **state)
{
    (void)state;
    /* The message belongs to the line named, which is the first error's. */
    fails("[bridge]\nbogus = 1\ncolour = 2\n", "lane.ini:2: unknown key 'bogus'");
    fails("[bridge]\nthis is not ini\nbogus = 2\n",
          "lane.ini:2: syntax error (expected key = value or [section])");
    fails("[bridge]\nbogus = 2\nthis is not ini\n", "lane.ini:2: unknown key 'bogus'");
    fails("[bridge\nprotocol = zvt\n",
          "lane.ini:1: syntax error (expected key = value or [section])");
    fails("\xef\xbb\xbf[bridge]\n=zvt\n", "lane.ini:2: no key before '='");
}

static void test_long_lines(void **state)
{
    (void)state;
    char text[64 + 20001];
    /* The longest line taken: PB_CONFIG_LINE_MAX characters. */
    int n = snprintf(text, sizeof text, "[bridge]\njournal = ");
    memset(text + n, 'j', PB_CONFIG_LINE_MAX - 10);
    strcpy(text + n + PB_CONFIG_LINE_MAX - 10, "\nprotocol = zvt\n");
    struct pb_config c;
    assert_int_equal(parse(&c, text), PB_OK);
    assert_int_equal(strlen(c.journal), PB_CONFIG_LINE_MAX - 10);
    assert_string_equal(c.protocol, "zvt");
    pb_config_free(&c);
    /* One more: an error on its own line, not a second line made of its tail. */
    memset(text + n, 'j', PB_CONFIG_LINE_MAX - 9);
    strcpy(text + n + PB_CONFIG_LINE_MAX - 9, "\nprotocol = zvt\n");
    fails(text, "lane.ini:2: line too long (more than 199 characters)");
    /* 20000 characters on line 3 after a good line 2. */
    n = snprintf(text, sizeof text, "[bridge]\nprotocol = zvt\nprotocol = ");
    memset(text + n, 'z', 20000);
    text[n + 20000] = '\0';
    fails(text, "lane.ini:3: line too long (more than 199 characters)");
    /* An earlier error still comes first. */
    n = snprintf(text, sizeof text, "bogus = 1\nprotocol = ");
    memset(text + n, 'z', 300);
    text[n + 300] = '\0';
    fails(text, "lane.ini:1: unknown key 'bogus'");
}

static void test_nul_and_binary_bytes(void **state)
{
    (void)state;
    struct pb_config c;
    /* A NUL ends the line's text for inih; the next line still counts. */
    static const char t1[] = "[bridge]\nprotocol = zvt\0garbage\ncapture-files = 9\n";
    pb_config_init(&c);
    assert_int_equal(pb_config_parse(&c, "n.ini", t1, sizeof t1 - 1, err, sizeof err), PB_OK);
    assert_string_equal(c.protocol, "zvt");
    assert_int_equal(c.capture_files, 9);
    pb_config_free(&c);
    /* A NUL at the start of a line leaves it empty. */
    static const char t2[] = "[bridge]\n\0bogus = 1\nbogus = 2\n";
    pb_config_init(&c);
    assert_int_equal(pb_config_parse(&c, "n.ini", t2, sizeof t2 - 1, err, sizeof err),
                     PB_ERR_SYNTAX);
    assert_string_equal(err, "n.ini:3: unknown key 'bogus'");
    pb_config_free(&c);
    /* Control and high bytes of the input are shown escaped, so the message is one line. */
    fails("[bridge]\n\x01\x1b[2Jkey\xff = 1\n", "lane.ini:2: unknown key '\\x01\\x1b[2Jkey\\xff'");
    fails("protocol = \x7fzvt\r\r\n",
          "lane.ini:1: invalid value '\\x7fzvt' for protocol (valid: "
          "concert|zvt|pax|mispos|auto|none)");
    fails("[\xc3\xa9]\nprotocol = zvt\n",
          "lane.ini:2: unknown section [\\xc3\\xa9] (expected [bridge])");
    /* A shown value stops after 48 bytes. */
    fails("[bridge]\nlog-level = 0123456789012345678901234567890123456789012345678901234567\n",
          "lane.ini:2: invalid value '012345678901234567890123456789012345678901234567...' for "
          "log-level");
}

static void test_set_one_key(void **state)
{
    (void)state;
    struct pb_config c;
    pb_config_init(&c);
    assert_int_equal(pb_config_set(&c, "protocol", "auto"), PB_OK);
    assert_string_equal(c.protocol, "auto");
    assert_int_equal(pb_config_set(&c, "protocol", "none"), PB_OK);
    assert_int_equal(pb_config_set(&c, "protocol", "visa"), PB_ERR_SYNTAX);
    assert_string_equal(c.protocol, "none"); /* unchanged on error */
    assert_int_equal(pb_config_set(&c, "capture-files", "3"), PB_OK);
    assert_int_equal(pb_config_set(&c, "capture-files", "x"), PB_ERR_SYNTAX);
    assert_int_equal(c.capture_files, 3);
    assert_int_equal(pb_config_set(&c, "nosuch", "1"), PB_ERR_NOTFOUND);
    assert_int_equal(pb_config_set(&c, "capture-max-size", "2g"), PB_OK);
    assert_int_equal(c.capture_max_size, 2ull << 30);
    assert_int_equal(pb_config_set(&c, "capture-max-size", "7k"), PB_OK);
    assert_int_equal(c.capture_max_size, 7168);
    assert_int_equal(pb_config_set(&c, "log-level", "warning"), PB_OK);
    assert_int_equal(c.log_level, PB_LOG_WARN);
    assert_int_equal(pb_config_set(&c, "log-level", "error"), PB_OK);
    assert_int_equal(c.log_level, PB_LOG_ERROR);
    assert_true(pb_config_is_flag("quiet"));
    assert_true(pb_config_is_flag("undercharge-is-partial"));
    assert_false(pb_config_is_flag("protocol"));
    assert_false(pb_config_is_flag("nosuch"));
    pb_config_free(&c);
    pb_config_free(&c); /* twice is harmless */
}

static void test_load_errors(void **state)
{
    (void)state;
    struct pb_config c;
    pb_config_init(&c);
    assert_int_equal(pb_config_load(&c, "/nonexistent/lane.ini", err, sizeof err), PB_ERR_IO);
    assert_string_equal(err, "cannot read config /nonexistent/lane.ini: No such file or directory");
    assert_int_equal(pb_config_load(&c, "/", err, sizeof err), PB_ERR_IO);
    assert_string_equal(err, "cannot read config /: Is a directory");
    /* A file's errors are named by its path. */
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "[bridge]\nprotocol = zvt\n\nbogus = 1\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)sizeof text - 1);
    close(fd);
    assert_int_equal(pb_config_load(&c, path, err, sizeof err), PB_ERR_SYNTAX);
    char want[128];
    snprintf(want, sizeof want, "%s:4: unknown key 'bogus'", path);
    assert_string_equal(err, want);
    assert_string_equal(c.protocol, "zvt");
    unlink(path);
    pb_config_free(&c);
    /* A small err buffer truncates, never overruns. */
    char small[12];
    pb_config_init(&c);
    assert_int_equal(pb_config_parse(&c, "lane.ini", "x\n", 2, small, sizeof small), PB_ERR_SYNTAX);
    assert_string_equal(small, "lane.ini:1:");
    pb_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_empty),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_syntax_of_lines),
        cmocka_unit_test(test_unknown_key_and_section),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_seconds_do_not_wrap),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_nul_and_binary_bytes),
        cmocka_unit_test(test_set_one_key),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
