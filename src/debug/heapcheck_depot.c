/* The heap checker's stack depot: every allocation and free site is kept once, as up to
 * HC_FRAMES return addresses found by a hash table, and named by its index in the depot;
 * the call stack of the allocator's caller is collected here, and a depot stack printed
 * with the program's symbols. */
#include <stdlib.h>
#include <string.h>

#include "heapcheck_int.h"
#include "vmemu/backtrace.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/uaccess.h"

/* The depot index of the stack pcs[0..n), added when new; 0 (the empty stack) when out
 * of memory. */
static uint32_t hc_depot_put(struct heapcheck *h, const gva_t *pcs, uint32_t n)
{
    struct stack_key key;
    stack_key_make(&key, pcs, n);
    long found = stack_index_find(&h->stab, h->stacks, sizeof(*h->stacks), &key);
    if (found >= 0)
        return (uint32_t)found;
    if (h->nstacks == h->capstacks) {
        size_t cap = h->capstacks ? h->capstacks * 2 : 256;
        struct stack_key *g = realloc(h->stacks, cap * sizeof(*g));
        if (!g)
            return 0;
        h->stacks = g;
        h->capstacks = cap;
    }
    h->stacks[h->nstacks] = key;
    if (stack_index_add(&h->stab, h->stacks, sizeof(*h->stacks), h->nstacks + 1, 1024) < 0)
        return 0;
    return (uint32_t)h->nstacks++;
}

/* The call stack of the allocator's caller: its return address first. */
uint32_t hc_caller_stack(struct heapcheck *h, struct proc *p)
{
    gva_t pcs[HC_FRAMES];
    int n = 0;
    if (p->cpu) {
        gva_t rsp = cpu_get(p->cpu, CPU_RSP), ret = 0;
        if (copy_from_user_nofault(p->mm, &ret, rsp, sizeof(ret)) == sizeof(ret))
            n = backtrace_collect_memo(p->mm, h->syms->syms, h->syms->memo, ret, rsp + 8,
                                       cpu_get(p->cpu, CPU_RBP), pcs, HC_FRAMES);
    }
    return hc_depot_put(h, pcs, n < 0 ? 0 : (uint32_t)n);
}

/* Prints the frames of a depot stack, "    #0  0x401136 main+22" each. */
void hc_print_stack(const struct heapcheck *h, FILE *out, uint32_t id)
{
    if (id >= h->nstacks || h->stacks[id].n == 0) {
        fprintf(out, "    (no stack)\n");
        return;
    }
    backtrace_print(out, h->syms->syms, h->stacks[id].pcs, (int)h->stacks[id].n, "    ");
}
