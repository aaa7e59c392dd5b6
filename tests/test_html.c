/* Tests of the --html page (src/report/html*.c, svg.c) on synthetic report trees, without
 * running a program: the timeline charts against the shape agreed for the report's
 * "timeline" (a sample per process per event, cumulative per-process counters), the
 * placeholder without one, the process tree's copy-on-write edges, the address space with
 * a crash's faulting area, escaping, and the number formats and axis ticks. Each test
 * renders the page into a temporary file and looks for the elements and data-* attributes
 * the browser test (tests/html_e2e.py) also reads. */
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

#include "vmemu/html.h"
#include "vmemu/svg.h"

/* A page rendered into a temporary file, read back whole. */
static char *render(const json_t *report)
{
    char path[] = "/tmp/test_html_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    long n;
    char *text;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(report_html(path, report), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc((size_t)n + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return text;
}

/* Occurrences of needle in text. */
static size_t count(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A process entry: pid, ppid, its faults, and its COW counts when fork >= 0. */
static json_t *proc(int pid, int ppid, int minor, int major, int fork, int exit)
{
    json_t *p = json_pack("{s:i, s:i, s:s, s:i, s:n, s:{s:i, s:i, s:i, s:i}, s:[], s:n}", "pid",
                          pid, "ppid", ppid, "command", "prog <a&b>", "exit_status", 0, "signal",
                          "faults", "minor", minor, "major", major, "anon", minor, "file_major",
                          major, "vmas", "crash");

    if (fork >= 0) {
        json_object_set_new(p, "cow_shared_at_fork", json_integer(fork));
        json_object_set_new(p, "cow_shared_at_exit", json_integer(exit));
    }
    return p;
}

/* A sample of pid at fault seq with cumulative anon and file_major faults. */
static json_t *sample(int pid, int seq, const char *event, int anon, int file_major, int rss)
{
    return json_pack("{s:i, s:i, s:f, s:i, s:s, s:{s:i, s:i, s:i, s:i}, s:i, s:i, s:i, s:i, "
                     "s:i, s:i, s:i}",
                     "seq", seq, "syscalls", seq / 2, "wall_ms", seq * 0.01, "pid", pid, "event",
                     event, "faults", "minor", anon, "major", file_major, "anon", anon,
                     "file_major", file_major, "rss_pages", rss, "vm_pages", rss * 3, "swap_pages",
                     0, "swap_in", 0, "swap_out", 0, "pt_pages", 5, "thp_pages", 0);
}

/* A report with a parent (pid 10) and a child (pid 11, forked at fault 3), and a timeline
 * when with_timeline. */
static json_t *fork_report(bool with_timeline)
{
    json_t *r = json_pack("{s:s, s:[s], s:i, s:n, s:i}", "program", "/bin/prog", "argv", "prog",
                          "exit_status", 0, "signal", "mem_bytes", 1 << 20);
    json_t *procs = json_array();
    json_t *samples;

    json_array_append_new(procs, proc(10, 1, 9, 2, 0, 0));
    json_array_append_new(procs, proc(11, 10, 3, 0, 10, 4));
    json_object_set_new(r, "processes", procs);
    if (!with_timeline)
        return r;
    samples = json_array();
    json_array_append_new(samples, sample(10, 0, "start", 0, 0, 0));
    json_array_append_new(samples, sample(10, 2, "tick", 2, 0, 2));
    json_array_append_new(samples, sample(11, 3, "fork", 0, 0, 2));
    json_array_append_new(samples, sample(10, 4, "tick", 3, 1, 4));
    json_array_append_new(samples, sample(11, 6, "exit", 3, 0, 3));
    json_array_append_new(samples, sample(10, 16, "exit", 9, 2, 11));
    json_object_set_new(r, "timeline",
                        json_pack("{s:i, s:s, s:s, s:o}", "interval", 2, "clock", "faults",
                                  "policy", "every 2 faults", "samples", samples));
    return r;
}

static void test_html_timeline_one_chart_pair_per_process(void **state)
{
    json_t *r = fork_report(true);
    char *page = render(r);

    (void)state;
    assert_null(strstr(page, "no timeline in this report"));
    assert_non_null(strstr(page, "id=\"faults-10\""));
    assert_non_null(strstr(page, "id=\"memory-11\""));
    /* pid 10: 4 samples, two classes with faults (anon, file read); pid 11: 2 samples, anon */
    assert_int_equal(count(page, "data-series=\"anon\" data-points=\"4\""), 1);
    assert_int_equal(count(page, "data-series=\"file_major\" data-points=\"4\""), 1);
    assert_int_equal(count(page, "data-series=\"anon\" data-points=\"2\""), 1);
    assert_int_equal(count(page, "data-series=\"file_major\""), 1);
    assert_int_equal(count(page, "data-series=\"rss\" data-points=\"4\""), 1);
    assert_int_equal(count(page, "data-series=\"vsz\" data-points=\"2\""), 1);
    assert_int_equal(count(page, "data-series=\"swap\""), 2);
    assert_non_null(strstr(page, "data-pid=\"10\" data-samples=\"4\" open"));
    free(page);
    json_decref(r);
}

static void test_html_without_timeline_shows_placeholder(void **state)
{
    json_t *r = fork_report(false);
    char *page = render(r);

    (void)state;
    assert_non_null(strstr(page, "no timeline in this report"));
    assert_int_equal(count(page, "data-series="), 0);
    free(page);
    json_decref(r);
}

static void test_html_many_processes_fold_all_but_the_busiest(void **state)
{
    json_t *r = fork_report(true);
    json_t *samples = json_object_get(json_object_get(r, "timeline"), "samples");
    char *page;

    (void)state;
    for (int pid = 20; pid < 25; pid++) /* pid 24 has the most faults, 20 the fewest */
        json_array_append_new(samples, sample(pid, 20 + pid, "exit", pid - 19, 0, 1));
    page = render(r);
    assert_int_equal(count(page, "<details id=\"timeline-"), 7);
    assert_int_equal(count(page, "\" open><summary>"), 4);
    assert_non_null(strstr(page, "data-pid=\"24\" data-samples=\"1\" open"));
    /* pid 11 and 22 both have 3 faults: the lower pid is open */
    assert_non_null(strstr(page, "data-pid=\"11\" data-samples=\"2\" open"));
    assert_non_null(strstr(page, "data-pid=\"22\" data-samples=\"1\"><summary>"));
    assert_non_null(strstr(page, "data-pid=\"20\" data-samples=\"1\"><summary>"));
    free(page);
    json_decref(r);
}

static void test_html_timeline_draws_at_most_64_processes(void **state)
{
    json_t *r = fork_report(true);
    json_t *samples = json_object_get(json_object_get(r, "timeline"), "samples");
    char *page;

    (void)state;
    for (int pid = 100; pid < 170; pid++) /* 70 more: pid 100 has the fewest faults */
        json_array_append_new(samples, sample(pid, 20 + pid, "exit", pid, 0, 1));
    page = render(r);
    assert_int_equal(count(page, "<details id=\"timeline-"), 64);
    assert_non_null(strstr(page, "8 processes with fewer faults are not drawn"));
    assert_null(strstr(page, "id=\"timeline-100\""));
    assert_null(strstr(page, "id=\"timeline-11\""));
    assert_non_null(strstr(page, "id=\"timeline-106\""));
    assert_non_null(strstr(page, "data-pid=\"169\" data-samples=\"1\" open"));
    free(page);
    json_decref(r);
}

static void test_html_tree_edges_carry_cow_counts(void **state)
{
    json_t *r = fork_report(false);
    char *page = render(r);

    (void)state;
    assert_non_null(strstr(page, "data-nodes=\"2\""));
    assert_int_equal(count(page, "<g class=\"edge\""), 1);
    assert_non_null(strstr(page, "data-parent=\"10\" data-child=\"11\" data-cow-fork=\"10\" "
                                 "data-cow-exit=\"4\""));
    assert_non_null(strstr(page, "COW 10 &#8594; 4</text>"));
    free(page);
    json_decref(r);
}

/* A box shows each path by its last component and marks a cut with "...", also when the
 * cut falls inside the last word (LABEL_MAX is 24 characters). */
static void test_html_tree_labels_shorten_paths_and_mark_cuts(void **state)
{
    json_t *r = fork_report(false);
    json_t *procs = json_object_get(r, "processes");
    char *page;

    (void)state;
    json_object_set_new(json_array_get(procs, 0), "command",
                        json_string("/work/build/samples/fork_cow-glibc 64 16 8 24"));
    json_object_set_new(json_array_get(procs, 1), "command",
                        json_string("/bin/busybox sh ./x/pipes.sh"));
    page = render(r);
    assert_non_null(strstr(page, "</tspan> fork_cow-glibc 64 16 ...</text>"));
    assert_null(strstr(page, "fork_cow-glibc 64 16 8 2</text>"));
    assert_non_null(strstr(page, "</tspan> busybox sh pipes.sh</text>"));
    free(page);
    json_decref(r);
}

/* A profiled process for "heap_profile": pid, nsamples heap samples, nsites sites (site i
 * holds i bytes at the peak; the first site's function needs escaping). */
static json_t *heap_proc(int pid, int nsamples, int nsites)
{
    json_t *samples = json_array(), *sites = json_array();

    for (int i = 0; i < nsamples; i++)
        json_array_append_new(samples, json_pack("{s:i, s:i, s:i, s:i}", "call", i * 10,
                                                 "fault_seq", i, "bytes", i * 100, "blocks", i));
    for (int i = 0; i < nsites; i++)
        json_array_append_new(
            sites, json_pack("{s:i, s:[{s:s, s:s, s:i}], s:i, s:i, s:{s:i, s:i}, s:i, s:i}", "id",
                             i, "frames", "pc", "0x401000", "function", i == 0 ? "f<a&b>" : "g",
                             "offset", i, "peak_bytes", i, "allocations", 1, "faults", "anon", i,
                             "cow", 0, "resident_pages_at_peak", 0, "resident_pages_at_exit", 0));
    return json_pack("{s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i}, s:o, s:o, s:{s:i}}", "pid", pid,
                     "allocations", nsamples, "frees", 0, "peak", "bytes", 500, "blocks", 5, "call",
                     50, "fault_seq", 5, "timeline", samples, "sites", sites, "metadata_faults",
                     "anon", 2);
}

/* --profile heap's section: one chart per profiled process in pid order, its samples and
 * peak, at most 10 sites listed (most bytes at the peak first), names escaped; no section
 * without a profile. */
static void test_html_heap_profile_charts_and_sites(void **state)
{
    json_t *r = fork_report(false);
    char *page = render(r);

    (void)state;
    assert_null(strstr(page, "id=\"heap\""));
    free(page);
    json_object_set_new(r, "heap_profile",
                        json_pack("[o, o]", heap_proc(11, 3, 2), heap_proc(10, 7, 12)));
    page = render(r);
    assert_non_null(strstr(page, "<section id=\"heap\">"));
    assert_true(strstr(page, "id=\"heap-10\"") < strstr(page, "id=\"heap-11\""));
    assert_non_null(strstr(page, "data-series=\"heap\" data-points=\"7\""));
    assert_non_null(strstr(page, "data-series=\"heap\" data-points=\"3\""));
    assert_int_equal(count(page, "<circle class=\"peak\""), 2);
    assert_int_equal(count(page, "<tr class=\"site\">"), 10 + 2);
    assert_non_null(strstr(page, "(10 of 12)"));
    assert_non_null(strstr(page, "f&lt;a&amp;b&gt;+0"));
    assert_null(strstr(page, "f<a&b>"));
    /* pid 10's table: site 11 (11 bytes) first, site 2 (2 bytes) last of the ten shown */
    const char *t10 = strstr(page, "id=\"heap-sites-10\"");
    assert_non_null(t10);
    assert_true(strstr(t10, "g+11") < strstr(t10, "g+2<"));
    free(page);
    json_decref(r);
}

static void test_html_crash_outlines_the_faulting_area(void **state)
{
    json_t *r = fork_report(false);
    json_t *p = json_array_get(json_object_get(r, "processes"), 0);
    json_t *vmas =
        json_pack("[{s:s, s:s, s:s, s:s, s:n, s:i, s:i, s:i}, "
                  "{s:s, s:s, s:s, s:s, s:n, s:i, s:i, s:i}]",
                  "start", "0x400000", "end", "0x402000", "perms", "r-xp", "kind", "image", "file",
                  "resident", 2, "dirty", 0, "swapped", 0, "start", "0x600000", "end", "0x610000",
                  "perms", "rw-p", "kind", "heap", "file", "resident", 4, "dirty", 3, "swapped", 1);
    char *page;

    (void)state;
    json_object_set_new(p, "vmas", vmas);
    json_object_set_new(p, "signal", json_integer(11));
    json_object_set_new(p, "crash",
                        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "signal_name", "SIGSEGV",
                                  "code", "SEGV_ACCERR", "address", "0x600010", "access", "write",
                                  "size", 8, "cause", "write to <read-only>"));
    page = render(r);
    assert_non_null(strstr(page, "data-vmas=\"2\""));
    assert_int_equal(count(page, "<g class=\"vma fault\""), 1);
    assert_non_null(strstr(page,
                           "<g class=\"vma fault\" data-kind=\"heap\" data-start=\"0x600000\" "
                           "data-pages=\"16\" data-resident=\"4\" data-dirty=\"3\" "
                           "data-swapped=\"1\""));
    assert_non_null(strstr(page, "data-kind=\"text\""));
    assert_non_null(strstr(page, "write to &lt;read-only&gt;"));
    assert_non_null(strstr(page, "id=\"crash-10\""));
    free(page);
    json_decref(r);
}

static void test_html_escapes_and_names_no_url(void **state)
{
    json_t *r = fork_report(true);
    char *page = render(r);

    (void)state;
    assert_null(strstr(page, "<a&b>"));
    assert_non_null(strstr(page, "prog &lt;a&amp;b&gt;"));
    assert_null(strstr(page, "http"));
    assert_null(strstr(page, "//"));
    assert_null(strstr(page, "<script"));
    free(page);
    json_decref(r);
}

static void test_html_refuses_what_is_not_a_report(void **state)
{
    json_t *a = json_array();

    (void)state;
    assert_int_equal(report_html("/tmp/never-written.html", a), -EINVAL);
    assert_int_equal(access("/tmp/never-written.html", F_OK), -1);
    json_decref(a);
    a = json_object();
    assert_int_equal(report_html("/nonexistent-dir/x.html", a), -ENOENT);
    json_decref(a);
}

static void test_svg_numbers_read_as_a_person_writes_them(void **state)
{
    char b[32];

    (void)state;
    assert_string_equal(svg_count(b, sizeof(b), 7), "7");
    assert_string_equal(svg_count(b, sizeof(b), 999), "999");
    assert_string_equal(svg_count(b, sizeof(b), 12345), "12.3 k");
    assert_string_equal(svg_count(b, sizeof(b), 120000), "120 k");
    assert_string_equal(svg_count(b, sizeof(b), 4500000), "4.5 M");
    assert_string_equal(svg_bytes(b, sizeof(b), 512), "512 B");
    assert_string_equal(svg_bytes(b, sizeof(b), 4096), "4 KiB");
    assert_string_equal(svg_bytes(b, sizeof(b), 1.5 * 1048576), "1.5 MiB");
    assert_string_equal(svg_bytes(b, sizeof(b), 4294967296.0), "4 GiB");
    assert_string_equal(svg_value(b, sizeof(b), 1500, SVG_MS), "1.5 s");
}

static void test_svg_axis_ticks_are_round(void **state)
{
    struct svg_axis a;

    (void)state;
    svg_axis_fit(&a, 0, 37, SVG_COUNT, "x");
    assert_true(a.step == 10 && a.lo == 0 && a.hi == 40);
    svg_axis_fit(&a, 0, 0, SVG_COUNT, "x"); /* no data: still an axis */
    assert_true(a.hi > a.lo && a.step >= 1);
    svg_axis_fit(&a, 0, 9.0 * 1048576, SVG_BYTES, "x"); /* 2 MiB steps */
    assert_true(a.step == 2.0 * 1048576 && a.hi == 10.0 * 1048576);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_timeline_one_chart_pair_per_process),
        cmocka_unit_test(test_html_without_timeline_shows_placeholder),
        cmocka_unit_test(test_html_many_processes_fold_all_but_the_busiest),
        cmocka_unit_test(test_html_timeline_draws_at_most_64_processes),
        cmocka_unit_test(test_html_tree_edges_carry_cow_counts),
        cmocka_unit_test(test_html_tree_labels_shorten_paths_and_mark_cuts),
        cmocka_unit_test(test_html_heap_profile_charts_and_sites),
        cmocka_unit_test(test_html_crash_outlines_the_faulting_area),
        cmocka_unit_test(test_html_escapes_and_names_no_url),
        cmocka_unit_test(test_html_refuses_what_is_not_a_report),
        cmocka_unit_test(test_svg_numbers_read_as_a_person_writes_them),
        cmocka_unit_test(test_svg_axis_ticks_are_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
