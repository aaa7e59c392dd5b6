/* pipe_io: pipes in one process and across fork, as a shell and its children use them.
 * Usage: pipe_io            every check below, one line each, exit 0 when all hold
 *        pipe_io sigpipe    writes into a pipe without reader with SIGPIPE at its default:
 *                           killed by SIGPIPE (a shell shows status 141)
 *        pipe_io exec-check KEEP GONE   (internal) the image started by the close-on-exec
 *                           check: reports over descriptor KEEP whether KEEP is open and
 *                           GONE closed.
 * Checks: data through a pipe in one process, a read returning what is there, pipe2 flags
 * seen through fcntl (O_CLOEXEC -> FD_CLOEXEC, O_NONBLOCK), bad flags and a bad array,
 * O_NONBLOCK -> EAGAIN on an empty and on a full pipe (set by pipe2, by F_SETFL and by
 * ioctl FIONBIO; FIOCLEX and FIONCLEX as F_SETFD), tee and splice between pipes, a
 * blocking read that waits for a child's write, EOF only once every writer (the child's
 * copy too) is closed, 1 MiB through a pipe from a child in one write(), in writev() calls
 * and in odd-sized writes, read with odd sizes and readv, checksums compared; poll, ppoll,
 * select and pselect6 on pipes with timeouts (expired: 0 and cleared sets, select's time
 * left 0), ready descriptors, POLLHUP, POLLNVAL, EBADF and EINVAL, a wait without timeout
 * ended by a child's write, ppoll's mask back after the call; EPIPE with SIGPIPE ignored,
 * caught (SI_USER from itself) and at its default (the child is killed); close-on-exec
 * across execve of this program. Nothing printed depends on pids, addresses or timing.
 * Compared line by line and by exit status with the native run by tests/pipe_e2e.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_check.h"

#define MIB (1024 * 1024)

static const char *self; /* argv[0], re-executed by the close-on-exec check */

/* Pipe ends in an array the way pipe() fills it. */
enum { RD = 0, WR = 1 };

/* Byte i of the 1 MiB streams: a pattern that catches lost, repeated and moved bytes. */
static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(((i * 2654435761u) >> 13) ^ (i >> 16));
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV0 0xcbf29ce484222325ULL

/* Reads exactly n bytes (fewer at EOF). Returns the count or -1. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* res() that names EPIPE too (sample_check.h's table has no EPIPE). */
static const char *pres(long r)
{
    if (r == -1 && errno == EPIPE)
        return "-1 EPIPE";
    return res(r);
}

/* Waits for pid; returns the shell-style status (128+N for signal N). */
static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* The lowest free descriptor number now (to show that nothing leaked). */
static int lowest_free(void)
{
    int fd = dup(0);
    if (fd >= 0)
        close(fd);
    return fd;
}

static void check_basic(void)
{
    int p[2];
    char buf[128];

    show("pipe", res(pipe(p)), "0");
    show("write 5 bytes", res(write(p[WR], "hello", 5)), "5");
    show("write 3 more", res(write(p[WR], "abc", 3)), "3");
    show("read 100 returns what is there", res(read(p[RD], buf, 100)), "8");
    buf[8] = '\0';
    show("data", buf, "helloabc");
    show("F_GETFD of pipe() ends", num(fcntl(p[RD], F_GETFD) | fcntl(p[WR], F_GETFD)), "0");
    show("write on the read end", res(write(p[RD], "x", 1)), "-1 EBADF");
    show("read on the write end", res(read(p[WR], buf, 1)), "-1 EBADF");
    show("F_GETFL read end access", num(fcntl(p[RD], F_GETFL) & O_ACCMODE), num(O_RDONLY));
    show("F_GETFL write end access", num(fcntl(p[WR], F_GETFL) & O_ACCMODE), num(O_WRONLY));
    close(p[RD]);
    close(p[WR]);

    int before = lowest_free();
    show("pipe2(O_CLOEXEC)", res(pipe2(p, O_CLOEXEC)), "0");
    show("F_GETFD read end", num(fcntl(p[RD], F_GETFD)), num(FD_CLOEXEC));
    show("F_GETFD write end", num(fcntl(p[WR], F_GETFD)), num(FD_CLOEXEC));
    show("F_GETFL has no O_NONBLOCK", num(fcntl(p[RD], F_GETFL) & O_NONBLOCK), "0");
    close(p[RD]);
    close(p[WR]);
    show("pipe2(bad flags)", res(pipe2(p, O_APPEND)), "-1 EINVAL");
    show("pipe(bad array)", res(syscall(SYS_pipe, (void *)8)), "-1 EFAULT");
    show("pipe2(bad array, O_CLOEXEC)", res(syscall(SYS_pipe2, (void *)8, O_CLOEXEC)), "-1 EFAULT");
    show("no descriptor left behind", num(lowest_free()), num(before));
}

