/* fidelity: the access patterns of tests/fidelity/fidelity.py, which runs each one natively
 * and under vmemu and compares the kernel's fault counts with vmemu's. `fidelity CASE
 * [DIR]` runs one pattern (DIR: where the file cases put their 8 MiB file, default /tmp)
 * and prints, for each measured window, one line
 *     WINDOW minflt N majflt M
 * from getrusage(RUSAGE_SELF) (RUSAGE_CHILDREN for windows named children-*) taken just
 * before and just after it, then a checksum line, so that both runs can be seen to have
 * done the same work. Nothing here prints an address or a host-dependent value. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/wait.h>

#include "sample_check.h"
#include "sample_lcg.h"

#define MIB (1024UL * 1024)
#define ANON_PAGES 4096UL  /* 16 MiB of anonymous memory */
#define FILE_BYTES (8 * MIB)
#define FORK_PAGES 1024UL
#define THP_BYTES (64 * MIB)
#define HUGE (2 * MIB)

static unsigned long checksum;

struct window {
    long min, maj; /* counts at the start */
    int who;       /* RUSAGE_SELF or RUSAGE_CHILDREN */
};

static struct window begin(int who)
{
    struct rusage r;
    CHECK(getrusage(who, &r) == 0);
    return (struct window){r.ru_minflt, r.ru_majflt, who};
}

static void end(struct window w, const char *name)
{
    struct rusage r;
    CHECK(getrusage(w.who, &r) == 0);
    printf("%s minflt %ld majflt %ld\n", name, r.ru_minflt - w.min, r.ru_majflt - w.maj);
    fflush(stdout);
}

static char *anon(size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

static void write_pages(volatile char *p, size_t pages, char v)
{
    for (size_t i = 0; i < pages; i++)
        p[i * PG] = v;
}

static void read_pages(volatile char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        checksum += (unsigned char)p[i * PG];
}

static void anon_seq(void)
{
    char *p = anon(ANON_PAGES * PG);
    struct window w = begin(RUSAGE_SELF);
    write_pages(p, ANON_PAGES, 1);
    end(w, "write");
}

static void anon_rand(void)
{
    volatile char *p = anon(ANON_PAGES * PG);
    struct window w = begin(RUSAGE_SELF);
    /* i * odd + c modulo a power of two visits every page once, in a scattered order. */
    for (size_t i = 0; i < ANON_PAGES; i++)
        p[((i * 2654435761UL + 977) % ANON_PAGES) * PG] = 1;
    end(w, "write");
}

static void anon_read_write(void)
{
    char *p = anon(ANON_PAGES * PG);
    struct window w = begin(RUSAGE_SELF);
    read_pages(p, ANON_PAGES);
    end(w, "read");
    w = begin(RUSAGE_SELF);
    write_pages(p, ANON_PAGES, 2);
    end(w, "write");
}

static char path[512];

/* The 8 MiB file of the file cases, just written with write() of chunk bytes at a time
 * (so it is in the page cache natively, dirty, in folios of up to chunk bytes on a
 * filesystem with large folios), open read-write. */
static int make_file(const char *dir, size_t chunk)
{
    char *buf = malloc(chunk);
    CHECK(buf != NULL);
    snprintf(path, sizeof(path), "%s/fidelity-%d.dat", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (char)(i * 7);
    for (size_t off = 0; off < FILE_BYTES; off += chunk)
        CHECK(write(fd, buf, chunk) == (ssize_t)chunk);
    free(buf);
    return fd;
}

static void drop_file(int fd, void *p)
{
    CHECK(munmap(p, FILE_BYTES) == 0);
    CHECK(close(fd) == 0);
    CHECK(unlink(path) == 0);
}

static void file_read(const char *dir)
{
    int fd = make_file(dir, 64 * 1024);
    char *p = mmap(NULL, FILE_BYTES, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    struct window w = begin(RUSAGE_SELF);
    read_pages(p, FILE_BYTES / PG);
    end(w, "read");
    drop_file(fd, p);
}

/* Each page read, then incremented: a shared mapping (the write goes to the file) or a
 * private one (the write copies the page). */
static void file_read_inc(const char *dir, int flags, size_t chunk)
{
    int fd = make_file(dir, chunk);
    volatile char *p = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, flags, fd, 0);
    CHECK(p != MAP_FAILED);
    struct window w = begin(RUSAGE_SELF);
    for (size_t i = 0; i < FILE_BYTES / PG; i++) {
        char v = p[i * PG];
        p[i * PG] = (char)(v + 1);
    }
    end(w, "read-inc");
    read_pages(p, FILE_BYTES / PG);
    drop_file(fd, (void *)p);
}

static void fork_touch(void)
{
    char *p = anon(FORK_PAGES * PG);
    write_pages(p, FORK_PAGES, 1);
    struct window kids = begin(RUSAGE_CHILDREN);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct window w = begin(RUSAGE_SELF);
        write_pages(p, FORK_PAGES, 2);
        end(w, "child-write");
        _exit(0);
    }
    wait_child_ok(pid);
    end(kids, "children-total");
    struct window w = begin(RUSAGE_SELF);
    write_pages(p, FORK_PAGES, 3);
    end(w, "parent-write");
    read_pages(p, FORK_PAGES);
}

static void fork_exec(const char *self)
{
    struct window kids = begin(RUSAGE_CHILDREN);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(self, self, "noop", (char *)NULL);
        _exit(127);
    }
    wait_child_ok(pid);
    end(kids, "children-total");
}

