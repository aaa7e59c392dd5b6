/* The whole-VM invariant check: frame reference counts against mappings, the page cache
 * and the swap cache; reverse maps against PTEs; rss against present PTEs; swap slot
 * references against swap entries; areas sorted and disjoint; page-table frames against
 * the address spaces' counts (src/mm/vm_check.c). */
#ifndef VMEMU_VM_CHECK_H
#define VMEMU_VM_CHECK_H

#include "vmemu/mm_types.h"

/* Checks sys and the n address spaces mms (a space may be listed twice). With all, mms are
 * every address space of sys, and the global counts must add up exactly; without, frames
 * mapped by other spaces are left alone. Returns 0, -EUCLEAN with one line saying what
 * does not hold in why, or -ENOMEM. Reads only; its work follows the page tables, the
 * frames handed out and the swap slots used. */
int vm_check(const struct vmsys *sys, struct mm *const *mms, size_t n, bool all, char *why,
             size_t len);

#endif
