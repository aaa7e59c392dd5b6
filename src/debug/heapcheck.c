/* The heap checker's interception and checking allocator (--check heap[,guard]).
 * heapcheck_attach (src/proc.c, after exec) finds malloc, free, ... in the program's
 * .symtab and patches each with `syscall`; heapcheck_call (syscalls/dispatch.c) then
 * performs those calls. Blocks live in an area vmemu maps at HC_BASE, PROT_NONE as a
 * whole: a small block's pages are installed writable in its PTEs, a big one gets an RW
 * area; every slot is followed by a gap page that stays inaccessible, and the slack of
 * the slot around the block is a red zone filled with HC_PATTERN, checked at free and
 * realloc. Freed blocks lose their pages (a use after free faults: the crash report
 * asks heapcheck_explain) and sit in a quarantine; addresses are never reused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"

#define HC_NONE_STACK UINT32_MAX /* free_stack of a block never freed */

static const struct {
    const char *name; /* symbol */
    enum hc_fn fn;    /* what it does */
} hc_names[] = {
    {"malloc", HC_MALLOC},
    {"__libc_malloc", HC_MALLOC},
    {"__libc_malloc_impl", HC_MALLOC},
    {"free", HC_FREE},
    {"__libc_free", HC_FREE},
    {"cfree", HC_FREE},
    {"calloc", HC_CALLOC},
    {"__libc_calloc", HC_CALLOC},
    {"realloc", HC_REALLOC},
    {"__libc_realloc", HC_REALLOC},
    {"memalign", HC_MEMALIGN},
    {"__libc_memalign", HC_MEMALIGN},
    {"aligned_alloc", HC_ALIGNED_ALLOC},
    {"posix_memalign", HC_POSIX_MEMALIGN},
    {"valloc", HC_VALLOC},
    {"__libc_valloc", HC_VALLOC},
    {"pvalloc", HC_PVALLOC},
    {"__libc_pvalloc", HC_PVALLOC},
    {"reallocarray", HC_REALLOCARRAY},
    {"__libc_reallocarray", HC_REALLOCARRAY},
    {"malloc_usable_size", HC_USABLE_SIZE},
    {"__malloc_usable_size", HC_USABLE_SIZE},
};

/* ---- the stack depot ---- */

static uint64_t hc_hash(const gva_t *pcs, uint32_t n)
{
    uint64_t x = 0xcbf29ce484222325ULL ^ n;
    for (uint32_t i = 0; i < n; i++) {
        x ^= pcs[i];
        x *= 0x100000001b3ULL;
        x ^= x >> 29;
    }
    return x;
}

/* The depot index of the stack pcs[0..n), added when new; 0 (the empty stack) when out
 * of memory. */
static uint32_t hc_depot_put(struct heapcheck *h, const gva_t *pcs, uint32_t n)
{
    uint64_t hash = hc_hash(pcs, n);
    if (h->stabcap == 0 || (h->nstacks + 1) * 2 > h->stabcap) {
        size_t cap = h->stabcap ? h->stabcap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof(*t));
        if (!t)
            return 0;
        for (size_t i = 0; i < h->nstacks; i++) {
            size_t j = h->stacks[i].hash & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = (uint32_t)i + 1;
        }
        free(h->stab);
        h->stab = t;
        h->stabcap = cap;
    }
    size_t j = hash & (h->stabcap - 1);
    for (; h->stab[j]; j = (j + 1) & (h->stabcap - 1)) {
        const struct hc_stack *s = &h->stacks[h->stab[j] - 1];
        if (s->hash == hash && s->n == n && memcmp(s->pcs, pcs, n * sizeof(gva_t)) == 0)
            return h->stab[j] - 1;
    }
    if (h->nstacks == h->capstacks) {
        size_t cap = h->capstacks ? h->capstacks * 2 : 256;
        struct hc_stack *g = realloc(h->stacks, cap * sizeof(*g));
        if (!g)
            return 0;
        h->stacks = g;
        h->capstacks = cap;
    }
    struct hc_stack *s = &h->stacks[h->nstacks];
    memset(s, 0, sizeof(*s));
    s->hash = hash;
    s->n = n;
    memcpy(s->pcs, pcs, n * sizeof(gva_t));
    h->stab[j] = (uint32_t)h->nstacks + 1;
    return (uint32_t)h->nstacks++;
}

