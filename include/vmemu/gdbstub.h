/* The gdb remote-protocol stub (--gdb PORT): gdb connects over TCP and debugs the guest
 * through vmemu: registers, memory through vmemu's MMU, breakpoints, single-step,
 * watchpoints made with vmemu's page protection, signals, `info proc mappings`, and the
 * `monitor` commands maps, pte ADDR and stats. */
#ifndef VMEMU_GDBSTUB_H
#define VMEMU_GDBSTUB_H

#include "vmemu/types.h"

struct proc;
struct sched;
struct gdbstub;

/* What stopped the guest, for gdbstub_stop. */
enum gdb_event {
    GDB_EV_START,      /* the first instruction of the program: wait for gdb's commands */
    GDB_EV_BREAKPOINT, /* an int3 the stub placed was hit (RIP is after it) */
    GDB_EV_STEP,       /* a single step ended (steps use the trap flag in RFLAGS) */
    GDB_EV_WATCH,      /* a watched range was accessed (addr) */
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
 * resume, or -ECONNRESET when gdb went away (the guest then runs on without it). */
int gdbstub_stop(struct gdbstub *g, struct proc *p, enum gdb_event ev, gva_t addr, int value);

#endif
