/* The names the crash reports give (report_crash.c prints them, report_json.c puts them
 * in the JSON "crash" object): signals, x86 exception vectors, si_codes, the access and
 * the cause of a memory fault, an area in one line; which signals are crashes, and the
 * signal, si_code and words of a CPU exit that was not a memory fault. */
#include <inttypes.h>
#include <stdio.h>

#include "crash.h"
#include "vmemu/signal_names.h"
#include "vmemu/fault.h"
#include "vmemu/maps_table.h"
#include "vmemu/vma.h"

/* x86 exception vectors, for CPU_EXIT_EXCEPTION. */
static const char *const vector_names[] = {
    [0] = "#DE (divide error)",         [1] = "#DB (debug)",
    [3] = "#BP (breakpoint)",           [4] = "#OF (overflow)",
    [5] = "#BR (bound range)",          [6] = "#UD (invalid opcode)",
    [7] = "#NM (device not available)", [8] = "#DF (double fault)",
    [10] = "#TS (invalid TSS)",         [11] = "#NP (segment not present)",
    [12] = "#SS (stack segment fault)", [13] = "#GP (general protection)",
    [14] = "#PF (page fault)",          [16] = "#MF (x87 floating point)",
    [17] = "#AC (alignment check)",     [18] = "#MC (machine check)",
    [19] = "#XM (SIMD floating point)",
};

/* signal_name's (src/lib/signal_names.c). */
const char *crash_signal_name(int signo)
{
    return signal_name(signo);
}

/* "read", "write" or "exec". */
const char *crash_access_name(enum access access)
{
    switch (access) {
    case ACCESS_WRITE:
        return "write";
    case ACCESS_EXEC:
        return "exec";
    default:
        return "read";
    }
}

/* The si_code name of (signo, code), or NULL. */
const char *crash_si_code_name(int signo, int code)
{
    if (code == LINUX_SI_KERNEL)
        return "SI_KERNEL";
    if (signo == LINUX_SIGSEGV && code == LINUX_SEGV_MAPERR)
        return "SEGV_MAPERR";
    if (signo == LINUX_SIGSEGV && code == LINUX_SEGV_ACCERR)
        return "SEGV_ACCERR";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_ADRALN)
        return "BUS_ADRALN";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_ADRERR)
        return "BUS_ADRERR";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_OBJERR)
        return "BUS_OBJERR";
    return NULL;
}

/* "0x400000-0x401000 r--p image /path" into buf. */
void crash_vma_text(const struct vma *v, char *buf, size_t len)
{
    char perms[5];
    const char *name = maps_vma_name(v);

    vma_perm_string(v, perms);
    snprintf(buf, len, "0x%" PRIx64 "-0x%" PRIx64 " %s %s%s%s", v->start, v->end, perms,
             vma_kind_name(v->kind), name[0] ? " " : "", name);
}

/* Whether a process that ended with its signal gets a crash description: the signals of
 * bad accesses and CPU exceptions, and the out-of-memory kill. */
bool crash_signal_is_crash(const struct proc *p)
{
    switch (p->term_signal) {
    case LINUX_SIGSEGV:
    case LINUX_SIGBUS:
    case LINUX_SIGILL:
    case LINUX_SIGFPE:
    case LINUX_SIGTRAP:
        return true;
    case LINUX_SIGKILL:
        return p->mm != NULL && p->mm->last_fault.cause == CAUSE_OOM;
    default:
        return false;
    }
}

/* The cause of a memory crash in words; see crash.h. */
const char *crash_cause_name(const struct crash_info *ci)
{
    if (ci->heap_kind != NULL)
        return ci->heap_kind;
    if (ci->in_checker)
        return "access to the heap checker's inaccessible memory";
    return fault_cause_text(ci->cause);
}

/* Signal, code and words of an exit that was not a memory fault. */
void crash_cpu_exit(struct crash_info *ci, enum cpu_exit_kind kind, int intno)
{
    switch (kind) {
    case CPU_EXIT_ILLEGAL:
        ci->signo = LINUX_SIGILL;
        ci->code = "ILL_ILLOPN";
        snprintf(ci->what, sizeof(ci->what), "illegal instruction");
        break;
    case CPU_EXIT_DIVIDE:
        ci->signo = LINUX_SIGFPE;
        ci->code = "FPE_INTDIV";
        snprintf(ci->what, sizeof(ci->what), "integer divide error");
        break;
    case CPU_EXIT_TRAP:
        ci->signo = LINUX_SIGTRAP;
        ci->code = intno == 1 ? "TRAP_TRACE" : "TRAP_BRKPT";
        snprintf(ci->what, sizeof(ci->what), "%s", intno == 1 ? "debug trap" : "breakpoint");
        break;
    case CPU_EXIT_EXCEPTION:
        ci->signo = LINUX_SIGSEGV;
        ci->code = "SI_KERNEL";
        if (intno == 13) /* at CPL 3: an instruction Linux lets no user program run */
            snprintf(ci->what, sizeof(ci->what),
                     "CPU exception #GP (general protection): privileged instruction or port "
                     "I/O in user mode");
        else if (intno >= 0 && (size_t)intno < ARRAY_LEN(vector_names) && vector_names[intno])
            snprintf(ci->what, sizeof(ci->what), "CPU exception %s", vector_names[intno]);
        else
            snprintf(ci->what, sizeof(ci->what), "CPU exception %d", intno);
        break;
    case CPU_EXIT_PRIV:
        ci->signo = LINUX_SIGSEGV;
        ci->code = "SI_KERNEL";
        snprintf(ci->what, sizeof(ci->what), "privileged instruction");
        break;
    default:
        ci->signo = 0;
        snprintf(ci->what, sizeof(ci->what), "CPU emulation failed");
        break;
    }
}

/* Non-memory exit kind that a terminating signal stands for (the JSON report has no
 * cpu_exit to go by). */
enum cpu_exit_kind crash_exit_kind_of_signal(int signo)
{
    switch (signo) {
    case LINUX_SIGILL:
        return CPU_EXIT_ILLEGAL;
    case LINUX_SIGFPE:
        return CPU_EXIT_DIVIDE;
    case LINUX_SIGTRAP:
        return CPU_EXIT_TRAP;
    default:
        return CPU_EXIT_PRIV;
    }
}
