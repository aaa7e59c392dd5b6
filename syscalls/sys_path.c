/* Path and file-attribute syscalls passed through to the host: access, getcwd, chdir,
 * mkdir, unlink, rmdir, rename, link, symlink, readlink (and their *at forms), chmod,
 * chown, umask, utimensat, truncate, with the descriptor forms fchdir, fchmod, fchown and
 * ftruncate, and the calls on a file's data as a whole: fsync, fdatasync, fallocate,
 * fadvise64. Guest paths are read with the shared helpers (syscalls/sys_common.c),
 * so the process's own /proc/PID is /proc/self and /proc/self/exe is its program.
 * Truncating, punching a hole or syncing keeps the page cache coherent with the file.
 * Host errors come back as -errno. Called by syscalls/dispatch.c through the table. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/fd.h"
#include "vmemu/hugetlb.h"
#include "vmemu/writeback.h"

static long do_access(struct proc *p, int dirfd, gva_t path, int mode, int flags)
{
    if ((mode & ~7) != 0)
        return -EINVAL;
    if ((flags & ~(LINUX_AT_EACCESS | LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH)) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_AT_SYMLINK_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    return sys_host_result(faccessat(ap.dirfd, ap.host, mode, flags));
}

SYSCALL_DEFINE2(access, gva_t, path, int, mode)
{
    return do_access(p, LINUX_AT_FDCWD, path, mode, 0);
}

SYSCALL_DEFINE3(faccessat, int, dirfd, gva_t, path, int, mode)
{
    return do_access(p, dirfd, path, mode, 0);
}

SYSCALL_DEFINE4(faccessat2, int, dirfd, gva_t, path, int, mode, int, flags)
{
    return do_access(p, dirfd, path, mode, flags);
}

/* getcwd returns the length including the NUL, as the syscall (not the libc call) does. */
SYSCALL_DEFINE2(getcwd, gva_t, buf, size_t, size)
{
    char cwd[LINUX_PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return errno == ERANGE ? -ENAMETOOLONG : -errno;
    size_t len = strlen(cwd) + 1;
    if (len > size)
        return -ERANGE;
    if (copy_to_user(p->mm, buf, cwd, len) < 0)
        return -EFAULT;
    return (long)len;
}

SYSCALL_DEFINE1(chdir, gva_t, path)
{
    struct at_path ap;
    int err = sys_at_path_get(p, LINUX_AT_FDCWD, path, &ap);
    if (err < 0)
        return err;
    return sys_host_result(chdir(ap.host));
}

SYSCALL_DEFINE1(fchdir, int, fd)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return sys_host_result(fchdir(host));
}

static long do_mkdir(struct proc *p, int dirfd, gva_t path, unsigned mode)
{
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, false, &ap);
    if (err < 0)
        return err;
    return sys_host_result(mkdirat(ap.dirfd, ap.host, mode & 07777));
}

SYSCALL_DEFINE2(mkdir, gva_t, path, unsigned, mode)
{
    return do_mkdir(p, LINUX_AT_FDCWD, path, mode);
}

SYSCALL_DEFINE3(mkdirat, int, dirfd, gva_t, path, unsigned, mode)
{
    return do_mkdir(p, dirfd, path, mode);
}

static long do_unlink(struct proc *p, int dirfd, gva_t path, int flags)
{
    if ((flags & ~LINUX_AT_REMOVEDIR) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, false, &ap);
    if (err < 0)
        return err;
    return sys_host_result(unlinkat(ap.dirfd, ap.host, flags));
}

SYSCALL_DEFINE1(unlink, gva_t, path)
{
    return do_unlink(p, LINUX_AT_FDCWD, path, 0);
}

SYSCALL_DEFINE1(rmdir, gva_t, path)
{
    return do_unlink(p, LINUX_AT_FDCWD, path, LINUX_AT_REMOVEDIR);
}

SYSCALL_DEFINE3(unlinkat, int, dirfd, gva_t, path, int, flags)
{
    return do_unlink(p, dirfd, path, flags);
}

/* Two paths with their dirfds, for rename and link, resolved without following a final
 * symlink (follow_old: linkat's AT_SYMLINK_FOLLOW). */
static long two_paths(struct proc *p, int olddfd, gva_t oldpath, int newdfd, gva_t newpath,
                      struct at_path *from, struct at_path *to, bool follow_old)
{
    int err = sys_at_path_lookup(p, olddfd, oldpath, follow_old, from);
    if (err == 0)
        err = sys_at_path_lookup(p, newdfd, newpath, false, to);
    return err;
}

