/* The shape of Linux's page cache for files the guest wrote: the large folios a buffered
 * write() makes on ext4 and xfs (see include/vmemu/folio.h). Kept per host file (dev, ino)
 * as a sorted array of folios (single pages too: a page cached already keeps a later write
 * from making a large folio over it); a file's records are dropped when the guest
 * truncates it or its host modification time shows that someone else changed it, which
 * makes faults fall back to single pages and fault-around windows, as for every file the
 * guest did not write. Used by the write syscalls (records) and by
 * src/mm/fault.c (lookups). */
#include "vmemu/folio.h"

#include <stdlib.h>
#include <sys/stat.h>

/* Files remembered at most; the least recently written is forgotten first. */
#define FOLIO_MAX_FILES 64
/* Folios remembered per file at most (2 GiB of 4 KiB... up to 1 TiB in 2 MiB folios). */
#define FOLIO_MAX_RECS  (1u << 19)

#define FOLIO_PAGE_SHIFT 12

static void file_free(struct folio_file *ff)
{
    free(ff->recs);
    free(ff);
}

/* The file's entry, moved to the front; created when create (NULL when absent or out of
 * memory). */
static struct folio_file *file_get(struct folio_map *fm, uint64_t dev, uint64_t ino, bool create)
{
    struct folio_file **pp = &fm->files, *prev_last = NULL;
    for (; *pp; pp = &(*pp)->next) {
        struct folio_file *ff = *pp;
        if (ff->dev == dev && ff->ino == ino) {
            *pp = ff->next;
            ff->next = fm->files;
            fm->files = ff;
            return ff;
        }
    }
    if (!create)
        return NULL;
    if (fm->nfiles == FOLIO_MAX_FILES) {
        /* forget the least recently written file (the last one) */
        struct folio_file **last = &fm->files;
        while ((*last)->next)
            last = &(*last)->next;
        prev_last = *last;
        *last = NULL;
        file_free(prev_last);
        fm->nfiles--;
    }
    struct folio_file *ff = calloc(1, sizeof(*ff));
    if (!ff)
        return NULL;
    ff->dev = dev;
    ff->ino = ino;
    ff->next = fm->files;
    fm->files = ff;
    fm->nfiles++;
    return ff;
}

static void file_drop(struct folio_map *fm, struct folio_file *ff)
{
    for (struct folio_file **pp = &fm->files; *pp; pp = &(*pp)->next)
        if (*pp == ff) {
            *pp = ff->next;
            file_free(ff);
            fm->nfiles--;
            return;
        }
}

/* Position of the first record whose last page is >= index. */
static uint64_t rec_search(const struct folio_file *ff, uint64_t index)
{
    uint64_t lo = 0, hi = ff->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const struct folio_rec *r = &ff->recs[mid];
        if (r->index + (1ULL << r->order) <= index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The record holding index, or NULL. */
static const struct folio_rec *rec_find(const struct folio_file *ff, uint64_t index)
{
    uint64_t i = rec_search(ff, index);
    if (i < ff->n && ff->recs[i].index <= index)
        return &ff->recs[i];
    return NULL;
}

/* Whether a recorded folio overlaps pages [index, index + n). */
static bool rec_overlaps(const struct folio_file *ff, uint64_t index, uint64_t n)
{
    uint64_t i = rec_search(ff, index);
    return i < ff->n && ff->recs[i].index < index + n;
}

/* Inserts a folio known not to overlap any record. */
static void rec_insert(struct folio_file *ff, uint64_t index, unsigned order)
{
    if (ff->n == ff->cap) {
        if (ff->cap >= FOLIO_MAX_RECS)
            return;
        uint64_t cap = ff->cap ? ff->cap * 2 : 16;
        struct folio_rec *r = realloc(ff->recs, cap * sizeof(*r));
        if (!r)
            return;
        ff->recs = r;
        ff->cap = cap;
    }
    uint64_t i = rec_search(ff, index);
    for (uint64_t j = ff->n; j > i; j--)
        ff->recs[j] = ff->recs[j - 1];
    ff->recs[i] = (struct folio_rec){index, order};
    ff->n++;
}

static unsigned ilog2_u64(uint64_t v)
{
    unsigned r = 0;
    while (v >>= 1)
        r++;
    return r;
}

/* Records the write's folios (see the header). */
void folio_note_write(struct folio_map *fm, uint64_t dev, uint64_t ino, int64_t mtime_ns,
                      bool large, uint64_t pos, uint64_t len)
{
    struct folio_file *ff = file_get(fm, dev, ino, false);
    if (!large || len == 0) {
        if (ff)
            ff->mtime_ns = mtime_ns; /* its folios stay as they were */
        return;
    }
    if (!ff && !(ff = file_get(fm, dev, ino, true)))
        return;
    ff->mtime_ns = mtime_ns;
    const uint64_t chunk = 1ULL << (FOLIO_PAGE_SHIFT + FOLIO_PMD_ORDER);
    while (len > 0) {
        uint64_t bytes = chunk - (pos & (chunk - 1));
        if (bytes > len)
            bytes = len;
        uint64_t index = pos >> FOLIO_PAGE_SHIFT;
        const struct folio_rec *have = rec_find(ff, index);
        uint64_t folio_end;
        if (have) {
            folio_end = (have->index + (1ULL << have->order)) << FOLIO_PAGE_SHIFT;
        } else {
            /* Linux's fgf_set_order(bytes), capped at a PMD, then lowered until the index
             * is aligned and no cached folio is in the way. */
            unsigned order = ilog2_u64(bytes);
            order = order > FOLIO_PAGE_SHIFT ? order - FOLIO_PAGE_SHIFT : 0;
            if (order > FOLIO_PMD_ORDER)
                order = FOLIO_PMD_ORDER;
            while (order > 0 &&
                   ((index & ((1ULL << order) - 1)) != 0 || rec_overlaps(ff, index, 1ULL << order)))
                order--;
            rec_insert(ff, index, order);
            folio_end = (index + (1ULL << order)) << FOLIO_PAGE_SHIFT;
        }
        uint64_t step = folio_end - pos < bytes ? folio_end - pos : bytes;
        pos += step;
        len -= step;
    }
}

/* The folio holding index (see the header). */
unsigned folio_lookup(struct folio_map *fm, int fd, uint64_t dev, uint64_t ino,
                      int64_t own_mtime_ns, uint64_t index, uint64_t *first)
{
    struct folio_file *ff;
    for (ff = fm->files; ff; ff = ff->next)
        if (ff->dev == dev && ff->ino == ino)
            break;
    if (!ff)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        file_drop(fm, ff);
        return 0;
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime != ff->mtime_ns) {
        if (own_mtime_ns == 0 || mtime != own_mtime_ns) {
            file_drop(fm, ff);
            return 0;
        }
        ff->mtime_ns = mtime; /* vmemu wrote pages back: the folios stay */
    }
    const struct folio_rec *r = rec_find(ff, index);
    if (!r || r->order == 0)
        return 0;
    *first = r->index;
    return r->order;
}

/* Forgets one file (see the header). */
void folio_forget(struct folio_map *fm, uint64_t dev, uint64_t ino)
{
    struct folio_file *ff = file_get(fm, dev, ino, false);
    if (ff)
        file_drop(fm, ff);
}

/* Forgets everything (see the header). */
void folio_map_destroy(struct folio_map *fm)
{
    while (fm->files) {
        struct folio_file *ff = fm->files;
        fm->files = ff->next;
        file_free(ff);
    }
    fm->nfiles = 0;
}
