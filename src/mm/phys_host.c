/* Host memory behind the frame pool: the pool's 2 MiB-aligned host mapping, the host's
 * transparent-huge-page mode, populating a 2 MiB block in one call when its first frame is
 * handed out (MADV_POPULATE_WRITE where the kernel has it: one host fault per block
 * instead of one per frame), and giving wholly free blocks back to the host
 * (MADV_DONTNEED) once more than PHYS_IDLE_KEEP of them sit idle, so a large process that
 * exits leaves no resident memory behind while a fork loop keeps reusing the same resident
 * blocks. Memory never handed out is never touched.
 *
 * Small or huge host pages: where the host has THP, each block is backed either by 512
 * small pages or by one huge page (MADV_HUGEPAGE on the block), and which is cheaper
 * depends on the machine and changes during a run. Measured per block: on one machine
 * small pages 0.6 ms, a huge page 0.15 ms or 4 ms (direct compaction, or memory the VM
 * never used before); on another, whose hypervisor shadows page tables, small pages
 * 2.5 ms (2.2 of them the first write to each page), a huge page 0.1 ms, or 2.9 ms once
 * the memory the VM had used before ran out. So the pool measures: the first
 * PHYS_TRY_FROM blocks keep the host's default and are not measured, two of the next four
 * are tried huge, and from then on each block takes the way whose smoothed cost (populate
 * plus a first write to each small page: host time the guest's first touches would pay
 * anyway) is lower, the other way being tried again at every power of two. Used by phys.c
 * only. */
#include "vmemu/phys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
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

/* The host's THP mode. */
static enum phys_host_thp phys_host_thp_probe(void)
{
    char buf[128];
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
    p->host.thp = phys_host_thp_probe();
    p->host.adaptive = p->host.thp == PHYS_HOST_THP_MADVISE || p->host.thp == PHYS_HOST_THP_ALWAYS;
    p->host.populate = true; /* until the kernel says it has no MADV_POPULATE_WRITE */
    return mem;
}

enum phys_host_way phys_host_cheaper_way(const struct phys_host *h)
{
    uint64_t small = h->cost_ns[PHYS_WAY_SMALL], huge = h->cost_ns[PHYS_WAY_HUGE];
    return huge != 0 && small != 0 && huge < small ? PHYS_WAY_HUGE : PHYS_WAY_SMALL;
}

enum phys_host_way phys_host_pick_way(const struct phys_host *h, uint64_t n)
{
    if (n < PHYS_TRY_FROM)
        return PHYS_WAY_SMALL;
    if (n < PHYS_TRY_DONE)
        return (n - PHYS_TRY_FROM) % 2 == 0 ? PHYS_WAY_HUGE : PHYS_WAY_SMALL;
    enum phys_host_way best = phys_host_cheaper_way(h);
    bool power_of_two = (n & (n - 1)) == 0;
    return power_of_two ? (enum phys_host_way)(PHYS_WAYS - 1 - best) : best;
}

void phys_host_note_cost(struct phys_host *h, enum phys_host_way way, uint64_t ns)
{
    uint64_t *c = &h->cost_ns[way];
    *c = *c == 0 ? ns : *c - *c / 4 + ns / 4;
    if (*c == 0)
        *c = 1; /* measured, however cheap */
}

/* CLOCK_MONOTONIC in nanoseconds (through the vDSO: no system call). */
static uint64_t phys_host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Makes block b resident before its first frame is handed out, the way
 * phys_host_pick_way says where the host has THP (then timing it, see the header). Only
 * an optimisation: without MADV_POPULATE_WRITE (or when the host refuses, e.g. out of
 * memory) the frames fault in on first touch as before. */
void phys_host_populate(struct phys *p, uint64_t b)
{
    struct phys_host *h = &p->host;
    if (!h->populate || !p->mem)
        return;
    uint64_t start = b * HPAGE_BYTES;
    uint64_t len = start + HPAGE_BYTES <= p->bytes ? HPAGE_BYTES : p->bytes - start;
    uint8_t *mem = p->mem + start;
    /* Small programs (fewer than PHYS_TRY_FROM blocks) are neither measured nor tried. */
    bool measure = h->adaptive && h->populated >= PHYS_TRY_FROM;
    enum phys_host_way way = PHYS_WAY_SMALL;
    uint64_t t0 = 0;
    if (measure) {
        way = phys_host_pick_way(h, h->populated);
        if (h->populated >= PHYS_TRY_DONE) {
            enum phys_host_way best = phys_host_cheaper_way(h);
            h->switches += h->populated > PHYS_TRY_DONE && best != h->chosen;
            h->chosen = (uint8_t)best;
        }
        t0 = phys_host_now_ns();
        /* A refusal leaves the host's default (small pages under THP "madvise"). */
        (void)madvise(mem, len, way == PHYS_WAY_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    }
    if (madvise(mem, len, MADV_POPULATE_WRITE) < 0) {
        if (errno == EINVAL || errno == ENOSYS)
            h->populate = false; /* the kernel predates 5.14: first touches fault */
        return;
    }
    h->populated++;
    if (!measure)
        return;
    /* The first write from user space may cost the host more than populating did (a
     * hypervisor's shadow page tables: 2 ms per block of small pages on one machine, 10 us
     * for a huge page): pay it here, inside the measure. The guest writes these frames
     * anyway; they read as zero before and after. */
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        *(volatile uint8_t *)(mem + off) = 0;
    phys_host_note_cost(h, way, phys_host_now_ns() - t0);
    h->populated_huge += way == PHYS_WAY_HUGE;
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
