/* Unit tests of the area list (src/mm/vma.c): insertion with its errors and merges, lookup
 * (find, lookup, prev), splitting, range removal, re-merging, the top-down free-range
 * search, report strings, and the file references that file-backed areas hold (real
 * vfiles from the page cache on temporary host files). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/pagecache.h"
#include "vmemu/phys.h"
#include "vmemu/vma.h"

/* Address of page n. */
#define P(n) ((gva_t)(n) << PAGE_SHIFT)

#define RW (VM_READ | VM_WRITE)

/* An anonymous private area [start, end). */
static struct vma anon(gva_t start, gva_t end, uint32_t prot)
{
    return (struct vma){
        .start = start, .end = end, .prot = prot, .kind = VMA_ANON, .file_end = UINT64_MAX};
}

/* A private mapping of file f at page offset pgoff. */
static struct vma filemap(gva_t start, gva_t end, struct vfile *f, uint64_t pgoff)
{
    return (struct vma){.start = start,
                        .end = end,
                        .prot = VM_READ,
                        .kind = VMA_FILE,
                        .file = f,
                        .pgoff = pgoff,
                        .file_end = UINT64_MAX};
}

/* Checks that area i of l is [start, end). */
static void check_area(const struct vma_list *l, size_t i, gva_t start, gva_t end)
{
    assert_true(i < l->n);
    assert_int_equal(l->v[i].start, start);
    assert_int_equal(l->v[i].end, end);
}

/* Checks that the list is sorted, non-overlapping and page-aligned. */
static void check_sorted(const struct vma_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        assert_true(l->v[i].start < l->v[i].end);
        assert_int_equal(l->v[i].start % PAGE_SIZE, 0);
        assert_int_equal(l->v[i].end % PAGE_SIZE, 0);
        if (i > 0)
            assert_true(l->v[i - 1].end <= l->v[i].start);
    }
}

/* ---- anonymous areas ---- */

static void test_vma_list_init_empty_finds_nothing(void **state)
{
    struct vma_list l;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(l.n, 0);
    assert_null(vma_find(&l, 0));
    assert_null(vma_lookup(&l, P(1)));
    assert_null(vma_prev(&l, USER_VA_END));
    assert_false(vma_overlaps(&l, 0, USER_VA_END));
    vma_list_destroy(&l);
}

static void test_vma_insert_single_area_stores_a_copy(void **state)
{
    struct vma_list l;
    struct vma v = anon(P(16), P(20), VM_READ | VM_EXEC);

    (void)state;
    vma_list_init(&l);
    v.flags = VM_LOCKED;
    v.kind = VMA_STACK;
    v.pgoff = 42;
    assert_int_equal(vma_insert(&l, &v), 0);
    v.start = P(1); /* the list must not see later changes to the caller's copy */
    v.prot = 0;
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(16), P(20));
    assert_int_equal(l.v[0].prot, VM_READ | VM_EXEC);
    assert_int_equal(l.v[0].flags, VM_LOCKED);
    assert_int_equal(l.v[0].kind, VMA_STACK);
    assert_int_equal(l.v[0].pgoff, 42);
    assert_null(l.v[0].file);
    vma_list_destroy(&l);
}

static void test_vma_insert_empty_or_reversed_returns_einval(void **state)
{
    struct vma_list l;
    struct vma empty = anon(P(4), P(4), RW);
    struct vma reversed = anon(P(8), P(4), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &empty), -EINVAL);
    assert_int_equal(vma_insert(&l, &reversed), -EINVAL);
    assert_int_equal(l.n, 0);
    vma_list_destroy(&l);
}

static void test_vma_insert_unaligned_returns_einval(void **state)
{
    struct vma_list l;
    struct vma bad_start = anon(P(4) + 1, P(8), RW);
    struct vma bad_end = anon(P(4), P(8) - 1, RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &bad_start), -EINVAL);
    assert_int_equal(vma_insert(&l, &bad_end), -EINVAL);
    assert_int_equal(l.n, 0);
    vma_list_destroy(&l);
}

