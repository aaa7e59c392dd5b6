/* Unit tests of the synthesized /proc files (src/proc/procfs_task.c) on a process without a CPU: a
 * 16 MiB pool, pid 1000, and areas of every kind (anonymous, heap, a file, shared
 * anonymous memory, the stack) with a few pages faulted in. They check exact maps lines
 * (Linux's columns), status Vm* values, stat and statm fields, smaps entries, cmdline,
 * comm, exe, meminfo and cpuinfo, the snapshot descriptor (cloexec, at offset 0), and the
 * answers for writers (-EACCES), unknown pids and entries (-ENOENT), and paths vmemu does
 * not make up (PROCFS_PASS). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/proc.h"
#include "vmemu/procfs.h"

#define P(n)      ((uint64_t)(n) << PAGE_SHIFT)
#define ANON      0x10000000ULL     /* 4 pages rw, 2 written, 1 read */
#define FILEMAP   0x20000000ULL     /* 1 page of the test file, read */
#define SHM       0x30000000ULL     /* 2 pages of shared anonymous memory, 1 written */
#define HEAP      0x600000ULL       /* 2 pages of heap */
#define STACK     0x7fff9ec80000ULL /* 33 pages of stack */
#define STACK_END 0x7fff9eca1000ULL
#define RW        (VM_READ | VM_WRITE)

struct env {
    struct vmsys sys;       /* 16 MiB pool */
    struct proc *p;         /* pid 1000, no CPU */
    struct run_options opt; /* defaults */
    char path[64];          /* temporary file of one page */
    char real[PATH_MAX];    /* its canonical path */
};

static int setup(void **state)
{
    static struct env e;
    static char page[PAGE_SIZE];
    struct vfile *f, *shm;
    char self[PATH_MAX];

    memset(&e, 0, sizeof(e));
    if (vmsys_init(&e.sys, 16 << 20, 64, 4) < 0 || proc_create(&e.sys, NULL, &e.opt, &e.p) < 0)
        return -1;
    e.sys.current = e.p->mm;
    e.sys.charge = &e.p->vmstat;
    strcpy(e.p->comm, "procfs-test");
    e.p->argv = calloc(3, sizeof(char *));
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (!e.p->argv || n <= 0)
        return -1;
    self[n] = '\0';
    e.p->argv[0] = strdup("prog");
    e.p->argv[1] = strdup("a");
    e.p->exe = strdup(self);

    strcpy(e.path, "/tmp/test_procfs.XXXXXX");
    int fd = mkstemp(e.path);
    memset(page, 0x41, sizeof(page));
    if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page) || close(fd) != 0 ||
        !realpath(e.path, e.real))
        return -1;
    if (vfile_open(&e.sys.pc, e.path, &f) < 0 || vfile_shmem_create(&e.sys.pc, P(2), &shm) < 0)
        return -1;

    struct mm *mm = e.p->mm;
    if (mm_map(mm, HEAP, P(2), RW, 0, VMA_HEAP, NULL, 0, 0) < 0 ||
        mm_map(mm, ANON, P(4), RW, 0, VMA_ANON, NULL, 0, 0) < 0 ||
        mm_map(mm, FILEMAP, P(1), VM_READ, 0, VMA_FILE, f, 0, UINT64_MAX) < 0 ||
        mm_map(mm, SHM, P(2), RW, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX) < 0 ||
        mm_map(mm, STACK, STACK_END - STACK, RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0) < 0)
        return -1;
    vfile_put(f);
    vfile_put(shm);
    mm->start_brk = HEAP;
    mm->brk = HEAP + P(2);
    if (mm_fault(mm, ANON, ACCESS_WRITE, 0) < 0 || mm_fault(mm, ANON + P(1), ACCESS_WRITE, 0) < 0 ||
        mm_fault(mm, ANON + P(2), ACCESS_READ, 0) < 0 ||
        mm_fault(mm, FILEMAP, ACCESS_READ, 0) < 0 || mm_fault(mm, SHM, ACCESS_WRITE, 0) < 0)
        return -1;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    proc_destroy(e->p);
    vmsys_destroy(&e->sys);
    unlink(e->path);
    return 0;
}

/* Opens path through procfs_open (read-only) and returns the whole snapshot, which the
 * caller frees; *len gets its length. */
static char *slurp_len(struct env *e, const char *path, size_t *len)
{
    int fd = procfs_open(e->p, path, O_RDONLY, NULL);
    assert_true(fd >= 0);
    assert_int_not_equal(fd, PROCFS_PASS);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        assert_true(r >= 0);
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap - 1) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static char *slurp(struct env *e, const char *path)
{
    return slurp_len(e, path, NULL);
}

