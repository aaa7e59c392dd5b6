/* mremap: resizing and moving mappings, each step printing what it observed (data, where a
 * mapping ended up relative to where it was, mincore residency, fault counts from getrusage,
 * errno names; never addresses). Covers: shrinking (the tail is unmapped); growing in place
 * (new pages read zero); growing when the next page is taken (ENOMEM without MREMAP_MAYMOVE,
 * a move with it); moved pages read back without a fault (their entries move, no copy);
 * MREMAP_FIXED onto an existing mapping and its errors; MREMAP_DONTUNMAP (the old range stays
 * mapped and reads zero); moving a shared file mapping (stores still reach the file); errno
 * of bad calls; realloc of large malloc blocks, which glibc and musl serve with mremap. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Where mremap put the mapping: "same address", "moved", "at the target" or the error. */
static const char *where(void *got, void *old, void *target)
{
    static char buf[2][48];
    static int next;
    char *b = buf[next++ % 2];

    if (got == MAP_FAILED)
        snprintf(b, sizeof(buf[0]), "MAP_FAILED %s", errname(errno));
    else if (target && got == target)
        snprintf(b, sizeof(buf[0]), "at the target");
    else
        snprintf(b, sizeof(buf[0]), "%s", got == old ? "same address" : "moved");
    return b;
}

static unsigned char *map_anon(size_t pages)
{
    void *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        printf("mmap of %zu pages: %s\n", pages, res(-1));
        failures++;
        return NULL;
    }
    return p;
}

/* Page i filled with 'A' + i (+ base); pages_ok says whether they still hold it. */
static void fill(unsigned char *p, size_t pages, int base)
{
    for (size_t i = 0; i < pages; i++)
        memset(p + i * PG, 'A' + base + (int)i, PG);
}

static const char *pages_ok(const unsigned char *p, size_t pages, int base)
{
    for (size_t i = 0; i < pages; i++)
        for (size_t j = 0; j < PG; j++)
            if (p[i * PG + j] != (unsigned char)('A' + base + (int)i))
                return "no";
    return "yes";
}

static void shrink_and_grow(void)
{
    unsigned char *p = map_anon(4), *q;

    if (!p)
        return;
    fill(p, 4, 0);
    q = mremap(p, 4 * PG, 2 * PG, 0);
    show("shrink 4 -> 2 pages", where(q, p, NULL), "same address");
    show("the kept pages hold their data", pages_ok(p, 2, 0), "yes");
    show("mincore of the cut pages", resident(p + 2 * PG, 1), "-1 ENOMEM");
    /* The cut pages are free now: growing back stays in place. */
    q = mremap(p, 2 * PG, 4 * PG, 0);
    show("grow 2 -> 4 pages in place", where(q, p, NULL), "same address");
    show("the old pages hold their data", pages_ok(p, 2, 0), "yes");
    show("the new pages read zero", num(p[2 * PG] + p[4 * PG - 1]), "0");
    show("same size: nothing to do", where(mremap(p, 4 * PG, 4 * PG, 0), p, NULL), "same address");
    munmap(p, 4 * PG);
}

static void grow_blocked(void)
{
    unsigned char *p = map_anon(2), *q;

    if (!p)
        return;
    fill(p, 2, 0);
    /* Page 1 becomes a separate read-only mapping that blocks page 0 from growing. */
    mprotect(p + PG, PG, PROT_READ);
    errno = 0;
    q = mremap(p, PG, 3 * PG, 0);
    show("grow a blocked mapping without MREMAP_MAYMOVE", where(q, p, NULL), "MAP_FAILED ENOMEM");
    show("... leaves it alone", pages_ok(p, 2, 0), "yes");
    q = mremap(p, PG, 3 * PG, MREMAP_MAYMOVE);
    show("grow it with MREMAP_MAYMOVE", where(q, p, NULL), "moved");
    if (q == MAP_FAILED)
        return;
    show("the moved page holds its data", pages_ok(q, 1, 0), "yes");
    show("the new pages read zero", num(q[PG] + q[3 * PG - 1]), "0");
    show("the old page is unmapped", resident(p, 1), "-1 ENOMEM");
    show("the blocking page is still there", pages_ok(p + PG, 1, 1), "yes");
    munmap(q, 3 * PG);
    munmap(p + PG, PG);
}

