/* Where a new mapping goes and how it is made (mmap after its arguments are decoded), and
 * mlockall/munlockall over every area: Linux's get_unmapped_area rules for a hint, a fixed
 * address, MAP_FIXED_NOREPLACE and MAP_32BIT, then the area itself (mm_map) and the
 * populate that MAP_POPULATE and locked memory ask for. */
#include "vmemu/mmap.h"

#include <errno.h>

#include "vmemu/gup.h"
#include "vmemu/mm.h"
#include "vmemu/hugetlb.h"
#include "vmemu/thp.h"

/* MAP_32BIT's window: the second GiB, as Linux on x86-64. */
#define MMAP_32BIT_LOW  0x40000000ULL
#define MMAP_32BIT_HIGH 0x80000000ULL

#define PMD_BYTES (2ULL << 20)

/* Linux's __thp_get_unmapped_area for a file mapping with no usable hint: when the
 * mapped file range holds a whole 2 MiB-aligned block, the mapping is placed so that
 * address and file offset agree modulo 2 MiB (a padded search, then the top-most such
 * address in it), so that fault-around and large folios line up with the page tables
 * as they do natively. Returns 0 and sets *out, or -ENOMEM to use the plain search. */
static int place_pmd_aligned(struct mm *mm, const struct mmap_req *req, gva_t *out)
{
    uint64_t off = req->off, len = req->len;
    uint64_t off_align = (off + PMD_BYTES - 1) & ~(PMD_BYTES - 1);
    uint64_t off_end = (off + len) & ~(PMD_BYTES - 1);
    if (off_end <= off_align || off_end - off_align < PMD_BYTES || len > USER_VA_END - PMD_BYTES)
        return -ENOMEM;
    gva_t addr;
    if (mm_get_unmapped_area(mm, req->addr, len + PMD_BYTES, &addr) < 0)
        return -ENOMEM;
    if (req->addr && addr == PAGE_DOWN(req->addr))
        return -ENOMEM; /* the hint stands: the plain search takes it */
    uint64_t sub = (off - addr) & (PMD_BYTES - 1);
    /* Top-down, as Linux: with no adjustment needed, the padding goes below. */
    *out = addr + (sub ? sub : PMD_BYTES);
    return 0;
}

/* Chooses the address of a new mapping (see the header). */
int mm_mmap_place(struct mm *mm, const struct mmap_req *req, gva_t *out)
{
    gva_t addr = req->addr;
    uint64_t len = req->len;
    switch (req->place) {
    case MMAP_FIXED:
    case MMAP_NOREPLACE:
        if ((addr & ~PAGE_MASK) || ((req->flags & VM_HUGETLB) && (addr & (HPAGE_SIZE - 1))))
            return -EINVAL;
        if (addr >= USER_VA_END || len > USER_VA_END - addr || addr < MM_MMAP_LOW)
            return addr < MM_MMAP_LOW ? -EPERM : -ENOMEM;
        if (req->place == MMAP_NOREPLACE && vma_overlaps(&mm->vmas, addr, addr + len))
            return -EEXIST;
        *out = addr;
        return 0;
    case MMAP_32BIT:
        return vma_find_free(&mm->vmas, len, MMAP_32BIT_LOW, MMAP_32BIT_HIGH, out) < 0 ? -ENOMEM
                                                                                       : 0;
    case MMAP_ANYWHERE:
        if (req->flags & VM_HUGETLB) {
            /* 2 MiB pages: a 2 MiB-aligned place (Linux's hugetlb_get_unmapped_area). */
            if (addr && !(addr & (HPAGE_SIZE - 1)) && addr < USER_VA_END - len &&
                !vma_overlaps(&mm->vmas, addr, addr + len)) {
                *out = addr;
                return 0;
            }
            return thp_get_unmapped_area(mm, len, out) < 0 ? -ENOMEM : 0;
        }
        /* Anonymous memory in whole 2 MiB units and no hint: 2 MiB-aligned, as Linux
         * >= 6.7 places it (for huge pages), whatever the THP mode. */
        if (req->kind == VMA_ANON && addr == 0 && thp_get_unmapped_area(mm, len, out) == 0)
            return 0;
        break;
    }
    if (req->thp_file && place_pmd_aligned(mm, req, out) == 0)
        return 0;
    return mm_get_unmapped_area(mm, addr, len, out) < 0 ? -ENOMEM : 0;
}

/* Makes the mapping at start and populates it when asked (see the header). */
int mm_mmap(struct mm *mm, const struct mmap_req *req, gva_t start)
{
    /* MAP_HUGETLB without MAP_NORESERVE: one pool page promised per 2 MiB, or ENOMEM. A
     * shared mapping's object holds its promises (hugetlb_file_create). */
    uint32_t flags = req->flags;
    uint64_t hpages = req->len / HPAGE_SIZE;
    bool reserve = (flags & VM_HUGETLB) && !(flags & VM_NORESERVE) && !req->file;
    int rc;
    if (reserve && (rc = hugetlb_reserve(mm->sys, hpages)) < 0)
        return rc;
    if (reserve)
        flags |= VM_HUGETLB_RESV;
    rc = mm_map(mm, start, req->len, req->prot, flags, req->kind, req->file,
                req->file ? req->off : 0, req->file ? UINT64_MAX : 0);
    if (rc < 0 && reserve)
        mm->sys->phys.hugetlb_resv -= hpages;
    if (rc < 0)
        return rc;
    /* Populating is best effort, as on Linux: the mapping stands even when it fails. */
    bool locked =
        (req->flags & VM_LOCKED) || (mm->def_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED;
    if ((req->populate && !(req->flags & VM_NORESERVE)) || locked)
        mm_populate(mm, start, start + req->len);
    return 0;
}

/* Locks every area and faults it in unless onfault (see the header). */
int mm_lock_all(struct mm *mm, bool onfault)
{
    for (size_t i = 0; i < mm->vmas.n; i++)
        mm->vmas.v[i].flags |= VM_LOCKED;
    if (onfault)
        return 0;
    for (size_t i = 0; i < mm->vmas.n; i++) {
        gva_t start = mm->vmas.v[i].start, end = mm->vmas.v[i].end;
        if (mm_populate(mm, start, end) < 0)
            return -ENOMEM;
        /* populate may have grown the array of areas: find our place again */
        struct vma *v = vma_find(&mm->vmas, end - 1);
        i = v ? vma_index(&mm->vmas, v) : mm->vmas.n;
    }
    return 0;
}

/* Unlocks every area and the future ones; merges what can merge (see the header). */
void mm_unlock_all(struct mm *mm)
{
    mm->def_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    for (size_t i = 0; i < mm->vmas.n; i++)
        mm->vmas.v[i].flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    for (size_t i = mm->vmas.n; i-- > 0;)
        if (i < mm->vmas.n)
            vma_merge_around(&mm->vmas, i);
}
