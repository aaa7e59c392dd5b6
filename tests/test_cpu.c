/* Tests of the CPU layer against Unicorn 2.1.1's behaviour as UNICORN.md records it:
 * demand paging through the fill callback, dirty tracking by permission, refusals recorded
 * with RIP at the faulting instruction, the syscall hook's RIP/RCX/R11 rules, Linux's FPU
 * state, the #DF workaround, TLB flush after a downgrade, stale-code invalidation after a
 * host write into an executed frame, hlt/ud2, the Haswell model's popcnt, the page
 * traps of the gdb stub's watchpoints, and user mode (CPL 3, src/cpu/priv.c): privileged
 * instructions and port I/O raise #GP at the instruction with nothing after it run. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "vmemu/cpu.h"
#include "vmemu/fault.h"
#include "vmemu/uaccess.h"

#define CODE 0x400000ULL
#define DATA 0x600000ULL

/* Offsets of the routines in `code` (assembled with GNU as, Intel syntax). */
#define OFF_STOP   0x00 /* mov eax, 60; syscall */
#define OFF_FPU    0x07 /* fnstcw [rdi]; stmxcsr [rdi+8]; stop */
#define OFF_RW     0x14 /* mov rax, [rdi]; mov qword [rdi], 42; stop */
#define OFF_DIV3   0x25 /* xor ecx, ecx; mov eax, 1; div ecx x3; stop */
#define OFF_SYSRIP 0x39 /* mov eax, 39; syscall; stop */
#define OFF_HLT    0x47 /* hlt */
#define OFF_UD2    0x48 /* ud2 */
#define OFF_POPCNT 0x4a /* popcnt rax, rdi; stop */
#define OFF_READ   0x56 /* mov rax, [rdi]; stop */
#define OFF_SPIN   0x60 /* l: inc rax; add qword [rdi], 1; jmp l */
#define OFF_SYSSPIN                                                                                \
    0x69 /* l: inc rax; add qword [rdi], 1; mov r8, rax; mov eax, 39; syscall; mov rax, r8;        \
            jmp l */
#define OFF_SYSSPIN_RET 0x7a /* the instruction after that syscall */

static const uint8_t code[] = {
    0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05,                                     /* stop */
    0xd9, 0x3f, 0x0f, 0xae, 0x5f, 0x08, 0xb8, 0x3c, 0x00, 0x00, 0x00,             /* fpu */
    0x0f, 0x05, 0x48, 0x8b, 0x07, 0x48, 0xc7, 0x07, 0x2a, 0x00, 0x00, 0x00, 0xb8, /* rw */
    0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x31, 0xc9, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0xf7, 0xf1, 0xf7, 0xf1, /* div3 */
    0xf7, 0xf1, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xb8, 0x27, 0x00, 0x00,
    0x00, 0x0f, 0x05, 0xb8, 0x3c, 0x00, 0x00,                         /* sysrip */
    0x00, 0x0f, 0x05, 0xf4,                                           /* hlt */
    0x0f, 0x0b,                                                       /* ud2 */
    0xf3, 0x48, 0x0f, 0xb8, 0xc7, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, /* popcnt */
    0x05, 0x48, 0x8b, 0x07, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, /* read */
    0x48, 0xff, 0xc0, 0x48, 0x83, 0x07, 0x01, 0xeb, 0xf7,             /* spin */
    0x48, 0xff, 0xc0, 0x48, 0x83, 0x07, 0x01, 0x49, 0x89, 0xc0, 0xb8, /* sysspin */
    0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x4c, 0x89, 0xc0, 0xeb, 0xea,
};

/* Privileged instructions, at PRIV (assembled with GNU as, Intel syntax). */
#define PRIV           (CODE + 0x200)
#define OFF_GP_CLI     0x00 /* cli; stop */
#define OFF_GP_MOVCR3  0x08 /* mov cr3, rax; stop */
#define OFF_GP_RDMSR   0x12
#define OFF_GP_INVLPG  0x14 /* invlpg [rdi] */
#define OFF_GP_SWAPGS  0x17
#define OFF_GP_STI     0x1a
#define OFF_OUT        0x1b /* mov ebx, 7; mov rax, -1; add rax, 1; out dx, al; */
#define OFF_OUT_INSN   0x2b /*   mov [rdi], rbx; inc rbx; stop */
#define OFF_OUTSYS     0x39 /* out dx, al; mov eax, 39; syscall; stop */
#define OFF_CHAIN      0x48 /* xor ecx, ecx; l: inc rcx; cmp rcx, 5; jne l; */
#define OFF_CHAIN_INSN 0x53 /*   out 0x80, al; stop */
#define OFF_POPF       0x5c /* pushfq; set IOPL 3, clear IF; popfq; pushfq; pop rbx; stop */
#define OFF_IN         0x77 /* mov eax, 0x1234; in al, dx; mov [rdi], eax; stop */
#define OFF_IN_INSN    0x7c
#define OFF_INSB       0x86  /* insb; stop */
#define X86_ARITH      0x8d5 /* CF PF AF ZF SF OF */

