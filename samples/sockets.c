/* sockets.c: sockets end to end (issue 17), self-checking; tests/sockets_e2e.py compares its
 * output natively and under vmemu. TCP and UDP on 127.0.0.1, AF_UNIX stream with a path
 * and with an abstract name, SCM_RIGHTS and SO_PEERCRED across fork, blocking calls that
 * must sleep (accept, recv, MSG_WAITALL, a send larger than the socket buffer),
 * nonblocking accept, poll on a listener, SO_RCVTIMEO, shutdown, sendmmsg/recvmmsg and a
 * server thread. Prints no pid, port or path: the output is the same in every run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "sample_check.h"

#ifndef SIOCINQ
#define SIOCINQ FIONREAD
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

static void child_done(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void ms_sleep(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* A TCP listener on 127.0.0.1 at a port the kernel picks; *sin gets its address. */
static int tcp_listener(struct sockaddr_in *sin, int flags)
{
    int s = socket(AF_INET, SOCK_STREAM | flags, 0);
    CHECK(s >= 0);
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)sin, sizeof(*sin)) == 0);
    socklen_t l = sizeof(*sin);
    CHECK(getsockname(s, (struct sockaddr *)sin, &l) == 0 && l == sizeof(*sin));
    CHECK(sin->sin_port != 0);
    CHECK(listen(s, 8) == 0);
    return s;
}

static void tcp_fork(void)
{
    struct sockaddr_in sin;
    int ls = tcp_listener(&sin, 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        ms_sleep(50); /* the parent sleeps in accept first */
        CHECK(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0);
        CHECK(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno == EISCONN);
        CHECK(send(c, "hello tcp", 9, 0) == 9);
        char buf[32];
        ssize_t n = recv(c, buf, sizeof(buf), 0); /* sleeps until the reply */
        CHECK(n == 5 && memcmp(buf, "reply", 5) == 0);
        ms_sleep(30);
        CHECK(send(c, "ab", 2, 0) == 2);
        ms_sleep(30);
        CHECK(send(c, "cd", 2, 0) == 2);
        close(c);
        _exit(0);
    }
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    int a = accept(ls, (struct sockaddr *)&peer, &pl);
    CHECK(a >= 0 && pl == sizeof(peer) && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    char buf[32] = {0};
    ssize_t n = recv(a, buf, sizeof(buf), 0);
    printf("tcp: accepted, got \"%.*s\"\n", (int)n, buf);
    CHECK(send(a, "reply", 5, 0) == 5);
    n = recv(a, buf, 4, MSG_WAITALL);
    printf("tcp: MSG_WAITALL got %zd bytes \"%.*s\"\n", n, (int)n, buf);
    n = recv(a, buf, sizeof(buf), 0);
    printf("tcp: end of stream %zd\n", n);
    child_done(pid);
    close(a);
    close(ls);
}

/* AF_UNIX stream: a server here, a client in a child; name is a path or, with a leading
 * NUL, an abstract name of len bytes. */
static void unix_fork(const char *what, const char *name, size_t len)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memcpy(sun.sun_path, name, len);
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(ls >= 0);
    CHECK(bind(ls, (struct sockaddr *)&sun, sl) == 0);
    CHECK(listen(ls, 4) == 0);
    struct sockaddr_un got;
    socklen_t gl = sizeof(got);
    CHECK(getsockname(ls, (struct sockaddr *)&got, &gl) == 0);
    CHECK(gl == sl && memcmp(got.sun_path, name, len) == 0);
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(connect(c, (struct sockaddr *)&sun, sl) == 0);
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0);
        printf("%s: child: peer pid is the parent: %s\n", what, uc.pid == parent ? "yes" : "no");
        /* 1 MiB: more than the socket holds, so the send sleeps for the reader. */
        static unsigned char big[1 << 20];
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (unsigned char)(i * 7 + 3);
        CHECK(send(c, big, sizeof(big), 0) == (ssize_t)sizeof(big));
        fflush(stdout);
        close(c);
        _exit(0);
    }
    int a = accept(ls, NULL, NULL);
    CHECK(a >= 0);
    struct ucred uc;
    socklen_t ul = sizeof(uc);
    CHECK(getsockopt(a, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc));
    unsigned long sum = 0, total = 0;
    unsigned char buf[4096];
    for (int i = 0; i < 100000; i++) {
        ssize_t n = read(a, buf, sizeof(buf));
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (ssize_t j = 0; j < n; j++)
            sum = sum * 31 + buf[j];
        total += (unsigned long)n;
    }
    child_done(pid);
    printf("%s: accepted peer pid is the child: %s, me: %s\n", what, uc.pid == pid ? "yes" : "no",
           uc.pid == getpid() ? "yes" : "no");
    printf("%s: received %lu bytes, sum %lx\n", what, total, sum);
    close(a);
    close(ls);
}

