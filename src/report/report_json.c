/* The --report JSON file (schema: tests/schema/report.schema.json; fields may be added,
 * never renamed), built as a jansson tree and written with two-space indentation, one
 * member per line: the run's configuration, the machine-wide frame counts and paging,
 * every process with its counters, its VMA table and its "crash" object
 * (report_json_crash.c), the totals, the scheduler's counters and the timeline
 * (timeline.c). Nothing here faults a page in or changes a counter. */
#include "vmemu/report.h"

#include <errno.h>

#include "crash.h"
#include "jsonval.h"
#include "report_int.h"
#include "vmemu/heapprof.h"
#include "vmemu/reclaim.h"
#include "vmemu/sched.h"
#include "vmemu/thp.h"
#include "vmemu/timeline.h"
#include "vmemu/util.h"

/* The signal that ended p, or json null. */
static json_t *rj_signal(const struct proc *p)
{
    return p->term_signal != 0 ? json_integer(p->term_signal) : json_null();
}

/* argv as the command line recorded it. */
static json_t *rj_argv(const struct proc *p)
{
    json_t *a = json_array();
    bool ok = true;

    for (size_t i = 0; p->argv && p->argv[i]; i++)
        rj_append(a, rj_str(p->argv[i]), &ok);
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The "paging" object: policy, swap area and what reclaim did. */
static json_t *rj_paging(const struct vmsys *sys)
{
    const struct reclaim_stats *r = &sys->reclaim->stats;
    const struct swap_area *sw = &sys->swap;

    return json_pack(
        "{s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "policy",
        reclaim_policy_name(sys->reclaim->policy), "seed", rj_u64(sys->reclaim->seed),
        "swap_max_bytes", rj_u64(sw->max_slots * PAGE_SIZE), "swap_file", rj_str(sw->path),
        "evictions", (json_int_t)r->evictions, "swap_outs", (json_int_t)r->swap_outs, "swap_clean",
        (json_int_t)r->swap_clean, "swap_ins", (json_int_t)sw->reads, "file_writebacks",
        (json_int_t)r->writebacks, "file_dropped", (json_int_t)r->file_dropped, "scans",
        (json_int_t)r->scans, "skipped", (json_int_t)r->skipped, "peak_swap_pages",
        (json_int_t)sw->peak_used, "swap_pages", (json_int_t)sw->used);
}

/* Transparent huge pages: the mode, where it came from, and the machine's thp_* events. */
static json_t *rj_thp(const struct vmsys *sys)
{
    static const char *const from[] = {"option", "host", "default"};
    const struct thp_stats *t = &sys->thp;

    /* Each resident huge page would need no page-table page with a PS-bit PDE:
     * pt_pages_saved_peak is peak_resident. swpout is 0: never swapped out whole. */
    return json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mode",
        thp_mode_name(sys->thp_mode), "mode_from", from[sys->thp_mode_from], "fault_alloc",
        (json_int_t)t->fault_alloc, "fault_fallback", (json_int_t)t->fault_fallback, "split_pmd",
        (json_int_t)t->split_pmd, "swpout", 0, "swpout_fallback", (json_int_t)t->swpout_fallback,
        "zero_page_maps", (json_int_t)t->zero_page_alloc, "resident", (json_int_t)t->resident,
        "peak_resident", (json_int_t)t->peak_resident, "pt_pages_saved_peak",
        (json_int_t)t->peak_resident, "hugetlb_pages", (json_int_t)sys->phys.hugetlb_total,
        "hugetlb_free", (json_int_t)sys->phys.hugetlb_nfree);
}

/* The "tlb" counters object: vmemu's TLB (machine-wide), the given Unicorn TLB fills and
 * Unicorn's flushes (the one CPU's). */
static json_t *rj_tlb(const struct proc *first, uint64_t fills)
{
    const struct tlb *tlb = &first->sys->tlb;

    struct cpu_flush_stats fs;
    cpu_flush_stats(first->cpu, &fs);
    json_t *causes = json_object();
    bool ok = true;
    for (unsigned i = 0; i < VM_FLUSH_NCAUSES; i++)
        rj_set(causes, report_flush_cause_names[i], json_integer((json_int_t)fs.by_cause[i]), &ok);
    rj_set(causes, "spared_fill_cow", json_integer((json_int_t)first->sys->cpu_flush_spared), &ok);
    rj_set(causes, "code_invalidations", json_integer((json_int_t)fs.code_invalidations), &ok);
    rj_set(causes, "page_invalidations", json_integer((json_int_t)fs.page_invalidations), &ok);
    rj_set(causes, "run_us", json_integer((json_int_t)(fs.run_ns / 1000)), &ok);
    if (!ok) {
        json_decref(causes);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "hits", (json_int_t)tlb->hits,
                     "misses", (json_int_t)tlb->misses, "fills", (json_int_t)fills, "invalidations",
                     (json_int_t)tlb->invalidations, "flushes", (json_int_t)tlb->flushes,
                     "unicorn_flushes", (json_int_t)report_unicorn_flushes(first), "huge_hits",
                     (json_int_t)tlb->huge_hits, "huge_invalidations",
                     (json_int_t)tlb->huge_invalidations, "unicorn_flush_causes", causes);
}

