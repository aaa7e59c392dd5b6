/* Sockets, part two: sendto, recvfrom, sendmsg, recvmsg, sendmmsg and recvmmsg. The
 * guest's msghdr, iovecs, name and control messages are copied in and out field by field;
 * the data crosses through a bounce buffer and the host call is always MSG_DONTWAIT (and
 * MSG_NOSIGNAL: vmemu sends SIGPIPE to the guest itself). A blocking guest that would wait
 * sleeps in the scheduler (sock_block) and the call is executed again; progress made
 * before the sleep (bytes of a stream send or MSG_WAITALL receive, messages of sendmmsg
 * or recvmmsg) is kept in p->io_done so the re-execution continues after it.
 * Control messages: SCM_RIGHTS carries host descriptors (the sender's table translates
 * guest numbers; received ones are installed in the receiver's table, MSG_CMSG_CLOEXEC
 * honoured); SCM_CREDENTIALS carries guest pids (the sender's own guest pid becomes
 * vmemu's host pid, which the host checks; a received vmemu pid becomes the guest pid of
 * sys_socket.c's record, see sock_cred_pid). Other control messages pass unchanged. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys_socket.h"
#include "vmemu/fd.h"
#include "vmemu/sched.h"

#define MSG_CTL_MAX     (64 * 1024)   /* largest control buffer (Linux's optmem limits) */
#define MSG_STREAM_STEP (1 << 20)     /* bytes per host call on a stream socket */
#define MSG_DGRAM_MAX   (16ULL << 20) /* largest datagram buffer */

/* The guest's struct msghdr and struct mmsghdr (x86-64). */
struct linux_msghdr {
    uint64_t name;       /* guest address of the peer's address, or 0 */
    uint32_t namelen;    /* its size */
    uint32_t pad0;       /* padding */
    uint64_t iov;        /* guest address of the iovecs */
    uint64_t iovlen;     /* their count */
    uint64_t control;    /* guest address of the control buffer */
    uint64_t controllen; /* its size */
    int32_t flags;       /* recvmsg: flags of the message received */
    uint32_t pad1;       /* padding */
};
LINUX_ABI_CHECK(struct linux_msghdr, 56);

struct linux_mmsghdr {
    struct linux_msghdr hdr; /* the message */
    uint32_t len;            /* bytes sent or received */
    uint32_t pad;            /* padding */
};
LINUX_ABI_CHECK(struct linux_mmsghdr, 64);

/* A guest message copied in. */
struct kmsg {
    struct linux_msghdr m;        /* the guest's header */
    struct linux_iovec *iov;      /* its iovecs (malloc'ed) */
    int iovcnt;                   /* their count */
    uint64_t total;               /* bytes they hold (at most LINUX_MAX_RW) */
    struct sockaddr_storage name; /* send: the destination */
    unsigned char *ctl;           /* control buffer (malloc'ed or NULL) */
    size_t ctllen;                /* its size */
};

/* Linux's access_ok(): the range lies in user space (whether it is mapped is found out
 * when it is copied), checked before any data moves. */
static bool msg_range_ok(gva_t va, uint64_t n)
{
    return va < USER_VA_END && n <= USER_VA_END - va;
}

static void kmsg_free(struct kmsg *k)
{
    free(k->iov);
    free(k->ctl);
    k->iov = NULL;
    k->ctl = NULL;
}

/* Copies the guest's message header at umsg and what it points to (send: the name and the
 * control buffer) into *k. Returns 0 or -errno (EMSGSIZE: too many iovecs, ENOBUFS: too
 * much control data, EINVAL, EFAULT, EACCES); *k is freed on error. */
