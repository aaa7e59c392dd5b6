/* Tests of the CPU layer's page traps (the gdb stub's watchpoints: a refused fill stops
 * the run before the access, with nothing counted) and watched ranges (the heap checker:
 * every load and store into the range reported at its instruction, and the filter that
 * spares the function the accesses it allows). */
#include "cpu_fixture.h"

/* Page-trap function of the tests: traps `traps` on the page at `page` of mm. */
struct trap_env {
    const struct mm *mm; /* the address space that traps */
    gva_t page;          /* its trapped page */
    unsigned traps;      /* CPU_TRAP_* */
    unsigned asked;      /* calls */
};

static unsigned trap_fn(void *ctx, const struct mm *mm, gva_t page)
{
    struct trap_env *t = ctx;
    t->asked++;
    return mm == t->mm && page == t->page ? t->traps : 0;
}

static void test_cpu_page_trap_write_stops_before_store_with_no_fault(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;
    /* First without traps: the page is then present, writable and dirty, so the MMU
     * grants a read fill R|W and only the trap's stripping makes the store come back. */
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    struct trap_env t = {mm, DATA, CPU_TRAP_WRITE, 0};
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    struct fault_stats before = e->task.faults;
    struct cpu_exit ex = run_at(e, CODE + OFF_RW, DATA);
    assert_int_equal(ex.kind, CPU_EXIT_WATCH);
    assert_int_equal(ex.rip, CODE + OFF_RW + 3); /* the store; the 3-byte load ran */
    assert_int_equal(ex.page, DATA);
    assert_int_equal(ex.access, ACCESS_WRITE);
    assert_true(t.asked > 0);
    assert_int_equal(e->task.faults.minor, before.minor);
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 42); /* the load ran */
    /* Without the trap the store runs and the run ends at the stop syscall. */
    cpu_set(e->cpu, CPU_RAX, 0);
    cpu_set_page_trap(e->cpu, NULL, NULL);
    assert_int_equal(cpu_run(e->cpu, &ex), 0);
    assert_int_equal(ex.kind, CPU_EXIT_STOP);
    assert_int_equal(e->task.faults.minor, before.minor);
}

static void test_cpu_page_trap_read_refuses_first_load_counts_nothing(void **state)
{
    struct env *e = *state;
    struct mm *mm = e->mm;
    struct trap_env t = {mm, DATA, CPU_TRAP_READ, 0};
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    struct fault_stats before = e->task.faults;
    struct cpu_exit ex = run_at(e, CODE + OFF_RW, DATA);
    assert_int_equal(ex.kind, CPU_EXIT_WATCH);
    assert_int_equal(ex.rip, CODE + OFF_RW);
    assert_int_equal(ex.page, DATA);
    assert_int_equal(ex.access, ACCESS_READ);
    /* Refused before mmu_fill: the untouched page got no zero-page fault. */
    assert_int_equal(e->task.faults.zero_page, before.zero_page);
    assert_int_equal(e->task.faults.minor, before.minor);
    /* Another page does not trap. */
    t.page = DATA + PAGE_SIZE;
    cpu_set_page_trap(e->cpu, trap_fn, &t);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA).kind, CPU_EXIT_STOP);
    assert_int_equal(e->task.faults.zero_page - before.zero_page, 1);
    cpu_set_page_trap(e->cpu, NULL, NULL);
}

/* What the watched-access function saw. */
struct watch_env {
    struct cpu *cpu;                /* to read RIP in the hook */
    int n;                          /* accesses seen */
    gva_t va[4];                    /* their addresses */
    unsigned size[4];               /* sizes */
    bool write[4];                  /* stores */
    gva_t rip[4];                   /* RIP when each was seen */
    struct cpu_watch_filter filter; /* given to the CPU layer when filtering */
    bool filtering;                 /* give it */
};

static const struct cpu_watch_filter *watch_filter_fn(void *ctx)
{
    struct watch_env *w = ctx;
    return w->filtering ? &w->filter : NULL;
}

static void watch_fn(void *ctx, gva_t va, unsigned size, bool write)
{
    struct watch_env *w = ctx;
    if (w->n < 4) {
        w->va[w->n] = va;
        w->size[w->n] = size;
        w->write[w->n] = write;
        w->rip[w->n] = cpu_get(w->cpu, CPU_RIP);
    }
    w->n++;
}

static void test_cpu_watched_range_reports_each_load_and_store_at_its_instruction(void **state)
{
    struct env *e = *state;
    struct watch_env w = {.cpu = e->cpu};
    uint64_t v = 7;
    assert_int_equal(
        mm_map(e->mm, DATA + PAGE_SIZE, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(copy_to_user(e->mm, DATA + 8, &v, sizeof(v)), 0);
    /* Only the second data page is watched. */
    assert_int_equal(cpu_watch_range(e->cpu, DATA + PAGE_SIZE, DATA + 2 * PAGE_SIZE, watch_fn,
                                     watch_filter_fn, &w),
                     0);
    /* Unicorn's region lookups of the accesses below come to the CPU layer's cache (the
     * stores to the pool and the alias land where they should: checked below). */
    assert_true(cpu_watch_lookup_interposed());
    assert_int_equal(cpu_watch_range(e->cpu, DATA, DATA + PAGE_SIZE, watch_fn, NULL, &w), -EINVAL);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + 8).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0); /* the first page is not watched */
    assert_int_equal(cpu_get(e->cpu, CPU_RAX), 60);
    assert_int_equal(copy_to_user(e->mm, DATA + PAGE_SIZE + 16, &v, sizeof(v)), 0);
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    /* mov rax, [rdi] then mov qword [rdi], 42: the load, then the store, each with its
     * own RIP; the load read the page's real bytes and the store reached them. */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.va[0], DATA + PAGE_SIZE + 16);
    assert_int_equal(w.size[0], 8);
    assert_false(w.write[0]);
    assert_int_equal(w.rip[0], CODE + OFF_RW);
    assert_int_equal(w.va[1], DATA + PAGE_SIZE + 16);
    assert_int_equal(w.size[1], 8);
    assert_true(w.write[1]);
    assert_int_equal(w.rip[1], CODE + OFF_RW + 3);
    assert_int_equal(copy_from_user(e->mm, &v, DATA + PAGE_SIZE + 16, sizeof(v)), 0);
    assert_int_equal(v, 42);
    /* A fresh run of the same code on the other page still reports nothing. */
    w.n = 0;
    assert_int_equal(run_at(e, CODE + OFF_READ, DATA + 8).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0);
    /* A filter whose byte allows the granule spares the function both accesses; one that
     * allows only its first 4 bytes does not. */
    uint8_t map[PAGE_SIZE / 8] = {0};
    w.filter = (struct cpu_watch_filter){
        .map = map, .base = DATA + PAGE_SIZE, .end = DATA + 2 * PAGE_SIZE};
    w.filtering = true;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 0);
    map[2] = 4;
    assert_int_equal(run_at(e, CODE + OFF_RW, DATA + PAGE_SIZE + 16).kind, CPU_EXIT_STOP);
    assert_int_equal(w.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_cpu_page_trap_write_stops_before_store_with_no_fault),
        T(test_cpu_page_trap_read_refuses_first_load_counts_nothing),
        T(test_cpu_watched_range_reports_each_load_and_store_at_its_instruction),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
