/* The heap checker's reports: the errors found during an intercepted call (a red zone
 * changed, a double or invalid free), what an address of the checker's area is, for the
 * crash report of a fault there (heapcheck_explain, called by src/report/crash.c), and at a
 * process's end the leak search and summary (heapcheck_exit_report, called by
 * src/proc/sched.c). Leaks are found as Valgrind does: a live block is reachable when a pointer
 * into it lies in the program's memory outside the checker's area or in another reachable
 * block; the rest is lost. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"

/* Appends printf output to buf (cut at len). */
static void __attribute__((format(printf, 4, 5)))
hc_bprintf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    if (*pos >= len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos = *pos + (size_t)n < len ? *pos + (size_t)n : len;
}

/* A depot stack as lines "    #0  0x401136 main+22" into buf. */
static void hc_bstack(const struct heapcheck *h, uint32_t id, char *buf, size_t len, size_t *pos)
{
    if (id >= h->nstacks || h->stacks[id].n == 0) {
        hc_bprintf(buf, len, pos, "    (no stack)\n");
        return;
    }
    for (uint32_t i = 0; i < h->stacks[id].n; i++) {
        char f[160];
        backtrace_format(h->syms->syms, h->stacks[id].pcs[i], f, sizeof(f));
        hc_bprintf(buf, len, pos, "    #%u  %s\n", i, f);
    }
}

/* ---- errors found during a call ---- */

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
int hc_check_redzones(struct heapcheck *h, struct proc *p, const struct hc_block *b, uint32_t stack,
                      const char *when)
{
    struct mm *mm = p->mm;
    int found = 0;
    struct {
        gva_t lo, hi; /* red zone */
        bool after;   /* behind the block */
    } zones[2] = {{hc_slot(b), b->user, false},
                  {b->user + b->size, hc_slot(b) + hc_slot_size(h, b), true}};
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
            fprintf(
                stderr,
                "vmemu: heap: pid %d tid %d: heap-buffer-overflow: write of %llu byte%s at 0x%llx, "
                "%llu byte%s after the %llu-byte block at 0x%llx (red zone changed, found "
                "%s)\n",
                p->leader->pid, p->pid, (unsigned long long)n, n == 1 ? "" : "s",
                (unsigned long long)first, (unsigned long long)(first - b->user - b->size),
                first - b->user - b->size == 1 ? "" : "s", (unsigned long long)b->size,
                (unsigned long long)b->user, when);
        else
            fprintf(stderr,
                    "vmemu: heap: pid %d tid %d: heap-buffer-underflow: write of %llu byte%s at "
                    "0x%llx, "
                    "%llu byte%s before the %llu-byte block at 0x%llx (red zone changed, found "
                    "%s)\n",
                    p->leader->pid, p->pid, (unsigned long long)n, n == 1 ? "" : "s",
                    (unsigned long long)first, (unsigned long long)(b->user - first),
                    b->user - first == 1 ? "" : "s", (unsigned long long)b->size,
                    (unsigned long long)b->user, when);
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
    }
    return found;
}

/* A free (or realloc) of ptr by p that is no live block's start: double free, free into a
 * block's middle, or of memory malloc never returned. */
void hc_bad_free(struct heapcheck *h, const struct proc *p, gva_t ptr, uint32_t stack,
                 const char *call)
{
    struct hc_block *b = hc_lookup(h, ptr);
    if (!b)
        b = hc_find(h, ptr);
    h->errors++;
    if (b && b->user == ptr && b->state != HC_LIVE) {
        bool re = strcmp(call, "realloc") == 0;
        fprintf(stderr,
                "vmemu: heap: pid %d tid %d: %s: %s(0x%llx) of the %llu-byte block already freed\n",
                p->leader->pid, p->pid, re ? "realloc-of-freed-block" : "double-free", call,
                (unsigned long long)ptr, (unsigned long long)b->size);
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
        return;
    }
    if (b && ptr >= b->user && ptr < b->user + b->size) {
        fprintf(stderr,
                "vmemu: heap: pid %d tid %d: invalid-free: %s(0x%llx) points %llu bytes inside "
                "the %llu-byte block at 0x%llx%s\n",
                p->leader->pid, p->pid, call, (unsigned long long)ptr,
                (unsigned long long)(ptr - b->user), (unsigned long long)b->size,
                (unsigned long long)b->user, b->state == HC_LIVE ? "" : " (freed)");
        hc_print_stack(h, stderr, stack);
        hc_print_sites(h, b);
        return;
    }
    fprintf(stderr,
            "vmemu: heap: pid %d tid %d: invalid-free: %s(0x%llx) of memory malloc did not "
            "return\n",
            p->leader->pid, p->pid, call, (unsigned long long)ptr);
    hc_print_stack(h, stderr, stack);
}

