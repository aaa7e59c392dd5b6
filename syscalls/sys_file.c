/* Descriptor syscalls passed through to the host: open, openat, creat, close, close_range,
 * lseek, getdents64, fcntl, dup, dup2, dup3, ioctl, pipe and pipe2. Guest descriptor
 * numbers go through the process's fd table (src/proc/fd.c), which holds the host
 * descriptor (close-on-exec on the host, always) and the guest's own close-on-exec flag;
 * the /proc files vmemu makes up are opened by src/proc/procfs.c, and the directories it
 * lists are read here from their listing. ioctl knows TCGETS, TCSETS[WF], TIOCGWINSZ,
 * TIOCGPGRP and FIONREAD; any other request is -ENOTTY, reported once per request on
 * stderr (a terminal request on a file that is no terminal quietly, as Linux fails it).
 * Host errors come back as -errno. Called by syscalls/dispatch.c through the table. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/warn_once.h"
#include "vmemu/flock.h"
#include "vmemu/procfs.h"

/* fcntl's open file description locks (Linux's values). */
#define FCNTL_OFD_GETLK  36
#define FCNTL_OFD_SETLK  37
#define FCNTL_OFD_SETLKW 38
/* memfd seals (Linux's values), passed to the host. */
#define FCNTL_ADD_SEALS  1033
#define FCNTL_GET_SEALS  1034

/* open/openat: the host opens the file (close-on-exec on the host side, always); the
 * guest's O_CLOEXEC is kept in the table. */
