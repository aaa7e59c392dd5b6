/* Tests of src/debug/backtrace.c on hand-built guest stacks. The symbols are the test
 * executable's own (symtab_load of /proc/self/exe at its load bias), so three functions of
 * this file have known names, starts and sizes in an executable section; the guest address
 * space maps anonymous memory at the same addresses and the tests write there the bytes
 * the walk looks at (prologues, call instructions before return addresses), and a stack
 * area with frames, frame pointers and stale words. */
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm_fixture.h"
#include "vmemu/backtrace.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"
#include "vmemu/vma.h"

#define RWX        (VM_READ | VM_WRITE | VM_EXEC)
#define RW         (VM_READ | VM_WRITE)
#define STACK_BASE 0x7ff000000000ULL /* the guest stack area: 4 pages */
#define STACK_LEN  (4 * PAGE_SIZE)
#define SP0        (STACK_BASE + PAGE_SIZE) /* rsp of the innermost frame */
#define CALL_AT    32                       /* offset of the return addresses in the functions */

/* Three functions of this executable: big enough that offset CALL_AT lies inside each. */
int bt_test_inner(int x);
int bt_test_mid(int x);
int bt_test_outer(int x);
__attribute__((noinline)) int bt_test_inner(int x)
{
    volatile int acc = x;

    for (int i = 0; i < x; i++)
        acc += i * 3 + (acc >> 2);
    return acc;
}
__attribute__((noinline)) int bt_test_mid(int x)
{
    volatile int acc = x;

    for (int i = 0; i < x; i++)
        acc += i * 5 + (acc >> 3);
    return acc + bt_test_inner(x);
}
__attribute__((noinline)) int bt_test_outer(int x)
{
    volatile int acc = x;

    for (int i = 0; i < x; i++)
        acc += i * 7 + (acc >> 1);
    return acc + bt_test_mid(x);
}

struct env {
    struct vmsys sys;        /* frame pool */
    struct mm *mm;           /* the guest address space */
    struct symtab *syms;     /* this executable's symbols */
    gva_t inner, mid, outer; /* the functions' addresses */
};

static int first_object_bias(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(gva_t *)data = (gva_t)info->dlpi_addr;
    return 1;
}

/* Maps one RWX page at each function's page (merged or not, the bytes are ours). */
static void map_code(struct env *e, gva_t fn)
{
    gva_t page = PAGE_DOWN(fn);

    if (vma_lookup(&e->mm->vmas, page) == NULL)
        assert_int_equal(mm_map(e->mm, page, PAGE_SIZE, RWX, 0, VMA_ANON, NULL, 0, 0), 0);
    if (vma_lookup(&e->mm->vmas, fn + 64) == NULL)
        assert_int_equal(mm_map(e->mm, PAGE_DOWN(fn + 64), PAGE_SIZE, RWX, 0, VMA_ANON, NULL, 0, 0),
                         0);
}

static int setup(void **state)
{
    static struct env e;
    gva_t bias = 0;

    memset(&e, 0, sizeof(e));
    if (vm_fixture_init(&e.sys, 64, &e.mm) != 0)
        return -1;
    dl_iterate_phdr(first_object_bias, &bias);
    e.syms = symtab_load("/proc/self/exe", bias);
    if (e.syms == NULL)
        return -1;
    e.inner = (gva_t)(uintptr_t)&bt_test_inner;
    e.mid = (gva_t)(uintptr_t)&bt_test_mid;
    e.outer = (gva_t)(uintptr_t)&bt_test_outer;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    symtab_free(e->syms);
    mm_destroy(e->mm);
    vmsys_destroy(&e->sys);
    return 0;
}

/* A fresh address space for each test: the code pages and the stack area. */
static int before(void **state)
{
    struct env *e = *state;

    mm_destroy(e->mm);
    if (mm_create(&e->sys, &e->mm) != 0)
        return -1;
    map_code(e, e->inner);
    map_code(e, e->mid);
    map_code(e, e->outer);
    return mm_map(e->mm, STACK_BASE, STACK_LEN, RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0) == 0 ? 0
                                                                                              : -1;
}

static void put(struct env *e, gva_t va, const void *bytes, size_t n)
{
    assert_int_equal(copy_to_user(e->mm, va, bytes, n), 0);
}

static void put_word(struct env *e, gva_t va, uint64_t v)
{
    put(e, va, &v, sizeof(v));
}

/* The frame-pointer prologue at fn (push rbp; mov rbp, rsp). */
static void put_prologue(struct env *e, gva_t fn)
{
    static const uint8_t prologue[] = {0x55, 0x48, 0x89, 0xe5};

    put(e, fn, prologue, sizeof(prologue));
}

