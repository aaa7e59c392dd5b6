/* mremap(): shrinking, growing in place and moving areas, with the rules, checks and errors
 * of Linux 6.18's mm/mremap.c (DONTUNMAP on every kind of area as since 5.13; several areas
 * moved at once by FIXED without a resize as since 6.17). A move takes the PTEs out of the
 * old page-table slots and puts them, unchanged, in the new ones: frames are never copied,
 * rss stays the same, only the reverse-map entries change their address. Everything that
 * can fail (table pages, reverse-map entries, the new area) is prepared before the first
 * PTE moves, so a failed move changes nothing. Called by the mremap syscall (sys_mm.c). */
#include "vmemu/hugetlb.h"
#include "vmemu/mm.h"
#include "vmemu/thp.h"

#include "vmemu/gup.h"

#include <errno.h>
#include <stdlib.h>

#define MREMAP_ALL (MM_MREMAP_MAYMOVE | MM_MREMAP_FIXED | MM_MREMAP_DONTUNMAP)

/* One mremap request as it goes through the checks (Linux's struct vma_remap_struct). */
struct remap {
    struct mm *mm;    /* address space */
    gva_t addr;       /* start of the source range */
    uint64_t old_len; /* source length (0: duplicate a shared area) */
    uint64_t new_len; /* length wanted */
    unsigned flags;   /* MM_MREMAP_* */
    gva_t new_addr;   /* destination: the caller's (FIXED, DONTUNMAP hint) or chosen */
    bool populate;    /* a VM_LOCKED area grew: fault the new part in at the end */
};

/* One source PTE to move. */
struct pte_move {
    gva_t va;   /* source address */
    pte_t *src; /* source slot */
    pte_t *dst; /* destination slot (allocated before anything moves) */
};

/* The source PTEs of a move (every non-none PTE of the source range). */
struct pte_moves {
    struct pte_move *v; /* entries in address order */
    size_t n;           /* entries used */
    size_t cap;         /* entries allocated */
    bool oom;           /* growing the array failed */
};

static bool implies_new_addr(const struct remap *r)
{
    return (r->flags & (MM_MREMAP_FIXED | MM_MREMAP_DONTUNMAP)) != 0;
}

static gva_t min_gva(gva_t a, gva_t b)
{
    return a < b ? a : b;
}

/* Whether [a, a+alen) and [b, b+blen) intersect (an empty source counts at its start, as
 * Linux's vrm_overlaps does). */
static bool ranges_overlap(gva_t a, uint64_t alen, gva_t b, uint64_t blen)
{
    return a + alen > b && b + blen > a;
}

/* The checks that need no area (Linux's check_mremap_params), in Linux's order. */
static int check_params(const struct remap *r)
{
    if (r->flags & ~MREMAP_ALL)
        return -EINVAL;
    if (r->addr & ~PAGE_MASK)
        return -EINVAL;
    /* The syscall rounds the lengths up; anything else is a caller bug, refused alike. */
    if ((r->old_len & ~PAGE_MASK) || (r->new_len & ~PAGE_MASK))
        return -EINVAL;
    if (r->new_len == 0 || r->new_len > USER_VA_END)
        return -EINVAL;
    if (!implies_new_addr(r))
        return 0;
    if (r->new_addr > USER_VA_END - r->new_len || (r->new_addr & ~PAGE_MASK))
        return -EINVAL;
    if (!(r->flags & MM_MREMAP_MAYMOVE))
        return -EINVAL;
    if ((r->flags & MM_MREMAP_DONTUNMAP) && r->old_len != r->new_len)
        return -EINVAL;
    if (ranges_overlap(r->addr, r->old_len, r->new_addr, r->new_len))
        return -EINVAL;
    return 0;
}

/* The checks against the area v that contains r->addr (Linux's check_prep_vma). Shrinking
 * and keeping the size in place need nothing more than the area; growing and moving need
 * the source inside it. Sets r->populate for a locked area that grows. */
