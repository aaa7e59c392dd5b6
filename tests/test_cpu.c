/* Tests of the CPU layer against Unicorn 2.1.1's behaviour as UNICORN.md records it:
 * demand paging through the fill callback, dirty tracking by permission, refusals recorded
 * with RIP at the faulting instruction, the syscall hook's RIP/RCX/R11 rules, Linux's FPU
 * state, the #DF workaround, TLB flush after a downgrade, stale-code invalidation after a
 * host write into an executed frame and after the guest's second store into a code page,
 * hlt/ud2, the Haswell model's popcnt, and user mode
 * (CPL 3, src/cpu/priv.c): privileged instructions and port I/O raise #GP at the
 * instruction with nothing after it run. The page traps and watched ranges are in
 * test_cpu_watch.c. */
#include <string.h>

#include "cpu_fixture.h"

static void test_cpu_clean_run_with_until_zero_stops_on_request(void **state)
{
    struct env *e = *state;
    uint64_t fills = e->task.fills;
    struct cpu_exit ex = run_at(e, CODE + OFF_STOP, 0);
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
    assert_int_equal(ex.rip, CODE + OFF_STOP + 7);
    assert_int_equal(e->nsys, 1);
    assert_int_equal(e->nrs[0], 60);
    /* One FETCH fill for the code page, nothing for a phantom `until` address. */
    assert_int_equal(e->task.fills - fills, 1);
}

static void test_cpu_reset_sets_linux_fpu_control_words(void **state)
{
    struct env *e = *state;
    uint64_t words[2] = {0, 0};
    assert_int_equal(run_at(e, CODE + OFF_FPU, DATA).kind, CPU_EXIT_STOP);
    assert_int_equal(copy_from_user(e->mm, words, DATA, sizeof(words)), 0);
    assert_int_equal(words[0] & 0xffff, 0x37f);
    assert_int_equal(words[1] & 0xffffffff, 0x1f80);
}

static void test_cpu_read_then_write_fills_read_then_write_and_sets_dirty(void **state)
{
    struct env *e = *state;
    gva_t page = DATA + PAGE_SIZE * 0;
    struct mm *mm = e->mm;
    assert_int_equal(mm_unmap(mm, DATA, PAGE_SIZE), 0);
    assert_int_equal(mm_map(mm, DATA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0), 0);
    struct fault_stats before = e->task.faults;
    assert_int_equal(run_at(e, CODE + OFF_RW, page).kind, CPU_EXIT_STOP);
    /* The read maps the zero page, the write copies it: a zero-page fault and a COW. */
    assert_int_equal(e->task.faults.zero_page - before.zero_page, 1);
    assert_int_equal(e->task.faults.cow - before.cow, 1);
    pte_t *ptep = pt_lookup(&mm->pt, &e->sys.phys, page);
    assert_non_null(ptep);
    assert_true(*ptep & PTE_D);
    uint64_t v = 0;
    assert_int_equal(copy_from_user(mm, &v, page, sizeof(v)), 0);
    assert_int_equal(v, 42);
}

/* Self-modifying code (src/cpu/cpu_smc.c): two blocks in one writable, executable page
 * run; then, in one run, the guest stores over the first block's constant and over the
 * second's, and jumps to the second: it must run the new constant. Without the
 * interposition Unicorn takes the fast path for the second store and runs its stale
 * translation (rbx stays 0x1111). */
