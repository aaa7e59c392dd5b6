/* The gdb remote-protocol stub (--gdb PORT). It listens on 127.0.0.1, waits for gdb, and
 * from then on the kernel loop (src/run.c) calls gdbstub_stop at every event of the
 * first process (program start, breakpoint, end of a single step, signal, exec, exit);
 * the stub answers gdb's packets until gdb resumes the guest. Memory goes through vmemu's
 * MMU (uaccess_peek/uaccess_poke: whatever the protections, nothing counted), breakpoints
 * are int3 bytes the stub writes and hides from memory reads, and a single step is the
 * CPU's trap flag (Unicorn raises #DB after one instruction, as the hardware does).
 * Registers, target.xml and monitor commands are in src/gdbstub_target.c. */
#include "vmemu/gdbstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdbstub_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/procfs.h"
#include "vmemu/sched.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"
#include "vmemu/vma.h"

#define GDB_PKT_MAX   0x4000 /* PacketSize we announce (and the largest we accept) */
#define GDB_MAX_BPS   256    /* software breakpoints at once */
#define GDB_INT3      0xcc
#define RFLAGS_TF     0x100ULL /* trap flag: #DB after the next instruction */
#define GDB_SIGTRAP   5
#define GDB_NOT_TOLD  (-1)                  /* gdb_serve: gdb does not hear of the event */
#define GDB_MAX_FILES 8                     /* vFile descriptors open at once */
#define GDB_FAKE_PID  42000                 /* the pid gdb names without multiprocess extensions */
#define GDB_CTRL_C    0x03                  /* gdb's interrupt request while the guest runs */
#define GDB_POLL_GAP  (20ULL * 1000 * 1000) /* ns between two looks for a Ctrl-C */

struct gdb_bp {
    gva_t addr;   /* where the int3 is */
    uint8_t orig; /* the byte it replaced */
};

struct gdbstub {
    int fd;                         /* the connection to gdb, -1 once gone */
    struct sched *sched;            /* the scheduler */
    int pid;                        /* the process gdb debugs (the first one) */
    bool noack;                     /* QStartNoAckMode accepted */
    bool exec_events;               /* gdb asked for exec stop replies */
    bool fork_events;               /* gdb asked for fork stop replies */
    bool multiprocess;              /* gdb's multiprocess extensions (pPID.TID ids) */
    char tid[40];                   /* the debugged thread's id as packets spell it */
    int resume_sig;                 /* Linux signal of the last C/S/vCont (0: c, s, none) */
    uint64_t last_poll;             /* host time of the last look for a Ctrl-C */
    int files[GDB_MAX_FILES];       /* host descriptors of vFile:open, -1 when free */
    char stop_reply[128];           /* the last stop reply, for `?` */
    struct gdb_bp bps[GDB_MAX_BPS]; /* inserted software breakpoints */
    size_t nbps;                    /* entries in bps */
    struct gdb_watches watches;     /* watchpoints (Z2-Z4), of watch_mm */
    const struct mm *watch_mm;      /* the address space they watch, NULL when none */
    bool trap_installed;            /* gdb_page_traps is the CPU's page-trap function */
    char rbuf[4096];                /* bytes received, not parsed yet */
    size_t rlen, rpos;              /* valid bytes in rbuf, and the parse position */
    char pkt[GDB_PKT_MAX + 1];      /* the packet being handled (NUL-terminated) */
    size_t pktlen;                  /* its length (binary data may hold NULs) */
    char out[2 * GDB_PKT_MAX + 16]; /* the reply being built */
};

/* What a packet asks of the serving loop. */
enum gdb_action {
    GDB_STAY,     /* answered: wait for the next packet */
    GDB_CONTINUE, /* resume the guest */
    GDB_STEP,     /* resume for one instruction */
    GDB_KILL,     /* end the process (SIGKILL) and the session */
    GDB_DETACH,   /* let the guest run on without gdb */
};

