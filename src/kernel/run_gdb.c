/* The debugger's side of the kernel loop (--gdb): every event of the debugged process
 * (a signal, a breakpoint or single step, an exec, the end) goes to the gdb stub first, and
 * gdb's answer decides what the loop does; watchpoints run the trapped instruction with its
 * pages open and report a hit after it, as x86 debug registers do. */

#include "kernel_int.h"

#include "vmemu/abi/linux.h"
#include "vmemu/gdbstub.h"
#include "vmemu/insn.h"
#include "vmemu/signal.h"
#include "vmemu/uaccess.h"

/* Whether gdb is attached (--gdb and the session still open). */
bool run_gdb(const struct sched *s)
{
    return s->gdb && gdbstub_attached(s->gdb);
}

/* Ends p (its status is set): gdb hears of it first, then the scheduler does the rest. */
void run_end(struct sched *s, struct proc *p)
{
    if (run_gdb(s))
        gdbstub_stop(s->gdb, p, GDB_EV_EXIT, 0, proc_linux_status(p));
    sched_exit(p);
}

/* Reports signal sig of p to gdb (addr: the fault address, 0 for an asynchronous signal)
 * when gdb is attached. Returns the signal to deliver (gdb may discard it, 0, or change
 * it), or -1 when gdb killed p (p has then ended). */
int run_gdb_signal(struct sched *s, struct proc *p, gva_t addr, int sig)
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
int run_gdb_interrupt(struct sched *s, struct proc *p)
{
    if (!run_gdb(s) || !gdbstub_interrupted(s->gdb, p))
        return 0;
    int give = run_gdb_signal(s, p, 0, LINUX_SIGINT);
    if (give > 0)
        signal_send(p, give, NULL);
    return give;
}

/* After a run that stopped on a trap: gdb's breakpoint (int3, RIP after it) or the end
 * of its single step (#DB of the trap flag). Returns true when gdb took the trap. */
bool run_gdb_trap(struct sched *s, struct proc *p, const struct cpu_exit *ex)
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
void run_gdb_syscall(struct sched *s, struct proc *p, const struct mm *before)
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
int run_watch(struct sched *s, struct proc *p, struct cpu_exit *ex)
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
        } else if (ex->kind != CPU_EXIT_PREEMPT && ex->kind != CPU_EXIT_QUANTUM) {
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
