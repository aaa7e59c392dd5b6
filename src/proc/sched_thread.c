/* Thread groups and futex wait queues in the scheduler: the end of one task of a group
 * (CLONE_CHILD_CLEARTID's write and wake, the robust futex list, a thread that is gone at
 * once, a leader that waits as a zombie for the rest of its group), exit_group and fatal
 * signals ending every task of the group, execve from a thread (the others end, the
 * leader's pid goes on), the thread a process-directed signal goes to,
 * the counters of a whole process, and the futex keys and wake-ups of syscalls/sys_futex.c
 * (which also serve the exit paths here). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/abi/linux.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/mmu.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"
#include "vmemu/vma.h"

#define FUTEX_WAITERS     0x80000000u
#define FUTEX_OWNER_DIED  0x40000000u
#define FUTEX_TID_MASK    0x3fffffffu
#define ROBUST_LIST_LIMIT 2048 /* entries walked at most (Linux's ROBUST_LIST_LIMIT) */
#define FUTEX_MATCH_ANY   0xffffffffu

/* The futex key of the 32-bit word at uaddr (see the header). */
int sched_futex_key(struct proc *p, gva_t uaddr, bool private_flag, struct proc_futex *key)
{
    memset(key, 0, sizeof(*key)); /* a plain waiter's: callers set bitset (and pi) */
    if (uaddr & 3)
        return -EINVAL;
    const struct vma *v = vma_find(&p->mm->vmas, uaddr);
    if (!v)
        return -EFAULT;
    key->space = p->mm;
    key->off = uaddr;
    if (private_flag || !(v->flags & VM_SHARED))
        return 0;
    pfn_t pfn;
    int rc = mmu_translate_user(p->mm, uaddr, ACCESS_READ, 0, &pfn);
    if (rc < 0)
        return rc;
    key->space = NULL;
    key->off = (uint64_t)pfn << PAGE_SHIFT | (uaddr & (PAGE_SIZE - 1));
    return 0;
}

/* Whether q sleeps on key, not yet picked, and a wake with bitset may pick it. */
static bool futex_waiter(const struct proc *q, const struct proc_futex *key, uint32_t bitset)
{
    return q->state == PROC_SLEEPING && q->wait.kind == WAIT_FUTEX && !q->wait.futex.woken &&
           q->wait.futex.space == key->space && q->wait.futex.off == key->off &&
           (q->wait.futex.bitset & bitset) != 0;
}

/* The waiter of key that has waited longest, or NULL. */
static struct proc *futex_first(struct sched *s, const struct proc_futex *key, uint32_t bitset)
{
    struct proc *first = NULL;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *q = s->procs[i];
        if (futex_waiter(q, key, bitset) && (!first || q->wait.futex.seq < first->wait.futex.seq))
            first = q;
    }
    return first;
}

/* Wakes up to nr waiters of key, in the order they began to wait (see the header). */
long sched_futex_wake(struct sched *s, const struct proc_futex *key, uint32_t bitset, long nr)
{
    long woken = 0;
    struct proc *q;
    while (s && woken < nr && (q = futex_first(s, key, bitset)) != NULL) {
        q->wait.futex.woken = true; /* the scheduler sees it on its next pass */
        woken++;
    }
    return woken;
}

/* The oldest FUTEX_LOCK_PI waiter of key, and whether others wait (see the header). */
struct proc *sched_futex_pi_next(struct sched *s, const struct proc_futex *key, bool *more)
{
    struct proc *first = NULL;
    size_t n = 0;
    for (size_t i = 0; s && i < s->nprocs; i++) {
        struct proc *q = s->procs[i];
        if (q->state != PROC_SLEEPING || q->wait.kind != WAIT_FUTEX || !q->wait.futex.pi ||
            q->wait.futex.woken || q->wait.futex.space != key->space ||
            q->wait.futex.off != key->off)
            continue;
        n++;
        if (!first || q->wait.futex.seq < first->wait.futex.seq)
            first = q;
    }
    *more = n > 1;
    return first;
}

/* Moves up to nr waiters of key to key2, oldest first (see the header). */
long sched_futex_requeue(struct sched *s, const struct proc_futex *key,
                         const struct proc_futex *key2, long nr)
{
    long moved = 0;
    struct proc *q;
    while (s && moved < nr && (q = futex_first(s, key, FUTEX_MATCH_ANY)) != NULL) {
        q->wait.futex.space = key2->space;
        q->wait.futex.off = key2->off;
        moved++;
    }
    return moved;
}

/* Wakes one waiter of the word at uaddr of p's address space, as the kernel does on a
 * task's exit (a shared key: the word may be in a MAP_SHARED mapping). */
static void futex_wake_one(struct proc *p, gva_t uaddr)
{
    struct proc_futex key;
    if (sched_futex_key(p, uaddr, false, &key) == 0)
        sched_futex_wake(p->sched, &key, FUTEX_MATCH_ANY, 1);
}

