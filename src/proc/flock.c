/* The file lock table vmemu keeps for its guests (see include/vmemu/flock.h): every lock
 * held by a guest, flock(2), POSIX and OFD record locks, in one array, and the count of
 * write opens of each FIFO. Runs have few locks, so a lookup is a walk of the array. The
 * rules are Linux's (fs/locks.c): a lock conflicts with another owner's lock of the same
 * space (flock, or record) on an overlapping range when either is exclusive; a record
 * lock replaces the owner's own locks on its range, splitting them, and merges with the
 * owner's adjacent locks of the same type. Called by src/proc/fd.c (closes) and the lock
 * and open syscalls. */
#include "vmemu/flock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct flock_req *locks; /* every lock held */
static size_t nlocks, caplocks;

/* FIFOs opened for writing by a guest, and how many times. */
struct fifo_count {
    uint64_t dev, ino;
    uint64_t writes;  /* write opens so far */
    uint64_t writers; /* open file descriptions open for writing now */
};
static struct fifo_count *fifos;
static size_t nfifos, capfifos;

static bool record_kind(enum flock_kind k)
{
    return k != FLOCK_BSD;
}

static bool same_file(const struct flock_req *a, const struct flock_req *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

/* Whether lock l (held) stands in req's way. */
static bool conflicts(const struct flock_req *l, const struct flock_req *req)
{
    if (!same_file(l, req) || l->owner == req->owner)
        return false;
    if (record_kind(l->kind) != record_kind(req->kind))
        return false;
    if (l->type != FLOCK_WR && req->type != FLOCK_WR)
        return false;
    return l->start <= req->end && req->start <= l->end;
}

/* Whether held lock l is req's owner's own, in req's space, on req's file. */
static bool owned(const struct flock_req *l, const struct flock_req *req)
{
    return l->owner == req->owner && same_file(l, req) && l->kind == req->kind;
}

/* Whether a lock of another owner conflicts with req (see the header). */
bool flock_test(const struct flock_req *req, struct flock_req *conflict)
{
    if (req->type == FLOCK_UN)
        return false;
    for (size_t i = 0; i < nlocks; i++) {
        if (conflicts(&locks[i], req)) {
            if (conflict)
                *conflict = locks[i];
            return true;
        }
    }
    return false;
}

/* Room for n more locks. Returns 0 or -ENOMEM. */
static int reserve(size_t n)
{
    if (nlocks + n <= caplocks)
        return 0;
    size_t cap = caplocks ? caplocks : 16;
    while (cap < nlocks + n)
        cap *= 2;
    struct flock_req *v = realloc(locks, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    locks = v;
    caplocks = cap;
    return 0;
}

static void remove_at(size_t i)
{
    locks[i] = locks[--nlocks];
}

/* Takes [start, end] out of req's owner's locks (splitting one that spans it); reserve(1)
 * must have been called. */
static void carve(const struct flock_req *req)
{
    /* A split's right part starts past the range: looking at it again does nothing. */
    for (size_t i = 0; i < nlocks;) {
        struct flock_req *l = &locks[i];
        if (!owned(l, req) || l->end < req->start || l->start > req->end) {
            i++;
            continue;
        }
        bool left = l->start<req->start, right = l->end> req->end;
        if (left && right) {
            struct flock_req tail = *l;
            tail.start = req->end + 1;
            l->end = req->start - 1;
            locks[nlocks++] = tail;
            i++;
        } else if (left) {
            l->end = req->start - 1;
            i++;
        } else if (right) {
            l->start = req->end + 1;
            i++;
        } else {
            remove_at(i); /* the last lock moved to i: look at it too */
        }
    }
}

/* Adds req (reserve(1) done), merged with the owner's adjacent locks of its type. */
static void insert_merged(struct flock_req req)
{
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < nlocks; i++) {
            const struct flock_req *l = &locks[i];
            if (!owned(l, &req) || l->type != req.type)
                continue;
            bool touch = (l->end != FLOCK_EOF && l->end + 1 >= req.start && l->start <= req.end) ||
                         (req.end != FLOCK_EOF && req.end + 1 >= l->start && req.start <= l->end) ||
                         (l->start <= req.end && req.start <= l->end);
            if (!touch)
                continue;
            if (l->start < req.start)
                req.start = l->start;
            if (l->end > req.end)
                req.end = l->end;
            remove_at(i);
            again = true;
            break;
        }
    }
    locks[nlocks++] = req;
}