static void move_many_pages(void)
{
    unsigned char *p = map_anon(24), *q;
    long before;

    if (!p)
        return;
    fill(p, 24, 0);
    /* In place or moved, depending on what lies above: only the data is printed. */
    q = mremap(p, 24 * PG, 64 * PG, MREMAP_MAYMOVE);
    show("grow 24 -> 64 pages with MREMAP_MAYMOVE", q == MAP_FAILED ? res(-1) : "ok", "ok");
    if (q == MAP_FAILED)
        return;
    before = minor_faults();
    show("all 24 pages hold their data", pages_ok(q, 24, 0), "yes");
    /* Linux moves the page-table entries: no page is copied or faulted in again. */
    show("... minor faults while reading them", num(minor_faults() - before), "0");
    show("the 40 new pages read zero", num(q[24 * PG] + q[40 * PG] + q[64 * PG - 1]), "0");
    munmap(q, 64 * PG);
}

static void fixed(void)
{
    unsigned char *src = map_anon(4), *dst = map_anon(6), *q;
    long before;

    if (!src || !dst)
        return;
    fill(src, 4, 0);
    fill(dst, 6, 10);
    q = mremap(src, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PG);
    show("MREMAP_FIXED onto pages 1-4 of another mapping", where(q, src, dst + PG),
         "at the target");
    before = minor_faults();
    show("the target pages hold the moved data", pages_ok(dst + PG, 4, 0), "yes");
    show("... minor faults while reading them", num(minor_faults() - before), "0");
    show("the pages around the target are untouched",
         strcmp(pages_ok(dst, 1, 10), "yes") == 0 && dst[5 * PG] == 'A' + 15 ? "yes" : "no", "yes");
    show("the source is unmapped", resident(src, 4), "-1 ENOMEM");
    src = map_anon(2);
    if (src) {
        show("MREMAP_FIXED without MREMAP_MAYMOVE",
             where(mremap(src, PG, PG, MREMAP_FIXED, dst), src, dst), "MAP_FAILED EINVAL");
        show("MREMAP_FIXED to an unaligned address",
             where(mremap(src, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 1), src, dst),
             "MAP_FAILED EINVAL");
        show("MREMAP_FIXED onto its own range",
             where(mremap(src, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, src + PG), src,
                   src + PG),
             "MAP_FAILED EINVAL");
        munmap(src, 2 * PG);
    }
    munmap(dst, 6 * PG);
}

static void dontunmap(void)
{
    unsigned char *p = map_anon(2), *q;

    if (!p)
        return;
    fill(p, 2, 0);
    /* glibc passes the fifth argument on whatever the flags: it must be given (NULL). */
    q = mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    show("MREMAP_DONTUNMAP", where(q, p, NULL), "moved");
    if (q == MAP_FAILED)
        return;
    show("the new range holds the data", pages_ok(q, 2, 0), "yes");
    show("the old range is still mapped", resident(p, 2), "00");
    show("... and reads zero", num(p[0] + p[2 * PG - 1]), "0");
    p[5] = 'o';
    show("... and takes stores of its own", num(p[5] == 'o' && q[5] == 'A'), "1");
    show("MREMAP_DONTUNMAP with a new size",
         where(mremap(q, 2 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), q, NULL),
         "MAP_FAILED EINVAL");
    show("MREMAP_DONTUNMAP without MREMAP_MAYMOVE",
         where(mremap(q, 2 * PG, 2 * PG, MREMAP_DONTUNMAP, NULL), q, NULL), "MAP_FAILED EINVAL");
    munmap(p, 2 * PG);
    munmap(q, 2 * PG);
}

