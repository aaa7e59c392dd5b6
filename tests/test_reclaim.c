/* Unit tests of page replacement (src/mm/reclaim.c) with the whole VM system and no CPU:
 * the fault path's swap-in and swap-cache hits (src/mm/fault.c), the MMU's use notes, page
 * cache eviction with refault counting and the swap area together. A pool is cut down to
 * exactly N frames for data pages by holding the rest (ballast frames, never listed)
 * once the test's page tables exist; then the classic reference string shows each
 * policy's exact fault counts (Belady's anomaly with FIFO), page data survives many
 * evictions, pages shared by two address spaces go to one slot and come back through the
 * swap cache, file pages are dropped or written back, locked pages stay, and running out
 * of frames with nothing evictable sets the address space's OOM flag. Every test ends
 * with every frame, cached page and swap slot given back. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vmemu/mmu.h"
#include "vmemu/uaccess.h"
#include "vm_fixture.h"

#define P(n)       ((uint64_t)(n) << PAGE_SHIFT)
#define BASE       0x20000000ULL   /* 2 MiB-aligned: every test area shares one table page */
#define ANON       BASE            /* anonymous area */
#define LOCKED     (BASE + P(128)) /* locked area */
#define FILE_AT    (BASE + P(256)) /* file mapping */
#define RW         (VM_READ | VM_WRITE)
#define NFRAMES    64 /* pool before the ballast cuts it down */
#define FILE_PAGES 2
#define SWAP_BYTES P(64)
#define MAX_PAGES  16 /* anonymous pages a test uses at most */

struct env {
    struct vmsys sys;            /* the machine */
    struct mm *mm;               /* first address space */
    struct mm *mm2;              /* second one (shared-page test), or NULL */
    char path[64];               /* temporary file of FILE_PAGES pages of file_byte() */
    int fd;                      /* read-write host descriptor of it */
    struct vfile *f;             /* its vfile (writable) */
    pfn_t ballast[NFRAMES];      /* frames held to cut the pool down */
    unsigned nballast;           /* entries in ballast */
    unsigned version[MAX_PAGES]; /* per anonymous page: the contents it must hold */
    bool started;                /* env_start ran and env_finish did not */
};

/* Byte at offset off of the test file. */
static uint8_t file_byte(uint64_t off)
{
    return (uint8_t)(off * 5 + (off >> PAGE_SHIFT) * 17 + 3);
}

/* Byte at offset off of anonymous page `page` in its version `version`. */
static uint8_t anon_byte(unsigned page, unsigned version, uint64_t off)
{
    return (uint8_t)(off * 3 + page * 29 + version * 71 + (off >> 7) + 1);
}

/* A machine with the given paging setup, one address space and the test file. */
static void env_start(struct env *e, enum reclaim_policy policy, uint64_t seed, uint64_t swap_bytes)
{
    static uint8_t buf[P(FILE_PAGES)];

    memset(e, 0, sizeof(*e));
    e->fd = -1;
    for (uint64_t off = 0; off < sizeof(buf); off++)
        buf[off] = file_byte(off);
    assert_int_equal(vmsys_init(&e->sys, P(NFRAMES), 16, 4), 0);
    assert_int_equal(vmsys_setup_paging(&e->sys, policy, seed, swap_bytes, NULL), 0);
    assert_int_equal(mm_create(&e->sys, &e->mm), 0);
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    e->sys.charge = &vm_fixture_task;
    e->fd = vm_fixture_make_file(e->path, sizeof(e->path), "/tmp/test_reclaim.XXXXXX", buf,
                                 sizeof(buf));
    assert_true(e->fd >= 0);
    assert_int_equal(vfile_from_fd(&e->sys.pc, e->fd, e->path, &e->f), 0);
    e->started = true;
}

/* Tears the machine down, requiring every frame, cached page and swap slot back. */
static int env_finish(struct env *e)
{
    if (!e->started)
        return 0;
    e->started = false;
    for (unsigned i = 0; i < e->nballast; i++)
        phys_put(&e->sys.phys, e->ballast[i]);
    mm_destroy(e->mm2);
    mm_destroy(e->mm);
    bool swap_clean = e->sys.swap.used == 0;
    for (uint64_t s = 0; s < e->sys.swap.nslots; s++)
        swap_clean = swap_clean && e->sys.swap.cache[s] == 0;
    int rc = vm_fixture_release(&e->sys, NULL, e->f, e->path, true);
    close(e->fd);
    return swap_clean && rc == 0 ? 0 : -1;
}

static int env_setup(void **state)
{
    static struct env e;

    memset(&e, 0, sizeof(e));
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    return env_finish(*state);
}

/* Holds frames until exactly n frames are left for data pages, counting the pages the
 * address spaces already have resident (their page tables must exist by now). */
