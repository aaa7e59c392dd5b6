/* The CPU: Unicorn in virtual-TLB mode behind a Unicorn-free interface. src/cpu/cpu.c is the
 * only file that includes Unicorn. */
#ifndef VMEMU_CPU_H
#define VMEMU_CPU_H

#include "vmemu/mm.h"

struct cpu;

/* General registers, in the order of Linux's user_regs_struct where it matters. */
enum cpu_reg {
    CPU_RAX,
    CPU_RBX,
    CPU_RCX,
    CPU_RDX,
    CPU_RSI,
    CPU_RDI,
    CPU_RBP,
    CPU_RSP,
    CPU_R8,
    CPU_R9,
    CPU_R10,
    CPU_R11,
    CPU_R12,
    CPU_R13,
    CPU_R14,
    CPU_R15,
    CPU_RIP,
    CPU_RFLAGS,
    CPU_FS_BASE,
    CPU_GS_BASE,
    CPU_CS,
    CPU_SS,
    CPU_DS,
    CPU_ES,
    CPU_FS,
    CPU_GS,
    CPU_NREGS
};

/* Why cpu_run() returned. */
enum cpu_exit_kind {
    CPU_EXIT_STOP = 0,  /* a syscall handler asked to stop (exit, exec, ...) */
    CPU_EXIT_FAULT,     /* a memory access failed: mm->last_fault says what and why */
    CPU_EXIT_OOM,       /* a fault needed a frame and none was left */
    CPU_EXIT_ILLEGAL,   /* invalid instruction (SIGILL) */
    CPU_EXIT_DIVIDE,    /* divide error (SIGFPE) */
    CPU_EXIT_TRAP,      /* int3 or debug trap (SIGTRAP) */
    CPU_EXIT_EXCEPTION, /* another CPU exception: intno says which (SIGSEGV) */
    CPU_EXIT_PRIV,      /* hlt or the run ended without a reason: privileged instruction */
    CPU_EXIT_ERROR,     /* Unicorn failed */
    CPU_EXIT_PREEMPT,   /* the watchdog stopped a run that made no syscall for too long */
    CPU_EXIT_WATCH,     /* the page-trap function refused an access: page and access say
                           which; RIP is the instruction, which has not run */
    CPU_EXIT_QUANTUM,   /* the block budget (cpu_set_block_budget) ran out: RIP is the start
                           of the next block, none of which has run */
};

struct cpu_exit {
    enum cpu_exit_kind kind; /* see enum cpu_exit_kind */
    int intno;               /* CPU exception vector, for CPU_EXIT_EXCEPTION and traps */
    uint64_t rip;            /* RIP when the run stopped (the faulting instruction) */
    gva_t page;              /* CPU_EXIT_WATCH: the page of the trapped access */
    enum access access;      /* CPU_EXIT_WATCH: ACCESS_READ or ACCESS_WRITE */
};

/* Called for every `syscall` instruction; registers are read and written with cpu_get /
 * cpu_set. The handler leaves the return value in RAX itself. */
typedef void (*cpu_syscall_fn)(void *ctx, struct cpu *cpu);

/* Opens the engine, maps the frame pool as physical memory, installs the hooks and
 * registers the TLB-flush and code-invalidation hooks in sys->cpu. Returns 0 or -EIO with
 * one line on stderr. */
int cpu_create(struct vmsys *sys, struct cpu **out);
void cpu_destroy(struct cpu *cpu);
/* The engine vmemu runs on, for --version: "Unicorn 2.1.1 (patched)" or "(stock)", the
 * version the loaded library reports and the build CMake chose (VMEMU_UNICORN). */
const char *cpu_engine_name(void);
/* The function called on every syscall instruction. */
void cpu_set_syscall_handler(struct cpu *cpu, cpu_syscall_fn fn, void *ctx);
/* Runs the current address space (sys->current) from the current RIP until a stop
 * request, a fault or an exception. Returns 0 and fills *out, or -EIO. */
int cpu_run(struct cpu *cpu, struct cpu_exit *out);
/* From a syscall handler: stop after this instruction (RIP points past it). */
void cpu_request_stop(struct cpu *cpu);
uint64_t cpu_get(struct cpu *cpu, enum cpu_reg reg);
/* Sets a register. Inside a syscall handler, setting RIP means "resume at this address". */
void cpu_set(struct cpu *cpu, enum cpu_reg reg, uint64_t value);
/* Resets registers for a new program: all zero, RIP=entry, RSP=sp, RFLAGS=0x202, the
 * x87 and SSE control words as Linux sets them at exec. */
