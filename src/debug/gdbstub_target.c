/* The gdb stub's view of the machine: the amd64 target description (core, SSE, Linux's
 * orig_rax, fs_base/gs_base), the register block of the g/G/p/P packets built from the
 * CPU's registers and its FXSAVE image, and the monitor commands (maps, pte ADDR, stats)
 * that show vmemu's own memory structures. Called by src/debug/gdbstub.c only. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub_int.h"
#include "vmemu/cpu.h"
#include "vmemu/pagetable.h"
#include "vmemu/proc.h"
#include "vmemu/maps_table.h"
#include "vmemu/vma.h"

/* gdb's features org.gnu.gdb.i386.{core,sse,linux,segments} (its 64bit-*.xml files),
 * inline: registers are numbered in the order they appear, 0 to 59. */
const char gdbstub_target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<osabi>GNU/Linux</osabi>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">\n"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>\n"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>\n"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>\n"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
    "<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
    "</flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
    "<union id=\"vec128\">\n"
    "<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>\n"
    "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>\n"
    "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>\n"
    "<field name=\"uint128\" type=\"uint128\"/>\n"
    "</union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">\n"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>\n"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>\n"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.linux\">\n"
    "<reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "</target>\n";

/* Register numbers of the description's groups. */
enum {
    GR_RIP = 16,
    GR_EFLAGS = 17,
    GR_CS = 18,    /* cs ss ds es fs gs: 18-23 */
    GR_ST0 = 24,   /* st0-st7: 24-31 */
    GR_FCTRL = 32, /* fctrl fstat ftag fiseg fioff foseg fooff fop: 32-39 */
    GR_XMM0 = 40,  /* xmm0-xmm15: 40-55 */
    GR_MXCSR = 56,
    GR_ORIG_RAX = 57,
    GR_FS_BASE = 58,
    GR_GS_BASE = 59,
};

/* FXSAVE offsets (Intel SDM vol. 1, 10.5.1) of the x87 control registers, in gdb's order
 * fctrl fstat ftag fiseg fioff foseg fooff fop, and their widths. */
static const size_t fx_ctrl_off[8] = {0, 2, 4, 12, 8, 20, 16, 6};
static const size_t fx_ctrl_len[8] = {2, 2, 1, 2, 4, 2, 4, 2};
#define FX_MXCSR 24
#define FX_ST0   32
#define FX_XMM0  160

/* Size and offset of register n in the g block. */
bool gdbstub_reg_slot(int n, size_t *off, size_t *size)
{
    static const size_t sizes[8] = {8, 4, 4, 10, 4, 16, 4, 8};
    static const int first[9] = {0,       GR_EFLAGS, GR_CS,       GR_ST0,   GR_FCTRL,
                                 GR_XMM0, GR_MXCSR,  GR_ORIG_RAX, GDB_NREGS};
    if (n < 0 || n >= GDB_NREGS)
        return false;
    size_t o = 0;
    for (int g = 0; g < 8; g++) {
        int lo = first[g], hi = first[g + 1];
        if (n < hi) {
            *off = o + (size_t)(n - lo) * sizes[g];
            *size = sizes[g];
            return true;
        }
        o += (size_t)(hi - lo) * sizes[g];
    }
    return false;
}

static void put_le(uint8_t *dst, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *src, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)src[i] << (8 * i);
    return v;
}

/* The CPU register behind g-layout registers 0-23 and 58-59, or -1. */
static int cpu_reg_of(int n)
{
    static const enum cpu_reg segs[6] = {CPU_CS, CPU_SS, CPU_DS, CPU_ES, CPU_FS, CPU_GS};
    if (n < GR_RIP)
        return n; /* rax..r15 are in the same order in enum cpu_reg */
    if (n == GR_RIP)
        return CPU_RIP;
    if (n == GR_EFLAGS)
        return CPU_RFLAGS;
    if (n >= GR_CS && n < GR_ST0)
        return (int)segs[n - GR_CS];
    if (n == GR_FS_BASE)
        return CPU_FS_BASE;
    if (n == GR_GS_BASE)
        return CPU_GS_BASE;
    return -1;
}

/* p's registers in the g layout. The x87 tag word is rebuilt from FXSAVE's abridged one
 * (a register in use is reported valid). */
