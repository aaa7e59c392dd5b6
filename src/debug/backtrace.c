/* The guest's call stack for crash reports (src/report/crash.c, src/report/report_json.c),
 * heap-checker reports (src/debug/heapcheck.c) and the gdb stub: program counters from RIP
 * outwards. A frame whose function starts with the frame-pointer prologue (push rbp; mov rbp, rsp)
 * is left through RBP's chain; a frameless one (gcc -O1 and up, musl) by the stack its
 * prologue (pushes, sub rsp) took, else by scanning the stack upwards for the first word that
 * points into code just after a call instruction (e8 rel32 or one of the ff /2 forms). Every
 * candidate is checked that way, so a broken chain or a stale word only costs a frame. Guest memory
 * is only read with copy_from_user_nofault(): nothing is faulted in and no counter changes.
 * A memo (the heap checker's and profiler's, who walk at every allocation) remembers where
 * each frameless frame's return address was and which values are return addresses. */
#include "vmemu/backtrace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/mm.h"
#include "vmemu/symbols.h"
#include "vmemu/uaccess.h"

#define BT_SCAN_WORDS   2048 /* words one frameless frame may span (16 KiB) */
#define BT_TOTAL_WORDS  8192 /* words scanned in all for one backtrace */
#define BT_LOOKAHEAD    64   /* words searched past a weak candidate for a better one */
#define BT_PROLOGUE_MAX 8    /* bytes read at a function's start */
#define X86_CALL_REL32  0xe8 /* call rel32 */
#define X86_GROUP5      0xff /* ff /2: call r/m64 */
#define X86_PUSH_RBP    0x55
#define X86_RET         0xc3

/* Where the return address of the frame at pc is. */
enum bt_frame {
    BT_AT_ENTRY, /* at the function's first instruction or its ret: at [rsp] */
    BT_PUSHED,   /* just after push rbp: at [rsp + 8] */
    BT_FP,       /* the frame-pointer prologue ran: at [rbp + 8], caller's rbp at [rbp] */
    BT_UNKNOWN,  /* no symbol: try [rsp] (a jump to bad code), the chain, then scan */
    BT_NOFP,     /* a function without a frame pointer: scan */
};

#define BT_LINE  256 /* bytes of guest memory a walk's cache reads at once */
#define BT_LINES 8   /* lines it keeps */

/* Guest memory a walk has read (lines of the stack and of the code), so that scanning a
 * frame word by word does not walk the page table for every word. */
struct bt_cache {
    gva_t line[BT_LINES];            /* the lines held (1: none) */
    bool ok[BT_LINES];               /* the line could be read */
    uint8_t data[BT_LINES][BT_LINE]; /* their bytes */
    unsigned next;                   /* the entry replaced next */
    unsigned last;                   /* the entry read last (tried first) */
};

#define BT_MEMO_SLOTS 4096 /* entries of each of a memo's tables (direct-mapped) */

#define BT_NO_PLACE UINT32_MAX /* bt_memo_frame.ret_at: not learned */

/* What a memo knows of the frame at one code address. */
struct bt_memo_frame {
    gva_t pc;        /* the address (0: entry empty) */
    uint32_t ret_at; /* bytes from the frame's sp to its caller's return address, or
                        BT_NO_PLACE */
    uint8_t kind;    /* enum bt_frame of a frame at pc that is not the innermost */
};

/* What a memo knows of one return address. */
struct bt_memo_ret {
    gva_t ret;      /* a value found to be a return address (0: entry empty) */
    gva_t target;   /* the function its direct call enters (0: an indirect call) */
    bool target_fn; /* target is a function's start */
};

/* What walks learned about one program's code; see backtrace.h. */
struct bt_memo {
    struct bt_memo_frame frame[BT_MEMO_SLOTS]; /* by code address */
    struct bt_memo_ret ret[BT_MEMO_SLOTS];     /* by return address */
};

/* The state of one walk. */
struct bt_walk {
    struct mm *mm;             /* address space read */
    struct bt_memo *memo;      /* what earlier walks learned, or NULL */
    struct bt_cache *cache;    /* pages read so far */
    const struct symtab *syms; /* the program's code and symbols, or NULL */
    gva_t sp;                  /* lowest address the caller's frame may use */
    gva_t top;                 /* end of the stack area */
    gva_t fp;                  /* candidate frame pointer (0: none) */
    unsigned scanned;          /* words scanned so far */
};

