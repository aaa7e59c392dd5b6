/* The /proc files vmemu makes up for the guest. Each open renders a snapshot of vmemu's own
 * state into a text buffer in Linux's format (fs/proc/task_mmu.c, array.c, meminfo.c,
 * arch/x86/kernel/cpu/proc.c) and hands back a host memfd holding it, so reads, seeks and
 * fstat work as on any file. /proc/self, /proc/thread-self and /proc/PID (a vmemu pid, found
 * by procfs_find_task) give maps, smaps, smaps_rollup, status, stat, statm, cmdline, comm
 * and exe; /proc/meminfo describes the frame pool and /proc/cpuinfo the emulated CPU.
 * Everything else under /proc goes to the host. Called by open/openat (syscalls/sys_fs.c). */
#include "vmemu/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vmemu/mm_stat.h"

#define KB_PER_PAGE    ((uint64_t)(PAGE_SIZE / 1024))
#define PSS_SHIFT      12                 /* Linux's: Pss is counted in bytes << 12 */
#define MAPS_NAME_COL  72                 /* maps: names start after this column (25 + 6 * 8 - 1) */
#define CLOCK_TICKS_NS UINT64_C(10000000) /* USER_HZ = 100 */

/* A file being rendered. */
struct pbuf {
    char *data; /* text so far (NUL-terminated when len > 0) */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed: the text is incomplete */
};

__attribute__((format(printf, 2, 3))) static void pb_printf(struct pbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
}

