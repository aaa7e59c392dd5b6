/* Unit tests of address spaces (src/mm/mm.c) without a CPU: the layout of a new mm,
 * mm_map replacing what was mapped (MAP_FIXED), mm_unmap splitting areas, freeing frames
 * and pruning page tables, mm_zap_range, and the page install/zap primitives with their
 * reverse map and rss. Small pools (64 frames) so every frame is accounted for. mm_protect
 * is in test_mm_protect.c, mm_brk and mm_get_unmapped_area in test_mm_brk.c. */
#include "mm_fixture.h"

/* ---- creation ---- */

static void test_mm_create_sets_linux_layout(void **state)
{
    struct env *e = *state;

    assert_ptr_equal(e->mm->sys, &e->sys);
    assert_int_equal(e->mm->pt.table_pages, 1);
    assert_int_equal(e->mm->stats.peak_pt_pages, 1);
    /* No randomisation: 128 MiB (the minimum gap) below the stack top, as Linux. */
    assert_int_equal(e->mm->mmap_base, 0x7ffff7fff000ULL);
    assert_int_equal(e->mm->mmap_base, MM_STACK_TOP - (128ULL << 20));
    assert_int_equal(e->mm->stack_top, MM_STACK_TOP);
    assert_int_equal(e->mm->stack_limit, MM_STACK_LIMIT);
    assert_int_equal(e->mm->vmas.n, 0);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(e->mm->last_fault.signo, 0);
    assert_int_equal(mm_vm_pages(e->mm), 0);
    assert_int_equal(e->sys.phys.used, 2);
}

