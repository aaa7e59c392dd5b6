/* File syscalls passed through to the host: I/O (read, write, the vectored and positioned
 * forms, sendfile), descriptors (open, close, dup, fcntl, ioctl, lseek, getdents64, pipe)
 * and the path-based operations (access, getcwd, chdir, mkdir, unlink, rename, readlink,
 * link, chmod, ...). Guest descriptors go through the process's fd table and guest memory only
 * through bounce buffers and the copy helpers, so a bad guest buffer gives -EFAULT and
 * never touches a host pointer. Host errors come back as -errno. Pipes are host pipes;
 * I/O on a pipe, FIFO, tty or socket is done non-blocking on the host and a guest whose
 * file is blocking sleeps in the scheduler instead (sched_block_io). Called by
 * syscalls/dispatch.c through the table; also holds the path and partial-copy helpers that
 * syscalls/sys_stat.c and syscalls/sys_time.c share. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/procfs.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/writeback.h"

/* fcntl commands on a pipe's capacity (Linux's values; the host's are the same). */
#define LINUX_F_SETPIPE_SZ 1031
#define LINUX_F_GETPIPE_SZ 1032

/* Largest bounce buffer: guest data crosses in steps of at most this many bytes. */
#define BOUNCE_MAX (64 * 1024)

/* Copies n bytes to guest dst, page by page when the whole copy fails. Returns the bytes
 * copied before the first page that could not be written. */
size_t sys_copy_to_user_partial(struct mm *mm, gva_t dst, const void *src, size_t n)
{
    size_t done = 0;
    if (copy_to_user(mm, dst, src, n) == 0)
        return n;
    while (done < n) {
        size_t step = PAGE_SIZE - ((dst + done) & (PAGE_SIZE - 1));
        if (step > n - done)
            step = n - done;
        if (copy_to_user(mm, dst + done, (const char *)src + done, step) < 0)
            break;
        done += step;
    }
    return done;
}

/* Copies n bytes from guest src, page by page when the whole copy fails. Returns the
 * bytes copied before the first page that could not be read. */
size_t sys_copy_from_user_partial(struct mm *mm, void *dst, gva_t src, size_t n)
{
    size_t done = 0;
    if (copy_from_user(mm, dst, src, n) == 0)
        return n;
    while (done < n) {
        size_t step = PAGE_SIZE - ((src + done) & (PAGE_SIZE - 1));
        if (step > n - done)
            step = n - done;
        if (copy_from_user(mm, (char *)dst + done, src + done, step) < 0)
            break;
        done += step;
    }
    return done;
}

/* Reads a guest path into buf (LINUX_PATH_MAX bytes), naming the process's own /proc
 * directory /proc/self. Returns 0, -EFAULT or -ENAMETOOLONG. */
int sys_path_from_user(struct proc *p, gva_t va, char *buf)
{
    long n = strncpy_from_user(p->mm, buf, va, LINUX_PATH_MAX);
    if (n < 0)
        return (int)n;
    /* "/proc/PID" of the process itself is "/proc/self": the host's /proc/PID is another
     * process (or none). */
    char own[32];
    int len = snprintf(own, sizeof(own), "/proc/%d", p->pid);
    if (strncmp(buf, own, (size_t)len) == 0 && (buf[len] == '/' || buf[len] == '\0')) {
        size_t rest = strlen(buf + len) + 1;
        if ((size_t)len >= 10 || 10 + rest <= LINUX_PATH_MAX) {
            memmove(buf + 10, buf + len, rest);
            memcpy(buf, "/proc/self", 10);
        }
    }
    return 0;
}

/* Whether a guest path read by sys_path_from_user (which names /proc/PID of the process
 * itself /proc/self) is the process's own program. */
static bool path_is_own_exe(const char *path)
{
    return strcmp(path, "/proc/self/exe") == 0;
}

/* The host path for a guest path read by sys_path_from_user: p->exe for the process's own
 * "/proc/self/exe", else path. */
