/* belady: `belady [BLOCKPAGES]` (default 32) plays the reference string of Belady's anomaly,
 * 1 2 3 4 1 2 5 1 2 3 4 5, over 5 blocks of BLOCKPAGES anonymous pages each; one reference
 * touches every page of its block in order, so with FIFO replacement a block behaves like
 * one page of the textbook example: 9 faulting references with room for 3 blocks, 10 with
 * room for 4. The first reference of a block writes its pages (each gets a frame of its
 * own, not the shared zero page); later references read them into a checksum, printed at
 * the end (it must equal the native run's). tests/swap_e2e.py and `vmemu sweep` look for
 * the anomaly: more major faults with more memory under --policy fifo, none under lru. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sample_lcg.h"

#define PAGE_SIZE  4096UL
#define PAGE_WORDS (PAGE_SIZE / sizeof(uint64_t))
#define BLOCKS     5

static const int refs[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};

static uint64_t lcg_state = 3; /* state of sample_lcg_next(): its seed */

int main(int argc, char **argv)
{
    unsigned long bp = argc > 1 ? strtoul(argv[1], NULL, 10) : 32;
    int written[BLOCKS] = {0};
    uint64_t sum = 0;
    uint64_t *p;

    if (bp == 0) {
        fprintf(stderr, "usage: belady [BLOCKPAGES] (BLOCKPAGES >= 1)\n");
        return 2;
    }
    p = mmap(NULL, BLOCKS * bp * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
        int b = refs[r] - 1;
        uint64_t *block = p + (unsigned long)b * bp * PAGE_WORDS;

        for (unsigned long i = 0; i < bp; i++) {
            if (written[b])
                sum = sum * 31 + block[i * PAGE_WORDS];
            else
                block[i * PAGE_WORDS] = sample_lcg_next(&lcg_state);
        }
        written[b] = 1;
    }
    printf("belady blockpages %lu references %zu checksum %016llx\n", bp,
           sizeof(refs) / sizeof(refs[0]), (unsigned long long)sum);
    return 0;
}
