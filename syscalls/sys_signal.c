/* Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend, pause,
 * sigaltstack, rt_sigreturn, rt_sigtimedwait, kill, tkill, tgkill, alarm, getitimer and
 * setitimer (ITIMER_REAL on the host's monotonic clock, fired by the scheduler through
 * signal_timers). Delivery itself, and the frame rt_sigreturn reads back, are in
 * src/proc/signal.c. Called by syscalls/dispatch.c. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/warn_once.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/util.h"

/* Signals that can be neither caught nor blocked. */
#define SIG_UNBLOCKABLE ((1ULL << (LINUX_SIGKILL - 1)) | (1ULL << (LINUX_SIGSTOP - 1)))

#define SIG_BIT(sig)    (1ULL << ((sig)-1))
#define NSEC_PER_SEC    1000000000ULL
#define NSEC_PER_USEC   1000ULL
/* eflags bits rt_sigreturn takes from the frame (Linux's FIX_EFLAGS without TF: vmemu
 * does not single-step guests): CF PF AF ZF SF DF OF NT RF AC. */
#define SIGRETURN_FLAGS 0x54cd5ULL

/* rt_sigaction records the action. SIGKILL and SIGSTOP may be queried but not changed.
 * An action that ignores the signal discards a pending instance, as Linux does. */
SYSCALL_DEFINE4(rt_sigaction, int, sig, gva_t, act, gva_t, oact, size_t, sigsetsize)
{
    if (sigsetsize != LINUX_SIGSET_SIZE)
        return -EINVAL;
    if (sig < 1 || sig > PROC_NSIG)
        return -EINVAL;
    if (act != 0 && (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP))
        return -EINVAL;
    struct linux_sigaction na, old = p->leader->sigact[sig - 1];
    if (act != 0) {
        if (copy_from_user(p->mm, &na, act, sizeof(na)) < 0)
            return -EFAULT;
        na.mask &= ~SIG_UNBLOCKABLE;
        p->leader->sigact[sig - 1] = na;
        bool dfl_ignores = sig == LINUX_SIGCHLD || sig == LINUX_SIGURG || sig == LINUX_SIGWINCH ||
                           sig == LINUX_SIGCONT;
        if (na.handler == LINUX_SIG_IGN || (na.handler == LINUX_SIG_DFL && dfl_ignores))
            p->sigpending &= ~SIG_BIT(sig);
    }
    if (oact != 0 && copy_to_user(p->mm, oact, &old, sizeof(old)) < 0)
        return -EFAULT;
    return 0;
}

SYSCALL_DEFINE4(rt_sigprocmask, int, how, gva_t, set, gva_t, oset, size_t, sigsetsize)
{
    if (sigsetsize != LINUX_SIGSET_SIZE)
        return -EINVAL;
    uint64_t old = p->sigmask;
    if (set != 0) {
        uint64_t ns;
        if (get_user_u64(p->mm, set, &ns) < 0)
            return -EFAULT;
        ns &= ~SIG_UNBLOCKABLE;
        switch (how) {
        case LINUX_SIG_BLOCK:
            p->sigmask |= ns;
            break;
        case LINUX_SIG_UNBLOCK:
            p->sigmask &= ~ns;
            break;
        case LINUX_SIG_SETMASK:
            p->sigmask = ns;
            break;
        default:
            return -EINVAL;
        }
    }
    if (oset != 0 && put_user_u64(p->mm, oset, old) < 0)
        return -EFAULT;
    return 0;
}

/* Reads the rt_sigframe back from the stack (the handler's `ret` popped pretcode, so
 * the ucontext is at RSP) and restores what it holds: general registers, the eflags bits
 * user code may change, the FPU state (the initial one when fpstate is 0), the mask and
 * the alternate stack. Returns the restored RAX, which the syscall hook leaves in place;
 * RCX and R11 are kept too. A frame that cannot be read ends the process with SIGSEGV. */
