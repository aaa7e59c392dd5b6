/* childfaults PROGRAM [ARGS...]: runs PROGRAM as a child (fork, execv), waits for it and
 * prints on stderr the faults of every descendant it waited for, as getrusage
 * (RUSAGE_CHILDREN) sums them: "children minflt N majflt M". Its stdout is the child's.
 * The whole-tree fault count of a command, natively and under vmemu, for
 * tests/shells_e2e.py. Exits with the child's status (128 + N for signal N). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: childfaults PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
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
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
