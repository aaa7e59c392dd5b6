/* Unit tests of the swap area (src/mm/swap.c) on its own: the slot allocator (never-used
 * slots in order, freed ones reused last-in first-out, -ENOSPC when full or absent), slot
 * reference counts, the peak counter, page I/O through the temporary file or a kept
 * --swap-file, and the swap cache against a small frame pool with no replacement hooks,
 * where every frame reference is counted exactly. */
#include <errno.h>
#include <fcntl.h>
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

#include "vmemu/phys.h"
#include "vmemu/swap.h"

#define P(n)    ((uint64_t)(n) << PAGE_SHIFT)
#define NFRAMES 16 /* pool of the swap-cache tests */
#define NSLOTS  8  /* area of most tests */
#define NO_SLOT UINT64_MAX

struct env {
    struct swap_area sw; /* area under test (temporary file) */
    struct phys phys;    /* pool for the swap-cache tests */
};

static int env_setup(void **state)
{
    static struct env e;

    memset(&e, 0, sizeof(e));
    if (swap_init(&e.sw, P(NSLOTS), NULL) != 0 || phys_init(&e.phys, P(NFRAMES)) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    swap_destroy(&e->sw);
    phys_destroy(&e->phys);
    return 0;
}

static uint64_t alloc_slot(struct swap_area *sw)
{
    uint64_t slot = NO_SLOT;

    assert_int_equal(swap_alloc(sw, &slot), 0);
    assert_int_not_equal(slot, NO_SLOT);
    return slot;
}

/* Fills page with bytes that depend on seed and on the offset. */
static void fill_page(uint8_t *page, unsigned seed)
{
    for (uint64_t i = 0; i < PAGE_SIZE; i++)
        page[i] = (uint8_t)(i * 31 + seed * 101 + (i >> 8));
}

static void check_page(const uint8_t *page, unsigned seed)
{
    uint8_t want[PAGE_SIZE];

    fill_page(want, seed);
    assert_memory_equal(page, want, PAGE_SIZE);
}

/* ---- slot allocator ---- */

static void test_swap_alloc_fresh_in_order_then_freed_lifo(void **state)
{
    struct env *e = *state;

    assert_int_equal(e->sw.max_slots, NSLOTS);
    assert_true(e->sw.fd >= 0);
    assert_null(e->sw.path);
    assert_int_equal(alloc_slot(&e->sw), 0);
    assert_int_equal(alloc_slot(&e->sw), 1);
    assert_int_equal(alloc_slot(&e->sw), 2);
    assert_int_equal(alloc_slot(&e->sw), 3);
    swap_free(&e->sw, 1);
    swap_free(&e->sw, 3);
    swap_free(&e->sw, 0);
    /* Last freed first, then the never-used slot 4. */
    assert_int_equal(alloc_slot(&e->sw), 0);
    assert_int_equal(alloc_slot(&e->sw), 3);
    assert_int_equal(alloc_slot(&e->sw), 1);
    assert_int_equal(alloc_slot(&e->sw), 4);
    assert_int_equal(e->sw.used, 5);
    assert_int_equal(e->sw.nslots, 5);
}

static void test_swap_alloc_full_returns_enospc_until_a_slot_is_freed(void **state)
{
    struct env *e = *state;
    uint64_t slot = NO_SLOT;

    for (unsigned i = 0; i < NSLOTS; i++)
        assert_int_equal(alloc_slot(&e->sw), i);
    assert_int_equal(swap_alloc(&e->sw, &slot), -ENOSPC);
    assert_int_equal(slot, NO_SLOT);
    assert_int_equal(e->sw.used, NSLOTS);

    swap_free(&e->sw, 5);
    assert_int_equal(alloc_slot(&e->sw), 5);
    assert_int_equal(swap_alloc(&e->sw, &slot), -ENOSPC);
}

static void test_swap_init_max_zero_is_no_swap_enospc(void **state)
{
    struct swap_area sw;
    uint64_t slot = NO_SLOT;

    (void)state;
    assert_int_equal(swap_init(&sw, 0, NULL), 0);
    assert_int_equal(sw.fd, -1);
    assert_int_equal(sw.max_slots, 0);
    assert_int_equal(swap_alloc(&sw, &slot), -ENOSPC);
    assert_int_equal(slot, NO_SLOT);
    assert_int_equal(sw.used, 0);
    swap_destroy(&sw);

    /* Less than a page rounds down to no swap as well. */
    assert_int_equal(swap_init(&sw, PAGE_SIZE - 1, NULL), 0);
    assert_int_equal(sw.max_slots, 0);
    assert_int_equal(swap_alloc(&sw, &slot), -ENOSPC);
    swap_destroy(&sw);
}

static void test_swap_init_rounds_size_down_to_pages(void **state)
{
    struct swap_area sw;
    uint64_t slot;

    (void)state;
    assert_int_equal(swap_init(&sw, P(2) + 100, NULL), 0);
    assert_int_equal(sw.max_slots, 2);
    assert_int_equal(alloc_slot(&sw), 0);
    assert_int_equal(alloc_slot(&sw), 1);
    assert_int_equal(swap_alloc(&sw, &slot), -ENOSPC);
    swap_destroy(&sw);
}

static void test_swap_dup_and_free_count_references(void **state)
{
    struct env *e = *state;
    uint64_t a = alloc_slot(&e->sw), b = alloc_slot(&e->sw);

    assert_int_equal(swap_count(&e->sw, a), 1);
    swap_dup(&e->sw, a);
    swap_dup(&e->sw, a);
    assert_int_equal(swap_count(&e->sw, a), 3);
    assert_int_equal(swap_count(&e->sw, b), 1);
    swap_free(&e->sw, a);
    swap_free(&e->sw, a);
    assert_int_equal(swap_count(&e->sw, a), 1);
    assert_int_equal(e->sw.used, 2);
    /* The last reference frees the slot: it is the next one handed out. */
    swap_free(&e->sw, a);
    assert_int_equal(swap_count(&e->sw, a), 0);
    assert_int_equal(e->sw.used, 1);
    assert_int_equal(alloc_slot(&e->sw), a);
    /* Slots never handed out read as free. */
    assert_int_equal(swap_count(&e->sw, NSLOTS - 1), 0);
}

static void test_swap_peak_used_keeps_highest(void **state)
{
    struct env *e = *state;
    uint64_t s[4];

    for (unsigned i = 0; i < 4; i++)
        s[i] = alloc_slot(&e->sw);
    swap_free(&e->sw, s[1]);
    swap_free(&e->sw, s[2]);
    swap_free(&e->sw, s[3]);
    assert_int_equal(alloc_slot(&e->sw), s[3]);
    assert_int_equal(e->sw.used, 2);
    assert_int_equal(e->sw.peak_used, 4);
    for (unsigned i = 0; i < 3; i++)
        alloc_slot(&e->sw);
    assert_int_equal(e->sw.used, 5);
    assert_int_equal(e->sw.peak_used, 5);
}

/* ---- page I/O ---- */

static void test_swap_write_read_round_trip_distinct_pages(void **state)
{
    struct env *e = *state;
    static uint8_t page[PAGE_SIZE];
    uint64_t s[3];
    struct stat st;

    for (unsigned i = 0; i < 3; i++) {
        s[i] = alloc_slot(&e->sw);
        fill_page(page, i + 1);
        assert_int_equal(swap_write(&e->sw, s[i], page), 0);
    }
    assert_int_equal(e->sw.writes, 3);
    /* The file grew to hold the three slots, not the whole area. */
    assert_int_equal(fstat(e->sw.fd, &st), 0);
    assert_int_equal(st.st_size, P(3));

    /* Back in another order, each slot with its own bytes. */
    unsigned order[3] = {2, 0, 1};
    for (unsigned k = 0; k < 3; k++) {
        memset(page, 0xee, sizeof(page));
        assert_int_equal(swap_read(&e->sw, s[order[k]], page), 0);
        check_page(page, order[k] + 1);
    }
    assert_int_equal(e->sw.reads, 3);

    /* A rewrite replaces the slot's bytes. */
    fill_page(page, 9);
    assert_int_equal(swap_write(&e->sw, s[1], page), 0);
    memset(page, 0, sizeof(page));
    assert_int_equal(swap_read(&e->sw, s[1], page), 0);
    check_page(page, 9);
    assert_int_equal(swap_read(&e->sw, s[0], page), 0);
    check_page(page, 1);
    assert_int_equal(e->sw.writes, 4);
    assert_int_equal(e->sw.reads, 5);
}

static void test_swap_read_of_never_written_slot_returns_eio(void **state)
{
    struct env *e = *state;
    static uint8_t page[PAGE_SIZE];

    /* Nothing was written: the file is empty, so the read comes back short. */
    assert_int_equal(swap_read(&e->sw, alloc_slot(&e->sw), page), -EIO);
    assert_int_equal(e->sw.reads, 0);
}

static void test_swap_file_path_truncated_and_kept_after_destroy(void **state)
{
    char dir[] = "/tmp/test_swap.XXXXXX";
    char path[64];
    static uint8_t page[PAGE_SIZE];
    struct swap_area sw;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/swapfile", dir);
    /* An existing file is truncated. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old contents", 12), 12);
    close(fd);

    assert_int_equal(swap_init(&sw, P(4), path), 0);
    assert_non_null(sw.path);
    assert_string_equal(sw.path, path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    uint64_t a = alloc_slot(&sw), b = alloc_slot(&sw);
    fill_page(page, 5);
    assert_int_equal(swap_write(&sw, b, page), 0);
    fill_page(page, 6);
    assert_int_equal(swap_write(&sw, a, page), 0);
    swap_free(&sw, a);
    swap_free(&sw, b);
    swap_destroy(&sw);
    assert_int_equal(sw.fd, -1);

    /* Still there, slot N at offset N pages. */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, P(2));
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, page, PAGE_SIZE, (off_t)P(b)), (ssize_t)PAGE_SIZE);
    check_page(page, 5);
    assert_int_equal(pread(fd, page, PAGE_SIZE, (off_t)P(a)), (ssize_t)PAGE_SIZE);
    check_page(page, 6);
    close(fd);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_swap_init_unwritable_path_returns_errno_no_swap(void **state)
{
    struct swap_area sw;
    uint64_t slot;

    (void)state;
    assert_int_equal(swap_init(&sw, P(4), "/nonexistent-dir-vmemu/swap"), -ENOENT);
    assert_int_equal(sw.fd, -1);
    assert_int_equal(sw.max_slots, 0);
    assert_int_equal(swap_alloc(&sw, &slot), -ENOSPC);
    swap_destroy(&sw);
}

