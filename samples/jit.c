/* jit: a program that writes machine code and runs it, as JIT compilers do (LuaJIT,
 * JavaScript engines, qemu-user's translator). Each case rewrites code that already ran
 * and checks that the new code is what runs:
 *   same-page   two functions in one page, both rewritten before either runs again
 *   in-place    one function's constant patched in place, one byte at a time
 *   far-apart   64 functions spread over 16 pages, all rewritten, then all run
 *   two-views   a memfd page mapped twice, written through its read-write view and run
 *               through its read-execute one (W^X JITs)
 * Prints per case the rounds and how many calls returned another value than the code
 * written says (0 natively); exits 1 if any did. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(void);

/* Writes "mov eax, v; ret" at p. */
static void emit(uint8_t *p, int32_t v)
{
    uint8_t code[6] = {0xb8, 0, 0, 0, 0, 0xc3};
    memcpy(code + 1, &v, sizeof(v));
    memcpy(p, code, sizeof(code));
}

static int call(uint8_t *p)
{
    fn_t f;
    memcpy(&f, &p, sizeof(f));
    return f();
}

int main(void)
{
    uint8_t *buf = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    int total = 0;

    int wrong = 0;
    for (int r = 1; r <= 100; r++) {
        emit(buf, r);
        emit(buf + 256, -r);
        wrong += call(buf) != r;
        wrong += call(buf + 256) != -r;
    }
    printf("same-page: 100 rounds, %d wrong\n", wrong);
    total += wrong;

    wrong = 0;
    emit(buf + 512, 0);
    for (int r = 1; r <= 100; r++) {
        int32_t v = r * 0x01010101;
        for (int k = 0; k < 4; k++)
            buf[512 + 1 + k] = (uint8_t)(v >> (8 * k));
        wrong += call(buf + 512) != v;
    }
    printf("in-place: 100 rounds, %d wrong\n", wrong);
    total += wrong;

    wrong = 0;
    for (int r = 1; r <= 20; r++) {
        for (int i = 0; i < 64; i++)
            emit(buf + i * 1024, r * 1000 + i);
        for (int i = 0; i < 64; i++)
            wrong += call(buf + i * 1024) != r * 1000 + i;
    }
    printf("far-apart: 20 rounds, %d wrong\n", wrong);
    total += wrong;

    wrong = 0;
    int fd = memfd_create("jit", 0);
    if (fd < 0 || ftruncate(fd, 4096) < 0) {
        perror("memfd");
        return 2;
    }
    uint8_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *x = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (w == MAP_FAILED || x == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    for (int r = 1; r <= 100; r++) {
        emit(w, r);
        emit(w + 256, -r);
        wrong += call(x) != r;
        wrong += call(x + 256) != -r;
    }
    printf("two-views: 100 rounds, %d wrong\n", wrong);
    total += wrong;
    return total != 0;
}
