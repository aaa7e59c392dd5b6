/* Unit tests of mm_remap (src/mm/mremap.c) without a CPU, the calls that move: MAYMOVE,
 * FIXED and DONTUNMAP (PTEs and reverse-map entries move, frames are never copied, rss
 * stays, the old range faults SEGV or reads zero, tables are pruned), FIXED moves of several
 * areas (Linux 6.17+), kinds of moved areas, locked areas, the unmap history, and a move
 * that runs out of frames for its tables changing nothing. Small pools (64 frames, 16 for
 * the out-of-memory case) so every frame is accounted for. */
#include "mremap_fixture.h"

/* ---- moves ---- */

static void test_mremap_maymove_moves_ptes_without_copying_frames(void **state)
{
    struct env *e = *state;
    pfn_t pfn[4];

    map_anon(e, A, 4, RW);
    map_anon(e, A + P(4), 1, VM_READ); /* blocks growth in place; keeps the old leaf table */
    fill(e, A, 4, 70);
    for (int i = 0; i < 4; i++)
        pfn[i] = pfn_at(e, A + P(i));
    uint64_t used = e->sys.phys.used;
    assert_int_equal(e->mm->pt.table_pages, 4);

    gva_t to = remap(e, A, P(4), P(6), MAYMOVE, 0);
    assert_int_equal(to, top_down(e, 6));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pfn_at(e, to + P(i)), pfn[i]);
        expect_rmap(e, pfn[i], to + P(i));
        assert_int_equal(phys_frame(&e->sys.phys, pfn[i])->refcount, 1);
        assert_int_equal(pte_at(e, A + P(i)), 0);
    }
    /* No frame copied: only the three tables of the new place are new. */
    assert_int_equal(e->mm->pt.table_pages, 7);
    assert_int_equal(e->sys.phys.used, used + 3);
    assert_int_equal(e->mm->stats.rss, 4);
    expect_filled(e, to, 4, 70);
    expect_segv(e, A);
    expect_segv(e, A + P(3));
    const struct vma *v = area(e, to);
    assert_int_equal(v->start, to);
    assert_int_equal(v->end, to + P(6));
    assert_int_equal(v->prot, RW);
    assert_int_equal(v->kind, VMA_ANON);
    assert_int_equal(e->mm->stats.peak_vm, 7);
    /* The grown part is ordinary demand-zero memory. */
    uint64_t z = 1;
    assert_int_equal(get_user_u64(e->mm, to + P(5), &z), 0);
    assert_int_equal(z, 0);
    assert_int_equal(e->mm->stats.rss, 4);
}

static void test_mremap_move_prunes_old_tables(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    fill(e, A, 2, 80);
    assert_int_equal(e->mm->pt.table_pages, 4);
    uint64_t used = e->sys.phys.used;
    assert_int_equal(remap(e, A, P(2), P(2), MAYMOVE | FIXED, B), B);
    /* B's directory and leaf table replace A's; the PDPT serves both. */
    assert_int_equal(e->mm->pt.table_pages, 4);
    assert_int_equal(e->mm->stats.peak_pt_pages, 6);
    assert_int_equal(e->sys.phys.used, used);
    assert_null(pt_lookup(&e->mm->pt, &e->sys.phys, A));
    expect_filled(e, B, 2, 80);
    assert_int_equal(e->mm->vmas.n, 1);
}

static void test_mremap_fixed_replaces_destination_mapping(void **state)
{
    struct env *e = *state;

    map_anon(e, B, 3, RW);
    fill(e, B, 3, 90);
    map_anon(e, A, 2, RW);
    fill(e, A, 2, 100);
    pfn_t pfn = pfn_at(e, A + P(1));
    uint64_t used = e->sys.phys.used;
    assert_int_equal(remap(e, A, P(2), P(2), MAYMOVE | FIXED, B), B);
    /* The two replaced frames and A's two tables are freed. */
    assert_int_equal(e->sys.phys.used, used - 4);
    assert_int_equal(e->mm->stats.rss, 3);
    assert_int_equal(pfn_at(e, B + P(1)), pfn);
    expect_filled(e, B, 2, 100);
    expect_filled(e, B + P(2), 1, 92);
    assert_int_equal(e->mm->vmas.n, 1); /* merged with the rest of the old destination */
    assert_int_equal(area(e, B)->end, B + P(3));
}

