/* A process's descriptor table: guest descriptor numbers mapped to host descriptors.
 * Every host descriptor in the table is vmemu's own (a dup or an open done for the guest,
 * close-on-exec on the host side), so the guest never sees vmemu's files and closing a
 * guest descriptor never closes one of vmemu's. The guest's close-on-exec flag lives in
 * the table. Called by src/proc/proc.c (init, destroy, fork's dup, execve's close-on-exec) and
 * the file syscalls. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmemu/fd.h"
#include "vmemu/flock.h"
#include "vmemu/pagecache.h"

/* Host descriptors of the table start here, away from the host's 0, 1 and 2. */
#define FD_HOST_MIN 3

/* Drops a reference to dir (see the header). */
void fd_dir_put(struct fd_dir *dir)
{
    if (dir != NULL && --dir->refs == 0) {
        free(dir->buf);
        free(dir);
    }
}

static struct fd_ofd *ofd_new(void)
{
    struct fd_ofd *o = malloc(sizeof(*o));
    if (o)
        *o = (struct fd_ofd){.refs = 1};
    return o;
}

static struct fd_ofd *ofd_get(struct fd_ofd *o)
{
    if (o)
        o->refs++;
    return o;
}

/* Drops a reference; the last one takes the description's flock and OFD locks along. */
static void ofd_put(struct fd_ofd *o)
{
    if (o && --o->refs == 0) {
        flock_release_owner(o);
        if (o->fifo_writer)
            flock_fifo_closed_write(o->dev, o->ino);
        if (o->hugetlb)
            vfile_put(o->hugetlb);
        free(o);
    }
}

/* Closes e's host descriptor. The table's POSIX locks on that file go (POSIX's rule:
 * closing any descriptor of a file drops the process's locks on it). */
static void fd_entry_close(struct fdtable *t, struct fd_entry *e)
{
    struct stat st;
    if (flock_owner_has(t) && fstat(e->hostfd, &st) == 0)
        flock_release_file((uint64_t)st.st_dev, (uint64_t)st.st_ino, t, FLOCK_POSIX);
    close(e->hostfd);
}

static void fd_entry_clear(struct fd_entry *e)
{
    e->hostfd = -1;
    e->cloexec = false;
    free(e->path);
    e->path = NULL;
    fd_dir_put(e->dir);
    e->dir = NULL;
    ofd_put(e->ofd);
    e->ofd = NULL;
}

/* dir with one more reference (see the header). */
struct fd_dir *fd_dir_get(struct fd_dir *dir)
{
    if (dir != NULL)
        dir->refs++;
    return dir;
}

/* Makes fd share oldfd's open file description (see the header). */
void fd_share_ofd(struct fdtable *t, int fd, int oldfd)
{
    if (fd_host(t, fd) < 0 || fd_host(t, oldfd) < 0)
        return;
    ofd_put(t->fds[fd].ofd);
    t->fds[fd].ofd = ofd_get(t->fds[oldfd].ofd);
}

/* The open file description of guest fd (see the header). */
struct fd_ofd *fd_ofd_of(const struct fdtable *t, int fd)
{
    return fd_host(t, fd) < 0 ? NULL : t->fds[fd].ofd;
}

/* Gives guest fd a listing (see the header). */
int fd_set_dir(struct fdtable *t, int fd, struct fd_dir *dir)
{
    if (fd_host(t, fd) < 0)
        return -EBADF;
    fd_dir_put(t->fds[fd].dir);
    t->fds[fd].dir = dir;
    return 0;
}

/* The listing of guest fd (see the header). */
struct fd_dir *fd_dir_of(const struct fdtable *t, int fd)
{
    return fd_host(t, fd) < 0 ? NULL : t->fds[fd].dir;
}

/* The path guest fd was opened with (see the header). */
const char *fd_path(const struct fdtable *t, int fd)
{
    return fd_host(t, fd) < 0 ? NULL : t->fds[fd].path;
}

/* Fills a table whose guest 0, 1 and 2 are dups of the host's 0, 1 and 2; a host
 * descriptor that is closed leaves its slot free. Returns 0 or -errno (-EMFILE when the
 * host has no descriptor left). */
int fd_table_init(struct fdtable *t)
{
    for (int i = 0; i < FD_MAX; i++) {
        t->fds[i].hostfd = -1;
        t->fds[i].cloexec = false;
        t->fds[i].path = NULL;
        t->fds[i].dir = NULL;
        t->fds[i].ofd = NULL;
    }
    for (int i = 0; i < 3; i++) {
        int h = fcntl(i, F_DUPFD_CLOEXEC, FD_HOST_MIN);
        if (h < 0) {
            if (errno == EBADF)
                continue;
            int err = -errno;
            fd_table_destroy(t);
            return err;
        }
        t->fds[i].hostfd = h;
        t->fds[i].ofd = ofd_new();
    }
    return 0;
}

/* Closes every host descriptor of the table and frees the paths; the table is left empty. */
void fd_table_destroy(struct fdtable *t)
{
    for (int i = 0; i < FD_MAX; i++) {
        if (t->fds[i].hostfd >= 0)
            fd_entry_close(t, &t->fds[i]);
        fd_entry_clear(&t->fds[i]);
    }
}

