/* spawn: starting programs the ways libcs do it. Usage: spawn [errors|shell].
 * (no argument) posix_spawn of /proc/self/exe (glibc and musl use
 *   clone(CLONE_VM|CLONE_VFORK) for it) with an exit code to return, with file actions
 *   (its stdout dup2'ed onto a pipe the parent reads, a descriptor closed), with a signal
 *   mask and a process group set; posix_spawn of the static /bin/busybox running
 *   `sh -c`; vfork + execve and vfork + _exit.
 * errors: posix_spawn of a missing file and of a directory: the error comes back from
 *   posix_spawn (glibc: written by the child into the parent's memory before it exits
 *   with 127; musl: sent over a close-on-exec pipe).
 * shell: system() and popen()/pclose(), which run /bin/sh -c. Natively /bin/sh runs the
 *   commands; under vmemu a dynamic /bin/sh is refused with ENOEXEC, so the results show
 *   how each libc reports that (tests/procs_e2e.py knows both).
 * vfork NNN: the parent maps NNN pages it never touches, the vfork child writes a byte
 *   into each and _exits: the NNN demand-zero faults are the child's (Linux counts faults
 *   per task; the parent sleeps meanwhile). tests/procs_e2e.py compares with vfork 000.
 * Child mode (argv[1] == "child"): prints its arguments and exits with argv[2]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int e)
{
    switch (e) {
    case 0:
        return "0";
    case ENOENT:
        return "ENOENT";
    case ENOEXEC:
        return "ENOEXEC";
    case EACCES:
        return "EACCES";
    case ENOMEM:
        return "ENOMEM";
    default:
        return "other";
    }
}

/* "-1 ENAME" for a failed call's errno e. */
static const char *res(int e)
{
    static char buf[32];

    snprintf(buf, sizeof(buf), "-1 %s", errname(e));
    return buf;
}

static const char *status_text(int st)
{
    static char buf[48];

    if (WIFEXITED(st))
        snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof(buf), "signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof(buf), "other 0x%x", st);
    return buf;
}

static int child_mode(int argc, char **argv)
{
    sigset_t set;

    sigprocmask(SIG_BLOCK, NULL, &set);
    printf("child: argc %d, args", argc);
    for (int i = 3; i < argc; i++)
        printf(" %s", argv[i]);
    printf(", SIGUSR1 blocked %s, own group %s, fd 5 %s\n",
           sigismember(&set, SIGUSR1) ? "yes" : "no", getpgid(0) == getpid() ? "yes" : "no",
           fcntl(5, F_GETFD) < 0 ? "closed" : "open");
    return atoi(argv[2]);
}

/* posix_spawn(path, argv) with the optional file actions and attributes; waits for it and
 * prints the result under label. */
static void spawn_wait(const char *label, const char *path, char *const argv[],
                       const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at)
{
    pid_t pid;
    int st, rc;

    fflush(stdout);
    rc = posix_spawn(&pid, path, fa, at, argv, environ);
    if (rc != 0) {
        printf("%s: posix_spawn %s\n", label, errname(rc));
        return;
    }
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s: waitpid failed\n", label);
        return;
    }
    printf("%s: posix_spawn 0, child %s\n", label, status_text(st));
}

static void basics(void)
{
    char *self_args[] = {"spawn", "child", "4", "a", "b c", NULL};
    char *bb_args[] = {"busybox", "sh", "-c", "echo busybox: $((6 * 7)) \"$0\"; exit 9",
                       "zero",    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t mask;
    int p[2], st;
    char buf[256];
    ssize_t n, len = 0;

    spawn_wait("self", "/proc/self/exe", self_args, NULL, NULL);

    if (pipe(p) != 0 || dup2(p[0], 5) != 5)
        return;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    posix_spawn_file_actions_addclose(&fa, 5);
    posix_spawnattr_init(&at);
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    posix_spawnattr_setsigmask(&at, &mask);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    self_args[2] = "5";
    spawn_wait("file actions", "/proc/self/exe", self_args, &fa, &at);
    close(p[1]);
    close(5);
    while ((n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
        len += n;
    buf[len] = '\0';
    close(p[0]);
    printf("through the pipe: %s", buf);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);

    spawn_wait("busybox sh -c", "/bin/busybox", bb_args, NULL, NULL);

    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        char *args[] = {"spawn", "child", "6", "vforked", NULL};

        execve("/proc/self/exe", args, environ);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    printf("vfork + execve: %s\n", status_text(st));
    pid = vfork();
    if (pid == 0)
        _exit(11);
    waitpid(pid, &st, 0);
    printf("vfork + _exit: %s\n", status_text(st));
}

static void errors(void)
{
    char *args[] = {"x", NULL};

    spawn_wait("missing file", "/nonexistent/spawn", args, NULL, NULL);
    spawn_wait("directory", "/tmp", args, NULL, NULL);
}

static void shell(void)
{
    char line[64];
    int st;

    fflush(stdout);
    st = system("exit 3");
    printf("system(\"exit 3\"): %s\n", st < 0 ? res(errno) : status_text(st));
    fflush(stdout);
    st = system("echo from system");
    printf("system(\"echo from system\"): %s\n", st < 0 ? res(errno) : status_text(st));
    FILE *f = popen("echo from popen; exit 2", "r");
    if (!f) {
        printf("popen: NULL %s\n", errname(errno));
        return;
    }
    while (fgets(line, sizeof(line), f))
        printf("popen read: %s", line);
    st = pclose(f);
    printf("pclose: %s\n", st < 0 ? res(errno) : status_text(st));
}

/* vfork NNN: see the header. */
static void vfork_touch(long pages)
{
    char *m = mmap(NULL, (size_t)(pages ? pages : 1) * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("mmap: %s\n", res(errno));
        return;
    }
    pid_t pid = vfork();
    if (pid == 0) {
        for (long i = 0; i < pages; i++)
            m[i * 4096] = 1;
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        printf("vfork/waitpid: %s\n", res(errno));
    long seen = 0;
    for (long i = 0; i < pages; i++)
        seen += m[i * 4096];
    printf("vfork child touched %ld pages, parent sees %ld: %s\n", pages, seen, status_text(st));
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "child") == 0)
        return child_mode(argc, argv);
    if (argc == 2 && strcmp(argv[1], "errors") == 0)
        errors();
    else if (argc == 2 && strcmp(argv[1], "shell") == 0)
        shell();
    else if (argc == 3 && strcmp(argv[1], "vfork") == 0)
        vfork_touch(strtol(argv[2], NULL, 10));
    else
        basics();
    return 0;
}
