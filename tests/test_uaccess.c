/* Unit tests of the copy helpers (src/mm/uaccess.c), vmemu's only way into guest memory:
 * copies across page boundaries, -EFAULT for unmapped, read-only and out-of-range
 * addresses (and what a copy that fails half-way has done), strncpy_from_user's length,
 * -ENAMETOOLONG and -EFAULT results, the fault-free reader used by reports, the 32/64-bit
 * helpers, clear_user, the code hook for frames that ran code, and the debugger's
 * uaccess_poke / uaccess_peek (PROT_NONE and read-only file pages, no fault counted). No
 * CPU: the helpers translate through mmu_translate_user() on a 64-frame pool. */
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

#include "vm_fixture.h"
#include "vmemu/mm.h"
#include "vmemu/mmu.h"
#include "vmemu/uaccess.h"

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
    if (vmsys_init(&e.sys, NFRAMES * PAGE_SIZE, 16, 4) != 0 || mm_create(&e.sys, &e.mm) != 0)
        return -1;
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    e.sys.charge = &vm_fixture_task;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    mm_destroy(e->mm);
    if (e->sys.phys.used != 1)
        return -1;
    vmsys_destroy(&e->sys);
    return 0;
}

static void map_anon(struct env *e, gva_t start, uint64_t pages, uint32_t prot)
{
    assert_int_equal(mm_map(e->mm, start, P(pages), prot, 0, VMA_ANON, NULL, 0, 0), 0);
}

/* The host address of guest byte va, which must be mapped already. */
static uint8_t *host_byte(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);

    assert_non_null(ptep);
    assert_true(pte_present(*ptep));
    return (uint8_t *)phys_hva(&e->sys.phys, pte_pfn(*ptep)) + (va & ~PAGE_MASK);
}

/* Frames the fake code hook was told about. */
struct hook_log {
    pfn_t pfns[4]; /* in order */
    unsigned n;    /* calls */
};

static void record_code(void *ctx, pfn_t pfn)
{
    struct hook_log *log = ctx;

    if (log->n < ARRAY_LEN(log->pfns))
        log->pfns[log->n] = pfn;
    log->n++;
}

/* Every counter a copy may move, to check that one moved none. */
struct snapshot {
    struct mm_stats stats; /* the mm's counters */
    uint64_t hits, misses; /* vmemu's TLB */
    uint64_t used;         /* frames in use */
};

static struct snapshot take(struct env *e)
{
    return (struct snapshot){e->mm->stats, e->sys.tlb.hits, e->sys.tlb.misses, e->sys.phys.used};
}

static void check_unchanged(struct env *e, const struct snapshot *s)
{
    struct snapshot now = take(e);

    assert_memory_equal(&now.stats, &s->stats, sizeof(now.stats));
    assert_int_equal(now.hits, s->hits);
    assert_int_equal(now.misses, s->misses);
    assert_int_equal(now.used, s->used);
}

/* ---- copy_to_user / copy_from_user ---- */

static void test_copy_user_across_page_boundary_round_trips(void **state)
{
    struct env *e = *state;
    uint8_t out[100], back[100];
    const gva_t va = A + P(1) - 50;

    for (int i = 0; i < 100; i++)
        out[i] = (uint8_t)(i * 3 + 1);
    map_anon(e, A, 2, RW);
    assert_int_equal(copy_to_user(e->mm, va, out, sizeof(out)), 0);
    assert_int_equal(vm_fixture_task.faults.anon, 2);
    assert_memory_equal(host_byte(e, va), out, 50);
    assert_memory_equal(host_byte(e, A + P(1)), out + 50, 50);
    assert_int_equal(copy_from_user(e->mm, back, va, sizeof(back)), 0);
    assert_memory_equal(back, out, sizeof(out));
    assert_int_equal(vm_fixture_task.faults.minor, 2);
    assert_int_equal(vm_fixture_task.fills, 0); /* copies are not CPU fills */
}

