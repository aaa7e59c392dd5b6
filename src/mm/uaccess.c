/* The copy helpers: vmemu's only way into guest memory. Each page is translated through
 * the MMU (faulting it in as the CPU would, and counted the same way), so a bad guest
 * pointer gives -EFAULT and never touches host memory outside the pool. Frames that held
 * executed code are announced to the CPU before vmemu writes into them. Called by the
 * syscalls, the loader and the reports. */
#include "vmemu/uaccess.h"

#include <errno.h>
#include <string.h>

#include "vmemu/fault.h"
#include "vmemu/mmu.h"
#include "vmemu/pte.h"

/* Calls fn on each page-sized piece of [va, va+n) after translating it for access. */
static int user_walk(struct mm *mm, gva_t va, size_t n, enum access access,
                     int (*fn)(void *ctx, uint8_t *hva, size_t len), void *ctx)
{
    struct phys *phys = &mm->sys->phys;
    if (n == 0)
        return 0;
    if (va >= USER_VA_END || n > USER_VA_END - va)
        return -EFAULT;
    while (n > 0) {
        size_t off = va & ~PAGE_MASK;
        size_t chunk = PAGE_SIZE - off < n ? PAGE_SIZE - off : n;
        pfn_t pfn;
        /* A bad pointer given to the kernel is -EFAULT for the caller, not a signal. Out of
         * memory is not the caller's fault: mm->oom is set and the process is killed when
         * the syscall returns. */
        if (mmu_translate_user(mm, va, access, FAULT_NOSIGNAL, &pfn) < 0)
            return -EFAULT;
        if (access == ACCESS_WRITE)
            phys_before_write(phys, pfn);
        int rc = fn(ctx, (uint8_t *)phys_hva(phys, pfn) + off, chunk);
        if (rc)
            return rc;
        va += chunk;
        n -= chunk;
    }
    return 0;
}

/* Tells the syscall-copy checker (struct mm_access_hook) of [va, va+n). */
static void user_check(struct mm *mm, gva_t va, size_t n, bool write)
{
    const struct mm_access_hook *h = &mm->sys->on_access;
    if (h->access && n > 0)
        h->access(h->ctx, mm, va, n, write);
}

struct copy_ctx {
    uint8_t *host;      /* host cursor */
    const uint8_t *src; /* host source cursor (copy_to_user) */
};

static int from_fn(void *ctx, uint8_t *hva, size_t len)
{
    struct copy_ctx *c = ctx;
    memcpy(c->host, hva, len);
    c->host += len;
    return 0;
}

static int to_fn(void *ctx, uint8_t *hva, size_t len)
{
    struct copy_ctx *c = ctx;
    if (c->src) {
        memcpy(hva, c->src, len);
        c->src += len;
    } else {
        memset(hva, 0, len);
    }
    return 0;
}

/* Copies n bytes from guest src to host dst. Returns 0 or -EFAULT. */
int copy_from_user(struct mm *mm, void *dst, gva_t src, size_t n)
{
    struct copy_ctx c = {.host = dst};
    user_check(mm, src, n, false);
    return user_walk(mm, src, n, ACCESS_READ, from_fn, &c);
}

/* Copies n bytes from host src to guest dst. Returns 0 or -EFAULT. */
int copy_to_user(struct mm *mm, gva_t dst, const void *src, size_t n)
{
    struct copy_ctx c = {.src = src};
    user_check(mm, dst, n, true);
    return user_walk(mm, dst, n, ACCESS_WRITE, to_fn, &c);
}

/* Writes n zero bytes at guest dst. Returns 0 or -EFAULT. */
int clear_user(struct mm *mm, gva_t dst, size_t n)
{
    struct copy_ctx c = {0};
    user_check(mm, dst, n, true);
    return user_walk(mm, dst, n, ACCESS_WRITE, to_fn, &c);
}

struct str_ctx {
    char *dst;  /* host buffer */
    size_t max; /* its size */
    size_t len; /* bytes copied so far */
};

static int str_fn(void *ctx, uint8_t *hva, size_t len)
{
    struct str_ctx *c = ctx;
    for (size_t i = 0; i < len; i++) {
        if (hva[i] == 0)
            return 1;
        if (c->len + 1 >= c->max)
            return 2; /* no room for the terminator */
        c->dst[c->len++] = (char)hva[i];
    }
    return 0;
}

/* Copies a NUL-terminated guest string (at most max-1 bytes) into dst, page by page so
 * that a string ending just before an unmapped page is fine. Returns its length,
 * -EFAULT, or -ENAMETOOLONG. */
long strncpy_from_user(struct mm *mm, char *dst, gva_t src, size_t max)
{
    struct str_ctx c = {.dst = dst, .max = max};
    gva_t start = src;
    if (max == 0)
        return -ENAMETOOLONG;
    dst[0] = '\0';
    for (;;) {
        size_t room = PAGE_SIZE - (src & ~PAGE_MASK);
        int rc = user_walk(mm, src, room, ACCESS_READ, str_fn, &c);
        if (rc == 1 || rc == 2) {
            user_check(mm, start, c.len + 1, false); /* the bytes looked at, NUL or not */
            dst[c.len] = '\0';
            return rc == 1 ? (long)c.len : -ENAMETOOLONG;
        }
        if (rc < 0) {
            dst[c.len] = '\0';
            return -EFAULT;
        }
        src += room;
    }
}

/* Reads one 64-bit value. Returns 0 or -EFAULT. */
int get_user_u64(struct mm *mm, gva_t src, uint64_t *val)
{
    return copy_from_user(mm, val, src, sizeof(*val));
}

