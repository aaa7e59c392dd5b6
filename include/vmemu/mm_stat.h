/* Memory usage of areas and address spaces as Linux's /proc/PID/smaps and status count
 * it: resident, dirty, shared/private, proportional and swapped pages, from a walk of the
 * page tables and the frames' reverse maps. Used by the /proc files (src/proc/procfs_task.c) and
 * the reports (src/report/report_json.c, src/report/crash.c). */
#ifndef VMEMU_MM_STAT_H
#define VMEMU_MM_STAT_H

#include "vmemu/mm.h"

/* Usage of one area, in pages unless said otherwise (smaps' fields). */
struct vma_usage {
    uint64_t resident;          /* pages mapped to a frame, the zero page excluded (Rss) */
    uint64_t zero_mapped;       /* pages mapping the shared zero page (not in Rss, as Linux) */
    uint64_t pss_shifted;       /* proportional set size: bytes << 12 (Linux's PSS_SHIFT),
                                   each page's PAGE_SIZE divided by how many PTEs map it */
    uint64_t pss_dirty_shifted; /* the part of pss_shifted from dirty pages (Pss_Dirty) */
    uint64_t pss_anon_shifted;  /* ... from anonymous pages (Pss_Anon) */
    uint64_t pss_file_shifted;  /* ... from page-cache pages of files (Pss_File) */
    uint64_t pss_shmem_shifted; /* ... from shared anonymous memory (Pss_Shmem) */
    uint64_t shared_clean;      /* resident pages mapped more than once, clean */
    uint64_t shared_dirty;      /* resident pages mapped more than once, dirty */
    uint64_t private_clean;     /* resident pages mapped once, clean */
    uint64_t private_dirty;     /* resident pages mapped once, dirty */
    uint64_t dirty;             /* shared_dirty + private_dirty: PTE D or a FRAME_DIRTY frame */
    uint64_t referenced;        /* resident pages whose PTE has A set */
    uint64_t anon;              /* resident pages not in the page cache (Anonymous) */
    uint64_t swapped;           /* swap entries (Swap) */
    uint64_t locked;            /* resident pages of a VM_LOCKED area (Locked) */
    uint64_t anon_huge;         /* pages mapped as transparent huge pages (AnonHugePages) */
    uint64_t hugetlb;           /* pages of the hugetlb pool mapped (Private/Shared_Hugetlb);
                                   then every other count is 0, as Linux's smaps shows */
};

/* Counts the pages of area v of mm. */
void mm_vma_usage(const struct mm *mm, const struct vma *v, struct vma_usage *out);

/* Totals of an address space, in pages (the Vm* lines of /proc/PID/status). */
struct mm_usage {
    uint64_t vm;        /* every area (VmSize) */
    uint64_t peak_vm;   /* highest vm (VmPeak) */
    uint64_t locked_vm; /* areas with VM_LOCKED (VmLck) */
    uint64_t rss;       /* resident (VmRSS = RssAnon + RssFile + RssShmem) */
    uint64_t peak_rss;  /* highest rss (VmHWM) */
    uint64_t rss_anon;  /* resident anonymous pages (RssAnon) */
    uint64_t rss_file;  /* resident page-cache pages of files (RssFile) */
    uint64_t rss_shmem; /* resident shared anonymous pages (RssShmem) */
    uint64_t data;      /* private writable areas that are not the stack (VmData) */
    uint64_t stack;     /* the stack area (VmStk) */
    uint64_t exe;       /* executable program-image areas (VmExe) */
    uint64_t lib;       /* other executable file areas (VmLib) */
    uint64_t pt_pages;  /* page-table pages (VmPTE, 4 KiB each) */
    uint64_t swap;      /* swap entries (VmSwap) */
    uint64_t hugetlb;   /* pages of the hugetlb pool mapped (HugetlbPages; not in rss) */
};

/* Counts the totals of mm. */
void mm_usage(const struct mm *mm, struct mm_usage *out);

#endif
