/* Unit tests of the file registry and the page cache (src/mm/pagecache.c): one vfile per
 * host file however it is opened, the descriptor upgrade for writable opens, reading
 * pages with the zero fill past the end of the file, lookup, dropping a file's pages
 * (all of them on the last reference, only the unmapped ones otherwise), the hash table
 * growth, and the -ENOENT, -EBADF, -ENOMEM and -EIO paths. Files are temporary host
 * files with a known byte pattern. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/pagecache.h"
#include "vmemu/phys.h"

#define NFRAMES   64
#define FILE_SIZE (2 * PAGE_SIZE + 2048) /* two and a half pages */

struct env {
    struct phys phys;    /* 64-frame pool */
    struct pagecache pc; /* cache under test */
    char path[64];       /* temporary file of FILE_SIZE bytes of pattern() */
    char path2[64];      /* a second, different file of the same size */
};

/* Byte at file offset off: differs from page to page and within a page. */
static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> PAGE_SHIFT) * 13 + 1);
}

/* Creates a temporary file of size bytes of pattern() (xor `salt`) from a template. */
static int make_file(char *path, const char *tmpl, uint64_t size, uint8_t salt)
{
    uint8_t buf[PAGE_SIZE];
    int fd;

    strcpy(path, tmpl);
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
        size_t n = size - off < PAGE_SIZE ? (size_t)(size - off) : PAGE_SIZE;

        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i) ^ salt;
        if (write(fd, buf, n) != (ssize_t)n)
            return -1;
    }
    return close(fd);
}

static int env_setup(void **state)
{
    static struct env e;

    memset(&e, 0, sizeof(e));
    if (phys_init(&e.phys, NFRAMES * PAGE_SIZE) != 0 || pagecache_init(&e.pc, &e.phys) != 0)
        return -1;
    if (make_file(e.path, "/tmp/test_pagecache.XXXXXX", FILE_SIZE, 0) != 0 ||
        make_file(e.path2, "/tmp/test_pagecache.XXXXXX", FILE_SIZE, 0xff) != 0)
        return -1;
    *state = &e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;

    pagecache_destroy(&e->pc);
    phys_destroy(&e->phys);
    unlink(e->path);
    unlink(e->path2);
    return 0;
}

/* Checks that frame pfn holds page `index` of a pattern file of FILE_SIZE bytes. */
static void check_page(struct env *e, pfn_t pfn, uint64_t index, uint8_t salt)
{
    const uint8_t *p = phys_hva(&e->phys, pfn);

    for (uint64_t i = 0; i < PAGE_SIZE; i++) {
        uint64_t off = index * PAGE_SIZE + i;

        if (off < FILE_SIZE)
            assert_int_equal(p[i], pattern(off) ^ salt);
        else
            assert_int_equal(p[i], 0);
    }
}

