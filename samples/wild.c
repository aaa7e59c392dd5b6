/* wild: reads from an address where nothing is mapped (0x7e0000000000, far from the
 * image, the heap, the mmap area and the stack).
 * Demonstrates: a read fault outside every area: SIGSEGV with si_code SEGV_MAPERR. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    volatile unsigned char *p = (volatile unsigned char *)(uintptr_t)0x7e0000000000ULL;

    printf("reading an unmapped address\n");
    fflush(stdout);
    printf("read %u\n", *p);
    return 0;
}
