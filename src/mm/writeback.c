/* Coherence between shared file mappings, the page cache and the host files. A store
 * through a shared mapping only sets the PTE's dirty bit (the MMU does it); here those
 * bits are collected into the frame's FRAME_DIRTY through the reverse map and dirty frames
 * are written to the host file (msync, munmap via mm.c, fsync, sendfile). File I/O goes to
 * the host file directly, so a read overlays the bytes of dirty cached pages and a write
 * updates the cached pages of its range. Called by mm.c, syscalls/sys_mm.c,
 * syscalls/sys_rw.c and syscalls/sys_path.c. */
#include "vmemu/writeback.h"

#include "vmemu/pte.h"

#include <errno.h>
#include <string.h>

/* The PTE slot of one reverse-map entry (it always exists while the entry does). */
/* Whether a cached frame is newer than its file. */
bool wb_frame_dirty(const struct vmsys *sys, pfn_t pfn)
{
    const struct frame *fr = phys_frame(&sys->phys, pfn);
    if (fr->flags & FRAME_DIRTY)
        return true;
    for (const struct rmap *r = fr->rmap; r; r = r->next)
        if (*mm_rmap_pte(r) & PTE_D)
            return true;
    return false;
}

/* Cleans and write-protects every PTE that maps pfn, moving their dirty bits into
 * FRAME_DIRTY: the next store faults again (Linux's page_mkclean). */
static void wb_harvest(struct vmsys *sys, pfn_t pfn)
{
    for (struct rmap *r = phys_frame(&sys->phys, pfn)->rmap; r; r = r->next) {
        pte_t *ptep = mm_rmap_pte(r);
        if (*ptep & PTE_D) {
            mm_set_pte(r->mm, r->va, ptep, *ptep & ~(PTE_D | PTE_RW));
            pagecache_set_dirty(&sys->pc, pfn);
        }
    }
}

/* Writes a cached frame to its file when it is dirty. Returns 0 or -EIO. */
int wb_write_frame(struct vmsys *sys, pfn_t pfn)
{
    const struct frame *fr = phys_frame(&sys->phys, pfn);
    if (!(fr->flags & FRAME_PAGECACHE) || ((const struct vfile *)fr->owner)->shmem)
        return 0;
    wb_harvest(sys, pfn);
    return pagecache_write_page(&sys->pc, pfn);
}

struct wb_ctx {
    struct vmsys *sys; /* the machine */
    uint64_t from;     /* first page index concerned */
    uint64_t size;     /* truncation: new file size */
    int rc;            /* first error */
};

static void sync_cb(void *ctx, uint64_t index, pfn_t pfn)
{
    struct wb_ctx *c = ctx;
    (void)index;
    int rc = wb_write_frame(c->sys, pfn);
    if (rc < 0 && c->rc == 0)
        c->rc = rc;
}

/* Writes every dirty page of f to its file. Returns 0 or -EIO. */
int wb_file_sync(struct vmsys *sys, struct vfile *f)
{
    struct wb_ctx c = {.sys = sys};
    if (f->shmem)
        return 0;
    pagecache_for_each(&sys->pc, f, sync_cb, &c);
    return c.rc;
}

/* Calls fn(sys, pfn, page offset, bytes of page, data offset) for each cached page of f
 * that [pos, pos+n) touches. */
static void
for_cached_range(const struct vmsys *sys, struct vfile *f, uint64_t pos, size_t n,
                 void (*fn)(const struct vmsys *, pfn_t, size_t, size_t, size_t, void *), void *arg)
{
    if (n == 0 || sys->pc.pages == 0)
        return;
    for (uint64_t index = pos / PAGE_SIZE; index * PAGE_SIZE < pos + n; index++) {
        pfn_t pfn = pagecache_find(&sys->pc, f, index);
        if (!pfn)
            continue;
        uint64_t lo = index * PAGE_SIZE > pos ? index * PAGE_SIZE : pos;
        uint64_t hi = (index + 1) * PAGE_SIZE < pos + n ? (index + 1) * PAGE_SIZE : pos + n;
        fn(sys, pfn, (size_t)(lo - index * PAGE_SIZE), (size_t)(hi - lo), (size_t)(lo - pos), arg);
    }
}

static void overlay_one(const struct vmsys *sys, pfn_t pfn, size_t in_page, size_t len,
                        size_t in_buf, void *buf)
{
    if (wb_frame_dirty(sys, pfn))
        memcpy((uint8_t *)buf + in_buf, (const uint8_t *)phys_hva(&sys->phys, pfn) + in_page, len);
}

