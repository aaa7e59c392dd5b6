/* locks.c: file locks between processes, self-checking; the same lines natively and under
 * vmemu (tests/locks_e2e.py). POSIX record locks (a conflict in a child, F_GETLK naming the
 * parent, F_SETLKW waiting for the parent's unlock, the release when any descriptor of the
 * file closes, EDEADLK between two processes), flock (a conflict between two opens, none
 * through a dup or a fork's copy) and OFD locks (a conflict between two opens of one
 * process), F_SETLKW ended by a signal (EINTR). Waits are ordered with pipes; alarm(10)
 * bounds the run. `locks hang`: two processes each wait for the other's flock lock,
 * forever (Linux does not detect it); tests/locks_e2e.py runs it only under vmemu, whose
 * deadlock report must end it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef F_OFD_GETLK
#define F_OFD_GETLK  36
#define F_OFD_SETLK  37
#define F_OFD_SETLKW 38
#endif

static char path[64];

static const char *ename(int e)
{
    return e == EDEADLK ? "EDEADLK" : e == EINTR ? "EINTR" : errname(e);
}

/* A syscall result: "0" or "-1 ENAME". */
static const char *rc(int r)
{
    static char b[4][40];
    static int n;
    char *s = b[n++ % 4];
    if (r == -1)
        snprintf(s, sizeof(b[0]), "-1 %s", ename(errno));
    else
        snprintf(s, sizeof(b[0]), "%d", r);
    return s;
}

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static int open_file(void)
{
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    return fd;
}

/* In a child with its own open of the file: F_SETLK of a write lock on [start, start+len). */
static void child_try(const char *what, off_t start, off_t len)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open_file();
        printf("%s: child F_SETLK: %s\n", what, rc(lk(fd, F_SETLK, F_WRLCK, start, len)));
        _exit(0);
    }
    wait_child_ok(pid);
}

static void posix_parent_child(void)
{
    int fd = open_file(), ready[2];
    CHECK(pipe(ready) == 0);
    printf("posix: parent locks [0,100): %s\n", rc(lk(fd, F_SETLK, F_WRLCK, 0, 100)));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = open_file();
        printf("posix: child F_SETLK [10,20): %s\n", rc(lk(cfd, F_SETLK, F_WRLCK, 10, 10)));
        struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1};
        CHECK(fcntl(cfd, F_GETLK, &fl) == 0);
        printf("posix: child F_GETLK: type %s start %ld len %ld pid %s\n",
               fl.l_type == F_WRLCK ? "F_WRLCK" : "other", (long)fl.l_start, (long)fl.l_len,
               fl.l_pid == getppid() ? "parent" : "other");
        CHECK(write(ready[1], "r", 1) == 1);
        int r = lk(cfd, F_SETLKW, F_WRLCK, 10, 10);
        printf("posix: child F_SETLKW returned %s after the parent unlocked\n", rc(r));
        _exit(0);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    sleep_ms(200);
    printf("posix: parent unlocks\n");
    CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0);
    wait_child_ok(pid);
    close(ready[0]);
    close(ready[1]);

    /* Closing any descriptor of the file drops the process's locks on it. */
    printf("close: parent locks the file: %s\n", rc(lk(fd, F_SETLK, F_WRLCK, 0, 0)));
    child_try("close before", 0, 1);
    int other = open_file();
    close(other);
    child_try("close after", 0, 1);
    close(fd);
}

static void bsd_locks(void)
{
    int fd = open_file();
    printf("flock: parent LOCK_EX|LOCK_NB: %s\n", rc(flock(fd, LOCK_EX | LOCK_NB)));
    int d = dup(fd);
    printf("flock: through a dup: %s\n", rc(flock(d, LOCK_EX | LOCK_NB)));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = open_file();
        printf("flock: child's own open: %s\n", rc(flock(cfd, LOCK_EX | LOCK_NB)));
        printf("flock: child's inherited descriptor: %s\n", rc(flock(fd, LOCK_EX | LOCK_NB)));
        printf("flock: child LOCK_SH on its open: %s\n", rc(flock(cfd, LOCK_SH | LOCK_NB)));
        _exit(0);
    }
    wait_child_ok(pid);
    close(fd);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = open_file();
        printf("flock: child while the dup is open: %s\n", rc(flock(cfd, LOCK_EX | LOCK_NB)));
        _exit(0);
    }
    wait_child_ok(pid);
    close(d);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = open_file();
        printf("flock: child after the last close: %s\n", rc(flock(cfd, LOCK_EX | LOCK_NB)));
        _exit(0);
    }
    wait_child_ok(pid);
}

