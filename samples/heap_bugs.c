/* One heap bug per mode, for the heap checker (--check heap[,guard]); tests/heap_e2e.py
 * runs each mode under glibc and musl and checks the exact report. The helpers are
 * noinline so that the reported frames are make_block / drop_block / main. Modes:
 * clean, churn, reuse, overflow, underflow, uaf, double, invalid, middle, realloc_freed, leak,
 * fork, maps, thread, and the accesses of touch(): read1-after, read1-before, write1-after,
 * write1-before, read8-after, read8-before, write8-after, write8-before, read-freed,
 * write-freed, and the syscall copies of sys_touch(): sys-write-after, sys-read-after,
 * sys-read-freed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Heavy churn, no bug: `churn [ROUNDS]` (default 300,000) rounds of an allocation of 1 to
 * 200 bytes (or a realloc), up to 4,000 live, every byte written and read back, and a
 * string through strlen and strchr; all freed; prints a checksum. */
static int churn(int rounds)
{
    enum { SLOTS = 4000 };
    static unsigned char *live[SLOTS];
    static size_t len[SLOTS];
    uint64_t x = 88172645463325252ULL, sum = 0;
    for (int r = 0; r < rounds; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t i = x % SLOTS, n = 1 + (x >> 20) % 200;
        if (live[i]) {
            for (size_t k = 0; k < len[i]; k++)
                sum += live[i][k] ^ (unsigned char)(k + i);
            if ((x >> 40) % 8 == 0) {
                live[i] = realloc(live[i], n);
                for (size_t k = len[i] < n ? len[i] : n; k < n; k++)
                    live[i][k] = (unsigned char)(k + i);
                len[i] = n;
                continue;
            }
            free(live[i]);
        }
        live[i] = malloc(n);
        len[i] = n;
        for (size_t k = 0; k < n; k++)
            live[i][k] = (unsigned char)(k + i);
        char *str = malloc(n + 1); /* libc's string functions read whole words */
        memset(str, 'a', n);
        str[n] = '\0';
        sum += strlen(str) + (strchr(str, 'b') == NULL);
        free(str);
    }
    for (size_t i = 0; i < SLOTS; i++)
        free(live[i]);
    printf("churn %llu\n", (unsigned long long)sum);
    return 0;
}

/* One bad access of a block by mode (see the header): a 13-byte block for the 1-byte
 * accesses (the byte after it, or the byte before it), a 16-byte one for the 8-byte
 * accesses (the 8 bytes after or before it), a freed 16-byte block for the rest. The
 * index comes from argc so that the compiler cannot see the bug. Returns 0, 2 for an
 * unknown mode. */
__attribute__((noinline)) static int touch(const char *m, int argc)
{
    volatile char *p;
    int k = argc - 2; /* 0 */
    int size = strstr(m, "1-") ? 13 : 16;
    p = make_block((size_t)size);
    if (strcmp(m, "read1-after") == 0)
        return p[13 + k] == 'x';
    if (strcmp(m, "read1-before") == 0)
        return p[k - 1] == 'x';
    if (strcmp(m, "write1-after") == 0)
        p[13 + k] = 'x';
    else if (strcmp(m, "write1-before") == 0)
        p[k - 1] = 'x';
    else if (strcmp(m, "read8-after") == 0)
        return *(volatile uint64_t *)(p + 16 + k) == 1;
    else if (strcmp(m, "read8-before") == 0)
        return *(volatile uint64_t *)(p - 8 + k) == 1;
    else if (strcmp(m, "write8-after") == 0)
        *(volatile uint64_t *)(p + 16 + k) = 1;
    else if (strcmp(m, "write8-before") == 0)
        *(volatile uint64_t *)(p - 8 + k) = 1;
    else if (strcmp(m, "read-freed") == 0) {
        drop_block((char *)p);
        return p[8 + k] == 'x';
    } else if (strcmp(m, "write-freed") == 0) {
        drop_block((char *)p);
        p[8 + k] = 'x';
        return 0;
    } else
        return 2;
    drop_block((char *)p);
    return 0;
}

/* One bad copy by a syscall (what ASan's interceptors check): sys-write-after writes 20
 * bytes of a 13-byte block into a pipe (7 past its end), sys-read-after reads 16 bytes from
 * the pipe into a 13-byte block, sys-read-freed reads 8 bytes into a freed 16-byte block.
 * Returns 0, 1 when a call fails, 2 for an unknown mode. */