/* Installs hostfd at the lowest free guest number >= minfd with the guest's close-on-exec
 * flag and a copy of path (may be NULL). Returns the guest number, -EINVAL when minfd is
 * outside [0, FD_MAX), -EMFILE when no number is free or -ENOMEM; on error the caller
 * still owns hostfd. */
int fd_install(struct fdtable *t, int hostfd, bool cloexec, const char *path, int minfd)
{
    if (minfd < 0 || minfd >= FD_MAX)
        return -EINVAL;
    for (int fd = minfd; fd < FD_MAX; fd++) {
        if (t->fds[fd].hostfd >= 0)
            continue;
        char *copy = NULL;
        if (path != NULL) {
            copy = strdup(path);
            if (copy == NULL)
                return -ENOMEM;
        }
        t->fds[fd].hostfd = hostfd;
        t->fds[fd].cloexec = cloexec;
        t->fds[fd].path = copy;
        t->fds[fd].ofd = ofd_new();
        return fd;
    }
    return -EMFILE;
}

/* The host descriptor behind guest fd, or -EBADF when fd is not open. */
int fd_host(const struct fdtable *t, int fd)
{
    if (fd < 0 || fd >= FD_MAX || t->fds[fd].hostfd < 0)
        return -EBADF;
    return t->fds[fd].hostfd;
}

/* Closes guest fd and its host descriptor. Returns 0 or -EBADF. */
int fd_close(struct fdtable *t, int fd)
{
    if (fd_host(t, fd) < 0)
        return -EBADF;
    fd_entry_close(t, &t->fds[fd]);
    fd_entry_clear(&t->fds[fd]);
    return 0;
}

/* dup2/dup3: makes newfd a new descriptor for oldfd's open file (closing what newfd was),
 * with the given close-on-exec flag. oldfd == newfd is left alone (dup2's rule; dup3's
 * -EINVAL is the caller's). Returns newfd, -EBADF (oldfd not open, newfd out of range),
 * -EMFILE or -ENOMEM from the host. */
int fd_dup_to(struct fdtable *t, int oldfd, int newfd, bool cloexec)
{
    int oldhost = fd_host(t, oldfd);
    if (oldhost < 0)
        return oldhost;
    if (newfd < 0 || newfd >= FD_MAX)
        return -EBADF;
    if (oldfd == newfd)
        return newfd;
    char *copy = NULL;
    if (t->fds[oldfd].path != NULL) {
        copy = strdup(t->fds[oldfd].path);
        if (copy == NULL)
            return -ENOMEM;
    }
    int h = fcntl(oldhost, F_DUPFD_CLOEXEC, FD_HOST_MIN);
    if (h < 0) {
        int err = -errno;
        free(copy);
        return err;
    }
    if (t->fds[newfd].hostfd >= 0)
        fd_entry_close(t, &t->fds[newfd]);
    fd_entry_clear(&t->fds[newfd]);
    t->fds[newfd].hostfd = h;
    t->fds[newfd].cloexec = cloexec;
    t->fds[newfd].path = copy;
    t->fds[newfd].dir = fd_dir_get(t->fds[oldfd].dir);
    t->fds[newfd].ofd = ofd_get(t->fds[oldfd].ofd);
    return newfd;
}

/* fork: allocates *out and fills it with a host dup of every open descriptor of src, at
 * the same guest number with the same close-on-exec flag and path. The dups share the
 * open file description (offset, status flags) as a forked child's descriptors do on
 * Linux. Returns 0, or -ENOMEM / -EMFILE / -ENFILE (nothing allocated, *out untouched). */
int fd_table_dup(const struct fdtable *src, struct fdtable **out)
{
    struct fdtable *t = malloc(sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    for (int i = 0; i < FD_MAX; i++) {
        t->fds[i].hostfd = -1;
        t->fds[i].cloexec = false;
        t->fds[i].path = NULL;
        t->fds[i].dir = NULL;
        t->fds[i].ofd = NULL;
    }
    for (int i = 0; i < FD_MAX; i++) {
        const struct fd_entry *e = &src->fds[i];
        if (e->hostfd < 0)
            continue;
        int err = 0;
        char *copy = NULL;
        if (e->path != NULL && (copy = strdup(e->path)) == NULL)
            err = -ENOMEM;
        int h = err ? -1 : fcntl(e->hostfd, F_DUPFD_CLOEXEC, FD_HOST_MIN);
        if (!err && h < 0)
            err = -errno;
        if (err) {
            free(copy);
            fd_table_destroy(t);
            free(t);
            return err;
        }
        t->fds[i].hostfd = h;
        t->fds[i].cloexec = e->cloexec;
        t->fds[i].path = copy;
        t->fds[i].dir = fd_dir_get(e->dir);
        t->fds[i].ofd = ofd_get(e->ofd);
    }
    *out = t;
    return 0;
}

/* execve: closes every descriptor whose guest close-on-exec flag is set (the host side of
 * all of them is close-on-exec anyway; this is the guest's view). */
void fd_close_on_exec(struct fdtable *t)
{
    for (int i = 0; i < FD_MAX; i++) {
        if (t->fds[i].hostfd >= 0 && t->fds[i].cloexec)
            fd_close(t, i);
    }
}
