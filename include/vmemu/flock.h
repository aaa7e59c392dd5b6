/* File locks kept by vmemu (src/proc/flock.c): every guest process runs inside one host
 * process, so the host's locks cannot keep one guest process out of another's lock. This
 * table is the truth between guest processes: flock(2) locks, POSIX record locks and
 * open-file-description (OFD) record locks, on files named by the host's (st_dev,
 * st_ino). It also counts the guest's opens of each FIFO for writing (a FIFO opened for
 * reading waits for one). Pure bookkeeping: owners are opaque pointers, nothing sleeps
 * here (the syscalls put a waiter to sleep in the scheduler). */
#ifndef VMEMU_FLOCK_H
#define VMEMU_FLOCK_H

#include "vmemu/types.h"

/* Whose lock it is and which locks it meets: flock(2) locks meet only flock locks; POSIX
 * and OFD record locks meet each other. */
enum flock_kind {
    FLOCK_BSD,   /* flock(2): the whole file, owned by an open file description */
    FLOCK_POSIX, /* fcntl F_SETLK: a byte range, owned by a process (its fd table) */
    FLOCK_OFD,   /* fcntl F_OFD_SETLK: a byte range, owned by an open file description */
};

enum flock_type {
    FLOCK_UN, /* unlock (a request only; no lock held has it) */
    FLOCK_RD, /* shared (F_RDLCK, LOCK_SH) */
    FLOCK_WR, /* exclusive (F_WRLCK, LOCK_EX) */
};

/* A range's last byte when it reaches whatever the end of the file is (l_len 0). */
#define FLOCK_EOF INT64_MAX

/* A lock held, or one asked for. */
struct flock_req {
    uint64_t dev, ino;    /* the file (host st_dev, st_ino) */
    enum flock_kind kind; /* see enum flock_kind */
    enum flock_type type; /* see enum flock_type */
    const void *owner;    /* the process's fd table (POSIX) or open file description */
    int pid;              /* POSIX: the owner's guest pid (F_GETLK's l_pid); else 0 */
    int64_t start, end;   /* first and last byte (0 and FLOCK_EOF for flock) */
};

/* Whether a lock of another owner conflicts with req (type RD or WR). Returns true and
 * copies the first such lock to *conflict (may be NULL), false when req could be granted
 * now. */
bool flock_test(const struct flock_req *req, struct flock_req *conflict);
/* Applies req: FLOCK_UN removes the owner's locks in the range (splitting them); RD/WR
 * replaces them there, merging with the owner's adjacent or overlapping locks of the same
 * type (flock: converts the owner's lock, dropping it first as Linux does). Returns 0,
 * -EAGAIN with *conflict (may be NULL) set when another owner's lock is in the way
 * (nothing changed, but a flock conversion's old lock is gone), or -ENOMEM. */
int flock_set(const struct flock_req *req, struct flock_req *conflict);
/* Removes every lock of owner on the file (dev, ino) of the given kind. */
void flock_release_file(uint64_t dev, uint64_t ino, const void *owner, enum flock_kind kind);
/* Removes every lock owner holds, of any kind on any file (the last descriptor of an open
 * file description closed). */
void flock_release_owner(const void *owner);
/* Whether owner holds a lock. */
bool flock_owner_has(const void *owner);
/* Copies up to max of the locks on (dev, ino) to out, by kind then start. Returns how many
 * there are. */
size_t flock_list(uint64_t dev, uint64_t ino, struct flock_req *out, size_t max);
/* A guest opened the FIFO (dev, ino) for writing: its counts go up. */
void flock_fifo_opened_write(uint64_t dev, uint64_t ino);
/* An open file description of the FIFO opened for writing was closed for good. */
void flock_fifo_closed_write(uint64_t dev, uint64_t ino);
/* How many open file descriptions of guests have the FIFO (dev, ino) open for writing. */
uint64_t flock_fifo_writers(uint64_t dev, uint64_t ino);
/* How many times guests opened the FIFO (dev, ino) for writing (0: never). */
uint64_t flock_fifo_writes(uint64_t dev, uint64_t ino);
/* Forgets every lock and FIFO count (tests). */
void flock_reset(void);

#endif
