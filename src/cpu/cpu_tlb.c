/* Unicorn's TLB: it owns when and how vmemu empties it (the whole of it, or single pages),
 * and the model of its size that decides when a flush is worth it for its own sake.
 *
 * Flushes. The memory layer asks through struct vmsys: cpu_flush_pending (causes, counted)
 * for a whole flush, cpu_inval for a few pages of the current mm whose PTEs lost a
 * permission or their frame. Unicorn 2.1.1's API flushes only the whole TLB
 * (uc_ctl_flush_tlb), after which every page the guest touches is filled again.
 *
 * Single pages. Unicorn's x86 `invlpg` drops one page (QEMU's tlb_flush_page: every MMU
 * index, the victim TLB, and the jump cache of that page and of the one before it, where a
 * block spanning both may start). The guest runs at CPL 3 for good (priv.c), where invlpg
 * raises #GP, and no instruction brings Unicorn back to ring 0 (syscall and interrupts go to
 * hooks). But uc_context_restore copies the whole CPU state, privilege level included, so a
 * context saved at CPL 0 before the switch to user mode takes the engine back there: save
 * the guest's context, restore the CPL 0 one, run `invlpg [rdi]; hlt` once per page from a
 * vmemu-private address in the kernel half (which no guest mapping reaches, and which the
 * fill callback grants only while the stub runs), restore the guest's context. The stub's
 * own TLB entry is in the kernel's MMU index, which code at CPL 3 never uses, and its
 * translated block is keyed by the CPL 0 flags. Only outside uc_emu_start (hlt leaves the
 * CPU halted, which the next run clears): the syscall hook stops a run whose syscall asked
 * for single pages, and inside the fill callback or a code hook they are flushed whole.
 *
 * Size. QEMU's TLB starts at 256 entries and changes size only at a flush: it doubles when
 * more than 70% of it was in use since the last one (CPU_TLB_DYN_*; it shrinks when the use
 * stays under 30% for 100 ms). A program that seldom flushes keeps 256 entries, and one
 * whose working set is larger refills it on every access of a loop (a 4096-page loop ran
 * 13x slower per load, UNICORN.md). vmemu counts the guest's fills since the last flush and
 * models the size: a flush after more fills than 70% of the modelled entries doubles the
 * model, as QEMU doubles its TLB; more refills (fills of pages that took no page fault:
 * the working set coming back, where first touches of new memory would gain nothing from
 * a larger TLB) than twice the model ask for a flush (cause "grow") so that Unicorn grows,
 * up to CPU_TLB_GROW_MAX entries (a flush clears the whole table: 2 MiB at that size). The
 * model never shrinks, so the flushes depend only on the fills. */
#include <errno.h>
#include <stdio.h>

#include "cpu_int.h"

/* The largest TLB vmemu flushes to grow to: 65536 pages (256 MiB) of working set. */
#define CPU_TLB_GROW_MAX (1u << 16)
/* QEMU's largest TLB (CPU_TLB_DYN_MAX_BITS for a 64-bit guest). */
#define CPU_TLB_QEMU_MAX (1u << 20)

_Static_assert(VM_FLUSH_NCAUSES <= 8, "struct cpu.flush_why holds 8 causes");

/* The stub's code: invlpg [rdi]; hlt. */
static const uint8_t cpu_stub_code[] = {0x0f, 0x01, 0x3f, 0xf4};

/* Maps the stub and saves the CPL 0 context (see cpu_int.h). */
int cpu_tlb_init(struct cpu *c, uint64_t stub_pa)
{
    uc_err err;
    c->tlb_model = CPU_TLB_FIRST;
    if ((err = uc_mem_map(c->uc, stub_pa, 4096, UC_PROT_READ | UC_PROT_EXEC)) != UC_ERR_OK ||
        (err = uc_mem_write(c->uc, stub_pa, cpu_stub_code, sizeof(cpu_stub_code))) != UC_ERR_OK ||
        (err = uc_context_alloc(c->uc, &c->kernel_ctx)) != UC_ERR_OK ||
        (err = uc_context_alloc(c->uc, &c->guest_ctx)) != UC_ERR_OK ||
        (err = uc_context_save(c->uc, c->kernel_ctx)) != UC_ERR_OK) {
        fprintf(stderr, "vmemu: unicorn: page invalidation stub: %s\n", uc_strerror(err));
        return -EIO;
    }
    c->stub_pa = stub_pa;
    return 0;
}

