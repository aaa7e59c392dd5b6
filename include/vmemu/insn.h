/* Decoding the instruction that faulted, for crash reports: the CPU's fill callback only
 * learns the page of a bad data access; the instruction at RIP and the registers say
 * which byte and how many. Pure functions of (code bytes, registers): no guest memory. */
#ifndef VMEMU_INSN_H
#define VMEMU_INSN_H

#include "vmemu/cpu.h"

#define INSN_MAX_LEN 15 /* longest x86 instruction in bytes */

/* Finds the memory access of the instruction in code[0..len) (at regs[CPU_RIP]) that
 * touches fault_page with `access`. Returns 0 with its first byte in *ea and its size in
 * *size (0 when unknown); -ENOENT when none or several do; -EINVAL when the bytes are no
 * instruction; -EIO when the disassembler cannot start. */
int insn_mem_access(const uint8_t *code, size_t len, const uint64_t regs[CPU_NREGS],
                    gva_t fault_page, enum access access, gva_t *ea, unsigned *size);
/* The first byte that faults of a size-byte access at ea that touches fault_page: ea, or
 * the start of fault_page when the access begins in the page below it. */
gva_t insn_first_fault_byte(gva_t ea, gva_t fault_page);

#endif
