/* Copying an address space for fork (Linux's dup_mmap and copy_page_range): the areas are
 * copied, and the page-table entries of the areas that hold anonymous pages (an anon_vma:
 * Linux's vma_needs_copy) are copied into the child's tables, every mapped frame shared.
 * The other areas (program text and read-only data never written, shared mappings) start
 * empty in the child, whose first touches fault the pages back in from the page cache
 * (with fault-around), as after exec. Pages of private areas become copy-on-write on both
 * sides, so that the first write of either copies the frame (or keeps it, when the writer
 * is its last owner: see do_wp_page in src/mm/fault.c). Also counts pages shared with
 * other address spaces for the report. Called by proc_fork (src/proc/proc.c). */
#include <errno.h>
#include <string.h>

#include "vmemu/mm.h"
#include "vmemu/thp.h"

/* Private areas copy on write: Linux's is_cow_mapping (VM_MAYWRITE is implied). */
static bool vma_is_cow(const struct vma *v)
{
    return !(v->flags & VM_SHARED);
}

struct dup_ctx {
    struct mm *parent;     /* the address space being copied */
    struct mm *child;      /* the copy */
    const struct vma *vma; /* the area being copied */
    int rc;                /* first error (-ENOMEM) */
};

/* One PTE of the parent: the child gets the same mapping. */
static void dup_pte(void *arg, gva_t va, pte_t *ptep)
{
    struct dup_ctx *c = arg;
    struct phys *phys = &c->parent->sys->phys;
    pte_t *cptep;
    if (c->rc < 0)
        return;
    /* The child's table page first: its allocation may evict, and so change *ptep. */
    if ((c->rc = pt_lookup_alloc(&c->child->pt, phys, va, &cptep)) < 0)
        return;
    pte_t pte = *ptep;
    if (pte_none(pte))
        return;
    if (pte_is_swap(pte)) {
        swap_dup(&c->parent->sys->swap, pte_swap_slot(pte));
        *cptep = pte;
        c->child->stats.swap_ptes++;
        return;
    }
    if (vma_is_cow(c->vma) && (pte & PTE_RW)) {
        pte = (pte & ~PTE_RW) | PTE_COW;
        mm_set_pte(c->parent, va, ptep, pte);
    } else if (vma_is_cow(c->vma) && (c->vma->prot & VM_WRITE) == 0 && !(pte & PTE_COW)) {
        /* A private page now read-only (mprotect): mprotect back to writable must not
         * hand the shared frame to one side only. */
        pte |= PTE_COW;
        mm_set_pte(c->parent, va, ptep, pte);
    }
    pte_t cpte = pte & ~PTE_A;
    if (!vma_is_cow(c->vma))
        cpte &= ~PTE_D; /* the dirty state stays with the parent's mapping */
    pfn_t pfn = pte_pfn(pte);
    if (pfn != phys->zero_pfn) {
        if ((c->rc = phys_rmap_add(phys, pfn, c->child, va)) < 0)
            return;
        phys_get(phys, pfn);
        if (++c->child->stats.rss > c->child->stats.peak_rss)
            c->child->stats.peak_rss = c->child->stats.rss;
        c->child->stats.fork_cow +=
            vma_is_cow(c->vma) && !(phys_frame(phys, pfn)->flags & FRAME_PAGECACHE);
    }
    *cptep = cpte;
}

/* Whether fork copies the page-table entries of parent area v (Linux's vma_needs_copy):
 * only an area with anonymous pages, whose contents a fault could not rebuild. Shared
 * mappings never get an anon_vma. */
bool mm_fork_needs_copy(const struct vma *v)
{
    return v->anon_vma && !(v->flags & VM_SHARED);
}

/* A copy of parent for a fork child: every area but VM_DONTCOPY ones, with the entries
 * of those mm_fork_needs_copy() picks; a VM_WIPEONFORK area starts empty and without
 * anon_vma. */
