/* Unit tests of the page-fault handler's refusals and limits (src/mm/fault.c), with no CPU:
 * mm_fault() and mmu_fill() are called directly on small pools. SIGSEGV causes of accesses
 * with no area or against the area's protection, stack growth and its limits (the stack
 * limit, the guard gap), running out of frames on an 8-frame pool (OOM kills, read-around
 * and reclaim with what fits, peak page-table pages), and the names of every cause. */
#include "fault_fixture.h"

/* ---- invalid accesses ---- */

static void test_fault_no_area_reports_maperr_causes(void **state)
{
    struct env *e = *state;
    const struct {
        gva_t va;
        enum fault_cause cause;
    } cases[] = {
        {0, CAUSE_NULL},
        {0x8, CAUSE_NULL},
        {MM_MMAP_LOW - 1, CAUSE_NULL},
        {MM_MMAP_LOW, CAUSE_UNMAPPED},
        {ANON_BASE + P(1), CAUSE_UNMAPPED}, /* just past an area */
        {USER_VA_END - 1, CAUSE_UNMAPPED},
        {USER_VA_END, CAUSE_NONCANONICAL},
        {0xffffffff80001234ULL, CAUSE_NONCANONICAL},
    };

    map_anon(e, ANON_BASE, 1, RW);
    for (unsigned i = 0; i < ARRAY_LEN(cases); i++) {
        enum access acc = (enum access)(i % 3);

        assert_int_equal(mm_fault(e->mm, cases[i].va, acc, 0), -EFAULT);
        check_last_fault(e, cases[i].va, acc, SIGSEGV, SEGV_MAPERR, cases[i].cause);
        assert_int_equal(fs(e)->segv, i + 1);
    }
    assert_int_equal(fs(e)->sigbus, 0);
    assert_int_equal(fs(e)->minor + fs(e)->major, 0);
    assert_int_equal(e->mm->pt.table_pages, 1);
}

static void test_fault_access_against_protection_reports_accerr(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 1, VM_READ);
    map_anon(e, ANON_BASE + P(2), 1, RW);
    map_anon(e, ANON_BASE + P(4), 1, 0);

    assert_int_equal(mm_fault(e->mm, ANON_BASE + 0x18, ACCESS_WRITE, 0), -EFAULT);
    check_last_fault(e, ANON_BASE + 0x18, ACCESS_WRITE, SIGSEGV, SEGV_ACCERR, CAUSE_WRITE_RO);
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(2), ACCESS_EXEC, 0), -EFAULT);
    check_last_fault(e, ANON_BASE + P(2), ACCESS_EXEC, SIGSEGV, SEGV_ACCERR, CAUSE_EXEC_NX);
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(4) + 1, ACCESS_READ, 0), -EFAULT);
    check_last_fault(e, ANON_BASE + P(4) + 1, ACCESS_READ, SIGSEGV, SEGV_ACCERR, CAUSE_READ_NONE);
    assert_int_equal(fs(e)->segv, 3);
    assert_int_equal(e->mm->pt.table_pages, 1);
    /* Allowed accesses to the same areas still work. */
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(2), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs(e)->segv, 3);
}

