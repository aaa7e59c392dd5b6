/* Time and randomness syscalls passed through to the host: clock_gettime, gettimeofday,
 * time, nanosleep, clock_nanosleep (the host sleeps for real) and getrandom (host bytes
 * through a bounce buffer). Guest structures are the layouts of linux_abi.h. Called by
 * syscalls/dispatch.c. */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "linux_abi.h"
#include "sysdefs.h"

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

/* Clock ids below 0 name other processes' CPU clocks and fd clocks: not this guest's. */
SYSCALL_DEFINE2(clock_gettime, int, clk, gva_t, tp)
{
    struct timespec ts;
    if (clk < 0)
        return -EINVAL;
    if (clock_gettime(clk, &ts) < 0)
        return -errno;
    struct linux_timespec lt = timespec_to_linux(&ts);
    return copy_to_user(p->mm, tp, &lt, sizeof(lt));
}

SYSCALL_DEFINE2(gettimeofday, gva_t, tv, gva_t, tz)
{
    if (tv != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
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
    time_t t = time(NULL);
    if (tloc != 0 && put_user_u64(p->mm, tloc, (uint64_t)t) < 0)
        return -EFAULT;
    return t;
}

/* Writes the time left of an interrupted sleep. */
static long sleep_interrupted(struct proc *p, gva_t rem, const struct timespec *left)
{
    if (rem != 0) {
        struct linux_timespec lt = timespec_to_linux(left);
        if (copy_to_user(p->mm, rem, &lt, sizeof(lt)) < 0)
            return -EFAULT;
    }
    return -EINTR;
}

SYSCALL_DEFINE2(nanosleep, gva_t, req, gva_t, rem)
{
    struct timespec ts, left;
    int err = timespec_from_user(p, req, &ts);
    if (err < 0)
        return err;
    if (nanosleep(&ts, &left) < 0) {
        if (errno == EINTR)
            return sleep_interrupted(p, rem, &left);
        return -errno;
    }
    return 0;
}

/* clock_nanosleep: the host call returns the error number itself, not -1. */
SYSCALL_DEFINE4(clock_nanosleep, int, clk, int, flags, gva_t, req, gva_t, rem)
{
    struct timespec ts, left;
    if ((flags & ~LINUX_TIMER_ABSTIME) != 0 || clk < 0)
        return -EINVAL;
    int err = timespec_from_user(p, req, &ts);
    if (err < 0)
        return err;
    err = clock_nanosleep(clk, flags, &ts, &left);
    if (err == EINTR && !(flags & LINUX_TIMER_ABSTIME))
        return sleep_interrupted(p, rem, &left);
    return -err;
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
        ssize_t n = getrandom(bounce, want, flags);
        if (n < 0) {
            ret = done > 0 ? (long)done : -errno;
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
