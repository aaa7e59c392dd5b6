/* The kernel loop: load a program into a process (exec), and run every process of the
 * scheduler on the one CPU until all have ended, turning each stop of the CPU into what
 * Linux would do: a syscall (which may put the process to sleep), a switch to another
 * process, a signal delivered to a handler, an exit, or a fatal signal with a crash
 * report. The syscall entry (registers in, RAX out) is here too. With --gdb, every event
 * of the debugged process goes to the gdb stub first (gdbstub_stop). Called by main.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/gdbstub.h"
#include "vmemu/insn.h"
#include "vmemu/proc.h"
#include "vmemu/report.h"
#include "vmemu/sched.h"
#include "vmemu/signal.h"
#include "vmemu/syscall.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"

#define RFLAGS_TF      0x100ULL               /* trap flag: #DB after the next instruction */
#define WATCH_MAX_RUNS 16                     /* runs a step over a trapping instruction may take */
#define GDB_POLL_NS    (100ULL * 1000 * 1000) /* run time after which gdb's Ctrl-C is looked for */

/* Whether a process other than p can run now. */
static bool others_runnable(const struct sched *s, const struct proc *p)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i] != p && s->procs[i]->state == PROC_RUNNABLE)
            return true;
    return false;
}

/* Whether gdb is attached (--gdb and the session still open). */
static bool run_gdb(const struct sched *s)
{
    return s->gdb && gdbstub_attached(s->gdb);
}

/* Ends p (its status is set): gdb hears of it first, then the scheduler does the rest. */
static void run_end(struct sched *s, struct proc *p)
{
    if (run_gdb(s))
        gdbstub_stop(s->gdb, p, GDB_EV_EXIT, 0, proc_linux_status(p));
    sched_exit(p);
}

/* Reports signal sig of p to gdb (addr: the fault address, 0 for an asynchronous signal)
 * when gdb is attached. Returns the signal to deliver (gdb may discard it, 0, or change
 * it), or -1 when gdb killed p (p has then ended). */
static int run_gdb_signal(struct sched *s, struct proc *p, gva_t addr, int sig)
{
    if (!run_gdb(s))
        return sig;
    int give = gdbstub_stop(s->gdb, p, GDB_EV_SIGNAL, addr, sig);
    if (p->exited) {
        run_end(s, p);
        return -1;
    }
    return give;
}

/* gdb's Ctrl-C: p stops with SIGINT for gdb, which usually discards it (`handle SIGINT
 * nopass`); a signal it passes is sent to p. Returns that signal (0: none), or -1 when
 * gdb killed p (p has then ended). */
static int run_gdb_interrupt(struct sched *s, struct proc *p)
{
    if (!run_gdb(s) || !gdbstub_interrupted(s->gdb, p))
        return 0;
    int give = run_gdb_signal(s, p, 0, SIGINT);
    if (give > 0)
        signal_send(p, give, NULL);
    return give;
}

/* The `syscall` instruction: arguments from RDI, RSI, RDX, R10, R8, R9, number in RAX,
 * the result back in RAX. A handler that put the process to sleep leaves RIP on the
 * instruction and RAX = the number, so that it runs again when the process wakes. */
