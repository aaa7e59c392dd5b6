/* The CPU's state, private to src/cpu/: struct cpu (the Unicorn engine, its hooks and
 * what they found) and the saved register contexts. cpu.c owns them; cpu_state.c reads
 * and writes registers and contexts. */
#ifndef VMEMU_CPU_INT_H
#define VMEMU_CPU_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <unicorn/unicorn.h>

#include "vmemu/cpu.h"
#include "vmemu/mmu.h"

struct priv_io;

struct cpu {
    uc_engine *uc;                 /* the engine */
    struct vmsys *sys;             /* machine: pool, current mm, flush requests */
    cpu_syscall_fn syscall;        /* syscall handler */
    void *syscall_ctx;             /* its argument */
    bool in_syscall;               /* inside the syscall hook (RIP writes need the -2 quirk) */
    bool stop_requested;           /* a handler asked to stop the run */
    bool fault_pending;            /* the fill callback refused an access */
    int fault_rc;                  /* mmu_fill's error for that access */
    int intr;                      /* CPU exception vector seen by the INTR hook, or -1 */
    bool dm_active;                /* the direct-map window may be filled (code invalidation) */
    bool in_run;                   /* inside uc_emu_start, where translated code must not be
                                      invalidated (Unicorn may still chain from the block) */
    bool deferred_stop;            /* the run was stopped only to invalidate code_pending or
                                      single TLB pages (cpu_tlb_sync) */
    pfn_t *code_pending;           /* frames whose code invalidation waits for the run to stop */
    size_t ncode_pending;          /* entries in code_pending */
    size_t code_cap;               /* allocated length of code_pending */
    bool overflowed;               /* code_pending could not grow: flush every translation */
    uint64_t invalidated;          /* code frames invalidated since the last full flush */
    uint64_t flushes;              /* uc_ctl_flush_tlb calls */
    uint64_t flush_why[8];         /* flushes asked for by each VM_FLUSH_* bit (bit i: [i]) */
    uint64_t code_invalidations;   /* frames whose translated code was dropped */
    uint64_t run_ns;               /* host time spent in cpu_run (the guest's run time) */
    uc_context *ctx;               /* scratch context for the #DF workaround */
    long df_offset;                /* offset of old_exception in the context blob, or -1 */
    size_t ctx_size;               /* uc_context_size() */
    uc_hook hooks[3];              /* fill, syscall, interrupt */
    struct priv_io *io;            /* the port-I/O trap (priv.c) */
    uc_hook block_hook;            /* stop point at every block start (see cpu_on_block) */
    bool block_hook_on;            /* block_hook is installed (cpu_preempt_anywhere) */
    uint64_t blocks;               /* blocks started while block_hook was on (cpu_blocks) */
    uint64_t block_budget;         /* blocks the runs may still start (0: no budget) */
    bool budget_spent;             /* the budget ran out: the run stopped for it */
    uint64_t cur_gen;              /* run_gen of the current run, for the hooks */
    cpu_page_trap_fn trap_fn;      /* page traps (gdb watchpoints), or NULL */
    void *trap_ctx;                /* its argument */
    bool watch_pending;            /* the fill callback refused an access for a page trap */
    gva_t watch_page;              /* that access's page */
    enum access watch_access;      /* and its kind */
    bool keep_regs;                /* the syscall handler restored RCX/R11 itself (rt_sigreturn) */
    pthread_t watchdog;            /* the watchdog thread (started by the first cpu_set_watchdog) */
    bool watchdog_started;         /* watchdog is valid */
    atomic_bool watchdog_quit;     /* asks the watchdog thread to end */
    atomic_uint_fast64_t wd_limit; /* run length in ns that triggers a stop; 0 = off */
    atomic_uint_fast64_t wd_start; /* host time the current run started; 0 = not running */
    atomic_uint_fast64_t run_gen;  /* number of the current run */
    atomic_uint_fast64_t wd_fired; /* run_gen of the run the watchdog asked to stop */
    cpu_tsc_fn tsc_fn;             /* the clock rdtsc reads (cpu_set_tsc), or NULL: host's */
    void *tsc_ctx;                 /* its argument */
    unsigned tsc_len;              /* length of the rdtsc/rdtscp that trapped (0: none) */
    uint64_t tsc_rip;              /* its address */
    cpu_access_fn watch_fn;        /* watched accesses' function (cpu_watch.c), or NULL */
    void *watch_ctx;               /* its argument (and watch_filter_fn's) */
    gva_t watch_lo, watch_hi;      /* the watched virtual range */
    gva_t *watch_rmap;             /* per frame: the watched page last filled with it */
    uc_hook watch_hook;            /* the memory hook bounded to the pool's alias */
    struct cpu_probe **probes;     /* code probes (cpu_probe.c), each a hook of its own */
    size_t nprobes, capprobes;     /* used, allocated */
    uc_context *kernel_ctx;        /* registers at CPL 0, saved before the switch to user mode
                                      (the page-invalidation stub runs in them) */
    uc_context *guest_ctx;         /* the guest's registers while the stub runs */
    uint64_t stub_pa;              /* physical page of the stub (just past the pool) */
    bool stub_active;              /* the stub runs: the fill callback grants CPU_STUB_VA */
    bool invlpg_failed;            /* the stub failed once (said on stderr once) */
    uint64_t page_invalidations;   /* pages dropped one by one from Unicorn's TLB */
    uint64_t fills_since_flush;    /* guest fills since the last full flush */
    uint64_t refills_since_flush;  /* those of them that took no page fault */
    uint64_t tlb_model;            /* the entries vmemu expects Unicorn's TLB to have */

