/* File syscalls that older or specialised programs reach: utime, utimes and futimesat
 * (done as utimensat), readahead, copy_file_range, memfd_create, and inotify
 * (inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch). memfds and inotify
 * instances are host descriptors installed in the guest's table; reading them goes
 * through syscalls/sys_rw.c like any other host descriptor (a guest that would block
 * sleeps in the scheduler), and a memfd is a regular host file, so mapping it goes
 * through the page cache as any file does. copy_file_range keeps mapped files coherent:
 * when the VM caches either file the bytes go through a bounce buffer, read with the dirty
 * cached pages laid over them and written with the cached pages updated, as pread64 and
 * pwrite64 do. Host errors come back as -errno. Called by syscalls/dispatch.c through the
 * table. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/fd.h"
#include "vmemu/hugetlb.h"
#include "vmemu/writeback.h"

/* The guest's struct utimbuf and struct timeval (the host's layouts on x86-64). */
struct linux_utimbuf {
    int64_t actime;
    int64_t modtime;
};
LINUX_ABI_CHECK(struct linux_utimbuf, 16);
struct linux_timeval_pair {
    int64_t sec;
    int64_t usec;
};
LINUX_ABI_CHECK(struct linux_timeval_pair, 16);

#define INOTIFY_DONT_FOLLOW 0x02000000 /* IN_DONT_FOLLOW */
#define MEMFD_NAME_MAX      249        /* Linux's MFD_NAME_MAX_LEN */
#define MFD_HUGE_SHIFT_L    26         /* MFD_HUGETLB: log2 of the page size, bits 26.. */
#define MFD_HUGE_MASK_L     0x3fu
#define COPY_RANGE_MAX      (1024 * 1024) /* bytes one copy_file_range moves at most */

/* utimensat(dirfd, path, tsp, 0) for the older calls; path 0 with a descriptor changes
 * that file (futimesat). tsp NULL: both times are now. */
static long do_utimes(struct proc *p, int dirfd, gva_t path, const struct timespec *tsp)
{
    if (path == 0) {
        if (dirfd == LINUX_AT_FDCWD)
            return -EFAULT;
        int host = fd_host(p->fds, dirfd);
        return host < 0 ? host : sys_host_result(futimens(host, tsp));
    }
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return sys_host_result(utimensat(ap.dirfd, ap.host, tsp, 0));
}

SYSCALL_DEFINE2(utime, gva_t, path, gva_t, times)
{
    struct linux_utimbuf ub;
    struct timespec ts[2];
    if (times == 0)
        return do_utimes(p, LINUX_AT_FDCWD, path, NULL);
    if (copy_from_user(p->mm, &ub, times, sizeof(ub)) < 0)
        return -EFAULT;
    ts[0] = (struct timespec){.tv_sec = ub.actime};
    ts[1] = (struct timespec){.tv_sec = ub.modtime};
    return do_utimes(p, LINUX_AT_FDCWD, path, ts);
}

/* utimes and futimesat: struct timeval[2], microseconds out of range are EINVAL. */
static long do_utimes_tv(struct proc *p, int dirfd, gva_t path, gva_t times)
{
    struct linux_timeval_pair tv[2];
    struct timespec ts[2];
    if (times == 0)
        return do_utimes(p, dirfd, path, NULL);
    if (copy_from_user(p->mm, tv, times, sizeof(tv)) < 0)
        return -EFAULT;
    for (int i = 0; i < 2; i++) {
        if (tv[i].usec < 0 || tv[i].usec >= 1000000)
            return -EINVAL;
        ts[i] = (struct timespec){.tv_sec = tv[i].sec, .tv_nsec = tv[i].usec * 1000};
    }
    return do_utimes(p, dirfd, path, ts);
}

SYSCALL_DEFINE2(utimes, gva_t, path, gva_t, times)
{
    return do_utimes_tv(p, LINUX_AT_FDCWD, path, times);
}

SYSCALL_DEFINE3(futimesat, int, dirfd, gva_t, path, gva_t, times)
{
    return do_utimes_tv(p, dirfd, path, times);
}

/* readahead: the host checks the descriptor (EBADF unless readable, EINVAL unless a
 * regular file) and starts the reads. */
SYSCALL_DEFINE3(readahead, int, fd, int64_t, offset, size_t, count)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return sys_host_result(readahead(host, offset, count));
}

