/* timechance: what a program reads of time and chance, for tests/determinism_e2e.py.
 * Prints the AT_RANDOM and getrandom bytes, the time-stamp counter (rdtsc, rdtscp), the
 * monotonic time a 1.5 s nanosleep took, how late an interval timer's SIGALRM reached a
 * loop that makes no syscall, the CPU-time clocks and the wall clock. Natively (and
 * under vmemu with the host's clocks) those vary from run to run; under
 * `vmemu --deterministic` they must not. Checks what holds on every clock (the counter
 * grows, a sleep lasts at least what was asked, the timer fires, the CPU clocks advance)
 * and exits 1 with a FAIL line when one does not. `timechance sleep SECONDS` only sleeps
 * that long and says how long it slept. */
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/time.h>
#include <x86intrin.h>

#include "sample_check.h"

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
    (void)sig;
    fired = 1;
}

static int64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    CHECK(clock_gettime(clk, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void print_hex(const char *what, const unsigned char *b, size_t n)
{
    printf("%s ", what);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    unsigned char buf[16];
    if (argc > 2 && strcmp(argv[1], "sleep") == 0) {
        /* `sleep SECONDS`: one long sleep (under --deterministic it takes no host time) */
        int64_t before = clock_ns(CLOCK_MONOTONIC);
        struct timespec nap = {atol(argv[2]), 0};
        CHECK(nanosleep(&nap, NULL) == 0);
        printf("slept %lld s\n", (long long)((clock_ns(CLOCK_MONOTONIC) - before) / 1000000000));
        return 0;
    }
    const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK(at_random != NULL);
    print_hex("at_random", at_random, 16);
    CHECK(getrandom(buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
    print_hex("getrandom", buf, sizeof(buf));

    unsigned aux;
    uint64_t t1 = __rdtsc();
    volatile uint64_t sum = 0;
    for (int i = 0; i < 100000; i++)
        sum += (uint64_t)i;
    uint64_t t2 = __rdtscp(&aux);
    CHECK(t2 > t1);
    printf("rdtsc %llu +%llu\n", (unsigned long long)t1, (unsigned long long)(t2 - t1));

    int64_t before = clock_ns(CLOCK_MONOTONIC);
    struct timespec nap = {1, 500000000};
    CHECK(nanosleep(&nap, NULL) == 0);
    int64_t slept = clock_ns(CLOCK_MONOTONIC) - before;
    CHECK(slept >= 1500000000);
    printf("slept %lld ns\n", (long long)slept);

    /* A 10 ms timer and a loop without a syscall: the signal must interrupt it. */
    CHECK(signal(SIGALRM, on_alarm) != SIG_ERR);
    struct itimerval it = {{0, 0}, {0, 10000}};
    before = clock_ns(CLOCK_MONOTONIC);
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    uint64_t spins = 0;
    while (!fired)
        spins++;
    int64_t late = clock_ns(CLOCK_MONOTONIC) - before;
    CHECK(late >= 10000000 && spins > 0);
    printf("alarm after %lld ns, %llu spins\n", (long long)late, (unsigned long long)spins);

    int64_t proc = clock_ns(CLOCK_PROCESS_CPUTIME_ID), thread = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    CHECK(proc > 0 && thread > 0);
    printf("cputime process %lld thread %lld\n", (long long)proc, (long long)thread);
    int64_t wall = clock_ns(CLOCK_REALTIME);
    CHECK(wall > (int64_t)1500000000 * 1000000000); /* after 2017 */
    printf("realtime %lld\n", (long long)(wall / 1000000000));
    return 0;
}
