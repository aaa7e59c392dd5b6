/* Process syscalls: exit, identity (pids, ids, uname), thread-area and start-up calls
 * glibc and musl make (arch_prctl, set_tid_address, set_robust_list, rseq), resource
 * limits and usage, prctl's name and dumpable options, personality and yield
 * (the other scheduling calls are in sys_sched.c),
 * I/O priorities (the host's, for vmemu as a whole), sysinfo and times. State lives in
 * struct proc; fault counts for getrusage come from the address space and, for
 * RUSAGE_CHILDREN, from the reaped children's frozen counters. Called by
 * syscalls/dispatch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/procfs.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

/* exit ends the calling thread (the whole process when it is the last), exit_group every
 * thread of the process: the status is kept and the CPU is asked to stop after this
 * instruction (the scheduler does the rest). The return value is never seen. */
static long do_exit(struct proc *p, int code, bool group)
{
    proc_exit(p, code & 0xff);
    p->thread_exit = !group && p->leader->nr_threads > 1;
    if (p->cpu != NULL)
        cpu_request_stop(p->cpu);
    return 0;
}

SYSCALL_DEFINE1(exit, int, code)
{
    return do_exit(p, code, false);
}

SYSCALL_DEFINE1(exit_group, int, code)
{
    return do_exit(p, code, true);
}

SYSCALL_DEFINE0(getpid)
{
    return p->leader->pid;
}

SYSCALL_DEFINE0(gettid)
{
    return p->pid;
}

SYSCALL_DEFINE0(getppid)
{
    return p->leader->ppid;
}

SYSCALL_DEFINE0(getuid)
{
    return getuid();
}

SYSCALL_DEFINE0(geteuid)
{
    return geteuid();
}

SYSCALL_DEFINE0(getgid)
{
    return getgid();
}

SYSCALL_DEFINE0(getegid)
{
    return getegid();
}

SYSCALL_DEFINE0(getpgrp)
{
    return p->leader->pgid;
}

/* The process pid names (0: the caller), or NULL. */
static const struct proc *proc_by_pid(const struct proc *p, int pid)
{
    if (pid == 0 || pid == p->leader->pid)
        return p;
    return p->sched ? sched_find(p->sched, pid) : NULL;
}

SYSCALL_DEFINE1(getpgid, int, pid)
{
    const struct proc *t = proc_by_pid(p, pid);
    return t ? t->pgid : -ESRCH;
}

SYSCALL_DEFINE1(getsid, int, pid)
{
    const struct proc *t = proc_by_pid(p, pid);
    return t ? t->sid : -ESRCH;
}

/* getgroups: the host's supplementary groups (32-bit ids). size 0 asks for the count. */
SYSCALL_DEFINE2(getgroups, int, size, gva_t, list)
{
    if (size < 0)
        return -EINVAL;
    int n = getgroups(0, NULL);
    if (n < 0)
        return -errno;
    if (size == 0)
        return n;
    if (size < n)
        return -EINVAL;
    gid_t *gids = calloc((size_t)n + 1, sizeof(*gids));
    if (gids == NULL)
        return -ENOMEM;
    long ret = getgroups(n, gids);
    if (ret < 0) {
        ret = -errno;
    } else {
        for (long i = 0; i < ret; i++) {
            if (put_user_u32(p->mm, list + (uint64_t)i * sizeof(uint32_t), gids[i]) < 0) {
                ret = -EFAULT;
                break;
            }
        }
    }
    free(gids);
    return ret;
}

/* personality: 0xffffffff queries. The only persona is PER_LINUX (0), with or without
 * ADDR_NO_RANDOMIZE, which is remembered (and inherited) but changes nothing: vmemu
 * never randomizes the layout. Any other persona or flag is -EINVAL. Returns the
 * previous value. */
#define PERSONA_QUERY     0xffffffffU
#define ADDR_NO_RANDOMIZE 0x0040000U
SYSCALL_DEFINE1(personality, uint32_t, persona)
{
    unsigned old = p->leader->personality;
    if (persona == PERSONA_QUERY)
        return old;
    if ((persona & ~ADDR_NO_RANDOMIZE) != 0)
        return -EINVAL;
    p->leader->personality = persona;
    return old;
}

/* prctl: the process name (p->comm, 16 bytes with the NUL) and the dumpable flag, which
 * always reads 1; any other option is -EINVAL, as Linux answers for options it lacks. */
