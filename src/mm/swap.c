/* The swap area: slots of one page in a host file (an unlinked temporary file by default,
 * or --swap-file), handed out by a slot allocator (freed slots last-in first-out, then
 * never-used ones, so the file grows only as far as swap is really used), with a
 * reference count per slot: one for each swap entry in a PTE that points at it, one while
 * the swap cache holds a frame with its data. The swap cache maps a slot to the frame it
 * was read back into, so a page that several owners swapped out is read once, and a page
 * not written since it came back keeps its slot and is evicted again without I/O.
 * Called by reclaim (swap-out), the fault path (swap-in) and mm (zap of swap entries). */
#include "vmemu/swap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/phys.h"

#define SWAP_MIN_CAP 1024 /* first table size, in slots */

/* Opens the swap file: path (created or truncated) or an unlinked temporary file.
 * Returns a descriptor or -errno. */
static int swap_open_file(const char *path)
{
    if (path) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : fd;
    }
    const char *dir = getenv("TMPDIR");
    char name[4096];
    snprintf(name, sizeof(name), "%s/vmemu-swap.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(name); /* removed at exit whatever happens */
    return fd;
}

/* Opens an area of max_bytes (0: no swap) in path or a temporary file. Returns 0 or
 * -errno (the area is then "no swap"). */
int swap_init(struct swap_area *sw, uint64_t max_bytes, const char *path)
{
    memset(sw, 0, sizeof(*sw));
    sw->fd = -1;
    if (max_bytes < PAGE_SIZE)
        return 0;
    int fd = swap_open_file(path);
    if (fd < 0)
        return fd;
    if (path && !(sw->path = strdup(path))) {
        close(fd);
        return -ENOMEM;
    }
    sw->fd = fd;
    sw->max_slots = max_bytes >> PAGE_SHIFT;
    return 0;
}

/* Closes the file (an unlinked temporary file disappears with it) and frees the tables. */
void swap_destroy(struct swap_area *sw)
{
    for (uint64_t s = 0; s < sw->nslots; s++)
        VMEMU_BUG_ON(sw->cache[s] != 0);
    if (sw->fd >= 0)
        close(sw->fd);
    free(sw->path);
    free(sw->refs);
    free(sw->cache);
    free(sw->free_stack);
    memset(sw, 0, sizeof(*sw));
    sw->fd = -1;
}

/* Grows the per-slot tables to hold at least one more slot. Returns 0 or -ENOMEM. */
static int swap_grow(struct swap_area *sw)
{
    uint64_t cap = sw->cap ? sw->cap * 2 : SWAP_MIN_CAP;
    if (cap > sw->max_slots)
        cap = sw->max_slots;
    uint32_t *refs = realloc(sw->refs, cap * sizeof(*refs));
    if (!refs)
        return -ENOMEM;
    sw->refs = refs;
    pfn_t *cache = realloc(sw->cache, cap * sizeof(*cache));
    if (!cache)
        return -ENOMEM;
    sw->cache = cache;
    uint64_t *stack = realloc(sw->free_stack, cap * sizeof(*stack));
    if (!stack)
        return -ENOMEM;
    sw->free_stack = stack;
    memset(refs + sw->cap, 0, (cap - sw->cap) * sizeof(*refs));
    memset(cache + sw->cap, 0, (cap - sw->cap) * sizeof(*cache));
    sw->cap = cap;
    return 0;
}

/* Takes a free slot with one reference. Returns 0, -ENOSPC (full or no swap) or -ENOMEM. */
int swap_alloc(struct swap_area *sw, uint64_t *slot)
{
    uint64_t s;
    if (sw->nfree > 0) {
        s = sw->free_stack[--sw->nfree];
    } else {
        if (sw->nslots >= sw->max_slots)
            return -ENOSPC;
        if (sw->nslots >= sw->cap) {
            int rc = swap_grow(sw);
            if (rc < 0)
                return rc;
        }
        s = sw->nslots++;
    }
    VMEMU_BUG_ON(sw->refs[s] != 0);
    sw->refs[s] = 1;
    if (++sw->used > sw->peak_used)
        sw->peak_used = sw->used;
    *slot = s;
    return 0;
}

