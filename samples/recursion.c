/* recursion: runaway recursion until the stack is exhausted.
 * Demonstrates: the main stack growing down page by page (stack-growth faults) until it
 * reaches RLIMIT_STACK (8 MiB); the next access falls into the guard gap and the program
 * dies with SIGSEGV (SEGV_MAPERR). */
#include <stdio.h>

/* Each frame holds a 256-byte buffer and uses it after the call, so the compiler can
 * neither drop the buffer nor turn the recursion into a loop. */
static unsigned long recurse(unsigned long depth)
{
    volatile unsigned char buf[256];

    buf[0] = (unsigned char)depth;
    buf[255] = (unsigned char)(depth >> 8);
    return recurse(depth + 1) + buf[0] + buf[255];
}

int main(void)
{
    printf("recursing forever\n");
    fflush(stdout);
    printf("%lu\n", recurse(0));
    return 0;
}
