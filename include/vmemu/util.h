/* Small helpers shared by every layer: size parsing, host time, array copies. */
#ifndef VMEMU_UTIL_H
#define VMEMU_UTIL_H

#include "vmemu/types.h"

#define VMEMU_VERSION "0.1.0"

/* Parses "64M", "1G", "4096", "512K" into bytes. Returns 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *out);
/* parse_size(), also accepting "0" (as --swap does). Returns 0 or -EINVAL. */
int parse_size_or_zero(const char *s, uint64_t *out);
/* Parses a decimal whole number (no sign). Returns 0 or -EINVAL. */
int parse_u64(const char *s, uint64_t *out);
/* Host monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* A malloc'd copy of the array src of n elements of size bytes each, or NULL: for n == 0,
 * and when out of memory, which also sets *fail (so a caller copies many and checks
 * once). */
void *memdup_array(const void *src, size_t n, size_t size, bool *fail);

#endif
