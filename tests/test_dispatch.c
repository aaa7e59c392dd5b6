/* Unit tests of the syscall layer (syscalls/dispatch.c and the sys_*.c handlers), called
 * through syscall_dispatch() on a process without a CPU: a 16 MiB pool, four read-write
 * anonymous pages at BUF and one read-only page at RO. They check exact results and
 * errno values (-EFAULT for wild pointers, -EBADF, -EINVAL, -ENOSYS and its one-time
 * log), I/O round trips through files of a temporary directory, the --trace lines, and
 * that getrusage reports the address space's own fault counts. */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/abi/linux.h"
#include "vmemu/proc.h"
#include "vmemu/syscall.h"
#include "vmemu/uaccess.h"

#define BUF     0x10000000ULL /* four read-write pages */
#define BUF_LEN (4 * PAGE_SIZE)
#define RO      0x10008000ULL /* one read-only page */
#define WILD    0xdead0000ULL /* nothing mapped */
#define LOW     0x1000ULL     /* nothing mapped */

struct env {
    struct vmsys sys;       /* 16 MiB pool */
    struct proc *p;         /* pid 1000, no CPU */
    struct run_options opt; /* trace off unless a test sets it */
    char dir[64];           /* temporary directory for files */
    char *trace;            /* open_memstream buffer */
    size_t trace_len;       /* its length */
};

static long sc(struct env *e, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
               uint64_t a4, uint64_t a5)
{
    const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
    return syscall_dispatch(e->p, nr, args);
}
#define SC0(e, nr)                sc(e, nr, 0, 0, 0, 0, 0, 0)
#define SC1(e, nr, a)             sc(e, nr, a, 0, 0, 0, 0, 0)
#define SC2(e, nr, a, b)          sc(e, nr, a, b, 0, 0, 0, 0)
#define SC3(e, nr, a, b, c)       sc(e, nr, a, b, c, 0, 0, 0)
#define SC4(e, nr, a, b, c, d)    sc(e, nr, a, b, c, d, 0, 0)
#define SC5(e, nr, a, b, c, d, f) sc(e, nr, a, b, c, d, f, 0)

/* A (uint64_t) register value for a negative int argument, as the guest passes it. */
#define NEG(x) ((uint64_t)(int64_t)(x))

/* Copies a string (with its NUL) into guest memory at va. */
static void put_str(struct env *e, gva_t va, const char *s)
{
    assert_int_equal(copy_to_user(e->p->mm, va, s, strlen(s) + 1), 0);
}

/* Guest path of a file in the test directory, written at va. */
static void put_path(struct env *e, gva_t va, const char *name, char *host, size_t n)
{
    snprintf(host, n, "%s/%s", e->dir, name);
    put_str(e, va, host);
}

static void write_host_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (e == NULL || vmsys_init(&e->sys, 16 << 20, 64, 4) < 0)
        return -1;
    if (proc_create(&e->sys, NULL, &e->opt, &e->p) < 0)
        return -1;
    e->sys.current = e->p->mm;
    e->sys.charge = &e->p->vmstat;
    if (mm_map(e->p->mm, BUF, BUF_LEN, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0) < 0 ||
        mm_map(e->p->mm, RO, PAGE_SIZE, VM_READ, 0, VMA_ANON, NULL, 0, 0) < 0)
        return -1;
    strcpy(e->dir, "/tmp/vmemu-test-dispatch-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
    if (system(cmd) != 0)
        return -1;
    if (e->opt.trace != NULL)
        fclose(e->opt.trace);
    free(e->trace);
    proc_destroy(e->p);
    vmsys_destroy(&e->sys);
    free(e);
    return 0;
}

/* Starts collecting --trace lines in memory. */
static void trace_on(struct env *e)
{
    e->opt.trace = open_memstream(&e->trace, &e->trace_len);
    assert_non_null(e->opt.trace);
}

/* The trace written so far. */
static const char *trace_text(struct env *e)
{
    fflush(e->opt.trace);
    return e->trace;
}

/* stderr redirected into a temporary file. */
struct capture {
    int saved; /* the real stderr */
    FILE *f;   /* where it goes meanwhile */
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(2);
    dup2(fileno(c->f), 2);
}

static void capture_end(struct capture *c, char *buf, size_t n)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    rewind(c->f);
    size_t r = fread(buf, 1, n - 1, c->f);
    buf[r] = '\0';
    fclose(c->f);
}

/* ---- dispatch ---- */

static void test_dispatch_unknown_nr_returns_enosys_and_logs_once(void **state)
{
    struct env *e = *state;
    struct capture c;
    char out[512];
    capture_start(&c);
    long r1 = SC0(e, SYS_kexec_load);
    long r2 = SC0(e, SYS_kexec_load);
    long r3 = SC0(e, 100000);
    long r4 = SC0(e, 100000);
    capture_end(&c, out, sizeof(out));
    assert_int_equal(r1, -ENOSYS);
    assert_int_equal(r2, -ENOSYS);
    assert_int_equal(r3, -ENOSYS);
    assert_int_equal(r4, -ENOSYS);
    assert_string_equal(out, "vmemu: unimplemented syscall kexec_load (246), returning -ENOSYS\n"
                             "vmemu: unimplemented syscall syscall_100000 (100000), returning "
                             "-ENOSYS\n");
}

static void test_dispatch_rseq_returns_enosys_without_log(void **state)
{
    struct env *e = *state;
    struct capture c;
    char out[256];
    capture_start(&c);
    long r = SC4(e, NR_rseq, BUF, 32, 0, 0x53053053);
    capture_end(&c, out, sizeof(out));
    assert_int_equal(r, -ENOSYS);
    assert_string_equal(out, "");
}

static void test_dispatch_counts_every_syscall(void **state)
{
    struct env *e = *state;
    uint64_t before = e->p->syscalls;
    SC0(e, NR_getpid);
    SC0(e, SYS_acct); /* unknown ones count too */
    assert_int_equal(e->p->syscalls, before + 2);
}

static void test_syscall_name_known_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(syscall_name(0), "read");
    assert_string_equal(syscall_name(231), "exit_group");
    assert_string_equal(syscall_name(450), "set_mempolicy_home_node");
    assert_null(syscall_name(451));
    assert_null(syscall_name(UINT64_MAX));
}

/* ---- read / write ---- */

/* Opens name in the test directory with flags; returns the guest descriptor. */
static int open_in_dir(struct env *e, const char *name, int flags, char *host, size_t n)
{
    put_path(e, BUF + 3 * PAGE_SIZE, name, host, n);
    return (int)SC4(e, NR_openat, NEG(LINUX_AT_FDCWD), BUF + 3 * PAGE_SIZE, (uint64_t)flags, 0644);
}