static long kmsg_get(struct proc *p, gva_t umsg, struct kmsg *k, bool send)
{
    memset(k, 0, sizeof(*k));
    if (copy_from_user(p->mm, &k->m, umsg, sizeof(k->m)) < 0)
        return -EFAULT;
    if (k->m.iovlen > LINUX_UIO_MAXIOV)
        return -EMSGSIZE;
    k->iovcnt = (int)k->m.iovlen;
    k->iov = malloc((k->m.iovlen ? k->m.iovlen : 1) * sizeof(*k->iov));
    long r = k->iov == NULL ? -ENOMEM : 0;
    if (r == 0 && k->iovcnt > 0 &&
        copy_from_user(p->mm, k->iov, k->m.iov, (size_t)k->iovcnt * sizeof(*k->iov)) < 0)
        r = -EFAULT;
    for (int i = 0; r == 0 && i < k->iovcnt; i++) {
        if ((int64_t)k->iov[i].iov_len < 0)
            r = -EINVAL;
        else if (!msg_range_ok(k->iov[i].iov_base, k->iov[i].iov_len))
            r = -EFAULT;
        k->total += k->iov[i].iov_len;
        if (k->total > LINUX_MAX_RW)
            k->total = LINUX_MAX_RW;
    }
    if (r == 0 && send && k->m.name != 0)
        r = sock_addr_get(p, k->m.name, (int)k->m.namelen, &k->name);
    if (r == 0 && k->m.controllen > 0) {
        if (k->m.controllen > (send ? MSG_CTL_MAX : INT32_MAX))
            r = send ? -ENOBUFS : 0;
        k->ctllen = k->m.controllen < MSG_CTL_MAX ? k->m.controllen : MSG_CTL_MAX;
        k->ctl = r == 0 ? calloc(1, k->ctllen) : NULL;
        if (r == 0 && k->ctl == NULL)
            r = -ENOMEM;
        if (r == 0 && send && copy_from_user(p->mm, k->ctl, k->m.control, k->ctllen) < 0)
            r = -EFAULT;
    }
    if (r < 0)
        kmsg_free(k);
    return r;
}

/* Copies n bytes between buf and the guest iovecs of k starting skip bytes in. Returns
 * 0 or -EFAULT. */
static long kmsg_copy(struct proc *p, const struct kmsg *k, uint64_t skip, void *buf, size_t n,
                      bool to_guest)
{
    unsigned char *b = buf;
    for (int i = 0; i < k->iovcnt && n > 0; i++) {
        uint64_t len = k->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t step = len - skip < n ? (size_t)(len - skip) : n;
        gva_t va = k->iov[i].iov_base + skip;
        int r = to_guest ? copy_to_user(p->mm, va, b, step) : copy_from_user(p->mm, b, va, step);
        if (r < 0)
            return -EFAULT;
        b += step;
        n -= step;
        skip = 0;
    }
    return 0;
}

/* Translates the sender's control messages in place: SCM_RIGHTS guest descriptors to host
 * ones, SCM_CREDENTIALS's own guest pid to vmemu's. Returns 0, -EBADF or -EINVAL. */
static long ctl_to_host(struct proc *p, unsigned char *ctl, size_t len)
{
    struct msghdr mh = {.msg_control = ctl, .msg_controllen = len};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_len < CMSG_LEN(0) || (unsigned char *)c + c->cmsg_len > ctl + len)
            return -EINVAL;
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            unsigned char *d = CMSG_DATA(c);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, d + i * sizeof(int), sizeof(int));
                int h = fd_host(p->fds, fd);
                if (h < 0)
                    return -EBADF;
                memcpy(d + i * sizeof(int), &h, sizeof(int));
            }
        } else if (c->cmsg_type == SCM_CREDENTIALS &&
                   c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            if (uc.pid == p->leader->pid)
                uc.pid = getpid();
            memcpy(CMSG_DATA(c), &uc, sizeof(uc));
        }
    }
    return 0;
}

/* Translates received control messages in place: SCM_RIGHTS host descriptors are
 * installed in the guest's table (a descriptor that cannot be installed is closed with
 * the rest and MSG_CTRUNC set, as Linux's scm_detach_fds), SCM_CREDENTIALS pids become
 * guest pids. */
static void ctl_to_guest(struct proc *p, int host, struct msghdr *mh, bool cloexec)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            unsigned char *d = CMSG_DATA(c);
            for (size_t i = 0; i < n; i++) {
                int h;
                memcpy(&h, d + i * sizeof(int), sizeof(int));
                long g = h < 0 ? -EBADF : sys_install_host_fds(p, &h, 1, cloexec, 0);
                if (g < 0) {
                    for (size_t j = i + 1; j < n; j++) {
                        memcpy(&h, d + j * sizeof(int), sizeof(int));
                        close(h);
                    }
                    c->cmsg_len = CMSG_LEN(i * sizeof(int));
                    mh->msg_flags |= MSG_CTRUNC;
                    break;
                }
                int gi = (int)g;
                memcpy(d + i * sizeof(int), &gi, sizeof(int));
            }
        } else if (c->cmsg_type == SCM_CREDENTIALS &&
                   c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            uc.pid = sock_cred_pid(p, host, uc.pid);
            memcpy(CMSG_DATA(c), &uc, sizeof(uc));
        }
    }
}

static int sock_type(int host)
{
    int t = 0;
    socklen_t l = sizeof(t);
    return getsockopt(host, SOL_SOCKET, SO_TYPE, &t, &l) == 0 ? t : 0;
}

