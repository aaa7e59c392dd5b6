/* Processes: creation with an empty address space, the standard descriptors and Linux's
 * default limits, or as a fork copy of another; ending them with an exit code or a
 * signal; the shell-style and Linux status words; counters kept after the end.
 * Called by the front end, the scheduler, the kernel loop (src/kernel/) and the process
 * syscalls. */
#include "vmemu/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/loader.h"
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
    p->leader = p;
    p->nr_threads = 1;
    p->trap.nr = -1;
    p->ppid = 1;
    p->pgid = PROC_FIRST_PID;
    p->sid = PROC_FIRST_PID;
    p->exit_signal = LINUX_SIGCHLD;
    p->sys = sys;
    p->cpu = cpu;
    p->opt = opt;
    p->start_ns = now_ns();
    p->cwd_fd = -1;
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

static char **copy_args(char *const argv[])
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **copy = calloc(n + 1, sizeof(*copy));
    for (size_t i = 0; copy && i < n; i++) {
        if (!(copy[i] = strdup(argv[i]))) {
            proc_free_argv(copy);
            return NULL;
        }
    }
    return copy;
}

static char *join_args(char *const argv[])
{
    size_t len = 1;
    for (int i = 0; argv[i]; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *d = s;
    if (!s)
        return NULL;
    *d = '\0';
    for (int i = 0; argv[i]; i++) {
        if (i)
            *d++ = ' ';
        size_t n = strlen(argv[i]);
        memcpy(d, argv[i], n);
        d += n;
    }
    *d = '\0';
    return s;
}

/* The run's debugging tool (--check heap), or NULL. */
static const struct proc_observer *proc_observer(const struct proc *p)
{
    return p->opt ? p->opt->observer : NULL;
}

/* Frees the observer's state of p. */
static void proc_release_observed(struct proc *p)
{
    if (p->heap && proc_observer(p))
        proc_observer(p)->release(p->heap);
    p->heap = NULL;
}

/* Loads the program at path into a new address space for p; only when that worked does
 * it replace the old one (whose frames are released and whose code translations die with
 * them). On failure writes one line into err and returns -errno; p is unchanged. */
int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], char *err,
              size_t errlen)
{
    struct exec_image img = {0};
    struct mm *mm;
    gva_t sp;
    int rc = mm_create(p->sys, &mm);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    mm->stack_limit = p->rlim[RLIMIT_STACK].cur;
    /* Building the image faults pages in (the argument pages, the stack tables, padzero's
     * page): the exec class of the task that execs, the first program's included, as
     * Linux's min_flt counts them (see the README). */
    struct task_vm_stats *charge = p->sys->charge, built = {0};
    p->sys->charge = &built;
    rc = exec_load(mm, path, &img, err, errlen);
    if (rc == 0 && (rc = stack_setup(mm, &img, path, argv, envp, &sp)) < 0)
        snprintf(err, errlen, "%s: cannot set up the stack: %s", path, strerror(-rc));
    p->sys->charge = charge;
    /* Counted even when the exec fails past them, as the kernel's faults were taken. */
    struct fault_stats *f = &p->vmstat.faults;
    f->exec += built.faults.minor + built.faults.major;
    f->exec_major += built.faults.major;
    f->exec_args += img.arg_pages < built.faults.minor + built.faults.major
                        ? img.arg_pages
                        : built.faults.minor + built.faults.major;
    if (rc < 0) {
        mm_destroy(mm);
        return rc;
    }
    char *exe = realpath(path, NULL);
    if (!exe)
        exe = strdup(path);
    char *cmdline = join_args(argv);
    char **copy = copy_args(argv);
    if (!exe || !cmdline || !copy) {
        free(exe);
        free(cmdline);
        proc_free_argv(copy);
        mm_destroy(mm);
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        return -ENOMEM;
    }
    void *heap = NULL;
    const struct proc_observer *ob = proc_observer(p);
    if (ob)
        rc = ob->exec(p, mm, exe, &heap, err, errlen);
    if (rc == -ENOEXEC && p->exe) {
        /* A checked program that execs a stripped one (busybox): that one runs unchecked,
         * as Valgrind runs a child it cannot instrument; only the first program must
         * have symbols. */
        fprintf(stderr, "vmemu: heap: %s: runs unchecked\n", err);
        err[0] = '\0';
        rc = 0;
    }
    if (rc < 0) {
        free(exe);
        free(cmdline);
        proc_free_argv(copy);
        mm_destroy(mm);
        return rc;
    }
    proc_release_observed(p);
    p->heap = heap;
    free(p->exe);
    free(p->cmdline);
    proc_free_argv(p->argv);
    p->exe = exe;
    p->cmdline = cmdline;
    p->argv = copy;
    const char *base = strrchr(path, '/');
    snprintf(p->comm, sizeof(p->comm), "%s", base ? base + 1 : path);
    struct mm *old = p->mm;
    if (old && !p->mm_borrowed && old->stats.peak_rss > mm->stats.peak_rss)
        mm->stats.peak_rss = old->stats.peak_rss; /* the process's peak, not the image's */
    p->mm = mm;
    p->sys->current = mm;
    if (old && !p->mm_borrowed)
        p->swap_outs_exec += old->stats.swap_outs;
    if (!p->mm_borrowed && old && p->leader->nr_threads > 1)
        p->mm_exec_old = old; /* the other threads end in it (sched_exec_de_thread) */
    else if (!p->mm_borrowed)
        mm_destroy(old);
    p->mm_borrowed = false;
    p->sys->current = mm;
    tlb_flush(&p->sys->tlb);
    if (p->cpu)
        cpu_reset_regs(p->cpu, img.entry, sp);
    return 0;
}