const char *sys_path_to_host(struct proc *p, const char *path)
{
    if (p->exe != NULL && path_is_own_exe(path))
        return p->exe;
    return path;
}

/* The host dirfd to resolve path from guest dirfd: AT_FDCWD for AT_FDCWD and absolute
 * paths (Linux ignores dirfd for those), the table's host descriptor else. Returns it or
 * -EBADF. */
int sys_dirfd_to_host(struct proc *p, int dirfd, const char *path)
{
    if (dirfd == LINUX_AT_FDCWD || (path != NULL && path[0] == '/'))
        return AT_FDCWD;
    return fd_host(p->fds, dirfd);
}

/* Reads path va relative to guest dirfd. Returns 0, -EFAULT, -ENAMETOOLONG or -EBADF. */
int sys_at_path_get(struct proc *p, int dirfd, gva_t va, struct at_path *ap)
{
    int err = sys_path_from_user(p, va, ap->buf);
    if (err < 0)
        return err;
    ap->host = sys_path_to_host(p, ap->buf);
    ap->dirfd = sys_dirfd_to_host(p, dirfd, ap->host);
    return ap->dirfd == -EBADF ? -EBADF : 0;
}

/* Linux's access_ok(): the range lies in user space (whether it is mapped is found out
 * when it is copied). Checked before any data moves, so a hopeless buffer consumes
 * nothing. */
static bool user_range_ok(gva_t va, uint64_t n)
{
    return va < USER_VA_END && n <= USER_VA_END - va;
}

static long host_result(long r)
{
    return r < 0 ? -errno : r;
}

/* The vfile of the regular file behind host descriptor `host` when the VM knows that file
 * (it is mapped or cached), else NULL: I/O on it must stay coherent with the page cache. */
