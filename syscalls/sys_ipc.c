/* What the System V IPC syscalls share: IPC_STAT's and IPC_SET's common parts, the get logic
 * (keys, IPC_CREAT/IPC_EXCL, permissions) and finding the object of an id (EIDRM for a
 * sleeper whose object went). The objects themselves are src/proc/ipc*.c. */
#include <string.h>
#include <time.h>

#include "sys_ipc.h"
#include "vmemu/sched.h"

/* p's run's namespace, created at the first call. */
struct ipc_ns *ipc_ns_of(struct proc *p)
{
    if (!p->sched)
        return NULL;
    if (!p->sched->ipc)
        p->sched->ipc = ipc_ns_new();
    return p->sched->ipc;
}

/* Now in seconds on the guest's CLOCK_REALTIME. */
int64_t ipc_now(struct proc *p)
{
    struct timespec ts;
    if (!p->sched || sched_clock_read(p->sched, p, CLOCK_REALTIME, &ts) < 0)
        return (int64_t)time(NULL);
    return (int64_t)ts.tv_sec;
}

/* IPC_STAT: the read check, obj's permissions into ds, ds out. */
int sys_ipc_stat_out(struct proc *p, const struct ipc_obj *obj, struct linux_ipc64_perm *perm,
                     const void *ds, size_t size, gva_t buf)
{
    int rc = ipc_perms(obj, 0444);
    if (rc < 0)
        return rc;
    memset(perm, 0, sizeof(*perm));
    perm->key = obj->key;
    perm->uid = obj->uid;
    perm->gid = obj->gid;
    perm->cuid = obj->cuid;
    perm->cgid = obj->cgid;
    perm->mode = obj->mode;
    perm->seq = obj->seq;
    return copy_to_user(p->mm, buf, ds, size) < 0 ? -EFAULT : 0;
}

/* IPC_SET: the owner check, owner, group, permission bits, ctime. */
int sys_ipc_set(struct proc *p, struct ipc_obj *obj, const struct linux_ipc64_perm *in)
{
    int rc = ipc_owner(obj);
    if (rc < 0)
        return rc;
    obj->uid = in->uid;
    obj->gid = in->gid;
    obj->mode = (uint16_t)((obj->mode & ~0777) | (in->mode & 0777));
    obj->gen++;
    obj->ctime = ipc_now(p);
    return 0;
}

/* The process's pid (the thread-group leader's). */
int sys_ipc_pid(const struct proc *p)
{
    return p->leader ? p->leader->pid : p->pid;
}

/* ipcget's checks on an existing object. */
int sys_ipc_get_existing(struct ipc_ns *ns, enum ipc_kind kind, int32_t key, int flg,
                         struct ipc_obj **out)
{
    *out = NULL;
    if (key == IPC_PRIVATE_KEY)
        return 0;
    struct ipc_obj *o = ipc_find_key(ns, kind, key);
    if (!o)
        return (flg & IPC_CREAT_F) ? 0 : -ENOENT;
    if ((flg & IPC_CREAT_F) && (flg & IPC_EXCL_F))
        return -EEXIST;
    int rc = ipc_perms(o, flg & 0777);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

/* The object of an id, -EIDRM for a sleeper whose object went. */
int sys_ipc_obj(struct proc *p, enum ipc_kind kind, int id, struct ipc_obj **out)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    if (!ns)
        return -ENOMEM;
    *out = ipc_lookup(ns, kind, id);
    if (*out)
        return 0;
    if (p->retry && p->wait.kind == WAIT_IPC && p->wait.ipc.id == id &&
        (p->wait.ipc.semnum >= 0) == (kind == IPC_SEM))
        return -EIDRM;
    return -EINVAL;
}
