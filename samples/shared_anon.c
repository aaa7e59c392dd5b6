/* shared_anon: the mmap flags beyond plain private memory, each step printing what it observed
 * (values, residency from mincore, fault counts from getrusage, errno names; never addresses).
 * Covers: MAP_SHARED|MAP_ANONYMOUS memory (zero, data, pages allocated when first read); a
 * second view of the same shared pages made by mremap with old_size 0 (EINVAL on a private
 * mapping); MAP_POPULATE and MAP_LOCKED making pages resident and writable at once where a
 * plain mapping has none; MAP_NORESERVE for a large sparse mapping; MAP_STACK; MAP_32BIT
 * below 2 GiB; MAP_GROWSDOWN growing down when pages 1 and 16 below its start are touched
 * (mincore says ENOMEM below it before, resident after). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sample_check.h"

/* An mmap/mremap result as text: "ok" or "MAP_FAILED ENAME". */
static const char *mres(void *p)
{
    static char buf[2][48];
    static int next;
    char *b = buf[next++ % 2];

    if (p == MAP_FAILED)
        snprintf(b, sizeof(buf[0]), "MAP_FAILED %s", errname(errno));
    else
        snprintf(b, sizeof(buf[0]), "ok");
    return b;
}

static void shared_anonymous(void)
{
    unsigned char *p =
        mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    unsigned char *q;

    show("mmap MAP_SHARED|MAP_ANONYMOUS", mres(p), "ok");
    if (p == MAP_FAILED)
        return;
    show("mincore before touching", resident(p, 4), "0000");
    show("fresh shared anonymous memory reads zero", num(p[0] + p[3 * PG + 4095]), "0");
    show("mincore after reading pages 0 and 3 (shmem allocates)", resident(p, 4), "1001");
    for (size_t i = 0; i < 4 * PG; i++)
        p[i] = (unsigned char)(i * 3);
    show("data reads back", num(p[PG + 1] + p[3 * PG + 2]),
         num((unsigned char)(3 * (PG + 1)) + (unsigned char)(3 * (3 * PG + 2))));

    q = mremap(p, 0, 2 * PG, MREMAP_MAYMOVE);
    show("mremap(old_size 0) makes a second view", mres(q), "ok");
    if (q != MAP_FAILED) {
        show("the second view sees the data", num(q[5] + q[PG + 6]), num(p[5] + p[PG + 6]));
        q[7] = 'a';
        show("store via the second view, read via the first", num(p[7]), num('a'));
        p[PG + 8] = 'b';
        show("store via the first view, read via the second", num(q[PG + 8]), num('b'));
        show("munmap of the second view", res(munmap(q, 2 * PG)), "0");
        show("the first view keeps the data", num(p[7]), num('a'));
    }
    show("munmap", res(munmap(p, 4 * PG)), "0");

    p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        show("mremap(old_size 0) of a private mapping", mres(mremap(p, 0, PG, MREMAP_MAYMOVE)),
             "MAP_FAILED EINVAL");
        munmap(p, 2 * PG);
    }
}

