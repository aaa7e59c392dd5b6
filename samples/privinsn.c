/* privinsn: instructions that fault at CPL 3 on Linux (issue 15, defect 5), printed the same
 * natively and under vmemu (tests/priv_e2e.py).
 *   privinsn            every probe under a SIGSEGV/SIGILL handler: the signal, si_code,
 *                       si_addr, uc_mcontext's trap number and error code, whether RIP in
 *                       the ucontext is the probed instruction, and whether the instruction
 *                       after it ran (it must not); the handler then skips both. Also
 *                       whether popf can change IOPL or IF (it cannot at CPL 3).
 *   privinsn crash NAME  probe NAME with no handler: the process dies of SIGSEGV.
 *   privinsn list        the probe names.
 *   privinsn sse         misaligned aligned-SSE accesses (movaps, movdqa, movntdq, paddd
 *                        with a memory operand) under the handler: #GP on Linux; vmemu
 *                        does not see them (README, "What vmemu cannot match").
 * Every probe is one instruction between two labels, followed by a store of 1 into
 * `after_ran`; the handler resumes after that store. Only instructions that fault the same
 * way on Intel and AMD and under any Linux configuration are probed (not sysexit: #UD on
 * AMD; not rdpmc: allowed when CR4.PCE is set; not sgdt/smsw: UMIP-dependent; not iretq:
 * its error code is the selector). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

static volatile int after_ran;
static volatile int got_sig, got_code;
static volatile long got_trapno, got_err;
static void *volatile got_addr;
static volatile uintptr_t got_rip;
static uintptr_t probe_insn, probe_resume;
static unsigned char scratch[64] __attribute__((aligned(64)));

/* One probe: the instruction at label 1, the marker store, resume at label 2. The
 * instruction may use rax, rcx, rdx, rsi, rdi (all zero or pointing at scratch). */
#define PROBE_AFTER(name, pre, insn)                                                               \
    static void probe_##name(void)                                                                 \
    {                                                                                              \
        unsigned char *si = scratch, *di = scratch + 32;                                           \
        __asm__ volatile("lea 1f(%%rip), %%rax\n\t"                                                \
                         "mov %%rax, %0\n\t"                                                       \
                         "lea 2f(%%rip), %%rax\n\t"                                                \
                         "mov %%rax, %1\n\t"                                                       \
                         "xor %%eax, %%eax\n\t"                                                    \
                         "xor %%ecx, %%ecx\n\t"                                                    \
                         "mov $0x80, %%edx\n\t" pre "\n"                                           \
                         "1:\t" insn "\n\t"                                                        \
                         "movl $1, %2\n"                                                           \
                         "2:\n"                                                                    \
                         : "=m"(probe_insn), "=m"(probe_resume), "=m"(after_ran), "+S"(si),        \
                           "+D"(di)                                                                \
                         :                                                                         \
                         : "rax", "rcx", "rdx", "memory", "cc");                                   \
    }

#define PROBE(name, insn) PROBE_AFTER(name, "", insn)

PROBE(in_dx, "inb %%dx, %%al")
PROBE(in_imm, "inb $0x80, %%al")
PROBE(inl_dx, "inl %%dx, %%eax")
PROBE(out_dx, "outb %%al, %%dx")
PROBE(out_imm, "outb %%al, $0x80")
PROBE(outw_dx, "outw %%ax, %%dx")
PROBE(insb, "insb (%%dx), %%es:(%%rdi)")
PROBE(outsb, "outsb %%ds:(%%rsi), (%%dx)")
PROBE_AFTER(rep_outsb, "mov $4, %%ecx", "rep outsb %%ds:(%%rsi), (%%dx)")
PROBE(cli, "cli")
PROBE(sti, "sti")
PROBE(hlt, "hlt")
PROBE(mov_from_cr0, "mov %%cr0, %%rax")
PROBE(mov_to_cr3, "mov %%rax, %%cr3")
PROBE(mov_from_cr8, "mov %%cr8, %%rax")
PROBE(mov_from_dr7, "mov %%db7, %%rax")
PROBE(mov_to_dr0, "mov %%rax, %%db0")
PROBE(rdmsr, "rdmsr")
PROBE(wrmsr, "wrmsr")
PROBE(lgdt, "lgdt (%%rsi)")
PROBE(lidt, "lidt (%%rsi)")
PROBE(lldt, "lldt %%ax")
PROBE(ltr, "ltr %%ax")
PROBE(lmsw, "lmsw %%ax")
PROBE(invlpg, "invlpg (%%rsi)")
PROBE(wbinvd, "wbinvd")
PROBE(invd, "invd")
PROBE(clts, "clts")
PROBE(swapgs, "swapgs")
PROBE(sysretq, "sysretq")
PROBE(xsetbv, "xsetbv")

