/* watch: the guest of the gdb stub's end-to-end checks (tests/gdb_e2e.py). Without
 * arguments it writes and reads globals in a loop (watchpoints: `watch counter` sees 1, 3,
 * 6; `rwatch limit` sees the loop's reads), then raises SIGUSR1 once with a handler
 * (signal passing: gdb's `signal 0` discards it). "fork" forks a child that exits 7 and
 * waits for it; "exec" executes itself with "done"; "spin" loops until killed (gdb's
 * Ctrl-C). Prints what happened. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int counter;   /* written by the loop */
volatile int limit = 3; /* read by the loop */
volatile int usr1_hits; /* SIGUSR1 handler runs */

static void on_usr1(int sig)
{
    (void)sig;
    usr1_hits++;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "spin") == 0) {
        for (;;)
            counter++;
    }
    if (argc > 1 && strcmp(argv[1], "done") == 0) {
        printf("exec done\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        execl("/proc/self/exe", argv[0], "done", (char *)NULL);
        perror("execl");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(7);
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child exit %d\n", WEXITSTATUS(st));
        return 0;
    }
    for (int i = 0; i < limit; i++)
        counter += i + 1;
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("counter %d usr1 %d\n", counter, usr1_hits);
    return 0;
}