static void test_read_write_round_trip_through_file(void **state)
{
    struct env *e = *state;
    char host[128], data[6000], back[6000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    int fd = open_in_dir(e, "rw", O_RDWR | O_CREAT | O_TRUNC, host, sizeof(host));
    assert_int_equal(fd, 3);
    /* 6000 bytes from BUF+100: the buffer spans two pages. */
    assert_int_equal(copy_to_user(e->p->mm, BUF + 100, data, sizeof(data)), 0);
    assert_int_equal(SC3(e, NR_write, 3, BUF + 100, sizeof(data)), 6000);
    assert_int_equal(SC3(e, NR_lseek, 3, 0, SEEK_SET), 0);
    assert_int_equal(clear_user(e->p->mm, BUF, 2 * PAGE_SIZE), 0);
    assert_int_equal(SC3(e, NR_read, 3, BUF + 7, 8000), 6000);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 7, sizeof(back)), 0);
    assert_memory_equal(back, data, sizeof(data));
    assert_int_equal(SC3(e, NR_read, 3, BUF, 10), 0); /* end of file */
    struct stat st;
    assert_int_equal(stat(host, &st), 0);
    assert_int_equal(st.st_size, 6000);
}

static void test_pread_pwrite_use_offset_not_position(void **state)
{
    struct env *e = *state;
    char host[128], back[4];
    int fd = open_in_dir(e, "prw", O_RDWR | O_CREAT | O_TRUNC, host, sizeof(host));
    put_str(e, BUF, "0123456789");
    assert_int_equal(SC3(e, NR_write, (uint64_t)fd, BUF, 10), 10);
    put_str(e, BUF, "AB");
    assert_int_equal(SC4(e, NR_pwrite64, (uint64_t)fd, BUF, 2, 4), 2);
    assert_int_equal(SC4(e, NR_pread64, (uint64_t)fd, BUF + 100, 4, 3), 4);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 100, 4), 0);
    assert_memory_equal(back, "3AB6", 4);
    assert_int_equal(SC3(e, NR_lseek, (uint64_t)fd, 0, SEEK_CUR), 10);
    assert_int_equal(SC4(e, NR_pread64, (uint64_t)fd, BUF, 4, NEG(-1)), -EINVAL);
    assert_int_equal(SC4(e, NR_pread64, 99, BUF, 4, NEG(-1)), -EBADF);
}

static void test_read_write_wild_buffer_return_efault(void **state)
{
    struct env *e = *state;
    char host[128];
    write_host_file((snprintf(host, sizeof(host), "%s/in", e->dir), host), "hello");
    int fd = open_in_dir(e, "in", O_RDWR, host, sizeof(host));
    assert_int_equal(SC3(e, NR_write, (uint64_t)fd, LOW, 5), -EFAULT);
    assert_int_equal(SC3(e, NR_read, (uint64_t)fd, WILD, 5), -EFAULT);
    /* The failed read gave its bytes back: the next read still sees them. */
    assert_int_equal(SC3(e, NR_lseek, (uint64_t)fd, 0, SEEK_CUR), 0);
    assert_int_equal(SC3(e, NR_read, (uint64_t)fd, RO, 5), -EFAULT);
    assert_int_equal(SC3(e, NR_read, (uint64_t)fd, BUF, 5), 5);
}

static void test_read_past_end_of_mapping_returns_partial_count(void **state)
{
    struct env *e = *state;
    char host[128], big[1000];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    snprintf(host, sizeof(host), "%s/big", e->dir);
    write_host_file(host, big);
    int fd = open_in_dir(e, "big", O_RDONLY, host, sizeof(host));
    /* 100 bytes before the end of the read-write pages, then the read-only page. */
    assert_int_equal(SC3(e, NR_read, (uint64_t)fd, BUF + BUF_LEN - 100, 300), 100);
    assert_int_equal(SC3(e, NR_lseek, (uint64_t)fd, 0, SEEK_CUR), 100);
}

static void test_read_bad_fd_returns_ebadf(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC3(e, NR_read, 1, BUF, USER_VA_END), -EFAULT); /* range check first */
    assert_int_equal(SC3(e, NR_read, 77, BUF, 1), -EBADF);
    assert_int_equal(SC3(e, NR_write, NEG(-1), BUF, 1), -EBADF);
    assert_int_equal(SC1(e, NR_close, 77), -EBADF);
    assert_int_equal(SC2(e, NR_fstat, 1000, BUF), -EBADF);
}

static void test_writev_readv_gather_and_scatter(void **state)
{
    struct env *e = *state;
    char host[128], back[8];
    int fd = open_in_dir(e, "vec", O_RDWR | O_CREAT | O_TRUNC, host, sizeof(host));
    put_str(e, BUF + 100, "abc");
    put_str(e, BUF + 200, "defgh");
    struct linux_iovec iov[3] = {{BUF + 100, 3}, {BUF + 300, 0}, {BUF + 200, 5}};
    assert_int_equal(copy_to_user(e->p->mm, BUF, iov, sizeof(iov)), 0);
    assert_int_equal(SC3(e, NR_writev, (uint64_t)fd, BUF, 3), 8);
    assert_int_equal(SC3(e, NR_lseek, (uint64_t)fd, 0, SEEK_SET), 0);
    struct linux_iovec riov[2] = {{BUF + 1000, 2}, {BUF + 2000, 10}};
    assert_int_equal(copy_to_user(e->p->mm, BUF, riov, sizeof(riov)), 0);
    assert_int_equal(SC3(e, NR_readv, (uint64_t)fd, BUF, 2), 8);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 1000, 2), 0);
    assert_memory_equal(back, "ab", 2);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 2000, 6), 0);
    assert_memory_equal(back, "cdefgh", 6);
}

static void test_writev_bad_vectors_return_einval_or_efault(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC3(e, NR_writev, 1, BUF, 1025), -EINVAL);
    assert_int_equal(SC3(e, NR_writev, 1, BUF, NEG(-1)), -EINVAL);
    assert_int_equal(SC3(e, NR_writev, 1, LOW, 2), -EFAULT);
    assert_int_equal(SC3(e, NR_readv, 55, BUF, 1), -EBADF);
    struct linux_iovec neg = {BUF, (uint64_t)-5};
    assert_int_equal(copy_to_user(e->p->mm, BUF, &neg, sizeof(neg)), 0);
    assert_int_equal(SC3(e, NR_writev, 1, BUF, 1), -EINVAL);
    assert_int_equal(SC3(e, NR_writev, 1, BUF, 0), 0);
}

/* ---- open, descriptors ---- */