/* Whether the set holds rip. */
static bool hc_set_has(const struct hc_set *set, gva_t rip)
{
    if (set->cap == 0)
        return false;
    for (size_t j = (rip * 0x9e3779b97f4a7c15ULL >> 32) & (set->cap - 1); set->v[j];
         j = (j + 1) & (set->cap - 1))
        if (set->v[j] == rip)
            return true;
    return false;
}

/* Adds rip (not 0) to the set; returns true (false when out of memory). */
static bool hc_set_add(struct hc_set *set, gva_t rip)
{
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        gva_t *t = calloc(cap, sizeof(*t));
        if (!t)
            return false;
        for (size_t i = 0; i < set->cap; i++)
            if (set->v[i]) {
                size_t j = (set->v[i] * 0x9e3779b97f4a7c15ULL >> 32) & (cap - 1);
                while (t[j])
                    j = (j + 1) & (cap - 1);
                t[j] = set->v[i];
            }
        free(set->v);
        set->v = t;
        set->cap = cap;
    }
    size_t j = (rip * 0x9e3779b97f4a7c15ULL >> 32) & (set->cap - 1);
    while (set->v[j] && set->v[j] != rip)
        j = (j + 1) & (set->cap - 1);
    if (!set->v[j]) {
        set->v[j] = rip;
        set->n++;
    }
    return true;
}

/* Which of libc's string functions rip is in: HC_READS_GROUP for those that scan a string
 * (strlen, strchr, strcmp, strcpy and their kin: their loops read 64- or 128-byte aligned
 * groups of vectors whole, past the string's end), HC_READS_CHUNK for memcpy and memmove
 * (aligned 16-byte loads of the source, past its end), 0 for the others. Any variant
 * counts (__strlen_sse2, musl's strlen, __memcpy_ssse3, ...). */
static unsigned hc_string_fn(const struct heapcheck *h, gva_t rip)
{
    static const char *const scans[] = {
        "strlen",    "strnlen", "strchr",  "strchrnul", "strrchr",    "memchr",      "memrchr",
        "rawmemchr", "strcmp",  "strncmp", "memcmp",    "bcmp",       "strcpy",      "stpcpy",
        "strncpy",   "stpncpy", "strcat",  "strncat",   "strcasecmp", "strncasecmp", "strspn",
        "strcspn",   "strpbrk", "strstr",  "wcslen",    "wcsnlen",    "wcschr",      "wcscmp",
        "wmemchr",   "wcscpy",  "strdup",  "strndup"};
    static const char *const copies[] = {"memcpy",  "memmove",  "mempcpy",
                                         "wmemcpy", "wmemmove", "bcopy"};
    uint64_t off;
    const char *name = symtab_lookup(h->syms->syms, rip, &off);
    if (!name)
        return 0;
    while (*name == '_')
        name++;
    for (int k = 0; k < 2; k++) {
        const char *const *names = k ? copies : scans;
        size_t count = k ? ARRAY_LEN(copies) : ARRAY_LEN(scans);
        for (size_t i = 0; i < count; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(name, names[i], n) == 0 && (name[n] == '\0' || name[n] == '_'))
                return k ? HC_READS_CHUNK : HC_READS_GROUP;
        }
    }
    return 0;
}

/* Whether [lo, hi) of the arena holds a byte of a live block. */
static bool hc_live_in(const struct heapcheck *h, gva_t lo, gva_t hi)
{
    lo = lo < HC_BASE ? HC_BASE : lo & ~(gva_t)(HC_GRANULE - 1);
    for (gva_t a = lo; a < hi && a < h->mapped_end; a += HC_GRANULE)
        if (h->shadow[(a - HC_BASE) / HC_GRANULE] < HC_GRANULE)
            return true;
    return false;
}

/* Whether the read of [va, va+size) at rip is a string function's read past a live string
 * (no error: memcheck replaces these functions, here they run as they are). */