static void test_cpu_second_store_into_a_code_page_invalidates_its_other_block(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;
    gva_t page = DATA + 4 * PAGE_SIZE, driver = page + PAGE_SIZE;
    /* movabs rbx, 0x1111; mov eax, 60; syscall: at 0 and at 256. */
    static const uint8_t block[] = {0x48, 0xbb, 0x11, 0x11, 0, 0, 0,    0,   0,
                                    0,    0xb8, 60,   0,    0, 0, 0x0f, 0x05};
    /* mov qword [rdi], 42; mov qword [rdi + 256], 42; jmp page + 256. */
    int32_t rel = (int32_t)(256 - PAGE_SIZE - 23);
    uint8_t drive[23] = {0x48, 0xc7, 0x07, 42, 0,  0, 0, 0x48, 0xc7, 0x87,
                         0,    1,    0,    0,  42, 0, 0, 0,    0xe9};
    memcpy(drive + 19, &rel, sizeof(rel));
    assert_true(cpu_smc_interposed());
    assert_int_equal(
        mm_map(mm, page, 2 * PAGE_SIZE, VM_READ | VM_WRITE | VM_EXEC, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(copy_to_user(mm, page, block, sizeof(block)), 0);
    assert_int_equal(copy_to_user(mm, page + 256, block, sizeof(block)), 0);
    assert_int_equal(copy_to_user(mm, driver, drive, sizeof(drive)), 0);
    assert_int_equal(run_at(e, page, 0).kind, CPU_EXIT_STOP);
    assert_int_equal(run_at(e, page + 256, 0).kind, CPU_EXIT_STOP);
    assert_int_equal(cpu_get(e->cpu, CPU_RBX), 0x1111);
    assert_int_equal(run_at(e, driver, page + 2).kind, CPU_EXIT_STOP);
    assert_int_equal(cpu_get(e->cpu, CPU_RBX), 42);
    assert_int_equal(run_at(e, page, 0).kind, CPU_EXIT_STOP);
    assert_int_equal(cpu_get(e->cpu, CPU_RBX), 42);
}

static void test_cpu_refused_read_stops_at_faulting_instruction(void **state)
{
    struct env *e = *state;
    struct cpu_exit ex = run_at(e, CODE + OFF_READ, 0x10);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT);
    assert_int_equal(ex.rip, CODE + OFF_READ);
    assert_int_equal(e->mm->last_fault.signo, SIGSEGV);
    assert_int_equal(e->mm->last_fault.code, SEGV_MAPERR);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_NULL);
    assert_int_equal(e->mm->last_fault.access, ACCESS_READ);
}

static void test_cpu_noncanonical_address_is_refused(void **state)
{
    struct env *e = *state;
    struct cpu_exit ex = run_at(e, CODE + OFF_READ, 0x0000800000000000ULL);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_NONCANONICAL);
}

static void test_cpu_three_divide_errors_stay_divide_errors(void **state)
{
    struct env *e = *state;
    assert_true(cpu_df_workaround_active(e->cpu));
    struct cpu_exit ex = run_at(e, CODE + OFF_DIV3, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ex.kind, CPU_EXIT_DIVIDE);
        assert_int_equal(ex.intno, 0);
        assert_int_equal(ex.rip, CODE + OFF_DIV3 + 7 + 2 * i);
        cpu_set(e->cpu, CPU_RIP, ex.rip + 2); /* skip the div */
        assert_int_equal(cpu_run(e->cpu, &ex), 0);
    }
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
}

static void test_cpu_syscall_sets_rcx_r11_and_rip_write_resumes_there(void **state)
{
    struct env *e = *state;
    e->redirect = CODE + OFF_STOP;
    struct cpu_exit ex = run_at(e, CODE + OFF_SYSRIP, 0);
    e->redirect = 0;
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
    assert_int_equal(e->nsys, 2);
    assert_int_equal(e->nrs[0], 39);
    assert_int_equal(e->nrs[1], 60);
    /* The handler saw the RCX/R11 that the first syscall left: its return address. */
    assert_int_equal(e->rcx, CODE + OFF_SYSRIP + 7);
    assert_int_equal(e->r11 & 0x2, 0x2);
    /* The last syscall is the one at OFF_STOP, not the one after getpid in sysrip. */
    assert_int_equal(cpu_get(e->cpu, CPU_RCX), CODE + OFF_STOP + 7);
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 60);
}

static void test_cpu_downgrade_to_readonly_is_seen_by_the_cpu(void **state)
{
    struct env *e = *state;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    assert_int_equal(mm_protect(e->mm, DATA, PAGE_SIZE, VM_READ), 0);
    struct cpu_exit ex = run_at(e, CODE + OFF_RW, DATA);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT);
    assert_int_equal(ex.rip, CODE + OFF_RW + 3);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_WRITE_RO);
    assert_int_equal(e->mm->last_fault.code, SEGV_ACCERR);
}

