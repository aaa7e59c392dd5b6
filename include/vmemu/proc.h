/* Processes: identity, family, address space, descriptors, signal state, limits, sleep
 * state, trap state, exit status and counters. Creation (proc_create, proc_fork), exec and
 * the end of a process are in src/proc/proc.c; the scheduler's bookkeeping is
 * src/proc/sched.c and the loop that runs them src/kernel/run.c. */
#ifndef VMEMU_PROC_H
#define VMEMU_PROC_H

#include <stdio.h>

#include "vmemu/abi/linux.h"
#include "vmemu/cpu.h"
#include "vmemu/fd.h"
#include "vmemu/flock.h"
#include "vmemu/mm.h"

#define PROC_NSIG 64

struct sched;
struct proc_observer;
struct cpu_context;

/* Where a process is in its life. */
enum proc_state {
    PROC_RUNNABLE = 0, /* ready to run (or running: sched->current) */
    PROC_SLEEPING,     /* blocked in a syscall: proc->wait says on what */
    PROC_ZOMBIE,       /* ended, not yet reaped by its parent */
    PROC_DEAD,         /* ended and reaped (the first ones kept for the report) */
};

/* What a sleeping process waits for. A blocked syscall is re-executed from its `syscall`
 * instruction when the process wakes (proc->retry is then true), so the handler itself
 * decides again whether it can complete. */
enum proc_wait_kind {
    WAIT_NONE = 0,
    WAIT_IO,     /* readiness of host descriptors (wait.fds): pipes, ttys, poll/select */
    WAIT_CHILD,  /* a child changing state (wait4, waitid) */
    WAIT_VFORK,  /* the vfork child execs or ends */
    WAIT_SIGNAL, /* only a signal (pause, rt_sigsuspend) */
    WAIT_TIMER,  /* only the deadline (nanosleep) */
    WAIT_FUTEX,  /* a FUTEX_WAKE on wait.futex (or the deadline, or a signal) */
    WAIT_LOCK,   /* a file lock another owner holds (wait.lock: granted when it is free) */
    WAIT_FIFO,   /* the other end of a FIFO being opened (wait.fifo) */
    WAIT_IPC,    /* a System V IPC object changing or going (wait.ipc; src/proc/ipc.c) */
};

/* What an open of a FIFO waits for (syscalls/sys_lock.c): a reader waits for a writer
 * (Linux's wait_for_partner), a writer for a reader. */
struct proc_fifo {
    uint64_t dev, ino; /* the FIFO */
    bool writer;       /* the open is for writing (else for reading) */
    uint64_t writes;   /* reader: the FIFO's write opens by guests when it began to wait */
    bool held;         /* hostfd is open and the wait's: closed when the sleep ends
                          without the re-executed open taking it */
    int hostfd;        /* reader: its host descriptor (nonblocking), kept open so that
                          writers see a reader; writer: an O_PATH descriptor of the FIFO */
};

/* What a System V IPC waiter sleeps on (semop, msgsnd, msgrcv): the object's id and its
 * generation when the syscall blocked; the sleep ends when either changes. */
struct proc_ipc_wait {
    int id;       /* the semaphore set's or queue's id */
    uint64_t gen; /* its generation (ipc_obj.gen) when the waiter blocked */
    int semnum;   /* semop: the semaphore it waits on (-1: a queue) */
    bool zero;    /* semop: it waits for that semaphore to become 0 (else to grow) */
};

/* What a futex waiter sleeps on (syscalls/sys_futex.c): Linux's futex key. A private
 * futex is (mm, address); one in a MAP_SHARED mapping is (frame, offset), so that the
 * processes sharing the page meet on it. */
struct proc_futex {
    const void *space; /* the mm (private) or NULL (shared: off holds the frame's address) */
    uint64_t off;      /* the guest address (private) or pfn << 12 | page offset (shared) */
    uint32_t bitset;   /* FUTEX_WAIT_BITSET's mask (all ones for FUTEX_WAIT) */
    bool woken;        /* a FUTEX_WAKE chose this waiter: the re-executed wait returns 0 */
    uint64_t seq;      /* when it began to wait (sched's counter): wakes go oldest first */
    bool pi;           /* FUTEX_LOCK_PI waiter (bitset 0: plain wakes never pick it) */
};

/* A host descriptor and the poll events a sleeping process waits for on it. */
struct proc_wait_fd {
    int hostfd;   /* host descriptor */
    short events; /* POLLIN, POLLOUT, ... */
};

