/* What the System V IPC syscall files share (syscalls/sys_sem.c, sys_msg.c, sys_shm.c):
 * Linux's ipc64_perm as x86-64 lays it out, and the common parts of get, IPC_STAT and
 * IPC_SET. */
#ifndef VMEMU_SYS_IPC_H
#define VMEMU_SYS_IPC_H

#include "sysdefs.h"
#include "vmemu/ipc.h"

/* Linux's struct ipc64_perm (48 bytes). */
struct linux_ipc64_perm {
    int32_t key;
    uint32_t uid, gid, cuid, cgid;
    uint16_t mode;
    uint8_t pad1[2];
    uint16_t seq;
    uint16_t pad2;
    uint64_t unused1, unused2;
};

/* p's run's namespace (struct sched's ipc), created at the first call; NULL without
 * memory. */
struct ipc_ns *ipc_ns_of(struct proc *p);
/* Now in seconds on p's guest CLOCK_REALTIME (the objects' times). */
int64_t ipc_now(struct proc *p);
/* IPC_STAT's part common to every kind, once the caller zeroed its kind's ds (size bytes)
 * and filled the kind's own fields: -EACCES without read permission on obj, else sets
 * *perm (ds's perm) to obj's permissions and copies ds to buf. Returns 0 or -errno. */
int sys_ipc_stat_out(struct proc *p, const struct ipc_obj *obj, struct linux_ipc64_perm *perm,
                     const void *ds, size_t size, gva_t buf);
/* IPC_SET's part common to every kind: -EPERM unless the caller owns or created obj (or
 * is root), else sets owner, group and the permission bits from in, moves obj's
 * generation and stamps its ctime. Returns 0 or -errno. */
int sys_ipc_set(struct proc *p, struct ipc_obj *obj, const struct linux_ipc64_perm *in);
/* The pid IPC objects record for p (its process's). */
int sys_ipc_pid(const struct proc *p);
/* The existing object of kind with key, checked as Linux's ipcget does for flg:
 * -EEXIST (IPC_CREAT|IPC_EXCL), -EACCES; NULL (*out) when there is none (-ENOENT without
 * IPC_CREAT). Returns 0 or -errno. */
int sys_ipc_get_existing(struct ipc_ns *ns, enum ipc_kind kind, int32_t key, int flg,
                         struct ipc_obj **out);
/* The object of kind with id for a syscall of p: when it is gone and p slept on it in
 * this syscall, -EIDRM (Linux wakes sleepers of a removed object with it), else -EINVAL.
 * Returns 0 and sets *out, or -errno. */
int sys_ipc_obj(struct proc *p, enum ipc_kind kind, int id, struct ipc_obj **out);

#endif