SYSCALL_DEFINE0(rt_sigreturn)
{
    struct cpu *cpu = p->cpu;
    if (cpu == NULL)
        return -EFAULT;
    uint64_t rsp = cpu_get(cpu, CPU_RSP);
    struct linux_ucontext uc;
    uint8_t fx[CPU_FXSAVE_SIZE];
    const struct linux_sigcontext *sc = &uc.uc_mcontext;
    if (copy_from_user(p->mm, &uc, rsp, sizeof(uc)) < 0 ||
        (sc->fpstate != 0 && copy_from_user(p->mm, fx, sc->fpstate, sizeof(fx)) < 0)) {
        proc_kill(p, LINUX_SIGSEGV);
        cpu_request_stop(cpu);
        return 0;
    }
    p->sigmask = uc.uc_sigmask & ~SIG_UNBLOCKABLE;
    /* restore_altstack: fails quietly while the handler's stack is the alternate one */
    if (!(p->altstack.ss_size != 0 && !((uint32_t)p->altstack.ss_flags & LINUX_SS_AUTODISARM) &&
          rsp > p->altstack.ss_sp && rsp - p->altstack.ss_sp <= p->altstack.ss_size)) {
        int mode = uc.uc_stack.ss_flags & ~(int32_t)LINUX_SS_AUTODISARM;
        if (mode == LINUX_SS_DISABLE) {
            memset(&p->altstack, 0, sizeof(p->altstack));
            p->altstack.ss_flags = uc.uc_stack.ss_flags;
        } else if ((mode == 0 || mode == LINUX_SS_ONSTACK) &&
                   uc.uc_stack.ss_size >= LINUX_MINSIGSTKSZ) {
            p->altstack.ss_sp = uc.uc_stack.ss_sp;
            p->altstack.ss_size = uc.uc_stack.ss_size;
            p->altstack.ss_flags = uc.uc_stack.ss_flags;
        }
    }
    cpu_set(cpu, CPU_R8, sc->r8);
    cpu_set(cpu, CPU_R9, sc->r9);
    cpu_set(cpu, CPU_R10, sc->r10);
    cpu_set(cpu, CPU_R11, sc->r11);
    cpu_set(cpu, CPU_R12, sc->r12);
    cpu_set(cpu, CPU_R13, sc->r13);
    cpu_set(cpu, CPU_R14, sc->r14);
    cpu_set(cpu, CPU_R15, sc->r15);
    cpu_set(cpu, CPU_RDI, sc->rdi);
    cpu_set(cpu, CPU_RSI, sc->rsi);
    cpu_set(cpu, CPU_RBP, sc->rbp);
    cpu_set(cpu, CPU_RBX, sc->rbx);
    cpu_set(cpu, CPU_RDX, sc->rdx);
    cpu_set(cpu, CPU_RCX, sc->rcx);
    cpu_set(cpu, CPU_RSP, sc->rsp);
    uint64_t flags = cpu_get(cpu, CPU_RFLAGS);
    cpu_set(cpu, CPU_RFLAGS, (flags & ~SIGRETURN_FLAGS) | (sc->eflags & SIGRETURN_FLAGS));
    cpu_set(cpu, CPU_RIP, sc->rip);
    if (sc->fpstate == 0) {
        memset(fx, 0, sizeof(fx));
        fx[0] = 0x7f; /* x87 control word 0x37f */
        fx[1] = 0x03;
        fx[24] = 0x80; /* MXCSR 0x1f80 */
        fx[25] = 0x1f;
    }
    cpu_set_fxsave(cpu, fx);
    cpu_keep_syscall_regs(cpu);
    return (long)sc->rax;
}

/* The signals pending while blocked (Linux ANDs the pending set with the mask). A size
 * up to 8 bytes is accepted; only that many bytes are written. */
SYSCALL_DEFINE2(rt_sigpending, gva_t, set, size_t, size)
{
    if (size > LINUX_SIGSET_SIZE)
        return -EINVAL;
    uint64_t pend = p->sigpending & p->sigmask;
    return copy_to_user(p->mm, set, &pend, size) < 0 ? -EFAULT : 0;
}