static const char hexdig[] = "0123456789abcdef";

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses hex digits at *s up to a non-hex character; *s is moved past them. */
static uint64_t parse_hex(const char **s)
{
    uint64_t v = 0;
    int d;
    while ((d = hexval((unsigned char)**s)) >= 0) {
        v = (v << 4) | (uint64_t)d;
        (*s)++;
    }
    return v;
}

/* Decodes 2*n hex digits into n bytes. Returns 0 or -EINVAL. */
static int hex_decode(const char *s, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return -EINVAL;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static char *hex_encode(char *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *dst++ = hexdig[src[i] >> 4];
        *dst++ = hexdig[src[i] & 15];
    }
    *dst = 0;
    return dst;
}

/* Linux signal numbers to gdb's (gdb/signals.def) and back; 0 = no equivalent. */
static const int gdb_sig_of_linux[32] = {
    0, 1,  2,  3,  4,  5,  6,  10, 8,  9,  30, 11, 31, 13, 14, 15,
    0, 20, 19, 17, 18, 21, 22, 16, 24, 25, 26, 27, 28, 23, 32, 12,
};

static int gdb_signal(int linux_sig)
{
    if (linux_sig > 0 && linux_sig < 32 && gdb_sig_of_linux[linux_sig])
        return gdb_sig_of_linux[linux_sig];
    return 143; /* GDB_SIGNAL_UNKNOWN */
}

/* gdb's signal number back to Linux's; -1 when it has no Linux equivalent. */
static int linux_signal(int gdb_sig)
{
    if (gdb_sig == 0)
        return 0;
    for (int sig = 1; sig < 32; sig++)
        if (gdb_sig_of_linux[sig] == gdb_sig)
            return sig;
    return -1;
}

/* The signal of a C/S packet or a vCont C/S action at s (hex digits), as Linux's. */
static int parse_resume_sig(const char *s)
{
    int sig = linux_signal((int)parse_hex(&s));
    return sig < 0 ? 0 : sig;
}

static void gdb_drop(struct gdbstub *g)
{
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
}

static int gdb_write_all(struct gdbstub *g, const char *buf, size_t n)
{
    while (n > 0 && g->fd >= 0) {
        ssize_t k = send(g->fd, buf, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            gdb_drop(g);
            return -ECONNRESET;
        }
        buf += k;
        n -= (size_t)k;
    }
    return g->fd >= 0 ? 0 : -ECONNRESET;
}

/* The next byte from gdb, or -1 when the connection ended. */
static int gdb_getc(struct gdbstub *g)
{
    if (g->rpos == g->rlen) {
        ssize_t k;
        do
            k = g->fd >= 0 ? recv(g->fd, g->rbuf, sizeof(g->rbuf), 0) : -1;
        while (k < 0 && errno == EINTR);
        if (k <= 0) {
            gdb_drop(g);
            return -1;
        }
        g->rlen = (size_t)k;
        g->rpos = 0;
    }
    return (unsigned char)g->rbuf[g->rpos++];
}

/* Sends one packet (data may hold any byte but '$', '#', '}' and '*', which the callers
 * escape). Waits for gdb's '+' unless no-ack mode is on. Returns 0 or -ECONNRESET. */
static int gdb_send_n(struct gdbstub *g, const char *data, size_t n)
{
    char head = '$', tail[3];
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)data[i];
    tail[0] = '#';
    tail[1] = hexdig[(sum >> 4) & 15];
    tail[2] = hexdig[sum & 15];
    for (int tries = 0; tries < 3; tries++) {
        if (gdb_write_all(g, &head, 1) < 0 || gdb_write_all(g, data, n) < 0 ||
            gdb_write_all(g, tail, 3) < 0)
            return -ECONNRESET;
        if (g->noack)
            return 0;
        int c;
        while ((c = gdb_getc(g)) >= 0 && c != '+' && c != '-')
            ;
        if (c < 0)
            return -ECONNRESET;
        if (c == '+')
            return 0;
    }
    return 0;
}

