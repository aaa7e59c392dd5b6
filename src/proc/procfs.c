/* The /proc files vmemu makes up for the guest: the path lookup and the open. Each open
 * renders a snapshot of vmemu's own state into a text buffer (procfs_task.c for /proc/PID,
 * procfs_sys.c for meminfo and cpuinfo) and hands back a host memfd holding it, so reads,
 * seeks and fstat work as on any file. /proc/self, /proc/thread-self and /proc/PID (a vmemu
 * pid, found by procfs_find_task) are looked up here; everything else under /proc goes to
 * the host. Called by open/openat (syscalls/sys_file.c) and the gdb stub (src/debug/gdbstub.c). */
#include "vmemu/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procfs_int.h"
#include "vmemu/sched.h"

__attribute__((format(printf, 2, 3))) void pb_printf(struct pbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
}

/* Appends n raw bytes (cmdline holds NULs). */
void pb_put(struct pbuf *b, const void *src, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* A cloexec memfd holding the rendered text, positioned at 0. Frees the buffer.
 * Returns the descriptor or -errno. */
static int pb_to_fd(struct pbuf *b)
{
    int rc;
    if (b->oom) {
        rc = -ENOMEM;
        goto out;
    }
    int fd = memfd_create("vmemu-proc", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    for (size_t off = 0; off < b->len;) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0) {
            rc = -errno;
            close(fd);
            goto out;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        rc = -errno;
        close(fd);
        goto out;
    }
    rc = fd;
out:
    free(b->data);
    *b = (struct pbuf){0};
    return rc;
}

/* ---- path lookup ---- */

typedef int (*procfs_render)(struct pbuf *b, struct proc *t);

/* A file of /proc/PID that vmemu makes up. */
struct procfs_entry {
    const char *name;     /* file name under /proc/PID */
    procfs_render render; /* writes its text */
};

static const struct procfs_entry pid_entries[] = {
    {"maps", procfs_render_maps},
    {"smaps", procfs_render_smaps},
    {"smaps_rollup", procfs_render_smaps_rollup},
    {"status", procfs_render_status},
    {"stat", procfs_render_stat},
    {"statm", procfs_render_statm},
    {"cmdline", procfs_render_cmdline},
    {"comm", procfs_render_comm},
};

/* Other entries a Linux /proc/PID has that say nothing of vmemu's own memory, descriptors
 * or tasks, between bars: they go to the host's /proc/self. */
static const char pid_host_entries[] =
    "|arch_status|attr|autogroup|cgroup|coredump_filter|cpu_resctrl_groups|cpuset|gid_map|io|"
    "latency|limits|loginuid|mountinfo|mounts|mountstats|net|ns|oom_adj|oom_score|"
    "oom_score_adj|personality|projid_map|schedstat|sessionid|setgroups|"
    "timens_offsets|timerslack_ns|uid_map|wchan|";
/* Entries that would show or change vmemu's own memory, descriptors, tasks or
 * environment: the guest gets EACCES (vmemu does not make them up). */
static const char pid_denied_entries[] =
    "|auxv|clear_refs|environ|ksm_merging_pages|ksm_stat|map_files|mem|numa_maps|pagemap|"
    "patch_state|sched|stack|syscall|timers|";
/* Directories vmemu lists itself (procfs_dir.c). */
static const char pid_listed_dirs[] = "|fd|fdinfo|task|";

static const struct procfs_entry sys_entries[] = {
    {"/proc/meminfo", procfs_render_meminfo},
    {"/proc/cpuinfo", procfs_render_cpuinfo},
    {"/proc/vmstat", procfs_render_vmstat},
    {"/sys/kernel/mm/transparent_hugepage/enabled", procfs_render_thp_enabled},
    {"/sys/kernel/mm/transparent_hugepage/defrag", procfs_render_thp_defrag},
    {"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", procfs_render_thp_pmd_size},
    {"/proc/sys/vm/nr_hugepages", procfs_render_nr_hugepages},
    {"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", procfs_render_nr_hugepages},
    {"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", procfs_render_free_hugepages},
    {"/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", procfs_render_resv_hugepages},
    {"/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages", procfs_render_zero},
    {"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages", procfs_render_zero},
};

/* Whether the first component of rest (n bytes) is one of the bar-separated names. */
static bool name_in(const char *names, const char *rest, size_t n)
{
    char bar_name[64];
    if (n == 0 || n >= sizeof(bar_name) - 2)
        return false;
    snprintf(bar_name, sizeof(bar_name), "|%.*s|", (int)n, rest);
    return strstr(names, bar_name) != NULL;
}

/* The guest task named by the decimal string name: any task of the run (a thread's id
 * works, as on Linux), or with group the task of group's thread group. NULL when name is
 * not a number or names no task alive. */
struct proc *procfs_task(struct proc *p, const char *name, struct proc *group)
{
    char *end;
    if (name[0] < '1' || name[0] > '9')
        return NULL;
    long pid = strtol(name, &end, 10);
    if (*end != '\0' || pid > 0x3fffffff)
        return NULL;
    const struct sched *s = p->sched;
    if (!s)
        return pid == p->pid || pid == p->leader->pid ? (pid == p->pid ? p : p->leader) : NULL;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *t = s->procs[i];
        if (t->pid == pid && t->state != PROC_DEAD && (!group || t->leader == group->leader))
            return t;
    }
    return NULL;
}