struct proc_wait {
    enum proc_wait_kind kind; /* see enum proc_wait_kind */
    struct proc_wait_fd *fds; /* WAIT_IO: descriptors (malloc'ed, freed on wake) */
    size_t nfds;              /* entries in fds */
    uint64_t deadline_ns;     /* guest monotonic time (sched_now) that ends the sleep;
                                 0 = none */
    uint64_t left_ns;         /* time left before the deadline when the sleep was woken */
    bool restartable;         /* SA_RESTART may re-execute the syscall after a handler */
    struct proc *vfork_child; /* WAIT_VFORK: the child */
    struct proc_futex futex;  /* WAIT_FUTEX: the futex */
    struct flock_req lock;    /* WAIT_LOCK: the lock asked for */
    struct proc_fifo fifo;    /* WAIT_FIFO: the FIFO open */
    struct proc_ipc_wait ipc; /* WAIT_IPC: the IPC object */
    int nr;                   /* the syscall that sleeps (for the deadlock report) */
    uint64_t rip;             /* its `syscall` instruction */
};

/* Register changes applied when a process is switched in (the CPU only holds the running
 * process's registers): a fork child's RAX 0 and new stack, a syscall ended by -EINTR. */
struct proc_regfix {
    bool rax_set; /* write rax */
    uint64_t rax; /* value */
    bool rip_set; /* write rip */
    uint64_t rip; /* value */
    bool rsp_set; /* write rsp */
    uint64_t rsp; /* value */
    bool fs_set;  /* write the FS base (CLONE_SETTLS) */
    uint64_t fs;  /* value */
};

/* The syscall a process is in: its trap state (Linux's pt_regs orig_ax and ip). */
struct proc_trap {
    int nr;       /* syscall number being handled, -1 outside one */
    gva_t rip;    /* RIP of its `syscall` instruction (re-executed, or the EINTR return) */
    uint64_t seq; /* its sequence number: the process's syscall count then */
};

/* One removal of a range by a syscall (munmap, mremap, mmap MAP_FIXED over it, brk
 * shrinking), kept so that a later access there can be explained in the crash report. */
struct proc_unmap {
    gva_t start, end; /* the range removed */
    gva_t rip;        /* RIP of the syscall instruction that removed it */
    int sysno;        /* its syscall number (11 munmap, 25 mremap, 9 mmap, 12 brk, ...) */
    uint64_t seq;     /* how many syscalls the process had made by then */
};
#define PROC_UNMAP_HISTORY 64 /* removals remembered (a ring: the oldest are forgotten) */

/* Counters of a process as the report and getrusage show them (kept after the address
 * space is gone). */
struct proc_usage {
    struct task_vm_stats task; /* faults by class and CPU fills, charged to the process */
    struct mm_stats mm;        /* address-space counters (rss and its peak, peaks of the
                                  virtual size and page tables) */
    uint64_t syscalls;         /* syscalls made */
    uint64_t cpu_ns;           /* host time spent running it */
    uint64_t shared_at_exit;   /* pages whose frame another process still mapped at exit */
    uint64_t pt_pages_at_exit; /* page-table pages at exit */
};

#define PROC_NRLIMIT 16

/* Options that shape how processes run and what is reported. */
struct run_options {
    FILE *trace;       /* --trace destination (stderr) or NULL */
    bool maps_at_exit; /* --maps */
    unsigned quantum;  /* syscalls a process may make before the scheduler switches
                          (0: the default, SCHED_QUANTUM) */
    unsigned check;    /* --check: CHECK_HEAP | CHECK_GUARD (vmemu/heapcheck.h) */
    const struct proc_observer *observer; /* the attached debugging tool (debug_hooks.h),
                                             or NULL */
    int gdb_port;                         /* --gdb PORT, 0 when not given */
    bool virtual_clock;                   /* --deterministic: guest time advances with the
                                             work done (src/proc/sched_clock.c) */
    int64_t realtime_start;               /* with it, CLOCK_REALTIME at the start in s
                                             (SOURCE_DATE_EPOCH), or -1: the host's */
};

struct ptimer_set;

