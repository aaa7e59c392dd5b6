/* Transparent huge pages for anonymous memory (src/mm/thp.c): the policy (always, madvise,
 * never, and MADV_HUGEPAGE/NOHUGEPAGE on areas), huge faults, the huge zero page, splits,
 * and copy-on-write of a huge page after fork. */
#ifndef VMEMU_THP_H
#define VMEMU_THP_H

#include "vmemu/mm_types.h"

/* What thp_anon_fault and thp_wp_fault did. */
#define THP_FAULT_NONE  0 /* nothing: the caller handles the 4 KiB page */
#define THP_FAULT_HUGE  1 /* a new huge page is mapped (one fault, class thp) */
#define THP_FAULT_ZERO  2 /* the huge zero page is mapped (one fault, class zero_page) */
#define THP_FAULT_REUSE 3 /* the writer owned the whole huge page: mapped writable */
#define THP_FAULT_HUGETLB                                                                          \
    4 /* a MAP_HUGETLB area got a page of the pool, or a copy of one (src/mm/hugetlb.c); such      \
         an area's faults answer -EBUSY when the pool has none: SIGBUS */

/* How thp_split_range treats a huge mapping that lies wholly inside the range. */
enum thp_range {
    THP_RANGE_KEEP,  /* keeps it (mprotect, MADV_FREE: Linux changes the PMD as a whole) */
    THP_RANGE_ZAP,   /* unmarks it without a split: its pages are all going (munmap,
                        MADV_DONTNEED: Linux zaps the PMD) */
    THP_RANGE_SPLIT, /* splits it (mremap moves pages one by one) */
};

/* Parses "always", "madvise" or "never". Returns 0 or -EINVAL. */
int thp_mode_parse(const char *name, enum thp_mode *out);
/* The mode's name as sysfs spells it. */
const char *thp_mode_name(enum thp_mode mode);
/* The contents of transparent_hugepage/enabled for mode ("always [madvise] never\n"). */
const char *thp_mode_sysfs(enum thp_mode mode);
/* Reads the host's /sys/kernel/mm/transparent_hugepage/enabled. Returns 0 or -errno (the
 * file is unreadable or holds no bracketed mode). */
int thp_host_mode(enum thp_mode *out);
/* Whether area v may get transparent huge pages under the machine's mode: private
 * anonymous memory, not MADV_NOHUGEPAGE, and MADV_HUGEPAGE when the mode is madvise. */
bool thp_vma_allowed(const struct vmsys *sys, const struct vma *v);
/* A fault at va of anonymous area v whose page table is missing: a MAP_HUGETLB area gets
 * a pool page (hugetlb_fault); otherwise, unless `debug` (a debugger's access), when v is
 * eligible and the 2 MiB range around va lies inside v, maps a new huge page (write, or
 * read without the zero page) or the huge zero page (read). Sets *ptepp to va's PTE slot.
 * Counts thp_fault_fallback when no 2 MiB block is free. Returns THP_FAULT_NONE, _HUGE,
 * _ZERO or _HUGETLB, -EBUSY (hugetlb pool empty) or -ENOMEM (a page-table page or a
 * reverse-map entry could not be had). */
int thp_anon_fault(struct mm *mm, const struct vma *v, gva_t va, enum access access, bool debug,
                   pte_t **ptepp);
/* A write fault at va on a copy-on-write PTE: in a MAP_HUGETLB area, hugetlb_wp_fault;
 * when the PTE belongs to a huge mapping, either replaces the huge zero page by a new huge
 * page, or maps the whole huge page writable when this mapping is the only owner of all
 * its frames (Linux's do_huge_pmd_wp_page reuse); otherwise (and always for a debugger's
 * write, `debug`) splits the huge mapping so that the caller copies the 4 KiB page.
 * Returns THP_FAULT_NONE, _HUGE, _REUSE, _HUGETLB, -EBUSY or -ENOMEM. */
int thp_wp_fault(struct mm *mm, const struct vma *v, gva_t va, bool debug);
/* Splits (or unmarks, or keeps: see enum thp_range) the huge mappings that overlap
 * [start, end); a mapping only partly inside is always split. Returns whether a mapping
 * lying wholly inside was unmarked (its page table may then be freed). */
bool thp_split_range(struct mm *mm, gva_t start, gva_t end, enum thp_range how);
/* Splits the huge mapping that covers va, if any (counted in thp_split_pmd). Returns
 * whether there was one. */
bool thp_split_at(struct mm *mm, gva_t va);
/* After fork copied parent's PTEs into child: marks the child's tables that map the same
 * huge pages as huge mappings too (Linux's copy_huge_pmd). */
void thp_fork(struct mm *parent, struct mm *child);
/* After the MMU walked va for the CPU: when va lies in a huge page, sets A (and D when
 * write) on its 512 PTEs, as one PS-bit entry would have them, and returns true with
 * *head_pte the PTE of its first page (for the 2 MiB TLB entry). */
bool thp_walked(struct mm *mm, gva_t va, bool write, pte_t *head_pte);
/* Bytes of [start, end) mapped as huge pages (PDE_THP), for AnonHugePages. */
uint64_t thp_mapped_bytes(const struct mm *mm, gva_t start, gva_t end);
/* Where a new anonymous mapping of len bytes goes when no address was asked for: Linux
 * (>= 6.7) pads the search by 2 MiB and aligns the result when len is a multiple of 2 MiB
 * (thp_get_unmapped_area). Returns 0 and *out, or -ENOMEM (the caller then searches
 * without padding). */
int thp_get_unmapped_area(struct mm *mm, uint64_t len, gva_t *out);

#endif
