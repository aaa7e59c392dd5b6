/* The faulting instruction's memory access, for the crash report (src/report/crash.c): decodes
 * the instruction at RIP with capstone, lists the memory it touches (explicit operands:
 * segment, base, index, scale, displacement; implicit ones: the stack of push/call/pop/
 * ret/leave, xlat's table) and picks the one that touches the faulting page with the
 * faulting access. Works on bytes and register values only, so it is tested without a
 * CPU. Capstone 4's operand sizes and access flags are wrong for a few instructions;
 * those are corrected or marked unknown here. */
#include "vmemu/insn.h"

#include <capstone/capstone.h>
#include <errno.h>

#define INSN_MAX_ACCESSES 10 /* explicit operands (at most 8) plus implicit accesses */

/* One memory access of an instruction. */
struct mem_access {
    gva_t ea;      /* first byte */
    unsigned size; /* bytes, 0 when unknown */
    uint8_t rw;    /* CS_AC_READ and/or CS_AC_WRITE; 0 when capstone does not say */
};

/* A capstone register name seen in an address: which vmemu register holds it and how
 * many low bytes of it count. */
struct reg_alias {
    uint8_t reg;   /* enum cpu_reg */
    uint8_t width; /* 8, 4, 2 or 1; 0 marks a register that cannot form an address */
};

