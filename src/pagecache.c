/* The page cache and the registry of files the VM maps. A vfile is one host file,
 * identified by (dev, ino), shared by every VMA and open that names it; its pages are
 * cached in frames keyed by (vfile, page index) in a hash table, so every mapping of the
 * same file page uses the same frame (the cache holds one reference, each PTE another).
 * Called by the loader (vfile_open), mmap (vfile_from_fd) and the fault path (lookup,
 * read). */
#include "vmemu/pagecache.h"

#include <errno.h>
#include <fcntl.h>
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

static void pc_remove_entry(struct pagecache *pc, struct pc_entry **pp)
{
    struct pc_entry *e = *pp;
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
            pc_remove_entry(pc, &pc->buckets[b]);
    while (pc->files) {
        struct vfile *f = pc->files;
        pc->files = f->next;
        close(f->fd);
        free(f->path);
        free(f);
    }
    free(pc->buckets);
    memset(pc, 0, sizeof(*pc));
}

static struct vfile *vfile_find(struct pagecache *pc, uint64_t dev, uint64_t ino)
{
    for (struct vfile *f = pc->files; f; f = f->next)
        if (f->dev == dev && f->ino == ino)
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
    struct vfile *f = vfile_find(pc, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
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

/* The vfile for an open host descriptor (dup'ed: the caller keeps its fd). Takes a
 * reference. Returns 0 or -errno. */
int vfile_from_fd(struct pagecache *pc, int hostfd, const char *path, struct vfile **out)
{
    int flags = fcntl(hostfd, F_GETFL);
    if (flags < 0)
        return -errno;
    int fd = fcntl(hostfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    return vfile_adopt(pc, fd, (flags & O_ACCMODE) != O_RDONLY, path, out);
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
    close(f->fd);
    free(f->path);
    free(f);
}

/* Current size of the host file in bytes, or -errno. */
int64_t vfile_size(const struct vfile *f)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_size;
}

/* The cached frame of (f, index), or 0. */
pfn_t pagecache_find(const struct pagecache *pc, const struct vfile *f, uint64_t index)
{
    for (struct pc_entry *e = pc->buckets[pc_hash(f, index) & (pc->nbuckets - 1)]; e; e = e->next)
        if (e->file == f && e->index == index)
            return e->pfn;
    return 0;
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

/* Reads page `index` of f into a new cached frame (bytes past the end of the file read as
 * zero). Returns 0 and sets *out, -ENOMEM or -EIO. */
int pagecache_read(struct pagecache *pc, struct vfile *f, uint64_t index, pfn_t *out)
{
    struct pc_entry *e = malloc(sizeof(*e));
    pfn_t pfn;
    if (!e)
        return -ENOMEM;
    int rc = phys_alloc(pc->phys, false, &pfn);
    if (rc < 0) {
        free(e);
        return rc;
    }
    uint8_t *dst = phys_hva(pc->phys, pfn);
    size_t done = 0;
    while (done < PAGE_SIZE) {
        ssize_t n = pread(f->fd, dst + done, PAGE_SIZE - done, (off_t)(index * PAGE_SIZE + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            phys_put(pc->phys, pfn);
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
    e->file = f;
    e->index = index;
    e->pfn = pfn;
    if (pc->pages >= pc->nbuckets * 2)
        pc_grow(pc);
    uint64_t h = pc_hash(f, index) & (pc->nbuckets - 1);
    e->next = pc->buckets[h];
    pc->buckets[h] = e;
    pc->pages++;
    *out = pfn;
    return 0;
}

/* Drops every cached page of f that no PTE maps. */
void pagecache_drop_file(struct pagecache *pc, struct vfile *f)
{
    for (uint64_t b = 0; b < pc->nbuckets; b++) {
        struct pc_entry **pp = &pc->buckets[b];
        while (*pp) {
            if ((*pp)->file == f && phys_frame(pc->phys, (*pp)->pfn)->refcount == 1)
                pc_remove_entry(pc, pp);
            else
                pp = &(*pp)->next;
        }
    }
}
