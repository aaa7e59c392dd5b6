/* The scheduler: every process of a run, pids, sleeping and waking, timers, which process
 * runs next and what to do when none can (src/proc/sched.c). Switches happen only at
 * deterministic points (a syscall that blocks, exit, every `quantum` syscalls); while a
 * timer is due a watchdog ends long slices so that it fires, and the report counts those
 * stops. The loop that runs the processes on the CPU is the kernel's (run.h). */
#ifndef VMEMU_SCHED_H
#define VMEMU_SCHED_H

#include <time.h>

#include "vmemu/proc.h"

struct ipc_ns;

/* Syscalls a process may make before another runnable process gets the CPU. */
#define SCHED_QUANTUM     64
/* Host time a slice may last while a timer is due, before the watchdog stops it
 * (nondeterministic: counted in the report). */
#define SCHED_WATCHDOG_NS (50ULL * 1000 * 1000)
/* Returned (negated) by a syscall handler that put the process to sleep with one of the
 * sched_block_* calls: the syscall is re-executed when the process wakes. Never reaches
 * the guest. */
#define SCHED_EBLOCK      4096

/* What happened to a process, for an observer of the run (the timeline recorder). */
enum proc_event {
    PROC_EV_START = 0, /* the first process runs its program */
    PROC_EV_FORK,      /* a fork made the process (told of the child) */
    PROC_EV_EXEC,      /* it ran a new program */
    PROC_EV_EXIT,      /* it ended by exit */
    PROC_EV_SIGNAL,    /* a signal ended it */
    PROC_EV_OOM_KILL,  /* no frame was left for it: killed (SIGKILL) */
};

/* Told of every process event (sched_note_event), from the process and syscall layers; set
 * by a higher layer (src/report/timeline.c). fn may read any counter and must not fault. */
struct sched_event_hook {
    void (*fn)(void *ctx, struct proc *p, enum proc_event ev); /* NULL: nobody listens */
    void *ctx;                                                 /* its argument */
};

struct sched {
    struct vmsys *sys;               /* the machine */
    struct cpu *cpu;                 /* the CPU */
    const struct run_options *opt;   /* run options */
    struct proc **procs;             /* the processes not yet reaped, in pid order, and the
                                        first SCHED_KEEP_ENDED reaped ones (for the report) */
    size_t nprocs;                   /* entries in procs */
    size_t nkept;                    /* reaped processes kept in procs */
    size_t nlive;                    /* processes not yet reaped (zombies included) */
    bool reaped;                     /* a process was reaped since the last sched_collect */
    size_t ndropped;                 /* reaped processes freed (not in procs) */
    struct proc_usage dropped_usage; /* their counters, summed as proc_usage_total does */
    size_t cap;                      /* allocated entries */
    struct proc *current;            /* the process the CPU runs, or NULL */
    struct proc *init;               /* the first process: orphans are re-parented to it */
    int next_pid;                    /* pid of the next process */
    unsigned quantum;                /* syscalls per slice */
    uint64_t slice_syscalls;         /* syscalls made in the current slice */
    uint64_t switches;               /* context switches */
    uint64_t watchdog_stops;         /* slices ended by the watchdog (nondeterministic) */
    uint64_t deadlocks;              /* times every process slept with nothing to wake it */
    uint64_t check_errors;           /* errors the heap checker reported, all processes */
    uint64_t futex_seq;              /* futex waits begun so far (proc_futex.seq) */
    bool yield;                      /* sched_yield: end the current slice */
    bool timer_armed;                /* alarm/setitimer armed a timer: the run stops so that
                                        the slice can end when it is due */
    struct sched_clock {
        bool virt;                  /* --clock virtual (else the host's clocks) */
        uint64_t syscalls;          /* syscalls made by every task (virtual time) */
        uint64_t idle_ns;           /* virtual time skipped while every task slept */
        int64_t realtime_off;       /* virtual CLOCK_REALTIME minus virtual monotonic */
        uint64_t run_start;         /* sched_now() when the current run began (0: none) */
    } clock;                        /* guest time (sched_clock.c) */
    struct gdbstub *gdb;            /* the gdb stub (--gdb), or NULL */
    struct ipc_ns *ipc;             /* the run's System V IPC objects (src/proc/ipc.c), created
                                       by the first IPC syscall; NULL before */
    struct sched_event_hook events; /* see struct sched_event_hook */
};