/* The call stack of the allocator's caller: its return address first. */
static uint32_t hc_caller_stack(struct heapcheck *h, struct proc *p)
{
    gva_t pcs[HC_FRAMES];
    int n = 0;
    if (p->cpu) {
        gva_t rsp = cpu_get(p->cpu, CPU_RSP), ret = 0;
        if (copy_from_user_nofault(p->mm, &ret, rsp, sizeof(ret)) == sizeof(ret))
            n = backtrace_collect(p->mm, h->syms->syms, ret, rsp + 8, cpu_get(p->cpu, CPU_RBP), pcs,
                                  HC_FRAMES);
    }
    return hc_depot_put(h, pcs, n < 0 ? 0 : (uint32_t)n);
}

/* Prints the frames of a depot stack, "    #0  0x401136 main+22" each. */
void hc_print_stack(const struct heapcheck *h, FILE *out, uint32_t id)
{
    if (id >= h->nstacks || h->stacks[id].n == 0) {
        fprintf(out, "    (no stack)\n");
        return;
    }
    backtrace_print(out, h->syms->syms, h->stacks[id].pcs, (int)h->stacks[id].n, "    ");
}

/* ---- blocks ---- */

/* The block whose slot or following gap page contains va, or NULL. */
struct hc_block *hc_find(const struct heapcheck *h, gva_t va)
{
    size_t lo = 0, hi = h->nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->blocks[mid].slot <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    struct hc_block *b = &h->blocks[lo - 1];
    return va < b->slot + (b->pages + 1) * PAGE_SIZE ? b : NULL;
}

/* Drops released blocks from the table once they are the majority. */
static void hc_compact(struct heapcheck *h)
{
    if (h->nreleased < 4096 || h->nreleased * 2 < h->nblocks)
        return;
    size_t j = 0;
    for (size_t i = 0; i < h->nblocks; i++)
        if (h->blocks[i].state != HC_RELEASED)
            h->blocks[j++] = h->blocks[i];
    h->nblocks = j;
    h->nreleased = 0;
}

/* Grows the checker's area (PROT_NONE, locked so that reclaim never swaps its pages
 * out) to cover end, in whole HC_CHUNK steps: the area is reserved as the blocks need it,
 * so it adds at most one step to the virtual size beyond the address space handed out.
 * Returns 0 or -ENOMEM. */
static int hc_map_upto(struct heapcheck *h, struct mm *mm, gva_t end)
{
    if (h->mapped_end >= end)
        return 0;
    gva_t new_end = (end + HC_CHUNK - 1) & ~(HC_CHUNK - 1);
    if (new_end > HC_END)
        return -ENOMEM;
    int rc =
        mm_map(mm, h->mapped_end, new_end - h->mapped_end, 0, VM_LOCKED, VMA_CHECKER, NULL, 0, 0);
    if (rc < 0)
        return rc;
    h->mapped_end = new_end;
    return 0;
}

/* Installs fresh zeroed writable pages at [va, va + pages pages). Returns 0 or -ENOMEM
 * (the pages installed so far stay: the caller zaps the range). */
static int hc_install(struct mm *mm, gva_t va, uint64_t pages)
{
    struct phys *phys = &mm->sys->phys;
    for (uint64_t i = 0; i < pages; i++) {
        pfn_t pfn;
        if (phys_alloc(phys, true, &pfn) < 0)
            return -ENOMEM;
        int rc = mm_install_page(mm, va + i * PAGE_SIZE, pfn,
                                 PTE_P | PTE_US | PTE_RW | PTE_NX | PTE_A | PTE_D);
        if (rc < 0) {
            phys_put(phys, pfn);
            return rc;
        }
    }
    return 0;
}

