/* How a debugging tool attaches to the processes of a run (the heap checker, the heap
 * profiler): the process and syscall layers call these hooks at their events and know
 * nothing else of the tool, which lives in a higher layer (src/debug/). The tool's state
 * for a process is p->heap, opaque here. */
#ifndef VMEMU_DEBUG_HOOKS_H
#define VMEMU_DEBUG_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmemu/types.h"

struct proc;
struct mm;

/* Every hook is called only when the run has an observer (run_options.observer). */
struct proc_observer {
    /* p is about to run the program exe, loaded into the new address space mm (p still
     * has its old image): *state gets the tool's state for the new image (NULL: none).
     * Returns 0, -ENOEXEC when the tool cannot follow this program (one line in err; the
     * exec goes on unobserved when p ran an observed program before), or -errno, which
     * fails the exec. */
    int (*exec)(struct proc *p, struct mm *mm, const char *exe, void **state, char *err,
                size_t errlen);
    /* child was forked from parent, whose state is parent->heap: sets child->heap. Returns
     * 0 or -ENOMEM (the fork fails). */
    int (*fork)(struct proc *parent, struct proc *child);
    /* p ends (its address space is still there): the tool's last report on out. Returns
     * the number of errors found in p's life. */
    uint64_t (*exit)(struct proc *p, FILE *out);
    /* Frees a process's state (NULL is fine). */
    void (*release)(void *state);
    /* Before the syscall table: when the `syscall` instruction at rip is the tool's own
     * trap, handles it (registers set) and returns true; false for a real syscall. */
    bool (*syscall)(struct proc *p, gva_t rip);
};

#endif