static void test_vma_insert_past_user_end_returns_einval(void **state)
{
    struct vma_list l;
    struct vma past = anon(USER_VA_END - P(1), USER_VA_END + P(1), RW);
    struct vma last = anon(USER_VA_END - P(1), USER_VA_END, RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &past), -EINVAL);
    assert_int_equal(l.n, 0);
    assert_int_equal(vma_insert(&l, &last), 0);
    check_area(&l, 0, USER_VA_END - P(1), USER_VA_END);
    vma_list_destroy(&l);
}

static void test_vma_insert_overlap_returns_eexist(void **state)
{
    struct vma_list l;
    struct vma base = anon(P(10), P(20), RW);
    const gva_t bad[][2] = {
        {P(10), P(20)}, /* same range */
        {P(5), P(11)},  /* overlaps the first page */
        {P(19), P(25)}, /* overlaps the last page */
        {P(5), P(25)},  /* contains it */
        {P(12), P(13)}, /* inside it */
    };

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &base), 0);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct vma v = anon(bad[i][0], bad[i][1], VM_READ);

        assert_int_equal(vma_insert(&l, &v), -EEXIST);
    }
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(20));
    assert_int_equal(l.v[0].prot, RW);
    vma_list_destroy(&l);
}

static void test_vma_insert_touching_incompatible_areas_stay_separate(void **state)
{
    struct vma_list l;
    struct vma mid = anon(P(10), P(20), RW);
    struct vma below = anon(P(5), P(10), VM_READ); /* other prot */
    struct vma above = anon(P(20), P(25), RW);     /* other flags */
    struct vma top = anon(P(25), P(30), RW);       /* other kind */
    struct vma bottom = anon(P(4), P(5), VM_READ); /* other file_end */

    (void)state;
    above.flags = VM_SHARED;
    top.kind = VMA_HEAP;
    bottom.file_end = 0;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &mid), 0);
    assert_int_equal(vma_insert(&l, &below), 0);
    assert_int_equal(vma_insert(&l, &above), 0);
    assert_int_equal(vma_insert(&l, &top), 0);
    assert_int_equal(vma_insert(&l, &bottom), 0);
    assert_int_equal(l.n, 5);
    check_area(&l, 0, P(4), P(5));
    check_area(&l, 1, P(5), P(10));
    check_area(&l, 2, P(10), P(20));
    check_area(&l, 3, P(20), P(25));
    check_area(&l, 4, P(25), P(30));
    vma_list_destroy(&l);
}

static void test_vma_insert_out_of_order_keeps_sorted(void **state)
{
    struct vma_list l;
    const gva_t r[][2] = {{P(30), P(40)}, {P(10), P(20)}, {P(50), P(60)},
                          {P(1), P(5)},   {P(42), P(44)}, {P(21), P(22)}};

    (void)state;
    vma_list_init(&l);
    for (size_t i = 0; i < ARRAY_LEN(r); i++) {
        struct vma v = anon(r[i][0], r[i][1], RW);

        assert_int_equal(vma_insert(&l, &v), 0);
    }
    assert_int_equal(l.n, 6);
    check_area(&l, 0, P(1), P(5));
    check_area(&l, 1, P(10), P(20));
    check_area(&l, 2, P(21), P(22));
    check_area(&l, 3, P(30), P(40));
    check_area(&l, 4, P(42), P(44));
    check_area(&l, 5, P(50), P(60));
    vma_list_destroy(&l);
}

static void test_vma_insert_many_areas_grows_and_stays_searchable(void **state)
{
    struct vma_list l;
    const size_t count = 300;

    (void)state;
    vma_list_init(&l);
    for (size_t i = count; i-- > 0;) {
        struct vma v = anon(P(2 * i + 1), P(2 * i + 2), RW); /* one-page gaps */

        assert_int_equal(vma_insert(&l, &v), 0);
    }
    assert_int_equal(l.n, count);
    assert_true(l.cap >= count);
    check_sorted(&l);
    for (size_t i = 0; i < count; i++) {
        assert_ptr_equal(vma_lookup(&l, P(2 * i + 1)), &l.v[i]);
        assert_null(vma_lookup(&l, P(2 * i)));
        assert_ptr_equal(vma_find(&l, P(2 * i)), &l.v[i]);
    }
    vma_list_destroy(&l);
}

static void test_vma_insert_adjacent_compatible_merges(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma below = anon(P(5), P(10), RW);
    struct vma above = anon(P(20), P(22), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &below), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(5), P(20));
    assert_int_equal(vma_insert(&l, &above), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(5), P(22));
    vma_list_destroy(&l);
}

