/* The address-space side of mmap, madvise, mincore and mlockall: where a new mapping
 * goes, what each advice does to each area, which pages are resident, locking every area.
 * The syscalls only decode their arguments into these (src/mm/mmap.c, src/mm/madvise.c). */
#ifndef VMEMU_MMAP_H
#define VMEMU_MMAP_H

#include "vmemu/abi/linux.h"
#include "vmemu/mm_types.h"

/* How mm_mmap_place chooses the address of a new mapping. */
enum mmap_place {
    MMAP_ANYWHERE = 0, /* the hint if free, else top-down below mmap_base */
    MMAP_FIXED,        /* exactly addr, replacing what is there (MAP_FIXED) */
    MMAP_NOREPLACE,    /* exactly addr, -EEXIST when something is there */
    MMAP_32BIT,        /* anywhere in [1 GiB, 2 GiB) (MAP_32BIT) */
};

/* One mmap, decoded: everything the address space needs to know. */
struct mmap_req {
    gva_t addr;            /* hint, or the address for MMAP_FIXED / MMAP_NOREPLACE */
    uint64_t len;          /* bytes, page-aligned, not 0 */
    enum mmap_place place; /* see enum mmap_place */
    uint32_t prot;         /* VM_READ | VM_WRITE | VM_EXEC */
    uint32_t flags;        /* VM_SHARED, VM_GROWSDOWN, VM_NORESERVE, VM_LOCKED */
    enum vma_kind kind;    /* VMA_ANON or VMA_FILE */
    struct vfile *file;    /* the backing file (or shmem object), NULL for anonymous
                              memory; the caller keeps its reference */
    uint64_t off;          /* byte offset of the mapping in file (page-aligned) */
    bool populate;         /* MAP_POPULATE: fault the pages in now (best effort) */
    bool thp_file;         /* a file whose filesystem places mappings as Linux's
                              thp_get_unmapped_area does (ext4, xfs: large folios); off
                              must be set before mm_mmap_place */
};

/* Chooses the address of the mapping req describes, as Linux's get_unmapped_area and
 * MAP_FIXED(_NOREPLACE) rules do. Returns 0 and sets *out; -EINVAL (unaligned fixed
 * address), -EPERM (below mmap_min_addr), -ENOMEM (no room, or past user space), -EEXIST
 * (MMAP_NOREPLACE over a mapping). */
int mm_mmap_place(struct mm *mm, const struct mmap_req *req, gva_t *out);
/* Maps req at start (chosen by mm_mmap_place), replacing what is there, then faults the
 * pages in when req->populate or the area is locked (mlockall(MCL_FUTURE) included), as
 * a best effort: the mapping stands even when that fails. Returns 0 or -errno. */
int mm_mmap(struct mm *mm, const struct mmap_req *req, gva_t start);
/* mlockall's MCL_CURRENT part: every area becomes locked, and unless onfault its pages
 * are faulted in. Returns 0 or -ENOMEM. */
int mm_lock_all(struct mm *mm, bool onfault);
/* munlockall: no area and no future area is locked; areas merge again where they can. */
void mm_unlock_all(struct mm *mm);

/* Whether advice is one Linux knows. */
bool mm_advice_known(int advice);
/* Applies a known advice to [start, end) (page-aligned), area by area, as Linux does: a
 * hole gives -ENOMEM after the mapped parts were advised; otherwise 0 or the first
 * area's error (-EINVAL, -EACCES, -EFAULT, -ENOMEM, -errno of the hole punch). */
int mm_madvise(struct mm *mm, gva_t start, gva_t end, int advice);
/* mincore of n pages from start (page-aligned): vec[i] is 1 when page i is resident
 * (mapped by a present PTE, or, for a file area, in the page cache), else 0. Returns 0,
 * or -ENOMEM when a page is in no area. Walks only what n names. */
int mm_mincore(const struct mm *mm, gva_t start, size_t n, uint8_t *vec);

#endif
