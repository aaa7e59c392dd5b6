/* Unit tests of the scheduler's process bookkeeping (src/proc/sched.c), no CPU: pids in
 * creation order, the live count with zombies, a parent that reaps its children one at a
 * time (the first SCHED_KEEP_ENDED reaped stay for the report, later ones are freed and
 * their counters summed), sched_find ignoring reaped processes, and a vfork parent's link
 * to a child that ended and was freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/abi/linux.h"
#include "vmemu/proc.h"
#include "vmemu/sched.h"

struct env {
    struct vmsys sys;       /* 16 MiB pool */
    struct sched s;         /* the scheduler */
    struct proc *init;      /* the first process (pid 1000), the parent of the others */
    struct run_options opt; /* defaults */
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (e == NULL || vmsys_init(&e->sys, 16 << 20, 64, 4) < 0)
        return -1;
    sched_init(&e->s, &e->sys, NULL, &e->opt);
    if (proc_create(&e->sys, NULL, &e->opt, &e->init) < 0 || sched_add(&e->s, e->init) < 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    sched_destroy(&e->s);
    vmsys_destroy(&e->sys);
    free(e);
    return 0;
}

/* A new child of e->init that has made `syscalls` syscalls. */
static struct proc *child(struct env *e, uint64_t syscalls)
{
    struct proc *c = NULL;
    assert_int_equal(proc_create(&e->sys, NULL, &e->opt, &c), 0);
    assert_int_equal(sched_add(&e->s, c), 0);
    c->parent = e->init;
    c->ppid = e->init->pid;
    c->exit_signal = LINUX_SIGCHLD;
    c->syscalls = syscalls;
    return c;
}

/* c exits with code and becomes a zombie (the parent keeps zombies by default). */
static void end(struct proc *c, int code)
{
    proc_exit(c, code);
    sched_exit(c);
}

static void test_sched_live_count_includes_zombies(void **state)
{
    struct env *e = *state;
    struct proc *a = child(e, 1), *b = child(e, 1);

    assert_int_equal(a->pid, 1001);
    assert_int_equal(b->pid, 1002);
    assert_int_equal(sched_nr_live(&e->s), 3);
    end(a, 0);
    assert_int_equal(a->state, PROC_ZOMBIE);
    assert_int_equal(sched_nr_live(&e->s), 3);
    assert_ptr_equal(sched_find(&e->s, 1001), a);
    sched_reap(a);
    assert_int_equal(sched_nr_live(&e->s), 2);
    assert_null(sched_find(&e->s, 1001));
    sched_reap(a); /* twice: counted once */
    assert_int_equal(sched_nr_live(&e->s), 2);
}

static void test_sched_reaped_beyond_keep_are_freed_and_summed(void **state)
{
    struct env *e = *state;
    const size_t n = SCHED_KEEP_ENDED + 500;

    for (size_t i = 0; i < n; i++) {
        struct proc *c = child(e, i + 1);
        end(c, (int)(i & 0x7f));
        sched_reap(c);
        sched_collect(&e->s);
        /* one child at a time: the table holds init, the kept ones, nothing else */
        assert_int_equal(sched_nr_live(&e->s), 1);
        assert_true(e->s.nprocs <= 1 + SCHED_KEEP_ENDED);
    }
    assert_int_equal(e->s.nprocs, 1 + SCHED_KEEP_ENDED);
    assert_int_equal(e->s.nkept, SCHED_KEEP_ENDED);
    assert_int_equal(e->s.ndropped, n - SCHED_KEEP_ENDED);
    /* the first reaped are the ones kept, in pid order */
    for (size_t i = 0; i < e->s.nprocs; i++)
        assert_int_equal(e->s.procs[i]->pid, 1000 + (int)i);
    /* the freed ones' syscalls (i + 1 for child i) are in the sum, and in the parent's */
    uint64_t dropped = 0, all = 0;
    for (size_t i = 0; i < n; i++) {
        all += i + 1;
        if (i >= SCHED_KEEP_ENDED)
            dropped += i + 1;
    }
    assert_int_equal(e->s.dropped_usage.syscalls, dropped);
    assert_int_equal(e->init->children.syscalls, all);
    /* a new child gets the next pid after all of them */
    assert_int_equal(child(e, 0)->pid, 1000 + (int)n + 1);
}

static void test_sched_collect_waits_for_a_reap(void **state)
{
    struct env *e = *state;

    for (size_t i = 0; i < SCHED_KEEP_ENDED; i++) {
        struct proc *c = child(e, 0);
        end(c, 0);
        sched_reap(c);
    }
    sched_collect(&e->s);
    struct proc *z = child(e, 0);
    end(z, 3);
    sched_collect(&e->s); /* a zombie is not collected */
    assert_ptr_equal(sched_find(&e->s, z->pid), z);
    assert_int_equal(e->s.ndropped, 0);
    e->s.current = z;
    sched_reap(z);
    sched_collect(&e->s);
    assert_int_equal(e->s.ndropped, 1);
    assert_null(e->s.current); /* it was the current process: not left dangling */
}

static void test_sched_vfork_parent_forgets_a_freed_child(void **state)
{
    struct env *e = *state;
    struct proc *c = child(e, 0);

    c->vfork_parent = e->init;
    e->init->state = PROC_SLEEPING;
    e->init->wait.kind = WAIT_VFORK;
    e->init->wait.vfork_child = c;
    end(c, 0);
    assert_null(e->init->wait.vfork_child);
    sched_reap(c);
    sched_collect(&e->s);
    sched_wake_sleepers(&e->s); /* reads the link: under ASan, a freed child would show */
    assert_int_equal(e->init->state, PROC_RUNNABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sched_live_count_includes_zombies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_reaped_beyond_keep_are_freed_and_summed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sched_collect_waits_for_a_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_vfork_parent_forgets_a_freed_child, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
