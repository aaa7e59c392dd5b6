/* The gdb stub's commands on the stopped guest: software breakpoints (int3 bytes hidden
 * from memory reads), memory reads and writes through vmemu's MMU, the register packets,
 * monitor commands (qRcmd), vCont, watchpoints made with vmemu's page protection (Z2-Z4),
 * and the query packets (q...: qSupported, target.xml and exec-file transfers, thread ids,
 * qOffsets). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/uaccess.h"
#include "vmemu/vma.h"

#define GDB_INT3 0xcc

/* The breakpoint at addr, or NULL. */
struct gdb_bp *bp_find(struct gdbstub *g, gva_t addr)
{
    for (size_t i = 0; i < g->nbps; i++)
        if (g->bps[i].addr == addr)
            return &g->bps[i];
    return NULL;
}

/* Z0: saves the byte at addr and writes an int3 there. Returns 0 or -errno. */
static int bp_insert(struct gdbstub *g, struct mm *mm, gva_t addr)
{
    if (bp_find(g, addr))
        return 0;
    if (g->nbps == GDB_MAX_BPS)
        return -ENOSPC;
    uint8_t orig, int3 = GDB_INT3;
    int rc = uaccess_peek(mm, &orig, addr, 1);
    if (rc == 0)
        rc = uaccess_poke(mm, addr, &int3, 1);
    if (rc < 0)
        return rc;
    g->bps[g->nbps++] = (struct gdb_bp){addr, orig};
    return 0;
}

/* z0: puts the saved byte back (mm may be NULL after exec: then only forgets it). */
static int bp_remove(struct gdbstub *g, struct mm *mm, gva_t addr)
{
    struct gdb_bp *b = bp_find(g, addr);
    if (!b)
        return 0;
    int rc = mm ? uaccess_poke(mm, addr, &b->orig, 1) : 0;
    *b = g->bps[--g->nbps];
    return rc;
}

/* Puts every saved byte back into mm (a fork child's copy, or before gdb goes away). */
void bp_strip(struct gdbstub *g, struct mm *mm)
{
    for (size_t i = 0; i < g->nbps; i++)
        uaccess_poke(mm, g->bps[i].addr, &g->bps[i].orig, 1);
}

/* Reads guest memory for `m`: as much as is readable from addr (page by page), with the
 * stub's int3 bytes shown as the bytes they replaced. Returns the bytes read. */
static size_t gdb_peek(struct gdbstub *g, struct mm *mm, gva_t addr, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t chunk = PAGE_SIZE - ((addr + done) & (PAGE_SIZE - 1));
        if (chunk > len - done)
            chunk = len - done;
        if (uaccess_peek(mm, buf + done, addr + done, chunk) < 0)
            break;
        done += chunk;
    }
    for (size_t i = 0; i < g->nbps; i++)
        if (g->bps[i].addr - addr < done)
            buf[g->bps[i].addr - addr] = g->bps[i].orig;
    return done;
}

/* Writes guest memory for M/X; a write over an inserted breakpoint changes the byte the
 * breakpoint will restore and keeps the int3. Returns 0 or -errno. */
static int gdb_poke(struct gdbstub *g, struct mm *mm, gva_t addr, const uint8_t *buf, size_t len)
{
    int rc = uaccess_poke(mm, addr, buf, len);
    if (rc < 0)
        return rc;
    uint8_t int3 = GDB_INT3;
    for (size_t i = 0; i < g->nbps; i++) {
        if (g->bps[i].addr - addr < len) {
            g->bps[i].orig = buf[g->bps[i].addr - addr];
            uaccess_poke(mm, g->bps[i].addr, &int3, 1);
        }
    }
    return 0;
}

/* Answers qXfer:OBJECT:read:ANNEX:OFF,LEN from the bytes of data. */
static int gdb_xfer_reply(struct gdbstub *g, const char *data, size_t size, const char *args)
{
    const char *s = args;
    uint64_t off = parse_hex(&s);
    if (*s++ != ',')
        return gdb_send(g, "E01");
    uint64_t len = parse_hex(&s);
    if (len > GDB_PKT_MAX / 2)
        len = GDB_PKT_MAX / 2;
    if (off >= size)
        return gdb_send(g, "l");
    size_t n = size - off < len ? size - off : len;
    char *o = g->out;
    *o++ = n < size - off ? 'm' : 'l';
    for (size_t i = 0; i < n; i++) {
        char c = data[off + i];
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            *o++ = '}';
            c ^= 0x20;
        }
        *o++ = c;
    }
    return gdb_send_n(g, g->out, (size_t)(o - g->out));
}

