/* Unit tests of fork's address-space copy (src/mm/mm_fork.c) with the fault path, no CPU:
 * private pages become copy-on-write on both sides and share frames; the first writer
 * copies and the last owner reuses (exact cow / cow_reuse counts on each side); shared
 * mappings stay shared; swap entries are duplicated; MADV_DONTFORK / WIPEONFORK areas;
 * locks are not inherited; the child's page tables come from the pool; and every frame
 * comes back after both address spaces are gone. The copy policy (Linux's vma_needs_copy):
 * only areas with an anon_vma (an anonymous page or copy was made in them) have their
 * entries copied; file text and zero-page-only areas start empty in the child, which
 * faults them back in (file pages with fault-around). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm_fixture.h"
#include "vmemu/fault.h"
#include "vmemu/fault_around.h"
#include "vmemu/uaccess.h"

#define BASE   0x10000000ULL
#define NPAGES 8
#define P(n)   ((uint64_t)(n)*PAGE_SIZE)

struct env {
    struct vmsys sys; /* the machine */
    struct mm *mm;    /* the parent */
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e || vm_fixture_init(&e->sys, 256, &e->mm) != 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->mm)
        mm_destroy(e->mm);
    /* Every frame is back but the zero page, and no file page stays cached. */
    int rc = (e->sys.phys.used == 1 && e->sys.pc.pages == 0) ? 0 : -1;
    vmsys_destroy(&e->sys);
    free(e);
    return rc;
}

/* Maps NPAGES private anonymous read-write pages at BASE and writes i+1 into page i. */
static void map_and_fill(struct mm *mm, uint32_t flags)
{
    assert_int_equal(mm_map(mm, BASE, P(NPAGES), VM_READ | VM_WRITE, flags, VMA_ANON, NULL, 0, 0),
                     0);
    for (unsigned i = 0; i < NPAGES; i++)
        assert_int_equal(put_user_u32(mm, BASE + P(i), i + 1), 0);
}

static uint32_t peek(struct mm *mm, unsigned page)
{
    uint32_t v = 0;
    assert_int_equal(copy_from_user(mm, &v, BASE + P(page), sizeof(v)), 0);
    return v;
}

/* Writes through the fault path as the CPU would (a write fault, then the store). */
static void store(struct mm *mm, unsigned page, uint32_t v)
{
    assert_int_equal(mm_fault(mm, BASE + P(page), ACCESS_WRITE, 0), 0);
    assert_int_equal(put_user_u32(mm, BASE + P(page), v), 0);
}

/* A private file area of FILE_PAGES pages at BASE (prot given), backed by a temporary
 * file whose page i starts with the byte 0x30 + i. *f gets the test's reference, path the
 * file's name (unlinked by the caller). */
#define FILE_PAGES 20
static void map_file(struct env *e, uint32_t prot, char *path, size_t pathlen, struct vfile **f)
{
    static uint8_t data[P(FILE_PAGES)];
    for (unsigned i = 0; i < FILE_PAGES; i++)
        data[P(i)] = (uint8_t)(0x30 + i);
    assert_int_equal(vm_fixture_open_file(&e->sys, path, pathlen, "/tmp/test_fork.XXXXXX", data,
                                          sizeof(data), f),
                     0);
    assert_int_equal(mm_map(e->mm, BASE, P(FILE_PAGES), prot, 0, VMA_IMAGE, *f, 0, UINT64_MAX), 0);
}

/* Program text read by the parent has no anon_vma: the child gets no entry for it, and its
 * first read is a page-cache hit that maps the 64 KiB window around it, as after exec. */
