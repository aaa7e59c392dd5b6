/* Unit tests of address spaces (src/mm/mm.c) without a CPU: the layout of a new mm,
 * mm_map replacing what was mapped (MAP_FIXED), mm_unmap splitting areas, freeing frames
 * and pruning page tables, mm_protect (holes, splitting and re-merging, PTE downgrades,
 * PROT_NONE, copy-on-write pages, read-only shared files), mm_brk, the top-down choice of
 * mm_get_unmapped_area, and the page install/zap primitives with their reverse map and
 * rss. Small pools (64 frames) so every frame is accounted for. */
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

#define P(n)      ((uint64_t)(n) << PAGE_SHIFT)
#define A         0x400000ULL /* third 2 MiB region of the first GiB */
#define SPAN_2M   (1ULL << 21)
#define SPAN_1G   (1ULL << 30)
#define BRK_BASE  0x600000ULL
#define RW        (VM_READ | VM_WRITE)
#define NFRAMES   64
#define FILE_SIZE P(20)

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
    char path[64];    /* temporary file of FILE_SIZE bytes */
    struct vfile *f;  /* the test's own read-only reference on it */
};

static int env_setup(void **state)
{
    static struct env e;
    static uint8_t buf[FILE_SIZE];

    memset(&e, 0, sizeof(e));
    memset(buf, 0x61, sizeof(buf));
    if (vm_fixture_init(&e.sys, NFRAMES, &e.mm) != 0 ||
        vm_fixture_open_file(&e.sys, e.path, sizeof(e.path), "/tmp/test_mm.XXXXXX", buf,
                             sizeof(buf), &e.f) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    return vm_fixture_release(&e->sys, e->mm, e->f, e->path, true);
}

static void map_anon(struct env *e, gva_t start, uint64_t pages, uint32_t prot)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, 0, VMA_ANON, NULL, 0, 0), 0);
}

/* Writes one byte into each page of [start, start + pages), faulting them in. */
static void touch(struct env *e, gva_t start, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i++)
        assert_int_equal(put_user_u32(e->mm, start + P(i), (uint32_t)i + 1), 0);
}

static pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

/* Checks that area i is [start, end) with protection prot. */
static void check_area(struct env *e, size_t i, gva_t start, gva_t end, uint32_t prot)
{
    assert_true(i < e->mm->vmas.n);
    assert_int_equal(e->mm->vmas.v[i].start, start);
    assert_int_equal(e->mm->vmas.v[i].end, end);
    assert_int_equal(e->mm->vmas.v[i].prot, prot);
}

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

/* ---- mm_brk ---- */

static void set_brk(struct env *e, gva_t start)
{
    e->mm->start_brk = start;
    e->mm->brk = start;
}

static void test_mm_brk_grow_maps_heap_and_shrink_frees_pages(void **state)
{
    struct env *e = *state;
    uint64_t used = e->sys.phys.used;

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x2500), BRK_BASE + 0x2500);
    assert_int_equal(e->mm->brk, BRK_BASE + 0x2500);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(3), RW);
    assert_int_equal(e->mm->vmas.v[0].kind, VMA_HEAP);
    touch(e, BRK_BASE, 3);
    assert_int_equal(e->mm->stats.rss, 3);

    /* Growing within the last page maps nothing new. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(3)), BRK_BASE + P(3));
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(3), RW);

    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x800), BRK_BASE + 0x800);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(1), RW);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(e->sys.phys.used, used + 3 + 1);
    assert_int_equal(mm_brk(e->mm, BRK_BASE), BRK_BASE);
    assert_int_equal(e->mm->vmas.n, 0);
    assert_int_equal(e->mm->stats.rss, 0);
    /* Growing again gives fresh zeroed pages. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(1)), BRK_BASE + P(1));
    uint32_t v = 1;
    assert_int_equal(copy_from_user(e->mm, &v, BRK_BASE, sizeof(v)), 0);
    assert_int_equal(v, 0);
}

static void test_mm_brk_below_start_returns_old_break(void **state)
{
    struct env *e = *state;

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(1)), BRK_BASE + P(1));
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(2)), BRK_BASE + P(2));
    assert_int_equal(e->mm->vmas.n, 1); /* the second step merged into the heap */
    assert_int_equal(mm_brk(e->mm, BRK_BASE - 1), BRK_BASE + P(2));
    assert_int_equal(mm_brk(e->mm, 0), BRK_BASE + P(2)); /* how libc asks for the break */
    assert_int_equal(mm_brk(e->mm, USER_VA_END), BRK_BASE + P(2));
    assert_int_equal(e->mm->brk, BRK_BASE + P(2));
    check_area(e, 0, BRK_BASE, BRK_BASE + P(2), RW);
}

static void test_mm_brk_into_next_area_returns_old_break(void **state)
{
    struct env *e = *state;

    set_brk(e, BRK_BASE);
    map_anon(e, BRK_BASE + P(16), 1, RW);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(16) + 1), BRK_BASE);
    assert_int_equal(e->mm->vmas.n, 1);
    /* Linux keeps one free page between the heap and the next area (native: brk up to
     * it is refused, one page below it is granted). */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(16)), BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(15)), BRK_BASE + P(15));
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(15), RW);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(15) + 1), BRK_BASE + P(15));
}

