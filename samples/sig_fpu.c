/* sig_fpu: the FPU/SSE state and the general registers survive a signal handler that
 * clobbers them, as on Linux (tests/signal_e2e.py compares the output with a native run).
 * One asm block loads XMM0-15, two x87 registers, MXCSR (rounding down), the x87 control
 * word and RBX/RBP/R12-R15 with known values, sends itself SIGUSR1 with the raw kill
 * syscall, and stores everything back. The handler checks that it starts with Linux's
 * initial FPU state (MXCSR 0x1f80, control word 0x37f), that uc_mcontext's FPU area holds
 * the interrupted values, then overwrites every one of those registers. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define MXCSR_DOWN 0x3f80 /* all exceptions masked, round toward -inf */
#define FCW_CHOP   0x0f7f /* extended precision, round toward zero */

static volatile int hits;
static volatile unsigned handler_mxcsr, handler_fcw, frame_mxcsr, frame_fcw, frame_xmm5_ok;

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    unsigned mx;
    unsigned short cw;
    (void)sig;
    (void)si;
    hits++;
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    handler_mxcsr = mx;
    handler_fcw = cw;
    if (uc->uc_mcontext.fpregs != NULL) {
        frame_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
        frame_fcw = uc->uc_mcontext.fpregs->cwd;
        uint32_t w;
        memcpy(&w, &uc->uc_mcontext.fpregs->_xmm[5], sizeof(w));
        frame_xmm5_ok = w == 0x05050505u;
    }
    /* clobber everything the interrupted code holds */
    mx = 0x7f80 | 0x6000; /* round toward zero */
    cw = 0x037f & ~0x0300;
    __asm__ volatile("ldmxcsr %0\n\t"
                     "fldcw %1\n\t"
                     "pcmpeqd %%xmm0, %%xmm0\n\t"
                     "pcmpeqd %%xmm1, %%xmm1\n\t"
                     "pcmpeqd %%xmm2, %%xmm2\n\t"
                     "pcmpeqd %%xmm3, %%xmm3\n\t"
                     "pcmpeqd %%xmm4, %%xmm4\n\t"
                     "pcmpeqd %%xmm5, %%xmm5\n\t"
                     "pcmpeqd %%xmm6, %%xmm6\n\t"
                     "pcmpeqd %%xmm7, %%xmm7\n\t"
                     "pcmpeqd %%xmm8, %%xmm8\n\t"
                     "pcmpeqd %%xmm9, %%xmm9\n\t"
                     "pcmpeqd %%xmm10, %%xmm10\n\t"
                     "pcmpeqd %%xmm11, %%xmm11\n\t"
                     "pcmpeqd %%xmm12, %%xmm12\n\t"
                     "pcmpeqd %%xmm13, %%xmm13\n\t"
                     "pcmpeqd %%xmm14, %%xmm14\n\t"
                     "pcmpeqd %%xmm15, %%xmm15\n\t"
                     "fldz\n\t"
                     "fldz\n\t"
                     "fstp %%st(0)\n\t"
                     "fstp %%st(0)\n\t"
                     "movq $-1, %%rbx\n\t"
                     "movq $-1, %%r12\n\t"
                     "movq $-1, %%r13\n\t"
                     "movq $-1, %%r14\n\t"
                     "movq $-1, %%r15\n\t"
                     :
                     : "m"(mx), "m"(cw)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "rbx", "r12",
                       "r13", "r14", "r15", "st", "st(1)");
}

struct state {
    uint8_t xmm[16][16]; /* XMM0-15 */
    long double st[2];   /* x87 ST0, ST1 */
    uint64_t gpr[5];     /* RBX, R12-R15 */
    uint32_t mxcsr;      /* MXCSR */
    uint16_t fcw;        /* x87 control word */
};