static void test_mremap_fixed_shrink_moves_only_kept_part(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    fill(e, A, 4, 110);
    assert_int_equal(remap(e, A, P(4), P(2), MAYMOVE | FIXED, B), B);
    assert_int_equal(e->mm->stats.rss, 2);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(area(e, B)->end, B + P(2));
    expect_filled(e, B, 2, 110);
    expect_segv(e, A + P(3));
}

static void test_mremap_fixed_grow_moves_and_extends(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    fill(e, A, 2, 120);
    assert_int_equal(remap(e, A, P(2), P(5), MAYMOVE | FIXED, B), B);
    assert_int_equal(area(e, B)->end, B + P(5));
    expect_filled(e, B, 2, 120);
    fill(e, B + P(4), 1, 130);
    assert_int_equal(e->mm->stats.rss, 3);
}

static void test_mremap_move_part_of_area_splits_it(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    fill(e, A, 4, 140);
    /* The first two pages do not reach the area's end: they move, the rest stays. */
    gva_t to = remap(e, A, P(2), P(3), MAYMOVE, 0);
    assert_int_equal(to, top_down(e, 3));
    assert_null(vma_lookup(&e->mm->vmas, A));
    assert_int_equal(area(e, A + P(2))->end, A + P(4));
    expect_filled(e, to, 2, 140);
    expect_filled(e, A + P(2), 2, 142);
    assert_int_equal(e->mm->stats.rss, 4);
}

static void test_mremap_move_file_area_keeps_file_offset(void **state)
{
    struct env *e = *state;

    map_file(e, A, 4, VM_READ, 0, 0);
    assert_int_equal(remap(e, A + P(2), P(2), P(2), MAYMOVE | FIXED, B), B);
    const struct vma *v = area(e, B);
    assert_ptr_equal(v->file, e->f);
    assert_int_equal(v->pgoff, 2);
    assert_int_equal(v->kind, VMA_FILE);
    assert_int_equal(read_byte(e, B), 'C');
    assert_int_equal(read_byte(e, B + P(1)), 'D');
    assert_int_equal(area(e, A)->end, A + P(2));
    assert_int_equal(e->f->refs, 3); /* the test's and one per area */
}

static void test_mremap_move_shared_file_keeps_page_cache_frame(void **state)
{
    struct env *e = *state;

    map_file(e, A, 2, VM_READ, VM_SHARED, 0);
    map_anon(e, A + P(2), 1, VM_READ);        /* blocks growth in place */
    map_file(e, B, 1, VM_READ, VM_SHARED, 0); /* a second mapping of file page 0 */
    assert_int_equal(read_byte(e, A), 'A');
    assert_int_equal(read_byte(e, B), 'A');
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 0);
    assert_int_not_equal(cached, 0);
    assert_int_equal(pfn_at(e, A), cached);
    uint32_t refs = phys_frame(&e->sys.phys, cached)->refcount;

    gva_t to = remap(e, A, P(2), P(3), MAYMOVE, B + P(1) /* unused without FIXED */);
    assert_int_equal(to, top_down(e, 3));
    assert_int_equal(pfn_at(e, to), cached);
    assert_int_equal(pfn_at(e, B), cached);
    assert_int_equal(phys_frame(&e->sys.phys, cached)->refcount, refs);
    assert_int_equal(read_byte(e, to), 'A');
    assert_int_equal(read_byte(e, to + P(2)), 'C');
    assert_true(area(e, to)->flags & VM_SHARED);
}

static void test_mremap_zero_old_len_on_shared_area_duplicates_mapping(void **state)
{
    struct env *e = *state;

    map_file(e, A, 2, VM_READ, VM_SHARED, 0);
    assert_int_equal(read_byte(e, A + P(1)), 'B');
    /* A second mapping cannot be made in place. */
    assert_int_equal(remap_err(e, A, 0, P(2), 0, 0), -ENOMEM);
    gva_t to = remap(e, A + P(1), 0, P(2), MAYMOVE, 0);
    assert_int_equal(to, top_down(e, 2));
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(area(e, A)->end, A + P(2)); /* the original stays */
    assert_int_equal(area(e, to)->pgoff, 1);
    assert_int_equal(read_byte(e, to), 'B');
    assert_int_equal(read_byte(e, to + P(1)), 'C');
    assert_int_equal(pfn_at(e, to), pfn_at(e, A + P(1)));
    assert_int_equal(pfn_at(e, to), pagecache_find(&e->sys.pc, e->f, 1));
}

