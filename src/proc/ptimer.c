/* POSIX per-process timers: the table each process (thread-group leader) owns, and
 * arming. The scheduler fires them (src/proc/sched_ptimer.c); the syscalls
 * (timer_create, timer_settime, ...) are in syscalls/sys_timer.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/ptimer.h"

/* Creates a disarmed timer (see the header). */
int ptimer_create(struct proc *p, const struct ptimer_spec *spec)
{
    struct proc *l = p->leader;
    if (l->ptimers == NULL && (l->ptimers = calloc(1, sizeof(*l->ptimers))) == NULL)
        return -ENOMEM;
    struct ptimer_set *set = l->ptimers;
    int id = 0;
    while (id < set->cap && set->t[id].used)
        id++;
    if (id == PTIMER_MAX)
        return -EAGAIN;
    if (id == set->cap) {
        int cap = set->cap ? set->cap * 2 : 8;
        if (cap > PTIMER_MAX)
            cap = PTIMER_MAX;
        struct ptimer *t = realloc(set->t, (size_t)cap * sizeof(*t));
        if (t == NULL)
            return -ENOMEM;
        memset(t + set->cap, 0, (size_t)(cap - set->cap) * sizeof(*t));
        set->t = t;
        set->cap = cap;
    }
    struct ptimer *t = &set->t[id];
    memset(t, 0, sizeof(*t));
    t->used = true;
    t->spec = *spec;
    return id;
}

/* The timer id of p's process, or NULL. */
struct ptimer *ptimer_get(struct proc *p, int id)
{
    struct ptimer_set *set = p->leader->ptimers;
    if (set == NULL || id < 0 || id >= set->cap || !set->t[id].used)
        return NULL;
    return &set->t[id];
}

/* Deletes timer id (see the header). */
int ptimer_delete(struct proc *p, int id)
{
    struct ptimer *t = ptimer_get(p, id);
    if (t == NULL)
        return -EINVAL;
    memset(t, 0, sizeof(*t));
    return 0;
}

/* Arms or disarms t (see the header). */
void ptimer_arm(struct ptimer *t, uint64_t now, uint64_t value_ns, uint64_t interval_ns)
{
    t->deadline_ns = value_ns != 0 ? now + value_ns : 0;
    t->interval_ns = value_ns != 0 ? interval_ns : 0;
    t->overrun_last = 0;
}

/* Time left until t expires (see the header). */
uint64_t ptimer_left(const struct ptimer *t, uint64_t now)
{
    if (t->deadline_ns == 0)
        return 0;
    return t->deadline_ns > now ? t->deadline_ns - now : 1;
}

/* Deletes every timer of the process (see the header). */
void ptimer_free_all(struct proc *leader)
{
    if (leader->ptimers == NULL)
        return;
    free(leader->ptimers->t);
    free(leader->ptimers);
    leader->ptimers = NULL;
}
