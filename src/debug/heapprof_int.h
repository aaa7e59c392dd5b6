/* The heap profiler's private state, shared by heapprof.c (interception, life cycle),
 * heapprof_map.c (the live blocks by address), heapprof_prof.c (sites, heap over time,
 * the peak, faults and resident pages) and heapprof_report.c (the text summary and the
 * JSON section). Not a module contract: see include/vmemu/heapprof.h for that. */
#ifndef VMEMU_HEAPPROF_INT_H
#define VMEMU_HEAPPROF_INT_H

#include <jansson.h>
#include <stdio.h>

#include "stackset.h"

#include "vmemu/heapprof.h"
#include "vmemu/mm.h"

struct proc;
struct sched;
struct symtab;

#define HP_TRAMP     0x120000000000ULL /* the return trampoline's page (a `syscall`) */
#define HP_FRAMES    STACK_FRAMES      /* frames kept per allocation site */
#define HP_SAMPLES   1024              /* timeline samples kept (thinned by halves beyond) */
#define HP_NCLASSES  FC_NONE           /* fault classes (enum fault_class) */
#define HP_META_SITE UINT32_MAX        /* "site" of faults on heap memory outside live blocks */

/* Entry points that are observed. */
enum hp_fn {
    HP_MALLOC = 0,     /* malloc, operator new: (size) */
    HP_FREE,           /* free, operator delete: (ptr) */
    HP_CALLOC,         /* (n, size) */
    HP_REALLOC,        /* (ptr, size) */
    HP_REALLOCARRAY,   /* (ptr, n, size) */
    HP_MEMALIGN,       /* memalign, aligned_alloc: (align, size) */
    HP_POSIX_MEMALIGN, /* (&ptr, align, size) */
    HP_VALLOC,         /* (size) */
    HP_PVALLOC,        /* (size), rounded up to pages */
};

/* One observed entry point. */
struct hp_entry {
    gva_t addr;    /* the function's first instruction (a code probe) */
    enum hp_fn fn; /* what it does */
};

/* One live block of the program's allocator, a node of the treap by address. */
struct hp_node {
    gva_t start;    /* address malloc returned */
    uint64_t size;  /* bytes asked for */
    uint32_t site;  /* allocation site (index into sites) */
    uint32_t prio;  /* treap priority (heap order) */
    uint32_t left;  /* node index + 1 of the smaller addresses, 0 none */
    uint32_t right; /* node index + 1 of the larger addresses, 0 none */
};

/* The live blocks, ordered by address: a treap (O(log n) insert, remove, and search for the
 * block around an address) over an array of nodes with a free list. */
struct hp_map {
    struct hp_node *nodes; /* nodes (unused ones are on the free list, chained by left) */
    size_t n, cap;         /* nodes used (high-water mark), allocated */
    uint32_t root;         /* index + 1 of the root, 0 empty */
    uint32_t free;         /* index + 1 of the first unused node, 0 none */
    uint32_t seed;         /* priority generator (deterministic) */
};

/* One allocation site: a call stack of the allocator's caller. */
struct hp_site {
    struct stack_key key;         /* its stack, innermost first: the allocator's caller
                                     (first: stack_index finds sites by it) */
    uint64_t allocs;              /* allocations made here */
    uint64_t bytes_total;         /* bytes asked for here in total */
    uint64_t live_bytes;          /* bytes of its live blocks now */
    uint64_t live_blocks;         /* its live blocks now */
    uint64_t peak_bytes;          /* live_bytes at the heap's peak */
    uint64_t peak_blocks;         /* live_blocks at the heap's peak */
    uint64_t faults[HP_NCLASSES]; /* faults charged to it, by enum fault_class */
    uint64_t resident_peak;       /* pages of its blocks resident at the walked peak */
    uint64_t resident_exit;       /* ... at the process's end */
    gva_t walk_last;              /* resident walk: the last page counted (once per site) */
};

/* An observed call in progress, waiting for its return. */
struct hp_call {
    enum hp_fn fn; /* which call */
    uint64_t a[3]; /* its arguments */
    gva_t ret;     /* its real return address (the stack holds HP_TRAMP) */
    uint32_t site; /* allocation site; for free the freed block's (HP_META_SITE unknown) */
};

/* The calls in progress of one task (a thread of the process). */
struct hp_task {
    int tid;           /* the task's id */
    struct hp_call *v; /* calls, innermost last (nested calls are not observed: one) */
    size_t n, cap;     /* used, allocated */
};

/* One sample of the heap over time. */
struct hp_sample {
    uint64_t call;      /* allocator calls so far (the sequence number) */
    uint64_t fault_seq; /* vmemu's fault sequence number then */
    uint64_t bytes;     /* bytes asked for of the live blocks */
    uint64_t blocks;    /* live blocks */
};

/* State shared by every profiled process of a run. */
struct hp_run {
    int refs;                  /* profiles using it */
    gva_t *probed;             /* addresses that have a code probe already (any program) */
    size_t nprobed, capprobed; /* used, allocated */
    json_t *procs;             /* the JSON sections of the processes that ended, in end order */
};