static void test_mremap_dontunmap_leaves_old_range_reading_zero(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    fill(e, A, 2, 150);
    pfn_t pfn = pfn_at(e, A);
    gva_t to = remap(e, A, P(2), P(2), MAYMOVE | DONTUNMAP, 0);
    assert_int_equal(to, top_down(e, 2));
    assert_int_equal(pfn_at(e, to), pfn);
    expect_rmap(e, pfn, to);
    expect_filled(e, to, 2, 150);
    /* The old area stays, empty: its pages read back as zero. */
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(area(e, A)->end, A + P(2));
    assert_int_equal(pte_at(e, A), 0);
    expect_filled(e, A, 1, 0);
    assert_int_equal(pfn_at(e, A), e->sys.phys.zero_pfn);
    assert_int_equal(e->mm->stats.rss, 2);
    assert_int_equal(mm_vm_pages(e->mm), 4);
    assert_int_equal(e->mm->stats.peak_vm, 4);
}

static void test_mremap_dontunmap_uses_new_addr_as_hint(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    assert_int_equal(remap(e, A, P(1), P(1), MAYMOVE | DONTUNMAP, B), B);
    /* B is taken now: the hint is ignored and the move goes top-down. */
    assert_int_equal(remap(e, A, P(1), P(1), MAYMOVE | DONTUNMAP, B), top_down(e, 1));
    /* With FIXED the destination is replaced instead. */
    fill(e, B, 1, 160);
    assert_int_equal(remap(e, top_down(e, 1), P(1), P(1), MAYMOVE | DONTUNMAP | FIXED, B), B);
    expect_filled(e, B, 1, 0);
    assert_int_equal(e->mm->vmas.n, 3);
}

static void test_mremap_dontunmap_private_file_old_range_rereads_file(void **state)
{
    struct env *e = *state;

    /* Linux 5.13+ allows DONTUNMAP on every area; the old range faults from its file. */
    map_file(e, A, 2, RW, 0, 3);
    fill(e, A, 1, 170);
    gva_t to = remap(e, A, P(2), P(2), MAYMOVE | DONTUNMAP, 0);
    expect_filled(e, to, 1, 170);
    assert_int_equal(read_byte(e, A), 'D');
    assert_int_equal(read_byte(e, A + P(1)), 'E');
    assert_int_equal(area(e, to)->pgoff, 3);
}

static void test_mremap_dontunmap_shared_file_old_range_maps_same_frame(void **state)
{
    struct env *e = *state;

    map_file(e, A, 1, VM_READ, VM_SHARED, 5);
    assert_int_equal(read_byte(e, A), 'F');
    gva_t to = remap(e, A, P(1), P(1), MAYMOVE | DONTUNMAP, 0);
    assert_int_equal(pte_at(e, A), 0);
    assert_int_equal(read_byte(e, A), 'F');
    assert_int_equal(pfn_at(e, A), pfn_at(e, to));
    assert_int_equal(pfn_at(e, A), pagecache_find(&e->sys.pc, e->f, 5));
}

static void test_mremap_dontunmap_clears_lock_of_old_area(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    assert_int_equal(mm_lock_range(e->mm, A, A + P(2), true), 0);
    assert_int_equal(mm_populate(e->mm, A, A + P(2)), 0);
    gva_t to = remap(e, A, P(2), P(2), MAYMOVE | DONTUNMAP, 0);
    assert_false(area(e, A)->flags & VM_LOCKED);
    assert_true(area(e, to)->flags & VM_LOCKED);
    assert_int_equal(e->mm->stats.rss, 2);
}

