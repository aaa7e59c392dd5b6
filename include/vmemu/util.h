/* Small helpers shared by the front end and reports: size parsing, host time. */
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

#endif
