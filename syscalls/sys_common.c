/* The helpers every syscall handler file shares (declared in syscalls/sysdefs.h): guest
 * paths (reading them and resolving them as the guest sees them, sys_vpath.c; the host
 * dirfd of an *at() path), partial copies to and from guest memory, the host-errno
 * conversion, the page-cache file behind a host descriptor, making a host descriptor
 * non-blocking for one call, and installing new host descriptors in the guest's table.
 * Guest memory is only reached through the copy helpers, so a bad guest pointer gives
 * -EFAULT and never touches a host pointer. Called by the sys_*.c handler files. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"

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

/* The host dirfd to resolve path from guest dirfd: AT_FDCWD for AT_FDCWD and absolute
 * paths (Linux ignores dirfd for those), the table's host descriptor else. Returns it or
 * -EBADF. */
int sys_dirfd_to_host(struct proc *p, int dirfd, const char *path)
{
    if (dirfd == LINUX_AT_FDCWD || (path != NULL && path[0] == '/'))
        return AT_FDCWD;
    return fd_host(p->fds, dirfd);
}

/* Reads path va relative to guest dirfd and resolves it as the guest sees it (see
 * sysdefs.h). */
int sys_at_path_lookup(struct proc *p, int dirfd, gva_t va, bool follow, struct at_path *ap)
{
    long n = strncpy_from_user(p->mm, ap->buf, va, LINUX_PATH_MAX);
    if (n < 0)
        return (int)n;
    return sys_vpath_resolve(p, dirfd, follow, ap);
}

/* sys_at_path_lookup following a final symlink. */
int sys_at_path_get(struct proc *p, int dirfd, gva_t va, struct at_path *ap)
{
    return sys_at_path_lookup(p, dirfd, va, true, ap);
}

/* The path alone that names ap's file on the host, for host calls without an *at form
 * (xattrs, inotify): ap->host when it is relative to the current directory, else one
 * through /proc/self/fd/N/ written into buf (size n). Returns it. */
const char *sys_at_host_path(const struct at_path *ap, char *buf, size_t n)
{
    if (ap->dirfd == LINUX_AT_FDCWD || ap->host[0] == '/')
        return ap->host;
    snprintf(buf, n, "/proc/self/fd/%d/%s", ap->dirfd, ap->host);
    return buf;
}

/* r, the result of a host call, as a handler returns it: -errno when the call failed
 * (r < 0; errno must still be the call's), r else. */
long sys_host_result(long r)
{
    return r < 0 ? -errno : r;
}

/* The vfile of the regular file behind host descriptor `host` when the VM knows that file
 * (it is mapped or cached), else NULL: I/O on it must stay coherent with the page cache. */
struct vfile *sys_host_vfile(struct proc *p, int host)
{
    struct stat st;
    if (p->sys->pc.files == NULL || fstat(host, &st) < 0 || !S_ISREG(st.st_mode))
        return NULL;
    return vfile_lookup(&p->sys->pc, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
}

#define EXT4_SUPER_MAGIC 0xEF53
#define XFS_SUPER_MAGIC  0x58465342

/* Whether host is a regular file with large folios (see sysdefs.h). */
bool sys_host_large_folios(int host)
{
    struct statfs fs;
    struct stat st;
    if (fstat(host, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(host, &fs) < 0)
        return false;
    return fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC;
}

/* Records a guest write for the page cache's shape (see sysdefs.h). */
void sys_note_write(struct proc *p, int host, uint64_t start, uint64_t n)
{
    struct stat st;
    if (n == 0 || fstat(host, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    bool large = sys_host_large_folios(host);
    folio_note_write(&p->sys->folios, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                     (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, large, start, n);
}

/* Forgets the shape of a truncated file's page cache (see sysdefs.h). */
void sys_note_truncate(struct proc *p, int host)
{
    struct stat st;
    if (fstat(host, &st) == 0 && S_ISREG(st.st_mode))
        folio_forget(&p->sys->folios, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
}

/* Host non-blocking for one call when the guest's file is blocking. */
int sys_nb_begin(int host)
{
    int fl = fcntl(host, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK) != 0)
        return -1;
    if (fcntl(host, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fl;
}

/* The status flags sys_nb_begin saved, back. */
void sys_nb_end(int host, int saved)
{
    if (saved >= 0)
        fcntl(host, F_SETFL, saved);
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