/* Reads n bytes at va through the walk's cache; false when they are not all there. A read
 * that crosses a line is split in two cached reads (a function's prologue and the bytes
 * before a return address often do). */
static bool bt_read(const struct bt_walk *w, gva_t va, void *dst, size_t n)
{
    struct bt_cache *c = w->cache;
    gva_t line = va & ~(gva_t)(BT_LINE - 1);
    if (((va + n - 1) & ~(gva_t)(BT_LINE - 1)) != line) {
        size_t first = (size_t)(line + BT_LINE - va);
        if (n > BT_LINE)
            return copy_from_user_nofault(w->mm, dst, va, n) == n;
        return bt_read(w, va, dst, first) &&
               bt_read(w, va + first, (uint8_t *)dst + first, n - first);
    }
    unsigned i = c->last;
    if (c->line[i] != line) {
        i = 0;
        while (i < BT_LINES && c->line[i] != line)
            i++;
    }
    if (i == BT_LINES) {
        i = c->next;
        c->next = (c->next + 1) % BT_LINES;
        c->line[i] = line;
        c->ok[i] = copy_from_user_nofault(w->mm, c->data[i], line, BT_LINE) == BT_LINE;
    }
    c->last = i;
    if (!c->ok[i])
        return copy_from_user_nofault(w->mm, dst, va, n) == n;
    memcpy(dst, c->data[i] + (va - line), n);
    return true;
}

/* Whether va is in the program's code: an executable section of syms, or, without a
 * symbol table, an executable area. */
static bool bt_is_code(const struct bt_walk *w, gva_t va)
{
    const struct vma *v;

    if (w->syms != NULL)
        return symtab_is_code(w->syms, va);
    v = vma_lookup(&w->mm->vmas, va);
    return v != NULL && (v->prot & VM_EXEC) != 0;
}

/* Length of the ff /2 instruction with this ModRM (and SIB) byte, 0 when it is not a call. */
static unsigned call_ff_len(uint8_t modrm, uint8_t sib)
{
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;

    if (reg != 2)
        return 0;
    switch (mod) {
    case 3:
        return 2;
    case 0:
        if (rm == 4)
            return (sib & 7) == 5 ? 7 : 3;
        return rm == 5 ? 6 : 2;
    case 1:
        return rm == 4 ? 4 : 3;
    default:
        return rm == 4 ? 7 : 6;
    }
}

/* The slot of code address pc in a memo's tables. */
static size_t bt_memo_slot(gva_t pc)
{
    return (size_t)((pc * 0x9e3779b97f4a7c15ULL) >> 52) & (BT_MEMO_SLOTS - 1);
}

/* Whether ret is a plausible return address: in code, and the bytes before it end a call
 * instruction (call rel32, or call through a register or memory). */
static bool bt_is_return(const struct bt_walk *w, gva_t ret)
{
    static const unsigned ff_lens[] = {2, 3, 4, 6, 7};
    uint8_t b[7];

    struct bt_memo_ret *known = w->memo ? &w->memo->ret[bt_memo_slot(ret)] : NULL;
    uint64_t off = 1;
    int32_t rel;

    if (ret < sizeof(b))
        return false;
    if (known && known->ret == ret)
        return true;
    if (!bt_is_code(w, ret) || !bt_read(w, ret - sizeof(b), b, sizeof(b)))
        return false;
    bool call = b[sizeof(b) - 5] == X86_CALL_REL32;
    for (size_t i = 0; !call && i < ARRAY_LEN(ff_lens); i++) {
        size_t at = sizeof(b) - ff_lens[i];

        call = b[at] == X86_GROUP5 &&
               call_ff_len(b[at + 1], at + 2 < sizeof(b) ? b[at + 2] : 0) == ff_lens[i];
    }
    if (call && known) {
        known->ret = ret;
        known->target = 0;
        if (b[sizeof(b) - 5] == X86_CALL_REL32) {
            memcpy(&rel, b + sizeof(b) - 4, sizeof(rel));
            known->target = ret + (gva_t)(int64_t)rel;
        }
        known->target_fn =
            known->target != 0 && symtab_lookup(w->syms, known->target, &off) != NULL && off == 0;
    }
    return call;
}

