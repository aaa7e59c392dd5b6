/* Files as the VM sees them (struct vfile, shared by every mapping of the same host file)
 * and the page cache: file pages keyed by (file, page index), shared by every mapping. */
#ifndef VMEMU_PAGECACHE_H
#define VMEMU_PAGECACHE_H

#include "vmemu/types.h"

struct phys;

/* A host file known to the VM. Identified by (dev, ino): opening the same file twice gives
 * the same vfile, so mappings share its cached pages. */
struct vfile {
    int fd;               /* host descriptor, read-only or read-write, owned by the vfile */
    bool writable;        /* fd was opened for writing */
    uint64_t dev, ino;    /* host identity */
    char *path;           /* path as the guest named it (for reports and /proc) */
    unsigned refs;        /* VMAs, open guest files and the loader holding it */
    struct pagecache *pc; /* the cache its pages live in */
    struct vfile *next;   /* registry list */
    bool shmem;           /* shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): no host
                             file (fd -1); missing pages are zero-filled, never written back */
    uint64_t shmem_size;  /* shmem: size in bytes (what vfile_size returns) */
    uint64_t dirty_pages; /* cached pages with FRAME_DIRTY */
};

/* One cached file page. */
struct pc_entry {
    struct vfile *file;    /* the file (no reference: the cache drops entries first) */
    uint64_t index;        /* page index in the file */
    pfn_t pfn;             /* frame holding the page (the cache owns one reference) */
    struct pc_entry *next; /* hash chain */
};

struct pagecache {
    struct phys *phys;         /* frame pool the pages live in */
    struct pc_entry **buckets; /* hash table */
    uint64_t nbuckets;         /* a power of two */
    uint64_t pages;            /* cached pages */
    struct vfile *files;       /* registry of live vfiles */
};

int pagecache_init(struct pagecache *pc, struct phys *phys);
/* Drops every cached page and file. */
void pagecache_destroy(struct pagecache *pc);

/* The vfile for an open host descriptor (dup'ed; the caller keeps its own fd). Takes a
 * reference. Returns 0 or -errno. */
int vfile_from_fd(struct pagecache *pc, int hostfd, const char *path, struct vfile **out);
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
 * of the file read as zero). Returns 0 and sets *out, -ENOMEM or -EIO. */
int pagecache_read(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t *out);
/* Drops every cached page of f that no PTE maps. */
void pagecache_drop_file(struct pagecache *pc, struct vfile *f);

#endif