static void test_mm_destroy_current_mm_clears_current(void **state)
{
    struct env *e = *state;
    struct mm *mm2;

    assert_int_equal(mm_create(&e->sys, &mm2), 0);
    e->sys.current = mm2;
    assert_int_equal(mm_map(mm2, A, P(2), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(put_user_u64(mm2, A, 7), 0);
    assert_int_equal(e->sys.phys.used, 2 + 4 + 1);
    mm_destroy(mm2);
    assert_null(e->sys.current);
    assert_int_equal(e->sys.phys.used, 2);
}

static void test_vmsys_init_bad_sizes_return_einval(void **state)
{
    struct vmsys sys;

    (void)state;
    assert_int_equal(vmsys_init(&sys, 3 * PAGE_SIZE, 16, 4), -EINVAL);  /* pool */
    assert_int_equal(vmsys_init(&sys, 16 * PAGE_SIZE, 16, 3), -EINVAL); /* TLB geometry */
    assert_int_equal(vmsys_init(&sys, 16 * PAGE_SIZE, 16, 4), 0);
    assert_null(sys.current);
    assert_false(sys.cpu_flush_pending);
    vmsys_destroy(&sys);
}

static void test_mm_create_and_install_out_of_frames_return_enomem(void **state)
{
    struct vmsys sys;
    struct mm *mm1, *mm2, *mm3 = NULL;
    pfn_t pfn;

    (void)state;
    /* 4 frames: frame 0 and the zero page leave two, one PML4 each. */
    assert_int_equal(vmsys_init(&sys, 4 * PAGE_SIZE, 16, 4), 0);
    assert_int_equal(mm_create(&sys, &mm1), 0);
    assert_int_equal(mm_create(&sys, &mm2), 0);
    assert_int_equal(mm_create(&sys, &mm3), -ENOMEM);
    assert_null(mm3);
    mm_destroy(mm2);
    mm_destroy(NULL);

    assert_int_equal(phys_alloc(&sys.phys, true, &pfn), 0);
    assert_int_equal(mm_map(mm1, A, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    /* No frame for the tables: the caller keeps its reference. */
    assert_int_equal(mm_install_page(mm1, A, NULL, pfn, PTE_P | PTE_US | PTE_RW), -ENOMEM);
    assert_int_equal(phys_frame(&sys.phys, pfn)->refcount, 1);
    assert_null(phys_frame(&sys.phys, pfn)->rmap);
    assert_int_equal(mm1->stats.rss, 0);
    phys_put(&sys.phys, pfn);
    mm_destroy(mm1);
    assert_int_equal(sys.phys.used, 1);
    vmsys_destroy(&sys);
}

/* ---- mm_map ---- */

static void test_mm_map_invalid_range_returns_einval(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;

    assert_int_equal(mm_map(mm, A + 1, P(1), RW, 0, VMA_ANON, NULL, 0, 0), -EINVAL);
    assert_int_equal(mm_map(mm, A, P(1) + 1, RW, 0, VMA_ANON, NULL, 0, 0), -EINVAL);
    assert_int_equal(mm_map(mm, A, 0, RW, 0, VMA_ANON, NULL, 0, 0), -EINVAL);
    assert_int_equal(mm_map(mm, USER_VA_END, P(1), RW, 0, VMA_ANON, NULL, 0, 0), -EINVAL);
    assert_int_equal(mm_map(mm, USER_VA_END - P(1), P(2), RW, 0, VMA_ANON, NULL, 0, 0), -EINVAL);
    assert_int_equal(mm_map(mm, A, P(1), VM_READ, 0, VMA_FILE, e->f, 100, UINT64_MAX), -EINVAL);
    assert_int_equal(mm->vmas.n, 0);
    assert_int_equal(e->f->refs, 1);
    /* The last page of user space is fine. */
    assert_int_equal(mm_map(mm, USER_VA_END - P(1), P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
}

static void test_mm_map_over_existing_range_replaces_it(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    touch(e, A, 4);
    assert_int_equal(e->mm->stats.rss, 4);
    uint64_t used = e->sys.phys.used;

    assert_int_equal(mm_map(e->mm, A + P(1), P(2), VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(e->mm->vmas.n, 3);
    check_area(e, 0, A, A + P(1), RW);
    check_area(e, 1, A + P(1), A + P(3), VM_READ);
    check_area(e, 2, A + P(3), A + P(4), RW);
    assert_int_equal(e->mm->stats.rss, 2);
    assert_int_equal(e->sys.phys.used, used - 2);
    assert_int_equal(pte_at(e, A + P(1)), 0);
    assert_int_equal(pte_at(e, A + P(2)), 0);
    assert_true(pte_present(pte_at(e, A)));
    assert_true(pte_present(pte_at(e, A + P(3))));

    /* The new area starts empty: its old contents are gone. */
    uint32_t v = 99;
    assert_int_equal(copy_from_user(e->mm, &v, A + P(1), sizeof(v)), 0);
    assert_int_equal(v, 0);
    assert_int_equal(copy_from_user(e->mm, &v, A + P(3), sizeof(v)), 0);
    assert_int_equal(v, 4);
    assert_int_equal(mm_vm_pages(e->mm), 4);
    assert_int_equal(e->mm->stats.peak_vm, 4);
}

static void test_mm_map_file_holds_reference_and_offset(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(4), VM_READ, 0, VMA_FILE, e->f, P(3), P(5) + 10), 0);
    assert_int_equal(e->f->refs, 2);
    assert_ptr_equal(e->mm->vmas.v[0].file, e->f);
    assert_int_equal(e->mm->vmas.v[0].pgoff, 3);
    assert_int_equal(e->mm->vmas.v[0].file_end, P(5) + 10);
    assert_int_equal(e->mm->vmas.v[0].kind, VMA_FILE);
    /* Anonymous areas ignore the file arguments. */
    assert_int_equal(mm_map(e->mm, A + P(8), P(1), RW, 0, VMA_ANON, NULL, P(3), 77), 0);
    assert_int_equal(e->mm->vmas.v[1].pgoff, 0);
    assert_int_equal(e->mm->vmas.v[1].file_end, 0);

    assert_int_equal(mm_unmap(e->mm, A, P(4)), 0);
    assert_int_equal(e->f->refs, 1);
}

static void test_mm_map_adjacent_compatible_areas_merge(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(2), 2, RW);
    map_anon(e, A + P(4), 1, VM_READ);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, A, A + P(4), RW);
    check_area(e, 1, A + P(4), A + P(5), VM_READ);
    assert_int_equal(mm_vm_pages(e->mm), 5);
}

/* ---- mm_unmap ---- */

static void test_mm_unmap_middle_splits_area_and_frees_frames(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 8, RW);
    touch(e, A, 8);
    uint64_t used = e->sys.phys.used;
    assert_int_equal(e->mm->stats.rss, 8);

    assert_int_equal(mm_unmap(e->mm, A + P(3), P(2)), 0);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, A, A + P(3), RW);
    check_area(e, 1, A + P(5), A + P(8), RW);
    assert_int_equal(e->mm->stats.rss, 6);
    assert_int_equal(e->mm->stats.peak_rss, 8);
    assert_int_equal(e->sys.phys.used, used - 2);
    assert_int_equal(pte_at(e, A + P(3)), 0);
    assert_int_equal(pte_at(e, A + P(4)), 0);
    assert_true(pte_present(pte_at(e, A + P(2))));
    assert_true(pte_present(pte_at(e, A + P(5))));
    /* The leaf table still maps the neighbours. */
    assert_int_equal(e->mm->pt.table_pages, 4);
    assert_int_equal(mm_vm_pages(e->mm), 6);

    /* The hole is unmapped now. */
    assert_int_equal(mm_fault(e->mm, A + P(4), ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_UNMAPPED);
}

static void test_mm_unmap_everything_prunes_tables_to_root(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + SPAN_1G, 1, RW);
    touch(e, A, 2);
    touch(e, A + SPAN_1G, 1);
    assert_int_equal(e->mm->pt.table_pages, 6);
    assert_int_equal(e->mm->stats.rss, 3);

    assert_int_equal(mm_unmap(e->mm, 0, USER_VA_END), 0);
    assert_int_equal(e->mm->pt.table_pages, 1);
    assert_int_equal(e->mm->stats.peak_pt_pages, 6);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(e->mm->vmas.n, 0);
    assert_int_equal(e->sys.phys.used, 2);
}

static void test_mm_unmap_prunes_only_tables_between_neighbours(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    map_anon(e, A + SPAN_2M, 1, RW);
    touch(e, A, 4);
    touch(e, A + SPAN_2M, 1);
    assert_int_equal(e->mm->pt.table_pages, 5);

    /* Part of the first area: its leaf table still serves the rest. */
    assert_int_equal(mm_unmap(e->mm, A + P(2), P(2)), 0);
    assert_int_equal(e->mm->pt.table_pages, 5);
    /* The whole second area: its leaf table goes, the directories stay. */
    assert_int_equal(mm_unmap(e->mm, A + SPAN_2M, P(1)), 0);
    assert_int_equal(e->mm->pt.table_pages, 4);
    assert_null(pt_lookup(&e->mm->pt, &e->sys.phys, A + SPAN_2M));
    assert_true(pte_present(pte_at(e, A + P(1))));
    assert_int_equal(e->mm->stats.rss, 2);
}

static void test_mm_unmap_untouched_or_empty_range_succeeds(void **state)
{
    struct env *e = *state;
    uint64_t used = e->sys.phys.used;

    map_anon(e, A, 4, RW);
    assert_int_equal(mm_unmap(e->mm, A + SPAN_1G, P(4)), 0); /* nothing there */
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(mm_unmap(e->mm, A, P(4)), 0); /* never faulted in */
    assert_int_equal(e->mm->vmas.n, 0);
    assert_int_equal(e->sys.phys.used, used);
}

static void test_mm_unmap_invalid_range_returns_einval(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    assert_int_equal(mm_unmap(e->mm, A + 1, P(1)), -EINVAL);
    assert_int_equal(mm_unmap(e->mm, A, P(1) - 1), -EINVAL);
    assert_int_equal(mm_unmap(e->mm, A, 0), -EINVAL);
    assert_int_equal(mm_unmap(e->mm, USER_VA_END, P(1)), -EINVAL);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, A, A + P(4), RW);
}

static void test_mm_unmap_file_pages_stay_cached(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(16), VM_READ, 0, VMA_FILE, e->f, 0, UINT64_MAX), 0);
    assert_int_equal(mm_fault(e->mm, A, ACCESS_READ, 0), 0);
    assert_int_equal(e->sys.pc.pages, 16);
    assert_int_equal(e->mm->stats.rss, 16);
    pfn_t p0 = pagecache_find(&e->sys.pc, e->f, 0);
    assert_int_equal(phys_frame(&e->sys.phys, p0)->refcount, 2);

    assert_int_equal(mm_unmap(e->mm, A, P(16)), 0);
    assert_int_equal(e->mm->stats.rss, 0);
    /* The test still holds the file: its pages stay in the cache, unmapped. */
    assert_int_equal(e->sys.pc.pages, 16);
    assert_int_equal(phys_frame(&e->sys.phys, p0)->refcount, 1);
    assert_null(phys_frame(&e->sys.phys, p0)->rmap);
    assert_int_equal(e->f->refs, 1);
}

