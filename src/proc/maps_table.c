/* The VMA table vmemu prints for the user (--maps, the crash report's "maps:", the gdb stub's
 * "monitor maps"): each area like /proc/PID/maps plus its kind and its resident, dirty and swapped
 * pages (counted by mm_vma_usage(), as smaps counts them), then the totals; and the name
 * column the reports give an area. Nothing here faults a page in or changes a counter. */
#include "vmemu/maps_table.h"

#include <inttypes.h>
#include <string.h>

#include "vmemu/mm_stat.h"
#include "vmemu/vma.h"

#define KIB_PER_PAGE ((uint64_t)(PAGE_SIZE / 1024)) /* KiB in one page */

/* The process's name in a title line: its comm, else its program, else "?" (as the
 * reports name it). */
static const char *proc_name(const struct proc *p)
{
    return p->comm[0] != '\0' ? p->comm : (p->exe != NULL ? p->exe : "?");
}

/* Name column of an area: its file's path (shared anonymous memory's is "/dev/zero
 * (deleted)", as Linux names it), or [heap], [stack], [bss], [vmemu heap] (the heap
 * checker's area), "" for anonymous memory (as /proc/PID/maps leaves it empty). */
const char *maps_vma_name(const struct vma *v)
{
    if (v->file != NULL && v->file->path != NULL)
        return v->file->path;
    switch (v->kind) {
    case VMA_HEAP:
        return "[heap]";
    case VMA_STACK:
        return "[stack]";
    case VMA_BSS:
        return "[bss]";
    case VMA_CHECKER:
        return "[vmemu heap]";
    default:
        return "";
    }
}

/* Prints the VMA table of p, each line after indent: a header, one line per area like
 * /proc/PID/maps plus its kind and its resident, dirty and swapped pages (mm_vma_usage(),
 * which walks the page table), then the totals with the peak virtual size. The kind column
 * is as wide as its longest name (5, or 7 with the heap checker's "checker"). */
void maps_table_print(FILE *out, const struct proc *p, const char *indent)
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
        const char *name = maps_vma_name(v);
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
 * maps_table_print(). */
void maps_print(FILE *out, const struct proc *p)
{
    fprintf(out, "vmemu: address space of '%s' (pid %d)\n", proc_name(p), p->pid);
    maps_table_print(out, p, "");
}