/* Reads a guest loff_t at uoff into *off, or the descriptor's offset when uoff is 0 (0
 * when it cannot seek: the host's check then fails it as Linux does). Returns 0 or
 * -EFAULT. */
static int cfr_offset_get(struct proc *p, int host, gva_t uoff, int64_t *off)
{
    if (uoff != 0)
        return get_user_u64(p->mm, uoff, (uint64_t *)off) < 0 ? -EFAULT : 0;
    off_t cur = lseek(host, 0, SEEK_CUR);
    *off = cur < 0 ? 0 : cur;
    return 0;
}

/* Copies up to len bytes from in at *pin to out at *pout through a bounce buffer, with
 * the page cache kept coherent on both sides (vin, vout: the files' vfiles or NULL).
 * *pin and *pout move past the bytes copied. Returns them or -errno when none moved. */
static long cfr_bounce(struct proc *p, int in, int64_t *pin, struct vfile *vin, int out,
                       int64_t *pout, struct vfile *vout, size_t len)
{
    size_t bufsize = len < SYS_BOUNCE_MAX ? len : SYS_BOUNCE_MAX;
    char *buf = malloc(bufsize);
    size_t done = 0;
    if (buf == NULL)
        return -ENOMEM;
    while (done < len) {
        size_t want = len - done < bufsize ? len - done : bufsize;
        ssize_t n = pread(in, buf, want, *pin);
        if (n <= 0) {
            if (n < 0 && done == 0)
                done = (size_t)-errno;
            break;
        }
        if (vin != NULL)
            wb_read_overlay(p->sys, vin, (uint64_t)*pin, buf, (size_t)n);
        ssize_t w = pwrite(out, buf, (size_t)n, *pout);
        if (w <= 0) {
            if (w < 0 && done == 0)
                done = (size_t)-errno;
            break;
        }
        if (vout != NULL)
            wb_file_written(p->sys, vout, (uint64_t)*pout, buf, (size_t)w);
        *pin += w;
        *pout += w;
        done += (size_t)w;
        if (w < n)
            break;
    }
    free(buf);
    return (long)done;
}

/* copy_file_range: the host checks the two files first with a copy of 0 bytes (flags,
 * access modes, O_APPEND, directories, types, offsets: Linux's errno values in its
 * order). Files the VM does not cache are copied by the host; others through cfr_bounce.
 * At most COPY_RANGE_MAX bytes move per call; the offsets (the guest's or the
 * descriptors') advance by the bytes copied. */
SYSCALL_DEFINE6(copy_file_range, int, fd_in, gva_t, uoff_in, int, fd_out, gva_t, uoff_out, size_t,
                len, unsigned, flags)
{
    int in = fd_host(p->fds, fd_in);
    if (in < 0)
        return in;
    int out = fd_host(p->fds, fd_out);
    if (out < 0)
        return out;
    int64_t pin, pout;
    int err = cfr_offset_get(p, in, uoff_in, &pin);
    if (err == 0)
        err = cfr_offset_get(p, out, uoff_out, &pout);
    if (err < 0)
        return err;
    loff_t cin = pin, cout = pout;
    if (copy_file_range(in, &cin, out, &cout, 0, flags) < 0)
        return -errno;
    struct stat sin, sout;
    if (fstat(in, &sin) < 0 || fstat(out, &sout) < 0)
        return -errno;
    /* As Linux: no more than the source has past pin, then the overlap check. */
    uint64_t avail = sin.st_size > pin ? (uint64_t)(sin.st_size - pin) : 0;
    if (len > avail)
        len = (size_t)avail;
    if (len > COPY_RANGE_MAX)
        len = COPY_RANGE_MAX;
    if (sin.st_dev == sout.st_dev && sin.st_ino == sout.st_ino &&
        (uint64_t)pout + len > (uint64_t)pin && (uint64_t)pout < (uint64_t)pin + len)
        return -EINVAL; /* overlapping ranges of one file */
    if (len == 0)
        return 0;
    struct vfile *vin = sys_host_vfile(p, in), *vout = sys_host_vfile(p, out);
    long n;
    if (vin == NULL && vout == NULL) {
        cin = pin;
        cout = pout;
        n = copy_file_range(in, &cin, out, &cout, len, 0);
        if (n < 0)
            return -errno;
        pin = cin;
        pout = cout;
    } else {
        n = cfr_bounce(p, in, &pin, vin, out, &pout, vout, len);
        if (n <= 0)
            return n;
    }
    if (uoff_in == 0)
        lseek(in, pin, SEEK_SET);
    else if (put_user_u64(p->mm, uoff_in, (uint64_t)pin) < 0)
        return -EFAULT;
    if (uoff_out == 0)
        lseek(out, pout, SEEK_SET);
    else if (put_user_u64(p->mm, uoff_out, (uint64_t)pout) < 0)
        return -EFAULT;
    return n;
}

