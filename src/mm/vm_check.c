/* The whole-VM invariant check (blink's CheckMemoryInvariants): walks the areas and page
 * tables of the given address spaces, the frame descriptors and the swap area, and
 * reports the first relation that does not hold. Its work follows what is mapped and
 * resident (page tables, frames, slots in use), never a virtual size. The sanitizer build
 * runs it after every memory syscall and at every exit (VMEMU_CHECK_VM); the unit tests
 * run it at every teardown. */
#include "vmemu/vm_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* What the walk of one address space found, and where it stopped. */
struct check_ctx {
    const struct vmsys *sys; /* the machine */
    const struct mm *mm;     /* the address space walked */
    uint32_t *slot_refs;     /* swap entries seen per slot, all address spaces */
    uint64_t present;        /* present PTEs, the zero page left out */
    uint64_t swapped;        /* swap entries */
    char *why;               /* the message buffer */
    size_t len;              /* its size */
    int rc;                  /* 0, or -EUCLEAN once a relation failed */
};

static int check_fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -EUCLEAN;
}

/* Whether (mm, va) is in pfn's reverse map. */
static bool rmap_has(const struct phys *phys, pfn_t pfn, const struct mm *mm, gva_t va)
{
    for (const struct rmap *r = phys_frame(phys, pfn)->rmap; r; r = r->next)
        if (r->mm == mm && r->va == va)
            return true;
    return false;
}

static void check_pte(void *arg, gva_t va, pte_t *ptep)
{
    struct check_ctx *c = arg;
    const struct phys *phys = &c->sys->phys;
    pte_t pte = *ptep;
    if (c->rc)
        return;
    const struct vma *v = vma_lookup(&c->mm->vmas, va);
    if (!v) {
        c->rc = check_fail(c->why, c->len, "PTE %#llx at %#llx outside every area",
                           (unsigned long long)pte, (unsigned long long)va);
        return;
    }
    /* Anonymous memory in a private area needs its anon_vma: fork copies only those. */
    bool private_no_anon = !v->anon_vma && !(v->flags & VM_SHARED);
    if (pte_is_swap(pte) && private_no_anon) {
        c->rc = check_fail(c->why, c->len, "swap entry at %#llx in an area without anon_vma",
                           (unsigned long long)va);
        return;
    }
    if (pte_is_swap(pte)) {
        uint64_t slot = pte_swap_slot(pte);
        if (slot >= c->sys->swap.nslots || c->sys->swap.refs[slot] == 0)
            c->rc = check_fail(c->why, c->len, "swap entry at %#llx names free slot %llu",
                               (unsigned long long)va, (unsigned long long)slot);
        else
            c->slot_refs[slot]++;
        c->swapped++;
        return;
    }
    if (!pte_present(pte))
        return;
    pfn_t pfn = pte_pfn(pte);
    if (pfn == 0 || pfn >= phys->nframes || phys_frame(phys, pfn)->refcount == 0) {
        c->rc = check_fail(c->why, c->len, "PTE at %#llx maps free or invalid frame %llu",
                           (unsigned long long)va, (unsigned long long)pfn);
        return;
    }
    if (pfn == phys->zero_pfn)
        return;
    if (phys_frame(phys, pfn)->flags & FRAME_PAGETABLE) {
        c->rc = check_fail(c->why, c->len, "PTE at %#llx maps page-table frame %llu",
                           (unsigned long long)va, (unsigned long long)pfn);
        return;
    }
    if (private_no_anon && !(phys_frame(phys, pfn)->flags & FRAME_PAGECACHE)) {
        c->rc = check_fail(c->why, c->len, "anonymous page at %#llx in an area without anon_vma",
                           (unsigned long long)va);
        return;
    }
    if (!rmap_has(phys, pfn, c->mm, va)) {
        c->rc = check_fail(c->why, c->len, "frame %llu mapped at %#llx has no reverse map",
                           (unsigned long long)pfn, (unsigned long long)va);
        return;
    }
    c->present++;
}

/* State of the walk over huge mappings (PDE_THP, PDE_HZP) of one address space. */
struct huge_ctx {
    const struct phys *phys; /* the pool */
    uint64_t thp, hzp, tlb;  /* marked tables found: THP, huge zero page, hugetlb */
    gva_t bad;               /* first marked table that breaks the rule (0: none) */
};

/* A PDE_THP or PDE_HUGETLB table maps frame head + i at entry i with the same
 * permissions (a hugetlb block's frames are FRAME_HUGETLB); a PDE_HZP table maps the zero
 * page at every entry. One mark at most. */
