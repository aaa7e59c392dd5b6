/* The page-fault handler, in the shape of Linux's handle_mm_fault(): find the area (or grow
 * the stack into the access), check the access against the area's protection, then by the
 * PTE's state: none + anonymous -> zero page (read) or new zeroed frame (write); none +
 * file -> page-cache page (read from the file on a miss: a major fault; a new zeroed page
 * for shared anonymous memory), with fault-around
 * of the neighbouring cached pages on reads like Linux's do_read_fault(); present +
 * copy-on-write + write -> copy the frame, or reuse it when this is its last owner.
 * Called by mmu.c when a translation is missing or lacks a permission. */
#include "vmemu/fault.h"

#include "vmemu/abi/linux.h"
#include "vmemu/fault_around.h"
#include "vmemu/pte.h"
#include "vmemu/reclaim.h"
#include "vmemu/thp.h"

#include <errno.h>
#include <string.h>

/* Arguments of one fault (Linux's struct vm_fault). */
struct fault {
    struct mm *mm;      /* address space */
    struct vma *vma;    /* area containing va */
    gva_t addr;         /* the faulting address itself */
    gva_t va;           /* page-aligned faulting address */
    enum access access; /* read, write or fetch */
    unsigned flags;     /* FAULT_* */
    uint32_t prot;      /* the protection the page gets: the area's (widened for FAULT_DEBUG) */
    pte_t *ptep;        /* leaf PTE slot */
};

/* Words for a fault cause. */
const char *fault_cause_text(enum fault_cause cause)
{
    switch (cause) {
    case CAUSE_NONE:
        return "no fault";
    case CAUSE_NULL:
        return "NULL pointer dereference";
    case CAUSE_UNMAPPED:
        return "address not mapped";
    case CAUSE_STACK_GUARD:
        return "stack overflow: beyond the stack limit";
    case CAUSE_WRITE_RO:
        return "write to read-only memory";
    case CAUSE_EXEC_NX:
        return "execute of non-executable memory";
    case CAUSE_READ_NONE:
        return "access to PROT_NONE memory";
    case CAUSE_NONCANONICAL:
        return "address outside user space";
    case CAUSE_BEYOND_FILE:
        return "access beyond the end of the mapped file";
    case CAUSE_OOM:
        return "out of memory: no free frame, and no page could be evicted (swap full or "
               "absent, or every page locked)";
    case CAUSE_HUGETLB:
        return "no free page left in the hugetlb pool (--hugetlb) for a MAP_HUGETLB area";
    case CAUSE_SWAP_IO:
        return "the page could not be read back from swap";
    }
    return "unknown";
}

/* The counters a fault is charged to: the running task's (NULL: none). */
static struct fault_stats *fault_stats(const struct fault *f)
{
    struct task_vm_stats *t = f->mm->sys->charge;
    return t ? &t->faults : NULL;
}

/* Records a failed access (unless the flags say the caller takes the failure) and returns
 * -EFAULT, or -ENOMEM for SIGKILL (out of memory). */
static int fault_fail(const struct fault *f, int signo, int code, enum fault_cause cause)
{
    int rc = signo == LINUX_SIGKILL ? -ENOMEM : -EFAULT;
    unsigned quiet = signo == LINUX_SIGKILL ? FAULT_KERNEL | FAULT_DEBUG
                                            : FAULT_NOSIGNAL | FAULT_KERNEL | FAULT_DEBUG;
    if (f->flags & quiet)
        return rc;
    struct mm *mm = f->mm;
    mm->last_fault.va = f->addr;
    mm->last_fault.access = f->access;
    mm->last_fault.signo = signo;
    mm->last_fault.code = code;
    mm->last_fault.cause = cause;
    struct fault_stats *s = fault_stats(f);
    if (s && signo == LINUX_SIGSEGV)
        s->segv++;
    else if (s && signo == LINUX_SIGBUS)
        s->sigbus++;
    return rc;
}

static int fault_oom(const struct fault *f)
{
    if (!(f->flags & (FAULT_KERNEL | FAULT_DEBUG)))
        f->mm->oom = true;
    return fault_fail(f, LINUX_SIGKILL, 0, CAUSE_OOM);
}

