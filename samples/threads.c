/* threads: POSIX threads, each feature in a part whose printed result does not depend on
 * the schedule. Usage: threads [PART] (default: all parts in order).
 *   mutex     4 threads add to a counter under a mutex; joined return values
 *   condvar   a producer/consumer queue of 1000 items on a mutex and two condvars
 *   rwlock    readers and writers on a rwlock-protected table
 *   barrier   3 rounds of a 4-thread barrier; exactly one serial thread per round
 *   tls       __thread variables and pthread keys with destructors
 *   detach    detached threads signal a semaphore when done
 *   cancel    a thread blocked in a condvar wait is cancelled; its cleanup handler runs
 *   robust    a robust mutex whose owner thread exits while holding it (EOWNERDEAD)
 *   pi        a contended PTHREAD_PRIO_INHERIT mutex (FUTEX_LOCK_PI/UNLOCK_PI), and a
 *             robust one whose owner dies
 *   ids       getpid is the same in every thread, gettid differs; pthread_self, exit(2)
 *             of the main thread's peers
 *   spin      a thread spins on a flag (no syscall) until another sets it
 *   proc      /proc/self/status's thread count, a thread's name in /proc/self/task/TID
 *             and /proc/thread-self
 *   reduce    a parallel reduction over an array, 8 threads
 *   exec      (only when named) a thread forks a child and reaps it; then, while another
 *             thread spins, a third one execs the program again, which checks that it
 *             kept the process's pid and is its only thread
 *   exec-main (only when named) the main thread execs the program again while one thread
 *             spins and another waits in a condition variable: the same checks
 *   crash     (only when named) a thread reads through a NULL pointer: SIGSEGV
 *   deadlock  (only when named) two threads wait for each other's mutex for ever
 * Ends with status 0 when every check held, 1 otherwise. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            printf("FAIL %s:%d: ", __func__, __LINE__);                                           \
            printf(__VA_ARGS__);                                                                  \
            printf("\n");                                                                         \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* mutex ------------------------------------------------------------------------------- */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *mutex_worker(void *arg)
{
    long n = (long)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&count_lock);
        counter += n;
        pthread_mutex_unlock(&count_lock);
    }
    return (void *)(n * 10);
}

static void part_mutex(void)
{
    pthread_t t[4];
    long ret = 0;
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, mutex_worker, (void *)(i + 1)) == 0, "create");
    for (int i = 0; i < 4; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0, "join");
        ret += (long)r;
    }
    printf("mutex: counter %ld, joined %ld\n", counter, ret);
}

/* condvar ----------------------------------------------------------------------------- */
#define QCAP 8
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    int items[QCAP];
    int head, len;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .not_empty = PTHREAD_COND_INITIALIZER,
       .not_full = PTHREAD_COND_INITIALIZER};

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 1000; i++) {
        pthread_mutex_lock(&q.lock);
        while (q.len == QCAP)
            pthread_cond_wait(&q.not_full, &q.lock);
        q.items[(q.head + q.len++) % QCAP] = i;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0;
    (void)arg;
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&q.lock);
        while (q.len == 0)
            pthread_cond_wait(&q.not_empty, &q.lock);
        sum += q.items[q.head];
        q.head = (q.head + 1) % QCAP;
        q.len--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.lock);
    }
    return (void *)sum;
}

static void part_condvar(void)
{
    pthread_t p, c1, c2;
    void *s1, *s2;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c1, NULL, consumer, NULL);
    pthread_create(&c2, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c1, &s1);
    pthread_join(c2, &s2);
    printf("condvar: consumed %ld (expected %d)\n", (long)s1 + (long)s2, 1000 * 1001 / 2);
    CHECK((long)s1 + (long)s2 == 500500, "sum");
}

/* rwlock ------------------------------------------------------------------------------ */
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static int table[64];

static void *rw_writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++) {
        pthread_rwlock_wrlock(&table_lock);
        for (int k = 0; k < 64; k++)
            table[k] += (int)id;
        pthread_rwlock_unlock(&table_lock);
        sched_yield();
    }
    return NULL;
}

