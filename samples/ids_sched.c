/* ids_sched: identity, scheduling, limits and POSIX timer syscalls, printed as lines that
 * are the same natively (as root or not) and under vmemu; tests/ids_sched_e2e.py compares
 * them. Only what does not depend on privilege or the host's CPUs is printed: the set*id
 * calls keep the current ids, capget/capset only say whether they succeeded, getcpu only
 * that it answered ("ids_sched cpu" also prints the CPU). Timers: a one-shot signal
 * timer, an interval timer, SIGEV_NONE, overruns while the signal is blocked,
 * SIGEV_THREAD_ID, TIMER_ABSTIME, timer_delete. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/personality.h>

#include "sample_check.h"

/* The kernel's struct sigevent with the thread id (not every libc names it). */
struct kevent {
    union sigval value;
    int signo;
    int notify;
    int tid;
    int pad[11];
};
#define K_SIGEV_SIGNAL    0
#define K_SIGEV_NONE      1
#define K_SIGEV_THREAD_ID 4

struct cap_hdr {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t eff, perm, inh;
};

static volatile sig_atomic_t hits, last_code, last_value, last_timerid, last_overrun;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    hits++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    last_timerid = si->si_timerid;
    last_overrun = si->si_overrun;
}

static int tcreate(clockid_t clk, struct kevent *ev)
{
    int id = -1;
    long r = syscall(SYS_timer_create, clk, ev, &id);
    return r < 0 ? -1 : id;
}

static long tset(int id, int flags, long value_ns, long interval_ns, struct itimerspec *old)
{
    struct itimerspec its = {{interval_ns / 1000000000L, interval_ns % 1000000000L},
                             {value_ns / 1000000000L, value_ns % 1000000000L}};
    return syscall(SYS_timer_settime, id, flags, &its, old);
}

static long tget(int id, struct itimerspec *cur)
{
    return syscall(SYS_timer_gettime, id, cur);
}

/* Waits with sigsuspend (everything but sig blocked) until hits reaches n. */
static void wait_hits(int sig, int n)
{
    sigset_t m;
    sigfillset(&m);
    sigdelset(&m, sig);
    sigdelset(&m, SIGALRM);
    while (hits < n)
        sigsuspend(&m);
}

static void ids(void)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK(getresuid(&r, &e, &s) == 0);
    CHECK(getresgid(&gr, &ge, &gs) == 0);
    printf("getresuid: real==getuid %d effective==geteuid %d\n", r == getuid(), e == geteuid());
    printf("getresgid: real==getgid %d effective==getegid %d\n", gr == getgid(), ge == getegid());
    printf("setuid(same) %s setgid(same) %s\n", res(setuid(getuid())), res(setgid(getgid())));
    printf("setreuid(-1,-1) %s setreuid(same) %s\n", res(setreuid(-1, -1)), res(setreuid(r, e)));
    printf("setregid(-1,-1) %s setregid(same) %s\n", res(setregid(-1, -1)), res(setregid(gr, ge)));
    printf("setresuid(-1,-1,-1) %s setresuid(same) %s\n", res(setresuid(-1, -1, -1)),
           res(setresuid(r, e, s)));
    printf("setresgid(-1,-1,-1) %s setresgid(same) %s\n", res(setresgid(-1, -1, -1)),
           res(setresgid(gr, ge, gs)));
    printf("setfsuid(same) returns euid %d\n", syscall(SYS_setfsuid, e) == (long)e);
    printf("setfsgid(same) returns egid %d\n", syscall(SYS_setfsgid, ge) == (long)ge);
    gid_t groups[256];
    int n = getgroups(256, groups);
    CHECK(n >= 0);
    printf("setgroups(current) %s\n", res(syscall(SYS_setgroups, n, groups)));
    struct cap_hdr h = {0, 0};
    long probe = syscall(SYS_capget, &h, NULL); /* unknown version: the kernel's goes back */
    printf("capget probe %s version 0x%x\n", res(probe), h.version);
    struct cap_data d[2];
    h.version = 0x20080522;
    h.pid = 0;
    long cg = syscall(SYS_capget, &h, d);
    printf("capget v3 ok %d\n", cg == 0);
    printf("capset(current) ok %d\n", syscall(SYS_capset, &h, d) == 0);
}

static void limits(void)
{
    struct rlimit old, now, want;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    want.rlim_max = old.rlim_max;
    want.rlim_cur = old.rlim_cur > 100 ? 100 : old.rlim_cur;
    printf("setrlimit(NOFILE, soft 100) %s\n", res(syscall(SYS_setrlimit, RLIMIT_NOFILE, &want)));
    CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0);
    printf("getrlimit NOFILE soft %ld hard unchanged %d\n", (long)now.rlim_cur,
           now.rlim_max == old.rlim_max);
    want.rlim_cur = want.rlim_max + 1;
    printf("setrlimit soft > hard %s\n", res(syscall(SYS_setrlimit, RLIMIT_NOFILE, &want)));
}

