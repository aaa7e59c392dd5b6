/* The memory syscalls, implemented by vmemu's VM (never passed to the host): brk, mmap,
 * munmap, mprotect, mremap, madvise, mincore, msync, mlock and friends. They check
 * arguments as Linux does (same errno for the same mistake) and leave the work to mm.c,
 * src/mremap.c and src/writeback.c; pages are faulted in on access, or at once for
 * MAP_POPULATE, MAP_LOCKED and mlock. Called through the syscall table. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sysdefs.h"
#include "vmemu/fd.h"
#include "vmemu/gup.h"
#include "vmemu/writeback.h"

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
#define LINUX_MAP_SYNC            0x80000
#define LINUX_MAP_FIXED_NOREPLACE 0x100000
#define LINUX_LEGACY_MAP_MASK                                                                      \
    (0x0f | LINUX_MAP_FIXED | LINUX_MAP_ANONYMOUS | 0x800 /* DENYWRITE */ |                        \
     0x1000 /* EXECUTABLE */ | 0x4000000 /* UNINITIALIZED */ | LINUX_MAP_GROWSDOWN |               \
     LINUX_MAP_LOCKED | LINUX_MAP_NORESERVE | LINUX_MAP_POPULATE | 0x10000 /* NONBLOCK */ |        \
     0x20000 /* STACK */ | LINUX_MAP_HUGETLB | LINUX_MAP_32BIT | (21ULL << 26) | (30ULL << 26))
#define LINUX_PROT_MASK  0x7
#define LINUX_PROT_GROWS 0x03000000 /* PROT_GROWSDOWN | PROT_GROWSUP */

