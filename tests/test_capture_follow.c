/* capture reader in follow mode (pb_capture_reader_refresh, pb_capture_reader_moved):
 * what `posbridge monitor` relies on to read a capture the bridge is still writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "pb_error.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/pb-follow-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/lane.pcapng", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[160];
    snprintf(p, sizeof p, "%s.1", path);
    unlink(p);
    unlink(path);
    rmdir(dir);
    return 0;
}

static const uint8_t req[] = {0x02, 0x30, 0x31, 0x03, 0x01};
static const uint8_t ans[] = {0x06};

static void test_refresh_picks_up_appended_blocks(void **state)
{
    (void)state;
    struct pb_capture *w = NULL;
    assert_int_equal(pb_capture_open(path, PB_CAPTURE_LINKTYPE_CONCERT, NULL, &w), PB_OK);
    assert_int_equal(pb_capture_chunk(w, PB_DIR_ECR, 1000, req, sizeof req), PB_OK);
    assert_int_equal(pb_capture_flush(w), PB_OK);

    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(path, &r), PB_OK);
    struct pb_capture_record rec;
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.len, sizeof req);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    assert_int_equal(pb_capture_reader_refresh(r), 0); /* nothing new */
    assert_int_equal(pb_capture_read(r, &rec), 0);

    assert_int_equal(pb_capture_chunk(w, PB_DIR_PT, 2000, ans, sizeof ans), PB_OK);
    assert_int_equal(pb_capture_flush(w), PB_OK);
    assert_int_equal(pb_capture_reader_refresh(r), 1);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.dir, PB_DIR_PT);
    assert_int_equal(rec.utc_us, 2000);
    assert_memory_equal(rec.data, ans, sizeof ans);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    assert_false(pb_capture_reader_moved(r, path));
    pb_capture_reader_close(r);
    pb_capture_close(w);
}

/* The writer part way through a block: the reader sees a truncated block, and after
 * the rest arrives reads it whole, once. */
static void test_refresh_after_a_block_in_progress(void **state)
{
    (void)state;
    struct pb_capture *w = NULL;
    assert_int_equal(pb_capture_open(path, PB_CAPTURE_LINKTYPE_CONCERT, NULL, &w), PB_OK);
    assert_int_equal(pb_capture_chunk(w, PB_DIR_ECR, 1000, req, sizeof req), PB_OK);
    assert_int_equal(pb_capture_chunk(w, PB_DIR_PT, 2000, ans, sizeof ans), PB_OK);
    assert_int_equal(pb_capture_close(w), PB_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *all = malloc((size_t)st.st_size);
    assert_non_null(all);
    assert_int_equal(fread(all, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);

    /* The growing copy: everything but the last 10 bytes, then 3 more, then the rest. */
    char grow[160];
    snprintf(grow, sizeof grow, "%s.1", path);
    f = fopen(grow, "wb");
    assert_non_null(f);
    size_t cut = (size_t)st.st_size - 10;
    assert_int_equal(fwrite(all, 1, cut, f), cut);
    fflush(f);

    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(grow, &r), PB_OK);
    struct pb_capture_record rec;
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.utc_us, 1000);
    assert_int_equal(pb_capture_read(r, &rec), PB_ERR_TRUNCATED);
    /* Nothing new: the cut block stays cut until the file grows (a follower that was
     * told otherwise read it again at once, forever: monitor spun on a crashed lane). */
    assert_int_equal(pb_capture_reader_refresh(r), 0);
    assert_int_equal(pb_capture_read(r, &rec), PB_ERR_TRUNCATED);
    assert_int_equal(pb_capture_reader_refresh(r), 0);
    assert_int_equal(pb_capture_read(r, &rec), PB_ERR_TRUNCATED);

    assert_int_equal(fwrite(all + cut, 1, 3, f), 3);
    fflush(f);
    assert_int_equal(pb_capture_reader_refresh(r), 1);
    assert_int_equal(pb_capture_read(r, &rec), PB_ERR_TRUNCATED);

    assert_int_equal(fwrite(all + cut + 3, 1, 7, f), 7);
    fclose(f);
    assert_int_equal(pb_capture_reader_refresh(r), 1);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.utc_us, 2000);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    pb_capture_reader_close(r);
    free(all);
}

/* Other errors stay: a malformed block is not the writer's block in progress. */
static void test_refresh_keeps_other_errors(void **state)
{
    (void)state;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a capture at all, not even close", f);
    fclose(f);
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(path, &r), PB_OK);
    struct pb_capture_record rec;
    int rc = pb_capture_read(r, &rec);
    assert_true(rc < 0 && rc != PB_ERR_TRUNCATED);
    assert_int_equal(pb_capture_reader_refresh(r), rc);
    assert_int_equal(pb_capture_read(r, &rec), rc);
    pb_capture_reader_close(r);
    assert_int_equal(pb_capture_reader_refresh(NULL), PB_ERR_INVAL);
}

static void test_moved_after_rename_and_for_empty_start(void **state)
{
    (void)state;
    /* An empty file (the bridge just created it) reads as nothing yet, then grows. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    struct pb_capture_reader *r = NULL;
    assert_int_equal(pb_capture_reader_open(path, &r), PB_OK);
    struct pb_capture_record rec;
    assert_int_equal(pb_capture_read(r, &rec), 0);
    unlink(path);
    assert_true(pb_capture_reader_moved(r, path)); /* gone */
    pb_capture_reader_close(r);

    struct pb_capture *w = NULL;
    assert_int_equal(pb_capture_open(path, PB_CAPTURE_LINKTYPE_ZVT, NULL, &w), PB_OK);
    assert_int_equal(pb_capture_flush(w), PB_OK);
    assert_int_equal(pb_capture_reader_open(path, &r), PB_OK);
    assert_int_equal(pb_capture_read(r, &rec), 0);
    assert_int_equal(pb_capture_chunk(w, PB_DIR_ECR, 5, req, sizeof req), PB_OK);
    assert_int_equal(pb_capture_flush(w), PB_OK);
    assert_int_equal(pb_capture_reader_refresh(r), 1);
    assert_int_equal(pb_capture_read(r, &rec), 1);
    assert_int_equal(rec.link_type, PB_CAPTURE_LINKTYPE_ZVT);
    char moved[160];
    snprintf(moved, sizeof moved, "%s.1", path);
    assert_int_equal(rename(path, moved), 0);
    assert_true(pb_capture_reader_moved(r, path));
    assert_false(pb_capture_reader_moved(r, moved));
    pb_capture_reader_close(r);
    pb_capture_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refresh_picks_up_appended_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_after_a_block_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_keeps_other_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_after_rename_and_for_empty_start, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
