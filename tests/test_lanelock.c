/* Tests for lane/lanelock.c: PATH.lock holds the owner's pid and mode 0600; a second
 * taker, in this process or another, is refused and told who holds it; the file of a dead
 * owner is taken over; release removes only the owner's own file; a device-style lock on
 * the descriptor itself is found through /proc/locks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lanelock.h"
#include "pb_error.h"

struct fx {
    char dir[64];
    char path[128]; /* the resource */
    char lock[160]; /* path.lock */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-lock-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/ecr", f->dir);
    snprintf(f->lock, sizeof f->lock, "%s.lock", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static long pid_in(const char *path)
{
    char buf[32] = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, buf, sizeof buf - 1) > 0);
    close(fd);
    return strtol(buf, NULL, 10);
}

static void test_take_refuse_release(void **state)
{
    struct fx *f = *state;
    struct pb_lanelock *a = NULL, *b = (struct pb_lanelock *)1;
    assert_int_equal(pb_lanelock_take(f->path, &a, NULL, NULL, 0), PB_OK);
    struct stat st;
    assert_int_equal(lstat(f->lock, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(pid_in(f->lock), getpid());
    /* flock() is per open file: a second take in the same process is refused too. */
    pid_t holder = 0;
    char why[256];
    assert_int_equal(pb_lanelock_take(f->path, &b, &holder, why, sizeof why), PB_ERR_BUSY);
    assert_null(b);
    assert_int_equal(holder, getpid());
    assert_int_equal(pb_lanelock_holder(f->path), getpid());
    pb_lanelock_release(a);
    assert_int_equal(access(f->lock, F_OK), -1); /* removed by its owner */
    assert_int_equal(pb_lanelock_holder(f->path), 0);
    pb_lanelock_release(NULL);
}

static void test_other_process(void **state)
{
    struct fx *f = *state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct pb_lanelock *l = NULL;
        char c = pb_lanelock_take(f->path, &l, NULL, NULL, 0) == PB_OK ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        pause(); /* until killed: the kernel drops the lock, the file stays */
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    struct pb_lanelock *l = (struct pb_lanelock *)1;
    pid_t holder = 0;
    assert_int_equal(pb_lanelock_take(f->path, &l, &holder, NULL, 0), PB_ERR_BUSY);
    assert_null(l);
    assert_int_equal(holder, child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    /* Dead owner, stale file with its pid: taken over, our pid written. */
    assert_int_equal(pid_in(f->lock), child);
    assert_int_equal(pb_lanelock_take(f->path, &l, &holder, NULL, 0), PB_OK);
    assert_int_equal(pid_in(f->lock), getpid());
    pb_lanelock_release(l);
}

static void test_release_keeps_a_replaced_file(void **state)
{
    struct fx *f = *state;
    struct pb_lanelock *l = NULL;
    assert_int_equal(pb_lanelock_take(f->path, &l, NULL, NULL, 0), PB_OK);
    /* Someone removed ours and made another: not ours to remove. */
    assert_int_equal(unlink(f->lock), 0);
    int fd = open(f->lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    pb_lanelock_release(l);
    assert_int_equal(access(f->lock, F_OK), 0);
}

static void test_unsafe_lock_file(void **state)
{
    struct fx *f = *state;
    char victim[160];
    snprintf(victim, sizeof victim, "%s/victim", f->dir);
    int fd = open(victim, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "precious", 8), 8);
    close(fd);
    assert_int_equal(symlink(victim, f->lock), 0);
    struct pb_lanelock *l = NULL;
    char why[512] = "";
    assert_int_equal(pb_lanelock_take(f->path, &l, NULL, why, sizeof why), PB_ERR_UNSAFE);
    assert_non_null(strstr(why, "a symbolic link"));
    struct stat st;
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(pb_lanelock_holder(f->path), 0); /* never follows it either */
}

static void test_descriptor_lock(void **state)
{
    struct fx *f = *state;
    int a = open(f->path, O_RDWR | O_CREAT, 0600);
    int b = open(f->path, O_RDONLY);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(pb_lanelock_fd(a, NULL), PB_OK);
    pid_t holder = 0;
    assert_int_equal(pb_lanelock_fd(b, &holder), PB_ERR_BUSY);
    assert_int_equal(holder, getpid()); /* from /proc/locks */
    assert_int_equal(pb_lanelock_holder(f->path), getpid()); /* no ecr.lock: the device */
    close(a);
    assert_int_equal(pb_lanelock_fd(b, NULL), PB_OK);
    close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_refuse_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_keeps_a_replaced_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_lock_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_lock, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