/* The program's symbols, shared by a process and its fork children. */
struct hp_syms {
    struct symtab *syms;  /* symbols of the program */
    struct bt_memo *memo; /* what stack walks learned of its code (NULL: none) */
    int refs;             /* profiles using it */
};

struct heapprof {
    struct hp_run *run;                /* the run's shared state */
    struct hp_syms *syms;              /* the program's symbols */
    struct hp_entry *entries;          /* observed entry points, by address */
    size_t nentries;                   /* entries used */
    int pid;                           /* the process */
    int ppid;                          /* its parent when forked from a profiled process, else 0 */
    struct hp_map map;                 /* live blocks */
    struct hp_site *sites;             /* allocation sites */
    size_t nsites, capsites;           /* used, allocated */
    struct stack_index stab;           /* finds a site by its stack */
    struct hp_task *tasks;             /* calls in progress per task */
    size_t ntasks, captasks;           /* used, allocated */
    uint64_t calls;                    /* observed allocator calls so far (the sequence number) */
    uint64_t allocs, frees;            /* calls that allocated / freed a block */
    uint64_t live_bytes;               /* bytes asked for of the live blocks */
    uint64_t live_blocks;              /* live blocks */
    uint64_t peak_bytes;               /* highest live_bytes */
    uint64_t peak_blocks;              /* live_blocks then */
    uint64_t peak_call;                /* calls then */
    uint64_t peak_fault_seq;           /* fault sequence number then */
    bool peak_pending;                 /* the peak is now: sites not yet snapshotted */
    uint64_t walked_bytes;             /* live_bytes at the last resident walk at a peak */
    uint64_t walked_call;              /* calls then */
    uint64_t meta_faults[HP_NCLASSES]; /* faults on heap memory outside live blocks */
    uint64_t faults_in_blocks;         /* faults charged to sites (any class) */
    struct hp_sample *tl;              /* timeline */
    size_t ntl;                        /* samples used */
    uint64_t tl_stride;                /* a sample every this many calls (doubles when full) */
    bool ended;                        /* its section was written (exit, or exec replaced it) */
};

/* ---- heapprof_map.c */

/* Adds a block; returns 0 or -ENOMEM. start must not be in the map. */
int hp_map_insert(struct hp_map *m, gva_t start, uint64_t size, uint32_t site);
/* The block that starts at start, or NULL. */
struct hp_node *hp_map_find(const struct hp_map *m, gva_t start);
/* Removes the block that starts at start; false when there is none. */
bool hp_map_remove(struct hp_map *m, gva_t start, struct hp_node *out);
/* The block with the highest start <= va, or NULL. */
struct hp_node *hp_map_floor(const struct hp_map *m, gva_t va);
/* The block with the lowest start >= va, or NULL. */
struct hp_node *hp_map_ceil(const struct hp_map *m, gva_t va);
/* Calls fn on each block in address order. */
void hp_map_walk(const struct hp_map *m, void (*fn)(void *ctx, const struct hp_node *b), void *ctx);
/* A copy of m into c (for a fork child); returns 0 or -ENOMEM. */
int hp_map_dup(const struct hp_map *m, struct hp_map *c);
/* Frees the map's memory. */
void hp_map_free(struct hp_map *m);

/* ---- heapprof_prof.c */

/* The index of the site with stack pcs[0..n), added when new; HP_META_SITE when out of
 * memory. */
uint32_t hp_site_put(struct heapprof *h, const gva_t *pcs, uint32_t n);
/* A block of size bytes at va allocated at site: counted, and the heap's peak followed. */
void hp_block_add(struct heapprof *h, struct mm *mm, gva_t va, uint64_t size, uint32_t site);
/* The block at va freed (nothing when va is no live block). */
void hp_block_remove(struct heapprof *h, struct mm *mm, gva_t va);
/* One observed call completed: the timeline's sample. */
void hp_note_call(struct heapprof *h, uint64_t fault_seq);
/* The timeline's last sample, at the process's end (unless the last call's is there). */
void hp_note_end(struct heapprof *h, uint64_t fault_seq);
/* Charges a fault at addr of class cls in mm to a site: site_hint when the task is inside
 * an allocator call, else the live block that holds addr (or most of its page), else
 * allocator metadata when addr is heap memory. */
void hp_charge_fault(struct heapprof *h, struct mm *mm, gva_t addr, enum fault_class cls,
                     uint32_t site_hint, bool in_call);
/* Takes the peak's per-site numbers now if the peak is current (before a block goes). */
void hp_snapshot_peak(struct heapprof *h, struct mm *mm);
/* Counts the resident pages of each site's live blocks into resident_exit. */
void hp_walk_exit(struct heapprof *h, struct mm *mm);

/* ---- heapprof_report.c */

/* The text summary of p's profile on out (about 40 lines). */
void hp_print_summary(const struct heapprof *h, FILE *out);
/* The JSON section of a profile (a new reference), or NULL when out of memory. */
json_t *hp_json(const struct heapprof *h);

#endif