static long do_rename(struct proc *p, int olddfd, gva_t oldpath, int newdfd, gva_t newpath,
                      unsigned flags)
{
    struct at_path *ap = malloc(2 * sizeof(*ap));
    if (ap == NULL)
        return -ENOMEM;
    long ret = two_paths(p, olddfd, oldpath, newdfd, newpath, &ap[0], &ap[1], false);
    if (ret == 0)
        ret = sys_host_result(renameat2(ap[0].dirfd, ap[0].host, ap[1].dirfd, ap[1].host, flags));
    free(ap);
    return ret;
}

SYSCALL_DEFINE2(rename, gva_t, oldpath, gva_t, newpath)
{
    return do_rename(p, LINUX_AT_FDCWD, oldpath, LINUX_AT_FDCWD, newpath, 0);
}

SYSCALL_DEFINE4(renameat, int, olddfd, gva_t, oldpath, int, newdfd, gva_t, newpath)
{
    return do_rename(p, olddfd, oldpath, newdfd, newpath, 0);
}

SYSCALL_DEFINE5(renameat2, int, olddfd, gva_t, oldpath, int, newdfd, gva_t, newpath, unsigned,
                flags)
{
    return do_rename(p, olddfd, oldpath, newdfd, newpath, flags);
}

static long do_link(struct proc *p, int olddfd, gva_t oldpath, int newdfd, gva_t newpath, int flags)
{
    if ((flags & ~(LINUX_AT_SYMLINK_FOLLOW | LINUX_AT_EMPTY_PATH)) != 0)
        return -EINVAL;
    struct at_path *ap = malloc(2 * sizeof(*ap));
    if (ap == NULL)
        return -ENOMEM;
    long ret = two_paths(p, olddfd, oldpath, newdfd, newpath, &ap[0], &ap[1],
                         (flags & LINUX_AT_SYMLINK_FOLLOW) != 0);
    if (ret == 0)
        ret = sys_host_result(linkat(ap[0].dirfd, ap[0].host, ap[1].dirfd, ap[1].host, flags));
    free(ap);
    return ret;
}

SYSCALL_DEFINE2(link, gva_t, oldpath, gva_t, newpath)
{
    return do_link(p, LINUX_AT_FDCWD, oldpath, LINUX_AT_FDCWD, newpath, 0);
}

SYSCALL_DEFINE5(linkat, int, olddfd, gva_t, oldpath, int, newdfd, gva_t, newpath, int, flags)
{
    return do_link(p, olddfd, oldpath, newdfd, newpath, flags);
}

/* symlink's target is stored as it is: never resolved, so no dirfd for it. */
static long do_symlink(struct proc *p, gva_t target, int newdfd, gva_t linkpath)
{
    struct at_path *ap = malloc(2 * sizeof(*ap));
    if (ap == NULL)
        return -ENOMEM;
    long n = strncpy_from_user(p->mm, ap[0].buf, target, LINUX_PATH_MAX);
    long ret = n < 0 ? n : sys_at_path_lookup(p, newdfd, linkpath, false, &ap[1]);
    if (ret == 0)
        ret = sys_host_result(symlinkat(ap[0].buf, ap[1].dirfd, ap[1].host));
    free(ap);
    return ret;
}

SYSCALL_DEFINE2(symlink, gva_t, target, gva_t, linkpath)
{
    return do_symlink(p, target, LINUX_AT_FDCWD, linkpath);
}

SYSCALL_DEFINE3(symlinkat, gva_t, target, int, newdfd, gva_t, linkpath)
{
    return do_symlink(p, target, newdfd, linkpath);
}

/* readlink of the process's own /proc/.../exe gives p->exe, as Linux gives the program's
 * path; every other link is the host's. */
static long do_readlink(struct proc *p, int dirfd, gva_t path, gva_t buf, int size)
{
    if (size <= 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, false, &ap);
    if (err < 0)
        return err;
    char target[LINUX_PATH_MAX];
    size_t len;
    size_t plen = ap.proc ? strlen(ap.procpath) : 0;
    if (plen > 4 && strcmp(ap.procpath + plen - 4, "/exe") == 0) {
        len = strnlen(ap.host, sizeof(target)); /* the program, as Linux's link gives it */
        memcpy(target, ap.host, len);
    } else if (ap.fdlink) {
        len = strnlen(ap.procpath, sizeof(target)); /* the /proc file, not vmemu's copy */
        memcpy(target, ap.procpath, len);
    } else {
        ssize_t n = readlinkat(ap.dirfd, ap.host, target, sizeof(target));
        if (n < 0)
            return -errno;
        len = (size_t)n;
    }
    if (len > (size_t)size)
        len = (size_t)size;
    if (copy_to_user(p->mm, buf, target, len) < 0)
        return -EFAULT;
    return (long)len;
}

