/* Inside the gdb stub: what src/gdbstub.c (connection, packets, run control) shares with
 * src/gdbstub_target.c (the amd64 register layout and target.xml, the monitor commands).
 * Not for other modules: they use vmemu/gdbstub.h. */
#ifndef VMEMU_GDBSTUB_INT_H
#define VMEMU_GDBSTUB_INT_H

#include <stddef.h>
#include <stdio.h>

#include "vmemu/cpu.h" /* CPU_TRAP_READ, CPU_TRAP_WRITE */
#include "vmemu/types.h"

struct proc;
struct gdbstub;

/* Bytes of the `g` packet's register block (registers 0-59 of the target description). */
#define GDB_REGS_BYTES 560
/* Registers in the target description. */
#define GDB_NREGS      60

/* The target description gdb reads with qXfer:features:read:target.xml. */
extern const char gdbstub_target_xml[];

/* Writes p's registers (p must be the process on the CPU) in the g layout into out
 * (GDB_REGS_BYTES). */
void gdbstub_regs_read(struct proc *p, uint8_t out[GDB_REGS_BYTES]);
/* Loads registers from a g-layout block (G packet). */
void gdbstub_regs_write(struct proc *p, const uint8_t in[GDB_REGS_BYTES]);
/* Size and offset in the g layout of register n. Returns false for an unknown register. */
bool gdbstub_reg_slot(int n, size_t *off, size_t *size);

/* Kinds of watchpoints, numbered as gdb's Z packets. */
enum gdb_watch_type {
    GDB_WATCH_WRITE = 2,  /* Z2: write watchpoint (`watch`) */
    GDB_WATCH_READ = 3,   /* Z3: read watchpoint (`rwatch`) */
    GDB_WATCH_ACCESS = 4, /* Z4: access watchpoint (`awatch`) */
};

#define GDB_MAX_WATCHES 64 /* watchpoints at once */
#define GDB_MAX_SKIP    4  /* pages whose traps a step over one instruction suspends */

struct gdb_watch {
    gva_t addr;               /* first watched byte */
    gva_t len;                /* bytes watched (> 0) */
    enum gdb_watch_type type; /* write, read or access */
};

/* The watchpoints of the debugged address space (src/gdbstub_watch.c: no CPU, no mm). */
struct gdb_watches {
    struct gdb_watch w[GDB_MAX_WATCHES]; /* inserted watchpoints */
    size_t n;                            /* entries in w */
    gva_t skip[GDB_MAX_SKIP];            /* pages that do not trap now (stepping over) */
    size_t nskip;                        /* entries in skip */
};

/* Adds a watchpoint (inserting one that exists is fine). Returns 0, -EINVAL for len 0 or
 * a range past the end of the address space, -ENOSPC when the table is full. */
int gdbwatch_insert(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type);
/* Removes the watchpoint (addr, len, type). Returns 0 or -ENOENT. */
int gdbwatch_remove(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type);
/* The accesses to the page at page (aligned) that must trap, as the CPU's page-trap
 * function answers them: CPU_TRAP_WRITE when a write or access watchpoint overlaps it,
 * CPU_TRAP_READ for a read or access one; 0 for a skipped page. */
unsigned gdbwatch_page_traps(const struct gdb_watches *t, gva_t page);
/* The first watchpoint that an access of `access` to [ea, ea + size) triggers (writes
 * trigger write and access watchpoints, reads read and access ones), or NULL. *hit is set
 * to the first accessed byte inside it. size 0 is taken as 1. */
const struct gdb_watch *gdbwatch_hit(const struct gdb_watches *t, gva_t ea, gva_t size,
                                     enum access access, gva_t *hit);
/* Suspends the traps of page until gdbwatch_unskip. Returns 0 or -ENOSPC. */
int gdbwatch_skip(struct gdb_watches *t, gva_t page);
/* Ends every suspension. */
void gdbwatch_unskip(struct gdb_watches *t);

/* Runs the monitor command cmd (qRcmd) for p, printing its output to out.
 * Returns 0, or -EINVAL for an unknown command or bad argument (a usage line is printed). */
int gdbstub_monitor(struct proc *p, const char *cmd, FILE *out);

#endif
