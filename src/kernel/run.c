/* The kernel loop: runs every process of the scheduler on the one CPU until all have
 * ended. Each run of the CPU ends in a stop that becomes what Linux would do: a syscall
 * (trap.c), a switch to another process, a signal delivered to a handler, an exit, or a
 * fatal signal with a crash report; with --gdb the debugger hears of each first
 * (run_gdb.c). Called by main.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_int.h"

#include "vmemu/abi/linux.h"
#include "vmemu/gdbstub.h"
#include "vmemu/run.h"
#include "vmemu/signal.h"
#include "vmemu/util.h"

/* Saves the registers of fork children and threads made during the run that just ended:
 * they are the creator's as the syscall returns (RAX, and for a thread RSP and the FS
 * base, are fixed up when the child first runs). */
static int run_save_children(struct sched *s, struct proc *parent)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *c = s->procs[i];
        if (!c->ctx_from_parent) /* only the run that just ended can have made it */
            continue;
        c->ctx_from_parent = false;
        if (!(c->ctx = cpu_context_new(s->cpu)))
            return -ENOMEM;
        if (run_gdb(s) && c->leader == c)
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
        /* Threads of one process share the address space and the working directory. */
        bool same = prev && prev->leader == p->leader && prev->mm == p->mm;
        if (prev && prev->state != PROC_ZOMBIE && prev->state != PROC_DEAD) {
            if (!prev->ctx && !(prev->ctx = cpu_context_new(s->cpu)))
                return -ENOMEM;
            cpu_context_save(s->cpu, prev->ctx);
        }
        if (prev && !same && !sched_process_ended(prev->leader)) {
            /* vmemu's working directory is the running process's: keep prev's. */
            struct proc *g = prev->leader;
            if (g->cwd_fd >= 0)
                close(g->cwd_fd);
            g->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (!same && p->leader->cwd_fd >= 0 && fchdir(p->leader->cwd_fd) < 0)
            return -errno;
        if (p->ctx)
            cpu_context_restore(s->cpu, p->ctx);
        /* Both TLBs hold translations of sys->current: they stay valid when p runs in the
         * same address space (threads of one mm, a vfork child and its parent). A freed mm
         * is no longer current (mm_destroy), so a new one at its address is a change. */
        bool new_mm = s->sys->current != p->mm || p->mm == NULL;
        s->current = p;
        s->sys->current = p->mm;
        s->sys->charge = &p->vmstat;
        if (new_mm) {
            tlb_flush(&s->sys->tlb);
            s->sys->cpu_flush_pending |= VM_FLUSH_SWITCH;
        }
        s->switches++;
        p->switches++;
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
    s->yield = false;
    return 0;
}

/* A deadlock (sched_idle): every sleeping process ends with SIGKILL. */
static void run_kill_sleepers(struct sched *s)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->state == PROC_SLEEPING) {
            proc_kill(p, LINUX_SIGKILL);
            run_end(s, p);
        }
    }
}

/* The run that just ended counts as p's CPU time, on the guest's clock. */
static void run_account(struct sched *s, struct proc *p)
{
    p->cpu_ns += sched_now(s) - s->clock.run_start;
    s->clock.run_start = 0;
}

/* Runs p (the current process) until it sleeps, ends, or its slice is over. */
static int run_slice(struct sched *s, struct proc *p)
{
    int passed = 0;           /* the signal gdb just chose instead of another: not reported again */
    uint64_t quantum_end = 0; /* cpu_blocks() where the threads' block quantum ends (0: none) */
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
        uint64_t deadline = sched_wake_sleepers(s);
        /* A due timer must fire even in a loop that makes no syscall (a signal it waits
         * for, a sleeper's timeout). On the host's clock the watchdog ends the slice after
         * SCHED_WATCHDOG_NS of host time; a virtual clock ends it at the block where the
         * clock reaches the deadline. Other runnable processes wait for the quantum, which
         * keeps the switches deterministic. */
        bool timers = deadline && !s->clock.virt;
        /* With gdb attached, runs also stop every GDB_POLL_NS for a look at gdb's Ctrl-C;
         * such a stop goes on with the same process. */
        bool poll = run_gdb(s);
        if (timers || poll)
            cpu_preempt_anywhere(s->cpu);
        cpu_set_watchdog(s->cpu, timers ? SCHED_WATCHDOG_NS : poll ? GDB_POLL_NS : 0);
        if (!quantum_end && sched_threads_runnable(s, p)) {
            /* A thread that never makes a syscall (a spin on memory) must let the others
             * run: the slice ends after SCHED_BLOCK_QUANTUM blocks, at the same place in
             * every run. Processes keep their syscall quantum only: the block hook would
             * slow a pipeline's tight loops, and they rarely spin on each other. */
            cpu_preempt_anywhere(s->cpu);
            quantum_end = cpu_blocks(s->cpu) + SCHED_BLOCK_QUANTUM;
        }
        uint64_t budget = sched_clock_blocks_until(s, deadline);
        if (quantum_end) {
            uint64_t left = quantum_end > cpu_blocks(s->cpu) ? quantum_end - cpu_blocks(s->cpu) : 1;
            budget = budget && budget < left ? budget : left;
        }
        cpu_set_block_budget(s->cpu, budget);
        struct cpu_exit ex;
        const struct mm *mm_before = p->mm;
        s->clock.run_start = sched_now(s);
        int rc = cpu_run(s->cpu, &ex);
        if (rc == 0 && ex.kind == CPU_EXIT_WATCH && (rc = run_watch(s, p, &ex)) == 1) {
            run_account(s, p);
            if (p->exited) {
                run_end(s, p);
                return 0;
            }
            continue;
        }
        run_account(s, p);
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
            ex.rip = p->trap.rip;
        }
        if (ex.kind == CPU_EXIT_QUANTUM)
            return 0; /* the next runnable task's turn, or a deadline reached */
        if (ex.kind == CPU_EXIT_PREEMPT && !timers)
            continue; /* gdb's poll only: the loop looks for a Ctrl-C */
        if (ex.kind == CPU_EXIT_PREEMPT) {
            s->watchdog_stops++;
            return 0;
        }
        if (ex.kind != CPU_EXIT_STOP) {
            trap_fatal(s, p, &ex);
            if (p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
                return 0;
            continue;
        }
        if (p->state != PROC_RUNNABLE)
            return 0;
        if ((s->slice_syscalls >= s->quantum || s->yield) && sched_others_runnable(s, p))
            return 0;
        s->yield = false;
    }
}

/* Runs every process until all have ended. */
int run_all(struct sched *s)
{
    cpu_set_syscall_handler(s->cpu, trap_syscall, s);
    if (s->clock.virt)
        cpu_preempt_anywhere(s->cpu); /* the virtual clock counts every block */
    if (run_gdb(s) && s->nprocs > 0 && run_switch_to(s, s->procs[0]) == 0) {
        struct proc *first = s->procs[0];
        gdbstub_stop(s->gdb, first, GDB_EV_START, cpu_get(s->cpu, CPU_RIP), 0);
        if (first->exited)
            run_end(s, first);
    }
    for (;;) {
        sched_collect(s);
        uint64_t deadline = sched_wake_sleepers(s);
        struct proc *p = sched_pick(s);
        if (!p) {
            if (sched_nr_live(s) == 0)
                break;
            if (sched_idle(s, deadline))
                run_kill_sleepers(s);
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