/* Replaces the mask until a handler runs, then sleeps for a signal; always -EINTR. The old
 * mask is kept in saved_sigmask: the frame of the handler saves it, or signal_deliver
 * puts it back when no handler ran. On a re-execution (p->retry) the mask is already in
 * place. */
SYSCALL_DEFINE2(rt_sigsuspend, gva_t, set, size_t, size)
{
    if (size != LINUX_SIGSET_SIZE)
        return -EINVAL;
    if (!(p->retry && p->restore_sigmask)) {
        uint64_t ns;
        if (get_user_u64(p->mm, set, &ns) < 0)
            return -EFAULT;
        p->saved_sigmask = p->sigmask;
        p->restore_sigmask = true;
        p->sigmask = ns & ~SIG_UNBLOCKABLE;
    }
    if (signal_next(p) != 0)
        return -EINTR;
    return sched_block_signal(p);
}

/* Sleeps until a signal runs a handler (or ends the process); always -EINTR. */
SYSCALL_DEFINE0(pause)
{
    p->saved_sigmask = 0;
    if (signal_next(p) != 0)
        return -EINTR;
    return sched_block_signal(p);
}

/* sigaltstack as Linux's do_sigaltstack: old reports SS_ONSTACK while the caller runs on
 * it (and keeps SS_AUTODISARM); a new stack cannot be set while on the current one
 * (-EPERM), its mode is 0, SS_ONSTACK or SS_DISABLE (-EINVAL) and it has at least
 * MINSIGSTKSZ bytes (-ENOMEM). */
SYSCALL_DEFINE2(sigaltstack, gva_t, ss, gva_t, old)
{
    uint64_t sp = p->cpu != NULL ? cpu_get(p->cpu, CPU_RSP) : 0;
    const struct linux_stack *cur = &p->altstack;
    bool autodisarm = (uint32_t)cur->ss_flags & LINUX_SS_AUTODISARM;
    bool onstack =
        cur->ss_size != 0 && !autodisarm && sp > cur->ss_sp && sp - cur->ss_sp <= cur->ss_size;
    struct linux_stack o = *cur, n;
    o.ss_flags = cur->ss_size == 0 ? LINUX_SS_DISABLE : onstack ? LINUX_SS_ONSTACK : 0;
    if (autodisarm)
        o.ss_flags |= (int32_t)LINUX_SS_AUTODISARM;
    o.pad = 0;
    if (ss != 0) {
        if (copy_from_user(p->mm, &n, ss, sizeof(n)) < 0)
            return -EFAULT;
        if (onstack)
            return -EPERM;
        int mode = n.ss_flags & ~(int32_t)LINUX_SS_AUTODISARM;
        if (mode != LINUX_SS_DISABLE && mode != LINUX_SS_ONSTACK && mode != 0)
            return -EINVAL;
        if (mode == LINUX_SS_DISABLE) {
            n.ss_sp = 0;
            n.ss_size = 0;
        } else if (n.ss_size < LINUX_MINSIGSTKSZ) {
            return -ENOMEM;
        }
        n.pad = 0;
        p->altstack = n;
    }
    if (old != 0 && copy_to_user(p->mm, old, &o, sizeof(o)) < 0)
        return -EFAULT;
    return 0;
}

/* Longest sleep vmemu computes with (about 146 years): keeps deadlines from wrapping. */
#define SIG_MAX_SLEEP_NS (1ULL << 62)

/* Waits for a signal of set (normally blocked) and takes it without running a handler:
 * returns its number and writes its siginfo. With a zero timeout it only looks (-EAGAIN);
 * a timeout that passes gives -EAGAIN; another signal that runs a handler gives -EINTR.
 * While it sleeps the set is kept in saved_sigmask with restore_sigmask false, which is
 * how signal_wakes() and signal_restarts() recognise it (src/proc/signal.c); any other time
 * saved_sigmask is 0 then. */
