/* System V semaphores: semget, semop, semtimedop, semctl. Arguments are decoded and
 * checked in Linux's order; the sets, the atomic semop and SEM_UNDO are
 * src/proc/ipc_sem.c. A semop that must wait sleeps in vmemu's scheduler (WAIT_IPC) and
 * runs again when the set changes; a signal ends it with EINTR (never restarted), removal
 * with EIDRM, semtimedop's timeout with EAGAIN. */
#include <stdlib.h>
#include <string.h>

#include "sys_ipc.h"
#include "vmemu/sched.h"

#define SEM_GETPID   11
#define SEM_GETVAL   12
#define SEM_GETALL   13
#define SEM_GETNCNT  14
#define SEM_GETZCNT  15
#define SEM_SETVAL   16
#define SEM_SETALL   17
#define SEM_INFO_C   19
#define SEM_NS_PER_S 1000000000LL

/* Linux's struct semid64_ds on x86-64. */
struct linux_semid64_ds {
    struct linux_ipc64_perm perm;
    int64_t otime;
    uint64_t unused1;
    int64_t ctime;
    uint64_t unused2;
    uint64_t nsems;
    uint64_t unused3, unused4;
};

/* Linux's struct seminfo. */
struct linux_seminfo {
    int32_t semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem;
};

/* GETNCNT / GETZCNT: the tasks sleeping on semaphore num of set to grow (zero false) or
 * to become 0 (true). */
static int sem_waiters(const struct sched *s, const struct ipc_sem_set *set, int num, bool zero)
{
    int n = 0;
    for (size_t i = 0; s && i < s->nprocs; i++) {
        const struct proc *q = s->procs[i];
        if (q->state == PROC_SLEEPING && q->wait.kind == WAIT_IPC &&
            q->wait.ipc.id == set->obj.id && q->wait.ipc.semnum == num && q->wait.ipc.zero == zero)
            n++;
    }
    return n;
}

SYSCALL_DEFINE3(semget, int32_t, key, int, nsems, int, flg)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    struct ipc_obj *o;
    struct ipc_sem_set *set;
    if (nsems < 0 || nsems > SEM_MSL)
        return -EINVAL;
    if (!ns)
        return -ENOMEM;
    int rc = sys_ipc_get_existing(ns, IPC_SEM, key, flg, &o);
    if (rc < 0)
        return rc;
    if (o) {
        if (nsems > ((struct ipc_sem_set *)o)->nsems)
            return -EINVAL;
        return o->id;
    }
    if (nsems == 0)
        return -EINVAL;
    if ((rc = ipc_sem_create(ns, key, flg, nsems, &set)) < 0)
        return rc;
    set->obj.ctime = ipc_now(p);
    return set->obj.id;
}

