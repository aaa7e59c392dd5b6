/* exec_nx: calls a function pointer that points into a data array.
 * Demonstrates: the no-execute bit. .data is mapped read-write but not executable, so the
 * instruction fetch faults: SIGSEGV with si_code SEGV_ACCERR. The array holds a `ret`
 * (0xc3): if the fetch were wrongly allowed, the call would return and the program would
 * print "still alive" and exit 0. */
#include <stdint.h>
#include <stdio.h>

static unsigned char code[16] = {0xc3}; /* ret */

int main(void)
{
    void (*volatile fn)(void) = (void (*)(void))(uintptr_t)code;

    printf("calling into a data array\n");
    fflush(stdout);
    fn();
    printf("still alive\n");
    return 0;
}