/* A frameless start at fn (sub rsp, 0x28). */
static void put_frameless(struct env *e, gva_t fn)
{
    static const uint8_t sub[] = {0x48, 0x83, 0xec, 0x28};

    put(e, fn, sub, sizeof(sub));
}

/* `call target` (e8 rel32) ending at ret. */
static void put_call(struct env *e, gva_t ret, gva_t target)
{
    uint8_t b[5] = {0xe8};
    int32_t rel = (int32_t)(int64_t)(target - ret);

    memcpy(b + 1, &rel, sizeof(rel));
    put(e, ret - 5, b, sizeof(b));
}

/* Bytes before ret that are no call: nops. */
static void put_no_call(struct env *e, gva_t ret)
{
    static const uint8_t nops[7] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};

    put(e, ret - sizeof(nops), nops, sizeof(nops));
}

static void test_backtrace_collect_frame_pointer_chain_follows_rbp(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES], fp1 = SP0 + 0x40, fp2 = SP0 + 0x100;
    int n;

    put_prologue(e, e->inner);
    put_prologue(e, e->mid);
    put_prologue(e, e->outer);
    put_call(e, e->mid + CALL_AT, e->inner);
    put_call(e, e->outer + CALL_AT, e->mid);
    /* a return-address-looking word below fp1 that the chain must step over */
    put_call(e, e->outer + CALL_AT + 8, e->outer);
    put_word(e, SP0 + 8, e->outer + CALL_AT + 8);
    put_word(e, fp1, fp2);
    put_word(e, fp1 + 8, e->mid + CALL_AT);
    put_word(e, fp2, 0); /* the outermost frame's mark */
    put_word(e, fp2 + 8, e->outer + CALL_AT);
    n = backtrace_collect(e->mm, e->syms, e->inner + 16, SP0, fp1, pcs, BT_MAX_FRAMES);
    assert_int_equal(n, 3);
    assert_int_equal(pcs[0], e->inner + 16);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
    assert_int_equal(pcs[2], e->outer + CALL_AT);
}

static void test_backtrace_collect_frameless_scan_skips_words_without_call(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put_frameless(e, e->inner);
    put_frameless(e, e->mid);
    put_frameless(e, e->outer);
    put_call(e, e->mid + CALL_AT, e->inner);
    put_call(e, e->outer + CALL_AT, e->mid);
    put_no_call(e, e->inner + 48);
    put_word(e, SP0, 0x1234);            /* not code */
    put_word(e, SP0 + 8, e->inner + 48); /* code, but no call before it */
    put_word(e, SP0 + 0x30, e->mid + CALL_AT);
    put_word(e, SP0 + 0x38, STACK_BASE + 8); /* a stack address */
    put_word(e, SP0 + 0x80, e->outer + CALL_AT);
    /* rbp holds data (frameless code uses it freely): it is not followed */
    n = backtrace_collect(e->mm, e->syms, e->inner + 16, SP0, 0x5, pcs, BT_MAX_FRAMES);
    assert_int_equal(n, 3);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
    assert_int_equal(pcs[2], e->outer + CALL_AT);
}