static void test_copy_from_user_untouched_page_reads_zero_page(void **state)
{
    struct env *e = *state;
    uint8_t buf[32];

    map_anon(e, A, 1, RW);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(copy_from_user(e->mm, buf, A + 100, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(vm_fixture_task.faults.zero_page, 1);
    assert_int_equal(e->mm->stats.rss, 0);
}

static void test_copy_from_user_unmapped_returns_efault(void **state)
{
    struct env *e = *state;
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    assert_int_equal(copy_from_user(e->mm, buf, 0x7000, sizeof(buf)), -EFAULT);
    assert_memory_equal(buf, want, sizeof(buf));
    /* A bad pointer given to the kernel is -EFAULT, not a signal: nothing is recorded. */
    assert_int_equal(e->mm->last_fault.cause, CAUSE_NONE);
    assert_int_equal(e->mm->last_fault.signo, 0);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
    assert_int_equal(copy_from_user(e->mm, buf, A, sizeof(buf)), -EFAULT);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
}

static void test_copy_to_user_read_only_returns_efault(void **state)
{
    struct env *e = *state;
    uint32_t v = 0xdeadbeef;

    map_anon(e, A, 1, VM_READ);
    assert_int_equal(copy_to_user(e->mm, A + 4, &v, sizeof(v)), -EFAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_NONE);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
    assert_int_equal(put_user_u32(e->mm, A, 1), -EFAULT);
    assert_int_equal(clear_user(e->mm, A, 1), -EFAULT);
    assert_int_equal(copy_from_user(e->mm, &v, A + 4, sizeof(v)), 0);
    assert_int_equal(v, 0);
}

static void test_copy_to_user_crossing_into_unmapped_page_copies_first_part(void **state)
{
    struct env *e = *state;
    const char src[16] = "0123456789abcdef";
    char back[8];

    map_anon(e, A, 1, RW);
    assert_int_equal(copy_to_user(e->mm, A + P(1) - 8, src, sizeof(src)), -EFAULT);
    /* The bytes before the unmapped page were written. */
    assert_int_equal(copy_from_user(e->mm, back, A + P(1) - 8, sizeof(back)), 0);
    assert_memory_equal(back, "01234567", 8);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
    assert_int_equal(vm_fixture_task.faults.anon, 1);
}

static void test_copy_from_user_crossing_into_unmapped_page_copies_first_part(void **state)
{
    struct env *e = *state;
    uint8_t buf[16];

    map_anon(e, A + P(1), 1, RW);
    assert_int_equal(copy_to_user(e->mm, A + P(1), "ABCDEFGH", 8), 0);
    memset(buf, 0xee, sizeof(buf));
    /* Mapped page first, then the unmapped one above it. */
    assert_int_equal(copy_from_user(e->mm, buf, A + P(2) - 4, sizeof(buf)), -EFAULT);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[3], 0);
    assert_int_equal(buf[4], 0xee);
    assert_int_equal(buf[15], 0xee);
    /* Unmapped page first: nothing is copied. */
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(copy_from_user(e->mm, buf, A + P(1) - 4, sizeof(buf)), -EFAULT);
    assert_int_equal(buf[0], 0xee);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
}

static void test_copy_user_range_past_user_end_returns_efault(void **state)
{
    struct env *e = *state;
    uint8_t buf[8];

    map_anon(e, USER_VA_END - P(1), 1, RW);
    assert_int_equal(copy_from_user(e->mm, buf, USER_VA_END - 4, sizeof(buf)), -EFAULT);
    assert_int_equal(copy_to_user(e->mm, USER_VA_END - 4, buf, sizeof(buf)), -EFAULT);
    assert_int_equal(copy_from_user(e->mm, buf, USER_VA_END, 1), -EFAULT);
    assert_int_equal(copy_from_user(e->mm, buf, UINT64_MAX - 2, sizeof(buf)), -EFAULT);
    /* Refused before any translation: nothing faulted in, nothing counted. */
    assert_int_equal(vm_fixture_task.faults.segv, 0);
    assert_int_equal(vm_fixture_task.faults.anon, 0);
    /* The last bytes of user space are fine. */
    assert_int_equal(copy_to_user(e->mm, USER_VA_END - 8, "lastpage", 8), 0);
}

static void test_copy_user_zero_length_touches_nothing(void **state)
{
    struct env *e = *state;
    uint8_t buf[1] = {9};

    assert_int_equal(copy_from_user(e->mm, buf, 0, 0), 0);
    assert_int_equal(copy_to_user(e->mm, USER_VA_END + 5, buf, 0), 0);
    assert_int_equal(clear_user(e->mm, 0x1000, 0), 0);
    assert_int_equal(buf[0], 9);
    assert_int_equal(vm_fixture_task.faults.segv, 0);
}

static void test_copy_user_uses_tlb_of_current_mm(void **state)
{
    struct env *e = *state;
    uint64_t v;

    map_anon(e, A, 1, RW);
    e->sys.current = e->mm;
    assert_int_equal(put_user_u64(e->mm, A, 5), 0);
    assert_int_equal(e->sys.tlb.misses, 1);
    assert_int_equal(get_user_u64(e->mm, A + 8, &v), 0);
    assert_int_equal(put_user_u64(e->mm, A + 16, 6), 0);
    assert_int_equal(e->sys.tlb.hits, 2);
    assert_int_equal(e->sys.tlb.misses, 1);
    assert_int_equal(v, 0);
}

static void test_copy_to_user_executed_frame_calls_code_hook(void **state)
{
    struct env *e = *state;
    struct hook_log log = {0};
    struct fill f;
    uint32_t v;

    map_anon(e, A, 1, RW | VM_EXEC);
    assert_int_equal(put_user_u32(e->mm, A, 0x90909090), 0);
    e->sys.phys.code_hook = record_code;
    e->sys.phys.code_ctx = &log;
    assert_int_equal(mmu_fill(e->mm, A, ACCESS_EXEC, &f), 0);
    assert_true(phys_frame(&e->sys.phys, f.pfn)->flags & FRAME_EXECUTED);
    /* Reads leave the translated code alone. */
    assert_int_equal(copy_from_user(e->mm, &v, A, sizeof(v)), 0);
    assert_int_equal(log.n, 0);
    /* A store announces the frame once. */
    assert_int_equal(put_user_u32(e->mm, A + 4, 0xc3), 0);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.pfns[0], f.pfn);
    assert_false(phys_frame(&e->sys.phys, f.pfn)->flags & FRAME_EXECUTED);
    assert_int_equal(put_user_u32(e->mm, A + 8, 0xc3), 0);
    assert_int_equal(log.n, 1);
}