static void env_limit(struct env *e, uint64_t n)
{
    uint64_t resident = e->mm->stats.rss + (e->mm2 ? e->mm2->stats.rss : 0) + e->sys.pc.pages;

    assert_true(resident <= n);
    assert_true(phys_free_frames(&e->sys.phys) >= n - resident);
    while (phys_free_frames(&e->sys.phys) > n - resident) {
        assert_true(e->nballast < NFRAMES);
        assert_int_equal(phys_alloc(&e->sys.phys, false, &e->ballast[e->nballast]), 0);
        e->nballast++;
    }
}

static void map_anon(struct mm *mm, gva_t at, uint64_t pages)
{
    assert_int_equal(mm_map(mm, at, P(pages), RW, 0, VMA_ANON, NULL, 0, 0), 0);
}

static pte_t pte_of(struct env *e, struct mm *mm, gva_t va)
{
    pte_t *ptep = pt_lookup(&mm->pt, &e->sys.phys, va);

    return ptep ? *ptep : 0;
}

/* Writes version `version` of anonymous page `page` (at ANON + page) in full. */
static void write_page(struct env *e, unsigned page, unsigned version)
{
    static uint8_t buf[PAGE_SIZE];

    for (uint64_t off = 0; off < PAGE_SIZE; off++)
        buf[off] = anon_byte(page, version, off);
    assert_int_equal(copy_to_user(e->mm, ANON + P(page), buf, PAGE_SIZE), 0);
    e->version[page] = version;
}

/* Checks that anonymous page `page` holds the version last written. */
static void check_page(struct env *e, struct mm *mm, unsigned page)
{
    static uint8_t buf[PAGE_SIZE];

    assert_int_equal(copy_from_user(mm, buf, ANON + P(page), PAGE_SIZE), 0);
    for (uint64_t off = 0; off < PAGE_SIZE; off++) {
        if (buf[off] != anon_byte(page, e->version[page], off))
            fail_msg("page %u byte %llu: %u, want %u (version %u)", page, (unsigned long long)off,
                     buf[off], anon_byte(page, e->version[page], off), e->version[page]);
    }
}

/* ---- the classic reference string ---- */

/* What one run of the reference string did. */
struct run {
    uint64_t minor, major, swap_in;            /* the address space's faults */
    uint64_t evictions, swap_outs, swap_clean; /* the machine's paging counters */
};

/* 1,2,3,4,1,2,5,1,2,3,4,5 over 5 anonymous pages (numbered from 1 here, page p at
 * ANON + p - 1), with `frames` frames for them and swap: the first touch of a page is a
 * write of the whole page, every later reference a read translation. Checks at the end
 * that every page kept its bytes. */
