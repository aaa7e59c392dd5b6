/* thp: transparent huge pages as the guest sees them, for tests/thp_e2e.py. Maps 64 MiB
 * (plus 2 MiB of slack so that a 2 MiB-aligned 64 MiB run lies inside whatever address the
 * kernel picks), MADV_HUGEPAGEs the aligned run and, by the mode in argv[1]:
 *   touch  writes every page, checks the bytes read back, prints the minor faults of the
 *          writes (getrusage) and AnonHugePages (summed over /proc/self/smaps);
 *   read   reads every page, then writes one byte per 2 MiB, and prints both fault counts;
 *   split  touches, then munmaps one page of the first 2 MiB, mprotects one page of the
 *          second and MADV_DONTNEEDs one page of the third, and prints AnonHugePages and
 *          the growth of thp_split_pmd in /proc/vmstat (machine-wide on Linux);
 *   fork   touches 8 MiB, forks; the child writes one byte per 2 MiB and exits, then the
 *          parent does the same: both print their write faults and AnonHugePages;
 *   plain  as touch, without MADV_HUGEPAGE (huge pages only in the always mode);
 *   place  maps 4 MiB of anonymous memory and prints whether the kernel put it on a
 *          2 MiB boundary (Linux >= 6.7 aligns anonymous mappings of >= 2 MiB);
 *   hugetlb  MAP_HUGETLB of 3 MiB (rounded to 4), 1 GiB pages asked for, touches the pages,
 *          prints the faults and the pool's HugePages_Free/Rsvd as they change, and the
 *          answer to an unaligned munmap;
 *   hugetlb-sigbus  MAP_HUGETLB|MAP_NORESERVE of 16 MiB, then touches one 2 MiB page after
 *          the other, saying so before each: the pool runs out -> SIGBUS.
 * Every mode also says whether /sys/kernel/mm/transparent_hugepage/enabled is readable. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "sample_check.h"

#define HPAGE    (2UL << 20)
#define SPAN     (64UL << 20)
#define FORK_LEN (8UL << 20)

/* Sum of a "Name: N kB" field over /proc/self/smaps. */
static long smaps_kb(const char *field)
{
    char line[256], name[64];
    long kb, total = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63[^:]: %ld kB", name, &kb) == 2 && strcmp(name, field) == 0)
            total += kb;
    fclose(f);
    return total;
}

