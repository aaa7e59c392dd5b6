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

static uint64_t hc_hash(const gva_t *pcs, uint32_t n)
{
    uint64_t x = 0xcbf29ce484222325ULL ^ n;
    for (uint32_t i = 0; i < n; i++) {
        x ^= pcs[i];
        x *= 0x100000001b3ULL;
        x ^= x >> 29;
    }
    return x;
}

/* The depot index of the stack pcs[0..n), added when new; 0 (the empty stack) when out
 * of memory. */
static uint32_t hc_depot_put(struct heapcheck *h, const gva_t *pcs, uint32_t n)
{
    uint64_t hash = hc_hash(pcs, n);
    if (h->stabcap == 0 || (h->nstacks + 1) * 2 > h->stabcap) {
        size_t cap = h->stabcap ? h->stabcap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof(*t));
        if (!t)
            return 0;
        for (size_t i = 0; i < h->nstacks; i++) {
            size_t j = h->stacks[i].hash & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = (uint32_t)i + 1;
        }
        free(h->stab);
        h->stab = t;
        h->stabcap = cap;
    }
    size_t j = hash & (h->stabcap - 1);
    for (; h->stab[j]; j = (j + 1) & (h->stabcap - 1)) {
        const struct hc_stack *s = &h->stacks[h->stab[j] - 1];
        if (s->hash == hash && s->n == n && memcmp(s->pcs, pcs, n * sizeof(gva_t)) == 0)
            return h->stab[j] - 1;
    }
    if (h->nstacks == h->capstacks) {
        size_t cap = h->capstacks ? h->capstacks * 2 : 256;
        struct hc_stack *g = realloc(h->stacks, cap * sizeof(*g));
        if (!g)
            return 0;
        h->stacks = g;
        h->capstacks = cap;
    }
    struct hc_stack *s = &h->stacks[h->nstacks];
    memset(s, 0, sizeof(*s));
    s->hash = hash;
    s->n = n;
    memcpy(s->pcs, pcs, n * sizeof(gva_t));
    h->stab[j] = (uint32_t)h->nstacks + 1;
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
            n = backtrace_collect(p->mm, h->syms->syms, ret, rsp + 8, cpu_get(p->cpu, CPU_RBP), pcs,
                                  HC_FRAMES);
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