static void run_syscall(void *ctx, struct cpu *cpu)
{
    struct sched *s = ctx;
    struct proc *p = s->current;
    static const enum cpu_reg argregs[6] = {CPU_RDI, CPU_RSI, CPU_RDX, CPU_R10, CPU_R8, CPU_R9};
    uint64_t args[6];
    uint64_t nr = cpu_get(cpu, CPU_RAX);
    for (int i = 0; i < 6; i++)
        args[i] = cpu_get(cpu, argregs[i]);
    p->mm->sys_rip = cpu_get(cpu, CPU_RIP); /* the syscall instruction, inside the hook */
    long ret = syscall_dispatch(p, nr, args);
    if (ret == -SCHED_EBLOCK) {
        p->state = PROC_SLEEPING;
        cpu_set(cpu, CPU_RIP, p->mm->sys_rip);
        cpu_set(cpu, CPU_RAX, nr);
        cpu_request_stop(cpu);
        return;
    }
    p->retry = false;
    p->io_done = 0;
    if (!p->exited)
        cpu_set(cpu, CPU_RAX, (uint64_t)ret);
    if (p->exited || !p->mm || p->mm->oom || p->state != PROC_RUNNABLE || signal_next(p))
        cpu_request_stop(cpu); /* exit, OOM kill, vfork sleep, or a signal to deliver */
    else if (++s->slice_syscalls >= s->quantum && others_runnable(s, p))
        cpu_request_stop(cpu);
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

/* p ended with a fatal stop of the CPU: a signal handler may take it (SIGSEGV caught
 * after mprotect), else the crash report and the end of p. */
static void run_fatal(struct sched *s, struct proc *p, struct cpu_exit *ex)
{
    /* The fill callback only knows the page; an instruction fetch faults at RIP. */
    struct fault_info *fi = &p->mm->last_fault;
    if (ex->kind == CPU_EXIT_FAULT && fi->access == ACCESS_EXEC && PAGE_DOWN(ex->rip) == fi->va)
        fi->va = ex->rip;
    int signo = run_fatal_signal(p, ex);
    if (signo != SIGKILL) {
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
    if (signo != SIGKILL) {
        int code = 0;
        uint64_t addr = ex->rip;
        if (ex->kind == CPU_EXIT_FAULT) {
            code = fi->code;
            addr = fi->va;
        } else if (signo == SIGFPE) {
            code = 1; /* FPE_INTDIV */
        } else if (signo == SIGILL) {
            code = 2; /* ILL_ILLOPN */
        } else if (signo == SIGTRAP) {
            code = 0x80; /* SI_KERNEL */
        } else {
            code = 0x80; /* SI_KERNEL: privileged instruction or general protection */
            addr = 0;
        }
        if (signal_fault(p, signo, code, addr))
            return;
    }
    proc_kill(p, signo);
    report_crash(stderr, p, ex);
    run_end(s, p);
}

/* Saves the registers of fork children made during the run that just ended: they are the
 * parent's as the syscall returns (RAX is fixed up when the child first runs). */
static int run_save_children(struct sched *s, struct proc *parent)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *c = s->procs[i];
        if (!c->ctx_from_parent || c->parent != parent)
            continue;
        c->ctx_from_parent = false;
        if (!(c->ctx = cpu_context_new(s->cpu)))
            return -ENOMEM;
        if (run_gdb(s))
            gdbstub_stop(s->gdb, parent, GDB_EV_FORK, 0, c->pid);
    }
    return 0;
}

/* Makes p the running process: registers, address space, TLBs, and the register changes
 * it was waiting for (fork child's RAX, -EINTR of an interrupted sleep). */
static int run_switch_to(struct sched *s, struct proc *p)
{
    struct proc *prev = s->current;
    if (prev != p) {
        if (prev && prev->state != PROC_ZOMBIE && prev->state != PROC_DEAD) {
            if (!prev->ctx && !(prev->ctx = cpu_context_new(s->cpu)))
                return -ENOMEM;
            cpu_context_save(s->cpu, prev->ctx);
            /* vmemu's working directory is the running process's: keep prev's. */
            if (prev->cwd_fd >= 0)
                close(prev->cwd_fd);
            prev->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (p->cwd_fd >= 0 && fchdir(p->cwd_fd) < 0)
            return -errno;
        if (p->ctx)
            cpu_context_restore(s->cpu, p->ctx);
        s->current = p;
        s->sys->current = p->mm;
        tlb_flush(&s->sys->tlb);
        s->sys->cpu_flush_pending = true;
        s->switches++;
    }
    struct proc_regfix *f = &p->regfix;
    if (f->rax_set)
        cpu_set(s->cpu, CPU_RAX, f->rax);
    if (f->rip_set)
        cpu_set(s->cpu, CPU_RIP, f->rip);
    if (f->rsp_set)
        cpu_set(s->cpu, CPU_RSP, f->rsp);
    if (f->fs_set)
        cpu_set(s->cpu, CPU_FS_BASE, f->fs);
    memset(f, 0, sizeof(*f));
    s->slice_syscalls = 0;
    return 0;
}

/* Wakes p from its sleep. A signal ends the sleep with -EINTR, unless the handler's
 * SA_RESTART re-executes the syscall; any other wake re-executes it. */
static void run_wake(struct proc *p, bool by_signal)
{
    enum proc_wait_kind kind = p->wait.kind;
    free(p->wait.fds);
    p->wait.fds = NULL;
    p->wait.nfds = 0;
    p->state = PROC_RUNNABLE;
    if (kind == WAIT_VFORK) {
        p->wait.kind = WAIT_NONE; /* the vfork already returned: nothing to re-execute */
        return;
    }
    if (by_signal && !signal_restarts(p)) {
        p->regfix.rax_set = true;
        p->regfix.rax = (uint64_t)-EINTR;
        p->regfix.rip_set = true;
        p->regfix.rip = p->mm->sys_rip + 2;
        p->retry = false;
        p->io_done = 0;
        p->wait.kind = WAIT_NONE;
        return;
    }
    p->retry = !by_signal;
}

/* Whether a child of p (that waitpid could see) has ended. */
static bool has_zombie_child(const struct sched *s, const struct proc *p)
{
    bool any = false;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *c = s->procs[i];
        if (c->parent != p || c->state == PROC_DEAD)
            continue;
        any = true;
        if (c->state == PROC_ZOMBIE)
            return true;
    }
    return !any; /* no child left: wait4 now fails with ECHILD */
}

