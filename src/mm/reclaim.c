/* Page replacement. Every frame that holds a user page (mapped anonymous page, page-cache
 * page, swap-cache page) is on one list, linked through its frame descriptor, and in a
 * dense array. When the pool is empty, phys_alloc calls reclaim_one(), which asks the
 * policy for a victim and evicts it:
 *   fifo   - the head of the list (the order pages became resident);
 *   clock  - the hand sweeps the list as a circle; a page with an accessed bit in any of
 *            its PTEs is spared, its bits cleared (mm_set_pte invalidates the TLBs, so the
 *            next touch sets the bit again);
 *   lru    - the head of a list kept in order of last noted use (reclaim_note_use);
 *   random - a uniformly chosen entry of the dense array (xorshift64, seeded).
 * Eviction unmaps the page from every owner through the reverse map: a file page is
 * written back when dirty and dropped (a shadow entry remembers it for refault counting);
 * an anonymous page is written to a swap slot (unless its swap-cache copy is still valid)
 * and every PTE becomes a swap entry. Pages of locked areas, shared anonymous memory,
 * frames held by vmemu code for a moment and anonymous pages without a free slot are
 * skipped. Called by the frame pool (hooks) and the MMU (reclaim_note_use). */
#include "vmemu/reclaim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/mm_types.h"
#include "vmemu/pte.h"
#include "vmemu/thp.h"

static const char *const policy_names[POLICY_COUNT] = {
    [POLICY_FIFO] = "fifo",
    [POLICY_CLOCK] = "clock",
    [POLICY_LRU] = "lru",
    [POLICY_RANDOM] = "random",
};