static long do_open(struct proc *p, int dirfd, gva_t path, int flags, unsigned mode)
{
    struct at_path ap;
    struct fd_dir *dir = NULL;
    int err = sys_at_path_lookup(p, dirfd, path, !(flags & LINUX_O_NOFOLLOW), &ap);
    if (err < 0)
        return err;
    int host = ap.proc ? procfs_open(p, ap.procpath, flags, &dir) : PROCFS_PASS;
    if (!ap.proc && strncmp(ap.host, "/sys/kernel/mm/", 15) == 0)
        host = procfs_open(p, ap.host, flags, &dir); /* the THP files show vmemu's mode */
    struct stat st;
    bool fifo = false;
    if (host == PROCFS_PASS && !(flags & LINUX_O_PATH) &&
        fstatat(ap.dirfd, ap.host, &st, flags & LINUX_O_NOFOLLOW ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
        S_ISFIFO(st.st_mode)) {
        fifo = true; /* opening it must not block the host (sys_lock.c) */
        host = sys_fifo_open(p, &ap, flags, &st);
        if (host < 0)
            return host;
    } else if (host == PROCFS_PASS) {
        host = openat(ap.dirfd, ap.host, flags | O_CLOEXEC, mode & 07777);
        if (host < 0)
            return -errno;
        if ((flags & LINUX_O_TRUNC) && (flags & LINUX_O_ACCMODE) != 0)
            sys_note_truncate(p, host);
    } else if (host < 0) {
        return host;
    }
    int fd =
        fd_install(p->fds, host, (flags & LINUX_O_CLOEXEC) != 0, ap.proc ? ap.procpath : ap.buf, 0);
    if (fd < 0) {
        close(host);
        fd_dir_put(dir);
    } else if (dir) {
        fd_set_dir(p->fds, fd, dir);
    }
    struct fd_ofd *ofd = fd >= 0 && fifo ? fd_ofd_of(p->fds, fd) : NULL;
    if (ofd && (flags & LINUX_O_ACCMODE) != 0) { /* a FIFO writer: readers wait for it */
        ofd->fifo_writer = true;
        ofd->dev = (uint64_t)st.st_dev;
        ofd->ino = (uint64_t)st.st_ino;
        flock_fifo_opened_write(ofd->dev, ofd->ino);
    }
    return fd;
}

SYSCALL_DEFINE3(open, gva_t, path, int, flags, unsigned, mode)
{
    return do_open(p, LINUX_AT_FDCWD, path, flags, mode);
}

SYSCALL_DEFINE4(openat, int, dirfd, gva_t, path, int, flags, unsigned, mode)
{
    return do_open(p, dirfd, path, flags, mode);
}

/* creat is open(path, O_CREAT | O_WRONLY | O_TRUNC, mode). */
SYSCALL_DEFINE2(creat, gva_t, path, unsigned, mode)
{
    return do_open(p, LINUX_AT_FDCWD, path, LINUX_O_CREAT | LINUX_O_WRONLY | LINUX_O_TRUNC, mode);
}

SYSCALL_DEFINE1(close, int, fd)
{
    return fd_close(p->fds, fd);
}

/* close_range: closes the guest's descriptors first..last, or with CLOSE_RANGE_CLOEXEC
 * marks them close-on-exec. CLOSE_RANGE_UNSHARE asks for a table of the caller's own: a
 * process's is (threads share their leader's, and unsharing it is not supported: EINVAL,
 * said once). */
SYSCALL_DEFINE3(close_range, unsigned, first, unsigned, last, unsigned, flags)
{
    static struct warn_once reported;
    if ((flags & ~(LINUX_CLOSE_RANGE_UNSHARE | LINUX_CLOSE_RANGE_CLOEXEC)) != 0 || first > last)
        return -EINVAL;
    if ((flags & LINUX_CLOSE_RANGE_UNSHARE) && p->leader->nr_threads > 1) {
        if (warn_once(&reported, 0))
            fprintf(stderr, "vmemu: close_range: CLOSE_RANGE_UNSHARE in a threaded process "
                            "is not supported (EINVAL)\n");
        return -EINVAL;
    }
    for (unsigned fd = first; fd <= last && fd < FD_MAX; fd++) {
        if (fd_host(p->fds, (int)fd) < 0)
            continue;
        if (flags & LINUX_CLOSE_RANGE_CLOEXEC)
            p->fds->fds[fd].cloexec = true;
        else
            fd_close(p->fds, (int)fd);
    }
    return 0;
}

SYSCALL_DEFINE3(lseek, int, fd, int64_t, offset, unsigned, whence)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    struct fd_dir *dir = fd_dir_of(p->fds, fd);
    if (dir) {
        /* a listed directory: offsets are those getdents64 gave (d_off) */
        int64_t at = whence == SEEK_SET   ? offset
                     : whence == SEEK_CUR ? (int64_t)dir->pos + offset
                                          : -1;
        if (at < 0 || (uint64_t)at > dir->len)
            return -EINVAL;
        dir->pos = (size_t)at;
        if (at == 0)
            dir->filled = false; /* rewinddir: the next read lists anew */
        return at;
    }
    return sys_host_result(lseek(host, offset, (int)whence));
}

/* getdents64 of a directory vmemu lists: whole records from the listing's position. */
static long dir_getdents(struct proc *p, struct fd_dir *dir, gva_t dirp, unsigned count)
{
    size_t n = 0;
    if (!dir->filled && procfs_fill_dir(p, dir) < 0)
        return -ENOMEM;
    while (dir->pos + n < dir->len) {
        uint16_t reclen;
        memcpy(&reclen, dir->buf + dir->pos + n + 16, sizeof(reclen));
        if (n + reclen > count)
            break;
        n += reclen;
    }
    if (n == 0 && dir->pos < dir->len)
        return -EINVAL; /* the buffer holds no record */
    if (n > 0 && copy_to_user(p->mm, dirp, dir->buf + dir->pos, n) < 0)
        return -EFAULT;
    dir->pos += n;
    return (long)n;
}