/* Load bias of a static PIE (ET_DYN) for qOffsets; 0 for ET_EXEC. */
static gva_t gdb_pie_bias(struct proc *p)
{
    uint8_t ehdr[18];
    for (size_t i = 0; i < p->mm->vmas.n; i++) {
        const struct vma *v = &p->mm->vmas.v[i];
        if (v->kind != VMA_IMAGE || v->pgoff != 0)
            continue;
        if (uaccess_peek(p->mm, ehdr, v->start, sizeof(ehdr)) == 0 && ehdr[16] == 3 /* ET_DYN */)
            return v->start;
        return 0;
    }
    return 0;
}

/* qRcmd: runs a monitor command; its output goes to gdb's console as O packets. */
static int gdb_monitor(struct gdbstub *g, struct proc *p, const char *hexcmd)
{
    size_t n = strlen(hexcmd) / 2;
    char *cmd = calloc(1, n + 1);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = cmd ? open_memstream(&text, &tlen) : NULL;
    if (!f || hex_decode(hexcmd, (uint8_t *)cmd, n) < 0) {
        if (f)
            fclose(f);
        free(text);
        free(cmd);
        return gdb_send(g, "E01");
    }
    gdbstub_monitor(p, cmd, f);
    fclose(f);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < tlen; off += 1024) {
        size_t k = tlen - off < 1024 ? tlen - off : 1024;
        g->out[0] = 'O';
        hex_encode(g->out + 1, (const uint8_t *)text + off, k);
        rc = gdb_send(g, g->out);
    }
    free(text);
    free(cmd);
    return rc == 0 ? gdb_send(g, "OK") : rc;
}

/* The action of a vCont packet for our one thread (the first action applies); a C or S
 * action's signal goes to g->resume_sig. */
enum gdb_action gdb_vcont(struct gdbstub *g, const char *s)
{
    if (*s != ';')
        return GDB_STAY;
    s++;
    g->resume_sig = (*s == 'C' || *s == 'S') ? parse_resume_sig(s + 1) : 0;
    return (*s == 's' || *s == 'S') ? GDB_STEP : GDB_CONTINUE;
}

/* qSupported: what gdb offers, what we do. */
static int gdb_supported(struct gdbstub *g, const char *features)
{
    g->exec_events = strstr(features, "exec-events+") != NULL;
    g->multiprocess = strstr(features, "multiprocess+") != NULL;
    /* Fork events name the child as pPID.TID: only with the multiprocess extensions. */
    g->fork_events = g->multiprocess && strstr(features, "fork-events+") != NULL;
    gdbstub_thread_id(g, g->stopped ? g->stopped->pid : g->pid, g->tid, sizeof(g->tid));
    snprintf(g->out, sizeof(g->out),
             "PacketSize=%x;qXfer:features:read+;qXfer:exec-file:read+;swbreak+;"
             "QStartNoAckMode+;vContSupported+%s%s%s",
             GDB_PKT_MAX, g->exec_events ? ";exec-events+" : "",
             g->multiprocess ? ";multiprocess+" : "", g->fork_events ? ";fork-events+" : "");
    return gdb_send(g, g->out);
}

/* Spells thread tid as packets do (see gdbstub_int.h). */
void gdbstub_thread_id(const struct gdbstub *g, int tid, char *buf, size_t n)
{
    if (g->multiprocess)
        snprintf(buf, n, "p%x.%x", g->pid, tid);
    else
        snprintf(buf, n, "%x", tid);
}

/* The task a packet's thread id names (see gdbstub_int.h). */
struct proc *gdbstub_thread_find(const struct gdbstub *g, const char *s)
{
    if (*s == 'p') { /* pPID.TID */
        const char *dot = strchr(s, '.');
        if (!dot)
            return NULL;
        s = dot + 1;
    }
    if (strcmp(s, "0") == 0 || strcmp(s, "-1") == 0)
        return g->stopped;
    long tid = strtol(s, NULL, 16);
    struct proc *t = sched_find(g->sched, (int)tid);
    if (!t || t->leader->pid != g->pid || t->state == PROC_ZOMBIE)
        return NULL;
    return t;
}

