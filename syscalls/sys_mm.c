/* The memory syscalls, implemented by vmemu's VM (never passed to the host): brk, mmap,
 * munmap, mprotect. They check arguments as Linux does (same errno for the same mistake)
 * and leave the work to mm.c; pages are only faulted in later, on access. Called through
 * the syscall table. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysdefs.h"
#include "vmemu/fd.h"

#define LINUX_MAP_TYPE            0x0f
#define LINUX_MAP_SHARED          0x01
#define LINUX_MAP_PRIVATE         0x02
#define LINUX_MAP_SHARED_VALIDATE 0x03
#define LINUX_MAP_FIXED           0x10
#define LINUX_MAP_ANONYMOUS       0x20
#define LINUX_MAP_32BIT           0x40
#define LINUX_MAP_GROWSDOWN       0x100
#define LINUX_MAP_NORESERVE       0x4000
#define LINUX_MAP_FIXED_NOREPLACE 0x100000
#define LINUX_PROT_MASK           0x7
#define LINUX_PROT_GROWS          0x03000000 /* PROT_GROWSDOWN | PROT_GROWSUP */

SYSCALL_DEFINE1(brk, gva_t, addr)
{
    return (long)mm_brk(p->mm, addr);
}

/* Opens the file behind guest descriptor fd for mapping, checking its access mode as Linux
 * does. Sets *anon for /dev/zero, which maps as anonymous memory. */
static long mmap_file(struct proc *p, int fd, bool shared, uint32_t prot, struct vfile **out,
                      bool *anon)
{
    int hostfd = fd_host(p->fds, fd);
    struct stat st;
    if (hostfd < 0)
        return -EBADF;
    if (fstat(hostfd, &st) < 0)
        return -errno;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5)) {
        *anon = true;
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return -ENODEV;
    int mode = fcntl(hostfd, F_GETFL) & O_ACCMODE;
    if (mode == O_WRONLY)
        return -EACCES;
    if (shared && (prot & VM_WRITE) && mode != O_RDWR)
        return -EACCES;
    return vfile_from_fd(&p->sys->pc, hostfd, p->fds->fds[fd].path, out);
}