/* One more swap entry points at slot. */
void swap_dup(struct swap_area *sw, uint64_t slot)
{
    VMEMU_BUG_ON(slot >= sw->nslots || sw->refs[slot] == 0);
    sw->refs[slot]++;
}

/* Drops a reference; the last one frees the slot. */
void swap_free(struct swap_area *sw, uint64_t slot)
{
    VMEMU_BUG_ON(slot >= sw->nslots || sw->refs[slot] == 0);
    if (--sw->refs[slot] > 0)
        return;
    VMEMU_BUG_ON(sw->cache[slot] != 0);
    sw->free_stack[sw->nfree++] = slot;
    sw->used--;
}

/* References of slot (0 = free). */
uint32_t swap_count(const struct swap_area *sw, uint64_t slot)
{
    return slot < sw->nslots ? sw->refs[slot] : 0;
}

/* Reads or writes one page at slot's offset, whole or not at all. Returns 0 or -EIO. */
static int swap_io(struct swap_area *sw, uint64_t slot, uint8_t *page, bool write)
{
    size_t done = 0;
    while (done < PAGE_SIZE) {
        off_t off = (off_t)(slot * PAGE_SIZE + done);
        ssize_t n = write ? pwrite(sw->fd, page + done, PAGE_SIZE - done, off)
                          : pread(sw->fd, page + done, PAGE_SIZE - done, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

/* Writes one page to slot. Returns 0 or -EIO. */
int swap_write(struct swap_area *sw, uint64_t slot, const void *page)
{
    int rc = swap_io(sw, slot, (uint8_t *)page, true);
    if (rc == 0)
        sw->writes++;
    return rc;
}

/* Reads one page from slot. Returns 0 or -EIO. */
int swap_read(struct swap_area *sw, uint64_t slot, void *page)
{
    int rc = swap_io(sw, slot, page, false);
    if (rc == 0)
        sw->reads++;
    return rc;
}

/* The swap-cache frame of slot, or 0. */
pfn_t swap_cache_find(const struct swap_area *sw, uint64_t slot)
{
    return slot < sw->nslots ? sw->cache[slot] : 0;
}

/* Puts pfn in the swap cache as slot's copy (a slot and a frame reference). */
void swap_cache_add(struct swap_area *sw, struct phys *phys, uint64_t slot, pfn_t pfn)
{
    struct frame *fr = phys_frame(phys, pfn);
    VMEMU_BUG_ON(sw->cache[slot] != 0 || (fr->flags & (FRAME_SWAPCACHE | FRAME_PAGECACHE)));
    swap_dup(sw, slot);
    phys_get(phys, pfn);
    sw->cache[slot] = pfn;
    fr->flags |= FRAME_SWAPCACHE;
    fr->index = slot;
}

/* Takes pfn out of the swap cache, dropping the cache's slot and frame references. */
void swap_cache_del(struct swap_area *sw, struct phys *phys, pfn_t pfn)
{
    struct frame *fr = phys_frame(phys, pfn);
    VMEMU_BUG_ON(!(fr->flags & FRAME_SWAPCACHE));
    uint64_t slot = fr->index;
    sw->cache[slot] = 0;
    fr->flags &= ~FRAME_SWAPCACHE;
    fr->index = 0;
    swap_free(sw, slot);
    phys_put(phys, pfn);
}

/* Drops a mapping's reference; a frame left only in the swap cache, whose slot no swap
 * entry uses, leaves the cache (freeing frame and slot). */
void swap_put_page(struct swap_area *sw, struct phys *phys, pfn_t pfn)
{
    struct frame *fr = phys_frame(phys, pfn);
    phys_put(phys, pfn);
    if (fr->refcount == 1 && (fr->flags & FRAME_SWAPCACHE) && sw->refs[fr->index] == 1)
        swap_cache_del(sw, phys, pfn);
}

/* Drops a swap entry's reference to slot; a slot then held only by the swap cache, whose
 * frame nobody maps, leaves the cache (Linux's free_swap_and_cache). */
void swap_free_entry(struct swap_area *sw, struct phys *phys, uint64_t slot)
{
    swap_free(sw, slot);
    pfn_t pfn = sw->cache[slot];
    if (pfn && sw->refs[slot] == 1 && phys_frame(phys, pfn)->refcount == 1)
        swap_cache_del(sw, phys, pfn);
}
