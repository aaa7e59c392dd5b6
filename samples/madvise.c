/* madvise: the advice a program gives about its memory, each step printing the return value
 * and what the memory reads afterwards (never addresses). Covers: MADV_DONTNEED on private
 * anonymous memory (zero again, one fault per page), on a private file mapping (the file
 * again, with a pwrite made meanwhile), on shared mappings (data kept); MADV_FREE;
 * MADV_WILLNEED; MADV_POPULATE_READ/WRITE (resident at once; EINVAL, EFAULT); MADV_REMOVE
 * on shared anonymous memory and a shared file (zero, a hole in the file), EINVAL/EACCES on
 * private mappings; hints accepted (MADV_HUGEPAGE/NOHUGEPAGE print what the kernel says:
 * EINVAL without THP); errors: unknown advice, unaligned start, a hole in the range (ENOMEM,
 * the mapped parts still advised), MADV_DONTNEED on a locked page (EINVAL). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

/* madvise through the raw syscall: libcs may check arguments themselves. */
static long advise(void *p, size_t len, int advice)
{
    return syscall(SYS_madvise, p, len, advice);
}

static unsigned char *map(size_t pages, int flags, int fd)
{
    void *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, flags, fd, 0);

    if (p == MAP_FAILED) {
        printf("mmap of %zu pages: %s\n", pages, res(-1));
        failures++;
        return NULL;
    }
    return p;
}

/* A temporary file of pages pages of 'f', already unlinked. */
static int temp_file(size_t pages)
{
    char path[] = "/tmp/vmemu-madvise-XXXXXX";
    char page[PG];
    int fd = mkstemp(path);

    if (fd < 0) {
        printf("mkstemp: %s\n", res(-1));
        failures++;
        return -1;
    }
    unlink(path);
    memset(page, 'f', PG);
    for (size_t i = 0; i < pages; i++)
        if (write(fd, page, PG) != (ssize_t)PG) {
            close(fd);
            return -1;
        }
    return fd;
}

static void dontneed(void)
{
    unsigned char *a = map(4, MAP_PRIVATE | MAP_ANONYMOUS, -1), *f, *s;
    unsigned char c = 0;
    int fd = temp_file(2);
    long before, faults, sum;

    if (!a || fd < 0)
        return;
    memset(a, 'a', 4 * PG);
    show("MADV_DONTNEED on private anonymous pages 1-2", res(advise(a + PG, 2 * PG, MADV_DONTNEED)),
         "0");
    show("... mincore", resident(a, 4), "1001");
    minor_faults();
    before = minor_faults();
    sum = a[PG] + a[3 * PG - 1];
    faults = minor_faults() - before;
    show("... pages 1-2 read zero", num(sum), "0");
    show("... minor faults reading them (both were dropped)", num(faults), "2");
    before = minor_faults();
    sum = a[0] == 'a' && a[3 * PG] == 'a';
    faults = minor_faults() - before;
    show("... pages 0 and 3 keep their data", num(sum), "1");
    show("... minor faults reading them", num(faults), "0");
    munmap(a, 4 * PG);

    f = map(2, MAP_PRIVATE, fd);
    s = map(2, MAP_SHARED, fd);
    if (!f || !s)
        return;
    f[10] = 'w';
    show("private file page written", num(f[10]), num('w'));
    show("pwrite 'n' into the file at that byte", res(pwrite(fd, "n", 1, 10)), "1");
    show("... the private copy keeps its store", num(f[10]), num('w'));
    show("MADV_DONTNEED on the private file mapping", res(advise(f, 2 * PG, MADV_DONTNEED)), "0");
    show("... reads the file again", num(f[10]), num('n'));
    show("... the rest of the page too", num(f[11]), num('f'));
    s[20] = 's';
    show("MADV_DONTNEED on a shared file mapping", res(advise(s, 2 * PG, MADV_DONTNEED)), "0");
    show("... keeps the store", num(s[20]), num('s'));
    pread(fd, &c, 1, 20);
    show("... pread sees it", num(c), num('s'));
    show("... the private mapping sees it too", num(f[20]), num('s'));
    munmap(f, 2 * PG);
    munmap(s, 2 * PG);
    close(fd);
}

