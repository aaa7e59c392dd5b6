/* The address-space tests' fixture, shared by test_mm.c, test_mm_protect.c and
 * test_mm_brk.c: a 64-frame pool with one address space and a temporary file of FILE_SIZE
 * bytes of 'a', the teardown that requires every frame but the zero page back, and helpers
 * that map and touch anonymous pages, read PTEs and check areas. */
#ifndef VMEMU_TESTS_MM_FIXTURE_H
#define VMEMU_TESTS_MM_FIXTURE_H

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

static inline int env_setup(void **state)
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

static inline int env_teardown(void **state)
{
    struct env *e = *state;

    return vm_fixture_release(&e->sys, e->mm, e->f, e->path, true);
}

static inline void map_anon(struct env *e, gva_t start, uint64_t pages, uint32_t prot)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, 0, VMA_ANON, NULL, 0, 0), 0);
}

/* Writes one byte into each page of [start, start + pages), faulting them in. */
static inline void touch(struct env *e, gva_t start, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i++)
        assert_int_equal(put_user_u32(e->mm, start + P(i), (uint32_t)i + 1), 0);
}

static inline pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

/* Checks that area i is [start, end) with protection prot. */
static inline void check_area(struct env *e, size_t i, gva_t start, gva_t end, uint32_t prot)
{
    assert_true(i < e->mm->vmas.n);
    assert_int_equal(e->mm->vmas.v[i].start, start);
    assert_int_equal(e->mm->vmas.v[i].end, end);
    assert_int_equal(e->mm->vmas.v[i].prot, prot);
}

#endif
