/* The --stats summary of a finished run, in the spirit of /usr/bin/time -v: the first
 * process's counters, then, when the program forked, one line per process and the totals
 * of the process tree, when it had threads one line per thread, and the scheduler's
 * counters; and the counters and totals that the JSON
 * report (report_json.c) shows too (report_int.h). Nothing here faults a page in or
 * changes a counter. */
#include "vmemu/report.h"

#include <inttypes.h>

#include "crash.h"
#include "report_int.h"
#include "vmemu/cpu.h"
#include "vmemu/reclaim.h"
#include "vmemu/sched.h"
#include "vmemu/thp.h"
#include "vmemu/timeline.h"
#include "vmemu/util.h"

#define KIB_PER_PAGE ((uint64_t)(PAGE_SIZE / 1024)) /* KiB in one page */

/* The counters of p as the reports show them: live from its address space while it has
 * one (page-table pages counted now), else the ones frozen at its exit. */
struct proc_usage report_usage(const struct proc *p)
{
    struct proc_usage u = p->leader == p ? sched_process_usage(p) : proc_usage_now(p);

    if (p->mm != NULL)
        u.pt_pages_at_exit = p->mm->pt.table_pages;
    return u;
}

uint64_t report_unicorn_flushes(const struct proc *p)
{
    return p->cpu != NULL ? cpu_tlb_flushes(p->cpu) : 0;
}

/* Names of the VM_FLUSH_* causes, bit i at index i (the JSON keys too). */
const char *const report_flush_cause_names[VM_FLUSH_NCAUSES] = {
    "downgrade", "switch", "exec", "code", "reclaim", "debug", "grow",
};

/* The line after "Unicorn TLB flushes": the flushes per second of guest run time, per
 * cause, the single pages dropped from the TLB instead of a flush, and the single code
 * frames invalidated (none of them a TLB flush). */
void report_flush_causes(FILE *out, const struct proc *p)
{
    struct cpu_flush_stats fs;
    cpu_flush_stats(p->cpu, &fs);
    double secs = (double)fs.run_ns / 1e9;
    fprintf(out,
            "\tUnicorn TLB flushes per second of guest run time (%.3f s): %.0f; by cause:", secs,
            secs > 0 ? (double)fs.flushes / secs : 0.0);
    for (unsigned i = 0; i < VM_FLUSH_NCAUSES; i++)
        fprintf(out, " %s %" PRIu64, report_flush_cause_names[i], fs.by_cause[i]);
    fprintf(out,
            "; none needed for %" PRIu64 " copy-on-write breaks of the page being filled"
            "; single pages invalidated %" PRIu64 "; code frames invalidated %" PRIu64 "\n",
            p->sys->cpu_flush_spared, fs.page_invalidations, fs.code_invalidations);
}

uint64_t report_wall_ns(const struct proc *p)
{
    uint64_t now = now_ns();

    return p->start_ns != 0 && now > p->start_ns ? now - p->start_ns : 0;
}

/* The thrashing indicator: pages brought back after an eviction (swap-ins and file
 * re-reads) per 1000 page faults. */
uint64_t report_refault_permille(const struct fault_stats *f)
{
    uint64_t faults = f->minor + f->major;
    return faults ? (f->swap_in + f->file_refault) * 1000 / faults : 0;
}

/* Whether the refaults say the program is thrashing: at least half of its faults bring
 * back an evicted page, and there are enough of them to matter. */
bool report_thrashing(const struct fault_stats *f)
{
    return report_refault_permille(f) >= 500 && f->swap_in + f->file_refault >= 64;
}

const char *report_proc_name(const struct proc *p)
{
    return p->comm[0] != '\0' ? p->comm : (p->exe != NULL ? p->exe : "?");
}

/* Transparent huge pages: the mode and where it came from, the process's huge-page
 * faults and the machine's events. */
