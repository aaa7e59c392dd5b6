/* Tests of the reports (src/report/, src/proc/maps_table.c) without a CPU: a process whose
 * address space is touched through the copy helpers (which count faults as the CPU would), then the
 * --stats text, the JSON file, the --maps table and the crash report are checked line by
 * line. The fixture's counts follow from its accesses: three pages written (3 new anonymous
 * frames), one page read (the zero page), each page translated once through vmemu's TLB
 * (4 misses) and then the first page read again (1 hit). The decoder that narrows a data
 * fault from its page to the byte (src/cpu/insn.c) is tested on hand-assembled instructions,
 * and end to end on a real CPU whose fill callback only learns the faulting page.
 * The program-image tests map this test executable itself as a VMA_IMAGE area: the
 * section of one of its own literals and of one of its bss words is known, and the load
 * bias of the mapping (the area's start) is not the executable's runtime one. */
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/fault.h"
#include "vmemu/insn.h"
#include "vmemu/maps_table.h"
#include "vmemu/report.h"
#include "vmemu/sched.h"
#include "vmemu/uaccess.h"

#define GUEST_SIGSEGV   11 /* Linux x86-64 signal numbers */
#define GUEST_SIGKILL   9
#define DATA_VA         0x10000ULL /* 4 anonymous rw pages */
#define DATA_PAGES      4
#define RO_VA           0x30000ULL /* 1 anonymous read-only page */
#define HEAP_VA         0x40000ULL /* 1 heap page */
#define UD2_VA          (DATA_VA + 0x10)
#define CODE_VA         0x60000ULL     /* 1 rwx page for the tests that run code */
#define UAF_VA          0x70000ULL     /* 2 pages mapped and then removed by a "syscall" */
#define IMAGE_VA        0x400000000ULL /* where the tests map this executable's image */
#define LINUX_NR_MUNMAP 11             /* x86-64 syscall numbers */
#define LINUX_NR_BRK    12

/* mov dword ptr [rax], 0x2a */
static const uint8_t mov_insn[] = {0xc7, 0x00, 0x2a, 0x00, 0x00, 0x00};
static const uint8_t ud2_insn[] = {0x0f, 0x0b};

struct env {
    struct vmsys sys;       /* 64-frame machine */
    struct run_options opt; /* no trace, no maps */
    struct proc *p;         /* the process under test */
    struct cpu *cpu;        /* a real CPU for the tests that run code, or NULL */
    char *buf;              /* memstream / file contents */
    size_t len;             /* bytes in buf */
    struct sched sched;     /* a run of p and kids, built by make_family() */
    struct proc *kids[2];   /* ended processes of that run (no address space), or NULL */
    struct proc *procs[3];  /* sched.procs: p, kids[0], kids[1] */
};

/* A literal in this executable's .rodata and a word in its .bss, for the image tests. */
static const char image_literal[] = "a literal in the .rodata of test_report";
static int image_bss_word;

