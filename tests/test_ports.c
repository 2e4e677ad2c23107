/* usbids: the terminal table behind `posbridge ports` (built-in ids, data files, lookup
 * order, bad lines reported as FILE:LINE). The listing itself is tested under umockdev
 * in tests/e2e/test_ports.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pb_error.h"
#include "usbids.h"

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/pb-usbids-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Loads text, returns the result and what was reported in *errs (malloc'd). */
static int load_text(struct pb_usbids *t, const char *text, char **errs, char **path_out)
{
    char *path = write_tmp(text);
    size_t len = 0;
    FILE *m = open_memstream(errs, &len);
    assert_non_null(m);
    int rc = pb_usbids_load(t, path, m);
    fclose(m);
    unlink(path);
    if (path_out)
        *path_out = path;
    else
        free(path);
    return rc;
}

static void test_builtin_ids(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    /* docs/PROTOCOLS.md: exact product ids and vendor-wide ones. */
    assert_string_equal(pb_usbids_lookup(t, 0x11CA, 0x0207), "Verifone VX810");
    assert_string_equal(pb_usbids_lookup(t, 0x11CA, 0x9999), "Verifone terminal");
    assert_string_equal(pb_usbids_lookup(t, 0x079B, 0x0028), "Ingenico iPP320 (Sagem id)");
    assert_null(pb_usbids_lookup(t, 0x079B, 0x0029)); /* Sagem id: only that product */
    assert_non_null(pb_usbids_lookup(t, 0x0B00, 0x0001));
    assert_non_null(pb_usbids_lookup(t, 0x1EAB, 0x0001));
    assert_null(pb_usbids_lookup(t, 0x0403, 0x6001)); /* FTDI adapter: not a terminal */
    assert_null(pb_usbids_lookup(NULL, 0x11CA, 0x0207));
    pb_usbids_free(t);
    pb_usbids_free(NULL);
}

static void test_file_entries_win(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    size_t before = pb_usbids_count(t);
    char *errs = NULL;
    int rc = load_text(t,
                       "# comment\n"
                       "\n"
                       "   \t\n"
                       "11ca:0207   Lane 4 VX810  \n"
                       "0403:6001\tLab adapter\n"
                       "2FB8:*  PAX (site table)\r\n",
                       &errs, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(errs, "");
    assert_int_equal(pb_usbids_count(t), before + 3);
    assert_string_equal(pb_usbids_lookup(t, 0x11CA, 0x0207), "Lane 4 VX810");
    assert_string_equal(pb_usbids_lookup(t, 0x0403, 0x6001), "Lab adapter");
    assert_string_equal(pb_usbids_lookup(t, 0x2FB8, 0x1234), "PAX (site table)");
    /* A vendor-wide file entry does not hide the built-in exact one. */
    assert_string_equal(pb_usbids_lookup(t, 0x11CA, 0x0220), "Verifone VX805");
    free(errs);
    /* A later file wins over an earlier one. */
    rc = load_text(t, "11CA:0207 Second file\n", &errs, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(pb_usbids_lookup(t, 0x11CA, 0x0207), "Second file");
    free(errs);
    pb_usbids_free(t);
}

static void test_bad_lines_reported_with_line_numbers(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    char *errs = NULL, *path = NULL;
    int rc = load_text(t,
                       "0B00:3070 good\n"     /* 1 */
                       "ZZZZ:0001 bad hex\n"  /* 2 */
                       "0B00:30700 too long\n" /* 3 */
                       "0B00:0001\n"          /* 4: no name */
                       "just words\n"         /* 5 */
                       "0B0:0001 short\n"     /* 6 */
                       "1234:abcd fine\n",    /* 7 */
                       &errs, &path);
    assert_int_equal(rc, 5);
    char want[128];
    const int bad[] = {2, 3, 4, 5, 6};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(want, sizeof want, "%s:%d: ", path, bad[i]);
        assert_non_null(strstr(errs, want));
    }
    snprintf(want, sizeof want, "%s:1: ", path);
    assert_null(strstr(errs, want));
    snprintf(want, sizeof want, "%s:7: ", path);
    assert_null(strstr(errs, want));
    assert_non_null(strstr(errs, "vendor id 'ZZZZ'"));
    /* Good lines around bad ones are kept. */
    assert_string_equal(pb_usbids_lookup(t, 0x1234, 0xABCD), "fine");
    assert_string_equal(pb_usbids_lookup(t, 0x0B00, 0x3070), "good");
    free(errs);
    free(path);
    pb_usbids_free(t);
}

static void test_long_line_and_control_bytes(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    char text[2048];
    memset(text, 'x', 1000);
    text[1000] = '\n';
    strcpy(text + 1001, "abcd:0001 name\x01with\x7f controls\n");
    char *errs = NULL, *path = NULL;
    assert_int_equal(load_text(t, text, &errs, &path), 1);
    char want[128];
    snprintf(want, sizeof want, "%s:1: line longer", path);
    assert_non_null(strstr(errs, want));
    /* The line after a long one is read as its own line, control bytes replaced. */
    assert_string_equal(pb_usbids_lookup(t, 0xABCD, 0x0001), "name?with? controls");
    free(errs);
    free(path);
    pb_usbids_free(t);
}

static void test_missing_file_and_bad_args(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    assert_int_equal(pb_usbids_load(t, "/nonexistent/pb-terminals.txt", NULL), PB_ERR_NOTFOUND);
    assert_int_equal(pb_usbids_load(NULL, "/x", NULL), PB_ERR_INVAL);
    assert_int_equal(pb_usbids_load(t, NULL, NULL), PB_ERR_INVAL);
    assert_int_equal(pb_usbids_new(NULL), PB_ERR_INVAL);
    pb_usbids_free(t);
}

static void test_shipped_data_file_is_clean(void **state)
{
    (void)state;
    struct pb_usbids *t = NULL;
    assert_int_equal(pb_usbids_new(&t), PB_OK);
    /* make check runs from the repository root. */
    assert_int_equal(pb_usbids_load(t, "data/terminals.txt", stderr), 0);
    assert_string_equal(pb_usbids_lookup(t, 0x0B00, 0x3070), "Ingenico iPP3xx via CP210x bridge");
    pb_usbids_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_ids),
        cmocka_unit_test(test_file_entries_win),
        cmocka_unit_test(test_bad_lines_reported_with_line_numbers),
        cmocka_unit_test(test_long_line_and_control_bytes),
        cmocka_unit_test(test_missing_file_and_bad_args),
        cmocka_unit_test(test_shipped_data_file_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
