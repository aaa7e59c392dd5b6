/* Transparent huge pages for anonymous memory (Linux's mm/huge_memory.c in small).
 *
 * A huge page is an order-9 block of the pool (512 contiguous frames, 2 MiB-aligned,
 * phys_alloc_huge) mapped at a 2 MiB-aligned address by one fault. vmemu keeps the 512
 * PTEs of its page table and marks the page-directory entry with the software bit PDE_THP
 * instead of setting the hardware PS bit: every walker (the MMU, reclaim, fork, mincore,
 * smaps, the invariant check) keeps seeing 4 KiB PTEs, each frame keeps its own reference
 * count and reverse map, and a split is only the removal of the mark. What Linux counts
 * is kept exactly: one fault per huge page, thp_fault_alloc/fallback, thp_split_pmd,
 * AnonHugePages. What a PS-bit mapping would save (the page-table page) is reported as
 * such, not saved. The huge zero page is the shared zero frame mapped 512 times (PDE_HZP).
 *
 * Invariant (vm_check): a PDE_THP table holds 512 present PTEs, frame i at entry i of one
 * block, with the same permission bits; a PDE_HZP table holds 512 zero-page PTEs.
 * Called by the fault path, the area operations (split on a partial change), fork and
 * reclaim (split before swap-out). */
#include "vmemu/thp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmemu/hugetlb.h"
#include "vmemu/pte.h"

static const char *const mode_names[] = {
    [THP_MADVISE] = "madvise",
    [THP_ALWAYS] = "always",
    [THP_NEVER] = "never",
};

