/* Unit tests of file coherence (src/mm/writeback.c and the dirty-page parts of
 * src/mm/pagecache.c and src/mm/mm.c) without a CPU: stores through MAP_SHARED file mappings
 * reach the file on msync and munmap and show through every other mapping of the page;
 * host reads see the newer cached bytes; host writes update cached pages seen by shared
 * and not-yet-written private mappings; truncation unmaps pages past the end (SIGBUS);
 * shared anonymous memory (shmem) is zero-filled, shared and discardable; populate and
 * locking of ranges. A 64-frame pool and a temporary file of 2.5 pages. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/mm.h"
#include "vmemu/uaccess.h"
#include "vmemu/writeback.h"
#include "vm_fixture.h"

#define P(n)      ((uint64_t)(n) << PAGE_SHIFT)
#define A         0x400000ULL /* first test mapping */
#define B         0x800000ULL /* second test mapping */
#define RW        (VM_READ | VM_WRITE)
#define NFRAMES   64
#define FILE_SIZE (P(2) + 2048) /* two and a half pages of 'a' */

struct env {
    struct vmsys sys; /* pool, cache and TLB */
    struct mm *mm;    /* address space under test */
    char path[64];    /* the temporary file */
    int fd;           /* read-write host descriptor of it (the "guest's" open file) */
    struct vfile *f;  /* its vfile (writable) */
};

