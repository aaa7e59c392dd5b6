/* The CPU: with priv.c, the only code that talks to Unicorn. Unicorn 2.1 runs in virtual-TLB mode
 * with a Haswell model; the frame pool is its physical memory at PA 0, and every miss of its
 * internal TLB comes to cpu_fill(), which asks vmemu's MMU (mmu_fill) for the frame and
 * permissions. Also here: the syscall hook (RIP/RCX/R11 as Linux's ABI), the interrupt
 * hook with the #DF workaround, Linux's initial FPU state, and invalidation of translated code by
 * frame through a private exec-only "direct map" window (deferred to the end of the run when asked
 * during one), and the page traps of the gdb stub's watchpoints (refused fills, CPU_EXIT_WATCH).
 * The guest runs at CPL 3 (priv.c), so privileged instructions raise #GP; priv.c also traps port
 * I/O. When Unicorn's TLB is flushed or loses single pages: cpu_tlb.c. Every Unicorn fact relied on
 * is in ../shared/design/UNICORN.md and has a test in tests/test_cpu.c. Called by the kernel loop
 * (src/kernel/), the process layer, the syscall layer and the debugging tools. */
#include "vmemu/cpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "vmemu/mmu.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"
#include "cpu_int.h"
#include "priv.h"

/* Translated-code buffer. Unicorn crashes when it fills up during a run (its flush then
 * leaves a dangling block to chain from), and under memory pressure code pages are
 * evicted and translated again and again: the buffer is large (only what is used costs
 * memory) and vmemu flushes it itself between runs after CPU_TB_FLUSH_AFTER code-frame
 * invalidations. */
#define CPU_TCG_BUFFER     (512u << 20)
#define CPU_TB_FLUSH_AFTER 2048
#define CPU_NO_INTR        (-1)

/* Unicorn's id of each enum cpu_reg. */
const int cpu_uc_regs[CPU_NREGS] = {
    [CPU_RAX] = UC_X86_REG_RAX,         [CPU_RBX] = UC_X86_REG_RBX,
    [CPU_RCX] = UC_X86_REG_RCX,         [CPU_RDX] = UC_X86_REG_RDX,
    [CPU_RSI] = UC_X86_REG_RSI,         [CPU_RDI] = UC_X86_REG_RDI,
    [CPU_RBP] = UC_X86_REG_RBP,         [CPU_RSP] = UC_X86_REG_RSP,
    [CPU_R8] = UC_X86_REG_R8,           [CPU_R9] = UC_X86_REG_R9,
    [CPU_R10] = UC_X86_REG_R10,         [CPU_R11] = UC_X86_REG_R11,
    [CPU_R12] = UC_X86_REG_R12,         [CPU_R13] = UC_X86_REG_R13,
    [CPU_R14] = UC_X86_REG_R14,         [CPU_R15] = UC_X86_REG_R15,
    [CPU_RIP] = UC_X86_REG_RIP,         [CPU_RFLAGS] = UC_X86_REG_RFLAGS,
    [CPU_FS_BASE] = UC_X86_REG_FS_BASE, [CPU_GS_BASE] = UC_X86_REG_GS_BASE,
    [CPU_CS] = UC_X86_REG_CS,           [CPU_SS] = UC_X86_REG_SS,
    [CPU_DS] = UC_X86_REG_DS,           [CPU_ES] = UC_X86_REG_ES,
    [CPU_FS] = UC_X86_REG_FS,           [CPU_GS] = UC_X86_REG_GS,
};

/* Logs a Unicorn error once with what was being done; returns 0 or -EIO. */
static int cpu_check(uc_err err, const char *what)
{
    if (err == UC_ERR_OK)
        return 0;
    fprintf(stderr, "vmemu: unicorn: %s: %s\n", what, uc_strerror(err));
    return -EIO;
}

/* Unicorn's TLB-miss callback: translate through vmemu's MMU. A refusal is recorded here
 * because Unicorn reports it only as UC_ERR_EXCEPTION, with no other hook. */
