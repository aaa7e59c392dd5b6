/* Sockets, part one: socket, socketpair, bind, listen, accept/accept4, connect,
 * getsockname, getpeername, setsockopt, getsockopt and shutdown, for AF_UNIX (stream,
 * datagram, seqpacket; path and abstract names) and AF_INET/AF_INET6 on the host's
 * network stack. A guest socket is a host socket installed in the guest's descriptor
 * table like a pipe end, so read/write (syscalls/sys_rw.c) and poll/select/epoll work on
 * it unchanged. Calls that would wait (accept, connect in progress) are made non-blocking
 * on the host and the task sleeps in the scheduler instead; the guest's own O_NONBLOCK
 * gives it EAGAIN/EINPROGRESS. Sending and receiving are in syscalls/sys_sockmsg.c.
 *
 * Peer credentials. Every guest process runs in vmemu's one host process, so the host
 * reports vmemu's pid for every peer. vmemu records, per host socket (by inode), the guest
 * pid Linux would report as its peer's: the creator's for both ends of a socketpair; for a
 * connected AF_UNIX socket, the pid that called listen() on the socket bound to the
 * address it connected to; for an accepted socket, the pid that connected to that
 * listener (in connection order). SO_PEERCRED and SCM_CREDENTIALS then report that pid
 * (sock_cred_pid), the caller's own pid when nothing is recorded. */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys_socket.h"
#include "vmemu/fd.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"

#define SOCK_CRED_SLOTS 256 /* sockets whose peer pid is remembered (oldest evicted) */
#define SOCK_CRED_QUEUE 16  /* connections waiting in accept whose pid is remembered */

/* What vmemu remembers of a host socket for its peer credentials. */
struct sock_cred {
    ino_t ino;                    /* the host socket's inode (0: slot free) */
    int peer_pid;                 /* guest pid SO_PEERCRED reports (0: unknown) */
    int listen_pid;               /* a listener: the pid that called listen() */
    dev_t path_dev;               /* bound to a path: the socket file's device, */
    ino_t path_ino;               /* and inode (0: not bound to a path) */
    char abstract[108];           /* bound to an abstract name: the name */
    size_t abstract_len;          /* its length (0: none) */
    int pending[SOCK_CRED_QUEUE]; /* a listener: pids of connections not yet accepted */
    unsigned npending;            /* entries in pending */
};

static struct sock_cred sock_creds[SOCK_CRED_SLOTS];
static unsigned sock_cred_next; /* the slot taken next when none is free */

static ino_t sock_ino(int host)
{
    struct stat st;
    return fstat(host, &st) == 0 ? st.st_ino : 0;
}

/* The record of host socket host, made (evicting the oldest) when create. NULL: none. */
static struct sock_cred *sock_cred_of(int host, bool create)
{
    ino_t ino = sock_ino(host);
    if (ino == 0)
        return NULL;
    for (unsigned i = 0; i < SOCK_CRED_SLOTS; i++) {
        if (sock_creds[i].ino == ino)
            return &sock_creds[i];
    }
    if (!create)
        return NULL;
    struct sock_cred *c = &sock_creds[sock_cred_next++ % SOCK_CRED_SLOTS];
    memset(c, 0, sizeof(*c));
    c->ino = ino;
    return c;
}

int sock_cred_pid(struct proc *p, int host, int hpid)
{
    if (hpid != getpid())
        return hpid;
    struct sock_cred *c = sock_cred_of(host, false);
    return c != NULL && c->peer_pid != 0 ? c->peer_pid : p->leader->pid;
}

/* The listener bound to AF_UNIX address un (len bytes), or NULL. */
static struct sock_cred *sock_cred_listener(const struct sockaddr_un *un, socklen_t len)
{
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path)
                   : 0;
    struct stat st;
    if (n == 0)
        return NULL;
    bool abstract = un->sun_path[0] == '\0';
    if (!abstract && stat(un->sun_path, &st) < 0)
        return NULL;
    for (unsigned i = 0; i < SOCK_CRED_SLOTS; i++) {
        struct sock_cred *c = &sock_creds[i];
        if (c->ino == 0 || c->listen_pid == 0)
            continue;
        if (abstract && c->abstract_len == n && memcmp(c->abstract, un->sun_path, n) == 0)
            return c;
        if (!abstract && c->path_ino != 0 && c->path_ino == st.st_ino && c->path_dev == st.st_dev)
            return c;
    }
    return NULL;
}

/* Whether path (NUL-terminated) names something under /proc, after leading "/" and "./"
 * components. Relative paths do not start at the root and are left to the host. */