static void populate(void)
{
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    unsigned char *s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    unsigned char *plain =
        mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *locked =
        mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    long before, faults;

    show("mmap private MAP_POPULATE", mres(p), "ok");
    show("mmap shared MAP_POPULATE", mres(s), "ok");
    show("mmap private without MAP_POPULATE", mres(plain), "ok");
    if (p == MAP_FAILED || s == MAP_FAILED || plain == MAP_FAILED)
        return;
    show("mincore right after mmap, private MAP_POPULATE", resident(p, 4), "1111");
    show("mincore right after mmap, shared MAP_POPULATE", resident(s, 4), "1111");
    show("mincore right after mmap, no MAP_POPULATE", resident(plain, 4), "0000");
    show("mmap private MAP_LOCKED", mres(locked), "ok");
    if (locked != MAP_FAILED) {
        show("mincore right after mmap, MAP_LOCKED", resident(locked, 2), "11");
        munmap(locked, 2 * PG);
    }
    minor_faults();
    before = minor_faults();
    for (size_t i = 0; i < 4; i++)
        p[i * PG + 5] = (unsigned char)(1 + i);
    faults = minor_faults() - before;
    show("minor faults writing the 4 private populated pages", num(faults), "0");
    before = minor_faults();
    for (size_t i = 0; i < 4; i++)
        s[i * PG + 5] = (unsigned char)(5 + i);
    faults = minor_faults() - before;
    show("minor faults writing the 4 shared populated pages", num(faults), "0");
    show("populated memory reads zero", num(p[0] + p[3 * PG] + s[0] + s[3 * PG]), "0");
    show("and holds data", num(p[3 * PG + 5] * 10 + s[3 * PG + 5]), "48");
    munmap(p, 4 * PG);
    munmap(s, 4 * PG);
    munmap(plain, 4 * PG);
}

static void noreserve_and_stack(void)
{
    size_t len = 1UL << 30;
    unsigned char *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    unsigned char *st;

    show("mmap 1 GiB MAP_NORESERVE", mres(p), "ok");
    if (p != MAP_FAILED) {
        p[0] = 1;
        p[len / 2] = 2;
        p[len - 1] = 3;
        show("first, middle and last byte hold data",
             num(p[0] * 100 + p[len / 2] * 10 + p[len - 1]), "123");
        show("an untouched page reads zero", num(p[len / 4]), "0");
        show("munmap", res(munmap(p, len)), "0");
    }
    st =
        mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    show("mmap MAP_STACK", mres(st), "ok");
    if (st != MAP_FAILED) {
        st[16 * PG - 1] = 7;
        show("MAP_STACK memory reads zero, holds data", num(st[0] + st[16 * PG - 1]), "7");
        munmap(st, 16 * PG);
    }
}

static void map_32bit(void)
{
    unsigned char *p =
        mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

    show("mmap MAP_32BIT", mres(p), "ok");
    if (p == MAP_FAILED)
        return;
    show("below 2GiB", (uintptr_t)p + 4 * PG <= (1UL << 31) ? "yes" : "no", "yes");
    p[4 * PG - 1] = 9;
    show("MAP_32BIT memory holds data", num(p[0] + p[4 * PG - 1]), "9");
    munmap(p, 4 * PG);
}

/* A MAP_GROWSDOWN mapping at the top of a free 2 MiB window (more than Linux's 1 MiB
 * stack guard gap below it), touched 1 and 16 pages below its start. */
static void growsdown(void)
{
    size_t window = 512 * PG;
    unsigned char *w = mmap(NULL, window, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *g;
    volatile unsigned char *below;

    if (w == MAP_FAILED) {
        show("reserve a window", mres(w), "ok");
        return;
    }
    munmap(w, window);
    g = mmap(w + window - 2 * PG, 2 * PG, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
    show("mmap MAP_GROWSDOWN", mres(g), "ok");
    if (g == MAP_FAILED)
        return;
    g[0] = 1;
    show("mincore of the page below the start", resident(g - PG, 1), "-1 ENOMEM");
    below = g - PG;
    below[100] = 5;
    show("store one page below the start reads back", num(below[100]), "5");
    show("mincore of the grown page", resident(g - PG, 3), "110");
    below = g - 16 * PG;
    show("read 16 pages below the start", num(below[0]), "0");
    below[1] = 6;
    show("... store there reads back", num(below[1]), "6");
    show("mincore of the grown range", resident(g - 16 * PG, 18), "100000000000000110");
    show("munmap of the grown range", res(munmap(g - 16 * PG, 18 * PG)), "0");
    show("mincore after munmap", resident(g - 16 * PG, 1), "-1 ENOMEM");
}

int main(void)
{
    shared_anonymous();
    populate();
    noreserve_and_stack();
    map_32bit();
    growsdown();
    printf("%d failures\n", failures);
    return failures != 0;
}