/* A page of red-zone pattern bytes (filled on first use; never changes afterwards). */
static const uint8_t *hc_pattern(void)
{
    static uint8_t page[PAGE_SIZE];
    if (page[0] != HC_PATTERN)
        memset(page, HC_PATTERN, sizeof(page));
    return page;
}

/* Fills [va, va+n) of a block's own pages with the red-zone pattern. */
static int hc_fill(struct mm *mm, gva_t va, uint64_t n)
{
    const uint8_t *pattern = hc_pattern();
    while (n > 0) {
        /* A page at a time: one translation per page. */
        size_t c = PAGE_SIZE - (va & ~PAGE_MASK);
        c = n < c ? n : c;
        int rc = uaccess_poke(mm, va, pattern, c);
        if (rc < 0)
            return rc;
        va += c;
        n -= c;
    }
    return 0;
}

/* A new block of size bytes aligned to align (a power of two). Returns its user address,
 * 0 when out of memory. */
static gva_t hc_alloc(struct heapcheck *h, struct proc *p, uint64_t size, uint64_t align,
                      uint32_t stack)
{
    struct mm *mm = p->mm;
    if (size > (1ULL << 38) || align > (1ULL << 30))
        return 0;
    uint64_t slot_align = align > PAGE_SIZE ? align : PAGE_SIZE;
    gva_t slot = (h->next + slot_align - 1) & ~(slot_align - 1);
    uint64_t pages;
    gva_t user;
    if (h->guard) {
        /* The block ends at its last page's end, at the alignment asked for or the
         * natural one of its size (the largest power of two dividing it, 16 at most). */
        uint64_t a = align;
        if (a == 0) {
            a = 16;
            while (a > 1 && size % a)
                a >>= 1;
        }
        pages = PAGE_UP(size ? size : 1) >> PAGE_SHIFT;
        user = (slot + pages * PAGE_SIZE - size) & ~(a - 1);
    } else {
        uint64_t a = align ? align : 16;
        uint64_t front = HC_FRONT > a ? HC_FRONT : a;
        pages = PAGE_UP(front + size) >> PAGE_SHIFT;
        user = slot + front;
    }
    bool big = pages >= HC_BIG_PAGES;
    if (hc_map_upto(h, mm, slot + (pages + 1) * PAGE_SIZE) < 0)
        return 0;
    if (h->nblocks == h->capblocks) {
        size_t cap = h->capblocks ? h->capblocks * 2 : 1024;
        struct hc_block *g = realloc(h->blocks, cap * sizeof(*g));
        if (!g)
            return 0;
        h->blocks = g;
        h->capblocks = cap;
    }
    int rc;
    if (big)
        rc = mm_protect(mm, slot, pages * PAGE_SIZE, VM_READ | VM_WRITE);
    else
        rc = hc_install(mm, slot, pages);
    if (rc == 0)
        rc = hc_fill(mm, slot, user - slot);
    if (rc == 0)
        rc = hc_fill(mm, user + size, slot + pages * PAGE_SIZE - user - size);
    if (rc < 0) {
        if (big)
            mm_protect(mm, slot, pages * PAGE_SIZE, 0);
        mm_zap_range(mm, slot, slot + pages * PAGE_SIZE);
        return 0;
    }
    h->next = slot + (pages + 1) * PAGE_SIZE;
    struct hc_block *b = &h->blocks[h->nblocks++];
    memset(b, 0, sizeof(*b));
    b->slot = slot;
    b->pages = pages;
    b->user = user;
    b->size = size;
    b->alloc_stack = stack;
    b->free_stack = HC_NONE_STACK;
    b->state = HC_LIVE;
    b->big = big;
    h->nallocs++;
    h->bytes_allocated += size;
    return user;
}

/* Takes the pages of b away and makes its slot inaccessible. */
static void hc_unmap_block(struct mm *mm, const struct hc_block *b)
{
    if (b->big)
        mm_protect(mm, b->slot, b->pages * PAGE_SIZE, 0);
    mm_zap_range(mm, b->slot, b->slot + b->pages * PAGE_SIZE);
}

