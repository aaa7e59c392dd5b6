/* Virtual memory areas of one address space: a dynamic array of non-overlapping,
 * page-aligned [start, end) areas sorted by start, searched by binary search. It owns
 * insertion with merging of compatible neighbours, splitting, range removal and the
 * top-down free-range search. Each area in the list holds exactly one reference on its
 * backing vfile. Called by mm.c (mmap, munmap, mprotect, brk, stack growth), the fault
 * path, the loader and the reports. */
#include "vmemu/vma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/pagecache.h"

/* Slots allocated the first time an area is added. */
#define VMA_INITIAL_CAP 16

static bool page_aligned(uint64_t x)
{
    return (x & (PAGE_SIZE - 1)) == 0;
}

static uint64_t vma_pages(const struct vma *v)
{
    return (v->end - v->start) >> PAGE_SHIFT;
}

/* Index of the first area with va < end (l->n when there is none). */
static size_t vma_search(const struct vma_list *l, gva_t va)
{
    size_t lo = 0, hi = l->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (l->v[mid].end > va)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Makes room for at least `extra` more areas. Returns 0 or -ENOMEM (list unchanged). */
static int vma_reserve(struct vma_list *l, size_t extra)
{
    size_t cap = l->cap ? l->cap : VMA_INITIAL_CAP;
    struct vma *v;

    if (l->n + extra <= l->cap)
        return 0;
    while (cap < l->n + extra) {
        if (cap > SIZE_MAX / 2 / sizeof(*v))
            return -ENOMEM;
        cap *= 2;
    }
    v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    l->v = v;
    l->cap = cap;
    return 0;
}

/* Removes count areas starting at index i from the array, without touching references. */
static void vma_delete_slots(struct vma_list *l, size_t i, size_t count)
{
    memmove(&l->v[i], &l->v[i + count], (l->n - i - count) * sizeof(*l->v));
    l->n -= count;
}

/* Starts an empty list (no allocation until the first insertion). */
void vma_list_init(struct vma_list *l)
{
    *l = (struct vma_list){0};
}

/* Drops the file reference of every area, frees the array and leaves an empty list. */
void vma_list_destroy(struct vma_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].file != NULL)
            vfile_put(l->v[i].file);
    }
    free(l->v);
    *l = (struct vma_list){0};
}

/* First area with va < end (Linux's find_vma): the area containing va, or else the
 * lowest one above it. NULL when every area ends at or below va. */
struct vma *vma_find(const struct vma_list *l, gva_t va)
{
    size_t i = vma_search(l, va);

    return i < l->n ? &l->v[i] : NULL;
}

/* The area with start <= va < end, or NULL. */
struct vma *vma_lookup(const struct vma_list *l, gva_t va)
{
    struct vma *v = vma_find(l, va);

    return v != NULL && v->start <= va ? v : NULL;
}

/* The highest area with end <= va, or NULL (an area containing va does not count). */
struct vma *vma_prev(const struct vma_list *l, gva_t va)
{
    size_t i = vma_search(l, va);

    return i > 0 ? &l->v[i - 1] : NULL;
}

/* Whether a and b (a ending exactly where b starts) describe one area: same protection,
 * flags, kind, file and file_end, and for a file the page offsets continue. */
bool vma_can_merge(const struct vma *a, const struct vma *b)
{
    if (a->end != b->start || a->prot != b->prot || a->flags != b->flags || a->kind != b->kind ||
        a->file != b->file || a->file_end != b->file_end)
        return false;
    return a->file == NULL || a->pgoff + vma_pages(a) == b->pgoff;
}

/* Merges the area at index i with its previous and next neighbours where
 * vma_can_merge() allows, dropping the file reference of every area absorbed. The areas
 * keep the lower one's pgoff; the merged area has an anon_vma when either had one (Linux
 * merges an area without anon_vma into one with it, and gives both halves of a split the
 * same one, so a bool is enough). Pointers into the list are invalid afterwards. */
void vma_merge_around(struct vma_list *l, size_t i)
{
    if (i >= l->n)
        return;
    if (i + 1 < l->n && vma_can_merge(&l->v[i], &l->v[i + 1])) {
        l->v[i].end = l->v[i + 1].end;
        l->v[i].anon_vma |= l->v[i + 1].anon_vma;
        if (l->v[i + 1].file != NULL)
            vfile_put(l->v[i + 1].file);
        vma_delete_slots(l, i + 1, 1);
    }
    if (i > 0 && vma_can_merge(&l->v[i - 1], &l->v[i])) {
        l->v[i - 1].end = l->v[i].end;
        l->v[i - 1].anon_vma |= l->v[i].anon_vma;
        if (l->v[i].file != NULL)
            vfile_put(l->v[i].file);
        vma_delete_slots(l, i, 1);
    }
}

/* Whether any area intersects [start, end); an empty range intersects nothing. */
bool vma_overlaps(const struct vma_list *l, gva_t start, gva_t end)
{
    const struct vma *v;

    if (start >= end)
        return false;
    v = vma_find(l, start);
    return v != NULL && v->start < end;
}

/* Inserts a copy of *v, taking a new reference on v->file when it is not NULL, and
 * merges it with compatible neighbours. Returns 0; -EINVAL when start >= end, either
 * bound is not page-aligned or end > USER_VA_END; -EEXIST when [start, end) intersects
 * an area; -ENOMEM. On error the list and the file's references are unchanged.
 * Pointers into the list are invalid afterwards. */
