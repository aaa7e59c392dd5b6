/* fork_heavy: the fork-heavy benchmark workload (tests/bench.py). Usage: fork_heavy
 * [FORKS] [PAGES] (default 2000 and 64). The parent first writes PAGES pages of heap,
 * then FORKS times: fork; the child writes one of those pages (a copy-on-write fault),
 * reads all of them and exits with a checksum byte; the parent waits and adds the exit
 * code to its checksum. Prints the checksum, which only depends on FORKS and PAGES.
 * Measures fork (page-table and VMA copy), a COW fault, exit (address-space teardown)
 * and wait, with the scheduler switching between the two processes every round.
 * `fork_heavy exec N`: N round trips of fork + execve of this program (argv[0], which must
 * be a path; the new image sees "-" and exits at once) + wait: the cost of starting a
 * static program. Prints the round trips done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

/* N round trips of fork, execve(argv0, {argv0, "-"}) and waitpid. Returns main's status. */
static int exec_loop(const char *argv0, long n)
{
    for (long i = 0; i < n; i++) {
        int st;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork_heavy: fork");
            return 1;
        }
        if (pid == 0) {
            char *args[] = {(char *)argv0, "-", NULL};
            execv(argv0, args);
            _exit(127);
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "fork_heavy: exec round %ld failed\n", i);
            return 1;
        }
    }
    printf("fork_heavy: %ld fork+exec+wait round trips\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "-") == 0)
        return 0; /* the exec'ed image of exec_loop */
    if (argc == 3 && strcmp(argv[1], "exec") == 0)
        return exec_loop(argv[0], atol(argv[2]));
    long forks = argc > 1 ? atol(argv[1]) : 2000;
    long pages = argc > 2 ? atol(argv[2]) : 64;
    unsigned long sum = 0;
    unsigned char *heap;
    int st;

    if (forks < 0 || pages < 1) {
        fprintf(stderr, "usage: fork_heavy [FORKS] [PAGES>0]\n");
        return 2;
    }
    heap = malloc((size_t)pages * PG);
    if (!heap)
        return 1;
    for (long i = 0; i < pages * PG; i++)
        heap[i] = (unsigned char)(i * 7 + 1);
    for (long i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork_heavy: fork");
            return 1;
        }
        if (pid == 0) {
            unsigned s = 0;

            heap[(i % pages) * PG] += (unsigned char)i;
            for (long j = 0; j < pages; j++)
                s += heap[j * PG];
            _exit((int)(s & 0xff));
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
            fprintf(stderr, "fork_heavy: child %ld failed\n", i);
            return 1;
        }
        sum = sum * 31 + (unsigned long)WEXITSTATUS(st);
    }
    printf("fork_heavy: %ld forks, %ld pages, checksum %lu\n", forks, pages, sum);
    return 0;
}