static const uint8_t priv_code[] = {
    0xfa, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x22, 0xd8, 0xb8, 0x3c, 0x00, 0x00, 0x00,
    0x0f, 0x05, 0x0f, 0x32, 0x0f, 0x01, 0x3f, 0x0f, 0x01, 0xf8, 0xfb, 0xbb, 0x07, 0x00, 0x00, 0x00,
    0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0x48, 0x83, 0xc0, 0x01, 0xee, 0x48, 0x89, 0x1f, 0x48,
    0xff, 0xc3, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xee, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f,
    0x05, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x31, 0xc9, 0x48, 0xff, 0xc1, 0x48, 0x83, 0xf9,
    0x05, 0x75, 0xf7, 0xe6, 0x80, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x9c, 0x48, 0x81, 0x0c,
    0x24, 0x00, 0x30, 0x00, 0x00, 0x48, 0x81, 0x24, 0x24, 0xff, 0xfd, 0xff, 0xff, 0x9d, 0x9c, 0x5b,
    0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xb8, 0x34, 0x12, 0x00, 0x00, 0xec, 0x89, 0x07, 0xb8,
    0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x6c, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05,
};

struct env {
    struct vmsys sys;          /* 16 MiB machine */
    struct cpu *cpu;           /* the CPU */
    struct mm *mm;             /* one address space: code at CODE, data at DATA */
    uint64_t nrs[8];           /* syscall numbers seen, in order */
    int nsys;                  /* how many */
    uint64_t rcx, r11;         /* RCX/R11 seen by the second syscall's handler */
    gva_t redirect;            /* getpid handler: resume here if non-zero */
    struct task_vm_stats task; /* the counters the CPU's faults are charged to */
};

static void on_syscall(void *ctx, struct cpu *cpu)
{
    struct env *e = ctx;
    uint64_t nr = cpu_get(cpu, CPU_RAX);
    if (e->nsys < 8)
        e->nrs[e->nsys] = nr;
    if (e->nsys == 1) {
        e->rcx = cpu_get(cpu, CPU_RCX);
        e->r11 = cpu_get(cpu, CPU_R11);
    }
    e->nsys++;
    if (nr == 60) {
        cpu_request_stop(cpu);
    } else if (nr == 39) {
        cpu_set(cpu, CPU_RAX, 1234);
        if (e->redirect)
            cpu_set(cpu, CPU_RIP, e->redirect);
    }
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_int_equal(vmsys_init(&e->sys, 16 << 20, 64, 4), 0);
    assert_int_equal(cpu_create(&e->sys, &e->cpu), 0);
    assert_int_equal(mm_create(&e->sys, &e->mm), 0);
    assert_int_equal(
        mm_map(e->mm, CODE, PAGE_SIZE, VM_READ | VM_WRITE | VM_EXEC, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, DATA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0),
                     0);
    assert_int_equal(copy_to_user(e->mm, CODE, code, sizeof(code)), 0);
    assert_int_equal(copy_to_user(e->mm, PRIV, priv_code, sizeof(priv_code)), 0);
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

static struct cpu_exit run_at(struct env *e, gva_t rip, uint64_t rdi)
{
    struct cpu_exit ex;
    cpu_reset_regs(e->cpu, rip, DATA + PAGE_SIZE);
    cpu_set(e->cpu, CPU_RDI, rdi);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    return ex;
}

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

/* Page-trap function of the tests: traps `traps` on the page at `page` of mm. */
struct trap_env {
    const struct mm *mm; /* the address space that traps */
    gva_t page;          /* its trapped page */
    unsigned traps;      /* CPU_TRAP_* */
    unsigned asked;      /* calls */
};

static unsigned trap_fn(void *ctx, const struct mm *mm, gva_t page)
{
    struct trap_env *t = ctx;
    t->asked++;
    return mm == t->mm && page == t->page ? t->traps : 0;
}

static void test_cpu_page_trap_write_stops_before_store_with_no_fault(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;
    /* First without traps: the page is then present, writable and dirty, so the MMU
     * grants a read fill R|W and only the trap's stripping makes the store come back. */
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    struct trap_env t = {mm, DATA, CPU_TRAP_WRITE, 0};
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    struct fault_stats before = e->task.faults;
    struct cpu_exit ex = run_at(e, CODE + OFF_RW, DATA);
    assert_int_equal(ex.kind, CPU_EXIT_WATCH);
    assert_int_equal(ex.rip, CODE + OFF_RW + 3); /* the store; the 3-byte load ran */
    assert_int_equal(ex.page, DATA);
    assert_int_equal(ex.access, ACCESS_WRITE);
    assert_true(t.asked > 0);
    assert_int_equal(e->task.faults.minor, before.minor);
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 42); /* the load ran */
    /* Without the trap the store runs and the run ends at the stop syscall. */
    cpu_set(e->cpu, CPU_RAX, 0);
    cpu_set_page_trap(e->cpu, NULL, NULL);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
    assert_int_equal(e->task.faults.minor, before.minor);
}

