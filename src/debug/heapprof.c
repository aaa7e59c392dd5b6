/* The heap profiler's interception and life cycle (--profile heap). heapprof_attach (the
 * observer's exec hook) finds malloc, free, ... in the program's .symtab and puts a code
 * probe on each first instruction (src/cpu/cpu_probe.c: nothing else of the program is
 * instrumented, and the program's own allocator runs unchanged). At a call (hp_probe) the
 * arguments and the caller's stack are taken and the return address on the stack is
 * replaced by HP_TRAMP, a page of vmemu's holding a `syscall`; the return lands there and
 * the observer's syscall hook (hp_on_return) takes the result and resumes at the real
 * return address. Calls are matched per task; a call made inside another observed call of
 * the same task (calloc calling malloc in musl, realloc(NULL, n) in glibc) is not observed:
 * the outer one says what happened. Faults come through the memory layer's hook
 * (vmsys.on_fault, hp_on_fault). This file keeps attach, fork, exit and release. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof_int.h"
#include "vmemu/backtrace.h"
#include "vmemu/cpu.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"

static const struct {
    const char *name; /* symbol */
    enum hp_fn fn;    /* what it does */
} hp_names[] = {
    {"malloc", HP_MALLOC},
    {"__libc_malloc", HP_MALLOC},
    {"__libc_malloc_impl", HP_MALLOC},
    {"free", HP_FREE},
    {"__libc_free", HP_FREE},
    {"cfree", HP_FREE},
    {"calloc", HP_CALLOC},
    {"__libc_calloc", HP_CALLOC},
    {"realloc", HP_REALLOC},
    {"__libc_realloc", HP_REALLOC},
    {"memalign", HP_MEMALIGN},
    {"__libc_memalign", HP_MEMALIGN},
    {"aligned_alloc", HP_MEMALIGN},
    {"posix_memalign", HP_POSIX_MEMALIGN},
    {"valloc", HP_VALLOC},
    {"__libc_valloc", HP_VALLOC},
    {"pvalloc", HP_PVALLOC},
    {"__libc_pvalloc", HP_PVALLOC},
    {"reallocarray", HP_REALLOCARRAY},
    {"__libc_reallocarray", HP_REALLOCARRAY},
    /* C++: operator new and new[] (plain, nothrow, aligned), delete and delete[]. */
    {"_Znwm", HP_MALLOC},
    {"_Znam", HP_MALLOC},
    {"_ZnwmRKSt9nothrow_t", HP_MALLOC},
    {"_ZnamRKSt9nothrow_t", HP_MALLOC},
    {"_ZnwmSt11align_val_t", HP_MALLOC},
    {"_ZnamSt11align_val_t", HP_MALLOC},
    {"_ZdlPv", HP_FREE},
    {"_ZdaPv", HP_FREE},
    {"_ZdlPvm", HP_FREE},
    {"_ZdaPvm", HP_FREE},
    {"_ZdlPvSt11align_val_t", HP_FREE},
    {"_ZdaPvSt11align_val_t", HP_FREE},
    {"_ZdlPvmSt11align_val_t", HP_FREE},
    {"_ZdaPvmSt11align_val_t", HP_FREE},
};

/* The profile of p's process: its own, its leader's (a thread), or its vfork parent's. */
static struct heapprof *hp_of(const struct proc *p)
{
    struct heapprof *h = p->heap;
    if (!h && p->leader != p)
        h = p->leader->heap;
    if (!h && p->mm_borrowed && p->vfork_parent)
        h = p->vfork_parent->heap;
    return h;
}

/* The calls in progress of task tid, created when new (NULL when out of memory). */
static struct hp_task *hp_task(struct heapprof *h, int tid)
{
    for (size_t i = 0; i < h->ntasks; i++)
        if (h->tasks[i].tid == tid)
            return &h->tasks[i];
    if (h->ntasks == h->captasks) {
        size_t cap = h->captasks ? 2 * h->captasks : 8;
        struct hp_task *v = realloc(h->tasks, cap * sizeof(*v));
        if (!v)
            return NULL;
        h->tasks = v;
        h->captasks = cap;
    }
    struct hp_task *t = &h->tasks[h->ntasks++];
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    return t;
}