/* Applies req (see the header). */
int flock_set(const struct flock_req *req, struct flock_req *conflict)
{
    if (req->kind == FLOCK_BSD) {
        for (size_t i = 0; i < nlocks; i++) {
            if (owned(&locks[i], req)) {
                if (locks[i].type == req->type)
                    return 0;
                remove_at(i); /* a conversion drops the old lock first (Linux) */
                break;
            }
        }
        if (req->type == FLOCK_UN)
            return 0;
        if (flock_test(req, conflict))
            return -EAGAIN;
        if (reserve(1) < 0)
            return -ENOMEM;
        struct flock_req l = *req;
        l.start = 0;
        l.end = FLOCK_EOF;
        locks[nlocks++] = l;
        return 0;
    }
    if (flock_test(req, conflict))
        return -EAGAIN;
    if (reserve(2) < 0)
        return -ENOMEM;
    carve(req);
    if (req->type != FLOCK_UN)
        insert_merged(*req);
    return 0;
}

/* Removes owner's locks of a kind on a file (see the header). */
void flock_release_file(uint64_t dev, uint64_t ino, const void *owner, enum flock_kind kind)
{
    for (size_t i = 0; i < nlocks;) {
        const struct flock_req *l = &locks[i];
        if (l->owner == owner && l->dev == dev && l->ino == ino && l->kind == kind)
            remove_at(i);
        else
            i++;
    }
}

/* Removes every lock of owner (see the header). */
void flock_release_owner(const void *owner)
{
    for (size_t i = 0; i < nlocks;) {
        if (locks[i].owner == owner)
            remove_at(i);
        else
            i++;
    }
}

/* Whether owner holds a lock. */
bool flock_owner_has(const void *owner)
{
    for (size_t i = 0; i < nlocks; i++)
        if (locks[i].owner == owner)
            return true;
    return false;
}

static int list_order(const void *a, const void *b)
{
    const struct flock_req *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* The locks on a file, sorted (see the header). */
size_t flock_list(uint64_t dev, uint64_t ino, struct flock_req *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nlocks; i++) {
        if (locks[i].dev != dev || locks[i].ino != ino)
            continue;
        if (n < max)
            out[n] = locks[i];
        n++;
    }
    qsort(out, n < max ? n : max, sizeof(*out), list_order);
    return n;
}

static struct fifo_count *fifo_find(uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < nfifos; i++)
        if (fifos[i].dev == dev && fifos[i].ino == ino)
            return &fifos[i];
    return NULL;
}

/* A write open of a FIFO (see the header). Without memory the count stays (a reader then
 * waits for data or the end of the writers instead). */
void flock_fifo_opened_write(uint64_t dev, uint64_t ino)
{
    struct fifo_count *f = fifo_find(dev, ino);
    if (!f) {
        if (nfifos == capfifos) {
            size_t cap = capfifos ? 2 * capfifos : 8;
            struct fifo_count *v = realloc(fifos, cap * sizeof(*v));
            if (!v)
                return;
            fifos = v;
            capfifos = cap;
        }
        f = &fifos[nfifos++];
        *f = (struct fifo_count){.dev = dev, .ino = ino};
    }
    f->writes++;
    f->writers++;
}

/* A writer's open file description closed. */
void flock_fifo_closed_write(uint64_t dev, uint64_t ino)
{
    struct fifo_count *f = fifo_find(dev, ino);
    if (f && f->writers > 0)
        f->writers--;
}

/* Writers a FIFO has now. */
uint64_t flock_fifo_writers(uint64_t dev, uint64_t ino)
{
    const struct fifo_count *f = fifo_find(dev, ino);
    return f ? f->writers : 0;
}

/* Write opens of a FIFO so far. */
uint64_t flock_fifo_writes(uint64_t dev, uint64_t ino)
{
    const struct fifo_count *f = fifo_find(dev, ino);
    return f ? f->writes : 0;
}

/* Forgets everything (tests). */
void flock_reset(void)
{
    free(locks);
    locks = NULL;
    nlocks = caplocks = 0;
    free(fifos);
    fifos = NULL;
    nfifos = capfifos = 0;
}
