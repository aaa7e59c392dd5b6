/* The crash report: what a debugger would say about a guest killed by a bad memory access
 * or a CPU exception (which signal, what access, which mapping or the nearest ones, the
 * file and ELF section of an address in the program image, the syscall that unmapped an
 * address used after munmap, the symbol and section at RIP, the instruction disassembled
 * with capstone, the registers and the VMA table).
 * crash_describe() works the facts out once; report_crash() prints them for proc_run(),
 * and src/report.c puts the same facts in the JSON "crash" object. The CPU reports only
 * the page of a bad data access; the byte and the size come from the instruction at RIP
 * (src/insn.c). Guest memory is only read with copy_from_user_nofault(), so a report
 * never changes the fault counts. */
#include "vmemu/report.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "vmemu/backtrace.h"
#include "vmemu/fault.h"
#include "vmemu/heapcheck.h"
#include "vmemu/insn.h"
#include "vmemu/symbols.h"
#include "vmemu/syscall_names.h"
#include "vmemu/uaccess.h"

#define X86_INT3        0xcc /* the breakpoint instruction */
#define LINUX_NR_MMAP   9    /* x86-64 syscall numbers of the removals explained */
#define LINUX_NR_MUNMAP 11
#define LINUX_NR_BRK    12
#define LINUX_NR_MREMAP 25
#define CRASH_DIS_SPAN  4096 /* furthest into a function its start is decoded from */

static const char *const signal_names[] = {
    [1] = "SIGHUP",     [2] = "SIGINT",   [3] = "SIGQUIT",   [4] = "SIGILL",   [5] = "SIGTRAP",
    [6] = "SIGABRT",    [7] = "SIGBUS",   [8] = "SIGFPE",    [9] = "SIGKILL",  [10] = "SIGUSR1",
    [11] = "SIGSEGV",   [12] = "SIGUSR2", [13] = "SIGPIPE",  [14] = "SIGALRM", [15] = "SIGTERM",
    [16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT",  [19] = "SIGSTOP", [20] = "SIGTSTP",
    [21] = "SIGTTIN",   [22] = "SIGTTOU", [23] = "SIGURG",   [24] = "SIGXCPU", [25] = "SIGXFSZ",
    [26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGIO",   [30] = "SIGPWR",
    [31] = "SIGSYS",
};

/* x86 exception vectors, for CPU_EXIT_EXCEPTION. */
static const char *const vector_names[] = {
    [0] = "#DE (divide error)",         [1] = "#DB (debug)",
    [3] = "#BP (breakpoint)",           [4] = "#OF (overflow)",
    [5] = "#BR (bound range)",          [6] = "#UD (invalid opcode)",
    [7] = "#NM (device not available)", [8] = "#DF (double fault)",
    [10] = "#TS (invalid TSS)",         [11] = "#NP (segment not present)",
    [12] = "#SS (stack segment fault)", [13] = "#GP (general protection)",
    [14] = "#PF (page fault)",          [16] = "#MF (x87 floating point)",
    [17] = "#AC (alignment check)",     [18] = "#MC (machine check)",
    [19] = "#XM (SIMD floating point)",
};

/* Registers of the crash report, in the order printed (all 16 GPRs, then rip, rflags,
 * fs_base). */
static const struct {
    enum cpu_reg reg; /* register to read */
    const char *name; /* its name in the report */
} crash_regs[] = {
    {CPU_RAX, "rax"}, {CPU_RBX, "rbx"},       {CPU_RCX, "rcx"},         {CPU_RDX, "rdx"},
    {CPU_RSI, "rsi"}, {CPU_RDI, "rdi"},       {CPU_RBP, "rbp"},         {CPU_RSP, "rsp"},
    {CPU_R8, "r8"},   {CPU_R9, "r9"},         {CPU_R10, "r10"},         {CPU_R11, "r11"},
    {CPU_R12, "r12"}, {CPU_R13, "r13"},       {CPU_R14, "r14"},         {CPU_R15, "r15"},
    {CPU_RIP, "rip"}, {CPU_RFLAGS, "rflags"}, {CPU_FS_BASE, "fs_base"},
};

/* "SIGSEGV" for 11; "real-time signal" for 32..64, "unknown signal" otherwise. */
const char *crash_signal_name(int signo)
{
    if (signo > 0 && (size_t)signo < ARRAY_LEN(signal_names) && signal_names[signo])
        return signal_names[signo];
    if (signo >= 32 && signo <= 64)
        return "real-time signal";
    return "unknown signal";
}

/* "read", "write" or "exec". */
const char *crash_access_name(enum access access)
{
    switch (access) {
    case ACCESS_WRITE:
        return "write";
    case ACCESS_EXEC:
        return "exec";
    default:
        return "read";
    }
}

/* The si_code name of (signo, code), or NULL. */
static const char *si_code_name(int signo, int code)
{
    if (code == LINUX_SI_KERNEL)
        return "SI_KERNEL";
    if (signo == LINUX_SIGSEGV && code == LINUX_SEGV_MAPERR)
        return "SEGV_MAPERR";
    if (signo == LINUX_SIGSEGV && code == LINUX_SEGV_ACCERR)
        return "SEGV_ACCERR";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_ADRALN)
        return "BUS_ADRALN";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_ADRERR)
        return "BUS_ADRERR";
    if (signo == LINUX_SIGBUS && code == LINUX_BUS_OBJERR)
        return "BUS_OBJERR";
    return NULL;
}

