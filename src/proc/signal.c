/* Signals as Linux delivers them on x86-64: the pending set with one siginfo per signal,
 * default actions, the rt_sigframe a handler finds on its stack (or the alternate stack)
 * with the registers and the FXSAVE area, the byte-exact address of a memory fault (the
 * faulting instruction decoded with insn.h), the wake and restart decisions for sleeping
 * processes and exec's reset. Called by the kernel loop between runs (signal_deliver,
 * signal_fault), by the scheduler (signal_wakes, signal_restarts, its ITIMER_REAL timers)
 * and by everything that sends a signal (kill, SIGPIPE, SIGCHLD at exit). With --trace,
 * each signal delivered (to a handler or to its default action) is one strace-like line. */
#include "vmemu/signal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vmemu/abi/linux.h"
#include "vmemu/insn.h"
#include "vmemu/signal_names.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"

#define SIG_BIT(sig) (1ULL << ((sig)-1))
/* Signals the CPU raises for the instruction it runs: delivered before the others. */
#define SIG_SYNCHRONOUS                                                                            \
    (SIG_BIT(LINUX_SIGSEGV) | SIG_BIT(LINUX_SIGBUS) | SIG_BIT(LINUX_SIGILL) |                      \
     SIG_BIT(LINUX_SIGTRAP) | SIG_BIT(LINUX_SIGFPE) | SIG_BIT(LINUX_SIGSYS))
/* Signals whose default action is to do nothing. */
#define SIG_DEFAULT_IGNORE                                                                         \
    (SIG_BIT(LINUX_SIGCHLD) | SIG_BIT(LINUX_SIGURG) | SIG_BIT(LINUX_SIGWINCH) |                    \
     SIG_BIT(LINUX_SIGCONT))
#define SIG_UNBLOCKABLE (SIG_BIT(LINUX_SIGKILL) | SIG_BIT(LINUX_SIGSTOP))
#define SIG_CORE                                                                                   \
    (SIG_BIT(LINUX_SIGSEGV) | SIG_BIT(LINUX_SIGBUS) | SIG_BIT(LINUX_SIGILL) |                      \
     SIG_BIT(LINUX_SIGFPE) | SIG_BIT(LINUX_SIGABRT) | SIG_BIT(LINUX_SIGQUIT) |                     \
     SIG_BIT(LINUX_SIGTRAP) | SIG_BIT(LINUX_SIGSYS) | SIG_BIT(LINUX_SIGXCPU) |                     \
     SIG_BIT(LINUX_SIGXFSZ))

#define SIG_REDZONE     128 /* bytes below RSP the interrupted code may use (x86-64 ABI) */
#define SIG_FX_ALIGN    64  /* alignment of the FXSAVE area */
#define SIG_USER_CS     0x33
#define SIG_USER_SS     0x2b
#define X86_TRAP_DE     0   /* divide error */
#define X86_TRAP_BP     3   /* int3 */
#define X86_TRAP_UD     6   /* invalid opcode */
#define X86_TRAP_PF     14  /* page fault */
#define X86_PF_PROT     0x1 /* page-fault error code: the page was present */
#define X86_PF_WRITE    0x2
#define X86_PF_USER     0x4
#define X86_PF_INSTR    0x10
#define X86_FLAGS_TF    0x100
#define X86_FLAGS_DF    0x400
#define X86_FLAGS_RF    0x10000
#define X86_SYSCALL_LEN 2 /* bytes of the `syscall` instruction */

/* Whether sig's action is to discard it: SIG_IGN, or SIG_DFL with a default of ignore. */
static bool sig_handler_ignored(const struct proc *p, int sig)
{
    uint64_t h = p->leader->sigact[sig - 1].handler;
    return h == LINUX_SIG_IGN || (h == LINUX_SIG_DFL && (SIG_DEFAULT_IGNORE & SIG_BIT(sig)));
}

/* The signal of set to deliver first: a synchronous one, else the lowest (Linux's
 * next_signal). 0 when set is empty. */