static void test_vma_insert_filling_gap_merges_three_into_one(void **state)
{
    struct vma_list l;
    struct vma lo = anon(P(10), P(20), RW);
    struct vma hi = anon(P(30), P(40), RW);
    struct vma other = anon(P(50), P(60), RW);
    struct vma gap = anon(P(20), P(30), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &lo), 0);
    assert_int_equal(vma_insert(&l, &hi), 0);
    assert_int_equal(vma_insert(&l, &other), 0);
    assert_int_equal(vma_insert(&l, &gap), 0);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(40));
    check_area(&l, 1, P(50), P(60));
    vma_list_destroy(&l);
}

static void test_vma_find_returns_containing_or_next_area(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(30), P(40), VM_READ);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_ptr_equal(vma_find(&l, 0), &l.v[0]);
    assert_ptr_equal(vma_find(&l, P(10)), &l.v[0]);
    assert_ptr_equal(vma_find(&l, P(20) - 1), &l.v[0]);
    assert_ptr_equal(vma_find(&l, P(20)), &l.v[1]); /* end is exclusive */
    assert_ptr_equal(vma_find(&l, P(25)), &l.v[1]);
    assert_ptr_equal(vma_find(&l, P(40) - 1), &l.v[1]);
    assert_null(vma_find(&l, P(40)));
    assert_null(vma_find(&l, UINT64_MAX));
    vma_list_destroy(&l);
}

static void test_vma_lookup_contains_start_not_end(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(30), P(40), VM_READ);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_null(vma_lookup(&l, P(10) - 1));
    assert_ptr_equal(vma_lookup(&l, P(10)), &l.v[0]);
    assert_ptr_equal(vma_lookup(&l, P(15) + 7), &l.v[0]);
    assert_null(vma_lookup(&l, P(20)));
    assert_null(vma_lookup(&l, P(29)));
    assert_ptr_equal(vma_lookup(&l, P(30)), &l.v[1]);
    assert_null(vma_lookup(&l, P(40)));
    vma_list_destroy(&l);
}

static void test_vma_prev_returns_closest_area_ending_at_or_below(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(30), P(40), VM_READ);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_null(vma_prev(&l, 0));
    assert_null(vma_prev(&l, P(10)));
    assert_null(vma_prev(&l, P(15))); /* inside the first area: nothing ends below */
    assert_ptr_equal(vma_prev(&l, P(20)), &l.v[0]);
    assert_ptr_equal(vma_prev(&l, P(25)), &l.v[0]);
    assert_ptr_equal(vma_prev(&l, P(35)), &l.v[0]);
    assert_ptr_equal(vma_prev(&l, P(40)), &l.v[1]);
    assert_ptr_equal(vma_prev(&l, UINT64_MAX), &l.v[1]);
    vma_list_destroy(&l);
}

static void test_vma_split_inside_area_makes_two_with_advanced_pgoff(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);

    (void)state;
    a.pgoff = 100;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_split(&l, P(13)), 0);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(13));
    check_area(&l, 1, P(13), P(20));
    assert_int_equal(l.v[0].pgoff, 100);
    assert_int_equal(l.v[1].pgoff, 103);
    assert_int_equal(l.v[1].prot, RW);
    assert_int_equal(l.v[1].kind, VMA_ANON);
    vma_list_destroy(&l);
}

static void test_vma_split_at_boundary_or_in_gap_changes_nothing(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_split(&l, P(10)), 0);
    assert_int_equal(vma_split(&l, P(20)), 0);
    assert_int_equal(vma_split(&l, P(5)), 0);
    assert_int_equal(vma_split(&l, P(25)), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(20));
    assert_int_equal(vma_split(&l, P(11)), 0);
    assert_int_equal(vma_split(&l, P(11)), 0); /* now a boundary */
    assert_int_equal(l.n, 2);
    vma_list_destroy(&l);
}

static void test_vma_remove_range_middle_leaves_two_pieces(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_remove_range(&l, P(12), P(15)), 0);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(12));
    check_area(&l, 1, P(15), P(20));
    assert_int_equal(l.v[0].pgoff, 0);
    assert_int_equal(l.v[1].pgoff, 5);
    assert_null(vma_lookup(&l, P(12)));
    assert_null(vma_lookup(&l, P(15) - 1));
    vma_list_destroy(&l);
}

