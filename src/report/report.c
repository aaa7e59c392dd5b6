/* What the user sees of a finished run: the --stats summary (in the spirit of
 * /usr/bin/time -v) of the first process followed, when the program forked, by one line
 * per process, the totals of the process tree and the scheduler's counters; the --report
 * JSON file (schema in the project notes: fields may be added, never renamed) with every
 * process, their totals and the VMA table of the first process at exit; and the --maps
 * table of areas with their resident, dirty and swapped pages (counted by mm_vma_usage(),
 * as smaps counts them). Called by main.c once the run has ended (the first process's mm
 * still alive, the others' counters frozen in p->usage) and by the crash report
 * (src/crash.c), which shares its facts with the JSON "crash" object. Nothing here faults
 * a page in or changes a counter. */
#include "vmemu/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "vmemu/fault.h"
#include "vmemu/mm_stat.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

#define JSON_MAX_DEPTH 8                              /* deepest nesting the report writes */
#define KIB_PER_PAGE   ((uint64_t)(PAGE_SIZE / 1024)) /* KiB in one page */

/* The counters of p as the reports show them: live from its address space while it has
 * one (page-table pages counted now), else the ones frozen at its exit. */
static struct proc_usage report_usage(const struct proc *p)
{
    struct proc_usage u = proc_usage_now(p);

    if (p->mm != NULL)
        u.pt_pages_at_exit = p->mm->pt.table_pages;
    return u;
}

static uint64_t proc_unicorn_flushes(const struct proc *p)
{
    return p->cpu != NULL ? cpu_tlb_flushes(p->cpu) : 0;
}

static uint64_t proc_wall_ns(const struct proc *p)
{
    uint64_t now = now_ns();

    return p->start_ns != 0 && now > p->start_ns ? now - p->start_ns : 0;
}

/* The thrashing indicator: pages brought back after an eviction (swap-ins and file
 * re-reads) per 1000 page faults. */
static uint64_t refault_permille(const struct fault_stats *f)
{
    uint64_t faults = f->minor + f->major;
    return faults ? (f->swap_in + f->file_refault) * 1000 / faults : 0;
}

/* Whether the refaults say the program is thrashing: at least half of its faults bring
 * back an evicted page, and there are enough of them to matter. */
static bool thrashing(const struct fault_stats *f)
{
    return refault_permille(f) >= 500 && f->swap_in + f->file_refault >= 64;
}

static const char *proc_name(const struct proc *p)
{
    return p->comm[0] != '\0' ? p->comm : (p->exe != NULL ? p->exe : "?");
}

/* The paging part of the summary: policy, swap, what reclaim did, the thrashing
 * indicator. */
static void report_paging(FILE *out, const struct proc *p, const struct fault_stats *f)
{
    const struct vmsys *sys = p->sys;
    const struct reclaim_stats *r = &sys->reclaim->stats;
    const struct swap_area *sw = &sys->swap;

    fprintf(out, "\tReplacement policy: %s", reclaim_policy_name(sys->reclaim->policy));
    if (sys->reclaim->policy == POLICY_RANDOM)
        fprintf(out, " (seed %" PRIu64 ")", sys->reclaim->seed);
    fprintf(out, "\n\tSwap area: %" PRIu64 " KiB max%s%s\n", sw->max_slots * KIB_PER_PAGE,
            sw->path ? ", file " : (sw->max_slots ? ", temporary file" : " (no swap)"),
            sw->path ? sw->path : "");
    fprintf(out, "\tPages evicted: %" PRIu64 "\n", r->evictions);
    fprintf(out, "\t  swapped out (written to swap): %" PRIu64 "\n", r->swap_outs);
    fprintf(out, "\t  swapped out clean (swap copy still valid): %" PRIu64 "\n", r->swap_clean);
    fprintf(out, "\t  file pages written back: %" PRIu64 "\n", r->writebacks);
    fprintf(out, "\t  clean file pages dropped: %" PRIu64 "\n", r->file_dropped);
    fprintf(out, "\tPages swapped in (read from swap): %" PRIu64 "\n", sw->reads);
    fprintf(out, "\tReclaim scans (frames examined): %" PRIu64 "\n", r->scans);
    fprintf(out, "\tPeak swap use: %" PRIu64 " pages (%" PRIu64 " KiB)\n", sw->peak_used,
            sw->peak_used * KIB_PER_PAGE);
    fprintf(out, "\tRefaults per 1000 faults (thrashing indicator): %" PRIu64 " (%s)\n",
            refault_permille(f), thrashing(f) ? "thrashing" : "not thrashing");
}