/* semop and semtimedop (utimeout 0: none). */
static long do_semop(struct proc *p, int semid, gva_t usops, uint64_t nsops, gva_t utimeout)
{
    static struct ipc_sembuf ops[SEM_OPM]; /* one task runs at a time */
    struct linux_timespec ts;
    uint64_t rel = 0;
    struct ipc_obj *o;
    if (nsops < 1 || semid < 0)
        return -EINVAL;
    if (nsops > SEM_OPM)
        return -E2BIG;
    if (copy_from_user(p->mm, ops, usops, nsops * sizeof(ops[0])) < 0)
        return -EFAULT;
    if (utimeout) {
        if (copy_from_user(p->mm, &ts, utimeout, sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= SEM_NS_PER_S)
            return -EINVAL;
        rel = (uint64_t)ts.tv_sec >= (1ULL << 62) / SEM_NS_PER_S
                  ? (1ULL << 62)
                  : (uint64_t)ts.tv_sec * SEM_NS_PER_S + (uint64_t)ts.tv_nsec;
    }
    int rc = sys_ipc_obj(p, IPC_SEM, semid, &o);
    if (rc < 0)
        return rc;
    struct ipc_sem_set *set = (struct ipc_sem_set *)o;
    bool alter = false;
    for (size_t i = 0; i < nsops; i++) {
        if (ops[i].num >= set->nsems)
            return -EFBIG;
        alter |= ops[i].op != 0;
    }
    if ((rc = ipc_perms(o, alter ? 0222 : 0444)) < 0)
        return rc;
    size_t blocked = 0;
    rc = ipc_sem_apply(p->sched->ipc, set, ops, nsops, sys_ipc_pid(p), &blocked);
    if (rc == 0) {
        set->otime = ipc_now(p);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (ops[blocked].flg & IPC_NOWAIT_F)
        return -EAGAIN;
    uint64_t deadline = 0;
    if (utimeout) {
        deadline = sched_deadline(p, rel);
        if (sched_now(p->sched) >= deadline)
            return -EAGAIN;
    }
    struct proc_ipc_wait w = {
        .id = semid,
        .gen = o->gen,
        .semnum = ops[blocked].num,
        .zero = ops[blocked].op == 0,
    };
    return sched_block_ipc(p, &w, deadline);
}

SYSCALL_DEFINE3(semop, int, semid, gva_t, sops, uint64_t, nsops)
{
    return do_semop(p, semid, sops, nsops, 0);
}

SYSCALL_DEFINE4(semtimedop, int, semid, gva_t, sops, uint64_t, nsops, gva_t, timeout)
{
    return do_semop(p, semid, sops, nsops, timeout);
}

/* IPC_INFO and SEM_INFO: the limits (SEM_INFO: semusz sets, semaem semaphores in use). */
static long sem_info(struct proc *p, int cmd, gva_t arg)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    struct linux_seminfo si = {
        .semmap = SEM_MSL * IPC_MAX_OBJS,
        .semmni = IPC_MAX_OBJS,
        .semmns = SEM_MSL * IPC_MAX_OBJS,
        .semmnu = SEM_MSL * IPC_MAX_OBJS,
        .semmsl = SEM_MSL,
        .semopm = SEM_OPM,
        .semume = SEM_OPM,
        .semusz = 20,
        .semvmx = SEM_VMX,
        .semaem = SEM_AEM,
    };
    if (!ns)
        return -ENOMEM;
    if (cmd == SEM_INFO_C) {
        si.semusz = ns->t[IPC_SEM].used;
        si.semaem = 0;
        for (int i = 0; i < IPC_MAX_OBJS; i++)
            if (ns->t[IPC_SEM].slot[i])
                si.semaem += ((struct ipc_sem_set *)ns->t[IPC_SEM].slot[i])->nsems;
    }
    if (copy_to_user(p->mm, arg, &si, sizeof(si)) < 0)
        return -EFAULT;
    return ipc_max_index(ns, IPC_SEM);
}

/* GETALL / SETALL. */
static long sem_all(struct proc *p, struct ipc_sem_set *set, bool set_all, gva_t arg)
{
    size_t bytes = (size_t)set->nsems * sizeof(uint16_t);
    uint16_t *v = malloc(bytes);
    long rc = 0;
    if (!v)
        return -ENOMEM;
    if (!set_all) {
        for (int i = 0; i < set->nsems; i++)
            v[i] = set->sems[i].val;
        rc = copy_to_user(p->mm, arg, v, bytes) < 0 ? -EFAULT : 0;
    } else if (copy_from_user(p->mm, v, arg, bytes) < 0) {
        rc = -EFAULT;
    } else {
        for (int i = 0; i < set->nsems && rc == 0; i++)
            if (v[i] > SEM_VMX)
                rc = -ERANGE;
        for (int i = 0; i < set->nsems && rc == 0; i++)
            ipc_sem_setval(p->sched->ipc, set, i, v[i], sys_ipc_pid(p));
        if (rc == 0)
            set->obj.ctime = ipc_now(p);
    }
    free(v);
    return rc;
}

SYSCALL_DEFINE4(semctl, int, semid, int, semnum, int, cmd, uint64_t, arg)
{
    struct ipc_obj *o;
    cmd &= ~IPC_64_F;
    if (semid < 0)
        return -EINVAL;
    if (cmd == IPC_INFO_C || cmd == SEM_INFO_C)
        return sem_info(p, cmd, arg);
    int rc = sys_ipc_obj(p, IPC_SEM, semid, &o);
    if (rc < 0)
        return rc;
    struct ipc_sem_set *set = (struct ipc_sem_set *)o;
    switch (cmd) {
    case IPC_STAT_C: {
        struct linux_semid64_ds ds;
        memset(&ds, 0, sizeof(ds));
        ds.otime = set->otime;
        ds.ctime = o->ctime;
        ds.nsems = (uint64_t)set->nsems;
        return sys_ipc_stat_out(p, o, &ds.perm, &ds, sizeof(ds), arg);
    }
    case IPC_SET_C: {
        struct linux_semid64_ds ds;
        if (copy_from_user(p->mm, &ds, arg, sizeof(ds)) < 0)
            return -EFAULT;
        return sys_ipc_set(p, o, &ds.perm);
    }
    case IPC_RMID_C:
        if ((rc = ipc_owner(o)) < 0)
            return rc;
        ipc_sem_destroy(p->sched->ipc, set);
        return 0;
    case SEM_GETALL:
    case SEM_SETALL:
        if ((rc = ipc_perms(o, cmd == SEM_SETALL ? 0222 : 0444)) < 0)
            return rc;
        return sem_all(p, set, cmd == SEM_SETALL, arg);
    case SEM_GETVAL:
    case SEM_GETPID:
    case SEM_GETNCNT:
    case SEM_GETZCNT:
    case SEM_SETVAL:
        if (semnum < 0 || semnum >= set->nsems)
            return -EINVAL;
        if ((rc = ipc_perms(o, cmd == SEM_SETVAL ? 0222 : 0444)) < 0)
            return rc;
        break;
    default:
        return -EINVAL;
    }
    switch (cmd) {
    case SEM_GETVAL:
        return set->sems[semnum].val;
    case SEM_GETPID:
        return set->sems[semnum].pid;
    case SEM_GETNCNT:
    case SEM_GETZCNT:
        return sem_waiters(p->sched, set, semnum, cmd == SEM_GETZCNT);
    default: { /* SETVAL: the union's int */
        int val = (int)(uint32_t)arg;
        if (val < 0 || val > SEM_VMX)
            return -ERANGE;
        ipc_sem_setval(p->sched->ipc, set, semnum, (uint16_t)val, sys_ipc_pid(p));
        o->ctime = ipc_now(p);
        return 0;
    }
    }
}