static void test_vma_remove_range_across_areas_trims_edges(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), VM_READ);
    struct vma b = anon(P(25), P(30), RW);
    struct vma c = anon(P(35), P(45), VM_READ);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(vma_insert(&l, &c), 0);
    assert_int_equal(vma_remove_range(&l, P(15), P(40)), 0);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(15));
    check_area(&l, 1, P(40), P(45));
    assert_int_equal(l.v[1].pgoff, 5);
    assert_int_equal(l.v[1].prot, VM_READ);
    vma_list_destroy(&l);
}

static void test_vma_remove_range_exact_area_or_gap_or_empty(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), VM_READ);
    struct vma b = anon(P(30), P(40), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(vma_remove_range(&l, P(20), P(30)), 0); /* the gap */
    assert_int_equal(vma_remove_range(&l, P(15), P(15)), 0); /* empty */
    assert_int_equal(vma_remove_range(&l, P(15), P(12)), 0); /* reversed */
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(20));
    assert_int_equal(vma_remove_range(&l, P(10), P(20)), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(30), P(40));
    assert_int_equal(vma_remove_range(&l, 0, USER_VA_END), 0);
    assert_int_equal(l.n, 0);
    vma_list_destroy(&l);
}

static void test_vma_merge_around_after_prot_change_rejoins(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(30), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    /* mprotect(P(15), 5 pages, PROT_READ): split, change the middle, try to merge. */
    assert_int_equal(vma_split(&l, P(15)), 0);
    assert_int_equal(vma_split(&l, P(20)), 0);
    l.v[1].prot = VM_READ;
    vma_merge_around(&l, 1);
    assert_int_equal(l.n, 3);
    /* mprotect back to RW: everything becomes one area again. */
    l.v[1].prot = RW;
    vma_merge_around(&l, 1);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(30));
    assert_int_equal(l.v[0].pgoff, 0);
    vma_merge_around(&l, 5); /* out of range: no effect */
    assert_int_equal(l.n, 1);
    vma_list_destroy(&l);
}

static void test_vma_merge_around_merges_only_compatible_side(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(30), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_split(&l, P(15)), 0);
    assert_int_equal(vma_split(&l, P(20)), 0);
    l.v[0].prot = VM_READ;
    l.v[1].prot = VM_READ; /* now equal to the lower piece only */
    vma_merge_around(&l, 1);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(20));
    check_area(&l, 1, P(20), P(30));
    assert_int_equal(l.v[0].prot, VM_READ);
    assert_int_equal(l.v[1].prot, RW);
    vma_list_destroy(&l);
}

static void test_vma_can_merge_checks_every_field(void **state)
{
    struct vfile f1 = {0}, f2 = {0}; /* never dereferenced by vma_can_merge */
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(20), P(30), RW);
    struct vma x;

    (void)state;
    assert_true(vma_can_merge(&a, &b));
    b.pgoff = 77; /* anonymous areas ignore pgoff */
    assert_true(vma_can_merge(&a, &b));
    assert_false(vma_can_merge(&b, &a)); /* b does not end where a starts */
    x = b;
    x.start = P(21);
    assert_false(vma_can_merge(&a, &x));
    x = b;
    x.prot = VM_READ;
    assert_false(vma_can_merge(&a, &x));
    x = b;
    x.flags = VM_SHARED;
    assert_false(vma_can_merge(&a, &x));
    x = b;
    x.kind = VMA_HEAP;
    assert_false(vma_can_merge(&a, &x));
    x = b;
    x.file_end = 0x1000;
    assert_false(vma_can_merge(&a, &x));

    a = filemap(P(10), P(20), &f1, 3);
    b = filemap(P(20), P(30), &f1, 13); /* 3 + 10 pages */
    assert_true(vma_can_merge(&a, &b));
    b.pgoff = 12;
    assert_false(vma_can_merge(&a, &b));
    b.pgoff = 14;
    assert_false(vma_can_merge(&a, &b));
    b = filemap(P(20), P(30), &f2, 13);
    assert_false(vma_can_merge(&a, &b));
    x = anon(P(20), P(30), VM_READ);
    x.kind = VMA_FILE;
    assert_false(vma_can_merge(&a, &x)); /* file then anonymous */
}