/* Loads in into the registers, kill(pid, SIGUSR1), stores the registers into out. */
__attribute__((noinline)) static long roundtrip(const struct state *in, struct state *out, long pid)
{
    long ret;
    __asm__ volatile(
        "movdqu 0(%[in]), %%xmm0\n\t"
        "movdqu 16(%[in]), %%xmm1\n\t"
        "movdqu 32(%[in]), %%xmm2\n\t"
        "movdqu 48(%[in]), %%xmm3\n\t"
        "movdqu 64(%[in]), %%xmm4\n\t"
        "movdqu 80(%[in]), %%xmm5\n\t"
        "movdqu 96(%[in]), %%xmm6\n\t"
        "movdqu 112(%[in]), %%xmm7\n\t"
        "movdqu 128(%[in]), %%xmm8\n\t"
        "movdqu 144(%[in]), %%xmm9\n\t"
        "movdqu 160(%[in]), %%xmm10\n\t"
        "movdqu 176(%[in]), %%xmm11\n\t"
        "movdqu 192(%[in]), %%xmm12\n\t"
        "movdqu 208(%[in]), %%xmm13\n\t"
        "movdqu 224(%[in]), %%xmm14\n\t"
        "movdqu 240(%[in]), %%xmm15\n\t"
        "fldt 272(%[in])\n\t" /* st[1] first, so that ST0 = st[0] */
        "fldt 256(%[in])\n\t"
        "ldmxcsr %c[mxoff](%[in])\n\t"
        "fldcw %c[cwoff](%[in])\n\t"
        "movq %c[gpoff]+0(%[in]), %%rbx\n\t"
        "movq %c[gpoff]+8(%[in]), %%r12\n\t"
        "movq %c[gpoff]+16(%[in]), %%r13\n\t"
        "movq %c[gpoff]+24(%[in]), %%r14\n\t"
        "movq %c[gpoff]+32(%[in]), %%r15\n\t"
        "movl %[nr], %%eax\n\t"
        "movl %[sig], %%esi\n\t"
        "syscall\n\t"
        "movdqu %%xmm0, 0(%[out])\n\t"
        "movdqu %%xmm1, 16(%[out])\n\t"
        "movdqu %%xmm2, 32(%[out])\n\t"
        "movdqu %%xmm3, 48(%[out])\n\t"
        "movdqu %%xmm4, 64(%[out])\n\t"
        "movdqu %%xmm5, 80(%[out])\n\t"
        "movdqu %%xmm6, 96(%[out])\n\t"
        "movdqu %%xmm7, 112(%[out])\n\t"
        "movdqu %%xmm8, 128(%[out])\n\t"
        "movdqu %%xmm9, 144(%[out])\n\t"
        "movdqu %%xmm10, 160(%[out])\n\t"
        "movdqu %%xmm11, 176(%[out])\n\t"
        "movdqu %%xmm12, 192(%[out])\n\t"
        "movdqu %%xmm13, 208(%[out])\n\t"
        "movdqu %%xmm14, 224(%[out])\n\t"
        "movdqu %%xmm15, 240(%[out])\n\t"
        "fstpt 256(%[out])\n\t"
        "fstpt 272(%[out])\n\t"
        "stmxcsr %c[mxoff](%[out])\n\t"
        "fnstcw %c[cwoff](%[out])\n\t"
        "movq %%rbx, %c[gpoff]+0(%[out])\n\t"
        "movq %%r12, %c[gpoff]+8(%[out])\n\t"
        "movq %%r13, %c[gpoff]+16(%[out])\n\t"
        "movq %%r14, %c[gpoff]+24(%[out])\n\t"
        "movq %%r15, %c[gpoff]+32(%[out])\n\t"
        "movl $0x1f80, -4(%%rsp)\n\t" /* back to the defaults for the C code */
        "ldmxcsr -4(%%rsp)\n\t"
        "movw $0x37f, -4(%%rsp)\n\t"
        "fldcw -4(%%rsp)\n\t"
        : "=a"(ret)
        : [in] "r"(in), [out] "r"(out), [nr] "i"(SYS_kill), [sig] "i"(SIGUSR1),
          "D"(pid), [mxoff] "i"(offsetof(struct state, mxcsr)),
          [cwoff] "i"(offsetof(struct state, fcw)), [gpoff] "i"(offsetof(struct state, gpr))
        : "rsi", "rcx", "r11", "rbx", "r12", "r13", "r14", "r15", "memory", "cc", "xmm0", "xmm1",
          "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "xmm14", "xmm15");
    return ret;
}

int main(void)
{
    struct state in, out;
    struct sigaction sa;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    for (int r = 0; r < 16; r++)
        memset(in.xmm[r], r, sizeof(in.xmm[r]));
    in.st[0] = 3.25L;
    in.st[1] = -1.0L / 3.0L;
    for (int i = 0; i < 5; i++)
        in.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    in.mxcsr = MXCSR_DOWN;
    in.fcw = FCW_CHOP;

    long ret = roundtrip(&in, &out, getpid());
    printf("kill: %ld hits=%d\n", ret, hits);
    printf("handler starts with mxcsr=0x%x fcw=0x%x\n", handler_mxcsr, handler_fcw);
    printf("frame: mxcsr=0x%x fcw=0x%x xmm5=%s\n", frame_mxcsr, frame_fcw,
           frame_xmm5_ok ? "ok" : "wrong");
    int bad = 0;
    for (int r = 0; r < 16; r++)
        if (memcmp(in.xmm[r], out.xmm[r], 16) != 0) {
            printf("xmm%d changed\n", r);
            bad++;
        }
    printf("xmm0-15 preserved=%d\n", bad == 0);
    printf("st0=%s st1=%s\n", out.st[0] == in.st[0] ? "same" : "changed",
           out.st[1] == in.st[1] ? "same" : "changed");
    printf("mxcsr=0x%x fcw=0x%x\n", out.mxcsr, out.fcw);
    printf("rbx,r12-r15 preserved=%d\n", memcmp(in.gpr, out.gpr, sizeof(in.gpr)) == 0);
    return 0;
}
