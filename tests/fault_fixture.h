/* The page-fault tests' fixture, shared by test_fault.c, test_fault_errors.c and
 * test_fault_mmu.c: a pool of 128 frames (8 for the out-of-memory tests) with one address
 * space and a temporary file of FILE_SIZE bytes of pattern(), the teardown that requires
 * every frame but the zero page back, and helpers that map areas, read PTEs, count present
 * pages and check frame bytes and the record of the last failed access. */
#ifndef VMEMU_TESTS_FAULT_FIXTURE_H
#define VMEMU_TESTS_FAULT_FIXTURE_H

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
static inline uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> PAGE_SHIFT) * 13 + 1);
}

static inline int env_init(void **state, uint64_t frames)
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
static inline int env_setup(void **state)
{
    return env_init(state, 128);
}

/* 8 frames: frame 0, the zero page and the PML4 leave 5. */
static inline int tiny_setup(void **state)
{
    return env_init(state, 8);
}

static inline int env_teardown(void **state)
{
    struct env *e = *state;

    /* Everything but the zero page must be back in the pool. */
    return vm_fixture_release(&e->sys, e->mm, e->f, e->path, true);
}

static inline struct fault_stats *fs(struct env *e)
{
    (void)e;
    return &vm_fixture_task.faults;
}

static inline void map_anon(struct env *e, gva_t start, uint64_t pages, uint32_t prot)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, 0, VMA_ANON, NULL, 0, 0), 0);
}

static inline void map_file(struct env *e, gva_t start, uint64_t pages, uint32_t prot,
                            uint32_t flags, uint64_t off, uint64_t file_end)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, flags, VMA_FILE, e->f, off, file_end), 0);
}

/* The PTE of va, 0 when its tables do not exist. */
static inline pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

static inline pte_t *ptep_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    assert_non_null(ptep);
    return ptep;
}

static inline void count_present(void *ctx, gva_t va, pte_t *ptep)
{
    (void)va;
    if (pte_present(*ptep))
        (*(unsigned *)ctx)++;
}

/* Present PTEs in [lo, hi). */
static inline unsigned present_in(struct env *e, gva_t lo, gva_t hi)
{
    unsigned n = 0;

    pt_for_each(&e->mm->pt, &e->sys.phys, lo, hi, count_present, &n);
    return n;
}

/* Checks that len bytes of frame pfn at in-page offset pg_off hold file offset file_off. */
static inline void check_file_bytes(struct env *e, pfn_t pfn, uint64_t pg_off, uint64_t file_off,
                                    uint64_t len)
{
    const uint8_t *p = (const uint8_t *)phys_hva(&e->sys.phys, pfn) + pg_off;

    for (uint64_t i = 0; i < len; i++)
        assert_int_equal(p[i], pattern(file_off + i));
}

static inline void check_zero_bytes(struct env *e, pfn_t pfn, uint64_t pg_off, uint64_t len)
{
    const uint8_t *p = (const uint8_t *)phys_hva(&e->sys.phys, pfn) + pg_off;

    for (uint64_t i = 0; i < len; i++)
        assert_int_equal(p[i], 0);
}

/* Checks the record of the last failed access. */
static inline void check_last_fault(struct env *e, gva_t va, enum access access, int signo,
                                    int code, enum fault_cause cause)
{
    assert_int_equal(e->mm->last_fault.va, va);
    assert_int_equal(e->mm->last_fault.access, access);
    assert_int_equal(e->mm->last_fault.signo, signo);
    assert_int_equal(e->mm->last_fault.code, code);
    assert_int_equal(e->mm->last_fault.cause, cause);
}

#endif
