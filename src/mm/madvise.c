/* madvise and mincore on an address space: what each advice does to each area of the
 * range (dropping pages, reading ahead, punching holes, fork flags, populating), and which
 * pages are resident. The syscalls only check and decode their arguments. */
#include <errno.h>
#include <fcntl.h>

#include "vmemu/gup.h"
#include "vmemu/mm.h"
#include "vmemu/hugetlb.h"
#include "vmemu/mmap.h"
#include "vmemu/thp.h"
#include "vmemu/writeback.h"

/* MADV_WILLNEED on a file area: reads the pages of [lo, hi) that lie inside the file into
 * the page cache without mapping them (Linux's readahead); nothing is counted as a fault. */
static void madvise_willneed(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi)
{
    struct pagecache *pc = &mm->sys->pc;
    int64_t size = vfile_size(v->file);
    for (gva_t va = lo; size > 0 && va < hi; va += PAGE_SIZE) {
        uint64_t index = vma_pgoff(v, va);
        pfn_t pfn;
        if (index * PAGE_SIZE >= (uint64_t)size)
            break;
        if (!pagecache_find(pc, v->file, index) && pagecache_read(pc, v->file, index, &pfn) < 0)
            break;
    }
}

/* MADV_REMOVE: frees the backing store of [lo, hi) of a shared writable area (a hole is
 * punched in the file; shared anonymous memory reads back as zero). */
static int madvise_remove(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi)
{
    /* A hugetlb object's page leaves its cache whole or not at all (left out: EINVAL). */
    if ((v->flags & (VM_LOCKED | VM_HUGETLB)) || !v->file)
        return -EINVAL;
    if (!(v->flags & VM_SHARED) || !(v->prot & VM_WRITE))
        return -EACCES;
    uint64_t first = vma_pgoff(v, lo), last = vma_pgoff(v, hi) - 1;
    if (!v->file->shmem &&
        fallocate(v->file->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(first * PAGE_SIZE), (off_t)((last - first + 1) * PAGE_SIZE)) < 0)
        return -errno;
    wb_discard_pages(mm->sys, v->file, first, last);
    return 0;
}

/* MADV_POPULATE_READ/WRITE: faults the range in for the access, as Linux 5.14+: -EINVAL
 * when the area does not allow the access, -EFAULT for a page past the end of a file,
 * -ENOMEM when frames run out. The failed access is not a guest fault: counters stay. */
