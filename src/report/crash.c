/* The analysis of a crash, worked out once by crash_describe() for report_crash.c (the
 * printed report) and report_json.c (the JSON "crash" object): the access and its exact
 * byte (decoded from the instruction at RIP, src/cpu/insn.c), the mapping, file and ELF
 * section of the address, the syscall that unmapped it, the symbol at RIP, the backtrace,
 * the code around RIP disassembled with capstone and the heap checker's words. Guest
 * memory is only read with copy_from_user_nofault(): a report changes no fault count. */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "vmemu/backtrace.h"
#include "vmemu/heapcheck.h"
#include "vmemu/insn.h"
#include "vmemu/maps_table.h"
#include "vmemu/symbols.h"
#include "vmemu/syscall_names.h"
#include "vmemu/uaccess.h"
#include "vmemu/vma.h"

#define X86_INT3       0xcc /* the breakpoint instruction */
#define CRASH_DIS_SPAN 4096 /* furthest into a function its start is decoded from */

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
    const struct proc_unmap *r = proc_unmap_history_find(p, ci->addr);
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
    const struct proc_unmap *r = &ci->unmap;
    char how[128], sym[300] = "";

    buf[0] = '\0';
    if (!ci->has_unmap)
        return;
    switch (r->sysno) {
    case NR_munmap:
        snprintf(how, sizeof(how), "unmapped by munmap(0x%" PRIx64 ", %" PRIu64 ")", r->start,
                 r->end - r->start);
        break;
    case NR_mremap:
        snprintf(how, sizeof(how), "moved away or cut off by mremap");
        break;
    case NR_brk:
        snprintf(how, sizeof(how), "released by brk (the heap shrank)");
        break;
    case NR_mmap:
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
        syms = symtab_load(p->exe, mm_image_bias(p->mm));
    if (ci->has_rip) {
        format_symbol(syms, ci->rip, ci->symbol, sizeof(ci->symbol));
        v = vma_lookup(&p->mm->vmas, ci->rip);
        sect = v != NULL && vma_is_image(v) ? symtab_section(syms, ci->rip) : NULL;
        if (v == NULL)
            snprintf(ci->rip_where, sizeof(ci->rip_where), "outside any mapping");
        else if (sect != NULL)
            snprintf(ci->rip_where, sizeof(ci->rip_where), "in %s (%s)",
                     p->exe != NULL ? p->exe : maps_vma_name(v), sect);
        else if (maps_vma_name(v)[0] != '\0')
            snprintf(ci->rip_where, sizeof(ci->rip_where), "in %s", maps_vma_name(v));
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
    bool explained = p->heap != NULL && p->opt && p->opt->observer == &heapcheck_observer &&
                     heapcheck_explain(p, ci->addr, &ci->heap_kind, ci->heap, sizeof(ci->heap));
    if (!explained) {
        ci->heap_kind = NULL;
        ci->heap[0] = '\0';
    }
    ci->in_checker = explained || (v != NULL && v->kind == VMA_CHECKER);
    if (ci->in_checker)
        ci->cause_text[0] = '\0';
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
        ci->code = crash_si_code_name(ci->signo, lf->code);
        ci->addr = lf->va;
        ci->access = lf->access;
        ci->cause = lf->cause;
    } else if (ex != NULL) {
        crash_cpu_exit(ci, ex->kind, ex->intno);
    } else {
        crash_cpu_exit(ci, crash_exit_kind_of_signal(p->term_signal), 0);
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