/* After a host read into buf: the bytes of dirty cached pages replace the file's. */
void wb_read_overlay(const struct vmsys *sys, struct vfile *f, uint64_t pos, void *buf, size_t n)
{
    if (!f->shmem)
        for_cached_range(sys, f, pos, n, overlay_one, buf);
}

static void update_one(const struct vmsys *sys, pfn_t pfn, size_t in_page, size_t len,
                       size_t in_buf, void *buf)
{
    struct phys *phys = (struct phys *)&sys->phys;
    phys_before_write(phys, pfn);
    memcpy((uint8_t *)phys_hva(phys, pfn) + in_page, (const uint8_t *)buf + in_buf, len);
}

/* After a host write from buf: the cached pages of the range take the new bytes. */
void wb_file_written(struct vmsys *sys, struct vfile *f, uint64_t pos, const void *buf, size_t n)
{
    if (!f->shmem)
        for_cached_range(sys, f, pos, n, update_one, (void *)buf);
}

/* Unmaps a frame from every address space that maps it. */
static void unmap_everywhere(struct vmsys *sys, pfn_t pfn)
{
    struct frame *fr = phys_frame(&sys->phys, pfn);
    while (fr->rmap) {
        struct rmap *r = fr->rmap;
        mm_zap_page(r->mm, r->va, mm_rmap_pte(r));
    }
}

static void truncate_cb(void *ctx, uint64_t index, pfn_t pfn)
{
    struct wb_ctx *c = ctx;
    struct vfile *f = phys_frame(&c->sys->phys, pfn)->owner;
    if (index >= c->from) {
        unmap_everywhere(c->sys, pfn);
        pagecache_remove(&c->sys->pc, f, index);
    } else if ((index + 1) * PAGE_SIZE > c->size) {
        size_t keep = (size_t)(c->size - index * PAGE_SIZE);
        phys_before_write(&c->sys->phys, pfn);
        memset((uint8_t *)phys_hva(&c->sys->phys, pfn) + keep, 0, PAGE_SIZE - keep);
    }
}

/* After truncation to size bytes: pages past the end go, the last page's tail is zeroed. */
void wb_file_truncated(struct vmsys *sys, struct vfile *f, uint64_t size)
{
    struct wb_ctx c = {.sys = sys, .from = PAGE_UP(size) / PAGE_SIZE, .size = size};
    pagecache_for_each(&sys->pc, f, truncate_cb, &c);
}

/* Discards pages [first, last] of f from every mapping and from the cache. */
void wb_discard_pages(struct vmsys *sys, struct vfile *f, uint64_t first, uint64_t last)
{
    for (uint64_t index = first; index <= last; index++) {
        pfn_t pfn = pagecache_find(&sys->pc, f, index);
        if (!pfn)
            continue;
        unmap_everywhere(sys, pfn);
        pagecache_remove(&sys->pc, f, index);
    }
}

/* msync: writes the dirty shared file pages of [start, end) back. Returns 0 or -EIO. */
int mm_sync_range(struct mm *mm, gva_t start, gva_t end)
{
    int rc = 0;
    for (struct vma *v = vma_find(&mm->vmas, start); v && v->start < end;) {
        if ((v->flags & VM_SHARED) && v->file && !v->file->shmem) {
            gva_t lo = v->start > start ? v->start : start, hi = v->end < end ? v->end : end;
            /* Only pages inside the file can be cached: the walk follows the file's size,
             * not the mapping's (a huge mapping of a small file costs its pages only). */
            int64_t size = vfile_size(v->file);
            uint64_t file_pages = size > 0 ? PAGE_UP((uint64_t)size) >> PAGE_SHIFT : 0;
            if (vma_pgoff(v, lo) >= file_pages)
                hi = lo;
            else if (vma_pgoff(v, hi - 1) >= file_pages)
                hi = lo + ((file_pages - vma_pgoff(v, lo)) << PAGE_SHIFT);
            for (gva_t va = lo; va < hi; va += PAGE_SIZE) {
                uint64_t index = vma_pgoff(v, va);
                pfn_t pfn = pagecache_find(&mm->sys->pc, v->file, index);
                int r = pfn ? wb_write_frame(mm->sys, pfn) : 0;
                if (r < 0 && rc == 0)
                    rc = r;
            }
        }
        v = vma_next(&mm->vmas, v);
    }
    return rc;
}