/* PTE flags for the faulting page: US/NX from the protection, RW unless a copy is due. */
static uint64_t fault_pte_flags(const struct fault *f, bool cow)
{
    return PTE_P | PTE_A | mm_prot_pte_bits(f->prot, cow);
}

/* Whether stores to the area's pages must be noticed to keep the file's dirty state: a
 * shared mapping of a real file, whose clean pages are mapped without write permission so
 * that the first store faults (Linux's write-notify; shared anonymous memory has no file
 * to write back and is writable at once). */
static bool vma_write_notify(const struct vma *vma)
{
    return (vma->flags & VM_SHARED) && vma->file && !vma->file->shmem;
}

/* No area contains va: grow the stack into it, or say why the access is invalid. */
static int fault_no_vma(struct fault *f, struct vma **out)
{
    struct mm *mm = f->mm;
    gva_t va = f->addr;
    struct vma *next = vma_find(&mm->vmas, va);
    if (next && (next->flags & VM_GROWSDOWN)) {
        gva_t page = PAGE_DOWN(va);
        struct vma *prev = vma_prev(&mm->vmas, va);
        bool within_limit = next->end - page <= mm->stack_limit;
        /* Linux's stack_guard_gap, not needed below another stack or a PROT_NONE area. */
        bool gap_ok = !prev || (prev->flags & VM_GROWSDOWN) || prev->prot == 0 ||
                      prev->end + MM_STACK_GAP <= page;
        if (within_limit && gap_ok) {
            next->start = page;
            next->anon_vma = true; /* expand_downwards prepares it */
            if (!(f->flags & (FAULT_KERNEL | FAULT_DEBUG)) && fault_stats(f))
                fault_stats(f)->stack_grow++;
            uint64_t vm = mm_vm_pages(mm);
            if (vm > mm->stats.peak_vm)
                mm->stats.peak_vm = vm;
            *out = next;
            return 0;
        }
        if (next->end - page > mm->stack_limit &&
            next->end - page <= mm->stack_limit + MM_STACK_GAP + (1ULL << 20))
            return fault_fail(f, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, CAUSE_STACK_GUARD);
    }
    if (va < MM_MMAP_LOW)
        return fault_fail(f, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, CAUSE_NULL);
    return fault_fail(f, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, CAUSE_UNMAPPED);
}

static enum fault_class do_anonymous_page(struct fault *f, int *rc)
{
    struct phys *phys = &f->mm->sys->phys;
    if (f->access != ACCESS_WRITE && !f->mm->sys->no_zero_page) {
        *rc = mm_install_page(f->mm, f->va, f->ptep, phys->zero_pfn, fault_pte_flags(f, true));
        return FC_ZERO_PAGE;
    }
    pfn_t pfn;
    if ((*rc = phys_alloc(phys, true, &pfn)) < 0)
        return FC_NONE;
    /* Without the zero page a read maps the new frame as a write would (Linux's
     * do_anonymous_page: writable and dirty in a writable area), so a later store takes
     * no fault. */
    uint64_t flags = fault_pte_flags(f, false);
    *rc = mm_install_page(f->mm, f->va, f->ptep, pfn, (flags & PTE_RW) ? flags | PTE_D : flags);
    if (*rc < 0)
        phys_put(phys, pfn);
    return FC_ANON;
}

/* Gets the page-cache frame of a file page, reading it on a miss (counted as a refault
 * when reclaim had evicted it). */
static int file_get_page(struct fault *f, uint64_t index, pfn_t *pfn, bool *major)
{
    struct pagecache *pc = &f->mm->sys->pc;
    *pfn = pagecache_find(pc, f->vma->file, index);
    *major = false;
    if (*pfn)
        return 0;
    *major = true;
    if (pagecache_is_shadow(pc, f->vma->file, index) &&
        !(f->flags & (FAULT_KERNEL | FAULT_DEBUG)) && fault_stats(f))
        fault_stats(f)->file_refault++;
    return pagecache_read(pc, f->vma->file, index, pfn);
}

