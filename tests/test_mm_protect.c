/* Unit tests of mm_protect (src/mm/mm.c) without a CPU: holes, splitting and re-merging
 * areas, PTE downgrades and upgrades, PROT_NONE, copy-on-write pages that stay read-only,
 * read-only shared files, swap entries left alone, and the page the CPU is asked to drop.
 * Small pools (64 frames) so every frame is accounted for. */
#include "mm_fixture.h"

/* ---- mm_protect ---- */

static void test_mm_protect_hole_returns_enomem(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(3), 1, RW);
    touch(e, A, 2);
    /* A hole first: nothing changes. */
    assert_int_equal(mm_protect(e->mm, A - P(1), P(2), VM_READ), -ENOMEM);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, A, A + P(2), RW);
    assert_true(pte_at(e, A) & PTE_RW);
    /* As Linux: the areas before the hole change, the ones after it do not. */
    assert_int_equal(mm_protect(e->mm, A + P(1), P(3), VM_READ), -ENOMEM);
    assert_int_equal(e->mm->vmas.n, 3);
    check_area(e, 0, A, A + P(1), RW);
    check_area(e, 1, A + P(1), A + P(2), VM_READ);
    check_area(e, 2, A + P(3), A + P(4), RW);
    assert_true(pte_at(e, A) & PTE_RW);
    assert_false(pte_at(e, A + P(1)) & PTE_RW);
    assert_int_equal(mm_protect(e->mm, A + 1, P(1), VM_READ), -EINVAL);
    assert_int_equal(mm_protect(e->mm, A, 0, VM_READ), -EINVAL);
}

static void test_mm_protect_middle_splits_then_restoring_merges(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 4, RW);
    touch(e, A, 4);
    pte_t before = pte_at(e, A + P(1));
    assert_true(before & PTE_RW);

    assert_int_equal(mm_protect(e->mm, A + P(1), P(2), VM_READ), 0);
    assert_int_equal(e->mm->vmas.n, 3);
    check_area(e, 0, A, A + P(1), RW);
    check_area(e, 1, A + P(1), A + P(3), VM_READ);
    check_area(e, 2, A + P(3), A + P(4), RW);
    assert_int_equal(pte_at(e, A + P(1)), before & ~PTE_RW);
    assert_false(pte_at(e, A + P(2)) & PTE_RW);
    assert_true(pte_at(e, A) & PTE_RW);
    assert_true(pte_at(e, A + P(3)) & PTE_RW);
    assert_int_equal(put_user_u32(e->mm, A + P(2), 5), -EFAULT);
    assert_int_equal(mm_fault(e->mm, A + P(2), ACCESS_WRITE, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_WRITE_RO);

    assert_int_equal(mm_protect(e->mm, A + P(1), P(2), RW), 0);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, A, A + P(4), RW);
    assert_int_equal(pte_at(e, A + P(1)), before);
    /* Writable again without a fault. */
    assert_int_equal(put_user_u32(e->mm, A + P(2), 5), 0);
    assert_int_equal(vm_fixture_task.faults.anon, 4);
    assert_int_equal(vm_fixture_task.faults.minor, 4);
    assert_int_equal(e->mm->stats.rss, 4);
}

static void test_mm_protect_spanning_areas_merges_with_neighbour(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 2, RW);
    map_anon(e, A + P(2), 2, VM_READ);
    assert_int_equal(mm_protect(e->mm, A + P(1), P(2), VM_READ), 0);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, A, A + P(1), RW);
    check_area(e, 1, A + P(1), A + P(4), VM_READ);
    assert_int_equal(mm_protect(e->mm, A, P(4), VM_READ | VM_EXEC), 0);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, A, A + P(4), VM_READ | VM_EXEC);
}

