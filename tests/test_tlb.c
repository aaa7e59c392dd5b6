/* Unit tests of vmemu's own TLB (src/mm/tlb.c): geometry checks, set indexing, LRU
 * replacement within a set, the hit/miss/invalidation/flush counters and the --tlb
 * geometry parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmemu/tlb.h"

/* The address of virtual page number vpn, plus an in-page offset. */
static gva_t page_va(uint64_t vpn, uint64_t off)
{
    return (vpn << PAGE_SHIFT) + off;
}

/* Whether vpn is cached, without touching the counters or the LRU order. */
static bool cached(const struct tlb *t, uint64_t vpn)
{
    for (size_t i = 0; i < (size_t)t->sets * t->ways; i++) {
        if (t->entries[i].used != 0 && t->entries[i].vpn == vpn)
            return true;
    }
    return false;
}

static void test_tlb_init_valid_geometry_sets_sets_and_ways(void **state)
{
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_init(&t, 64, 4), 0);
    assert_int_equal(t.sets, 16);
    assert_int_equal(t.ways, 4);
    assert_non_null(t.entries);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(t.entries[i].used, 0);
    assert_int_equal(t.hits, 0);
    assert_int_equal(t.misses, 0);
    assert_int_equal(t.invalidations, 0);
    assert_int_equal(t.flushes, 0);
    tlb_destroy(&t);
    assert_null(t.entries);
}

static void test_tlb_init_bad_geometry_returns_einval(void **state)
{
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_init(&t, 0, 4), -EINVAL);
    assert_int_equal(tlb_init(&t, 64, 0), -EINVAL);
    assert_int_equal(tlb_init(&t, 64, 3), -EINVAL); /* ways does not divide entries */
    assert_int_equal(tlb_init(&t, 48, 4), -EINVAL); /* 12 sets: not a power of two */
    assert_int_equal(tlb_init(&t, 4, 8), -EINVAL);  /* more ways than entries */
}

static void test_tlb_init_fully_associative_has_one_set(void **state)
{
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_init(&t, 8, 8), 0);
    assert_int_equal(t.sets, 1);
    assert_int_equal(t.ways, 8);
    tlb_destroy(&t);
}

static void test_tlb_lookup_empty_counts_miss(void **state)
{
    struct tlb t;
    pte_t pte = 0xdead;

    (void)state;
    assert_int_equal(tlb_init(&t, 16, 4), 0);
    assert_false(tlb_lookup(&t, page_va(5, 0), &pte));
    assert_int_equal(pte, 0xdead); /* untouched on a miss */
    assert_int_equal(t.misses, 1);
    assert_int_equal(t.hits, 0);
    tlb_destroy(&t);
}

static void test_tlb_lookup_after_insert_hits_any_offset(void **state)
{
    struct tlb t;
    pte_t pte = 0;

    (void)state;
    assert_int_equal(tlb_init(&t, 16, 4), 0);
    tlb_insert(&t, page_va(0x1234, 0x10), 0x5000 | 0x7);
    assert_true(tlb_lookup(&t, page_va(0x1234, 0), &pte));
    assert_int_equal(pte, 0x5007);
    pte = 0;
    assert_true(tlb_lookup(&t, page_va(0x1234, PAGE_SIZE - 1), &pte));
    assert_int_equal(pte, 0x5007);
    assert_false(tlb_lookup(&t, page_va(0x1235, 0), &pte));
    assert_int_equal(t.hits, 2);
    assert_int_equal(t.misses, 1);
    tlb_destroy(&t);
}

static void test_tlb_insert_same_page_replaces_pte_in_place(void **state)
{
    struct tlb t;
    pte_t pte = 0;
    int valid = 0;

    (void)state;
    assert_int_equal(tlb_init(&t, 4, 4), 0);
    tlb_insert(&t, page_va(9, 0), 0x1001);
    tlb_insert(&t, page_va(9, 8), 0x2003);
    for (size_t i = 0; i < 4; i++)
        valid += t.entries[i].used != 0;
    assert_int_equal(valid, 1);
    assert_true(tlb_lookup(&t, page_va(9, 0), &pte));
    assert_int_equal(pte, 0x2003);
    tlb_destroy(&t);
}

