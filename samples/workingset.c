/* workingset: `workingset [PAGES [PASSES]]` (defaults 1024 and 3) maps PAGES anonymous pages
 * and touches every page once per pass, in order: the first pass writes two words of each
 * page (values from a fixed LCG), every later pass reads them back into a checksum and
 * writes them updated. With a frame pool (--mem) larger than PAGES plus vmemu's overhead the
 * working set fits and only the first pass faults; with a smaller pool every pass evicts the
 * pages the next pass needs (thrashing). Each page is touched exactly PASSES times (no
 * extra verification pass). Prints a checksum of what the later passes read, which must
 * equal the native run's: tests/swap_e2e.py runs it under every replacement policy. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sample_lcg.h"

#define PAGE_SIZE  4096UL
#define PAGE_WORDS (PAGE_SIZE / sizeof(uint64_t))

static uint64_t lcg_state = 1; /* state of sample_lcg_next(): its seed */

int main(int argc, char **argv)
{
    unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    unsigned long passes = argc > 2 ? strtoul(argv[2], NULL, 10) : 3;
    uint64_t sum = 0;
    uint64_t *p;

    if (pages == 0 || passes == 0) {
        fprintf(stderr, "usage: workingset [PAGES [PASSES]] (both >= 1)\n");
        return 2;
    }
    p = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (unsigned long i = 0; i < pages; i++) {
        p[i * PAGE_WORDS] = sample_lcg_next(&lcg_state);
        p[i * PAGE_WORDS + PAGE_WORDS - 1] = sample_lcg_next(&lcg_state);
        sum += p[i * PAGE_WORDS];
    }
    for (unsigned long pass = 1; pass < passes; pass++) {
        for (unsigned long i = 0; i < pages; i++) {
            uint64_t *first = &p[i * PAGE_WORDS], *last = first + PAGE_WORDS - 1;

            sum = (sum ^ *first) * 31 + *last;
            *first += pass;
            *last ^= sum;
        }
    }
    printf("workingset pages %lu passes %lu checksum %016llx\n", pages, passes,
           (unsigned long long)sum);
    return 0;
}