void cpu_reset_regs(struct cpu *cpu, gva_t entry, gva_t sp);
/* Whether the #DF workaround (UNICORN.md) found Unicorn's exception field. */
bool cpu_df_workaround_active(const struct cpu *cpu);
/* The code-invalidation window: the CPU may fetch frame pa at CPU_DM_BASE + pa while
 * cpu.c invalidates translated code of that frame. Not part of the guest's space. */
#define CPU_DM_BASE 0xffff800000000000ULL
/* Unicorn TLB flushes done so far (for the report). */
uint64_t cpu_tlb_flushes(const struct cpu *cpu);
/* Unicorn TLB flushes and what asked for them. A flush asked for by several causes at
 * once counts once in flushes and once under each cause. */
struct cpu_flush_stats {
    uint64_t flushes;                    /* full flushes of Unicorn's TLB */
    uint64_t by_cause[VM_FLUSH_NCAUSES]; /* per VM_FLUSH_* bit (bit i at index i) */
    uint64_t code_invalidations;         /* single frames whose translated code was dropped */
    uint64_t page_invalidations;         /* single pages dropped from Unicorn's TLB (invlpg) */
    uint64_t run_ns;                     /* host time spent running the guest (cpu_run) */
};
/* Fills *out (all zero for a NULL cpu). */
void cpu_flush_stats(const struct cpu *cpu, struct cpu_flush_stats *out);
/* Translated blocks started since the block hook was installed (cpu_preempt_anywhere;
 * 0 before): a count of the guest's work that depends only on the code run. */
uint64_t cpu_blocks(const struct cpu *cpu);
/* A clock for the guest's time-stamp counter. */
typedef uint64_t (*cpu_tsc_fn)(void *ctx);
/* From now on rdtsc and rdtscp read fn(ctx) instead of the host's counter (fn NULL: the
 * host's again, from the next context switched in). Each one then stops the run once
 * (about a microsecond): for deterministic runs. */
void cpu_set_tsc(struct cpu *cpu, cpu_tsc_fn fn, void *ctx);

/* Saved registers of a process that does not run (Unicorn's whole CPU state). */
struct cpu_context;
/* A context holding the CPU's current registers, or NULL when out of memory. */
struct cpu_context *cpu_context_new(struct cpu *cpu);
void cpu_context_free(struct cpu_context *ctx);
/* Register reg as saved in ctx (0 for a NULL context). */
uint64_t cpu_context_get(const struct cpu_context *ctx, enum cpu_reg reg);
/* Copies the CPU's registers into ctx (between runs). */
void cpu_context_save(struct cpu *cpu, struct cpu_context *ctx);
/* Loads ctx into the CPU (between runs). The TLB is not flushed: a switch to another
 * address space sets sys->cpu_flush_pending (VM_FLUSH_SWITCH). */
void cpu_context_restore(struct cpu *cpu, const struct cpu_context *ctx);

/* The x87/SSE state in the 512-byte FXSAVE layout (Linux's struct _fpstate_64, the
 * signal frame's FPU area): control/status/abridged tag words, ST0-7, MXCSR, XMM0-15. */
#define CPU_FXSAVE_SIZE 512
void cpu_get_fxsave(struct cpu *cpu, uint8_t out[CPU_FXSAVE_SIZE]);
/* Loads an FXSAVE image (rt_sigreturn). Reserved MXCSR bits are cleared. */
void cpu_set_fxsave(struct cpu *cpu, const uint8_t in[CPU_FXSAVE_SIZE]);
/* From a syscall handler that restored every register itself (rt_sigreturn): the hook
 * leaves RCX and R11 alone this time instead of setting them as the syscall ABI does. */
void cpu_keep_syscall_regs(struct cpu *cpu);
/* Page traps (the gdb stub's watchpoints): before the MMU fills a data access of mm's page,
 * fn says which accesses to it must not be filled (CPU_TRAP_READ | CPU_TRAP_WRITE). A
 * trapped access ends the run with CPU_EXIT_WATCH before mmu_fill (no fault is counted and
 * the instruction has not run); the other access of a trapped page is filled without the
 * trapped permission, so that it comes back. Instruction fetches never trap. fn must
 * answer the same until sys->cpu_flush_pending is set. */
