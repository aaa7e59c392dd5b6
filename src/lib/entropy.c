/* The guest's random bytes: the host's getrandom, or a splitmix64 stream of a seed (see
 * vmemu/entropy.h). */
#include "vmemu/entropy.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* From now on e gives the stream of seed (see the header). */
void entropy_seed(struct entropy *e, uint64_t seed)
{
    e->seeded = true;
    e->state = seed;
}

/* The next 64 bits of the stream (splitmix64). */
static uint64_t entropy_next(struct entropy *e)
{
    uint64_t z = (e->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fills buf with random bytes (see the header). */
ssize_t entropy_fill(struct entropy *e, void *buf, size_t n, unsigned flags)
{
    if (!e->seeded) {
        ssize_t got = getrandom(buf, n, flags);
        return got < 0 ? -errno : got;
    }
    unsigned char *out = buf;
    for (size_t done = 0; done < n; done += sizeof(uint64_t)) {
        uint64_t word = entropy_next(e);
        size_t k = n - done < sizeof(word) ? n - done : sizeof(word);
        memcpy(out + done, &word, k);
    }
    return (ssize_t)n;
}
