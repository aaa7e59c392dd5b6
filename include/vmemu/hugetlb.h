/* hugetlbfs-style pages (src/mm/hugetlb.c): MAP_HUGETLB areas take 2 MiB pages from the
 * pool that --hugetlb sets aside, reserved at mmap time, never swapped. */
#ifndef VMEMU_HUGETLB_H
#define VMEMU_HUGETLB_H

#include "vmemu/mm_types.h"

/* What hugetlb_fault and hugetlb_wp_fault did (-EBUSY: no pool page, the access gets
 * SIGBUS; -ENOMEM: no frame for a page table or a reverse-map entry). */
#define HUGETLB_NONE   0 /* nothing: the page table exists, the caller goes on */
#define HUGETLB_MAPPED 1 /* a pool page (new, or a copy) is mapped: one fault */
#define HUGETLB_REUSED 2 /* the writer owned the whole page: mapped writable */

/* A new shmem object of pool pages for shared hugetlb mappings (MAP_SHARED|MAP_HUGETLB,
 * SHM_HUGETLB, MFD_HUGETLB), of size rounded up to 2 MiB, named name in maps; with
 * reserve, every page is promised now (the object keeps the promises). Takes a reference.
 * Returns 0, -EINVAL (too big) or -ENOMEM (the pool cannot keep the promise). */
int hugetlb_file_create(struct vmsys *sys, uint64_t size, bool reserve, const char *name,
                        struct vfile **out);
/* mmap of [0, end) bytes of hugetlb object f without MAP_NORESERVE (an MFD_HUGETLB
 * memfd): its pages there that are not in its cache, up to its size, are promised (those
 * it holds promises for already count). Returns 0 or -ENOMEM. */
int hugetlb_file_promise(struct vmsys *sys, struct vfile *f, uint64_t end);
/* ftruncate of hugetlb object f to size bytes: -EINVAL off a 2 MiB multiple, -EFBIG past
 * the address space; pages past the new end leave its cache (mappings keep theirs until
 * unmapped) and so do the promises of pages it no longer has. Returns 0 or -errno. */
int hugetlb_file_truncate(struct vmsys *sys, struct vfile *f, uint64_t size);
/* Promises `pages` free pool pages to a new mapping. Returns 0 or -ENOMEM (the pool's free
 * pages not yet promised are too few). */
int hugetlb_reserve(struct vmsys *sys, uint64_t pages);
/* Gives back the promises of area v's 2 MiB pages in [lo, hi) that are not mapped (the
 * range is being unmapped); no-op unless v has VM_HUGETLB_RESV. */
void hugetlb_unreserve(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi);
/* Before MADV_DONTNEED drops the mapped pages of [lo, hi) of area v: a reserving area
 * keeps its promise for them (each may be faulted in again). */
void hugetlb_rereserve(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi);
/* -EINVAL when addr would cut a MAP_HUGETLB area off its 2 MiB boundaries (munmap,
 * mprotect and madvise ranges must be aligned there), else 0. */
int hugetlb_check_cut(const struct mm *mm, gva_t addr);
/* mremap of a MAP_HUGETLB area (Linux's mremap since 5.16): rounds *old_len and *new_len
 * up to 2 MiB; -EINVAL when addr (or new_addr, when new_place: MREMAP_FIXED) is off a
 * 2 MiB boundary, when the area would grow, or with MREMAP_DONTUNMAP (hugetlb areas are
 * VM_DONTEXPAND). Else 0: shrinking unmaps the tail, moving moves the pages. */
int hugetlb_remap_check(uint64_t *old_len, uint64_t *new_len, gva_t addr, gva_t new_addr,
                        bool new_place, bool dontunmap);
/* After mremap moved the PTEs of a MAP_HUGETLB range [lo, hi) (2 MiB-aligned) one by one:
 * marks each table that maps a whole pool page PDE_HUGETLB again and counts it. */
void hugetlb_mark_moved(struct mm *mm, gva_t lo, gva_t hi);
/* A fault at va of MAP_HUGETLB area v with no page table there: maps a zeroed pool page
 * (the area's reservation first), or in a shared area the object's page (a new one put
 * in its page cache when it has none: the object's reservation first; past its end:
 * -EBUSY) and sets *ptepp to va's PTE. Returns HUGETLB_NONE when
 * a table exists, HUGETLB_MAPPED, -EBUSY (pool empty: SIGBUS) or -ENOMEM. */
int hugetlb_fault(struct mm *mm, const struct vma *v, gva_t va, pte_t **ptepp);
/* A write to a copy-on-write PTE of MAP_HUGETLB area v (a private mapping after fork):
 * the whole 2 MiB page is taken over when the writer owns all of it, else copied into a
 * new pool page (Linux's hugetlb_wp). Returns HUGETLB_REUSED, HUGETLB_MAPPED, HUGETLB_NONE
 * (not a hugetlb mapping), -EBUSY or -ENOMEM. */
int hugetlb_wp_fault(struct mm *mm, const struct vma *v, gva_t va);

#endif