static void check_huge_pde(void *arg, gva_t va, pte_t *pdep)
{
    struct huge_ctx *c = arg;
    if (!(*pdep & PDE_HUGE_MASK))
        return;
    const pte_t *ptes = (const pte_t *)phys_hva(c->phys, pte_pfn(*pdep));
    const uint64_t perms = PTE_P | PTE_RW | PTE_US | PTE_NX | PTE_COW;
    bool zero = (*pdep & PDE_HZP) != 0;
    pfn_t head = pte_pfn(ptes[0]);
    pte_t mark = *pdep & PDE_HUGE_MASK;
    bool pool = mark == PDE_HUGETLB;
    bool ok = (mark & (mark - 1)) == 0 &&
              (zero ? head == c->phys->zero_pfn : head % HPAGE_FRAMES == 0) &&
              (zero || pool == ((phys_frame(c->phys, head)->flags & FRAME_HUGETLB) != 0));
    for (unsigned i = 0; ok && i < HPAGE_FRAMES; i++)
        ok = pte_present(ptes[i]) && (ptes[i] & perms) == (ptes[0] & perms) &&
             pte_pfn(ptes[i]) == (zero ? head : head + i);
    if (!ok && !c->bad)
        c->bad = va;
    c->thp += !zero && !pool;
    c->hzp += zero;
    c->tlb += pool;
}

static int check_huge(const struct vmsys *sys, const struct mm *mm, char *why, size_t len)
{
    struct huge_ctx c = {&sys->phys, 0, 0, 0, 0};
    if (!mm->stats.thp_pmds && !mm->stats.thp_zero_pmds && !mm->stats.hugetlb_pmds)
        return 0; /* only pmd_mark and hugetlb_fault mark a table, and they count it */
    pt_for_each_pde(&mm->pt, &sys->phys, 0, USER_VA_END, check_huge_pde, &c);
    if (c.bad)
        return check_fail(why, len, "huge mapping at %#llx is not 512 like PTEs of one block",
                          (unsigned long long)c.bad);
    if (c.tlb != mm->stats.hugetlb_pmds)
        return check_fail(why, len, "%llu hugetlb mappings, counted %llu",
                          (unsigned long long)c.tlb, (unsigned long long)mm->stats.hugetlb_pmds);
    if (c.thp != mm->stats.thp_pmds || c.hzp != mm->stats.thp_zero_pmds)
        return check_fail(why, len, "%llu huge and %llu huge zero mappings, counted %llu, %llu",
                          (unsigned long long)c.thp, (unsigned long long)c.hzp,
                          (unsigned long long)mm->stats.thp_pmds,
                          (unsigned long long)mm->stats.thp_zero_pmds);
    return 0;
}

/* Areas sorted, page-aligned, non-empty, non-overlapping, inside user space. */
static int check_vmas(const struct mm *mm, char *why, size_t len)
{
    gva_t prev_end = 0;
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        if ((v->start | v->end) & ~PAGE_MASK || v->start >= v->end || v->end > USER_VA_END)
            return check_fail(why, len, "area %zu [%#llx, %#llx) is malformed", i,
                              (unsigned long long)v->start, (unsigned long long)v->end);
        if (v->start < prev_end)
            return check_fail(why, len, "area %zu [%#llx, %#llx) overlaps or is out of order", i,
                              (unsigned long long)v->start, (unsigned long long)v->end);
        prev_end = v->end;
    }
    return 0;
}

/* Whether mm is one of the n address spaces. */
static bool mm_listed(struct mm *const *mms, size_t n, const struct mm *mm)
{
    for (size_t i = 0; i < n; i++)
        if (mms[i] == mm)
            return true;
    return false;
}

/* Frames: every reverse-map entry is a present PTE of a listed space, and (with all) the
 * reference count is exactly the mappings plus the page-cache and swap-cache references. */
