/* The heap checker's blocks: the table of every block by address, the checker's area at
 * HC_BASE grown in HC_CHUNK steps, a block's slot with its pages (installed, or an RW area
 * of its own for a big one), the red zones around the block filled with HC_PATTERN, and
 * the quarantine that keeps freed blocks inaccessible until they are released for good. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/mm.h"
#include "vmemu/pagetable.h"
#include "vmemu/phys.h"
#include "vmemu/proc.h"
#include "vmemu/uaccess.h"

/* The block whose slot or following gap page contains va, or NULL. */
struct hc_block *hc_find(const struct heapcheck *h, gva_t va)
{
    size_t lo = 0, hi = h->nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->blocks[mid].slot <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    struct hc_block *b = &h->blocks[lo - 1];
    return va < b->slot + (b->pages + 1) * PAGE_SIZE ? b : NULL;
}

/* Drops released blocks from the table once they are the majority. */
static void hc_compact(struct heapcheck *h)
{
    if (h->nreleased < 4096 || h->nreleased * 2 < h->nblocks)
        return;
    size_t j = 0;
    for (size_t i = 0; i < h->nblocks; i++)
        if (h->blocks[i].state != HC_RELEASED)
            h->blocks[j++] = h->blocks[i];
    h->nblocks = j;
    h->nreleased = 0;
}

/* Grows the checker's area (PROT_NONE, locked so that reclaim never swaps its pages
 * out) to cover end, in whole HC_CHUNK steps: the area is reserved as the blocks need it,
 * so it adds at most one step to the virtual size beyond the address space handed out.
 * Returns 0 or -ENOMEM. */
int hc_map_upto(struct heapcheck *h, struct mm *mm, gva_t end)
{
    if (h->mapped_end >= end)
        return 0;
    gva_t new_end = (end + HC_CHUNK - 1) & ~(HC_CHUNK - 1);
    if (new_end > HC_END)
        return -ENOMEM;
    int rc =
        mm_map(mm, h->mapped_end, new_end - h->mapped_end, 0, VM_LOCKED, VMA_CHECKER, NULL, 0, 0);
    if (rc < 0)
        return rc;
    h->mapped_end = new_end;
    return 0;
}

/* Installs fresh zeroed writable pages at [va, va + pages pages). Returns 0 or -ENOMEM
 * (the pages installed so far stay: the caller zaps the range). */
static int hc_install(struct mm *mm, gva_t va, uint64_t pages)
{
    struct phys *phys = &mm->sys->phys;
    for (uint64_t i = 0; i < pages; i++) {
        pfn_t pfn;
        if (phys_alloc(phys, true, &pfn) < 0)
            return -ENOMEM;
        int rc = mm_install_page(mm, va + i * PAGE_SIZE, NULL, pfn,
                                 PTE_P | PTE_US | PTE_RW | PTE_NX | PTE_A | PTE_D);
        if (rc < 0) {
            phys_put(phys, pfn);
            return rc;
        }
    }
    return 0;
}

/* A page of red-zone pattern bytes (filled on first use; never changes afterwards). */
const uint8_t *hc_pattern(void)
{
    static uint8_t page[PAGE_SIZE];
    if (page[0] != HC_PATTERN)
        memset(page, HC_PATTERN, sizeof(page));
    return page;
}

/* Fills [va, va+n) of a block's own pages with the red-zone pattern. */
static int hc_fill(struct mm *mm, gva_t va, uint64_t n)
{
    const uint8_t *pattern = hc_pattern();
    while (n > 0) {
        /* A page at a time: one translation per page. */
        size_t c = PAGE_SIZE - (va & ~PAGE_MASK);
        c = n < c ? n : c;
        int rc = uaccess_poke(mm, va, pattern, c);
        if (rc < 0)
            return rc;
        va += c;
        n -= c;
    }
    return 0;
}

/* A new block of size bytes aligned to align (a power of two). Returns its user address,
 * 0 when out of memory. */
