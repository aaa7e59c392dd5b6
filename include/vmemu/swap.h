/* The swap area: page-sized slots in a host file, a slot allocator with reference counts
 * (one per swap entry in a PTE, one for the swap cache), and the swap cache, which keeps
 * the frame a slot was last read into so that a page several owners swapped out is read
 * once and a page that was not written since it came back is not written again. */
#ifndef VMEMU_SWAP_H
#define VMEMU_SWAP_H

#include "vmemu/types.h"

struct phys;

/* Swap size when --swap is not given: slots are handed out on demand up to this. */
#define SWAP_DEFAULT_MAX (4ULL << 30)

/* One swap area. */
struct swap_area {
    int fd;               /* host file holding the slots; -1 when there is no swap */
    char *path;           /* --swap-file path (kept at exit), NULL for the temporary file */
    uint64_t max_slots;   /* capacity in pages (0: no swap) */
    uint64_t nslots;      /* slots ever handed out: the size of refs and cache */
    uint64_t cap;         /* allocated length of refs and cache */
    uint32_t *refs;       /* per slot: swap entries pointing at it + 1 while in the swap cache;
                             0 = free */
    pfn_t *cache;         /* per slot: the swap-cache frame holding its data, or 0 */
    uint64_t *free_stack; /* freed slots, reused last-in first-out */
    uint64_t nfree;       /* entries in free_stack */
    uint64_t used;        /* slots with refs > 0 */
    uint64_t peak_used;   /* highest value of used */
    uint64_t reads;       /* pages read from the area (swap-ins) */
    uint64_t writes;      /* pages written to the area (swap-outs) */
};

/* Opens a swap area of max_bytes (rounded down to pages; 0 means no swap) in path (created
 * or truncated, kept at exit), or in an unlinked temporary file under $TMPDIR or /tmp
 * when path is NULL. The file grows as slots are used. Returns 0, or -errno with the area
 * left as "no swap". */
int swap_init(struct swap_area *sw, uint64_t max_bytes, const char *path);
/* Closes the file and frees the tables. The swap cache must be empty. */
void swap_destroy(struct swap_area *sw);

/* Takes a free slot with one reference. Returns 0 and sets *slot, or -ENOSPC when the area
 * is full (or absent), -ENOMEM when the tables cannot grow. */
int swap_alloc(struct swap_area *sw, uint64_t *slot);
/* Adds a reference to a used slot (one more swap entry points at it). */
void swap_dup(struct swap_area *sw, uint64_t slot);
/* Drops a reference; the slot is free again when the last goes. */
void swap_free(struct swap_area *sw, uint64_t slot);
/* References of a slot (0 = free). */
uint32_t swap_count(const struct swap_area *sw, uint64_t slot);

/* Writes one page to the slot. Returns 0 or -EIO. Counted in writes. */
int swap_write(struct swap_area *sw, uint64_t slot, const void *page);
/* Reads one page from the slot. Returns 0 or -EIO. Counted in reads. */
int swap_read(struct swap_area *sw, uint64_t slot, void *page);

/* The swap-cache frame of slot, or 0. No reference is taken. */
pfn_t swap_cache_find(const struct swap_area *sw, uint64_t slot);
/* Puts frame pfn in the swap cache as the copy of slot: marks it FRAME_SWAPCACHE with
 * index = slot, and takes a slot reference and a frame reference. */
void swap_cache_add(struct swap_area *sw, struct phys *phys, uint64_t slot, pfn_t pfn);
/* Takes pfn out of the swap cache: drops the cache's slot reference (freeing the slot when
 * no swap entry uses it) and its frame reference (freeing the frame when nobody maps it). */
void swap_cache_del(struct swap_area *sw, struct phys *phys, pfn_t pfn);
/* Drops a mapping's reference to pfn (phys_put); then, when only the swap cache still
 * holds the frame and no swap entry uses its slot, takes it out of the cache so that frame
 * and slot are freed. Use instead of phys_put for frames that may be in the swap cache. */
void swap_put_page(struct swap_area *sw, struct phys *phys, pfn_t pfn);

/* Drops a swap entry's reference to slot (a PTE that held it is gone); when only the swap
 * cache still holds the slot and nobody maps its frame, the frame and the slot are freed
 * too, so that no cache entry outlives every user of its slot. */
void swap_free_entry(struct swap_area *sw, struct phys *phys, uint64_t slot);

#endif