static void report_thp(FILE *out, const struct vmsys *sys, const struct fault_stats *f)
{
    static const char *const from[] = {"--thp", "as the host's kernel does",
                                       "default: the host's setting could not be read"};
    const struct thp_stats *t = &sys->thp;
    fprintf(out, "\tTransparent huge pages: %s (%s)\n", thp_mode_name(sys->thp_mode),
            from[sys->thp_mode_from]);
    if (sys->phys.hugetlb_total)
        fprintf(out,
                "\tHugetlb pool (--hugetlb): %" PRIu64 " pages of 2 MiB, %" PRIu64
                " free at exit\n",
                sys->phys.hugetlb_total, sys->phys.hugetlb_nfree);
    if (!t->fault_alloc && !t->fault_fallback && !t->zero_page_alloc)
        return;
    fprintf(out, "\t  huge-page faults (2 MiB each): %" PRIu64 "\n", f->thp);
    fprintf(out, "\t  huge pages allocated: %" PRIu64 ", fallbacks to 4 KiB: %" PRIu64 "\n",
            t->fault_alloc, t->fault_fallback);
    fprintf(out, "\t  huge zero page mappings: %" PRIu64 "\n", t->zero_page_alloc);
    fprintf(out, "\t  splits: %" PRIu64 " (for swap-out: %" PRIu64 ")\n", t->split_pmd,
            t->swpout_fallback);
    fprintf(out, "\t  huge pages resident: %" PRIu64 " now, %" PRIu64 " at the peak\n", t->resident,
            t->peak_resident);
    fprintf(out, "\t  page-table pages PS-bit PDEs would save at the peak: %" PRIu64 "\n",
            t->peak_resident);
}

/* The paging part of the summary: the zero page, policy, swap, what reclaim did, the
 * thrashing indicator. */
static void report_paging(FILE *out, const struct proc *p, const struct fault_stats *f)
{
    const struct vmsys *sys = p->sys;
    const struct reclaim_stats *r = &sys->reclaim->stats;
    const struct swap_area *sw = &sys->swap;

    fprintf(out, "\tZero page on anonymous read faults: %s (%s)\n",
            sys->no_zero_page ? "no" : "yes",
            sys->zero_page_host ? "as the host's kernel does" : "--zero-page");
    report_thp(out, sys, f);
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
            report_refault_permille(f), report_thrashing(f) ? "thrashing" : "not thrashing");
}

/* The host memory behind the pool: 2 MiB blocks populated (how many as huge pages),
 * given back, and where the pool chooses between small and huge host pages, what each
 * way cost per block and which one it uses. */
static void report_host_memory(FILE *out, const struct phys_host *h)
{
    fprintf(out,
            "\tHost blocks (2 MiB) populated: %" PRIu64 " (%" PRIu64 " as huge pages); "
            "given back: %" PRIu64 "\n",
            h->populated, h->populated_huge, h->released);
    if (!h->adaptive || h->populated < PHYS_TRY_DONE)
        return;
    fprintf(out,
            "\tHost page size chosen: %s (us per block: small %" PRIu64 ", huge %" PRIu64
            "; changes %" PRIu64 ")\n",
            phys_host_cheaper_way(h) == PHYS_WAY_HUGE ? "huge" : "small",
            h->cost_ns[PHYS_WAY_SMALL] / 1000, h->cost_ns[PHYS_WAY_HUGE] / 1000, h->switches);
}

/* Prints the /usr/bin/time -v style summary of a finished process: a first line saying
 * how it ended, then one tab-indented "label: value" line per counter. */