struct proc {
    int pid;                         /* process id (vmemu's numbering, the first is 1000) */
    int ppid;                        /* parent's id (1 when the parent is outside vmemu) */
    int pgid;                        /* process group */
    int sid;                         /* session */
    struct proc *parent;             /* parent inside vmemu (a thread-group leader), or NULL;
                                        NULL for a thread that is not a leader */
    struct proc *leader;             /* its thread group's leader (itself for a leader): the
                                        group shares mm, fds, signal actions, limits, cwd,
                                        and its pid is the leader's (getpid); pid above is
                                        the task's own id (gettid) */
    unsigned nr_threads;             /* leader only: tasks of the group that have not ended */
    bool group_exit;                 /* leader only: exit_group or a fatal signal ends them all */
    bool thread_exit;                /* this task ended by exit(2) alone, the group goes on */
    bool fds_borrowed;               /* a thread: fds is the leader's, never freed through it */
    unsigned membarrier;             /* leader only: membarrier registrations (command bits) */
    struct proc_usage threads_usage; /* leader only: counters of the group's ended threads */
    struct sched *sched;             /* the scheduler it belongs to (NULL in unit tests) */
    enum proc_state state;           /* see enum proc_state */
    struct proc_wait wait;           /* what it sleeps on (PROC_SLEEPING) */
    bool retry;                      /* the syscall in progress is re-executed after a sleep */
    uint64_t io_done;                /* bytes a blocking write already moved before it slept */
    struct cpu_context *ctx;         /* its registers while it does not run */
    bool ctx_from_parent;            /* new fork child: its registers are the parent's as the
                                        fork syscall returns (saved after the parent's run) */
    struct proc_regfix regfix;       /* register changes for the next switch-in */
    int exit_signal;                 /* signal sent to the parent at exit (SIGCHLD), 0 = none */
    gva_t set_child_tid;             /* CLONE_CHILD_SETTID address (written by the child) */
    struct proc *vfork_parent;       /* vfork: the parent sleeping until this child execs/ends */
    bool mm_borrowed;                /* vfork child: mm is the parent's (shared, as Linux's
                                        CLONE_VM), never freed through this process */
    struct mm *mm_exec_old;          /* the image an exec replaced while other threads of
                                        the group still ran in it: destroyed once they
                                        ended (sched_exec_de_thread), as Linux's de_thread
                                        comes before exec_mmap */
    bool reported;                   /* wait4/waitid has seen its exit (zombie state consumed) */
    bool kept;                       /* reaped and kept for the report (sched_collect) */
    int cwd_fd;                      /* host O_PATH descriptor of its working directory while
                                        it does not run (-1: none; vmemu's cwd is the running
                                        process's) */
    struct vmsys *sys;               /* the machine */
    struct cpu *cpu;                 /* the CPU it runs on */
    struct mm *mm;                   /* its address space */
    struct fdtable *fds;             /* its descriptors */
    char *exe;                       /* absolute host path of the program (/proc/self/exe) */
    char *cmdline;                   /* argv joined by spaces, for reports */
    char **argv;                     /* copy of the program's argv, NULL-terminated */
    char comm[16];                   /* short name (basename of argv[0]) */
    const struct run_options *opt;   /* run options */
    void *heap;                      /* the observer's state for this process (--check heap,
                                        --profile heap), or NULL; opaque below src/debug/ */
    gva_t clear_child_tid;           /* set_tid_address */
    gva_t robust_list;               /* set_robust_list head */
    struct linux_sigaction sigact[PROC_NSIG]; /* rt_sigaction, indexed by signal - 1 */
    uint64_t sigmask;                         /* blocked signals (bit sig-1) */
    uint64_t sigpending;                      /* pending signals (bit sig-1) */
    struct linux_siginfo siginfo[PROC_NSIG];  /* the info of each pending signal */
    uint64_t saved_sigmask;                   /* mask to restore after rt_sigsuspend */
    bool restore_sigmask;                     /* saved_sigmask is valid */
    struct linux_stack altstack;              /* sigaltstack */
    uint64_t itimer_deadline_ns;              /* ITIMER_REAL expiry (sched_now), 0 off */
    uint64_t itimer_interval_ns;              /* ITIMER_REAL reload value */
    struct ptimer_set *ptimers;               /* leader only: POSIX timers (ptimer.h), NULL
                                                 before the first timer_create */
    int sched_policy;                         /* sched_setscheduler's policy (SCHED_OTHER,
                                                 BATCH, IDLE, | SCHED_RESET_ON_FORK) */
    unsigned personality;                     /* leader only: personality(2)'s value */
    struct linux_rlimit rlim[PROC_NRLIMIT];   /* getrlimit / prlimit64 */
    int nice;                                 /* setpriority's value, -20..19 (kept, not used) */
    struct proc_trap trap;                    /* the syscall being handled */
    struct task_vm_stats vmstat;              /* faults and fills charged to it (the
                                                 fault path counts into the running
                                                 process's, vmsys.charge) */
    struct proc_unmap unmaps[PROC_UNMAP_HISTORY]; /* ring of its recent removals */
    uint64_t nunmaps;  /* removals recorded so far; the next goes to nunmaps % PROC_UNMAP_HISTORY */
    uint64_t syscalls; /* syscalls made */
    uint64_t switches; /* times the scheduler switched to it */
    bool exited;       /* it has ended */
    int exit_code;     /* exit_group status (when term_signal == 0) */
    int term_signal;   /* signal that ended it, or 0 */
    uint64_t start_ns; /* host monotonic time at start */
    uint64_t end_ns;   /* host monotonic time at exit (0 = running) */
    uint64_t cow_shared_at_fork; /* pages its fork shared copy-on-write with the parent
                                    (0 for the first process, a thread, a vfork child) */
    uint64_t cow_shared_at_exit; /* of those, pages still copy-on-write shared with
                                    another address space at its exit (0 after an exec) */
    uint64_t swap_outs_exec;     /* swap-outs (mm_stats.swap_outs) of the address spaces
                                    its execs replaced */
    uint64_t cpu_ns;             /* host time spent running it */
    struct proc_usage usage;     /* counters frozen at exit (valid once ended) */
    struct proc_usage children;  /* sums over reaped children (RUSAGE_CHILDREN) */
};