static void test_vfile_open_same_file_twice_shares_vfile(void **state)
{
    struct env *e = *state;
    struct vfile *a, *b;
    struct stat st;

    assert_int_equal(vfile_open(&e->pc, e->path, &a), 0);
    assert_int_equal(a->refs, 1);
    assert_false(a->writable);
    assert_string_equal(a->path, e->path);
    assert_ptr_equal(a->pc, &e->pc);
    assert_int_equal(stat(e->path, &st), 0);
    assert_int_equal(a->dev, (uint64_t)st.st_dev);
    assert_int_equal(a->ino, (uint64_t)st.st_ino);

    assert_int_equal(vfile_open(&e->pc, e->path, &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(a->refs, 2);
    assert_ptr_equal(e->pc.files, a);
    assert_null(a->next);

    vfile_get(a);
    assert_int_equal(a->refs, 3);
    vfile_put(a);
    vfile_put(a);
    assert_int_equal(a->refs, 1);
    assert_ptr_equal(e->pc.files, a);
    vfile_put(a);
    assert_null(e->pc.files);
}

static void test_vfile_open_different_files_gives_two_vfiles(void **state)
{
    struct env *e = *state;
    struct vfile *a, *b;

    assert_int_equal(vfile_open(&e->pc, e->path, &a), 0);
    assert_int_equal(vfile_open(&e->pc, e->path2, &b), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    /* Newest first in the registry. */
    assert_ptr_equal(e->pc.files, b);
    assert_ptr_equal(b->next, a);
    vfile_put(a);
    assert_ptr_equal(e->pc.files, b);
    assert_null(b->next);
    vfile_put(b);
    assert_null(e->pc.files);
}

static void test_vfile_open_missing_file_returns_enoent(void **state)
{
    struct env *e = *state;
    struct vfile *f = NULL;

    assert_int_equal(vfile_open(&e->pc, "/nonexistent/vmemu/file", &f), -ENOENT);
    assert_null(f);
    assert_null(e->pc.files);
}

static void test_vfile_from_fd_same_file_shares_vfile(void **state)
{
    struct env *e = *state;
    struct vfile *a, *b;
    int fd = open(e->path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(vfile_open(&e->pc, e->path, &a), 0);
    assert_int_equal(vfile_from_fd(&e->pc, fd, "other name", &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(a->refs, 2);
    assert_false(a->writable);
    assert_string_equal(a->path, e->path);
    vfile_put(a);
    vfile_put(b);
    /* The caller's descriptor is its own: still open. */
    assert_true(fcntl(fd, F_GETFD) >= 0);
    assert_int_equal(close(fd), 0);
}

static void test_vfile_from_fd_dups_descriptor_close_on_exec(void **state)
{
    struct env *e = *state;
    struct vfile *f;
    int fd = open(e->path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(vfile_from_fd(&e->pc, fd, NULL, &f), 0);
    assert_int_not_equal(f->fd, fd);
    assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);
    assert_string_equal(f->path, e->path); /* named as the host resolves it, like Linux */
    assert_int_equal(close(fd), 0);
    /* The vfile's own copy still reads the file. */
    assert_int_equal(vfile_size(f), FILE_SIZE);
    vfile_put(f);
}

static void test_vfile_from_fd_writable_upgrades_existing_vfile(void **state)
{
    struct env *e = *state;
    struct vfile *ro, *rw, *again;
    int fd = open(e->path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(vfile_open(&e->pc, e->path, &ro), 0);
    int old_fd = ro->fd;
    assert_int_equal(vfile_from_fd(&e->pc, fd, e->path, &rw), 0);
    assert_ptr_equal(ro, rw);
    assert_true(rw->writable);
    assert_int_equal(rw->refs, 2);
    assert_int_not_equal(rw->fd, fd);
    assert_int_equal(fcntl(rw->fd, F_GETFL) & O_ACCMODE, O_RDWR);
    assert_int_equal(fcntl(old_fd, F_GETFD), -1); /* the read-only copy is closed */
    /* A later read-only open keeps the writable descriptor. */
    assert_int_equal(vfile_open(&e->pc, e->path, &again), 0);
    assert_ptr_equal(again, ro);
    assert_true(again->writable);
    assert_int_equal(again->refs, 3);
    vfile_put(ro);
    vfile_put(ro);
    vfile_put(ro);
    assert_int_equal(close(fd), 0);
}

static void test_vfile_from_fd_bad_descriptor_returns_ebadf(void **state)
{
    struct env *e = *state;
    struct vfile *f = NULL;

    assert_int_equal(vfile_from_fd(&e->pc, -1, "x", &f), -EBADF);
    assert_int_equal(vfile_from_fd(&e->pc, 1000, "x", &f), -EBADF);
    assert_null(f);
    assert_null(e->pc.files);
}

static void test_vfile_size_follows_host_file(void **state)
{
    struct env *e = *state;
    struct vfile *f;

    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(vfile_size(f), FILE_SIZE);
    assert_int_equal(truncate(e->path, 5 * PAGE_SIZE + 1), 0);
    assert_int_equal(vfile_size(f), 5 * PAGE_SIZE + 1);
    vfile_put(f);
}

static void test_pagecache_read_fills_frame_from_file(void **state)
{
    struct env *e = *state;
    struct vfile *f;
    pfn_t p0, p2;

    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(pagecache_find(&e->pc, f, 0), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 0, &p0), 0);
    check_page(e, p0, 0, 0);
    /* The last page: 2048 bytes of file, then zeroes. */
    assert_int_equal(pagecache_read(&e->pc, f, 2, &p2), 0);
    check_page(e, p2, 2, 0);
    assert_int_not_equal(p0, p2);
    assert_int_equal(e->pc.pages, 2);
    assert_int_equal(e->phys.used, 3);

    struct frame *fr = phys_frame(&e->phys, p2);
    assert_int_equal(fr->flags, FRAME_PAGECACHE);
    assert_int_equal(fr->refcount, 1);
    assert_ptr_equal(fr->owner, f);
    assert_int_equal(fr->index, 2);

    assert_int_equal(pagecache_find(&e->pc, f, 0), p0);
    assert_int_equal(pagecache_find(&e->pc, f, 2), p2);
    assert_int_equal(pagecache_find(&e->pc, f, 1), 0);
    vfile_put(f);
}

static void test_pagecache_read_recycled_frame_past_eof_reads_zero(void **state)
{
    struct env *e = *state;
    struct vfile *f;
    pfn_t junk, pfn;

    /* A dirty recycled frame must not leak into the zero fill. */
    assert_int_equal(phys_alloc(&e->phys, false, &junk), 0);
    memset(phys_hva(&e->phys, junk), 0xee, PAGE_SIZE);
    phys_put(&e->phys, junk);
    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 2, &pfn), 0);
    assert_int_equal(pfn, junk);
    check_page(e, pfn, 2, 0);
    /* Entirely past the end of the file: a page of zeroes. */
    assert_int_equal(pagecache_read(&e->pc, f, 7, &pfn), 0);
    check_page(e, pfn, 7, 0);
    vfile_put(f);
}

static void test_pagecache_same_index_of_two_files_is_two_pages(void **state)
{
    struct env *e = *state;
    struct vfile *a, *b;
    pfn_t pa, pb;

    assert_int_equal(vfile_open(&e->pc, e->path, &a), 0);
    assert_int_equal(vfile_open(&e->pc, e->path2, &b), 0);
    assert_int_equal(pagecache_read(&e->pc, a, 1, &pa), 0);
    assert_int_equal(pagecache_find(&e->pc, b, 1), 0);
    assert_int_equal(pagecache_read(&e->pc, b, 1, &pb), 0);
    assert_int_not_equal(pa, pb);
    check_page(e, pa, 1, 0);
    check_page(e, pb, 1, 0xff);
    assert_int_equal(pagecache_find(&e->pc, a, 1), pa);
    assert_int_equal(pagecache_find(&e->pc, b, 1), pb);
    vfile_put(b);
    assert_int_equal(e->pc.pages, 1);
    assert_int_equal(pagecache_find(&e->pc, a, 1), pa);
    vfile_put(a);
}

static void test_vfile_put_last_reference_drops_pages(void **state)
{
    struct env *e = *state;
    struct vfile *f, *g;
    pfn_t pfn;

    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(vfile_open(&e->pc, e->path, &g), 0);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(pagecache_read(&e->pc, f, i, &pfn), 0);
    assert_int_equal(e->pc.pages, 3);
    assert_int_equal(e->phys.used, 4);
    vfile_put(g);
    assert_int_equal(e->pc.pages, 3);
    assert_int_equal(e->phys.used, 4);
    vfile_put(f);
    assert_int_equal(e->pc.pages, 0);
    assert_int_equal(e->phys.used, 1);
    assert_int_equal(phys_frame(&e->phys, pfn)->refcount, 0);
    assert_null(e->pc.files);
}

static void test_pagecache_drop_file_keeps_mapped_pages(void **state)
{
    struct env *e = *state;
    struct vfile *f;
    pfn_t p0, p1;

    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 0, &p0), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 1, &p1), 0);
    phys_get(&e->phys, p1); /* as a PTE would */
    pagecache_drop_file(&e->pc, f);
    assert_int_equal(e->pc.pages, 1);
    assert_int_equal(pagecache_find(&e->pc, f, 0), 0);
    assert_int_equal(pagecache_find(&e->pc, f, 1), p1);
    assert_int_equal(phys_frame(&e->phys, p1)->refcount, 2);
    assert_int_equal(e->phys.used, 2); /* zero page and p1 */
    phys_put(&e->phys, p1);
    pagecache_drop_file(&e->pc, f);
    assert_int_equal(e->pc.pages, 0);
    assert_int_equal(e->phys.used, 1);
    vfile_put(f);
}

static void test_pagecache_read_empty_pool_returns_enomem(void **state)
{
    struct phys phys;
    struct pagecache pc;
    struct vfile *f;
    char path[64];
    pfn_t pfn, last = 0;

    (void)state;
    assert_int_equal(make_file(path, "/tmp/test_pagecache.XXXXXX", FILE_SIZE, 0), 0);
    /* 4 frames: frame 0 and the zero page leave two. */
    assert_int_equal(phys_init(&phys, 4 * PAGE_SIZE), 0);
    assert_int_equal(pagecache_init(&pc, &phys), 0);
    assert_int_equal(vfile_open(&pc, path, &f), 0);
    assert_int_equal(pagecache_read(&pc, f, 0, &pfn), 0);
    assert_int_equal(pagecache_read(&pc, f, 1, &last), 0);
    pfn = 0;
    assert_int_equal(pagecache_read(&pc, f, 2, &pfn), -ENOMEM);
    assert_int_equal(pfn, 0);
    assert_int_equal(pc.pages, 2);
    assert_int_equal(pagecache_find(&pc, f, 2), 0);
    assert_int_equal(pagecache_find(&pc, f, 1), last);
    vfile_put(f);
    assert_int_equal(phys.used, 1);
    pagecache_destroy(&pc);
    phys_destroy(&phys);
    unlink(path);
}

static void test_pagecache_read_unreadable_file_returns_eio(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/test_pagecache.dir.XXXXXX";
    struct vfile *f;
    pfn_t pfn = 0;

    assert_non_null(mkdtemp(dir));
    /* A directory opens read-only but cannot be read. */
    assert_int_equal(vfile_open(&e->pc, dir, &f), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 0, &pfn), -EIO);
    assert_int_equal(pfn, 0);
    assert_int_equal(e->pc.pages, 0);
    assert_int_equal(e->phys.used, 1);
    vfile_put(f);
    rmdir(dir);
}