static int setup(void **state)
{
    struct env *t = calloc(1, sizeof(*t));
    uint8_t page[PAGE_SIZE * 3];
    uint8_t byte;

    assert_non_null(t);
    assert_int_equal(vmsys_init(&t->sys, 64 * PAGE_SIZE, 16, 4), 0);
    assert_int_equal(proc_create(&t->sys, NULL, &t->opt, &t->p), 0);
    t->sys.current = t->p->mm;
    t->sys.charge = &t->p->vmstat;
    t->p->exe = strdup("/nonexistent/prog");
    t->p->cmdline = strdup("prog a b");
    t->p->argv = calloc(4, sizeof(char *));
    t->p->argv[0] = strdup("prog");
    t->p->argv[1] = strdup("a");
    t->p->argv[2] = strdup("b");
    snprintf(t->p->comm, sizeof(t->p->comm), "prog");
    assert_int_equal(mm_map(t->p->mm, DATA_VA, DATA_PAGES * PAGE_SIZE, VM_READ | VM_WRITE, 0,
                            VMA_ANON, NULL, 0, 0),
                     0);
    memset(page, 0x90, sizeof(page));
    memcpy(page, mov_insn, sizeof(mov_insn));
    memcpy(page + (UD2_VA - DATA_VA), ud2_insn, sizeof(ud2_insn));
    assert_int_equal(copy_to_user(t->p->mm, DATA_VA, page, sizeof(page)), 0);
    assert_int_equal(copy_from_user(t->p->mm, &byte, DATA_VA + 3 * PAGE_SIZE, 1), 0);
    assert_int_equal(copy_from_user(t->p->mm, &byte, DATA_VA, 1), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct env *t = *state;

    proc_destroy(t->p);
    for (size_t i = 0; i < 2; i++) {
        if (t->kids[i] != NULL)
            free(t->kids[i]->cmdline);
        free(t->kids[i]);
    }
    if (t->cpu != NULL)
        cpu_destroy(t->cpu);
    vmsys_destroy(&t->sys);
    free(t->buf);
    free(t);
    return 0;
}

/* The guest writes through a NULL pointer (address 8) and is killed for it. */
static void kill_by_null_write(struct env *t)
{
    assert_int_equal(mm_fault(t->p->mm, 8, ACCESS_WRITE, 0), -EFAULT);
    proc_kill(t->p, GUEST_SIGSEGV);
}

/* Runs report_json (or, with all, report_json_all on t->sched) into a temporary file and
 * loads it into t->buf. */
static void load_json_of(struct env *t, bool all)
{
    char path[] = "/tmp/vmemu_test_report_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    long n;

    assert_true(fd >= 0);
    close(fd);
    if (all)
        assert_int_equal(report_json_all(path, &t->sched), 0);
    else
        assert_int_equal(report_json(path, t->p), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    t->buf = malloc((size_t)n + 1);
    assert_non_null(t->buf);
    assert_int_equal(fread(t->buf, 1, (size_t)n, f), (size_t)n);
    t->buf[n] = '\0';
    t->len = (size_t)n;
    fclose(f);
    unlink(path);
}

static void load_json(struct env *t)
{
    load_json_of(t, false);
}

/* Opens a memstream whose contents land in t->buf once closed. */
static FILE *open_text(struct env *t)
{
    FILE *f = open_memstream(&t->buf, &t->len);

    assert_non_null(f);
    return f;
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (strstr((hay), (needle)) == NULL)                                                       \
            fail_msg("missing [%s] in:\n%s", (needle), (hay));                                     \
    } while (0)

static void test_report_json_after_null_write_has_counts_and_crash(void **state)
{
    struct env *t = *state;
    char cause[128];

    kill_by_null_write(t);
    load_json(t);
    assert_contains(t->buf, "\"vmemu_version\": \"0.1.0\"");
    assert_contains(t->buf, "\"program\": \"/nonexistent/prog\"");
    assert_contains(t->buf, "\"argv\": [\n    \"prog\",\n    \"a\",\n    \"b\"\n  ]");
    assert_contains(t->buf, "\n  \"exit_status\": 139,\n  \"signal\": 11,");
    assert_contains(t->buf, "\"mem_bytes\": 262144");
    assert_contains(t->buf, "\"tlb\": {\n    \"entries\": 16,\n    \"ways\": 4,\n    "
                            "\"huge_entries\": 32,\n    \"huge_ways\": 4\n  }");
    assert_contains(t->buf, "\"pid\": 1000");
    assert_contains(t->buf, "\"ppid\": 1");
    assert_contains(t->buf, "\"command\": \"prog a b\"");
    assert_contains(t->buf, "\"minor\": 4,");
    assert_contains(t->buf, "\"major\": 0,");
    assert_contains(t->buf, "\"zero_page\": 1,");
    assert_contains(t->buf, "\"anon\": 3,");
    assert_contains(t->buf, "\"segv\": 1,");
    assert_contains(t->buf, "\"hits\": 1,");
    assert_contains(t->buf, "\"misses\": 4,"); /* the 4 pages; the fault itself skips the TLB */
    assert_contains(t->buf, "\"fills\": 0,");  /* copy helpers are not CPU fills */
    assert_contains(t->buf, "\"unicorn_flushes\": 0");
    assert_contains(t->buf, "\"peak_rss_pages\": 3,");
    assert_contains(t->buf, "\"rss_pages\": 3,");
    assert_contains(t->buf, "\"page_table_pages\": 4,"); /* PML4, PDPT, PD, PT */
    assert_contains(t->buf, "\"peak_vm_pages\": 4,");
    assert_contains(t->buf, "\"crash\": {\n        \"signal\": 11,");
    assert_contains(t->buf, "\"code\": \"SEGV_MAPERR\"");
    assert_contains(t->buf, "\"address\": \"0x8\"");
    assert_contains(t->buf, "\"access\": \"write\"");
    snprintf(cause, sizeof(cause), "\"cause\": \"%s\"", fault_cause_text(CAUSE_NULL));
    assert_contains(t->buf, cause);
    assert_contains(t->buf, "\"rip\": null"); /* no CPU */
    assert_contains(t->buf, "\"vma\": null");
    assert_contains(t->buf, "\"section\": null,\n        \"file\": null,\n"
                            "        \"unmapped_by\": null\n      }");
    assert_string_equal(t->buf + t->len - 6, "  ]\n}\n");
}

static void test_report_json_after_exit_has_null_signal_and_crash(void **state)
{
    struct env *t = *state;

    proc_exit(t->p, 3);
    load_json(t);
    assert_contains(t->buf, "\n  \"exit_status\": 3,\n  \"signal\": null,");
    assert_contains(t->buf, "\"crash\": null");
    assert_null(strstr(t->buf, "\"address\""));
}

static void test_report_json_escapes_quotes_controls_and_bad_utf8(void **state)
{
    struct env *t = *state;

    free(t->p->exe);
    /* quote, backslash, newline, control, invalid byte, é, an encoded surrogate: a byte
     * that is not well-formed UTF-8 is the code point of the same number (U+00FF for 0xff,
     * the string the \u00ff escape of the hand-written writer decoded to), written in
     * UTF-8 as jansson writes every non-ASCII character */
    t->p->exe = strdup("/tmp/a\"b\\c\nd\x01\xff\xc3\xa9\xed\xa0\x80");
    proc_exit(t->p, 0);
    load_json(t);
    assert_contains(t->buf, "\"program\": \"/tmp/a\\\"b\\\\c\\nd\\u0001\xc3\xbf\xc3\xa9"
                            "\xc3\xad\xc2\xa0\xc2\x80\"");
}

static void test_report_json_unwritable_path_returns_enoent(void **state)
{
    struct env *t = *state;

    assert_int_equal(report_json("/nonexistent/dir/report.json", t->p), -ENOENT);
}

static void test_report_stats_killed_process_prints_counts(void **state)
{
    struct env *t = *state;
    FILE *f = open_text(t);

    kill_by_null_write(t);
    report_stats(f, t->p);
    fclose(f);
    assert_contains(t->buf, "vmemu: prog killed by signal 11 (SIGSEGV)\n");
    assert_contains(t->buf, "\tCommand: \"prog a b\"\n");
    assert_contains(t->buf, "\tExit status: 139\n");
    assert_contains(t->buf, "\tMinor page faults: 4\n");
    assert_contains(t->buf, "\t  zero page: 1\n");
    assert_contains(t->buf, "\t  new anonymous page: 3\n");
    assert_contains(t->buf, "\t  page-cache hit: 0\n");
    assert_contains(t->buf, "\tMajor page faults: 0\n");
    assert_contains(t->buf, "\t  swap-in: 0\n");
    assert_contains(t->buf, "\tInvalid accesses (SIGSEGV): 1\n");
    assert_contains(t->buf, "\tvmemu TLB hits: 1\n");
    assert_contains(t->buf, "\tvmemu TLB misses (page walks): 4\n");
    assert_contains(t->buf, "\tUnicorn TLB fills (depends on Unicorn's TLB size): 0\n");
    assert_contains(t->buf, "\tUnicorn TLB flushes: 0\n");
    assert_contains(t->buf, "\tPeak resident pages: 3 (12 KiB)\n");
    assert_contains(t->buf, "\tResident pages at exit: 3 (12 KiB)\n");
    assert_contains(t->buf, "\tPeak virtual size: 4 pages (16 KiB)\n");
    assert_contains(t->buf, "\tPage-table pages (now / peak): 4 / 4\n");
    assert_contains(t->buf, "\tFrames in pool: 64\n");
}

static void test_report_stats_exited_process_says_status(void **state)
{
    struct env *t = *state;
    FILE *f = open_text(t);

    proc_exit(t->p, 3);
    report_stats(f, t->p);
    fclose(f);
    assert_int_equal(strncmp(t->buf, "vmemu: prog exited with status 3\n", 33), 0);
    assert_contains(t->buf, "\tExit status: 3\n");
}

static void test_report_maps_counts_resident_dirty_and_swapped_pages(void **state)
{
    struct env *t = *state;
    FILE *f;
    uint8_t byte;

    assert_int_equal(
        mm_map(t->p->mm, HEAP_VA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_HEAP, NULL, 0, 0), 0);
    assert_int_equal(copy_from_user(t->p->mm, &byte, HEAP_VA, 1), 0); /* zero page */
    f = open_text(t);
    maps_print(f, t->p);
    fclose(f);
    /* The data area: 3 pages written (resident, dirty), 1 read (the zero page: not
     * resident). The heap page was only read. */
    assert_string_equal(t->buf,
                        "vmemu: address space of 'prog' (pid 1000)\n"
                        "start-end                 perm offset   kind  resident    dirty  "
                        "swapped name\n"
                        "000000010000-000000014000 rw-p 00000000 anon         3        3        "
                        "0\n"
                        "000000040000-000000041000 rw-p 00000000 heap         0        0        "
                        "0 [heap]\n"
                        "total: 2 areas, 5 pages mapped (peak 5 pages, 20 KiB), 3 resident, 3 "
                        "dirty, 0 swapped, 4 page-table pages\n");
}

static void test_report_maps_after_munmap_keeps_the_peak_and_names_shared_memory(void **state)
{
    struct env *t = *state;
    struct vfile *shm;
    FILE *f;

    assert_int_equal(vfile_shmem_create(&t->sys.pc, 2 * PAGE_SIZE, &shm), 0);
    assert_int_equal(mm_map(t->p->mm, UAF_VA, 2 * PAGE_SIZE, VM_READ | VM_WRITE, VM_SHARED,
                            VMA_ANON, shm, 0, UINT64_MAX),
                     0);
    vfile_put(shm); /* the area holds its own reference */
    assert_int_equal(mm_unmap(t->p->mm, DATA_VA, DATA_PAGES * PAGE_SIZE), 0);
    f = open_text(t);
    maps_print(f, t->p);
    fclose(f);
    assert_contains(t->buf, "\n000000070000-000000072000 rw-s 00000000 anon         0        0  "
                            "      0 /dev/zero (deleted)\n");
    /* 6 pages were mapped at once before the 4 data pages went. */
    assert_contains(t->buf, "\ntotal: 1 area, 2 pages mapped (peak 6 pages, 24 KiB), 0 "
                            "resident, 0 dirty, 0 swapped, ");
}

static void test_report_json_has_vma_table_and_peak_vsize(void **state)
{
    struct env *t = *state;

    proc_exit(t->p, 0);
    load_json(t);
    assert_contains(t->buf, "\"peak_vm_pages\": 4,");
    assert_contains(t->buf, "\"peak_vsize_bytes\": 16384,");
    assert_contains(t->buf, "\n      \"vmas\": [\n"
                            "        {\n"
                            "          \"start\": \"0x10000\",\n"
                            "          \"end\": \"0x14000\",\n"
                            "          \"perms\": \"rw-p\",\n"
                            "          \"kind\": \"anon\",\n"
                            "          \"file\": null,\n"
                            "          \"resident\": 3,\n"
                            "          \"dirty\": 3,\n"
                            "          \"swapped\": 0\n"
                            "        }\n"
                            "      ],\n");
}

static void test_report_json_vmas_without_address_space_is_empty_list(void **state)
{
    struct env *t = *state;

    proc_exit(t->p, 0);
    mm_destroy(t->p->mm);
    t->p->mm = NULL;
    t->sys.current = NULL;
    load_json(t);
    assert_contains(t->buf, "\"peak_vsize_bytes\": 0,");
    assert_contains(t->buf, "\"vmas\": [],");
}

static void test_report_crash_null_write_names_nearest_mapping_and_code(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    struct fault_stats before;
    uint64_t hits, misses;
    char line[160];
    FILE *f;

    kill_by_null_write(t);
    before = t->p->vmstat.faults;
    hits = t->sys.tlb.hits;
    misses = t->sys.tlb.misses;
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "vmemu: guest 'prog' (pid 1000) killed by SIGSEGV (SEGV_MAPERR)\n");
    snprintf(line, sizeof(line), "  fault:    write at 0x0000000000000008: %s (offset 0x8)\n",
             fault_cause_text(CAUSE_NULL));
    assert_contains(t->buf, line);
    assert_contains(t->buf, "  mapping:  no mapping contains it; nearest: 0x10000-0x14000 rw-p "
                            "anon (0xfff8 above)\n");
    assert_contains(t->buf, "  rip:      0x10000 in anonymous memory 0x10000-0x14000\n");
    assert_contains(t->buf,
                    "  code:     c7 00 2a 00 00 00                mov dword ptr [rax], 0x2a\n");
    assert_contains(t->buf, "  regs:     (no CPU)\n");
    assert_null(strstr(t->buf, "  cause:")); /* nothing was ever mapped at 8 */
    assert_contains(t->buf, "  maps:\n"
                            "    start-end                 perm offset   kind  resident    "
                            "dirty  swapped name\n"
                            "    000000010000-000000014000 rw-p 00000000 anon         3        "
                            "3        0\n"
                            "    total: 1 area, 4 pages mapped (peak 4 pages, 16 KiB), 3 "
                            "resident, 3 dirty, 0 swapped, 4 page-table pages\n");
    /* The report reads guest memory without faulting or translating anything. */
    assert_memory_equal(&t->p->vmstat.faults, &before, sizeof(before));
    assert_int_equal(t->sys.tlb.hits, hits);
    assert_int_equal(t->sys.tlb.misses, misses);
}

static void test_report_crash_write_to_read_only_area_names_the_area(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    char line[160];
    FILE *f;

    assert_int_equal(mm_map(t->p->mm, RO_VA, PAGE_SIZE, VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_fault(t->p->mm, RO_VA + 0x18, ACCESS_WRITE, 0), -EFAULT);
    proc_kill(t->p, GUEST_SIGSEGV);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "killed by SIGSEGV (SEGV_ACCERR)\n");
    snprintf(line, sizeof(line), "  fault:    write at 0x0000000000030018: %s\n",
             fault_cause_text(CAUSE_WRITE_RO));
    assert_contains(t->buf, line);
    assert_contains(t->buf, "  mapping:  0x30000-0x31000 r--p anon\n");
}

static void test_report_crash_illegal_instruction_says_sigill_and_ud2(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_ILLEGAL, .rip = UD2_VA};
    FILE *f = open_text(t);

    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "vmemu: guest 'prog' (pid 1000) killed by SIGILL (ILL_ILLOPN)\n");
    assert_contains(t->buf, "  fault:    illegal instruction\n");
    assert_contains(t->buf, "  rip:      0x10010 in anonymous memory 0x10000-0x14000\n");
    assert_contains(t->buf, "  code:     0f 0b                            ud2\n");
}

