/* The heap profiler's accounting: allocation sites (a call stack each, found by a hash
 * table), the bytes and blocks each holds, the heap over time (samples stamped with the
 * allocator-call and fault sequence numbers, thinned by halves to HP_SAMPLES), the peak
 * and what each site held then, page faults charged to sites, and the resident pages of
 * each site's blocks (walked in the page table at the peak and at the end). */
#include <stdlib.h>
#include <string.h>

#include "heapprof_int.h"
#include "vmemu/pagetable.h"

/* The site of a stack; see heapprof_int.h. */
uint32_t hp_site_put(struct heapprof *h, const gva_t *pcs, uint32_t n)
{
    struct stack_key key;
    stack_key_make(&key, pcs, n);
    long found = stack_index_find(&h->stab, h->sites, sizeof(*h->sites), &key);
    if (found >= 0)
        return (uint32_t)found;
    if (h->nsites == h->capsites) {
        size_t cap = h->capsites ? h->capsites * 2 : 64;
        struct hp_site *g = realloc(h->sites, cap * sizeof(*g));
        if (!g)
            return HP_META_SITE;
        h->sites = g;
        h->capsites = cap;
    }
    struct hp_site *s = &h->sites[h->nsites];
    memset(s, 0, sizeof(*s));
    s->key = key;
    if (stack_index_add(&h->stab, h->sites, sizeof(*h->sites), h->nsites + 1, 256) < 0)
        return HP_META_SITE;
    return (uint32_t)h->nsites++;
}

/* Whether the page at va holds a frame of its own (present, not the zero page). */
static bool hp_resident(struct mm *mm, gva_t va)
{
    const struct phys *phys = &mm->sys->phys;
    const pte_t *pte = pt_lookup(&mm->pt, phys, va);
    return pte && pte_present(*pte) && pte_pfn(*pte) != phys->zero_pfn;
}

/* A resident walk in progress. */
struct hp_walk {
    struct heapprof *h; /* the profile */
    struct mm *mm;      /* its address space */
    bool at_exit;       /* count into resident_exit (else resident_peak) */
};

/* Counts the resident pages of block b into its site, each page once per site: blocks come
 * in address order, so a site's pages are counted in increasing order. */
static void hp_walk_block(void *ctx, const struct hp_node *b)
{
    struct hp_walk *w = ctx;
    if (b->site == HP_META_SITE || b->size == 0)
        return;
    struct hp_site *s = &w->h->sites[b->site];
    gva_t first = PAGE_DOWN(b->start), last = PAGE_DOWN(b->start + b->size - 1);
    if (s->walk_last != 0 && first <= s->walk_last)
        first = s->walk_last + PAGE_SIZE;
    for (gva_t va = first; va <= last && va >= first; va += PAGE_SIZE) {
        if (hp_resident(w->mm, va)) {
            if (w->at_exit)
                s->resident_exit++;
            else
                s->resident_peak++;
        }
        s->walk_last = va;
    }
}

static void hp_walk(struct heapprof *h, struct mm *mm, bool at_exit)
{
    struct hp_walk w = {.h = h, .mm = mm, .at_exit = at_exit};
    for (size_t i = 0; i < h->nsites; i++) {
        h->sites[i].walk_last = 0;
        if (at_exit)
            h->sites[i].resident_exit = 0;
        else
            h->sites[i].resident_peak = 0;
    }
    hp_map_walk(&h->map, hp_walk_block, &w);
}

/* The peak's numbers; see heapprof_int.h. The per-site bytes are exact at every peak; the
 * resident pages are walked (O(live pages)) only at a peak 1/8 above the last walked one,
 * so that a heap that grows by small steps is not walked at each. */
void hp_snapshot_peak(struct heapprof *h, struct mm *mm)
{
    if (!h->peak_pending)
        return;
    h->peak_pending = false;
    for (size_t i = 0; i < h->nsites; i++) {
        h->sites[i].peak_bytes = h->sites[i].live_bytes;
        h->sites[i].peak_blocks = h->sites[i].live_blocks;
    }
    if (mm && (h->walked_bytes == 0 || h->peak_bytes >= h->walked_bytes + h->walked_bytes / 8)) {
        hp_walk(h, mm, false);
        h->walked_bytes = h->peak_bytes;
        h->walked_call = h->peak_call;
    }
}

/* A new block; see heapprof_int.h. */
void hp_block_add(struct heapprof *h, struct mm *mm, gva_t va, uint64_t size, uint32_t site)
{
    (void)mm;
    if (hp_map_find(&h->map, va))
        hp_block_remove(h, mm, va); /* freed behind our back (a nested call): replaced */
    if (hp_map_insert(&h->map, va, size, site) < 0)
        return;
    h->allocs++;
    h->live_bytes += size;
    h->live_blocks++;
    if (site != HP_META_SITE) {
        struct hp_site *s = &h->sites[site];
        s->allocs++;
        s->bytes_total += size;
        s->live_bytes += size;
        s->live_blocks++;
    }
    if (h->live_bytes > h->peak_bytes) {
        h->peak_bytes = h->live_bytes;
        h->peak_blocks = h->live_blocks;
        h->peak_call = h->calls + 1; /* this call's number */
        h->peak_fault_seq = mm ? mm->sys->fault_seq : 0;
        h->peak_pending = true;
    }
}