/* memfd_create: a host memfd ("memfd:NAME" in /proc/self/fd), its flags checked by the
 * host; MFD_CLOEXEC is the guest's close-on-exec flag. MFD_HUGETLB (2 MiB pages only) is
 * vmemu's: the host memfd is a plain one (for fstat and the size) and the descriptor's
 * open file description holds a hugetlb object of --hugetlb pool pages, which mmap maps
 * (src/mm/hugetlb.c); write() on it is EINVAL as on hugetlbfs. */
SYSCALL_DEFINE2(memfd_create, gva_t, uname, unsigned, flags)
{
    char name[MEMFD_NAME_MAX + 1];
    long n = strncpy_from_user(p->mm, name, uname, sizeof(name));
    if (n == -ENAMETOOLONG)
        return -EINVAL;
    if (n < 0)
        return n;
    bool huge = flags & MFD_HUGETLB;
    unsigned shift = (flags >> MFD_HUGE_SHIFT_L) & MFD_HUGE_MASK_L;
    if (!huge && shift)
        return -EINVAL;
    if (huge && shift != 0 && shift != HPAGE_SHIFT)
        return -EINVAL;
    if (huge && (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB |
                           (MFD_HUGE_MASK_L << MFD_HUGE_SHIFT_L))))
        return -EINVAL;
    unsigned host_flags = huge ? flags & (MFD_CLOEXEC | MFD_ALLOW_SEALING) : flags;
    int h = memfd_create(name, host_flags | MFD_CLOEXEC);
    if (h < 0)
        return -errno;
    long fd = sys_install_host_fds(p, &h, 1, (flags & MFD_CLOEXEC) != 0, 0);
    if (fd < 0 || !huge)
        return fd;
    char path[MEMFD_NAME_MAX + 32];
    snprintf(path, sizeof(path), "/memfd:%s (deleted)", name);
    struct vfile *obj;
    struct fd_ofd *ofd = fd_ofd_of(p->fds, (int)fd);
    if (!ofd || hugetlb_file_create(p->sys, 0, false, path, &obj) < 0) {
        fd_close(p->fds, (int)fd);
        return -ENOMEM;
    }
    ofd->hugetlb = obj;
    return fd;
}

/* inotify_init1: IN_NONBLOCK goes to the host descriptor, IN_CLOEXEC to the guest's
 * table; the host checks the flags. */
SYSCALL_DEFINE1(inotify_init1, int, flags)
{
    int h = inotify_init1(flags | IN_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, (flags & LINUX_O_CLOEXEC) != 0, 0);
}

SYSCALL_DEFINE0(inotify_init)
{
    int h = inotify_init1(IN_CLOEXEC);
    if (h < 0)
        return -errno;
    return sys_install_host_fds(p, &h, 1, false, 0);
}

/* inotify_add_watch: the guest's path resolved as it sees it (a final symlink followed
 * unless IN_DONT_FOLLOW); the names in the events are relative to the watched directory,
 * so they need no translation. */
SYSCALL_DEFINE3(inotify_add_watch, int, fd, gva_t, upath, uint32_t, mask)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct at_path ap;
    char buf[LINUX_PATH_MAX + 64];
    int err = sys_at_path_lookup(p, LINUX_AT_FDCWD, upath, !(mask & INOTIFY_DONT_FOLLOW), &ap);
    if (err < 0)
        return err;
    return sys_host_result(inotify_add_watch(host, sys_at_host_path(&ap, buf, sizeof(buf)), mask));
}

SYSCALL_DEFINE2(inotify_rm_watch, int, fd, int, wd)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return sys_host_result(inotify_rm_watch(host, wd));
}
