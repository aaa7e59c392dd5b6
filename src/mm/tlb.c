/* vmemu's own TLB: a set-associative cache of leaf PTEs keyed by virtual page number,
 * consulted by the MMU (src/mm/mmu.c) before every page walk and invalidated by mm.c
 * whenever a PTE loses a permission or a frame. The set of a page is vpn & (sets - 1);
 * within a set the least recently used way is replaced. Recency is a stamp taken from a
 * per-TLB clock and stored in each entry's `used` field (0 marks an invalid entry).
 * The front end (src/main.c) parses the --tlb geometry with tlb_parse_geometry(). */
#include "vmemu/tlb.h"

#include <errno.h>
#include <stdlib.h>

/* Largest TLB the geometry parser accepts. */
#define TLB_MAX_ENTRIES  65536u
/* Ways used when the geometry names only the entry count. */
#define TLB_DEFAULT_WAYS 4u

static bool is_pow2(unsigned x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* First entry of the set that va's page belongs to. */
static struct tlb_entry *tlb_set(const struct tlb *t, uint64_t vpn)
{
    return &t->entries[(size_t)(vpn & (t->sets - 1)) * t->ways];
}

/* The valid entry caching vpn, or NULL. */
static struct tlb_entry *tlb_find(const struct tlb *t, uint64_t vpn)
{
    struct tlb_entry *set = tlb_set(t, vpn);

    for (unsigned w = 0; w < t->ways; w++) {
        if (set[w].used != 0 && set[w].vpn == vpn)
            return &set[w];
    }
    return NULL;
}

/* Creates an empty TLB of `entries` entries in `ways`-way sets. ways must divide entries
 * and the resulting number of sets must be a power of two.
 * Returns 0, -EINVAL for a bad geometry, or -ENOMEM. */
int tlb_init(struct tlb *t, unsigned entries, unsigned ways)
{
    *t = (struct tlb){0};
    if (entries == 0 || ways == 0 || entries % ways != 0 || !is_pow2(entries / ways))
        return -EINVAL;
    t->entries = calloc(entries, sizeof(*t->entries));
    if (t->entries == NULL)
        return -ENOMEM;
    t->sets = entries / ways;
    t->ways = ways;
    return 0;
}

/* Frees the entries; the TLB must be initialised again before further use. */
void tlb_destroy(struct tlb *t)
{
    free(t->entries);
    t->entries = NULL;
    t->sets = 0;
    t->ways = 0;
}

/* Looks up the page of va. On a hit, sets *pte, makes the entry the most recently used
 * of its set, counts a hit and returns true; otherwise counts a miss and returns false. */
bool tlb_lookup(struct tlb *t, gva_t va, pte_t *pte)
{
    struct tlb_entry *e = tlb_find(t, va >> PAGE_SHIFT);

    if (e == NULL) {
        t->misses++;
        return false;
    }
    e->used = ++t->clock;
    *pte = e->pte;
    t->hits++;
    return true;
}

/* Caches pte for the page of va as the most recently used entry of its set: replaces
 * the page's existing entry if there is one, else an invalid way, else the least recently
 * used way. Counts nothing. */
void tlb_insert(struct tlb *t, gva_t va, pte_t pte)
{
    uint64_t vpn = va >> PAGE_SHIFT;
    struct tlb_entry *e = tlb_find(t, vpn);

    if (e == NULL) {
        struct tlb_entry *set = tlb_set(t, vpn);

        e = &set[0];
        for (unsigned w = 1; w < t->ways && e->used != 0; w++) {
            if (set[w].used < e->used)
                e = &set[w];
        }
    }
    e->vpn = vpn;
    e->pte = pte;
    e->used = ++t->clock;
}

/* Drops the entry of va's page; counts an invalidation only when there was one. */
void tlb_invalidate(struct tlb *t, gva_t va)
{
    struct tlb_entry *e = tlb_find(t, va >> PAGE_SHIFT);

    if (e == NULL)
        return;
    e->used = 0;
    t->invalidations++;
}

/* Drops every entry and counts one flush. */
void tlb_flush(struct tlb *t)
{
    size_t n = (size_t)t->sets * t->ways;

    for (size_t i = 0; i < n; i++)
        t->entries[i].used = 0;
    t->flushes++;
}

/* Parses a decimal number of at least one digit at *s, advancing *s past it.
 * Returns 0, or -EINVAL when there is no digit or the value exceeds TLB_MAX_ENTRIES. */
static int parse_count(const char **s, unsigned *out)
{
    const char *p = *s;
    unsigned long v = 0;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > TLB_MAX_ENTRIES)
            return -EINVAL;
        p++;
    }
    *s = p;
    *out = (unsigned)v;
    return 0;
}

/* Parses a --tlb geometry: "ENTRIES" (ways = min(4, ENTRIES)) or "ENTRIESxWAYS", both
 * decimal. ENTRIES and WAYS must be powers of two with WAYS <= ENTRIES <= 65536.
 * Returns 0 and sets *entries and *ways, or -EINVAL (outputs untouched). */
int tlb_parse_geometry(const char *s, unsigned *entries, unsigned *ways)
{
    unsigned e, w;

    if (s == NULL || parse_count(&s, &e) != 0)
        return -EINVAL;
    if (*s == 'x') {
        s++;
        if (parse_count(&s, &w) != 0)
            return -EINVAL;
    } else {
        w = e < TLB_DEFAULT_WAYS ? e : TLB_DEFAULT_WAYS;
    }
    if (*s != '\0' || !is_pow2(e) || !is_pow2(w) || w > e)
        return -EINVAL;
    *entries = e;
    *ways = w;
    return 0;
}