/* ---- strncpy_from_user ---- */

static void test_strncpy_from_user_returns_length(void **state)
{
    struct env *e = *state;
    char dst[64];

    map_anon(e, A, 2, RW);
    assert_int_equal(copy_to_user(e->mm, A, "hello", 6), 0);
    memset(dst, 'x', sizeof(dst));
    assert_int_equal(strncpy_from_user(e->mm, dst, A, sizeof(dst)), 5);
    assert_string_equal(dst, "hello");
    /* The empty string. */
    assert_int_equal(strncpy_from_user(e->mm, dst, A + 5, sizeof(dst)), 0);
    assert_string_equal(dst, "");
    /* Across a page boundary. */
    assert_int_equal(copy_to_user(e->mm, A + P(1) - 3, "boundary", 9), 0);
    assert_int_equal(strncpy_from_user(e->mm, dst, A + P(1) - 3, sizeof(dst)), 8);
    assert_string_equal(dst, "boundary");
}

static void test_strncpy_from_user_too_long_returns_enametoolong(void **state)
{
    struct env *e = *state;
    char dst[8];

    map_anon(e, A, 1, RW);
    assert_int_equal(copy_to_user(e->mm, A, "hello", 6), 0);
    memset(dst, 'x', sizeof(dst));
    assert_int_equal(strncpy_from_user(e->mm, dst, A, 3), -ENAMETOOLONG);
    assert_string_equal(dst, "he"); /* terminated inside the buffer */
    assert_int_equal(dst[3], 'x');
    assert_int_equal(strncpy_from_user(e->mm, dst, A, 0), -ENAMETOOLONG);
    assert_int_equal(dst[0], 'h'); /* max 0: dst is not touched */
    /* 100 non-NUL bytes in a 50-byte buffer: 49 copied and terminated. */
    char as[100], got[50];
    memset(as, 'a', sizeof(as));
    assert_int_equal(copy_to_user(e->mm, A, as, sizeof(as)), 0);
    assert_int_equal(strncpy_from_user(e->mm, got, A, sizeof(got)), -ENAMETOOLONG);
    assert_int_equal(strlen(got), 49);
}