static void test_report_crash_rip_outside_mappings_says_code_not_readable(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_DIVIDE, .rip = 0x50000};
    FILE *f = open_text(t);

    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "killed by SIGFPE (FPE_INTDIV)\n");
    assert_contains(t->buf, "  rip:      0x50000 outside any mapping\n");
    assert_contains(t->buf, "  code:     (code not readable)\n");
}

/* The unmap hook as the scheduler sets it, for the fixture's one process. */
static void record_unmap(void *ctx, struct mm *mm, gva_t start, gva_t end)
{
    struct proc *p = ctx;
    if (p->mm == mm && p->trap.nr >= 0)
        proc_unmap_record(p, start, end);
}

/* Maps UAF_VA (2 pages, one written) and removes [start, start+len) as syscall nr would:
 * dispatch sets the syscall, its RIP and its sequence number around the handler. */
static void remove_by_syscall(struct env *t, int nr, gva_t rip, uint64_t seq, gva_t start,
                              uint64_t len)
{
    struct mm *mm = t->p->mm;
    uint8_t byte = 1;

    if (vma_lookup(&mm->vmas, UAF_VA) == NULL) {
        assert_int_equal(
            mm_map(mm, UAF_VA, 2 * PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0), 0);
        assert_int_equal(copy_to_user(mm, UAF_VA, &byte, 1), 0);
    }
    t->p->trap = (struct proc_trap){.nr = nr, .rip = rip, .seq = seq};
    t->sys.on_unmap = (struct mm_unmap_hook){record_unmap, t->p};
    assert_int_equal(mm_unmap(mm, start, len), 0);
    t->sys.on_unmap = (struct mm_unmap_hook){0};
    t->p->trap.nr = -1;
}