/* Name column of an area: its file's path (shared anonymous memory's is "/dev/zero
 * (deleted)", as Linux names it), or [heap], [stack], [bss], [vmemu heap] (the heap
 * checker's area), "" for anonymous memory (as /proc/PID/maps leaves it empty). */
const char *crash_vma_name(const struct vma *v)
{
    if (v->file != NULL && v->file->path != NULL)
        return v->file->path;
    switch (v->kind) {
    case VMA_HEAP:
        return "[heap]";
    case VMA_STACK:
        return "[stack]";
    case VMA_BSS:
        return "[bss]";
    case VMA_CHECKER:
        return "[vmemu heap]";
    default:
        return "";
    }
}

/* "0x400000-0x401000 r--p image /path" into buf. */
void crash_vma_text(const struct vma *v, char *buf, size_t len)
{
    char perms[5];
    const char *name = crash_vma_name(v);

    vma_perm_string(v, perms);
    snprintf(buf, len, "0x%" PRIx64 "-0x%" PRIx64 " %s %s%s%s", v->start, v->end, perms,
             vma_kind_name(v->kind), name[0] ? " " : "", name);
}

/* Whether a process that ended with its signal gets a crash description: the signals of
 * bad accesses and CPU exceptions, and the out-of-memory kill. */
bool crash_signal_is_crash(const struct proc *p)
{
    switch (p->term_signal) {
    case LINUX_SIGSEGV:
    case LINUX_SIGBUS:
    case LINUX_SIGILL:
    case LINUX_SIGFPE:
    case LINUX_SIGTRAP:
        return true;
    case LINUX_SIGKILL:
        return p->mm != NULL && p->mm->last_fault.cause == CAUSE_OOM;
    default:
        return false;
    }
}

/* Start of the image's first mapping minus its file offset: the load bias of a PIE (whose
 * first segment maps offset 0 at vaddr 0); symtab_load() ignores it for an ET_EXEC. */
static gva_t image_bias(const struct mm *mm)
{
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];

        if (v->kind == VMA_IMAGE)
            return v->start - v->pgoff * PAGE_SIZE;
    }
    return 0;
}

/* Whether v maps the program image as the loader placed it (its segments or its bss), so
 * that the section headers, relocated by the image's bias, describe its addresses. Another
 * mmap of the program's file is not: its addresses are not the link-time ones. */
static bool vma_is_image(const struct vma *v)
{
    return v->kind == VMA_IMAGE || v->kind == VMA_BSS;
}

/* Decodes the instruction at ci->insn_va into ci->insn and ci->insn_bytes. */
static void crash_disassemble(const struct proc *p, struct crash_info *ci)
{
    uint8_t code[INSN_MAX_LEN];
    size_t n = 0, used = 0, count = 0;
    cs_insn *insn = NULL;
    csh cs;

    if (p->mm != NULL)
        n = copy_from_user_nofault(p->mm, code, ci->insn_va, sizeof(code));
    if (n == 0) {
        snprintf(ci->insn, sizeof(ci->insn), "(code not readable)");
        return;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) == CS_ERR_OK) {
        cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
        count = cs_disasm(cs, code, n, ci->insn_va, 1, &insn);
        if (count > 0) {
            snprintf(ci->insn, sizeof(ci->insn), "%s%s%s", insn[0].mnemonic,
                     insn[0].op_str[0] ? " " : "", insn[0].op_str);
            n = insn[0].size;
            ci->insn_ok = true;
            cs_free(insn, count);
        }
        cs_close(&cs);
    }
    if (!ci->insn_ok)
        snprintf(ci->insn, sizeof(ci->insn), "(not a valid instruction)");
    for (size_t i = 0; i < n && used + 4 <= sizeof(ci->insn_bytes); i++)
        used += (size_t)snprintf(ci->insn_bytes + used, sizeof(ci->insn_bytes) - used, "%s%02x",
                                 i ? " " : "", code[i]);
}