static void test_strncpy_from_user_unmapped_returns_efault(void **state)
{
    struct env *e = *state;
    char dst[16] = "untouched";

    assert_int_equal(strncpy_from_user(e->mm, dst, A, sizeof(dst)), -EFAULT);
    assert_string_equal(dst, "");
    assert_int_equal(e->mm->last_fault.cause, CAUSE_NONE);
    assert_int_equal(strncpy_from_user(e->mm, dst, USER_VA_END, sizeof(dst)), -EFAULT);
}

static void test_strncpy_from_user_ending_before_unmapped_page_returns_length(void **state)
{
    struct env *e = *state;
    char dst[64];

    map_anon(e, A, 1, RW);
    /* "tail" and its NUL fill the last five bytes of the only mapped page. */
    assert_int_equal(copy_to_user(e->mm, A + P(1) - 5, "tail", 5), 0);
    assert_int_equal(strncpy_from_user(e->mm, dst, A + P(1) - 5, sizeof(dst)), 4);
    assert_string_equal(dst, "tail");
    assert_int_equal(vm_fixture_task.faults.segv, 0);
}

static void test_strncpy_from_user_running_into_unmapped_page_returns_efault(void **state)
{
    struct env *e = *state;
    char dst[64];

    map_anon(e, A, 1, RW);
    assert_int_equal(copy_to_user(e->mm, A + P(1) - 4, "tail", 4), 0); /* no NUL */
    assert_int_equal(strncpy_from_user(e->mm, dst, A + P(1) - 4, sizeof(dst)), -EFAULT);
    assert_string_equal(dst, "tail"); /* what was read, terminated */
    assert_int_equal(vm_fixture_task.faults.segv, 0);
}

/* Regression (src/mm/uaccess.c): a string of exactly max-1 bytes fits in dst with its NUL,
 * and the contract says strncpy_from_user copies "at most max-1 bytes" and fails only
 * "when no NUL is found in max-1 bytes", but str_fn checks for room before looking at the
 * byte, so the NUL at index max-1 is refused and the longest string accepted is max-2
 * bytes (a 4095-byte path fails with ENAMETOOLONG where Linux accepts it). */
static void test_strncpy_from_user_string_of_max_minus_one_fits(void **state)
{
    struct env *e = *state;
    char dst[4];

    map_anon(e, A, 1, RW);
    assert_int_equal(copy_to_user(e->mm, A, "abc", 4), 0);
    assert_int_equal(strncpy_from_user(e->mm, dst, A, sizeof(dst)), 3);
    assert_string_equal(dst, "abc");
}

/* ---- fault-free reads, word helpers, clear_user ---- */

