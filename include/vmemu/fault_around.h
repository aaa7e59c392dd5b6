/* What a read fault on a file page maps besides the page itself (Linux's do_fault_around
 * and filemap_map_pages): the 64 KiB window around it, a large folio of a file the guest
 * wrote whole, or a 2 MiB folio's block as one PMD would; and the write-notify fault that
 * makes such a block writable at once. Used by src/mm/fault.c. */
#ifndef VMEMU_FAULT_AROUND_H
#define VMEMU_FAULT_AROUND_H

#include "vmemu/mm_types.h"

/* Pages mapped around a file read fault, as Linux's fault_around_bytes (64 KiB). */
#define FAULT_AROUND_PAGES 16

/* The range a read fault maps. */
struct fault_around {
    gva_t lo, hi; /* [lo, hi): page-aligned, inside the area and one 2 MiB block */
    bool pmd;     /* the range is a 2 MiB folio's block, mapped as one PMD would be */
};

/* Whether page `index` of the area lies wholly inside the mapped part of its file. */
static inline bool fault_file_page_whole(const struct vma *vma, uint64_t index)
{
    return (index + 1) * PAGE_SIZE <= vma->file_end;
}

/* Whether fault-around may map the cached page `index` itself: a whole page, or the last
 * page of a read-only segment (which shows the file's next bytes, as on Linux); the last
 * page of a writable one needs a private copy with its tail zeroed. */
static inline bool fault_file_page_mappable(const struct vma *vma, uint64_t index)
{
    return fault_file_page_whole(vma, index) || !(vma->prot & VM_WRITE);
}

/* The range a read fault at page-aligned va (file page index of a file of file_pages
 * pages) maps: the 64 KiB-aligned window around it in the area; or, when the page lies in
 * a large folio (src/mm/folio.c) that fits in the area and in one page table, the whole
 * folio too, unless the folio holds the file's last page; or, for a 2 MiB folio whose
 * block has no PTE yet (Linux's pmd_none), the whole block with out->pmd set. */
void fault_around_range(struct mm *mm, struct vma *vma, gva_t va, uint64_t index,
                        uint64_t file_pages, struct fault_around *out);
/* Maps the cached pages of the range whose PTEs are none, but va's own (the caller maps
 * it: fault_va), with pte_flags (plus PTE_PMDMAP for a PMD's block), reading the missing ones first
 * after a major fault (Linux's read-around; free frames only, errors ignored). */
void fault_around_map(struct mm *mm, struct vma *vma, gva_t fault_va, const struct fault_around *r,
                      uint64_t pte_flags, uint64_t file_pages, bool major);
/* After a write-notify fault at fault_va on a page of a PMD-mapped folio (PTE_PMDMAP): the other
 * read-only pages of its 2 MiB block mapped with it become writable and dirty with
 * pte_flags, as the one PMD fault of Linux makes the whole folio writable. */
void fault_pmd_make_writable(struct mm *mm, struct vma *vma, gva_t fault_va, uint64_t pte_flags);
/* Before a copy-on-write fault at fault_va on a page of a PMD-mapped folio: the other pages
 * of its block mapped with it are unmapped, as Linux splits a file PMD (by zapping it);
 * their next access faults again, with fault-around. */
void fault_pmd_split(struct mm *mm, struct vma *vma, gva_t fault_va);

#endif
