/* Memory usage of areas and address spaces, counted as Linux's fs/proc/task_mmu.c counts it
 * (smaps_account, task_mem): a walk of an area's PTEs classifies every present page by its
 * frame: how many PTEs map it (the length of its reverse map), whether it is dirty (PTE D or
 * FRAME_DIRTY), anonymous, file or shmem. The shared zero page is never in Rss.
 * Called by the /proc files (src/proc/procfs_*.c), the VMA table (src/proc/maps_table.c)
 * and the JSON report (src/report/report_json.c). */
#include "vmemu/mm_stat.h"

#include "vmemu/thp.h"

/* Linux's PSS_SHIFT: Pss is accumulated in bytes << 12 so that sharing divides exactly. */
#define STAT_PSS_SHIFT 12

/* State of one area walk. */
struct usage_walk {
    const struct phys *phys; /* frame descriptors */
    bool locked;             /* the area is VM_LOCKED */
    struct vma_usage *u;     /* totals being counted */
};

/* How many PTEs map a frame: the length of its reverse map. */
static uint64_t frame_mapcount(const struct frame *fr)
{
    uint64_t n = 0;
    for (const struct rmap *r = fr->rmap; r != NULL; r = r->next)
        n++;
    return n;
}

static void usage_pte(void *ctx, gva_t va, pte_t *ptep)
{
    struct usage_walk *w = ctx;
    struct vma_usage *u = w->u;
    pte_t pte = *ptep;
    (void)va;

    if (pte_is_swap(pte)) {
        u->swapped++;
        return;
    }
    if (!pte_present(pte))
        return;
    pfn_t pfn = pte_pfn(pte);
    if (pfn == w->phys->zero_pfn) {
        u->zero_mapped++;
        return;
    }
    const struct frame *fr = phys_frame(w->phys, pfn);
    uint64_t mapcount = frame_mapcount(fr);
    bool dirty = (pte & PTE_D) || (fr->flags & FRAME_DIRTY);

    u->resident++;
    if (!(fr->flags & FRAME_PAGECACHE))
        u->anon++;
    if (pte & PTE_A)
        u->referenced++;
    if (w->locked)
        u->locked++;
    if (dirty)
        u->dirty++;
    uint64_t pss = (PAGE_SIZE << STAT_PSS_SHIFT) / (mapcount >= 2 ? mapcount : 1);
    u->pss_shifted += pss;
    if (dirty)
        u->pss_dirty_shifted += pss;
    if (!(fr->flags & FRAME_PAGECACHE))
        u->pss_anon_shifted += pss;
    else if (((const struct vfile *)fr->owner)->shmem)
        u->pss_shmem_shifted += pss;
    else
        u->pss_file_shifted += pss;
    if (mapcount >= 2) {
        if (dirty)
            u->shared_dirty++;
        else
            u->shared_clean++;
    } else {
        if (dirty)
            u->private_dirty++;
        else
            u->private_clean++;
    }
}

/* Counts the pages of area v of mm into *out (Linux's smaps_pte_range for one area):
 * resident pages by sharing and dirtiness, Pss, zero-page mappings and swap entries. */
void mm_vma_usage(const struct mm *mm, const struct vma *v, struct vma_usage *out)
{
    struct usage_walk w = {
        .phys = &mm->sys->phys,
        .locked = (v->flags & VM_LOCKED) != 0,
        .u = out,
    };
    *out = (struct vma_usage){0};
    pt_for_each(&mm->pt, &mm->sys->phys, v->start, v->end, usage_pte, &w);
    out->anon_huge = thp_mapped_bytes(mm, v->start, v->end) >> PAGE_SHIFT;
    if (v->flags & VM_HUGETLB)
        *out = (struct vma_usage){.hugetlb = out->resident}; /* Linux's smaps_hugetlb_range */
}

/* State of an address-space walk for the Rss split. */
struct rss_walk {
    const struct phys *phys; /* frame descriptors */
    struct mm_usage *u;      /* totals being counted */
};

static void rss_pte(void *ctx, gva_t va, pte_t *ptep)
{
    struct rss_walk *w = ctx;
    pte_t pte = *ptep;
    (void)va;

    if (pte_is_swap(pte)) {
        w->u->swap++;
        return;
    }
    if (!pte_present(pte) || pte_pfn(pte) == w->phys->zero_pfn)
        return;
    const struct frame *fr = phys_frame(w->phys, pte_pfn(pte));
    const struct vfile *file = fr->owner;
    if (fr->flags & FRAME_HUGETLB)
        w->u->hugetlb++; /* not in Rss, as on Linux (HugetlbPages) */
    else if (!(fr->flags & FRAME_PAGECACHE))
        w->u->rss_anon++;
    else if (file != NULL && file->shmem)
        w->u->rss_shmem++;
    else
        w->u->rss_file++;
}

/* Counts the totals of mm into *out as Linux's task_mem does: virtual sizes by the kind of
 * area (VmData = private writable non-stack areas, VmStk = the stack, VmExe = executable
 * program image, VmLib = other executable non-writable areas), Rss split into anonymous,
 * file and shmem pages from a walk of the page tables, the peaks, and page-table pages. */
void mm_usage(const struct mm *mm, struct mm_usage *out)
{
    *out = (struct mm_usage){0};
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        uint64_t pages = (v->end - v->start) >> PAGE_SHIFT;
        bool stack = (v->flags & VM_GROWSDOWN) || v->kind == VMA_STACK;
        bool exec_only = (v->prot & VM_EXEC) && !(v->prot & VM_WRITE);

        out->vm += pages;
        if (v->flags & VM_LOCKED)
            out->locked_vm += pages;
        /* Linux's is_stack_mapping, is_data_mapping and is_exec_mapping. */
        if (stack)
            out->stack += pages;
        else if ((v->prot & VM_WRITE) && !(v->flags & VM_SHARED))
            out->data += pages;
        else if (exec_only && v->kind == VMA_IMAGE)
            out->exe += pages;
        else if (exec_only)
            out->lib += pages;
    }
    struct rss_walk w = {.phys = &mm->sys->phys, .u = out};
    pt_for_each(&mm->pt, &mm->sys->phys, 0, USER_VA_END, rss_pte, &w);
    out->rss = out->rss_anon + out->rss_file + out->rss_shmem;
    out->peak_vm = mm->stats.peak_vm > out->vm ? mm->stats.peak_vm : out->vm;
    out->peak_rss = mm->stats.peak_rss > out->rss ? mm->stats.peak_rss : out->rss;
    out->pt_pages = mm->pt.table_pages;
}
