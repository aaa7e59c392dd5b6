/* heapprof: allocation sites with known memory behaviour, for --profile heap
 * (tests/heapprof_e2e.py). Site A (site_a) allocates 8 MiB in 4 KiB blocks and writes
 * every byte of them; site B (site_b) allocates and frees churn; site C (site_c) allocates
 * one 4 MiB block and writes one byte in each page of its first half. The heap peaks with
 * A and C live; A is freed, then a thread allocates (site D, thread_fn) and a forked
 * child writes C's touched pages again (copy on write) before it exits. The program prints
 * what it knows itself: the bytes it holds at its peak, the minor faults its own getrusage
 * counted around site A's loop and the pages site C touched. stdout is unbuffered so that
 * stdio allocates nothing: every live block at the peak is one of the program's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define A_BLOCKS 2048
#define A_SIZE   4096
#define C_SIZE   (4UL << 20)
#define PG       4096UL

static char *a_blocks[A_BLOCKS];
static char *c_block;

/* Keeps the compiler from folding a malloc and free pair away. */
static void use(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

__attribute__((noinline)) static void site_a(void)
{
    for (int i = 0; i < A_BLOCKS; i++) {
        a_blocks[i] = malloc(A_SIZE);
        memset(a_blocks[i], i & 0xff, A_SIZE);
    }
}

__attribute__((noinline)) static void site_b(void)
{
    unsigned x = 12345;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        char *p = malloc(16 + (x >> 16) % 2000);
        p[0] = 1;
        use(p);
        free(p);
    }
}

__attribute__((noinline)) static unsigned long site_c(void)
{
    c_block = malloc(C_SIZE);
    unsigned long pages = 0;
    for (unsigned long off = 0; off < C_SIZE / 2; off += PG, pages++)
        c_block[off] = 1;
    return pages;
}

static void *thread_fn(void *arg)
{
    (void)arg;
    char *keep = malloc(3000), *drop = malloc(5000);
    memset(keep, 1, 3000);
    use(drop);
    free(drop);
    return keep;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Natively THP would fold the heap's faults into a few huge pages on a host set to
     * "always"; vmemu's tests pin madvise mode (vmemu has no PR_SET_THP_DISABLE: EINVAL). */
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    memset(a_blocks, 0, sizeof(a_blocks)); /* its pages faulted now: not site A's */
    /* The code of malloc (its paths that start a new group or extend the heap too),
     * memset and free paged in now: site A's loop then faults on heap pages only. */
    for (int i = 0; i < 64; i++) {
        a_blocks[i] = malloc(A_SIZE);
        memset(a_blocks[i], 0, A_SIZE);
    }
    for (int i = 0; i < 64; i++)
        free(a_blocks[i]);
    long before = minor_faults();
    site_a();
    long a_faults = minor_faults() - before;
    site_b();
    unsigned long c_pages = site_c();
    unsigned long peak = (unsigned long)A_BLOCKS * A_SIZE + C_SIZE;
    printf("peak bytes %lu\n", peak);
    printf("site_a faults %ld\n", a_faults);
    printf("site_c touched pages %lu of %lu\n", c_pages, C_SIZE / PG);
    for (int i = 0; i < A_BLOCKS; i++)
        free(a_blocks[i]);
    pthread_t t;
    void *kept;
    if (pthread_create(&t, NULL, thread_fn, NULL) != 0 || pthread_join(t, &kept) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        long b = minor_faults();
        for (unsigned long off = 0; off < C_SIZE / 2; off += PG)
            c_block[off] = 2;
        printf("child cow faults %ld\n", minor_faults() - b);
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
        return 1;
    printf("done\n");
    return 0;
}
