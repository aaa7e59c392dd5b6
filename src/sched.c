/* placeholder: being written */
#include "vmemu/sched.h"

#include <errno.h>
#include <stdlib.h>

#include "vmemu/util.h"

int sched_init(struct sched *s, struct vmsys *sys, struct cpu *cpu, const struct run_options *opt)
{
    *s = (struct sched){.sys = sys, .cpu = cpu, .opt = opt, .next_pid = 1000};
    return 0;
}
void sched_destroy(struct sched *s)
{
    (void)s;
}
int sched_add(struct sched *s, struct proc *p)
{
    (void)s, (void)p;
    return -ENOSYS;
}
struct proc *sched_find(const struct sched *s, int pid)
{
    (void)s, (void)pid;
    return NULL;
}
size_t sched_nr_live(const struct sched *s)
{
    (void)s;
    return 1;
}
long sched_block_io(struct proc *p, const struct proc_wait_fd *fds, size_t nfds,
                    uint64_t deadline_ns, bool restartable)
{
    (void)p, (void)fds, (void)nfds, (void)deadline_ns, (void)restartable;
    return -SCHED_EBLOCK;
}
long sched_block_child(struct proc *p)
{
    (void)p;
    return -SCHED_EBLOCK;
}
long sched_block_signal(struct proc *p)
{
    (void)p;
    return -SCHED_EBLOCK;
}
long sched_block_timer(struct proc *p, uint64_t deadline_ns)
{
    (void)p, (void)deadline_ns;
    return -SCHED_EBLOCK;
}
uint64_t sched_deadline(const struct proc *p, uint64_t rel_ns)
{
    return p->retry ? p->wait.deadline_ns : now_ns() + rel_ns;
}
void sched_exit(struct proc *p)
{
    (void)p;
}
void sched_reap(struct proc *p)
{
    p->state = PROC_DEAD;
}