/* Appends n raw bytes (cmdline holds NULs). */
static void pb_put(struct pbuf *b, const void *src, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* A cloexec memfd holding the rendered text, positioned at 0. Frees the buffer.
 * Returns the descriptor or -errno. */
static int pb_to_fd(struct pbuf *b)
{
    int rc;
    if (b->oom) {
        rc = -ENOMEM;
        goto out;
    }
    int fd = memfd_create("vmemu-proc", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    for (size_t off = 0; off < b->len;) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0) {
            rc = -errno;
            close(fd);
            goto out;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        rc = -errno;
        close(fd);
        goto out;
    }
    rc = fd;
out:
    free(b->data);
    *b = (struct pbuf){0};
    return rc;
}

/* ---- /proc/PID/maps, smaps, smaps_rollup ---- */

/* The name Linux shows for an area: the file's path, [heap], [stack], "/dev/zero (deleted)"
 * for shared anonymous memory, or NULL. path is scratch space for the file's path. */
static const char *maps_name(const struct vma *v, char *path, size_t n)
{
    if (v->file && v->file->shmem)
        return "/dev/zero (deleted)";
    if (v->file) {
        /* The host's own name for the descriptor: absolute, canonical, and marked
         * " (deleted)" once unlinked, as Linux prints it. */
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", v->file->fd);
        ssize_t len = v->file->fd >= 0 ? readlink(link, path, n - 1) : -1;
        if (len > 0) {
            path[len] = '\0';
            return path;
        }
        return v->file->path;
    }
    if (v->kind == VMA_HEAP)
        return "[heap]";
    if (v->kind == VMA_STACK)
        return "[stack]";
    if (v->kind == VMA_CHECKER)
        return "[vmemu heap]";
    return NULL;
}

/* One maps line (also the header of an smaps entry), with its newline. */
static void maps_line(struct pbuf *b, const struct vma *v)
{
    char perms[5], path[4096];
    unsigned maj = 0, min = 0;
    uint64_t ino = 0, off = 0;

    vma_perm_string(v, perms);
    if (v->file && v->file->shmem) {
        maj = 0;
        min = 1; /* the shmem superblock */
        ino = v->file->ino;
        off = v->pgoff << PAGE_SHIFT;
    } else if (v->file) {
        maj = major((dev_t)v->file->dev);
        min = minor((dev_t)v->file->dev);
        ino = v->file->ino;
        off = v->pgoff << PAGE_SHIFT;
    }
    size_t start = b->len;
    pb_printf(b, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64 " %02x:%02x %" PRIu64 " ", v->start,
              v->end, perms, off, maj, min, ino);
    const char *name = maps_name(v, path, sizeof(path));
    if (name) {
        size_t used = b->len - start;
        pb_printf(b, "%*s%s", used < MAPS_NAME_COL ? (int)(MAPS_NAME_COL - used) + 1 : 1, "", name);
    }
    pb_printf(b, "\n");
}

static int render_maps(struct pbuf *b, struct proc *t)
{
    for (size_t i = 0; i < t->mm->vmas.n; i++)
        maps_line(b, &t->mm->vmas.v[i]);
    return 0;
}

/* An smaps value line: label padded to 16 columns, kB right-aligned in 8. */
static void smaps_kb(struct pbuf *b, const char *label, uint64_t kb)
{
    pb_printf(b, "%-16s%8" PRIu64 " kB\n", label, kb);
}

/* The counters of an smaps entry or of the rollup, in kB (Linux's __show_smap). */
static void smaps_values(struct pbuf *b, const struct vma_usage *u, uint64_t locked_pss,
                         bool rollup)
{
    smaps_kb(b, "Rss:", u->resident * KB_PER_PAGE);
    smaps_kb(b, "Pss:", (u->pss_shifted >> PSS_SHIFT) >> 10);
    smaps_kb(b, "Pss_Dirty:", (u->pss_dirty_shifted >> PSS_SHIFT) >> 10);
    if (rollup) {
        smaps_kb(b, "Pss_Anon:", (u->pss_anon_shifted >> PSS_SHIFT) >> 10);
        smaps_kb(b, "Pss_File:", (u->pss_file_shifted >> PSS_SHIFT) >> 10);
        smaps_kb(b, "Pss_Shmem:", (u->pss_shmem_shifted >> PSS_SHIFT) >> 10);
    }
    smaps_kb(b, "Shared_Clean:", u->shared_clean * KB_PER_PAGE);
    smaps_kb(b, "Shared_Dirty:", u->shared_dirty * KB_PER_PAGE);
    smaps_kb(b, "Private_Clean:", u->private_clean * KB_PER_PAGE);
    smaps_kb(b, "Private_Dirty:", u->private_dirty * KB_PER_PAGE);
    smaps_kb(b, "Referenced:", u->referenced * KB_PER_PAGE);
    smaps_kb(b, "Anonymous:", u->anon * KB_PER_PAGE);
    smaps_kb(b, "KSM:", 0);
    smaps_kb(b, "LazyFree:", 0);
    smaps_kb(b, "AnonHugePages:", 0);
    smaps_kb(b, "ShmemPmdMapped:", 0);
    smaps_kb(b, "FilePmdMapped:", 0);
    smaps_kb(b, "Shared_Hugetlb:", 0);
    pb_printf(b, "Private_Hugetlb: %7d kB\n", 0);
    smaps_kb(b, "Swap:", u->swapped * KB_PER_PAGE);
    smaps_kb(b, "SwapPss:", u->swapped * KB_PER_PAGE);
    smaps_kb(b, "Locked:", (locked_pss >> PSS_SHIFT) >> 10);
}

/* The VmFlags line: Linux's two-letter names of the area's flags, each followed by a
 * space. The may-flags follow from how vmemu maps: everything may be read, written and
 * executed except writing a shared mapping of a file opened read-only. */
static void smaps_vmflags(struct pbuf *b, const struct vma *v)
{
    bool shared = v->flags & VM_SHARED;
    bool may_write = !(shared && v->file && !v->file->shmem && !v->file->writable);

    pb_printf(b, "VmFlags: ");
    if (v->prot & VM_READ)
        pb_printf(b, "rd ");
    if (v->prot & VM_WRITE)
        pb_printf(b, "wr ");
    if (v->prot & VM_EXEC)
        pb_printf(b, "ex ");
    if (shared)
        pb_printf(b, "sh ");
    pb_printf(b, "mr %sme ", may_write ? "mw " : "");
    if (shared)
        pb_printf(b, "ms ");
    if (v->flags & VM_GROWSDOWN)
        pb_printf(b, "gd ");
    if (v->flags & VM_LOCKED)
        pb_printf(b, "lo ");
    if (!shared && (v->prot & VM_WRITE) && !(v->flags & VM_NORESERVE))
        pb_printf(b, "ac ");
    if (v->flags & VM_NORESERVE)
        pb_printf(b, "nr ");
    pb_printf(b, "\n");
}

static int render_smaps(struct pbuf *b, struct proc *t)
{
    for (size_t i = 0; i < t->mm->vmas.n; i++) {
        const struct vma *v = &t->mm->vmas.v[i];
        struct vma_usage u;
        mm_vma_usage(t->mm, v, &u);
        maps_line(b, v);
        smaps_kb(b, "Size:", (v->end - v->start) >> 10);
        smaps_kb(b, "KernelPageSize:", PAGE_SIZE >> 10);
        smaps_kb(b, "MMUPageSize:", PAGE_SIZE >> 10);
        smaps_values(b, &u, (v->flags & VM_LOCKED) ? u.pss_shifted : 0, false);
        pb_printf(b, "%-16s%8d\n", "THPeligible:", 0);
        smaps_vmflags(b, v);
    }
    return 0;
}

static int render_smaps_rollup(struct pbuf *b, struct proc *t)
{
    const struct vma_list *l = &t->mm->vmas;
    struct vma_usage sum = {0};
    uint64_t locked = 0;

    for (size_t i = 0; i < l->n; i++) {
        struct vma_usage u;
        mm_vma_usage(t->mm, &l->v[i], &u);
        sum.resident += u.resident;
        sum.pss_shifted += u.pss_shifted;
        sum.pss_dirty_shifted += u.pss_dirty_shifted;
        sum.pss_anon_shifted += u.pss_anon_shifted;
        sum.pss_file_shifted += u.pss_file_shifted;
        sum.pss_shmem_shifted += u.pss_shmem_shifted;
        sum.shared_clean += u.shared_clean;
        sum.shared_dirty += u.shared_dirty;
        sum.private_clean += u.private_clean;
        sum.private_dirty += u.private_dirty;
        sum.referenced += u.referenced;
        sum.anon += u.anon;
        sum.swapped += u.swapped;
        if (l->v[i].flags & VM_LOCKED)
            locked += u.pss_shifted;
    }
    struct vma all = {.start = l->n ? l->v[0].start : 0, .end = l->n ? l->v[l->n - 1].end : 0};
    size_t start = b->len;
    pb_printf(b, "%08" PRIx64 "-%08" PRIx64 " ---p 00000000 00:00 0 ", all.start, all.end);
    size_t used = b->len - start;
    pb_printf(b, "%*s[rollup]\n", used < MAPS_NAME_COL ? (int)(MAPS_NAME_COL - used) + 1 : 1, "");
    smaps_values(b, &sum, locked, true);
    return 0;
}

/* ---- /proc/PID/status, stat, statm, cmdline, comm ---- */

/* Where the program image lies, for stat's code and data fields: the executable image area
 * and the highest image area (Linux's start_code/end_code and start_data/end_data, to the
 * page). */
struct image_bounds {
    gva_t start_code, end_code; /* the executable program-image area */
    gva_t start_data, end_data; /* the highest program-image area */
};

static void image_bounds(const struct mm *mm, struct image_bounds *ib)
{
    *ib = (struct image_bounds){0};
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        if (v->kind != VMA_IMAGE)
            continue;
        if ((v->prot & VM_EXEC) && ib->start_code == 0) {
            ib->start_code = v->start;
            ib->end_code = v->end;
        }
        ib->start_data = v->start;
        ib->end_data = v->end;
    }
}

