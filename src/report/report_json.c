/* The --report JSON file (schema in the project notes: fields may be added, never renamed):
 * a small JSON writer (one member per line, two-space indentation, strings kept valid
 * UTF-8), then the run's configuration, the machine-wide frame counts and paging, every
 * process with its counters, its VMA table and the "crash" object (the facts of
 * crash_describe(), as the crash report prints them), the totals and the scheduler's
 * counters. Nothing here faults a page in or changes a counter. */
#include "vmemu/report.h"

#include <errno.h>
#include <inttypes.h>

#include "crash.h"
#include "report_int.h"
#include "vmemu/maps_table.h"
#include "vmemu/mm_stat.h"
#include "vmemu/reclaim.h"
#include "vmemu/sched.h"
#include "vmemu/thp.h"
#include "vmemu/util.h"
#include "vmemu/vma.h"

#define JSON_MAX_DEPTH 8 /* deepest nesting the report writes */

/* A small JSON writer: one member per line, two-space indentation, commas handled. */
struct json {
    FILE *f;                    /* output */
    int depth;                  /* open objects and arrays */
    bool first[JSON_MAX_DEPTH]; /* nothing written yet at that depth */
};

/* Length of the well-formed UTF-8 sequence at c (2 to 4), or 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are refused, as JSON readers
 * do. */