SYSCALL_DEFINE6(mmap, gva_t, addr, uint64_t, len, uint64_t, prot, uint64_t, flags, int, fd,
                uint64_t, off)
{
    uint64_t type = flags & LINUX_MAP_TYPE;
    bool anon = flags & LINUX_MAP_ANONYMOUS;
    bool shared = type == LINUX_MAP_SHARED || type == LINUX_MAP_SHARED_VALIDATE;
    struct vfile *file = NULL;
    gva_t start;
    long rc;

    if (len == 0 || (off & ~PAGE_MASK))
        return -EINVAL;
    if (type != LINUX_MAP_SHARED && type != LINUX_MAP_PRIVATE && type != LINUX_MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (prot & ~(uint64_t)(LINUX_PROT_MASK | LINUX_PROT_GROWS))
        return -EINVAL;
    if (len > USER_VA_END)
        return -ENOMEM;
    len = PAGE_UP(len);
    if (!anon && off + len < off)
        return -EOVERFLOW;
    prot &= LINUX_PROT_MASK;

    if (flags & (LINUX_MAP_FIXED | LINUX_MAP_FIXED_NOREPLACE)) {
        if (addr & ~PAGE_MASK)
            return -EINVAL;
        if (addr >= USER_VA_END || len > USER_VA_END - addr || addr < MM_MMAP_LOW)
            return addr < MM_MMAP_LOW ? -EPERM : -ENOMEM;
        if (!(flags & LINUX_MAP_FIXED) && vma_overlaps(&p->mm->vmas, addr, addr + len))
            return -EEXIST;
        start = addr;
    } else if (flags & LINUX_MAP_32BIT) {
        if (vma_find_free(&p->mm->vmas, len, 0x40000000, 0x80000000, &start) < 0)
            return -ENOMEM;
    } else if (mm_get_unmapped_area(p->mm, addr, len, &start) < 0) {
        return -ENOMEM;
    }

    if (!anon && (rc = mmap_file(p, fd, shared, (uint32_t)prot, &file, &anon)) < 0)
        return rc;
    uint32_t vflags = (shared ? VM_SHARED : 0) |
                      ((flags & LINUX_MAP_GROWSDOWN) ? VM_GROWSDOWN : 0) |
                      ((flags & LINUX_MAP_NORESERVE) ? VM_NORESERVE : 0);
    rc = mm_map(p->mm, start, len, (uint32_t)prot, vflags, file ? VMA_FILE : VMA_ANON, file,
                file ? off : 0, file ? UINT64_MAX : 0);
    if (file)
        vfile_put(file);
    return rc < 0 ? rc : (long)start;
}

SYSCALL_DEFINE2(munmap, gva_t, addr, uint64_t, len)
{
    if ((addr & ~PAGE_MASK) || len == 0 || addr >= USER_VA_END)
        return -EINVAL;
    len = PAGE_UP(len);
    if (len > USER_VA_END - addr)
        return -EINVAL;
    return mm_unmap(p->mm, addr, len);
}

SYSCALL_DEFINE3(mprotect, gva_t, addr, uint64_t, len, uint64_t, prot)
{
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    if (prot & ~(uint64_t)(LINUX_PROT_MASK | LINUX_PROT_GROWS))
        return -EINVAL;
    if (len == 0)
        return 0;
    len = PAGE_UP(len);
    if (len == 0 || addr >= USER_VA_END || len > USER_VA_END - addr)
        return -ENOMEM;
    return mm_protect(p->mm, addr, len, (uint32_t)(prot & LINUX_PROT_MASK));
}

/* madvise advice values (Linux's asm-generic/mman-common.h). */
enum {
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
};

/* madvise: MADV_DONTNEED releases the pages of private mappings (anonymous memory reads
 * back as zero, file pages as the file); hints are accepted. MADV_FREE keeps the data, as
 * Linux does until memory runs short. MADV_REMOVE is refused (-EINVAL on private mappings,
 * -EOPNOTSUPP on shared ones until shared file mappings exist). A hole in
 * the range gives -ENOMEM after the mapped parts were handled, as on Linux. */
SYSCALL_DEFINE3(madvise, gva_t, addr, uint64_t, len, int, advice)
{
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    switch (advice) {
    case LINUX_MADV_NORMAL:
    case LINUX_MADV_RANDOM:
    case LINUX_MADV_SEQUENTIAL:
    case LINUX_MADV_WILLNEED:
    case LINUX_MADV_DONTNEED:
    case LINUX_MADV_FREE:
    case LINUX_MADV_REMOVE:
    case LINUX_MADV_DONTFORK:
    case LINUX_MADV_DOFORK:
    case LINUX_MADV_MERGEABLE:
    case LINUX_MADV_UNMERGEABLE:
    case LINUX_MADV_HUGEPAGE:
    case LINUX_MADV_NOHUGEPAGE:
    case LINUX_MADV_DONTDUMP:
    case LINUX_MADV_DODUMP:
        break;
    default:
        return -EINVAL;
    }
    if (len == 0)
        return 0;
    len = PAGE_UP(len);
    if (len == 0 || addr >= USER_VA_END || len > USER_VA_END - addr)
        return -EINVAL;
    gva_t end = addr + len, cur = addr;
    bool hole = false;
    while (cur < end) {
        struct vma *v = vma_find(&p->mm->vmas, cur);
        if (!v || v->start >= end) {
            hole = true;
            break;
        }
        if (v->start > cur)
            hole = true;
        gva_t lo = v->start > cur ? v->start : cur, hi = v->end < end ? v->end : end;
        if (advice == LINUX_MADV_DONTNEED) {
            if (v->flags & VM_LOCKED)
                return -EINVAL;
            mm_zap_range(p->mm, lo, hi);
        } else if (advice == LINUX_MADV_REMOVE) {
            /* Punching holes in shared files comes with MAP_SHARED support. */
            return (v->flags & VM_SHARED) ? -EOPNOTSUPP : -EINVAL;
        }
        cur = hi;
    }
    return hole ? -ENOMEM : 0;
}