/* "main+21" (or "main" at offset 0) for va into buf; "" when no symbol covers it. */
static void format_symbol(const struct symtab *syms, gva_t va, char *buf, size_t len)
{
    uint64_t off = 0;
    const char *name = symtab_lookup(syms, va, &off);

    if (name == NULL)
        buf[0] = '\0';
    else if (off != 0)
        snprintf(buf, len, "%s+%" PRIu64, name, off);
    else
        snprintf(buf, len, "%s", name);
}

/* The most recent syscall that removed ci->addr from the address space, with the symbol
 * of its RIP. */
static void crash_find_unmap(const struct proc *p, const struct symtab *syms, struct crash_info *ci)
{
    const struct mm_unmap_record *r = mm_unmap_history_find(p->mm, ci->addr);
    const char *name;

    if (r == NULL)
        return;
    ci->has_unmap = true;
    ci->unmap = *r;
    name = r->sysno >= 0 ? syscall_name((uint64_t)r->sysno) : NULL;
    ci->unmap_syscall = name != NULL ? name : "a syscall";
    format_symbol(syms, r->rip, ci->unmap_symbol, sizeof(ci->unmap_symbol));
}

/* The sentence that explains an access to memory a syscall removed earlier, into buf:
 * "use after munmap: 0x7ffff7ff8010 was in 0x7ffff7ff8000-0x7ffff7ffa000, unmapped by
 * munmap(0x7ffff7ff8000, 8192) at rip 0x401234 (main+52), syscall #3 of the process".
 * The range is the part of the call's range that was mapped then; mremap, brk and a
 * MAP_FIXED mmap get their own verbs. buf is "" when ci has no removal. */
void crash_unmap_text(const struct crash_info *ci, char *buf, size_t len)
{
    const struct mm_unmap_record *r = &ci->unmap;
    char how[128], sym[300] = "";

    buf[0] = '\0';
    if (!ci->has_unmap)
        return;
    switch (r->sysno) {
    case LINUX_NR_MUNMAP:
        snprintf(how, sizeof(how), "unmapped by munmap(0x%" PRIx64 ", %" PRIu64 ")", r->start,
                 r->end - r->start);
        break;
    case LINUX_NR_MREMAP:
        snprintf(how, sizeof(how), "moved away or cut off by mremap");
        break;
    case LINUX_NR_BRK:
        snprintf(how, sizeof(how), "released by brk (the heap shrank)");
        break;
    case LINUX_NR_MMAP:
        snprintf(how, sizeof(how), "replaced by mmap(MAP_FIXED)");
        break;
    default:
        snprintf(how, sizeof(how), "removed by %s", ci->unmap_syscall);
        break;
    }
    if (ci->unmap_symbol[0] != '\0')
        snprintf(sym, sizeof(sym), " (%s)", ci->unmap_symbol);
    snprintf(buf, len,
             "use after %s: 0x%" PRIx64 " was in 0x%" PRIx64 "-0x%" PRIx64 ", %s at rip 0x%" PRIx64
             "%s, syscall #%" PRIu64 " of the process",
             ci->unmap_syscall, ci->addr, r->start, r->end, how, r->rip, sym, r->seq);
}

/* One disassembly line into buf: "=> 0x401136 <main+22>:  mov dword ptr [rax], 1", "=>"
 * for RIP and three spaces for the others. */
static void dis_line(const struct symtab *syms, const cs_insn *in, bool at_rip, char *buf,
                     size_t len)
{
    char sym[300], target[300] = "";
    char *end = NULL;
    unsigned long long to = strtoull(in->op_str, &end, 16);

    format_symbol(syms, in->address, sym, sizeof(sym) - 2);
    if ((in->mnemonic[0] == 'j' || strncmp(in->mnemonic, "call", 4) == 0) &&
        strncmp(in->op_str, "0x", 2) == 0 && end != NULL && *end == '\0')
        format_symbol(syms, (gva_t)to, target, sizeof(target) - 2);
    snprintf(buf, len, "%s 0x%" PRIx64 "%s%s%s:  %s%s%s%s%s%s", at_rip ? "=>" : "  ", in->address,
             sym[0] ? " <" : "", sym, sym[0] ? ">" : "", in->mnemonic, in->op_str[0] ? " " : "",
             in->op_str, target[0] ? " <" : "", target, target[0] ? ">" : "");
}

/* Decodes size bytes of code at va and, when an instruction starts at rip, keeps the
 * CRASH_DIS_BEFORE before it, it and the CRASH_DIS_AFTER after it in ci->dis. Returns
 * whether rip was an instruction boundary. */