static void test_cpu_host_write_into_executed_frame_invalidates_code(void **state)
{
    struct env *e = *state;
    assert_int_equal(run_at(e, CODE + OFF_STOP, 0).kind, CPU_EXIT_STOP);
    assert_int_equal(e->nrs[0], 60);
    /* Replace `mov eax, 60` by `mov eax, 39` through vmemu's own copy path. */
    uint8_t imm = 39;
    assert_int_equal(copy_to_user(e->mm, CODE + OFF_STOP + 1, &imm, 1), 0);
    e->nsys = 0;
    e->redirect = CODE + OFF_STOP + 7 + 0; /* after getpid, resume past the syscall */
    struct cpu_exit ex = run_at(e, CODE + OFF_STOP, 0);
    e->redirect = 0;
    assert_int_equal(e->nrs[0], 39); /* the new code ran, not the stale translation */
    (void)ex;
}

/* Exit of a #GP at rip: vector 13, RIP at the instruction in the exit and in the CPU. */
static void assert_gp_at(struct env *e, struct cpu_exit ex, gva_t rip)
{
    assert_int_equal(ex.kind, CPU_EXIT_EXCEPTION);
    assert_int_equal(ex.intno, 13);
    assert_int_equal(ex.rip, rip);
    assert_int_equal(cpu_get(e->cpu, CPU_RIP), rip);
}

static void test_cpu_hlt_is_a_general_protection_fault(void **state)
{
    struct env *e = *state;
    assert_gp_at(e, run_at(e, CODE + OFF_HLT, 0), CODE + OFF_HLT);
}

/* Runs from rip with the registers as the last run left them (no reset: no flush). */
static struct cpu_exit run_on(struct env *e, gva_t rip, uint64_t rdi)
{
    struct cpu_exit ex;
    cpu_set(e->cpu, CPU_RIP, rip);
    cpu_set(e->cpu, CPU_RDI, rdi);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    return ex;
}

/* A downgrade of one page is dropped with invlpg at CPL 0 (cpu_tlb.c), not by a flush:
 * the store faults, the engine is back at CPL 3 with the guest's registers, and the
 * code page's entry survived (no fill for it). */
