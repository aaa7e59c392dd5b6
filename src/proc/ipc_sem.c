/* System V semaphores: sets, Linux's all-or-nothing semop (perform_atomic_semop) and the
 * SEM_UNDO adjustments applied when a process ends. Sleeping is the scheduler's
 * (WAIT_IPC); the syscalls, GETNCNT and GETZCNT are syscalls/sys_sem.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/ipc.h"

/* A new set of nsems zeroed semaphores. */
int ipc_sem_create(struct ipc_ns *ns, int32_t key, int mode, int nsems, struct ipc_sem_set **out)
{
    if (nsems < 1 || nsems > SEM_MSL)
        return -EINVAL;
    struct ipc_sem_set *set = calloc(1, sizeof(*set) + (size_t)nsems * sizeof(set->sems[0]));
    if (!set)
        return -ENOMEM;
    set->obj.kind = IPC_SEM;
    set->obj.key = key;
    set->obj.mode = (uint16_t)(mode & 0777);
    set->nsems = nsems;
    int rc = ipc_insert(ns, &set->obj);
    if (rc < 0) {
        free(set);
        return rc;
    }
    *out = set;
    return 0;
}

/* Drops the undo entries matching semid (and num, when num >= 0). */
static void undo_drop(struct ipc_ns *ns, int semid, int num)
{
    size_t j = 0;
    for (size_t i = 0; i < ns->nundo; i++) {
        const struct ipc_undo *u = &ns->undo[i];
        if (u->semid == semid && (num < 0 || u->num == num))
            continue;
        ns->undo[j++] = *u;
    }
    ns->nundo = j;
}

/* Removes and frees set with its undo entries. */
void ipc_sem_destroy(struct ipc_ns *ns, struct ipc_sem_set *set)
{
    undo_drop(ns, set->obj.id, -1);
    ipc_remove(ns, &set->obj);
    free(set);
}

/* The undo entry of (pid, semid, num), or NULL. */
static struct ipc_undo *undo_find(struct ipc_ns *ns, int pid, int semid, int num)
{
    for (size_t i = 0; i < ns->nundo; i++) {
        struct ipc_undo *u = &ns->undo[i];
        if (u->pid == pid && u->semid == semid && u->num == num)
            return u;
    }
    return NULL;
}

/* Adds delta to the undo entry of (pid, semid, num), creating it. Returns 0, -ENOSPC or
 * -ENOMEM. */
static int undo_add(struct ipc_ns *ns, int pid, int semid, int num, int32_t delta)
{
    struct ipc_undo *u = undo_find(ns, pid, semid, num);
    if (u) {
        u->adj += delta;
        return 0;
    }
    if (ns->nundo == ns->capundo) {
        if (ns->capundo >= SEM_MAX_UNDO)
            return -ENOSPC;
        size_t cap = ns->capundo ? 2 * ns->capundo : 16;
        struct ipc_undo *v = realloc(ns->undo, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ns->undo = v;
        ns->capundo = cap;
    }
    ns->undo[ns->nundo++] = (struct ipc_undo){.pid = pid, .semid = semid, .num = num, .adj = delta};
    return 0;
}

/* Applies all ops or none (see the header). */
int ipc_sem_apply(struct ipc_ns *ns, struct ipc_sem_set *set, const struct ipc_sembuf *ops,
                  size_t n, int pid, size_t *blocked)
{
    int32_t val[SEM_OPM];
    size_t nundo = 0;
    if (n > SEM_OPM)
        return -E2BIG;
    /* Values as the ops see them, in order: each op sees the ones before it applied. */
    for (size_t i = 0; i < n; i++) {
        const struct ipc_sembuf *op = &ops[i];
        int32_t cur = set->sems[op->num].val;
        for (size_t j = i; j-- > 0;)
            if (ops[j].num == op->num) {
                cur = val[j];
                break;
            }
        int32_t result = cur + op->op;
        if ((op->op == 0 && cur != 0) || result < 0) {
            *blocked = i;
            return 1;
        }
        if (result > SEM_VMX)
            return -ERANGE;
        if ((op->flg & SEM_UNDO_F) && op->op != 0) {
            int32_t a = 0;
            const struct ipc_undo *u = undo_find(ns, pid, set->obj.id, op->num);
            if (u)
                a = u->adj;
            for (size_t j = 0; j < i; j++)
                if (ops[j].num == op->num && (ops[j].flg & SEM_UNDO_F))
                    a -= ops[j].op;
            a -= op->op;
            if (a < -SEM_AEM - 1 || a > SEM_AEM)
                return -ERANGE;
            nundo++;
        }
        val[i] = result;
    }
    /* Room for the undo entries first, so that nothing changes on failure. */
    if (nundo > 0 && ns->nundo + nundo > ns->capundo) {
        size_t cap = ns->capundo ? ns->capundo : 16;
        while (cap < ns->nundo + nundo)
            cap *= 2;
        if (cap > SEM_MAX_UNDO)
            return -ENOSPC;
        struct ipc_undo *v = realloc(ns->undo, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ns->undo = v;
        ns->capundo = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ipc_sembuf *op = &ops[i];
        set->sems[op->num].val = (uint16_t)val[i];
        set->sems[op->num].pid = pid;
        if ((op->flg & SEM_UNDO_F) && op->op != 0)
            undo_add(ns, pid, set->obj.id, op->num, -op->op); /* room was made above */
    }
    set->obj.gen++;
    return 0;
}

/* SETVAL/SETALL of one semaphore: its adjustments are cleared. */
void ipc_sem_setval(struct ipc_ns *ns, struct ipc_sem_set *set, int num, uint16_t val, int pid)
{
    undo_drop(ns, set->obj.id, num);
    set->sems[num].val = val;
    set->sems[num].pid = pid;
    set->obj.gen++;
}

/* Applies and drops pid's undo entries, clamping each value to [0, SEM_VMX] as Linux's
 * exit_sem does. */
void ipc_sem_exit(struct ipc_ns *ns, int pid)
{
    size_t j = 0;
    for (size_t i = 0; i < ns->nundo; i++) {
        const struct ipc_undo u = ns->undo[i];
        if (u.pid != pid) {
            ns->undo[j++] = u;
            continue;
        }
        struct ipc_sem_set *set = (struct ipc_sem_set *)ipc_lookup(ns, IPC_SEM, u.semid);
        if (!set || u.num >= set->nsems || u.adj == 0)
            continue;
        int32_t v = set->sems[u.num].val + u.adj;
        v = v < 0 ? 0 : v > SEM_VMX ? SEM_VMX : v;
        set->sems[u.num].val = (uint16_t)v;
        set->sems[u.num].pid = pid;
        set->obj.gen++;
    }
    ns->nundo = j;
}
