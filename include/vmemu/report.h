/* What the user sees of a run: the --stats summary, the --report JSON and the crash report
 * of a guest killed by a fault (the VMA table of --maps is vmemu/maps_table.h's). */
#ifndef VMEMU_REPORT_H
#define VMEMU_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "vmemu/proc.h"

struct sched;
/* Prints the /usr/bin/time -v style summary of a finished process. */
void report_stats(FILE *out, const struct proc *p);
/* Writes the JSON report of a finished process to path. Returns 0 or -errno. */
int report_json(const char *path, const struct proc *p);
/* --stats for a whole run: the summary of the first process as report_stats prints it,
 * then, when more than one process ran, one block per process (pid, parent, command line,
 * exit status, faults by class with COW copies and reuses, pages still shared at exit)
 * and a totals block for the process tree, plus the scheduler's counters (context
 * switches, watchdog stops). */
void report_stats_all(FILE *out, const struct sched *s);
/* --report for a whole run: the JSON of report_json with every process in "processes"
 * (in pid order), a "totals" object summing them, and a "scheduler" object. Returns 0 or
 * -errno. */
int report_json_all(const char *path, const struct sched *s);
/* The JSON report of a whole run as a jansson tree, what report_json_all writes (keys in
 * their order): --html draws from it. NULL when s has no process or out of memory; the
 * caller json_decref()s it. */
json_t *report_json_build(const struct sched *s);
/* The JSON report of one finished process as a tree, what report_json writes. NULL when
 * out of memory; the caller json_decref()s it. */
json_t *report_json_build_one(const struct proc *p);
/* Prints the report of a guest killed by a memory fault or a CPU exception: what, where,
 * why (with the syscall that unmapped the address, when one did), which mapping (with the
 * file and ELF section in the program image), the registers, the faulting instruction and
 * the VMA table. */
void report_crash(FILE *out, struct proc *p, const struct cpu_exit *ex);

#endif
