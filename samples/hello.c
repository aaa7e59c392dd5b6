/* hello: the smallest useful guest.
 * Demonstrates: program start-up (initial stack, argc/argv, auxv consumed by libc),
 * buffered stdout through write(2), exit status 0, and that the FPU/SSE state is set up
 * as Linux leaves it (printf of a double goes through x87/SSE code in libc).
 * Output: "hello, world", one line per argument, then 3.14159. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello, world\n");
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    printf("%.5f\n", 3.14159265);
    return 0;
}
