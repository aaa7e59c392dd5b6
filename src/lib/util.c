/* Small shared helpers: the invariant-violation abort, size parsing for the command line,
 * the host clock and array copies. Used by every layer. */
#include "vmemu/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reports a broken vmemu invariant with its place and aborts (never for guest input). */
_Noreturn void vmemu_bug(const char *file, int line, const char *what)
{
    fprintf(stderr, "vmemu: internal error at %s:%d: %s\n", file, line, what);
    abort();
}

/* Parses a byte count with an optional K, M or G suffix (powers of 1024).
 * Returns 0 or -EINVAL for empty, malformed, zero or overflowing input. */
int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

/* parse_size(), or 0 for "0". Returns 0 or -EINVAL. */
int parse_size_or_zero(const char *s, uint64_t *out)
{
    if (s && strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    return parse_size(s, out);
}

/* Parses a decimal whole number without a sign. Returns 0 or -EINVAL. */
int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end != '\0')
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

/* Host monotonic time in nanoseconds. */
uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* See the header. */
void *memdup_array(const void *src, size_t n, size_t size, bool *fail)
{
    if (n == 0)
        return NULL;
    void *d = malloc(n * size);
    if (!d)
        *fail = true;
    else
        memcpy(d, src, n * size);
    return d;
}
