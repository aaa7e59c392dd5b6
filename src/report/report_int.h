/* Private to the report module (src/report/report_stats.c, report_json.c): the counters of
 * a process and of a whole run as both the --stats text and the --report JSON show them,
 * and the names they give a process. Nothing here faults a page in or changes a counter. */
#ifndef VMEMU_SRC_REPORT_INT_H
#define VMEMU_SRC_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "vmemu/proc.h"
#include "vmemu/sched.h"

/* The counters of a whole run: counts (faults, resident and page-table pages at exit,
 * shared pages, syscalls, run time) summed over its processes, peaks (peak_rss, peak_vm,
 * peak_pt_pages) the highest of any one process. */
struct report_totals {
    struct proc_usage u; /* sums, peaks as maxima */
    size_t nprocs;       /* processes counted */
};

/* The counters of p as the reports show them: live from its address space while it has
 * one (page-table pages counted now), else the ones frozen at its exit. */
struct proc_usage report_usage(const struct proc *p);
/* The TLB flushes of p's Unicorn CPU, 0 when p has no CPU. */
uint64_t report_unicorn_flushes(const struct proc *p);
/* The VM_FLUSH_* causes' names (bit i at index i), and the --stats line that shows the
 * Unicorn TLB flushes per second of guest run time and per cause. */
extern const char *const report_flush_cause_names[VM_FLUSH_NCAUSES];
void report_flush_causes(FILE *out, const struct proc *p);
/* Nanoseconds of host time since p started, 0 when its start time is not known. */
uint64_t report_wall_ns(const struct proc *p);
/* The thrashing indicator: pages brought back after an eviction (swap-ins and file
 * re-reads) per 1000 page faults of f, 0 without faults. */
uint64_t report_refault_permille(const struct fault_stats *f);
/* Whether f says the program is thrashing: at least half of its faults bring back an
 * evicted page, and there are at least 64 of them. */
bool report_thrashing(const struct fault_stats *f);
/* The name the reports give p: its comm, else its program's path, else "?". Never NULL. */
const char *report_proc_name(const struct proc *p);
/* The first process of the run (whose status vmemu returns), or NULL when s has none. */
const struct proc *report_first(const struct sched *s);
/* Whether the process led by p had threads that the scheduler still lists. */
bool report_has_threads(const struct sched *s, const struct proc *p);
/* The totals of every process of s (see struct report_totals). */
struct report_totals report_totals(const struct sched *s);

/* The "crash" object of p (report_json_crash.c): json null when no crash ended it or its
 * address space (where the facts are) is gone. NULL when out of memory. */
json_t *rj_crash(const struct proc *p);
/* The "vmas" array of p: its areas now, each with resident, dirty and swapped pages
 * (empty without an address space). NULL when out of memory. */
json_t *rj_vmas(const struct proc *p);

#endif
