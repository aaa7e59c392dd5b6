/* The kernel loop (src/kernel/): what main calls to run the processes of a scheduler. */
#ifndef VMEMU_RUN_H
#define VMEMU_RUN_H

#include "vmemu/sched.h"

/* Runs every process until all have ended. The first process added is the one whose
 * status vmemu returns. Returns 0, or -EIO when the CPU failed. */
int run_all(struct sched *s);

#endif
