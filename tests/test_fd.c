/* Unit tests of the descriptor table (src/proc/fd.c): the standard descriptors as host dups,
 * lowest-free allocation with a minimum, the range and exhaustion errors, close, dup2-style
 * replacement with its close-on-exec flag and path, fork's table copy (same open files,
 * flags and paths, independent slots) and execve's close-on-exec pass, and that every host
 * descriptor the table holds is vmemu's own (>= 3, close-on-exec) and is closed with it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fd.h"

/* Whether host descriptor h is open. */
static bool host_open(int h)
{
    return fcntl(h, F_GETFD) >= 0;
}

/* Whether host descriptors a and b refer to the same file. */
static bool same_file(int a, int b)
{
    struct stat sa, sb;
    if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
        return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int setup(void **state)
{
    struct fdtable *t = malloc(sizeof(*t));
    if (t == NULL || fd_table_init(t) < 0)
        return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fd_table_destroy(*state);
    free(*state);
    return 0;
}

/* A fresh host descriptor on /dev/null. */
static int devnull(void)
{
    int h = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(h >= 0);
    return h;
}

static void test_fd_init_std_fds_are_host_dups_above_2(void **state)
{
    struct fdtable *t = *state;
    for (int fd = 0; fd < 3; fd++) {
        int h = fd_host(t, fd);
        assert_true(h >= 3);
        assert_true(same_file(h, fd));
        assert_int_equal(fcntl(h, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        assert_false(t->fds[fd].cloexec);
    }
    assert_int_equal(fd_host(t, 3), -EBADF);
}

static void test_fd_init_closed_host_fd_leaves_slot_free(void **state)
{
    (void)state;
    struct fdtable *t = malloc(sizeof(*t));
    assert_non_null(t);
    int saved = dup(0);
    assert_true(saved >= 0);
    close(0);
    int rc = fd_table_init(t);
    dup2(saved, 0);
    close(saved);
    assert_int_equal(rc, 0);
    assert_int_equal(fd_host(t, 0), -EBADF);
    assert_true(fd_host(t, 1) >= 0);
    fd_table_destroy(t);
    free(t);
}

static void test_fd_install_takes_lowest_free_number(void **state)
{
    struct fdtable *t = *state;
    int a = devnull(), b = devnull(), c = devnull();
    assert_int_equal(fd_install(t, a, false, "/dev/null", 0), 3);
    assert_int_equal(fd_install(t, b, true, NULL, 0), 4);
    assert_int_equal(fd_close(t, 3), 0);
    assert_false(host_open(a));
    assert_int_equal(fd_install(t, c, false, NULL, 0), 3);
    assert_int_equal(fd_host(t, 3), c);
    assert_true(t->fds[4].cloexec);
    assert_null(t->fds[4].path);
}

static void test_fd_install_respects_minfd(void **state)
{
    struct fdtable *t = *state;
    int a = devnull();
    assert_int_equal(fd_install(t, a, false, "/dev/null", 10), 10);
    assert_string_equal(t->fds[10].path, "/dev/null");
    assert_int_equal(fd_host(t, 3), -EBADF);
}

static void test_fd_install_minfd_out_of_range_returns_einval(void **state)
{
    struct fdtable *t = *state;
    assert_int_equal(fd_install(t, 99, false, NULL, -1), -EINVAL);
    assert_int_equal(fd_install(t, 99, false, NULL, FD_MAX), -EINVAL);
}

static void test_fd_install_full_table_returns_emfile(void **state)
{
    struct fdtable *t = *state;
    int a = devnull(), b = devnull();
    assert_int_equal(fd_install(t, a, false, NULL, FD_MAX - 1), FD_MAX - 1);
    assert_int_equal(fd_install(t, b, false, NULL, FD_MAX - 1), -EMFILE);
    assert_true(host_open(b)); /* the caller still owns it */
    close(b);
}

static void test_fd_host_bad_numbers_return_ebadf(void **state)
{
    struct fdtable *t = *state;
    assert_int_equal(fd_host(t, -1), -EBADF);
    assert_int_equal(fd_host(t, FD_MAX), -EBADF);
    assert_int_equal(fd_host(t, 500), -EBADF);
}

static void test_fd_close_twice_returns_ebadf(void **state)
{
    struct fdtable *t = *state;
    int h = fd_host(t, 1);
    assert_int_equal(fd_close(t, 1), 0);
    assert_false(host_open(h));
    assert_int_equal(fd_close(t, 1), -EBADF);
    assert_int_equal(fd_close(t, -5), -EBADF);
    assert_true(host_open(1)); /* the host's own stdout is untouched */
}

static void test_fd_dup_to_shares_file_and_sets_cloexec(void **state)
{
    struct fdtable *t = *state;
    FILE *f = tmpfile();
    assert_non_null(f);
    int h = fcntl(fileno(f), F_DUPFD_CLOEXEC, 3);
    fclose(f);
    assert_int_equal(fd_install(t, h, false, "/tmp/x", 0), 3);
    assert_int_equal(fd_dup_to(t, 3, 7, true), 7);
    assert_true(t->fds[7].cloexec);
    assert_false(t->fds[3].cloexec);
    assert_string_equal(t->fds[7].path, "/tmp/x");
    assert_int_not_equal(fd_host(t, 7), h);
    /* One open file: the offset moves for both. */
    assert_int_equal(write(fd_host(t, 7), "abc", 3), 3);
    assert_int_equal(lseek(fd_host(t, 3), 0, SEEK_CUR), 3);
}

static void test_fd_dup_to_replaces_open_newfd(void **state)
{
    struct fdtable *t = *state;
    int old2 = fd_host(t, 2);
    assert_int_equal(fd_dup_to(t, 0, 2, false), 2);
    assert_false(host_open(old2));
    assert_true(same_file(fd_host(t, 2), 0));
}

static void test_fd_dup_to_same_fd_returns_it_unchanged(void **state)
{
    struct fdtable *t = *state;
    int h = fd_host(t, 1);
    assert_int_equal(fd_dup_to(t, 1, 1, true), 1);
    assert_int_equal(fd_host(t, 1), h);
    assert_false(t->fds[1].cloexec);
}

static void test_fd_dup_to_bad_fds_return_ebadf(void **state)
{
    struct fdtable *t = *state;
    assert_int_equal(fd_dup_to(t, 9, 3, false), -EBADF);
    assert_int_equal(fd_dup_to(t, 1, FD_MAX, false), -EBADF);
    assert_int_equal(fd_dup_to(t, 1, -1, false), -EBADF);
    assert_int_equal(fd_host(t, 3), -EBADF);
}

static void test_fd_destroy_closes_host_fds(void **state)
{
    (void)state;
    struct fdtable *t = malloc(sizeof(*t));
    assert_non_null(t);
    assert_int_equal(fd_table_init(t), 0);
    int h1 = fd_host(t, 1);
    int h = devnull();
    assert_int_equal(fd_install(t, h, false, NULL, 0), 3);
    fd_table_destroy(t);
    assert_false(host_open(h1));
    assert_false(host_open(h));
    assert_int_equal(fd_host(t, 1), -EBADF);
    free(t);
}

static void test_fd_table_dup_copies_slots_sharing_open_files(void **state)
{
    struct fdtable *t = *state;
    FILE *f = tmpfile();
    assert_non_null(f);
    int h = fcntl(fileno(f), F_DUPFD_CLOEXEC, 3);
    fclose(f);
    assert_int_equal(fd_install(t, h, true, "/tmp/y", 5), 5);
    struct fdtable *c = NULL;
    assert_int_equal(fd_table_dup(t, &c), 0);
    assert_non_null(c);
    for (int fd = 0; fd < FD_MAX; fd++) {
        if (fd_host(t, fd) < 0) {
            assert_int_equal(fd_host(c, fd), -EBADF);
            continue;
        }
        int ch = fd_host(c, fd);
        assert_true(ch >= 3);
        assert_int_not_equal(ch, fd_host(t, fd));
        assert_true(same_file(ch, fd_host(t, fd)));
        assert_int_equal(fcntl(ch, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        assert_int_equal(c->fds[fd].cloexec, t->fds[fd].cloexec);
    }
    assert_true(c->fds[5].cloexec);
    assert_string_equal(c->fds[5].path, "/tmp/y");
    assert_ptr_not_equal(c->fds[5].path, t->fds[5].path);
    /* One open file description: the child's write moves the parent's offset, and the
     * status flags are shared too. */
    assert_int_equal(write(fd_host(c, 5), "abcd", 4), 4);
    assert_int_equal(lseek(fd_host(t, 5), 0, SEEK_CUR), 4);
    assert_int_equal(fcntl(fd_host(c, 5), F_SETFL, O_APPEND), 0);
    assert_int_equal(fcntl(fd_host(t, 5), F_GETFL) & O_APPEND, O_APPEND);
    /* The slots are independent: closing in the child leaves the parent's open. */
    int ph = fd_host(t, 5);
    assert_int_equal(fd_close(c, 5), 0);
    assert_true(host_open(ph));
    assert_int_equal(fd_host(t, 5), ph);
    fd_table_destroy(c);
    free(c);
    assert_true(host_open(ph));
}

/* How many host descriptors below limit are open. */
static int host_open_below(int limit)
{
    int n = 0;
    for (int h = 0; h < limit; h++)
        n += host_open(h);
    return n;
}

static void test_fd_table_dup_host_out_of_fds_returns_emfile(void **state)
{
    struct fdtable *t = *state;
    enum { LIMIT = 40 };
    int before = host_open_below(LIMIT);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = {LIMIT, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    /* Fill every free host number below the limit: the first dup of the copy fails. */
    int fillers[LIMIT], nfill = 0;
    int h;
    while ((h = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fillers[nfill++] = h;
    assert_int_equal(errno, EMFILE);
    struct fdtable *c = (struct fdtable *)0x1;
    int rc = fd_table_dup(t, &c);
    for (int i = 0; i < nfill; i++)
        close(fillers[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, -EMFILE);
    assert_ptr_equal(c, (struct fdtable *)0x1);
    assert_int_equal(host_open_below(LIMIT), before); /* nothing leaked */
}

static void test_fd_close_on_exec_closes_only_flagged(void **state)
{
    struct fdtable *t = *state;
    int a = devnull(), b = devnull(), c = devnull();
    assert_int_equal(fd_install(t, a, true, "/dev/null", 0), 3);
    assert_int_equal(fd_install(t, b, false, NULL, 0), 4);
    assert_int_equal(fd_install(t, c, true, NULL, 0), 5);
    assert_int_equal(fd_dup_to(t, 4, 1, true), 1);
    int h1 = fd_host(t, 1);
    fd_close_on_exec(t);
    assert_int_equal(fd_host(t, 3), -EBADF);
    assert_int_equal(fd_host(t, 5), -EBADF);
    assert_int_equal(fd_host(t, 1), -EBADF);
    assert_null(t->fds[3].path);
    assert_false(host_open(a));
    assert_false(host_open(c));
    assert_false(host_open(h1));
    assert_int_equal(fd_host(t, 4), b);
    assert_true(host_open(b));
    assert_true(fd_host(t, 0) >= 3);
    assert_true(fd_host(t, 2) >= 3);
    /* The freed numbers are reused lowest first. */
    assert_int_equal(fd_install(t, devnull(), false, NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fd_init_std_fds_are_host_dups_above_2),
        cmocka_unit_test(test_fd_init_closed_host_fd_leaves_slot_free),
        T(test_fd_install_takes_lowest_free_number),
        T(test_fd_install_respects_minfd),
        T(test_fd_install_minfd_out_of_range_returns_einval),
        T(test_fd_install_full_table_returns_emfile),
        T(test_fd_host_bad_numbers_return_ebadf),
        T(test_fd_close_twice_returns_ebadf),
        T(test_fd_dup_to_shares_file_and_sets_cloexec),
        T(test_fd_dup_to_replaces_open_newfd),
        T(test_fd_dup_to_same_fd_returns_it_unchanged),
        T(test_fd_dup_to_bad_fds_return_ebadf),
        cmocka_unit_test(test_fd_destroy_closes_host_fds),
        T(test_fd_table_dup_copies_slots_sharing_open_files),
        T(test_fd_table_dup_host_out_of_fds_returns_emfile),
        T(test_fd_close_on_exec_closes_only_flagged),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
