/* Watched accesses (the heap checker's byte-precise checks): every guest load and store
 * into one virtual range is reported to a function with its virtual address and size.
 * Unicorn's memory hooks see physical addresses only (UNICORN.md), and the frames of a
 * virtual range are scattered over the pool, so the pool is mapped a second time at
 * CPU_WATCH_PA (same host memory) and the fill callback gives pages of the watched range
 * that alias: the memory hook is bounded to the alias, so only accesses to the range call
 * it. The virtual page of each aliased frame is remembered at its fill (rmap), which turns
 * the hook's physical address back into the guest's virtual one.
 *
 * While a memory hook exists, Unicorn 2.1.1 takes its slow path for every load and store
 * of the guest, and that path looks up the memory region of each access's physical address
 * (find_memory_mapping: a translation through QEMU's dispatch tree, whose one-entry cache
 * misses whenever accesses alternate between the pool and its alias, as a checked program's
 * do all the time). That function is exported by libunicorn and reached through its GOT,
 * so vmemu defines it (exported from the executable, see CMakeLists.txt: the definition
 * binds first) and answers for the pool and the alias from the regions it mapped there;
 * every other address, and every engine without a watch, goes to Unicorn's own. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unicorn/unicorn.h>

#include "cpu_int.h"

/* Physical address of the pool's alias (above any pool and the user-mode switch page). */
#define CPU_WATCH_PA (1ULL << 42)

/* Unicorn's find_memory_mapping (struct uc_struct *, hwaddr) -> MemoryRegion *. */
typedef void *(*cpu_mr_fn)(void *uc, uint64_t pa);

/* The regions of the one engine with a watch (a process has one engine). */
static struct {
    void *uc;           /* the engine (NULL: no watch) */
    uint64_t bytes;     /* the pool's size: [0, bytes) and [CPU_WATCH_PA, +bytes) */
    void *pool, *alias; /* their regions, once Unicorn has named them (NULL: not yet) */
    cpu_mr_fn real;     /* Unicorn's function */
} cpu_mr_cache;

/* Unicorn's find_memory_mapping, interposed (see the header comment). */
void *find_memory_mapping_x86_64(void *uc, uint64_t pa);
void *find_memory_mapping_x86_64(void *uc, uint64_t pa)
{
    if (!cpu_mr_cache.real)
        cpu_mr_cache.real = (cpu_mr_fn)dlsym(RTLD_NEXT, "find_memory_mapping_x86_64");
    if (!cpu_mr_cache.real)
        return NULL; /* cannot happen: libunicorn defines it (and calls us only then) */
    if (uc != cpu_mr_cache.uc)
        return cpu_mr_cache.real(uc, pa);
    void **slot = pa < cpu_mr_cache.bytes ? &cpu_mr_cache.pool
                  : pa >= CPU_WATCH_PA && pa - CPU_WATCH_PA < cpu_mr_cache.bytes
                      ? &cpu_mr_cache.alias
                      : NULL;
    if (!slot)
        return cpu_mr_cache.real(uc, pa);
    if (!*slot)
        *slot = cpu_mr_cache.real(uc, pa);
    return *slot;
}

/* Frees the watch's state of c (before its engine is closed). */
void cpu_watch_free(struct cpu *c)
{
    if (c->uc && cpu_mr_cache.uc == c->uc)
        cpu_mr_cache.uc = cpu_mr_cache.pool = cpu_mr_cache.alias = NULL;
    free(c->watch_rmap);
    c->watch_rmap = NULL;
}

/* Whether Unicorn's region lookups come to find_memory_mapping_x86_64 above (the
 * executable exports it), for the tests. */
bool cpu_watch_lookup_interposed(void)
{
    return dlsym(RTLD_DEFAULT, "find_memory_mapping_x86_64") == (void *)find_memory_mapping_x86_64;
}

/* Unicorn's memory hook: pa is in the alias. */
static void cpu_watch_hook(uc_engine *uc, uc_mem_type type, uint64_t pa, int size, int64_t value,
                           void *user)
{
    struct cpu *c = user;
    (void)uc;
    (void)value;
    uint64_t off = pa - CPU_WATCH_PA;
    gva_t page = c->watch_rmap[off >> PAGE_SHIFT], va = page + (off & ~PAGE_MASK);
    const struct cpu_watch_filter *f = c->watch_filter;
    if (page == 0)
        return; /* not filled through the range (cannot happen: only fills alias) */
    if (f && va >= f->base && va < f->end) {
        uint8_t s = f->map[(va - f->base) / 8];
        unsigned last = (unsigned)((va - f->base) % 8) + (unsigned)size;
        if (last <= 8 && (s == 0 || (s < 8 && last <= s)))
            return; /* within one granule the map allows */
    }
    c->watch_fn(c->watch_ctx, va, (unsigned)size, type == UC_MEM_WRITE);
}

/* Asks for the filter of the accesses to come; see the header. */
void cpu_watch_refresh(struct cpu *c)
{
    if (c->watch_filter_fn)
        c->watch_filter = c->watch_filter_fn(c->watch_ctx);
}

/* Starts watching [lo, hi); see the header. */
int cpu_watch_range(struct cpu *c, gva_t lo, gva_t hi, cpu_access_fn fn, cpu_filter_fn filter,
                    void *ctx)
{
    uint64_t bytes = c->sys->phys.bytes;
    if (c->watch_fn || !fn || lo >= hi || bytes >= CPU_WATCH_PA)
        return -EINVAL;
    c->watch_rmap = calloc(bytes >> PAGE_SHIFT, sizeof(*c->watch_rmap));
    if (!c->watch_rmap)
        return -ENOMEM;
    if (uc_mem_map_ptr(c->uc, CPU_WATCH_PA, bytes, UC_PROT_READ | UC_PROT_WRITE,
                       c->sys->phys.mem) != UC_ERR_OK ||
        uc_hook_add(c->uc, &c->watch_hook, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                    (void *)cpu_watch_hook, c, CPU_WATCH_PA,
                    CPU_WATCH_PA + bytes - 1) != UC_ERR_OK) {
        free(c->watch_rmap);
        c->watch_rmap = NULL;
        return -EIO;
    }
    if (!cpu_mr_cache.uc) /* the first engine's regions are cached; another's are not */
        cpu_mr_cache.uc = c->uc, cpu_mr_cache.bytes = bytes;
    c->watch_lo = lo;
    c->watch_hi = hi;
    c->watch_fn = fn;
    c->watch_ctx = ctx;
    c->watch_filter_fn = filter;
    c->sys->cpu_flush_pending |= VM_FLUSH_DEBUG; /* pages of the range filled before must alias */
    return 0;
}

/* The physical address the fill callback gives for frame pfn at va (a data access). */
uint64_t cpu_watch_paddr(struct cpu *c, gva_t va, pfn_t pfn)
{
    if (!c->watch_fn || va < c->watch_lo || va >= c->watch_hi)
        return pfn << PAGE_SHIFT;
    c->watch_rmap[pfn] = va & PAGE_MASK;

    return CPU_WATCH_PA + (pfn << PAGE_SHIFT);
}
