/* The machine a run's address spaces live on: set-up and teardown of the frame pool, the
 * page cache, vmemu's TLB, the swap area and page replacement, in dependency order. */
#include "vmemu/vmsys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* Sets up the frame pool, page cache and TLB of a run. Returns 0 or -errno. */
int vmsys_init(struct vmsys *sys, uint64_t mem_bytes, unsigned tlb_entries, unsigned tlb_ways)
{
    int rc;
    memset(sys, 0, sizeof(*sys));
    if ((rc = phys_init(&sys->phys, mem_bytes)) < 0)
        return rc;
    if ((rc = pagecache_init(&sys->pc, &sys->phys)) < 0)
        goto err_phys;
    if ((rc = tlb_init(&sys->tlb, tlb_entries, tlb_ways)) < 0)
        goto err_pc;
    if ((rc = swap_init(&sys->swap, 0, NULL)) < 0)
        goto err_tlb;
    if (!(sys->reclaim = calloc(1, sizeof(*sys->reclaim)))) {
        rc = -ENOMEM;
        goto err_swap;
    }
    if ((rc = reclaim_init(sys->reclaim, sys, RECLAIM_DEFAULT_POLICY, RECLAIM_DEFAULT_SEED)) < 0)
        goto err_reclaim;
    return 0;
err_reclaim:
    free(sys->reclaim);
    sys->reclaim = NULL;
err_swap:
    swap_destroy(&sys->swap);
err_tlb:
    tlb_destroy(&sys->tlb);
err_pc:
    pagecache_destroy(&sys->pc);
err_phys:
    phys_destroy(&sys->phys);
    return rc;
}

/* Chooses the policy and opens the swap area. Returns 0 or -errno. */
int vmsys_setup_paging(struct vmsys *sys, enum reclaim_policy policy, uint64_t seed,
                       uint64_t swap_bytes, const char *swap_path)
{
    reclaim_set_policy(sys->reclaim, policy, seed);
    swap_destroy(&sys->swap);
    return swap_init(&sys->swap, swap_bytes, swap_path);
}

/* Releases everything vmsys_init created. Address spaces must be destroyed first. */
void vmsys_destroy(struct vmsys *sys)
{
    folio_map_destroy(&sys->folios);
    tlb_destroy(&sys->tlb);
    pagecache_destroy(&sys->pc);
    reclaim_destroy(sys->reclaim);
    free(sys->reclaim);
    sys->reclaim = NULL;
    swap_destroy(&sys->swap);
    phys_destroy(&sys->phys);
}

static long host_minflt(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_minflt;
}

/* Whether the host's kernel maps the shared zero page on a read fault of untouched
 * anonymous memory: 16 pages are read, then written; with the zero page every write faults
 * again (copy on write), without it none does. Costs a few microseconds. */
bool vmsys_host_maps_zero_page(void)
{
    const size_t n = 16;
    volatile char *p =
        mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return true;
    char sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += p[i * 4096];
    long before = host_minflt();
    for (size_t i = 0; i < n; i++)
        p[i * 4096] = (char)(sum + 1);
    long writes = host_minflt() - before;
    munmap((void *)p, n * 4096);
    return writes >= (long)n / 2;
}
