/* The guest's memory-management ABI (x86-64 Linux): mmap flags and protections, msync,
 * mlock2 and mlockall flags, madvise advice. Included by vmemu/abi/linux.h. */
#ifndef VMEMU_ABI_MMAN_H
#define VMEMU_ABI_MMAN_H

/* mmap, msync, mlock2 and mlockall flags. */
#define LINUX_MAP_TYPE            0x0f
#define LINUX_MAP_SHARED          0x01
#define LINUX_MAP_PRIVATE         0x02
#define LINUX_MAP_SHARED_VALIDATE 0x03
#define LINUX_MAP_FIXED           0x10
#define LINUX_MAP_ANONYMOUS       0x20
#define LINUX_MAP_32BIT           0x40
#define LINUX_MAP_GROWSDOWN       0x100
#define LINUX_MAP_LOCKED          0x2000
#define LINUX_MAP_NORESERVE       0x4000
#define LINUX_MAP_POPULATE        0x8000
#define LINUX_MAP_HUGETLB         0x40000
#define LINUX_MAP_HUGE_SHIFT      26 /* log2 of the page size asked for, in bits 26..31 */
#define LINUX_MAP_HUGE_MASK       0x3f
#define LINUX_MAP_SYNC            0x80000
#define LINUX_MAP_FIXED_NOREPLACE 0x100000
#define LINUX_LEGACY_MAP_MASK                                                                      \
    (0x0f | LINUX_MAP_FIXED | LINUX_MAP_ANONYMOUS | 0x800 /* DENYWRITE */ |                        \
     0x1000 /* EXECUTABLE */ | 0x4000000 /* UNINITIALIZED */ | LINUX_MAP_GROWSDOWN |               \
     LINUX_MAP_LOCKED | LINUX_MAP_NORESERVE | LINUX_MAP_POPULATE | 0x10000 /* NONBLOCK */ |        \
     0x20000 /* STACK */ | LINUX_MAP_HUGETLB | LINUX_MAP_32BIT | (21ULL << 26) | (30ULL << 26))
#define LINUX_PROT_MASK     0x7
#define LINUX_PROT_GROWS    0x03000000 /* PROT_GROWSDOWN | PROT_GROWSUP */
#define LINUX_MS_ASYNC      1
#define LINUX_MS_INVALIDATE 2
#define LINUX_MS_SYNC       4
#define LINUX_MLOCK_ONFAULT 1
#define LINUX_MCL_CURRENT   1
#define LINUX_MCL_FUTURE    2
#define LINUX_MCL_ONFAULT   4

#define LINUX_USER_HZ 100 /* clock ticks per second of times() and /proc */

/* madvise advice (Linux's values, asm-generic/mman-common.h). */
enum linux_madvise {
    LINUX_MADV_NORMAL = 0,
    LINUX_MADV_RANDOM = 1,
    LINUX_MADV_SEQUENTIAL = 2,
    LINUX_MADV_WILLNEED = 3,
    LINUX_MADV_DONTNEED = 4,
    LINUX_MADV_FREE = 8,
    LINUX_MADV_REMOVE = 9,
    LINUX_MADV_DONTFORK = 10,
    LINUX_MADV_DOFORK = 11,
    LINUX_MADV_MERGEABLE = 12,
    LINUX_MADV_UNMERGEABLE = 13,
    LINUX_MADV_HUGEPAGE = 14,
    LINUX_MADV_NOHUGEPAGE = 15,
    LINUX_MADV_DONTDUMP = 16,
    LINUX_MADV_DODUMP = 17,
    LINUX_MADV_WIPEONFORK = 18,
    LINUX_MADV_KEEPONFORK = 19,
    LINUX_MADV_COLD = 20,
    LINUX_MADV_PAGEOUT = 21,
    LINUX_MADV_POPULATE_READ = 22,
    LINUX_MADV_POPULATE_WRITE = 23,
};

#endif
