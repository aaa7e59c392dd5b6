/* faults: `faults N [R]` maps N fresh anonymous pages and writes one byte in each, then
 * prints how many minor faults getrusage() saw during that loop. Each first write to an
 * untouched private anonymous page is one minor fault, so the delta is exactly N, natively
 * and under vmemu (whose getrusage reports its own fault counters). With R > 1 it unmaps
 * and does it again R times: the later rounds reuse frames that are already resident
 * (the benchmark's "demand-zero on resident frames" cost); the delta printed is for all
 * rounds, N * R. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PAGE_SIZE 4096UL

int main(int argc, char **argv)
{
    struct rusage before, after;
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
    volatile unsigned char *p;
    long delta = 0;

    if (n == 0 || rounds == 0) {
        fprintf(stderr, "usage: faults N [ROUNDS] (N, ROUNDS >= 1)\n");
        return 2;
    }
    for (unsigned long r = 0; r < rounds; r++) {
        p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        /* A host with transparent huge pages "always" would fill 512 pages per fault; the
         * result is ignored because only the hint matters. */
        (void)madvise((void *)p, n * PAGE_SIZE, MADV_NOHUGEPAGE);

        getrusage(RUSAGE_SELF, &before);
        for (unsigned long i = 0; i < n; i++)
            p[i * PAGE_SIZE] = 1;
        getrusage(RUSAGE_SELF, &after);
        delta += after.ru_minflt - before.ru_minflt;
        munmap((void *)p, n * PAGE_SIZE);
    }

    printf("pages: %lu\nminflt delta: %ld\n", n * rounds, delta);
    return 0;
}