/* Register packets g, G, p, P: of the thread Hg chose; another thread than the stopped
 * one is read from its saved registers and cannot be written. */
int gdb_regs(struct gdbstub *g, struct proc *p, const char *pkt)
{
    uint8_t regs[GDB_REGS_BYTES];
    size_t off, size;
    if (g->sel && g->sel != p) {
        if (pkt[0] == 'G' || pkt[0] == 'P' || !g->sel->ctx)
            return gdb_send(g, "E01");
        gdbstub_regs_read_saved(g->sel, regs);
    } else {
        gdbstub_regs_read(p, regs);
    }
    if (pkt[0] == 'g') {
        hex_encode(g->out, regs, sizeof(regs));
        return gdb_send(g, g->out);
    }
    if (pkt[0] == 'G') {
        if (strlen(pkt + 1) < 2 * sizeof(regs) || hex_decode(pkt + 1, regs, sizeof(regs)) < 0)
            return gdb_send(g, "E01");
        gdbstub_regs_write(p, regs);
        return gdb_send(g, "OK");
    }
    const char *s = pkt + 1;
    int n = (int)parse_hex(&s);
    if (!gdbstub_reg_slot(n, &off, &size))
        return gdb_send(g, pkt[0] == 'p' ? "E00" : "E01");
    if (pkt[0] == 'p') {
        hex_encode(g->out, regs + off, size);
        return gdb_send(g, g->out);
    }
    if (*s++ != '=' || strlen(s) < 2 * size || hex_decode(s, regs + off, size) < 0)
        return gdb_send(g, "E01");
    gdbstub_regs_write(p, regs);
    return gdb_send(g, "OK");
}

/* Memory packets m, M, X. */
int gdb_memory(struct gdbstub *g, struct proc *p, const char *pkt)
{
    const char *s = pkt + 1;
    gva_t addr = parse_hex(&s);
    if (*s++ != ',')
        return gdb_send(g, "E01");
    size_t len = parse_hex(&s);
    if (!p->mm)
        return gdb_send(g, "E0e");
    if (pkt[0] == 'm') {
        uint8_t buf[GDB_PKT_MAX / 2];
        if (len > sizeof(buf))
            len = sizeof(buf);
        size_t n = gdb_peek(g, p->mm, addr, buf, len);
        if (n == 0 && len > 0)
            return gdb_send(g, "E0e"); /* EFAULT */
        hex_encode(g->out, buf, n);
        return gdb_send(g, g->out);
    }
    if (*s++ != ':' || len > GDB_PKT_MAX)
        return gdb_send(g, "E01");
    uint8_t buf[GDB_PKT_MAX];
    if (pkt[0] == 'M') {
        if (strlen(s) < 2 * len || hex_decode(s, buf, len) < 0)
            return gdb_send(g, "E01");
    } else {
        if ((size_t)(g->pkt + g->pktlen - s) < len)
            return gdb_send(g, "E01");
        memcpy(buf, s, len);
    }
    if (len > 0 && gdb_poke(g, p->mm, addr, buf, len) < 0)
        return gdb_send(g, "E0e");
    return gdb_send(g, "OK");
}

/* The CPU's page-trap function while watchpoints exist: the accesses to page of the
 * watched address space that must trap. */
static unsigned gdb_page_traps(void *ctx, const struct mm *mm, gva_t page)
{
    const struct gdbstub *g = ctx;
    if (mm != g->watch_mm || g->watches.n == 0)
        return 0;
    return gdbwatch_page_traps(&g->watches, page);
}

/* Drops every watchpoint; the CPU's TLB is flushed before the guest runs again. */
void watch_clear(struct gdbstub *g)
{
    g->watches.n = 0;
    gdbwatch_unskip(&g->watches);
    g->watch_mm = NULL;
    g->sched->sys->cpu_flush_pending |= VM_FLUSH_DEBUG;
}

/* Z2-Z4 / z2-z4: a watchpoint of p's address space. The page protections change at the
 * next fill: the CPU's TLB is flushed before the guest runs again. Returns 0 or -errno. */
