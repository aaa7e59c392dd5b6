/* tlbflush: mapping changes that need a TLB flush and ones that do not, and accesses that
 * a missing flush would let through (tests/tlbflush_e2e.py). Usage: tlbflush MODE NNN.
 *   upgrade NNN    NNN times: map a fresh page read-only, read it, mprotect it read-write,
 *                  write it (permission upgrades and fresh mappings only)
 *   downgrade NNN  the same, then mprotect it back to read-only (NNN downgrades)
 *   bulk32 NNN     NNN times: map 32 pages, write each, mprotect all 32 to read-only in
 *                  one call, check that a write to the first and to the last faults
 *   bulk33 NNN     the same with 33 pages (one more than vmemu drops one by one)
 *   working NNN    write 2048 pages (8 MiB), then read one byte of each, NNN rounds: a
 *                  working set larger than Unicorn's first TLB (256 entries)
 *   pingpong NNN   two threads of one process pass a token NNN times (NNN switches each
 *                  way between threads of one address space)
 *   stale NNN      accesses that must fault or see fresh data after a change, NNN rounds:
 *                  a read after munmap (SIGSEGV), a write after mprotect to read-only
 *                  (SIGSEGV), a write after the page was unmapped and mapped again (the
 *                  new page reads zero), copy-on-write after fork (each side sees its own
 *                  data), and a second thread's munmap and mprotect of a page the first
 *                  thread had just used (SIGSEGV in the first)
 * Give NNN as three digits (000 and 200), so that runs to be compared have the same stack
 * layout. Prints what it saw; the output depends only on MODE and NNN. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static __thread sigjmp_buf jump;
static __thread volatile int armed;

static void on_segv(int sig)
{
    (void)sig;
    if (armed)
        siglongjmp(jump, 1);
    _exit(99);
}

/* Whether reading (write = 0) or writing p faults with SIGSEGV. */
static int faults(volatile unsigned char *p, int write)
{
    armed = 1;
    if (sigsetjmp(jump, 1)) {
        armed = 0;
        return 1;
    }
    if (write)
        *p = 7;
    else
        (void)*p;
    armed = 0;
    return 0;
}

static unsigned char *map(int prot)
{
    void *p = mmap(NULL, PG, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("tlbflush: mmap");
        exit(1);
    }
    return p;
}

