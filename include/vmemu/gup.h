/* Pages faulted in on behalf of the kernel (Linux's get_user_pages and populate):
 * MAP_POPULATE, MAP_LOCKED, mlock, MADV_POPULATE_*, mremap of a locked area. The work is
 * counted as `populate`, never as a fault of the guest (src/mm/gup.c). */
#ifndef VMEMU_GUP_H
#define VMEMU_GUP_H

#include "vmemu/mm_types.h"

/* Faults in every page of [start, end) as Linux's populate does for MAP_POPULATE and
 * mlock (write faults for private writable areas, read faults otherwise); stops quietly at
 * the first page that cannot be faulted (except for running out of frames). Returns 0 or
 * -ENOMEM. */
int mm_populate(struct mm *mm, gva_t start, gva_t end);
/* Faults in the page at va for access on behalf of the kernel (Linux's GUP): the work is
 * counted in stats.faults.populate, not as a fault of the guest, and a failure leaves the
 * SIGSEGV/SIGBUS counters and last_fault alone. Returns mm_fault's result. */
int mm_populate_page(struct mm *mm, gva_t va, enum access access);
#endif