/* "threads" of the process led by p: every task the scheduler lists, the leader first,
 * with its own counters (faults by class, syscalls, switches) and name. */
static json_t *rj_threads(const struct proc *p)
{
    const struct sched *s = p->sched;
    json_t *a = json_array();
    bool ok = true;

    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *t = s->procs[i];

        if (t->leader != p)
            continue;
        rj_append(a,
                  json_pack("{s:i, s:o, s:o, s:I, s:I}", "tid", t->pid, "name", rj_str(t->comm),
                            "faults", rj_faults(&t->vmstat.faults), "syscalls",
                            (json_int_t)t->syscalls, "switches", (json_int_t)t->switches),
                  &ok);
    }
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* One entry of "processes". The first process (first) carries the machine-wide "tlb"
 * counters, as reports have since there was one process; the others only their own
 * Unicorn TLB fills. Without an address space (an ended process other than the first),
 * "vmas" is empty, "crash" null and "wall_ns" null (its end time is not kept). */
static json_t *rj_process(const struct proc *p, bool first)
{
    const struct proc_usage u = report_usage(p);
    const struct mm_stats *st = &u.mm;
    json_t *o = json_object();
    bool ok = true;

    rj_set(o, "pid", json_integer(p->pid), &ok);
    rj_set(o, "ppid", json_integer(p->ppid), &ok);
    rj_set(o, "command", rj_str(p->cmdline != NULL ? p->cmdline : report_proc_name(p)), &ok);
    rj_set(o, "exit_status", json_integer(proc_wait_status(p)), &ok);
    rj_set(o, "signal", rj_signal(p), &ok);
    rj_set(o, "faults", rj_faults(&u.task.faults), &ok);
    rj_set(o, "tlb",
           first ? rj_tlb(p, u.task.fills) : json_pack("{s:I}", "fills", (json_int_t)u.task.fills),
           &ok);
    rj_set(o, "peak_rss_pages", rj_u64(st->peak_rss), &ok);
    rj_set(o, "rss_pages", rj_u64(st->rss), &ok);
    rj_set(o, "page_table_pages", rj_u64(u.pt_pages_at_exit), &ok);
    rj_set(o, "peak_page_table_pages", rj_u64(st->peak_pt_pages), &ok);
    rj_set(o, "peak_vm_pages", rj_u64(st->peak_vm), &ok);
    rj_set(o, "syscalls", rj_u64(u.syscalls), &ok);
    rj_set(o, "shared_at_exit", rj_u64(u.shared_at_exit), &ok);
    rj_set(o, "cow_shared_at_fork", rj_u64(p->cow_shared_at_fork), &ok);
    rj_set(o, "cow_shared_at_exit", rj_u64(p->cow_shared_at_exit), &ok);
    rj_set(o, "peak_vsize_bytes", rj_u64(st->peak_vm * PAGE_SIZE), &ok);
    rj_set(o, "refault_permille", rj_u64(report_refault_permille(&u.task.faults)), &ok);
    rj_set(o, "thrashing", json_boolean(report_thrashing(&u.task.faults)), &ok);
    rj_set(o, "wall_ns", p->mm != NULL ? rj_u64(report_wall_ns(p)) : json_null(), &ok);
    rj_set(o, "run_ns", rj_u64(u.cpu_ns), &ok);
    rj_set(o, "vmas", rj_vmas(p), &ok);
    rj_set(o, "crash", rj_crash(p), &ok);
    if (p->sched != NULL && report_has_threads(p->sched, p))
        rj_set(o, "threads", rj_threads(p), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The "totals" object of every process of s (see struct report_totals). */
static json_t *rj_totals(const struct proc *first, const struct sched *s)
{
    const struct report_totals t = report_totals(s);
    const struct mm_stats *st = &t.u.mm;

    return json_pack("{s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "processes",
                     (json_int_t)t.nprocs, "processes_not_listed", (json_int_t)s->ndropped,
                     "faults", rj_faults(&t.u.task.faults), "tlb", rj_tlb(first, t.u.task.fills),
                     "peak_rss_pages", (json_int_t)st->peak_rss, "rss_pages", (json_int_t)st->rss,
                     "page_table_pages", (json_int_t)t.u.pt_pages_at_exit, "peak_page_table_pages",
                     (json_int_t)st->peak_pt_pages, "peak_vm_pages", (json_int_t)st->peak_vm,
                     "syscalls", (json_int_t)t.u.syscalls, "shared_at_exit",
                     (json_int_t)t.u.shared_at_exit, "run_ns", (json_int_t)t.u.cpu_ns);
}

/* The "scheduler" object of s. */
static json_t *rj_scheduler(const struct sched *s)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:s}", "switches", (json_int_t)s->switches,
                          "watchdog_stops", (json_int_t)s->watchdog_stops, "deadlocks",
                          (json_int_t)s->deadlocks, "clock", s->clock.virt ? "virtual" : "host");
    bool ok = o != NULL;

    if (s->clock.virt)
        rj_set(o, "guest_clock_ns", rj_u64(sched_now(s) - SCHED_VCLOCK_START_NS), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The report: the run's configuration and status (those of first), the machine-wide frame
 * counts and paging, then "processes": first alone when s is NULL, else every process of
 * s (those reaped after the first SCHED_KEEP_ENDED only in the totals:
 * "processes_not_listed") followed by "totals", "scheduler" and, when a recorder was
 * attached, "timeline". NULL when out of memory. */
static json_t *rj_report(const struct proc *first, const struct sched *s)
{
    const struct vmsys *sys = first->sys;
    const struct timeline *tl = s != NULL ? timeline_of(s) : NULL;
    json_t *o = json_object(), *procs = json_array();
    bool ok = true;

    rj_set(o, "vmemu_version", json_string(VMEMU_VERSION), &ok);
    rj_set(o, "program", rj_str(first->exe), &ok);
    rj_set(o, "argv", rj_argv(first), &ok);
    rj_set(o, "exit_status", json_integer(proc_wait_status(first)), &ok);
    rj_set(o, "signal", rj_signal(first), &ok);
    rj_set(o, "mem_bytes", rj_u64(sys->phys.bytes), &ok);
    rj_set(o, "tlb",
           json_pack("{s:I, s:I, s:I, s:I}", "entries", (json_int_t)sys->tlb.sets * sys->tlb.ways,
                     "ways", (json_int_t)sys->tlb.ways, "huge_entries",
                     (json_int_t)sys->tlb.huge_sets * sys->tlb.huge_ways, "huge_ways",
                     (json_int_t)sys->tlb.huge_ways),
           &ok);
    rj_set(o, "frames",
           json_pack("{s:I, s:I, s:I, s:s, s:s}", "total", (json_int_t)sys->phys.nframes,
                     "peak_used", (json_int_t)sys->phys.peak_used, "page_cache_pages",
                     (json_int_t)sys->pc.pages, "zero_page", sys->no_zero_page ? "off" : "on",
                     "zero_page_from", sys->zero_page_host ? "host" : "option"),
           &ok);
    rj_set(o, "thp", rj_thp(sys), &ok);
    rj_set(o, "paging", rj_paging(sys), &ok);
    if (s == NULL) {
        rj_append(procs, rj_process(first, true), &ok);
    } else {
        for (size_t i = 0; i < s->nprocs; i++)
            if (s->procs[i]->leader == s->procs[i])
                rj_append(procs, rj_process(s->procs[i], s->procs[i] == first), &ok);
    }
    rj_set(o, "processes", procs, &ok);
    if (s != NULL) {
        rj_set(o, "totals", rj_totals(first, s), &ok);
        rj_set(o, "scheduler", rj_scheduler(s), &ok);
        json_t *profile = heapprof_json(s); /* --profile heap */
        if (profile != NULL)
            rj_set(o, "heap_profile", profile, &ok);
    }
    if (tl != NULL)
        rj_set(o, "timeline", timeline_json(tl), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The JSON report of one finished process as a tree (see report_json). NULL when out of
 * memory. The caller json_decref()s it. */
json_t *report_json_build_one(const struct proc *p)
{
    return rj_report(p, NULL);
}

/* The JSON report of a whole run as a tree (see report_json_all): what --html draws from.
 * NULL when s has no process or out of memory. The caller json_decref()s it. */
json_t *report_json_build(const struct sched *s)
{
    const struct proc *first = report_first(s);

    return first != NULL ? rj_report(first, s) : NULL;
}

/* Writes root to path and drops it; NULL root means out of memory. Returns 0 or -errno. */
static int report_write(const char *path, json_t *root)
{
    int rc;

    if (root == NULL)
        return -ENOMEM;
    rc = rj_write(path, root);
    json_decref(root);
    return rc;
}

/* Writes the JSON report of one finished process to path: the run's configuration, the
 * machine-wide frame counts and one entry for the process with its fault, TLB and memory
 * counters and, when a signal of a crash ended it, the crash. Returns 0 or -errno. */
int report_json(const char *path, const struct proc *p)
{
    return report_write(path, report_json_build_one(p));
}

/* Writes the JSON report of a whole run to path: as report_json() for the first process
 * (s->init), with the processes of s in "processes" (pid order; see rj_report), then
 * "totals" (counts summed over the processes, peak_* the highest of any one; the
 * machine-wide TLB counters once), "scheduler" (switches, watchdog_stops, deadlocks) and
 * "timeline" when one was recorded. Returns 0, -EINVAL when s has no process, or -errno. */
int report_json_all(const char *path, const struct sched *s)
{
    if (report_first(s) == NULL)
        return -EINVAL;
    return report_write(path, report_json_build(s));
}
