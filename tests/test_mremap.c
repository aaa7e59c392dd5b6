/* Unit tests of mm_remap (src/mm/mremap.c) without a CPU, the calls that stay in place:
 * Linux's argument checks and their errno, shrinking, keeping the size, and growing in place
 * (anonymous, file, shared anonymous memory, next to a stack, locked areas). Moves are in
 * test_mremap_move.c. Small pools (64 frames) so every frame is accounted for. */
#include "mremap_fixture.h"

/* ---- argument checks ---- */

static void test_mremap_bad_flags_return_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    assert_int_equal(remap_err(e, A, P(2), P(2), 8, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | 0x10, 0), -EINVAL);
    /* FIXED and DONTUNMAP each need MAYMOVE. */
    assert_int_equal(remap_err(e, A, P(2), P(2), FIXED, B), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), DONTUNMAP, B), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), FIXED | DONTUNMAP, B), -EINVAL);
    /* DONTUNMAP cannot resize. */
    assert_int_equal(remap_err(e, A, P(2), P(3), MAYMOVE | DONTUNMAP, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(1), MAYMOVE | DONTUNMAP | FIXED, B), -EINVAL);
    /* Argument errors come before the area lookup: an unmapped source still gives EINVAL. */
    assert_int_equal(remap_err(e, B, P(1), P(1), FIXED, A), -EINVAL);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(area(e, A)->end, A + P(2));
}

static void test_mremap_unaligned_or_zero_arguments_return_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    assert_int_equal(remap_err(e, A + 8, P(1), P(2), MAYMOVE, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(1), 0, MAYMOVE, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | FIXED, B + 8), -EINVAL);
    /* Lengths arrive rounded up; an unrounded one is refused rather than guessed at. */
    assert_int_equal(remap_err(e, A, P(1) + 1, P(2), MAYMOVE, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(1), P(2) - 1, MAYMOVE, 0), -EINVAL);
    /* An unaligned new_addr only matters when it is used. */
    assert_int_equal(remap(e, A, P(2), P(1), 0, 0x123), A);
}

static void test_mremap_new_range_outside_user_space_returns_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    assert_int_equal(remap_err(e, A, P(1), USER_VA_END + P(1), MAYMOVE, 0), -EINVAL);
    assert_int_equal(remap_err(e, A, P(1), P(2), MAYMOVE | FIXED, USER_VA_END - P(1)), -EINVAL);
    assert_int_equal(remap_err(e, A, P(1), P(1), MAYMOVE | FIXED, USER_VA_END), -EINVAL);
    /* The last page of user space is a valid destination. */
    assert_int_equal(remap(e, A, P(1), P(1), MAYMOVE | FIXED, USER_VA_END - P(1)),
                     USER_VA_END - P(1));
}

static void test_mremap_fixed_overlapping_ranges_return_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    fill(e, A, 4, 10);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | FIXED, A + P(1)), -EINVAL);
    assert_int_equal(remap_err(e, A + P(2), P(2), P(2), MAYMOVE | FIXED, A + P(1)), -EINVAL);
    assert_int_equal(remap_err(e, A + P(1), P(1), P(4), MAYMOVE | FIXED, A - P(2)), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | FIXED, A), -EINVAL);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | DONTUNMAP, A + P(1)), -EINVAL);
    expect_filled(e, A, 4, 10);
    /* Adjacent is fine: the destination (part of the same area) is replaced. */
    assert_int_equal(remap(e, A, P(2), P(2), MAYMOVE | FIXED, A + P(2)), A + P(2));
    expect_filled(e, A + P(2), 2, 10);
    expect_segv(e, A);
    assert_int_equal(e->mm->stats.rss, 2);
}

static void test_mremap_unmapped_source_returns_efault(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    assert_int_equal(remap_err(e, A + P(2), P(1), P(1), 0, 0), -EFAULT);
    assert_int_equal(remap_err(e, A + P(2), P(1), P(2), MAYMOVE, 0), -EFAULT);
    assert_int_equal(remap_err(e, A + P(2), P(1), P(1), MAYMOVE | FIXED, B), -EFAULT);
    assert_int_equal(remap_err(e, A + P(2), P(1), P(2), MAYMOVE | FIXED, B), -EFAULT);
    assert_int_equal(remap_err(e, A + P(2), P(1), P(1), MAYMOVE | DONTUNMAP, 0), -EFAULT);
    assert_int_equal(remap_err(e, 0, P(1), P(1), 0, 0), -EFAULT);
    /* Nothing was unmapped on the way (the FIXED destination included). */
    map_anon(e, B, 1, VM_READ);
    assert_int_equal(remap_err(e, A + P(4), P(1), P(2), MAYMOVE | FIXED, B), -EFAULT);
    assert_non_null(vma_lookup(&e->mm->vmas, B));
}

