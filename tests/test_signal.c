/* Unit tests of signal generation and bookkeeping (src/proc/signal.c) and the signal syscalls
 * that need no CPU (syscalls/sys_signal.c through syscall_dispatch): discarding ignored
 * signals, merging, the delivery order, wake and restart decisions for sleepers, default
 * actions, sigsuspend's mask, exec's reset, ITIMER_REAL firing and reloading, kill/tgkill
 * targets and errors, rt_sigpending, rt_sigtimedwait, sigaltstack and itimer syscalls.
 * Processes have no CPU, so no handler frame is built here (tests/signal_e2e.py runs the
 * handlers); a handler without a CPU to run on ends the process with SIGSEGV. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/abi/linux.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/syscall.h"
#include "vmemu/uaccess.h"

#define BUF      0x10000000ULL /* two read-write pages */
#define WILD     0xdead0000ULL /* nothing mapped */
#define HANDLER  0x401000ULL   /* a handler address (never run) */
#define BIT(sig) (1ULL << ((sig)-1))

struct env {
    struct vmsys sys;       /* 16 MiB pool */
    struct sched s;         /* two processes: p (pid 1000) and q (pid 1001) */
    struct proc *p;         /* the caller */
    struct proc *q;         /* another process, in its own group */
    struct run_options opt; /* defaults */
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (e == NULL || vmsys_init(&e->sys, 16 << 20, 64, 4) < 0)
        return -1;
    sched_init(&e->s, &e->sys, NULL, &e->opt);
    if (proc_create(&e->sys, NULL, &e->opt, &e->p) < 0 || sched_add(&e->s, e->p) < 0 ||
        proc_create(&e->sys, NULL, &e->opt, &e->q) < 0 || sched_add(&e->s, e->q) < 0)
        return -1;
    e->q->pgid = e->q->pid;
    e->sys.current = e->p->mm;
    if (mm_map(e->p->mm, BUF, 2 * PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0) < 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    sched_destroy(&e->s);
    vmsys_destroy(&e->sys);
    free(e);
    return 0;
}

static long sc(struct env *e, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    const uint64_t args[6] = {a0, a1, a2, a3, 0, 0};
    return syscall_dispatch(e->p, nr, args);
}
#define NEG(x) ((uint64_t)(int64_t)(x))

static void set_handler(struct proc *p, int sig, uint64_t handler, uint64_t flags)
{
    p->sigact[sig - 1].handler = handler;
    p->sigact[sig - 1].flags = flags;
}

static void test_signal_send_ignored_unblocked_discarded(void **state)
{
    struct env *e = *state;
    signal_send(e->p, LINUX_SIGCHLD, NULL); /* SIG_DFL, default ignore */
    signal_send(e->p, LINUX_SIGWINCH, NULL);
    set_handler(e->p, LINUX_SIGUSR1, LINUX_SIG_IGN, 0);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    assert_int_equal(e->p->sigpending, 0);
}

static void test_signal_send_ignored_blocked_stays_pending(void **state)
{
    struct env *e = *state;
    e->p->sigmask = BIT(LINUX_SIGCHLD) | BIT(LINUX_SIGUSR1);
    set_handler(e->p, LINUX_SIGUSR1, LINUX_SIG_IGN, 0);
    signal_send(e->p, LINUX_SIGCHLD, NULL);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    assert_int_equal(e->p->sigpending, BIT(LINUX_SIGCHLD) | BIT(LINUX_SIGUSR1));
    assert_int_equal(signal_next(e->p), 0);
}

static void test_signal_send_second_instance_merged(void **state)
{
    struct env *e = *state;
    struct linux_siginfo a = {.si_code = LINUX_SI_USER}, b = {.si_code = LINUX_SI_TKILL};
    a.u.kill.pid = 5;
    b.u.kill.pid = 6;
    signal_send(e->p, LINUX_SIGTERM, &a);
    signal_send(e->p, LINUX_SIGTERM, &b);
    assert_int_equal(e->p->sigpending, BIT(LINUX_SIGTERM));
    assert_int_equal(e->p->siginfo[LINUX_SIGTERM - 1].si_signo, LINUX_SIGTERM);
    assert_int_equal(e->p->siginfo[LINUX_SIGTERM - 1].si_code, LINUX_SI_USER);
    assert_int_equal(e->p->siginfo[LINUX_SIGTERM - 1].u.kill.pid, 5);
}

static void test_signal_send_without_info_si_kernel(void **state)
{
    struct env *e = *state;
    e->p->siginfo[LINUX_SIGALRM - 1].u.kill.pid = 77; /* stale bytes are cleared */
    signal_send(e->p, LINUX_SIGALRM, NULL);
    assert_int_equal(e->p->siginfo[LINUX_SIGALRM - 1].si_code, LINUX_SI_KERNEL);
    assert_int_equal(e->p->siginfo[LINUX_SIGALRM - 1].u.kill.pid, 0);
}

static void test_signal_send_ended_process_dropped(void **state)
{
    struct env *e = *state;
    proc_exit(e->q, 0);
    signal_send(e->q, LINUX_SIGTERM, NULL);
    assert_int_equal(e->q->sigpending, 0);
}

static void test_signal_next_lowest_unblocked(void **state)
{
    struct env *e = *state;
    signal_send(e->p, LINUX_SIGTERM, NULL);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    signal_send(e->p, LINUX_SIGHUP, NULL);
    e->p->sigmask = BIT(LINUX_SIGHUP);
    assert_int_equal(signal_next(e->p), LINUX_SIGUSR1);
    e->p->sigmask = BIT(LINUX_SIGHUP) | BIT(LINUX_SIGUSR1) | BIT(LINUX_SIGTERM);
    assert_int_equal(signal_next(e->p), 0);
}

static void test_signal_wakes_deliverable_only(void **state)
{
    struct env *e = *state;
    struct proc *p = e->p;
    p->state = PROC_SLEEPING;
    p->wait.kind = WAIT_IO;
    p->sigmask = BIT(LINUX_SIGUSR1);
    signal_send(p, LINUX_SIGUSR1, NULL);
    assert_false(signal_wakes(p)); /* blocked */
    p->sigmask = 0;
    assert_true(signal_wakes(p)); /* default action: terminate */
    p->sigpending = 0;
    set_handler(p, LINUX_SIGUSR2, HANDLER, 0);
    signal_send(p, LINUX_SIGUSR2, NULL);
    assert_true(signal_wakes(p));
}

static void test_signal_wakes_sigtimedwait_set(void **state)
{
    struct env *e = *state;
    struct proc *p = e->p;
    p->sigmask = BIT(LINUX_SIGUSR1);
    signal_send(p, LINUX_SIGUSR1, NULL);
    p->state = PROC_SLEEPING;
    p->wait.kind = WAIT_SIGNAL;
    assert_false(signal_wakes(p));
    p->saved_sigmask = BIT(LINUX_SIGUSR1); /* rt_sigtimedwait's set */
    assert_true(signal_wakes(p));
    assert_true(signal_restarts(p)); /* it runs again to take the signal */
}

static void test_signal_restarts_sa_restart_only(void **state)
{
    struct env *e = *state;
    struct proc *p = e->p;
    p->wait.kind = WAIT_IO;
    p->wait.restartable = true;
    set_handler(p, LINUX_SIGUSR1, HANDLER, LINUX_SA_RESTORER | LINUX_SA_RESTART);
    signal_send(p, LINUX_SIGUSR1, NULL);
    assert_true(signal_restarts(p));
    p->sigact[LINUX_SIGUSR1 - 1].flags = LINUX_SA_RESTORER;
    assert_false(signal_restarts(p));
    p->sigact[LINUX_SIGUSR1 - 1].flags |= LINUX_SA_RESTART;
    p->wait.restartable = false; /* pause, rt_sigsuspend */
    assert_false(signal_restarts(p));
    p->wait.kind = WAIT_TIMER; /* nanosleep: ended by signal_deliver with -EINTR and rem */
    assert_true(signal_restarts(p));
}

static void test_signal_deliver_default_terminate(void **state)
{
    struct env *e = *state;
    signal_send(e->p, LINUX_SIGTERM, NULL);
    assert_true(signal_deliver(e->p));
    assert_true(e->p->exited);
    assert_int_equal(e->p->term_signal, LINUX_SIGTERM);
    assert_int_equal(proc_wait_status(e->p), 128 + LINUX_SIGTERM);
}

static void test_signal_deliver_stop_treated_as_terminate(void **state)
{
    struct env *e = *state;
    signal_send(e->p, LINUX_SIGTSTP, NULL);
    assert_true(signal_deliver(e->p));
    assert_int_equal(e->p->term_signal, LINUX_SIGTSTP);
}

static void test_signal_deliver_default_ignore_dropped(void **state)
{
    struct env *e = *state;
    e->p->sigmask = BIT(LINUX_SIGCHLD);
    signal_send(e->p, LINUX_SIGCHLD, NULL);
    e->p->sigmask = 0;
    assert_false(signal_deliver(e->p));
    assert_false(e->p->exited);
    assert_int_equal(e->p->sigpending, 0);
}

static void test_signal_deliver_no_handler_run_restores_suspend_mask(void **state)
{
    struct env *e = *state;
    struct proc *p = e->p;
    p->saved_sigmask = BIT(LINUX_SIGCHLD) | BIT(LINUX_SIGUSR2);
    p->restore_sigmask = true;
    p->sigmask = 0;
    p->sigpending = BIT(LINUX_SIGCHLD);
    assert_false(signal_deliver(p));
    assert_int_equal(p->sigmask, BIT(LINUX_SIGCHLD) | BIT(LINUX_SIGUSR2));
    assert_false(p->restore_sigmask);
}

static void test_signal_deliver_handler_without_frame_kills_segv(void **state)
{
    struct env *e = *state;
    set_handler(e->p, LINUX_SIGUSR1, HANDLER, LINUX_SA_RESTORER);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    assert_true(signal_deliver(e->p)); /* no CPU: the frame cannot be built */
    assert_int_equal(e->p->term_signal, LINUX_SIGSEGV);
}

static void test_signal_fault_default_action_not_taken(void **state)
{
    struct env *e = *state;
    assert_false(signal_fault(e->p, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, 0x1000));
    set_handler(e->p, LINUX_SIGSEGV, HANDLER, LINUX_SA_RESTORER);
    e->p->sigmask = BIT(LINUX_SIGSEGV);
    assert_false(signal_fault(e->p, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, 0x1000));
    assert_int_equal(e->p->sigpending, 0);
}

static void test_signal_default_core_set(void **state)
{
    (void)state;
    assert_true(signal_default_core(LINUX_SIGSEGV));
    assert_true(signal_default_core(LINUX_SIGABRT));
    assert_true(signal_default_core(LINUX_SIGXFSZ));
    assert_false(signal_default_core(LINUX_SIGTERM));
    assert_false(signal_default_core(LINUX_SIGKILL));
    assert_false(signal_default_core(LINUX_SIGALRM));
}

static void test_signal_exec_reset_caught_to_default(void **state)
{
    struct env *e = *state;
    struct proc *p = e->p;
    set_handler(p, LINUX_SIGUSR1, HANDLER, LINUX_SA_RESTORER | LINUX_SA_RESTART);
    p->sigact[LINUX_SIGUSR1 - 1].mask = BIT(LINUX_SIGUSR2);
    set_handler(p, LINUX_SIGUSR2, LINUX_SIG_IGN, 0);
    p->altstack.ss_sp = BUF;
    p->altstack.ss_size = 8192;
    p->sigmask = BIT(LINUX_SIGTERM);
    p->sigpending = BIT(LINUX_SIGTERM);
    signal_exec_reset(p);
    assert_int_equal(p->sigact[LINUX_SIGUSR1 - 1].handler, LINUX_SIG_DFL);
    assert_int_equal(p->sigact[LINUX_SIGUSR1 - 1].flags, 0);
    assert_int_equal(p->sigact[LINUX_SIGUSR1 - 1].mask, 0);
    assert_int_equal(p->sigact[LINUX_SIGUSR2 - 1].handler, LINUX_SIG_IGN);
    assert_int_equal(p->altstack.ss_size, 0);
    assert_int_equal(p->altstack.ss_flags, LINUX_SS_DISABLE);
    assert_int_equal(p->sigmask, BIT(LINUX_SIGTERM));
    assert_int_equal(p->sigpending, BIT(LINUX_SIGTERM));
}

static void test_signal_timers_fire_and_reload(void **state)
{
    struct env *e = *state;
    e->p->itimer_deadline_ns = 100;
    e->q->itimer_deadline_ns = 1000;
    e->q->itimer_interval_ns = 30;
    assert_int_equal(sched_timers(&e->s, 99), 100);
    assert_int_equal(e->p->sigpending, 0);
    assert_int_equal(sched_timers(&e->s, 100), 1000);
    assert_int_equal(e->p->sigpending, BIT(LINUX_SIGALRM));
    assert_int_equal(e->p->siginfo[LINUX_SIGALRM - 1].si_code, LINUX_SI_KERNEL);
    assert_int_equal(e->p->itimer_deadline_ns, 0);
    /* 1000 + 30k: the first period after 1065 is 1090; it fired once */
    assert_int_equal(sched_timers(&e->s, 1065), 1090);
    assert_int_equal(e->q->sigpending, BIT(LINUX_SIGALRM));
    assert_int_equal(e->q->itimer_deadline_ns, 1090);
    assert_int_equal(sched_timers(&e->s, 1089), 1090);
}

static void test_kill_targets_and_errors(void **state)
{
    struct env *e = *state;
    assert_int_equal(sc(e, NR_kill, (uint64_t)e->q->pid, LINUX_SIGTERM, 0, 0), 0);
    assert_int_equal(e->q->sigpending, BIT(LINUX_SIGTERM));
    assert_int_equal(e->q->siginfo[LINUX_SIGTERM - 1].si_code, LINUX_SI_USER);
    assert_int_equal(e->q->siginfo[LINUX_SIGTERM - 1].u.kill.pid, e->p->pid);
    assert_int_equal(sc(e, NR_kill, 4242, LINUX_SIGTERM, 0, 0), -ESRCH);
    assert_int_equal(sc(e, NR_kill, (uint64_t)e->q->pid, 65, 0, 0), -EINVAL);
    assert_int_equal(sc(e, NR_kill, (uint64_t)e->q->pid, NEG(-1), 0, 0), -EINVAL);
    assert_int_equal(sc(e, NR_kill, (uint64_t)e->p->pid, 0, 0, 0), 0);
    assert_int_equal(e->p->sigpending, 0);
    /* -pgid: q's group; 0: the caller's own group, which q is not in */
    assert_int_equal(sc(e, NR_kill, NEG(-e->q->pid), LINUX_SIGUSR1, 0, 0), 0);
    assert_int_equal(e->q->sigpending, BIT(LINUX_SIGTERM) | BIT(LINUX_SIGUSR1));
    assert_int_equal(sc(e, NR_kill, 0, LINUX_SIGUSR2, 0, 0), 0);
    assert_int_equal(e->p->sigpending, BIT(LINUX_SIGUSR2));
    assert_int_equal(e->q->sigpending & BIT(LINUX_SIGUSR2), 0);
    assert_int_equal(sc(e, NR_kill, NEG(-4242), LINUX_SIGUSR1, 0, 0), -ESRCH);
    /* -1: everyone but the caller and the first process (the caller here): nobody else
     * than q */
    assert_int_equal(sc(e, NR_kill, NEG(-1), LINUX_SIGHUP, 0, 0), 0);
    assert_int_equal(e->q->sigpending & BIT(LINUX_SIGHUP), BIT(LINUX_SIGHUP));
    assert_int_equal(e->p->sigpending & BIT(LINUX_SIGHUP), 0);
}

static void test_tgkill_checks_group(void **state)
{
    struct env *e = *state;
    assert_int_equal(sc(e, NR_tgkill, (uint64_t)e->p->pid, (uint64_t)e->q->pid, LINUX_SIGUSR1, 0),
                     -ESRCH);
    assert_int_equal(sc(e, NR_tgkill, 0, (uint64_t)e->q->pid, LINUX_SIGUSR1, 0), -EINVAL);
    assert_int_equal(sc(e, NR_tgkill, (uint64_t)e->q->pid, (uint64_t)e->q->pid, LINUX_SIGUSR1, 0),
                     0);
    assert_int_equal(e->q->siginfo[LINUX_SIGUSR1 - 1].si_code, LINUX_SI_TKILL);
    assert_int_equal(sc(e, NR_tkill, 0, LINUX_SIGUSR1, 0, 0), -EINVAL);
}

static void test_rt_sigpending_pending_and_blocked(void **state)
{
    struct env *e = *state;
    uint64_t got = 0;
    e->p->sigmask = BIT(LINUX_SIGUSR1) | BIT(LINUX_SIGUSR2);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    e->p->sigpending |= BIT(LINUX_SIGTERM); /* pending but not blocked: not reported */
    assert_int_equal(sc(e, NR_rt_sigpending, BUF, 8, 0, 0), 0);
    assert_int_equal(get_user_u64(e->p->mm, BUF, &got), 0);
    assert_int_equal(got, BIT(LINUX_SIGUSR1));
    assert_int_equal(sc(e, NR_rt_sigpending, BUF, 9, 0, 0), -EINVAL);
    assert_int_equal(sc(e, NR_rt_sigpending, WILD, 8, 0, 0), -EFAULT);
}

static void test_rt_sigtimedwait_takes_pending(void **state)
{
    struct env *e = *state;
    struct linux_siginfo si;
    struct linux_timespec zero = {0, 0};
    uint64_t set = BIT(LINUX_SIGUSR1);
    e->p->sigmask = set;
    assert_int_equal(put_user_u64(e->p->mm, BUF, set), 0);
    assert_int_equal(copy_to_user(e->p->mm, BUF + 16, &zero, sizeof(zero)), 0);
    assert_int_equal(sc(e, NR_rt_sigtimedwait, BUF, BUF + 64, BUF + 16, 8), -EAGAIN);
    assert_int_equal(sc(e, NR_kill, (uint64_t)e->p->pid, LINUX_SIGUSR1, 0, 0), 0);
    assert_int_equal(sc(e, NR_rt_sigtimedwait, BUF, BUF + 64, BUF + 16, 8), LINUX_SIGUSR1);
    assert_int_equal(copy_from_user(e->p->mm, &si, BUF + 64, sizeof(si)), 0);
    assert_int_equal(si.si_signo, LINUX_SIGUSR1);
    assert_int_equal(si.si_code, LINUX_SI_USER);
    assert_int_equal(si.u.kill.pid, e->p->pid);
    assert_int_equal(e->p->sigpending, 0);
    assert_int_equal(e->p->saved_sigmask, 0);
    assert_int_equal(sc(e, NR_rt_sigtimedwait, BUF, 0, BUF + 16, 4), -EINVAL);
}

static void test_rt_sigtimedwait_blocks_with_set(void **state)
{
    struct env *e = *state;
    uint64_t set = BIT(LINUX_SIGUSR1) | BIT(LINUX_SIGKILL);
    assert_int_equal(put_user_u64(e->p->mm, BUF, set), 0);
    assert_int_equal(sc(e, NR_rt_sigtimedwait, BUF, 0, 0, 8), -SCHED_EBLOCK);
    assert_int_equal(e->p->wait.kind, WAIT_SIGNAL);
    assert_int_equal(e->p->saved_sigmask, BIT(LINUX_SIGUSR1)); /* SIGKILL cannot be waited */
}

static void test_rt_sigsuspend_pending_returns_eintr(void **state)
{
    struct env *e = *state;
    e->p->sigmask = BIT(LINUX_SIGUSR1) | BIT(LINUX_SIGTERM);
    signal_send(e->p, LINUX_SIGUSR1, NULL);
    assert_int_equal(put_user_u64(e->p->mm, BUF, BIT(LINUX_SIGTERM)), 0);
    assert_int_equal(sc(e, NR_rt_sigsuspend, BUF, 8, 0, 0), -EINTR);
    assert_int_equal(e->p->sigmask, BIT(LINUX_SIGTERM));
    assert_true(e->p->restore_sigmask);
    assert_int_equal(e->p->saved_sigmask, BIT(LINUX_SIGUSR1) | BIT(LINUX_SIGTERM));
    /* nothing pending under the new mask: it sleeps */
    e->p->sigpending = 0;
    e->p->restore_sigmask = false;
    e->p->sigmask = 0;
    assert_int_equal(sc(e, NR_rt_sigsuspend, BUF, 8, 0, 0), -SCHED_EBLOCK);
    assert_int_equal(e->p->wait.kind, WAIT_SIGNAL);
    assert_int_equal(sc(e, NR_rt_sigsuspend, BUF, 16, 0, 0), -EINVAL);
}

static void test_sigaltstack_rules(void **state)
{
    struct env *e = *state;
    struct linux_stack ss = {.ss_sp = BUF, .ss_flags = 0, .ss_size = 1024}, old;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &ss, sizeof(ss)), 0);
    assert_int_equal(sc(e, NR_sigaltstack, BUF, BUF + 64, 0, 0), -ENOMEM);
    ss.ss_size = 8192;
    ss.ss_flags = 5;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &ss, sizeof(ss)), 0);
    assert_int_equal(sc(e, NR_sigaltstack, BUF, 0, 0, 0), -EINVAL);
    ss.ss_flags = (int32_t)LINUX_SS_AUTODISARM;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &ss, sizeof(ss)), 0);
    assert_int_equal(sc(e, NR_sigaltstack, BUF, BUF + 64, 0, 0), 0);
    assert_int_equal(copy_from_user(e->p->mm, &old, BUF + 64, sizeof(old)), 0);
    assert_int_equal(old.ss_flags, LINUX_SS_DISABLE); /* there was none */
    assert_int_equal(sc(e, NR_sigaltstack, 0, BUF + 64, 0, 0), 0);
    assert_int_equal(copy_from_user(e->p->mm, &old, BUF + 64, sizeof(old)), 0);
    assert_int_equal(old.ss_sp, BUF);
    assert_int_equal(old.ss_size, 8192);
    assert_int_equal((uint32_t)old.ss_flags, LINUX_SS_AUTODISARM);
    assert_int_equal(sc(e, NR_sigaltstack, WILD, 0, 0, 0), -EFAULT);
}

