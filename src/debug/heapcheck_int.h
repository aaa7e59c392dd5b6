/* The heap checker's private state, shared by heapcheck.c (interception, life cycle),
 * heapcheck_depot.c (the stack depot), heapcheck_alloc.c (blocks, red zones, quarantine)
 * and heapcheck_report.c (errors, explanations, leak search, reports), and the fork fix-up
 * that src/proc/proc.c calls. Not a module contract: see include/vmemu/heapcheck.h for that. */
#ifndef VMEMU_HEAPCHECK_INT_H
#define VMEMU_HEAPCHECK_INT_H

#include <stdio.h>

#include "vmemu/backtrace.h"
#include "vmemu/heapcheck.h"
#include "vmemu/mm.h"

struct proc;

#define HC_BASE       0x100000000000ULL /* first address of the checker's area */
#define HC_END        0x110000000000ULL /* end of the space it may use (1 TiB) */
#define HC_CHUNK      (2ULL << 20)      /* the area grows in steps of this many bytes */
#define HC_FRONT      16                /* front red zone in bytes (at least) */
#define HC_PATTERN    0xfa              /* red-zone fill byte */
#define HC_QUARANTINE (256ULL << 20)    /* bytes of freed blocks kept inaccessible */
#define HC_BIG_PAGES                                                                               \
    4                            /* blocks of this many pages or more get their own RW area        \
                                    (demand-paged); smaller ones get their pages installed */
#define HC_FRAMES     8          /* frames kept per allocation/free site */
#define HC_NONE_STACK UINT32_MAX /* free_stack of a block never freed */

/* Life of a block. */
enum hc_state {
    HC_LIVE = 0, /* allocated, not freed */
    HC_FREED,    /* freed, in the quarantine: its pages are inaccessible */
    HC_RELEASED, /* left the quarantine: its address space is never reused */
};

/* One call stack kept in the depot. */
struct hc_stack {
    uint64_t hash;        /* hash of the frames */
    uint32_t n;           /* frames used */
    gva_t pcs[HC_FRAMES]; /* innermost first: the caller of the allocator first */
};

/* One block handed out by the checking allocator. */
struct hc_block {
    gva_t slot;           /* first page of its slot (page-aligned) */
    uint64_t pages;       /* pages of the slot (the inaccessible gap page after excluded) */
    gva_t user;           /* address given to the program */
    uint64_t size;        /* bytes asked for */
    uint32_t alloc_stack; /* depot index of the allocation site */
    uint32_t free_stack;  /* depot index of the free site (UINT32_MAX: not freed) */
    uint8_t state;        /* enum hc_state */
    bool big;             /* its pages are an RW area of their own */
    bool reached;         /* leak search: a pointer to it was found */
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
    struct symtab *syms; /* symbols of the program */
    int refs;            /* checkers using it */
};

struct heapcheck {
    bool guard;                /* --check heap,guard */
    bool glibc;                /* realloc(p, 0) frees and returns NULL (glibc) */
    struct hc_syms *syms;      /* shared symbol table */
    struct hc_entry *entries;  /* patched entry points */
    size_t nentries;           /* entries used */
    struct hc_block *blocks;   /* every block, sorted by slot (allocation order) */
    size_t nblocks;            /* entries used */
    size_t capblocks;          /* entries allocated */
    size_t nreleased;          /* blocks in HC_RELEASED state */
    gva_t next;                /* bump pointer: next free address */
    gva_t mapped_end;          /* end of the checker's area mapped so far */
    gva_t *quar;               /* quarantine: user addresses, a ring, oldest first */
    size_t qhead, qlen, qcap;  /* ring start, length, capacity */
    uint64_t qbytes;           /* bytes of the slots in the quarantine */
    struct hc_stack *stacks;   /* the stack depot */
    size_t nstacks, capstacks; /* used, allocated */
    uint32_t *stab;            /* hash table over stacks: index+1, 0 empty */
    size_t stabcap;            /* its size (power of two) */
    uint64_t nallocs, nfrees;  /* calls that allocated / freed */
    uint64_t bytes_allocated;  /* bytes asked for in total */
    uint64_t errors;           /* errors reported */
};

/* ---- heapcheck_depot.c */

/* The depot index of the call stack of the allocator's caller (p is in the intercepted
 * call: its return address is at RSP), added when new; 0 (the empty stack) when out of
 * memory. */
uint32_t hc_caller_stack(struct heapcheck *h, struct proc *p);
/* Prints the frames of a depot stack with an indent. */
void hc_print_stack(const struct heapcheck *h, FILE *out, uint32_t id);

/* ---- heapcheck_alloc.c */

/* The block whose slot (or the gap page after it) contains va, or NULL. */
struct hc_block *hc_find(const struct heapcheck *h, gva_t va);
/* Grows the checker's area of mm (PROT_NONE, locked) to cover end, in whole HC_CHUNK
 * steps. Returns 0, -ENOMEM past HC_END, or mm_map's -errno. */
int hc_map_upto(struct heapcheck *h, struct mm *mm, gva_t end);
/* A page of red-zone pattern bytes (HC_PATTERN). */
const uint8_t *hc_pattern(void);
/* A new block of size bytes for p, aligned to align (a power of two; 0: the natural
 * alignment), allocated at depot stack `stack`. Returns its user address, 0 when out of
 * memory or for a size or alignment too large. */
gva_t hc_alloc(struct heapcheck *h, struct proc *p, uint64_t size, uint64_t align, uint32_t stack);
/* Takes the pages of b away and makes its slot inaccessible. */
void hc_unmap_block(struct mm *mm, const struct hc_block *b);
/* Puts the freed block b in the quarantine and releases the oldest blocks beyond
 * HC_QUARANTINE bytes (b is released at once when there is no memory to remember it). */
void hc_quarantine(struct heapcheck *h, struct mm *mm, struct hc_block *b);

/* ---- heapcheck_report.c: errors found during an intercepted call */

/* Checks b's red zones and reports (stderr) the first corrupted run on each side; stack
 * is the current call (free or realloc), when says when it was found ("at free").
 * Returns the number of errors reported (0-2). */
int hc_check_redzones(struct heapcheck *h, struct proc *p, const struct hc_block *b, uint32_t stack,
                      const char *when);
/* Reports (stderr) a free (or realloc: call names it) of ptr by p that is no live block's
 * start: double free, free into a block's middle, or of memory malloc never returned. */
void hc_bad_free(struct heapcheck *h, const struct proc *p, gva_t ptr, uint32_t stack,
                 const char *call);

/* Fork fix-up: mm_dup made the checker's installed pages copy-on-write in both parent
 * and child, but its area is PROT_NONE so the fault path would refuse the copy. Gives
 * the child its own copy of each such page now and the parent its pages back writable.
 * Returns 0 or -ENOMEM. */
int heapcheck_fork_fixup(struct mm *parent, struct mm *child);

#endif
