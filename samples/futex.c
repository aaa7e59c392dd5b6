/* futex: the futex operations a program without threads meets, checked by the program
 * itself (a "FAIL" line and status 1 on a wrong result), so its output is the same natively
 * and under vmemu (tests/procs_e2e.py compares them):
 *   - FUTEX_WAKE with nobody waiting wakes 0; FUTEX_WAIT on a changed value is EAGAIN; a
 *     misaligned word is EINVAL;
 *   - FUTEX_WAIT with a 20 ms timeout, and FUTEX_WAIT_BITSET with an absolute deadline on
 *     CLOCK_MONOTONIC, end with ETIMEDOUT no earlier than asked; a zero bitset is EINVAL;
 *   - a signal whose handler has no SA_RESTART ends a FUTEX_WAIT without timeout with EINTR;
 *   - FUTEX_WAKE_OP applies its operation (ADD 3, compare old == 5) and returns 0 woken;
 *     FUTEX_CMP_REQUEUE with a wrong expected value is EAGAIN;
 *   - between processes (a MAP_SHARED page, no FUTEX_PRIVATE_FLAG): the parent sleeps until
 *     the child sets the word and wakes it; a process-shared semaphore (sem_init pshared=1)
 *     the child posts 3 times and the parent takes 3 times;
 *   - pthread_once runs its routine once (glibc ends it with a FUTEX_WAKE).
 * Usage: futex */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_check.h"

/* linux/futex.h's values (musl-gcc has no kernel headers). */
#define FUTEX_WAIT                0
#define FUTEX_WAKE                1
#define FUTEX_CMP_REQUEUE         4
#define FUTEX_WAKE_OP             5
#define FUTEX_WAIT_BITSET         9
#define FUTEX_PRIVATE_FLAG        128
#define FUTEX_WAIT_PRIVATE        (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE        (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE     (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY    0xffffffffu
#define FUTEX_OP_ADD              1
#define FUTEX_OP_CMP_EQ           0

static long futex(void *uaddr, int op, uint32_t val, const void *ts_or_val2, void *uaddr2,
                  uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts_or_val2, uaddr2, val3);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static int once_runs;
static void once_routine(void)
{
    once_runs++;
}

int main(void)
{
    static uint32_t word __attribute__((aligned(8)));
    char *bytes = (char *)&word;

    CHECK(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    printf("wake nobody: 0\n");
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0) == -1 && errno == EAGAIN);
    printf("wait on a changed value: EAGAIN\n");
    errno = 0;
    CHECK(futex(bytes + 1, FUTEX_WAKE, 1, NULL, NULL, 0) == -1 && errno == EINVAL);
    printf("misaligned: EINVAL\n");

    struct timespec rel = {0, 20 * 1000 * 1000};
    double t0 = now_ms();
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0) == -1 && errno == ETIMEDOUT);
    CHECK(now_ms() - t0 >= 19.9);
    printf("wait 20 ms: ETIMEDOUT\n");
    struct timespec abs;
    t0 = now_ms(); /* before the deadline is taken: a host that pauses us in between must
                      not make the wait look short */
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 20 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY) == -1 &&
          errno == ETIMEDOUT);
    CHECK(now_ms() - t0 >= 19.0);
    printf("wait_bitset until an absolute time: ETIMEDOUT\n");
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, 0) == -1 && errno == EINVAL);
    printf("zero bitset: EINVAL\n");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    CHECK(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) == -1 && errno == EINTR);
    printf("signal without SA_RESTART: EINTR\n");

    static uint32_t w1, w2 = 5;
    /* FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5) */
    uint32_t op = (FUTEX_OP_ADD << 28) | (FUTEX_OP_CMP_EQ << 24) | (3 << 12) | 5;
    CHECK(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, op) == 0);
    CHECK(w2 == 8);
    printf("wake_op: 0 woken, word 5 -> %u\n", w2);
    errno = 0;
    CHECK(futex(&w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &w2, 99) == -1 && errno == EAGAIN);
    printf("cmp_requeue on a wrong value: EAGAIN\n");

    struct shared {
        uint32_t flag;
        sem_t sem;
    } *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    CHECK(sem_init(&sh->sem, 1, 0) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        usleep(10 * 1000);
        __atomic_store_n(&sh->flag, 1, __ATOMIC_SEQ_CST);
        futex(&sh->flag, FUTEX_WAKE, 1, NULL, NULL, 0);
        for (int i = 0; i < 3; i++)
            sem_post(&sh->sem);
        _exit(0);
    }
    while (__atomic_load_n(&sh->flag, __ATOMIC_SEQ_CST) == 0)
        futex(&sh->flag, FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("shared: woken by the child, flag %u\n", sh->flag);
    for (int i = 0; i < 3; i++)
        CHECK(sem_wait(&sh->sem) == 0);
    printf("shared semaphore: 3 posts taken\n");
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, once_routine);
    pthread_once(&once, once_routine);
    CHECK(once_runs == 1);
    printf("pthread_once: ran once\n");
    return 0;
}