static void udp(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(a >= 0 && b >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in sb = sa;
    socklen_t l = sizeof(sa);
    CHECK(bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(bind(b, (struct sockaddr *)&sb, sizeof(sb)) == 0);
    CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
    l = sizeof(sb);
    CHECK(getsockname(b, (struct sockaddr *)&sb, &l) == 0);
    CHECK(sendto(a, "datagram", 8, 0, (struct sockaddr *)&sb, sizeof(sb)) == 8);
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(b, buf, 4, 0, (struct sockaddr *)&from, &fl);
    printf("udp: got %zd bytes \"%.*s\", from the sender: %s\n", n, (int)n, buf,
           fl == sizeof(from) && from.sin_port == sa.sin_port ? "yes" : "no");
    CHECK(sendto(b, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1);
    n = recv(a, buf, sizeof(buf), MSG_TRUNC | MSG_PEEK);
    CHECK(n == 1);
    n = recv(a, buf, sizeof(buf), 0);
    CHECK(n == 1 && buf[0] == 'x');
    n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
    printf("udp: empty socket: %s\n", res(n));
    struct timeval tv = {0, 50000};
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    double t0 = now_ms();
    n = recv(a, buf, sizeof(buf), 0);
    double dt = now_ms() - t0;
    printf("udp: SO_RCVTIMEO: %s, waited: %s\n", res(n), dt >= 40 && dt < 5000 ? "yes" : "no");

    /* sendmmsg/recvmmsg of 3 datagrams */
    struct mmsghdr mm[3];
    struct iovec iov[3];
    char out[3][8] = {"one", "two", "three"}, in[3][16];
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = out[i];
        iov[i].iov_len = strlen(out[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &sb;
        mm[i].msg_hdr.msg_namelen = sizeof(sb);
    }
    printf("udp: sendmmsg %d\n", sendmmsg(a, mm, 3, 0));
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = in[i];
        iov[i].iov_len = sizeof(in[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(b, mm, 3, 0, NULL);
    printf("udp: recvmmsg %d:", got);
    for (int i = 0; i < got; i++)
        printf(" %.*s", (int)mm[i].msg_len, in[i]);
    printf("\n");
    close(a);
    close(b);
}

/* A socketpair: a descriptor of an open file passed to a child with SCM_RIGHTS. */
static void pass_fd(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/file", dir);
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(f >= 0 && write(f, "contents of the file", 20) == 20);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0);
        char data[8];
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct iovec iov = {data, sizeof(data)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf)};
        ssize_t n = recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC); /* sleeps until the parent sends */
        CHECK(n == 2);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        CHECK(c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        char txt[32] = {0};
        CHECK(pread(fd, txt, sizeof(txt) - 1, 0) == 20);
        printf("scm_rights: child read \"%s\" through fd, cloexec %d, peer pid is the "
               "parent: %s\n",
               txt, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, uc.pid == parent ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    close(sv[1]);
    ms_sleep(50);
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct iovec iov = {"fd", 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &f, sizeof(f));
    CHECK(sendmsg(sv[0], &mh, 0) == 2);
    child_done(pid);
    struct ucred uc;
    socklen_t ul = sizeof(uc);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0);
    printf("scm_rights: parent's peer pid is me: %s\n", uc.pid == getpid() ? "yes" : "no");
    close(sv[0]);
    close(f);
    unlink(path);
}

static void nonblocking_and_poll(void)
{
    struct sockaddr_in sin;
    int ls = tcp_listener(&sin, SOCK_NONBLOCK);
    int a = accept(ls, NULL, NULL);
    printf("nonblocking accept: %s\n", res(a));
    struct pollfd pf = {ls, POLLIN, 0};
    printf("poll on the idle listener: %d\n", poll(&pf, 1, 0));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&sin, sizeof(sin));
    CHECK(r == 0 || errno == EINPROGRESS);
    pf.revents = 0;
    int pr = poll(&pf, 1, 2000);
    printf("poll after a connect: %d revents %#x\n", pr, (unsigned)pf.revents);
    struct pollfd cp = {c, POLLOUT, 0};
    CHECK(poll(&cp, 1, 2000) == 1);
    int err = -1;
    socklen_t el = sizeof(err);
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    a = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    printf("accept4: %s, SO_ERROR %d, cloexec %d\n", a >= 0 ? "ok" : res(a), err,
           (fcntl(a, F_GETFD) & FD_CLOEXEC) != 0);
    int type = 0;
    socklen_t tl = sizeof(type);
    CHECK(getsockopt(a, SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
    printf("SO_TYPE stream: %s; bad option: %s\n", type == SOCK_STREAM ? "yes" : "no",
           res(getsockopt(a, SOL_SOCKET, 12345, &type, &tl)));
    close(a);
    close(c);
    close(ls);
}

static void shutdown_pair(void)
{
    int sv[2];
    char buf[8];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "hi", 2) == 2);
    int outq = -1, inq = -1;
    CHECK(ioctl(sv[0], SIOCOUTQ, &outq) == 0 && ioctl(sv[1], SIOCINQ, &inq) == 0);
    printf("SIOCOUTQ after a write, unread: %s; SIOCINQ %d\n", outq > 0 ? "> 0" : "0", inq);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    ssize_t n1 = read(sv[1], buf, sizeof(buf));
    ssize_t n2 = read(sv[1], buf, sizeof(buf));
    ssize_t n3 = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("shutdown: read %zd then %zd, send %s\n", n1, n2, res(n3));
    close(sv[0]);
    close(sv[1]);
    int sq[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) == 0);
    CHECK(send(sq[0], "12345", 5, 0) == 5);
    CHECK(send(sq[0], "67", 2, 0) == 2);
    struct iovec iov = {buf, 3};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    n1 = recvmsg(sq[1], &mh, 0);
    printf("seqpacket: %zd bytes, truncated %d; next %zd\n", n1, (mh.msg_flags & MSG_TRUNC) != 0,
           recv(sq[1], buf, sizeof(buf), 0));
    close(sq[0]);
    close(sq[1]);
}

static struct sockaddr_in thread_addr;
static int thread_ls;

static void *server_thread(void *arg)
{
    (void)arg;
    int a = accept(thread_ls, NULL, NULL);
    CHECK(a >= 0);
    char buf[64];
    for (int i = 0; i < 3; i++) {
        ssize_t n = recv(a, buf, sizeof(buf), 0);
        CHECK(n > 0);
        for (ssize_t j = 0; j < n; j++)
            buf[j] = (char)(buf[j] - 'a' + 'A');
        CHECK(send(a, buf, (size_t)n, 0) == n);
    }
    close(a);
    return NULL;
}

static void threads(void)
{
    thread_ls = tcp_listener(&thread_addr, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, server_thread, NULL) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&thread_addr, sizeof(thread_addr)) == 0);
    const char *words[3] = {"alpha", "beta", "gamma"};
    printf("threads:");
    for (int i = 0; i < 3; i++) {
        char buf[64];
        CHECK(send(c, words[i], strlen(words[i]), 0) == (ssize_t)strlen(words[i]));
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        CHECK(n == (ssize_t)strlen(words[i]));
        printf(" %.*s", (int)n, buf);
    }
    printf("\n");
    CHECK(pthread_join(t, NULL) == 0);
    close(c);
    close(thread_ls);
}