static void test_vma_find_free_empty_list_returns_top(void **state)
{
    struct vma_list l;
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_find_free(&l, P(4), P(16), P(100), &out), 0);
    assert_int_equal(out, P(96));
    assert_int_equal(vma_find_free(&l, P(84), P(16), P(100), &out), 0);
    assert_int_equal(out, P(16)); /* exactly the whole window */
    vma_list_destroy(&l);
}

static void test_vma_find_free_skips_areas_top_down(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(90), P(100), RW);
    struct vma b = anon(P(70), P(85), RW);
    struct vma c = anon(P(20), P(30), RW);
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(vma_insert(&l, &c), 0);
    assert_int_equal(vma_find_free(&l, P(5), P(10), P(100), &out), 0);
    assert_int_equal(out, P(85)); /* the gap [85, 90) fits exactly */
    assert_int_equal(vma_find_free(&l, P(6), P(10), P(100), &out), 0);
    assert_int_equal(out, P(64)); /* below [70, 85) */
    assert_int_equal(vma_find_free(&l, P(40), P(10), P(100), &out), 0);
    assert_int_equal(out, P(30)); /* the gap [30, 70) fits exactly */
    assert_int_equal(vma_find_free(&l, P(41), P(10), P(100), &out), -ENOMEM);
    assert_int_equal(vma_find_free(&l, P(10), P(10), P(200), &out), 0);
    assert_int_equal(out, P(190)); /* above every area */
    vma_list_destroy(&l);
}

static void test_vma_find_free_area_straddling_high_is_avoided(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(95), P(105), RW);
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_find_free(&l, P(3), P(10), P(100), &out), 0);
    assert_int_equal(out, P(92));
    vma_list_destroy(&l);
}

static void test_vma_find_free_respects_low(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(100), RW);
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_find_free(&l, P(5), P(5), P(100), &out), 0);
    assert_int_equal(out, P(5));
    assert_int_equal(vma_find_free(&l, P(6), P(5), P(100), &out), -ENOMEM);
    /* An area crossing low: the gap above it is the only candidate. */
    assert_int_equal(vma_find_free(&l, P(3), P(50), P(103), &out), 0);
    assert_int_equal(out, P(100));
    assert_int_equal(vma_find_free(&l, P(4), P(50), P(103), &out), -ENOMEM);
    vma_list_destroy(&l);
}

static void test_vma_find_free_impossible_request_returns_enomem(void **state)
{
    struct vma_list l;
    gva_t out = 0x1234;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_find_free(&l, P(11), P(10), P(20), &out), -ENOMEM);
    assert_int_equal(vma_find_free(&l, 0, P(10), P(20), &out), -ENOMEM);
    assert_int_equal(vma_find_free(&l, P(1), P(20), P(20), &out), -ENOMEM);
    assert_int_equal(vma_find_free(&l, P(1), P(30), P(20), &out), -ENOMEM);
    assert_int_equal(vma_find_free(&l, UINT64_MAX, 0, UINT64_MAX, &out), -ENOMEM);
    assert_int_equal(out, 0x1234);
    vma_list_destroy(&l);
}

static void test_vma_find_free_rounds_len_and_bounds_to_pages(void **state)
{
    struct vma_list l;
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_find_free(&l, 1, P(10), P(100) + 123, &out), 0);
    assert_int_equal(out, P(99));
    assert_int_equal(vma_find_free(&l, P(1) + 1, P(10), P(100), &out), 0);
    assert_int_equal(out, P(98));
    assert_int_equal(vma_find_free(&l, P(1), P(98) + 1, P(100), &out), 0);
    assert_int_equal(out, P(99));
    assert_int_equal(vma_find_free(&l, P(2), P(98) + 1, P(100), &out), -ENOMEM);
    vma_list_destroy(&l);
}

static void test_vma_find_free_high_beyond_user_end_is_clamped(void **state)
{
    struct vma_list l;
    gva_t out = 0;

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_find_free(&l, P(2), P(16), UINT64_MAX, &out), 0);
    assert_int_equal(out, USER_VA_END - P(2));
    vma_list_destroy(&l);
}