static int env_setup(void **state)
{
    static struct env e;
    static uint8_t buf[FILE_SIZE];

    memset(&e, 0, sizeof(e));
    memset(buf, 'a', sizeof(buf));
    if (vm_fixture_init(&e.sys, NFRAMES, &e.mm) != 0)
        return -1;
    e.fd = vm_fixture_make_file(e.path, sizeof(e.path), "/tmp/test_wb.XXXXXX", buf, sizeof(buf));
    if (e.fd < 0 || vfile_from_fd(&e.sys.pc, e.fd, e.path, &e.f) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    int rc = vm_fixture_release(&e->sys, e->mm, e->f, e->path, true);

    close(e->fd);
    return rc;
}

static void map_file(struct env *e, gva_t at, uint64_t pages, uint32_t flags)
{
    assert_int_equal(mm_map(e->mm, at, P(pages), RW, flags, VMA_FILE, e->f, 0, UINT64_MAX), 0);
}

/* The byte at file offset off, read from the host file. */
static char file_byte(struct env *e, uint64_t off)
{
    char c = 0;
    assert_int_equal(pread(e->fd, &c, 1, (off_t)off), 1);
    return c;
}

static char guest_byte(struct env *e, gva_t va)
{
    char c = 0;
    assert_int_equal(copy_from_user(e->mm, &c, va, 1), 0);
    return c;
}

static void guest_store(struct env *e, gva_t va, char c)
{
    assert_int_equal(copy_to_user(e->mm, va, &c, 1), 0);
}

static pte_t pte_at(struct env *e, gva_t va)
{
    pte_t *ptep = pt_lookup(&e->mm->pt, &e->sys.phys, va);
    return ptep ? *ptep : 0;
}

static void test_wb_msync_writes_store_and_cleans_pte(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    guest_store(e, A + P(1) + 5, 'X');
    assert_int_equal(file_byte(e, P(1) + 5), 'a');
    assert_true(pte_at(e, A + P(1)) & PTE_D);
    assert_true(wb_frame_dirty(&e->sys, pte_pfn(pte_at(e, A + P(1)))));

    assert_int_equal(mm_sync_range(e->mm, A, A + P(3)), 0);
    assert_int_equal(file_byte(e, P(1) + 5), 'X');
    assert_false(pte_at(e, A + P(1)) & PTE_D);
    assert_false(wb_frame_dirty(&e->sys, pte_pfn(pte_at(e, A + P(1)))));
    assert_int_equal(e->f->dirty_pages, 0);
    /* The next store dirties the page again. */
    guest_store(e, A + P(1) + 6, 'Y');
    assert_true(pte_at(e, A + P(1)) & PTE_D);
}

static void test_wb_store_past_eof_in_last_page_does_not_grow_file(void **state)
{
    struct env *e = *state;
    struct stat st;

    map_file(e, A, 3, VM_SHARED);
    guest_store(e, A + P(2) + 100, 'E');  /* inside the file */
    guest_store(e, A + P(2) + 3000, 'Z'); /* past its end, same page */
    assert_int_equal(mm_sync_range(e->mm, A, A + P(3)), 0);
    assert_int_equal(fstat(e->fd, &st), 0);
    assert_int_equal(st.st_size, FILE_SIZE);
    assert_int_equal(file_byte(e, P(2) + 100), 'E');
}

static void test_wb_munmap_writes_back(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    guest_store(e, A, 'M');
    assert_int_equal(mm_unmap(e->mm, A, P(3)), 0);
    assert_int_equal(file_byte(e, 0), 'M');
    assert_int_equal(e->f->dirty_pages, 0);
}

static void test_wb_zap_keeps_store_as_dirty_frame(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    guest_store(e, A + P(2), 'D');
    mm_zap_range(e->mm, A, A + P(3)); /* MADV_DONTNEED */
    assert_int_equal(e->f->dirty_pages, 1);
    assert_int_equal(file_byte(e, P(2)), 'a');
    assert_int_equal(guest_byte(e, A + P(2)), 'D'); /* back from the cache */
    assert_int_equal(mm_sync_range(e->mm, A, A + P(3)), 0);
    assert_int_equal(file_byte(e, P(2)), 'D');
}

static void test_wb_two_shared_mappings_share_the_frame(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    map_file(e, B, 3, VM_SHARED);
    assert_int_equal(guest_byte(e, B + P(1)), 'a');
    guest_store(e, A + P(1), 'S');
    assert_int_equal(guest_byte(e, B + P(1)), 'S');
    assert_int_equal(pte_pfn(pte_at(e, A + P(1))), pte_pfn(pte_at(e, B + P(1))));
}

static void test_wb_read_overlay_sees_unsynced_store(void **state)
{
    struct env *e = *state;
    char buf[8];

    map_file(e, A, 3, VM_SHARED);
    guest_store(e, A + P(1) + 4090, 'R'); /* near a page boundary */
    assert_int_equal(pread(e->fd, buf, sizeof(buf), (off_t)(P(1) + 4088)), 8);
    assert_int_equal(buf[2], 'a');
    wb_read_overlay(&e->sys, e->f, P(1) + 4088, buf, sizeof(buf));
    assert_memory_equal(buf, "aaRaaaaa", 8);
}

static void test_wb_file_written_shows_in_shared_and_unwritten_private(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    map_file(e, B, 3, 0);
    assert_int_equal(guest_byte(e, A), 'a');
    assert_int_equal(guest_byte(e, B), 'a');
    guest_store(e, B + P(1), 'p'); /* page 1 of the private mapping gets its own copy */
    assert_int_equal(pwrite(e->fd, "WW", 2, (off_t)(P(1) - 1)), 2);
    wb_file_written(&e->sys, e->f, P(1) - 1, "WW", 2);
    assert_int_equal(guest_byte(e, A + P(1) - 1), 'W');
    assert_int_equal(guest_byte(e, B + P(1) - 1), 'W'); /* not written: sees the file */
    assert_int_equal(guest_byte(e, B + P(1)), 'p');     /* written: its own copy */
    assert_int_equal(guest_byte(e, A + P(1)), 'W');
}

static void test_wb_truncate_unmaps_pages_past_end(void **state)
{
    struct env *e = *state;

    map_file(e, A, 3, VM_SHARED);
    assert_int_equal(guest_byte(e, A + P(2)), 'a');
    assert_int_equal(guest_byte(e, A + P(1) + 10), 'a');
    assert_int_equal(ftruncate(e->fd, 10), 0);
    wb_file_truncated(&e->sys, e->f, 10);
    assert_int_equal(pte_at(e, A + P(2)), 0);
    assert_int_equal(pte_at(e, A + P(1)), 0);
    assert_int_equal(guest_byte(e, A + 9), 'a');
    assert_int_equal(guest_byte(e, A + 10), 0); /* tail of the last page zeroed */
    assert_int_equal(mm_fault(e->mm, A + P(1), ACCESS_READ, 0), -EFAULT);
    assert_int_equal(e->mm->last_fault.signo, SIGBUS);
    assert_int_equal(e->mm->last_fault.code, BUS_ADRERR);
}

static void test_wb_shmem_zero_filled_shared_and_discarded(void **state)
{
    struct env *e = *state;
    struct vfile *shm;

    assert_int_equal(vfile_shmem_create(&e->sys.pc, P(2), &shm), 0);
    assert_int_equal(mm_map(e->mm, A, P(2), RW, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX), 0);
    assert_int_equal(mm_map(e->mm, B, P(2), RW, VM_SHARED, VMA_ANON, shm, 0, UINT64_MAX), 0);
    vfile_put(shm);
    assert_int_equal(guest_byte(e, A + 7), 0);
    assert_int_equal(vm_fixture_task.faults.anon, 1);
    assert_int_equal(vm_fixture_task.faults.major, 0);
    guest_store(e, B + 7, 'h');
    assert_int_equal(vm_fixture_task.faults.file_minor, 1);
    assert_int_equal(guest_byte(e, A + 7), 'h');
    assert_int_equal(shm->dirty_pages, 0); /* never written back: no file */
    wb_discard_pages(&e->sys, shm, 0, 1);  /* MADV_REMOVE */
    assert_int_equal(pte_at(e, A), 0);
    assert_int_equal(pte_at(e, B), 0);
    assert_int_equal(guest_byte(e, A + 7), 0);
    assert_int_equal(mm_unmap(e->mm, A, P(2)), 0);
    assert_int_equal(mm_unmap(e->mm, B, P(2)), 0);
}

static void test_wb_populate_write_faults_private_read_faults_shared(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_populate(e->mm, A, A + P(4)), 0);
    /* Written in (anonymous frames), counted as populated, not as guest faults. */
    assert_int_equal(vm_fixture_task.faults.populate, 4);
    assert_int_equal(vm_fixture_task.faults.minor, 0);
    assert_int_equal(vm_fixture_task.faults.anon, 0);
    assert_int_equal(e->mm->stats.rss, 4);
    assert_true(pte_at(e, A + P(3)) & PTE_D);
    assert_int_equal(mm_populate(e->mm, A, A + P(4)), 0); /* already there: nothing */
    assert_int_equal(vm_fixture_task.faults.populate, 4);

    map_file(e, B, 4, VM_SHARED); /* the file has 3 pages: page 3 is past its end */
    assert_int_equal(mm_populate(e->mm, B, B + P(4)), 0);
    assert_false(pte_at(e, B) & PTE_D);
    assert_int_not_equal(pte_at(e, B + P(2)), 0);
    assert_int_equal(pte_at(e, B + P(3)), 0);
    assert_int_equal(vm_fixture_task.faults.sigbus, 0); /* not a guest access */
    assert_int_equal(e->mm->last_fault.signo, 0);
}

