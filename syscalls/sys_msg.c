/* System V message queues: msgget, msgsnd, msgrcv, msgctl. Arguments are decoded and
 * checked in Linux's order; the queues and msgrcv's choice of message are
 * src/proc/ipc_msg.c. A send to a full queue or a receive with nothing to take sleeps in
 * vmemu's scheduler (WAIT_IPC) and runs again when the queue changes; a signal ends it
 * with EINTR (never restarted), removal with EIDRM. MSG_COPY is not supported (ENOSYS). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys_ipc.h"
#include "vmemu/sched.h"

#define MSG_INFO_C 12

/* Linux's struct msqid64_ds on x86-64. */
struct linux_msqid64_ds {
    struct linux_ipc64_perm perm;
    int64_t stime, rtime, ctime;
    uint64_t cbytes, qnum, qbytes;
    int32_t lspid, lrpid;
    uint64_t unused4, unused5;
};

/* Linux's struct msginfo. */
struct linux_msginfo {
    int32_t msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
    uint16_t msgseg;
};

SYSCALL_DEFINE2(msgget, int32_t, key, int, flg)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    struct ipc_obj *o;
    struct ipc_msq *q;
    if (!ns)
        return -ENOMEM;
    int rc = sys_ipc_get_existing(ns, IPC_MSG, key, flg, &o);
    if (rc < 0)
        return rc;
    if (o)
        return o->id;
    if ((rc = ipc_msg_create(ns, key, flg, &q)) < 0)
        return rc;
    q->obj.ctime = ipc_now(p);
    return q->obj.id;
}

SYSCALL_DEFINE4(msgsnd, int, msqid, gva_t, msgp, uint64_t, msgsz, int, flg)
{
    static unsigned char text[MSG_MAX]; /* one task runs at a time */
    int64_t type;
    struct ipc_obj *o;
    if (msgsz > MSG_MAX || msqid < 0)
        return -EINVAL;
    if (copy_from_user(p->mm, &type, msgp, sizeof(type)) < 0)
        return -EFAULT;
    if (type < 1)
        return -EINVAL;
    if (msgsz && copy_from_user(p->mm, text, msgp + sizeof(type), msgsz) < 0)
        return -EFAULT;
    int rc = sys_ipc_obj(p, IPC_MSG, msqid, &o);
    if (rc < 0)
        return rc;
    if ((rc = ipc_perms(o, 0222)) < 0)
        return rc;
    struct ipc_msq *q = (struct ipc_msq *)o;
    if (ipc_msg_fits(q, msgsz)) {
        if ((rc = ipc_msg_put(q, type, text, msgsz)) < 0)
            return rc;
        q->lspid = sys_ipc_pid(p);
        q->stime = ipc_now(p);
        return 0;
    }
    if (flg & IPC_NOWAIT_F)
        return -EAGAIN;
    struct proc_ipc_wait w = {.id = msqid, .gen = o->gen, .semnum = -1};
    return sched_block_ipc(p, &w, 0);
}

SYSCALL_DEFINE5(msgrcv, int, msqid, gva_t, msgp, uint64_t, msgsz, int64_t, msgtyp, int, flg)
{
    struct ipc_obj *o;
    if (msqid < 0 || (int64_t)msgsz < 0)
        return -EINVAL;
    if (flg & MSG_COPY_F)
        return -ENOSYS;
    int rc = sys_ipc_obj(p, IPC_MSG, msqid, &o);
    if (rc < 0)
        return rc;
    if ((rc = ipc_perms(o, 0444)) < 0)
        return rc;
    struct ipc_msq *q = (struct ipc_msq *)o;
    struct ipc_msg **link;
    struct ipc_msg *m = ipc_msg_select(q, msgtyp, flg & MSG_EXCEPT_F, &link);
    if (!m) {
        if (flg & IPC_NOWAIT_F)
            return -ENOMSG;
        struct proc_ipc_wait w = {.id = msqid, .gen = o->gen, .semnum = -1};
        return sched_block_ipc(p, &w, 0);
    }
    if (m->len > msgsz && !(flg & MSG_NOERROR_F))
        return -E2BIG;
    /* As Linux: the message leaves the queue before it is copied; a bad buffer loses it. */
    ipc_msg_unlink(q, m, link);
    q->lrpid = sys_ipc_pid(p);
    q->rtime = ipc_now(p);
    size_t n = m->len < msgsz ? m->len : (size_t)msgsz;
    long ret = (long)n;
    if (copy_to_user(p->mm, msgp, &m->type, sizeof(m->type)) < 0 ||
        (n && copy_to_user(p->mm, msgp + sizeof(m->type), m->text, n) < 0))
        ret = -EFAULT;
    free(m);
    return ret;
}

