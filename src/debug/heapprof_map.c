/* The heap profiler's live blocks by address: a treap (a binary search tree by start,
 * heap-ordered by a pseudo-random priority, so that its depth is O(log n) whatever the
 * order of the addresses) over an array of nodes named by index + 1. The fault path asks
 * it for the block around an address; malloc and free add and remove. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof_int.h"

#define N(m, i) (&(m)->nodes[(i)-1])

static uint32_t hp_rand(struct hp_map *m)
{
    m->seed = m->seed * 1103515245u + 12345u; /* deterministic: the same run, the same tree */
    return m->seed ^ (m->seed >> 16);
}

/* Splits the tree t into the keys < key (*l) and >= key (*r). */
static void hp_split(struct hp_map *m, uint32_t t, gva_t key, uint32_t *l, uint32_t *r)
{
    if (!t) {
        *l = *r = 0;
        return;
    }
    if (N(m, t)->start < key) {
        hp_split(m, N(m, t)->right, key, &N(m, t)->right, r);
        *l = t;
    } else {
        hp_split(m, N(m, t)->left, key, l, &N(m, t)->left);
        *r = t;
    }
}

/* Joins l and r, every key of l below every key of r. */
static uint32_t hp_merge(struct hp_map *m, uint32_t l, uint32_t r)
{
    if (!l || !r)
        return l ? l : r;
    if (N(m, l)->prio > N(m, r)->prio) {
        N(m, l)->right = hp_merge(m, N(m, l)->right, r);
        return l;
    }
    N(m, r)->left = hp_merge(m, l, N(m, r)->left);
    return r;
}

/* Adds a block; see heapprof_int.h. */
int hp_map_insert(struct hp_map *m, gva_t start, uint64_t size, uint32_t site)
{
    uint32_t i = m->free;
    if (i) {
        m->free = N(m, i)->left;
    } else {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 1024;
            struct hp_node *v = realloc(m->nodes, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            m->nodes = v;
            m->cap = cap;
        }
        i = (uint32_t)++m->n;
    }
    struct hp_node *b = N(m, i);
    b->start = start;
    b->size = size;
    b->site = site;
    b->prio = hp_rand(m);
    b->left = b->right = 0;
    /* Descend while the priorities are higher, then split there. */
    uint32_t *link = &m->root;
    while (*link && N(m, *link)->prio > b->prio)
        link = start < N(m, *link)->start ? &N(m, *link)->left : &N(m, *link)->right;
    hp_split(m, *link, start, &b->left, &b->right);
    *link = i;
    return 0;
}

/* The block that starts at start; see heapprof_int.h. */
struct hp_node *hp_map_find(const struct hp_map *m, gva_t start)
{
    uint32_t t = m->root;
    while (t && N(m, t)->start != start)
        t = start < N(m, t)->start ? N(m, t)->left : N(m, t)->right;
    return t ? N(m, t) : NULL;
}

/* Removes a block; see heapprof_int.h. */
bool hp_map_remove(struct hp_map *m, gva_t start, struct hp_node *out)
{
    uint32_t *link = &m->root;
    while (*link && N(m, *link)->start != start)
        link = start < N(m, *link)->start ? &N(m, *link)->left : &N(m, *link)->right;
    uint32_t t = *link;
    if (!t)
        return false;
    if (out)
        *out = *N(m, t);
    *link = hp_merge(m, N(m, t)->left, N(m, t)->right);
    N(m, t)->left = m->free;
    N(m, t)->start = 0;
    m->free = t;
    return true;
}

/* The block with the highest start <= va; see heapprof_int.h. */
struct hp_node *hp_map_floor(const struct hp_map *m, gva_t va)
{
    uint32_t t = m->root, best = 0;
    while (t) {
        if (N(m, t)->start <= va) {
            best = t;
            t = N(m, t)->right;
        } else {
            t = N(m, t)->left;
        }
    }
    return best ? N(m, best) : NULL;
}

/* The block with the lowest start >= va; see heapprof_int.h. */
struct hp_node *hp_map_ceil(const struct hp_map *m, gva_t va)
{
    uint32_t t = m->root, best = 0;
    while (t) {
        if (N(m, t)->start >= va) {
            best = t;
            t = N(m, t)->left;
        } else {
            t = N(m, t)->right;
        }
    }
    return best ? N(m, best) : NULL;
}

/* Calls fn on each block in address order (an explicit stack: no recursion as deep as the
 * tree). */
void hp_map_walk(const struct hp_map *m, void (*fn)(void *ctx, const struct hp_node *b), void *ctx)
{
    uint32_t stack[128], *big = NULL;
    uint32_t *st = stack;
    size_t cap = 128, n = 0;
    uint32_t t = m->root;
    while (t || n) {
        while (t) {
            if (n == cap) {
                uint32_t *g = malloc(2 * cap * sizeof(*g));
                if (!g) {
                    free(big);
                    return;
                }
                memcpy(g, st, n * sizeof(*g));
                free(big);
                big = st = g;
                cap *= 2;
            }
            st[n++] = t;
            t = N(m, t)->left;
        }
        t = st[--n];
        fn(ctx, N(m, t));
        t = N(m, t)->right;
    }
    free(big);
}

/* A copy of m; see heapprof_int.h. */
int hp_map_dup(const struct hp_map *m, struct hp_map *c)
{
    *c = *m;
    c->nodes = NULL;
    if (m->cap == 0)
        return 0;
    c->nodes = malloc(m->cap * sizeof(*c->nodes));
    if (!c->nodes)
        return -ENOMEM;
    memcpy(c->nodes, m->nodes, m->n * sizeof(*c->nodes));
    return 0;
}

/* Frees the map; see heapprof_int.h. */
void hp_map_free(struct hp_map *m)
{
    free(m->nodes);
    memset(m, 0, sizeof(*m));
}
