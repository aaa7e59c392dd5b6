/* Sleeping and waking: a syscall handler puts its task to sleep on a condition (a
 * descriptor, a child, a signal, a futex, a file lock, a FIFO's other end, a System V IPC
 * object, a deadline) and the syscall is re-executed when it wakes; each pass of the
 * scheduler fires the timers and wakes the sleepers whose condition holds (a signal ends
 * a sleep with -EINTR unless SA_RESTART re-executes the syscall). */
#include "vmemu/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/flock.h"
#include "vmemu/ipc.h"
#include "vmemu/signal.h"

/* Closes the descriptor a FIFO open's sleep kept, unless the open took it. */
static void wait_drop_fifo(struct proc *p)
{
    if (p->wait.fifo.held)
        close(p->wait.fifo.hostfd);
    p->wait.fifo.held = false;
}

/* Clears what a previous sleep left and sets the new kind. */
static void wait_reset(struct proc *p, enum proc_wait_kind kind)
{
    wait_drop_fifo(p);
    free(p->wait.fds);
    memset(&p->wait, 0, sizeof(p->wait));
    p->wait.kind = kind;
    p->wait.nr = p->trap.nr;
    p->wait.rip = p->trap.rip;
}

/* Starts a sleep of kind: wait_reset, then its deadline (0: none) and whether a signal
 * handler restarts the syscall. The caller adds what kind waits for. */
static void wait_begin(struct proc *p, enum proc_wait_kind kind, uint64_t deadline_ns,
                       bool restartable)
{
    wait_reset(p, kind);
    p->wait.deadline_ns = deadline_ns;
    p->wait.restartable = restartable;
}

/* p sleeps on host descriptors (and an optional deadline). */
long sched_block_io(struct proc *p, const struct proc_wait_fd *fds, size_t nfds,
                    uint64_t deadline_ns, bool restartable)
{
    wait_begin(p, WAIT_IO, deadline_ns, restartable);
    if (nfds > 0) {
        p->wait.fds = malloc(nfds * sizeof(*fds));
        if (!p->wait.fds)
            return -ENOMEM;
        memcpy(p->wait.fds, fds, nfds * sizeof(*fds));
    }
    p->wait.nfds = nfds;
    return -SCHED_EBLOCK;
}

/* p sleeps until a child changes state. */
long sched_block_child(struct proc *p)
{
    wait_begin(p, WAIT_CHILD, 0, true);
    return -SCHED_EBLOCK;
}

/* p sleeps until a signal. */
long sched_block_signal(struct proc *p)
{
    wait_begin(p, WAIT_SIGNAL, 0, false);
    return -SCHED_EBLOCK;
}

/* p sleeps on a futex. */
long sched_block_futex(struct proc *p, const struct proc_futex *key, uint64_t deadline_ns)
{
    wait_begin(p, WAIT_FUTEX, deadline_ns, true);
    p->wait.futex = *key;
    if (p->sched)
        p->wait.futex.seq = ++p->sched->futex_seq;
    return -SCHED_EBLOCK;
}

/* p sleeps until a file lock can be granted. */
long sched_block_lock(struct proc *p, const struct flock_req *req)
{
    wait_begin(p, WAIT_LOCK, 0, true);
    p->wait.lock = *req;
    return -SCHED_EBLOCK;
}

/* p sleeps until a FIFO's other end opens. */
long sched_block_fifo(struct proc *p, const struct proc_fifo *fifo, uint64_t deadline_ns)
{
    wait_begin(p, WAIT_FIFO, deadline_ns, true);
    p->wait.fifo = *fifo;
    return -SCHED_EBLOCK;
}

/* p sleeps on a System V IPC object; SysV IPC calls are never restarted after a handler. */
long sched_block_ipc(struct proc *p, const struct proc_ipc_wait *w, uint64_t deadline_ns)
{
    wait_begin(p, WAIT_IPC, deadline_ns, false);
    p->wait.ipc = *w;
    return -SCHED_EBLOCK;
}

/* p sleeps until the deadline. */
long sched_block_timer(struct proc *p, uint64_t deadline_ns)
{
    wait_begin(p, WAIT_TIMER, deadline_ns, false);
    return -SCHED_EBLOCK;
}

/* The deadline of a timed sleep, kept across re-executions. */
uint64_t sched_deadline(const struct proc *p, uint64_t rel_ns)
{
    if (p->retry && p->wait.deadline_ns)
        return p->wait.deadline_ns;
    uint64_t now = sched_now(p->sched);
    return rel_ns > UINT64_MAX - now ? UINT64_MAX : now + rel_ns;
}