static bool cpu_fill(uc_engine *uc, uint64_t va, uc_mem_type type, uc_tlb_entry *e, void *user)
{
    struct cpu *c = user;
    (void)uc;
    if (priv_io_pending(c->io))
        return false; /* after a port-I/O instruction: nothing more may touch memory */
    if (cpu_tlb_stub_fill(c, va, e))
        return true;
    if (c->dm_active && va >= CPU_DM_BASE && va - CPU_DM_BASE < c->sys->phys.bytes) {
        e->paddr = va - CPU_DM_BASE;
        e->perms = UC_PROT_EXEC;
        return true;
    }
    struct mm *mm = c->sys->current;
    enum access access = type == UC_MEM_WRITE   ? ACCESS_WRITE
                         : type == UC_MEM_FETCH ? ACCESS_EXEC
                                                : ACCESS_READ;
    /* Page traps come before mmu_fill, so that a trapped access counts no fault. They
     * cost extra fills: a trapped page's other access is filled without the trapped
     * permission, and every step over a trapping instruction refills the page. */
    unsigned traps =
        c->trap_fn && mm && access != ACCESS_EXEC ? c->trap_fn(c->trap_ctx, mm, va) : 0;
    if ((access == ACCESS_READ && (traps & CPU_TRAP_READ)) ||
        (access == ACCESS_WRITE && (traps & CPU_TRAP_WRITE))) {
        c->watch_pending = true;
        c->watch_page = va;
        c->watch_access = access;
        return false;
    }
    struct fill f;
    /* A downgrade of va itself (a copy-on-write break) needs no flush: the answer below
     * replaces Unicorn's entry for va (pte.c decides). Refused, nothing replaces it. */
    c->sys->cpu_filling = true;
    c->sys->cpu_fill_page = va;
    c->sys->cpu_fill_skipped = false;
    uint64_t faults = c->sys->fault_seq;
    int rc = mm ? mmu_fill(mm, va, access, &f) : -EFAULT;
    c->sys->cpu_filling = false;
    if (rc < 0) {
        if (c->sys->cpu_fill_skipped)
            vmsys_cpu_invalidate(c->sys, va);
        c->fault_pending = true;
        c->fault_rc = rc;
        return false;
    }
    cpu_tlb_note_fill(c, c->sys->fault_seq != faults);
    cpu_flush_if_pending(c);
    e->paddr = access == ACCESS_EXEC ? f.pfn << PAGE_SHIFT : cpu_watch_paddr(c, va, f.pfn);
    unsigned perms = ((f.perms & MMU_R) ? UC_PROT_READ : 0) |
                     ((f.perms & MMU_W) ? UC_PROT_WRITE : 0) |
                     ((f.perms & MMU_X) ? UC_PROT_EXEC : 0);
    if (traps & CPU_TRAP_READ)
        perms &= ~(unsigned)UC_PROT_READ;
    if (traps & CPU_TRAP_WRITE)
        perms &= ~(unsigned)UC_PROT_WRITE;
    e->perms = (uc_prot)perms;
    return true;
}

/* Whether the watchdog asked to stop the current run. */
static bool cpu_stop_wanted(struct cpu *c)
{
    return atomic_load_explicit(&c->wd_fired, memory_order_relaxed) == c->cur_gen;
}

/* The `syscall` instruction: Linux's ABI sets RCX to the return RIP and R11 to RFLAGS. */
static void cpu_on_syscall(uc_engine *uc, void *user)
{
    struct cpu *c = user;
    uint64_t rip, rflags;
    if (priv_io_pending(c->io)) {
        uc_emu_stop(uc); /* after a port-I/O instruction of the same block: not run */
        return;
    }
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    uc_reg_read(uc, UC_X86_REG_RFLAGS, &rflags);
    c->in_syscall = true;
    c->syscall(c->syscall_ctx, c);
    c->in_syscall = false;
    cpu_watch_refresh(c);
    uint64_t rcx = rip + 2;
    if (!c->keep_regs) {
        uc_reg_write(uc, UC_X86_REG_RCX, &rcx);
        uc_reg_write(uc, UC_X86_REG_R11, &rflags);
    }
    c->keep_regs = false;
    /* A few pages to drop: stop, and cpu_run drops them (the stub runs only outside a run). */
    if (!c->sys->cpu_flush_pending && c->sys->cpu_inval_n)
        c->deferred_stop = true;
    else
        cpu_flush_if_pending(c);
    if (c->ncode_pending > 0 || c->overflowed)
        c->deferred_stop = true; /* cpu_run invalidates and goes on */
    if (c->stop_requested || c->deferred_stop || cpu_stop_wanted(c))
        uc_emu_stop(uc);
}

