/* Inside the gdb stub: what its files share. gdbstub.c (the session and run control),
 * gdbstub_packet.c (hex, signal numbers, socket I/O, packets), gdbstub_cmd.c (breakpoints,
 * memory, registers, watchpoints, queries), gdbstub_vfile.c (host I/O), gdbstub_target.c
 * (the amd64 register layout and target.xml, the monitor commands) and gdbstub_watch.c
 * (the watchpoint table). Not for other modules: they use vmemu/gdbstub.h. */
#ifndef VMEMU_GDBSTUB_INT_H
#define VMEMU_GDBSTUB_INT_H

#include <stddef.h>
#include <stdio.h>

#include "vmemu/cpu.h" /* CPU_TRAP_READ, CPU_TRAP_WRITE */
#include "vmemu/types.h"

struct mm;
struct proc;
struct sched;

/* Bytes of the `g` packet's register block (registers 0-59 of the target description). */
#define GDB_REGS_BYTES 560
/* Registers in the target description. */
#define GDB_NREGS      60

/* The target description gdb reads with qXfer:features:read:target.xml. */
extern const char gdbstub_target_xml[];

/* Writes p's registers (p must be the process on the CPU) in the g layout into out
 * (GDB_REGS_BYTES). */
void gdbstub_regs_read(struct proc *p, uint8_t out[GDB_REGS_BYTES]);
struct gdbstub;

/* The general registers, RIP, flags and FS/GS base of a thread that does not run, from its
 * saved context, in the g layout; the others are zero. */
void gdbstub_regs_read_saved(const struct proc *t, uint8_t out[GDB_REGS_BYTES]);
/* Spells thread tid of the debugged process into buf as packets do (pPID.TID with the
 * multiprocess extensions, else TID). */
void gdbstub_thread_id(const struct gdbstub *g, int tid, char *buf, size_t n);
/* The task of the debugged process that a thread id of a packet names (at s: "p1.2", "2",
 * 0 or -1 for any), or NULL. */
struct proc *gdbstub_thread_find(const struct gdbstub *g, const char *s);
/* Loads registers from a g-layout block (G packet). */
void gdbstub_regs_write(struct proc *p, const uint8_t in[GDB_REGS_BYTES]);
/* Size and offset in the g layout of register n. Returns false for an unknown register. */
bool gdbstub_reg_slot(int n, size_t *off, size_t *size);

/* Kinds of watchpoints, numbered as gdb's Z packets. */
enum gdb_watch_type {
    GDB_WATCH_WRITE = 2,  /* Z2: write watchpoint (`watch`) */
    GDB_WATCH_READ = 3,   /* Z3: read watchpoint (`rwatch`) */
    GDB_WATCH_ACCESS = 4, /* Z4: access watchpoint (`awatch`) */
};

#define GDB_MAX_WATCHES 64 /* watchpoints at once */
#define GDB_MAX_SKIP    4  /* pages whose traps a step over one instruction suspends */

struct gdb_watch {
    gva_t addr;               /* first watched byte */
    gva_t len;                /* bytes watched (> 0) */
    enum gdb_watch_type type; /* write, read or access */
};

/* The watchpoints of the debugged address space (src/debug/gdbstub_watch.c: no CPU, no mm). */
struct gdb_watches {
    struct gdb_watch w[GDB_MAX_WATCHES]; /* inserted watchpoints */
    size_t n;                            /* entries in w */
    gva_t skip[GDB_MAX_SKIP];            /* pages that do not trap now (stepping over) */
    size_t nskip;                        /* entries in skip */
};

/* Adds a watchpoint (inserting one that exists is fine). Returns 0, -EINVAL for len 0 or
 * a range past the end of the address space, -ENOSPC when the table is full. */
int gdbwatch_insert(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type);
/* Removes the watchpoint (addr, len, type). Returns 0 or -ENOENT. */
int gdbwatch_remove(struct gdb_watches *t, gva_t addr, gva_t len, enum gdb_watch_type type);
/* The accesses to the page at page (aligned) that must trap, as the CPU's page-trap
 * function answers them: CPU_TRAP_WRITE when a write or access watchpoint overlaps it,
 * CPU_TRAP_READ for a read or access one; 0 for a skipped page. */
unsigned gdbwatch_page_traps(const struct gdb_watches *t, gva_t page);
/* The first watchpoint that an access of `access` to [ea, ea + size) triggers (writes
 * trigger write and access watchpoints, reads read and access ones), or NULL. *hit is set
 * to the first accessed byte inside it. size 0 is taken as 1. */
const struct gdb_watch *gdbwatch_hit(const struct gdb_watches *t, gva_t ea, gva_t size,
                                     enum access access, gva_t *hit);
/* Suspends the traps of page until gdbwatch_unskip. Returns 0 or -ENOSPC. */
int gdbwatch_skip(struct gdb_watches *t, gva_t page);
/* Ends every suspension. */
void gdbwatch_unskip(struct gdb_watches *t);