static void *rw_reader(void *arg)
{
    long torn = 0;
    (void)arg;
    for (int i = 0; i < 400; i++) {
        pthread_rwlock_rdlock(&table_lock);
        for (int k = 1; k < 64; k++)
            torn += table[k] != table[0]; /* a writer updates all entries at once */
        pthread_rwlock_unlock(&table_lock);
    }
    return (void *)torn;
}

static void part_rwlock(void)
{
    pthread_t w[2], r[3];
    long torn = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, rw_writer, (void *)(i + 1));
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, rw_reader, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < 3; i++) {
        void *t;
        pthread_join(r[i], &t);
        torn += (long)t;
    }
    printf("rwlock: table[0] %d, torn reads %ld\n", table[0], torn);
    CHECK(table[0] == 600 && torn == 0, "rwlock");
}

/* barrier ----------------------------------------------------------------------------- */
static pthread_barrier_t bar;
static atomic_int serial_count, phase_sum;

static void *barrier_worker(void *arg)
{
    for (int round = 0; round < 3; round++) {
        atomic_fetch_add(&phase_sum, (int)(long)arg);
        if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_fetch_add(&serial_count, 1);
    }
    return NULL;
}

static void part_barrier(void)
{
    pthread_t t[4];
    pthread_barrier_init(&bar, NULL, 4);
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, barrier_worker, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    printf("barrier: serial threads %d, sum %d\n", serial_count, phase_sum);
    CHECK(serial_count == 3 && phase_sum == 30, "barrier");
}

/* tls --------------------------------------------------------------------------------- */
static __thread long tls_value = 7;
static pthread_key_t key;
static atomic_long destructed;

static void key_destructor(void *v)
{
    atomic_fetch_add(&destructed, (long)v);
}

static void *tls_worker(void *arg)
{
    long n = (long)arg;
    CHECK(tls_value == 7, "initial __thread value %ld", tls_value);
    tls_value = n * 100;
    pthread_setspecific(key, (void *)n);
    for (int i = 0; i < 1000; i++)
        sched_yield(); /* the others run and set theirs */
    CHECK(tls_value == n * 100, "__thread value changed under us: %ld", tls_value);
    CHECK((long)pthread_getspecific(key) == n, "key value");
    return (void *)tls_value;
}

static void part_tls(void)
{
    pthread_t t[3];
    long sum = 0;
    pthread_key_create(&key, key_destructor);
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, tls_worker, (void *)(i + 1));
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("tls: sum %ld, main's %ld, destructors saw %ld\n", sum, tls_value, (long)destructed);
    CHECK(sum == 600 && tls_value == 7 && destructed == 6, "tls");
}

/* detach ------------------------------------------------------------------------------ */
static sem_t done;
static atomic_int detached_ran;

static void *detached_worker(void *arg)
{
    atomic_fetch_add(&detached_ran, (int)(long)arg);
    sem_post(&done);
    return NULL;
}

static void part_detach(void)
{
    pthread_attr_t a;
    sem_init(&done, 0, 0);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < 5; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, &a, detached_worker, (void *)(i + 1)) == 0, "create");
    }
    for (int i = 0; i < 5; i++)
        sem_wait(&done);
    printf("detach: 5 detached threads ran, sum %d\n", detached_ran);
    CHECK(detached_ran == 15, "detach");
}

/* cancel ------------------------------------------------------------------------------ */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static atomic_int cleaned, waiting;

static void cleanup(void *arg)
{
    (void)arg;
    atomic_store(&cleaned, 1);
    pthread_mutex_unlock(&cancel_lock);
}

static void *cancel_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cancel_lock);
    pthread_cleanup_push(cleanup, NULL);
    atomic_store(&waiting, 1);
    for (;;)
        pthread_cond_wait(&never, &cancel_lock);
    pthread_cleanup_pop(1);
    return NULL;
}

