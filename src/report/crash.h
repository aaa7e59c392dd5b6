/* Private to the report folder (crash.c, crash_names.c, report_crash.c, report_json.c):
 * what a crash was, worked out once and printed either as the human crash report or as
 * the JSON "crash" object, and the names both outputs give to signals and areas. */
#ifndef VMEMU_SRC_CRASH_H
#define VMEMU_SRC_CRASH_H

#include <limits.h>

#include "vmemu/abi/linux.h"
#include "vmemu/backtrace.h"
#include "vmemu/proc.h"

#define CRASH_TEXT_MAX   (PATH_MAX + 128) /* room for a path and some words */
#define CRASH_FRAME_MAX  320              /* one backtrace frame: "0x401136 main+22" */
#define CRASH_DIS_BEFORE 3                /* instructions shown before RIP */
#define CRASH_DIS_AFTER  3                /* and after it */
#define CRASH_DIS_MAX    (CRASH_DIS_BEFORE + 1 + CRASH_DIS_AFTER)
#define CRASH_DIS_LEN    900  /* one disassembly line */
#define CRASH_HEAP_MAX   2048 /* the heap checker's explanation */

/* Everything the reports say about how a guest died. */
struct crash_info {
    int signo;                      /* signal that ends the guest (SIGSEGV, SIGILL, ...) */
    const char *code;               /* its si_code name ("SEGV_MAPERR"), NULL when none */
    char what[96];                  /* non-memory exits: "illegal instruction", ...; or "" */
    bool is_memory;                 /* a memory access failed: addr/access/cause are valid */
    gva_t addr;                     /* first faulting byte (the page when the faulting
                                       instruction does not say which byte) */
    unsigned size;                  /* bytes of the access, 0 when unknown */
    gva_t access_va;                /* where the access starts: addr, or below it when
                                       the access crosses into addr's page */
    enum access access;             /* read, write or fetch */
    enum fault_cause cause;         /* why it failed */
    bool has_rip;                   /* a CPU was there: rip and the code fields are valid */
    gva_t rip;                      /* the faulting instruction */
    char symbol[256];               /* "main+21", or "" when unknown */
    bool has_caller;                /* a jump into bad memory: the return address at RSP */
    gva_t caller;                   /* that return address */
    char caller_symbol[256];        /* its symbol, or "" */
    gva_t insn_va;                  /* address of the instruction shown (rip, or the int3
                                       just before it) */
    char rip_where[CRASH_TEXT_MAX]; /* "in /path (.text)", "in [stack]", ... */
    char insn[200];                 /* "mov dword ptr [rax], 0x2a" or "(code not readable)" */
    char insn_bytes[64];            /* the instruction's bytes in hex, or "" */
    bool insn_ok;                   /* insn holds a decoded instruction */
    bool has_vma;                   /* an area contains addr */
    char vma[CRASH_TEXT_MAX];       /* "0x400000-0x401000 r--p image /path", or "" */
    char section[64];               /* section of the image containing addr, or "" */
    char file[CRASH_TEXT_MAX];      /* file mapped at addr (the program for its bss), or "" */
    bool has_unmap;                 /* addr is in no area but a syscall removed it: unmap
                                       is that removal */
    struct proc_unmap unmap;        /* the most recent removal of addr's page */
    const char *unmap_syscall;      /* that syscall's name ("munmap"), never NULL when
                                       has_unmap */
    char unmap_symbol[256];         /* symbol of the removal's RIP, or "" */
    char cause_text[CRASH_TEXT_MAX + 256];   /* the cause in words beyond fault_cause_text
                                           ("write to .rodata of /path"), or "" */
    int bt_n;                                /* frames in bt (0: no CPU) */
    char bt[BT_MAX_FRAMES][CRASH_FRAME_MAX]; /* "0x401136 main+22", innermost first */
    int dis_n;                               /* lines in dis */
    char dis[CRASH_DIS_MAX][CRASH_DIS_LEN];  /* "=> 0x401136 <main+22>:  mov ..." around
                                                RIP, "=>" marking it, "   " the others */
    const char *heap_kind;                   /* the heap checker's bug class
                                                ("heap-use-after-free"), or NULL */
    bool in_checker;                         /* addr is in the heap checker's area
                                                (VMA_CHECKER): its PROT_NONE says nothing
                                                of the program's memory */
    char heap[CRASH_HEAP_MAX];               /* its explanation, lines ending in '\n', or "" */
};

/* Works out the crash of p. ex is the CPU's stop reason, or NULL after the fact (the JSON
 * report), when p->term_signal and mm->last_fault say what happened. */
void crash_describe(const struct proc *p, const struct cpu_exit *ex, struct crash_info *ci);
/* Whether the signal that ended p (and, for SIGKILL, an out-of-memory fault) calls for a
 * crash description. */
bool crash_signal_is_crash(const struct proc *p);
/* "SIGSEGV" for 11; "real-time signal" for 32..64, "unknown signal" otherwise. */
const char *crash_signal_name(int signo);
/* "0x400000-0x401000 r--p image /path" into buf. */
void crash_vma_text(const struct vma *v, char *buf, size_t len);
/* "read", "write" or "exec". */
const char *crash_access_name(enum access access);
/* The cause of a memory crash in words, for the fault line and the JSON "cause": the heap
 * checker's bug class when it explained the address, "access to the heap checker's
 * inaccessible memory" for its area otherwise, else fault_cause_text(ci->cause). */
const char *crash_cause_name(const struct crash_info *ci);
/* The sentence that explains an access to memory a syscall removed earlier:
 * "use after munmap: 0x... was in A-B, unmapped by munmap(A, LEN) at rip R (sym),
 * syscall #N of the process", into buf. */
void crash_unmap_text(const struct crash_info *ci, char *buf, size_t len);
/* The si_code name of (signo, code): "SEGV_MAPERR", "BUS_ADRERR", "SI_KERNEL"...; NULL
 * when the pair has none. */
const char *crash_si_code_name(int signo, int code);
/* Fills ci's signal, si_code and words ("illegal instruction", "CPU exception #GP
 * (general protection)"...) for an exit of the given kind that was not a memory fault;
 * intno is the exception vector of CPU_EXIT_EXCEPTION and tells a debug trap (1) from a
 * breakpoint for CPU_EXIT_TRAP. An unknown kind sets signo 0 ("CPU emulation failed"). */
void crash_cpu_exit(struct crash_info *ci, enum cpu_exit_kind kind, int intno);
/* The non-memory exit kind a terminating signal stands for (the JSON report has no
 * cpu_exit to go by): SIGILL, SIGFPE and SIGTRAP their own, any other CPU_EXIT_PRIV. */
enum cpu_exit_kind crash_exit_kind_of_signal(int signo);

#endif