/* ---- swap cache ---- */

static pfn_t alloc_frame(struct env *e)
{
    pfn_t pfn = 0;

    assert_int_equal(phys_alloc(&e->phys, false, &pfn), 0);
    assert_int_not_equal(pfn, 0);
    return pfn;
}

static void test_swap_cache_add_find_del_take_and_drop_references(void **state)
{
    struct env *e = *state;
    uint64_t slot = alloc_slot(&e->sw);
    pfn_t pfn = alloc_frame(e);
    struct frame *fr = phys_frame(&e->phys, pfn);
    uint64_t free_before = phys_free_frames(&e->phys);

    assert_int_equal(swap_cache_find(&e->sw, slot), 0);
    swap_cache_add(&e->sw, &e->phys, slot, pfn);
    assert_int_equal(swap_cache_find(&e->sw, slot), pfn);
    assert_int_equal(fr->refcount, 2);
    assert_true(fr->flags & FRAME_SWAPCACHE);
    assert_int_equal(fr->index, slot);
    assert_int_equal(swap_count(&e->sw, slot), 2);
    /* Another slot is not affected. */
    uint64_t other = alloc_slot(&e->sw);
    assert_int_equal(swap_cache_find(&e->sw, other), 0);
    swap_free(&e->sw, other);

    swap_cache_del(&e->sw, &e->phys, pfn);
    assert_int_equal(swap_cache_find(&e->sw, slot), 0);
    assert_int_equal(fr->refcount, 1);
    assert_false(fr->flags & FRAME_SWAPCACHE);
    assert_int_equal(swap_count(&e->sw, slot), 1);
    assert_int_equal(phys_free_frames(&e->phys), free_before);

    phys_put(&e->phys, pfn);
    swap_free(&e->sw, slot);
    assert_int_equal(phys_free_frames(&e->phys), free_before + 1);
    assert_int_equal(e->sw.used, 0);
}