static void part_cancel(void)
{
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, cancel_worker, NULL);
    while (!atomic_load(&waiting))
        sched_yield();
    pthread_mutex_lock(&cancel_lock); /* it waits in the condvar, the mutex released */
    pthread_mutex_unlock(&cancel_lock);
    pthread_cancel(t);
    pthread_join(t, &r);
    printf("cancel: %s, cleanup ran %d\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled",
           cleaned);
    CHECK(r == PTHREAD_CANCELED && cleaned == 1, "cancel");
}

/* robust ------------------------------------------------------------------------------ */
static pthread_mutex_t robust;

static void *robust_owner(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; /* ends holding it */
}

static void part_robust(void)
{
    pthread_mutexattr_t a;
    pthread_t t;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_create(&t, NULL, robust_owner, NULL);
    pthread_join(t, NULL);
    int rc = pthread_mutex_lock(&robust);
    printf("robust: lock after the owner died: %s\n", rc == EOWNERDEAD ? "EOWNERDEAD" : strerror(rc));
    CHECK(rc == EOWNERDEAD, "robust lock returned %d", rc);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&robust);
        pthread_mutex_unlock(&robust);
        CHECK(pthread_mutex_lock(&robust) == 0, "lock after consistent");
        pthread_mutex_unlock(&robust);
    }
}

/* pi ---------------------------------------------------------------------------------- */
static pthread_mutex_t pi_lock, pi_robust;
static long pi_counter;

static void *pi_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&pi_lock);
        pi_counter++;
        if (i % 100 == 0)
            sched_yield(); /* hold it while others run: they sleep in FUTEX_LOCK_PI */
        pthread_mutex_unlock(&pi_lock);
    }
    return NULL;
}

static void *pi_robust_owner(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pi_robust);
    return NULL; /* ends holding it */
}

static void part_pi(void)
{
    pthread_mutexattr_t a;
    pthread_t t[3];
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pi_lock, &a);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, pi_worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&pi_robust, &a);
    pthread_create(&t[0], NULL, pi_robust_owner, NULL);
    pthread_join(t[0], NULL);
    int rc = pthread_mutex_lock(&pi_robust);
    printf("pi: counter %ld; robust PI lock after the owner died: %s\n", pi_counter,
           rc == EOWNERDEAD ? "EOWNERDEAD" : strerror(rc));
    CHECK(pi_counter == 6000 && rc == EOWNERDEAD, "pi");
}

/* ids --------------------------------------------------------------------------------- */
static pid_t main_pid, main_tid;

static void *ids_worker(void *arg)
{
    (void)arg;
    long same_pid = getpid() == main_pid;
    long other_tid = gettid_() != main_tid && gettid_() > 0;
    /* the kernel's affinity calls take a thread's id (Rust's available_parallelism) */
    cpu_set_t set;
    long affinity = syscall(SYS_sched_getaffinity, gettid_(), sizeof(set), &set) > 0;
    return (void *)(same_pid * 4 + other_tid * 2 + affinity);
}

static void part_ids(void)
{
    pthread_t t;
    void *r;
    main_pid = getpid();
    main_tid = gettid_();
    pthread_create(&t, NULL, ids_worker, NULL);
    pthread_join(t, &r);
    printf("ids: main tid == pid %d, thread's pid same %d, tid its own %d, "
           "sched_getaffinity(tid) %d\n",
           main_tid == main_pid, ((long)r & 4) != 0, ((long)r & 2) != 0, ((long)r & 1) != 0);
    CHECK(main_tid == main_pid && (long)r == 7, "ids");
}

/* spin -------------------------------------------------------------------------------- */
static atomic_int flag;
static volatile long spins;

static void *spin_setter(void *arg)
{
    (void)arg;
    atomic_store(&flag, 1);
    return NULL;
}

static void part_spin(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spin_setter, NULL);
    while (!atomic_load_explicit(&flag, memory_order_relaxed))
        spins++; /* no syscall: only preemption lets the setter run */
    pthread_join(t, NULL);
    printf("spin: the flag was set\n");
}

