/* mmap: the mapping calls a libc and a program use, each step printing what it observed.
 * Demonstrates: private anonymous RW memory; PROT_NONE reserved then opened with mprotect;
 * MAP_FIXED replacing part of a mapping (the rest keeps its contents); munmap of a middle
 * part splitting one area in two (the hole is free again, both sides keep their data);
 * a read-only file mapping of the program's own executable (/proc/self/exe) showing the
 * ELF magic; MAP_FIXED_NOREPLACE over a mapping failing with EEXIST; mprotect to
 * read-only and back to read-write; mprotect over a hole or a refused area (Linux changes
 * the areas before it, then fails). No addresses are printed: output is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static int failures;

static void check(const char *what, int ok)
{
    printf("%-44s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

static unsigned char *map_anon(size_t pages, int prot)
{
    void *p = mmap(NULL, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Fills page i of p with the byte 'A' + i. */
static void fill_pages(unsigned char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        memset(p + i * PG, 'A' + (int)i, PG);
}

static void anon_rw(void)
{
    unsigned char *p = map_anon(4, PROT_READ | PROT_WRITE);
    unsigned long sum = 0;

    check("anonymous mapping created", p != NULL);
    if (!p)
        return;
    check("fresh anonymous memory reads zero", p[0] == 0 && p[3 * PG + 17] == 0);
    for (size_t i = 0; i < 4 * PG; i++)
        p[i] = (unsigned char)(i * 7);
    for (size_t i = 0; i < 4 * PG; i++)
        sum += p[i];
    printf("anonymous checksum: %lu\n", sum);
    check("munmap anonymous", munmap(p, 4 * PG) == 0);
}

static void prot_none_then_open(void)
{
    unsigned char *p = map_anon(2, PROT_NONE);

    check("PROT_NONE mapping created", p != NULL);
    if (!p)
        return;
    check("mprotect PROT_NONE -> RW", mprotect(p, 2 * PG, PROT_READ | PROT_WRITE) == 0);
    p[PG + 5] = 42;
    check("write after mprotect reads back", p[PG + 5] == 42 && p[0] == 0);
    munmap(p, 2 * PG);
}

static void fixed_over_part(void)
{
    unsigned char *p = map_anon(8, PROT_READ | PROT_WRITE);
    void *q;
    char seen[9];

    if (!p) {
        check("8-page mapping created", 0);
        return;
    }
    fill_pages(p, 8);
    q = mmap(p + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0);
    check("MAP_FIXED over pages 2-3 returns the address", q == p + 2 * PG);
    for (int i = 0; i < 8; i++)
        seen[i] = p[i * PG] ? (char)p[i * PG] : '0';
    seen[8] = '\0';
    printf("first byte of each page after MAP_FIXED: %s\n", seen);
    munmap(p, 8 * PG);
}

static void unmap_middle(void)
{
    unsigned char *p = map_anon(6, PROT_READ | PROT_WRITE);
    void *q;

    if (!p) {
        check("6-page mapping created", 0);
        return;
    }
    fill_pages(p, 6);
    check("munmap of pages 2-3 (split)", munmap(p + 2 * PG, 2 * PG) == 0);
    check("both sides keep their data",
          p[0] == 'A' && p[PG] == 'B' && p[4 * PG] == 'E' && p[5 * PG + PG - 1] == 'F');
    /* The hole is free: NOREPLACE may map exactly there. */
    q = mmap(p + 2 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
             0);
    check("the hole can be mapped again", q == p + 2 * PG);
    check("the refilled hole reads zero", q != MAP_FAILED && p[2 * PG] == 0);
    check("mprotect across the three parts", mprotect(p, 6 * PG, PROT_READ) == 0);
    munmap(p, 6 * PG);
}

static void map_own_executable(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    unsigned char *p;

    check("open /proc/self/exe", fd >= 0);
    if (fd < 0)
        return;
    p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    check("mmap of the executable", p != MAP_FAILED);
    if (p != MAP_FAILED) {
        printf("ELF magic: %02x %c%c%c, class %d\n", p[0], p[1], p[2], p[3], p[4]);
        munmap(p, PG);
    }
    close(fd);
}

static void noreplace_eexist(void)
{
    unsigned char *p = map_anon(2, PROT_READ | PROT_WRITE);
    void *q;

    if (!p) {
        check("2-page mapping created", 0);
        return;
    }
    p[PG] = 9;
    errno = 0;
    q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
             -1, 0);
    check("MAP_FIXED_NOREPLACE over a mapping fails", q == MAP_FAILED);
    check("... with EEXIST", errno == EEXIST);
    check("... and leaves the old page alone", p[PG] == 9);
    munmap(p, 2 * PG);
}

