/* fuzz_syscalls SEED COUNT NR...: makes COUNT system calls drawn from the numbers NR...
 * with arguments biased towards edge values: 0, 1, -1, small descriptors, sign bits, page
 * sizes, random words, NULL, pointers into its own buffers (one past a mapping's end too),
 * and paths that name only files of the working directory (the fuzzer's scratch folder:
 * the random bytes of its buffers hold no '/' and no '.', so no string leaves it). Every
 * call runs under a 50 ms interval timer whose SIGALRM ends a call that would block. Prints
 * how many calls returned an error and how many succeeded; what they returned is the
 * kernel's business, the fuzzer (tests/fuzz/syscall_fuzz.py) watches vmemu. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void on_alarm(int sig)
{
    (void)sig;
}

static const char *const paths[] = {"f0", "f1", "d0", "d0/f2", "", "d0/d1", "f0/x"};
static char bufs[4][8192];
static char *region;
#define REGION_PAGES 16

static long pick_arg(void)
{
    switch (rnd() % 16) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return -1;
    case 3:
        return (long)(rnd() % 8); /* a small descriptor or flag */
    case 4:
        return 4096;
    case 5:
        return 0x7fffffffL;
    case 6:
        return (long)0x8000000000000000ULL;
    case 7:
        return (long)rnd();
    case 8:
    case 9:
        return (long)(bufs[rnd() % 4] + rnd() % 64);
    case 10:
    case 11:
        return (long)paths[rnd() % (sizeof(paths) / sizeof(paths[0]))];
    case 12:
        return (long)(region + (rnd() % REGION_PAGES) * 4096);
    case 13:
        return (long)(region + REGION_PAGES * 4096); /* one past the end */
    case 14:
        return (long)(rnd() % 65536);
    default:
        return -(long)(rnd() % 4096); /* a small negative: -errno-like */
    }
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    rng_state = strtoull(argv[1], NULL, 0) * 2654435761ULL + 1;
    long count = strtol(argv[2], NULL, 0);
    int n = argc - 3;
    long *nrs = calloc((size_t)n, sizeof(*nrs));
    if (!nrs)
        return 3;
    for (int i = 0; i < n; i++)
        nrs[i] = strtol(argv[3 + i], NULL, 0);
    for (int b = 0; b < 4; b++)
        for (size_t i = 0; i < sizeof(bufs[b]); i++) {
            char c = (char)(rnd() % 255 + 1);
            bufs[b][i] = (c == '/' || c == '.') ? 'a' : c;
        }
    for (int b = 0; b < 4; b++)
        bufs[b][sizeof(bufs[b]) - 1] = '\0';
    region = mmap(NULL, REGION_PAGES * 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return 4;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: a blocked call ends with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    long errors = 0, ok = 0;
    for (long i = 0; i < count; i++) {
        long nr = nrs[rnd() % (uint64_t)n], a[6];
        for (int j = 0; j < 6; j++)
            a[j] = pick_arg();
        struct itimerval t = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &t, NULL);
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        if (r == -1)
            errors++;
        else
            ok++;
    }
    dprintf(2, "fuzz_syscalls: %ld calls, %ld errors, %ld succeeded\n", count, errors, ok);
    return 0;
}
