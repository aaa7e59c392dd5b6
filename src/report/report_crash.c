/* The crash report as the user reads it on stderr: the signal, the access and its cause,
 * the mapping (or the nearest ones), RIP with its symbol and the instruction there, the
 * backtrace, the disassembly, the registers and the VMA table; the facts are those
 * crash_describe() (crash.c) works out. Faults nothing in. */
#include "vmemu/report.h"

#include <inttypes.h>
#include <string.h>

#include "crash.h"
#include "vmemu/maps_table.h"
#include "vmemu/vma.h"

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

    char who[96];

    crash_describe(p, ex, &ci);
    /* A thread's crash names the process and the thread (the faulting one, as gdb says) */
    if (p->leader != p)
        snprintf(who, sizeof(who), "pid %d, thread %d '%s'", p->leader->pid, p->pid, p->comm);
    else
        snprintf(who, sizeof(who), "pid %d", p->pid);
    if (ci.signo == 0)
        fprintf(out, "vmemu: guest '%s' (%s) stopped: %s\n", p->leader->comm, who, ci.what);
    else if (ci.code != NULL)
        fprintf(out, "vmemu: guest '%s' (%s) killed by %s (%s)\n", p->leader->comm, who,
                crash_signal_name(ci.signo), ci.code);
    else
        fprintf(out, "vmemu: guest '%s' (%s) killed by %s\n", p->leader->comm, who,
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
        maps_table_print(out, p, "    ");
    }
}