/* Whether the condition p sleeps on holds now (signals aside). */
static bool run_wait_done(const struct sched *s, struct proc *p, uint64_t now)
{
    struct proc_wait *w = &p->wait;
    if (w->deadline_ns && now >= w->deadline_ns)
        return true;
    switch (w->kind) {
    case WAIT_IO: {
        if (w->nfds == 0)
            return false;
        struct pollfd *pf = calloc(w->nfds, sizeof(*pf));
        if (!pf)
            return true; /* let the syscall run again and fail on its own */
        for (size_t i = 0; i < w->nfds; i++) {
            pf[i].fd = w->fds[i].hostfd;
            pf[i].events = w->fds[i].events;
        }
        int n = poll(pf, w->nfds, 0);
        free(pf);
        return n != 0;
    }
    case WAIT_CHILD:
        return has_zombie_child(s, p);
    case WAIT_VFORK:
        return !w->vfork_child || w->vfork_child->vfork_parent != p;
    case WAIT_FUTEX:
        return w->futex.woken;
    case WAIT_SIGNAL:
    case WAIT_TIMER:
    case WAIT_NONE:
        return false;
    }
    return false;
}

/* Fires timers and wakes every sleeper whose condition holds. Returns the earliest
 * deadline still ahead (0: none). */
static uint64_t run_wake_sleepers(struct sched *s)
{
    uint64_t now = now_ns();
    uint64_t next = signal_timers(s, now);
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->state != PROC_SLEEPING)
            continue;
        if (signal_wakes(p))
            run_wake(p, true);
        else if (run_wait_done(s, p, now))
            run_wake(p, false);
        else if (p->wait.deadline_ns && (!next || p->wait.deadline_ns < next))
            next = p->wait.deadline_ns;
    }
    return next;
}

/* The next runnable process after the current one, round robin in pid order. */
static struct proc *run_pick(struct sched *s)
{
    size_t start = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i] == s->current)
            start = i + 1;
    for (size_t k = 0; k < s->nprocs; k++) {
        struct proc *p = s->procs[(start + k) % s->nprocs];
        if (p->state == PROC_RUNNABLE)
            return p;
    }
    return NULL;
}

/* Nothing can run: wait on the host for a descriptor some process sleeps on, or for the
 * earliest deadline. With neither, every process waits for another forever (a deadlock
 * Linux would hang in): vmemu reports it and ends them with SIGKILL. */
static void run_idle(struct sched *s, uint64_t deadline)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->state == PROC_SLEEPING && s->procs[i]->wait.kind == WAIT_IO)
            n += s->procs[i]->wait.nfds;
    if (n == 0 && deadline == 0) {
        s->deadlocks++;
        fprintf(stderr, "vmemu: deadlock: every process sleeps and nothing can wake it; "
                        "killing them (SIGKILL)\n");
        for (size_t i = 0; i < s->nprocs; i++) {
            struct proc *p = s->procs[i];
            if (p->state == PROC_SLEEPING) {
                proc_kill(p, SIGKILL);
                run_end(s, p);
            }
        }
        return;
    }
    struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
    if (!pf)
        return;
    size_t k = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *p = s->procs[i];
        if (p->state != PROC_SLEEPING || p->wait.kind != WAIT_IO)
            continue;
        for (size_t j = 0; j < p->wait.nfds; j++) {
            pf[k].fd = p->wait.fds[j].hostfd;
            pf[k++].events = p->wait.fds[j].events;
        }
    }
    int timeout = -1;
    if (deadline) {
        uint64_t now = now_ns();
        timeout = deadline <= now ? 0 : (int)((deadline - now + 999999) / 1000000);
    }
    poll(pf, n, timeout);
    free(pf);
}