/* Prints the /usr/bin/time -v style summary of a finished process: a first line saying
 * how it ended, then one tab-indented "label: value" line per counter. */
void report_stats(FILE *out, const struct proc *p)
{
    const struct proc_usage u = report_usage(p);
    const struct mm_stats *st = &u.mm;
    const struct fault_stats *f = &st->faults;
    const struct vmsys *sys = p->sys;
    uint64_t wall = proc_wall_ns(p);

    if (p->term_signal != 0)
        fprintf(out, "vmemu: %s killed by signal %d (%s)\n", proc_name(p), p->term_signal,
                crash_signal_name(p->term_signal));
    else
        fprintf(out, "vmemu: %s exited with status %d\n", proc_name(p), p->exit_code);
    fprintf(out, "\tCommand: \"%s\"\n", p->cmdline != NULL ? p->cmdline : proc_name(p));
    fprintf(out, "\tProcess id: %d\n", p->pid);
    fprintf(out, "\tExit status: %d\n", proc_wait_status(p));
    fprintf(out, "\tMinor page faults: %" PRIu64 "\n", f->minor);
    fprintf(out, "\t  zero page: %" PRIu64 "\n", f->zero_page);
    fprintf(out, "\t  new anonymous page: %" PRIu64 "\n", f->anon);
    fprintf(out, "\t  page-cache hit: %" PRIu64 "\n", f->file_minor);
    fprintf(out, "\t  COW copy: %" PRIu64 "\n", f->cow);
    fprintf(out, "\t  COW reuse: %" PRIu64 "\n", f->cow_reuse);
    fprintf(out, "\t  shared file write: %" PRIu64 "\n", f->shared_write);
    fprintf(out, "\t  swap-cache hit: %" PRIu64 "\n", f->swap_cache);
    fprintf(out, "\tMajor page faults: %" PRIu64 "\n", f->major);
    fprintf(out, "\t  swap-in: %" PRIu64 "\n", f->swap_in);
    fprintf(out, "\t  file read: %" PRIu64 "\n", f->file_major);
    fprintf(out, "\t    re-read after eviction: %" PRIu64 "\n", f->file_refault);
    fprintf(out, "\tStack growth faults: %" PRIu64 "\n", f->stack_grow);
    fprintf(out, "\tPages populated ahead (MAP_POPULATE, mlock; not faults): %" PRIu64 "\n",
            f->populate);
    fprintf(out, "\tInvalid accesses (SIGSEGV): %" PRIu64 "\n", f->segv);
    fprintf(out, "\tAccesses past the end of a file (SIGBUS): %" PRIu64 "\n", f->sigbus);
    fprintf(out, "\tvmemu TLB hits: %" PRIu64 "\n", sys->tlb.hits);
    fprintf(out, "\tvmemu TLB misses (page walks): %" PRIu64 "\n", sys->tlb.misses);
    fprintf(out, "\tvmemu TLB invalidations: %" PRIu64 "\n", sys->tlb.invalidations);
    fprintf(out, "\tvmemu TLB flushes: %" PRIu64 "\n", sys->tlb.flushes);
    fprintf(out, "\tUnicorn TLB fills (depends on Unicorn's TLB size): %" PRIu64 "\n", st->fills);
    fprintf(out, "\tUnicorn TLB flushes: %" PRIu64 "\n", proc_unicorn_flushes(p));
    fprintf(out, "\tPeak resident pages: %" PRIu64 " (%" PRIu64 " KiB)\n", st->peak_rss,
            st->peak_rss * KIB_PER_PAGE);
    fprintf(out, "\tResident pages at exit: %" PRIu64 " (%" PRIu64 " KiB)\n", st->rss,
            st->rss * KIB_PER_PAGE);
    fprintf(out, "\tPeak virtual size: %" PRIu64 " pages (%" PRIu64 " KiB)\n", st->peak_vm,
            st->peak_vm * KIB_PER_PAGE);
    fprintf(out, "\tPage-table pages (now / peak): %" PRIu64 " / %" PRIu64 "\n", u.pt_pages_at_exit,
            st->peak_pt_pages);
    fprintf(out, "\tFrames in pool: %" PRIu64 "\n", sys->phys.nframes);
    fprintf(out, "\tPeak frames used: %" PRIu64 "\n", sys->phys.peak_used);
    fprintf(out, "\tPage-cache pages: %" PRIu64 "\n", sys->pc.pages);
    report_paging(out, p, f);
    fprintf(out, "\tSyscalls: %" PRIu64 "\n", u.syscalls);
    fprintf(out, "\tGuest run time (s): %" PRIu64 ".%03" PRIu64 "\n", u.cpu_ns / 1000000000,
            u.cpu_ns / 1000000 % 1000);
    fprintf(out, "\tWall time (s): %" PRIu64 ".%03" PRIu64 "\n", wall / 1000000000,
            wall / 1000000 % 1000);
}