SYSCALL_DEFINE3(readlink, gva_t, path, gva_t, buf, int, size)
{
    return do_readlink(p, LINUX_AT_FDCWD, path, buf, size);
}

SYSCALL_DEFINE4(readlinkat, int, dirfd, gva_t, path, gva_t, buf, int, size)
{
    return do_readlink(p, dirfd, path, buf, size);
}

/* fsync/fdatasync: dirty pages of shared mappings of the file are written first. */
static long do_fsync(struct proc *p, int fd, bool data_only)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct vfile *vf = sys_host_vfile(p, host);
    if (vf != NULL && wb_file_sync(p->sys, vf) < 0)
        return -EIO;
    return sys_host_result(data_only ? fdatasync(host) : fsync(host));
}

SYSCALL_DEFINE1(fsync, int, fd)
{
    return do_fsync(p, fd, false);
}

SYSCALL_DEFINE1(fdatasync, int, fd)
{
    return do_fsync(p, fd, true);
}

/* sync_file_range: the file's dirty pages of shared mappings are written first (all of
 * them: more than the range, never less), then the host's call. */
SYSCALL_DEFINE4(sync_file_range, int, fd, int64_t, offset, int64_t, nbytes, unsigned, flags)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if ((flags & ~7U) != 0 || offset < 0 || nbytes < 0)
        return -EINVAL;
    struct vfile *vf = sys_host_vfile(p, host);
    if (vf != NULL && (flags & SYNC_FILE_RANGE_WRITE) && wb_file_sync(p->sys, vf) < 0)
        return -EIO;
    return sys_host_result(sync_file_range(host, offset, nbytes, flags));
}

/* sync: every file's dirty pages of shared mappings are written back, then the host
 * syncs its file systems. Linux's sync never fails. */
SYSCALL_DEFINE0(sync)
{
    for (struct vfile *f = p->sys->pc.files; f != NULL; f = f->next)
        if (!f->shmem)
            (void)wb_file_sync(p->sys, f);
    sync();
    return 0;
}

/* syncfs: as sync, for the file system of fd (the written-back pages may belong to
 * others: more than Linux writes, never less). */
SYSCALL_DEFINE1(syncfs, int, fd)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    for (struct vfile *f = p->sys->pc.files; f != NULL; f = f->next)
        if (!f->shmem)
            (void)wb_file_sync(p->sys, f);
    return sys_host_result(syncfs(host));
}

/* After a successful truncation of the file open as host: cached pages past the new end
 * leave every mapping (a later access there is SIGBUS, as on Linux), and the known shape
 * of its page cache is forgotten. */
static void truncated(struct proc *p, int host, int64_t length)
{
    struct vfile *vf = sys_host_vfile(p, host);
    if (vf != NULL)
        wb_file_truncated(p->sys, vf, (uint64_t)length);
    sys_note_truncate(p, host);
}

SYSCALL_DEFINE2(truncate, gva_t, path, int64_t, length)
{
    struct at_path ap;
    int err = sys_at_path_get(p, LINUX_AT_FDCWD, path, &ap);
    if (err < 0)
        return err;
    if (truncate(ap.host, length) < 0)
        return -errno;
    int host = open(ap.host, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (host >= 0) {
        truncated(p, host, length);
        close(host);
    }
    return 0;
}

SYSCALL_DEFINE2(ftruncate, int, fd, int64_t, length)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    /* An MFD_HUGETLB memfd: 2 MiB multiples only, its object sized as the host file. */
    struct fd_ofd *ofd = fd_ofd_of(p->fds, fd);
    if (ofd && ofd->hugetlb && length >= 0) {
        int rc = hugetlb_file_truncate(p->sys, ofd->hugetlb, (uint64_t)length);
        if (rc < 0)
            return rc;
    }
    if (ftruncate(host, length) < 0)
        return -errno;
    truncated(p, host, length);
    return 0;
}

