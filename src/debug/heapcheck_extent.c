/* The compact arena's merged free memory. Released slots go back to the list of their
 * size class (heapcheck_alloc.c) and are reused by the next block of that class; a program
 * that frees many blocks of one size and then allocates blocks of other sizes would take
 * new memory while the old lies idle (Lua's collector freeing 300,000 tables, then
 * building strings). When new memory is needed and enough is idle, the shadow's runs of
 * released memory become extents (the class lists are emptied into them), and slots are
 * cut from the largest extent until the next merge. A run that ends at the bump pointer
 * gives its memory back to it. Merges are spaced by the area's growth since the last one,
 * so their cost (a scan of the shadow) stays a small share of the allocations'. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"

#define HC_EXT_MIN 64 /* bytes: shorter runs of released memory wait for the next merge */

/* Restores the max-heap by length below index i of h->ext. */
static void hc_ext_sift_down(struct heapcheck *h, size_t i)
{
    struct hc_extent *e = h->ext;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->nexts && e[l].len > e[m].len)
            m = l;
        if (r < h->nexts && e[r].len > e[m].len)
            m = r;
        if (m == i)
            return;
        struct hc_extent t = e[i];
        e[i] = e[m];
        e[m] = t;
        i = m;
    }
}

/* Appends the extent [start, start+len) to h->ext. Returns 0 or -ENOMEM. */
static int hc_ext_push(struct heapcheck *h, gva_t start, uint64_t len)
{
    if (h->nexts == h->capexts) {
        size_t cap = h->capexts ? h->capexts * 2 : 256;
        struct hc_extent *g = realloc(h->ext, cap * sizeof(*g));
        if (!g)
            return -ENOMEM;
        h->ext = g;
        h->capexts = cap;
    }
    h->ext[h->nexts++] = (struct hc_extent){.start = start, .len = len};
    return 0;
}

/* Rebuilds the extents from the shadow, which marks every released byte below h->next
 * HC_SH_FREE (the class lists' slots, the extents' remains): its runs of HC_EXT_MIN bytes
 * or more become the extents, a run that ends at h->next goes back to the bump pointer,
 * and the class lists are emptied (their memory is in the extents now; shorter runs are
 * found again by the next merge). */
static void hc_ext_merge(struct heapcheck *h)
{
    const uint8_t *sh = h->shadow;
    size_t n = (h->next - HC_BASE) / HC_GRANULE;
    h->nexts = 0;
    h->free_bytes = 0;
    for (unsigned c = 0; c < HC_NCLASSES; c++) {
        free(h->classes[c].slots);
        h->classes[c] = (struct hc_freelist){0};
    }
    for (size_t g = 0; g < n;) {
        const uint8_t *f = memchr(sh + g, HC_SH_FREE, n - g);
        if (!f)
            break;
        size_t a = (size_t)(f - sh), b = a;
        while (b < n && sh[b] == HC_SH_FREE)
            b++;
        g = b;
        gva_t start = HC_BASE + a * HC_GRANULE;
        uint64_t len = (b - a) * HC_GRANULE;
        if (b == n)
            h->next = start;
        else if (len >= HC_EXT_MIN && hc_ext_push(h, start, len) == 0)
            h->free_bytes += len;
    }
    for (size_t i = h->nexts / 2; i-- > 0;)
        hc_ext_sift_down(h, i);
    h->merge_mark = h->next;
}

/* A slot of size bytes from the merged free memory; see heapcheck_int.h. */
gva_t hc_ext_take(struct heapcheck *h, uint64_t size)
{
    if (h->nexts == 0 || h->ext[0].len < size) {
        /* Merge when at least an eighth of the area (and 1 MiB) lies released and the area
         * grew by an eighth since the last merge. */
        uint64_t area = h->next - HC_BASE, grown = h->next - h->merge_mark;
        if (h->free_bytes < (1ULL << 20) || h->free_bytes < area / 8 ||
            (h->merge_mark != 0 && grown < area / 8))
            return 0;
        hc_ext_merge(h);
        if (h->nexts == 0 || h->ext[0].len < size)
            return 0;
    }
    struct hc_extent *top = &h->ext[0];
    gva_t slot = top->start;
    top->start += size;
    top->len -= size;
    h->free_bytes -= size;
    if (top->len == 0)
        h->ext[0] = h->ext[--h->nexts];
    hc_ext_sift_down(h, 0);
    return slot;
}