static struct vfile *host_vfile(struct proc *p, int host)
{
    struct stat st;
    if (p->sys->pc.files == NULL || fstat(host, &st) < 0 || !S_ISREG(st.st_mode))
        return NULL;
    return vfile_lookup(&p->sys->pc, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
}

/* File offset where a transfer of n bytes that just ended began: pos when given, else
 * the descriptor's offset now minus n. */
static uint64_t io_start(int host, int64_t pos, uint64_t done, size_t n)
{
    if (pos >= 0)
        return (uint64_t)pos + done;
    off_t cur = lseek(host, 0, SEEK_CUR);
    return cur >= (off_t)n ? (uint64_t)cur - n : 0;
}

/* Moves data between a host descriptor and the guest buffers iov[0..cnt), at most limit
 * bytes, in bounce-buffer steps: at file position pos (pread/pwrite) or the current one
 * when pos < 0. Stops at a short transfer. When a guest buffer faults, the bytes done so
 * far are returned (the unread rest of a read step is given back to the file when it can
 * seek), or -EFAULT when there are none; host errors likewise give -errno. *stop gets the
 * errno that ended the transfer early (EFAULT, EAGAIN, EPIPE, ...) even when bytes moved,
 * or 0. */
static long rw_iter(struct proc *p, int host, const struct linux_iovec *iov, int cnt,
                    uint64_t limit, bool is_write, int64_t pos, int *stop)
{
    size_t bufsize = limit < BOUNCE_MAX ? (size_t)limit : BOUNCE_MAX;
    char *bounce = malloc(bufsize > 0 ? bufsize : 1);
    struct vfile *vf = host_vfile(p, host);
    uint64_t done = 0, off = 0;
    int i = 0;
    long ret;

    *stop = 0;
    if (bounce == NULL)
        return -ENOMEM;
    for (;;) {
        while (i < cnt && off == iov[i].iov_len) {
            i++;
            off = 0;
        }
        if (i == cnt || done == limit) {
            ret = (long)done;
            break;
        }
        /* Bytes this step covers: up to the buffer size and the limit, across iovecs. */
        size_t want = 0;
        for (int j = i; j < cnt && want < bufsize; j++) {
            uint64_t seg = iov[j].iov_len - (j == i ? off : 0);
            want += seg < bufsize - want ? (size_t)seg : bufsize - want;
        }
        if (want > limit - done)
            want = (size_t)(limit - done);
        if (is_write) {
            size_t got = 0;
            bool fault = false;
            while (got < want) {
                uint64_t seg = iov[i].iov_len - off;
                size_t step = seg < want - got ? (size_t)seg : want - got;
                size_t n =
                    sys_copy_from_user_partial(p->mm, bounce + got, iov[i].iov_base + off, step);
                got += n;
                off += n;
                if (n < step) {
                    fault = true;
                    break;
                }
                if (off == iov[i].iov_len) {
                    i++;
                    off = 0;
                }
            }
            ssize_t n = 0;
            if (got > 0) {
                n = pos >= 0 ? pwrite(host, bounce, got, pos + (int64_t)done)
                             : write(host, bounce, got);
                if (n < 0) {
                    *stop = errno;
                    ret = done > 0 ? (long)done : -errno;
                    break;
                }
                if (vf != NULL && n > 0)
                    wb_file_written(p->sys, vf, io_start(host, pos, done, (size_t)n), bounce,
                                    (size_t)n);
                done += (uint64_t)n;
            }
            if (fault && (size_t)n == got) {
                *stop = EFAULT;
                ret = done > 0 ? (long)done : -EFAULT;
                break;
            }
            if ((size_t)n < got) {
                ret = (long)done;
                break;
            }
        } else {
            ssize_t n = pos >= 0 ? pread(host, bounce, want, pos + (int64_t)done)
                                 : read(host, bounce, want);
            if (n < 0) {
                *stop = errno;
                ret = done > 0 ? (long)done : -errno;
                break;
            }
            if (vf != NULL && n > 0)
                wb_read_overlay(p->sys, vf, io_start(host, pos, done, (size_t)n), bounce,
                                (size_t)n);
            size_t put = 0;
            bool fault = false;
            while (put < (size_t)n) {
                uint64_t seg = iov[i].iov_len - off;
                size_t step = seg < (size_t)n - put ? (size_t)seg : (size_t)n - put;
                size_t c =
                    sys_copy_to_user_partial(p->mm, iov[i].iov_base + off, bounce + put, step);
                put += c;
                off += c;
                if (c < step) {
                    fault = true;
                    break;
                }
                if (off == iov[i].iov_len) {
                    i++;
                    off = 0;
                }
            }
            done += put;
            if (fault) {
                if (pos < 0)
                    lseek(host, -(off_t)((size_t)n - put), SEEK_CUR);
                *stop = EFAULT;
                ret = done > 0 ? (long)done : -EFAULT;
                break;
            }
            if ((size_t)n < want) {
                ret = (long)done;
                break;
            }
        }
    }
    free(bounce);
    return ret;
}

/* Whether I/O on host descriptor host can wait for another party (a pipe, FIFO, tty,
 * socket or character device). Regular files, directories and block devices never wait
 * and never go to sleep. */
static bool io_may_wait(int host)
{
    struct stat st;
    if (fstat(host, &st) < 0)
        return false;
    return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode);
}

/* Makes host non-blocking for one call when the guest's file is blocking, so that the
 * host never blocks vmemu. Returns the status flags to give back to nb_end, or -1 when
 * nothing was changed (the guest's file is O_NONBLOCK itself, or F_GETFL failed). */
