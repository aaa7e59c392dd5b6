/* The guest's call stack, for crash reports, heap-checker reports and gdb: return
 * addresses found by following frame pointers where they are valid, else by scanning the
 * stack for values that point just after a call instruction in the program's code. */
#ifndef VMEMU_BACKTRACE_H
#define VMEMU_BACKTRACE_H

#include <stdio.h>

#include "vmemu/types.h"

#define BT_MAX_FRAMES 24 /* frames kept per backtrace */

struct mm;
struct symtab;

/* Collects up to max program counters of mm's call stack, innermost first: pcs[0] = rip,
 * then return addresses. A frame-pointer chain is followed while it is valid (each RBP
 * inside the stack area, strictly increasing, its return address in an executable section
 * of syms just after a call); a function without a frame pointer is left by the bytes its
 * prologue pushed and reserved; where both fail, the words above are scanned for a value in
 * code that follows a call instruction. An rsp in the stack's guard gap (an overflow)
 * starts at the stack's start. The walk ends at _start or a saved RBP of 0. Guest memory
 * is read with copy_from_user_nofault (no fault is counted, nothing is paged in).
 * Returns the number of entries written (>= 1 when max >= 1). */
int backtrace_collect(struct mm *mm, const struct symtab *syms, gva_t rip, gva_t rsp, gva_t rbp,
                      gva_t *pcs, int max);
/* What walks of one program's stacks learned, so that later walks through the same code
 * are cheap: where each return address's frame keeps its caller's return address, and
 * which values were found to be return addresses. Valid for one program's code (a fork
 * child may share it, an execve'd image needs its own). */
struct bt_memo;

/* A new, empty memo, or NULL when out of memory. */
struct bt_memo *backtrace_memo_new(void);
/* Frees memo (NULL is fine). */
void backtrace_memo_free(struct bt_memo *memo);
/* backtrace_collect, remembering in memo (NULL: none) where the return address of each
 * frame without a frame pointer was found, as long as every frame below was found for sure
 * (not by a scan that settled for a call that may not enter the frame's function), and
 * taking it from there on later walks through the same code when the word there is a
 * return address from a call that may enter the frame's function; else the frame is
 * walked as backtrace_collect does. Heap checking and profiling walk at every
 * allocation: this spares them the scan of each frame (one place per code address: the
 * frame's size there is fixed by the compiler). */
int backtrace_collect_memo(struct mm *mm, const struct symtab *syms, struct bt_memo *memo,
                           gva_t rip, gva_t rsp, gva_t rbp, gva_t *pcs, int max);
/* "0x401136 main+22" (or just the address when no symbol is known) into buf. */
void backtrace_format(const struct symtab *syms, gva_t pc, char *buf, size_t len);
/* One line per frame: "<indent>#0  0x401136 main+22". */
void backtrace_print(FILE *out, const struct symtab *syms, const gva_t *pcs, int n,
                     const char *indent);

#endif
