/* sample_check.h: the printing and checking helpers shared by the memory-API samples (brk,
 * madvise, mincore_mlock, mremap, shared_anon, shared_file), which tests/mmcompare.py runs
 * natively and under vmemu and compares line by line, and by the self-checking samples
 * (futex, events, fifo, locks: CHECK, now_ms, sleep_ms, wait_child_ok). Each sample is one
 * file built on its own, so the helpers are static here; `static inline` keeps the ones a
 * sample does not use from warning. Output formats are part of the comparison: change them
 * for all samples at once, never per sample. Nothing here prints an address. */
#ifndef SAMPLE_CHECK_H
#define SAMPLE_CHECK_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

/* Observations that were not what Linux gives; main prints it and exits non-zero if any. */
static int failures __attribute__((unused));

/* errno as its name (strerror's text differs between glibc and musl). */
static inline const char *errname(int e)
{
    static const struct {
        int e;
        const char *name;
    } names[] = {
        {EINVAL, "EINVAL"}, {ENOMEM, "ENOMEM"}, {EFAULT, "EFAULT"},         {EPERM, "EPERM"},
        {EACCES, "EACCES"}, {EAGAIN, "EAGAIN"}, {EBUSY, "EBUSY"},           {EBADF, "EBADF"},
        {ENOSYS, "ENOSYS"}, {ENODEV, "ENODEV"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {EEXIST, "EEXIST"},
    };
    static char other[32];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].e == e)
            return names[i].name;
    snprintf(other, sizeof(other), "errno %d", e);
    return other;
}

/* A syscall result as text: the value, or "-1 ENAME" (errno read at once). */
static inline const char *res(long r)
{
    static char buf[4][48];
    static int next;
    char *b = buf[next++ % 4];

    if (r == -1)
        snprintf(b, sizeof(buf[0]), "-1 %s", errname(errno));
    else
        snprintf(b, sizeof(buf[0]), "%ld", r);
    return b;
}

/* A number as text (four buffers in turn, so that one show() line may use several). */
static inline const char *num(long v)
{
    static char buf[4][32];
    static int next;
    char *b = buf[next++ % 4];

    snprintf(b, sizeof(buf[0]), "%ld", v);
    return b;
}

/* Prints one observation; counts a failure when want is given and differs (want NULL: the
 * value is printed for information only, e.g. where kernels may differ). */
static inline void show(const char *what, const char *got, const char *want)
{
    printf("%-58s %s\n", what, got);
    if (want && strcmp(got, want) != 0) {
        printf("    expected %s\n", want);
        failures++;
    }
}

/* The minor faults of this process so far (getrusage; vmemu reports its own counters). */
static inline long minor_faults(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Whether the kernel this runs on maps the shared zero page on a read fault of untouched
 * private anonymous memory (mainline Linux and vmemu do; some hosts' kernels allocate a
 * zeroed page instead, so the later write takes no fault). Probed once: a write after a
 * read faults again only when the read mapped the zero page. */
static inline int read_fault_maps_zero_page(void)
{
    static int known = -1;

    if (known < 0) {
        volatile char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        (void)p[0];
        long before = minor_faults();
        p[0] = 1;
        known = minor_faults() - before > 0;
        munmap((void *)p, PG);
    }
    return known;
}

/* mincore of pages pages at p (raw syscall: libcs may check arguments themselves) as a
 * string of 0/1, one digit per page, or "-1 ENAME". */
static inline const char *resident(void *p, size_t pages)
{
    static char buf[4][80];
    static int next;
    char *b = buf[next++ % 4];
    unsigned char vec[64];

    if (pages > sizeof(vec) || pages >= sizeof(buf[0]))
        return "too many pages";
    if (syscall(SYS_mincore, p, pages * PG, vec) != 0)
        return res(-1);
    for (size_t i = 0; i < pages; i++)
        b[i] = (char)('0' + (vec[i] & 1));
    b[pages] = '\0';
    return b;
}

/* A wrong result in a self-checking sample (futex, events): one FAIL line naming the
 * check, and status 1. */
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("FAIL line %d: %s (errno %d)\n", __LINE__, #cond, errno);              \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Sleeps ms milliseconds. */
static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits for child pid and CHECKs that it exited with status 0. */
static inline void wait_child_ok(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* HugePages_<field> of /proc/meminfo (Total, Free, Rsvd, Surp), or -1 when absent. */
static inline long meminfo_hugepages(const char *field)
{
    char line[256], name[64];
    long v, out = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "HugePages_%63[^:]: %ld", name, &v) == 2 && strcmp(name, field) == 0)
            out = v;
    fclose(f);
    return out;
}

#endif /* SAMPLE_CHECK_H */