/* proc -------------------------------------------------------------------------------- */
/* The first line of path that starts with key, without its newline ("" if none). */
static void proc_line(const char *path, const char *key, char *out, size_t n)
{
    char line[256];
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, n, "%s", line);
            break;
        }
    if (f)
        fclose(f);
}

static pthread_barrier_t proc_bar;

/* Entries of /proc/self/task, and whether the caller's own tid is one of them. */
static int task_entries(bool *has_self)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    *has_self = false;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        *has_self = *has_self || atoi(e->d_name) == (int)gettid_();
    }
    if (d)
        closedir(d);
    return n;
}

static void *proc_worker(void *arg)
{
    char path[64], name[64], self_name[64];
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)gettid_());
    proc_line(path, "Name:", name, sizeof(name));
    proc_line("/proc/thread-self/status", "Name:", self_name, sizeof(self_name));
    printf("proc: the thread's task/TID/status says \"%s\", thread-self \"%s\"\n", name,
           self_name);
    pthread_barrier_wait(&proc_bar);
    pthread_barrier_wait(&proc_bar);
    return NULL;
}

static void part_proc(void)
{
    pthread_t t;
    char during[64], after[64];
    pthread_barrier_init(&proc_bar, NULL, 2);
    pthread_create(&t, NULL, proc_worker, NULL);
    bool has_self;
    pthread_barrier_wait(&proc_bar);
    proc_line("/proc/self/status", "Threads:", during, sizeof(during));
    int tasks = task_entries(&has_self);
    pthread_barrier_wait(&proc_bar);
    pthread_join(t, NULL);
    proc_line("/proc/self/status", "Threads:", after, sizeof(after));
    printf("proc: /proc/self/status \"%s\" with the worker, \"%s\" after\n", during, after);
    printf("proc: /proc/self/task lists %d tasks with the worker (its own tid: %s), ", tasks,
           has_self ? "yes" : "no");
    printf("%d after\n", task_entries(&has_self));
}

/* reduce ------------------------------------------------------------------------------ */
#define NELEM (1 << 16)
static unsigned data[NELEM];
struct slice {
    int from, to;
    unsigned long sum;
};

static void *reduce_worker(void *arg)
{
    struct slice *s = arg;
    for (int i = s->from; i < s->to; i++)
        s->sum += data[i];
    return NULL;
}

