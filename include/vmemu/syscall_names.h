/* Names of x86-64 Linux syscalls by number, for --trace, ENOSYS messages and crash reports
 * (src/lib/syscall_names.c). */
#ifndef VMEMU_SYSCALL_NAMES_H
#define VMEMU_SYSCALL_NAMES_H

#include <stdint.h>

/* The name of syscall nr ("read"), or NULL when nr is not an x86-64 syscall. */
const char *syscall_name(uint64_t nr);

#endif
