/* Unit tests of System V IPC's object logic (src/proc/ipc*.c): ids and keys, semop's
 * all-or-nothing application with SEM_UNDO and the undo at exit, the generation that
 * wakes sleepers, and msgrcv's choice of message for every msgtyp. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/ipc.h"
#include "vmemu/proc.h"

static void test_ipc_ids_and_keys(void **state)
{
    (void)state;
    struct ipc_ns *ns = ipc_ns_new();
    struct ipc_sem_set *a, *b;
    assert_int_equal(ipc_sem_create(ns, 42, 0600, 2, &a), 0);
    assert_int_equal(ipc_sem_create(ns, IPC_PRIVATE_KEY, 0600, 1, &b), 0);
    assert_ptr_equal(ipc_find_key(ns, IPC_SEM, 42), &a->obj);
    assert_null(ipc_find_key(ns, IPC_SEM, IPC_PRIVATE_KEY));
    assert_null(ipc_find_key(ns, IPC_MSG, 42));
    assert_ptr_equal(ipc_lookup(ns, IPC_SEM, b->obj.id), &b->obj);
    int old = a->obj.id;
    ipc_sem_destroy(ns, a);
    assert_null(ipc_lookup(ns, IPC_SEM, old));
    assert_int_equal(ipc_sem_create(ns, 43, 0600, 1, &a), 0);
    assert_int_not_equal(a->obj.id, old); /* the slot is reused with a new sequence */
    assert_int_equal(a->obj.id % IPC_SEQ_MULT, old % IPC_SEQ_MULT);
    assert_int_equal(ipc_sem_create(ns, 44, 0600, 0, &b), -EINVAL);
    ipc_destroy(ns);
}

static void test_ipc_semop_all_or_nothing(void **state)
{
    (void)state;
    struct ipc_ns *ns = ipc_ns_new();
    struct ipc_sem_set *s;
    size_t blocked = 99;
    assert_int_equal(ipc_sem_create(ns, 0, 0600, 3, &s), 0);
    s->sems[0].val = 1;
    uint64_t gen = s->obj.gen;
    /* The second op cannot go on: nothing changes. */
    struct ipc_sembuf two[2] = {{0, -1, 0}, {1, -1, 0}};
    assert_int_equal(ipc_sem_apply(ns, s, two, 2, 100, &blocked), 1);
    assert_int_equal(blocked, 1);
    assert_int_equal(s->sems[0].val, 1);
    assert_int_equal(s->obj.gen, gen);
    /* Ops see the values the ones before them left. */
    struct ipc_sembuf seq[3] = {{2, 2, 0}, {2, -1, 0}, {2, -1, 0}};
    assert_int_equal(ipc_sem_apply(ns, s, seq, 3, 100, &blocked), 0);
    assert_int_equal(s->sems[2].val, 0);
    assert_int_equal(s->sems[2].pid, 100);
    assert_true(s->obj.gen > gen);
    /* Wait-for-zero blocks on a non-zero value. */
    struct ipc_sembuf z = {0, 0, 0};
    assert_int_equal(ipc_sem_apply(ns, s, &z, 1, 100, &blocked), 1);
    assert_int_equal(blocked, 0);
    /* Past SEM_VMX. */
    struct ipc_sembuf big = {1, SEM_VMX, 0}, one = {1, 1, 0};
    assert_int_equal(ipc_sem_apply(ns, s, &big, 1, 100, &blocked), 0);
    assert_int_equal(ipc_sem_apply(ns, s, &one, 1, 100, &blocked), -ERANGE);
    assert_int_equal(s->sems[1].val, SEM_VMX);
    ipc_destroy(ns);
}