static int gdb_send(struct gdbstub *g, const char *s)
{
    return gdb_send_n(g, s, strlen(s));
}

/* Receives the next packet into g->pkt (unescaped, NUL-terminated). A Ctrl-C byte while
 * the guest is stopped is dropped. Returns 0 or -ECONNRESET. */
static int gdb_recv(struct gdbstub *g)
{
    for (;;) {
        int c;
        while ((c = gdb_getc(g)) >= 0 && c != '$')
            ;
        if (c < 0)
            return -ECONNRESET;
        size_t n = 0;
        unsigned sum = 0;
        bool overflow = false;
        while ((c = gdb_getc(g)) >= 0 && c != '#') {
            sum += (unsigned)c;
            if (c == '}') {
                int e = gdb_getc(g);
                if (e < 0)
                    return -ECONNRESET;
                sum += (unsigned)e;
                c = e ^ 0x20;
            }
            if (n < GDB_PKT_MAX)
                g->pkt[n++] = (char)c;
            else
                overflow = true;
        }
        int h = gdb_getc(g), l = gdb_getc(g);
        if (c < 0 || h < 0 || l < 0)
            return -ECONNRESET;
        bool ok = !overflow && hexval(h) >= 0 && hexval(l) >= 0 &&
                  (unsigned)(hexval(h) << 4 | hexval(l)) == (sum & 0xff);
        if (!g->noack && gdb_write_all(g, ok ? "+" : "-", 1) < 0)
            return -ECONNRESET;
        if (!ok && !g->noack)
            continue;
        g->pkt[n] = 0;
        g->pktlen = n;
        return 0;
    }
}

/* The breakpoint at addr, or NULL. */
static struct gdb_bp *bp_find(struct gdbstub *g, gva_t addr)
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
static void bp_strip(struct gdbstub *g, struct mm *mm)
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
static enum gdb_action gdb_vcont(struct gdbstub *g, const char *s)
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
    if (g->multiprocess)
        snprintf(g->tid, sizeof(g->tid), "p%x.%x", g->pid, g->pid);
    else
        snprintf(g->tid, sizeof(g->tid), "%x", g->pid);
    snprintf(g->out, sizeof(g->out),
             "PacketSize=%x;qXfer:features:read+;qXfer:exec-file:read+;swbreak+;"
             "QStartNoAckMode+;vContSupported+%s%s%s",
             GDB_PKT_MAX, g->exec_events ? ";exec-events+" : "",
             g->multiprocess ? ";multiprocess+" : "", g->fork_events ? ";fork-events+" : "");
    return gdb_send(g, g->out);
}

