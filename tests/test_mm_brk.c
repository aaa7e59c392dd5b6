/* Unit tests of where an address space places new memory (src/mm/mm.c) without a CPU:
 * mm_brk (growing and shrinking the heap, refusals that return the old break, the gap kept
 * below the next area and the stack, an unaligned start) and the top-down choice of
 * mm_get_unmapped_area (hints honoured or not, bad lengths). Small pools (64 frames) so
 * every frame is accounted for. */
#include "mm_fixture.h"

/* ---- mm_brk ---- */

static void set_brk(struct env *e, gva_t start)
{
    e->mm->start_brk = start;
    e->mm->brk = start;
}

static void test_mm_brk_grow_maps_heap_and_shrink_frees_pages(void **state)
{
    struct env *e = *state;
    uint64_t used = e->sys.phys.used;

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x2500), BRK_BASE + 0x2500);
    assert_int_equal(e->mm->brk, BRK_BASE + 0x2500);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(3), RW);
    assert_int_equal(e->mm->vmas.v[0].kind, VMA_HEAP);
    touch(e, BRK_BASE, 3);
    assert_int_equal(e->mm->stats.rss, 3);

    /* Growing within the last page maps nothing new. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(3)), BRK_BASE + P(3));
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(3), RW);

    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x800), BRK_BASE + 0x800);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(1), RW);
    assert_int_equal(e->mm->stats.rss, 1);
    assert_int_equal(e->sys.phys.used, used + 3 + 1);
    assert_int_equal(mm_brk(e->mm, BRK_BASE), BRK_BASE);
    assert_int_equal(e->mm->vmas.n, 0);
    assert_int_equal(e->mm->stats.rss, 0);
    /* Growing again gives fresh zeroed pages. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(1)), BRK_BASE + P(1));
    uint32_t v = 1;
    assert_int_equal(copy_from_user(e->mm, &v, BRK_BASE, sizeof(v)), 0);
    assert_int_equal(v, 0);
}

static void test_mm_brk_below_start_returns_old_break(void **state)
{
    struct env *e = *state;

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(1)), BRK_BASE + P(1));
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(2)), BRK_BASE + P(2));
    assert_int_equal(e->mm->vmas.n, 1); /* the second step merged into the heap */
    assert_int_equal(mm_brk(e->mm, BRK_BASE - 1), BRK_BASE + P(2));
    assert_int_equal(mm_brk(e->mm, 0), BRK_BASE + P(2)); /* how libc asks for the break */
    assert_int_equal(mm_brk(e->mm, USER_VA_END), BRK_BASE + P(2));
    assert_int_equal(e->mm->brk, BRK_BASE + P(2));
    check_area(e, 0, BRK_BASE, BRK_BASE + P(2), RW);
}

static void test_mm_brk_into_next_area_returns_old_break(void **state)
{
    struct env *e = *state;

    set_brk(e, BRK_BASE);
    map_anon(e, BRK_BASE + P(16), 1, RW);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(16) + 1), BRK_BASE);
    assert_int_equal(e->mm->vmas.n, 1);
    /* Linux keeps one free page between the heap and the next area (native: brk up to
     * it is refused, one page below it is granted). */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(16)), BRK_BASE);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(15)), BRK_BASE + P(15));
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 0, BRK_BASE, BRK_BASE + P(15), RW);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + P(15) + 1), BRK_BASE + P(15));
}

static void test_mm_brk_keeps_stack_guard_gap(void **state)
{
    struct env *e = *state;
    const gva_t stack = BRK_BASE + MM_STACK_GAP + P(8);

    set_brk(e, BRK_BASE);
    assert_int_equal(mm_map(e->mm, stack, P(4), RW, VM_GROWSDOWN, VMA_STACK, NULL, 0, 0), 0);
    assert_int_equal(mm_brk(e->mm, stack - MM_STACK_GAP - P(1) + 1), BRK_BASE);
    assert_int_equal(mm_brk(e->mm, stack - MM_STACK_GAP - P(1)), stack - MM_STACK_GAP - P(1));
    check_area(e, 0, BRK_BASE, stack - MM_STACK_GAP - P(1), RW);
}

