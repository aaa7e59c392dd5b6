/* Address spaces: creation and teardown, and the area operations behind mmap, munmap,
 * mprotect, brk, mlock and madvise's fork advice. Pages are installed and zapped through
 * pte.c; faults are fault.c's. */
#include "vmemu/mm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/hugetlb.h"
#include "vmemu/thp.h"

/* A new, empty address space with Linux's x86-64 layout (no randomisation).
 * Returns 0 or -ENOMEM. */
int mm_create(struct vmsys *sys, struct mm **out)
{
    struct mm *mm = calloc(1, sizeof(*mm));
    if (!mm)
        return -ENOMEM;
    mm->sys = sys;
    vma_list_init(&mm->vmas);
    if (pt_init(&mm->pt, &sys->phys) < 0) {
        free(mm);
        return -ENOMEM;
    }
    mm->stack_top = MM_STACK_TOP;
    mm->stack_limit = MM_STACK_LIMIT;
    /* Linux: mmap_base = TASK_SIZE - clamp(stack rlimit + guard gap, 128 MiB, ...). */
    uint64_t gap = MM_STACK_LIMIT + MM_STACK_GAP;
    if (gap < (128ULL << 20))
        gap = 128ULL << 20;
    mm->mmap_base = PAGE_DOWN(MM_STACK_TOP - gap);
    mm_note_pt_pages(mm);
    *out = mm;
    return 0;
}

static int unmap_range(struct mm *mm, gva_t start, uint64_t len, bool tell);

/* Unmaps everything, frees the page tables and the mm. */
void mm_destroy(struct mm *mm)
{
    if (!mm)
        return;
    unmap_range(mm, 0, USER_VA_END, false);
    pt_destroy(&mm->pt, &mm->sys->phys);
    vma_list_destroy(&mm->vmas);
    if (mm->sys->current == mm)
        mm->sys->current = NULL;
    free(mm);
}

static void zap_cb(void *ctx, gva_t va, pte_t *ptep)
{
    mm_zap_page(ctx, va, ptep);
}

/* Releases the pages of [start, end), keeping the areas (MADV_DONTNEED). A huge page
 * partly inside is split first; the page table of one wholly inside goes with it, so that
 * the next fault there may map a huge page again (Linux zaps the PMD). */
void mm_zap_range(struct mm *mm, gva_t start, gva_t end)
{
    bool whole = thp_split_range(mm, start, end, THP_RANGE_ZAP);
    pt_for_each(&mm->pt, &mm->sys->phys, start, end, zap_cb, mm);
    if (whole)
        pt_prune(&mm->pt, &mm->sys->phys, start, end);
}

static bool range_ok(gva_t start, uint64_t len)
{
    return (start & ~PAGE_MASK) == 0 && (len & ~PAGE_MASK) == 0 && len > 0 && start < USER_VA_END &&
           len <= USER_VA_END - start;
}

/* Tells the machine's unmap hook of the mapped parts of [start, end), one call per area. */
static void unmap_tell(struct mm *mm, gva_t start, gva_t end)
{
    const struct mm_unmap_hook *h = &mm->sys->on_unmap;
    if (!h->unmapped)
        return;
    for (struct vma *v = vma_find(&mm->vmas, start); v && v->start < end;) {
        h->unmapped(h->ctx, mm, v->start > start ? v->start : start, v->end < end ? v->end : end);
        v = vma_next(&mm->vmas, v);
    }
}

/* Unmaps [start, start+len) (see mm_unmap), telling the unmap hook when tell. */
static int unmap_range(struct mm *mm, gva_t start, uint64_t len, bool tell)
{
    if (!range_ok(start, len))
        return -EINVAL;
    gva_t end = start + len;
    if (hugetlb_check_cut(mm, start) < 0 || hugetlb_check_cut(mm, end) < 0)
        return -EINVAL; /* a MAP_HUGETLB area is cut at 2 MiB boundaries only */
    if (tell)
        unmap_tell(mm, start, end);
    for (struct vma *v = vma_find(&mm->vmas, start); v && v->start < end;) {
        hugetlb_unreserve(mm, v, v->start > start ? v->start : start, v->end < end ? v->end : end);
        v = vma_next(&mm->vmas, v);
    }
    mm_zap_range(mm, start, end);
    /* Stores through shared file mappings reach the file before the areas (and maybe the
     * last references to their files) go. */
    for (struct vma *v = vma_find(&mm->vmas, start); v && v->start < end;) {
        if ((v->flags & VM_SHARED) && v->file && v->file->dirty_pages) {
            gva_t lo = v->start > start ? v->start : start, hi = v->end < end ? v->end : end;
            pagecache_writeback(&mm->sys->pc, v->file, vma_pgoff(v, lo), vma_pgoff(v, hi) - 1);
        }
        v = vma_next(&mm->vmas, v);
    }
    int rc = vma_remove_range(&mm->vmas, start, end);
    if (rc < 0)
        return rc;
    struct vma *prev = vma_prev(&mm->vmas, start);
    struct vma *next = vma_find(&mm->vmas, end);
    gva_t floor = prev ? prev->end : 0;
    gva_t ceiling = next ? next->start : USER_VA_END;
    pt_prune(&mm->pt, &mm->sys->phys, floor, ceiling);
    return 0;
}