static void test_mremap_source_across_area_end_returns_efault(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(2), 2, VM_READ); /* another protection: a second area */
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(remap_err(e, A, P(3), P(4), MAYMOVE, 0), -EFAULT);
    assert_int_equal(remap_err(e, A + P(1), P(2), P(3), MAYMOVE | FIXED, B), -EFAULT);
    assert_int_equal(remap_err(e, A, P(3), P(3), MAYMOVE | DONTUNMAP, 0), -EFAULT);
    assert_int_equal(e->mm->vmas.n, 2);
    /* Keeping the size in place only needs an area at the start, as on Linux. */
    assert_int_equal(remap(e, A, P(4), P(4), MAYMOVE, 0), A);
    assert_int_equal(e->mm->vmas.n, 2);
}

static void test_mremap_zero_old_len_on_private_area_returns_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    assert_int_equal(remap_err(e, A, 0, P(1), MAYMOVE, 0), -EINVAL);
    map_file(e, B, 1, VM_READ, 0, 0);
    assert_int_equal(remap_err(e, B, 0, P(1), MAYMOVE, 0), -EINVAL);
    assert_int_equal(e->mm->vmas.n, 2);
}

/* ---- shrink and same size ---- */

static void test_mremap_shrink_unmaps_tail_and_returns_old_addr(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    fill(e, A, 4, 20);
    uint64_t used = e->sys.phys.used;
    assert_int_equal(remap(e, A, P(4), P(2), 0, 0), A);
    assert_int_equal(area(e, A)->end, A + P(2));
    assert_int_equal(e->mm->stats.rss, 2);
    assert_int_equal(e->sys.phys.used, used - 2);
    expect_filled(e, A, 2, 20);
    expect_segv(e, A + P(2));
    expect_segv(e, A + P(3));
    /* MAYMOVE changes nothing for a shrink. */
    assert_int_equal(remap(e, A, P(2), P(1), MAYMOVE, 0), A);
    assert_int_equal(area(e, A)->end, A + P(1));
}

static void test_mremap_shrink_across_areas_unmaps_the_tail_range(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    map_anon(e, A + P(1), 2, VM_READ);
    map_anon(e, A + P(3), 1, RW | VM_EXEC);
    /* Linux only needs the area at the start and unmaps [A + 1p, A + 3p) whatever it is. */
    assert_int_equal(remap(e, A, P(3), P(1), 0, 0), A);
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(area(e, A)->end, A + P(1));
    assert_null(vma_lookup(&e->mm->vmas, A + P(1)));
    assert_int_equal(area(e, A + P(3))->start, A + P(3));
}

static void test_mremap_same_size_returns_old_addr_unchanged(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    fill(e, A, 2, 30);
    pfn_t pfn = pfn_at(e, A);
    assert_int_equal(remap(e, A, P(2), P(2), 0, 0), A);
    assert_int_equal(remap(e, A, P(2), P(2), MAYMOVE, 0), A);
    assert_int_equal(remap(e, A + P(1), P(1), P(1), 0, 0), A + P(1));
    assert_int_equal(pfn_at(e, A), pfn);
    assert_int_equal(e->mm->vmas.n, 1);
    expect_filled(e, A, 2, 30);
}

/* ---- grow in place ---- */

static void test_mremap_grow_in_place_extends_area(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    fill(e, A, 2, 40);
    pfn_t pfn0 = pfn_at(e, A), pfn1 = pfn_at(e, A + P(1));
    assert_int_equal(e->mm->stats.peak_vm, 2);
    assert_int_equal(remap(e, A, P(2), P(4), 0, 0), A);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(area(e, A)->end, A + P(4));
    assert_int_equal(e->mm->stats.peak_vm, 4);
    assert_int_equal(pfn_at(e, A), pfn0);
    assert_int_equal(pfn_at(e, A + P(1)), pfn1);
    assert_int_equal(e->mm->stats.rss, 2);
    /* The new pages fault in like any others. */
    fill(e, A + P(2), 2, 50);
    assert_int_equal(e->mm->stats.rss, 4);
    expect_filled(e, A, 2, 40);
    expect_filled(e, A + P(2), 2, 50);
}

static void test_mremap_grow_in_place_merges_with_next_area(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(3), 1, RW);
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(remap(e, A, P(2), P(3), 0, 0), A);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(area(e, A)->end, A + P(4));
}

