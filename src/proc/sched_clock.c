/* Guest time: the clocks a guest reads and the one its deadlines are on. By default they
 * are the host's. With --clock virtual the guest's clock advances with its own work only
 * (SCHED_VCLOCK_BLOCK_NS per translated block the CPU counts, SCHED_VCLOCK_SYSCALL_NS per
 * syscall) and jumps to the next deadline when every task sleeps, so time-driven decisions
 * (a runtime's preemption tick, a timeout, an interval timer) fall at the same instruction
 * in every run, whatever the host's speed or load. */
#include <errno.h>

#include "vmemu/cpu.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

#define NSEC_PER_SEC 1000000000ULL

/* Linux clock ids (uapi/linux/time.h). */
enum {
    LCLOCK_REALTIME = 0,
    LCLOCK_MONOTONIC = 1,
    LCLOCK_PROCESS_CPUTIME_ID = 2,
    LCLOCK_THREAD_CPUTIME_ID = 3,
    LCLOCK_MONOTONIC_RAW = 4,
    LCLOCK_REALTIME_COARSE = 5,
    LCLOCK_MONOTONIC_COARSE = 6,
    LCLOCK_BOOTTIME = 7,
    LCLOCK_REALTIME_ALARM = 8,
    LCLOCK_BOOTTIME_ALARM = 9,
    LCLOCK_TAI = 11,
};

static uint64_t host_clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The guest's time-stamp counter on a virtual clock: 1 GHz, the monotonic clock's ns. */
static uint64_t sched_clock_tsc(void *ctx)
{
    return sched_now(ctx);
}

/* Sets up the guest clock (see the header). */
void sched_clock_init(struct sched *s, bool virt, int64_t realtime_start)
{
    uint64_t start = realtime_start >= 0 ? (uint64_t)realtime_start * NSEC_PER_SEC
                                         : host_clock_ns(CLOCK_REALTIME);
    s->clock.virt = virt;
    s->clock.realtime_off = (int64_t)(start - SCHED_VCLOCK_START_NS);
    if (virt && s->cpu)
        cpu_set_tsc(s->cpu, sched_clock_tsc, s);
}

/* Now on the guest's monotonic clock (see the header). */
uint64_t sched_now(const struct sched *s)
{
    if (!s || !s->clock.virt)
        return now_ns();
    return SCHED_VCLOCK_START_NS + cpu_blocks(s->cpu) * SCHED_VCLOCK_BLOCK_NS +
           s->clock.syscalls * SCHED_VCLOCK_SYSCALL_NS + s->clock.idle_ns;
}

/* The CPU time of a task or its process (see the header). */
uint64_t sched_cpu_ns(const struct sched *s, const struct proc *p, bool thread)
{
    uint64_t ns = thread ? p->cpu_ns : sched_process_usage(p).cpu_ns;
    const struct proc *cur = s ? s->current : NULL;
    if (cur && s->clock.run_start && (thread ? cur == p : cur->leader == p->leader))
        ns += sched_now(s) - s->clock.run_start;
    return ns;
}

/* Reads the guest's clock clk (see the header). */
int sched_clock_read(const struct sched *s, const struct proc *p, int clk, struct timespec *ts)
{
    uint64_t ns;
    switch (clk) {
    case LCLOCK_PROCESS_CPUTIME_ID:
    case LCLOCK_THREAD_CPUTIME_ID:
        ns = sched_cpu_ns(s, p, clk == LCLOCK_THREAD_CPUTIME_ID);
        break;
    case LCLOCK_REALTIME:
    case LCLOCK_REALTIME_COARSE:
    case LCLOCK_REALTIME_ALARM:
    case LCLOCK_TAI:
    case LCLOCK_MONOTONIC:
    case LCLOCK_MONOTONIC_RAW:
    case LCLOCK_MONOTONIC_COARSE:
    case LCLOCK_BOOTTIME:
    case LCLOCK_BOOTTIME_ALARM:
        if (!s || !s->clock.virt)
            return clock_gettime(clk, ts) < 0 ? -errno : 0;
        ns = sched_now(s);
        if (clk == LCLOCK_REALTIME || clk == LCLOCK_REALTIME_COARSE ||
            clk == LCLOCK_REALTIME_ALARM || clk == LCLOCK_TAI)
            ns += (uint64_t)s->clock.realtime_off;
        break;
    default:
        return -EINVAL;
    }
    ts->tv_sec = (time_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
    return 0;
}

/* A syscall was made (see the header). */
void sched_clock_syscall(struct sched *s)
{
    s->clock.syscalls++;
}

/* Every task sleeps: a virtual clock moves on to the deadline (see the header). */
bool sched_clock_skip(struct sched *s, uint64_t deadline)
{
    if (!s->clock.virt)
        return false;
    uint64_t now = sched_now(s);
    if (deadline > now)
        s->clock.idle_ns += deadline - now;
    return true;
}

/* Blocks until the virtual clock reaches deadline (see the header). */
uint64_t sched_clock_blocks_until(const struct sched *s, uint64_t deadline)
{
    if (!s->clock.virt || deadline == 0)
        return 0;
    uint64_t now = sched_now(s);
    if (deadline <= now)
        return 1;
    return (deadline - now + SCHED_VCLOCK_BLOCK_NS - 1) / SCHED_VCLOCK_BLOCK_NS;
}
