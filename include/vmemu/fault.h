/* The page-fault handler: given an access the page tables do not allow, decide as Linux's
 * handle_pte_fault() does: SIGSEGV, zero page, new anonymous frame, page-cache page,
 * copy-on-write copy, or stack growth. */
#ifndef VMEMU_FAULT_H
#define VMEMU_FAULT_H

#include "vmemu/mm.h"

/* Pages mapped around a file read fault, as Linux's fault_around_bytes (64 KiB). */
#define FAULT_AROUND_PAGES 16

/* Resolves a fault at va for `access`. On success the PTE allows the access; returns 0.
 * On a bad access fills mm->last_fault, counts it and returns -EFAULT; when no frame is
 * left returns -ENOMEM (last_fault says CAUSE_OOM). */
int mm_fault(struct mm *mm, gva_t va, enum access access);
/* Words for a fault cause ("NULL pointer", "write to read-only memory", ...). */
const char *fault_cause_text(enum fault_cause cause);

#endif
