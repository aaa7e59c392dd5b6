/* Unit tests of the 4-level page tables (src/mm/pagetable.c) and the PTE helpers of
 * include/vmemu/pagetable.h: lookup before and after allocation, how many table pages
 * each region costs, pruning that frees only empty tables inside the range, the in-order
 * walk of non-none entries, the level-by-level walk for reports, and running out of
 * frames. Leaf PTEs are written by hand: the tables never follow a leaf's frame. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmemu/pagetable.h"
#include "vmemu/phys.h"

#define NFRAMES 32

/* A, in the third 2 MiB region of the first GiB (PML4 0, PDPT 0, PD 2, PT 0). */
#define VA_A      0x400000ULL
#define SPAN_2M   (1ULL << 21)
#define SPAN_1G   (1ULL << 30)
#define SPAN_512G (1ULL << 39)
#define DIR_FLAGS (PTE_P | PTE_RW | PTE_US)

struct env {
    struct phys phys; /* 32-frame pool */
    struct pt pt;     /* tables under test */
};

static int env_setup(void **state)
{
    static struct env e;

    memset(&e, 0, sizeof(e));
    if (phys_init(&e.phys, NFRAMES * PAGE_SIZE) != 0 || pt_init(&e.pt, &e.phys) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    pt_destroy(&e->pt, &e->phys);
    phys_destroy(&e->phys);
    return 0;
}

/* The leaf slot of va, allocating tables; fails the test when that is impossible. */
static pte_t *slot(struct env *e, gva_t va)
{
    pte_t *ptep = NULL;

    assert_int_equal(pt_lookup_alloc(&e->pt, &e->phys, va, &ptep), 0);
    assert_non_null(ptep);
    return ptep;
}

/* Addresses pt_for_each visited. */
struct visits {
    gva_t va[16];  /* in visiting order */
    pte_t pte[16]; /* the PTE seen */
    unsigned n;    /* calls */
};

static void record_visit(void *ctx, gva_t va, pte_t *ptep)
{
    struct visits *v = ctx;

    if (v->n < ARRAY_LEN(v->va)) {
        v->va[v->n] = va;
        v->pte[v->n] = *ptep;
    }
    v->n++;
}

static void test_pt_init_allocates_pinned_root(void **state)
{
    struct env *e = *state;

    assert_int_equal(e->pt.table_pages, 1);
    assert_int_not_equal(e->pt.root, 0);
    assert_int_not_equal(e->pt.root, e->phys.zero_pfn);
    assert_int_equal(phys_frame(&e->phys, e->pt.root)->flags, FRAME_PAGETABLE | FRAME_PINNED);
    assert_int_equal(e->phys.used, 2);
}

static void test_pt_lookup_before_alloc_returns_null(void **state)
{
    struct env *e = *state;

    assert_null(pt_lookup(&e->pt, &e->phys, VA_A));
    assert_null(pt_lookup(&e->pt, &e->phys, 0));
    assert_int_equal(e->pt.table_pages, 1);
}

static void test_pt_lookup_alloc_creates_three_tables(void **state)
{
    struct env *e = *state;
    pte_t *ptep = slot(e, VA_A + 0x123);

    assert_int_equal(e->pt.table_pages, 4);
    assert_int_equal(e->phys.used, 5);
    assert_int_equal(*ptep, 0);
    /* Any byte of the page gives the same slot; the next page the next slot. */
    assert_ptr_equal(pt_lookup(&e->pt, &e->phys, VA_A), ptep);
    assert_ptr_equal(pt_lookup(&e->pt, &e->phys, VA_A + PAGE_SIZE), ptep + 1);
    /* The slot lives in a table frame of the pool. */
    pfn_t leaf_table = (pfn_t)(((uint8_t *)ptep - e->phys.mem) >> PAGE_SHIFT);
    assert_int_equal(phys_frame(&e->phys, leaf_table)->flags, FRAME_PAGETABLE | FRAME_PINNED);
}

static void test_pt_lookup_alloc_counts_tables_per_region(void **state)
{
    struct env *e = *state;

    slot(e, VA_A);
    assert_int_equal(e->pt.table_pages, 4);
    slot(e, VA_A + 0x5000); /* same 2 MiB region: same leaf table */
    assert_int_equal(e->pt.table_pages, 4);
    slot(e, VA_A + SPAN_2M - PAGE_SIZE); /* last page of that region */
    assert_int_equal(e->pt.table_pages, 4);
    slot(e, VA_A + SPAN_2M); /* next 2 MiB: one leaf table */
    assert_int_equal(e->pt.table_pages, 5);
    slot(e, VA_A + SPAN_1G); /* next GiB: a directory and a leaf table */
    assert_int_equal(e->pt.table_pages, 7);
    slot(e, VA_A + SPAN_512G); /* next 512 GiB: PDPT, PD and PT */
    assert_int_equal(e->pt.table_pages, 10);
    slot(e, USER_VA_END - PAGE_SIZE); /* last user page: a new PML4 slot */
    assert_int_equal(e->pt.table_pages, 13);
    assert_int_equal(e->phys.used, 14);
}

static void test_pt_lookup_alloc_recycled_frame_is_zeroed(void **state)
{
    struct env *e = *state;
    pfn_t junk;

    assert_int_equal(phys_alloc(&e->phys, false, &junk), 0);
    memset(phys_hva(&e->phys, junk), 0xff, PAGE_SIZE);
    phys_put(&e->phys, junk);
    /* The PDPT reuses the junk frame: its other entries must read as empty. */
    slot(e, VA_A);
    assert_int_equal(phys_frame(&e->phys, junk)->flags, FRAME_PAGETABLE | FRAME_PINNED);
    assert_null(pt_lookup(&e->pt, &e->phys, VA_A + SPAN_1G));
    assert_int_equal(*pt_lookup(&e->pt, &e->phys, VA_A + PAGE_SIZE), 0);
}

static void test_pt_lookup_alloc_out_of_frames_returns_enomem(void **state)
{
    struct phys phys;
    struct pt pt;
    pte_t *ptep = NULL;

    (void)state;
    /* 4 frames: frame 0, the zero page, the root, and one more: the PD cannot be had. */
    assert_int_equal(phys_init(&phys, 4 * PAGE_SIZE), 0);
    assert_int_equal(pt_init(&pt, &phys), 0);
    assert_int_equal(pt_lookup_alloc(&pt, &phys, VA_A, &ptep), -ENOMEM);
    assert_null(ptep);
    assert_int_equal(pt.table_pages, 2);
    assert_null(pt_lookup(&pt, &phys, VA_A));
    assert_int_equal(phys_free_frames(&phys), 0);
    pt_destroy(&pt, &phys);
    assert_int_equal(pt.root, 0);
    assert_int_equal(pt.table_pages, 0);
    assert_int_equal(phys.used, 1);
    phys_destroy(&phys);
}

static void test_pt_destroy_frees_every_table(void **state)
{
    struct env *e = *state;

    slot(e, VA_A);
    slot(e, VA_A + SPAN_1G);
    slot(e, VA_A + SPAN_512G);
    assert_int_equal(e->pt.table_pages, 9);
    pt_destroy(&e->pt, &e->phys);
    assert_int_equal(e->pt.table_pages, 0);
    assert_int_equal(e->phys.used, 1);
    assert_int_equal(phys_free_frames(&e->phys), NFRAMES - 2);
    /* The teardown destroys again: a second destroy must be harmless. */
}

static void test_pt_prune_frees_only_empty_tables_inside_range(void **state)
{
    struct env *e = *state;
    uint64_t before;

    slot(e, VA_A);
    slot(e, VA_A + SPAN_2M);
    assert_int_equal(e->pt.table_pages, 5);
    before = e->phys.used;

    /* Exactly the first leaf table's region: only that table goes (the PD also covers
     * the second region). */
    pt_prune(&e->pt, &e->phys, VA_A, VA_A + SPAN_2M);
    assert_int_equal(e->pt.table_pages, 4);
    assert_int_equal(e->phys.used, before - 1);
    assert_null(pt_lookup(&e->pt, &e->phys, VA_A));
    assert_non_null(pt_lookup(&e->pt, &e->phys, VA_A + SPAN_2M));

    /* A range that covers only part of the second table frees nothing. */
    pt_prune(&e->pt, &e->phys, VA_A + SPAN_2M, VA_A + SPAN_2M + PAGE_SIZE);
    assert_int_equal(e->pt.table_pages, 4);
    pt_prune(&e->pt, &e->phys, VA_A + SPAN_2M + PAGE_SIZE, VA_A + 2 * SPAN_2M);
    assert_int_equal(e->pt.table_pages, 4);

    /* An empty range frees nothing either. */
    pt_prune(&e->pt, &e->phys, VA_A + 2 * SPAN_2M, VA_A + SPAN_2M);
    assert_int_equal(e->pt.table_pages, 4);

    /* A table with one non-none entry stays, and so do the tables above it. */
    *pt_lookup(&e->pt, &e->phys, VA_A + SPAN_2M + PAGE_SIZE) = pte_make_swap(9);
    pt_prune(&e->pt, &e->phys, 0, USER_VA_END);
    assert_int_equal(e->pt.table_pages, 4);

    *pt_lookup(&e->pt, &e->phys, VA_A + SPAN_2M + PAGE_SIZE) = 0;
    pt_prune(&e->pt, &e->phys, 0, USER_VA_END);
    assert_int_equal(e->pt.table_pages, 1);
    assert_int_equal(e->phys.used, 2);
    assert_null(pt_lookup(&e->pt, &e->phys, VA_A + SPAN_2M));
}

static void test_pt_prune_whole_gigabyte_frees_directory(void **state)
{
    struct env *e = *state;

    slot(e, VA_A);
    slot(e, SPAN_1G + VA_A);
    assert_int_equal(e->pt.table_pages, 6);
    /* [1 GiB, 2 GiB) holds the second PD and its PT; the PDPT also maps the first GiB. */
    pt_prune(&e->pt, &e->phys, SPAN_1G, 2 * SPAN_1G);
    assert_int_equal(e->pt.table_pages, 4);
    assert_non_null(pt_lookup(&e->pt, &e->phys, VA_A));
    assert_null(pt_lookup(&e->pt, &e->phys, SPAN_1G + VA_A));
    pte_t levels[4];
    assert_int_equal(pt_walk_levels(&e->pt, &e->phys, SPAN_1G + VA_A, levels), 2);
    assert_int_equal(levels[1], 0);
}

static void test_pt_for_each_visits_non_none_entries_in_order(void **state)
{
    struct env *e = *state;
    struct visits v = {0};
    const gva_t want[] = {
        VA_A,           VA_A + 0x3000, VA_A + 0x5000, VA_A + 0x1ff000, VA_A + SPAN_2M + 0x1000,
        VA_A + SPAN_1G,
    };

    /* Written out of order; VA_A + 0x1000 gets a slot but stays none. */
    *slot(e, VA_A + SPAN_1G) = pte_make(20, PTE_P);
    *slot(e, VA_A + 0x3000) = pte_make(21, PTE_P | PTE_RW);
    *slot(e, VA_A + SPAN_2M + 0x1000) = pte_make(22, PTE_P);
    *slot(e, VA_A) = pte_make(23, PTE_P | PTE_US);
    *slot(e, VA_A + 0x5000) = pte_make_swap(4);
    *slot(e, VA_A + 0x1ff000) = pte_make(24, PTE_P);
    slot(e, VA_A + 0x1000);

    pt_for_each(&e->pt, &e->phys, 0, USER_VA_END, record_visit, &v);
    assert_int_equal(v.n, ARRAY_LEN(want));
    for (unsigned i = 0; i < ARRAY_LEN(want); i++)
        assert_int_equal(v.va[i], want[i]);
    assert_int_equal(v.pte[0], pte_make(23, PTE_P | PTE_US));
    assert_int_equal(v.pte[2], pte_make_swap(4));

    /* Half-open sub-range crossing a leaf table boundary. */
    memset(&v, 0, sizeof(v));
    pt_for_each(&e->pt, &e->phys, VA_A + 0x3000, VA_A + SPAN_2M + 0x1000, record_visit, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.va[0], VA_A + 0x3000);
    assert_int_equal(v.va[1], VA_A + 0x5000);
    assert_int_equal(v.va[2], VA_A + 0x1ff000);

    /* A range holding only a none slot, and empty ranges. */
    memset(&v, 0, sizeof(v));
    pt_for_each(&e->pt, &e->phys, VA_A + 0x1000, VA_A + 0x3000, record_visit, &v);
    pt_for_each(&e->pt, &e->phys, VA_A + 0x3000, VA_A + 0x3000, record_visit, &v);
    pt_for_each(&e->pt, &e->phys, VA_A + SPAN_1G, VA_A, record_visit, &v);
    assert_int_equal(v.n, 0);
}

static void test_pt_walk_levels_reports_each_level(void **state)
{
    struct env *e = *state;
    pte_t levels[4] = {1, 2, 3, 4};
    pte_t leaf = pte_make(17, PTE_P | PTE_RW | PTE_US | PTE_NX);

    /* Only the PML4 exists: its (empty) entry is read. */
    assert_int_equal(pt_walk_levels(&e->pt, &e->phys, VA_A, levels), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(levels[i], 0);

    pte_t *ptep = slot(e, VA_A);
    *ptep = leaf;
    assert_int_equal(pt_walk_levels(&e->pt, &e->phys, VA_A, levels), 4);
    for (int i = 0; i < 3; i++)
        assert_int_equal(levels[i] & ~PTE_PFN_MASK, DIR_FLAGS);
    /* Each directory entry points at the table holding the next level. */
    pte_t *pdpt = phys_hva(&e->phys, pte_pfn(levels[0]));
    pte_t *pd = phys_hva(&e->phys, pte_pfn(levels[1]));
    pte_t *pt = phys_hva(&e->phys, pte_pfn(levels[2]));
    assert_int_equal(pdpt[0], levels[1]);
    assert_int_equal(pd[2], levels[2]);
    assert_ptr_equal(&pt[0], ptep);
    assert_int_equal(levels[3], leaf);

    /* Same PDPT, other GiB: the PD entry is missing, so two levels. */
    assert_int_equal(pt_walk_levels(&e->pt, &e->phys, VA_A + SPAN_1G, levels), 2);
    assert_int_equal(levels[0] & ~PTE_PFN_MASK, DIR_FLAGS);
    assert_int_equal(levels[1], 0);
    assert_int_equal(levels[2], 0);
    assert_int_equal(levels[3], 0);

    /* A none leaf still counts as the fourth level. */
    assert_int_equal(pt_walk_levels(&e->pt, &e->phys, VA_A + PAGE_SIZE, levels), 4);
    assert_int_equal(levels[3], 0);
}

static void test_pte_helpers_classify_and_encode(void **state)
{
    pte_t p = pte_make(0x12345, PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_NX);

    (void)state;
    assert_true(pte_none(0));
    assert_false(pte_present(0));
    assert_false(pte_is_swap(0));

    assert_false(pte_none(p));
    assert_true(pte_present(p));
    assert_false(pte_is_swap(p));
    assert_int_equal(pte_pfn(p), 0x12345);
    assert_int_equal(p & ~PTE_PFN_MASK, PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_NX);

    /* The largest frame number the format holds (40 bits) survives next to NX. */
    pte_t big = pte_make(0xffffffffffULL, PTE_P | PTE_NX);
    assert_int_equal(pte_pfn(big), 0xffffffffffULL);

    /* A present PTE with the software swap bit is still present, not a swap entry. */
    assert_false(pte_is_swap(p | PTE_SWP));
}

static void test_pte_swap_entry_round_trips_slot(void **state)
{
    const uint64_t slots[] = {0, 1, 4095, 0x123456789ULL, 0xffffffffffULL};

    (void)state;
    for (unsigned i = 0; i < ARRAY_LEN(slots); i++) {
        pte_t s = pte_make_swap(slots[i]);

        assert_false(pte_none(s));
        assert_false(pte_present(s));
        assert_true(pte_is_swap(s));
        assert_int_equal(pte_swap_slot(s), slots[i]);
        assert_int_equal(s & ~PTE_PFN_MASK, PTE_SWP);
    }
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_pt_init_allocates_pinned_root),
        ENV_TEST(test_pt_lookup_before_alloc_returns_null),
        ENV_TEST(test_pt_lookup_alloc_creates_three_tables),
        ENV_TEST(test_pt_lookup_alloc_counts_tables_per_region),
        ENV_TEST(test_pt_lookup_alloc_recycled_frame_is_zeroed),
        cmocka_unit_test(test_pt_lookup_alloc_out_of_frames_returns_enomem),
        ENV_TEST(test_pt_destroy_frees_every_table),
        ENV_TEST(test_pt_prune_frees_only_empty_tables_inside_range),
        ENV_TEST(test_pt_prune_whole_gigabyte_frees_directory),
        ENV_TEST(test_pt_for_each_visits_non_none_entries_in_order),
        ENV_TEST(test_pt_walk_levels_reports_each_level),
        cmocka_unit_test(test_pte_helpers_classify_and_encode),
        cmocka_unit_test(test_pte_swap_entry_round_trips_slot),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