static void test_fault_write_to_read_only_file_page_reports_accerr(void **state)
{
    struct env *e = *state;

    map_file(e, FILE_BASE, 16, VM_READ, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    /* The PTE is present but the area forbids writes: no copy is made. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_WRITE, 0), -EFAULT);
    check_last_fault(e, FILE_BASE, ACCESS_WRITE, SIGSEGV, SEGV_ACCERR, CAUSE_WRITE_RO);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(pte_pfn(pte_at(e, FILE_BASE)), pagecache_find(&e->sys.pc, e->f, 0));
}

/* ---- stack growth ---- */

static void map_stack(struct env *e, uint64_t pages)
{
    assert_int_equal(
        mm_map(e->mm, STACK_END - P(pages), P(pages), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0), 0);
}

static void test_fault_below_stack_grows_area(void **state)
{
    struct env *e = *state;

    map_stack(e, 4);
    assert_int_equal(mm_fault(e->mm, STACK_END - P(6) + 8, ACCESS_WRITE, 0), 0);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(e->mm->vmas.v[0].start, STACK_END - P(6));
    assert_int_equal(e->mm->vmas.v[0].end, STACK_END);
    assert_int_equal(fs(e)->stack_grow, 1);
    assert_int_equal(fs(e)->anon, 1);
    assert_int_equal(e->mm->stats.peak_vm, 6);
    /* The pages skipped over belong to the stack now: no further growth. */
    assert_int_equal(mm_fault(e->mm, STACK_END - P(5), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->stack_grow, 1);
    assert_int_equal(fs(e)->zero_page, 1);
}

static void test_fault_beyond_stack_limit_reports_stack_guard(void **state)
{
    struct env *e = *state;
    const uint64_t window = P(16) + MM_STACK_GAP + (1ULL << 20);

    map_stack(e, 4);
    e->mm->stack_limit = P(16);
    /* Growing to exactly the limit is allowed. */
    assert_int_equal(mm_fault(e->mm, STACK_END - P(16), ACCESS_WRITE, 0), 0);
    assert_int_equal(e->mm->vmas.v[0].start, STACK_END - P(16));
    assert_int_equal(fs(e)->stack_grow, 1);

    assert_int_equal(mm_fault(e->mm, STACK_END - P(17) + 0x20, ACCESS_WRITE, 0), -EFAULT);
    check_last_fault(e, STACK_END - P(17) + 0x20, ACCESS_WRITE, SIGSEGV, SEGV_MAPERR,
                     CAUSE_STACK_GUARD);
    assert_int_equal(mm_fault(e->mm, STACK_END - window, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_STACK_GUARD);
    /* Far below the stack it is an ordinary unmapped address. */
    assert_int_equal(mm_fault(e->mm, STACK_END - window - 1, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_UNMAPPED);
    assert_int_equal(e->mm->vmas.v[0].start, STACK_END - P(16));
    assert_int_equal(fs(e)->stack_grow, 1);
    assert_int_equal(fs(e)->segv, 3);
}

static void test_fault_stack_growth_keeps_guard_gap(void **state)
{
    struct env *e = *state;
    /* An area whose end lies exactly MM_STACK_GAP below page STACK_END - 8 pages. */
    const gva_t below_end = STACK_END - P(8) - MM_STACK_GAP;

    map_anon(e, below_end - P(1), 1, RW);
    map_stack(e, 4);
    assert_int_equal(mm_fault(e->mm, STACK_END - P(9), ACCESS_WRITE, 0), -EFAULT);
    check_last_fault(e, STACK_END - P(9), ACCESS_WRITE, SIGSEGV, SEGV_MAPERR, CAUSE_UNMAPPED);
    assert_int_equal(e->mm->vmas.v[1].start, STACK_END - P(4));
    assert_int_equal(fs(e)->stack_grow, 0);

    assert_int_equal(mm_fault(e->mm, STACK_END - P(8), ACCESS_WRITE, 0), 0);
    assert_int_equal(e->mm->vmas.v[1].start, STACK_END - P(8));
    assert_int_equal(fs(e)->stack_grow, 1);
    assert_int_equal(e->mm->vmas.n, 2);
}

static void test_fault_below_ordinary_area_does_not_grow(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 4, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE - 8, ACCESS_WRITE, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_UNMAPPED);
    assert_int_equal(e->mm->vmas.v[0].start, ANON_BASE);
    assert_int_equal(fs(e)->stack_grow, 0);
}

/* ---- out of memory (8-frame pool: 5 frames after the zero page and the PML4) ---- */

static void test_fault_anon_out_of_frames_kills_with_oom(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 4, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0); /* 3 tables + 1 */
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(1), ACCESS_WRITE, 0), 0);
    assert_int_equal(phys_free_frames(&e->sys.phys), 0);

    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(2) + 4, ACCESS_WRITE, 0), -ENOMEM);
    check_last_fault(e, ANON_BASE + P(2) + 4, ACCESS_WRITE, SIGKILL, 0, CAUSE_OOM);
    assert_int_equal(pte_at(e, ANON_BASE + P(2)), 0);
    assert_int_equal(fs(e)->anon, 2);
    assert_int_equal(fs(e)->segv, 0);
    assert_int_equal(fs(e)->sigbus, 0);

    /* A read needs no frame: the zero page. Its copy-on-write copy does. */
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->zero_page, 1);
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(3), ACCESS_WRITE, 0), -ENOMEM);
    check_last_fault(e, ANON_BASE + P(3), ACCESS_WRITE, SIGKILL, 0, CAUSE_OOM);
    assert_int_equal(pte_pfn(pte_at(e, ANON_BASE + P(3))), e->sys.phys.zero_pfn);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(fs(e)->minor, 3);
    assert_int_equal(e->mm->stats.rss, 2);
}

