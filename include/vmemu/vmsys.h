/* The machine-wide VM state of a run (struct vmsys, in mm_types.h): its set-up and
 * teardown, which create the frame pool, the page cache, vmemu's TLB, the swap area and
 * page replacement in the right order (src/mm/vmsys.c). The top of the memory layer. */
#ifndef VMEMU_VMSYS_H
#define VMEMU_VMSYS_H

#include "vmemu/mm_types.h"
#include "vmemu/reclaim.h"

/* Sets up the frame pool, page cache, TLB and page replacement (default policy, no swap:
 * only file pages can be evicted). Returns 0 or -errno. */
int vmsys_init(struct vmsys *sys, uint64_t mem_bytes, unsigned tlb_entries, unsigned tlb_ways);
/* Whether the host's kernel maps the shared zero page on an anonymous read fault (some
 * kernels allocate a zeroed page instead): probed by reading, then writing, 16 fresh pages
 * and counting the host's minor faults of the writes. */
bool vmsys_host_maps_zero_page(void);
/* Chooses the replacement policy and seed, and opens a swap area of swap_bytes (0: none)
 * in swap_path (NULL: a temporary file). Call before any address space exists.
 * Returns 0 or -errno (the swap file cannot be created). */
int vmsys_setup_paging(struct vmsys *sys, enum reclaim_policy policy, uint64_t seed,
                       uint64_t swap_bytes, const char *swap_path);
void vmsys_destroy(struct vmsys *sys);

#endif