static void test_pagecache_many_pages_grow_table_and_stay_found(void **state)
{
    const uint64_t npages = 2 * 1024 + 1; /* one past twice the initial 1024 buckets */
    struct phys phys;
    struct pagecache pc;
    struct vfile *f;
    char path[64];
    pfn_t *pfns = calloc(npages, sizeof(*pfns));

    (void)state;
    assert_non_null(pfns);
    assert_int_equal(make_file(path, "/tmp/test_pagecache.XXXXXX", npages * PAGE_SIZE, 0), 0);
    assert_int_equal(phys_init(&phys, (npages + 2) * PAGE_SIZE), 0);
    assert_int_equal(pagecache_init(&pc, &phys), 0);
    assert_int_equal(pc.nbuckets, 1024);
    assert_int_equal(vfile_open(&pc, path, &f), 0);
    for (uint64_t i = 0; i < npages; i++)
        assert_int_equal(pagecache_read(&pc, f, i, &pfns[i]), 0);
    assert_int_equal(pc.nbuckets, 2048);
    assert_int_equal(pc.pages, npages);
    assert_int_equal(phys_free_frames(&phys), 0);
    for (uint64_t i = 0; i < npages; i++) {
        const uint8_t *p = phys_hva(&phys, pfns[i]);

        assert_int_equal(pagecache_find(&pc, f, i), pfns[i]);
        assert_int_equal(p[0], pattern(i * PAGE_SIZE));
        assert_int_equal(p[PAGE_SIZE - 1], pattern(i * PAGE_SIZE + PAGE_SIZE - 1));
    }
    vfile_put(f);
    assert_int_equal(pc.pages, 0);
    assert_int_equal(phys.used, 1);
    pagecache_destroy(&pc);
    phys_destroy(&phys);
    unlink(path);
    free(pfns);
}