static void test_mm_protect_none_clears_user_bit(void **state)
{
    struct env *e = *state;
    uint64_t v;

    map_anon(e, A, 2, RW);
    touch(e, A, 2);
    pfn_t pfn = pte_pfn(pte_at(e, A));
    assert_int_equal(mm_protect(e->mm, A, P(2), 0), 0);
    pte_t pte = pte_at(e, A);
    assert_true(pte_present(pte));
    assert_int_equal(pte_pfn(pte), pfn);
    assert_int_equal(pte & (PTE_US | PTE_RW | PTE_NX), PTE_NX);
    assert_int_equal(copy_from_user(e->mm, &v, A, sizeof(v)), -EFAULT);
    assert_int_equal(mm_fault(e->mm, A, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_READ_NONE);
    assert_int_equal(e->mm->last_fault.code, SEGV_ACCERR);

    /* Back to read + exec: user again, executable, still not writable. */
    assert_int_equal(mm_protect(e->mm, A, P(2), VM_READ | VM_EXEC), 0);
    pte = pte_at(e, A);
    assert_int_equal(pte & (PTE_US | PTE_RW | PTE_NX), PTE_US);
    assert_int_equal(copy_from_user(e->mm, &v, A, sizeof(v)), 0);
    assert_int_equal(v, 1);
    assert_int_equal(e->mm->stats.rss, 2);
}

static void test_mm_protect_keeps_copy_on_write_pages_read_only(void **state)
{
    struct env *e = *state;

    map_anon(e, A, 1, VM_READ);
    assert_int_equal(mm_fault(e->mm, A, ACCESS_READ, 0), 0);
    assert_int_equal(pte_pfn(pte_at(e, A)), e->sys.phys.zero_pfn);
    assert_int_equal(mm_protect(e->mm, A, P(1), RW), 0);
    pte_t pte = pte_at(e, A);
    assert_false(pte & PTE_RW);
    assert_true(pte & PTE_COW);
    /* The first write still copies the zero page. */
    assert_int_equal(put_user_u64(e->mm, A, 1), 0);
    assert_int_not_equal(pte_pfn(pte_at(e, A)), e->sys.phys.zero_pfn);
    assert_int_equal(vm_fixture_task.faults.cow, 1);
}

static void test_mm_protect_write_on_read_only_shared_file_returns_eacces(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(2), VM_READ, VM_SHARED, VMA_FILE, e->f, 0, UINT64_MAX), 0);
    assert_int_equal(mm_map(e->mm, A + P(4), P(2), VM_READ, 0, VMA_FILE, e->f, 0, UINT64_MAX), 0);
    assert_int_equal(mm_protect(e->mm, A, P(2), RW), -EACCES);
    check_area(e, 0, A, A + P(2), VM_READ);
    assert_int_equal(mm_protect(e->mm, A, P(2), VM_READ | VM_EXEC), 0);
    /* A private mapping of the same file may become writable. */
    assert_int_equal(mm_protect(e->mm, A + P(4), P(2), RW), 0);
    check_area(e, 1, A + P(4), A + P(6), RW);
    /* As Linux: the areas before the refused one change. */
    map_anon(e, A - P(2), 2, VM_READ);
    assert_int_equal(mm_protect(e->mm, A - P(2), P(4), RW), -EACCES);
    check_area(e, 0, A - P(2), A, RW);
    check_area(e, 1, A, A + P(2), VM_READ | VM_EXEC);
}

static void test_mm_protect_leaves_swap_entries_alone(void **state)
{
    struct env *e = *state;
    pte_t *ptep;

    uint64_t slot;

    assert_int_equal(vmsys_setup_paging(&e->sys, POLICY_CLOCK, 1, 1 << 20, NULL), 0);
    assert_int_equal(swap_alloc(&e->sys.swap, &slot), 0);
    map_anon(e, A, 2, RW);
    touch(e, A + P(1), 1);
    assert_int_equal(pt_lookup_alloc(&e->mm->pt, &e->sys.phys, A, &ptep), 0);
    mm_set_pte(e->mm, A, ptep, pte_make_swap(slot));
    assert_int_equal(mm_protect(e->mm, A, P(2), VM_READ), 0);
    assert_int_equal(*ptep, pte_make_swap(slot));
    assert_false(pte_at(e, A + P(1)) & PTE_RW);
}

static void test_mm_protect_downgrade_asks_cpu_to_drop_page(void **state)
{
    struct env *e = *state;
    struct fill f;

    map_anon(e, A, 2, RW);
    e->sys.current = e->mm;
    assert_int_equal(mmu_fill(e->mm, A, ACCESS_WRITE, &f), 0);
    assert_int_equal(mm_protect(e->mm, A, P(2), RW | VM_EXEC), 0);
    assert_false(e->sys.cpu_flush_pending);
    assert_int_equal(e->sys.cpu_inval_n, 0);
    assert_int_equal(mm_protect(e->mm, A, P(2), VM_READ), 0);
    assert_int_equal(e->sys.cpu_inval_n, 1); /* the one present page */
    assert_int_equal(e->sys.cpu_inval[0], A);
    assert_int_equal(mmu_fill(e->mm, A, ACCESS_READ, &f), 0);
    assert_int_equal(f.perms, MMU_R);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_mm_protect_hole_returns_enomem),
        ENV_TEST(test_mm_protect_middle_splits_then_restoring_merges),
        ENV_TEST(test_mm_protect_spanning_areas_merges_with_neighbour),
        ENV_TEST(test_mm_protect_none_clears_user_bit),
        ENV_TEST(test_mm_protect_keeps_copy_on_write_pages_read_only),
        ENV_TEST(test_mm_protect_write_on_read_only_shared_file_returns_eacces),
        ENV_TEST(test_mm_protect_leaves_swap_entries_alone),
        ENV_TEST(test_mm_protect_downgrade_asks_cpu_to_drop_page),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
