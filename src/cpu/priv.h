/* Inside the CPU layer: user mode (CPL 3) and port I/O, src/cpu/priv.c. Only cpu.c and the
 * CPU's unit tests include it. */
#ifndef VMEMU_CPU_PRIV_H
#define VMEMU_CPU_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

#include "vmemu/vmsys.h"

/* Linux's user selectors, which sysretq loads (STAR[63:48] = __USER32_CS). */
#define PRIV_USER_CS 0x33
#define PRIV_USER_SS 0x2b

/* Puts a freshly opened engine at CPL 3 with IOPL 0, as Linux runs user code: sets
 * EFER.SCE and STAR and runs one `sysretq` from a scratch page mapped at physical and
 * virtual address stub_pa (page-aligned, outside the frame pool), then unmaps it. Must run
 * before the TLB-fill hook is installed (without it Unicorn maps VA = PA). Every context
 * saved later carries CPL 3. Returns 0, or -EIO with one line on stderr. */
int priv_enter_user_mode(uc_engine *uc, uint64_t stub_pa);

/* The port-I/O trap. Unicorn 2.1.1 executes in/out/ins/outs at any CPL (its I/O permission
 * check is compiled out) and reports them only to UC_HOOK_INSN hooks, from inside the
 * translated block, with RIP not synchronised (the block start, or an earlier block of a
 * chain) and the arithmetic flags possibly stale. */
struct priv_io;

/* Installs the IN and OUT hooks. sys->current is the address space whose code is decoded.
 * Returns 0, -ENOMEM or -EIO. */
int priv_io_create(uc_engine *uc, struct vmsys *sys, struct priv_io **out);
void priv_io_destroy(struct priv_io *io);
/* True from the first port-I/O instruction of a run to the end of the run: the fill
 * callback must refuse every access (without asking the MMU), and the syscall and interrupt
 * hooks must do nothing but stop, so that nothing after that instruction has an effect. */
bool priv_io_pending(const struct priv_io *io);
/* After uc_emu_start returned: when a port-I/O instruction ran, puts the registers back as
 * they were at it (RIP = the instruction) and returns true with its address in *rip; the
 * caller reports #GP there. Returns false otherwise. */
bool priv_io_finish(struct priv_io *io, uc_engine *uc, uint64_t *rip);

/* The address of the port-I/O instruction that Unicorn's hook reported, found by decoding
 * code[0..len) (the guest bytes at `at`, the hook's RIP) forward in straight line: the first
 * in/out/ins/outs whose direction is `out` and whose port is `port` (DX, or its 8-bit
 * immediate). Returns 0 when there is none before an instruction that leaves the straight
 * line or the end of the bytes. No CPU needed: unit-tested on bytes. */
uint64_t priv_find_port_insn(const uint8_t *code, size_t len, uint64_t at, bool out, uint16_t port);

#endif