static enum fault_class do_file_page(struct fault *f, int *rc)
{
    struct phys *phys = &f->mm->sys->phys;
    struct vma *vma = f->vma;
    uint64_t index = vma_pgoff(vma, f->va);
    int64_t size = vfile_size(vma->file);
    if (size < 0) {
        *rc = (int)size;
        return FC_NONE;
    }
    uint64_t file_pages = PAGE_UP((uint64_t)size) >> PAGE_SHIFT;
    if (index >= file_pages) {
        *rc = fault_fail(f, LINUX_SIGBUS, LINUX_BUS_ADRERR, CAUSE_BEYOND_FILE);
        return FC_NONE;
    }
    pfn_t cached, pfn;
    bool major;
    if ((*rc = file_get_page(f, index, &cached, &major)) < 0)
        return FC_NONE;
    enum fault_class cls = major ? FC_FILE_MAJOR : FC_FILE_MINOR;
    if (vma->file->shmem && major) {
        /* Shared anonymous memory: a new zeroed page, no I/O (Linux's shmem_fault). */
        cls = FC_ANON;
        major = false;
    }
    bool shared = vma->flags & VM_SHARED;
    bool whole = fault_file_page_whole(vma, index);

    /* A read-only segment's last page shows the file's next bytes, as on Linux (whose ELF
     * loader zeroes the tail only when it can write it); a writable one gets its tail
     * zeroed in a private copy. */
    bool tail_ok = whole || !(f->prot & VM_WRITE);
    if (shared || (tail_ok && f->access != ACCESS_WRITE)) {
        /* Map the cached frame itself: shared, or private until the first write. */
        struct fault_around around = {0};
        if (f->access != ACCESS_WRITE)
            fault_around_range(f->mm, vma, f->va, index, file_pages, &around);
        phys_get(phys, cached);
        uint64_t flags = fault_pte_flags(f, !shared) | (around.pmd ? PTE_PMDMAP : 0);
        if (f->access == ACCESS_WRITE)
            flags |= PTE_D;
        else if (vma_write_notify(vma))
            flags &= ~PTE_RW;
        if ((*rc = mm_install_page(f->mm, f->va, f->ptep, cached, flags)) < 0) {
            phys_put(phys, cached);
            return FC_NONE;
        }
        if (f->access != ACCESS_WRITE) {
            phys_get(phys, cached); /* reading around must not evict the page itself */
            uint64_t around_flags = fault_pte_flags(f, !shared) & ~PTE_A;
            if (vma_write_notify(vma))
                around_flags &= ~PTE_RW;
            fault_around_map(f->mm, vma, f->va, &around, around_flags, file_pages, major);
            phys_put(phys, cached);
        }
        return cls;
    }
    /* A private copy: a write (Linux's do_cow_fault) or the page where the file data of
     * an ELF segment ends and its zero fill begins. The cached frame is held while the
     * copy's frame is allocated (which may evict pages). */
    phys_get(phys, cached);
    *rc = phys_alloc(phys, false, &pfn);
    if (*rc < 0) {
        phys_put(phys, cached);
        return FC_NONE;
    }
    uint64_t keep = PAGE_SIZE;
    if (!whole)
        keep = vma->file_end > index * PAGE_SIZE ? vma->file_end - index * PAGE_SIZE : 0;
    memcpy(phys_hva(phys, pfn), phys_hva(phys, cached), keep);
    memset((uint8_t *)phys_hva(phys, pfn) + keep, 0, PAGE_SIZE - keep);
    phys_put(phys, cached);
    uint64_t flags = fault_pte_flags(f, false);
    if (f->access == ACCESS_WRITE)
        flags |= PTE_D;
    if ((*rc = mm_install_page(f->mm, f->va, f->ptep, pfn, flags)) < 0) {
        phys_put(phys, pfn);
        return FC_NONE;
    }
    return cls;
}

/* A write to a present page without write permission in a writable area (Linux's
 * do_wp_page): copy the frame, or take it over when nobody else maps it. */
