/* Unit tests of area and address-space usage (src/mm/mm_stat.c) without a CPU: pages are
 * faulted in with mm_fault on a 64-frame pool, then mm_vma_usage and mm_usage must give
 * Linux's smaps/status numbers exactly: the zero page outside Rss, a file page mapped by
 * two areas shared with half a page of Pss each, copy-on-write copies anonymous and
 * private dirty, FRAME_DIRTY as dirty, swap entries, locked areas, the Rss split into
 * anonymous, file and shmem pages, the Vm* classes of areas, peaks and table pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vmemu/mm_stat.h"
#include "vm_fixture.h"

#define P(n)       ((uint64_t)(n) << PAGE_SHIFT)
#define A          0x10000000ULL /* first test area */
#define B          0x20000000ULL /* second test area */
#define RW         (VM_READ | VM_WRITE)
#define NFRAMES    64
#define FILE_PAGES 2
#define WHOLE_PSS  (PAGE_SIZE << 12) /* one page in Pss units (bytes << 12) */

struct env {
    struct vmsys sys; /* 64-frame pool */
    struct mm *mm;    /* address space under test */
    char path[64];    /* temporary file of FILE_PAGES pages */
    struct vfile *f;  /* the test's own reference on it (read-only) */
};

static int env_setup(void **state)
{
    static struct env e;
    static uint8_t buf[P(FILE_PAGES)];

    memset(&e, 0, sizeof(e));
    memset(buf, 0x5a, sizeof(buf));
    if (vm_fixture_init(&e.sys, NFRAMES, &e.mm) != 0 ||
        vm_fixture_open_file(&e.sys, e.path, sizeof(e.path), "/tmp/test_mm_stat.XXXXXX", buf,
                             sizeof(buf), &e.f) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    return vm_fixture_release(&e->sys, e->mm, e->f, e->path, false);
}

static void fault(struct env *e, gva_t va, enum access access)
{
    assert_int_equal(mm_fault(e->mm, va, access, 0), 0);
}

static void map_file(struct env *e, gva_t start, uint32_t prot, uint32_t flags)
{
    assert_int_equal(
        mm_map(e->mm, start, P(FILE_PAGES), prot, flags, VMA_FILE, e->f, 0, UINT64_MAX), 0);
}

static void usage_of(struct env *e, gva_t va, struct vma_usage *u)
{
    const struct vma *v = vma_lookup(&e->mm->vmas, va);
    assert_non_null(v);
    mm_vma_usage(e->mm, v, u);
}

/* ---- mm_vma_usage ---- */

static void test_mm_vma_usage_anon_writes_and_zero_page_read_count_apart(void **state)
{
    struct env *e = *state;
    struct vma_usage u;

    assert_int_equal(mm_map(e->mm, A, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    fault(e, A, ACCESS_WRITE);
    fault(e, A + P(1), ACCESS_WRITE);
    fault(e, A + P(2), ACCESS_READ); /* maps the zero page */
    usage_of(e, A, &u);
    assert_int_equal(u.resident, 2);
    assert_int_equal(u.zero_mapped, 1);
    assert_int_equal(u.pss_shifted, 2 * WHOLE_PSS);
    assert_int_equal(u.private_dirty, 2);
    assert_int_equal(u.private_clean, 0);
    assert_int_equal(u.shared_clean + u.shared_dirty, 0);
    assert_int_equal(u.dirty, 2);
    assert_int_equal(u.referenced, 2);
    assert_int_equal(u.anon, 2);
    assert_int_equal(u.swapped, 0);
    assert_int_equal(u.locked, 0);
}

static void test_mm_vma_usage_file_page_in_two_areas_is_shared_half_pss(void **state)
{
    struct env *e = *state;
    struct vma_usage ua, ub;

    map_file(e, A, VM_READ, 0);
    map_file(e, B, VM_READ, 0);
    /* A read fault maps page 0 and, by fault-around, the cached page 1 without A. */
    fault(e, A, ACCESS_READ);
    fault(e, B, ACCESS_READ);
    usage_of(e, A, &ua);
    usage_of(e, B, &ub);
    assert_int_equal(ua.resident, 2);
    assert_int_equal(ua.shared_clean, 2);
    assert_int_equal(ua.private_clean + ua.private_dirty + ua.shared_dirty, 0);
    assert_int_equal(ua.pss_shifted, 2 * (WHOLE_PSS / 2));
    assert_int_equal(ua.pss_file_shifted, 2 * (WHOLE_PSS / 2));
    assert_int_equal(ua.pss_anon_shifted + ua.pss_shmem_shifted + ua.pss_dirty_shifted, 0);
    assert_int_equal(ua.referenced, 1);
    assert_int_equal(ua.anon, 0);
    assert_int_equal(ua.dirty, 0);
    assert_memory_equal(&ua, &ub, sizeof(ua));
}

static void test_mm_vma_usage_private_file_write_copy_is_anon_private_dirty(void **state)
{
    struct env *e = *state;
    struct vma_usage u;

    map_file(e, A, RW, 0);
    fault(e, A, ACCESS_READ);  /* the cached page, and page 1 by fault-around */
    fault(e, A, ACCESS_WRITE); /* copy-on-write: a private anonymous copy */
    usage_of(e, A, &u);
    assert_int_equal(u.resident, 2);
    assert_int_equal(u.anon, 1);
    assert_int_equal(u.private_dirty, 1);
    assert_int_equal(u.private_clean, 1);
    assert_int_equal(u.pss_shifted, 2 * WHOLE_PSS);
    /* Pss split: the copy is anonymous and dirty, the cached page is file and clean. */
    assert_int_equal(u.pss_anon_shifted, WHOLE_PSS);
    assert_int_equal(u.pss_dirty_shifted, WHOLE_PSS);
    assert_int_equal(u.pss_file_shifted, WHOLE_PSS);
    assert_int_equal(u.pss_shmem_shifted, 0);
}

static void test_mm_vma_usage_frame_dirty_page_is_shared_dirty(void **state)
{
    struct env *e = *state;
    struct vma_usage u;

    map_file(e, A, VM_READ, VM_SHARED);
    map_file(e, B, VM_READ, VM_SHARED);
    fault(e, A, ACCESS_READ);
    fault(e, B, ACCESS_READ);
    pfn_t pfn = pagecache_find(&e->sys.pc, e->f, 0);
    assert_int_not_equal(pfn, 0);
    struct frame *fr = phys_frame(&e->sys.phys, pfn);
    fr->flags |= FRAME_DIRTY; /* as a store through another mapping leaves it */
    usage_of(e, A, &u);
    fr->flags &= ~FRAME_DIRTY; /* no write-back of the read-only test file */
    assert_int_equal(u.shared_dirty, 1);
    assert_int_equal(u.shared_clean, 1);
    assert_int_equal(u.pss_dirty_shifted, WHOLE_PSS / 2);
    assert_int_equal(u.dirty, 1);
    assert_int_equal(u.anon, 0);
}

static void test_mm_vma_usage_swap_entry_is_swapped_not_resident(void **state)
{
    struct env *e = *state;
    struct vma_usage u;
    pte_t *ptep;

    assert_int_equal(mm_map(e->mm, A, P(2), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    fault(e, A, ACCESS_WRITE);
    assert_int_equal(pt_lookup_alloc(&e->mm->pt, &e->sys.phys, A + P(1), &ptep), 0);
    *ptep = pte_make_swap(5);
    usage_of(e, A, &u);
    *ptep = 0; /* there is no swap area to release the slot to */
    assert_int_equal(u.resident, 1);
    assert_int_equal(u.swapped, 1);
}

static void test_mm_vma_usage_locked_area_counts_resident_as_locked(void **state)
{
    struct env *e = *state;
    struct vma_usage u;

    assert_int_equal(mm_map(e->mm, A, P(3), RW, VM_LOCKED, VMA_ANON, NULL, 0, 0), 0);
    fault(e, A, ACCESS_WRITE);
    fault(e, A + P(1), ACCESS_READ); /* zero page: not resident, not locked */
    usage_of(e, A, &u);
    assert_int_equal(u.locked, 1);
    assert_int_equal(u.resident, 1);
}

/* ---- mm_usage ---- */

static void test_mm_usage_splits_rss_into_anon_file_and_shmem(void **state)
{
    struct env *e = *state;
    struct vfile *shm;
    struct mm_usage u;

    assert_int_equal(vfile_shmem_create(&e->sys.pc, P(4), &shm), 0);
    assert_int_equal(mm_map(e->mm, A, P(4), RW, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX), 0);
    vfile_put(shm); /* the area holds its own reference */
    map_file(e, B, VM_READ, 0);
    assert_int_equal(mm_map(e->mm, 0x30000000, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    fault(e, A, ACCESS_WRITE);
    fault(e, A + P(1), ACCESS_WRITE);
    fault(e, A + P(2), ACCESS_WRITE);
    fault(e, B, ACCESS_READ); /* two file pages with fault-around */
    fault(e, 0x30000000, ACCESS_WRITE);
    fault(e, 0x30001000, ACCESS_READ); /* zero page */
    mm_usage(e->mm, &u);
    assert_int_equal(u.rss_shmem, 3);
    assert_int_equal(u.rss_file, 2);
    assert_int_equal(u.rss_anon, 1);
    assert_int_equal(u.rss, 6);
    assert_int_equal(u.rss, e->mm->stats.rss);
    assert_int_equal(u.vm, 10);
    struct vma_usage vu;
    usage_of(e, A, &vu); /* shared anonymous pages: Pss_Shmem, dirty */
    assert_int_equal(vu.pss_shmem_shifted, 3 * WHOLE_PSS);
    assert_int_equal(vu.pss_dirty_shifted, 3 * WHOLE_PSS);
    assert_int_equal(vu.pss_anon_shifted + vu.pss_file_shifted, 0);
}

static void test_mm_usage_classifies_areas_like_linux(void **state)
{
    struct env *e = *state;
    struct mm_usage u;

    /* Program text, read-only data and data of the image, bss, a library-like
     * executable file mapping, a shared writable file mapping, a locked area, the stack. */
    assert_int_equal(mm_map(e->mm, 0x400000, P(2), VM_READ | VM_EXEC, 0, VMA_IMAGE, e->f, 0, P(2)),
                     0);
    assert_int_equal(mm_map(e->mm, 0x402000, P(1), VM_READ, 0, VMA_IMAGE, e->f, 0, P(1)), 0);
    assert_int_equal(mm_map(e->mm, 0x403000, P(1), RW, 0, VMA_IMAGE, e->f, 0, P(1)), 0);
    assert_int_equal(mm_map(e->mm, 0x404000, P(3), RW, 0, VMA_BSS, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, A, P(2), VM_READ | VM_EXEC, 0, VMA_FILE, e->f, 0, UINT64_MAX),
                     0);
    assert_int_equal(mm_map(e->mm, B, P(2), RW, VM_SHARED, VMA_FILE, e->f, 0, UINT64_MAX), 0);
    assert_int_equal(mm_map(e->mm, 0x30000000, P(5), RW, VM_LOCKED, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, 0x7ffffffde000, P(33), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0),
                     0);
    mm_usage(e->mm, &u);
    assert_int_equal(u.exe, 2);
    assert_int_equal(u.lib, 2);
    assert_int_equal(u.data, 1 + 3 + 5);
    assert_int_equal(u.stack, 33);
    assert_int_equal(u.locked_vm, 5);
    assert_int_equal(u.vm, 2 + 1 + 1 + 3 + 2 + 2 + 5 + 33);
    assert_int_equal(u.rss, 0);
    assert_int_equal(u.swap, 0);
}

static void test_mm_usage_peaks_outlive_unmap(void **state)
{
    struct env *e = *state;
    struct mm_usage u;

    assert_int_equal(mm_map(e->mm, A, P(8), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    for (int i = 0; i < 8; i++)
        fault(e, A + P(i), ACCESS_WRITE);
    assert_int_equal(mm_unmap(e->mm, A + P(2), P(6)), 0);
    mm_usage(e->mm, &u);
    assert_int_equal(u.vm, 2);
    assert_int_equal(u.peak_vm, 8);
    assert_int_equal(u.rss, 2);
    assert_int_equal(u.peak_rss, 8);
}

static void test_mm_usage_counts_every_table_page(void **state)
{
    struct env *e = *state;
    struct mm_usage u;

    assert_int_equal(mm_map(e->mm, A, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    fault(e, A, ACCESS_WRITE);
    mm_usage(e->mm, &u);
    /* PML4, PDPT, page directory, page table. */
    assert_int_equal(u.pt_pages, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
        T(test_mm_vma_usage_anon_writes_and_zero_page_read_count_apart),
        T(test_mm_vma_usage_file_page_in_two_areas_is_shared_half_pss),
        T(test_mm_vma_usage_private_file_write_copy_is_anon_private_dirty),
        T(test_mm_vma_usage_frame_dirty_page_is_shared_dirty),
        T(test_mm_vma_usage_swap_entry_is_swapped_not_resident),
        T(test_mm_vma_usage_locked_area_counts_resident_as_locked),
        T(test_mm_usage_splits_rss_into_anon_file_and_shmem),
        T(test_mm_usage_classifies_areas_like_linux),
        T(test_mm_usage_peaks_outlive_unmap),
        T(test_mm_usage_counts_every_table_page),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
