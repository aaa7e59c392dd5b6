/* Virtual memory areas: a sorted array of non-overlapping [start, end) areas of one
 * address space, with find, insert-with-merge, split, removal and free-range search. */
#ifndef VMEMU_VMA_H
#define VMEMU_VMA_H

#include "vmemu/types.h"

struct vfile;

/* Protection bits (vma.prot). */
#define VM_READ  0x1u
#define VM_WRITE 0x2u
#define VM_EXEC  0x4u

/* Flags (vma.flags). */
#define VM_SHARED      0x01u  /* MAP_SHARED: stores reach the file / other mappers */
#define VM_GROWSDOWN   0x02u  /* the stack: grows down on faults below it */
#define VM_LOCKED      0x04u  /* mlock'ed: never evicted */
#define VM_NORESERVE   0x08u  /* MAP_NORESERVE */
#define VM_LOCKONFAULT 0x10u  /* locked, but pages come in on fault (MLOCK_ONFAULT) */
#define VM_DONTCOPY    0x20u  /* MADV_DONTFORK: not copied into a fork child */
#define VM_WIPEONFORK  0x40u  /* MADV_WIPEONFORK: the child gets it empty (zero-filled) */
#define VM_HUGEPAGE    0x80u  /* MADV_HUGEPAGE: transparent huge pages wanted */
#define VM_NOHUGEPAGE  0x100u /* MADV_NOHUGEPAGE: never transparent huge pages */
#define VM_HUGETLB     0x200u /* MAP_HUGETLB: 2 MiB pages of the hugetlb pool */
#define VM_HUGETLB_RESV                                                                            \
    0x400u /* a MAP_HUGETLB area that reserved a pool page for each of its 2 MiB pages not         \
              mapped yet (not MAP_NORESERVE, not a fork child's copy) */

/* What an area is, for reports and /proc maps names. */
enum vma_kind {
    VMA_ANON = 0, /* anonymous mapping */
    VMA_FILE,     /* file mapping (mmap of a file) */
    VMA_IMAGE,    /* a PT_LOAD segment of the program (file-backed) */
    VMA_BSS,      /* the program's zero-filled data after its file-backed part */
    VMA_HEAP,     /* the brk area */
    VMA_STACK,    /* the main stack */
    VMA_CHECKER,  /* the heap checker's area (--check heap): vmemu's, not the program's */
};

struct vma {
    gva_t start;        /* first byte, page-aligned */
    gva_t end;          /* one past the last byte, page-aligned */
    uint32_t prot;      /* VM_READ | VM_WRITE | VM_EXEC */
    uint32_t flags;     /* VM_SHARED | VM_GROWSDOWN | ... */
    enum vma_kind kind; /* see enum vma_kind */
    struct vfile *file; /* backing file (a reference is held), NULL if anonymous */
    uint64_t pgoff;     /* file offset of start, in pages */
    uint64_t file_end;  /* file offset where the mapped data stops: bytes at or past it
                           read as zero (an ELF segment's p_offset + p_filesz);
                           UINT64_MAX for an ordinary file mapping */
    bool anon_vma;      /* holds (or held) anonymous pages: Linux's vma->anon_vma, set by
                           the first anonymous fault or copy-on-write in the area
                           (vma_set_anon), inherited by fork and kept by split and merge;
                           fork copies the page-table entries of such areas only */
};

struct vma_list {
    struct vma *v; /* areas sorted by start */
    size_t n;      /* areas in use */
    size_t cap;    /* allocated slots */
};

void vma_list_init(struct vma_list *l);
/* Frees the array and drops every file reference. */
void vma_list_destroy(struct vma_list *l);
/* First area with va < end (Linux's find_vma), or NULL. The pointer is valid until the
 * list changes. */
struct vma *vma_find(const struct vma_list *l, gva_t va);
/* The area that contains va, or NULL. */
struct vma *vma_lookup(const struct vma_list *l, gva_t va);
/* The area that ends at or before va and is closest to it, or NULL. */
struct vma *vma_prev(const struct vma_list *l, gva_t va);
/* Inserts a copy of *v (takes a new file reference), merging it with compatible
 * neighbours. [start, end) must be free. Returns 0, -EEXIST on overlap, -EINVAL, -ENOMEM. */
int vma_insert(struct vma_list *l, const struct vma *v);
/* Makes `at` a boundary: splits the area that strictly contains it. Returns 0 or -ENOMEM. */
int vma_split(struct vma_list *l, gva_t at);
/* Removes every area (or part of one) inside [start, end). Returns 0 or -ENOMEM. */
int vma_remove_range(struct vma_list *l, gva_t start, gva_t end);
/* Merges the area at index i with its neighbours where compatible; the merged area has
 * an anon_vma when either part had one. */
void vma_merge_around(struct vma_list *l, size_t i);
/* Whether two adjacent areas (a ends where b starts) could be one. */
bool vma_can_merge(const struct vma *a, const struct vma *b);
/* Highest free range of len bytes that lies entirely in [low, high), searching top-down.
 * Returns 0 and sets *out, or -ENOMEM. */
int vma_find_free(const struct vma_list *l, uint64_t len, gva_t low, gva_t high, gva_t *out);
/* Whether any area intersects [start, end). */
bool vma_overlaps(const struct vma_list *l, gva_t start, gva_t end);
/* Index of an area pointer inside the list. */
static inline size_t vma_index(const struct vma_list *l, const struct vma *v)
{
    return (size_t)(v - l->v);
}
/* Page index in its file of the page at va inside file area v. */
static inline uint64_t vma_pgoff(const struct vma *v, gva_t va)
{
    return v->pgoff + ((va - v->start) >> PAGE_SHIFT);
}
/* The area after v in the list, or NULL. */
static inline struct vma *vma_next(const struct vma_list *l, const struct vma *v)
{
    size_t i = vma_index(l, v) + 1;
    return i < l->n ? &l->v[i] : NULL;
}
/* "r-xp"-style permission string for reports (buf of at least 5 bytes). */
void vma_perm_string(const struct vma *v, char buf[5]);
/* Name of an area's kind as reports show it. */
const char *vma_kind_name(enum vma_kind kind);

/* Virtual size of the areas of l, in pages. */
uint64_t vma_list_pages(const struct vma_list *l);

#endif
