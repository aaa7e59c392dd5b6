/* The guest's view of a path: where a path the guest gives resolves, so that nothing in
 * the host's /proc that is vmemu's own (its descriptors, its memory, its tasks) is ever
 * reached. Most paths never touch /proc: one openat2(O_PATH, RESOLVE_NO_MAGICLINKS) probe
 * shows it and the host resolves them as given. The others (through /proc, /dev/fd,
 * /dev/stdin, a symlink into /proc, a directory vmemu lists) are walked here component by
 * component as Linux's path walk would, with the guest's meaning inside /proc:
 * /proc/self and /proc/thread-self are the calling process and task, /proc/PID a guest
 * task, and the magic links fd/N, cwd, root and exe lead to what the guest's descriptor
 * table, working directory and program hold. The result is a host path vmemu built (for
 * a guest descriptor, the host's own magic link of the descriptor vmemu keeps for it, so
 * re-opening and readlink behave as on Linux), or a guest /proc path for procfs. Called
 * through sys_at_path_lookup (syscalls/sys_common.c). */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "vmemu/procfs.h"
#include "sysdefs.h"

/* Symlinks one lookup may follow (Linux's MAXSYMLINKS). */
#define VPATH_MAX_LINKS 40

/* A walk in progress: the canonical absolute path resolved so far and what is left. */
struct walk {
    char cur[LINUX_PATH_MAX];      /* resolved so far: absolute, symlinks expanded */
    char rest[2 * LINUX_PATH_MAX]; /* components still to resolve */
    int links;                     /* symlinks followed */
    bool rewritten;                /* a /proc link was taken: the host needs cur, not the
                                      guest's string */
};

/* The probe: opens path O_PATH from host dirfd without crossing a magic link. Returns 1
 * when it opened a file outside any procfs, 0 for a procfs file, -errno when it failed
 * (ELOOP: a magic link, or a loop). */
static int vpath_probe(int dirfd, const char *path, bool follow)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                           .resolve = RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd < 0)
        return -errno;
    struct statfs sf;
    int plain = fstatfs(fd, &sf) == 0 && sf.f_type != PROC_SUPER_MAGIC;
    close(fd);
    return plain;
}

/* Whether the host resolves path (from host dirfd) without going through its /proc: the
 * probe opens it, or, for a name that does not exist (stat of a PATH entry, a file about
 * to be created), its directory, outside any procfs. */
