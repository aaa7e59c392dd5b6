/* File locks and FIFO opens between guest processes: flock, fcntl's F_GETLK, F_SETLK,
 * F_SETLKW and their OFD forms, mknod/mknodat, and the open of a FIFO (from do_open).
 * Every guest process lives in one host process, so the host's locks cannot tell them
 * apart and a blocking host lock or FIFO open would stop every guest: the locks are
 * vmemu's own table (include/vmemu/flock.h), and a wait sleeps in vmemu's scheduler (the
 * syscall is re-executed when the lock may be free or the FIFO's other end may be there).
 * The host's locks are not taken: processes outside vmemu do not see the guest's locks. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysdefs.h"
#include "vmemu/flock.h"
#include "vmemu/sched.h"

/* Linux's values, the host's too. */
#define LOCK_CMD_OFD_GETLK  36
#define LOCK_CMD_OFD_SETLK  37
#define LOCK_CMD_OFD_SETLKW 38
#define LOCK_F_RDLCK        0
#define LOCK_F_WRLCK        1
#define LOCK_F_UNLCK        2
#define LOCK_BSD_SH         1
#define LOCK_BSD_EX         2
#define LOCK_BSD_NB         4
#define LOCK_BSD_UN         8
/* Linux's MAX_DEADLK_ITERATIONS: how far a chain of waiters is followed. */
#define LOCK_DEADLK_STEPS   10
/* How often a FIFO open that waits looks again (a partner outside vmemu wakes nobody). */
#define FIFO_RETRY_NS       (20ULL * 1000 * 1000)

/* The lock a sleeping POSIX waiter of owner is after (Linux's what_owner_is_waiting_for),
 * or NULL. */
static const struct flock_req *posix_waiting(const struct sched *s, const void *owner)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *q = s->procs[i];
        if (q->state == PROC_SLEEPING && q->wait.kind == WAIT_LOCK &&
            q->wait.lock.kind == FLOCK_POSIX && q->wait.lock.owner == owner)
            return &q->wait.lock;
    }
    return NULL;
}

/* Whether waiting for blocker closes a cycle of POSIX owners waiting for each other that
 * comes back to req's owner (Linux's posix_locks_deadlock). */
static bool posix_deadlock(const struct proc *p, const struct flock_req *req,
                           const struct flock_req *blocker)
{
    if (!p->sched || req->kind != FLOCK_POSIX)
        return false;
    struct flock_req b = *blocker;
    for (int i = 0; i < LOCK_DEADLK_STEPS && b.kind == FLOCK_POSIX; i++) {
        const struct flock_req *w = posix_waiting(p->sched, b.owner);
        if (!w || !flock_test(w, &b))
            return false;
        if (b.owner == req->owner)
            return true;
    }
    return false;
}

/* Takes req, or sleeps until it may be free (wait), or fails. */
static long lock_take(struct proc *p, const struct flock_req *req, bool wait)
{
    struct flock_req blocker;
    int rc = flock_set(req, &blocker);
    if (rc != -EAGAIN || !wait)
        return rc;
    if (posix_deadlock(p, req, &blocker))
        return -EDEADLK;
    return sched_block_lock(p, req);
}

/* *type for the guest's lock type v, whose values for read, write and unlock are rd, wr
 * and un. Returns 0 or -EINVAL. */
static int lock_type(int v, int rd, int wr, int un, enum flock_type *type)
{
    if (v == rd)
        *type = FLOCK_RD;
    else if (v == wr)
        *type = FLOCK_WR;
    else if (v == un)
        *type = FLOCK_UN;
    else
        return -EINVAL;
    return 0;
}

/* The file behind host descriptor host, for req's owner (-ENOLCK without one). Returns 0
 * or -errno. */
static int lock_file(int host, struct flock_req *req, struct stat *st)
{
    if (!req->owner)
        return -ENOLCK;
    if (fstat(host, st) < 0)
        return -errno;
    req->dev = (uint64_t)st->st_dev;
    req->ino = (uint64_t)st->st_ino;
    return 0;
}

