/* The types of the memory system: the machine-wide VM state (struct vmsys), one address
 * space (struct mm), and the fault counters and fault record they carry. Types only: the
 * functions are in mm.h (address spaces), pte.h (the PTE writer), fault.h, vmsys.h and
 * the headers of the other mm modules, so that the modules of src/mm/ can include the
 * types without including each other (Linux's mm_types.h). */
#ifndef VMEMU_MM_TYPES_H
#define VMEMU_MM_TYPES_H

#include "vmemu/entropy.h"
#include "vmemu/folio.h"
#include "vmemu/pagecache.h"
#include "vmemu/pagetable.h"
#include "vmemu/phys.h"
#include "vmemu/swap.h"
#include "vmemu/tlb.h"
#include "vmemu/vma.h"

struct mm;
struct reclaim;

/* Fault counters (Linux's words). */
struct fault_stats {
    uint64_t minor;        /* faults resolved without reading a file */
    uint64_t major;        /* faults that read a page: file_major + swap_in */
    uint64_t zero_page;    /* minor: read of an untouched anonymous page -> zero page */
    uint64_t anon;         /* minor: new zeroed anonymous frame */
    uint64_t file_minor;   /* minor: file page found in the page cache */
    uint64_t file_major;   /* major: file page read from the host file */
    uint64_t file_refault; /* part of file_major: the page had been evicted by reclaim
                              (a re-read; Linux's workingset refault) */
    uint64_t swap_in;      /* major: anonymous page read back from swap */
    uint64_t swap_cache;   /* minor: swapped page found in the swap cache (already read
                              back for another owner) */
    uint64_t cow;          /* minor: write to a copy-on-write page copied the frame */
    uint64_t cow_reuse;    /* minor: write to a copy-on-write page, last owner kept the frame */
    uint64_t thp;          /* minor: a new 2 MiB transparent huge page (512 frames, one
                              fault), on a fault or a write to the huge zero page */
    uint64_t hugetlb;      /* minor: a 2 MiB page of the hugetlb pool (MAP_HUGETLB), new
                              or a copy-on-write copy */
    uint64_t shared_write; /* minor: first store to a clean page of a shared file mapping
                              (Linux's write-notify fault, wp_page_shared) */
    uint64_t segv;         /* invalid accesses (SIGSEGV) */
    uint64_t sigbus;       /* accesses past the end of a mapped file (SIGBUS) */
    uint64_t stack_grow;   /* faults that extended the stack area downwards */
    uint64_t populate;     /* pages faulted in ahead by MAP_POPULATE, MAP_LOCKED, mlock and
                              MADV_POPULATE_*: not counted as faults above (Linux's perf
                              page-fault events do not count them either) */
    uint64_t exec;         /* faults taken while execve built this task's new image and
                              stack (argument pages, the stack tables, the page where a
                              writable segment's file data ends): not in minor or major;
                              getrusage and /proc/PID/stat add them, as Linux does */
    uint64_t exec_major;   /* part of exec: file pages read (the padzero page, cold cache):
                              getrusage adds them to ru_majflt, the others to ru_minflt */
    uint64_t exec_args;    /* part of exec: the pages the argument and environment strings
                              span (Linux's get_user_pages in copy_strings: perf never counts
                              them; the rest of exec, kernel stores, perf counts as root) */
};

/* Why an access failed, for the crash report. */
enum fault_cause {
    CAUSE_NONE = 0,
    CAUSE_NULL,         /* address in the first 64 KiB with nothing mapped */
    CAUSE_UNMAPPED,     /* no area contains the address */
    CAUSE_STACK_GUARD,  /* just below the stack, beyond what it may grow */
    CAUSE_WRITE_RO,     /* write to an area without write permission */
    CAUSE_EXEC_NX,      /* instruction fetch from an area without exec permission */
    CAUSE_READ_NONE,    /* read of an area without read permission (PROT_NONE) */
    CAUSE_NONCANONICAL, /* address outside user space */
    CAUSE_BEYOND_FILE,  /* SIGBUS: page entirely past the end of the mapped file */
    CAUSE_OOM,          /* no frame left */
    CAUSE_SWAP_IO,      /* SIGBUS: the swap file could not be read */
    CAUSE_HUGETLB,      /* SIGBUS: the hugetlb pool has no free page for a MAP_HUGETLB area */
};

