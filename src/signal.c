/* Signal generation and delivery (placeholder: being written). */
#include "vmemu/signal.h"

#include "vmemu/sched.h"

void signal_send(struct proc *p, int sig, const struct linux_siginfo *info)
{
    (void)info;
    p->sigpending |= 1ULL << (sig - 1);
}

int signal_next(const struct proc *p)
{
    uint64_t d = p->sigpending & ~p->sigmask;
    return d ? __builtin_ctzll(d) + 1 : 0;
}

bool signal_wakes(const struct proc *p)
{
    (void)p;
    return false;
}

bool signal_restarts(const struct proc *p)
{
    (void)p;
    return false;
}

bool signal_deliver(struct proc *p)
{
    (void)p;
    return false;
}

bool signal_fault(struct proc *p, int sig, int code, uint64_t addr)
{
    (void)p, (void)sig, (void)code, (void)addr;
    return false;
}

bool signal_default_core(int sig)
{
    return sig == 11 || sig == 7 || sig == 4 || sig == 8 || sig == 6 || sig == 3 || sig == 5 ||
           sig == 31 || sig == 24 || sig == 25;
}

void signal_exec_reset(struct proc *p)
{
    (void)p;
}

uint64_t signal_timers(struct sched *s, uint64_t now_ns)
{
    (void)s, (void)now_ns;
    return 0;
}
