/* Guard mode's pages (--check heap,guard): every block gets a slot of whole pages of its
 * own, followed by an inaccessible gap page, the block placed against the slot's end so
 * that the MMU faults on the first byte after it; the slack before it is a red zone filled
 * with HC_PATTERN and checked at free. Small slots get their pages installed, big ones an
 * RW area of their own (demand-paged). The compact arena's pages are installed here too. */
#include <errno.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/mm.h"
#include "vmemu/pagetable.h"
#include "vmemu/phys.h"
#include "vmemu/uaccess.h"

/* Installs fresh zeroed writable pages; see heapcheck_int.h. */
int hc_install(struct mm *mm, gva_t va, uint64_t pages)
{
    struct phys *phys = &mm->sys->phys;
    for (uint64_t i = 0; i < pages; i++) {
        pfn_t pfn;
        if (phys_alloc(phys, true, &pfn) < 0)
            return -ENOMEM;
        int rc = mm_install_page(mm, va + i * PAGE_SIZE, NULL, pfn,
                                 PTE_P | PTE_US | PTE_RW | PTE_NX | PTE_A | PTE_D);
        if (rc < 0) {
            phys_put(phys, pfn);
            return rc;
        }
    }
    return 0;
}

/* A page of red-zone pattern bytes (filled on first use; never changes afterwards). */
const uint8_t *hc_pattern(void)
{
    static uint8_t page[PAGE_SIZE];
    if (page[0] != HC_PATTERN)
        memset(page, HC_PATTERN, sizeof(page));
    return page;
}

/* Fills [va, va+n) of a block's own pages with the red-zone pattern. */
static int hc_fill(struct mm *mm, gva_t va, uint64_t n)
{
    const uint8_t *pattern = hc_pattern();
    while (n > 0) {
        /* A page at a time: one translation per page. */
        size_t c = PAGE_SIZE - (va & ~PAGE_MASK);
        c = n < c ? n : c;
        int rc = uaccess_poke(mm, va, pattern, c);
        if (rc < 0)
            return rc;
        va += c;
        n -= c;
    }
    return 0;
}

/* Maps a guard-mode slot; see heapcheck_int.h. */
int hc_guard_map(struct mm *mm, gva_t slot, uint64_t pages, gva_t user, uint64_t size, bool big)
{
    int rc;
    if (big)
        rc = mm_protect(mm, slot, pages * PAGE_SIZE, VM_READ | VM_WRITE);
    else
        rc = hc_install(mm, slot, pages);
    if (rc == 0)
        rc = hc_fill(mm, slot, user - slot);
    if (rc == 0)
        rc = hc_fill(mm, user + size, slot + pages * PAGE_SIZE - user - size);
    if (rc < 0) {
        if (big)
            mm_protect(mm, slot, pages * PAGE_SIZE, 0);
        mm_zap_range(mm, slot, slot + pages * PAGE_SIZE);
    }
    return rc;
}

/* Takes a slot's pages away; see heapcheck_int.h. */
void hc_guard_unmap(struct mm *mm, gva_t slot, uint64_t bytes, bool big)
{
    if (big)
        mm_protect(mm, slot, bytes, 0);
    mm_zap_range(mm, slot, slot + bytes);
}