/* A new process with an empty address space and the standard descriptors.
 * Returns 0 or -errno. */
int proc_create(struct vmsys *sys, struct cpu *cpu, const struct run_options *opt,
                struct proc **out);
void proc_destroy(struct proc *p);
/* Frees a NULL-terminated argv copy (NULL is fine). */
void proc_free_argv(char **argv);
/* How proc_fork shares the parent's resources. */
enum proc_share {
    PROC_SHARE_NONE = 0, /* fork: copies of everything */
    PROC_SHARE_VM,       /* vfork: the parent's address space until exec or exit */
    PROC_SHARE_THREAD,   /* a thread of the parent's group: address space, descriptors,
                            signal actions (through the leader), heap checker */
};

/* A copy of parent for fork: a copy-on-write duplicate of the address space (mm_dup),
 * duplicated descriptors, the same signal actions, mask, limits, names, group and session.
 * PROC_SHARE_VM (vfork): the child uses the parent's address space itself until it execs
 * or ends. PROC_SHARE_THREAD: a new task of the parent's thread group (no parent of its
 * own, the leader's limits and names, an empty alternate signal stack). The child is PROC_RUNNABLE
 * with ctx_from_parent set; pid and links are the scheduler's. Returns 0 or -errno (-ENOMEM,
 * -EMFILE). */
int proc_fork(struct proc *parent, enum proc_share share, struct proc **out);
/* Loads the program at path with argv/envp into p, replacing its address space only when
 * the load succeeded, and sets up the CPU to start it (registers of a fresh program).
 * On failure p is unchanged, one line is written into err, and -errno is returned
 * (-ENOENT, -ENOEXEC, -EACCES, -ENOMEM, ...). */
int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], char *err,
              size_t errlen);
/* Ends p with an exit code (exit_group). Only records the status: the scheduler does the
 * rest (sched_exit). */
void proc_exit(struct proc *p, int code);
/* Ends p with a signal (as proc_exit). */
void proc_kill(struct proc *p, int signo);
/* Shell-style status: code, or 128 + signal. */
int proc_wait_status(const struct proc *p);
/* Linux's wait status word: code << 8, or the signal (| 0x80 for a core dump). */
int proc_linux_status(const struct proc *p);
/* The counters of p: live from its address space while it runs, frozen after exit. */
struct proc_usage proc_usage_now(const struct proc *p);
/* Adds src's fault counters, fills, syscalls and run time to dst (the peak resident set
 * takes the larger): the sums behind RUSAGE_CHILDREN and wait4's rusage. */
void proc_usage_add(struct proc_usage *dst, const struct proc_usage *src);
/* Adds src to a run's totals dst: every count summed (resident pages too), the peaks
 * (resident set, virtual size, page-table pages) the highest of either. */
void proc_usage_total(struct proc_usage *dst, const struct proc_usage *src);
/* Freezes p's counters into p->usage (called once, at exit, before the mm is freed). */
void proc_freeze_usage(struct proc *p);
/* The most recent recorded removal by p whose range contains va, or NULL. */
const struct proc_unmap *proc_unmap_history_find(const struct proc *p, gva_t va);
/* Records that p's syscall in progress removed [start, end) of its address space. */
void proc_unmap_record(struct proc *p, gva_t start, gva_t end);

#endif
