/* vmemu's own TLB: a set-associative cache of leaf PTEs keyed by virtual page number,
 * consulted by the MMU (src/mm/mmu.c) before every page walk and invalidated by mm.c
 * whenever a PTE loses a permission or a frame. The set of a page is vpn & (sets - 1);
 * within a set the least recently used way is replaced. Recency is a stamp taken from a
 * per-TLB clock and stored in each entry's `used` field (0 marks an invalid entry).
 * Huge pages (src/mm/thp.c) are cached in a second array keyed by va >> 21, probed after
 * the 4 KiB one: one entry answers for the 512 pages of a huge page.
 * The front end (src/main.c) parses the --tlb geometry with tlb_parse_geometry(). */
#include "vmemu/tlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Largest TLB the geometry parser accepts. */
#define TLB_MAX_ENTRIES  65536u
/* Ways used when the geometry names only the entry count. */
#define TLB_DEFAULT_WAYS 4u

static bool is_pow2(unsigned x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* One array of a TLB: the 4 KiB one or the 2 MiB one. */
struct tlb_array {
    struct tlb_entry *entries; /* sets * ways, set-major */
    unsigned sets;             /* a power of two */
    unsigned ways;             /* entries per set */
};

static struct tlb_array small_array(const struct tlb *t)
{
    return (struct tlb_array){t->entries, t->sets, t->ways};
}

static struct tlb_array huge_array(const struct tlb *t)
{
    return (struct tlb_array){t->huge, t->huge_sets, t->huge_ways};
}

/* The valid entry caching vpn in array a, or NULL. */
static struct tlb_entry *array_find(struct tlb_array a, uint64_t vpn)
{
    if (!a.entries)
        return NULL;
    struct tlb_entry *set = &a.entries[(size_t)(vpn & (a.sets - 1)) * a.ways];
    for (unsigned w = 0; w < a.ways; w++) {
        if (set[w].used != 0 && set[w].vpn == vpn)
            return &set[w];
    }
    return NULL;
}

/* Caches pte for vpn in array a (the existing entry, an invalid way, else the LRU one). */
static void array_insert(struct tlb *t, struct tlb_array a, uint64_t vpn, pte_t pte)
{
    struct tlb_entry *e = array_find(a, vpn);
    if (e == NULL) {
        struct tlb_entry *set = &a.entries[(size_t)(vpn & (a.sets - 1)) * a.ways];
        e = &set[0];
        for (unsigned w = 1; w < a.ways && e->used != 0; w++) {
            if (set[w].used < e->used)
                e = &set[w];
        }
    }
    e->vpn = vpn;
    e->pte = pte;
    e->used = ++t->clock;
}

static struct tlb_entry *tlb_find(const struct tlb *t, uint64_t vpn)
{
    return array_find(small_array(t), vpn);
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
    if (tlb_init_huge(t, TLB_HUGE_ENTRIES, TLB_HUGE_WAYS) < 0) {
        tlb_destroy(t);
        return -ENOMEM;
    }
    return 0;
}

/* Replaces the 2 MiB array by an empty one of `entries` entries in `ways`-way sets.
 * Returns 0, -EINVAL (bad geometry: the old array stays) or -ENOMEM (none is left). */
int tlb_init_huge(struct tlb *t, unsigned entries, unsigned ways)
{
    if (entries == 0 || ways == 0 || entries % ways != 0 || !is_pow2(entries / ways))
        return -EINVAL;
    free(t->huge);
    t->huge_sets = t->huge_ways = 0;
    t->huge_live = false;
    t->huge = calloc(entries, sizeof(*t->huge));
    if (t->huge == NULL)
        return -ENOMEM;
    t->huge_sets = entries / ways;
    t->huge_ways = ways;
    return 0;
}

/* Frees the entries; the TLB must be initialised again before further use. */
void tlb_destroy(struct tlb *t)
{
    free(t->entries);
    free(t->huge);
    t->entries = NULL;
    t->huge = NULL;
    t->sets = 0;
    t->ways = 0;
    t->huge_sets = 0;
    t->huge_ways = 0;
}

/* Looks up the page of va, in the 4 KiB array and then the 2 MiB one. On a hit, sets
 * *pte (a 2 MiB entry gives the head's PTE with va's frame), makes the entry the most
 * recently used of its set, counts a hit or a huge hit and returns true; otherwise counts
 * a miss and returns false. */
bool tlb_lookup(struct tlb *t, gva_t va, pte_t *pte)
{
    struct tlb_entry *e = tlb_find(t, va >> PAGE_SHIFT);

    if (e == NULL && t->huge_live && (e = array_find(huge_array(t), va >> HPAGE_SHIFT))) {
        e->used = ++t->clock;
        *pte = e->pte + (((va >> PAGE_SHIFT) & (HPAGE_FRAMES - 1)) << PAGE_SHIFT);
        t->huge_hits++;
        return true;
    }
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
    array_insert(t, small_array(t), va >> PAGE_SHIFT, pte);
}

/* Caches the 2 MiB translation of the huge page around va (no-op without a 2 MiB array). */
void tlb_insert_huge(struct tlb *t, gva_t va, pte_t head_pte)
{
    if (!t->huge)
        return;
    array_insert(t, huge_array(t), va >> HPAGE_SHIFT, head_pte);
    t->huge_live = true;
}

/* Drops the entry of va's page and the 2 MiB entry covering it; counts an invalidation
 * (or a huge one) only when there was an entry. */
void tlb_invalidate(struct tlb *t, gva_t va)
{
    struct tlb_entry *e = tlb_find(t, va >> PAGE_SHIFT);

    if (e != NULL) {
        e->used = 0;
        t->invalidations++;
    }
    if (t->huge_live && (e = array_find(huge_array(t), va >> HPAGE_SHIFT))) {
        e->used = 0;
        t->huge_invalidations++;
    }
}

/* Drops every entry and counts one flush. */
void tlb_flush(struct tlb *t)
{
    size_t n = (size_t)t->sets * t->ways;

    for (size_t i = 0; i < n; i++)
        t->entries[i].used = 0;
    for (size_t i = 0; t->huge && i < (size_t)t->huge_sets * t->huge_ways; i++)
        t->huge[i].used = 0;
    t->huge_live = false;
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

/* Parses "E[xW][,E[xW]]": the 4 KiB array, then optionally the 2 MiB array. */
int tlb_parse_geometries(const char *s, unsigned *entries, unsigned *ways, unsigned *huge_entries,
                         unsigned *huge_ways)
{
    char small[32];
    const char *comma = s ? strchr(s, ',') : NULL;
    unsigned he = TLB_HUGE_ENTRIES, hw = TLB_HUGE_WAYS;
    if (!comma)
        return tlb_parse_geometry(s, entries, ways) < 0 ? -EINVAL
                                                        : (*huge_entries = he, *huge_ways = hw, 0);
    if ((size_t)(comma - s) >= sizeof(small))
        return -EINVAL;
    memcpy(small, s, (size_t)(comma - s));
    small[comma - s] = '\0';
    if (tlb_parse_geometry(small, entries, ways) < 0 || tlb_parse_geometry(comma + 1, &he, &hw) < 0)
        return -EINVAL;
    *huge_entries = he;
    *huge_ways = hw;
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
