/* The process table and the scheduler's bookkeeping: pids, the list of every process of
 * the run, putting a process to sleep from a syscall handler (the syscall is re-executed
 * when it wakes), waking sleepers whose condition became true, the end of a process
 * (zombie, re-parenting, SIGCHLD, vfork parent) and reaping. The loop that runs the
 * processes on the CPU is sched_run in src/run.c. Called by the kernel loop and the
 * process, pipe, poll and signal syscalls. */
#include "vmemu/sched.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/heapcheck.h"
#include "vmemu/signal.h"
#include "vmemu/util.h"

#define SCHED_FIRST_PID 1000

/* Sets up an empty scheduler. */
int sched_init(struct sched *s, struct vmsys *sys, struct cpu *cpu, const struct run_options *opt)
{
    memset(s, 0, sizeof(*s));
    s->sys = sys;
    s->cpu = cpu;
    s->opt = opt;
    s->next_pid = SCHED_FIRST_PID;
    s->quantum = opt && opt->quantum ? opt->quantum : SCHED_QUANTUM;
    return 0;
}

/* Frees every process. */
void sched_destroy(struct sched *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        proc_destroy(s->procs[i]);
    free(s->procs);
    memset(s, 0, sizeof(*s));
}

/* Adds p with the next pid. The first process takes the host's group and session when
 * vmemu does not lead them (as a program started by a script would), else its own. */
int sched_add(struct sched *s, struct proc *p)
{
    if (s->nprocs == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct proc **v = realloc(s->procs, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->procs = v;
        s->cap = cap;
    }
    p->pid = s->next_pid++;
    p->sched = s;
    p->state = PROC_RUNNABLE;
    if (!s->init) {
        s->init = p;
        pid_t host = getpid();
        p->pgid = getpgrp() == host ? p->pid : (int)getpgrp();
        p->sid = getsid(0) == host ? p->pid : (int)getsid(0);
    }
    s->procs[s->nprocs++] = p;
    return 0;
}

/* A process that has not been reaped, by pid. */
struct proc *sched_find(const struct sched *s, int pid)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->pid == pid && s->procs[i]->state != PROC_DEAD)
            return s->procs[i];
    return NULL;
}

/* Processes not yet reaped (zombies count, as for Linux's RLIMIT_NPROC). */
size_t sched_nr_live(const struct sched *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        n += s->procs[i]->state != PROC_DEAD;
    return n;
}

/* Clears what a previous sleep left and sets the new kind. */
static void wait_reset(struct proc *p, enum proc_wait_kind kind)
{
    free(p->wait.fds);
    memset(&p->wait, 0, sizeof(p->wait));
    p->wait.kind = kind;
}

/* p sleeps on host descriptors (and an optional deadline). */
long sched_block_io(struct proc *p, const struct proc_wait_fd *fds, size_t nfds,
                    uint64_t deadline_ns, bool restartable)
{
    wait_reset(p, WAIT_IO);
    if (nfds > 0) {
        p->wait.fds = malloc(nfds * sizeof(*fds));
        if (!p->wait.fds)
            return -ENOMEM;
        memcpy(p->wait.fds, fds, nfds * sizeof(*fds));
    }
    p->wait.nfds = nfds;
    p->wait.deadline_ns = deadline_ns;
    p->wait.restartable = restartable;
    return -SCHED_EBLOCK;
}

/* p sleeps until a child changes state. */
long sched_block_child(struct proc *p)
{
    wait_reset(p, WAIT_CHILD);
    p->wait.restartable = true;
    return -SCHED_EBLOCK;
}

/* p sleeps until a signal. */
long sched_block_signal(struct proc *p)
{
    wait_reset(p, WAIT_SIGNAL);
    return -SCHED_EBLOCK;
}

/* p sleeps on a futex. */
long sched_block_futex(struct proc *p, const struct proc_futex *key, uint64_t deadline_ns)
{
    wait_reset(p, WAIT_FUTEX);
    p->wait.futex = *key;
    p->wait.deadline_ns = deadline_ns;
    p->wait.restartable = true;
    return -SCHED_EBLOCK;
}

