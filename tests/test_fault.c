/* Unit tests of the page-fault handler (src/mm/fault.c) with no CPU: mm_fault() and
 * mmu_translate_user() are called directly on small pools. The branches that map a page are
 * taken and counted: zero page, new anonymous frame, copy-on-write copy and reuse,
 * page-cache hits and misses with fault-around, private copies (also of a page where the
 * file data stops), shared file pages, and SIGBUS past the end of the file. Refused
 * accesses, stack growth and running out of frames are in test_fault_errors.c; the MMU in
 * front of the handler is in test_fault_mmu.c. */
#include "fault_fixture.h"

/* ---- anonymous memory ---- */

static void test_fault_anon_read_maps_zero_page(void **state)
{
    struct env *e = *state;
    uint64_t used = e->sys.phys.used;

    map_anon(e, ANON_BASE, 4, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(1) + 0x10, ACCESS_READ, 0), 0);
    pte_t pte = pte_at(e, ANON_BASE + P(1));
    assert_int_equal(pte_pfn(pte), e->sys.phys.zero_pfn);
    assert_int_equal(pte & ~PTE_PFN_MASK, ANON_FLAGS | PTE_COW);
    assert_int_equal(fs(e)->zero_page, 1);
    assert_int_equal(fs(e)->minor, 1);
    assert_int_equal(fs(e)->major, 0);
    assert_int_equal(fs(e)->anon, 0);
    assert_int_equal(e->mm->stats.rss, 0);
    /* Three tables, no data frame; the zero page takes no reference per mapping. */
    assert_int_equal(e->sys.phys.used, used + 3);
    assert_int_equal(phys_frame(&e->sys.phys, e->sys.phys.zero_pfn)->refcount, 1);
    assert_null(phys_frame(&e->sys.phys, e->sys.phys.zero_pfn)->rmap);
    assert_int_equal(pte_at(e, ANON_BASE), 0);

    /* The PTE already allows a read: nothing to do, nothing counted. */
    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(1), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->minor, 1);
}

static void test_fault_anon_write_after_zero_page_copies(void **state)
{
    struct env *e = *state;
    gva_t va = ANON_BASE + P(2);

    map_anon(e, ANON_BASE, 4, RW);
    assert_int_equal(mm_fault(e->mm, va, ACCESS_READ, 0), 0);
    uint64_t used = e->sys.phys.used;
    assert_int_equal(mm_fault(e->mm, va + 8, ACCESS_WRITE, 0), 0);
    pte_t pte = pte_at(e, va);
    pfn_t pfn = pte_pfn(pte);
    assert_int_not_equal(pfn, e->sys.phys.zero_pfn);
    assert_int_equal(pte & ~PTE_PFN_MASK, ANON_FLAGS | PTE_RW | PTE_D);
    assert_int_equal(fs(e)->cow, 1);
    assert_int_equal(fs(e)->zero_page, 1);
    assert_int_equal(fs(e)->minor, 2);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(e->mm->stats.peak_rss, 1);
    assert_int_equal(e->sys.phys.used, used + 1);
    check_zero_bytes(e, pfn, 0, PAGE_SIZE);
    struct frame *fr = phys_frame(&e->sys.phys, pfn);
    assert_int_equal(fr->refcount, 1);
    assert_ptr_equal(fr->rmap->mm, e->mm);
    assert_int_equal(fr->rmap->va, va);
    assert_null(fr->rmap->next);
}

static void test_fault_anon_write_first_allocates_zeroed_frame(void **state)
{
    struct env *e = *state;
    pfn_t junk;

    map_anon(e, ANON_BASE, 4, RW);
    /* Tables first, so that the dirty recycled frame below becomes the data page. */
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(phys_alloc(&e->sys.phys, false, &junk), 0);
    memset(phys_hva(&e->sys.phys, junk), 0xcc, PAGE_SIZE);
    phys_put(&e->sys.phys, junk);

    assert_int_equal(mm_fault(e->mm, ANON_BASE + P(3), ACCESS_WRITE, 0), 0);
    pte_t pte = pte_at(e, ANON_BASE + P(3));
    assert_int_equal(pte_pfn(pte), junk);
    assert_int_equal(pte & ~PTE_PFN_MASK, ANON_FLAGS | PTE_RW | PTE_D);
    check_zero_bytes(e, junk, 0, PAGE_SIZE);
    assert_int_equal(fs(e)->anon, 1);
    assert_int_equal(fs(e)->zero_page, 1);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(fs(e)->minor, 2);
    assert_int_equal(e->mm->stats.rss, 1);
}

