/* The scheduler: pids, the list of the processes alive (and of the first ones reaped, for
 * the report; later ones are summed and freed), timers, which process runs next, idling,
 * the end of a
 * process (zombie, re-parenting, SIGCHLD, vfork parent) and reaping; the unmap history
 * hook and the whole-VM check of the sanitizer build. The loop that runs the processes on
 * the CPU is run_all (src/kernel/run.c). */
#include "vmemu/sched.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/ipc.h"
#include "vmemu/ptimer.h"
#include "vmemu/signal.h"
#include "vmemu/syscall_names.h"
#include "vmemu/util.h"
#include "vmemu/vm_check.h"

#define SCHED_FIRST_PID 1000

/* The address space of the running process lost [start, end): recorded in its history
 * when a syscall of that process did it (the crash report explains a later access). */
static void sched_unmapped(void *ctx, struct mm *mm, gva_t start, gva_t end)
{
    struct proc *p = ((struct sched *)ctx)->current;
    if (p && p->mm == mm && p->trap.nr >= 0)
        proc_unmap_record(p, start, end);
}

/* Sets up an empty scheduler. */
int sched_init(struct sched *s, struct vmsys *sys, struct cpu *cpu, const struct run_options *opt)
{
    memset(s, 0, sizeof(*s));
    s->sys = sys;
    s->cpu = cpu;
    s->opt = opt;
    s->next_pid = SCHED_FIRST_PID;
    s->quantum = opt && opt->quantum ? opt->quantum : SCHED_QUANTUM;
    sched_clock_init(s, opt && opt->virtual_clock, opt ? opt->realtime_start : -1);
    sys->on_unmap = (struct mm_unmap_hook){.unmapped = sched_unmapped, .ctx = s};
    return 0;
}

/* Frees every process. */
void sched_destroy(struct sched *s)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        ptimer_free_all(s->procs[i]);
        proc_destroy(s->procs[i]);
    }
    free(s->procs);
    ipc_destroy(s->ipc);
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
    s->nlive++;
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

/* Frees the reaped processes beyond the ones kept for the report (see the header). */
void sched_collect(struct sched *s)
{
    size_t n = 0;
    if (!s->reaped)
        return;
    s->reaped = false;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->state == PROC_DEAD && !p->kept && p != s->init) {
            if (s->nkept < SCHED_KEEP_ENDED) {
                p->kept = true;
                s->nkept++;
                cpu_context_free(p->ctx); /* it never runs again */
                p->ctx = NULL;
            } else {
                proc_usage_total(&s->dropped_usage, &p->usage);
                s->ndropped++;
                if (s->current == p)
                    s->current = NULL;
                ptimer_free_all(p);
                proc_destroy(p);
                continue;
            }
        }
        s->procs[n++] = p;
    }
    s->nprocs = n;
}

/* Whether the process led by p has ended (a zombie with no task left, or reaped). */
bool sched_process_ended(const struct proc *p)
{
    return p->state == PROC_DEAD || (p->state == PROC_ZOMBIE && p->nr_threads == 0);
}

/* Processes not yet reaped (zombies count, as for Linux's RLIMIT_NPROC). */
size_t sched_nr_live(const struct sched *s)
{
    return s->nlive;
}

/* Marks p reaped; its counters (and its reaped children's) go to the parent. */
void sched_reap(struct proc *p)
{
    if (p->state == PROC_DEAD)
        return;
    p->state = PROC_DEAD;
    p->reported = true;
    if (p->sched) {
        p->sched->reaped = true;
        p->sched->nlive--;
    }
    if (p->parent) {
        proc_usage_add(&p->parent->children, &p->usage);
        proc_usage_add(&p->parent->children, &p->children);
    }
}

/* Whether a parent wants zombies: not when it ignores SIGCHLD or set SA_NOCLDWAIT. */
static bool parent_keeps_zombies(const struct proc *parent)
{
    const struct linux_sigaction *sa = &parent->sigact[LINUX_SIGCHLD - 1];
    return sa->handler != LINUX_SIG_IGN && !(sa->flags & LINUX_SA_NOCLDWAIT);
}

static void process_exit(struct proc *p);

/* Tells the run's observer of ev (see the header). */
void sched_note_event(struct proc *p, enum proc_event ev)
{
    struct sched *s = p->sched;
    if (s && s->events.fn)
        s->events.fn(s->events.ctx, p, ev);
}

