/* A process's descriptor table: guest descriptor numbers mapped to host descriptors, so
 * vmemu's own files never show through and fork can share the table later. */
#ifndef VMEMU_FD_H
#define VMEMU_FD_H

#include "vmemu/types.h"

#define FD_MAX 1024 /* RLIMIT_NOFILE */

struct vfile;

/* A directory vmemu lists itself (/proc/PID/fd, fdinfo, task): linux_dirent64 records
 * made at open, read by getdents64 from pos. Shared by the dups of the descriptor, as an
 * open file description's offset is. */
struct fd_dir {
    unsigned refs;      /* descriptors holding it */
    size_t len;         /* bytes of records */
    size_t pos;         /* offset of the next record to give */
    unsigned char *buf; /* the records */
    bool filled;        /* buf holds the listing (made at the first read, and again when
                           the position goes back to 0, as Linux lists at getdents) */
    int pid;            /* the task whose directory it is */
    char what[8];       /* which: "" (/proc), "fd", "fdinfo" or "task" */
};

/* An open file description's identity, for the locks it owns (flock, OFD: the table of
 * include/vmemu/flock.h): made at each open, shared by dups and fork's copies as Linux's
 * struct file is; its locks go when the last descriptor holding it closes. */
struct fd_ofd {
    unsigned refs;         /* descriptors holding it */
    bool fifo_writer;      /* a FIFO opened for writing: flock_fifo_closed_write at the end */
    uint64_t dev, ino;     /* that FIFO */
    struct vfile *hugetlb; /* an MFD_HUGETLB memfd's object of pool pages (one reference:
                              mmap maps it, ftruncate sizes it), else NULL */
};

struct fd_entry {
    int hostfd;         /* host descriptor; -1 = slot free */
    bool cloexec;       /* O_CLOEXEC / FD_CLOEXEC */
    char *path;         /* path the guest opened it with, or NULL; for a listed directory
                           the guest's canonical /proc path */
    struct fd_dir *dir; /* the listing of a directory vmemu lists itself, or NULL */
    struct fd_ofd *ofd; /* its open file description (NULL only without memory) */
};

struct fdtable {
    struct fd_entry fds[FD_MAX]; /* indexed by guest descriptor */
};

/* A table whose 0, 1, 2 are dups of the host's 0, 1, 2 (those that are open). Returns 0 or
 * -errno. */
int fd_table_init(struct fdtable *t);
/* Closes every host descriptor. */
void fd_table_destroy(struct fdtable *t);
/* Installs hostfd at the lowest free guest number >= minfd. Returns it or -EMFILE (the
 * caller keeps hostfd then). */
int fd_install(struct fdtable *t, int hostfd, bool cloexec, const char *path, int minfd);
/* The host descriptor of guest fd, or -EBADF. */
int fd_host(const struct fdtable *t, int fd);
/* Closes guest fd. Returns 0 or -EBADF. */
int fd_close(struct fdtable *t, int fd);
/* dup2/dup3: makes newfd refer to oldfd's file. Returns newfd or -errno. */
int fd_dup_to(struct fdtable *t, int oldfd, int newfd, bool cloexec);
/* fork: *out gets a new table whose descriptors refer to the same open files (host dups,
 * sharing offsets and status flags as Linux's do). Returns 0 or -errno. */
int fd_table_dup(const struct fdtable *src, struct fdtable **out);
/* execve: closes the close-on-exec descriptors. */
void fd_close_on_exec(struct fdtable *t);
/* Gives guest fd the listing dir (the entry takes the caller's reference). Returns 0 or
 * -EBADF (the caller keeps its reference). */
int fd_set_dir(struct fdtable *t, int fd, struct fd_dir *dir);
/* The listing of guest fd, or NULL when it is not a directory vmemu lists. */
struct fd_dir *fd_dir_of(const struct fdtable *t, int fd);
/* The path guest fd was opened with (see struct fd_entry), or NULL. */
const char *fd_path(const struct fdtable *t, int fd);
/* dir with one more reference, for a dup (NULL: NULL). */
struct fd_dir *fd_dir_get(struct fd_dir *dir);
/* Drops a reference to dir (NULL: nothing). */
void fd_dir_put(struct fd_dir *dir);
/* Makes guest fd share oldfd's open file description (F_DUPFD after fd_install). */
void fd_share_ofd(struct fdtable *t, int fd, int oldfd);
/* The open file description of guest fd, or NULL. */
struct fd_ofd *fd_ofd_of(const struct fdtable *t, int fd);

#endif