static int nb_begin(int host)
{
    int fl = fcntl(host, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK) != 0)
        return -1;
    if (fcntl(host, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fl;
}

/* Gives host back the status flags nb_begin saved (nothing when it returned -1). */
static void nb_end(int host, int saved)
{
    if (saved >= 0)
        fcntl(host, F_SETFL, saved);
}

/* Linux's send_sig(SIGPIPE, current, 0) on a write to a pipe without readers. */
static void send_sigpipe(struct proc *p)
{
    struct linux_siginfo info = {.si_signo = SIGPIPE, .si_code = LINUX_SI_USER};
    info.u.kill.pid = p->pid;
    info.u.kill.uid = (uint32_t)getuid();
    signal_send(p, SIGPIPE, &info);
}

/* Drops the first n bytes of the vector iov[0..*cnt): *iov and *cnt are moved past the
 * buffers done and the first remaining one is shortened. */
static void iov_advance(struct linux_iovec **iov, int *cnt, uint64_t n)
{
    while (*cnt > 0 && n > 0) {
        if (n < (*iov)->iov_len) {
            (*iov)->iov_base += n;
            (*iov)->iov_len -= n;
            return;
        }
        n -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
}

/* read/write/readv/writev at the current offset of a descriptor whose I/O may wait
 * (io_may_wait). The host call is non-blocking; when the guest's file is blocking and
 * nothing can move, the process sleeps in the scheduler (POLLIN for a read, POLLOUT for
 * a write) and the syscall is executed again when it wakes. A blocking write that moved
 * part of its bytes keeps the count in p->io_done and sleeps for the rest; its
 * re-execution continues after those bytes and returns the total. EPIPE sends SIGPIPE.
 * iov is the caller's copy (it is modified). Returns bytes moved, -SCHED_EBLOCK or
 * -errno. */
static long rw_wait(struct proc *p, int host, struct linux_iovec *iov, int cnt, uint64_t limit,
                    bool is_write)
{
    uint64_t before = is_write ? p->io_done : 0; /* 0 unless this write slept */
    long ret;
    int stop;

    p->io_done = 0;
    if (before >= limit)
        return (long)limit; /* only reachable when the guest changed its arguments */
    iov_advance(&iov, &cnt, before);
    int saved = nb_begin(host);
    long n = rw_iter(p, host, iov, cnt, limit - before, is_write, -1, &stop);
    nb_end(host, saved);

    if (is_write && stop == EPIPE)
        send_sigpipe(p);
    if (n < 0 && n != -EAGAIN)
        return before > 0 ? (long)before : n;
    uint64_t total = before + (n > 0 ? (uint64_t)n : 0);
    bool short_write = is_write && n > 0 && total < limit && (stop == 0 || stop == EAGAIN);
    if (saved < 0 || !(n == -EAGAIN || short_write))
        return n == -EAGAIN && before == 0 ? n : (long)total;
    /* The guest's file is blocking: sleep until the host descriptor is ready. */
    ret = sched_block_io(p, &(struct proc_wait_fd){host, is_write ? POLLOUT : POLLIN}, 1, 0, true);
    if (ret != -SCHED_EBLOCK)
        return total > 0 ? (long)total : ret;
    p->io_done = total;
    return ret;
}

static long do_rw(struct proc *p, int fd, gva_t buf, size_t count, bool is_write, int64_t pos)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if (!user_range_ok(buf, count))
        return -EFAULT;
    struct linux_iovec iov = {.iov_base = buf, .iov_len = count};
    uint64_t limit = count < LINUX_MAX_RW ? count : LINUX_MAX_RW;
    if (count == 0) {
        /* No buffer to touch; still let the host say whether the fd allows it. */
        ssize_t n = is_write ? write(host, "", 0) : read(host, NULL, 0);
        return n < 0 ? -errno : 0;
    }
    if (pos < 0 && io_may_wait(host))
        return rw_wait(p, host, &iov, 1, limit, is_write);
    int stop;
    long n = rw_iter(p, host, &iov, 1, limit, is_write, pos, &stop);
    if (is_write && stop == EPIPE)
        send_sigpipe(p);
    return n;
}

SYSCALL_DEFINE3(read, int, fd, gva_t, buf, size_t, count)
{
    return do_rw(p, fd, buf, count, false, -1);
}

SYSCALL_DEFINE3(write, int, fd, gva_t, buf, size_t, count)
{
    return do_rw(p, fd, buf, count, true, -1);
}

SYSCALL_DEFINE4(pread64, int, fd, gva_t, buf, size_t, count, int64_t, pos)
{
    if (pos < 0)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rw(p, fd, buf, count, false, pos);
}

SYSCALL_DEFINE4(pwrite64, int, fd, gva_t, buf, size_t, count, int64_t, pos)
{
    if (pos < 0)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rw(p, fd, buf, count, true, pos);
}

static long do_rwv(struct proc *p, int fd, gva_t uiov, int cnt, bool is_write)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    if (cnt < 0 || cnt > LINUX_UIO_MAXIOV)
        return -EINVAL;
    if (cnt == 0)
        return 0;
    struct linux_iovec *iov = malloc((size_t)cnt * sizeof(*iov));
    if (iov == NULL)
        return -ENOMEM;
    long ret = copy_from_user(p->mm, iov, uiov, (size_t)cnt * sizeof(*iov));
    uint64_t total = 0;
    for (int i = 0; ret == 0 && i < cnt; i++) {
        if ((int64_t)iov[i].iov_len < 0)
            ret = -EINVAL;
        else if (!user_range_ok(iov[i].iov_base, iov[i].iov_len))
            ret = -EFAULT;
        else
            total += iov[i].iov_len;
        if (total > LINUX_MAX_RW)
            total = LINUX_MAX_RW; /* Linux truncates the vector there */
    }
    if (ret == 0 && total > 0 && io_may_wait(host)) {
        ret = rw_wait(p, host, iov, cnt, total, is_write);
    } else if (ret == 0) {
        int stop;
        ret = rw_iter(p, host, iov, cnt, total, is_write, -1, &stop);
        if (is_write && stop == EPIPE)
            send_sigpipe(p);
    }
    free(iov);
    return ret;
}

