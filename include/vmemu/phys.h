/* Physical memory: the frame pool, frame descriptors with reference counts and a reverse
 * map, and the shared zero page. */
#ifndef VMEMU_PHYS_H
#define VMEMU_PHYS_H

#include "vmemu/types.h"

struct mm;

/* Frame flags. */
#define FRAME_EXECUTED  0x01u /* fetched by the CPU: translated code may exist for it */
#define FRAME_PAGETABLE 0x02u /* holds a page table */
#define FRAME_ZERO      0x04u /* the shared zero page */
#define FRAME_PAGECACHE 0x08u /* owned by the page cache (file page) */
#define FRAME_PINNED    0x10u /* never evicted */
#define FRAME_DIRTY     0x20u /* page-cache frame newer than its file (a shared mapping wrote it) */
#define FRAME_SWAPCACHE 0x40u /* anonymous frame in the swap cache: index is its swap slot */
#define FRAME_LISTED    0x80u /* on the replacement list (src/mm/reclaim.c) */
#define FRAME_HUGETLB   0x100u /* belongs to the hugetlb pool: freed, it goes back there */
#define FRAME_ZEROED    0x200u /* free frame known to read as zero (fresh or given back) */

/* Wholly free, resident 2 MiB blocks the pool keeps before giving more back to the host
 * (hysteresis: a fork loop reuses them instead of faulting them in again). */
#define PHYS_IDLE_KEEP 16

/* Per-block state bits (struct phys.block_state). */
#define PHYS_BLOCK_RELEASED 0x01u /* host memory given back (MADV_DONTNEED): reads as zero */

/* The host's transparent-huge-page mode (/sys/kernel/mm/transparent_hugepage/enabled). */
enum phys_host_thp {
    PHYS_HOST_THP_ABSENT,  /* no THP support on the host */
    PHYS_HOST_THP_NEVER,   /* THP off: blocks are populated as 512 small pages */
    PHYS_HOST_THP_MADVISE, /* THP where asked: each block small or huge, as measured */
    PHYS_HOST_THP_ALWAYS,  /* THP everywhere: likewise (MADV_NOHUGEPAGE for small) */
};

/* The two ways the host can back a 2 MiB block of the pool (src/mm/phys_host.c). */
enum phys_host_way {
    PHYS_WAY_SMALL, /* 512 small pages (MADV_NOHUGEPAGE on the block) */
    PHYS_WAY_HUGE,  /* one huge page (MADV_HUGEPAGE on the block) */
    PHYS_WAYS,
};

/* Blocks populated the small way before the huge way is first tried (a program using less
 * than this never pays a trial), and the trials before a choice: blocks number
 * PHYS_TRY_FROM and PHYS_TRY_FROM + 2 are huge, after which the cheaper way is used and
 * the other one tried again at every power of two. */
#define PHYS_TRY_FROM 8
#define PHYS_TRY_DONE (PHYS_TRY_FROM + 4)

/* What the pool knows and does about its host memory (src/mm/phys_host.c). */
struct phys_host {
    enum phys_host_thp thp;      /* the host's THP mode, probed at phys_init */
    bool adaptive;               /* both ways possible: each block's way is chosen by measuring */
    bool populate;               /* MADV_POPULATE_WRITE works (false once the kernel refused it) */
    uint64_t populated;          /* 2 MiB blocks populated in one call */
    uint64_t populated_huge;     /* of them, populated the huge way */
    uint64_t released;           /* 2 MiB blocks given back to the host */
    uint64_t cost_ns[PHYS_WAYS]; /* smoothed host time to populate and first touch one block
                                    the way (0 = not measured yet) */
    uint8_t chosen;              /* enum phys_host_way: the cheaper way at the last block */
    uint64_t switches;           /* times the cheaper way changed after the trials */
};

/* One (mm, va) that maps a frame: the reverse map. */
struct rmap {
    struct mm *mm;     /* address space that maps the frame */
    gva_t va;          /* page-aligned address in that space */
    struct rmap *next; /* next mapping of the same frame */
};