/* How the frame of the function executing at pc is left. innermost: pc is RIP (it may be
 * at the function's entry or its ret), not a return address. */
static enum bt_frame bt_frame_kind(const struct bt_walk *w, gva_t pc, bool innermost)
{
    static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    static const uint8_t mov_rbp_rsp[] = {0x48, 0x89, 0xe5};
    uint8_t b[BT_PROLOGUE_MAX], at_pc;
    uint64_t off = 0;
    gva_t start;
    size_t i = 0;

    if (symtab_lookup(w->syms, pc, &off) == NULL)
        return BT_UNKNOWN;
    start = pc - off;
    if (!bt_read(w, start, b, sizeof(b)))
        return BT_UNKNOWN;
    if (memcmp(b, endbr64, sizeof(endbr64)) == 0)
        i = sizeof(endbr64);
    if (innermost && (off <= i || (bt_read(w, pc, &at_pc, 1) && at_pc == X86_RET)))
        return BT_AT_ENTRY;
    if (b[i] != X86_PUSH_RBP)
        return BT_NOFP;
    if (innermost && off == i + 1)
        return BT_PUSHED;
    if (memcmp(b + i + 1, mov_rbp_rsp, sizeof(mov_rbp_rsp)) != 0)
        return BT_NOFP;
    return BT_FP;
}

/* The length of the instruction at b when it only moves or tests registers other than
 * rsp, or branches on a condition (gcc interleaves such instructions with a prologue's
 * pushes: `test rsi, rsi; je; push r13; mov rcx, rsi; ...`); 0 otherwise. */
static size_t bt_regop_len(const uint8_t *b)
{
    size_t p = (b[0] & 0xf0) == 0x40 ? 1 : 0; /* REX */
    unsigned rex = p ? b[0] : 0, op = b[p], modrm = b[p + 1];
    unsigned reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0), rm = (modrm & 7) | (rex & 1 ? 8 : 0);

    if (op >= 0x70 && op <= 0x7f) /* jcc rel8 */
        return p ? 0 : 2;
    if (op == 0x0f && (modrm & 0xf0) == 0x80 && !p) /* jcc rel32 */
        return 6;
    if ((modrm >> 6) != 3)
        return 0; /* a memory operand */
    switch (op) {
    case 0x89: /* mov r/m, r */
    case 0x01: /* add */
    case 0x09: /* or */
    case 0x21: /* and */
    case 0x29: /* sub */
    case 0x31: /* xor */
        return rm == 4 ? 0 : p + 2;
    case 0x8b: /* mov r, r/m */
    case 0x03:
    case 0x0b:
    case 0x23:
    case 0x2b:
    case 0x33:
    case 0x63: /* movsxd */
        return reg == 4 ? 0 : p + 2;
    case 0x85: /* test */
    case 0x84:
    case 0x39: /* cmp */
    case 0x3b:
        return p + 2;
    default:
        return 0;
    }
}

/* The stack bytes a frameless function's prologue (pushes, then sub rsp, imm; register moves, tests
 * and conditional branches between them) has taken by the time pc runs, so that its return address
 * is at rsp + *size. False when the function is unknown or starts otherwise. */
static bool bt_frameless_size(const struct bt_walk *w, gva_t pc, uint64_t *size)
{
    uint8_t b[64];
    uint64_t off = 0, taken = 0;
    size_t i = 0, len;
    int32_t imm;

    if (symtab_lookup(w->syms, pc, &off) == NULL || !bt_read(w, pc - off, b, sizeof(b)))
        return false;
    if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa) /* endbr64 */
        i = 4;
    while (i + 8 <= sizeof(b) && i < off) {
        if (b[i] >= 0x50 && b[i] <= 0x57) { /* push r64 */
            i += 1;
            taken += 8;
        } else if (b[i] == 0x41 && b[i + 1] >= 0x50 && b[i + 1] <= 0x57) { /* push r8-r15 */
            i += 2;
            taken += 8;
        } else if (b[i] == 0x48 && b[i + 1] == 0x83 && b[i + 2] == 0xec) { /* sub rsp, imm8 */
            taken += b[i + 3];
            i += 4;
            break;
        } else if (b[i] == 0x48 && b[i + 1] == 0x81 && b[i + 2] == 0xec) { /* sub rsp, imm32 */
            memcpy(&imm, b + i + 3, sizeof(imm));
            if (imm < 0)
                return false;
            taken += (uint64_t)imm;
            i += 7;
            break;
        } else if ((len = bt_regop_len(b + i)) != 0) {
            i += len;
        } else {
            break;
        }
    }
    *size = taken;
    return true;
}

