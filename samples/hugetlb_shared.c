/* hugetlb_shared: 2 MiB hugetlb pages that are shared or moved, for tests/thp_e2e.py (run
 * with a pool of 3 pages under vmemu; natively on a host with none, every mode prints the
 * errno of its first call). By the mode in argv[1]:
 *   shared  MAP_SHARED|MAP_HUGETLB of 4 MiB, touches its first page, forks; the child
 *           writes both pages (the second first touched after fork) and the parent reads
 *           the child's bytes; prints faults and the pool's HugePages_Free/Rsvd, and the
 *           answer to MADV_REMOVE (EINVAL under vmemu: left out);
 *   shm     shmget(SHM_HUGETLB) of 3 MiB (reserved: 2 pages), a second segment the pool
 *           cannot cover, shmat at a 4 KiB-aligned address, then a fork whose child
 *           attaches the segment and writes, the parent reading the bytes; the pool after
 *           shmdt and IPC_RMID;
 *   mremap  MAP_PRIVATE|MAP_HUGETLB of 4 MiB, its first page touched: mremap growing it,
 *           off 2 MiB boundaries, shrinking it (lengths round up to 2 MiB), moving it
 *           (MAYMOVE|FIXED) and the bytes and faults seen there, the pool as it goes;
 *   memfd   memfd_create(MFD_HUGETLB), ftruncate to 4 MiB (and to 3 MiB: EINVAL), write()
 *           (EINVAL), two MAP_SHARED mappings of it: a write through one is read through
 *           the other; a MAP_PRIVATE one copies on write; the pool as it goes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sample_check.h"

#define HPAGE (2UL << 20)
#define PG    4096UL

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif

static void show_pool(const char *when)
{
    printf("%s: free %ld, reserved %ld\n", when, meminfo_hugepages("Free"),
           meminfo_hugepages("Rsvd"));
}

static int mode_shared(void)
{
    char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) {
        printf("MAP_SHARED|MAP_HUGETLB: %s\n", errname(errno));
        return 0;
    }
    show_pool("mapped");
    p[0] = 1;
    show_pool("first page touched");
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        long f0 = minor_faults();
        p[HPAGE + 5] = 42; /* first touched after fork */
        p[7] = 43;
        printf("child: faults %ld, sees the parent's byte: %s\n", minor_faults() - f0,
               p[0] == 1 ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    long f0 = minor_faults();
    char second = p[HPAGE + 5], first = p[7];
    long faults = minor_faults() - f0;
    printf("parent sees the child's bytes: %s %s, faults %ld\n", second == 42 ? "yes" : "no",
           first == 43 ? "yes" : "no", faults);
    show_pool("both touched");
    printf("MADV_REMOVE: %s\n", madvise(p, HPAGE, MADV_REMOVE) == 0 ? "ok" : errname(errno));
    CHECK(munmap(p, 2 * HPAGE) == 0);
    show_pool("after munmap");
    return 0;
}

static int mode_shm(void)
{
    int id = shmget(IPC_PRIVATE, 3UL << 20, IPC_CREAT | 0600 | SHM_HUGETLB);
    if (id < 0) {
        printf("shmget SHM_HUGETLB: %s\n", errname(errno));
        return 0;
    }
    show_pool("shmget of 3 MiB");
    int big = shmget(IPC_PRIVATE, 4 * HPAGE, IPC_CREAT | 0600 | SHM_HUGETLB);
    printf("second segment of 8 MiB: %s\n", big < 0 ? errname(errno) : "created");
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("segsz %lu\n", (unsigned long)ds.shm_segsz);
    char *a = shmat(id, NULL, 0);
    CHECK(a != (void *)-1);
    printf("attached, 2 MiB-aligned: %s\n", ((uintptr_t)a & (HPAGE - 1)) == 0 ? "yes" : "no");
    void *odd = shmat(id, a + 4 * HPAGE + PG, 0);
    printf("shmat at a 4 KiB-aligned address: %s\n",
           odd == (void *)-1 ? errname(errno) : "attached");
    a[0] = 'x';
    a[HPAGE + 5] = 'y';
    show_pool("touched");
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *b = shmat(id, NULL, 0);
        CHECK(b != (void *)-1);
        printf("child sees: %c %c\n", b[0], b[HPAGE + 5]);
        b[HPAGE + 100] = 'z';
        CHECK(shmdt(b) == 0);
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("parent sees the child's byte: %s\n", a[HPAGE + 100] == 'z' ? "yes" : "no");
    CHECK(shmdt(a) == 0);
    show_pool("after shmdt");
    CHECK(shmctl(id, IPC_RMID, NULL) == 0);
    show_pool("after IPC_RMID");
    return 0;
}

