/* Process life-cycle syscalls: fork, vfork, clone and clone3 (fork-like flags), wait4
 * and waitid, setpgid and setsid. Process creation is proc_fork and the scheduler
 * (src/proc/sched.c); execve is in syscalls/sys_exec.c. Called by syscalls/dispatch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/warn_once.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"

/* clone flags (Linux's values). */
#define CL_CSIGNAL        0x000000ffULL
#define CL_VM             0x00000100ULL
#define CL_FILES          0x00000400ULL
#define CL_SIGHAND        0x00000800ULL
#define CL_PIDFD          0x00001000ULL
#define CL_VFORK          0x00004000ULL
#define CL_PARENT         0x00008000ULL
#define CL_THREAD         0x00010000ULL
#define CL_SETTLS         0x00080000ULL
#define CL_PARENT_SETTID  0x00100000ULL
#define CL_CHILD_CLEARTID 0x00200000ULL
#define CL_CHILD_SETTID   0x01000000ULL

/* The common part of fork, vfork, clone and clone3. */
static long do_fork(struct proc *p, uint64_t flags, gva_t newsp, gva_t ptid, gva_t ctid,
                    uint64_t tls)
{
    static struct warn_once reported;
    if ((flags & CL_THREAD) || ((flags & CL_VM) && !(flags & CL_VFORK))) {
        if (warn_once(&reported, 0))
            fprintf(stderr, "vmemu: clone with CLONE_VM or CLONE_THREAD (threads) is not "
                            "supported, returning -ENOSYS\n");
        return -ENOSYS;
    }
    if ((flags & CL_SIGHAND) && !(flags & CL_VM))
        return -EINVAL;
    if (flags & CL_PIDFD)
        return -EINVAL; /* no pidfds in vmemu */
    struct sched *s = p->sched;
    if (!s)
        return -ENOSYS;
    if (sched_nr_live(s) >= p->rlim[LINUX_RLIMIT_NPROC].cur)
        return -EAGAIN;
    struct proc *c;
    int rc = proc_fork(p, (flags & CL_VFORK) != 0, &c);
    if (rc < 0)
        return rc;
    if ((rc = sched_add(s, c)) < 0) {
        proc_destroy(c);
        return rc;
    }
    if ((flags & CL_PARENT) && p->parent) {
        c->parent = p->parent;
        c->ppid = p->parent->pid;
    }
    c->exit_signal = (int)(flags & CL_CSIGNAL);
    c->regfix.rax_set = true;
    c->regfix.rax = 0;
    if (newsp) {
        c->regfix.rsp_set = true;
        c->regfix.rsp = newsp;
    }
    if (flags & CL_SETTLS) {
        c->regfix.fs_set = true;
        c->regfix.fs = tls;
    }
    if (flags & CL_CHILD_CLEARTID)
        c->clear_child_tid = ctid;
    if (flags & CL_CHILD_SETTID) {
        /* The child writes its tid itself as it starts (Linux's schedule_tail): the fault
         * is the child's. */
        struct task_vm_stats *charge = p->sys->charge;
        p->sys->charge = &c->vmstat;
        put_user_u32(c->mm, ctid, (uint32_t)c->pid);
        p->sys->charge = charge;
    }
    if (flags & CL_PARENT_SETTID)
        put_user_u32(p->mm, ptid, (uint32_t)c->pid);
    if (flags & CL_VFORK) {
        /* The parent sleeps until the child execs or ends; its fork has returned. */
        c->vfork_parent = p;
        free(p->wait.fds);
        memset(&p->wait, 0, sizeof(p->wait));
        p->wait.kind = WAIT_VFORK;
        p->wait.vfork_child = c;
        p->state = PROC_SLEEPING;
    }
    if (p->cpu)
        cpu_request_stop(p->cpu); /* the child's registers are saved after this run */
    return c->pid;
}

SYSCALL_DEFINE0(fork)
{
    return do_fork(p, LINUX_SIGCHLD, 0, 0, 0, 0);
}

SYSCALL_DEFINE0(vfork)
{
    return do_fork(p, CL_VM | CL_VFORK | LINUX_SIGCHLD, 0, 0, 0, 0);
}

SYSCALL_DEFINE5(clone, uint64_t, flags, gva_t, sp, gva_t, ptid, gva_t, ctid, uint64_t, tls)
{
    return do_fork(p, flags, sp, ptid, ctid, tls);
}

/* struct clone_args (the first 64 bytes: CLONE_ARGS_SIZE_VER0). */
struct linux_clone_args {
    uint64_t flags;       /* CLONE_* */
    uint64_t pidfd;       /* CLONE_PIDFD destination */
    uint64_t child_tid;   /* CLONE_CHILD_SETTID/CLEARTID */
    uint64_t parent_tid;  /* CLONE_PARENT_SETTID */
    uint64_t exit_signal; /* signal at exit */
    uint64_t stack;       /* lowest byte of the child's stack */
    uint64_t stack_size;  /* its size */
    uint64_t tls;         /* CLONE_SETTLS */
};

SYSCALL_DEFINE2(clone3, gva_t, uargs, size_t, size)
{
    struct linux_clone_args ca;
    if (size < sizeof(ca) || size > 4096)
        return -EINVAL;
    if (copy_from_user(p->mm, &ca, uargs, sizeof(ca)) < 0)
        return -EFAULT;
    if ((ca.flags & CL_CSIGNAL) || ca.exit_signal > PROC_NSIG)
        return -EINVAL;
    gva_t sp = ca.stack ? ca.stack + ca.stack_size : 0;
    return do_fork(p, ca.flags | ca.exit_signal, sp, ca.parent_tid, ca.child_tid, ca.tls);
}

