/* Private to the report folder: the values the JSON report and its timeline are made of,
 * as jansson values (src/report/jsonval.c). Each returns NULL only when out of memory. */
#ifndef VMEMU_SRC_REPORT_JSONVAL_H
#define VMEMU_SRC_REPORT_JSONVAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "vmemu/mm_types.h"

/* A JSON string of s (json null for NULL), bytes that are not well-formed UTF-8 as the
 * code points U+0080..U+00FF of the same number. */
json_t *rj_str(const char *s);
/* v as the string "0x..." (lower-case hex). */
json_t *rj_hex(uint64_t v);
/* A counter as an integer (clamped to INT64_MAX, which no counter reaches). */
json_t *rj_u64(uint64_t v);
/* The "faults" object: every class of f. */
json_t *rj_faults(const struct fault_stats *f);
/* o[key] = v (v's reference taken); a NULL v or a failure clears *ok. */
void rj_set(json_t *o, const char *key, json_t *v, bool *ok);
/* Appends v to the array a (v's reference taken); a NULL v or a failure clears *ok. */
void rj_append(json_t *a, json_t *v, bool *ok);
/* Writes root to path: two-space indentation, keys in insertion order, a final newline.
 * Returns 0 or -errno. */
int rj_write(const char *path, const json_t *root);

#endif
