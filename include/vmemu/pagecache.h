/* Files as the VM sees them (struct vfile, shared by every mapping of the same host file)
 * and the page cache: file pages keyed by (file, page index), shared by every mapping. */
#ifndef VMEMU_PAGECACHE_H
#define VMEMU_PAGECACHE_H

#include "vmemu/types.h"

struct phys;

/* A host file known to the VM. Identified by (dev, ino): opening the same file twice gives
 * the same vfile, so mappings share its cached pages. */
struct vfile {
    int fd;                /* host descriptor, read-only or read-write, owned by the vfile */
    bool writable;         /* fd was opened for writing */
    uint64_t dev, ino;     /* host identity */
    char *path;            /* path as the guest named it (for reports and /proc) */
    unsigned refs;         /* VMAs, open guest files and the loader holding it */
    struct pagecache *pc;  /* the cache its pages live in */
    struct vfile *next;    /* registry list */
    bool shmem;            /* shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): no host
                              file (fd -1); missing pages are zero-filled, never written back */
    uint64_t shmem_size;   /* shmem: size in bytes (what vfile_size returns) */
    bool hugetlb;          /* shmem of 2 MiB pages of the --hugetlb pool (src/mm/hugetlb.c) */
    uint64_t hugetlb_resv; /* hugetlb: pool pages promised to the object, not yet taken */
    uint64_t dirty_pages;  /* cached pages with FRAME_DIRTY (dirt still only in PTEs' D bits
                              is not counted: see src/mm/writeback.c) */
    int64_t wb_mtime_ns;   /* the host file's modification time just after vmemu last wrote
                              a page back (0: never), so that src/mm/folio.c can tell
                              vmemu's own writes from someone else's */
};

/* One cached file page, or the shadow of one that reclaim evicted (pfn 0), kept so that
 * reading it again is known as a refault (Linux's workingset shadow entries). */
struct pc_entry {
    struct vfile *file;    /* the file (no reference: the cache drops entries first) */
    uint64_t index;        /* page index in the file */
    pfn_t pfn;             /* frame holding the page (the cache owns one reference);
                              0 for a shadow */
    struct pc_entry *next; /* hash chain */
};

struct pagecache {
    struct phys *phys;         /* frame pool the pages live in */
    struct pc_entry **buckets; /* hash table */
    uint64_t nbuckets;         /* a power of two */
    uint64_t pages;            /* cached pages (shadows not included) */
    uint64_t shadows;          /* shadow entries of evicted pages */
    struct vfile *files;       /* registry of live vfiles */
};

int pagecache_init(struct pagecache *pc, struct phys *phys);
/* Drops every cached page and file. */
void pagecache_destroy(struct pagecache *pc);

/* The vfile for an open host descriptor (dup'ed; the caller keeps its own fd). Takes a
 * reference. Returns 0 or -errno. */
int vfile_from_fd(struct pagecache *pc, int hostfd, const char *path, struct vfile **out);
/* A new shared anonymous memory object of size bytes (MAP_SHARED|MAP_ANONYMOUS): no host
 * file, pages zero-filled on first use. Takes a reference. Returns 0 or -ENOMEM. */
int vfile_shmem_create(struct pagecache *pc, uint64_t size, struct vfile **out);
/* The registered vfile of host file (dev, ino), or NULL. No reference is taken. */
struct vfile *vfile_lookup(const struct pagecache *pc, uint64_t dev, uint64_t ino);
/* Opens path read-only as a vfile. Returns 0 or -errno (-ENOENT, -EACCES, ...). */
int vfile_open(struct pagecache *pc, const char *path, struct vfile **out);
void vfile_get(struct vfile *f);
/* Drops a reference; the last one drops the file's cached pages and closes it. */
void vfile_put(struct vfile *f);
/* Current size of the host file in bytes, or -errno. */
int64_t vfile_size(const struct vfile *f);

/* The cached frame of (file, index), or 0 when not cached. No reference is taken. */
pfn_t pagecache_find(const struct pagecache *pc, const struct vfile *f, uint64_t index);
/* Reads page `index` of f from the host file into a new cached frame (bytes past the end
 * of the file read as zero), replacing its shadow if reclaim had evicted it. Allocating
 * the frame may evict other pages. Returns 0 and sets *out, -ENOMEM or -EIO. */
int pagecache_read(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t *out);
/* Whether page `index` of f was evicted by reclaim and not read again since (a shadow). */
bool pagecache_is_shadow(const struct pagecache *pc, const struct vfile *f, uint64_t index);
/* Adds frame pfn as page `index` of shmem object f, the caller's reference becoming the
 * cache's (hugetlb pool pages: not put on reclaim's lists). The page must not be cached.
 * Returns 0 or -ENOMEM. */
int pagecache_add(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t pfn);
/* Reclaim's removal of a clean cached frame that no PTE maps any more: the cache drops its
 * reference (freeing the frame) and keeps a shadow entry in its place. */
void pagecache_evict(struct pagecache *pc, pfn_t pfn);
/* Drops every cached page of f that no PTE maps (dirty pages are written back first), and
 * its shadows. */
void pagecache_drop_file(struct pagecache *pc, struct vfile *f);
/* Removes page `index` of f from the cache (dropping the cache's frame reference; PTEs
 * that still map the frame keep it alive). No-op when not cached. */
void pagecache_remove(struct pagecache *pc, struct vfile *f, uint64_t index);
/* Calls fn for every cached page of f (the callback may remove that page). */
void pagecache_for_each(struct pagecache *pc, struct vfile *f,
                        void (*fn)(void *ctx, uint64_t index, pfn_t pfn), void *ctx);
/* Marks a cached frame dirty (FRAME_DIRTY; counted once in its file's dirty_pages).
 * Frames of shmem objects are never dirty: they have no file. */
void pagecache_set_dirty(struct pagecache *pc, pfn_t pfn);
/* Writes a FRAME_DIRTY cached frame to its file (only the bytes below the file's size)
 * and clears FRAME_DIRTY. Returns 0 or -EIO (the frame stays dirty). */
int pagecache_write_page(struct pagecache *pc, pfn_t pfn);
/* Writes every FRAME_DIRTY page of f with index in [first, last] to the file. Returns 0 or
 * the first error. */
int pagecache_writeback(struct pagecache *pc, struct vfile *f, uint64_t first, uint64_t last);

#endif
