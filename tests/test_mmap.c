/* Unit tests of the address-space side of mmap, madvise and mincore (src/mm/mmap.c,
 * src/mm/madvise.c) without a CPU: where a mapping goes (hint, fixed, no-replace, 32-bit
 * window, top-down), populate and locked areas, advice applied per area with Linux's hole
 * rule, and residency. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vmemu/mmap.h"
#include "vm_fixture.h"

#define P(n)    ((uint64_t)(n) << PAGE_SHIFT)
#define A       0x400000ULL
#define RW      (VM_READ | VM_WRITE)
#define NFRAMES 64

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
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
    return vm_fixture_release(&e->sys, e->mm, NULL, "", true);
}

static struct mmap_req anon(gva_t addr, uint64_t pages, enum mmap_place place)
{
    return (struct mmap_req){
        .addr = addr, .len = P(pages), .place = place, .prot = RW, .kind = VMA_ANON};
}

static gva_t place(struct env *e, struct mmap_req r)
{
    gva_t at = 0;
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), 0);
    assert_int_equal(mm_mmap(e->mm, &r, at), 0);
    return at;
}

static void test_mmap_places_as_linux(void **state)
{
    struct env *e = *state;
    gva_t top = place(e, anon(0, 2, MMAP_ANYWHERE));
    assert_int_equal(top, e->mm->mmap_base - P(2));           /* top-down below mmap_base */
    assert_int_equal(place(e, anon(A, 2, MMAP_ANYWHERE)), A); /* a free hint is taken */
    assert_int_equal(place(e, anon(A, 1, MMAP_ANYWHERE)), top - P(1)); /* a taken one not */
    gva_t at;
    struct mmap_req r = anon(A + P(1), 1, MMAP_NOREPLACE);
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), -EEXIST);
    r.place = MMAP_FIXED;
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), 0);
    assert_int_equal(at, A + P(1));
    r.addr = A + 1;
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), -EINVAL);
    r.addr = 0x1000;
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), -EPERM);
    r.addr = USER_VA_END - P(1);
    r.len = P(2);
    assert_int_equal(mm_mmap_place(e->mm, &r, &at), -ENOMEM);
    gva_t low = place(e, anon(0, 1, MMAP_32BIT));
    assert_true(low >= 0x40000000ULL && low + P(1) <= 0x80000000ULL);
}

static void test_mmap_populates_when_asked_and_when_locked(void **state)
{
    struct env *e = *state;
    struct mmap_req r = anon(A, 3, MMAP_FIXED);
    r.populate = true;
    place(e, r);
    assert_int_equal(e->mm->stats.rss, 3);
    assert_int_equal(vm_fixture_task.faults.populate, 3);
    r = anon(A + P(8), 2, MMAP_FIXED);
    r.flags = VM_LOCKED;
    place(e, r);
    assert_int_equal(e->mm->stats.rss, 5);
    r = anon(A + P(16), 2, MMAP_FIXED);
    r.populate = true;
    r.flags = VM_NORESERVE; /* MAP_POPULATE | MAP_NORESERVE populates nothing */
    place(e, r);
    assert_int_equal(e->mm->stats.rss, 5);
    assert_int_equal(vm_fixture_task.faults.minor, 0);
}

static void test_mmap_lock_all_and_unlock_all(void **state)
{
    struct env *e = *state;
    place(e, anon(A, 2, MMAP_FIXED));
    assert_int_equal(mm_lock_all(e->mm, true), 0); /* on fault: nothing faulted in */
    assert_int_equal(e->mm->stats.rss, 0);
    assert_true(vma_lookup(&e->mm->vmas, A)->flags & VM_LOCKED);
    assert_int_equal(mm_lock_all(e->mm, false), 0);
    assert_int_equal(e->mm->stats.rss, 2);
    mm_unlock_all(e->mm);
    assert_false(vma_lookup(&e->mm->vmas, A)->flags & VM_LOCKED);
}

static void test_madvise_dontneed_with_a_hole_advises_the_mapped_parts(void **state)
{
    struct env *e = *state;
    place(e, anon(A, 2, MMAP_FIXED));
    place(e, anon(A + P(3), 1, MMAP_FIXED));
    for (int i = 0; i < 4; i++)
        if (i != 2)
            assert_int_equal(mm_fault(e->mm, A + P(i), ACCESS_WRITE, 0), 0);
    uint8_t vec[4];
    assert_int_equal(mm_mincore(e->mm, A, 2, vec), 0);
    assert_memory_equal(vec, ((uint8_t[]){1, 1}), 2);
    assert_int_equal(mm_mincore(e->mm, A, 4, vec), -ENOMEM); /* page 2 is a hole */
    assert_true(mm_advice_known(LINUX_MADV_DONTNEED));
    assert_false(mm_advice_known(999));
    assert_int_equal(mm_madvise(e->mm, A, A + P(4), LINUX_MADV_DONTNEED), -ENOMEM);
    assert_int_equal(e->mm->stats.rss, 0); /* both areas were advised */
    assert_int_equal(mm_mincore(e->mm, A + P(3), 1, vec), 0);
    assert_int_equal(vec[0], 0);
}

static void test_madvise_wipeonfork_refuses_shared_memory(void **state)
{
    struct env *e = *state;
    struct vfile *shm;
    assert_int_equal(vfile_shmem_create(&e->sys.pc, P(2), &shm), 0);
    struct mmap_req r = anon(A, 2, MMAP_FIXED);
    r.flags = VM_SHARED;
    r.file = shm;
    place(e, r);
    vfile_put(shm);
    assert_int_equal(mm_madvise(e->mm, A, A + P(2), LINUX_MADV_WIPEONFORK), -EINVAL);
    assert_int_equal(mm_madvise(e->mm, A, A + P(1), LINUX_MADV_DONTFORK), 0);
    assert_true(vma_lookup(&e->mm->vmas, A)->flags & VM_DONTCOPY);
    assert_false(vma_lookup(&e->mm->vmas, A + P(1))->flags & VM_DONTCOPY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
        T(test_mmap_places_as_linux),
        T(test_mmap_populates_when_asked_and_when_locked),
        T(test_mmap_lock_all_and_unlock_all),
        T(test_madvise_dontneed_with_a_hole_advises_the_mapped_parts),
        T(test_madvise_wipeonfork_refuses_shared_memory),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