static void test_mm_zap_range_releases_pages_but_keeps_areas(void **state)
{
    struct env *e = *state;
    uint32_t v;

    map_anon(e, A, 4, RW);
    assert_int_equal(mm_map(e->mm, A + P(8), P(2), RW, 0, VMA_FILE, e->f, 0, UINT64_MAX), 0);
    touch(e, A, 4);
    touch(e, A + P(8), 2); /* private copies of file pages 0 and 1 */
    uint64_t used = e->sys.phys.used;

    mm_zap_range(e->mm, A + P(1), A + P(9));
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(pte_at(e, A + P(1)), 0);
    assert_int_equal(pte_at(e, A + P(8)), 0);
    assert_true(pte_present(pte_at(e, A)));
    assert_true(pte_present(pte_at(e, A + P(9))));
    assert_int_equal(e->mm->stats.rss, 2);
    assert_int_equal(e->sys.phys.used, used - 4);
    /* Anonymous pages come back zero, file pages with the file's bytes. */
    assert_int_equal(copy_from_user(e->mm, &v, A + P(2), sizeof(v)), 0);
    assert_int_equal(v, 0);
    assert_int_equal(copy_from_user(e->mm, &v, A + P(8), sizeof(v)), 0);
    assert_int_equal(v, 0x61616161);
    assert_int_equal(copy_from_user(e->mm, &v, A + P(9), sizeof(v)), 0);
    assert_int_equal(v, 2);
}

