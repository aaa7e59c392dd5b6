/* poll, ppoll, select, pselect6 and epoll on the process's descriptors. The guest's pollfd array
 * or fd_sets are translated to host descriptors and the host polls them with a zero
 * timeout; when nothing is ready and the guest's timeout is not zero, the process sleeps in
 * the scheduler (sched_block_io over those descriptors, with the deadline of the first
 * execution) and the syscall is executed again when a descriptor is ready or the deadline
 * passed. As on Linux: a deliverable signal ends a wait that found nothing with -EINTR (no
 * restart), ppoll/pselect6 swap the signal mask for the call (restored after the handler
 * when a signal interrupts it), ppoll/select/pselect6 write the time left back, select
 * writes the result sets and fails with -EBADF for a closed descriptor in a set. Called
 * through the syscall table. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "sysdefs.h"

#include "vmemu/abi/linux.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/util.h"

#define NSEC_PER_SEC    1000000000ULL
/* Longest relative timeout vmemu keeps (146 years): longer ones are this. */
#define POLL_MAX_REL_NS (1ULL << 62)

/* The guest's struct pollfd (8 bytes, same as the host's). */
struct linux_pollfd {
    int32_t fd;      /* guest descriptor, or negative to skip */
    int16_t events;  /* requested events */
    int16_t revents; /* returned events */
};
LINUX_ABI_CHECK(struct linux_pollfd, 8);

/* When a poll or select call stops waiting. */
struct poll_time {
    bool given;        /* the guest gave a timeout (else it waits for ever) */
    bool zero;         /* the timeout is zero: never sleep, never write it back */
    uint64_t deadline; /* host monotonic end of the wait; 0 = none */
};

/* Sets up *t for a relative timeout of rel_ns (given == false: none), keeping the first
 * execution's deadline when the call is executed again after a sleep. */
static void poll_time_init(struct proc *p, struct poll_time *t, bool given, uint64_t rel_ns)
{
    t->given = given;
    t->zero = given && rel_ns == 0;
    t->deadline = given && rel_ns != 0 ? sched_deadline(p, rel_ns) : 0;
}

/* A timespec-style timeout (seconds and nanoseconds, both checked by the caller) in
 * nanoseconds, clamped to POLL_MAX_REL_NS. */
static uint64_t poll_rel_ns(int64_t sec, int64_t nsec)
{
    if ((uint64_t)sec >= POLL_MAX_REL_NS / NSEC_PER_SEC)
        return POLL_MAX_REL_NS;
    return (uint64_t)sec * NSEC_PER_SEC + (uint64_t)nsec;
}

/* Nanoseconds left before t's deadline (0 once it passed). */
static uint64_t poll_time_left(const struct proc *p, const struct poll_time *t)
{
    uint64_t now = sched_now(p->sched);
    return t->deadline > now ? t->deadline - now : 0;
}

/* After a zero-timeout host poll of h[0..n) found nothing for the guest: -EINTR when a
 * signal can be delivered, 0 when the timeout is zero or its deadline passed, else the
 * process sleeps on the descriptors (those with no host events yet: one whose events the
 * guest does not count, as a hung-up pipe in select's except set, would only wake it for
 * nothing) and -SCHED_EBLOCK (or -ENOMEM) is returned. */
static long poll_sleep(struct proc *p, const struct pollfd *h, size_t n, const struct poll_time *t)
{
    if (signal_next(p) != 0)
        return -EINTR;
    if (t->zero || (t->deadline != 0 && sched_now(p->sched) >= t->deadline))
        return 0;
    struct proc_wait_fd *w = malloc((n ? n : 1) * sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].fd >= 0 && h[i].revents == 0)
            w[nw++] = (struct proc_wait_fd){h[i].fd, h[i].events};
    }
    long ret = sched_block_io(p, w, nw, t->deadline, false);
    free(w);
    return ret;
}

/* ppoll/pselect6's mask: when umask is given, p->sigmask becomes it for the call (never
 * blocking SIGKILL or SIGSTOP) and the old one is kept in p->saved_sigmask with
 * restore_sigmask set (kept from the first execution when the call runs again after a
 * sleep). Returns 0, -EINVAL (size is not 8) or -EFAULT. */