static void test_mremap_grow_file_area_extends_file_range(void **state)
{
    struct env *e = *state;

    map_file(e, A, 2, VM_READ, 0, 1); /* file pages 1 and 2 */
    assert_int_equal(read_byte(e, A), 'B');
    assert_int_equal(remap(e, A, P(2), P(4), 0, 0), A);
    assert_int_equal(area(e, A)->pgoff, 1);
    assert_int_equal(read_byte(e, A + P(3)), 'E'); /* file page 4 */
    assert_int_equal(read_byte(e, A + P(2)), 'D');
}

static void test_mremap_grow_shared_anon_brings_back_cached_page(void **state)
{
    struct env *e = *state;
    struct vfile *shm;

    /* Linux keeps the pages of shared anonymous memory in its shmem file: a page unmapped
     * and mapped again by growing the area still holds what was stored. */
    assert_int_equal(vfile_shmem_create(&e->sys.pc, P(2), &shm), 0);
    assert_int_equal(mm_map(e->mm, A, P(2), RW, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX), 0);
    vfile_put(shm);
    assert_int_equal(put_user_u64(e->mm, A + P(1), 0x58), 0);
    assert_int_equal(mm_unmap(e->mm, A + P(1), P(1)), 0);
    assert_int_equal(remap(e, A, P(1), P(2), MAYMOVE, 0), A);
    assert_int_equal(read_byte(e, A + P(1)), 0x58);
}

static void test_mremap_grow_blocked_without_maymove_returns_enomem(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(2), 1, VM_READ);
    fill(e, A, 2, 60);
    assert_int_equal(remap_err(e, A, P(2), P(3), 0, 0), -ENOMEM);
    /* A range that does not reach its area's end cannot grow in place either. */
    assert_int_equal(remap_err(e, A, P(1), P(2), 0, 0), -ENOMEM);
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(area(e, A)->end, A + P(2));
    expect_filled(e, A, 2, 60);
}

static void test_mremap_grow_next_to_stack_keeps_no_guard_gap(void **state)
{
    struct env *e = *state;
    gva_t stack = 0x7ff000000000ULL;

    /* Linux's vma_expandable() only asks for free space, unlike brk and the stack's
     * growth, which keep stack_guard_gap. */
    assert_int_equal(mm_map(e->mm, stack, P(4), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0), 0);
    map_anon(e, stack - P(3), 1, RW);
    assert_int_equal(remap(e, stack - P(3), P(1), P(3), 0, 0), stack - P(3));
    assert_int_equal(area(e, stack - P(3))->end, stack);
}

static void test_mremap_grow_locked_area_populates_new_pages(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    assert_int_equal(mm_lock_range(e->mm, A, A + P(1), true), 0);
    assert_int_equal(mm_populate(e->mm, A, A + P(1)), 0);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(remap(e, A, P(1), P(3), 0, 0), A);
    assert_int_equal(e->mm->stats.rss, 3);
    assert_true(pte_present(pte_at(e, A + P(2))));
    assert_true(area(e, A)->flags & VM_LOCKED);
    /* Locked on fault (MLOCK_ONFAULT): the new part is not faulted in. */
    assert_int_equal(mm_map(e->mm, B, P(1), RW, VM_LOCKED | VM_LOCKONFAULT, VMA_ANON, NULL, 0, 0),
                     0);
    assert_int_equal(remap(e, B, P(1), P(3), 0, 0), B);
    assert_int_equal(e->mm->stats.rss, 3);
    assert_int_equal(pte_at(e, B + P(2)), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mremap_bad_flags_return_einval),
        T(test_mremap_unaligned_or_zero_arguments_return_einval),
        T(test_mremap_new_range_outside_user_space_returns_einval),
        T(test_mremap_fixed_overlapping_ranges_return_einval),
        T(test_mremap_unmapped_source_returns_efault),
        T(test_mremap_source_across_area_end_returns_efault),
        T(test_mremap_zero_old_len_on_private_area_returns_einval),
        T(test_mremap_shrink_unmaps_tail_and_returns_old_addr),
        T(test_mremap_shrink_across_areas_unmaps_the_tail_range),
        T(test_mremap_same_size_returns_old_addr_unchanged),
        T(test_mremap_grow_in_place_extends_area),
        T(test_mremap_grow_in_place_merges_with_next_area),
        T(test_mremap_grow_file_area_extends_file_range),
        T(test_mremap_grow_shared_anon_brings_back_cached_page),
        T(test_mremap_grow_blocked_without_maymove_returns_enomem),
        T(test_mremap_grow_next_to_stack_keeps_no_guard_gap),
        T(test_mremap_grow_locked_area_populates_new_pages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