/* Signal masks of a process as status and stat show them. */
struct sig_masks {
    uint64_t blocked; /* SigBlk */
    uint64_t ignored; /* SigIgn: handler SIG_IGN */
    uint64_t caught;  /* SigCgt: a handler of the guest's */
};

static void sig_masks(const struct proc *t, struct sig_masks *m)
{
    m->blocked = t->sigmask;
    m->ignored = m->caught = 0;
    for (int i = 0; i < PROC_NSIG; i++) {
        if (t->sigact[i].handler == 1)
            m->ignored |= 1ULL << i;
        else if (t->sigact[i].handler > 1)
            m->caught |= 1ULL << i;
    }
}

static void status_kb(struct pbuf *b, const char *label, uint64_t pages)
{
    pb_printf(b, "%s\t%8" PRIu64 " kB\n", label, pages * KB_PER_PAGE);
}

static int render_status(struct pbuf *b, struct proc *t)
{
    struct mm_usage u;
    struct sig_masks sm;
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    mode_t mask = umask(0);

    umask(mask);
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    mm_usage(t->mm, &u);
    sig_masks(t, &sm);

    pb_printf(b, "Name:\t%s\nUmask:\t%04o\nState:\tR (running)\n", t->comm, (unsigned)mask);
    pb_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", t->pid, t->pid,
              t->ppid);
    pb_printf(b, "Uid:\t%u\t%u\t%u\t%u\n", ruid, euid, suid, euid);
    pb_printf(b, "Gid:\t%u\t%u\t%u\t%u\n", rgid, egid, sgid, egid);
    pb_printf(b, "FDSize:\t64\nGroups:\t");
    gid_t groups[64];
    int ng = getgroups((int)ARRAY_LEN(groups), groups);
    for (int i = 0; i < ng; i++)
        pb_printf(b, "%s%u", i ? " " : "", groups[i]);
    pb_printf(b, " \nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", t->pid, t->pid, t->pid,
              t->pid);
    status_kb(b, "VmPeak:", u.peak_vm);
    status_kb(b, "VmSize:", u.vm);
    status_kb(b, "VmLck:", u.locked_vm);
    status_kb(b, "VmPin:", 0);
    status_kb(b, "VmHWM:", u.peak_rss);
    status_kb(b, "VmRSS:", u.rss);
    status_kb(b, "RssAnon:", u.rss_anon);
    status_kb(b, "RssFile:", u.rss_file);
    status_kb(b, "RssShmem:", u.rss_shmem);
    status_kb(b, "VmData:", u.data);
    status_kb(b, "VmStk:", u.stack);
    status_kb(b, "VmExe:", u.exe);
    status_kb(b, "VmLib:", u.lib);
    status_kb(b, "VmPTE:", u.pt_pages);
    status_kb(b, "VmSwap:", u.swap);
    status_kb(b, "HugetlbPages:", 0);
    pb_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t1\n");
    pb_printf(b, "SigQ:\t0/%" PRIu64 "\n", t->rlim[RLIMIT_SIGPENDING].cur);
    pb_printf(b, "SigPnd:\t%016x\nShdPnd:\t%016x\n", 0, 0);
    pb_printf(b, "SigBlk:\t%016" PRIx64 "\nSigIgn:\t%016" PRIx64 "\nSigCgt:\t%016" PRIx64 "\n",
              sm.blocked, sm.ignored, sm.caught);
    uint64_t caps = euid == 0 ? 0x1ffffffffffULL : 0;
    pb_printf(b, "CapInh:\t%016x\nCapPrm:\t%016" PRIx64 "\nCapEff:\t%016" PRIx64 "\n", 0, caps,
              caps);
    pb_printf(b, "CapBnd:\t%016" PRIx64 "\nCapAmb:\t%016x\n", (uint64_t)0x1ffffffffffULL, 0);
    pb_printf(b, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    pb_printf(b, "Speculation_Store_Bypass:\tvulnerable\n");
    pb_printf(b, "SpeculationIndirectBranch:\talways enabled\n");
    pb_printf(b, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
    pb_printf(b, "Mems_allowed:\t00000001\nMems_allowed_list:\t0\n");
    pb_printf(b, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
    return 0;
}

static int render_stat(struct pbuf *b, struct proc *t)
{
    const struct fault_stats *f = &t->mm->stats.faults;
    struct mm_usage u;
    struct image_bounds ib;
    struct sig_masks sm;

    mm_usage(t->mm, &u);
    image_bounds(t->mm, &ib);
    sig_masks(t, &sm);
    /* Fields 1-13: identity, state, flags (no PF_RANDOMIZE: vmemu lays memory out as
     * Linux does with randomisation off) and faults. */
    pb_printf(b, "%d (%s) R %d %d %d 0 -1 0 %" PRIu64 " 0 %" PRIu64 " 0 ", t->pid, t->comm, t->ppid,
              t->pid, t->pid, f->minor, f->major);
    /* 14-22: times in clock ticks, priority, nice, threads, itrealvalue, starttime. */
    pb_printf(b, "%" PRIu64 " 0 0 0 20 0 1 0 %" PRIu64 " ", t->cpu_ns / CLOCK_TICKS_NS,
              t->start_ns / CLOCK_TICKS_NS);
    /* 23-28: vsize (bytes), rss (pages), rsslim, start_code, end_code, start_stack. */
    pb_printf(b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 ",
              u.vm << PAGE_SHIFT, u.rss, t->rlim[RLIMIT_RSS].cur, ib.start_code, ib.end_code);
    /* 29-44: kstkesp, kstkeip, signals (low 31 bits, as Linux), wchan, nswap, cnswap,
     * exit_signal SIGCHLD, processor, rt_priority, policy, blkio ticks, guest times. */
    pb_printf(b, "0 0 0 %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 0 0 17 0 0 0 0 0 0 ",
              sm.blocked & 0x7fffffff, sm.ignored & 0x7fffffff, sm.caught & 0x7fffffff);
    /* 45-52: data, brk, argument and environment bounds, exit code. */
    pb_printf(b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " 0 0 0 0 0\n", ib.start_data, ib.end_data,
              t->mm->start_brk);
    return 0;
}

static int render_statm(struct pbuf *b, struct proc *t)
{
    struct mm_usage u;
    mm_usage(t->mm, &u);
    /* size resident shared text lib data dt (Linux's task_statm; lib and dt are 0). */
    pb_printf(b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 %" PRIu64 " 0\n", u.vm, u.rss,
              u.rss_file + u.rss_shmem, u.exe, u.data + u.stack);
    return 0;
}

static int render_cmdline(struct pbuf *b, struct proc *t)
{
    for (size_t i = 0; t->argv && t->argv[i]; i++)
        pb_put(b, t->argv[i], strlen(t->argv[i]) + 1);
    return 0;
}

static int render_comm(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%s\n", t->comm);
    return 0;
}

/* ---- /proc/meminfo ---- */

/* What the frame pool holds, from the frame descriptors. */
struct pool_usage {
    uint64_t cached;    /* page-cache frames (files and shmem) */
    uint64_t shmem;     /* page-cache frames of shared anonymous memory */
    uint64_t dirty;     /* page-cache frames newer than their file */
    uint64_t mapped;    /* page-cache frames some PTE maps */
    uint64_t anon;      /* other frames in use: anonymous memory */
    uint64_t pagetable; /* page-table frames */
};

static void pool_usage(const struct phys *ph, struct pool_usage *pu)
{
    *pu = (struct pool_usage){0};
    for (pfn_t pfn = 1; pfn < ph->next_fresh && pfn < ph->nframes; pfn++) {
        const struct frame *fr = phys_frame(ph, pfn);
        if (fr->refcount == 0 || pfn == ph->zero_pfn)
            continue;
        if (fr->flags & FRAME_PAGETABLE) {
            pu->pagetable++;
        } else if (fr->flags & FRAME_PAGECACHE) {
            const struct vfile *file = fr->owner;
            pu->cached++;
            pu->shmem += file && file->shmem;
            pu->dirty += (fr->flags & FRAME_DIRTY) != 0;
            pu->mapped += fr->rmap != NULL;
        } else {
            pu->anon++;
        }
    }
}

static void meminfo_kb(struct pbuf *b, const char *label, uint64_t kb)
{
    pb_printf(b, "%-16s%8" PRIu64 " kB\n", label, kb);
}

static int render_meminfo(struct pbuf *b, struct proc *t)
{
    const struct phys *ph = &t->sys->phys;
    struct pool_usage pu;
    struct mm_usage u;
    const uint64_t k = KB_PER_PAGE;

    pool_usage(ph, &pu);
    mm_usage(t->mm, &u);
    uint64_t total = ph->nframes, free = phys_free_frames(ph);
    uint64_t file = pu.cached - pu.shmem;
    meminfo_kb(b, "MemTotal:", total * k);
    meminfo_kb(b, "MemFree:", free * k);
    meminfo_kb(b, "MemAvailable:", (free + file) * k);
    meminfo_kb(b, "Buffers:", 0);
    meminfo_kb(b, "Cached:", pu.cached * k);
    meminfo_kb(b, "SwapCached:", 0);
    meminfo_kb(b, "Active:", (pu.anon + pu.cached) * k);
    meminfo_kb(b, "Inactive:", 0);
    meminfo_kb(b, "Active(anon):", (pu.anon + pu.shmem) * k);
    meminfo_kb(b, "Inactive(anon):", 0);
    meminfo_kb(b, "Active(file):", file * k);
    meminfo_kb(b, "Inactive(file):", 0);
    meminfo_kb(b, "Unevictable:", 0);
    meminfo_kb(b, "Mlocked:", u.locked_vm * k);
    meminfo_kb(b, "SwapTotal:", 0);
    meminfo_kb(b, "SwapFree:", 0);
    meminfo_kb(b, "Zswap:", 0);
    meminfo_kb(b, "Zswapped:", 0);
    meminfo_kb(b, "Dirty:", pu.dirty * k);
    meminfo_kb(b, "Writeback:", 0);
    meminfo_kb(b, "AnonPages:", pu.anon * k);
    meminfo_kb(b, "Mapped:", pu.mapped * k);
    meminfo_kb(b, "Shmem:", pu.shmem * k);
    meminfo_kb(b, "KReclaimable:", 0);
    meminfo_kb(b, "Slab:", 0);
    meminfo_kb(b, "SReclaimable:", 0);
    meminfo_kb(b, "SUnreclaim:", 0);
    meminfo_kb(b, "KernelStack:", 0);
    meminfo_kb(b, "PageTables:", pu.pagetable * k);
    meminfo_kb(b, "SecPageTables:", 0);
    meminfo_kb(b, "NFS_Unstable:", 0);
    meminfo_kb(b, "Bounce:", 0);
    meminfo_kb(b, "WritebackTmp:", 0);
    /* No swap: overcommit's limit is half the memory (vm.overcommit_ratio 50). */
    meminfo_kb(b, "CommitLimit:", total / 2 * k);
    meminfo_kb(b, "Committed_AS:", (u.data + u.stack) * k);
    meminfo_kb(b, "VmallocTotal:", 34359738367ULL);
    meminfo_kb(b, "VmallocUsed:", 0);
    meminfo_kb(b, "VmallocChunk:", 0);
    meminfo_kb(b, "Percpu:", 0);
    meminfo_kb(b, "HardwareCorrupted:", 0);
    meminfo_kb(b, "AnonHugePages:", 0);
    meminfo_kb(b, "ShmemHugePages:", 0);
    meminfo_kb(b, "ShmemPmdMapped:", 0);
    meminfo_kb(b, "FileHugePages:", 0);
    meminfo_kb(b, "FilePmdMapped:", 0);
    pb_printf(b, "HugePages_Total:   %5d\nHugePages_Free:    %5d\n", 0, 0);
    pb_printf(b, "HugePages_Rsvd:    %5d\nHugePages_Surp:    %5d\n", 0, 0);
    meminfo_kb(b, "Hugepagesize:", 2048);
    meminfo_kb(b, "Hugetlb:", 0);
    meminfo_kb(b, "DirectMap4k:", total * k);
    meminfo_kb(b, "DirectMap2M:", 0);
    meminfo_kb(b, "DirectMap1G:", 0);
    return 0;
}

/* ---- /proc/cpuinfo ---- */

/* The CPUID answers vmemu's CPU (Unicorn's Haswell model, src/cpu.c) gives a guest, as a
 * static program executing CPUID under vmemu printed them. */
#define CPU_LEAF0_MAX     13         /* leaf 0 EAX: highest basic leaf */
#define CPU_LEAF1_EAX     0x000306c4 /* family 6, model 0x3c, stepping 4 */
#define CPU_LEAF1_ECX     0xc6d82203
#define CPU_LEAF1_EDX     0x078bfbfd
#define CPU_LEAF6_EAX     0x00000004
#define CPU_LEAF7_EBX     0x00000389
#define CPU_LEAFD1_EAX    0x00000001
#define CPU_EXT1_ECX      0x00000021
#define CPU_EXT1_EDX      0x28100800
#define CPU_EXT8_EAX      0x00003028 /* 40 physical, 48 virtual address bits */
#define CPU_BRAND         "Intel Core Processor (Haswell)"
#define CPU_VENDOR        "GenuineIntel"
#define CPU_CACHE_KB      4096 /* the largest cache of leaf 4 (L2: 16 ways x 64 B x 4096) */
#define CPU_CLFLUSH_BYTES 64   /* leaf 1 EBX bits 15..8, times 8 */

/* Linux's /proc/cpuinfo names of the feature bits of one CPUID register, by bit; bits
 * without a name (or with a name Linux hides) are not shown. */
struct cpu_flag_word {
    uint32_t value;           /* the register as the guest sees it */
    const char *const *names; /* names[bit] or NULL */
};

static const char *const flags_1_edx[32] = {
    [0] = "fpu",      [1] = "vme",  [2] = "de",    [3] = "pse",  [4] = "tsc",    [5] = "msr",
    [6] = "pae",      [7] = "mce",  [8] = "cx8",   [9] = "apic", [11] = "sep",   [12] = "mtrr",
    [13] = "pge",     [14] = "mca", [15] = "cmov", [16] = "pat", [17] = "pse36", [18] = "pn",
    [19] = "clflush", [21] = "dts", [22] = "acpi", [23] = "mmx", [24] = "fxsr",  [25] = "sse",
    [26] = "sse2",    [27] = "ss",  [28] = "ht",   [29] = "tm",  [30] = "ia64",  [31] = "pbe",
};
static const char *const flags_ext1_edx[32] = {
    [11] = "syscall", [19] = "mp",     [20] = "nx", [22] = "mmxext",   [25] = "fxsr_opt",
    [26] = "pdpe1gb", [27] = "rdtscp", [29] = "lm", [30] = "3dnowext", [31] = "3dnow",
};
static const char *const flags_1_ecx[32] = {
    [0] = "pni",     [1] = "pclmulqdq",   [2] = "dtes64",  [3] = "monitor",
    [4] = "ds_cpl",  [5] = "vmx",         [6] = "smx",     [7] = "est",
    [8] = "tm2",     [9] = "ssse3",       [10] = "cid",    [11] = "sdbg",
    [12] = "fma",    [13] = "cx16",       [14] = "xtpr",   [15] = "pdcm",
    [17] = "pcid",   [18] = "dca",        [19] = "sse4_1", [20] = "sse4_2",
    [21] = "x2apic", [22] = "movbe",      [23] = "popcnt", [24] = "tsc_deadline_timer",
    [25] = "aes",    [26] = "xsave",      [28] = "avx",    [29] = "f16c",
    [30] = "rdrand", [31] = "hypervisor",
};
static const char *const flags_ext1_ecx[32] = {
    [0] = "lahf_lm",       [1] = "cmp_legacy",  [2] = "svm",    [3] = "extapic",
    [4] = "cr8_legacy",    [5] = "abm",         [6] = "sse4a",  [7] = "misalignsse",
    [8] = "3dnowprefetch", [9] = "osvw",        [10] = "ibs",   [11] = "xop",
    [12] = "skinit",       [13] = "wdt",        [15] = "lwp",   [16] = "fma4",
    [17] = "tce",          [19] = "nodeid_msr", [21] = "tbm",   [22] = "topoext",
    [23] = "perfctr_core", [24] = "perfctr_nb", [26] = "bpext", [27] = "ptsc",
    [28] = "perfctr_llc",  [29] = "mwaitx",
};
/* fsgsbase (bit 0) is left out: vmemu does not enable it (no HWCAP2_FSGSBASE, rdfsbase
 * raises #UD), and Linux shows the flag only when the kernel enabled it. */
static const char *const flags_7_ebx[32] = {
    [1] = "tsc_adjust", [2] = "sgx",       [3] = "bmi1",        [4] = "hle",
    [5] = "avx2",       [7] = "smep",      [8] = "bmi2",        [9] = "erms",
    [10] = "invpcid",   [11] = "rtm",      [12] = "cqm",        [14] = "mpx",
    [15] = "rdt_a",     [16] = "avx512f",  [17] = "avx512dq",   [18] = "rdseed",
    [19] = "adx",       [20] = "smap",     [21] = "avx512ifma", [23] = "clflushopt",
    [24] = "clwb",      [25] = "intel_pt", [26] = "avx512pf",   [27] = "avx512er",
    [28] = "avx512cd",  [29] = "sha_ni",   [30] = "avx512bw",   [31] = "avx512vl",
};
static const char *const flags_d1_eax[32] = {
    [0] = "xsaveopt",
    [1] = "xsavec",
    [2] = "xgetbv1",
    [3] = "xsaves",
};
static const char *const flags_6_eax[32] = {
    [0] = "dtherm", [1] = "ida", [2] = "arat", [4] = "pln", [6] = "pts", [7] = "hwp",
};

/* In Linux's order of feature words (0, 1, 4, 6, 9, 10, 14). */
static const struct cpu_flag_word cpu_flag_words[] = {
    {CPU_LEAF1_EDX, flags_1_edx},   {CPU_EXT1_EDX, flags_ext1_edx}, {CPU_LEAF1_ECX, flags_1_ecx},
    {CPU_EXT1_ECX, flags_ext1_ecx}, {CPU_LEAF7_EBX, flags_7_ebx},   {CPU_LEAFD1_EAX, flags_d1_eax},
    {CPU_LEAF6_EAX, flags_6_eax},
};

static int render_cpuinfo(struct pbuf *b, struct proc *t)
{
    uint32_t eax = CPU_LEAF1_EAX;
    unsigned family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf, stepping = eax & 0xf;
    (void)t;

    if (family == 0xf)
        family += (eax >> 20) & 0xff;
    if (family >= 6)
        model |= ((eax >> 16) & 0xf) << 4;
    pb_printf(b, "processor\t: 0\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n", CPU_VENDOR,
              family, model);
    pb_printf(b, "model name\t: %s\nstepping\t: %u\nmicrocode\t: 0x1\n", CPU_BRAND, stepping);
    pb_printf(b, "cpu MHz\t\t: 2400.000\ncache size\t: %d KB\n", CPU_CACHE_KB);
    pb_printf(b, "physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\n");
    pb_printf(b, "apicid\t\t: 0\ninitial apicid\t: 0\nfpu\t\t: yes\nfpu_exception\t: yes\n");
    pb_printf(b, "cpuid level\t: %d\nwp\t\t: yes\nflags\t\t:", CPU_LEAF0_MAX);
    for (size_t w = 0; w < ARRAY_LEN(cpu_flag_words); w++)
        for (unsigned bit = 0; bit < 32; bit++)
            if ((cpu_flag_words[w].value >> bit & 1) && cpu_flag_words[w].names[bit])
                pb_printf(b, " %s", cpu_flag_words[w].names[bit]);
    pb_printf(b, "\nbugs\t\t:\nbogomips\t: 4800.00\n");
    pb_printf(b, "clflush size\t: %d\ncache_alignment\t: %d\n", CPU_CLFLUSH_BYTES,
              CPU_CLFLUSH_BYTES);
    pb_printf(b, "address sizes\t: %u bits physical, %u bits virtual\n", CPU_EXT8_EAX & 0xff,
              (CPU_EXT8_EAX >> 8) & 0xff);
    pb_printf(b, "power management:\n\n");
    return 0;
}

/* ---- path lookup ---- */

typedef int (*procfs_render)(struct pbuf *b, struct proc *t);

/* A file of /proc/PID that vmemu makes up. */
struct procfs_entry {
    const char *name;     /* file name under /proc/PID */
    procfs_render render; /* writes its text */
};

static const struct procfs_entry pid_entries[] = {
    {"maps", render_maps},       {"smaps", render_smaps}, {"smaps_rollup", render_smaps_rollup},
    {"status", render_status},   {"stat", render_stat},   {"statm", render_statm},
    {"cmdline", render_cmdline}, {"comm", render_comm},
};

/* Other entries a Linux /proc/PID has, between bars: they exist, so they go to the host. */
static const char pid_host_entries[] =
    "|arch_status|attr|autogroup|auxv|cgroup|clear_refs|coredump_filter|cpu_resctrl_groups|"
    "cpuset|cwd|environ|fd|fdinfo|gid_map|io|ksm_merging_pages|ksm_stat|latency|limits|"
    "loginuid|map_files|mem|mountinfo|mounts|mountstats|net|ns|numa_maps|oom_adj|oom_score|"
    "oom_score_adj|pagemap|patch_state|personality|projid_map|root|sched|schedstat|sessionid|"
    "setgroups|stack|syscall|task|timens_offsets|timers|timerslack_ns|uid_map|wchan|";

static const struct procfs_entry sys_entries[] = {
    {"/proc/meminfo", render_meminfo},
    {"/proc/cpuinfo", render_cpuinfo},
};

/* The vmemu process whose directory is /proc/<pid>, seen from p, or NULL. vmemu runs one
 * process for now, so only p itself is found; a process table replaces this lookup. */
static struct proc *procfs_find_task(struct proc *p, long pid)
{
    return pid == p->pid ? p : NULL;
}

static int render_to_fd(procfs_render render, struct proc *t, int flags)
{
    struct pbuf b = {0};
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    if (flags & O_DIRECTORY)
        return -ENOTDIR;
    int rc = render(&b, t);
    if (rc < 0) {
        free(b.data);
        return rc;
    }
    return pb_to_fd(&b);
}

/* /proc/PID/exe: the program itself, opened read-only. */
static int open_exe(struct proc *t, int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    if (!t->exe)
        return -ENOENT;
    int fd = open(t->exe, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Length of the first component of rest (up to '/' or the end). */
static size_t component_len(const char *rest)
{
    const char *slash = strchr(rest, '/');
    return slash ? (size_t)(slash - rest) : strlen(rest);
}

/* An entry under /proc/PID of process t. rest is what follows "/proc/PID/" ("" for the
 * directory itself); via_self says the guest named it through /proc/self, where the host
 * path means the same thing. */
static int open_pid_entry(struct proc *t, const char *rest, int flags, bool via_self)
{
    for (size_t i = 0; i < ARRAY_LEN(pid_entries); i++)
        if (strcmp(rest, pid_entries[i].name) == 0)
            return render_to_fd(pid_entries[i].render, t, flags);
    if (strcmp(rest, "exe") == 0)
        return open_exe(t, flags);

    size_t n = component_len(rest);
    char bar_name[64];
    if (n >= sizeof(bar_name) - 2)
        return -ENOENT;
    snprintf(bar_name, sizeof(bar_name), "|%.*s|", (int)n, rest);
    if (n > 0 && !strstr(pid_host_entries, bar_name))
        return -ENOENT;
    if (via_self)
        return PROCFS_PASS;
    /* The host's /proc/PID is another process: its /proc/self is vmemu's own. */
    char host[4096];
    if (snprintf(host, sizeof(host), "/proc/self/%s", rest) >= (int)sizeof(host))
        return -ENAMETOOLONG;
    int fd = open(host, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Opens the synthesized file named by path with open flags `flags`. Returns a host
 * descriptor holding a snapshot of the file taken now (readable, seekable, cloexec);
 * PROCFS_PASS when path is not one vmemu makes up; -ENOENT for a missing entry (a pid that
 * is not a vmemu process, an unknown file under /proc/PID); -EACCES when opened for
 * writing; other -errno from the host. */
int procfs_open(struct proc *p, const char *path, int flags)
{
    static const char *const self_dirs[] = {"/proc/self", "/proc/thread-self"};

    if (strncmp(path, "/proc/", 6) != 0)
        return PROCFS_PASS;
    for (size_t i = 0; i < ARRAY_LEN(sys_entries); i++)
        if (strcmp(path, sys_entries[i].name) == 0)
            return render_to_fd(sys_entries[i].render, p, flags);
    for (size_t i = 0; i < ARRAY_LEN(self_dirs); i++) {
        size_t n = strlen(self_dirs[i]);
        if (strncmp(path, self_dirs[i], n) == 0 && path[n] == '/')
            return open_pid_entry(p, path + n + 1, flags, true);
    }

    const char *s = path + 6;
    long pid = 0;
    if (*s < '1' || *s > '9')
        return PROCFS_PASS;
    for (; *s >= '0' && *s <= '9'; s++) {
        pid = pid * 10 + (*s - '0');
        if (pid > 0x3fffffff)
            return -ENOENT;
    }
    if (*s != '/' && *s != '\0')
        return PROCFS_PASS;
    struct proc *t = procfs_find_task(p, pid);
    if (!t)
        return -ENOENT;
    return open_pid_entry(t, *s ? s + 1 : s, flags, false);
}
