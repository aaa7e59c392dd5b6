/* childfaults PROGRAM [ARGS...]: runs PROGRAM as a child (fork, execv), waits for it and
 * prints on stderr the faults of every descendant it waited for, as getrusage
 * (RUSAGE_CHILDREN) sums them: "children minflt N majflt M", then the faults the child
 * had taken just before its execv: "before execve minflt N majflt M" (so that the
 * difference is what execve and the program took). Its stdout is the child's. The
 * whole-tree fault count of a command, natively and under vmemu, for tests/shells_e2e.py.
 * Exits with the child's status (128 + N for signal N). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: childfaults PROGRAM [ARGS...]\n");
        return 2;
    }
    /* Shared with the child, which writes its count just before execv (touching the page
     * first, so that the store itself takes no fault after the count). */
    volatile long *before = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                 -1, 0);
    if (before == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    before[0] = before[1] = -1;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        struct rusage self;
        size_t len = 0;
        before[0] = 0; /* the shared page's fault */
        for (char **a = argv; *a; a++)
            len += strlen(*a); /* the strings execv copies: present before the count */
        getrusage(RUSAGE_SELF, &self);
        before[1] = (long)len;
        getrusage(RUSAGE_SELF, &self);
        before[0] = self.ru_minflt;
        before[1] = self.ru_majflt;
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    fprintf(stderr, "children minflt %ld majflt %ld\n", ru.ru_minflt, ru.ru_majflt);
    fprintf(stderr, "before execve minflt %ld majflt %ld\n", before[0], before[1]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
