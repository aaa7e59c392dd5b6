/* The --trace formatter, private to the syscall layer: it builds the strace-like line of
 * one syscall, "[PID] name(args) = RET", printing each argument and the result as
 * vmemu/abi/syscall_table.h says (decimal, hex, pointer, guest string, descriptor, open
 * flags, mmap protection). Defined in syscalls/trace.c; used by syscalls/dispatch.c. */
#ifndef VMEMU_SYSCALLS_TRACE_H
#define VMEMU_SYSCALLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct proc;

/* A --trace line being built; output past its size is cut. The caller starts it empty
 * (len 0, s[0] '\0') and writes s out itself. */
struct trace_buf {
    char s[1024]; /* the text, always NUL-terminated */
    size_t len;   /* bytes used */
};

/* Appends "[PID] name(args)" for syscall nr of p with its six raw arguments: the table's
 * arguments as their kinds say, or, for a number not in the table, its name (or
 * "syscall_NR") and all six in hex. Guest strings are read now, so call it before the
 * handler runs (unlink, rename and execve change or remove them). */
void trace_call(struct trace_buf *tb, struct proc *p, uint64_t nr, const uint64_t args[6]);

/* Appends " = RET" for the value ret that syscall nr returned: "-1 ENOENT (No such file
 * or directory)" for -4095..-1, else as the table's result kind says (signed decimal for
 * a number not in the table). */
void trace_result(struct trace_buf *tb, uint64_t nr, long ret);

#endif
