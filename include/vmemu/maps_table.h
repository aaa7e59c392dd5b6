/* The VMA table vmemu prints for the user (not /proc/PID/maps, which src/proc/procfs_task.c
 * renders in Linux's format): one line per area with its kind and its resident, dirty and
 * swapped pages, then the totals. Printed by --maps, by the crash report and by the gdb
 * stub's "monitor maps"; the area names are also those of the crash report and the JSON
 * report. Reads the page tables without faulting anything in or changing a counter. */
#ifndef VMEMU_MAPS_TABLE_H
#define VMEMU_MAPS_TABLE_H

#include <stdio.h>

#include "vmemu/proc.h"

/* The name column of area v: its file's path (shared anonymous memory's is "/dev/zero
 * (deleted)", as Linux names it), or [heap], [stack], [bss], [vmemu heap] (the heap
 * checker's area), "" for anonymous memory. Never NULL; the string lives as long as v. */
const char *maps_vma_name(const struct vma *v);

/* Prints the VMA table of p to out, each line after indent: a header, one line per area
 * (start-end, perms, file offset, kind, resident, dirty and swapped pages counted by
 * mm_vma_usage(), name), then the totals with the peak virtual size and the page-table
 * pages. Prints nothing when p has no address space. */
void maps_table_print(FILE *out, const struct proc *p, const char *indent);

/* Prints the VMA table of p (--maps, "monitor maps"): a title line naming the process and
 * its pid, then maps_table_print() without indentation. p must have an address space for
 * the table to be printed (the title is printed regardless). */
void maps_print(FILE *out, const struct proc *p);

#endif
