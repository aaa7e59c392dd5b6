/* thread_pingpong: the switch and scheduling benchmark workloads (tests/bench.py).
 * Usage: thread_pingpong MODE [N [short]]
 *   threads N  two threads of one process pass a token N times back and forth over a
 *              futex word (raw FUTEX_WAIT / FUTEX_WAKE, private): each round trip is two
 *              wakes and, under a one-CPU scheduler, two thread switches;
 *   procs N    a parent and a child pass a byte N times back and forth over a pair of
 *              pipes: each round trip is two writes, two blocking reads and two process
 *              switches;
 *   spin1 N    one thread runs N million rounds of a tight loop (no syscall, no fault);
 *   spin1t N   the same after a second thread has been created and joined (under vmemu:
 *              with the block hook that the second thread installed, and no switches);
 *   spin2 N    two threads run N/2 million rounds each, at the same time, and are joined:
 *              the same total work as spin1, with two runnable threads throughout.
 * A round of the spin modes is an LCG step and an xorshift (a block of 8 instructions
 * whose time is the latency of its chain of arithmetic), or with "short" an add (a block
 * of 4 instructions, 3 of them the loop's own: the most blocks per second).
 * Prints a line that does not depend on the schedule; status 0 when the token made every
 * trip, 1 otherwise, 2 on a usage error. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* As in <linux/futex.h>, which musl-gcc does not see. */
#define FUTEX_WAIT         0
#define FUTEX_WAKE         1
#define FUTEX_PRIVATE_FLAG 128

/* threads ----------------------------------------------------------------------------- */
static atomic_int turn; /* who holds the token: 0 the main thread, 1 the peer */
static long rounds;

static long futex(atomic_int *word, int op, int val)
{
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

/* Waits until the token is me's, then hands it to the other side and wakes it. */
static void pass(int me)
{
    while (atomic_load(&turn) != me)
        futex(&turn, FUTEX_WAIT, 1 - me);
    atomic_store(&turn, 1 - me);
    futex(&turn, FUTEX_WAKE, 1);
}

static void *peer_main(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++)
        pass(1);
    return NULL;
}

static int run_threads(long n)
{
    pthread_t t;
    rounds = n;
    if (pthread_create(&t, NULL, peer_main, NULL) != 0)
        return 1;
    for (long i = 0; i < n; i++)
        pass(0);
    pthread_join(t, NULL);
    int ok = atomic_load(&turn) == 0;
    printf("threads: %ld round trips%s\n", n, ok ? "" : ", token lost");
    return ok ? 0 : 1;
}

/* procs ------------------------------------------------------------------------------- */
static int run_procs(long n)
{
    int down[2], up[2], st;
    char c = 0;
    if (pipe(down) != 0 || pipe(up) != 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        for (long i = 0; i < n; i++)
            if (read(down[0], &c, 1) != 1 || (c++, write(up[1], &c, 1)) != 1)
                _exit(1);
        _exit(0);
    }
    for (long i = 0; i < n; i++)
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
            return 1;
    if (waitpid(pid, &st, 0) != pid)
        return 1;
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && (unsigned char)c == (unsigned char)n;
    printf("procs: %ld round trips%s\n", n, ok ? "" : ", token lost");
    return ok ? 0 : 1;
}

/* spin -------------------------------------------------------------------------------- */
struct spin {
    uint64_t seed;
    long n;
    int short_loop;
    uint64_t out;
};

/* n rounds of an LCG step and an xorshift: a loop of a few instructions per block. */
static void *spin_main(void *arg)
{
    struct spin *s = arg;
    uint64_t x = s->seed;
    if (s->short_loop) {
        for (long i = 0; i < s->n; i++) {
            x += (uint64_t)i;
            __asm__ volatile("" : "+r"(x)); /* one add per round, not a formula */
        }
        s->out = x;
        return NULL;
    }
    for (long i = 0; i < s->n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    s->out = x;
    return NULL;
}

static void *idle_main(void *arg)
{
    return arg;
}

static int run_spin(const char *mode, long n, int short_loop)
{
    long total = n * 1000000L;
    struct spin a = {1, total, short_loop, 0}, b = {2, 0, short_loop, 0};
    pthread_t t;

    if (strcmp(mode, "spin1t") == 0) {
        if (pthread_create(&t, NULL, idle_main, NULL) != 0)
            return 1;
        pthread_join(t, NULL);
    }
    if (strcmp(mode, "spin2") == 0) {
        a.n = total / 2;
        b.n = total - a.n;
        if (pthread_create(&t, NULL, spin_main, &b) != 0)
            return 1;
        spin_main(&a);
        pthread_join(t, NULL);
    } else {
        spin_main(&a);
    }
    printf("%s: %ld million %srounds, %s\n", mode, n, short_loop ? "short " : "",
           (a.out ^ b.out) != 0 ? "done" : "zero");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long n = argc > 2 ? atol(argv[2]) : 0;

    if (n < 0)
        n = 0;
    if (strcmp(mode, "threads") == 0)
        return run_threads(n);
    if (strcmp(mode, "procs") == 0)
        return run_procs(n);
    if (strcmp(mode, "spin1") == 0 || strcmp(mode, "spin1t") == 0 || strcmp(mode, "spin2") == 0)
        return run_spin(mode, n, argc > 3 && strcmp(argv[3], "short") == 0);
    fprintf(stderr, "usage: thread_pingpong threads|procs|spin1|spin1t|spin2 N [short]\n");
    return 2;
}