static void test_open_errors(void **state)
{
    struct env *e = *state;
    put_str(e, BUF, "/nonexistent/vmemu/x");
    assert_int_equal(SC3(e, NR_open, BUF, O_RDONLY, 0), -ENOENT);
    assert_int_equal(SC3(e, NR_open, WILD, O_RDONLY, 0), -EFAULT);
    assert_int_equal(SC4(e, NR_openat, 42, BUF + 1, O_RDONLY, 0), -EBADF); /* relative */
    /* 4096 bytes without a NUL: too long for a path. */
    char *longpath = malloc(LINUX_PATH_MAX + 1);
    memset(longpath, 'a', LINUX_PATH_MAX);
    longpath[LINUX_PATH_MAX] = '\0';
    put_str(e, BUF, longpath);
    free(longpath);
    assert_int_equal(SC3(e, NR_open, BUF, O_RDONLY, 0), -ENAMETOOLONG);
}

static void test_open_cloexec_kept_in_table_and_fcntl(void **state)
{
    struct env *e = *state;
    char host[128];
    int fd = open_in_dir(e, "cx", O_RDWR | O_CREAT | O_CLOEXEC, host, sizeof(host));
    assert_int_equal(fd, 3);
    assert_string_equal(e->p->fds->fds[3].path, host);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_GETFD, 0), LINUX_FD_CLOEXEC);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_SETFD, 0), 0);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_GETFD, 0), 0);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_GETFL, 0) & LINUX_O_ACCMODE, O_RDWR);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_DUPFD, 10), 10);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_DUPFD_CLOEXEC, 0), 4);
    assert_int_equal(SC3(e, NR_fcntl, 4, LINUX_F_GETFD, 0), LINUX_FD_CLOEXEC);
    assert_int_equal(SC3(e, NR_fcntl, 3, LINUX_F_DUPFD, FD_MAX), -EINVAL);
    assert_int_equal(SC3(e, NR_fcntl, 3, 999, 0), -EINVAL);
    assert_int_equal(SC3(e, NR_fcntl, 99, LINUX_F_GETFD, 0), -EBADF);
}

static void test_dup_family(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC1(e, NR_dup, 1), 3);
    assert_int_equal(SC2(e, NR_dup2, 1, 1), 1);
    assert_int_equal(SC2(e, NR_dup2, 1, 9), 9);
    assert_int_equal(SC2(e, NR_dup2, 50, 9), -EBADF);
    assert_int_equal(SC3(e, NR_dup3, 1, 1, 0), -EINVAL);
    assert_int_equal(SC3(e, NR_dup3, 1, 5, 0x1), -EINVAL);
    assert_int_equal(SC3(e, NR_dup3, 1, 5, LINUX_O_CLOEXEC), 5);
    assert_true(e->p->fds->fds[5].cloexec);
    assert_int_equal(SC1(e, NR_dup, 77), -EBADF);
}

static void test_ioctl_unknown_request_returns_enotty_logged_once(void **state)
{
    struct env *e = *state;
    char host[128], out[256];
    struct capture c;
    int fd = open_in_dir(e, "tty", O_RDWR | O_CREAT, host, sizeof(host));
    capture_start(&c);
    long r1 = SC3(e, NR_ioctl, (uint64_t)fd, 0x1234, BUF);
    long r2 = SC3(e, NR_ioctl, (uint64_t)fd, 0x1234, BUF);
    long r3 = SC3(e, NR_ioctl, (uint64_t)fd, LINUX_TCGETS, BUF); /* a file is no tty */
    capture_end(&c, out, sizeof(out));
    assert_int_equal(r1, -ENOTTY);
    assert_int_equal(r2, -ENOTTY);
    assert_int_equal(r3, -ENOTTY);
    assert_string_equal(out, "vmemu: unsupported ioctl 0x1234, returning -ENOTTY\n");
    assert_int_equal(SC3(e, NR_ioctl, 66, LINUX_TCGETS, BUF), -EBADF);
}

static void test_getdents64_lists_directory(void **state)
{
    struct env *e = *state;
    char host[128];
    snprintf(host, sizeof(host), "%s/one", e->dir);
    write_host_file(host, "1");
    snprintf(host, sizeof(host), "%s/two", e->dir);
    write_host_file(host, "2");
    put_str(e, BUF, e->dir);
    int fd = (int)SC3(e, NR_open, BUF, O_RDONLY | O_DIRECTORY, 0);
    assert_true(fd >= 3);
    assert_int_equal(SC3(e, NR_getdents64, (uint64_t)fd, LOW, 4096), -EFAULT);
    long n = SC3(e, NR_getdents64, (uint64_t)fd, BUF, 4096);
    assert_true(n > 0);
    char dents[4096];
    assert_int_equal(copy_from_user(e->p->mm, dents, BUF, (size_t)n), 0);
    int found = 0;
    for (long off = 0; off < n;) {
        uint16_t reclen;
        memcpy(&reclen, dents + off + 16, sizeof(reclen));
        const char *name = dents + off + 19;
        if (strcmp(name, "one") == 0 || strcmp(name, "two") == 0 || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
            found++;
        off += reclen;
    }
    assert_int_equal(found, 4); /* nothing was lost by the -EFAULT before */
    assert_int_equal(SC3(e, NR_getdents64, (uint64_t)fd, BUF, 4096), 0);
}

/* ---- paths ---- */

static void test_getcwd_returns_length_with_nul(void **state)
{
    struct env *e = *state;
    char cwd[4096], back[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    long len = (long)strlen(cwd) + 1;
    assert_int_equal(SC2(e, NR_getcwd, BUF, 4096), len);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF, (size_t)len), 0);
    assert_string_equal(back, cwd);
    assert_int_equal(SC2(e, NR_getcwd, BUF, (uint64_t)len - 1), -ERANGE);
    assert_int_equal(SC2(e, NR_getcwd, WILD, 4096), -EFAULT);
}

static void test_readlink_proc_self_exe_returns_program(void **state)
{
    struct env *e = *state;
    char back[64];
    e->p->exe = strdup("/opt/prog/hello");
    put_str(e, BUF, "/proc/self/exe");
    assert_int_equal(SC3(e, NR_readlink, BUF, BUF + 100, 64), 15);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 100, 15), 0);
    assert_memory_equal(back, "/opt/prog/hello", 15);
    assert_int_equal(SC3(e, NR_readlink, BUF, BUF + 100, 4), 4);
    assert_int_equal(SC3(e, NR_readlink, BUF, BUF + 100, 0), -EINVAL);
    put_str(e, BUF, "/proc/1000/exe");
    assert_int_equal(SC4(e, NR_readlinkat, NEG(LINUX_AT_FDCWD), BUF, BUF + 100, 64), 15);
    assert_int_equal(SC3(e, NR_readlink, BUF, WILD, 64), -EFAULT);
}