int mm_dup(struct mm *parent, struct mm **out)
{
    struct mm *child;
    int rc = mm_create(parent->sys, &child);
    if (rc < 0)
        return rc;
    child->start_brk = parent->start_brk;
    child->brk = parent->brk;
    child->mmap_base = parent->mmap_base;
    child->stack_top = parent->stack_top;
    child->stack_limit = parent->stack_limit;
    child->def_flags = 0; /* mlockall(MCL_FUTURE) is not inherited */
    for (size_t i = 0; i < parent->vmas.n && rc == 0; i++) {
        struct vma v = parent->vmas.v[i];
        if (v.flags & VM_DONTCOPY)
            continue;
        v.flags &= ~(VM_LOCKED | VM_LOCKONFAULT); /* memory locks are not inherited */
        v.flags &= ~VM_HUGETLB_RESV;              /* hugetlb promises stay with the parent */
        if (v.flags & VM_WIPEONFORK)
            v.anon_vma = false; /* dup_mmap: the child's area starts over */
        if ((rc = vma_insert(&child->vmas, &v)) < 0)
            break;
        if ((v.flags & VM_WIPEONFORK) || !mm_fork_needs_copy(&v))
            continue;
        struct dup_ctx c = {parent, child, &parent->vmas.v[i], 0};
        pt_for_each(&parent->pt, &parent->sys->phys, v.start, v.end, dup_pte, &c);
        rc = c.rc;
    }
    if (rc == 0)
        thp_fork(parent, child); /* the child maps the same huge pages as huge pages */
    mm_note_pt_pages(child);
    if (child->stats.peak_vm < mm_vm_pages(child))
        child->stats.peak_vm = mm_vm_pages(child);
    if (rc < 0) {
        mm_destroy(child);
        return rc;
    }
    *out = child;
    return 0;
}

struct shared_ctx {
    const struct phys *phys; /* the pool */
    uint64_t n;              /* pages found shared */
};

static void count_shared(void *arg, gva_t va, pte_t *ptep)
{
    struct shared_ctx *c = arg;
    (void)va;
    if (pte_present(*ptep) && pte_pfn(*ptep) != c->phys->zero_pfn &&
        phys_mapcount(c->phys, pte_pfn(*ptep)) > 1)
        c->n++;
}

/* Pages whose frame is mapped by another address space too. */
uint64_t mm_shared_pages(const struct mm *mm)
{
    struct shared_ctx c = {&mm->sys->phys, 0};
    pt_for_each(&mm->pt, &mm->sys->phys, 0, USER_VA_END, count_shared, &c);
    return c.n;
}

static void count_cow_shared(void *arg, gva_t va, pte_t *ptep)
{
    struct shared_ctx *c = arg;
    (void)va;
    if (pte_present(*ptep) && (*ptep & PTE_COW) && pte_pfn(*ptep) != c->phys->zero_pfn &&
        !(phys_frame(c->phys, pte_pfn(*ptep))->flags & FRAME_PAGECACHE) &&
        phys_mapcount(c->phys, pte_pfn(*ptep)) > 1)
        c->n++;
}

/* Anonymous pages still copy-on-write whose frame another address space maps too. */
uint64_t mm_cow_shared_pages(const struct mm *mm)
{
    struct shared_ctx c = {&mm->sys->phys, 0};
    pt_for_each(&mm->pt, &mm->sys->phys, 0, USER_VA_END, count_cow_shared, &c);
    return c.n;
}

struct unshare_ctx {
    struct mm *mm; /* the space whose pages change */
    int rc;        /* first error */
};

/* The child's copy-on-write page gets its own frame now, with the same permissions made
 * writable. */
static void unshare_child_cb(void *arg, gva_t va, pte_t *ptep)
{
    struct unshare_ctx *c = arg;
    struct phys *phys = &c->mm->sys->phys;
    pte_t old = *ptep;
    if (c->rc < 0 || !pte_present(old) || !(old & PTE_COW))
        return;
    pfn_t pfn;
    if ((c->rc = phys_alloc(phys, false, &pfn)) < 0)
        return;
    memcpy(phys_hva(phys, pfn), phys_hva(phys, pte_pfn(old)), PAGE_SIZE);
    uint64_t flags = (old & ~PTE_PFN_MASK & ~PTE_COW) | PTE_RW | PTE_A | PTE_D;
    mm_zap_page(c->mm, va, ptep);
    c->rc = mm_install_page(c->mm, va, NULL, pfn, flags);
    if (c->rc < 0)
        phys_put(phys, pfn);
}

/* The parent's page is its own again: writable, no longer copy-on-write. */
static void unshare_parent_cb(void *arg, gva_t va, pte_t *ptep)
{
    struct unshare_ctx *c = arg;
    if (pte_present(*ptep) && (*ptep & PTE_COW))
        mm_set_pte(c->mm, va, ptep, (*ptep & ~PTE_COW) | PTE_RW);
}

/* Copies the shared pages of [start, end) into child at once (see the header). */
int mm_fork_unshare(struct mm *parent, struct mm *child, gva_t start, gva_t end)
{
    struct unshare_ctx c = {child, 0};
    pt_for_each(&child->pt, &child->sys->phys, start, end, unshare_child_cb, &c);
    if (c.rc < 0)
        return c.rc;
    c.mm = parent;
    pt_for_each(&parent->pt, &parent->sys->phys, start, end, unshare_parent_cb, &c);
    return 0;
}