SYSCALL_DEFINE3(getdents64, int, fd, gva_t, dirp, unsigned, count)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if (fd_dir_of(p->fds, fd))
        return dir_getdents(p, fd_dir_of(p->fds, fd), dirp, count);
    size_t size = count < SYS_BOUNCE_MAX ? count : SYS_BOUNCE_MAX;
    char *bounce = malloc(size > 0 ? size : 1);
    if (bounce == NULL)
        return -ENOMEM;
    off_t where = lseek(host, 0, SEEK_CUR);
    long n = syscall(SYS_getdents64, host, bounce, size);
    if (n < 0) {
        n = -errno;
    } else if (n > 0 && copy_to_user(p->mm, dirp, bounce, (size_t)n) < 0) {
        if (where >= 0)
            lseek(host, where, SEEK_SET); /* the entries were not delivered */
        n = -EFAULT;
    }
    free(bounce);
    return n;
}

/* A host dup of guest fd's file installed at the lowest free number >= minfd. */
static long dup_from(struct proc *p, int fd, int minfd, bool cloexec)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if (minfd < 0 || minfd >= FD_MAX)
        return -EINVAL;
    int h = fcntl(host, F_DUPFD_CLOEXEC, 3);
    if (h < 0)
        return -errno;
    int nfd = fd_install(p->fds, h, cloexec, p->fds->fds[fd].path, minfd);
    if (nfd < 0)
        close(h);
    else {
        fd_set_dir(p->fds, nfd, fd_dir_get(fd_dir_of(p->fds, fd)));
        fd_share_ofd(p->fds, nfd, fd);
    }
    return nfd;
}

SYSCALL_DEFINE3(fcntl, int, fd, int, cmd, uint64_t, arg)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    switch (cmd) {
    case LINUX_F_GETFD:
        return p->fds->fds[fd].cloexec ? LINUX_FD_CLOEXEC : 0;
    case LINUX_F_SETFD:
        p->fds->fds[fd].cloexec = (arg & LINUX_FD_CLOEXEC) != 0;
        return 0;
    case LINUX_F_GETFL:
        return sys_host_result(fcntl(host, F_GETFL));
    case LINUX_F_SETFL:
        return sys_host_result(fcntl(host, F_SETFL, (int)arg));
    case LINUX_F_DUPFD:
    case LINUX_F_DUPFD_CLOEXEC:
        return dup_from(p, fd, (int)arg, cmd == LINUX_F_DUPFD_CLOEXEC);
    case LINUX_F_GETLK:
    case LINUX_F_SETLK:
    case LINUX_F_SETLKW:
    case FCNTL_OFD_GETLK:
    case FCNTL_OFD_SETLK:
    case FCNTL_OFD_SETLKW:
        return sys_fcntl_lock(p, fd, cmd, arg);
    case LINUX_F_SETPIPE_SZ:
    case LINUX_F_GETPIPE_SZ:
    case FCNTL_ADD_SEALS:
    case FCNTL_GET_SEALS:
        return sys_host_result(fcntl(host, cmd, (int)arg));
    default:
        return -EINVAL;
    }
}

SYSCALL_DEFINE1(dup, int, fd)
{
    return dup_from(p, fd, 0, false);
}

SYSCALL_DEFINE2(dup2, int, oldfd, int, newfd)
{
    return fd_dup_to(p->fds, oldfd, newfd, false);
}

SYSCALL_DEFINE3(dup3, int, oldfd, int, newfd, int, flags)
{
    if ((flags & ~LINUX_O_CLOEXEC) != 0 || oldfd == newfd)
        return -EINVAL;
    return fd_dup_to(p->fds, oldfd, newfd, (flags & LINUX_O_CLOEXEC) != 0);
}

/* ioctl requests already reported as unsupported (once each, like enosys in dispatch). */
static struct warn_once ioctl_reported;

static void ioctl_log_once(uint32_t req)
{
    if (!warn_once(&ioctl_reported, req))
        return;
    fprintf(stderr, "vmemu: unsupported ioctl %#" PRIx32 ", returning -ENOTTY\n", req);
}

/* A request whose answer is one int (FIONREAD, TIOCOUTQ): asked of the host file, written
 * to the guest's arg. Returns 0, -errno or -EFAULT. */