static size_t utf8_seq_len(const unsigned char *c)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c[0] >= 0xc2 && c[0] <= 0xdf) {
        len = 2;
    } else if (c[0] >= 0xe0 && c[0] <= 0xef) {
        len = 3;
        if (c[0] == 0xe0)
            lo = 0xa0;
        else if (c[0] == 0xed)
            hi = 0x9f;
    } else if (c[0] >= 0xf0 && c[0] <= 0xf4) {
        len = 4;
        if (c[0] == 0xf0)
            lo = 0x90;
        else if (c[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (c[1] < lo || c[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((c[i] & 0xc0) != 0x80)
            return 0;
    }
    return len;
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not valid UTF-8 written as \u00XX so the file stays valid. */
static void json_quote(FILE *f, const char *s)
{
    const unsigned char *c = (const unsigned char *)s;

    fputc('"', f);
    while (*c != '\0') {
        size_t len = *c >= 0x80 ? utf8_seq_len(c) : 1;

        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f || len == 0)
            fprintf(f, "\\u%04x", *c);
        else
            fwrite(c, 1, len, f);
        c += len == 0 ? 1 : len;
    }
    fputc('"', f);
}

/* Starts a member (key non-NULL) or an array element (key NULL). */
static void json_key(struct json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    fprintf(j->f, "\n%*s", 2 * j->depth, "");
    if (key != NULL) {
        json_quote(j->f, key);
        fputs(": ", j->f);
    }
}

static void json_open(struct json *j, const char *key, char bracket)
{
    VMEMU_BUG_ON(j->depth + 1 >= JSON_MAX_DEPTH);
    if (j->depth > 0 || !j->first[0])
        json_key(j, key);
    fputc(bracket, j->f);
    j->depth++;
    j->first[j->depth] = true;
}

static void json_close(struct json *j, char bracket)
{
    bool empty = j->first[j->depth];

    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

static void json_int(struct json *j, const char *key, int v)
{
    json_key(j, key);
    fprintf(j->f, "%d", v);
}

/* A string member; NULL writes null. */
static void json_str(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    if (s != NULL)
        json_quote(j->f, s);
    else
        fputs("null", j->f);
}

static void json_hex(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

static void json_null(struct json *j, const char *key)
{
    json_key(j, key);
    fputs("null", j->f);
}

static void json_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

/* The signal that ended p, or null. */
static void json_signal(struct json *j, const char *key, const struct proc *p)
{
    if (p->term_signal != 0)
        json_int(j, key, p->term_signal);
    else
        json_null(j, key);
}

/* argv as the command line recorded it (arguments split at spaces). */
static void json_argv(struct json *j, const struct proc *p)
{
    json_open(j, "argv", '[');
    for (size_t i = 0; p->argv && p->argv[i]; i++)
        json_str(j, NULL, p->argv[i]);
    json_close(j, ']');
}

/* The "unmapped_by" member of a crash: the syscall that removed the faulting address, or
 * null. */
static void json_unmapped_by(struct json *j, const struct crash_info *ci)
{
    char text[CRASH_TEXT_MAX + 512];

    if (!ci->has_unmap) {
        json_null(j, "unmapped_by");
        return;
    }
    json_open(j, "unmapped_by", '{');
    json_str(j, "syscall", ci->unmap_syscall);
    json_int(j, "sysno", ci->unmap.sysno);
    json_hex(j, "rip", ci->unmap.rip);
    json_str(j, "symbol", ci->unmap_symbol[0] ? ci->unmap_symbol : NULL);
    json_u64(j, "seq", ci->unmap.seq);
    json_hex(j, "start", ci->unmap.start);
    json_hex(j, "end", ci->unmap.end);
    crash_unmap_text(ci, text, sizeof(text));
    json_str(j, "text", text);
    json_close(j, '}');
}

/* The "crash" object of p, or null when no crash ended it or its address space (where the
 * facts are) is gone. */
static void json_crash(struct json *j, const struct proc *p)
{
    struct crash_info ci;

    if (p->mm == NULL || !crash_signal_is_crash(p)) {
        json_null(j, "crash");
        return;
    }
    crash_describe(p, NULL, &ci);
    json_open(j, "crash", '{');
    json_int(j, "signal", ci.signo);
    json_str(j, "signal_name", crash_signal_name(ci.signo));
    json_str(j, "code", ci.code);
    if (ci.is_memory) {
        json_hex(j, "address", ci.addr);
        if (ci.size != 0)
            json_int(j, "size", (int)ci.size);
        else
            json_null(j, "size");
        json_str(j, "access", crash_access_name(ci.access));
        json_str(j, "cause", crash_cause_name(&ci));
    } else {
        json_null(j, "address");
        json_null(j, "size");
        json_null(j, "access");
        json_str(j, "cause", ci.what);
    }
    if (ci.has_rip) {
        json_hex(j, "rip", ci.rip);
        json_str(j, "symbol", ci.symbol[0] ? ci.symbol : NULL);
        json_str(j, "instruction", ci.insn_ok ? ci.insn : NULL);
    } else {
        json_null(j, "rip");
        json_null(j, "symbol");
        json_null(j, "instruction");
    }
    if (ci.has_caller) {
        json_hex(j, "caller", ci.caller);
        json_str(j, "caller_symbol", ci.caller_symbol[0] ? ci.caller_symbol : NULL);
    } else {
        json_null(j, "caller");
        json_null(j, "caller_symbol");
    }
    json_str(j, "cause_text", ci.cause_text[0] ? ci.cause_text : NULL);
    json_str(j, "heap_kind", ci.heap_kind);
    json_str(j, "heap", ci.heap_kind != NULL ? ci.heap : NULL);
    json_open(j, "backtrace", '[');
    for (int i = 0; i < ci.bt_n; i++)
        json_str(j, NULL, ci.bt[i]);
    json_close(j, ']');
    json_open(j, "disassembly", '[');
    for (int i = 0; i < ci.dis_n; i++)
        json_str(j, NULL, ci.dis[i]);
    json_close(j, ']');
    json_str(j, "vma", ci.has_vma ? ci.vma : NULL);
    json_str(j, "section", ci.section[0] ? ci.section : NULL);
    json_str(j, "file", ci.file[0] ? ci.file : NULL);
    json_unmapped_by(j, &ci);
    json_close(j, '}');
}

/* The "vmas" member: the areas of p's address space as they are now, each with its
 * resident, dirty and swapped pages (an empty list without an address space). */
static void json_vmas(struct json *j, const struct proc *p)
{
    const struct mm *mm = p->mm;

    json_open(j, "vmas", '[');
    for (size_t i = 0; mm != NULL && i < mm->vmas.n; i++) {
        const struct vma *v = &mm->vmas.v[i];
        const char *name = maps_vma_name(v);
        struct vma_usage u;
        char perms[5];

        mm_vma_usage(mm, v, &u);
        vma_perm_string(v, perms);
        json_open(j, NULL, '{');
        json_hex(j, "start", v->start);
        json_hex(j, "end", v->end);
        json_str(j, "perms", perms);
        json_str(j, "kind", vma_kind_name(v->kind));
        json_str(j, "file", v->file != NULL && name[0] != '\0' ? name : NULL);
        json_u64(j, "resident", u.resident);
        json_u64(j, "dirty", u.dirty);
        json_u64(j, "swapped", u.swapped);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* The "paging" object: policy, swap area and what reclaim did. */
static void json_paging(struct json *j, const struct vmsys *sys)
{
    const struct reclaim_stats *r = &sys->reclaim->stats;
    const struct swap_area *sw = &sys->swap;

    json_open(j, "paging", '{');
    json_str(j, "policy", reclaim_policy_name(sys->reclaim->policy));
    json_u64(j, "seed", sys->reclaim->seed);
    json_u64(j, "swap_max_bytes", sw->max_slots * PAGE_SIZE);
    json_str(j, "swap_file", sw->path);
    json_u64(j, "evictions", r->evictions);
    json_u64(j, "swap_outs", r->swap_outs);
    json_u64(j, "swap_clean", r->swap_clean);
    json_u64(j, "swap_ins", sw->reads);
    json_u64(j, "file_writebacks", r->writebacks);
    json_u64(j, "file_dropped", r->file_dropped);
    json_u64(j, "scans", r->scans);
    json_u64(j, "skipped", r->skipped);
    json_u64(j, "peak_swap_pages", sw->peak_used);
    json_u64(j, "swap_pages", sw->used);
    json_close(j, '}');
}

/* The "faults" object: every class of f. */
/* Transparent huge pages: the mode, where it came from, and the machine's thp_* events. */
static void json_thp(struct json *j, const struct vmsys *sys)
{
    static const char *const from[] = {"option", "host", "default"};
    const struct thp_stats *t = &sys->thp;
    json_open(j, "thp", '{');
    json_str(j, "mode", thp_mode_name(sys->thp_mode));
    json_str(j, "mode_from", from[sys->thp_mode_from]);
    json_u64(j, "fault_alloc", t->fault_alloc);
    json_u64(j, "fault_fallback", t->fault_fallback);
    json_u64(j, "split_pmd", t->split_pmd);
    json_u64(j, "swpout", 0); /* never swapped out whole */
    json_u64(j, "swpout_fallback", t->swpout_fallback);
    json_u64(j, "zero_page_maps", t->zero_page_alloc);
    json_u64(j, "resident", t->resident);
    json_u64(j, "peak_resident", t->peak_resident);
    /* Each resident huge page would need no page-table page with a PS-bit PDE. */
    json_u64(j, "pt_pages_saved_peak", t->peak_resident);
    json_u64(j, "hugetlb_pages", sys->phys.hugetlb_total);
    json_u64(j, "hugetlb_free", sys->phys.hugetlb_nfree);
    json_close(j, '}');
}

static void json_faults(struct json *j, const struct fault_stats *f)
{
    json_open(j, "faults", '{');
    json_u64(j, "minor", f->minor);
    json_u64(j, "major", f->major);
    json_u64(j, "zero_page", f->zero_page);
    json_u64(j, "anon", f->anon);
    json_u64(j, "file_minor", f->file_minor);
    json_u64(j, "file_major", f->file_major);
    json_u64(j, "cow", f->cow);
    json_u64(j, "cow_reuse", f->cow_reuse);
    json_u64(j, "shared_write", f->shared_write);
    json_u64(j, "swap_in", f->swap_in);
    json_u64(j, "swap_cache", f->swap_cache);
    json_u64(j, "file_refault", f->file_refault);
    json_u64(j, "populate", f->populate);
    json_u64(j, "segv", f->segv);
    json_u64(j, "sigbus", f->sigbus);
    json_u64(j, "stack_grow", f->stack_grow);
    json_u64(j, "thp", f->thp);
    json_u64(j, "hugetlb", f->hugetlb);
    json_u64(j, "exec", f->exec);
    json_u64(j, "exec_major", f->exec_major);
    json_u64(j, "exec_args", f->exec_args);
    json_close(j, '}');
}

/* The "tlb" counters object: vmemu's TLB (machine-wide), the given Unicorn TLB fills and
 * Unicorn's flushes (the one CPU's). */
static void json_tlb(struct json *j, const struct proc *first, uint64_t fills)
{
    const struct tlb *tlb = &first->sys->tlb;

    json_open(j, "tlb", '{');
    json_u64(j, "hits", tlb->hits);
    json_u64(j, "misses", tlb->misses);
    json_u64(j, "fills", fills);
    json_u64(j, "invalidations", tlb->invalidations);
    json_u64(j, "flushes", tlb->flushes);
    json_u64(j, "unicorn_flushes", report_unicorn_flushes(first));
    json_u64(j, "huge_hits", tlb->huge_hits);
    json_u64(j, "huge_invalidations", tlb->huge_invalidations);
    struct cpu_flush_stats fs;
    cpu_flush_stats(first->cpu, &fs);
    json_open(j, "unicorn_flush_causes", '{');
    for (unsigned i = 0; i < VM_FLUSH_NCAUSES; i++)
        json_u64(j, report_flush_cause_names[i], fs.by_cause[i]);
    json_u64(j, "spared_fill_cow", first->sys->cpu_flush_spared);
    json_u64(j, "code_invalidations", fs.code_invalidations);
    json_u64(j, "run_us", fs.run_ns / 1000);
    json_close(j, '}');
    json_close(j, '}');
}

/* "threads" of the process led by p: every task the scheduler lists, the leader first,
 * with its own counters (faults by class, syscalls, switches) and name. */
static void json_threads(struct json *j, const struct proc *p)
{
    const struct sched *s = p->sched;

    json_open(j, "threads", '[');
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *t = s->procs[i];

        if (t->leader != p)
            continue;
        json_open(j, NULL, '{');
        json_int(j, "tid", t->pid);
        json_str(j, "name", t->comm);
        json_faults(j, &t->vmstat.faults);
        json_u64(j, "syscalls", t->syscalls);
        json_u64(j, "switches", t->switches);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* One entry of "processes". The first process (first) carries the machine-wide "tlb"
 * counters, as reports have since there was one process; the others only their own
 * Unicorn TLB fills. Without an address space (an ended process other than the first),
 * "vmas" is empty, "crash" null and "wall_ns" null (its end time is not kept). */
static void json_process(struct json *j, const struct proc *p, bool first)
{
    const struct proc_usage u = report_usage(p);
    const struct mm_stats *st = &u.mm;

    json_open(j, NULL, '{');
    json_int(j, "pid", p->pid);
    json_int(j, "ppid", p->ppid);
    json_str(j, "command", p->cmdline != NULL ? p->cmdline : report_proc_name(p));
    json_int(j, "exit_status", proc_wait_status(p));
    json_signal(j, "signal", p);
    json_faults(j, &u.task.faults);
    if (first) {
        json_tlb(j, p, u.task.fills);
    } else {
        json_open(j, "tlb", '{');
        json_u64(j, "fills", u.task.fills);
        json_close(j, '}');
    }
    json_u64(j, "peak_rss_pages", st->peak_rss);
    json_u64(j, "rss_pages", st->rss);
    json_u64(j, "page_table_pages", u.pt_pages_at_exit);
    json_u64(j, "peak_page_table_pages", st->peak_pt_pages);
    json_u64(j, "peak_vm_pages", st->peak_vm);
    json_u64(j, "syscalls", u.syscalls);
    json_u64(j, "shared_at_exit", u.shared_at_exit);
    json_u64(j, "peak_vsize_bytes", st->peak_vm * PAGE_SIZE);
    json_u64(j, "refault_permille", report_refault_permille(&u.task.faults));
    json_bool(j, "thrashing", report_thrashing(&u.task.faults));
    if (p->mm != NULL)
        json_u64(j, "wall_ns", report_wall_ns(p));
    else
        json_null(j, "wall_ns");
    json_u64(j, "run_ns", u.cpu_ns);
    json_vmas(j, p);
    json_crash(j, p);
    if (p->sched != NULL && report_has_threads(p->sched, p))
        json_threads(j, p);
    json_close(j, '}');
}

/* The "totals" object of every process of s (see struct report_totals). */
static void json_totals(struct json *j, const struct proc *first, const struct sched *s)
{
    const struct report_totals t = report_totals(s);
    const struct mm_stats *st = &t.u.mm;

    json_open(j, "totals", '{');
    json_u64(j, "processes", t.nprocs);
    json_u64(j, "processes_not_listed", s->ndropped);
    json_faults(j, &t.u.task.faults);
    json_tlb(j, first, t.u.task.fills);
    json_u64(j, "peak_rss_pages", st->peak_rss);
    json_u64(j, "rss_pages", st->rss);
    json_u64(j, "page_table_pages", t.u.pt_pages_at_exit);
    json_u64(j, "peak_page_table_pages", st->peak_pt_pages);
    json_u64(j, "peak_vm_pages", st->peak_vm);
    json_u64(j, "syscalls", t.u.syscalls);
    json_u64(j, "shared_at_exit", t.u.shared_at_exit);
    json_u64(j, "run_ns", t.u.cpu_ns);
    json_close(j, '}');
}

/* Writes the JSON report to path (created or truncated): the run's configuration and
 * status (those of first), the machine-wide frame counts and paging, then "processes":
 * first alone when s is NULL, else every process of s (those reaped after the first
 * SCHED_KEEP_ENDED only in the totals: "processes_not_listed") followed by "totals" and
 * "scheduler". Returns 0 or -errno (the file cannot be created or written). */
static int json_report(const char *path, const struct proc *first, const struct sched *s)
{
    struct json j = {.f = fopen(path, "w"), .first = {true}};
    const struct vmsys *sys = first->sys;
    int rc = 0;

    if (j.f == NULL)
        return -errno;
    json_open(&j, NULL, '{');
    json_str(&j, "vmemu_version", VMEMU_VERSION);
    json_str(&j, "program", first->exe);
    json_argv(&j, first);
    json_int(&j, "exit_status", proc_wait_status(first));
    json_signal(&j, "signal", first);
    json_u64(&j, "mem_bytes", sys->phys.bytes);
    json_open(&j, "tlb", '{');
    json_u64(&j, "entries", (uint64_t)sys->tlb.sets * sys->tlb.ways);
    json_u64(&j, "ways", sys->tlb.ways);
    json_u64(&j, "huge_entries", (uint64_t)sys->tlb.huge_sets * sys->tlb.huge_ways);
    json_u64(&j, "huge_ways", sys->tlb.huge_ways);
    json_close(&j, '}');
    json_open(&j, "frames", '{');
    json_u64(&j, "total", sys->phys.nframes);
    json_u64(&j, "peak_used", sys->phys.peak_used);
    json_u64(&j, "page_cache_pages", sys->pc.pages);
    json_str(&j, "zero_page", sys->no_zero_page ? "off" : "on");
    json_str(&j, "zero_page_from", sys->zero_page_host ? "host" : "option");
    json_close(&j, '}');
    json_thp(&j, sys);
    json_paging(&j, sys);
    json_open(&j, "processes", '[');
    if (s == NULL) {
        json_process(&j, first, true);
    } else {
        for (size_t i = 0; i < s->nprocs; i++)
            if (s->procs[i]->leader == s->procs[i])
                json_process(&j, s->procs[i], s->procs[i] == first);
    }
    json_close(&j, ']');
    if (s != NULL) {
        json_totals(&j, first, s);
        json_open(&j, "scheduler", '{');
        json_u64(&j, "switches", s->switches);
        json_u64(&j, "watchdog_stops", s->watchdog_stops);
        json_u64(&j, "deadlocks", s->deadlocks);
        json_str(&j, "clock", s->clock.virt ? "virtual" : "host");
        if (s->clock.virt)
            json_u64(&j, "guest_clock_ns", sched_now(s) - SCHED_VCLOCK_START_NS);
        json_close(&j, '}');
    }
    json_close(&j, '}');
    fputc('\n', j.f);
    if (ferror(j.f))
        rc = -EIO;
    if (fclose(j.f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Writes the JSON report of one finished process to path: the run's configuration, the
 * machine-wide frame counts and one entry for the process with its fault, TLB and memory
 * counters and, when a signal of a crash ended it, the crash. Returns 0 or -errno. */
int report_json(const char *path, const struct proc *p)
{
    return json_report(path, p, NULL);
}

/* Writes the JSON report of a whole run to path: as report_json() for the first process
 * (s->init), with the processes of s in "processes" (pid order; see json_report), then "totals"
 * (counts summed over the processes, peak_* the highest of any one; the machine-wide TLB counters
 * once) and "scheduler" (switches, watchdog_stops, deadlocks). Returns 0, -EINVAL when s
 * has no process, or -errno. */
int report_json_all(const char *path, const struct sched *s)
{
    const struct proc *first = report_first(s);

    if (first == NULL)
        return -EINVAL;
    return json_report(path, first, s);
}
