/* The heap checker's interception and checking allocator (--check heap[,guard]).
 * heapcheck_attach (src/proc/proc.c, after exec) finds malloc, free, ... in the program's
 * .symtab and patches each with `syscall`; heapcheck_call (syscalls/dispatch.c) then
 * performs those calls. Blocks live in an area vmemu maps at HC_BASE, PROT_NONE as a
 * whole: a small block's pages are installed writable in its PTEs, a big one gets an RW
 * area; every slot is followed by a gap page that stays inaccessible, and the slack of
 * the slot around the block is a red zone filled with HC_PATTERN, checked at free and
 * realloc. Freed blocks lose their pages (a use after free faults: the crash report
 * asks heapcheck_explain) and sit in a quarantine; addresses are never reused. This file
 * keeps attach, dup and free, the intercepted calls and the fork fix-up; the stack depot is
 * in heapcheck_depot.c, blocks and quarantine in heapcheck_alloc.c, reports in
 * heapcheck_report.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"

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

/* ---- the calls ---- */

/* free(ptr). */
static void hc_free(struct heapcheck *h, struct proc *p, gva_t ptr, uint32_t stack,
                    const char *call)
{
    if (ptr == 0)
        return;
    struct hc_block *b = hc_lookup(h, ptr);
    if (!b || b->state != HC_LIVE) {
        hc_bad_free(h, p, ptr, stack, call);
        return;
    }
    if (h->guard)
        hc_check_redzones(h, p, b, stack, strcmp(call, "free") == 0 ? "at free" : "at realloc");
    hc_release(h, p->mm, b, stack);
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
        return hc_alloc(h, p, size, 0, stack, false);
    struct hc_block *b = hc_lookup(h, ptr);
    if (!b || b->state != HC_LIVE) {
        hc_bad_free(h, p, ptr, stack, "realloc");
        return 0;
    }
    if (size == 0 && h->glibc) {
        hc_free(h, p, ptr, stack, "realloc");
        return 0;
    }
    uint64_t old = b->size;
    gva_t n = hc_alloc(h, p, size, 0, stack, false); /* may move the table: b is stale */
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
        return hc_alloc(h, p, a[0], 0, stack, false);
    case HC_FREE:
        hc_free(h, p, a[0], stack, "free");
        return 0;
    case HC_CALLOC:
        if (a[1] && a[0] > UINT64_MAX / a[1])
            return 0;
        return hc_alloc(h, p, a[0] * a[1], 0, stack, true);
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
        return hc_alloc(h, p, a[1], al, stack, false);
    }
    case HC_ALIGNED_ALLOC:
        if (!hc_pow2(a[0]))
            return 0;
        return hc_alloc(h, p, a[1], a[0] < 16 ? 16 : a[0], stack, false);
    case HC_POSIX_MEMALIGN: {
        if (!hc_pow2(a[1]) || a[1] % 8)
            return EINVAL;
        gva_t r = hc_alloc(h, p, a[2], a[1] < 16 ? 16 : a[1], stack, false);
        if (r == 0)
            return ENOMEM;
        if (put_user_u64(p->mm, a[0], r) < 0)
            return EFAULT;
        return 0;
    }
    case HC_VALLOC:
        return hc_alloc(h, p, a[0], PAGE_SIZE, stack, false);
    case HC_PVALLOC:
        return hc_alloc(h, p, PAGE_UP(a[0] ? a[0] : 1), PAGE_SIZE, stack, false);
    case HC_USABLE_SIZE: {
        const struct hc_block *b = hc_lookup(h, a[0]);
        return b && b->state == HC_LIVE ? b->size : 0;
    }
    }
    return 0;
}

