/* The files of /proc/PID that vmemu renders from a process's state, in Linux's formats
 * (fs/proc/task_mmu.c, array.c): maps, smaps and smaps_rollup from the areas and
 * mm_vma_usage(), status, stat and statm from the counters and the signal state, cmdline,
 * comm; and exe, the program itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs_int.h"
#include "vmemu/mm_stat.h"
#include "vmemu/thp.h"

#define PSS_SHIFT      12                 /* Linux's: Pss is counted in bytes << 12 */
#define MAPS_NAME_COL  72                 /* maps: names start after this column (25 + 6 * 8 - 1) */
#define CLOCK_TICKS_NS UINT64_C(10000000) /* USER_HZ = 100 */

/* ---- /proc/PID/maps, smaps, smaps_rollup ---- */

/* The name Linux shows for an area: the file's path, [heap], [stack], "/dev/zero (deleted)"
 * for shared anonymous memory ("/SYSV%08x (deleted)" for a System V segment: its vfile's
 * path), or NULL. path is scratch space for the file's path. */
static const char *maps_name(const struct vma *v, char *path, size_t n)
{
    if (v->file && v->file->shmem)
        return v->file->path ? v->file->path : "/dev/zero (deleted)";
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

int procfs_render_maps(struct pbuf *b, struct proc *t)
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
                         bool rollup, bool shared_hugetlb)
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
    smaps_kb(b, "AnonHugePages:", u->anon_huge * KB_PER_PAGE);
    smaps_kb(b, "ShmemPmdMapped:", 0);
    smaps_kb(b, "FilePmdMapped:", 0);
    smaps_kb(b, "Shared_Hugetlb:", shared_hugetlb ? u->hugetlb * KB_PER_PAGE : 0);
    pb_printf(b, "Private_Hugetlb: %7" PRIu64 " kB\n",
              shared_hugetlb ? 0 : u->hugetlb * KB_PER_PAGE);
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
    if (v->flags & VM_HUGETLB)
        pb_printf(b, "ht ");
    if (v->flags & VM_HUGEPAGE)
        pb_printf(b, "hg ");
    if (v->flags & VM_NOHUGEPAGE)
        pb_printf(b, "nh ");
    pb_printf(b, "\n");
}

int procfs_render_smaps(struct pbuf *b, struct proc *t)
{
    for (size_t i = 0; i < t->mm->vmas.n; i++) {
        const struct vma *v = &t->mm->vmas.v[i];
        struct vma_usage u;
        mm_vma_usage(t->mm, v, &u);
        maps_line(b, v);
        smaps_kb(b, "Size:", (v->end - v->start) >> 10);
        uint64_t pagesize = (v->flags & VM_HUGETLB) ? HPAGE_SIZE : PAGE_SIZE;
        smaps_kb(b, "KernelPageSize:", pagesize >> 10);
        smaps_kb(b, "MMUPageSize:", pagesize >> 10);
        smaps_values(b, &u, (v->flags & VM_LOCKED) ? u.pss_shifted : 0, false,
                     (v->flags & VM_SHARED) != 0);
        gva_t hstart = (v->start + HPAGE_SIZE - 1) & HPAGE_MASK;
        bool eligible = thp_vma_allowed(t->sys, v) && hstart + HPAGE_SIZE <= v->end;
        pb_printf(b, "%-16s%8d\n", "THPeligible:", eligible ? 1 : 0);
        smaps_vmflags(b, v);
    }
    return 0;
}

int procfs_render_smaps_rollup(struct pbuf *b, struct proc *t)
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
        sum.anon_huge += u.anon_huge;
        sum.hugetlb += u.hugetlb;
        if (l->v[i].flags & VM_LOCKED)
            locked += u.pss_shifted;
    }
    struct vma all = {.start = l->n ? l->v[0].start : 0, .end = l->n ? l->v[l->n - 1].end : 0};
    size_t start = b->len;
    pb_printf(b, "%08" PRIx64 "-%08" PRIx64 " ---p 00000000 00:00 0 ", all.start, all.end);
    size_t used = b->len - start;
    pb_printf(b, "%*s[rollup]\n", used < MAPS_NAME_COL ? (int)(MAPS_NAME_COL - used) + 1 : 1, "");
    smaps_values(b, &sum, locked, true, false);
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
        if (t->leader->sigact[i].handler == 1)
            m->ignored |= 1ULL << i;
        else if (t->leader->sigact[i].handler > 1)
            m->caught |= 1ULL << i;
    }
}

static void status_kb(struct pbuf *b, const char *label, uint64_t pages)
{
    pb_printf(b, "%s\t%8" PRIu64 " kB\n", label, pages * KB_PER_PAGE);
}

int procfs_render_status(struct pbuf *b, struct proc *t)
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
    pb_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", t->leader->pid,
              t->pid, t->leader->ppid);
    pb_printf(b, "Uid:\t%u\t%u\t%u\t%u\n", ruid, euid, suid, euid);
    pb_printf(b, "Gid:\t%u\t%u\t%u\t%u\n", rgid, egid, sgid, egid);
    pb_printf(b, "FDSize:\t64\nGroups:\t");
    gid_t groups[64];
    int ng = getgroups((int)ARRAY_LEN(groups), groups);
    for (int i = 0; i < ng; i++)
        pb_printf(b, "%s%u", i ? " " : "", groups[i]);
    pb_printf(b, " \nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", t->leader->pid, t->pid,
              t->leader->pgid, t->leader->sid);
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
    status_kb(b, "HugetlbPages:", u.hugetlb);
    pb_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t%u\n",
              t->leader->nr_threads ? t->leader->nr_threads : 1);
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

int procfs_render_stat(struct pbuf *b, struct proc *t)
{
    const struct fault_stats *f = &t->vmstat.faults;
    struct mm_usage u;
    struct image_bounds ib;
    struct sig_masks sm;

    mm_usage(t->mm, &u);
    image_bounds(t->mm, &ib);
    sig_masks(t, &sm);
    /* Fields 1-13: identity, state, flags (no PF_RANDOMIZE: vmemu lays memory out as
     * Linux does with randomisation off) and faults (execve's included, as Linux's). */
    pb_printf(b, "%d (%s) R %d %d %d 0 -1 0 %" PRIu64 " 0 %" PRIu64 " 0 ", t->pid, t->comm, t->ppid,
              t->pid, t->pid, f->minor + f->exec - f->exec_major, f->major + f->exec_major);
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

int procfs_render_statm(struct pbuf *b, struct proc *t)
{
    struct mm_usage u;
    mm_usage(t->mm, &u);
    /* size resident shared text lib data dt (Linux's task_statm; lib and dt are 0). */
    pb_printf(b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 %" PRIu64 " 0\n", u.vm, u.rss,
              u.rss_file + u.rss_shmem, u.exe, u.data + u.stack);
    return 0;
}

int procfs_render_cmdline(struct pbuf *b, struct proc *t)
{
    for (size_t i = 0; t->argv && t->argv[i]; i++)
        pb_put(b, t->argv[i], strlen(t->argv[i]) + 1);
    return 0;
}

int procfs_render_comm(struct pbuf *b, struct proc *t)
{
    pb_printf(b, "%s\n", t->comm);
    return 0;
}

/* /proc/PID/exe: the program itself, opened read-only. */
int procfs_open_exe(struct proc *t, int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    if (!t->exe)
        return -ENOENT;
    int fd = open(t->exe, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}