/* Frees a NULL-terminated argv copy. */
void proc_free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* A copy of parent for fork; see the header. */
int proc_fork(struct proc *parent, enum proc_share share, struct proc **out)
{
    struct proc *p = calloc(1, sizeof(*p));
    const struct proc *group = parent->leader;
    int rc = -ENOMEM;
    if (!p)
        return -ENOMEM;
    p->trap.nr = -1;
    p->leader = p;
    p->nr_threads = 1;
    p->ppid = group->pid;
    p->pgid = group->pgid;
    p->sid = group->sid;
    p->parent = parent->leader; /* the group is the parent: any of its threads may wait */
    if (share == PROC_SHARE_THREAD) {
        p->leader = parent->leader;
        p->nr_threads = 0;
        p->parent = NULL;
        p->ppid = group->ppid;
    }
    p->sys = parent->sys;
    p->cpu = parent->cpu;
    p->opt = parent->opt;
    p->start_ns = now_ns();
    p->exit_signal = LINUX_SIGCHLD;
    p->ctx_from_parent = true;
    /* the parent runs: its cwd (a thread shares the leader's) */
    p->cwd_fd = share == PROC_SHARE_THREAD ? -1 : open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    memcpy(p->sigact, group->sigact, sizeof(p->sigact));
    memcpy(p->rlim, group->rlim, sizeof(p->rlim));
    p->nice = parent->nice;
    /* the policy is inherited unless SCHED_RESET_ON_FORK (0x40000000) asks otherwise */
    p->sched_policy = (parent->sched_policy & 0x40000000) ? 0 : parent->sched_policy;
    p->personality = group->personality;
    memcpy(p->comm, parent->comm, sizeof(p->comm));
    p->sigmask = parent->sigmask;
    p->altstack = parent->altstack;
    if (share == PROC_SHARE_THREAD) { /* clone(CLONE_VM) without CLONE_VFORK clears it */
        memset(&p->altstack, 0, sizeof(p->altstack));
        p->altstack.ss_flags = LINUX_SS_DISABLE;
    }
    p->exe = parent->exe ? strdup(parent->exe) : NULL;
    p->cmdline = parent->cmdline ? strdup(parent->cmdline) : NULL;
    if (parent->argv) {
        size_t n = 0;
        while (parent->argv[n])
            n++;
        if ((p->argv = calloc(n + 1, sizeof(char *))) != NULL)
            for (size_t i = 0; i < n; i++)
                if (!(p->argv[i] = strdup(parent->argv[i])))
                    goto err;
    }
    if ((parent->exe && !p->exe) || (parent->cmdline && !p->cmdline) || (parent->argv && !p->argv))
        goto err;
    if (share != PROC_SHARE_NONE) {
        p->mm = parent->mm;
        p->mm_borrowed = true;
    } else if ((rc = mm_dup(parent->mm, &p->mm)) < 0) {
        goto err;
    } else if (parent->heap && proc_observer(parent)) {
        if ((rc = proc_observer(parent)->fork(parent, p)) < 0)
            goto err;
    }
    if (share == PROC_SHARE_NONE)
        p->cow_shared_at_fork = p->mm->stats.fork_cow;
    if (share == PROC_SHARE_THREAD) {
        p->fds = parent->fds;
        p->fds_borrowed = true;
    } else if ((rc = fd_table_dup(parent->fds, &p->fds)) < 0) {
        goto err;
    }
    *out = p;
    return 0;
err:
    proc_destroy(p);
    return rc;
}

