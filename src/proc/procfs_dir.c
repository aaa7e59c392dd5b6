/* The /proc directories vmemu lists itself, so that the guest sees its own world and
 * nothing of vmemu's: /proc (the host's entries with the guest's processes for the host's
 * pids), /proc/PID/fd and fdinfo (the guest's descriptor numbers), /proc/PID/task (the
 * process's threads); /proc/PID/fdinfo/N (the host's text for the file, with the guest's
 * close-on-exec flag); and the host path that stands in for a guest /proc path in stat and
 * the other path syscalls (procfs_host_path). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs_int.h"
#include "vmemu/procfs.h"
#include "vmemu/sched.h"

/* Linux's struct linux_dirent64 header (the name follows, NUL-terminated). */
struct dirent_head {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
} __attribute__((packed));

/* An empty listing (one reference), or NULL. */
static struct fd_dir *dir_new(void)
{
    struct fd_dir *d = calloc(1, sizeof(*d));
    if (d)
        d->refs = 1;
    return d;
}

/* Appends an entry; returns 0 or -ENOMEM. */
static int dir_add(struct fd_dir *d, const char *name, uint8_t type, uint64_t ino)
{
    size_t nlen = strlen(name) + 1;
    size_t reclen = (sizeof(struct dirent_head) + nlen + 7) & ~(size_t)7;
    unsigned char *buf = realloc(d->buf, d->len + reclen);
    if (!buf)
        return -ENOMEM;
    d->buf = buf;
    struct dirent_head h = {.d_ino = ino ? ino : 1,
                            .d_off = (int64_t)(d->len + reclen),
                            .d_reclen = (uint16_t)reclen,
                            .d_type = type};
    memset(buf + d->len, 0, reclen);
    memcpy(buf + d->len, &h, sizeof(h));
    memcpy(buf + d->len + sizeof(h), name, nlen);
    d->len += reclen;
    return 0;
}

static int dir_add_num(struct fd_dir *d, long n, uint8_t type)
{
    char name[24];
    snprintf(name, sizeof(name), "%ld", n);
    return dir_add(d, name, type, (uint64_t)n + 2);
}

/* /proc: the host's entries but its processes, then the guest's processes (leaders). */
static int list_root(struct proc *p, struct fd_dir *d)
{
    int rc = 0;
    DIR *host = opendir("/proc");
    if (!host)
        return -errno;
    struct dirent *e;
    while (rc == 0 && (e = readdir(host)) != NULL)
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            rc = dir_add(d, e->d_name, e->d_type, e->d_ino);
    closedir(host);
    const struct sched *s = p->sched;
    for (size_t i = 0; rc == 0 && s && i < s->nprocs; i++) {
        const struct proc *t = s->procs[i];
        if (t->leader == t && t->state != PROC_DEAD)
            rc = dir_add_num(d, t->pid, DT_DIR);
    }
    if (rc == 0 && !s)
        rc = dir_add_num(d, p->leader->pid, DT_DIR);
    return rc;
}

/* Fills dir with the listing of its directory as it is now (see procfs.h). */
int procfs_fill_dir(struct proc *p, struct fd_dir *d)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", d->pid);
    struct proc *t = procfs_task(p, pid, NULL);
    const char *what = d->what;
    free(d->buf);
    d->buf = NULL;
    d->len = d->pos = 0;
    d->filled = true;
    int rc = dir_add(d, ".", DT_DIR, 1);
    if (rc == 0)
        rc = dir_add(d, "..", DT_DIR, 1);
    if (rc == 0 && what[0] == '\0') {
        rc = list_root(p, d);
    } else if (!t) {
        /* the task ended: its directory is empty */
    } else if (rc == 0 && (strcmp(what, "fd") == 0 || strcmp(what, "fdinfo") == 0)) {
        for (int fd = 0; rc == 0 && fd < FD_MAX; fd++)
            if (fd_host(t->fds, fd) >= 0)
                rc = dir_add_num(d, fd, what[2] == '\0' ? DT_LNK : DT_REG);
    } else if (rc == 0 && strcmp(what, "task") == 0) {
        const struct sched *s = t->sched;
        if (!s)
            rc = dir_add_num(d, t->pid, DT_DIR);
        for (size_t i = 0; rc == 0 && s && i < s->nprocs; i++)
            if (s->procs[i]->leader == t->leader && s->procs[i]->state != PROC_DEAD)
                rc = dir_add_num(d, s->procs[i]->pid, DT_DIR);
    }
    return rc;
}

/* Opens a listed directory: a host placeholder (/proc, O_PATH: fstat and fchdir see a
 * directory, getdents64 and lseek are served from the listing) and the listing, made at
 * the first read. */
int procfs_open_dir(struct proc *p, struct proc *t, const char *what, int flags,
                    struct fd_dir **dir)
{
    (void)p;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT))
        return -EISDIR;
    if (!dir)
        return -ENOENT; /* a caller that cannot hold a listing (the gdb stub) */
    struct fd_dir *d = dir_new();
    if (!d)
        return -ENOMEM;
    d->pid = t->pid;
    snprintf(d->what, sizeof(d->what), "%s", what);
    int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        fd_dir_put(d);
        return rc;
    }
    *dir = d;
    return fd;
}

/* The host's fdinfo text of the file behind t's guest descriptor, with the guest's
 * close-on-exec flag in `flags:` (the host's is always set). */
int procfs_render_fdinfo(struct pbuf *b, struct proc *t, int fd)
{
    int h = fd_host(t->fds, fd);
    if (h < 0)
        return -ENOENT;
    char path[48], text[4096];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", h);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    ssize_t n = read(in, text, sizeof(text) - 1);
    close(in);
    if (n < 0)
        return -errno;
    text[n] = '\0';
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        unsigned long fl;
        if (sscanf(line, "flags:\t%lo", &fl) == 1) {
            fl = t->fds->fds[fd].cloexec ? fl | O_CLOEXEC : fl & ~(unsigned long)O_CLOEXEC;
            pb_printf(b, "flags:\t0%lo\n", fl);
        } else {
            pb_put(b, line, len);
        }
        line += len;
    }
    return 0;
}