static void test_report_crash_use_after_munmap_names_the_munmap(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    FILE *f;

    /* munmap of 16 pages of which the 2 at UAF_VA were mapped: the record says those 2. */
    remove_by_syscall(t, LINUX_NR_MUNMAP, 0x401234, 3, UAF_VA, 16 * PAGE_SIZE);
    assert_int_equal(mm_fault(t->p->mm, UAF_VA + 0x1010, ACCESS_READ, 0), -EFAULT);
    assert_int_equal(t->p->mm->last_fault.cause, CAUSE_UNMAPPED);
    proc_kill(t->p, GUEST_SIGSEGV);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "\n  cause:    use after munmap: 0x71010 was in 0x70000-0x72000, "
                            "unmapped by munmap(0x70000, 8192) at rip 0x401234, syscall #3 of "
                            "the process\n  mapping:  no mapping contains it; nearest: ");
    free(t->buf);
    t->buf = NULL;
    load_json(t);
    assert_contains(t->buf, "\"cause\": \"address not mapped\"");
    assert_contains(t->buf, "\"vma\": null");
    assert_contains(t->buf, "\"unmapped_by\": {\n"
                            "          \"syscall\": \"munmap\",\n"
                            "          \"sysno\": 11,\n"
                            "          \"rip\": \"0x401234\",\n"
                            "          \"symbol\": null,\n"
                            "          \"seq\": 3,\n"
                            "          \"start\": \"0x70000\",\n"
                            "          \"end\": \"0x72000\",\n"
                            "          \"text\": \"use after munmap: 0x71010 was in "
                            "0x70000-0x72000, unmapped by munmap(0x70000, 8192) at rip "
                            "0x401234, syscall #3 of the process\"\n"
                            "        }\n");
}

static void test_report_crash_most_recent_removal_of_the_page_wins(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    FILE *f;

    /* Both pages go by munmap (syscall 3); the first is mapped again and released by brk
     * (syscall 9): each page names its own last removal. */
    remove_by_syscall(t, LINUX_NR_MUNMAP, 0x401234, 3, UAF_VA, 2 * PAGE_SIZE);
    assert_int_equal(
        mm_map(t->p->mm, UAF_VA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_HEAP, NULL, 0, 0), 0);
    remove_by_syscall(t, LINUX_NR_BRK, 0x402000, 9, UAF_VA, PAGE_SIZE);
    /* A removal outside any syscall (the loader, exit) is not recorded. */
    assert_int_equal(
        mm_map(t->p->mm, UAF_VA + 4 * PAGE_SIZE, PAGE_SIZE, VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(mm_unmap(t->p->mm, UAF_VA + 4 * PAGE_SIZE, PAGE_SIZE), 0);
    proc_kill(t->p, GUEST_SIGSEGV);

    assert_int_equal(mm_fault(t->p->mm, UAF_VA + 8, ACCESS_WRITE, 0), -EFAULT);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "  cause:    use after brk: 0x70008 was in 0x70000-0x71000, released "
                            "by brk (the heap shrank) at rip 0x402000, syscall #9 of the "
                            "process\n");
    free(t->buf);
    t->buf = NULL;

    assert_int_equal(mm_fault(t->p->mm, UAF_VA + PAGE_SIZE, ACCESS_READ, 0), -EFAULT);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "  cause:    use after munmap: 0x71000 was in 0x70000-0x72000, "
                            "unmapped by munmap(0x70000, 8192) at rip 0x401234, syscall #3 of "
                            "the process\n");
    free(t->buf);
    t->buf = NULL;

    assert_int_equal(mm_fault(t->p->mm, UAF_VA + 4 * PAGE_SIZE, ACCESS_READ, 0), -EFAULT);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_null(strstr(t->buf, "  cause:"));
}

/* dl_iterate_phdr visits the main program first: its dlpi_addr is the runtime load bias. */
static int first_object_bias(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(gva_t *)data = (gva_t)info->dlpi_addr;
    return 1;
}

/* Maps this test executable the way the loader maps a program image: its first pages, up
 * to the page holding image_literal, as a read-only VMA_IMAGE area at IMAGE_VA (so the
 * bias is IMAGE_VA), and the page of image_bss_word as a read-only VMA_BSS area. Returns
 * the link-time addresses of the literal and the word through lit and bss. */
static void map_self_image(struct env *t, gva_t *lit, gva_t *bss)
{
    char exe[PATH_MAX];
    struct vfile *f;
    gva_t bias = 0;

    assert_non_null(realpath("/proc/self/exe", exe));
    free(t->p->exe);
    t->p->exe = strdup(exe);
    dl_iterate_phdr(first_object_bias, &bias);
    *lit = (gva_t)(uintptr_t)image_literal - bias;
    *bss = (gva_t)(uintptr_t)&image_bss_word - bias;
    /* The layout of every linker: .rodata below the writable data and .bss. */
    assert_true(PAGE_DOWN(*bss) >= PAGE_UP(*lit + 1));
    assert_int_equal(vfile_open(&t->sys.pc, exe, &f), 0);
    assert_int_equal(
        mm_map(t->p->mm, IMAGE_VA, PAGE_UP(*lit + 1), VM_READ, 0, VMA_IMAGE, f, 0, UINT64_MAX), 0);
    vfile_put(f);
    assert_int_equal(
        mm_map(t->p->mm, IMAGE_VA + PAGE_DOWN(*bss), PAGE_SIZE, VM_READ, 0, VMA_BSS, NULL, 0, 0),
        0);
}

static void test_report_crash_write_to_image_names_file_and_rodata(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    gva_t lit, bss;
    char line[PATH_MAX + 128];
    FILE *f;

    map_self_image(t, &lit, &bss);
    assert_int_equal(mm_fault(t->p->mm, IMAGE_VA + lit + 2, ACCESS_WRITE, 0), -EFAULT);
    proc_kill(t->p, GUEST_SIGSEGV);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    snprintf(line, sizeof(line), "  mapping:  0x%llx-0x%llx r--p image %s, in .rodata of %s\n",
             (unsigned long long)IMAGE_VA, (unsigned long long)(IMAGE_VA + PAGE_UP(lit + 1)),
             t->p->exe, t->p->exe);
    assert_contains(t->buf, line);
    free(t->buf);
    t->buf = NULL;
    load_json(t);
    assert_contains(t->buf, "\"section\": \".rodata\",");
    snprintf(line, sizeof(line), "\"file\": \"%s\",", t->p->exe);
    assert_contains(t->buf, line);
    assert_contains(t->buf, "\"unmapped_by\": null");
}

static void test_report_crash_write_to_image_bss_names_file_and_bss(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    gva_t lit, bss;
    char line[PATH_MAX + 128];
    FILE *f;

    map_self_image(t, &lit, &bss);
    assert_int_equal(mm_fault(t->p->mm, IMAGE_VA + bss, ACCESS_WRITE, 0), -EFAULT);
    proc_kill(t->p, GUEST_SIGSEGV);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    snprintf(line, sizeof(line), "  mapping:  0x%llx-0x%llx r--p bss [bss], in .bss of %s\n",
             (unsigned long long)(IMAGE_VA + PAGE_DOWN(bss)),
             (unsigned long long)(IMAGE_VA + PAGE_DOWN(bss) + PAGE_SIZE), t->p->exe);
    assert_contains(t->buf, line);
}

/* Registers for the decoder tests: all zero but RIP. */
static void regs_at(uint64_t regs[CPU_NREGS], gva_t rip)
{
    memset(regs, 0, sizeof(uint64_t) * CPU_NREGS);
    regs[CPU_RIP] = rip;
}

static void test_insn_byte_store_gives_register_address_and_size_1(void **state)
{
    static const uint8_t insn[] = {0xc6, 0x00, 0x43}; /* mov byte ptr [rax], 0x43 */
    uint64_t regs[CPU_NREGS];
    unsigned size = 99;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RAX] = 0x479004;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x479000, ACCESS_WRITE, &ea, &size),
                     0);
    assert_int_equal(ea, 0x479004);
    assert_int_equal(size, 1);
}

