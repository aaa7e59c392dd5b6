/* Unit tests of the MMU in front of the page-fault handler (src/mm/mmu.c), with no CPU:
 * mmu_fill() and mm_set_pte() are called directly on a small pool. They check the
 * permissions handed to the CPU, the accessed and dirty bits, vmemu's TLB counters, and the
 * page drops and flush that mm_set_pte() and a copy-on-write copy request on downgrades. */
#include "fault_fixture.h"

/* ---- the MMU ---- */

static void test_mmu_fill_returns_write_only_after_write_fill(void **state)
{
    struct env *e = *state;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + 0x30, ACCESS_READ, &f), 0);
    assert_int_equal(f.pfn, e->sys.phys.zero_pfn);
    assert_int_equal(f.perms, MMU_R);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_int_not_equal(f.pfn, e->sys.phys.zero_pfn);
    assert_int_equal(f.pfn, pte_pfn(pte_at(e, ANON_BASE)));
    assert_int_equal(f.perms, MMU_R | MMU_W);
    /* Dirty now: a read fill hands out the write permission as well. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(f.perms, MMU_R | MMU_W);
    assert_int_equal(vm_fixture_task.fills, 3);
    assert_int_equal(fs(e)->zero_page, 1);
    assert_int_equal(fs(e)->cow, 1);
}

static void test_mmu_fill_sets_accessed_then_dirty_bit(void **state)
{
    struct env *e = *state;
    const pte_t bare = PTE_P | PTE_US | PTE_RW | PTE_NX;
    struct fill f = {0};
    pfn_t pfn;

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(phys_alloc(&e->sys.phys, true, &pfn), 0);
    assert_int_equal(mm_install_page(e->mm, ANON_BASE, NULL, pfn, bare), 0);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(pte_at(e, ANON_BASE), pte_make(pfn, bare | PTE_A));
    /* Writable but clean: the CPU must come back for the first write. */
    assert_int_equal(f.perms, MMU_R);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_int_equal(pte_at(e, ANON_BASE), pte_make(pfn, bare | PTE_A | PTE_D));
    assert_int_equal(f.perms, MMU_R | MMU_W);
    assert_int_equal(f.pfn, pfn);
    assert_int_equal(fs(e)->minor + fs(e)->major, 0);
    assert_int_equal(vm_fixture_task.fills, 2);
}

