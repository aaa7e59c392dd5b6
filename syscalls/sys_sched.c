/* Scheduling syscalls for the one CPU vmemu emulates: the policy and priority of each
 * task (sched_setscheduler, sched_setparam and their getters; SCHED_OTHER, SCHED_BATCH
 * and SCHED_IDLE are remembered in proc->sched_policy but change nothing, since vmemu's
 * scheduler has no priorities; the real-time policies are -EPERM as for an unprivileged
 * process), the policies' priority ranges, sched_rr_get_interval, sched_getaffinity and
 * sched_setaffinity (CPU 0 is the only CPU; any task's id) and getcpu. Called by
 * syscalls/dispatch.c. */
#include <string.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/sched.h"

/* Linux's policies. */
#define POLICY_OTHER         0
#define POLICY_FIFO          1
#define POLICY_RR            2
#define POLICY_BATCH         3
#define POLICY_IDLE          5
#define POLICY_RESET_ON_FORK 0x40000000
/* Linux's default SCHED_RR time slice (RR_TIMESLICE: 100 ms). */
#define RR_INTERVAL_NS       100000000L
/* The bytes of a CPU mask sched_setaffinity reads at most (Linux's 8192 CPUs). */
#define AFFINITY_MAX_BYTES   1024

/* The task pid names for the sched_* calls (0: the caller; any task of the run: they are
 * per thread, as Linux's), or NULL. */
static struct proc *sched_target(struct proc *p, int pid)
{
    if (pid == 0 || pid == p->pid)
        return p;
    struct proc *t = p->sched ? sched_find(p->sched, pid) : NULL;
    return t != NULL && t->state != PROC_DEAD ? t : NULL;
}

/* Sets t's policy (flags: SCHED_RESET_ON_FORK) and priority: 0 or Linux's -EINVAL for an
 * invalid pair, -EPERM for the real-time policies. */
static long sched_set(struct proc *t, int policy, int prio)
{
    int base = policy & ~POLICY_RESET_ON_FORK;
    switch (base) {
    case POLICY_OTHER:
    case POLICY_BATCH:
    case POLICY_IDLE:
        if (prio != 0)
            return -EINVAL;
        t->sched_policy = policy;
        return 0;
    case POLICY_FIFO:
    case POLICY_RR:
        return prio < 1 || prio > 99 ? -EINVAL : -EPERM; /* RLIMIT_RTPRIO is 0 */
    default:
        return -EINVAL;
    }
}

/* The priority at param for task pid under policy, or under the task's current policy
 * when keep (sched_setparam). Returns 0 or -errno. */
static long set_param(struct proc *p, int pid, gva_t param, bool keep, int policy)
{
    if (pid < 0 || param == 0)
        return -EINVAL;
    uint32_t prio;
    if (copy_from_user(p->mm, &prio, param, sizeof(prio)) < 0)
        return -EFAULT;
    struct proc *t = sched_target(p, pid);
    if (t == NULL)
        return -ESRCH;
    if (keep)
        policy = t->sched_policy;
    else if (policy < 0)
        return -EINVAL;
    return sched_set(t, policy, (int)prio);
}

SYSCALL_DEFINE3(sched_setscheduler, int, pid, int, policy, gva_t, param)
{
    return set_param(p, pid, param, false, policy);
}

/* sched_setparam: the priority under the task's current policy. */
SYSCALL_DEFINE2(sched_setparam, int, pid, gva_t, param)
{
    return set_param(p, pid, param, true, 0);
}

/* sched_getscheduler: the policy sched_setscheduler stored (SCHED_OTHER at first), with
 * SCHED_RESET_ON_FORK when it was asked for. */
SYSCALL_DEFINE1(sched_getscheduler, int, pid)
{
    if (pid < 0)
        return -EINVAL;
    const struct proc *t = sched_target(p, pid);
    return t != NULL ? t->sched_policy : -ESRCH;
}

