/* One heap bug per mode, for the heap checker (--check heap[,guard]); tests/heap_e2e.py
 * runs each mode under glibc and musl and checks the exact report. The helpers are
 * noinline so that the reported frames are make_block / drop_block / main. Modes:
 * clean, overflow, underflow, uaf, double, invalid, middle, realloc_freed, leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile sink; /* keeps the compiler from removing the calls */
static char not_heap[32];   /* memory malloc never returned */

__attribute__((noinline)) static char *make_block(size_t n)
{
    char *p = malloc(n);
    sink = p;
    return p;
}

__attribute__((noinline)) static void drop_block(char *p)
{
    free(p);
    sink = NULL;
}

/* Two blocks of 40 bytes and one of 100 bytes that nothing points to afterwards. */
__attribute__((noinline)) static void leak_some(void)
{
    for (int i = 0; i < 2; i++)
        make_block(40)[0] = 1;
    make_block(100)[0] = 2;
    sink = NULL;
}

/* Overwrites the dead stack below the caller so no stale pointer stays there. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[4096];
    memset((char *)pad, 0, sizeof(pad));
}

/* Lists, realloc, calloc and the aligned allocators, all freed: no report. */
static int clean(void)
{
    long sum = 0;
    char *s = make_block(8);
    strcpy(s, "1234567");
    for (int i = 1; i <= 100; i++) {
        s = realloc(s, 8 + (size_t)i * 10);
        s[i * 10] = (char)i;
        sum += s[i * 10];
    }
    free(s);
    int *z = calloc(1000, sizeof(int));
    for (int i = 0; i < 1000; i++)
        sum += z[i];
    free(z);
    void *a = aligned_alloc(64, 128), *b = NULL;
    if (posix_memalign(&b, 256, 100) != 0 || ((unsigned long)a & 63) || ((unsigned long)b & 255))
        return 1;
    free(a);
    free(b);
    printf("clean %ld\n", sum);
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "clean";
    char *p;
    if (strcmp(m, "clean") == 0)
        return clean();
    if (strcmp(m, "overflow") == 0) {
        p = make_block(13);
        p[13 + argc - 2] = 'x'; /* one byte after the block */
        drop_block(p);
    } else if (strcmp(m, "underflow") == 0) {
        p = make_block(16);
        p[argc - 3] = 'x'; /* one byte before the block */
        drop_block(p);
    } else if (strcmp(m, "uaf") == 0) {
        p = make_block(16);
        drop_block(p);
        printf("%d\n", p[4]);
    } else if (strcmp(m, "double") == 0) {
        p = make_block(24);
        drop_block(p);
        drop_block(p);
    } else if (strcmp(m, "invalid") == 0) {
        drop_block(sink = not_heap);
    } else if (strcmp(m, "middle") == 0) {
        p = make_block(32);
        drop_block(p + 8);
    } else if (strcmp(m, "realloc_freed") == 0) {
        p = make_block(16);
        drop_block(p);
        sink = realloc(p, 32);
    } else if (strcmp(m, "leak") == 0) {
        leak_some();
        scrub_stack();
    } else {
        fprintf(stderr, "unknown mode %s\n", m);
        return 2;
    }
    printf("done %s\n", m);
    return 0;
}
