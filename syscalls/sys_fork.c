/* Process life-cycle syscalls: fork, vfork, clone and clone3 (processes and threads), wait4
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
#define CL_FS             0x00000200ULL
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
    bool thread = (flags & CL_THREAD) != 0;
    /* Linux's own rules: a thread shares the signal actions, which need the memory. */
    if ((thread && !(flags & CL_SIGHAND)) || ((flags & CL_SIGHAND) && !(flags & CL_VM)))
        return -EINVAL;
    /* What vmemu does not support gets EINVAL too (never ENOSYS: glibc would retry with
     * clone): a thread with descriptors or a working directory of its own, a vfork thread,
     * and memory shared without a thread or a vfork (old LinuxThreads). */
    if ((thread && ((flags & (CL_FILES | CL_FS)) != (CL_FILES | CL_FS) || (flags & CL_VFORK))) ||
        (!thread && (flags & CL_VM) && !(flags & CL_VFORK))) {
        if (warn_once(&reported, 0))
            fprintf(stderr,
                    "vmemu: clone flags %#llx: a thread must share memory, signal actions, "
                    "descriptors and working directory (CLONE_VM|CLONE_SIGHAND|CLONE_FILES|"
                    "CLONE_FS); returning -EINVAL\n",
                    (unsigned long long)flags);
        return -EINVAL;
    }
    if (flags & CL_PIDFD)
        return -EINVAL; /* no pidfds in vmemu */
    struct sched *s = p->sched;
    if (!s)
        return -ENOSYS;
    if (sched_nr_live(s) >= p->leader->rlim[LINUX_RLIMIT_NPROC].cur)
        return -EAGAIN;
    struct proc *c;
    int rc = proc_fork(p,
                       thread               ? PROC_SHARE_THREAD
                       : (flags & CL_VFORK) ? PROC_SHARE_VM
                                            : PROC_SHARE_NONE,
                       &c);
    if (rc < 0)
        return rc;
    if ((rc = sched_add(s, c)) < 0) {
        proc_destroy(c);
        return rc;
    }
    if (thread)
        c->leader->nr_threads++;
    if (!thread && (flags & CL_PARENT) && p->leader->parent) {
        c->parent = p->leader->parent;
        c->ppid = c->parent->pid;
    }
    c->exit_signal = thread ? 0 : (int)(flags & CL_CSIGNAL);
    if (!thread)
        sched_note_event(c, PROC_EV_FORK);
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
        if (p->wait.fifo.held)
            close(p->wait.fifo.hostfd); /* a FIFO open's sleep that a handler left */
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
    if ((ca.flags & (CL_THREAD | CL_PARENT)) && ca.exit_signal)
        return -EINVAL; /* Linux's clone3 rule */
    if ((ca.stack == 0) != (ca.stack_size == 0))
        return -EINVAL;
    gva_t sp = ca.stack ? ca.stack + ca.stack_size : 0;
    return do_fork(p, ca.flags | ca.exit_signal, sp, ca.parent_tid, ca.child_tid, ca.tls);
}

/* Whether child c matches wait4's pid argument for parent p. */
static bool wait_matches(const struct proc *p, const struct proc *c, int pid, int options)
{
    if (c->parent != p->leader || c->state == PROC_DEAD)
        return false;
    /* A "clone" child sends no signal or another than SIGCHLD at exit: only __WCLONE
     * waits for those (and only for those), __WALL for both. */
    bool clone_child = c->exit_signal != LINUX_SIGCHLD;
    if (!(options & LINUX_WALL) && clone_child != ((options & (int)LINUX_WCLONE) != 0))
        return false;
    if (pid > 0)
        return c->pid == pid;
    if (pid == 0)
        return c->pgid == p->leader->pgid;
    if (pid < -1)
        return c->pgid == -pid;
    return true;
}

/* The first matching child that has ended, or NULL; *any says whether any matched. */
static struct proc *wait_find(struct proc *p, int pid, int options, bool *any)
{
    *any = false;
    for (size_t i = 0; i < p->sched->nprocs; i++) {
        struct proc *c = p->sched->procs[i];
        if (!wait_matches(p, c, pid, options))
            continue;
        *any = true;
        if (sched_process_ended(c))
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
    struct proc *c = wait_find(p, pid, options, &any);
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
    struct proc *c = (options & LINUX_WEXITED) ? wait_find(p, pid, options, &any) : NULL;
    if (!(options & LINUX_WEXITED))
        wait_find(p, pid, options, &any);
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
    struct proc *t = p->leader;
    if (pid != 0 && pid != p->leader->pid) {
        t = p->sched ? sched_find(p->sched, pid) : NULL;
        if (!t || t->leader != t || t->parent != p->leader)
            return -ESRCH;
        if (t->sid != p->leader->sid)
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
            if (q->state != PROC_DEAD && q->pgid == pgid && q->sid == p->leader->sid)
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
            if (q->state != PROC_DEAD && q->pgid == p->leader->pid)
                return -EPERM; /* already a group leader */
        }
    }
    p->leader->sid = p->leader->pid;
    p->leader->pgid = p->leader->pid;
    return p->leader->pid;
}
