/* User mode for the guest, so that every instruction Linux refuses at CPL 3 faults: it owns
 * the switch of a new engine to CPL 3 and the trap of port I/O, the one kind of privileged
 * instruction Unicorn does not refuse there.
 *
 * Why CPL 3 (and not hooks at CPL 0): at CPL 3 with IOPL 0, Unicorn 2.1.1 raises #GP itself
 * for cli, sti, hlt, mov to/from CR/DR, rdmsr/wrmsr, lgdt/lidt/lldt/ltr/lmsw, invlpg,
 * wbinvd, invd, clts, swapgs, sysret, sysexit, xsetbv and iretq to ring 0: the interrupt
 * hook gets vector 13 with RIP at the instruction and nothing after it run, which is what
 * Linux delivers; popf can no longer change IOPL or IF. No guest code runs faster or slower
 * for it (same speed measured on a load/store loop), the syscall hook works unchanged (its
 * helper checks no privilege), the virtual-TLB fill has no notion of user pages, and an
 * exception given to UC_HOOK_INTR never switches to ring 0, so the engine stays at CPL 3
 * for good; only a context restore takes it back to CPL 0 (cpu_tlb.c does, to run
 * invlpg). Unicorn cannot be put at CPL 3 by uc_reg_write (in 64-bit mode a
 * write of CS or SS changes only the selector, not the descriptor cache that holds the
 * privilege level): a `sysretq` does it, which needs EFER.SCE and loads CS/SS from STAR
 * without reading a GDT.
 *
 * Port I/O: Unicorn 2.1.1 compiles out the I/O permission check ("allow all I/O
 * instructions"), so in/out/ins/outs run at CPL 3 and reach only UC_HOOK_INSN hooks. Those
 * run inside the translated block with RIP not synchronised (the start of the block, or of
 * an earlier block of the same chain) and with the arithmetic flags possibly stale, and
 * uc_emu_stop takes effect only later. So the hook saves the registers (exact but for RIP
 * and the flags), flushes Unicorn's TLB and has the fill callback refuse everything until
 * the run ends (no later instruction can touch memory; later syscalls and exceptions are
 * ignored), and finds the instruction by decoding the guest's code forward from RIP. After
 * the run the saved registers come back with RIP at the instruction. */
#include "priv.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmemu/uaccess.h"

#define MSR_EFER      0xc0000080u
#define MSR_STAR      0xc0000081u
#define EFER_SCE      0x1ULL
#define STAR_SYSRET   (0x23ULL << 48) /* __USER32_CS: sysretq loads CS 0x33, SS 0x2b */
#define USER_RFLAGS   0x202ULL        /* IF, IOPL 0 */
#define ARITH_FLAGS   0x8d5ULL        /* CF PF AF ZF SF OF */
#define IO_CODE_BYTES 8192            /* a translated block spans at most two pages */
/* capstone's bits for an instruction that writes CF, PF, AF, ZF, SF or OF. */
#define FLAG_WRITES                                                                                \
    (X86_EFLAGS_MODIFY_CF | X86_EFLAGS_MODIFY_PF | X86_EFLAGS_MODIFY_AF | X86_EFLAGS_MODIFY_ZF |   \
     X86_EFLAGS_MODIFY_SF | X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_CF | X86_EFLAGS_RESET_PF |     \
     X86_EFLAGS_RESET_AF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_RESET_SF | X86_EFLAGS_RESET_OF |       \
     X86_EFLAGS_SET_CF | X86_EFLAGS_SET_PF | X86_EFLAGS_SET_AF | X86_EFLAGS_SET_ZF |               \
     X86_EFLAGS_SET_SF | X86_EFLAGS_SET_OF | X86_EFLAGS_UNDEFINED_CF | X86_EFLAGS_UNDEFINED_PF |   \
     X86_EFLAGS_UNDEFINED_AF | X86_EFLAGS_UNDEFINED_ZF | X86_EFLAGS_UNDEFINED_SF |                 \
     X86_EFLAGS_UNDEFINED_OF)

struct priv_io {
    struct vmsys *sys;    /* the current address space (code to decode) */
    uc_context *saved;    /* the registers at the port-I/O instruction */
    uc_hook hooks[2];     /* IN, OUT */
    bool pending;         /* a port-I/O instruction ran in this run */
    bool out;             /* it was an out */
    uint16_t port;        /* its port */
    uint64_t hook_rip;    /* RIP the hook saw */
    uint64_t hook_rflags; /* RFLAGS the hook saw (arithmetic flags maybe stale) */
};

