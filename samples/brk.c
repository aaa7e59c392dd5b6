/* brk: the program break moved with the raw brk syscall (musl's sbrk refuses to move it), each
 * step printing values relative to the initial break and what the memory reads (never
 * addresses). Covers: brk(0) and brk(x) return the break exactly (not rounded); new heap
 * reads zero; shrinking unmaps the whole pages above the break (mincore: ENOMEM), keeps the
 * page holding it, and pages given back read zero when the heap grows again; requests below
 * the heap or into another mapping are refused (Linux keeps a free page between the break
 * and the next mapping). stdout gets a static buffer so that printf never calls malloc,
 * which could move the break behind this program's back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static char outbuf[8192];
static uintptr_t base; /* the break at the start */
static uintptr_t top;  /* the first page boundary at or above it, once the heap grew */

static uintptr_t sys_brk(uintptr_t addr)
{
    return (uintptr_t)syscall(SYS_brk, addr);
}

/* A break value as text: "base+N" bytes for the first steps, then relative to top in
 * pages and bytes ("top+4p+100"), so that the output does not depend on where in its page
 * the initial break lies. */
static const char *rel(uintptr_t v)
{
    static char buf[4][48];
    static int next;
    char *b = buf[next++ % 4];

    if (v == base || !top || v < top)
        snprintf(b, sizeof(buf[0]), "base%+ld", (long)(v - base));
    else if ((v - top) % PG)
        snprintf(b, sizeof(buf[0]), "top+%lup+%lu", (unsigned long)((v - top) / PG),
                 (unsigned long)((v - top) % PG));
    else
        snprintf(b, sizeof(buf[0]), "top+%lup", (unsigned long)((v - top) / PG));
    return b;
}

/* mincore of one page: "resident", "not resident", "ENOMEM" when unmapped, or the errno. */
static const char *page_state(uintptr_t addr)
{
    static char other[32];
    unsigned char v;

    if (syscall(SYS_mincore, addr, PG, &v) != 0) {
        if (errno == ENOMEM)
            return "ENOMEM";
        snprintf(other, sizeof(other), "errno %d", errno);
        return other;
    }
    return (v & 1) ? "resident" : "not resident";
}

int main(void)
{
    uintptr_t cut, blocker;
    unsigned char *heap;
    int all_zero = 1;
    void *m;

    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    base = sys_brk(0);
    show("brk(0) again", rel(sys_brk(0)), "base+0");
    show("brk(base + 10000) returns exactly that", rel(sys_brk(base + 10000)), "base+10000");
    show("brk(0) after it", rel(sys_brk(0)), "base+10000");
    /* From here on, work from the next page boundary: the page of the initial break may
     * hold libc's data (glibc puts its static TLS there). */
    top = (base + PG - 1) & ~(PG - 1);
    show("grow to 16 pages above top", rel(sys_brk(top + 16 * PG)), "top+16p");
    heap = (unsigned char *)top;
    for (size_t i = 0; i < 16 * PG; i++)
        all_zero &= heap[i] == 0;
    show("the new heap reads zero", num(all_zero), "1");
    memset(heap, 'h', 16 * PG);
    show("and holds data", num(heap[0] == 'h' && heap[16 * PG - 1] == 'h'), "1");

    /* Shrink to 100 bytes into page 4: pages 5-15 go, page 4 stays whole. */
    cut = top + 4 * PG + 100;
    show("shrink to 4 pages + 100 bytes", rel(sys_brk(cut)), "top+4p+100");
    show("the page holding the break keeps its data beyond it", num(heap[4 * PG + 200]), num('h'));
    show("mincore of the freed page 5", page_state(top + 5 * PG), "ENOMEM");
    show("mincore of the freed page 15", page_state(top + 15 * PG), "ENOMEM");
    show("grow again to 16 pages", rel(sys_brk(top + 16 * PG)), "top+16p");
    show("freed page 5 was not resident", page_state(top + 5 * PG), "not resident");
    all_zero = 1;
    for (size_t i = 5 * PG; i < 16 * PG; i++)
        all_zero &= heap[i] == 0;
    show("the pages given back read zero", num(all_zero), "1");
    show("page 4 still has its data", num(heap[4 * PG + 4000]), num('h'));

    show("brk(4096), below the start of the heap", rel(sys_brk(PG)), "top+16p");

    /* A mapping 32 pages above the heap's start blocks the break's growth. */
    blocker = top + 32 * PG;
    m = mmap((void *)blocker, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
             0);
    if (m != (void *)blocker) {
        printf("the page 32 pages above the heap is taken: skipping the blocked cases\n");
    } else {
        show("brk up to two pages below a mapping at top+32p", rel(sys_brk(blocker - 2 * PG)),
             "top+30p");
        show("brk up to one page below it", rel(sys_brk(blocker - PG)), "top+31p");
        show("brk up to the mapping (refused)", rel(sys_brk(blocker)), "top+31p");
        show("brk across the mapping (refused)", rel(sys_brk(blocker + 8 * PG)), "top+31p");
        munmap(m, PG);
        show("after its munmap, brk across it", rel(sys_brk(blocker + 8 * PG)), "top+40p");
    }
    show("shrink back to the initial break", rel(sys_brk(base)), "base+0");
    show("mincore of the page at top", page_state(top), "ENOMEM");
    printf("%d failures\n", failures);
    return failures != 0;
}
