/* seqscan: `seqscan [PAGES]` (default 2048) is a sequential scan larger than memory: it maps
 * PAGES anonymous pages, writes them in order (eight words spread over each page, values
 * from a fixed LCG), then reads them back in order once and prints a checksum of what it
 * read, which must equal the native run's. Under a frame pool smaller than PAGES, fifo and
 * lru evict every page before the read pass reaches it (each page is swapped out once and
 * swapped in once), the textbook case where recency does not help. tests/swap_e2e.py runs
 * it under every replacement policy and checks those counts. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sample_lcg.h"

#define PAGE_SIZE  4096UL
#define PAGE_WORDS (PAGE_SIZE / sizeof(uint64_t))
#define SPREAD     8 /* words written per page, PAGE_WORDS / SPREAD apart */

static uint64_t lcg_state = 7; /* state of sample_lcg_next(): its seed */

int main(int argc, char **argv)
{
    unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
    uint64_t sum = 0;
    uint64_t *p;

    if (pages == 0) {
        fprintf(stderr, "usage: seqscan [PAGES] (PAGES >= 1)\n");
        return 2;
    }
    p = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (unsigned long i = 0; i < pages; i++)
        for (unsigned long w = 0; w < SPREAD; w++)
            p[i * PAGE_WORDS + w * (PAGE_WORDS / SPREAD)] = sample_lcg_next(&lcg_state);
    for (unsigned long i = 0; i < pages; i++)
        for (unsigned long w = 0; w < SPREAD; w++)
            sum = sum * 1099511628211ULL + p[i * PAGE_WORDS + w * (PAGE_WORDS / SPREAD)];
    printf("seqscan pages %lu checksum %016llx\n", pages, (unsigned long long)sum);
    return 0;
}