static enum fault_class do_wp_page(struct fault *f, int *rc)
{
    struct phys *phys = &f->mm->sys->phys;
    pte_t old = *f->ptep;
    pfn_t oldpfn = pte_pfn(old);
    struct frame *fr = phys_frame(phys, oldpfn);
    uint64_t flags = fault_pte_flags(f, false) | PTE_D;

    if (old & PTE_COW) { /* maybe a huge page's: see thp_wp_fault */
        int t = thp_wp_fault(f->mm, f->vma, f->va, (f->flags & FAULT_DEBUG) != 0);
        *rc = t == -EBUSY ? fault_fail(f, LINUX_SIGBUS, LINUX_BUS_ADRERR, CAUSE_HUGETLB)
                          : (t < 0 ? t : 0);
        if (t < 0 || t == THP_FAULT_HUGE || t == THP_FAULT_HUGETLB || t == THP_FAULT_REUSE)
            return t == THP_FAULT_HUGE      ? FC_THP
                   : t == THP_FAULT_HUGETLB ? FC_HUGETLB
                   : t == THP_FAULT_REUSE   ? FC_COW_REUSE
                                            : FC_NONE;
    }
    if (!(old & PTE_COW)) {
        /* Writable area, page not marked for copy: a clean page of a shared file mapping
         * (write-notify: it becomes dirty now), or only the permission was missing. A page
         * of a PMD-mapped folio takes its whole block along, as one PMD fault does. */
        mm_set_pte(f->mm, f->va, f->ptep, pte_make(oldpfn, flags | (old & PTE_PMDMAP)));
        if ((old & PTE_PMDMAP) && vma_write_notify(f->vma))
            fault_pmd_make_writable(f->mm, f->vma, f->va, flags);
        *rc = 0;
        return vma_write_notify(f->vma) ? FC_SHARED_WRITE : FC_NONE;
    }
    if (old & PTE_PMDMAP)
        fault_pmd_split(f->mm, f->vma, f->va);
    struct swap_area *sw = &f->mm->sys->swap;
    if ((fr->flags & FRAME_SWAPCACHE) && fr->refcount == 2 && swap_count(sw, fr->index) == 1)
        swap_cache_del(sw, phys, oldpfn); /* only this PTE and the cache: take it over */
    if (oldpfn != phys->zero_pfn && !(fr->flags & (FRAME_PAGECACHE | FRAME_SWAPCACHE)) &&
        fr->refcount == 1) {
        mm_set_pte(f->mm, f->va, f->ptep, pte_make(oldpfn, flags));
        *rc = 0;
        return FC_COW_REUSE;
    }
    /* Copy: the old frame is held while the new one is allocated (which may evict). */
    pfn_t pfn;
    if (oldpfn != phys->zero_pfn)
        phys_get(phys, oldpfn);
    *rc = phys_alloc(phys, false, &pfn);
    if (*rc == 0)
        memcpy(phys_hva(phys, pfn), phys_hva(phys, oldpfn), PAGE_SIZE);
    if (oldpfn != phys->zero_pfn)
        phys_put(phys, oldpfn);
    if (*rc < 0)
        return FC_NONE;
    if ((*rc = phys_rmap_add(phys, pfn, f->mm, f->va)) < 0) {
        phys_put(phys, pfn);
        return FC_NONE;
    }
    mm_set_pte(f->mm, f->va, f->ptep, pte_make(pfn, flags));
    f->vma->anon_vma = true; /* wp_page_copy prepares it */
    if (oldpfn != phys->zero_pfn) {
        phys_rmap_del(phys, oldpfn, f->mm, f->va);
        swap_put_page(sw, phys, oldpfn);
    } else if (++f->mm->stats.rss > f->mm->stats.peak_rss) {
        f->mm->stats.peak_rss = f->mm->stats.rss;
    }
    return FC_COW;
}

/* A swap entry (Linux's do_swap_page): the page comes from the swap cache when another
 * owner already read it back (minor), else from its slot into a new frame that joins the
 * swap cache (major). A page that nobody else shares is mapped writable, and on a write
 * fault leaves the swap cache at once (its swap copy is stale); a shared one is mapped
 * copy-on-write. */
