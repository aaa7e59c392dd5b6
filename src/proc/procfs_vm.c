/* The virtual-memory files vmemu renders for the whole machine: /proc/vmstat (the fault
 * and huge-page counters a program or a monitoring tool reads, in Linux's format and
 * names: mm/vmstat.c) and /sys/kernel/mm/transparent_hugepage/{enabled,defrag,
 * hpage_pmd_size}, which show vmemu's --thp mode rather than the host's, and the hugetlb
 * pool's files (/sys/kernel/mm/hugepages/hugepages-2048kB/..., /proc/sys/vm/nr_hugepages).
 * Called by the path lookup (procfs.c). */
#include <inttypes.h>
#include <string.h>

#include "procfs_int.h"
#include "vmemu/phys.h"
#include "vmemu/sched.h"
#include "vmemu/thp.h"

/* Page faults of the run's tasks (each task's own counters; an ended task's are frozen). */
static void run_faults(struct proc *t, uint64_t *minor, uint64_t *major)
{
    *minor = *major = 0;
    const struct sched *s = t->sched;
    size_t n = s ? s->nprocs : 1;
    for (size_t i = 0; i < n; i++) {
        struct proc_usage u = proc_usage_now(s ? s->procs[i] : t);
        *minor += u.task.faults.minor;
        *major += u.task.faults.major;
    }
}

/* /proc/vmstat: the counters vmemu keeps, zero for the ones it has no equivalent of. */
int procfs_render_vmstat(struct pbuf *b, struct proc *t)
{
    const struct vmsys *sys = t->sys;
    const struct thp_stats *h = &sys->thp;
    uint64_t minor, major;
    run_faults(t, &minor, &major);
    pb_printf(b, "nr_free_pages %" PRIu64 "\n", phys_free_frames(&sys->phys));
    pb_printf(b, "nr_anon_transparent_hugepages %" PRIu64 "\n", h->resident);
    pb_printf(b, "pgfault %" PRIu64 "\n", minor + major);
    pb_printf(b, "pgmajfault %" PRIu64 "\n", major);
    pb_printf(b, "thp_fault_alloc %" PRIu64 "\n", h->fault_alloc);
    pb_printf(b, "thp_fault_fallback %" PRIu64 "\n", h->fault_fallback);
    pb_printf(b, "thp_fault_fallback_charge 0\n");
    pb_printf(b, "thp_collapse_alloc 0\n");
    pb_printf(b, "thp_collapse_alloc_failed 0\n");
    pb_printf(b, "thp_file_alloc 0\n");
    pb_printf(b, "thp_file_mapped 0\n");
    pb_printf(b, "thp_split_page 0\n");
    pb_printf(b, "thp_split_page_failed 0\n");
    pb_printf(b, "thp_deferred_split_page 0\n");
    pb_printf(b, "thp_split_pmd %" PRIu64 "\n", h->split_pmd);
    pb_printf(b, "thp_zero_page_alloc %d\n", h->zero_page_alloc ? 1 : 0);
    pb_printf(b, "thp_zero_page_alloc_failed 0\n");
    pb_printf(b, "thp_swpout 0\n");
    pb_printf(b, "thp_swpout_fallback %" PRIu64 "\n", h->swpout_fallback);
    return 0;
}

int procfs_render_thp_enabled(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%s", thp_mode_sysfs(t->sys->thp_mode));
    return 0;
}

/* defrag: vmemu never compacts or reclaims for a huge page (it falls back at once), which
 * is what madvise shows for areas without MADV_HUGEPAGE; shown as the host default. */
int procfs_render_thp_defrag(struct pbuf *b, struct proc *t)
{
    (void)t;
    pb_printf(b, "always defer defer+madvise [madvise] never\n");
    return 0;
}

int procfs_render_thp_pmd_size(struct pbuf *b, struct proc *t)
{
    (void)t;
    pb_printf(b, "%llu\n", (unsigned long long)HPAGE_SIZE);
    return 0;
}

/* The hugetlb pool's counters, one number per file (Linux's hugetlb sysfs). */
int procfs_render_nr_hugepages(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%" PRIu64 "\n", t->sys->phys.hugetlb_total);
    return 0;
}

int procfs_render_free_hugepages(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%" PRIu64 "\n", t->sys->phys.hugetlb_nfree);
    return 0;
}

int procfs_render_resv_hugepages(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%" PRIu64 "\n", t->sys->phys.hugetlb_resv);
    return 0;
}

/* surplus_hugepages and nr_overcommit_hugepages: vmemu's pool never grows. */
int procfs_render_zero(struct pbuf *b, struct proc *t)
{
    (void)t;
    pb_printf(b, "0\n");
    return 0;
}