/* Releases the oldest quarantined blocks until the quarantine fits its bound. */
static void hc_quarantine_trim(struct heapcheck *h, struct mm *mm)
{
    while (h->qlen > 0 && h->qbytes > HC_QUARANTINE) {
        gva_t user = h->quar[h->qhead];
        h->qhead = (h->qhead + 1) % h->qcap;
        h->qlen--;
        struct hc_block *b = hc_find(h, user);
        if (!b || b->state != HC_FREED)
            continue;
        b->state = HC_RELEASED;
        h->nreleased++;
        h->qbytes -= b->pages * PAGE_SIZE;
        pt_prune(&mm->pt, &mm->sys->phys, b->slot, b->slot + (b->pages + 1) * PAGE_SIZE);
    }
    hc_compact(h);
}

/* Puts b in the quarantine. */
static void hc_quarantine(struct heapcheck *h, struct mm *mm, struct hc_block *b)
{
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 1024;
        gva_t *g = malloc(cap * sizeof(*g));
        if (!g) {
            /* No room to remember it: release it at once. */
            b->state = HC_RELEASED;
            h->nreleased++;
            return;
        }
        for (size_t i = 0; i < h->qlen; i++)
            g[i] = h->quar[(h->qhead + i) % h->qcap];
        free(h->quar);
        h->quar = g;
        h->qcap = cap;
        h->qhead = 0;
    }
    h->quar[(h->qhead + h->qlen++) % h->qcap] = b->user;
    h->qbytes += b->pages * PAGE_SIZE;
    hc_quarantine_trim(h, mm);
}

/* ---- reports ---- */

/* The site lines after an error's own stack: where the block was allocated and freed. */
static void hc_print_sites(const struct heapcheck *h, const struct hc_block *b)
{
    fprintf(stderr, "  allocated at:\n");
    hc_print_stack(h, stderr, b->alloc_stack);
    if (b->free_stack != HC_NONE_STACK) {
        fprintf(stderr, "  freed at:\n");
        hc_print_stack(h, stderr, b->free_stack);
    }
}

/* Checks b's red zones; reports the first corrupted run on each side. Returns the number
 * of errors reported (0-2). stack is the current call (free or realloc). */
static int hc_check_redzones(struct heapcheck *h, struct proc *p, const struct hc_block *b,
                             uint32_t stack, const char *when)
{
    struct mm *mm = p->mm;
    int found = 0;
    struct {
        gva_t lo, hi; /* red zone */
        bool after;   /* behind the block */
    } zones[2] = {{b->slot, b->user, false},
                  {b->user + b->size, b->slot + b->pages * PAGE_SIZE, true}};
    for (int z = 0; z < 2; z++) {
        gva_t first = 0, last = 0;
        bool bad = false;
        uint8_t buf[PAGE_SIZE];
        for (gva_t va = zones[z].lo; va < zones[z].hi;) {
            /* A page at a time (one translation), bytes looked at only when changed. */
            size_t c = PAGE_SIZE - (va & ~PAGE_MASK);
            c = zones[z].hi - va < c ? zones[z].hi - va : c;
            if (uaccess_peek(mm, buf, va, c) < 0)
                break;
            bool same = memcmp(buf, hc_pattern(), c) == 0;
            for (size_t i = 0; i < c && !same; i++) {
                if (buf[i] == HC_PATTERN)
                    continue;
                if (!bad)
                    first = va + i;
                last = va + i;
                bad = true;
            }
            va += c;
        }
        if (!bad)
            continue;
        found++;
        h->errors++;
        uint64_t n = last - first + 1;
        if (zones[z].after)
            fprintf(stderr,
                    "vmemu: heap: pid %d: heap-buffer-overflow: write of %llu byte%s at 0x%llx, "
                    "%llu byte%s after the %llu-byte block at 0x%llx (red zone changed, found "
                    "%s)\n",
                    p->pid, (unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)first,
                    (unsigned long long)(first - b->user - b->size),
                    first - b->user - b->size == 1 ? "" : "s", (unsigned long long)b->size,
                    (unsigned long long)b->user, when);
        else
            fprintf(stderr,
                    "vmemu: heap: pid %d: heap-buffer-underflow: write of %llu byte%s at 0x%llx, "
                    "%llu byte%s before the %llu-byte block at 0x%llx (red zone changed, found "
                    "%s)\n",
                    p->pid, (unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)first,
                    (unsigned long long)(b->user - first), b->user - first == 1 ? "" : "s",
                    (unsigned long long)b->size, (unsigned long long)b->user, when);
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
    }
    return found;
}

