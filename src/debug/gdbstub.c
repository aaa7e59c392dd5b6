/* The gdb remote-protocol stub (--gdb PORT). It listens on 127.0.0.1, waits for gdb, and
 * from then on the kernel loop (src/kernel/run_gdb.c) calls gdbstub_stop at every event of the
 * first process (program start, breakpoint, end of a single step, signal, exec, exit);
 * the stub answers gdb's packets until gdb resumes the guest. Memory goes through vmemu's
 * MMU (uaccess_peek/uaccess_poke: whatever the protections, nothing counted), breakpoints
 * are int3 bytes the stub writes and hides from memory reads, and a single step is the
 * CPU's trap flag (Unicorn raises #DB after one instruction, as the hardware does).
 * This file keeps the session: open, close, stop replies, the serving loop and the
 * dispatch of packets; gdbstub_packet.c has the wire protocol, gdbstub_cmd.c the
 * commands and queries, gdbstub_vfile.c host I/O, gdbstub_target.c registers, target.xml
 * and monitor commands. */
#include "vmemu/gdbstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "gdbstub_int.h"
#include "vmemu/cpu.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

#define RFLAGS_TF    0x100ULL /* trap flag: #DB after the next instruction */
#define GDB_SIGTRAP  5
#define GDB_NOT_TOLD (-1)                  /* gdb_serve: gdb does not hear of the event */
#define GDB_CTRL_C   0x03                  /* gdb's interrupt request while the guest runs */
#define GDB_POLL_GAP (20ULL * 1000 * 1000) /* ns between two looks for a Ctrl-C */

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
    case 'H': { /* Hg selects the thread of register packets; Hc: every thread resumes */
        struct proc *t = gdbstub_thread_find(g, pkt + 2);
        if (pkt[1] == 'g' && !t)
            *rc = gdb_send(g, "E01");
        else {
            if (pkt[1] == 'g')
                g->sel = t;
            *rc = gdb_send(g, "OK");
        }
        return GDB_STAY;
    }
    case 'T': /* is the thread alive? */
        *rc = gdb_send(g, gdbstub_thread_find(g, pkt + 1) ? "OK" : "E01");
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
    if (p->leader->pid != g->pid)
        return GDB_NOT_TOLD;
    /* The thread that stopped is the one the reply names and the registers are of. */
    g->stopped = p;
    g->sel = NULL;
    gdbstub_thread_id(g, p->pid, g->tid, sizeof(g->tid));
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
            proc_kill(p, LINUX_SIGKILL);
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
    g->sched->sys->cpu_flush_pending |= VM_FLUSH_DEBUG;
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
    if (!g || g->fd < 0 || p->leader->pid != g->pid)
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