static void test_swap_cache_del_last_reference_frees_frame_and_slot(void **state)
{
    struct env *e = *state;
    uint64_t free_before = phys_free_frames(&e->phys);
    uint64_t slot = alloc_slot(&e->sw);
    pfn_t pfn = alloc_frame(e);

    swap_cache_add(&e->sw, &e->phys, slot, pfn);
    /* The allocation's own references go: only the cache holds frame and slot. */
    phys_put(&e->phys, pfn);
    swap_free(&e->sw, slot);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 1);
    assert_int_equal(swap_count(&e->sw, slot), 1);
    assert_int_equal(e->sw.used, 1);

    swap_cache_del(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 0);
    assert_int_equal(phys_free_frames(&e->phys), free_before);
    assert_int_equal(swap_count(&e->sw, slot), 0);
    assert_int_equal(e->sw.used, 0);
}

static void test_swap_put_page_only_cache_left_frees_frame_and_slot(void **state)
{
    struct env *e = *state;
    uint64_t free_before = phys_free_frames(&e->phys);
    uint64_t slot = alloc_slot(&e->sw); /* the swap entry that was read back */
    pfn_t pfn = alloc_frame(e);         /* the mapping's reference */

    swap_cache_add(&e->sw, &e->phys, slot, pfn);
    swap_free(&e->sw, slot); /* the swap entry became a present PTE */
    phys_get(&e->phys, pfn); /* a second mapping */
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 3);

    /* One of two mappings goes: the other still maps it, the cache keeps it. */
    swap_put_page(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 2);
    assert_int_equal(swap_cache_find(&e->sw, slot), pfn);
    assert_int_equal(swap_count(&e->sw, slot), 1);

    /* The last mapping goes: frame and slot are free. */
    swap_put_page(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 0);
    assert_false(phys_frame(&e->phys, pfn)->flags & FRAME_SWAPCACHE);
    assert_int_equal(swap_cache_find(&e->sw, slot), 0);
    assert_int_equal(swap_count(&e->sw, slot), 0);
    assert_int_equal(e->sw.used, 0);
    assert_int_equal(phys_free_frames(&e->phys), free_before);
}