static void test_open_proc_self_exe_opens_program(void **state)
{
    struct env *e = *state;
    char host[128], back[8];
    snprintf(host, sizeof(host), "%s/prog", e->dir);
    write_host_file(host, "ELFDATA");
    e->p->exe = strdup(host);
    put_str(e, BUF, "/proc/self/exe");
    int fd = (int)SC3(e, NR_open, BUF, O_RDONLY, 0);
    assert_int_equal(fd, 3);
    assert_int_equal(SC3(e, NR_read, 3, BUF + 100, 8), 7);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 100, 7), 0);
    assert_memory_equal(back, "ELFDATA", 7);
}

static void test_mkdir_rename_unlink_rmdir(void **state)
{
    struct env *e = *state;
    char d[128], a[160], b[160];
    struct stat st;
    put_path(e, BUF, "sub", d, sizeof(d));
    assert_int_equal(SC2(e, NR_mkdir, BUF, 0755), 0);
    assert_int_equal(SC2(e, NR_mkdir, BUF, 0755), -EEXIST);
    snprintf(a, sizeof(a), "%s/a", d);
    write_host_file(a, "x");
    put_path(e, BUF + 200, "sub/a", a, sizeof(a));
    put_path(e, BUF + 400, "sub/b", b, sizeof(b));
    assert_int_equal(SC2(e, NR_rename, BUF + 200, BUF + 400), 0);
    assert_int_equal(stat(b, &st), 0);
    assert_int_equal(SC2(e, NR_access, BUF + 400, R_OK), 0);
    assert_int_equal(SC2(e, NR_access, BUF + 200, R_OK), -ENOENT);
    assert_int_equal(SC2(e, NR_access, BUF + 400, 0x10), -EINVAL);
    assert_int_equal(SC1(e, NR_rmdir, BUF), -ENOTEMPTY);
    assert_int_equal(SC1(e, NR_unlink, BUF + 400), 0);
    assert_int_equal(SC3(e, NR_unlinkat, NEG(LINUX_AT_FDCWD), BUF, 0x1), -EINVAL);
    assert_int_equal(SC3(e, NR_unlinkat, NEG(LINUX_AT_FDCWD), BUF, LINUX_AT_REMOVEDIR), 0);
    assert_int_equal(stat(d, &st), -1);
}

static void test_mkdirat_relative_to_guest_dirfd(void **state)
{
    struct env *e = *state;
    char host[160];
    struct stat st;
    put_str(e, BUF, e->dir);
    int dfd = (int)SC3(e, NR_open, BUF, O_RDONLY | O_DIRECTORY, 0);
    assert_int_equal(dfd, 3);
    put_str(e, BUF + 200, "rel");
    assert_int_equal(SC3(e, NR_mkdirat, 3, BUF + 200, 0700), 0);
    snprintf(host, sizeof(host), "%s/rel", e->dir);
    assert_int_equal(stat(host, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(SC3(e, NR_mkdirat, 8, BUF + 200, 0700), -EBADF);
}

/* ---- stat ---- */

static void test_stat_family_fills_guest_layout(void **state)
{
    struct env *e = *state;
    char host[128];
    struct linux_stat ls;
    struct linux_statx lx;
    snprintf(host, sizeof(host), "%s/s", e->dir);
    write_host_file(host, "twelve bytes");
    put_str(e, BUF, host);
    assert_int_equal(SC2(e, NR_stat, BUF, BUF + 1024), 0);
    assert_int_equal(copy_from_user(e->p->mm, &ls, BUF + 1024, sizeof(ls)), 0);
    assert_int_equal(ls.st_size, 12);
    assert_true(S_ISREG(ls.st_mode));
    assert_int_equal(ls.st_nlink, 1);
    int fd = (int)SC3(e, NR_open, BUF, O_RDONLY, 0);
    memset(&ls, 0, sizeof(ls));
    assert_int_equal(copy_to_user(e->p->mm, BUF + 1024, &ls, sizeof(ls)), 0);
    assert_int_equal(SC2(e, NR_fstat, (uint64_t)fd, BUF + 1024), 0);
    assert_int_equal(copy_from_user(e->p->mm, &ls, BUF + 1024, sizeof(ls)), 0);
    assert_int_equal(ls.st_size, 12);
    put_str(e, BUF + 512, "");
    assert_int_equal(
        SC4(e, NR_newfstatat, (uint64_t)fd, BUF + 512, BUF + 1024, LINUX_AT_EMPTY_PATH), 0);
    assert_int_equal(SC5(e, NR_statx, NEG(LINUX_AT_FDCWD), BUF, 0, 0xfff, BUF + 2048), 0);
    assert_int_equal(copy_from_user(e->p->mm, &lx, BUF + 2048, sizeof(lx)), 0);
    assert_int_equal(lx.stx_size, 12);
    assert_int_equal(lx.stx_ino, ls.st_ino);
    assert_true(S_ISREG(lx.stx_mode));
}

static void test_stat_errors(void **state)
{
    struct env *e = *state;
    put_str(e, BUF, "/");
    assert_int_equal(SC2(e, NR_stat, BUF, WILD), -EFAULT);
    assert_int_equal(SC2(e, NR_stat, BUF, RO), -EFAULT);
    assert_int_equal(SC2(e, NR_stat, LOW, BUF + 512), -EFAULT);
    put_str(e, BUF, "/nonexistent/vmemu");
    assert_int_equal(SC2(e, NR_lstat, BUF, BUF + 512), -ENOENT);
    assert_int_equal(SC4(e, NR_newfstatat, NEG(LINUX_AT_FDCWD), BUF, BUF + 512, 0x2), -EINVAL);
}

/* ---- process ---- */

static void test_ids(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC0(e, NR_getpid), 1000);
    assert_int_equal(SC0(e, NR_gettid), 1000);
    assert_int_equal(SC0(e, NR_getppid), 1);
    assert_int_equal(SC0(e, NR_getuid), getuid());
    assert_int_equal(SC0(e, NR_getegid), getegid());
    assert_int_equal(SC1(e, NR_set_tid_address, BUF), 1000);
    assert_int_equal(e->p->clear_child_tid, BUF);
}

static void test_exit_group_records_low_byte(void **state)
{
    struct env *e = *state;
    trace_on(e);
    SC1(e, NR_exit_group, 256 + 7);
    assert_true(e->p->exited);
    assert_int_equal(e->p->exit_code, 7);
    assert_string_equal(trace_text(e), "[1000] exit_group(263) = ?\n");
}

static void test_arch_prctl_errors(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC2(e, NR_arch_prctl, 0x9999, BUF), -EINVAL);
    assert_int_equal(SC2(e, NR_arch_prctl, LINUX_ARCH_SET_FS, USER_VA_END), -EPERM);
    assert_int_equal(SC2(e, NR_arch_prctl, LINUX_ARCH_SET_GS, 0xffff800000000000ULL), -EPERM);
}

