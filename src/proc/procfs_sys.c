/* The machine-wide files of /proc that vmemu renders, in Linux's formats: meminfo from
 * the frame pool (fs/proc/meminfo.c) and cpuinfo from the CPUID answers of the emulated
 * CPU (arch/x86/kernel/cpu/proc.c). */
#include <inttypes.h>

#include "procfs_int.h"
#include "vmemu/mm_stat.h"
#include "vmemu/phys.h"

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
        if (fr->flags & FRAME_HUGETLB) {
            continue; /* the hugetlb pool is not MemFree nor AnonPages (Hugetlb) */
        } else if (fr->flags & FRAME_PAGETABLE) {
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

int procfs_render_meminfo(struct pbuf *b, struct proc *t)
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
    meminfo_kb(b, "AnonHugePages:", t->sys->thp.resident * (HPAGE_SIZE >> 10));
    meminfo_kb(b, "ShmemHugePages:", 0);
    meminfo_kb(b, "ShmemPmdMapped:", 0);
    meminfo_kb(b, "FileHugePages:", 0);
    meminfo_kb(b, "FilePmdMapped:", 0);
    pb_printf(b, "HugePages_Total:   %5" PRIu64 "\nHugePages_Free:    %5" PRIu64 "\n",
              ph->hugetlb_total, ph->hugetlb_nfree);
    pb_printf(b, "HugePages_Rsvd:    %5" PRIu64 "\nHugePages_Surp:    %5d\n", ph->hugetlb_resv, 0);
    meminfo_kb(b, "Hugepagesize:", 2048);
    meminfo_kb(b, "Hugetlb:", ph->hugetlb_total * 2048);
    meminfo_kb(b, "DirectMap4k:", total * k);
    meminfo_kb(b, "DirectMap2M:", 0);
    meminfo_kb(b, "DirectMap1G:", 0);
    return 0;
}

/* ---- /proc/cpuinfo ---- */

/* The CPUID answers vmemu's CPU (Unicorn's Haswell model, src/cpu/cpu.c) gives a guest, as a
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

int procfs_render_cpuinfo(struct pbuf *b, struct proc *t)
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
