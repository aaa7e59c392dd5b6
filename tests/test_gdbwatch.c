/* Unit tests of the gdb stub's watchpoint table (src/debug/gdbstub_watch.c): inserting and
 * removing ranges, which accesses to a page must trap (ranges inside, straddling and
 * outside a page, each kind), the skipped pages of a step over one instruction, and which
 * watchpoint an access of a given kind, start and size triggers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../src/debug/gdbstub_int.h"

#define PAGE_A 0x404000ULL /* a data page */

static void test_gdbwatch_insert_zero_len_einval(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    assert_int_equal(gdbwatch_insert(&t, PAGE_A, 0, GDB_WATCH_WRITE), -EINVAL);
    assert_int_equal(gdbwatch_insert(&t, ~0ULL - 2, 8, GDB_WATCH_WRITE), -EINVAL);
    assert_int_equal(t.n, 0);
}

static void test_gdbwatch_insert_twice_one_entry(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 8, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 8, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(t.n, 1);
    /* Same range, another kind: a second watchpoint. */
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 8, 4, GDB_WATCH_READ), 0);
    assert_int_equal(t.n, 2);
}

static void test_gdbwatch_insert_full_enospc(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    for (size_t i = 0; i < GDB_MAX_WATCHES; i++)
        assert_int_equal(gdbwatch_insert(&t, PAGE_A + 4 * i, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 4 * GDB_MAX_WATCHES, 4, GDB_WATCH_WRITE),
                     -ENOSPC);
}

static void test_gdbwatch_remove_missing_enoent(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    assert_int_equal(gdbwatch_insert(&t, PAGE_A, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_remove(&t, PAGE_A, 4, GDB_WATCH_READ), -ENOENT);
    assert_int_equal(gdbwatch_remove(&t, PAGE_A, 8, GDB_WATCH_WRITE), -ENOENT);
    assert_int_equal(gdbwatch_remove(&t, PAGE_A, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A), 0);
}

static void test_gdbwatch_page_traps_kind_gives_access(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 16, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A), CPU_TRAP_WRITE);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + PAGE_SIZE, 4, GDB_WATCH_READ), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + PAGE_SIZE), CPU_TRAP_READ);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 2 * PAGE_SIZE, 4, GDB_WATCH_ACCESS), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + 2 * PAGE_SIZE),
                     CPU_TRAP_READ | CPU_TRAP_WRITE);
    /* Pages next to them hold no watched byte. */
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A - PAGE_SIZE), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + 3 * PAGE_SIZE), 0);
}

static void test_gdbwatch_page_traps_straddling_range_both_pages(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    /* 8 bytes: the last 2 of PAGE_A and the first 6 of the next page. */
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + PAGE_SIZE - 2, 8, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A), CPU_TRAP_WRITE);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + PAGE_SIZE), CPU_TRAP_WRITE);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + 2 * PAGE_SIZE), 0);
    /* A range that ends exactly at the page's end does not reach the next page. */
    struct gdb_watches u = {0};
    assert_int_equal(gdbwatch_insert(&u, PAGE_A + PAGE_SIZE - 4, 4, GDB_WATCH_READ), 0);
    assert_int_equal(gdbwatch_page_traps(&u, PAGE_A), CPU_TRAP_READ);
    assert_int_equal(gdbwatch_page_traps(&u, PAGE_A + PAGE_SIZE), 0);
}

static void test_gdbwatch_skip_page_no_traps_until_unskip(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    assert_int_equal(gdbwatch_insert(&t, PAGE_A, 4, GDB_WATCH_ACCESS), 0);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + PAGE_SIZE, 4, GDB_WATCH_WRITE), 0);
    assert_int_equal(gdbwatch_skip(&t, PAGE_A), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A), 0);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A + PAGE_SIZE), CPU_TRAP_WRITE);
    for (gva_t i = 1; i < GDB_MAX_SKIP; i++)
        assert_int_equal(gdbwatch_skip(&t, PAGE_A + i * PAGE_SIZE), 0);
    assert_int_equal(gdbwatch_skip(&t, PAGE_A), 0); /* already skipped */
    assert_int_equal(gdbwatch_skip(&t, PAGE_A + 100 * PAGE_SIZE), -ENOSPC);
    gdbwatch_unskip(&t);
    assert_int_equal(gdbwatch_page_traps(&t, PAGE_A), CPU_TRAP_READ | CPU_TRAP_WRITE);
}