static void test_fault_table_out_of_frames_kills_with_oom(void **state)
{
    struct env *e = *state;
    const gva_t far = ANON_BASE + (1ULL << 30); /* another GiB: a PD and a PT */

    map_anon(e, ANON_BASE, 1, RW);
    map_anon(e, far, 1, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(phys_free_frames(&e->sys.phys), 1);
    /* Even a read cannot be mapped without its page table. */
    assert_int_equal(mm_fault(e->mm, far, ACCESS_READ, 0), -ENOMEM);
    check_last_fault(e, far, ACCESS_READ, SIGKILL, 0, CAUSE_OOM);
    assert_int_equal(fs(e)->zero_page, 0);
    assert_int_equal(e->mm->pt.table_pages, 5);
}

/* Regression (src/mm/fault.c): when pt_lookup_alloc() fails half-way, the tables it did
 * allocate stay in mm->pt (table_pages 5 here) but mm_note_pt_pages() only runs after a
 * successful lookup, so peak_pt_pages stays at 4, below the count the pool really gave. */
static void test_fault_table_out_of_frames_peak_pt_pages_counts_partial_tables(void **state)
{
    struct env *e = *state;
    const gva_t far = ANON_BASE + (1ULL << 30);

    map_anon(e, ANON_BASE, 1, RW);
    map_anon(e, far, 1, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(mm_fault(e->mm, far, ACCESS_READ, 0), -ENOMEM);
    assert_int_equal(e->mm->pt.table_pages, 5);
    assert_int_equal(e->mm->stats.peak_pt_pages, e->mm->pt.table_pages);
}

static void test_fault_file_out_of_frames_reads_around_what_fits(void **state)
{
    struct env *e = *state;

    map_file(e, FILE_BASE, 16, VM_READ, 0, 0, NO_END);
    /* 3 tables and the faulting page leave one frame: read-around takes it. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(e->sys.pc.pages, 2);
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(16)), 2);
    assert_int_not_equal(pte_at(e, FILE_BASE + P(1)), 0);
    assert_int_equal(phys_free_frames(&e->sys.phys), 0);

    /* The pool is full: reclaim (clock) drops a clean file page for the next one. Page 0
     * is spared (its fault was the last one), page 1, mapped by fault-around without an
     * accessed bit, goes; read-around never evicts, so nothing more is read. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(5), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->file_major, 2);
    assert_int_equal(e->sys.reclaim->stats.file_dropped, 1);
    assert_int_equal(pte_at(e, FILE_BASE + P(1)), 0);
    assert_true(pagecache_is_shadow(&e->sys.pc, e->f, 1));
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(16)), 2);
    assert_int_equal(e->sys.pc.pages, 2);
}

static void test_fault_private_file_copy_out_of_frames_evicts_then_kills_with_oom(void **state)
{
    struct env *e = *state;
    const gva_t second = FILE_BASE + P(32); /* same leaf table, not adjacent */

    map_file(e, FILE_BASE, 16, RW, 0, 0, NO_END);
    map_file(e, second, 16, RW, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(phys_free_frames(&e->sys.phys), 0);
    /* File page 0 is cached, and a private copy for the write needs a frame: reclaim drops
     * the read-around page 1 (page 0 is held while it is copied). */
    assert_int_equal(mm_fault(e->mm, second, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs(e)->file_minor, 1);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(e->sys.reclaim->stats.file_dropped, 1);
    assert_int_equal(pte_at(e, FILE_BASE + P(1)), 0);
    assert_int_not_equal(pte_pfn(pte_at(e, second)), pte_pfn(pte_at(e, FILE_BASE)));
    /* Now nothing is left to evict: a third copy is out of memory. */
    assert_int_equal(mm_fault(e->mm, second + P(1), ACCESS_WRITE, 0), -ENOMEM);
    check_last_fault(e, second + P(1), ACCESS_WRITE, SIGKILL, 0, CAUSE_OOM);
    assert_int_equal(pte_at(e, second + P(1)), 0);
}

static void test_mmu_fill_out_of_frames_returns_enomem(void **state)
{
    struct env *e = *state;
    struct fill f = {0};

    map_anon(e, ANON_BASE, 3, RW);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE, ACCESS_WRITE, &f), 0);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + P(1), ACCESS_WRITE, &f), 0);
    assert_int_equal(mmu_fill(e->mm, ANON_BASE + P(2), ACCESS_WRITE, &f), -ENOMEM);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_OOM);
    assert_int_equal(vm_fixture_task.fills, 3);
}