static bool hc_string_read(struct heapcheck *h, gva_t rip, gva_t va, unsigned size)
{
    unsigned kind = hc_set_has(&h->strfn, rip)    ? HC_READS_GROUP
                    : hc_set_has(&h->copyfn, rip) ? HC_READS_CHUNK
                                                  : 0;
    if (kind == 0 && !hc_set_has(&h->otherfn, rip)) {
        kind = hc_string_fn(h, rip);
        hc_set_add(kind == HC_READS_GROUP   ? &h->strfn
                   : kind == HC_READS_CHUNK ? &h->copyfn
                                            : &h->otherfn,
                   rip);
    }
    /* Unicorn hands a vector load to the hook as 8-byte parts: va may be the second to
     * fourth part of a 16- or 32-byte load that starts up to 24 bytes before it. A scan
     * reads the aligned 64-byte group that holds the string's start from its beginning,
     * and up to two groups past the one that holds its end (glibc's __strlen_sse2); a copy
     * reads the rest of the source's last aligned 16 bytes. */
    if (kind == HC_READS_GROUP)
        return hc_live_in(h, va - 128, va + size + 64);
    if (kind == HC_READS_CHUNK)
        return hc_live_in(h, (va - 24) & ~15ULL, ((va + size + 15) & ~15ULL));
    return false;
}

/* Prints the report of a bad access of size bytes at addr (op READ or WRITE) whose first
 * bad byte is bad, by the instruction at rip (of the syscall `call` when not NULL): the
 * block it hit and how far from it, the stack, and the block's allocation and free sites. */
static void hc_report_bad(struct heapcheck *h, struct proc *p, const char *op, uint64_t size,
                          gva_t addr, gva_t bad, gva_t rip, const char *call)
{
    const struct hc_block *b = hc_find(h, bad);
    int pid = p->leader ? p->leader->pid : p->pid;
    char in[48] = "";

    if (call != NULL)
        snprintf(in, sizeof(in), " in %s", call);
    h->errors++;
    if (!b) {
        fprintf(stderr,
                "vmemu: heap: pid %d tid %d: heap-wild-access: %s of size %llu at 0x%llx%s, in "
                "no block\n",
                pid, p->pid, op, (unsigned long long)size, (unsigned long long)addr, in);
    } else {
        gva_t end = b->user + b->size;
        bool freed = b->state != HC_LIVE;
        const char *kind = freed           ? "heap-use-after-free"
                           : bad < b->user ? "heap-buffer-underflow"
                                           : "heap-buffer-overflow";
        uint64_t dist = addr < b->user ? b->user - addr : addr >= end ? addr - end : addr - b->user;
        const char *where = addr < b->user ? "before" : addr >= end ? "after" : "inside";
        fprintf(stderr,
                "vmemu: heap: pid %d tid %d: %s: %s of size %llu at 0x%llx%s, %llu byte%s %s the "
                "%llu-byte block at 0x%llx%s\n",
                pid, p->pid, kind, op, (unsigned long long)size, (unsigned long long)addr, in,
                (unsigned long long)dist, dist == 1 ? "" : "s", where, (unsigned long long)b->size,
                (unsigned long long)b->user, freed ? " (freed)" : "");
    }
    gva_t pcs[HC_FRAMES];
    int n = backtrace_collect(p->mm, h->syms->syms, rip, cpu_get(p->cpu, CPU_RSP),
                              cpu_get(p->cpu, CPU_RBP), pcs, HC_FRAMES);
    backtrace_print(stderr, h->syms->syms, pcs, n, "    ");
    if (b)
        hc_print_sites(h, b);
}

/* A bad access to the compact arena; see heapcheck_int.h. */
void hc_bad_access(struct heapcheck *h, struct proc *p, gva_t va, unsigned size, bool write,
                   gva_t bad)
{
    gva_t rip = cpu_get(p->cpu, CPU_RIP);
    if (hc_set_has(&h->seen, rip))
        return; /* one report per instruction, as memcheck does per context */
    if (!write && hc_string_read(h, rip, va, size))
        return;
    hc_set_add(&h->seen, rip);
    hc_report_bad(h, p, write ? "WRITE" : "READ", size, va, bad, rip, NULL);
}

/* A syscall's bad copy; see heapcheck_int.h. As ASan's interceptors: the address is the
 * first bad byte, the size the whole range the call was given. */
void hc_bad_copy(struct heapcheck *h, struct proc *p, gva_t va, size_t n, bool write, gva_t bad,
                 const char *call)
{
    gva_t rip = p->trap.rip;
    (void)va;
    if (hc_set_has(&h->seen, rip))
        return; /* one report per syscall instruction, as for the program's own accesses */
    hc_set_add(&h->seen, rip);
    hc_report_bad(h, p, write ? "WRITE" : "READ", n, bad, bad, rip, call);
}