static bool path_in_proc(const char *path)
{
    if (path[0] != '/')
        return false;
    while (path[0] == '/' || (path[0] == '.' && (path[1] == '/' || path[1] == '\0')))
        path++;
    return strncmp(path, "proc", 4) == 0 && (path[4] == '/' || path[4] == '\0');
}

int sock_addr_get(struct proc *p, gva_t uaddr, int len, struct sockaddr_storage *ss)
{
    if (len < 0 || (size_t)len > sizeof(*ss))
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (len > 0 && copy_from_user(p->mm, ss, uaddr, (size_t)len) < 0)
        return -EFAULT;
    if (ss->ss_family == AF_UNIX && len > (int)offsetof(struct sockaddr_un, sun_path)) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        char path[sizeof(un->sun_path) + 1];
        memcpy(path, un->sun_path, sizeof(un->sun_path));
        path[sizeof(un->sun_path)] = '\0';
        if (path[0] != '\0' && path_in_proc(path))
            return -EACCES;
    }
    return 0;
}

long sock_addr_put(struct proc *p, const void *addr, socklen_t len, gva_t uaddr, gva_t ulen)
{
    uint32_t have;
    if (ulen == 0)
        return 0;
    if (copy_from_user(p->mm, &have, ulen, sizeof(have)) < 0)
        return -EFAULT;
    if ((int32_t)have < 0)
        return -EINVAL;
    size_t n = len < have ? len : have;
    if (n > 0 && copy_to_user(p->mm, uaddr, addr, n) < 0)
        return -EFAULT;
    return put_user_u32(p->mm, ulen, len) < 0 ? -EFAULT : 0;
}

long sock_block(struct proc *p, int host, short events, bool nonblock, uint64_t deadline)
{
    int fl = fcntl(host, F_GETFL);
    if (nonblock || fl < 0 || (fl & O_NONBLOCK) != 0)
        return -EAGAIN;
    struct timeval tv = {0, 0};
    socklen_t tl = sizeof(tv);
    int opt = events == POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO;
    bool timed = false;
    if (getsockopt(host, SOL_SOCKET, opt, &tv, &tl) == 0 && (tv.tv_sec != 0 || tv.tv_usec != 0)) {
        uint64_t rel = (uint64_t)tv.tv_sec * 1000000000ULL + (uint64_t)tv.tv_usec * 1000ULL;
        uint64_t d = sched_deadline(p, rel);
        timed = true;
        if (sched_now(p->sched) >= d)
            return -EAGAIN;
        if (deadline == 0 || d < deadline)
            deadline = d;
    }
    return sched_block_io(p, &(struct proc_wait_fd){host, events}, 1, deadline, !timed);
}

void sock_sigpipe(struct proc *p)
{
    struct linux_siginfo info = {.si_signo = LINUX_SIGPIPE, .si_code = LINUX_SI_USER};
    info.u.kill.pid = p->leader->pid;
    info.u.kill.uid = (uint32_t)getuid();
    signal_send(p, LINUX_SIGPIPE, &info);
}

/* socket: AF_UNIX, AF_INET and AF_INET6 only (anything else is EAFNOSUPPORT: netlink and
 * packet sockets would show vmemu's host pid and need translations vmemu does not make).
 * The type's SOCK_NONBLOCK and SOCK_CLOEXEC are the guest's flags; the host socket is
 * always close-on-exec. */
SYSCALL_DEFINE3(socket, int, domain, int, type, int, protocol)
{
    if (domain != AF_UNIX && domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf)) != 0)
        return -EINVAL;
    int h = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, (type & SOCK_CLOEXEC) != 0, 0);
}

/* socketpair: the host makes the pair (AF_UNIX only, as Linux), installed like a pipe at
 * the two lowest free numbers. Each end's peer is the creator. */
SYSCALL_DEFINE4(socketpair, int, domain, int, type, int, protocol, gva_t, usv)
{
    int h[2];
    if (domain != AF_UNIX)
        return domain == AF_INET || domain == AF_INET6 ? -EOPNOTSUPP : -EAFNOSUPPORT;
    if (socketpair(domain, type | SOCK_CLOEXEC, protocol, h) < 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        struct sock_cred *c = sock_cred_of(h[i], true);
        if (c != NULL)
            c->peer_pid = p->leader->pid;
    }
    return sys_install_host_fds(p, h, 2, (type & SOCK_CLOEXEC) != 0, usv);
}

/* The host descriptor of guest fd, with the guest's address (len bytes at uaddr) in *ss,
 * for bind and connect. Returns it or -errno. */