/* A free (or realloc) of ptr by p that is no live block's start: double free, free into a
 * block's middle, or of memory malloc never returned. */
static void hc_bad_free(struct heapcheck *h, const struct proc *p, gva_t ptr, uint32_t stack,
                        const char *call)
{
    struct hc_block *b = hc_find(h, ptr);
    h->errors++;
    if (b && b->user == ptr && b->state != HC_LIVE) {
        bool re = strcmp(call, "realloc") == 0;
        fprintf(stderr,
                "vmemu: heap: pid %d: %s: %s(0x%llx) of the %llu-byte block already freed\n",
                p->pid, re ? "realloc-of-freed-block" : "double-free", call,
                (unsigned long long)ptr, (unsigned long long)b->size);
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
        return;
    }
    if (b && ptr >= b->user && ptr < b->user + b->size) {
        fprintf(stderr,
                "vmemu: heap: pid %d: invalid-free: %s(0x%llx) points %llu bytes inside the "
                "%llu-byte block at 0x%llx%s\n",
                p->pid, call, (unsigned long long)ptr, (unsigned long long)(ptr - b->user),
                (unsigned long long)b->size, (unsigned long long)b->user,
                b->state == HC_LIVE ? "" : " (freed)");
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
        return;
    }
    fprintf(stderr,
            "vmemu: heap: pid %d: invalid-free: %s(0x%llx) of memory malloc did not return\n",
            p->pid, call, (unsigned long long)ptr);
    hc_print_stack(h, stderr, stack);
}

/* ---- the calls ---- */

/* free(ptr). */
static void hc_free(struct heapcheck *h, struct proc *p, gva_t ptr, uint32_t stack,
                    const char *call)
{
    if (ptr == 0)
        return;
    struct hc_block *b = hc_find(h, ptr);
    if (!b || b->user != ptr || b->state != HC_LIVE) {
        hc_bad_free(h, p, ptr, stack, call);
        return;
    }
    hc_check_redzones(h, p, b, stack, strcmp(call, "free") == 0 ? "at free" : "at realloc");
    b->state = HC_FREED;
    b->free_stack = stack;
    h->nfrees++;
    hc_unmap_block(p->mm, b);
    gva_t user = b->user;
    hc_quarantine(h, p->mm, hc_find(h, user));
}

/* Copies n bytes between two blocks of mm. Returns 0 or -errno. */
static int hc_copy(struct mm *mm, gva_t dst, gva_t src, uint64_t n)
{
    uint8_t buf[4096];
    while (n > 0) {
        size_t c = n < sizeof(buf) ? n : sizeof(buf);
        int rc = uaccess_peek(mm, buf, src, c);
        if (rc == 0)
            rc = uaccess_poke(mm, dst, buf, c);
        if (rc < 0)
            return rc;
        src += c;
        dst += c;
        n -= c;
    }
    return 0;
}

/* realloc(ptr, size). */
static gva_t hc_realloc(struct heapcheck *h, struct proc *p, gva_t ptr, uint64_t size,
                        uint32_t stack)
{
    if (ptr == 0)
        return hc_alloc(h, p, size, 0, stack);
    struct hc_block *b = hc_find(h, ptr);
    if (!b || b->user != ptr || b->state != HC_LIVE) {
        hc_bad_free(h, p, ptr, stack, "realloc");
        return 0;
    }
    if (size == 0 && h->glibc) {
        hc_free(h, p, ptr, stack, "realloc");
        return 0;
    }
    uint64_t old = b->size;
    gva_t n = hc_alloc(h, p, size, 0, stack); /* may move the table: b is stale */
    if (n == 0)
        return 0;
    hc_copy(p->mm, n, ptr, old < size ? old : size);
    hc_free(h, p, ptr, stack, "realloc");
    return n;
}