static int check_area(struct remap *r, const struct vma *v)
{
    if (!v)
        return -EFAULT;
    if (r->new_len <= r->old_len && !implies_new_addr(r))
        return 0;
    /* Only a shared area can be duplicated: a private one would give unrelated pages. */
    if (r->old_len == 0 && !(v->flags & VM_SHARED))
        return -EINVAL;
    /* A shrink may unmap past the area; only the part that stays must be inside it. */
    uint64_t kept = r->old_len > r->new_len ? r->new_len : r->old_len;
    if (kept > v->end - r->addr)
        return -EFAULT;
    if (r->new_len <= kept)
        return 0;
    /* mlock(MLOCK_ONFAULT) areas are not populated, as Linux's populate skips them. */
    if ((v->flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED)
        r->populate = true;
    uint64_t pgoff = vma_pgoff(v, r->addr);
    if (pgoff + (r->new_len >> PAGE_SHIFT) < pgoff)
        return -EINVAL;
    return 0;
}

/* The kind of a moved area. Linux names [heap] and [stack] by address (the brk range, the
 * stack pointer at exec), so a heap, stack or bss area that moves becomes a plain
 * anonymous area (it keeps VM_GROWSDOWN, a property of the area); a program-image area
 * becomes a plain file mapping, since its address no longer matches the ELF's segments.
 * Areas resized in place and the area DONTUNMAP leaves behind keep their kind. */
static enum vma_kind moved_kind(enum vma_kind kind)
{
    switch (kind) {
    case VMA_HEAP:
    case VMA_STACK:
    case VMA_BSS:
    case VMA_CHECKER: /* the guest moved the heap checker's memory: plain memory now */
        return VMA_ANON;
    case VMA_IMAGE:
        return VMA_FILE;
    case VMA_ANON:
    case VMA_FILE:
        break;
    }
    return kind;
}

static void gather_cb(void *ctx, gva_t va, pte_t *ptep)
{
    struct pte_moves *m = ctx;
    if (m->oom)
        return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct pte_move *v = realloc(m->v, cap * sizeof(*v));
        if (!v) {
            m->oom = true;
            return;
        }
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (struct pte_move){.va = va, .src = ptep, .dst = NULL};
}

/* The frame a PTE holds a reverse-map entry for, or 0 (none, swap entry, zero page). */
static pfn_t rmap_pfn(const struct mm *mm, pte_t pte)
{
    if (!pte_present(pte) || pte_pfn(pte) == mm->sys->phys.zero_pfn)
        return 0;
    return pte_pfn(pte);
}

/* Frees the empty table pages in the free range [start, end) and up to the areas around
 * it: the tables a failed move allocated for its destination. */
static void prune_free_range(struct mm *mm, gva_t start, gva_t end)
{
    struct vma *prev = vma_prev(&mm->vmas, start);
    struct vma *next = vma_find(&mm->vmas, end);
    pt_prune(&mm->pt, &mm->sys->phys, prev ? prev->end : 0, next ? next->start : USER_VA_END);
}

/* Moves [r->addr, r->addr + r->old_len) of area *src to a new area at
 * [r->new_addr, r->new_addr + r->new_len), which must be free, then removes the source
 * range (or, with DONTUNMAP, leaves it mapped and empty). Returns 0, or -ENOMEM with
 * nothing changed. */
static int move_area(struct remap *r, const struct vma *src)
{
    struct mm *mm = r->mm;
    struct phys *phys = &mm->sys->phys;
    struct vma nv = *src;
    nv.start = r->new_addr;
    nv.end = r->new_addr + r->new_len;
    nv.kind = moved_kind(src->kind);
    if (src->file)
        nv.pgoff = vma_pgoff(src, r->addr);
    uint64_t delta = r->new_addr - r->addr; /* modulo 2^64: new va = va + delta */
    struct pte_moves m = {0};
    size_t tables = 0, rmaps = 0;
    int rc = 0;

    pt_for_each(&mm->pt, phys, r->addr, r->addr + r->old_len, gather_cb, &m);
    if (m.oom) {
        rc = -ENOMEM;
        goto out;
    }
    /* Every destination slot first: allocating tables changes no PTE. */
    for (; tables < m.n; tables++) {
        rc = pt_lookup_alloc(&mm->pt, phys, m.v[tables].va + delta, &m.v[tables].dst);
        if (rc < 0)
            break;
    }
    mm_note_pt_pages(mm);
    if (rc < 0)
        goto err_tables;
    /* Then the reverse-map entries at the new addresses (the old ones go at the end). */
    for (; rmaps < m.n; rmaps++) {
        pfn_t pfn = rmap_pfn(mm, *m.v[rmaps].src);
        if (pfn && (rc = phys_rmap_add(phys, pfn, mm, m.v[rmaps].va + delta)) < 0)
            goto err_rmaps;
    }
    if ((rc = vma_insert(&mm->vmas, &nv)) < 0)
        goto err_rmaps;

    /* Nothing can fail from here on. Huge pages are moved page by page: split first. */
    thp_split_range(mm, r->addr, r->addr + r->old_len, THP_RANGE_SPLIT);
    for (size_t i = 0; i < m.n; i++) {
        pte_t pte = *m.v[i].src;
        VMEMU_BUG_ON(!pte_none(*m.v[i].dst));
        mm_set_pte(mm, m.v[i].va, m.v[i].src, 0);
        mm_set_pte(mm, m.v[i].va + delta, m.v[i].dst, pte);
        pfn_t pfn = rmap_pfn(mm, pte);
        if (pfn)
            phys_rmap_del(phys, pfn, mm, m.v[i].va);
    }
    if (r->flags & MM_MREMAP_DONTUNMAP) {
        /* Linux unlocks the whole area left behind: its pages are gone. */
        struct vma *old = vma_lookup(&mm->vmas, r->addr);
        if (old && (old->flags & (VM_LOCKED | VM_LOCKONFAULT))) {
            old->flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
            vma_merge_around(&mm->vmas, vma_index(&mm->vmas, old));
        }
    } else if (r->old_len) {
        /* The PTEs are gone: this removes the area, prunes its tables and records the
         * removal. Like Linux, a failure to split the area here is not the caller's. A
         * MAP_HUGETLB area's promises go with it: the unmap must not end them. */
        uint64_t resv = phys->hugetlb_resv;
        (void)mm_unmap(mm, r->addr, r->old_len);
        if (nv.flags & VM_HUGETLB_RESV)
            phys->hugetlb_resv = resv;
    }
    if (nv.flags & VM_HUGETLB)
        hugetlb_mark_moved(mm, nv.start, nv.end);
    rc = 0;
    goto out;

err_rmaps:
    while (rmaps-- > 0) {
        pfn_t pfn = rmap_pfn(mm, *m.v[rmaps].src);
        if (pfn)
            phys_rmap_del(phys, pfn, mm, m.v[rmaps].va + delta);
    }
err_tables:
    prune_free_range(mm, r->new_addr, r->new_addr + r->new_len);
out:
    free(m.v);
    return rc;
}

/* Moves to a given or required new place (Linux's mremap_to): FIXED unmaps the
 * destination first, a shrink unmaps the source's tail, DONTUNMAP alone takes new_addr as
 * a hint. v is the area containing r->addr. Returns 0 or -errno. */
static int remap_to(struct remap *r, const struct vma *v)
{
    struct mm *mm = r->mm;
    int rc;

    if (r->flags & MM_MREMAP_FIXED) {
        if ((rc = mm_unmap(mm, r->new_addr, r->new_len)) < 0)
            return rc;
        if (!(v = vma_lookup(&mm->vmas, r->addr)))
            return -EFAULT;
    }
    if (r->old_len > r->new_len) {
        if ((rc = mm_unmap(mm, r->addr + r->new_len, r->old_len - r->new_len)) < 0)
            return rc;
        r->old_len = r->new_len;
        if (!(v = vma_lookup(&mm->vmas, r->addr)))
            return -EFAULT;
    }
    if (!(r->flags & MM_MREMAP_FIXED) &&
        (rc = mm_get_unmapped_area(mm, r->new_addr, r->new_len, &r->new_addr)) < 0)
        return rc;
    struct vma src = *v;
    return move_area(r, &src);
}

/* Resizes where the area is, or moves it to a place of the VM's choosing when it cannot
 * grow there and MAYMOVE allows (Linux's mremap_at). Returns 0 or -errno; r->new_addr is
 * where the range ends up. */
static int remap_at(struct remap *r, struct vma *v)
{
    struct mm *mm = r->mm;
    int rc;

    r->new_addr = r->addr;
    if (r->new_len == r->old_len)
        return 0;
    if (r->new_len < r->old_len)
        return mm_unmap(mm, r->addr + r->new_len, r->old_len - r->new_len);
    /* Grow in place when the range ends with its area and the space above is free. Like
     * Linux's vma_expandable(), this does not keep a stack guard gap (brk does). */
    gva_t new_end = r->addr + r->new_len;
    if (v->end - r->addr == r->old_len && new_end <= USER_VA_END &&
        !vma_overlaps(&mm->vmas, v->end, new_end)) {
        v->end = new_end;
        vma_merge_around(&mm->vmas, vma_index(&mm->vmas, v));
        return 0;
    }
    if (!(r->flags & MM_MREMAP_MAYMOVE))
        return -ENOMEM;
    if ((rc = mm_get_unmapped_area(mm, 0, r->new_len, &r->new_addr)) < 0)
        return rc;
    struct vma src = *v;
    return move_area(r, &src);
}

/* FIXED without a resize (Linux's remap_move, 6.17+): every area in the source range is
 * moved to the same offset from new_addr, so the gaps between them are kept (and whatever
 * is mapped in the destination's gaps stays). The range must start inside an area. A
 * failure stops the move where it is, as on Linux. Returns 0 or -errno. */
static int remap_move(struct remap *r)
{
    struct mm *mm = r->mm;
    gva_t start = r->addr, end = r->addr + r->old_len, dest = r->new_addr;
    bool seen = false;

    if (start >= USER_VA_END)
        return -EFAULT;
    for (gva_t cur = start; cur < end;) {
        struct vma *v = vma_find(&mm->vmas, cur);
        if (!v || v->start >= end)
            break;
        if (!seen && v->start > start)
            return -EFAULT;
        gva_t lo = v->start > cur ? v->start : cur;
        uint64_t len = min_gva(end, v->end) - lo;
        struct remap piece = *r;
        piece.addr = lo;
        piece.old_len = piece.new_len = len;
        piece.new_addr = dest + (lo - start);
        int rc = check_area(&piece, v);
        if (rc == 0)
            rc = remap_to(&piece, v);
        if (rc < 0)
            return rc;
        seen = true;
        cur = lo + len;
    }
    return seen ? 0 : -EFAULT;
}

/* mremap of [old_addr, old_addr+old_len) to new_len bytes with Linux's rules and errors
 * (see include/vmemu/mm.h and the file header). old_len and new_len must already be
 * rounded up to pages by the syscall. Returns 0 and sets *out to where the range is now,
 * or -EINVAL, -EFAULT, -ENOMEM. A VM_LOCKED area that grows has its new part faulted in. */
int mm_remap(struct mm *mm, gva_t old_addr, uint64_t old_len, uint64_t new_len, unsigned flags,
             gva_t new_addr, gva_t *out)
{
    struct remap r = {
        .mm = mm,
        .addr = old_addr,
        .old_len = old_len,
        .new_len = new_len,
        .flags = flags,
        .new_addr = new_addr,
    };
    uint64_t grown_from = old_len;
    int rc = check_params(&r);
    if (rc < 0)
        return rc;
    const struct vma *hv = vma_lookup(&mm->vmas, old_addr);
    if (hv && (hv->flags & VM_HUGETLB) &&
        (rc = hugetlb_remap_check(&r.old_len, &r.new_len, old_addr, new_addr,
                                  (flags & MM_MREMAP_FIXED) != 0,
                                  (flags & MM_MREMAP_DONTUNMAP) != 0)) < 0)
        return rc;
    new_len = r.new_len;
    old_len = r.old_len;
    if ((flags & MM_MREMAP_FIXED) && old_len == new_len) {
        rc = remap_move(&r);
    } else {
        struct vma *v = vma_lookup(&mm->vmas, old_addr);
        rc = check_area(&r, v);
        if (rc == 0)
            rc = implies_new_addr(&r) ? remap_to(&r, v) : remap_at(&r, v);
    }
    if (rc < 0)
        return rc;
    uint64_t vm = mm_vm_pages(mm);
    if (vm > mm->stats.peak_vm)
        mm->stats.peak_vm = vm;
    if (r.populate)
        (void)mm_populate(mm, r.new_addr + grown_from, r.new_addr + new_len);
    *out = r.new_addr;
    return 0;
}
