/* What the System V IPC syscalls share: Linux's ipc64_perm in and out, the get logic
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

/* obj's permissions as IPC_STAT gives them. */
void sys_ipc_perm_out(const struct ipc_obj *obj, struct linux_ipc64_perm *out)
{
    memset(out, 0, sizeof(*out));
    out->key = obj->key;
    out->uid = obj->uid;
    out->gid = obj->gid;
    out->cuid = obj->cuid;
    out->cgid = obj->cgid;
    out->mode = obj->mode;
    out->seq = obj->seq;
}

/* IPC_SET: owner, group, permission bits. */
void sys_ipc_perm_set(struct ipc_obj *obj, const struct linux_ipc64_perm *in)
{
    obj->uid = in->uid;
    obj->gid = in->gid;
    obj->mode = (uint16_t)((obj->mode & ~0777) | (in->mode & 0777));
    obj->gen++;
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
