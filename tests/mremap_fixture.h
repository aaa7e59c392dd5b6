/* The mm_remap tests' fixture, shared by test_mremap.c and test_mremap_move.c: a 64-frame
 * pool with one address space and a temporary file whose page i is filled with 'A' + i, the
 * teardown that requires every frame but the zero page back, and helpers that map, fill and
 * check pages, read PTEs and reverse maps, and call mm_remap expecting success or an error. */
#ifndef VMEMU_TESTS_MREMAP_FIXTURE_H
#define VMEMU_TESTS_MREMAP_FIXTURE_H

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
#include "vmemu/uaccess.h"
#include "vm_fixture.h"

#define P(n)       ((uint64_t)(n) << PAGE_SHIFT)
#define A          0x400000ULL   /* source area: third 2 MiB region of the first GiB */
#define B          0x40000000ULL /* FIXED destination: second GiB, same PML4 entry as A */
#define RW         (VM_READ | VM_WRITE)
#define NFRAMES    64
#define FILE_PAGES 8
#define MAYMOVE    MM_MREMAP_MAYMOVE
#define FIXED      MM_MREMAP_FIXED
#define DONTUNMAP  MM_MREMAP_DONTUNMAP

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
    char path[64];    /* temporary file: page i is filled with byte 'A' + i */
    struct vfile *f;  /* the test's own read-only reference on it */
};

static inline int env_setup(void **state)
{
    static struct env e;
    static uint8_t buf[P(FILE_PAGES)];

    memset(&e, 0, sizeof(e));
    for (unsigned i = 0; i < FILE_PAGES; i++)
        memset(buf + P(i), 'A' + i, PAGE_SIZE);
    if (vm_fixture_init(&e.sys, NFRAMES, &e.mm) != 0 ||
        vm_fixture_open_file(&e.sys, e.path, sizeof(e.path), "/tmp/test_mremap.XXXXXX", buf,
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

/* Maps pages of the test file from page `first` on. */
static inline void map_file(struct env *e, gva_t start, uint64_t pages, uint32_t prot,
                            uint32_t flags, uint64_t first)
{
    assert_int_equal(
        mm_map(e->mm, start, P(pages), prot, flags, VMA_FILE, e->f, P(first), UINT64_MAX), 0);
}

/* Writes seed + i at the start of page i of [start, start + pages), faulting them in. */
static inline void fill(struct env *e, gva_t start, uint64_t pages, uint64_t seed)
{
    for (uint64_t i = 0; i < pages; i++)
        assert_int_equal(put_user_u64(e->mm, start + P(i), seed + i), 0);
}

static inline void expect_filled(struct env *e, gva_t start, uint64_t pages, uint64_t seed)
{
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t v = 0;
        assert_int_equal(get_user_u64(e->mm, start + P(i), &v), 0);
        assert_int_equal(v, seed + i);
    }
}

static inline uint8_t read_byte(struct env *e, gva_t va)
{
    uint8_t b = 0xff;
    assert_int_equal(copy_from_user(e->mm, &b, va, 1), 0);
    return b;
}

static inline pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

static inline pfn_t pfn_at(struct env *e, gva_t va)
{
    pte_t pte = pte_at(e, va);

    return pte_present(pte) ? pte_pfn(pte) : 0;
}

/* The only reverse-map entry of pfn says (mm, va). */
static inline void expect_rmap(struct env *e, pfn_t pfn, gva_t va)
{
    const struct rmap *r = phys_frame(&e->sys.phys, pfn)->rmap;

    assert_non_null(r);
    assert_ptr_equal(r->mm, e->mm);
    assert_int_equal(r->va, va);
    assert_null(r->next);
}

/* A read at va is an invalid access: SIGSEGV, nothing mapped there. */
static inline void expect_segv(struct env *e, gva_t va)
{
    assert_int_equal(mm_fault(e->mm, va, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.signo, SIGSEGV);
    assert_int_equal(e->mm->last_fault.code, SEGV_MAPERR);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_UNMAPPED);
}

static inline gva_t remap(struct env *e, gva_t addr, uint64_t old_len, uint64_t new_len,
                          unsigned flags, gva_t new_addr)
{
    gva_t out = 1;

    assert_int_equal(mm_remap(e->mm, addr, old_len, new_len, flags, new_addr, &out), 0);
    return out;
}

/* mm_remap's error; *out must stay untouched. */
static inline int remap_err(struct env *e, gva_t addr, uint64_t old_len, uint64_t new_len,
                            unsigned flags, gva_t new_addr)
{
    gva_t out = 1;
    int rc = mm_remap(e->mm, addr, old_len, new_len, flags, new_addr, &out);

    assert_int_equal(out, 1);
    return rc;
}

static inline const struct vma *area(struct env *e, gva_t va)
{
    const struct vma *v = vma_lookup(&e->mm->vmas, va);

    assert_non_null(v);
    return v;
}

/* Where mm_get_unmapped_area puts a mapping of `pages` pages in an empty top of memory. */
static inline gva_t top_down(struct env *e, uint64_t pages)
{
    return e->mm->mmap_base - P(pages);
}

#endif
