/* Descriptors for events that live on the host: eventfd and timerfd.
 * Each is a host object installed in the guest's table like a pipe end; reading and
 * writing them goes through the same non-blocking path as pipes (syscalls/sys_rw.c: a
 * guest that would block sleeps in the scheduler), and poll, select and epoll see them
 * through their host descriptors. Sockets are in syscalls/sys_socket.c.
 * Called by syscalls/dispatch.c. */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "sysdefs.h"
#include "vmemu/fd.h"

/* The guest's struct itimerspec (the host's layout on x86-64). */
struct linux_itimerspec {
    struct linux_timespec interval; /* period */
    struct linux_timespec value;    /* first expiry */
};
LINUX_ABI_CHECK(struct linux_itimerspec, 32);

/* eventfd2: EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE (the host checks them). */
SYSCALL_DEFINE2(eventfd2, unsigned, initval, int, flags)
{
    int h = eventfd(initval, flags | EFD_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, (flags & LINUX_O_CLOEXEC) != 0, 0);
}

SYSCALL_DEFINE1(eventfd, unsigned, initval)
{
    int h = eventfd(initval, EFD_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, false, 0);
}

/* timerfd_create: a host timer on the same clock (TFD_NONBLOCK, TFD_CLOEXEC). */
SYSCALL_DEFINE2(timerfd_create, int, clockid, int, flags)
{
    int h = timerfd_create(clockid, flags | TFD_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, (flags & LINUX_O_CLOEXEC) != 0, 0);
}

static void itimerspec_to_host(const struct linux_itimerspec *l, struct itimerspec *h)
{
    h->it_interval.tv_sec = l->interval.tv_sec;
    h->it_interval.tv_nsec = l->interval.tv_nsec;
    h->it_value.tv_sec = l->value.tv_sec;
    h->it_value.tv_nsec = l->value.tv_nsec;
}

static void itimerspec_to_linux(const struct itimerspec *h, struct linux_itimerspec *l)
{
    l->interval.tv_sec = h->it_interval.tv_sec;
    l->interval.tv_nsec = h->it_interval.tv_nsec;
    l->value.tv_sec = h->it_value.tv_sec;
    l->value.tv_nsec = h->it_value.tv_nsec;
}

SYSCALL_DEFINE4(timerfd_settime, int, fd, int, flags, gva_t, unew, gva_t, uold)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    struct linux_itimerspec ln, lo;
    struct itimerspec hn, ho;
    if (copy_from_user(p->mm, &ln, unew, sizeof(ln)) < 0)
        return -EFAULT;
    itimerspec_to_host(&ln, &hn);
    if (timerfd_settime(h, flags, &hn, &ho) < 0)
        return -errno;
    itimerspec_to_linux(&ho, &lo);
    if (uold != 0 && copy_to_user(p->mm, uold, &lo, sizeof(lo)) < 0)
        return -EFAULT;
    return 0;
}

SYSCALL_DEFINE2(timerfd_gettime, int, fd, gva_t, ucur)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    struct itimerspec hc;
    struct linux_itimerspec lc;
    if (timerfd_gettime(h, &hc) < 0)
        return -errno;
    itimerspec_to_linux(&hc, &lc);
    return copy_to_user(p->mm, ucur, &lc, sizeof(lc)) < 0 ? -EFAULT : 0;
}