/* fallocate: punching a hole also drops the cached pages wholly inside it. */
SYSCALL_DEFINE4(fallocate, int, fd, int, mode, int64_t, offset, int64_t, len)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if (fallocate(host, mode, offset, len) < 0)
        return -errno;
    struct vfile *vf = (mode & FALLOC_FL_PUNCH_HOLE) ? sys_host_vfile(p, host) : NULL;
    if (vf == NULL)
        return 0;
    uint64_t start = (uint64_t)offset, stop = (uint64_t)offset + (uint64_t)len;
    uint64_t first = PAGE_UP(start) / PAGE_SIZE, end = PAGE_DOWN(stop) / PAGE_SIZE;
    if (end > first)
        wb_discard_pages(p->sys, vf, first, end - 1);
    /* Bytes of partly punched pages read zero. */
    static const uint8_t zeros[PAGE_SIZE];
    for (uint64_t at = start; at < stop;) {
        if (end > first && at == first * PAGE_SIZE)
            at = end * PAGE_SIZE;
        uint64_t next = PAGE_DOWN(at) + PAGE_SIZE < stop ? PAGE_DOWN(at) + PAGE_SIZE : stop;
        if (at < next)
            wb_file_written(p->sys, vf, at, zeros, (size_t)(next - at));
        at = next;
    }
    return 0;
}

SYSCALL_DEFINE4(fadvise64, int, fd, int64_t, offset, int64_t, len, int, advice)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return -posix_fadvise(host, offset, len, advice);
}

static long do_chmod(struct proc *p, int dirfd, gva_t path, unsigned mode)
{
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return sys_host_result(fchmodat(ap.dirfd, ap.host, mode & 07777, 0));
}

SYSCALL_DEFINE2(chmod, gva_t, path, unsigned, mode)
{
    return do_chmod(p, LINUX_AT_FDCWD, path, mode);
}

SYSCALL_DEFINE3(fchmodat, int, dirfd, gva_t, path, unsigned, mode)
{
    return do_chmod(p, dirfd, path, mode);
}

SYSCALL_DEFINE2(fchmod, int, fd, unsigned, mode)
{
    int host = fd_host(p->fds, fd);
    return host < 0 ? host : sys_host_result(fchmod(host, mode & 07777));
}

static long do_chown(struct proc *p, int dirfd, gva_t path, uint32_t uid, uint32_t gid, int flags)
{
    if ((flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH)) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_AT_SYMLINK_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    return sys_host_result(fchownat(ap.dirfd, ap.host, uid, gid, flags));
}

SYSCALL_DEFINE3(chown, gva_t, path, uint32_t, uid, uint32_t, gid)
{
    return do_chown(p, LINUX_AT_FDCWD, path, uid, gid, 0);
}

SYSCALL_DEFINE3(lchown, gva_t, path, uint32_t, uid, uint32_t, gid)
{
    return do_chown(p, LINUX_AT_FDCWD, path, uid, gid, LINUX_AT_SYMLINK_NOFOLLOW);
}

SYSCALL_DEFINE5(fchownat, int, dirfd, gva_t, path, uint32_t, uid, uint32_t, gid, int, flags)
{
    return do_chown(p, dirfd, path, uid, gid, flags);
}

SYSCALL_DEFINE3(fchown, int, fd, uint32_t, uid, uint32_t, gid)
{
    int host = fd_host(p->fds, fd);
    return host < 0 ? host : sys_host_result(fchown(host, uid, gid));
}

SYSCALL_DEFINE1(umask, unsigned, mask)
{
    return umask(mask & 0777);
}

/* utimensat(dirfd, NULL, times, 0) changes the file dirfd itself, as futimens. */
SYSCALL_DEFINE4(utimensat, int, dirfd, gva_t, path, gva_t, times, int, flags)
{
    struct timespec ts[2], *tsp = NULL;
    if (times != 0) {
        struct linux_timespec lt[2];
        if (copy_from_user(p->mm, lt, times, sizeof(lt)) < 0)
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            ts[i].tv_sec = lt[i].tv_sec;
            ts[i].tv_nsec = lt[i].tv_nsec;
        }
        tsp = ts;
    }
    if (path == 0) {
        if (flags != 0)
            return -EINVAL;
        if (dirfd == LINUX_AT_FDCWD)
            return -EFAULT; /* Linux looks up the NULL path then */
        int host = fd_host(p->fds, dirfd);
        return host < 0 ? host : sys_host_result(futimens(host, tsp));
    }
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_AT_SYMLINK_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    return sys_host_result(utimensat(ap.dirfd, ap.host, tsp, flags));
}