int vma_insert(struct vma_list *l, const struct vma *v)
{
    size_t i;
    int err;

    if (v->start >= v->end || !page_aligned(v->start) || !page_aligned(v->end) ||
        v->end > USER_VA_END)
        return -EINVAL;
    if (vma_overlaps(l, v->start, v->end))
        return -EEXIST;
    err = vma_reserve(l, 1);
    if (err != 0)
        return err;
    i = vma_search(l, v->start);
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
    l->v[i] = *v;
    l->n++;
    if (v->file != NULL)
        vfile_get(v->file);
    vma_merge_around(l, i);
    return 0;
}

/* Makes the page-aligned address `at` an area boundary: an area with start < at < end
 * becomes [start, at) and [at, end), the upper part's pgoff advanced by the pages of the
 * lower part and holding its own file reference. Nothing happens when no area strictly
 * contains at. Returns 0 or -ENOMEM (list unchanged). Pointers into the list are invalid
 * afterwards. */
int vma_split(struct vma_list *l, gva_t at)
{
    size_t i = vma_search(l, at);
    struct vma *lo, *hi;
    int err;

    if (i == l->n || l->v[i].start >= at)
        return 0;
    VMEMU_BUG_ON(!page_aligned(at));
    err = vma_reserve(l, 1);
    if (err != 0)
        return err;
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
    l->n++;
    lo = &l->v[i];
    hi = &l->v[i + 1];
    lo->end = at;
    hi->start = at;
    hi->pgoff += vma_pages(lo);
    if (hi->file != NULL)
        vfile_get(hi->file);
    return 0;
}

/* Removes [start, end) from the areas: areas inside it go (dropping their file
 * references), areas crossing its bounds are split and keep their outside parts.
 * start and end must be page-aligned; an empty range removes nothing. Returns 0 or
 * -ENOMEM (list unchanged). Pointers into the list are invalid afterwards. */
int vma_remove_range(struct vma_list *l, gva_t start, gva_t end)
{
    size_t first, last;
    int err;

    if (start >= end)
        return 0;
    /* Reserve both split slots first so a failure cannot leave a half-done removal. */
    err = vma_reserve(l, 2);
    if (err != 0)
        return err;
    err = vma_split(l, start);
    if (err == 0)
        err = vma_split(l, end);
    VMEMU_BUG_ON(err != 0);
    first = vma_search(l, start);
    for (last = first; last < l->n && l->v[last].start < end; last++) {
        if (l->v[last].file != NULL)
            vfile_put(l->v[last].file);
    }
    vma_delete_slots(l, first, last - first);
    return 0;
}

/* Finds the highest page-aligned address a such that [a, a + len) lies in [low, high)
 * (high clamped to USER_VA_END) and intersects no area, as Linux's top-down mmap layout
 * does. len is rounded up to pages, low up and high down. Returns 0 and sets *out, or
 * -ENOMEM when no such range exists (also for len == 0, which has no range). */
int vma_find_free(const struct vma_list *l, uint64_t len, gva_t low, gva_t high, gva_t *out)
{
    gva_t top;

    if (len == 0 || len > USER_VA_END || low >= USER_VA_END)
        return -ENOMEM;
    len = PAGE_UP(len);
    low = PAGE_UP(low);
    top = PAGE_DOWN(high < USER_VA_END ? high : USER_VA_END);
    /* Walk the gaps downward: [end of area i, top) with top the lowest start seen. */
    for (size_t i = l->n; i-- > 0;) {
        const struct vma *v = &l->v[i];
        gva_t gap_lo;

        if (top <= low || top - low < len)
            return -ENOMEM;
        if (v->start >= top)
            continue;
        gap_lo = v->end > low ? v->end : low;
        if (gap_lo < top && top - gap_lo >= len) {
            *out = top - len;
            return 0;
        }
        top = v->start;
    }
    if (top <= low || top - low < len)
        return -ENOMEM;
    *out = top - len;
    return 0;
}

/* Writes the /proc/maps-style permissions of v ("rw-p", "r-xs", ...) into buf. */
void vma_perm_string(const struct vma *v, char buf[5])
{
    buf[0] = (v->prot & VM_READ) ? 'r' : '-';
    buf[1] = (v->prot & VM_WRITE) ? 'w' : '-';
    buf[2] = (v->prot & VM_EXEC) ? 'x' : '-';
    buf[3] = (v->flags & VM_SHARED) ? 's' : 'p';
    buf[4] = '\0';
}

/* The report name of an area kind: "anon", "file", "image", "bss", "heap", "stack",
 * "checker", or "?" for a value outside enum vma_kind. */
const char *vma_kind_name(enum vma_kind kind)
{
    switch (kind) {
    case VMA_ANON:
        return "anon";
    case VMA_FILE:
        return "file";
    case VMA_IMAGE:
        return "image";
    case VMA_BSS:
        return "bss";
    case VMA_HEAP:
        return "heap";
    case VMA_STACK:
        return "stack";
    case VMA_CHECKER:
        return "checker";
    }
    return "?";
}

/* Pages covered by the areas of l. */
uint64_t vma_list_pages(const struct vma_list *l)
{
    uint64_t pages = 0;
    for (size_t i = 0; i < l->n; i++)
        pages += (l->v[i].end - l->v[i].start) >> PAGE_SHIFT;
    return pages;
}