static void scheduling(int show_cpu)
{
    static const int pol[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 42};
    for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++)
        printf("policy %d: priority max %s min %s\n", pol[i], res(sched_get_priority_max(pol[i])),
               res(sched_get_priority_min(pol[i])));
    struct sched_param sp = {0};
    printf("getscheduler %s\n", res(sched_getscheduler(0)));
    printf("setscheduler(BATCH) %s\n", res(sched_setscheduler(0, SCHED_BATCH, &sp)));
    printf("getscheduler %s\n", res(sched_getscheduler(0)));
    printf("setparam(0) %s\n", res(sched_setparam(0, &sp)));
    printf("getscheduler %s\n", res(sched_getscheduler(0)));
    printf("setscheduler(OTHER) %s\n", res(sched_setscheduler(0, SCHED_OTHER, &sp)));
    printf("getscheduler %s\n", res(sched_getscheduler(0)));
    sp.sched_priority = 5;
    printf("setscheduler(OTHER, 5) %s\n", res(sched_setscheduler(0, SCHED_OTHER, &sp)));
    printf("setscheduler(42) %s\n", res(sched_setscheduler(0, 42, &sp)));
    printf("setscheduler(pid -1) %s\n", res(sched_setscheduler(-1, SCHED_OTHER, &sp)));
    sp.sched_priority = 0;
    long nosuch = sched_setscheduler(0x3fffffff, SCHED_OTHER, &sp);
    printf("setscheduler(no such pid) %ld ESRCH %d\n", nosuch, errno == ESRCH);
    sp.sched_priority = 7;
    long gp = sched_getparam(0, &sp);
    printf("getparam %s priority %d\n", res(gp), sp.sched_priority);
    struct timespec rr;
    printf("rr_get_interval %s\n", res(sched_rr_get_interval(0, &rr)));
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
    printf("setaffinity(current) %s\n", res(sched_setaffinity(0, sizeof(set), &set)));
    if (CPU_ISSET(0, &set)) { /* natively only when CPU 0 is allowed */
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(0, &one);
        CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
        CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
    }
    cpu_set_t none;
    CPU_ZERO(&none);
    printf("setaffinity(empty) %s\n", res(sched_setaffinity(0, sizeof(none), &none)));
    unsigned cpu = 99, node = 99;
    long gc = syscall(SYS_getcpu, &cpu, &node, NULL);
    printf("getcpu %s, NULL pointers %s\n", res(gc), res(syscall(SYS_getcpu, NULL, NULL, NULL)));
    if (show_cpu)
        printf("cpu %u node %u\n", cpu, node);
    int was = personality(0xffffffff);
    printf("personality PER_LINUX %d\n", (was & 0xff) == 0);
    printf("personality(ADDR_NO_RANDOMIZE) ok %d\n", personality(ADDR_NO_RANDOMIZE) == was);
    printf("personality query has ADDR_NO_RANDOMIZE %d\n",
           (personality(0xffffffff) & ADDR_NO_RANDOMIZE) != 0);
    CHECK(personality(was) == ADDR_NO_RANDOMIZE);
}