/* Performs an intercepted call when rip is a patched entry point; see the header. */
bool heapcheck_call(struct proc *p, gva_t rip)
{
    struct heapcheck *h = p->heap;
    if (!h && p->leader != p)
        h = p->leader->heap; /* a thread allocates in its process's heap */
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
    h->installed_end = HC_BASE;
    h->syms = hs;
    hs->syms = symtab_load(p->exe, mm_image_bias(p->mm));
    hs->memo = backtrace_memo_new();
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

/* Checks every access to the compact arena from now on; see the header. */
int heapcheck_watch(struct cpu *cpu, struct sched *sched)
{
    int rc = cpu_watch_range(cpu, HC_BASE, HC_END, hc_access, hc_filter, sched);
    if (rc == 0) /* and a syscall's copies: as ASan's interceptors */
        sched->sys->on_access = (struct mm_access_hook){.access = hc_copy_access, .ctx = sched};
    return rc;
}

/* Frees the checker's state; NULL is fine. */
void heapcheck_free(struct heapcheck *h)
{
    if (!h)
        return;
    if (h->syms && --h->syms->refs == 0) {
        symtab_free(h->syms->syms);
        backtrace_memo_free(h->syms->memo);
        free(h->syms);
    }
    free(h->entries);
    free(h->blocks);
    free(h->btab);
    free(h->shadow);
    free(h->pagemap);
    free(h->seen.v);
    free(h->strfn.v);
    free(h->copyfn.v);
    free(h->otherfn.v);
    for (size_t i = 0; i < HC_NCLASSES; i++)
        free(h->classes[i].slots);
    free(h->ext);
    free(h->quar);
    free(h->stacks);
    stack_index_free(&h->stab);
    free(h);
}

/* The checker's copy for a fork child; see the header. */
struct heapcheck *heapcheck_dup(const struct heapcheck *h)
{
    struct heapcheck *c = malloc(sizeof(*c));
    bool fail = false;
    if (!c)
        return NULL;
    *c = *h;
    c->entries = memdup_array(h->entries, h->nentries, sizeof(*h->entries), &fail);
    c->blocks = memdup_array(h->blocks, h->nblocks, sizeof(*h->blocks), &fail);
    c->capblocks = h->nblocks;
    c->stacks = memdup_array(h->stacks, h->nstacks, sizeof(*h->stacks), &fail);
    c->capstacks = h->nstacks;
    fail |= stack_index_dup(&c->stab, &h->stab) < 0;
    c->btab = memdup_array(h->btab, h->btabcap, sizeof(*h->btab), &fail);
    size_t area = h->mapped_end - HC_BASE;
    c->shadow = h->shadow ? memdup_array(h->shadow, area / HC_GRANULE, 1, &fail) : NULL;
    c->pagemap = h->pagemap
                     ? memdup_array(h->pagemap, area >> PAGE_SHIFT, sizeof(*h->pagemap), &fail)
                     : NULL;
    c->seen.v = memdup_array(h->seen.v, h->seen.cap, sizeof(gva_t), &fail);
    c->strfn.v = memdup_array(h->strfn.v, h->strfn.cap, sizeof(gva_t), &fail);
    c->copyfn.v = memdup_array(h->copyfn.v, h->copyfn.cap, sizeof(gva_t), &fail);
    c->otherfn.v = memdup_array(h->otherfn.v, h->otherfn.cap, sizeof(gva_t), &fail);
    for (size_t i = 0; i < HC_NCLASSES; i++) {
        c->classes[i].slots =
            memdup_array(h->classes[i].slots, h->classes[i].n, sizeof(uint32_t), &fail);
        c->classes[i].cap = h->classes[i].n;
    }
    c->ext = memdup_array(h->ext, h->nexts, sizeof(*h->ext), &fail);
    c->capexts = h->nexts;
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

/* Fork fix-up of the checker's PROT_NONE areas; see heapcheck_int.h. */
int heapcheck_fork_fixup(struct mm *parent, struct mm *child)
{
    for (size_t i = 0; i < child->vmas.n; i++) {
        const struct vma *v = &child->vmas.v[i];
        if (v->kind == VMA_CHECKER && v->prot == 0 &&
            mm_fork_unshare(parent, child, v->start, v->end) < 0)
            return -ENOMEM;
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

/* The checker for the new image mm of p: attached while p still keeps its old image, so
 * that a failure leaves p as it was. */
static int hc_on_exec(struct proc *p, struct mm *mm, const char *exe, void **out, char *err,
                      size_t errlen)
{
    struct mm *old_mm = p->mm;
    char *old_exe = p->exe;
    void *old_heap = p->heap;
    p->mm = mm;
    p->exe = (char *)exe;
    p->heap = NULL;
    int rc = heapcheck_attach(p, err, errlen);
    *out = p->heap;
    p->mm = old_mm;
    p->exe = old_exe;
    p->heap = old_heap;
    return rc;
}

/* The child's copy of the checker, and the fix-up of its areas' pages. */
static int hc_on_fork(struct proc *parent, struct proc *child)
{
    if (!(child->heap = heapcheck_dup(parent->heap)))
        return -ENOMEM;
    return heapcheck_fork_fixup(parent->mm, child->mm) < 0 ? -ENOMEM : 0;
}

/* Frees a process's checker (the observer's opaque state). */
static void hc_on_release(void *state)
{
    heapcheck_free(state);
}

/* The heap checker as the process layer sees it (debug_hooks.h). */
const struct proc_observer heapcheck_observer = {
    .exec = hc_on_exec,
    .fork = hc_on_fork,
    .exit = heapcheck_exit_report,
    .release = hc_on_release,
    .syscall = heapcheck_call,
};