/* ---- after the fact ---- */

/* Says what addr of the checker's area is; see the header. */
bool heapcheck_explain(const struct proc *p, gva_t addr, const char **kind, char *buf, size_t len)
{
    const struct heapcheck *h = p->heap;
    size_t pos = 0;
    if (!h || addr < HC_BASE || addr >= h->mapped_end || len == 0)
        return false;
    buf[0] = '\0';
    const struct hc_block *b = hc_find(h, addr);
    if (!b) {
        *kind = "heap-wild-access";
        hc_bprintf(buf, len, &pos, "0x%llx is in the heap checker's area, in no block\n",
                   (unsigned long long)addr);
        return true;
    }
    gva_t end = b->user + b->size;
    bool freed = b->state != HC_LIVE;
    const char *state = freed ? ", freed" : "";
    if (addr >= b->user && addr < end) {
        *kind = freed ? "heap-use-after-free" : "heap-wild-access";
        hc_bprintf(buf, len, &pos, "0x%llx is %llu bytes inside the %llu-byte block at 0x%llx%s\n",
                   (unsigned long long)addr, (unsigned long long)(addr - b->user),
                   (unsigned long long)b->size, (unsigned long long)b->user, state);
    } else if (addr < b->user) {
        *kind = freed ? "heap-use-after-free" : "heap-buffer-underflow";
        hc_bprintf(buf, len, &pos, "0x%llx is %llu bytes before the %llu-byte block at 0x%llx%s\n",
                   (unsigned long long)addr, (unsigned long long)(b->user - addr),
                   (unsigned long long)b->size, (unsigned long long)b->user, state);
    } else {
        *kind = freed ? "heap-use-after-free" : "heap-buffer-overflow";
        hc_bprintf(buf, len, &pos, "0x%llx is %llu bytes after the %llu-byte block at 0x%llx%s\n",
                   (unsigned long long)addr, (unsigned long long)(addr - end),
                   (unsigned long long)b->size, (unsigned long long)b->user, state);
    }
    hc_bprintf(buf, len, &pos, "allocated at:\n");
    hc_bstack(h, b->alloc_stack, buf, len, &pos);
    if (freed) {
        hc_bprintf(buf, len, &pos, "freed at:\n");
        hc_bstack(h, b->free_stack, buf, len, &pos);
    }
    if (pos > 0 && buf[pos - 1] == '\n')
        buf[pos - 1] = '\0'; /* no trailing newline: the caller prints the lines */
    return true;
}

/* The leak search's work list. */
struct hc_scan {
    struct heapcheck *h; /* the checker */
    size_t *work;        /* block indexes reached but not scanned yet */
    size_t nwork, cap;   /* used, allocated */
    bool fail;           /* out of memory: the search is incomplete */
};

/* Marks the live block value points into (if any) reached. */
static void hc_reach(struct hc_scan *s, uint64_t value)
{
    struct heapcheck *h = s->h;
    if (value < HC_BASE || value >= h->next)
        return;
    struct hc_block *b = hc_find(h, value);
    if (!b || b->user == 0 || b->state != HC_LIVE || b->reached || value < b->user ||
        value >= b->user + (b->size ? b->size : 1))
        return;
    b->reached = true;
    if (s->nwork == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        size_t *g = realloc(s->work, cap * sizeof(*g));
        if (!g) {
            s->fail = true;
            return;
        }
        s->work = g;
        s->cap = cap;
    }
    s->work[s->nwork++] = (size_t)(b - h->blocks);
}

/* One range of the leak search's page walk. */
struct hc_scan_pages {
    struct hc_scan *s; /* the search */
    struct mm *mm;     /* the address space */
    gva_t start, end;  /* the range (start 8-byte aligned) */
};

/* Scans one mapped page of the range for pointers. */
static void hc_scan_page(void *arg, gva_t va, pte_t *ptep)
{
    struct hc_scan_pages *c = arg;
    uint64_t page[PAGE_SIZE / 8];
    (void)ptep;
    gva_t lo = va < c->start ? c->start : va;
    gva_t hi = va + PAGE_SIZE < c->end ? va + PAGE_SIZE : c->end;
    size_t n = copy_from_user_nofault(c->mm, page, lo, hi - lo) / 8;
    for (size_t i = 0; i < n; i++)
        hc_reach(c->s, page[i]);
}