int priv_enter_user_mode(uc_engine *uc, uint64_t stub_pa)
{
    static const uint8_t stub[] = {0x48, 0x0f, 0x07}; /* sysretq */
    uc_x86_msr efer = {MSR_EFER, 0}, star = {MSR_STAR, STAR_SYSRET};
    uint64_t rcx = stub_pa + sizeof(stub), r11 = USER_RFLAGS, zero = 0, cs = 0, ss = 0;
    uc_err err;

    if ((err = uc_mem_map(uc, stub_pa, 4096, UC_PROT_READ | UC_PROT_EXEC)) != UC_ERR_OK)
        goto fail;
    if ((err = uc_mem_write(uc, stub_pa, stub, sizeof(stub))) != UC_ERR_OK ||
        (err = uc_reg_read(uc, UC_X86_REG_MSR, &efer)) != UC_ERR_OK)
        goto unmap;
    efer.value |= EFER_SCE;
    if ((err = uc_reg_write(uc, UC_X86_REG_MSR, &efer)) != UC_ERR_OK ||
        (err = uc_reg_write(uc, UC_X86_REG_MSR, &star)) != UC_ERR_OK ||
        (err = uc_reg_write(uc, UC_X86_REG_RCX, &rcx)) != UC_ERR_OK ||
        (err = uc_reg_write(uc, UC_X86_REG_R11, &r11)) != UC_ERR_OK)
        goto unmap;
    /* until = the address sysretq jumps to: the run ends there, at CPL 3. */
    err = uc_emu_start(uc, stub_pa, rcx, 0, 0);
unmap:
    uc_mem_unmap(uc, stub_pa, 4096);
    uc_ctl_flush_tlb(uc);
    uc_reg_write(uc, UC_X86_REG_RCX, &zero);
    uc_reg_write(uc, UC_X86_REG_R11, &zero);
    uc_reg_write(uc, UC_X86_REG_RIP, &zero);
    if (err != UC_ERR_OK)
        goto fail;
    uc_reg_read(uc, UC_X86_REG_CS, &cs);
    uc_reg_read(uc, UC_X86_REG_SS, &ss);
    if ((cs & 0xffff) == PRIV_USER_CS && (ss & 0xffff) == PRIV_USER_SS)
        return 0;
    fprintf(stderr, "vmemu: unicorn: entering user mode: CS %#llx SS %#llx after sysretq\n",
            (unsigned long long)cs, (unsigned long long)ss);
    return -EIO;
fail:
    fprintf(stderr, "vmemu: unicorn: entering user mode: %s\n", uc_strerror(err));
    return -EIO;
}

/* Whether capstone's instruction is port I/O. */
static bool is_port_io(unsigned id)
{
    switch (id) {
    case X86_INS_IN:
    case X86_INS_INSB:
    case X86_INS_INSW:
    case X86_INS_INSD:
    case X86_INS_OUT:
    case X86_INS_OUTSB:
    case X86_INS_OUTSW:
    case X86_INS_OUTSD:
        return true;
    default:
        return false;
    }
}

static bool is_out(unsigned id)
{
    return id == X86_INS_OUT || id == X86_INS_OUTSB || id == X86_INS_OUTSW || id == X86_INS_OUTSD;
}

/* The port of a port-I/O instruction: its imm8 operand (in/out only), else DX. */
static uint16_t port_of(const cs_insn *in, uint16_t dx)
{
    const cs_x86 *x = &in->detail->x86;
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_IMM)
            return (uint16_t)x->operands[i].imm;
    return dx;
}

/* Whether the instruction is a jump (conditional or not). */
static bool is_jump(const cs_insn *in)
{
    const cs_detail *d = in->detail;
    for (uint8_t i = 0; i < d->groups_count; i++)
        if (d->groups[i] == X86_GRP_JUMP)
            return true;
    return false;
}

/* Whether the instruction leaves the straight line for good: an unconditional jump, a call,
 * a return, an interrupt. A conditional jump does not: its fall-through is followed (RIP
 * may be the start of an earlier block of a chain, such as a loop that ends there). */
static bool leaves_line(const cs_insn *in)
{
    const cs_detail *d = in->detail;
    if (in->id == X86_INS_JMP || in->id == X86_INS_LJMP)
        return true;
    for (uint8_t i = 0; i < d->groups_count; i++)
        switch (d->groups[i]) {
        case X86_GRP_CALL:
        case X86_GRP_RET:
        case X86_GRP_INT:
        case X86_GRP_IRET:
            return true;
        default:
            break;
        }
    return false;
}

/* Decodes code (guest bytes at `at`) in straight line; fn is called per instruction
 * until it returns true (then that address is returned) or the line ends (0). */
static uint64_t decode_line(const uint8_t *code, size_t len, uint64_t at,
                            bool (*fn)(const cs_insn *in, void *arg), void *arg)
{
    csh cs;
    uint64_t found = 0;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return 0;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *in = cs_malloc(cs);
    const uint8_t *p = code;
    uint64_t addr = at;
    while (in && cs_disasm_iter(cs, &p, &len, &addr, in)) {
        if (fn(in, arg)) {
            found = in->address;
            break;
        }
        if (leaves_line(in))
            break;
    }
    if (in)
        cs_free(in, 1);
    cs_close(&cs);
    return found;
}

struct io_match {
    bool out;
    uint16_t port;
};

