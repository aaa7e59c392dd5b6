/* The one entry point from a guest `syscall` instruction to its handler. A static array
 * of handlers indexed by syscall number is built from SYSCALL_TABLE
 * (vmemu/abi/syscall_table.h). Unknown or unimplemented numbers return -ENOSYS and are
 * reported once per number on stderr. With --trace each call gets one line, formatted by
 * syscalls/trace.c. Called by the kernel loop (src/kernel/run.c) with the six raw argument
 * registers. */
#include <inttypes.h>
#include <stdio.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "trace.h"
#include "vmemu/heapcheck.h"
#include "vmemu/sched.h"
#include "vmemu/syscall.h"

/* One table entry, indexed by syscall number: the handler sys_NAME of sysdefs.h. */
#define SYSCALL_HANDLER(nr, name, ...) [nr] = sys_##name,

/* The handler of every syscall number; NULL = not in the table. */
static long (*const syscall_table[SYSCALL_NR_LIMIT])(struct proc *p, const uint64_t *a) = {
    SYSCALL_TABLE(SYSCALL_HANDLER)};

#undef SYSCALL_HANDLER

/* "Reported once" memory for -ENOSYS: a bit per number below the limit, and a short list
 * for wild numbers (beyond it, they are not reported any more). Shared by the whole run,
 * like the kernel's pr_warn_once. */
static uint64_t enosys_logged[SYSCALL_NR_LIMIT / 64];
static uint64_t enosys_wild[16];
static size_t enosys_nwild;

static bool enosys_first_time(uint64_t nr)
{
    if (nr < SYSCALL_NR_LIMIT) {
        uint64_t bit = 1ULL << (nr % 64);
        bool first = !(enosys_logged[nr / 64] & bit);
        enosys_logged[nr / 64] |= bit;
        return first;
    }
    for (size_t i = 0; i < enosys_nwild; i++)
        if (enosys_wild[i] == nr)
            return false;
    if (enosys_nwild == ARRAY_LEN(enosys_wild))
        return false;
    enosys_wild[enosys_nwild++] = nr;
    return true;
}

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

    /* An intercepted allocator call of the heap checker is no syscall: not counted, not
     * traced; heapcheck_call has set every register already. */
    if (p->cpu != NULL && p->mm != NULL && heapcheck_call(p, p->mm->sys_rip))
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
        p->mm->sys_nr = (int)nr;
        p->mm->sys_seq = p->syscalls;
        ret = fn(p, args);
        if (p->mm != NULL)
            p->mm->sys_nr = -1;
    } else {
        ret = -ENOSYS;
        if (enosys_first_time(nr)) {
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