static void test_fault_anon_exec_area_maps_zero_page_executable(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 1, RW | VM_EXEC);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_EXEC, 0), 0);
    pte_t pte = pte_at(e, ANON_BASE);
    assert_int_equal(pte_pfn(pte), e->sys.phys.zero_pfn);
    assert_int_equal(pte & ~PTE_PFN_MASK, PTE_P | PTE_A | PTE_US | PTE_COW);
    assert_int_equal(fs(e)->zero_page, 1);
}

static void test_fault_present_write_without_rw_restores_permission(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    pte_t *ptep = ptep_at(e, ANON_BASE);
    pfn_t pfn = pte_pfn(*ptep);
    mm_set_pte(e->mm, ANON_BASE, ptep, *ptep & ~(PTE_RW | PTE_D));
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(*ptep, pte_make(pfn, ANON_FLAGS | PTE_RW | PTE_D));
    /* Not a copy-on-write page: only the permission was missing, no new fault class. */
    assert_int_equal(fs(e)->anon, 1);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(fs(e)->cow_reuse, 0);
    assert_int_equal(fs(e)->minor, 1);
    assert_int_equal(e->mm->stats.rss, 1);
}

static void test_fault_cow_last_owner_reuses_frame(void **state)
{
    struct env *e = *state;

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    pte_t *ptep = ptep_at(e, ANON_BASE);
    pfn_t pfn = pte_pfn(*ptep);
    memset(phys_hva(&e->sys.phys, pfn), 0x42, PAGE_SIZE);
    /* As fork would leave it: read-only, marked copy-on-write. */
    mm_set_pte(e->mm, ANON_BASE, ptep, (*ptep & ~(PTE_RW | PTE_D)) | PTE_COW);
    uint64_t used = e->sys.phys.used;

    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(*ptep, pte_make(pfn, ANON_FLAGS | PTE_RW | PTE_D));
    assert_int_equal(fs(e)->cow_reuse, 1);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(fs(e)->minor, 2);
    assert_int_equal(e->sys.phys.used, used);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(((uint8_t *)phys_hva(&e->sys.phys, pfn))[100], 0x42);
}

