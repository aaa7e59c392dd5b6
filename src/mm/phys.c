/* The frame pool: one host mapping of --mem bytes (MAP_NORESERVE, so only frames that are
 * touched cost host memory), a descriptor per frame with its reference count, flags and
 * reverse map, and the shared zero page. Frame 0 is never handed out, so pfn 0 means
 * "none". Freed frames are reused last-in first-out: they are already resident on the
 * host, which makes a demand-zero fault cheap. When the pool is empty, phys_alloc asks the
 * replacement hooks (src/mm/reclaim.c) to evict a page. Called by the page tables, the page
 * cache, the swap cache and the fault path. Transparent huge pages take order-9 blocks
 * (512 contiguous frames, 2 MiB-aligned) with phys_alloc_huge: from never-used memory
 * first, else a block whose 512 frames are all on the free stack (block_free counts them,
 * so the 4 KiB path pays one increment or decrement). The host memory behind the pool
 * (huge pages, populating a block at its first frame, giving idle blocks back) is
 * phys_host.c's; frames whose host memory is known to read as zero are not zeroed again. */
#include "vmemu/phys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Creates the pool and its zero page. Returns 0, -EINVAL (fewer than 4 frames) or -ENOMEM. */
int phys_init(struct phys *p, uint64_t bytes)
{
    memset(p, 0, sizeof(*p));
    p->nframes = bytes >> PAGE_SHIFT;
    if (p->nframes < 4)
        return -EINVAL;
    p->bytes = p->nframes << PAGE_SHIFT;
    p->mem = phys_host_map(p, p->bytes);
    if (!p->mem)
        return -ENOMEM;
    p->frames = calloc(p->nframes, sizeof(*p->frames));
    p->free_stack = malloc(p->nframes * sizeof(*p->free_stack));
    uint64_t nblocks = (p->nframes + HPAGE_FRAMES - 1) / HPAGE_FRAMES;
    p->block_free = calloc(nblocks, sizeof(*p->block_free));
    p->block_pmd_maps = calloc(nblocks, sizeof(*p->block_pmd_maps));
    p->block_state = calloc(nblocks, sizeof(*p->block_state));
    if (!p->frames || !p->free_stack || !p->block_free || !p->block_pmd_maps || !p->block_state) {
        phys_destroy(p);
        return -ENOMEM;
    }
    p->next_fresh = 1;
    if (phys_alloc(p, false, &p->zero_pfn) < 0) {
        phys_destroy(p);
        return -ENOMEM;
    }
    p->frames[p->zero_pfn].flags = FRAME_ZERO | FRAME_PINNED;
    return 0;
}

/* Releases the pool mapping and the descriptors (reverse-map records included). */
void phys_destroy(struct phys *p)
{
    if (p->frames) {
        /* Only frames ever handed out can have records (and touching the rest of a large
         * descriptor array would cost host page faults). */
        for (uint64_t i = 0; i < p->next_fresh; i++) {
            struct rmap *r = p->frames[i].rmap;
            while (r) {
                struct rmap *next = r->next;
                free(r);
                r = next;
            }
        }
    }
    if (p->mem)
        munmap(p->mem, p->bytes);
    free(p->frames);
    free(p->free_stack);
    free(p->block_free);
    free(p->block_pmd_maps);
    free(p->block_state);
    free(p->hugetlb_free);
    free(p->hugetlb_back);
    memset(p, 0, sizeof(*p));
}

/* Makes the free frame pfn allocated: refcount 1, no flags; a frame that held executed
 * code is announced to the CPU first. */
static void frame_take(struct phys *p, pfn_t pfn)
{
    struct frame *f = &p->frames[pfn];
    VMEMU_BUG_ON(f->refcount != 0 || f->rmap != NULL);
    if (f->flags & FRAME_EXECUTED)
        phys_before_write(p, pfn);
    f->flags = 0;
    f->refcount = 1;
    f->owner = NULL;
    f->index = 0;
}

/* Block b is about to lose its first free frame: it stops being idle, or, given back to
 * the host, becomes resident again. */
static void block_wake(struct phys *p, uint64_t b)
{
    if (p->block_state[b] & PHYS_BLOCK_RELEASED) {
        p->block_state[b] &= (uint8_t)~PHYS_BLOCK_RELEASED;
        phys_host_populate(p, b);
    } else {
        p->idle_blocks--;
    }
}

/* Block b has just become wholly free: it is idle, and given back to the host when more
 * than PHYS_IDLE_KEEP blocks are. */
static void block_idle(struct phys *p, uint64_t b)
{
    if (++p->idle_blocks <= PHYS_IDLE_KEEP || phys_host_release(p, b) < 0)
        return;
    p->block_state[b] |= PHYS_BLOCK_RELEASED;
    p->idle_blocks--;
}

/* Takes a free frame (recycled first, then never-used ones) with refcount 1; zeroes it
 * when asked and its memory is not known to read as zero. Frames that held executed code
 * are announced to the CPU first. Returns 0 or -ENOMEM. */
