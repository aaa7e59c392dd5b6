/* hugetlbfs-style pages (Linux's mm/hugetlb.c in small). --hugetlb N sets aside N order-9
 * blocks of the frame pool (phys_hugetlb_init); a MAP_HUGETLB area takes its 2 MiB pages
 * from there only. A mapping promises itself one pool page for each of its 2 MiB pages at
 * mmap time (HugePages_Rsvd; mmap fails with ENOMEM when the pool cannot keep the promise)
 * unless MAP_NORESERVE; a fault that finds no page it may take gets SIGBUS. The pages are
 * FRAME_PINNED (never evicted or swapped) and are mapped as THPs are, 512 PTEs under a PDE
 * marked PDE_HUGETLB. The promise of an area's page ends when the page is faulted in or
 * the area unmapped; a fork child's copy promises nothing (Linux's HPAGE_RESV_OWNER stays
 * with the parent). Called by the fault path, mmap/munmap/mprotect/madvise and fork. */
#include "vmemu/hugetlb.h"

#include <errno.h>
#include <string.h>

#include "vmemu/pte.h"

/* Promises pages pool pages. */
int hugetlb_reserve(struct vmsys *sys, uint64_t pages)
{
    struct phys *p = &sys->phys;
    if (pages > p->hugetlb_nfree - p->hugetlb_resv)
        return -ENOMEM;
    p->hugetlb_resv += pages;
    return 0;
}

struct count_ctx {
    gva_t lo, hi;    /* range asked about */
    uint64_t mapped; /* PDE_HUGETLB tables inside it */
};

static void count_cb(void *arg, gva_t va, pte_t *pdep)
{
    struct count_ctx *c = arg;
    if ((*pdep & PDE_HUGETLB) && va >= c->lo && va + HPAGE_SIZE <= c->hi)
        c->mapped++;
}

/* Mapped pool pages of [lo, hi). */
static uint64_t mapped_pages(struct mm *mm, gva_t lo, gva_t hi)
{
    struct count_ctx c = {lo, hi, 0};
    if (mm->stats.hugetlb_pmds)
        pt_for_each_pde(&mm->pt, &mm->sys->phys, lo & HPAGE_MASK, hi, count_cb, &c);
    return c.mapped;
}

/* Ends the promises of v's unmapped pages in [lo, hi). */
void hugetlb_unreserve(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi)
{
    if (!(v->flags & VM_HUGETLB_RESV))
        return;
    uint64_t pages = ((hi + HPAGE_SIZE - 1) / HPAGE_SIZE) - lo / HPAGE_SIZE;
    uint64_t mapped = mapped_pages(mm, lo, hi);
    struct phys *p = &mm->sys->phys;
    uint64_t gone = pages > mapped ? pages - mapped : 0;
    p->hugetlb_resv = gone < p->hugetlb_resv ? p->hugetlb_resv - gone : 0;
}

/* Renews the promises of v's mapped pages in [lo, hi), which MADV_DONTNEED drops. */
void hugetlb_rereserve(struct mm *mm, const struct vma *v, gva_t lo, gva_t hi)
{
    if (v->flags & VM_HUGETLB_RESV)
        mm->sys->phys.hugetlb_resv += mapped_pages(mm, lo, hi);
}

/* -EINVAL when addr lies strictly inside a MAP_HUGETLB area, off a 2 MiB boundary. */
int hugetlb_check_cut(const struct mm *mm, gva_t addr)
{
    const struct vma *v = vma_lookup(&mm->vmas, addr);
    if (v && (v->flags & VM_HUGETLB) && v->start < addr && (addr & (HPAGE_SIZE - 1)))
        return -EINVAL;
    return 0;
}

/* Takes a pool page for area v: its promise when it has one, else a page nobody was
 * promised. Returns 0 or -EBUSY. */
static int take_page(struct phys *p, const struct vma *v, bool *reserved, pfn_t *head)
{
    *reserved = (v->flags & VM_HUGETLB_RESV) && p->hugetlb_resv > 0;
    if (!*reserved && p->hugetlb_nfree <= p->hugetlb_resv)
        return -EBUSY;
    if (phys_hugetlb_alloc(p, head) < 0)
        return -EBUSY;
    if (*reserved)
        p->hugetlb_resv--;
    return 0;
}