SYSCALL_DEFINE5(prctl, int, option, uint64_t, arg2, uint64_t, arg3, uint64_t, arg4, uint64_t, arg5)
{
    (void)arg3;
    (void)arg4;
    (void)arg5;
    switch (option) {
    case LINUX_PR_SET_NAME: {
        char name[LINUX_TASK_COMM_LEN];
        long n = strncpy_from_user(p->mm, name, arg2, sizeof(name));
        if (n == -EFAULT)
            return -EFAULT;
        memcpy(p->comm, name, sizeof(p->comm)); /* a longer name is cut, as Linux does */
        p->comm[sizeof(p->comm) - 1] = '\0';
        return 0;
    }
    case LINUX_PR_GET_NAME:
        return copy_to_user(p->mm, arg2, p->comm, sizeof(p->comm));
    case LINUX_PR_GET_DUMPABLE:
        return 1;
    case LINUX_PR_SET_DUMPABLE:
        return arg2 <= 1 ? 0 : -EINVAL;
    default:
        return -EINVAL;
    }
}

/* arch_prctl: FS and GS bases live in the CPU. A base outside user space is refused with
 * -EPERM, as Linux does. */
SYSCALL_DEFINE2(arch_prctl, int, code, gva_t, addr)
{
    switch (code) {
    case LINUX_ARCH_SET_FS:
    case LINUX_ARCH_SET_GS:
        if (addr >= USER_VA_END)
            return -EPERM;
        cpu_set(p->cpu, code == LINUX_ARCH_SET_FS ? CPU_FS_BASE : CPU_GS_BASE, addr);
        return 0;
    case LINUX_ARCH_GET_FS:
    case LINUX_ARCH_GET_GS:
        return put_user_u64(p->mm, addr,
                            cpu_get(p->cpu, code == LINUX_ARCH_GET_FS ? CPU_FS_BASE : CPU_GS_BASE));
    default:
        return -EINVAL;
    }
}

SYSCALL_DEFINE1(set_tid_address, gva_t, tidptr)
{
    p->clear_child_tid = tidptr;
    return p->leader->pid;
}

SYSCALL_DEFINE2(set_robust_list, gva_t, head, size_t, len)
{
    if (len != LINUX_ROBUST_LIST_HEAD_SIZE)
        return -EINVAL;
    p->robust_list = head;
    return 0;
}

SYSCALL_DEFINE3(get_robust_list, int, pid, gva_t, head_ptr, gva_t, len_ptr)
{
    const struct proc *t = p;
    if (pid != 0 && (!p->sched || !(t = sched_find(p->sched, pid))))
        return -ESRCH;
    if (put_user_u64(p->mm, head_ptr, t->robust_list) < 0 ||
        put_user_u64(p->mm, len_ptr, LINUX_ROBUST_LIST_HEAD_SIZE) < 0)
        return -EFAULT;
    return 0;
}

/* membarrier commands (Linux's enum membarrier_cmd). */
#define MEMBARRIER_QUERY                     0
#define MEMBARRIER_GLOBAL                    (1 << 0)
#define MEMBARRIER_GLOBAL_EXPEDITED          (1 << 1)
#define MEMBARRIER_REGISTER_GLOBAL_EXPEDITED (1 << 2)
#define MEMBARRIER_PRIVATE_EXPEDITED         (1 << 3)
#define MEMBARRIER_REGISTER_PRIVATE          (1 << 4)
#define MEMBARRIER_PRIVATE_SYNC_CORE         (1 << 5)
#define MEMBARRIER_REGISTER_SYNC_CORE        (1 << 6)
#define MEMBARRIER_SUPPORTED                 0x7f /* everything but the rseq commands */

/* membarrier: one task runs at a time, so every barrier already holds once the call is
 * made; what remains is Linux's bookkeeping: the query, and EPERM for a private
 * expedited barrier the process has not registered for. */
SYSCALL_DEFINE3(membarrier, int, cmd, unsigned, flags, int, cpu_id)
{
    (void)cpu_id;
    if (flags != 0)
        return -EINVAL;
    switch (cmd) {
    case MEMBARRIER_QUERY:
        return MEMBARRIER_SUPPORTED;
    case MEMBARRIER_GLOBAL:
    case MEMBARRIER_GLOBAL_EXPEDITED:
        return 0;
    case MEMBARRIER_REGISTER_GLOBAL_EXPEDITED:
    case MEMBARRIER_REGISTER_PRIVATE:
    case MEMBARRIER_REGISTER_SYNC_CORE:
        p->leader->membarrier |= (unsigned)cmd;
        return 0;
    case MEMBARRIER_PRIVATE_EXPEDITED:
        return (p->leader->membarrier & MEMBARRIER_REGISTER_PRIVATE) ? 0 : -EPERM;
    case MEMBARRIER_PRIVATE_SYNC_CORE:
        return (p->leader->membarrier & MEMBARRIER_REGISTER_SYNC_CORE) ? 0 : -EPERM;
    default:
        return -EINVAL;
    }
}

/* rseq is refused quietly: glibc probes it at start-up and does without. */
SYSCALL_DEFINE4(rseq, gva_t, area, uint32_t, len, int, flags, uint32_t, sig)
{
    (void)area;
    (void)len;
    (void)flags;
    (void)sig;
    return -ENOSYS;
}