/* Takes the return address at [at] when it is one: *ret gets it, w->sp moves past it. */
static bool bt_take_at(struct bt_walk *w, gva_t at, gva_t *ret)
{
    uint64_t v;

    if (at < w->sp || at + 8 > w->top || !bt_read(w, at, &v, sizeof(v)) || !bt_is_return(w, v))
        return false;
    *ret = v;
    w->sp = at + 8;
    return true;
}

/* One step through the frame-pointer chain: the return address at [fp + 8], the caller's
 * frame pointer at [fp]. Valid only when fp lies in the stack above sp and the saved one
 * is above fp (or 0, the outermost frame's mark). */
static bool bt_step_fp(struct bt_walk *w, gva_t *ret)
{
    uint64_t saved;
    gva_t fp = w->fp;

    if (fp == 0 || fp % 8 != 0 || fp < w->sp || fp + 16 > w->top ||
        !bt_read(w, fp, &saved, sizeof(saved)) || (saved != 0 && saved <= fp) ||
        !bt_take_at(w, fp + 8, ret))
        return false;
    w->fp = saved;
    return true;
}

/* Whether pc is in _start, whose frame is the first one: above it are argc, argv and the
 * environment, nothing to scan. */
static bool bt_is_outermost(const struct bt_walk *w, gva_t pc)
{
    const char *name = symtab_lookup(w->syms, pc, NULL);

    return name != NULL && name[0] == '_' &&
           (strcmp(name, "_start") == 0 || strcmp(name, "_start_c") == 0);
}

/* How well the call just before ret matches the function that starts at callee. */
enum bt_fit {
    BT_FIT_OTHER, /* a direct call to another function: a stale word of an earlier call,
                     or the caller of a function that tail-called callee */
    BT_FIT_MAYBE, /* an indirect call, or a call whose target is no function's start (a
                     PLT stub); or callee is unknown */
    BT_FIT_EXACT, /* a direct call to callee */
};

static enum bt_fit bt_call_fit(const struct bt_walk *w, gva_t ret, gva_t callee)
{
    const struct bt_memo_ret *known = w->memo ? &w->memo->ret[bt_memo_slot(ret)] : NULL;
    uint8_t b[5];
    int32_t rel;
    uint64_t off = 1;
    gva_t target;

    if (callee == 0)
        return BT_FIT_MAYBE;
    if (known && known->ret == ret)
        return known->target == 0        ? BT_FIT_MAYBE
               : known->target == callee ? BT_FIT_EXACT
               : known->target_fn        ? BT_FIT_OTHER
                                         : BT_FIT_MAYBE;
    if (!bt_read(w, ret - 5, b, sizeof(b)) || b[0] != X86_CALL_REL32)
        return BT_FIT_MAYBE;
    memcpy(&rel, b + 1, sizeof(rel));
    target = ret + (gva_t)(int64_t)rel;
    if (target == callee)
        return BT_FIT_EXACT;
    if (symtab_lookup(w->syms, target, &off) == NULL || off != 0)
        return BT_FIT_MAYBE;
    return BT_FIT_OTHER;
}

/* Scans upwards from sp for the return address of the frame of the function that starts
 * at callee (0: unknown): a direct call to callee wins, found at most BT_LOOKAHEAD words
 * after the first candidate; else the first indirect or PLT call; else the first return
 * address seen. */