SYSCALL_DEFINE4(rt_sigtimedwait, gva_t, set, gva_t, info, gva_t, ts, size_t, size)
{
    uint64_t want;
    if (size != LINUX_SIGSET_SIZE)
        return -EINVAL;
    if (get_user_u64(p->mm, set, &want) < 0)
        return -EFAULT;
    want &= ~SIG_UNBLOCKABLE;
    uint64_t rel = 0;
    if (ts != 0) {
        struct linux_timespec lt;
        if (copy_from_user(p->mm, &lt, ts, sizeof(lt)) < 0)
            return -EFAULT;
        if (lt.tv_sec < 0 || lt.tv_nsec < 0 || (uint64_t)lt.tv_nsec >= NSEC_PER_SEC)
            return -EINVAL;
        rel = (uint64_t)lt.tv_sec >= SIG_MAX_SLEEP_NS / NSEC_PER_SEC
                  ? SIG_MAX_SLEEP_NS
                  : (uint64_t)lt.tv_sec * NSEC_PER_SEC + (uint64_t)lt.tv_nsec;
    }
    uint64_t ready = p->sigpending & want;
    if (ready != 0) {
        int sig = __builtin_ctzll(ready) + 1;
        struct linux_siginfo si = p->siginfo[sig - 1];
        p->saved_sigmask = 0;
        if (info != 0 && copy_to_user(p->mm, info, &si, sizeof(si)) < 0)
            return -EFAULT;
        p->sigpending &= ~SIG_BIT(sig);
        return sig;
    }
    uint64_t deadline = ts != 0 ? sched_deadline(p, rel) : 0;
    if (ts != 0 && sched_now(p->sched) >= deadline) {
        p->saved_sigmask = 0;
        return -EAGAIN;
    }
    p->saved_sigmask = want;
    if (deadline != 0)
        return sched_block_io(p, NULL, 0, deadline, false);
    return sched_block_signal(p);
}

/* The siginfo of a signal sent by p with kill (SI_USER) or tkill/tgkill (SI_TKILL). */
static struct linux_siginfo kill_info(const struct proc *p, int sig, int code)
{
    struct linux_siginfo si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.u.kill.pid = p->leader->pid;
    si.u.kill.uid = (uint32_t)getuid();
    return si;
}

/* Sends sig (0: only checks the target exists) to t's process (kill) or to the thread t
 * itself (tkill, tgkill). */
static void kill_one(struct proc *t, int sig, const struct linux_siginfo *si, bool thread)
{
    if (sig != 0 && thread)
        signal_send(t, sig, si);
    else if (sig != 0)
        sched_signal_process(t, sig, si);
}

/* Whether t can receive signals from kill: it has not been reaped. Zombies take them
 * (and drop them) as on Linux. */
static bool kill_target(const struct proc *t)
{
    return t->state != PROC_DEAD;
}

/* kill as Linux: pid > 0 that process; 0 the caller's process group; -1 every process
 * but the caller and the first process (vmemu's init); < -1 the group -pid. -ESRCH when
 * nothing matched. Only vmemu's own processes can be reached. */
SYSCALL_DEFINE2(kill, int, pid, int, sig)
{
    if (sig < 0 || sig > PROC_NSIG)
        return -EINVAL;
    struct linux_siginfo si = kill_info(p, sig, LINUX_SI_USER);
    if (pid > 0) {
        struct proc *t = p->sched != NULL ? sched_find(p->sched, pid) : pid == p->pid ? p : NULL;
        if (t == NULL)
            return -ESRCH;
        kill_one(t, sig, &si, false);
        return 0;
    }
    if (pid == INT32_MIN)
        return -ESRCH;
    int pgid = pid == 0 ? p->leader->pgid : -pid;
    bool found = false;
    if (p->sched == NULL) {
        if (pid == -1 || p->leader->pgid != pgid)
            return -ESRCH;
        kill_one(p, sig, &si, false);
        return 0;
    }
    for (size_t i = 0; i < p->sched->nprocs; i++) {
        struct proc *t = p->sched->procs[i];
        if (!kill_target(t) || t->leader != t)
            continue; /* once per process, through its leader */
        if (pid == -1 ? (t == p->leader || t == p->sched->init) : t->pgid != pgid)
            continue;
        kill_one(t, sig, &si, false);
        found = true;
    }
    return found ? 0 : -ESRCH;
}