static bool hc_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Performs entry e's call with the guest's arguments; returns the value for RAX. */
static uint64_t hc_do(struct heapcheck *h, struct proc *p, enum hc_fn fn, const uint64_t a[3])
{
    uint32_t stack = hc_caller_stack(h, p);
    switch (fn) {
    case HC_MALLOC:
        return hc_alloc(h, p, a[0], 0, stack);
    case HC_FREE:
        hc_free(h, p, a[0], stack, "free");
        return 0;
    case HC_CALLOC:
        if (a[1] && a[0] > UINT64_MAX / a[1])
            return 0;
        return hc_alloc(h, p, a[0] * a[1], 0, stack);
    case HC_REALLOC:
        return hc_realloc(h, p, a[0], a[1], stack);
    case HC_REALLOCARRAY:
        if (a[2] && a[1] > UINT64_MAX / a[2])
            return 0;
        return hc_realloc(h, p, a[0], a[1] * a[2], stack);
    case HC_MEMALIGN: {
        uint64_t al = a[0] < 16 ? 16 : a[0];
        while (!hc_pow2(al) && al < (1ULL << 30))
            al = (al | (al - 1)) + 1;
        return hc_alloc(h, p, a[1], al, stack);
    }
    case HC_ALIGNED_ALLOC:
        if (!hc_pow2(a[0]))
            return 0;
        return hc_alloc(h, p, a[1], a[0] < 16 ? 16 : a[0], stack);
    case HC_POSIX_MEMALIGN: {
        if (!hc_pow2(a[1]) || a[1] % 8)
            return EINVAL;
        gva_t r = hc_alloc(h, p, a[2], a[1] < 16 ? 16 : a[1], stack);
        if (r == 0)
            return ENOMEM;
        if (put_user_u64(p->mm, a[0], r) < 0)
            return EFAULT;
        return 0;
    }
    case HC_VALLOC:
        return hc_alloc(h, p, a[0], PAGE_SIZE, stack);
    case HC_PVALLOC:
        return hc_alloc(h, p, PAGE_UP(a[0] ? a[0] : 1), PAGE_SIZE, stack);
    case HC_USABLE_SIZE: {
        const struct hc_block *b = hc_find(h, a[0]);
        return b && b->user == a[0] && b->state == HC_LIVE ? b->size : 0;
    }
    }
    return 0;
}

/* Performs an intercepted call when rip is a patched entry point; see the header. */
bool heapcheck_call(struct proc *p, gva_t rip)
{
    struct heapcheck *h = p->heap;
    if (!h && p->mm_borrowed && p->vfork_parent)
        h = p->vfork_parent->heap; /* a vfork child allocates in its parent's heap */
    if (!h || !p->cpu)
        return false;
    size_t lo = 0, hi = h->nentries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->entries[mid].addr < rip)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == h->nentries || h->entries[lo].addr != rip)
        return false;
    struct cpu *cpu = p->cpu;
    uint64_t a[3] = {cpu_get(cpu, CPU_RDI), cpu_get(cpu, CPU_RSI), cpu_get(cpu, CPU_RDX)};
    gva_t rsp = cpu_get(cpu, CPU_RSP), ret;
    if (get_user_u64(p->mm, rsp, &ret) < 0)
        return false; /* no return address: let it fail as the syscall it looks like */
    uint64_t rax = hc_do(h, p, h->entries[lo].fn, a);
    cpu_set(cpu, CPU_RAX, rax);
    cpu_set(cpu, CPU_RSP, rsp + 8);
    cpu_set(cpu, CPU_RIP, ret);
    cpu_keep_syscall_regs(cpu);
    return true;
}