static bool bt_scan(struct bt_walk *w, gva_t callee, gva_t *ret, enum bt_fit *fit_out)
{
    gva_t best = 0, best_sp = 0, first_at = 0;
    enum bt_fit best_fit = BT_FIT_OTHER;

    for (unsigned i = 0; i < BT_SCAN_WORDS && w->scanned < BT_TOTAL_WORDS; i++, w->scanned++) {
        gva_t at = (w->sp + 7) / 8 * 8;
        enum bt_fit fit;

        if (at + 8 > w->top || (first_at != 0 && at - first_at > BT_LOOKAHEAD * 8))
            break;
        if (bt_take_at(w, at, ret)) {
            fit = bt_call_fit(w, *ret, callee);
            *fit_out = fit;
            if (fit == BT_FIT_EXACT)
                return true;
            if (best == 0 || fit > best_fit) {
                best = *ret;
                best_sp = w->sp;
                best_fit = fit;
            }
            if (first_at == 0)
                first_at = at;
        }
        w->sp = at + 8;
    }
    if (best == 0)
        return false;
    *ret = best;
    w->sp = best_sp;
    *fit_out = best_fit;
    return true;
}

/* Start of the function holding pc, 0 when unknown. */
static gva_t bt_func_start(const struct bt_walk *w, gva_t pc)
{
    uint64_t off = 0;

    return symtab_lookup(w->syms, pc, &off) != NULL ? pc - off : 0;
}

/* bt_frame_kind, from the memo when it knows pc (not for the innermost frame). */
static enum bt_frame bt_kind(const struct bt_walk *w, gva_t pc, bool innermost)
{
    struct bt_memo_frame *f = w->memo ? &w->memo->frame[bt_memo_slot(pc)] : NULL;

    if (f == NULL || innermost)
        return bt_frame_kind(w, pc, innermost);
    if (f->pc != pc) {
        f->pc = pc;
        f->kind = (uint8_t)bt_frame_kind(w, pc, false);
        f->ret_at = BT_NO_PLACE;
    }
    return (enum bt_frame)f->kind;
}

/* Takes the return address of the frame at pc (entered at w->sp) from where the memo says
 * it was found last time, when the word there is a return address from a call that may
 * enter pc's function: *ret gets it, w->sp moves past it. */
static bool bt_take_memo(struct bt_walk *w, gva_t pc, gva_t *ret)
{
    const struct bt_memo_frame *f = w->memo ? &w->memo->frame[bt_memo_slot(pc)] : NULL;
    gva_t sp = w->sp;

    if (f == NULL || f->pc != pc || f->ret_at == BT_NO_PLACE)
        return false;
    if (bt_take_at(w, sp + f->ret_at, ret) &&
        bt_call_fit(w, *ret, bt_func_start(w, pc)) != BT_FIT_OTHER)
        return true;
    w->sp = sp;
    return false;
}

/* Remembers that the frame at pc kept its caller's return address off bytes above the sp
 * it was entered with. */
static void bt_learn(struct bt_walk *w, gva_t pc, uint64_t off)
{
    struct bt_memo_frame *f = w->memo ? &w->memo->frame[bt_memo_slot(pc)] : NULL;

    if (f == NULL || off >= BT_NO_PLACE)
        return;
    f->pc = pc;
    f->kind = BT_NOFP; /* the same whether innermost or not */
    f->ret_at = (uint32_t)off;
}

/* Collects up to max program counters of mm's call stack, innermost first: pcs[0] = rip,
 * then return addresses. rsp may lie in a stack's guard gap (a stack overflow): the words
 * from the stack's start up are then used. A frame-pointer chain is followed while it is valid
 * (each RBP inside the stack area, strictly increasing, its return address in an executable section
 * of syms and just after a call); a frame whose function has no frame pointer is left by
 * the bytes its prologue's pushes and sub rsp took; where that or the chain fails, the
 * return address is found by scanning the words from the last frame upwards for a value
 * that lies in code and follows a call instruction (preferring, a few words further, one
 * whose direct call enters the function of the frame below, as a stale word's does not). A saved
 * RBP of 0 (set by _start) or a frame in _start ends the walk. Guest memory is read with
 * copy_from_user_nofault (no fault is counted, nothing is paged in). Returns the number of entries
 * written (>= 1 when max >= 1). */
