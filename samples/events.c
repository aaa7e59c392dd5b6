/* events: eventfd, timerfd, socketpair and epoll, checked by the program itself (a "FAIL"
 * line and status 1 on a wrong result) so that its output is the same natively and under
 * vmemu (tests/procs_e2e.py compares them):
 *   - eventfd counts (write 3 + 4, read 7; EFD_SEMAPHORE reads 1 at a time; an empty
 *     non-blocking eventfd is EAGAIN);
 *   - a one-shot 20 ms timerfd: the blocking read sleeps at least 20 ms and reads 1
 *     expiration; timerfd_gettime of a disarmed timer is zero;
 *   - socketpair(AF_UNIX): the child writes a line, the parent reads it; after shutdown
 *     (SHUT_WR) the reader sees end of file;
 *   - epoll: a regular file is EPERM, 0 max events EINVAL, an empty wait of 30 ms returns
 *     0 no earlier than asked, a ready eventfd is reported with its data word, and a wait
 *     with no timeout sleeps until the child writes into a pipe.
 * Usage: events */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_check.h"

static void check_eventfd(void)
{
    uint64_t v;
    int e = eventfd(3, EFD_NONBLOCK);
    CHECK(e >= 0);
    v = 4;
    CHECK(write(e, &v, 8) == 8);
    CHECK(read(e, &v, 8) == 8 && v == 7);
    errno = 0;
    CHECK(read(e, &v, 8) == -1 && errno == EAGAIN);
    close(e);
    e = eventfd(2, EFD_SEMAPHORE);
    CHECK(read(e, &v, 8) == 8 && v == 1);
    CHECK(read(e, &v, 8) == 8 && v == 1);
    close(e);
    printf("eventfd: 3+4 read as 7, empty is EAGAIN, semaphore reads 1 and 1\n");
}

static void check_timerfd(void)
{
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(t >= 0);
    struct itimerspec its = {{0, 0}, {0, 20 * 1000 * 1000}}, cur;
    double t0 = now_ms();
    CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
    uint64_t n = 0;
    CHECK(read(t, &n, 8) == 8 && n == 1);
    CHECK(now_ms() - t0 >= 19.0);
    CHECK(timerfd_gettime(t, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    close(t);
    printf("timerfd: 20 ms one-shot read 1 expiration, then disarmed\n");
}

static void check_socketpair(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        usleep(10 * 1000);
        const char msg[] = "hello over a socketpair\n";
        CHECK(write(sv[1], msg, sizeof(msg) - 1) == (ssize_t)sizeof(msg) - 1);
        CHECK(shutdown(sv[1], SHUT_WR) == 0);
        _exit(0);
    }
    close(sv[1]);
    char buf[64];
    size_t got = 0;
    ssize_t k;
    while ((k = read(sv[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)k;
    CHECK(k == 0);
    buf[got] = 0;
    printf("socketpair: %s", buf);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[0]);
}

static void check_epoll(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL}, out[4];
    int f = open("/proc/self/exe", O_RDONLY);
    CHECK(f >= 0);
    errno = 0;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) == -1 && errno == EPERM);
    close(f);
    errno = 0;
    CHECK(epoll_wait(ep, out, 0, 0) == -1 && errno == EINVAL);
    double t0 = now_ms();
    CHECK(epoll_wait(ep, out, 4, 30) == 0);
    CHECK(now_ms() - t0 >= 29.0);
    int e = eventfd(1, 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
    CHECK(epoll_wait(ep, out, 4, -1) == 1);
    CHECK(out[0].events == EPOLLIN && out[0].data.u64 == 0x1122334455667788ULL);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL) == 0);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    ev.data.u64 = 42;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        usleep(10 * 1000);
        CHECK(write(pfd[1], "x", 1) == 1);
        _exit(0);
    }
    CHECK(epoll_wait(ep, out, 4, -1) == 1 && out[0].data.u64 == 42);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("epoll: EPERM on a file, EINVAL for 0 events, 30 ms timeout, eventfd data kept, "
           "woken by a pipe\n");
}

int main(void)
{
    check_eventfd();
    check_timerfd();
    check_socketpair();
    check_epoll();
    return 0;
}