static void check_nonblock(void)
{
    int p[2];
    char buf[4096];

    show("pipe2(O_NONBLOCK)", res(pipe2(p, O_NONBLOCK)), "0");
    show("F_GETFL has O_NONBLOCK", num(fcntl(p[RD], F_GETFL) & O_NONBLOCK), num(O_NONBLOCK));
    show("read empty non-blocking", res(read(p[RD], buf, sizeof(buf))), "-1 EAGAIN");
    memset(buf, 'z', sizeof(buf));
    long total = 0;
    ssize_t n;
    while ((n = write(p[WR], buf, sizeof(buf))) > 0)
        total += n;
    show("fill until EAGAIN", res(n), "-1 EAGAIN");
    show("bytes a pipe holds", num(total), num(fcntl(p[WR], F_GETPIPE_SZ)));
    show("one more byte", res(write(p[WR], buf, 1)), "-1 EAGAIN");
    show("read 1000 of them", res(read(p[RD], buf, 1000)), "1000");
    close(p[RD]);
    close(p[WR]);

    pipe(p);
    int fl = fcntl(p[RD], F_GETFL);
    show("F_SETFL O_NONBLOCK", res(fcntl(p[RD], F_SETFL, fl | O_NONBLOCK)), "0");
    show("read empty after F_SETFL", res(read(p[RD], buf, 10)), "-1 EAGAIN");
    show("readv empty after F_SETFL", res(readv(p[RD], &(struct iovec){buf, 10}, 1)), "-1 EAGAIN");
    fcntl(p[RD], F_SETFL, fl);
    write(p[WR], "ok", 2);
    show("read blocking again (data there)", res(read(p[RD], buf, 10)), "2");

    /* The generic ioctls (Rust's std sets its pipes non-blocking with FIONBIO). */
    int on = 1, off = 0;
    show("ioctl FIONBIO 1", res(ioctl(p[RD], FIONBIO, &on)), "0");
    show("F_GETFL after FIONBIO", num(fcntl(p[RD], F_GETFL) & O_NONBLOCK), num(O_NONBLOCK));
    show("read empty after FIONBIO", res(read(p[RD], buf, 10)), "-1 EAGAIN");
    show("ioctl FIONBIO 0", res(ioctl(p[RD], FIONBIO, &off)), "0");
    show("F_GETFL after FIONBIO 0", num(fcntl(p[RD], F_GETFL) & O_NONBLOCK), "0");
    show("ioctl FIOCLEX", res(ioctl(p[WR], FIOCLEX)), "0");
    show("F_GETFD after FIOCLEX", num(fcntl(p[WR], F_GETFD)), num(FD_CLOEXEC));
    show("ioctl FIONCLEX", res(ioctl(p[WR], FIONCLEX)), "0");
    show("F_GETFD after FIONCLEX", num(fcntl(p[WR], F_GETFD)), "0");

    /* splice and tee between pipes: tee copies, splice moves; nothing there is EAGAIN
     * with SPLICE_F_NONBLOCK. */
    int q[2];
    pipe(q);
    write(p[WR], "spliced", 7);
    show("tee 7 bytes", res(tee(p[RD], q[WR], 100, 0)), "7");
    show("splice them on", res(splice(p[RD], NULL, q[WR], NULL, 100, 0)), "7");
    show("splice from an empty pipe, NONBLOCK",
         res(splice(p[RD], NULL, q[WR], NULL, 10, SPLICE_F_NONBLOCK)), "-1 EAGAIN");
    char got[16] = {0};
    show("read both copies", res(read(q[RD], got, sizeof(got) - 1)), "14");
    show("the bytes", got, "splicedspliced");
    close(q[RD]);
    close(q[WR]);
    close(p[RD]);
    close(p[WR]);
}