static void test_cpu_single_page_downgrade_uses_invlpg_and_returns_to_cpl3(void **state)
{
    struct env *e = *state;
    struct cpu_flush_stats before, after;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    uint64_t fills = e->task.fills;
    assert_int_equal(run_on(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    assert_int_equal(e->task.fills, fills); /* warm: both pages still in Unicorn's TLB */
    cpu_flush_stats(e->cpu, &before);
    assert_int_equal(mm_protect(e->mm, DATA, PAGE_SIZE, VM_READ), 0);
    cpu_set(e->cpu, CPU_R15, 0x1234567890abcdefULL);
    struct cpu_exit ex = run_on(e, CODE + OFF_RW, DATA);
    cpu_flush_stats(e->cpu, &after);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT);
    assert_int_equal(ex.rip, CODE + OFF_RW + 3);
    assert_int_equal(after.page_invalidations - before.page_invalidations, 1);
    assert_int_equal(after.flushes, before.flushes);
    /* The load of DATA filled again and the refused store; CODE was not refilled. */
    assert_int_equal(e->task.fills, fills + 2);
    assert_int_equal(cpu_get(e->cpu, CPU_R15), 0x1234567890abcdefULL);
    assert_int_equal(cpu_get(e->cpu, CPU_CS), 0x33);
    assert_gp_at(e, run_on(e, PRIV + OFF_GP_INVLPG, DATA), PRIV + OFF_GP_INVLPG);
    /* The stub's page is not the guest's: a jump there faults. */
    assert_int_equal(run_on(e, 0xffffff8000000000ULL, 0).kind, CPU_EXIT_FAULT);
}

static void test_cpu_runs_at_cpl3_with_linux_user_selectors(void **state)
{
    struct env *e = *state;
    assert_int_equal(cpu_get(e->cpu, CPU_CS), 0x33);
    assert_int_equal(cpu_get(e->cpu, CPU_SS), 0x2b);
    /* popf at CPL 3, IOPL 0 changes neither IOPL nor IF. */
    assert_int_equal(run_at(e, PRIV + OFF_POPF, 0).kind, CPU_EXIT_STOP);
    assert_int_equal(cpu_get(e->cpu, CPU_RBX) & 0x3200, 0x200);
}

static void test_cpu_privileged_instructions_fault_at_the_instruction(void **state)
{
    struct env *e = *state;
    static const unsigned offs[] = {OFF_GP_CLI,    OFF_GP_MOVCR3, OFF_GP_RDMSR,
                                    OFF_GP_INVLPG, OFF_GP_SWAPGS, OFF_GP_STI};
    /* Twice each: twelve #GPs in a row stay #GP (the #DF workaround). */
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
            assert_gp_at(e, run_at(e, PRIV + offs[i], DATA), PRIV + offs[i]);
    assert_int_equal(e->nsys, 0);
}

static void test_cpu_out_faults_with_nothing_after_it_run(void **state)
{
    struct env *e = *state;
    uint64_t before = 0, after = 1;
    assert_int_equal(copy_from_user(e->mm, &before, DATA, sizeof(before)), 0);
    assert_gp_at(e, run_at(e, PRIV + OFF_OUT, DATA), PRIV + OFF_OUT_INSN);
    assert_int_equal(cpu_get(e->cpu, CPU_RBX), 7); /* the inc after it did not run */
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 0);
    /* -1 + 1 set CF, PF, AF and ZF just before: the flags are those at the out. */
    assert_int_equal(cpu_get(e->cpu, CPU_RFLAGS) & X86_ARITH, 0x55);
    assert_int_equal(copy_from_user(e->mm, &after, DATA, sizeof(after)), 0);
    assert_int_equal(after, before); /* the store after it did not happen */
    assert_int_equal(e->nsys, 0);
}

static void test_cpu_syscall_after_out_in_same_block_does_not_run(void **state)
{
    struct env *e = *state;
    assert_gp_at(e, run_at(e, PRIV + OFF_OUTSYS, DATA), PRIV + OFF_OUTSYS);
    assert_int_equal(e->nsys, 0);
    /* The CPU works normally afterwards. */
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
}

static void test_cpu_in_and_ins_fault_with_registers_untouched(void **state)
{
    struct env *e = *state;
    assert_gp_at(e, run_at(e, PRIV + OFF_IN, DATA), PRIV + OFF_IN_INSN);
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 0x1234);
    assert_gp_at(e, run_at(e, PRIV + OFF_INSB, DATA), PRIV + OFF_INSB);
    assert_int_equal(cpu_get(e->cpu, CPU_RDI), DATA);
}

/* The second time, the out's block is reached through chained blocks, where Unicorn's RIP
 * is the start of the chain: the instruction is still found. */
static void test_cpu_out_reached_through_chained_blocks_is_found(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 3; i++) {
        assert_gp_at(e, run_at(e, PRIV + OFF_CHAIN, DATA), PRIV + OFF_CHAIN_INSN);
        assert_int_equal(cpu_get(e->cpu, CPU_RCX), 5);
    }
}

static void test_cpu_ud2_is_an_illegal_instruction(void **state)
{
    struct env *e = *state;
    struct cpu_exit ex = run_at(e, CODE + OFF_UD2, 0);
    assert_int_equal(ex.kind, CPU_EXIT_ILLEGAL);
    assert_int_equal(ex.rip, CODE + OFF_UD2);
}

static void test_cpu_haswell_model_executes_popcnt(void **state)
{
    struct env *e = *state;
    struct cpu_exit ex = run_at(e, CODE + OFF_POPCNT, 0xf0f0);
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
    /* RAX was overwritten by `mov eax, 60`; the popcnt did not raise #UD. */
    assert_int_equal(e->nrs[0], 60);
}