static void test_copy_from_user_nofault_reads_present_pages_only(void **state)
{
    struct env *e = *state;
    static uint8_t buf[3 * PAGE_SIZE];

    map_anon(e, A, 4, RW);
    e->sys.current = e->mm;
    assert_int_equal(put_user_u64(e->mm, A + 10, 0x1122334455667788ULL), 0);
    assert_int_equal(put_user_u64(e->mm, A + P(1), 0xaabbccddeeff0011ULL), 0);
    uint64_t v;
    assert_int_equal(get_user_u64(e->mm, A + P(2), &v), 0); /* zero page: present */
    struct snapshot s = take(e);

    memset(buf, 0xee, sizeof(buf));
    /* Pages 0, 1 (written) and 2 (zero page) are present, page 3 is not. */
    assert_int_equal(copy_from_user_nofault(e->mm, buf, A + 10, P(4)), 3 * PAGE_SIZE - 10);
    uint64_t w;
    memcpy(&w, buf, sizeof(w));
    assert_int_equal(w, 0x1122334455667788ULL);
    memcpy(&w, buf + PAGE_SIZE - 10, sizeof(w));
    assert_int_equal(w, 0xaabbccddeeff0011ULL);
    assert_int_equal(buf[2 * PAGE_SIZE], 0);
    assert_int_equal(buf[3 * PAGE_SIZE - 11], 0);
    assert_int_equal(copy_from_user_nofault(e->mm, buf, A + P(3), 8), 0);
    assert_int_equal(copy_from_user_nofault(e->mm, buf, 0x1000, 8), 0);
    assert_int_equal(copy_from_user_nofault(e->mm, buf, USER_VA_END, 8), 0);
    assert_int_equal(copy_from_user_nofault(e->mm, buf, A + 3, 5), 5);
    check_unchanged(e, &s);
    assert_int_equal(pte_none(*pt_lookup(&e->mm->pt, &e->sys.phys, A + P(3))), true);
}

static void test_put_get_user_round_trip_values(void **state)
{
    struct env *e = *state;
    uint64_t v = 0;

    map_anon(e, A, 2, RW);
    assert_int_equal(put_user_u64(e->mm, A + P(1) - 4, 0x0102030405060708ULL), 0);
    assert_int_equal(get_user_u64(e->mm, A + P(1) - 4, &v), 0);
    assert_int_equal(v, 0x0102030405060708ULL);
    /* Little-endian, split over the two pages. */
    assert_int_equal(*host_byte(e, A + P(1) - 4), 0x08);
    assert_int_equal(*host_byte(e, A + P(1)), 0x04);
    assert_int_equal(put_user_u32(e->mm, A, 0xcafef00d), 0);
    assert_int_equal(get_user_u64(e->mm, A, &v), 0);
    assert_int_equal(v, 0xcafef00dULL);
    v = 42;
    assert_int_equal(get_user_u64(e->mm, A + P(2), &v), -EFAULT);
    assert_int_equal(v, 42);
    assert_int_equal(put_user_u64(e->mm, A + P(2) - 4, 1), -EFAULT);
}