int phys_alloc(struct phys *p, bool zero, pfn_t *out)
{
    pfn_t pfn;

    while (p->nfree_stack == 0 && p->next_fresh >= p->nframes) {
        /* Reclaim frees frames and never allocates, so this cannot recurse. */
        if (!p->hooks.reclaim || p->hooks.reclaim(p->hooks.ctx) < 0)
            return -ENOMEM;
    }
    if (p->nfree_stack > 0) {
        pfn = p->free_stack[--p->nfree_stack];
        if (p->block_free[pfn / HPAGE_FRAMES]-- == HPAGE_FRAMES)
            block_wake(p, pfn / HPAGE_FRAMES);
        if (p->frames[pfn].flags & FRAME_ZEROED)
            zero = false;
    } else {
        pfn = p->next_fresh++;
        if (pfn % HPAGE_FRAMES == 0 || pfn == 1)
            phys_host_populate(p, pfn / HPAGE_FRAMES); /* the block's first frame */
        zero = false;                                  /* never-touched host memory reads as zero */
    }
    frame_take(p, pfn);
    if (zero)
        memset(phys_hva(p, pfn), 0, PAGE_SIZE);
    if (++p->used > p->peak_used)
        p->peak_used = p->used;
    *out = pfn;
    return 0;
}

/* Adds a reference to an allocated frame. */
void phys_get(struct phys *p, pfn_t pfn)
{
    VMEMU_BUG_ON(pfn == 0 || pfn >= p->nframes || p->frames[pfn].refcount == 0);
    p->frames[pfn].refcount++;
}

/* Drops a reference; the last one returns the frame to the free stack (keeping its
 * FRAME_EXECUTED mark so its code is invalidated before reuse). */
void phys_put(struct phys *p, pfn_t pfn)
{
    VMEMU_BUG_ON(pfn == 0 || pfn >= p->nframes || p->frames[pfn].refcount == 0);
    struct frame *f = &p->frames[pfn];
    if (--f->refcount > 0)
        return;
    VMEMU_BUG_ON(pfn == p->zero_pfn);
    VMEMU_BUG_ON(f->rmap != NULL);
    VMEMU_BUG_ON(f->flags & FRAME_SWAPCACHE);
    if ((f->flags & FRAME_LISTED) && p->hooks.untrack)
        p->hooks.untrack(p->hooks.ctx, pfn);
    if (f->flags & FRAME_HUGETLB) {
        /* Back to the hugetlb pool; the block is free again with its last frame. */
        f->flags &= FRAME_EXECUTED | FRAME_HUGETLB | FRAME_PINNED;
        f->owner = NULL;
        p->used--;
        if (++p->hugetlb_back[pfn / HPAGE_FRAMES] == HPAGE_FRAMES)
            p->hugetlb_free[p->hugetlb_nfree++] = pfn & ~(pfn_t)(HPAGE_FRAMES - 1);
        return;
    }
    f->flags &= FRAME_EXECUTED;
    f->owner = NULL;
    p->free_stack[p->nfree_stack++] = pfn;
    if (++p->block_free[pfn / HPAGE_FRAMES] == HPAGE_FRAMES)
        block_idle(p, pfn / HPAGE_FRAMES);
    p->used--;
}

/* Hands out the frames [head, head + 512) that the caller took off the free lists. */
static void huge_take(struct phys *p, pfn_t head, bool zero)
{
    for (pfn_t pfn = head; pfn < head + HPAGE_FRAMES; pfn++)
        frame_take(p, pfn);
    if (zero)
        memset(phys_hva(p, head), 0, HPAGE_FRAMES * PAGE_SIZE);
    p->used += HPAGE_FRAMES;
    if (p->used > p->peak_used)
        p->peak_used = p->used;
    p->huge_allocs++;
}

/* Takes an order-9 block: never-used memory first (the frames skipped to reach a 2 MiB
 * boundary go to the free stack), else a wholly free recycled block, whose frames leave
 * the free stack in one pass. Returns 0 or -ENOMEM (no whole block free). */
int phys_alloc_huge(struct phys *p, pfn_t *head)
{
    pfn_t fresh = (p->next_fresh + HPAGE_FRAMES - 1) & ~(pfn_t)(HPAGE_FRAMES - 1);
    if (fresh + HPAGE_FRAMES <= p->nframes) {
        for (pfn_t pfn = p->next_fresh; pfn < fresh; pfn++) {
            p->free_stack[p->nfree_stack++] = pfn;
            p->block_free[pfn / HPAGE_FRAMES]++;
            p->frames[pfn].flags |= FRAME_ZEROED; /* never handed out */
        }
        p->next_fresh = fresh + HPAGE_FRAMES;
        phys_host_populate(p, fresh / HPAGE_FRAMES);
        huge_take(p, fresh, false); /* never-touched host memory reads as zero */
        *head = fresh;
        return 0;
    }
    uint64_t nblocks = p->nframes / HPAGE_FRAMES;
    for (uint64_t b = nblocks; b-- > 0;) {
        if (p->block_free[b] != HPAGE_FRAMES)
            continue;
        uint64_t kept = 0;
        for (uint64_t i = 0; i < p->nfree_stack; i++)
            if (p->free_stack[i] / HPAGE_FRAMES != b)
                p->free_stack[kept++] = p->free_stack[i];
        p->nfree_stack = kept;
        p->block_free[b] = 0;
        bool released = p->block_state[b] & PHYS_BLOCK_RELEASED;
        block_wake(p, b);
        *head = b * HPAGE_FRAMES;
        huge_take(p, *head, !released); /* a block given back reads as zero */
        return 0;
    }
    return -ENOMEM;
}