SYSCALL_DEFINE3(readv, int, fd, gva_t, iov, int, cnt)
{
    return do_rwv(p, fd, iov, cnt, false);
}

SYSCALL_DEFINE3(writev, int, fd, gva_t, iov, int, cnt)
{
    return do_rwv(p, fd, iov, cnt, true);
}

/* sendfile that would block on a pipe (or tty, socket) side: sleeps on the sides that are
 * not ready, or returns -EAGAIN when one of those is the guest's own O_NONBLOCK file.
 * wait_out/wait_in: that side may wait; nb_out/nb_in: the guest's file is blocking. */
static long sendfile_block(struct proc *p, int out, int in, bool wait_out, bool wait_in,
                           bool nb_out, bool nb_in)
{
    struct pollfd pf[2] = {{.fd = wait_out ? out : -1, .events = POLLOUT},
                           {.fd = wait_in ? in : -1, .events = POLLIN}};
    struct proc_wait_fd w[2];
    size_t nw = 0;
    if (poll(pf, 2, 0) < 0)
        return -EAGAIN;
    if (wait_out && pf[0].revents == 0) {
        if (!nb_out)
            return -EAGAIN;
        w[nw++] = (struct proc_wait_fd){out, POLLOUT};
    }
    if (wait_in && pf[1].revents == 0) {
        if (!nb_in)
            return -EAGAIN;
        w[nw++] = (struct proc_wait_fd){in, POLLIN};
    }
    if (nw == 0) {
        /* Both look ready (the output has less room than a page): wait for output room,
         * or give the guest its EAGAIN when the output is non-blocking. */
        if (!(wait_out && nb_out))
            return -EAGAIN;
        w[nw++] = (struct proc_wait_fd){out, POLLOUT};
    }
    return sched_block_io(p, w, nw, 0, true);
}

/* sendfile between two guest descriptors is a host sendfile: no guest memory is involved
 * but the optional 64-bit offset, read before and written back after. A pipe, tty or
 * socket side is made non-blocking for the call: when the guest's file is blocking and
 * nothing could move, the process sleeps (as read and write do). A short transfer is
 * returned as it is. EPIPE sends SIGPIPE. */
