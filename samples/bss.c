/* bss: a 1 GiB zero-initialised static array, touched in ways whose fault counts can be
 * computed from the code alone (the e2e suite checks them exactly).
 *   bss sparse    reads one byte in every 64th page: 4096 reads of untouched pages, each a
 *                 zero-page fault and none a new frame
 *   bss write N   writes one byte in each of the first N pages: exactly N more new
 *                 anonymous frames than `bss write 0`
 *   bss full      writes one byte in every page (262144 pages, 1 GiB of frames)
 * Prints the number of pages touched and a checksum of the bytes read or written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE   4096UL
#define BIG_BYTES   (1UL << 30)
#define BIG_PAGES   (BIG_BYTES / PAGE_SIZE)
#define SPARSE_STEP 64 /* pages between two reads in sparse mode */

/* Page-aligned so that every page of the array belongs to it alone. */
static volatile unsigned char big[BIG_BYTES] __attribute__((aligned(4096)));

static int usage(void)
{
    fprintf(stderr, "usage: bss sparse | bss write N | bss full\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long pages = 0, sum = 0;

    if (argc >= 2 && strcmp(argv[1], "sparse") == 0) {
        for (unsigned long pg = 0; pg < BIG_PAGES; pg += SPARSE_STEP, pages++)
            sum += big[pg * PAGE_SIZE];
    } else if (argc >= 3 && strcmp(argv[1], "write") == 0) {
        unsigned long n = strtoul(argv[2], NULL, 10);
        if (n > BIG_PAGES)
            return usage();
        for (; pages < n; pages++) {
            big[pages * PAGE_SIZE] = (unsigned char)(pages | 1);
            sum += big[pages * PAGE_SIZE];
        }
    } else if (argc >= 2 && strcmp(argv[1], "full") == 0) {
        for (; pages < BIG_PAGES; pages++) {
            big[pages * PAGE_SIZE] = (unsigned char)(pages | 1);
            sum += big[pages * PAGE_SIZE];
        }
    } else {
        return usage();
    }
    printf("pages touched: %lu\nchecksum: %lu\n", pages, sum);
    return 0;
}
