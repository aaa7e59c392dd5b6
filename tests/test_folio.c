/* Unit tests of the shape of Linux's page cache for files the guest wrote (src/mm/folio.c):
 * the folios a buffered write makes (2 MiB steps, the step's size, lowered to the index's
 * alignment and around folios already there), the measured cases of tests/fidelity
 * (8 MiB in one write, 128 KiB writes, a first write of 1000 bytes), a write on a
 * filesystem without large folios, the records dropped when someone else changed the host
 * file (its modification time) but kept after vmemu's own write-back, and forgotten on a
 * truncation. Files are temporary host files (only their descriptor and
 * times matter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/folio.h"

#define PG 4096ULL

struct env {
    struct folio_map fm; /* map under test */
    int fd;              /* a temporary host file */
    uint64_t dev, ino;   /* its identity */
    int64_t mtime;       /* its modification time (ns) */
};

static int env_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    char path[] = "/tmp/vmemu-test-folio-XXXXXX";
    e->fd = mkstemp(path);
    assert_true(e->fd >= 0);
    unlink(path);
    struct stat st;
    assert_int_equal(fstat(e->fd, &st), 0);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    folio_map_destroy(&e->fm);
    close(e->fd);
    free(e);
    return 0;
}

/* The order of the folio holding page index (0: a page of its own), checking its start. */
static unsigned order_at(struct env *e, uint64_t index, uint64_t want_first)
{
    uint64_t first = ~0ULL;
    unsigned order = folio_lookup(&e->fm, e->fd, e->dev, e->ino, 0, index, &first);
    if (order)
        assert_int_equal(first, want_first);
    return order;
}

static void write_at(struct env *e, uint64_t pos, uint64_t len)
{
    folio_note_write(&e->fm, e->dev, e->ino, e->mtime, true, pos, len);
}

static void test_one_8mib_write_makes_four_pmd_folios(void **state)
{
    struct env *e = *state;
    write_at(e, 0, 8 << 20);
    for (uint64_t i = 0; i < 2048; i += 100)
        assert_int_equal(order_at(e, i, i & ~511ULL), FOLIO_PMD_ORDER);
}

static void test_128k_writes_make_32_page_folios(void **state)
{
    struct env *e = *state;
    for (uint64_t pos = 0; pos < (1 << 20); pos += 128 << 10)
        write_at(e, pos, 128 << 10);
    assert_int_equal(order_at(e, 0, 0), 5);
    assert_int_equal(order_at(e, 33, 32), 5);
    assert_int_equal(order_at(e, 255, 224), 5);
}

static void test_unaligned_start_grows_folios_to_alignment(void **state)
{
    struct env *e = *state;
    write_at(e, 0, 1000);                /* page 0 on its own */
    write_at(e, 1000, (8 << 20) - 1000); /* pages 1, [2,4), [4,8) ... [256,512), then PMDs */
    assert_int_equal(order_at(e, 0, 0), 0);
    assert_int_equal(order_at(e, 1, 1), 0);
    assert_int_equal(order_at(e, 3, 2), 1);
    assert_int_equal(order_at(e, 5, 4), 2);
    assert_int_equal(order_at(e, 300, 256), 8);
    assert_int_equal(order_at(e, 600, 512), FOLIO_PMD_ORDER);
}

static void test_rewrite_keeps_existing_folios(void **state)
{
    struct env *e = *state;
    write_at(e, 0, 64 << 10);   /* [0,16) */
    write_at(e, 4096, 2 << 20); /* page 1 is in [0,16); then [16,32), [32,64) ... */
    assert_int_equal(order_at(e, 1, 0), 4);
    assert_int_equal(order_at(e, 20, 16), 4);
    assert_int_equal(order_at(e, 40, 32), 5);
}

static void test_no_large_folios_filesystem_records_nothing(void **state)
{
    struct env *e = *state;
    folio_note_write(&e->fm, e->dev, e->ino, e->mtime, false, 0, 8 << 20);
    assert_int_equal(order_at(e, 0, 0), 0);
}

static void test_changed_file_forgets_its_folios(void **state)
{
    struct env *e = *state;
    write_at(e, 0, 8 << 20);
    assert_int_equal(order_at(e, 0, 0), FOLIO_PMD_ORDER);
    /* Someone else changed the file: its modification time is not the recorded one. */
    e->fm.files->mtime_ns -= 1;
    assert_int_equal(order_at(e, 0, 0), 0);
    assert_null(e->fm.files);
}

static void test_own_write_back_keeps_folios_truncate_forgets(void **state)
{
    struct env *e = *state;
    write_at(e, 0, 8 << 20);
    /* vmemu wrote a page back: the file's time is the one it saw after its write. */
    assert_int_equal(pwrite(e->fd, "x", 1, 0), 1);
    struct stat st;
    assert_int_equal(fstat(e->fd, &st), 0);
    int64_t own = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    e->fm.files->mtime_ns = own - 1; /* the guest's write was earlier */
    uint64_t first;
    assert_int_equal(folio_lookup(&e->fm, e->fd, e->dev, e->ino, own, 7, &first), FOLIO_PMD_ORDER);
    assert_int_equal(first, 0);
    folio_forget(&e->fm, e->dev, e->ino);
    assert_int_equal(order_at(e, 7, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_8mib_write_makes_four_pmd_folios, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_128k_writes_make_32_page_folios, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_unaligned_start_grows_folios_to_alignment, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_keeps_existing_folios, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_no_large_folios_filesystem_records_nothing, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_changed_file_forgets_its_folios, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_own_write_back_keeps_folios_truncate_forgets,
                                        env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