static void run_refs(struct env *e, enum reclaim_policy policy, unsigned frames, struct run *out)
{
    static const unsigned refs[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
    bool touched[6] = {false};

    env_start(e, policy, 1, SWAP_BYTES);
    map_anon(e->mm, ANON, 5);
    for (unsigned i = 0; i < ARRAY_LEN(refs); i++) {
        unsigned p = refs[i];
        if (!touched[p]) {
            write_page(e, p - 1, p);
            touched[p] = true;
        } else {
            pfn_t pfn = 0;
            assert_int_equal(mmu_translate_user(e->mm, ANON + P(p - 1), ACCESS_READ, 0, &pfn), 0);
            assert_int_not_equal(pfn, 0);
        }
        if (i == 0) /* the tables exist now: leave `frames` frames for data */
            env_limit(e, frames);
    }
    const struct fault_stats *fs = &vm_fixture_task.faults;
    *out = (struct run){.minor = fs->minor,
                        .major = fs->major,
                        .swap_in = fs->swap_in,
                        .evictions = e->sys.reclaim->stats.evictions,
                        .swap_outs = e->sys.reclaim->stats.swap_outs,
                        .swap_clean = e->sys.reclaim->stats.swap_clean};
    /* Swap-ins are the only major faults; first touches the only minor ones. */
    assert_int_equal(fs->major, fs->swap_in);
    assert_int_equal(fs->anon, 5);
    assert_int_equal(fs->file_major, 0);
    assert_int_equal(e->sys.swap.reads, fs->swap_in);
    assert_int_equal(e->sys.swap.writes, out->swap_outs);
    assert_int_equal(e->mm->stats.rss, frames); /* every frame for data in use */
    for (unsigned page = 0; page < 5; page++)
        check_page(e, e->mm, page);
    assert_int_equal(env_finish(e), 0);
}

static void check_run(const struct run *r, uint64_t faults, uint64_t swap_in, uint64_t evictions,
                      uint64_t swap_outs, uint64_t swap_clean)
{
    assert_int_equal(r->minor + r->major, faults);
    assert_int_equal(r->minor, 5);
    assert_int_equal(r->swap_in, swap_in);
    assert_int_equal(r->evictions, evictions);
    assert_int_equal(r->swap_outs, swap_outs);
    assert_int_equal(r->swap_clean, swap_clean);
}

/* FIFO, 3 frames: 1 2 3 | 4 evicts 1 | 1 evicts 2 | 2 evicts 3 | 5 evicts 4 | 1 2 hit |
 * 3 evicts 1 | 4 evicts 2 | 5 hits: 9 faults, 4 swap-ins (1 2 3 4), 6 evictions; the
 * last two victims (1, 2) came back by swap-in and were not written since: clean.
 * FIFO, 4 frames: 1 2 3 4 | 1 2 hit | 5 evicts 1 | 1 evicts 2 | 2 evicts 3 | 3 evicts 4 |
 * 4 evicts 5 | 5 evicts 1: 10 faults with more memory (Belady's anomaly), 5 swap-ins,
 * 6 evictions of which the last (1, swapped in) is clean. */
static void test_reclaim_fifo_reference_string_belady_anomaly(void **state)
{
    struct run r3, r4;

    run_refs(*state, POLICY_FIFO, 3, &r3);
    check_run(&r3, 9, 4, 6, 4, 2);
    run_refs(*state, POLICY_FIFO, 4, &r4);
    check_run(&r4, 10, 5, 6, 5, 1);
    assert_true(r4.minor + r4.major > r3.minor + r3.major);
}

/* LRU, 3 frames: 1 2 3 | 4 evicts 1 | 1 evicts 2 | 2 evicts 3 | 5 evicts 4 | 1 2 hit
 * (order 5 1 2) | 3 evicts 5 | 4 evicts 1 | 5 evicts 2: 10 faults, 5 swap-ins, 7 evictions
 * (1 2 3 4 5 written, then 1 2 clean).
 * LRU, 4 frames: 1 2 3 4 | 1 2 hit (order 3 4 1 2) | 5 evicts 3 | 1 2 hit (order 4 5 1 2) |
 * 3 evicts 4 | 4 evicts 5 | 5 evicts 1: 8 faults, 3 swap-ins (3 4 5), 4 evictions, all
 * written (3 4 5 1 were never swapped in before). No anomaly: LRU is a stack algorithm.
 * Without a CPU every reference is a translation through vmemu's MMU, so every use is
 * seen: the re-uses of 1 and 2 before the first eviction count as much as later ones. */
static void test_reclaim_lru_reference_string_exact_counts(void **state)
{
    struct run r3, r4;

    run_refs(*state, POLICY_LRU, 3, &r3);
    check_run(&r3, 10, 5, 7, 5, 2);
    run_refs(*state, POLICY_LRU, 4, &r4);
    check_run(&r4, 8, 3, 4, 4, 0);
}

/* Clock, 3 frames (every resident page has its accessed bit set when the hand comes):
 * 1 2 3 | 4: the hand clears 1 2 3, comes round, evicts 1, stops at 2 | 1 evicts 2 (bit
 * clear) | 2 evicts 3 | 5: clears 4 1 2, evicts 4 | 1 2 hit (bits set again) | 3: clears
 * 1 2 5, evicts 1 | 4 evicts 2 | 5 hits: 9 faults, 4 swap-ins, 6 evictions, 1 and 2
 * clean the second time.
 * Clock, 4 frames: 1 2 3 4 | 1 2 hit | 5: clears all four, evicts 1 | 1 evicts 2 |
 * 2 evicts 3 | 3 evicts 4 | 4: clears 5 1 2 3, evicts 5 | 5 evicts 1: 10 faults, 5
 * swap-ins, 6 evictions (the last, 1, clean). Clock inherits FIFO's anomaly here. */
static void test_reclaim_clock_reference_string_exact_counts(void **state)
{
    struct run r3, r4;

    run_refs(*state, POLICY_CLOCK, 3, &r3);
    check_run(&r3, 9, 4, 6, 4, 2);
    run_refs(*state, POLICY_CLOCK, 4, &r4);
    check_run(&r4, 10, 5, 6, 5, 1);
}

/* Random, seed 1: the xorshift64 (13, 7, 17) state starts at splitmix64(1) and gives
 * 8247328468710148152, 15170175812956362920, 5131574324960119705, 16979734111842011982,
 * 3875463637411807960, 5838337147647675229; the victim is dense[x % listed], an evicted
 * frame's slot taking the last entry, new pages appended.
 * 3 frames (x % 3 = 0 2 1 0 1 1): [1 2 3] | 4 evicts dense[0]=1 -> [3 2 4] | 1 evicts
 * dense[2]=4 -> [3 2 1] | 2 hits | 5 evicts dense[1]=2 -> [3 1 5] | 1 hits | 2 evicts
 * dense[0]=3 -> [5 1 2] | 3 evicts dense[1]=1 -> [5 2 3] | 4 evicts dense[1]=2 ->
 * [5 3 4] | 5 hits: 9 faults, 4 swap-ins (1 2 3 4), 6 evictions, 1 and 2 clean the second
 * time (swapped in, not written).
 * 4 frames (x % 4 = 0 0 1): [1 2 3 4] | 1 2 hit | 5 evicts dense[0]=1 -> [4 2 3 5] |
 * 1 evicts dense[0]=4 -> [5 2 3 1] | 2 3 hit | 4 evicts dense[1]=2 -> [5 1 3 4] | 5 hits:
 * 7 faults, 2 swap-ins, 3 evictions, all written. */
static void test_reclaim_random_seed_1_reference_string_exact_and_repeatable(void **state)
{
    struct run r3, r4, again;

    run_refs(*state, POLICY_RANDOM, 3, &r3);
    check_run(&r3, 9, 4, 6, 4, 2);
    run_refs(*state, POLICY_RANDOM, 4, &r4);
    check_run(&r4, 7, 2, 3, 3, 0);
    run_refs(*state, POLICY_RANDOM, 3, &again);
    assert_memory_equal(&again, &r3, sizeof(r3));
    run_refs(*state, POLICY_RANDOM, 4, &again);
    assert_memory_equal(&again, &r4, sizeof(r4));
}

/* ---- data integrity ---- */

/* 12 pages in 4 frames, 8 rounds: each round reads every page in a shifting order and
 * checks it, and rewrites a third of them with a new version. */
static void survive(struct env *e, enum reclaim_policy policy)
{
    enum { PAGES = 12, ROUNDS = 8 };

    env_start(e, policy, 1, SWAP_BYTES);
    map_anon(e->mm, ANON, PAGES);
    write_page(e, 0, 1);
    env_limit(e, 4);
    for (unsigned p = 1; p < PAGES; p++)
        write_page(e, p, 1);
    for (unsigned round = 1; round <= ROUNDS; round++) {
        for (unsigned k = 0; k < PAGES; k++) {
            unsigned p = (k * 5 + round * 7) % PAGES;
            check_page(e, e->mm, p);
            if ((p + round) % 3 == 0)
                write_page(e, p, round + 1);
        }
    }
    const struct reclaim_stats *rs = &e->sys.reclaim->stats;
    assert_true(rs->evictions >= PAGES * ROUNDS / 2);
    assert_true(rs->swap_clean > 0); /* pages read back and not rewritten */
    assert_int_equal(rs->evictions, rs->swap_outs + rs->swap_clean);
    assert_int_equal(vm_fixture_task.faults.swap_in, e->sys.swap.reads);
    assert_int_equal(vm_fixture_task.faults.major, vm_fixture_task.faults.swap_in);
    assert_true(e->sys.swap.peak_used <= PAGES);
    assert_int_equal(e->mm->stats.rss, 4);
    assert_int_equal(env_finish(e), 0);
}

static void test_reclaim_data_survives_evictions_every_policy(void **state)
{
    survive(*state, POLICY_FIFO);
    survive(*state, POLICY_CLOCK);
    survive(*state, POLICY_LRU);
    survive(*state, POLICY_RANDOM);
}

/* Two address spaces (e->mm and a new e->mm2) share one frame at va copy-on-write, as
 * fork leaves a private page: page 1's bytes at version 7 in both. Returns the frame. */
static pfn_t share_page_after_fork(struct env *e, gva_t va)
{
    pfn_t pfn = 0;
    env_start(e, POLICY_FIFO, 1, SWAP_BYTES);
    assert_int_equal(mm_create(&e->sys, &e->mm2), 0);
    map_anon(e->mm, ANON, 4);
    map_anon(e->mm2, ANON, 4);
    assert_int_equal(phys_alloc(&e->sys.phys, false, &pfn), 0);
    for (uint64_t off = 0; off < PAGE_SIZE; off++)
        ((uint8_t *)phys_hva(&e->sys.phys, pfn))[off] = anon_byte(1, 7, off);
    e->version[1] = 7;
    uint64_t flags = PTE_P | PTE_A | PTE_D | mm_prot_pte_bits(RW, true);
    phys_get(&e->sys.phys, pfn);
    assert_int_equal(mm_install_page(e->mm, va, NULL, pfn, flags), 0);
    assert_int_equal(mm_install_page(e->mm2, va, NULL, pfn, flags), 0);
    return pfn;
}

/* ---- pages shared by two address spaces ---- */

static void test_reclaim_cow_shared_page_one_slot_swap_cache_then_copy(void **state)
{
    struct env *e = *state;
    pfn_t p1 = 0, p2 = 0;
    gva_t va = ANON + P(1);

    /* As fork leaves a private page: one frame, read-only copy-on-write in both. */
    pfn_t pfn = share_page_after_fork(e, va);
    uint64_t used = e->sys.phys.used;

    /* Evicted from both: one write, one slot, two swap entries. */
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    pte_t a = pte_of(e, e->mm, va), b = pte_of(e, e->mm2, va);
    assert_true(pte_is_swap(a));
    assert_true(pte_is_swap(b));
    uint64_t slot = pte_swap_slot(a);
    assert_int_equal(pte_swap_slot(b), slot);
    assert_int_equal(swap_count(&e->sys.swap, slot), 2);
    assert_int_equal(swap_cache_find(&e->sys.swap, slot), 0);
    assert_int_equal(e->sys.reclaim->stats.evictions, 1);
    assert_int_equal(e->sys.reclaim->stats.swap_outs, 1);
    assert_int_equal(e->sys.swap.writes, 1);
    assert_int_equal(e->mm->stats.rss, 0);
    assert_int_equal(e->mm2->stats.rss, 0);
    assert_int_equal(e->sys.phys.used, used - 1);
    assert_int_equal(phys_frame(&e->sys.phys, pfn)->refcount, 0);

    /* First owner: read from swap (major), the frame stays in the swap cache. */
    assert_int_equal(mmu_translate_user(e->mm, va, ACCESS_READ, 0, &p1), 0);
    assert_int_equal(vm_fixture_task.faults.swap_in, 1);
    assert_int_equal(vm_fixture_task.faults.major, 1);
    assert_int_equal(vm_fixture_task.faults.minor, 0);
    assert_int_equal(e->sys.swap.reads, 1);
    assert_true(phys_frame(&e->sys.phys, p1)->flags & FRAME_SWAPCACHE);
    assert_int_equal(swap_cache_find(&e->sys.swap, slot), p1);
    assert_int_equal(swap_count(&e->sys.swap, slot), 2); /* mm2's entry and the cache */
    assert_int_equal(phys_frame(&e->sys.phys, p1)->refcount, 2);
    assert_int_equal(e->mm->stats.rss, 1);

    /* Second owner (its own task): the same frame from the swap cache (minor), no second
     * read. */
    struct task_vm_stats task2 = {0};
    e->sys.charge = &task2;
    assert_int_equal(mmu_translate_user(e->mm2, va, ACCESS_READ, 0, &p2), 0);
    e->sys.charge = &vm_fixture_task;
    assert_int_equal(p2, p1);
    assert_int_equal(task2.faults.swap_cache, 1);
    assert_int_equal(task2.faults.minor, 1);
    assert_int_equal(task2.faults.major, 0);
    assert_int_equal(task2.faults.swap_in, 0);
    assert_int_equal(e->sys.swap.reads, 1);
    assert_int_equal(swap_count(&e->sys.swap, slot), 1); /* the cache only */
    assert_int_equal(phys_frame(&e->sys.phys, p1)->refcount, 3);
    assert_int_equal(phys_mapcount(&e->sys.phys, p1), 2);
    check_page(e, e->mm, 1);
    check_page(e, e->mm2, 1);

    /* A store by the first owner copies: the second keeps the old bytes. */
    uint8_t x = 0x5a;
    assert_int_equal(copy_to_user(e->mm, va + 100, &x, 1), 0);
    assert_int_equal(vm_fixture_task.faults.cow, 1);
    pte_t a2 = pte_of(e, e->mm, va);
    assert_true(pte_present(a2));
    assert_int_not_equal(pte_pfn(a2), p1);
    assert_int_equal(pte_pfn(pte_of(e, e->mm2, va)), p1);
    check_page(e, e->mm2, 1);
    uint8_t got[PAGE_SIZE];
    assert_int_equal(copy_from_user(e->mm, got, va, PAGE_SIZE), 0);
    for (uint64_t off = 0; off < PAGE_SIZE; off++)
        assert_int_equal(got[off], off == 100 ? 0x5a : anon_byte(1, 7, off));
}

/* Regression (issue 15, defect 1): a page shared copy-on-write after fork is swapped out;
 * a write by one owner brings it back and copies it in the same fault (one major fault),
 * instead of mapping it read-only and leaving the write refused. The other owner keeps
 * its swap entry and the old bytes. */
static void test_reclaim_write_to_swapped_cow_page_copies_at_once(void **state)
{
    struct env *e = *state;
    gva_t va = ANON + P(1);

    share_page_after_fork(e, va);
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    uint64_t slot = pte_swap_slot(pte_of(e, e->mm2, va));

    uint8_t x = 0x5a;
    assert_int_equal(copy_to_user(e->mm, va + 100, &x, 1), 0);
    pte_t a = pte_of(e, e->mm, va);
    assert_true(pte_present(a) && (a & PTE_RW) && !(a & PTE_COW));
    assert_int_equal(vm_fixture_task.faults.swap_in, 1);
    assert_int_equal(vm_fixture_task.faults.major, 1);
    assert_int_equal(vm_fixture_task.faults.minor, 0);
    assert_int_equal(vm_fixture_task.faults.cow, 0);
    /* The swapped copy stays for mm2: its entry and the swap cache. */
    assert_true(pte_is_swap(pte_of(e, e->mm2, va)));
    assert_int_equal(swap_count(&e->sys.swap, slot), 2);
    assert_int_not_equal(swap_cache_find(&e->sys.swap, slot), pte_pfn(a));
    check_page(e, e->mm2, 1);
    uint8_t got[PAGE_SIZE];
    assert_int_equal(copy_from_user(e->mm, got, va, PAGE_SIZE), 0);
    for (uint64_t off = 0; off < PAGE_SIZE; off++)
        assert_int_equal(got[off], off == 100 ? 0x5a : anon_byte(1, 7, off));
    char why[256];
    struct mm *mms[] = {e->mm, e->mm2};
    assert_int_equal(vm_check(&e->sys, mms, 2, true, why, sizeof(why)), 0);
}

/* Regression (issue 15, defect 2): two owners share a swapped page; one reads it back (the
 * frame joins the swap cache) and unmaps it, then the other unmaps its swap entry. Nothing
 * uses the slot any more: the cache entry goes too, frame and slot freed. */
static void test_reclaim_unmap_of_last_swap_entry_drops_the_cache_entry(void **state)
{
    struct env *e = *state;
    pfn_t p1 = 0;
    gva_t va = ANON + P(1);

    share_page_after_fork(e, va);
    uint64_t used = e->sys.phys.used;
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    uint64_t slot = pte_swap_slot(pte_of(e, e->mm2, va));
    assert_int_equal(mmu_translate_user(e->mm, va, ACCESS_READ, 0, &p1), 0);
    assert_int_equal(swap_cache_find(&e->sys.swap, slot), p1);
    assert_int_equal(mm_unmap(e->mm, va, P(1)), 0);
    assert_int_equal(swap_cache_find(&e->sys.swap, slot), p1); /* mm2's entry still uses it */
    assert_int_equal(mm_unmap(e->mm2, va, P(1)), 0);
    assert_int_equal(swap_cache_find(&e->sys.swap, slot), 0);
    assert_int_equal(swap_count(&e->sys.swap, slot), 0);
    assert_int_equal(e->sys.swap.used, 0);
    assert_int_equal(e->sys.phys.used, used - 1);
    char why[256];
    struct mm *mms[] = {e->mm, e->mm2};
    assert_int_equal(vm_check(&e->sys, mms, 2, true, why, sizeof(why)), 0);
}

/* ---- file pages ---- */

/* Maps `pages` pages of the test file from page `pgoff` at `at`. */
static void map_file(struct env *e, gva_t at, uint64_t pages, uint64_t pgoff, uint32_t prot,
                     uint32_t flags)
{
    assert_int_equal(mm_map(e->mm, at, P(pages), prot, flags, VMA_FILE, e->f, P(pgoff), UINT64_MAX),
                     0);
}

static uint8_t guest_byte(struct env *e, gva_t va)
{
    uint8_t c = 0;
    assert_int_equal(copy_from_user(e->mm, &c, va, 1), 0);
    return c;
}

static uint8_t host_byte(struct env *e, uint64_t off)
{
    uint8_t c = 0;
    assert_int_equal(pread(e->fd, &c, 1, (off_t)off), 1);
    return c;
}

/* A one-page private mapping of file page 0 (a major fault reads around only inside the
 * area), then a second one-page mapping of page 1 elsewhere. */
static void test_reclaim_clean_file_page_dropped_and_refaulted(void **state)
{
    struct env *e = *state;
    const struct fault_stats *fs;

    env_start(e, POLICY_FIFO, 1, 0);
    fs = &vm_fixture_task.faults;
    map_file(e, FILE_AT, 1, 0, VM_READ, 0);
    assert_int_equal(guest_byte(e, FILE_AT + 10), file_byte(10));
    assert_int_equal(fs->file_major, 1);
    assert_int_equal(fs->file_refault, 0);
    assert_int_equal(e->sys.pc.pages, 1);

    /* No swap is needed for file pages. */
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    assert_int_equal(e->sys.reclaim->stats.file_dropped, 1);
    assert_int_equal(e->sys.reclaim->stats.writebacks, 0);
    assert_int_equal(e->sys.reclaim->stats.evictions, 1);
    assert_int_equal(e->sys.pc.pages, 0);
    assert_int_equal(e->sys.pc.shadows, 1);
    assert_int_equal(pte_of(e, e->mm, FILE_AT), 0);
    assert_int_equal(e->mm->stats.rss, 0);

    /* The next access reads it again: a major fault that is a refault. */
    assert_int_equal(guest_byte(e, FILE_AT + 11), file_byte(11));
    assert_int_equal(fs->file_major, 2);
    assert_int_equal(fs->file_refault, 1);
    assert_int_equal(fs->major, 2);
    assert_int_equal(fs->minor, 0);
    assert_int_equal(e->sys.pc.shadows, 0);
    assert_int_equal(e->sys.pc.pages, 1);
    /* A page never evicted: its first read is no refault. */
    map_file(e, FILE_AT + P(8), 1, 1, VM_READ, 0);
    assert_int_equal(guest_byte(e, FILE_AT + P(8)), file_byte(P(1)));
    assert_int_equal(fs->file_major, 3);
    assert_int_equal(fs->file_refault, 1);
}

static void test_reclaim_dirty_shared_file_page_written_back(void **state)
{
    struct env *e = *state;
    const struct fault_stats *fs;
    uint8_t x = 'X';

    env_start(e, POLICY_FIFO, 1, 0);
    fs = &vm_fixture_task.faults;
    map_file(e, FILE_AT, FILE_PAGES, 0, RW, VM_SHARED);
    assert_int_equal(copy_to_user(e->mm, FILE_AT + 5, &x, 1), 0);
    assert_int_equal(host_byte(e, 5), file_byte(5)); /* not written yet */

    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    assert_int_equal(e->sys.reclaim->stats.writebacks, 1);
    assert_int_equal(e->sys.reclaim->stats.file_dropped, 0);
    assert_int_equal(e->sys.reclaim->stats.evictions, 1);
    assert_int_equal(host_byte(e, 5), 'X');
    assert_int_equal(host_byte(e, 6), file_byte(6));
    assert_int_equal(e->f->dirty_pages, 0);
    assert_int_equal(e->sys.pc.pages, 0);
    assert_int_equal(pte_of(e, e->mm, FILE_AT), 0);

    /* Read back from the file. */
    assert_int_equal(guest_byte(e, FILE_AT + 5), 'X');
    assert_int_equal(fs->file_refault, 1);
    assert_int_equal(fs->file_major, 2);
}

/* ---- locked pages and running out ---- */

/* Two locked pages and eight others in four frames, FIFO: the locked pages are the oldest,
 * so every reclaim examines and skips them first. The eight pages written in a cycle with
 * two frames for them fault on every write: 8 first touches and 16 swap-ins, 22
 * evictions (every fault but the two that found a free frame), each skipping both locked
 * frames. */
static void test_reclaim_locked_pages_never_evicted(void **state)
{
    struct env *e = *state;
    pte_t locked[2];

    env_start(e, POLICY_FIFO, 1, SWAP_BYTES);
    map_anon(e->mm, ANON, 8);
    map_anon(e->mm, LOCKED, 2);
    assert_int_equal(mm_lock_range(e->mm, LOCKED, LOCKED + P(2), true), 0);
    assert_int_equal(mm_populate(e->mm, LOCKED, LOCKED + P(2)), 0);
    env_limit(e, 4);
    for (unsigned i = 0; i < 2; i++) {
        locked[i] = pte_of(e, e->mm, LOCKED + P(i));
        assert_true(pte_present(locked[i]));
    }
    for (unsigned round = 1; round <= 3; round++)
        for (unsigned p = 0; p < 8; p++)
            write_page(e, p, round);
    const struct fault_stats *fs = &vm_fixture_task.faults;
    assert_int_equal(fs->anon, 8);
    assert_int_equal(fs->swap_in, 16);
    assert_int_equal(e->sys.reclaim->stats.evictions, 22);
    assert_int_equal(e->sys.reclaim->stats.swap_outs, 22);
    /* Each eviction passes the 2 locked frames twice: once while sparing the pages of the
     * last faults (the only other frames), then choosing among all of them. */
    assert_int_equal(e->sys.reclaim->stats.skipped, 88);
    /* Same frames, still mapped. */
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pte_of(e, e->mm, LOCKED + P(i)) & ~(PTE_A | PTE_D),
                         locked[i] & ~(PTE_A | PTE_D));
    for (unsigned p = 0; p < 8; p++)
        check_page(e, e->mm, p);
}

