/* Unit tests of vmemu's file lock table (src/proc/flock.c): record locks splitting and
 * merging an owner's ranges, conflicts between owners (write against anything, reads
 * sharing, ranges that do not overlap), flock conversion and its independence from record
 * locks, POSIX and OFD locks meeting, the releases (a file's POSIX locks of an owner, every
 * lock of an open file description) and the FIFO write-open counts. Also the descriptor
 * table's part: dups and fork's copies share an open file description, whose locks go with
 * its last descriptor, and closing any descriptor of a file drops the table's POSIX locks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fd.h"
#include "vmemu/flock.h"

static int A, B; /* two owners */

static struct flock_req rec(const void *owner, enum flock_type type, int64_t start, int64_t end)
{
    return (struct flock_req){.dev = 1,
                              .ino = 2,
                              .kind = FLOCK_POSIX,
                              .type = type,
                              .owner = owner,
                              .pid = owner == &A ? 100 : 200,
                              .start = start,
                              .end = end};
}

/* The locks on the test file as "start-end:R/W" joined by spaces. */
static const char *dump(void)
{
    static char buf[512];
    struct flock_req l[16];
    size_t n = flock_list(1, 2, l, 16), k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 16; i++)
        k += (size_t)snprintf(
            buf + k, sizeof(buf) - k, "%s%lld-%lld:%c", i ? " " : "", (long long)l[i].start,
            l[i].end == FLOCK_EOF ? -1LL : (long long)l[i].end, l[i].type == FLOCK_WR ? 'W' : 'R');
    return buf;
}

static int reset(void **state)
{
    (void)state;
    flock_reset();
    return 0;
}

static void test_split_and_merge(void **state)
{
    (void)state;
    struct flock_req r = rec(&A, FLOCK_WR, 0, 99);
    assert_int_equal(flock_set(&r, NULL), 0);
    r = rec(&A, FLOCK_UN, 10, 19);
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "0-9:W 20-99:W");
    r = rec(&A, FLOCK_RD, 15, 24);
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "0-9:W 15-24:R 25-99:W");
    r = rec(&A, FLOCK_WR, 10, 14); /* adjacent on both sides: merges with 0-9 only */
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "0-14:W 15-24:R 25-99:W");
    r = rec(&A, FLOCK_WR, 15, 24); /* one write lock again */
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "0-99:W");
    r = rec(&A, FLOCK_WR, 100, FLOCK_EOF);
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "0--1:W");
    r = rec(&A, FLOCK_UN, 0, FLOCK_EOF);
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_string_equal(dump(), "");
}

static void test_conflicts(void **state)
{
    (void)state;
    struct flock_req r = rec(&A, FLOCK_RD, 0, 9), c;
    assert_int_equal(flock_set(&r, NULL), 0);
    r = rec(&B, FLOCK_RD, 5, 14);
    assert_int_equal(flock_set(&r, NULL), 0); /* readers share */
    r = rec(&B, FLOCK_WR, 5, 14);
    assert_int_equal(flock_set(&r, &c), -EAGAIN);
    assert_ptr_equal(c.owner, &A);
    assert_int_equal(c.pid, 100);
    assert_int_equal(c.start, 0);
    assert_int_equal(c.end, 9);
    assert_string_equal(dump(), "0-9:R 5-14:R"); /* nothing changed */
    r = rec(&B, FLOCK_WR, 10, 20);
    assert_int_equal(flock_set(&r, NULL), 0); /* past A's range: B's own read upgraded */
    assert_string_equal(dump(), "0-9:R 5-9:R 10-20:W");
    r = rec(&A, FLOCK_RD, 20, 20);
    assert_true(flock_test(&r, &c));
    assert_ptr_equal(c.owner, &B);
    r = rec(&A, FLOCK_RD, 21, FLOCK_EOF);
    assert_false(flock_test(&r, NULL));
    r.dev = 9; /* another file */
    r.start = 0;
    assert_false(flock_test(&r, NULL));
}

