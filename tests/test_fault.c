/* Unit tests of the page-fault handler (src/mm/fault.c) and the MMU in front of it
 * (src/mm/mmu.c), with no CPU: mm_fault(), mmu_fill() and mmu_translate_user() are called
 * directly on small pools. Every branch of the fault path is taken and counted: zero
 * page, new anonymous frame, page-cache hits and misses with fault-around, private copies
 * (also of a page where the file data stops), shared file pages, copy-on-write copy and
 * reuse, stack growth and its limits, SIGSEGV and SIGBUS causes, and running out of
 * frames. The MMU part checks the permissions handed to the CPU, the accessed and dirty
 * bits, vmemu's TLB counters and the flush that mm_set_pte() requests on downgrades. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vmemu/mmu.h"
#include "vmemu/uaccess.h"
#include "vm_fixture.h"

#define P(n)       ((uint64_t)(n) << PAGE_SHIFT)
#define FILE_BASE  0x10000000ULL /* 64 KiB-aligned: a fault-around window starts here */
#define ANON_BASE  0x20000000ULL
#define STACK_END  0x7ff000000000ULL
#define FILE_SIZE  (P(40) + 2048) /* 41 file pages, the last one half full */
#define FILE_PAGES 41
#define RW         (VM_READ | VM_WRITE)
#define RX         (VM_READ | VM_EXEC)
#define NO_END     UINT64_MAX /* file_end of an ordinary file mapping */
#define ANON_FLAGS (PTE_P | PTE_A | PTE_US | PTE_NX)

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
    char path[64];    /* temporary file of FILE_SIZE bytes of pattern() */
    struct vfile *f;  /* the test's own reference on that file */
};

/* Byte at file offset off: differs from page to page and within a page. */
static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> PAGE_SHIFT) * 13 + 1);
}

static int env_init(void **state, uint64_t frames)
{
    static struct env e;
    static uint8_t buf[FILE_SIZE];

    memset(&e, 0, sizeof(e));
    for (uint64_t off = 0; off < FILE_SIZE; off++)
        buf[off] = pattern(off);
    if (vm_fixture_init(&e.sys, frames, &e.mm) != 0 ||
        vm_fixture_open_file(&e.sys, e.path, sizeof(e.path), "/tmp/test_fault.XXXXXX", buf,
                             sizeof(buf), &e.f) != 0)
        return -1;
    *state = &e;
    return 0;
}

/* 128 frames: room for every test but the out-of-memory ones. */
static int env_setup(void **state)
{
    return env_init(state, 128);
}

/* 8 frames: frame 0, the zero page and the PML4 leave 5. */
static int tiny_setup(void **state)
{
    return env_init(state, 8);
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    /* Everything but the zero page must be back in the pool. */
    return vm_fixture_release(&e->sys, e->mm, e->f, e->path, true);
}

static struct fault_stats *fs(struct env *e)
{
    (void)e;
    return &vm_fixture_task.faults;
}

static void map_anon(struct env *e, gva_t start, uint64_t pages, uint32_t prot)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, 0, VMA_ANON, NULL, 0, 0), 0);
}

static void map_file(struct env *e, gva_t start, uint64_t pages, uint32_t prot, uint32_t flags,
                     uint64_t off, uint64_t file_end)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, flags, VMA_FILE, e->f, off, file_end), 0);
}

/* The PTE of va, 0 when its tables do not exist. */
static pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

static pte_t *ptep_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    assert_non_null(ptep);
    return ptep;
}

static void count_present(void *ctx, gva_t va, pte_t *ptep)
{
    (void)va;
    if (pte_present(*ptep))
        (*(unsigned *)ctx)++;
}

/* Present PTEs in [lo, hi). */
static unsigned present_in(struct env *e, gva_t lo, gva_t hi)
{
    unsigned n = 0;

    pt_for_each(&e->mm->pt, &e->sys.phys, lo, hi, count_present, &n);
    return n;
}

/* Checks that len bytes of frame pfn at in-page offset pg_off hold file offset file_off. */
static void check_file_bytes(struct env *e, pfn_t pfn, uint64_t pg_off, uint64_t file_off,
                             uint64_t len)
{
    const uint8_t *p = (const uint8_t *)phys_hva(&e->sys.phys, pfn) + pg_off;

    for (uint64_t i = 0; i < len; i++)
        assert_int_equal(p[i], pattern(file_off + i));
}

static void check_zero_bytes(struct env *e, pfn_t pfn, uint64_t pg_off, uint64_t len)
{
    const uint8_t *p = (const uint8_t *)phys_hva(&e->sys.phys, pfn) + pg_off;

    for (uint64_t i = 0; i < len; i++)
        assert_int_equal(p[i], 0);
}

/* Checks the record of the last failed access. */
static void check_last_fault(struct env *e, gva_t va, enum access access, int signo, int code,
                             enum fault_cause cause)
{
    assert_int_equal(e->mm->last_fault.va, va);
    assert_int_equal(e->mm->last_fault.access, access);
    assert_int_equal(e->mm->last_fault.signo, signo);
    assert_int_equal(e->mm->last_fault.code, code);
    assert_int_equal(e->mm->last_fault.cause, cause);
}

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
#define ENV_TEST(fn)  cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
#define TINY_TEST(fn) cmocka_unit_test_setup_teardown(fn, tiny_setup, env_teardown)
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
        TINY_TEST(test_fault_table_out_of_frames_peak_pt_pages_counts_partial_tables),
    };
#undef ENV_TEST
#undef TINY_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed;
}
