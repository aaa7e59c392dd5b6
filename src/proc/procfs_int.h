/* Private to the /proc files (src/proc/procfs.c, procfs_task.c, procfs_sys.c): the text
 * buffer a file is rendered into, and the renderers procfs.c's lookup tables name. A
 * renderer appends the whole file for process t to b and returns 0 (or -errno); an
 * allocation failure is kept in b->oom, which procfs.c turns into -ENOMEM at open. */
#ifndef VMEMU_SRC_PROCFS_INT_H
#define VMEMU_SRC_PROCFS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "vmemu/fd.h"
#include "vmemu/proc.h"

#define KB_PER_PAGE ((uint64_t)(PAGE_SIZE / 1024))

/* A file being rendered. */
struct pbuf {
    char *data; /* text so far (NUL-terminated when len > 0) */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed: the text is incomplete */
};

/* Appends the printf-formatted text to b, growing it as needed; on a failure sets b->oom
 * (the text is then incomplete). */
__attribute__((format(printf, 2, 3))) void pb_printf(struct pbuf *b, const char *fmt, ...);
/* Appends n raw bytes of src to b (cmdline holds NULs), keeping it NUL-terminated; on an
 * allocation failure sets b->oom. */
void pb_put(struct pbuf *b, const void *src, size_t n);

/* /proc/PID/maps: one line per area of t, as Linux prints it. Returns 0. */
int procfs_render_maps(struct pbuf *b, struct proc *t);
/* /proc/PID/smaps: each maps line followed by the area's sizes and counters (Linux's
 * __show_smap) and its VmFlags. Returns 0. */
int procfs_render_smaps(struct pbuf *b, struct proc *t);
/* /proc/PID/smaps_rollup: the counters of smaps summed over every area of t. Returns 0. */
int procfs_render_smaps_rollup(struct pbuf *b, struct proc *t);
/* /proc/PID/status: identity, ids, the Vm* sizes, signal masks, capabilities. Returns 0. */
int procfs_render_status(struct pbuf *b, struct proc *t);
/* /proc/PID/stat: the 52 fields of Linux's do_task_stat on one line. Returns 0. */
int procfs_render_stat(struct pbuf *b, struct proc *t);
/* /proc/PID/statm: sizes in pages (Linux's task_statm). Returns 0. */
int procfs_render_statm(struct pbuf *b, struct proc *t);
/* /proc/PID/cmdline: the arguments, each ending in a NUL. Returns 0. */
int procfs_render_cmdline(struct pbuf *b, struct proc *t);
/* /proc/PID/comm: the command name and a newline. Returns 0. */
int procfs_render_comm(struct pbuf *b, struct proc *t);
/* /proc/PID/exe: opens t's program read-only (cloexec). Returns the host descriptor,
 * -EACCES when flags ask for writing, -ENOENT when t has no program, or -errno. */
int procfs_open_exe(struct proc *t, int flags);

/* procfs_dir.c: a directory vmemu lists (what: "" for /proc, else "fd", "fdinfo" or
 * "task" of task t): a host placeholder descriptor, the listing in *dir. Returns the
 * descriptor or -errno. */
int procfs_open_dir(struct proc *p, struct proc *t, const char *what, int flags,
                    struct fd_dir **dir);
/* /proc/PID/fdinfo/N: the host's text for t's guest descriptor fd, with its guest
 * close-on-exec flag. Returns 0 or -ENOENT. */
int procfs_render_fdinfo(struct pbuf *b, struct proc *t, int fd);

/* /proc/meminfo: the frame pool as Linux's meminfo shows memory (t's address space for
 * Mlocked and Committed_AS). Returns 0. */
int procfs_render_meminfo(struct pbuf *b, struct proc *t);
/* /proc/cpuinfo: the one emulated CPU (t is not used). Returns 0. */
int procfs_render_cpuinfo(struct pbuf *b, struct proc *t);
/* procfs_vm.c: /proc/vmstat (the run's faults, the machine's thp_* events). Returns 0. */
int procfs_render_vmstat(struct pbuf *b, struct proc *t);
/* /sys/kernel/mm/transparent_hugepage/enabled, defrag and hpage_pmd_size. Return 0. */
int procfs_render_thp_enabled(struct pbuf *b, struct proc *t);
int procfs_render_thp_defrag(struct pbuf *b, struct proc *t);
int procfs_render_thp_pmd_size(struct pbuf *b, struct proc *t);
/* The hugetlb pool: nr_hugepages, free_hugepages, resv_hugepages, and 0 for the surplus
 * and overcommit files. Return 0. */
int procfs_render_nr_hugepages(struct pbuf *b, struct proc *t);
int procfs_render_free_hugepages(struct pbuf *b, struct proc *t);
int procfs_render_resv_hugepages(struct pbuf *b, struct proc *t);
int procfs_render_zero(struct pbuf *b, struct proc *t);

#endif