/* Misaligned accesses that need 16-byte alignment (rsi = scratch, 64-aligned). */
PROBE(movaps_load, "movaps 1(%%rsi), %%xmm0")
PROBE(movaps_store, "movaps %%xmm0, 1(%%rsi)")
PROBE(movdqa_load, "movdqa 8(%%rsi), %%xmm0")
PROBE(movntdq_store, "movntdq %%xmm0, 4(%%rsi)")
PROBE(paddd_mem, "paddd 2(%%rsi), %%xmm0")
PROBE(movaps_aligned, "movaps 16(%%rsi), %%xmm0") /* aligned: no fault */

struct probe {
    const char *name;
    void (*fn)(void);
};

#define P(n)                                                                                       \
    {                                                                                              \
#n, probe_##n                                                                              \
    }
static const struct probe probes[] = {
    P(in_dx),        P(in_imm),     P(inl_dx),       P(out_dx),       P(out_imm),    P(outw_dx),
    P(insb),         P(outsb),      P(rep_outsb),    P(cli),          P(sti),        P(hlt),
    P(mov_from_cr0), P(mov_to_cr3), P(mov_from_cr8), P(mov_from_dr7), P(mov_to_dr0), P(rdmsr),
    P(wrmsr),        P(lgdt),       P(lidt),         P(lldt),         P(ltr),        P(lmsw),
    P(invlpg),       P(wbinvd),     P(invd),         P(clts),         P(swapgs),     P(sysretq),
    P(xsetbv),
};
static const struct probe sse_probes[] = {
    P(movaps_load),   P(movaps_store), P(movdqa_load),
    P(movntdq_store), P(paddd_mem),    P(movaps_aligned),
};
#undef P

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    got_trapno = (long)uc->uc_mcontext.gregs[REG_TRAPNO];
    got_err = (long)uc->uc_mcontext.gregs[REG_ERR];
    got_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)probe_resume;
}

static void run_probe(const struct probe *p)
{
    got_sig = got_code = 0;
    got_addr = NULL;
    got_trapno = got_err = -1;
    got_rip = 0;
    after_ran = 0;
    p->fn();
    if (got_sig == 0) {
        printf("%-14s no signal, after_ran=%d\n", p->name, after_ran);
        return;
    }
    printf("%-14s signo=%d code=%#x addr=%#lx trapno=%ld err=%ld at_insn=%d after_ran=%d\n",
           p->name, got_sig, got_code, (unsigned long)got_addr, got_trapno, got_err,
           got_rip == probe_insn, after_ran);
}

/* popf at CPL 3 with IOPL 0 changes neither IOPL nor IF. */
static void check_popf(void)
{
    unsigned long flags;
    __asm__ volatile("pushfq\n\t"
                     "orq $0x3000, (%%rsp)\n\t"  /* IOPL 3 */
                     "andq $~0x200, (%%rsp)\n\t" /* IF 0 */
                     "popfq\n\t"
                     "pushfq\n\t"
                     "popq %0\n\t"
                     : "=r"(flags)
                     :
                     : "memory", "cc");
    printf("popf: iopl=%lu if=%lu\n", (flags >> 12) & 3, (flags >> 9) & 1);
}

static const struct probe *find(const struct probe *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const size_t np = sizeof(probes) / sizeof(probes[0]);
    const size_t ns = sizeof(sse_probes) / sizeof(sse_probes[0]);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 3 && strcmp(argv[1], "crash") == 0) {
        const struct probe *p = find(probes, np, argv[2]);
        if (!p)
            p = find(sse_probes, ns, argv[2]);
        if (!p) {
            fprintf(stderr, "privinsn: no probe %s\n", argv[2]);
            return 2;
        }
        printf("probing %s with no handler\n", p->name);
        p->fn();
        printf("%s did not fault\n", p->name);
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < np; i++)
            printf("%s\n", probes[i].name);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    if (argc >= 2 && strcmp(argv[1], "sse") == 0) {
        for (size_t i = 0; i < ns; i++)
            run_probe(&sse_probes[i]);
        return 0;
    }
    for (size_t i = 0; i < np; i++)
        run_probe(&probes[i]);
    check_popf();
    return 0;
}
