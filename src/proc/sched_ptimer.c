/* Firing POSIX timers (timer_create) from the scheduler: Linux's SI_TIMER siginfo to the
 * process or, for SIGEV_THREAD_ID, to the named thread, and overrun counting. The timer
 * table is src/proc/ptimer.c's. Part of the scheduler (vmemu/sched.h). */
#include <limits.h>
#include <string.h>

#include "vmemu/ptimer.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"

#define SIG_BIT(sig) (1ULL << ((sig)-1))

/* The still pending signal that timer id of leader's process queued, or NULL: its
 * siginfo, in the task that holds it. */
static struct linux_siginfo *ptimer_pending(struct proc *leader, int id, int sig)
{
    const struct sched *s = leader->sched;
    for (size_t i = 0; s && i < s->nprocs; i++) {
        struct proc *t = s->procs[i];
        if (t->leader != leader || !(t->sigpending & SIG_BIT(sig)))
            continue;
        struct linux_siginfo *si = &t->siginfo[sig - 1];
        if (si->si_code == LINUX_SI_TIMER && si->u.timer.tid == id)
            return si;
    }
    return NULL;
}

/* The task a SIGEV_THREAD_ID timer's signal goes to: the named thread while it runs in
 * the process, else NULL (the process gets it). */
static struct proc *ptimer_thread(struct proc *leader, int tid)
{
    struct proc *t = leader->sched ? sched_find(leader->sched, tid) : NULL;
    if (t == NULL || t->leader != leader || t->exited || t->state == PROC_ZOMBIE ||
        t->state == PROC_DEAD)
        return NULL;
    return t;
}

/* Notifies one expiry of timer id (periods expiries at once: periods - 1 overruns). */
static void ptimer_notify(struct proc *leader, int id, struct ptimer *t, uint64_t periods)
{
    if (t->spec.notify == PTIMER_SIGEV_NONE)
        return;
    int sig = t->spec.signo;
    struct linux_siginfo *pending = ptimer_pending(leader, id, sig);
    if (pending != NULL) {
        uint64_t o = (uint64_t)pending->u.timer.overrun + periods;
        pending->u.timer.overrun = o > INT_MAX ? INT_MAX : (int32_t)o;
        t->overrun_last = pending->u.timer.overrun;
        return;
    }
    struct linux_siginfo si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = LINUX_SI_TIMER;
    si.u.timer.tid = id;
    si.u.timer.overrun = periods - 1 > INT_MAX ? INT_MAX : (int32_t)(periods - 1);
    si.u.timer.value = t->spec.value;
    t->overrun_last = si.u.timer.overrun;
    struct proc *target = NULL;
    if (t->spec.notify == PTIMER_SIGEV_THREAD_ID)
        target = ptimer_thread(leader, t->spec.tid);
    if (target != NULL)
        signal_send(target, sig, &si);
    else
        sched_signal_process(leader, sig, &si);
}

/* Fires the expired POSIX timers of leader's process (see the header). */
uint64_t sched_ptimers(struct proc *leader, uint64_t now)
{
    struct ptimer_set *set = leader->ptimers;
    uint64_t next = 0;
    for (int id = 0; set != NULL && id < set->cap; id++) {
        struct ptimer *t = &set->t[id];
        if (!t->used || t->deadline_ns == 0)
            continue;
        if (now >= t->deadline_ns) {
            uint64_t periods = 1;
            if (t->interval_ns != 0) {
                periods = (now - t->deadline_ns) / t->interval_ns + 1;
                t->deadline_ns += periods * t->interval_ns;
            } else {
                t->deadline_ns = 0;
            }
            ptimer_notify(leader, id, t, periods);
        }
        if (t->deadline_ns != 0 && (next == 0 || t->deadline_ns < next))
            next = t->deadline_ns;
    }
    return next;
}