/* ---- life cycle ---- */

static int hc_entry_cmp(const void *a, const void *b)
{
    const struct hc_entry *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The load bias of the image (start of its first mapping minus its file offset). */
static gva_t hc_image_bias(const struct mm *mm)
{
    for (size_t i = 0; i < mm->vmas.n; i++)
        if (mm->vmas.v[i].kind == VMA_IMAGE)
            return mm->vmas.v[i].start - mm->vmas.v[i].pgoff * PAGE_SIZE;
    return 0;
}

/* Sets up the checker for p after exec; see the header. */
int heapcheck_attach(struct proc *p, char *err, size_t errlen)
{
    static const uint8_t syscall_insn[2] = {0x0f, 0x05};
    struct heapcheck *h = calloc(1, sizeof(*h));
    struct hc_syms *hs = calloc(1, sizeof(*hs));
    gva_t addr;
    if (!h || !hs) {
        free(h);
        free(hs);
        snprintf(err, errlen, "%s: %s", p->exe, strerror(ENOMEM));
        return -ENOMEM;
    }
    hs->refs = 1;
    h->syms = hs;
    hs->syms = symtab_load(p->exe, hc_image_bias(p->mm));
    if (!hs->syms || symtab_nsyms(hs->syms) == 0 || symtab_find(hs->syms, "malloc", &addr) < 0) {
        snprintf(err, errlen,
                 "%s has no symbols: --check heap needs a program that is not stripped", p->exe);
        heapcheck_free(h);
        return -ENOEXEC;
    }
    h->guard = p->opt && (p->opt->check & CHECK_GUARD);
    h->glibc = symtab_find(hs->syms, "__libc_memalign", &addr) == 0;
    h->next = HC_BASE;
    h->mapped_end = HC_BASE;
    h->entries = calloc(ARRAY_LEN(hc_names), sizeof(*h->entries));
    if (!h->entries) {
        heapcheck_free(h);
        snprintf(err, errlen, "%s: %s", p->exe, strerror(ENOMEM));
        return -ENOMEM;
    }
    for (size_t i = 0; i < ARRAY_LEN(hc_names); i++) {
        if (symtab_find(hs->syms, hc_names[i].name, &addr) < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < h->nentries; j++)
            dup |= h->entries[j].addr == addr;
        if (dup)
            continue;
        int rc = uaccess_poke(p->mm, addr, syscall_insn, sizeof(syscall_insn));
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot intercept %s at 0x%llx: %s", p->exe, hc_names[i].name,
                     (unsigned long long)addr, strerror(-rc));
            heapcheck_free(h);
            return rc;
        }
        h->entries[h->nentries].addr = addr;
        h->entries[h->nentries++].fn = hc_names[i].fn;
    }
    qsort(h->entries, h->nentries, sizeof(*h->entries), hc_entry_cmp);
    /* The first chunk of the area now, so that it sits above the program's mappings. */
    int rc = hc_map_upto(h, p->mm, HC_BASE + 1);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot map the heap checker's area: %s", p->exe, strerror(-rc));
        heapcheck_free(h);
        return rc;
    }
    p->heap = h;
    return 0;
}

/* Frees the checker's state; NULL is fine. */
void heapcheck_free(struct heapcheck *h)
{
    if (!h)
        return;
    if (h->syms && --h->syms->refs == 0) {
        symtab_free(h->syms->syms);
        free(h->syms);
    }
    free(h->entries);
    free(h->blocks);
    free(h->quar);
    free(h->stacks);
    free(h->stab);
    free(h);
}

/* Duplicates an array of n elements of size sz (NULL for n == 0). */
static void *hc_memdup(const void *src, size_t n, size_t sz, bool *fail)
{
    if (n == 0)
        return NULL;
    void *d = malloc(n * sz);
    if (!d)
        *fail = true;
    else
        memcpy(d, src, n * sz);
    return d;
}