static void test_insn_base_plus_disp_store_gives_sum_and_size_4(void **state)
{
    /* mov dword ptr [rax+0x10], 1 */
    static const uint8_t insn[] = {0xc7, 0x40, 0x10, 0x01, 0x00, 0x00, 0x00};
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RAX] = 0x7ff0;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x8000, ACCESS_WRITE, &ea, &size),
                     0);
    assert_int_equal(ea, 0x8000);
    assert_int_equal(size, 4);
}

static void test_insn_rip_relative_load_counts_from_next_instruction(void **state)
{
    /* mov rax, qword ptr [rip+0x100]: 7 bytes, so 0x401007 + 0x100 */
    static const uint8_t insn[] = {0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00};
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x401000, ACCESS_READ, &ea, &size),
                     0);
    assert_int_equal(ea, 0x401107);
    assert_int_equal(size, 8);
}

static void test_insn_scaled_index_load_gives_base_index_scale_disp(void **state)
{
    static const uint8_t insn[] = {0x8b, 0x44, 0x8b, 0x08}; /* mov eax, [rbx+rcx*4+8] */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RBX] = 0x602000;
    regs[CPU_RCX] = 0x100;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x602000, ACCESS_READ, &ea, &size),
                     0);
    assert_int_equal(ea, 0x602000 + 0x100 * 4 + 8);
    assert_int_equal(size, 4);
}

static void test_insn_push_writes_8_bytes_below_rsp(void **state)
{
    static const uint8_t insn[] = {0x50}; /* push rax */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RSP] = 0x7fff0000;
    assert_int_equal(
        insn_mem_access(insn, sizeof(insn), regs, 0x7ffef000, ACCESS_WRITE, &ea, &size), 0);
    assert_int_equal(ea, 0x7ffefff8);
    assert_int_equal(size, 8);
}

static void test_insn_call_and_ret_use_the_stack_slot(void **state)
{
    static const uint8_t call[] = {0xe8, 0x00, 0x00, 0x00, 0x00}; /* call next */
    static const uint8_t ret[] = {0xc3};                          /* ret */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RSP] = 0x7fff0010;
    assert_int_equal(
        insn_mem_access(call, sizeof(call), regs, 0x7fff0000, ACCESS_WRITE, &ea, &size), 0);
    assert_int_equal(ea, 0x7fff0008);
    assert_int_equal(size, 8);
    assert_int_equal(insn_mem_access(ret, sizeof(ret), regs, 0x7fff0000, ACCESS_READ, &ea, &size),
                     0);
    assert_int_equal(ea, 0x7fff0010);
    assert_int_equal(size, 8);
}

static void test_insn_rep_stosb_writes_at_current_rdi(void **state)
{
    static const uint8_t insn[] = {0xf3, 0xaa}; /* rep stosb */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RDI] = 0x5123;
    regs[CPU_RCX] = 0x40;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x5000, ACCESS_WRITE, &ea, &size),
                     0);
    assert_int_equal(ea, 0x5123);
    assert_int_equal(size, 1);
}

static void test_insn_fs_override_adds_fs_base(void **state)
{
    /* mov rax, qword ptr fs:[0x28] */
    static const uint8_t insn[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00};
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_FS_BASE] = 0x4c7ff0;
    regs[CPU_GS_BASE] = 0x1000000;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x4c8000, ACCESS_READ, &ea, &size),
                     0);
    assert_int_equal(ea, 0x4c8018);
    assert_int_equal(size, 8);
}

static void test_insn_movsb_takes_destination_on_write_and_source_on_read(void **state)
{
    static const uint8_t insn[] = {0xa4}; /* movsb [rdi], [rsi] */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RSI] = 0x3010;
    regs[CPU_RDI] = 0x3020; /* both in the faulting page: the access decides */
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x3000, ACCESS_WRITE, &ea, &size),
                     0);
    assert_int_equal(ea, 0x3020);
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x3000, ACCESS_READ, &ea, &size), 0);
    assert_int_equal(ea, 0x3010);
    assert_int_equal(size, 1);
}

static void test_insn_two_reads_in_the_faulting_page_return_enoent(void **state)
{
    static const uint8_t insn[] = {0xa6}; /* cmpsb [rsi], [rdi] */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RSI] = 0x3010;
    regs[CPU_RDI] = 0x3020;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x3000, ACCESS_READ, &ea, &size),
                     -ENOENT);
    regs[CPU_RDI] = 0x9020; /* now only rsi's operand lies in the page */
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x3000, ACCESS_READ, &ea, &size), 0);
    assert_int_equal(ea, 0x3010);
}

static void test_insn_access_crossing_into_the_page_reports_page_start(void **state)
{
    static const uint8_t insn[] = {0x48, 0x89, 0x18}; /* mov qword ptr [rax], rbx */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RAX] = 0x3ffc;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x4000, ACCESS_WRITE, &ea, &size),
                     0);
    assert_int_equal(ea, 0x3ffc);
    assert_int_equal(size, 8);
    assert_int_equal(insn_first_fault_byte(ea, 0x4000), 0x4000);
    assert_int_equal(insn_first_fault_byte(ea, 0x3000), 0x3ffc);
}

static void test_insn_address_size_prefix_zero_extends_32_bit_base(void **state)
{
    static const uint8_t insn[] = {0x67, 0x8b, 0x00}; /* mov eax, dword ptr [eax] */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RAX] = 0xffffffff00001234ULL;
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0x1000, ACCESS_READ, &ea, &size), 0);
    assert_int_equal(ea, 0x1234);
    assert_int_equal(size, 4);
}

static void test_insn_without_memory_access_returns_enoent(void **state)
{
    static const uint8_t mov[] = {0x48, 0x89, 0xc3};   /* mov rbx, rax */
    static const uint8_t lea[] = {0x8d, 0x04, 0x08};   /* lea eax, [rax+rcx]: no access */
    static const uint8_t store[] = {0xc6, 0x00, 0x43}; /* mov byte ptr [rax], 0x43 */
    uint64_t regs[CPU_NREGS];
    unsigned size = 7;
    gva_t ea = 0x77;

    (void)state;
    regs_at(regs, 0x401000);
    regs[CPU_RAX] = 0x2000;
    assert_int_equal(insn_mem_access(mov, sizeof(mov), regs, 0x2000, ACCESS_READ, &ea, &size),
                     -ENOENT);
    assert_int_equal(insn_mem_access(lea, sizeof(lea), regs, 0x2000, ACCESS_READ, &ea, &size),
                     -ENOENT);
    /* A store to another page, and an instruction fetch, say nothing either. */
    assert_int_equal(insn_mem_access(store, sizeof(store), regs, 0x5000, ACCESS_WRITE, &ea, &size),
                     -ENOENT);
    assert_int_equal(insn_mem_access(store, sizeof(store), regs, 0x2000, ACCESS_EXEC, &ea, &size),
                     -ENOENT);
    assert_int_equal(ea, 0x77);
    assert_int_equal(size, 7);
}

static void test_insn_truncated_bytes_return_einval(void **state)
{
    static const uint8_t insn[] = {0xc7, 0x40}; /* mov dword ptr [rax+d8], imm32, cut */
    uint64_t regs[CPU_NREGS];
    unsigned size = 0;
    gva_t ea = 0;

    (void)state;
    regs_at(regs, 0x401000);
    assert_int_equal(insn_mem_access(insn, sizeof(insn), regs, 0, ACCESS_WRITE, &ea, &size),
                     -EINVAL);
}

