/* sysvipc: System V IPC between processes, self-checking, the same lines natively and
 * under vmemu (tests/sysvipc_e2e.py). Shared memory: an IPC_PRIVATE segment shared across
 * fork, shm_nattch in parent and child and after shmdt, SHM_RND, the segment's line in
 * /proc/self/maps, IPC_RMID then detach. Semaphores (a key from ftok): a child blocked in
 * semop until the parent posts, SEM_UNDO undone when it exits, IPC_NOWAIT, semtimedop's
 * timeout, all-or-nothing semop, EINTR despite SA_RESTART, EIDRM for a sleeper. Message
 * queues: typed messages from a child, a receive that blocks until it sends, msgtyp > 0,
 * 0, < 0 and MSG_EXCEPT, E2BIG and MSG_NOERROR, ENOMSG, a full queue, EIDRM for a blocked
 * receiver. Every object is removed before exit; alarm(10) bounds every wait. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sample_check.h"

union semun_arg {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

struct msgbuf64 {
    long mtype;
    char mtext[64];
};

/* errno's name, the IPC ones included. */
static const char *ename(int e)
{
    switch (e) {
    case EIDRM:
        return "EIDRM";
    case E2BIG:
        return "E2BIG";
    case ENOMSG:
        return "ENOMSG";
    case EINTR:
        return "EINTR";
    case ERANGE:
        return "ERANGE";
    case ENOENT:
        return "ENOENT";
    case EFBIG:
        return "EFBIG";
    default:
        return errname(e);
    }
}

/* A call's result as "ok" or the errno's name. */
static const char *rc(long r)
{
    return r < 0 ? ename(errno) : "ok";
}

/* The name column of the /proc/self/maps line naming a SysV segment, or "none". */
static const char *sysv_line(void)
{
    static char name[128];
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    strcpy(name, "none");
    while (fgets(line, sizeof(line), f)) {
        char *s = strstr(line, "/SYSV");
        if (s) {
            s[strcspn(s, "\n")] = '\0';
            snprintf(name, sizeof(name), "%s", s);
            break;
        }
    }
    fclose(f);
    return name;
}

static long nattch(int shmid)
{
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return -1;
    return (long)ds.shm_nattch;
}

static int wait_child(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t fork_flushed(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    return pid;
}

static void test_shm(void)
{
    int id = shmget(IPC_PRIVATE, 3 * PG + 100, IPC_CREAT | 0600);
    CHECK(id >= 0);
    char *a = shmat(id, NULL, 0);
    CHECK(a != (void *)-1);
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: segsz %lu mode %o nattch %lu\n", (unsigned long)ds.shm_segsz,
           (unsigned)(ds.shm_perm.mode & 0777), (unsigned long)ds.shm_nattch);
    printf("shm: maps line while attached: %s\n", sysv_line());
    printf("shm: fresh segment reads zero: %s\n", a[0] == 0 && a[3 * PG + 99] == 0 ? "yes" : "no");
    pid_t pid = fork_flushed();
    if (pid == 0) {
        long n = nattch(id);
        strcpy(a, "written by the child");
        a[3 * PG + 50] = 'x';
        _exit(n == 2 ? 0 : 10 + (int)n);
    }
    printf("shm: child status %d (it saw nattch 2)\n", wait_child(pid));
    printf("shm: parent reads \"%s\" and '%c'\n", a, a[3 * PG + 50]);
    printf("shm: nattch after the child ended %ld\n", nattch(id));

    /* A second attachment, read-only, at an address SHM_RND rounds down. */
    char *r = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED);
    CHECK(munmap(r, 8 * PG) == 0);
    errno = 0;
    void *bad = shmat(id, r + 123, 0);
    printf("shm: unaligned address without SHM_RND: %s\n", bad == (void *)-1 ? ename(errno) : "ok");
    char *b = shmat(id, r + 123, SHM_RND | SHM_RDONLY);
    CHECK(b != (void *)-1);
    printf("shm: SHM_RND attached at the rounded address: %s, reads \"%s\"\n", b == r ? "yes" : "no",
           b);
    printf("shm: nattch with two attachments %ld\n", nattch(id));
    errno = 0;
    printf("shm: shmat at a used address: %s\n", rc(shmat(id, b, 0) == (void *)-1 ? -1 : 0));
    const char *dt = rc(shmdt(b));
    printf("shm: shmdt of the second: %s, nattch %ld\n", dt, nattch(id));
    printf("shm: shmdt where nothing is attached: %s\n", rc(shmdt(b)));

    printf("shm: IPC_RMID while attached: %s\n", rc(shmctl(id, IPC_RMID, NULL)));
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: after IPC_RMID: marked %s, nattch %lu, still reads \"%s\"\n",
           (ds.shm_perm.mode & 01000) ? "yes" : "no", (unsigned long)ds.shm_nattch, a);
    printf("shm: shmdt of the last: %s\n", rc(shmdt(a)));
    printf("shm: IPC_STAT after the last detach: %s\n", rc(shmctl(id, IPC_STAT, &ds)));
    printf("shm: maps line after detach: %s\n", sysv_line());
    printf("shm: shmget size 0: %s\n", rc(shmget(IPC_PRIVATE, 0, 0600)));
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* Waits until n tasks sleep in semop on semaphore num to grow. */
static void wait_ncnt(int id, int num, int n)
{
    for (int i = 0; i < 10000 && semctl(id, num, GETNCNT) != n; i++)
        usleep(1000);
    CHECK(semctl(id, num, GETNCNT) == n);
}

