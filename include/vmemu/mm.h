/* Address spaces (struct mm) and the machine-wide VM state they share (struct vmsys):
 * frame pool, page cache, vmemu's TLB and the hooks that reach the CPU. The only place
 * that changes PTEs is mm_set_pte(), which invalidates both TLBs on downgrades. */
#ifndef VMEMU_MM_H
#define VMEMU_MM_H

#include "vmemu/pagecache.h"
#include "vmemu/pagetable.h"
#include "vmemu/phys.h"
#include "vmemu/reclaim.h"
#include "vmemu/swap.h"
#include "vmemu/tlb.h"
#include "vmemu/vma.h"

/* Fault counters of one address space (Linux's words). */
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
    uint64_t shared_write; /* minor: first store to a clean page of a shared file mapping
                              (Linux's write-notify fault, wp_page_shared) */
    uint64_t segv;         /* invalid accesses (SIGSEGV) */
    uint64_t sigbus;       /* accesses past the end of a mapped file (SIGBUS) */
    uint64_t stack_grow;   /* faults that extended the stack area downwards */
    uint64_t populate;     /* pages faulted in ahead by MAP_POPULATE, MAP_LOCKED, mlock and
                              MADV_POPULATE_*: not counted as faults above (Linux's perf
                              page-fault events do not count them either) */
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
};

/* The last failed access of an address space. */
struct fault_info {
    gva_t va;           /* faulting address (page-aligned when only the page is known) */
    enum access access; /* read, write or fetch */
    int signo;          /* SIGSEGV, SIGBUS or SIGKILL (out of memory) */
    int code;           /* si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR */
    enum fault_cause cause;
};

/* Callbacks into the CPU, set by whoever owns it (NULL in unit tests). */
struct vmsys_cpu_ops {
    void (*flush_tlb)(void *ctx);                  /* drop every cached translation */
    void (*invalidate_code)(void *ctx, pfn_t pfn); /* drop translated code of a frame */
    void *ctx;
};

/* Machine-wide VM state: one per vmemu run. */
struct vmsys {
    struct phys phys;         /* the frame pool */
    struct pagecache pc;      /* file pages */
    struct tlb tlb;           /* vmemu's TLB (one CPU) */
    struct mm *current;       /* address space the CPU runs */
    struct vmsys_cpu_ops cpu; /* CPU hooks */
    bool cpu_flush_pending;   /* a downgrade happened: the CPU's TLB must be flushed */
    uint64_t cpu_flushes;     /* flushes of the CPU's TLB done for downgrades */
    struct swap_area swap;    /* the swap area (none until vmsys_setup_paging) */
    struct reclaim reclaim;   /* page replacement */
};

/* Per-address-space counters beyond faults. */
struct mm_stats {
    struct fault_stats faults; /* see struct fault_stats */
    uint64_t fills;            /* translations requested by the CPU (Unicorn TLB misses) */
    uint64_t rss;              /* pages mapped now (zero page excluded) */
    uint64_t peak_rss;         /* highest rss */
    uint64_t peak_vm;          /* highest mapped virtual size in pages */
    uint64_t peak_pt_pages;    /* highest number of page-table pages */
};

/* Where mappings go, as Linux lays them out (x86-64, no randomisation). */
#define MM_STACK_TOP   0x00007ffffffff000ULL /* top of the main stack */
#define MM_STACK_LIMIT (8ULL << 20)          /* default RLIMIT_STACK */
#define MM_STACK_GAP   (256ULL << 12)        /* Linux's stack_guard_gap: 256 pages */
#define MM_MMAP_LOW    0x0000000000010000ULL /* mmap_min_addr */

/* One removal of a range by a syscall (munmap, mremap, mmap MAP_FIXED over it, brk
 * shrinking), kept so that a later access there can be explained in the crash report. */
struct mm_unmap_record {
    gva_t start, end; /* the range removed */
    gva_t rip;        /* RIP of the syscall instruction that removed it */
    int sysno;        /* its syscall number (11 munmap, 25 mremap, 9 mmap, 12 brk, ...) */
    uint64_t seq;     /* how many syscalls the process had made by then */
};
#define MM_UNMAP_HISTORY 64 /* removals remembered (a ring: the oldest are forgotten) */

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
    int sys_nr;                   /* syscall in progress (set by dispatch), -1 outside one */
    gva_t sys_rip;                /* RIP of that syscall instruction */
    uint64_t sys_seq;             /* its sequence number (the process's syscall count) */
    struct mm_unmap_record unmaps[MM_UNMAP_HISTORY]; /* ring of recent removals */
    uint64_t nunmaps; /* removals recorded so far; the next goes to nunmaps % MM_UNMAP_HISTORY */
    bool oom;         /* a fault found no frame and nothing to evict: the process must be
                         killed (SIGKILL), as Linux's OOM killer would */
};

/* Sets up the frame pool, page cache, TLB and page replacement (default policy, no swap:
 * only file pages can be evicted). Returns 0 or -errno. */
int vmsys_init(struct vmsys *sys, uint64_t mem_bytes, unsigned tlb_entries, unsigned tlb_ways);
/* Chooses the replacement policy and seed, and opens a swap area of swap_bytes (0: none)
 * in swap_path (NULL: a temporary file). Call before any address space exists.
 * Returns 0 or -errno (the swap file cannot be created). */