static void free_and_willneed(void)
{
    unsigned char *a = map(4, MAP_PRIVATE | MAP_ANONYMOUS, -1), *f;
    int fd = temp_file(1);

    if (!a || fd < 0)
        return;
    memset(a, 'a', 2 * PG);
    show("MADV_FREE on private anonymous memory", res(advise(a, 2 * PG, MADV_FREE)), "0");
    /* Without memory pressure the data may stay or go: both are Linux. */
    show("... reads the old data or zero",
         num((a[0] == 'a' || a[0] == 0) && (a[PG] == 'a' || a[PG] == 0)), "1");
    a[0] = 'b';
    show("... a store after MADV_FREE stays", num(a[0]), num('b'));
    show("MADV_WILLNEED on untouched anonymous pages",
         res(advise(a + 2 * PG, 2 * PG, MADV_WILLNEED)), "0");
    show("... makes none resident", resident(a + 2 * PG, 2), "00");
    munmap(a, 4 * PG);

    f = map(1, MAP_PRIVATE, fd);
    if (!f)
        return;
    show("MADV_FREE on a file mapping", res(advise(f, PG, MADV_FREE)), "-1 EINVAL");
    show("MADV_WILLNEED on a file mapping", res(advise(f, PG, MADV_WILLNEED)), "0");
    show("... the file reads", num(f[0]), num('f'));
    munmap(f, PG);
    close(fd);
}

static void remove_pages(void)
{
    unsigned char *s = map(3, MAP_SHARED | MAP_ANONYMOUS, -1), *p, *fs;
    unsigned char buf[3 * PG];
    int fd = temp_file(3);

    if (!s || fd < 0)
        return;
    memset(s, 's', 3 * PG);
    show("MADV_DONTNEED on shared anonymous memory", res(advise(s, 3 * PG, MADV_DONTNEED)), "0");
    show("... keeps the data", num(s[0] == 's' && s[3 * PG - 1] == 's'), "1");
    show("MADV_REMOVE on shared anonymous page 1", res(advise(s + PG, PG, MADV_REMOVE)), "0");
    show("... mincore", resident(s, 3), "101");
    show("... page 1 reads zero", num(s[PG] + s[2 * PG - 1]), "0");
    show("... pages 0 and 2 keep their data", num(s[0] == 's' && s[2 * PG] == 's'), "1");
    munmap(s, 3 * PG);

    p = map(1, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (p) {
        p[0] = 1;
        show("MADV_REMOVE on private anonymous memory", res(advise(p, PG, MADV_REMOVE)),
             "-1 EINVAL");
        show("... leaves it alone", num(p[0]), "1");
        munmap(p, PG);
    }

    fs = map(3, MAP_SHARED, fd);
    if (!fs)
        return;
    fs[PG + 7] = 'x';
    show("MADV_REMOVE on page 1 of a shared file mapping", res(advise(fs + PG, PG, MADV_REMOVE)),
         "0");
    show("... page 1 reads zero", num(fs[PG + 7]), "0");
    show("... pread of the file", res(pread(fd, buf, sizeof(buf), 0)), "12288");
    show("... page 1 of the file is zero, pages 0 and 2 are not",
         num(buf[PG] == 0 && buf[2 * PG - 1] == 0 && buf[0] == 'f' && buf[2 * PG] == 'f'), "1");
    munmap(fs, 3 * PG);
    fs = map(1, MAP_PRIVATE, fd);
    if (fs) {
        show("MADV_REMOVE on a private file mapping", res(advise(fs, PG, MADV_REMOVE)),
             "-1 EACCES");
        munmap(fs, PG);
    }
    close(fd);
}

/* MADV_POPULATE_READ/WRITE fault pages in now, or say why they cannot. */
static void populate(void)
{
    unsigned char *a = map(4, MAP_PRIVATE | MAP_ANONYMOUS, -1), *none, *f;
    long before, faults;
    int fd = temp_file(1);

    if (!a || fd < 0)
        return;
    show("MADV_POPULATE_READ on 2 anonymous pages", res(advise(a, 2 * PG, MADV_POPULATE_READ)),
         "0");
    show("MADV_POPULATE_WRITE on the next 2", res(advise(a + 2 * PG, 2 * PG, MADV_POPULATE_WRITE)),
         "0");
    show("... mincore", resident(a, 4), "1111");
    minor_faults();
    before = minor_faults();
    a[2 * PG] = 1;
    a[3 * PG] = 2;
    faults = minor_faults() - before;
    show("... minor faults writing the write-populated pages", num(faults), "0");
    before = minor_faults();
    a[0] = 3;
    a[PG] = 4;
    faults = minor_faults() - before;
    /* A kernel that maps the shared zero page on a read fault takes a write fault here (as
     * Linux does and vmemu does); one that allocates a page on the read takes none. */
    show("... minor faults writing the read-populated pages", num(faults),
         read_fault_maps_zero_page() ? "2" : "0");
    show("... the data", num(a[0] + a[PG] + a[2 * PG] + a[3 * PG]), "10");
    munmap(a, 4 * PG);

    none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none != MAP_FAILED) {
        show("MADV_POPULATE_READ on PROT_NONE", res(advise(none, PG, MADV_POPULATE_READ)),
             "-1 EINVAL");
        munmap(none, PG);
    }
    f = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
    if (f != MAP_FAILED) {
        show("MADV_POPULATE_READ of a file page", res(advise(f, PG, MADV_POPULATE_READ)), "0");
        show("MADV_POPULATE_WRITE of a read-only mapping", res(advise(f, PG, MADV_POPULATE_WRITE)),
             "-1 EINVAL");
        show("MADV_POPULATE_READ past the end of the file",
             res(advise(f + PG, PG, MADV_POPULATE_READ)), "-1 EFAULT");
        munmap(f, 2 * PG);
    }
    close(fd);
}

