/* Unit tests of the frame pool (src/mm/phys.c): pool sizes, the zero page, allocation until
 * exhaustion, last-in first-out reuse, reference counts, the peak counter, the reverse
 * map, and the code hook that phys_before_write() calls for frames that ran code. Pools
 * are tiny (4 to 16 frames) so every frame is accounted for, but for the host-memory tests
 * (phys_host.c), which need whole 2 MiB blocks and read residency with mincore(2), and the
 * choice between small and huge host pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "vmemu/phys.h"

#define NFRAMES 16

/* What the fake code hook saw. */
struct hook_log {
    pfn_t pfns[8]; /* frames announced, in order */
    unsigned n;    /* calls */
};

static void record_hook(void *ctx, pfn_t pfn)
{
    struct hook_log *log = ctx;

    if (log->n < ARRAY_LEN(log->pfns))
        log->pfns[log->n] = pfn;
    log->n++;
}

static int pool_setup(void **state)
{
    static struct phys p;

    if (phys_init(&p, NFRAMES * PAGE_SIZE) != 0)
        return -1;
    *state = &p;
    return 0;
}

static int pool_teardown(void **state)
{
    phys_destroy(*state);
    return 0;
}

/* Fake address spaces for the reverse map: only the pointers matter. */
static char fake_mm_a, fake_mm_b;
#define MM_A ((struct mm *)(void *)&fake_mm_a)
#define MM_B ((struct mm *)(void *)&fake_mm_b)

static void test_phys_init_fewer_than_4_frames_returns_einval(void **state)
{
    struct phys p;

    (void)state;
    assert_int_equal(phys_init(&p, 0), -EINVAL);
    assert_int_equal(phys_init(&p, 3 * PAGE_SIZE), -EINVAL);
    /* Rounded down to 3 frames. */
    assert_int_equal(phys_init(&p, 4 * PAGE_SIZE - 1), -EINVAL);
    assert_int_equal(phys_init(&p, 4 * PAGE_SIZE), 0);
    assert_int_equal(p.nframes, 4);
    assert_int_equal(phys_free_frames(&p), 2);
    phys_destroy(&p);
}

static void test_phys_init_rounds_size_down_to_frames(void **state)
{
    struct phys p;

    (void)state;
    assert_int_equal(phys_init(&p, 10 * PAGE_SIZE + 4095), 0);
    assert_int_equal(p.nframes, 10);
    assert_int_equal(p.bytes, 10 * PAGE_SIZE);
    phys_destroy(&p);
}

