/* The heap checker's blocks: the table of live and quarantined blocks (a hash table by
 * user address), the checker's area at HC_BASE grown in HC_CHUNK steps with its shadow
 * (compact arena) or page map (guard mode), allocation, and the quarantine that keeps freed
 * blocks inaccessible until their slot is released.
 *
 * The compact arena packs slots of size classes (16-byte steps to 1 KiB, then 8 per power
 * of two): a slot is a red zone of ASan's size for the block (16 to 2048 bytes), the block
 * 16-byte aligned (or as asked) and the slot's slack after it; the next slot's red zone,
 * or unused memory, follows. Its pages are
 * installed as the bump pointer reaches them and stay; a released slot is reused by the
 * next block of its class. The shadow (one byte per 8 bytes, vmemu's memory) says which
 * bytes are a live block's; heapcheck_shadow.c checks every access against it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/mm.h"
#include "vmemu/pagetable.h"
#include "vmemu/phys.h"
#include "vmemu/proc.h"
#include "vmemu/uaccess.h"

/* ---- the block table ---- */

/* A Lua collector's peak holds 400,000 blocks: keep the entry small. */
_Static_assert(sizeof(struct hc_block) == 32, "struct hc_block grew");

static size_t hc_hash_user(gva_t user, size_t cap)
{
    return (size_t)(((user >> 4) * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

/* The block whose user address is user, or NULL. */
struct hc_block *hc_lookup(const struct heapcheck *h, gva_t user)
{
    if (h->btabcap == 0 || user == 0)
        return NULL;
    for (size_t j = hc_hash_user(user, h->btabcap); h->btab[j]; j = (j + 1) & (h->btabcap - 1))
        if (h->blocks[h->btab[j] - 1].user == user)
            return &h->blocks[h->btab[j] - 1];
    return NULL;
}

/* Puts index i+1 in the hash table (which has room). */
static void hc_btab_put(uint32_t *tab, size_t cap, gva_t user, uint32_t i)
{
    size_t j = hc_hash_user(user, cap);
    while (tab[j])
        j = (j + 1) & (cap - 1);
    tab[j] = i + 1;
}

/* A new table entry for user (its other fields zeroed), or NULL when out of memory. */
static struct hc_block *hc_table_add(struct heapcheck *h, gva_t user)
{
    size_t live = h->nblocks - h->nunused + 1;
    if (live * 2 > h->btabcap) {
        size_t cap = h->btabcap ? h->btabcap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof(*t));
        if (!t)
            return NULL;
        for (size_t i = 0; i < h->nblocks; i++)
            if (h->blocks[i].user)
                hc_btab_put(t, cap, h->blocks[i].user, (uint32_t)i);
        free(h->btab);
        h->btab = t;
        h->btabcap = cap;
    }
    uint32_t i;
    if (h->unused) {
        i = h->unused - 1;
        h->unused = h->blocks[i].free_stack;
        h->nunused--;
    } else {
        if (h->nblocks == h->capblocks) {
            size_t cap = h->capblocks ? h->capblocks * 2 : 1024;
            struct hc_block *g = realloc(h->blocks, cap * sizeof(*g));
            if (!g)
                return NULL;
            h->blocks = g;
            h->capblocks = cap;
        }
        i = (uint32_t)h->nblocks++;
    }
    struct hc_block *b = &h->blocks[i];
    memset(b, 0, sizeof(*b));
    b->user = user;
    hc_btab_put(h->btab, h->btabcap, user, i);
    return b;
}

/* Removes b from the table (backward-shift deletion keeps the probe chains whole). */
static void hc_table_del(struct heapcheck *h, struct hc_block *b)
{
    uint32_t i = (uint32_t)(b - h->blocks);
    size_t cap = h->btabcap, j = hc_hash_user(b->user, cap);
    while (h->btab[j] != i + 1)
        j = (j + 1) & (cap - 1);
    for (size_t k = (j + 1) & (cap - 1); h->btab[k]; k = (k + 1) & (cap - 1)) {
        size_t home = hc_hash_user(h->blocks[h->btab[k] - 1].user, cap);
        /* Move k's entry into the hole j when its home is not cyclically in (j, k]. */
        if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
            h->btab[j] = h->btab[k];
            j = k;
        }
    }
    h->btab[j] = 0;
    b->user = 0;
    b->free_stack = h->unused;
    h->unused = i + 1;
    h->nunused++;
}

/* ---- the area ---- */

/* Grows the checker's area (PROT_NONE, locked so that reclaim never swaps its pages
 * out) to cover end, in whole HC_CHUNK steps, with its shadow or page map. Returns 0 or
 * -ENOMEM. */
int hc_map_upto(struct heapcheck *h, struct mm *mm, gva_t end)
{
    if (h->mapped_end >= end)
        return 0;
    gva_t new_end = (end + HC_CHUNK - 1) & ~(HC_CHUNK - 1);
    if (new_end > (h->guard ? HC_END : HC_COMPACT_END))
        return -ENOMEM;
    size_t old_n, new_n;
    if (h->guard) {
        old_n = (h->mapped_end - HC_BASE) >> PAGE_SHIFT;
        new_n = (new_end - HC_BASE) >> PAGE_SHIFT;
        uint32_t *g = realloc(h->pagemap, new_n * sizeof(*g));
        if (!g)
            return -ENOMEM;
        memset(g + old_n, 0, (new_n - old_n) * sizeof(*g));
        h->pagemap = g;
    } else {
        old_n = (h->mapped_end - HC_BASE) / HC_GRANULE;
        new_n = (new_end - HC_BASE) / HC_GRANULE;
        uint8_t *g = realloc(h->shadow, new_n);
        if (!g)
            return -ENOMEM;
        memset(g + old_n, HC_SH_FREE, new_n - old_n);
        h->shadow = g;
    }
    int rc =
        mm_map(mm, h->mapped_end, new_end - h->mapped_end, 0, VM_LOCKED, VMA_CHECKER, NULL, 0, 0);
    if (rc < 0)
        return rc;
    h->mapped_end = new_end;
    return 0;
}

/* Sets the shadow of [va, va+n) (granule-aligned) to v. */
static void hc_shadow_set(struct heapcheck *h, gva_t va, uint64_t n, uint8_t v)
{
    memset(h->shadow + (va - HC_BASE) / HC_GRANULE, v, n / HC_GRANULE);
}

/* ---- compact arena ---- */

/* ASan's red zone before a block of size bytes. */
static uint64_t hc_redzone(uint64_t size)
{
    static const uint64_t limits[] = {64 - 16,     128 - 32,    512 - 64,    4096 - 128,
                                      16384 - 256, 32768 - 512, 65536 - 1024};
    uint64_t rz = 16;
    for (size_t i = 0; i < ARRAY_LEN(limits); i++, rz *= 2)
        if (size <= limits[i])
            return rz;
    return 2048;
}

/* The size class of a slot of s bytes (s > 0, a multiple of 16), and its slot size. */
static unsigned hc_class(uint64_t s, uint64_t *class_size)
{
    if (s <= 1024) {
        *class_size = s;
        return (unsigned)(s / 16 - 1);
    }
    unsigned lg = 63 - (unsigned)__builtin_clzll(s - 1); /* s in (2^lg, 2^(lg+1)] */
    uint64_t p = 1ULL << lg, step = p / 8, idx = (s - 1 - p) / step;
    *class_size = p + (idx + 1) * step;
    return 64 + (lg - 10) * 8 + (unsigned)idx;
}

/* Zeroes [va, va+n) of the arena. */
static int hc_zero(struct mm *mm, gva_t va, uint64_t n)
{
    static const uint8_t zeros[PAGE_SIZE];
    while (n > 0) {
        size_t c = n < PAGE_SIZE ? n : PAGE_SIZE;
        int rc = uaccess_poke(mm, va, zeros, c);
        if (rc < 0)
            return rc;
        va += c;
        n -= c;
    }
    return 0;
}

/* Returns a released slot of the compact arena to its class. */
static void hc_compact_put(struct heapcheck *h, gva_t slot, uint64_t slot_size)
{
    uint64_t cs;
    struct hc_freelist *fl = &h->classes[hc_class(slot_size, &cs)];
    hc_shadow_set(h, slot, slot_size, HC_SH_FREE);
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        uint32_t *g = realloc(fl->slots, cap * sizeof(*g));
        if (!g)
            return; /* the slot is never reused */
        fl->slots = g;
        fl->cap = cap;
    }
    fl->slots[fl->n++] = (uint32_t)((slot - HC_BASE) / 16);
    h->free_bytes += slot_size;
}

