/* Processes: identity, address space, descriptors, recorded signal state, limits, exit
 * status and counters; running a process on the CPU until it ends. */
#ifndef VMEMU_PROC_H
#define VMEMU_PROC_H

#include <stdio.h>

#include "vmemu/cpu.h"
#include "vmemu/fd.h"
#include "vmemu/mm.h"

#define PROC_NSIG 64

/* The guest's struct sigaction (kernel layout, x86-64). */
struct linux_sigaction {
    uint64_t handler;  /* SIG_DFL (0), SIG_IGN (1) or a guest address */
    uint64_t flags;    /* SA_* */
    uint64_t restorer; /* SA_RESTORER trampoline */
    uint64_t mask;     /* blocked during the handler */
};

struct linux_rlimit {
    uint64_t cur; /* soft limit */
    uint64_t max; /* hard limit */
};
#define PROC_NRLIMIT 16

/* Options that shape how processes run and what is reported. */
struct run_options {
    FILE *trace;       /* --trace destination (stderr) or NULL */
    bool maps_at_exit; /* --maps */
};

struct proc {
    int pid;                       /* process id (vmemu's numbering, the first is 1000) */
    int ppid;                      /* parent's id */
    struct vmsys *sys;             /* the machine */
    struct cpu *cpu;               /* the CPU it runs on */
    struct mm *mm;                 /* its address space */
    struct fdtable *fds;           /* its descriptors */
    char *exe;                     /* absolute host path of the program (/proc/self/exe) */
    char *cmdline;                 /* argv joined by spaces, for reports */
    char **argv;                   /* copy of the program's argv, NULL-terminated */
    char comm[16];                 /* short name (basename of argv[0]) */
    const struct run_options *opt; /* run options */
    gva_t clear_child_tid;         /* set_tid_address */
    gva_t robust_list;             /* set_robust_list head */
    struct linux_sigaction sigact[PROC_NSIG]; /* rt_sigaction, indexed by signal - 1 */
    uint64_t sigmask;                         /* blocked signals */
    struct linux_rlimit rlim[PROC_NRLIMIT];   /* getrlimit / prlimit64 */
    uint64_t syscalls;                        /* syscalls made */
    bool exited;                              /* it has ended */
    int exit_code;                            /* exit_group status (when term_signal == 0) */
    int term_signal;                          /* signal that ended it, or 0 */
    uint64_t start_ns;                        /* host monotonic time at start */
    uint64_t cpu_ns;                          /* host time spent running it */
};

/* A new process with an empty address space and the standard descriptors.
 * Returns 0 or -errno. */
int proc_create(struct vmsys *sys, struct cpu *cpu, const struct run_options *opt,
                struct proc **out);
void proc_destroy(struct proc *p);
/* Frees a NULL-terminated argv copy (NULL is fine). */
void proc_free_argv(char **argv);
/* Loads the program at path with argv/envp into p and sets up the CPU to start it.
 * On failure writes one line into err and returns -errno (-ENOENT, -ENOEXEC, ...). */
int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], char *err,
              size_t errlen);
/* Runs p until it ends; prints the crash report when a fault kills it. Returns 0 or -EIO. */
int proc_run(struct proc *p);
/* Ends p with an exit code (exit_group). */
void proc_exit(struct proc *p, int code);
/* Ends p with a signal. */
void proc_kill(struct proc *p, int signo);
/* Shell-style status: code, or 128 + signal. */
int proc_wait_status(const struct proc *p);

#endif
