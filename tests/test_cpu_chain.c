/* Tests of the CPU layer around chained translated blocks: a direct jump (here a call) from
 * one page into code on another page, run often enough that Unicorn links the two blocks,
 * must still see a later change of the target page. Stock Unicorn 2.1.1 never links blocks
 * across pages; the patched build of .ci/unicorn/ does, and undoes those links at every TLB
 * flush (patch 0003), which vmemu does on every downgrade (UNICORN.md, "Invalidation").
 * These tests hold on both: a stale link would run the old code instead of faulting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "vmemu/cpu.h"
#include "vmemu/fault.h"
#include "vmemu/uaccess.h"

#define CODE   0x400000ULL /* the caller's page */
#define TARGET 0x500000ULL /* the callee's page */
#define DATA   0x600000ULL /* data and stack */

/* At CODE (GNU as, Intel syntax):
 *   xor ebx, ebx
 * l: call TARGET          (a direct jump into the other page)
 *   inc ebx
 *   cmp ebx, 3
 *   jne l                  (the block at l runs three times: the call gets linked)
 *   mov eax, 60; syscall   (stop) */
static const uint8_t caller[] = {
    0x31, 0xdb, 0xe8, 0xf9, 0xff, 0x0f, 0x00, 0xff, 0xc3, 0x83, 0xfb,
    0x03, 0x75, 0xf4, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05,
};
/* At TARGET: add qword [rdi], 1; ret */
static const uint8_t callee[] = {0x48, 0x83, 0x07, 0x01, 0xc3};

struct env {
    struct vmsys sys;          /* 16 MiB machine */
    struct cpu *cpu;           /* the CPU */
    struct mm *mm;             /* code at CODE and TARGET, data at DATA */
    struct task_vm_stats task; /* the counters the CPU's faults are charged to */
};

static void on_syscall(void *ctx, struct cpu *cpu)
{
    (void)ctx;
    if (cpu_get(cpu, CPU_RAX) == 60)
        cpu_request_stop(cpu);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_int_equal(vmsys_init(&e->sys, 16 << 20, 64, 4), 0);
    assert_int_equal(cpu_create(&e->sys, &e->cpu), 0);
    assert_int_equal(mm_create(&e->sys, &e->mm), 0);
    uint32_t rwx = VM_READ | VM_WRITE | VM_EXEC;
    assert_int_equal(mm_map(e->mm, CODE, PAGE_SIZE, rwx, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, TARGET, PAGE_SIZE, rwx, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, DATA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0),
                     0);
    assert_int_equal(copy_to_user(e->mm, CODE, caller, sizeof(caller)), 0);
    assert_int_equal(copy_to_user(e->mm, TARGET, callee, sizeof(callee)), 0);
    assert_int_equal(mm_protect(e->mm, CODE, PAGE_SIZE, VM_READ | VM_EXEC), 0);
    assert_int_equal(mm_protect(e->mm, TARGET, PAGE_SIZE, VM_READ | VM_EXEC), 0);
    e->sys.current = e->mm;
    e->sys.charge = &e->task;
    cpu_set_syscall_handler(e->cpu, on_syscall, e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    mm_destroy(e->mm);
    cpu_destroy(e->cpu);
    vmsys_destroy(&e->sys);
    free(e);
    return 0;
}

/* Runs the caller with the counter at DATA set to 0; returns the exit, *count the counter. */
static struct cpu_exit run_caller(struct env *e, uint64_t *count)
{
    struct cpu_exit ex;
    uint64_t zero = 0;
    assert_int_equal(copy_to_user(e->mm, DATA, &zero, sizeof(zero)), 0);
    cpu_reset_regs(e->cpu, CODE, DATA + PAGE_SIZE);
    cpu_set(e->cpu, CPU_RDI, DATA);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    assert_int_equal(copy_from_user(e->mm, count, DATA, sizeof(*count)), 0);
    return ex;
}

static void test_chain_exec_revoked_on_target_page_faults_at_the_call(void **state)
{
    struct env *e = *state;
    uint64_t n = 0;
    for (int i = 0; i < 3; i++) { /* the blocks are translated, then linked */
        assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_STOP);
        assert_int_equal(n, 3);
    }
    assert_int_equal(mm_protect(e->mm, TARGET, PAGE_SIZE, VM_READ), 0);
    struct cpu_exit ex = run_caller(e, &n);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT); /* not the old code through a stale link */
    assert_int_equal(ex.rip, TARGET);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_EXEC_NX);
    assert_int_equal(n, 0);
}

static void test_chain_relinks_after_exec_comes_back(void **state)
{
    struct env *e = *state;
    uint64_t n = 0;
    assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_STOP);
    assert_int_equal(mm_protect(e->mm, TARGET, PAGE_SIZE, VM_READ), 0);
    assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_FAULT);
    assert_int_equal(mm_protect(e->mm, TARGET, PAGE_SIZE, VM_READ | VM_EXEC), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_STOP);
        assert_int_equal(n, 3);
    }
}

static void test_chain_new_code_on_target_page_runs(void **state)
{
    struct env *e = *state;
    uint64_t n = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_STOP);
    assert_int_equal(n, 3);
    /* add qword [rdi], 1 becomes add qword [rdi], 5 (vmemu's own copy path, which drops the
     * translations of the frame); the link must not lead to the old translation. */
    uint8_t imm = 5;
    assert_int_equal(mm_protect(e->mm, TARGET, PAGE_SIZE, VM_READ | VM_WRITE | VM_EXEC), 0);
    assert_int_equal(copy_to_user(e->mm, TARGET + 3, &imm, 1), 0);
    assert_int_equal(run_caller(e, &n).kind, CPU_EXIT_STOP);
    assert_int_equal(n, 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_chain_exec_revoked_on_target_page_faults_at_the_call),
        T(test_chain_relinks_after_exec_comes_back),
        T(test_chain_new_code_on_target_page_runs),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