static void test_tlb_insert_full_set_evicts_least_recently_inserted(void **state)
{
    struct tlb t;

    (void)state;
    /* 4 sets of 2 ways: vpns 0, 4, 8 all map to set 0. */
    assert_int_equal(tlb_init(&t, 8, 2), 0);
    tlb_insert(&t, page_va(0, 0), 0x1000);
    tlb_insert(&t, page_va(4, 0), 0x2000);
    tlb_insert(&t, page_va(8, 0), 0x3000);
    assert_false(cached(&t, 0));
    assert_true(cached(&t, 4));
    assert_true(cached(&t, 8));
    tlb_destroy(&t);
}

static void test_tlb_lookup_hit_refreshes_lru_order(void **state)
{
    struct tlb t;
    pte_t pte;

    (void)state;
    assert_int_equal(tlb_init(&t, 8, 2), 0);
    tlb_insert(&t, page_va(0, 0), 0x1000);
    tlb_insert(&t, page_va(4, 0), 0x2000);
    assert_true(tlb_lookup(&t, page_va(0, 0), &pte)); /* 4 is now the LRU way */
    tlb_insert(&t, page_va(8, 0), 0x3000);
    assert_true(cached(&t, 0));
    assert_false(cached(&t, 4));
    assert_true(cached(&t, 8));
    tlb_destroy(&t);
}

static void test_tlb_insert_four_way_evicts_in_lru_order(void **state)
{
    struct tlb t;
    pte_t pte;

    (void)state;
    /* 1 set of 4 ways: fill with A=1 B=2 C=3 D=4, touch A then C: LRU order is B, D, A, C. */
    assert_int_equal(tlb_init(&t, 4, 4), 0);
    for (uint64_t vpn = 1; vpn <= 4; vpn++)
        tlb_insert(&t, page_va(vpn, 0), vpn << PAGE_SHIFT);
    assert_true(tlb_lookup(&t, page_va(1, 0), &pte));
    assert_true(tlb_lookup(&t, page_va(3, 0), &pte));
    tlb_insert(&t, page_va(10, 0), 0);
    assert_false(cached(&t, 2));
    assert_true(cached(&t, 4));
    tlb_insert(&t, page_va(11, 0), 0);
    assert_false(cached(&t, 4));
    assert_true(cached(&t, 1));
    tlb_insert(&t, page_va(12, 0), 0);
    assert_false(cached(&t, 1));
    assert_true(cached(&t, 3));
    tlb_insert(&t, page_va(13, 0), 0);
    assert_false(cached(&t, 3));
    assert_true(cached(&t, 10));
    assert_true(cached(&t, 11));
    assert_true(cached(&t, 12));
    assert_true(cached(&t, 13));
    tlb_destroy(&t);
}

static void test_tlb_insert_other_set_does_not_evict(void **state)
{
    struct tlb t;

    (void)state;
    /* 2 sets of 2 ways: even vpns in set 0, odd ones in set 1. */
    assert_int_equal(tlb_init(&t, 4, 2), 0);
    tlb_insert(&t, page_va(0, 0), 0x1000);
    tlb_insert(&t, page_va(2, 0), 0x2000);
    tlb_insert(&t, page_va(1, 0), 0x3000);
    tlb_insert(&t, page_va(3, 0), 0x4000);
    tlb_insert(&t, page_va(5, 0), 0x5000); /* evicts 1, the LRU of set 1 */
    assert_true(cached(&t, 0));
    assert_true(cached(&t, 2));
    assert_false(cached(&t, 1));
    assert_true(cached(&t, 3));
    assert_true(cached(&t, 5));
    tlb_destroy(&t);
}