static const struct hp_entry *hp_entry_of(const struct heapprof *h, gva_t addr)
{
    size_t lo = 0, hi = h->nentries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->entries[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->nentries && h->entries[lo].addr == addr ? &h->entries[lo] : NULL;
}

/* The code probe at an entry point: the call begins (see the file's header). */
static void hp_probe(void *ctx, gva_t addr)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    struct heapprof *h = p ? hp_of(p) : NULL;
    if (!h || !p->cpu || !p->mm)
        return;
    const struct hp_entry *e = hp_entry_of(h, addr);
    if (!e)
        return; /* another program's entry point */
    struct hp_task *t = hp_task(h, p->pid);
    if (!t || t->n > 0)
        return; /* nested in an observed call: the outer call says what happened */
    struct cpu *cpu = p->cpu;
    gva_t rsp = cpu_get(cpu, CPU_RSP), ret;
    if (copy_from_user_nofault(p->mm, &ret, rsp, sizeof(ret)) != sizeof(ret) || ret == HP_TRAMP)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        struct hp_call *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return;
        t->v = v;
        t->cap = cap;
    }
    struct hp_call c = {.fn = e->fn,
                        .a = {cpu_get(cpu, CPU_RDI), cpu_get(cpu, CPU_RSI), cpu_get(cpu, CPU_RDX)},
                        .ret = ret,
                        .site = HP_META_SITE};
    if (e->fn == HP_FREE) { /* its faults are the freed block's site's */
        const struct hp_node *b = c.a[0] ? hp_map_find(&h->map, c.a[0]) : NULL;
        c.site = b ? b->site : HP_META_SITE;
    } else {
        gva_t pcs[HP_FRAMES];
        int n = backtrace_collect_memo(p->mm, h->syms->syms, h->syms->memo, ret, rsp + 8,
                                       cpu_get(cpu, CPU_RBP), pcs, HP_FRAMES);
        c.site = hp_site_put(h, pcs, n < 0 ? 0 : (uint32_t)n);
    }
    if (put_user_u64(p->mm, rsp, HP_TRAMP) < 0)
        return;
    t->v[t->n++] = c;
}

/* The call c of p returned rax. */
static void hp_returned(struct heapprof *h, struct proc *p, const struct hp_call *c, uint64_t rax)
{
    struct mm *mm = p->mm;
    const uint64_t *a = c->a;
    switch (c->fn) {
    case HP_MALLOC:
    case HP_VALLOC:
        if (rax)
            hp_block_add(h, mm, rax, a[0], c->site);
        break;
    case HP_PVALLOC:
        if (rax)
            hp_block_add(h, mm, rax, PAGE_UP(a[0] ? a[0] : 1), c->site);
        break;
    case HP_CALLOC:
        if (rax)
            hp_block_add(h, mm, rax, a[0] * a[1], c->site);
        break;
    case HP_MEMALIGN:
        if (rax)
            hp_block_add(h, mm, rax, a[1], c->site);
        break;
    case HP_POSIX_MEMALIGN: {
        uint64_t ptr;
        if (rax == 0 && get_user_u64(mm, a[0], &ptr) == 0 && ptr)
            hp_block_add(h, mm, ptr, a[2], c->site);
        break;
    }
    case HP_FREE:
        if (a[0])
            hp_block_remove(h, mm, a[0]);
        break;
    case HP_REALLOC:
    case HP_REALLOCARRAY: {
        uint64_t size = c->fn == HP_REALLOC ? a[1] : a[1] * a[2];
        if (rax) {
            if (a[0])
                hp_block_remove(h, mm, a[0]);
            hp_block_add(h, mm, rax, size, c->site);
        } else if (size == 0 && a[0]) {
            hp_block_remove(h, mm, a[0]); /* glibc's realloc(p, 0) frees */
        }
        break;
    }
    }
    hp_note_call(h, mm->sys->fault_seq);
}

/* The observer's syscall hook: a return through the trampoline ends the task's call. */
static bool hp_on_return(struct proc *p, gva_t rip)
{
    if (rip != HP_TRAMP)
        return false;
    struct heapprof *h = hp_of(p);
    struct hp_task *t = h ? hp_task(h, p->pid) : NULL;
    if (!t || t->n == 0 || !p->cpu)
        return false; /* no call of ours: a stray jump there fails as a syscall would */
    struct hp_call c = t->v[--t->n];
    uint64_t rax = cpu_get(p->cpu, CPU_RAX);
    hp_returned(h, p, &c, rax);
    cpu_set(p->cpu, CPU_RIP, c.ret);
    cpu_keep_syscall_regs(p->cpu);
    return true;
}