int backtrace_collect(struct mm *mm, const struct symtab *syms, gva_t rip, gva_t rsp, gva_t rbp,
                      gva_t *pcs, int max)
{
    return backtrace_collect_memo(mm, syms, NULL, rip, rsp, rbp, pcs, max);
}

/* A walk with a memo; see backtrace.h. */
int backtrace_collect_memo(struct mm *mm, const struct symtab *syms, struct bt_memo *memo,
                           gva_t rip, gva_t rsp, gva_t rbp, gva_t *pcs, int max)
{
    struct bt_cache cache = {.line = {1, 1, 1, 1, 1, 1, 1, 1}};
    struct bt_walk w = {
        .mm = mm, .memo = memo, .cache = &cache, .syms = syms, .sp = rsp, .fp = rbp};
    const struct vma *stack;
    int n = 0;

    if (max < 1)
        return 0;
    pcs[n++] = rip;
    stack = mm != NULL ? vma_find(&mm->vmas, rsp) : NULL;
    if (stack == NULL ||
        (rsp < stack->start && (stack->flags & VM_GROWSDOWN) == 0)) /* not in a stack */
        return n;
    w.top = stack->end;
    /* Whether every frame so far was found for sure (not by a scan that settled for a call
     * that may not enter the frame's function): only then does the memo learn, since a
     * place learned above a wrong frame would be wrong every time. */
    bool sure = true;
    while (n < max) {
        enum bt_frame kind = bt_kind(&w, pcs[n - 1], n == 1);
        uint64_t size = 0;
        gva_t ret = 0, sp = w.sp;
        bool from_memo = kind == BT_NOFP && bt_take_memo(&w, pcs[n - 1], &ret);
        bool found = from_memo;
        enum bt_fit fit = BT_FIT_EXACT;

        if (!found && (kind == BT_AT_ENTRY || (kind == BT_UNKNOWN && n == 1)))
            found = bt_take_at(&w, w.sp, &ret);
        else if (!found && kind == BT_NOFP && bt_frameless_size(&w, pcs[n - 1], &size))
            found = bt_take_at(&w, w.sp + size, &ret);
        else if (!found && kind == BT_PUSHED)
            found = bt_take_at(&w, w.sp + 8, &ret);
        if (!found && (kind == BT_FP || kind == BT_UNKNOWN)) {
            if (w.fp == 0 && n > 1 && kind == BT_FP)
                break; /* the outermost frame */
            found = bt_step_fp(&w, &ret);
        }
        if (!found)
            found = bt_scan(&w, bt_func_start(&w, pcs[n - 1]), &ret, &fit);
        if (!found)
            break;
        sure = sure && fit == BT_FIT_EXACT;
        if (sure && kind == BT_NOFP && !from_memo)
            bt_learn(&w, pcs[n - 1], w.sp - 8 - sp);
        pcs[n++] = ret;
        if (bt_is_outermost(&w, ret))
            break;
    }
    return n;
}

/* A new memo; see backtrace.h. */
struct bt_memo *backtrace_memo_new(void)
{
    return calloc(1, sizeof(struct bt_memo));
}

/* Frees a memo; see backtrace.h. */
void backtrace_memo_free(struct bt_memo *memo)
{
    free(memo);
}

/* "0x401136 main+22" (or "0x401136 main" at a symbol's start, or just the address when no
 * symbol is known) into buf. */
void backtrace_format(const struct symtab *syms, gva_t pc, char *buf, size_t len)
{
    uint64_t off = 0;
    const char *name = symtab_lookup(syms, pc, &off);

    if (name == NULL)
        snprintf(buf, len, "0x%" PRIx64, pc);
    else if (off != 0)
        snprintf(buf, len, "0x%" PRIx64 " %s+%" PRIu64, pc, name, off);
    else
        snprintf(buf, len, "0x%" PRIx64 " %s", pc, name);
}

/* One line per frame: "<indent>#0  0x401136 main+22". */
void backtrace_print(FILE *out, const struct symtab *syms, const gva_t *pcs, int n,
                     const char *indent)
{
    char text[320];

    for (int i = 0; i < n; i++) {
        backtrace_format(syms, pcs[i], text, sizeof(text));
        fprintf(out, "%s#%-2d %s\n", indent, i, text);
    }
}