static void test_set_robust_list_needs_24_bytes(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC2(e, NR_set_robust_list, BUF, 23), -EINVAL);
    assert_int_equal(SC2(e, NR_set_robust_list, BUF, 24), 0);
    assert_int_equal(e->p->robust_list, BUF);
}

static void test_prlimit64_and_getrlimit(void **state)
{
    struct env *e = *state;
    struct linux_rlimit nl = {100, 200}, got;
    assert_int_equal(SC4(e, NR_prlimit64, 5, 7, 0, BUF), -ESRCH);
    assert_int_equal(SC4(e, NR_prlimit64, 0, 16, 0, BUF), -EINVAL);
    e->p->rlim[7].cur = 300;
    e->p->rlim[7].max = 400;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &nl, sizeof(nl)), 0);
    assert_int_equal(SC4(e, NR_prlimit64, 1000, 7, BUF, BUF + 64), 0);
    assert_int_equal(copy_from_user(e->p->mm, &got, BUF + 64, sizeof(got)), 0);
    assert_int_equal(got.cur, 300); /* the old limits */
    assert_int_equal(got.max, 400);
    assert_int_equal(SC2(e, NR_getrlimit, 7, BUF + 64), 0);
    assert_int_equal(copy_from_user(e->p->mm, &got, BUF + 64, sizeof(got)), 0);
    assert_int_equal(got.cur, 100);
    assert_int_equal(got.max, 200);
    nl.cur = 300; /* soft above hard */
    assert_int_equal(copy_to_user(e->p->mm, BUF, &nl, sizeof(nl)), 0);
    assert_int_equal(SC4(e, NR_prlimit64, 0, 7, BUF, 0), -EINVAL);
    nl.cur = 10;
    nl.max = 201; /* raising the hard limit */
    assert_int_equal(copy_to_user(e->p->mm, BUF, &nl, sizeof(nl)), 0);
    assert_int_equal(SC4(e, NR_prlimit64, 0, 7, BUF, 0), -EPERM);
    assert_int_equal(SC4(e, NR_prlimit64, 0, 7, WILD, 0), -EFAULT);
    assert_int_equal(SC2(e, NR_getrlimit, 16, BUF), -EINVAL);
}

static void test_rt_sigaction_records_and_returns_old(void **state)
{
    struct env *e = *state;
    struct linux_sigaction act = {.handler = 0x401000,
                                  .flags = 0x04000000,
                                  .restorer = 0x402000,
                                  .mask = ~0ULL},
                           old;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &act, sizeof(act)), 0);
    assert_int_equal(SC4(e, NR_rt_sigaction, 2, BUF, 0, 8), 0);
    assert_int_equal(e->p->sigact[1].handler, 0x401000);
    assert_int_equal(e->p->sigact[1].mask, ~((1ULL << 8) | (1ULL << 18)));
    assert_int_equal(SC4(e, NR_rt_sigaction, 2, 0, BUF + 64, 8), 0);
    assert_int_equal(copy_from_user(e->p->mm, &old, BUF + 64, sizeof(old)), 0);
    assert_int_equal(old.restorer, 0x402000);
    assert_int_equal(SC4(e, NR_rt_sigaction, 0, BUF, 0, 8), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigaction, 65, BUF, 0, 8), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigaction, 9, BUF, 0, 8), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigaction, 19, BUF, 0, 8), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigaction, 9, 0, BUF + 64, 8), 0); /* query is fine */
    assert_int_equal(SC4(e, NR_rt_sigaction, 2, BUF, 0, 4), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigaction, 2, WILD, 0, 8), -EFAULT);
}

static void test_rt_sigprocmask_never_blocks_kill_stop(void **state)
{
    struct env *e = *state;
    uint64_t set = (1ULL << 8) | (1ULL << 9) | (1ULL << 18), old;
    assert_int_equal(put_user_u64(e->p->mm, BUF, set), 0);
    assert_int_equal(SC4(e, NR_rt_sigprocmask, LINUX_SIG_BLOCK, BUF, 0, 8), 0);
    assert_int_equal(e->p->sigmask, 1ULL << 9); /* SIGUSR1 only */
    assert_int_equal(SC4(e, NR_rt_sigprocmask, LINUX_SIG_UNBLOCK, BUF, BUF + 8, 8), 0);
    assert_int_equal(get_user_u64(e->p->mm, BUF + 8, &old), 0);
    assert_int_equal(old, 1ULL << 9);
    assert_int_equal(e->p->sigmask, 0);
    assert_int_equal(SC4(e, NR_rt_sigprocmask, 7, BUF, 0, 8), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigprocmask, LINUX_SIG_SETMASK, BUF, 0, 16), -EINVAL);
    assert_int_equal(SC4(e, NR_rt_sigprocmask, LINUX_SIG_SETMASK, LOW, 0, 8), -EFAULT);
}

static void test_sched_getaffinity_one_cpu(void **state)
{
    struct env *e = *state;
    uint64_t mask = 0;
    assert_int_equal(SC3(e, NR_sched_getaffinity, 0, 4, BUF), -EINVAL);
    assert_int_equal(SC3(e, NR_sched_getaffinity, 0, 12, BUF), -EINVAL);
    assert_int_equal(SC3(e, NR_sched_getaffinity, 0, 128, BUF), 8);
    assert_int_equal(get_user_u64(e->p->mm, BUF, &mask), 0);
    assert_int_equal(mask, 1);
    assert_int_equal(SC3(e, NR_sched_getaffinity, 0, 128, WILD), -EFAULT);
    assert_int_equal(SC0(e, NR_sched_yield), 0);
}

static void test_getpriority_setpriority_keep_the_nice_value(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC2(e, NR_getpriority, 0, 0), 20); /* the raw syscall: 20 - nice */
    assert_int_equal(SC3(e, NR_setpriority, 0, 0, 5), 0);
    assert_int_equal(SC2(e, NR_getpriority, 0, e->p->pid), 15);
    assert_int_equal(SC3(e, NR_setpriority, 0, 0, 4), -EACCES); /* lowering needs privilege */
    assert_int_equal(SC3(e, NR_setpriority, 0, 0, 99), 0);      /* clamped to 19 */
    assert_int_equal(SC2(e, NR_getpriority, 0, 0), 1);
    assert_int_equal(SC2(e, NR_getpriority, 3, 0), -EINVAL);
    assert_int_equal(SC2(e, NR_getpriority, 0, 424242), -ESRCH);
}