/* The thread tid, or NULL. */
static struct proc *tkill_find(struct proc *p, int tid)
{
    if (p->sched != NULL)
        return sched_find(p->sched, tid);
    return tid == p->pid ? p : NULL;
}

SYSCALL_DEFINE2(tkill, int, tid, int, sig)
{
    if (tid <= 0 || sig < 0 || sig > PROC_NSIG)
        return -EINVAL;
    struct proc *t = tkill_find(p, tid);
    if (t == NULL)
        return -ESRCH;
    struct linux_siginfo si = kill_info(p, sig, LINUX_SI_TKILL);
    kill_one(t, sig, &si, true);
    return 0;
}

SYSCALL_DEFINE3(tgkill, int, tgid, int, tid, int, sig)
{
    if (tid <= 0 || tgid <= 0 || sig < 0 || sig > PROC_NSIG)
        return -EINVAL;
    struct proc *t = tkill_find(p, tid);
    if (t == NULL || t->leader->pid != tgid)
        return -ESRCH;
    struct linux_siginfo si = kill_info(p, sig, LINUX_SI_TKILL);
    kill_one(t, sig, &si, true);
    return 0;
}

/* The ITIMER_REAL time left (0 when disarmed). */
static uint64_t itimer_left(const struct proc *p)
{
    if (p->leader->itimer_deadline_ns == 0)
        return 0;
    uint64_t now = sched_now(p->sched);
    return p->leader->itimer_deadline_ns > now ? p->leader->itimer_deadline_ns - now : 1;
}

static struct linux_timeval ns_to_timeval(uint64_t ns)
{
    struct linux_timeval tv = {.tv_sec = (int64_t)(ns / NSEC_PER_SEC),
                               .tv_usec = (int64_t)(ns % NSEC_PER_SEC / NSEC_PER_USEC)};
    if (ns != 0 && tv.tv_sec == 0 && tv.tv_usec == 0)
        tv.tv_usec = 1; /* an armed timer never reads as disarmed */
    return tv;
}

/* Arms ITIMER_REAL (value 0 disarms it; the interval reloads it). */
static void itimer_arm(struct proc *p, uint64_t value_ns, uint64_t interval_ns)
{
    p->leader->itimer_deadline_ns = value_ns != 0 ? sched_now(p->sched) + value_ns : 0;
    if (value_ns != 0 && p->sched)
        p->sched->timer_armed = true;
    p->leader->itimer_interval_ns = value_ns != 0 ? interval_ns : 0;
}

/* alarm: returns the seconds left of the previous alarm, rounded to the nearest second
 * (at least 1 while one is armed), as Linux. */
SYSCALL_DEFINE1(alarm, unsigned, secs)
{
    uint64_t left = itimer_left(p);
    uint64_t ret = left / NSEC_PER_SEC;
    if (left % NSEC_PER_SEC >= NSEC_PER_SEC / 2 || (ret == 0 && left != 0))
        ret++;
    itimer_arm(p, (uint64_t)secs * NSEC_PER_SEC, 0);
    return (long)ret;
}

/* ITIMER_VIRTUAL and ITIMER_PROF count guest CPU time, which vmemu does not: -EINVAL,
 * said once on stderr; any other timer than the three is -EINVAL too. */
