/* The heap checker's private state, shared by heapcheck.c (interception, life cycle),
 * heapcheck_depot.c (the stack depot), heapcheck_alloc.c (blocks, red zones, quarantine),
 * heapcheck_extent.c (merged free memory) and heapcheck_report.c (errors, explanations, leak
 * search, reports), and the fork fix-up that src/proc/proc.c calls. Not a module contract: see
 * include/vmemu/heapcheck.h for that. */
#ifndef VMEMU_HEAPCHECK_INT_H
#define VMEMU_HEAPCHECK_INT_H

#include <stdio.h>

#include "stackset.h"

#include "vmemu/backtrace.h"
#include "vmemu/cpu.h"
#include "vmemu/heapcheck.h"
#include "vmemu/mm.h"

struct proc;

#define HC_BASE           0x100000000000ULL /* first address of the checker's area */
#define HC_END            0x110000000000ULL /* end of the space it may use (1 TiB) */
#define HC_COMPACT_END    0x101000000000ULL /* compact arena: its end (slots fit 32 bits) */
#define HC_CHUNK          (2ULL << 20)      /* the area grows in steps of this many bytes */
#define HC_FRONT          16                /* guard mode: front red zone in bytes (at least) */
#define HC_PATTERN        0xfa              /* guard mode: red-zone fill byte */
#define HC_QUARANTINE     (8ULL << 20)      /* bytes of freed slots kept before reuse, at most */
#define HC_QUARANTINE_MIN (1ULL << 20)      /* ... and at least (else the live slots' bytes) */
#define HC_BIG_PAGES                                                                               \
    4                              /* guard mode: blocks of this many pages or more get their own  \
                                      RW area (demand-paged); smaller ones get their pages installed */
#define HC_FRAMES     STACK_FRAMES /* frames kept per allocation/free site */
#define HC_NONE_STACK UINT32_MAX   /* free_stack of a block never freed */
#define HC_GRANULE    8            /* compact arena: bytes per shadow byte */
#define HC_NCLASSES   320          /* compact arena: slot size classes */

/* The slot size of compact-arena class c (heapcheck_alloc.c's hc_class is its inverse):
 * 16-byte steps to 1 KiB, then 8 steps per power of two. */
static inline uint64_t hc_class_size(unsigned c)
{
    if (c < 64)
        return (c + 1) * 16ULL;
    uint64_t p = 1ULL << (10 + (c - 64) / 8);
    return p + ((c - 64) % 8 + 1) * (p / 8);
}

/* Shadow bytes of the compact arena, one per HC_GRANULE bytes (as ASan's): 0 all bytes
 * addressable, 1-7 only that many first bytes, or one of these. */
enum hc_shadow {
    HC_SH_LEFT = 0xfa,  /* red zone before a block */
    HC_SH_RIGHT = 0xfb, /* red zone after a block (its slot's end) */
    HC_SH_FREED = 0xfd, /* a freed block, in the quarantine */
    HC_SH_FREE = 0xfe,  /* no block: never handed out, or a released slot */
};

/* Life of a block. */
enum hc_state {
    HC_LIVE = 0, /* allocated, not freed */
    HC_FREED,    /* freed, in the quarantine: inaccessible */
};

/* One call stack kept in the depot. */
/* One block handed out by the checking allocator (live or in the quarantine). */
struct hc_block {
    gva_t user;           /* address given to the program (0: table entry unused) */
    uint64_t size : 40;   /* bytes asked for (hc_alloc refuses more than 2^38) */
    uint64_t state : 2;   /* enum hc_state */
    uint64_t big : 1;     /* guard mode: its pages are an RW area of their own */
    uint64_t reached : 1; /* leak search: a pointer to it was found */
    uint32_t front;       /* bytes from its slot's first byte (guard mode: page) to user */
    uint32_t slot_units;  /* its slot's size: the class (compact arena) or pages, the gap
                             excluded (guard mode); see hc_slot_size */
    uint32_t alloc_stack; /* depot index of the allocation site */
    uint32_t free_stack;  /* depot index of the free site (HC_NONE_STACK: not freed); in an
                             unused entry, the index + 1 of the next unused one */
};

/* Entry points that are intercepted. */
enum hc_fn {
    HC_MALLOC = 0,
    HC_FREE,
    HC_CALLOC,
    HC_REALLOC,
    HC_MEMALIGN,
    HC_ALIGNED_ALLOC,
    HC_POSIX_MEMALIGN,
    HC_VALLOC,
    HC_PVALLOC,
    HC_REALLOCARRAY,
    HC_USABLE_SIZE,
};

/* One patched address. */
struct hc_entry {
    gva_t addr;    /* the function's first byte (now `syscall`) */
    enum hc_fn fn; /* what it does */
};

/* The program's symbols, shared by a process and its fork children. */
struct hc_syms {
    struct symtab *syms;  /* symbols of the program */
    struct bt_memo *memo; /* what stack walks learned of its code (NULL: none) */
    int refs;             /* checkers using it */
};

