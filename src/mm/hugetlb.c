/* hugetlbfs-style pages (Linux's mm/hugetlb.c in small). --hugetlb N sets aside N order-9
 * blocks of the frame pool (phys_hugetlb_init); a MAP_HUGETLB area takes its 2 MiB pages
 * from there only. A mapping promises itself one pool page for each of its 2 MiB pages at
 * mmap time (HugePages_Rsvd; mmap fails with ENOMEM when the pool cannot keep the promise)
 * unless MAP_NORESERVE; a fault that finds no page it may take gets SIGBUS. The pages are
 * FRAME_PINNED (never evicted or swapped) and are mapped as THPs are, 512 PTEs under a PDE
 * marked PDE_HUGETLB. The promise of an area's page ends when the page is faulted in or
 * the area unmapped; a fork child's copy promises nothing (Linux's HPAGE_RESV_OWNER stays
 * with the parent). A shared mapping (MAP_SHARED|MAP_HUGETLB, SHM_HUGETLB segments) maps a
 * hugetlb shmem object (hugetlb_file_create): its pages live in the page cache, 512
 * entries per pool page, so every mapping of the object maps the same page, and the
 * promises are the object's (made at creation, ended when a page is taken or the object
 * freed). Called by the fault path, mmap/munmap/mprotect/madvise, fork and SysV shm. */
#include "vmemu/hugetlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/pagecache.h"
#include "vmemu/pte.h"
#include "vmemu/vma.h"

/* Promises pages pool pages. */
int hugetlb_reserve(struct vmsys *sys, uint64_t pages)
{
    struct phys *p = &sys->phys;
    if (pages > p->hugetlb_nfree - p->hugetlb_resv)
        return -ENOMEM;
    p->hugetlb_resv += pages;
    return 0;
}

/* A new hugetlb shmem object (see the header). */
int hugetlb_file_create(struct vmsys *sys, uint64_t size, bool reserve, const char *name,
                        struct vfile **out)
{
    if (size > USER_VA_END)
        return -EINVAL;
    uint64_t pages = (size + HPAGE_SIZE - 1) / HPAGE_SIZE;
    int rc;
    if (reserve && (rc = hugetlb_reserve(sys, pages)) < 0)
        return rc;
    char *path = strdup(name);
    if (!path || (rc = vfile_shmem_create(&sys->pc, pages * HPAGE_SIZE, out)) < 0) {
        free(path);
        if (reserve)
            sys->phys.hugetlb_resv -= pages;
        return -ENOMEM;
    }
    free((*out)->path);
    (*out)->path = path;
    (*out)->hugetlb = true;
    (*out)->hugetlb_resv = reserve ? pages : 0;
    return 0;
}

struct cached_ctx {
    uint64_t below; /* page index limit */
    uint64_t pages; /* pool pages cached below it */
};

static void cached_cb(void *arg, uint64_t index, pfn_t pfn)
{
    struct cached_ctx *c = arg;
    (void)pfn;
    if (index % HPAGE_FRAMES == 0 && index < c->below)
        c->pages++;
}

/* Pool pages of object f in its page cache below 2 MiB page `below`. */
static uint64_t cached_pages(struct pagecache *pc, struct vfile *f, uint64_t below)
{
    struct cached_ctx c = {below * HPAGE_FRAMES, 0};
    pagecache_for_each(pc, f, cached_cb, &c);
    return c.pages;
}

/* Promises the pages of f below `end` (see the header). */
int hugetlb_file_promise(struct vmsys *sys, struct vfile *f, uint64_t end)
{
    uint64_t size_pages = f->shmem_size / HPAGE_SIZE;
    uint64_t pages = (end + HPAGE_SIZE - 1) / HPAGE_SIZE;
    if (pages > size_pages)
        pages = size_pages;
    uint64_t want = pages - cached_pages(&sys->pc, f, pages);
    if (want <= f->hugetlb_resv)
        return 0;
    int rc = hugetlb_reserve(sys, want - f->hugetlb_resv);
    if (rc == 0)
        f->hugetlb_resv = want;
    return rc;
}

static void drop_cb(void *arg, uint64_t index, pfn_t pfn)
{
    struct vfile *f = arg;
    (void)pfn;
    if (index >= f->shmem_size >> PAGE_SHIFT)
        pagecache_remove(f->pc, f, index);
}