static void test_clock_getres_is_the_hosts(void **state)
{
    struct env *e = *state;
    struct linux_timespec lt;
    struct timespec ts;
    assert_int_equal(clock_getres(CLOCK_MONOTONIC, &ts), 0);
    assert_int_equal(SC2(e, NR_clock_getres, CLOCK_MONOTONIC, BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &lt, BUF, sizeof(lt)), 0);
    assert_int_equal(lt.tv_sec, ts.tv_sec);
    assert_int_equal(lt.tv_nsec, ts.tv_nsec);
    assert_int_equal(SC2(e, NR_clock_getres, CLOCK_MONOTONIC, 0), 0);
    assert_int_equal(SC2(e, NR_clock_getres, CLOCK_MONOTONIC, WILD), -EFAULT);
    assert_int_equal(SC2(e, NR_clock_getres, 99, BUF), -EINVAL);
}

static void test_uname_fields(void **state)
{
    struct env *e = *state;
    struct linux_utsname u;
    assert_int_equal(SC1(e, NR_uname, BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &u, BUF, sizeof(u)), 0);
    assert_string_equal(u.sysname, "Linux");
    assert_string_equal(u.nodename, "vmemu");
    assert_string_equal(u.release, "5.0.0-vmemu"); /* older than pidfds */
    assert_string_equal(u.machine, "x86_64");
    assert_string_equal(u.domainname, "(none)");
    assert_int_equal(SC1(e, NR_uname, RO), -EFAULT);
}

static void test_getrusage_reports_mm_fault_counts(void **state)
{
    struct env *e = *state;
    struct linux_rusage ru;
    /* Touch the pages so the counts are not zero. */
    assert_int_equal(clear_user(e->p->mm, BUF, BUF_LEN), 0);
    assert_int_equal(SC2(e, NR_getrusage, LINUX_RUSAGE_SELF, BUF + PAGE_SIZE), 0);
    assert_int_equal(copy_from_user(e->p->mm, &ru, BUF + PAGE_SIZE, sizeof(ru)), 0);
    const struct mm_stats *st = &e->p->mm->stats;
    const struct fault_stats *fs = &e->p->vmstat.faults;
    assert_true(fs->minor >= 4);
    assert_int_equal(ru.ru_minflt, fs->minor);
    assert_int_equal(ru.ru_majflt, fs->major);
    assert_int_equal(ru.ru_maxrss, st->peak_rss * 4);
    assert_int_equal(SC2(e, NR_getrusage, NEG(LINUX_RUSAGE_CHILDREN), BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &ru, BUF, sizeof(ru)), 0);
    assert_int_equal(ru.ru_minflt, 0);
    assert_int_equal(ru.ru_maxrss, 0);
    assert_int_equal(SC2(e, NR_getrusage, 5, BUF), -EINVAL);
    assert_int_equal(SC2(e, NR_getrusage, 0, WILD), -EFAULT);
}

static void test_arch_prctl_fs_round_trip_on_cpu(void **state)
{
    struct env *e = *state;
    struct cpu *cpu;
    uint64_t got = 0;
    assert_int_equal(cpu_create(&e->sys, &cpu), 0);
    e->p->cpu = cpu;
    assert_int_equal(SC2(e, NR_arch_prctl, LINUX_ARCH_SET_FS, 0x7ffff7ff0740), 0);
    assert_int_equal(cpu_get(cpu, CPU_FS_BASE), 0x7ffff7ff0740);
    assert_int_equal(SC2(e, NR_arch_prctl, LINUX_ARCH_GET_FS, BUF), 0);
    assert_int_equal(get_user_u64(e->p->mm, BUF, &got), 0);
    assert_int_equal(got, 0x7ffff7ff0740);
    assert_int_equal(SC2(e, NR_arch_prctl, LINUX_ARCH_GET_FS, WILD), -EFAULT);
    e->p->cpu = NULL;
    cpu_destroy(cpu);
}

static void test_prctl_name_and_unknown_option(void **state)
{
    struct env *e = *state;
    char back[16];
    put_str(e, BUF, "a-very-long-thread-name");
    assert_int_equal(SC2(e, NR_prctl, LINUX_PR_SET_NAME, BUF), 0);
    assert_string_equal(e->p->comm, "a-very-long-thr"); /* 15 bytes and the NUL */
    assert_int_equal(SC2(e, NR_prctl, LINUX_PR_GET_NAME, BUF + 100), 0);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 100, sizeof(back)), 0);
    assert_string_equal(back, "a-very-long-thr");
    assert_int_equal(SC2(e, NR_prctl, LINUX_PR_SET_NAME, WILD), -EFAULT);
    assert_int_equal(SC2(e, NR_prctl, 0x7777, 0), -EINVAL);
}

static void test_sendfile_copies_between_guest_fds(void **state)
{
    struct env *e = *state;
    char src[128], dst[160], back[16] = "";
    snprintf(src, sizeof(src), "%s/src", e->dir);
    write_host_file(src, "0123456789");
    int in = open_in_dir(e, "src", O_RDONLY, src, sizeof(src));
    int out = open_in_dir(e, "dst", O_RDWR | O_CREAT | O_TRUNC, dst, sizeof(dst));
    assert_int_equal(put_user_u64(e->p->mm, BUF, 4), 0);
    assert_int_equal(SC4(e, NR_sendfile, (uint64_t)out, (uint64_t)in, BUF, 100), 6);
    uint64_t off;
    assert_int_equal(get_user_u64(e->p->mm, BUF, &off), 0);
    assert_int_equal(off, 10);
    FILE *f = fopen(dst, "r");
    assert_non_null(f);
    assert_non_null(fgets(back, sizeof(back), f));
    fclose(f);
    assert_string_equal(back, "456789");
    assert_int_equal(SC4(e, NR_sendfile, (uint64_t)out, (uint64_t)in, WILD, 100), -EFAULT);
    assert_int_equal(SC4(e, NR_sendfile, 99, (uint64_t)in, 0, 100), -EBADF);
}

static void test_fcntl_lock_and_ftruncate(void **state)
{
    struct env *e = *state;
    char host[128];
    struct stat st;
    int fd = open_in_dir(e, "lk", O_RDWR | O_CREAT, host, sizeof(host));
    struct linux_flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    assert_int_equal(copy_to_user(e->p->mm, BUF, &fl, sizeof(fl)), 0);
    assert_int_equal(SC3(e, NR_fcntl, (uint64_t)fd, LINUX_F_SETLK, BUF), 0);
    /* Our own lock does not conflict: F_GETLK answers F_UNLCK. */
    assert_int_equal(SC3(e, NR_fcntl, (uint64_t)fd, LINUX_F_GETLK, BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &fl, BUF, sizeof(fl)), 0);
    assert_int_equal(fl.l_type, F_UNLCK);
    assert_int_equal(SC3(e, NR_fcntl, (uint64_t)fd, LINUX_F_SETLK, WILD), -EFAULT);
    assert_int_equal(SC2(e, NR_ftruncate, (uint64_t)fd, 12345), 0);
    assert_int_equal(stat(host, &st), 0);
    assert_int_equal(st.st_size, 12345);
    assert_int_equal(SC2(e, NR_ftruncate, (uint64_t)fd, NEG(-1)), -EINVAL);
}