/* Released slots of one size class of the compact arena, reused last in, first out. */
struct hc_freelist {
    uint32_t *slots; /* slot addresses, as (slot - HC_BASE) / 16 */
    size_t n, cap;   /* used, allocated */
};

/* A run of released memory of the compact arena (heapcheck_extent.c). */
struct hc_extent {
    gva_t start;  /* first byte */
    uint64_t len; /* bytes (a multiple of 16) */
};

#define HC_READS_GROUP 1 /* a string scan: reads 128-byte aligned groups past the end */
#define HC_READS_CHUNK 2 /* a copy: reads 16-byte aligned chunks past the end */

/* A set of instruction addresses (open addressing, 0 empty). */
struct hc_set {
    gva_t *v;      /* the table */
    size_t cap, n; /* its size (power of two), used */
};

struct heapcheck {
    bool guard;               /* --check heap,guard */
    bool glibc;               /* realloc(p, 0) frees and returns NULL (glibc) */
    struct hc_syms *syms;     /* shared symbol table */
    struct hc_entry *entries; /* patched entry points */
    size_t nentries;          /* entries used */
    struct hc_block *blocks;  /* live and quarantined blocks, in no order (user 0: unused) */
    size_t nblocks;           /* entries used (the unused ones included) */
    size_t capblocks;         /* entries allocated */
    uint32_t unused;          /* index + 1 of the first unused entry of blocks (0: none);
                                 they are chained by free_stack */
    size_t nunused;           /* unused entries */
    uint32_t *btab;           /* hash table user address -> block index+1, 0 empty */
    size_t btabcap;           /* its size (power of two) */
    gva_t next;               /* bump pointer: next address never handed out */
    gva_t installed_end;      /* compact arena: end of the pages installed so far */
    gva_t mapped_end;         /* end of the checker's area mapped so far */
    uint8_t *shadow;          /* compact arena: shadow of [HC_BASE, mapped_end) */
    uint32_t *pagemap;        /* guard mode: per page of the area, block index+1 or 0 */
    struct hc_freelist classes[HC_NCLASSES]; /* compact arena: released slots by class */
    struct hc_extent *ext;                   /* compact arena: merged released slots, a
                                                max-heap by length */
    size_t nexts, capexts;                   /* used, allocated */
    uint64_t free_bytes;                     /* bytes in the class lists and extents */
    gva_t merge_mark;                        /* next after the last merge (0: none yet) */
    uint32_t *quar;                          /* quarantine: block indexes, a ring, oldest first */
    size_t qhead, qlen, qcap;                /* ring start, length, capacity */
    uint64_t qbytes;                         /* bytes of the slots in the quarantine */
    uint64_t live_bytes;                     /* bytes of the live blocks' slots */
    struct stack_key *stacks;                /* the stack depot */
    size_t nstacks, capstacks;               /* used, allocated */
    struct stack_index stab;                 /* finds a stack in the depot */
    struct hc_set seen;                      /* instructions whose bad access was reported */
    struct hc_set strfn;            /* instructions of libc's string scans (HC_READS_GROUP) */
    struct hc_set copyfn;           /* instructions of memcpy and memmove (HC_READS_CHUNK) */
    struct hc_set otherfn;          /* instructions of other functions that read bad bytes */
    uint64_t nallocs, nfrees;       /* calls that allocated / freed */
    uint64_t bytes_allocated;       /* bytes asked for in total */
    uint64_t errors;                /* errors reported */
    struct cpu_watch_filter filter; /* the shadow as the CPU layer reads it (hc_filter) */
};

/* The first byte of b's slot. */
static inline gva_t hc_slot(const struct hc_block *b)
{
    return b->user - b->front;
}

/* The bytes of b's slot (guard mode: its pages, the gap excluded). */
static inline uint64_t hc_slot_size(const struct heapcheck *h, const struct hc_block *b)
{
    return h->guard ? (uint64_t)b->slot_units << PAGE_SHIFT : hc_class_size(b->slot_units);
}

/* ---- heapcheck_depot.c */

/* The depot index of the call stack of the allocator's caller (p is in the intercepted
 * call: its return address is at RSP), added when new; 0 (the empty stack) when out of
 * memory. */
uint32_t hc_caller_stack(struct heapcheck *h, struct proc *p);
/* Prints the frames of a depot stack with an indent. */
void hc_print_stack(const struct heapcheck *h, FILE *out, uint32_t id);

/* ---- heapcheck_alloc.c: the block table, allocation, free, quarantine */

/* The block whose user address is user (live or quarantined), or NULL. */
struct hc_block *hc_lookup(const struct heapcheck *h, gva_t user);
/* The block whose slot contains va, or the nearest block around a red zone (compact
 * arena), or NULL. */