static void test_clear_user_zeroes_range_across_pages(void **state)
{
    struct env *e = *state;
    static uint8_t ones[2 * PAGE_SIZE];
    uint8_t back[40];

    map_anon(e, A, 2, RW);
    memset(ones, 0xff, sizeof(ones));
    assert_int_equal(copy_to_user(e->mm, A, ones, sizeof(ones)), 0);
    assert_int_equal(clear_user(e->mm, A + P(1) - 16, 32), 0);
    assert_int_equal(copy_from_user(e->mm, back, A + P(1) - 20, sizeof(back)), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(back[i], (i < 4 || i >= 36) ? 0xff : 0);
}

/* ---- uaccess_poke / uaccess_peek (the debugger's and the heap checker's access) ---- */

/* Byte i of the test file of the poke test: differs from byte to byte. */
static uint8_t file_byte(uint64_t i)
{
    return (uint8_t)(i * 5 + 3);
}

static void test_uaccess_peek_prot_none_page_reads_without_fault(void **state)
{
    struct env *e = *state;
    const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t back[8], zeros[8] = {0}, dummy;

    map_anon(e, A, 2, RW);
    assert_int_equal(copy_to_user(e->mm, A + 100, data, sizeof(data)), 0);
    assert_int_equal(mm_protect(e->mm, A, P(2), 0), 0);
    struct fault_stats before = vm_fixture_task.faults;
    uint64_t used = e->sys.phys.used;
    /* The touched page is read as it is; the untouched one reads as zeros through the
     * zero page, which costs no frame. */
    assert_int_equal(uaccess_peek(e->mm, back, A + 100, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(data));
    assert_int_equal(uaccess_peek(e->mm, back, A + P(1) + 8, sizeof(back)), 0);
    assert_memory_equal(back, zeros, sizeof(zeros));
    assert_memory_equal(&vm_fixture_task.faults, &before, sizeof(before));
    assert_int_equal(e->sys.phys.used, used);
    /* The protection holds for everyone else. */
    assert_int_equal(copy_from_user(e->mm, &dummy, A + 100, 1), -EFAULT);
    assert_int_equal(copy_from_user(e->mm, &dummy, A + P(1) + 8, 1), -EFAULT);
}

static void test_uaccess_poke_read_only_file_page_writes_private_copy(void **state)
{
    struct env *e = *state;
    static uint8_t buf[2 * PAGE_SIZE];
    const uint8_t patch[4] = {0xde, 0xad, 0xbe, 0xef};
    char path[64];
    struct vfile *f;
    uint8_t back[12], dummy = 0;

    for (uint64_t i = 0; i < sizeof(buf); i++)
        buf[i] = file_byte(i);
    assert_int_equal(vm_fixture_open_file(&e->sys, path, sizeof(path), "/tmp/test_uaccess.XXXXXX",
                                          buf, sizeof(buf), &f),
                     0);
    assert_int_equal(mm_map(e->mm, A, P(2), VM_READ, 0, VMA_FILE, f, 0, UINT64_MAX), 0);
    assert_int_equal(copy_from_user(e->mm, back, A + 96, sizeof(back)), 0);
    assert_int_equal(vm_fixture_task.faults.file_major, 1);
    pfn_t cached = pagecache_find(&e->sys.pc, f, 0);
    assert_int_not_equal(cached, 0);
    assert_ptr_equal(host_byte(e, A), phys_hva(&e->sys.phys, cached));
    struct fault_stats before = vm_fixture_task.faults;

    assert_int_equal(uaccess_poke(e->mm, A + 100, patch, sizeof(patch)), 0);
    /* The page cache's frame keeps the file's bytes; the process maps a copy of its own
     * with the patch and the file's bytes around it. */
    const uint8_t *cache = phys_hva(&e->sys.phys, cached);
    for (int i = 96; i < 108; i++)
        assert_int_equal(cache[i], file_byte((uint64_t)i));
    assert_ptr_not_equal(host_byte(e, A), cache);
    assert_int_equal(pagecache_find(&e->sys.pc, f, 0), cached);
    assert_int_equal(uaccess_peek(e->mm, back, A + 96, sizeof(back)), 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal(back[i], i >= 4 && i < 8 ? patch[i - 4] : file_byte(96 + (uint64_t)i));
    /* No fault was counted and the page is still read-only for the guest. */
    assert_memory_equal(&vm_fixture_task.faults, &before, sizeof(before));
    assert_int_equal(copy_to_user(e->mm, A + 100, &dummy, 1), -EFAULT);

    assert_int_equal(mm_unmap(e->mm, A, P(2)), 0);
    vfile_put(f);
    unlink(path);
}

static void test_uaccess_poke_peek_across_page_boundary_round_trips(void **state)
{
    struct env *e = *state;
    uint8_t out[100], back[100];
    const gva_t va = A + P(1) - 50;

    for (int i = 0; i < 100; i++)
        out[i] = (uint8_t)(200 - i);
    map_anon(e, A, 2, VM_READ);
    assert_int_equal(uaccess_poke(e->mm, va, out, sizeof(out)), 0);
    assert_memory_equal(host_byte(e, va), out, 50);
    assert_memory_equal(host_byte(e, A + P(1)), out + 50, 50);
    assert_int_equal(uaccess_peek(e->mm, back, va, sizeof(back)), 0);
    assert_memory_equal(back, out, sizeof(out));
    /* Two new frames, and no fault of the guest counted for them. */
    assert_int_equal(vm_fixture_task.faults.anon, 0);
    assert_int_equal(vm_fixture_task.faults.minor, 0);
    assert_int_equal(e->sys.phys.used, 1 + 2 + 4); /* zero page, 2 frames, 4 table pages */
}

static void test_uaccess_poke_peek_outside_every_area_returns_efault(void **state)
{
    struct env *e = *state;
    uint8_t out[16], back[16];
    struct snapshot s;

    memset(out, 0x5a, sizeof(out));
    memset(back, 0x11, sizeof(back));
    s = take(e);
    assert_int_equal(uaccess_poke(e->mm, A, out, sizeof(out)), -EFAULT);
    assert_int_equal(uaccess_peek(e->mm, back, A, sizeof(back)), -EFAULT);
    assert_int_equal(uaccess_peek(e->mm, back, USER_VA_END - 8, sizeof(back)), -EFAULT);
    check_unchanged(e, &s);
    assert_int_equal(back[0], 0x11);
    /* A range running out of its area: -EFAULT, the part in the area is copied (page by
     * page, as copy_to_user). */
    map_anon(e, A, 1, RW);
    assert_int_equal(uaccess_poke(e->mm, A + P(1) - 8, out, sizeof(out)), -EFAULT);
    assert_memory_equal(host_byte(e, A + P(1) - 8), out, 8);
    assert_int_equal(uaccess_peek(e->mm, back, A + P(1) - 8, sizeof(back)), -EFAULT);
    assert_memory_equal(back, out, 8);
    assert_int_equal(back[8], 0x11);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_copy_user_across_page_boundary_round_trips),
        ENV_TEST(test_copy_from_user_untouched_page_reads_zero_page),
        ENV_TEST(test_copy_from_user_unmapped_returns_efault),
        ENV_TEST(test_copy_to_user_read_only_returns_efault),
        ENV_TEST(test_copy_to_user_crossing_into_unmapped_page_copies_first_part),
        ENV_TEST(test_copy_from_user_crossing_into_unmapped_page_copies_first_part),
        ENV_TEST(test_copy_user_range_past_user_end_returns_efault),
        ENV_TEST(test_copy_user_zero_length_touches_nothing),
        ENV_TEST(test_copy_user_uses_tlb_of_current_mm),
        ENV_TEST(test_copy_to_user_executed_frame_calls_code_hook),
        ENV_TEST(test_strncpy_from_user_returns_length),
        ENV_TEST(test_strncpy_from_user_too_long_returns_enametoolong),
        ENV_TEST(test_strncpy_from_user_unmapped_returns_efault),
        ENV_TEST(test_strncpy_from_user_ending_before_unmapped_page_returns_length),
        ENV_TEST(test_strncpy_from_user_running_into_unmapped_page_returns_efault),
        ENV_TEST(test_copy_from_user_nofault_reads_present_pages_only),
        ENV_TEST(test_put_get_user_round_trip_values),
        ENV_TEST(test_clear_user_zeroes_range_across_pages),
        ENV_TEST(test_strncpy_from_user_string_of_max_minus_one_fits),
        ENV_TEST(test_uaccess_peek_prot_none_page_reads_without_fault),
        ENV_TEST(test_uaccess_poke_read_only_file_page_writes_private_copy),
        ENV_TEST(test_uaccess_poke_peek_across_page_boundary_round_trips),
        ENV_TEST(test_uaccess_poke_peek_outside_every_area_returns_efault),
    };
#undef ENV_TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    return failed;
}