static void test_tlb_insert_prefers_invalid_way_over_lru(void **state)
{
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_init(&t, 2, 2), 0);
    tlb_insert(&t, page_va(1, 0), 0x1000);
    tlb_insert(&t, page_va(2, 0), 0x2000);
    tlb_invalidate(&t, page_va(2, 0)); /* the most recent way becomes free */
    tlb_insert(&t, page_va(3, 0), 0x3000);
    assert_true(cached(&t, 1));
    assert_true(cached(&t, 3));
    tlb_destroy(&t);
}

static void test_tlb_invalidate_cached_page_counts_and_misses_after(void **state)
{
    struct tlb t;
    pte_t pte;

    (void)state;
    assert_int_equal(tlb_init(&t, 16, 4), 0);
    tlb_insert(&t, page_va(7, 0), 0x7000);
    tlb_insert(&t, page_va(8, 0), 0x8000);
    tlb_invalidate(&t, page_va(7, 0x123));
    assert_int_equal(t.invalidations, 1);
    assert_false(tlb_lookup(&t, page_va(7, 0), &pte));
    assert_true(tlb_lookup(&t, page_va(8, 0), &pte));
    assert_int_equal(pte, 0x8000);
    tlb_destroy(&t);
}

static void test_tlb_invalidate_uncached_page_counts_nothing(void **state)
{
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_init(&t, 16, 4), 0);
    tlb_invalidate(&t, page_va(7, 0));
    assert_int_equal(t.invalidations, 0);
    tlb_insert(&t, page_va(7, 0), 0x7000);
    tlb_invalidate(&t, page_va(7, 0));
    tlb_invalidate(&t, page_va(7, 0)); /* already gone */
    assert_int_equal(t.invalidations, 1);
    tlb_destroy(&t);
}

static void test_tlb_flush_drops_all_and_counts_once(void **state)
{
    struct tlb t;
    pte_t pte;

    (void)state;
    assert_int_equal(tlb_init(&t, 16, 4), 0);
    for (uint64_t vpn = 0; vpn < 16; vpn++)
        tlb_insert(&t, page_va(vpn, 0), vpn << PAGE_SHIFT);
    tlb_flush(&t);
    assert_int_equal(t.flushes, 1);
    assert_int_equal(t.invalidations, 0);
    for (uint64_t vpn = 0; vpn < 16; vpn++)
        assert_false(tlb_lookup(&t, page_va(vpn, 0), &pte));
    assert_int_equal(t.misses, 16);
    tlb_flush(&t);
    assert_int_equal(t.flushes, 2);
    tlb_destroy(&t);
}

static void test_tlb_lookup_high_vpn_uses_low_bits_for_set(void **state)
{
    struct tlb t;
    pte_t pte = 0;
    uint64_t a = 0x7ffffffffULL; /* highest user vpn: set 3 of 4 */
    uint64_t b = 0x3;            /* also set 3 */
    uint64_t c = 0x13;           /* also set 3 */

    (void)state;
    assert_int_equal(tlb_init(&t, 8, 2), 0);
    tlb_insert(&t, page_va(a, 0), 0xa000);
    tlb_insert(&t, page_va(b, 0), 0xb000);
    tlb_insert(&t, page_va(c, 0), 0xc000);
    assert_false(cached(&t, a));
    assert_true(tlb_lookup(&t, page_va(b, 0), &pte));
    assert_int_equal(pte, 0xb000);
    assert_true(tlb_lookup(&t, page_va(c, 0), &pte));
    assert_int_equal(pte, 0xc000);
    tlb_destroy(&t);
}