static void test_fork_text_area_not_copied_child_faults_around(void **state)
{
    struct env *e = *state;
    char path[64];
    struct vfile *f;
    map_file(e, VM_READ | VM_EXEC, path, sizeof(path), &f);
    assert_int_equal(mm_fault(e->mm, BASE + P(1), ACCESS_EXEC, 0), 0);
    assert_int_equal(e->mm->stats.rss, FAULT_AROUND_PAGES);
    assert_false(e->mm->vmas.v[0].anon_vma);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_false(mm_fork_needs_copy(&e->mm->vmas.v[0]));
    assert_int_equal(child->stats.rss, 0);
    assert_null(pt_lookup(&child->pt, &e->sys.phys, BASE + P(1)));
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    assert_int_equal(mm_fault(child, BASE + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(vm_fixture_task.faults.file_minor, 1);
    assert_int_equal(vm_fixture_task.faults.minor, 1);
    assert_int_equal(child->stats.rss, FAULT_AROUND_PAGES);
    uint8_t b;
    assert_int_equal(copy_from_user(child, &b, BASE + P(15), 1), 0);
    assert_int_equal(b, 0x30 + 15);
    assert_int_equal(vm_fixture_task.faults.minor, 1); /* mapped around: no second fault */
    mm_destroy(child);
    mm_destroy(e->mm);
    e->mm = NULL;
    vfile_put(f);
    unlink(path);
}

/* A private writable file area gets its anon_vma at the first write (the copy of
 * do_cow_fault), not at a read; from then on fork copies all its entries, the read-only
 * file pages included. */
static void test_fork_written_file_area_copied(void **state)
{
    struct env *e = *state;
    char path[64];
    struct vfile *f;
    map_file(e, VM_READ | VM_WRITE, path, sizeof(path), &f);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_READ, 0), 0);
    assert_false(e->mm->vmas.v[0].anon_vma);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_int_equal(child->stats.rss, 0);
    mm_destroy(child);
    assert_int_equal(mm_fault(e->mm, BASE + P(2), ACCESS_WRITE, 0), 0);
    assert_true(e->mm->vmas.v[0].anon_vma);
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_true(child->vmas.v[0].anon_vma);
    assert_int_equal(child->stats.rss, e->mm->stats.rss);
    pte_t *cp = pt_lookup(&child->pt, &e->sys.phys, BASE + P(2));
    assert_true(cp && pte_present(*cp) && (*cp & PTE_COW));
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    uint8_t b;
    assert_int_equal(copy_from_user(child, &b, BASE + P(2), 1), 0);
    assert_int_equal(b, 0x32);
    assert_int_equal(vm_fixture_task.faults.minor + vm_fixture_task.faults.major, 0);
    mm_destroy(child);
    mm_destroy(e->mm);
    e->mm = NULL;
    vfile_put(f);
    unlink(path);
}

/* An anonymous area only read (zero page) has no anon_vma: the child starts empty and
 * takes its own zero-page fault; a write gives the area its anon_vma, kept by both halves
 * of a split and by their merge, and inherited by the child. */
static void test_fork_zero_page_area_not_copied_anon_vma_kept_by_split_and_merge(void **state)
{
    struct env *e = *state;
    assert_int_equal(mm_map(e->mm, BASE, P(NPAGES), VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0),
                     0);
    assert_int_equal(mm_fault(e->mm, BASE, ACCESS_READ, 0), 0);
    assert_false(e->mm->vmas.v[0].anon_vma);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_null(pt_lookup(&child->pt, &e->sys.phys, BASE));
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    assert_int_equal(mm_fault(child, BASE, ACCESS_READ, 0), 0);
    assert_int_equal(vm_fixture_task.faults.zero_page, 1);
    mm_destroy(child);
    store(e->mm, 5, 7); /* page 5 was none: a new anonymous page */
    assert_true(e->mm->vmas.v[0].anon_vma);
    assert_int_equal(mm_protect(e->mm, BASE, P(2), VM_READ), 0);
    assert_int_equal(e->mm->vmas.n, 2);
    assert_true(e->mm->vmas.v[0].anon_vma && e->mm->vmas.v[1].anon_vma);
    assert_int_equal(mm_protect(e->mm, BASE, P(2), VM_READ | VM_WRITE), 0);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_true(e->mm->vmas.v[0].anon_vma);
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_true(child->vmas.v[0].anon_vma);
    pte_t *cp = pt_lookup(&child->pt, &e->sys.phys, BASE);
    assert_true(cp && pte_present(*cp) && pte_pfn(*cp) == e->sys.phys.zero_pfn);
    assert_int_equal(peek(child, 5), 7);
    mm_destroy(child);
}

/* The stack grows into an anonymous area with an anon_vma (expand_downwards prepares it),
 * even when the access that grew it was a read. */