/* A block freed; see heapprof_int.h. */
void hp_block_remove(struct heapprof *h, struct mm *mm, gva_t va)
{
    struct hp_node b;
    if (!hp_map_find(&h->map, va))
        return;
    hp_snapshot_peak(h, mm);
    hp_map_remove(&h->map, va, &b);
    h->frees++;
    h->live_bytes -= b.size;
    h->live_blocks--;
    if (b.site != HP_META_SITE) {
        h->sites[b.site].live_bytes -= b.size;
        h->sites[b.site].live_blocks--;
    }
}

/* A timeline sample; see heapprof_int.h. */
void hp_note_call(struct heapprof *h, uint64_t fault_seq)
{
    h->calls++;
    if (h->tl_stride == 0)
        h->tl_stride = 1;
    if (h->calls % h->tl_stride != 0)
        return;
    if (h->ntl == HP_SAMPLES) { /* keep every other sample, and sample half as often */
        for (size_t i = 0; i < HP_SAMPLES / 2; i++)
            h->tl[i] = h->tl[2 * i + 1];
        h->ntl = HP_SAMPLES / 2;
        h->tl_stride *= 2;
        if (h->calls % h->tl_stride != 0)
            return;
    }
    if (!h->tl && !(h->tl = malloc(HP_SAMPLES * sizeof(*h->tl))))
        return;
    h->tl[h->ntl++] = (struct hp_sample){
        .call = h->calls, .fault_seq = fault_seq, .bytes = h->live_bytes, .blocks = h->live_blocks};
}

/* Whether addr (in an anonymous area) is heap memory: the brk area, or an anonymous area
 * that holds a live block (an mmap arena, a big block's own mapping, a musl group). */
static bool hp_is_heap(const struct heapprof *h, struct mm *mm, gva_t addr)
{
    const struct vma *v = vma_lookup(&mm->vmas, addr);
    if (!v)
        return false;
    if (v->kind == VMA_HEAP)
        return true;
    const struct hp_node *b = hp_map_ceil(&h->map, v->start);
    if (b && b->start < v->end)
        return true;
    b = hp_map_floor(&h->map, v->start);
    return b && b->start + b->size > v->start;
}

/* The live block holding addr when addr is exact, else the one covering most bytes of its
 * page (the lowest address on a tie), or NULL. */
static const struct hp_node *hp_block_at(const struct heapprof *h, gva_t addr)
{
    const struct hp_node *b;
    if ((addr & ~PAGE_MASK) != 0) { /* a copy helper's exact address */
        b = hp_map_floor(&h->map, addr);
        if (b && addr < b->start + b->size)
            return b;
    }
    gva_t pg = PAGE_DOWN(addr), end = pg + PAGE_SIZE;
    const struct hp_node *best = NULL;
    uint64_t best_n = 0;
    b = hp_map_floor(&h->map, pg);
    if (!b || b->start + b->size <= pg)
        b = hp_map_ceil(&h->map, pg);
    for (int k = 0; b && b->start < end && k < 512; k++) {
        gva_t lo = b->start > pg ? b->start : pg;
        gva_t hi = b->start + b->size < end ? b->start + b->size : end;
        if (hi > lo && hi - lo > best_n) {
            best = b;
            best_n = hi - lo;
        }
        b = hp_map_ceil(&h->map, b->start + 1);
    }
    return best;
}

/* Charges a fault; see heapprof_int.h. */
void hp_charge_fault(struct heapprof *h, struct mm *mm, gva_t addr, enum fault_class cls,
                     uint32_t site_hint, bool in_call)
{
    if (cls >= HP_NCLASSES)
        return;
    uint32_t site = HP_META_SITE;
    const struct vma *v = vma_lookup(&mm->vmas, addr);
    if (!v || v->file || (v->kind != VMA_ANON && v->kind != VMA_HEAP))
        return; /* the program's code and data, the stack: never heap memory */
    if (in_call) {
        site = site_hint;
    } else {
        const struct hp_node *b = hp_block_at(h, addr);
        if (b)
            site = b->site;
        else if (!hp_is_heap(h, mm, addr))
            return; /* not heap memory: the stack, the image, the program's own mmaps */
    }
    if (site == HP_META_SITE) {
        h->meta_faults[cls]++;
        return;
    }
    h->sites[site].faults[cls]++;
    h->faults_in_blocks++;
}

/* The resident pages at the end; see heapprof_int.h. */
void hp_walk_exit(struct heapprof *h, struct mm *mm)
{
    hp_walk(h, mm, true);
}

/* The last sample: the heap at the end; see heapprof_int.h. */
void hp_note_end(struct heapprof *h, uint64_t fault_seq)
{
    if (h->ntl > 0 && h->tl[h->ntl - 1].call == h->calls)
        return;
    if (h->ntl == HP_SAMPLES)
        h->ntl--; /* the end replaces the last sample */
    if (!h->tl && !(h->tl = malloc(HP_SAMPLES * sizeof(*h->tl))))
        return;
    h->tl[h->ntl++] = (struct hp_sample){
        .call = h->calls, .fault_seq = fault_seq, .bytes = h->live_bytes, .blocks = h->live_blocks};
}