/* Descriptor of one frame. */
struct frame {
    uint32_t refcount;  /* owners: PTEs mapping it, the page cache or swap cache, and
                           vmemu code holding it for a moment; 0 = free */
    uint32_t flags;     /* FRAME_* */
    uint64_t index;     /* page-cache frames: page index in the file; swap cache: slot */
    void *owner;        /* page-cache frames: the struct vfile */
    struct rmap *rmap;  /* every PTE that maps this frame */
    uint32_t lru_prev;  /* replacement list neighbours (pfn, 0 = none; src/mm/reclaim.c) */
    uint32_t lru_next;  /* see lru_prev */
    uint32_t dense_pos; /* index in the reclaim's dense array (random policy) */
    uint32_t last_use;  /* reclaim epoch of the last noted use (lru policy) */
};

/* The replacement machinery as the pool sees it (set by src/mm/reclaim.c; all NULL when
 * there is none, as in the pool's own unit tests). */
struct phys_reclaim_hooks {
    int (*reclaim)(void *ctx);             /* no free frame: evict one; 0 or -ENOMEM */
    void (*track)(void *ctx, pfn_t pfn);   /* pfn now holds a user page: a candidate */
    void (*untrack)(void *ctx, pfn_t pfn); /* pfn is being freed */
    void *ctx;                             /* their argument */
};

/* Called before a frame that held executed code is written by vmemu or reused, so the
 * CPU can drop translations of it. */
typedef void (*phys_code_hook)(void *ctx, pfn_t pfn);

/* The pool: one host mapping; frame N lives at mem + N * PAGE_SIZE. */
struct phys {
    uint8_t *mem;                    /* host mapping of the whole pool */
    uint64_t bytes;                  /* pool size in bytes (nframes * PAGE_SIZE) */
    uint64_t nframes;                /* frames in the pool, frame 0 included */
    struct frame *frames;            /* descriptors, indexed by pfn */
    pfn_t *free_stack;               /* freed frames, reused last-in first-out */
    uint64_t nfree_stack;            /* entries in free_stack */
    pfn_t next_fresh;                /* first never-used frame */
    uint64_t used;                   /* frames handed out, zero page included */
    uint64_t peak_used;              /* highest value of used */
    pfn_t zero_pfn;                  /* the shared zero page */
    uint16_t *block_free;            /* per 2 MiB block (pfn >> 9): how many of its frames
                                        are on free_stack (512: the block is wholly free) */
    uint32_t *block_pmd_maps;        /* per 2 MiB block: huge (PDE_THP) mappings of it */
    uint8_t *block_state;            /* per 2 MiB block: PHYS_BLOCK_* bits */
    uint64_t idle_blocks;            /* wholly free blocks whose host memory is resident */
    struct phys_host host;           /* the host memory behind the pool */
    uint64_t huge_allocs;            /* order-9 blocks handed out by phys_alloc_huge */
    pfn_t *hugetlb_free;             /* heads of the hugetlb pool's free blocks */
    uint64_t hugetlb_nfree;          /* entries in hugetlb_free */
    uint64_t hugetlb_total;          /* blocks in the hugetlb pool (--hugetlb) */
    uint64_t hugetlb_resv;           /* free blocks promised to mappings (HugePages_Rsvd) */
    uint16_t *hugetlb_back;          /* per block: frames of it back in the pool */
    phys_code_hook code_hook;        /* see phys_code_hook; may be NULL */
    void *code_ctx;                  /* argument of code_hook */
    struct phys_reclaim_hooks hooks; /* page replacement, see struct phys_reclaim_hooks */
};

/* Creates a pool of `bytes` (rounded down to pages, at least 4 frames) and the zero page.
 * Returns 0, -EINVAL for a size that is too small, or -ENOMEM. */
int phys_init(struct phys *p, uint64_t bytes);
/* Releases the pool and every descriptor. */
void phys_destroy(struct phys *p);
/* Takes a free frame with refcount 1 and no flags; zeroes it when `zero`. When none is
 * free, asks the replacement hooks to evict pages first (so any frame the caller looked
 * at without holding a reference may be gone afterwards). Returns 0 and sets *out, or
 * -ENOMEM when the pool is empty and nothing can be evicted. */