/* A slot of the compact arena for size bytes at alignment a (>= 16); *user gets the
 * block's address. Returns the slot, 0 when out of memory. */
static gva_t hc_compact_slot(struct heapcheck *h, struct mm *mm, uint64_t size, uint64_t a,
                             bool zero, uint64_t *slot_size, gva_t *user)
{
    /* The next slot's red zone (or unused memory) follows the block: no red zone after it
     * of its own beyond the slot's slack (a block of 0 bytes gets 16). */
    uint64_t rz = hc_redzone(size), need = rz + (a - 16) + (size ? (size + 15) & ~15ULL : 16);
    unsigned cls = hc_class(need, slot_size);
    struct hc_freelist *fl = &h->classes[cls];
    gva_t slot;
    bool reused = fl->n > 0;
    if (reused) {
        slot = HC_BASE + (gva_t)fl->slots[--fl->n] * 16;
        h->free_bytes -= *slot_size;
    } else if ((slot = hc_ext_take(h, *slot_size)) != 0) {
        reused = true;
    } else {
        slot = h->next;
        /* Installed 16 bytes further: an overflow of the last block is checked (and
         * reported), not a fault. */
        gva_t end = slot + *slot_size, need_end = PAGE_UP(end + 16);
        if (hc_map_upto(h, mm, need_end) < 0)
            return 0;
        if (need_end > h->installed_end) {
            if (hc_install(mm, h->installed_end, (need_end - h->installed_end) >> PAGE_SHIFT) < 0) {
                mm_zap_range(mm, h->installed_end, need_end);
                return 0;
            }
            h->installed_end = need_end;
        }
        h->next = end;
    }
    *user = (slot + rz + a - 1) & ~(a - 1);
    if (reused && zero && hc_zero(mm, *user, size) < 0) {
        hc_compact_put(h, slot, *slot_size);
        return 0;
    }
    uint64_t full = size / HC_GRANULE * HC_GRANULE;
    gva_t tail = *user + ((size + HC_GRANULE - 1) & ~(uint64_t)(HC_GRANULE - 1));
    hc_shadow_set(h, slot, *user - slot, HC_SH_LEFT);
    hc_shadow_set(h, *user, full, 0);
    if (size % HC_GRANULE)
        h->shadow[(*user + full - HC_BASE) / HC_GRANULE] = (uint8_t)(size % HC_GRANULE);
    hc_shadow_set(h, tail, slot + *slot_size - tail, HC_SH_RIGHT);
    return slot;
}