static bool dis_window(csh cs, const struct symtab *syms, const uint8_t *code, size_t size,
                       gva_t va, gva_t rip, struct crash_info *ci)
{
    cs_insn *in = NULL;
    size_t count = cs_disasm(cs, code, size, va, 0, &in), at = count, first, last;

    for (size_t i = 0; i < count; i++) {
        if (in[i].address == rip) {
            at = i;
            break;
        }
    }
    if (at == count) {
        if (count > 0)
            cs_free(in, count);
        return false;
    }
    first = at > CRASH_DIS_BEFORE ? at - CRASH_DIS_BEFORE : 0;
    last = at + CRASH_DIS_AFTER < count ? at + CRASH_DIS_AFTER : count - 1;
    ci->dis_n = 0;
    for (size_t i = first; i <= last; i++)
        dis_line(syms, &in[i], i == at, ci->dis[ci->dis_n++], CRASH_DIS_LEN);
    cs_free(in, count);
    return true;
}

/* The instructions around RIP, decoded forward from the start of the function that holds
 * it (so that the ones before RIP are real), or from RIP when the function is unknown,
 * too long, or not decoded in step with RIP. Nothing for a fetch from bad memory: the CPU
 * never ran what is there. */
static void crash_disassembly(const struct proc *p, const struct symtab *syms,
                              struct crash_info *ci)
{
    uint8_t code[CRASH_DIS_SPAN + CRASH_DIS_AFTER * INSN_MAX_LEN + INSN_MAX_LEN];
    uint64_t off = 0;
    gva_t start = ci->insn_va;
    size_t n;
    csh cs;

    if (p->mm == NULL || (ci->is_memory && ci->access == ACCESS_EXEC))
        return;
    if (symtab_lookup(syms, ci->insn_va, &off) != NULL && off <= CRASH_DIS_SPAN)
        start = ci->insn_va - off;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return;
    cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
    n = copy_from_user_nofault(p->mm, code, start, sizeof(code));
    if (start == ci->insn_va || n <= ci->insn_va - start ||
        !dis_window(cs, syms, code, n, start, ci->insn_va, ci)) {
        n = copy_from_user_nofault(p->mm, code, ci->insn_va, (CRASH_DIS_AFTER + 1) * INSN_MAX_LEN);
        dis_window(cs, syms, code, n, ci->insn_va, ci->insn_va, ci);
    }
    cs_close(&cs);
}

/* The call stack, each frame formatted. */
static void crash_backtrace(const struct proc *p, const struct symtab *syms, struct crash_info *ci)
{
    gva_t pcs[BT_MAX_FRAMES];
    int n;

    if (p->mm == NULL || p->cpu == NULL)
        return;
    n = backtrace_collect(p->mm, syms, ci->rip, cpu_get(p->cpu, CPU_RSP), cpu_get(p->cpu, CPU_RBP),
                          pcs, BT_MAX_FRAMES);
    for (int i = 0; i < n; i++)
        backtrace_format(syms, pcs[i], ci->bt[i], CRASH_FRAME_MAX);
    ci->bt_n = n;
}

/* Whether an image section is made read-only after relocation (RELRO). */
static bool section_is_relro(const char *sect)
{
    static const char *const relro[] = {".data.rel.ro",   ".got",     ".init_array", ".fini_array",
                                        ".preinit_array", ".dynamic", ".tdata",      ".tbss"};

    for (size_t i = 0; i < ARRAY_LEN(relro); i++) {
        if (strcmp(sect, relro[i]) == 0)
            return true;
    }
    return false;
}

/* The cause in more words than fault_cause_text, where the area says more: a write into the
 * program's read-only data, code or RELRO, a jump into data, an access to a PROT_NONE
 * area. */
static void crash_cause_text(const struct proc *p, struct crash_info *ci)
{
    const struct vma *v = vma_lookup(&p->mm->vmas, ci->addr);
    const char *what = NULL;
    char area[CRASH_TEXT_MAX + 128];

    if (v == NULL)
        return;
    if (ci->section[0] != '\0')
        snprintf(area, sizeof(area), "%s of %s", ci->section,
                 ci->file[0] != '\0' ? ci->file : "the program");
    else
        snprintf(area, sizeof(area), "%s", ci->vma);
    if (ci->cause == CAUSE_WRITE_RO && ci->section[0] != '\0') {
        if (strcmp(ci->section, ".rodata") == 0)
            what = "write to read-only data (a string literal or a const object)";
        else if ((v->prot & VM_EXEC) != 0)
            what = "write to the program's code";
        else if (section_is_relro(ci->section))
            what = "write to RELRO data (made read-only after relocation)";
        else
            what = "write to a read-only section";
    } else if (ci->cause == CAUSE_EXEC_NX) {
        what = ci->section[0] != '\0' || v->kind == VMA_BSS ? "execute of data (a jump or call "
                                                              "into data: a bad function pointer)"
               : v->kind == VMA_STACK ? "execute of the stack (the stack is not executable)"
                                      : "execute of memory mapped without PROT_EXEC";
    } else if (ci->cause == CAUSE_READ_NONE) {
        what = "access to an area mapped PROT_NONE (a guard area or memory made inaccessible "
               "by mprotect)";
    }
    if (what != NULL)
        snprintf(ci->cause_text, sizeof(ci->cause_text), "%s: %s", what, area);
}