void report_stats(FILE *out, const struct proc *p)
{
    const struct proc_usage u = report_usage(p);
    const struct mm_stats *st = &u.mm;
    const struct fault_stats *f = &u.task.faults;
    const struct vmsys *sys = p->sys;
    uint64_t wall = report_wall_ns(p);

    if (p->term_signal != 0)
        fprintf(out, "vmemu: %s killed by signal %d (%s)\n", report_proc_name(p), p->term_signal,
                crash_signal_name(p->term_signal));
    else
        fprintf(out, "vmemu: %s exited with status %d\n", report_proc_name(p), p->exit_code);
    fprintf(out, "\tCommand: \"%s\"\n", p->cmdline != NULL ? p->cmdline : report_proc_name(p));
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
    fprintf(out, "\t  huge page: %" PRIu64 "\n", f->thp);
    if (f->hugetlb)
        fprintf(out, "\t  hugetlb page (MAP_HUGETLB): %" PRIu64 "\n", f->hugetlb);
    fprintf(out, "\tMajor page faults: %" PRIu64 "\n", f->major);
    fprintf(out, "\t  swap-in: %" PRIu64 "\n", f->swap_in);
    fprintf(out, "\t  file read: %" PRIu64 "\n", f->file_major);
    fprintf(out, "\t    re-read after eviction: %" PRIu64 "\n", f->file_refault);
    fprintf(out, "\tStack growth faults: %" PRIu64 "\n", f->stack_grow);
    fprintf(out, "\tPages populated ahead (MAP_POPULATE, mlock; not faults): %" PRIu64 "\n",
            f->populate);
    fprintf(out,
            "\tFaults of execve (building the image and stack; not above, in getrusage): %" PRIu64
            "\n",
            f->exec);
    fprintf(out, "\t  argument pages (get_user_pages: perf never counts them): %" PRIu64 "\n",
            f->exec_args);
    fprintf(out, "\t  file read: %" PRIu64 "\n", f->exec_major);
    fprintf(out, "\tInvalid accesses (SIGSEGV): %" PRIu64 "\n", f->segv);
    fprintf(out, "\tAccesses past the end of a file (SIGBUS): %" PRIu64 "\n", f->sigbus);
    fprintf(out, "\tvmemu TLB hits: %" PRIu64 "\n", sys->tlb.hits);
    fprintf(out, "\tvmemu TLB misses (page walks): %" PRIu64 "\n", sys->tlb.misses);
    if (sys->tlb.huge_hits || sys->thp.fault_alloc)
        fprintf(out,
                "\tvmemu TLB 2 MiB entries (%u): hits %" PRIu64 " (pages of huge pages found "
                "without a walk), invalidations %" PRIu64 "\n",
                sys->tlb.huge_sets * sys->tlb.huge_ways, sys->tlb.huge_hits,
                sys->tlb.huge_invalidations);
    fprintf(out, "\tvmemu TLB invalidations: %" PRIu64 "\n", sys->tlb.invalidations);
    fprintf(out, "\tvmemu TLB flushes: %" PRIu64 "\n", sys->tlb.flushes);
    fprintf(out, "\tUnicorn TLB fills (depends on Unicorn's TLB size): %" PRIu64 "\n",
            u.task.fills);
    fprintf(out, "\tUnicorn TLB flushes: %" PRIu64 "\n", report_unicorn_flushes(p));
    report_flush_causes(out, p);
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
    report_host_memory(out, &sys->phys.host);
    fprintf(out, "\tPage-cache pages: %" PRIu64 "\n", sys->pc.pages);
    report_paging(out, p, f);
    fprintf(out, "\tSyscalls: %" PRIu64 "\n", u.syscalls);
    fprintf(out, "\tGuest run time (s): %" PRIu64 ".%03" PRIu64 "\n", u.cpu_ns / 1000000000,
            u.cpu_ns / 1000000 % 1000);
    fprintf(out, "\tWall time (s): %" PRIu64 ".%03" PRIu64 "\n", wall / 1000000000,
            wall / 1000000 % 1000);
}

/* The first process of the run (whose status vmemu returns), or NULL when there is none. */
const struct proc *report_first(const struct sched *s)
{
    return s->init != NULL ? s->init : (s->nprocs != 0 ? s->procs[0] : NULL);
}

/* The totals of every process of s. */
struct report_totals report_totals(const struct sched *s)
{
    struct report_totals t = {.u = s->dropped_usage, .nprocs = s->ndropped};

    for (size_t i = 0; i < s->nprocs; i++) {
        if (s->procs[i]->leader != s->procs[i])
            continue; /* a thread: counted in its process */
        const struct proc_usage u = report_usage(s->procs[i]);

        proc_usage_total(&t.u, &u);
        t.nprocs++;
    }
    return t;
}

/* Whether the process led by p had threads that the scheduler still lists. */
bool report_has_threads(const struct sched *s, const struct proc *p)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->leader == p && s->procs[i] != p)
            return true;
    return false;
}

/* The "Threads:" table: one line per task of every process that had threads (tid, pid,
 * the task's own faults by class, syscalls, times it was switched in, name). */
static void stats_threads(FILE *out, const struct sched *s)
{
    bool header = false;

    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *t = s->procs[i];
        const struct fault_stats *f = &t->vmstat.faults;

        if (!report_has_threads(s, t->leader))
            continue;
        if (!header) {
            fprintf(out, "\tThreads:\n\t%7s %7s %7s %7s %7s %7s %8s %9s %7s %9s %8s %8s %s\n",
                    "tid", "pid", "minor", "major", "zero", "anon", "file-hit", "file-read", "cow",
                    "cow-reuse", "syscalls", "switches", "name");
            header = true;
        }
        fprintf(out,
                "	%7d %7d %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8" PRIu64
                " %9" PRIu64 " %7" PRIu64 " %9" PRIu64 " %8" PRIu64 " %8" PRIu64 " %s\n",
                t->pid, t->leader->pid, f->minor, f->major, f->zero_page, f->anon, f->file_minor,
                f->file_major, f->cow, f->cow_reuse, t->syscalls, t->switches, t->comm);
    }
}

/* One line of the process table: the pid, ppid, status and signal columns as given, then
 * the counters of u and the command. */