/* ---- page primitives ---- */

static void test_mm_install_and_zap_page_track_rmap_and_rss(void **state)
{
    struct env *e = *state;
    struct phys *phys = &e->sys.phys;
    pfn_t pfn;

    map_anon(e, A, 2, RW);
    assert_int_equal(phys_alloc(phys, true, &pfn), 0);
    assert_int_equal(mm_install_page(e->mm, A + P(1), NULL, pfn, PTE_P | PTE_US | PTE_RW), 0);
    assert_int_equal(pte_at(e, A + P(1)), pte_make(pfn, PTE_P | PTE_US | PTE_RW));
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(e->mm->stats.peak_rss, 1);
    assert_int_equal(e->mm->pt.table_pages, 4);
    assert_int_equal(e->mm->stats.peak_pt_pages, 4);
    assert_ptr_equal(phys_frame(phys, pfn)->rmap->mm, e->mm);
    assert_int_equal(phys_frame(phys, pfn)->rmap->va, A + P(1));
    assert_int_equal(phys_frame(phys, pfn)->refcount, 1);

    /* The zero page: no rss, no reverse map, no reference. */
    assert_int_equal(mm_install_page(e->mm, A, NULL, phys->zero_pfn, PTE_P | PTE_US), 0);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_null(phys_frame(phys, phys->zero_pfn)->rmap);
    mm_zap_page(e->mm, A, pt_lookup(&e->mm->pt, phys, A));
    assert_int_equal(pte_at(e, A), 0);
    assert_int_equal(phys_frame(phys, phys->zero_pfn)->refcount, 1);

    uint64_t used = phys->used;
    mm_zap_page(e->mm, A + P(1), pt_lookup(&e->mm->pt, phys, A + P(1)));
    assert_int_equal(pte_at(e, A + P(1)), 0);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(phys->used, used - 1);
    assert_int_equal(phys_frame(phys, pfn)->refcount, 0);
    assert_null(phys_frame(phys, pfn)->rmap);
}

static void test_mm_zap_page_swap_entry_clears_pte_frees_slot(void **state)
{
    struct env *e = *state;
    pte_t *ptep;

    uint64_t slot;

    assert_int_equal(vmsys_setup_paging(&e->sys, POLICY_CLOCK, 1, 1 << 20, NULL), 0);
    assert_int_equal(swap_alloc(&e->sys.swap, &slot), 0);
    map_anon(e, A, 1, RW);
    assert_int_equal(pt_lookup_alloc(&e->mm->pt, &e->sys.phys, A, &ptep), 0);
    mm_set_pte(e->mm, A, ptep, pte_make_swap(slot));
    uint64_t used = e->sys.phys.used;
    mm_zap_page(e->mm, A, ptep);
    assert_int_equal(*ptep, 0);
    assert_int_equal(e->sys.phys.used, used);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(swap_count(&e->sys.swap, slot), 0); /* the entry's slot is freed */
    assert_int_equal(e->sys.swap.used, 0);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmsys_init_bad_sizes_return_einval),
        ENV_TEST(test_mm_create_sets_linux_layout),
        cmocka_unit_test(test_mm_create_and_install_out_of_frames_return_enomem),
        ENV_TEST(test_mm_destroy_current_mm_clears_current),
        ENV_TEST(test_mm_map_invalid_range_returns_einval),
        ENV_TEST(test_mm_map_over_existing_range_replaces_it),
        ENV_TEST(test_mm_map_file_holds_reference_and_offset),
        ENV_TEST(test_mm_map_adjacent_compatible_areas_merge),
        ENV_TEST(test_mm_unmap_middle_splits_area_and_frees_frames),
        ENV_TEST(test_mm_unmap_everything_prunes_tables_to_root),
        ENV_TEST(test_mm_unmap_prunes_only_tables_between_neighbours),
        ENV_TEST(test_mm_unmap_untouched_or_empty_range_succeeds),
        ENV_TEST(test_mm_unmap_invalid_range_returns_einval),
        ENV_TEST(test_mm_unmap_file_pages_stay_cached),
        ENV_TEST(test_mm_zap_range_releases_pages_but_keeps_areas),
        ENV_TEST(test_mm_install_and_zap_page_track_rmap_and_rss),
        ENV_TEST(test_mm_zap_page_swap_entry_clears_pte_frees_slot),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