/* Whether child c matches wait4's pid argument for parent p. */
static bool wait_matches(const struct proc *p, const struct proc *c, int pid)
{
    if (c->parent != p || c->state == PROC_DEAD)
        return false;
    if (pid > 0)
        return c->pid == pid;
    if (pid == 0)
        return c->pgid == p->pgid;
    if (pid < -1)
        return c->pgid == -pid;
    return true;
}

/* The first matching child that has ended, or NULL; *any says whether any matched. */
static struct proc *wait_find(struct proc *p, int pid, bool *any)
{
    *any = false;
    for (size_t i = 0; i < p->sched->nprocs; i++) {
        struct proc *c = p->sched->procs[i];
        if (!wait_matches(p, c, pid))
            continue;
        *any = true;
        if (c->state == PROC_ZOMBIE)
            return c;
    }
    return NULL;
}

/* The rusage wait4 reports for a reaped child: its counters and its own children's. */
static void child_rusage(const struct proc *c, struct linux_rusage *ru)
{
    struct proc_usage u = c->usage;
    proc_usage_add(&u, &c->children);
    sys_fill_rusage(&u, ru);
}

SYSCALL_DEFINE4(wait4, int, pid, gva_t, status, int, options, gva_t, ru)
{
    if (options & ~(LINUX_WNOHANG | LINUX_WUNTRACED | LINUX_WCONTINUED | LINUX_WALL |
                    (int)LINUX_WCLONE | LINUX_WNOTHREAD))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -ESRCH;
    if (!p->sched)
        return -ECHILD;
    bool any;
    struct proc *c = wait_find(p, pid, &any);
    if (!any)
        return -ECHILD;
    if (!c)
        return (options & LINUX_WNOHANG) ? 0 : sched_block_child(p);
    if (status && put_user_u32(p->mm, status, (uint32_t)proc_linux_status(c)) < 0)
        return -EFAULT;
    if (ru) {
        struct linux_rusage r;
        child_rusage(c, &r);
        if (copy_to_user(p->mm, ru, &r, sizeof(r)) < 0)
            return -EFAULT;
    }
    int cpid = c->pid;
    sched_reap(c);
    return cpid;
}

SYSCALL_DEFINE5(waitid, int, which, int, id, gva_t, info, int, options, gva_t, ru)
{
    int pid;
    if (options & ~(LINUX_WNOHANG | LINUX_WUNTRACED | LINUX_WEXITED | LINUX_WCONTINUED |
                    LINUX_WNOWAIT | LINUX_WALL | (int)LINUX_WCLONE | LINUX_WNOTHREAD))
        return -EINVAL;
    if (!(options & (LINUX_WEXITED | LINUX_WUNTRACED | LINUX_WCONTINUED)))
        return -EINVAL;
    switch (which) {
    case LINUX_P_ALL:
        pid = -1;
        break;
    case LINUX_P_PID:
        if (id <= 0)
            return -EINVAL;
        pid = id;
        break;
    case LINUX_P_PGID:
        if (id < 0)
            return -EINVAL;
        pid = id ? -id : 0;
        break;
    default:
        return -EINVAL;
    }
    if (!p->sched)
        return -ECHILD;
    bool any;
    struct proc *c = (options & LINUX_WEXITED) ? wait_find(p, pid, &any) : NULL;
    if (!(options & LINUX_WEXITED))
        wait_find(p, pid, &any);
    if (!any)
        return -ECHILD;
    struct linux_siginfo si;
    memset(&si, 0, sizeof(si));
    if (!c) {
        if (!(options & LINUX_WNOHANG))
            return sched_block_child(p);
        if (info && copy_to_user(p->mm, info, &si, sizeof(si)) < 0)
            return -EFAULT;
        return 0;
    }
    si.si_signo = LINUX_SIGCHLD;
    si.si_code = !c->term_signal ? LINUX_CLD_EXITED : LINUX_CLD_KILLED;
    si.u.kill.pid = c->pid;
    si.u.kill.uid = (uint32_t)getuid();
    si.u.kill.status = c->term_signal ? c->term_signal : c->exit_code;
    if (info && copy_to_user(p->mm, info, &si, sizeof(si)) < 0)
        return -EFAULT;
    if (ru) {
        struct linux_rusage r;
        child_rusage(c, &r);
        if (copy_to_user(p->mm, ru, &r, sizeof(r)) < 0)
            return -EFAULT;
    }
    if (!(options & LINUX_WNOWAIT))
        sched_reap(c);
    return 0;
}

SYSCALL_DEFINE2(setpgid, int, pid, int, pgid)
{
    if (pgid < 0)
        return -EINVAL;
    struct proc *t = p;
    if (pid != 0 && pid != p->pid) {
        t = p->sched ? sched_find(p->sched, pid) : NULL;
        if (!t || t->parent != p)
            return -ESRCH;
        if (t->sid != p->sid)
            return -EPERM;
    }
    if (t->sid == t->pid)
        return -EPERM; /* a session leader keeps its group */
    if (pgid == 0)
        pgid = t->pid;
    if (pgid != t->pid && p->sched) {
        bool exists = false;
        for (size_t i = 0; i < p->sched->nprocs; i++) {
            const struct proc *q = p->sched->procs[i];
            if (q->state != PROC_DEAD && q->pgid == pgid && q->sid == p->sid)
                exists = true;
        }
        if (!exists)
            return -EPERM;
    }
    t->pgid = pgid;
    return 0;
}

SYSCALL_DEFINE0(setsid)
{
    if (p->sched) {
        for (size_t i = 0; i < p->sched->nprocs; i++) {
            const struct proc *q = p->sched->procs[i];
            if (q->state != PROC_DEAD && q->pgid == p->pid)
                return -EPERM; /* already a group leader */
        }
    }
    p->sid = p->pid;
    p->pgid = p->pid;
    return p->pid;
}