static void test_flock_kinds(void **state)
{
    (void)state;
    struct flock_req f = {
        .dev = 1, .ino = 2, .kind = FLOCK_BSD, .type = FLOCK_WR, .owner = &A, .end = FLOCK_EOF};
    assert_int_equal(flock_set(&f, NULL), 0);
    struct flock_req r = rec(&B, FLOCK_WR, 0, FLOCK_EOF);
    assert_int_equal(flock_set(&r, NULL), 0); /* flock and record locks do not meet */
    struct flock_req g = f;
    g.owner = &B;
    g.type = FLOCK_RD;
    assert_int_equal(flock_set(&g, NULL), -EAGAIN);
    f.type = FLOCK_RD; /* conversion to shared */
    assert_int_equal(flock_set(&f, NULL), 0);
    assert_int_equal(flock_set(&g, NULL), 0);
    f.type = FLOCK_WR; /* back to exclusive: B's shared lock is in the way, A's is gone */
    assert_int_equal(flock_set(&f, NULL), -EAGAIN);
    assert_string_equal(dump(), "0--1:R 0--1:W");
    /* OFD and POSIX locks meet, even of one process. */
    struct flock_req o = rec(&A, FLOCK_RD, 5, 5);
    o.kind = FLOCK_OFD;
    o.pid = 0;
    struct flock_req c;
    assert_int_equal(flock_set(&o, &c), -EAGAIN);
    assert_int_equal(c.kind, FLOCK_POSIX);
}

static void test_release(void **state)
{
    (void)state;
    struct flock_req r = rec(&A, FLOCK_WR, 0, 9);
    assert_int_equal(flock_set(&r, NULL), 0);
    r = rec(&A, FLOCK_WR, 20, 29);
    assert_int_equal(flock_set(&r, NULL), 0);
    r = rec(&B, FLOCK_RD, 10, 19);
    assert_int_equal(flock_set(&r, NULL), 0);
    assert_true(flock_owner_has(&A));
    flock_release_file(1, 2, &A, FLOCK_OFD); /* A's are POSIX: nothing */
    assert_string_equal(dump(), "0-9:W 10-19:R 20-29:W");
    flock_release_file(1, 2, &A, FLOCK_POSIX);
    assert_false(flock_owner_has(&A));
    assert_string_equal(dump(), "10-19:R");
    flock_release_owner(&B);
    assert_string_equal(dump(), "");
}

static void test_fifo_counts(void **state)
{
    (void)state;
    assert_int_equal(flock_fifo_writes(3, 4), 0);
    flock_fifo_opened_write(3, 4);
    flock_fifo_opened_write(3, 4);
    flock_fifo_closed_write(3, 4);
    assert_int_equal(flock_fifo_writes(3, 4), 2);
    assert_int_equal(flock_fifo_writers(3, 4), 1);
    assert_int_equal(flock_fifo_writers(3, 5), 0);
}

/* The descriptor table shares open file descriptions and releases their locks. */
static void test_fd_table(void **state)
{
    (void)state;
    char path[] = "/tmp/vmemu-test-flock-XXXXXX";
    int h = mkstemp(path);
    assert_true(h >= 0);
    struct stat st;
    assert_int_equal(fstat(h, &st), 0);
    struct fdtable *t = malloc(sizeof(*t)), *child;
    assert_non_null(t);
    assert_int_equal(fd_table_init(t), 0);
    int fd = fd_install(t, h, false, path, 3);
    int other = fd_install(t, open(path, O_RDONLY | O_CLOEXEC), false, path, 3);
    assert_true(fd >= 0 && other >= 0);
    assert_ptr_not_equal(fd_ofd_of(t, fd), fd_ofd_of(t, other));
    assert_int_equal(fd_dup_to(t, fd, 20, false), 20);
    assert_ptr_equal(fd_ofd_of(t, 20), fd_ofd_of(t, fd));
    assert_int_equal(fd_table_dup(t, &child), 0);
    assert_ptr_equal(fd_ofd_of(child, fd), fd_ofd_of(t, fd));

    struct flock_req f = {.dev = (uint64_t)st.st_dev,
                          .ino = (uint64_t)st.st_ino,
                          .kind = FLOCK_BSD,
                          .type = FLOCK_WR,
                          .owner = fd_ofd_of(t, fd),
                          .end = FLOCK_EOF};
    assert_int_equal(flock_set(&f, NULL), 0);
    struct flock_req p = f;
    p.kind = FLOCK_POSIX;
    p.owner = t;
    assert_int_equal(flock_set(&p, NULL), 0);
    assert_int_equal(fd_close(t, fd), 0); /* POSIX: any close of the file drops them */
    assert_false(flock_owner_has(t));
    assert_true(flock_owner_has(f.owner)); /* the dup and the child's copy hold it */
    assert_int_equal(fd_close(t, 20), 0);
    assert_true(flock_owner_has(f.owner));
    fd_table_destroy(child);
    free(child);
    assert_false(flock_owner_has(f.owner));
    fd_table_destroy(t);
    free(t);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_split_and_merge, reset),
        cmocka_unit_test_setup(test_conflicts, reset),
        cmocka_unit_test_setup(test_flock_kinds, reset),
        cmocka_unit_test_setup(test_release, reset),
        cmocka_unit_test_setup(test_fifo_counts, reset),
        cmocka_unit_test_setup(test_fd_table, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
