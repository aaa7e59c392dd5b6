/* The kernel loop: load a program into a process (exec) and run it on the CPU until it
 * ends, turning each stop of the CPU into what Linux would do: a syscall, an exit, or a
 * fatal signal with a crash report. The syscall entry (registers in, RAX out) is here too.
 * Called by main.c. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/loader.h"
#include "vmemu/proc.h"
#include "vmemu/report.h"
#include "vmemu/syscall.h"
#include "vmemu/util.h"

/* The `syscall` instruction: arguments from RDI, RSI, RDX, R10, R8, R9, number in RAX,
 * the result back in RAX. */
static void run_syscall(void *ctx, struct cpu *cpu)
{
    struct proc *p = ctx;
    static const enum cpu_reg argregs[6] = {CPU_RDI, CPU_RSI, CPU_RDX, CPU_R10, CPU_R8, CPU_R9};
    uint64_t args[6];
    uint64_t nr = cpu_get(cpu, CPU_RAX);
    for (int i = 0; i < 6; i++)
        args[i] = cpu_get(cpu, argregs[i]);
    p->mm->sys_rip = cpu_get(cpu, CPU_RIP); /* the syscall instruction, inside the hook */
    long ret = syscall_dispatch(p, nr, args);
    if (!p->exited)
        cpu_set(cpu, CPU_RAX, (uint64_t)ret);
    if (p->mm->oom)
        cpu_request_stop(cpu); /* a copy to or from the guest found no frame: OOM kill */
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

/* Loads the program at path into p (whose address space must be empty) and points the CPU
 * at its entry. On failure writes one line into err and returns -errno. */
int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], char *err,
              size_t errlen)
{
    struct exec_image img;
    gva_t sp;
    int rc = exec_load(p->mm, path, &img, err, errlen);
    if (rc < 0)
        return rc;
    rc = stack_setup(p->mm, &img, path, argv, envp, &sp);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot set up the stack: %s", path, strerror(-rc));
        return rc;
    }
    free(p->exe);
    free(p->cmdline);
    proc_free_argv(p->argv);
    p->exe = realpath(path, NULL);
    if (!p->exe)
        p->exe = strdup(path);
    p->cmdline = join_args(argv);
    p->argv = copy_args(argv);
    if (!p->exe || !p->cmdline || !p->argv)
        return -ENOMEM;
    const char *base = strrchr(argv[0] ? argv[0] : path, '/');
    snprintf(p->comm, sizeof(p->comm), "%s", base ? base + 1 : (argv[0] ? argv[0] : path));
    p->sys->current = p->mm;
    tlb_flush(&p->sys->tlb);
    if (p->cpu)
        cpu_reset_regs(p->cpu, img.entry, sp);
    return 0;
}

/* The signal Linux sends for a CPU stop that is not a syscall. */
static int run_fatal_signal(const struct proc *p, const struct cpu_exit *ex)
{
    switch (ex->kind) {
    case CPU_EXIT_FAULT:
        return p->mm->last_fault.signo;
    case CPU_EXIT_OOM:
        return SIGKILL;
    case CPU_EXIT_ILLEGAL:
        return SIGILL;
    case CPU_EXIT_DIVIDE:
        return SIGFPE;
    case CPU_EXIT_TRAP:
        return SIGTRAP;
    default:
        return SIGSEGV;
    }
}

/* Runs p until it exits or a fatal signal ends it (with a crash report on stderr).
 * Returns 0, or -EIO when the CPU itself failed. */
int proc_run(struct proc *p)
{
    cpu_set_syscall_handler(p->cpu, run_syscall, p);
    p->sys->current = p->mm;
    while (!p->exited) {
        struct cpu_exit ex;
        uint64_t t0 = now_ns();
        int rc = cpu_run(p->cpu, &ex);
        p->cpu_ns += now_ns() - t0;
        if (rc < 0)
            return rc;
        if (ex.kind == CPU_EXIT_STOP && !p->exited && p->mm->oom) {
            ex.kind = CPU_EXIT_OOM; /* inside a syscall: report at the syscall instruction */
            ex.rip = p->mm->sys_rip;
        }
        if (ex.kind == CPU_EXIT_STOP)
            continue;
        /* The fill callback only knows the page; an instruction fetch faults at RIP. */
        struct fault_info *fi = &p->mm->last_fault;
        if (ex.kind == CPU_EXIT_FAULT && fi->access == ACCESS_EXEC && PAGE_DOWN(ex.rip) == fi->va)
            fi->va = ex.rip;
        int signo = run_fatal_signal(p, &ex);
        proc_kill(p, signo);
        report_crash(stderr, p, &ex);
    }
    return 0;
}