/* A child writes after the parent already waits in read (or poll/select). */
static void check_wait_for_writer(void)
{
    int p[2];
    char buf[16] = {0};

    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[RD]);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        write(p[WR], "ping", 4);
        _exit(0);
    }
    show("blocking read waits for the child", res(read(p[RD], buf, sizeof(buf))), "4");
    show("data from the child", buf, "ping");
    close(p[WR]);
    show("EOF once the child's copy is closed too", res(read(p[RD], buf, sizeof(buf))), "0");
    show("child status", num(wait_status(pid)), "0");
    close(p[RD]);

    /* The parent keeps its write end: EOF only after it closes it. */
    pipe(p);
    pid = fork();
    if (pid == 0) {
        close(p[RD]);
        close(p[WR]);
        _exit(0);
    }
    show("child that only closed", num(wait_status(pid)), "0");
    struct pollfd pf = {p[RD], POLLIN, 0};
    show("no EOF while the parent's writer is open", res(poll(&pf, 1, 30)), "0");
    close(p[WR]);
    show("EOF after it closed", res(read(p[RD], buf, sizeof(buf))), "0");
    close(p[RD]);
}

/* 1 MiB three ways from a child: one write(), writev() with three buffers, odd sizes.
 * The parent reads with odd sizes and readv and compares checksums, the child sends its
 * own over a second pipe. */
static void check_megabyte(void)
{
    int data[2], sums[2];
    unsigned char *buf = malloc(MIB);

    for (uint64_t i = 0; i < MIB; i++)
        buf[i] = pattern(i);
    pipe(data);
    pipe(sums);
    pid_t pid = fork();
    if (pid == 0) {
        close(data[RD]);
        close(sums[RD]);
        long r[3];
        r[0] = write(data[WR], buf, MIB);
        struct iovec iov[3] = {
            {buf, 1000}, {buf + 1000, MIB / 2}, {buf + 1000 + MIB / 2, MIB / 2 - 1000}};
        r[1] = writev(data[WR], iov, 3);
        r[2] = 0;
        for (size_t off = 0, step = 1; off < MIB; off += step, step = step * 7 % 9973 + 1) {
            if (step > MIB - off)
                step = MIB - off;
            r[2] += write(data[WR], buf + off, step);
        }
        uint64_t h = fnv(FNV0, buf, MIB);
        write(sums[WR], r, sizeof(r));
        write(sums[WR], &h, sizeof(h));
        _exit(0);
    }
    close(data[WR]);
    close(sums[WR]);
    unsigned char *in = malloc(MIB);
    uint64_t hs[3] = {FNV0, FNV0, FNV0};
    long got[3] = {0, 0, 0};
    /* Stream 1: odd-sized reads. */
    for (size_t step = 1; got[0] < MIB;) {
        size_t want = step < (size_t)(MIB - got[0]) ? step : (size_t)(MIB - got[0]);
        ssize_t n = read(data[RD], in, want);
        if (n <= 0)
            break;
        hs[0] = fnv(hs[0], in, (size_t)n);
        got[0] += n;
        step = step * 5 % 70001 + 1;
    }
    /* Stream 2: readv into two buffers. */
    while (got[1] < MIB) {
        size_t left = (size_t)(MIB - got[1]);
        size_t a = left < 3000 ? left : 3000, b = left - a < 50000 ? left - a : 50000;
        struct iovec iov[2] = {{in, a}, {in + a, b}};
        ssize_t n = readv(data[RD], iov, 2);
        if (n <= 0)
            break;
        hs[1] = fnv(hs[1], in, (size_t)n);
        got[1] += n;
    }
    /* Stream 3: exact reads of 64 KiB. */
    while (got[2] < MIB) {
        ssize_t n = read_full(data[RD], in, 65536);
        if (n <= 0)
            break;
        hs[2] = fnv(hs[2], in, (size_t)n);
        got[2] += n;
    }
    long r[3] = {-1, -1, -1};
    uint64_t child_h = 0;
    read_full(sums[RD], r, sizeof(r));
    read_full(sums[RD], &child_h, sizeof(child_h));
    char line[64];
    uint64_t want = fnv(FNV0, buf, MIB);
    show("child: one write() of 1 MiB returned", num(r[0]), num(MIB));
    show("child: writev() of 1 MiB returned", num(r[1]), num(MIB));
    show("child: odd-sized writes total", num(r[2]), num(MIB));
    snprintf(line, sizeof(line), "%016llx", (unsigned long long)child_h);
    show("child's checksum", line, NULL);
    const char *names[3] = {"read with odd sizes", "readv", "reads of 64 KiB"};
    for (int k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof(what), "stream %d (%s) bytes", k + 1, names[k]);
        show(what, num(got[k]), num(MIB));
        snprintf(what, sizeof(what), "stream %d checksum matches", k + 1);
        show(what, hs[k] == want && child_h == want ? "yes" : "no", "yes");
    }
    char c;
    show("then EOF", res(read(data[RD], &c, 1)), "0");
    show("child status", num(wait_status(pid)), "0");
    close(data[RD]);
    close(sums[RD]);
    free(in);
    free(buf);
}