static void test_vma_overlaps_reports_intersections(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(30), P(40), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_false(vma_overlaps(&l, 0, P(10)));
    assert_true(vma_overlaps(&l, 0, P(10) + 1));
    assert_true(vma_overlaps(&l, P(19), P(21)));
    assert_false(vma_overlaps(&l, P(20), P(30)));
    assert_true(vma_overlaps(&l, P(20), P(31)));
    assert_true(vma_overlaps(&l, P(12), P(13)));
    assert_true(vma_overlaps(&l, 0, USER_VA_END));
    assert_false(vma_overlaps(&l, P(40), USER_VA_END));
    assert_false(vma_overlaps(&l, P(15), P(15)));
    vma_list_destroy(&l);
}

static void test_vma_perm_string_formats_prot_and_sharing(void **state)
{
    struct vma v = anon(P(1), P(2), VM_READ | VM_WRITE | VM_EXEC);
    char buf[5];

    (void)state;
    vma_perm_string(&v, buf);
    assert_string_equal(buf, "rwxp");
    v.prot = VM_READ;
    v.flags = VM_SHARED;
    vma_perm_string(&v, buf);
    assert_string_equal(buf, "r--s");
    v.prot = VM_READ | VM_EXEC;
    v.flags = VM_LOCKED;
    vma_perm_string(&v, buf);
    assert_string_equal(buf, "r-xp");
    v.prot = 0;
    vma_perm_string(&v, buf);
    assert_string_equal(buf, "---p");
    v.prot = VM_WRITE;
    v.flags = VM_SHARED | VM_NORESERVE;
    vma_perm_string(&v, buf);
    assert_string_equal(buf, "-w-s");
}

static void test_vma_kind_name_names_every_kind(void **state)
{
    (void)state;
    assert_string_equal(vma_kind_name(VMA_ANON), "anon");
    assert_string_equal(vma_kind_name(VMA_FILE), "file");
    assert_string_equal(vma_kind_name(VMA_IMAGE), "image");
    assert_string_equal(vma_kind_name(VMA_BSS), "bss");
    assert_string_equal(vma_kind_name(VMA_HEAP), "heap");
    assert_string_equal(vma_kind_name(VMA_STACK), "stack");
    assert_string_equal(vma_kind_name(VMA_CHECKER), "checker");
}

static void test_vma_list_destroy_leaves_reusable_empty_list(void **state)
{
    struct vma_list l;
    struct vma a = anon(P(10), P(20), RW);
    struct vma b = anon(P(30), P(40), RW);

    (void)state;
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    vma_list_destroy(&l);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.cap, 0);
    assert_null(l.v);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(l.n, 1);
    vma_list_destroy(&l);
}

/* ---- file-backed areas: one reference per area ---- */

/* Two temporary host files opened as vfiles in a small page cache. */
struct file_fixture {
    struct phys phys;    /* frame pool behind the cache */
    struct pagecache pc; /* cache that owns the vfiles */
    char path[2][32];    /* the temporary files */
    struct vfile *f[2];  /* one reference each, held by the test */
    unsigned base[2];    /* f[i]->refs right after opening */
};

static int file_setup(void **state)
{
    struct file_fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL || phys_init(&fx->phys, 64 * PAGE_SIZE) != 0)
        return -1;
    if (pagecache_init(&fx->pc, &fx->phys) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int fd;

        strcpy(fx->path[i], "/tmp/test_vma.XXXXXX");
        fd = mkstemp(fx->path[i]);
        if (fd < 0)
            return -1;
        if (write(fd, "vmemu", 5) != 5 || close(fd) != 0)
            return -1;
        if (vfile_open(&fx->pc, fx->path[i], &fx->f[i]) != 0)
            return -1;
        fx->base[i] = fx->f[i]->refs;
    }
    if (fx->f[0] == fx->f[1])
        return -1;
    *state = fx;
    return 0;
}

static int file_teardown(void **state)
{
    struct file_fixture *fx = *state;

    for (int i = 0; i < 2; i++) {
        vfile_put(fx->f[i]);
        unlink(fx->path[i]);
    }
    pagecache_destroy(&fx->pc);
    phys_destroy(&fx->phys);
    free(fx);
    return 0;
}

