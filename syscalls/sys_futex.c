/* futex: Linux's kernel/futex/ operations, on the wait queues of the scheduler
 * (src/proc/sched_thread.c: keys, wake order). Threads use it for every lock, condition
 * variable and join; processes sharing a MAP_SHARED page for process-shared mutexes,
 * semaphores and barriers. A waiter sleeps in vmemu's scheduler
 * (WAIT_FUTEX) until a FUTEX_WAKE picks it, its timeout passes or a signal comes. Supported:
 * WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE, WAKE_OP, LOCK_PI, LOCK_PI2,
 * TRYLOCK_PI and UNLOCK_PI, with FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME; the
 * requeue-PI operations return -ENOSYS (reported once). Called by syscalls/dispatch.c. */
#include <stdio.h>
#include <time.h>

#include "sysdefs.h"
#include "vmemu/warn_once.h"
#include "vmemu/mmu.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"
#include "vmemu/vma.h"

#define FUTEX_WAIT             0
#define FUTEX_WAKE             1
#define FUTEX_REQUEUE          3
#define FUTEX_CMP_REQUEUE      4
#define FUTEX_WAKE_OP          5
#define FUTEX_WAIT_BITSET      9
#define FUTEX_WAKE_BITSET      10
#define FUTEX_PRIVATE_FLAG     128
#define FUTEX_CLOCK_REALTIME   256
#define FUTEX_CMD_MASK         (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_NSEC_PER_SEC     1000000000ULL
#define FUTEX_MAX_NS           (1ULL << 62) /* longest timeout computed with (146 years) */

/* FUTEX_WAKE_OP's encoded operation (Linux's FUTEX_OP): op, cmp, oparg, cmparg. */
#define FUTEX_OP_SET         0
#define FUTEX_OP_ADD         1
#define FUTEX_OP_OR          2
#define FUTEX_OP_ANDN        3
#define FUTEX_OP_XOR         4
#define FUTEX_OP_OPARG_SHIFT 8 /* oparg is 1 << oparg */

/* The relative timeout of a wait in ns, from the guest's timespec at uts (0: none, then
 * *rel is 0). FUTEX_WAIT's is relative; FUTEX_WAIT_BITSET's is an absolute time on
 * CLOCK_MONOTONIC, or CLOCK_REALTIME with the flag. Returns 1 with a timeout, 0 without,
 * -EFAULT or -EINVAL. */