static void test_phys_init_zero_page_is_pinned_and_zeroed(void **state)
{
    struct phys *p = *state;
    const uint8_t *z;

    /* Frame 0 is never handed out, so the zero page is the first frame allocated. */
    assert_int_equal(p->zero_pfn, 1);
    assert_int_equal(phys_frame(p, p->zero_pfn)->flags, FRAME_ZERO | FRAME_PINNED);
    assert_int_equal(phys_frame(p, p->zero_pfn)->refcount, 1);
    assert_int_equal(p->used, 1);
    assert_int_equal(p->peak_used, 1);
    assert_int_equal(phys_free_frames(p), NFRAMES - 2);
    z = phys_hva(p, p->zero_pfn);
    for (size_t i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(z[i], 0);
    assert_ptr_equal(phys_hva(p, 3), p->mem + 3 * PAGE_SIZE);
}

static void test_phys_alloc_exhausted_pool_returns_enomem(void **state)
{
    struct phys *p = *state;
    pfn_t pfn;

    /* nframes - frame 0 - the zero page, handed out in ascending order. */
    for (pfn_t want = 2; want < NFRAMES; want++) {
        assert_int_equal(phys_alloc(p, false, &pfn), 0);
        assert_int_equal(pfn, want);
        assert_int_equal(phys_frame(p, pfn)->refcount, 1);
        assert_int_equal(phys_frame(p, pfn)->flags, 0);
    }
    assert_int_equal(phys_free_frames(p), 0);
    assert_int_equal(p->used, NFRAMES - 1);
    pfn = 0xabc;
    assert_int_equal(phys_alloc(p, true, &pfn), -ENOMEM);
    assert_int_equal(pfn, 0xabc);
    assert_int_equal(p->used, NFRAMES - 1);
    assert_int_equal(p->peak_used, NFRAMES - 1);
}

static void test_phys_put_reuses_last_freed_frame_first(void **state)
{
    struct phys *p = *state;
    pfn_t a, b, c, x;

    assert_int_equal(phys_alloc(p, false, &a), 0);
    assert_int_equal(phys_alloc(p, false, &b), 0);
    assert_int_equal(phys_alloc(p, false, &c), 0);
    phys_put(p, a);
    phys_put(p, c);
    assert_int_equal(phys_free_frames(p), NFRAMES - 2 - 1);
    assert_int_equal(phys_alloc(p, false, &x), 0);
    assert_int_equal(x, c);
    assert_int_equal(phys_alloc(p, false, &x), 0);
    assert_int_equal(x, a);
    /* Free stack empty: the next never-used frame. */
    assert_int_equal(phys_alloc(p, false, &x), 0);
    assert_int_equal(x, c + 1);
    assert_int_equal(p->used, 5);
}

static void test_phys_alloc_recycled_frame_zeroed_only_when_asked(void **state)
{
    struct phys *p = *state;
    pfn_t pfn, again;
    uint8_t *hva;

    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    hva = phys_hva(p, pfn);
    memset(hva, 0x5a, PAGE_SIZE);
    phys_put(p, pfn);
    assert_int_equal(phys_alloc(p, false, &again), 0);
    assert_int_equal(again, pfn);
    assert_int_equal(hva[0], 0x5a);
    assert_int_equal(hva[PAGE_SIZE - 1], 0x5a);
    phys_put(p, again);
    assert_int_equal(phys_alloc(p, true, &again), 0);
    assert_int_equal(again, pfn);
    for (size_t i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(hva[i], 0);
}

static void test_phys_get_put_frees_on_last_reference(void **state)
{
    struct phys *p = *state;
    pfn_t pfn;

    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    assert_int_equal(p->used, 2);
    phys_get(p, pfn);
    phys_get(p, pfn);
    assert_int_equal(phys_frame(p, pfn)->refcount, 3);
    phys_put(p, pfn);
    phys_put(p, pfn);
    assert_int_equal(phys_frame(p, pfn)->refcount, 1);
    assert_int_equal(p->used, 2);
    assert_int_equal(phys_free_frames(p), NFRAMES - 3);
    phys_put(p, pfn);
    assert_int_equal(phys_frame(p, pfn)->refcount, 0);
    assert_int_equal(p->used, 1);
    assert_int_equal(phys_free_frames(p), NFRAMES - 2);
}

static void test_phys_peak_used_keeps_highest_count(void **state)
{
    struct phys *p = *state;
    pfn_t f[4];

    for (int i = 0; i < 4; i++)
        assert_int_equal(phys_alloc(p, false, &f[i]), 0);
    for (int i = 0; i < 4; i++)
        phys_put(p, f[i]);
    assert_int_equal(p->used, 1);
    assert_int_equal(p->peak_used, 5);
    assert_int_equal(phys_alloc(p, false, &f[0]), 0);
    assert_int_equal(p->peak_used, 5);
}

static void test_phys_put_clears_flags_but_executed(void **state)
{
    struct phys *p = *state;
    pfn_t pfn;
    int owner;

    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    phys_frame(p, pfn)->flags = FRAME_PAGECACHE | FRAME_EXECUTED;
    phys_frame(p, pfn)->owner = &owner;
    phys_put(p, pfn);
    assert_int_equal(phys_frame(p, pfn)->flags, FRAME_EXECUTED);
    assert_null(phys_frame(p, pfn)->owner);
}

static void test_phys_rmap_add_del_tracks_each_mapping(void **state)
{
    struct phys *p = *state;
    struct rmap *r;
    pfn_t pfn;

    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    assert_null(phys_frame(p, pfn)->rmap);
    assert_int_equal(phys_rmap_add(p, pfn, MM_A, 0x1000), 0);
    assert_int_equal(phys_rmap_add(p, pfn, MM_B, 0x1000), 0);
    assert_int_equal(phys_rmap_add(p, pfn, MM_A, 0x7000), 0);
    /* Newest first. */
    r = phys_frame(p, pfn)->rmap;
    assert_ptr_equal(r->mm, MM_A);
    assert_int_equal(r->va, 0x7000);
    assert_ptr_equal(r->next->mm, MM_B);
    assert_int_equal(r->next->va, 0x1000);
    assert_ptr_equal(r->next->next->mm, MM_A);
    assert_int_equal(r->next->next->va, 0x1000);
    assert_null(r->next->next->next);

    /* Deleting needs both the mm and the address to match. */
    phys_rmap_del(p, pfn, MM_B, 0x1000);
    r = phys_frame(p, pfn)->rmap;
    assert_int_equal(r->va, 0x7000);
    assert_ptr_equal(r->next->mm, MM_A);
    assert_int_equal(r->next->va, 0x1000);
    assert_null(r->next->next);
    phys_rmap_del(p, pfn, MM_A, 0x7000);
    phys_rmap_del(p, pfn, MM_A, 0x1000);
    assert_null(phys_frame(p, pfn)->rmap);
    phys_put(p, pfn);
    assert_int_equal(p->used, 1);
}

static void test_phys_destroy_frees_remaining_rmap_records(void **state)
{
    struct phys p;
    pfn_t pfn;

    (void)state;
    assert_int_equal(phys_init(&p, NFRAMES * PAGE_SIZE), 0);
    assert_int_equal(phys_alloc(&p, false, &pfn), 0);
    assert_int_equal(phys_rmap_add(&p, pfn, MM_A, 0x1000), 0);
    assert_int_equal(phys_rmap_add(&p, pfn, MM_B, 0x2000), 0);
    /* The sanitizer build's leak checker fails the run if the records are not freed. */
    phys_destroy(&p);
    assert_null(p.frames);
    assert_null(p.mem);
    assert_int_equal(p.nframes, 0);
}

static void test_phys_before_write_calls_hook_only_for_executed_frames(void **state)
{
    struct phys *p = *state;
    struct hook_log log = {0};
    pfn_t plain, code;

    p->code_hook = record_hook;
    p->code_ctx = &log;
    assert_int_equal(phys_alloc(p, false, &plain), 0);
    assert_int_equal(phys_alloc(p, false, &code), 0);
    phys_frame(p, code)->flags |= FRAME_EXECUTED;

    phys_before_write(p, plain);
    assert_int_equal(log.n, 0);
    phys_before_write(p, code);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.pfns[0], code);
    assert_int_equal(phys_frame(p, code)->flags & FRAME_EXECUTED, 0);
    /* Announced once: the translations are gone until the frame runs again. */
    phys_before_write(p, code);
    assert_int_equal(log.n, 1);
}

static void test_phys_alloc_recycled_executed_frame_calls_hook(void **state)
{
    struct phys *p = *state;
    struct hook_log log = {0};
    pfn_t pfn, again;

    p->code_hook = record_hook;
    p->code_ctx = &log;
    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    phys_frame(p, pfn)->flags |= FRAME_EXECUTED;
    phys_put(p, pfn);
    assert_int_equal(log.n, 0);
    assert_int_equal(phys_alloc(p, false, &again), 0);
    assert_int_equal(again, pfn);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.pfns[0], pfn);
    assert_int_equal(phys_frame(p, again)->flags, 0);
}