static void test_wb_lock_range_splits_and_refuses_holes(void **state)
{
    struct env *e = *state;

    assert_int_equal(mm_map(e->mm, A, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_lock_range(e->mm, A + P(1), A + P(2), true), 0);
    assert_int_equal(e->mm->vmas.n, 3);
    assert_int_equal(e->mm->vmas.v[1].flags & VM_LOCKED, VM_LOCKED);
    assert_int_equal(mm_lock_range(e->mm, A, A + P(5), true), -ENOMEM);
    assert_int_equal(mm_lock_range(e->mm, A, A + P(4), false), 0);
    assert_int_equal(e->mm->vmas.n, 1); /* merged again */
    e->mm->def_flags = VM_LOCKED;       /* mlockall(MCL_FUTURE) */
    assert_int_equal(mm_map(e->mm, B, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(vma_lookup(&e->mm->vmas, B)->flags & VM_LOCKED, VM_LOCKED);
}

static void test_wb_unmap_tells_the_hook_per_area_and_not_at_teardown(void **state)
{
    struct env *e = *state;
    struct vm_fixture_unmap_log log = {0};

    assert_int_equal(mm_map(e->mm, A, P(4), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_map(e->mm, A + P(4), P(2), VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    e->sys.on_unmap = (struct mm_unmap_hook){vm_fixture_log_unmap, &log};
    assert_int_equal(mm_unmap(e->mm, A + P(1), P(4)), 0);  /* cuts two areas */
    assert_int_equal(mm_unmap(e->mm, A + P(10), P(2)), 0); /* nothing mapped there */
    assert_int_equal(log.n, 2);
    assert_int_equal(log.start[0], A + P(1));
    assert_int_equal(log.end[0], A + P(4));
    assert_int_equal(log.start[1], A + P(4));
    assert_int_equal(log.end[1], A + P(5));
    struct mm *other;
    assert_int_equal(mm_create(&e->sys, &other), 0);
    assert_int_equal(mm_map(other, A, P(1), RW, 0, VMA_ANON, NULL, 0, 0), 0);
    mm_destroy(other); /* a teardown removes no range of a living space */
    e->sys.on_unmap = (struct mm_unmap_hook){0};
    assert_int_equal(log.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wb_msync_writes_store_and_cleans_pte, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_store_past_eof_in_last_page_does_not_grow_file,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_munmap_writes_back, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_zap_keeps_store_as_dirty_frame, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_two_shared_mappings_share_the_frame, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_read_overlay_sees_unsynced_store, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_file_written_shows_in_shared_and_unwritten_private,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_truncate_unmaps_pages_past_end, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_shmem_zero_filled_shared_and_discarded, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_populate_write_faults_private_read_faults_shared,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_lock_range_splits_and_refuses_holes, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_wb_unmap_tells_the_hook_per_area_and_not_at_teardown,
                                        env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