/* The watchdog's stop lands between blocks once cpu_preempt_anywhere installed the block
 * hook: the counter in memory and the one in RAX never differ. (A stop from the watchdog
 * thread itself resumed at the block start after the add, and they drifted apart.) */
static void test_cpu_preempt_anywhere_stops_a_loop_between_blocks(void **state)
{
    struct env *e = *state;
    uint64_t zero = 0, mem = 0;
    assert_int_equal(copy_to_user(e->mm, DATA, &zero, sizeof(zero)), 0);
    cpu_preempt_anywhere(e->cpu);
    cpu_set_watchdog(e->cpu, 1000 * 1000);
    cpu_reset_regs(e->cpu, CODE + OFF_SPIN, DATA + PAGE_SIZE);
    cpu_set(e->cpu, CPU_RDI, DATA);
    for (int i = 0; i < 40; i++) {
        struct cpu_exit ex;
        assert_int_equal(cpu_run(e->cpu, &ex), 0);
        assert_int_equal(ex.kind, CPU_EXIT_PREEMPT);
        assert_int_equal(copy_from_user(e->mm, &mem, DATA, sizeof(mem)), 0);
        assert_int_equal(cpu_get(e->cpu, CPU_RAX), mem);
    }
    assert_true(mem > 40);
    cpu_set_watchdog(e->cpu, 0);
}

/* Without the block hook the watchdog's stop waits for the next syscall. */
static void test_cpu_watchdog_stops_at_the_next_syscall(void **state)
{
    struct env *e = *state;
    uint64_t zero = 0, mem = 0;
    assert_int_equal(copy_to_user(e->mm, DATA, &zero, sizeof(zero)), 0);
    cpu_set_watchdog(e->cpu, 1000 * 1000);
    cpu_reset_regs(e->cpu, CODE + OFF_SYSSPIN, DATA + PAGE_SIZE);
    cpu_set(e->cpu, CPU_RDI, DATA);
    for (int i = 0; i < 20; i++) {
        struct cpu_exit ex;
        assert_int_equal(cpu_run(e->cpu, &ex), 0);
        assert_int_equal(ex.kind, CPU_EXIT_PREEMPT);
        assert_int_equal(ex.rip, CODE + OFF_SYSSPIN_RET);
        assert_int_equal(copy_from_user(e->mm, &mem, DATA, sizeof(mem)), 0);
        assert_int_equal(cpu_get(e->cpu, CPU_R8), mem);
    }
    assert_int_equal(e->nrs[0], 39);
    cpu_set_watchdog(e->cpu, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_cpu_clean_run_with_until_zero_stops_on_request),
        T(test_cpu_reset_sets_linux_fpu_control_words),
        T(test_cpu_read_then_write_fills_read_then_write_and_sets_dirty),
        T(test_cpu_second_store_into_a_code_page_invalidates_its_other_block),
        T(test_cpu_refused_read_stops_at_faulting_instruction),
        T(test_cpu_noncanonical_address_is_refused),
        T(test_cpu_three_divide_errors_stay_divide_errors),
        T(test_cpu_syscall_sets_rcx_r11_and_rip_write_resumes_there),
        T(test_cpu_downgrade_to_readonly_is_seen_by_the_cpu),
        T(test_cpu_host_write_into_executed_frame_invalidates_code),
        T(test_cpu_hlt_is_a_general_protection_fault),
        T(test_cpu_runs_at_cpl3_with_linux_user_selectors),
        T(test_cpu_single_page_downgrade_uses_invlpg_and_returns_to_cpl3),
        T(test_cpu_privileged_instructions_fault_at_the_instruction),
        T(test_cpu_out_faults_with_nothing_after_it_run),
        T(test_cpu_syscall_after_out_in_same_block_does_not_run),
        T(test_cpu_in_and_ins_fault_with_registers_untouched),
        T(test_cpu_out_reached_through_chained_blocks_is_found),
        T(test_cpu_ud2_is_an_illegal_instruction),
        T(test_cpu_haswell_model_executes_popcnt),
        T(test_cpu_preempt_anywhere_stops_a_loop_between_blocks),
        T(test_cpu_watchdog_stops_at_the_next_syscall),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