/* Blocks a thread runs before another runnable thread of its process gets its turn, when
 * it makes fewer than the quantum's syscalls (about a millisecond of guest code). */
#define SCHED_BLOCK_QUANTUM 50000

/* Reaped processes kept whole for the report; later ones are summed and freed, so that
 * vmemu's memory and the scheduler's loops follow the processes alive, not the number
 * ever created. */
#define SCHED_KEEP_ENDED 64

/* Sets up an empty scheduler. Returns 0. */
int sched_init(struct sched *s, struct vmsys *sys, struct cpu *cpu, const struct run_options *opt);
/* Frees every process. */
void sched_destroy(struct sched *s);
/* Tells s->events that ev happened to the process p (a leader); nothing without a hook
 * or a scheduler. */
void sched_note_event(struct proc *p, enum proc_event ev);
/* Adds p (new, runnable) with the next pid; p->sched is set. Returns 0 or -ENOMEM. */
int sched_add(struct sched *s, struct proc *p);
/* The process with this pid that has not been reaped, or NULL. */
struct proc *sched_find(const struct sched *s, int pid);
/* Frees the processes reaped since the last call beyond the first SCHED_KEEP_ENDED (their
 * counters go to dropped_usage). Call it where no caller holds a pointer to a reaped
 * process (the top of the run loop); s->current is cleared when it is freed. */
void sched_collect(struct sched *s);
/* Whether the process led by p has ended: reaped, or a zombie with no task of its group
 * left (a leader that ended first waits as a zombie for its threads). */
bool sched_process_ended(const struct proc *p);
/* Tasks not yet reaped (zombies and threads included), for RLIMIT_NPROC. */
size_t sched_nr_live(const struct sched *s);
/* Whether a process other than p can run now. */
bool sched_others_runnable(const struct sched *s, const struct proc *p);
/* Whether another thread of p's process can run now. */
bool sched_threads_runnable(const struct sched *s, const struct proc *p);
/* Fires expired POSIX timers (sched_ptimers) and ITIMER_REAL timers (SIGALRM with
 * SI_KERNEL, as Linux's it_real_fn; an
 * interval timer that expired several times while nobody looked fires once and moves to
 * its next period after now). Returns the earliest deadline still ahead (0: none). */
uint64_t sched_timers(struct sched *s, uint64_t now_ns);
/* Fires the expired POSIX timers (vmemu/ptimer.h) of the process led by leader at now
 * (sched_now): SI_TIMER siginfo with si_timerid, si_overrun and si_value, to the process
 * or (SIGEV_THREAD_ID) the named thread while it runs. While a timer's previous signal is
 * still pending, an expiry only adds to that signal's si_overrun (Linux's behaviour); an
 * interval timer that expired several times while nobody looked fires once with the
 * missed periods as overruns. Returns the earliest deadline still ahead (0: none).
 * (src/proc/sched_ptimer.c) */
uint64_t sched_ptimers(struct proc *leader, uint64_t now_ns);
/* Fires timers and wakes every sleeper whose condition holds (a signal ends a sleep with
 * -EINTR unless SA_RESTART re-executes the syscall; any other wake re-executes it).
 * Returns the earliest deadline still ahead (0: none). */
uint64_t sched_wake_sleepers(struct sched *s);
/* The next runnable process after the current one, round robin in pid order, or NULL. */
struct proc *sched_pick(struct sched *s);
/* Nothing can run: waits on the host for a descriptor some process sleeps on, or until
 * deadline (0: none). With neither, every process waits for another forever (a deadlock
 * Linux would hang in): counts and reports it and returns true (the caller ends the
 * sleepers); false otherwise. */
bool sched_idle(struct sched *s, uint64_t deadline);

/* From a syscall handler: p sleeps until one of the host descriptors is ready (poll
 * events) or the deadline passes (0: none). fds is copied. Returns -SCHED_EBLOCK, or
 * -ENOMEM. */
