/* zeropage: what a read fault of untouched anonymous memory does, for
 * tests/zeropage_e2e.py. Reads one byte of each of 64 fresh pages, then writes each, and
 * prints the minor faults of each phase (getrusage) and how much the resident set grew
 * after the reads (VmRSS in /proc/self/status): a kernel that maps the shared zero page
 * takes 64 faults for the reads and 64 more for the writes, with no growth after the reads;
 * one that allocates a page on the read takes 64 and 0, and grows by 256 KiB. */
#include <sys/mman.h>
#include <sys/resource.h>

#include "sample_check.h"

#define PAGES 64

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int main(void)
{
    volatile char *p =
        mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    long rss0 = rss_kb(), f0 = minor_faults();
    char sum = 0;
    for (int i = 0; i < PAGES; i++)
        sum += p[i * PG];
    long f1 = minor_faults(), rss1 = rss_kb(), f2 = minor_faults();
    for (int i = 0; i < PAGES; i++)
        p[i * PG] = (char)(sum + 1);
    long f3 = minor_faults();
    printf("read faults %ld, write faults %ld\n", f1 - f0, f3 - f2);
    printf("resident set after the reads: %s\n",
           rss1 - rss0 >= PAGES * 4 ? "grew by the pages read" : "did not grow");
    return 0;
}