static void test_fault_cow_shared_frame_copies_then_last_owner_reuses(void **state)
{
    struct env *e = *state;
    struct phys *phys = &e->sys.phys;
    struct mm *mm2;

    map_anon(e, ANON_BASE, 1, RW);
    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    pte_t *ptep = ptep_at(e, ANON_BASE);
    pfn_t x = pte_pfn(*ptep);
    memset(phys_hva(phys, x), 0x37, PAGE_SIZE);
    mm_set_pte(e->mm, ANON_BASE, ptep, (*ptep & ~(PTE_RW | PTE_D)) | PTE_COW);

    /* A second address space shares the frame, as after fork. */
    assert_int_equal(mm_create(&e->sys, &mm2), 0);
    assert_int_equal(mm_map(mm2, ANON_BASE, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    phys_get(phys, x);
    assert_int_equal(mm_install_page(mm2, ANON_BASE, NULL, x, ANON_FLAGS | PTE_COW), 0);
    assert_int_equal(phys_frame(phys, x)->refcount, 2);
    assert_int_equal(mm2->stats.rss, 1);

    assert_int_equal(mm_fault(e->mm, ANON_BASE, ACCESS_WRITE, 0), 0);
    pfn_t y = pte_pfn(*ptep);
    assert_int_not_equal(y, x);
    assert_int_equal(*ptep, pte_make(y, ANON_FLAGS | PTE_RW | PTE_D));
    assert_int_equal(((uint8_t *)phys_hva(phys, y))[4095], 0x37);
    assert_int_equal(fs(e)->cow, 1);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(phys_frame(phys, x)->refcount, 1);
    assert_ptr_equal(phys_frame(phys, x)->rmap->mm, mm2);
    assert_null(phys_frame(phys, x)->rmap->next);

    /* mm2 is now the frame's only owner; its task is charged. */
    struct task_vm_stats task2 = {0};
    e->sys.charge = &task2;
    assert_int_equal(mm_fault(mm2, ANON_BASE, ACCESS_WRITE, 0), 0);
    e->sys.charge = &vm_fixture_task;
    assert_int_equal(pte_pfn(*pt_lookup(&mm2->pt, phys, ANON_BASE)), x);
    assert_int_equal(task2.faults.cow_reuse, 1);
    assert_int_equal(task2.faults.cow, 0);
    assert_int_equal(fs(e)->cow_reuse, 0);
    mm_destroy(mm2);
    assert_int_equal(phys_frame(phys, x)->refcount, 0);
}

/* ---- file pages ---- */

static void test_fault_private_file_read_maps_window_around(void **state)
{
    struct env *e = *state;
    struct pagecache *pc = &e->sys.pc;

    map_file(e, FILE_BASE, 40, RW, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(3) + 5, ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->major, 1);
    assert_int_equal(fs(e)->minor, 0);
    /* Read-around filled the 16-page window and fault-around mapped all of it. */
    assert_int_equal(pc->pages, 16);
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(40)), 16);
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(16)), 16);
    assert_int_equal(e->mm->stats.rss, 16);

    pte_t pte = pte_at(e, FILE_BASE + P(3));
    pfn_t cached = pagecache_find(pc, e->f, 3);
    assert_int_equal(pte, pte_make(cached, ANON_FLAGS | PTE_COW));
    assert_int_equal(phys_frame(&e->sys.phys, cached)->refcount, 2);
    check_file_bytes(e, cached, 0, P(3), PAGE_SIZE);
    /* Neighbours are mapped the same way but not yet accessed. */
    pte = pte_at(e, FILE_BASE + P(15));
    assert_int_equal(pte,
                     pte_make(pagecache_find(pc, e->f, 15), PTE_P | PTE_US | PTE_NX | PTE_COW));

    /* A second read inside the window needs no fault. */
    pfn_t pfn;
    assert_int_equal(mmu_translate_user(e->mm, FILE_BASE + P(10), ACCESS_READ, 0, &pfn), 0);
    assert_int_equal(pfn, pagecache_find(pc, e->f, 10));
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->minor, 0);
    assert_true(pte_at(e, FILE_BASE + P(10)) & PTE_A);
    assert_int_equal(pc->pages, 16);
}

static void test_fault_file_window_clamped_to_vma(void **state)
{
    struct env *e = *state;
    struct pagecache *pc = &e->sys.pc;

    /* The area starts two pages into a window and maps file page 4 there. */
    map_file(e, FILE_BASE + P(2), 30, VM_READ, 0, P(4), NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(5), ACCESS_READ, 0), 0);
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(32)), 14);
    assert_int_equal(pc->pages, 14);
    assert_int_equal(pagecache_find(pc, e->f, 3), 0);
    assert_int_not_equal(pagecache_find(pc, e->f, 4), 0);
    assert_int_not_equal(pagecache_find(pc, e->f, 17), 0);
    assert_int_equal(pagecache_find(pc, e->f, 18), 0);
    assert_int_equal(pte_pfn(pte_at(e, FILE_BASE + P(5))), pagecache_find(pc, e->f, 7));
    check_file_bytes(e, pte_pfn(pte_at(e, FILE_BASE + P(5))), 0, P(7), PAGE_SIZE);
}

