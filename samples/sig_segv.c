/* sig_segv: synchronous signals caught by handlers, printed the same natively and under
 * vmemu (tests/signal_e2e.py). SIGSEGV after mprotect(PROT_NONE) and (PROT_READ) with the
 * exact si_addr and SEGV_ACCERR, SEGV_MAPERR after munmap, an access that crosses into a
 * protected page (si_addr = the first byte of that page), a handler that makes the page
 * writable and returns (the store runs again and succeeds), siglongjmp out of the
 * handler, a handler that moves uc_mcontext's RIP past the faulting instruction, SIGFPE
 * from an integer division by zero (FPE_INTDIV, si_addr = the instruction) and, with the
 * argument "crash", an uncaught SIGSEGV (status 139). Addresses are printed as offsets. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define PG 4096UL

static sigjmp_buf env;
static volatile int got_sig, got_code, fix_prot, skip_insn;
static void *volatile got_addr;
static char *region; /* four pages */

/* Instructions whose addresses the handlers compare with (global labels in the asm). */
extern char segv_store_insn[], segv_store_next[], fpe_div_insn[];

/* Stores 7 at p with one known instruction; returns 1 once the instruction after it ran. */
__attribute__((noinline)) static int store_at(volatile int *p)
{
    int after;
    __asm__ volatile(".globl segv_store_insn\n"
                     "segv_store_insn:\n\t"
                     "movl $7, (%1)\n"
                     ".globl segv_store_next\n"
                     "segv_store_next:\n\t"
                     "movl $1, %0\n\t"
                     : "=r"(after)
                     : "r"(p)
                     : "memory");
    return after;
}

/* Divides by d with one known instruction. */
__attribute__((noinline)) static int divide(int n, int d)
{
    int q;
    __asm__ volatile("cltd\n"
                     ".globl fpe_div_insn\n"
                     "fpe_div_insn:\n\t"
                     "idivl %2\n\t"
                     : "=a"(q)
                     : "a"(n), "r"(d)
                     : "rdx", "cc");
    return q;
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    if (fix_prot) {
        mprotect((void *)((uintptr_t)si->si_addr & ~(PG - 1)), PG, PROT_READ | PROT_WRITE);
        return;
    }
    if (skip_insn && (char *)uc->uc_mcontext.gregs[REG_RIP] == segv_store_insn) {
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)segv_store_next;
        return;
    }
    siglongjmp(env, 1);
}

static const char *code_name(int sig, int code)
{
    if (sig == SIGSEGV && code == SEGV_MAPERR)
        return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR)
        return "SEGV_ACCERR";
    if (sig == SIGFPE && code == FPE_INTDIV)
        return "FPE_INTDIV";
    return "other";
}

/* Where the fault was, relative to region ("+0x1234"), or "elsewhere". */
static const char *where(void *addr)
{
    static char buf[32];
    uintptr_t a = (uintptr_t)addr, r = (uintptr_t)region;
    if (a >= r && a < r + 4 * PG)
        snprintf(buf, sizeof(buf), "region+0x%lx", (unsigned long)(a - r));
    else
        snprintf(buf, sizeof(buf), "elsewhere");
    return buf;
}

static void report(const char *what)
{
    printf("%s: sig=%d code=%s addr=%s\n", what, got_sig, code_name(got_sig, got_code),
           where(got_addr));
    got_sig = got_code = 0;
    got_addr = NULL;
}

/* Reads one byte at p; returns 1 when a fault was caught (siglongjmp). */
static int try_read(volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        (void)*p;
        return 0;
    }
    return 1;
}

static int try_write(volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        *p = 1;
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);

    region = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(region, 0, 4 * PG);

    mprotect(region, PG, PROT_NONE);
    printf("read PROT_NONE caught=%d\n", try_read(region + 123));
    report("read PROT_NONE");
    printf("write PROT_NONE caught=%d\n", try_write(region + 4000));
    report("write PROT_NONE");

    mprotect(region + PG, PG, PROT_READ);
    printf("read PROT_READ caught=%d\n", try_read(region + PG + 5));
    printf("write PROT_READ caught=%d\n", try_write(region + PG + 77));
    report("write PROT_READ");

    /* an 8-byte load that starts 4 bytes before a PROT_NONE page */
    mprotect(region + 3 * PG, PG, PROT_NONE);
    volatile uint64_t *split = (volatile uint64_t *)(region + 3 * PG - 4);
    if (sigsetjmp(env, 1) == 0) {
        uint64_t v = *split;
        printf("FAIL split read gave %lu\n", (unsigned long)v);
    }
    report("split read");

    /* the handler makes the page writable and returns: the store runs again */
    fix_prot = 1;
    mprotect(region + PG, PG, PROT_READ);
    volatile int *target = (volatile int *)(region + PG + 256);
    int after = store_at(target);
    fix_prot = 0;
    printf("fixed by handler: after=%d value=%d\n", after, *target);
    report("fixed by handler");

    /* the handler moves RIP past the store: it never happens */
    skip_insn = 1;
    *target = 0;
    mprotect(region + PG, PG, PROT_READ);
    after = store_at(target);
    skip_insn = 0;
    mprotect(region + PG, PG, PROT_READ | PROT_WRITE);
    printf("skipped by handler: after=%d value=%d\n", after, *target);
    report("skipped by handler");

    /* SEGV_MAPERR after munmap */
    munmap(region + 2 * PG, PG);
    printf("read unmapped caught=%d\n", try_read(region + 2 * PG + 4095));
    report("read unmapped");

    /* SIGFPE: si_addr is the faulting instruction */
    if (sigsetjmp(env, 1) == 0) {
        int q = divide(10, 0);
        printf("FAIL divide gave %d\n", q);
    }
    printf("divide: sig=%d code=%s addr_is_insn=%d\n", got_sig, code_name(got_sig, got_code),
           (char *)got_addr == fpe_div_insn);
    printf("divide 10/3=%d\n", divide(10, 3));

    /* the mask after siglongjmp(env, 1) is the one sigsetjmp saved */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGSEGV blocked after siglongjmp=%d\n", sigismember(&cur, SIGSEGV));

    if (argc > 1 && strcmp(argv[1], "crash") == 0) {
        printf("crashing\n");
        fflush(stdout);
        signal(SIGSEGV, SIG_DFL);
        *(volatile char *)region = 1;
        printf("FAIL still alive\n");
    }
    printf("ok\n");
    return 0;
}