static void part_reduce(void)
{
    pthread_t t[8];
    struct slice s[8];
    unsigned long total = 0, expect = 0;
    for (int i = 0; i < NELEM; i++) {
        data[i] = (unsigned)i * 2654435761u >> 7;
        expect += data[i];
    }
    for (int i = 0; i < 8; i++) {
        s[i] = (struct slice){i * NELEM / 8, (i + 1) * NELEM / 8, 0};
        pthread_create(&t[i], NULL, reduce_worker, &s[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += s[i].sum;
    }
    printf("reduce: %lu (%s)\n", total, total == expect ? "ok" : "WRONG");
    CHECK(total == expect, "reduce");
}

/* exec (not part of "all": it replaces the program) ----------------------------------- */
static char *self_path;
static char pid_arg[32];

static void *fork_in_thread(void *arg)
{
    int st;
    (void)arg;
    pid_t c = fork();
    if (c == 0)
        _exit(getpid() != main_pid ? 7 : 1); /* the child is a new process of one thread */
    waitpid(c, &st, 0);
    printf("exec: a thread forked a child, which exited with %d\n", WEXITSTATUS(st));
    return NULL;
}

static void *spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        sched_yield(); /* ended by the exec of another thread */
    return NULL;
}

static void *exec_in_thread(void *arg)
{
    char *argv[] = {self_path, "exec-done", pid_arg, NULL};
    (void)arg;
    execv(self_path, argv);
    printf("FAIL exec: execv: %s\n", strerror(errno));
    exit(1);
}

static void part_exec(void)
{
    pthread_t f, s, e;
    main_pid = getpid();
    snprintf(pid_arg, sizeof(pid_arg), "%d", (int)main_pid);
    pthread_create(&f, NULL, fork_in_thread, NULL);
    pthread_join(f, NULL);
    pthread_create(&s, NULL, spin_forever, NULL);
    pthread_create(&e, NULL, exec_in_thread, NULL);
    pthread_join(e, NULL);
    printf("FAIL exec: the exec returned\n");
    exit(1);
}

/* exec-main (only when named): the leader execs while its threads run and wait (their
 * exit clears their tid word in the old image, as the kernel's de_thread does). */
static pthread_mutex_t em_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t em_never = PTHREAD_COND_INITIALIZER;

static atomic_int em_started;

static void *wait_forever(void *arg)
{
    pthread_mutex_lock(&em_lock);
    atomic_store(&em_started, 1);
    for (;;)
        pthread_cond_wait(&em_never, &em_lock); /* releases em_lock while it waits */
    return arg;
}

static void part_exec_main(void)
{
    pthread_t s, w;
    char *argv[] = {self_path, "exec-done", pid_arg, NULL};
    snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
    pthread_create(&s, NULL, spin_forever, NULL);
    pthread_create(&w, NULL, wait_forever, NULL);
    while (!atomic_load(&em_started))
        sched_yield();
    pthread_mutex_lock(&em_lock); /* the waiter is in pthread_cond_wait */
    execv(self_path, argv);
    printf("FAIL exec-main: execv: %s\n", strerror(errno));
}

/* crash (only when named): a thread reads through a NULL pointer; the process dies of
 * SIGSEGV (the crash report names the thread). */
static void *crash_worker(void *arg)
{
    volatile int *p = arg;
    return (void *)(long)*p;
}

/* deadlock (only when named): two threads take two mutexes in opposite orders and wait
 * for each other for ever (vmemu reports it and ends them; Linux would hang). */
static pthread_mutex_t dl_a = PTHREAD_MUTEX_INITIALIZER, dl_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t dl_bar;

static void *deadlock_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl_b);
    pthread_barrier_wait(&dl_bar);
    pthread_mutex_lock(&dl_a);
    return NULL;
}

static void part_deadlock(void)
{
    pthread_t t;
    pthread_barrier_init(&dl_bar, NULL, 2);
    pthread_mutex_lock(&dl_a);
    pthread_create(&t, NULL, deadlock_worker, NULL);
    pthread_barrier_wait(&dl_bar);
    pthread_mutex_lock(&dl_b);
}

/* The program exec'ed by part_exec's thread: the process kept its pid, its only thread is
 * the leader. */
static int exec_done(const char *pid)
{
    int ok = getpid() == atoi(pid) && gettid_() == getpid();
    printf("exec: the new program runs with the process's pid, alone: %s\n", ok ? "yes" : "no");
    return ok ? 0 : 1;
}

static const struct {
    const char *name;
    void (*fn)(void);
} parts[] = {
    {"mutex", part_mutex},   {"condvar", part_condvar}, {"rwlock", part_rwlock},
    {"barrier", part_barrier}, {"tls", part_tls},       {"detach", part_detach},
    {"cancel", part_cancel}, {"robust", part_robust},   {"pi", part_pi},
    {"ids", part_ids},
    {"spin", part_spin},     {"proc", part_proc},       {"reduce", part_reduce},
};

int main(int argc, char **argv)
{
    int ran = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    self_path = argv[0];
    if (argc > 2 && strcmp(argv[1], "exec-done") == 0)
        return exec_done(argv[2]);
    if (argc > 1 && strcmp(argv[1], "crash") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, crash_worker, NULL);
        pthread_join(t, NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
        part_deadlock();
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        part_exec();
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "exec-main") == 0) {
        part_exec_main();
        return 1;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (argc > 1 && strcmp(argv[1], parts[i].name) != 0)
            continue;
        parts[i].fn();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "threads: unknown part %s\n", argv[1]);
        return 2;
    }
    return failures ? 1 : 0;
}
