/* Saved register contexts (a process or thread that does not run keeps its registers in
 * one) and the FXSAVE image of the x87/SSE state that signal frames carry. */
#include <stdlib.h>
#include <string.h>

#include "cpu_int.h"

/* A context holding the CPU's registers now. */
struct cpu_context *cpu_context_new(struct cpu *c)
{
    struct cpu_context *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    if (uc_context_alloc(c->uc, &x->uc) != UC_ERR_OK) {
        free(x);
        return NULL;
    }
    uc_context_save(c->uc, x->uc);
    return x;
}

void cpu_context_free(struct cpu_context *x)
{
    if (!x)
        return;
    uc_context_free(x->uc);
    free(x);
}

/* Copies the registers into x. */
void cpu_context_save(struct cpu *c, struct cpu_context *x)
{
    uc_context_save(c->uc, x->uc);
}

/* Loads x. The TLB stays: the caller asks for a flush when the address space changes
 * (threads of one mm keep Unicorn's TLB warm). */
void cpu_context_restore(struct cpu *c, const struct cpu_context *x)
{
    uc_context_restore(c->uc, x->uc);
}

/* FXSAVE layout offsets (Intel SDM vol. 1, 10.5.1). */
#define FX_FCW   0
#define FX_FSW   2
#define FX_FTW   4
#define FX_FOP   6
#define FX_MXCSR 24
#define FX_ST0   32
#define FX_XMM0  160

/* The abridged tag byte of FXSAVE from the full x87 tag word: 1 bit per register, set
 * when the register is not empty (tag != 11b). */
static uint8_t fx_abridge_tag(uint16_t ftw)
{
    uint8_t t = 0;
    for (int i = 0; i < 8; i++)
        if (((ftw >> (2 * i)) & 3) != 3)
            t |= (uint8_t)(1u << i);
    return t;
}

/* The x87/SSE state as FXSAVE stores it. */
void cpu_get_fxsave(struct cpu *c, uint8_t out[CPU_FXSAVE_SIZE])
{
    uint64_t v = 0;
    memset(out, 0, CPU_FXSAVE_SIZE);
    uc_reg_read(c->uc, UC_X86_REG_FPCW, &v);
    uint16_t w = (uint16_t)v;
    memcpy(out + FX_FCW, &w, 2);
    v = 0;
    uc_reg_read(c->uc, UC_X86_REG_FPSW, &v);
    w = (uint16_t)v;
    memcpy(out + FX_FSW, &w, 2);
    v = 0;
    uc_reg_read(c->uc, UC_X86_REG_FPTAG, &v);
    out[FX_FTW] = fx_abridge_tag((uint16_t)v);
    uint32_t mxcsr = 0;
    uc_reg_read(c->uc, UC_X86_REG_MXCSR, &mxcsr);
    memcpy(out + FX_MXCSR, &mxcsr, 4);
    uint32_t mask = 0xffff;
    memcpy(out + FX_MXCSR + 4, &mask, 4);
    for (int i = 0; i < 8; i++) {
        uint8_t f[16] = {0}; /* Unicorn: 8-byte mantissa then 2-byte sign and exponent */
        uc_reg_read(c->uc, UC_X86_REG_FP0 + i, f);
        memcpy(out + FX_ST0 + 16 * i, f, 10);
    }
    for (int i = 0; i < 16; i++)
        uc_reg_read(c->uc, UC_X86_REG_XMM0 + i, out + FX_XMM0 + 16 * i);
}

/* Loads an FXSAVE image; reserved MXCSR bits are dropped as Linux's sigreturn does. */
void cpu_set_fxsave(struct cpu *c, const uint8_t in[CPU_FXSAVE_SIZE])
{
    uint16_t w;
    uint64_t v;
    memcpy(&w, in + FX_FCW, 2);
    v = w;
    uc_reg_write(c->uc, UC_X86_REG_FPCW, &v);
    memcpy(&w, in + FX_FSW, 2);
    v = w;
    uc_reg_write(c->uc, UC_X86_REG_FPSW, &v);
    uint16_t ftw = 0;
    for (int i = 0; i < 8; i++)
        if (!(in[FX_FTW] & (1u << i)))
            ftw |= (uint16_t)(3u << (2 * i)); /* empty; a full register is marked valid */
    v = ftw;
    uc_reg_write(c->uc, UC_X86_REG_FPTAG, &v);
    uint32_t mxcsr;
    memcpy(&mxcsr, in + FX_MXCSR, 4);
    mxcsr &= 0xffff;
    uc_reg_write(c->uc, UC_X86_REG_MXCSR, &mxcsr);
    for (int i = 0; i < 8; i++) {
        uint8_t f[16] = {0};
        memcpy(f, in + FX_ST0 + 16 * i, 10);
        uc_reg_write(c->uc, UC_X86_REG_FP0 + i, f);
    }
    for (int i = 0; i < 16; i++)
        uc_reg_write(c->uc, UC_X86_REG_XMM0 + i, in + FX_XMM0 + 16 * i);
}

/* A register of a saved context. */
uint64_t cpu_context_get(const struct cpu_context *x, enum cpu_reg reg)
{
    uint64_t v = 0;
    if (x && x->uc && reg < CPU_NREGS)
        uc_context_reg_read(x->uc, cpu_uc_regs[reg], &v);
    return v;
}
