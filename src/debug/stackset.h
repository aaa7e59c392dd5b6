/* Call stacks kept once each, for the heap checker's stack depot and the heap profiler's
 * allocation sites: a stack's key (its frames and their hash) and an open-addressing index
 * over the caller's own array of entries, each of which starts with its key. Folder-private
 * to src/debug. */
#ifndef VMEMU_DEBUG_STACKSET_H
#define VMEMU_DEBUG_STACKSET_H

#include <stddef.h>
#include <stdint.h>

#include "vmemu/types.h"

#define STACK_FRAMES 8 /* frames kept per stack */

/* A call stack, innermost frame first. */
struct stack_key {
    uint64_t hash;           /* hash of the frames (stack_key_make) */
    uint32_t n;              /* frames used */
    gva_t pcs[STACK_FRAMES]; /* return addresses, innermost first */
};

/* The index of an array of entries that start with a struct stack_key. */
struct stack_index {
    uint32_t *slot; /* entry index + 1, 0 for an empty slot */
    size_t cap;     /* slots: 0 or a power of two, at least twice the entries */
};

/* Fills k with the first n (at most STACK_FRAMES) frames of pcs and their hash. */
void stack_key_make(struct stack_key *k, const gva_t *pcs, uint32_t n);
/* The index of the entry of entries (stride bytes apart) whose key equals k, or -1. */
long stack_index_find(const struct stack_index *x, const void *entries, size_t stride,
                      const struct stack_key *k);
/* Indexes entry count - 1, just appended to entries (stride bytes apart), growing the
 * index from min_cap slots when it would be more than half full. Returns 0 or -ENOMEM
 * (the index is unchanged: the caller drops the entry). */
int stack_index_add(struct stack_index *x, const void *entries, size_t stride, size_t count,
                    size_t min_cap);
/* A copy of src in *dst (for a fork child). Returns 0 or -ENOMEM (*dst empty). */
int stack_index_dup(struct stack_index *dst, const struct stack_index *src);
/* Frees the index's slots; x is empty again. */
void stack_index_free(struct stack_index *x);

#endif