/* Unmaps [start, start+len): releases the pages, removes the areas and frees the page
 * tables that now map nothing between the neighbouring areas; the unmap hook hears of
 * the removal. Returns 0 or -errno. */
int mm_unmap(struct mm *mm, gva_t start, uint64_t len)
{
    return unmap_range(mm, start, len, true);
}

/* Maps [start, start+len) as a new area, replacing what was there. Returns 0 or -errno. */
int mm_map(struct mm *mm, gva_t start, uint64_t len, uint32_t prot, uint32_t flags,
           enum vma_kind kind, struct vfile *file, uint64_t off, uint64_t file_end)
{
    if (!range_ok(start, len) || (off & ~PAGE_MASK))
        return -EINVAL;
    if (vma_overlaps(&mm->vmas, start, start + len)) {
        int rc = mm_unmap(mm, start, len);
        if (rc < 0)
            return rc;
    }
    struct vma v = {
        .start = start,
        .end = start + len,
        .prot = prot,
        .flags = flags | mm->def_flags,
        .kind = kind,
        .file = file,
        .pgoff = file ? off >> PAGE_SHIFT : 0,
        .file_end = file ? file_end : 0,
    };
    int rc = vma_insert(&mm->vmas, &v);
    if (rc < 0)
        return rc;
    uint64_t vm = mm_vm_pages(mm);
    if (vm > mm->stats.peak_vm)
        mm->stats.peak_vm = vm;
    return 0;
}

/* Makes start and end area boundaries and returns the indexes of the first and last
 * areas inside [start, end), which must have no hole. Returns 0, -EINVAL (a cut of a
 * MAP_HUGETLB area off its 2 MiB boundaries) or -ENOMEM. */
static int split_range(struct mm *mm, gva_t start, gva_t end, size_t *first, size_t *last)
{
    int rc;
    if (hugetlb_check_cut(mm, start) < 0 || hugetlb_check_cut(mm, end) < 0)
        return -EINVAL; /* a MAP_HUGETLB area splits at 2 MiB boundaries only */
    if ((rc = vma_split(&mm->vmas, start)) < 0 || (rc = vma_split(&mm->vmas, end)) < 0)
        return rc;
    *first = vma_index(&mm->vmas, vma_lookup(&mm->vmas, start));
    *last = *first;
    while (*last + 1 < mm->vmas.n && mm->vmas.v[*last + 1].start < end)
        (*last)++;
    return 0;
}

/* Merges the areas first..last with their neighbours, from the top down (a merge only
 * moves areas above the one merged). */
static void merge_range(struct mm *mm, size_t first, size_t last)
{
    for (size_t i = last + 1; i-- > first;)
        if (i < mm->vmas.n)
            vma_merge_around(&mm->vmas, i);
}

/* Whether [start, end) is covered by areas without a hole. */
static bool range_mapped(const struct mm *mm, gva_t start, gva_t end)
{
    for (gva_t cur = start; cur < end;) {
        const struct vma *v = vma_lookup(&mm->vmas, cur);
        if (!v)
            return false;
        cur = v->end;
    }
    return true;
}

/* The end of the mapped run that starts at start, at most end (start itself when it is
 * not mapped). */
static gva_t mapped_run_end(const struct mm *mm, gva_t start, gva_t end)
{
    gva_t cur = start;
    while (cur < end) {
        const struct vma *v = vma_lookup(&mm->vmas, cur);
        if (!v)
            break;
        cur = v->end < end ? v->end : end;
    }
    return cur;
}

/* Sets or clears VM_LOCKED on the areas of [start, end), splitting and merging them. As
 * Linux's apply_vma_lock_flags walks the areas in order, a hole ends the walk: the areas
 * before it are changed and -ENOMEM is returned. Returns 0, -EINVAL (a MAP_HUGETLB area
 * cut off its 2 MiB boundaries) or -ENOMEM (a hole, or no memory). */
int mm_lock_range(struct mm *mm, gva_t start, gva_t end, bool lock)
{
    size_t first, last;
    gva_t stop = mapped_run_end(mm, start, end);
    if (stop == start)
        return -ENOMEM;
    int rc = split_range(mm, start, stop, &first, &last);
    if (rc < 0)
        return rc;
    for (size_t i = first; i <= last; i++) {
        if (lock)
            mm->vmas.v[i].flags |= VM_LOCKED;
        else
            mm->vmas.v[i].flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    }
    merge_range(mm, first, last);
    return stop == end ? 0 : -ENOMEM;
}

/* Sets `set` and clears `clear` in the flags of the areas of [start, end), splitting and
 * merging them (madvise's DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK). Returns 0 or -ENOMEM. */
