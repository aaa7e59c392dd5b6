/* bss: a 1 GiB zero-initialised static array, touched in ways whose fault counts can be
 * computed from the code alone (tests/e2e.py checks them exactly).
 *   bss sparse [N]  reads one byte in each of N pages 64 pages apart (default and at most
 *                   4096, i.e. across the whole array): N zero-page faults, no new frame
 *   bss write N     writes one byte in each of the first N pages: N new anonymous frames
 *   bss full        writes one byte in every page (262144 pages, 1 GiB of frames)
 *   bss none        the same code path as `full`, writing no page
 * Compare runs whose arguments have the same length ("write 1000" with "write 0000",
 * "full" with "none"): the initial stack then has the same layout, and stack_prefault()
 * makes the stack pages touched independent of the values printed, so the only difference
 * in faults is the pages of the array. Prints the pages touched and a checksum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE    4096UL
#define BIG_BYTES    (1UL << 30)
#define BIG_PAGES    (BIG_BYTES / PAGE_SIZE)
#define SPARSE_STEP  64 /* pages between two reads in sparse mode */
#define SPARSE_PAGES (BIG_PAGES / SPARSE_STEP)

/* Page-aligned so that every page of the array belongs to it alone. */
static volatile unsigned char big[BIG_BYTES] __attribute__((aligned(4096)));

static int usage(void)
{
    fprintf(stderr, "usage: bss sparse [N<=%lu] | bss write N | bss full | bss none\n",
            SPARSE_PAGES);
    return 2;
}

/* Writes the 64 KiB of stack below main's frame, a walk whose depth never changes. How
 * deep printf's frames reach depends on the values it prints (0 takes another path than
 * 1000), and near a page boundary that decides whether one more stack page is faulted in;
 * after this walk every later frame lands in a page already present. */
static void __attribute__((noinline)) stack_prefault(void)
{
    volatile unsigned char pad[64 * 1024];

    for (size_t i = 0; i < sizeof(pad); i += 512)
        pad[i] = 0;
}

/* Reads one byte in each of n pages, SPARSE_STEP pages apart; returns their sum. */
static unsigned long read_sparse(unsigned long n)
{
    unsigned long sum = 0;

    for (unsigned long i = 0; i < n; i++)
        sum += big[i * SPARSE_STEP * PAGE_SIZE];
    return sum;
}

/* Writes one byte in each of the first n pages; returns the sum of the bytes written. */
static unsigned long write_pages(unsigned long n)
{
    unsigned long sum = 0;

    for (unsigned long pg = 0; pg < n; pg++) {
        big[pg * PAGE_SIZE] = (unsigned char)(pg | 1);
        sum += big[pg * PAGE_SIZE];
    }
    return sum;
}

int main(int argc, char **argv)
{
    unsigned long pages, sum;

    stack_prefault();
    if (argc >= 2 && strcmp(argv[1], "sparse") == 0) {
        pages = argc >= 3 ? strtoul(argv[2], NULL, 10) : SPARSE_PAGES;
        if (pages > SPARSE_PAGES)
            return usage();
        sum = read_sparse(pages);
    } else if (argc >= 3 && strcmp(argv[1], "write") == 0) {
        pages = strtoul(argv[2], NULL, 10);
        if (pages > BIG_PAGES)
            return usage();
        sum = write_pages(pages);
    } else if (argc >= 2 && (strcmp(argv[1], "full") == 0 || strcmp(argv[1], "none") == 0)) {
        pages = strcmp(argv[1], "full") == 0 ? BIG_PAGES : 0;
        sum = write_pages(pages);
    } else {
        return usage();
    }
    printf("pages touched: %lu\nchecksum: %lu\n", pages, sum);
    return 0;
}