long sched_block_io(struct proc *p, const struct proc_wait_fd *fds, size_t nfds,
                    uint64_t deadline_ns, bool restartable);
/* p sleeps until a child changes state. Returns -SCHED_EBLOCK. */
long sched_block_child(struct proc *p);
/* p sleeps until a signal it does not block arrives. Returns -SCHED_EBLOCK. */
long sched_block_signal(struct proc *p);
/* p sleeps on the futex key (a copy is kept; key->woken must be false) until a FUTEX_WAKE
 * sets its woken flag, a signal, or the deadline (0: none). Returns -SCHED_EBLOCK. */
long sched_block_futex(struct proc *p, const struct proc_futex *key, uint64_t deadline_ns);
/* p sleeps until the file lock req (copied) can be granted (no other owner's lock is in
 * its way; the re-executed syscall takes it) or a signal. Returns -SCHED_EBLOCK. */
long sched_block_lock(struct proc *p, const struct flock_req *req);
/* p sleeps in the open of a FIFO until its other end opens (see struct proc_fifo;
 * the wait owns a held descriptor from here on), a signal or the deadline (0: none).
 * Returns -SCHED_EBLOCK. */
long sched_block_fifo(struct proc *p, const struct proc_fifo *fifo, uint64_t deadline_ns);
/* p sleeps until the System V IPC object w names changes or goes (src/proc/ipc.c), a
 * signal (never restarted: -EINTR) or the deadline (0: none). Returns -SCHED_EBLOCK. */
long sched_block_ipc(struct proc *p, const struct proc_ipc_wait *w, uint64_t deadline_ns);
/* p sleeps until the deadline (sched_now ns). Returns -SCHED_EBLOCK. */
long sched_block_timer(struct proc *p, uint64_t deadline_ns);
/* The deadline of a timed sleep: the one stored when the syscall first blocked if this is
 * a re-execution (p->retry), else now + rel_ns. */
uint64_t sched_deadline(const struct proc *p, uint64_t rel_ns);

/* Ends whatever sleep p was in (src/proc/sched_wait.c; called when its process ends):
 * a FIFO open's kept descriptor is closed, the wait's descriptors freed. */
void sched_wait_clear(struct proc *p);

/* Ends p now (its status is already set by proc_exit/proc_kill): frees its address space
 * and descriptors, re-parents its children, wakes a vfork parent, makes it a zombie (or
 * reaps it at once when nobody will wait) and sends exit_signal to the parent. */
void sched_exit(struct proc *p);
/* Marks p reaped (PROC_DEAD) and adds its counters to the parent's children usage. */
void sched_reap(struct proc *p);
/* Thread groups and futex queues (src/proc/sched_thread.c). */

/* Linux's futex key of the 32-bit word at uaddr for p (get_futex_key): (mm, address) for a
 * private futex or a private mapping, (frame, offset) in a MAP_SHARED one; every other
 * field is cleared. Returns 0, -EINVAL (misaligned) or -EFAULT. */
int sched_futex_key(struct proc *p, gva_t uaddr, bool private_flag, struct proc_futex *key);
/* Wakes up to nr tasks sleeping on key whose bitset meets bitset, those that began to wait
 * first first (Linux's queue order). Returns the number woken. */
long sched_futex_wake(struct sched *s, const struct proc_futex *key, uint32_t bitset, long nr);
/* The FUTEX_LOCK_PI waiter of key that has waited longest (NULL: none); *more says whether
 * others wait too. */
struct proc *sched_futex_pi_next(struct sched *s, const struct proc_futex *key, bool *more);
/* Moves up to nr waiters of key to key2 (FUTEX_REQUEUE), oldest first. Returns the number
 * moved. */
long sched_futex_requeue(struct sched *s, const struct proc_futex *key,
                         const struct proc_futex *key2, long nr);
/* exit_group or a fatal signal in p: every other task of its group ends now with p's
 * status (each through sched_exit), which also becomes the process's status. */