static void test_phys_before_write_without_hook_keeps_executed_mark(void **state)
{
    struct phys *p = *state;
    pfn_t pfn;

    assert_int_equal(phys_alloc(p, false, &pfn), 0);
    phys_frame(p, pfn)->flags |= FRAME_EXECUTED;
    phys_before_write(p, pfn);
    assert_int_equal(phys_frame(p, pfn)->flags, FRAME_EXECUTED);
}

/* Host pages of pool block b that are resident (mincore). */
static unsigned block_resident(const struct phys *p, uint64_t b)
{
    unsigned char vec[HPAGE_FRAMES];
    unsigned n = 0;

    assert_int_equal(mincore(phys_hva(p, b * HPAGE_FRAMES), (size_t)HPAGE_FRAMES * PAGE_SIZE, vec),
                     0);
    for (unsigned i = 0; i < HPAGE_FRAMES; i++)
        n += vec[i] & 1;
    return n;
}

/* The first frame handed out of a block populates the whole block in one call where the
 * host kernel has MADV_POPULATE_WRITE (phys_host_populate clears host.populate when it
 * does not); blocks never reached stay untouched. */
static void test_phys_host_first_frame_populates_its_block_only(void **state)
{
    struct phys p;
    pfn_t pfn;

    (void)state;
    assert_int_equal(phys_init(&p, 4ull * HPAGE_FRAMES * PAGE_SIZE), 0);
    assert_int_equal((uintptr_t)p.mem % (HPAGE_FRAMES * PAGE_SIZE), 0);
    while (p.next_fresh <= HPAGE_FRAMES)
        assert_int_equal(phys_alloc(&p, false, &pfn), 0);
    assert_int_equal(pfn, HPAGE_FRAMES); /* the first frame of block 1 */
    if (p.host.populate) {
        assert_int_equal(p.host.populated, 2); /* block 0 (the zero page), block 1 */
        assert_int_equal(block_resident(&p, 1), HPAGE_FRAMES);
    }
    assert_int_equal(block_resident(&p, 2), 0);
    assert_int_equal(block_resident(&p, 3), 0);
    phys_destroy(&p);
}