static bool vpath_plain(int dirfd, const char *path, bool follow)
{
    int rc = vpath_probe(dirfd, path, follow);
    if (rc >= 0)
        return rc == 1;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (rc != -ENOENT || !name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false; /* a magic link, a loop, or a failure the walk must explain */
    char dir[LINUX_PATH_MAX];
    if (!slash)
        return vpath_probe(dirfd, ".", true) == 1;
    snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return vpath_probe(dirfd, dir, true) == 1;
}

/* Takes the first component of w->rest into comp (NAME_MAX + 1 bytes). Returns 1, 0 when
 * none is left, or -ENAMETOOLONG. */
static int walk_next(struct walk *w, char *comp)
{
    char *s = w->rest;
    while (*s == '/')
        s++;
    if (*s == '\0') {
        w->rest[0] = '\0';
        return 0;
    }
    size_t n = strcspn(s, "/");
    if (n > LINUX_NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(comp, s, n);
    comp[n] = '\0';
    memmove(w->rest, s + n, strlen(s + n) + 1);
    return 1;
}

/* Whether no component is left. */
static bool walk_done(const struct walk *w)
{
    return w->rest[strspn(w->rest, "/")] == '\0';
}

static int walk_push(struct walk *w, const char *comp)
{
    size_t len = strlen(w->cur);
    if (len + 1 + strlen(comp) >= sizeof(w->cur))
        return -ENAMETOOLONG;
    snprintf(w->cur + len, sizeof(w->cur) - len, "%s%s", len > 1 ? "/" : "", comp);
    return 0;
}

static void walk_pop(struct walk *w)
{
    char *slash = strrchr(w->cur, '/');
    if (slash == w->cur)
        w->cur[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

/* Puts a symlink's target before what is left (from "/" when it is absolute). */
static int walk_splice(struct walk *w, const char *target)
{
    if (++w->links > VPATH_MAX_LINKS)
        return -ELOOP;
    if (strlen(target) + 1 + strlen(w->rest) >= sizeof(w->rest))
        return -ENAMETOOLONG;
    size_t tlen = strlen(target), rlen = strlen(w->rest);
    memmove(w->rest + tlen + 1, w->rest, rlen + 1);
    memcpy(w->rest, target, tlen);
    w->rest[tlen] = '/';
    if (target[0] == '/')
        strcpy(w->cur, "/");
    return 0;
}

/* Continues the walk from the directory dir (absolute): a /proc link led there. */
static int walk_restart_at(struct walk *w, const char *dir)
{
    if (dir[0] != '/' || strlen(dir) >= sizeof(w->cur))
        return -ENOTDIR; /* a pipe, a socket or a deleted directory has no path */
    strcpy(w->cur, dir);
    w->rewritten = true;
    return 0;
}

/* The path of task t's working directory (the running process's is the host's). */
static int task_cwd(struct proc *p, struct proc *t, char *out, size_t n)
{
    if (t->leader == p->leader || t->leader->cwd_fd < 0)
        return getcwd(out, n) ? 0 : -errno;
    char link[48];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", t->leader->cwd_fd);
    ssize_t len = readlink(link, out, n - 1);
    if (len < 0)
        return -errno;
    out[len] = '\0';
    return 0;
}

/* The directory a guest descriptor names, by its host descriptor's link. */
static int hostfd_dir(int h, char *out, size_t n)
{
    char link[48];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", h);
    ssize_t len = readlink(link, out, n - 1);
    if (len < 0)
        return -errno;
    out[len] = '\0';
    return 0;
}

/* Inside /proc (w->cur is "/proc", the components after it are in w->rest): applies the
 * guest's meaning. Returns 0 with ap set (a host path or a guest /proc path), 1 when a
 * link led out of /proc (the walk goes on from w->cur), or -errno. */
static int walk_proc(struct proc *p, struct walk *w, bool follow, struct at_path *ap)
{
    char parts[8][LINUX_NAME_MAX + 1];
    int n = 0, rc;
    char comp[LINUX_NAME_MAX + 1];
    struct proc *task = NULL; /* the task parts[0..] name, once known */
    while ((rc = walk_next(w, comp)) == 1) {
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            if (n == 0) {
                strcpy(w->cur, "/");
                return 1;
            }
            n--;
            continue;
        }
        if (n == (int)(sizeof(parts) / sizeof(parts[0])))
            break; /* deeper than any entry vmemu rewrites: taken as it is */
        if (n == 0 && walk_done(w) && !follow &&
            (strcmp(comp, "self") == 0 || strcmp(comp, "thread-self") == 0)) {
            /* the link itself: readlink gives the guest's PID (or PID/task/TID) */
            if (comp[0] == 's')
                snprintf(ap->procpath, sizeof(ap->procpath), "%d", p->leader->pid);
            else
                snprintf(ap->procpath, sizeof(ap->procpath), "%d/task/%d", p->leader->pid, p->pid);
            snprintf(ap->rewritten, sizeof(ap->rewritten), "/proc/%s", comp);
            ap->fdlink = true;
            return 0;
        }
        if (n == 0 && strcmp(comp, "thread-self") == 0) {
            snprintf(parts[n++], sizeof(parts[0]), "%d", p->leader->pid);
            snprintf(parts[n++], sizeof(parts[0]), "task");
            snprintf(parts[n++], sizeof(parts[0]), "%d", p->pid);
            continue;
        }
        if (n == 0 && strcmp(comp, "self") == 0)
            snprintf(comp, sizeof(comp), "%d", p->leader->pid);
        strcpy(parts[n++], comp);
        bool last = walk_done(w);
        /* the task: /proc/PID, or /proc/PID/task/TID */
        task = n >= 1 ? procfs_task(p, parts[0], NULL) : NULL;
        if (n >= 3 && task && strcmp(parts[1], "task") == 0)
            task = procfs_task(p, parts[2], task);
        if (n >= 1 && parts[0][0] >= '0' && parts[0][0] <= '9' && !task)
            return -ENOENT;
        int base = n >= 3 && strcmp(parts[1], "task") == 0 ? 3 : 1; /* entries start here */
        if (!task || n <= base)
            continue;
        const char *entry = parts[base];
        if (strcmp(entry, "fd") == 0 && n == base + 2) {
            char *end;
            long fd = strtol(parts[base + 1], &end, 10);
            int h =
                *end == '\0' && parts[base + 1][0] != '\0' ? fd_host(task->fds, (int)fd) : -EBADF;
            if (h < 0)
                return -ENOENT;
            if (last) {
                snprintf(ap->rewritten, sizeof(ap->rewritten), "/proc/self/fd/%d", h);
                /* a /proc file the guest opened: its link names it, not vmemu's copy */
                const char *opened = fd_path(task->fds, (int)fd);
                if (opened && strncmp(opened, "/proc", 5) == 0 &&
                    (!opened[5] || opened[5] == '/')) {
                    snprintf(ap->procpath, sizeof(ap->procpath), "%s", opened);
                    ap->fdlink = true;
                }
                return 0;
            }
            char dir[LINUX_PATH_MAX];
            if ((rc = hostfd_dir(h, dir, sizeof(dir))) < 0 || (rc = walk_restart_at(w, dir)) < 0)
                return rc;
            return 1;
        }
        if (n == base + 1 && (strcmp(entry, "cwd") == 0 || strcmp(entry, "root") == 0)) {
            char dir[LINUX_PATH_MAX] = "/";
            if (entry[0] == 'c' && (rc = task_cwd(p, task, dir, sizeof(dir))) < 0)
                return rc;
            if (last && !follow) {
                /* the link itself: the host's own for the running process */
                if (entry[0] == 'c' && task->leader != p->leader && task->leader->cwd_fd >= 0)
                    snprintf(ap->rewritten, sizeof(ap->rewritten), "/proc/self/fd/%d",
                             task->leader->cwd_fd);
                else
                    snprintf(ap->rewritten, sizeof(ap->rewritten), "/proc/self/%s", entry);
                return 0;
            }
            if ((rc = walk_restart_at(w, dir)) < 0)
                return rc;
            return 1;
        }
    }
    if (rc < 0)
        return rc;
    /* A /proc file: its guest path (canonical), and a host stand-in for stat and such. */
    size_t len = (size_t)snprintf(ap->procpath, sizeof(ap->procpath), "/proc");
    for (int i = 0; i < n && len < sizeof(ap->procpath); i++)
        len += (size_t)snprintf(ap->procpath + len, sizeof(ap->procpath) - len, "/%s", parts[i]);
    if (len < sizeof(ap->procpath) && w->rest[0] != '\0')
        len += (size_t)snprintf(ap->procpath + len, sizeof(ap->procpath) - len, "%s%s",
                                w->rest[0] == '/' ? "" : "/", w->rest);
    if (len >= sizeof(ap->procpath))
        return -ENAMETOOLONG;
    ap->proc = true;
    return procfs_host_path(p, ap->procpath, ap->rewritten, sizeof(ap->rewritten));
}

/* Walks ap->buf from host directory start (see the file comment). Returns 0 with ap set,
 * 1 when the host can take the guest's string as it is, or -errno. */
static int vpath_walk(struct proc *p, const char *start, bool follow, struct at_path *ap)
{
    struct walk *w = malloc(sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    char comp[LINUX_NAME_MAX + 1];
    int rc;
    w->links = 0;
    w->rewritten = false;
    snprintf(w->cur, sizeof(w->cur), "%s", ap->buf[0] == '/' ? "/" : start);
    snprintf(w->rest, sizeof(w->rest), "%s", ap->buf);
    if (ap->buf[0] != '/' && strncmp(start, "/proc", 5) == 0 && (start[5] == '/' || !start[5])) {
        /* relative to a /proc directory the guest opened: walked from "/" as a whole */
        strcpy(w->cur, "/");
        snprintf(w->rest, sizeof(w->rest), "%s/%s", start, ap->buf);
    }
    while ((rc = walk_next(w, comp)) == 1) {
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            walk_pop(w);
            continue;
        }
        if (strcmp(w->cur, "/") == 0 && strcmp(comp, "proc") == 0) {
            strcpy(w->cur, "/proc");
            rc = walk_proc(p, w, follow, ap);
            if (rc <= 0)
                goto out;
            continue;
        }
        bool last = walk_done(w);
        if ((rc = walk_push(w, comp)) < 0)
            goto out;
        if (last && !follow)
            break;
        struct stat st;
        if (lstat(w->cur, &st) < 0) {
            /* missing or unreachable: the host says so (or creates it) */
            if (!w->rewritten) {
                rc = 1;
                goto out;
            }
            break;
        }
        if (!S_ISLNK(st.st_mode))
            continue;
        char target[LINUX_PATH_MAX];
        ssize_t len = readlink(w->cur, target, sizeof(target) - 1);
        if (len < 0) {
            rc = 1;
            goto out;
        }
        target[len] = '\0';
        walk_pop(w);
        if ((rc = walk_splice(w, target)) < 0) {
            rc = w->rewritten ? rc : 1; /* a loop the host reports as well */
            goto out;
        }
    }
    if (rc < 0)
        goto out;
    rc = 1;
    if (w->rewritten) {
        int n = snprintf(ap->rewritten, sizeof(ap->rewritten), "%s%s%s", w->cur,
                         w->rest[0] && w->rest[0] != '/' ? "/" : "", w->rest);
        rc = n >= (int)sizeof(ap->rewritten) ? -ENAMETOOLONG : 0;
    }
out:
    free(w);
    return rc;
}

/* Resolves ap->buf (read from the guest) relative to guest dirfd as the guest sees it,
 * following a final symlink when follow says so; sets ap->host and ap->dirfd for the host
 * call, and ap->proc with ap->procpath for a /proc file. Returns 0 or -errno. */
int sys_vpath_resolve(struct proc *p, int dirfd, bool follow, struct at_path *ap)
{
    char start[LINUX_PATH_MAX];
    ap->proc = false;
    ap->fdlink = false;
    ap->procpath[0] = '\0';
    ap->host = ap->buf;
    ap->dirfd = sys_dirfd_to_host(p, dirfd, ap->buf);
    if (ap->dirfd == -EBADF)
        return -EBADF;
    if (ap->buf[0] == '\0')
        return 0; /* AT_EMPTY_PATH: the descriptor itself */
    /* a /proc directory the guest opened: its guest path, not the host's */
    const char *listed =
        ap->buf[0] != '/' && dirfd != LINUX_AT_FDCWD ? fd_path(p->fds, dirfd) : NULL;
    if (listed && (strncmp(listed, "/proc", 5) != 0 || (listed[5] != '/' && listed[5])))
        listed = NULL;
    if (!listed && vpath_plain(ap->dirfd, ap->buf, follow))
        return 0;
    if (listed) {
        snprintf(start, sizeof(start), "%s", listed);
    } else if (ap->buf[0] == '/') {
        strcpy(start, "/");
    } else if (dirfd == LINUX_AT_FDCWD) {
        if (!getcwd(start, sizeof(start)))
            return 0;
    } else if (hostfd_dir(ap->dirfd, start, sizeof(start)) < 0 || start[0] != '/') {
        return 0; /* not a directory with a path: the host says what fails */
    }
    int rc = vpath_walk(p, start, follow, ap);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        ap->host = ap->rewritten;
        ap->dirfd = AT_FDCWD;
    }
    return 0;
}
