/* Unit tests of transparent huge pages (src/mm/thp.c and the order-9 allocator of
 * src/mm/phys.c), with no CPU: the order-9 block and its page-by-page freeing, one fault
 * per huge page with the 512 PTEs over one aligned block (the marked PDE, the walk to
 * frame head + index), the madvise mode and the fallback when no block is free, the huge
 * zero page and the write that replaces it, splits by munmap, mprotect and
 * MADV_DONTNEED, and fork: the child's write splits and copies 4 KiB, the parent left as
 * the only owner reuses the whole huge page. Every test ends with vm_check and requires
 * every frame back in the pool. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/abi/linux.h"
#include "vmemu/fault.h"
#include "vmemu/hugetlb.h"
#include "vmemu/mm.h"
#include "vmemu/mmap.h"
#include "vmemu/mmu.h"
#include "vmemu/pagecache.h"
#include "vmemu/thp.h"
#include "vm_fixture.h"

#define P(n)   ((uint64_t)(n) << PAGE_SHIFT)
#define BASE   0x40000000ULL /* 2 MiB-aligned */
#define RW     (VM_READ | VM_WRITE)
#define FRAMES 2048 /* 8 MiB: a few whole blocks */

struct env {
    struct vmsys sys; /* the machine */
    struct mm *mm;    /* address space under test */
};

static int setup_frames(void **state, uint64_t frames)
{
    static struct env e;
    memset(&e, 0, sizeof(e));
    if (vm_fixture_init(&e.sys, frames, &e.mm) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int setup(void **state)
{
    return setup_frames(state, FRAMES);
}

/* 600 frames: no whole 2 MiB block can ever be free after the first one's frame 0. */
static int setup_small(void **state)
{
    return setup_frames(state, 600);
}

/* 1100 frames: one whole block (frames 512..1023) besides the first. */
static int setup_one_block(void **state)
{
    return setup_frames(state, 1100);
}

static int teardown(void **state)
{
    struct env *e = *state;
    return vm_fixture_release(&e->sys, e->mm, NULL, "", true);
}

static struct fault_stats *fs(void)
{
    return &vm_fixture_task.faults;
}

/* Maps 4 MiB of private anonymous memory at BASE, MADV_HUGEPAGEd when advised. */
static void map_huge_area(struct env *e, bool advised)
{
    assert_int_equal(mm_map(e->mm, BASE, 2 * HPAGE_SIZE, RW, 0, VMA_ANON, NULL, 0, 0), 0);
    if (advised)
        assert_int_equal(mm_madvise(e->mm, BASE, BASE + 2 * HPAGE_SIZE, LINUX_MADV_HUGEPAGE), 0);
}

static pte_t pde_of(struct env *e, gva_t va)
{
    pte_t *pdep = pt_lookup_pde(&e->mm->pt, &e->sys.phys, va);
    return pdep ? *pdep : 0;
}

static pfn_t pfn_at(struct env *e, gva_t va)
{
    pfn_t pfn = 0;
    assert_int_equal(mmu_translate_user(e->mm, va, ACCESS_READ, 0, &pfn), 0);
    return pfn;
}

static void check_vm(struct env *e)
{
    char why[256];
    int rc = vm_check(&e->sys, &e->mm, 1, false, why, sizeof(why));
    if (rc != 0)
        fail_msg("vm_check: %s", why);
}

static void test_phys_alloc_huge_aligned_block_freed_page_by_page(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    pfn_t head, again;
    uint64_t used = ph->used;
    assert_int_equal(phys_alloc_huge(ph, &head), 0);
    assert_int_equal(head % HPAGE_FRAMES, 0);
    assert_int_equal(ph->used, used + HPAGE_FRAMES);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        assert_int_equal(phys_frame(ph, head + i)->refcount, 1);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        phys_put(ph, head + i); /* each frame on its own */
    assert_int_equal(ph->used, used);
    /* No whole block of fresh memory is left: the wholly free recycled one. */
    assert_int_equal(phys_alloc_huge(ph, &again), 0);
    assert_int_equal(again, head);
    /* One frame of a block in use: the block is not whole any more. */
    for (unsigned i = 1; i < HPAGE_FRAMES; i++)
        phys_put(ph, again + i);
    pfn_t other;
    assert_int_equal(phys_alloc_huge(ph, &other), -ENOMEM);
    phys_put(ph, again);
}

static void test_thp_write_fault_maps_one_huge_page(void **state)
{
    struct env *e = *state;
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE + P(5) + 17, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 1);
    assert_int_equal(fs()->minor, 1);
    assert_int_equal(fs()->anon, 0);
    assert_int_equal(e->mm->stats.rss, HPAGE_FRAMES);
    assert_true(pde_of(e, BASE) & PDE_THP);
    pfn_t head = pfn_at(e, BASE);
    assert_int_equal(head % HPAGE_FRAMES, 0);
    assert_int_equal(pfn_at(e, BASE + P(300)), head + 300);
    assert_int_equal(pfn_at(e, BASE + P(511)), head + 511);
    assert_int_equal(fs()->minor, 1); /* the walks took no further fault */
    assert_int_equal(e->sys.thp.fault_alloc, 1);
    assert_int_equal(e->sys.thp.resident, 1);
    assert_int_equal(thp_mapped_bytes(e->mm, BASE, BASE + 2 * HPAGE_SIZE), HPAGE_SIZE);
    check_vm(e);
}

static void test_thp_madvise_mode_without_advice_takes_4k(void **state)
{
    struct env *e = *state;
    map_huge_area(e, false);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 0);
    assert_int_equal(fs()->anon, 1);
    assert_int_equal(e->mm->stats.rss, 1);
    e->sys.thp_mode = THP_ALWAYS; /* the next 2 MiB, still without advice */
    assert_int_equal(mm_fault(e->mm, BASE + HPAGE_SIZE, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 1);
    check_vm(e);
}

static void test_thp_no_free_block_falls_back(void **state)
{
    struct env *e = *state;
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 0);
    assert_int_equal(fs()->anon, 1);
    assert_int_equal(e->sys.thp.fault_fallback, 1);
    /* A page table exists now: no further huge attempt in this 2 MiB (Linux: pmd not none) */
    assert_int_equal(mm_fault(e->mm, BASE + P(1), ACCESS_WRITE, 0), 0);
    assert_int_equal(e->sys.thp.fault_fallback, 1);
    check_vm(e);
}

