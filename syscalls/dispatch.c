/* The one entry point from a guest `syscall` instruction to its handler. A static array
 * indexed by syscall number is built from SYSCALL_TABLE (syscalls/table.h); the same table
 * says how --trace prints every argument. Unknown or unimplemented numbers return -ENOSYS
 * and are reported once per number on stderr. Called by the kernel loop (src/run.c) with
 * the six raw argument registers. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/heapcheck.h"
#include "vmemu/sched.h"
#include "vmemu/syscall.h"

/* How --trace prints an argument or a return value (the letters of table.h). */
enum trace_kind {
    KIND_I, /* signed decimal */
    KIND_U, /* unsigned decimal */
    KIND_H, /* hex */
    KIND_P, /* pointer: 0x... or NULL */
    KIND_S, /* guest string */
    KIND_F, /* descriptor (AT_FDCWD for -100) */
    KIND_O, /* open flags */
    KIND_M, /* mmap protection */
    KIND_N, /* not printed */
};

struct syscall_desc {
    const char *name;                              /* "read"; NULL = not in the table */
    long (*fn)(struct proc *p, const uint64_t *a); /* handler */
    uint8_t nargs;                                 /* arguments the trace prints */
    uint8_t ret;                                   /* enum trace_kind of the result */
    uint8_t kind[6];                               /* enum trace_kind of each argument */
};

