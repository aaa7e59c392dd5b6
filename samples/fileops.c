/* fileops: the file syscalls that used to be ENOSYS under vmemu (creat, xattrs, utime,
 * utimes, futimesat, readahead, preadv/pwritev and their v2 forms, copy_file_range,
 * memfd_create with seals, inotify, epoll_pwait2), in a mkdtemp directory under /tmp.
 * Prints deterministic lines (no inode numbers, no times) and exits 0 when every check
 * held; tests/fileops_e2e.py compares the output with the native run's. Raw syscalls
 * where musl has no wrapper. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <utime.h>

#include "sample_check.h"

#ifndef FIOQSIZE
#define FIOQSIZE 0x5460
#endif

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#define RWF_HIPRI_ 0x01
#define RWF_DSYNC_ 0x02
#define RWF_APPEND_ 0x10

static char dir[64];

static char *path(const char *name)
{
    static char buf[4][128];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
    return b;
}

static long err(long r)
{
    return r < 0 ? -errno : r;
}

static void test_creat(void)
{
    int fd = creat(path("c"), 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello", 5) == 5);
    CHECK(read(fd, (char[4]){0}, 1) == -1 && errno == EBADF); /* O_WRONLY */
    close(fd);
    fd = creat(path("c"), 0640); /* truncates */
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("creat: size %ld mode %o\n", (long)st.st_size, (unsigned)(st.st_mode & 0777 & ~0022));
    close(fd);
    fd = open(path("c"), O_RDWR);
    CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10 && fsync(fd) == 0 && fstat(fd, &st) == 0);
    int64_t used = -1;
    long rc = ioctl(fd, FIOQSIZE, &used);
    printf("FIOQSIZE: %ld, the space used as stat says: %s\n", rc,
           used == (int64_t)st.st_blocks * 512 ? "yes" : "no");
    close(fd);
    printf("creat in missing dir: %ld\n", err(creat(path("no/x"), 0600)));
}

