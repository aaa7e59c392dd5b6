/* Program loading syscalls: execve and execveat. The guest's argv and envp are copied
 * into host memory within Linux's limits, a "#!" script is run by its interpreter (up to
 * four nested ones, with the argv Linux builds), and the ELF program replaces the process
 * inside vmemu: proc_exec (src/proc/proc.c) loads it, then close-on-exec descriptors are
 * closed, signal dispositions reset (signal_exec_reset) and a vfork parent may go on.
 * Called by syscalls/dispatch.c through the table. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/ptimer.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"

/* Limits of execve's argument copy (Linux: MAX_ARG_STRLEN, and a 2 MiB total here). */
#define EXEC_MAX_ARGS   (1 << 17)
#define EXEC_MAX_STRLEN (32 * 4096)
#define EXEC_MAX_TOTAL  (2u << 20)
#define EXEC_MAX_DEPTH  4 /* nested #! interpreters */

/* A NULL-terminated host copy of a guest string array (argv or envp). *total counts the
 * bytes against EXEC_MAX_TOTAL. Returns 0, -EFAULT or -E2BIG. */
static int copy_strings(struct proc *p, gva_t arr, char ***out, size_t *total)
{
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof(*v));
    int rc = 0;
    if (!v)
        return -ENOMEM;
    for (; arr != 0; n++) {
        uint64_t ptr;
        if (n >= EXEC_MAX_ARGS) {
            rc = -E2BIG;
            break;
        }
        if (get_user_u64(p->mm, arr + n * 8, &ptr) < 0) {
            rc = -EFAULT;
            break;
        }
        if (ptr == 0)
            break;
        if (n + 2 > cap) {
            char **nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            memset(nv + cap, 0, cap * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        char *str = malloc(EXEC_MAX_STRLEN);
        if (!str) {
            rc = -ENOMEM;
            break;
        }
        long len = strncpy_from_user(p->mm, str, ptr, EXEC_MAX_STRLEN);
        if (len < 0 || len >= EXEC_MAX_STRLEN) {
            free(str);
            rc = len < 0 ? -EFAULT : -E2BIG;
            break;
        }
        *total += (size_t)len + 1 + sizeof(uint64_t);
        if (*total > EXEC_MAX_TOTAL) {
            free(str);
            rc = -E2BIG;
            break;
        }
        v[n] = malloc((size_t)len + 1); /* the exact size: environments can be long */
        if (v[n])
            memcpy(v[n], str, (size_t)len + 1);
        free(str);
        if (!v[n]) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc < 0) {
        proc_free_argv(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* The interpreter line of a "#!" script: *interp and *arg (NULL when none) point into
 * line. Returns true for a script. */
static bool script_interp(const char *path, char *line, size_t len, char **interp, char **arg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, line, len - 1);
    close(fd);
    if (n < 3 || line[0] != '#' || line[1] != '!')
        return false;
    line[n] = '\0';
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    char *s = line + 2;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return false;
    *interp = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    *arg = NULL;
    if (*s) {
        *s++ = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        char *end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*s)
            *arg = s;
    }
    return true;
}

/* Loads path (or the interpreter of a #! script) into p. argv is the guest's; a script
 * gets [interp, arg?, path, argv[1..]] as Linux builds it. Returns 0 or -errno. */
static int exec_path(struct proc *p, const char *path, char **argv, char **envp, int depth)
{
    char err[512];
    char line[256] = "";
    char *interp, *arg;
    if (access(path, X_OK) < 0)
        return errno == ENOENT || errno == ENOTDIR ? -errno : -EACCES;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return -EACCES;
    if (script_interp(path, line, sizeof(line), &interp, &arg)) {
        if (depth >= EXEC_MAX_DEPTH)
            return -ELOOP;
        size_t n = 0;
        while (argv[n])
            n++;
        char **nv = calloc(n + 4, sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        size_t k = 0;
        nv[k++] = interp;
        if (arg)
            nv[k++] = arg;
        nv[k++] = (char *)path;
        for (size_t i = 1; i < n; i++)
            nv[k++] = argv[i];
        int rc = exec_path(p, interp, nv, envp, depth + 1);
        free(nv);
        return rc;
    }
    int rc = proc_exec(p, path, argv, envp, err, sizeof(err));
    /* An ELF vmemu cannot run (dynamic, other machine, damaged) is worth a line on stderr;
     * other ENOEXEC files are for the caller (a shell runs them as scripts). */
    if (rc == -ENOEXEC && memcmp(line, "\177ELF", 4) == 0)
        fprintf(stderr, "vmemu: execve: %s\n", err);
    return rc;
}

/* execve: the new program replaces the process inside vmemu. */
static long do_execve(struct proc *p, int dirfd, gva_t upath, gva_t uargv, gva_t uenvp, int flags)
{
    struct at_path ap;
    char **argv = NULL, **envp = NULL;
    size_t total = 0;
    int rc = sys_at_path_get(p, dirfd, upath, &ap);
    if (rc < 0)
        return rc;
    if (ap.buf[0] == '\0' && !(flags & LINUX_AT_EMPTY_PATH))
        return -ENOENT;
    char host[LINUX_PATH_MAX + 64];
    if (ap.buf[0] == '\0') {
        int hfd = fd_host(p->fds, dirfd);
        if (hfd < 0)
            return hfd;
        snprintf(host, sizeof(host), "/proc/self/fd/%d", hfd);
    } else if (ap.dirfd != LINUX_AT_FDCWD) {
        snprintf(host, sizeof(host), "/proc/self/fd/%d/%s", ap.dirfd, ap.host);
    } else {
        snprintf(host, sizeof(host), "%s", ap.host);
    }
    if ((rc = copy_strings(p, uargv, &argv, &total)) < 0)
        return rc;
    if ((rc = copy_strings(p, uenvp, &envp, &total)) < 0) {
        proc_free_argv(argv);
        return rc;
    }
    if (!argv[0]) { /* Linux (since 5.18) passes "" as argv[0] for an empty argv */
        char **nv = realloc(argv, 2 * sizeof(*nv));
        if (nv) {
            argv = nv;
            argv[0] = strdup("");
            argv[1] = NULL;
        }
    }
    rc = exec_path(p, host, argv, envp, 0);
    proc_free_argv(argv);
    proc_free_argv(envp);
    if (rc < 0)
        return rc == -EINVAL ? -ENOEXEC : rc;
    struct proc *thread = p;
    p = sched_exec_de_thread(p); /* the other threads end; the process keeps its pid */
    sched_note_event(p, PROC_EV_EXEC);
    fd_close_on_exec(p->fds);
    signal_exec_reset(p);
    ptimer_free_all(p->leader); /* POSIX timers do not survive exec */
    p->vfork_parent = NULL;     /* a vfork parent may go on */
    p->clear_child_tid = 0;
    p->robust_list = 0;
    if (thread->cpu)
        cpu_request_stop(thread->cpu);
    return 0;
}

SYSCALL_DEFINE3(execve, gva_t, path, gva_t, argv, gva_t, envp)
{
    return do_execve(p, LINUX_AT_FDCWD, path, argv, envp, 0);
}

SYSCALL_DEFINE5(execveat, int, dirfd, gva_t, path, gva_t, argv, gva_t, envp, int, flags)
{
    if (flags & ~(LINUX_AT_EMPTY_PATH | LINUX_AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    return do_execve(p, dirfd, path, argv, envp, flags);
}
