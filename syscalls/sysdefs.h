/* What every syscall handler file includes: the handler prototypes generated from the
 * table, the SYSCALL_DEFINEn macros that turn raw register arguments into typed
 * parameters, as Linux's SYSCALL_DEFINE does, and the helpers the handler files share
 * (syscalls/sys_common.c). */
#ifndef VMEMU_SYSDEFS_H
#define VMEMU_SYSDEFS_H

#include <errno.h>

#include "vmemu/abi/linux.h"
#include "vmemu/abi/syscall_table.h"
#include "vmemu/proc.h"
#include "vmemu/uaccess.h"

#define SYSCALL_PROTO(nr, name, ...) long sys_##name(struct proc *p, const uint64_t *a);
SYSCALL_TABLE(SYSCALL_PROTO)
#undef SYSCALL_PROTO

/* Numbers past the last x86-64 syscall are never in the table: syscalls/dispatch.c and
 * syscalls/trace.c index their tables by number below this. */
#define SYSCALL_NR_LIMIT 512

/* Largest bounce buffer: guest data crosses in steps of at most this many bytes
 * (read/write in syscalls/sys_rw.c, getdents64 in syscalls/sys_file.c). */
#define SYS_BOUNCE_MAX (64 * 1024)

/* Helpers the handler files share, defined in syscalls/sys_common.c. */
/* The host dirfd to resolve path from guest dirfd: AT_FDCWD for AT_FDCWD and absolute
 * paths, the table's host descriptor else. Returns it or -EBADF. */
int sys_dirfd_to_host(struct proc *p, int dirfd, const char *path);
/* Copies n bytes to guest dst, page by page when the whole copy fails. Returns the bytes
 * copied before the first page that could not be written. */
size_t sys_copy_to_user_partial(struct mm *mm, uint64_t dst, const void *src, size_t n);
/* Copies n bytes from guest src, page by page when the whole copy fails. Returns the
 * bytes copied before the first page that could not be read. */
size_t sys_copy_from_user_partial(struct mm *mm, void *dst, uint64_t src, size_t n);
/* r, the result of a host call, as a handler returns it: -errno when r < 0 (errno must
 * still be the call's), r else. */
long sys_host_result(long r);
/* The vfile of the regular file behind host descriptor host when the VM knows that file
 * (it is mapped or cached), else NULL: I/O on it must stay coherent with the page cache. */
struct vfile *sys_host_vfile(struct proc *p, int host);
/* Whether host descriptor host is a regular file on a filesystem whose page cache holds
 * large folios and whose mappings Linux places with thp_get_unmapped_area (ext4, xfs). */
bool sys_host_large_folios(int host);
/* After the guest wrote n bytes at byte start of host descriptor host: tells the memory
 * layer, which keeps the shape of Linux's page cache for that file (src/mm/folio.c). */
void sys_note_write(struct proc *p, int host, uint64_t start, uint64_t n);
/* After the file open as host descriptor host was truncated (ftruncate, truncate, an open
 * with O_TRUNC): what the memory layer knew of its page cache's shape is forgotten. */
void sys_note_truncate(struct proc *p, int host);
/* Makes host descriptor host non-blocking for one host call when the guest's file is
 * blocking, so that the host never blocks vmemu. Returns the status flags to give back to
 * sys_nb_end, or -1 when nothing was changed (the guest's file is O_NONBLOCK itself, or
 * F_GETFL failed). */
int sys_nb_begin(int host);
/* Gives host back the status flags sys_nb_begin saved (nothing when it returned -1). */
void sys_nb_end(int host, int saved);

/* A guest path and the host dirfd it is resolved from, for the *at() handlers. */
struct at_path {
    char buf[LINUX_PATH_MAX];            /* the guest's string */
    char rewritten[LINUX_PATH_MAX + 64]; /* the host path vmemu made for it, when it goes
                                            through /proc (sys_vpath.c) */
    char procpath[LINUX_PATH_MAX];       /* with proc: the guest's /proc path, canonical
                                            (/proc/PID/...) */
    const char *host;                    /* what the host is given (buf or rewritten) */
    int dirfd;                           /* host dirfd or AT_FDCWD */
    bool proc;                           /* a file under /proc as the guest sees it:
                                            open it with procfs_open(procpath) */
    bool fdlink;                         /* a /proc link whose target vmemu gives
                                            (/proc/self, /proc/PID/fd/N of a /proc
                                            file): procpath is what readlink gives */
};