/* Runs the monitor command cmd (qRcmd) for p, printing its output to out.
 * Returns 0, or -EINVAL for an unknown command or bad argument (a usage line is printed). */
int gdbstub_monitor(struct proc *p, const char *cmd, FILE *out);

/* ---- the session's state (gdbstub.c, gdbstub_packet.c, gdbstub_cmd.c, gdbstub_vfile.c) */

#define GDB_PKT_MAX   0x4000 /* PacketSize we announce (and the largest we accept) */
#define GDB_MAX_BPS   256    /* software breakpoints at once */
#define GDB_MAX_FILES 8      /* vFile descriptors open at once */

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
    char tid[40];                   /* the stopped thread's id as packets spell it */
    struct proc *stopped;           /* the thread that stopped (its registers are the CPU's) */
    struct proc *sel;               /* the thread Hg chose for register packets, or NULL */
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

/* ---- gdbstub_packet.c: hex, signal numbers, socket I/O, packets */

/* Parses hex digits at *s up to a non-hex character; *s is moved past them. Returns the
 * value (0 when there are none). */
uint64_t parse_hex(const char **s);
/* Decodes 2*n hex digits at s into n bytes at dst. Returns 0 or -EINVAL (a non-hex digit). */
int hex_decode(const char *s, uint8_t *dst, size_t n);
/* Writes n bytes of src as 2*n lowercase hex digits and a NUL at dst. Returns a pointer to
 * that NUL. */
char *hex_encode(char *dst, const uint8_t *src, size_t n);
/* gdb's number for Linux signal linux_sig; 143 (GDB_SIGNAL_UNKNOWN) when it has none. */
int gdb_signal(int linux_sig);
/* The signal of a C/S packet or a vCont C/S action at s (hex digits, gdb's numbering), as
 * Linux's; 0 when it has no Linux equivalent. */
int parse_resume_sig(const char *s);
/* Closes the connection to gdb (g->fd becomes -1); closing a closed one is fine. */
void gdb_drop(struct gdbstub *g);
/* Sends one packet of n bytes (data may hold any byte but '$', '#', '}' and '*', which the
 * callers escape). Waits for gdb's '+' unless no-ack mode is on. Returns 0 or -ECONNRESET
 * (the connection is then dropped). */
int gdb_send_n(struct gdbstub *g, const char *data, size_t n);
/* gdb_send_n of the NUL-terminated s. Returns 0 or -ECONNRESET. */
int gdb_send(struct gdbstub *g, const char *s);
/* Receives the next packet into g->pkt (unescaped, NUL-terminated) and g->pktlen, acking it
 * unless no-ack mode is on; a Ctrl-C byte while the guest is stopped is dropped. Returns 0
 * or -ECONNRESET. */
int gdb_recv(struct gdbstub *g);

/* ---- gdbstub_cmd.c: breakpoints, memory, registers, watchpoints, queries. Each packet
 * handler sends its reply and returns 0, or -ECONNRESET when gdb went away. */

/* The software breakpoint at addr, or NULL. */
struct gdb_bp *bp_find(struct gdbstub *g, gva_t addr);
/* Puts every saved byte back into mm (a fork child's copy, or before gdb goes away); the
 * breakpoints stay in g->bps. */
void bp_strip(struct gdbstub *g, struct mm *mm);
/* Drops every watchpoint; the CPU's TLB is flushed before the guest runs again. */
void watch_clear(struct gdbstub *g);
/* The action of the vCont packet whose text after "vCont" is s, for our one thread (the
 * first action applies): GDB_STEP, GDB_CONTINUE, or GDB_STAY when s is not ";..."; a C or S
 * action's signal goes to g->resume_sig. Sends nothing. */
enum gdb_action gdb_vcont(struct gdbstub *g, const char *s);
/* Register packets g, G, p, P of p. */
int gdb_regs(struct gdbstub *g, struct proc *p, const char *pkt);
/* Memory packets m, M, X of p's address space. */
int gdb_memory(struct gdbstub *g, struct proc *p, const char *pkt);
/* Z/z packets: software breakpoints (0) and watchpoints (2 write, 3 read, 4 access). */
int gdb_breakpoint(struct gdbstub *g, struct proc *p, const char *pkt);
/* Query packets (q...), qRcmd monitor commands among them. */
int gdb_query(struct gdbstub *g, struct proc *p, const char *pkt);

/* ---- gdbstub_vfile.c: host I/O */

/* Host I/O packets: pkt is the text after "vFile:" (setfs, open, pread, fstat, close,
 * readlink); sends the reply. Returns 0 or -ECONNRESET. */
int gdb_vfile(struct gdbstub *g, struct proc *p, const char *pkt);
/* Closes the vFile descriptors g->files holds. */
void files_close(struct gdbstub *g);

#endif
