/* What the files of the kernel loop share: the trap entry (trap.c) and the debugger's side
 * of the loop (run_gdb.c), called by the loop itself (run.c). */
#ifndef VMEMU_KERNEL_INT_H
#define VMEMU_KERNEL_INT_H

#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"

#define RFLAGS_TF      0x100ULL               /* trap flag: #DB after the next instruction */
#define WATCH_MAX_RUNS 16                     /* runs a step over a trapping instruction may take */
#define GDB_POLL_NS    (100ULL * 1000 * 1000) /* run time after which gdb's Ctrl-C is looked for */

/* The `syscall` instruction of the current process (the CPU's syscall hook, ctx the
 * scheduler): arguments from RDI, RSI, RDX, R10, R8, R9, number in RAX, the result back in
 * RAX. A handler that put the process to sleep leaves RIP on the instruction and RAX = the
 * number, so that it runs again when the process wakes. Asks the CPU to stop for an exit,
 * an OOM kill, a sleep, a signal to deliver, or the end of the slice. */
void trap_syscall(void *ctx, struct cpu *cpu);
/* p's run ended with a fatal stop of the CPU (ex): a signal handler may take it (SIGSEGV
 * caught after mprotect), else the crash report and the end of p. gdb, when attached,
 * sees the signal first and may discard or change it. */
void trap_fatal(struct sched *s, struct proc *p, struct cpu_exit *ex);

/* Whether gdb is attached (--gdb and the session still open). */
bool run_gdb(const struct sched *s);
/* Ends p (its status is set): gdb hears of it first, then the scheduler does the rest. */
void run_end(struct sched *s, struct proc *p);
/* Reports signal sig of p to gdb (addr: the fault address, 0 for an asynchronous signal)
 * when gdb is attached. Returns the signal to deliver (gdb may discard it, 0, or change
 * it), or -1 when gdb killed p (p has then ended). */
int run_gdb_signal(struct sched *s, struct proc *p, gva_t addr, int sig);
/* gdb's Ctrl-C: p stops with SIGINT for gdb. Returns the signal gdb passes on (sent to p;
 * 0: none), or -1 when gdb killed p (p has then ended). */
int run_gdb_interrupt(struct sched *s, struct proc *p);
/* After a run that stopped on a trap: gdb's breakpoint or the end of its single step.
 * Returns true when gdb took the trap. */
bool run_gdb_trap(struct sched *s, struct proc *p, const struct cpu_exit *ex);
/* After a run that ended at a syscall: an exec of p (before: the mm before the run), and
 * the end of a single step over the syscall instruction. */
void run_gdb_syscall(struct sched *s, struct proc *p, const struct mm *before);
/* A run that stopped on a watchpoint's page trap (CPU_EXIT_WATCH): runs that one
 * instruction with its pages open, re-arms them and reports a hit to gdb after it.
 * Returns 1 when done, 0 when the step ended otherwise (*ex says how), or -errno. */
int run_watch(struct sched *s, struct proc *p, struct cpu_exit *ex);

#endif
