/* execself: execve of /proc/self/exe, and execve calls that fail. Usage: execself
 * [ROUNDS] (default 4), or execself dynamic PATH (under vmemu only, see below).
 * Round 0 opens two descriptors, one close-on-exec, sets SIGUSR1 to SIG_IGN and SIGUSR2
 * to a handler, then re-executes /proc/self/exe with the round counter, the pid and the
 * descriptors in argv. Each new image prints what survived the exec: same pid, the
 * inherited descriptor open, the close-on-exec one closed (EBADF), SIGUSR1 still
 * ignored, SIGUSR2 back to the default, argv and an environment variable passed on.
 * After the last round it tries execve on: a missing file (ENOENT), a text file without
 * "#!" (ENOEXEC), a truncated ELF header (ENOEXEC), a file without any execute bit
 * (EACCES, for root too), a directory (EACCES), an empty path (ENOENT) and a bad path
 * pointer (EFAULT), and prints the errno names. Nothing printed depends on pids or
 * addresses.
 * `execself dynamic PATH` prints the result of execve(PATH): natively a dynamic program
 * runs; vmemu refuses it with ENOEXEC and the program goes on, which tests/procs_e2e.py
 * checks under vmemu alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int e)
{
    switch (e) {
    case ENOENT:
        return "ENOENT";
    case ENOEXEC:
        return "ENOEXEC";
    case EACCES:
        return "EACCES";
    case EFAULT:
        return "EFAULT";
    case ENOTDIR:
        return "ENOTDIR";
    default:
        return "other";
    }
}

static void on_usr2(int sig)
{
    (void)sig;
}

/* Prints "execve(what): -1 ENAME" for execve(path). */
static void try_exec(const char *what, const char *path)
{
    char *args[] = {(char *)path, NULL};

    execve(path, args, environ);
    printf("execve(%s): -1 %s\n", what, errname(errno));
}

/* A temporary file holding len bytes of data with mode; its path in buf. */
static void make_file(char *buf, const char *data, size_t len, mode_t mode)
{
    strcpy(buf, "/tmp/execself-XXXXXX");
    int fd = mkstemp(buf);

    if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
        perror("execself: temporary file");
        exit(1);
    }
    close(fd);
}

static void failures(void)
{
    static const char elf_head[] = "\177ELF\2\1\1";
    char text[32], elf[32], noexec[32], dir[32];

    make_file(text, "hello world\n", 12, 0755);
    make_file(elf, elf_head, 7, 0755);
    make_file(noexec, "\177ELF", 4, 0644);
    strcpy(dir, "/tmp/execself-dir-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("execself: mkdtemp");
        exit(1);
    }
    try_exec("missing file", "/nonexistent/execself");
    try_exec("text file without #!", text);
    try_exec("truncated ELF header", elf);
    try_exec("mode 0644", noexec);
    try_exec("directory", dir);
    try_exec("empty path", "");
    errno = 0;
    long r = syscall(59, (void *)16, NULL, NULL);
    printf("execve(bad pointer): %ld %s\n", r, errname(errno));
    unlink(text);
    unlink(elf);
    unlink(noexec);
    rmdir(dir);
}

/* Round r > 0: what survived the exec. */
static int check_round(int argc, char **argv)
{
    int round = atoi(argv[1]), rounds = atoi(argv[2]);
    long pid0 = atol(argv[3]);
    int keep = atoi(argv[4]), cloexec = atoi(argv[5]);
    struct sigaction sa;

    printf("round %d of %d: argc %d, same pid %s, EXECSELF_ENV=%s\n", round, rounds, argc,
           getpid() == pid0 ? "yes" : "no", getenv("EXECSELF_ENV") ? getenv("EXECSELF_ENV")
                                                                     : "(unset)");
    printf("  inherited fd: %s, close-on-exec fd: %s\n",
           fcntl(keep, F_GETFD) >= 0 ? "open" : "closed",
           fcntl(cloexec, F_GETFD) >= 0 ? "open" : (errno == EBADF ? "EBADF" : "other"));
    sigaction(SIGUSR1, NULL, &sa);
    printf("  SIGUSR1 %s", sa.sa_handler == SIG_IGN ? "ignored" : "not ignored");
    sigaction(SIGUSR2, NULL, &sa);
    printf(", SIGUSR2 %s\n", sa.sa_handler == SIG_DFL ? "default" : "not default");
    fflush(stdout);
    if (round < rounds) {
        char next[16];

        snprintf(next, sizeof(next), "%d", round + 1);
        argv[1] = next;
        execve("/proc/self/exe", argv, environ);
        printf("execve(/proc/self/exe): -1 %s\n", errname(errno));
        return 1;
    }
    failures();
    return round;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "dynamic") == 0) {
        printf("before execve of %s\n", argv[2]);
        fflush(stdout);
        try_exec("dynamic ELF", argv[2]);
        printf("still here\n");
        return 0;
    }
    if (argc == 6)
        return check_round(argc, argv);

    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    char r[16], pid[16], keep[16], cloexec[16];
    char *args[] = {argv[0], "1", r, pid, keep, cloexec, NULL};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    int fd1 = open("/proc/self/exe", O_RDONLY);
    int fd2 = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd1 < 0 || fd2 < 0) {
        perror("execself: open");
        return 1;
    }
    snprintf(r, sizeof(r), "%d", rounds);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    snprintf(keep, sizeof(keep), "%d", fd1);
    snprintf(cloexec, sizeof(cloexec), "%d", fd2);
    setenv("EXECSELF_ENV", "passed", 1);
    printf("round 0: re-executing /proc/self/exe %d times\n", rounds);
    fflush(stdout);
    if (rounds == 0) {
        failures();
        return 0;
    }
    execve("/proc/self/exe", args, environ);
    printf("execve(/proc/self/exe): -1 %s\n", errname(errno));
    return 1;
}