/* p sleeps until the deadline. */
long sched_block_timer(struct proc *p, uint64_t deadline_ns)
{
    wait_reset(p, WAIT_TIMER);
    p->wait.deadline_ns = deadline_ns;
    return -SCHED_EBLOCK;
}

/* The deadline of a timed sleep, kept across re-executions. */
uint64_t sched_deadline(const struct proc *p, uint64_t rel_ns)
{
    if (p->retry && p->wait.deadline_ns)
        return p->wait.deadline_ns;
    uint64_t now = now_ns();
    return rel_ns > UINT64_MAX - now ? UINT64_MAX : now + rel_ns;
}

/* Marks p reaped; its counters (and its reaped children's) go to the parent. */
void sched_reap(struct proc *p)
{
    p->state = PROC_DEAD;
    p->reported = true;
    if (p->parent) {
        proc_usage_add(&p->parent->children, &p->usage);
        proc_usage_add(&p->parent->children, &p->children);
    }
}

/* Whether a parent wants zombies: not when it ignores SIGCHLD or set SA_NOCLDWAIT. */
static bool parent_keeps_zombies(const struct proc *parent)
{
    const struct linux_sigaction *sa = &parent->sigact[SIGCHLD - 1];
    return sa->handler != 1 /* SIG_IGN */ && !(sa->flags & 2 /* SA_NOCLDWAIT */);
}

/* Ends p: see the header. */
void sched_exit(struct proc *p)
{
    struct sched *s = p->sched;
    if (p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
        return;
    proc_freeze_usage(p);
    p->end_ns = now_ns();
    if (p->heap) {
        /* Leaks are searched for in the address space, which goes away below. */
        uint64_t errors = heapcheck_exit_report(p, stderr);
        if (s)
            s->check_errors += errors;
        if (!s || p != s->init) { /* the first process keeps it, with its mm, for the report */
            heapcheck_free(p->heap);
            p->heap = NULL;
        }
    }
    /* clear_child_tid is written only when other threads share the mm (Linux's
     * mm_release): never, as vmemu runs no threads. */
    if (p->fds)
        fd_table_destroy(p->fds);
    wait_reset(p, WAIT_NONE);
    if (p->mm && p->mm_borrowed) {
        p->mm = NULL; /* a vfork child leaves its parent's address space alone */
        p->mm_borrowed = false;
    } else if (p->mm && (!s || p != s->init)) {
        mm_destroy(p->mm);
        p->mm = NULL;
    }
    p->vfork_parent = NULL;
    if (!s) {
        p->state = PROC_DEAD;
        return;
    }
    struct proc *init = s->init;
    bool init_alive = init && init != p && init->state != PROC_ZOMBIE && init->state != PROC_DEAD;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *c = s->procs[i];
        if (c->parent != p || c->state == PROC_DEAD)
            continue;
        c->parent = init_alive ? init : NULL;
        c->ppid = init_alive ? init->pid : 1;
        if (c->state == PROC_ZOMBIE && !init_alive)
            sched_reap(c);
    }
    struct proc *parent = p->parent;
    if (parent && (parent->state == PROC_ZOMBIE || parent->state == PROC_DEAD))
        parent = NULL;
    if (parent && parent_keeps_zombies(parent)) {
        p->state = PROC_ZOMBIE;
    } else {
        p->state = PROC_ZOMBIE;
        sched_reap(p);
    }
    if (parent && p->exit_signal) {
        struct linux_siginfo si;
        memset(&si, 0, sizeof(si));
        si.si_signo = p->exit_signal;
        si.si_code = p->term_signal ? LINUX_CLD_KILLED : LINUX_CLD_EXITED; /* no core */
        si.u.kill.pid = p->pid;
        si.u.kill.uid = (uint32_t)getuid();
        si.u.kill.status = p->term_signal ? p->term_signal : p->exit_code;
        signal_send(parent, p->exit_signal, &si);
    }
}