/* Ends p: see the header. */
void sched_exit(struct proc *p)
{
    if (p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
        return;
    if (sched_task_end(p))
        process_exit(p->leader);
}

/* The last task of p's group has ended: the process ends (see sched_exit's header). */
static void process_exit(struct proc *p)
{
    struct sched *s = p->sched;
    proc_freeze_usage(p);
    proc_usage_add(&p->usage, &p->threads_usage);
    p->end_ns = now_ns();
    if (p->mm && !p->mm_borrowed && p->mm->stats.fork_cow > 0)
        p->cow_shared_at_exit = mm_cow_shared_pages(p->mm); /* still the fork's image */
    sched_note_event(p, p->mm && p->mm->oom ? PROC_EV_OOM_KILL
                        : p->term_signal    ? PROC_EV_SIGNAL
                                            : PROC_EV_EXIT);
    const struct proc_observer *ob = p->opt ? p->opt->observer : NULL;
    if (p->heap && ob) {
        /* Leaks are searched for in the address space, which goes away below. */
        uint64_t errors = ob->exit(p, stderr);
        if (s)
            s->check_errors += errors;
        if (!s || p != s->init) { /* the first process keeps it, with its mm, for the report */
            ob->release(p->heap);
            p->heap = NULL;
        }
    }
    if (p->fds) { /* an ended process keeps no descriptor table (16 KiB) */
        fd_table_destroy(p->fds);
        free(p->fds);
        p->fds = NULL;
    }
    sched_wait_clear(p);
    if (p->mm && p->mm_borrowed) {
        p->mm = NULL; /* a vfork child leaves its parent's address space alone */
        p->mm_borrowed = false;
    } else if (p->mm && (!s || p != s->init)) {
        mm_destroy(p->mm);
        p->mm = NULL;
    }
    ipc_exit(s ? s->ipc : NULL, p->pid); /* SEM_UNDO; segments unmapped with the mm */
    if (p->vfork_parent && p->vfork_parent->wait.vfork_child == p)
        p->vfork_parent->wait.vfork_child = NULL; /* p may be freed before its parent wakes */
    p->vfork_parent = NULL;
    if (!s) {
        p->state = PROC_DEAD;
        return;
    }
    struct proc *init = s->init;
    bool init_alive = init && init != p && !sched_process_ended(init);
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
    if (parent && sched_process_ended(parent))
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
        sched_signal_process(parent, p->exit_signal, &si);
    }
    sched_check_vm(s, "exit");
}

/* Fires expired ITIMER_REAL timers (see the header). SIGALRM carries SI_KERNEL as
 * Linux's it_real_fn sends it; an interval timer that expired several times while nobody
 * looked fires once and moves to its next period after now. */
uint64_t sched_timers(struct sched *s, uint64_t now)
{
    uint64_t next = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->ptimers != NULL && p->leader == p) {
            uint64_t d = 0;
            if (sched_process_ended(p) || p->group_exit)
                ptimer_free_all(p); /* the process ended: its timers are gone */
            else
                d = sched_ptimers(p, now);
            if (d != 0 && (next == 0 || d < next))
                next = d;
        }
        if (p->itimer_deadline_ns == 0)
            continue;
        if (p->exited || p->state == PROC_ZOMBIE || p->state == PROC_DEAD) {
            p->itimer_deadline_ns = 0;
            continue;
        }
        if (now >= p->itimer_deadline_ns) {
            signal_send(p, LINUX_SIGALRM, NULL);
            if (p->itimer_interval_ns != 0) {
                uint64_t periods = (now - p->itimer_deadline_ns) / p->itimer_interval_ns + 1;
                p->itimer_deadline_ns += periods * p->itimer_interval_ns;
            } else {
                p->itimer_deadline_ns = 0;
            }
        }
        if (p->itimer_deadline_ns != 0 && (next == 0 || p->itimer_deadline_ns < next))
            next = p->itimer_deadline_ns;
    }
    return next;
}

/* Whether a process other than p can run now. */
bool sched_others_runnable(const struct sched *s, const struct proc *p)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i] != p && s->procs[i]->state == PROC_RUNNABLE)
            return true;
    return false;
}