static void test_ipc_sem_undo_at_exit(void **state)
{
    (void)state;
    struct ipc_ns *ns = ipc_ns_new();
    struct ipc_sem_set *s;
    size_t blocked;
    assert_int_equal(ipc_sem_create(ns, 0, 0600, 2, &s), 0);
    s->sems[0].val = 5;
    struct ipc_sembuf take = {0, -2, SEM_UNDO_F}, give = {1, 3, SEM_UNDO_F};
    assert_int_equal(ipc_sem_apply(ns, s, &take, 1, 7, &blocked), 0);
    assert_int_equal(ipc_sem_apply(ns, s, &take, 1, 7, &blocked), 0);
    assert_int_equal(ipc_sem_apply(ns, s, &give, 1, 7, &blocked), 0);
    assert_int_equal(ipc_sem_apply(ns, s, &take, 1, 8, &blocked), 1); /* 1 left */
    assert_int_equal(s->sems[0].val, 1);
    assert_int_equal(s->sems[1].val, 3);
    ipc_sem_exit(ns, 8); /* no entries: nothing changes */
    assert_int_equal(s->sems[0].val, 1);
    /* Semaphore 1 was consumed meanwhile: its undo clamps at 0. */
    s->sems[1].val = 1;
    ipc_sem_exit(ns, 7);
    assert_int_equal(s->sems[0].val, 5);
    assert_int_equal(s->sems[1].val, 0);
    assert_int_equal(s->sems[0].pid, 7);
    assert_int_equal(ns->nundo, 0);
    /* SETVAL clears the adjustments of that semaphore. */
    assert_int_equal(ipc_sem_apply(ns, s, &take, 1, 9, &blocked), 0);
    ipc_sem_setval(ns, s, 0, 10, 1);
    ipc_sem_exit(ns, 9);
    assert_int_equal(s->sems[0].val, 10);
    ipc_destroy(ns);
}

static void test_ipc_wait_condition(void **state)
{
    (void)state;
    struct ipc_ns *ns = ipc_ns_new();
    struct ipc_msq *q;
    assert_int_equal(ipc_msg_create(ns, 0, 0600, &q), 0);
    struct proc_ipc_wait w = {.id = q->obj.id, .gen = q->obj.gen, .semnum = -1};
    assert_false(ipc_wait_done(ns, &w));
    assert_int_equal(ipc_msg_put(q, 1, "x", 1), 0);
    assert_true(ipc_wait_done(ns, &w));
    w.gen = q->obj.gen;
    ipc_msg_destroy(ns, q);
    assert_true(ipc_wait_done(ns, &w)); /* gone */
    ipc_destroy(ns);
}

/* The type of the message msgrcv would take, or 0. */
static int64_t pick(struct ipc_msq *q, int64_t msgtyp, bool except)
{
    struct ipc_msg **link;
    struct ipc_msg *m = ipc_msg_select(q, msgtyp, except, &link);
    return m ? m->type : 0;
}

static void test_ipc_msgrcv_selection(void **state)
{
    (void)state;
    struct ipc_ns *ns = ipc_ns_new();
    struct ipc_msq *q;
    assert_int_equal(ipc_msg_create(ns, 0, 0600, &q), 0);
    static const int64_t types[] = {3, 5, 2, 4, 2};
    for (size_t i = 0; i < 5; i++) {
        char text[2] = {(char)('a' + i), 0};
        assert_int_equal(ipc_msg_put(q, types[i], text, 2), 0);
    }
    assert_int_equal(q->qnum, 5);
    assert_int_equal(q->cbytes, 10);
    assert_int_equal(pick(q, 0, false), 3);
    assert_int_equal(pick(q, 4, false), 4);
    assert_int_equal(pick(q, 3, true), 5);
    assert_int_equal(pick(q, 9, false), 0);
    assert_int_equal(pick(q, -1, false), 0);
    assert_int_equal(pick(q, -4, false), 2);
    assert_int_equal(pick(q, INT64_MIN, false), 2);
    /* The first of the lowest type: 'c', then 'e'. */
    struct ipc_msg **link;
    struct ipc_msg *m = ipc_msg_select(q, -3, false, &link);
    assert_int_equal(m->text[0], 'c');
    ipc_msg_unlink(q, m, link);
    free(m);
    m = ipc_msg_select(q, 2, false, &link);
    assert_int_equal(m->text[0], 'e');
    ipc_msg_unlink(q, m, link); /* the last one: the tail moves back */
    free(m);
    assert_int_equal(ipc_msg_put(q, 7, "z", 1), 0);
    m = ipc_msg_select(q, -100, true, &link);
    assert_int_equal(m->type, 3);
    assert_int_equal(pick(q, 7, false), 7);
    assert_int_equal(q->qnum, 4);
    /* msg_qbytes bounds bytes and messages. */
    q->qbytes = 8;
    assert_true(ipc_msg_fits(q, 1));
    assert_false(ipc_msg_fits(q, 2));
    ipc_destroy(ns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipc_ids_and_keys),
        cmocka_unit_test(test_ipc_semop_all_or_nothing),
        cmocka_unit_test(test_ipc_sem_undo_at_exit),
        cmocka_unit_test(test_ipc_wait_condition),
        cmocka_unit_test(test_ipc_msgrcv_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