static void test_cpu_page_trap_read_refuses_first_load_counts_nothing(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;
    struct trap_env t = {mm, DATA, CPU_TRAP_READ, 0};
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    struct fault_stats before = e->task.faults;
    struct cpu_exit ex = run_at(e, CODE + OFF_RW, DATA);
    assert_int_equal(ex.kind, CPU_EXIT_WATCH);
    assert_int_equal(ex.rip, CODE + OFF_RW);
    assert_int_equal(ex.page, DATA);
    assert_int_equal(ex.access, ACCESS_READ);
    /* Refused before mmu_fill: the untouched page got no zero-page fault. */
    assert_int_equal(e->task.faults.zero_page, before.zero_page);
    assert_int_equal(e->task.faults.minor, before.minor);
    /* Another page does not trap. */
    t.page = DATA + PAGE_SIZE;
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    assert_int_equal(e->task.faults.zero_page - before.zero_page, 1);
    cpu_set_page_trap(e->cpu, NULL, NULL);
}

/* What the watched-access function saw. */
struct watch_env {
    struct cpu *cpu;                /* to read RIP in the hook */
    int n;                          /* accesses seen */
    gva_t va[4];                    /* their addresses */
    unsigned size[4];               /* sizes */
    bool write[4];                  /* stores */
    gva_t rip[4];                   /* RIP when each was seen */
    struct cpu_watch_filter filter; /* given to the CPU layer when filtering */
    bool filtering;                 /* give it */
};

static const struct cpu_watch_filter *watch_filter_fn(void *ctx)
{
    struct watch_env *w = ctx;
    return w->filtering ? &w->filter : NULL;
}

static void watch_fn(void *ctx, gva_t va, unsigned size, bool write)
{
    struct watch_env *w = ctx;
    if (w->n < 4) {
        w->va[w->n] = va;
        w->size[w->n] = size;
        w->write[w->n] = write;
        w->rip[w->n] = cpu_get(w->cpu, CPU_RIP);
    }
    w->n++;
}

static void test_cpu_watched_range_reports_each_load_and_store_at_its_instruction(void **state)
{
    struct env *e = *state;
    struct watch_env w = {.cpu = e->cpu};
    uint64_t v = 7;
    assert_int_equal(
        mm_map(e->mm, DATA + PAGE_SIZE, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(copy_to_user(e->mm, DATA + 8, &v, sizeof(v)), 0);
    /* Only the second data page is watched. */
    assert_int_equal(cpu_watch_range(e->cpu, DATA + PAGE_SIZE, DATA + 2 * PAGE_SIZE, watch_fn,
                                     watch_filter_fn, &w),
                     0);
    assert_int_equal(cpu_watch_range(e->cpu, DATA, DATA + PAGE_SIZE, watch_fn, NULL, &w), -EINVAL);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + 8).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0); /* the first page is not watched */
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 60);
    assert_int_equal(copy_to_user(e->mm, DATA + PAGE_SIZE + 16, &v, sizeof(v)), 0);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    /* mov rax, [rdi] then mov qword [rdi], 42: the load, then the store, each with its
     * own RIP; the load read the page's real bytes and the store reached them. */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.va[0], DATA + PAGE_SIZE + 16);
    assert_int_equal(w.size[0], 8);
    assert_false(w.write[0]);
    assert_int_equal(w.rip[0], CODE + OFF_RW);
    assert_int_equal(w.va[1], DATA + PAGE_SIZE + 16);
    assert_int_equal(w.size[1], 8);
    assert_true(w.write[1]);
    assert_int_equal(w.rip[1], CODE + OFF_RW + 3);
    assert_int_equal(copy_from_user(e->mm, &v, DATA + PAGE_SIZE + 16, sizeof(v)), 0);
    assert_int_equal(v, 42);
    /* A fresh run of the same code on the other page still reports nothing. */
    w.n = 0;
    assert_int_equal(run_at(e, CODE + OFF_READ, DATA + 8).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0);
    /* A filter whose byte allows the granule spares the function both accesses; one that
     * allows only its first 4 bytes does not. */
    uint8_t map[PAGE_SIZE / 8] = {0};
    w.filter = (struct cpu_watch_filter){
        .map = map, .base = DATA + PAGE_SIZE, .end = DATA + 2 * PAGE_SIZE};
    w.filtering = true;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0);
    map[2] = 4;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_cpu_clean_run_with_until_zero_stops_on_request),
        T(test_cpu_reset_sets_linux_fpu_control_words),
        T(test_cpu_read_then_write_fills_read_then_write_and_sets_dirty),
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
        T(test_cpu_page_trap_write_stops_before_store_with_no_fault),
        T(test_cpu_page_trap_read_refuses_first_load_counts_nothing),
        T(test_cpu_watched_range_reports_each_load_and_store_at_its_instruction),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