/* Runs insn at CODE_VA on a real CPU with RAX = rax and RBX = rbx until it faults, then
 * kills the guest with the fault's signal, as proc_run() does. The CPU only tells the
 * fill callback the faulting page: asserted here, so the tests below show the decoder at
 * work. */
static struct cpu_exit run_until_fault(struct env *t, const uint8_t *insn, size_t len, uint64_t rax,
                                       uint64_t rbx)
{
    struct cpu_exit ex;

    assert_int_equal(cpu_create(&t->sys, &t->cpu), 0);
    t->p->cpu = t->cpu;
    assert_int_equal(
        mm_map(t->p->mm, CODE_VA, PAGE_SIZE, VM_READ | VM_WRITE | VM_EXEC, 0, VMA_ANON, NULL, 0, 0),
        0);
    assert_int_equal(copy_to_user(t->p->mm, CODE_VA, insn, len), 0);
    cpu_reset_regs(t->cpu, CODE_VA, DATA_VA + PAGE_SIZE);
    cpu_set(t->cpu, CPU_RAX, rax);
    cpu_set(t->cpu, CPU_RBX, rbx);
    assert_int_equal(cpu_run(t->cpu, &ex), 0);
    assert_int_equal(ex.kind, CPU_EXIT_FAULT);
    assert_int_equal(ex.rip, CODE_VA);
    assert_int_equal(t->p->mm->last_fault.va, PAGE_DOWN(t->p->mm->last_fault.va));
    proc_kill(t->p, t->p->mm->last_fault.signo);
    return ex;
}

