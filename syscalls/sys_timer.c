/* POSIX timer syscalls: timer_create, timer_settime, timer_gettime, timer_getoverrun and
 * timer_delete on CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME and CLOCK_TAI, with
 * SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD_ID (glibc's and musl's SIGEV_THREAD use the
 * latter with an internal signal). The timers themselves, and their firing by the
 * scheduler, are src/proc/ptimer.c's. The CPU-time clocks have no timers in vmemu
 * (-EINVAL, said once on stderr). Called by syscalls/dispatch.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/ptimer.h"
#include "vmemu/sched.h"
#include "vmemu/warn_once.h"

#define NSEC_PER_SEC  1000000000ULL
/* Longest expiry or interval kept (about 146 years): sums with sched_now never wrap. */
#define PTIMER_MAX_NS (1ULL << 62)
#define SIGEV_THREAD  2 /* the kernel treats it as SIGEV_SIGNAL (the C library's thread) */

/* The guest's struct sigevent (64 bytes; the fields the kernel reads). */
struct linux_sigevent {
    uint64_t value; /* sigev_value */
    int32_t signo;  /* sigev_signo */
    int32_t notify; /* sigev_notify */
    int32_t tid;    /* sigev_notify_thread_id (SIGEV_THREAD_ID) */
    uint8_t pad[44];
};
LINUX_ABI_CHECK(struct linux_sigevent, 64);

/* The guest's struct itimerspec: interval, then the expiry. */
struct linux_timer_itimerspec {
    struct linux_timespec interval;
    struct linux_timespec value;
};
LINUX_ABI_CHECK(struct linux_timer_itimerspec, 32);

/* Whether vmemu has timers on clock clk: 0, or Linux's error for it. */
static int ptimer_clock_ok(int clk)
{
    static struct warn_once reported;
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        return 0;
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
        return -EOPNOTSUPP; /* Linux has no timers on them either */
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        if (warn_once(&reported, 0))
            fprintf(stderr, "vmemu: timer_create: CPU-time clocks have no timers in vmemu; "
                            "-EINVAL\n");
        return -EINVAL;
    default:
        return -EINVAL;
    }
}

/* The task tid when it is a live thread of p's process. */
static bool ptimer_tid_ok(struct proc *p, int tid)
{
    if (tid == p->pid)
        return true;
    const struct proc *t = p->sched ? sched_find(p->sched, tid) : NULL;
    return t != NULL && t->leader == p->leader && !t->exited && t->state != PROC_ZOMBIE &&
           t->state != PROC_DEAD;
}

/* timer_create: the new id goes to *timerid. sevp NULL is SIGEV_SIGNAL with SIGALRM and
 * the id as si_value, as Linux. */
SYSCALL_DEFINE3(timer_create, int, clk, gva_t, sevp, gva_t, timerid)
{
    int err = ptimer_clock_ok(clk);
    if (err < 0)
        return err;
    struct ptimer_spec spec = {.clock = clk, .notify = PTIMER_SIGEV_SIGNAL, .signo = LINUX_SIGALRM};
    bool default_value = sevp == 0;
    if (sevp != 0) {
        struct linux_sigevent ev;
        if (copy_from_user(p->mm, &ev, sevp, sizeof(ev)) < 0)
            return -EFAULT;
        switch (ev.notify) {
        case PTIMER_SIGEV_SIGNAL:
        case SIGEV_THREAD:
            spec.notify = PTIMER_SIGEV_SIGNAL;
            break;
        case PTIMER_SIGEV_NONE:
            spec.notify = PTIMER_SIGEV_NONE;
            break;
        case PTIMER_SIGEV_THREAD_ID | PTIMER_SIGEV_SIGNAL:
            if (!ptimer_tid_ok(p, ev.tid))
                return -EINVAL;
            spec.notify = PTIMER_SIGEV_THREAD_ID;
            spec.tid = ev.tid;
            break;
        default:
            return -EINVAL;
        }
        if (spec.notify != PTIMER_SIGEV_NONE && (ev.signo < 1 || ev.signo > PROC_NSIG))
            return -EINVAL;
        spec.signo = spec.notify != PTIMER_SIGEV_NONE ? ev.signo : 0;
        spec.value = ev.value;
    }
    int id = ptimer_create(p, &spec);
    if (id < 0)
        return id;
    if (default_value)
        ptimer_get(p, id)->spec.value = (uint64_t)id;
    if (put_user_u32(p->mm, timerid, (uint32_t)id) < 0) {
        ptimer_delete(p, id);
        return -EFAULT;
    }
    return 0;
}