static void test_itimer_real_only(void **state)
{
    struct env *e = *state;
    struct linux_itimerval it = {.it_interval = {0, 500000}, .it_value = {2, 0}}, got;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &it, sizeof(it)), 0);
    assert_int_equal(sc(e, NR_setitimer, LINUX_ITIMER_REAL, BUF, BUF + 64, 0), 0);
    assert_int_equal(e->p->itimer_interval_ns, 500000000ULL);
    assert_int_not_equal(e->p->itimer_deadline_ns, 0);
    assert_int_equal(sc(e, NR_getitimer, LINUX_ITIMER_REAL, BUF + 64, 0, 0), 0);
    assert_int_equal(copy_from_user(e->p->mm, &got, BUF + 64, sizeof(got)), 0);
    assert_int_equal(got.it_interval.tv_usec, 500000);
    assert_true(got.it_value.tv_sec == 1 || got.it_value.tv_sec == 2);
    /* alarm: the 2 s left round to 2; alarm(0) disarms */
    assert_int_equal(sc(e, NR_alarm, 0, 0, 0, 0), 2);
    assert_int_equal(e->p->itimer_deadline_ns, 0);
    assert_int_equal(e->p->itimer_interval_ns, 0);
    assert_int_equal(sc(e, NR_alarm, 0, 0, 0, 0), 0);
    it.it_value.tv_usec = 1000000;
    assert_int_equal(copy_to_user(e->p->mm, BUF, &it, sizeof(it)), 0);
    assert_int_equal(sc(e, NR_setitimer, LINUX_ITIMER_REAL, BUF, 0, 0), -EINVAL);
    assert_int_equal(sc(e, NR_setitimer, 7, BUF, 0, 0), -EINVAL);
}