/* The counters of a whole run: counts (faults, resident and page-table pages at exit,
 * shared pages, syscalls, run time) summed over its processes, peaks (peak_rss, peak_vm,
 * peak_pt_pages) the highest of any one process. */
struct report_totals {
    struct proc_usage u; /* sums, peaks as maxima */
    size_t nprocs;       /* processes counted */
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void fault_stats_add(struct fault_stats *sum, const struct fault_stats *f)
{
    sum->minor += f->minor;
    sum->major += f->major;
    sum->zero_page += f->zero_page;
    sum->anon += f->anon;
    sum->file_minor += f->file_minor;
    sum->file_major += f->file_major;
    sum->file_refault += f->file_refault;
    sum->swap_in += f->swap_in;
    sum->swap_cache += f->swap_cache;
    sum->cow += f->cow;
    sum->cow_reuse += f->cow_reuse;
    sum->shared_write += f->shared_write;
    sum->segv += f->segv;
    sum->sigbus += f->sigbus;
    sum->stack_grow += f->stack_grow;
    sum->populate += f->populate;
}

/* Adds the counters of one process to t. */
static void report_totals_add(struct report_totals *t, const struct proc_usage *u)
{
    fault_stats_add(&t->u.mm.faults, &u->mm.faults);
    t->u.mm.fills += u->mm.fills;
    t->u.mm.rss += u->mm.rss;
    t->u.mm.peak_rss = max_u64(t->u.mm.peak_rss, u->mm.peak_rss);
    t->u.mm.peak_vm = max_u64(t->u.mm.peak_vm, u->mm.peak_vm);
    t->u.mm.peak_pt_pages = max_u64(t->u.mm.peak_pt_pages, u->mm.peak_pt_pages);
    t->u.syscalls += u->syscalls;
    t->u.cpu_ns += u->cpu_ns;
    t->u.shared_at_exit += u->shared_at_exit;
    t->u.pt_pages_at_exit += u->pt_pages_at_exit;
    t->nprocs++;
}

/* The first process of the run (whose status vmemu returns), or NULL when there is none. */
static const struct proc *report_first(const struct sched *s)
{
    return s->init != NULL ? s->init : (s->nprocs != 0 ? s->procs[0] : NULL);
}

/* The totals of every process of s. */
static struct report_totals report_totals(const struct sched *s)
{
    struct report_totals t = {.nprocs = 0};

    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc_usage u = report_usage(s->procs[i]);

        report_totals_add(&t, &u);
    }
    return t;
}

/* One line of the process table: the pid, ppid, status and signal columns as given, then
 * the counters of u and the command. */
static void stats_row(FILE *out, const char *pid, const char *ppid, const char *status,
                      const char *sig, const struct proc_usage *u, const char *command)
{
    const struct fault_stats *f = &u->mm.faults;

    fprintf(out,
            "\t%7s %7s %6s %3s %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8" PRIu64
            " %9" PRIu64 " %7" PRIu64 " %9" PRIu64 " %7" PRIu64 " %8" PRIu64 " %7" PRIu64
            " %8" PRIu64 " %s\n",
            pid, ppid, status, sig, f->minor, f->major, f->zero_page, f->anon, f->file_minor,
            f->file_major, f->cow, f->cow_reuse, u->shared_at_exit, u->mm.peak_rss,
            u->mm.peak_pt_pages, u->syscalls, command);
}

/* The line of process p in the table. */
static void stats_proc_row(FILE *out, const struct proc *p)
{
    const struct proc_usage u = report_usage(p);
    char pid[16], ppid[16], status[16], sig[16];

    snprintf(pid, sizeof(pid), "%d", p->pid);
    snprintf(ppid, sizeof(ppid), "%d", p->ppid);
    snprintf(status, sizeof(status), "%d", proc_wait_status(p));
    if (p->term_signal != 0)
        snprintf(sig, sizeof(sig), "%d", p->term_signal);
    else
        snprintf(sig, sizeof(sig), "-");
    stats_row(out, pid, ppid, status, sig, &u, p->cmdline != NULL ? p->cmdline : proc_name(p));
}

