/* The page-fault handler: given an access the page tables do not allow, decide as Linux's
 * handle_pte_fault() does: SIGSEGV, zero page, new anonymous frame, page-cache page,
 * copy-on-write copy, or stack growth. */
#ifndef VMEMU_FAULT_H
#define VMEMU_FAULT_H

#include "vmemu/mm_types.h"

/* How a fault is taken (Linux's FAULT_FLAG_* and GUP's FOLL_*), for mm_fault's flags. */
#define FAULT_NOSIGNAL                                                                             \
    0x1u /* a pointer given to a syscall: an invalid access is the caller's                        \
            -EFAULT, neither counted (segv, sigbus) nor kept in last_fault */
#define FAULT_KERNEL                                                                               \
    0x2u /* on behalf of the kernel (populate): as FAULT_NOSIGNAL, and                             \
            running out of frames is the caller's -ENOMEM (no OOM kill,                            \
            last_fault untouched); the page is counted as populate only */
#define FAULT_DEBUG                                                                                \
    0x4u /* a debugger's access (FOLL_FORCE): as FAULT_KERNEL but counted                          \
            nowhere, and the area's protection is ignored: the PTE gets                            \
            read access (and write access for a write); the caller puts                            \
            the area's permissions back on the PTE */

/* Resolves a fault at va for `access`, taken as `flags` says (0: the guest's own access).
 * On success the PTE allows the access; returns 0. On a bad access fills mm->last_fault,
 * counts it and returns -EFAULT; when no frame is left returns -ENOMEM (last_fault says
 * CAUSE_OOM, and mm->oom asks for the OOM kill). */
int mm_fault(struct mm *mm, gva_t va, enum access access, unsigned flags);
/* mm_fault for a caller that walked the table already: *ptepp is the leaf PTE slot of va
 * when the walk found one (NULL: the fault walks, allocating tables), and on success the
 * slot that now allows the access, so that a fault costs one walk. */
int mm_fault_pte(struct mm *mm, gva_t va, enum access access, unsigned flags, pte_t **ptepp);
/* Words for a fault cause ("NULL pointer", "write to read-only memory", ...). */
const char *fault_cause_text(enum fault_cause cause);

#endif