static void test_mmu_fill_grants_exec_only_on_fetch(void **state)
{
    struct env *e = *state;
    struct fill f = {0};
    pfn_t pfn;

    map_anon(e, ANON_BASE, 1, RX);
    map_anon(e, ANON_BASE + P(1), 1, RW | VM_EXEC);
    assert_int_equal(phys_alloc(&e->sys.phys, true, &pfn), 0);
    assert_int_equal(mm_install_page(e->mm, ANON_BASE, NULL, pfn, PTE_P | PTE_US), 0);

    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(f.perms, MMU_R);
    assert_int_equal(phys_frame(&e->sys.phys, pfn)->flags & FRAME_EXECUTED, 0);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_EXEC, &f), 0);
    assert_int_equal(f.perms, MMU_R | MMU_X);
    assert_int_equal(phys_frame(&e->sys.phys, pfn)->flags & FRAME_EXECUTED, FRAME_EXECUTED);
    /* A frame that ran code keeps X on later data fills. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(f.perms, MMU_R | MMU_X);

    /* Fetch from a writable, executable page written first. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + P(1), ACCESS_WRITE, &f), 0);
    assert_int_equal(f.perms, MMU_R | MMU_W);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + P(1), ACCESS_EXEC, &f), 0);
    assert_int_equal(f.perms, MMU_R | MMU_W | MMU_X);
    assert_int_equal(vm_fixture_task.fills, 5);
}

static void test_mmu_fill_refused_access_returns_efault_and_counts_fill(void **state)
{
    struct env *e = *state;
    struct fill f = {.pfn = 77, .perms = 9};

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_EXEC, &f), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_EXEC_NX);
    assert_int_equal(mmu_fill(e->mm, USER_VA_END + 0x1000, ACCESS_READ, &f), -EFAULT);
    check_last_fault(e, USER_VA_END + 0x1000, ACCESS_READ, SIGSEGV, SEGV_MAPERR,
                     CAUSE_NONCANONICAL);
    assert_int_equal(f.pfn, 77);
    assert_int_equal(f.perms, 9);
    assert_int_equal(vm_fixture_task.fills, 2);
    assert_int_equal(fs(e)->segv, 2);
}

static void test_mmu_fill_uses_tlb_only_for_current_mm(void **state)
{
    struct env *e = *state;
    struct tlb *tlb = &e->sys.tlb;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 2, RW);
    /* Not the CPU's address space: the TLB is neither consulted nor filled. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(tlb->hits + tlb->misses, 0);

    e->sys.current = e->mm;
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);  /* miss */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);  /* hit */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0); /* hit: dirty */
    assert_int_equal(f.perms, MMU_R | MMU_W);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + P(1), ACCESS_READ, &f), 0); /* miss */
    assert_int_equal(tlb->hits, 2);
    assert_int_equal(tlb->misses, 2);
    assert_int_equal(vm_fixture_task.fills, 6);
    /* The copy helpers translate through the same TLB without counting fills. */
    uint64_t v;
    assert_int_equal(get_user_u64(e->mm, ANON_BASE + 8, &v), 0);
    assert_int_equal(tlb->hits, 3);
    assert_int_equal(vm_fixture_task.fills, 6);
}

static void test_mmu_fill_tlb_hit_on_clean_page_write_walks_again(void **state)
{
    struct env *e = *state;
    struct tlb *tlb = &e->sys.tlb;
    struct fill f = {0};
    pfn_t pfn;

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(phys_alloc(&e->sys.phys, true, &pfn), 0);
    assert_int_equal(mm_install_page(e->mm, ANON_BASE, NULL, pfn, PTE_P | PTE_US | PTE_RW | PTE_NX),
                     0);
    e->sys.current = e->mm;
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    /* The cached PTE is clean: the write must reach the page table to set D. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_true(pte_at(e, ANON_BASE) & PTE_D);
    assert_int_equal(f.perms, MMU_R | MMU_W);
    pte_t cached;
    assert_true(tlb_lookup(tlb, ANON_BASE, &cached));
    assert_int_equal(cached, pte_at(e, ANON_BASE));
}

static void test_mm_set_pte_downgrade_asks_cpu_to_drop_page_and_invalidates(void **state)
{
    struct env *e = *state;
    struct tlb *tlb = &e->sys.tlb;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 1, RW);
    e->sys.current = e->mm;
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_false(e->sys.cpu_flush_pending);
    uint64_t inval = tlb->invalidations;
    pte_t *ptep = ptep_at(e, ANON_BASE);

    mm_set_pte(e->mm, ANON_BASE, ptep, *ptep & ~PTE_RW);
    assert_false(e->sys.cpu_flush_pending); /* one page: dropped alone, no flush */
    assert_int_equal(e->sys.cpu_inval_n, 1);
    assert_int_equal(e->sys.cpu_inval[0], ANON_BASE);
    assert_int_equal(tlb->invalidations, inval + 1);
    uint64_t misses = tlb->misses;
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_int_equal(tlb->misses, misses + 1);
    assert_int_equal(f.perms, MMU_R);

    /* Giving the permission back is an upgrade: nothing for the CPU to drop. */
    e->sys.cpu_inval_n = 0;
    mm_set_pte(e->mm, ANON_BASE, ptep, *ptep | PTE_RW);
    assert_false(e->sys.cpu_flush_pending);
    assert_int_equal(e->sys.cpu_inval_n, 0);
    assert_true(*ptep & PTE_RW);

    /* Clearing the accessed bit is a downgrade too (the CPU must report the next use). */
    mm_set_pte(e->mm, ANON_BASE, ptep, *ptep & ~PTE_A);
    assert_int_equal(e->sys.cpu_inval_n, 1);
    assert_false(e->sys.cpu_flush_pending);
}

