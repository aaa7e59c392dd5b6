/* Pages faulted in on behalf of the kernel (Linux's populate and get_user_pages): the
 * page-by-page walk of MAP_POPULATE, MAP_LOCKED, mlock and MADV_POPULATE_*, counted as
 * populate and never as a fault of the guest. Above the fault path. */
#include "vmemu/gup.h"

#include <errno.h>

#include "vmemu/fault.h"
#include "vmemu/pte.h"

/* Faults in one page for the kernel: counted as populated, not as a guest fault; the
 * caller reports -ENOMEM (nothing is killed). */
int mm_populate_page(struct mm *mm, gva_t va, enum access access)
{
    return mm_fault(mm, va, access, FAULT_KERNEL);
}

/* Faults in [start, end) as Linux's populate does: write faults for private writable
 * areas, read faults otherwise; PROT_NONE areas and pages past the end of a file are
 * skipped. Returns 0 or -ENOMEM. */
int mm_populate(struct mm *mm, gva_t start, gva_t end)
{
    for (gva_t va = PAGE_DOWN(start); va < end;) {
        struct vma *v = vma_find(&mm->vmas, va);
        if (!v || v->start >= end)
            break;
        if (va < v->start)
            va = v->start;
        bool write = (v->prot & VM_WRITE) && !(v->flags & VM_SHARED);
        enum access access = write ? ACCESS_WRITE : ACCESS_READ;
        gva_t hi = v->end < end ? v->end : end;
        if (v->prot == 0) {
            va = hi; /* nothing to fault in: skip the area whole, whatever its size */
            continue;
        }
        for (; va < hi; va += PAGE_SIZE) {
            pte_t *ptep = pt_lookup(&mm->pt, &mm->sys->phys, va);
            if (ptep && pte_present(*ptep) && (!write || (*ptep & PTE_RW)))
                continue;
            int rc = mm_populate_page(mm, va, access);
            if (rc == -ENOMEM)
                return rc;
            if (rc < 0)
                break; /* a page past the end of a file is left alone */
            /* v may have moved if the fault grew the table of areas: look it up again. */
            v = vma_lookup(&mm->vmas, va);
        }
        va = hi;
    }
    return 0;
}