SYSCALL_DEFINE2(flock, int, fd, int, op)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct flock_req req = {.kind = FLOCK_BSD, .owner = fd_ofd_of(p->fds, fd), .end = FLOCK_EOF};
    int err = lock_type(op & ~LOCK_BSD_NB, LOCK_BSD_SH, LOCK_BSD_EX, LOCK_BSD_UN, &req.type);
    if (err < 0)
        return err;
    struct stat st;
    err = lock_file(host, &req, &st);
    if (err < 0)
        return err;
    return lock_take(p, &req, !(op & LOCK_BSD_NB));
}

/* The byte range of a struct flock: [start, end], end FLOCK_EOF for l_len 0. Returns 0,
 * -EINVAL or -EOVERFLOW. */
static int lock_range(int host, const struct stat *st, const struct linux_flock *gl,
                      struct flock_req *req)
{
    int64_t base;
    switch (gl->l_whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = lseek(host, 0, SEEK_CUR);
        if (base < 0)
            return -errno;
        break;
    case SEEK_END:
        base = st->st_size;
        break;
    default:
        return -EINVAL;
    }
    int64_t start, end;
    if (__builtin_add_overflow(base, gl->l_start, &start))
        return -EOVERFLOW;
    if (gl->l_len > 0) {
        if (__builtin_add_overflow(start, gl->l_len - 1, &end))
            return -EOVERFLOW;
    } else if (gl->l_len == 0) {
        end = FLOCK_EOF;
    } else {
        end = start - 1;
        if (__builtin_add_overflow(start, gl->l_len, &start))
            return -EINVAL;
    }
    if (start < 0)
        return -EINVAL;
    req->start = start;
    req->end = end;
    return 0;
}

/* F_GETLK: the first lock in req's way, or F_UNLCK, written back to the guest. */
static long lock_get(struct proc *p, gva_t arg, struct linux_flock *gl, const struct flock_req *req)
{
    struct flock_req c;
    if (!flock_test(req, &c)) {
        gl->l_type = LOCK_F_UNLCK;
    } else {
        gl->l_type = c.type == FLOCK_WR ? LOCK_F_WRLCK : LOCK_F_RDLCK;
        gl->l_whence = SEEK_SET;
        gl->l_start = c.start;
        gl->l_len = c.end == FLOCK_EOF ? 0 : c.end - c.start + 1;
        gl->l_pid = c.kind == FLOCK_POSIX ? c.pid : -1;
    }
    return copy_to_user(p->mm, arg, gl, sizeof(*gl));
}

/* fcntl's record locks (see the header comment): F_GETLK, F_SETLK, F_SETLKW owned by the
 * process, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW by the open file description. */
long sys_fcntl_lock(struct proc *p, int fd, int cmd, gva_t arg)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct linux_flock gl;
    if (copy_from_user(p->mm, &gl, arg, sizeof(gl)) < 0)
        return -EFAULT;
    bool ofd = cmd == LOCK_CMD_OFD_GETLK || cmd == LOCK_CMD_OFD_SETLK || cmd == LOCK_CMD_OFD_SETLKW;
    bool get = cmd == LINUX_F_GETLK || cmd == LOCK_CMD_OFD_GETLK;
    if (ofd && gl.l_pid != 0)
        return -EINVAL;
    struct flock_req req = {
        .kind = ofd ? FLOCK_OFD : FLOCK_POSIX,
        .owner = ofd ? (const void *)fd_ofd_of(p->fds, fd) : (const void *)p->fds,
        .pid = ofd ? 0 : p->leader->pid,
    };
    int err = lock_type(gl.l_type, LOCK_F_RDLCK, LOCK_F_WRLCK, LOCK_F_UNLCK, &req.type);
    if (err == 0 && get && req.type == FLOCK_UN)
        err = -EINVAL;
    if (err < 0)
        return err;
    struct stat st;
    err = lock_file(host, &req, &st);
    if (err == 0)
        err = lock_range(host, &st, &gl, &req);
    if (err < 0)
        return err;
    if (get)
        return lock_get(p, arg, &gl, &req);
    int acc = fcntl(host, F_GETFL);
    if (acc < 0)
        return -errno;
    acc &= O_ACCMODE;
    if ((req.type == FLOCK_RD && acc == O_WRONLY) || (req.type == FLOCK_WR && acc == O_RDONLY))
        return -EBADF;
    return lock_take(p, &req, cmd == LINUX_F_SETLKW || cmd == LOCK_CMD_OFD_SETLKW);
}