static int futex_timeout(struct proc *p, gva_t uts, bool absolute, bool realtime, uint64_t *rel)
{
    struct linux_timespec ts;
    *rel = 0;
    if (uts == 0)
        return 0;
    if (copy_from_user(p->mm, &ts, uts, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || (uint64_t)ts.tv_nsec >= FUTEX_NSEC_PER_SEC)
        return -EINVAL;
    uint64_t ns = (uint64_t)ts.tv_sec >= FUTEX_MAX_NS / FUTEX_NSEC_PER_SEC
                      ? FUTEX_MAX_NS
                      : (uint64_t)ts.tv_sec * FUTEX_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
    if (absolute) {
        struct timespec now;
        sched_clock_read(p->sched, p, realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
        uint64_t cur = (uint64_t)now.tv_sec * FUTEX_NSEC_PER_SEC + (uint64_t)now.tv_nsec;
        ns = ns > cur ? ns - cur : 0;
    }
    *rel = ns;
    return 1;
}

/* FUTEX_WAIT(_BITSET): sleeps while the word at uaddr holds val. A re-execution after the
 * sleep returns 0 when a wake picked this process, -ETIMEDOUT once the deadline passed;
 * a signal ends it with -EINTR unless SA_RESTART restarts it (src/proc/sched.c). */
static long futex_wait(struct proc *p, gva_t uaddr, uint32_t val, gva_t uts, bool absolute,
                       bool realtime, bool private_flag, uint32_t bitset)
{
    if (bitset == 0)
        return -EINVAL;
    if (p->retry && p->wait.kind == WAIT_FUTEX && p->wait.futex.woken)
        return 0;
    uint64_t rel;
    int timed = futex_timeout(p, uts, absolute, realtime, &rel);
    if (timed < 0)
        return timed;
    struct proc_futex key;
    int rc = sched_futex_key(p, uaddr, private_flag, &key);
    if (rc < 0)
        return rc;
    uint32_t cur;
    if (copy_from_user(p->mm, &cur, uaddr, sizeof(cur)) < 0)
        return -EFAULT;
    if (cur != val)
        return -EAGAIN;
    uint64_t deadline = 0;
    if (timed) {
        deadline = sched_deadline(p, rel);
        if (sched_now(p->sched) >= deadline)
            return -ETIMEDOUT;
    }
    key.bitset = bitset;
    key.woken = false;
    return sched_block_futex(p, &key, deadline);
}

/* Applies FUTEX_WAKE_OP's operation to the word at uaddr2 and returns whether its
 * comparison (on the old value) holds, or -EFAULT / -ENOSYS for an unknown op or cmp. */
static long futex_wake_op_apply(struct proc *p, gva_t uaddr2, uint32_t encoded)
{
    unsigned op = (encoded >> 28) & 0xf, cmp = (encoded >> 24) & 0xf;
    uint32_t oparg = (encoded >> 12) & 0xfff, cmparg = encoded & 0xfff;
    /* oparg and cmparg are 12-bit signed fields */
    int32_t soparg = (int32_t)(oparg << 20) >> 20, scmparg = (int32_t)(cmparg << 20) >> 20;
    if (op & FUTEX_OP_OPARG_SHIFT) {
        if ((uint32_t)soparg > 31)
            soparg &= 31; /* Linux warns and masks */
        soparg = (int32_t)(1u << soparg);
        op &= ~(unsigned)FUTEX_OP_OPARG_SHIFT;
    }
    if (op > FUTEX_OP_XOR || cmp > 5)
        return -ENOSYS;
    uint32_t old;
    if ((uaddr2 & 3) != 0)
        return -EINVAL;
    if (copy_from_user(p->mm, &old, uaddr2, sizeof(old)) < 0)
        return -EFAULT;
    uint32_t arg = (uint32_t)soparg, nv = old;
    switch (op) {
    case FUTEX_OP_SET:
        nv = arg;
        break;
    case FUTEX_OP_ADD:
        nv = old + arg;
        break;
    case FUTEX_OP_OR:
        nv = old | arg;
        break;
    case FUTEX_OP_ANDN:
        nv = old & ~arg;
        break;
    default:
        nv = old ^ arg;
        break;
    }
    if (put_user_u32(p->mm, uaddr2, nv) < 0)
        return -EFAULT;
    int32_t o = (int32_t)old;
    switch (cmp) {
    case 0:
        return o == scmparg;
    case 1:
        return o != scmparg;
    case 2:
        return o < scmparg;
    case 3:
        return o <= scmparg;
    case 4:
        return o > scmparg;
    default:
        return o >= scmparg;
    }
}

#define FUTEX_LOCK_PI    6
#define FUTEX_UNLOCK_PI  7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_LOCK_PI2   13
#define FUTEX_WAITERS    0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK   0x3fffffffu

/* FUTEX_LOCK_PI, LOCK_PI2 and TRYLOCK_PI: the lock word holds the owner's tid. A free word
 * (no tid; FUTEX_OWNER_DIED is kept) is taken at once; otherwise the caller sets
 * FUTEX_WAITERS and sleeps until FUTEX_UNLOCK_PI hands it the lock (its tid written into
 * the word), its timeout passes (absolute, CLOCK_REALTIME for LOCK_PI, CLOCK_MONOTONIC
 * for LOCK_PI2 unless FUTEX_CLOCK_REALTIME) or a signal. One task runs at a time and
 * vmemu has no priorities, so there is nothing to inherit: what remains is the handoff. */
static long futex_lock_pi(struct proc *p, gva_t uaddr, gva_t uts, bool private_flag, bool trylock,
                          bool realtime)
{
    if (p->retry && p->wait.kind == WAIT_FUTEX && p->wait.futex.woken)
        return 0; /* the unlocker wrote our tid */
    struct proc_futex key;
    uint32_t cur, tid = (uint32_t)p->pid;
    int rc = sched_futex_key(p, uaddr, private_flag, &key);
    if (rc < 0)
        return rc;
    if (copy_from_user(p->mm, &cur, uaddr, sizeof(cur)) < 0)
        return -EFAULT;
    if ((cur & FUTEX_TID_MASK) == tid)
        return -EDEADLK;
    if ((cur & FUTEX_TID_MASK) == 0) {
        bool more;
        uint32_t waiters = sched_futex_pi_next(p->sched, &key, &more) ? FUTEX_WAITERS : 0;
        return put_user_u32(p->mm, uaddr, tid | (cur & FUTEX_OWNER_DIED) | waiters) < 0 ? -EFAULT
                                                                                        : 0;
    }
    if (trylock)
        return -EAGAIN;
    uint64_t rel;
    int timed = futex_timeout(p, uts, true, realtime, &rel);
    if (timed < 0)
        return timed;
    uint64_t deadline = 0;
    if (timed) {
        deadline = sched_deadline(p, rel);
        if (sched_now(p->sched) >= deadline)
            return -ETIMEDOUT;
    }
    if (!(cur & FUTEX_WAITERS) && put_user_u32(p->mm, uaddr, cur | FUTEX_WAITERS) < 0)
        return -EFAULT;
    key.bitset = 0;
    key.pi = true;
    key.woken = false;
    return sched_block_futex(p, &key, deadline);
}

/* FUTEX_UNLOCK_PI: the owner gives the lock to the waiter that has waited longest (its tid
 * in the word, FUTEX_WAITERS kept when others wait), or frees the word. */
static long futex_unlock_pi(struct proc *p, gva_t uaddr, bool private_flag)
{
    struct proc_futex key;
    uint32_t cur;
    bool more;
    int rc = sched_futex_key(p, uaddr, private_flag, &key);
    if (rc < 0)
        return rc;
    if (copy_from_user(p->mm, &cur, uaddr, sizeof(cur)) < 0)
        return -EFAULT;
    if ((cur & FUTEX_TID_MASK) != (uint32_t)p->pid)
        return -EPERM;
    struct proc *next = sched_futex_pi_next(p->sched, &key, &more);
    uint32_t nv = next ? (uint32_t)next->pid | (more ? FUTEX_WAITERS : 0) : 0;
    if (put_user_u32(p->mm, uaddr, nv) < 0)
        return -EFAULT;
    if (next)
        next->wait.futex.woken = true;
    return 0;
}

/* Reports an operation vmemu does not have once, as the dispatcher does for syscalls. */
static long futex_unsupported(int cmd)
{
    static struct warn_once reported;
    if (warn_once(&reported, 0))
        fprintf(stderr,
                "vmemu: unimplemented futex operation %d (priority inheritance or "
                "other), returning -ENOSYS\n",
                cmd);
    return -ENOSYS;
}

/* futex(uaddr, op, val, timeout or val2, uaddr2, val3). */
SYSCALL_DEFINE6(futex, gva_t, uaddr, int, op, uint32_t, val, gva_t, uts, gva_t, uaddr2, uint32_t,
                val3)
{
    int cmd = op & FUTEX_CMD_MASK;
    bool private_flag = (op & FUTEX_PRIVATE_FLAG) != 0;
    bool realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
    if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI2)
        return -ENOSYS; /* Linux's rule */
    struct proc_futex key, key2;
    long rc, n;
    switch (cmd) {
    case FUTEX_WAIT:
        return futex_wait(p, uaddr, val, uts, false, realtime, private_flag,
                          FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAIT_BITSET:
        return futex_wait(p, uaddr, val, uts, true, realtime, private_flag, val3);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
        if (bitset == 0)
            return -EINVAL;
        if ((rc = sched_futex_key(p, uaddr, private_flag, &key)) < 0)
            return rc;
        return sched_futex_wake(p->sched, &key, bitset, (int32_t)val < 0 ? INT32_MAX : (long)val);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        long nr_requeue = (long)(int32_t)(uint32_t)uts; /* val2 travels in the timeout slot */
        if ((int32_t)val < 0 || nr_requeue < 0)
            return -EINVAL;
        if ((rc = sched_futex_key(p, uaddr, private_flag, &key)) < 0 ||
            (rc = sched_futex_key(p, uaddr2, private_flag, &key2)) < 0)
            return rc;
        if (cmd == FUTEX_CMP_REQUEUE) {
            uint32_t cur;
            if (copy_from_user(p->mm, &cur, uaddr, sizeof(cur)) < 0)
                return -EFAULT;
            if (cur != val3)
                return -EAGAIN;
        }
        n = sched_futex_wake(p->sched, &key, FUTEX_BITSET_MATCH_ANY, (long)val);
        return n + sched_futex_requeue(p->sched, &key, &key2, nr_requeue);
    }
    case FUTEX_WAKE_OP: {
        long nr2 = (long)(int32_t)(uint32_t)uts;
        if ((rc = sched_futex_key(p, uaddr, private_flag, &key)) < 0 ||
            (rc = sched_futex_key(p, uaddr2, private_flag, &key2)) < 0)
            return rc;
        long hit = futex_wake_op_apply(p, uaddr2, val3);
        if (hit < 0)
            return hit;
        n = sched_futex_wake(p->sched, &key, FUTEX_BITSET_MATCH_ANY,
                             (int32_t)val < 0 ? 0 : (long)val);
        if (hit)
            n += sched_futex_wake(p->sched, &key2, FUTEX_BITSET_MATCH_ANY, nr2 < 0 ? 0 : nr2);
        return n;
    }
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI:
        return futex_lock_pi(p, uaddr, uts, private_flag, cmd == FUTEX_TRYLOCK_PI,
                             cmd == FUTEX_LOCK_PI || realtime);
    case FUTEX_UNLOCK_PI:
        return futex_unlock_pi(p, uaddr, private_flag);
    default:
        return futex_unsupported(cmd);
    }
}
