/* Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend, pause,
 * sigaltstack, rt_sigreturn, rt_sigtimedwait, kill, tkill, tgkill, alarm, getitimer and
 * setitimer. Delivery itself is src/signal.c. Called by syscalls/dispatch.c. */
#include <string.h>

#include "linux_abi.h"
#include "sysdefs.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"

/* placeholder: being written */

/* Signals that can be neither caught nor blocked. */
#define SIG_UNBLOCKABLE ((1ULL << (LINUX_SIGKILL - 1)) | (1ULL << (LINUX_SIGSTOP - 1)))

/* rt_sigaction records the action (nothing is delivered yet). SIGKILL and SIGSTOP may be
 * queried but not changed. */
SYSCALL_DEFINE4(rt_sigaction, int, sig, gva_t, act, gva_t, oact, size_t, sigsetsize)
{
    if (sigsetsize != LINUX_SIGSET_SIZE)
        return -EINVAL;
    if (sig < 1 || sig > PROC_NSIG)
        return -EINVAL;
    if (act != 0 && (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP))
        return -EINVAL;
    struct linux_sigaction na, old = p->sigact[sig - 1];
    if (act != 0) {
        if (copy_from_user(p->mm, &na, act, sizeof(na)) < 0)
            return -EFAULT;
        na.mask &= ~SIG_UNBLOCKABLE;
        p->sigact[sig - 1] = na;
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

SYSCALL_DEFINE0(rt_sigreturn)
{
    (void)p;
    return -ENOSYS;
}

SYSCALL_DEFINE2(rt_sigpending, gva_t, set, size_t, size)
{
    (void)set;
    (void)size;
    return -ENOSYS;
}

SYSCALL_DEFINE2(rt_sigsuspend, gva_t, set, size_t, size)
{
    (void)set;
    (void)size;
    return -ENOSYS;
}

SYSCALL_DEFINE0(pause)
{
    (void)p;
    return -ENOSYS;
}

SYSCALL_DEFINE2(sigaltstack, gva_t, ss, gva_t, old)
{
    (void)ss;
    (void)old;
    return -ENOSYS;
}

SYSCALL_DEFINE4(rt_sigtimedwait, gva_t, set, gva_t, info, gva_t, ts, size_t, size)
{
    (void)set;
    (void)info;
    (void)ts;
    (void)size;
    return -ENOSYS;
}

SYSCALL_DEFINE2(kill, int, pid, int, sig)
{
    (void)pid;
    (void)sig;
    return -ENOSYS;
}

SYSCALL_DEFINE2(tkill, int, tid, int, sig)
{
    (void)tid;
    (void)sig;
    return -ENOSYS;
}

SYSCALL_DEFINE3(tgkill, int, tgid, int, tid, int, sig)
{
    (void)tgid;
    (void)tid;
    (void)sig;
    return -ENOSYS;
}

SYSCALL_DEFINE1(alarm, unsigned, secs)
{
    (void)secs;
    return -ENOSYS;
}

SYSCALL_DEFINE2(getitimer, int, which, gva_t, val)
{
    (void)which;
    (void)val;
    return -ENOSYS;
}

SYSCALL_DEFINE3(setitimer, int, which, gva_t, nv, gva_t, ov)
{
    (void)which;
    (void)nv;
    (void)ov;
    return -ENOSYS;
}

