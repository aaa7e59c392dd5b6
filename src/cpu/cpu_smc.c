/* Self-modifying code: every store into a frame that ran code reaches Unicorn's
 * invalidation of translated code, not only the first store after a fill.
 *
 * Unicorn 2.1.1 dropped QEMU's dirty-memory bitmap: a fill gives every writable page
 * TLB_NOTDIRTY, the first store to it takes the slow path (notdirty_write), which drops
 * the translated blocks that overlap the bytes written and then calls tlb_set_dirty,
 * which clears the flag whatever other blocks the page still holds; QEMU clears it only
 * once no code is left. Later stores to the page take the fast path and leave the other
 * blocks stale: a JIT that writes two blocks in one page and then runs them runs the old
 * code of the second (samples/jit.c; qemu-x86_64 inside vmemu crashed at its first
 * thread, whose creation makes it retranslate everything into the same buffer).
 *
 * tlb_set_dirty_x86_64 is exported by libunicorn and called through its PLT, so vmemu
 * defines it (exported from the executable, see CMakeLists.txt) and calls Unicorn's only
 * for pages whose frame never ran code (FRAME_EXECUTED, set at every fetch fill): stores
 * into frames that did keep the slow path, which invalidates precisely (QEMU's per-page
 * code bitmap). Outside a run of vmemu's CPU, the call goes to Unicorn's as is. A page
 * written through another mapping of the frame before the frame first ran code would keep
 * a clean entry: mmu_fill drops the other mappings' entries at that first fetch. */
#include <dlfcn.h>
#include <stddef.h>

#include "cpu_int.h"
#include "vmemu/pagetable.h"

/* Unicorn's tlb_set_dirty (CPUState *, target_ulong vaddr). */
typedef void (*cpu_set_dirty_fn)(void *cs, uint64_t vaddr);

/* The CPU inside uc_emu_start (vmemu runs one at a time), or NULL. */
static struct cpu *cpu_smc_running;
static cpu_set_dirty_fn cpu_smc_real;

/* Unicorn's tlb_set_dirty, interposed (see the header comment). */
void tlb_set_dirty_x86_64(void *cs, uint64_t vaddr);

void tlb_set_dirty_x86_64(void *cs, uint64_t vaddr)
{
    struct cpu *c = cpu_smc_running;
    if (c != NULL && c->sys->current != NULL) {
        struct vmsys *sys = c->sys;
        const pte_t *pte = pt_lookup(&sys->current->pt, &sys->phys, vaddr);
        if (pte != NULL && pte_present(*pte) &&
            (phys_frame(&sys->phys, pte_pfn(*pte))->flags & FRAME_EXECUTED))
            return; /* code on the page: every store must check it */
    }
    if (cpu_smc_real == NULL)
        cpu_smc_real = (cpu_set_dirty_fn)dlsym(RTLD_NEXT, "tlb_set_dirty_x86_64");
    if (cpu_smc_real != NULL)
        cpu_smc_real(cs, vaddr);
}

/* c starts (non-NULL) or ends (NULL) a run. */
void cpu_smc_set_running(struct cpu *c)
{
    cpu_smc_running = c;
}

/* Whether libunicorn's calls reach the definition above (for the tests). */
bool cpu_smc_interposed(void)
{
    void *self = dlsym(RTLD_DEFAULT, "tlb_set_dirty_x86_64");
    return self == (void *)tlb_set_dirty_x86_64;
}