static int render_to_fd(procfs_render render, struct proc *t, int flags)
{
    struct pbuf b = {0};
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    if (flags & O_DIRECTORY)
        return -ENOTDIR;
    int rc = render(&b, t);
    if (rc < 0) {
        free(b.data);
        return rc;
    }
    return pb_to_fd(&b);
}

/* Length of the first component of rest (up to '/' or the end). */
static size_t component_len(const char *rest)
{
    const char *slash = strchr(rest, '/');
    return slash ? (size_t)(slash - rest) : strlen(rest);
}

/* The guest descriptor named by s (decimal, nothing after it), or -1. */
static int fd_number(const char *s)
{
    char *end;
    long fd = strtol(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && fd < FD_MAX ? (int)fd : -1;
}

/* An entry under /proc/PID of task t. rest is what follows "/proc/PID/" ("" for the
 * directory itself). */
static int open_pid_entry(struct proc *p, struct proc *t, const char *rest, int flags,
                          struct fd_dir **dir)
{
    if (strncmp(rest, "task/", 5) == 0 && rest[5] != '\0') {
        /* /proc/PID/task/TID/...: a thread of t's process */
        char tid[24];
        size_t n = component_len(rest + 5);
        if (n >= sizeof(tid))
            return -ENOENT;
        memcpy(tid, rest + 5, n);
        tid[n] = '\0';
        struct proc *task = procfs_task(p, tid, t);
        if (!task)
            return -ENOENT;
        return open_pid_entry(p, task, rest[5 + n] ? rest + 6 + n : rest + 5 + n, flags, dir);
    }
    for (size_t i = 0; i < ARRAY_LEN(pid_entries); i++)
        if (strcmp(rest, pid_entries[i].name) == 0)
            return render_to_fd(pid_entries[i].render, t, flags);
    if (strcmp(rest, "exe") == 0)
        return procfs_open_exe(t, flags);
    if (strncmp(rest, "fdinfo/", 7) == 0) {
        int fd = fd_number(rest + 7);
        struct pbuf b = {0};
        if ((flags & O_ACCMODE) != O_RDONLY)
            return -EACCES;
        int rc = fd < 0 ? -ENOENT : procfs_render_fdinfo(&b, t, fd);
        if (rc < 0) {
            free(b.data);
            return rc;
        }
        return pb_to_fd(&b);
    }
    size_t n = component_len(rest);
    if (name_in(pid_listed_dirs, rest, n))
        return rest[n] == '\0' ? procfs_open_dir(p, t, rest, flags, dir) : -ENOENT;
    if (name_in(pid_denied_entries, rest, n))
        return -EACCES;
    if (n > 0 && !name_in(pid_host_entries, rest, n))
        return -ENOENT;
    /* vmemu's /proc/self: the same kernel answers for the guest */
    char host[4096];
    if (snprintf(host, sizeof(host), "/proc/self/%s", rest) >= (int)sizeof(host))
        return -ENAMETOOLONG;
    int fd = open(host, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Splits a guest /proc path into its task (NULL for a path outside /proc/PID) and what
 * follows "/proc/PID/". Returns 0, or -ENOENT for a pid the guest does not have. */
static int split_pid_path(struct proc *p, const char *path, struct proc **t, const char **rest)
{
    static const char *const self_dirs[] = {"/proc/self", "/proc/thread-self"};
    *t = NULL;
    for (size_t i = 0; i < ARRAY_LEN(self_dirs); i++) {
        size_t n = strlen(self_dirs[i]);
        /* /proc/self is the process (its leader), /proc/thread-self the calling thread */
        if (strncmp(path, self_dirs[i], n) == 0 && (path[n] == '/' || path[n] == '\0')) {
            *t = i == 0 ? p->leader : p;
            *rest = path[n] ? path + n + 1 : path + n;
            return 0;
        }
    }
    if (strncmp(path, "/proc/", 6) != 0)
        return 0;
    const char *s = path + 6;
    char pid[24];
    size_t n = component_len(s);
    if (*s < '1' || *s > '9' || n >= sizeof(pid) || strspn(s, "0123456789") != n)
        return 0;
    memcpy(pid, s, n);
    pid[n] = '\0';
    if (!(*t = procfs_task(p, pid, NULL)))
        return -ENOENT;
    *rest = s[n] ? s + n + 1 : s + n;
    return 0;
}

/* Opens the file named by the guest /proc path (see the header). */
int procfs_open(struct proc *p, const char *path, int flags, struct fd_dir **dir)
{
    if (strcmp(path, "/proc") == 0 || strcmp(path, "/proc/") == 0)
        return procfs_open_dir(p, p, "", flags, dir);
    for (size_t i = 0; i < ARRAY_LEN(sys_entries); i++)
        if (strcmp(path, sys_entries[i].name) == 0)
            return render_to_fd(sys_entries[i].render, p, flags);
    if (strncmp(path, "/proc/", 6) != 0)
        return PROCFS_PASS;
    struct proc *t;
    const char *rest;
    int rc = split_pid_path(p, path, &t, &rest);
    if (rc < 0 || !t)
        return rc < 0 ? rc : PROCFS_PASS;
    return open_pid_entry(p, t, rest, flags, dir);
}

/* The host path that stands in for a guest /proc path in the path syscalls other than
 * open (see the header). */
int procfs_host_path(struct proc *p, const char *path, char *out, size_t size)
{
    struct proc *t;
    const char *rest;
    int rc = split_pid_path(p, path, &t, &rest);
    if (rc < 0)
        return rc;
    if (!t) /* /proc itself or a file of the whole system */
        return snprintf(out, size, "%s", path) >= (int)size ? -ENAMETOOLONG : 0;
    if (strncmp(rest, "task/", 5) == 0 && rest[5] != '\0') {
        size_t n = component_len(rest + 5); /* the task was checked by the walk */
        rest = rest[5 + n] ? rest + 6 + n : rest + 5 + n;
    }
    size_t n = component_len(rest);
    if (strcmp(rest, "exe") == 0) {
        if (!t->exe)
            return -ENOENT;
        return snprintf(out, size, "%s", t->exe) >= (int)size ? -ENAMETOOLONG : 0;
    }
    if (strncmp(rest, "fdinfo/", 7) == 0) {
        int fd = fd_number(rest + 7);
        int h = fd < 0 ? -1 : fd_host(t->fds, fd);
        if (h < 0)
            return -ENOENT;
        return snprintf(out, size, "/proc/self/fdinfo/%d", h) >= (int)size ? -ENAMETOOLONG : 0;
    }
    if (name_in(pid_denied_entries, rest, n))
        return -EACCES;
    bool known = n == 0 || name_in(pid_host_entries, rest, n) ||
                 (name_in(pid_listed_dirs, rest, n) && rest[n] == '\0');
    for (size_t i = 0; i < ARRAY_LEN(pid_entries); i++)
        known = known || strcmp(rest, pid_entries[i].name) == 0;
    if (!known)
        return -ENOENT;
    /* "/proc/self/." for the directory itself: the host's /proc/self is a link */
    return snprintf(out, size, "/proc/self/%s", n ? rest : ".") >= (int)size ? -ENAMETOOLONG : 0;
}