static void test_thp_read_maps_huge_zero_page_then_write_allocates(void **state)
{
    struct env *e = *state;
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(fs()->zero_page, 1);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_true(pde_of(e, BASE) & PDE_HZP);
    assert_int_equal(pfn_at(e, BASE + P(100)), e->sys.phys.zero_pfn);
    check_vm(e);
    assert_int_equal(mm_fault(e->mm, BASE + P(7), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 1);
    assert_int_equal(fs()->minor, 2);
    assert_int_equal(e->mm->stats.rss, HPAGE_FRAMES);
    assert_true(pde_of(e, BASE) & PDE_THP);
    check_vm(e);
}

static void test_thp_partial_changes_split(void **state)
{
    struct env *e = *state;
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(mm_fault(e->mm, BASE + HPAGE_SIZE, ACCESS_WRITE, 0), 0);
    pfn_t head = pfn_at(e, BASE);
    /* mprotect of the whole first huge page keeps it; of one page splits the second. */
    assert_int_equal(mm_protect(e->mm, BASE, HPAGE_SIZE, VM_READ), 0);
    assert_int_equal(e->sys.thp.split_pmd, 0);
    assert_true(pde_of(e, BASE) & PDE_THP);
    assert_int_equal(mm_protect(e->mm, BASE + HPAGE_SIZE + P(2), P(1), VM_READ), 0);
    assert_int_equal(e->sys.thp.split_pmd, 1);
    assert_false(pde_of(e, BASE + HPAGE_SIZE) & PDE_THP);
    check_vm(e);
    /* munmap of one page splits the first; its other pages stay where they were. */
    assert_int_equal(mm_unmap(e->mm, BASE + P(9), P(1)), 0);
    assert_int_equal(e->sys.thp.split_pmd, 2);
    assert_int_equal(pfn_at(e, BASE + P(10)), head + 10);
    assert_int_equal(e->mm->stats.rss, 2 * HPAGE_FRAMES - 1);
    assert_int_equal(e->sys.thp.resident, 0);
    check_vm(e);
}

static void test_thp_dontneed_whole_is_no_split_and_refaults_huge(void **state)
{
    struct env *e = *state;
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(mm_madvise(e->mm, BASE, BASE + HPAGE_SIZE, LINUX_MADV_DONTNEED), 0);
    assert_int_equal(e->sys.thp.split_pmd, 0);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(pde_of(e, BASE), 0); /* the page table went with it */
    assert_int_equal(mm_fault(e->mm, BASE + P(1), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->thp, 2);
    /* MADV_DONTNEED of one page splits. */
    assert_int_equal(mm_madvise(e->mm, BASE + P(4), BASE + P(5), LINUX_MADV_DONTNEED), 0);
    assert_int_equal(e->sys.thp.split_pmd, 1);
    assert_int_equal(e->mm->stats.rss, HPAGE_FRAMES - 1);
    check_vm(e);
}

static void test_thp_fork_child_copies_4k_parent_reuses_whole(void **state)
{
    struct env *e = *state;
    struct mm *child;
    struct task_vm_stats child_task = {0};
    map_huge_area(e, true);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    pfn_t head = pfn_at(e, BASE);
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_true(pde_of(e, BASE) & PDE_THP);
    pte_t *cpde = pt_lookup_pde(&child->pt, &e->sys.phys, BASE);
    assert_non_null(cpde);
    assert_true(*cpde & PDE_THP);
    assert_int_equal(e->sys.thp.resident, 1); /* one block, mapped twice */
    /* The child writes one page: split, copy of 4 KiB only. */
    e->sys.charge = &child_task;
    assert_int_equal(mm_fault(child, BASE + P(8), ACCESS_WRITE, 0), 0);
    e->sys.charge = &vm_fixture_task;
    assert_int_equal(child_task.faults.cow, 1);
    assert_int_equal(child_task.faults.minor, 1);
    assert_int_equal(e->sys.thp.split_pmd, 1);
    assert_false(*cpde & PDE_THP);
    assert_int_equal(child->stats.rss, HPAGE_FRAMES);
    char why[256];
    struct mm *both[2] = {e->mm, child};
    assert_int_equal(vm_check(&e->sys, both, 2, false, why, sizeof(why)), 0);
    mm_destroy(child);
    /* The parent, only owner again, takes the whole huge page back with one fault. */
    assert_int_equal(mm_fault(e->mm, BASE + P(20), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->cow_reuse, 1);
    assert_int_equal(e->sys.thp.split_pmd, 1);
    assert_true(pde_of(e, BASE) & PDE_THP);
    assert_int_equal(pfn_at(e, BASE + P(8)), head + 8);
    pfn_t pfn;
    assert_int_equal(mmu_translate_user(e->mm, BASE + P(300), ACCESS_WRITE, 0, &pfn), 0);
    assert_int_equal(fs()->minor, 2); /* every page writable after the one fault */
    check_vm(e);
}

static void test_thp_tlb_2m_entry_answers_for_the_whole_huge_page(void **state)
{
    struct env *e = *state;
    struct tlb *tlb = &e->sys.tlb;
    map_huge_area(e, true);
    e->sys.current = e->mm; /* the MMU uses vmemu's TLB for the running mm only */
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    pfn_t head = pfn_at(e, BASE + P(1)); /* a walk: fills the 2 MiB entry */
    uint64_t misses = tlb->misses;
    assert_int_equal(pfn_at(e, BASE + P(400)), head + 399);
    assert_int_equal(pfn_at(e, BASE + P(511)), head + 510);
    assert_int_equal(tlb->huge_hits, 2);
    assert_int_equal(tlb->misses, misses);
    /* A write through it: the walk sets D on all 512 PTEs, as one PS-bit PDE has one D. */
    pfn_t pfn;
    assert_int_equal(mmu_translate_user(e->mm, BASE + P(7), ACCESS_WRITE, 0, &pfn), 0);
    assert_int_equal(pfn, head + 6);
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, BASE + P(300));
    assert_true(*ptep & PTE_D);
    /* A split drops the 2 MiB entry: the next access walks. */
    assert_int_equal(mm_unmap(e->mm, BASE + P(9), P(1)), 0);
    misses = tlb->misses;
    uint64_t hits = tlb->huge_hits;
    assert_int_equal(pfn_at(e, BASE + P(300)), head + 299);
    assert_int_equal(tlb->misses, misses + 1);
    assert_int_equal(tlb->huge_hits, hits);
    check_vm(e);
}

/* A MAP_HUGETLB mapping of 2 pool pages as mmap makes it. */
static void map_hugetlb(struct env *e, gva_t at, uint64_t len, uint32_t extra)
{
    struct mmap_req req = {.addr = at,
                           .len = len,
                           .place = MMAP_FIXED,
                           .prot = RW,
                           .flags = VM_HUGETLB | extra,
                           .kind = VMA_ANON};
    gva_t start;
    assert_int_equal(mm_mmap_place(e->mm, &req, &start), 0);
    assert_int_equal(mm_mmap(e->mm, &req, start), 0);
}

static void test_hugetlb_reserve_fault_unmap_and_sigbus(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    assert_int_equal(phys_hugetlb_init(ph, 2), 0);
    assert_int_equal(ph->hugetlb_nfree, 2);
    map_hugetlb(e, BASE, 2 * HPAGE_SIZE, 0);
    assert_int_equal(ph->hugetlb_resv, 2);
    /* No page left to promise: a third reserving mapping fails, a NORESERVE one maps. */
    struct mmap_req req = {.len = HPAGE_SIZE, .prot = RW, .flags = VM_HUGETLB, .kind = VMA_ANON};
    assert_int_equal(mm_mmap(e->mm, &req, BASE + 4 * HPAGE_SIZE), -ENOMEM);
    map_hugetlb(e, BASE + 4 * HPAGE_SIZE, HPAGE_SIZE, VM_NORESERVE);
    /* A fault takes the promised page: one fault, 512 PTEs of one pool block. */
    assert_int_equal(mm_fault(e->mm, BASE + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(fs()->hugetlb, 1);
    assert_int_equal(fs()->minor, 1);
    assert_int_equal(ph->hugetlb_resv, 1);
    assert_int_equal(ph->hugetlb_nfree, 1);
    assert_true(pde_of(e, BASE) & PDE_HUGETLB);
    pfn_t head = pfn_at(e, BASE);
    assert_true(phys_frame(ph, head)->flags & FRAME_HUGETLB);
    assert_int_equal(pfn_at(e, BASE + P(77)), head + 77);
    check_vm(e);
    /* The NORESERVE area finds no page nobody was promised: SIGBUS. */
    assert_int_equal(mm_fault(e->mm, BASE + 4 * HPAGE_SIZE, ACCESS_WRITE, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.signo, LINUX_SIGBUS);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_HUGETLB);
    /* munmap only at 2 MiB boundaries; then the page and the promise go back. */
    assert_int_equal(mm_unmap(e->mm, BASE + P(1), P(1)), -EINVAL);
    assert_int_equal(mm_protect(e->mm, BASE, P(1), VM_READ), -EINVAL);
    assert_int_equal(mm_unmap(e->mm, BASE, 2 * HPAGE_SIZE), 0);
    assert_int_equal(ph->hugetlb_resv, 0);
    assert_int_equal(ph->hugetlb_nfree, 2);
    assert_int_equal(mm_unmap(e->mm, BASE + 4 * HPAGE_SIZE, HPAGE_SIZE), 0);
    check_vm(e);
}

static void test_hugetlb_fork_write_copies_whole_page(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    struct mm *child;
    struct task_vm_stats child_task = {0};
    assert_int_equal(phys_hugetlb_init(ph, 2), 0);
    map_hugetlb(e, BASE, HPAGE_SIZE, 0);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    pfn_t head = pfn_at(e, BASE);
    *(uint8_t *)phys_hva(ph, head + 9) = 0x5a;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    e->sys.charge = &child_task;
    assert_int_equal(mm_fault(child, BASE + P(9), ACCESS_WRITE, 0), 0);
    e->sys.charge = &vm_fixture_task;
    assert_int_equal(child_task.faults.hugetlb, 1);
    pfn_t copy = 0;
    assert_int_equal(mmu_translate_user(child, BASE + P(9), ACCESS_READ, 0, &copy), 0);
    assert_int_not_equal(copy, head + 9);
    assert_int_equal(*(uint8_t *)phys_hva(ph, copy), 0x5a);
    assert_int_equal(ph->hugetlb_nfree, 0);
    char why[256];
    struct mm *both[2] = {e->mm, child};
    assert_int_equal(vm_check(&e->sys, both, 2, false, why, sizeof(why)), 0);
    mm_destroy(child);
    assert_int_equal(ph->hugetlb_nfree, 1);
    /* The parent, only owner again, keeps its page with one fault. */
    assert_int_equal(mm_fault(e->mm, BASE + P(2), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->cow_reuse, 1);
    assert_int_equal(pfn_at(e, BASE + P(2)), head + 2);
    assert_int_equal(mm_unmap(e->mm, BASE, HPAGE_SIZE), 0);
    assert_int_equal(ph->hugetlb_nfree, 2);
    check_vm(e);
}

/* A shared hugetlb object (MAP_SHARED|MAP_HUGETLB, SHM_HUGETLB): its promises at creation,
 * a page first touched after fork is the same pool page in parent and child, the object's
 * end is SIGBUS, and its pages go back with its last reference. */
static void test_hugetlb_shared_object_after_fork(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    struct vfile *f;
    struct mm *child;
    assert_int_equal(phys_hugetlb_init(ph, 3), 0);
    assert_int_equal(hugetlb_file_create(&e->sys, 5 * HPAGE_SIZE, true, "x", &f), -ENOMEM);
    assert_int_equal(hugetlb_file_create(&e->sys, HPAGE_SIZE + P(1), true, "x", &f), 0);
    assert_int_equal(f->shmem_size, 2 * HPAGE_SIZE);
    assert_int_equal(ph->hugetlb_resv, 2);
    struct mmap_req req = {.len = 4 * HPAGE_SIZE,
                           .prot = RW,
                           .flags = VM_HUGETLB | VM_SHARED,
                           .kind = VMA_ANON,
                           .file = f};
    assert_int_equal(mm_mmap(e->mm, &req, BASE), 0);
    assert_int_equal(ph->hugetlb_resv, 2); /* the object's promises, none of the area's */
    assert_int_equal(mm_fault(e->mm, BASE + P(1), ACCESS_WRITE, 0), 0);
    assert_int_equal(fs()->hugetlb, 1);
    assert_int_equal(ph->hugetlb_resv, 1);
    assert_int_equal(f->hugetlb_resv, 1);
    pfn_t head = pfn_at(e, BASE);
    assert_int_equal(mm_dup(e->mm, &child), 0);
    /* The child touches the second page first: the parent then maps that same page. */
    assert_int_equal(mm_fault(child, BASE + HPAGE_SIZE + P(4), ACCESS_WRITE, 0), 0);
    pfn_t second = 0, first = 0;
    assert_int_equal(mmu_translate_user(child, BASE + HPAGE_SIZE + P(4), ACCESS_READ, 0, &second),
                     0);
    assert_int_equal(ph->hugetlb_resv, 0);
    assert_int_equal(ph->hugetlb_nfree, 1);
    assert_int_equal(mm_fault(e->mm, BASE + HPAGE_SIZE, ACCESS_READ, 0), 0);
    assert_int_equal(pfn_at(e, BASE + HPAGE_SIZE + P(4)), second);
    assert_int_equal(mmu_translate_user(child, BASE + P(5), ACCESS_READ, 0, &first), 0);
    assert_int_equal(first, head + 5);
    assert_int_equal(ph->hugetlb_nfree, 1);
    /* Past the object's 4 MiB: SIGBUS, as past a file's end. */
    assert_int_equal(mm_fault(e->mm, BASE + 2 * HPAGE_SIZE, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.signo, LINUX_SIGBUS);
    char why[256];
    struct mm *both[2] = {e->mm, child};
    assert_int_equal(vm_check(&e->sys, both, 2, false, why, sizeof(why)), 0);
    mm_destroy(child);
    assert_int_equal(mm_unmap(e->mm, BASE, 4 * HPAGE_SIZE), 0);
    assert_int_equal(ph->hugetlb_nfree, 1); /* the object still holds its pages */
    vfile_put(f);
    assert_int_equal(ph->hugetlb_nfree, 3);
    assert_int_equal(ph->hugetlb_resv, 0);
    check_vm(e);
}

/* mremap of a MAP_HUGETLB area: a move keeps the mapped page (marked again at the new
 * place) and the promise of the unmapped one; growing and unaligned ranges are EINVAL. */
static void test_hugetlb_mremap_moves_pages_and_promises(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    gva_t out, dst = BASE + 8 * HPAGE_SIZE;
    assert_int_equal(phys_hugetlb_init(ph, 3), 0);
    map_hugetlb(e, BASE, 2 * HPAGE_SIZE, 0);
    assert_int_equal(mm_fault(e->mm, BASE + P(3), ACCESS_WRITE, 0), 0);
    pfn_t head = pfn_at(e, BASE);
    assert_int_equal(ph->hugetlb_resv, 1);
    assert_int_equal(
        mm_remap(e->mm, BASE, 2 * HPAGE_SIZE, 3 * HPAGE_SIZE, MM_MREMAP_MAYMOVE, 0, &out), -EINVAL);
    assert_int_equal(mm_remap(e->mm, BASE + P(1), P(1), P(1), 0, 0, &out), -EINVAL);
    assert_int_equal(mm_remap(e->mm, BASE, 2 * HPAGE_SIZE, 2 * HPAGE_SIZE,
                              MM_MREMAP_MAYMOVE | MM_MREMAP_FIXED, dst + P(1), &out),
                     -EINVAL);
    assert_int_equal(mm_remap(e->mm, BASE, 2 * HPAGE_SIZE, 2 * HPAGE_SIZE,
                              MM_MREMAP_MAYMOVE | MM_MREMAP_FIXED, dst, &out),
                     0);
    assert_int_equal(out, dst);
    assert_int_equal(ph->hugetlb_resv, 1);
    assert_true(pde_of(e, dst) & PDE_HUGETLB);
    assert_int_equal(pfn_at(e, dst + P(200)), head + 200);
    assert_int_equal(e->mm->stats.hugetlb_pmds, 1);
    check_vm(e);
    /* The moved promise: the second page faults in from it. */
    assert_int_equal(mm_fault(e->mm, dst + HPAGE_SIZE, ACCESS_WRITE, 0), 0);
    assert_int_equal(ph->hugetlb_resv, 0);
    assert_int_equal(ph->hugetlb_nfree, 1);
    /* A shrink by a rounded-up length unmaps the tail page. */
    assert_int_equal(mm_remap(e->mm, dst, 2 * HPAGE_SIZE, HPAGE_SIZE - P(1), 0, 0, &out), 0);
    assert_int_equal(ph->hugetlb_nfree, 2);
    assert_int_equal(mm_unmap(e->mm, dst, HPAGE_SIZE), 0);
    assert_int_equal(ph->hugetlb_nfree, 3);
    assert_int_equal(ph->hugetlb_resv, 0);
    check_vm(e);
}

/* An MFD_HUGETLB memfd's object: ftruncate in 2 MiB multiples, promises at mmap for the
 * pages not cached, given back by a shrink. */
static void test_hugetlb_file_truncate_and_promise(void **state)
{
    struct env *e = *state;
    struct phys *ph = &e->sys.phys;
    struct vfile *f;
    assert_int_equal(phys_hugetlb_init(ph, 3), 0);
    assert_int_equal(hugetlb_file_create(&e->sys, 0, false, "m", &f), 0);
    assert_int_equal(hugetlb_file_truncate(&e->sys, f, HPAGE_SIZE + P(1)), -EINVAL);
    assert_int_equal(hugetlb_file_truncate(&e->sys, f, 4 * HPAGE_SIZE), 0);
    assert_int_equal(hugetlb_file_promise(&e->sys, f, 4 * HPAGE_SIZE), -ENOMEM);
    assert_int_equal(hugetlb_file_promise(&e->sys, f, 2 * HPAGE_SIZE), 0);
    assert_int_equal(f->hugetlb_resv, 2);
    assert_int_equal(hugetlb_file_promise(&e->sys, f, HPAGE_SIZE), 0); /* kept: 2 */
    assert_int_equal(ph->hugetlb_resv, 2);
    struct mmap_req req = {.len = 2 * HPAGE_SIZE,
                           .prot = RW,
                           .flags = VM_HUGETLB | VM_SHARED,
                           .kind = VMA_FILE,
                           .file = f};
    assert_int_equal(mm_mmap(e->mm, &req, BASE), 0);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_WRITE, 0), 0);
    assert_int_equal(f->hugetlb_resv, 1);
    assert_int_equal(mm_unmap(e->mm, BASE, 2 * HPAGE_SIZE), 0);
    /* Shrunk to 2 MiB: the cached page stays, no promise is left. */
    assert_int_equal(hugetlb_file_truncate(&e->sys, f, HPAGE_SIZE), 0);
    assert_int_equal(f->hugetlb_resv, 0);
    assert_int_equal(ph->hugetlb_resv, 0);
    assert_int_equal(ph->hugetlb_nfree, 2);
    assert_int_equal(hugetlb_file_truncate(&e->sys, f, 0), 0);
    assert_int_equal(ph->hugetlb_nfree, 3);
    vfile_put(f);
    check_vm(e);
}

static void test_thp_unmapped_area_is_2m_aligned(void **state)
{
    struct env *e = *state;
    gva_t at;
    assert_int_equal(thp_get_unmapped_area(e->mm, 2 * HPAGE_SIZE, &at), 0);
    assert_int_equal(at % HPAGE_SIZE, 0);
    assert_int_equal(thp_get_unmapped_area(e->mm, HPAGE_SIZE + P(1), &at), -ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phys_alloc_huge_aligned_block_freed_page_by_page,
                                        setup_one_block, teardown),
        cmocka_unit_test_setup_teardown(test_thp_write_fault_maps_one_huge_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_madvise_mode_without_advice_takes_4k, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thp_no_free_block_falls_back, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_thp_read_maps_huge_zero_page_then_write_allocates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_partial_changes_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_dontneed_whole_is_no_split_and_refaults_huge,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_fork_child_copies_4k_parent_reuses_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thp_tlb_2m_entry_answers_for_the_whole_huge_page,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hugetlb_reserve_fault_unmap_and_sigbus, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hugetlb_fork_write_copies_whole_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hugetlb_shared_object_after_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hugetlb_mremap_moves_pages_and_promises, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hugetlb_file_truncate_and_promise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_unmapped_area_is_2m_aligned, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