static int check_frames(const struct vmsys *sys, struct mm *const *mms, size_t n, bool all,
                        char *why, size_t len)
{
    const struct phys *phys = &sys->phys;
    uint64_t used = 0, tables = 0;
    for (pfn_t pfn = 1; pfn < phys->next_fresh; pfn++) {
        const struct frame *fr = phys_frame(phys, pfn);
        if (fr->refcount == 0)
            continue;
        used++;
        if (fr->flags & FRAME_PAGETABLE) {
            tables++;
            continue;
        }
        if (pfn == phys->zero_pfn)
            continue;
        uint32_t maps = 0;
        bool foreign = false;
        for (const struct rmap *r = fr->rmap; r; r = r->next) {
            maps++;
            if (!mm_listed(mms, n, r->mm)) {
                foreign = true;
                continue;
            }
            const pte_t *ptep = pt_lookup(&r->mm->pt, phys, r->va);
            if (!ptep || !pte_present(*ptep) || pte_pfn(*ptep) != pfn)
                return check_fail(why, len, "frame %llu: reverse map %#llx is not its PTE",
                                  (unsigned long long)pfn, (unsigned long long)r->va);
        }
        if (foreign && all)
            return check_fail(why, len, "frame %llu is mapped by an unknown address space",
                              (unsigned long long)pfn);
        uint32_t want = maps + !!(fr->flags & FRAME_PAGECACHE) + !!(fr->flags & FRAME_SWAPCACHE);
        if (all && fr->refcount != want)
            return check_fail(why, len,
                              "frame %llu has %u references for %u mappings%s%s (flags %#x)",
                              (unsigned long long)pfn, fr->refcount, maps,
                              fr->flags & FRAME_PAGECACHE ? " + page cache" : "",
                              fr->flags & FRAME_SWAPCACHE ? " + swap cache" : "", fr->flags);
        if ((fr->flags & FRAME_SWAPCACHE) &&
            (fr->index >= sys->swap.nslots || sys->swap.cache[fr->index] != pfn))
            return check_fail(why, len,
                              "frame %llu in the swap cache under slot %llu, which "
                              "does not name it",
                              (unsigned long long)pfn, (unsigned long long)fr->index);
    }
    if (used != phys->used)
        return check_fail(why, len, "%llu frames in use, the pool counts %llu",
                          (unsigned long long)used, (unsigned long long)phys->used);
    if (all) {
        uint64_t want = 0;
        for (size_t i = 0; i < n; i++)
            if (!mm_listed(mms, i, mms[i]))
                want += mms[i]->pt.table_pages;
        if (tables != want)
            return check_fail(why, len, "%llu page-table frames, the address spaces count %llu",
                              (unsigned long long)tables, (unsigned long long)want);
    }
    return 0;
}

/* Swap slots: references are the swap entries plus the swap cache's. */
static int check_swap(const struct swap_area *sw, const uint32_t *slot_refs, char *why, size_t len)
{
    uint64_t used = 0;
    for (uint64_t s = 0; s < sw->nslots; s++) {
        uint32_t want = slot_refs[s] + (sw->cache[s] != 0);
        if (sw->refs[s] != want)
            return check_fail(why, len, "swap slot %llu has %u references for %u entries%s",
                              (unsigned long long)s, sw->refs[s], slot_refs[s],
                              sw->cache[s] ? " + swap cache" : "");
        used += sw->refs[s] != 0;
    }
    if (used != sw->used)
        return check_fail(why, len, "%llu swap slots in use, the area counts %llu",
                          (unsigned long long)used, (unsigned long long)sw->used);
    return 0;
}

/* See the header. */
int vm_check(const struct vmsys *sys, struct mm *const *mms, size_t n, bool all, char *why,
             size_t len)
{
    uint32_t *slot_refs = calloc(sys->swap.nslots ? sys->swap.nslots : 1, sizeof(*slot_refs));
    int rc = 0;
    if (!slot_refs)
        return -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct mm *mm = mms[i];
        if (mm_listed(mms, i, mm))
            continue; /* a vfork child shares its parent's */
        if ((rc = check_vmas(mm, why, len)) < 0)
            break;
        struct check_ctx c = {sys, mm, slot_refs, 0, 0, why, len, 0};
        pt_for_each(&mm->pt, &sys->phys, 0, USER_VA_END, check_pte, &c);
        if ((rc = c.rc) < 0 || (rc = check_huge(sys, mm, why, len)) < 0)
            break;
        if (c.present != mm->stats.rss)
            rc = check_fail(why, len, "rss %llu, but %llu PTEs map frames",
                            (unsigned long long)mm->stats.rss, (unsigned long long)c.present);
        else if (c.swapped != mm->stats.swap_ptes)
            rc = check_fail(why, len, "swap_ptes %llu, but %llu PTEs are swap entries",
                            (unsigned long long)mm->stats.swap_ptes, (unsigned long long)c.swapped);
    }
    if (rc == 0)
        rc = check_frames(sys, mms, n, all, why, len);
    if (rc == 0 && all)
        rc = check_swap(&sys->swap, slot_refs, why, len);
    free(slot_refs);
    return rc;
}