static void test_fault_cause_text_names_every_cause(void **state)
{
    const char *seen[CAUSE_OOM + 1];

    (void)state;
    for (int c = CAUSE_NONE; c <= CAUSE_OOM; c++) {
        seen[c] = fault_cause_text((enum fault_cause)c);
        assert_non_null(seen[c]);
        assert_true(strlen(seen[c]) > 0);
        assert_string_not_equal(seen[c], "unknown");
        for (int d = CAUSE_NONE; d < c; d++)
            assert_string_not_equal(seen[c], seen[d]);
    }
    assert_string_equal(fault_cause_text(CAUSE_NULL), "NULL pointer dereference");
    assert_string_equal(fault_cause_text((enum fault_cause)99), "unknown");
}

int main(void)
{
#define ENV_TEST(fn)  cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
#define TINY_TEST(fn) cmocka_unit_test_setup_teardown(fn, tiny_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_fault_no_area_reports_maperr_causes),
        ENV_TEST(test_fault_access_against_protection_reports_accerr),
        ENV_TEST(test_fault_write_to_read_only_file_page_reports_accerr),
        ENV_TEST(test_fault_below_stack_grows_area),
        ENV_TEST(test_fault_beyond_stack_limit_reports_stack_guard),
        ENV_TEST(test_fault_stack_growth_keeps_guard_gap),
        ENV_TEST(test_fault_below_ordinary_area_does_not_grow),
        TINY_TEST(test_fault_anon_out_of_frames_kills_with_oom),
        TINY_TEST(test_fault_table_out_of_frames_kills_with_oom),
        TINY_TEST(test_fault_file_out_of_frames_reads_around_what_fits),
        TINY_TEST(test_fault_private_file_copy_out_of_frames_evicts_then_kills_with_oom),
        TINY_TEST(test_mmu_fill_out_of_frames_returns_enomem),
        cmocka_unit_test(test_fault_cause_text_names_every_cause),
        TINY_TEST(test_fault_table_out_of_frames_peak_pt_pages_counts_partial_tables),
    };
#undef ENV_TEST
#undef TINY_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed;
}