/* Fills the symbol and location of RIP, the area, file and section of a faulting address,
 * or the syscall that removed it. */
static void crash_locate(const struct proc *p, struct crash_info *ci)
{
    struct symtab *syms = NULL;
    const struct vma *v;
    const char *sect;

    if (p->mm == NULL)
        return;
    if (p->exe != NULL)
        syms = symtab_load(p->exe, image_bias(p->mm));
    if (ci->has_rip) {
        format_symbol(syms, ci->rip, ci->symbol, sizeof(ci->symbol));
        v = vma_lookup(&p->mm->vmas, ci->rip);
        sect = v != NULL && vma_is_image(v) ? symtab_section(syms, ci->rip) : NULL;
        if (v == NULL)
            snprintf(ci->rip_where, sizeof(ci->rip_where), "outside any mapping");
        else if (sect != NULL)
            snprintf(ci->rip_where, sizeof(ci->rip_where), "in %s (%s)",
                     p->exe != NULL ? p->exe : crash_vma_name(v), sect);
        else if (crash_vma_name(v)[0] != '\0')
            snprintf(ci->rip_where, sizeof(ci->rip_where), "in %s", crash_vma_name(v));
        else
            snprintf(ci->rip_where, sizeof(ci->rip_where),
                     "in anonymous memory 0x%" PRIx64 "-0x%" PRIx64, v->start, v->end);
    }
    if (ci->has_caller)
        format_symbol(syms, ci->caller, ci->caller_symbol, sizeof(ci->caller_symbol));
    if (ci->is_memory) {
        v = vma_lookup(&p->mm->vmas, ci->addr);
        if (v != NULL) {
            ci->has_vma = true;
            crash_vma_text(v, ci->vma, sizeof(ci->vma));
            sect = vma_is_image(v) ? symtab_section(syms, ci->addr) : NULL;
            if (sect != NULL)
                snprintf(ci->section, sizeof(ci->section), "%s", sect);
            if (vma_is_image(v) && p->exe != NULL) /* the absolute path */
                snprintf(ci->file, sizeof(ci->file), "%s", p->exe);
            else if (v->file != NULL && !v->file->shmem && v->file->path != NULL)
                snprintf(ci->file, sizeof(ci->file), "%s", v->file->path);
        } else if (ci->cause != CAUSE_NONCANONICAL) {
            crash_find_unmap(p, syms, ci);
        }
        crash_cause_text(p, ci);
    }
    if (ci->has_rip) {
        crash_backtrace(p, syms, ci);
        crash_disassembly(p, syms, ci);
    }
    symtab_free(syms);
}

/* What the heap checker knows of the faulting address (a block's red zone, a freed
 * block); it replaces the words about the area, which is the checker's: its PROT_NONE
 * pages say nothing of the bug, so no cause line names them. After the checker's state is
 * gone (a report written after the process ended) only the area's kind is left. */
static void crash_heap(const struct proc *p, struct crash_info *ci)
{
    if (!ci->is_memory || p->mm == NULL)
        return;
    const struct vma *v = vma_lookup(&p->mm->vmas, ci->addr);
    bool explained = p->heap != NULL &&
                     heapcheck_explain(p, ci->addr, &ci->heap_kind, ci->heap, sizeof(ci->heap));
    if (!explained) {
        ci->heap_kind = NULL;
        ci->heap[0] = '\0';
    }
    ci->in_checker = explained || (v != NULL && v->kind == VMA_CHECKER);
    if (ci->in_checker)
        ci->cause_text[0] = '\0';
}

/* The cause of a memory crash in words; see crash.h. */
const char *crash_cause_name(const struct crash_info *ci)
{
    if (ci->heap_kind != NULL)
        return ci->heap_kind;
    if (ci->in_checker)
        return "access to the heap checker's inaccessible memory";
    return fault_cause_text(ci->cause);
}