/* Resets Unicorn's "exception in flight" field, which it never clears for exceptions
 * delivered to UC_HOOK_INTR (upstream issue 1883): without this the second #DE becomes a
 * #DF and the third silently ends the run. */
static void cpu_df_workaround(struct cpu *c)
{
    if (c->df_offset < 0)
        return;
    if (uc_context_save(c->uc, c->ctx) != UC_ERR_OK)
        return;
    int32_t none = -1;
    memcpy((uint8_t *)c->ctx + c->df_offset, &none, sizeof(none));
    uc_context_restore(c->uc, c->ctx);
}

static void cpu_on_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct cpu *c = user;
    if (intno == 13 && !priv_io_pending(c->io) && cpu_tsc_trap(c))
        ; /* cpu_run completes the rdtsc */
    else if (!priv_io_pending(c->io))
        c->intr = (int)intno; /* else after a port-I/O instruction: not run */
    cpu_df_workaround(c);
    uc_emu_stop(uc);
}

/* Start of every translated block, after cpu_preempt_anywhere: stops the run when the
 * watchdog asked to. Unicorn 2.1.1 checks for a stop request after every guest load and
 * store too, and a stop seen there resumes at the start of the block, running again the
 * instructions of the block that already ran (an add twice, a push twice): uc_emu_stop
 * from the watchdog thread corrupted the guest. Here, before the block's own check,
 * nothing of the block has run. */
static void cpu_on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    struct cpu *c = user;
    (void)addr;
    (void)size;
    if (c->stub_active)
        return; /* vmemu's own page-invalidation stub (cpu_tlb.c) */
    c->blocks++;
    if (c->block_budget != 0 && --c->block_budget == 0) {
        c->budget_spent = true;
        uc_emu_stop(uc);
    } else if (cpu_stop_wanted(c)) {
        uc_emu_stop(uc);
    }
}

/* Finds old_exception in the context blob: 96 bytes after DR0 in 2.1.1, and it must
 * read -1 before any exception. Leaves df_offset -1 when the layout is not as known. */
static void cpu_find_df_offset(struct cpu *c)
{
    const uint64_t marker = 0x5eed0fdf5eed0fdfULL;
    uint64_t zero = 0;
    c->df_offset = -1;
    c->ctx_size = uc_context_size(c->uc);
    if (uc_context_alloc(c->uc, &c->ctx) != UC_ERR_OK)
        return;
    uc_reg_write(c->uc, UC_X86_REG_DR0, &marker);
    if (uc_context_save(c->uc, c->ctx) == UC_ERR_OK) {
        const uint8_t *blob = (const uint8_t *)c->ctx;
        for (size_t off = 0; off + 96 + 4 <= c->ctx_size; off++) {
            if (memcmp(blob + off, &marker, sizeof(marker)) == 0) {
                int32_t v;
                memcpy(&v, blob + off + 96, sizeof(v));
                if (v == -1)
                    c->df_offset = (long)(off + 96);
                break;
            }
        }
    }
    uc_reg_write(c->uc, UC_X86_REG_DR0, &zero);
}