static void shared_file_move(void)
{
    char path[] = "/tmp/vmemu-mremap-XXXXXX";
    int fd = mkstemp(path);
    unsigned char page[2 * PG], *p, *q, c = 0;

    if (fd < 0) {
        printf("mkstemp: %s\n", res(-1));
        failures++;
        return;
    }
    unlink(path);
    memset(page, 'f', sizeof(page));
    if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
        close(fd);
        return;
    }
    p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return;
    }
    p[1] = 's';
    /* Page 1 of the file joins the mapping; a move may be needed. */
    q = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE);
    show("grow a shared file mapping to 2 pages", q == MAP_FAILED ? res(-1) : "ok", "ok");
    if (q != MAP_FAILED) {
        show("the store before the move is still there", num(q[1]), num('s'));
        show("page 1 reads the file", num(q[PG + 3]), num('f'));
        q[PG + 3] = 't';
        pread(fd, &c, 1, PG + 3);
        show("a store after the move reaches the file", num(c), num('t'));
        pread(fd, &c, 1, 1);
        show("... and so did the one before", num(c), num('s'));
        munmap(q, 2 * PG);
    }
    close(fd);
}

static void errors(void)
{
    unsigned char *p = map_anon(3), *gone = map_anon(1);

    if (!p || !gone)
        return;
    munmap(gone, PG);
    /* A free page above p: p's mapping ends there, whatever its neighbours below. */
    munmap(p + 2 * PG, PG);
    show("mremap with an unknown flag", where(mremap(p, PG, PG, 0x80), p, NULL),
         "MAP_FAILED EINVAL");
    show("mremap of an unaligned address",
         where((void *)syscall(SYS_mremap, p + 1, PG, 2 * PG, 0), p, NULL), "MAP_FAILED EINVAL");
    show("mremap to new size 0", where(mremap(p, PG, 0, MREMAP_MAYMOVE), p, NULL),
         "MAP_FAILED EINVAL");
    show("mremap of an unmapped address",
         where(mremap(gone, PG, 2 * PG, MREMAP_MAYMOVE), gone, NULL), "MAP_FAILED EFAULT");
    show("mremap of a range longer than the mapping",
         where(mremap(p, 3 * PG, 4 * PG, MREMAP_MAYMOVE), p, NULL), "MAP_FAILED EFAULT");
    munmap(p, 2 * PG);
}

/* realloc of blocks above the mmap threshold: glibc and musl use mremap. */
static void realloc_large(void)
{
    size_t n = 1 << 20;
    unsigned char *b = malloc(n), *c;
    uint32_t sum = 0, want = 0;

    if (!b) {
        show("malloc 1 MiB", "NULL", "ok");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        b[i] = (unsigned char)(i * 13 + (i >> 12));
        want = want * 31 + b[i];
    }
    c = realloc(b, 4 * n);
    show("realloc 1 MiB -> 4 MiB", c ? "ok" : "NULL", "ok");
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + c[i];
    show("the first MiB is kept", sum == want ? "yes" : "no", "yes");
    memset(c + n, 0x5a, 3 * n);
    b = realloc(c, n / 4);
    show("realloc 4 MiB -> 256 KiB", b ? "ok" : "NULL", "ok");
    if (!b)
        return;
    sum = 0;
    want = 0;
    for (size_t i = 0; i < n / 4; i++) {
        sum = sum * 31 + b[i];
        want = want * 31 + (unsigned char)(i * 13 + (i >> 12));
    }
    show("the first 256 KiB are kept", sum == want ? "yes" : "no", "yes");
    free(b);
}

int main(void)
{
    shrink_and_grow();
    grow_blocked();
    move_many_pages();
    fixed();
    dontunmap();
    shared_file_move();
    errors();
    realloc_large();
    printf("%d failures\n", failures);
    return failures != 0;
}
