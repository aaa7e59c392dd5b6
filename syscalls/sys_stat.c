/* File status syscalls: stat, lstat, fstat, newfstatat, statx, statfs and fstatfs. The
 * host fills its own structures; they are converted field by field into the guest layouts
 * of vmemu/abi/linux.h and copied out. Paths and descriptors are translated with the helpers of
 * syscalls/sys_common.c (so /proc/self/exe is the program). Called by syscalls/dispatch.c. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"

static void stat_to_linux(const struct stat *st, struct linux_stat *ls)
{
    memset(ls, 0, sizeof(*ls));
    ls->st_dev = st->st_dev;
    ls->st_ino = st->st_ino;
    ls->st_nlink = st->st_nlink;
    ls->st_mode = st->st_mode;
    ls->st_uid = st->st_uid;
    ls->st_gid = st->st_gid;
    ls->st_rdev = st->st_rdev;
    ls->st_size = st->st_size;
    ls->st_blksize = st->st_blksize;
    ls->st_blocks = st->st_blocks;
    ls->st_atime_sec = (uint64_t)st->st_atim.tv_sec;
    ls->st_atime_nsec = (uint64_t)st->st_atim.tv_nsec;
    ls->st_mtime_sec = (uint64_t)st->st_mtim.tv_sec;
    ls->st_mtime_nsec = (uint64_t)st->st_mtim.tv_nsec;
    ls->st_ctime_sec = (uint64_t)st->st_ctim.tv_sec;
    ls->st_ctime_nsec = (uint64_t)st->st_ctim.tv_nsec;
}

static long stat_copy_out(struct proc *p, const struct stat *st, gva_t buf)
{
    struct linux_stat ls;
    stat_to_linux(st, &ls);
    return copy_to_user(p->mm, buf, &ls, sizeof(ls));
}

/* stat, lstat and newfstatat: a path (relative to dirfd) looked up by the host. */
static long do_fstatat(struct proc *p, int dirfd, gva_t path, gva_t buf, int flags)
{
    if ((flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH | LINUX_AT_NO_AUTOMOUNT)) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_AT_SYMLINK_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    struct stat st;
    if (fstatat(ap.dirfd, ap.host, &st, flags) < 0)
        return -errno;
    return stat_copy_out(p, &st, buf);
}

SYSCALL_DEFINE2(stat, gva_t, path, gva_t, buf)
{
    return do_fstatat(p, LINUX_AT_FDCWD, path, buf, 0);
}

SYSCALL_DEFINE2(lstat, gva_t, path, gva_t, buf)
{
    return do_fstatat(p, LINUX_AT_FDCWD, path, buf, LINUX_AT_SYMLINK_NOFOLLOW);
}

SYSCALL_DEFINE4(newfstatat, int, dirfd, gva_t, path, gva_t, buf, int, flags)
{
    return do_fstatat(p, dirfd, path, buf, flags);
}

SYSCALL_DEFINE2(fstat, int, fd, gva_t, buf)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct stat st;
    if (fstat(host, &st) < 0)
        return -errno;
    return stat_copy_out(p, &st, buf);
}

static void statx_ts_to_linux(const struct statx_timestamp *t, struct linux_statx_timestamp *l)
{
    l->tv_sec = t->tv_sec;
    l->tv_nsec = t->tv_nsec;
    l->reserved = 0;
}

static void statx_to_linux(const struct statx *sx, struct linux_statx *lx)
{
    memset(lx, 0, sizeof(*lx));
    lx->stx_mask = sx->stx_mask;
    lx->stx_blksize = sx->stx_blksize;
    lx->stx_attributes = sx->stx_attributes;
    lx->stx_nlink = sx->stx_nlink;
    lx->stx_uid = sx->stx_uid;
    lx->stx_gid = sx->stx_gid;
    lx->stx_mode = sx->stx_mode;
    lx->stx_ino = sx->stx_ino;
    lx->stx_size = sx->stx_size;
    lx->stx_blocks = sx->stx_blocks;
    lx->stx_attributes_mask = sx->stx_attributes_mask;
    statx_ts_to_linux(&sx->stx_atime, &lx->stx_atime);
    statx_ts_to_linux(&sx->stx_btime, &lx->stx_btime);
    statx_ts_to_linux(&sx->stx_ctime, &lx->stx_ctime);
    statx_ts_to_linux(&sx->stx_mtime, &lx->stx_mtime);
    lx->stx_rdev_major = sx->stx_rdev_major;
    lx->stx_rdev_minor = sx->stx_rdev_minor;
    lx->stx_dev_major = sx->stx_dev_major;
    lx->stx_dev_minor = sx->stx_dev_minor;
}

/* statx: flags (AT_* and the AT_STATX_SYNC_* bits) and mask go to the host unchanged; the
 * host's glibc falls back to fstatat on kernels without statx. */
SYSCALL_DEFINE5(statx, int, dirfd, gva_t, path, int, flags, unsigned, mask, gva_t, buf)
{
    struct at_path ap;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_AT_SYMLINK_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    struct statx sx;
    if (statx(ap.dirfd, ap.host, flags, mask, &sx) < 0)
        return -errno;
    struct linux_statx lx;
    statx_to_linux(&sx, &lx);
    return copy_to_user(p->mm, buf, &lx, sizeof(lx));
}

static long statfs_copy_out(struct proc *p, const struct statfs *sf, gva_t buf)
{
    struct linux_statfs lf;
    memset(&lf, 0, sizeof(lf));
    lf.f_type = sf->f_type;
    lf.f_bsize = sf->f_bsize;
    lf.f_blocks = sf->f_blocks;
    lf.f_bfree = sf->f_bfree;
    lf.f_bavail = sf->f_bavail;
    lf.f_files = sf->f_files;
    lf.f_ffree = sf->f_ffree;
    memcpy(lf.f_fsid, &sf->f_fsid, sizeof(lf.f_fsid));
    lf.f_namelen = sf->f_namelen;
    lf.f_frsize = sf->f_frsize;
    lf.f_flags = sf->f_flags;
    return copy_to_user(p->mm, buf, &lf, sizeof(lf));
}

SYSCALL_DEFINE2(statfs, gva_t, path, gva_t, buf)
{
    struct at_path ap;
    int err = sys_at_path_get(p, LINUX_AT_FDCWD, path, &ap);
    if (err < 0)
        return err;
    struct statfs sf;
    if (statfs(ap.host, &sf) < 0)
        return -errno;
    return statfs_copy_out(p, &sf, buf);
}

SYSCALL_DEFINE2(fstatfs, int, fd, gva_t, buf)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct statfs sf;
    if (fstatfs(host, &sf) < 0)
        return -errno;
    return statfs_copy_out(p, &sf, buf);
}