static int watch_change(struct gdbstub *g, struct proc *p, bool insert, gva_t addr, gva_t len,
                        enum gdb_watch_type type)
{
    if (!p->mm)
        return -EFAULT;
    if (!g->trap_installed) {
        cpu_set_page_trap(p->cpu, gdb_page_traps, g);
        g->trap_installed = true;
    }
    if (g->watch_mm != p->mm)
        g->watches.n = 0;
    g->watch_mm = p->mm;
    g->sched->sys->cpu_flush_pending |= VM_FLUSH_DEBUG;
    return insert ? gdbwatch_insert(&g->watches, addr, len, type)
                  : gdbwatch_remove(&g->watches, addr, len, type);
}

/* Z/z packets: software breakpoints (0) and watchpoints (2 write, 3 read, 4 access) made
 * with vmemu's page protection. Hardware breakpoints (1) are not supported: gdb uses
 * software ones. */
int gdb_breakpoint(struct gdbstub *g, struct proc *p, const char *pkt)
{
    int kind = pkt[1] - '0';
    if (kind < 0 || kind > 4 || kind == 1 || pkt[2] != ',')
        return gdb_send(g, "");
    const char *s = pkt + 3;
    gva_t addr = parse_hex(&s);
    gva_t len = 0;
    if (*s == ',') {
        s++;
        len = parse_hex(&s);
    }
    int rc;
    if (kind == 0)
        rc = pkt[0] == 'Z' ? bp_insert(g, p->mm, addr) : bp_remove(g, p->mm, addr);
    else
        rc = watch_change(g, p, pkt[0] == 'Z', addr, len, (enum gdb_watch_type)kind);
    return gdb_send(g, rc == 0 ? "OK" : rc == -EINVAL ? "E16" : "E0e");
}

/* Query packets (q...). */
int gdb_query(struct gdbstub *g, struct proc *p, const char *pkt)
{
    static const char xfer_features[] = "qXfer:features:read:target.xml:";
    static const char xfer_exec[] = "qXfer:exec-file:read:";
    if (strncmp(pkt, "qSupported", 10) == 0)
        return gdb_supported(g, pkt + 10);
    if (strncmp(pkt, xfer_features, sizeof(xfer_features) - 1) == 0)
        return gdb_xfer_reply(g, gdbstub_target_xml, strlen(gdbstub_target_xml),
                              pkt + sizeof(xfer_features) - 1);
    if (strncmp(pkt, xfer_exec, sizeof(xfer_exec) - 1) == 0) {
        const char *args = strchr(pkt + sizeof(xfer_exec) - 1, ':');
        if (!args || !p->exe)
            return gdb_send(g, "E01");
        return gdb_xfer_reply(g, p->exe, strlen(p->exe), args + 1);
    }
    if (strcmp(pkt, "qAttached") == 0 || strncmp(pkt, "qAttached:", 10) == 0)
        return gdb_send(g, "1"); /* quitting gdb detaches: the program runs to its end */
    if (strcmp(pkt, "qC") == 0) {
        snprintf(g->out, sizeof(g->out), "QC%s", g->tid);
        return gdb_send(g, g->out);
    }
    if (strcmp(pkt, "qfThreadInfo") == 0) { /* every thread of the process, in one reply */
        size_t k = 0;
        const struct sched *s = g->sched;
        for (size_t i = 0; i < s->nprocs && k + 48 < sizeof(g->out); i++) {
            const struct proc *t = s->procs[i];
            if (t->leader->pid != g->pid || t->state == PROC_ZOMBIE || t->state == PROC_DEAD)
                continue;
            g->out[k] = k == 0 ? 'm' : ',';
            k++;
            gdbstub_thread_id(g, t->pid, g->out + k, sizeof(g->out) - k);
            k += strlen(g->out + k);
        }
        if (k == 0)
            snprintf(g->out, sizeof(g->out), "m%s", g->tid);
        return gdb_send(g, g->out);
    }
    if (strcmp(pkt, "qsThreadInfo") == 0)
        return gdb_send(g, "l");
    if (strcmp(pkt, "qOffsets") == 0) {
        gva_t bias = p->mm ? gdb_pie_bias(p) : 0;
        snprintf(g->out, sizeof(g->out), "Text=%llx;Data=%llx;Bss=%llx", (unsigned long long)bias,
                 (unsigned long long)bias, (unsigned long long)bias);
        return gdb_send(g, g->out);
    }
    if (strncmp(pkt, "qRcmd,", 6) == 0)
        return gdb_monitor(g, p, pkt + 6);
    return gdb_send(g, "");
}