static int sig_pick(uint64_t set)
{
    if (set == 0)
        return 0;
    if (set & SIG_SYNCHRONOUS)
        set &= SIG_SYNCHRONOUS;
    return __builtin_ctzll(set) + 1;
}

/* Makes sig pending for p; see the header. A signal of a process that has ended, and a
 * number outside 1..64 (an exit signal a guest chose, say), are dropped. */
void signal_send(struct proc *p, int sig, const struct linux_siginfo *info)
{
    if (sig < 1 || sig > PROC_NSIG)
        return;
    uint64_t bit = SIG_BIT(sig);
    if (p->exited || p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
        return;
    if (!(p->sigmask & bit) && sig_handler_ignored(p, sig))
        return;
    if (p->sigpending & bit)
        return; /* merged into the pending instance (real-time signals too: one slot) */
    struct linux_siginfo *si = &p->siginfo[sig - 1];
    if (info != NULL) {
        *si = *info;
    } else {
        memset(si, 0, sizeof(*si));
        si->si_code = LINUX_SI_KERNEL;
    }
    si->si_signo = sig;
    p->sigpending |= bit;
}

/* The lowest pending signal p does not block, or 0. */
int signal_next(const struct proc *p)
{
    uint64_t d = p->sigpending & ~p->sigmask;
    return d ? __builtin_ctzll(d) + 1 : 0;
}

/* Whether a sleeping p wakes: a pending unblocked signal with a handler or a default
 * action that does something, or (rt_sigtimedwait) a pending signal of the set it waits
 * for. rt_sigtimedwait keeps that set in saved_sigmask while restore_sigmask is false
 * (syscalls/sys_signal.c); saved_sigmask is 0 at any other time restore_sigmask is. */
bool signal_wakes(const struct proc *p)
{
    uint64_t d = p->sigpending & ~p->sigmask;
    for (int sig = 1; d != 0; sig++, d >>= 1)
        if ((d & 1) && !sig_handler_ignored(p, sig))
            return true;
    if (!p->restore_sigmask && (p->sigpending & p->saved_sigmask) &&
        (p->wait.kind == WAIT_SIGNAL || (p->wait.kind == WAIT_IO && p->wait.nfds == 0)))
        return true;
    return false;
}

/* Whether the interrupted sleep is re-executed after the handler (see the header). A
 * signal rt_sigtimedwait waits for, and a timed sleep (nanosleep), always "restart": the
 * former to return the signal, the latter so that signal_deliver() finds the sleep's
 * registers and deadline and ends it with -EINTR and the time left, as Linux's restart
 * block does. A signal without a handler restarts what may be restarted; a handler
 * restarts it only with SA_RESTART. */
bool signal_restarts(const struct proc *p)
{
    if (!p->restore_sigmask && (p->sigpending & p->saved_sigmask))
        return true;
    if (p->wait.kind == WAIT_TIMER)
        return true;
    int sig = sig_pick(p->sigpending & ~p->sigmask);
    if (sig == 0)
        return p->wait.restartable;
    const struct linux_sigaction *act = &p->leader->sigact[sig - 1];
    if (act->handler == LINUX_SIG_DFL || act->handler == LINUX_SIG_IGN)
        return p->wait.restartable;
    return p->wait.restartable && (act->flags & LINUX_SA_RESTART);
}

/* Whether sig's default action dumps core. */
bool signal_default_core(int sig)
{
    return sig >= 1 && sig <= PROC_NSIG && (SIG_CORE & SIG_BIT(sig));
}

/* Whether sp lies on p's alternate stack (Linux's __on_sig_stack). */
static bool on_altstack_raw(const struct proc *p, uint64_t sp)
{
    return sp > p->altstack.ss_sp && sp - p->altstack.ss_sp <= p->altstack.ss_size;
}

/* Linux's on_sig_stack: an auto-disarmed stack never counts as in use. */
static bool on_altstack(const struct proc *p, uint64_t sp)
{
    if ((uint32_t)p->altstack.ss_flags & LINUX_SS_AUTODISARM)
        return false;
    return on_altstack_raw(p, sp);
}

/* Linux's sas_ss_flags: SS_DISABLE without a stack, SS_ONSTACK when sp is on it, else 0. */
static int altstack_flags(const struct proc *p, uint64_t sp)
{
    if (p->altstack.ss_size == 0)
        return LINUX_SS_DISABLE;
    return on_altstack(p, sp) ? LINUX_SS_ONSTACK : 0;
}

/* A sleep of nanosleep or clock_nanosleep woken by a signal was left at its `syscall`
 * instruction (signal_restarts): with a handler to run, it ends now with -EINTR and the
 * time left in its rem argument (relative sleeps only), as Linux's restart block ends. */
static void signal_end_timed_sleep(struct proc *p, struct cpu *cpu)
{
    if (p->wait.kind != WAIT_TIMER || p->mm == NULL)
        return;
    uint64_t rip = cpu_get(cpu, CPU_RIP), nr = cpu_get(cpu, CPU_RAX);
    if (rip != p->trap.rip || (nr != NR_nanosleep && nr != NR_clock_nanosleep))
        return;
    gva_t rem = 0;
    if (nr == NR_nanosleep)
        rem = cpu_get(cpu, CPU_RSI);
    else if (!(cpu_get(cpu, CPU_RSI) & LINUX_TIMER_ABSTIME))
        rem = cpu_get(cpu, CPU_R10);
    uint64_t left = p->wait.left_ns;
    struct linux_timespec ts = {.tv_sec = (int64_t)(left / 1000000000ULL),
                                .tv_nsec = (int64_t)(left % 1000000000ULL)};
    long ret = -EINTR;
    if (rem != 0 && copy_to_user(p->mm, rem, &ts, sizeof(ts)) < 0)
        ret = -EFAULT;
    cpu_set(cpu, CPU_RAX, (uint64_t)ret);
    cpu_set(cpu, CPU_RIP, rip + X86_SYSCALL_LEN);
    p->wait.kind = WAIT_NONE;
}

/* trapno, err and cr2 of the frame: what the CPU exception behind a signal the kernel
 * raised for an instruction said (0 for signals sent by processes). trapno >= 0 is the
 * vector of a CPU exception with error code 0 (#GP of a privileged instruction, int3). */
static void frame_trap_info(const struct proc *p, const struct linux_siginfo *info, int trapno,
                            struct linux_sigcontext *sc)
{
    if (trapno >= 0) {
        sc->trapno = (uint64_t)trapno;
        return;
    }
    if (info->si_code <= 0 || info->si_code == LINUX_SI_KERNEL)
        return;
    switch (info->si_signo) {
    case LINUX_SIGSEGV:
    case LINUX_SIGBUS: {
        enum access a = p->mm != NULL ? p->mm->last_fault.access : ACCESS_READ;
        sc->trapno = X86_TRAP_PF;
        sc->cr2 = info->u.fault.addr;
        sc->err =
            X86_PF_USER | (a == ACCESS_WRITE ? X86_PF_WRITE : 0) |
            (a == ACCESS_EXEC ? X86_PF_INSTR : 0) |
            (info->si_code == LINUX_SEGV_ACCERR && info->si_signo == LINUX_SIGSEGV ? X86_PF_PROT
                                                                                   : 0);
        break;
    }
    case LINUX_SIGFPE:
        sc->trapno = X86_TRAP_DE;
        break;
    case LINUX_SIGILL:
        sc->trapno = X86_TRAP_UD;
        break;
    case LINUX_SIGTRAP:
        sc->trapno = X86_TRAP_BP;
        break;
    default:
        break;
    }
}

/* Where the frame goes (Linux's get_sigframe): below the red zone, or at the top of the
 * alternate stack for SA_ONSTACK when not on it already; the FXSAVE area 64-aligned, the
 * frame under it with RSP = 16n - 8 as after a call. Returns 0, or -EFAULT when the frame
 * would overflow the alternate stack. */
static int frame_place(const struct proc *p, uint64_t flags, uint64_t rsp, gva_t *frame, gva_t *fx)
{
    uint64_t sp = rsp - SIG_REDZONE;
    bool nested = on_altstack(p, rsp), entering = false;
    if ((flags & LINUX_SA_ONSTACK) && altstack_flags(p, sp) == 0) {
        sp = p->altstack.ss_sp + p->altstack.ss_size;
        entering = true;
    }
    *fx = (sp - CPU_FXSAVE_SIZE) & ~(uint64_t)(SIG_FX_ALIGN - 1);
    *frame = ((*fx - sizeof(struct linux_rt_sigframe)) & ~(uint64_t)15) - 8;
    if ((nested || entering) && !on_altstack_raw(p, *frame))
        return -EFAULT;
    return 0;
}

/* The FPU state a handler starts with (Linux clears it): x87 control word 0x37f, MXCSR
 * 0x1f80, every register zero. */
static void fx_init_state(uint8_t fx[CPU_FXSAVE_SIZE])
{
    memset(fx, 0, CPU_FXSAVE_SIZE);
    fx[0] = 0x7f;
    fx[1] = 0x03;
    fx[24] = 0x80;
    fx[25] = 0x1f;
}

/* Builds the rt_sigframe for sig's handler on p's stack and points the registers at the
 * handler; then the handler's mask, SA_RESETHAND and SS_AUTODISARM. Returns 0, or
 * -EFAULT when the frame cannot be written (or there is no restorer, as Linux requires
 * on x86-64). */
/* With --trace: "[PID] --- SIGSEGV {si_signo=SIGSEGV, si_code=2, si_addr=0x4b8a50} ---"
 * for a signal the CPU raised, si_pid and si_uid for one a task sent, as strace prints a
 * delivery. */
static void signal_trace(const struct proc *p, int sig, const struct linux_siginfo *info)
{
    FILE *trace = p->opt != NULL ? p->opt->trace : NULL;
    if (trace == NULL)
        return;
    const char *name = signal_name(sig);
    if ((SIG_SYNCHRONOUS & SIG_BIT(sig)) && info->si_code > 0 && info->u.fault.addr == 0)
        fprintf(trace, "[%d] --- %s {si_signo=%s, si_code=%d, si_addr=NULL} ---\n", p->pid, name,
                name, info->si_code);
    else if ((SIG_SYNCHRONOUS & SIG_BIT(sig)) && info->si_code > 0)
        fprintf(trace, "[%d] --- %s {si_signo=%s, si_code=%d, si_addr=%#" PRIx64 "} ---\n", p->pid,
                name, name, info->si_code, (uint64_t)info->u.fault.addr);
    else
        fprintf(trace, "[%d] --- %s {si_signo=%s, si_code=%d, si_pid=%d, si_uid=%u} ---\n", p->pid,
                name, name, info->si_code, info->u.kill.pid, info->u.kill.uid);
}

static int frame_setup(struct proc *p, int sig, const struct linux_siginfo *info, int trapno)
{
    struct cpu *cpu = p->cpu;
    struct linux_sigaction act = p->leader->sigact[sig - 1];
    if (cpu == NULL || p->mm == NULL || !(act.flags & LINUX_SA_RESTORER))
        return -EFAULT;
    signal_end_timed_sleep(p, cpu);

    uint64_t r[CPU_NREGS];
    for (int i = 0; i < CPU_NREGS; i++)
        r[i] = cpu_get(cpu, (enum cpu_reg)i);
    gva_t frame, fxva;
    if (frame_place(p, act.flags, r[CPU_RSP], &frame, &fxva) < 0)
        return -EFAULT;

    uint64_t oldmask = p->restore_sigmask ? p->saved_sigmask : p->sigmask;
    struct linux_rt_sigframe f;
    memset(&f, 0, sizeof(f));
    f.pretcode = act.restorer;
    f.uc.uc_flags = LINUX_UC_SIGCONTEXT_SS | LINUX_UC_STRICT_RESTORE_SS;
    f.uc.uc_stack.ss_sp = p->altstack.ss_sp;
    f.uc.uc_stack.ss_flags = p->altstack.ss_size ? p->altstack.ss_flags : LINUX_SS_DISABLE;
    f.uc.uc_stack.ss_size = p->altstack.ss_size;
    struct linux_sigcontext *sc = &f.uc.uc_mcontext;
    sc->r8 = r[CPU_R8];
    sc->r9 = r[CPU_R9];
    sc->r10 = r[CPU_R10];
    sc->r11 = r[CPU_R11];
    sc->r12 = r[CPU_R12];
    sc->r13 = r[CPU_R13];
    sc->r14 = r[CPU_R14];
    sc->r15 = r[CPU_R15];
    sc->rdi = r[CPU_RDI];
    sc->rsi = r[CPU_RSI];
    sc->rbp = r[CPU_RBP];
    sc->rbx = r[CPU_RBX];
    sc->rdx = r[CPU_RDX];
    sc->rax = r[CPU_RAX];
    sc->rcx = r[CPU_RCX];
    sc->rsp = r[CPU_RSP];
    sc->rip = r[CPU_RIP];
    sc->eflags = r[CPU_RFLAGS];
    sc->cs = SIG_USER_CS;
    sc->ss = SIG_USER_SS;
    sc->oldmask = oldmask;
    sc->fpstate = fxva;
    frame_trap_info(p, info, trapno, sc);
    f.uc.uc_sigmask = oldmask;
    _Static_assert(sizeof(*info) == sizeof(f.info), "siginfo size");
    memcpy(f.info, info, sizeof(f.info));

    uint8_t fx[CPU_FXSAVE_SIZE];
    cpu_get_fxsave(cpu, fx);
    if (copy_to_user(p->mm, fxva, fx, sizeof(fx)) < 0 ||
        copy_to_user(p->mm, frame, &f, sizeof(f)) < 0)
        return -EFAULT;

    cpu_set(cpu, CPU_RDI, (uint64_t)sig);
    cpu_set(cpu, CPU_RSI, frame + offsetof(struct linux_rt_sigframe, info));
    cpu_set(cpu, CPU_RDX, frame + offsetof(struct linux_rt_sigframe, uc));
    cpu_set(cpu, CPU_RAX, 0);
    cpu_set(cpu, CPU_RSP, frame);
    cpu_set(cpu, CPU_RIP, act.handler);
    cpu_set(cpu, CPU_RFLAGS,
            r[CPU_RFLAGS] & ~(uint64_t)(X86_FLAGS_DF | X86_FLAGS_RF | X86_FLAGS_TF));
    fx_init_state(fx);
    cpu_set_fxsave(cpu, fx);

    p->sigmask = oldmask | act.mask;
    if (!(act.flags & LINUX_SA_NODEFER))
        p->sigmask |= SIG_BIT(sig);
    p->sigmask &= ~SIG_UNBLOCKABLE;
    p->restore_sigmask = false;
    p->saved_sigmask = 0;
    if (act.flags & LINUX_SA_RESETHAND)
        p->leader->sigact[sig - 1].handler = LINUX_SIG_DFL;
    if ((uint32_t)p->altstack.ss_flags & LINUX_SS_AUTODISARM) {
        p->altstack.ss_sp = 0;
        p->altstack.ss_size = 0;
        p->altstack.ss_flags = LINUX_SS_DISABLE;
    }
    return 0;
}

/* Delivers p's deliverable pending signals (see the header): one frame per handled
 * signal, each on top of the previous one (the last one's handler runs first), as Linux
 * does on the way back to user mode. */
bool signal_deliver(struct proc *p)
{
    if (!p->restore_sigmask)
        p->saved_sigmask = 0; /* an rt_sigtimedwait cut short by a signal is over */
    for (int n = 0; n <= PROC_NSIG && !p->exited; n++) {
        int sig = sig_pick(p->sigpending & ~p->sigmask);
        if (sig == 0)
            break;
        struct linux_siginfo info = p->siginfo[sig - 1];
        p->sigpending &= ~SIG_BIT(sig);
        uint64_t h = p->leader->sigact[sig - 1].handler;
        if (h == LINUX_SIG_IGN || (h == LINUX_SIG_DFL && (SIG_DEFAULT_IGNORE & SIG_BIT(sig))))
            continue;
        signal_trace(p, sig, &info);
        if (h == LINUX_SIG_DFL) {
            proc_kill(p, sig); /* terminate, core, and stop (treated as terminate) */
            break;
        }
        if (frame_setup(p, sig, &info, -1) < 0)
            proc_kill(p, LINUX_SIGSEGV); /* Linux's force_sigsegv */
    }
    if (p->restore_sigmask && !p->exited) {
        p->sigmask = p->saved_sigmask; /* rt_sigsuspend without a handler run */
        p->restore_sigmask = false;
        p->saved_sigmask = 0;
    }
    return p->exited;
}

/* The first faulting byte of the data access of the instruction at RIP that touched
 * addr's page, or addr when the instruction does not tell (no or several matching
 * operands, code not readable) or names another byte than an address already exact. */
static uint64_t signal_fault_byte(struct proc *p, uint64_t addr)
{
    const struct fault_info *lf = &p->mm->last_fault;
    uint8_t code[INSN_MAX_LEN];
    uint64_t regs[CPU_NREGS];
    gva_t page = PAGE_DOWN(addr), ea;
    unsigned size;

    if (lf->access == ACCESS_EXEC)
        return addr;
    for (int i = 0; i < CPU_NREGS; i++)
        regs[i] = cpu_get(p->cpu, (enum cpu_reg)i);
    size_t n = copy_from_user_nofault(p->mm, code, regs[CPU_RIP], sizeof(code));
    if (n == 0 || insn_mem_access(code, n, regs, page, lf->access, &ea, &size) < 0)
        return addr;
    gva_t first = insn_first_fault_byte(ea, page);
    return addr == page || addr == first ? first : addr;
}

/* A synchronous fault (see the header): its frame is built at once, ahead of any other
 * pending signal; the data address of a SIGSEGV/SIGBUS is narrowed from the page to the
 * byte. Returns false also when the frame cannot be written (the caller then ends p with
 * the crash report, where Linux would force SIGSEGV). */
bool signal_fault(struct proc *p, int sig, int code, uint64_t addr)
{
    return signal_fault_trap(p, sig, code, addr, -1);
}

bool signal_fault_trap(struct proc *p, int sig, int code, uint64_t addr, int trapno)
{
    if (sig < 1 || sig > PROC_NSIG || p->cpu == NULL || p->mm == NULL)
        return false;
    uint64_t h = p->leader->sigact[sig - 1].handler;
    if ((sig == LINUX_SIGSEGV || sig == LINUX_SIGBUS) && code > 0 && code != LINUX_SI_KERNEL)
        addr = signal_fault_byte(p, addr);
    struct linux_siginfo info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = code;
    info.u.fault.addr = addr;
    signal_trace(p, sig, &info); /* handled or not: the unhandled one kills (crash report) */
    if ((p->sigmask & SIG_BIT(sig)) || h == LINUX_SIG_DFL || h == LINUX_SIG_IGN)
        return false;
    return frame_setup(p, sig, &info, trapno) == 0;
}

/* execve: caught signals go back to SIG_DFL, every action loses its flags, mask and
 * restorer (Linux's flush_signal_handlers); the alternate stack is disabled. */
void signal_exec_reset(struct proc *p)
{
    for (int i = 0; i < PROC_NSIG; i++) {
        struct linux_sigaction *a = &p->leader->sigact[i];
        if (a->handler != LINUX_SIG_IGN)
            a->handler = LINUX_SIG_DFL;
        a->flags = 0;
        a->restorer = 0;
        a->mask = 0;
    }
    memset(&p->altstack, 0, sizeof(p->altstack));
    p->altstack.ss_flags = LINUX_SS_DISABLE;
}
