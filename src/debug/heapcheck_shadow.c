/* The compact arena's shadow at work: every guest access to the arena comes here (the CPU
 * layer's watched range, cpu_watch_range) and is checked against the shadow before it is
 * done; a byte outside a live block is reported at once, once per instruction. Also the
 * search from an address to its block (by the shadow in the compact arena, by the page map
 * in guard mode), for reports, the crash report and the leak search. */
#include <stdlib.h>

#include "heapcheck_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/syscall_names.h"

/* Whether a shadow byte belongs to a block's bytes (live or freed). */
static bool hc_user_granule(uint8_t s)
{
    return s < HC_GRANULE || s == HC_SH_FREED;
}

/* The block whose bytes include granule g: the run of block granules is scanned back to
 * its start (two blocks' bytes are never adjacent: a slot starts with 16 red-zone bytes). */
static struct hc_block *hc_block_at(const struct heapcheck *h, size_t g)
{
    while (g > 0 && hc_user_granule(h->shadow[g - 1]))
        g--;
    return hc_lookup(h, HC_BASE + g * HC_GRANULE);
}

/* The block of va; see heapcheck_int.h. */
struct hc_block *hc_find(const struct heapcheck *h, gva_t va)
{
    if (va < HC_BASE || va >= h->mapped_end)
        return NULL;
    if (h->guard) {
        uint32_t idx = h->pagemap[(va - HC_BASE) >> PAGE_SHIFT];
        return idx ? &h->blocks[idx - 1] : NULL;
    }
    const uint8_t *sh = h->shadow;
    size_t g = (va - HC_BASE) / HC_GRANULE, n = (h->mapped_end - HC_BASE) / HC_GRANULE;
    if (hc_user_granule(sh[g]))
        return hc_block_at(h, g);
    struct hc_block *next = NULL, *prev = NULL;
    if (sh[g] == HC_SH_LEFT) {
        size_t f = g;
        while (f < n && sh[f] == HC_SH_LEFT)
            f++;
        if (f < n && hc_user_granule(sh[f]))
            next = hc_lookup(h, HC_BASE + f * HC_GRANULE);
    }
    /* Back over red zones and unused memory (not far) to the previous block's end. */
    size_t b = g, limit = g > 512 ? g - 512 : 0;
    while (b > limit && !hc_user_granule(sh[b]))
        b--;
    if (hc_user_granule(sh[b]))
        prev = hc_block_at(h, b);
    if (prev && next)
        return va - (prev->user + prev->size) < next->user - va ? prev : next;
    return prev ? prev : next;
}

/* The checker of p's heap (a thread's is its process's, a vfork child's its parent's). */
static struct heapcheck *hc_of(struct proc *p)
{
    if (p->heap)
        return p->heap;
    if (p->leader && p->leader->heap)
        return p->leader->heap;
    if (p->mm_borrowed && p->vfork_parent)
        return p->vfork_parent->heap;
    return NULL;
}

/* The CPU layer's filter; see heapcheck_int.h. */
const struct cpu_watch_filter *hc_filter(void *ctx)
{
    struct sched *s = ctx;
    struct heapcheck *h = s->current ? hc_of(s->current) : NULL;
    if (!h || h->guard)
        return NULL;
    h->filter = (struct cpu_watch_filter){.map = h->shadow, .base = HC_BASE, .end = h->mapped_end};
    return &h->filter;
}

/* A watched access; see heapcheck_int.h. */
void hc_access(void *ctx, gva_t va, unsigned size, bool write)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    struct heapcheck *h = p ? hc_of(p) : NULL;
    if (!h || h->guard || va < HC_BASE || va + size > h->mapped_end || size == 0)
        return;
    uint64_t off = va - HC_BASE;
    const uint8_t *sh = h->shadow + off / HC_GRANULE;
    unsigned in = (unsigned)(off % HC_GRANULE);
    if (in + size <= HC_GRANULE && (sh[0] == 0 || (sh[0] < HC_GRANULE && in + size <= sh[0])))
        return; /* the common case: within one granule of a live block */
    if (!write && (size & (size - 1)) == 0 && size >= 8 && va % size == 0 &&
        (sh[0] == 0 || sh[0] < HC_GRANULE))
        return; /* an aligned word load that starts in a live block: libc's string functions
                   read whole words past a string's end (memcheck's --partial-loads-ok) */
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i;
        uint8_t v = h->shadow[o / HC_GRANULE];
        unsigned ok = v == 0 ? HC_GRANULE : v < HC_GRANULE ? v : 0;
        if (o % HC_GRANULE >= ok) {
            hc_bad_access(h, p, va, size, write, va + i);
            return;
        }
    }
}

/* A syscall's copy; see heapcheck_int.h. */
void hc_copy_access(void *ctx, struct mm *mm, gva_t va, size_t n, bool write)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    struct heapcheck *h = p ? hc_of(p) : NULL;
    if (!h || h->guard || p->mm != mm || p->trap.nr < 0 || !p->cpu)
        return;
    gva_t lo = va > HC_BASE ? va : HC_BASE, hi = va + n < h->mapped_end ? va + n : h->mapped_end;
    if (va + n < va)
        hi = h->mapped_end; /* a range that wraps: the kernel's copy fails, look anyway */
    for (gva_t a = lo; a < hi;) {
        uint8_t v = h->shadow[(a - HC_BASE) / HC_GRANULE];
        unsigned in = (unsigned)((a - HC_BASE) % HC_GRANULE);
        unsigned ok = v == 0 ? HC_GRANULE : v < HC_GRANULE ? v : 0;
        if (in >= ok) {
            const char *name = syscall_name((uint64_t)p->trap.nr);
            hc_bad_copy(h, p, va, n, write, a, name ? name : "syscall");
            return;
        }
        a += ok - in; /* the next granule, or this one's first byte past the block */
    }
}