/* One non-blocking host send of k's bytes from skip on (the control messages with the
 * first bytes only). Returns bytes sent or -errno. */
static long send_once(struct proc *p, int host, struct kmsg *k, int flags, uint64_t skip,
                      bool stream)
{
    size_t n = (size_t)(k->total - skip);
    if (stream && n > MSG_STREAM_STEP)
        n = MSG_STREAM_STEP;
    if (!stream && n > MSG_DGRAM_MAX)
        return -EMSGSIZE;
    unsigned char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return -ENOMEM;
    long r = kmsg_copy(p, k, skip, buf, n, false);
    unsigned char *ctl = NULL;
    if (r == 0 && skip == 0 && k->ctl != NULL) {
        ctl = malloc(k->ctllen);
        if (ctl == NULL)
            r = -ENOMEM;
        else
            memcpy(ctl, k->ctl, k->ctllen);
        if (r == 0)
            r = ctl_to_host(p, ctl, k->ctllen);
    }
    if (r == 0) {
        struct iovec iov = {buf, n};
        struct msghdr mh = {.msg_name = k->m.name != 0 ? &k->name : NULL,
                            .msg_namelen = k->m.name != 0 ? k->m.namelen : 0,
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl,
                            .msg_controllen = ctl != NULL ? k->ctllen : 0};
        ssize_t s = sendmsg(host, &mh, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
        r = s < 0 ? -errno : s;
    }
    free(ctl);
    free(buf);
    return r;
}

/* sendmsg of k on host. A stream socket sends every byte (a blocking guest sleeps for
 * room, continuing after p->io_done bytes when executed again); a datagram goes whole.
 * Returns bytes sent, -SCHED_EBLOCK or -errno. */
static long do_send(struct proc *p, int host, struct kmsg *k, int flags)
{
    int type = sock_type(host);
    bool stream = type == SOCK_STREAM;
    uint64_t done = p->io_done;
    long n;
    p->io_done = 0;
    if (done > k->total)
        done = 0; /* only when the guest changed its arguments */
    do {
        n = send_once(p, host, k, flags, done, stream);
        if (n > 0)
            done += (uint64_t)n;
    } while (n > 0 && stream && done < k->total);
    if (n == -EPIPE && type != SOCK_DGRAM && (flags & MSG_NOSIGNAL) == 0)
        sock_sigpipe(p);
    if (n != -EAGAIN)
        return n < 0 && done == 0 ? n : (long)done;
    long b = sock_block(p, host, POLLOUT, (flags & MSG_DONTWAIT) != 0, 0);
    if (b == -SCHED_EBLOCK)
        p->io_done = done;
    return b == -SCHED_EBLOCK || done == 0 ? b : (long)done;
}

/* One non-blocking host receive into k's buffers from skip on. With out, the name, the
 * control messages (translated) and the flags go back into the guest header fields of
 * k->m (the caller writes them). Returns bytes received (the datagram's full length under
 * MSG_TRUNC) or -errno. */
static long recv_once(struct proc *p, int host, struct kmsg *k, int flags, uint64_t skip,
                      bool stream)
{
    size_t n = (size_t)(k->total - skip);
    if (stream && n > MSG_STREAM_STEP)
        n = MSG_STREAM_STEP;
    if (!stream && n > MSG_DGRAM_MAX)
        n = MSG_DGRAM_MAX;
    unsigned char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return -ENOMEM;
    struct sockaddr_storage ss;
    struct iovec iov = {buf, n};
    struct msghdr mh = {.msg_name = k->m.name != 0 ? &ss : NULL,
                        .msg_namelen = k->m.name != 0 ? sizeof(ss) : 0,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = skip == 0 ? k->ctl : NULL,
                        .msg_controllen = skip == 0 && k->ctl != NULL ? k->ctllen : 0};
    ssize_t s = recvmsg(host, &mh, (flags & ~MSG_CMSG_CLOEXEC) | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    long r = s < 0 ? -errno : s;
    if (s >= 0 && mh.msg_controllen > 0)
        ctl_to_guest(p, host, &mh, (flags & MSG_CMSG_CLOEXEC) != 0);
    bool discard = stream && (flags & MSG_TRUNC) != 0; /* TCP: the bytes are dropped */
    if (s > 0 && !discard && kmsg_copy(p, k, skip, buf, (size_t)s < n ? (size_t)s : n, true) < 0)
        r = -EFAULT;
    if (s >= 0 && k->m.name != 0) {
        uint32_t put = mh.msg_namelen < k->m.namelen ? mh.msg_namelen : k->m.namelen;
        if (put > 0 && copy_to_user(p->mm, k->m.name, &ss, put) < 0)
            r = -EFAULT;
        k->m.namelen = mh.msg_namelen;
    }
    if (s >= 0 && skip == 0) {
        if (mh.msg_controllen > 0 &&
            copy_to_user(p->mm, k->m.control, k->ctl, mh.msg_controllen) < 0)
            r = -EFAULT;
        k->m.controllen = mh.msg_controllen;
        k->m.flags = mh.msg_flags;
    }
    free(buf);
    return r;
}

/* recvmsg of k on host: the first bytes there are (all of them under MSG_WAITALL on a
 * stream socket, sleeping for more as do_send does). Returns bytes received,
 * -SCHED_EBLOCK or -errno. */
static long do_recv(struct proc *p, int host, struct kmsg *k, int flags)
{
    bool stream = sock_type(host) == SOCK_STREAM;
    bool all = stream && (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0;
    uint64_t done = p->io_done;
    long n;
    p->io_done = 0;
    if (done > k->total)
        done = 0;
    do {
        n = recv_once(p, host, k, flags, done, stream);
        if (n > 0)
            done += (uint64_t)n;
    } while (n > 0 && all && done < k->total);
    if (n != -EAGAIN)
        return n < 0 && done == 0 ? n : (long)done;
    long b = sock_block(p, host, POLLIN, (flags & MSG_DONTWAIT) != 0, 0);
    if (b == -SCHED_EBLOCK)
        p->io_done = done;
    return b == -SCHED_EBLOCK || done == 0 ? b : (long)done;
}

/* The fields recvmsg gives back in the guest's header at umsg. */
static long msghdr_put(struct proc *p, gva_t umsg, const struct linux_msghdr *m)
{
    if (put_user_u32(p->mm, umsg + offsetof(struct linux_msghdr, namelen), m->namelen) < 0 ||
        put_user_u64(p->mm, umsg + offsetof(struct linux_msghdr, controllen), m->controllen) < 0 ||
        put_user_u32(p->mm, umsg + offsetof(struct linux_msghdr, flags), (uint32_t)m->flags) < 0)
        return -EFAULT;
    return 0;
}

/* sendto/recvfrom as a one-iovec message with no control data. */
static long kmsg_single(struct kmsg *k, gva_t buf, size_t len, gva_t addr, uint32_t addrlen)
{
    memset(k, 0, sizeof(*k));
    k->iov = malloc(sizeof(*k->iov));
    if (k->iov == NULL)
        return -ENOMEM;
    k->iov[0] = (struct linux_iovec){buf, len};
    k->iovcnt = 1;
    k->total = len < LINUX_MAX_RW ? len : LINUX_MAX_RW;
    k->m.name = addr;
    k->m.namelen = addrlen;
    if (!msg_range_ok(buf, len))
        return -EFAULT;
    return 0;
}

SYSCALL_DEFINE6(sendto, int, fd, gva_t, buf, size_t, len, int, flags, gva_t, addr, int, addrlen)
{
    struct kmsg k;
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    long r = kmsg_single(&k, buf, len, addr, (uint32_t)addrlen);
    if (r == 0 && addr != 0)
        r = sock_addr_get(p, addr, addrlen, &k.name);
    if (r == 0)
        r = do_send(p, h, &k, flags);
    kmsg_free(&k);
    return r;
}

SYSCALL_DEFINE6(recvfrom, int, fd, gva_t, buf, size_t, len, int, flags, gva_t, addr, gva_t, ulen)
{
    struct kmsg k;
    uint32_t have = 0;
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    if (addr != 0 && ulen != 0) {
        if (copy_from_user(p->mm, &have, ulen, sizeof(have)) < 0)
            return -EFAULT;
        if ((int32_t)have < 0)
            return -EINVAL;
    }
    long r = kmsg_single(&k, buf, len, addr != 0 && ulen != 0 ? addr : 0, have);
    if (r == 0)
        r = do_recv(p, h, &k, flags);
    if (r >= 0 && addr != 0 && ulen != 0 && put_user_u32(p->mm, ulen, k.m.namelen) < 0)
        r = -EFAULT;
    kmsg_free(&k);
    return r;
}

/* sendmsg (send) or recvmsg: the guest's msghdr at umsg in, one call, recvmsg's msghdr
 * fields (lengths, flags) back out. */
static long do_msg(struct proc *p, int fd, gva_t umsg, int flags, bool send)
{
    struct kmsg k;
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    long r = kmsg_get(p, umsg, &k, send);
    if (r < 0)
        return r;
    r = send ? do_send(p, h, &k, flags) : do_recv(p, h, &k, flags);
    if (r >= 0 && !send && msghdr_put(p, umsg, &k.m) < 0)
        r = -EFAULT;
    kmsg_free(&k);
    return r;
}

SYSCALL_DEFINE3(sendmsg, int, fd, gva_t, umsg, int, flags)
{
    return do_msg(p, fd, umsg, flags, true);
}

SYSCALL_DEFINE3(recvmsg, int, fd, gva_t, umsg, int, flags)
{
    return do_msg(p, fd, umsg, flags, false);
}

/* sendmmsg/recvmmsg: the messages one at a time, each message's length written to its
 * msg_len. A blocking guest sleeps until every message went (recvmmsg: came, unless
 * MSG_WAITFORONE), the messages done counted in p->io_done across the sleeps; an error
 * after the first message ends the call with the count. recvmmsg's timeout is checked
 * after each message as Linux does (a call that received nothing keeps waiting) and the
 * time left is written back. A stream message sent in part counts as sent. */
static long do_mmsg(struct proc *p, int fd, gva_t uvec, unsigned vlen, int flags, gva_t utmo,
                    bool send)
{
    int h = fd_host(p->fds, fd);
    if (h < 0)
        return h;
    if (vlen > LINUX_UIO_MAXIOV)
        vlen = LINUX_UIO_MAXIOV;
    uint64_t deadline = 0;
    if (utmo != 0) {
        struct linux_timespec ts;
        if (copy_from_user(p->mm, &ts, utmo, sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -EINVAL;
        deadline = sched_deadline(p, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
    }
    unsigned done = (unsigned)p->io_done;
    long r = 0;
    p->io_done = 0;
    bool stream = sock_type(h) == SOCK_STREAM;
    while (done < vlen) {
        struct kmsg k;
        gva_t um = uvec + (gva_t)done * sizeof(struct linux_mmsghdr);
        int f = flags & ~MSG_WAITFORONE;
        if (done > 0 && (flags & MSG_WAITFORONE) != 0)
            f |= MSG_DONTWAIT;
        r = kmsg_get(p, um, &k, send);
        if (r == 0)
            r = send ? send_once(p, h, &k, f, 0, stream) : recv_once(p, h, &k, f, 0, stream);
        if (r >= 0 && !send && msghdr_put(p, um, &k.m) < 0)
            r = -EFAULT;
        kmsg_free(&k);
        if (r >= 0 &&
            put_user_u32(p->mm, um + offsetof(struct linux_mmsghdr, len), (uint32_t)r) < 0)
            r = -EFAULT;
        if (r < 0)
            break;
        done++;
        if (!send && deadline != 0 && sched_now(p->sched) >= deadline)
            break;
    }
    if (r == -EPIPE && sock_type(h) != SOCK_DGRAM && (flags & MSG_NOSIGNAL) == 0 && done == 0)
        sock_sigpipe(p);
    if (r == -EAGAIN && !(done > 0 && (flags & MSG_WAITFORONE) != 0)) {
        /* recvmmsg's timeout counts once a message came (Linux checks it after each) */
        bool timed = !send && done > 0 && deadline != 0;
        long b = timed && sched_now(p->sched) >= deadline
                     ? -EAGAIN
                     : sock_block(p, h, send ? POLLOUT : POLLIN, (flags & MSG_DONTWAIT) != 0,
                                  timed ? deadline : 0);
        if (b == -SCHED_EBLOCK) {
            p->io_done = done;
            return b;
        }
    }
    if (utmo != 0) {
        uint64_t now = sched_now(p->sched), left = deadline > now ? deadline - now : 0;
        struct linux_timespec ts = {(int64_t)(left / 1000000000ULL),
                                    (int64_t)(left % 1000000000ULL)};
        if (copy_to_user(p->mm, utmo, &ts, sizeof(ts)) < 0 && done == 0)
            return -EFAULT;
    }
    return done > 0 ? (long)done : r;
}

SYSCALL_DEFINE4(sendmmsg, int, fd, gva_t, uvec, unsigned, vlen, int, flags)
{
    return do_mmsg(p, fd, uvec, vlen, flags, 0, true);
}

SYSCALL_DEFINE5(recvmmsg, int, fd, gva_t, uvec, unsigned, vlen, int, flags, gva_t, utmo)
{
    return do_mmsg(p, fd, uvec, vlen, flags, utmo, false);
}