static void cpu_invalidate_code(void *ctx, pfn_t pfn)
{
    struct cpu *c = ctx;
    if (c->in_run) {
        /* Invalidating during the run can free the block Unicorn is about to chain from
         * (it crashes in tb_add_jump), and stopping the run from the fill callback is
         * not clean either: wait for the next syscall, which stops the run (the clean
         * way), or the end of the run. Until then a stale block of this frame can only
         * be found at its old address, which the frame holds again only when that same
         * page comes back to it (the same code). */
        if (c->ncode_pending == c->code_cap) {
            size_t cap = c->code_cap ? 2 * c->code_cap : 16;
            pfn_t *v = realloc(c->code_pending, cap * sizeof(*v));
            if (!v) {
                c->overflowed = true;
                return;
            }
            c->code_pending = v;
            c->code_cap = cap;
        }
        c->code_pending[c->ncode_pending++] = pfn;
        return;
    }
    uint64_t va = CPU_DM_BASE + (pfn << PAGE_SHIFT);
    c->dm_active = true;
    uc_ctl_remove_cache(c->uc, va, va + PAGE_SIZE);
    c->dm_active = false;
    c->code_invalidations++;
    /* Drop the window's TLB entry before the guest runs again. */
    c->sys->cpu_flush_pending |= VM_FLUSH_CODE;
}

/* Invalidates the code of the frames whose invalidation waited for the run to stop, or
 * all translated code when there were many since the last time (see CPU_TCG_BUFFER). */
static void cpu_invalidate_deferred(struct cpu *c)
{
    c->invalidated += c->ncode_pending;
    if (c->overflowed || c->invalidated >= CPU_TB_FLUSH_AFTER) {
        uc_ctl_flush_tb(c->uc);
        c->invalidated = 0;
    } else {
        for (size_t i = 0; i < c->ncode_pending; i++)
            cpu_invalidate_code(c, c->code_pending[i]);
    }
    c->ncode_pending = 0;
    c->overflowed = false;
}

#ifndef VMEMU_UNICORN_BUILD
#define VMEMU_UNICORN_BUILD "stock"
#endif

/* The engine's name and build; see the header. */
const char *cpu_engine_name(void)
{
    static char name[64];
    unsigned major = 0, minor = 0, v = uc_version(&major, &minor);

    snprintf(name, sizeof(name), "Unicorn %u.%u.%u (%s)", major, minor, (v >> 8) & 0xffu,
             VMEMU_UNICORN_BUILD);
    return name;
}

/* Opens and configures the engine in the order UNICORN.md prescribes. Returns 0 or -EIO. */
int cpu_create(struct vmsys *sys, struct cpu **out)
{
    struct cpu *c = calloc(1, sizeof(*c));
    int rc = -EIO;
    if (!c)
        return -ENOMEM;
    c->sys = sys;
    c->intr = CPU_NO_INTR;
    if ((rc = cpu_check(uc_open(UC_ARCH_X86, UC_MODE_64, &c->uc), "open")) < 0)
        goto err;
    /* These two must come before anything else. */
    if ((rc = cpu_check(uc_ctl_set_cpu_model(c->uc, UC_CPU_X86_HASWELL), "cpu model")) < 0 ||
        (rc = cpu_check(uc_ctl_set_tcg_buffer_size(c->uc, CPU_TCG_BUFFER), "code buffer")) < 0 ||
        (rc = cpu_check(uc_ctl_tlb_mode(c->uc, UC_TLB_VIRTUAL), "virtual TLB")) < 0 ||
        (rc = cpu_check(uc_mem_map_ptr(c->uc, 0, sys->phys.bytes, UC_PROT_ALL, sys->phys.mem),
                        "map frame pool")) < 0)
        goto err;
    /* The CPL 0 context for the page-invalidation stub (its page is the second past the
     * pool), then CPL 3 before the fill hook exists (the switch runs from the first). */
    if ((rc = cpu_tlb_init(c, PAGE_UP(sys->phys.bytes) + PAGE_SIZE)) < 0 ||
        (rc = priv_enter_user_mode(c->uc, PAGE_UP(sys->phys.bytes))) < 0)
        goto err;
    if ((rc = cpu_check(
             uc_hook_add(c->uc, &c->hooks[0], UC_HOOK_TLB_FILL, (void *)cpu_fill, c, 1, 0),
             "fill hook")) < 0 ||
        (rc = cpu_check(uc_hook_add(c->uc, &c->hooks[1], UC_HOOK_INSN, (void *)cpu_on_syscall, c, 1,
                                    0, UC_X86_INS_SYSCALL),
                        "syscall hook")) < 0 ||
        (rc =
             cpu_check(uc_hook_add(c->uc, &c->hooks[2], UC_HOOK_INTR, (void *)cpu_on_intr, c, 1, 0),
                       "interrupt hook")) < 0)
        goto err;
    if ((rc = priv_io_create(c->uc, sys, &c->io)) < 0) {
        fprintf(stderr, "vmemu: unicorn: port I/O hooks: %s\n", strerror(-rc));
        goto err;
    }
    cpu_find_df_offset(c);
    sys->phys.code_hook = cpu_invalidate_code;
    sys->phys.code_ctx = c;
    *out = c;
    return 0;
err:
    cpu_destroy(c);
    return rc;
}