static void test_reclaim_all_frames_locked_fault_returns_enomem_sets_oom(void **state)
{
    struct env *e = *state;

    env_start(e, POLICY_FIFO, 1, SWAP_BYTES);
    map_anon(e->mm, ANON, 4);
    map_anon(e->mm, LOCKED, 3);
    assert_int_equal(mm_lock_range(e->mm, LOCKED, LOCKED + P(3), true), 0);
    assert_int_equal(mm_populate(e->mm, LOCKED, LOCKED + P(1)), 0);
    env_limit(e, 3);
    assert_int_equal(mm_populate(e->mm, LOCKED + P(1), LOCKED + P(3)), 0);
    assert_int_equal(phys_free_frames(&e->sys.phys), 0);

    assert_false(e->mm->oom);
    assert_int_equal(mm_fault(e->mm, ANON, ACCESS_WRITE, 0), -ENOMEM);
    assert_true(e->mm->oom);
    assert_int_equal(e->mm->last_fault.signo, SIGKILL);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_OOM);
    assert_int_equal(e->sys.reclaim->stats.evictions, 0);
    assert_int_equal(e->sys.reclaim->stats.failures, 1);
    assert_int_equal(e->sys.swap.used, 0);
    for (unsigned i = 0; i < 3; i++)
        assert_true(pte_present(pte_of(e, e->mm, LOCKED + P(i))));
}

