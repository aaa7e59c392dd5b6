/* POSIX per-process timers (timer_create and friends; src/proc/ptimer.c). A process
 * (its thread-group leader) owns up to PTIMER_MAX timers, numbered from 0 in creation
 * order with the lowest free id reused, as Linux's per-process ids. Deadlines are on the
 * guest's monotonic clock (sched_now): the scheduler fires them in sched_timers(), next to
 * ITIMER_REAL (sched_ptimers, src/proc/sched_ptimer.c). Timers are not inherited by fork
 * and are deleted at exec and at the end of the process. */
#ifndef VMEMU_PTIMER_H
#define VMEMU_PTIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "vmemu/proc.h"

/* Timers a process may have (more: timer_create fails with -EAGAIN). */
#define PTIMER_MAX 256

/* How an expiry is notified (Linux's sigev_notify values). */
#define PTIMER_SIGEV_SIGNAL    0 /* a process-directed signal */
#define PTIMER_SIGEV_NONE      1 /* nothing: only timer_gettime sees it */
#define PTIMER_SIGEV_THREAD_ID 4 /* a signal to one thread of the process */

/* What timer_create asks for. */
struct ptimer_spec {
    int clock;      /* the clock id (informational: deadlines run on sched_now) */
    int notify;     /* PTIMER_SIGEV_* */
    int signo;      /* the signal (1..64) unless notify is PTIMER_SIGEV_NONE */
    int tid;        /* PTIMER_SIGEV_THREAD_ID: the thread's id (a task of the process) */
    uint64_t value; /* the sigval passed in si_value */
};

/* One timer. */
struct ptimer {
    bool used;               /* the id is allocated */
    struct ptimer_spec spec; /* as created */
    uint64_t deadline_ns;    /* next expiry on sched_now, 0: disarmed */
    uint64_t interval_ns;    /* reload value, 0: one-shot */
    int overrun_last;        /* timer_getoverrun: overruns of the last signal queued */
};

/* A process's timers (leader only, allocated by the first timer_create). */
struct ptimer_set {
    struct ptimer *t; /* cap entries, indexed by timer id */
    int cap;          /* allocated entries (<= PTIMER_MAX) */
};

/* Creates a disarmed timer in p's process. Returns its id, -EAGAIN (PTIMER_MAX reached)
 * or -ENOMEM. */
int ptimer_create(struct proc *p, const struct ptimer_spec *spec);
/* p's process's timer id, or NULL when id names none. */
struct ptimer *ptimer_get(struct proc *p, int id);
/* Deletes timer id of p's process. Returns 0 or -EINVAL. */
int ptimer_delete(struct proc *p, int id);
/* Arms t to expire value_ns after now (sched_now; value_ns 0 disarms it) and then every
 * interval_ns (0: once); the overrun count restarts. The caller sets the scheduler's
 * timer_armed so that the current run ends and the slice ends when the timer is due. */
void ptimer_arm(struct ptimer *t, uint64_t now, uint64_t value_ns, uint64_t interval_ns);
/* Nanoseconds from now (sched_now) until t expires (0: disarmed; at least 1 while armed). */
uint64_t ptimer_left(const struct ptimer *t, uint64_t now);
/* Deletes every timer of the process led by leader (exec, end of the process). */
void ptimer_free_all(struct proc *leader);

#endif
