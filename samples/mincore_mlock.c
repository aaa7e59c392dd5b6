/* mincore_mlock: page residency as mincore reports it, and memory locking, each step printing
 * the residency vector ("0110": one digit per page) or the return value and errno name (never
 * addresses). Covers: untouched anonymous pages not resident, read ones (zero page) and
 * written ones resident, PROT_NONE all zero, a file page read through a mapping resident;
 * mincore's ENOMEM/EINVAL/EFAULT; mlock making pages resident and writable at once (also
 * from an unaligned address), munlock keeping them, ENOMEM on holes; mlockall with
 * MCL_CURRENT, MCL_FUTURE (later mappings resident at once), MCL_ONFAULT (not), bad flags,
 * munlockall. Sizes are a few pages, far below any RLIMIT_MEMLOCK. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static unsigned char *map(size_t pages, int prot)
{
    void *p = mmap(NULL, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        printf("mmap of %zu pages: %s\n", pages, res(-1));
        failures++;
        return NULL;
    }
    return p;
}

static void residency(void)
{
    unsigned char *a = map(4, PROT_READ | PROT_WRITE), *none = map(2, PROT_NONE), *f;
    volatile unsigned char sink;
    int fd = open("/proc/self/exe", O_RDONLY);

    if (!a || !none)
        return;
    show("mincore of 4 untouched anonymous pages", resident(a, 4), "0000");
    sink = a[PG];
    show("after reading page 1", resident(a, 4), "0100");
    a[2 * PG] = sink + 1;
    show("after writing page 2", resident(a, 4), "0110");
    show("mincore of a PROT_NONE mapping", resident(none, 2), "00");
    munmap(none, 2 * PG);
    if (fd >= 0) {
        f = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f != MAP_FAILED) {
            sink = f[0];
            show("a file page read through the mapping", resident(f, 1), "1");
            munmap(f, PG);
        }
        close(fd);
    }
    munmap(a, 4 * PG);
}

static void mincore_errors(void)
{
    unsigned char *a = map(2, PROT_READ | PROT_WRITE), *ro = map(1, PROT_READ);
    unsigned char vec[4];

    if (!a || !ro)
        return;
    a[0] = 1;
    show("mincore of length 0", res(syscall(SYS_mincore, a, 0, vec)), "0");
    show("mincore of an unaligned start", res(syscall(SYS_mincore, a + 1, PG, vec)), "-1 EINVAL");
    show("mincore into a read-only vector", res(syscall(SYS_mincore, a, PG, ro)), "-1 EFAULT");
    show("mincore of a non-user address",
         res(syscall(SYS_mincore, (void *)0xffff800000000000UL, PG, vec)), "-1 ENOMEM");
    munmap(a + PG, PG);
    show("mincore of a range with an unmapped page", resident(a, 2), "-1 ENOMEM");
    show("mincore of an unmapped page", resident(a + PG, 1), "-1 ENOMEM");
    munmap(a, PG);
    munmap(ro, PG);
}

static void lock_ranges(void)
{
    unsigned char *a = map(3, PROT_READ | PROT_WRITE), *b = map(3, PROT_READ | PROT_WRITE);
    long before, faults;

    if (!a || !b)
        return;
    show("mlock of 2 untouched pages", res(mlock(a, 2 * PG)), "0");
    show("... makes them resident at once", resident(a, 3), "110");
    show("... they read zero", num(a[0] + a[2 * PG - 1]), "0");
    minor_faults();
    before = minor_faults();
    a[5] = 'm';
    a[PG + 5] = 'n';
    faults = minor_faults() - before;
    show("... minor faults writing them (populated writable)", num(faults), "0");
    show("munlock", res(munlock(a, 2 * PG)), "0");
    show("... the pages stay resident", resident(a, 3), "110");
    show("... and keep their data", num(a[5]), num('m'));

    show("mlock of one page length from an unaligned address", res(mlock(b + 100, PG)), "0");
    show("... locks the two pages it covers", resident(b, 3), "110");
    show("munlock from an unaligned address", res(munlock(b + 100, PG)), "0");
    munmap(b + 2 * PG, PG);
    show("mlock across an unmapped page", res(mlock(b, 3 * PG)), "-1 ENOMEM");
    show("mlock of an unmapped page", res(mlock(b + 2 * PG, PG)), "-1 ENOMEM");
    show("munlock of an unmapped page", res(munlock(b + 2 * PG, PG)), "-1 ENOMEM");
    show("mlock of length 0", res(mlock(b, 0)), "0");
    munmap(a, 3 * PG);
    munmap(b, 2 * PG);
}

/* mlockall with flags, then a new 2-page mapping: its residency right after mmap. */
static void lockall_then_map(const char *what, int flags, const char *want_resident)
{
    char label[80];
    unsigned char *p;
    long before, faults;

    snprintf(label, sizeof(label), "mlockall(%s)", what);
    show(label, res(mlockall(flags)), "0");
    p = map(2, PROT_READ | PROT_WRITE);
    if (p) {
        snprintf(label, sizeof(label), "... a new mapping after mlockall(%s)", what);
        show(label, resident(p, 2), want_resident);
        minor_faults();
        before = minor_faults();
        p[0] = 1;
        p[PG] = 2;
        faults = minor_faults() - before;
        show("... minor faults writing its 2 pages", num(faults),
             strcmp(want_resident, "11") == 0 ? "0" : "2");
        show("... takes stores", num(p[0] + p[PG]), "3");
        munmap(p, 2 * PG);
    }
    show("munlockall", res(munlockall()), "0");
}

static void lock_all(void)
{
    unsigned char *a = map(2, PROT_READ | PROT_WRITE), *p;

    if (!a)
        return;
    show("mlockall(MCL_CURRENT)", res(mlockall(MCL_CURRENT)), "0");
    show("... an existing untouched mapping becomes resident", resident(a, 2), "11");
    show("munlockall", res(munlockall()), "0");
    munmap(a, 2 * PG);

    lockall_then_map("MCL_CURRENT", MCL_CURRENT, "00");
    lockall_then_map("MCL_CURRENT|MCL_FUTURE", MCL_CURRENT | MCL_FUTURE, "11");
    lockall_then_map("MCL_FUTURE|MCL_ONFAULT", MCL_FUTURE | MCL_ONFAULT, "00");
    p = map(2, PROT_READ | PROT_WRITE);
    if (p) {
        show("a new mapping after munlockall", resident(p, 2), "00");
        munmap(p, 2 * PG);
    }
    show("mlockall(0)", res(mlockall(0)), "-1 EINVAL");
    show("mlockall(MCL_ONFAULT) alone", res(mlockall(MCL_ONFAULT)), "-1 EINVAL");
    show("mlockall with an unknown flag", res(mlockall(MCL_CURRENT | 0x100)), "-1 EINVAL");
    show("munlockall when nothing is locked", res(munlockall()), "0");
}

int main(void)
{
    residency();
    mincore_errors();
    lock_ranges();
    lock_all();
    printf("%d failures\n", failures);
    return failures != 0;
}
