/* The heap profiler (--profile heap): the program's own allocator runs as it is; its entry
 * points (malloc, calloc, realloc, free, memalign, posix_memalign, aligned_alloc, valloc,
 * pvalloc, reallocarray, C++ operator new and delete), found by symbol, are observed at
 * call (a code probe) and return (a trampoline): heap in use over time, the peak and the
 * allocation sites holding it, and the page faults and resident pages of each site's
 * blocks. A text summary on stderr at each process's end, the data in the JSON report. */
#ifndef VMEMU_HEAPPROF_H
#define VMEMU_HEAPPROF_H

#include <jansson.h>
#include <stdio.h>

#include "vmemu/types.h"

struct mm;
struct proc;
struct sched;
struct proc_observer;

/* Sets up the profiler for p right after its program was loaded into mm (exec): finds the
 * entry points in the program's .symtab, puts a code probe on each (once per address for
 * the run), maps the return trampoline's page (HP_TRAMP, one page that holds a `syscall`)
 * and charges the machine's faults through vmsys.on_fault. *out gets the state (which
 * shares the run's state with old, p's state for its previous image, or NULL). Returns 0;
 * -ENOEXEC with one line in err when the program has no symbol table or no malloc;
 * -ENOMEM, or mm_map's -errno. */
int heapprof_attach(struct proc *p, struct mm *mm, const char *exe, void *old, void **out,
                    char *err, size_t errlen);
/* The "heap_profile" member of the JSON report: a new array (the caller owns it) with one
 * object per profiled process that ended (or was replaced by exec), or NULL when s's
 * first process was not profiled or out of memory. */
json_t *heapprof_json(const struct sched *s);

/* The profiler's hooks for the process and syscall layers (debug_hooks.h): main sets
 * run_options.observer to it with --profile heap. */
extern const struct proc_observer heapprof_observer;

#endif