static void check_poll(void)
{
    int p[2];
    char buf[16];

    pipe(p);
    struct pollfd pf[2] = {{p[RD], POLLIN, -1}, {p[WR], POLLOUT, -1}};
    show("poll empty read end, 50 ms", res(poll(pf, 1, 50)), "0");
    show("  revents", num(pf[0].revents), "0");
    show("poll empty read end, 0 ms", res(poll(pf, 1, 0)), "0");
    show("poll both ends", res(poll(pf, 2, 1000)), "1");
    show("  write end revents", num(pf[1].revents), num(POLLOUT));
    write(p[WR], "x", 1);
    show("poll after a write", res(poll(pf, 2, -1)), "2");
    show("  read end revents", num(pf[0].revents), num(POLLIN));
    read(p[RD], buf, 1);
    struct timespec ts = {0, 30 * 1000 * 1000};
    /* The raw call: the libcs pass ppoll a copy of the timeout, the kernel writes the
     * time left into it. */
    show("ppoll empty, 30 ms", res(syscall(SYS_ppoll, pf, 1, &ts, NULL, 8)), "0");
    show("  time left", num(ts.tv_sec * 1000000000L + ts.tv_nsec), "0");

    sigset_t block, before, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_SETMASK, NULL, &before);
    ts = (struct timespec){0, 10 * 1000 * 1000};
    show("ppoll with a mask, 10 ms", res(ppoll(pf, 1, &ts, &block)), "0");
    sigprocmask(SIG_SETMASK, NULL, &after);
    show("  mask back after ppoll",
         sigismember(&after, SIGUSR1) == sigismember(&before, SIGUSR1) ? "yes" : "no", "yes");
    show("ppoll bad sigsetsize", res(syscall(SYS_ppoll, pf, 1, NULL, &block, 4)), "-1 EINVAL");
    ts = (struct timespec){0, 1000000000L};
    show("ppoll bad timeout", res(ppoll(pf, 1, &ts, NULL)), "-1 EINVAL");

    struct pollfd bad[2] = {{-1, POLLIN, -1}, {999, POLLIN, -1}};
    show("poll negative and closed fd", res(poll(bad, 2, 1000)), "1");
    show("  negative fd revents", num(bad[0].revents), "0");
    show("  closed fd revents", num(bad[1].revents), num(POLLNVAL));

    close(p[WR]);
    show("poll read end, writer gone", res(poll(pf, 1, -1)), "1");
    show("  revents", num(pf[0].revents), num(POLLHUP));
    close(p[RD]);

    /* Waiting without a timeout until a child writes. */
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
        write(p[WR], "late", 4);
        _exit(0);
    }
    pf[0] = (struct pollfd){p[RD], POLLIN, 0};
    show("poll without timeout until the child writes", res(poll(pf, 1, -1)), "1");
    show("  revents", num(pf[0].revents), num(POLLIN));
    show("child status", num(wait_status(pid)), "0");
    close(p[RD]);
    close(p[WR]);
}

