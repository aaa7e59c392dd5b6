/* x86-64 4-level page tables whose table pages come from the frame pool, and the PTE
 * encoding (hardware bits plus vmemu's software bits).
 *
 *   63  62..52   51..12   11  10   9    8..7   6  5  4..3  2  1  0
 *   NX  -        pfn      -   SWP  COW  -      D  A  -     US RW P
 *
 * A PTE is one of: none (0, never touched: the VMA says what it becomes), present (P set),
 * or a swap entry (P clear, SWP set, slot number in bits 12..51). */
#ifndef VMEMU_PAGETABLE_H
#define VMEMU_PAGETABLE_H

#include "vmemu/types.h"

struct phys;

#define PTE_P        (1ULL << 0)  /* present */
#define PTE_RW       (1ULL << 1)  /* writable */
#define PTE_US       (1ULL << 2)  /* user */
#define PTE_A        (1ULL << 5)  /* accessed */
#define PTE_D        (1ULL << 6)  /* dirty */
#define PTE_COW      (1ULL << 9)  /* software: a write must copy the frame (or reuse it) */
#define PTE_SWP      (1ULL << 10) /* software: non-present swap entry */
/* software: one of the 512 PTEs of a 2 MiB file folio that Linux would map with one PMD:
 * a write-notify fault on one makes them all writable (src/mm/fault_around.c) */
#define PTE_PMDMAP   (1ULL << 11)
#define PTE_NX       (1ULL << 63) /* no execute */
#define PTE_PFN_MASK 0x000ffffffffff000ULL

/* Software bits of a page-directory entry (PDE) that points to a page table (bits 9..11
 * are ignored by the hardware there). vmemu keeps a huge page's 512 PTEs and marks the
 * PDE instead of setting PS (see src/mm/thp.c): */
/* PDE_THP: the table maps one 2 MiB-aligned order-9 block, frame i at entry i, all alike
 * (Linux's PMD mapping of a THP). PDE_HZP: it maps the zero page 512 times (the huge zero
 * page). PDE_HUGETLB: as PDE_THP, a block of the hugetlb pool (MAP_HUGETLB). */
#define PDE_THP       (1ULL << 9)
#define PDE_HZP       (1ULL << 10)
#define PDE_HUGETLB   (1ULL << 11)
#define PDE_HUGE_MASK (PDE_THP | PDE_HZP | PDE_HUGETLB)

static inline bool pte_none(pte_t pte)
{
    return pte == 0;
}
static inline bool pte_present(pte_t pte)
{
    return (pte & PTE_P) != 0;
}
static inline bool pte_is_swap(pte_t pte)
{
    return !pte_present(pte) && (pte & PTE_SWP);
}
static inline pfn_t pte_pfn(pte_t pte)
{
    return (pte & PTE_PFN_MASK) >> PAGE_SHIFT;
}
static inline pte_t pte_make(pfn_t pfn, uint64_t flags)
{
    return (pfn << PAGE_SHIFT) | flags;
}
static inline pte_t pte_make_swap(uint64_t slot)
{
    return (slot << PAGE_SHIFT) | PTE_SWP;
}
static inline uint64_t pte_swap_slot(pte_t pte)
{
    return (pte & PTE_PFN_MASK) >> PAGE_SHIFT;
}

/* One address space's tables. */
struct pt {
    pfn_t root;           /* the PML4 frame */
    uint64_t table_pages; /* table frames in use, root included */
};

/* Allocates an empty PML4. Returns 0 or -ENOMEM. */
int pt_init(struct pt *pt, struct phys *phys);
/* Frees every table page. Leaf PTEs must already be cleared by the caller. */
void pt_destroy(struct pt *pt, struct phys *phys);
/* The leaf PTE slot for va, or NULL when an intermediate table is missing. */
pte_t *pt_lookup(const struct pt *pt, const struct phys *phys, gva_t va);
/* The leaf PTE slot for va, allocating missing tables. Returns 0 or -ENOMEM. */
int pt_lookup_alloc(struct pt *pt, struct phys *phys, gva_t va, pte_t **out);
/* Frees the table pages that are empty and cover only addresses inside [start, end). */
void pt_prune(struct pt *pt, struct phys *phys, gva_t start, gva_t end);
/* Calls fn for every non-none leaf PTE in [start, end), in address order. */
void pt_for_each(const struct pt *pt, const struct phys *phys, gva_t start, gva_t end,
                 void (*fn)(void *ctx, gva_t va, pte_t *ptep), void *ctx);
/* The page-directory entry (PDE) slot that covers va, or NULL when the PDPT is missing. */
pte_t *pt_lookup_pde(const struct pt *pt, const struct phys *phys, gva_t va);
/* Calls fn for every present PDE in [start, end) (start 2 MiB-aligned), in address order;
 * visits only tables that exist. fn may change the PDE's software bits only. */
void pt_for_each_pde(const struct pt *pt, const struct phys *phys, gva_t start, gva_t end,
                     void (*fn)(void *ctx, gva_t va, pte_t *pdep), void *ctx);
/* Fills levels[0..3] (PML4E, PDPTE, PDE, PTE) for va; a missing level and those below it
 * read 0. Returns how many levels exist. */
int pt_walk_levels(const struct pt *pt, const struct phys *phys, gva_t va, pte_t levels[4]);

#endif