/* prlimit64 on the process itself: new limits are checked (soft <= hard, the hard limit
 * may not be raised) and stored; the old ones are written after, as Linux does. */
SYSCALL_DEFINE4(prlimit64, int, pid, unsigned, resource, gva_t, newp, gva_t, oldp)
{
    if (pid != 0 && pid != p->leader->pid)
        return -ESRCH;
    if (resource >= PROC_NRLIMIT)
        return -EINVAL;
    struct linux_rlimit old = p->leader->rlim[resource];
    if (newp != 0) {
        struct linux_rlimit nl;
        if (copy_from_user(p->mm, &nl, newp, sizeof(nl)) < 0)
            return -EFAULT;
        if (nl.cur > nl.max)
            return -EINVAL;
        if (nl.max > old.max)
            return -EPERM;
        p->leader->rlim[resource] = nl;
        if (resource == LINUX_RLIMIT_STACK)
            p->mm->stack_limit = nl.cur;
    }
    if (oldp != 0 && copy_to_user(p->mm, oldp, &old, sizeof(old)) < 0)
        return -EFAULT;
    return 0;
}

/* setrlimit: prlimit64(0, resource, rlim, NULL). */
SYSCALL_DEFINE2(setrlimit, unsigned, resource, gva_t, rlim)
{
    const uint64_t args[6] = {0, resource, rlim, 0, 0, 0};
    return sys_prlimit64(p, args);
}

SYSCALL_DEFINE2(getrlimit, unsigned, resource, gva_t, rlim)
{
    if (resource >= PROC_NRLIMIT)
        return -EINVAL;
    return copy_to_user(p->mm, rlim, &p->leader->rlim[resource], sizeof(p->leader->rlim[resource]));
}

/* sched_yield ends the slice when another task can run (a spin lock waits for its
 * owner this way). */
SYSCALL_DEFINE0(sched_yield)
{
    if (p->sched && sched_others_runnable(p->sched, p))
        p->sched->yield = true;
    return 0;
}

/* getpriority/setpriority for PRIO_PROCESS (0 or a pid of the run), PRIO_PGRP and
 * PRIO_USER on the caller only. The nice value is kept (and inherited) but changes
 * nothing: vmemu's scheduler has no priorities. As Linux's syscall, getpriority returns
 * 20 - nice. Lowering the nice value below the current one is EACCES (no privilege). */
#define PRIO_WHICH_MAX 2 /* PRIO_PROCESS 0, PRIO_PGRP 1, PRIO_USER 2 */
static struct proc *prio_target(struct proc *p, int which, int who)
{
    if (who == 0)
        return p;
    if (which == 0 && p->sched)
        return sched_find(p->sched, who);
    if (which == 0)
        return who == p->leader->pid ? p : NULL;
    return NULL;
}