/* After a run that stopped on a trap: gdb's breakpoint (int3, RIP after it) or the end
 * of its single step (#DB of the trap flag). Returns true when gdb took the trap. */
static bool run_gdb_trap(struct sched *s, struct proc *p, const struct cpu_exit *ex)
{
    if (!run_gdb(s) || ex->kind != CPU_EXIT_TRAP)
        return false;
    if (ex->intno == 1)
        gdbstub_stop(s->gdb, p, GDB_EV_STEP, ex->rip, 0);
    else
        gdbstub_stop(s->gdb, p, GDB_EV_BREAKPOINT, ex->rip - 1, 0);
    return true;
}

/* After a run that ended at a syscall: an exec of p, and the end of a single step over
 * the syscall instruction (the stop came before the trap flag's #DB). */
static void run_gdb_syscall(struct sched *s, struct proc *p, const struct mm *before)
{
    if (!run_gdb(s) || p->exited || p->state != PROC_RUNNABLE)
        return;
    if (p->mm != before)
        gdbstub_stop(s->gdb, p, GDB_EV_EXEC, 0, 0);
    else if (cpu_get(s->cpu, CPU_RFLAGS) & 0x100 /* TF */)
        gdbstub_stop(s->gdb, p, GDB_EV_STEP, cpu_get(s->cpu, CPU_RIP), 0);
}

/* Whether the instruction at RIP, whose access of `access` to page trapped, hits a
 * watchpoint: its kind (2-4), with *addr the first byte hit. The access is decoded with
 * insn_mem_access; when the decoder cannot tell, the whole page counts. */
static int run_watch_hit(struct sched *s, struct proc *p, gva_t page, enum access access,
                         gva_t *addr)
{
    uint64_t regs[CPU_NREGS];
    uint8_t code[INSN_MAX_LEN];
    gva_t ea = page, size = PAGE_SIZE;
    unsigned n;
    for (int i = 0; i < CPU_NREGS; i++)
        regs[i] = cpu_get(s->cpu, (enum cpu_reg)i);
    size_t len = copy_from_user_nofault(p->mm, code, regs[CPU_RIP], sizeof(code));
    if (len > 0 && insn_mem_access(code, len, regs, page, access, &ea, &n) == 0)
        size = n;
    else
        ea = page;
    return gdbstub_watch_hit(s->gdb, p->mm, ea, size, access, addr);
}

/* A run that stopped on a watchpoint's page trap (CPU_EXIT_WATCH, the instruction has not
 * run): runs that one instruction with the traps of its pages suspended (the trap flag's
 * #DB ends the step, as gdb's stepi), re-arms them, and reports a hit to gdb after the
 * instruction, as x86 debug registers do; a miss goes on silently (or ends gdb's own
 * step). Returns 1 when done, 0 when the step ended otherwise (a fault: *ex says which,
 * for the caller), or -errno. */
static int run_watch(struct sched *s, struct proc *p, struct cpu_exit *ex)
{
    bool stepping = cpu_get(s->cpu, CPU_RFLAGS) & RFLAGS_TF; /* gdb's step, or the guest's */
    int kind = 0;
    gva_t addr = 0;
    for (int runs = 0; runs < WATCH_MAX_RUNS; runs++) {
        if (ex->kind == CPU_EXIT_WATCH) {
            if (!kind)
                kind = run_watch_hit(s, p, ex->page, ex->access, &addr);
            if (gdbstub_watch_skip(s->gdb, ex->page) < 0)
                break;
        } else if (ex->kind != CPU_EXIT_PREEMPT) {
            break;
        }
        cpu_set(s->cpu, CPU_RFLAGS, cpu_get(s->cpu, CPU_RFLAGS) | RFLAGS_TF);
        int rc = cpu_run(s->cpu, ex);
        if (rc < 0)
            return rc;
    }
    gdbstub_watch_rearm(s->gdb);
    if (!stepping)
        cpu_set(s->cpu, CPU_RFLAGS, cpu_get(s->cpu, CPU_RFLAGS) & ~RFLAGS_TF);
    if (ex->kind != CPU_EXIT_TRAP || ex->intno != 1)
        return 0;
    if (kind && run_gdb(s))
        gdbstub_stop(s->gdb, p, GDB_EV_WATCH, addr, kind);
    else if (stepping && run_gdb(s))
        gdbstub_stop(s->gdb, p, GDB_EV_STEP, ex->rip, 0);
    return 1;
}