/* The scheduler's counters, one "label: value" line each. */
static void stats_sched(FILE *out, const struct sched *s)
{
    fprintf(out, "\tContext switches: %" PRIu64 "\n", s->switches);
    fprintf(out, "\tWatchdog stops (nondeterministic): %" PRIu64 "\n", s->watchdog_stops);
    fprintf(out, "\tDeadlocks (every process asleep, nothing to wake one; killed): %" PRIu64 "\n",
            s->deadlocks);
}

/* Prints the --stats of a whole run: report_stats() of the first process, then, when it
 * forked, the "Processes:" table (one line per process in pid order: exit status in the
 * shell's style, the signal that ended it or "-", faults by class, pages still shared with
 * parent or children at exit, peak resident and page-table pages, syscalls, command line),
 * the totals row (counts summed, peaks the highest of any process, as the line below it
 * says) and the scheduler's counters (also printed for a lone process that the watchdog
 * stopped or that deadlocked). Prints nothing when s has no process. */
void report_stats_all(FILE *out, const struct sched *s)
{
    const struct proc *first = report_first(s);
    struct report_totals t;
    char label[32];

    if (first == NULL)
        return;
    report_stats(out, first);
    if (s->nprocs < 2) {
        if (s->watchdog_stops != 0 || s->deadlocks != 0)
            stats_sched(out, s);
        return;
    }
    t = report_totals(s);
    fprintf(out, "\tProcesses: %zu\n", s->nprocs);
    fprintf(out, "\t%7s %7s %6s %3s %7s %7s %7s %7s %8s %9s %7s %9s %7s %8s %7s %8s %s\n", "pid",
            "ppid", "status", "sig", "minor", "major", "zero", "anon", "file-hit", "file-read",
            "cow", "cow-reuse", "shared", "peak-rss", "pt-peak", "syscalls", "command");
    for (size_t i = 0; i < s->nprocs; i++)
        stats_proc_row(out, s->procs[i]);
    snprintf(label, sizeof(label), "(%zu processes)", t.nprocs);
    stats_row(out, "total", "-", "-", "-", &t.u, label);
    fprintf(out, "\t  total: faults, shared and syscalls summed; peak-rss and pt-peak (peak "
                 "page-table pages) are the highest of any one process\n");
    fprintf(out, "\t  shared: pages still shared with parent or children at exit\n");
    stats_sched(out, s);
}

/* A small JSON writer: one member per line, two-space indentation, commas handled. */
struct json {
    FILE *f;                    /* output */
    int depth;                  /* open objects and arrays */
    bool first[JSON_MAX_DEPTH]; /* nothing written yet at that depth */
};

/* Length of the well-formed UTF-8 sequence at c (2 to 4), or 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are refused, as JSON readers
 * do. */