static void test_mm_brk_keeps_stack_guard_gap(void **state)
{
    struct env *e = *state;
    const gva_t stack = BRK_BASE + MM_STACK_GAP + P(8);

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_map(e->mm, stack, P(4), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0), 0);
    assert_int_equal(mm_brk(e->mm, stack - MM_STACK_GAP - P(1) + 1), BRK_BASE);
    assert_int_equal(mm_brk(e->mm, stack - MM_STACK_GAP - P(1)), stack - MM_STACK_GAP - P(1));
    check_area(e, 0, BRK_BASE, stack - MM_STACK_GAP - P(1), RW);
}

static void test_mm_brk_unaligned_start_maps_from_next_page(void **state)
{
    struct env *e = *state;

    /* The program's bss ends half-way into a page. */
    assert_int_equal(mm_map(e->mm, BRK_BASE - P(1), P(2), RW, 0, VMA_BSS, NULL, 0, 0), 0);
    set_brk(e, BRK_BASE + 0x800);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x900), BRK_BASE + 0x900);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x1800), BRK_BASE + 0x1800);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 1, BRK_BASE + P(1), BRK_BASE + P(2), RW);
    assert_int_equal(e->mm->vmas.v[1].kind, VMA_HEAP);
    /* Shrinking back below the page keeps the bss. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x800), BRK_BASE + 0x800);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE - P(1), BRK_BASE + P(1), RW);
}

/* ---- mm_get_unmapped_area ---- */

static void test_mm_get_unmapped_area_goes_top_down_from_mmap_base(void **state)
{
    struct env *e = *state;
    const gva_t base = e->mm->mmap_base;
    gva_t va;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(3), &va), 0);
    assert_int_equal(va, base - P(3));
    map_anon(e, va, 3, RW);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(1), &va), 0);
    assert_int_equal(va, base - P(4));
    map_anon(e, va, 1, RW);
    assert_int_equal(e->mm->vmas.n, 1); /* merged: [base - 4p, base) */
    /* a one-page area at base - 7p leaves a two-page gap. */
    map_anon(e, base - P(7), 1, VM_READ);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(2), &va), 0);
    assert_int_equal(va, base - P(6));
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(3), &va), 0);
    assert_int_equal(va, base - P(10));
}

static void test_mm_get_unmapped_area_hint_honoured_when_free(void **state)
{
    struct env *e = *state;
    gva_t va;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000000, P(4), &va), 0);
    assert_int_equal(va, 0x40000000);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000123, P(4), &va), 0);
    assert_int_equal(va, 0x40000000);
    /* Above mmap_base is fine too when free. */
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x7fff00000000ULL, P(1), &va), 0);
    assert_int_equal(va, 0x7fff00000000ULL);
}

static void test_mm_get_unmapped_area_unusable_hint_falls_back(void **state)
{
    struct env *e = *state;
    const gva_t base = e->mm->mmap_base;
    gva_t va;

    map_anon(e, 0x40000000 + P(2), 1, RW);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000000, P(4), &va), 0);
    assert_int_equal(va, base - P(4));
    assert_int_equal(mm_get_unmapped_area(e->mm, MM_MMAP_LOW - P(1), P(1), &va), 0);
    assert_int_equal(va, base - P(1));
    assert_int_equal(mm_get_unmapped_area(e->mm, USER_VA_END - P(1), P(2), &va), 0);
    assert_int_equal(va, base - P(2));
}

static void test_mm_get_unmapped_area_bad_length_returns_enomem(void **state)
{
    struct env *e = *state;
    gva_t va = 5;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0, 0, &va), -ENOMEM);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, USER_VA_END + P(1), &va), -ENOMEM);
    /* More than fits between MM_MMAP_LOW and mmap_base. */
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, e->mm->mmap_base, &va), -ENOMEM);
    assert_int_equal(va, 5);
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
        ENV_TEST(test_mm_protect_hole_returns_enomem),
        ENV_TEST(test_mm_protect_middle_splits_then_restoring_merges),
        ENV_TEST(test_mm_protect_spanning_areas_merges_with_neighbour),
        ENV_TEST(test_mm_protect_none_clears_user_bit),
        ENV_TEST(test_mm_protect_keeps_copy_on_write_pages_read_only),
        ENV_TEST(test_mm_protect_write_on_read_only_shared_file_returns_eacces),
        ENV_TEST(test_mm_protect_leaves_swap_entries_alone),
        ENV_TEST(test_mm_protect_downgrade_asks_cpu_to_drop_page),
        ENV_TEST(test_mm_brk_grow_maps_heap_and_shrink_frees_pages),
        ENV_TEST(test_mm_brk_below_start_returns_old_break),
        ENV_TEST(test_mm_brk_into_next_area_returns_old_break),
        ENV_TEST(test_mm_brk_keeps_stack_guard_gap),
        ENV_TEST(test_mm_brk_unaligned_start_maps_from_next_page),
        ENV_TEST(test_mm_get_unmapped_area_goes_top_down_from_mmap_base),
        ENV_TEST(test_mm_get_unmapped_area_hint_honoured_when_free),
        ENV_TEST(test_mm_get_unmapped_area_unusable_hint_falls_back),
        ENV_TEST(test_mm_get_unmapped_area_bad_length_returns_enomem),
        ENV_TEST(test_mm_install_and_zap_page_track_rmap_and_rss),
        ENV_TEST(test_mm_zap_page_swap_entry_clears_pte_frees_slot),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