static void test_reclaim_no_swap_anon_only_fault_returns_enomem_sets_oom(void **state)
{
    struct env *e = *state;

    env_start(e, POLICY_FIFO, 1, 0);
    map_anon(e->mm, ANON, 6);
    write_page(e, 0, 1);
    env_limit(e, 3);
    write_page(e, 1, 1);
    write_page(e, 2, 1);
    assert_false(e->mm->oom);

    /* Anonymous pages cannot go anywhere: nothing is evicted, the fault fails. */
    assert_int_equal(mm_fault(e->mm, ANON + P(3), ACCESS_WRITE, 0), -ENOMEM);
    assert_true(e->mm->oom);
    assert_int_equal(e->mm->last_fault.signo, SIGKILL);
    assert_int_equal(e->mm->last_fault.cause, CAUSE_OOM);
    assert_int_equal(e->mm->last_fault.va, ANON + P(3));
    assert_int_equal(e->sys.reclaim->stats.evictions, 0);
    assert_int_equal(e->sys.reclaim->stats.failures, 1);
    assert_int_equal(e->sys.reclaim->stats.skipped, 3);
    assert_int_equal(pte_of(e, e->mm, ANON + P(3)), 0);
    assert_int_equal(vm_fixture_task.faults.anon, 3);
    /* A read still works: it needs no frame (the zero page). */
    assert_int_equal(mm_fault(e->mm, ANON + P(4), ACCESS_READ, 0), 0);
    assert_int_equal(vm_fixture_task.faults.zero_page, 1);
    for (unsigned p = 0; p < 3; p++)
        check_page(e, e->mm, p);
}

