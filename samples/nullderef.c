/* nullderef: writes through a NULL pointer.
 * Demonstrates: an access to the unmapped first page. Linux kills the program with
 * SIGSEGV (si_code SEGV_MAPERR, address 0); vmemu does the same (exit 139) and prints a
 * crash report naming a NULL pointer write. */
#include <stdio.h>

int main(void)
{
    /* Both volatile: the compiler may neither prove p is NULL nor drop the store. */
    volatile int *volatile p = NULL;

    printf("writing through a NULL pointer\n");
    fflush(stdout);
    *p = 1;
    printf("still alive?\n");
    return 0;
}