static void hints(void)
{
    static const struct {
        int advice;
        const char *name;
    } ok[] = {
        {MADV_NORMAL, "MADV_NORMAL"},         {MADV_RANDOM, "MADV_RANDOM"},
        {MADV_SEQUENTIAL, "MADV_SEQUENTIAL"}, {MADV_DONTFORK, "MADV_DONTFORK"},
        {MADV_DOFORK, "MADV_DOFORK"},         {MADV_DONTDUMP, "MADV_DONTDUMP"},
        {MADV_DODUMP, "MADV_DODUMP"},
    };
    unsigned char *a = map(4, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    char what[64];

    if (!a)
        return;
    a[0] = 'k';
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(what, sizeof(what), "%s", ok[i].name);
        show(what, res(advise(a, 4 * PG, ok[i].advice)), "0");
    }
    /* Refused (EINVAL) by kernels built without transparent huge pages. */
    show("MADV_HUGEPAGE", res(advise(a, 4 * PG, MADV_HUGEPAGE)), NULL);
    show("MADV_NOHUGEPAGE", res(advise(a, 4 * PG, MADV_NOHUGEPAGE)), NULL);
    show("the hints keep the data", num(a[0]), num('k'));
    munmap(a, 4 * PG);
}

static void errors(void)
{
    unsigned char *a = map(3, MAP_PRIVATE | MAP_ANONYMOUS, -1), *l;

    if (!a)
        return;
    memset(a, 'a', 3 * PG);
    show("unknown advice 999", res(advise(a, PG, 999)), "-1 EINVAL");
    show("unaligned start", res(advise(a + 1, PG, MADV_DONTNEED)), "-1 EINVAL");
    show("length 0", res(advise(a, 0, MADV_DONTNEED)), "0");
    show("unaligned length (rounded up)", res(advise(a, 1, MADV_DONTNEED)), "0");
    show("... page 0 reads zero", num(a[0] + a[PG - 1]), "0");
    show("... page 1 keeps its data", num(a[PG]), num('a'));
    munmap(a + PG, PG);
    a[0] = 'a';
    show("MADV_DONTNEED across a hole", res(advise(a, 3 * PG, MADV_DONTNEED)), "-1 ENOMEM");
    show("... the mapped pages were still advised", num(a[0] + a[2 * PG]), "0");
    show("MADV_NORMAL on a hole only", res(advise(a + PG, PG, MADV_NORMAL)), "-1 ENOMEM");
    munmap(a, 3 * PG);

    l = map(1, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!l)
        return;
    l[0] = 'l';
    show("mlock a page", res(mlock(l, PG)), "0");
    show("MADV_DONTNEED on a locked page", res(advise(l, PG, MADV_DONTNEED)), "-1 EINVAL");
    show("... keeps the data", num(l[0]), num('l'));
    munlock(l, PG);
    munmap(l, PG);
}

int main(void)
{
    dontneed();
    free_and_willneed();
    remove_pages();
    populate();
    hints();
    errors();
    printf("%d failures\n", failures);
    return failures != 0;
}
