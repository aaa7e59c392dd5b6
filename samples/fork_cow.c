/* fork_cow: copy-on-write after fork, seen from both sides. Usage: fork_cow [N K P M]
 * (default 64 16 8 24; K + P + M <= N). The parent writes all N pages of a private
 * anonymous mapping, then forks. Regions of the mapping:
 *   A = [0, K)          the child writes them while the parent still maps them: K copies
 *                       (cow) in the child; after the child has exited the parent writes
 *                       them, the only owner left: K reuses (cow_reuse) in the parent;
 *   B = [K, K+P)        the parent writes them first, while the child still maps them:
 *                       P copies in the parent; then the child writes them, now the only
 *                       owner of the old frames: P reuses in the child;
 *   C = [K+P, K+P+M)    nobody writes them until the child has exited; then the parent
 *                       writes them: M reuses in the parent.
 * A pipe orders the two sides (the child writes after the parent's B writes). Each side
 * prints the sums it reads, which show that neither sees the other's writes; nothing
 * printed depends on addresses or pids, and every number is printed at a fixed width: the
 * lines written after the fork have the same length whatever the arguments, so stdio's
 * buffer touches the same pages in every run (the counts of two runs are compared).
 * tests/procs_e2e.py compares the output with the native run and checks the --report
 * counts of the two processes against a run with K = P = M = 0: exactly K/P more cow
 * and P/K+M more cow_reuse. Arguments are decimal
 * and may have leading zeros: the test passes them at a fixed width, so that both runs
 * have argument strings of the same size (the same initial stack layout). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

static unsigned char *area;

/* Writes value v to the first byte and a derived one to the last byte of each page. */
static void write_pages(size_t from, size_t to, unsigned v)
{
    for (size_t i = from; i < to; i++) {
        area[i * PG] = (unsigned char)(v + i);
        area[i * PG + PG - 1] = (unsigned char)(v * 3 + i);
    }
}

/* Sum of the bytes write_pages() writes, over pages [from, to). */
static unsigned long sum_pages(size_t from, size_t to)
{
    unsigned long s = 0;

    for (size_t i = from; i < to; i++)
        s += area[i * PG] + 7UL * area[i * PG + PG - 1];
    return s;
}

static size_t arg(char **argv, int i, size_t dflt)
{
    return argv[i] ? strtoul(argv[i], NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
    size_t n = 64, k = 16, p = 8, m = 24;
    int fds[2];
    char go = 'g';
    int status;

    if (argc == 5) {
        n = arg(argv, 1, n);
        k = arg(argv, 2, k);
        p = arg(argv, 3, p);
        m = arg(argv, 4, m);
    } else if (argc != 1) {
        fprintf(stderr, "usage: fork_cow [N K P M]\n");
        return 2;
    }
    if (k + p + m > n) {
        fprintf(stderr, "fork_cow: K + P + M must be <= N\n");
        return 2;
    }
    area = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED || pipe(fds) != 0) {
        perror("fork_cow: setup");
        return 1;
    }
    write_pages(0, n, 1);
    printf("pages %03zu: A %03zu (child first), B %03zu (parent first), C %03zu (parent after)\n",
           n, k, p, m);
    printf("before fork: sum %06lu\n", sum_pages(0, n));
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork_cow: fork");
        return 1;
    }
    if (pid == 0) {
        close(fds[1]);
        if (read(fds[0], &go, 1) != 1)
            _exit(3);
        /* The parent has written B by now; the child still sees the values from before. */
        printf("child: sees B %06lu, all %06lu\n", sum_pages(k, k + p), sum_pages(0, n));
        write_pages(0, k, 50);
        write_pages(k, k + p, 60);
        printf("child: after writing A and B: A %06lu, B %06lu, all %06lu\n", sum_pages(0, k),
               sum_pages(k, k + p), sum_pages(0, n));
        fflush(stdout);
        _exit(0);
    }
    close(fds[0]);
    write_pages(k, k + p, 20);
    printf("parent: wrote B: B %06lu\n", sum_pages(k, k + p));
    fflush(stdout);
    if (write(fds[1], &go, 1) != 1)
        return 1;
    close(fds[1]);
    if (waitpid(pid, &status, 0) != pid) {
        perror("fork_cow: waitpid");
        return 1;
    }
    printf("parent: child exited %03d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 999);
    printf("parent: sees A %06lu, B %06lu, all %06lu\n", sum_pages(0, k), sum_pages(k, k + p),
           sum_pages(0, n));
    write_pages(0, k, 30);
    write_pages(k + p, k + p + m, 40);
    printf("parent: after writing A and C: all %06lu\n", sum_pages(0, n));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
