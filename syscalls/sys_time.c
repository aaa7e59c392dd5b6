/* Time and randomness syscalls: clock_gettime, gettimeofday and time from the guest's
 * clock (src/proc/sched_clock.c: the host's, or the virtual one),
 * nanosleep and clock_nanosleep as sleeps in vmemu's scheduler (other processes run
 * meanwhile), and getrandom (the machine's entropy, through a bounce buffer). Guest structures are
 * the layouts of vmemu/abi/linux.h. Called by syscalls/dispatch.c. */
#include <stdlib.h>
#include <time.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

#define NSEC_PER_SEC 1000000000L

static struct linux_timespec timespec_to_linux(const struct timespec *ts)
{
    struct linux_timespec lt = {.tv_sec = ts->tv_sec, .tv_nsec = ts->tv_nsec};
    return lt;
}

/* Reads a guest timespec that a sleep will use. Returns 0, -EFAULT, or -EINVAL when it
 * is not a valid duration or time. */
static int timespec_from_user(struct proc *p, gva_t va, struct timespec *ts)
{
    struct linux_timespec lt;
    if (copy_from_user(p->mm, &lt, va, sizeof(lt)) < 0)
        return -EFAULT;
    if (lt.tv_sec < 0 || lt.tv_nsec < 0 || lt.tv_nsec >= NSEC_PER_SEC)
        return -EINVAL;
    ts->tv_sec = lt.tv_sec;
    ts->tv_nsec = lt.tv_nsec;
    return 0;
}

/* clock_gettime: the guest's clock (sched_clock_read: the host's, or the virtual one). */
SYSCALL_DEFINE2(clock_gettime, int, clk, gva_t, tp)
{
    struct timespec ts;
    int err = sched_clock_read(p->sched, p, clk, &ts);
    if (err < 0)
        return err;
    struct linux_timespec lt = timespec_to_linux(&ts);
    return copy_to_user(p->mm, tp, &lt, sizeof(lt));
}

/* clock_getres: the host's resolution of the clocks the guest can read (a NULL tp only
 * checks the clock). */
SYSCALL_DEFINE2(clock_getres, int, clk, gva_t, tp)
{
    struct timespec ts;
    int err = sched_clock_read(p->sched, p, clk, &ts);
    if (err < 0)
        return err;
    if (clock_getres(clk, &ts) < 0)
        return -errno;
    if (tp == 0)
        return 0;
    struct linux_timespec lt = timespec_to_linux(&ts);
    return copy_to_user(p->mm, tp, &lt, sizeof(lt));
}

SYSCALL_DEFINE2(gettimeofday, gva_t, tv, gva_t, tz)
{
    if (tv != 0) {
        struct timespec ts;
        sched_clock_read(p->sched, p, CLOCK_REALTIME, &ts);
        struct linux_timeval ltv = {.tv_sec = ts.tv_sec, .tv_usec = ts.tv_nsec / 1000};
        if (copy_to_user(p->mm, tv, &ltv, sizeof(ltv)) < 0)
            return -EFAULT;
    }
    if (tz != 0) {
        struct linux_timezone ltz = {0, 0};
        if (copy_to_user(p->mm, tz, &ltz, sizeof(ltz)) < 0)
            return -EFAULT;
    }
    return 0;
}