static int madvise_populate(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi, bool write)
{
    if (v->prot == 0 || (write && !(v->prot & VM_WRITE)))
        return -EINVAL;
    for (gva_t va = lo; va < hi; va += PAGE_SIZE) {
        int rc = mm_populate_page(mm, va, write ? ACCESS_WRITE : ACCESS_READ);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* What one advice does to the part [lo, hi) of area v. Returns 0 or -errno. */
static int madvise_vma(struct mm *mm, struct vma *v, gva_t lo, gva_t hi, int advice)
{
    switch (advice) {
    case LINUX_MADV_DONTNEED:
        if (v->flags & VM_LOCKED)
            return -EINVAL;
        if ((v->flags & VM_HUGETLB) && ((lo | hi) & (HPAGE_SIZE - 1)))
            return -EINVAL; /* whole huge pages only */
        hugetlb_rereserve(mm, v, lo, hi);
        mm_zap_range(mm, lo, hi);
        return 0;
    case LINUX_MADV_FREE:
        /* Private anonymous memory only; the pages keep their data until memory runs
         * short, which here means never before swap exists. A huge page partly inside
         * is split (Linux's madvise_free_huge_pmd). */
        if (v->file || (v->flags & VM_HUGETLB))
            return -EINVAL;
        thp_split_range(mm, lo, hi, THP_RANGE_KEEP);
        return 0;
    case LINUX_MADV_WILLNEED:
        if (v->file && !v->file->shmem)
            madvise_willneed(mm, v, lo, hi);
        return 0;
    case LINUX_MADV_REMOVE:
        return madvise_remove(mm, v, lo, hi);
    case LINUX_MADV_WIPEONFORK:
        /* Private anonymous memory only: the fork child gets it zero-filled. */
        if (v->file || (v->flags & VM_SHARED))
            return -EINVAL;
        return mm_set_vma_flags(mm, lo, hi, VM_WIPEONFORK, 0);
    case LINUX_MADV_KEEPONFORK:
        return mm_set_vma_flags(mm, lo, hi, 0, VM_WIPEONFORK);
    case LINUX_MADV_DONTFORK:
        return mm_set_vma_flags(mm, lo, hi, VM_DONTCOPY, 0);
    case LINUX_MADV_DOFORK:
        return mm_set_vma_flags(mm, lo, hi, 0, VM_DONTCOPY);
    case LINUX_MADV_HUGEPAGE:
        return mm_set_vma_flags(mm, lo, hi, VM_HUGEPAGE, VM_NOHUGEPAGE);
    case LINUX_MADV_NOHUGEPAGE:
        return mm_set_vma_flags(mm, lo, hi, VM_NOHUGEPAGE, VM_HUGEPAGE);
    case LINUX_MADV_POPULATE_READ:
    case LINUX_MADV_POPULATE_WRITE:
        return madvise_populate(mm, v, lo, hi, advice == LINUX_MADV_POPULATE_WRITE);
    default:
        return 0; /* hints */
    }
}

/* Whether advice is one Linux knows (see the header). */
bool mm_advice_known(int advice)
{
    switch (advice) {
    case LINUX_MADV_NORMAL:
    case LINUX_MADV_RANDOM:
    case LINUX_MADV_SEQUENTIAL:
    case LINUX_MADV_WILLNEED:
    case LINUX_MADV_DONTNEED:
    case LINUX_MADV_FREE:
    case LINUX_MADV_REMOVE:
    case LINUX_MADV_DONTFORK:
    case LINUX_MADV_DOFORK:
    case LINUX_MADV_MERGEABLE:
    case LINUX_MADV_UNMERGEABLE:
    case LINUX_MADV_HUGEPAGE:
    case LINUX_MADV_NOHUGEPAGE:
    case LINUX_MADV_DONTDUMP:
    case LINUX_MADV_DODUMP:
    case LINUX_MADV_WIPEONFORK:
    case LINUX_MADV_KEEPONFORK:
    case LINUX_MADV_COLD:
    case LINUX_MADV_PAGEOUT:
    case LINUX_MADV_POPULATE_READ:
    case LINUX_MADV_POPULATE_WRITE:
        return true;
    default:
        return false;
    }
}

/* Applies advice to each area of [start, end) in turn (see the header). */
int mm_madvise(struct mm *mm, gva_t start, gva_t end, int advice)
{
    gva_t cur = start;
    bool hole = false;
    while (cur < end) {
        struct vma *v = vma_find(&mm->vmas, cur);
        if (!v || v->start >= end) {
            hole = true;
            break;
        }
        if (v->start > cur)
            hole = true;
        gva_t lo = v->start > cur ? v->start : cur, hi = v->end < end ? v->end : end;
        int rc = madvise_vma(mm, v, lo, hi, advice);
        if (rc < 0)
            return rc;
        cur = hi;
    }
    return hole ? -ENOMEM : 0;
}

/* Residency of n pages from start (see the header). */
int mm_mincore(const struct mm *mm, gva_t start, size_t n, uint8_t *vec)
{
    gva_t va = start;
    for (size_t i = 0; i < n; i++, va += PAGE_SIZE) {
        const struct vma *v = vma_lookup(&mm->vmas, va);
        if (!v)
            return -ENOMEM;
        pte_t *ptep = pt_lookup(&mm->pt, &mm->sys->phys, va);
        vec[i] = 0;
        if (ptep && pte_present(*ptep))
            vec[i] = 1;
        else if (v->file && pagecache_find(&mm->sys->pc, v->file, vma_pgoff(v, va)))
            vec[i] = 1;
    }
    return 0;
}