/* Parses a policy name. Returns 0 or -EINVAL. */
int reclaim_policy_parse(const char *name, enum reclaim_policy *out)
{
    for (int i = 0; i < POLICY_COUNT; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (enum reclaim_policy)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* The name of a policy ("?" for none). */
const char *reclaim_policy_name(enum reclaim_policy policy)
{
    return policy >= 0 && policy < POLICY_COUNT ? policy_names[policy] : "?";
}

static struct frame *rc_frame(const struct reclaim *rc, pfn_t pfn)
{
    return phys_frame(&rc->sys->phys, pfn);
}

/* splitmix64 of the seed: the xorshift state (never 0), so that small seeds start well. */
static uint64_t rng_seed_state(uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z ? z : 1;
}

static uint64_t rng_next(struct reclaim *rc)
{
    uint64_t x = rc->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rc->rng = x;
    return x;
}

/* Appends pfn at the tail (newest / most recently used end). */
static void list_add_tail(struct reclaim *rc, pfn_t pfn)
{
    struct frame *fr = rc_frame(rc, pfn);
    fr->lru_prev = (uint32_t)rc->tail;
    fr->lru_next = 0;
    if (rc->tail)
        rc_frame(rc, rc->tail)->lru_next = (uint32_t)pfn;
    else
        rc->head = pfn;
    rc->tail = pfn;
}

/* Unlinks pfn, moving the clock hand past it first. */
static void list_unlink(struct reclaim *rc, pfn_t pfn)
{
    struct frame *fr = rc_frame(rc, pfn);
    if (rc->hand == pfn)
        rc->hand = fr->lru_next;
    if (fr->lru_prev)
        rc_frame(rc, fr->lru_prev)->lru_next = fr->lru_next;
    else
        rc->head = fr->lru_next;
    if (fr->lru_next)
        rc_frame(rc, fr->lru_next)->lru_prev = fr->lru_prev;
    else
        rc->tail = fr->lru_prev;
    fr->lru_prev = fr->lru_next = 0;
}

/* Hook: pfn holds a user page now. */
static void reclaim_track(void *ctx, pfn_t pfn)
{
    struct reclaim *rc = ctx;
    struct frame *fr = rc_frame(rc, pfn);
    if (fr->flags & (FRAME_PAGETABLE | FRAME_ZERO | FRAME_PINNED))
        return;
    fr->flags |= FRAME_LISTED;
    fr->last_use = rc->epoch;
    list_add_tail(rc, pfn);
    fr->dense_pos = (uint32_t)rc->nlisted;
    rc->dense[rc->nlisted++] = pfn;
}

/* Hook: pfn is being freed. */
static void reclaim_untrack(void *ctx, pfn_t pfn)
{
    struct reclaim *rc = ctx;
    struct frame *fr = rc_frame(rc, pfn);
    list_unlink(rc, pfn);
    pfn_t last = rc->dense[--rc->nlisted];
    rc->dense[fr->dense_pos] = last;
    rc_frame(rc, last)->dense_pos = fr->dense_pos;
    fr->flags &= ~FRAME_LISTED;
}

static int reclaim_hook(void *ctx)
{
    return reclaim_one(ctx);
}

/* Chooses the policy and seeds the random generator. */
void reclaim_set_policy(struct reclaim *rc, enum reclaim_policy policy, uint64_t seed)
{
    rc->policy = policy;
    rc->seed = seed;
    rc->rng = rng_seed_state(seed);
}

/* Sets up the state and hooks it into the pool. Returns 0 or -ENOMEM. */
int reclaim_init(struct reclaim *rc, struct vmsys *sys, enum reclaim_policy policy, uint64_t seed)
{
    memset(rc, 0, sizeof(*rc));
    rc->sys = sys;
    reclaim_set_policy(rc, policy, seed);
    rc->dense = malloc(sys->phys.nframes * sizeof(*rc->dense));
    if (!rc->dense)
        return -ENOMEM;
    sys->phys.hooks = (struct phys_reclaim_hooks){
        .reclaim = reclaim_hook, .track = reclaim_track, .untrack = reclaim_untrack, .ctx = rc};
    return 0;
}

/* Unhooks from the pool and frees the state. */
void reclaim_destroy(struct reclaim *rc)
{
    if (rc->sys)
        memset(&rc->sys->phys.hooks, 0, sizeof(rc->sys->phys.hooks));
    free(rc->dense);
    memset(rc, 0, sizeof(*rc));
}

/* Starts an lru epoch at each page fault. */
void reclaim_fault_begin(struct reclaim *rc)
{
    if (rc->policy != POLICY_LRU)
        return;
    rc->epoch++;
    rc->sys->cpu_flush_pending |= VM_FLUSH_RECLAIM;
}

/* Remembers the frame a page fault mapped. */
void reclaim_note_fault(struct reclaim *rc, pfn_t pfn)
{
    rc->recent[rc->recent_pos] = pfn;
    rc->recent_pos = (rc->recent_pos + 1) % RECLAIM_RECENT;
}

static bool frame_recent(const struct reclaim *rc, pfn_t pfn)
{
    for (unsigned i = 0; i < RECLAIM_RECENT; i++)
        if (rc->recent[i] == pfn)
            return true;
    return false;
}

/* Notes a touch of pfn: lru moves it to the most-recent end once per epoch. */
void reclaim_note_use(struct reclaim *rc, pfn_t pfn)
{
    if (rc->policy != POLICY_LRU)
        return; /* every translation comes here: nothing else to do for other policies */
    struct frame *fr = rc_frame(rc, pfn);
    if (!(fr->flags & FRAME_LISTED) || fr->last_use == rc->epoch)
        return;
    fr->last_use = rc->epoch;
    list_unlink(rc, pfn);
    list_add_tail(rc, pfn);
}

/* Whether any PTE of pfn lies in a locked area. */
static bool frame_locked(const struct frame *fr)
{
    for (const struct rmap *r = fr->rmap; r; r = r->next) {
        const struct vma *v = vma_lookup(&r->mm->vmas, r->va);
        if (v && (v->flags & VM_LOCKED))
            return true;
    }
    return false;
}

/* Whether pfn may be evicted at all: a user page nobody holds beyond its mappings and its
 * cache, outside locked areas, not shared anonymous memory. */
static bool frame_evictable(const struct reclaim *rc, pfn_t pfn)
{
    const struct frame *fr = rc_frame(rc, pfn);
    bool in_pc = fr->flags & FRAME_PAGECACHE, in_sc = fr->flags & FRAME_SWAPCACHE;
    if (fr->flags & (FRAME_PAGETABLE | FRAME_ZERO | FRAME_PINNED))
        return false;
    if (fr->refcount != phys_mapcount(&rc->sys->phys, pfn) + in_pc + in_sc)
        return false; /* vmemu code holds it for a moment */
    if (in_pc && ((const struct vfile *)fr->owner)->shmem)
        return false;
    if (!in_pc && !in_sc && rc->sys->swap.max_slots == 0)
        return false; /* anonymous with no swap area */
    return !frame_locked(fr);
}

/* Clock: whether a PTE of pfn has its accessed bit set; clears them all. */
static bool frame_test_clear_young(struct reclaim *rc, pfn_t pfn)
{
    bool young = false;
    for (struct rmap *r = rc_frame(rc, pfn)->rmap; r; r = r->next) {
        pte_t *ptep = mm_rmap_pte(r);
        if (*ptep & PTE_A) {
            young = true;
            mm_set_pte(r->mm, r->va, ptep, *ptep & ~PTE_A);
        }
    }
    return young;
}

/* Evicts a file page: unmapped everywhere (dirty bits move to the frame), written back
 * when dirty, then dropped with a shadow entry. Returns 0 or -EIO (the page stays cached,
 * unmapped). */
static int evict_file_page(struct reclaim *rc, pfn_t pfn)
{
    struct vmsys *sys = rc->sys;
    struct frame *fr = rc_frame(rc, pfn);
    while (fr->rmap) {
        struct rmap *r = fr->rmap;
        mm_zap_page(r->mm, r->va, mm_rmap_pte(r));
    }
    if (fr->flags & FRAME_DIRTY) {
        if (pagecache_write_page(&sys->pc, pfn) < 0)
            return -EIO;
        rc->stats.writebacks++;
    } else {
        rc->stats.file_dropped++;
    }
    pagecache_evict(&sys->pc, pfn);
    return 0;
}

/* Evicts an anonymous page to swap: picks its slot (the swap-cache one when its copy is
 * still valid or only the cache uses it, else a new one), writes it unless clean, and
 * turns every PTE that maps it into a swap entry. Returns 0, -ENOSPC or -EIO (nothing
 * changed). */
static int evict_anon_page(struct reclaim *rc, pfn_t pfn)
{
    struct vmsys *sys = rc->sys;
    struct swap_area *sw = &sys->swap;
    struct frame *fr = rc_frame(rc, pfn);
    bool dirty = false, in_sc = fr->flags & FRAME_SWAPCACHE;
    for (struct rmap *r = fr->rmap; r; r = r->next)
        dirty |= (*mm_rmap_pte(r) & PTE_D) != 0;

    uint64_t slot;
    if (in_sc && (!dirty || swap_count(sw, fr->index) == 1)) {
        slot = fr->index;
        swap_dup(sw, slot); /* held while the PTEs change */
    } else {
        int err = swap_alloc(sw, &slot);
        if (err < 0)
            return -ENOSPC;
        dirty = true;
    }
    if (dirty) {
        if (swap_write(sw, slot, phys_hva(&sys->phys, pfn)) < 0) {
            swap_free(sw, slot);
            return -EIO;
        }
        rc->stats.swap_outs++;
    } else {
        rc->stats.swap_clean++;
    }
    while (fr->rmap) {
        struct rmap *r = fr->rmap;
        struct mm *mm = r->mm;
        gva_t va = r->va;
        if (thp_split_at(mm, va))
            sys->thp.swpout_fallback++; /* a huge page is split, never swapped whole */
        swap_dup(sw, slot);
        mm_set_pte(mm, va, mm_rmap_pte(r), pte_make_swap(slot));
        mm->stats.swap_outs++;
        phys_rmap_del(&sys->phys, pfn, mm, va);
        mm->stats.rss--;
        phys_put(&sys->phys, pfn);
    }
    swap_free(sw, slot);
    if (in_sc)
        swap_cache_del(sw, &sys->phys, pfn); /* frees the frame */
    return 0;
}

/* Evicts pfn if it can be (a frame of the instruction in progress only when spare_recent
 * is false). Returns 0 when the frame was freed, or -errno to try another. */
static int evict(struct reclaim *rc, pfn_t pfn, bool spare_recent)
{
    if (spare_recent && frame_recent(rc, pfn)) {
        rc->spared = true;
        return -EBUSY;
    }
    if (!frame_evictable(rc, pfn)) {
        rc->stats.skipped++;
        return -EBUSY;
    }
    int err = rc_frame(rc, pfn)->flags & FRAME_PAGECACHE ? evict_file_page(rc, pfn)
                                                         : evict_anon_page(rc, pfn);
    if (err < 0) {
        rc->stats.skipped++;
        return err;
    }
    return 0;
}

/* fifo and lru: the first evictable frame from the head. */
static int pick_from_head(struct reclaim *rc, bool spare_recent)
{
    for (pfn_t pfn = rc->head; pfn;) {
        pfn_t next = rc_frame(rc, pfn)->lru_next;
        rc->stats.scans++;
        if (evict(rc, pfn, spare_recent) == 0)
            return 0;
        pfn = next;
    }
    return -ENOMEM;
}

/* clock: sweep from the hand, sparing young frames once. Two full turns find a victim if
 * there is one (the first clears every accessed bit). */
static int pick_clock(struct reclaim *rc, bool spare_recent)
{
    uint64_t budget = 2 * rc->nlisted + 1;
    while (budget-- > 0 && rc->nlisted > 0) {
        pfn_t pfn = rc->hand ? rc->hand : rc->head;
        rc->hand = rc_frame(rc, pfn)->lru_next;
        rc->stats.scans++;
        if (spare_recent && frame_recent(rc, pfn)) {
            rc->spared = true; /* its accessed bit is left for the pass that may take it */
            continue;
        }
        if (frame_test_clear_young(rc, pfn))
            continue;
        if (evict(rc, pfn, spare_recent) == 0)
            return 0;
    }
    return -ENOMEM;
}

/* random: a random entry of the dense array, then its successors in the array. */
static int pick_random(struct reclaim *rc, bool spare_recent)
{
    if (rc->nlisted == 0)
        return -ENOMEM;
    uint64_t start = rng_next(rc) % rc->nlisted;
    for (uint64_t i = 0; i < rc->nlisted; i++) {
        pfn_t pfn = rc->dense[(start + i) % rc->nlisted];
        rc->stats.scans++;
        if (evict(rc, pfn, spare_recent) == 0)
            return 0;
    }
    return -ENOMEM;
}

static int pick(struct reclaim *rc, bool spare_recent)
{
    switch (rc->policy) {
    case POLICY_CLOCK:
        return pick_clock(rc, spare_recent);
    case POLICY_RANDOM:
        return pick_random(rc, spare_recent);
    default:
        return pick_from_head(rc, spare_recent);
    }
}

/* Evicts one page chosen by the policy. Returns 0 or -ENOMEM (nothing evictable). */
int reclaim_one(struct reclaim *rc)
{
    int err;
    VMEMU_BUG_ON(rc->running);
    rc->running = true;
    rc->spared = false;
    pfn_t hand = rc->hand;
    uint64_t rng = rc->rng;
    err = pick(rc, true);
    if (err < 0 && rc->spared) {
        /* Memory is so small that the pages of the last faults must go: choose again as
         * if they had not been spared. */
        rc->hand = hand;
        rc->rng = rng;
        err = pick(rc, false);
    }
    rc->running = false;
    if (err < 0) {
        rc->stats.failures++;
        return err;
    }
    rc->stats.evictions++;
    return 0;
}
