/* Translation of guest virtual addresses, the MMU of vmemu's CPU: vmemu's TLB first, then
 * the 4-level page walk, then the fault handler when the PTE is missing or lacks the
 * permission. Sets the accessed bit on every translation and the dirty bit on writes,
 * as the hardware walker does, and notes the use of the frame for the lru policy. Called by the
 * CPU's fill callback (mmu_fill) and by the copy helpers (mmu_translate_user). */
#include "vmemu/mmu.h"

#include <errno.h>

#include "vmemu/fault.h"
#include "vmemu/pte.h"
#include "vmemu/reclaim.h"
#include "vmemu/thp.h"

/* Whether a PTE lets the access through without a fault (dirty-bit updates excepted). */
static bool pte_allows(pte_t pte, enum access access)
{
    if ((pte & (PTE_P | PTE_US)) != (PTE_P | PTE_US))
        return false;
    if (access == ACCESS_WRITE)
        return (pte & PTE_RW) != 0;
    if (access == ACCESS_EXEC)
        return !(pte & PTE_NX);
    return true;
}

/* Walks (and faults if needed) va for access; returns the up-to-date PTE. */
static int mmu_walk(struct mm *mm, gva_t va, enum access access, unsigned flags, pte_t *out)
{
    struct vmsys *sys = mm->sys;
    bool use_tlb = sys->current == mm;
    pte_t pte;

    if (va >= USER_VA_END)
        return mm_fault(mm, va, access, flags); /* refused: outside user space */
    if (use_tlb && tlb_lookup(&sys->tlb, va, &pte) && pte_allows(pte, access) &&
        (access != ACCESS_WRITE || (pte & PTE_D))) {
        reclaim_note_use(sys->reclaim, pte_pfn(pte));
        *out = pte;
        return 0;
    }
    pte_t *ptep = pt_lookup(&mm->pt, &sys->phys, va);
    if (!ptep || !pte_allows(*ptep, access)) {
        int rc = mm_fault_pte(mm, va, access, flags, &ptep);
        if (rc < 0)
            return rc;
        VMEMU_BUG_ON(!ptep || !pte_allows(*ptep, access));
        reclaim_note_fault(sys->reclaim, pte_pfn(*ptep));
    }
    mm_pte_mkyoung(ptep, access == ACCESS_WRITE); /* as the hardware does */
    pte_t head;
    if (thp_walked(mm, va, access == ACCESS_WRITE, &head)) {
        if (use_tlb)
            tlb_insert_huge(&sys->tlb, va, head); /* one entry for the huge page */
    } else if (use_tlb) {
        tlb_insert(&sys->tlb, va, *ptep);
    }
    reclaim_note_use(sys->reclaim, pte_pfn(*ptep));
    *out = *ptep;
    return 0;
}

/* Frame fr is about to run code for the first time, fetched through va: the CPU's
 * entries of its other pages in mm go, so that the next store through one of them (a JIT
 * that writes through one mapping and runs through another) is filled again and, its
 * frame now marked as having run code, checked for the translated code it overwrites
 * (src/cpu/cpu_smc.c). Other address spaces' entries go at the switch to them. */
static void mmu_first_fetch(struct mm *mm, gva_t va, const struct frame *fr)
{
    for (const struct rmap *r = fr->rmap; r; r = r->next)
        if (r->mm == mm && r->va != (va & ~(gva_t)(PAGE_SIZE - 1)) && mm->sys->current == mm)
            vmsys_cpu_invalidate(mm->sys, r->va);
}

/* Translates va for the CPU. The permissions returned are those the PTE grants now: W
 * only once the page is dirty (so the first write to a clean page comes back here), X
 * only on fetches or for frames that already ran code (fetches mark the frame executed).
 * Counts a fill. Returns 0, -EFAULT (mm->last_fault says why) or -ENOMEM. */
int mmu_fill(struct mm *mm, gva_t va, enum access access, struct fill *out)
{
    pte_t pte = 0; /* set by mmu_walk on success (gcc -O2 cannot tell) */
    if (mm->sys->charge)
        mm->sys->charge->fills++;
    int rc = mmu_walk(mm, va, access, 0, &pte);
    if (rc < 0)
        return rc;
    struct frame *fr = phys_frame(&mm->sys->phys, pte_pfn(pte));
    out->pfn = pte_pfn(pte);
    out->perms = MMU_R;
    if ((pte & PTE_RW) && (pte & PTE_D))
        out->perms |= MMU_W;
    if (!(pte & PTE_NX) && (access == ACCESS_EXEC || (fr->flags & FRAME_EXECUTED))) {
        out->perms |= MMU_X;
        if (!(fr->flags & FRAME_EXECUTED))
            mmu_first_fetch(mm, va, fr);
        fr->flags |= FRAME_EXECUTED;
    }
    return 0;
}

/* Translates va for vmemu's own accesses. Returns 0, -EFAULT or -ENOMEM. */
int mmu_translate_user(struct mm *mm, gva_t va, enum access access, unsigned flags, pfn_t *out)
{
    pte_t pte = 0; /* set by mmu_walk on success (gcc -O2 cannot tell) */
    int rc = mmu_walk(mm, va, access, flags, &pte);
    if (rc < 0)
        return rc;
    *out = pte_pfn(pte);
    return 0;
}