static void test_mm_brk_unaligned_start_maps_from_next_page(void **state)
{
    struct env *e = *state;

    /* The program's bss ends half-way into a page. */
    assert_int_equal(mm_map(e->mm, BRK_BASE - P(1), P(2), RW, 0, VMA_BSS, NULL, 0, 0), 0);
    set_brk(e, BRK_BASE + 0x800);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x900), BRK_BASE + 0x900);
    assert_int_equal(e->mm->vmas.n, 1);
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x1800), BRK_BASE + 0x1800);
    assert_int_equal(e->mm->vmas.n, 2);
    check_area(e, 1, BRK_BASE + P(1), BRK_BASE + P(2), RW);
    assert_int_equal(e->mm->vmas.v[1].kind, VMA_HEAP);
    /* Shrinking back below the page keeps the bss. */
    assert_int_equal(mm_brk(e->mm, BRK_BASE + 0x800), BRK_BASE + 0x800);
    assert_int_equal(e->mm->vmas.n, 1);
    check_area(e, 0, BRK_BASE - P(1), BRK_BASE + P(1), RW);
}

/* ---- mm_get_unmapped_area ---- */

static void test_mm_get_unmapped_area_goes_top_down_from_mmap_base(void **state)
{
    struct env *e = *state;
    const gva_t base = e->mm->mmap_base;
    gva_t va;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(3), &va), 0);
    assert_int_equal(va, base - P(3));
    map_anon(e, va, 3, RW);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(1), &va), 0);
    assert_int_equal(va, base - P(4));
    map_anon(e, va, 1, RW);
    assert_int_equal(e->mm->vmas.n, 1); /* merged: [base - 4p, base) */
    /* a one-page area at base - 7p leaves a two-page gap. */
    map_anon(e, base - P(7), 1, VM_READ);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(2), &va), 0);
    assert_int_equal(va, base - P(6));
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, P(3), &va), 0);
    assert_int_equal(va, base - P(10));
}

static void test_mm_get_unmapped_area_hint_honoured_when_free(void **state)
{
    struct env *e = *state;
    gva_t va;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000000, P(4), &va), 0);
    assert_int_equal(va, 0x40000000);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000123, P(4), &va), 0);
    assert_int_equal(va, 0x40000000);
    /* Above mmap_base is fine too when free. */
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x7fff00000000ULL, P(1), &va), 0);
    assert_int_equal(va, 0x7fff00000000ULL);
}

static void test_mm_get_unmapped_area_unusable_hint_falls_back(void **state)
{
    struct env *e = *state;
    const gva_t base = e->mm->mmap_base;
    gva_t va;

    map_anon(e, 0x40000000 + P(2), 1, RW);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0x40000000, P(4), &va), 0);
    assert_int_equal(va, base - P(4));
    assert_int_equal(mm_get_unmapped_area(e->mm, MM_MMAP_LOW - P(1), P(1), &va), 0);
    assert_int_equal(va, base - P(1));
    assert_int_equal(mm_get_unmapped_area(e->mm, USER_VA_END - P(1), P(2), &va), 0);
    assert_int_equal(va, base - P(2));
}

static void test_mm_get_unmapped_area_bad_length_returns_enomem(void **state)
{
    struct env *e = *state;
    gva_t va = 5;

    assert_int_equal(mm_get_unmapped_area(e->mm, 0, 0, &va), -ENOMEM);
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, USER_VA_END + P(1), &va), -ENOMEM);
    /* More than fits between MM_MMAP_LOW and mmap_base. */
    assert_int_equal(mm_get_unmapped_area(e->mm, 0, e->mm->mmap_base, &va), -ENOMEM);
    assert_int_equal(va, 5);
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_mm_brk_grow_maps_heap_and_shrink_frees_pages),
        ENV_TEST(test_mm_brk_below_start_returns_old_break),
        ENV_TEST(test_mm_brk_into_next_area_returns_old_break),
        ENV_TEST(test_mm_brk_keeps_stack_guard_gap),
        ENV_TEST(test_mm_brk_unaligned_start_maps_from_next_page),
        ENV_TEST(test_mm_get_unmapped_area_goes_top_down_from_mmap_base),
        ENV_TEST(test_mm_get_unmapped_area_hint_honoured_when_free),
        ENV_TEST(test_mm_get_unmapped_area_unusable_hint_falls_back),
        ENV_TEST(test_mm_get_unmapped_area_bad_length_returns_enomem),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