static int sock_fd_addr(struct proc *p, int fd, gva_t uaddr, int len, struct sockaddr_storage *ss)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    int r = sock_addr_get(p, uaddr, len, ss);
    return r < 0 ? r : h;
}

/* bind: an AF_UNIX path is resolved by the host from the guest's working directory (the
 * host's while the guest runs); paths under /proc are refused (EACCES). */
SYSCALL_DEFINE3(bind, int, fd, gva_t, uaddr, int, len)
{
    struct sockaddr_storage ss;
    int h = sock_fd_addr(p, fd, uaddr, len, &ss);
    if (h < 0)
        return h;
    if (bind(h, (struct sockaddr *)&ss, (socklen_t)len) < 0)
        return -errno;
    const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
    size_t n = (size_t)len > offsetof(struct sockaddr_un, sun_path)
                   ? (size_t)len - offsetof(struct sockaddr_un, sun_path)
                   : 0;
    struct sock_cred *c = ss.ss_family == AF_UNIX && n > 0 ? sock_cred_of(h, true) : NULL;
    struct stat st;
    if (c != NULL && un->sun_path[0] == '\0') {
        c->abstract_len = n;
        memcpy(c->abstract, un->sun_path, n);
    } else if (c != NULL && stat(un->sun_path, &st) == 0) {
        c->path_dev = st.st_dev;
        c->path_ino = st.st_ino;
    }
    return 0;
}

/* listen: remembers the caller as the pid its connections' SO_PEERCRED reports. */
SYSCALL_DEFINE2(listen, int, fd, int, backlog)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    if (listen(h, backlog) < 0)
        return -errno;
    struct sock_cred *c = sock_cred_of(h, true);
    if (c != NULL)
        c->listen_pid = p->leader->pid;
    return 0;
}

static long do_accept(struct proc *p, int fd, gva_t uaddr, gva_t ulen, int flags)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0)
        return -EINVAL;
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    int saved = sys_nb_begin(h);
    int nh = accept4(h, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | (flags & SOCK_NONBLOCK));
    int err = errno;
    sys_nb_end(h, saved);
    if (nh < 0 && (err == EAGAIN || err == EWOULDBLOCK))
        return sock_block(p, h, POLLIN, saved < 0, 0);
    if (nh < 0)
        return -err;
    long r = uaddr != 0 ? sock_addr_put(p, &ss, sl, uaddr, ulen) : 0;
    if (r < 0) {
        close(nh);
        return r;
    }
    struct sock_cred *l = sock_cred_of(h, false);
    struct sock_cred *c = sock_cred_of(nh, true);
    if (c != NULL && l != NULL && l->npending > 0) {
        c->peer_pid = l->pending[0];
        memmove(l->pending, l->pending + 1, --l->npending * sizeof(l->pending[0]));
    }
    return sys_install_host_fds(p, &nh, 1, (flags & SOCK_CLOEXEC) != 0, 0);
}

SYSCALL_DEFINE3(accept, int, fd, gva_t, uaddr, gva_t, ulen)
{
    return do_accept(p, fd, uaddr, ulen, 0);
}

SYSCALL_DEFINE4(accept4, int, fd, gva_t, uaddr, gva_t, ulen, int, flags)
{
    return do_accept(p, fd, uaddr, ulen, flags);
}

/* A connection of host to AF_UNIX address ss is made: the connector's peer is the
 * listener's listen() caller, and the listener's next accepted socket has the caller. */
static void connect_creds(struct proc *p, int host, const struct sockaddr_storage *ss,
                          socklen_t len)
{
    if (ss->ss_family != AF_UNIX)
        return;
    struct sock_cred *l = sock_cred_listener((const struct sockaddr_un *)ss, len);
    struct sock_cred *c = l != NULL ? sock_cred_of(host, true) : NULL;
    if (c == NULL)
        return;
    c->peer_pid = l->listen_pid;
    if (l->npending < SOCK_CRED_QUEUE)
        l->pending[l->npending++] = p->leader->pid;
}

/* connect: made non-blocking on the host. A blocking guest whose connection is in
 * progress sleeps until the socket is writable; the re-executed call connects again,
 * which on the host gives the outcome (0 once connected, the error of a failed attempt)
 * or EALREADY while still in progress (then it sleeps again). When SO_SNDTIMEO passes
 * first the call gives EINPROGRESS, as Linux's. */