/* The last failed access of an address space. */
struct fault_info {
    gva_t va;           /* faulting address (page-aligned when only the page is known) */
    enum access access; /* read, write or fetch */
    int signo;          /* SIGSEGV, SIGBUS or SIGKILL (out of memory) */
    int code;           /* si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR */
    enum fault_cause cause;
};

/* What the memory system counts for one task: charged to the task that runs, or that a
 * syscall serves (Linux keeps min_flt and maj_flt in the task, not in the mm), and summed
 * per process where Linux sums them (getrusage, /proc). */
struct task_vm_stats {
    struct fault_stats faults; /* page faults by class */
    uint64_t fills;            /* translations requested by the CPU (Unicorn TLB misses) */
};

/* What a fault did, for the counters and the fault hook (Linux's words, see struct
 * fault_stats). */
enum fault_class {
    FC_ZERO_PAGE,
    FC_ANON,
    FC_FILE_MINOR,
    FC_FILE_MAJOR,
    FC_COW,
    FC_COW_REUSE,
    FC_SHARED_WRITE,
    FC_SWAP_IN,
    FC_SWAP_CACHE,
    FC_THP,
    FC_HUGETLB,
    FC_NONE, /* nothing to count: the PTE already allowed the access */
};

/* Told of every fault that is counted in a task's fault_stats (neither the debugger's
 * accesses nor populate), after it was resolved: the heap profiler charges it to the
 * allocation site whose block holds addr. addr is the faulting address (page-aligned for
 * the CPU's accesses, exact for the copy helpers'). */
struct mm_fault_hook {
    void (*faulted)(void *ctx, struct mm *mm, gva_t addr, enum fault_class cls); /* or NULL */
    void *ctx;                                                                   /* its argument */
};

/* Counters of one address space. */
struct mm_stats {
    uint64_t rss;           /* pages mapped now (zero page excluded) */
    uint64_t peak_rss;      /* highest rss */
    uint64_t peak_vm;       /* highest mapped virtual size in pages */
    uint64_t peak_pt_pages; /* highest number of page-table pages */
    uint64_t thp_pmds;      /* page tables now marked PDE_THP (huge pages mapped) */
    uint64_t thp_zero_pmds; /* page tables now marked PDE_HZP (huge zero page mapped) */
    uint64_t hugetlb_pmds;  /* page tables now marked PDE_HUGETLB (hugetlb pages mapped) */
    uint64_t swap_ptes;     /* swap entries in its page tables now (pages swapped out;
                               kept by mm_set_pte and fork's copy) */
    uint64_t swap_outs;     /* its PTEs reclaim turned into swap entries (one per address
                               space that mapped the evicted frame) */
    uint64_t fork_cow;      /* anonymous pages (not the zero page, not page-cache pages)
                               fork shared copy-on-write between the parent and this space
                               (its child side; 4 KiB mappings); 0 for a space no fork made */
};

/* Where mappings go, as Linux lays them out (x86-64, no randomisation). */
#define MM_STACK_TOP   0x00007ffffffff000ULL /* top of the main stack */
#define MM_STACK_LIMIT (8ULL << 20)          /* default RLIMIT_STACK */
#define MM_STACK_GAP   (256ULL << 12)        /* Linux's stack_guard_gap: 256 pages */
#define MM_MMAP_LOW    0x0000000000010000ULL /* mmap_min_addr */

/* Told of every range an address space loses while it lives (munmap, mremap, mmap
 * MAP_FIXED over it, brk shrinking; not its teardown), one call per area cut: the process
 * layer keeps the history that crash reports explain a later access with. */
struct mm_unmap_hook {
    void (*unmapped)(void *ctx, struct mm *mm, gva_t start, gva_t end); /* may be NULL */
    void *ctx;                                                          /* its argument */
};