/* Reads guest path va relative to guest dirfd into *ap and resolves it as the guest sees
 * it (sys_vpath_resolve), following a final symlink. Returns 0, -EFAULT, -ENAMETOOLONG,
 * -EBADF, or -errno of the walk (-ENOENT for a descriptor or task the guest does not
 * have, -EACCES for a /proc file of vmemu's that the guest may not reach). */
int sys_at_path_get(struct proc *p, int dirfd, gva_t va, struct at_path *ap);
/* The same, with follow saying whether a final symlink is followed (lstat, readlink,
 * unlink, O_NOFOLLOW and AT_SYMLINK_NOFOLLOW do not). */
int sys_at_path_lookup(struct proc *p, int dirfd, gva_t va, bool follow, struct at_path *ap);
/* The path alone that names ap's file on the host, for host calls without an *at form:
 * ap->host when it is relative to the current directory (or absolute), else
 * "/proc/self/fd/DIRFD/HOST" written into buf (size n, LINUX_PATH_MAX + 64 is enough).
 * Returns it. */
const char *sys_at_host_path(const struct at_path *ap, char *buf, size_t n);
/* sys_vpath.c: resolves ap->buf (see sys_at_path_lookup). Returns 0 or -errno. */
int sys_vpath_resolve(struct proc *p, int dirfd, bool follow, struct at_path *ap);

/* Installs n (1 or 2) new host descriptors h at the lowest free guest numbers (pipe,
 * socketpair, eventfd...): with ufds the numbers go there as an int[n] and 0 is
 * returned, else the one number is. On error all are closed. Returns it or -errno. */
long sys_install_host_fds(struct proc *p, int *h, int n, bool cloexec, gva_t ufds);

/* Linux's struct rusage from vmemu's counters (syscalls/sys_proc.c): user time, peak
 * resident set in KiB, minor and major faults. */
void sys_fill_rusage(const struct proc_usage *u, struct linux_rusage *ru);

/* File locks and FIFOs (syscalls/sys_lock.c). fcntl's F_GETLK, F_SETLK, F_SETLKW and
 * F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW on guest fd with the guest's struct flock at
 * arg. Returns 0 or -errno (-SCHED_EBLOCK: sleeping until the lock may be free). */
long sys_fcntl_lock(struct proc *p, int fd, int cmd, gva_t arg);
struct stat;
/* Opens the FIFO ap (st: its status) with the guest's open flags as Linux does, without
 * blocking the host: a reader without O_NONBLOCK sleeps until a writer opens, a writer
 * until a reader is there (O_RDWR and O_NONBLOCK never wait). Returns the host
 * descriptor, -errno or -SCHED_EBLOCK. */
int sys_fifo_open(struct proc *p, const struct at_path *ap, int flags, const struct stat *st);

#define SYSCALL_UNUSED __attribute__((unused))

#define SYSCALL_DEFINE0(name)                                                                      \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED);                                      \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        (void)a;                                                                                   \
        return do_sys_##name(p);                                                                   \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED)

#define SYSCALL_DEFINE1(name, t1, a1)                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1);                               \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0]);                                                         \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1)

#define SYSCALL_DEFINE2(name, t1, a1, t2, a2)                                                      \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2);                        \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0], (t2)a[1]);                                               \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2)

#define SYSCALL_DEFINE3(name, t1, a1, t2, a2, t3, a3)                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3);                 \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0], (t2)a[1], (t3)a[2]);                                     \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3)

#define SYSCALL_DEFINE4(name, t1, a1, t2, a2, t3, a3, t4, a4)                                      \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4);          \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0], (t2)a[1], (t3)a[2], (t4)a[3]);                           \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4)

#define SYSCALL_DEFINE5(name, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5)                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5);   \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0], (t2)a[1], (t3)a[2], (t4)a[3], (t5)a[4]);                 \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5)

#define SYSCALL_DEFINE6(name, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5, t6, a6)                      \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5,    \
                              t6 a6);                                                              \
    long sys_##name(struct proc *p, const uint64_t *a)                                             \
    {                                                                                              \
        return do_sys_##name(p, (t1)a[0], (t2)a[1], (t3)a[2], (t4)a[3], (t5)a[4], (t6)a[5]);       \
    }                                                                                              \
    static long do_sys_##name(struct proc *p SYSCALL_UNUSED, t1 a1, t2 a2, t3 a3, t4 a4, t5 a5,    \
                              t6 a6)

#endif