/* The memory layer's fault hook: ctx is the scheduler. */
static void hp_on_fault(void *ctx, struct mm *mm, gva_t addr, enum fault_class cls)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    struct heapprof *h = p ? hp_of(p) : NULL;
    if (!h || p->mm != mm)
        return;
    struct hp_task *t = NULL;
    for (size_t i = 0; i < h->ntasks; i++)
        if (h->tasks[i].tid == p->pid)
            t = &h->tasks[i];
    bool in_call = t && t->n > 0;
    hp_charge_fault(h, mm, addr, cls, in_call ? t->v[t->n - 1].site : HP_META_SITE, in_call);
}

/* ---- life cycle ---- */

static int hp_entry_cmp(const void *a, const void *b)
{
    const struct hp_entry *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void hp_free(struct heapprof *h);

/* Puts a probe on addr unless the run has one there. */
static int hp_probe_once(struct hp_run *r, struct proc *p, gva_t addr)
{
    for (size_t i = 0; i < r->nprobed; i++)
        if (r->probed[i] == addr)
            return 0;
    if (r->nprobed == r->capprobed) {
        size_t cap = r->capprobed ? 2 * r->capprobed : 64;
        gva_t *v = realloc(r->probed, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        r->probed = v;
        r->capprobed = cap;
    }
    int rc = cpu_probe_add(p->cpu, addr, hp_probe, p->sched);
    if (rc == 0)
        r->probed[r->nprobed++] = addr;
    return rc;
}

/* Sets up the profiler for a new image; see the header. */
int heapprof_attach(struct proc *p, struct mm *mm, const char *exe, void *old, void **out,
                    char *err, size_t errlen)
{
    static const uint8_t syscall_insn[2] = {0x0f, 0x05};
    struct heapprof *h = calloc(1, sizeof(*h)), *o = old;
    struct hp_syms *hs = calloc(1, sizeof(*hs));
    gva_t addr;
    int rc = -ENOMEM;
    *out = NULL;
    if (!h || !hs)
        goto nomem;
    h->syms = hs;
    hs->refs = 1;
    h->pid = p->pid;
    if (o) {
        h->run = o->run;
        h->run->refs++;
    } else {
        if (!(h->run = calloc(1, sizeof(*h->run))) || !(h->run->procs = json_array()))
            goto nomem;
        h->run->refs = 1;
    }
    hs->syms = symtab_load(exe, mm_image_bias(mm));
    hs->memo = backtrace_memo_new();
    if (!hs->syms || symtab_nsyms(hs->syms) == 0 || symtab_find(hs->syms, "malloc", &addr) < 0) {
        snprintf(err, errlen,
                 "%s has no symbols: --profile heap needs a program that is not stripped", exe);
        hp_free(h);
        return -ENOEXEC;
    }
    if (!(h->entries = calloc(ARRAY_LEN(hp_names), sizeof(*h->entries))))
        goto nomem;
    for (size_t i = 0; i < ARRAY_LEN(hp_names); i++) {
        if (symtab_find(hs->syms, hp_names[i].name, &addr) < 0 || hp_entry_of(h, addr))
            continue;
        bool dup = false;
        for (size_t j = 0; j < h->nentries; j++)
            dup |= h->entries[j].addr == addr;
        if (dup)
            continue;
        h->entries[h->nentries].addr = addr;
        h->entries[h->nentries++].fn = hp_names[i].fn;
        if (p->cpu && (rc = hp_probe_once(h->run, p, addr)) < 0) {
            snprintf(err, errlen, "%s: cannot observe %s: %s", exe, hp_names[i].name,
                     strerror(-rc));
            hp_free(h);
            return rc;
        }
    }
    qsort(h->entries, h->nentries, sizeof(*h->entries), hp_entry_cmp);
    if ((rc = mm_map(mm, HP_TRAMP, PAGE_SIZE, VM_READ | VM_EXEC, 0, VMA_CHECKER, NULL, 0, 0)) < 0 ||
        (rc = uaccess_poke(mm, HP_TRAMP, syscall_insn, sizeof(syscall_insn))) < 0) {
        snprintf(err, errlen, "%s: cannot map the heap profiler's trampoline: %s", exe,
                 strerror(-rc));
        hp_free(h);
        return rc;
    }
    mm->sys->on_fault.faulted = hp_on_fault;
    mm->sys->on_fault.ctx = p->sched;
    *out = h;
    return 0;
nomem:
    snprintf(err, errlen, "%s: %s", exe, strerror(ENOMEM));
    hp_free(h);
    if (!h)
        free(hs);
    return -ENOMEM;
}

/* Writes the profile's JSON section into the run's (once). */
static void hp_end(struct heapprof *h)
{
    if (h->ended)
        return;
    h->ended = true;
    json_t *o = hp_json(h);
    if (o)
        json_array_append_new(h->run->procs, o);
}

static void hp_free(struct heapprof *h)
{
    if (!h)
        return;
    if (h->syms && --h->syms->refs == 0) {
        symtab_free(h->syms->syms);
        backtrace_memo_free(h->syms->memo);
        free(h->syms);
    }
    if (h->run && --h->run->refs == 0) {
        json_decref(h->run->procs);
        free(h->run->probed);
        free(h->run);
    }
    free(h->entries);
    hp_map_free(&h->map);
    free(h->sites);
    stack_index_free(&h->stab);
    for (size_t i = 0; i < h->ntasks; i++)
        free(h->tasks[i].v);
    free(h->tasks);
    free(h->tl);
    free(h);
}

/* The child's profile: the parent's live blocks and sites, its own counts from now. */
static int hp_on_fork(struct proc *parent, struct proc *child)
{
    const struct heapprof *h = parent->heap;
    struct heapprof *c = calloc(1, sizeof(*c));
    bool fail = !c;
    if (fail)
        return -ENOMEM;
    c->run = h->run;
    c->run->refs++;
    c->syms = h->syms;
    c->syms->refs++;
    c->pid = child->pid;
    c->ppid = parent->pid;
    c->entries = memdup_array(h->entries, h->nentries, sizeof(*h->entries), &fail);
    c->nentries = h->nentries;
    fail |= hp_map_dup(&h->map, &c->map) < 0;
    c->sites = memdup_array(h->sites, h->nsites, sizeof(*h->sites), &fail);
    c->nsites = c->capsites = h->nsites;
    fail |= stack_index_dup(&c->stab, &h->stab) < 0;
    for (size_t i = 0; c->sites && i < c->nsites; i++) {
        struct hp_site *s = &c->sites[i];
        s->allocs = s->bytes_total = 0;
        s->peak_bytes = s->live_bytes;
        s->peak_blocks = s->live_blocks;
        memset(s->faults, 0, sizeof(s->faults));
        s->resident_peak = s->resident_exit = 0;
    }
    c->live_bytes = c->peak_bytes = h->live_bytes;
    c->live_blocks = c->peak_blocks = h->live_blocks;
    c->peak_fault_seq = child->mm ? child->mm->sys->fault_seq : 0; /* its peak: the fork */
    if (fail) {
        hp_free(c);
        return -ENOMEM;
    }
    child->heap = c;
    return 0;
}

/* The profile for the new image mm of p (p still has its old one). */
static int hp_on_exec(struct proc *p, struct mm *mm, const char *exe, void **out, char *err,
                      size_t errlen)
{
    /* A vfork child or a thread has no profile of its own: the run's state comes from the
     * one it allocates in, so that its new program's section reaches the report too. */
    return heapprof_attach(p, mm, exe, hp_of(p), out, err, errlen);
}

/* p ends: the summary on out, the JSON section kept for the report. */
static uint64_t hp_on_exit(struct proc *p, FILE *out)
{
    struct heapprof *h = p->heap;
    if (!h || h->ended)
        return 0;
    h->pid = p->pid; /* a fork child's was not known yet at the fork hook */
    hp_note_end(h, p->mm ? p->mm->sys->fault_seq : 0);
    hp_snapshot_peak(h, p->mm);
    if (p->mm)
        hp_walk_exit(h, p->mm);
    hp_print_summary(h, out);
    hp_end(h);
    return 0;
}

/* Frees a process's profile; an image replaced by exec leaves its section first. */
static void hp_on_release(void *state)
{
    struct heapprof *h = state;
    if (!h)
        return;
    hp_snapshot_peak(h, NULL);
    hp_end(h);
    hp_free(h);
}

/* The report's section; see the header. */
json_t *heapprof_json(const struct sched *s)
{
    const struct proc *p = s ? s->init : NULL;
    if (!p || !p->opt || p->opt->observer != &heapprof_observer || !p->heap)
        return NULL;
    const struct heapprof *h = p->heap;
    return json_deep_copy(h->run->procs);
}

/* The heap profiler as the process layer sees it (debug_hooks.h). */
const struct proc_observer heapprof_observer = {
    .exec = hp_on_exec,
    .fork = hp_on_fork,
    .exit = hp_on_exit,
    .release = hp_on_release,
    .syscall = hp_on_return,
};
