/* Tests of the reports (src/report.c, src/crash.c) without a CPU: a process whose address
 * space is touched through the copy helpers (which count faults as the CPU would), then the
 * --stats text, the JSON file, the --maps table and the crash report are checked line by
 * line. The fixture's counts follow from its accesses: three pages written (3 new anonymous
 * frames), one page read (the zero page), each page translated once through vmemu's TLB
 * (4 misses) and then the first page read again (1 hit). */
#include <errno.h>
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
#include "vmemu/report.h"
#include "vmemu/uaccess.h"

#define GUEST_SIGSEGV 11         /* Linux x86-64 signal numbers */
#define DATA_VA       0x10000ULL /* 4 anonymous rw pages */
#define DATA_PAGES    4
#define RO_VA         0x30000ULL /* 1 anonymous read-only page */
#define HEAP_VA       0x40000ULL /* 1 heap page */
#define UD2_VA        (DATA_VA + 0x10)

/* mov dword ptr [rax], 0x2a */
static const uint8_t mov_insn[] = {0xc7, 0x00, 0x2a, 0x00, 0x00, 0x00};
static const uint8_t ud2_insn[] = {0x0f, 0x0b};

struct env {
    struct vmsys sys;       /* 64-frame machine */
    struct run_options opt; /* no trace, no maps */
    struct proc *p;         /* the process under test */
    char *buf;              /* memstream / file contents */
    size_t len;             /* bytes in buf */
};

static int setup(void **state)
{
    struct env *t = calloc(1, sizeof(*t));
    uint8_t page[PAGE_SIZE * 3];
    uint8_t byte;

    assert_non_null(t);
    assert_int_equal(vmsys_init(&t->sys, 64 * PAGE_SIZE, 16, 4), 0);
    assert_int_equal(proc_create(&t->sys, NULL, &t->opt, &t->p), 0);
    t->sys.current = t->p->mm;
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
    vmsys_destroy(&t->sys);
    free(t->buf);
    free(t);
    return 0;
}

/* The guest writes through a NULL pointer (address 8) and is killed for it. */
static void kill_by_null_write(struct env *t)
{
    uint64_t v = 1;

    assert_int_equal(copy_to_user(t->p->mm, 8, &v, sizeof(v)), -EFAULT);
    proc_kill(t->p, GUEST_SIGSEGV);
}

/* Runs report_json into a temporary file and loads it into t->buf. */
static void load_json(struct env *t)
{
    char path[] = "/tmp/vmemu_test_report_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    long n;

    assert_true(fd >= 0);
    close(fd);
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
    assert_contains(t->buf, "\"tlb\": {\n    \"entries\": 16,\n    \"ways\": 4\n  }");
    assert_contains(t->buf, "\"pid\": 1000");
    assert_contains(t->buf, "\"ppid\": 1");
    assert_contains(t->buf, "\"command\": \"prog a b\"");
    assert_contains(t->buf, "\"minor\": 4,");
    assert_contains(t->buf, "\"major\": 0,");
    assert_contains(t->buf, "\"zero_page\": 1,");
    assert_contains(t->buf, "\"anon\": 3,");
    assert_contains(t->buf, "\"segv\": 1,");
    assert_contains(t->buf, "\"hits\": 1,");
    assert_contains(t->buf, "\"misses\": 5,"); /* 4 pages + the refused address 8 */
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
    /* quote, backslash, newline, control, invalid byte, é, an encoded surrogate */
    t->p->exe = strdup("/tmp/a\"b\\c\nd\x01\xff\xc3\xa9\xed\xa0\x80");
    proc_exit(t->p, 0);
    load_json(t);
    assert_contains(t->buf, "\"program\": \"/tmp/a\\\"b\\\\c\\nd\\u0001\\u00ff\xc3\xa9"
                            "\\u00ed\\u00a0\\u0080\"");
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
    assert_contains(t->buf, "\tMajor page faults (file read): 0\n");
    assert_contains(t->buf, "\tInvalid accesses (SIGSEGV): 1\n");
    assert_contains(t->buf, "\tvmemu TLB hits: 1\n");
    assert_contains(t->buf, "\tvmemu TLB misses (page walks): 5\n");
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

static void test_report_maps_counts_resident_and_dirty_pages(void **state)
{
    struct env *t = *state;
    FILE *f;
    uint8_t byte;

    assert_int_equal(
        mm_map(t->p->mm, HEAP_VA, PAGE_SIZE, VM_READ | VM_WRITE, 0, VMA_HEAP, NULL, 0, 0), 0);
    assert_int_equal(copy_from_user(t->p->mm, &byte, HEAP_VA, 1), 0); /* zero page */
    f = open_text(t);
    report_maps(f, t->p);
    fclose(f);
    assert_contains(t->buf, "vmemu: address space of 'prog' (pid 1000)\n");
    assert_contains(t->buf, "\n000000010000-000000014000 rw-p 00000000 anon         3        3\n");
    assert_contains(t->buf, "\n000000040000-000000041000 rw-p 00000000 heap         0        0 "
                            "[heap]\n");
    assert_contains(t->buf, "total: 2 areas, 5 pages mapped, 3 resident, 3 dirty, 4 "
                            "page-table pages\n");
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
    before = t->p->mm->stats.faults;
    hits = t->sys.tlb.hits;
    misses = t->sys.tlb.misses;
    f = open_text(t);
    report_crash(f, t->p, &ex);
    fclose(f);
    assert_contains(t->buf, "vmemu: guest 'prog' (pid 1000) killed by SIGSEGV (SEGV_MAPERR)\n");
    snprintf(line, sizeof(line), "  fault:    write at 0x0000000000000008: %s\n",
             fault_cause_text(CAUSE_NULL));
    assert_contains(t->buf, line);
    assert_contains(t->buf, "  mapping:  no mapping contains it; nearest: 0x10000-0x14000 rw-p "
                            "anon (0xfff8 above)\n");
    assert_contains(t->buf, "  rip:      0x10000 in anonymous memory 0x10000-0x14000\n");
    assert_contains(t->buf,
                    "  code:     c7 00 2a 00 00 00                mov dword ptr [rax], 0x2a\n");
    assert_contains(t->buf, "  regs:     (no CPU)\n");
    /* The report reads guest memory without faulting or translating anything. */
    assert_memory_equal(&t->p->mm->stats.faults, &before, sizeof(before));
    assert_int_equal(t->sys.tlb.hits, hits);
    assert_int_equal(t->sys.tlb.misses, misses);
}

static void test_report_crash_write_to_read_only_area_names_the_area(void **state)
{
    struct env *t = *state;
    struct cpu_exit ex = {.kind = CPU_EXIT_FAULT, .rip = DATA_VA};
    uint64_t v = 1;
    char line[160];
    FILE *f;

    assert_int_equal(mm_map(t->p->mm, RO_VA, PAGE_SIZE, VM_READ, 0, VMA_ANON, NULL, 0, 0), 0);
    assert_int_equal(copy_to_user(t->p->mm, RO_VA + 0x18, &v, sizeof(v)), -EFAULT);
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
        T(test_report_maps_counts_resident_and_dirty_pages),
        T(test_report_crash_null_write_names_nearest_mapping_and_code),
        T(test_report_crash_write_to_read_only_area_names_the_area),
        T(test_report_crash_illegal_instruction_says_sigill_and_ud2),
        T(test_report_crash_rip_outside_mappings_says_code_not_readable),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
