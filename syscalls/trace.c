/* The --trace formatter: one strace-like line per syscall, "[PID] name(args) = RET",
 * built in a fixed buffer (struct trace_buf, cut when full). A static array indexed by
 * syscall number, built from SYSCALL_TABLE (vmemu/abi/syscall_table.h), gives each
 * syscall's name and how its arguments and result print; guest strings are read with
 * strncpy_from_user, so an unreadable one shows as its address. Errors print as strace
 * does, "= -1 ENOENT (No such file or directory)". Called by syscalls/dispatch.c
 * (trace.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "trace.h"
#include "vmemu/syscall_names.h"

/* How --trace prints an argument or a return value (the letters of syscall_table.h). */
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

/* How the trace shows one syscall of the table. */
struct trace_desc {
    const char *name; /* "read"; NULL = not in the table */
    uint8_t nargs;    /* arguments the trace prints */
    uint8_t ret;      /* enum trace_kind of the result */
    uint8_t kind[6];  /* enum trace_kind of each argument */
};

/* One table entry, indexed by syscall number. */
#define TRACE_DESC(nr, name_, nargs_, ret_, a1, a2, a3, a4, a5, a6)                                \
    [nr] = {.name = #name_,                                                                        \
            .nargs = nargs_,                                                                       \
            .ret = KIND_##ret_,                                                                    \
            .kind = {KIND_##a1, KIND_##a2, KIND_##a3, KIND_##a4, KIND_##a5, KIND_##a6}},

static const struct trace_desc trace_table[SYSCALL_NR_LIMIT] = {SYSCALL_TABLE(TRACE_DESC)};

#undef TRACE_DESC

/* The table's entry for nr, or NULL when nr is not in the table. */
static const struct trace_desc *trace_lookup(uint64_t nr)
{
    return nr < SYSCALL_NR_LIMIT && trace_table[nr].name != NULL ? &trace_table[nr] : NULL;
}

/* Appends printf-formatted text to tb, cut where tb is full. */
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

/* "[PID] name(args)": everything but the result, written before the call so that strings
 * are read while they still exist (unlink, rename). */
void trace_call(struct trace_buf *tb, struct proc *p, uint64_t nr, const uint64_t args[6])
{
    const struct trace_desc *d = trace_lookup(nr);
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

/* " = RET": an error by its name and description, else as the result kind of nr says. */
void trace_result(struct trace_buf *tb, uint64_t nr, long ret)
{
    const struct trace_desc *d = trace_lookup(nr);
    enum trace_kind kind = d != NULL ? (enum trace_kind)d->ret : KIND_I;
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
