/* vmemu's own TLB: set-associative, LRU within a set, consulted before every page walk. */
#ifndef VMEMU_TLB_H
#define VMEMU_TLB_H

#include "vmemu/types.h"

/* One cached translation. */
struct tlb_entry {
    uint64_t vpn;  /* virtual page number */
    pte_t pte;     /* the leaf PTE as it was when cached */
    uint64_t used; /* LRU stamp; 0 = invalid */
};

struct tlb {
    unsigned sets;             /* number of sets, a power of two */
    unsigned ways;             /* entries per set */
    struct tlb_entry *entries; /* sets * ways entries, set-major */
    uint64_t clock;            /* LRU stamp source */
    uint64_t hits;             /* lookups answered */
    uint64_t misses;           /* lookups that needed a page walk */
    uint64_t invalidations;    /* single-page invalidations that removed an entry */
    uint64_t flushes;          /* whole-TLB flushes */
};

/* Creates a TLB of `entries` entries in `ways`-way sets. entries/ways must be a power of
 * two and ways must divide entries. Returns 0, -EINVAL or -ENOMEM. */
int tlb_init(struct tlb *t, unsigned entries, unsigned ways);
void tlb_destroy(struct tlb *t);
/* Looks va up; counts a hit or a miss. Returns true and sets *pte on a hit. */
bool tlb_lookup(struct tlb *t, gva_t va, pte_t *pte);
/* Caches pte for va, evicting the least recently used way of its set. */
void tlb_insert(struct tlb *t, gva_t va, pte_t pte);
/* Drops va's entry, if any. */
void tlb_invalidate(struct tlb *t, gva_t va);
/* Drops every entry. */
void tlb_flush(struct tlb *t);
/* Parses "ENTRIES" or "ENTRIESxWAYS" (default 4 ways). Returns 0 or -EINVAL. */
int tlb_parse_geometry(const char *s, unsigned *entries, unsigned *ways);

#endif