static void test_pagecache_destroy_releases_live_files_and_pages(void **state)
{
    struct env *e = *state;
    struct vfile *f;
    pfn_t pfn;

    assert_int_equal(vfile_open(&e->pc, e->path, &f), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 0, &pfn), 0);
    assert_int_equal(pagecache_read(&e->pc, f, 1, &pfn), 0);
    pagecache_destroy(&e->pc);
    assert_int_equal(e->phys.used, 1);
    assert_null(e->pc.files);
    assert_int_equal(e->pc.pages, 0);
    /* The teardown destroys the (now empty) cache once more. */
}

int main(void)
{
#define ENV_TEST(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        ENV_TEST(test_vfile_open_same_file_twice_shares_vfile),
        ENV_TEST(test_vfile_open_different_files_gives_two_vfiles),
        ENV_TEST(test_vfile_open_missing_file_returns_enoent),
        ENV_TEST(test_vfile_from_fd_same_file_shares_vfile),
        ENV_TEST(test_vfile_from_fd_dups_descriptor_close_on_exec),
        ENV_TEST(test_vfile_from_fd_writable_upgrades_existing_vfile),
        ENV_TEST(test_vfile_from_fd_bad_descriptor_returns_ebadf),
        ENV_TEST(test_vfile_size_follows_host_file),
        ENV_TEST(test_pagecache_read_fills_frame_from_file),
        ENV_TEST(test_pagecache_read_recycled_frame_past_eof_reads_zero),
        ENV_TEST(test_pagecache_same_index_of_two_files_is_two_pages),
        ENV_TEST(test_vfile_put_last_reference_drops_pages),
        ENV_TEST(test_pagecache_drop_file_keeps_mapped_pages),
        cmocka_unit_test(test_pagecache_read_empty_pool_returns_enomem),
        ENV_TEST(test_pagecache_read_unreadable_file_returns_eio),
        cmocka_unit_test(test_pagecache_many_pages_grow_table_and_stay_found),
        ENV_TEST(test_pagecache_destroy_releases_live_files_and_pages),
    };
#undef ENV_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
