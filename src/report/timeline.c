/* The timeline recorder: a sample of one process's counters (faults by class, resident,
 * virtual and swapped pages, swap-ins and swap-outs, page-table pages, huge pages) at each
 * of its events and, for every live process, every `interval` page faults of the machine.
 * The scheduler's event hook and the machine's fault clock (vmsys.tick) call it from the
 * layers below; it only reads counters. Per process at most TIMELINE_CAP periodic samples:
 * reaching it doubles the interval and keeps only the periodic samples whose fault
 * sequence number is a multiple of the new one, so a run gives the same timeline every
 * time (host wall time aside). Read by report_json.c. */
#include "vmemu/timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonval.h"
#include "vmemu/sched.h"
#include "vmemu/util.h"

#define TL_TICK ((int)PROC_EV_OOM_KILL + 1) /* a periodic sample's event */

/* One sample of one process. */
struct tl_sample {
    uint64_t seq;              /* machine-wide page faults so far */
    uint64_t syscalls;         /* machine-wide syscalls so far */
    uint64_t wall_ns;          /* host time since the recorder started */
    int pid;                   /* the process */
    int event;                 /* enum proc_event, or TL_TICK */
    struct fault_stats faults; /* its faults by class (cumulative, threads included) */
    uint64_t rss;              /* resident pages */
    uint64_t vm;               /* virtual size in pages */
    uint64_t swap;             /* its pages in swap now (swap entries) */
    uint64_t swap_in;          /* pages it read back from swap (cumulative) */
    uint64_t swap_out;         /* its pages reclaim swapped out (cumulative, across execs) */
    uint64_t pt;               /* page-table pages */
    uint64_t thp;              /* 2 MiB mappings (transparent huge pages) */
};

struct timeline {
    struct sched *s;     /* the run */
    uint64_t interval;   /* faults between periodic samples now (0: none) */
    uint64_t t0_ns;      /* host time at attach */
    struct tl_sample *v; /* samples in the order taken */
    size_t n, cap;       /* samples, allocated */
    uint32_t *ticks;     /* periodic samples kept per pid - pid0 */
    size_t nticks;       /* entries in ticks */
    int pid0;            /* lowest pid (the first process's) */
    bool full;           /* a process has TIMELINE_CAP periodic samples: thin them */
    bool oom;            /* an allocation failed: recording stopped, the report says so */
    uint64_t taken;      /* samples taken (thinning drops some of them) */
    uint64_t spent_ns;   /* host time spent sampling and building the JSON */
};

static const char *const tl_event_names[] = {"start",  "fork",     "exec", "exit",
                                             "signal", "oom_kill", "tick"};

/* The periodic-sample counter of pid, grown as needed; NULL when out of memory. */
static uint32_t *tl_ticks_of(struct timeline *t, int pid)
{
    size_t i = pid >= t->pid0 ? (size_t)(pid - t->pid0) : 0;
    if (i >= t->nticks) {
        size_t n = t->nticks ? t->nticks : 64;
        while (n <= i)
            n *= 2;
        uint32_t *v = realloc(t->ticks, n * sizeof(*v));
        if (v == NULL)
            return NULL;
        memset(v + t->nticks, 0, (n - t->nticks) * sizeof(*v));
        t->ticks = v;
        t->nticks = n;
    }
    return &t->ticks[i];
}

/* Doubles the interval: drops the periodic samples off the new one and recounts. */
static void tl_thin(struct timeline *t)
{
    size_t k = 0;

    t->interval *= 2;
    t->full = false;
    memset(t->ticks, 0, t->nticks * sizeof(*t->ticks));
    for (size_t i = 0; i < t->n; i++) {
        struct tl_sample *x = &t->v[i];

        if (x->event == TL_TICK && x->seq % t->interval != 0)
            continue;
        if (x->event == TL_TICK && ++*tl_ticks_of(t, x->pid) >= TIMELINE_CAP)
            t->full = true; /* the counter exists: it was counted before */
        t->v[k++] = *x;
    }
    t->n = k;
}

/* Appends a sample of the process p (a leader) for event ev. */
static void tl_sample(struct timeline *t, const struct proc *p, int ev)
{
    if (t->oom)
        return;
    uint32_t *ticks = ev == TL_TICK ? tl_ticks_of(t, p->pid) : NULL;
    if ((ev == TL_TICK && ticks == NULL) || (t->n == t->cap && t->cap > SIZE_MAX / 4)) {
        t->oom = true;
        return;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        struct tl_sample *v = realloc(t->v, cap * sizeof(*v));
        if (v == NULL) {
            t->oom = true;
            return;
        }
        t->v = v;
        t->cap = cap;
    }
    const struct mm *mm = p->mm;
    struct proc_usage u = sched_process_usage(p); /* as the report's "processes" count */
    struct tl_sample *x = &t->v[t->n++];
    t->taken++;

    *x = (struct tl_sample){
        .seq = t->s->sys->fault_seq,
        .syscalls = t->s->clock.syscalls,
        .wall_ns = now_ns() - t->t0_ns,
        .pid = p->pid,
        .event = ev,
        .faults = u.task.faults,
        .rss = u.mm.rss,
        .vm = mm ? mm_vm_pages(mm) : 0,
        .swap = mm ? mm->stats.swap_ptes : 0,
        .swap_in = u.task.faults.swap_in,
        .swap_out = p->swap_outs_exec + (mm && !p->mm_borrowed ? mm->stats.swap_outs : 0),
        .pt = mm ? mm->pt.table_pages : u.pt_pages_at_exit,
        .thp = mm ? mm->stats.thp_pmds : 0,
    };
    if (ticks != NULL && ++*ticks >= TIMELINE_CAP)
        t->full = true;
}