SYSCALL_DEFINE2(getpriority, int, which, int, who)
{
    if (which < 0 || which > PRIO_WHICH_MAX)
        return -EINVAL;
    struct proc *t = prio_target(p, which, who);
    if (!t || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
        return -ESRCH;
    return 20 - t->nice;
}

SYSCALL_DEFINE3(setpriority, int, which, int, who, int, niceval)
{
    if (which < 0 || which > PRIO_WHICH_MAX)
        return -EINVAL;
    struct proc *t = prio_target(p, which, who);
    if (!t || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
        return -ESRCH;
    int v = niceval < -20 ? -20 : niceval > 19 ? 19 : niceval;
    if (v < t->nice)
        return -EACCES;
    t->nice = v;
    return 0;
}

/* uname names Linux 5.0: the last kernel before pidfds (pidfd_send_signal came in 5.1,
 * CLONE_PIDFD in 5.2, pidfd_open in 5.3), which vmemu does not have; programs that pick
 * pidfds by the kernel version (Qt's forkfd) then take their older path. */
SYSCALL_DEFINE1(uname, gva_t, buf)
{
    struct linux_utsname u;
    memset(&u, 0, sizeof(u));
    strcpy(u.sysname, "Linux");
    strcpy(u.nodename, "vmemu");
    strcpy(u.release, "5.0.0-vmemu");
    strcpy(u.version, "#1 SMP PREEMPT_DYNAMIC");
    strcpy(u.machine, "x86_64");
    strcpy(u.domainname, "(none)");
    return copy_to_user(p->mm, buf, &u, sizeof(u));
}

static struct linux_timeval ns_to_timeval(uint64_t ns)
{
    struct linux_timeval tv = {
        .tv_sec = (int64_t)(ns / 1000000000),
        .tv_usec = (int64_t)(ns % 1000000000 / 1000),
    };
    return tv;
}

/* Linux's struct rusage from vmemu's counters. */
void sys_fill_rusage(const struct proc_usage *u, struct linux_rusage *ru)
{
    memset(ru, 0, sizeof(*ru));
    ru->ru_utime = ns_to_timeval(u->cpu_ns);
    ru->ru_maxrss = (int64_t)(u->mm.peak_rss * (PAGE_SIZE / 1024));
    const struct fault_stats *f = &u->task.faults;
    /* Linux's min_flt and maj_flt include the faults of the task's execve. */
    ru->ru_minflt = (int64_t)(f->minor + f->exec - f->exec_major);
    ru->ru_majflt = (int64_t)(f->major + f->exec_major);
}

/* getrusage: the fault counts are the process's own (Linux's minor/major split, its
 * execve's included), the
 * peak resident set is in KiB, user time is the time spent running the guest;
 * RUSAGE_CHILDREN sums the children that were waited for (and their own), with the
 * largest peak. RUSAGE_THREAD counts the calling thread's faults, syscalls and time; its
 * peak resident set is the process's, as on Linux. */
SYSCALL_DEFINE2(getrusage, int, who, gva_t, buf)
{
    struct linux_rusage ru;
    struct proc_usage u;
    switch (who) {
    case LINUX_RUSAGE_SELF:
        u = sched_process_usage(p);
        break;
    case LINUX_RUSAGE_THREAD:
        u = proc_usage_now(p);
        if (p->leader != p)
            memset(&u.mm, 0, sizeof(u.mm)); /* the process's, not the thread's */
        u.mm.peak_rss = proc_usage_now(p->leader).mm.peak_rss;
        break;
    case LINUX_RUSAGE_CHILDREN:
        u = p->children;
        break;
    default:
        return -EINVAL;
    }
    sys_fill_rusage(&u, &ru);
    return copy_to_user(p->mm, buf, &ru, sizeof(ru));
}

/* sysinfo: memory is vmemu's frame pool (what the guest can really get), uptime and
 * loads are the host's, one process, no swap. */
SYSCALL_DEFINE1(sysinfo, gva_t, buf)
{
    struct sysinfo hi;
    struct linux_sysinfo si;
    memset(&si, 0, sizeof(si));
    if (sysinfo(&hi) == 0) {
        si.uptime = hi.uptime;
        for (int i = 0; i < 3; i++)
            si.loads[i] = hi.loads[i];
    }
    si.totalram = p->sys->phys.nframes * PAGE_SIZE;
    si.freeram = phys_free_frames(&p->sys->phys) * PAGE_SIZE;
    si.procs = p->sched ? (uint16_t)sched_nr_live(p->sched) : 1;
    si.mem_unit = 1;
    return copy_to_user(p->mm, buf, &si, sizeof(si));
}

/* Clock ticks of times(): USER_HZ is 100 on x86-64. */

/* times: user time is the guest's run time; the result counts ticks of the host's
 * monotonic clock. */
SYSCALL_DEFINE1(times, gva_t, buf)
{
    if (buf != 0) {
        struct linux_tms t = {
            .tms_utime = (int64_t)(p->cpu_ns / (1000000000 / LINUX_USER_HZ)),
            .tms_cutime = (int64_t)(p->children.cpu_ns / (1000000000 / LINUX_USER_HZ)),
        };
        if (copy_to_user(p->mm, buf, &t, sizeof(t)) < 0)
            return -EFAULT;
    }
    return (long)(sched_now(p->sched) / (1000000000 / LINUX_USER_HZ));
}

/* ioprio_set/ioprio_get (IOPRIO_WHO_PROCESS 1, _PGRP 2, _USER 3): every guest process is
 * vmemu's one host process, so a guest process or group (0: the caller's) stands for
 * vmemu itself and the host answers; a pid or group the run does not have is ESRCH. */
static long ioprio_who(struct proc *p, int which, int who)
{
    if (which == 1 && who != 0) {
        char pid[24];
        snprintf(pid, sizeof(pid), "%d", who);
        if (!procfs_task(p, pid, NULL))
            return -ESRCH;
        return 0;
    }
    if (which == 2 && who != 0 && who != p->leader->pgid)
        return -ESRCH;
    return which == 3 ? who : 0;
}

SYSCALL_DEFINE3(ioprio_set, int, which, int, who, int, prio)
{
    long host_who = ioprio_who(p, which, who);
    if (host_who < 0)
        return host_who;
    return sys_host_result(syscall(SYS_ioprio_set, which, (int)host_who, prio));
}

SYSCALL_DEFINE2(ioprio_get, int, which, int, who)
{
    long host_who = ioprio_who(p, which, who);
    if (host_who < 0)
        return host_who;
    return sys_host_result(syscall(SYS_ioprio_get, which, (int)host_who));
}