static void test_vma_insert_file_area_takes_one_reference(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma v = filemap(P(10), P(12), f, 0);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &v), 0);
    assert_int_equal(f->refs, fx->base[0] + 1);
    assert_ptr_equal(l.v[0].file, f);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_insert_file_error_takes_no_reference(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma v = filemap(P(10), P(12), f, 0);
    struct vma overlap = filemap(P(11), P(13), f, 1);
    struct vma bad = filemap(P(20) + 8, P(22), f, 0);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &v), 0);
    assert_int_equal(vma_insert(&l, &overlap), -EEXIST);
    assert_int_equal(vma_insert(&l, &bad), -EINVAL);
    assert_int_equal(f->refs, fx->base[0] + 1);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_insert_contiguous_pgoff_merges_and_drops_reference(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma a = filemap(P(10), P(12), f, 0);
    struct vma b = filemap(P(12), P(15), f, 2);
    struct vma c = filemap(P(15), P(16), f, 7); /* 5 would continue b */

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(15));
    assert_int_equal(l.v[0].pgoff, 0);
    assert_int_equal(f->refs, fx->base[0] + 1);
    assert_int_equal(vma_insert(&l, &c), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1].pgoff, 7);
    assert_int_equal(f->refs, fx->base[0] + 2);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_insert_below_file_area_merges_keeping_lower_pgoff(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma hi = filemap(P(20), P(24), f, 9);
    struct vma lo = filemap(P(17), P(20), f, 6);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &hi), 0);
    assert_int_equal(vma_insert(&l, &lo), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(17), P(24));
    assert_int_equal(l.v[0].pgoff, 6);
    assert_int_equal(f->refs, fx->base[0] + 1);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_insert_bridging_file_areas_leaves_one_reference(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma lo = filemap(P(10), P(12), f, 0);
    struct vma hi = filemap(P(14), P(16), f, 4);
    struct vma mid = filemap(P(12), P(14), f, 2);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &lo), 0);
    assert_int_equal(vma_insert(&l, &hi), 0);
    assert_int_equal(f->refs, fx->base[0] + 2);
    assert_int_equal(vma_insert(&l, &mid), 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(16));
    assert_int_equal(f->refs, fx->base[0] + 1);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_insert_different_files_do_not_merge(void **state)
{
    struct file_fixture *fx = *state;
    struct vma_list l;
    struct vma a = filemap(P(10), P(12), fx->f[0], 0);
    struct vma b = filemap(P(12), P(14), fx->f[1], 2);
    struct vma c = anon(P(14), P(16), VM_READ);

    c.kind = VMA_FILE; /* same kind and prot, but no file */
    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(vma_insert(&l, &c), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(fx->f[0]->refs, fx->base[0] + 1);
    assert_int_equal(fx->f[1]->refs, fx->base[1] + 1);
    vma_list_destroy(&l);
    assert_int_equal(fx->f[0]->refs, fx->base[0]);
    assert_int_equal(fx->f[1]->refs, fx->base[1]);
}

static void test_vma_split_file_area_gives_upper_half_own_reference(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma a = filemap(P(10), P(20), f, 3);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_split(&l, P(14)), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].pgoff, 3);
    assert_int_equal(l.v[1].pgoff, 7);
    assert_ptr_equal(l.v[1].file, f);
    assert_int_equal(f->refs, fx->base[0] + 2);
    /* The halves are still contiguous in the file: merging them gives one back. */
    vma_merge_around(&l, 0);
    assert_int_equal(l.n, 1);
    check_area(&l, 0, P(10), P(20));
    assert_int_equal(l.v[0].pgoff, 3);
    assert_int_equal(f->refs, fx->base[0] + 1);
    vma_list_destroy(&l);
    assert_int_equal(f->refs, fx->base[0]);
}

