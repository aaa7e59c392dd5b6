/* The parts of the JSON report that describe one address space in detail: the "crash"
 * object (the facts of crash_describe(), as the crash report prints them) and the "vmas"
 * table. Nothing here faults a page in or changes a counter. Called by report_json.c. */
#include "crash.h"
#include "jsonval.h"
#include "report_int.h"
#include "vmemu/maps_table.h"
#include "vmemu/mm_stat.h"
#include "vmemu/vma.h"

/* The "unmapped_by" member of a crash: the syscall that removed the faulting address, or
 * json null. */
static json_t *rj_unmapped_by(const struct crash_info *ci)
{
    char text[CRASH_TEXT_MAX + 512];

    if (!ci->has_unmap)
        return json_null();
    crash_unmap_text(ci, text, sizeof(text));
    return json_pack(
        "{s:o, s:i, s:o, s:o, s:I, s:o, s:o, s:o}", "syscall", rj_str(ci->unmap_syscall), "sysno",
        ci->unmap.sysno, "rip", rj_hex(ci->unmap.rip), "symbol",
        rj_str(ci->unmap_symbol[0] ? ci->unmap_symbol : NULL), "seq", (json_int_t)ci->unmap.seq,
        "start", rj_hex(ci->unmap.start), "end", rj_hex(ci->unmap.end), "text", rj_str(text));
}

/* An array of the n strings of a char[n][stride] table. */
static json_t *rj_lines(const char *lines, size_t stride, int n)
{
    json_t *a = json_array();
    bool ok = true;

    for (int i = 0; i < n; i++)
        rj_append(a, rj_str(lines + (size_t)i * stride), &ok);
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* See report_int.h. */
json_t *rj_crash(const struct proc *p)
{
    struct crash_info ci;
    bool ok = true;

    if (p->mm == NULL || !crash_signal_is_crash(p))
        return json_null();
    crash_describe(p, NULL, &ci);
    json_t *o = json_object();
    rj_set(o, "signal", json_integer(ci.signo), &ok);
    rj_set(o, "signal_name", rj_str(crash_signal_name(ci.signo)), &ok);
    rj_set(o, "code", rj_str(ci.code), &ok);
    rj_set(o, "address", ci.is_memory ? rj_hex(ci.addr) : json_null(), &ok);
    rj_set(o, "size",
           ci.is_memory && ci.size != 0 ? json_integer((json_int_t)ci.size) : json_null(), &ok);
    rj_set(o, "access", ci.is_memory ? rj_str(crash_access_name(ci.access)) : json_null(), &ok);
    rj_set(o, "cause", rj_str(ci.is_memory ? crash_cause_name(&ci) : ci.what), &ok);
    rj_set(o, "rip", ci.has_rip ? rj_hex(ci.rip) : json_null(), &ok);
    rj_set(o, "symbol", rj_str(ci.has_rip && ci.symbol[0] ? ci.symbol : NULL), &ok);
    rj_set(o, "instruction", rj_str(ci.has_rip && ci.insn_ok ? ci.insn : NULL), &ok);
    rj_set(o, "caller", ci.has_caller ? rj_hex(ci.caller) : json_null(), &ok);
    rj_set(o, "caller_symbol",
           rj_str(ci.has_caller && ci.caller_symbol[0] ? ci.caller_symbol : NULL), &ok);
    rj_set(o, "cause_text", rj_str(ci.cause_text[0] ? ci.cause_text : NULL), &ok);
    rj_set(o, "heap_kind", rj_str(ci.heap_kind), &ok);
    rj_set(o, "heap", rj_str(ci.heap_kind != NULL ? ci.heap : NULL), &ok);
    rj_set(o, "backtrace", rj_lines(ci.bt[0], sizeof(ci.bt[0]), ci.bt_n), &ok);
    rj_set(o, "disassembly", rj_lines(ci.dis[0], sizeof(ci.dis[0]), ci.dis_n), &ok);
    rj_set(o, "vma", rj_str(ci.has_vma ? ci.vma : NULL), &ok);
    rj_set(o, "section", rj_str(ci.section[0] ? ci.section : NULL), &ok);
    rj_set(o, "file", rj_str(ci.file[0] ? ci.file : NULL), &ok);
    rj_set(o, "unmapped_by", rj_unmapped_by(&ci), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* See report_int.h. */
json_t *rj_vmas(const struct proc *p)
{
    const struct mm *mm = p->mm;
    json_t *a = json_array();
    bool ok = true;

    for (size_t i = 0; mm != NULL && i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        const char *name = maps_vma_name(v);
        struct vma_usage u;
        char perms[5];

        mm_vma_usage(mm, v, &u);
        vma_perm_string(v, perms);
        rj_append(a,
                  json_pack("{s:o, s:o, s:s, s:s, s:o, s:I, s:I, s:I}", "start", rj_hex(v->start),
                            "end", rj_hex(v->end), "perms", perms, "kind", vma_kind_name(v->kind),
                            "file", rj_str(v->file != NULL && name[0] != '\0' ? name : NULL),
                            "resident", (json_int_t)u.resident, "dirty", (json_int_t)u.dirty,
                            "swapped", (json_int_t)u.swapped),
                  &ok);
    }
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}