static void test_gdbwatch_hit_kind_and_overlap_first_byte(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    gva_t hit = 0;
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 8, 4, GDB_WATCH_WRITE), 0);
    /* A read of the watched bytes does not trigger a write watchpoint. */
    assert_null(gdbwatch_hit(&t, PAGE_A + 8, 4, ACCESS_READ, &hit));
    /* An 8-byte store at +4 covers +8..+11: the hit is the watchpoint's first byte. */
    const struct gdb_watch *w = gdbwatch_hit(&t, PAGE_A + 4, 8, ACCESS_WRITE, &hit);
    assert_non_null(w);
    assert_int_equal(w->type, GDB_WATCH_WRITE);
    assert_int_equal(hit, PAGE_A + 8);
    /* A byte store at +10: the hit is that byte. */
    assert_non_null(gdbwatch_hit(&t, PAGE_A + 10, 1, ACCESS_WRITE, &hit));
    assert_int_equal(hit, PAGE_A + 10);
    /* Just before and just after: no hit. */
    assert_null(gdbwatch_hit(&t, PAGE_A + 4, 4, ACCESS_WRITE, &hit));
    assert_null(gdbwatch_hit(&t, PAGE_A + 12, 4, ACCESS_WRITE, &hit));
    /* Size 0 (unknown) is one byte. */
    assert_non_null(gdbwatch_hit(&t, PAGE_A + 11, 0, ACCESS_WRITE, &hit));
    assert_null(gdbwatch_hit(&t, PAGE_A + 12, 0, ACCESS_WRITE, &hit));
}

static void test_gdbwatch_hit_read_and_access_kinds(void **state)
{
    (void)state;
    struct gdb_watches t = {0};
    gva_t hit = 0;
    assert_int_equal(gdbwatch_insert(&t, PAGE_A, 4, GDB_WATCH_READ), 0);
    assert_int_equal(gdbwatch_insert(&t, PAGE_A + 64, 4, GDB_WATCH_ACCESS), 0);
    assert_null(gdbwatch_hit(&t, PAGE_A, 4, ACCESS_WRITE, &hit));
    const struct gdb_watch *w = gdbwatch_hit(&t, PAGE_A, 4, ACCESS_READ, &hit);
    assert_non_null(w);
    assert_int_equal(w->type, GDB_WATCH_READ);
    w = gdbwatch_hit(&t, PAGE_A + 66, 2, ACCESS_WRITE, &hit);
    assert_non_null(w);
    assert_int_equal(w->type, GDB_WATCH_ACCESS);
    assert_int_equal(hit, PAGE_A + 66);
    w = gdbwatch_hit(&t, PAGE_A + 60, 8, ACCESS_READ, &hit);
    assert_non_null(w);
    assert_int_equal(w->type, GDB_WATCH_ACCESS);
    assert_int_equal(hit, PAGE_A + 64);
    /* Instruction fetches trigger nothing. */
    assert_null(gdbwatch_hit(&t, PAGE_A, 4, ACCESS_EXEC, &hit));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdbwatch_insert_zero_len_einval),
        cmocka_unit_test(test_gdbwatch_insert_twice_one_entry),
        cmocka_unit_test(test_gdbwatch_insert_full_enospc),
        cmocka_unit_test(test_gdbwatch_remove_missing_enoent),
        cmocka_unit_test(test_gdbwatch_page_traps_kind_gives_access),
        cmocka_unit_test(test_gdbwatch_page_traps_straddling_range_both_pages),
        cmocka_unit_test(test_gdbwatch_skip_page_no_traps_until_unskip),
        cmocka_unit_test(test_gdbwatch_hit_kind_and_overlap_first_byte),
        cmocka_unit_test(test_gdbwatch_hit_read_and_access_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
