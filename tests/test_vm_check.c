/* Unit tests of the whole-VM invariant check (src/mm/vm_check.c) without a CPU: a machine
 * with anonymous, file, forked and swapped pages passes; each broken relation (a frame's
 * reference count, rss, a reverse map, a swap slot's references, an area out of order, a
 * PTE outside every area, a forgotten address space) is found and named. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vm_fixture.h"

#define P(n)    ((uint64_t)(n) << PAGE_SHIFT)
#define A       0x400000ULL
#define RW      (VM_READ | VM_WRITE)
#define NFRAMES 64

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
    char why[256];    /* vm_check's message */
};

static int env_setup(void **state)
{
    static struct env e;
    memset(&e, 0, sizeof(e));
    if (vm_fixture_init(&e.sys, NFRAMES, &e.mm) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    mm_destroy(e->mm);
    vmsys_destroy(&e->sys);
    return 0;
}

/* Four anonymous pages: two written, one read (zero page), one untouched. */
static void populate(struct env *e)
{
    assert_int_equal(mm_map(e->mm, A, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_fault(e->mm, A, ACCESS_WRITE, 0), 0);
    assert_int_equal(mm_fault(e->mm, A + P(1), ACCESS_WRITE, 0), 0);
    assert_int_equal(mm_fault(e->mm, A + P(2), ACCESS_READ, 0), 0);
}

static int check(struct env *e, struct mm **mms, size_t n)
{
    e->why[0] = '\0';
    return vm_check(&e->sys, mms, n, true, e->why, sizeof(e->why));
}

static pfn_t frame_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);
    assert_non_null(ptep);
    return pte_pfn(*ptep);
}

static void test_vm_check_consistent_machine_passes(void **state)
{
    struct env *e = *state;
    populate(e);
    assert_int_equal(check(e, &e->mm, 1), 0);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    struct mm *both[] = {e->mm, child, e->mm};
    assert_int_equal(check(e, both, 3), 0);
    assert_int_equal(mm_fault(child, A, ACCESS_WRITE, 0), 0); /* a copy-on-write copy */
    assert_int_equal(check(e, both, 2), 0);
    mm_destroy(child);
    assert_int_equal(check(e, &e->mm, 1), 0);
}

static void test_vm_check_finds_an_extra_frame_reference(void **state)
{
    struct env *e = *state;
    populate(e);
    pfn_t pfn = frame_at(e, A);
    phys_get(&e->sys.phys, pfn);
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "has 2 references for 1 mappings"));
    phys_put(&e->sys.phys, pfn);
    assert_int_equal(check(e, &e->mm, 1), 0);
}

static void test_vm_check_finds_wrong_rss(void **state)
{
    struct env *e = *state;
    populate(e);
    e->mm->stats.rss++;
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_string_equal(e->why, "rss 3, but 2 PTEs map frames");
    e->mm->stats.rss--;
}

static void test_vm_check_finds_a_missing_reverse_map(void **state)
{
    struct env *e = *state;
    populate(e);
    pfn_t pfn = frame_at(e, A + P(1));
    phys_rmap_del(&e->sys.phys, pfn, e->mm, A + P(1));
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "has no reverse map"));
    assert_int_equal(phys_rmap_add(&e->sys.phys, pfn, e->mm, A + P(1)), 0);
    assert_int_equal(check(e, &e->mm, 1), 0);
}

static void test_vm_check_finds_a_forgotten_address_space(void **state)
{
    struct env *e = *state;
    populate(e);
    struct mm *child;
    assert_int_equal(mm_dup(e->mm, &child), 0);
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "mapped by an unknown address space"));
    /* Without `all`, the other space's frames are left alone. */
    assert_int_equal(vm_check(&e->sys, &e->mm, 1, false, e->why, sizeof(e->why)), 0);
    mm_destroy(child);
}

static void test_vm_check_finds_a_pte_outside_every_area(void **state)
{
    struct env *e = *state;
    populate(e);
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, A + P(3));
    assert_non_null(ptep); /* same table as the mapped pages, still none */
    e->mm->vmas.v[0].end = A + P(2);
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "outside every area"));
    e->mm->vmas.v[0].end = A + P(4);
}

static void test_vm_check_finds_anonymous_pages_without_anon_vma(void **state)
{
    struct env *e = *state;
    populate(e);
    assert_true(e->mm->vmas.v[0].anon_vma);
    e->mm->vmas.v[0].anon_vma = false; /* fork would leave the written pages behind */
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "in an area without anon_vma"));
    e->mm->vmas.v[0].anon_vma = true;
    assert_int_equal(check(e, &e->mm, 1), 0);
}

static void test_vm_check_finds_areas_out_of_order(void **state)
{
    struct env *e = *state;
    assert_int_equal(mm_map(e->mm, A, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, A + P(4), P(1), VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(e->mm->vmas.n, 2);
    e->mm->vmas.v[1].start = A;
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "overlaps or is out of order"));
    e->mm->vmas.v[1].start = A + P(4);
}

static void test_vm_check_finds_a_swap_slot_without_entries(void **state)
{
    struct env *e = *state;
    mm_destroy(e->mm);
    vmsys_destroy(&e->sys);
    assert_int_equal(vmsys_init(&e->sys, NFRAMES * PAGE_SIZE, 16, 4), 0);
    assert_int_equal(vmsys_setup_paging(&e->sys, POLICY_FIFO, 1, P(16), NULL), 0);
    e->mm = NULL;
    assert_int_equal(mm_create(&e->sys, &e->mm), 0);
    uint64_t slot;
    assert_int_equal(swap_alloc(&e->sys.swap, &slot), 0);
    assert_int_equal(check(e, &e->mm, 1), -EUCLEAN);
    assert_non_null(strstr(e->why, "references for 0 entries"));
    swap_free(&e->sys.swap, slot);
    assert_int_equal(check(e, &e->mm, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
        T(test_vm_check_consistent_machine_passes),
        T(test_vm_check_finds_an_extra_frame_reference),
        T(test_vm_check_finds_wrong_rss),
        T(test_vm_check_finds_a_missing_reverse_map),
        T(test_vm_check_finds_a_forgotten_address_space),
        T(test_vm_check_finds_a_pte_outside_every_area),
        T(test_vm_check_finds_anonymous_pages_without_anon_vma),
        T(test_vm_check_finds_areas_out_of_order),
        T(test_vm_check_finds_a_swap_slot_without_entries),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
