/* System V shared memory: shmget, shmat, shmdt, shmctl. A segment's pages are a shmem
 * object of vmemu's VM (src/proc/ipc_shm.c); shmat maps it into the caller's address
 * space as mmap(MAP_SHARED) maps shared anonymous memory, so its pages are vmemu frames,
 * faulted in on access, shared across fork and shown in /proc/PID/maps as
 * "/SYSV%08x (deleted)". shm_nattch counts the areas that map the segment. */
#include <string.h>
#include <unistd.h>

#include "sys_ipc.h"
#include "vmemu/mm.h"
#include "vmemu/mmap.h"
#include "vmemu/pagecache.h"
#include "vmemu/sched.h"
#include "vmemu/vma.h"

#define SHM_HUGETLB_F 04000
#define SHM_RDONLY_F  010000
#define SHM_RND_F     020000
#define SHM_REMAP_F   040000
#define SHM_EXEC_F    0100000
#define SHM_LOCK_C    11
#define SHM_UNLOCK_C  12
#define SHM_INFO_C    14
#define SHMLBA        PAGE_SIZE

/* Linux's struct shmid64_ds on x86-64. */
struct linux_shmid64_ds {
    struct linux_ipc64_perm perm;
    uint64_t segsz;
    int64_t atime, dtime, ctime;
    int32_t cpid, lpid;
    uint64_t nattch;
    uint64_t unused4, unused5;
};

/* Linux's struct shminfo64. */
struct linux_shminfo64 {
    uint64_t shmmax, shmmin, shmmni, shmseg, shmall;
    uint64_t unused1, unused2, unused3, unused4;
};

/* Linux's struct shm_info. */
struct linux_shm_info {
    int32_t used_ids;
    int32_t pad;
    uint64_t shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes;
};

/* The run's namespace with the removed, unmapped segments freed. */
static struct ipc_ns *shm_ns(struct proc *p)
{
    struct ipc_ns *ns = ipc_ns_of(p);
    ipc_shm_gc(ns);
    return ns;
}

SYSCALL_DEFINE3(shmget, int32_t, key, uint64_t, size, int, flg)
{
    struct ipc_ns *ns = shm_ns(p);
    struct ipc_obj *o;
    struct ipc_shm *shm;
    if (!ns)
        return -ENOMEM;
    int rc = sys_ipc_get_existing(ns, IPC_SHM, key, flg, &o);
    if (rc < 0)
        return rc;
    if (o) {
        if (((struct ipc_shm *)o)->size < size)
            return -EINVAL;
        return o->id;
    }
    if (size < SHM_MIN || size > SHM_MAX)
        return -EINVAL;
    /* SHM_HUGETLB: 2 MiB pages of the --hugetlb pool (2 MiB only: SHM_HUGE_2MB or the
     * default size), all promised at shmget (ENOMEM when the pool cannot). */
    uint64_t shift = ((uint64_t)flg >> LINUX_MAP_HUGE_SHIFT) & LINUX_MAP_HUGE_MASK;
    if ((flg & SHM_HUGETLB_F) && shift != 0 && shift != HPAGE_SHIFT)
        return -EINVAL;
    if ((rc = ipc_shm_create(p, ns, key, flg, size, (flg & SHM_HUGETLB_F) != 0, &shm)) < 0)
        return rc;
    shm->obj.ctime = ipc_now(p);
    return shm->obj.id;
}

SYSCALL_DEFINE3(shmat, int, shmid, gva_t, addr, int, flg)
{
    struct ipc_obj *o;
    if (shmid < 0)
        return -EINVAL;
    if (addr & (SHMLBA - 1)) {
        if (!(flg & SHM_RND_F))
            return -EINVAL;
        addr &= ~(SHMLBA - 1);
        if (addr == 0 && (flg & SHM_REMAP_F))
            return -EINVAL;
    } else if (addr == 0 && (flg & SHM_REMAP_F)) {
        return -EINVAL;
    }
    shm_ns(p);
    int rc = sys_ipc_obj(p, IPC_SHM, shmid, &o);
    if (rc < 0)
        return rc;
    uint32_t prot = VM_READ;
    int want = 0444;
    if (!(flg & SHM_RDONLY_F)) {
        prot |= VM_WRITE;
        want |= 0222;
    }
    if (flg & SHM_EXEC_F)
        prot |= VM_EXEC;
    if ((rc = ipc_perms(o, want)) < 0)
        return rc;
    struct ipc_shm *shm = (struct ipc_shm *)o;
    struct mmap_req req = {
        .addr = addr,
        .len = shm->file->shmem_size, /* the size rounded to its pages, 4 KiB or 2 MiB */
        .place = addr == 0             ? MMAP_ANYWHERE
                 : (flg & SHM_REMAP_F) ? MMAP_FIXED
                                       : MMAP_NOREPLACE,
        .prot = prot,
        .flags = VM_SHARED | (shm->file->hugetlb ? VM_HUGETLB : 0),
        .kind = VMA_FILE,
        .file = shm->file,
        .off = 0,
    };
    gva_t start;
    if ((rc = mm_mmap_place(p->mm, &req, &start)) < 0)
        return rc == -EEXIST ? -EINVAL : rc;
    if ((rc = mm_mmap(p->mm, &req, start)) < 0)
        return rc;
    shm->atime = ipc_now(p);
    shm->lpid = sys_ipc_pid(p);
    return (long)start;
}