/* PTE flags of a pool page: present, accessed, writable and dirty in a writable area. */
static uint64_t page_flags(const struct vma *v)
{
    uint64_t flags = PTE_P | PTE_A | mm_prot_pte_bits(v->prot, false);
    return (flags & PTE_RW) ? flags | PTE_D : flags;
}

/* Maps the block at head at the 512 empty PTEs of ptes; on failure unmaps what it mapped
 * and drops the references of the rest. Returns 0 or -ENOMEM. */
static int map_pool_block(struct mm *mm, const struct vma *v, gva_t haddr, pte_t *ptes, pfn_t head)
{
    for (unsigned i = 0; i < HPAGE_FRAMES; i++) {
        int rc = mm_install_page(mm, haddr + i * PAGE_SIZE, &ptes[i], head + i, page_flags(v));
        if (rc < 0) {
            for (unsigned j = i; j < HPAGE_FRAMES; j++)
                phys_put(&mm->sys->phys, head + j);
            while (i-- > 0)
                mm_zap_page(mm, haddr + i * PAGE_SIZE, &ptes[i]);
            return rc;
        }
    }
    return 0;
}

/* A fault with no page table under va in a MAP_HUGETLB area. */
int hugetlb_fault(struct mm *mm, const struct vma *v, gva_t va, pte_t **ptepp)
{
    struct phys *p = &mm->sys->phys;
    gva_t haddr = va & HPAGE_MASK;
    pte_t *pdep = pt_lookup_pde(&mm->pt, p, haddr);
    if (pdep && *pdep)
        return HUGETLB_NONE;
    pfn_t head;
    bool reserved;
    if (take_page(p, v, &reserved, &head) < 0)
        return -EBUSY;
    pte_t *ptes;
    int rc = pt_lookup_alloc(&mm->pt, p, haddr, &ptes);
    mm_note_pt_pages(mm);
    if (rc == 0)
        rc = map_pool_block(mm, v, haddr, ptes, head);
    else
        for (unsigned j = 0; j < HPAGE_FRAMES; j++)
            phys_put(p, head + j);
    if (rc < 0) {
        p->hugetlb_resv += reserved;
        return rc;
    }
    *pt_lookup_pde(&mm->pt, p, haddr) |= PDE_HUGETLB;
    mm->stats.hugetlb_pmds++;
    *ptepp = &ptes[(va - haddr) >> PAGE_SHIFT];
    return HUGETLB_MAPPED;
}

/* A write to a copy-on-write PTE in a MAP_HUGETLB area. */
int hugetlb_wp_fault(struct mm *mm, const struct vma *v, gva_t va)
{
    struct phys *p = &mm->sys->phys;
    gva_t haddr = va & HPAGE_MASK;
    pte_t *pdep = pt_lookup_pde(&mm->pt, p, haddr);
    if (!pdep || !(*pdep & PDE_HUGETLB))
        return HUGETLB_NONE;
    pte_t *ptes = (pte_t *)phys_hva(p, pte_pfn(*pdep));
    pfn_t old = pte_pfn(ptes[0]);
    bool exclusive = true;
    for (unsigned i = 0; exclusive && i < HPAGE_FRAMES; i++)
        exclusive = phys_frame(p, old + i)->refcount == 1;
    if (exclusive) {
        for (unsigned i = 0; i < HPAGE_FRAMES; i++)
            mm_set_pte(mm, haddr + i * PAGE_SIZE, &ptes[i], pte_make(old + i, page_flags(v)));
        return HUGETLB_REUSED;
    }
    /* A fork child's copy promised nothing: the copy takes a page nobody was promised. */
    struct vma unreserved = *v;
    unreserved.flags &= ~VM_HUGETLB_RESV;
    pfn_t head;
    bool reserved;
    if (take_page(p, &unreserved, &reserved, &head) < 0)
        return -EBUSY;
    memcpy(phys_hva(p, head), phys_hva(p, old), HPAGE_SIZE);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        mm_zap_page(mm, haddr + i * PAGE_SIZE, &ptes[i]);
    int rc = map_pool_block(mm, v, haddr, ptes, head);
    if (rc < 0) {
        *pdep &= ~PDE_HUGETLB; /* the range is empty: a later fault maps it again */
        mm->stats.hugetlb_pmds--;
        return rc;
    }
    return HUGETLB_MAPPED;
}