/* Frees the contexts. */
void cpu_tlb_free(struct cpu *c)
{
    if (c->kernel_ctx)
        uc_context_free(c->kernel_ctx);
    if (c->guest_ctx)
        uc_context_free(c->guest_ctx);
}

/* The fill callback's answer for va while the stub runs: the stub page, execute only. */
bool cpu_tlb_stub_fill(struct cpu *c, uint64_t va, uc_tlb_entry *e)
{
    if (!c->stub_active || va - CPU_STUB_VA >= 4096)
        return false;
    e->paddr = c->stub_pa;
    e->perms = UC_PROT_EXEC;
    return true;
}

/* Counts a fill of the guest; asks for a flush when the refills say the TLB is too small. */
void cpu_tlb_note_fill(struct cpu *c, bool faulted)
{
    c->fills_since_flush++;
    if (!faulted && ++c->refills_since_flush > 2 * c->tlb_model && c->tlb_model < CPU_TLB_GROW_MAX)
        c->sys->cpu_flush_pending |= VM_FLUSH_GROW;
}

/* Flushes the whole TLB for the causes in why, and updates the size model. */
static void cpu_tlb_flush(struct cpu *c, unsigned why)
{
    c->sys->cpu_flush_pending = 0;
    c->sys->cpu_inval_n = 0;
    if (c->fills_since_flush * 10 > (uint64_t)c->tlb_model * 7 && c->tlb_model < CPU_TLB_QEMU_MAX)
        c->tlb_model *= 2;
    c->fills_since_flush = c->refills_since_flush = 0;
    uc_ctl_flush_tlb(c->uc);
    c->flushes++;
    for (unsigned i = 0; i < VM_FLUSH_NCAUSES; i++)
        if (why & (1u << i))
            c->flush_why[i]++;
}

/* Flushes when a flush or single pages were asked for (see cpu_int.h): here, inside a hook,
 * the stub cannot run, so single pages count as a downgrade flush. */
void cpu_flush_if_pending(struct cpu *c)
{
    unsigned why = c->sys->cpu_flush_pending;
    if (!why && c->sys->cpu_inval_n)
        why = VM_FLUSH_DOWNGRADE;
    if (why)
        cpu_tlb_flush(c, why);
}

/* Drops Unicorn's entries for the n pages at va[]; false when the stub could not run. */
static bool cpu_tlb_invlpg(struct cpu *c, const gva_t *va, unsigned n)
{
    uint64_t rip = 0, end = CPU_STUB_VA + sizeof(cpu_stub_code);
    bool ok = uc_context_save(c->uc, c->guest_ctx) == UC_ERR_OK &&
              uc_context_restore(c->uc, c->kernel_ctx) == UC_ERR_OK;
    c->stub_active = true;
    for (unsigned i = 0; ok && i < n; i++) {
        uint64_t page = va[i];
        ok = uc_reg_write(c->uc, UC_X86_REG_RDI, &page) == UC_ERR_OK &&
             uc_emu_start(c->uc, CPU_STUB_VA, 0, 0, 0) == UC_ERR_OK &&
             uc_reg_read(c->uc, UC_X86_REG_RIP, &rip) == UC_ERR_OK && rip == end;
        if (ok)
            c->page_invalidations++;
    }
    c->stub_active = false;
    return uc_context_restore(c->uc, c->guest_ctx) == UC_ERR_OK && ok;
}

/* Outside a run: the single pages asked for, one by one, or a flush (see cpu_int.h). */
void cpu_tlb_sync(struct cpu *c)
{
    if (c->sys->cpu_flush_pending || !c->sys->cpu_inval_n) {
        cpu_flush_if_pending(c);
        return;
    }
    if (!cpu_tlb_invlpg(c, c->sys->cpu_inval, c->sys->cpu_inval_n)) {
        if (!c->invlpg_failed)
            fprintf(stderr, "vmemu: unicorn: page invalidation failed; flushing instead\n");
        c->invlpg_failed = true;
        cpu_tlb_flush(c, VM_FLUSH_DOWNGRADE);
    }
    c->sys->cpu_inval_n = 0;
}
