/* The PTE writer: the only code that changes a PTE of an address space. Downgrades (a
 * permission or the frame taken away) invalidate vmemu's TLB entry and the CPU's entry for
 * the page (or its whole TLB); installing and zapping a page keep the reverse map, the frame
 * references and rss in step with the PTE (src/mm/pte.c). */
#ifndef VMEMU_PTE_H
#define VMEMU_PTE_H

#include "vmemu/mm_types.h"

/* Changes the PTE at ptep (for va) to `want`, keeping rss, the reverse map and frame
 * references as they are (callers own those), and invalidates vmemu's TLB entry and the
 * CPU's TLB when the change takes away a permission or a frame. */
void mm_set_pte(struct mm *mm, gva_t va, pte_t *ptep, pte_t want);
/* Asks the CPU to drop its TLB entry for the page at va of the current mm before the guest
 * runs again: one page of sys->cpu_inval, or a whole flush (VM_FLUSH_DOWNGRADE) when
 * VM_INVAL_PAGES are already asked for. */
void vmsys_cpu_invalidate(struct vmsys *sys, gva_t va);
/* PTE bits for a page of an area with protection prot: US, NX, and RW or (when cow) COW. */
uint64_t mm_prot_pte_bits(uint32_t prot, bool cow);
/* Maps pfn at va with `pte_flags` into an empty (none) slot: ptep when the caller holds it
 * (the fault path: no second walk), else the slot is looked up and missing tables are
 * allocated. Takes over one frame reference from the caller, adds the reverse map and
 * counts rss. Returns 0 or -ENOMEM. */
int mm_install_page(struct mm *mm, gva_t va, pte_t *ptep, pfn_t pfn, uint64_t pte_flags);
/* The PTE a reverse-map entry stands for (present: the rmap invariant). */
pte_t *mm_rmap_pte(const struct rmap *r);
/* Removes the mapping of one page (present or swap), dropping its frame reference. */
void mm_zap_page(struct mm *mm, gva_t va, pte_t *ptep);

/* Sets the accessed bit, and the dirty bit when dirty, of the present PTE at ptep, as the
 * hardware does on an access the PTE allows: an upgrade, so no TLB is invalidated (the
 * caller puts the new value into vmemu's TLB). */
void mm_pte_mkyoung(pte_t *ptep, bool dirty);
/* Records the current table-page count into peak stats. */
void mm_note_pt_pages(struct mm *mm);

#endif
