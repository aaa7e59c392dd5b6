/* Large page-cache folios of the files the guest wrote: which ranges of a file Linux (ext4
 * and xfs, whose page cache holds folios of up to 2 MiB) would hold in one folio after the
 * guest's write() calls, so that a read fault maps a large folio whole, as Linux's
 * filemap_map_pages does, and a 2 MiB one with one PMD (src/mm/fault.c). vmemu's own page
 * cache keeps 4 KiB pages; this is only the shape Linux's would have. */
#ifndef VMEMU_FOLIO_H
#define VMEMU_FOLIO_H

#include <stdbool.h>
#include <stdint.h>

/* Order of a 2 MiB folio (one PMD): 512 pages. */
#define FOLIO_PMD_ORDER 9

/* One folio: pages [index, index + 2^order) of its file. */
struct folio_rec {
    uint64_t index; /* first page, a multiple of 2^order */
    unsigned order; /* 0..FOLIO_PMD_ORDER */
};

/* The large folios of one file, sorted by index, disjoint. */
struct folio_file {
    uint64_t dev, ino;       /* host identity of the file */
    int64_t mtime_ns;        /* host modification time after the guest's last write: a
                                file changed since (by anyone else, or truncated) has
                                lost what is known of its folios */
    struct folio_rec *recs;  /* the folios */
    uint64_t n, cap;         /* used and allocated entries of recs */
    struct folio_file *next; /* list of files */
};

/* Every file the guest wrote with large folios (at most FOLIO_MAX_FILES, the oldest
 * forgotten first). */
struct folio_map {
    struct folio_file *files; /* most recently written first */
    unsigned nfiles;          /* files in the list */
};

/* After the guest wrote len bytes at byte pos of the host file (dev, ino), on a filesystem
 * with large folios (large; else only the modification time is kept up to date), whose modification
 * time is now mtime_ns: records the folios Linux's buffered write would have made
 * (generic_perform_write: steps that stop at 2 MiB boundaries, each asking for a folio of the
 * step's size, smaller where the index is not aligned or a recorded folio is in the way), and keeps
 * the file's records valid. */
void folio_note_write(struct folio_map *fm, uint64_t dev, uint64_t ino, int64_t mtime_ns,
                      bool large, uint64_t pos, uint64_t len);
/* The large folio holding page index of the file open as host descriptor fd (dev, ino):
 * returns its order and sets *first, or returns 0 (a page on its own, or not known). A file
 * whose modification time is neither the recorded one nor own_mtime_ns (vmemu's own last
 * write-back to it, 0 for none) was changed by someone else and loses its records. */
unsigned folio_lookup(struct folio_map *fm, int fd, uint64_t dev, uint64_t ino,
                      int64_t own_mtime_ns, uint64_t index, uint64_t *first);
/* Forgets what is known of the host file (dev, ino): it was truncated. */
void folio_forget(struct folio_map *fm, uint64_t dev, uint64_t ino);
/* Forgets everything. */
void folio_map_destroy(struct folio_map *fm);

#endif