/* A counter of /proc/vmstat, or -1. */
static long vmstat(const char *field)
{
    char line[256], name[64];
    long v, out = -1;
    FILE *f = fopen("/proc/vmstat", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %ld", name, &v) == 2 && strcmp(name, field) == 0)
            out = v;
    fclose(f);
    return out;
}

/* The 2 MiB-aligned run of len bytes inside a fresh anonymous mapping, MADV_HUGEPAGEd
 * unless plain. */
static char *map_run(unsigned long len, int plain)
{
    char *raw = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(raw != MAP_FAILED);
    char *p = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
    CHECK(plain || madvise(p, len, MADV_HUGEPAGE) == 0);
    return p;
}

static char *map_aligned(unsigned long len)
{
    return map_run(len, 0);
}

/* Writes every page of [p, p+len) with a pattern and checks it back; returns the faults. */
static long touch(char *p, unsigned long len)
{
    long f0 = minor_faults();
    for (unsigned long off = 0; off < len; off += PG)
        p[off] = (char)(off / PG * 7 + 1);
    long f1 = minor_faults();
    for (unsigned long off = 0; off < len; off += PG)
        CHECK(p[off] == (char)(off / PG * 7 + 1));
    return f1 - f0;
}

/* One byte written per 2 MiB of [p, p+len); returns the faults. */
static long write_each_hpage(char *p, unsigned long len)
{
    long f0 = minor_faults();
    for (unsigned long off = 0; off < len; off += HPAGE)
        p[off + 5 * PG] = 42;
    return minor_faults() - f0;
}

static int mode_read(void)
{
    volatile char *p = map_aligned(SPAN);
    char sum = 0;
    long f0 = minor_faults();
    for (unsigned long off = 0; off < SPAN; off += PG)
        sum += p[off];
    long f1 = minor_faults();
    CHECK(sum == 0);
    long w = write_each_hpage((char *)p, SPAN);
    printf("read faults %ld, then one write per 2 MiB: faults %ld\n", f1 - f0, w);
    printf("AnonHugePages %ld kB\n", smaps_kb("AnonHugePages"));
    return 0;
}

static int mode_split(void)
{
    char *p = map_aligned(SPAN);
    long faults = touch(p, SPAN);
    long s0 = vmstat("thp_split_pmd");
    CHECK(munmap(p + 3 * PG, PG) == 0);
    CHECK(mprotect(p + HPAGE + 3 * PG, PG, PROT_READ) == 0);
    CHECK(madvise(p + 2 * HPAGE + 3 * PG, PG, MADV_DONTNEED) == 0);
    long s1 = vmstat("thp_split_pmd");
    printf("touch faults %ld\n", faults);
    printf("after the splits: AnonHugePages %ld kB, thp_split_pmd grew by %ld\n",
           smaps_kb("AnonHugePages"), s0 < 0 ? -1 : s1 - s0);
    long f0 = minor_faults();
    CHECK(p[2 * HPAGE + 3 * PG] == 0); /* the page given back reads as zero */
    CHECK(p[2 * HPAGE + 4 * PG] == (char)((2 * HPAGE + 4 * PG) / PG * 7 + 1));
    CHECK(p[HPAGE + 3 * PG] == (char)((HPAGE + 3 * PG) / PG * 7 + 1));
    p[2 * HPAGE + 3 * PG] = 9;
    printf("faults to use the split pages again %ld\n", minor_faults() - f0);
    return 0;
}

static int mode_fork(void)
{
    char *p = map_aligned(FORK_LEN);
    long faults = touch(p, FORK_LEN);
    printf("touch faults %ld, AnonHugePages %ld kB\n", faults, smaps_kb("AnonHugePages"));
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        long w = write_each_hpage(p, FORK_LEN);
        printf("child: write faults %ld, AnonHugePages %ld kB\n", w, smaps_kb("AnonHugePages"));
        CHECK(p[FORK_LEN - PG] == (char)((FORK_LEN - PG) / PG * 7 + 1));
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    long w = write_each_hpage(p, FORK_LEN);
    printf("parent: write faults %ld, AnonHugePages %ld kB\n", w, smaps_kb("AnonHugePages"));
    return 0;
}

static int mode_hugetlb(void)
{
    void *big = mmap(NULL, 4 * HPAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (30 << 26), -1, 0);
    printf("MAP_HUGETLB with 1 GiB pages: %s\n", big == MAP_FAILED ? errname(errno) : "mapped");
    long free0 = meminfo_hugepages("Free"), rsvd0 = meminfo_hugepages("Rsvd");
    char *p = mmap(NULL, 3UL << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) {
        printf("MAP_HUGETLB of 3 MiB: %s\n", errname(errno));
        return 0;
    }
    printf("MAP_HUGETLB of 3 MiB: mapped, 2 MiB-aligned: %s\n",
           ((uintptr_t)p & (HPAGE - 1)) == 0 ? "yes" : "no");
    printf("pool: free %ld, reserved %ld more\n", free0, meminfo_hugepages("Rsvd") - rsvd0);
    long faults = touch(p, 2 * HPAGE);
    printf("touch faults %ld, free %ld, reserved %ld\n", faults, meminfo_hugepages("Free"),
           meminfo_hugepages("Rsvd") - rsvd0);
    printf("munmap of 4 KiB inside: %s\n", munmap(p + PG, PG) == 0 ? "ok" : errname(errno));
    CHECK(munmap(p, 2 * HPAGE) == 0);
    printf("after munmap: free %ld\n", meminfo_hugepages("Free"));
    return 0;
}

static int mode_hugetlb_sigbus(void)
{
    char *p = mmap(NULL, 8 * HPAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        printf("MAP_HUGETLB|MAP_NORESERVE: %s\n", errname(errno));
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        printf("touching huge page %d\n", i);
        fflush(stdout);
        p[(unsigned long)i * HPAGE] = 1;
    }
    printf("all touched\n");
    return 0;
}

static int mode_place(void)
{
    char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    printf("a 4 MiB anonymous mapping is %s\n",
           ((uintptr_t)p & (HPAGE - 1)) == 0 ? "2 MiB-aligned" : "not 2 MiB-aligned");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "touch";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    printf("THP mode file: %s\n", f ? "readable" : "absent");
    if (f)
        fclose(f);
    if (strcmp(mode, "read") == 0)
        return mode_read();
    if (strcmp(mode, "split") == 0)
        return mode_split();
    if (strcmp(mode, "fork") == 0)
        return mode_fork();
    if (strcmp(mode, "place") == 0)
        return mode_place();
    if (strcmp(mode, "hugetlb") == 0)
        return mode_hugetlb();
    if (strcmp(mode, "hugetlb-sigbus") == 0)
        return mode_hugetlb_sigbus();
    char *p = map_run(SPAN, strcmp(mode, "plain") == 0);
    long faults = touch(p, SPAN);
    printf("touch faults %ld\n", faults);
    printf("AnonHugePages %ld kB\n", smaps_kb("AnonHugePages"));
    return 0;
}
