/* fork_heavy: the fork-heavy benchmark workload (tests/bench.py). Usage: fork_heavy
 * [FORKS] [PAGES] (default 2000 and 64). The parent first writes PAGES pages of heap,
 * then FORKS times: fork; the child writes one of those pages (a copy-on-write fault),
 * reads all of them and exits with a checksum byte; the parent waits and adds the exit
 * code to its checksum. Prints the checksum, which only depends on FORKS and PAGES.
 * Measures fork (page-table and VMA copy), a COW fault, exit (address-space teardown)
 * and wait, with the scheduler switching between the two processes every round. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

int main(int argc, char **argv)
{
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
