/* Code probes: a function called before the guest executes one chosen instruction (the
 * heap profiler's entry points of malloc, free, ...). Each probe is a Unicorn code hook
 * bounded to its one address, so only that instruction calls out of translated code; a
 * downgrade made by the probe's function (a copy-on-write stack page written) is flushed
 * before the instruction runs. */
#include <errno.h>
#include <stdlib.h>
#include <unicorn/unicorn.h>

#include "cpu_int.h"

/* One probe. */
struct cpu_probe {
    struct cpu *cpu; /* its CPU */
    gva_t addr;      /* the instruction */
    cpu_probe_fn fn; /* what to call */
    void *ctx;       /* its argument */
    uc_hook hook;    /* the code hook */
};

/* Unicorn's code hook: the probed instruction is next. */
static void cpu_probe_hook(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    struct cpu_probe *pr = user;
    (void)uc;
    (void)size;
    if (address != pr->addr)
        return;
    pr->fn(pr->ctx, pr->addr);
    cpu_flush_if_pending(pr->cpu);
}

/* Adds a probe at addr; see the header. */
int cpu_probe_add(struct cpu *c, gva_t addr, cpu_probe_fn fn, void *ctx)
{
    if (c->nprobes == c->capprobes) {
        size_t cap = c->capprobes ? 2 * c->capprobes : 16;
        struct cpu_probe **v = realloc(c->probes, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->probes = v;
        c->capprobes = cap;
    }
    struct cpu_probe *pr = calloc(1, sizeof(*pr));
    if (!pr)
        return -ENOMEM;
    pr->cpu = c;
    pr->addr = addr;
    pr->fn = fn;
    pr->ctx = ctx;
    if (uc_hook_add(c->uc, &pr->hook, UC_HOOK_CODE, (void *)cpu_probe_hook, pr, addr, addr) !=
        UC_ERR_OK) {
        free(pr);
        return -EIO;
    }
    c->probes[c->nprobes++] = pr;
    return 0;
}

/* Frees the probes' records; see cpu_int.h. */
void cpu_probes_free(struct cpu *c)
{
    for (size_t i = 0; i < c->nprobes; i++)
        free(c->probes[i]);
    free(c->probes);
    c->probes = NULL;
    c->nprobes = c->capprobes = 0;
}