static void test_vma_remove_range_file_areas_drops_their_references(void **state)
{
    struct file_fixture *fx = *state;
    struct vfile *f = fx->f[0];
    struct vma_list l;
    struct vma a = filemap(P(10), P(20), f, 0);
    struct vma b = filemap(P(20), P(30), f, 50); /* not contiguous: stays separate */
    struct vma c = filemap(P(40), P(50), fx->f[1], 0);

    vma_list_init(&l);
    assert_int_equal(vma_insert(&l, &a), 0);
    assert_int_equal(vma_insert(&l, &b), 0);
    assert_int_equal(vma_insert(&l, &c), 0);
    assert_int_equal(f->refs, fx->base[0] + 2);
    /* Punch a hole in a: split in three, the middle goes. */
    assert_int_equal(vma_remove_range(&l, P(12), P(14)), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.v[1].pgoff, 4);
    assert_int_equal(f->refs, fx->base[0] + 3);
    /* Remove the upper half of a and all of b. */
    assert_int_equal(vma_remove_range(&l, P(14), P(30)), 0);
    assert_int_equal(l.n, 2);
    check_area(&l, 0, P(10), P(12));
    check_area(&l, 1, P(40), P(50));
    assert_int_equal(f->refs, fx->base[0] + 1);
    assert_int_equal(fx->f[1]->refs, fx->base[1] + 1);
    assert_int_equal(vma_remove_range(&l, 0, USER_VA_END), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(f->refs, fx->base[0]);
    assert_int_equal(fx->f[1]->refs, fx->base[1]);
    vma_list_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vma_list_init_empty_finds_nothing),
        cmocka_unit_test(test_vma_insert_single_area_stores_a_copy),
        cmocka_unit_test(test_vma_insert_empty_or_reversed_returns_einval),
        cmocka_unit_test(test_vma_insert_unaligned_returns_einval),
        cmocka_unit_test(test_vma_insert_past_user_end_returns_einval),
        cmocka_unit_test(test_vma_insert_overlap_returns_eexist),
        cmocka_unit_test(test_vma_insert_touching_incompatible_areas_stay_separate),
        cmocka_unit_test(test_vma_insert_out_of_order_keeps_sorted),
        cmocka_unit_test(test_vma_insert_many_areas_grows_and_stays_searchable),
        cmocka_unit_test(test_vma_insert_adjacent_compatible_merges),
        cmocka_unit_test(test_vma_insert_filling_gap_merges_three_into_one),
        cmocka_unit_test(test_vma_find_returns_containing_or_next_area),
        cmocka_unit_test(test_vma_lookup_contains_start_not_end),
        cmocka_unit_test(test_vma_prev_returns_closest_area_ending_at_or_below),
        cmocka_unit_test(test_vma_split_inside_area_makes_two_with_advanced_pgoff),
        cmocka_unit_test(test_vma_split_at_boundary_or_in_gap_changes_nothing),
        cmocka_unit_test(test_vma_remove_range_middle_leaves_two_pieces),
        cmocka_unit_test(test_vma_remove_range_across_areas_trims_edges),
        cmocka_unit_test(test_vma_remove_range_exact_area_or_gap_or_empty),
        cmocka_unit_test(test_vma_merge_around_after_prot_change_rejoins),
        cmocka_unit_test(test_vma_merge_around_merges_only_compatible_side),
        cmocka_unit_test(test_vma_can_merge_checks_every_field),
        cmocka_unit_test(test_vma_find_free_empty_list_returns_top),
        cmocka_unit_test(test_vma_find_free_skips_areas_top_down),
        cmocka_unit_test(test_vma_find_free_area_straddling_high_is_avoided),
        cmocka_unit_test(test_vma_find_free_respects_low),
        cmocka_unit_test(test_vma_find_free_impossible_request_returns_enomem),
        cmocka_unit_test(test_vma_find_free_rounds_len_and_bounds_to_pages),
        cmocka_unit_test(test_vma_find_free_high_beyond_user_end_is_clamped),
        cmocka_unit_test(test_vma_overlaps_reports_intersections),
        cmocka_unit_test(test_vma_perm_string_formats_prot_and_sharing),
        cmocka_unit_test(test_vma_kind_name_names_every_kind),
        cmocka_unit_test(test_vma_list_destroy_leaves_reusable_empty_list),
        cmocka_unit_test_setup_teardown(test_vma_insert_file_area_takes_one_reference, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_insert_file_error_takes_no_reference, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_insert_contiguous_pgoff_merges_and_drops_reference,
                                        file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_insert_below_file_area_merges_keeping_lower_pgoff,
                                        file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_insert_bridging_file_areas_leaves_one_reference,
                                        file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_insert_different_files_do_not_merge, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_split_file_area_gives_upper_half_own_reference,
                                        file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_vma_remove_range_file_areas_drops_their_references,
                                        file_setup, file_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