/* sched_getparam: priority 0, the only one of the policies a task can have here. */
SYSCALL_DEFINE2(sched_getparam, int, pid, gva_t, param)
{
    if (pid < 0 || param == 0)
        return -EINVAL;
    if (sched_target(p, pid) == NULL)
        return -ESRCH;
    return put_user_u32(p->mm, param, 0) < 0 ? -EFAULT : 0;
}

/* Linux's priority ranges: 1..99 for SCHED_FIFO and SCHED_RR, 0..0 for the others. The
 * bound of policy's range whose real-time value is rt (99: the max, 1: the min), or
 * -EINVAL for an unknown policy. */
static long priority_bound(int policy, long rt)
{
    switch (policy) {
    case POLICY_FIFO:
    case POLICY_RR:
        return rt;
    case POLICY_OTHER:
    case POLICY_BATCH:
    case POLICY_IDLE:
        return 0;
    default:
        return -EINVAL;
    }
}

SYSCALL_DEFINE1(sched_get_priority_max, int, policy)
{
    return priority_bound(policy, 99);
}

SYSCALL_DEFINE1(sched_get_priority_min, int, policy)
{
    return priority_bound(policy, 1);
}

/* sched_rr_get_interval: Linux's default round-robin slice (100 ms) for SCHED_RR; 0 for
 * the other policies (Linux gives SCHED_FIFO 0 and the fair policies their current CFS
 * slice, which vmemu's scheduler does not have). A task never has SCHED_RR here, so the
 * answer is 0. */
SYSCALL_DEFINE2(sched_rr_get_interval, int, pid, gva_t, tp)
{
    if (pid < 0)
        return -EINVAL;
    const struct proc *t = sched_target(p, pid);
    if (t == NULL)
        return -ESRCH;
    long ns = (t->sched_policy & ~POLICY_RESET_ON_FORK) == POLICY_RR ? RR_INTERVAL_NS : 0;
    struct linux_timespec ts = {.tv_sec = 0, .tv_nsec = ns};
    return copy_to_user(p->mm, tp, &ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}

/* sched_setaffinity: the one CPU. A mask with CPU 0 is accepted (nothing changes); one
 * without it (an empty cpusetsize included) is -EINVAL, as Linux for a mask of no
 * allowed CPU. */
SYSCALL_DEFINE3(sched_setaffinity, int, pid, size_t, len, gva_t, mask)
{
    uint8_t buf[AFFINITY_MAX_BYTES];
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    memset(buf, 0, sizeof(buf));
    if (n != 0 && copy_from_user(p->mm, buf, mask, n) < 0)
        return -EFAULT;
    if (pid < 0 || sched_target(p, pid) == NULL)
        return -ESRCH;
    return (buf[0] & 1) ? 0 : -EINVAL;
}

/* sched_getaffinity: one CPU, the mask is CPU 0 and the kernel writes one 8-byte word.
 * pid is any task of the run, a thread's id included (0: the caller). */
SYSCALL_DEFINE3(sched_getaffinity, int, pid, size_t, len, gva_t, mask)
{
    if (pid < 0 || sched_target(p, pid) == NULL)
        return -ESRCH;
    if (len < sizeof(uint64_t) || len % sizeof(uint64_t) != 0)
        return -EINVAL;
    if (put_user_u64(p->mm, mask, 1) < 0)
        return -EFAULT;
    return sizeof(uint64_t);
}

/* getcpu: CPU 0 of NUMA node 0; either pointer may be NULL (the third is unused). */
SYSCALL_DEFINE3(getcpu, gva_t, cpu, gva_t, node, gva_t, cache)
{
    (void)cache;
    if (cpu != 0 && put_user_u32(p->mm, cpu, 0) < 0)
        return -EFAULT;
    if (node != 0 && put_user_u32(p->mm, node, 0) < 0)
        return -EFAULT;
    return 0;
}