/* Register packets g, G, p, P. */
static int gdb_regs(struct gdbstub *g, struct proc *p, const char *pkt)
{
    uint8_t regs[GDB_REGS_BYTES];
    size_t off, size;
    gdbstub_regs_read(p, regs);
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
static int gdb_memory(struct gdbstub *g, struct proc *p, const char *pkt)
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
static void watch_clear(struct gdbstub *g)
{
    g->watches.n = 0;
    gdbwatch_unskip(&g->watches);
    g->watch_mm = NULL;
    g->sched->sys->cpu_flush_pending = true;
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
    g->sched->sys->cpu_flush_pending = true;
    return insert ? gdbwatch_insert(&g->watches, addr, len, type)
                  : gdbwatch_remove(&g->watches, addr, len, type);
}

/* Z/z packets: software breakpoints (0) and watchpoints (2 write, 3 read, 4 access) made
 * with vmemu's page protection. Hardware breakpoints (1) are not supported: gdb uses
 * software ones. */
static int gdb_breakpoint(struct gdbstub *g, struct proc *p, const char *pkt)
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

/* Sends "F<result>" followed by ';' and data (escaped) when data is not NULL. */
static int gdb_send_file_reply(struct gdbstub *g, long result, const char *data, size_t n)
{
    int k = snprintf(g->out, sizeof(g->out), "F%lx", result);
    if (result < 0)
        k = snprintf(g->out, sizeof(g->out), "F-1,%lx", -result);
    char *o = g->out + k;
    if (data) {
        *o++ = ';';
        for (size_t i = 0; i < n; i++) {
            char c = data[i];
            if (c == '$' || c == '#' || c == '}' || c == '*') {
                *o++ = '}';
                c ^= 0x20;
            }
            *o++ = c;
        }
    }
    return gdb_send_n(g, g->out, (size_t)(o - g->out));
}

/* The path of a vFile packet (hex) at *s up to ',' or the end, into buf. Returns 0 or
 * -ENAMETOOLONG / -EINVAL. */
static int file_path(const char **s, char *buf, size_t size)
{
    const char *end = strchr(*s, ',');
    size_t n = (end ? (size_t)(end - *s) : strlen(*s)) / 2;
    if (n >= size)
        return -ENAMETOOLONG;
    if (hex_decode(*s, (uint8_t *)buf, n) < 0)
        return -EINVAL;
    buf[n] = 0;
    *s += 2 * n;
    if (**s == ',')
        (*s)++;
    return 0;
}

/* What follows "/proc/PID/" in path when PID is the debugged process (or the pid gdb
 * makes up without multiprocess extensions), else NULL. */
static const char *proc_entry(const struct gdbstub *g, const char *path)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return NULL;
    char *end;
    long pid = strtol(path + 6, &end, 10);
    if (end == path + 6 || *end != '/' || (pid != g->pid && pid != GDB_FAKE_PID))
        return NULL;
    return end + 1;
}

/* vFile:open: the debugged process's /proc files, as vmemu makes them up for the guest
 * (src/procfs.c: maps from vmemu's areas, cmdline, status ...), and its program (gdb
 * reads it after an exec), read-only. Other paths get ENOENT: vmemu does not hand the
 * host's files to gdb. */
static int file_open(struct gdbstub *g, struct proc *p, const char *args)
{
    char path[512], self[600];
    if (file_path(&args, path, sizeof(path)) < 0)
        return gdb_send_file_reply(g, -ENAMETOOLONG, NULL, 0);
    const char *entry = proc_entry(g, path);
    bool exe = p->exe && strcmp(path, p->exe) == 0;
    if (!exe && (!entry || !*entry))
        return gdb_send_file_reply(g, -ENOENT, NULL, 0);
    int slot = 0;
    while (slot < GDB_MAX_FILES && g->files[slot] >= 0)
        slot++;
    if (slot == GDB_MAX_FILES)
        return gdb_send_file_reply(g, -EMFILE, NULL, 0);
    int fd;
    if (exe) {
        fd = open(p->exe, O_RDONLY | O_CLOEXEC);
        fd = fd < 0 ? -errno : fd;
    } else {
        snprintf(self, sizeof(self), "/proc/self/%s", entry);
        fd = procfs_open(p, self, O_RDONLY);
    }
    if (fd == PROCFS_PASS)
        fd = -ENOENT;
    if (fd < 0)
        return gdb_send_file_reply(g, fd, NULL, 0);
    g->files[slot] = fd;
    return gdb_send_file_reply(g, slot, NULL, 0);
}