SYSCALL_DEFINE1(shmdt, gva_t, addr)
{
    struct ipc_ns *ns = shm_ns(p);
    struct ipc_shm *shm;
    if (addr & ~PAGE_MASK)
        return -EINVAL;
    if (!ns)
        return -ENOMEM;
    const struct vma *v = vma_lookup(&p->mm->vmas, addr);
    if (!v || v->start != addr || v->pgoff != 0 || !(shm = ipc_shm_by_file(ns, v->file)))
        return -EINVAL;
    /* Every area of the attachment at addr: the segment's, at its offset from addr. */
    const struct vfile *file = shm->file;
    gva_t end = addr + file->shmem_size, at = addr;
    while ((v = vma_find(&p->mm->vmas, at)) != NULL && v->start < end) {
        gva_t s = v->start, e = v->end;
        at = e;
        if (v->file != file || ((s - addr) >> PAGE_SHIFT) != v->pgoff)
            continue;
        proc_unmap_record(p, s, e);
        mm_unmap(p->mm, s, e - s);
    }
    shm->dtime = ipc_now(p);
    shm->lpid = sys_ipc_pid(p);
    ipc_shm_gc(ns);
    return 0;
}

/* Counts the cached pages of a segment. */
static void count_page(void *ctx, uint64_t index, pfn_t pfn)
{
    (void)index;
    (void)pfn;
    (*(uint64_t *)ctx)++;
}

/* IPC_INFO and SHM_INFO. */
static long shm_info(struct proc *p, struct ipc_ns *ns, int cmd, gva_t buf)
{
    if (cmd == IPC_INFO_C) {
        struct linux_shminfo64 si = {
            .shmmax = SHM_MAX,
            .shmmin = SHM_MIN,
            .shmmni = IPC_MAX_OBJS,
            .shmseg = IPC_MAX_OBJS,
            .shmall = SHM_MAX >> PAGE_SHIFT,
        };
        if (copy_to_user(p->mm, buf, &si, sizeof(si)) < 0)
            return -EFAULT;
    } else {
        struct linux_shm_info si;
        memset(&si, 0, sizeof(si));
        si.used_ids = ns->t[IPC_SHM].used;
        for (int i = 0; i < IPC_MAX_OBJS; i++) {
            struct ipc_shm *shm = (struct ipc_shm *)ns->t[IPC_SHM].slot[i];
            if (!shm)
                continue;
            si.shm_tot += shm->file->shmem_size >> PAGE_SHIFT;
            pagecache_for_each(shm->file->pc, shm->file, count_page, &si.shm_rss);
        }
        if (copy_to_user(p->mm, buf, &si, sizeof(si)) < 0)
            return -EFAULT;
    }
    return ipc_max_index(ns, IPC_SHM);
}

SYSCALL_DEFINE3(shmctl, int, shmid, int, cmd, gva_t, buf)
{
    struct ipc_ns *ns = shm_ns(p);
    struct ipc_obj *o;
    struct linux_shmid64_ds ds;
    cmd &= ~IPC_64_F;
    if (shmid < 0 || cmd < 0)
        return -EINVAL;
    if (!ns)
        return -ENOMEM;
    if (cmd == IPC_INFO_C || cmd == SHM_INFO_C)
        return shm_info(p, ns, cmd, buf);
    if (cmd == IPC_SET_C && copy_from_user(p->mm, &ds, buf, sizeof(ds)) < 0)
        return -EFAULT;
    int rc = sys_ipc_obj(p, IPC_SHM, shmid, &o);
    if (rc < 0)
        return rc;
    struct ipc_shm *shm = (struct ipc_shm *)o;
    switch (cmd) {
    case IPC_STAT_C:
        memset(&ds, 0, sizeof(ds));
        ds.segsz = shm->size;
        ds.atime = shm->atime;
        ds.dtime = shm->dtime;
        ds.ctime = o->ctime;
        ds.cpid = shm->cpid;
        ds.lpid = shm->lpid;
        ds.nattch = ipc_shm_nattch(shm);
        return sys_ipc_stat_out(p, o, &ds.perm, &ds, sizeof(ds), buf);
    case IPC_SET_C:
        return sys_ipc_set(p, o, &ds.perm);
    case IPC_RMID_C:
        if ((rc = ipc_owner(o)) < 0)
            return rc;
        ipc_shm_mark_destroy(ns, shm);
        return 0;
    case SHM_LOCK_C:
    case SHM_UNLOCK_C: /* accepted; vmemu never swaps shmem pages out anyway */
        if ((rc = ipc_owner(o)) < 0)
            return rc;
        if (cmd == SHM_LOCK_C)
            o->mode |= SHM_LOCKED_F;
        else
            o->mode &= (uint16_t)~SHM_LOCKED_F;
        return 0;
    default:
        return -EINVAL;
    }
}