/* Linux's handle_futex_death: a lock word still owned by the dying task p gets
 * FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and one waiter is woken; a pending operation
 * on a free word wakes one too. Returns -1 when the word cannot be read. */
static int robust_death(struct proc *p, gva_t uaddr, bool pending)
{
    uint32_t val;
    if ((uaddr & 3) || copy_from_user(p->mm, &val, uaddr, sizeof(val)) < 0)
        return -1;
    if (pending && val == 0) {
        futex_wake_one(p, uaddr);
        return 0;
    }
    if ((val & FUTEX_TID_MASK) != (uint32_t)p->pid)
        return 0;
    /* A FUTEX_LOCK_PI waiter is handed the lock, marked FUTEX_OWNER_DIED (glibc's robust
     * PI mutex then returns EOWNERDEAD); a plain waiter is woken to take it itself. */
    struct proc_futex key;
    bool more = false;
    struct proc *next = NULL;
    if ((val & FUTEX_WAITERS) && sched_futex_key(p, uaddr, false, &key) == 0)
        next = sched_futex_pi_next(p->sched, &key, &more);
    uint32_t nv = next ? (uint32_t)next->pid | FUTEX_OWNER_DIED | (more ? FUTEX_WAITERS : 0)
                       : (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (put_user_u32(p->mm, uaddr, nv) < 0)
        return -1;
    if (next)
        next->wait.futex.woken = true;
    else if (val & FUTEX_WAITERS)
        futex_wake_one(p, uaddr);
    return 0;
}

/* Walks p's robust futex list (set_robust_list) as Linux's exit_robust_list does: the
 * entries, at most ROBUST_LIST_LIMIT of them, then the pending one. Bit 0 of an entry
 * pointer marks a PI futex, which is treated like the others. */
static void robust_list_exit(struct proc *p)
{
    struct {
        uint64_t next;        /* first entry, or the head itself */
        int64_t futex_offset; /* from an entry to its lock word */
        uint64_t pending;     /* entry being taken or released */
    } head;
    if (!p->robust_list || !p->mm || copy_from_user(p->mm, &head, p->robust_list, sizeof(head)) < 0)
        return;
    uint64_t entry = head.next;
    for (int n = 0; entry != p->robust_list && n < ROBUST_LIST_LIMIT; n++) {
        uint64_t next;
        gva_t e = entry & ~1ULL;
        if (copy_from_user(p->mm, &next, e, sizeof(next)) < 0)
            return;
        if (e != (head.pending & ~1ULL) && robust_death(p, e + (uint64_t)head.futex_offset, false))
            return;
        entry = next;
    }
    if (head.pending)
        robust_death(p, (head.pending & ~1ULL) + (uint64_t)head.futex_offset, true);
}

/* What a task leaves behind for others when it ends: the robust list, and with other
 * tasks still using the address space, the CLONE_CHILD_CLEARTID word (0, one waiter
 * woken: pthread_join and musl's thread-list lock wait on it). */
static void task_release(struct proc *p)
{
    robust_list_exit(p);
    if (p->clear_child_tid && p->mm && p->leader->nr_threads > 1 &&
        put_user_u32(p->mm, p->clear_child_tid, 0) == 0)
        futex_wake_one(p, p->clear_child_tid);
    p->clear_child_tid = 0;
}

/* Thread p (not its group's leader) is gone: its counters go to the leader's, and nobody
 * waits for it (PROC_DEAD at once, collected by the scheduler). */
static void thread_gone(struct proc *p)
{
    struct sched *s = p->sched;
    proc_freeze_usage(p);
    p->end_ns = now_ns();
    proc_usage_add(&p->leader->threads_usage, &p->usage);
    p->state = PROC_DEAD;
    p->reported = true;
    if (s) {
        s->reaped = true;
        s->nlive--;
    }
}

/* Ends every other task of p's group with p's status (see the header). */
void sched_group_kill(struct proc *p)
{
    struct sched *s = p->sched;
    struct proc *leader = p->leader;
    leader->group_exit = true;
    for (size_t i = 0; s && i < s->nprocs; i++) {
        struct proc *t = s->procs[i];
        if (t == p || t->leader != leader || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
            continue;
        t->exited = true;
        t->exit_code = p->exit_code;
        t->term_signal = p->term_signal;
        sched_exit(t);
    }
    if (leader != p) { /* the process's status is the group's (Linux's group_exit_code) */
        leader->exit_code = p->exit_code;
        leader->term_signal = p->term_signal;
    }
}

/* One task of a group ends (see the header). */
bool sched_task_end(struct proc *p)
{
    struct proc *leader = p->leader;
    struct sched *s = p->sched;
    if (s && leader->nr_threads > 1 && !p->thread_exit && !leader->group_exit)
        sched_group_kill(p);
    task_release(p);
    leader->nr_threads--;
    if (p != leader) { /* a thread is gone at once: nobody waits for it */
        free(p->wait.fds);
        memset(&p->wait, 0, sizeof(p->wait));
        p->mm = NULL;
        p->mm_borrowed = false;
        p->fds = NULL;
        p->fds_borrowed = false;
        thread_gone(p);
    } else if (leader->nr_threads > 0) {
        /* The leader waits, a zombie that its parent cannot reap yet, for its group. */
        free(p->wait.fds);
        memset(&p->wait, 0, sizeof(p->wait));
        p->state = PROC_ZOMBIE;
    }
    return leader->nr_threads == 0;
}

/* The leader takes over what exec gave thread p (see sched_exec_de_thread). */
static void exec_take_over(struct proc *leader, struct proc *p)
{
    struct sched *s = p->sched;
    const struct proc_observer *ob = p->opt ? p->opt->observer : NULL;
    if (leader->heap && ob)
        ob->release(leader->heap);
    leader->heap = p->heap;
    p->heap = NULL;
    if (leader->mm && !leader->mm_borrowed)
        mm_destroy(leader->mm); /* the old image: no task uses it any more */
    leader->mm = p->mm;
    leader->mm_borrowed = false;
    p->mm = NULL;
    char *exe = leader->exe, *cmdline = leader->cmdline, **argv = leader->argv;
    leader->exe = p->exe;
    leader->cmdline = p->cmdline;
    leader->argv = p->argv;
    p->exe = exe;
    p->cmdline = cmdline;
    p->argv = argv;
    memcpy(leader->comm, p->comm, sizeof(leader->comm));
    leader->exited = false;
    leader->exit_code = 0;
    leader->term_signal = 0;
    leader->thread_exit = false;
    leader->state = PROC_RUNNABLE;
    leader->nr_threads = 1;
    leader->sigmask = p->sigmask;
    for (int sig = 1; sig <= PROC_NSIG; sig++) {
        uint64_t bit = 1ULL << (sig - 1);
        if ((p->sigpending & bit) && !(leader->sigpending & bit))
            leader->siginfo[sig - 1] = p->siginfo[sig - 1];
    }
    leader->sigpending |= p->sigpending;
    leader->trap = p->trap;
    /* p is gone: the CPU already holds the new program's registers, which are now the
     * leader's (it runs next without a switch). */
    p->exited = true;
    thread_gone(p);
    if (s) {
        if (s->current == p) {
            s->current = leader;
            s->sys->charge = &leader->vmstat;
        }
    }
}

/* execve succeeded in p: the other tasks of its group end (see the header). */
struct proc *sched_exec_de_thread(struct proc *p)
{
    struct sched *s = p->sched;
    struct proc *leader = p->leader;
    bool alone = !s || leader->nr_threads <= 1;
    for (size_t i = 0; !alone && i < s->nprocs; i++) {
        struct proc *t = s->procs[i];
        if (t == p || t->leader != leader || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
            continue;
        t->exited = true;
        t->thread_exit = true;
        sched_exit(t);
    }
    /* The old image, which the threads ended in (their clear_child_tid, their robust
     * lists), when p owned it. */
    mm_destroy(p->mm_exec_old);
    p->mm_exec_old = NULL;
    if (alone || p == leader)
        return p;
    exec_take_over(leader, p);
    return leader;
}

/* The task of leader's group that a process-directed signal goes to (see the header). */
struct proc *sched_signal_target(struct proc *leader, int sig)
{
    struct sched *s = leader->sched;
    uint64_t bit = 1ULL << (sig - 1);
    bool leader_alive =
        !leader->exited && leader->state != PROC_ZOMBIE && leader->state != PROC_DEAD;
    if ((leader_alive && !(leader->sigmask & bit)) || !s || leader->nr_threads <= 1)
        return leader;
    struct proc *any = leader_alive ? leader : NULL;
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *t = s->procs[i];
        if (t->leader != leader || t->exited || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
            continue;
        if (!(t->sigmask & bit))
            return t;
        if (!any)
            any = t;
    }
    return any ? any : leader;
}

/* Sends a process-directed signal to leader's group (see the header). */
void sched_signal_process(struct proc *leader, int sig, const struct linux_siginfo *info)
{
    if (sig >= 1 && sig <= PROC_NSIG)
        signal_send(sched_signal_target(leader->leader, sig), sig, info);
}

/* The counters of p's whole process (see the header). */
struct proc_usage sched_process_usage(const struct proc *p)
{
    const struct proc *leader = p->leader;
    struct proc_usage u = proc_usage_now(leader);
    if (leader->nr_threads == 0)
        return u; /* frozen at the group's end, threads included */
    proc_usage_add(&u, &leader->threads_usage);
    const struct sched *s = leader->sched;
    for (size_t i = 0; s && i < s->nprocs; i++) {
        const struct proc *t = s->procs[i];
        if (t->leader != leader || t == leader || t->state == PROC_DEAD)
            continue;
        struct proc_usage tu = proc_usage_now(t);
        memset(&tu.mm, 0, sizeof(tu.mm)); /* the address space is counted once */
        proc_usage_add(&u, &tu);
    }
    return u;
}
