/* Signals as Linux delivers them on x86-64: pending sets with their siginfo, default
 * actions, the rt_sigframe (siginfo_t, ucontext_t with the general registers and the
 * FXSAVE area) on the user or alternate stack, rt_sigreturn, and ITIMER_REAL.
 * (src/proc/signal.c; the syscalls are in syscalls/sys_signal.c.) The scheduler calls
 * signal_deliver() between runs of the current process, and signal_wakes() /
 * signal_restarts() for a sleeping one. */
#ifndef VMEMU_SIGNAL_H
#define VMEMU_SIGNAL_H

#include "vmemu/proc.h"

/* Makes sig (1..64) pending for p with info (NULL: SI_KERNEL, no sender). A signal that
 * is ignored (SIG_IGN, or SIG_DFL whose default is to ignore: SIGCHLD, SIGURG, SIGWINCH,
 * SIGCONT) and not blocked is discarded, as Linux does. A second instance of a pending
 * standard signal is merged into the first. */
void signal_send(struct proc *p, int sig, const struct linux_siginfo *info);
/* The lowest pending signal p does not block, or 0. */
int signal_next(const struct proc *p);
/* Whether a sleeping p must wake for its pending signals (one is deliverable). */
bool signal_wakes(const struct proc *p);
/* For a syscall that slept (restartable as proc->wait.restartable says) and is cut
 * short by the signal that signal_next() returns: true when it is re-executed after the
 * handler (SA_RESTART), false when it returns -EINTR. */
bool signal_restarts(const struct proc *p);
/* Delivers p's deliverable pending signals. p is the running process and its registers
 * are in the CPU (between runs, RIP where it will resume). Default actions: terminate
 * (and core) end p with proc_kill; stop is treated as terminate; ignore drops it. A
 * handler gets Linux's rt_sigframe on its stack (alternate stack with SA_ONSTACK), its
 * mask, RIP at the handler with RDI=sig, RSI=&info, RDX=&uc, and returns through
 * SA_RESTORER. A frame that cannot be written kills p with SIGSEGV (Linux's
 * force_sigsegv). Returns true when p has ended. */
bool signal_deliver(struct proc *p);
/* A synchronous fault of the running process (its registers in the CPU, RIP at the
 * faulting instruction): when p neither blocks nor ignores sig and has a handler, the
 * signal (with si_code and si_addr) is queued and delivered now and true is returned;
 * otherwise false, and the caller reports the crash and kills p. */
bool signal_fault(struct proc *p, int sig, int code, uint64_t addr);
/* signal_fault for a CPU exception other than a page fault: the frame's trapno is trapno
 * (13 for the #GP of a privileged instruction, 3 for int3) and its error code 0, as Linux
 * reports them; trapno -1 is signal_fault. */
bool signal_fault_trap(struct proc *p, int sig, int code, uint64_t addr, int trapno);
/* Whether sig's default action dumps core (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
 * SIGQUIT, SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ). */
bool signal_default_core(int sig);
/* execve: caught signals go back to SIG_DFL (ignored ones stay ignored), the alternate
 * stack is disabled; mask and pending signals are kept. */
void signal_exec_reset(struct proc *p);

#endif
