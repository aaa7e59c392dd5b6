/* The heap checker (--check heap[,guard]): the guest's allocator entry points, found by
 * symbol, are replaced by vmemu's checking allocator, whose blocks live in guest memory
 * that vmemu maps for it: red zones around every block, freed blocks kept in a quarantine
 * and made inaccessible, and with guard each block placed against an inaccessible page.
 * It reports overflows, use after free, double and invalid frees, and leaks at exit. */
#ifndef VMEMU_HEAPCHECK_H
#define VMEMU_HEAPCHECK_H

#include <stdio.h>

#include "vmemu/types.h"

/* Bits of run_options.check. */
#define CHECK_HEAP  0x1u /* --check heap */
#define CHECK_GUARD 0x2u /* --check heap,guard */

struct proc;
struct cpu;
struct sched;
struct heapcheck;
struct proc_observer;

/* Sets up the checker for p right after p's program was loaded (exec): finds the entry
 * points in the program's .symtab and patches each with a `syscall` instruction (through a
 * private copy of the page, never the page cache) so that calling it reaches
 * heapcheck_call. Sets p->heap. Returns 0; -ENOEXEC with one line in err ("... has no
 * symbols: --check heap needs a program that is not stripped") when the program has no
 * symbol table or no malloc; -ENOMEM. */
int heapcheck_attach(struct proc *p, char *err, size_t errlen);
/* Byte-precise checks (--check heap without guard): has the CPU report every guest access
 * to the checker's area (cpu_watch_range) and checks it against the blocks of the process
 * sched runs, reporting on stderr at once any byte outside a live block. Call once, before
 * the first run. Returns 0 or cpu_watch_range's -errno. */
int heapcheck_watch(struct cpu *cpu, struct sched *sched);
/* Frees the checker's state (not its guest memory, which goes with the address space). */
void heapcheck_free(struct heapcheck *h);
/* The checker's copy for a forked child (same blocks, same addresses: the child's address
 * space is a copy). Returns NULL when out of memory. */
struct heapcheck *heapcheck_dup(const struct heapcheck *h);
/* Called by the syscall dispatcher before anything else: when p->heap is set and rip (the
 * address of the `syscall` instruction) is a patched entry point, performs that call
 * (arguments in RDI, RSI, RDX), sets RAX to its result and returns to the caller (RIP =
 * the return address popped from the stack), and returns true; false when rip is no entry
 * point (a real syscall). Errors found are reported on stderr at once. */
bool heapcheck_call(struct proc *p, gva_t rip);
/* For the crash report: when addr lies in the checker's memory, one or more lines that say
 * what it is ("0 bytes after the 13-byte block at 0x..., allocated at: ...; freed at: ...")
 * into buf, and the bug class in *kind ("heap-buffer-overflow", "heap-use-after-free");
 * returns true. False when addr is not the checker's. */
bool heapcheck_explain(const struct proc *p, gva_t addr, const char **kind, char *buf, size_t len);
/* At the end of p: the leak report (blocks never freed, grouped by allocation site, with
 * byte totals) on out, and the summary line. Returns the number of errors found in p's
 * life, leaks included. */
uint64_t heapcheck_exit_report(struct proc *p, FILE *out);

/* The checker's hooks for the process and syscall layers (debug_hooks.h): main sets
 * run_options.observer to it with --check heap. */
extern const struct proc_observer heapcheck_observer;

#endif
