/* Page replacement: the list of frames that hold user pages (candidates for eviction), the
 * replacement policies behind one interface (fifo, clock, lru, random), and eviction
 * itself: unmap the victim from every owner through the reverse map, then drop a clean
 * file page, write a dirty shared file page back to its file, or write an anonymous page
 * to swap and leave a swap entry in each PTE. Runs when the frame pool is empty. */
#ifndef VMEMU_RECLAIM_H
#define VMEMU_RECLAIM_H

#include "vmemu/types.h"

struct vmsys;

/* Replacement policies (--policy). */
enum reclaim_policy {
    POLICY_FIFO = 0, /* oldest page first (order in which pages became resident) */
    POLICY_CLOCK,    /* second chance: a page whose accessed bit is set is spared once and
                        its bit cleared (and its translations invalidated) */
    POLICY_LRU,      /* least recently used first: a use is noted when a page is touched
                        for the first time after the previous page fault */
    POLICY_RANDOM,   /* a uniformly random resident page (seeded, deterministic) */
    POLICY_COUNT
};
#define RECLAIM_DEFAULT_POLICY POLICY_CLOCK
#define RECLAIM_DEFAULT_SEED   1

/* Machine-wide paging counters. */
struct reclaim_stats {
    uint64_t evictions;    /* frames freed by reclaim */
    uint64_t swap_outs;    /* anonymous pages written to swap */
    uint64_t swap_clean;   /* anonymous pages evicted without a write: their swap copy was
                              still valid (swap cache) */
    uint64_t writebacks;   /* dirty shared file pages written to their file by reclaim */
    uint64_t file_dropped; /* clean file pages dropped (a later access re-reads them) */
    uint64_t scans;        /* frames examined by the policy */
    uint64_t skipped;      /* examined frames that could not be evicted (locked, in use,
                              no swap slot) */
    uint64_t failures;     /* times reclaim found nothing to evict (out of memory) */
};

/* Frames of the last page faults (the pages the instruction in progress has faulted in),
 * spared while any other page can be evicted, so that an instruction does not evict its
 * own pages. Faults, not TLB fills: fills depend on Unicorn's TLB size. */
#define RECLAIM_RECENT 8

/* The replacement state of one machine (in struct vmsys). Frames on the list are linked
 * through struct frame's lru_prev / lru_next (pfn 0 ends the list). */
struct reclaim {
    struct vmsys *sys;            /* machine (pool, page cache, swap) */
    enum reclaim_policy policy;   /* --policy */
    uint64_t seed;                /* --seed: the random policy's starting state */
    uint64_t rng;                 /* xorshift64 state (splitmix64 of the seed at start) */
    pfn_t head;                   /* oldest (fifo), least recently used (lru) */
    pfn_t tail;                   /* newest / most recently used */
    pfn_t hand;                   /* clock hand: next frame to examine (0 = head) */
    uint64_t nlisted;             /* frames on the list */
    pfn_t *dense;                 /* the listed frames in an array (random picks an index) */
    uint32_t epoch;               /* page faults so far under lru (mod 2^32): one use is
                                     noted per page and epoch */
    pfn_t recent[RECLAIM_RECENT]; /* frames of the last page faults (ring) */
    unsigned recent_pos;          /* next slot of recent */
    bool running;                 /* inside reclaim (it never allocates frames itself) */
    bool spared;                  /* this choice passed over a frame of RECLAIM_RECENT */
    struct reclaim_stats stats;   /* counters */
};

/* Parses a policy name ("fifo", "clock", "lru", "random"). Returns 0 or -EINVAL. */
int reclaim_policy_parse(const char *name, enum reclaim_policy *out);
/* The name of a policy. */
const char *reclaim_policy_name(enum reclaim_policy policy);

/* Sets up the replacement state of sys with a policy and seed, and hooks it into the
 * frame pool (phys.reclaim_hooks). Returns 0 or -ENOMEM. */
int reclaim_init(struct reclaim *rc, struct vmsys *sys, enum reclaim_policy policy, uint64_t seed);
void reclaim_destroy(struct reclaim *rc);
/* Chooses the policy and seeds the random policy's generator (splitmix64 of seed). */
void reclaim_set_policy(struct reclaim *rc, enum reclaim_policy policy, uint64_t seed);
/* Frees at least one frame by evicting a page chosen by the policy. Returns 0, or -ENOMEM
 * when no listed page can be evicted (all locked or in use, or anonymous with no swap
 * slot left). */
int reclaim_one(struct reclaim *rc);
/* Notes that the CPU or vmemu touched frame pfn (called on every translation; cheap). The
 * lru policy moves a page to the most-recent end the first time it is touched in an
 * epoch (see reclaim_fault_begin). */
void reclaim_note_use(struct reclaim *rc, pfn_t pfn);
/* Notes that a page fault just mapped pfn (RECLAIM_RECENT). */
void reclaim_note_fault(struct reclaim *rc, pfn_t pfn);
/* Called at the start of every page fault. Under lru it starts a new epoch and asks for a
 * CPU TLB flush, so that the next touch of every page comes through the MMU and is noted:
 * the lru order is exact except that several touches of a page between two faults count
 * as the first one (seeing every access would need a hook per memory access; counting
 * every TLB fill would make the order depend on Unicorn's TLB size, which is not
 * deterministic). */
void reclaim_fault_begin(struct reclaim *rc);

#endif