/* Scans the present pages of [start, end) for pointers (8-byte aligned words), walking the
 * page tables: the work follows what is mapped, not the size of the range. */
static void hc_scan_range(struct hc_scan *s, struct mm *mm, gva_t start, gva_t end)
{
    struct hc_scan_pages c = {s, mm, start & ~7ULL, end};
    pt_for_each(&mm->pt, &mm->sys->phys, PAGE_DOWN(c.start), end, hc_scan_page, &c);
}

struct hc_leak {
    uint32_t stack;  /* allocation site */
    uint64_t bytes;  /* bytes lost there */
    uint64_t blocks; /* blocks lost there */
};

static int hc_leak_cmp(const void *a, const void *b)
{
    const struct hc_leak *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Leak report and summary at p's end; see the header. */
uint64_t heapcheck_exit_report(struct proc *p, FILE *out)
{
    struct heapcheck *h = p->heap;
    if (!h)
        return 0;
    uint64_t errors = h->errors;
    uint64_t lost = 0, lost_blocks = 0, reach = 0, reach_blocks = 0;
    struct mm *mm = p->mm;
    if (mm && p->term_signal && mm->last_fault.signo && mm->last_fault.va >= HC_BASE &&
        mm->last_fault.va < h->mapped_end)
        errors++; /* the crash report described it */
    if (mm && p->term_signal == 0) {
        struct hc_scan s = {.h = h};
        for (size_t i = 0; i < h->nblocks; i++)
            h->blocks[i].reached = false;
        for (size_t i = 0; i < mm->vmas.n; i++) {
            gva_t vs = mm->vmas.v[i].start, ve = mm->vmas.v[i].end;
            if (mm->vmas.v[i].kind == VMA_CHECKER)
                continue;
            hc_scan_range(&s, mm, vs, ve);
        }
        while (s.nwork > 0) {
            const struct hc_block *b = &h->blocks[s.work[--s.nwork]];
            hc_scan_range(&s, mm, b->user, b->user + b->size);
        }
        free(s.work);
        struct hc_leak *leaks = NULL;
        size_t nleaks = 0;
        for (size_t i = 0; i < h->nblocks && !s.fail; i++) {
            const struct hc_block *b = &h->blocks[i];
            if (b->user == 0 || b->state != HC_LIVE)
                continue;
            if (b->reached) {
                reach += b->size;
                reach_blocks++;
                continue;
            }
            lost += b->size;
            lost_blocks++;
            size_t j = 0;
            while (j < nleaks && leaks[j].stack != b->alloc_stack)
                j++;
            if (j == nleaks) {
                struct hc_leak *g = realloc(leaks, (nleaks + 1) * sizeof(*g));
                if (!g)
                    break;
                leaks = g;
                leaks[nleaks++] = (struct hc_leak){b->alloc_stack, 0, 0};
            }
            leaks[j].bytes += b->size;
            leaks[j].blocks++;
        }
        if (nleaks > 0)
            qsort(leaks, nleaks, sizeof(*leaks), hc_leak_cmp);
        for (size_t j = 0; j < nleaks; j++) {
            fprintf(out, "vmemu: heap: pid %d: leak of %llu %s in %llu %s, allocated at:\n", p->pid,
                    (unsigned long long)leaks[j].bytes, plural(leaks[j].bytes, "byte", "bytes"),
                    (unsigned long long)leaks[j].blocks,
                    plural(leaks[j].blocks, "block", "blocks"));
            hc_print_stack(h, out, leaks[j].stack);
        }
        errors += nleaks;
        free(leaks);
    }
    bool first = p->sched && p->sched->init == p;
    if (first || errors > 0)
        fprintf(out,
                "vmemu: heap: pid %d: %llu %s, %llu %s, %llu bytes allocated; %llu bytes lost "
                "in %llu %s, %llu bytes still reachable in %llu %s; %llu %s\n",
                p->pid, (unsigned long long)h->nallocs,
                plural(h->nallocs, "allocation", "allocations"), (unsigned long long)h->nfrees,
                plural(h->nfrees, "free", "frees"), (unsigned long long)h->bytes_allocated,
                (unsigned long long)lost, (unsigned long long)lost_blocks,
                plural(lost_blocks, "block", "blocks"), (unsigned long long)reach,
                (unsigned long long)reach_blocks, plural(reach_blocks, "block", "blocks"),
                (unsigned long long)errors, plural(errors, "error", "errors"));
    return errors;
}
