/* The page cache and the registry of files the VM maps. A vfile is one host file,
 * identified by (dev, ino), shared by every VMA and open that names it; its pages are
 * cached in frames keyed by (vfile, page index) in a hash table, so every mapping of the
 * same file page uses the same frame (the cache holds one reference, each PTE another).
 * Dirty pages (FRAME_DIRTY, from shared mappings) are written back to the host file when
 * asked and before they leave the cache. Shared anonymous memory is a vfile without a host
 * file (shmem). Called by the loader (vfile_open), mmap (vfile_from_fd, shmem), the fault
 * path (lookup, read) and src/mm/writeback.c (dirty pages, coherence with read/write). */
#include "vmemu/pagecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmemu/phys.h"

#define PC_INITIAL_BUCKETS 1024

static uint64_t pc_hash(const struct vfile *f, uint64_t index)
{
    uint64_t h = (uint64_t)(uintptr_t)f * 0x9e3779b97f4a7c15ULL ^ index * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

/* Creates an empty cache on phys. Returns 0 or -ENOMEM. */
int pagecache_init(struct pagecache *pc, struct phys *phys)
{
    memset(pc, 0, sizeof(*pc));
    pc->phys = phys;
    pc->nbuckets = PC_INITIAL_BUCKETS;
    pc->buckets = calloc(pc->nbuckets, sizeof(*pc->buckets));
    return pc->buckets ? 0 : -ENOMEM;
}

/* Unlinks an entry; a dirty page is written back first when `writeback` (else its
 * changes are discarded, as truncation and hole punching do). */
static void pc_remove_entry(struct pagecache *pc, struct pc_entry **pp, bool writeback)
{
    struct pc_entry *e = *pp;
    if (e->pfn == 0) {
        *pp = e->next;
        free(e);
        pc->shadows--;
        return;
    }
    struct frame *fr = phys_frame(pc->phys, e->pfn);
    if (writeback && (fr->flags & FRAME_DIRTY))
        pagecache_write_page(pc, e->pfn); /* an I/O error loses the page, as on Linux */
    if (fr->flags & FRAME_DIRTY)
        e->file->dirty_pages--;
    /* A frame still mapped somewhere lives on as a frame of no file. */
    fr->flags &= ~(FRAME_DIRTY | FRAME_PAGECACHE);
    fr->owner = NULL;
    *pp = e->next;
    phys_put(pc->phys, e->pfn);
    free(e);
    pc->pages--;
}

/* Drops every cached page and closes every file, whatever their references. */
void pagecache_destroy(struct pagecache *pc)
{
    for (uint64_t b = 0; b < pc->nbuckets && pc->buckets; b++)
        while (pc->buckets[b])
            pc_remove_entry(pc, &pc->buckets[b], true);
    while (pc->files) {
        struct vfile *f = pc->files;
        pc->files = f->next;
        if (f->fd >= 0)
            close(f->fd);
        free(f->path);
        free(f);
    }
    free(pc->buckets);
    memset(pc, 0, sizeof(*pc));
}

/* The registered vfile of host file (dev, ino), or NULL (shmem objects never match). */
struct vfile *vfile_lookup(const struct pagecache *pc, uint64_t dev, uint64_t ino)
{
    for (struct vfile *f = pc->files; f; f = f->next)
        if (!f->shmem && f->dev == dev && f->ino == ino)
            return f;
    return NULL;
}

static int vfile_adopt(struct pagecache *pc, int fd, bool writable, const char *path,
                       struct vfile **out)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    struct vfile *f = vfile_lookup(pc, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f && (f->writable || !writable)) {
        close(fd);
        f->refs++;
        *out = f;
        return 0;
    }
    if (f) {
        /* Same file, now needed writable: keep one vfile, upgrade its descriptor. */
        close(f->fd);
        f->fd = fd;
        f->writable = true;
        f->refs++;
        *out = f;
        return 0;
    }
    /* The name Linux shows for it: the absolute path the host resolves the file to. */
    char self[40], abs[4096];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(self, abs, sizeof(abs) - 1);
    if (n > 0 && abs[0] == '/') {
        abs[n] = '\0';
        path = abs;
    }
    f = calloc(1, sizeof(*f));
    if (f)
        f->path = strdup(path ? path : "");
    if (!f || !f->path) {
        if (f)
            free(f);
        close(fd);
        return -ENOMEM;
    }
    f->fd = fd;
    f->writable = writable;
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->refs = 1;
    f->pc = pc;
    f->next = pc->files;
    pc->files = f;
    *out = f;
    return 0;
}