/* malloc, calloc, realloc and free of mixed sizes, small to mmap'd (above the 128 KiB
 * threshold), every byte written, in an order fixed by the seed. */
static void malloc_churn(void)
{
    enum { SLOTS = 64, ROUNDS = 6000 };
    static char *slot[SLOTS];
    static size_t size[SLOTS];
    uint64_t s = 12345;
    struct window w = begin(RUSAGE_SELF);
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t x = sample_lcg_next(&s);
        int i = (int)(x % SLOTS);
        int kind = (int)((x >> 8) % 16);
        size_t n;
        if (kind < 9)
            n = 16 + (x >> 16) % 2048;
        else if (kind < 14)
            n = 4096 + (x >> 16) % (120 * 1024);
        else
            n = 128 * 1024 + (x >> 16) % (900 * 1024);
        int op = (int)((x >> 40) % 4);
        if (slot[i] && op == 0) {
            free(slot[i]);
            slot[i] = NULL;
            continue;
        }
        if (slot[i] && op == 1) {
            char *q = realloc(slot[i], n);
            CHECK(q != NULL);
            if (n > size[i])
                memset(q + size[i], (int)r, n - size[i]);
            slot[i] = q;
            size[i] = n;
            continue;
        }
        free(slot[i]);
        slot[i] = op == 2 ? calloc(1, n) : malloc(n);
        CHECK(slot[i] != NULL);
        if (op != 2)
            memset(slot[i], (int)r, n);
        size[i] = n;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slot[i])
            checksum += (unsigned char)slot[i][size[i] - 1];
        free(slot[i]);
    }
    end(w, "churn");
}

static void madv(int advice)
{
    char *p = anon(FORK_PAGES * PG);
    write_pages(p, FORK_PAGES, 1);
    CHECK(madvise(p, FORK_PAGES * PG, advice) == 0);
    struct window w = begin(RUSAGE_SELF);
    read_pages(p, FORK_PAGES);
    end(w, "read-after");
    w = begin(RUSAGE_SELF);
    write_pages(p, FORK_PAGES, 2);
    end(w, "write-after");
}

static void mremap_case(void)
{
    char *p = anon(FORK_PAGES * PG);
    write_pages(p, FORK_PAGES, 1);
    /* A guard page after it, so that growing must move the area. */
    char *guard = mmap(p + FORK_PAGES * PG, PG, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    struct window w = begin(RUSAGE_SELF);
    char *q = mremap(p, FORK_PAGES * PG, 2 * FORK_PAGES * PG, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED);
    write_pages(q, 2 * FORK_PAGES, 2);
    end(w, "grow-move-write");
    w = begin(RUSAGE_SELF);
    CHECK(mremap(q, 2 * FORK_PAGES * PG, FORK_PAGES * PG / 2, 0) == q);
    read_pages(q, FORK_PAGES / 2);
    end(w, "shrink-read");
    if (guard != MAP_FAILED)
        munmap(guard, PG);
}

static void thp(void)
{
    char *raw = anon(THP_BYTES + HUGE);
    char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
    /* The advice may be refused (THP not configured): the pattern is the same either way. */
    (void)madvise(p, THP_BYTES, MADV_HUGEPAGE);
    struct window w = begin(RUSAGE_SELF);
    write_pages(p, THP_BYTES / PG, 1);
    end(w, "write");
}

/* Each level takes a page of stack and touches it. */
static unsigned long descend(int depth)
{
    volatile char frame[PG - 256];
    frame[0] = (char)depth;
    frame[sizeof(frame) - 1] = (char)depth;
    if (depth == 0)
        return frame[0];
    return descend(depth - 1) + frame[sizeof(frame) - 1];
}

static void stack(void)
{
    struct window w = begin(RUSAGE_SELF);
    checksum += descend(1024);
    end(w, "grow");
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (!strcmp(c, "noop"))
        return 0;
    if (!strcmp(c, "anon_seq"))
        anon_seq();
    else if (!strcmp(c, "anon_rand"))
        anon_rand();
    else if (!strcmp(c, "anon_read_write"))
        anon_read_write();
    else if (!strcmp(c, "file_read"))
        file_read(dir);
    else if (!strcmp(c, "shared_write"))
        file_read_inc(dir, MAP_SHARED, 64 * 1024);
    else if (!strcmp(c, "shared_write_big"))
        file_read_inc(dir, MAP_SHARED, FILE_BYTES);
    else if (!strcmp(c, "shared_write_128k"))
        file_read_inc(dir, MAP_SHARED, 128 * 1024);
    else if (!strcmp(c, "private_cow_big"))
        file_read_inc(dir, MAP_PRIVATE, FILE_BYTES);
    else if (!strcmp(c, "private_cow"))
        file_read_inc(dir, MAP_PRIVATE, 64 * 1024);
    else if (!strcmp(c, "fork_touch"))
        fork_touch();
    else if (!strcmp(c, "fork_exec"))
        fork_exec(argv[0]);
    else if (!strcmp(c, "malloc_churn"))
        malloc_churn();
    else if (!strcmp(c, "madv_dontneed"))
        madv(MADV_DONTNEED);
    else if (!strcmp(c, "madv_free"))
        madv(MADV_FREE);
    else if (!strcmp(c, "mremap"))
        mremap_case();
    else if (!strcmp(c, "thp"))
        thp();
    else if (!strcmp(c, "stack"))
        stack();
    else {
        fprintf(stderr, "usage: fidelity CASE [DIR]\n");
        return 2;
    }
    printf("checksum %lu\n", checksum);
    return 0;
}