/* Runs p (the current process) until it sleeps, ends, or its slice is over. */
static int run_slice(struct sched *s, struct proc *p)
{
    int passed = 0; /* the signal gdb just chose instead of another: not reported again */
    for (;;) {
        int irq = run_gdb_interrupt(s, p);
        if (irq < 0)
            return 0;
        if (irq > 0)
            passed = irq; /* gdb saw it already */
        int sig = signal_next(p);
        if (sig && sig != passed) {
            int give = run_gdb_signal(s, p, 0, sig);
            if (give < 0)
                return 0;
            if (give != sig) {
                p->sigpending &= ~(1ULL << (sig - 1));
                if (give > 0)
                    signal_send(p, give, NULL);
                passed = give;
                continue; /* the next pending signal, if any, is gdb's too */
            }
        }
        passed = 0;
        if (sig && signal_deliver(p)) {
            run_end(s, p);
            return 0;
        }
        uint64_t timers = run_wake_sleepers(s);
        /* Only a due timer needs host time: it must fire even in a loop that makes no
         * syscall (a signal it waits for, a sleeper's timeout). Other runnable processes
         * wait for the quantum, which keeps the switches deterministic. */
        /* With gdb attached, runs also stop every GDB_POLL_NS for a look at gdb's Ctrl-C;
         * such a stop goes on with the same process. */
        bool poll = run_gdb(s);
        if (timers || poll)
            cpu_preempt_anywhere(s->cpu);
        cpu_set_watchdog(s->cpu, timers ? SCHED_WATCHDOG_NS : poll ? GDB_POLL_NS : 0);
        struct cpu_exit ex;
        const struct mm *mm_before = p->mm;
        uint64_t t0 = now_ns();
        int rc = cpu_run(s->cpu, &ex);
        if (rc == 0 && ex.kind == CPU_EXIT_WATCH && (rc = run_watch(s, p, &ex)) == 1) {
            p->cpu_ns += now_ns() - t0;
            if (p->exited) {
                run_end(s, p);
                return 0;
            }
            continue;
        }
        p->cpu_ns += now_ns() - t0;
        if (rc < 0)
            return rc;
        if ((rc = run_save_children(s, p)) < 0)
            return rc;
        if (p->exited) {
            run_end(s, p);
            return 0;
        }
        if (run_gdb_trap(s, p, &ex)) {
            if (p->exited) {
                run_end(s, p);
                return 0;
            }
            continue;
        }
        if (ex.kind == CPU_EXIT_STOP && !p->mm->oom)
            run_gdb_syscall(s, p, mm_before);
        if (p->exited) { /* killed from gdb */
            run_end(s, p);
            return 0;
        }
        if (ex.kind == CPU_EXIT_STOP && p->mm->oom) {
            ex.kind = CPU_EXIT_OOM; /* inside a syscall: report at the syscall instruction */
            ex.rip = p->mm->sys_rip;
        }
        if (ex.kind == CPU_EXIT_PREEMPT && !timers)
            continue; /* gdb's poll only: the loop looks for a Ctrl-C */
        if (ex.kind == CPU_EXIT_PREEMPT) {
            s->watchdog_stops++;
            return 0;
        }
        if (ex.kind != CPU_EXIT_STOP) {
            run_fatal(s, p, &ex);
            if (p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
                return 0;
            continue;
        }
        if (p->state != PROC_RUNNABLE)
            return 0;
        if (s->slice_syscalls >= s->quantum && others_runnable(s, p))
            return 0;
    }
}

/* Runs every process until all have ended. */
int sched_run(struct sched *s)
{
    cpu_set_syscall_handler(s->cpu, run_syscall, s);
    if (run_gdb(s) && s->nprocs > 0 && run_switch_to(s, s->procs[0]) == 0) {
        struct proc *first = s->procs[0];
        gdbstub_stop(s->gdb, first, GDB_EV_START, cpu_get(s->cpu, CPU_RIP), 0);
        if (first->exited)
            run_end(s, first);
    }
    for (;;) {
        uint64_t deadline = run_wake_sleepers(s);
        struct proc *p = run_pick(s);
        if (!p) {
            if (sched_nr_live(s) == 0)
                break;
            run_idle(s, deadline);
            continue;
        }
        int rc = run_switch_to(s, p);
        if (rc == 0)
            rc = run_slice(s, p);
        if (rc < 0)
            return rc;
    }
    cpu_set_watchdog(s->cpu, 0);
    return 0;
}
