/* Inside the gdb stub: what src/gdbstub.c (connection, packets, run control) shares with
 * src/gdbstub_target.c (the amd64 register layout and target.xml, the monitor commands).
 * Not for other modules: they use vmemu/gdbstub.h. */
#ifndef VMEMU_GDBSTUB_INT_H
#define VMEMU_GDBSTUB_INT_H

#include <stddef.h>
#include <stdio.h>

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

/* Runs the monitor command cmd (qRcmd) for p, printing its output to out.
 * Returns 0, or -EINVAL for an unknown command or bad argument (a usage line is printed). */
int gdbstub_monitor(struct proc *p, const char *cmd, FILE *out);

#endif
