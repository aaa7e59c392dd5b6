/* The CPU layer's test fixture, shared by test_cpu.c and test_cpu_watch.c: a 16 MiB
 * machine, a CPU and one address space with the routines below assembled at CODE (and the
 * privileged ones at PRIV), a data page at DATA, and a syscall handler that records what
 * it saw and stops at exit (60). */
#ifndef VMEMU_TESTS_CPU_FIXTURE_H
#define VMEMU_TESTS_CPU_FIXTURE_H

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

static inline void on_syscall(void *ctx, struct cpu *cpu)
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

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
    struct env *e = *state;
    mm_destroy(e->mm);
    cpu_destroy(e->cpu);
    vmsys_destroy(&e->sys);
    free(e);
    return 0;
}

static inline struct cpu_exit run_at(struct env *e, gva_t rip, uint64_t rdi)
{
    struct cpu_exit ex;
    cpu_reset_regs(e->cpu, rip, DATA + PAGE_SIZE);
    cpu_set(e->cpu, CPU_RDI, rdi);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    return ex;
}

#endif