SYSCALL_DEFINE1(time, gva_t, tloc)
{
    struct timespec ts;
    sched_clock_read(p->sched, p, CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    if (tloc != 0 && put_user_u64(p->mm, tloc, (uint64_t)t) < 0)
        return -EFAULT;
    return t;
}

/* Longest sleep vmemu computes with (about 146 years): keeps deadlines from wrapping. */
#define SLEEP_MAX_NS (1ULL << 62)

static uint64_t timespec_ns(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec >= SLEEP_MAX_NS / NSEC_PER_SEC)
        return SLEEP_MAX_NS;
    return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* Sleeps in the scheduler until the deadline of this sleep (kept across re-executions by
 * sched_deadline): 0 once it has passed. A signal with a handler ends the sleep with
 * -EINTR and writes the time left to rem: src/proc/signal.c does that when it delivers the
 * signal (signal_restarts leaves timed sleeps at their syscall instruction). */
static long sleep_for(struct proc *p, uint64_t rel_ns)
{
    uint64_t deadline = sched_deadline(p, rel_ns);
    if (sched_now(p->sched) >= deadline)
        return 0;
    return sched_block_timer(p, deadline);
}

SYSCALL_DEFINE2(nanosleep, gva_t, req, gva_t, rem)
{
    struct timespec ts;
    (void)rem;
    int err = timespec_from_user(p, req, &ts);
    if (err < 0)
        return err;
    return sleep_for(p, timespec_ns(&ts));
}

/* clock_nanosleep on the clocks Linux can sleep on (REALTIME, MONOTONIC, BOOTTIME, TAI,
 * PROCESS_CPUTIME; the latter as elapsed time). An absolute time is turned into the time
 * from now on that clock; the sleep then runs on the guest's monotonic clock. The coarse
 * and raw clocks have no sleep (-EOPNOTSUPP); the others, and flags other than
 * TIMER_ABSTIME, are -EINVAL. */
SYSCALL_DEFINE4(clock_nanosleep, int, clk, int, flags, gva_t, req, gva_t, rem)
{
    struct timespec ts, now;
    (void)rem;
    if ((flags & ~LINUX_TIMER_ABSTIME) != 0)
        return -EINVAL;
    if (clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE)
        return -EOPNOTSUPP;
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
        clk != CLOCK_TAI && clk != CLOCK_PROCESS_CPUTIME_ID)
        return -EINVAL;
    int err = timespec_from_user(p, req, &ts);
    if (err < 0)
        return err;
    uint64_t rel = timespec_ns(&ts);
    if (flags & LINUX_TIMER_ABSTIME) {
        sched_clock_read(p->sched, p, clk, &now);
        uint64_t cur = timespec_ns(&now);
        rel = rel > cur ? rel - cur : 0;
    }
    return sleep_for(p, rel);
}

/* At most this many random bytes per host call. */
#define RANDOM_STEP (64 * 1024)

/* getrandom: host bytes in steps; a buffer that faults part-way returns the bytes
 * delivered before it, or -EFAULT when there are none. */
SYSCALL_DEFINE3(getrandom, gva_t, buf, size_t, len, unsigned, flags)
{
    const unsigned known = LINUX_GRND_NONBLOCK | LINUX_GRND_RANDOM | LINUX_GRND_INSECURE;
    if ((flags & ~known) != 0 || (flags & (LINUX_GRND_RANDOM | LINUX_GRND_INSECURE)) ==
                                     (LINUX_GRND_RANDOM | LINUX_GRND_INSECURE))
        return -EINVAL;
    if (len > LINUX_MAX_RW)
        len = LINUX_MAX_RW;
    size_t size = len < RANDOM_STEP ? len : RANDOM_STEP;
    char *bounce = malloc(size > 0 ? size : 1);
    if (bounce == NULL)
        return -ENOMEM;
    size_t done = 0;
    long ret = 0;
    while (done < len) {
        size_t want = len - done < size ? len - done : size;
        ssize_t n = entropy_fill(&p->sys->entropy, bounce, want, flags);
        if (n < 0) {
            ret = done > 0 ? (long)done : (long)n;
            break;
        }
        size_t c = sys_copy_to_user_partial(p->mm, buf + done, bounce, (size_t)n);
        done += c;
        if (c < (size_t)n) {
            ret = done > 0 ? (long)done : -EFAULT;
            break;
        }
        ret = (long)done;
        if ((size_t)n < want)
            break;
    }
    free(bounce);
    return ret;
}
