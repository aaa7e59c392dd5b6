/* Call stacks kept once each (see stackset.h): the key's hash and the open-addressing
 * index that the heap checker's depot (heapcheck_depot.c) and the heap profiler's sites
 * (heapprof_prof.c) find their stacks through. */
#include "stackset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The key of entry i. */
static const struct stack_key *entry_key(const void *entries, size_t stride, size_t i)
{
    return (const struct stack_key *)(const void *)((const char *)entries + i * stride);
}

/* Puts entry i (hash h) into the first free slot of its probe sequence in slot[cap]. */
static void put(uint32_t *slot, size_t cap, uint64_t h, size_t i)
{
    size_t j = h & (cap - 1);
    while (slot[j])
        j = (j + 1) & (cap - 1);
    slot[j] = (uint32_t)i + 1;
}

/* See the header. */
void stack_key_make(struct stack_key *k, const gva_t *pcs, uint32_t n)
{
    uint64_t x = 0xcbf29ce484222325ULL;

    if (n > STACK_FRAMES)
        n = STACK_FRAMES;
    x ^= n;
    for (uint32_t i = 0; i < n; i++) {
        x ^= pcs[i];
        x *= 0x100000001b3ULL;
        x ^= x >> 29;
    }
    memset(k, 0, sizeof(*k));
    k->hash = x;
    k->n = n;
    memcpy(k->pcs, pcs, n * sizeof(gva_t));
}

/* See the header. */
long stack_index_find(const struct stack_index *x, const void *entries, size_t stride,
                      const struct stack_key *k)
{
    if (x->cap == 0)
        return -1;
    for (size_t j = k->hash & (x->cap - 1); x->slot[j]; j = (j + 1) & (x->cap - 1)) {
        const struct stack_key *e = entry_key(entries, stride, x->slot[j] - 1);
        if (e->hash == k->hash && e->n == k->n && memcmp(e->pcs, k->pcs, k->n * sizeof(gva_t)) == 0)
            return (long)(x->slot[j] - 1);
    }
    return -1;
}

/* See the header. */
int stack_index_add(struct stack_index *x, const void *entries, size_t stride, size_t count,
                    size_t min_cap)
{
    if (count * 2 > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : min_cap;
        while (count * 2 > cap)
            cap *= 2;
        uint32_t *slot = calloc(cap, sizeof(*slot));
        if (!slot)
            return -ENOMEM;
        for (size_t i = 0; i + 1 < count; i++)
            put(slot, cap, entry_key(entries, stride, i)->hash, i);
        free(x->slot);
        x->slot = slot;
        x->cap = cap;
    }
    put(x->slot, x->cap, entry_key(entries, stride, count - 1)->hash, count - 1);
    return 0;
}

/* See the header. */
int stack_index_dup(struct stack_index *dst, const struct stack_index *src)
{
    dst->slot = NULL;
    dst->cap = 0;
    if (src->cap == 0)
        return 0;
    dst->slot = malloc(src->cap * sizeof(*dst->slot));
    if (!dst->slot)
        return -ENOMEM;
    memcpy(dst->slot, src->slot, src->cap * sizeof(*dst->slot));
    dst->cap = src->cap;
    return 0;
}

/* See the header. */
void stack_index_free(struct stack_index *x)
{
    free(x->slot);
    x->slot = NULL;
    x->cap = 0;
}