int mm_set_vma_flags(struct mm *mm, gva_t start, gva_t end, uint32_t set, uint32_t clear)
{
    size_t first, last;
    if (!range_mapped(mm, start, end))
        return -ENOMEM;
    int rc = split_range(mm, start, end, &first, &last);
    if (rc < 0)
        return rc;
    for (size_t i = first; i <= last; i++)
        mm->vmas.v[i].flags = (mm->vmas.v[i].flags & ~clear) | set;
    merge_range(mm, first, last);
    return 0;
}

struct protect_ctx {
    struct mm *mm; /* address space */
    uint32_t prot; /* new protection */
};

static void protect_cb(void *ctx, gva_t va, pte_t *ptep)
{
    struct protect_ctx *c = ctx;
    pte_t old = *ptep;
    if (!pte_present(old))
        return;
    pte_t new = (old & ~(PTE_US | PTE_RW | PTE_NX)) | mm_prot_pte_bits(c->prot, old & PTE_COW);
    /* A clean page of a shared file stays write-protected: its first store must fault. */
    const struct frame *fr = phys_frame(&c->mm->sys->phys, pte_pfn(old));
    if (!(old & PTE_D) && (fr->flags & FRAME_PAGECACHE) && !((struct vfile *)fr->owner)->shmem)
        new &= ~PTE_RW;
    if (new != old)
        mm_set_pte(c->mm, va, ptep, new);
}

/* Changes the protection of [start, start+len). Returns 0, -EINVAL, -ENOMEM (a hole in the
 * range) or -EACCES (writable shared mapping of a file opened read-only). As Linux's
 * mprotect walks the areas in order, changing each, a hole or a refused area ends the walk:
 * the areas before it keep their new protection. */
int mm_protect(struct mm *mm, gva_t start, uint64_t len, uint32_t prot)
{
    if (!range_ok(start, len) || hugetlb_check_cut(mm, start) < 0 ||
        hugetlb_check_cut(mm, start + len) < 0)
        return -EINVAL;
    gva_t end = start + len, stop = start;
    int err = 0;
    while (stop < end) {
        const struct vma *v = vma_lookup(&mm->vmas, stop);
        if (!v) {
            err = -ENOMEM;
            break;
        }
        if ((prot & VM_WRITE) && (v->flags & VM_SHARED) && v->file && !v->file->writable) {
            err = -EACCES;
            break;
        }
        stop = v->end < end ? v->end : end;
    }
    if (stop == start)
        return err;
    size_t first, last;
    int rc = split_range(mm, start, stop, &first, &last);
    if (rc < 0)
        return rc;
    for (size_t i = first; i <= last; i++)
        mm->vmas.v[i].prot = prot;
    struct protect_ctx c = {mm, prot};
    thp_split_range(mm, start, stop, THP_RANGE_KEEP); /* a huge page partly inside splits */
    pt_for_each(&mm->pt, &mm->sys->phys, start, stop, protect_cb, &c);
    merge_range(mm, first, last);
    return err;
}

/* Sets the program break as Linux's brk(): below start_brk, or when the new heap would
 * run into another mapping or the memory is short, the old break is returned. Shrinking
 * releases the pages. Returns the break now in force. */
gva_t mm_brk(struct mm *mm, gva_t newbrk)
{
    if (newbrk < mm->start_brk || newbrk >= USER_VA_END)
        return mm->brk;
    gva_t oldtop = PAGE_UP(mm->brk), newtop = PAGE_UP(newbrk);
    if (newtop < oldtop) {
        if (mm_unmap(mm, newtop, oldtop - newtop) < 0)
            return mm->brk;
    } else if (newtop > oldtop) {
        /* Linux's brk keeps one free page above the heap, and the stack's guard gap. */
        struct vma *next = vma_find(&mm->vmas, oldtop);
        if (next &&
            next->start < newtop + PAGE_SIZE + ((next->flags & VM_GROWSDOWN) ? MM_STACK_GAP : 0))
            return mm->brk;
        if (mm_map(mm, oldtop, newtop - oldtop, VM_READ | VM_WRITE, 0, VMA_HEAP, NULL, 0, 0) < 0)
            return mm->brk;
    }
    mm->brk = newbrk;
    return mm->brk;
}

/* Picks an address for a mapping of len bytes: the hint when that range is free and
 * valid, else the highest free range below mmap_base. Returns 0 or -ENOMEM. */
int mm_get_unmapped_area(struct mm *mm, gva_t hint, uint64_t len, gva_t *out)
{
    if (len == 0 || len > USER_VA_END)
        return -ENOMEM;
    hint = PAGE_DOWN(hint);
    if (hint >= MM_MMAP_LOW && hint <= USER_VA_END - len &&
        !vma_overlaps(&mm->vmas, hint, hint + len)) {
        *out = hint;
        return 0;
    }
    return vma_find_free(&mm->vmas, len, MM_MMAP_LOW, mm->mmap_base, out);
}