/* Signal, code and words of an exit that was not a memory fault. */
static void crash_cpu_exit(struct crash_info *ci, enum cpu_exit_kind kind, int intno)
{
    switch (kind) {
    case CPU_EXIT_ILLEGAL:
        ci->signo = LINUX_SIGILL;
        ci->code = "ILL_ILLOPN";
        snprintf(ci->what, sizeof(ci->what), "illegal instruction");
        break;
    case CPU_EXIT_DIVIDE:
        ci->signo = LINUX_SIGFPE;
        ci->code = "FPE_INTDIV";
        snprintf(ci->what, sizeof(ci->what), "integer divide error");
        break;
    case CPU_EXIT_TRAP:
        ci->signo = LINUX_SIGTRAP;
        ci->code = intno == 1 ? "TRAP_TRACE" : "TRAP_BRKPT";
        snprintf(ci->what, sizeof(ci->what), "%s", intno == 1 ? "debug trap" : "breakpoint");
        break;
    case CPU_EXIT_EXCEPTION:
        ci->signo = LINUX_SIGSEGV;
        ci->code = "SI_KERNEL";
        if (intno >= 0 && (size_t)intno < ARRAY_LEN(vector_names) && vector_names[intno])
            snprintf(ci->what, sizeof(ci->what), "CPU exception %s", vector_names[intno]);
        else
            snprintf(ci->what, sizeof(ci->what), "CPU exception %d", intno);
        break;
    case CPU_EXIT_PRIV:
        ci->signo = LINUX_SIGSEGV;
        ci->code = "SI_KERNEL";
        snprintf(ci->what, sizeof(ci->what), "privileged instruction");
        break;
    default:
        ci->signo = 0;
        snprintf(ci->what, sizeof(ci->what), "CPU emulation failed");
        break;
    }
}

/* Non-memory exit kind that a terminating signal stands for (the JSON report has no
 * cpu_exit to go by). */
static enum cpu_exit_kind exit_kind_of_signal(int signo)
{
    switch (signo) {
    case LINUX_SIGILL:
        return CPU_EXIT_ILLEGAL;
    case LINUX_SIGFPE:
        return CPU_EXIT_DIVIDE;
    case LINUX_SIGTRAP:
        return CPU_EXIT_TRAP;
    default:
        return CPU_EXIT_PRIV;
    }
}

/* Which instruction to show: int3 leaves RIP past itself, so a breakpoint shows the int3
 * just before RIP. A fetch from bad memory (a call through a bad pointer) is explained by
 * the return address on the stack, when RSP points at one. */
static void crash_find_caller_and_insn(const struct proc *p, struct crash_info *ci)
{
    uint8_t byte;
    uint64_t ret;

    ci->insn_va = ci->rip;
    if (p->mm == NULL)
        return;
    if (ci->signo == LINUX_SIGTRAP && ci->rip > 0 &&
        copy_from_user_nofault(p->mm, &byte, ci->rip - 1, 1) == 1 && byte == X86_INT3) {
        ci->insn_va = ci->rip - 1;
        snprintf(ci->what, sizeof(ci->what), "breakpoint (int3 at 0x%" PRIx64 ")", ci->insn_va);
    }
    if (ci->is_memory && ci->access == ACCESS_EXEC && p->cpu != NULL &&
        copy_from_user_nofault(p->mm, &ret, cpu_get(p->cpu, CPU_RSP), sizeof(ret)) == sizeof(ret)) {
        ci->has_caller = true;
        ci->caller = ret;
    }
}

/* Narrows a data fault from its page to the byte: decodes the instruction at RIP with the
 * registers of p's CPU and keeps the access that touches the faulting page. The address
 * stays as recorded when the instruction does not tell (no CPU, code not readable, no
 * or several matching operands) or names another byte than a fault that was already
 * exact. */
static void crash_exact_address(const struct proc *p, struct crash_info *ci)
{
    uint8_t code[INSN_MAX_LEN];
    uint64_t regs[CPU_NREGS];
    gva_t page = PAGE_DOWN(ci->addr), ea, first;
    unsigned size;
    size_t n;

    ci->access_va = ci->addr;
    if (!ci->is_memory || !ci->has_rip || ci->access == ACCESS_EXEC || p->mm == NULL ||
        p->cpu == NULL)
        return;
    n = copy_from_user_nofault(p->mm, code, ci->rip, sizeof(code));
    if (n == 0)
        return;
    for (int r = 0; r < CPU_NREGS; r++)
        regs[r] = cpu_get(p->cpu, (enum cpu_reg)r);
    regs[CPU_RIP] = ci->rip;
    if (insn_mem_access(code, n, regs, page, ci->access, &ea, &size) < 0)
        return;
    first = insn_first_fault_byte(ea, page);
    if (ci->addr != page && ci->addr != first)
        return;
    ci->addr = first;
    ci->access_va = ea;
    ci->size = size;
}

/* Works out the crash of p. ex is the CPU's stop reason, or NULL after the fact (the JSON
 * report), when p->term_signal and mm->last_fault say what happened. Reads guest memory
 * without faulting anything in. */
