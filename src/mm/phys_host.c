/* Host memory behind the frame pool: the pool's 2 MiB-aligned host mapping, the host's
 * transparent-huge-page mode (MADV_HUGEPAGE on the pool where the host gives huge pages
 * without direct compaction),
 * populating a 2 MiB block in one call when its first frame is handed out
 * (MADV_POPULATE_WRITE where the kernel has it: one host fault per block instead of one per
 * frame), and giving wholly free blocks back to the host (MADV_DONTNEED) once more than
 * PHYS_IDLE_KEEP of them sit idle, so a large process that exits leaves no resident
 * memory behind while a fork loop keeps reusing the same resident blocks. Memory never
 * handed out is never touched. Used by phys.c only. */
#include "vmemu/phys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define HPAGE_BYTES ((uint64_t)HPAGE_FRAMES * PAGE_SIZE)

/* Reads the sysfs file /sys/kernel/mm/transparent_hugepage/<name> into buf (NUL-ended).
 * Returns false when it cannot. */
static bool phys_host_read_thp(const char *name, char *buf, size_t len)
{
    char path[96];
    snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* The host's THP mode, and in *stalls whether a MADV_HUGEPAGE fault may compact memory
 * directly (defrag "always", "madvise" or "defer+madvise": the faulting thread waits). */
static enum phys_host_thp phys_host_thp_probe(bool *stalls)
{
    char buf[128];
    *stalls = true;
    if (phys_host_read_thp("defrag", buf, sizeof(buf)))
        *stalls = !strstr(buf, "[defer]") && !strstr(buf, "[never]");
    if (!phys_host_read_thp("enabled", buf, sizeof(buf)))
        return PHYS_HOST_THP_ABSENT;
    if (strstr(buf, "[always]"))
        return PHYS_HOST_THP_ALWAYS;
    if (strstr(buf, "[madvise]"))
        return PHYS_HOST_THP_MADVISE;
    return PHYS_HOST_THP_NEVER;
}

/* Maps `bytes` of anonymous, unreserved memory starting on a 2 MiB boundary (so that each
 * order-9 block of frames can be one host huge page). Returns the address or NULL. */
void *phys_host_map(struct phys *p, uint64_t bytes)
{
    uint64_t span = bytes + HPAGE_BYTES;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uint8_t *mem = (uint8_t *)(((uintptr_t)raw + HPAGE_BYTES - 1) & ~(uintptr_t)(HPAGE_BYTES - 1));
    if (mem > raw)
        munmap(raw, (size_t)(mem - raw));
    uint8_t *end = raw + span;
    uint64_t tail = (uint64_t)(end - (mem + bytes));
    if (tail > 0)
        munmap(mem + bytes, tail);
    p->host.thp = phys_host_thp_probe(&p->host.defrag_stalls);
    /* MADV_HUGEPAGE only where a huge page comes without a stall: with direct compaction
     * (Debian's default defrag "madvise") a block's first touch measured 0.9-2.9 s of CPU
     * per GiB here against 0.24-0.37 s for 4 KiB pages populated in 2 MiB steps. Under
     * THP "always" the host gives the pool huge pages without being asked. */
    p->host.hugepage = false;
    if ((p->host.thp == PHYS_HOST_THP_MADVISE || p->host.thp == PHYS_HOST_THP_ALWAYS) &&
        !p->host.defrag_stalls)
        p->host.hugepage = madvise(mem, bytes, MADV_HUGEPAGE) == 0;
    p->host.populate = true; /* until the kernel says it has no MADV_POPULATE_WRITE */
    return mem;
}

/* Makes block b resident before its first frame is handed out. Only an optimisation:
 * without MADV_POPULATE_WRITE (or when the host refuses, e.g. out of memory) the frames
 * fault in on first touch as before. */
void phys_host_populate(struct phys *p, uint64_t b)
{
    if (!p->host.populate || !p->mem)
        return;
    uint64_t start = b * HPAGE_BYTES;
    uint64_t len = start + HPAGE_BYTES <= p->bytes ? HPAGE_BYTES : p->bytes - start;
    if (madvise(p->mem + start, len, MADV_POPULATE_WRITE) == 0) {
        p->host.populated++;
        return;
    }
    if (errno == EINVAL || errno == ENOSYS)
        p->host.populate = false; /* the kernel predates 5.14: first touches fault */
}

/* Gives the host memory of the wholly free block b back (it reads as zero afterwards):
 * its frames, all on the free stack, are marked known-zero. Returns 0, or -errno when the
 * host refused (the block then stays resident). */
int phys_host_release(struct phys *p, uint64_t b)
{
    uint64_t start = b * HPAGE_BYTES;
    uint64_t len = start + HPAGE_BYTES <= p->bytes ? HPAGE_BYTES : p->bytes - start;
    if (madvise(p->mem + start, len, MADV_DONTNEED) < 0)
        return -errno;
    pfn_t first = b * HPAGE_FRAMES;
    pfn_t last = first + len / PAGE_SIZE;
    for (pfn_t pfn = first; pfn < last; pfn++)
        p->frames[pfn].flags |= FRAME_ZEROED;
    p->host.released++;
    return 0;
}

/* The host mode as --stats prints it. */
const char *phys_host_thp_name(enum phys_host_thp t)
{
    switch (t) {
    case PHYS_HOST_THP_ALWAYS:
        return "always";
    case PHYS_HOST_THP_MADVISE:
        return "madvise";
    case PHYS_HOST_THP_NEVER:
        return "never";
    default:
        return "absent";
    }
}
