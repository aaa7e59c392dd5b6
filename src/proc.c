/* Processes: creation with an empty address space, the standard descriptors and Linux's
 * default limits; ending them with an exit code or a signal; the shell-style status.
 * Called by the front end, the kernel loop (run.c) and the process syscalls. */
#include "vmemu/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "vmemu/util.h"

#define PROC_FIRST_PID 1000

static void proc_default_limits(struct proc *p)
{
    for (int i = 0; i < PROC_NRLIMIT; i++) {
        p->rlim[i].cur = RLIM_INFINITY;
        p->rlim[i].max = RLIM_INFINITY;
    }
    p->rlim[RLIMIT_STACK].cur = MM_STACK_LIMIT;
    p->rlim[RLIMIT_NOFILE].cur = FD_MAX;
    p->rlim[RLIMIT_NOFILE].max = FD_MAX;
    p->rlim[RLIMIT_CORE].cur = 0;
    p->rlim[RLIMIT_NPROC].cur = 4096;
    p->rlim[RLIMIT_NPROC].max = 4096;
    p->rlim[RLIMIT_MEMLOCK].cur = 8ULL << 20;
    p->rlim[RLIMIT_MEMLOCK].max = 8ULL << 20;
    p->rlim[RLIMIT_SIGPENDING].cur = 4096;
    p->rlim[RLIMIT_SIGPENDING].max = 4096;
    p->rlim[RLIMIT_MSGQUEUE].cur = 819200;
    p->rlim[RLIMIT_MSGQUEUE].max = 819200;
    p->rlim[RLIMIT_NICE].cur = 0;
    p->rlim[RLIMIT_NICE].max = 0;
    p->rlim[RLIMIT_RTPRIO].cur = 0;
    p->rlim[RLIMIT_RTPRIO].max = 0;
}

/* A new process with an empty address space and descriptors 0-2. cpu may be NULL (unit
 * tests of code that does not run guest instructions). Returns 0 or -errno. */
int proc_create(struct vmsys *sys, struct cpu *cpu, const struct run_options *opt,
                struct proc **out)
{
    struct proc *p = calloc(1, sizeof(*p));
    int rc = -ENOMEM;
    if (!p)
        return -ENOMEM;
    p->pid = PROC_FIRST_PID;
    p->ppid = 1;
    p->sys = sys;
    p->cpu = cpu;
    p->opt = opt;
    p->start_ns = now_ns();
    proc_default_limits(p);
    if ((rc = mm_create(sys, &p->mm)) < 0)
        goto err;
    p->fds = malloc(sizeof(*p->fds));
    if (!p->fds) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = fd_table_init(p->fds)) < 0) {
        free(p->fds);
        p->fds = NULL;
        goto err;
    }
    *out = p;
    return 0;
err:
    proc_destroy(p);
    return rc;
}

/* Frees a NULL-terminated argv copy. */
void proc_free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Releases the process: descriptors, address space and names. */
void proc_destroy(struct proc *p)
{
    if (!p)
        return;
    if (p->fds) {
        fd_table_destroy(p->fds);
        free(p->fds);
    }
    mm_destroy(p->mm);
    free(p->exe);
    free(p->cmdline);
    proc_free_argv(p->argv);
    free(p);
}

/* Ends p with an exit code (the low 8 bits count, as for exit_group). */
void proc_exit(struct proc *p, int code)
{
    p->exited = true;
    p->exit_code = code & 0xff;
    p->term_signal = 0;
}

/* Ends p with a signal. */
void proc_kill(struct proc *p, int signo)
{
    p->exited = true;
    p->exit_code = 0;
    p->term_signal = signo;
}

/* The status a shell shows: the exit code, or 128 + the signal. */
int proc_wait_status(const struct proc *p)
{
    return p->term_signal ? 128 + p->term_signal : p->exit_code;
}
