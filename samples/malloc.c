/* malloc: allocator churn, as a real program does it.
 * Demonstrates: the heap growing through brk (small blocks), large blocks (>= 256 KiB,
 * above glibc's 128 KiB M_MMAP_THRESHOLD) served by mmap and returned by munmap, frees
 * that let the heap be reused, and realloc that grows and moves blocks. Every block is
 * filled with a pattern and checked; the output is a checksum that depends only on the
 * (deterministic, LCG-driven) sequence of operations, not on addresses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS  512  /* live blocks at any time */
#define ROUNDS 8192 /* allocate/free/realloc operations */

struct block {
    unsigned char *p;  /* the block, NULL when the slot is empty */
    size_t len;        /* its size in bytes */
    unsigned char tag; /* byte it is filled with */
};

static struct block slots[SLOTS];
static uint32_t lcg_state = 12345;

/* Deterministic pseudo-random numbers (Numerical Recipes LCG). */
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

/* Sizes: mostly small, some medium, a few large enough to be mmap'ed. */
static size_t pick_size(void)
{
    uint32_t r = lcg() % 100;

    if (r < 80)
        return 1 + lcg() % 512;
    if (r < 97)
        return 512 + lcg() % (32 * 1024);
    return (256 * 1024) + lcg() % (768 * 1024);
}

/* Returns 1 if every byte of b is its tag, and adds the block to *sum. */
static int check_block(const struct block *b, uint64_t *sum)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->p[i] != b->tag)
            return 0;
    *sum = *sum * 31 + b->len * b->tag;
    return 1;
}

int main(void)
{
    uint64_t sum = 0;
    unsigned long allocs = 0, frees = 0, reallocs = 0, bad = 0;

    for (int round = 0; round < ROUNDS; round++) {
        struct block *b = &slots[lcg() % SLOTS];
        uint32_t op = lcg() % 4;

        if (b->p == NULL) {
            b->len = pick_size();
            b->tag = (unsigned char)(1 + lcg() % 255);
            b->p = malloc(b->len);
            if (b->p == NULL)
                return 1;
            memset(b->p, b->tag, b->len);
            allocs++;
        } else if (op == 0) {
            size_t len = pick_size();
            unsigned char *np;
            bad += !check_block(b, &sum);
            np = realloc(b->p, len);
            if (np == NULL)
                return 1;
            if (len > b->len)
                memset(np + b->len, b->tag, len - b->len);
            b->p = np;
            b->len = len;
            reallocs++;
        } else {
            bad += !check_block(b, &sum);
            free(b->p);
            b->p = NULL;
            frees++;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p != NULL) {
            bad += !check_block(&slots[i], &sum);
            free(slots[i].p);
        }
    }
    printf("allocs %lu frees %lu reallocs %lu\n", allocs, frees, reallocs);
    printf("corrupted blocks: %lu\n", bad);
    printf("checksum: %016llx\n", (unsigned long long)sum);
    return bad != 0;
}