static void test_symlink_then_readlink(void **state)
{
    struct env *e = *state;
    char link[128], back[32];
    put_str(e, BUF, "target/of/link");
    put_path(e, BUF + 100, "ln", link, sizeof(link));
    assert_int_equal(SC2(e, NR_symlink, BUF, BUF + 100), 0);
    assert_int_equal(SC3(e, NR_readlink, BUF + 100, BUF + 1000, 32), 14);
    assert_int_equal(copy_from_user(e->p->mm, back, BUF + 1000, 14), 0);
    assert_memory_equal(back, "target/of/link", 14);
    assert_int_equal(SC2(e, NR_symlink, BUF, BUF + 100), -EEXIST);
}

static void test_getgroups_and_sysinfo(void **state)
{
    struct env *e = *state;
    struct linux_sysinfo si;
    long n = SC2(e, NR_getgroups, 0, 0);
    assert_int_equal(n, getgroups(0, NULL));
    assert_int_equal(SC2(e, NR_getgroups, NEG(-1), BUF), -EINVAL);
    assert_int_equal(SC2(e, NR_getgroups, (uint64_t)n, BUF), n);
    /* BUF is faulted in first, so the copy-out allocates no frame after the count. */
    assert_int_equal(clear_user(e->p->mm, BUF, PAGE_SIZE), 0);
    assert_int_equal(SC1(e, NR_sysinfo, BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &si, BUF, sizeof(si)), 0);
    assert_int_equal(si.totalram, 16 << 20); /* the frame pool, not the host */
    assert_int_equal(si.freeram, phys_free_frames(&e->sys.phys) * PAGE_SIZE);
    assert_int_equal(si.mem_unit, 1);
    assert_int_equal(SC1(e, NR_sysinfo, RO), -EFAULT);
}

/* ---- time ---- */

static void test_clock_gettime_and_errors(void **state)
{
    struct env *e = *state;
    struct linux_timespec ts;
    assert_int_equal(SC2(e, NR_clock_gettime, CLOCK_MONOTONIC, BUF), 0);
    assert_int_equal(copy_from_user(e->p->mm, &ts, BUF, sizeof(ts)), 0);
    assert_true(ts.tv_sec > 0 || ts.tv_nsec > 0);
    assert_true(ts.tv_nsec < 1000000000);
    assert_int_equal(SC2(e, NR_clock_gettime, 100, BUF), -EINVAL);
    assert_int_equal(SC2(e, NR_clock_gettime, CLOCK_REALTIME, LOW), -EFAULT);
    assert_int_equal(SC2(e, NR_gettimeofday, WILD, 0), -EFAULT);
    assert_int_equal(SC2(e, NR_gettimeofday, BUF, BUF + 16), 0);
    long t = SC1(e, NR_time, BUF);
    uint64_t stored;
    assert_int_equal(get_user_u64(e->p->mm, BUF, &stored), 0);
    assert_int_equal((long)stored, t);
}

static void test_nanosleep_validates_request(void **state)
{
    struct env *e = *state;
    struct linux_timespec bad = {0, 1000000000}, ok = {0, 1};
    assert_int_equal(copy_to_user(e->p->mm, BUF, &bad, sizeof(bad)), 0);
    assert_int_equal(SC2(e, NR_nanosleep, BUF, 0), -EINVAL);
    assert_int_equal(SC2(e, NR_nanosleep, WILD, 0), -EFAULT);
    assert_int_equal(copy_to_user(e->p->mm, BUF, &ok, sizeof(ok)), 0);
    assert_int_equal(SC2(e, NR_nanosleep, BUF, 0), 0);
    assert_int_equal(SC4(e, NR_clock_nanosleep, CLOCK_MONOTONIC, 0, BUF, 0), 0);
    assert_int_equal(SC4(e, NR_clock_nanosleep, CLOCK_MONOTONIC, 2, BUF, 0), -EINVAL);
}

static void test_getrandom_flags_and_buffer(void **state)
{
    struct env *e = *state;
    assert_int_equal(SC3(e, NR_getrandom, BUF, 16, 0x8), -EINVAL);
    assert_int_equal(SC3(e, NR_getrandom, BUF, 16, LINUX_GRND_RANDOM | LINUX_GRND_INSECURE),
                     -EINVAL);
    assert_int_equal(SC3(e, NR_getrandom, BUF, 16, LINUX_GRND_NONBLOCK), 16);
    assert_int_equal(SC3(e, NR_getrandom, WILD, 16, 0), -EFAULT);
    assert_int_equal(SC3(e, NR_getrandom, BUF + BUF_LEN - 10, 16, 0), 10);
}

/* ---- --trace ---- */

static void test_trace_open_flags_and_result(void **state)
{
    struct env *e = *state;
    char host[128], want[512];
    trace_on(e);
    int fd = open_in_dir(e, "tr", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, host, sizeof(host));
    snprintf(want, sizeof(want),
             "[1000] openat(AT_FDCWD, \"%.32s\"..., O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0x1a4) = "
             "%d\n",
             host, fd);
    if (strlen(host) <= 32)
        snprintf(want, sizeof(want),
                 "[1000] openat(AT_FDCWD, \"%s\", O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0x1a4) = "
                 "%d\n",
                 host, fd);
    assert_string_equal(trace_text(e), want);
}

static void test_trace_error_and_string_escapes(void **state)
{
    struct env *e = *state;
    trace_on(e);
    put_str(e, BUF,
            "/no/such\n\"file\\\x01"
            "7");
    SC1(e, NR_unlink, BUF);
    SC1(e, NR_unlink, 0);
    SC1(e, NR_unlink, WILD);
    SC4(e, NR_openat, 5, BUF, O_RDONLY, 0); /* absolute: the bad dirfd is ignored */
    assert_string_equal(trace_text(e),
                        "[1000] unlink(\"/no/such\\n\\\"file\\\\\\0017\") = -1 ENOENT (No such "
                        "file or directory)\n"
                        "[1000] unlink(NULL) = -1 EFAULT (Bad address)\n"
                        "[1000] unlink(0xdead0000) = -1 EFAULT (Bad address)\n"
                        "[1000] openat(5, \"/no/such\\n\\\"file\\\\\\0017\", O_RDONLY, 0) = -1 "
                        "ENOENT (No such file or directory)\n");
}