static void stats_row(FILE *out, const char *pid, const char *ppid, const char *status,
                      const char *sig, const struct proc_usage *u, const char *command)
{
    const struct fault_stats *f = &u->task.faults;

    fprintf(out,
            "\t%7s %7s %6s %3s %7" PRIu64 " %7" PRIu64 " %5" PRIu64 " %7" PRIu64 " %7" PRIu64
            " %8" PRIu64 " %9" PRIu64 " %7" PRIu64 " %9" PRIu64 " %7" PRIu64 " %8" PRIu64
            " %7" PRIu64 " %8" PRIu64 " %s\n",
            pid, ppid, status, sig, f->minor, f->major, f->exec, f->zero_page, f->anon,
            f->file_minor, f->file_major, f->cow, f->cow_reuse, u->shared_at_exit, u->mm.peak_rss,
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
    stats_row(out, pid, ppid, status, sig, &u,
              p->cmdline != NULL ? p->cmdline : report_proc_name(p));
}

/* The scheduler's counters, one "label: value" line each. */
static void stats_sched(FILE *out, const struct sched *s)
{
    fprintf(out, "\tContext switches: %" PRIu64 "\n", s->switches);
    fprintf(out, "\tWatchdog stops (nondeterministic): %" PRIu64 "\n", s->watchdog_stops);
    fprintf(out, "\tDeadlocks (every process asleep, nothing to wake one; killed): %" PRIu64 "\n",
            s->deadlocks);
    if (s->clock.virt)
        fprintf(out, "\tGuest clock: virtual (--deterministic), %.6f s at exit\n",
                (double)(sched_now(s) - SCHED_VCLOCK_START_NS) / 1e9);
}

/* Prints the --stats of a whole run: report_stats() of the first process, then, when it
 * forked, the "Processes:" table (one line per process in pid order, the processes
 * reaped after the first SCHED_KEEP_ENDED only in the total: exit status in the
 * shell's style, the signal that ended it or "-", faults by class, pages still shared with
 * parent or children at exit, peak resident and page-table pages, syscalls, command line),
 * the totals row (counts summed, peaks the highest of any process, as the line below it
 * says), the "Threads:" table when a process had threads, and the scheduler's counters (also
 * printed for a lone process that the watchdog stopped, that deadlocked or that ran under
 * --deterministic, with the guest clock at exit). Prints nothing when s
 * has no process. */
/* The timeline recorder's cost, when one ran (--report or --html). */
static void stats_timeline(FILE *out, const struct sched *s)
{
    const struct timeline *tl = timeline_of(s);
    struct timeline_cost c;

    if (tl == NULL)
        return;
    timeline_cost(tl, &c);
    fprintf(out,
            "	Timeline samples: %" PRIu64 " taken, %" PRIu64 " kept; recording took %.3f ms "
            "of host time (the report's JSON built so far included)\n",
            c.taken, c.kept, (double)c.ns / 1e6);
}

void report_stats_all(FILE *out, const struct sched *s)
{
    const struct proc *first = report_first(s);
    struct report_totals t;
    char label[48];

    if (first == NULL)
        return;
    report_stats(out, first);
    t = report_totals(s);
    if (t.nprocs < 2) {
        stats_threads(out, s);
        if (s->watchdog_stops != 0 || s->deadlocks != 0 || s->clock.virt ||
            report_has_threads(s, first))
            stats_sched(out, s);
        stats_timeline(out, s);
        return;
    }
    fprintf(out, "\tProcesses: %zu\n", t.nprocs);
    fprintf(out, "\t%7s %7s %6s %3s %7s %7s %5s %7s %7s %8s %9s %7s %9s %7s %8s %7s %8s %s\n",
            "pid", "ppid", "status", "sig", "minor", "major", "exec", "zero", "anon", "file-hit",
            "file-read", "cow", "cow-reuse", "shared", "peak-rss", "pt-peak", "syscalls",
            "command");
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->leader == s->procs[i])
            stats_proc_row(out, s->procs[i]);
    if (s->ndropped != 0)
        fprintf(out,
                "\t  ... %zu more ended processes, not listed (the first %d reaped are), "
                "counted in the total\n",
                s->ndropped, SCHED_KEEP_ENDED);
    snprintf(label, sizeof(label), "(%zu processes)", t.nprocs);
    stats_row(out, "total", "-", "-", "-", &t.u, label);
    fprintf(out, "\t  total: faults, shared and syscalls summed; peak-rss and pt-peak (peak "
                 "page-table pages) are the highest of any one process\n");
    fprintf(out, "\t  shared: pages still shared with parent or children at exit\n");
    stats_threads(out, s);
    stats_sched(out, s);
    stats_timeline(out, s);
}