/* Whether another thread of p's process can run now. */
bool sched_threads_runnable(const struct sched *s, const struct proc *p)
{
    if (p->leader->nr_threads <= 1)
        return false;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i] != p && s->procs[i]->leader == p->leader &&
            s->procs[i]->state == PROC_RUNNABLE)
            return true;
    return false;
}

/* The next runnable process after the current one, round robin in pid order. */
struct proc *sched_pick(struct sched *s)
{
    size_t start = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i] == s->current)
            start = i + 1;
    for (size_t k = 0; k < s->nprocs; k++) {
        struct proc *p = s->procs[(start + k) % s->nprocs];
        if (p->state == PROC_RUNNABLE)
            return p;
    }
    return NULL;
}

/* One line of the deadlock report: what sleeping task p waits for, and where. */
static void sched_report_sleeper(const struct proc *p)
{
    static const char *const kinds[] = {
        [WAIT_NONE] = "nothing",
        [WAIT_IO] = "a descriptor",
        [WAIT_CHILD] = "a child",
        [WAIT_VFORK] = "a vfork child",
        [WAIT_SIGNAL] = "a signal",
        [WAIT_TIMER] = "a timer",
        [WAIT_FUTEX] = "a futex",
        [WAIT_LOCK] = "a file lock",
        [WAIT_FIFO] = "a FIFO's other end",
        [WAIT_IPC] = "a System V IPC object",
    };
    if (p->state != PROC_SLEEPING)
        return;
    fprintf(stderr, "vmemu:   pid %d", p->leader->pid);
    if (p->leader != p || p->leader->nr_threads > 1)
        fprintf(stderr, " thread %d '%s'", p->pid, p->comm);
    fprintf(stderr, " waits for %s", kinds[p->wait.kind]);
    if (p->wait.kind == WAIT_FUTEX && p->wait.futex.space != NULL)
        fprintf(stderr, " at 0x%llx", (unsigned long long)p->wait.futex.off);
    fprintf(stderr, " (%s at rip 0x%llx)\n",
            p->wait.nr >= 0 ? syscall_name((uint64_t)p->wait.nr) : "?",
            (unsigned long long)p->wait.rip);
}

/* Nothing can run: waits on the host for a descriptor some process sleeps on, or for the
 * earliest deadline (see the header). */
bool sched_idle(struct sched *s, uint64_t deadline)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->state == PROC_SLEEPING && s->procs[i]->wait.kind == WAIT_IO)
            n += s->procs[i]->wait.nfds;
    if (n == 0 && deadline == 0) {
        s->deadlocks++;
        fprintf(stderr, "vmemu: deadlock: every process sleeps and nothing can wake it; "
                        "killing them (SIGKILL)\n");
        for (size_t i = 0; i < s->nprocs; i++)
            sched_report_sleeper(s->procs[i]);
        return true;
    }
    struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
    if (!pf)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *p = s->procs[i];
        if (p->state != PROC_SLEEPING || p->wait.kind != WAIT_IO)
            continue;
        for (size_t j = 0; j < p->wait.nfds; j++) {
            pf[k].fd = p->wait.fds[j].hostfd;
            pf[k++].events = p->wait.fds[j].events;
        }
    }
    int timeout = -1;
    if (deadline) {
        uint64_t now = sched_now(s);
        /* A virtual clock only looks at the host, then skips to the deadline. */
        timeout = s->clock.virt || deadline <= now ? 0 : (int)((deadline - now + 999999) / 1000000);
    }
    if (poll(pf, n, timeout) == 0 && deadline)
        sched_clock_skip(s, deadline);
    free(pf);
    return false;
}

/* Checks the whole VM with every address space of the run (see the header). */
void sched_check_vm(const struct sched *s, const char *when)
{
#ifdef VMEMU_CHECK_VM
    if (!s)
        return; /* a process outside a scheduler (unit tests) */
    struct mm **mms = calloc(s->nprocs ? s->nprocs : 1, sizeof(*mms));
    size_t n = 0;
    char why[256];
    VMEMU_BUG_ON(!mms);
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->mm)
            mms[n++] = s->procs[i]->mm;
    int rc = vm_check(s->sys, mms, n, true, why, sizeof(why));
    free(mms);
    if (rc == -EUCLEAN) {
        fprintf(stderr, "vmemu: VM invariant broken after %s: %s\n", when, why);
        VMEMU_BUG_ON(rc);
    }
#else
    (void)s;
    (void)when;
#endif
}