/* A maps line as Linux pads it: the name starts after column 72 of the line. */
static void maps_line(char *out, size_t n, const char *prefix, const char *name)
{
    int len = snprintf(out, n, "%-72s %s\n", prefix, name);
    assert_true(len > 0 && (size_t)len < n);
}

/* The line of text that starts with key, copied into out (without its newline). */
static void line_of(const char *text, const char *key, char *out, size_t n)
{
    const char *s = strstr(text, key);
    assert_non_null(s);
    size_t len = strcspn(s, "\n");
    assert_true(len < n);
    memcpy(out, s, len);
    out[len] = '\0';
}

/* ---- maps ---- */

static void test_procfs_maps_lines_match_linux_columns(void **state)
{
    struct env *e = *state;
    struct stat st;
    char prefix[128], expect[PATH_MAX + 128], expect_all[16384] = "";

    assert_int_equal(stat(e->path, &st), 0);
    maps_line(expect, sizeof(expect), "00600000-00602000 rw-p 00000000 00:00 0 ", "[heap]");
    strcat(expect_all, expect);
    strcat(expect_all, "10000000-10004000 rw-p 00000000 00:00 0 \n");
    snprintf(prefix, sizeof(prefix), "20000000-20001000 r--p 00000000 %02x:%02x %lu ",
             major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    maps_line(expect, sizeof(expect), prefix, e->real);
    strcat(expect_all, expect);
    maps_line(expect, sizeof(expect), "30000000-30002000 rw-s 00000000 00:01 0 ",
              "/dev/zero (deleted)");
    strcat(expect_all, expect);
    /* Copied from a Linux 6.18 /proc/self/maps. */
    strcat(expect_all, "7fff9ec80000-7fff9eca1000 rw-p 00000000 00:00 0"
                       "                          [stack]\n");

    char *maps = slurp(e, "/proc/self/maps");
    assert_string_equal(maps, expect_all);
    char *by_pid = slurp(e, "/proc/1000/maps");
    assert_string_equal(by_pid, expect_all);
    free(by_pid);
    free(maps);
}

/* ---- smaps ---- */

static void test_procfs_smaps_anon_entry_has_exact_values(void **state)
{
    struct env *e = *state;
    char *smaps = slurp(e, "/proc/self/smaps");
    const char *entry = strstr(smaps, "10000000-10004000 rw-p 00000000 00:00 0 \n");
    assert_non_null(entry);
    const char *expect = "10000000-10004000 rw-p 00000000 00:00 0 \n"
                         "Size:                 16 kB\n"
                         "KernelPageSize:        4 kB\n"
                         "MMUPageSize:           4 kB\n"
                         "Rss:                   8 kB\n"
                         "Pss:                   8 kB\n"
                         "Pss_Dirty:             8 kB\n"
                         "Shared_Clean:          0 kB\n"
                         "Shared_Dirty:          0 kB\n"
                         "Private_Clean:         0 kB\n"
                         "Private_Dirty:         8 kB\n"
                         "Referenced:            8 kB\n"
                         "Anonymous:             8 kB\n"
                         "KSM:                   0 kB\n"
                         "LazyFree:              0 kB\n"
                         "AnonHugePages:         0 kB\n"
                         "ShmemPmdMapped:        0 kB\n"
                         "FilePmdMapped:         0 kB\n"
                         "Shared_Hugetlb:        0 kB\n"
                         "Private_Hugetlb:       0 kB\n"
                         "Swap:                  0 kB\n"
                         "SwapPss:               0 kB\n"
                         "Locked:                0 kB\n"
                         "THPeligible:           0\n"
                         "VmFlags: rd wr mr mw me ac \n";
    assert_memory_equal(entry, expect, strlen(expect));
    free(smaps);
}

static void test_procfs_smaps_shmem_and_file_entries(void **state)
{
    struct env *e = *state;
    char line[256];
    char *smaps = slurp(e, "/proc/self/smaps");

    const char *shm = strstr(smaps, "30000000-30002000 rw-s");
    assert_non_null(shm);
    line_of(shm, "Rss:", line, sizeof(line));
    assert_string_equal(line, "Rss:                   4 kB");
    line_of(shm, "Anonymous:", line, sizeof(line));
    assert_string_equal(line, "Anonymous:             0 kB");
    line_of(shm, "VmFlags:", line, sizeof(line));
    assert_string_equal(line, "VmFlags: rd wr sh mr mw me ms ");

    const char *file = strstr(smaps, "20000000-20001000 r--p");
    assert_non_null(file);
    line_of(file, "Private_Clean:", line, sizeof(line));
    assert_string_equal(line, "Private_Clean:         4 kB");
    line_of(file, "VmFlags:", line, sizeof(line));
    assert_string_equal(line, "VmFlags: rd mr mw me ");
    free(smaps);
}

static void test_procfs_smaps_rollup_sums_and_splits_pss(void **state)
{
    struct env *e = *state;
    char *r = slurp(e, "/proc/self/smaps_rollup");
    char head[256];

    maps_line(head, sizeof(head), "00600000-7fff9eca1000 ---p 00000000 00:00 0 ", "[rollup]");
    assert_memory_equal(r, head, strlen(head));
    assert_non_null(strstr(r, "\nRss:                  16 kB\n"));
    assert_non_null(strstr(r, "\nPss_Anon:              8 kB\n"));
    assert_non_null(strstr(r, "\nPss_File:              4 kB\n"));
    assert_non_null(strstr(r, "\nPss_Shmem:             4 kB\n"));
    assert_null(strstr(r, "VmFlags"));
    free(r);
}

/* ---- status, stat, statm ---- */

static void test_procfs_status_vm_lines_are_exact(void **state)
{
    struct env *e = *state;
    char *st = slurp(e, "/proc/self/status");
    const char *expect = "VmPeak:\t     168 kB\n" /* 2 + 4 + 1 + 2 + 33 pages */
                         "VmSize:\t     168 kB\n"
                         "VmLck:\t       0 kB\n"
                         "VmPin:\t       0 kB\n"
                         "VmHWM:\t      16 kB\n"
                         "VmRSS:\t      16 kB\n" /* the zero page is not counted */
                         "RssAnon:\t       8 kB\n"
                         "RssFile:\t       4 kB\n"
                         "RssShmem:\t       4 kB\n"
                         "VmData:\t      24 kB\n" /* heap and anonymous area */
                         "VmStk:\t     132 kB\n"
                         "VmExe:\t       0 kB\n"
                         "VmLib:\t       0 kB\n"
                         "VmPTE:\t      24 kB\n" /* see below */
                         "VmSwap:\t       0 kB\n";
    const char *vm = strstr(st, "VmPeak:");
    assert_non_null(vm);
    /* PML4, PDPT and page directory of the first GiB, page tables of ANON, FILEMAP and
     * SHM (the heap and the stack have no page faulted in). */
    assert_int_equal(e->p->mm->pt.table_pages, 6);
    assert_memory_equal(vm, expect, strlen(expect));
    assert_memory_equal(st, "Name:\tprocfs-test\n", 18);
    assert_non_null(strstr(st, "\nPid:\t1000\nPPid:\t1\n"));
    assert_non_null(strstr(st, "\nThreads:\t1\n"));
    free(st);
}

static void test_procfs_stat_has_52_fields_with_faults_and_sizes(void **state)
{
    struct env *e = *state;
    char expect[128];
    char *st = slurp(e, "/proc/self/stat");
    const struct fault_stats *f = &e->p->vmstat.faults;

    snprintf(expect, sizeof(expect), "1000 (procfs-test) R 1 1000 1000 0 -1 0 %lu 0 %lu 0 ",
             (unsigned long)f->minor, (unsigned long)f->major);
    assert_memory_equal(st, expect, strlen(expect));
    int fields = 0;
    for (const char *s = st; *s; s++)
        fields += *s == ' ';
    assert_int_equal(fields + 1, 52);
    assert_int_equal(st[strlen(st) - 1], '\n');
    /* vsize (23) and rss (24), counted after the command name. */
    const char *s = strchr(st, ')') + 2;
    for (int i = 3; i < 23; i++)
        s = strchr(s, ' ') + 1;
    assert_int_equal(strtoull(s, NULL, 10), P(42));
    assert_int_equal(strtoull(strchr(s, ' ') + 1, NULL, 10), 4);
    free(st);
}

static void test_procfs_statm_is_exact(void **state)
{
    struct env *e = *state;
    char *st = slurp(e, "/proc/self/statm");
    /* size resident shared(file + shmem) text lib data(+stack) dt */
    assert_string_equal(st, "42 4 2 0 0 39 0\n");
    free(st);
}

/* ---- cmdline, comm, exe ---- */

static void test_procfs_cmdline_and_comm(void **state)
{
    struct env *e = *state;
    size_t len;
    char *c = slurp_len(e, "/proc/self/cmdline", &len);
    assert_int_equal(len, 7);
    assert_memory_equal(c, "prog\0a\0", 7);
    free(c);
    c = slurp(e, "/proc/1000/comm");
    assert_string_equal(c, "procfs-test\n");
    free(c);
}

static void test_procfs_exe_opens_the_program(void **state)
{
    struct env *e = *state;
    char magic[4];
    int fd = procfs_open(e->p, "/proc/self/exe", O_RDONLY, NULL);
    assert_true(fd >= 0 && fd != PROCFS_PASS);
    assert_int_equal(read(fd, magic, 4), 4);
    assert_memory_equal(magic, "\177ELF", 4);
    close(fd);
}

/* ---- meminfo, cpuinfo ---- */

static void test_procfs_meminfo_describes_the_pool(void **state)
{
    struct env *e = *state;
    char line[128], expect[128];
    char *m = slurp(e, "/proc/meminfo");

    assert_memory_equal(m, "MemTotal:          16384 kB\n", 28);
    snprintf(expect, sizeof(expect), "MemFree:        %8lu kB",
             (unsigned long)phys_free_frames(&e->sys.phys) * 4);
    line_of(m, "MemFree:", line, sizeof(line));
    assert_string_equal(line, expect);
    /* The file page, and the shmem page: both in the page cache. */
    line_of(m, "Cached:", line, sizeof(line));
    assert_string_equal(line, "Cached:                8 kB");
    line_of(m, "Shmem:", line, sizeof(line));
    assert_string_equal(line, "Shmem:                 4 kB");
    line_of(m, "AnonPages:", line, sizeof(line));
    assert_string_equal(line, "AnonPages:             8 kB");
    line_of(m, "PageTables:", line, sizeof(line));
    assert_string_equal(line, "PageTables:           24 kB");
    line_of(m, "SwapTotal:", line, sizeof(line));
    assert_string_equal(line, "SwapTotal:             0 kB");
    free(m);
}

static void test_procfs_cpuinfo_describes_the_emulated_cpu(void **state)
{
    struct env *e = *state;
    char line[1024];
    char *c = slurp(e, "/proc/cpuinfo");

    assert_memory_equal(c,
                        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                        "model\t\t: 60\n",
                        62);
    line_of(c, "flags\t\t:", line, sizeof(line));
    strcat(line, " ");
    assert_non_null(strstr(line, " fpu "));
    assert_non_null(strstr(line, " sse2 "));
    assert_non_null(strstr(line, " lm "));
    assert_non_null(strstr(line, " sse4_2 "));
    assert_non_null(strstr(line, " bmi2 "));
    assert_null(strstr(line, " avx2 "));
    assert_null(strstr(line, " fsgsbase "));
    assert_null(strstr(line, " osxsave "));
    assert_non_null(strstr(c, "\naddress sizes\t: 40 bits physical, 48 bits virtual\n"));
    assert_int_equal(c[strlen(c) - 1], '\n');
    assert_int_equal(c[strlen(c) - 2], '\n');
    free(c);
}

/* ---- the descriptor and the errors ---- */

static void test_procfs_snapshot_fd_is_cloexec_at_offset_zero(void **state)
{
    struct env *e = *state;
    int fd = procfs_open(e->p, "/proc/self/status", O_RDONLY, NULL);
    assert_true(fd >= 0 && fd != PROCFS_PASS);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
    close(fd);
}

static void test_procfs_open_for_writing_returns_eacces(void **state)
{
    struct env *e = *state;
    assert_int_equal(procfs_open(e->p, "/proc/self/status", O_WRONLY, NULL), -EACCES);
    assert_int_equal(procfs_open(e->p, "/proc/self/maps", O_RDWR, NULL), -EACCES);
    assert_int_equal(procfs_open(e->p, "/proc/1000/smaps", O_WRONLY | O_TRUNC, NULL), -EACCES);
    assert_int_equal(procfs_open(e->p, "/proc/meminfo", O_RDWR, NULL), -EACCES);
    assert_int_equal(procfs_open(e->p, "/proc/self/exe", O_WRONLY, NULL), -EACCES);
}

static void test_procfs_unknown_pid_or_entry_returns_enoent(void **state)
{
    struct env *e = *state;
    assert_int_equal(procfs_open(e->p, "/proc/1001/maps", O_RDONLY, NULL), -ENOENT);
    assert_int_equal(procfs_open(e->p, "/proc/1/status", O_RDONLY, NULL), -ENOENT);
    assert_int_equal(procfs_open(e->p, "/proc/99999999999999/maps", O_RDONLY, NULL), -ENOENT);
    assert_int_equal(procfs_open(e->p, "/proc/self/no-such-file", O_RDONLY, NULL), -ENOENT);
    assert_int_equal(procfs_open(e->p, "/proc/1000/no-such-file", O_RDONLY, NULL), -ENOENT);
}

static void test_procfs_other_paths_pass_to_the_host(void **state)
{
    struct env *e = *state;
    assert_int_equal(procfs_open(e->p, "/etc/hostname", O_RDONLY, NULL), PROCFS_PASS);
    assert_int_equal(procfs_open(e->p, "/proc/version", O_RDONLY, NULL), PROCFS_PASS);
    assert_int_equal(procfs_open(e->p, "/proc/sys/kernel/ostype", O_RDONLY, NULL), PROCFS_PASS);
    assert_int_equal(procfs_open(e->p, "/proc/selfish", O_RDONLY, NULL), PROCFS_PASS);
    assert_int_equal(procfs_open(e->p, "/proc/meminfo2", O_RDONLY, NULL), PROCFS_PASS);
}

static void test_procfs_pid_entry_not_made_up_opens_hosts_self(void **state)
{
    struct env *e = *state;
    /* The host's /proc/1000 is another process: vmemu's own /proc/self stands in. */
    int fd = procfs_open(e->p, "/proc/1000/ns", O_RDONLY | O_DIRECTORY, NULL);
    assert_true(fd >= 0 && fd != PROCFS_PASS);
    close(fd);
}

/* /proc/PID/fd is listed by vmemu: the guest's numbers only; vmemu's own memory and
 * descriptors are not reachable. */
static void test_procfs_fd_dir_lists_the_guests_descriptors(void **state)
{
    struct env *e = *state;
    struct fd_dir *dir = NULL;
    assert_int_equal(procfs_open(e->p, "/proc/self/fd", O_RDONLY | O_DIRECTORY, NULL), -ENOENT);
    int fd = procfs_open(e->p, "/proc/self/fd", O_RDONLY | O_DIRECTORY, &dir);
    assert_true(fd >= 0 && dir != NULL);
    close(fd);
    assert_int_equal(procfs_fill_dir(e->p, dir), 0);
    /* records: ".", "..", then one per open guest descriptor */
    size_t n = 0, off = 0;
    int want = 2;
    for (int g = 0; g < FD_MAX; g++)
        want += fd_host(e->p->fds, g) >= 0;
    while (off < dir->len) {
        uint16_t reclen;
        memcpy(&reclen, dir->buf + off + 16, sizeof(reclen));
        const char *name = (const char *)dir->buf + off + 19;
        if (n >= 2)
            assert_true(fd_host(e->p->fds, atoi(name)) >= 0);
        off += reclen;
        n++;
    }
    assert_int_equal(n, want);
    fd_dir_put(dir);
    assert_int_equal(procfs_open(e->p, "/proc/self/mem", O_RDONLY, NULL), -EACCES);
    assert_int_equal(procfs_open(e->p, "/proc/self/map_files", O_RDONLY, NULL), -EACCES);
    char host[64];
    assert_int_equal(procfs_host_path(e->p, "/proc/1000/pagemap", host, sizeof(host)), -EACCES);
    assert_int_equal(procfs_host_path(e->p, "/proc/1000/fdinfo/999", host, sizeof(host)), -ENOENT);
    assert_int_equal(procfs_host_path(e->p, "/proc/1000/status", host, sizeof(host)), 0);
    assert_string_equal(host, "/proc/self/status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_procfs_maps_lines_match_linux_columns),
        T(test_procfs_smaps_anon_entry_has_exact_values),
        T(test_procfs_smaps_shmem_and_file_entries),
        T(test_procfs_smaps_rollup_sums_and_splits_pss),
        T(test_procfs_status_vm_lines_are_exact),
        T(test_procfs_stat_has_52_fields_with_faults_and_sizes),
        T(test_procfs_statm_is_exact),
        T(test_procfs_cmdline_and_comm),
        T(test_procfs_exe_opens_the_program),
        T(test_procfs_meminfo_describes_the_pool),
        T(test_procfs_cpuinfo_describes_the_emulated_cpu),
        T(test_procfs_snapshot_fd_is_cloexec_at_offset_zero),
        T(test_procfs_open_for_writing_returns_eacces),
        T(test_procfs_unknown_pid_or_entry_returns_enoent),
        T(test_procfs_other_paths_pass_to_the_host),
        T(test_procfs_pid_entry_not_made_up_opens_hosts_self),
        T(test_procfs_fd_dir_lists_the_guests_descriptors),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