static int mode_mremap(void)
{
    char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) {
        printf("MAP_HUGETLB: %s\n", errname(errno));
        return 0;
    }
    p[5] = 'a';
    show_pool("first page touched");
    void *r = mremap(p, 2 * HPAGE, 3 * HPAGE, MREMAP_MAYMOVE);
    printf("grow: %s\n", r == MAP_FAILED ? errname(errno) : "moved or grown");
    r = mremap(p + PG, HPAGE, HPAGE, 0);
    printf("from inside a page: %s\n", r == MAP_FAILED ? errname(errno) : "ok");
    r = mremap(p, 2 * HPAGE, HPAGE + PG, 0);
    printf("shrink to 2 MiB + 4 KiB (rounded up: no change): %s\n",
           r == p ? "in place" : errname(errno));
    show_pool("unchanged");
    r = mremap(p, 2 * HPAGE, HPAGE - PG, 0);
    printf("shrink to 2 MiB - 4 KiB: %s\n", r == p ? "in place" : errname(errno));
    show_pool("shrunk");
    /* A free 2 MiB-aligned place for the move. */
    char *dst =
        mmap(NULL, 2 * HPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(dst != MAP_FAILED);
    dst = (char *)(((uintptr_t)dst + HPAGE - 1) & ~(HPAGE - 1));
    r = mremap(p, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PG);
    printf("move to a 4 KiB-aligned address: %s\n", r == MAP_FAILED ? errname(errno) : "moved");
    long f0 = minor_faults();
    r = mremap(p, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    printf("move: %s, byte %c, faults %ld\n", r == dst ? "moved" : errname(errno), dst[5],
           minor_faults() - f0);
    dst[HPAGE - 1] = 'b';
    show_pool("moved");
    CHECK(munmap(dst, HPAGE) == 0);
    show_pool("after munmap");
    return 0;
}

static int mode_memfd(void)
{
    int fd = (int)syscall(SYS_memfd_create, "huge", MFD_HUGETLB);
    if (fd < 0) {
        printf("memfd_create MFD_HUGETLB: %s\n", errname(errno));
        return 0;
    }
    printf("ftruncate to 4 MiB: %s\n", ftruncate(fd, 2 * HPAGE) == 0 ? "ok" : errname(errno));
    printf("ftruncate to 3 MiB: %s\n", ftruncate(fd, 3UL << 20) == 0 ? "ok" : errname(errno));
    printf("write: %s\n", write(fd, "x", 1) == 1 ? "ok" : errname(errno));
    char *a = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (a == MAP_FAILED) {
        printf("mmap: %s\n", errname(errno));
        return 0;
    }
    char *b = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(b != MAP_FAILED);
    show_pool("two mappings");
    a[HPAGE + 9] = 'q';
    printf("the other mapping reads: %c\n", b[HPAGE + 9]);
    show_pool("one page touched");
    char *c = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(c != MAP_FAILED);
    char before = c[HPAGE + 9];
    c[HPAGE + 9] = 'p';
    printf("a private mapping reads %c, then writes: shared %c, private %c\n", before, b[HPAGE + 9],
           c[HPAGE + 9]);
    show_pool("private copy");
    CHECK(munmap(c, 2 * HPAGE) == 0);
    CHECK(munmap(a, 2 * HPAGE) == 0 && munmap(b, 2 * HPAGE) == 0);
    close(fd);
    show_pool("closed");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "shared";
    if (strcmp(mode, "shm") == 0)
        return mode_shm();
    if (strcmp(mode, "mremap") == 0)
        return mode_mremap();
    if (strcmp(mode, "memfd") == 0)
        return mode_memfd();
    return mode_shared();
}