static void test_backtrace_collect_scan_prefers_direct_call_to_callee(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put_frameless(e, e->inner);
    put_frameless(e, e->mid);
    /* a stale return address of an earlier call of mid to outer, below the real one */
    put_call(e, e->mid + CALL_AT + 8, e->outer);
    put_call(e, e->mid + CALL_AT, e->inner);
    put_word(e, SP0 + 0x10, e->mid + CALL_AT + 8);
    put_word(e, SP0 + 0x28, e->mid + CALL_AT);
    n = backtrace_collect(e->mm, e->syms, e->inner + 16, SP0, 0, pcs, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
}

static void test_backtrace_collect_indirect_call_is_a_return(void **state)
{
    struct env *e = *state;
    static const uint8_t call_rip_mem[] = {0xff, 0x15, 0x10, 0x00, 0x00, 0x00}; /* call [rip+16] */
    static const uint8_t jmp_rip_mem[] = {0xff, 0x25, 0x10, 0x00, 0x00, 0x00};  /* jmp [rip+16] */
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put_frameless(e, e->inner);
    put(e, e->mid + 40 - sizeof(jmp_rip_mem), jmp_rip_mem, sizeof(jmp_rip_mem));
    put(e, e->mid + CALL_AT - sizeof(call_rip_mem), call_rip_mem, sizeof(call_rip_mem));
    put_word(e, SP0 + 0x8, e->mid + 40); /* after a jmp: no return address */
    put_word(e, SP0 + 0x18, e->mid + CALL_AT);
    n = backtrace_collect(e->mm, e->syms, e->inner + 16, SP0, 0, pcs, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
}

/* A memo remembers where a frameless frame's return address was and takes it from there
 * first: a stale return address below it, which the scan would take, is passed over; where
 * the word remembered is no longer a return address, the scan finds the new place. */
/* A walk from inner+16 at SP0 with memo (NULL: none) finds `frames` frames, the last one
 * `last`. */
static void expect_memo_walk(struct env *e, struct bt_memo *memo, int frames, gva_t last)
{
    gva_t pcs[BT_MAX_FRAMES];

    assert_int_equal(
        backtrace_collect_memo(e->mm, e->syms, memo, e->inner + 16, SP0, 0, pcs, frames), frames);
    assert_int_equal(pcs[frames - 1], last);
}

/* A start the prologue reader stops at: mov rax, [rdi] (a memory operand). */
static const uint8_t load_rdi[] = {0x48, 0x8b, 0x07};

/* A prologue with register moves, a test and a branch between its pushes (as gcc -O2
 * writes them) is read to its sub rsp: the return address is taken at rsp + 24, not the
 * stale one below it that a scan would take. */
static void test_backtrace_collect_reads_pushes_between_register_moves(void **state)
{
    struct env *e = *state;
    static const uint8_t prologue[] = {
        0x48, 0x85, 0xf6,       /* test rsi, rsi */
        0x74, 0x10,             /* je +16 */
        0x41, 0x55,             /* push r13 */
        0x48, 0x89, 0xf1,       /* mov rcx, rsi */
        0x41, 0x54,             /* push r12 */
        0x48, 0x83, 0xec, 0x08, /* sub rsp, 8 */
    };
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put(e, e->inner, prologue, sizeof(prologue));
    put_call(e, e->mid + CALL_AT, e->inner);
    put_call(e, e->mid + CALL_AT + 8, e->inner);
    put_word(e, SP0 + 8, e->mid + CALL_AT + 8); /* stale */
    put_word(e, SP0 + 24, e->mid + CALL_AT);
    n = backtrace_collect(e->mm, e->syms, e->inner + sizeof(prologue), SP0, 0, pcs, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
}

/* Nothing is learned above a frame the scan found through a call that may not enter its
 * function (an indirect one): a place learned there would be wrong whenever that frame is.
 * Above a frame found for sure, it is. */
static void test_backtrace_collect_memo_learns_only_above_sure_frames(void **state)
{
    struct env *e = *state;
    static const uint8_t call_rip_mem[] = {0xff, 0x15, 0x10, 0x00, 0x00, 0x00}; /* call [rip+16] */
    struct bt_memo *memo = backtrace_memo_new();

    assert_non_null(memo);
    put(e, e->inner, load_rdi, sizeof(load_rdi));
    put(e, e->mid, load_rdi, sizeof(load_rdi));
    put(e, e->mid + CALL_AT - sizeof(call_rip_mem), call_rip_mem, sizeof(call_rip_mem));
    put_call(e, e->outer + CALL_AT, e->mid);
    put_call(e, e->outer + CALL_AT + 8, e->mid); /* an earlier call of mid from outer */
    put_word(e, SP0 + 0x18, e->mid + CALL_AT);
    put_word(e, SP0 + 0x40, e->outer + CALL_AT);
    expect_memo_walk(e, memo, 3, e->outer + CALL_AT);
    /* mid's place was not learned: with a stale word below it, the walk is the scan's */
    put_word(e, SP0 + 0x30, e->outer + CALL_AT + 8);
    expect_memo_walk(e, memo, 3, e->outer + CALL_AT + 8);
    /* mid entered from another place, found for sure (a direct call of inner before its
     * return address; the memo keeps what it saw of code, which does not change): learned */
    put_word(e, SP0 + 0x30, 0);
    put_call(e, e->mid + CALL_AT + 16, e->inner);
    put_word(e, SP0 + 0x18, e->mid + CALL_AT + 16);
    expect_memo_walk(e, memo, 3, e->outer + CALL_AT);
    put_word(e, SP0 + 0x30, e->outer + CALL_AT + 8);
    expect_memo_walk(e, memo, 3, e->outer + CALL_AT);
    backtrace_memo_free(memo);
}

static void test_backtrace_collect_memo_takes_the_place_learned(void **state)
{
    struct env *e = *state;
    struct bt_memo *memo = backtrace_memo_new();

    assert_non_null(memo);
    put(e, e->inner, load_rdi, sizeof(load_rdi));
    put_call(e, e->mid + CALL_AT, e->inner);
    put_call(e, e->mid + CALL_AT + 8, e->inner); /* an earlier call of inner from mid */
    put_word(e, SP0 + 0x28, e->mid + CALL_AT);
    expect_memo_walk(e, memo, 2, e->mid + CALL_AT);
    /* a stale word of the earlier call, below: the scan takes it, the memo does not */
    put_word(e, SP0 + 0x10, e->mid + CALL_AT + 8);
    expect_memo_walk(e, NULL, 2, e->mid + CALL_AT + 8);
    expect_memo_walk(e, memo, 2, e->mid + CALL_AT);
    /* the place remembered holds data now: the scan decides, and is remembered */
    put_word(e, SP0 + 0x10, 0);
    put_word(e, SP0 + 0x28, 0x1234);
    put_word(e, SP0 + 0x40, e->mid + CALL_AT);
    expect_memo_walk(e, memo, 2, e->mid + CALL_AT);
    put_word(e, SP0 + 0x10, e->mid + CALL_AT + 8);
    expect_memo_walk(e, memo, 2, e->mid + CALL_AT);
    backtrace_memo_free(memo);
}

static void test_backtrace_collect_at_function_entry_takes_rsp(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put_prologue(e, e->inner);
    put_call(e, e->mid + CALL_AT, e->inner);
    put_call(e, e->outer + CALL_AT, e->inner); /* a decoy further up that also fits */
    put_word(e, SP0, e->mid + CALL_AT);
    put_word(e, SP0 + 0x20, e->outer + CALL_AT);
    /* rbp is still the caller's: following it first would skip mid */
    put_word(e, SP0 + 0x18, SP0 + 0x100);
    n = backtrace_collect(e->mm, e->syms, e->inner, SP0, SP0 + 0x18, pcs, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[0], e->inner);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
}

static void test_backtrace_collect_rsp_outside_stack_returns_rip_only(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES];

    assert_int_equal(backtrace_collect(e->mm, e->syms, e->inner + 16, 0x10000, 0, pcs, 4), 1);
    assert_int_equal(pcs[0], e->inner + 16);
    assert_int_equal(backtrace_collect(e->mm, e->syms, e->inner + 16, SP0, 0, pcs, 0), 0);
}

static void test_backtrace_collect_rsp_in_guard_gap_scans_from_stack_start(void **state)
{
    struct env *e = *state;
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    put_frameless(e, e->inner);
    put_call(e, e->mid + CALL_AT, e->inner);
    put_word(e, STACK_BASE + 0x10, e->mid + CALL_AT);
    n = backtrace_collect(e->mm, e->syms, e->inner + 16, STACK_BASE - 0x40, 0, pcs, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pcs[1], e->mid + CALL_AT);
}

static void test_backtrace_format_names_symbol_and_offset(void **state)
{
    struct env *e = *state;
    char buf[128], want[128];

    backtrace_format(e->syms, e->mid + CALL_AT, buf, sizeof(buf));
    snprintf(want, sizeof(want), "0x%llx bt_test_mid+%d", (unsigned long long)(e->mid + CALL_AT),
             CALL_AT);
    assert_string_equal(buf, want);
    backtrace_format(e->syms, e->outer, buf, sizeof(buf));
    snprintf(want, sizeof(want), "0x%llx bt_test_outer", (unsigned long long)e->outer);
    assert_string_equal(buf, want);
    backtrace_format(NULL, 0x1234, buf, sizeof(buf));
    assert_string_equal(buf, "0x1234");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_backtrace_collect_frame_pointer_chain_follows_rbp, before),
        cmocka_unit_test_setup(test_backtrace_collect_frameless_scan_skips_words_without_call,
                               before),
        cmocka_unit_test_setup(test_backtrace_collect_scan_prefers_direct_call_to_callee, before),
        cmocka_unit_test_setup(test_backtrace_collect_indirect_call_is_a_return, before),
        cmocka_unit_test_setup(test_backtrace_collect_reads_pushes_between_register_moves, before),
        cmocka_unit_test_setup(test_backtrace_collect_memo_learns_only_above_sure_frames, before),
        cmocka_unit_test_setup(test_backtrace_collect_memo_takes_the_place_learned, before),
        cmocka_unit_test_setup(test_backtrace_collect_at_function_entry_takes_rsp, before),
        cmocka_unit_test_setup(test_backtrace_collect_rsp_outside_stack_returns_rip_only, before),
        cmocka_unit_test_setup(test_backtrace_collect_rsp_in_guard_gap_scans_from_stack_start,
                               before),
        cmocka_unit_test_setup(test_backtrace_format_names_symbol_and_offset, before),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
