/* The one entry point from a guest `syscall` instruction to its handler. A static array
 * of handlers indexed by syscall number is built from SYSCALL_TABLE
 * (vmemu/abi/syscall_table.h). Unknown or unimplemented numbers return -ENOSYS and are
 * reported once per number on stderr. With --trace each call gets one line, formatted by
 * syscalls/trace.c. Called by the trap entry (src/kernel/trap.c) with the six raw argument
 * registers. */
#include <inttypes.h>
#include <stdio.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "trace.h"
#include "vmemu/debug_hooks.h"
#include "vmemu/sched.h"
#include "vmemu/syscall.h"
#include "vmemu/warn_once.h"

/* One table entry, indexed by syscall number: the handler sys_NAME of sysdefs.h. */
#define SYSCALL_HANDLER(nr, name, ...) [nr] = sys_##name,

/* The handler of every syscall number; NULL = not in the table. */
static long (*const syscall_table[SYSCALL_NR_LIMIT])(struct proc *p, const uint64_t *a) = {
    SYSCALL_TABLE(SYSCALL_HANDLER)};

#undef SYSCALL_HANDLER

/* Syscall numbers already reported as unimplemented (once each, for the whole run). */
static struct warn_once enosys_reported;

#ifdef VMEMU_CHECK_VM
/* Whether syscall nr changes address spaces: the whole-VM check follows each of them in
 * the sanitizer build. */
static bool syscall_changes_memory(uint64_t nr)
{
    switch (nr) {
    case NR_mmap:
    case NR_munmap:
    case NR_mprotect:
    case NR_mremap:
    case NR_madvise:
    case NR_brk:
    case NR_msync:
    case NR_mlock:
    case NR_munlock:
    case NR_mlockall:
    case NR_munlockall:
    case NR_fork:
    case NR_vfork:
    case NR_clone:
    case NR_execve:
    case NR_execveat:
    case NR_shmat:
    case NR_shmdt:
        return true;
    default:
        return false;
    }
}
#endif

/* Runs syscall nr with its six raw arguments for p and returns the value for RAX (>= 0 or
 * -errno); counts it in p->syscalls. With --trace (p->opt->trace), writes one strace-like
 * line: "[PID] name(args) = RET", "= -1 ENOENT (No such file or directory)" for errors,
 * "= ?" for exit/exit_group, whose line is written before they run. A number that is not
 * in the table returns -ENOSYS and is reported on stderr the first time it is seen. */
long syscall_dispatch(struct proc *p, uint64_t nr, const uint64_t args[6])
{
    long (*fn)(struct proc * p, const uint64_t *a) = NULL;
    FILE *trace = p->opt != NULL ? p->opt->trace : NULL;
    struct trace_buf tb;
    long ret;

    /* A trap of the attached debugging tool (the heap checker's intercepted allocator
     * calls) is no syscall: not counted, not traced; the tool has set every register. */
    const struct proc_observer *ob = p->opt != NULL ? p->opt->observer : NULL;
    if (ob != NULL && p->cpu != NULL && p->mm != NULL && ob->syscall(p, p->trap.rip))
        return (long)cpu_get(p->cpu, CPU_RAX);
    p->syscalls++;
    if (nr < SYSCALL_NR_LIMIT)
        fn = syscall_table[nr];
    if (trace != NULL) {
        tb.len = 0;
        tb.s[0] = '\0';
        trace_call(&tb, p, nr, args);
        if (nr == NR_exit || nr == NR_exit_group) {
            fprintf(trace, "%s = ?\n", tb.s);
            fflush(trace);
        }
    }
    if (fn != NULL) {
        p->trap.nr = (int)nr;
        p->trap.seq = p->syscalls;
        ret = fn(p, args);
        p->trap.nr = -1;
#ifdef VMEMU_CHECK_VM
        if (ret != -SCHED_EBLOCK && syscall_changes_memory(nr))
            sched_check_vm(p->sched, syscall_name(nr));
#endif
    } else {
        ret = -ENOSYS;
        if (warn_once(&enosys_reported, nr)) {
            const char *name = syscall_name(nr);
            if (name != NULL)
                fprintf(stderr,
                        "vmemu: unimplemented syscall %s (%" PRIu64 "), returning -ENOSYS\n", name,
                        nr);
            else
                fprintf(stderr,
                        "vmemu: unimplemented syscall syscall_%" PRIu64 " (%" PRIu64
                        "), returning -ENOSYS\n",
                        nr, nr);
        }
    }
    if (ret == -SCHED_EBLOCK) {
        /* The process sleeps and the syscall runs again when it wakes: it is counted and
         * traced once, when it completes. */
        p->syscalls--;
        return ret;
    }
    if (trace != NULL && nr != NR_exit && nr != NR_exit_group) {
        trace_result(&tb, nr, ret);
        fprintf(trace, "%s\n", tb.s);
    }
    return ret;
}