SYSCALL_DEFINE4(sendfile, int, outfd, int, infd, gva_t, offp, size_t, count)
{
    int out = fd_host(p->fds, outfd), in = fd_host(p->fds, infd);
    if (out < 0 || in < 0)
        return -EBADF;
    struct vfile *vin = host_vfile(p, in);
    if (vin != NULL && wb_file_sync(p->sys, vin) < 0)
        return -EIO; /* the host copies from the file: it must hold the mapped stores */
    if (count > LINUX_MAX_RW)
        count = LINUX_MAX_RW;
    uint64_t off = 0;
    if (offp != 0 && get_user_u64(p->mm, offp, &off) < 0)
        return -EFAULT;
    off_t hoff = (off_t)off;
    bool wait_out = io_may_wait(out), wait_in = io_may_wait(in);
    int saved_out = wait_out ? nb_begin(out) : -1;
    int saved_in = wait_in && in != out ? nb_begin(in) : -1;
    ssize_t n = sendfile(out, in, offp != 0 ? &hoff : NULL, count);
    int err = n < 0 ? errno : 0;
    nb_end(in, saved_in);
    nb_end(out, saved_out);
    if (err == EPIPE)
        send_sigpipe(p);
    if (err == EAGAIN && (saved_out >= 0 || saved_in >= 0))
        return sendfile_block(p, out, in, wait_out, wait_in, saved_out >= 0, saved_in >= 0);
    if (err != 0)
        return -err;
    if (offp != 0 && put_user_u64(p->mm, offp, (uint64_t)hoff) < 0)
        return -EFAULT;
    return n;
}

/* open/openat: the host opens the file (close-on-exec on the host side, always); the
 * guest's O_CLOEXEC is kept in the table. */
static long do_open(struct proc *p, int dirfd, gva_t path, int flags, unsigned mode)
{
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    int host = ap.buf[0] == '/' ? procfs_open(p, ap.buf, flags) : PROCFS_PASS;
    if (host == PROCFS_PASS) {
        host = openat(ap.dirfd, ap.host, flags | O_CLOEXEC, mode & 07777);
        if (host < 0)
            return -errno;
    } else if (host < 0) {
        return host;
    }
    int fd = fd_install(p->fds, host, (flags & LINUX_O_CLOEXEC) != 0, ap.buf, 0);
    if (fd < 0)
        close(host);
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

SYSCALL_DEFINE1(close, int, fd)
{
    return fd_close(p->fds, fd);
}

SYSCALL_DEFINE3(lseek, int, fd, int64_t, offset, unsigned, whence)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return host_result(lseek(host, offset, (int)whence));
}

SYSCALL_DEFINE3(getdents64, int, fd, gva_t, dirp, unsigned, count)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    size_t size = count < BOUNCE_MAX ? count : BOUNCE_MAX;
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

/* F_GETLK / F_SETLK / F_SETLKW: the guest's struct flock through the host's. */
static long fcntl_lock(struct proc *p, int host, int cmd, gva_t arg)
{
    struct linux_flock gl;
    if (copy_from_user(p->mm, &gl, arg, sizeof(gl)) < 0)
        return -EFAULT;
    struct flock hl = {
        .l_type = gl.l_type,
        .l_whence = gl.l_whence,
        .l_start = gl.l_start,
        .l_len = gl.l_len,
        .l_pid = gl.l_pid,
    };
    int hcmd = cmd == LINUX_F_GETLK ? F_GETLK : cmd == LINUX_F_SETLK ? F_SETLK : F_SETLKW;
    if (fcntl(host, hcmd, &hl) < 0)
        return -errno;
    if (cmd != LINUX_F_GETLK)
        return 0;
    gl.l_type = hl.l_type;
    gl.l_whence = hl.l_whence;
    gl.l_start = hl.l_start;
    gl.l_len = hl.l_len;
    gl.l_pid = hl.l_pid;
    return copy_to_user(p->mm, arg, &gl, sizeof(gl));
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
        return host_result(fcntl(host, F_GETFL));
    case LINUX_F_SETFL:
        return host_result(fcntl(host, F_SETFL, (int)arg));
    case LINUX_F_DUPFD:
    case LINUX_F_DUPFD_CLOEXEC:
        return dup_from(p, fd, (int)arg, cmd == LINUX_F_DUPFD_CLOEXEC);
    case LINUX_F_GETLK:
    case LINUX_F_SETLK:
    case LINUX_F_SETLKW:
        return fcntl_lock(p, host, cmd, arg);
    case LINUX_F_SETPIPE_SZ:
    case LINUX_F_GETPIPE_SZ:
        return host_result(fcntl(host, cmd, (int)arg));
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
static uint32_t ioctl_logged[16];
static size_t ioctl_nlogged;

static void ioctl_log_once(uint32_t req)
{
    for (size_t i = 0; i < ioctl_nlogged; i++)
        if (ioctl_logged[i] == req)
            return;
    if (ioctl_nlogged == ARRAY_LEN(ioctl_logged))
        return;
    ioctl_logged[ioctl_nlogged++] = req;
    fprintf(stderr, "vmemu: unsupported ioctl %#" PRIx32 ", returning -ENOTTY\n", req);
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
    default:
        ioctl_log_once(req);
        return -ENOTTY;
    }
}