__attribute__((noinline)) static int sys_touch(const char *m, int argc)
{
    static const char bytes[16] = "0123456789abcdef";
    int fd[2], k = argc - 2; /* 0 */
    char *p = make_block(strcmp(m, "sys-read-freed") == 0 ? 16 : 13), out[32];
    memset(p, 'a', 13);
    if (pipe(fd) != 0)
        return 1;
    int ok;
    if (strcmp(m, "sys-write-after") == 0)
        ok = write(fd[1], p, (size_t)(20 + k)) == 20 && read(fd[0], out, sizeof(out)) == 20;
    else if (strcmp(m, "sys-read-after") == 0)
        ok = write(fd[1], bytes, 16) == 16 && read(fd[0], p, (size_t)(16 + k)) == 16;
    else if (strcmp(m, "sys-read-freed") == 0) {
        drop_block(p);
        ok = write(fd[1], bytes, 8) == 8 && read(fd[0], p, (size_t)(8 + k)) == 8;
        p = NULL;
    } else
        return 2;
    close(fd[0]);
    close(fd[1]);
    if (p)
        drop_block(p);
    return ok ? 0 : 1;
}

/* A thread's one-byte overread: the report names the thread's id. */
static void *thread_main(void *arg)
{
    volatile char *p = make_block(13);
    int k = *(int *)arg;
    if (p[13 + k] == 'x')
        k++;
    drop_block((char *)p);
    return NULL;
}

/* The parent allocates a block and forks; the child reads the inherited block and frees
 * it twice (one double free, the child's); the parent, whose copy the child's frees do
 * not touch, still writes to the block and frees it once. Returns main's status. */
__attribute__((noinline)) static int fork_inherited(void)
{
    char *p = make_block(24);
    strcpy(p, "inherited");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        int ok = strcmp(p, "inherited") == 0;
        drop_block(p);
        drop_block(p);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return 1;
    p[0] = 'I';
    printf("child status %d, block %s\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, p);
    drop_block(p);
    return 0;
}

/* Prints the lines of /proc/self/maps that name the heap checker's area (none natively),
 * with one block live. Returns main's status. */
__attribute__((noinline)) static int print_checker_maps(void)
{
    char line[512];
    char *p = make_block(100);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "[vmemu heap]"))
            fputs(line, stdout);
    fclose(f);
    drop_block(p);
    return 0;
}

/* Memory freed in one size reused for another, no bug: `reuse PHASES`. Phase 1 allocates
 * 40,000 blocks of 80 bytes, writes them and frees them all; phase 2 (PHASES 2) then
 * allocates 2,000 blocks of 1,000 bytes, which fit in what phase 1 released. */
static int reuse(int phases)
{
    enum { SMALL = 40000, BIG = 2000 };
    static char *v[SMALL];
    unsigned long sum = 0;
    for (int i = 0; i < SMALL; i++) {
        v[i] = malloc(80);
        memset(v[i], i & 0x7f, 80);
    }
    for (int i = 0; i < SMALL; i++) {
        sum += (unsigned char)v[i][79];
        free(v[i]);
    }
    for (int i = 0; phases > 1 && i < BIG; i++) {
        v[i] = malloc(1000);
        memset(v[i], i & 0x7f, 1000);
        sum += (unsigned char)v[i][999];
    }
    for (int i = 0; phases > 1 && i < BIG; i++)
        free(v[i]);
    printf("reuse %d %lu\n", phases, sum);
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "clean";
    char *p;
    if (strcmp(m, "clean") == 0)
        return clean();
    if (strcmp(m, "churn") == 0)
        return churn(argc > 2 ? atoi(argv[2]) : 300000);
    if (strcmp(m, "reuse") == 0)
        return reuse(argc > 2 ? atoi(argv[2]) : 2);
    if (strncmp(m, "read", 4) == 0 || strncmp(m, "write", 5) == 0) {
        if (touch(m, argc) == 2) {
            fprintf(stderr, "unknown mode %s\n", m);
            return 2;
        }
        printf("done %s\n", m);
        return 0;
    }
    if (strncmp(m, "sys-", 4) == 0) {
        int rc = sys_touch(m, argc);
        if (rc != 0) {
            fprintf(stderr, rc == 2 ? "unknown mode %s\n" : "%s: a call failed\n", m);
            return rc;
        }
        printf("done %s\n", m);
        return 0;
    }
    if (strcmp(m, "thread") == 0) {
        pthread_t t;
        int k = argc - 2;
        if (pthread_create(&t, NULL, thread_main, &k) != 0 || pthread_join(t, NULL) != 0)
            return 1;
        printf("done thread\n");
        return 0;
    }
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
    } else if (strcmp(m, "fork") == 0) {
        if (fork_inherited() != 0)
            return 1;
    } else if (strcmp(m, "maps") == 0) {
        if (print_checker_maps() != 0)
            return 1;
    } else {
        fprintf(stderr, "unknown mode %s\n", m);
        return 2;
    }
    printf("done %s\n", m);
    return 0;
}