/* Closes the engine. */
void cpu_destroy(struct cpu *c)
{
    if (!c)
        return;
    if (c->sys && c->sys->phys.code_ctx == c) {
        c->sys->phys.code_hook = NULL;
        c->sys->phys.code_ctx = NULL;
    }
    if (c->watchdog_started) {
        atomic_store(&c->watchdog_quit, true);
        pthread_join(c->watchdog, NULL);
    }
    if (c->ctx)
        uc_context_free(c->ctx);
    cpu_tlb_free(c);
    priv_io_destroy(c->io);
    free(c->code_pending);
    cpu_watch_free(c);
    if (c->uc)
        uc_close(c->uc);
    cpu_probes_free(c);
    free(c);
}

/* The function called on every syscall instruction. */
void cpu_set_syscall_handler(struct cpu *c, cpu_syscall_fn fn, void *ctx)
{
    c->syscall = fn;
    c->syscall_ctx = ctx;
}

/* From a syscall handler: end the run after this instruction. */
void cpu_request_stop(struct cpu *c)
{
    c->stop_requested = true;
}

static enum cpu_exit_kind cpu_exit_of_intr(int intno)
{
    switch (intno) {
    case 0:
        return CPU_EXIT_DIVIDE; /* #DE */
    case 1:
    case 3:
        return CPU_EXIT_TRAP; /* #DB, #BP */
    case 6:
        return CPU_EXIT_ILLEGAL; /* #UD */
    default:
        return CPU_EXIT_EXCEPTION;
    }
}

/* Runs sys->current from RIP until a stop request, a fault or an exception. */
int cpu_run(struct cpu *c, struct cpu_exit *out)
{
    uint64_t rip;
    uc_err err;
    c->stop_requested = false;
    c->budget_spent = false;
    c->fault_pending = false;
    c->watch_pending = false;
    c->intr = CPU_NO_INTR;
    uint64_t gen = atomic_fetch_add(&c->run_gen, 1) + 1;
    c->cur_gen = gen;
    bool preempted, io = false;
    uint64_t io_rip = 0;
    uint64_t t_start = now_ns();
    atomic_store(&c->wd_start, t_start);
    cpu_tsc_arm(c);
    bool tsc;
    do {
        cpu_tlb_sync(c);
        c->deferred_stop = false;
        uc_reg_read(c->uc, UC_X86_REG_RIP, &rip);
        c->in_run = true;
        cpu_watch_refresh(c);
        /* until = 0: any other value makes Unicorn translate until-1 after the run. */
        cpu_smc_set_running(c);
        err = uc_emu_start(c->uc, rip, 0, 0, 0);
        cpu_smc_set_running(NULL);
        c->in_run = false;
        /* Port I/O: the registers as at the instruction, which faults (#GP) as on Linux. */
        if (priv_io_finish(c->io, c->uc, &io_rip)) {
            io = true;
            c->fault_pending = c->watch_pending = c->stop_requested = false;
            c->intr = 13;
        }
        cpu_invalidate_deferred(c);
        tsc = cpu_tsc_finish(c);
        preempted = atomic_load(&c->wd_fired) == gen;
        /* Stopped only for the invalidation or an rdtsc: go on from where the run stopped. */
    } while (err == UC_ERR_OK && (c->deferred_stop || tsc) && !io && !c->stop_requested &&
             !c->fault_pending && !c->watch_pending && c->intr == CPU_NO_INTR && !preempted &&
             !c->budget_spent);
    atomic_store(&c->wd_start, 0);
    c->run_ns += now_ns() - t_start;
    uc_reg_read(c->uc, UC_X86_REG_RIP, &out->rip);
    out->intno = c->intr;
    out->page = 0;
    out->access = ACCESS_READ;
    if (c->watch_pending) {
        out->kind = CPU_EXIT_WATCH;
        out->page = c->watch_page;
        out->access = c->watch_access;
    } else if (c->fault_pending) {
        out->kind = c->fault_rc == -ENOMEM ? CPU_EXIT_OOM : CPU_EXIT_FAULT;
    } else if (io) {
        out->kind = CPU_EXIT_EXCEPTION;
        out->rip = io_rip;
    } else if (c->intr != CPU_NO_INTR) {
        out->kind = cpu_exit_of_intr(c->intr);
    } else if (err == UC_ERR_INSN_INVALID) {
        out->kind = CPU_EXIT_ILLEGAL;
    } else if (err == UC_ERR_OK && !c->stop_requested && c->budget_spent) {
        out->kind = CPU_EXIT_QUANTUM;
    } else if (err == UC_ERR_OK && !c->stop_requested && preempted) {
        out->kind = CPU_EXIT_PREEMPT;
    } else if (err == UC_ERR_OK) {
        out->kind = c->stop_requested ? CPU_EXIT_STOP : CPU_EXIT_PRIV;
        uint8_t prev = 0;
        /* hlt ends the run with RIP past it; report the instruction itself, as Linux. */
        if (out->kind == CPU_EXIT_PRIV && c->sys->current &&
            copy_from_user_nofault(c->sys->current, &prev, out->rip - 1, 1) == 1 && prev == 0xf4)
            out->rip--;
    } else if (err == UC_ERR_EXCEPTION) {
        out->kind = CPU_EXIT_EXCEPTION;
    } else {
        out->kind = CPU_EXIT_ERROR;
        return cpu_check(err, "run");
    }
    return 0;
}

