/* vmemu's only way into guest memory: copies through the MMU that fault pages in as the
 * CPU would and return -EFAULT on a bad address instead of crashing. */
#ifndef VMEMU_UACCESS_H
#define VMEMU_UACCESS_H

#include "vmemu/mm_types.h"

/* Copies n bytes from guest src to host dst. Returns 0 or -EFAULT. */
int copy_from_user(struct mm *mm, void *dst, gva_t src, size_t n);
/* Copies n bytes from host src to guest dst. Returns 0 or -EFAULT. */
int copy_to_user(struct mm *mm, gva_t dst, const void *src, size_t n);
/* Writes n zero bytes at guest dst. Returns 0 or -EFAULT. */
int clear_user(struct mm *mm, gva_t dst, size_t n);
/* Copies a NUL-terminated string of at most max-1 bytes into dst (always terminated).
 * Returns its length, -EFAULT, or -ENAMETOOLONG when no NUL is found in max-1 bytes. */
long strncpy_from_user(struct mm *mm, char *dst, gva_t src, size_t max);
/* Reads/writes one 64-bit value. Return 0 or -EFAULT. */
int get_user_u64(struct mm *mm, gva_t src, uint64_t *val);
int put_user_u64(struct mm *mm, gva_t dst, uint64_t val);
int put_user_u32(struct mm *mm, gva_t dst, uint32_t val);
/* Reads guest memory for reports and debuggers: only pages already present are read,
 * nothing is faulted in or counted. Returns the number of bytes read (stops at the first
 * page that is not present). */
size_t copy_from_user_nofault(struct mm *mm, void *dst, gva_t src, size_t n);

/* Writes n bytes at dst in mm as a debugger does (ptrace's POKETEXT): whatever the
 * areas' protections, pages are faulted in as needed and a private page is first made the
 * process's own copy (a page-cache page is never written; a MAP_SHARED page is written
 * through); translated code of the written frames is invalidated. No fault statistic of
 * the guest changes (the copies are counted nowhere). Returns 0, -EFAULT when a byte is in
 * no area, -ENOMEM. */
int uaccess_poke(struct mm *mm, gva_t dst, const void *src, size_t n);
/* Reads n bytes at src in mm as a debugger does: whatever the protections (PROT_NONE too),
 * faulting pages in (swap-in, file read) without counting any fault of the guest.
 * Returns 0, -EFAULT when a byte is in no area, -ENOMEM. */
int uaccess_peek(struct mm *mm, void *dst, gva_t src, size_t n);

#endif