static void test_fault_file_window_stops_at_end_of_file(void **state)
{
    struct env *e = *state;

    /* File pages 32..47 at a window start: only 32..40 exist. */
    map_file(e, FILE_BASE, 16, VM_READ, 0, P(32), NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(16)), 9);
    assert_int_equal(e->sys.pc.pages, 9);
    /* The last file page is half data, half zero fill. */
    pfn_t last = pte_pfn(pte_at(e, FILE_BASE + P(8)));
    assert_int_equal(last, pagecache_find(&e->sys.pc, e->f, 40));
    check_file_bytes(e, last, 0, P(40), 2048);
    check_zero_bytes(e, last, 2048, 2048);
    assert_int_equal(pte_at(e, FILE_BASE + P(9)), 0);
}

static void test_fault_file_page_cached_elsewhere_is_minor(void **state)
{
    struct env *e = *state;
    pfn_t p16, p20;

    assert_int_equal(pagecache_read(&e->sys.pc, e->f, 16, &p16), 0);
    assert_int_equal(pagecache_read(&e->sys.pc, e->f, 20, &p20), 0);
    map_file(e, FILE_BASE, 40, VM_READ, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(16), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->file_minor, 1);
    assert_int_equal(fs(e)->minor, 1);
    assert_int_equal(fs(e)->major, 0);
    /* A minor fault reads nothing ahead: only the cached neighbour is mapped. */
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(40)), 2);
    assert_int_equal(pte_pfn(pte_at(e, FILE_BASE + P(16))), p16);
    assert_int_equal(pte_pfn(pte_at(e, FILE_BASE + P(20))), p20);
    assert_int_equal(e->sys.pc.pages, 2);
}

static void test_fault_second_mapping_of_read_file_is_minor(void **state)
{
    struct env *e = *state;
    const gva_t other = FILE_BASE + P(64);

    map_file(e, FILE_BASE, 16, VM_READ, 0, 0, NO_END);
    map_file(e, other, 16, VM_READ, 0, 0, NO_END);
    assert_int_equal(e->mm->vmas.n, 2);
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    assert_int_equal(mm_fault(e->mm, other + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->file_minor, 1);
    assert_int_equal(present_in(e, other, other + P(16)), 16);
    assert_int_equal(e->sys.pc.pages, 16);
    /* Both mappings and the cache share each frame. */
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(pte_pfn(pte_at(e, other + P(i))), pte_pfn(pte_at(e, FILE_BASE + P(i))));
    assert_int_equal(phys_frame(&e->sys.phys, pagecache_find(&e->sys.pc, e->f, 3))->refcount, 3);
    assert_int_equal(e->mm->stats.rss, 32);
}

static void test_fault_private_file_write_after_read_copies_file_bytes(void **state)
{
    struct env *e = *state;
    gva_t va = FILE_BASE + P(2);
    pfn_t pfn;

    map_file(e, FILE_BASE, 16, RW, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, va, ACCESS_READ, 0), 0);
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 2);
    assert_int_equal(pte_pfn(pte_at(e, va)), cached);

    assert_int_equal(copy_to_user(e->mm, va + 100, "xyz", 3), 0);
    assert_int_equal(fs(e)->cow, 1);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->minor, 1);
    pfn = pte_pfn(pte_at(e, va));
    assert_int_not_equal(pfn, cached);
    assert_int_equal(pte_at(e, va), pte_make(pfn, ANON_FLAGS | PTE_RW | PTE_D));
    check_file_bytes(e, pfn, 0, P(2), 100);
    assert_memory_equal((uint8_t *)phys_hva(&e->sys.phys, pfn) + 100, "xyz", 3);
    check_file_bytes(e, pfn, 103, P(2) + 103, PAGE_SIZE - 103);
    /* The page-cache frame still holds the file's bytes and is no longer mapped. */
    check_file_bytes(e, cached, 0, P(2), PAGE_SIZE);
    assert_int_equal(phys_frame(&e->sys.phys, cached)->refcount, 1);
    assert_int_equal(e->mm->stats.rss, 16);
}