struct hc_block *hc_find(const struct heapcheck *h, gva_t va);
/* Grows the checker's area of mm (PROT_NONE, locked) to cover end, in whole HC_CHUNK
 * steps, and the shadow or page map with it. Returns 0, -ENOMEM past HC_END (compact arena:
 * HC_COMPACT_END), or mm_map's
 * -errno. */
int hc_map_upto(struct heapcheck *h, struct mm *mm, gva_t end);
/* A new block of size bytes for p, aligned to align (a power of two; 0: the natural
 * alignment), allocated at depot stack `stack`, zeroed when zero. Returns its user
 * address, 0 when out of memory or for a size or alignment too large. */
gva_t hc_alloc(struct heapcheck *h, struct proc *p, uint64_t size, uint64_t align, uint32_t stack,
               bool zero);
/* Marks the live block b freed at stack, makes it inaccessible and puts it in the
 * quarantine, releasing the oldest blocks beyond its bound: the live slots' bytes, within
 * [HC_QUARANTINE_MIN, HC_QUARANTINE], so that it never more than doubles the heap. */
void hc_release(struct heapcheck *h, struct mm *mm, struct hc_block *b, uint32_t stack);

/* ---- heapcheck_extent.c: the compact arena's merged free memory */

/* A slot of size bytes (a class's size) cut from the largest extent of released memory,
 * merging the class lists into extents first when enough lies idle; 0 when none has
 * room (the caller takes new memory; a merge may have lowered h->next). */
gva_t hc_ext_take(struct heapcheck *h, uint64_t size);

/* ---- heapcheck_guard.c: guard mode's pages */

/* A page of red-zone pattern bytes (HC_PATTERN). */
const uint8_t *hc_pattern(void);
/* Gives a guard-mode slot of `pages` pages at slot its pages (installed, or an RW area
 * when big) with the pattern around [user, user+size). Returns 0 or -errno (nothing
 * left mapped). */
int hc_guard_map(struct mm *mm, gva_t slot, uint64_t pages, gva_t user, uint64_t size, bool big);
/* Takes the pages of a guard-mode slot (bytes long, an RW area of its own when big) away
 * and makes it inaccessible. */
void hc_guard_unmap(struct mm *mm, gva_t slot, uint64_t bytes, bool big);
/* Installs fresh zeroed writable pages at [va, va + pages pages). Returns 0 or -ENOMEM
 * (the pages installed so far stay: the caller zaps the range). */
int hc_install(struct mm *mm, gva_t va, uint64_t pages);

/* ---- heapcheck_report.c: errors found during an intercepted call */

/* Guard mode: checks b's red zones and reports (stderr) the first corrupted run on each side; stack
 * is the current call (free or realloc), when says when it was found ("at free").
 * Returns the number of errors reported (0-2). */
int hc_check_redzones(struct heapcheck *h, struct proc *p, const struct hc_block *b, uint32_t stack,
                      const char *when);
/* Reports (stderr) a free (or realloc: call names it) of ptr by p that is no live block's
 * start: double free, free into a block's middle, or of memory malloc never returned. */
void hc_bad_free(struct heapcheck *h, const struct proc *p, gva_t ptr, uint32_t stack,
                 const char *call);

/* The checker's function for watched accesses (cpu_watch_range): ctx is the scheduler.
 * Reports an access of the compact arena outside a live block at once. */
void hc_access(void *ctx, gva_t va, unsigned size, bool write);
/* The checker's filter for watched accesses (cpu_watch_range): ctx is the scheduler. The
 * current process's shadow, which lets the CPU layer pass over accesses inside a live
 * block without calling hc_access; NULL in guard mode or without a checker. */
const struct cpu_watch_filter *hc_filter(void *ctx);
/* Reports (stderr) a bad access to the compact arena by p: [va, va+size), the first
 * unaddressable byte at bad. */
void hc_bad_access(struct heapcheck *h, struct proc *p, gva_t va, unsigned size, bool write,
                   gva_t bad);

/* The checker's function for a syscall's copies (struct mm_access_hook): ctx is the
 * scheduler. Reports a copy of [va, va+n) that touches a byte of the compact arena outside
 * a live block, named after the syscall (ASan's interceptors' "READ of size N ... in write");
 * copies outside a syscall (vmemu's own) are not checked. */
void hc_copy_access(void *ctx, struct mm *mm, gva_t va, size_t n, bool write);
/* Reports (stderr) a bad copy of [va, va+n) by p's syscall call: the first unaddressable
 * byte at bad. */
void hc_bad_copy(struct heapcheck *h, struct proc *p, gva_t va, size_t n, bool write, gva_t bad,
                 const char *call);

/* Fork fix-up: mm_dup made the checker's installed pages copy-on-write in both parent
 * and child, but its area is PROT_NONE so the fault path would refuse the copy. Gives
 * the child its own copy of each such page now and the parent its pages back writable.
 * Returns 0 or -ENOMEM. */
int heapcheck_fork_fixup(struct mm *parent, struct mm *child);

#endif