void crash_describe(const struct proc *p, const struct cpu_exit *ex, struct crash_info *ci)
{
    const struct fault_info *lf = p->mm != NULL ? &p->mm->last_fault : NULL;
    bool memory;

    memset(ci, 0, sizeof(*ci));
    if (ex != NULL)
        memory = ex->kind == CPU_EXIT_FAULT || ex->kind == CPU_EXIT_OOM;
    else
        memory = lf != NULL && lf->signo != 0 && lf->signo == p->term_signal;
    if (memory && lf != NULL) {
        ci->is_memory = true;
        ci->signo = lf->signo;
        if (ci->signo == 0)
            ci->signo = ex != NULL && ex->kind == CPU_EXIT_OOM ? LINUX_SIGKILL : LINUX_SIGSEGV;
        ci->code = si_code_name(ci->signo, lf->code);
        ci->addr = lf->va;
        ci->access = lf->access;
        ci->cause = lf->cause;
    } else if (ex != NULL) {
        crash_cpu_exit(ci, ex->kind, ex->intno);
    } else {
        crash_cpu_exit(ci, exit_kind_of_signal(p->term_signal), 0);
        if (p->term_signal == LINUX_SIGSEGV && lf != NULL && lf->signo == 0)
            snprintf(ci->what, sizeof(ci->what), "CPU exception");
    }
    if (ex != NULL) {
        ci->has_rip = true;
        ci->rip = ex->rip;
    } else if (p->cpu != NULL) {
        ci->has_rip = true;
        ci->rip = cpu_get(p->cpu, CPU_RIP);
    }
    if (ci->has_rip)
        crash_find_caller_and_insn(p, ci);
    crash_exact_address(p, ci);
    crash_locate(p, ci);
    if (ci->has_rip)
        crash_disassemble(p, ci);
    crash_heap(p, ci);
}

/* The nearest areas below and above an unmapped address, or the stack it fell short of. */
static void print_surroundings(FILE *out, const struct proc *p, const struct crash_info *ci)
{
    const struct vma_list *l = &p->mm->vmas;
    const struct vma *below = vma_prev(l, ci->addr), *above = vma_find(l, ci->addr);
    char text[CRASH_TEXT_MAX];

    if (ci->cause == CAUSE_NONCANONICAL || ci->addr >= USER_VA_END) {
        fprintf(out, "  mapping:  non-canonical address (user space ends at 0x%llx)\n",
                (unsigned long long)USER_VA_END);
        return;
    }
    if (ci->cause == CAUSE_STACK_GUARD && above != NULL) {
        crash_vma_text(above, text, sizeof(text));
        fprintf(out, "  mapping:  0x%" PRIx64 " bytes below the stack %s", above->start - ci->addr,
                text);
        if (p->mm->stack_limit != 0 && p->mm->stack_top > p->mm->stack_limit)
            fprintf(out, " (it may grow down to 0x%" PRIx64 ")",
                    p->mm->stack_top - p->mm->stack_limit);
        fputc('\n', out);
        return;
    }
    fprintf(out, "  mapping:  no mapping contains it; nearest:");
    if (below == NULL && above == NULL)
        fprintf(out, " none (the address space is empty)");
    if (below != NULL) {
        crash_vma_text(below, text, sizeof(text));
        fprintf(out, " %s (0x%" PRIx64 " past its end)", text, ci->addr - below->end);
    }
    if (above != NULL) {
        crash_vma_text(above, text, sizeof(text));
        fprintf(out, "%s %s (0x%" PRIx64 " above)", below != NULL ? ";" : "", text,
                above->start - ci->addr);
    }
    fputc('\n', out);
}

/* The "fault:" line of a memory fault: the access, its size when known, the first byte
 * that faulted, and the cause (with the offset of a NULL pointer dereference). */
static void print_fault(FILE *out, const struct crash_info *ci)
{
    fprintf(out, "  fault:    %s", crash_access_name(ci->access));
    if (ci->size != 0 && ci->access_va == ci->addr)
        fprintf(out, " of %u byte%s", ci->size, ci->size == 1 ? "" : "s");
    fprintf(out, " at 0x%016" PRIx64, ci->addr);
    if (ci->access_va != ci->addr)
        fprintf(out, " (%u-byte access at 0x%016" PRIx64 " crossing into this page)", ci->size,
                ci->access_va);
    fprintf(out, ": %s", crash_cause_name(ci));
    if (ci->cause == CAUSE_NULL && ci->addr != 0)
        fprintf(out, " (offset 0x%" PRIx64 ")", ci->addr);
    fputc('\n', out);
}