void gdbstub_regs_read(struct proc *p, uint8_t out[GDB_REGS_BYTES])
{
    uint8_t fx[CPU_FXSAVE_SIZE];
    size_t off, size;
    cpu_get_fxsave(p->cpu, fx);
    memset(out, 0, GDB_REGS_BYTES);
    for (int n = 0; n < GDB_NREGS; n++) {
        gdbstub_reg_slot(n, &off, &size);
        int r = cpu_reg_of(n);
        if (r >= 0) {
            put_le(out + off, cpu_get(p->cpu, (enum cpu_reg)r), size);
        } else if (n >= GR_ST0 && n < GR_FCTRL) {
            memcpy(out + off, fx + FX_ST0 + 16 * (n - GR_ST0), 10);
        } else if (n >= GR_FCTRL && n < GR_XMM0) {
            int i = n - GR_FCTRL;
            uint64_t v = get_le(fx + fx_ctrl_off[i], fx_ctrl_len[i]);
            if (n == GR_FCTRL + 2) { /* ftag: 2 bits per register, 11b = empty */
                uint64_t full = 0;
                for (int k = 0; k < 8; k++)
                    if (!(v & (1u << k)))
                        full |= 3ull << (2 * k);
                v = full;
            }
            put_le(out + off, v, size);
        } else if (n >= GR_XMM0 && n < GR_MXCSR) {
            memcpy(out + off, fx + FX_XMM0 + 16 * (n - GR_XMM0), 16);
        } else if (n == GR_MXCSR) {
            memcpy(out + off, fx + FX_MXCSR, 4);
        } else if (n == GR_ORIG_RAX) {
            put_le(out + off, UINT64_MAX, 8); /* not stopped inside a syscall */
        }
    }
}

/* A thread's saved registers in the g layout (see gdbstub_int.h). */
void gdbstub_regs_read_saved(const struct proc *t, uint8_t out[GDB_REGS_BYTES])
{
    size_t off, size;
    memset(out, 0, GDB_REGS_BYTES);
    for (int n = 0; n < GDB_NREGS; n++) {
        gdbstub_reg_slot(n, &off, &size);
        int r = cpu_reg_of(n);
        if (r >= 0)
            put_le(out + off, cpu_context_get(t->ctx, (enum cpu_reg)r), size);
        else if (n == GR_ORIG_RAX)
            put_le(out + off, UINT64_MAX, 8);
    }
}

/* Loads a g-layout block. Segment selectors are left as they are (64-bit mode has one
 * flat code and data segment); orig_rax is ignored. */
void gdbstub_regs_write(struct proc *p, const uint8_t in[GDB_REGS_BYTES])
{
    uint8_t fx[CPU_FXSAVE_SIZE];
    size_t off, size;
    cpu_get_fxsave(p->cpu, fx);
    for (int n = 0; n < GDB_NREGS; n++) {
        gdbstub_reg_slot(n, &off, &size);
        int r = cpu_reg_of(n);
        if (r >= 0) {
            if (n < GR_CS || n >= GR_ST0)
                cpu_set(p->cpu, (enum cpu_reg)r, get_le(in + off, size));
        } else if (n >= GR_ST0 && n < GR_FCTRL) {
            memcpy(fx + FX_ST0 + 16 * (n - GR_ST0), in + off, 10);
        } else if (n >= GR_FCTRL && n < GR_XMM0) {
            int i = n - GR_FCTRL;
            uint64_t v = get_le(in + off, 4);
            if (n == GR_FCTRL + 2) {
                uint64_t abridged = 0;
                for (int k = 0; k < 8; k++)
                    if (((v >> (2 * k)) & 3) != 3)
                        abridged |= 1u << k;
                v = abridged;
            }
            put_le(fx + fx_ctrl_off[i], v, fx_ctrl_len[i]);
        } else if (n >= GR_XMM0 && n < GR_MXCSR) {
            memcpy(fx + FX_XMM0 + 16 * (n - GR_XMM0), in + off, 16);
        } else if (n == GR_MXCSR) {
            memcpy(fx + FX_MXCSR, in + off, 4);
        }
    }
    cpu_set_fxsave(p->cpu, fx);
}

