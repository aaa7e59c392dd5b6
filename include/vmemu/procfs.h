/* The /proc files vmemu makes up for the guest from its own state, so a program that looks
 * at its memory sees vmemu's numbers, not the host's: /proc/self and /proc/PID (PID = the
 * process's vmemu pid) maps, smaps, status, stat, statm, exe, cmdline, comm; /proc/meminfo
 * (the frame pool) and /proc/cpuinfo (the emulated CPU). Other /proc paths go to the host.
 * Called by the open syscalls (syscalls/sys_file.c). */
#ifndef VMEMU_PROCFS_H
#define VMEMU_PROCFS_H

#include "vmemu/proc.h"

/* procfs_open's answer for a path vmemu does not synthesize: open the host's file. */
#define PROCFS_PASS 1

/* Opens the synthesized file named by path (absolute, already the guest's string) with
 * open flags `flags`. Returns a host descriptor holding a snapshot of the file, taken now
 * (readable, seekable, cloexec); PROCFS_PASS when path is not one vmemu makes up;
 * -ENOENT for a missing entry (a pid that is not a vmemu process, an unknown file under
 * /proc/self); -EACCES when opened for writing; other -errno from the host. */
int procfs_open(struct proc *p, const char *path, int flags);

#endif
