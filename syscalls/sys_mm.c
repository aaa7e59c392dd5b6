/* The memory syscalls, implemented by vmemu's VM (never passed to the host): brk, mmap,
 * munmap, mprotect, mremap, madvise, mincore, msync, mlock and friends. They check and
 * decode arguments as Linux does (same errno for the same mistake); the address space
 * decides the rest (src/mm/: mmap.c, madvise.c, mm.c, mremap.c, writeback.c). Pages are
 * faulted in on access, or at once for MAP_POPULATE, MAP_LOCKED and mlock. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sysdefs.h"
#include "vmemu/fd.h"
#include "vmemu/gup.h"
#include "vmemu/hugetlb.h"
#include "vmemu/mmap.h"
#include "vmemu/writeback.h"

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
    /* An MFD_HUGETLB memfd maps its object of pool pages, as a hugetlbfs file. */
    const struct fd_ofd *ofd = anon ? NULL : fd_ofd_of(p->fds, fd);
    struct vfile *hobj = ofd ? ofd->hugetlb : NULL;
    if (hobj && (off & (HPAGE_SIZE - 1)))
        return -EINVAL;
    bool hugetlb = (flags & LINUX_MAP_HUGETLB) || hobj;
    if (hugetlb && !hobj) {
        /* 2 MiB pages of the --hugetlb pool (none by default: ENOMEM, as on a host with
         * vm.nr_hugepages = 0); MAP_HUGE_2MB or the default size only. */
        uint64_t shift = (flags >> LINUX_MAP_HUGE_SHIFT) & LINUX_MAP_HUGE_MASK;
        if ((shift != 0 && shift != HPAGE_SHIFT) || !anon)
            return -EINVAL;
        if (len > USER_VA_END - HPAGE_SIZE)
            return -ENOMEM;
        len = (len + HPAGE_SIZE - 1) & HPAGE_MASK;
    }
    if (hobj) {
        if (len > USER_VA_END - HPAGE_SIZE)
            return -ENOMEM;
        len = (len + HPAGE_SIZE - 1) & HPAGE_MASK;
    }
    if (len > USER_VA_END)
        return -ENOMEM;
    len = PAGE_UP(len);
    if (!anon && off + len < off)
        return -EOVERFLOW;
    prot &= LINUX_PROT_MASK;

    int host = anon ? -1 : fd_host(p->fds, fd);
    struct mmap_req req = {
        .addr = addr,
        .len = len,
        .place = (flags & LINUX_MAP_FIXED)             ? MMAP_FIXED
                 : (flags & LINUX_MAP_FIXED_NOREPLACE) ? MMAP_NOREPLACE
                 : (flags & LINUX_MAP_32BIT)           ? MMAP_32BIT
                                                       : MMAP_ANYWHERE,
        .prot = (uint32_t)prot,
        .flags = (shared ? VM_SHARED : 0) | ((flags & LINUX_MAP_GROWSDOWN) ? VM_GROWSDOWN : 0) |
                 ((flags & LINUX_MAP_NORESERVE) ? VM_NORESERVE : 0) |
                 ((flags & LINUX_MAP_LOCKED) ? VM_LOCKED : 0) | (hugetlb ? VM_HUGETLB : 0),
        .populate = flags & LINUX_MAP_POPULATE,
        .off = off,
        .thp_file = host >= 0 && sys_host_large_folios(host),
    };
    if ((rc = mm_mmap_place(p->mm, &req, &start)) < 0)
        return rc;
    if (hobj) {
        int mode = fcntl(host, F_GETFL) & O_ACCMODE;
        if (mode == O_WRONLY || (shared && (prot & VM_WRITE) && mode != O_RDWR))
            return -EACCES;
        if (!(flags & LINUX_MAP_NORESERVE) && shared &&
            (rc = hugetlb_file_promise(p->sys, hobj, off + len)) < 0)
            return rc;
        file = hobj;
        vfile_get(file);
    } else if (!anon && (rc = mmap_file(p, fd, shared, (uint32_t)prot, &file, &anon)) < 0) {
        return rc;
    }
    req.kind = file ? VMA_FILE : VMA_ANON;
    if (anon && shared) {
        /* Shared anonymous memory (also a shared map of /dev/zero) is a shmem object; with
         * MAP_HUGETLB one of pool pages, which promises them unless MAP_NORESERVE. */
        rc = hugetlb ? hugetlb_file_create(p->sys, len, !(flags & LINUX_MAP_NORESERVE),
                                           "/anon_hugepage (deleted)", &file)
                     : vfile_shmem_create(&p->sys->pc, len, &file);
        if (rc < 0)
            return rc;
        off = 0;
    }
    req.file = file;
    req.off = off;
    rc = mm_mmap(p->mm, &req, start);
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

/* madvise: checks the advice and the range as Linux does, then applies the advice to each
 * area of the range in turn. A hole in the range gives -ENOMEM after the mapped parts were
 * handled, as on Linux. */
SYSCALL_DEFINE3(madvise, gva_t, addr, uint64_t, len, int, advice)
{
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    if (!mm_advice_known(advice))
        return -EINVAL;
    if (len == 0)
        return 0;
    len = PAGE_UP(len);
    if (len == 0 || addr >= USER_VA_END || len > USER_VA_END - addr)
        return -EINVAL;
    return mm_madvise(p->mm, addr, addr + len, advice);
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
    for (uint64_t done = 0; done < pages;) {
        size_t n = pages - done < PAGE_SIZE ? (size_t)(pages - done) : PAGE_SIZE;
        if (mm_mincore(p->mm, addr + done * PAGE_SIZE, n, chunk) < 0)
            return -ENOMEM;
        if (copy_to_user(p->mm, vec + done, chunk, n) < 0)
            return -EFAULT;
        done += n;
    }
    return 0;
}

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
    uint64_t limit = p->leader->rlim[RLIMIT_MEMLOCK].cur;
    if (limit == RLIM_INFINITY || geteuid() == 0)
        return true;
    uint64_t locked = 0;
    for (size_t i = 0; i < p->mm->vmas.n; i++)
        if (p->mm->vmas.v[i].flags & VM_LOCKED)
            locked += p->mm->vmas.v[i].end - p->mm->vmas.v[i].start;
    return locked + more <= limit;
}

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
    return mm_lock_all(p->mm, flags & LINUX_MCL_ONFAULT);
}

SYSCALL_DEFINE0(munlockall)
{
    mm_unlock_all(p->mm);
    return 0;
}
