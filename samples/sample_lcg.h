/* sample_lcg.h: the value source of the paging samples (belady, seqscan, workingset): Knuth's
 * MMIX LCG with its high bits folded into the low ones (an LCG's low bits have short
 * periods). Each sample keeps its own state and seed, so every run is identical. */
#ifndef SAMPLE_LCG_H
#define SAMPLE_LCG_H

#include <stdint.h>

/* The next value of the generator whose state is *state. */
static inline uint64_t sample_lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state ^ (*state >> 33);
}

#endif