/* The checker's copy for a fork child; see the header. */
struct heapcheck *heapcheck_dup(const struct heapcheck *h)
{
    struct heapcheck *c = malloc(sizeof(*c));
    bool fail = false;
    if (!c)
        return NULL;
    *c = *h;
    c->entries = hc_memdup(h->entries, h->nentries, sizeof(*h->entries), &fail);
    c->blocks = hc_memdup(h->blocks, h->nblocks, sizeof(*h->blocks), &fail);
    c->capblocks = h->nblocks;
    c->stacks = hc_memdup(h->stacks, h->nstacks, sizeof(*h->stacks), &fail);
    c->capstacks = h->nstacks;
    c->stab = hc_memdup(h->stab, h->stabcap, sizeof(*h->stab), &fail);
    c->quar = NULL;
    c->qcap = c->qlen = c->qhead = 0;
    c->syms->refs++;
    if (h->qlen > 0) {
        c->quar = malloc(h->qlen * sizeof(*c->quar));
        if (!c->quar)
            fail = true;
        for (size_t i = 0; c->quar && i < h->qlen; i++)
            c->quar[i] = h->quar[(h->qhead + i) % h->qcap];
        c->qcap = c->qlen = h->qlen;
    }
    c->nallocs = c->nfrees = c->bytes_allocated = c->errors = 0;
    if (fail) {
        heapcheck_free(c);
        return NULL;
    }
    return c;
}

struct fixup_ctx {
    struct mm *mm; /* the child */
    int rc;        /* first error */
};

/* A child's copy-on-write page of the checker's area gets its own frame now. */
static void fixup_child_cb(void *arg, gva_t va, pte_t *ptep)
{
    struct fixup_ctx *c = arg;
    struct phys *phys = &c->mm->sys->phys;
    pte_t old = *ptep;
    if (c->rc < 0 || !pte_present(old) || !(old & PTE_COW))
        return;
    pfn_t pfn;
    if ((c->rc = phys_alloc(phys, false, &pfn)) < 0)
        return;
    memcpy(phys_hva(phys, pfn), phys_hva(phys, pte_pfn(old)), PAGE_SIZE);
    mm_zap_page(c->mm, va, ptep);
    c->rc = mm_install_page(c->mm, va, pfn, PTE_P | PTE_US | PTE_RW | PTE_NX | PTE_A | PTE_D);
    if (c->rc < 0)
        phys_put(phys, pfn);
}

/* The parent's pages are its own again: writable. */
static void fixup_parent_cb(void *arg, gva_t va, pte_t *ptep)
{
    struct fixup_ctx *c = arg;
    if (pte_present(*ptep) && (*ptep & PTE_COW))
        mm_set_pte(c->mm, va, ptep, (*ptep & ~PTE_COW) | PTE_RW);
}

/* Fork fix-up of the checker's PROT_NONE areas; see heapcheck_int.h. */
int heapcheck_fork_fixup(struct mm *parent, struct mm *child)
{
    for (size_t i = 0; i < child->vmas.n; i++) {
        const struct vma *v = &child->vmas.v[i];
        if (v->kind != VMA_CHECKER || v->prot != 0)
            continue;
        struct fixup_ctx c = {child, 0};
        pt_for_each(&child->pt, &child->sys->phys, v->start, v->end, fixup_child_cb, &c);
        if (c.rc < 0)
            return c.rc;
    }
    for (size_t i = 0; i < parent->vmas.n; i++) {
        const struct vma *v = &parent->vmas.v[i];
        if (v->kind != VMA_CHECKER || v->prot != 0)
            continue;
        struct fixup_ctx c = {parent, 0};
        pt_for_each(&parent->pt, &parent->sys->phys, v->start, v->end, fixup_parent_cb, &c);
    }
    /* mm_dup does not pass memory locks on: the child's area must stay in memory too. */
    for (size_t i = 0; i < child->vmas.n; i++) {
        const struct vma *v = &child->vmas.v[i];
        if (v->kind == VMA_CHECKER && v->prot == 0) {
            gva_t s = v->start, e = v->end;
            if (mm_set_vma_flags(child, s, e, VM_LOCKED, 0) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}
