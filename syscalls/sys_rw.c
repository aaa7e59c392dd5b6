/* Data transfer syscalls passed through to the host: read, write, pread64, pwrite64,
 * readv, writev, preadv, pwritev, preadv2, pwritev2, sendfile, splice and tee. One engine (rw_iter)
 * moves the bytes between a host descriptor and guest buffers in bounce-buffer steps,
 * keeps a file the VM maps coherent with its cached pages (reads see dirty pages, writes
 * update them) and stops at the first guest buffer that faults with the bytes done so
 * far. I/O on a pipe, FIFO, tty or socket is done non-blocking on the host and a guest
 * whose file is blocking sleeps in the scheduler instead (sched_block_io); EPIPE sends
 * SIGPIPE. Called by syscalls/dispatch.c through the table. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/fd.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/writeback.h"

/* preadv2/pwritev2 flags vmemu looks at (Linux's values); the others go to the host as
 * they are, which rejects those it does not know with EOPNOTSUPP. */
#define LINUX_RWF_NOWAIT 0x08
#define LINUX_RWF_APPEND 0x10

/* Linux's access_ok(): the range lies in user space (whether it is mapped is found out
 * when it is copied). Checked before any data moves, so a hopeless buffer consumes
 * nothing. */
static bool user_range_ok(gva_t va, uint64_t n)
{
    return va < USER_VA_END && n <= USER_VA_END - va;
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

/* File offset where a write of n bytes with RWF_APPEND just ended began: it went to the
 * end of the file. */
static uint64_t append_start(int host, size_t n)
{
    struct stat st;
    if (fstat(host, &st) < 0 || st.st_size < (off_t)n)
        return 0;
    return (uint64_t)st.st_size - n;
}

/* Moves data between a host descriptor and the guest buffers iov[0..cnt), at most limit
 * bytes, in bounce-buffer steps: at file position pos (pread/pwrite) or the current one
 * when pos < 0; rwf, when not 0, are preadv2/pwritev2 flags for each host call. Stops at
 * a short transfer. When a guest buffer faults, the bytes done so far are returned (the
 * unread rest of a read step is given back to the file when it can seek), or -EFAULT when
 * there are none; host errors likewise give -errno. *stop gets the errno that ended the
 * transfer early (EFAULT, EAGAIN, EPIPE, ...) even when bytes moved, or 0. */
static long rw_iter(struct proc *p, int host, const struct linux_iovec *iov, int cnt,
                    uint64_t limit, bool is_write, int64_t pos, int rwf, int *stop)
{
    size_t bufsize = limit < SYS_BOUNCE_MAX ? (size_t)limit : SYS_BOUNCE_MAX;
    char *bounce = malloc(bufsize > 0 ? bufsize : 1);
    struct vfile *vf = sys_host_vfile(p, host);
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
                struct iovec hv = {bounce, got};
                if (rwf != 0)
                    n = pwritev2(host, &hv, 1, pos >= 0 ? pos + (int64_t)done : -1, rwf);
                else
                    n = pos >= 0 ? pwrite(host, bounce, got, pos + (int64_t)done)
                                 : write(host, bounce, got);
                if (n < 0) {
                    *stop = errno;
                    ret = done > 0 ? (long)done : -errno;
                    break;
                }
                if (vf != NULL && n > 0)
                    wb_file_written(p->sys, vf,
                                    rwf & LINUX_RWF_APPEND ? append_start(host, (size_t)n)
                                                           : io_start(host, pos, done, (size_t)n),
                                    bounce, (size_t)n);
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
            struct iovec hv = {bounce, want};
            ssize_t n = rwf != 0   ? preadv2(host, &hv, 1, pos >= 0 ? pos + (int64_t)done : -1, rwf)
                        : pos >= 0 ? pread(host, bounce, want, pos + (int64_t)done)
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
    if (is_write && done > 0)
        sys_note_write(
            p, host,
            rwf & LINUX_RWF_APPEND ? append_start(host, done) : io_start(host, pos, 0, done), done);
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

/* Linux's send_sig(SIGPIPE, current, 0) on a write to a pipe without readers. */
static void send_sigpipe(struct proc *p)
{
    struct linux_siginfo info = {.si_signo = LINUX_SIGPIPE, .si_code = LINUX_SI_USER};
    info.u.kill.pid = p->leader->pid;
    info.u.kill.uid = (uint32_t)getuid();
    signal_send(p, LINUX_SIGPIPE, &info);
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
 * rwf: preadv2/pwritev2 flags (RWF_NOWAIT never sleeps). iov is the caller's copy (it is
 * modified). Returns bytes moved, -SCHED_EBLOCK or -errno. */
static long rw_wait(struct proc *p, int host, struct linux_iovec *iov, int cnt, uint64_t limit,
                    bool is_write, int rwf)
{
    uint64_t before = is_write ? p->io_done : 0; /* 0 unless this write slept */
    long ret;
    int stop;

    p->io_done = 0;
    if (before >= limit)
        return (long)limit; /* only reachable when the guest changed its arguments */
    iov_advance(&iov, &cnt, before);
    int saved = sys_nb_begin(host);
    long n = rw_iter(p, host, iov, cnt, limit - before, is_write, -1, rwf, &stop);
    sys_nb_end(host, saved);

    if (is_write && stop == EPIPE)
        send_sigpipe(p);
    if (n < 0 && n != -EAGAIN)
        return before > 0 ? (long)before : n;
    uint64_t total = before + (n > 0 ? (uint64_t)n : 0);
    bool short_write = is_write && n > 0 && total < limit && (stop == 0 || stop == EAGAIN);
    if (saved < 0 || (rwf & LINUX_RWF_NOWAIT) || !(n == -EAGAIN || short_write))
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
    const struct fd_ofd *ofd = fd_ofd_of(p->fds, fd);
    if (is_write && ofd && ofd->hugetlb)
        return -EINVAL; /* hugetlbfs has no write(): an MFD_HUGETLB memfd is mmap'ed */
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
        return rw_wait(p, host, &iov, 1, limit, is_write, 0);
    int stop;
    long n = rw_iter(p, host, &iov, 1, limit, is_write, pos, 0, &stop);
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

/* readv/writev (pos < 0, rwf 0) and their positioned forms: at file position pos, or the
 * current one when pos is -1 (preadv2/pwritev2), with the preadv2/pwritev2 flags rwf. */
static long do_rwv(struct proc *p, int fd, gva_t uiov, int cnt, bool is_write, int64_t pos, int rwf)
{
    int host = fd_host(p->fds, fd);
    if (host < 0)
        return host;
    const struct fd_ofd *ofd = fd_ofd_of(p->fds, fd);
    if (is_write && ofd && ofd->hugetlb)
        return -EINVAL; /* as write() */
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
    if (ret == 0 && total > 0 && pos < 0 && io_may_wait(host)) {
        ret = rw_wait(p, host, iov, cnt, total, is_write, rwf);
    } else if (ret == 0) {
        int stop;
        ret = rw_iter(p, host, iov, cnt, total, is_write, pos, rwf, &stop);
        if (is_write && stop == EPIPE)
            send_sigpipe(p);
    }
    free(iov);
    return ret;
}

SYSCALL_DEFINE3(readv, int, fd, gva_t, iov, int, cnt)
{
    return do_rwv(p, fd, iov, cnt, false, -1, 0);
}

SYSCALL_DEFINE3(writev, int, fd, gva_t, iov, int, cnt)
{
    return do_rwv(p, fd, iov, cnt, true, -1, 0);
}

/* preadv/pwritev: on x86-64 the offset is the whole fourth argument (the fifth, its high
 * half on 32-bit systems, is ignored); a negative one is EINVAL. */
SYSCALL_DEFINE4(preadv, int, fd, gva_t, iov, int, cnt, int64_t, pos)
{
    if (pos < 0)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rwv(p, fd, iov, cnt, false, pos, 0);
}

SYSCALL_DEFINE4(pwritev, int, fd, gva_t, iov, int, cnt, int64_t, pos)
{
    if (pos < 0)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rwv(p, fd, iov, cnt, true, pos, 0);
}

/* preadv2/pwritev2: offset -1 is the current position; flags go to the host. */
SYSCALL_DEFINE6(preadv2, int, fd, gva_t, iov, int, cnt, int64_t, pos, uint64_t, pos_h, int, flags)
{
    (void)pos_h;
    if (pos < -1)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rwv(p, fd, iov, cnt, false, pos, flags);
}

SYSCALL_DEFINE6(pwritev2, int, fd, gva_t, iov, int, cnt, int64_t, pos, uint64_t, pos_h, int, flags)
{
    (void)pos_h;
    if (pos < -1)
        return fd_host(p->fds, fd) < 0 ? -EBADF : -EINVAL;
    return do_rwv(p, fd, iov, cnt, true, pos, flags);
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

/* After the host wrote n bytes at start of the file behind host: its cached pages take
 * them (read back in 64 KiB steps), and the page-cache shape notes the write. */
static void xfer_written(struct proc *p, int host, uint64_t start, uint64_t n)
{
    struct vfile *vf = sys_host_vfile(p, host);
    enum { STEP = 64 * 1024 };
    uint8_t *buf = vf != NULL ? malloc(STEP) : NULL;
    for (uint64_t done = 0; buf != NULL && done < n;) {
        size_t want = n - done < STEP ? (size_t)(n - done) : STEP;
        ssize_t got = pread(host, buf, want, (off_t)(start + done));
        if (got <= 0) { /* a write-only file: its cached pages of the rest go */
            wb_discard_pages(p->sys, vf, (start + done) / PAGE_SIZE, (start + n - 1) / PAGE_SIZE);
            break;
        }
        wb_file_written(p->sys, vf, start + done, buf, (size_t)got);
        done += (uint64_t)got;
    }
    free(buf);
    sys_note_write(p, host, start, n);
}

/* One host call that moves bytes between two descriptors with optional 64-bit offsets
 * (off_in, off_out: NULL when the guest gave none). Returns bytes moved or -1 (errno). */
typedef ssize_t (*xfer_fn)(int out, int in, int64_t *off_in, int64_t *off_out, size_t count,
                           unsigned flags);

/* sendfile, splice and tee between two guest descriptors are the host's call: no guest
 * memory is involved but the optional offsets, read before and written back after. A
 * pipe, tty or socket side is made non-blocking for the call: when the guest's file is
 * blocking and nothing could move, the process sleeps (as read and write do). Files read
 * or written hold the VM's mapped stores first, and a file written updates the VM's
 * cached pages after. A
 * short transfer is returned as it is. EPIPE sends SIGPIPE. */
static long host_xfer(struct proc *p, int outfd, int infd, gva_t uoff_in, gva_t uoff_out,
                      size_t count, unsigned flags, xfer_fn fn)
{
    int out = fd_host(p->fds, outfd), in = fd_host(p->fds, infd);
    if (out < 0 || in < 0)
        return -EBADF;
    struct vfile *vin = sys_host_vfile(p, in), *vout = sys_host_vfile(p, out);
    /* the host copies from a file and writes into one: both must hold the mapped stores */
    if ((vin != NULL && wb_file_sync(p->sys, vin) < 0) ||
        (vout != NULL && vout != vin && wb_file_sync(p->sys, vout) < 0))
        return -EIO;
    if (count > LINUX_MAX_RW)
        count = LINUX_MAX_RW;
    uint64_t off_in = 0, off_out = 0;
    if ((uoff_in != 0 && get_user_u64(p->mm, uoff_in, &off_in) < 0) ||
        (uoff_out != 0 && get_user_u64(p->mm, uoff_out, &off_out) < 0))
        return -EFAULT;
    int64_t hin = (int64_t)off_in, hout = (int64_t)off_out;
    /* where a write into a file lands, for the cached pages */
    int64_t out_start = uoff_out != 0 ? hout : (int64_t)lseek(out, 0, SEEK_CUR);
    bool wait_out = io_may_wait(out), wait_in = io_may_wait(in);
    int saved_out = wait_out ? sys_nb_begin(out) : -1;
    int saved_in = wait_in && in != out ? sys_nb_begin(in) : -1;
    ssize_t n = fn(out, in, uoff_in != 0 ? &hin : NULL, uoff_out != 0 ? &hout : NULL, count, flags);
    int err = n < 0 ? errno : 0;
    sys_nb_end(in, saved_in);
    sys_nb_end(out, saved_out);
    if (err == EPIPE)
        send_sigpipe(p);
    if (err == EAGAIN && !(flags & SPLICE_F_NONBLOCK) && (saved_out >= 0 || saved_in >= 0))
        return sendfile_block(p, out, in, wait_out, wait_in, saved_out >= 0, saved_in >= 0);
    if (err != 0)
        return -err;
    if (n > 0 && !wait_out && out_start >= 0)
        xfer_written(p, out, (uint64_t)out_start, (uint64_t)n);
    if ((uoff_in != 0 && put_user_u64(p->mm, uoff_in, (uint64_t)hin) < 0) ||
        (uoff_out != 0 && put_user_u64(p->mm, uoff_out, (uint64_t)hout) < 0))
        return -EFAULT;
    return n;
}

static ssize_t xfer_sendfile(int out, int in, int64_t *off_in, int64_t *off_out, size_t count,
                             unsigned flags)
{
    (void)off_out;
    (void)flags;
    off_t o = off_in != NULL ? (off_t)*off_in : 0;
    ssize_t n = sendfile(out, in, off_in != NULL ? &o : NULL, count);
    if (off_in != NULL)
        *off_in = o;
    return n;
}

static ssize_t xfer_splice(int out, int in, int64_t *off_in, int64_t *off_out, size_t count,
                           unsigned flags)
{
    loff_t oi = off_in != NULL ? *off_in : 0, oo = off_out != NULL ? *off_out : 0;
    ssize_t n = splice(in, off_in != NULL ? &oi : NULL, out, off_out != NULL ? &oo : NULL, count,
                       flags & ~(unsigned)SPLICE_F_NONBLOCK);
    if (off_in != NULL)
        *off_in = oi;
    if (off_out != NULL)
        *off_out = oo;
    return n;
}

static ssize_t xfer_tee(int out, int in, int64_t *off_in, int64_t *off_out, size_t count,
                        unsigned flags)
{
    (void)off_in;
    (void)off_out;
    return tee(in, out, count, flags & ~(unsigned)SPLICE_F_NONBLOCK);
}

SYSCALL_DEFINE4(sendfile, int, outfd, int, infd, gva_t, offp, size_t, count)
{
    return host_xfer(p, outfd, infd, offp, 0, count, 0, xfer_sendfile);
}

/* splice/tee: SPLICE_F_NONBLOCK makes the call itself non-blocking (EAGAIN, no sleep),
 * as the guest's own O_NONBLOCK does; the other flags go to the host. */
SYSCALL_DEFINE6(splice, int, infd, gva_t, off_in, int, outfd, gva_t, off_out, size_t, len, unsigned,
                flags)
{
    if (flags & ~(unsigned)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
        return -EINVAL;
    return host_xfer(p, outfd, infd, off_in, off_out, len, flags, xfer_splice);
}

SYSCALL_DEFINE4(tee, int, infd, int, outfd, size_t, len, unsigned, flags)
{
    if (flags & ~(unsigned)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
        return -EINVAL;
    return host_xfer(p, outfd, infd, 0, 0, len, flags, xfer_tee);
}