static long do_mknod(struct proc *p, int dirfd, gva_t path, unsigned mode, unsigned dev)
{
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, false, &ap);
    if (err < 0)
        return err;
    if (ap.proc)
        return -EACCES;
    return sys_host_result(mknodat(ap.dirfd, ap.host, mode, dev));
}

/* mknod/mknodat: the host makes the node (a FIFO or a regular file; devices need a
 * privilege the host decides on). */
SYSCALL_DEFINE3(mknod, gva_t, path, unsigned, mode, unsigned, dev)
{
    return do_mknod(p, LINUX_AT_FDCWD, path, mode, dev);
}

SYSCALL_DEFINE4(mknodat, int, dirfd, gva_t, path, unsigned, mode, unsigned, dev)
{
    return do_mknod(p, dirfd, path, mode, dev);
}

/* Clears O_NONBLOCK, which the guest did not ask for, on a FIFO opened without blocking:
 * reads and writes sleep in the scheduler anyway. */
static int fifo_ready(int h)
{
    int fl = fcntl(h, F_GETFL);
    if (fl >= 0)
        fcntl(h, F_SETFL, fl & ~O_NONBLOCK);
    return h;
}

/* Opens the FIFO st for the guest (see the header). */
int sys_fifo_open(struct proc *p, const struct at_path *ap, int flags, const struct stat *st)
{
    int acc = flags & O_ACCMODE;
    int hflags = flags | O_CLOEXEC | O_NONBLOCK;
    if (acc == O_RDWR || (flags & O_NONBLOCK)) {
        int h = openat(ap->dirfd, ap->host, flags | O_CLOEXEC, 0);
        return h < 0 ? -errno : h;
    }
    struct proc_fifo *w = &p->wait.fifo;
    struct proc_fifo f = {
        .dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino, .writer = acc == O_WRONLY};
    int kept = -1; /* the descriptor of this open's earlier sleep */
    if (p->wait.kind == WAIT_FIFO && w->held && w->dev == f.dev && w->ino == f.ino &&
        w->writer == f.writer) {
        kept = w->hostfd;
        w->held = false;
        f.writes = w->writes;
    } else {
        f.writes = flock_fifo_writes(f.dev, f.ino);
    }
    if (f.writer) {
        int h = openat(ap->dirfd, ap->host, hflags, 0);
        if (h >= 0 || errno != ENXIO) {
            int err = -errno;
            if (kept >= 0)
                close(kept);
            return h >= 0 ? fifo_ready(h) : err;
        }
        f.hostfd = kept >= 0 ? kept : openat(ap->dirfd, ap->host, O_PATH | O_CLOEXEC);
    } else {
        int h = kept >= 0 ? kept : openat(ap->dirfd, ap->host, hflags, 0);
        if (h < 0)
            return -errno;
        struct pollfd pf = {.fd = h, .events = POLLIN};
        if (flock_fifo_writers(f.dev, f.ino) > 0 || flock_fifo_writes(f.dev, f.ino) != f.writes ||
            poll(&pf, 1, 0) > 0)
            return fifo_ready(h);
        f.hostfd = h;
    }
    if (f.hostfd < 0)
        return -errno;
    f.held = true;
    return (int)sched_block_fifo(p, &f, sched_now(p->sched) + FIFO_RETRY_NS);
}