/* brk: a heap that grows after mlockall(MCL_FUTURE) is faulted in at once, as on Linux. */
SYSCALL_DEFINE1(brk, gva_t, addr)
{
    gva_t old = p->mm->brk;
    gva_t now = mm_brk(p->mm, addr);
    if ((p->mm->def_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED &&
        PAGE_UP(now) > PAGE_UP(old))
        mm_populate(p->mm, PAGE_UP(old), PAGE_UP(now));
    return (long)now;
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
    /* MAP_SHARED_VALIDATE on a file refuses flags it does not know (Linux's
     * LEGACY_MAP_MASK) and MAP_SYNC, which only DAX files support. */
    if (type == LINUX_MAP_SHARED_VALIDATE && !anon && (flags & ~LINUX_LEGACY_MAP_MASK))
        return -EOPNOTSUPP;
    if (flags & LINUX_MAP_HUGETLB)
        return -ENOMEM; /* no huge pages are reserved (vm.nr_hugepages = 0) */
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
    enum vma_kind kind = file ? VMA_FILE : VMA_ANON;
    if (anon && shared) {
        /* Shared anonymous memory (also a shared map of /dev/zero) is a shmem object. */
        if ((rc = vfile_shmem_create(&p->sys->pc, len, &file)) < 0)
            return rc;
        off = 0;
    }
    uint32_t vflags = (shared ? VM_SHARED : 0) |
                      ((flags & LINUX_MAP_GROWSDOWN) ? VM_GROWSDOWN : 0) |
                      ((flags & LINUX_MAP_NORESERVE) ? VM_NORESERVE : 0) |
                      ((flags & LINUX_MAP_LOCKED) ? VM_LOCKED : 0);
    rc = mm_map(p->mm, start, len, (uint32_t)prot, vflags, kind, file, file ? off : 0,
                file ? UINT64_MAX : 0);
    if (file)
        vfile_put(file);
    if (rc < 0)
        return rc;
    /* Populating is best effort, as on Linux: the mapping stands even when it fails. */
    bool locked = (flags & LINUX_MAP_LOCKED) ||
                  (p->mm->def_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED;
    if (((flags & LINUX_MAP_POPULATE) && !(flags & LINUX_MAP_NORESERVE)) || locked)
        mm_populate(p->mm, start, start + len);
    return (long)start;
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
    LINUX_MADV_WIPEONFORK = 18,
    LINUX_MADV_KEEPONFORK = 19,
    LINUX_MADV_COLD = 20,
    LINUX_MADV_PAGEOUT = 21,
    LINUX_MADV_POPULATE_READ = 22,
    LINUX_MADV_POPULATE_WRITE = 23,
};

/* MADV_WILLNEED on a file area: reads the pages of [lo, hi) that lie inside the file into
 * the page cache without mapping them (Linux's readahead); nothing is counted as a fault. */
static void madvise_willneed(struct proc *p, const struct vma *v, gva_t lo, gva_t hi)
{
    struct pagecache *pc = &p->sys->pc;
    int64_t size = vfile_size(v->file);
    for (gva_t va = lo; size > 0 && va < hi; va += PAGE_SIZE) {
        uint64_t index = vma_pgoff(v, va);
        pfn_t pfn;
        if (index * PAGE_SIZE >= (uint64_t)size)
            break;
        if (!pagecache_find(pc, v->file, index) && pagecache_read(pc, v->file, index, &pfn) < 0)
            break;
    }
}

/* MADV_REMOVE: frees the backing store of [lo, hi) of a shared writable area (a hole is
 * punched in the file; shared anonymous memory reads back as zero). */
static long madvise_remove(struct proc *p, const struct vma *v, gva_t lo, gva_t hi)
{
    if ((v->flags & VM_LOCKED) || !v->file)
        return -EINVAL;
    if (!(v->flags & VM_SHARED) || !(v->prot & VM_WRITE))
        return -EACCES;
    uint64_t first = vma_pgoff(v, lo), last = vma_pgoff(v, hi) - 1;
    if (!v->file->shmem &&
        fallocate(v->file->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(first * PAGE_SIZE), (off_t)((last - first + 1) * PAGE_SIZE)) < 0)
        return -errno;
    wb_discard_pages(p->sys, v->file, first, last);
    return 0;
}

/* MADV_POPULATE_READ/WRITE: faults the range in for the access, as Linux 5.14+: -EINVAL
 * when the area does not allow the access, -EFAULT for a page past the end of a file,
 * -ENOMEM when frames run out. The failed access is not a guest fault: counters stay. */
static long madvise_populate(struct proc *p, const struct vma *v, gva_t lo, gva_t hi, bool write)
{
    if (v->prot == 0 || (write && !(v->prot & VM_WRITE)))
        return -EINVAL;
    for (gva_t va = lo; va < hi; va += PAGE_SIZE) {
        int rc = mm_populate_page(p->mm, va, write ? ACCESS_WRITE : ACCESS_READ);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* What one advice does to the part [lo, hi) of area v. Returns 0 or -errno. */
static long madvise_vma(struct proc *p, struct vma *v, gva_t lo, gva_t hi, int advice)
{
    switch (advice) {
    case LINUX_MADV_DONTNEED:
        if (v->flags & VM_LOCKED)
            return -EINVAL;
        mm_zap_range(p->mm, lo, hi);
        return 0;
    case LINUX_MADV_FREE:
        /* Private anonymous memory only; the pages keep their data until memory runs
         * short, which here means never before swap exists. */
        return v->file ? -EINVAL : 0;
    case LINUX_MADV_WILLNEED:
        if (v->file && !v->file->shmem)
            madvise_willneed(p, v, lo, hi);
        return 0;
    case LINUX_MADV_REMOVE:
        return madvise_remove(p, v, lo, hi);
    case LINUX_MADV_WIPEONFORK:
        /* Private anonymous memory only: the fork child gets it zero-filled. */
        if (v->file || (v->flags & VM_SHARED))
            return -EINVAL;
        return mm_set_vma_flags(p->mm, lo, hi, VM_WIPEONFORK, 0);
    case LINUX_MADV_KEEPONFORK:
        return mm_set_vma_flags(p->mm, lo, hi, 0, VM_WIPEONFORK);
    case LINUX_MADV_DONTFORK:
        return mm_set_vma_flags(p->mm, lo, hi, VM_DONTCOPY, 0);
    case LINUX_MADV_DOFORK:
        return mm_set_vma_flags(p->mm, lo, hi, 0, VM_DONTCOPY);
    case LINUX_MADV_POPULATE_READ:
    case LINUX_MADV_POPULATE_WRITE:
        return madvise_populate(p, v, lo, hi, advice == LINUX_MADV_POPULATE_WRITE);
    default:
        return 0; /* hints */
    }
}

/* madvise: checks the advice and the range as Linux does, then applies the advice to each
 * area of the range in turn. A hole in the range gives -ENOMEM after the mapped parts were
 * handled, as on Linux. */
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
    case LINUX_MADV_WIPEONFORK:
    case LINUX_MADV_KEEPONFORK:
    case LINUX_MADV_COLD:
    case LINUX_MADV_PAGEOUT:
    case LINUX_MADV_POPULATE_READ:
    case LINUX_MADV_POPULATE_WRITE:
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
        long rc = madvise_vma(p, v, lo, hi, advice);
        if (rc < 0)
            return rc;
        cur = hi;
    }
    return hole ? -ENOMEM : 0;
}

/* mremap: Linux PAGE_ALIGNs the lengths first (near 2^64 a length wraps to 0: old_len 0
 * duplicates a shared area, new_len 0 is -EINVAL); every other check is mm_remap's, in
 * Linux's order. */
SYSCALL_DEFINE5(mremap, gva_t, addr, uint64_t, old_len, uint64_t, new_len, uint64_t, flags, gva_t,
                new_addr)
{
    old_len = PAGE_UP(old_len);
    new_len = PAGE_UP(new_len);
    if (flags > 0xffffffffu)
        return -EINVAL; /* flags is unsigned long in Linux: a high bit is an unknown flag */
    gva_t out;
    int rc = mm_remap(p->mm, addr, old_len, new_len, (unsigned)flags, new_addr, &out);
    return rc < 0 ? rc : (long)out;
}

/* mincore: one byte per page of [addr, addr+len), 1 when the page is resident: mapped by
 * a present PTE, or, for a file area, in vmemu's page cache. */
SYSCALL_DEFINE3(mincore, gva_t, addr, uint64_t, len, gva_t, vec)
{
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    if (addr >= USER_VA_END || len > USER_VA_END - addr)
        return -ENOMEM;
    uint64_t pages = PAGE_UP(len) >> PAGE_SHIFT;
    if (vec >= USER_VA_END || pages > USER_VA_END - vec)
        return -EFAULT;
    uint8_t chunk[PAGE_SIZE];
    gva_t va = addr;
    for (uint64_t done = 0; done < pages;) {
        size_t n = pages - done < PAGE_SIZE ? (size_t)(pages - done) : PAGE_SIZE;
        for (size_t i = 0; i < n; i++, va += PAGE_SIZE) {
            const struct vma *v = vma_lookup(&p->mm->vmas, va);
            if (!v)
                return -ENOMEM;
            pte_t *ptep = pt_lookup(&p->mm->pt, &p->sys->phys, va);
            chunk[i] = 0;
            if (ptep && pte_present(*ptep))
                chunk[i] = 1;
            else if (v->file && pagecache_find(&p->sys->pc, v->file, vma_pgoff(v, va)))
                chunk[i] = 1;
        }
        if (copy_to_user(p->mm, vec + done, chunk, n) < 0)
            return -EFAULT;
        done += n;
    }
    return 0;
}

#define LINUX_MS_ASYNC      1
#define LINUX_MS_INVALIDATE 2
#define LINUX_MS_SYNC       4

/* msync: the dirty shared file pages of the range are written to their files, for
 * MS_ASYNC as well (Linux only starts that writeback; doing it at once is one of its
 * allowed outcomes). -ENOMEM for a hole, after the mapped parts; -EBUSY for MS_INVALIDATE
 * on locked memory. */
SYSCALL_DEFINE3(msync, gva_t, addr, uint64_t, len, int, flags)
{
    if (flags & ~(LINUX_MS_ASYNC | LINUX_MS_INVALIDATE | LINUX_MS_SYNC))
        return -EINVAL;
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    if ((flags & LINUX_MS_ASYNC) && (flags & LINUX_MS_SYNC))
        return -EINVAL;
    len = PAGE_UP(len);
    gva_t end = addr + len;
    if (end < addr)
        return -ENOMEM;
    if (end == addr)
        return 0;
    long unmapped = 0;
    for (gva_t cur = addr; cur < end;) {
        struct vma *v = vma_find(&p->mm->vmas, cur);
        if (!v || cur >= USER_VA_END)
            return -ENOMEM;
        if (cur < v->start) {
            unmapped = -ENOMEM;
            cur = v->start;
            if (cur >= end)
                break;
        }
        if ((flags & LINUX_MS_INVALIDATE) && (v->flags & VM_LOCKED))
            return -EBUSY;
        gva_t hi = v->end < end ? v->end : end;
        if (mm_sync_range(p->mm, cur, hi) < 0)
            return -EIO;
        cur = hi;
    }
    return unmapped;
}

/* Whether locking `more` pages stays within RLIMIT_MEMLOCK (root is not limited, as with
 * CAP_IPC_LOCK). */
static bool mlock_allowed(struct proc *p, uint64_t more)
{
    uint64_t limit = p->rlim[RLIMIT_MEMLOCK].cur;
    if (limit == RLIM_INFINITY || geteuid() == 0)
        return true;
    uint64_t locked = 0;
    for (size_t i = 0; i < p->mm->vmas.n; i++)
        if (p->mm->vmas.v[i].flags & VM_LOCKED)
            locked += p->mm->vmas.v[i].end - p->mm->vmas.v[i].start;
    return locked + more <= limit;
}

#define LINUX_MLOCK_ONFAULT 1

/* Page-aligns the range of mlock, mlock2 or munlock as Linux does: *addr down, *len up
 * with the offset of *addr in its page. Returns 1 when the range is a user range to work
 * on, 0 when it is empty (the call succeeds doing nothing), -ENOMEM when it runs past the
 * user address space. */
static int lock_range_align(gva_t *addr, uint64_t *len)
{
    *len = PAGE_UP(*len + (*addr & ~PAGE_MASK));
    *addr = PAGE_DOWN(*addr);
    if (*len == 0)
        return 0;
    if (*addr >= USER_VA_END || *len > USER_VA_END - *addr)
        return -ENOMEM;
    return 1;
}

static long do_mlock(struct proc *p, gva_t addr, uint64_t len, unsigned flags)
{
    if (flags & ~LINUX_MLOCK_ONFAULT)
        return -EINVAL;
    int rc = lock_range_align(&addr, &len);
    if (rc <= 0)
        return rc;
    if (!mlock_allowed(p, len))
        return -ENOMEM;
    rc = mm_lock_range(p->mm, addr, addr + len, true);
    if (rc == 0 && !(flags & LINUX_MLOCK_ONFAULT))
        rc = mm_populate(p->mm, addr, addr + len);
    return rc;
}

SYSCALL_DEFINE2(mlock, gva_t, addr, uint64_t, len)
{
    return do_mlock(p, addr, len, 0);
}

SYSCALL_DEFINE3(mlock2, gva_t, addr, uint64_t, len, unsigned, flags)
{
    return do_mlock(p, addr, len, flags);
}

SYSCALL_DEFINE2(munlock, gva_t, addr, uint64_t, len)
{
    int rc = lock_range_align(&addr, &len);
    if (rc <= 0)
        return rc;
    return mm_lock_range(p->mm, addr, addr + len, false);
}

#define LINUX_MCL_CURRENT 1
#define LINUX_MCL_FUTURE  2
#define LINUX_MCL_ONFAULT 4

SYSCALL_DEFINE1(mlockall, int, flags)
{
    if (!flags || (flags & ~(LINUX_MCL_CURRENT | LINUX_MCL_FUTURE | LINUX_MCL_ONFAULT)) ||
        flags == LINUX_MCL_ONFAULT)
        return -EINVAL;
    if ((flags & LINUX_MCL_CURRENT) && !mlock_allowed(p, mm_vm_pages(p->mm) << PAGE_SHIFT))
        return -ENOMEM;
    p->mm->def_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    if (flags & LINUX_MCL_FUTURE)
        p->mm->def_flags |= VM_LOCKED | ((flags & LINUX_MCL_ONFAULT) ? VM_LOCKONFAULT : 0);
    if (!(flags & LINUX_MCL_CURRENT))
        return 0;
    for (size_t i = 0; i < p->mm->vmas.n; i++)
        p->mm->vmas.v[i].flags |= VM_LOCKED;
    if (flags & LINUX_MCL_ONFAULT)
        return 0;
    for (size_t i = 0; i < p->mm->vmas.n; i++) {
        gva_t start = p->mm->vmas.v[i].start, end = p->mm->vmas.v[i].end;
        if (mm_populate(p->mm, start, end) < 0)
            return -ENOMEM;
        /* populate may have grown the array of areas: find our place again */
        struct vma *v = vma_find(&p->mm->vmas, end - 1);
        i = v ? vma_index(&p->mm->vmas, v) : p->mm->vmas.n;
    }
    return 0;
}

SYSCALL_DEFINE0(munlockall)
{
    p->mm->def_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    for (size_t i = 0; i < p->mm->vmas.n; i++)
        p->mm->vmas.v[i].flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    for (size_t i = p->mm->vmas.n; i-- > 0;)
        if (i < p->mm->vmas.n)
            vma_merge_around(&p->mm->vmas, i);
    return 0;
}