/* The numbers set in a fd_set below n, as "3,4" (or "-"). */
static const char *fds_in(const fd_set *s, int n)
{
    static char buf[4][64];
    static int next;
    char *b = buf[next++ % 4];
    size_t len = 0;

    b[0] = '\0';
    for (int fd = 0; fd < n; fd++)
        if (FD_ISSET(fd, s))
            len += (size_t)snprintf(b + len, sizeof(buf[0]) - len, "%s%d", len ? "," : "", fd);
    return len ? b : "-";
}

static void check_select(void)
{
    int p[2];
    fd_set r, w;
    char want[32];

    pipe(p);
    int n = p[WR] + 1;
    FD_ZERO(&r);
    FD_SET(p[RD], &r);
    struct timeval tv = {0, 50 * 1000};
    /* The raw call: musl passes select a copy of the timeout, the kernel writes the time
     * left into it. */
    show("select empty read end, 50 ms", res(syscall(SYS_select, n, &r, NULL, NULL, &tv)), "0");
    show("  read set cleared", fds_in(&r, n), "-");
    show("  time left", num(tv.tv_sec * 1000000L + tv.tv_usec), "0");

    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[RD], &r);
    FD_SET(p[RD], &w);
    FD_SET(p[WR], &w);
    tv = (struct timeval){5, 0};
    show("select writable write end", res(syscall(SYS_select, n, &r, &w, NULL, &tv)), "1");
    show("  read set", fds_in(&r, n), "-");
    snprintf(want, sizeof(want), "%d", p[WR]);
    show("  write set", fds_in(&w, n), want);
    show("  time left above 4 s", tv.tv_sec >= 4 ? "yes" : "no", "yes");

    write(p[WR], "x", 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[RD], &r);
    FD_SET(p[WR], &w);
    show("select after a write", res(select(n, &r, &w, NULL, NULL)), "2");
    snprintf(want, sizeof(want), "%d", p[RD]);
    show("  read set", fds_in(&r, n), want);

    struct timespec ts = {0, 20 * 1000 * 1000};
    char c;
    read(p[RD], &c, 1);
    FD_ZERO(&r);
    FD_SET(p[RD], &r);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    show("pselect empty, 20 ms, with a mask", res(pselect(n, &r, NULL, NULL, &ts, &block)), "0");
    show("  read set cleared", fds_in(&r, n), "-");
    ts = (struct timespec){0, -1};
    FD_SET(p[RD], &r);
    show("pselect bad timeout", res(pselect(n, &r, NULL, NULL, &ts, NULL)), "-1 EINVAL");

    FD_ZERO(&r);
    FD_SET(p[RD], &r);
    FD_SET(p[WR] + 10, &r);
    tv = (struct timeval){1, 0};
    show("select with a closed fd in the set", res(select(p[WR] + 11, &r, NULL, NULL, &tv)),
         "-1 EBADF");
    show("select n < 0", res(syscall(SYS_select, -1, NULL, NULL, NULL, NULL)), "-1 EINVAL");
    tv = (struct timeval){0, -5};
    show("select negative timeout", res(select(n, &r, NULL, NULL, &tv)), "-1 EINVAL");
    FD_ZERO(&r);
    FD_SET(p[RD], &r);
    show("select bad set pointer", res(syscall(SYS_select, n, (void *)8, NULL, NULL, NULL)),
         "-1 EFAULT");

    /* Without a timeout until a child closes its end: EOF makes it readable. */
    close(p[WR]);
    int q[2];
    pipe(q);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
        _exit(0); /* closes q[WR] */
    }
    close(q[WR]);
    FD_ZERO(&r);
    FD_SET(q[RD], &r);
    show("select without timeout until the child exits",
         res(select(q[RD] + 1, &r, NULL, NULL, NULL)), "1");
    show("  then EOF", res(read(q[RD], &c, 1)), "0");
    show("child status", num(wait_status(pid)), "0");
    close(q[RD]);
    close(p[RD]);
}

