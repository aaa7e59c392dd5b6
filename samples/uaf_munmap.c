/* uaf_munmap: maps two anonymous pages, writes into the first, unmaps both, then reads the
 * first again (a use after munmap).
 * Demonstrates: munmap removes the area and its pages; the next access to the range is a
 * fault on an address where nothing is mapped: SIGSEGV with si_code SEGV_MAPERR. vmemu's
 * crash report names the munmap call that removed the range (its RIP and syscall number).
 * The mapping is placed with a hint far from everything else so that nothing reuses it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define HINT ((void *)(uintptr_t)0x7e0000000000ULL) /* the same region as wild.c */
#define LEN  8192

int main(void)
{
    volatile unsigned char *p =
        mmap(HINT, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    p[16] = 42;
    printf("mapped, wrote %u, unmapping\n", p[16]);
    fflush(stdout);
    if (munmap((void *)p, LEN) != 0) {
        perror("munmap");
        return 1;
    }
    printf("read after munmap: %u\n", p[16]);
    return 0;
}