/* IPC_INFO and MSG_INFO (MSG_INFO: queues, messages and bytes in use). */
static long msg_info(struct proc *p, int cmd, gva_t arg)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    struct linux_msginfo mi = {
        .msgpool = IPC_MAX_OBJS * MSG_MNB / 1024,
        .msgmap = IPC_MAX_OBJS * MSG_MNB / 16,
        .msgmax = MSG_MAX,
        .msgmnb = MSG_MNB,
        .msgmni = IPC_MAX_OBJS,
        .msgssz = 16,
        .msgtql = IPC_MAX_OBJS * MSG_MNB / 16,
        .msgseg = 0xffff,
    };
    if (!ns)
        return -ENOMEM;
    if (cmd == MSG_INFO_C) {
        mi.msgpool = ns->t[IPC_MSG].used;
        mi.msgmap = mi.msgtql = 0;
        for (int i = 0; i < IPC_MAX_OBJS; i++) {
            const struct ipc_msq *q = (const struct ipc_msq *)ns->t[IPC_MSG].slot[i];
            if (q) {
                mi.msgmap += (int32_t)q->qnum;
                mi.msgtql += (int32_t)q->cbytes;
            }
        }
    }
    if (copy_to_user(p->mm, arg, &mi, sizeof(mi)) < 0)
        return -EFAULT;
    return ipc_max_index(ns, IPC_MSG);
}

SYSCALL_DEFINE3(msgctl, int, msqid, int, cmd, gva_t, buf)
{
    struct ipc_obj *o;
    struct linux_msqid64_ds ds;
    cmd &= ~IPC_64_F;
    if (msqid < 0 || cmd < 0)
        return -EINVAL;
    if (cmd == IPC_INFO_C || cmd == MSG_INFO_C)
        return msg_info(p, cmd, buf);
    if (cmd != IPC_STAT_C && cmd != IPC_SET_C && cmd != IPC_RMID_C)
        return -EINVAL;
    if (cmd == IPC_SET_C && copy_from_user(p->mm, &ds, buf, sizeof(ds)) < 0)
        return -EFAULT;
    int rc = sys_ipc_obj(p, IPC_MSG, msqid, &o);
    if (rc < 0)
        return rc;
    struct ipc_msq *q = (struct ipc_msq *)o;
    switch (cmd) {
    case IPC_STAT_C:
        memset(&ds, 0, sizeof(ds));
        ds.stime = q->stime;
        ds.rtime = q->rtime;
        ds.ctime = o->ctime;
        ds.cbytes = q->cbytes;
        ds.qnum = q->qnum;
        ds.qbytes = q->qbytes;
        ds.lspid = q->lspid;
        ds.lrpid = q->lrpid;
        return sys_ipc_stat_out(p, o, &ds.perm, &ds, sizeof(ds), buf);
    case IPC_SET_C: /* the qbytes checks fail with EPERM, as the owner check would */
        if (ds.qbytes > MSG_MNB && ds.qbytes > q->qbytes && geteuid() != 0)
            return -EPERM;
        if (ds.qbytes > (uint64_t)MSG_MNB * 64)
            return -EPERM; /* vmemu's bound, even for root */
        /* sys_ipc_set moves the generation: senders look again */
        if ((rc = sys_ipc_set(p, o, &ds.perm)) < 0)
            return rc;
        q->qbytes = ds.qbytes;
        return 0;
    default:
        if ((rc = ipc_owner(o)) < 0)
            return rc;
        ipc_msg_destroy(p->sched->ipc, q);
        return 0;
    }
}
