/* The trap entry of the kernel loop: the `syscall` instruction (registers in, the
 * dispatcher, RAX out, and whether the run must stop), and the fatal stops of the CPU (a
 * fault, an illegal instruction, a division by zero), which become the signal Linux sends:
 * to a handler, or the end of the process with a crash report. */

#include "kernel_int.h"

#include "vmemu/abi/linux.h"
#include "vmemu/report.h"
#include "vmemu/signal.h"
#include "vmemu/syscall.h"

/* The `syscall` instruction: arguments from RDI, RSI, RDX, R10, R8, R9, number in RAX,
 * the result back in RAX. A handler that put the process to sleep leaves RIP on the
 * instruction and RAX = the number, so that it runs again when the process wakes. */
void trap_syscall(void *ctx, struct cpu *cpu)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    static const enum cpu_reg argregs[6] = {CPU_RDI, CPU_RSI, CPU_RDX, CPU_R10, CPU_R8, CPU_R9};
    uint64_t args[6];
    uint64_t nr = cpu_get(cpu, CPU_RAX);
    for (int i = 0; i < 6; i++)
        args[i] = cpu_get(cpu, argregs[i]);
    p->trap.rip = cpu_get(cpu, CPU_RIP); /* the syscall instruction, inside the hook */
    sched_clock_syscall(s);
    long ret = syscall_dispatch(p, nr, args);
    if (ret == -SCHED_EBLOCK) {
        p->state = PROC_SLEEPING;
        cpu_set(cpu, CPU_RIP, p->trap.rip);
        cpu_set(cpu, CPU_RAX, nr);
        cpu_request_stop(cpu);
        return;
    }
    p->retry = false;
    p->io_done = 0;
    if (!p->exited)
        cpu_set(cpu, CPU_RAX, (uint64_t)ret);
    if (p->exited || !p->mm || p->mm->oom || p->state != PROC_RUNNABLE || signal_next(p) ||
        s->timer_armed) {
        /* exit, OOM kill, vfork sleep, a signal to deliver, or a timer the slice must
         * stop for (a loop with no syscall may follow) */
        s->timer_armed = false;
        cpu_request_stop(cpu);
    } else if ((++s->slice_syscalls >= s->quantum || s->yield) && sched_others_runnable(s, p))
        cpu_request_stop(cpu);
}

/* The signal Linux sends for a CPU stop that is not a syscall. */
static int trap_signal(const struct proc *p, const struct cpu_exit *ex)
{
    switch (ex->kind) {
    case CPU_EXIT_FAULT:
        return p->mm->last_fault.signo;
    case CPU_EXIT_OOM:
        return LINUX_SIGKILL;
    case CPU_EXIT_ILLEGAL:
        return LINUX_SIGILL;
    case CPU_EXIT_DIVIDE:
        return LINUX_SIGFPE;
    case CPU_EXIT_TRAP:
        return LINUX_SIGTRAP;
    default:
        return LINUX_SIGSEGV;
    }
}

/* p ended with a fatal stop of the CPU: a signal handler may take it (SIGSEGV caught
 * after mprotect), else the crash report and the end of p. */
void trap_fatal(struct sched *s, struct proc *p, struct cpu_exit *ex)
{
    /* The fill callback only knows the page; an instruction fetch faults at RIP. */
    struct fault_info *fi = &p->mm->last_fault;
    if (ex->kind == CPU_EXIT_FAULT && fi->access == ACCESS_EXEC && PAGE_DOWN(ex->rip) == fi->va)
        fi->va = ex->rip;
    int signo = trap_signal(p, ex);
    if (signo != LINUX_SIGKILL) {
        /* gdb sees the faulting instruction. Discarding the signal runs the instruction
         * again (as on Linux: it faults again unless gdb changed something); another
         * signal is delivered as if sent. */
        int give = run_gdb_signal(s, p, ex->kind == CPU_EXIT_FAULT ? fi->va : ex->rip, signo);
        if (give <= 0)
            return;
        if (give != signo) {
            signal_send(p, give, NULL);
            if (signal_deliver(p))
                run_end(s, p);
            return;
        }
    }
    if (signo != LINUX_SIGKILL) {
        int code = 0, trapno = -1;
        uint64_t addr = ex->rip;
        if (ex->kind == CPU_EXIT_FAULT) {
            code = fi->code;
            addr = fi->va;
        } else if (signo == LINUX_SIGFPE) {
            code = 1; /* FPE_INTDIV */
        } else if (signo == LINUX_SIGILL) {
            code = 2; /* ILL_ILLOPN */
        } else if (signo == LINUX_SIGTRAP) {
            code = 0x80; /* SI_KERNEL */
            trapno = ex->intno;
        } else {
            code = 0x80; /* SI_KERNEL: privileged instruction or general protection */
            addr = 0;
            trapno = ex->kind == CPU_EXIT_EXCEPTION ? ex->intno : -1;
        }
        if (signal_fault_trap(p, signo, code, addr, trapno))
            return;
    }
    proc_kill(p, signo);
    report_crash(stderr, p, ex);
    run_end(s, p);
}
