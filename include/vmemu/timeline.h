/* The timeline of a run (src/report/timeline.c): samples of every process's counters taken
 * every `interval` page faults of the machine and at every process event (start, fork,
 * exec, exit, signal, OOM kill), stamped with the fault and syscall sequence numbers (and
 * host wall time, which alone differs between runs). The report's "timeline" member. */
#ifndef VMEMU_TIMELINE_H
#define VMEMU_TIMELINE_H

#include <stdint.h>

#include <jansson.h>

struct sched;
struct timeline;

/* Periodic samples of one process kept at most: when a process reaches it, the interval
 * doubles and the periodic samples not on the new interval are dropped. */
#define TIMELINE_CAP              512
/* Faults between periodic samples at the start of a run (--timeline N). */
#define TIMELINE_DEFAULT_INTERVAL 1

/* Starts recording the run of s: hooks into the scheduler's events and the machine's fault
 * clock (interval faults between periodic samples; 0: event samples only) and takes a
 * "start" sample of every process s has. Returns 0 or -ENOMEM. */
int timeline_attach(struct sched *s, uint64_t interval, struct timeline **out);
/* Stops recording (the hooks are removed) and frees t (NULL is fine). */
void timeline_detach(struct timeline *t);
/* The recorder attached to s, or NULL. */
const struct timeline *timeline_of(const struct sched *s);
/* What recording cost: samples taken (thinning drops some), samples kept, and the host
 * time spent taking them and building the JSON (--stats prints it). */
struct timeline_cost {
    uint64_t taken; /* samples taken */
    uint64_t kept;  /* samples kept for the report */
    uint64_t ns;    /* host time spent recording */
};
void timeline_cost(const struct timeline *t, struct timeline_cost *out);
/* The "timeline" object of t: interval, clock, policy and the samples in the order they
 * were taken. NULL when out of memory. */
json_t *timeline_json(const struct timeline *t);

#endif