/* ---- swap cache and clean pages ---- */

static void test_reclaim_clean_swapped_in_page_not_rewritten_dirty_one_is(void **state)
{
    struct env *e = *state;
    const struct reclaim_stats *rs;
    const struct fault_stats *fs;

    env_start(e, POLICY_FIFO, 1, SWAP_BYTES);
    rs = &e->sys.reclaim->stats;
    fs = &vm_fixture_task.faults;
    map_anon(e->mm, ANON, 2);
    write_page(e, 0, 1);

    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    pte_t pte = pte_of(e, e->mm, ANON);
    assert_true(pte_is_swap(pte));
    uint64_t slot = pte_swap_slot(pte);
    assert_int_equal(rs->swap_outs, 1);
    assert_int_equal(e->sys.swap.writes, 1);

    /* Read back, not written: evicted again without a write, to the same slot. */
    check_page(e, e->mm, 0);
    assert_int_equal(fs->swap_in, 1);
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    pte = pte_of(e, e->mm, ANON);
    assert_true(pte_is_swap(pte));
    assert_int_equal(pte_swap_slot(pte), slot);
    assert_int_equal(swap_count(&e->sys.swap, slot), 1);
    assert_int_equal(rs->swap_outs, 1);
    assert_int_equal(rs->swap_clean, 1);
    assert_int_equal(e->sys.swap.writes, 1);

    /* Read back, then dirtied: the next eviction writes it. */
    check_page(e, e->mm, 0);
    assert_int_equal(fs->swap_in, 2);
    write_page(e, 0, 2);
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    assert_true(pte_is_swap(pte_of(e, e->mm, ANON)));
    assert_int_equal(rs->swap_outs, 2);
    assert_int_equal(rs->swap_clean, 1);
    assert_int_equal(e->sys.swap.writes, 2);
    assert_int_equal(e->sys.swap.used, 1);

    /* A write fault straight on the swap entry: the page comes back dirty. */
    write_page(e, 0, 3);
    assert_int_equal(fs->swap_in, 3);
    assert_int_equal(reclaim_one(e->sys.reclaim), 0);
    assert_int_equal(rs->swap_outs, 3);
    assert_int_equal(rs->swap_clean, 1);
    assert_int_equal(e->sys.swap.writes, 3);
    check_page(e, e->mm, 0);
    assert_int_equal(fs->swap_in, 4);
    assert_int_equal(fs->major, 4);
    assert_int_equal(e->sys.swap.peak_used, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_reclaim_fifo_reference_string_belady_anomaly),
        T(test_reclaim_lru_reference_string_exact_counts),
        T(test_reclaim_clock_reference_string_exact_counts),
        T(test_reclaim_random_seed_1_reference_string_exact_and_repeatable),
        T(test_reclaim_data_survives_evictions_every_policy),
        T(test_reclaim_cow_shared_page_one_slot_swap_cache_then_copy),
        T(test_reclaim_write_to_swapped_cow_page_copies_at_once),
        T(test_reclaim_unmap_of_last_swap_entry_drops_the_cache_entry),
        T(test_reclaim_clean_file_page_dropped_and_refaulted),
        T(test_reclaim_dirty_shared_file_page_written_back),
        T(test_reclaim_locked_pages_never_evicted),
        T(test_reclaim_all_frames_locked_fault_returns_enomem_sets_oom),
        T(test_reclaim_no_swap_anon_only_fault_returns_enomem_sets_oom),
        T(test_reclaim_clean_swapped_in_page_not_rewritten_dirty_one_is),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