static void test_mm_set_pte_downgrades_past_the_page_list_ask_for_a_flush(void **state)
{
    struct env *e = *state;
    struct fill f = {0};

    map_anon(e, ANON_BASE, VM_INVAL_PAGES + 1, RW);
    e->sys.current = e->mm;
    for (gva_t i = 0; i <= VM_INVAL_PAGES; i++)
        assert_int_equal(mmu_fill(e->mm, ANON_BASE + i * PAGE_SIZE, ACCESS_WRITE, &f), 0);
    e->sys.cpu_inval_n = 0;
    for (gva_t i = 0; i < VM_INVAL_PAGES; i++) {
        pte_t *ptep = ptep_at(e, ANON_BASE + i * PAGE_SIZE);
        mm_set_pte(e->mm, ANON_BASE + i * PAGE_SIZE, ptep, *ptep & ~PTE_RW);
    }
    assert_int_equal(e->sys.cpu_inval_n, VM_INVAL_PAGES);
    assert_int_equal(e->sys.cpu_inval[VM_INVAL_PAGES - 1],
                     ANON_BASE + (VM_INVAL_PAGES - 1) * PAGE_SIZE);
    assert_false(e->sys.cpu_flush_pending);
    pte_t *last = ptep_at(e, ANON_BASE + VM_INVAL_PAGES * PAGE_SIZE);
    mm_set_pte(e->mm, ANON_BASE + VM_INVAL_PAGES * PAGE_SIZE, last, *last & ~PTE_RW);
    assert_int_equal(e->sys.cpu_flush_pending, VM_FLUSH_DOWNGRADE);
    assert_int_equal(e->sys.cpu_inval_n, VM_INVAL_PAGES);
}

static void test_mm_set_pte_other_mm_requests_no_flush(void **state)
{
    struct env *e = *state;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    pte_t *ptep = ptep_at(e, ANON_BASE);
    mm_set_pte(e->mm, ANON_BASE, ptep, *ptep & ~PTE_RW);
    assert_false(e->sys.cpu_flush_pending);
    assert_int_equal(e->sys.tlb.invalidations, 0);
    assert_false(*ptep & PTE_RW);
}

static void test_fault_cow_copy_asks_cpu_to_drop_page(void **state)
{
    struct env *e = *state;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 1, RW);
    e->sys.current = e->mm;
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_READ, &f), 0);
    assert_false(e->sys.cpu_flush_pending);
    /* The CPU may hold the zero page read-only: the new frame replaces it. */
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_int_equal(e->sys.cpu_inval_n, 1);
    assert_int_equal(e->sys.cpu_inval[0], ANON_BASE);
    assert_int_equal(fs(e)->cow, 1);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_mmu_fill_returns_write_only_after_write_fill),
        ENV_TEST(test_mmu_fill_sets_accessed_then_dirty_bit),
        ENV_TEST(test_mmu_fill_grants_exec_only_on_fetch),
        ENV_TEST(test_mmu_fill_refused_access_returns_efault_and_counts_fill),
        ENV_TEST(test_mmu_fill_uses_tlb_only_for_current_mm),
        ENV_TEST(test_mmu_fill_tlb_hit_on_clean_page_write_walks_again),
        ENV_TEST(test_mm_set_pte_downgrade_asks_cpu_to_drop_page_and_invalidates),
        ENV_TEST(test_mm_set_pte_downgrades_past_the_page_list_ask_for_a_flush),
        ENV_TEST(test_mm_set_pte_other_mm_requests_no_flush),
        ENV_TEST(test_fault_cow_copy_asks_cpu_to_drop_page),
    };
#undef ENV_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed;
}