/* A checker of the copies a syscall makes between vmemu and guest memory (the heap
 * checker's, as ASan's interceptors check a libc call's ranges): told of each guest range
 * before copy_from_user, copy_to_user, clear_user and the get/put helpers read or write
 * it, and of a string's bytes and its NUL after strncpy_from_user found them. The copies
 * of debuggers and reports (peek, poke, nofault) are not told. The copy is done whatever
 * the function finds. */
struct mm_access_hook {
    void (*access)(void *ctx, struct mm *mm, gva_t va, size_t n, bool write); /* may be NULL */
    void *ctx;                                                                /* its argument */
};

/* One address space. */
struct mm {
    struct vmsys *sys;            /* machine it lives on */
    struct pt pt;                 /* its page tables */
    struct vma_list vmas;         /* its areas */
    gva_t start_brk;              /* start of the heap (first byte after the program image) */
    gva_t brk;                    /* current program break (not page-aligned) */
    gva_t mmap_base;              /* top of the mmap area: below the stack and its gap */
    gva_t stack_top;              /* highest address of the main stack */
    uint64_t stack_limit;         /* RLIMIT_STACK in bytes */
    struct mm_stats stats;        /* counters */
    struct fault_info last_fault; /* the last failed access (valid when signo != 0) */
    uint32_t def_flags;           /* flags every new area gets (VM_LOCKED after
                                     mlockall(MCL_FUTURE)) */
    bool oom; /* a fault found no frame and nothing to evict: the process must be
                 killed (SIGKILL), as Linux's OOM killer would */
};

/* Transparent huge page policy (/sys/kernel/mm/transparent_hugepage/enabled). */
enum thp_mode {
    THP_MADVISE = 0, /* only areas with MADV_HUGEPAGE */
    THP_ALWAYS,      /* every eligible anonymous area but MADV_NOHUGEPAGE ones */
    THP_NEVER,       /* none */
};

/* Where the THP mode came from. */
enum thp_from {
    THP_FROM_OPTION = 0, /* --thp */
    THP_FROM_HOST,       /* the host's /sys/kernel/mm/transparent_hugepage/enabled */
    THP_FROM_DEFAULT,    /* madvise: the host's file could not be read */
};

/* Machine-wide huge-page events, Linux's /proc/vmstat thp_* counters. */
struct thp_stats {
    uint64_t fault_alloc;     /* huge pages allocated by a fault (thp_fault_alloc) */
    uint64_t fault_fallback;  /* eligible faults that found no free 2 MiB block and took
                                 4 KiB pages (thp_fault_fallback) */
    uint64_t split_pmd;       /* huge mappings split into 512 PTE mappings (thp_split_pmd) */
    uint64_t swpout_fallback; /* huge pages split because reclaim evicted one of their
                                 pages (thp_swpout_fallback: never swapped out whole) */
    uint64_t zero_page_alloc; /* huge zero page mappings made by a read fault
                                 (vmemu's count; Linux counts the zero page's allocation) */
    uint64_t resident;        /* 2 MiB blocks mapped as a huge page somewhere now */
    uint64_t peak_resident;   /* highest value of resident */
};

/* Called every `at`-th page fault of the machine (the timeline's sampling clock): `fn`
 * may read any counter and set `at` to the next fault it wants; it must not fault. */
struct vmsys_fault_tick {
    void (*fn)(void *ctx); /* NULL: no clock */
    void *ctx;             /* its argument */
    uint64_t at;           /* fault_seq value that calls fn next */
};

/* Why the CPU's TLB must be flushed (bits of struct vmsys.cpu_flush_pending; the CPU
 * counts flushes per cause). 1 (true) is a downgrade. */
#define VM_FLUSH_DOWNGRADE 0x01u /* a PTE of the running mm lost a permission or its frame */
#define VM_FLUSH_SWITCH    0x02u /* the CPU moved to another address space */
#define VM_FLUSH_EXEC      0x04u /* registers reset for a new program image */
#define VM_FLUSH_CODE      0x08u /* the code-invalidation window was filled (cpu.c) */
#define VM_FLUSH_RECLAIM   0x10u /* an lru epoch began: first touches must come back */
#define VM_FLUSH_DEBUG     0x20u /* page traps, watched ranges or the gdb stub changed fills */
#define VM_FLUSH_GROW      0x40u /* the CPU's TLB is too small: a flush lets it grow (cpu) */
#define VM_FLUSH_NCAUSES   7

