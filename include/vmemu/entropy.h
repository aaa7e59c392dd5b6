/* The guest's random bytes (AT_RANDOM, getrandom): the host's, or with --deterministic a
 * stream that depends only on a seed, so that a program that seeds its own decisions from
 * them (Go's scheduler, hash seeds) runs the same way every time (src/lib/entropy.c). */
#ifndef VMEMU_ENTROPY_H
#define VMEMU_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct entropy {
    bool seeded;    /* bytes come from the stream below, not from the host */
    uint64_t state; /* splitmix64 counter of the stream */
};

/* From now on e gives the stream of seed (the same seed, the same bytes). */
void entropy_seed(struct entropy *e, uint64_t seed);
/* Fills buf with n random bytes: the host's getrandom with flags (GRND_*) for an unseeded
 * e, else the next n bytes of the stream. Returns the number of bytes given (the host may
 * give fewer) or -errno. */
ssize_t entropy_fill(struct entropy *e, void *buf, size_t n, unsigned flags);

#endif
