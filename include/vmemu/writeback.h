/* Coherence of file data between shared mappings, the page cache and the host files:
 * dirty bits of PTEs become dirty page-cache frames, dirty frames are written to their
 * files (msync, munmap, last use), and the read/write syscalls see and update the cached
 * pages so that file I/O and mappings agree, as they do on Linux. */
#ifndef VMEMU_WRITEBACK_H
#define VMEMU_WRITEBACK_H

#include "vmemu/mm_types.h"

/* Whether a cached frame holds data its file does not: FRAME_DIRTY, or a PTE mapping it
 * has its dirty bit set. */
bool wb_frame_dirty(const struct vmsys *sys, pfn_t pfn);
/* Moves the dirty bits of every PTE mapping a cached frame into FRAME_DIRTY (the PTEs are
 * cleaned, so the next store sets D again: Linux's page_mkclean), then writes the frame
 * to its file when dirty. Returns 0 or -EIO. */
int wb_write_frame(struct vmsys *sys, pfn_t pfn);
/* Writes every dirty page of f back (fsync, sendfile, close of the last user). Returns 0
 * or -EIO. */
int wb_file_sync(struct vmsys *sys, struct vfile *f);
/* After a host read of n bytes at file offset pos into buf: replaces the bytes of dirty
 * cached pages, which are newer than the file. */
void wb_read_overlay(const struct vmsys *sys, struct vfile *f, uint64_t pos, void *buf, size_t n);
/* After a host write of n bytes at file offset pos from buf: updates the cached pages of
 * that range, so every mapping of them (shared, and private ones not yet written) sees
 * the new data. */
void wb_file_written(struct vmsys *sys, struct vfile *f, uint64_t pos, const void *buf, size_t n);
/* After the file was truncated to size bytes: pages wholly past the end are unmapped from
 * every address space and dropped (a later access gets SIGBUS), the tail of the last page
 * is zeroed. */
void wb_file_truncated(struct vmsys *sys, struct vfile *f, uint64_t size);
/* Discards pages [first, last] of f (MADV_REMOVE, fallocate punch-hole): unmapped from
 * every address space and dropped from the cache without writeback. */
void wb_discard_pages(struct vmsys *sys, struct vfile *f, uint64_t first, uint64_t last);

/* Writes the dirty shared file pages of [start, end) back to their files and write-
 * protects them so the next store marks them dirty again (msync). Returns 0 or -EIO. */
int mm_sync_range(struct mm *mm, gva_t start, gva_t end);

#endif
