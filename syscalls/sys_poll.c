/* poll and ppoll on the process's descriptors: the guest's pollfd array is copied in, its
 * descriptor numbers are translated to host descriptors (an unknown one gets POLLNVAL, a
 * negative one is skipped, as on Linux), the host polls, and the revents go back. The host
 * call blocks; with one process that is what Linux would do (the scheduler of a later
 * issue will put a waiting process to sleep instead). Called through the syscall table. */
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "sysdefs.h"

/* The guest's struct pollfd (8 bytes, same as the host's). */
struct linux_pollfd {
    int32_t fd;      /* guest descriptor, or negative to skip */
    int16_t events;  /* requested events */
    int16_t revents; /* returned events */
};
LINUX_ABI_CHECK(struct linux_pollfd, 8);

/* Polls nfds entries at guest ufds with the host's ppoll and timeout ts (NULL: wait for
 * ever). Returns the number of ready entries, 0 on timeout, or -errno. */
static long do_poll(struct proc *p, gva_t ufds, uint64_t nfds, const struct timespec *ts)
{
    if (nfds > p->rlim[RLIMIT_NOFILE].cur)
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
    int n = ppoll(h, nfds, nval ? &(struct timespec){0, 0} : ts, NULL);
    if (n < 0) {
        ret = -errno;
        goto out;
    }
    for (uint64_t i = 0; i < nfds; i++) {
        bool bad = g[i].fd >= 0 && h[i].fd < 0;
        g[i].revents = bad ? POLLNVAL : (g[i].fd < 0 ? 0 : h[i].revents);
    }
    ret = n + nval;
    if (nfds && copy_to_user(p->mm, ufds, g, nfds * sizeof(*g)) < 0)
        ret = -EFAULT;
out:
    free(g);
    free(h);
    return ret;
}

SYSCALL_DEFINE3(poll, gva_t, ufds, uint64_t, nfds, int, timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    return do_poll(p, ufds, nfds, timeout_ms < 0 ? NULL : &ts);
}

/* ppoll: the signal mask is recorded nowhere yet (no signal is ever delivered). */
SYSCALL_DEFINE5(ppoll, gva_t, ufds, uint64_t, nfds, gva_t, tsp, gva_t, sigmask, size_t, sigsetsize)
{
    struct linux_timespec lt;
    struct timespec ts;
    if (sigmask != 0 && sigsetsize != 8)
        return -EINVAL;
    if (tsp == 0)
        return do_poll(p, ufds, nfds, NULL);
    if (copy_from_user(p->mm, &lt, tsp, sizeof(lt)) < 0)
        return -EFAULT;
    if (lt.tv_sec < 0 || lt.tv_nsec < 0 || lt.tv_nsec >= 1000000000L)
        return -EINVAL;
    ts.tv_sec = lt.tv_sec;
    ts.tv_nsec = lt.tv_nsec;
    return do_poll(p, ufds, nfds, &ts);
}

/* placeholder: select, pselect6 being written */
SYSCALL_DEFINE5(select, int, n, gva_t, in, gva_t, out, gva_t, ex, gva_t, tv)
{
    (void)n, (void)in, (void)out, (void)ex, (void)tv;
    return -ENOSYS;
}
SYSCALL_DEFINE6(pselect6, int, n, gva_t, in, gva_t, out, gva_t, ex, gva_t, ts, gva_t, sig)
{
    (void)n, (void)in, (void)out, (void)ex, (void)ts, (void)sig;
    return -ENOSYS;
}