static struct linux_timespec ns_to_ts(uint64_t ns)
{
    struct linux_timespec ts = {.tv_sec = (int64_t)(ns / NSEC_PER_SEC),
                                .tv_nsec = (int64_t)(ns % NSEC_PER_SEC)};
    return ts;
}

/* A timespec as nanoseconds (capped at PTIMER_MAX_NS); -EINVAL unless it is valid. */
static int ts_to_ns(const struct linux_timespec *ts, uint64_t *ns)
{
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (int64_t)NSEC_PER_SEC)
        return -EINVAL;
    if ((uint64_t)ts->tv_sec >= PTIMER_MAX_NS / NSEC_PER_SEC)
        *ns = PTIMER_MAX_NS;
    else
        *ns = (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
    return 0;
}

static struct linux_timer_itimerspec ptimer_now(struct proc *p, const struct ptimer *t)
{
    struct linux_timer_itimerspec v = {.interval = ns_to_ts(t->interval_ns),
                                       .value = ns_to_ts(ptimer_left(t, sched_now(p->sched)))};
    return v;
}

/* timer_settime: arms (value 0 disarms) with an interval; TIMER_ABSTIME takes the value
 * as a time on the timer's clock (one already past fires at once). The old setting goes
 * to old. */
SYSCALL_DEFINE4(timer_settime, int, id, int, flags, gva_t, nv, gva_t, ov)
{
    struct ptimer *t = ptimer_get(p, id);
    if (t == NULL || nv == 0)
        return -EINVAL;
    struct linux_timer_itimerspec n;
    if (copy_from_user(p->mm, &n, nv, sizeof(n)) < 0)
        return -EFAULT;
    uint64_t value, interval;
    if (ts_to_ns(&n.value, &value) < 0 || ts_to_ns(&n.interval, &interval) < 0)
        return -EINVAL;
    if ((flags & LINUX_TIMER_ABSTIME) && value != 0) {
        struct timespec now;
        int err = sched_clock_read(p->sched, p, t->spec.clock, &now);
        if (err < 0)
            return err;
        uint64_t now_ns = (uint64_t)now.tv_sec * NSEC_PER_SEC + (uint64_t)now.tv_nsec;
        value = value > now_ns ? value - now_ns : 1;
    }
    struct linux_timer_itimerspec o = ptimer_now(p, t);
    ptimer_arm(t, sched_now(p->sched), value, interval);
    if (value != 0 && p->sched)
        p->sched->timer_armed = true; /* the run ends: the slice must end when it is due */
    if (ov != 0 && copy_to_user(p->mm, ov, &o, sizeof(o)) < 0)
        return -EFAULT; /* armed all the same, as Linux */
    return 0;
}

SYSCALL_DEFINE2(timer_gettime, int, id, gva_t, cur)
{
    struct ptimer *t = ptimer_get(p, id);
    if (t == NULL)
        return -EINVAL;
    struct linux_timer_itimerspec v = ptimer_now(p, t);
    return copy_to_user(p->mm, cur, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

/* timer_getoverrun: the overruns of the timer's last signal. */
SYSCALL_DEFINE1(timer_getoverrun, int, id)
{
    struct ptimer *t = ptimer_get(p, id);
    return t != NULL ? t->overrun_last : -EINVAL;
}

SYSCALL_DEFINE1(timer_delete, int, id)
{
    return ptimer_delete(p, id);
}