static enum fault_class do_swap_page(struct fault *f, int *rc)
{
    struct phys *phys = &f->mm->sys->phys;
    struct swap_area *sw = &f->mm->sys->swap;
    uint64_t slot = pte_swap_slot(*f->ptep);
    enum fault_class cls = FC_SWAP_CACHE;
    pfn_t pfn = swap_cache_find(sw, slot);
    if (pfn) {
        phys_get(phys, pfn);
    } else {
        /* Allocation may evict other pages, never this entry: reclaim leaves swap
         * entries alone and the slot is held by the PTE. */
        if ((*rc = phys_alloc(phys, false, &pfn)) < 0)
            return FC_NONE;
        if (swap_read(sw, slot, phys_hva(phys, pfn)) < 0) {
            phys_put(phys, pfn);
            *rc = fault_fail(f, LINUX_SIGBUS, LINUX_BUS_ADRERR, CAUSE_SWAP_IO);
            return FC_NONE;
        }
        swap_cache_add(sw, phys, slot, pfn);
        cls = FC_SWAP_IN;
    }
    /* Exclusive: this PTE is the slot's only user besides the cache, and nobody maps it. */
    bool exclusive = swap_count(sw, slot) == 2 && phys_frame(phys, pfn)->refcount == 2;
    uint64_t flags = fault_pte_flags(f, !exclusive);
    if (exclusive && f->access == ACCESS_WRITE)
        flags |= PTE_D;
    pte_t entry = *f->ptep;
    mm_set_pte(f->mm, f->va, f->ptep, 0);
    if ((*rc = mm_install_page(f->mm, f->va, f->ptep, pfn, flags)) < 0) {
        mm_set_pte(f->mm, f->va, f->ptep, entry);
        swap_put_page(sw, phys, pfn);
        return FC_NONE;
    }
    swap_free(sw, slot); /* the PTE's reference to the slot */
    if (exclusive && f->access == ACCESS_WRITE)
        swap_cache_del(sw, phys, pfn);
    if (!exclusive && f->access == ACCESS_WRITE) {
        /* Still shared (another owner's swap entry, or another mapping): the write copies
         * now, in the same fault, as Linux's do_swap_page calls do_wp_page. */
        do_wp_page(f, rc);
        if (*rc < 0)
            return FC_NONE;
    }
    return cls;
}

static void fault_count(const struct fault *f, enum fault_class cls)
{
    struct fault_stats *s = fault_stats(f);
    if (!s || (f->flags & FAULT_DEBUG))
        return;
    if (f->flags & FAULT_KERNEL) {
        s->populate += cls != FC_NONE;
        return;
    }
    if (cls != FC_NONE) {
        struct vmsys *sys = f->mm->sys;
        sys->fault_seq++;
        if (sys->on_fault.faulted)
            sys->on_fault.faulted(sys->on_fault.ctx, f->mm, f->addr, cls);
    }
    switch (cls) {
    case FC_ZERO_PAGE:
        s->zero_page++;
        s->minor++;
        break;
    case FC_ANON:
        s->anon++;
        s->minor++;
        break;
    case FC_FILE_MINOR:
        s->file_minor++;
        s->minor++;
        break;
    case FC_FILE_MAJOR:
        s->file_major++;
        s->major++;
        break;
    case FC_COW:
        s->cow++;
        s->minor++;
        break;
    case FC_COW_REUSE:
        s->cow_reuse++;
        s->minor++;
        break;
    case FC_SHARED_WRITE:
        s->shared_write++;
        s->minor++;
        break;
    case FC_SWAP_IN:
        s->swap_in++;
        s->major++;
        break;
    case FC_SWAP_CACHE:
        s->swap_cache++;
        s->minor++;
        break;
    case FC_THP:
        s->thp++;
        s->minor++;
        break;
    case FC_HUGETLB:
        s->hugetlb++;
        s->minor++;
        break;
    case FC_NONE:
        return;
    }
    struct vmsys *sys = f->mm->sys; /* fault_seq already counts this fault */
    if (sys->fault_seq == sys->tick.at && sys->tick.fn)
        sys->tick.fn(sys->tick.ctx);
}