/* Writes one 64-bit value. Returns 0 or -EFAULT. */
int put_user_u64(struct mm *mm, gva_t dst, uint64_t val)
{
    return copy_to_user(mm, dst, &val, sizeof(val));
}

/* Writes one 32-bit value. Returns 0 or -EFAULT. */
int put_user_u32(struct mm *mm, gva_t dst, uint32_t val)
{
    return copy_to_user(mm, dst, &val, sizeof(val));
}

/* Reads present pages only (no fault, no counter changes); returns the bytes read. */
size_t copy_from_user_nofault(struct mm *mm, void *dst, gva_t src, size_t n)
{
    struct phys *phys = &mm->sys->phys;
    size_t done = 0;
    while (done < n && src < USER_VA_END) {
        pte_t *ptep = pt_lookup(&mm->pt, phys, src);
        if (!ptep || !pte_present(*ptep))
            break;
        size_t off = src & ~PAGE_MASK;
        size_t chunk = PAGE_SIZE - off < n - done ? PAGE_SIZE - off : n - done;
        memcpy((uint8_t *)dst + done, (uint8_t *)phys_hva(phys, pte_pfn(*ptep)) + off, chunk);
        done += chunk;
        src += chunk;
    }
    return done;
}

/* Makes the page at va present with at least `access` allowed in its PTE, whatever the
 * area's protection (a FAULT_DEBUG fault, which counts nothing and leaves last_fault
 * alone). Returns the PTE pointer through out and whether the area's protection lacks
 * the access through widened (its PTE then needs debug_restore_pte). Returns 0, -EFAULT or
 * -ENOMEM. */
static int debug_fault_in(struct mm *mm, gva_t va, enum access access, pte_t **out, bool *widened)
{
    struct phys *phys = &mm->sys->phys;
    struct vma *vma = vma_lookup(&mm->vmas, va);
    if (!vma)
        return -EFAULT;
    *widened = false;
    pte_t *ptep = pt_lookup(&mm->pt, phys, va);
    bool ok = ptep && pte_present(*ptep) && (access != ACCESS_WRITE || (*ptep & PTE_RW));
    if (!ok) {
        uint32_t need = VM_READ | (access == ACCESS_WRITE ? VM_WRITE : 0);
        *widened = (vma->prot | need) != vma->prot;
        int rc = mm_fault(mm, va, access, FAULT_DEBUG);
        if (rc < 0)
            return rc == -ENOMEM ? -ENOMEM : -EFAULT;
        ptep = pt_lookup(&mm->pt, phys, va);
        VMEMU_BUG_ON(!ptep || !pte_present(*ptep));
    }
    *out = ptep;
    return 0;
}

/* Puts back the permissions the area's protection grants on a PTE that debug_fault_in
 * widened (the frame stays: it is now the process's own copy). */
static void debug_restore_pte(struct mm *mm, gva_t va, pte_t *ptep)
{
    uint32_t prot = vma_lookup(&mm->vmas, va)->prot;
    pte_t old = *ptep;
    pte_t new = (old & ~(PTE_US | PTE_RW | PTE_NX)) | mm_prot_pte_bits(prot, old & PTE_COW);
    if (new != old)
        mm_set_pte(mm, va, ptep, new);
}

/* Copies n bytes between buf and va as a debugger does, page by page: a write (access
 * ACCESS_WRITE) goes from buf into the guest, a read from the guest into buf. See
 * uaccess_poke and uaccess_peek. */
static int debug_copy(struct mm *mm, gva_t va, uint8_t *buf, size_t n, enum access access)
{
    struct phys *phys = &mm->sys->phys;
    if (n > 0 && (va >= USER_VA_END || n > USER_VA_END - va))
        return -EFAULT;
    while (n > 0) {
        size_t off = va & ~PAGE_MASK;
        size_t chunk = PAGE_SIZE - off < n ? PAGE_SIZE - off : n;
        pte_t *ptep;
        bool widened;
        int rc = debug_fault_in(mm, va, access, &ptep, &widened);
        if (rc < 0)
            return rc;
        pfn_t pfn = pte_pfn(*ptep);
        uint8_t *frame = (uint8_t *)phys_hva(phys, pfn) + off;
        if (access == ACCESS_WRITE) {
            VMEMU_BUG_ON(pfn == phys->zero_pfn);
            phys_before_write(phys, pfn);
            memcpy(frame, buf, chunk);
            mm_set_pte(mm, va, ptep, *ptep | PTE_A | PTE_D);
        } else {
            memcpy(buf, frame, chunk);
        }
        if (widened)
            debug_restore_pte(mm, va, ptep);
        buf += chunk;
        va += chunk;
        n -= chunk;
    }
    return 0;
}

/* Writes n bytes at dst as a debugger does (ptrace POKETEXT): pages are faulted in whatever
 * the protection, private pages are made the process's own copy first, translated code of
 * the written frames is invalidated, and no fault statistic changes. Returns 0, -EFAULT
 * (a byte in no area) or -ENOMEM. */
int uaccess_poke(struct mm *mm, gva_t dst, const void *src, size_t n)
{
    /* debug_copy only reads buf when it writes the guest. */
    return debug_copy(mm, dst, (uint8_t *)(uintptr_t)src, n, ACCESS_WRITE);
}

/* Reads n bytes at src as a debugger does: pages are faulted in (swap-in, file read)
 * whatever the protection, PROT_NONE included, and no fault statistic changes. Returns
 * 0, -EFAULT (a byte in no area) or -ENOMEM. */
int uaccess_peek(struct mm *mm, void *dst, gva_t src, size_t n)
{
    return debug_copy(mm, src, dst, n, ACCESS_READ);
}