static void test_trace_long_string_is_cut_at_32(void **state)
{
    struct env *e = *state;
    trace_on(e);
    put_str(e, BUF, "/0123456789abcdefghijklmnopqrstuvwxyz");
    SC1(e, NR_chdir, BUF);
    put_str(e, BUF, "/0123456789abcdefghijklmnopqrstu"); /* exactly 32: no cut */
    SC1(e, NR_rmdir, BUF);
    assert_string_equal(trace_text(e),
                        "[1000] chdir(\"/0123456789abcdefghijklmnopqrstu\"...) = -1 ENOENT (No "
                        "such file or directory)\n"
                        "[1000] rmdir(\"/0123456789abcdefghijklmnopqrstu\") = -1 ENOENT (No such "
                        "file or directory)\n");
}

static void test_trace_unlink_path_read_before_call(void **state)
{
    struct env *e = *state;
    char host[128], want[256];
    trace_on(e);
    snprintf(host, sizeof(host), "%s/gone", e->dir);
    write_host_file(host, "");
    put_str(e, BUF, "gone");
    put_str(e, BUF + 100, e->dir);
    int dfd = (int)SC3(e, NR_open, BUF + 100, O_RDONLY | O_DIRECTORY, 0);
    fclose(e->opt.trace); /* only the unlinkat line matters */
    free(e->trace);
    e->trace = NULL;
    trace_on(e);
    assert_int_equal(SC3(e, NR_unlinkat, (uint64_t)dfd, BUF, 0), 0);
    snprintf(want, sizeof(want), "[1000] unlinkat(%d, \"gone\", 0) = 0\n", dfd);
    assert_string_equal(trace_text(e), want);
}

static void test_trace_kinds_unsigned_hex_pointer_prot(void **state)
{
    struct env *e = *state;
    mode_t saved = umask(022);
    trace_on(e);
    SC1(e, NR_umask, 077);
    SC3(e, NR_read, 99, 0, 0xffffffffffffffffULL);
    SC2(e, NR_getrusage, 0, 0);
    SC3(e, NR_mprotect, BUF, PAGE_SIZE, LINUX_PROT_READ | LINUX_PROT_WRITE);
    SC0(e, SYS_vhangup);
    umask(saved);
    assert_string_equal(trace_text(e),
                        "[1000] umask(0x3f) = 0x12\n"
                        "[1000] read(99, NULL, 18446744073709551615) = -1 EBADF (Bad file "
                        "descriptor)\n"
                        "[1000] getrusage(0, NULL) = -1 EFAULT (Bad address)\n"
                        "[1000] mprotect(0x10000000, 4096, PROT_READ|PROT_WRITE) = 0\n"
                        "[1000] vhangup(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not "
                        "implemented)\n");
}

/* poll: an unknown descriptor gets POLLNVAL, a negative one is skipped, a pipe with data
 * is readable; a bad array is -EFAULT. */
static void test_poll_translates_descriptors(void **state)
{
    struct env *e = *state;
    int pfd[2];
    struct pollfd fds[3] = {{.fd = 99, .events = POLLIN}, {.fd = -1, .events = POLLIN}};

    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(write(pfd[1], "x", 1), 1);
    int gfd = fd_install(e->p->fds, pfd[0], false, NULL, 0);
    assert_true(gfd >= 3);
    fds[2].fd = gfd;
    fds[2].events = POLLIN;
    assert_int_equal(copy_to_user(e->p->mm, BUF, fds, sizeof(fds)), 0);
    assert_int_equal(SC3(e, 7, BUF, 3, 0), 2);
    assert_int_equal(copy_from_user(e->p->mm, fds, BUF, sizeof(fds)), 0);
    assert_int_equal(fds[0].revents, POLLNVAL);
    assert_int_equal(fds[1].revents, 0);
    assert_int_equal(fds[2].revents, POLLIN);
    assert_int_equal(SC3(e, 7, WILD, 1, 0), -EFAULT);
    assert_int_equal(SC3(e, 7, BUF, 1u << 20, 0), -EINVAL);
    assert_int_equal(SC5(e, 271, BUF, 1, 0, BUF, 4), -EINVAL); /* bad sigset size */
    close(pfd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_dispatch_unknown_nr_returns_enosys_and_logs_once),
        T(test_dispatch_rseq_returns_enosys_without_log),
        T(test_dispatch_counts_every_syscall),
        cmocka_unit_test(test_syscall_name_known_and_unknown),
        T(test_read_write_round_trip_through_file),
        T(test_pread_pwrite_use_offset_not_position),
        T(test_read_write_wild_buffer_return_efault),
        T(test_read_past_end_of_mapping_returns_partial_count),
        T(test_read_bad_fd_returns_ebadf),
        T(test_poll_translates_descriptors),
        T(test_writev_readv_gather_and_scatter),
        T(test_writev_bad_vectors_return_einval_or_efault),
        T(test_open_errors),
        T(test_open_cloexec_kept_in_table_and_fcntl),
        T(test_dup_family),
        T(test_ioctl_unknown_request_returns_enotty_logged_once),
        T(test_getdents64_lists_directory),
        T(test_getcwd_returns_length_with_nul),
        T(test_readlink_proc_self_exe_returns_program),
        T(test_open_proc_self_exe_opens_program),
        T(test_mkdir_rename_unlink_rmdir),
        T(test_mkdirat_relative_to_guest_dirfd),
        T(test_stat_family_fills_guest_layout),
        T(test_stat_errors),
        T(test_ids),
        T(test_exit_group_records_low_byte),
        T(test_arch_prctl_errors),
        T(test_set_robust_list_needs_24_bytes),
        T(test_prlimit64_and_getrlimit),
        T(test_rt_sigaction_records_and_returns_old),
        T(test_rt_sigprocmask_never_blocks_kill_stop),
        T(test_sched_getaffinity_one_cpu),
        T(test_arch_prctl_fs_round_trip_on_cpu),
        T(test_prctl_name_and_unknown_option),
        T(test_sendfile_copies_between_guest_fds),
        T(test_fcntl_lock_and_ftruncate),
        T(test_symlink_then_readlink),
        T(test_getgroups_and_sysinfo),
        T(test_getpriority_setpriority_keep_the_nice_value),
        T(test_clock_getres_is_the_hosts),
        T(test_uname_fields),
        T(test_getrusage_reports_mm_fault_counts),
        T(test_clock_gettime_and_errors),
        T(test_nanosleep_validates_request),
        T(test_getrandom_flags_and_buffer),
        T(test_trace_open_flags_and_result),
        T(test_trace_error_and_string_escapes),
        T(test_trace_long_string_is_cut_at_32),
        T(test_trace_unlink_path_read_before_call),
        T(test_trace_kinds_unsigned_hex_pointer_prot),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