static void test_tlb_parse_geometry_entries_x_ways_parses_both(void **state)
{
    unsigned e = 0, w = 0;

    (void)state;
    assert_int_equal(tlb_parse_geometry("64x4", &e, &w), 0);
    assert_int_equal(e, 64);
    assert_int_equal(w, 4);
    assert_int_equal(tlb_parse_geometry("16x16", &e, &w), 0);
    assert_int_equal(e, 16);
    assert_int_equal(w, 16);
    assert_int_equal(tlb_parse_geometry("65536x1", &e, &w), 0);
    assert_int_equal(e, 65536);
    assert_int_equal(w, 1);
}

static void test_tlb_parse_geometry_entries_only_defaults_to_four_ways(void **state)
{
    unsigned e = 0, w = 0;

    (void)state;
    assert_int_equal(tlb_parse_geometry("256", &e, &w), 0);
    assert_int_equal(e, 256);
    assert_int_equal(w, 4);
    assert_int_equal(tlb_parse_geometry("2", &e, &w), 0);
    assert_int_equal(e, 2);
    assert_int_equal(w, 2);
    assert_int_equal(tlb_parse_geometry("1", &e, &w), 0);
    assert_int_equal(e, 1);
    assert_int_equal(w, 1);
}

static void test_tlb_parse_geometry_bad_input_returns_einval(void **state)
{
    static const char *const bad[] = {
        "",       "0",     "0x4",  "64x0", "48",    "64x3",   "4x8",
        "131072", "65537", "x4",   "64x",  "64x4x", "64 ",    " 64",
        "+64",    "-64",   "64X4", "64k",  "abc",   "64x4\n", "99999999999999999999",
    };
    unsigned e = 7, w = 9;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = tlb_parse_geometry(bad[i], &e, &w);

        if (rc != -EINVAL)
            fail_msg("geometry \"%s\" gave %d, not -EINVAL", bad[i], rc);
    }
    assert_int_equal(tlb_parse_geometry(NULL, &e, &w), -EINVAL);
    assert_int_equal(e, 7); /* outputs untouched on error */
    assert_int_equal(w, 9);
}

static void test_tlb_parse_geometry_result_initialises_tlb(void **state)
{
    unsigned e, w;
    struct tlb t;

    (void)state;
    assert_int_equal(tlb_parse_geometry("128x8", &e, &w), 0);
    assert_int_equal(tlb_init(&t, e, w), 0);
    assert_int_equal(t.sets, 16);
    assert_int_equal(t.ways, 8);
    tlb_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlb_init_valid_geometry_sets_sets_and_ways),
        cmocka_unit_test(test_tlb_init_bad_geometry_returns_einval),
        cmocka_unit_test(test_tlb_init_fully_associative_has_one_set),
        cmocka_unit_test(test_tlb_lookup_empty_counts_miss),
        cmocka_unit_test(test_tlb_lookup_after_insert_hits_any_offset),
        cmocka_unit_test(test_tlb_insert_same_page_replaces_pte_in_place),
        cmocka_unit_test(test_tlb_insert_full_set_evicts_least_recently_inserted),
        cmocka_unit_test(test_tlb_lookup_hit_refreshes_lru_order),
        cmocka_unit_test(test_tlb_insert_four_way_evicts_in_lru_order),
        cmocka_unit_test(test_tlb_insert_other_set_does_not_evict),
        cmocka_unit_test(test_tlb_insert_prefers_invalid_way_over_lru),
        cmocka_unit_test(test_tlb_invalidate_cached_page_counts_and_misses_after),
        cmocka_unit_test(test_tlb_invalidate_uncached_page_counts_nothing),
        cmocka_unit_test(test_tlb_flush_drops_all_and_counts_once),
        cmocka_unit_test(test_tlb_lookup_high_vpn_uses_low_bits_for_set),
        cmocka_unit_test(test_tlb_parse_geometry_entries_x_ways_parses_both),
        cmocka_unit_test(test_tlb_parse_geometry_entries_only_defaults_to_four_ways),
        cmocka_unit_test(test_tlb_parse_geometry_bad_input_returns_einval),
        cmocka_unit_test(test_tlb_parse_geometry_result_initialises_tlb),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