/* Freed blocks stay resident up to PHYS_IDLE_KEEP wholly free ones; every block freed
 * after that goes back to the host (no resident page left), and its frames come back
 * zeroed when asked for zeroed frames, like the recycled resident ones. */
static void test_phys_host_idle_blocks_beyond_keep_go_back_to_host(void **state)
{
    enum { EXTRA = 3, NBLOCKS = 1 + PHYS_IDLE_KEEP + EXTRA };
    struct phys p;
    static pfn_t got[NBLOCKS * HPAGE_FRAMES];
    size_t n = 0;

    (void)state;
    assert_int_equal(phys_init(&p, (uint64_t)NBLOCKS * HPAGE_FRAMES * PAGE_SIZE), 0);
    while (phys_alloc(&p, false, &got[n]) == 0) {
        memset(phys_hva(&p, got[n]), 0xa5, PAGE_SIZE);
        n++;
    }
    assert_int_equal(n, NBLOCKS * HPAGE_FRAMES - 2); /* all but frame 0 and the zero page */
    assert_int_equal(p.host.released, 0);
    for (size_t i = 0; i < n; i++)
        phys_put(&p, got[i]);
    /* Blocks 1.. become wholly free in order; block 0 never does (the zero page). */
    assert_int_equal(p.host.released, EXTRA);
    assert_int_equal(p.idle_blocks, PHYS_IDLE_KEEP);
    for (uint64_t b = 1; b < NBLOCKS; b++) {
        bool released = p.block_state[b] & PHYS_BLOCK_RELEASED;
        assert_int_equal(released, b > PHYS_IDLE_KEEP);
        if (released)
            assert_int_equal(block_resident(&p, b), 0);
        else
            assert_int_equal(block_resident(&p, b), HPAGE_FRAMES);
    }
    for (size_t i = 0; i < n; i++) {
        pfn_t pfn;
        assert_int_equal(phys_alloc(&p, true, &pfn), 0);
        const uint8_t *hva = phys_hva(&p, pfn);
        for (size_t k = 0; k < PAGE_SIZE; k += 512)
            assert_int_equal(hva[k], 0);
    }
    assert_int_equal(p.idle_blocks, 0);
    for (uint64_t b = 1; b < NBLOCKS; b++)
        assert_false(p.block_state[b] & PHYS_BLOCK_RELEASED);
    phys_destroy(&p);
}