static void test_fault_private_file_write_first_copies_without_window(void **state)
{
    struct env *e = *state;
    gva_t va = FILE_BASE + P(20);

    map_file(e, FILE_BASE, 40, RW, 0, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, va, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->cow, 0);
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 20);
    pfn_t pfn = pte_pfn(pte_at(e, va));
    assert_int_not_equal(cached, 0);
    assert_int_not_equal(pfn, cached);
    assert_int_equal(pte_at(e, va), pte_make(pfn, ANON_FLAGS | PTE_RW | PTE_D));
    check_file_bytes(e, pfn, 0, P(20), PAGE_SIZE);
    /* No fault-around on writes. */
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(40)), 1);
    assert_int_equal(e->sys.pc.pages, 1);
    assert_int_equal(phys_frame(&e->sys.phys, cached)->refcount, 1);
}

static void test_fault_partial_page_past_file_end_reads_zero(void **state)
{
    struct env *e = *state;
    const uint64_t file_end = P(1) + 100; /* an ELF segment's p_offset + p_filesz */

    map_file(e, FILE_BASE, 3, RW, 0, 0, file_end);
    assert_int_equal(mm_fault(e->mm, FILE_BASE, ACCESS_READ, 0), 0);
    /* Pages not wholly file data are never mapped ahead nor read around. */
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(3)), 1);
    assert_int_equal(e->sys.pc.pages, 1);

    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(1) + 200, ACCESS_READ, 0), 0);
    assert_int_equal(fs(e)->file_major, 2);
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 1);
    pte_t pte = pte_at(e, FILE_BASE + P(1));
    pfn_t pfn = pte_pfn(pte);
    assert_int_not_equal(pfn, cached);
    /* A private page of its own, writable at once (no copy is due later). */
    assert_int_equal(pte, pte_make(pfn, ANON_FLAGS | PTE_RW));
    check_file_bytes(e, pfn, 0, P(1), 100);
    check_zero_bytes(e, pfn, 100, PAGE_SIZE - 100);
    check_file_bytes(e, cached, 0, P(1), PAGE_SIZE);
    uint8_t buf[8];
    assert_int_equal(copy_from_user(e->mm, buf, FILE_BASE + P(1) + 96, 8), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(buf[i], pattern(P(1) + 96 + i));
    for (int i = 4; i < 8; i++)
        assert_int_equal(buf[i], 0);

    /* The page wholly past file_end but inside the file: all zero. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(2), ACCESS_READ, 0), 0);
    check_zero_bytes(e, pte_pfn(pte_at(e, FILE_BASE + P(2))), 0, PAGE_SIZE);
    assert_int_equal(e->mm->stats.rss, 3);
}

static void test_fault_read_only_partial_page_maps_cached_frame_with_file_tail(void **state)
{
    struct env *e = *state;
    const uint64_t file_end = P(1) + 100; /* a read-only segment's p_offset + p_filesz */

    map_file(e, FILE_BASE, 2, VM_READ, 0, 0, file_end);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(1) + 200, ACCESS_READ, 0), 0);
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 1);
    /* Linux's ELF loader cannot zero a read-only tail: the file's next bytes show. */
    assert_int_equal(pte_pfn(pte_at(e, FILE_BASE + P(1))), cached);
    uint8_t b = 0;
    assert_int_equal(copy_from_user(e->mm, &b, FILE_BASE + P(1) + 200, 1), 0);
    assert_int_equal(b, pattern(P(1) + 200));
    assert_int_equal(fs(e)->file_major, 1);
}

