/* waitstat: wait4, waitid and waitpid as Linux reports them. Usage: waitstat.
 * Children that exit with codes (exit(259) is status 3), WNOHANG on a child still running
 * (it blocks reading a pipe), waitid with WEXITED and WNOWAIT (the child stays waitable),
 * children killed by kill(SIGTERM) and by raise(SIGABRT) (WIFSIGNALED, WTERMSIG and
 * WCOREDUMP, with RLIMIT_CORE 0 and the child not dumpable, so no core anywhere), ECHILD
 * without children, an orphan grandchild whose parent died (it reports over a pipe only
 * whether getppid() changed: vmemu re-parents orphans to its first process, Linux to init
 * or a subreaper), process groups and sessions (setpgid, getpgid, setsid, getsid, as
 * relations between ids, never the ids), and the children's usage (getrusage
 * RUSAGE_CHILDREN, wait4's rusage). tests/procs_e2e.py compares the output and the exit
 * status with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case ECHILD:
        return "ECHILD";
    case EPERM:
        return "EPERM";
    case ESRCH:
        return "ESRCH";
    case EINVAL:
        return "EINVAL";
    case EINTR:
        return "EINTR";
    default:
        return "other";
    }
}

/* A syscall result as text: the value, or "-1 ENAME" (errno read at once). */
static const char *res(long r)
{
    static char buf[48];

    if (r == -1)
        snprintf(buf, sizeof(buf), "-1 %s", errname(errno));
    else
        snprintf(buf, sizeof(buf), "%ld", r);
    return buf;
}

static const char *yes(int v)
{
    return v ? "yes" : "no";
}

/* The status as text: "exit N" or "signal N (core yes|no)". */
static const char *status_text(int st)
{
    static char buf[64];

    if (WIFEXITED(st))
        snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof(buf), "signal %d (core %s)", WTERMSIG(st), yes(WCOREDUMP(st)));
    else
        snprintf(buf, sizeof(buf), "other 0x%x", st);
    return buf;
}

/* A child that blocks until the write end of its pipe closes, then exits with code; the
 * parent's write end in *wfd. */
static pid_t blocked_child(int code, int *wfd)
{
    int fds[2];
    char c;

    if (pipe(fds) != 0) {
        perror("waitstat: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(code);
    }
    close(fds[0]);
    *wfd = fds[1];
    return pid;
}

static void exit_codes(void)
{
    static const int codes[] = {0, 1, 42, 255, 256 + 3};
    int st;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(codes[i]);
        pid_t got = waitpid(pid, &st, 0);
        printf("exit(%d): waitpid %s, %s, WIFEXITED %s\n", codes[i], got == pid ? "ok" : "bad",
               status_text(st), yes(WIFEXITED(st)));
    }
}

static void nohang_and_waitid(void)
{
    int wfd, st;
    siginfo_t si;
    struct rusage ru;
    pid_t pid = blocked_child(7, &wfd);

    printf("WNOHANG on a running child: %d\n", (int)waitpid(pid, &st, WNOHANG));
    memset(&si, 0, sizeof(si));
    printf("waitid WNOHANG on a running child: %d, si_pid %s\n",
           waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG), si.si_pid == 0 ? "0" : "set");
    close(wfd);
    memset(&si, 0, sizeof(si));
    int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
    printf("waitid WNOWAIT: %d, si_signo SIGCHLD %s, si_code CLD_EXITED %s, si_status %d, "
           "si_pid right %s\n",
           r, yes(si.si_signo == SIGCHLD), yes(si.si_code == CLD_EXITED), si.si_status,
           yes(si.si_pid == pid));
    memset(&si, 0, sizeof(si));
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid P_ALL after WNOWAIT: %d, same child %s, si_status %d\n", r,
           yes(si.si_pid == pid), si.si_status);
    long r2 = wait4(pid, &st, 0, &ru);
    printf("wait4 after it was reaped: %s\n", res(r2));
}

static void killed(void)
{
    int wfd, st;
    struct rlimit none = {0, 0};
    pid_t pid = blocked_child(9, &wfd);

    printf("kill(child, SIGTERM): %d\n", kill(pid, SIGTERM));
    waitpid(pid, &st, 0);
    printf("  %s, WIFSIGNALED %s, WTERMSIG %d\n", status_text(st), yes(WIFSIGNALED(st)),
           WTERMSIG(st));
    close(wfd);

    pid = fork();
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &none);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        raise(SIGABRT);
        _exit(100);
    }
    waitpid(pid, &st, 0);
    printf("raise(SIGABRT): %s, WCOREDUMP %s\n", status_text(st), yes(WCOREDUMP(st)));

    pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGKILL);
        _exit(100);
    }
    waitpid(pid, &st, 0);
    printf("kill(self, SIGKILL): %s\n", status_text(st));
}