/* `sockets refuse`: what vmemu refuses (natively the answers differ): AF_UNIX names under
 * /proc, families other than AF_UNIX/INET/INET6, options carrying pointers. */
static int refuse(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0);
    strcpy(sun.sun_path, "/proc/self/cwd/sock");
    printf("bind /proc/self/cwd/sock: %s\n", res(bind(s, (struct sockaddr *)&sun, sizeof(sun))));
    strcpy(sun.sun_path, "//./proc/1/root/x");
    printf("connect //./proc/1/root/x: %s\n",
           res(connect(s, (struct sockaddr *)&sun, sizeof(sun))));
    printf("socket AF_NETLINK: %s\n", res(socket(AF_NETLINK, SOCK_RAW, 0)));
    printf("socket AF_PACKET: %s\n", res(socket(AF_PACKET, SOCK_RAW, 0)));
    char filter[16] = {0};
    printf("SO_ATTACH_FILTER: %s\n",
           res(setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, filter, sizeof(filter))));
    printf("level SOL_PACKET: %s\n", res(setsockopt(s, 263, 1, filter, 4)));
    return 0;
}

int main(int argc, char **argv)
{
    alarm(10);
    if (argc > 1 && strcmp(argv[1], "refuse") == 0)
        return refuse();
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[] = "/tmp/vmemu-sockets-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof(path), "%s/sock", dir);

    tcp_fork();
    unix_fork("unix path", path, strlen(path) + 1);
    unlink(path);
    char abstract[64];
    /* unique like the directory (pids repeat between vmemu runs: each numbers from 1000) */
    int alen = snprintf(abstract, sizeof(abstract), "%c%s", 0, strrchr(dir, '/') + 1);
    unix_fork("unix abstract", abstract, (size_t)alen);
    udp();
    pass_fd(dir);
    nonblocking_and_poll();
    shutdown_pair();
    threads();
    CHECK(rmdir(dir) == 0);
    printf("done\n");
    return 0;
}