static int itimer_which(int which)
{
    static struct warn_once reported;
    if (which == LINUX_ITIMER_REAL)
        return 0;
    if ((which == LINUX_ITIMER_VIRTUAL || which == LINUX_ITIMER_PROF) && warn_once(&reported, 0)) {
        fprintf(stderr, "vmemu: setitimer/getitimer: only ITIMER_REAL is supported; "
                        "ITIMER_VIRTUAL and ITIMER_PROF return -EINVAL\n");
    }
    return -EINVAL;
}

static struct linux_itimerval itimer_now(const struct proc *p)
{
    struct linux_itimerval v = {.it_interval = ns_to_timeval(p->leader->itimer_interval_ns),
                                .it_value = ns_to_timeval(itimer_left(p))};
    return v;
}

SYSCALL_DEFINE2(getitimer, int, which, gva_t, val)
{
    int err = itimer_which(which);
    if (err < 0)
        return err;
    struct linux_itimerval v = itimer_now(p);
    return copy_to_user(p->mm, val, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

/* A timeval as nanoseconds; -EINVAL unless 0 <= tv_usec < 1000000 and tv_sec >= 0. */
static int timeval_to_ns(const struct linux_timeval *tv, uint64_t *ns)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EINVAL;
    if ((uint64_t)tv->tv_sec >= SIG_MAX_SLEEP_NS / NSEC_PER_SEC)
        *ns = SIG_MAX_SLEEP_NS;
    else
        *ns = (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * NSEC_PER_USEC;
    return 0;
}

/* setitimer(ITIMER_REAL): nv NULL disarms the timer (as Linux still accepts); the old
 * value goes to ov. */
SYSCALL_DEFINE3(setitimer, int, which, gva_t, nv, gva_t, ov)
{
    int err = itimer_which(which);
    if (err < 0)
        return err;
    struct linux_itimerval n;
    memset(&n, 0, sizeof(n));
    if (nv != 0 && copy_from_user(p->mm, &n, nv, sizeof(n)) < 0)
        return -EFAULT;
    uint64_t value, interval;
    if (timeval_to_ns(&n.it_value, &value) < 0 || timeval_to_ns(&n.it_interval, &interval) < 0)
        return -EINVAL;
    struct linux_itimerval o = itimer_now(p);
    itimer_arm(p, value, interval);
    if (ov != 0 && copy_to_user(p->mm, ov, &o, sizeof(o)) < 0)
        return -EFAULT;
    return 0;
}

/* rt_sigqueueinfo/rt_tgsigqueueinfo (sigqueue, pthread_sigqueue): the guest's own siginfo
 * goes with the signal. As Linux, a process may not pass itself off as the kernel or kill
 * (si_code >= 0) or tkill (SI_TKILL) to another process: EPERM. */
static long queue_info(struct proc *p, struct proc *t, int sig, gva_t uinfo, bool thread)
{
    struct linux_siginfo si;
    if (sig < 0 || sig > PROC_NSIG)
        return -EINVAL;
    if (copy_from_user(p->mm, &si, uinfo, sizeof(si)) < 0)
        return -EFAULT;
    if (t == NULL)
        return -ESRCH;
    if ((si.si_code >= 0 || si.si_code == LINUX_SI_TKILL) && t->leader != p->leader)
        return -EPERM;
    si.si_signo = sig;
    kill_one(t, sig, &si, thread);
    return 0;
}

SYSCALL_DEFINE3(rt_sigqueueinfo, int, tgid, int, sig, gva_t, uinfo)
{
    struct proc *t = tgid > 0 ? tkill_find(p, tgid) : NULL;
    return queue_info(p, t != NULL && t->leader == t ? t : NULL, sig, uinfo, false);
}

SYSCALL_DEFINE4(rt_tgsigqueueinfo, int, tgid, int, tid, int, sig, gva_t, uinfo)
{
    if (tgid <= 0 || tid <= 0)
        return -EINVAL;
    struct proc *t = tkill_find(p, tid);
    return queue_info(p, t != NULL && t->leader->pid == tgid ? t : NULL, sig, uinfo, true);
}