/* Reads a register. */
uint64_t cpu_get(struct cpu *c, enum cpu_reg reg)
{
    uint64_t v = 0;
    uc_reg_read(c->uc, cpu_uc_regs[reg], &v);
    return v;
}

/* Writes a register; inside the syscall hook a new RIP is stored as RIP-2 because
 * Unicorn advances it by the instruction's 2 bytes after the hook. */
void cpu_set(struct cpu *c, enum cpu_reg reg, uint64_t value)
{
    if (reg == CPU_RIP && c->in_syscall)
        value -= 2;
    uc_reg_write(c->uc, cpu_uc_regs[reg], &value);
}

/* Registers for a new program: zeroes, RIP, RSP, RFLAGS=0x202 (IF), and the x87/SSE
 * control state Linux sets at exec (FPCW 0x37f, MXCSR 0x1f80, empty tag word). */
void cpu_reset_regs(struct cpu *c, gva_t entry, gva_t sp)
{
    static const enum cpu_reg zeroed[] = {
        CPU_RAX, CPU_RBX, CPU_RCX, CPU_RDX, CPU_RSI, CPU_RDI, CPU_RBP,     CPU_R8,      CPU_R9,
        CPU_R10, CPU_R11, CPU_R12, CPU_R13, CPU_R14, CPU_R15, CPU_FS_BASE, CPU_GS_BASE,
    };
    for (size_t i = 0; i < ARRAY_LEN(zeroed); i++)
        cpu_set(c, zeroed[i], 0);
    cpu_set(c, CPU_RIP, entry); /* inside the syscall hook (execve) cpu_set adjusts it */
    cpu_set(c, CPU_RSP, sp);
    cpu_set(c, CPU_RFLAGS, 0x202);
    uint64_t fpcw = 0x37f, mxcsr = 0x1f80, fptag = 0xffff;
    uc_reg_write(c->uc, UC_X86_REG_FPCW, &fpcw);
    uc_reg_write(c->uc, UC_X86_REG_MXCSR, &mxcsr);
    uc_reg_write(c->uc, UC_X86_REG_FPTAG, &fptag);
    c->sys->cpu_flush_pending |= VM_FLUSH_EXEC;
}