/* ---- allocation ---- */

/* A guard-mode slot (see heapcheck_guard.c); *user gets the block's address. */
static gva_t hc_guard_slot(struct heapcheck *h, struct mm *mm, uint64_t size, uint64_t align,
                           uint64_t *slot_size, gva_t *user)
{
    uint64_t slot_align = align > PAGE_SIZE ? align : PAGE_SIZE;
    gva_t slot = (h->next + slot_align - 1) & ~(slot_align - 1);
    /* The block ends at its last page's end, at the alignment asked for or the natural one
     * of its size (the largest power of two dividing it, 16 at most). */
    uint64_t a = align;
    if (a == 0) {
        a = 16;
        while (a > 1 && size % a)
            a >>= 1;
    }
    uint64_t pages = PAGE_UP(size ? size : 1) >> PAGE_SHIFT;
    *user = (slot + pages * PAGE_SIZE - size) & ~(a - 1);
    if (*user < slot) {
        pages++;
        *user = (slot + pages * PAGE_SIZE - size) & ~(a - 1);
    }
    if (hc_map_upto(h, mm, slot + (pages + 1) * PAGE_SIZE) < 0 ||
        hc_guard_map(mm, slot, pages, *user, size, pages >= HC_BIG_PAGES) < 0)
        return 0;
    *slot_size = pages * PAGE_SIZE;
    h->next = slot + (pages + 1) * PAGE_SIZE;
    return slot;
}