/* Releases the process: descriptors, address space, saved registers and names. */
void proc_destroy(struct proc *p)
{
    if (!p)
        return;
    cpu_context_free(p->ctx);
    free(p->wait.fds);
    if (p->wait.fifo.held)
        close(p->wait.fifo.hostfd);
    if (p->cwd_fd >= 0)
        close(p->cwd_fd);
    if (p->fds && !p->fds_borrowed) {
        fd_table_destroy(p->fds);
        free(p->fds);
    }
    if (!p->mm_borrowed)
        mm_destroy(p->mm);
    mm_destroy(p->mm_exec_old);
    proc_release_observed(p);
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

/* Linux's wait status: the code in bits 8-15, or the signal; bit 7 (core dumped) is never
 * set, as Linux leaves it clear when no core file was written (vmemu writes none). */
int proc_linux_status(const struct proc *p)
{
    if (p->term_signal)
        return p->term_signal; /* no core file is written, so WCOREDUMP stays clear */
    return (p->exit_code & 0xff) << 8;
}

/* Live counters while the address space exists, the frozen ones after. */
struct proc_usage proc_usage_now(const struct proc *p)
{
    if (p->state == PROC_ZOMBIE || p->state == PROC_DEAD || !p->mm)
        return p->usage;
    struct proc_usage u = {
        .task = p->vmstat,
        .mm = p->mm->stats,
        .syscalls = p->syscalls,
        .cpu_ns = p->cpu_ns,
        .pt_pages_at_exit = p->mm->pt.table_pages,
    };
    return u;
}

/* Adds every counter of src to dst (the struct is all uint64_t counters). */
static void task_stats_add(struct task_vm_stats *dst, const struct task_vm_stats *src)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *f = (const uint64_t *)src;
    for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
        d[i] += f[i];
}

/* Adds the fault counters, fills, syscalls and run time of src to dst; the peak resident
 * set takes the larger. */
void proc_usage_add(struct proc_usage *dst, const struct proc_usage *src)
{
    task_stats_add(&dst->task, &src->task);
    if (src->mm.peak_rss > dst->mm.peak_rss)
        dst->mm.peak_rss = src->mm.peak_rss;
    dst->syscalls += src->syscalls;
    dst->cpu_ns += src->cpu_ns;
}

/* Adds src to a run's totals: counts summed, peaks the highest of either. */
void proc_usage_total(struct proc_usage *dst, const struct proc_usage *src)
{
    task_stats_add(&dst->task, &src->task);
    dst->mm.rss += src->mm.rss;
    dst->mm.peak_rss = src->mm.peak_rss > dst->mm.peak_rss ? src->mm.peak_rss : dst->mm.peak_rss;
    dst->mm.peak_vm = src->mm.peak_vm > dst->mm.peak_vm ? src->mm.peak_vm : dst->mm.peak_vm;
    dst->mm.peak_pt_pages = src->mm.peak_pt_pages > dst->mm.peak_pt_pages ? src->mm.peak_pt_pages
                                                                          : dst->mm.peak_pt_pages;
    dst->syscalls += src->syscalls;
    dst->cpu_ns += src->cpu_ns;
    dst->shared_at_exit += src->shared_at_exit;
    dst->pt_pages_at_exit += src->pt_pages_at_exit;
}

/* Freezes the counters (at exit, before the address space goes). */
void proc_freeze_usage(struct proc *p)
{
    p->usage.task = p->vmstat;
    if (p->mm_borrowed) { /* the parent's address space: only its peak is the child's too */
        memset(&p->usage.mm, 0, sizeof(p->usage.mm));
        p->usage.mm.peak_rss = p->mm ? p->mm->stats.peak_rss : 0;
        p->usage.syscalls = p->syscalls;
        p->usage.cpu_ns = p->cpu_ns;
        return;
    }
    p->usage.mm = p->mm ? p->mm->stats : p->usage.mm;
    p->usage.syscalls = p->syscalls;
    p->usage.cpu_ns = p->cpu_ns;
    if (p->mm) {
        p->usage.shared_at_exit = mm_shared_pages(p->mm);
        p->usage.pt_pages_at_exit = p->mm->pt.table_pages;
    }
}

/* Records a removal by p's syscall in progress (see the header). */
void proc_unmap_record(struct proc *p, gva_t start, gva_t end)
{
    struct proc_unmap *r = &p->unmaps[p->nunmaps++ % PROC_UNMAP_HISTORY];
    r->start = start;
    r->end = end;
    r->rip = p->trap.rip;
    r->sysno = p->trap.nr;
    r->seq = p->trap.seq;
}

/* The most recent recorded removal whose range contains va, or NULL. */
const struct proc_unmap *proc_unmap_history_find(const struct proc *p, gva_t va)
{
    uint64_t kept = p->nunmaps < PROC_UNMAP_HISTORY ? p->nunmaps : PROC_UNMAP_HISTORY;
    for (uint64_t k = 1; k <= kept; k++) {
        const struct proc_unmap *r = &p->unmaps[(p->nunmaps - k) % PROC_UNMAP_HISTORY];
        if (va >= r->start && va < r->end)
            return r;
    }
    return NULL;
}
