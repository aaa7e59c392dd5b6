/* compute: a CPU-bound loop that never enters the kernel and touches little memory.
 * Demonstrates: the cost of running translated code with warm TLBs, where vmemu's own
 * memory system is idle; used by tests/bench.py to compare vmemu with qemu-user.
 * `compute [ROUNDS]` runs ROUNDS passes (default 40) of a prime sieve over 1 MiB and an
 * integer hash of the result, and prints the prime count and the hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIEVE_SIZE (1u << 20)

static unsigned char composite[SIEVE_SIZE];

/* Sieve of Eratosthenes over [0, SIEVE_SIZE); returns the number of primes. */
static unsigned sieve(void)
{
    unsigned count = 0;

    memset(composite, 0, sizeof(composite));
    for (unsigned i = 2; i < SIEVE_SIZE; i++) {
        if (composite[i])
            continue;
        count++;
        for (unsigned long j = (unsigned long)i * i; j < SIEVE_SIZE; j += i)
            composite[j] = 1;
    }
    return count;
}

int main(int argc, char **argv)
{
    unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 40;
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a offset basis */
    unsigned primes = 0;

    for (unsigned long r = 0; r < rounds; r++) {
        primes = sieve();
        for (unsigned i = (unsigned)r; i < SIEVE_SIZE; i += 61) {
            hash ^= composite[i] + i;
            hash *= 1099511628211ULL; /* FNV prime */
        }
    }
    printf("rounds %lu primes %u hash %016llx\n", rounds, primes, (unsigned long long)hash);
    return 0;
}