/* A new block; see heapcheck_int.h. */
gva_t hc_alloc(struct heapcheck *h, struct proc *p, uint64_t size, uint64_t align, uint32_t stack,
               bool zero)
{
    struct mm *mm = p->mm;
    if (size > (1ULL << 38) || align > (1ULL << 30))
        return 0;
    uint64_t slot_size = 0;
    gva_t user = 0;
    gva_t slot =
        h->guard ? hc_guard_slot(h, mm, size, align, &slot_size, &user)
                 : hc_compact_slot(h, mm, size, align > 16 ? align : 16, zero, &slot_size, &user);
    if (slot == 0)
        return 0;
    struct hc_block *b = hc_table_add(h, user);
    if (!b) {
        if (h->guard)
            hc_guard_unmap(mm, slot, slot_size, slot_size >= HC_BIG_PAGES * PAGE_SIZE);
        else
            hc_compact_put(h, slot, slot_size);
        return 0;
    }
    uint64_t cs;
    b->front = (uint32_t)(user - slot);
    b->slot_units = h->guard ? (uint32_t)(slot_size >> PAGE_SHIFT) : hc_class(slot_size, &cs);
    b->size = size;
    b->alloc_stack = stack;
    b->free_stack = HC_NONE_STACK;
    b->state = HC_LIVE;
    b->big = h->guard && slot_size >= HC_BIG_PAGES * PAGE_SIZE;
    if (h->guard) {
        uint32_t idx = (uint32_t)(b - h->blocks) + 1;
        for (gva_t va = slot; va < slot + slot_size + PAGE_SIZE; va += PAGE_SIZE)
            h->pagemap[(va - HC_BASE) >> PAGE_SHIFT] = idx;
    }
    h->nallocs++;
    h->bytes_allocated += size;
    h->live_bytes += slot_size;
    return user;
}

/* ---- free and the quarantine ---- */

/* Releases the oldest quarantined blocks until the quarantine fits its bound. */
static void hc_quarantine_trim(struct heapcheck *h, struct mm *mm)
{
    uint64_t bound = h->live_bytes < HC_QUARANTINE_MIN ? HC_QUARANTINE_MIN
                     : h->live_bytes > HC_QUARANTINE   ? HC_QUARANTINE
                                                       : h->live_bytes;
    while (h->qlen > 0 && h->qbytes > bound) {
        struct hc_block *b = &h->blocks[h->quar[h->qhead]];
        h->qhead = (h->qhead + 1) % h->qcap;
        h->qlen--;
        if (b->user == 0 || b->state != HC_FREED)
            continue;
        gva_t slot = hc_slot(b);
        uint64_t slot_size = hc_slot_size(h, b);
        h->qbytes -= slot_size;
        if (h->guard) {
            for (gva_t va = slot; va < slot + slot_size + PAGE_SIZE; va += PAGE_SIZE)
                h->pagemap[(va - HC_BASE) >> PAGE_SHIFT] = 0;
            pt_prune(&mm->pt, &mm->sys->phys, slot, slot + slot_size + PAGE_SIZE);
        } else {
            hc_compact_put(h, slot, slot_size);
        }
        hc_table_del(h, b);
    }
}

/* Frees b and puts it in the quarantine; see heapcheck_int.h. */
void hc_release(struct heapcheck *h, struct mm *mm, struct hc_block *b, uint32_t stack)
{
    b->state = HC_FREED;
    b->free_stack = stack;
    h->nfrees++;
    h->live_bytes -= hc_slot_size(h, b);
    if (h->guard)
        hc_guard_unmap(mm, hc_slot(b), hc_slot_size(h, b), b->big);
    else
        hc_shadow_set(h, b->user, (b->size + HC_GRANULE - 1) & ~(uint64_t)(HC_GRANULE - 1),
                      HC_SH_FREED);
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 1024;
        uint32_t *g = malloc(cap * sizeof(*g));
        if (!g)
            return; /* no room to remember it: it stays freed for good */
        for (size_t i = 0; i < h->qlen; i++)
            g[i] = h->quar[(h->qhead + i) % h->qcap];
        free(h->quar);
        h->quar = g;
        h->qcap = cap;
        h->qhead = 0;
    }
    h->quar[(h->qhead + h->qlen++) % h->qcap] = (uint32_t)(b - h->blocks);
    h->qbytes += hc_slot_size(h, b);
    hc_quarantine_trim(h, mm);
}