/* Stores v big-endian in n bytes at dst (gdb's File-I/O struct stat). */
static void put_be(uint8_t *dst, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* vFile:fstat: gdb's 64-byte struct stat (File-I/O protocol: big-endian fields). */
static int file_fstat(struct gdbstub *g, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return gdb_send_file_reply(g, -errno, NULL, 0);
    uint8_t b[64];
    put_be(b + 0, st.st_dev, 4);
    put_be(b + 4, st.st_ino, 4);
    put_be(b + 8, st.st_mode, 4);
    put_be(b + 12, st.st_nlink, 4);
    put_be(b + 16, st.st_uid, 4);
    put_be(b + 20, st.st_gid, 4);
    put_be(b + 24, st.st_rdev, 4);
    put_be(b + 28, (uint64_t)st.st_size, 8);
    put_be(b + 36, (uint64_t)st.st_blksize, 8);
    put_be(b + 44, (uint64_t)st.st_blocks, 8);
    put_be(b + 52, (uint64_t)st.st_atime, 4);
    put_be(b + 56, (uint64_t)st.st_mtime, 4);
    put_be(b + 60, (uint64_t)st.st_ctime, 4);
    return gdb_send_file_reply(g, sizeof(b), (const char *)b, sizeof(b));
}

/* Host I/O packets (vFile:...) for `info proc` and the program after an exec: setfs,
 * open, pread, fstat, close, readlink of /proc/PID/exe; anything else is unsupported. */
static int gdb_vfile(struct gdbstub *g, struct proc *p, const char *pkt)
{
    const char *s;
    if (strncmp(pkt, "setfs:", 6) == 0)
        return gdb_send_file_reply(g, 0, NULL, 0);
    if (strncmp(pkt, "open:", 5) == 0)
        return file_open(g, p, pkt + 5);
    if (strncmp(pkt, "pread:", 6) == 0 || strncmp(pkt, "close:", 6) == 0 ||
        strncmp(pkt, "fstat:", 6) == 0) {
        s = pkt + 6;
        uint64_t slot = parse_hex(&s);
        if (slot >= GDB_MAX_FILES || g->files[slot] < 0)
            return gdb_send_file_reply(g, -EBADF, NULL, 0);
        if (pkt[0] == 'f')
            return file_fstat(g, g->files[slot]);
        if (pkt[0] == 'c') {
            close(g->files[slot]);
            g->files[slot] = -1;
            return gdb_send_file_reply(g, 0, NULL, 0);
        }
        uint64_t count = *s == ',' ? (s++, parse_hex(&s)) : 0;
        uint64_t off = *s == ',' ? (s++, parse_hex(&s)) : 0;
        char buf[GDB_PKT_MAX / 2];
        if (count > sizeof(buf))
            count = sizeof(buf);
        ssize_t n = pread(g->files[slot], buf, count, (off_t)off);
        if (n < 0)
            return gdb_send_file_reply(g, -errno, NULL, 0);
        return gdb_send_file_reply(g, n, buf, (size_t)n);
    }
    if (strncmp(pkt, "readlink:", 9) == 0) {
        char path[512];
        s = pkt + 9;
        const char *entry = file_path(&s, path, sizeof(path)) == 0 ? proc_entry(g, path) : NULL;
        if (!entry || strcmp(entry, "exe") != 0 || !p->exe)
            return gdb_send_file_reply(g, -ENOENT, NULL, 0);
        return gdb_send_file_reply(g, (long)strlen(p->exe), p->exe, strlen(p->exe));
    }
    return gdb_send(g, "");
}

/* Closes the vFile descriptors. */
static void files_close(struct gdbstub *g)
{
    for (int i = 0; i < GDB_MAX_FILES; i++) {
        if (g->files[i] >= 0)
            close(g->files[i]);
        g->files[i] = -1;
    }
}

/* Query packets (q...). */
static int gdb_query(struct gdbstub *g, struct proc *p, const char *pkt)
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
    if (strcmp(pkt, "qfThreadInfo") == 0) {
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

/* Handles one packet while the guest is stopped. */
static enum gdb_action gdb_handle(struct gdbstub *g, struct proc *p, int *rc)
{
    const char *pkt = g->pkt;
    switch (pkt[0]) {
    case '?':
        *rc = gdb_send(g, g->stop_reply);
        return GDB_STAY;
    case 'g':
    case 'G':
    case 'p':
    case 'P':
        *rc = gdb_regs(g, p, pkt);
        return GDB_STAY;
    case 'm':
    case 'M':
    case 'X':
        *rc = gdb_memory(g, p, pkt);
        return GDB_STAY;
    case 'Z':
    case 'z':
        *rc = gdb_breakpoint(g, p, pkt);
        return GDB_STAY;
    case 'q':
        *rc = gdb_query(g, p, pkt);
        return GDB_STAY;
    case 'H':
    case 'T':
        *rc = gdb_send(g, "OK");
        return GDB_STAY;
    case 'c':
    case 's':
        g->resume_sig = 0; /* a pending signal is discarded (gdb's `signal 0`, nopass) */
        return pkt[0] == 's' ? GDB_STEP : GDB_CONTINUE;
    case 'C':
    case 'S':
        g->resume_sig = parse_resume_sig(pkt + 1);
        return pkt[0] == 'S' ? GDB_STEP : GDB_CONTINUE;
    case 'k':
        return GDB_KILL;
    case 'D':
        *rc = gdb_send(g, "OK");
        /* D;PID of a fork child gdb does not follow: it runs on without gdb already. */
        if (pkt[1] == ';') {
            const char *s = pkt + 2;
            if ((int)parse_hex(&s) != g->pid)
                return GDB_STAY;
        }
        return GDB_DETACH;
    case 'v':
        if (strcmp(pkt, "vCont?") == 0) {
            *rc = gdb_send(g, "vCont;c;C;s;S");
            return GDB_STAY;
        }
        if (strncmp(pkt, "vCont;", 6) == 0)
            return gdb_vcont(g, pkt + 5);
        if (strncmp(pkt, "vFile:", 6) == 0) {
            *rc = gdb_vfile(g, p, pkt + 6);
            return GDB_STAY;
        }
        if (strncmp(pkt, "vKill", 5) == 0) {
            *rc = gdb_send(g, "OK");
            return GDB_KILL;
        }
        *rc = gdb_send(g, "");
        return GDB_STAY;
    case 'Q':
        if (strcmp(pkt, "QStartNoAckMode") == 0) {
            *rc = gdb_send(g, "OK");
            g->noack = true;
            return GDB_STAY;
        }
        *rc = gdb_send(g, "");
        return GDB_STAY;
    default:
        *rc = gdb_send(g, "");
        return GDB_STAY;
    }
}

/* Ends the session: breakpoints out of the guest, trap flag off, connection closed. */
static void gdb_end(struct gdbstub *g, struct proc *p)
{
    if (p->mm)
        bp_strip(g, p->mm);
    g->nbps = 0;
    watch_clear(g);
    gdb_drop(g);
}

/* Listens on 127.0.0.1:port and waits for gdb. */
int gdbstub_open(int port, struct sched *s, struct gdbstub **out)
{
    struct gdbstub *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->fd = -1;
    for (int i = 0; i < GDB_MAX_FILES; i++)
        g->files[i] = -1;
    g->sched = s;
    g->pid = s->nprocs ? s->procs[0]->pid : 0;
    snprintf(g->tid, sizeof(g->tid), "%x", g->pid);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        free(g);
        return -errno;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
        int rc = -errno;
        close(lfd);
        free(g);
        return rc;
    }
    fprintf(stderr, "vmemu: waiting for gdb on 127.0.0.1:%d (target remote :%d)\n", port, port);
    do
        g->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (g->fd < 0 && errno == EINTR);
    int rc = g->fd < 0 ? -errno : 0;
    close(lfd);
    if (rc < 0) {
        free(g);
        return rc;
    }
    setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = g;
    return 0;
}

/* Whether gdb is connected. */
bool gdbstub_attached(const struct gdbstub *g)
{
    return g && g->fd >= 0;
}

/* Closes the connection and frees g. */
void gdbstub_close(struct gdbstub *g)
{
    if (!g)
        return;
    gdb_drop(g);
    files_close(g);
    free(g);
}

/* Builds the stop reply for ev into g->stop_reply. Returns false when gdb is not told
 * about ev (an exec it did not ask for). */
static bool gdb_stop_reply(struct gdbstub *g, struct proc *p, enum gdb_event ev, gva_t addr,
                           int value)
{
    char *r = g->stop_reply;
    size_t n = sizeof(g->stop_reply);
    switch (ev) {
    case GDB_EV_EXIT: {
        int k;
        if ((value & 0x7f) == 0)
            k = snprintf(r, n, "W%02x", (value >> 8) & 0xff);
        else
            k = snprintf(r, n, "X%02x", gdb_signal(value & 0x7f));
        if (g->multiprocess)
            snprintf(r + k, n - (size_t)k, ";process:%x", g->pid);
        return true;
    }
    case GDB_EV_SIGNAL:
        snprintf(r, n, "T%02xthread:%s;", gdb_signal(value), g->tid);
        return true;
    case GDB_EV_BREAKPOINT:
        snprintf(r, n, "T%02xthread:%s;%s", GDB_SIGTRAP, g->tid,
                 bp_find(g, addr) ? "swbreak:;" : "");
        return true;
    case GDB_EV_WATCH:
        snprintf(r, n, "T%02xthread:%s;%s:%llx;", GDB_SIGTRAP, g->tid,
                 value == GDB_WATCH_READ     ? "rwatch"
                 : value == GDB_WATCH_ACCESS ? "awatch"
                                             : "watch",
                 (unsigned long long)addr);
        return true;
    case GDB_EV_EXEC: {
        if (!g->exec_events || !p->exe)
            return false;
        int k = snprintf(r, n, "T%02xthread:%s;exec:", GDB_SIGTRAP, g->tid);
        size_t len = strlen(p->exe);
        if ((size_t)k + 2 * len + 2 > n)
            return false;
        hex_encode(r + k, (const uint8_t *)p->exe, len);
        strcat(r, ";");
        return true;
    }
    case GDB_EV_FORK:
        if (!g->fork_events)
            return false;
        snprintf(r, n, "T%02xfork:p%x.%x;thread:%s;", GDB_SIGTRAP, value, value, g->tid);
        return true;
    case GDB_EV_START:
    case GDB_EV_STEP:
        snprintf(r, n, "T%02xthread:%s;", GDB_SIGTRAP, g->tid);
        return true;
    }
    return false;
}

/* Reports an event of p and serves gdb until it resumes the guest. Returns the Linux
 * signal gdb resumed with (C, S, vCont;C: the signal to deliver; c, s: 0), GDB_NOT_TOLD
 * when gdb does not hear of ev, or -ECONNRESET when gdb went away. */
static int gdb_serve(struct gdbstub *g, struct proc *p, enum gdb_event ev, gva_t addr, int value)
{
    if (!g || g->fd < 0)
        return -ECONNRESET;
    if (ev != GDB_EV_EXIT) /* the trap flag of a step is spent (or was inherited) */
        cpu_set(p->cpu, CPU_RFLAGS, cpu_get(p->cpu, CPU_RFLAGS) & ~RFLAGS_TF);
    if (p->pid != g->pid)
        return GDB_NOT_TOLD;
    if (ev == GDB_EV_FORK) {
        /* The child is not followed: its copy of the memory must not keep our int3s. A
         * vfork child shares the parent's memory and is not reported. */
        struct proc *child = sched_find(g->sched, value);
        if (!child || !child->mm || child->mm_borrowed)
            return GDB_NOT_TOLD;
        bp_strip(g, child->mm);
    }
    if (ev == GDB_EV_EXEC) {
        g->nbps = 0; /* the new image holds none of them */
        watch_clear(g);
    }
    if (ev == GDB_EV_BREAKPOINT && bp_find(g, addr))
        cpu_set(p->cpu, CPU_RIP, addr); /* resume at the instruction, not after the int3 */
    if (!gdb_stop_reply(g, p, ev, addr, value))
        return GDB_NOT_TOLD;
    if (ev == GDB_EV_EXIT) {
        gdb_send(g, g->stop_reply);
        g->nbps = 0;
        watch_clear(g);
        gdb_drop(g);
        return 0;
    }
    if (ev != GDB_EV_START && gdb_send(g, g->stop_reply) < 0) {
        gdb_end(g, p);
        return -ECONNRESET;
    }
    for (;;) {
        int rc = 0;
        if (gdb_recv(g) < 0) {
            gdb_end(g, p);
            return -ECONNRESET;
        }
        enum gdb_action a = gdb_handle(g, p, &rc);
        if (rc < 0) {
            gdb_end(g, p);
            return -ECONNRESET;
        }
        switch (a) {
        case GDB_STAY:
            continue;
        case GDB_STEP:
            cpu_set(p->cpu, CPU_RFLAGS, cpu_get(p->cpu, CPU_RFLAGS) | RFLAGS_TF);
            return g->resume_sig;
        case GDB_CONTINUE:
            return g->resume_sig;
        case GDB_KILL:
            gdb_end(g, p);
            proc_kill(p, SIGKILL);
            return 0;
        case GDB_DETACH:
            gdb_end(g, p);
            return -ECONNRESET;
        }
    }
}

/* Reports an event of p and serves gdb until it resumes the guest; for a signal, says
 * which one to deliver (the same when gdb is gone or was not told). */
int gdbstub_stop(struct gdbstub *g, struct proc *p, enum gdb_event ev, gva_t addr, int value)
{
    int rc = gdb_serve(g, p, ev, addr, value);
    if (ev != GDB_EV_SIGNAL)
        return rc < 0 ? rc : 0;
    return rc == GDB_NOT_TOLD ? value : rc;
}

/* Suspends the watchpoint traps of page (a step over the instruction that trapped). */
int gdbstub_watch_skip(struct gdbstub *g, gva_t page)
{
    return gdbwatch_skip(&g->watches, page);
}

/* Ends the suspensions; the pages had full permissions meanwhile: flush. */
void gdbstub_watch_rearm(struct gdbstub *g)
{
    gdbwatch_unskip(&g->watches);
    g->sched->sys->cpu_flush_pending = true;
}

/* The watchpoint of mm an access triggers (see the header). */
int gdbstub_watch_hit(const struct gdbstub *g, const struct mm *mm, gva_t ea, gva_t size,
                      enum access access, gva_t *addr)
{
    if (!g || mm != g->watch_mm)
        return 0;
    const struct gdb_watch *w = gdbwatch_hit(&g->watches, ea, size, access, addr);
    return w ? (int)w->type : 0;
}

/* Whether gdb sent a Ctrl-C while the guest ran (consumed here). Looks at the socket at
 * most every GDB_POLL_GAP of host time, without blocking, and only when p is the
 * debugged process (the byte waits for it otherwise). A connection gdb closed ends the
 * session as a detach does. */
bool gdbstub_interrupted(struct gdbstub *g, struct proc *p)
{
    if (!g || g->fd < 0 || p->pid != g->pid)
        return false;
    uint64_t now = now_ns();
    if (now - g->last_poll < GDB_POLL_GAP)
        return false;
    g->last_poll = now;
    if (g->rpos < g->rlen) {
        if (g->rbuf[g->rpos] != GDB_CTRL_C)
            return false;
        g->rpos++;
        return true;
    }
    char c;
    ssize_t k = recv(g->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0) {
        gdb_end(g, p);
        return false;
    }
    if (k < 0 || c != GDB_CTRL_C)
        return false;
    return recv(g->fd, &c, 1, MSG_DONTWAIT) == 1;
}
