/* The PTE writer: every change of a PTE of an address space goes through here. A downgrade
 * (a permission or the frame taken away) invalidates vmemu's TLB entry and asks the CPU to
 * drop its entry of the page (or to flush its TLB); installing and zapping a page keep the reverse
 * map, frame references and rss in step with the PTE. Below the fault path, reclaim and the area
 * operations, which all use it. */
#include "vmemu/pte.h"

static bool pte_is_downgrade(pte_t old, pte_t want)
{
    if (!pte_present(old))
        return false;
    if (!pte_present(want) || pte_pfn(old) != pte_pfn(want))
        return true;
    pte_t lost = old & ~want;
    if (lost & (PTE_RW | PTE_US | PTE_A | PTE_D))
        return true;
    return (want & PTE_NX) && !(old & PTE_NX);
}

/* Whether the CPU's fill callback, now translating va, will replace its TLB entry for va
 * with the new PTE's frame and permissions, so that the downgrade needs no flush: a
 * copy-on-write break (zero page or shared frame to a private copy) found by the fill
 * itself. Unicorn overwrites an entry of the same page (and drops that page from its
 * victim TLB); its jump cache, keyed by virtual address alone, would still run code
 * translated from the old frame, so a frame the CPU ever fetched from still flushes. */
static bool pte_fill_replaces(const struct mm *mm, gva_t va, pte_t old, pte_t want)
{
    if (!mm->sys->cpu_filling || mm->sys->cpu_fill_page != va || !pte_present(want))
        return false;
    return !(phys_frame(&mm->sys->phys, pte_pfn(old))->flags & FRAME_EXECUTED);
}

/* Asks for the CPU's entry of va to go (see the header). */
void vmsys_cpu_invalidate(struct vmsys *sys, gva_t va)
{
    if (sys->cpu_inval_n < VM_INVAL_PAGES)
        sys->cpu_inval[sys->cpu_inval_n++] = va & ~(gva_t)(PAGE_SIZE - 1);
    else
        sys->cpu_flush_pending |= VM_FLUSH_DOWNGRADE;
}

/* Changes the PTE for va to `want` and invalidates vmemu's TLB entry and the CPU's TLB when
 * a permission or the frame is taken away. References, rmap and rss are the caller's. */
void mm_set_pte(struct mm *mm, gva_t va, pte_t *ptep, pte_t want)
{
    pte_t old = *ptep;
    *ptep = want;
    mm->stats.swap_ptes += (uint64_t)pte_is_swap(want) - (uint64_t)pte_is_swap(old);
    if (mm->sys->current != mm)
        return; /* both TLBs are flushed when the CPU switches to mm */
    if (pte_is_downgrade(old, want)) {
        tlb_invalidate(&mm->sys->tlb, va);
        if (pte_fill_replaces(mm, va, old, want)) {
            mm->sys->cpu_fill_skipped = true;
            mm->sys->cpu_flush_spared++;
            return;
        }
        vmsys_cpu_invalidate(mm->sys, va);
    } else if (pte_present(want)) {
        tlb_invalidate(&mm->sys->tlb, va); /* keep the cached copy exact */
    }
}

/* Records the page-table size for the report's peak. */
void mm_note_pt_pages(struct mm *mm)
{
    if (mm->pt.table_pages > mm->stats.peak_pt_pages)
        mm->stats.peak_pt_pages = mm->pt.table_pages;
}

/* Maps pfn at va (whose PTE, at ptep or looked up when NULL, must be none), taking over
 * one frame reference from the caller. The zero page is neither reference-counted per
 * mapping nor reverse-mapped nor counted in rss. An anonymous page (neither the zero page
 * nor a page-cache page) gives a private area its anon_vma, as Linux prepares one before
 * mapping such a page. Returns 0 or -ENOMEM (the reference then stays with the caller). */
int mm_install_page(struct mm *mm, gva_t va, pte_t *ptep, pfn_t pfn, uint64_t pte_flags)
{
    struct phys *phys = &mm->sys->phys;
    int rc;
    if (!ptep) {
        rc = pt_lookup_alloc(&mm->pt, phys, va, &ptep);
        mm_note_pt_pages(mm);
        if (rc < 0)
            return rc;
    }
    VMEMU_BUG_ON(pte_present(*ptep));
    if (pfn != phys->zero_pfn) {
        if ((rc = phys_rmap_add(phys, pfn, mm, va)) < 0)
            return rc;
        if (++mm->stats.rss > mm->stats.peak_rss)
            mm->stats.peak_rss = mm->stats.rss;
        struct vma *v;
        if (!(phys_frame(phys, pfn)->flags & FRAME_PAGECACHE) && (v = vma_lookup(&mm->vmas, va)) &&
            !(v->flags & VM_SHARED))
            v->anon_vma = true;
    }
    mm_set_pte(mm, va, ptep, pte_make(pfn, pte_flags));
    return 0;
}

/* The PTE of (r->mm, r->va), which maps r's frame. */
pte_t *mm_rmap_pte(const struct rmap *r)
{
    pte_t *ptep = pt_lookup(&r->mm->pt, &r->mm->sys->phys, r->va);
    VMEMU_BUG_ON(!ptep || !pte_present(*ptep));
    return ptep;
}

/* Removes the mapping of one page and drops its frame reference. */
void mm_zap_page(struct mm *mm, gva_t va, pte_t *ptep)
{
    struct phys *phys = &mm->sys->phys;
    pte_t old = *ptep;
    if (!pte_present(old)) {
        mm_set_pte(mm, va, ptep, 0);
        if (pte_is_swap(old))
            swap_free_entry(&mm->sys->swap, &mm->sys->phys, pte_swap_slot(old));
        return;
    }
    pfn_t pfn = pte_pfn(old);
    mm_set_pte(mm, va, ptep, 0);
    if (pfn == phys->zero_pfn)
        return;
    if (old & PTE_D)
        pagecache_set_dirty(&mm->sys->pc, pfn); /* a shared file page keeps its stores */
    phys_rmap_del(phys, pfn, mm, va);
    mm->stats.rss--;
    swap_put_page(&mm->sys->swap, phys, pfn);
}

/* The PTE bits an area's protection gives a page: US unless PROT_NONE, NX unless
 * executable, and RW for a writable area unless the page is copy-on-write (then COW). */
uint64_t mm_prot_pte_bits(uint32_t prot, bool cow)
{
    uint64_t bits = 0;
    if (prot)
        bits |= PTE_US;
    if (!(prot & VM_EXEC))
        bits |= PTE_NX;
    if (cow)
        bits |= PTE_COW;
    else if (prot & VM_WRITE)
        bits |= PTE_RW;
    return bits;
}

/* Sets A (and D on a write) as the hardware does: an upgrade, so nothing is invalidated. */
void mm_pte_mkyoung(pte_t *ptep, bool dirty)
{
    *ptep |= PTE_A;
    if (dirty)
        *ptep |= PTE_D;
}