    cpu_filter_fn watch_filter_fn;               /* gives watch_filter, or NULL */
    const struct cpu_watch_filter *watch_filter; /* accesses it allows skip watch_fn */
};

/* Unicorn's TLB starts with 256 entries (QEMU's CPU_TLB_DYN_DEFAULT_BITS). */
#define CPU_TLB_FIRST 256u

/* Where the page-invalidation stub runs: in the kernel half, which no guest mapping reaches,
 * away from the direct-map window (CPU_DM_BASE + the pool's size). */
#define CPU_STUB_VA 0xffffff8000000000ULL

/* cpu_tlb.c: Unicorn's TLB (see the file). init maps the page-invalidation stub at stub_pa
 * and saves the CPL 0 context; call it before priv_enter_user_mode (0 or -EIO). free frees
 * the contexts. stub_fill answers the fill callback for the stub's page while it runs
 * (false: not the stub's). note_fill counts a fill of the guest (faulted: it took a page
 * fault) and asks for a flush when they say Unicorn's TLB is too small (VM_FLUSH_GROW).
 * flush_if_pending flushes the whole TLB when sys asks for a flush or for single pages (safe in the
 * fill callback and in the syscall and code hooks). sync, outside a run, drops the single pages
 * asked for one by one, or flushes. */
int cpu_tlb_init(struct cpu *c, uint64_t stub_pa);
void cpu_tlb_free(struct cpu *c);
bool cpu_tlb_stub_fill(struct cpu *c, uint64_t va, uc_tlb_entry *e);
void cpu_tlb_note_fill(struct cpu *c, bool faulted);
void cpu_flush_if_pending(struct cpu *c);
void cpu_tlb_sync(struct cpu *c);

/* cpu_probe.c: frees the probes' records (their hooks go with the engine). */
void cpu_probes_free(struct cpu *c);

/* cpu_watch.c: the physical address to fill for frame pfn at va (the alias when va is
 * watched). */
uint64_t cpu_watch_paddr(struct cpu *c, gva_t va, pfn_t pfn);
/* cpu_watch.c: asks the watch's filter function for the filter of the accesses to come
 * (before each run and after each syscall). */
void cpu_watch_refresh(struct cpu *c);
/* cpu_smc.c: c enters uc_emu_start (c) or has left it (NULL). */
void cpu_smc_set_running(struct cpu *c);
/* cpu_watch.c: frees the watch's state of c (before its engine is closed). */
void cpu_watch_free(struct cpu *c);

/* cpu_tsc.c: rdtsc and rdtscp on vmemu's clock. */
void cpu_tsc_arm(struct cpu *c);
bool cpu_tsc_trap(struct cpu *c);
bool cpu_tsc_finish(struct cpu *c);

struct cpu_context {
    uc_context *uc; /* Unicorn's saved CPU state */
};

/* Unicorn's id of each enum cpu_reg (cpu.c). */
extern const int cpu_uc_regs[CPU_NREGS];

#endif
