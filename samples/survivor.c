/* survivor: `survivor [PAGES [ROUNDS]]` (defaults 1024 and 8): data that must survive many
 * swap-outs. It fills PAGES anonymous pages with a pattern derived from (page, round 0, word),
 * then in every round r = 1..ROUNDS rewrites the pages p with p % STRIDE == r % STRIDE (a
 * subset that shifts from round to round) with the pattern of (p, r), and verifies every word
 * of every page against the pattern of the round that last wrote it. Under a small frame pool
 * each round swaps every page out and back in, some of them dirty, some clean. Prints
 * "ok CHECKSUM" (a checksum of the final contents), or "corrupt page N round R word W" at
 * the first wrong word and exits 1. The pattern is a fixed hash: no randomness, no state
 * apart from the data. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE_SIZE  4096UL
#define PAGE_WORDS (PAGE_SIZE / sizeof(uint64_t))
#define STRIDE     3 /* a round rewrites one page in STRIDE */

/* The word w of page p as written in round r (splitmix64's finaliser of the three). */
static uint64_t pattern(unsigned long p, unsigned long r, unsigned long w)
{
    uint64_t x = ((uint64_t)p << 32) ^ ((uint64_t)r << 16) ^ w;

    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The last round <= r that wrote page p (0: only the initial fill). */
static unsigned long last_round(unsigned long p, unsigned long r)
{
    unsigned long back = (r % STRIDE + STRIDE - p % STRIDE) % STRIDE;

    return back >= r ? 0 : r - back;
}

static void fill(uint64_t *page, unsigned long p, unsigned long r)
{
    for (unsigned long w = 0; w < PAGE_WORDS; w++)
        page[w] = pattern(p, r, w);
}

int main(int argc, char **argv)
{
    unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
    uint64_t sum = 0;
    uint64_t *data;

    if (pages == 0) {
        fprintf(stderr, "usage: survivor [PAGES [ROUNDS]] (PAGES >= 1)\n");
        return 2;
    }
    data =
        mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (unsigned long p = 0; p < pages; p++)
        fill(data + p * PAGE_WORDS, p, 0);
    for (unsigned long r = 1; r <= rounds; r++) {
        for (unsigned long p = r % STRIDE; p < pages; p += STRIDE)
            fill(data + p * PAGE_WORDS, p, r);
        for (unsigned long p = 0; p < pages; p++) {
            const uint64_t *page = data + p * PAGE_WORDS;
            unsigned long lr = last_round(p, r);

            for (unsigned long w = 0; w < PAGE_WORDS; w++) {
                if (page[w] != pattern(p, lr, w)) {
                    printf("corrupt page %lu round %lu word %lu\n", p, r, w);
                    return 1;
                }
            }
        }
    }
    for (unsigned long i = 0; i < pages * PAGE_WORDS; i++)
        sum = (sum ^ data[i]) * 0x100000001b3ULL;
    printf("ok %016llx\n", (unsigned long long)sum);
    return 0;
}