static void orphan(void)
{
    int fds[2], sync[2], st;
    char line[80], c = 0;

    if (pipe(fds) != 0 || pipe(sync) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getpid();
        pid_t grand = fork();
        if (grand == 0) {
            int changed = 0;

            close(fds[0]);
            close(sync[0]);
            dprintf(fds[1], "grandchild: parent is the child at first: %s\n",
                    yes(getppid() == parent));
            /* Lets the child exit, then waits until it has. */
            if (write(sync[1], &c, 1) != 1)
                _exit(1);
            close(sync[1]);
            for (int i = 0; i < 20000 && !changed; i++) {
                changed = getppid() != parent;
                if (!changed)
                    usleep(100);
            }
            dprintf(fds[1], "grandchild: after the child exited, getppid changed: %s\n",
                    yes(changed));
            _exit(0);
        }
        close(sync[1]);
        if (grand < 0 || read(sync[0], &c, 1) != 1)
            _exit(6);
        _exit(5);
    }
    close(fds[1]);
    close(sync[0]);
    close(sync[1]);
    waitpid(child, &st, 0);
    printf("orphan maker: %s\n", status_text(st));
    FILE *f = fdopen(fds[0], "r");
    while (f && fgets(line, sizeof(line), f))
        fputs(line, stdout);
    if (f)
        fclose(f);
    /* Under vmemu the orphan became this process's child: reap it, silently. */
    while (waitpid(-1, &st, WNOHANG) > 0)
        ;
}

static void groups(void)
{
    int fds[2], st;
    char c = 0;

    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        if (read(fds[0], &c, 1) != 1)
            _exit(1);
        printf("child: pgid is own pid after parent's setpgid: %s\n",
               yes(getpgid(0) == getpid()));
        printf("child: setsid: %s (EPERM: already a group leader)\n",
               setsid() < 0 ? errname(errno) : "ok");
        _exit(0);
    }
    close(fds[0]);
    printf("parent: setpgid(child, child): %d\n", setpgid(pid, pid));
    printf("parent: getpgid(child) == child: %s\n", yes(getpgid(pid) == pid));
    printf("parent: getpgid(self) == getpgrp(): %s\n", yes(getpgid(0) == getpgrp()));
    printf("parent: getsid(child) == getsid(self): %s\n", yes(getsid(pid) == getsid(0)));
    fflush(stdout);
    if (write(fds[1], &c, 1) != 1)
        return;
    close(fds[1]);
    waitpid(pid, &st, 0);

    pid = fork();
    if (pid == 0) {
        pid_t sid = setsid();
        printf("child: setsid returns own pid: %s, getsid(0) == pid: %s, "
               "getpgid(0) == pid: %s\n",
               yes(sid == getpid()), yes(getsid(0) == getpid()), yes(getpgid(0) == getpid()));
        printf("child: setsid again: %s\n", setsid() < 0 ? errname(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    long r = getpgid(pid);
    printf("parent: getpgid(reaped child): %s\n", res(r));
    r = setpgid(pid, pid);
    printf("parent: setpgid(reaped child): %s\n", res(r));
}

static void no_children(void)
{
    int st;

    long r = waitpid(-1, &st, 0);
    printf("waitpid(-1) without children: %s\n", res(r));
    r = waitpid(1, &st, 0);
    printf("waitpid(1) (not a child): %s\n", res(r));
    r = waitpid(-1, &st, 0x100);
    printf("waitpid(-1, bad options): %s\n", res(r));
}

static void usage(void)
{
    struct rusage ru;
    int st;
    volatile char *p;

    getrusage(RUSAGE_CHILDREN, &ru);
    long before = ru.ru_minflt;
    pid_t pid = fork();
    if (pid == 0) {
        p = malloc(64 * 4096);
        for (int i = 0; p && i < 64; i++)
            p[i * 4096] = 1;
        _exit(0);
    }
    memset(&ru, 0, sizeof(ru));
    wait4(pid, &st, 0, &ru);
    printf("wait4 rusage: minflt >= 64 %s\n", yes(ru.ru_minflt >= 64));
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("RUSAGE_CHILDREN: minflt grew by >= 64 %s\n", yes(ru.ru_minflt - before >= 64));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    no_children();
    exit_codes();
    nohang_and_waitid();
    killed();
    orphan();
    groups();
    usage();
    return 3;
}
