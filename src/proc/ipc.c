/* System V IPC, the common part: the run's namespace (hung off struct sched), ids and
 * keys, Linux's permission checks, the wait condition of WAIT_IPC sleepers and what the
 * end of a process does (SEM_UNDO, removed segments). The kinds are ipc_sem.c, ipc_msg.c
 * and ipc_shm.c; the syscalls are syscalls/sys_ipc.c and syscalls/sys_shm.c. */
#include "vmemu/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmemu/pagecache.h"
#include "vmemu/proc.h"

/* A new empty namespace. */
struct ipc_ns *ipc_ns_new(void)
{
    return calloc(1, sizeof(struct ipc_ns));
}

/* Frees every object and undo entry. */
void ipc_destroy(struct ipc_ns *ns)
{
    if (!ns)
        return;
    for (int k = 0; k < IPC_NKINDS; k++) {
        for (int i = 0; i < IPC_MAX_OBJS; i++) {
            struct ipc_obj *o = ns->t[k].slot[i];
            if (!o)
                continue;
            if (k == IPC_SEM)
                ipc_sem_destroy(ns, (struct ipc_sem_set *)o);
            else if (k == IPC_MSG)
                ipc_msg_destroy(ns, (struct ipc_msq *)o);
            else
                ipc_shm_mark_destroy(ns, (struct ipc_shm *)o);
        }
    }
    /* Segments still mapped somewhere: the run is over, drop them all. */
    for (int i = 0; i < IPC_MAX_OBJS; i++) {
        struct ipc_shm *shm = (struct ipc_shm *)ns->t[IPC_SHM].slot[i];
        if (shm) {
            ipc_remove(ns, &shm->obj);
            vfile_put(shm->file);
            free(shm);
        }
    }
    free(ns->undo);
    free(ns);
}

/* The object of kind with this id, or NULL. */
struct ipc_obj *ipc_lookup(struct ipc_ns *ns, enum ipc_kind kind, int id)
{
    if (!ns || id < 0)
        return NULL;
    int idx = id % IPC_SEQ_MULT;
    if (idx >= IPC_MAX_OBJS)
        return NULL;
    struct ipc_obj *o = ns->t[kind].slot[idx];
    return o && o->id == id ? o : NULL;
}

/* The object of kind with key, or NULL. */
struct ipc_obj *ipc_find_key(struct ipc_ns *ns, enum ipc_kind kind, int32_t key)
{
    if (!ns || key == IPC_PRIVATE_KEY)
        return NULL;
    for (int i = 0; i < IPC_MAX_OBJS; i++) {
        struct ipc_obj *o = ns->t[kind].slot[i];
        if (o && o->key == key)
            return o;
    }
    return NULL;
}

/* Puts obj into its table with a new id; owner and creator are the host user. */
int ipc_insert(struct ipc_ns *ns, struct ipc_obj *obj)
{
    struct ipc_table *t = &ns->t[obj->kind];
    for (int i = 0; i < IPC_MAX_OBJS; i++) {
        if (t->slot[i])
            continue;
        obj->seq = t->seq[i];
        t->seq[i] = (uint16_t)((t->seq[i] + 1) % (INT32_MAX / IPC_SEQ_MULT));
        obj->id = obj->seq * IPC_SEQ_MULT + i;
        obj->uid = obj->cuid = (uint32_t)geteuid();
        obj->gid = obj->cgid = (uint32_t)getegid();
        obj->gen = 1;
        t->slot[i] = obj;
        t->used++;
        return 0;
    }
    return -ENOSPC;
}

/* Takes obj out of its table. Sleepers find its id gone (ipc_wait_done). */
void ipc_remove(struct ipc_ns *ns, struct ipc_obj *obj)
{
    struct ipc_table *t = &ns->t[obj->kind];
    int idx = obj->id % IPC_SEQ_MULT;
    if (t->slot[idx] == obj) {
        t->slot[idx] = NULL;
        t->used--;
    }
    obj->gen++;
}

/* Linux's ipcperms for the host user (root may do anything, as with CAP_IPC_OWNER). */
int ipc_perms(const struct ipc_obj *obj, int flag)
{
    uint32_t uid = (uint32_t)geteuid(), gid = (uint32_t)getegid();
    int want = (flag >> 6) | (flag >> 3) | flag;
    int granted = obj->mode;
    if (uid == obj->cuid || uid == obj->uid)
        granted >>= 6;
    else if (gid == obj->cgid || gid == obj->gid)
        granted >>= 3;
    if ((want & ~granted & 0007) && uid != 0)
        return -EACCES;
    return 0;
}

/* Whether the caller owns or created obj. */
int ipc_owner(const struct ipc_obj *obj)
{
    uint32_t uid = (uint32_t)geteuid();
    return uid == 0 || uid == obj->uid || uid == obj->cuid ? 0 : -EPERM;
}

/* The largest index in use of kind. */
int ipc_max_index(const struct ipc_ns *ns, enum ipc_kind kind)
{
    int max = 0;
    for (int i = 0; ns && i < IPC_MAX_OBJS; i++)
        if (ns->t[kind].slot[i])
            max = i;
    return max;
}

/* A WAIT_IPC sleep is over when its object changed or went. */
bool ipc_wait_done(struct ipc_ns *ns, const struct proc_ipc_wait *w)
{
    enum ipc_kind kind = w->semnum >= 0 ? IPC_SEM : IPC_MSG;
    const struct ipc_obj *o = ipc_lookup(ns, kind, w->id);
    return !o || o->gen != w->gen;
}

/* The end of a process: SEM_UNDO, then segments nothing maps any more. */
void ipc_exit(struct ipc_ns *ns, int pid)
{
    if (!ns)
        return;
    ipc_sem_exit(ns, pid);
    ipc_shm_gc(ns);
}