static void test_sem(key_t key)
{
    int id = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    CHECK(id >= 0);
    printf("sem: semget again with IPC_EXCL: %s\n", rc(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600)));
    printf("sem: semget with more semaphores: %s\n", rc(semget(key, 3, 0)));
    printf("sem: semget by key finds it: %s\n", semget(key, 0, 0) == id ? "yes" : "no");
    union semun_arg arg = {.val = 1};
    CHECK(semctl(id, 1, SETVAL, arg) == 0);
    printf("sem: values %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));

    pid_t pid = fork_flushed();
    if (pid == 0) {
        struct sembuf down0 = {0, -1, 0}, lock1 = {1, -1, SEM_UNDO};
        if (semop(id, &down0, 1) < 0)
            _exit(2);
        if (semop(id, &lock1, 1) < 0)
            _exit(3);
        _exit(semctl(id, 1, GETVAL) == 0 ? 0 : 4); /* exits holding the lock */
    }
    wait_ncnt(id, 0, 1);
    printf("sem: the child sleeps in semop (ncnt 1)\n");
    struct sembuf up0 = {0, 1, 0};
    CHECK(semop(id, &up0, 1) == 0);
    printf("sem: child status %d\n", wait_child(pid));
    printf("sem: SEM_UNDO gave the lock back: value %d, last pid the child's: %s\n",
           semctl(id, 1, GETVAL), semctl(id, 1, GETPID) == pid ? "yes" : "no");

    struct sembuf nowait = {0, -1, IPC_NOWAIT};
    printf("sem: IPC_NOWAIT on 0: %s\n", rc(semop(id, &nowait, 1)));
    struct sembuf two[2] = {{1, -1, 0}, {0, -1, IPC_NOWAIT}};
    printf("sem: two ops, the second cannot: %s, value of 1 still %d\n", rc(semop(id, two, 2)),
           semctl(id, 1, GETVAL));
    struct sembuf zero = {1, 0, IPC_NOWAIT};
    printf("sem: wait-for-zero on 1 with IPC_NOWAIT: %s\n", rc(semop(id, &zero, 1)));
    struct timespec to = {0, 50 * 1000 * 1000};
    struct sembuf down = {0, -1, 0};
    double t0 = now_ms();
    printf("sem: semtimedop 50 ms: %s", rc(semtimedop(id, &down, 1, &to)));
    printf(", waited at least 40 ms: %s\n", now_ms() - t0 >= 40 ? "yes" : "no");
    struct sembuf badnum = {7, 1, 0};
    printf("sem: semaphore 7 of 2: %s\n", rc(semop(id, &badnum, 1)));
    unsigned short all[2] = {3, 4}, got[2] = {0, 0};
    arg.array = all;
    CHECK(semctl(id, 0, SETALL, arg) == 0);
    arg.array = got;
    CHECK(semctl(id, 0, GETALL, arg) == 0);
    printf("sem: SETALL/GETALL %u %u\n", got[0], got[1]);
    arg.val = 40000;
    printf("sem: SETVAL 40000: %s\n", rc(semctl(id, 0, SETVAL, arg)));
    struct semid_ds ds;
    arg.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0);
    printf("sem: IPC_STAT nsems %lu mode %o\n", (unsigned long)ds.sem_nsems,
           (unsigned)(ds.sem_perm.mode & 0777));

    /* A sleeper: a signal ends its semop with EINTR despite SA_RESTART, removal with
     * EIDRM. */
    arg.val = 0;
    CHECK(semctl(id, 0, SETVAL, arg) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid = fork_flushed();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        struct sembuf d = {0, -1, 0};
        int r1 = semop(id, &d, 1), e1 = errno;
        if (write(fds[1], "x", 1) != 1)
            _exit(5);
        int r2 = semop(id, &d, 1), e2 = errno;
        _exit(r1 == -1 && e1 == EINTR ? (r2 == -1 && e2 == EIDRM ? 0 : 6) : 7);
    }
    char c;
    wait_ncnt(id, 0, 1);
    CHECK(kill(pid, SIGUSR1) == 0);
    CHECK(read(fds[0], &c, 1) == 1);
    wait_ncnt(id, 0, 1);
    printf("sem: IPC_RMID with a sleeper: %s\n", rc(semctl(id, 0, IPC_RMID)));
    printf("sem: sleeper status %d (EINTR, then EIDRM)\n", wait_child(pid));
    printf("sem: GETVAL after IPC_RMID: %s\n", rc(semctl(id, 0, GETVAL)));
    close(fds[0]);
    close(fds[1]);
}