static long poll_sigmask_set(struct proc *p, gva_t umask, size_t size)
{
    uint64_t m;
    if (umask == 0)
        return 0;
    if (size != LINUX_SIGSET_SIZE)
        return -EINVAL;
    if (copy_from_user(p->mm, &m, umask, sizeof(m)) < 0)
        return -EFAULT;
    if (!(p->retry && p->restore_sigmask))
        p->saved_sigmask = p->sigmask;
    p->restore_sigmask = true;
    p->sigmask = m & ~((1ULL << (LINUX_SIGKILL - 1)) | (1ULL << (LINUX_SIGSTOP - 1)));
    return 0;
}

/* The end of a call that set a mask with poll_sigmask_set: unless a signal cut it short
 * (-EINTR: the handler's return restores the mask) or it sleeps, the old mask is back.
 * Returns ret. */
static long poll_sigmask_done(struct proc *p, gva_t umask, long ret)
{
    if (umask != 0 && p->restore_sigmask && ret != -EINTR && ret != -SCHED_EBLOCK) {
        p->sigmask = p->saved_sigmask;
        p->restore_sigmask = false;
        p->saved_sigmask = 0; /* src/proc/signal.c's rule when restore_sigmask is false */
    }
    return ret;
}

/* Polls nfds entries at guest ufds until one is ready or t ends. Returns the number of
 * entries with events, 0 on timeout, -SCHED_EBLOCK (sleeping) or -errno. */