static void test_fork_stack_growth_gives_anon_vma(void **state)
{
    struct env *e = *state;
    assert_int_equal(
        mm_map(e->mm, BASE + P(4), P(1), VM_READ | VM_WRITE, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0),
        0);
    assert_false(e->mm->vmas.v[0].anon_vma);
    assert_int_equal(mm_fault(e->mm, BASE + P(3), ACCESS_READ, 0), 0);
    assert_int_equal(e->mm->vmas.v[0].start, BASE + P(3));
    assert_true(e->mm->vmas.v[0].anon_vma);
}

static void test_fork_private_pages_shared_cow_then_copied_and_reused(void **state)
{
    struct env *e = *state;
    map_and_fill(e->mm, 0);
    uint64_t used = e->sys.phys.used;
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    /* No data frame was copied: only the child's table pages are new. */
    assert_int_equal(e->sys.phys.used - used, child->pt.table_pages);
    assert_int_equal(child->stats.rss, NPAGES);
    assert_int_equal(mm_shared_pages(child), NPAGES);
    pte_t *pp = pt_lookup(&e->mm->pt, &e->sys.phys, BASE);
    pte_t *cp = pt_lookup(&child->pt, &e->sys.phys, BASE);
    assert_true((*pp & PTE_COW) && !(*pp & PTE_RW));
    assert_true((*cp & PTE_COW) && !(*cp & PTE_RW));
    assert_int_equal(pte_pfn(*pp), pte_pfn(*cp));
    assert_int_equal(phys_frame(&e->sys.phys, pte_pfn(*pp))->refcount, 2);

    /* The child writes 3 pages while the parent maps them: 3 copies charged to the
     * child's task. */
    struct task_vm_stats child_task = {0};
    e->sys.charge = &child_task;
    for (unsigned i = 0; i < 3; i++)
        store(child, i, 100 + i);
    e->sys.charge = &vm_fixture_task;
    assert_int_equal(child_task.faults.cow, 3);
    assert_int_equal(child_task.faults.cow_reuse, 0);
    assert_int_equal(vm_fixture_task.faults.cow, 0);
    assert_int_equal(peek(e->mm, 0), 1);
    assert_int_equal(peek(child, 0), 100);
    /* The parent writes page 0 (now its own frame: reuse) and page 5 (still shared: copy). */
    store(e->mm, 0, 7);
    store(e->mm, 5, 8);
    assert_int_equal(vm_fixture_task.faults.cow_reuse, 1);
    assert_int_equal(vm_fixture_task.faults.cow, 1);
    assert_int_equal(mm_shared_pages(e->mm), NPAGES - 4);
    /* The child ends: the parent's remaining writes all reuse. */
    mm_destroy(child);
    for (unsigned i = 1; i < NPAGES; i++)
        if (i != 5)
            store(e->mm, i, 9);
    assert_int_equal(vm_fixture_task.faults.cow_reuse, 1 + NPAGES - 2);
    assert_int_equal(vm_fixture_task.faults.cow, 1);
    assert_int_equal(mm_shared_pages(e->mm), 0);
}

static void test_fork_shared_mapping_stays_shared_and_writable(void **state)
{
    struct env *e = *state;
    struct vfile *shm;
    assert_int_equal(vfile_shmem_create(&e->sys.pc, P(NPAGES), &shm), 0);
    assert_int_equal(
        mm_map(e->mm, BASE, P(NPAGES), VM_READ | VM_WRITE, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX),
        0);
    vfile_put(shm);
    for (unsigned i = 0; i < NPAGES; i++)
        assert_int_equal(put_user_u32(e->mm, BASE + P(i), i + 1), 0);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    pte_t *pp = pt_lookup(&e->mm->pt, &e->sys.phys, BASE);
    assert_false(*pp & PTE_COW);
    assert_false(e->mm->vmas.v[0].anon_vma); /* shared: never copied */
    assert_int_equal(child->stats.rss, 0);
    store(child, 2, 42);
    assert_int_equal(peek(e->mm, 2), 42);
    assert_int_equal(vm_fixture_task.faults.cow, 0);
    mm_destroy(child);
}

