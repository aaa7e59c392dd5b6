/* pipeline: a 3-stage pipeline built the way a shell builds `gen N | square | sum`:
 * pipe, fork, dup2 onto stdin/stdout, close the rest, execve of /proc/self/exe with the
 * stage's name in argv. Usage: pipeline [N] (default 20000 lines, more than a pipe
 * holds, so writers block on full pipes and readers on empty ones).
 * Stages (argv[1]): gen N prints 1..N one per line; square reads numbers and prints
 * n*n mod 1000003; sum reads numbers, prints their count and sum and exits with
 * sum mod 7 (a status the parent has to pass on). The parent waits for the three in
 * order, prints each stage's status and exits with the last one's, like `sh -c` does.
 * Compared line by line and by exit status with the native run by tests/procs_e2e.py. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int stage_gen(long n)
{
    for (long i = 1; i <= n; i++)
        printf("%ld\n", i);
    return 0;
}

static int stage_square(void)
{
    long v;

    while (scanf("%ld", &v) == 1)
        printf("%ld\n", v * v % 1000003);
    return 0;
}

static int stage_sum(void)
{
    long v, count = 0, sum = 0;

    while (scanf("%ld", &v) == 1) {
        count++;
        sum += v;
    }
    printf("sum: %ld numbers, total %ld\n", count, sum);
    return (int)(sum % 7);
}

/* Starts one stage with stdin from in and stdout to out (-1: inherited); every descriptor
 * of the pipes in close_fds is closed in the child. Returns its pid. */
static pid_t start(char *const args[], int in, int out, const int *close_fds, int nclose)
{
    pid_t pid = fork();

    if (pid < 0) {
        perror("pipeline: fork");
        exit(1);
    }
    if (pid > 0)
        return pid;
    if (in >= 0 && dup2(in, 0) < 0)
        _exit(120);
    if (out >= 0 && dup2(out, 1) < 0)
        _exit(121);
    for (int i = 0; i < nclose; i++)
        close(close_fds[i]);
    execve("/proc/self/exe", args, environ);
    fprintf(stderr, "pipeline: execve: %s\n", strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0 && argc == 3)
        return stage_gen(strtol(argv[2], NULL, 0));
    if (argc == 2 && strcmp(argv[1], "square") == 0)
        return stage_square();
    if (argc == 2 && strcmp(argv[1], "sum") == 0)
        return stage_sum();

    char *n = argc > 1 ? argv[1] : "20000";
    char *gen[] = {argv[0], "gen", n, NULL};
    char *square[] = {argv[0], "square", NULL};
    char *sum[] = {argv[0], "sum", NULL};
    int a[2], b[2], status, last = 0;
    pid_t pids[3];
    const char *names[3] = {"gen", "square", "sum"};

    if (pipe(a) != 0 || pipe(b) != 0) {
        perror("pipeline: pipe");
        return 1;
    }
    printf("pipeline: gen %s | square | sum\n", n);
    fflush(stdout);
    int all[4] = {a[0], a[1], b[0], b[1]};
    pids[0] = start(gen, -1, a[1], all, 4);
    pids[1] = start(square, a[0], b[1], all, 4);
    pids[2] = start(sum, b[0], -1, all, 4);
    for (int i = 0; i < 4; i++)
        close(all[i]);
    for (int i = 0; i < 3; i++) {
        if (waitpid(pids[i], &status, 0) != pids[i]) {
            perror("pipeline: waitpid");
            return 1;
        }
        if (WIFEXITED(status))
            printf("%s: exit %d\n", names[i], last = WEXITSTATUS(status));
        else
            printf("%s: signal %d\n", names[i], WTERMSIG(status));
    }
    return last;
}