static long ioctl_int_out(struct proc *p, int host, unsigned long req, gva_t arg)
{
    int n = 0;
    if (ioctl(host, req, &n) < 0)
        return -errno;
    int32_t v = n;
    return copy_to_user(p->mm, arg, &v, sizeof(v));
}

SYSCALL_DEFINE3(ioctl, int, fd, uint32_t, req, gva_t, arg)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    switch (req) {
    case LINUX_TCGETS: {
        struct linux_termios t;
        if (ioctl(host, LINUX_TCGETS, &t) < 0)
            return -errno;
        return copy_to_user(p->mm, arg, &t, sizeof(t));
    }
    case LINUX_TIOCGWINSZ: {
        struct linux_winsize ws;
        if (ioctl(host, LINUX_TIOCGWINSZ, &ws) < 0)
            return -errno;
        return copy_to_user(p->mm, arg, &ws, sizeof(ws));
    }
    case LINUX_TCSETS:
    case LINUX_TCSETSW:
    case LINUX_TCSETSF: {
        struct linux_termios t;
        if (copy_from_user(p->mm, &t, arg, sizeof(t)) < 0)
            return -EFAULT;
        return sys_host_result(ioctl(host, req, &t));
    }
    case LINUX_TIOCGPGRP: {
        /* no job control: the terminal's foreground group is the caller's */
        if (!isatty(host))
            return -ENOTTY;
        int32_t pgrp = p->leader->pgid;
        return copy_to_user(p->mm, arg, &pgrp, sizeof(pgrp));
    }
    case LINUX_FIONBIO: {
        /* the generic file requests (Linux's do_vfs_ioctl): on every kind of file */
        int32_t on;
        if (copy_from_user(p->mm, &on, arg, sizeof(on)) < 0)
            return -EFAULT;
        int fl = fcntl(host, F_GETFL);
        if (fl < 0)
            return -errno;
        return sys_host_result(fcntl(host, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK));
    }
    case LINUX_FIOCLEX:
    case LINUX_FIONCLEX:
        p->fds->fds[fd].cloexec = req == LINUX_FIOCLEX;
        return 0;
    case LINUX_FIOQSIZE: {
        struct stat st;
        if (fstat(host, &st) < 0)
            return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
            return -ENOTTY;
        int64_t size = (int64_t)st.st_blocks * 512; /* inode_get_bytes: the space used */
        return copy_to_user(p->mm, arg, &size, sizeof(size));
    }
    case LINUX_TIOCOUTQ:
        return ioctl_int_out(p, host, TIOCOUTQ, arg);
    case LINUX_FIONREAD:
        return ioctl_int_out(p, host, FIONREAD, arg);
    default:
        /* a terminal request on a file that is no terminal: Linux's ENOTTY, no news; the
         * generic requests of type 'T' that vmemu lacks are news */
        if (((req >> 8) & 0xff) != 'T' || isatty(host) || req == LINUX_FIOASYNC)
            ioctl_log_once(req);
        return -ENOTTY;
    }
}

/* pipe/pipe2: a host pipe installed at the two lowest free guest numbers, read end
 * first, and the numbers written to the guest's int[2]. The host checks the flags
 * (O_NONBLOCK and O_DIRECT go to the open files; anything else but O_CLOEXEC and
 * O_NOTIFICATION_PIPE is -EINVAL). */
static long do_pipe(struct proc *p, gva_t ufds, int flags)
{
    int h[2];
    if (ufds == 0)
        return -EFAULT;
    if (pipe2(h, (flags & ~LINUX_O_CLOEXEC) | O_CLOEXEC) < 0)
        return -errno;
    return sys_install_host_fds(p, h, 2, (flags & LINUX_O_CLOEXEC) != 0, ufds);
}

SYSCALL_DEFINE1(pipe, gva_t, fds)
{
    return do_pipe(p, fds, 0);
}

SYSCALL_DEFINE2(pipe2, gva_t, fds, int, flags)
{
    return do_pipe(p, fds, flags);
}