static int upgrade(long n, int down)
{
    unsigned long sum = 0;
    for (long i = 0; i < n; i++) {
        volatile unsigned char *p = map(PROT_READ);
        sum += *p;
        if (mprotect((void *)p, PG, PROT_READ | PROT_WRITE) != 0)
            return 1;
        *p = (unsigned char)i;
        sum += *p;
        if (down && mprotect((void *)p, PG, PROT_READ) != 0)
            return 1;
    }
    printf("%s: %ld pages, sum %lu\n", down ? "downgrade" : "upgrade", n, sum);
    return 0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long turn, rounds;

/* Waits for turn parity `me`, then passes the token; `rounds` times. */
static void *player(void *arg)
{
    long me = (long)arg;
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        while (turn % 2 != me)
            pthread_cond_wait(&cond, &lock);
        turn++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int pingpong(long n)
{
    pthread_t t;
    rounds = n;
    if (pthread_create(&t, NULL, player, (void *)1L) != 0)
        return 1;
    player((void *)0L);
    pthread_join(t, NULL);
    printf("pingpong: %ld turns\n", turn);
    return 0;
}

/* The second thread of `stale`: the first thread uses the page, then this one changes
 * its mapping; the steps are handed over through `step`. */
static volatile unsigned char *shared_page;
static volatile int step;

static void wait_step(int s)
{
    pthread_mutex_lock(&lock);
    while (step != s)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void set_step(int s)
{
    pthread_mutex_lock(&lock);
    step = s;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void *changer(void *arg)
{
    (void)arg;
    wait_step(1);
    mprotect((void *)shared_page, PG, PROT_READ);
    set_step(2);
    wait_step(3);
    munmap((void *)shared_page, PG);
    set_step(4);
    return NULL;
}

static int stale(long n)
{
    int seen[6] = {0};
    for (long i = 0; i < n; i++) {
        volatile unsigned char *p = map(PROT_READ | PROT_WRITE);
        *p = 1;
        munmap((void *)p, PG);
        seen[0] += faults(p, 0);

        p = map(PROT_READ | PROT_WRITE);
        *p = 1;
        mprotect((void *)p, PG, PROT_READ);
        seen[1] += faults(p, 1);
        seen[1] += *p == 1 ? 0 : 100;
        munmap((void *)p, PG);

        p = map(PROT_READ | PROT_WRITE);
        *p = 5;
        munmap((void *)p, PG);
        volatile unsigned char *q = mmap((void *)p, PG, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        seen[2] += q == p && *q == 0; /* the old page's 5 would be a stale translation */
        munmap((void *)q, PG);
    }
    volatile unsigned char *c = map(PROT_READ | PROT_WRITE);
    *c = 1;
    pid_t pid = fork();
    if (pid == 0) {
        int ok = *c == 1;
        *c = 2;
        ok = ok && *c == 2;
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    seen[3] = WIFEXITED(st) && WEXITSTATUS(st) == 0 && *c == 1;
    *c = 3;
    seen[3] += *c == 3;

    pthread_t t;
    shared_page = map(PROT_READ | PROT_WRITE);
    if (pthread_create(&t, NULL, changer, NULL) != 0)
        return 1;
    *shared_page = 1; /* this thread's TLB entry, writable */
    set_step(1);
    wait_step(2);
    seen[4] = faults(shared_page, 1);
    (void)*shared_page; /* readable still */
    set_step(3);
    wait_step(4);
    seen[5] = faults(shared_page, 0);
    pthread_join(t, NULL);
    printf("stale %ld: munmap+read SIGSEGV %d, mprotect+write SIGSEGV %d, remap reads zero "
           "%d, fork COW %d/2, other thread's mprotect %d, its munmap %d\n",
           n, seen[0], seen[1], seen[2], seen[3], seen[4], seen[5]);
    return 0;
}

/* bulk32 and bulk33: n ranges of `pages` written pages made read-only by one mprotect. */
static int bulk(long n, int pages)
{
    long faulted = 0;
    for (long i = 0; i < n; i++) {
        unsigned char *p = mmap(NULL, (size_t)pages * PG, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (int k = 0; k < pages; k++)
            p[k * PG] = (unsigned char)(k + 1);
        if (mprotect(p, (size_t)pages * PG, PROT_READ) != 0)
            return 1;
        faulted += faults(p, 1) + faults(p + (size_t)(pages - 1) * PG, 1);
        if (p[0] != 1 || p[(size_t)(pages - 1) * PG] != pages)
            return 1;
        munmap(p, (size_t)pages * PG);
    }
    printf("bulk%d: %ld ranges, %ld writes faulted\n", pages, n, faulted);
    return 0;
}

/* working: n rounds over a working set of 2048 pages. */
static int working(long n)
{
    enum { PAGES = 2048 };
    unsigned char *p =
        mmap(NULL, (size_t)PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (int k = 0; k < PAGES; k++)
        p[(size_t)k * PG] = (unsigned char)k;
    unsigned long sum = 0;
    for (long i = 0; i < n; i++)
        for (int k = 0; k < PAGES; k++)
            sum += ((volatile unsigned char *)p)[(size_t)k * PG];
    printf("working: %ld rounds over %d pages, sum %lu\n", n, PAGES, sum);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (argc != 3) {
        fprintf(stderr,
                "usage: tlbflush upgrade|downgrade|bulk32|bulk33|working|pingpong|stale NNN\n");
        return 2;
    }
    long n = atol(argv[2]);
    if (strcmp(argv[1], "upgrade") == 0)
        return upgrade(n, 0);
    if (strcmp(argv[1], "downgrade") == 0)
        return upgrade(n, 1);
    if (strcmp(argv[1], "bulk32") == 0)
        return bulk(n, 32);
    if (strcmp(argv[1], "bulk33") == 0)
        return bulk(n, 33);
    if (strcmp(argv[1], "working") == 0)
        return working(n);
    if (strcmp(argv[1], "pingpong") == 0)
        return pingpong(n);
    if (strcmp(argv[1], "stale") == 0)
        return stale(n);
    fprintf(stderr, "usage: tlbflush upgrade|downgrade|bulk32|bulk33|working|pingpong|stale NNN\n");
    return 2;
}