#define CPU_TRAP_READ  1u
#define CPU_TRAP_WRITE 2u
typedef unsigned (*cpu_page_trap_fn)(void *ctx, const struct mm *mm, gva_t page);
/* Installs fn (NULL: no traps; the TLB is flushed before the next run either way). */
void cpu_set_page_trap(struct cpu *cpu, cpu_page_trap_fn fn, void *ctx);
/* Arms the watchdog for the following runs: a run that lasts longer than ns of host time
 * is stopped at its next syscall (or anywhere after cpu_preempt_anywhere) and returns
 * CPU_EXIT_PREEMPT (0 turns it off). */
void cpu_set_watchdog(struct cpu *cpu, uint64_t ns);
/* Gives the following runs a budget of translated blocks (0: none): the run that starts
 * the budget's last block stops before it with CPU_EXIT_QUANTUM. The count depends only on
 * the guest's code, so stops land at the same place in every run of a program (threads
 * take turns deterministically). A first non-zero budget installs the block hook for good
 * (as cpu_preempt_anywhere); call between runs. */
void cpu_set_block_budget(struct cpu *cpu, uint64_t blocks);
/* From now on the watchdog also stops runs that make no syscall, at the start of a
 * translated block (slower code: a call per block). Once per CPU; call between runs. */
void cpu_preempt_anywhere(struct cpu *cpu);
/* Watched accesses (the heap checker): from now on every guest load and store that touches
 * [lo, hi) calls fn with its virtual address, size in bytes and whether it writes, before
 * it is done (instruction fetches are not watched). RIP and the other registers read in fn
 * are those of the accessing instruction; fn must not run the guest or change mappings.
 * Slows every store and load of the run (Unicorn's memory hooks take the slow path), so
 * only a mode that asks for it calls this, once per CPU, before the first run. Returns 0,
 * -EINVAL (called twice, empty range, a pool too large for the alias) or -EIO/-ENOMEM. */
typedef void (*cpu_access_fn)(void *ctx, gva_t va, unsigned size, bool write);
/* A byte map that spares fn the accesses it would let pass (a shadow as ASan's): one byte
 * per 8 bytes of [base, end), base 8-aligned; 0, all 8 bytes may be accessed; 1-7, only
 * that many first bytes; any other value, none. An access within one 8-byte granule that
 * its byte allows does not call fn. */
struct cpu_watch_filter {
    const uint8_t *map; /* the bytes */
    gva_t base, end;    /* the range they cover */
};
/* The filter for the accesses to come (NULL: none), asked for before each run and after
 * each syscall (the only times the map may move or the process change); it must stay
 * valid until the next call. */
typedef const struct cpu_watch_filter *(*cpu_filter_fn)(void *ctx);
int cpu_watch_range(struct cpu *cpu, gva_t lo, gva_t hi, cpu_access_fn fn, cpu_filter_fn filter,
                    void *ctx);
/* Whether Unicorn's lookup of the memory region of each slow-path access comes to the CPU
 * layer's cache while a watch is on (the program exports the interposing function, as
 * every program linking the CPU layer does): a checked run is then about a quarter faster. */
bool cpu_watch_lookup_interposed(void);
/* Whether Unicorn's clearing of the slow-path mark of a page after its first store comes to
 * the CPU layer (src/cpu/cpu_smc.c), which keeps the mark on frames that ran code, so that
 * every store into them invalidates the translated code it overwrites. */
bool cpu_smc_interposed(void);
/* Code probes (the heap profiler's view of malloc and free): from now on, every time the
 * guest is about to execute the instruction at addr, fn(ctx, addr) is called first, with
 * the registers of that moment (RIP = addr). fn may read and change registers and guest
 * memory through the memory layer (not the mappings of code); the instruction then runs.
 * Only that instruction is instrumented (a code hook bounded to it): the rest of the code
 * runs at full speed; adding a probe drops the translated code once. The probe holds in
 * every address space the CPU runs: fn decides whether the address means anything there.
 * Returns 0, -ENOMEM or -EIO. */
typedef void (*cpu_probe_fn)(void *ctx, gva_t addr);
int cpu_probe_add(struct cpu *cpu, gva_t addr, cpu_probe_fn fn, void *ctx);

#endif