void sched_group_kill(struct proc *p);
/* The end of task p within its group (from sched_exit): the other tasks end first unless
 * p ended by exit(2) alone; p's robust futex list is walked and its CLONE_CHILD_CLEARTID
 * word cleared and woken. A thread other than the leader is gone at once (PROC_DEAD, its
 * counters added to the leader's threads_usage); a leader whose group goes on becomes a
 * zombie that cannot be reaped yet. Returns true when p was the group's last task: the
 * caller then ends the process (the leader). */
bool sched_task_end(struct proc *p);
/* execve succeeded in p (the new image is p's, its registers on the CPU): every other task
 * of the group ends, and when p was not the leader, the leader takes over the new image
 * (Linux's de_thread: the process keeps its pid) while p is gone. Returns the task that
 * runs the new program (the scheduler's current one when p was). */
struct proc *sched_exec_de_thread(struct proc *p);
/* The task of leader's group a process-directed signal sig goes to: the leader when it
 * runs and does not block sig, else the first task that does not block it, else any task
 * still running (the signal then stays pending there), else the leader. */
struct proc *sched_signal_target(struct proc *leader, int sig);
/* Sends a process-directed signal to p's process (kill, SIGCHLD, a timer). */
void sched_signal_process(struct proc *p, int sig, const struct linux_siginfo *info);
/* The counters of p's whole process: its leader's, plus those of the threads that ended
 * and of the running ones (the address space counted once), as getrusage(RUSAGE_SELF). */
struct proc_usage sched_process_usage(const struct proc *p);

/* Guest time (src/proc/sched_clock.c). By default the host's clocks. With --clock virtual,
 * a clock that advances only with the guest's work: SCHED_VCLOCK_BLOCK_NS per translated
 * block run (the block hook counts them) and SCHED_VCLOCK_SYSCALL_NS per syscall, and
 * jumps to the next deadline when every task sleeps. Timeouts, timers and the guest's
 * clocks then depend only on the program, so a program whose decisions depend on time
 * (Go's runtime) runs the same way every time. */
#define SCHED_VCLOCK_BLOCK_NS   5
#define SCHED_VCLOCK_SYSCALL_NS 250
/* The virtual monotonic clock's value at the start (as a little after a boot). */
#define SCHED_VCLOCK_START_NS   (10ULL * 1000 * 1000 * 1000)

/* Sets up the guest clock for s (virtual or the host's); a virtual clock is also the
 * guest's time-stamp counter (rdtsc), at 1 GHz, and its CLOCK_REALTIME starts at
 * realtime_start seconds since the epoch (-1: the host's time now). */
void sched_clock_init(struct sched *s, bool virt, int64_t realtime_start);
/* Now on the guest's monotonic clock, in ns: the deadlines of sleeps, timeouts and timers
 * are on it. s may be NULL (a process outside a scheduler): the host's clock. */
uint64_t sched_now(const struct sched *s);
/* The guest's clock clk (a Linux clock id: REALTIME, MONOTONIC, BOOTTIME, TAI, their raw
 * and coarse forms, and the calling task's PROCESS_ and THREAD_CPUTIME_ID) read by p.
 * Returns 0, or -EINVAL for another clock. */
int sched_clock_read(const struct sched *s, const struct proc *p, int clk, struct timespec *ts);
/* The guest's CPU time of task p (thread) or of its process, in ns, the current run's
 * share included. */
uint64_t sched_cpu_ns(const struct sched *s, const struct proc *p, bool thread);
/* A syscall was made (virtual time advances). */
void sched_clock_syscall(struct sched *s);
/* Every task sleeps and nothing on the host is ready: a virtual clock moves on to the
 * deadline (at or before now: nothing). Returns true when it moved (the host need not
 * wait), false with the host's clock. */
bool sched_clock_skip(struct sched *s, uint64_t deadline);
/* With a virtual clock, the translated blocks after which the clock reaches deadline
 * (at least 1); 0 with the host's clock or no deadline. */
uint64_t sched_clock_blocks_until(const struct sched *s, uint64_t deadline);

/* In a build with VMEMU_CHECK_VM (the sanitizer build): checks the whole VM with every
 * address space of the run (vm_check) and stops vmemu with the broken relation and `when`
 * (a syscall's name, "exit") if one does not hold. Does nothing in other builds. */
void sched_check_vm(const struct sched *s, const char *when);

#endif