SYSCALL_DEFINE3(connect, int, fd, gva_t, uaddr, int, len)
{
    struct sockaddr_storage ss;
    int h = sock_fd_addr(p, fd, uaddr, len, &ss);
    if (h < 0)
        return h;
    int saved = sys_nb_begin(h);
    int r = connect(h, (struct sockaddr *)&ss, (socklen_t)len);
    int err = errno;
    sys_nb_end(h, saved);
    if (r == 0) {
        connect_creds(p, h, &ss, (socklen_t)len);
        return 0;
    }
    if (saved < 0 || (err != EINPROGRESS && err != EALREADY && err != EAGAIN))
        return -err;
    if (err == EINPROGRESS && !p->retry)
        connect_creds(p, h, &ss, (socklen_t)len);
    long b = sock_block(p, h, POLLOUT, false, 0);
    return b == -EAGAIN ? (err == EAGAIN ? -EAGAIN : -EINPROGRESS) : b;
}

static long do_getname(struct proc *p, int fd, gva_t uaddr, gva_t ulen, bool peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    int r = peer ? getpeername(h, (struct sockaddr *)&ss, &sl)
                 : getsockname(h, (struct sockaddr *)&ss, &sl);
    if (r < 0)
        return -errno;
    return sock_addr_put(p, &ss, sl, uaddr, ulen);
}

SYSCALL_DEFINE3(getsockname, int, fd, gva_t, uaddr, gva_t, ulen)
{
    return do_getname(p, fd, uaddr, ulen, false);
}

SYSCALL_DEFINE3(getpeername, int, fd, gva_t, uaddr, gva_t, ulen)
{
    return do_getname(p, fd, uaddr, ulen, true);
}

#define SOCKOPT_MAX 4096 /* largest option value passed either way */

/* Whether level/name may go to the host as bytes: the socket, IP, IPv6, TCP and UDP levels,
 * but not the options that carry a guest pointer or descriptor (socket filters, BPF
 * programs) or a host pidfd (SO_PEERPIDFD). */
static bool sockopt_ok(int level, int name)
{
    if (level == SOL_SOCKET) {
        return name != SO_ATTACH_FILTER && name != SO_ATTACH_BPF &&
               name != SO_ATTACH_REUSEPORT_CBPF && name != SO_ATTACH_REUSEPORT_EBPF &&
               name != 77 /* SO_PEERPIDFD */;
    }
    return level == IPPROTO_IP || level == IPPROTO_IPV6 || level == IPPROTO_TCP ||
           level == IPPROTO_UDP;
}

/* setsockopt: the value is copied in and given to the host (SO_RCVTIMEO and SO_SNDTIMEO
 * are kept there and read back when a call would sleep). */
SYSCALL_DEFINE5(setsockopt, int, fd, int, level, int, name, gva_t, uval, int, len)
{
    unsigned char buf[SOCKOPT_MAX];
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    if (len < 0)
        return -EINVAL;
    if (!sockopt_ok(level, name))
        return -ENOPROTOOPT;
    if (len > SOCKOPT_MAX)
        len = SOCKOPT_MAX; /* the options allowed read no more than that */
    if (len > 0 && copy_from_user(p->mm, buf, uval, (size_t)len) < 0)
        return -EFAULT;
    return setsockopt(h, level, name, buf, (socklen_t)len) < 0 ? -errno : 0;
}

/* getsockopt: the host's value, with SO_PEERCRED's pid made the guest's (see the header). */
SYSCALL_DEFINE5(getsockopt, int, fd, int, level, int, name, gva_t, uval, gva_t, ulen)
{
    unsigned char buf[SOCKOPT_MAX];
    uint32_t have;
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    if (copy_from_user(p->mm, &have, ulen, sizeof(have)) < 0)
        return -EFAULT;
    if ((int32_t)have < 0)
        return -EINVAL;
    if (!sockopt_ok(level, name))
        return -ENOPROTOOPT;
    socklen_t len = have < SOCKOPT_MAX ? have : SOCKOPT_MAX;
    memset(buf, 0, sizeof(buf));
    if (getsockopt(h, level, name, buf, &len) < 0)
        return -errno;
    if (level == SOL_SOCKET && name == SO_PEERCRED && len >= sizeof(struct ucred)) {
        struct ucred uc;
        memcpy(&uc, buf, sizeof(uc));
        uc.pid = sock_cred_pid(p, h, uc.pid);
        memcpy(buf, &uc, sizeof(uc));
    }
    if (len > have)
        len = have;
    if (len > 0 && copy_to_user(p->mm, uval, buf, len) < 0)
        return -EFAULT;
    return put_user_u32(p->mm, ulen, len) < 0 ? -EFAULT : 0;
}

SYSCALL_DEFINE2(shutdown, int, fd, int, how)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    return shutdown(h, how) < 0 ? -errno : 0;
}