/* ftruncate of a hugetlb object (see the header). */
int hugetlb_file_truncate(struct vmsys *sys, struct vfile *f, uint64_t size)
{
    if (size & (HPAGE_SIZE - 1))
        return -EINVAL;
    if (size > USER_VA_END)
        return -EFBIG;
    f->shmem_size = size;
    pagecache_for_each(&sys->pc, f, drop_cb, f);
    uint64_t pages = size / HPAGE_SIZE;
    uint64_t most = pages - cached_pages(&sys->pc, f, pages);
    if (f->hugetlb_resv > most) {
        sys->phys.hugetlb_resv -= f->hugetlb_resv - most;
        f->hugetlb_resv = most;
    }
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

/* Marks the tables of [lo, hi) that mremap filled page by page (see the header). */
void hugetlb_mark_moved(struct mm *mm, gva_t lo, gva_t hi)
{
    struct phys *p = &mm->sys->phys;
    for (gva_t haddr = lo; haddr < hi; haddr += HPAGE_SIZE) {
        pte_t *pdep = pt_lookup_pde(&mm->pt, p, haddr);
        if (!pdep || !*pdep || (*pdep & PDE_HUGETLB))
            continue;
        const pte_t *ptes = (const pte_t *)phys_hva(p, pte_pfn(*pdep));
        unsigned present = 0;
        while (present < HPAGE_FRAMES && pte_present(ptes[present]))
            present++;
        VMEMU_BUG_ON(present != 0 && present != HPAGE_FRAMES);
        if (present == 0)
            continue;
        *pdep |= PDE_HUGETLB;
        mm->stats.hugetlb_pmds++;
    }
}

/* The rules of mremap for a MAP_HUGETLB area (see the header). */
int hugetlb_remap_check(uint64_t *old_len, uint64_t *new_len, gva_t addr, gva_t new_addr,
                        bool new_place, bool dontunmap)
{
    *old_len = (*old_len + HPAGE_SIZE - 1) & HPAGE_MASK;
    *new_len = (*new_len + HPAGE_SIZE - 1) & HPAGE_MASK;
    if ((addr & (HPAGE_SIZE - 1)) || (new_place && (new_addr & (HPAGE_SIZE - 1))))
        return -EINVAL;
    if (*new_len > *old_len || dontunmap)
        return -EINVAL; /* no growing (Linux: the reservation cannot be split), DONTEXPAND */
    return 0;
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

/* Maps the block at head at the 512 empty PTEs of ptes with PTE flags `flags`; on failure
 * unmaps what it mapped and drops the references of the rest. Returns 0 or -ENOMEM. */
static int map_pool_block(struct mm *mm, gva_t haddr, pte_t *ptes, pfn_t head, uint64_t flags)
{
    for (unsigned i = 0; i < HPAGE_FRAMES; i++) {
        int rc = mm_install_page(mm, haddr + i * PAGE_SIZE, &ptes[i], head + i, flags);
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

/* The pool page of a shared area v at haddr, with one reference per frame for the
 * caller: the object's cached page, else a new one (the object's promise first) put in
 * the cache. Returns 0, -EBUSY (none left, or past the object's end) or -ENOMEM. */
static int shared_page(struct mm *mm, const struct vma *v, gva_t haddr, pfn_t *head)
{
    struct vfile *f = v->file;
    struct phys *p = &mm->sys->phys;
    struct pagecache *pc = &mm->sys->pc;
    uint64_t index = vma_pgoff(v, haddr);
    if ((index & (HPAGE_FRAMES - 1)) || index >= f->shmem_size >> PAGE_SHIFT)
        return -EBUSY; /* beyond the object: SIGBUS, as past a file's end */
    pfn_t pfn = pagecache_find(pc, f, index);
    if (!pfn) {
        bool reserved = f->hugetlb_resv > 0;
        if (!reserved && p->hugetlb_nfree <= p->hugetlb_resv)
            return -EBUSY;
        if (phys_hugetlb_alloc(p, &pfn) < 0)
            return -EBUSY;
        for (unsigned i = 0; i < HPAGE_FRAMES; i++) {
            if (pagecache_add(pc, f, index + i, pfn + i) == 0)
                continue;
            for (unsigned j = 0; j < i; j++)
                pagecache_remove(pc, f, index + j);
            for (unsigned j = i; j < HPAGE_FRAMES; j++)
                phys_put(p, pfn + j);
            return -ENOMEM;
        }
        if (reserved) {
            f->hugetlb_resv--;
            p->hugetlb_resv--;
        }
    }
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        phys_get(p, pfn + i);
    *head = pfn;
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
    bool reserved = false;
    int err = v->file ? shared_page(mm, v, haddr, &head) : take_page(p, v, &reserved, &head);
    if (err < 0)
        return err;
    /* A private mapping of an object's page (an MFD_HUGETLB memfd's): copy on write. */
    uint64_t flags = v->file && !(v->flags & VM_SHARED)
                         ? PTE_P | PTE_A | mm_prot_pte_bits(v->prot, true)
                         : page_flags(v);
    pte_t *ptes;
    int rc = pt_lookup_alloc(&mm->pt, p, haddr, &ptes);
    mm_note_pt_pages(mm);
    if (rc == 0)
        rc = map_pool_block(mm, haddr, ptes, head, flags);
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
    int rc = map_pool_block(mm, haddr, ptes, head, page_flags(v));
    if (rc < 0) {
        *pdep &= ~PDE_HUGETLB; /* the range is empty: a later fault maps it again */
        mm->stats.hugetlb_pmds--;
        return rc;
    }
    return HUGETLB_MAPPED;
}