static bool match_io(const cs_insn *in, void *arg)
{
    const struct io_match *m = arg;
    return is_port_io(in->id) && is_out(in->id) == m->out && port_of(in, m->port) == m->port;
}

uint64_t priv_find_port_insn(const uint8_t *code, size_t len, uint64_t at, bool out, uint16_t port)
{
    struct io_match m = {out, port};
    return decode_line(code, len, at, match_io, &m);
}

/* Where the end-of-run state's flags can be trusted: the line from the instruction after
 * the port-I/O one to the stop point has no instruction that writes arithmetic flags. */
struct flag_walk {
    uint64_t io;   /* the port-I/O instruction */
    uint64_t stop; /* RIP at the end of the run */
    bool clean;    /* reached stop without a flag writer */
};

static bool walk_flags(const cs_insn *in, void *arg)
{
    struct flag_walk *w = arg;
    if (in->address == w->stop) {
        w->clean = true;
        return true;
    }
    if (in->address > w->io && (in->detail->x86.eflags & FLAG_WRITES))
        return true; /* a flag writer: clean stays false */
    /* A jump to the stop point ends the line cleanly too. */
    const cs_x86 *x = &in->detail->x86;
    if (is_jump(in) && x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
        (uint64_t)x->operands[0].imm == w->stop) {
        w->clean = true;
        return true;
    }
    return false;
}

/* The guest's code at va (up to IO_CODE_BYTES), in buf; returns how many bytes. */
static size_t read_code(struct priv_io *io, uint64_t va, uint8_t *buf)
{
    return io->sys->current ? copy_from_user_nofault(io->sys->current, buf, va, IO_CODE_BYTES) : 0;
}

/* The first port-I/O instruction of a run: keep the registers, stop every later effect. */
static void io_trap(struct priv_io *io, uc_engine *uc, uint32_t port, bool out)
{
    if (io->pending)
        return; /* a later one of the same block: it does not count */
    io->pending = true;
    io->out = out;
    io->port = (uint16_t)port;
    uc_reg_read(uc, UC_X86_REG_RIP, &io->hook_rip);
    uc_reg_read(uc, UC_X86_REG_RFLAGS, &io->hook_rflags);
    uc_context_save(uc, io->saved);
    uc_ctl_flush_tlb(uc);
    uc_emu_stop(uc);
}

static uint32_t on_in(uc_engine *uc, uint32_t port, int size, void *user)
{
    (void)size;
    io_trap(user, uc, port, false);
    return 0;
}

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user)
{
    (void)size;
    (void)value;
    io_trap(user, uc, port, true);
}

int priv_io_create(uc_engine *uc, struct vmsys *sys, struct priv_io **out)
{
    struct priv_io *io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    io->sys = sys;
    if (uc_context_alloc(uc, &io->saved) != UC_ERR_OK ||
        uc_hook_add(uc, &io->hooks[0], UC_HOOK_INSN, (void *)on_in, io, 1, 0, UC_X86_INS_IN) !=
            UC_ERR_OK ||
        uc_hook_add(uc, &io->hooks[1], UC_HOOK_INSN, (void *)on_out, io, 1, 0, UC_X86_INS_OUT) !=
            UC_ERR_OK) {
        priv_io_destroy(io);
        return -EIO;
    }
    *out = io;
    return 0;
}

void priv_io_destroy(struct priv_io *io)
{
    if (!io)
        return;
    if (io->saved)
        uc_context_free(io->saved);
    free(io);
}

bool priv_io_pending(const struct priv_io *io)
{
    return io && io->pending;
}

bool priv_io_finish(struct priv_io *io, uc_engine *uc, uint64_t *rip)
{
    if (!priv_io_pending(io))
        return false;
    io->pending = false;
    uint64_t stop = 0, stop_flags = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &stop);
    uc_reg_read(uc, UC_X86_REG_RFLAGS, &stop_flags);
    uc_context_restore(uc, io->saved);
    uc_ctl_flush_tlb(uc);
    uint8_t *code = malloc(IO_CODE_BYTES);
    size_t n = code ? read_code(io, io->hook_rip, code) : 0;
    uint64_t at = priv_find_port_insn(code, n, io->hook_rip, io->out, io->port);
    if (at == 0)
        at = io->hook_rip; /* not found in straight line from RIP: the best known place */
    else if (at != io->hook_rip)
        n = read_code(io, at, code);
    /* The flags: those of the end of the run when nothing between the instruction and the
     * stop point wrote them (port I/O writes none), else those the hook saw. */
    uint64_t flags = io->hook_rflags;
    struct flag_walk w = {at, stop, stop == at};
    if (!w.clean && n > 0)
        decode_line(code, n, at, walk_flags, &w);
    if (w.clean)
        flags = (flags & ~ARITH_FLAGS) | (stop_flags & ARITH_FLAGS);
    free(code);
    uc_reg_write(uc, UC_X86_REG_RIP, &at);
    uc_reg_write(uc, UC_X86_REG_RFLAGS, &flags);
    *rip = at;
    return true;
}