/* Resolves a fault at va for `access`, taken as flags says. Returns 0 when the PTE now
 * allows the access, -EFAULT for an invalid access (mm->last_fault filled, counted),
 * -ENOMEM when no frame is left (last_fault says CAUSE_OOM). */
int mm_fault(struct mm *mm, gva_t va, enum access access, unsigned flags)
{
    return mm_fault_pte(mm, va, access, flags, NULL);
}

/* mm_fault with the leaf PTE slot in and out (see the header). */
int mm_fault_pte(struct mm *mm, gva_t va, enum access access, unsigned flags, pte_t **ptepp)
{
    struct fault f = {.mm = mm, .addr = va, .va = PAGE_DOWN(va), .access = access, .flags = flags};
    int rc;

    reclaim_fault_begin(mm->sys->reclaim);
    if (va >= USER_VA_END)
        return fault_fail(&f, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, CAUSE_NONCANONICAL);
    f.vma = vma_lookup(&mm->vmas, va);
    if (!f.vma && (rc = fault_no_vma(&f, &f.vma)) < 0)
        return rc;
    uint32_t prot = f.vma->prot;
    if (flags & FAULT_DEBUG)
        prot |= VM_READ | (access == ACCESS_WRITE ? VM_WRITE : 0);
    f.prot = prot;
    if (prot == 0)
        return fault_fail(&f, LINUX_SIGSEGV, LINUX_SEGV_ACCERR, CAUSE_READ_NONE);
    if (access == ACCESS_WRITE && !(prot & VM_WRITE))
        return fault_fail(&f, LINUX_SIGSEGV, LINUX_SEGV_ACCERR, CAUSE_WRITE_RO);
    if (access == ACCESS_EXEC && !(prot & VM_EXEC))
        return fault_fail(&f, LINUX_SIGSEGV, LINUX_SEGV_ACCERR, CAUSE_EXEC_NX);

    enum fault_class cls = FC_NONE;
    if (!(ptepp && *ptepp) && (!f.vma->file || (f.vma->flags & VM_HUGETLB))) {
        /* No page table under va: maybe a huge page (Linux's pmd_none case), or a page
         * of the hugetlb pool (SIGBUS when none is left; a shared area's: its object's). */
        rc = thp_anon_fault(mm, f.vma, f.va, access, (flags & FAULT_DEBUG) != 0, &f.ptep);
        if (rc == -EBUSY)
            return fault_fail(&f, LINUX_SIGBUS, LINUX_BUS_ADRERR, CAUSE_HUGETLB);
        if (rc < 0)
            return fault_oom(&f);
        if (rc != THP_FAULT_NONE) {
            cls = rc == THP_FAULT_HUGE ? FC_THP : rc == THP_FAULT_ZERO ? FC_ZERO_PAGE : FC_HUGETLB;
            rc = 0;
            goto done;
        }
    }
    if (ptepp && *ptepp) {
        f.ptep = *ptepp; /* the caller's walk found the slot: no second walk */
    } else {
        rc = pt_lookup_alloc(&mm->pt, &mm->sys->phys, f.va, &f.ptep);
        mm_note_pt_pages(mm); /* tables allocated before a failure count too */
        if (rc < 0)
            return fault_oom(&f);
    }

    rc = 0;
    if (pte_none(*f.ptep)) {
        if (f.vma->file)
            cls = do_file_page(&f, &rc);
        else
            cls = do_anonymous_page(&f, &rc);
    } else if (pte_present(*f.ptep) && access == ACCESS_WRITE && !(*f.ptep & PTE_RW)) {
        cls = do_wp_page(&f, &rc);
    } else if (pte_is_swap(*f.ptep)) {
        cls = do_swap_page(&f, &rc);
    }
    if (rc == -ENOMEM)
        return fault_oom(&f);
    if (rc < 0)
        return rc;
done:
    fault_count(&f, cls);
    if (ptepp)
        *ptepp = f.ptep;
    return 0;
}