static void protect_and_write(void)
{
    unsigned char *p = map_anon(1, PROT_READ | PROT_WRITE);

    if (!p) {
        check("1-page mapping created", 0);
        return;
    }
    p[100] = 1;
    check("mprotect RW -> R", mprotect(p, PG, PROT_READ) == 0);
    check("read-only page still reads", p[100] == 1);
    check("mprotect R -> RW", mprotect(p, PG, PROT_READ | PROT_WRITE) == 0);
    p[100] = 2;
    check("write after mprotect RW", p[100] == 2);
    /* Raw syscall: musl's mprotect() rounds the address down before the kernel sees it. */
    errno = 0;
    check("mprotect of an unaligned address: EINVAL",
          syscall(SYS_mprotect, p + 1, PG, PROT_READ) == -1 && errno == EINVAL);
    munmap(p, PG);
    errno = 0;
    check("mprotect of an unmapped page: ENOMEM",
          mprotect(p, PG, PROT_READ) == -1 && errno == ENOMEM);
}

static sigjmp_buf probe_env;

static void on_probe_segv(int sig)
{
    (void)sig;
    siglongjmp(probe_env, 1);
}

/* Whether a store to p succeeds (a SIGSEGV handler catches a refused one). */
static int can_write(volatile unsigned char *p)
{
    struct sigaction sa, old;
    volatile int ok = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_probe_segv;
    sigaction(SIGSEGV, &sa, &old);
    if (sigsetjmp(probe_env, 1) == 0) {
        *p = *p;
        ok = 1;
    }
    sigaction(SIGSEGV, &old, NULL);
    return ok;
}

/* Linux's mprotect changes area after area: a hole (ENOMEM) or an area it refuses (EACCES)
 * ends the walk, and the areas before it keep their new protection (found by
 * samples/fuzz_memmix.c: vmemu changed nothing). */
static void protect_up_to_a_hole(void)
{
    unsigned char *p = map_anon(4, PROT_READ | PROT_WRITE);
    int fd = open("/proc/self/exe", O_RDONLY);

    if (!p || fd < 0) {
        check("4-page mapping and /proc/self/exe", 0);
        return;
    }
    munmap(p + 2 * PG, PG);
    errno = 0;
    check("mprotect over a hole: ENOMEM", mprotect(p, 4 * PG, PROT_READ) == -1 && errno == ENOMEM);
    check("... the pages before the hole are read-only", !can_write(p) && !can_write(p + PG));
    check("... the page after it stays writable", can_write(p + 3 * PG));
    munmap(p, 4 * PG);
    p = map_anon(2, PROT_READ);
    check("shared map of a read-only file after it",
          p && mmap(p + PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == p + PG);
    errno = 0;
    check("mprotect RW across both: EACCES",
          mprotect(p, 2 * PG, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    check("... the anonymous page before it is writable", p && can_write(p));
    check("... the file page is not", p && !can_write(p + PG));
    if (p)
        munmap(p, 2 * PG);
    close(fd);
}

/* VmLck of /proc/self/status, in kB (-1 when it cannot be read). */
static long vm_locked_kb(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* mlock over a range with a hole: Linux locks the areas before the hole and fails with
 * ENOMEM (apply_vma_lock_flags walks the areas in order); munlock likewise. */
static void lock_up_to_a_hole(void)
{
    unsigned char *p = map_anon(4, PROT_READ | PROT_WRITE);
    long before = vm_locked_kb();

    if (!p || before < 0) {
        check("4-page mapping and VmLck", 0);
        return;
    }
    munmap(p + 2 * PG, PG);
    errno = 0;
    check("mlock over a hole: ENOMEM", mlock(p, 4 * PG) == -1 && errno == ENOMEM);
    check("... the 2 pages before the hole are locked (VmLck +8 kB)",
          vm_locked_kb() - before == 2 * PG / 1024);
    errno = 0;
    check("munlock over the hole: ENOMEM", munlock(p, 4 * PG) == -1 && errno == ENOMEM);
    check("... and the pages before it are unlocked", vm_locked_kb() == before);
    munmap(p, 4 * PG);
}

int main(void)
{
    anon_rw();
    prot_none_then_open();
    fixed_over_part();
    unmap_middle();
    map_own_executable();
    noreplace_eexist();
    protect_and_write();
    protect_up_to_a_hole();
    lock_up_to_a_hole();
    printf("%d failures\n", failures);
    return failures != 0;
}