/* The fault clock: a periodic sample of every live process, then the next due fault. */
static void tl_tick(void *ctx)
{
    struct timeline *t = ctx;
    struct sched *s = t->s;
    uint64_t seq = s->sys->fault_seq, t0 = now_ns();

    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *p = s->procs[i];

        if (p->leader == p && p->mm != NULL && p->state != PROC_ZOMBIE && p->state != PROC_DEAD)
            tl_sample(t, p, TL_TICK);
    }
    while (t->full)
        tl_thin(t); /* after every process's sample: all kept ones are on the interval */
    s->sys->tick.at = (seq / t->interval + 1) * t->interval;
    t->spent_ns += now_ns() - t0;
}

/* The scheduler's event hook. */
static void tl_event(void *ctx, struct proc *p, enum proc_event ev)
{
    struct timeline *t = ctx;
    uint64_t t0 = now_ns();

    tl_sample(t, p, (int)ev);
    t->spent_ns += now_ns() - t0;
}

/* See the header. */
int timeline_attach(struct sched *s, uint64_t interval, struct timeline **out)
{
    struct timeline *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -ENOMEM;
    t->s = s;
    t->interval = interval;
    t->t0_ns = now_ns();
    t->pid0 = s->init ? s->init->pid : 0;
    s->events = (struct sched_event_hook){tl_event, t};
    if (interval > 0) {
        uint64_t seq = s->sys->fault_seq;
        s->sys->tick = (struct vmsys_fault_tick){tl_tick, t, (seq / interval + 1) * interval};
    }
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->leader == s->procs[i])
            tl_sample(t, s->procs[i], PROC_EV_START);
    if (t->oom) {
        timeline_detach(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

/* See the header. */
void timeline_detach(struct timeline *t)
{
    if (t == NULL)
        return;
    if (t->s->events.ctx == t)
        t->s->events = (struct sched_event_hook){0};
    if (t->s->sys->tick.ctx == t)
        t->s->sys->tick = (struct vmsys_fault_tick){0};
    free(t->v);
    free(t->ticks);
    free(t);
}

/* See the header. */
const struct timeline *timeline_of(const struct sched *s)
{
    return s->events.fn == tl_event ? s->events.ctx : NULL;
}

/* See the header. */
void timeline_cost(const struct timeline *t, struct timeline_cost *out)
{
    *out = (struct timeline_cost){t->taken, t->n, t->spent_ns};
}

/* One sample as the report's object. */
static json_t *tl_sample_json(const struct tl_sample *x)
{
    return json_pack("{s:I, s:I, s:f, s:i, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "seq",
                     (json_int_t)x->seq, "syscalls", (json_int_t)x->syscalls, "wall_ms",
                     (double)(x->wall_ns / 1000) / 1000.0, "pid", x->pid, "event",
                     tl_event_names[x->event], "faults", rj_faults(&x->faults), "rss_pages",
                     (json_int_t)x->rss, "vm_pages", (json_int_t)x->vm, "swap_pages",
                     (json_int_t)x->swap, "swap_in", (json_int_t)x->swap_in, "swap_out",
                     (json_int_t)x->swap_out, "pt_pages", (json_int_t)x->pt, "thp_pages",
                     (json_int_t)x->thp);
}

/* See the header. */
json_t *timeline_json(const struct timeline *t)
{
    uint64_t t0 = now_ns();
    char policy[512];
    json_t *samples = json_array();
    bool ok = true;

    for (size_t i = 0; i < t->n; i++)
        rj_append(samples, tl_sample_json(&t->v[i]), &ok);
    if (t->s->sys->tick.ctx == t || t->interval > 0)
        snprintf(policy, sizeof(policy),
                 "every process at each event and every live process every interval page "
                 "faults of the machine; at most %d periodic samples per process: reaching "
                 "it doubles the interval and keeps the periodic samples on the new one; "
                 "wall_ms is host time and differs between runs%s",
                 TIMELINE_CAP, t->oom ? "; recording stopped early: out of memory" : "");
    else
        snprintf(policy, sizeof(policy),
                 "every process at each event only (--timeline 0); wall_ms is host time and "
                 "differs between runs%s",
                 t->oom ? "; recording stopped early: out of memory" : "");
    if (!ok) {
        json_decref(samples);
        return NULL;
    }
    json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "interval", (json_int_t)t->interval, "clock",
                          "faults", "policy", policy, "samples", samples);
    ((struct timeline *)t)->spent_ns += now_ns() - t0; /* its own cost, not the report's */
    return o;
}