#define ALIAS(r64, r32, r16, r8, cpu)                                                              \
    [X86_REG_##r64] = {cpu, 8}, [X86_REG_##r32] = {cpu, 4}, [X86_REG_##r16] = {cpu, 2},            \
    [X86_REG_##r8] = {cpu, 1}

static const struct reg_alias reg_aliases[X86_REG_ENDING] = {
    ALIAS(RAX, EAX, AX, AL, CPU_RAX),      ALIAS(RBX, EBX, BX, BL, CPU_RBX),
    ALIAS(RCX, ECX, CX, CL, CPU_RCX),      ALIAS(RDX, EDX, DX, DL, CPU_RDX),
    ALIAS(RSI, ESI, SI, SIL, CPU_RSI),     ALIAS(RDI, EDI, DI, DIL, CPU_RDI),
    ALIAS(RBP, EBP, BP, BPL, CPU_RBP),     ALIAS(RSP, ESP, SP, SPL, CPU_RSP),
    ALIAS(R8, R8D, R8W, R8B, CPU_R8),      ALIAS(R9, R9D, R9W, R9B, CPU_R9),
    ALIAS(R10, R10D, R10W, R10B, CPU_R10), ALIAS(R11, R11D, R11W, R11B, CPU_R11),
    ALIAS(R12, R12D, R12W, R12B, CPU_R12), ALIAS(R13, R13D, R13W, R13B, CPU_R13),
    ALIAS(R14, R14D, R14W, R14B, CPU_R14), ALIAS(R15, R15D, R15W, R15B, CPU_R15),
};

/* The value of capstone register r (zero-extended when narrower than 64 bits). Returns
 * false for registers that cannot be read here (vector registers of a gather, ...). */
static bool reg_value(x86_reg r, const uint64_t regs[CPU_NREGS], uint64_t *val)
{
    const struct reg_alias *a;

    if (r <= X86_REG_INVALID || r >= X86_REG_ENDING)
        return false;
    a = &reg_aliases[r];
    if (a->width == 0)
        return false;
    *val = regs[a->reg];
    if (a->width < 8)
        *val &= (1ULL << (a->width * 8)) - 1;
    return true;
}

/* Base of segment seg: only fs and gs have one in 64-bit mode. */
static uint64_t segment_base(x86_reg seg, const uint64_t regs[CPU_NREGS])
{
    if (seg == X86_REG_FS)
        return regs[CPU_FS_BASE];
    if (seg == X86_REG_GS)
        return regs[CPU_GS_BASE];
    return 0;
}

/* Effective address of memory operand op: segment base + (base + index * scale + disp),
 * the sum cut to 32 bits under an address-size prefix; a RIP base means the address of
 * the next instruction. Returns false when a register cannot be read. */
static bool operand_address(const cs_insn *in, const cs_x86_op *op, const uint64_t regs[CPU_NREGS],
                            gva_t *ea)
{
    uint64_t sum = (uint64_t)op->mem.disp, v;

    if (op->mem.base == X86_REG_RIP || op->mem.base == X86_REG_EIP) {
        sum += in->address + in->size;
    } else if (op->mem.base != X86_REG_INVALID) {
        if (!reg_value(op->mem.base, regs, &v))
            return false;
        sum += v;
    }
    if (op->mem.index != X86_REG_INVALID && op->mem.index != X86_REG_RIZ &&
        op->mem.index != X86_REG_EIZ) {
        if (!reg_value(op->mem.index, regs, &v))
            return false;
        sum += v * (uint64_t)op->mem.scale;
    }
    if (in->detail->x86.addr_size == 4)
        sum = (uint32_t)sum;
    *ea = segment_base(op->mem.segment, regs) + sum;
    return true;
}

/* Whether the instruction names memory without accessing it (lea, hints), or at an
 * address the operand does not give (bt* with a register bit offset). */
static bool operand_is_no_access(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;

    switch (in->id) {
    case X86_INS_LEA:
    case X86_INS_NOP:
    case X86_INS_PREFETCH:
    case X86_INS_PREFETCHNTA:
    case X86_INS_PREFETCHT0:
    case X86_INS_PREFETCHT1:
    case X86_INS_PREFETCHT2:
    case X86_INS_PREFETCHW:
        return true;
    case X86_INS_BT:
    case X86_INS_BTC:
    case X86_INS_BTR:
    case X86_INS_BTS:
        return x->op_count == 2 && x->operands[1].type == X86_OP_REG;
    default:
        return false;
    }
}

/* Size of a memory operand, where capstone 4 gets it wrong: the FXSAVE area is 512 bytes,
 * the FNSAVE one 108; the XSAVE area's size depends on the CPU's features (unknown). */
static unsigned operand_size(const cs_insn *in, const cs_x86_op *op)
{
    switch (in->id) {
    case X86_INS_FXSAVE:
    case X86_INS_FXSAVE64:
    case X86_INS_FXRSTOR:
    case X86_INS_FXRSTOR64:
        return 512;
    case X86_INS_FNSAVE:
    case X86_INS_FRSTOR:
        return 108;
    case X86_INS_XSAVE:
    case X86_INS_XSAVE64:
    case X86_INS_XSAVEC:
    case X86_INS_XSAVEC64:
    case X86_INS_XSAVEOPT:
    case X86_INS_XSAVEOPT64:
    case X86_INS_XSAVES:
    case X86_INS_XSAVES64:
    case X86_INS_XRSTOR:
    case X86_INS_XRSTOR64:
    case X86_INS_XRSTORS:
    case X86_INS_XRSTORS64:
        return 0;
    default:
        return op->size;
    }
}

/* Adds the accesses capstone does not list: the stack slot that push, call and enter
 * write below RSP, the one pop, ret and leave read, xlat's table byte. A 0x66 prefix
 * makes push/pop 2 bytes wide. */
static size_t implicit_accesses(const cs_insn *in, const uint64_t regs[CPU_NREGS],
                                struct mem_access *acc)
{
    const cs_x86 *x = &in->detail->x86;
    unsigned n = x->prefix[2] == X86_PREFIX_OPSIZE ? 2 : 8;
    uint64_t rsp = regs[CPU_RSP];

    switch (in->id) {
    case X86_INS_PUSH:
    case X86_INS_PUSHF:
    case X86_INS_PUSHFQ:
    case X86_INS_ENTER:
        acc[0] = (struct mem_access){rsp - n, n, CS_AC_WRITE};
        return 1;
    case X86_INS_CALL:
        acc[0] = (struct mem_access){rsp - 8, 8, CS_AC_WRITE};
        return 1;
    case X86_INS_POP:
    case X86_INS_POPF:
    case X86_INS_POPFQ:
        acc[0] = (struct mem_access){rsp, n, CS_AC_READ};
        return 1;
    case X86_INS_RET:
        acc[0] = (struct mem_access){rsp, 8, CS_AC_READ};
        return 1;
    case X86_INS_LEAVE:
        acc[0] = (struct mem_access){regs[CPU_RBP], n, CS_AC_READ};
        return 1;
    case X86_INS_XLATB:
        acc[0] = (struct mem_access){regs[CPU_RBX] + (regs[CPU_RAX] & 0xff), 1, CS_AC_READ};
        if (x->addr_size == 4)
            acc[0].ea = (uint32_t)acc[0].ea;
        if (x->prefix[1] == X86_PREFIX_FS)
            acc[0].ea += regs[CPU_FS_BASE];
        else if (x->prefix[1] == X86_PREFIX_GS)
            acc[0].ea += regs[CPU_GS_BASE];
        return 1;
    default:
        return 0;
    }
}

/* Lists every memory access of the decoded instruction in into acc. */
static size_t list_accesses(const cs_insn *in, const uint64_t regs[CPU_NREGS],
                            struct mem_access *acc)
{
    const cs_x86 *x = &in->detail->x86;
    size_t n = 0;

    if (operand_is_no_access(in))
        return 0;
    for (uint8_t i = 0; i < x->op_count && n < INSN_MAX_ACCESSES - 1; i++) {
        const cs_x86_op *op = &x->operands[i];

        if (op->type != X86_OP_MEM || !operand_address(in, op, regs, &acc[n].ea))
            continue;
        acc[n].size = operand_size(in, op);
        acc[n].rw = op->access;
        /* pop [rsp+d] addresses its destination with RSP already incremented. */
        if (in->id == X86_INS_POP && op->mem.base == X86_REG_RSP)
            acc[n].ea += x->prefix[2] == X86_PREFIX_OPSIZE ? 2 : 8;
        n++;
    }
    return n + implicit_accesses(in, regs, acc + n);
}

/* Whether a touches page (its first or its last byte lies in it). */
static bool access_touches(const struct mem_access *a, gva_t page)
{
    return PAGE_DOWN(a->ea) == page || (a->size > 1 && PAGE_DOWN(a->ea + a->size - 1) == page);
}

/* The one access among acc[0..n) that touches page and whose flags include rw (any flags
 * when rw is 0). Returns NULL when none or several distinct ones do. */
static const struct mem_access *pick_access(const struct mem_access *acc, size_t n, gva_t page,
                                            uint8_t rw)
{
    const struct mem_access *found = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct mem_access *a = &acc[i];

        if (!access_touches(a, page) || (rw != 0 && !(a->rw & rw)))
            continue;
        if (found != NULL && (found->ea != a->ea || found->size != a->size))
            return NULL;
        found = a;
    }
    return found;
}

/* Finds the memory access of the instruction in code[0..len) (at regs[CPU_RIP]) that
 * touches fault_page with `access`: the operand whose access matches (a write fault
 * takes the destination), else the only one that touches the page at all (capstone 4
 * marks some written operands as read). Returns 0 with its first byte in *ea and its
 * size in *size (0 when unknown); -ENOENT when none or several distinct ones do, or for
 * an instruction fetch; -EINVAL when the bytes are no instruction; -EIO when capstone
 * cannot start. */
int insn_mem_access(const uint8_t *code, size_t len, const uint64_t regs[CPU_NREGS],
                    gva_t fault_page, enum access access, gva_t *ea, unsigned *size)
{
    struct mem_access acc[INSN_MAX_ACCESSES];
    const struct mem_access *a = NULL;
    cs_insn *in = NULL;
    size_t n;
    int rc = -ENOENT;
    csh cs;

    if (access == ACCESS_EXEC)
        return -ENOENT;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return -EIO;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    if (cs_disasm(cs, code, len, regs[CPU_RIP], 1, &in) != 1) {
        rc = -EINVAL;
        goto out;
    }
    n = list_accesses(in, regs, acc);
    a = pick_access(acc, n, fault_page, access == ACCESS_WRITE ? CS_AC_WRITE : CS_AC_READ);
    if (a == NULL)
        a = pick_access(acc, n, fault_page, 0);
    if (a != NULL) {
        *ea = a->ea;
        *size = a->size;
        rc = 0;
    }
    cs_free(in, 1);
out:
    cs_close(&cs);
    return rc;
}

/* The first byte that faults of an access at ea that touches fault_page: ea itself, or
 * the start of fault_page when the access begins in the page below and crosses into it
 * (the CPU reports the first byte it could not reach, as CR2 does). */
gva_t insn_first_fault_byte(gva_t ea, gva_t fault_page)
{
    return PAGE_DOWN(ea) == fault_page ? ea : fault_page;
}
