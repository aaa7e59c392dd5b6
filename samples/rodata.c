/* rodata: writes into a string literal through a cast.
 * Demonstrates: string literals live in .rodata, mapped read-only. The write is to a
 * mapped page without write permission: SIGSEGV with si_code SEGV_ACCERR. */
#include <stdio.h>

int main(void)
{
    /* Both volatile: the compiler may neither fold nor drop the store. */
    volatile char *volatile s = (volatile char *)"constant";

    printf("writing into a string literal\n");
    fflush(stdout);
    s[0] = 'C';
    printf("still alive? %c\n", s[0]);
    return 0;
}