/* Downgraded pages the CPU drops from its TLB one by one (struct vmsys.cpu_inval); with more
 * before the guest runs again, it flushes the whole TLB (cause VM_FLUSH_DOWNGRADE). */
#define VM_INVAL_PAGES 32

/* Machine-wide VM state: one per vmemu run. */
struct vmsys {
    struct phys phys;                /* the frame pool */
    struct pagecache pc;             /* file pages */
    struct tlb tlb;                  /* vmemu's TLB (one CPU) */
    struct mm *current;              /* address space the CPU runs */
    unsigned cpu_flush_pending;      /* VM_FLUSH_* causes: the CPU's TLB must be flushed
                                        before the guest runs again (0: no flush) */
    gva_t cpu_inval[VM_INVAL_PAGES]; /* pages of the current mm whose entries in the CPU's TLB
                                        must go before the guest runs again (a flush, when
                                        cpu_flush_pending is set, covers them) */
    unsigned cpu_inval_n;            /* entries in cpu_inval */
    bool cpu_filling;                /* the CPU's fill callback is translating cpu_fill_page */
    gva_t cpu_fill_page;             /* that page (the fill's answer replaces the CPU's TLB
                                        entry for it) */
    bool cpu_fill_skipped;           /* a downgrade of cpu_fill_page asked for no flush */
    uint64_t cpu_flush_spared;       /* downgrades of the page being filled that needed none */
    struct swap_area swap;           /* the swap area (none until vmsys_setup_paging) */
    struct reclaim *reclaim;         /* page replacement (src/mm/reclaim.c) */
    struct task_vm_stats *charge;    /* counters of the task the CPU runs or a syscall serves
                                        (set at every switch); NULL: nothing is counted */
    struct mm_unmap_hook on_unmap;   /* see struct mm_unmap_hook (set by the process layer) */
    struct mm_fault_hook on_fault;   /* see struct mm_fault_hook (set by --profile heap) */
    uint64_t fault_seq;              /* page faults counted so far, every task (minor and major,
                                        as the tasks' counters count them): a time stamp of
                                        guest progress that does not depend on host speed */
    struct mm_access_hook on_access; /* see struct mm_access_hook (set by the heap checker) */
    struct entropy entropy;          /* the guest's random bytes (host's, or seeded) */
    bool no_zero_page;               /* a read fault of untouched anonymous memory allocates a
                                        zeroed frame (as a kernel without the zero page does)
                                        instead of mapping the shared zero page */
    bool zero_page_host;             /* no_zero_page follows the host's kernel (--zero-page
                                        host), not the user's choice */
    struct folio_map folios;         /* the large page-cache folios Linux would hold for the
                                        files the guest wrote (src/mm/folio.c) */
    enum thp_mode thp_mode;          /* transparent huge pages (--thp) */
    enum thp_from thp_mode_from;     /* where thp_mode came from */
    struct thp_stats thp;            /* huge-page events (src/mm/thp.c) */
    struct vmsys_fault_tick tick;    /* see struct vmsys_fault_tick (set by the report layer) */
};

/* Virtual size in pages (all areas). */
static inline uint64_t mm_vm_pages(const struct mm *mm)
{
    return vma_list_pages(&mm->vmas);
}

/* The load bias of the program image: the start of its first mapping minus its file
 * offset (a static PIE's first segment maps offset 0 at vaddr 0); 0 without an image.
 * What symtab_load() takes (it ignores it for an ET_EXEC). */
static inline gva_t mm_image_bias(const struct mm *mm)
{
    for (size_t i = 0; i < mm->vmas.n; i++)
        if (mm->vmas.v[i].kind == VMA_IMAGE)
            return mm->vmas.v[i].start - mm->vmas.v[i].pgoff * PAGE_SIZE;
    return 0;
}

#endif