/* A fork loop's churn below PHYS_IDLE_KEEP blocks never gives memory back. */
static void test_phys_host_churn_below_keep_releases_nothing(void **state)
{
    struct phys p;
    static pfn_t got[HPAGE_FRAMES * 4];

    (void)state;
    assert_int_equal(phys_init(&p, 8ull * HPAGE_FRAMES * PAGE_SIZE), 0);
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < ARRAY_LEN(got); i++)
            assert_int_equal(phys_alloc(&p, true, &got[i]), 0);
        for (size_t i = ARRAY_LEN(got); i-- > 0;)
            phys_put(&p, got[i]);
    }
    assert_int_equal(p.host.released, 0);
    phys_destroy(&p);
}

/* The way of each block: small before PHYS_TRY_FROM, then huge, small, huge, small; then
 * the cheaper of the two measured ways, the other one at each power of two. */
static void test_phys_host_pick_way_tries_huge_then_takes_the_cheaper(void **state)
{
    struct phys_host h = {0};

    (void)state;
    for (uint64_t n = 0; n < PHYS_TRY_FROM; n++)
        assert_int_equal(phys_host_pick_way(&h, n), PHYS_WAY_SMALL);
    assert_int_equal(phys_host_pick_way(&h, PHYS_TRY_FROM), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, PHYS_TRY_FROM + 1), PHYS_WAY_SMALL);
    assert_int_equal(phys_host_pick_way(&h, PHYS_TRY_FROM + 2), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, PHYS_TRY_FROM + 3), PHYS_WAY_SMALL);
    assert_int_equal(PHYS_TRY_DONE, 12);
    phys_host_note_cost(&h, PHYS_WAY_SMALL, 2500000);
    phys_host_note_cost(&h, PHYS_WAY_HUGE, 100000);
    assert_int_equal(phys_host_cheaper_way(&h), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, 12), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, 15), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, 16), PHYS_WAY_SMALL);
    assert_int_equal(phys_host_pick_way(&h, 17), PHYS_WAY_HUGE);
    assert_int_equal(phys_host_pick_way(&h, 1024), PHYS_WAY_SMALL);
    /* Huge pages turn dear (memory the VM never used): small pages from then on. */
    for (int i = 0; i < 20; i++)
        phys_host_note_cost(&h, PHYS_WAY_HUGE, 4000000);
    assert_int_equal(phys_host_cheaper_way(&h), PHYS_WAY_SMALL);
    assert_int_equal(phys_host_pick_way(&h, 17), PHYS_WAY_SMALL);
    assert_int_equal(phys_host_pick_way(&h, 32), PHYS_WAY_HUGE);
}

/* A way's cost: the first measure sets it, each later one weighs a quarter; a measure of
 * 0 still counts as measured; an unmeasured way never wins. */
static void test_phys_host_note_cost_smooths_by_a_quarter(void **state)
{
    struct phys_host h = {0};

    (void)state;
    phys_host_note_cost(&h, PHYS_WAY_HUGE, 1000);
    assert_int_equal(h.cost_ns[PHYS_WAY_HUGE], 1000);
    assert_int_equal(phys_host_cheaper_way(&h), PHYS_WAY_SMALL); /* small not measured */
    phys_host_note_cost(&h, PHYS_WAY_HUGE, 2000);
    assert_int_equal(h.cost_ns[PHYS_WAY_HUGE], 1250);
    phys_host_note_cost(&h, PHYS_WAY_SMALL, 0);
    assert_int_equal(h.cost_ns[PHYS_WAY_SMALL], 1);
    assert_int_equal(phys_host_cheaper_way(&h), PHYS_WAY_SMALL);
}

