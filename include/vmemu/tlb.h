/* vmemu's own TLB: set-associative, LRU within a set, consulted before every page walk;
 * 4 KiB translations and 2 MiB ones (huge pages) in separate arrays, as hardware keeps
 * them (Haswell's L1 DTLB: 64 4-way entries for 4 KiB pages, 32 4-way for 2 MiB). */
#ifndef VMEMU_TLB_H
#define VMEMU_TLB_H

#include "vmemu/types.h"

/* One cached translation. */
struct tlb_entry {
    uint64_t vpn;  /* virtual page number */
    pte_t pte;     /* the leaf PTE as it was when cached */
    uint64_t used; /* LRU stamp; 0 = invalid */
};

/* Default geometry of the 2 MiB array. */
#define TLB_HUGE_ENTRIES 32u
#define TLB_HUGE_WAYS    4u

struct tlb {
    unsigned sets;               /* number of sets, a power of two */
    unsigned ways;               /* entries per set */
    struct tlb_entry *entries;   /* sets * ways entries, set-major */
    uint64_t clock;              /* LRU stamp source */
    uint64_t hits;               /* lookups answered */
    uint64_t misses;             /* lookups that needed a page walk */
    uint64_t invalidations;      /* single-page invalidations that removed an entry */
    uint64_t flushes;            /* whole-TLB flushes */
    unsigned huge_sets;          /* sets of the 2 MiB array, a power of two */
    unsigned huge_ways;          /* entries per set of the 2 MiB array */
    struct tlb_entry *huge;      /* the 2 MiB array: vpn is va >> 21, pte that of the huge
                                    page's first 4 KiB page */
    bool huge_live;              /* the 2 MiB array may hold a valid entry */
    uint64_t huge_hits;          /* lookups answered by the 2 MiB array (not in hits) */
    uint64_t huge_invalidations; /* invalidations that removed a 2 MiB entry */
};

/* Creates a TLB of `entries` entries in `ways`-way sets. entries/ways must be a power of
 * two and ways must divide entries. Returns 0, -EINVAL or -ENOMEM. */
int tlb_init(struct tlb *t, unsigned entries, unsigned ways);
void tlb_destroy(struct tlb *t);
/* Sets the geometry of the 2 MiB array (as tlb_init's), emptying it. Returns 0, -EINVAL
 * or -ENOMEM (the TLB then has no 2 MiB array). */
int tlb_init_huge(struct tlb *t, unsigned entries, unsigned ways);
/* Looks va up in the 4 KiB array, then in the 2 MiB one; counts a hit, a huge hit or a
 * miss. Returns true and sets *pte (for va's own 4 KiB page) on a hit. */
bool tlb_lookup(struct tlb *t, gva_t va, pte_t *pte);
/* Caches pte for va, evicting the least recently used way of its set. */
void tlb_insert(struct tlb *t, gva_t va, pte_t pte);
/* Caches a 2 MiB translation for the huge page around va: head_pte is the PTE of its
 * first 4 KiB page (frame head, the flags of every page). */
void tlb_insert_huge(struct tlb *t, gva_t va, pte_t head_pte);
/* Drops va's entry, if any, and the 2 MiB entry that covers va. */
void tlb_invalidate(struct tlb *t, gva_t va);
/* Drops every entry. */
void tlb_flush(struct tlb *t);
/* Parses "ENTRIES" or "ENTRIESxWAYS" (default 4 ways). Returns 0 or -EINVAL. */
int tlb_parse_geometry(const char *s, unsigned *entries, unsigned *ways);
/* Parses --tlb: "E[xW]" for the 4 KiB array, optionally followed by ",E[xW]" for the
 * 2 MiB array (default TLB_HUGE_ENTRIES x TLB_HUGE_WAYS). Returns 0 or -EINVAL. */
int tlb_parse_geometries(const char *s, unsigned *entries, unsigned *ways, unsigned *huge_entries,
                         unsigned *huge_ways);

#endif
