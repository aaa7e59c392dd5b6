/* Tests of src/debug/heapprof_map.c, the heap profiler's live blocks by address (a treap):
 * thousands of random inserts and removes checked against a plain sorted array (find,
 * floor, ceil, the walk's order), and a fork's copy that changes apart from the original. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/debug/heapprof_int.h"

#define NKEYS 4000 /* distinct block addresses used */

/* The reference: which of the NKEYS addresses (16 * (i + 1)) are in the map. */
struct ref {
    bool in[NKEYS];
};

static gva_t key(size_t i)
{
    return 16 * (gva_t)(i + 1);
}

/* The walk's visit: blocks must come in increasing address order, each one in ref. */
struct visit {
    const struct ref *ref; /* expected set */
    gva_t last;            /* previous address (0 before the first) */
    size_t n;              /* blocks seen */
};

static void visit_block(void *ctx, const struct hp_node *b)
{
    struct visit *v = ctx;
    assert_true(b->start > v->last);
    assert_true(v->ref->in[b->start / 16 - 1]);
    assert_int_equal(b->size, b->start / 2);
    v->last = b->start;
    v->n++;
}

static void check_all(const struct hp_map *m, const struct ref *r)
{
    size_t n = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        const struct hp_node *b = hp_map_find(m, key(i));
        assert_true((b != NULL) == r->in[i]);
        n += r->in[i];
    }
    for (size_t q = 0; q < NKEYS; q += 7) {
        gva_t va = key(q) + 3; /* between two keys */
        const struct hp_node *f = hp_map_floor(m, va), *c = hp_map_ceil(m, va);
        ssize_t lo = (ssize_t)q, hi = (ssize_t)q + 1;
        while (lo >= 0 && !r->in[lo])
            lo--;
        while (hi < NKEYS && !r->in[hi])
            hi++;
        assert_true(lo < 0 ? f == NULL : f && f->start == key((size_t)lo));
        assert_true(hi >= NKEYS ? c == NULL : c && c->start == key((size_t)hi));
    }
    struct visit v = {.ref = r};
    hp_map_walk(m, visit_block, &v);
    assert_int_equal(v.n, n);
}

static void test_heapprof_map_random_ops_match_sorted_reference(void **state)
{
    (void)state;
    struct hp_map m = {0};
    struct ref *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    srand(19);
    for (int op = 0; op < 40000; op++) {
        size_t i = (size_t)rand() % NKEYS;
        if (r->in[i]) {
            struct hp_node out;
            assert_true(hp_map_remove(&m, key(i), &out));
            assert_int_equal(out.start, key(i));
            assert_int_equal(out.site, (uint32_t)i);
            r->in[i] = false;
        } else {
            assert_false(hp_map_remove(&m, key(i), NULL));
            assert_int_equal(hp_map_insert(&m, key(i), key(i) / 2, (uint32_t)i), 0);
            r->in[i] = true;
        }
        if (op % 5000 == 0)
            check_all(&m, r);
    }
    check_all(&m, r);
    hp_map_free(&m);
    free(r);
}

static void test_heapprof_map_dup_is_independent(void **state)
{
    (void)state;
    struct hp_map m = {0}, c;
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(hp_map_insert(&m, key(i), key(i) / 2, 0), 0);
    assert_int_equal(hp_map_dup(&m, &c), 0);
    assert_true(hp_map_remove(&c, key(5), NULL));
    assert_int_equal(hp_map_insert(&c, key(200), key(200) / 2, 0), 0);
    assert_non_null(hp_map_find(&m, key(5)));
    assert_null(hp_map_find(&m, key(200)));
    assert_null(hp_map_find(&c, key(5)));
    assert_non_null(hp_map_find(&c, key(200)));
    hp_map_free(&m);
    hp_map_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heapprof_map_random_ops_match_sorted_reference),
        cmocka_unit_test(test_heapprof_map_dup_is_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