/* Moves n order-9 blocks into the hugetlb pool. Returns 0 or -ENOMEM. */
int phys_hugetlb_init(struct phys *p, uint64_t n)
{
    uint64_t nblocks = (p->nframes + HPAGE_FRAMES - 1) / HPAGE_FRAMES;
    if (n == 0)
        return 0;
    if (n > nblocks)
        return -ENOMEM;
    p->hugetlb_free = calloc(n, sizeof(*p->hugetlb_free));
    p->hugetlb_back = calloc(nblocks, sizeof(*p->hugetlb_back));
    if (!p->hugetlb_free || !p->hugetlb_back)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        pfn_t head;
        if (phys_alloc_huge(p, &head) < 0)
            return -ENOMEM;
        for (pfn_t pfn = head; pfn < head + HPAGE_FRAMES; pfn++) {
            p->frames[pfn].flags = FRAME_HUGETLB | FRAME_PINNED;
            p->frames[pfn].refcount = 0;
        }
        p->used -= HPAGE_FRAMES;
        p->hugetlb_back[head / HPAGE_FRAMES] = HPAGE_FRAMES;
        p->hugetlb_free[p->hugetlb_nfree++] = head;
        p->hugetlb_total++;
    }
    p->huge_allocs -= n;
    return 0;
}

/* Takes a free hugetlb block, zeroed. Returns 0 or -ENOMEM. */
int phys_hugetlb_alloc(struct phys *p, pfn_t *head)
{
    if (p->hugetlb_nfree == 0)
        return -ENOMEM;
    *head = p->hugetlb_free[--p->hugetlb_nfree];
    p->hugetlb_back[*head / HPAGE_FRAMES] = 0;
    for (pfn_t pfn = *head; pfn < *head + HPAGE_FRAMES; pfn++) {
        struct frame *f = &p->frames[pfn];
        VMEMU_BUG_ON(f->refcount != 0 || f->rmap != NULL);
        if (f->flags & FRAME_EXECUTED)
            phys_before_write(p, pfn);
        f->refcount = 1;
        f->index = 0;
    }
    memset(phys_hva(p, *head), 0, HPAGE_FRAMES * PAGE_SIZE);
    p->used += HPAGE_FRAMES;
    if (p->used > p->peak_used)
        p->peak_used = p->used;
    return 0;
}

/* Frames that can still be allocated. */
uint64_t phys_free_frames(const struct phys *p)
{
    return p->nfree_stack + (p->nframes - p->next_fresh);
}

/* Records that (mm, va) maps pfn. Returns 0 or -ENOMEM. */
int phys_rmap_add(struct phys *p, pfn_t pfn, struct mm *mm, gva_t va)
{
    struct rmap *r = malloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->mm = mm;
    r->va = va;
    r->next = p->frames[pfn].rmap;
    p->frames[pfn].rmap = r;
    phys_track(p, pfn);
    return 0;
}

/* Makes an allocated user-page frame a replacement candidate (once). */
void phys_track(struct phys *p, pfn_t pfn)
{
    if (p->hooks.track && !(p->frames[pfn].flags & FRAME_LISTED))
        p->hooks.track(p->hooks.ctx, pfn);
}

/* Number of reverse-map entries of pfn. */
uint32_t phys_mapcount(const struct phys *p, pfn_t pfn)
{
    uint32_t n = 0;
    for (const struct rmap *r = p->frames[pfn].rmap; r; r = r->next)
        n++;
    return n;
}

/* Forgets that (mm, va) maps pfn; the record must exist. */
void phys_rmap_del(struct phys *p, pfn_t pfn, struct mm *mm, gva_t va)
{
    struct rmap **pp = &p->frames[pfn].rmap;
    while (*pp) {
        if ((*pp)->mm == mm && (*pp)->va == va) {
            struct rmap *r = *pp;
            *pp = r->next;
            free(r);
            return;
        }
        pp = &(*pp)->next;
    }
    vmemu_bug(__FILE__, __LINE__, "rmap entry missing");
}

/* Drops translated code of pfn if the CPU ever ran it, before vmemu writes into it. */
void phys_before_write(struct phys *p, pfn_t pfn)
{
    struct frame *f = &p->frames[pfn];
    if ((f->flags & FRAME_EXECUTED) && p->code_hook) {
        p->code_hook(p->code_ctx, pfn);
        f->flags &= ~FRAME_EXECUTED;
    }
}
