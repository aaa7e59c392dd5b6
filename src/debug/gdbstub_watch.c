/* The gdb stub's watchpoint table: the ranges gdb asked to watch (Z2, Z3, Z4) and the
 * questions the CPU's fill callback and the run loop ask of it: which accesses to a page
 * must trap, and which watchpoint an access of the instruction that trapped triggers.
 * Pure bookkeeping with no CPU or address space, so tests/test_gdbwatch.c checks it
 * alone. Called by src/debug/gdbstub.c. */
#include <errno.h>

#include "gdbstub_int.h"

/* Whether [a, a + alen) and [b, b + blen) overlap (lengths > 0, no wrap-around). */
static bool ranges_overlap(gva_t a, gva_t alen, gva_t b, gva_t blen)
{
    return a < b + blen && b < a + alen;
}

static bool watch_triggers(enum gdb_watch_type type, enum access access)
{
    if (type == GDB_WATCH_ACCESS)
        return access == ACCESS_READ || access == ACCESS_WRITE;
    return (type == GDB_WATCH_WRITE && access == ACCESS_WRITE) ||
           (type == GDB_WATCH_READ && access == ACCESS_READ);
}

/* Adds a watchpoint; an existing one is not added twice. */
int gdbwatch_insert(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type)
{
    if (len == 0 || addr + len < addr)
        return -EINVAL;
    for (size_t i = 0; i < t->n; i++)
        if (t->w[i].addr == addr && t->w[i].len == len && t->w[i].type == type)
            return 0;
    if (t->n == GDB_MAX_WATCHES)
        return -ENOSPC;
    t->w[t->n++] = (struct gdb_watch){addr, len, type};
    return 0;
}

/* Removes one watchpoint; the last entry takes its place. */
int gdbwatch_remove(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->w[i].addr == addr && t->w[i].len == len && t->w[i].type == type) {
            t->w[i] = t->w[--t->n];
            return 0;
        }
    }
    return -ENOENT;
}

/* The accesses to page that must trap (see the header). */
unsigned gdbwatch_page_traps(const struct gdb_watches *t, gva_t page)
{
    unsigned traps = 0;
    for (size_t i = 0; i < t->nskip; i++)
        if (t->skip[i] == page)
            return 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct gdb_watch *w = &t->w[i];
        if (!ranges_overlap(w->addr, w->len, page, PAGE_SIZE))
            continue;
        if (w->type != GDB_WATCH_READ)
            traps |= CPU_TRAP_WRITE;
        if (w->type != GDB_WATCH_WRITE)
            traps |= CPU_TRAP_READ;
    }
    return traps;
}

/* The first watchpoint an access triggers, in insertion order. */
const struct gdb_watch *gdbwatch_hit(const struct gdb_watches *t, gva_t ea, gva_t size,
                                     enum access access, gva_t *hit)
{
    if (size == 0)
        size = 1;
    if (ea + size < ea)
        size = ~ea; /* clip at the top of the address space */
    for (size_t i = 0; i < t->n; i++) {
        const struct gdb_watch *w = &t->w[i];
        if (!watch_triggers(w->type, access) || !ranges_overlap(w->addr, w->len, ea, size))
            continue;
        *hit = ea > w->addr ? ea : w->addr;
        return w;
    }
    return NULL;
}

/* Suspends page's traps. */
int gdbwatch_skip(struct gdb_watches *t, gva_t page)
{
    for (size_t i = 0; i < t->nskip; i++)
        if (t->skip[i] == page)
            return 0;
    if (t->nskip == GDB_MAX_SKIP)
        return -ENOSPC;
    t->skip[t->nskip++] = page;
    return 0;
}

/* Ends the suspensions. */
void gdbwatch_unskip(struct gdb_watches *t)
{
    t->nskip = 0;
}
