/* Translation: what the CPU's fill callback and vmemu's copy helpers call. vmemu's TLB
 * first, then the page walk, then the fault handler; sets the accessed and dirty bits. */
#ifndef VMEMU_MMU_H
#define VMEMU_MMU_H

#include "vmemu/mm_types.h"

/* Permission bits returned to the CPU. */
#define MMU_R 0x1u
#define MMU_W 0x2u
#define MMU_X 0x4u

/* A translation for the CPU. */
struct fill {
    pfn_t pfn;      /* frame */
    unsigned perms; /* MMU_R | MMU_W | MMU_X that the CPU may cache */
};

/* Translates va (any byte of the page) for `access` in mm, faulting the page in if needed.
 * The permissions returned are only those the PTE grants now: a clean page is returned
 * without MMU_W so the first write comes back; MMU_X only on fetches (the frame is then
 * marked FRAME_EXECUTED). Counts a fill. Returns 0, -EFAULT (mm->last_fault says why) or
 * -ENOMEM. */
int mmu_fill(struct mm *mm, gva_t va, enum access access, struct fill *out);
/* The same translation for vmemu's own accesses (copy helpers), with mm_fault's flags
 * (FAULT_NOSIGNAL for a pointer a syscall was given): no fill is counted. */
int mmu_translate_user(struct mm *mm, gva_t va, enum access access, unsigned flags, pfn_t *out);

#endif