static void timers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &usr, NULL) == 0);

    /* One-shot SIGEV_SIGNAL, 20 ms. */
    struct kevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.notify = K_SIGEV_SIGNAL;
    ev.signo = SIGUSR1;
    ev.value.sival_int = 1234;
    int t1 = tcreate(CLOCK_MONOTONIC, &ev);
    CHECK(t1 >= 0);
    hits = 0;
    CHECK(tset(t1, 0, 20000000, 0, NULL) == 0);
    wait_hits(SIGUSR1, 1);
    printf("one-shot: si_code SI_TIMER %d si_value %d si_timerid matches %d overrun %d\n",
           last_code == SI_TIMER, (int)last_value, last_timerid == t1, (int)last_overrun);
    struct itimerspec cur;
    memset(&cur, 0xff, sizeof(cur));
    CHECK(tget(t1, &cur) == 0);
    printf("disarmed gettime: %ld %ld %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
           (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

    /* Interval, 5 ms, three signals. */
    ev.signo = SIGUSR2;
    ev.value.sival_int = 77;
    int t2 = tcreate(CLOCK_REALTIME, &ev);
    CHECK(t2 >= 0 && t2 != t1);
    hits = 0;
    CHECK(tset(t2, 0, 5000000, 5000000, NULL) == 0);
    wait_hits(SIGUSR2, 3);
    printf("interval: %d signals, value %d\n", (int)hits, (int)last_value);
    CHECK(syscall(SYS_timer_delete, t2) == 0);

    /* SIGEV_NONE: only timer_gettime sees it. */
    struct kevent none = {.notify = K_SIGEV_NONE};
    int t3 = tcreate(CLOCK_BOOTTIME, &none);
    CHECK(t3 >= 0);
    struct itimerspec a, b, old;
    CHECK(tset(t3, 0, 1000000000, 0, NULL) == 0);
    CHECK(tget(t3, &a) == 0);
    struct timespec nap = {0, 2000000};
    nanosleep(&nap, NULL);
    CHECK(tget(t3, &b) == 0);
    long la = a.it_value.tv_sec * 1000000000L + a.it_value.tv_nsec;
    long lb = b.it_value.tv_sec * 1000000000L + b.it_value.tv_nsec;
    printf("SIGEV_NONE: remaining decreases %d, still armed %d, at most 1 s %d\n", lb < la, lb > 0,
           la <= 1000000000L);
    CHECK(tset(t3, 0, 0, 0, &old) == 0);
    printf("disarm: old value in (0, 1 s] %d\n",
           old.it_value.tv_sec * 1000000000L + old.it_value.tv_nsec > 0 &&
               old.it_value.tv_sec * 1000000000L + old.it_value.tv_nsec <= 1000000000L);

    /* Overruns while the signal is blocked. */
    ev.signo = SIGUSR1;
    ev.value.sival_int = 5;
    int t4 = tcreate(CLOCK_MONOTONIC, &ev);
    CHECK(t4 >= 0);
    CHECK(tset(t4, 0, 2000000, 2000000, NULL) == 0);
    nap.tv_nsec = 20000000;
    nanosleep(&nap, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    siginfo_t si;
    CHECK(sigwaitinfo(&one, &si) == SIGUSR1);
    long ov = syscall(SYS_timer_getoverrun, t4);
    printf("blocked: si_code SI_TIMER %d si_overrun >= 1 %d timer_getoverrun >= 1 %d\n",
           si.si_code == SI_TIMER, si.si_overrun >= 1, ov >= 1);
    CHECK(syscall(SYS_timer_delete, t4) == 0);
    printf("after delete: settime %s gettime %s getoverrun %s delete %s\n",
           res(tset(t4, 0, 1000000, 0, NULL)), res(tget(t4, &cur)),
           res(syscall(SYS_timer_getoverrun, t4)), res(syscall(SYS_timer_delete, t4)));
    while (sigtimedwait(&one, &si, &(struct timespec){0, 0}) > 0) /* a late expiry */
        ;

    /* SIGEV_THREAD_ID to the main thread, absolute time. */
    struct kevent tev = {.notify = K_SIGEV_THREAD_ID | K_SIGEV_SIGNAL, .signo = SIGUSR2};
    tev.value.sival_int = 99;
    tev.tid = (int)syscall(SYS_gettid);
    int t5 = tcreate(CLOCK_MONOTONIC, &tev);
    CHECK(t5 >= 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long at = now.tv_sec * 1000000000L + now.tv_nsec + 10000000L;
    hits = 0;
    CHECK(tset(t5, TIMER_ABSTIME, at, 0, NULL) == 0);
    wait_hits(SIGUSR2, 1);
    printf("thread id + abstime: si_code SI_TIMER %d si_value %d\n", last_code == SI_TIMER,
           (int)last_value);
    CHECK(syscall(SYS_timer_delete, t5) == 0);

    /* Errors. */
    printf("timer_create(bad clock) %s\n", res(tcreate(12345, &ev) < 0 ? -1 : 0));
    ev.notify = 99;
    printf("timer_create(bad notify) %s\n", res(tcreate(CLOCK_MONOTONIC, &ev) < 0 ? -1 : 0));
    tev.tid = 0x3fffffff;
    printf("timer_create(bad thread) %s\n", res(tcreate(CLOCK_MONOTONIC, &tev) < 0 ? -1 : 0));
    ev.notify = K_SIGEV_SIGNAL;
    ev.signo = 0;
    printf("timer_create(signal 0) %s\n", res(tcreate(CLOCK_MONOTONIC, &ev) < 0 ? -1 : 0));
    int t6 = tcreate(CLOCK_MONOTONIC, NULL); /* SIGALRM, value = id */
    CHECK(t6 >= 0);
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    printf("timer_settime(bad nsec) %s\n", res(syscall(SYS_timer_settime, t6, 0, &bad, NULL)));
    CHECK(syscall(SYS_timer_delete, t6) == 0);
    CHECK(syscall(SYS_timer_delete, t1) == 0);
    CHECK(syscall(SYS_timer_delete, t3) == 0);
}

int main(int argc, char **argv)
{
    alarm(10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    ids();
    limits();
    scheduling(argc > 1 && strcmp(argv[1], "cpu") == 0);
    timers();
    printf("done\n");
    return 0;
}
