/* Fault-around for file read faults (Linux's do_fault_around, filemap_map_pages and
 * filemap_map_pmd): which neighbouring pages a read fault maps, their read-ahead into the
 * page cache, and the block-wide write-notify of a PMD-mapped 2 MiB folio. Large folios are
 * those src/mm/folio.c knows for files the guest wrote; every other file page is a folio of
 * its own, mapped by the 64 KiB window. Called by src/mm/fault.c. */
#include "vmemu/fault_around.h"

#include "vmemu/pte.h"

#define PMD_SPAN (PAGE_SIZE << FOLIO_PMD_ORDER)

/* Whether no PTE of the 2 MiB block at lo is in use (Linux's pmd_none: no page table). */
static bool block_unmapped(struct mm *mm, gva_t lo)
{
    for (gva_t va = lo; va < lo + PMD_SPAN; va += PAGE_SIZE) {
        pte_t *ptep = pt_lookup(&mm->pt, &mm->sys->phys, va);
        if (ptep && !pte_none(*ptep))
            return false;
    }
    return true;
}

/* The range a read fault maps (see the header). */
void fault_around_range(struct mm *mm, struct vma *vma, gva_t va, uint64_t index,
                        uint64_t file_pages, struct fault_around *out)
{
    gva_t span = FAULT_AROUND_PAGES * PAGE_SIZE;
    out->lo = va & ~(span - 1);
    out->hi = out->lo + span;
    if (out->lo < vma->start)
        out->lo = vma->start;
    if (out->hi > vma->end)
        out->hi = vma->end;
    out->pmd = false;
    const struct vfile *file = vma->file;
    uint64_t first = 0;
    unsigned order = file->shmem ? 0
                                 : folio_lookup(&mm->sys->folios, file->fd, file->dev, file->ino,
                                                file->wb_mtime_ns, index, &first);
    if (order == 0)
        return;
    uint64_t n = 1ULL << order;
    gva_t flo = va - (index - first) * PAGE_SIZE, fhi = flo + n * PAGE_SIZE;
    gva_t block = va & ~(PMD_SPAN - 1);
    if (first + n > file_pages || flo < vma->start || fhi > vma->end || flo < block ||
        fhi > block + PMD_SPAN)
        return;
    if (order == FOLIO_PMD_ORDER && block_unmapped(mm, block)) {
        out->lo = flo;
        out->hi = fhi;
        out->pmd = true;
    } else if (first + n < file_pages) {
        /* Both ranges hold va, so their union is one range. */
        out->lo = flo < out->lo ? flo : out->lo;
        out->hi = fhi > out->hi ? fhi : out->hi;
    }
}

/* Reads the pages of the range that are not cached yet. */
static void read_around(struct mm *mm, struct vma *vma, gva_t fault_va,
                        const struct fault_around *r, uint64_t file_pages)
{
    struct pagecache *pc = &mm->sys->pc;
    for (gva_t va = r->lo; va < r->hi && phys_free_frames(&mm->sys->phys) > 0; va += PAGE_SIZE) {
        uint64_t index = vma_pgoff(vma, va);
        pfn_t pfn;
        if (va == fault_va || index >= file_pages || !fault_file_page_mappable(vma, index))
            continue;
        if (!pagecache_find(pc, vma->file, index) && pagecache_read(pc, vma->file, index, &pfn) < 0)
            return;
    }
}

/* Maps the range's cached pages (see the header). */
void fault_around_map(struct mm *mm, struct vma *vma, gva_t fault_va, const struct fault_around *r,
                      uint64_t pte_flags, uint64_t file_pages, bool major)
{
    if (major)
        read_around(mm, vma, fault_va, r, file_pages);
    struct pagecache *pc = &mm->sys->pc;
    struct phys *phys = &mm->sys->phys;
    if (r->pmd)
        pte_flags |= PTE_PMDMAP;
    for (gva_t va = r->lo; va < r->hi; va += PAGE_SIZE) {
        uint64_t index = vma_pgoff(vma, va);
        if (va == fault_va || index >= file_pages || !fault_file_page_mappable(vma, index))
            continue;
        pte_t *ptep = pt_lookup(&mm->pt, phys, va);
        if (ptep && !pte_none(*ptep))
            continue;
        pfn_t pfn = pagecache_find(pc, vma->file, index);
        if (!pfn)
            continue;
        phys_get(phys, pfn);
        if (mm_install_page(mm, va, ptep, pfn, pte_flags) < 0) {
            phys_put(phys, pfn);
            return;
        }
    }
}

/* The block-wide write-notify (see the header). */
void fault_pmd_make_writable(struct mm *mm, struct vma *vma, gva_t fault_va, uint64_t pte_flags)
{
    gva_t block = fault_va & ~(PMD_SPAN - 1);
    for (gva_t va = block; va < block + PMD_SPAN; va += PAGE_SIZE) {
        if (va == fault_va || va < vma->start || va >= vma->end)
            continue;
        pte_t *ptep = pt_lookup(&mm->pt, &mm->sys->phys, va);
        if (ptep && pte_present(*ptep) && (*ptep & PTE_PMDMAP) && !(*ptep & (PTE_RW | PTE_COW)))
            mm_set_pte(mm, va, ptep, pte_make(pte_pfn(*ptep), pte_flags | PTE_PMDMAP));
    }
}

/* The split of a file PMD before a copy (see the header). */
void fault_pmd_split(struct mm *mm, struct vma *vma, gva_t fault_va)
{
    gva_t block = fault_va & ~(PMD_SPAN - 1);
    for (gva_t va = block; va < block + PMD_SPAN; va += PAGE_SIZE) {
        if (va == fault_va || va < vma->start || va >= vma->end)
            continue;
        pte_t *ptep = pt_lookup(&mm->pt, &mm->sys->phys, va);
        if (ptep && pte_present(*ptep) && (*ptep & PTE_PMDMAP))
            mm_zap_page(mm, va, ptep);
    }
}