/* Parses a mode name. Returns 0 or -EINVAL. */
int thp_mode_parse(const char *name, enum thp_mode *out)
{
    for (size_t i = 0; i < ARRAY_LEN(mode_names); i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (enum thp_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* The mode's name. */
const char *thp_mode_name(enum thp_mode mode)
{
    return (size_t)mode < ARRAY_LEN(mode_names) ? mode_names[mode] : "?";
}

/* The sysfs file's text for mode. */
const char *thp_mode_sysfs(enum thp_mode mode)
{
    switch (mode) {
    case THP_ALWAYS:
        return "[always] madvise never\n";
    case THP_NEVER:
        return "always madvise [never]\n";
    default:
        return "always [madvise] never\n";
    }
}

/* Reads the host's mode: the bracketed word of the sysfs file. Returns 0 or -errno. */
int thp_host_mode(enum thp_mode *out)
{
    char buf[128], word[32];
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return -ENOENT;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *open = strchr(buf, '[');
    if (!open || sscanf(open + 1, "%31[a-z]", word) != 1)
        return -EINVAL;
    return thp_mode_parse(word, out);
}

/* Whether area v may get huge pages under the machine's mode. */
bool thp_vma_allowed(const struct vmsys *sys, const struct vma *v)
{
    if (v->file || (v->flags & (VM_SHARED | VM_NOHUGEPAGE | VM_HUGETLB)) || v->kind == VMA_CHECKER)
        return false;
    switch (sys->thp_mode) {
    case THP_ALWAYS:
        return true;
    case THP_MADVISE:
        return (v->flags & VM_HUGEPAGE) != 0;
    default:
        return false;
    }
}

/* The 512 PTEs of the table a present PDE points to. */
static pte_t *pde_table(const struct mm *mm, pte_t pde)
{
    return (pte_t *)phys_hva(&mm->sys->phys, pte_pfn(pde));
}

/* Marks the table of the PDE at pdep as a huge mapping of the block at head (0: the huge
 * zero page), keeping the counts. */
static void pmd_mark(struct mm *mm, pte_t *pdep, pfn_t head)
{
    struct vmsys *sys = mm->sys;
    if (!head) {
        *pdep |= PDE_HZP;
        mm->stats.thp_zero_pmds++;
        return;
    }
    *pdep |= PDE_THP;
    mm->stats.thp_pmds++;
    if (sys->phys.block_pmd_maps[head / HPAGE_FRAMES]++ == 0 &&
        ++sys->thp.resident > sys->thp.peak_resident)
        sys->thp.peak_resident = sys->thp.resident;
}

/* Removes the huge mark of the PDE at pdep (for haddr) and its 2 MiB TLB entry; counts a
 * split when `split`. */
static void pmd_unmark(struct mm *mm, gva_t haddr, pte_t *pdep, bool split)
{
    struct vmsys *sys = mm->sys;
    if (sys->current == mm)
        tlb_invalidate(&sys->tlb, haddr);
    if (*pdep & PDE_HUGETLB) {
        *pdep &= ~PDE_HUGE_MASK; /* only ever unmapped whole (hugetlb_check_cut) */
        mm->stats.hugetlb_pmds--;
        return;
    }
    if (*pdep & PDE_THP) {
        pfn_t head = pte_pfn(pde_table(mm, *pdep)[0]);
        VMEMU_BUG_ON(head % HPAGE_FRAMES != 0);
        if (--sys->phys.block_pmd_maps[head / HPAGE_FRAMES] == 0)
            sys->thp.resident--;
        mm->stats.thp_pmds--;
    } else {
        mm->stats.thp_zero_pmds--;
    }
    *pdep &= ~PDE_HUGE_MASK;
    if (split)
        sys->thp.split_pmd++;
}

/* Maps the block at head (or the zero page when head is 0) at the 512 PTEs of the table
 * at ptes, for haddr. On failure the PTEs installed so far are zapped and the caller
 * still owns the references of the frames not installed. Returns 0 or -ENOMEM. */
static int map_block(struct mm *mm, gva_t haddr, pte_t *ptes, pfn_t head, uint64_t flags)
{
    struct phys *phys = &mm->sys->phys;
    for (unsigned i = 0; i < HPAGE_FRAMES; i++) {
        pfn_t pfn = head ? head + i : phys->zero_pfn;
        int rc = mm_install_page(mm, haddr + i * PAGE_SIZE, &ptes[i], pfn, flags);
        if (rc < 0) {
            while (i-- > 0)
                mm_zap_page(mm, haddr + i * PAGE_SIZE, &ptes[i]);
            return rc;
        }
    }
    return 0;
}

/* Drops the references of frames [head + from, head + 512). */
static void put_block(struct phys *phys, pfn_t head, unsigned from)
{
    for (unsigned i = from; i < HPAGE_FRAMES; i++)
        phys_put(phys, head + i);
}

/* PTE flags of a new huge page: present, accessed, and writable and dirty in a writable
 * area (Linux's maybe_pmd_mkwrite(pmd_mkdirty())), or copy-on-write for the zero page. */
static uint64_t huge_flags(const struct vma *v, bool zero)
{
    uint64_t flags = PTE_P | PTE_A | mm_prot_pte_bits(v->prot, zero);
    if (flags & PTE_RW)
        flags |= PTE_D;
    return flags;
}

/* A fault with no page table under va (Linux's do_huge_pmd_anonymous_page). */
int thp_anon_fault(struct mm *mm, const struct vma *v, gva_t va, enum access access, bool debug,
                   pte_t **ptepp)
{
    struct vmsys *sys = mm->sys;
    struct phys *phys = &sys->phys;
    gva_t haddr = va & HPAGE_MASK;
    if (v->flags & VM_HUGETLB) {
        int rc = hugetlb_fault(mm, v, va, ptepp);
        return rc == HUGETLB_MAPPED ? THP_FAULT_HUGETLB : rc;
    }
    if (debug || !thp_vma_allowed(sys, v) || haddr < v->start || haddr + HPAGE_SIZE > v->end)
        return THP_FAULT_NONE;
    pte_t *pdep = pt_lookup_pde(&mm->pt, phys, haddr);
    if (pdep && *pdep)
        return THP_FAULT_NONE; /* a page table exists: 4 KiB pages (Linux: pmd_none) */
    bool zero = access != ACCESS_WRITE && !sys->no_zero_page;
    pfn_t head = 0;
    if (!zero && phys_alloc_huge(phys, &head) < 0) {
        sys->thp.fault_fallback++;
        return THP_FAULT_NONE;
    }
    pte_t *ptes;
    int rc = pt_lookup_alloc(&mm->pt, phys, haddr, &ptes);
    mm_note_pt_pages(mm);
    if (rc == 0 && head)
        rc = map_block(mm, haddr, ptes, head, huge_flags(v, false));
    else if (rc == 0)
        rc = map_block(mm, haddr, ptes, 0, huge_flags(v, true));
    if (rc < 0) {
        if (head)
            put_block(phys, head, 0);
        return rc;
    }
    pmd_mark(mm, pt_lookup_pde(&mm->pt, phys, haddr), head);
    if (head)
        sys->thp.fault_alloc++;
    else
        sys->thp.zero_page_alloc++;
    *ptepp = &ptes[(va - haddr) >> PAGE_SHIFT];
    return head ? THP_FAULT_HUGE : THP_FAULT_ZERO;
}

/* Whether the mapping is the only owner of every frame of the block. */
static bool block_exclusive(const struct phys *phys, pfn_t head)
{
    for (unsigned i = 0; i < HPAGE_FRAMES; i++) {
        const struct frame *fr = phys_frame(phys, head + i);
        if (fr->refcount != 1 || (fr->flags & (FRAME_SWAPCACHE | FRAME_PAGECACHE)))
            return false;
    }
    return true;
}

/* A write to the huge zero page: a new huge page replaces it (Linux >= 6.12's
 * do_huge_zero_wp_pmd), or, when no block is free, a split. */
static int wp_huge_zero(struct mm *mm, const struct vma *v, gva_t haddr, pte_t *pdep)
{
    struct vmsys *sys = mm->sys;
    pte_t *ptes = pde_table(mm, *pdep);
    pfn_t head;
    if (phys_alloc_huge(&sys->phys, &head) < 0) {
        sys->thp.fault_fallback++;
        pmd_unmark(mm, haddr, pdep, true);
        return THP_FAULT_NONE;
    }
    pmd_unmark(mm, haddr, pdep, false);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        mm_set_pte(mm, haddr + i * PAGE_SIZE, &ptes[i], 0); /* the zero page: no rmap */
    int rc = map_block(mm, haddr, ptes, head, huge_flags(v, false));
    if (rc < 0) {
        put_block(&sys->phys, head, 0);
        return rc; /* the range is empty now: a later fault maps 4 KiB pages */
    }
    pmd_mark(mm, pdep, head);
    sys->thp.fault_alloc++;
    return THP_FAULT_HUGE;
}

/* A write fault on a copy-on-write PTE that may belong to a huge mapping. */
int thp_wp_fault(struct mm *mm, const struct vma *v, gva_t va, bool debug)
{
    gva_t haddr = va & HPAGE_MASK;
    if (v->flags & VM_HUGETLB) {
        int rc = hugetlb_wp_fault(mm, v, va);
        return rc == HUGETLB_MAPPED   ? THP_FAULT_HUGETLB
               : rc == HUGETLB_REUSED ? THP_FAULT_REUSE
                                      : rc;
    }
    if (debug) {
        thp_split_at(mm, va); /* the debugger's write copies one page */
        return THP_FAULT_NONE;
    }
    pte_t *pdep = pt_lookup_pde(&mm->pt, &mm->sys->phys, haddr);
    if (!pdep || !(*pdep & (PDE_THP | PDE_HZP)))
        return THP_FAULT_NONE;
    if (*pdep & PDE_HZP)
        return wp_huge_zero(mm, v, haddr, pdep);
    pte_t *ptes = pde_table(mm, *pdep);
    pfn_t head = pte_pfn(ptes[0]);
    if (!block_exclusive(&mm->sys->phys, head)) {
        pmd_unmark(mm, haddr, pdep, true); /* the caller copies the 4 KiB page (Linux >= 5.8) */
        return THP_FAULT_NONE;
    }
    uint64_t flags = huge_flags(v, false);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        mm_set_pte(mm, haddr + i * PAGE_SIZE, &ptes[i], pte_make(head + i, flags));
    return THP_FAULT_REUSE;
}

struct range_ctx {
    struct mm *mm;       /* address space */
    gva_t start, end;    /* the range */
    enum thp_range how;  /* what to do with huge mappings wholly inside */
    bool unmarked_whole; /* one wholly inside was unmarked */
};

static void range_cb(void *arg, gva_t va, pte_t *pdep)
{
    struct range_ctx *c = arg;
    if (!(*pdep & PDE_HUGE_MASK))
        return;
    bool whole = va >= c->start && va + HPAGE_SIZE <= c->end;
    if (whole && c->how == THP_RANGE_KEEP)
        return;
    pmd_unmark(c->mm, va, pdep, !whole || c->how == THP_RANGE_SPLIT);
    c->unmarked_whole |= whole;
}

/* Splits, unmarks or keeps the huge mappings overlapping [start, end). */
bool thp_split_range(struct mm *mm, gva_t start, gva_t end, enum thp_range how)
{
    if (!mm->stats.thp_pmds && !mm->stats.thp_zero_pmds && !mm->stats.hugetlb_pmds)
        return false;
    struct range_ctx c = {mm, start, end, how, false};
    pt_for_each_pde(&mm->pt, &mm->sys->phys, start & HPAGE_MASK, end, range_cb, &c);
    return c.unmarked_whole;
}

/* Splits the huge mapping that covers va. */
bool thp_split_at(struct mm *mm, gva_t va)
{
    if (!mm->stats.thp_pmds && !mm->stats.thp_zero_pmds)
        return false;
    pte_t *pdep = pt_lookup_pde(&mm->pt, &mm->sys->phys, va);
    if (!pdep || !(*pdep & (PDE_THP | PDE_HZP)))
        return false;
    pmd_unmark(mm, va & HPAGE_MASK, pdep, true);
    return true;
}

struct fork_ctx {
    struct mm *parent; /* the address space copied */
    struct mm *child;  /* its copy */
};

static void fork_cb(void *arg, gva_t va, pte_t *pdep)
{
    struct fork_ctx *c = arg;
    if (!(*pdep & PDE_HUGE_MASK))
        return;
    struct phys *phys = &c->parent->sys->phys;
    pte_t *cpdep = pt_lookup_pde(&c->child->pt, phys, va);
    if (!cpdep || !(*cpdep & PTE_P))
        return;
    const pte_t *ptes = pde_table(c->parent, *pdep), *cptes = pde_table(c->child, *cpdep);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        if (!pte_present(cptes[i]) || pte_pfn(cptes[i]) != pte_pfn(ptes[i]))
            return; /* not copied (MADV_DONTFORK, WIPEONFORK): 4 KiB or nothing */
    if (*pdep & PDE_HUGETLB) {
        *cpdep |= PDE_HUGETLB;
        c->child->stats.hugetlb_pmds++;
        return;
    }
    pmd_mark(c->child, cpdep, (*pdep & PDE_THP) ? pte_pfn(ptes[0]) : 0);
}

/* Marks the child's copies of the parent's huge mappings. */
void thp_fork(struct mm *parent, struct mm *child)
{
    if (!parent->stats.thp_pmds && !parent->stats.thp_zero_pmds && !parent->stats.hugetlb_pmds)
        return;
    struct fork_ctx c = {parent, child};
    pt_for_each_pde(&parent->pt, &parent->sys->phys, 0, USER_VA_END, fork_cb, &c);
}

struct bytes_ctx {
    gva_t start, end; /* the range asked about */
    uint64_t bytes;   /* huge-mapped bytes found */
};

static void bytes_cb(void *arg, gva_t va, pte_t *pdep)
{
    struct bytes_ctx *c = arg;
    if ((*pdep & PDE_THP) && va >= c->start && va + HPAGE_SIZE <= c->end)
        c->bytes += HPAGE_SIZE;
}

/* A translation walked for the CPU at va (ptep its PTE): when va lies in a huge page, sets
 * A (and D on a write) on all 512 PTEs, as the one PS-bit entry would have them, and
 * returns true with *head_pte the huge page's first PTE for a 2 MiB TLB entry. */
bool thp_walked(struct mm *mm, gva_t va, bool write, pte_t *head_pte)
{
    if (!mm->stats.thp_pmds && !mm->stats.hugetlb_pmds)
        return false;
    pte_t *pdep = pt_lookup_pde(&mm->pt, &mm->sys->phys, va);
    if (!pdep || !(*pdep & (PDE_THP | PDE_HUGETLB)))
        return false;
    pte_t *ptes = pde_table(mm, *pdep);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        mm_pte_mkyoung(&ptes[i], write);
    *head_pte = ptes[0];
    return true;
}

/* Bytes of [start, end) mapped as huge pages. */
uint64_t thp_mapped_bytes(const struct mm *mm, gva_t start, gva_t end)
{
    if (!mm->stats.thp_pmds)
        return 0;
    struct bytes_ctx c = {start, end, 0};
    pt_for_each_pde(&mm->pt, &mm->sys->phys, start & HPAGE_MASK, end, bytes_cb, &c);
    return c.bytes;
}

/* Linux's __thp_get_unmapped_area for anonymous memory, top-down. */
int thp_get_unmapped_area(struct mm *mm, uint64_t len, gva_t *out)
{
    gva_t at;
    if (len == 0 || (len & (HPAGE_SIZE - 1)) || len > USER_VA_END - HPAGE_SIZE)
        return -ENOMEM;
    int rc = vma_find_free(&mm->vmas, len + HPAGE_SIZE, MM_MMAP_LOW, mm->mmap_base, &at);
    if (rc < 0)
        return rc;
    gva_t sub = (0 - at) & (HPAGE_SIZE - 1);
    *out = sub == 0 ? at + HPAGE_SIZE : at + sub;
    return 0;
}
