/* forkbomb: a fork bomb held by RLIMIT_NPROC. Usage: forkbomb [LIMIT] (default 8).
 * Sets RLIMIT_NPROC to LIMIT, then forks until fork fails; every child blocks reading a
 * pipe whose write end only the parent holds, so all of them are alive (none is a zombie)
 * when the limit is reached. The parent prints how many forks succeeded and the errno of
 * the one that failed, closes the pipe (the children see end of file and exit with their
 * index), reaps every child and prints the sum of their exit codes.
 * Linux counts every process of the real user (zombies included) and does not apply the
 * limit to root: run as root, the program first moves to an otherwise unused uid so that
 * the native count is its own processes only (vmemu counts the processes of its run;
 * Linux also counts zombies, so the children stay alive until the limit is reached).
 * With LIMIT processes allowed and the parent alive, LIMIT - 1 forks succeed.
 * A safety cap stops the loop after LIMIT + 16 forks if nothing limits it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Natively as root: a uid nobody else uses (one per process: runs at the same time must
 * not count each other's children). */
#define UNUSED_UID_BASE 100000

static const char *errname(int e)
{
    switch (e) {
    case EAGAIN:
        return "EAGAIN";
    case ENOMEM:
        return "ENOMEM";
    case EPERM:
        return "EPERM";
    default:
        return "other";
    }
}

int main(int argc, char **argv)
{
    long limit = argc > 1 ? strtol(argv[1], NULL, 0) : 8;
    long cap = limit + 16, forks = 0, sum = 0, reaped = 0;
    int fds[2], err = 0, status;
    struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
    pid_t pid;

    if (limit < 1 || limit > 64) {
        fprintf(stderr, "usage: forkbomb [LIMIT 1..64]\n");
        return 2;
    }
    /* Natively as root: a uid of its own, where RLIMIT_NPROC applies (under vmemu the call
     * may fail, which changes nothing there). */
    uid_t uid = UNUSED_UID_BASE + (uid_t)getpid();

    if (geteuid() == 0 && setresuid(uid, uid, uid) != 0 && errno != ENOSYS && errno != EPERM) {
        perror("forkbomb: setresuid");
        return 1;
    }
    if (setrlimit(RLIMIT_NPROC, &rl) != 0 || pipe(fds) != 0) {
        perror("forkbomb: setup");
        return 1;
    }
    fflush(stdout);
    while (forks < cap) {
        pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            char c;

            close(fds[1]);
            while (read(fds[0], &c, 1) < 0 && errno == EINTR)
                ;
            _exit((int)(forks + 1));
        }
        forks++;
    }
    printf("RLIMIT_NPROC %ld: %ld forks succeeded", limit, forks);
    if (err)
        printf(", then fork failed with %s\n", errname(err));
    else
        printf(", no failure (the limit is not applied)\n");
    close(fds[1]);
    close(fds[0]);
    while ((pid = wait(&status)) > 0) {
        reaped++;
        if (WIFEXITED(status))
            sum += WEXITSTATUS(status);
    }
    printf("reaped %ld children (then %s), exit codes sum %ld (expected %ld)\n", reaped,
           errno == ECHILD ? "ECHILD" : "other", sum, forks * (forks + 1) / 2);
    /* After the reaping, the limit allows forks again. */
    pid = fork();
    if (pid == 0)
        _exit(0);
    printf("fork after reaping: %s\n", pid > 0 ? "ok" : errname(errno));
    if (pid > 0)
        waitpid(pid, &status, 0);
    return err == EAGAIN && reaped == forks ? 0 : 1;
}