static void test_xattr(void)
{
    char f[128], l[128], buf[256];
    snprintf(f, sizeof(f), "%s", path("x"));
    snprintf(l, sizeof(l), "%s", path("xl"));
    int fd = open(f, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    CHECK(symlink("x", l) == 0);
    long r = err(setxattr(f, "user.a", "one", 3, 0));
    if (r == -ENOTSUP || r == -EOPNOTSUPP) {
        printf("xattr: user xattrs unsupported (%s)\n", errname(-r));
        printf("fsetxattr: %ld\n", err(fsetxattr(fd, "user.b", "2", 1, 0)));
        close(fd);
        return;
    }
    printf("setxattr: %ld\n", r);
    printf("setxattr XATTR_CREATE again: %ld\n", err(setxattr(f, "user.a", "x", 1, XATTR_CREATE)));
    printf("setxattr XATTR_REPLACE missing: %ld\n",
           err(setxattr(f, "user.zz", "x", 1, XATTR_REPLACE)));
    printf("setxattr bad flags: %ld\n", err(setxattr(f, "user.a", "x", 1, 8)));
    printf("fsetxattr: %ld\n", err(fsetxattr(fd, "user.b", "two", 3, 0)));
    printf("lsetxattr on symlink (user.*): %ld\n", err(lsetxattr(l, "user.c", "3", 1, 0)));
    printf("getxattr size query: %ld\n", err(getxattr(f, "user.a", NULL, 0)));
    memset(buf, 0, sizeof(buf));
    r = err(getxattr(l, "user.a", buf, sizeof(buf)));
    printf("getxattr via symlink: %ld %s\n", r, buf);
    printf("getxattr ERANGE: %ld\n", err(getxattr(f, "user.a", buf, 1)));
    printf("getxattr missing: %ld\n", err(getxattr(f, "user.none", buf, sizeof(buf))));
    printf("lgetxattr on symlink: %ld\n", err(lgetxattr(l, "user.a", buf, sizeof(buf))));
    memset(buf, 0, sizeof(buf));
    r = err(fgetxattr(fd, "user.b", buf, sizeof(buf)));
    printf("fgetxattr: %ld %s\n", r, buf);
    r = err(listxattr(f, NULL, 0));
    printf("listxattr size: %ld\n", r);
    memset(buf, 0, sizeof(buf));
    r = err(flistxattr(fd, buf, sizeof(buf)));
    int has_a = 0, has_b = 0;
    for (long i = 0; i < r; i += (long)strlen(buf + i) + 1) {
        has_a |= strcmp(buf + i, "user.a") == 0;
        has_b |= strcmp(buf + i, "user.b") == 0;
    }
    printf("flistxattr: %ld a=%d b=%d\n", r, has_a, has_b);
    printf("llistxattr on symlink: %ld\n", err(llistxattr(l, buf, sizeof(buf))));
    printf("removexattr: %ld\n", err(removexattr(f, "user.a")));
    printf("removexattr again: %ld\n", err(removexattr(f, "user.a")));
    printf("lremovexattr on symlink: %ld\n", err(lremovexattr(l, "user.b")));
    printf("fremovexattr: %ld\n", err(fremovexattr(fd, "user.b")));
    printf("getxattr empty name: %ld\n", err(getxattr(f, "", buf, sizeof(buf))));
    printf("getxattr bad path ptr: %ld\n", err(syscall(SYS_getxattr, (char *)8, "user.a", buf, 8)));
    printf("fgetxattr bad fd: %ld\n", err(fgetxattr(999, "user.a", buf, 8)));
    close(fd);
}

static void test_utime(void)
{
    char f[128];
    struct stat st;
    snprintf(f, sizeof(f), "%s", path("t"));
    close(open(f, O_CREAT | O_WRONLY, 0600));
    struct utimbuf ub = {.actime = 1000000, .modtime = 2000000};
    printf("utime: %ld\n", err(utime(f, &ub)));
    CHECK(stat(f, &st) == 0);
    printf("utime: atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    struct timeval tv[2] = {{3000000, 5}, {4000000, 7}};
    printf("utimes: %ld\n", err(utimes(f, tv)));
    CHECK(stat(f, &st) == 0);
    printf("utimes: atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atime,
           (long)st.st_atim.tv_nsec, (long)st.st_mtime, (long)st.st_mtim.tv_nsec);
    struct timeval bad[2] = {{1, 1000000}, {1, 0}};
    printf("utimes bad usec: %ld\n", err(utimes(f, bad)));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    struct timeval tv2[2] = {{5000000, 0}, {6000000, 0}};
    printf("futimesat: %ld\n", err(syscall(SYS_futimesat, dfd, "t", tv2)));
    CHECK(stat(f, &st) == 0);
    printf("futimesat: atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    time_t before = time(NULL);
    printf("utime NULL: %ld\n", err(utime(f, NULL)));
    CHECK(stat(f, &st) == 0);
    printf("utime NULL is now: %d\n", st.st_mtime >= before && st.st_mtime <= time(NULL) + 1);
    printf("utime missing: %ld\n", err(utime(path("none"), &ub)));
    printf("futimesat bad fd: %ld\n", err(syscall(SYS_futimesat, 999, "t", tv2)));
    close(dfd);
}

static void test_readahead(void)
{
    int fd = open(path("c"), O_RDONLY);
    CHECK(fd >= 0);
    printf("readahead: %ld\n", err(readahead(fd, 0, 4096)));
    close(fd);
    printf("readahead bad fd: %ld\n", err(readahead(999, 0, 4096)));
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    printf("readahead pipe: %ld\n", err(readahead(pfd[0], 0, 4096)));
    close(pfd[0]);
    close(pfd[1]);
    fd = open(path("c"), O_WRONLY);
    printf("readahead write-only: %ld\n", err(readahead(fd, 0, 4096)));
    close(fd);
}

static void test_preadv(void)
{
    int fd = open(path("v"), O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    struct iovec w[2] = {{"abcd", 4}, {"efgh", 4}};
    printf("pwritev: %ld\n", err(pwritev(fd, w, 2, 10)));
    printf("offset after pwritev: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char a[3] = {0}, b[8] = {0};
    struct iovec r[2] = {{a, 2}, {b, 7}};
    long n = err(preadv(fd, r, 2, 11));
    printf("preadv: %ld %.2s %.5s\n", n, a, b);
    printf("preadv negative offset: %ld\n", err(preadv(fd, r, 2, -5)));
    printf("preadv bad fd: %ld\n", err(preadv(999, r, 2, 0)));
    struct iovec w2 = {"XY", 2};
    printf("pwritev2 cur: %ld\n", err(syscall(SYS_pwritev2, fd, &w2, 1, -1L, 0L, 0)));
    printf("offset after pwritev2 cur: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("pwritev2 dsync at 0: %ld\n", err(syscall(SYS_pwritev2, fd, &w2, 1, 4L, 0L, RWF_DSYNC_)));
    printf("pwritev2 append: %ld\n", err(syscall(SYS_pwritev2, fd, &w2, 1, 0L, 0L, RWF_APPEND_)));
    printf("offset after pwritev2 append: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("pwritev2 unknown flag: %ld\n",
           err(syscall(SYS_pwritev2, fd, &w2, 1, 0L, 0L, 0x40000000)));
    char all[32] = {0};
    struct iovec ra = {all, sizeof(all)};
    n = err(syscall(SYS_preadv2, fd, &ra, 1, 0L, 0L, RWF_HIPRI_));
    printf("preadv2 hipri: %ld\n", n);
    for (long i = 0; i < n; i++)
        if (all[i] == 0)
            all[i] = '.';
    printf("content: %.*s\n", (int)(n > 0 ? n : 0), all);
    lseek(fd, 12, SEEK_SET);
    memset(all, 0, sizeof(all));
    n = err(syscall(SYS_preadv2, fd, &ra, 1, -1L, 0L, 0));
    printf("preadv2 cur: %ld %s offset %ld\n", n, all, (long)lseek(fd, 0, SEEK_CUR));
    printf("preadv2 offset -2: %ld\n", err(syscall(SYS_preadv2, fd, &ra, 1, -2L, 0L, 0)));

    /* A MAP_SHARED mapping sees pwritev, preadv sees stores through the mapping. */
    CHECK(ftruncate(fd, 8192) == 0);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    struct iovec w3[2] = {{"map", 3}, {"ped", 3}};
    CHECK(pwritev(fd, w3, 2, 5000) == 6);
    printf("mapping sees pwritev: %.6s\n", m + 5000);
    memcpy(m + 6000, "stored", 6);
    char s[7] = {0};
    struct iovec rs = {s, 6};
    CHECK(preadv(fd, &rs, 1, 6000) == 6);
    printf("preadv sees store: %s\n", s);
    munmap(m, 8192);
    close(fd);
}

static void fill(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (char)(seed >> 16);
    }
}

/* Copies in to out with copy_file_range until EOF; returns the total or -errno. */
static long copy_all(int in, int out)
{
    long total = 0;
    for (;;) {
        long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, 1 << 20, 0);
        if (n < 0)
            return -errno;
        if (n == 0)
            return total;
        total += n;
    }
}

static void test_copy_file_range(void)
{
    enum { N = 100000 };
    static char src[N], dst[N];
    fill(src, N, 7);
    int in = open(path("src"), O_CREAT | O_RDWR | O_TRUNC, 0600);
    int out = open(path("dst"), O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(in >= 0 && out >= 0);
    CHECK(write(in, src, N) == N);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    printf("copy_file_range all: %ld\n", copy_all(in, out));
    CHECK(pread(out, dst, N, 0) == N);
    printf("copy equal: %d\n", memcmp(src, dst, N) == 0);
    printf("offsets after: in %ld out %ld\n", (long)lseek(in, 0, SEEK_CUR),
           (long)lseek(out, 0, SEEK_CUR));

    /* Explicit offsets: updated in memory, descriptors' offsets untouched. */
    int64_t oin = 1000, oout = 50;
    long n = syscall(SYS_copy_file_range, in, &oin, out, &oout, 300, 0);
    printf("with offsets: %ld oin %ld oout %ld in at %ld\n", n, (long)oin, (long)oout,
           (long)lseek(in, 0, SEEK_CUR));
    CHECK(pread(out, dst, 300, 50) == 300);
    printf("offset copy equal: %d\n", memcmp(src + 1000, dst, 300) == 0);

    /* The source mapped MAP_SHARED and modified through the mapping: the copy sees it. */
    char *m = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_SHARED, in, 0);
    CHECK(m != MAP_FAILED);
    memcpy(m + 4096 * 3 + 10, "THROUGH THE MAPPING", 19);
    memcpy(src + 4096 * 3 + 10, "THROUGH THE MAPPING", 19);
    /* The destination mapped too: the mapping must see the copied bytes. */
    char *md = mmap(NULL, N, PROT_READ, MAP_SHARED, out, 0);
    CHECK(md != MAP_FAILED);
    printf("dst mapping before is the old data: %d\n", memcmp(md + 4096 * 3 + 10, "THROUGH", 7) != 0);
    CHECK(lseek(in, 0, SEEK_SET) == 0 && lseek(out, 0, SEEK_SET) == 0);
    printf("copy_file_range mapped: %ld\n", copy_all(in, out));
    printf("dst mapping after: %.19s\n", md + 4096 * 3 + 10);
    CHECK(pread(out, dst, N, 0) == N);
    printf("mapped copy equal: %d\n", memcmp(src, dst, N) == 0);
    munmap(m, N);
    munmap(md, N);

    printf("flags: %ld\n", err(syscall(SYS_copy_file_range, in, NULL, out, NULL, 10, 1)));
    printf("bad fd: %ld\n", err(syscall(SYS_copy_file_range, 999, NULL, out, NULL, 10, 0)));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    printf("directory: %ld\n", err(syscall(SYS_copy_file_range, dfd, NULL, out, NULL, 10, 0)));
    close(dfd);
    int ro = open(path("dst"), O_RDONLY);
    printf("read-only out: %ld\n", err(syscall(SYS_copy_file_range, in, NULL, ro, NULL, 10, 0)));
    close(ro);
    oin = 0;
    oout = 10;
    printf("overlap: %ld\n", err(syscall(SYS_copy_file_range, in, &oin, in, &oout, 100, 0)));
    oin = 0;
    oout = N;
    long same = err(syscall(SYS_copy_file_range, in, &oin, in, &oout, 1 << 20, 0));
    printf("same file, after the end: %ld oout %ld\n", same, (long)oout);
    CHECK(pread(in, dst, N, N) == N);
    printf("same file copy equal: %d\n", memcmp(src, dst, N) == 0);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    printf("to a pipe: %ld\n", err(syscall(SYS_copy_file_range, in, NULL, pfd[1], NULL, 10, 0)));
    printf("from a pipe: %ld\n", err(syscall(SYS_copy_file_range, pfd[0], NULL, out, NULL, 10, 0)));
    close(pfd[0]);
    close(pfd[1]);
    oin = 5 * N;
    printf("past the end: %ld\n", err(syscall(SYS_copy_file_range, in, &oin, out, NULL, 10, 0)));
    printf("bad offset pointer: %ld\n",
           err(syscall(SYS_copy_file_range, in, (void *)8, out, NULL, 10, 0)));
    close(in);
    close(out);
}

static void test_memfd(void)
{
    int fd = (int)syscall(SYS_memfd_create, "vmemu-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    printf("memfd cloexec: %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    char link[64], target[128] = {0};
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    CHECK(readlink(link, target, sizeof(target) - 1) > 0);
    printf("memfd link: %s\n", target);
    CHECK(ftruncate(fd, 8192) == 0);
    char buf[8192];
    fill(buf, sizeof(buf), 3);
    CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    printf("memfd mapping equal: %d\n", memcmp(m, buf, sizeof(buf)) == 0);
    memcpy(m + 100, "memfd", 5);
    char r[6] = {0};
    CHECK(pread(fd, r, 5, 100) == 5);
    printf("memfd read of store: %s\n", r);
    munmap(m, 8192);
    printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
    printf("F_ADD_SEALS: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
    printf("shrink sealed: %ld\n", err(ftruncate(fd, 4096)));
    close(fd);
    fd = (int)syscall(SYS_memfd_create, "noseal", 0);
    printf("memfd no sealing cloexec %d F_ADD_SEALS: %ld\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
           err(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW)));
    close(fd);
    printf("memfd bad flags: %ld\n", err(syscall(SYS_memfd_create, "x", 0x100)));
    printf("memfd bad name: %ld\n", err(syscall(SYS_memfd_create, (char *)8, 0)));
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    printf("memfd long name: %ld\n", err(syscall(SYS_memfd_create, longname, 0)));
}

static void test_inotify(void)
{
    int fd = inotify_init1(IN_CLOEXEC);
    CHECK(fd >= 0);
    int wd = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE);
    printf("inotify_add_watch: %d\n", wd);
    close(open(path("newfile"), O_CREAT | O_WRONLY, 0600));
    union {
        struct inotify_event ev;
        char buf[512];
    } u;
    long n = read(fd, u.buf, sizeof(u.buf));
    CHECK(n >= (long)sizeof(struct inotify_event));
    printf("event: wd %d mask 0x%x name %s\n", u.ev.wd == wd, u.ev.mask, u.ev.name);
    printf("inotify_rm_watch: %ld\n", err(inotify_rm_watch(fd, wd)));
    printf("inotify_rm_watch again: %ld\n", err(inotify_rm_watch(fd, wd)));
    printf("inotify_add_watch missing: %ld\n", err(inotify_add_watch(fd, path("none"), IN_ALL_EVENTS)));
    printf("inotify_add_watch bad fd: %ld\n", err(inotify_add_watch(999, dir, IN_ALL_EVENTS)));
    close(fd);

    /* inotify_init (blocking): a child creates the file while the parent's read waits. */
    fd = (int)syscall(SYS_inotify_init);
    CHECK(fd >= 0);
    CHECK(inotify_add_watch(fd, dir, IN_DELETE) >= 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        usleep(50000);
        unlink(path("newfile"));
        _exit(0);
    }
    n = read(fd, u.buf, sizeof(u.buf));
    CHECK(n >= (long)sizeof(struct inotify_event));
    printf("blocking read event: mask 0x%x name %s\n", u.ev.mask, u.ev.name);
    int nb = inotify_init1(IN_NONBLOCK);
    printf("nonblocking empty read: %ld\n", err(read(nb, u.buf, sizeof(u.buf))));
    printf("inotify_init1 bad flags: %ld\n", err(inotify_init1(1)));
    close(nb);
    close(fd);
    CHECK(waitpid(pid, NULL, 0) == pid);
}

static void test_epoll_pwait2(void)
{
    int ep = epoll_create1(0);
    int pfd[2];
    CHECK(ep >= 0 && pipe(pfd) == 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == 0);
    struct epoll_event out[4];
    struct timespec ts = {0, 20000000};
    printf("epoll_pwait2 timeout: %ld\n", err(syscall(SYS_epoll_pwait2, ep, out, 4, &ts, NULL, 8)));
    CHECK(write(pfd[1], "x", 1) == 1);
    long n = err(syscall(SYS_epoll_pwait2, ep, out, 4, NULL, NULL, 8));
    printf("epoll_pwait2 ready: %ld data %lu\n", n, (unsigned long)out[0].data.u64);
    struct timespec bad = {0, 2000000000};
    printf("epoll_pwait2 bad timespec: %ld\n",
           err(syscall(SYS_epoll_pwait2, ep, out, 4, &bad, NULL, 8)));
    printf("epoll_pwait2 bad max: %ld\n", err(syscall(SYS_epoll_pwait2, ep, out, 0, &ts, NULL, 8)));
    close(ep);
    close(pfd[0]);
    close(pfd[1]);
}

static void cleanup(void)
{
    const char *names[] = {"c", "x", "xl", "t", "v", "src", "dst", "newfile"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(path(names[i]));
    rmdir(dir);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof(dir), "/tmp/vmemu-fileops-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    umask(022);
    test_creat();
    test_xattr();
    test_utime();
    test_readahead();
    test_preadv();
    test_copy_file_range();
    test_memfd();
    test_inotify();
    test_epoll_pwait2();
    cleanup();
    printf("fileops: done\n");
    return 0;
}
