/* Basic types shared by every vmemu module: guest addresses, frame numbers, PTEs,
 * page arithmetic, access kinds and the invariant check. */
#ifndef VMEMU_TYPES_H
#define VMEMU_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gva_t; /* guest virtual address */
typedef uint64_t pfn_t; /* frame number in vmemu's pool; 0 is never a valid frame */
typedef uint64_t pte_t; /* a page-table entry in x86-64 format */

#define PAGE_SHIFT   12
#define PAGE_SIZE    4096ULL
#define PAGE_MASK    (~(PAGE_SIZE - 1))
#define PAGE_DOWN(x) ((uint64_t)(x)&PAGE_MASK)
#define PAGE_UP(x)   (((uint64_t)(x) + PAGE_SIZE - 1) & PAGE_MASK)

/* A 2 MiB huge page (one page-directory entry's reach): its size and frames. */
#define HPAGE_SHIFT  21
#define HPAGE_SIZE   (1ULL << HPAGE_SHIFT)
#define HPAGE_MASK   (~(HPAGE_SIZE - 1))
#define HPAGE_FRAMES 512u

/* First non-canonical address: user space is [0, USER_VA_END). */
#define USER_VA_END 0x0000800000000000ULL

/* What a guest access wants: the three kinds Unicorn's fill callback reports. */
enum access {
    ACCESS_READ = 0,
    ACCESS_WRITE = 1,
    ACCESS_EXEC = 2,
};

/* Aborts with file and line: for vmemu's own invariants only, never guest input. */
_Noreturn void vmemu_bug(const char *file, int line, const char *what);
#define VMEMU_BUG_ON(cond)                                                                         \
    do {                                                                                           \
        if (cond)                                                                                  \
            vmemu_bug(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
