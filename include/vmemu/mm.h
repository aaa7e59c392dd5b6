/* Address spaces (struct mm, in mm_types.h): creation and teardown, fork, and the area
 * operations behind mmap, munmap, mprotect, mremap, brk, mlock and madvise's fork advice.
 * PTEs change only through pte.h (mm_set_pte). Includes the types, the PTE writer and the
 * machine set-up, which every user of an address space needs. */
#ifndef VMEMU_MM_H
#define VMEMU_MM_H

#include "vmemu/mm_types.h"
#include "vmemu/pte.h"
#include "vmemu/vmsys.h"

/* A new empty address space. Returns 0 or -ENOMEM. */
int mm_create(struct vmsys *sys, struct mm **out);
/* Unmaps everything, frees the tables and the mm. */
void mm_destroy(struct mm *mm);
/* fork (Linux's dup_mmap): *out gets a copy of parent's areas, and of the page-table
 * entries of the areas that hold anonymous pages (mm_fork_needs_copy; the others start
 * empty and fault in from the page cache). Frames are shared, not copied: pages of private areas
 * are write-protected and marked copy-on-write on both sides, shared areas stay shared and
 * writable, swap entries are duplicated (slot references), and the child's table pages come from
 * the pool. Areas with VM_DONTCOPY are left out, VM_WIPEONFORK areas are copied empty, and memory
 * locks are not inherited. The child's counters start at zero (rss as mapped). Returns 0 or -ENOMEM
 * (nothing is left of the child then; the parent's pages may stay copy-on-write).
 * (src/mm/mm_fork.c) */
int mm_dup(struct mm *parent, struct mm **out);
/* Whether fork copies the page-table entries of area v (Linux's vma_needs_copy): only
 * when it has an anon_vma, i.e. held anonymous pages. (src/mm/mm_fork.c) */
bool mm_fork_needs_copy(const struct vma *v);
/* Right after mm_dup: child gets its own copy of every page of [start, end) it shares
 * copy-on-write with parent, and parent's pages there become writable again. For areas
 * whose copies the fault path cannot make later (the heap checker's PROT_NONE arena,
 * whose pages vmemu itself writes). Returns 0 or -ENOMEM (the child is then to be
 * dropped). (src/mm/mm_fork.c) */
int mm_fork_unshare(struct mm *parent, struct mm *child, gva_t start, gva_t end);
/* Pages of mm whose frame another address space maps too (shared after fork, or shared
 * file pages). (src/mm/mm_fork.c) */
uint64_t mm_shared_pages(const struct mm *mm);
/* Anonymous pages (not the zero page, not page-cache pages) of mm still copy-on-write
 * whose frame another address space maps too: what is left shared of a fork's copy.
 * (src/mm/mm_fork.c) */
uint64_t mm_cow_shared_pages(const struct mm *mm);

/* Maps [start, start+len) with prot/flags, backed by file at byte offset `off` (or
 * anonymous when file is NULL), replacing whatever was there. start and len page-aligned.
 * Returns 0 or -errno. */
int mm_map(struct mm *mm, gva_t start, uint64_t len, uint32_t prot, uint32_t flags,
           enum vma_kind kind, struct vfile *file, uint64_t off, uint64_t file_end);
/* Releases the pages of [start, end) but keeps the areas: the next access faults them in
 * again (zero-filled for anonymous memory, from the file for file mappings). */
void mm_zap_range(struct mm *mm, gva_t start, gva_t end);
/* Unmaps [start, start+len): pages are released, tables pruned. Returns 0 or -errno. */
int mm_unmap(struct mm *mm, gva_t start, uint64_t len);
/* Changes the protection of [start, start+len), up to the first hole or refused area (whose
 * areas before keep the change, as on Linux). Returns 0, -ENOMEM (a hole), -EACCES
 * (PROT_WRITE on a read-only shared file). */
int mm_protect(struct mm *mm, gva_t start, uint64_t len, uint32_t prot);
/* Sets the program break; returns the new break (the old one when refused), as Linux. */
gva_t mm_brk(struct mm *mm, gva_t newbrk);
/* Picks an address for a new mapping of len bytes: the hint if free, else top-down from
 * mmap_base. Returns 0 or -ENOMEM. */
int mm_get_unmapped_area(struct mm *mm, gva_t hint, uint64_t len, gva_t *out);

/* mremap flags (Linux's values). */
#define MM_MREMAP_MAYMOVE   1u
#define MM_MREMAP_FIXED     2u
#define MM_MREMAP_DONTUNMAP 4u
/* mremap of [old_addr, old_addr+old_len) to new_len bytes, with Linux's rules and errors:
 * shrink in place, grow in place when the space above is free, else move (MAYMOVE) to a
 * new place or to new_addr (FIXED, which replaces what is there); DONTUNMAP leaves the old
 * range mapped but empty (any area, as since Linux 5.13); FIXED without a resize moves
 * every area in the range and keeps the gaps (Linux 6.17+). old_len 0 on a shared area makes
 * a second mapping of the same pages. Pages move by moving their PTEs and reverse-map
 * entries: no frame is copied. Arguments are already page-aligned by the syscall. Returns
 * 0 and sets *out, or -EINVAL, -ENOMEM, -EFAULT (range not mapped) as Linux does.
 * (src/mm/mremap.c) */
int mm_remap(struct mm *mm, gva_t old_addr, uint64_t old_len, uint64_t new_len, unsigned flags,
             gva_t new_addr, gva_t *out);

/* Sets (lock) or clears VM_LOCKED on the areas of [start, end), splitting them (the
 * caller populates). A hole ends the walk as in Linux: the areas before it are changed.
 * Returns 0, -EINVAL (a MAP_HUGETLB area cut off its 2 MiB boundaries) or -ENOMEM (a
 * hole in the range, or no memory). */
int mm_lock_range(struct mm *mm, gva_t start, gva_t end, bool lock);
/* Sets `set` and clears `clear` in the flags of the areas of [start, end), which must be
 * mapped, splitting them at the ends (madvise's fork and huge-page advice). Returns 0,
 * -EINVAL (a MAP_HUGETLB area cut off its 2 MiB boundaries) or -ENOMEM. */
int mm_set_vma_flags(struct mm *mm, gva_t start, gva_t end, uint32_t set, uint32_t clear);
#endif