gva_t hc_alloc(struct heapcheck *h, struct proc *p, uint64_t size, uint64_t align, uint32_t stack)
{
    struct mm *mm = p->mm;
    if (size > (1ULL << 38) || align > (1ULL << 30))
        return 0;
    uint64_t slot_align = align > PAGE_SIZE ? align : PAGE_SIZE;
    gva_t slot = (h->next + slot_align - 1) & ~(slot_align - 1);
    uint64_t pages;
    gva_t user;
    if (h->guard) {
        /* The block ends at its last page's end, at the alignment asked for or the
         * natural one of its size (the largest power of two dividing it, 16 at most). */
        uint64_t a = align;
        if (a == 0) {
            a = 16;
            while (a > 1 && size % a)
                a >>= 1;
        }
        pages = PAGE_UP(size ? size : 1) >> PAGE_SHIFT;
        user = (slot + pages * PAGE_SIZE - size) & ~(a - 1);
    } else {
        uint64_t a = align ? align : 16;
        uint64_t front = HC_FRONT > a ? HC_FRONT : a;
        pages = PAGE_UP(front + size) >> PAGE_SHIFT;
        user = slot + front;
    }
    bool big = pages >= HC_BIG_PAGES;
    if (hc_map_upto(h, mm, slot + (pages + 1) * PAGE_SIZE) < 0)
        return 0;
    if (h->nblocks == h->capblocks) {
        size_t cap = h->capblocks ? h->capblocks * 2 : 1024;
        struct hc_block *g = realloc(h->blocks, cap * sizeof(*g));
        if (!g)
            return 0;
        h->blocks = g;
        h->capblocks = cap;
    }
    int rc;
    if (big)
        rc = mm_protect(mm, slot, pages * PAGE_SIZE, VM_READ | VM_WRITE);
    else
        rc = hc_install(mm, slot, pages);
    if (rc == 0)
        rc = hc_fill(mm, slot, user - slot);
    if (rc == 0)
        rc = hc_fill(mm, user + size, slot + pages * PAGE_SIZE - user - size);
    if (rc < 0) {
        if (big)
            mm_protect(mm, slot, pages * PAGE_SIZE, 0);
        mm_zap_range(mm, slot, slot + pages * PAGE_SIZE);
        return 0;
    }
    h->next = slot + (pages + 1) * PAGE_SIZE;
    struct hc_block *b = &h->blocks[h->nblocks++];
    memset(b, 0, sizeof(*b));
    b->slot = slot;
    b->pages = pages;
    b->user = user;
    b->size = size;
    b->alloc_stack = stack;
    b->free_stack = HC_NONE_STACK;
    b->state = HC_LIVE;
    b->big = big;
    h->nallocs++;
    h->bytes_allocated += size;
    return user;
}

/* Takes the pages of b away and makes its slot inaccessible. */
void hc_unmap_block(struct mm *mm, const struct hc_block *b)
{
    if (b->big)
        mm_protect(mm, b->slot, b->pages * PAGE_SIZE, 0);
    mm_zap_range(mm, b->slot, b->slot + b->pages * PAGE_SIZE);
}

/* Releases the oldest quarantined blocks until the quarantine fits its bound. */
static void hc_quarantine_trim(struct heapcheck *h, struct mm *mm)
{
    while (h->qlen > 0 && h->qbytes > HC_QUARANTINE) {
        gva_t user = h->quar[h->qhead];
        h->qhead = (h->qhead + 1) % h->qcap;
        h->qlen--;
        struct hc_block *b = hc_find(h, user);
        if (!b || b->state != HC_FREED)
            continue;
        b->state = HC_RELEASED;
        h->nreleased++;
        h->qbytes -= b->pages * PAGE_SIZE;
        pt_prune(&mm->pt, &mm->sys->phys, b->slot, b->slot + (b->pages + 1) * PAGE_SIZE);
    }
    hc_compact(h);
}

/* Puts b in the quarantine. */
void hc_quarantine(struct heapcheck *h, struct mm *mm, struct hc_block *b)
{
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 1024;
        gva_t *g = malloc(cap * sizeof(*g));
        if (!g) {
            /* No room to remember it: release it at once. */
            b->state = HC_RELEASED;
            h->nreleased++;
            return;
        }
        for (size_t i = 0; i < h->qlen; i++)
            g[i] = h->quar[(h->qhead + i) % h->qcap];
        free(h->quar);
        h->quar = g;
        h->qcap = cap;
        h->qhead = 0;
    }
    h->quar[(h->qhead + h->qlen++) % h->qcap] = b->user;
    h->qbytes += b->pages * PAGE_SIZE;
    hc_quarantine_trim(h, mm);
}