/* `monitor pte ADDR`: the four levels of the walk for ADDR and what the leaf says. */
static int monitor_pte(struct proc *p, const char *arg, FILE *out)
{
    static const char *const names[4] = {"PML4E", "PDPTE", "PDE", "PTE"};
    char *end;
    errno = 0;
    gva_t va = strtoull(arg, &end, 0);
    if (errno || end == arg || *end) {
        fprintf(out, "usage: monitor pte ADDR (an address such as 0x401000)\n");
        return -EINVAL;
    }
    pte_t lv[4];
    int n = pt_walk_levels(&p->mm->pt, &p->sys->phys, va, lv);
    fprintf(out, "pte 0x%" PRIx64 " (page 0x%" PRIx64 "):\n", va, (uint64_t)PAGE_DOWN(va));
    for (int i = 0; i < 4; i++) {
        if (i < n)
            fprintf(out, "  %-5s 0x%016" PRIx64 "\n", names[i], lv[i]);
        else
            fprintf(out, "  %-5s (no table)\n", names[i]);
    }
    pte_t pte = n == 4 ? lv[3] : 0;
    if (pte_present(pte)) {
        fprintf(out, "  present: frame 0x%" PRIx64 "%s%s%s%s%s%s\n", (uint64_t)pte_pfn(pte),
                (pte & PTE_RW) ? " writable" : " read-only", (pte & PTE_US) ? " user" : "",
                (pte & PTE_A) ? " accessed" : "", (pte & PTE_D) ? " dirty" : "",
                (pte & PTE_COW) ? " cow" : "", (pte & PTE_NX) ? " nx" : " exec");
    } else if (pte_is_swap(pte)) {
        fprintf(out, "  swapped out: slot %" PRIu64 "\n", (uint64_t)pte_swap_slot(pte));
    } else {
        fprintf(out, "  not present (never touched, or dropped)\n");
    }
    const struct vma *v = vma_lookup(&p->mm->vmas, va);
    if (v)
        fprintf(out, "  area 0x%" PRIx64 "-0x%" PRIx64 " %c%c%c%c %s\n", v->start, v->end,
                (v->prot & VM_READ) ? 'r' : '-', (v->prot & VM_WRITE) ? 'w' : '-',
                (v->prot & VM_EXEC) ? 'x' : '-', (v->flags & VM_SHARED) ? 's' : 'p',
                vma_kind_name(v->kind));
    else
        fprintf(out, "  no area contains this address\n");
    return 0;
}

/* `monitor stats`: p's memory counters so far. */
static void monitor_stats(struct proc *p, FILE *out)
{
    struct proc_usage u = proc_usage_now(p);
    const struct fault_stats *f = &u.task.faults;
    fprintf(out, "pid %d (%s): %" PRIu64 " syscalls\n", p->pid, p->comm, u.syscalls);
    fprintf(out,
            "faults: minor %" PRIu64 " major %" PRIu64 " (zero page %" PRIu64 ", anon %" PRIu64
            ", file %" PRIu64 "+%" PRIu64 ", cow %" PRIu64 ", cow reuse %" PRIu64
            ", stack grow %" PRIu64 ")\n",
            f->minor, f->major, f->zero_page, f->anon, f->file_minor, f->file_major, f->cow,
            f->cow_reuse, f->stack_grow);
    fprintf(out,
            "resident: %" PRIu64 " pages (peak %" PRIu64 "), page tables: %" PRIu64
            " pages (peak %" PRIu64 ")\n",
            u.mm.rss, u.mm.peak_rss, p->mm ? p->mm->pt.table_pages : 0, u.mm.peak_pt_pages);
    const struct tlb *t = &p->sys->tlb;
    fprintf(out,
            "vmemu TLB (whole run): %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
            " fills by the CPU (this process)\n",
            t->hits, t->misses, u.task.fills);
}

/* Runs a monitor command. */
int gdbstub_monitor(struct proc *p, const char *cmd, FILE *out)
{
    while (*cmd == ' ')
        cmd++;
    if (!p->mm) {
        fprintf(out, "the process has no address space any more\n");
        return -EINVAL;
    }
    if (strcmp(cmd, "maps") == 0) {
        maps_print(out, p);
        return 0;
    }
    if (strncmp(cmd, "pte", 3) == 0 && (cmd[3] == ' ' || cmd[3] == 0))
        return monitor_pte(p, cmd + 3 + strspn(cmd + 3, " "), out);
    if (strcmp(cmd, "stats") == 0) {
        monitor_stats(p, out);
        return 0;
    }
    fprintf(out, "vmemu monitor commands:\n"
                 "  monitor maps       the areas of the address space (VMAs) with residency\n"
                 "  monitor pte ADDR   the page-table walk for ADDR and its PTE's bits\n"
                 "  monitor stats      fault, resident-set and TLB counters so far\n");
    return strcmp(cmd, "help") == 0 || *cmd == 0 ? 0 : -EINVAL;
}