/* One table entry, indexed by syscall number. */
#define SYSCALL_DESC(nr, name_, nargs_, ret_, a1, a2, a3, a4, a5, a6)                              \
    [nr] = {.name = #name_,                                                                        \
            .fn = sys_##name_,                                                                     \
            .nargs = nargs_,                                                                       \
            .ret = KIND_##ret_,                                                                    \
            .kind = {KIND_##a1, KIND_##a2, KIND_##a3, KIND_##a4, KIND_##a5, KIND_##a6}},

/* Numbers past the last x86-64 syscall are never in the table. */
#define SYSCALL_NR_LIMIT 512

static const struct syscall_desc syscall_table[SYSCALL_NR_LIMIT] = {SYSCALL_TABLE(SYSCALL_DESC)};

#undef SYSCALL_DESC

/* "Reported once" memory for -ENOSYS: a bit per number below the limit, and a short list
 * for wild numbers (beyond it, they are not reported any more). Shared by the whole run,
 * like the kernel's pr_warn_once. */
static uint64_t enosys_logged[SYSCALL_NR_LIMIT / 64];
static uint64_t enosys_wild[16];
static size_t enosys_nwild;

static bool enosys_first_time(uint64_t nr)
{
    if (nr < SYSCALL_NR_LIMIT) {
        uint64_t bit = 1ULL << (nr % 64);
        bool first = !(enosys_logged[nr / 64] & bit);
        enosys_logged[nr / 64] |= bit;
        return first;
    }
    for (size_t i = 0; i < enosys_nwild; i++)
        if (enosys_wild[i] == nr)
            return false;
    if (enosys_nwild == ARRAY_LEN(enosys_wild))
        return false;
    enosys_wild[enosys_nwild++] = nr;
    return true;
}

/* A growing line for --trace; output past its size is cut. */
struct trace_buf {
    char s[1024]; /* the text, always NUL-terminated */
    size_t len;   /* bytes used */
};

static void __attribute__((format(printf, 2, 3)))
tb_printf(struct trace_buf *tb, const char *fmt, ...)
{
    va_list ap;
    if (tb->len >= sizeof(tb->s) - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(tb->s + tb->len, sizeof(tb->s) - tb->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        tb->len += (size_t)n;
    if (tb->len > sizeof(tb->s) - 1)
        tb->len = sizeof(tb->s) - 1;
}

/* Longest string argument the trace shows before "...". */
#define TRACE_STRLEN 32

/* A guest string as strace shows it: quoted, escaped, cut at TRACE_STRLEN bytes with "..."
 * after the quote; the bare address when it cannot be read. */
static void trace_string(struct trace_buf *tb, struct proc *p, gva_t va)
{
    char s[TRACE_STRLEN + 2];
    if (va == 0) {
        tb_printf(tb, "NULL");
        return;
    }
    long n = strncpy_from_user(p->mm, s, va, sizeof(s));
    if (n == -EFAULT) {
        tb_printf(tb, "%#" PRIx64, va);
        return;
    }
    bool cut = n < 0 || n > TRACE_STRLEN;
    size_t len = strnlen(s, TRACE_STRLEN);
    tb_printf(tb, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char next = i + 1 < len ? (unsigned char)s[i + 1] : 0;
        switch (c) {
        case '"':
            tb_printf(tb, "\\\"");
            break;
        case '\\':
            tb_printf(tb, "\\\\");
            break;
        case '\n':
            tb_printf(tb, "\\n");
            break;
        case '\t':
            tb_printf(tb, "\\t");
            break;
        case '\r':
            tb_printf(tb, "\\r");
            break;
        case '\f':
            tb_printf(tb, "\\f");
            break;
        case '\v':
            tb_printf(tb, "\\v");
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                tb_printf(tb, "%c", c);
            else if (next >= '0' && next <= '7')
                tb_printf(tb, "\\%03o", c); /* a short escape would swallow the digit */
            else
                tb_printf(tb, "\\%o", c);
        }
    }
    tb_printf(tb, cut ? "\"..." : "\"");
}

struct flag_name {
    uint64_t bit;     /* the flag's bits */
    const char *name; /* its name */
};

/* Prints the names of the bits set in v joined by '|', then what is left in hex. */
static void trace_flags(struct trace_buf *tb, uint64_t v, const struct flag_name *f, size_t n,
                        bool any)
{
    for (size_t i = 0; i < n; i++) {
        if ((v & f[i].bit) == f[i].bit) {
            tb_printf(tb, "%s%s", any ? "|" : "", f[i].name);
            v &= ~f[i].bit;
            any = true;
        }
    }
    if (v != 0 || !any)
        tb_printf(tb, "%s%#" PRIx64, any ? "|" : "", v);
}

static void trace_open_flags(struct trace_buf *tb, uint64_t v)
{
    /* Multi-bit flags first, so that O_SYNC is not shown as O_DSYNC|0x100000. */
    static const struct flag_name names[] = {
        {LINUX_O_SYNC, "O_SYNC"},           {LINUX_O_TMPFILE, "O_TMPFILE"},
        {LINUX_O_CREAT, "O_CREAT"},         {LINUX_O_EXCL, "O_EXCL"},
        {LINUX_O_NOCTTY, "O_NOCTTY"},       {LINUX_O_TRUNC, "O_TRUNC"},
        {LINUX_O_APPEND, "O_APPEND"},       {LINUX_O_NONBLOCK, "O_NONBLOCK"},
        {LINUX_O_DSYNC, "O_DSYNC"},         {LINUX_O_ASYNC, "O_ASYNC"},
        {LINUX_O_DIRECT, "O_DIRECT"},       {LINUX_O_LARGEFILE, "O_LARGEFILE"},
        {LINUX_O_DIRECTORY, "O_DIRECTORY"}, {LINUX_O_NOFOLLOW, "O_NOFOLLOW"},
        {LINUX_O_NOATIME, "O_NOATIME"},     {LINUX_O_CLOEXEC, "O_CLOEXEC"},
        {LINUX_O_PATH, "O_PATH"},
    };
    static const char *const modes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    uint32_t flags = (uint32_t)v;
    tb_printf(tb, "%s", modes[flags & LINUX_O_ACCMODE]);
    flags &= ~(uint32_t)LINUX_O_ACCMODE;
    if (flags != 0)
        trace_flags(tb, flags, names, ARRAY_LEN(names), true);
}

static void trace_prot(struct trace_buf *tb, uint64_t v)
{
    static const struct flag_name names[] = {
        {LINUX_PROT_READ, "PROT_READ"},           {LINUX_PROT_WRITE, "PROT_WRITE"},
        {LINUX_PROT_EXEC, "PROT_EXEC"},           {LINUX_PROT_SEM, "PROT_SEM"},
        {LINUX_PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {LINUX_PROT_GROWSUP, "PROT_GROWSUP"},
    };
    if (v == 0)
        tb_printf(tb, "PROT_NONE");
    else
        trace_flags(tb, v, names, ARRAY_LEN(names), false);
}

static void trace_arg(struct trace_buf *tb, struct proc *p, enum trace_kind kind, uint64_t v)
{
    switch (kind) {
    case KIND_I:
        tb_printf(tb, "%" PRId64, (int64_t)v);
        break;
    case KIND_U:
        tb_printf(tb, "%" PRIu64, v);
        break;
    case KIND_H:
        tb_printf(tb, "%#" PRIx64, v);
        break;
    case KIND_P:
        if (v == 0)
            tb_printf(tb, "NULL");
        else
            tb_printf(tb, "%#" PRIx64, v);
        break;
    case KIND_S:
        trace_string(tb, p, v);
        break;
    case KIND_F:
        if ((int)v == LINUX_AT_FDCWD)
            tb_printf(tb, "AT_FDCWD");
        else
            tb_printf(tb, "%d", (int)v);
        break;
    case KIND_O:
        trace_open_flags(tb, v);
        break;
    case KIND_M:
        trace_prot(tb, v);
        break;
    case KIND_N:
        break;
    }
}

/* "[PID] name(args" : everything but the result, written before the call so that strings
 * are read while they still exist (unlink, rename). */
static void trace_call(struct trace_buf *tb, struct proc *p, uint64_t nr,
                       const struct syscall_desc *d, const uint64_t args[6])
{
    tb_printf(tb, "[%d] ", p->pid);
    if (d != NULL) {
        tb_printf(tb, "%s(", d->name);
        bool first = true;
        for (unsigned i = 0; i < d->nargs && i < 6; i++) {
            if (d->kind[i] == KIND_N)
                continue;
            if (!first)
                tb_printf(tb, ", ");
            trace_arg(tb, p, d->kind[i], args[i]);
            first = false;
        }
    } else {
        const char *name = syscall_name(nr);
        if (name != NULL)
            tb_printf(tb, "%s(", name);
        else
            tb_printf(tb, "syscall_%" PRIu64 "(", nr);
        for (unsigned i = 0; i < 6; i++)
            tb_printf(tb, "%s%#" PRIx64, i ? ", " : "", args[i]);
    }
    tb_printf(tb, ")");
}

static void trace_result(struct trace_buf *tb, enum trace_kind kind, long ret)
{
    if (ret < 0 && ret >= -4095) {
        int err = (int)-ret;
        const char *name = strerrorname_np(err);
        const char *desc = strerrordesc_np(err);
        if (name != NULL)
            tb_printf(tb, " = -1 %s (%s)", name, desc != NULL ? desc : "?");
        else
            tb_printf(tb, " = -1 E%d", err);
    } else if (kind == KIND_H || kind == KIND_P) {
        tb_printf(tb, " = %#lx", (unsigned long)ret);
    } else if (kind == KIND_U) {
        tb_printf(tb, " = %lu", (unsigned long)ret);
    } else {
        tb_printf(tb, " = %ld", ret);
    }
}

/* Runs syscall nr with its six raw arguments for p and returns the value for RAX (>= 0 or
 * -errno); counts it in p->syscalls. With --trace (p->opt->trace), writes one strace-like
 * line: "[PID] name(args) = RET", "= -1 ENOENT (No such file or directory)" for errors,
 * "= ?" for exit/exit_group, whose line is written before they run. A number that is not
 * in the table returns -ENOSYS and is reported on stderr the first time it is seen. */
long syscall_dispatch(struct proc *p, uint64_t nr, const uint64_t args[6])
{
    const struct syscall_desc *d = NULL;
    FILE *trace = p->opt != NULL ? p->opt->trace : NULL;
    struct trace_buf tb;
    long ret;

    /* An intercepted allocator call of the heap checker is no syscall: not counted, not
     * traced; heapcheck_call has set every register already. */
    if (p->cpu != NULL && p->mm != NULL && heapcheck_call(p, p->mm->sys_rip))
        return (long)cpu_get(p->cpu, CPU_RAX);
    p->syscalls++;
    if (nr < SYSCALL_NR_LIMIT && syscall_table[nr].fn != NULL)
        d = &syscall_table[nr];
    if (trace != NULL) {
        tb.len = 0;
        tb.s[0] = '\0';
        trace_call(&tb, p, nr, d, args);
        if (nr == NR_exit || nr == NR_exit_group) {
            fprintf(trace, "%s = ?\n", tb.s);
            fflush(trace);
        }
    }
    if (d != NULL) {
        p->mm->sys_nr = (int)nr;
        p->mm->sys_seq = p->syscalls;
        ret = d->fn(p, args);
        if (p->mm != NULL)
            p->mm->sys_nr = -1;
    } else {
        ret = -ENOSYS;
        if (enosys_first_time(nr)) {
            const char *name = syscall_name(nr);
            if (name != NULL)
                fprintf(stderr,
                        "vmemu: unimplemented syscall %s (%" PRIu64 "), returning -ENOSYS\n", name,
                        nr);
            else
                fprintf(stderr,
                        "vmemu: unimplemented syscall syscall_%" PRIu64 " (%" PRIu64
                        "), returning -ENOSYS\n",
                        nr, nr);
        }
    }
    if (ret == -SCHED_EBLOCK) {
        /* The process sleeps and the syscall runs again when it wakes: it is counted and
         * traced once, when it completes. */
        p->syscalls--;
        return ret;
    }
    if (trace != NULL && nr != NR_exit && nr != NR_exit_group) {
        trace_result(&tb, d != NULL ? (enum trace_kind)d->ret : KIND_I, ret);
        fprintf(trace, "%s\n", tb.s);
    }
    return ret;
}