static void test_report_crash_cpu_store_to_read_only_names_byte_and_size(void **state)
{
    /* mov dword ptr [rax+0x14], 0x2a */
    static const uint8_t insn[] = {0xc7, 0x40, 0x14, 0x2a, 0x00, 0x00, 0x00};
    struct env *t = *state;
    struct cpu_exit ex;
    char line[160];
    FILE *f;

    assert_int_equal(mm_map(t->p->mm, RO_VA, PAGE_SIZE, VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    ex = run_until_fault(t, insn, sizeof(insn), RO_VA, 0);
    assert_int_equal(t->p->mm->last_fault.va, RO_VA);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    snprintf(line, sizeof(line), "  fault:    write of 4 bytes at 0x0000000000030014: %s\n",
             fault_cause_text(CAUSE_WRITE_RO));
    assert_contains(t->buf, line);
    assert_contains(t->buf, "  mapping:  0x30000-0x31000 r--p anon\n");
    assert_contains(t->buf, "rax=0x0000000000030000");
    free(t->buf);
    t->buf = NULL;
    load_json(t); /* after the fact: from the CPU's registers */
    assert_contains(t->buf, "\"address\": \"0x30014\"");
}

static void test_report_crash_cpu_null_load_says_offset(void **state)
{
    static const uint8_t insn[] = {0x48, 0x8b, 0x40, 0x10}; /* mov rax, [rax+0x10] */
    struct env *t = *state;
    struct cpu_exit ex = run_until_fault(t, insn, sizeof(insn), 0, 0);
    char line[160];
    FILE *f;

    assert_int_equal(t->p->mm->last_fault.cause, CAUSE_NULL);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    snprintf(line, sizeof(line),
             "  fault:    read of 8 bytes at 0x0000000000000010: %s (offset 0x10)\n",
             fault_cause_text(CAUSE_NULL));
    assert_contains(t->buf, line);
    assert_contains(t->buf, "nearest: 0x10000-0x14000 rw-p anon (0xfff0 above)\n");
}

static void test_report_crash_cpu_store_across_pages_names_second_page(void **state)
{
    static const uint8_t insn[] = {0x48, 0x89, 0x18}; /* mov qword ptr [rax], rbx */
    struct env *t = *state;
    gva_t end = DATA_VA + DATA_PAGES * PAGE_SIZE; /* nothing is mapped above */
    struct cpu_exit ex = run_until_fault(t, insn, sizeof(insn), end - 4, 0x1122334455667788);
    char line[200];
    FILE *f;

    assert_int_equal(t->p->mm->last_fault.va, end);
    assert_int_equal(t->p->mm->last_fault.cause, CAUSE_UNMAPPED);
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    snprintf(line, sizeof(line),
             "  fault:    write at 0x0000000000014000 (8-byte access at 0x0000000000013ffc "
             "crossing into this page): %s\n",
             fault_cause_text(CAUSE_UNMAPPED));
    assert_contains(t->buf, line);
}

/* Ends the fixture's run as the scheduler leaves it, three processes in pid order. The
 * first (t->p, already ended by the caller) keeps its address space and has the
 * fixture's counts (see the file comment) plus 21 syscalls and 500 ns of run time; its
 * counters are frozen as at exit, with 2 pages still shared with a child then (set by
 * hand: the fixture has no second address space to share with). Its child 1001
 * ("prog child", exit status 3) made 5 COW copies and 2 COW reuses; 1001's child 1002
 * ("sh -c x") was killed by SIGSEGV. Both children are reaped and their address spaces
 * are gone: only their frozen counters (struct proc_usage) remain. */
static void make_family(struct env *t)
{
    static const struct proc_usage kid_usage[2] = {
        {.task = {.faults = {.minor = 7,
                             .major = 1,
                             .file_major = 1,
                             .cow = 5,
                             .cow_reuse = 2,
                             .exec = 3,
                             .exec_args = 1},
                  .fills = 11},
         .mm = {.rss = 6, .peak_rss = 9, .peak_vm = 12, .peak_pt_pages = 5},
         .syscalls = 13,
         .cpu_ns = 1000,
         .shared_at_exit = 4,
         .pt_pages_at_exit = 5},
        {.task = {.faults = {.minor = 2, .anon = 1, .cow = 1, .segv = 1}, .fills = 3},
         .mm = {.rss = 2, .peak_rss = 2, .peak_vm = 20, .peak_pt_pages = 6},
         .syscalls = 5,
         .cpu_ns = 2000,
         .shared_at_exit = 1,
         .pt_pages_at_exit = 6},
    };
    static const char *const kid_cmd[2] = {"prog child", "sh -c x"};

    t->p->syscalls = 21;
    t->p->cpu_ns = 500;
    proc_freeze_usage(t->p);
    t->p->usage.shared_at_exit = 2;
    t->p->state = PROC_ZOMBIE;
    t->procs[0] = t->p;
    for (int i = 0; i < 2; i++) {
        struct proc *k = calloc(1, sizeof(*k));

        assert_non_null(k);
        k->pid = 1001 + i;
        k->leader = k;
        k->ppid = 1000 + i;
        k->state = PROC_DEAD;
        k->sys = &t->sys;
        k->cmdline = strdup(kid_cmd[i]);
        snprintf(k->comm, sizeof(k->comm), "%s", i == 0 ? "prog" : "sh");
        k->exited = true;
        k->usage = kid_usage[i];
        t->kids[i] = k;
        t->procs[1 + i] = k;
    }
    t->kids[0]->exit_code = 3;
    t->kids[1]->term_signal = GUEST_SIGSEGV;
    memset(&t->sched, 0, sizeof(t->sched));
    t->sched.sys = &t->sys;
    t->sched.procs = t->procs;
    t->sched.nprocs = 3;
    t->sched.cap = 3;
    t->sched.init = t->p;
    t->sched.switches = 7;
    t->sched.watchdog_stops = 1;
    t->sched.deadlocks = 2;
}

/* Copies the part of t->buf from the first `open` at or after from to the end of the
 * `close` that follows it into out; returns where that part ends in t->buf. */
static const char *json_part(const struct env *t, const char *from, const char *open,
                             const char *close, char *out, size_t len)
{
    const char *start = strstr(from, open);
    const char *end;

    if (start == NULL) {
        fail_msg("missing [%s] in:\n%s", open, t->buf);
        return from; /* not reached: fail_msg() ends the test */
    }
    end = strstr(start + 1, close);
    assert_non_null(end);
    end += strlen(close);
    assert_true((size_t)(end - start) < len);
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return end;
}

/* The i-th entry of "processes" (from its "{" to its "}") into out. */
static void json_process_part(const struct env *t, int i, char *out, size_t len)
{
    const char *at = strstr(t->buf, "\n  \"processes\": [");

    assert_non_null(at);
    for (int n = 0; n <= i; n++)
        at = json_part(t, at, "\n    {", "\n    }", out, len);
}

static void test_report_stats_all_one_process_prints_no_table(void **state)
{
    struct env *t = *state;
    FILE *f;

    proc_exit(t->p, 0);
    make_family(t);
    t->sched.nprocs = 1;
    t->sched.switches = 0;
    t->sched.watchdog_stops = 0;
    t->sched.deadlocks = 0;
    f = open_text(t);
    report_stats_all(f, &t->sched);
    fclose(f);
    assert_int_equal(strncmp(t->buf, "vmemu: prog exited with status 0\n", 33), 0);
    assert_contains(t->buf, "\tMinor page faults: 4\n");
    assert_contains(t->buf, "\tSyscalls: 21\n"); /* the frozen count */
    assert_null(strstr(t->buf, "Processes"));
    assert_null(strstr(t->buf, "Context switches"));
}

static void test_report_stats_all_lone_deadlocked_process_prints_scheduler_counters(void **state)
{
    struct env *t = *state;
    FILE *f;

    proc_kill(t->p, GUEST_SIGKILL);
    make_family(t);
    t->sched.nprocs = 1;
    t->sched.switches = 0;
    t->sched.watchdog_stops = 0;
    t->sched.deadlocks = 1;
    f = open_text(t);
    report_stats_all(f, &t->sched);
    fclose(f);
    assert_null(strstr(t->buf, "Processes"));
    assert_non_null(strstr(t->buf, "\tWall time (s): "));
    assert_string_equal(strstr(t->buf, "\tContext switches: "),
                        "\tContext switches: 0\n"
                        "\tWatchdog stops (nondeterministic): 0\n"
                        "\tDeadlocks (every process asleep, nothing to wake one; killed): 1\n");
}

static void test_report_stats_all_prints_first_summary_processes_totals_and_scheduler(void **state)
{
    struct env *t = *state;
    const char *table;
    FILE *f;

    proc_exit(t->p, 0);
    make_family(t);
    f = open_text(t);
    report_stats_all(f, &t->sched);
    fclose(f);
    /* The first process's summary comes first, unchanged. */
    assert_int_equal(strncmp(t->buf, "vmemu: prog exited with status 0\n", 33), 0);
    assert_contains(t->buf, "\tMinor page faults: 4\n\t  zero page: 1\n");
    assert_contains(t->buf, "\tPage-table pages (now / peak): 4 / 4\n");
    table = strstr(t->buf, "\tProcesses: 3\n");
    assert_non_null(table);
    assert_non_null(strstr(t->buf, "\tWall time (s): "));
    assert_true(strstr(t->buf, "\tWall time (s): ") < table);
    /* Totals: counts summed (minor 4+7+2, exec 0+3+0, cow 0+5+1, shared 2+4+1, syscalls
     * 21+13+5),
     * peaks the highest of the three (peak-rss max(3,9,2), pt-peak max(4,5,6)). */
    assert_string_equal(
        table,
        "\tProcesses: 3\n"
        "\t    pid    ppid status sig   minor   major  exec    zero    anon file-hit file-read     "
        "cow cow-reuse  shared peak-rss pt-peak syscalls command\n"
        "\t   1000       1      0   -       4       0     0       1       3        0         0     "
        "  0         0       2        3       4       21 prog a b\n"
        "\t   1001    1000      3   -       7       1     3       0       0        0         1     "
        "  5         2       4        9       5       13 prog child\n"
        "\t   1002    1001    139  11       2       0     0       0       1        0         0     "
        "  1         0       1        2       6        5 sh -c x\n"
        "\t  total       -      -   -      13       1     3       1       4        0         1     "
        "  6         2       7        9       6       39 (3 processes)\n"
        "\t  total: faults, shared and syscalls summed; peak-rss and pt-peak (peak page-table "
        "pages) are the highest of any one process\n"
        "\t  shared: pages still shared with parent or children at exit\n"
        "\tContext switches: 7\n"
        "\tWatchdog stops (nondeterministic): 1\n"
        "\tDeadlocks (every process asleep, nothing to wake one; killed): 2\n");
}

static void test_report_json_all_lists_every_process_with_frozen_counters(void **state)
{
    struct env *t = *state;
    char part[16384];

    proc_exit(t->p, 0);
    make_family(t);
    load_json_of(t, true);
    json_process_part(t, 0, part, sizeof(part));
    assert_contains(part, "\n      \"pid\": 1000,\n      \"ppid\": 1,\n");
    assert_contains(part, "\n        \"hits\": 1,\n        \"misses\": 4,\n"
                          "        \"fills\": 0,\n");
    assert_contains(part, "\n      \"syscalls\": 21,\n      \"shared_at_exit\": 2,\n");
    assert_contains(part, "\n      \"run_ns\": 500,\n      \"vmas\": [\n");
    json_process_part(t, 1, part, sizeof(part));
    assert_contains(part, "\n      \"pid\": 1001,\n      \"ppid\": 1000,\n"
                          "      \"command\": \"prog child\",\n      \"exit_status\": 3,\n"
                          "      \"signal\": null,\n");
    assert_contains(part, "\n        \"minor\": 7,\n        \"major\": 1,\n");
    assert_contains(part, "\n        \"file_major\": 1,\n        \"cow\": 5,\n"
                          "        \"cow_reuse\": 2,\n");
    /* The machine-wide TLB counters are not repeated per process. */
    assert_contains(part, "\n      \"tlb\": {\n        \"fills\": 11\n      },\n");
    assert_null(strstr(part, "\"hits\""));
    assert_contains(part, "\n      \"peak_rss_pages\": 9,\n      \"rss_pages\": 6,\n"
                          "      \"page_table_pages\": 5,\n"
                          "      \"peak_page_table_pages\": 5,\n"
                          "      \"peak_vm_pages\": 12,\n      \"syscalls\": 13,\n"
                          "      \"shared_at_exit\": 4,\n");
    assert_contains(part, "\n      \"wall_ns\": null,\n      \"run_ns\": 1000,\n"
                          "      \"vmas\": [],\n      \"crash\": null\n    }");
    json_process_part(t, 2, part, sizeof(part));
    assert_contains(part, "\n      \"pid\": 1002,\n      \"ppid\": 1001,\n"
                          "      \"command\": \"sh -c x\",\n      \"exit_status\": 139,\n"
                          "      \"signal\": 11,\n");
    assert_contains(part, "\n        \"segv\": 1,\n");
    /* Killed by SIGSEGV, but its address space (the crash's facts) is gone. */
    assert_contains(part, "\n      \"crash\": null\n    }");
    assert_contains(t->buf, "\n    }\n  ],\n  \"totals\": {\n");
}

static void test_report_json_all_totals_sum_counts_and_take_highest_peaks(void **state)
{
    struct env *t = *state;
    char part[4096];

    proc_exit(t->p, 0);
    make_family(t);
    load_json_of(t, true);
    json_part(t, t->buf, "\n  \"totals\": {", "\n  }", part, sizeof(part));
    assert_contains(part, "\n    \"processes\": 3,\n");
    /* minor 4+7+2, major 0+1+0, zero 1, anon 3+0+1, file_major 0+1+0, cow 0+5+1,
     * cow_reuse 0+2+0, segv 0+0+1 */
    assert_contains(part, "\n      \"minor\": 13,\n      \"major\": 1,\n"
                          "      \"zero_page\": 1,\n      \"anon\": 4,\n"
                          "      \"file_minor\": 0,\n      \"file_major\": 1,\n"
                          "      \"cow\": 6,\n      \"cow_reuse\": 2,\n");
    assert_contains(part, "\n      \"segv\": 1,\n");
    /* vmemu's TLB once (the fixture's 1 hit, 4 misses), Unicorn fills 0+11+3 */
    assert_contains(part, "\n      \"hits\": 1,\n      \"misses\": 4,\n      \"fills\": 14,\n");
    /* peaks: max(3,9,2), max(4,5,6), max(4,12,20); counts: rss 3+6+2, page tables at
     * exit 4+5+6, syscalls 21+13+5, shared 2+4+1, run time 500+1000+2000 */
    assert_contains(part, "\n    \"peak_rss_pages\": 9,\n    \"rss_pages\": 11,\n"
                          "    \"page_table_pages\": 15,\n"
                          "    \"peak_page_table_pages\": 6,\n"
                          "    \"peak_vm_pages\": 20,\n    \"syscalls\": 39,\n"
                          "    \"shared_at_exit\": 7,\n    \"run_ns\": 3500\n  }");
}

static void test_report_json_all_has_scheduler_counters_and_first_status(void **state)
{
    struct env *t = *state;

    proc_exit(t->p, 0);
    make_family(t);
    load_json_of(t, true);
    assert_contains(t->buf, "\n  \"program\": \"/nonexistent/prog\",\n");
    assert_contains(t->buf, "\n  \"exit_status\": 0,\n  \"signal\": null,\n");
    assert_contains(t->buf, "\n  \"tlb\": {\n    \"entries\": 16,\n    \"ways\": 4,\n    "
                            "\"huge_entries\": 32,\n    \"huge_ways\": 4\n  },\n");
    assert_string_equal(strstr(t->buf, "\n  \"scheduler\": {"),
                        "\n  \"scheduler\": {\n    \"switches\": 7,\n"
                        "    \"watchdog_stops\": 1,\n    \"deadlocks\": 2,\n"
                        "    \"clock\": \"host\"\n  }\n}\n");
}

static void test_report_json_all_first_process_keeps_its_crash(void **state)
{
    struct env *t = *state;
    char part[16384];

    kill_by_null_write(t);
    make_family(t);
    load_json_of(t, true);
    assert_contains(t->buf, "\n  \"exit_status\": 139,\n  \"signal\": 11,\n");
    json_process_part(t, 0, part, sizeof(part));
    assert_contains(part, "\"crash\": {\n        \"signal\": 11,");
    assert_contains(part, "\"address\": \"0x8\"");
    assert_contains(part, "\n          \"start\": \"0x10000\",\n");
}

static void test_report_json_all_without_process_returns_einval(void **state)
{
    struct env *t = *state;

    memset(&t->sched, 0, sizeof(t->sched));
    assert_int_equal(report_json_all("/nonexistent/dir/report.json", &t->sched), -EINVAL);
    t->sched.procs = t->procs;
    t->procs[0] = t->p;
    t->sched.nprocs = 1;
    assert_int_equal(report_json_all("/nonexistent/dir/report.json", &t->sched), -ENOENT);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_report_json_after_null_write_has_counts_and_crash),
        T(test_report_json_after_exit_has_null_signal_and_crash),
        T(test_report_json_escapes_quotes_controls_and_bad_utf8),
        T(test_report_json_unwritable_path_returns_enoent),
        T(test_report_stats_killed_process_prints_counts),
        T(test_report_stats_exited_process_says_status),
        T(test_report_maps_counts_resident_dirty_and_swapped_pages),
        T(test_report_maps_after_munmap_keeps_the_peak_and_names_shared_memory),
        T(test_report_json_has_vma_table_and_peak_vsize),
        T(test_report_json_vmas_without_address_space_is_empty_list),
        T(test_report_crash_null_write_names_nearest_mapping_and_code),
        T(test_report_crash_write_to_read_only_area_names_the_area),
        T(test_report_crash_illegal_instruction_says_sigill_and_ud2),
        T(test_report_crash_rip_outside_mappings_says_code_not_readable),
        T(test_report_crash_use_after_munmap_names_the_munmap),
        T(test_report_crash_most_recent_removal_of_the_page_wins),
        T(test_report_crash_write_to_image_names_file_and_rodata),
        T(test_report_crash_write_to_image_bss_names_file_and_bss),
        cmocka_unit_test(test_insn_byte_store_gives_register_address_and_size_1),
        cmocka_unit_test(test_insn_base_plus_disp_store_gives_sum_and_size_4),
        cmocka_unit_test(test_insn_rip_relative_load_counts_from_next_instruction),
        cmocka_unit_test(test_insn_scaled_index_load_gives_base_index_scale_disp),
        cmocka_unit_test(test_insn_push_writes_8_bytes_below_rsp),
        cmocka_unit_test(test_insn_call_and_ret_use_the_stack_slot),
        cmocka_unit_test(test_insn_rep_stosb_writes_at_current_rdi),
        cmocka_unit_test(test_insn_fs_override_adds_fs_base),
        cmocka_unit_test(test_insn_movsb_takes_destination_on_write_and_source_on_read),
        cmocka_unit_test(test_insn_two_reads_in_the_faulting_page_return_enoent),
        cmocka_unit_test(test_insn_access_crossing_into_the_page_reports_page_start),
        cmocka_unit_test(test_insn_address_size_prefix_zero_extends_32_bit_base),
        cmocka_unit_test(test_insn_without_memory_access_returns_enoent),
        cmocka_unit_test(test_insn_truncated_bytes_return_einval),
        T(test_report_crash_cpu_store_to_read_only_names_byte_and_size),
        T(test_report_crash_cpu_null_load_says_offset),
        T(test_report_crash_cpu_store_across_pages_names_second_page),
        T(test_report_stats_all_one_process_prints_no_table),
        T(test_report_stats_all_lone_deadlocked_process_prints_scheduler_counters),
        T(test_report_stats_all_prints_first_summary_processes_totals_and_scheduler),
        T(test_report_json_all_lists_every_process_with_frozen_counters),
        T(test_report_json_all_totals_sum_counts_and_take_highest_peaks),
        T(test_report_json_all_has_scheduler_counters_and_first_status),
        T(test_report_json_all_first_process_keeps_its_crash),
        T(test_report_json_all_without_process_returns_einval),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