static void ofd_locks(void)
{
    int a = open_file(), b = open_file();
    printf("ofd: first open locks: %s\n", rc(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
    printf("ofd: second open: %s\n", rc(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(b, F_OFD_GETLK, &fl) == 0);
    printf("ofd: F_OFD_GETLK: start %ld len %ld pid %d\n", (long)fl.l_start, (long)fl.l_len,
           (int)fl.l_pid);
    printf("ofd: POSIX lock of the same process: %s\n", rc(lk(b, F_SETLK, F_RDLCK, 0, 1)));
    struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1, .l_pid = 1};
    printf("ofd: l_pid 1: %s\n", rc(fcntl(b, F_OFD_SETLK, &bad)));
    close(a);
    printf("ofd: after the first closed: %s\n", rc(lk(b, F_OFD_SETLK, F_WRLCK, 5, 1)));
    close(b);
}

static void deadlock(void)
{
    int fd = open_file(), ready[2];
    CHECK(pipe(ready) == 0);
    printf("deadlock: A locks byte 1: %s\n", rc(lk(fd, F_SETLK, F_WRLCK, 1, 1)));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = open_file();
        CHECK(lk(cfd, F_SETLK, F_WRLCK, 2, 1) == 0);
        CHECK(write(ready[1], "r", 1) == 1);
        int r = lk(cfd, F_SETLKW, F_WRLCK, 1, 1);
        printf("deadlock: B got byte 1: %s\n", rc(r));
        _exit(0);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    sleep_ms(200); /* B is waiting for byte 1 by now */
    printf("deadlock: A waits for byte 2: %s\n", rc(lk(fd, F_SETLKW, F_WRLCK, 2, 1)));
    CHECK(lk(fd, F_SETLK, F_UNLCK, 1, 1) == 0);
    wait_child_ok(pid);
    close(fd);
    close(ready[0]);
    close(ready[1]);
}

/* Two processes each wait for the other's flock lock (never returns). */
static void hang(const char *dir)
{
    char second[80];
    int ready[2];
    snprintf(second, sizeof(second), "%s/second", dir);
    close(open(second, O_RDWR | O_CREAT, 0600));
    CHECK(pipe(ready) == 0);
    int a = open_file();
    CHECK(flock(a, LOCK_EX) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cb = open(second, O_RDWR), ca = open_file();
        CHECK(cb >= 0 && flock(cb, LOCK_EX) == 0);
        CHECK(write(ready[1], "r", 1) == 1);
        flock(ca, LOCK_EX);
        _exit(1);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    int pb = open(second, O_RDWR);
    CHECK(pb >= 0);
    unlink(second);
    unlink(path);
    rmdir(dir);
    printf("hang: both wait\n");
    flock(pb, LOCK_EX);
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* A signal whose handler has no SA_RESTART ends F_SETLKW with EINTR. */
static void interrupted(void)
{
    int fd = open_file(), ready[2];
    CHECK(pipe(ready) == 0);
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_usr1};
        CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
        int cfd = open_file();
        CHECK(write(ready[1], "r", 1) == 1);
        printf("signal: child F_SETLKW: %s\n", rc(lk(cfd, F_SETLKW, F_WRLCK, 0, 1)));
        _exit(0);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    sleep_ms(200);
    CHECK(kill(pid, SIGUSR1) == 0);
    wait_child_ok(pid);
    close(fd);
    close(ready[0]);
    close(ready[1]);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/vmemu-locks-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/file", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    close(fd);
    if (argc > 1 && strcmp(argv[1], "hang") == 0) {
        hang(dir);
        return 1;
    }
    alarm(10);
    posix_parent_child();
    bsd_locks();
    ofd_locks();
    deadlock();
    interrupted();
    unlink(path);
    rmdir(dir);
    printf("locks: done\n");
    return 0;
}
