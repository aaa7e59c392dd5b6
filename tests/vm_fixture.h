/* Fixture pieces shared by the CPU-less unit tests of the virtual-memory system
 * (test_mm.c, test_mremap.c, test_writeback.c, test_mm_stat.c, test_fault.c): a vmsys with
 * one address space, a temporary host file with the test's own bytes, and the teardown
 * that checks every frame and cached page came back. Each test keeps its own struct env;
 * these helpers fill and release its fields. Header only, all static inline. */
#ifndef VMEMU_TESTS_VM_FIXTURE_H
#define VMEMU_TESTS_VM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/mm.h"
#include "vmemu/gup.h"
#include "vmemu/pagecache.h"
#include "vmemu/vm_check.h"

/* The task the tests' faults are charged to (vmsys.charge): one per test program,
 * zeroed by vm_fixture_init. */
static struct task_vm_stats vm_fixture_task;

/* Starts a vmsys of `frames` frames (16-entry, 4-way TLB) whose faults are charged to
 * vm_fixture_task, and creates *mm in it. 0, or -1 when either fails. */
static inline int vm_fixture_init(struct vmsys *sys, uint64_t frames, struct mm **mm)
{
    if (vmsys_init(sys, frames * PAGE_SIZE, 16, 4) != 0 || mm_create(sys, mm) != 0)
        return -1;
    memset(&vm_fixture_task, 0, sizeof(vm_fixture_task));
    sys->charge = &vm_fixture_task;
    return 0;
}

/* Creates a temporary file from path_template ("/tmp/name.XXXXXX", copied into path of
 * path_size bytes) holding the size bytes at data. Returns its read-write descriptor, or -1
 * when it cannot be created or written. */
static inline int vm_fixture_make_file(char *path, size_t path_size, const char *path_template,
                                       const void *data, size_t size)
{
    int len = snprintf(path, path_size, "%s", path_template);
    if (len < 0 || (size_t)len >= path_size)
        return -1;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    return fd;
}

/* vm_fixture_make_file, then closes the descriptor and opens *f on the file read-only in
 * sys's page cache. 0, or -1 on any failure. */
static inline int vm_fixture_open_file(struct vmsys *sys, char *path, size_t path_size,
                                       const char *path_template, const void *data, size_t size,
                                       struct vfile **f)
{
    int fd = vm_fixture_make_file(path, path_size, path_template, data, size);
    if (fd < 0 || close(fd) != 0)
        return -1;
    return vfile_open(&sys->pc, path, f) == 0 ? 0 : -1;
}

/* The ranges the unmap hook was told of (struct mm_unmap_hook). */
struct vm_fixture_unmap_log {
    struct mm *mm[8];
    gva_t start[8], end[8];
    int n;
};

static inline void vm_fixture_log_unmap(void *ctx, struct mm *mm, gva_t start, gva_t end)
{
    struct vm_fixture_unmap_log *l = ctx;
    if (l->n < 8) {
        l->mm[l->n] = mm;
        l->start[l->n] = start;
        l->end[l->n] = end;
    }
    l->n++;
}

/* Checks the whole VM (vm_check, as far as mm goes: other address spaces the test made
 * are not listed), destroys mm, drops the test's reference f and unlinks path; then, when
 * check_freed, requires that only the zero page is still taken from the pool and that the
 * page cache is empty. Returns -1 when a check fails (leaving sys as it is), else destroys
 * sys and returns 0. */
static inline int vm_fixture_release(struct vmsys *sys, struct mm *mm, struct vfile *f,
                                     const char *path, bool check_freed)
{
    char why[256];
    if (vm_check(sys, &mm, mm ? 1 : 0, false, why, sizeof(why)) != 0) {
        fprintf(stderr, "vm_check: %s\n", why);
        return -1;
    }
    mm_destroy(mm);
    if (f)
        vfile_put(f);
    unlink(path);
    if (check_freed && (sys->phys.used != 1 || sys->pc.pages != 0))
        return -1;
    vmsys_destroy(sys);
    return 0;
}

#endif /* VMEMU_TESTS_VM_FIXTURE_H */
