/* sig_alarm: timers and interrupted sleeps, printed the same natively and under vmemu
 * (tests/signal_e2e.py). alarm + pause, alarm's return value, setitimer(ITIMER_REAL) with
 * an interval firing three times (then disarmed), getitimer, nanosleep cut short by
 * SIGALRM (EINTR with the time left in rem), sigtimedwait woken by a timer, and SA_RESTART
 * against EINTR on a read from a pipe: the SIGALRM handler writes one byte into the pipe,
 * so with SA_RESTART the read goes on and returns it, without it the read fails with
 * EINTR. With the argument "die", an uncaught SIGALRM ends the process (status 142).
 * Times are short (tens of milliseconds) and only relations between them are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static int pipe_wr = -1;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
    if (pipe_wr >= 0) {
        char c = 'x';
        if (write(pipe_wr, &c, 1) != 1)
            alarms += 100;
    }
}

static void set_alarm_action(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
}

/* Arms ITIMER_REAL for ms milliseconds, repeating every interval_ms (0: once). */
static int arm_ms(long ms, long interval_ms)
{
    struct itimerval it;
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = ms % 1000 * 1000;
    it.it_interval.tv_sec = interval_ms / 1000;
    it.it_interval.tv_usec = interval_ms % 1000 * 1000;
    return setitimer(ITIMER_REAL, &it, NULL);
}

static const char *err_text(int r, int want)
{
    return r == -1 && errno == want ? "expected errno" : "unexpected";
}

static void test_alarm_pause(void)
{
    alarms = 0;
    set_alarm_action(0);
    printf("alarm(5) first: %u\n", alarm(5));
    printf("alarm(0) left: %u\n", alarm(0));
    arm_ms(30, 0);
    int r = pause();
    printf("pause: %d %s alarms=%d\n", r, err_text(r, EINTR), (int)alarms);
}

static void test_interval(void)
{
    struct itimerval cur;
    alarms = 0;
    set_alarm_action(0);
    arm_ms(20, 20);
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer: interval=%ldus armed=%d\n",
           (long)(cur.it_interval.tv_sec * 1000000 + cur.it_interval.tv_usec),
           cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0);
    while (alarms < 3)
        pause();
    arm_ms(0, 0);
    getitimer(ITIMER_REAL, &cur);
    printf("interval: alarms=%d disarmed=%d\n", (int)alarms,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
}

static void test_nanosleep(void)
{
    struct timespec req = {2, 0}, rem = {-1, -1};
    alarms = 0;
    set_alarm_action(0);
    arm_ms(30, 0);
    int r = nanosleep(&req, &rem);
    printf("nanosleep: %d %s alarms=%d rem_in_range=%d\n", r, err_text(r, EINTR), (int)alarms,
           rem.tv_sec >= 1 && rem.tv_sec <= 2 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L);
    struct timespec short_req = {0, 10 * 1000 * 1000};
    printf("short nanosleep: %d\n", nanosleep(&short_req, NULL));
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &short_req, NULL);
    printf("clock_nanosleep: %d\n", r);
}

static void test_sigtimedwait_timer(void)
{
    sigset_t set;
    siginfo_t si;
    struct timespec ts = {5, 0};
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    alarms = 0;
    arm_ms(20, 0);
    int r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait: %d code=%s alarms=%d\n", r,
           si.si_code == SI_KERNEL ? "SI_KERNEL" : "other", (int)alarms);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void test_pipe_restart(int flags, const char *name)
{
    int fds[2];
    char c = 0;
    if (pipe(fds) != 0) {
        printf("FAIL pipe\n");
        return;
    }
    pipe_wr = fds[1];
    alarms = 0;
    set_alarm_action(flags);
    arm_ms(20, 0);
    ssize_t r = read(fds[0], &c, 1);
    printf("%s read: %zd %s alarms=%d\n", name, r,
           r == 1 ? (c == 'x' ? "got the byte" : "wrong byte") : err_text((int)r, EINTR),
           (int)alarms);
    pipe_wr = -1;
    close(fds[0]);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_alarm_pause();
    test_interval();
    test_nanosleep();
    test_sigtimedwait_timer();
    test_pipe_restart(SA_RESTART, "SA_RESTART");
    test_pipe_restart(0, "no SA_RESTART");
    if (argc > 1 && strcmp(argv[1], "die") == 0) {
        printf("waiting for an uncaught SIGALRM\n");
        signal(SIGALRM, SIG_DFL);
        arm_ms(10, 0);
        for (;;)
            pause();
    }
    printf("ok\n");
    return 0;
}
