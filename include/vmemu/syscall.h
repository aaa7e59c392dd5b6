/* The syscall layer's entry point, used by the process layer. */
#ifndef VMEMU_SYSCALL_H
#define VMEMU_SYSCALL_H

#include "vmemu/proc.h"
#include "vmemu/syscall_names.h"

/* Runs syscall nr with its six raw arguments for p and returns the value for RAX
 * (>= 0 or -errno). Writes the --trace line. An unknown or unimplemented syscall returns
 * -ENOSYS and is reported once by name. */
long syscall_dispatch(struct proc *p, uint64_t nr, const uint64_t args[6]);

#endif