static void test_swap_put_page_slot_still_used_keeps_cache(void **state)
{
    struct env *e = *state;
    uint64_t free_before = phys_free_frames(&e->phys);
    uint64_t slot = alloc_slot(&e->sw); /* a swap entry of another owner stays */
    pfn_t pfn = alloc_frame(e);

    swap_cache_add(&e->sw, &e->phys, slot, pfn);
    assert_int_equal(swap_count(&e->sw, slot), 2);

    /* The mapping goes, but a swap entry still needs the cached copy. */
    swap_put_page(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 1);
    assert_int_equal(swap_cache_find(&e->sw, slot), pfn);
    assert_int_equal(swap_count(&e->sw, slot), 2);
    assert_int_equal(phys_free_frames(&e->phys), free_before - 1);

    /* That owner's entry goes too (as a zap does); then the cache is taken down. */
    swap_free(&e->sw, slot);
    swap_cache_del(&e->sw, &e->phys, pfn);
    assert_int_equal(swap_count(&e->sw, slot), 0);
    assert_int_equal(phys_free_frames(&e->phys), free_before);
}

static void test_swap_put_page_not_in_cache_is_phys_put(void **state)
{
    struct env *e = *state;
    uint64_t free_before = phys_free_frames(&e->phys);
    pfn_t pfn = alloc_frame(e);

    phys_get(&e->phys, pfn);
    swap_put_page(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 1);
    swap_put_page(&e->sw, &e->phys, pfn);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 0);
    assert_int_equal(phys_free_frames(&e->phys), free_before);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_swap_alloc_fresh_in_order_then_freed_lifo),
        ENV_TEST(test_swap_alloc_full_returns_enospc_until_a_slot_is_freed),
        cmocka_unit_test(test_swap_init_max_zero_is_no_swap_enospc),
        cmocka_unit_test(test_swap_init_rounds_size_down_to_pages),
        ENV_TEST(test_swap_dup_and_free_count_references),
        ENV_TEST(test_swap_peak_used_keeps_highest),
        ENV_TEST(test_swap_write_read_round_trip_distinct_pages),
        ENV_TEST(test_swap_read_of_never_written_slot_returns_eio),
        cmocka_unit_test(test_swap_file_path_truncated_and_kept_after_destroy),
        cmocka_unit_test(test_swap_init_unwritable_path_returns_errno_no_swap),
        ENV_TEST(test_swap_cache_add_find_del_take_and_drop_references),
        ENV_TEST(test_swap_cache_del_last_reference_frees_frame_and_slot),
        ENV_TEST(test_swap_put_page_only_cache_left_frees_frame_and_slot),
        ENV_TEST(test_swap_put_page_slot_still_used_keeps_cache),
        ENV_TEST(test_swap_put_page_not_in_cache_is_phys_put),
    };
#undef ENV_TEST
    return cmocka_run_group_tests(tests, NULL, NULL);
}
