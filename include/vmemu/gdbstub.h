/* The gdb remote-protocol stub (--gdb PORT): gdb connects over TCP and debugs the guest
 * through vmemu: registers, memory through vmemu's MMU, breakpoints, single-step,
 * watchpoints made with vmemu's page protection, signals, `info proc mappings`, and the
 * `monitor` commands maps, pte ADDR and stats. */
#ifndef VMEMU_GDBSTUB_H
#define VMEMU_GDBSTUB_H

#include "vmemu/types.h"

struct mm;
struct proc;
struct sched;
struct gdbstub;

/* What stopped the guest, for gdbstub_stop. */
enum gdb_event {
    GDB_EV_START,      /* the first instruction of the program: wait for gdb's commands */
    GDB_EV_BREAKPOINT, /* an int3 the stub placed was hit (RIP is after it) */
    GDB_EV_STEP,       /* a single step ended (steps use the trap flag in RFLAGS) */
    GDB_EV_WATCH,      /* a watched range was accessed (addr, value = kind 2, 3 or 4) */
    GDB_EV_SIGNAL,     /* the guest is about to receive signal signo */
    GDB_EV_EXEC,       /* the process executed a new program */
    GDB_EV_FORK,       /* the process forked (the child is not followed) */
    GDB_EV_EXIT,       /* the process ended (status in Linux wait form) */
};

/* Listens on 127.0.0.1:port and waits for gdb to connect (one line on stderr says so).
 * Returns 0 with *out set, or -errno (-EADDRINUSE ...). */
int gdbstub_open(int port, struct sched *s, struct gdbstub **out);
/* Closes the connection and frees g (NULL is fine). */
void gdbstub_close(struct gdbstub *g);
/* Whether gdb is connected (false once it detached, killed the process or went away);
 * the run loop uses it to tell the stub's traps (int3, the trap flag of a step) from the
 * guest's own. */
bool gdbstub_attached(const struct gdbstub *g);
/* Reports an event of p to gdb and serves gdb's requests until gdb resumes the guest
 * (continue, step, detach, kill). addr/signo/status belong to the event. Returns 0 to
 * resume, or -ECONNRESET when gdb went away (the guest then runs on without it). For
 * GDB_EV_SIGNAL (value = the Linux signal) it returns instead the signal to deliver:
 * 0 when gdb resumed with c/s (discard: gdb's `signal 0`, `handle SIG nopass`), the
 * signal of C/S (translated back to Linux's numbering; may differ), or value itself when
 * gdb was not told (another process) or went away. After a kill p->exited is set. */
int gdbstub_stop(struct gdbstub *g, struct proc *p, enum gdb_event ev, gva_t addr, int value);
/* While the guest runs: whether gdb asked to stop it (Ctrl-C, a 0x03 byte), for p, the
 * process on the CPU (false when it is not the debugged one). Cheap: it looks at the
 * socket at most every 20 ms of host time. The caller then reports GDB_EV_SIGNAL with
 * SIGINT (gdb's "Program received signal SIGINT"). */
bool gdbstub_interrupted(struct gdbstub *g, struct proc *p);

/* Watchpoints are page traps of the CPU (cpu_set_page_trap): an access to a watched page
 * ends the run with CPU_EXIT_WATCH before the access. The run loop then runs that one
 * instruction with the traps of its page(s) suspended (gdbstub_watch_skip), re-arms them
 * (gdbstub_watch_rearm) and, when the access hit a watched range (gdbstub_watch_hit),
 * reports GDB_EV_WATCH with addr = the first byte hit and value = the watchpoint's kind.
 * Accesses vmemu makes for a syscall (uaccess) do not trigger. */
/* Suspends the traps of page until gdbstub_watch_rearm. Returns 0 or -ENOSPC. */
int gdbstub_watch_skip(struct gdbstub *g, gva_t page);
/* Ends every suspension (the CPU's TLB is flushed before the next run). */
void gdbstub_watch_rearm(struct gdbstub *g);
/* The kind (2 write, 3 read, 4 access: gdb's Z numbers) of the first watchpoint of mm that
 * an access to [ea, ea + size) triggers, with *addr its first byte hit; 0 when none. */
int gdbstub_watch_hit(const struct gdbstub *g, const struct mm *mm, gva_t ea, gva_t size,
                      enum access access, gva_t *addr);

#endif