/* Wakes p from its sleep. A signal ends the sleep with -EINTR, unless the handler's
 * SA_RESTART re-executes the syscall; any other wake re-executes it. */
static void sched_wake(struct proc *p, bool by_signal)
{
    enum proc_wait_kind kind = p->wait.kind;
    uint64_t now = sched_now(p->sched);
    p->wait.left_ns = p->wait.deadline_ns > now ? p->wait.deadline_ns - now : 0;
    free(p->wait.fds);
    p->wait.fds = NULL;
    p->wait.nfds = 0;
    p->state = PROC_RUNNABLE;
    if (kind == WAIT_VFORK) {
        p->wait.kind = WAIT_NONE; /* the vfork already returned: nothing to re-execute */
        return;
    }
    if (by_signal && !signal_restarts(p)) {
        p->regfix.rax_set = true;
        p->regfix.rax = (uint64_t)-EINTR;
        p->regfix.rip_set = true;
        p->regfix.rip = p->trap.rip + 2;
        p->retry = false;
        p->io_done = 0;
        p->wait.kind = WAIT_NONE;
        wait_drop_fifo(p);
        return;
    }
    p->retry = !by_signal;
}

/* Whether a child of p's process (that waitpid could see) has ended. */
static bool has_zombie_child(const struct sched *s, const struct proc *p)
{
    bool any = false;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *c = s->procs[i];
        if (c->parent != p->leader || c->state == PROC_DEAD)
            continue;
        any = true;
        if (sched_process_ended(c))
            return true;
    }
    return !any; /* no child left: wait4 now fails with ECHILD */
}

/* Whether the FIFO open p sleeps in can go on: a writer's when a reader is there (the
 * host opens the FIFO for writing without blocking), a reader's when a guest has the FIFO
 * open for writing or opened it since, or the host says a writer came (data, or the end). */
static bool fifo_partner(const struct proc_fifo *f)
{
    if (!f->held)
        return true;
    if (f->writer) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", f->hostfd);
        int h = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (h < 0)
            return errno != ENXIO; /* an error: the open runs again and fails on its own */
        close(h);
        return true;
    }
    if (flock_fifo_writers(f->dev, f->ino) > 0 || flock_fifo_writes(f->dev, f->ino) != f->writes)
        return true;
    struct pollfd pf = {.fd = f->hostfd, .events = POLLIN};
    return poll(&pf, 1, 0) > 0;
}

/* Whether the condition p sleeps on holds now (signals aside). */
static bool sched_wait_done(const struct sched *s, struct proc *p, uint64_t now)
{
    struct proc_wait *w = &p->wait;
    if (w->deadline_ns && now >= w->deadline_ns)
        return true;
    switch (w->kind) {
    case WAIT_IO: {
        if (w->nfds == 0)
            return false;
        struct pollfd *pf = calloc(w->nfds, sizeof(*pf));
        if (!pf)
            return true; /* let the syscall run again and fail on its own */
        for (size_t i = 0; i < w->nfds; i++) {
            pf[i].fd = w->fds[i].hostfd;
            pf[i].events = w->fds[i].events;
        }
        int n = poll(pf, w->nfds, 0);
        free(pf);
        return n != 0;
    }
    case WAIT_CHILD:
        return has_zombie_child(s, p);
    case WAIT_VFORK:
        return !w->vfork_child || w->vfork_child->vfork_parent != p;
    case WAIT_FUTEX:
        return w->futex.woken;
    case WAIT_LOCK:
        return !flock_test(&w->lock, NULL);
    case WAIT_FIFO:
        return fifo_partner(&w->fifo);
    case WAIT_IPC:
        return ipc_wait_done(s->ipc, &w->ipc);
    case WAIT_SIGNAL:
    case WAIT_TIMER:
    case WAIT_NONE:
        return false;
    }
    return false;
}

/* Fires timers and wakes every sleeper whose condition holds. Returns the earliest
 * deadline still ahead (0: none). */
uint64_t sched_wake_sleepers(struct sched *s)
{
    uint64_t now = sched_now(s);
    uint64_t next = sched_timers(s, now);
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->state != PROC_SLEEPING)
            continue;
        if (signal_wakes(p))
            sched_wake(p, true);
        else if (sched_wait_done(s, p, now))
            sched_wake(p, false);
        else if (p->wait.deadline_ns && (!next || p->wait.deadline_ns < next))
            next = p->wait.deadline_ns;
    }
    return next;
}

/* Ends whatever sleep p was in (its process ends). */
void sched_wait_clear(struct proc *p)
{
    wait_reset(p, WAIT_NONE);
}