/* The vfile for an open host descriptor. The file is reopened through /proc/self/fd (a
 * dup when that fails) so that vmemu's own I/O shares neither the guest's file offset nor
 * its O_APPEND. Takes a reference. Returns 0 or -errno. */
int vfile_from_fd(struct pagecache *pc, int hostfd, const char *path, struct vfile **out)
{
    int flags = fcntl(hostfd, F_GETFL);
    if (flags < 0)
        return -errno;
    int mode = flags & O_ACCMODE;
    char self[40];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", hostfd);
    int fd = open(self, (mode == O_RDONLY ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        fd = fcntl(hostfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    return vfile_adopt(pc, fd, mode != O_RDONLY, path, out);
}

/* A new shared anonymous memory object of size bytes. Takes a reference. Returns 0 or
 * -ENOMEM. */
int vfile_shmem_create(struct pagecache *pc, uint64_t size, struct vfile **out)
{
    struct vfile *f = calloc(1, sizeof(*f));
    if (f)
        f->path = strdup("/dev/zero (deleted)");
    if (!f || !f->path) {
        free(f);
        return -ENOMEM;
    }
    f->fd = -1;
    f->writable = true;
    f->shmem = true;
    f->shmem_size = size;
    f->refs = 1;
    f->pc = pc;
    f->next = pc->files;
    pc->files = f;
    *out = f;
    return 0;
}

/* Opens path read-only as a vfile, taking a reference. Returns 0 or -errno. */
int vfile_open(struct pagecache *pc, const char *path, struct vfile **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return vfile_adopt(pc, fd, false, path, out);
}

/* Adds a reference. */
void vfile_get(struct vfile *f)
{
    f->refs++;
}

/* Drops a reference; the last one drops the cached pages and closes the file. */
void vfile_put(struct vfile *f)
{
    VMEMU_BUG_ON(f->refs == 0);
    if (--f->refs > 0)
        return;
    struct pagecache *pc = f->pc;
    pagecache_drop_file(pc, f);
    for (struct vfile **pp = &pc->files; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    /* A hugetlb object's promises not taken go back to the pool. */
    VMEMU_BUG_ON(f->hugetlb_resv > pc->phys->hugetlb_resv);
    pc->phys->hugetlb_resv -= f->hugetlb_resv;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

/* Current size of the host file (of a shmem object: its size) in bytes, or -errno. */
int64_t vfile_size(const struct vfile *f)
{
    struct stat st;
    if (f->shmem)
        return (int64_t)f->shmem_size;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_size;
}

static struct pc_entry *pc_lookup(const struct pagecache *pc, const struct vfile *f, uint64_t index)
{
    for (struct pc_entry *e = pc->buckets[pc_hash(f, index) & (pc->nbuckets - 1)]; e; e = e->next)
        if (e->file == f && e->index == index)
            return e;
    return NULL;
}

/* The cached frame of (f, index), or 0 (not cached, or only a shadow). */
pfn_t pagecache_find(const struct pagecache *pc, const struct vfile *f, uint64_t index)
{
    const struct pc_entry *e = pc_lookup(pc, f, index);
    return e ? e->pfn : 0;
}

/* Whether (f, index) has a shadow entry: evicted by reclaim, not read since. */
bool pagecache_is_shadow(const struct pagecache *pc, const struct vfile *f, uint64_t index)
{
    const struct pc_entry *e = pc_lookup(pc, f, index);
    return e && e->pfn == 0;
}

/* Drops the cache's reference to a clean, unmapped frame and leaves a shadow entry. */
void pagecache_evict(struct pagecache *pc, pfn_t pfn)
{
    struct frame *fr = phys_frame(pc->phys, pfn);
    struct pc_entry *e = pc_lookup(pc, fr->owner, fr->index);
    VMEMU_BUG_ON(!e || e->pfn != pfn || (fr->flags & FRAME_DIRTY) || fr->rmap);
    fr->flags &= ~FRAME_PAGECACHE;
    fr->owner = NULL;
    e->pfn = 0;
    pc->pages--;
    pc->shadows++;
    phys_put(pc->phys, pfn);
}

static void pc_grow(struct pagecache *pc)
{
    uint64_t n = pc->nbuckets * 2;
    struct pc_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* keep the longer chains */
    for (uint64_t i = 0; i < pc->nbuckets; i++) {
        while (pc->buckets[i]) {
            struct pc_entry *e = pc->buckets[i];
            pc->buckets[i] = e->next;
            uint64_t h = pc_hash(e->file, e->index) & (n - 1);
            e->next = b[h];
            b[h] = e;
        }
    }
    free(pc->buckets);
    pc->buckets = b;
    pc->nbuckets = n;
}

/* Links e (its file and index set) into the hash, growing the table first when full. */
static void pc_insert(struct pagecache *pc, struct pc_entry *e)
{
    if (pc->pages + pc->shadows >= pc->nbuckets * 2)
        pc_grow(pc);
    uint64_t h = pc_hash(e->file, e->index) & (pc->nbuckets - 1);
    e->next = pc->buckets[h];
    pc->buckets[h] = e;
}
/* Reads page `index` of f into a new cached frame (bytes past the end of the file read as
 * zero). Returns 0 and sets *out, -ENOMEM or -EIO. */
int pagecache_read(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t *out)
{
    pfn_t pfn;
    int rc = phys_alloc(pc->phys, false, &pfn);
    if (rc < 0)
        return rc;
    /* Looked up after the allocation, which may have evicted pages into shadows. */
    struct pc_entry *e = pc_lookup(pc, f, index);
    bool shadow = e != NULL;
    VMEMU_BUG_ON(e && e->pfn != 0);
    if (!e && !(e = malloc(sizeof(*e)))) {
        phys_put(pc->phys, pfn);
        return -ENOMEM;
    }
    uint8_t *dst = phys_hva(pc->phys, pfn);
    size_t done = 0;
    while (!f->shmem && done < PAGE_SIZE) {
        ssize_t n = pread(f->fd, dst + done, PAGE_SIZE - done, (off_t)(index * PAGE_SIZE + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            phys_put(pc->phys, pfn);
            if (!shadow)
                free(e);
            return -EIO;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    memset(dst + done, 0, PAGE_SIZE - done);
    struct frame *fr = phys_frame(pc->phys, pfn);
    fr->flags |= FRAME_PAGECACHE;
    fr->owner = f;
    fr->index = index;
    e->pfn = pfn;
    pc->pages++;
    phys_track(pc->phys, pfn);
    *out = pfn;
    if (shadow) {
        pc->shadows--;
        return 0;
    }
    e->file = f;
    e->index = index;
    pc_insert(pc, e);
    return 0;
}

/* Caches frame pfn as page index of f (see the header). */
int pagecache_add(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t pfn)
{
    VMEMU_BUG_ON(pc_lookup(pc, f, index) != NULL);
    struct pc_entry *e = malloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    struct frame *fr = phys_frame(pc->phys, pfn);
    fr->flags |= FRAME_PAGECACHE;
    fr->owner = f;
    fr->index = index;
    e->file = f;
    e->index = index;
    e->pfn = pfn;
    pc->pages++;
    pc_insert(pc, e);
    return 0;
}

/* Drops every cached page of f that no PTE maps, writing dirty ones back first. */
void pagecache_drop_file(struct pagecache *pc, struct vfile *f)
{
    for (uint64_t b = 0; b < pc->nbuckets; b++) {
        struct pc_entry **pp = &pc->buckets[b];
        while (*pp) {
            if ((*pp)->file == f &&
                ((*pp)->pfn == 0 || phys_frame(pc->phys, (*pp)->pfn)->refcount == 1))
                pc_remove_entry(pc, pp, true);
            else
                pp = &(*pp)->next;
        }
    }
}

/* Removes page index of f from the cache without writing it back. */
void pagecache_remove(struct pagecache *pc, struct vfile *f, uint64_t index)
{
    struct pc_entry **pp = &pc->buckets[pc_hash(f, index) & (pc->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->file == f && (*pp)->index == index) {
            pc_remove_entry(pc, pp, false);
            return;
        }
    }
}

/* Calls fn(ctx, index, pfn) for every cached page of f; fn may remove that page. */
void pagecache_for_each(struct pagecache *pc, struct vfile *f,
                        void (*fn)(void *ctx, uint64_t index, pfn_t pfn), void *ctx)
{
    for (uint64_t b = 0; b < pc->nbuckets; b++) {
        struct pc_entry *e = pc->buckets[b];
        while (e) {
            struct pc_entry *next = e->next;
            if (e->file == f && e->pfn != 0)
                fn(ctx, e->index, e->pfn);
            e = next;
        }
    }
}

/* Marks a cached frame dirty, once; shmem frames have no file and stay clean. */
void pagecache_set_dirty(struct pagecache *pc, pfn_t pfn)
{
    struct frame *fr = phys_frame(pc->phys, pfn);
    struct vfile *f = fr->owner;
    if (!(fr->flags & FRAME_PAGECACHE) || (fr->flags & FRAME_DIRTY) || f->shmem)
        return;
    fr->flags |= FRAME_DIRTY;
    f->dirty_pages++;
}

/* Writes a dirty cached frame to its file, only below the file's size (the rest of the
 * last page is not part of the file), and marks it clean. Returns 0 or -EIO. */
int pagecache_write_page(struct pagecache *pc, pfn_t pfn)
{
    struct frame *fr = phys_frame(pc->phys, pfn);
    struct vfile *f = fr->owner;
    if (!(fr->flags & FRAME_DIRTY))
        return 0;
    int64_t size = vfile_size(f);
    if (size < 0)
        return -EIO;
    uint64_t off = fr->index * PAGE_SIZE;
    size_t len = 0;
    if ((uint64_t)size > off)
        len = (uint64_t)size - off < PAGE_SIZE ? (size_t)((uint64_t)size - off) : PAGE_SIZE;
    const uint8_t *src = phys_hva(pc->phys, pfn);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(f->fd, src + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (size_t)n;
    }
    fr->flags &= ~FRAME_DIRTY;
    f->dirty_pages--;
    struct stat st;
    if (fstat(f->fd, &st) == 0)
        f->wb_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* Writes the dirty pages of f with index in [first, last] back. Returns 0 or the first
 * error. */
int pagecache_writeback(struct pagecache *pc, struct vfile *f, uint64_t first, uint64_t last)
{
    int rc = 0;
    if (f->dirty_pages == 0)
        return 0;
    if (last - first < pc->nbuckets) {
        for (uint64_t i = first; i <= last; i++) {
            pfn_t pfn = pagecache_find(pc, f, i);
            int r = pfn ? pagecache_write_page(pc, pfn) : 0;
            if (r < 0 && rc == 0)
                rc = r;
        }
        return rc;
    }
    for (uint64_t b = 0; b < pc->nbuckets; b++) {
        for (struct pc_entry *e = pc->buckets[b]; e; e = e->next) {
            if (e->file != f || e->pfn == 0 || e->index < first || e->index > last)
                continue;
            int r = pagecache_write_page(pc, e->pfn);
            if (r < 0 && rc == 0)
                rc = r;
        }
    }
    return rc;
}