static long do_poll(struct proc *p, gva_t ufds, uint64_t nfds, const struct poll_time *t)
{
    if (nfds > p->leader->rlim[RLIMIT_NOFILE].cur)
        return -EINVAL;
    struct linux_pollfd *g = calloc(nfds ? nfds : 1, sizeof(*g));
    struct pollfd *h = calloc(nfds ? nfds : 1, sizeof(*h));
    long ret = 0;
    if (g == NULL || h == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (nfds && copy_from_user(p->mm, g, ufds, nfds * sizeof(*g)) < 0) {
        ret = -EFAULT;
        goto out;
    }
    long nval = 0;
    for (uint64_t i = 0; i < nfds; i++) {
        h[i].events = g[i].events;
        h[i].fd = g[i].fd < 0 ? -1 : fd_host(p->fds, g[i].fd);
        if (g[i].fd >= 0 && h[i].fd < 0) {
            h[i].fd = -1; /* the host skips it; the guest gets POLLNVAL */
            nval++;
        }
    }
    int n = poll(h, nfds, 0);
    if (n < 0) {
        ret = -errno;
        goto out;
    }
    ret = n + nval;
    if (ret == 0) {
        ret = poll_sleep(p, h, nfds, t);
        if (ret == -SCHED_EBLOCK || ret == -ENOMEM)
            goto out;
    }
    for (uint64_t i = 0; i < nfds; i++) {
        bool bad = g[i].fd >= 0 && h[i].fd < 0;
        g[i].revents = bad ? POLLNVAL : (g[i].fd < 0 ? 0 : h[i].revents);
    }
    if (nfds && copy_to_user(p->mm, ufds, g, nfds * sizeof(*g)) < 0)
        ret = -EFAULT;
out:
    free(g);
    free(h);
    return ret;
}

SYSCALL_DEFINE3(poll, gva_t, ufds, uint64_t, nfds, int, timeout_ms)
{
    struct poll_time t;
    poll_time_init(p, &t, timeout_ms >= 0, (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000);
    return do_poll(p, ufds, nfds, &t);
}

/* Writes the time left of t to the guest's timespec (ppoll, pselect6) or timeval (select)
 * at va, as Linux does after the call when a non-zero timeout was given. A write that
 * faults is ignored (Linux's rule). */
static void poll_time_put(struct proc *p, gva_t va, const struct poll_time *t, bool timeval)
{
    if (va == 0 || !t->given || t->zero)
        return;
    uint64_t left = poll_time_left(p, t);
    struct linux_timespec ts = {(int64_t)(left / NSEC_PER_SEC), (int64_t)(left % NSEC_PER_SEC)};
    if (timeval)
        ts.tv_nsec /= 1000;
    (void)copy_to_user(p->mm, va, &ts, sizeof(ts));
}

/* Reads a guest timespec at tsp into *t (tsp 0: no timeout). Returns 0, -EFAULT or
 * -EINVAL (negative or nanoseconds out of range). */
static long poll_timespec_get(struct proc *p, gva_t tsp, struct poll_time *t)
{
    struct linux_timespec lt;
    if (tsp == 0) {
        poll_time_init(p, t, false, 0);
        return 0;
    }
    if (copy_from_user(p->mm, &lt, tsp, sizeof(lt)) < 0)
        return -EFAULT;
    if (lt.tv_sec < 0 || lt.tv_nsec < 0 || lt.tv_nsec >= (int64_t)NSEC_PER_SEC)
        return -EINVAL;
    poll_time_init(p, t, true, poll_rel_ns(lt.tv_sec, lt.tv_nsec));
    return 0;
}

/* ppoll: poll with a timespec timeout (the time left is written back) and a signal mask
 * for the duration of the call. */
SYSCALL_DEFINE5(ppoll, gva_t, ufds, uint64_t, nfds, gva_t, tsp, gva_t, sigmask, size_t, sigsetsize)
{
    struct poll_time t;
    long ret = poll_timespec_get(p, tsp, &t);
    if (ret < 0)
        return ret;
    ret = poll_sigmask_set(p, sigmask, sigsetsize);
    if (ret < 0)
        return ret;
    ret = do_poll(p, ufds, nfds, &t);
    if (ret != -SCHED_EBLOCK)
        poll_time_put(p, tsp, &t, false);
    return poll_sigmask_done(p, sigmask, ret);
}

/* Host poll events that make a descriptor ready in each of select's sets (Linux's
 * POLLIN_SET, POLLOUT_SET and POLLEX_SET) and the events asked for them. */
#define SEL_IN_READY  (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT_READY (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX_READY  (POLLPRI)
#define SEL_IN_ASK    (POLLIN | POLLRDNORM | POLLRDBAND)
#define SEL_OUT_ASK   (POLLOUT | POLLWRNORM | POLLWRBAND)
#define SEL_EX_ASK    (POLLPRI)

#define SEL_WORD_BITS 64
/* Bytes of a guest fd_set covering n descriptors (whole 64-bit words). */
#define SEL_BYTES(n)  ((((size_t)(n) + SEL_WORD_BITS - 1) / SEL_WORD_BITS) * 8)

static bool sel_isset(const uint64_t *set, int fd)
{
    return (set[fd / SEL_WORD_BITS] >> (fd % SEL_WORD_BITS)) & 1;
}

static void sel_set(uint64_t *set, int fd)
{
    set[fd / SEL_WORD_BITS] |= 1ULL << (fd % SEL_WORD_BITS);
}

/* select's core (Linux's core_sys_select): n descriptors of the guest's sets at uin, uout
 * and uex (0: empty) until one is ready or t ends. n above FD_MAX is FD_MAX (Linux cuts
 * it at the table size). Returns the number of bits set in the result sets, written back
 * over the guest's (all of n's words, bits past n cleared), 0 on timeout with cleared
 * sets, -SCHED_EBLOCK (sleeping) or -EINVAL (n < 0), -EFAULT, -EBADF (a set names a
 * closed descriptor), -EINTR, -ENOMEM. */
static long do_select(struct proc *p, int n, gva_t uin, gva_t uout, gva_t uex,
                      const struct poll_time *t)
{
    if (n < 0)
        return -EINVAL;
    if (n > FD_MAX)
        n = FD_MAX;
    size_t bytes = SEL_BYTES(n), words = bytes / 8;
    const gva_t user[3] = {uin, uout, uex};
    uint64_t *sets = calloc(6 * (words ? words : 1), sizeof(uint64_t));
    struct pollfd *h = calloc(n ? (size_t)n : 1, sizeof(*h));
    int *gfd = calloc(n ? (size_t)n : 1, sizeof(*gfd));
    long ret = 0;
    if (sets == NULL || h == NULL || gfd == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    uint64_t *in[3], *res[3];
    for (int k = 0; k < 3; k++) {
        in[k] = sets + (size_t)k * words;
        res[k] = sets + (size_t)(3 + k) * words;
        if (user[k] != 0 && bytes && copy_from_user(p->mm, in[k], user[k], bytes) < 0) {
            ret = -EFAULT;
            goto out;
        }
    }
    static const short ask[3] = {SEL_IN_ASK, SEL_OUT_ASK, SEL_EX_ASK};
    static const short ready[3] = {SEL_IN_READY, SEL_OUT_READY, SEL_EX_READY};
    size_t nh = 0;
    for (int fd = 0; fd < n; fd++) {
        short events = 0;
        for (int k = 0; k < 3; k++)
            events |= sel_isset(in[k], fd) ? ask[k] : 0;
        if (events == 0)
            continue;
        int host = fd_host(p->fds, fd);
        if (host < 0) {
            ret = -EBADF;
            goto out;
        }
        h[nh] = (struct pollfd){.fd = host, .events = events};
        gfd[nh++] = fd;
    }
    if (poll(h, nh, 0) < 0) {
        ret = -errno;
        goto out;
    }
    for (size_t i = 0; i < nh; i++) {
        for (int k = 0; k < 3; k++) {
            if (sel_isset(in[k], gfd[i]) && (h[i].revents & ready[k])) {
                sel_set(res[k], gfd[i]);
                ret++;
            }
        }
    }
    if (ret == 0) {
        ret = poll_sleep(p, h, nh, t);
        if (ret != 0)
            goto out;
    }
    for (int k = 0; k < 3; k++) {
        if (user[k] != 0 && bytes && copy_to_user(p->mm, user[k], res[k], bytes) < 0)
            ret = -EFAULT;
    }
out:
    free(sets);
    free(h);
    free(gfd);
    return ret;
}

/* select: timeval timeout (microseconds past a second carry over, negative is -EINVAL),
 * the time left written back as Linux does. */
SYSCALL_DEFINE5(select, int, n, gva_t, in, gva_t, out, gva_t, ex, gva_t, tv)
{
    struct poll_time t;
    poll_time_init(p, &t, false, 0);
    if (tv != 0) {
        struct linux_timeval ltv;
        if (copy_from_user(p->mm, &ltv, tv, sizeof(ltv)) < 0)
            return -EFAULT;
        if (ltv.tv_sec < 0 || ltv.tv_usec < 0)
            return -EINVAL;
        int64_t carry = ltv.tv_usec / 1000000;
        int64_t sec = ltv.tv_sec > INT64_MAX - carry ? INT64_MAX : ltv.tv_sec + carry;
        poll_time_init(p, &t, true, poll_rel_ns(sec, (ltv.tv_usec % 1000000) * 1000));
    }
    long ret = do_select(p, n, in, out, ex, &t);
    if (ret != -SCHED_EBLOCK)
        poll_time_put(p, tv, &t, true);
    return ret;
}

/* The guest's pselect6 sixth argument: the mask and its size. */
struct linux_sigset_argpack {
    uint64_t ss;     /* const sigset_t *, or 0 */
    uint64_t ss_len; /* its size */
};
LINUX_ABI_CHECK(struct linux_sigset_argpack, 16);

/* pselect6: select with a timespec timeout and a signal mask for the duration. */
SYSCALL_DEFINE6(pselect6, int, n, gva_t, in, gva_t, out, gva_t, ex, gva_t, tsp, gva_t, sig)
{
    struct linux_sigset_argpack pack = {0, 0};
    if (sig != 0 && copy_from_user(p->mm, &pack, sig, sizeof(pack)) < 0)
        return -EFAULT;
    struct poll_time t;
    long ret = poll_timespec_get(p, tsp, &t);
    if (ret < 0)
        return ret;
    ret = poll_sigmask_set(p, pack.ss, pack.ss_len);
    if (ret < 0)
        return ret;
    ret = do_select(p, n, in, out, ex, &t);
    if (ret != -SCHED_EBLOCK)
        poll_time_put(p, tsp, &t, false);
    return poll_sigmask_done(p, pack.ss, ret);
}

/* epoll: a host epoll instance whose interest list holds the host descriptors behind the
 * guest's (the guest's 64-bit data word travels untouched). epoll_wait asks the host with
 * a zero timeout and, when nothing is ready, sleeps in the scheduler on the epoll
 * descriptor itself (an epoll fd is readable while events are pending). A signal ends the
 * wait with -EINTR whatever SA_RESTART says, as on Linux. */

/* The guest's struct epoll_event: packed on x86-64, the same layout as the host's. */
struct linux_epoll_event {
    uint32_t events; /* EPOLLIN, ... */
    uint64_t data;   /* the guest's cookie */
} __attribute__((packed));
LINUX_ABI_CHECK(struct linux_epoll_event, 12);

#define EPOLL_MAX_EVENTS (INT32_MAX / (int)sizeof(struct linux_epoll_event))
#define EPOLL_CTL_DEL_OP 2

static long do_epoll_create(struct proc *p, int flags)
{
    if ((flags & ~LINUX_O_CLOEXEC) != 0)
        return -EINVAL;
    int h = epoll_create1(EPOLL_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, (flags & LINUX_O_CLOEXEC) != 0, 0);
}

SYSCALL_DEFINE1(epoll_create, int, size)
{
    return size <= 0 ? -EINVAL : do_epoll_create(p, 0);
}

SYSCALL_DEFINE1(epoll_create1, int, flags)
{
    return do_epoll_create(p, flags);
}

SYSCALL_DEFINE4(epoll_ctl, int, epfd, int, op, int, fd, gva_t, uevent)
{
    int hep = fd_host(p->fds, epfd), hfd = fd_host(p->fds, fd);
    if (hep < 0)
        return hep;
    if (hfd < 0)
        return hfd;
    struct linux_epoll_event le = {0, 0};
    if (op != EPOLL_CTL_DEL_OP && copy_from_user(p->mm, &le, uevent, sizeof(le)) < 0)
        return -EFAULT;
    struct epoll_event ev = {.events = le.events, .data.u64 = le.data};
    return epoll_ctl(hep, op, hfd, &ev) < 0 ? -errno : 0;
}

/* epoll_wait's core: up to max events into guest uevents, waiting until t says to stop.
 * Returns the number of events, 0 on timeout, -SCHED_EBLOCK or -errno. */
static long do_epoll_wait_until(struct proc *p, int epfd, gva_t uevents, int max,
                                const struct poll_time *t)
{
    int hep = fd_host(p->fds, epfd);
    if (hep < 0)
        return hep;
    if (max <= 0 || max > EPOLL_MAX_EVENTS)
        return -EINVAL;
    int chunk = max < 64 ? max : 64;
    struct epoll_event ev[64];
    int n = epoll_wait(hep, ev, chunk, 0);
    if (n < 0)
        return -errno;
    if (n > 0) {
        struct linux_epoll_event le[64];
        for (int i = 0; i < n; i++)
            le[i] = (struct linux_epoll_event){ev[i].events, ev[i].data.u64};
        return copy_to_user(p->mm, uevents, le, (size_t)n * sizeof(le[0])) < 0 ? -EFAULT : n;
    }
    struct pollfd h = {.fd = hep, .events = POLLIN, .revents = 0};
    return poll_sleep(p, &h, 1, t);
}

/* epoll_wait with a timeout of timeout_ms (negative: for ever). */
static long do_epoll_wait(struct proc *p, int epfd, gva_t uevents, int max, int timeout_ms)
{
    struct poll_time t;
    poll_time_init(p, &t, timeout_ms >= 0, (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000);
    return do_epoll_wait_until(p, epfd, uevents, max, &t);
}

SYSCALL_DEFINE4(epoll_wait, int, epfd, gva_t, events, int, max, int, timeout)
{
    return do_epoll_wait(p, epfd, events, max, timeout);
}

SYSCALL_DEFINE6(epoll_pwait, int, epfd, gva_t, events, int, max, int, timeout, gva_t, sigmask,
                size_t, sigsetsize)
{
    long ret = poll_sigmask_set(p, sigmask, sigsetsize);
    if (ret < 0)
        return ret;
    return poll_sigmask_done(p, sigmask, do_epoll_wait(p, epfd, events, max, timeout));
}

/* epoll_pwait2: epoll_pwait with a timespec timeout (NULL: for ever), not written back. */
SYSCALL_DEFINE6(epoll_pwait2, int, epfd, gva_t, events, int, max, gva_t, tsp, gva_t, sigmask,
                size_t, sigsetsize)
{
    struct poll_time t;
    long ret = poll_timespec_get(p, tsp, &t);
    if (ret < 0)
        return ret;
    ret = poll_sigmask_set(p, sigmask, sigsetsize);
    if (ret < 0)
        return ret;
    return poll_sigmask_done(p, sigmask, do_epoll_wait_until(p, epfd, events, max, &t));
}