static long do_access(struct proc *p, int dirfd, gva_t path, int mode, int flags)
{
    if ((mode & ~7) != 0)
        return -EINVAL;
    if ((flags & ~(LINUX_AT_EACCESS | LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH)) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(faccessat(ap.dirfd, ap.host, mode, flags));
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
    char buf[LINUX_PATH_MAX];
    int err = sys_path_from_user(p, path, buf);
    if (err < 0)
        return err;
    return host_result(chdir(buf));
}

SYSCALL_DEFINE1(fchdir, int, fd)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    return host_result(fchdir(host));
}

static long do_mkdir(struct proc *p, int dirfd, gva_t path, unsigned mode)
{
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(mkdirat(ap.dirfd, ap.buf, mode & 07777));
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
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(unlinkat(ap.dirfd, ap.buf, flags));
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

/* Two paths with their dirfds, for rename and link. */
static long two_paths(struct proc *p, int olddfd, gva_t oldpath, int newdfd, gva_t newpath,
                      struct at_path *from, struct at_path *to)
{
    int err = sys_path_from_user(p, oldpath, from->buf);
    if (err == 0)
        err = sys_path_from_user(p, newpath, to->buf);
    if (err < 0)
        return err;
    from->host = from->buf;
    to->host = to->buf;
    from->dirfd = sys_dirfd_to_host(p, olddfd, from->buf);
    to->dirfd = sys_dirfd_to_host(p, newdfd, to->buf);
    if (from->dirfd == -EBADF || to->dirfd == -EBADF)
        return -EBADF;
    return 0;
}

static long do_rename(struct proc *p, int olddfd, gva_t oldpath, int newdfd, gva_t newpath,
                      unsigned flags)
{
    struct at_path *ap = malloc(2 * sizeof(*ap));
    if (ap == NULL)
        return -ENOMEM;
    long ret = two_paths(p, olddfd, oldpath, newdfd, newpath, &ap[0], &ap[1]);
    if (ret == 0)
        ret = host_result(renameat2(ap[0].dirfd, ap[0].buf, ap[1].dirfd, ap[1].buf, flags));
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
    long ret = two_paths(p, olddfd, oldpath, newdfd, newpath, &ap[0], &ap[1]);
    if (ret == 0)
        ret = host_result(linkat(ap[0].dirfd, ap[0].buf, ap[1].dirfd, ap[1].buf, flags));
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
    long ret = two_paths(p, LINUX_AT_FDCWD, target, newdfd, linkpath, &ap[0], &ap[1]);
    if (ret == 0)
        ret = host_result(symlinkat(ap[0].buf, ap[1].dirfd, ap[1].buf));
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
    int err = sys_path_from_user(p, path, ap.buf);
    if (err < 0)
        return err;
    char target[LINUX_PATH_MAX];
    size_t len;
    if (p->exe != NULL && path_is_own_exe(ap.buf)) {
        len = strnlen(p->exe, sizeof(target));
        memcpy(target, p->exe, len);
    } else {
        int host = sys_dirfd_to_host(p, dirfd, ap.buf);
        if (host == -EBADF)
            return -EBADF;
        ssize_t n = readlinkat(host, ap.buf, target, sizeof(target));
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
    struct vfile *vf = host_vfile(p, host);
    if (vf != NULL && wb_file_sync(p->sys, vf) < 0)
        return -EIO;
    return host_result(data_only ? fdatasync(host) : fsync(host));
}

SYSCALL_DEFINE1(fsync, int, fd)
{
    return do_fsync(p, fd, false);
}

SYSCALL_DEFINE1(fdatasync, int, fd)
{
    return do_fsync(p, fd, true);
}

/* After a successful truncation of the file open as host: cached pages past the new end
 * leave every mapping (a later access there is SIGBUS, as on Linux). */
static void truncated(struct proc *p, int host, int64_t length)
{
    struct vfile *vf = host_vfile(p, host);
    if (vf != NULL)
        wb_file_truncated(p->sys, vf, (uint64_t)length);
}

SYSCALL_DEFINE2(truncate, gva_t, path, int64_t, length)
{
    char buf[LINUX_PATH_MAX];
    int err = sys_path_from_user(p, path, buf);
    if (err < 0)
        return err;
    if (truncate(buf, length) < 0)
        return -errno;
    int host = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
    struct vfile *vf = (mode & FALLOC_FL_PUNCH_HOLE) ? host_vfile(p, host) : NULL;
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

SYSCALL_DEFINE2(flock, int, fd, int, op)
{
    int host = fd_host(p->fds, fd);
    return host < 0 ? host : host_result(flock(host, op));
}

static long do_chmod(struct proc *p, int dirfd, gva_t path, unsigned mode)
{
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(fchmodat(ap.dirfd, ap.buf, mode & 07777, 0));
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
    return host < 0 ? host : host_result(fchmod(host, mode & 07777));
}

static long do_chown(struct proc *p, int dirfd, gva_t path, uint32_t uid, uint32_t gid, int flags)
{
    if ((flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH)) != 0)
        return -EINVAL;
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(fchownat(ap.dirfd, ap.buf, uid, gid, flags));
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
    return host < 0 ? host : host_result(fchown(host, uid, gid));
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
        return host < 0 ? host : host_result(futimens(host, tsp));
    }
    struct at_path ap;
    int err = sys_at_path_get(p, dirfd, path, &ap);
    if (err < 0)
        return err;
    return host_result(utimensat(ap.dirfd, ap.buf, tsp, flags));
}

/* A host descriptor at 3 or above (the table's rule), closing h when it had to move.
 * Returns it or -errno. */
static int host_above_std(int h)
{
    if (h >= 3)
        return h;
    int moved = fcntl(h, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(h);
    return moved >= 0 ? moved : -err;
}

/* Installs n (1 or 2) new host descriptors h (close-on-exec on the host) at the lowest
 * free guest numbers with the guest's close-on-exec flag; with ufds, the numbers are
 * written there as an int[n] (pipe, socketpair), else the one number is returned. On any
 * error every descriptor is gone again (an unwritable array is -EFAULT, as Linux does).
 * Returns 0 (ufds), the guest number (no ufds) or -errno. */
long sys_install_host_fds(struct proc *p, int *h, int n, bool cloexec, gva_t ufds)
{
    int32_t g[2] = {-1, -1};
    long ret = 0;
    for (int i = 0; i < n; i++) {
        int hh = host_above_std(h[i]);
        h[i] = -1;
        if (hh < 0) {
            ret = hh;
            break;
        }
        int fd = fd_install(p->fds, hh, cloexec, NULL, 0);
        if (fd < 0) {
            close(hh);
            ret = fd;
            break;
        }
        g[i] = fd;
    }
    if (ret == 0 && ufds != 0 && copy_to_user(p->mm, ufds, g, (size_t)n * sizeof(g[0])) < 0)
        ret = -EFAULT;
    if (ret < 0) {
        for (int i = 0; i < n; i++) {
            if (h[i] >= 0)
                close(h[i]);
            if (g[i] >= 0)
                fd_close(p->fds, g[i]);
        }
        return ret;
    }
    return ufds != 0 ? 0 : g[0];
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