int vmsys_setup_paging(struct vmsys *sys, enum reclaim_policy policy, uint64_t seed,
                       uint64_t swap_bytes, const char *swap_path);
void vmsys_destroy(struct vmsys *sys);

/* A new empty address space. Returns 0 or -ENOMEM. */
int mm_create(struct vmsys *sys, struct mm **out);
/* Unmaps everything, frees the tables and the mm. */
void mm_destroy(struct mm *mm);
/* fork (Linux's dup_mmap): *out gets a copy of parent's areas and page tables. Frames are
 * shared, not copied: pages of private areas are write-protected and marked copy-on-write
 * on both sides, shared areas stay shared and writable, swap entries are duplicated (slot
 * references), and the child's table pages come from the pool. Areas with VM_DONTCOPY are
 * left out, VM_WIPEONFORK areas are copied empty, and memory locks are not inherited.
 * The child's counters start at zero (rss as mapped). Returns 0 or -ENOMEM (nothing is
 * left of the child then; the parent's pages may stay copy-on-write). (src/mm_fork.c) */
int mm_dup(struct mm *parent, struct mm **out);
/* Pages of mm whose frame another address space maps too (shared after fork, or shared
 * file pages). (src/mm_fork.c) */
uint64_t mm_shared_pages(const struct mm *mm);

/* Changes the PTE at ptep (for va) to `new`, keeping rss, the reverse map and frame
 * references as they are (callers own those), and invalidates vmemu's TLB entry and the
 * CPU's TLB when the change takes away a permission or a frame. */
void mm_set_pte(struct mm *mm, gva_t va, pte_t *ptep, pte_t new);
/* PTE bits for a page of an area with protection prot: US, NX, and RW or (when cow) COW. */
uint64_t mm_prot_pte_bits(uint32_t prot, bool cow);
/* Maps pfn at va with `pte_flags` into an empty (none) slot: takes over one frame
 * reference from the caller, adds the reverse map and counts rss. Returns 0 or -ENOMEM. */
int mm_install_page(struct mm *mm, gva_t va, pfn_t pfn, uint64_t pte_flags);
/* The PTE a reverse-map entry stands for (present: the rmap invariant). */
pte_t *mm_rmap_pte(const struct rmap *r);
/* Removes the mapping of one page (present or swap), dropping its frame reference. */
void mm_zap_page(struct mm *mm, gva_t va, pte_t *ptep);

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
/* Changes the protection of [start, start+len); every page must be mapped.
 * Returns 0, -ENOMEM (a hole), -EACCES (PROT_WRITE on a read-only shared file). */
int mm_protect(struct mm *mm, gva_t start, uint64_t len, uint32_t prot);
/* Sets the program break; returns the new break (the old one when refused), as Linux. */
gva_t mm_brk(struct mm *mm, gva_t newbrk);
/* Picks an address for a new mapping of len bytes: the hint if free, else top-down from
 * mmap_base. Returns 0 or -ENOMEM. */
int mm_get_unmapped_area(struct mm *mm, gva_t hint, uint64_t len, gva_t *out);
/* The most recent recorded removal whose range contains va, or NULL. */
const struct mm_unmap_record *mm_unmap_history_find(const struct mm *mm, gva_t va);

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
 * (src/mremap.c) */
int mm_remap(struct mm *mm, gva_t old_addr, uint64_t old_len, uint64_t new_len, unsigned flags,
             gva_t new_addr, gva_t *out);

/* Faults in every page of [start, end) as Linux's populate does for MAP_POPULATE and
 * mlock (write faults for private writable areas, read faults otherwise); stops quietly at
 * the first page that cannot be faulted (except for running out of frames). Returns 0 or
 * -ENOMEM. */
int mm_populate(struct mm *mm, gva_t start, gva_t end);
/* Faults in the page at va for access on behalf of the kernel (Linux's GUP): the work is
 * counted in stats.faults.populate, not as a fault of the guest, and a failure leaves the
 * SIGSEGV/SIGBUS counters and last_fault alone. Returns mm_fault's result. */
int mm_populate_page(struct mm *mm, gva_t va, enum access access);
/* Sets (lock) or clears VM_LOCKED on the areas of [start, end), splitting them (the
 * caller populates). Returns 0 or -ENOMEM (a hole in the range, or no memory). */
int mm_lock_range(struct mm *mm, gva_t start, gva_t end, bool lock);
/* Sets `set` and clears `clear` in the flags of the areas of [start, end), which must be
 * mapped, splitting them at the ends (madvise's fork advice). Returns 0 or -ENOMEM. */
int mm_set_vma_flags(struct mm *mm, gva_t start, gva_t end, uint32_t set, uint32_t clear);
/* Writes the dirty shared file pages of [start, end) back to their files and write-
 * protects them so the next store marks them dirty again (msync). Returns 0 or -EIO. */
int mm_sync_range(struct mm *mm, gva_t start, gva_t end);

/* Virtual size in pages (all areas). */
uint64_t mm_vm_pages(const struct mm *mm);
/* Records the current table-page count into peak stats. */
void mm_note_pt_pages(struct mm *mm);

#endif