static void test_msg(void)
{
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(q >= 0);
    struct msgbuf64 m;
    static const struct {
        long type;
        const char *text;
    } sent[] = {{3, "three"}, {1, "one"}, {2, "two"}, {5, "five"}, {4, "four"}};
    pid_t pid = fork_flushed();
    if (pid == 0) {
        usleep(20000);
        for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
            struct msgbuf64 s = {.mtype = sent[i].type};
            strcpy(s.mtext, sent[i].text);
            if (msgsnd(q, &s, strlen(s.mtext) + 1, 0) < 0)
                _exit(2);
        }
        _exit(0);
    }
    ssize_t n = msgrcv(q, &m, sizeof(m.mtext), 0, 0);
    printf("msg: blocking msgrcv got type %ld \"%s\" (%zd bytes)\n", m.mtype, m.mtext, n);
    printf("msg: sender status %d\n", wait_child(pid));
    struct msqid_ds ds;
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    printf("msg: qnum %lu cbytes %lu qbytes %lu\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes);
    n = msgrcv(q, &m, sizeof(m.mtext), 2, 0);
    printf("msg: msgtyp 2: type %ld \"%s\"\n", m.mtype, m.mtext);
    n = msgrcv(q, &m, sizeof(m.mtext), -4, 0);
    printf("msg: msgtyp -4: type %ld \"%s\"\n", m.mtype, m.mtext);
    n = msgrcv(q, &m, sizeof(m.mtext), 4, MSG_EXCEPT);
    printf("msg: msgtyp 4 MSG_EXCEPT: type %ld \"%s\"\n", m.mtype, m.mtext);
    printf("msg: 2-byte buffer: %s\n", rc(msgrcv(q, &m, 2, 0, 0)));
    memset(m.mtext, 0, sizeof(m.mtext));
    n = msgrcv(q, &m, 2, 0, MSG_NOERROR);
    printf("msg: MSG_NOERROR: %zd bytes, type %ld \"%.2s\"\n", n, m.mtype, m.mtext);
    printf("msg: empty queue, IPC_NOWAIT: %s\n", rc(msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT)));
    printf("msg: mtype 0: %s\n", rc(msgsnd(q, &(struct msgbuf64){.mtype = 0}, 1, 0)));

    ds.msg_qbytes = 100;
    CHECK(msgctl(q, IPC_SET, &ds) == 0);
    m.mtype = 9;
    printf("msg: 64 bytes into 100: %s\n", rc(msgsnd(q, &m, 64, IPC_NOWAIT)));
    printf("msg: 64 more, IPC_NOWAIT: %s\n", rc(msgsnd(q, &m, 64, IPC_NOWAIT)));
    CHECK(msgrcv(q, &m, sizeof(m.mtext), 9, 0) == 64);

    /* A receiver blocked when the queue goes gets EIDRM. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid = fork_flushed();
    if (pid == 0) {
        struct msgbuf64 r;
        if (write(fds[1], "x", 1) != 1)
            _exit(5);
        ssize_t got = msgrcv(q, &r, sizeof(r.mtext), 0, 0);
        _exit(got == -1 && errno == EIDRM ? 0 : 6);
    }
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    usleep(100 * 1000);
    printf("msg: IPC_RMID with a receiver: %s\n", rc(msgctl(q, IPC_RMID, NULL)));
    printf("msg: receiver status %d (EIDRM)\n", wait_child(pid));
    printf("msg: msgsnd after IPC_RMID: %s\n", rc(msgsnd(q, &m, 1, 0)));
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    alarm(10);
    char dir[] = "/tmp/sysvipcXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof(path), "%s/key", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    key_t key = ftok(path, 'S');
    CHECK(key != -1);
    test_shm();
    test_sem(key);
    test_msg();
    unlink(path);
    rmdir(dir);
    printf("sysvipc: done\n");
    return 0;
}