/* Unicorn TLB flushes done so far. */
uint64_t cpu_tlb_flushes(const struct cpu *c)
{
    return c ? c->flushes : 0;
}

/* The flush counts, per cause, the code-page invalidations and the guest's run time. */
void cpu_flush_stats(const struct cpu *c, struct cpu_flush_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    out->flushes = c->flushes;
    memcpy(out->by_cause, c->flush_why, sizeof(out->by_cause));
    out->code_invalidations = c->code_invalidations;
    out->page_invalidations = c->page_invalidations;
    out->run_ns = c->run_ns;
}

/* Whether the #DF workaround is active. */
bool cpu_df_workaround_active(const struct cpu *c)
{
    return c->df_offset >= 0;
}

/* From a syscall handler that set RCX and R11 itself. */
void cpu_keep_syscall_regs(struct cpu *c)
{
    c->keep_regs = true;
}

/* The watchdog thread: every millisecond, asks a run that has lasted longer than the
 * limit to stop, by its run number; the CPU thread stops at the next syscall, or at the
 * next block start after cpu_preempt_anywhere. It never calls uc_emu_stop itself (see
 * cpu_on_block). A request that arrives after its run ended names an old run. */
static void *cpu_watchdog_main(void *arg)
{
    struct cpu *c = arg;
    const struct timespec tick = {0, 1000 * 1000};
    while (!atomic_load(&c->watchdog_quit)) {
        nanosleep(&tick, NULL);
        uint64_t limit = atomic_load(&c->wd_limit);
        uint64_t start = atomic_load(&c->wd_start);
        uint64_t gen = atomic_load(&c->run_gen);
        if (limit == 0 || start == 0 || now_ns() - start < limit ||
            atomic_load(&c->wd_fired) == gen)
            continue;
        atomic_store(&c->wd_fired, gen);
    }
    return NULL;
}

/* Blocks started so far (see the header). */
uint64_t cpu_blocks(const struct cpu *c)
{
    return c->blocks;
}

/* Gives the following runs a budget of blocks (see the header). */
void cpu_set_block_budget(struct cpu *c, uint64_t blocks)
{
    c->budget_spent = false;
    c->block_budget = blocks;
    if (blocks != 0)
        cpu_preempt_anywhere(c);
}

/* Lets the watchdog stop runs that make no syscall (a loop waiting for a signal): installs
 * the block hook, for good, and drops the code translated without it. Until then a stop
 * request waits for the next syscall: the hook costs up to half the speed of tight loops,
 * paid only by runs that need it. Call between runs. */
void cpu_preempt_anywhere(struct cpu *c)
{
    if (c->block_hook_on || c->in_run ||
        uc_hook_add(c->uc, &c->block_hook, UC_HOOK_BLOCK, (void *)cpu_on_block, c, 1, 0) !=
            UC_ERR_OK)
        return;
    c->block_hook_on = true;
    /* Per frame, not uc_ctl_flush_tb: a full flush zeroes the whole code buffer. */
    /* Frames past next_fresh were never used, so never executed: not read at all (the
     * descriptors of a large pool are mostly untouched memory). */
    for (pfn_t pfn = 1; pfn < c->sys->phys.next_fresh; pfn++)
        if (c->sys->phys.frames[pfn].flags & FRAME_EXECUTED)
            cpu_invalidate_code(c, pfn);
}

/* Installs the page-trap function; the TLB is flushed before the next run because the
 * permissions Unicorn cached were given without it. */
void cpu_set_page_trap(struct cpu *c, cpu_page_trap_fn fn, void *ctx)
{
    c->trap_fn = fn;
    c->trap_ctx = ctx;
    c->sys->cpu_flush_pending |= VM_FLUSH_DEBUG;
}

/* Arms (ns > 0) or disarms the watchdog for the following runs. */
void cpu_set_watchdog(struct cpu *c, uint64_t ns)
{
    atomic_store(&c->wd_limit, ns);
    if (ns == 0 || c->watchdog_started)
        return;
    if (pthread_create(&c->watchdog, NULL, cpu_watchdog_main, c) == 0)
        c->watchdog_started = true;
}