static void test_nanosleep_blocks_until_deadline(void **state)
{
    struct env *e = *state;
    struct linux_timespec ts = {5, 0};
    assert_int_equal(copy_to_user(e->p->mm, BUF, &ts, sizeof(ts)), 0);
    assert_int_equal(sc(e, NR_nanosleep, BUF, 0, 0, 0), -SCHED_EBLOCK);
    assert_int_equal(e->p->wait.kind, WAIT_TIMER);
    uint64_t deadline = e->p->wait.deadline_ns;
    /* woken early (re-executed): same deadline, sleeps again */
    e->p->retry = true;
    assert_int_equal(sc(e, NR_nanosleep, BUF, 0, 0, 0), -SCHED_EBLOCK);
    assert_int_equal(e->p->wait.deadline_ns, deadline);
    /* the deadline has passed: done */
    e->p->wait.deadline_ns = 1;
    assert_int_equal(sc(e, NR_nanosleep, BUF, 0, 0, 0), 0);
    e->p->retry = false;
    assert_int_equal(sc(e, NR_clock_nanosleep, 5, 0, BUF, 0), -EOPNOTSUPP); /* COARSE */
    assert_int_equal(sc(e, NR_clock_nanosleep, 3, 0, BUF, 0), -EINVAL);     /* THREAD_CPUTIME */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_signal_send_ignored_unblocked_discarded),
        T(test_signal_send_ignored_blocked_stays_pending),
        T(test_signal_send_second_instance_merged),
        T(test_signal_send_without_info_si_kernel),
        T(test_signal_send_ended_process_dropped),
        T(test_signal_next_lowest_unblocked),
        T(test_signal_wakes_deliverable_only),
        T(test_signal_wakes_sigtimedwait_set),
        T(test_signal_restarts_sa_restart_only),
        T(test_signal_deliver_default_terminate),
        T(test_signal_deliver_stop_treated_as_terminate),
        T(test_signal_deliver_default_ignore_dropped),
        T(test_signal_deliver_no_handler_run_restores_suspend_mask),
        T(test_signal_deliver_handler_without_frame_kills_segv),
        T(test_signal_fault_default_action_not_taken),
        T(test_signal_default_core_set),
        T(test_signal_exec_reset_caught_to_default),
        T(test_signal_timers_fire_and_reload),
        T(test_kill_targets_and_errors),
        T(test_tgkill_checks_group),
        T(test_rt_sigpending_pending_and_blocked),
        T(test_rt_sigtimedwait_takes_pending),
        T(test_rt_sigtimedwait_blocks_with_set),
        T(test_rt_sigsuspend_pending_returns_eintr),
        T(test_sigaltstack_rules),
        T(test_itimer_real_only),
        T(test_nanosleep_blocks_until_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