static size_t utf8_seq_len(const unsigned char *c)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c[0] >= 0xc2 && c[0] <= 0xdf) {
        len = 2;
    } else if (c[0] >= 0xe0 && c[0] <= 0xef) {
        len = 3;
        if (c[0] == 0xe0)
            lo = 0xa0;
        else if (c[0] == 0xed)
            hi = 0x9f;
    } else if (c[0] >= 0xf0 && c[0] <= 0xf4) {
        len = 4;
        if (c[0] == 0xf0)
            lo = 0x90;
        else if (c[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (c[1] < lo || c[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((c[i] & 0xc0) != 0x80)
            return 0;
    }
    return len;
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not valid UTF-8 written as \u00XX so the file stays valid. */
static void json_quote(FILE *f, const char *s)
{
    const unsigned char *c = (const unsigned char *)s;

    fputc('"', f);
    while (*c != '\0') {
        size_t len = *c >= 0x80 ? utf8_seq_len(c) : 1;

        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f || len == 0)
            fprintf(f, "\\u%04x", *c);
        else
            fwrite(c, 1, len, f);
        c += len == 0 ? 1 : len;
    }
    fputc('"', f);
}

/* Starts a member (key non-NULL) or an array element (key NULL). */
static void json_key(struct json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    fprintf(j->f, "\n%*s", 2 * j->depth, "");
    if (key != NULL) {
        json_quote(j->f, key);
        fputs(": ", j->f);
    }
}

static void json_open(struct json *j, const char *key, char bracket)
{
    VMEMU_BUG_ON(j->depth + 1 >= JSON_MAX_DEPTH);
    if (j->depth > 0 || !j->first[0])
        json_key(j, key);
    fputc(bracket, j->f);
    j->depth++;
    j->first[j->depth] = true;
}

static void json_close(struct json *j, char bracket)
{
    bool empty = j->first[j->depth];

    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

static void json_int(struct json *j, const char *key, int v)
{
    json_key(j, key);
    fprintf(j->f, "%d", v);
}

/* A string member; NULL writes null. */
static void json_str(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    if (s != NULL)
        json_quote(j->f, s);
    else
        fputs("null", j->f);
}

static void json_hex(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

static void json_null(struct json *j, const char *key)
{
    json_key(j, key);
    fputs("null", j->f);
}

static void json_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

/* The signal that ended p, or null. */
static void json_signal(struct json *j, const char *key, const struct proc *p)
{
    if (p->term_signal != 0)
        json_int(j, key, p->term_signal);
    else
        json_null(j, key);
}

/* argv as the command line recorded it (arguments split at spaces). */
static void json_argv(struct json *j, const struct proc *p)
{
    json_open(j, "argv", '[');
    for (size_t i = 0; p->argv && p->argv[i]; i++)
        json_str(j, NULL, p->argv[i]);
    json_close(j, ']');
}

/* The "unmapped_by" member of a crash: the syscall that removed the faulting address, or
 * null. */
static void json_unmapped_by(struct json *j, const struct crash_info *ci)
{
    char text[CRASH_TEXT_MAX + 512];

    if (!ci->has_unmap) {
        json_null(j, "unmapped_by");
        return;
    }
    json_open(j, "unmapped_by", '{');
    json_str(j, "syscall", ci->unmap_syscall);
    json_int(j, "sysno", ci->unmap.sysno);
    json_hex(j, "rip", ci->unmap.rip);
    json_str(j, "symbol", ci->unmap_symbol[0] ? ci->unmap_symbol : NULL);
    json_u64(j, "seq", ci->unmap.seq);
    json_hex(j, "start", ci->unmap.start);
    json_hex(j, "end", ci->unmap.end);
    crash_unmap_text(ci, text, sizeof(text));
    json_str(j, "text", text);
    json_close(j, '}');
}

/* The "crash" object of p, or null when no crash ended it or its address space (where the
 * facts are) is gone. */
static void json_crash(struct json *j, const struct proc *p)
{
    struct crash_info ci;

    if (p->mm == NULL || !crash_signal_is_crash(p)) {
        json_null(j, "crash");
        return;
    }
    crash_describe(p, NULL, &ci);
    json_open(j, "crash", '{');
    json_int(j, "signal", ci.signo);
    json_str(j, "signal_name", crash_signal_name(ci.signo));
    json_str(j, "code", ci.code);
    if (ci.is_memory) {
        json_hex(j, "address", ci.addr);
        if (ci.size != 0)
            json_int(j, "size", (int)ci.size);
        else
            json_null(j, "size");
        json_str(j, "access", crash_access_name(ci.access));
        json_str(j, "cause", crash_cause_name(&ci));
    } else {
        json_null(j, "address");
        json_null(j, "size");
        json_null(j, "access");
        json_str(j, "cause", ci.what);
    }
    if (ci.has_rip) {
        json_hex(j, "rip", ci.rip);
        json_str(j, "symbol", ci.symbol[0] ? ci.symbol : NULL);
        json_str(j, "instruction", ci.insn_ok ? ci.insn : NULL);
    } else {
        json_null(j, "rip");
        json_null(j, "symbol");
        json_null(j, "instruction");
    }
    if (ci.has_caller) {
        json_hex(j, "caller", ci.caller);
        json_str(j, "caller_symbol", ci.caller_symbol[0] ? ci.caller_symbol : NULL);
    } else {
        json_null(j, "caller");
        json_null(j, "caller_symbol");
    }
    json_str(j, "cause_text", ci.cause_text[0] ? ci.cause_text : NULL);
    json_str(j, "heap_kind", ci.heap_kind);
    json_str(j, "heap", ci.heap_kind != NULL ? ci.heap : NULL);
    json_open(j, "backtrace", '[');
    for (int i = 0; i < ci.bt_n; i++)
        json_str(j, NULL, ci.bt[i]);
    json_close(j, ']');
    json_open(j, "disassembly", '[');
    for (int i = 0; i < ci.dis_n; i++)
        json_str(j, NULL, ci.dis[i]);
    json_close(j, ']');
    json_str(j, "vma", ci.has_vma ? ci.vma : NULL);
    json_str(j, "section", ci.section[0] ? ci.section : NULL);
    json_str(j, "file", ci.file[0] ? ci.file : NULL);
    json_unmapped_by(j, &ci);
    json_close(j, '}');
}

/* The "vmas" member: the areas of p's address space as they are now, each with its
 * resident, dirty and swapped pages (an empty list without an address space). */
static void json_vmas(struct json *j, const struct proc *p)
{
    const struct mm *mm = p->mm;

    json_open(j, "vmas", '[');
    for (size_t i = 0; mm != NULL && i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        const char *name = crash_vma_name(v);
        struct vma_usage u;
        char perms[5];

        mm_vma_usage(mm, v, &u);
        vma_perm_string(v, perms);
        json_open(j, NULL, '{');
        json_hex(j, "start", v->start);
        json_hex(j, "end", v->end);
        json_str(j, "perms", perms);
        json_str(j, "kind", vma_kind_name(v->kind));
        json_str(j, "file", v->file != NULL && name[0] != '\0' ? name : NULL);
        json_u64(j, "resident", u.resident);
        json_u64(j, "dirty", u.dirty);
        json_u64(j, "swapped", u.swapped);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* The "paging" object: policy, swap area and what reclaim did. */
static void json_paging(struct json *j, const struct vmsys *sys)
{
    const struct reclaim_stats *r = &sys->reclaim->stats;
    const struct swap_area *sw = &sys->swap;

    json_open(j, "paging", '{');
    json_str(j, "policy", reclaim_policy_name(sys->reclaim->policy));
    json_u64(j, "seed", sys->reclaim->seed);
    json_u64(j, "swap_max_bytes", sw->max_slots * PAGE_SIZE);
    json_str(j, "swap_file", sw->path);
    json_u64(j, "evictions", r->evictions);
    json_u64(j, "swap_outs", r->swap_outs);
    json_u64(j, "swap_clean", r->swap_clean);
    json_u64(j, "swap_ins", sw->reads);
    json_u64(j, "file_writebacks", r->writebacks);
    json_u64(j, "file_dropped", r->file_dropped);
    json_u64(j, "scans", r->scans);
    json_u64(j, "skipped", r->skipped);
    json_u64(j, "peak_swap_pages", sw->peak_used);
    json_u64(j, "swap_pages", sw->used);
    json_close(j, '}');
}

/* The "faults" object: every class of f. */
static void json_faults(struct json *j, const struct fault_stats *f)
{
    json_open(j, "faults", '{');
    json_u64(j, "minor", f->minor);
    json_u64(j, "major", f->major);
    json_u64(j, "zero_page", f->zero_page);
    json_u64(j, "anon", f->anon);
    json_u64(j, "file_minor", f->file_minor);
    json_u64(j, "file_major", f->file_major);
    json_u64(j, "cow", f->cow);
    json_u64(j, "cow_reuse", f->cow_reuse);
    json_u64(j, "shared_write", f->shared_write);
    json_u64(j, "swap_in", f->swap_in);
    json_u64(j, "swap_cache", f->swap_cache);
    json_u64(j, "file_refault", f->file_refault);
    json_u64(j, "populate", f->populate);
    json_u64(j, "segv", f->segv);
    json_u64(j, "sigbus", f->sigbus);
    json_u64(j, "stack_grow", f->stack_grow);
    json_close(j, '}');
}

/* The "tlb" counters object: vmemu's TLB (machine-wide), the given Unicorn TLB fills and
 * Unicorn's flushes (the one CPU's). */
static void json_tlb(struct json *j, const struct proc *first, uint64_t fills)
{
    const struct tlb *tlb = &first->sys->tlb;

    json_open(j, "tlb", '{');
    json_u64(j, "hits", tlb->hits);
    json_u64(j, "misses", tlb->misses);
    json_u64(j, "fills", fills);
    json_u64(j, "invalidations", tlb->invalidations);
    json_u64(j, "flushes", tlb->flushes);
    json_u64(j, "unicorn_flushes", proc_unicorn_flushes(first));
    json_close(j, '}');
}

/* One entry of "processes". The first process (first) carries the machine-wide "tlb"
 * counters, as reports have since there was one process; the others only their own
 * Unicorn TLB fills. Without an address space (an ended process other than the first),
 * "vmas" is empty, "crash" null and "wall_ns" null (its end time is not kept). */
static void json_process(struct json *j, const struct proc *p, bool first)
{
    const struct proc_usage u = report_usage(p);
    const struct mm_stats *st = &u.mm;

    json_open(j, NULL, '{');
    json_int(j, "pid", p->pid);
    json_int(j, "ppid", p->ppid);
    json_str(j, "command", p->cmdline != NULL ? p->cmdline : proc_name(p));
    json_int(j, "exit_status", proc_wait_status(p));
    json_signal(j, "signal", p);
    json_faults(j, &st->faults);
    if (first) {
        json_tlb(j, p, st->fills);
    } else {
        json_open(j, "tlb", '{');
        json_u64(j, "fills", st->fills);
        json_close(j, '}');
    }
    json_u64(j, "peak_rss_pages", st->peak_rss);
    json_u64(j, "rss_pages", st->rss);
    json_u64(j, "page_table_pages", u.pt_pages_at_exit);
    json_u64(j, "peak_page_table_pages", st->peak_pt_pages);
    json_u64(j, "peak_vm_pages", st->peak_vm);
    json_u64(j, "syscalls", u.syscalls);
    json_u64(j, "shared_at_exit", u.shared_at_exit);
    json_u64(j, "peak_vsize_bytes", st->peak_vm * PAGE_SIZE);
    json_u64(j, "refault_permille", refault_permille(&st->faults));
    json_bool(j, "thrashing", thrashing(&st->faults));
    if (p->mm != NULL)
        json_u64(j, "wall_ns", proc_wall_ns(p));
    else
        json_null(j, "wall_ns");
    json_u64(j, "run_ns", u.cpu_ns);
    json_vmas(j, p);
    json_crash(j, p);
    json_close(j, '}');
}

/* The "totals" object of every process of s (see struct report_totals). */
static void json_totals(struct json *j, const struct proc *first, const struct sched *s)
{
    const struct report_totals t = report_totals(s);
    const struct mm_stats *st = &t.u.mm;

    json_open(j, "totals", '{');
    json_u64(j, "processes", t.nprocs);
    json_faults(j, &st->faults);
    json_tlb(j, first, st->fills);
    json_u64(j, "peak_rss_pages", st->peak_rss);
    json_u64(j, "rss_pages", st->rss);
    json_u64(j, "page_table_pages", t.u.pt_pages_at_exit);
    json_u64(j, "peak_page_table_pages", st->peak_pt_pages);
    json_u64(j, "peak_vm_pages", st->peak_vm);
    json_u64(j, "syscalls", t.u.syscalls);
    json_u64(j, "shared_at_exit", t.u.shared_at_exit);
    json_u64(j, "run_ns", t.u.cpu_ns);
    json_close(j, '}');
}

/* Writes the JSON report to path (created or truncated): the run's configuration and
 * status (those of first), the machine-wide frame counts and paging, then "processes":
 * first alone when s is NULL, else every process of s followed by "totals" and
 * "scheduler". Returns 0 or -errno (the file cannot be created or written). */
static int json_report(const char *path, const struct proc *first, const struct sched *s)
{
    struct json j = {.f = fopen(path, "w"), .first = {true}};
    const struct vmsys *sys = first->sys;
    int rc = 0;

    if (j.f == NULL)
        return -errno;
    json_open(&j, NULL, '{');
    json_str(&j, "vmemu_version", VMEMU_VERSION);
    json_str(&j, "program", first->exe);
    json_argv(&j, first);
    json_int(&j, "exit_status", proc_wait_status(first));
    json_signal(&j, "signal", first);
    json_u64(&j, "mem_bytes", sys->phys.bytes);
    json_open(&j, "tlb", '{');
    json_u64(&j, "entries", (uint64_t)sys->tlb.sets * sys->tlb.ways);
    json_u64(&j, "ways", sys->tlb.ways);
    json_close(&j, '}');
    json_open(&j, "frames", '{');
    json_u64(&j, "total", sys->phys.nframes);
    json_u64(&j, "peak_used", sys->phys.peak_used);
    json_u64(&j, "page_cache_pages", sys->pc.pages);
    json_close(&j, '}');
    json_paging(&j, sys);
    json_open(&j, "processes", '[');
    if (s == NULL) {
        json_process(&j, first, true);
    } else {
        for (size_t i = 0; i < s->nprocs; i++)
            json_process(&j, s->procs[i], s->procs[i] == first);
    }
    json_close(&j, ']');
    if (s != NULL) {
        json_totals(&j, first, s);
        json_open(&j, "scheduler", '{');
        json_u64(&j, "switches", s->switches);
        json_u64(&j, "watchdog_stops", s->watchdog_stops);
        json_u64(&j, "deadlocks", s->deadlocks);
        json_close(&j, '}');
    }
    json_close(&j, '}');
    fputc('\n', j.f);
    if (ferror(j.f))
        rc = -EIO;
    if (fclose(j.f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Writes the JSON report of one finished process to path: the run's configuration, the
 * machine-wide frame counts and one entry for the process with its fault, TLB and memory
 * counters and, when a signal of a crash ended it, the crash. Returns 0 or -errno. */
int report_json(const char *path, const struct proc *p)
{
    return json_report(path, p, NULL);
}

/* Writes the JSON report of a whole run to path: as report_json() for the first process
 * (s->init), with every process of s in "processes" (pid order), then "totals" (counts
 * summed over the processes, peak_* the highest of any one; the machine-wide TLB counters
 * once) and "scheduler" (switches, watchdog_stops, deadlocks). Returns 0, -EINVAL when s
 * has no process, or -errno. */
int report_json_all(const char *path, const struct sched *s)
{
    const struct proc *first = report_first(s);

    if (first == NULL)
        return -EINVAL;
    return json_report(path, first, s);
}

/* Prints the VMA table of p, each line after indent: a header, one line per area like
 * /proc/PID/maps plus its kind and its resident, dirty and swapped pages (mm_vma_usage(),
 * which walks the page table), then the totals with the peak virtual size. The kind column
 * is as wide as its longest name (5, or 7 with the heap checker's "checker"). */
void report_maps_table(FILE *out, const struct proc *p, const char *indent)
{
    uint64_t total_vm = 0, total_res = 0, total_dirty = 0, total_swap = 0, peak;
    const struct mm *mm = p->mm;

    if (mm == NULL)
        return;
    int kw = 5;
    for (size_t i = 0; i < mm->vmas.n; i++) {
        int len = (int)strlen(vma_kind_name(mm->vmas.v[i].kind));
        kw = len > kw ? len : kw;
    }
    fprintf(out, "%s%-25s %-4s %-8s %-*s %8s %8s %8s %s\n", indent, "start-end", "perm", "offset",
            kw, "kind", "resident", "dirty", "swapped", "name");
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        const char *name = crash_vma_name(v);
        struct vma_usage u;
        char perms[5];

        mm_vma_usage(mm, v, &u);
        vma_perm_string(v, perms);
        fprintf(out,
                "%s%012" PRIx64 "-%012" PRIx64 " %s %08" PRIx64 " %-*s %8" PRIu64 " %8" PRIu64
                " %8" PRIu64 "%s%s\n",
                indent, v->start, v->end, perms, v->file != NULL ? v->pgoff << PAGE_SHIFT : 0, kw,
                vma_kind_name(v->kind), u.resident, u.dirty, u.swapped, name[0] ? " " : "", name);
        total_vm += (v->end - v->start) / PAGE_SIZE;
        total_res += u.resident;
        total_dirty += u.dirty;
        total_swap += u.swapped;
    }
    peak = mm->stats.peak_vm;
    fprintf(out,
            "%stotal: %zu area%s, %" PRIu64 " pages mapped (peak %" PRIu64 " pages, %" PRIu64
            " KiB), %" PRIu64 " resident, %" PRIu64 " dirty, %" PRIu64 " swapped, %" PRIu64
            " page-table pages\n",
            indent, mm->vmas.n, mm->vmas.n == 1 ? "" : "s", total_vm, peak, peak * KIB_PER_PAGE,
            total_res, total_dirty, total_swap, mm->pt.table_pages);
}

/* Prints the VMA table of a finished process (--maps): a title line, then
 * report_maps_table(). */
void report_maps(FILE *out, const struct proc *p)
{
    fprintf(out, "vmemu: address space of '%s' (pid %d)\n", proc_name(p), p->pid);
    report_maps_table(out, p, "");
}