static void test_mremap_moved_heap_stack_bss_become_anon_and_image_becomes_file(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(1), RW, 0, VMA_HEAP, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, A + P(2), P(1), RW, 0, VMA_BSS, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, A + P(4), P(1), RW, 0, VMA_IMAGE, e->f, 0, P(1) - 100), 0);
    /* Resizing in place keeps the kind. */
    assert_int_equal(remap(e, A, P(1), P(2), 0, 0), A);
    assert_int_equal(area(e, A)->kind, VMA_HEAP);

    assert_int_equal(remap(e, A, P(2), P(2), MAYMOVE | FIXED, B), B);
    assert_int_equal(area(e, B)->kind, VMA_ANON);
    assert_int_equal(remap(e, A + P(2), P(1), P(1), MAYMOVE | FIXED, B + P(4)), B + P(4));
    assert_int_equal(area(e, B + P(4))->kind, VMA_ANON);
    assert_int_equal(remap(e, A + P(4), P(1), P(1), MAYMOVE | FIXED, B + P(8)), B + P(8));
    const struct vma *img = area(e, B + P(8));
    assert_int_equal(img->kind, VMA_FILE);
    /* A writable segment's bytes past its file part still read zero. */
    assert_int_equal(img->file_end, P(1) - 100);
    assert_int_equal(read_byte(e, B + P(8) + PAGE_SIZE - 101), 'A');
    assert_int_equal(read_byte(e, B + P(8) + PAGE_SIZE - 100), 0);

    gva_t stack = 0x7ff000000000ULL;
    assert_int_equal(mm_map(e->mm, stack, P(2), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0), 0);
    assert_int_equal(remap(e, stack, P(2), P(2), MAYMOVE | FIXED, B + P(12)), B + P(12));
    assert_int_equal(area(e, B + P(12))->kind, VMA_ANON);
    assert_true(area(e, B + P(12))->flags & VM_GROWSDOWN);
}

static void test_mremap_fixed_moves_several_areas_keeping_gaps(void **state)
{
    struct env *e = *state;

    /* Linux 6.17+: FIXED without a resize moves every area of the range. */
    map_anon(e, A, 2, RW);
    map_anon(e, A + P(3), 1, VM_READ);
    map_anon(e, A + P(5), 1, RW);
    fill(e, A, 2, 180);
    fill(e, A + P(5), 1, 190);
    map_anon(e, B + P(2), 1, RW | VM_EXEC); /* in the destination's gap: stays */
    fill(e, B + P(2), 1, 200);
    assert_int_equal(remap(e, A, P(7), P(7), MAYMOVE | FIXED, B), B);
    assert_null(vma_lookup(&e->mm->vmas, A));
    assert_null(vma_lookup(&e->mm->vmas, A + P(3)));
    assert_null(vma_lookup(&e->mm->vmas, A + P(5)));
    assert_int_equal(e->mm->vmas.n, 4);
    assert_int_equal(area(e, B)->end, B + P(2));
    assert_int_equal(area(e, B + P(3))->prot, VM_READ);
    assert_int_equal(area(e, B + P(3))->end, B + P(4));
    assert_null(vma_lookup(&e->mm->vmas, B + P(4)));
    assert_int_equal(area(e, B + P(5))->end, B + P(6));
    expect_filled(e, B, 2, 180);
    expect_filled(e, B + P(2), 1, 200);
    expect_filled(e, B + P(5), 1, 190);
    assert_int_equal(e->mm->stats.rss, 4);
}

static void test_mremap_fixed_range_starting_in_gap_returns_efault(void **state)
{
    struct env *e = *state;

    map_anon(e, A + P(1), 1, RW);
    assert_int_equal(remap_err(e, A, P(2), P(2), MAYMOVE | FIXED, B), -EFAULT);
    assert_int_equal(remap_err(e, A + P(4), P(2), P(2), MAYMOVE | FIXED, B), -EFAULT);
    assert_int_equal(area(e, A + P(1))->start, A + P(1));
}

static void test_mremap_move_tells_the_unmap_hook(void **state)
{
    struct env *e = *state;
    struct vm_fixture_unmap_log log = {0};

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(2), 1, VM_READ);
    e->sys.on_unmap = (struct mm_unmap_hook){vm_fixture_log_unmap, &log};
    gva_t to = remap(e, A, P(2), P(3), MAYMOVE, 0);
    e->sys.on_unmap = (struct mm_unmap_hook){0};
    assert_int_not_equal(to, A);
    assert_int_equal(log.n, 1); /* the old range only: the new one was free */
    assert_ptr_equal(log.mm[0], e->mm);
    assert_int_equal(log.start[0], A);
    assert_int_equal(log.end[0], A + P(2));
}

static void test_mremap_move_of_current_mm_asks_cpu_to_drop_old_page(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, RW);
    fill(e, A, 1, 210);
    e->sys.current = e->mm;
    e->sys.cpu_flush_pending = false;
    e->sys.cpu_inval_n = 0;
    assert_int_equal(remap(e, A, P(1), P(1), MAYMOVE | FIXED, B), B);
    assert_int_equal(e->sys.cpu_inval_n, 1); /* the old page's entry */
    assert_int_equal(e->sys.cpu_inval[0], A);
    expect_filled(e, B, 1, 210);
}