/* Fills a pool of nblocks blocks with frames that must read as zero; returns how many. */
static size_t fill_pool_checking_zero(struct phys *p, uint64_t nblocks)
{
    size_t n = 0;
    pfn_t pfn;

    assert_int_equal(phys_init(p, nblocks * HPAGE_FRAMES * PAGE_SIZE), 0);
    while (phys_alloc(p, false, &pfn) == 0) {
        uint8_t *hva = phys_hva(p, pfn);
        assert_int_equal(hva[0] | hva[PAGE_SIZE / 2] | hva[PAGE_SIZE - 1], 0);
        hva[0] = 0xa5;
        n++;
    }
    return n;
}

/* Where the host has THP, a program using more than PHYS_TRY_FROM blocks has two of them
 * tried as huge pages and both ways measured; one using fewer is neither tried nor
 * measured. Frames handed out read as zero either way (the measure's first writes store
 * zeros), and every block is resident once its first frame was handed out. */
static void test_phys_host_large_pool_measures_both_ways(void **state)
{
    struct phys p;

    (void)state;
    assert_int_equal(fill_pool_checking_zero(&p, PHYS_TRY_FROM), PHYS_TRY_FROM * HPAGE_FRAMES - 2);
    assert_int_equal(p.host.populated_huge, 0);
    assert_int_equal(p.host.cost_ns[PHYS_WAY_SMALL] | p.host.cost_ns[PHYS_WAY_HUGE], 0);
    phys_destroy(&p);

    enum { NBLOCKS = PHYS_TRY_DONE + 8 };
    assert_int_equal(fill_pool_checking_zero(&p, NBLOCKS), NBLOCKS * HPAGE_FRAMES - 2);
    if (!p.host.populate) { /* a kernel before 5.14: nothing populated, nothing measured */
        assert_int_equal(p.host.populated, 0);
    } else {
        assert_int_equal(p.host.populated, NBLOCKS);
        for (uint64_t b = 0; b < NBLOCKS; b++)
            assert_int_equal(block_resident(&p, b), HPAGE_FRAMES);
    }
    if (p.host.adaptive && p.host.populate) {
        assert_true(p.host.populated_huge >= 2);
        assert_true(p.host.cost_ns[PHYS_WAY_SMALL] > 0 && p.host.cost_ns[PHYS_WAY_HUGE] > 0);
        assert_int_equal(p.host.chosen, phys_host_cheaper_way(&p.host));
    } else {
        assert_int_equal(p.host.populated_huge, 0);
    }
    phys_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phys_init_fewer_than_4_frames_returns_einval),
        cmocka_unit_test(test_phys_init_rounds_size_down_to_frames),
#define POOL_TEST(fn) cmocka_unit_test_setup_teardown(fn, pool_setup, pool_teardown)
        POOL_TEST(test_phys_init_zero_page_is_pinned_and_zeroed),
        POOL_TEST(test_phys_alloc_exhausted_pool_returns_enomem),
        POOL_TEST(test_phys_put_reuses_last_freed_frame_first),
        POOL_TEST(test_phys_alloc_recycled_frame_zeroed_only_when_asked),
        POOL_TEST(test_phys_get_put_frees_on_last_reference),
        POOL_TEST(test_phys_peak_used_keeps_highest_count),
        POOL_TEST(test_phys_put_clears_flags_but_executed),
        POOL_TEST(test_phys_rmap_add_del_tracks_each_mapping),
        cmocka_unit_test(test_phys_destroy_frees_remaining_rmap_records),
        POOL_TEST(test_phys_before_write_calls_hook_only_for_executed_frames),
        POOL_TEST(test_phys_alloc_recycled_executed_frame_calls_hook),
        POOL_TEST(test_phys_before_write_without_hook_keeps_executed_mark),
#undef POOL_TEST
        cmocka_unit_test(test_phys_host_first_frame_populates_its_block_only),
        cmocka_unit_test(test_phys_host_idle_blocks_beyond_keep_go_back_to_host),
        cmocka_unit_test(test_phys_host_churn_below_keep_releases_nothing),
        cmocka_unit_test(test_phys_host_pick_way_tries_huge_then_takes_the_cheaper),
        cmocka_unit_test(test_phys_host_note_cost_smooths_by_a_quarter),
        cmocka_unit_test(test_phys_host_large_pool_measures_both_ways),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