static void test_fault_shared_file_maps_cached_frame(void **state)
{
    struct env *e = *state;
    gva_t va = FILE_BASE + P(1);

    map_file(e, FILE_BASE, 40, RW, VM_SHARED, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, va, ACCESS_READ, 0), 0);
    pfn_t cached = pagecache_find(&e->sys.pc, e->f, 1);
    /* Clean shared file pages are write-protected (write-notify), fault-around too. */
    assert_int_equal(pte_at(e, va), pte_make(cached, ANON_FLAGS));
    assert_int_equal(pte_at(e, FILE_BASE + P(7)),
                     pte_make(pagecache_find(&e->sys.pc, e->f, 7), PTE_P | PTE_US | PTE_NX));
    assert_int_equal(present_in(e, FILE_BASE, FILE_BASE + P(40)), 16);

    /* The first store faults once (a minor write-notify fault) and goes to the cached
     * frame itself. */
    assert_int_equal(copy_to_user(e->mm, va + 10, "AB", 2), 0);
    assert_int_equal(pte_pfn(pte_at(e, va)), cached);
    assert_true(pte_at(e, va) & PTE_D);
    assert_true(pte_at(e, va) & PTE_RW);
    assert_memory_equal((uint8_t *)phys_hva(&e->sys.phys, cached) + 10, "AB", 2);
    assert_int_equal(fs(e)->file_major, 1);
    assert_int_equal(fs(e)->cow, 0);
    assert_int_equal(fs(e)->shared_write, 1);
    assert_int_equal(fs(e)->minor, 1);
    assert_int_equal(copy_to_user(e->mm, va + 12, "CD", 2), 0);
    assert_int_equal(fs(e)->minor, 1);

    /* A write first maps the cached frame dirty. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(20), ACCESS_WRITE, 0), 0);
    cached = pagecache_find(&e->sys.pc, e->f, 20);
    assert_int_equal(pte_at(e, FILE_BASE + P(20)), pte_make(cached, ANON_FLAGS | PTE_RW | PTE_D));
    assert_int_equal(fs(e)->file_major, 2);
    assert_int_equal(present_in(e, FILE_BASE + P(16), FILE_BASE + P(32)), 1);
}

static void test_fault_past_end_of_file_raises_sigbus(void **state)
{
    struct env *e = *state;

    map_file(e, FILE_BASE, 48, VM_READ, 0, 0, NO_END);
    map_file(e, FILE_BASE + P(64), 48, RW, VM_SHARED, 0, NO_END);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(FILE_PAGES), ACCESS_READ, 0), -EFAULT);
    check_last_fault(e, FILE_BASE + P(FILE_PAGES), ACCESS_READ, SIGBUS, BUS_ADRERR,
                     CAUSE_BEYOND_FILE);
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(64 + 47), ACCESS_WRITE, 0), -EFAULT);
    check_last_fault(e, FILE_BASE + P(64 + 47), ACCESS_WRITE, SIGBUS, BUS_ADRERR,
                     CAUSE_BEYOND_FILE);
    assert_int_equal(fs(e)->sigbus, 2);
    assert_int_equal(fs(e)->segv, 0);
    assert_int_equal(fs(e)->major + fs(e)->minor, 0);
    assert_int_equal(pte_at(e, FILE_BASE + P(FILE_PAGES)), 0);
    assert_int_equal(e->sys.pc.pages, 0);
    /* The half-full last page is still inside the file. */
    assert_int_equal(mm_fault(e->mm, FILE_BASE + P(FILE_PAGES - 1), ACCESS_READ, 0), 0);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_fault_anon_read_maps_zero_page),
        ENV_TEST(test_fault_anon_write_after_zero_page_copies),
        ENV_TEST(test_fault_anon_write_first_allocates_zeroed_frame),
        ENV_TEST(test_fault_anon_exec_area_maps_zero_page_executable),
        ENV_TEST(test_fault_present_write_without_rw_restores_permission),
        ENV_TEST(test_fault_cow_last_owner_reuses_frame),
        ENV_TEST(test_fault_cow_shared_frame_copies_then_last_owner_reuses),
        ENV_TEST(test_fault_private_file_read_maps_window_around),
        ENV_TEST(test_fault_file_window_clamped_to_vma),
        ENV_TEST(test_fault_file_window_stops_at_end_of_file),
        ENV_TEST(test_fault_file_page_cached_elsewhere_is_minor),
        ENV_TEST(test_fault_second_mapping_of_read_file_is_minor),
        ENV_TEST(test_fault_private_file_write_after_read_copies_file_bytes),
        ENV_TEST(test_fault_private_file_write_first_copies_without_window),
        ENV_TEST(test_fault_partial_page_past_file_end_reads_zero),
        ENV_TEST(test_fault_read_only_partial_page_maps_cached_frame_with_file_tail),
        ENV_TEST(test_fault_shared_file_maps_cached_frame),
        ENV_TEST(test_fault_past_end_of_file_raises_sigbus),
    };
#undef ENV_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed;
}