static volatile sig_atomic_t pipe_code = -100, pipe_from_self;

static void on_sigpipe(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    pipe_code = si->si_code;
    pipe_from_self = si->si_pid == getpid();
}

static void check_epipe(void)
{
    int p[2];

    pipe(p);
    close(p[RD]);
    signal(SIGPIPE, SIG_IGN);
    show("write, no reader, SIGPIPE ignored", pres(write(p[WR], "x", 1)), "-1 EPIPE");
    struct iovec iov = {"xy", 2};
    show("writev, no reader, SIGPIPE ignored", pres(writev(p[WR], &iov, 1)), "-1 EPIPE");
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigpipe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGPIPE, &sa, NULL);
    show("write, no reader, SIGPIPE caught", pres(write(p[WR], "x", 1)), "-1 EPIPE");
    show("  handler si_code", pipe_code == SI_USER ? "SI_USER" : num(pipe_code), "SI_USER");
    show("  sent by itself", pipe_from_self ? "yes" : "no", "yes");
    signal(SIGPIPE, SIG_DFL);
    close(p[WR]);

    /* At the default action a child is killed; the reader closes after the child blocked
     * on a full pipe. */
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[RD]);
        static char big[256 * 1024];
        write(p[WR], big, sizeof(big));
        _exit(0);
    }
    close(p[WR]);
    char buf[1000];
    read_full(p[RD], buf, sizeof(buf));
    close(p[RD]);
    show("child writing into a closed pipe: status", num(wait_status(pid)), num(128 + SIGPIPE));
}

static void check_cloexec_exec(void)
{
    int keep[2], gone[2];
    char buf[64] = {0};

    pipe(keep);
    pipe2(gone, O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        char a[16], b[16];
        snprintf(a, sizeof(a), "%d", keep[WR]);
        snprintf(b, sizeof(b), "%d", gone[WR]);
        close(keep[RD]);
        execl(self, self, "exec-check", a, b, (char *)NULL);
        _exit(127);
    }
    close(keep[WR]);
    read_full(keep[RD], buf, sizeof(buf) - 1);
    show("after execve: kept, close-on-exec", buf, "open closed");
    show("exec'ed child status", num(wait_status(pid)), "0");
    close(gone[WR]);
    close(keep[RD]);
    close(gone[RD]);
}

/* The exec'ed image of check_cloexec_exec. */
static int exec_check(int keep, int gone)
{
    char msg[32];
    snprintf(msg, sizeof(msg), "%s %s", fcntl(keep, F_GETFD) == 0 ? "open" : "bad",
             fcntl(gone, F_GETFD) < 0 && errno == EBADF ? "closed" : "open");
    return write(keep, msg, strlen(msg)) == (ssize_t)strlen(msg) ? 0 : 1;
}

/* Killed by SIGPIPE at its default action. */
static int sigpipe_default(void)
{
    int p[2];
    pipe(p);
    close(p[RD]);
    signal(SIGPIPE, SIG_DFL);
    write(p[WR], "x", 1);
    printf("still alive after EPIPE\n");
    return 1;
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 4 && strcmp(argv[1], "exec-check") == 0)
        return exec_check(atoi(argv[2]), atoi(argv[3]));
    if (argc == 2 && strcmp(argv[1], "sigpipe") == 0)
        return sigpipe_default();
    if (argc != 1) {
        fprintf(stderr, "usage: pipe_io [sigpipe]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_basic();
    check_nonblock();
    check_wait_for_writer();
    check_megabyte();
    check_poll();
    check_select();
    check_epipe();
    check_cloexec_exec();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
