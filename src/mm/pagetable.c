/* x86-64 4-level page tables (PML4, PDPT, PD, PT: 512 entries each, 9 bits of the address
 * per level) whose table pages are frames of the pool, flagged FRAME_PAGETABLE and counted
 * in pt->table_pages. Intermediate entries are P|RW|US|frame; only leaf PTEs carry the
 * real permissions. This file only finds, creates and frees tables; the PTE values are
 * changed by mm.c (mm_set_pte). */
#include "vmemu/pagetable.h"

#include <errno.h>

#include "vmemu/phys.h"

#define PT_LEVELS    4
#define PT_ENTRIES   512
#define PT_DIR_FLAGS (PTE_P | PTE_RW | PTE_US)

static unsigned level_index(gva_t va, int level)
{
    /* level 0 = PML4 (bits 39..47) ... level 3 = PT (bits 12..20) */
    return (unsigned)(va >> (39 - 9 * level)) & (PT_ENTRIES - 1);
}

static pte_t *table_of(const struct phys *phys, pfn_t pfn)
{
    return (pte_t *)phys_hva(phys, pfn);
}

static int table_alloc(struct pt *pt, struct phys *phys, pfn_t *out)
{
    int rc = phys_alloc(phys, true, out);
    if (rc < 0)
        return rc;
    phys_frame(phys, *out)->flags |= FRAME_PAGETABLE | FRAME_PINNED;
    pt->table_pages++;
    return 0;
}

/* Allocates an empty PML4. Returns 0 or -ENOMEM. */
int pt_init(struct pt *pt, struct phys *phys)
{
    pt->table_pages = 0;
    return table_alloc(pt, phys, &pt->root);
}

static void free_level(struct pt *pt, struct phys *phys, pfn_t table, int level)
{
    pte_t *t = table_of(phys, table);
    if (level < PT_LEVELS - 1) {
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            if (t[i] & PTE_P)
                free_level(pt, phys, pte_pfn(t[i]), level + 1);
    }
    phys_put(phys, table);
    pt->table_pages--;
}

/* Frees every table page (leaf PTEs must have been cleared by the caller). */
void pt_destroy(struct pt *pt, struct phys *phys)
{
    if (pt->root)
        free_level(pt, phys, pt->root, 0);
    pt->root = 0;
}

/* The leaf PTE slot for va, or NULL when an intermediate table is missing. */
pte_t *pt_lookup(const struct pt *pt, const struct phys *phys, gva_t va)
{
    pfn_t table = pt->root;
    for (int level = 0; level < PT_LEVELS - 1; level++) {
        pte_t e = table_of(phys, table)[level_index(va, level)];
        if (!(e & PTE_P))
            return NULL;
        table = pte_pfn(e);
    }
    return &table_of(phys, table)[level_index(va, PT_LEVELS - 1)];
}

/* The leaf PTE slot for va, allocating missing tables. Returns 0 or -ENOMEM. */
int pt_lookup_alloc(struct pt *pt, struct phys *phys, gva_t va, pte_t **out)
{
    pfn_t table = pt->root;
    for (int level = 0; level < PT_LEVELS - 1; level++) {
        pte_t *slot = &table_of(phys, table)[level_index(va, level)];
        if (!(*slot & PTE_P)) {
            pfn_t fresh;
            int rc = table_alloc(pt, phys, &fresh);
            if (rc < 0)
                return rc;
            *slot = pte_make(fresh, PT_DIR_FLAGS);
        }
        table = pte_pfn(*slot);
    }
    *out = &table_of(phys, table)[level_index(va, PT_LEVELS - 1)];
    return 0;
}

static uint64_t level_span(int level)
{
    return 1ULL << (39 - 9 * level + 9); /* bytes covered by one table at `level` */
}

/* Prunes the table at `level` that covers [base, base + span); returns true when the table
 * itself is empty afterwards. */