static void test_fork_dontfork_area_absent_wipeonfork_area_empty(void **state)
{
    struct env *e = *state;
    map_and_fill(e->mm, 0);
    assert_int_equal(mm_map(e->mm, BASE + P(NPAGES), P(2), VM_READ | VM_WRITE, VM_DONTCOPY,
                            VMA_ANON, NULL, 0, 0),
                     0);
    e->mm->vmas.v[0].flags |= VM_WIPEONFORK; /* as madvise(MADV_WIPEONFORK) leaves it */
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_int_equal(child->vmas.n, 1);
    assert_int_equal(child->stats.rss, 0);
    assert_int_equal(peek(child, 3), 0);
    assert_int_equal(peek(e->mm, 3), 4);
    mm_destroy(child);
}

static void test_fork_locks_not_inherited(void **state)
{
    struct env *e = *state;
    map_and_fill(e->mm, VM_LOCKED);
    e->mm->def_flags = VM_LOCKED;
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_int_equal(child->vmas.v[0].flags & VM_LOCKED, 0);
    assert_int_equal(child->def_flags, 0);
    assert_true(e->mm->vmas.v[0].flags & VM_LOCKED);
    mm_destroy(child);
}

static void test_fork_out_of_frames_fails_cleanly(void **state)
{
    struct env *e = *state;
    map_and_fill(e->mm, 0);
    /* Take every free frame: the child's table pages cannot be allocated. */
    pfn_t taken[256];
    size_t n = 0;
    while (n < 256 && phys_alloc(&e->sys.phys, false, &taken[n]) == 0)
        n++;
    struct mm *child = NULL;
    assert_int_equal(mm_dup(e->mm, &child), -ENOMEM);
    assert_null(child);
    for (size_t i = 0; i < n; i++)
        phys_put(&e->sys.phys, taken[i]);
    assert_int_equal(peek(e->mm, 4), 5);
}

/* mm_fork_unshare: pages of a PROT_NONE area that vmemu itself wrote (the heap checker's
 * arena) are copied into the child at once; the parent's become writable again. */
static void test_fork_unshare_copies_a_prot_none_area(void **state)
{
    struct env *e = *state;
    struct phys *phys = &e->sys.phys;
    assert_int_equal(mm_map(e->mm, BASE, P(2), 0, 0, VMA_ANON, NULL, 0, 0), 0);
    for (unsigned i = 0; i < 2; i++) {
        pfn_t pfn;
        assert_int_equal(phys_alloc(phys, true, &pfn), 0);
        ((uint8_t *)phys_hva(phys, pfn))[0] = (uint8_t)(0x50 + i);
        assert_int_equal(mm_install_page(e->mm, BASE + P(i), NULL, pfn,
                                         PTE_P | PTE_US | PTE_RW | PTE_NX | PTE_A | PTE_D),
                         0);
    }
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    pte_t *pp = pt_lookup(&e->mm->pt, phys, BASE), *cp = pt_lookup(&child->pt, phys, BASE);
    assert_true(*pp & PTE_COW);
    assert_int_equal(pte_pfn(*pp), pte_pfn(*cp));
    assert_int_equal(mm_fork_unshare(e->mm, child, BASE, BASE + P(2)), 0);
    for (unsigned i = 0; i < 2; i++) {
        pp = pt_lookup(&e->mm->pt, phys, BASE + P(i));
        cp = pt_lookup(&child->pt, phys, BASE + P(i));
        assert_int_not_equal(pte_pfn(*pp), pte_pfn(*cp));
        assert_false((*pp | *cp) & PTE_COW);
        assert_true((*pp & PTE_RW) && (*cp & PTE_RW) && (*cp & PTE_NX));
        assert_int_equal(((uint8_t *)phys_hva(phys, pte_pfn(*cp)))[0], 0x50 + i);
        assert_int_equal(phys_frame(phys, pte_pfn(*pp))->refcount, 1);
    }
    assert_int_equal(child->stats.rss, 2);
    mm_destroy(child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fork_private_pages_shared_cow_then_copied_and_reused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_shared_mapping_stays_shared_and_writable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_dontfork_area_absent_wipeonfork_area_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_locks_not_inherited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_out_of_frames_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_unshare_copies_a_prot_none_area, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_text_area_not_copied_child_faults_around, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_written_file_area_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_fork_zero_page_area_not_copied_anon_vma_kept_by_split_and_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_stack_growth_gives_anon_vma, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
