/* The /proc files vmemu makes up for the guest from its own state, so a program that looks
 * at its memory sees vmemu's numbers, not the host's: /proc/self and /proc/PID (PID = the
 * process's vmemu pid) maps, smaps, status, stat, statm, exe, cmdline, comm; /proc/meminfo
 * (the frame pool) and /proc/cpuinfo (the emulated CPU). Other /proc paths go to the host.
 * Called by the open syscalls (syscalls/sys_file.c). */
#ifndef VMEMU_PROCFS_H
#define VMEMU_PROCFS_H

#include "vmemu/fd.h"
#include "vmemu/proc.h"

/* procfs_open's answer for a path vmemu does not synthesize: open the host's file. */
#define PROCFS_PASS 1

/* Opens the file named by path, a /proc path as the guest sees it (/proc, /proc/self,
 * /proc/thread-self, /proc/PID of any guest task, the files below them), with open flags
 * `flags`. Returns a host descriptor: a snapshot of a file vmemu renders (readable,
 * seekable, cloexec), the host's file for an entry that says nothing of vmemu's own state,
 * or for a directory vmemu lists itself (/proc, /proc/PID/fd, fdinfo, task) a placeholder
 * with the listing in *dir (one reference; dir NULL: -ENOENT). PROCFS_PASS when path is
 * not under /proc, but for /sys/kernel/mm/transparent_hugepage/{enabled,defrag,
 * hpage_pmd_size} and the files of /sys/kernel/mm/hugepages/hugepages-2048kB, which
 * vmemu renders; -ENOENT for a missing entry (a pid that is not a guest task, an unknown
 * file); -EACCES when opened for writing or for an entry that
 * would show vmemu's own memory (mem, pagemap, map_files, environ, auxv, ...); other
 * -errno from the host. */
int procfs_open(struct proc *p, const char *path, int flags, struct fd_dir **dir);
/* The host path that stands in for the guest /proc path `path` (canonical: /proc/PID/...)
 * in stat and the other path syscalls: the host's /proc/self/ENTRY for an entry of a
 * guest task, the program for exe, the host's fdinfo of the descriptor vmemu keeps for a
 * guest descriptor. Returns 0, -ENOENT, -EACCES (as procfs_open) or -ENAMETOOLONG. */
int procfs_host_path(struct proc *p, const char *path, char *out, size_t size);
/* Makes the listing of a directory procfs_open gave (again, when it exists): its entries
 * as they are now. Returns 0 or -ENOMEM. */
int procfs_fill_dir(struct proc *p, struct fd_dir *dir);
/* The guest task whose decimal id is name (any task of the run; with group, only a task of
 * group's thread group), or NULL. */
struct proc *procfs_task(struct proc *p, const char *name, struct proc *group);

#endif