static bool prune_level(struct pt *pt, struct phys *phys, pfn_t table, int level, gva_t base,
                        gva_t start, gva_t end)
{
    pte_t *t = table_of(phys, table);
    uint64_t child_span = level_span(level) / PT_ENTRIES;
    bool empty = true;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        gva_t cbase = base + i * child_span;
        if (!t[i])
            continue;
        if (level < PT_LEVELS - 1 && cbase + child_span > start && cbase < end) {
            pfn_t child = pte_pfn(t[i]);
            bool inside = cbase >= start && cbase + child_span <= end;
            if (prune_level(pt, phys, child, level + 1, cbase, start, end) && inside) {
                phys_put(phys, child);
                pt->table_pages--;
                t[i] = 0;
                continue;
            }
        }
        empty = false;
    }
    return empty;
}

/* Frees the table pages that are empty and cover only addresses inside [start, end). */
void pt_prune(struct pt *pt, struct phys *phys, gva_t start, gva_t end)
{
    if (pt->root && start < end)
        prune_level(pt, phys, pt->root, 0, 0, start, end);
}

/* Calls fn for the entries of level `leaf` under table (a table of `level`, mapping from
 * base) that cover [start, end): every non-zero one at the PTE level, every present one
 * above it. */
static void for_each_level(const struct phys *phys, pfn_t table, int level, int leaf, gva_t base,
                           gva_t start, gva_t end, void (*fn)(void *, gva_t, pte_t *), void *ctx)
{
    pte_t *t = table_of(phys, table);
    uint64_t child_span = level_span(level) / PT_ENTRIES;
    unsigned first = 0;
    if (start > base)
        first = (unsigned)((start - base) / child_span);
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        gva_t cbase = base + i * child_span;
        if (cbase >= end)
            break;
        if (level == leaf ? !t[i] : !(t[i] & PTE_P))
            continue;
        if (level == leaf)
            fn(ctx, cbase, &t[i]);
        else
            for_each_level(phys, pte_pfn(t[i]), level + 1, leaf, cbase, start, end, fn, ctx);
    }
}

/* Calls fn for every non-none leaf PTE in [start, end), in address order. fn may change
 * the PTE it is given but not the tables. */
void pt_for_each(const struct pt *pt, const struct phys *phys, gva_t start, gva_t end,
                 void (*fn)(void *ctx, gva_t va, pte_t *ptep), void *ctx)
{
    if (pt->root && start < end)
        for_each_level(phys, pt->root, 0, PT_LEVELS - 1, 0, start, end, fn, ctx);
}

/* The PDE slot that covers va, or NULL when the PML4E or PDPTE is missing. */
pte_t *pt_lookup_pde(const struct pt *pt, const struct phys *phys, gva_t va)
{
    pfn_t table = pt->root;
    for (int level = 0; level < PT_LEVELS - 2; level++) {
        pte_t e = table_of(phys, table)[level_index(va, level)];
        if (!(e & PTE_P))
            return NULL;
        table = pte_pfn(e);
    }
    return &table_of(phys, table)[level_index(va, PT_LEVELS - 2)];
}

/* Calls fn for every present PDE in [start, end), in address order. */
void pt_for_each_pde(const struct pt *pt, const struct phys *phys, gva_t start, gva_t end,
                     void (*fn)(void *ctx, gva_t va, pte_t *pdep), void *ctx)
{
    if (pt->root && start < end)
        for_each_level(phys, pt->root, 0, PT_LEVELS - 2, 0, start, end, fn, ctx);
}

/* Fills levels[0..3] for va; missing levels read 0. Returns how many levels exist. */
int pt_walk_levels(const struct pt *pt, const struct phys *phys, gva_t va, pte_t levels[4])
{
    pfn_t table = pt->root;
    int n = 0;
    for (int level = 0; level < PT_LEVELS; level++)
        levels[level] = 0;
    for (int level = 0; level < PT_LEVELS; level++) {
        pte_t e = table_of(phys, table)[level_index(va, level)];
        levels[level] = e;
        n++;
        if (level == PT_LEVELS - 1 || !(e & PTE_P))
            break;
        table = pte_pfn(e);
    }
    return n;
}