int phys_alloc(struct phys *p, bool zero, pfn_t *out);
/* Takes a free, 2 MiB-aligned block of 512 contiguous frames (an order-9 block), each
 * with refcount 1 and no flags, zeroed; afterwards every frame is an ordinary frame that
 * is freed on its own (phys_put). Never evicts: returns -ENOMEM when no whole block is
 * free (the caller falls back to 4 KiB frames). Sets *head to the first frame. */
int phys_alloc_huge(struct phys *p, pfn_t *head);
/* Sets aside n order-9 blocks as the hugetlb pool (Linux's nr_hugepages): they leave the
 * ordinary pool and are used only by phys_hugetlb_alloc. Returns 0, or -ENOMEM when the
 * pool cannot hold them. */
int phys_hugetlb_init(struct phys *p, uint64_t n);
/* Takes a free block of the hugetlb pool: 512 frames with refcount 1, zeroed; freed page
 * by page (phys_put), the block returns to the hugetlb pool once all are free. Returns 0,
 * or -ENOMEM when the pool has no free block. */
int phys_hugetlb_alloc(struct phys *p, pfn_t *head);
/* Adds a reference to an allocated frame. */
void phys_get(struct phys *p, pfn_t pfn);
/* Drops a reference; the frame is freed when the last one goes. The zero page is never freed. */
void phys_put(struct phys *p, pfn_t pfn);
/* Frames still available. */
uint64_t phys_free_frames(const struct phys *p);
/* Records that (mm, va) maps pfn / no longer maps it; a newly mapped frame becomes a
 * candidate for replacement (phys_track). Returns 0 or -ENOMEM. */
int phys_rmap_add(struct phys *p, pfn_t pfn, struct mm *mm, gva_t va);
void phys_rmap_del(struct phys *p, pfn_t pfn, struct mm *mm, gva_t va);
/* Makes an allocated frame that holds a user page (mapped or cached) a candidate for
 * replacement; no-op without hooks or when it already is one. */
void phys_track(struct phys *p, pfn_t pfn);
/* Number of reverse-map entries of pfn. */
uint32_t phys_mapcount(const struct phys *p, pfn_t pfn);
/* Tells the CPU to forget translated code of pfn if it ever ran; call before vmemu writes
 * into a frame that may hold code. */
void phys_before_write(struct phys *p, pfn_t pfn);

/* Host memory (src/mm/phys_host.c, for phys.c): maps the pool 2 MiB-aligned and probes
 * the host (NULL on failure); populates block b; gives the wholly free block b back to the
 * host and marks its frames known-zero (0 or -errno); the THP mode's name. */
void *phys_host_map(struct phys *p, uint64_t bytes);
void phys_host_populate(struct phys *p, uint64_t b);
int phys_host_release(struct phys *p, uint64_t b);
const char *phys_host_thp_name(enum phys_host_thp t);

/* The way the n-th block populated (counting from 0) takes, given what h measured so far:
 * the small way before PHYS_TRY_FROM, the huge way for the trials, then the cheaper way,
 * the other one at each power of two. Pure; for phys_host_populate and the tests. */
enum phys_host_way phys_host_pick_way(const struct phys_host *h, uint64_t n);

/* The way whose measured cost is lower (small on a tie or before any measure). */
enum phys_host_way phys_host_cheaper_way(const struct phys_host *h);

/* Folds one block's measured cost (ns) into h's estimate for way (a quarter's weight;
 * the first measure sets it). */
void phys_host_note_cost(struct phys_host *h, enum phys_host_way way, uint64_t ns);

/* Host address of a frame: only for vmemu's own copies, never kept across an eviction. */
static inline void *phys_hva(const struct phys *p, pfn_t pfn)
{
    return p->mem + (pfn << PAGE_SHIFT);
}

static inline struct frame *phys_frame(const struct phys *p, pfn_t pfn)
{
    return &p->frames[pfn];
}

#endif