/* The heap checker's words: "  heap:     heap-use-after-free" and its lines, indented. */
static void print_heap(FILE *out, const struct crash_info *ci)
{
    const char *line = ci->heap;

    fprintf(out, "  heap:     %s\n", ci->heap_kind);
    while (*line != '\0') {
        size_t len = strcspn(line, "\n");

        fprintf(out, "            %.*s\n", (int)len, line);
        line += len;
        if (*line == '\n')
            line++;
    }
}

static void print_registers(FILE *out, struct proc *p)
{
    if (p->cpu == NULL) {
        fprintf(out, "  regs:     (no CPU)\n");
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(crash_regs); i++) {
        const char *lead = i == 0 ? "  regs:     " : i % 4 == 0 ? "            " : " ";

        fprintf(out, "%s%s=0x%016" PRIx64, lead, crash_regs[i].name,
                cpu_get(p->cpu, crash_regs[i].reg));
        if (i % 4 == 3 || i + 1 == ARRAY_LEN(crash_regs))
            fputc('\n', out);
    }
}

/* Prints the report of a guest killed by a memory fault or a CPU exception (ex says which;
 * mm->last_fault says what and why for memory faults): the signal, the access and its
 * cause (and the syscall that unmapped the address), the mapping that holds the address
 * (with the file and ELF section in the program image) or the nearest ones, RIP with its
 * symbol and section, the instruction there, the cause in words (and the heap checker's
 * explanation of the address), the backtrace, the disassembly around RIP, the registers
 * and the VMA table. Faults nothing in. */
void report_crash(FILE *out, struct proc *p, const struct cpu_exit *ex)
{
    struct crash_info ci;
    char text[CRASH_TEXT_MAX + 512];

    crash_describe(p, ex, &ci);
    if (ci.signo == 0)
        fprintf(out, "vmemu: guest '%s' (pid %d) stopped: %s\n", p->comm, p->pid, ci.what);
    else if (ci.code != NULL)
        fprintf(out, "vmemu: guest '%s' (pid %d) killed by %s (%s)\n", p->comm, p->pid,
                crash_signal_name(ci.signo), ci.code);
    else
        fprintf(out, "vmemu: guest '%s' (pid %d) killed by %s\n", p->comm, p->pid,
                crash_signal_name(ci.signo));
    if (ci.is_memory) {
        print_fault(out, &ci);
        if (ci.has_unmap) {
            crash_unmap_text(&ci, text, sizeof(text));
            fprintf(out, "  cause:    %s\n", text);
        }
        if (ci.cause_text[0] != '\0')
            fprintf(out, "  cause:    %s\n", ci.cause_text);
        if (ci.heap_kind != NULL)
            print_heap(out, &ci);
        if (ci.has_vma && ci.section[0] != '\0')
            fprintf(out, "  mapping:  %s, in %s of %s\n", ci.vma, ci.section,
                    ci.file[0] != '\0' ? ci.file : "the program");
        else if (ci.has_vma)
            fprintf(out, "  mapping:  %s\n", ci.vma);
        else if (p->mm != NULL)
            print_surroundings(out, p, &ci);
    } else {
        fprintf(out, "  fault:    %s\n", ci.what);
    }
    if (ci.has_rip) {
        fprintf(out, "  rip:      0x%" PRIx64, ci.rip);
        if (ci.symbol[0] != '\0')
            fprintf(out, " <%s>", ci.symbol);
        if (ci.rip_where[0] != '\0')
            fprintf(out, " %s", ci.rip_where);
        fputc('\n', out);
        if (ci.has_caller && ci.caller_symbol[0] != '\0')
            fprintf(out, "  caller:   0x%" PRIx64 " <%s> (return address at rsp)\n", ci.caller,
                    ci.caller_symbol);
        else if (ci.has_caller)
            fprintf(out, "  caller:   0x%" PRIx64 " (return address at rsp)\n", ci.caller);
        if (ci.insn_bytes[0] != '\0')
            fprintf(out, "  code:     %-32s %s\n", ci.insn_bytes, ci.insn);
        else
            fprintf(out, "  code:     %s\n", ci.insn);
    }
    if (ci.bt_n > 0) {
        fprintf(out, "  backtrace:\n");
        for (int i = 0; i < ci.bt_n; i++)
            fprintf(out, "    #%-2d %s\n", i, ci.bt[i]);
    }
    if (ci.dis_n > 0) {
        fprintf(out, "  disassembly:\n");
        for (int i = 0; i < ci.dis_n; i++)
            fprintf(out, "    %s\n", ci.dis[i]);
    }
    print_registers(out, p);
    if (p->mm != NULL) {
        fprintf(out, "  maps:\n");
        report_maps_table(out, p, "    ");
    }
}
