/* The guest's time-stamp counter under --deterministic: CR4.TSD makes rdtsc and rdtscp
 * raise #GP at CPL 3 (Unicorn keeps that check of QEMU's helper), the INTR hook notes
 * which one trapped, and cpu_run completes it with the value of the clock vmemu gives
 * (cpu_set_tsc) before it goes on. Without a clock they run at full speed on the host's
 * counter. */
#include "cpu_int.h"

#include "vmemu/uaccess.h"

#define CR4_TSD        (1ULL << 2)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)

/* Gives rdtsc and rdtscp the clock fn (see the header). */
void cpu_set_tsc(struct cpu *c, cpu_tsc_fn fn, void *ctx)
{
    c->tsc_fn = fn;
    c->tsc_ctx = ctx;
}

/* Before a run: with a clock, CR4.TSD is set (a context switched in may predate it). */
void cpu_tsc_arm(struct cpu *c)
{
    if (!c->tsc_fn)
        return;
    uint64_t cr4 = 0;
    uc_reg_read(c->uc, UC_X86_REG_CR4, &cr4);
    if (!(cr4 & CR4_TSD)) {
        /* Unicorn starts with CR4 = 0 and SSE enabled in its hidden flags; writing CR4
         * recomputes them, so OSFXSR and OSXMMEXCPT are set too, as Linux has them. */
        cr4 |= CR4_TSD | CR4_OSFXSR | CR4_OSXMMEXCPT;
        uc_reg_write(c->uc, UC_X86_REG_CR4, &cr4);
    }
}

/* From the INTR hook, for a #GP: whether the instruction at RIP is rdtsc or rdtscp under
 * a clock of vmemu's; if so it is noted for cpu_tsc_finish. */
bool cpu_tsc_trap(struct cpu *c)
{
    uint64_t rip = 0;
    uint8_t insn[3] = {0};
    if (!c->tsc_fn || !c->sys->current)
        return false;
    uc_reg_read(c->uc, UC_X86_REG_RIP, &rip);
    size_t n = copy_from_user_nofault(c->sys->current, insn, rip, sizeof(insn));
    if (n >= 2 && insn[0] == 0x0f && insn[1] == 0x31)
        c->tsc_len = 2;
    else if (n == 3 && insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9)
        c->tsc_len = 3;
    else
        return false;
    c->tsc_rip = rip;
    return true;
}

/* After a run stopped for a trapped rdtsc or rdtscp: completes it (EDX:EAX the clock,
 * ECX = TSC_AUX = CPU 0 for rdtscp) and returns true, the run to go on after it. */
bool cpu_tsc_finish(struct cpu *c)
{
    if (c->tsc_len == 0)
        return false;
    uint64_t tsc = c->tsc_fn(c->tsc_ctx), lo = tsc & 0xffffffffULL, hi = tsc >> 32, zero = 0;
    uint64_t next = c->tsc_rip + c->tsc_len;
    uc_reg_write(c->uc, UC_X86_REG_RAX, &lo);
    uc_reg_write(c->uc, UC_X86_REG_RDX, &hi);
    if (c->tsc_len == 3)
        uc_reg_write(c->uc, UC_X86_REG_RCX, &zero);
    uc_reg_write(c->uc, UC_X86_REG_RIP, &next);
    c->tsc_len = 0;
    return true;
}
