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

/* Other entries a Linux /proc/PID has, between bars: they exist, so they go to the host. */
static const char pid_host_entries[] =
    "|arch_status|attr|autogroup|auxv|cgroup|clear_refs|coredump_filter|cpu_resctrl_groups|"
    "cpuset|cwd|environ|fd|fdinfo|gid_map|io|ksm_merging_pages|ksm_stat|latency|limits|"
    "loginuid|map_files|mem|mountinfo|mounts|mountstats|net|ns|numa_maps|oom_adj|oom_score|"
    "oom_score_adj|pagemap|patch_state|personality|projid_map|root|sched|schedstat|sessionid|"
    "setgroups|stack|syscall|task|timens_offsets|timers|timerslack_ns|uid_map|wchan|";

static const struct procfs_entry sys_entries[] = {
    {"/proc/meminfo", procfs_render_meminfo},
    {"/proc/cpuinfo", procfs_render_cpuinfo},
};

/* The vmemu process whose directory is /proc/<pid>, seen from p, or NULL. vmemu runs one
 * process for now, so only p itself is found; a process table replaces this lookup. */
static struct proc *procfs_find_task(struct proc *p, long pid)
{
    return pid == p->pid ? p : NULL;
}

/* The task tid of t's thread group, or NULL. */
static struct proc *procfs_group_task(struct proc *t, long tid)
{
    const struct sched *s = t->sched;
    if (tid == t->pid)
        return t;
    for (size_t i = 0; s && i < s->nprocs; i++)
        if (s->procs[i]->pid == tid && s->procs[i]->leader == t->leader &&
            s->procs[i]->state != PROC_DEAD)
            return s->procs[i];
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

/* An entry under /proc/PID of process t. rest is what follows "/proc/PID/" ("" for the
 * directory itself); via_self says the guest named it through /proc/self, where the host
 * path means the same thing. */
static int open_pid_entry(struct proc *t, const char *rest, int flags, bool via_self)
{
    if (strncmp(rest, "task/", 5) == 0 && rest[5] >= '1' && rest[5] <= '9') {
        /* /proc/PID/task/TID/...: a thread of t's process */
        char *end;
        long tid = strtol(rest + 5, &end, 10);
        struct proc *task = procfs_group_task(t, tid);
        if (!task || (*end != '/' && *end != '\0'))
            return -ENOENT;
        return open_pid_entry(task, *end ? end + 1 : end, flags, false);
    }
    for (size_t i = 0; i < ARRAY_LEN(pid_entries); i++)
        if (strcmp(rest, pid_entries[i].name) == 0)
            return render_to_fd(pid_entries[i].render, t, flags);
    if (strcmp(rest, "exe") == 0)
        return procfs_open_exe(t, flags);

    size_t n = component_len(rest);
    char bar_name[64];
    if (n >= sizeof(bar_name) - 2)
        return -ENOENT;
    snprintf(bar_name, sizeof(bar_name), "|%.*s|", (int)n, rest);
    if (n > 0 && !strstr(pid_host_entries, bar_name))
        return -ENOENT;
    if (via_self)
        return PROCFS_PASS;
    /* The host's /proc/PID is another process: its /proc/self is vmemu's own. */
    char host[4096];
    if (snprintf(host, sizeof(host), "/proc/self/%s", rest) >= (int)sizeof(host))
        return -ENAMETOOLONG;
    int fd = open(host, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Opens the synthesized file named by path with open flags `flags`. Returns a host
 * descriptor holding a snapshot of the file taken now (readable, seekable, cloexec);
 * PROCFS_PASS when path is not one vmemu makes up; -ENOENT for a missing entry (a pid that
 * is not a vmemu process, an unknown file under /proc/PID); -EACCES when opened for
 * writing; other -errno from the host. */
int procfs_open(struct proc *p, const char *path, int flags)
{
    static const char *const self_dirs[] = {"/proc/self", "/proc/thread-self"};

    if (strncmp(path, "/proc/", 6) != 0)
        return PROCFS_PASS;
    for (size_t i = 0; i < ARRAY_LEN(sys_entries); i++)
        if (strcmp(path, sys_entries[i].name) == 0)
            return render_to_fd(sys_entries[i].render, p, flags);
    for (size_t i = 0; i < ARRAY_LEN(self_dirs); i++) {
        size_t n = strlen(self_dirs[i]);
        /* /proc/self is the process (its leader), /proc/thread-self the calling thread */
        if (strncmp(path, self_dirs[i], n) == 0 && path[n] == '/')
            return open_pid_entry(i == 0 ? p->leader : p, path + n + 1, flags, true);
    }

    const char *s = path + 6;
    long pid = 0;
    if (*s < '1' || *s > '9')
        return PROCFS_PASS;
    for (; *s >= '0' && *s <= '9'; s++) {
        pid = pid * 10 + (*s - '0');
        if (pid > 0x3fffffff)
            return -ENOENT;
    }
    if (*s != '/' && *s != '\0')
        return PROCFS_PASS;
    struct proc *t = procfs_find_task(p, pid);
    if (!t)
        return -ENOENT;
    return open_pid_entry(t, *s ? s + 1 : s, flags, false);
}