static void test_mremap_move_without_frames_for_tables_returns_enomem_unchanged(void **state)
{
    struct vmsys sys;
    struct mm *mm;
    pfn_t held[16];
    size_t nheld = 0;
    gva_t out = 1;

    (void)state;
    /* 16 frames: frame 0, the zero page and the PML4 leave 13. */
    assert_int_equal(vmsys_init(&sys, 16 * PAGE_SIZE, 16, 4), 0);
    assert_int_equal(mm_create(&sys, &mm), 0);
    assert_int_equal(mm_map(mm, A, P(2), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(mm, A + P(2), P(1), VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(put_user_u64(mm, A, 1111), 0);
    assert_int_equal(put_user_u64(mm, A + P(1), 2222), 0);
    pfn_t pfn0 = pte_pfn(*pt_lookup(&mm->pt, &sys.phys, A));
    /* Keep one frame free: the new place needs three tables, the first one fits. */
    while (phys_free_frames(&sys.phys) > 1)
        assert_int_equal(phys_alloc(&sys.phys, false, &held[nheld++]), 0);
    assert_int_equal(mm->pt.table_pages, 4);

    assert_int_equal(mm_remap(mm, A, P(2), P(3), MAYMOVE, 0, &out), -ENOMEM);
    assert_int_equal(out, 1);
    assert_int_equal(mm->stats.peak_pt_pages, 5); /* the table that fitted, then freed */
    assert_int_equal(mm->pt.table_pages, 4);
    assert_int_equal(phys_free_frames(&sys.phys), 1);
    assert_int_equal(mm->vmas.n, 2);
    assert_int_equal(mm->vmas.v[0].start, A);
    assert_int_equal(mm->vmas.v[0].end, A + P(2));
    assert_int_equal(mm->stats.rss, 2);
    assert_int_equal(pte_pfn(*pt_lookup(&mm->pt, &sys.phys, A)), pfn0);
    assert_int_equal(phys_frame(&sys.phys, pfn0)->rmap->va, A);
    assert_null(phys_frame(&sys.phys, pfn0)->rmap->next);
    uint64_t v = 0;
    assert_int_equal(get_user_u64(mm, A + P(1), &v), 0);
    assert_int_equal(v, 2222);

    /* With frames for the tables the same call moves the pages. */
    phys_put(&sys.phys, held[--nheld]);
    phys_put(&sys.phys, held[--nheld]);
    assert_int_equal(mm_remap(mm, A, P(2), P(3), MAYMOVE, 0, &out), 0);
    assert_int_equal(out, mm->mmap_base - P(3));
    assert_int_equal(pte_pfn(*pt_lookup(&mm->pt, &sys.phys, out)), pfn0);
    assert_int_equal(get_user_u64(mm, out + P(1), &v), 0);
    assert_int_equal(v, 2222);

    while (nheld > 0)
        phys_put(&sys.phys, held[--nheld]);
    mm_destroy(mm);
    assert_int_equal(sys.phys.used, 1);
    vmsys_destroy(&sys);
}

#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mremap_maymove_moves_ptes_without_copying_frames),
        T(test_mremap_move_prunes_old_tables),
        T(test_mremap_fixed_replaces_destination_mapping),
        T(test_mremap_fixed_shrink_moves_only_kept_part),
        T(test_mremap_fixed_grow_moves_and_extends),
        T(test_mremap_move_part_of_area_splits_it),
        T(test_mremap_move_file_area_keeps_file_offset),
        T(test_mremap_move_shared_file_keeps_page_cache_frame),
        T(test_mremap_zero_old_len_on_shared_area_duplicates_mapping),
        T(test_mremap_dontunmap_leaves_old_range_reading_zero),
        T(test_mremap_dontunmap_uses_new_addr_as_hint),
        T(test_mremap_dontunmap_private_file_old_range_rereads_file),
        T(test_mremap_dontunmap_shared_file_old_range_maps_same_frame),
        T(test_mremap_dontunmap_clears_lock_of_old_area),
        T(test_mremap_moved_heap_stack_bss_become_anon_and_image_becomes_file),
        T(test_mremap_fixed_moves_several_areas_keeping_gaps),
        T(test_mremap_fixed_range_starting_in_gap_returns_efault),
        T(test_mremap_move_tells_the_unmap_hook),
        T(test_mremap_move_of_current_mm_asks_cpu_to_drop_old_page),
        cmocka_unit_test(test_mremap_move_without_frames_for_tables_returns_enomem_unchanged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
